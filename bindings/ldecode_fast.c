/*
 * The fast decoder: bodies made only of plain strings, small integers,
 * booleans, null, arrays and records (most messages and baggage values)
 * become Lua values straight from the text, without the pull parser's
 * tokens.  One pass checks and builds: at anything it does not take
 * (slots, bigints, floats, escapes, white space, malformed text) it drops
 * what it pushed, and ldecode.c decodes the body from the start, giving
 * the same values and every error.  (Checking a body whole before
 * building it cost a tenth of a baggage read; a body it gives up on costs
 * the Lua values made before the point it stopped at.)
 */
#include "ldecode_int.h"

#include <string.h>

#include <lauxlib.h>

#include "lbind.h"
#include "lrt.h"
#include "smallcaps.h"

#define FAST_DEPTH  32 /* deeper bodies go to the pull parser */
#define FAST_DIGITS 18 /* any 18 digits fit an int64 */

/*
 * Each builder reads the value at p (p < end) and pushes it, exactly as
 * the pull parser's decoding would, and returns its end; or returns NULL
 * when it is not a value this file takes, having pushed anything (the
 * caller drops it).  depth counts the containers around the value.
 */
static const char *build_value(lua_State *L, const char *p, const char *end,
                               int depth);

/* A plain string: no escape or control byte, and no special first byte
 * but '!' (which only marks that the rest is the string).  [-0, +1, m] */
static const char *
build_string(lua_State *L, const char *p, const char *end)
{
    const char *s = p + 1, *q = s;

    if (q < end && *q != '"' && *q != '!' && lvat_sc_starts_special(q, 1))
        return NULL;
    for (; q < end && *q != '"'; q++)
        if (*q == '\\' || (unsigned char)*q < 0x20)
            return NULL;
    if (q == end)
        return NULL;
    if (*s == '!')
        lua_pushlstring(L, s + 1, (size_t)(q - s) - 1);
    else
        lua_pushlstring(L, s, (size_t)(q - s));
    return q + 1;
}

/* An integer the pull parser reads as LVAT_JSON_INT, of few digits. */
static const char *
build_int(lua_State *L, const char *p, const char *end)
{
    bool neg = *p == '-';
    const char *d = p + neg, *q = d;
    lua_Integer v = 0;

    if (q == end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0') {
        q++;
    } else {
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (q - d == FAST_DIGITS)
                return NULL;
            v = v * 10 + (*q - '0');
        }
    }
    if (q < end && (*q == '.' || *q == 'e' || *q == 'E' ||
                    (*q >= '0' && *q <= '9')))
        return NULL;
    lua_pushinteger(L, neg ? -v : v);
    return q;
}

