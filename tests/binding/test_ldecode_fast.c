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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ldecode_fast_leaves_the_rest_to_the_parser),
        cmocka_unit_test(test_ldecode_fast_builds_what_the_parser_builds),
    };
    return cmocka_run_group_tests_name("ldecode_fast", tests, NULL, NULL);
}
