/*
 * The fast decoder (bindings/ldecode_fast.c): which bodies it takes (only
 * plain ones; every malformed or special text is left to the pull
 * parser, which words the errors), and that what it builds is what the
 * pull parser's decoding builds: the values, table sizes at the PENDING
 * boundary, array borders with nils, and the last of duplicate keys.
 * Plain lua_States (the pull parser gets a bare lvat_lvat): the fast
 * decoder needs no vat.  A random comparison of the two decoders (each
 * body decoded as is, and with a space after its '#', which only the
 * parser takes) checks them against each other on many more bodies.
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
#include "ldecode_int.h"

/* Whether the fast decoder takes text; when it does not, the stack is as
 * it was, whatever it had built before giving up. */
static bool
fits(lua_State *L, const char *text)
{
    int top = lua_gettop(L);
    bool took = lvat_lua_fast_decode(L, text, strlen(text));

    assert_int_equal(lua_gettop(L), top + took);
    lua_settop(L, top);
    return took;
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
        "[\"ok\",\"bad\x1f\"]", "{\"a\":[1,2.0]}",
        /* cut short anywhere, or special only after much was built */
        "[", "{", "\"", "t", "[1,", "[1,2", "{\"a\"", "{\"a\":",
        "{\"a\":1,", "{\"a\":1,\"b\"", "[\"a\",", "[[],{}",
        "[[1,2],{\"a\":[3,\"$0\"]}]",
        "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,\"$1\"]",
        "{\"a\":{\"b\":{\"c\":[1,{\"d\":1.5}]}}}"};
    lua_State *L = luaL_newstate();
    char deep[80];

    (void)state;
    lua_pushinteger(L, 7); /* below what is decoded */
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (fits(L, refused[i]))
            fail_msg("the fast decoder took \"%s\"", refused[i]);
    /* 32 levels are taken, 33 are not */
    memset(deep, '[', 32);
    memset(deep + 32, ']', 32);
    deep[64] = '\0';
    assert_true(fits(L, deep));
    memset(deep, '[', 33);
    memset(deep + 33, ']', 33);
    deep[66] = '\0';
    assert_false(fits(L, deep));
    assert_int_equal(lua_gettop(L), 1);
    assert_int_equal(lua_tointeger(L, 1), 7);
    lua_close(L);
}

