/*
 * The compiled-module cache (bindings/lchunks.c), in plain lua_States: a
 * module loaded from bytecode must behave exactly as one compiled from
 * its text (results, chunk name, line numbers in errors), a syntax error
 * must read as Lua's own and not be kept, and the cache must stay within
 * its bytes.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lbind.h"
#include "lchunks.h"

#define MODULE "local greeting = ...\n"                                     \
               "local function fail() error('boom') end\n"                  \
               "return { hello = function() return greeting .. '!' end,\n"  \
               "         fail = fail,\n"                                    \
               "         where = function() return debug.getinfo(1, 'Sl')"  \
               ".source end }\n"

typedef struct fx {
    lvat_chunks *c;
    lua_State *L1, *L2;
} fx;

static int
setup(void **state)
{
    static fx f;

    f.c = lvat_chunks_new(1 << 20);
    f.L1 = luaL_newstate();
    f.L2 = luaL_newstate();
    luaL_openlibs(f.L1);
    luaL_openlibs(f.L2);
    /* No vat: luaL_newstate leaves the extra space uninitialised. */
    *(lvat_lvat **)lua_getextraspace(f.L1) = NULL;
    *(lvat_lvat **)lua_getextraspace(f.L2) = NULL;
    *state = &f;
    return f.c && f.L1 && f.L2 ? 0 : -1;
}

static int
teardown(void **state)
{
    fx *f = *state;

    lvat_chunks_free(f->c);
    lua_close(f->L1);
    lua_close(f->L2);
    return 0;
}

static void
expect_stats(lvat_chunks *c, uint64_t hits, uint64_t misses, bool kept)
{
    uint64_t h, m;
    size_t bytes;

    lvat_chunks_stats(c, &h, &m, &bytes);
    assert_int_equal(h, hits);
    assert_int_equal(m, misses);
    assert_true(kept ? bytes > 0 : bytes == 0);
}

/* Loads MODULE as `name` into L, runs it with "hi", and checks what its
 * functions say, including the error raised on line 2. */
static void
load_and_check(lvat_chunks *c, lua_State *L, const char *name,
               const char *want_error)
{
    assert_int_equal(lvat_chunks_load(c, L, MODULE, strlen(MODULE), name),
                     LUA_OK);
    lua_pushstring(L, "hi");
    assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
    lua_getfield(L, -1, "hello");
    assert_int_equal(lua_pcall(L, 0, 1, 0), LUA_OK);
    assert_string_equal(lua_tostring(L, -1), "hi!");
    lua_pop(L, 1);
    lua_getfield(L, -1, "fail");
    assert_int_equal(lua_pcall(L, 0, 0, 0), LUA_ERRRUN);
    assert_string_equal(lua_tostring(L, -1), want_error);
    lua_pop(L, 1);
    lua_getfield(L, -1, "where");
    assert_int_equal(lua_pcall(L, 0, 1, 0), LUA_OK);
    assert_string_equal(lua_tostring(L, -1), name);
    lua_pop(L, 2);
}

static void
test_lchunks_second_load_is_the_same_module(void **state)
{
    fx *f = *state;

    load_and_check(f->c, f->L1, "@greeter.lua", "greeter.lua:2: boom");
    expect_stats(f->c, 0, 1, true);
    load_and_check(f->c, f->L2, "@greeter.lua", "greeter.lua:2: boom");
    load_and_check(f->c, f->L1, "@greeter.lua", "greeter.lua:2: boom");
    expect_stats(f->c, 2, 1, true);
}

static void
test_lchunks_name_and_text_both_count(void **state)
{
    fx *f = *state;
    const char *other = "return 1 + 1\n";

    load_and_check(f->c, f->L1, "@a.lua", "a.lua:2: boom");
    load_and_check(f->c, f->L2, "@b.lua", "b.lua:2: boom");
    expect_stats(f->c, 0, 2, true);
    assert_int_equal(lvat_chunks_load(f->c, f->L1, other, strlen(other),
                                      "@a.lua"),
                     LUA_OK);
    assert_int_equal(lua_pcall(f->L1, 0, 1, 0), LUA_OK);
    assert_int_equal(lua_tointeger(f->L1, -1), 2);
    lua_pop(f->L1, 1);
    expect_stats(f->c, 0, 3, true);
}

static void
test_lchunks_syntax_error_reads_as_lua_and_is_not_kept(void **state)
{
    fx *f = *state;
    const char *bad = "local x = 1\nreturn x +\n";
    char want[256];

    assert_int_equal(luaL_loadbufferx(f->L2, bad, strlen(bad), "@bad.lua",
                                      "t"),
                     LUA_ERRSYNTAX);
    snprintf(want, sizeof want, "%s", lua_tostring(f->L2, -1));
    lua_pop(f->L2, 1);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(lvat_chunks_load(f->c, f->L1, bad, strlen(bad),
                                          "@bad.lua"),
                         LUA_ERRSYNTAX);
        assert_string_equal(lua_tostring(f->L1, -1), want);
        lua_pop(f->L1, 1);
    }
    expect_stats(f->c, 0, 2, false); /* a second try compiles again */
}

static void
test_lchunks_stays_within_its_bytes(void **state)
{
    fx *f = *state;
    lvat_chunks *none = lvat_chunks_new(16), *one;
    uint64_t h, m;
    size_t bytes, first;

    /* Too small for any module: every load compiles, nothing is kept. */
    load_and_check(none, f->L1, "@a.lua", "a.lua:2: boom");
    load_and_check(none, f->L1, "@a.lua", "a.lua:2: boom");
    lvat_chunks_stats(none, &h, &m, &bytes);
    assert_true(h == 0 && m == 2 && bytes == 0);
    lvat_chunks_free(none);
    /* Room for one: a second module starts the cache over. */
    load_and_check(f->c, f->L1, "@a.lua", "a.lua:2: boom");
    lvat_chunks_stats(f->c, &h, &m, &first);
    one = lvat_chunks_new(first + first / 2);
    assert_non_null(one);
    load_and_check(one, f->L1, "@a.lua", "a.lua:2: boom");
    load_and_check(one, f->L1, "@b.lua", "b.lua:2: boom");
    load_and_check(one, f->L1, "@b.lua", "b.lua:2: boom");
    load_and_check(one, f->L1, "@a.lua", "a.lua:2: boom");
    lvat_chunks_stats(one, &h, &m, &bytes);
    assert_true(h == 1 && m == 3 && bytes == first);
    lvat_chunks_free(one);
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lchunks_second_load_is_the_same_module),
        T(test_lchunks_name_and_text_both_count),
        T(test_lchunks_syntax_error_reads_as_lua_and_is_not_kept),
        T(test_lchunks_stays_within_its_bytes),
    };
#undef T
    return cmocka_run_group_tests_name("lchunks", tests, NULL, NULL);
}
