/*
 * The standard libraries made from the runtime's recipe (bindings/llibs.c)
 * against Lua's own opening of them, in plain lua_States: every table
 * the libraries make (the global table, package.loaded, each library,
 * the string metatable) must hold the same keys with the same C
 * functions, numbers and strings, luavat's patches applied as lenv.c
 * applied them, except that the global table (the runtime's env) holds
 * only the base functions the runtime calls, coroutine, and the
 * runtime's string functions; the vat env, which is package.loaded._G,
 * must get the allowed base functions and string, table, math and utf8
 * themselves; math.random must have its own seeded generator, shared
 * with math.randomseed.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "alloc.h"
#include "lbind.h"
#include "llibs.h"

static const struct {
    const char *name;
    lua_CFunction open;
} libs[] = {
    {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
    {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
    {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine}};
#define NLIBS (sizeof libs / sizeof *libs)

/* What the runtime's Lua code calls (llibs.c's runtime_string and
 * runtime_base). */
static const char *const runtime_string[] = {"find", "format", "sub"};
static const char *const runtime_base[] = {
    "error",    "pcall", "select",       "tonumber",
    "tostring", "type",  "setmetatable", "xpcall"};

static const char *const vat_base[] = {
    "assert", "error",    "ipairs",       "next",    "pairs",    "pcall",
    "select", "tonumber", "tostring",     "type",    "rawequal", "rawlen",
    "rawget", "rawset",   "getmetatable", "_VERSION"};

/* New blocks zeroed: a generator state nobody seeded would stay zero
 * (xoshiro256** then draws 0 for ever). */
static void *
zeroing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (ptr == NULL)
        return calloc(1, nsize);
    (void)osize;
    return realloc(ptr, nsize);
}

static lua_State *
new_state(void)
{
    lua_State *L = lua_newstate(zeroing_alloc, NULL);

    assert_non_null(L);
    /* No vat: luaL_newstate leaves the extra space uninitialised. */
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
    return L;
}

/* Sets t[name] = from[name] for each of n names (t, from absolute). */
static void
copy_names(lua_State *L, int t, int from, const char *const *names,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, from, names[i]);
        lua_setfield(L, t, names[i]);
    }
}

#define COPY(L, t, from, names) \
    copy_names(L, t, from, names, sizeof names / sizeof *names)

/* Lua's own opening, with the string and table libraries patched as vats
 * get them (lvat_lua_patch_string, lvat_lua_open_bounded_table; a vat's
 * view of them is probed end to end in tests/e2e/vats/probe.lua), the
 * vat env made package.loaded._G, and the global table made the runtime's
 * env, as llibs.c says. */
static lua_State *
reference_state(void)
{
    static const char *const vat_libs[] = {"string", "table", "math",
                                           "utf8"};
    static const char *const runtime_libs[] = {"coroutine"};
    lua_State *L = new_state();

    for (size_t i = 0; i < NLIBS; i++) {
        luaL_requiref(L, libs[i].name, libs[i].open, 1);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "string");
    lvat_lua_patch_string(L);
    lua_getglobal(L, "table");
    lvat_lua_open_bounded_table(L, -1);
    lua_settop(L, 0);
    lua_pushglobaltable(L); /* 1: Lua's */
    lua_newtable(L);        /* 2: the vat env */
    COPY(L, 2, 1, vat_base);
    COPY(L, 2, 1, vat_libs);
    lua_newtable(L); /* 3: the runtime's env */
    COPY(L, 3, 1, runtime_base);
    COPY(L, 3, 1, runtime_libs);
    lua_newtable(L); /* 4: the runtime's string */
    lua_getglobal(L, "string");
    COPY(L, 4, 5, runtime_string);
    lua_pop(L, 1);
    lua_setfield(L, 3, "string");
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, LUA_GNAME);
    lua_settop(L, 0);
    return L;
}

/* A state made from the recipe; its vat env is the registry's "VENV". */
static lua_State *
recipe_state(const lvat_lua_libs *r)
{
    lua_State *L = new_state();

    lua_newtable(L);
    lvat_lua_libs_open(L, r, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "VENV");
    assert_int_equal(lua_gettop(L), 0);
    return L;
}

