/*
 * Lua 5.4's pattern matching (manual §6.4.1), written here so the time
 * budget can stop it.  Lua's own matcher is C, where no hook fires, and
 * it backtracks without limit ("s:find('.-.-b')" runs for many seconds);
 * this one counts its steps and every CHECK_EVERY of them looks at the
 * vat's kill flag.  It matches exactly as Lua 5.4.4 does, error messages
 * included.  The library functions on top are in lpattern_lib.c.
 */
#include "lpattern_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>

/* ---- Constants ---- */

#define ESC          LVAT_PAT_ESC
#define MAX_DEPTH    200  /* Lua's MAXCCALLS for the matcher */
#define CHECK_EVERY  4096 /* steps between looks at the kill flag */
#define CAP_OPEN     LVAT_PAT_CAP_OPEN
#define CAP_POSITION LVAT_PAT_CAP_POSITION

/* ---- The step counter ---- */

void
lvat__pattern_init(lvat_matcher *m,
                   lua_State *L,
                   const char *s,
                   size_t ls,
                   const char *p,
                   size_t lp)
{
    m->L = L;
    m->vat = lvat_lua_vat(L);
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
    m->depth = MAX_DEPTH;
    m->ncap = 0;
    m->budget = CHECK_EVERY;
}

/* The slow path of charge(): with a signalling watchdog the handler has
 * set `killed` and armed the kill hook, which keeps the kill sticky once
 * the error returns to Lua code. */
static void
budget_spent(lvat_matcher *m)
{
    m->budget = CHECK_EVERY;
    lvat_lua_check_stopped(m->L, m->vat);
}

/* Counts `steps` units of work. */
static inline void
charge(lvat_matcher *m, long steps)
{
    m->budget -= steps;
    if (m->budget <= 0)
        budget_spent(m);
}

/* ---- Single characters ---- */

/* Whether byte c is in class %cl; an upper-case letter complements. */
static int
class_has(int c, int cl)
{
    int in;

    switch (tolower(cl)) {
    case 'a':
        in = isalpha(c);
        break;
    case 'c':
        in = iscntrl(c);
        break;
    case 'd':
        in = isdigit(c);
        break;
    case 'g':
        in = isgraph(c);
        break;
    case 'l':
        in = islower(c);
        break;
    case 'p':
        in = ispunct(c);
        break;
    case 's':
        in = isspace(c);
        break;
    case 'u':
        in = isupper(c);
        break;
    case 'w':
        in = isalnum(c);
        break;
    case 'x':
        in = isxdigit(c);
        break;
    case 'z': /* NUL: deprecated, but 5.4 still has it */
        in = c == 0;
        break;
    default: /* %. %% %y ...: the character itself */
        return cl == c;
    }
    return isupper(cl) ? !in : in;
}

/* Whether byte c is in the set from p (its '[') to close (its ']').  The
 * first character after "[" or "[^" is always a member, even ']'. */
static int
set_has(int c, const char *p, const char *close)
{
    int member = 1;

    p++;
    if (*p == '^') {
        member = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == ESC) {
            p++;
            if (class_has(c, (unsigned char)*p))
                return member;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return member;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return member;
        }
    }
    return !member;
}