static const char *
build_word(const char *p, const char *end, const char *w, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* As ldecode.c's dec_array.  [-0, +1, m] */
static const char *
build_array(lua_State *L, const char *p, const char *end, int depth)
{
    lua_Integer n = 0;

    luaL_checkstack(L, PENDING + 4, "decoding");
    if (++p < end && *p != ']') {
        for (;;) {
            if ((p = build_value(L, p, end, depth + 1)) == NULL || p == end)
                return NULL;
            lvat_lua_add_item(L, ++n, false);
            if (*p == ']')
                break;
            if (*p++ != ',' || p == end)
                return NULL;
        }
    }
    if (p == end)
        return NULL;
    lvat_lua_end_items(L, n, false);
    return p + 1;
}

/* As ldecode.c's dec_record.  [-0, +1, m] */
static const char *
build_record(lua_State *L, const char *p, const char *end, int depth)
{
    lua_Integer n = 0;

    luaL_checkstack(L, 2 * PENDING + 4, "decoding");
    if (++p < end && *p != '}') {
        for (;;) {
            if (*p != '"' || (p = build_string(L, p, end)) == NULL ||
                p == end || *p++ != ':' || p == end ||
                (p = build_value(L, p, end, depth + 1)) == NULL || p == end)
                return NULL;
            lvat_lua_add_item(L, ++n, true);
            if (*p == '}')
                break;
            if (*p++ != ',' || p == end)
                return NULL;
        }
    }
    if (p == end)
        return NULL;
    lvat_lua_end_items(L, n, true);
    return p + 1;
}

static const char *
build_value(lua_State *L, const char *p, const char *end, int depth)
{
    const char *q;

    switch (*p) {
    case '"':
        return build_string(L, p, end);
    case '[':
        return depth < FAST_DEPTH ? build_array(L, p, end, depth) : NULL;
    case '{':
        return depth < FAST_DEPTH ? build_record(L, p, end, depth) : NULL;
    case 't':
        if ((q = build_word(p, end, "true", 4)) != NULL)
            lua_pushboolean(L, 1);
        return q;
    case 'f':
        if ((q = build_word(p, end, "false", 5)) != NULL)
            lua_pushboolean(L, 0);
        return q;
    case 'n':
        if ((q = build_word(p, end, "null", 4)) != NULL)
            lua_pushnil(L);
        return q;
    default:
        return build_int(L, p, end);
    }
}

/* Whether a string in the text starts with c (unescaped, it can only
 * follow a quote). */
static bool
starts_a_string(const char *text, size_t len, char c)
{
    const char *end = text + len;

    for (const char *p = text; (p = memchr(p, c, (size_t)(end - p))) != NULL;
         p++)
        if (p > text && p[-1] == '"')
            return true;
    return false;
}

/* Messages that name slots ("$0.Alleged: x", "&1"), common among
 * messages, go to the parser at once: building them up to the slot would
 * be work thrown away (and the garbage of a vat's bootstrap, whose
 * arguments always name slots, left its heap 1.4 KB larger after the
 * collection that ends its start).  Values are built without the scan
 * (it was 1% of a baggage read). */
static bool
names_slots(const char *text, size_t len)
{
    return starts_a_string(text, len, '$') || starts_a_string(text, len, '&');
}

bool
lvat_lua_fast_decode(lua_State *L, const char *text, size_t len)
{
    int top = lua_gettop(L);

    if (len > 0 && build_value(L, text, text + len, 0) == text + len)
        return true;
    lua_settop(L, top);
    return false;
}

bool
lvat_lua_decode_immediate(lua_State *L, const char *body, size_t len)
{
    int top = lua_gettop(L);

    /* Strings, arrays and records allocate: only the rest is immediate. */
    if (len < 2 || *body != '#' || strchr("\"[{", body[1]) != NULL)
        return false;
    if (build_value(L, body + 1, body + len, 0) == body + len)
        return true;
    lua_settop(L, top);
    return false;
}

/* The arguments of a methargs text, from p (just past its '['), as
 * ldecode.c's lvat_lua_decode_methargs leaves them; returns the end of
 * the array and the count in *n, or NULL.  [-0, +(n|1), m] */
static const char *
build_args(lua_State *L, const char *p, const char *end, int *n)
{
    *n = 0;
    luaL_checkstack(L, LVAT_STACK_ARGS + LUA_MINSTACK, "decoding");
    if (p == end || *p == ']')
        return p == end ? NULL : p + 1;
    for (;;) {
        if ((p = build_value(L, p, end, 2)) == NULL || p == end)
            return NULL;
        if (++*n > LVAT_STACK_ARGS + 1)
            lua_rawseti(L, -2, *n);
        else if (*n == LVAT_STACK_ARGS + 1)
            lvat_lua_collect(L, *n, false);
        if (*p == ']')
            return p + 1;
        if (*p++ != ',' || p == end)
            return NULL;
    }
}

int
lvat_lua_fast_methargs(lua_State *L, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    int top = lua_gettop(L), n;

    /* ["method",[args...]]: anything else is for the pull parser, which
     * words the error. */
    if (len >= 7 && p[0] == '[' && p[1] == '"' && !names_slots(text, len) &&
        (p = build_string(L, p + 1, end)) != NULL && end - p >= 4 &&
        p[0] == ',' && p[1] == '[' &&
        (p = build_args(L, p + 2, end, &n)) != NULL && p + 1 == end &&
        *p == ']')
        return n;
    lua_settop(L, top);
    return -1;
}