/* The name under which package.loaded holds the table at idx, or NULL. */
static const char *
loaded_name(lua_State *L, int idx)
{
    const char *name = NULL;

    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushnil(L);
    while (name == NULL && lua_next(L, -2)) {
        if (lua_rawequal(L, -1, idx))
            name = lua_tostring(L, -2);
        lua_pop(L, 1);
    }
    lua_settop(L, idx);
    return name; /* a key of package.loaded: it stays alive */
}

static void
check_same_function(lua_State *A,
                    int ia,
                    lua_State *B,
                    int ib,
                    const char *what)
{
    int n = 1;

    if (lua_tocfunction(A, ia) != lua_tocfunction(B, ib))
        fail_msg("%s: another function", what);
    for (;; n++) {
        bool a = lua_getupvalue(A, ia, n) != NULL;
        bool b = lua_getupvalue(B, ib, n) != NULL;

        if (a != b)
            fail_msg("%s: another number of upvalues", what);
        if (!a)
            break;
        assert_int_equal(lua_type(A, -1), lua_type(B, -1));
        if (lua_type(A, -1) == LUA_TUSERDATA)
            assert_int_equal(lua_rawlen(A, -1), lua_rawlen(B, -1));
        else if (lua_tocfunction(A, -1) != lua_tocfunction(B, -1))
            fail_msg("%s: upvalue %d is another function", what, n);
        lua_pop(A, 1);
        lua_pop(B, 1);
    }
}

/* How many fields the table at idx holds. */
static lua_Integer
count_fields(lua_State *L, int idx)
{
    lua_Integer n = 0;

    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
    }
    return n;
}

static void check_same_table(lua_State *A, lua_State *B, const char *what);

static void
check_same_value(lua_State *A, int ia, lua_State *B, int ib, const char *what)
{
    if (lua_type(A, ia) != lua_type(B, ib))
        fail_msg("%s: %s, not %s", what, luaL_typename(B, ib),
                 luaL_typename(A, ia));
    switch (lua_type(A, ia)) {
    case LUA_TFUNCTION:
        check_same_function(A, ia, B, ib, what);
        break;
    case LUA_TNUMBER:
        assert_int_equal(lua_isinteger(A, ia), lua_isinteger(B, ib));
        assert_true(lua_tonumber(A, ia) == lua_tonumber(B, ib));
        break;
    case LUA_TSTRING:
        assert_int_equal(lua_rawlen(A, ia), lua_rawlen(B, ib));
        assert_memory_equal(lua_tostring(A, ia), lua_tostring(B, ib),
                            lua_rawlen(A, ia));
        break;
    case LUA_TTABLE:
        if (loaded_name(A, ia) == NULL && loaded_name(B, ib) == NULL) {
            lua_pushvalue(A, ia); /* a table of its own: the same fields */
            lua_pushvalue(B, ib);
            check_same_table(A, B, what);
            lua_pop(A, 1);
            lua_pop(B, 1);
        } else if (loaded_name(A, ia) == NULL || loaded_name(B, ib) == NULL ||
                   strcmp(loaded_name(A, ia), loaded_name(B, ib)) != 0) {
            fail_msg("%s: another table", what);
        }
        break;
    default:
        fail_msg("%s: unexpected %s", what, luaL_typename(A, ia));
    }
}

/* The tables on top of A and B hold the same keys and values. */
static void
check_same_table(lua_State *A, lua_State *B, const char *what)
{
    lua_Integer na = 0, nb;
    char field[128];

    lua_pushnil(A);
    while (lua_next(A, -2)) {
        assert_int_equal(lua_type(A, -2), LUA_TSTRING);
        snprintf(field, sizeof field, "%s.%s", what, lua_tostring(A, -2));
        lua_pushstring(B, lua_tostring(A, -2));
        if (lua_rawget(B, -2) == LUA_TNIL)
            fail_msg("%s is missing", field);
        check_same_value(A, -1, B, -1, field);
        lua_pop(A, 1);
        lua_pop(B, 1);
        na++;
    }
    nb = count_fields(B, -1);
    if (na != nb)
        fail_msg("%s has %lld fields, not %lld", what, (long long)nb,
                 (long long)na);
}

