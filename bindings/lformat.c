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
 * the subset formatted here; *bound is then the most bytes it makes. */
static bool
in_fast_subset(lua_State *L, const char *f, const char *end, size_t *bound)
{
    int arg = 1, top = lua_gettop(L);
    int_spec s;

    *bound = (size_t)(end - f); /* the literal text, at most */
    while ((f = memchr(f, '%', (size_t)(end - f))) != NULL) {
        size_t len;
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
            lua_tolstring(L, arg, &len);
            *bound += len;
            f++;
        } else if (!read_int_spec(&f, end, &s) || !lua_isinteger(L, arg)) {
            return false;
        } else {
            *bound += 21 + (size_t)s.width; /* sign, 20 digits, padding */
        }
    }
    return true;
}

/* As C's printf formats n with this flag and width, at out; returns the
 * length. */
static size_t
put_int(char *out, lua_Integer n, const int_spec *s)
{
    char digits[24];
    size_t len = 0, o = 0;
    lua_Unsigned u = n < 0 ? 0u - (lua_Unsigned)n : (lua_Unsigned)n;
    int pad;

    do {
        digits[sizeof digits - ++len] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    pad = s->width - (int)len - (n < 0);
    pad = pad > 0 ? pad : 0;
    if (s->flag == 0) {
        memset(out, ' ', (size_t)pad);
        o += (size_t)pad;
    }
    if (n < 0)
        out[o++] = '-';
    if (s->flag == '0') {
        memset(out + o, '0', (size_t)pad);
        o += (size_t)pad;
    }
    memcpy(out + o, digits + sizeof digits - len, len);
    o += len;
    if (s->flag == '-') {
        memset(out + o, ' ', (size_t)pad);
        o += (size_t)pad;
    }
    return o;
}

/* Formats a call already checked by in_fast_subset into out (room for
 * its bound); returns the length. */
static size_t
format_fast(lua_State *L, const char *f, const char *end, char *out)
{
    size_t o = 0;
    int arg = 1;
    int_spec s;

    while (f < end) {
        const char *pc = memchr(f, '%', (size_t)(end - f));
        if (pc == NULL)
            pc = end;
        memcpy(out + o, f, (size_t)(pc - f));
        o += (size_t)(pc - f);
        if (pc == end)
            break;
        f = pc + 1;
        if (*f == '%') {
            out[o++] = '%';
            f++;
        } else if (*f == 's') {
            size_t len;
            const char *str = lua_tolstring(L, ++arg, &len);
            memcpy(out + o, str, len);
            o += len;
            f++;
        } else {
            read_int_spec(&f, end, &s);
            o += put_int(out + o, lua_tointeger(L, ++arg), &s);
        }
    }
    return o;
}

/* Short results are made on the C stack: a luaL_Buffer's set-up and
 * bookkeeping cost as much as the formatting itself. */
#define SMALL 256

static int
l_format(lua_State *L)
{
    char small[SMALL], *out;
    size_t len, bound;
    const char *f;

    if (lua_type(L, 1) == LUA_TSTRING) {
        f = lua_tolstring(L, 1, &len);
        if (in_fast_subset(L, f, f + len, &bound)) {
            out = bound <= SMALL ? small : lua_newuserdatauv(L, bound, 0);
            len = format_fast(L, f, f + len, out);
            lua_pushlstring(L, out, len);
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