/* Decodes text, then runs `check` (a Lua expression of v) on the value. */
static void
expect(lua_State *L, const char *text, const char *check)
{
    char chunk[1024];

    snprintf(chunk, sizeof chunk, "local v = ... return %s", check);
    assert_int_equal(luaL_loadstring(L, chunk), LUA_OK);
    if (!lvat_lua_fast_decode(L, text, strlen(text)))
        fail_msg("the fast decoder refused \"%s\"", text);
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

/* lvat_lua_decode_immediate, for notify: integers, booleans and null
 * only (nothing that allocates), the same values; any other body, even
 * one the fast decoder takes, is refused with the stack as it was. */
static void
test_ldecode_immediate(void **state)
{
    static const char *const taken[] = {"#5", "#-0", "#true", "#false",
                                        "#null", "#-123456789012345678"};
    static const char *const refused[] = {
        "", "#", "5", "# 5", "#\"a\"", "#1.5", "#1e3", "#01", "#-",
        "#[1]", "#{}", "#truex", "#nul", "#1234567890123456789", "#5 "};
    lua_State *L = luaL_newstate();

    (void)state;
    luaL_openlibs(L);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(taken); i++) {
        assert_true(lvat_lua_decode_immediate(L, taken[i], strlen(taken[i])));
        assert_true(lvat_lua_fast_decode(L, taken[i] + 1,
                                         strlen(taken[i]) - 1));
        assert_true(lua_rawequal(L, -1, -2));
        assert_int_equal(lua_isinteger(L, -1), lua_isinteger(L, -2));
        lua_settop(L, 0);
    }
    for (size_t i = 0; i < LVAT_ARRAY_LEN(refused); i++) {
        if (lvat_lua_decode_immediate(L, refused[i], strlen(refused[i])))
            fail_msg("took \"%s\"", refused[i]);
        assert_int_equal(lua_gettop(L), 0);
    }
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
        assert_true(fits(L, shapes[i]));
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
        assert_true(fits(L, big));
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
    /* Given up on late (past the 64 that stay on the stack, too): the
     * stack is as it was. */
    assert_int_equal(methargs(L, "[\"m\",[1,2,\"$0\"]]"), -1);
    assert_int_equal(methargs(L, "[\"m\",[1]"), -1);
    assert_int_equal(methargs(L, "[\"m\",[1],"), -1);
    assert_int_equal(methargs(L, "[\"m\","), -1);
    assert_int_equal(lua_gettop(L), 1);
    o = (size_t)snprintf(big, sizeof big, "[\"m\",[");
    for (int i = 1; i <= 66; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%d,", i);
    o += (size_t)snprintf(big + o, sizeof big - o, "1.5]]");
    assert_int_equal(lvat_lua_fast_methargs(L, big, o), -1);
    assert_int_equal(lua_gettop(L), 1);
    assert_int_equal(lua_tointeger(L, 1), 7);
    lua_close(L);
}

/* ---- The two decoders compared on random bodies ---- */

typedef struct gen {
    char b[4096];
    size_t n;
    uint32_t seed;
} gen;

static uint32_t
rnd(gen *g, uint32_t below)
{
    g->seed = g->seed * 1103515245u + 12345u;
    return (g->seed >> 8) % below;
}

static void
put(gen *g, const char *s)
{
    size_t len = strlen(s);

    if (g->n + len < sizeof g->b)
        memcpy(g->b + g->n, s, len), g->n += len;
}

static void gen_value(gen *g, int depth);

static void
gen_string(gen *g)
{
    static const char *const bits[] = {"a", "b", "!", "$", "&", "#", "+",
                                       "-", "\\", "\\n", "\x01", " ",
                                       "\xc3\xa9", "0", "%"};

    put(g, "\"");
    for (uint32_t i = rnd(g, 6); i > 0; i--)
        put(g, bits[rnd(g, sizeof bits / sizeof bits[0])]);
    put(g, "\"");
}

static void
gen_number(gen *g)
{
    static const char *const odd[] = {"1.5", "1e3", "-0", "01", "-", "+1",
                                      "0.0", "-12"};
    char d[32];
    uint32_t n = 1 + rnd(g, 20);

    if (rnd(g, 6) == 0) {
        put(g, odd[rnd(g, sizeof odd / sizeof odd[0])]);
        return;
    }
    if (rnd(g, 3) == 0)
        put(g, "-");
    d[0] = (char)('1' + rnd(g, 9));
    for (uint32_t i = 1; i < n; i++)
        d[i] = (char)('0' + rnd(g, 10));
    d[n] = '\0';
    put(g, d);
}

static void
gen_items(gen *g, int depth, bool keyed)
{
    static const char *const keys[] = {"\"a\"", "\"b\"", "\"!x\"", "\"\"",
                                       "\"$0\"", "\"#k\"", "\"a\""};
    uint32_t n = rnd(g, 8) == 0 ? 15 + rnd(g, 4) : rnd(g, 5);

    put(g, keyed ? "{" : "[");
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            put(g, ",");
        if (keyed) {
            put(g, keys[rnd(g, sizeof keys / sizeof keys[0])]);
            put(g, ":");
        }
        gen_value(g, depth + 1);
    }
    put(g, keyed ? "}" : "]");
}