static lvat_lua_libs *
recipe(void)
{
    lvat_lua_libs *r = NULL;
    lvat_errbuf err;

    assert_lvat_ok(lvat_lua_libs_new(&r, &err));
    return r;
}

/* ---- Tests ---- */

static void
test_llibs_same_tables_as_opening_them(void **state)
{
    lvat_lua_libs *r = recipe();
    lua_State *A = reference_state(), *B = recipe_state(r);

    (void)state;
    for (size_t i = 0; i < NLIBS; i++) {
        lua_getfield(A, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_getfield(A, -1, libs[i].name);
        lua_getfield(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_getfield(B, -1, libs[i].name);
        check_same_table(A, B, libs[i].name);
        lua_settop(A, 0);
        lua_settop(B, 0);
    }
    lua_pushliteral(A, "");
    assert_true(lua_getmetatable(A, -1));
    lua_pushliteral(B, "");
    assert_true(lua_getmetatable(B, -1));
    check_same_table(A, B, "(string metatable)");
    lua_settop(A, 0);
    lua_settop(B, 0);
    lua_rawgeti(A, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_rawgeti(B, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    assert_null(loaded_name(B, -1));
    check_same_table(A, B, "(the runtime's env)");
    lua_getfield(B, LUA_REGISTRYINDEX, "VENV");
    assert_string_equal(loaded_name(B, -1), LUA_GNAME);
    lua_close(A);
    lua_close(B);
    lvat_lua_libs_free(r);
}

static void
test_llibs_vat_env_gets_allowed_names_and_libraries(void **state)
{
    static const char *const vat_libs[] = {"string", "table", "math", "utf8"};
    lvat_lua_libs *r = recipe();
    lua_State *B = recipe_state(r);

    (void)state;
    lua_getfield(B, LUA_REGISTRYINDEX, "VENV");
    for (size_t i = 0; i < sizeof vat_base / sizeof *vat_base; i++) {
        lua_getfield(B, 1, vat_base[i]);
        assert_false(lua_isnil(B, -1));
        lua_pop(B, 1);
    }
    /* The libraries themselves: string is the string metatable's too. */
    lua_getfield(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    for (size_t i = 0; i < sizeof vat_libs / sizeof *vat_libs; i++) {
        lua_getfield(B, 1, vat_libs[i]);
        lua_getfield(B, 2, vat_libs[i]);
        assert_int_equal(lua_type(B, -1), LUA_TTABLE);
        assert_true(lua_rawequal(B, -1, -2));
        lua_pop(B, 2);
    }
    lua_pushliteral(B, "");
    assert_true(lua_getmetatable(B, -1));
    lua_getfield(B, -1, "__index");
    lua_getfield(B, 1, "string");
    assert_true(lua_rawequal(B, -1, -2));
    assert_int_equal(count_fields(B, 1),
                     sizeof vat_base / sizeof *vat_base + 4);
    lua_close(B);
    lvat_lua_libs_free(r);
}

/* The global table's string is the runtime's own: only the functions it
 * calls, the library's, so that a vat changing its string table changes
 * nothing the runtime calls. */
static void
test_llibs_runtime_string_is_its_own(void **state)
{
    lvat_lua_libs *r = recipe();
    lua_State *B = recipe_state(r);

    (void)state;
    lua_getglobal(B, "string");
    lua_getfield(B, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(B, -1, "string");
    assert_false(lua_rawequal(B, 1, 3));
    for (size_t i = 0; i < sizeof runtime_string / sizeof *runtime_string;
         i++) {
        lua_getfield(B, 1, runtime_string[i]);
        lua_getfield(B, 3, runtime_string[i]);
        assert_non_null(lua_tocfunction(B, -1));
        assert_true(lua_rawequal(B, -1, -2));
        lua_pop(B, 2);
    }
    assert_int_equal(count_fields(B, 1),
                     sizeof runtime_string / sizeof *runtime_string);
    assert_int_equal(lua_getglobal(B, "table"), LUA_TNIL);
    assert_int_equal(lua_getglobal(B, "math"), LUA_TNIL);
    assert_int_equal(lua_getglobal(B, "utf8"), LUA_TNIL);
    assert_int_equal(lua_getglobal(B, "coroutine"), LUA_TTABLE);
    /* Of the base functions, only those the runtime calls. */
    assert_int_equal(lua_getglobal(B, "collectgarbage"), LUA_TNIL);
    assert_int_equal(lua_getglobal(B, "load"), LUA_TNIL);
    assert_int_equal(lua_getglobal(B, "ipairs"), LUA_TNIL);
    for (size_t i = 0; i < sizeof runtime_base / sizeof *runtime_base; i++)
        assert_int_equal(lua_getglobal(B, runtime_base[i]), LUA_TFUNCTION);
    lua_settop(B, 0);
    lua_pushglobaltable(B);
    assert_int_equal(count_fields(B, 1),
                     sizeof runtime_base / sizeof *runtime_base + 2);
    lua_close(B);
    lvat_lua_libs_free(r);
}

/* Draws five numbers from math.random after math.randomseed(seed), or
 * without seeding when seed is negative; math is the one in
 * package.loaded, or the vat env's (the same table). */
static void
draw(lua_State *L, bool venv, int seed, lua_Integer out[5])
{
    static const char code[] =
        "local m, seed = ... if seed >= 0 then m.randomseed(seed) end "
        "local t = {} for i = 1, 5 do t[i] = m.random(1 << 40) end "
        "return t[1], t[2], t[3], t[4], t[5]";

    if (luaL_loadstring(L, code) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    if (venv)
        lua_getfield(L, LUA_REGISTRYINDEX, "VENV");
    else
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "math");
    lua_remove(L, -2);
    lua_pushinteger(L, seed);
    if (lua_pcall(L, 2, 5, 0) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    for (int i = 0; i < 5; i++)
        out[i] = lua_tointeger(L, i - 5);
    lua_settop(L, 0);
}

static void
test_llibs_random_has_its_own_seeded_state(void **state)
{
    lvat_lua_libs *r = recipe();
    lua_State *A = reference_state(), *B = recipe_state(r),
              *C = recipe_state(r);
    lua_Integer a[5], b[5], c[5];

    (void)state;
    draw(B, false, -1, b);
    assert_true(b[0] != b[1] || b[1] != b[2]); /* seeded, not all zero */
    draw(A, false, 42, a);
    draw(B, true, 42, b); /* the vat's: the same table */
    draw(C, false, 43, c);
    assert_memory_equal(a, b, sizeof a);
    draw(B, false, 43, b);
    assert_memory_equal(b, c, sizeof b);
    draw(B, false, 42, b);
    draw(C, false, 42, c);
    assert_memory_equal(b, c, sizeof b); /* C's generator is its own */
    lua_close(A);
    lua_close(B);
    lua_close(C);
    lvat_lua_libs_free(r);
}

static void
test_llibs_recipe_out_of_memory(void **state)
{
    (void)state;
    for (int sticky = 0; sticky < 2; sticky++) {
        for (unsigned long n = 1;; n++) {
            lvat_lua_libs *r = NULL;
            lvat_errbuf err;
            unsigned long seen;
            int rc;

            lvat_alloc_fail_after(n, sticky);
            rc = lvat_lua_libs_new(&r, &err);
            seen = lvat_alloc_fail_after(0, 0);
            if (rc == LVAT_OK) {
                assert_non_null(r);
                lvat_lua_libs_free(r);
                if (seen < n)
                    break;
                continue;
            }
            assert_lvat_rc(rc, LVAT_ENOMEM);
            assert_null(r);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llibs_same_tables_as_opening_them),
        cmocka_unit_test(test_llibs_vat_env_gets_allowed_names_and_libraries),
        cmocka_unit_test(test_llibs_runtime_string_is_its_own),
        cmocka_unit_test(test_llibs_random_has_its_own_seeded_state),
        cmocka_unit_test(test_llibs_recipe_out_of_memory),
    };
    return cmocka_run_group_tests_name("llibs", tests, NULL, NULL);
}
