/*
 * The fast decoder (bindings/ldecode_fast.c): which bodies it takes (only
 * plain ones; every malformed or special text is left to the pull
 * parser, which words the errors), and that what it builds is what the
 * pull parser's decoding builds: the values, table sizes at the PENDING
 * boundary, array borders with nils, and the last of duplicate keys.
 * Plain lua_States: the fast decoder needs no vat.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "ldecode_int.h"

static bool
fits(const char *text)
{
    return lvat_lua_fast_fits(text, strlen(text));
}

static void
test_ldecode_fast_leaves_the_rest_to_the_parser(void **state)
{
    static const char *const refused[] = {
        "", " 1", "1 ", "[1, 2]", "01", "-", "-01", "1.5", "1e3", "1E3",
        "+1", "1234567890123456789", "\"abc", "\"a\\nb\"", "\"a\tb\"",
        "\"$0\"", "\"&1\"", "\"#undefined\"", "\"+5\"", "\"-5\"",
        "{\"#error\":\"x\"}", "{\"$0\":1}", "{\"a\":1,}", "[1,]", "[,]",
        "[1", "{\"a\":1", "{\"a\"1}", "{1:2}", "tru", "nul", "nulll",
        "truex", "[1]]", "[1][2]", "{\"a\":\"b\\u0041\"}", "\"\x01\"",
        "[\"ok\",\"bad\x1f\"]", "{\"a\":[1,2.0]}"};
    char deep[80];

    (void)state;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (fits(refused[i]))
            fail_msg("the fast decoder took \"%s\"", refused[i]);
    /* 32 levels are taken, 33 are not */
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = '\0';
    assert_true(fits(deep));
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    deep[66] = '\0';
    assert_false(fits(deep));
}

/* Decodes text, then runs `check` (a Lua expression of v) on the value. */
static void
expect(lua_State *L, const char *text, const char *check)
{
    char chunk[1024];

    if (!fits(text))
        fail_msg("the fast decoder refused \"%s\"", text);
    snprintf(chunk, sizeof chunk, "local v = ... return %s", check);
    assert_int_equal(luaL_loadstring(L, chunk), LUA_OK);
    lvat_lua_fast_decode(L, text, strlen(text));
    assert_int_equal(lua_gettop(L), 2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_toboolean(L, -1))
        fail_msg("\"%s\": %s is not true (%s)", text, check,
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "false");
    lua_settop(L, 0);
}

static void
test_ldecode_fast_builds_what_the_parser_builds(void **state)
{
    lua_State *L = luaL_newstate();

    (void)state;
    luaL_openlibs(L);
    expect(L, "5", "math.type(v) == 'integer' and v == 5");
    expect(L, "-0", "math.type(v) == 'integer' and v == 0");
    expect(L, "-123456789012345678", "v == -123456789012345678");
    expect(L, "true", "v == true");
    expect(L, "false", "v == false");
    expect(L, "null", "v == nil");
    expect(L, "\"\"", "v == ''");
    expect(L, "\"!$x\"", "v == '$x'");
    expect(L, "\"!\"", "v == ''");
    expect(L, "\"caf\xc3\xa9\"", "v == 'caf\\xc3\\xa9'");
    expect(L, "[]", "next(v) == nil");
    expect(L, "{}", "next(v) == nil");
    expect(L, "{\"i\":1,\"s\":\"value\"}",
           "v.i == 1 and v.s == 'value'");
    expect(L, "{\"!#k\":1,\"\":2}", "v['#k'] == 1 and v[''] == 2");
    expect(L, "{\"a\":1,\"a\":2}", "v.a == 2");
    expect(L, "{\"a\":null,\"b\":[1,null,3]}",
           "v.a == nil and v.b[3] == 3 and #v.b == 3");
    expect(L, "[[[1]],{\"x\":[true,false]}]",
           "v[1][1][1] == 1 and v[2].x[1] == true and v[2].x[2] == false");
    /* 15, 16 and 17 elements: either side of PENDING */
    expect(L, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]",
           "#v == 15 and v[15] == 15");
    expect(L, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]",
           "#v == 16 and v[16] == 16");
    expect(L, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]",
           "#v == 17 and v[17] == 17 and v[1] == 1");
    expect(L, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,"
              "\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,"
              "\"n\":14,\"o\":15,\"p\":16,\"q\":17,\"a\":18}",
           "v.a == 18 and v.p == 16 and v.q == 17");
    lua_close(L);
}

static int
methargs(lua_State *L, const char *text)
{
    return lvat_lua_fast_methargs(L, text, strlen(text));
}

/* Methargs: the method and the arguments on the stack, a table past
 * LVAT_STACK_ARGS (64); any other shape is left to the parser with the
 * stack as it was. */
static void
test_ldecode_fast_methargs(void **state)
{
    static const char *const shapes[] = {
        "[1,[2]]", "[\"m\",1]", "[\"m\",[1],2]", "[\"m\"]", "[]",
        "{\"a\":[1]}", "\"m\"", "[\"m\",{\"a\":1}]", "[[1],[2]]"};
    lua_State *L = luaL_newstate();
    char big[512];
    size_t o;

    (void)state;
    lua_pushinteger(L, 7); /* below what is decoded */
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        assert_true(fits(shapes[i]));
        if (methargs(L, shapes[i]) != -1)
            fail_msg("took \"%s\" as methargs", shapes[i]);
        assert_int_equal(lua_gettop(L), 1);
    }
    assert_int_equal(methargs(L, "[\"!m\",[]]"), 0);
    assert_string_equal(lua_tostring(L, -1), "m");
    lua_settop(L, 1);
    assert_int_equal(methargs(L, "[\"ping\",[5,\"a\",null,[true]]]"), 4);
    assert_int_equal(lua_gettop(L), 6);
    assert_string_equal(lua_tostring(L, 2), "ping");
    assert_int_equal(lua_tointeger(L, 3), 5);
    assert_string_equal(lua_tostring(L, 4), "a");
    assert_true(lua_isnil(L, 5));
    assert_int_equal(lua_rawgeti(L, 6, 1), LUA_TBOOLEAN);
    lua_settop(L, 1);
    /* 64 arguments stay on the stack; 65 and 66 are one table */
    for (int n = 64; n <= 66; n++) {
        o = (size_t)snprintf(big, sizeof big, "[\"m\",[");
        for (int i = 1; i <= n; i++)
            o += (size_t)snprintf(big + o, sizeof big - o, "%s%d",
                                  i > 1 ? "," : "", i);
        o += (size_t)snprintf(big + o, sizeof big - o, "]]");
        assert_true(fits(big));
        assert_int_equal(lvat_lua_fast_methargs(L, big, o), n);
        if (n == 64) {
            assert_int_equal(lua_gettop(L), 1 + 1 + 64);
            assert_int_equal(lua_tointeger(L, -1), 64);
        } else {
            assert_int_equal(lua_gettop(L), 3);
            assert_int_equal(luaL_len(L, -1), n);
            assert_int_equal(lua_rawgeti(L, -1, n), LUA_TNUMBER);
            assert_int_equal(lua_tointeger(L, -1), n);
        }
        lua_settop(L, 1);
    }
    assert_int_equal(lua_tointeger(L, 1), 7);
    lua_close(L);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ldecode_fast_leaves_the_rest_to_the_parser),
        cmocka_unit_test(test_ldecode_fast_builds_what_the_parser_builds),
        cmocka_unit_test(test_ldecode_fast_methargs),
    };
    return cmocka_run_group_tests_name("ldecode_fast", tests, NULL, NULL);
}
