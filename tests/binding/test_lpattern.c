/*
 * The pattern functions of lpattern.c against Lua 5.4's own, side by side
 * in one plain lua_State (no vat in its extra space): the hand-written
 * cases of lpattern_cases.lua, for every feature and every error message,
 * then tens of thousands of random patterns and subjects.  Every result,
 * and every error's text, must be the same (lpattern_driver.lua compares
 * them).  string.format's fast path (lformat.c) is compared the same
 * way.  LVAT_PATTERN_SEED=n picks the random seed; LVAT_PATTERN_BENCH=1
 * also times both sides (lpattern_bench.lua).  Kills are in
 * test_lpattern_kill.c.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lbind.h"

/* ---- Fixture ---- */

typedef struct fx {
    lua_State *L;
    int expr, random; /* registry refs of the driver's functions */
} fx;

/* Loads and runs tests/binding/<name>, leaving nres results; the
 * nargs values on top are its arguments.  [-nargs, +nres, -] */
static void
run_file(lua_State *L, const char *name, int nargs, int nres)
{
    char rel[128];
    char *path;

    snprintf(rel, sizeof rel, "tests/binding/%s", name);
    path = lvat_test_path(lvat_test_srcdir(), rel);
    if (luaL_loadfilex(L, path, "t") != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    free(path);
    lua_insert(L, -nargs - 1);
    if (lua_pcall(L, nargs, nres, 0) != LUA_OK)
        fail_msg("%s: %s", name, lua_tostring(L, -1));
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    lua_State *L = luaL_newstate();

    assert_non_null(L);
    /* No vat: luaL_newstate leaves the extra space uninitialised. */
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
    luaL_openlibs(L);
    lua_newtable(L);
    lvat_lua_open_patterns(L, -1);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_setfield(L, -3, "format");
    lua_pop(L, 1); /* string */
    lvat_lua_open_format(L, -1);
    lua_setglobal(L, "M");
    lua_getglobal(L, "string");
    lua_getglobal(L, "M");
    run_file(L, "lpattern_driver.lua", 2, 2);
    f->random = luaL_ref(L, LUA_REGISTRYINDEX);
    f->expr = luaL_ref(L, LUA_REGISTRYINDEX);
    f->L = L;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;

    lua_close(f->L);
    free(f);
    return 0;
}

/* Calls the driver function pushed with its nargs arguments; returns
 * its difference message (owned), or NULL when both sides agreed. */
static char *
driver_call(lua_State *L, int nargs)
{
    char *diff = NULL;

    if (lua_pcall(L, nargs, 1, 0) != LUA_OK)
        fail_msg("driver: %s", lua_tostring(L, -1));
    if (lua_isstring(L, -1))
        diff = strdup(lua_tostring(L, -1));
    lua_pop(L, 1); /* the result */
    return diff;
}

/* ---- Hand-written cases ---- */

static void
test_lpattern_hand_cases(void **state)
{
    fx *f = *state;
    lua_State *L = f->L;
    lua_Integer n;
    int failures = 0;

    run_file(L, "lpattern_cases.lua", 0, 1);
    n = luaL_len(L, 1);
    /* stack: cases */
    for (lua_Integer i = 1; i <= n; i++) {
        char *diff;
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->expr);
        lua_rawgeti(L, 1, i);
        diff = driver_call(L, 1);
        if (diff != NULL) {
            print_error("case %lld: %s\n", (long long)i, diff);
            failures++;
            free(diff);
        }
    }
    lua_pop(L, 1); /* cases */
    print_message("%lld hand-written cases\n", (long long)n);
    assert_int_equal(failures, 0);
}

