/*
 * The fast decoder: bodies made only of plain strings, small integers,
 * booleans, null, arrays and records (most messages and baggage values)
 * become Lua values straight from the text, without the pull parser's
 * tokens.  A body is first checked whole, reading only, so the building
 * pass cannot meet anything it does not take: whatever else (slots,
 * bigints, floats, escapes, white space, malformed text) goes to
 * ldecode.c, which gives the same values and every error.
 */
#include "ldecode_int.h"

#include <assert.h>
#include <string.h>

#include <lauxlib.h>

#include "lbind.h"
#include "lrt.h"
#include "smallcaps.h"

#define FAST_DEPTH  32 /* deeper bodies go to the pull parser */
#define FAST_DIGITS 18 /* any 18 digits fit an int64 */

/* ---- Checking ---- */

static const char *fits_value(const char *p, const char *end, int depth);

/* The end of the string at p (on its opening quote) when it is plain: no
 * escape or control byte, and no special first byte but '!'.  Else NULL. */
static const char *
fits_string(const char *p, const char *end)
{
    const char *q = p + 1;

    if (q < end && *q != '"' && lvat_sc_starts_special(q, 1) && *q != '!')
        return NULL;
    for (; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            return q + 1;
        if (c == '\\' || c < 0x20)
            return NULL;
    }
    return NULL;
}

/* An integer the pull parser reads as LVAT_JSON_INT, of few digits. */
static const char *
fits_int(const char *p, const char *end)
{
    const char *d = p + (p < end && *p == '-'), *q = d;

    if (q == end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0')
        q++;
    else
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    if (q - d > FAST_DIGITS)
        return NULL;
    if (q < end && (*q == '.' || *q == 'e' || *q == 'E' ||
                    (*q >= '0' && *q <= '9')))
        return NULL;
    return q;
}

static const char *
fits_word(const char *p, const char *end, const char *w, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

static const char *
fits_container(const char *p, const char *end, int depth)
{
    bool rec = *p == '{';
    char close = rec ? '}' : ']';

    if (depth >= FAST_DEPTH)
        return NULL;
    if (++p < end && *p == close)
        return p + 1;
    for (;;) {
        if (rec) {
            if (p == end || *p != '"' || (p = fits_string(p, end)) == NULL ||
                p == end || *p != ':')
                return NULL;
            p++;
        }
        if ((p = fits_value(p, end, depth + 1)) == NULL || p == end)
            return NULL;
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *
fits_value(const char *p, const char *end, int depth)
{
    if (p == end)
        return NULL;
    switch (*p) {
    case '"':
        return fits_string(p, end);
    case '[':
    case '{':
        return fits_container(p, end, depth);
    case 't':
        return fits_word(p, end, "true", 4);
    case 'f':
        return fits_word(p, end, "false", 5);
    case 'n':
        return fits_word(p, end, "null", 4);
    default:
        return fits_int(p, end);
    }
}

bool
lvat_lua_fast_fits(const char *text, size_t len)
{
    return fits_value(text, text + len, 0) == text + len;
}

/* ---- Building ---- */

/* What follows reads a text fits_value accepted: each value is followed
 * by ',', a closing bracket or the end, as checked. */

static const char *build_value(lua_State *L, const char *p,
                               const char *end);

/* Pushes the string at p (its opening quote) as ldecode.c's push_string
 * does for a plain one; returns the end.  [-0, +1, m] */
static const char *
build_string(lua_State *L, const char *p)
{
    const char *s = p + 1, *q = s;

    while (*q != '"')
        q++;
    if (*s == '!')
        lua_pushlstring(L, s + 1, (size_t)(q - s) - 1);
    else
        lua_pushlstring(L, s, (size_t)(q - s));
    return q + 1;
}

/* A bare integer may end the text: the only value that reads to `end`. */
static const char *
build_int(lua_State *L, const char *p, const char *end)
{
    bool neg = *p == '-';
    lua_Integer v = 0;

    for (p += neg; p < end && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    lua_pushinteger(L, neg ? -v : v);
    return p;
}

/* As ldecode.c's dec_array.  [-0, +1, m] */
static const char *
build_array(lua_State *L, const char *p, const char *end)
{
    lua_Integer n = 0;

    luaL_checkstack(L, PENDING + 4, "decoding");
    for (p++; *p != ']'; p += *p == ',') {
        p = build_value(L, p, end);
        lvat_lua_add_item(L, ++n, false);
    }
    lvat_lua_end_items(L, n, false);
    return p + 1;
}

/* As ldecode.c's dec_record.  [-0, +1, m] */
static const char *
build_record(lua_State *L, const char *p, const char *end)
{
    lua_Integer n = 0;

    luaL_checkstack(L, 2 * PENDING + 4, "decoding");
    for (p++; *p != '}'; p += *p == ',') {
        p = build_string(L, p);
        p = build_value(L, p + 1, end);
        lvat_lua_add_item(L, ++n, true);
    }
    lvat_lua_end_items(L, n, true);
    return p + 1;
}

static const char *
build_value(lua_State *L, const char *p, const char *end)
{
    switch (*p) {
    case '"':
        return build_string(L, p);
    case '[':
        return build_array(L, p, end);
    case '{':
        return build_record(L, p, end);
    case 't':
        lua_pushboolean(L, 1);
        return p + 4;
    case 'f':
        lua_pushboolean(L, 0);
        return p + 5;
    case 'n':
        lua_pushnil(L);
        return p + 4;
    default:
        return build_int(L, p, end);
    }
}

void
lvat_lua_fast_decode(lua_State *L, const char *text, size_t len)
{
    const char *end = build_value(L, text, text + len);

    assert(end == text + len);
    (void)end;
}

/* The arguments of a methargs text, from p (just past its '['), as
 * ldecode.c's lvat_lua_decode_methargs leaves them; returns the end of
 * the array and the count in *n.  [-0, +(n|1), m] */
static const char *
build_args(lua_State *L, const char *p, const char *end, int *n)
{
    *n = 0;
    luaL_checkstack(L, LVAT_STACK_ARGS + LUA_MINSTACK, "decoding");
    for (; *p != ']'; p += *p == ',') {
        p = build_value(L, p, end);
        if (++*n > LVAT_STACK_ARGS + 1)
            lua_rawseti(L, -2, *n);
        else if (*n == LVAT_STACK_ARGS + 1)
            lvat_lua_collect(L, *n, false);
    }
    return p + 1;
}

int
lvat_lua_fast_methargs(lua_State *L, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    int top = lua_gettop(L), n;

    /* ["method",[args...]]: anything else is for the pull parser, which
     * words the error. */
    if (len < 7 || p[0] != '[' || p[1] != '"')
        return -1;
    p = build_string(L, p + 1);
    if (*p != ',' || p[1] != '[') {
        lua_settop(L, top);
        return -1;
    }
    p = build_args(L, p + 2, end, &n);
    if (p + 1 != end || *p != ']') {
        lua_settop(L, top);
        return -1;
    }
    return n;
}
