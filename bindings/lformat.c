/*
 * string.format with a fast path.  Lua's own formats every conversion
 * through snprintf, which costs about 1,500 instructions for
 * ("k%08d"):format(i): more than a baggage read.  Calls made only of
 * literal text, %%, %s of a string and %d or %i of an integer (with at
 * most one '-' or '0' flag and a width) are formatted here; any other call
 * is handed, untouched, to Lua's function, which then raises exactly the
 * errors it always does.  The output is the same bytes either way
 * (test_lpattern.c compares both on hand-written and random calls).
 */
#include "lbind.h"

#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>

/* A %d/%i conversion: flag is 0, '-' or '0'; width is 0 to 99. */
typedef struct int_spec {
    char flag;
    int width;
} int_spec;

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads the flag and width of a %d/%i conversion at *f (just past the
 * '%'); false when the conversion is not one this file formats. */
static bool
read_int_spec(const char **f, const char *end, int_spec *s)
{
    const char *p = *f;

    s->flag = 0;
    s->width = 0;
    if (p < end && (*p == '-' || *p == '0'))
        s->flag = *p++;
    for (int i = 0; i < 2 && p < end && is_digit(*p); i++)
        s->width = s->width * 10 + (*p++ - '0');
    if (p == end || (*p != 'd' && *p != 'i'))
        return false;
    *f = p + 1;
    return true;
}

/* Whether the call's format (argument 1) and its arguments are all in
 * the subset formatted here. */
static bool
in_fast_subset(lua_State *L, const char *f, const char *end)
{
    int arg = 1, top = lua_gettop(L);
    int_spec s;

    while ((f = memchr(f, '%', (size_t)(end - f))) != NULL) {
        if (++f == end)
            return false;
        if (*f == '%') {
            f++;
            continue;
        }
        if (++arg > top)
            return false;
        if (*f == 's') {
            if (lua_type(L, arg) != LUA_TSTRING)
                return false;
            f++;
        } else if (!read_int_spec(&f, end, &s) || !lua_isinteger(L, arg)) {
            return false;
        }
    }
    return true;
}

static void
add_padding(luaL_Buffer *b, char c, int n)
{
    while (n-- > 0)
        luaL_addchar(b, c);
}

/* As C's printf formats n with this flag and width. */
static void
add_int(luaL_Buffer *b, lua_Integer n, const int_spec *s)
{
    char digits[24];
    size_t len = 0;
    lua_Unsigned u = n < 0 ? 0u - (lua_Unsigned)n : (lua_Unsigned)n;
    int pad;

    do {
        digits[sizeof digits - ++len] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    pad = s->width - (int)len - (n < 0);
    if (s->flag == 0)
        add_padding(b, ' ', pad);
    if (n < 0)
        luaL_addchar(b, '-');
    if (s->flag == '0')
        add_padding(b, '0', pad);
    luaL_addlstring(b, digits + sizeof digits - len, len);
    if (s->flag == '-')
        add_padding(b, ' ', pad);
}

/* Formats a call already checked by in_fast_subset. */
static void
format_fast(lua_State *L, const char *f, const char *end)
{
    luaL_Buffer b;
    int arg = 1;
    int_spec s;

    luaL_buffinit(L, &b);
    while (f < end) {
        const char *pc = memchr(f, '%', (size_t)(end - f));
        if (pc == NULL)
            pc = end;
        luaL_addlstring(&b, f, (size_t)(pc - f));
        if (pc == end)
            break;
        f = pc + 1;
        if (*f == '%') {
            luaL_addchar(&b, '%');
            f++;
        } else if (*f == 's') {
            size_t len;
            const char *str = lua_tolstring(L, ++arg, &len);
            luaL_addlstring(&b, str, len);
            f++;
        } else {
            read_int_spec(&f, end, &s);
            add_int(&b, lua_tointeger(L, ++arg), &s);
        }
    }
    luaL_pushresult(&b);
}

static int
l_format(lua_State *L)
{
    size_t len;
    const char *f;

    if (lua_type(L, 1) == LUA_TSTRING) {
        f = lua_tolstring(L, 1, &len);
        if (in_fast_subset(L, f, f + len)) {
            format_fast(L, f, f + len);
            return 1;
        }
    }
    /* Called in this frame, not through lua_call, so that its "bad
     * argument" messages name the caller's function as Lua's do. */
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

void
lvat_lua_open_format(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, "format");
    if (lua_tocfunction(L, -1) == NULL)
        luaL_error(L, "open_format: the table has no C format function");
    lua_pushcclosure(L, l_format, 1);
    lua_setfield(L, idx, "format");
}