/* ---- Random cases ---- */

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64 */
static uint64_t
rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned
rnd(rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

static const char *
pick(rng *r, const char *const *list, size_t n)
{
    return list[rnd(r, (unsigned)n)];
}

#define PICK(r, list) pick((r), (list), LVAT_ARRAY_LEN(list))

typedef struct text {
    char b[200];
    size_t n;
} text;

static void
put(text *t, const char *s, size_t n)
{
    if (t->n + n <= sizeof t->b) {
        memcpy(t->b + t->n, s, n);
        t->n += n;
    }
}

static void
put_str(text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Subject alphabets: few letters, so that matches are likely. */
typedef struct alpha {
    const char *s;
    size_t n;
} alpha;
#define ALPHA(s)         \
    {                    \
        s, sizeof(s) - 1 \
    }
static const alpha alphabets[] = {
    ALPHA("ab"),     ALPHA("abc"),        ALPHA("aab"),    ALPHA("a(b)"),
    ALPHA("ab 1\t"), ALPHA("xy.-%"),      ALPHA("[]^$ab"), ALPHA("a\0b"),
    ALPHA("AbC9_ "), ALPHA("ab\200\377"), ALPHA("a(b)[]"), ALPHA("aA1 ,")};

static void
put_char(rng *r, text *t, const alpha *a)
{
    put(t, &a->s[rnd(r, (unsigned)a->n)], 1);
}

static void
gen_set(rng *r, text *t, const alpha *a)
{
    static const char *const classes[] = {"%a", "%d", "%s", "%w", "%A",
                                          "%p", "%%", "%]", "%-", "%z"};
    unsigned n = 1 + rnd(r, 3);

    put_str(t, rnd(r, 3) == 0 ? "[^" : "[");
    if (rnd(r, 10) == 0)
        put_str(t, "]");
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rnd(r, 10);
        if (k < 5) {
            put_char(r, t, a);
        } else if (k < 7) {
            put_char(r, t, a);
            put_str(t, "-");
            put_char(r, t, a);
        } else if (k < 9) {
            put_str(t, PICK(r, classes));
        } else {
            put_str(t, "-");
        }
    }
    if (rnd(r, 25) != 0)
        put_str(t, "]");
}

static void
gen_atom(rng *r, text *t, const alpha *a)
{
    static const char *const classes[] = {
        "%a", "%d", "%s", "%w", "%l", "%u", "%p", "%c", "%x", "%g",
        "%z", "%A", "%D", "%S", "%W", "%L", "%U", "%P", "%y"};
    static const char *const escapes[] = {"%.", "%%", "%(", "%)", "%[", "%]",
                                          "%-", "%^", "%$", "%*", "%+", "%?"};
    unsigned k = rnd(r, 12);

    if (k < 2)
        put_str(t, ".");
    else if (k < 4)
        put_str(t, PICK(r, classes));
    else if (k < 5)
        put_str(t, PICK(r, escapes));
    else if (k < 7)
        gen_set(r, t, a);
    else
        put_char(r, t, a);
}

/* A pattern being made: its text and how many captures it opened. */
typedef struct pat {
    text t;
    int ncap;
    bool clean; /* only well-formed items likely to match */
} pat;

static void gen_seq(rng *r, pat *pt, const alpha *a, int depth);

static void
gen_item(rng *r, pat *pt, const alpha *a, int depth)
{
    static const char *const quant[] = {"", "", "", "*", "+", "-", "?"};
    static const char *const bad[] = {"%",  "[",   "[^", ")",   "(",
                                      "%f", "%fa", "%b", "%bx", "%0",
                                      "%9", "[a-", "%"};
    text *t = &pt->t;
    unsigned k = rnd(r, pt->clean ? 85 : 100);

    if (pt->clean && k < 40) {
        if (rnd(r, 4) == 0)
            put_str(t, ".");
        else
            put_char(r, t, a);
        put_str(t, PICK(r, quant));
    } else if (k < 55) {
        gen_atom(r, t, a);
        put_str(t, PICK(r, quant));
    } else if (k < 67 && depth < 2) {
        put_str(t, "(");
        pt->ncap++;
        gen_seq(r, pt, a, depth + 1);
        if (rnd(r, 40) != 0)
            put_str(t, ")");
    } else if (k < 72) {
        put_str(t, "()");
        pt->ncap++;
    } else if (k < 79) {
        /* Mostly a capture that exists (it may still be open). */
        int n = pt->ncap > 0 && rnd(r, 8) != 0 ? pt->ncap : 3;
        char ref[3] = {'%', (char)('1' + rnd(r, (unsigned)n)), 0};
        put_str(t, ref);
    } else if (k < 85) {
        put_str(t, "%b");
        if (rnd(r, 2) == 0) {
            put_str(t, "()");
        } else {
            put_char(r, t, a);
            put_char(r, t, a);
        }
    } else if (k < 91) {
        put_str(t, "%f");
        gen_set(r, t, a);
    } else if (k < 96) {
        put_str(t, rnd(r, 2) ? "^" : "$");
    } else {
        put_str(t, PICK(r, bad));
    }
}

static void
gen_seq(rng *r, pat *pt, const alpha *a, int depth)
{
    unsigned n = 1 + rnd(r, depth == 0 ? 4 : 3);

    for (unsigned i = 0; i < n; i++)
        gen_item(r, pt, a, depth);
}

/* Pushes an init argument: small, around the subject's ends, or huge. */
static void
push_init(rng *r, lua_State *L)
{
    unsigned k = rnd(r, 20);

    if (k == 0)
        lua_pushinteger(L, LUA_MAXINTEGER);
    else if (k == 1)
        lua_pushinteger(L, LUA_MININTEGER);
    else
        lua_pushinteger(L, (lua_Integer)rnd(r, 19) - 9);
}

/* Pushes gsub's replacement and n; returns the driver's repl code. */
static int
push_gsub_args(rng *r, lua_State *L)
{
    static const char *const templates[] = {
        "%0",     "%1", "%2", "<%1>", "%%", "x",    "",
        "%1%2%3", "%",  "%a", "-%0-", "%9", "%1%1", "[%0|%1]"};
    unsigned k = rnd(r, 20);
    int repl = 0;

    if (k < 12) {
        lua_pushstring(L, PICK(r, templates));
    } else if (k < 15) {
        lua_pushnil(L);
        repl = 1; /* the driver's table */
    } else if (k < 19) {
        lua_pushnil(L);
        repl = 2; /* the driver's function */
    } else {
        lua_pushinteger(L, 7);
    }
    if (rnd(r, 3) == 0)
        lua_pushinteger(L, (lua_Integer)rnd(r, 6) - 1);
    return repl;
}

/* One random call compared; returns the difference (owned) or NULL. */
static char *
random_case(fx *f, rng *r)
{
    static const char *const fnames[] = {"find", "match", "gmatch", "gsub"};
    lua_State *L = f->L;
    const alpha *a = &alphabets[rnd(r, LVAT_ARRAY_LEN(alphabets))];
    const char *fname = PICK(r, fnames);
    text s = {.n = 0};
    pat p = {.t = {.n = 0}, .ncap = 0, .clean = rnd(r, 2) == 0};
    unsigned len = rnd(r, 13);
    int base, repl = 0;

    if (p.clean)
        a = &alphabets[rnd(r, 3)]; /* "ab", "abc" or "aab" */

    for (unsigned i = 0; i < len; i++)
        put_char(r, &s, a);
    if (rnd(r, 5) == 0)
        put_str(&p.t, "^");
    gen_seq(r, &p, a, 0);
    if (rnd(r, 7) == 0)
        put_str(&p.t, "$");
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->random);
    base = lua_gettop(L);
    lua_pushstring(L, fname);
    lua_pushinteger(L, 0); /* repl, set below */
    lua_pushlstring(L, s.b, s.n);
    lua_pushlstring(L, p.t.b, p.t.n);
    if (strcmp(fname, "gsub") == 0) {
        repl = push_gsub_args(r, L);
    } else if (rnd(r, 2) == 0) {
        push_init(r, L);
        if (strcmp(fname, "find") == 0 && rnd(r, 3) == 0)
            lua_pushboolean(L, (int)rnd(r, 2));
    }
    lua_pushinteger(L, repl);
    lua_replace(L, base + 2);
    return driver_call(L, lua_gettop(L) - base);
}

