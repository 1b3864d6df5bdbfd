/*
 * string.find, match, gmatch and gsub (manual §6.4) on the interruptible
 * matcher of lpattern.c: arguments and start positions, the plain find,
 * captures as results, gmatch's iterator state and gsub's replacements,
 * all as Lua 5.4.4 does them.  lenv.c puts these functions in the string
 * library itself, so "s:find(p)" uses them too.
 */
#include "lpattern_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>

/* ---- Constants and types ---- */

#define ESC          LVAT_PAT_ESC
#define SPECIALS     "^$*+?.([%-" /* find goes plain without any of these */
#define CAP_OPEN     LVAT_PAT_CAP_OPEN
#define CAP_POSITION LVAT_PAT_CAP_POSITION

typedef struct gmatch_state {
    const char *next; /* where the next search starts */
    const char *pat;
    const char *last; /* end of the previous match: not matched again */
    lvat_matcher m;
} gmatch_state;

/* ---- Captures as results ---- */

/* Capture i (the whole match s..e when there are none): sets *at and
 * returns its length, or pushes a position capture and returns
 * CAP_POSITION.  [-0, +(0|1), v] */
static ptrdiff_t
get_capture(lvat_matcher *m,
            int i,
            const char *s,
            const char *e,
            const char **at)
{
    ptrdiff_t len;

    if (i >= m->ncap) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *at = s;
        return e - s;
    }
    len = m->cap[i].len;
    *at = m->cap[i].at;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (m->cap[i].at - m->src) + 1);
    return len;
}

/* [-0, +1, v] */
static void
push_capture(lvat_matcher *m, int i, const char *s, const char *e)
{
    const char *at;
    ptrdiff_t len = get_capture(m, i, s, e, &at);

    if (len != CAP_POSITION)
        lua_pushlstring(m->L, at, (size_t)len);
}

/* Every capture, or the whole match s..e when there are none and s is
 * not NULL; returns how many.  [-0, +n, v] */
static int
push_captures(lvat_matcher *m, const char *s, const char *e)
{
    int n = (m->ncap == 0 && s != NULL) ? 1 : m->ncap;

    luaL_checkstack(m->L, n, "too many captures"); /* n <= 32 */
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* ---- find and match ---- */

/* A 1-based start from init: negative counts from the end; before the
 * start is 1. */
static size_t
start_pos(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static bool
has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(SPECIALS, p[i]) != NULL)
            return true;
    return false;
}

/* The first occurrence of p[0..lp) in the subject from h, or NULL.  Each
 * candidate is charged, since a long needle makes this quadratic too. */
static const char *
plain_search(lvat_matcher *m, const char *h, const char *p, size_t lp)
{
    const char *last;

    if (lp == 0)
        return h;
    if (lp > (size_t)(m->src_end - h))
        return NULL;
    last = m->src_end - lp; /* the last place p can start */
    for (; h <= last; h++) {
        h = memchr(h, p[0], (size_t)(last - h) + 1);
        if (h == NULL)
            return NULL;
        lvat__pattern_charge(m, 1 + (long)(lp >> 4));
        if (memcmp(h, p, lp) == 0)
            return h;
    }
    return NULL;
}

/* find with plain = true, or a pattern without specials: pushes the
 * start and end of p in the subject from init, or fail.
 * [-0, +(1|2), v] */
static int
find_plain(lvat_matcher *m, size_t init, const char *p, size_t lp)
{
    const char *h = plain_search(m, m->src + init, p, lp);

    if (h == NULL) {
        luaL_pushfail(m->L);
        return 1;
    }
    lua_pushinteger(m->L, (h - m->src) + 1);
    lua_pushinteger(m->L, (h - m->src) + (lua_Integer)lp);
    return 2;
}

/* Pushes find's start, end and captures, or match's captures, of the
 * first match from init; or fail.  [-0, +n, v] */
static int
find_pattern(lvat_matcher *m, size_t init, const char *p, bool find)
{
    const char *at = m->src + init;
    bool anchor = *p == '^';

    if (anchor)
        p++;
    do {
        const char *e = lvat__pattern_match(m, at, p);

        if (e != NULL && find) {
            lua_pushinteger(m->L, (at - m->src) + 1);
            lua_pushinteger(m->L, e - m->src);
            return push_captures(m, NULL, NULL) + 2;
        }
        if (e != NULL)
            return push_captures(m, at, e);
    } while (at++ < m->src_end && !anchor);
    luaL_pushfail(m->L);
    return 1;
}

static int
find_or_match(lua_State *L, bool find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
    lvat_matcher m;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    lvat__pattern_init(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp)))
        return find_plain(&m, init, p, lp);
    return find_pattern(&m, init, p, find);
}

static int
l_find(lua_State *L)
{
    return find_or_match(L, true);
}

static int
l_match(lua_State *L)
{
    return find_or_match(L, false);
}

/* ---- gmatch ---- */