static void
gen_value(gen *g, int depth)
{
    static const char *const words[] = {"true", "false", "null", "tru",
                                        "nul", "nulll"};
    uint32_t r = rnd(g, depth > 3 ? 6 : 10);

    if (rnd(g, 40) == 0)
        put(g, " ");
    if (depth < 36 && rnd(g, 30) == 0) { /* a deep chain */
        put(g, "[");
        gen_value(g, depth + 1);
        put(g, "]");
    } else if (r < 2) {
        gen_string(g);
    } else if (r < 4) {
        gen_number(g);
    } else if (r < 6) {
        put(g, words[rnd(g, 10) == 0 ? 3 + rnd(g, 3) : rnd(g, 3)]);
    } else {
        gen_items(g, depth, r >= 8);
    }
}

/* decode(body) -> the value, with the pull parser's errors raised. */
static int
l_decode(lua_State *L)
{
    size_t len;
    const char *body = luaL_checklstring(L, 1, &len);

    lvat_lua_decode(L, body, len, NULL, 0);
    return 1;
}

/* immediate(body) -> whether lvat_lua_decode_immediate took it, value */
static int
l_immediate(lua_State *L)
{
    size_t len;
    const char *body = luaL_checklstring(L, 1, &len);

    lua_settop(L, 1);
    if (!lvat_lua_decode_immediate(L, body, len)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -2);
    return 2;
}

static const char *const compare_lua =
    "local decode, immediate = ...\n"
    "local function eq(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then return math.type(a) == math.type(b)\n"
    "    and (a == b or (a ~= a and b ~= b)) end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  if #a ~= #b then return false end\n"
    "  for k, v in pairs(a) do if not eq(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "return function(text)\n"
    "  local ok1, v1 = pcall(decode, '#' .. text)\n"
    "  local ok2, v2 = pcall(decode, '# ' .. text)\n"
    "  if ok1 ~= ok2 or (ok1 and not eq(v1, v2)) then\n"
    "    return tostring(v1) .. ' / ' .. tostring(v2)\n"
    "  end\n"
    "  local took, v3 = immediate('#' .. text)\n"
    "  if took and not (ok2 and eq(v3, v2)) then\n"
    "    return 'immediate ' .. tostring(v3) .. ' / ' .. tostring(v2)\n"
    "  end\n"
    "  return ok1 and 'value' or 'error'\n"
    "end\n";

static void
test_ldecode_fast_agrees_with_the_parser(void **state)
{
    lua_State *L = luaL_newstate();
    lvat_lvat *v = calloc(1, sizeof *v);
    int counts[2] = {0, 0};
    gen g = {.seed = 20261126};

    (void)state;
    assert_non_null(v);
    *(lvat_lvat **)lua_getextraspace(L) = v;
    luaL_openlibs(L);
    assert_int_equal(luaL_loadstring(L, compare_lua), LUA_OK);
    lua_pushcfunction(L, l_decode);
    lua_pushcfunction(L, l_immediate);
    assert_int_equal(lua_pcall(L, 2, 1, 0), LUA_OK);
    for (int i = 0; i < 20000; i++) {
        g.n = 0;
        gen_value(&g, 0);
        if (rnd(&g, 8) == 0) /* cut short */
            g.n = rnd(&g, (uint32_t)g.n + 1);
        else if (rnd(&g, 8) == 0 && g.n > 0) /* a byte changed */
            g.b[rnd(&g, (uint32_t)g.n)] = "]}\",:x9"[rnd(&g, 7)];
        lua_pushvalue(L, 1);
        lua_pushlstring(L, g.b, g.n);
        assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
        if (strcmp(lua_tostring(L, -1), "value") == 0)
            counts[0]++;
        else if (strcmp(lua_tostring(L, -1), "error") == 0)
            counts[1]++;
        else
            fail_msg("\"%.*s\": the decoders disagree: %s", (int)g.n, g.b,
                     lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    /* both kinds were met, many times */
    assert_true(counts[0] > 5000 && counts[1] > 2000);
    lua_close(L);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(v->dec) && v->dec[i]; i++) {
        lvat_buf_free(&v->dec[i]->scratch);
        lvat_free(v->dec[i]);
    }
    free(v);
}

/* Bigints the fast decoder leaves to the pull parser: a sign and digits
 * only ("+" alone, "+-5" and "+ 5" were read as 0, -5 and 5). */
static void
test_ldecode_fast_parser_refuses_malformed_bigints(void **state)
{
    static const char *const bad[] = {"#\"+\"", "#\"-\"", "#\"+-5\"",
                                      "#\"+ 5\"", "#\"- 5\"", "#\"+5x\"",
                                      "#\"++5\""};
    lua_State *L = luaL_newstate();
    lvat_lvat *v = calloc(1, sizeof *v);

    (void)state;
    assert_non_null(v);
    *(lvat_lvat **)lua_getextraspace(L) = v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lua_pushcfunction(L, l_decode);
        lua_pushstring(L, bad[i]);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK)
            fail_msg("%s decoded as %s", bad[i], luaL_tolstring(L, -1, NULL));
        assert_non_null(strstr(lua_tostring(L, -1), "bad bigint"));
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, l_decode);
    lua_pushstring(L, "#\"-9223372036854775808\"");
    assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
    assert_true(lua_tointeger(L, -1) == LUA_MININTEGER);
    lua_close(L);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(v->dec) && v->dec[i]; i++) {
        lvat_buf_free(&v->dec[i]->scratch);
        lvat_free(v->dec[i]);
    }
    free(v);
}