/* Runs n random cases made by `gen` (50,000; 5,000 under valgrind) and
 * asserts that none differed, printing the first 20 that did. */
static void
run_random(fx *f, rng *r, char *(*gen)(fx *, rng *), const char *what)
{
    long n = lvat_test_under_valgrind() ? 5000 : 50000;
    int failures = 0;

    for (long i = 0; i < n; i++) {
        char *diff = gen(f, r);
        if (diff != NULL) {
            if (failures < 20)
                print_error("random %s case %ld: %s\n", what, i, diff);
            failures++;
            free(diff);
        }
    }
    print_message("%ld random %s cases\n", n, what);
    assert_int_equal(failures, 0);
}

static void
test_lpattern_random_cases(void **state)
{
    const char *env = getenv("LVAT_PATTERN_SEED");
    unsigned long long seed = env ? strtoull(env, NULL, 0) : 20240611u;
    rng r = {seed};

    print_message("pattern seed %llu\n", seed);
    run_random(*state, &r, random_case, "pattern");
}

/* ---- Random string.format calls (lformat.c) ---- */

/* Pushes one argument of a format call: mostly what the conversions
 * want, sometimes what they refuse. */
static void
push_format_arg(rng *r, lua_State *L)
{
    static const lua_Integer ints[] = {0,  1,      -1,         42,
                                       -7, 123456, LUA_MAXINTEGER,
                                       LUA_MININTEGER};
    static const char *const strs[] = {"", "abc", "12", "a%d", "x y"};
    static char longer[300]; /* results past the fast path's 256 bytes */
    unsigned k = rnd(r, 21);

    if (k < 9)
        lua_pushinteger(L, ints[rnd(r, LVAT_ARRAY_LEN(ints))]);
    else if (k < 15)
        lua_pushstring(L, PICK(r, strs));
    else if (k == 15)
        lua_pushlstring(L, "a\0b", 3);
    else if (k == 16)
        lua_pushnumber(L, rnd(r, 2) ? 3.0 : 2.5);
    else if (k == 17)
        lua_pushboolean(L, 1);
    else if (k == 18)
        lua_newtable(L);
    else if (k == 19)
        lua_pushnil(L);
    else
        lua_pushlstring(L, memset(longer, 'x', sizeof longer),
                        rnd(r, sizeof longer));
}