/* The iterator: upvalues are the subject, the pattern and the state. */
static int
gmatch_next(lua_State *L)
{
    gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    lvat_matcher *m = &g->m;

    m->L = L;
    m->vat = lvat_lua_vat(L);
    for (const char *at = g->next; at <= m->src_end; at++) {
        const char *e = lvat__pattern_match(m, at, g->pat);

        if (e != NULL && e != g->last) {
            g->next = g->last = e;
            return push_captures(m, at, e);
        }
    }
    return 0;
}

static int
l_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
    gmatch_state *g;

    lua_settop(L, 2); /* the strings live on as upvalues 1 and 2 */
    g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1; /* nothing left to search */
    lvat__pattern_init(&g->m, L, s, ls, p, lp);
    g->next = s + init;
    g->pat = p;
    g->last = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* ---- gsub ---- */

/* Capture i of the match s..e, added to b (see get_capture).
 * [-0, +0, v] (through the buffer) */
static void
add_capture(lvat_matcher *m,
            luaL_Buffer *b,
            int i,
            const char *s,
            const char *e)
{
    const char *at;
    ptrdiff_t len = get_capture(m, i, s, e, &at);

    if (len == CAP_POSITION)
        luaL_addvalue(b); /* the position get_capture pushed */
    else
        luaL_addlstring(b, at, (size_t)len);
}

/* The replacement string (argument 3) with %0-%9 and %% expanded, added
 * to b.  [-0, +0, v] (through the buffer) */
static void
add_template(lvat_matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *r = lua_tolstring(m->L, 3, &l), *pct;

    /* One step per possible escape: "%0" for an empty match adds
     * nothing, so neither the matcher's steps nor the memory cap bound
     * a long template repeated at every position. */
    lvat__pattern_charge(m, 1 + (long)(l >> 1));
    while ((pct = memchr(r, ESC, l)) != NULL) {
        luaL_addlstring(b, r, (size_t)(pct - r));
        pct++; /* a final '%' is followed by the string's NUL */
        if (*pct == ESC)
            luaL_addchar(b, ESC);
        else if (*pct == '0')
            luaL_addlstring(b, s, (size_t)(e - s));
        else if (isdigit((unsigned char)*pct))
            add_capture(m, b, *pct - '1', s, e);
        else
            luaL_error(m->L, "invalid use of '%c' in replacement string", ESC);
        l -= (size_t)(pct + 1 - r);
        r = pct + 1;
    }
    luaL_addlstring(b, r, l);
}

/* Adds the replacement of the match s..e to b; returns whether it
 * differs from the match (false or nil from a table or function keeps
 * the match).  tr is the type of argument 3.  [-0, +0, e] (through the
 * buffer; a function or __index runs arbitrary Lua) */
static bool
add_value(lvat_matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;

    if (tr == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return true;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1); /* false or nil */
        luaL_addlstring(b, s, (size_t)(e - s));
        return false;
    }
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return true;
}

/* Replaces up to max_n matches of p in the subject, into b; returns the
 * count, and in *changed whether the result differs from the subject.
 * [-0, +0, e] (through the buffer) */
static lua_Integer
gsub_loop(lvat_matcher *m,
          luaL_Buffer *b,
          const char *p,
          lua_Integer max_n,
          int tr,
          bool *changed)
{
    const char *src = m->src, *last = NULL;
    bool anchor = *p == '^';
    lua_Integer n = 0;

    if (anchor)
        p++;
    while (n < max_n) {
        const char *e = lvat__pattern_match(m, src, p);

        if (e != NULL && e != last) {
            n++;
            *changed = add_value(m, b, src, e, tr) || *changed;
            src = last = e;
        } else if (src < m->src_end) {
            luaL_addchar(b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    if (*changed)
        luaL_addlstring(b, src, (size_t)(m->src_end - src));
    return n;
}

static int
l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n;
    bool changed = false;
    luaL_Buffer b;
    lvat_matcher m;

    luaL_argexpected(L,
                     tr == LUA_TNUMBER || tr == LUA_TSTRING ||
                         tr == LUA_TFUNCTION || tr == LUA_TTABLE,
                     3, "string/function/table");
    luaL_buffinit(L, &b);
    lvat__pattern_init(&m, L, s, ls, p, lp);
    n = gsub_loop(&m, &b, p, max_n, tr, &changed);
    if (changed)
        luaL_pushresult(&b);
    else
        lua_pushvalue(L, 1); /* the subject itself */
    lua_pushinteger(L, n);
    return 2;
}

/* ---- Registration ---- */

void
lvat_lua_open_patterns(lua_State *L, int idx)
{
    static const luaL_Reg funcs[] = {{"find", l_find},
                                     {"match", l_match},
                                     {"gmatch", l_gmatch},
                                     {"gsub", l_gsub},
                                     {NULL, NULL}};

    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1); /* the table */
}