/* decode(body) with one slot, o+5: an object of the vat's own that it
 * does not have. */
static int
l_decode_missing_export(lua_State *L)
{
    lvat_vref slot = lvat_vref_make(false, true, 5);
    size_t len;
    const char *body = luaL_checklstring(L, 1, &len);

    lvat_lua_decode(L, body, len, &slot, 1);
    return 1;
}

/* Decodes whose errors the parser did not raise give their parser back
 * too: a vat that caught eight of them had every later decode of the
 * delivery fail as "nested too deeply". */
static void
test_ldecode_parser_comes_back_after_any_error(void **state)
{
    lua_State *L = luaL_newstate();
    lvat_lvat *v = calloc(1, sizeof *v);

    (void)state;
    assert_non_null(v);
    *(lvat_lvat **)lua_getextraspace(L) = v;
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_SLOT2VAL);
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_AWAITED);
    for (size_t i = 0; i < 3 * LVAT_ARRAY_LEN(v->dec); i++) {
        lua_pushcfunction(L, l_decode_missing_export);
        lua_pushstring(L, "#[\"$0\"]");
        assert_int_not_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
        assert_non_null(strstr(lua_tostring(L, -1), "has no object o+5"));
        lua_pop(L, 1);
        assert_int_equal(v->ndec, 0);
    }
    lua_pushcfunction(L, l_decode);
    lua_pushstring(L, "# [1]"); /* the parser's path */
    assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
    lua_rawgeti(L, -1, 1);
    assert_int_equal(lua_tointeger(L, -1), 1);
    assert_int_equal(lua_gettop(L), 2);
    assert_int_equal(v->ndec, 0);
    lua_close(L);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(v->dec) && v->dec[i]; i++) {
        lvat_buf_free(&v->dec[i]->scratch);
        lvat_free(v->dec[i]);
    }
    free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ldecode_fast_leaves_the_rest_to_the_parser),
        cmocka_unit_test(test_ldecode_fast_builds_what_the_parser_builds),
        cmocka_unit_test(test_ldecode_immediate),
        cmocka_unit_test(test_ldecode_fast_methargs),
        cmocka_unit_test(test_ldecode_fast_agrees_with_the_parser),
        cmocka_unit_test(test_ldecode_fast_parser_refuses_malformed_bigints),
        cmocka_unit_test(test_ldecode_parser_comes_back_after_any_error),
    };
    return cmocka_run_group_tests_name("ldecode_fast", tests, NULL, NULL);
}
