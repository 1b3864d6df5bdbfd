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

/* Appends n bytes at p to out (cap bytes) at *o, as far as they fit;
 * *o counts them all. */
static void
put(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
    if (*o + n <= cap)
        memcpy(out + *o, p, n);
    *o += n;
}

/*
 * Formats the call (format at argument 1, arguments 2..top) into out, of
 * cap bytes, in one pass that also checks it is in the subset formatted
 * here; returns the length of the whole result (out holds it when it is
 * at most cap), or -1 when the call is not in the subset.
 */
static long
format_fast(lua_State *L, int top, char *out, size_t cap)
{
    size_t len, o = 0;
    const char *f = lua_tolstring(L, 1, &len), *end = f + len;
    char num[24 + 99];
    int arg = 1;
    int_spec s;

    while (f < end) {
        const char *pc = memchr(f, '%', (size_t)(end - f));
        put(out, cap, &o, f, (size_t)((pc ? pc : end) - f));
        if (pc == NULL)
            break;
        if ((f = pc + 1) == end)
            return -1;
        if (*f == '%') {
            put(out, cap, &o, "%", 1);
            f++;
            continue;
        }
        if (++arg > top)
            return -1;
        if (*f == 's' && lua_type(L, arg) == LUA_TSTRING) {
            const char *str = lua_tolstring(L, arg, &len);
            put(out, cap, &o, str, len);
            f++;
        } else if (*f != 's' && read_int_spec(&f, end, &s) &&
                   lua_isinteger(L, arg)) {
            put(out, cap, &o, num, put_int(num, lua_tointeger(L, arg), &s));
        } else {
            return -1;
        }
    }
    return (long)o;
}

/* Short results are made on the C stack: a luaL_Buffer's set-up and
 * bookkeeping cost as much as the formatting itself. */
#define SMALL 256

static int
l_format(lua_State *L)
{
    char small[SMALL], *out = small;
    int top = lua_gettop(L);
    long n = lua_type(L, 1) == LUA_TSTRING ? format_fast(L, top, small, SMALL)
                                           : -1;

    if (n >= 0) {
        if (n > SMALL) {
            out = lua_newuserdatauv(L, (size_t)n, 0);
            format_fast(L, top, out, (size_t)n);
        }
        lua_pushlstring(L, out, (size_t)n);
        return 1;
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