/* The end of the single-character item at p: ".", "x", "%x" or a set. */
static const char *
item_end(lvat_matcher *m, const char *p)
{
    if (*p == ESC) {
        if (p + 1 == m->pat_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p != '[')
        return p + 1;
    p++;
    if (*p == '^')
        p++;
    do {
        if (p == m->pat_end)
            luaL_error(m->L, "malformed pattern (missing ']')");
        if (*p++ == ESC && p < m->pat_end)
            p++; /* "%]" does not close the set */
    } while (*p != ']');
    return p + 1;
}

/* The steps one test of a byte against the item p..ep counts: a set is
 * read from end to end (and item_end reads it too), so a set of a
 * megabyte must not pass for one step, or thousands of such tests run
 * between two looks at the kill. */
static long
item_cost(const char *p, const char *ep)
{
    return *p == '[' ? 1 + (long)((ep - p) >> 4) : 1;
}

/* Whether the item p..ep matches the subject byte at s. */
static int
item_matches(const lvat_matcher *m,
             const char *s,
             const char *p,
             const char *ep)
{
    int c;

    if (s >= m->src_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.':
        return 1;
    case ESC:
        return class_has(c, (unsigned char)p[1]);
    case '[':
        return set_has(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

/* ---- Matching ---- */

static const char *do_match(lvat_matcher *m, const char *s, const char *p);

/* item* (from == s) or item+ (from == s + 1): the longest run first. */
static const char *
greedy(lvat_matcher *m, const char *from, const char *p, const char *ep)
{
    ptrdiff_t n = 0;

    if (*p == '.') {
        n = m->src_end - from;
        charge(m, (long)n);
    } else if (*p != '[') {
        while (item_matches(m, from + n, p, ep))
            n++;
        charge(m, (long)n);
    } else {
        /* Each test reads the set: counted as it goes. */
        long cost = item_cost(p, ep);
        while (item_matches(m, from + n, p, ep)) {
            n++;
            charge(m, cost);
        }
    }
    for (; n >= 0; n--) {
        const char *r = do_match(m, from + n, ep + 1);
        if (r != NULL)
            return r;
    }
    return NULL;
}

/* item-: the shortest run first. */
static const char *
lazy(lvat_matcher *m, const char *s, const char *p, const char *ep)
{
    long cost = item_cost(p, ep);

    for (;;) {
        const char *r = do_match(m, s, ep + 1);
        if (r != NULL)
            return r;
        charge(m, cost);
        if (!item_matches(m, s, p, ep))
            return NULL;
        s++;
    }
}

/* %bxy at s (p points at x): the end of the balanced run, or NULL. */
static const char *
balanced(lvat_matcher *m, const char *s, const char *p)
{
    const char *start = s;
    int level = 1;

    if (p >= m->pat_end - 1)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (*s != p[0])
        return NULL;
    while (++s < m->src_end) {
        if (*s == p[1]) {
            if (--level == 0)
                break;
        } else if (*s == p[0]) {
            level++;
        }
    }
    charge(m, (long)(s - start));
    return s < m->src_end ? s + 1 : NULL;
}

/* %f[set] at s (p points at '['): the end of the set when the byte
 * before s (NUL at the start) is outside it and the one at s (NUL at the
 * end) inside; NULL otherwise. */
static const char *
frontier(lvat_matcher *m, const char *s, const char *p)
{
    const char *ep;
    int prev;

    if (*p != '[')
        luaL_error(m->L, "missing '[' after '%%f' in pattern");
    ep = item_end(m, p);
    charge(m, 2 * item_cost(p, ep));
    prev = s == m->src ? 0 : (unsigned char)s[-1];
    if (!set_has(prev, p, ep - 1) && set_has((unsigned char)*s, p, ep - 1))
        return ep;
    return NULL;
}

/* %1-%9 (and the invalid %0) at s: the end of the repeated text. */
static const char *
backref(lvat_matcher *m, const char *s, int digit)
{
    int i = digit - '1';
    size_t len;

    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    len = (size_t)m->cap[i].len; /* a position capture never fits */
    if ((size_t)(m->src_end - s) < len || memcmp(m->cap[i].at, s, len) != 0)
        return NULL;
    charge(m, (long)len);
    return s + len;
}

static const char *
open_capture(lvat_matcher *m, const char *s, const char *p, ptrdiff_t what)
{
    const char *r;

    if (m->ncap >= LVAT_PAT_MAXCAPTURES)
        luaL_error(m->L, "too many captures");
    m->cap[m->ncap].at = s;
    m->cap[m->ncap].len = what;
    m->ncap++;
    r = do_match(m, s, p);
    if (r == NULL)
        m->ncap--;
    return r;
}

static const char *
close_capture(lvat_matcher *m, const char *s, const char *p)
{
    int i = m->ncap - 1;
    const char *r;

    while (i >= 0 && m->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[i].len = s - m->cap[i].at;
    r = do_match(m, s, p);
    if (r == NULL)
        m->cap[i].len = CAP_OPEN;
    return r;
}

/* %b, %f or a back-reference at *pp; as step() below. */
static bool
escape_step(lvat_matcher *m, const char **sp, const char **pp)
{
    const char *p = *pp;

    switch (p[1]) {
    case 'b':
        *sp = balanced(m, *sp, p + 2);
        *pp = p + 4;
        break;
    case 'f':
        *pp = frontier(m, *sp, p + 2);
        if (*pp == NULL)
            *sp = NULL;
        break;
    default:
        *sp = backref(m, *sp, p[1]);
        *pp = p + 2;
    }
    return *sp != NULL;
}

/* A single-character item with its optional quantifier; as step(). */
static bool
item_step(lvat_matcher *m, const char **sp, const char **pp)
{
    const char *s = *sp, *p = *pp, *ep = item_end(m, p), *r;

    if (*p == '[')
        charge(m, item_cost(p, ep));
    if (!item_matches(m, s, p, ep)) {
        if (*ep != '*' && *ep != '?' && *ep != '-') {
            *sp = NULL;
            return false;
        }
        *pp = ep + 1; /* zero repetitions will do */
        return true;
    }
    switch (*ep) {
    case '?':
        r = do_match(m, s + 1, ep + 1);
        if (r == NULL) {
            *pp = ep + 1;
            return true;
        }
        *sp = r;
        return false;
    case '+':
        *sp = greedy(m, s + 1, p, ep);
        return false;
    case '*':
        *sp = greedy(m, s, p, ep);
        return false;
    case '-':
        *sp = lazy(m, s, p, ep);
        return false;
    default:
        *sp = s + 1;
        *pp = ep;
        return true;
    }
}

/*
 * Matches the pattern item at *pp against the subject at *sp.  Returns
 * true to go on with the rest of the pattern from the updated *sp and
 * *pp (a tail call made a loop); false when *sp is the final answer: the
 * end of the match, or NULL.
 */
static bool
step(lvat_matcher *m, const char **sp, const char **pp)
{
    const char *p = *pp;

    switch (*p) {
    case '(':
        if (p[1] == ')')
            *sp = open_capture(m, *sp, p + 2, CAP_POSITION);
        else
            *sp = open_capture(m, *sp, p + 1, CAP_OPEN);
        return false;
    case ')':
        *sp = close_capture(m, *sp, p + 1);
        return false;
    case '$':
        if (p + 1 != m->pat_end)
            break; /* a plain '$' */
        if (*sp != m->src_end)
            *sp = NULL;
        return false;
    case ESC:
        if (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9'))
            return escape_step(m, sp, pp);
        break;
    default:
        break;
    }
    return item_step(m, sp, pp);
}

/*
 * The end of the match of pattern p at subject position s, or NULL.  Each
 * call nests one level deeper, as Lua's match() does, so the same
 * patterns are "too complex"; tail positions loop instead.
 */
static const char *
do_match(lvat_matcher *m, const char *s, const char *p)
{
    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    charge(m, 1);
    while (p != m->pat_end) {
        if (!step(m, &s, &p))
            break;
        charge(m, 1);
    }
    m->depth++;
    return s;
}

/* ---- Entry points ---- */

const char *
lvat__pattern_match(lvat_matcher *m, const char *s, const char *p)
{
    m->ncap = 0;
    /* Normally back at MAX_DEPTH already; not after an error, and a gmatch
     * iterator may be called again after one. */
    m->depth = MAX_DEPTH;
    return do_match(m, s, p);
}

void
lvat__pattern_charge(lvat_matcher *m, long steps)
{
    charge(m, steps);
}