/* One random format call compared; returns the difference or NULL. */
static char *
random_format_case(fx *f, rng *r)
{
    static const char *const pieces[] = {
        "k",    "ab ", "\0",   "%%",   "%s",    "%s",   "%d",   "%d",
        "%i",   "%5d", "%-5d",  "%05d", "%08d",  "%00d", "%-0d", "%-05d",
        "%0-5d", "%99d", "%100d", "%+d", "% d",   "%.3d", "%x",   "%5s",
        "%-3s", "%q",  "%5.2f", "%c",   "%",     "%z",   "%1",   "%-"};
    lua_State *L = f->L;
    text t = {.n = 0};
    unsigned n = rnd(r, 5), nargs = rnd(r, 5);
    int base;

    for (unsigned i = 0; i < n; i++) {
        const char *p = PICK(r, pieces);
        put(&t, p, strcmp(p, "\0") == 0 ? 1 : strlen(p));
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, f->random);
    base = lua_gettop(L);
    lua_pushstring(L, "format");
    lua_pushinteger(L, 0);
    lua_pushlstring(L, t.b, t.n);
    for (unsigned i = 0; i < nargs; i++)
        push_format_arg(r, L);
    return driver_call(L, lua_gettop(L) - base);
}

static void
test_lformat_random_cases(void **state)
{
    rng r = {20261125u};

    run_random(*state, &r, random_format_case, "format");
}

/* ---- Speed (LVAT_PATTERN_BENCH=1) ---- */

static void
test_lpattern_speed(void **state)
{
    fx *f = *state;

    if (getenv("LVAT_PATTERN_BENCH") == NULL)
        skip();
    run_file(f->L, "lpattern_bench.lua", 0, 0);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lpattern_hand_cases),
        T(test_lpattern_random_cases),
        T(test_lformat_random_cases),
        T(test_lpattern_speed),
    };
#undef T
    return cmocka_run_group_tests_name("lpattern", tests, NULL, NULL);
}
