/*
 * Marshalling through real vats: every kind of Lua value goes out of a vat
 * as smallcaps and comes back, rendered by the kernel, and every
 * unpassable value is refused with its path.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "alloc.h"
#include "lbind.h"
#include "lua_kernel.h"

static const char *config =
    "{\"bootstrap\":\"rt\",\"vats\":{\"rt\":{\"sourceSpec\":"
    "\"../../binding/vats/roundtrip.lua\"},\"peer\":{\"sourceSpec\":"
    "\"../../binding/vats/roundtrip.lua\"}}}";

static int
setup(void **state)
{
    lk *t = lk_start(config);

    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    lk_stop(*state);
    return 0;
}

static void
expect(lk *t, const char *method, const char *args, int want_status,
       const char *want)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != want_status || strcmp(r, want) != 0)
        fail_msg("%s(%s): got status %d \"%s\", want %d \"%s\"", method, args,
                 st, r, want_status, want);
    free(r);
}

static void
expect_has(lk *t, const char *method, const char *args, int want_status,
           const char *needle)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != want_status || strstr(r, needle) == NULL)
        fail_msg("%s(%s): got status %d \"%s\", want %d containing \"%s\"",
                 method, args, st, r, want_status, needle);
    free(r);
}

static void
test_lcapdata_scalars(void **state)
{
    lk *t = *state;

    expect(t, "echo", "[\"text\"]", LVAT_OK, "text");
    expect(t, "echo", "[[1, -2, 3.5, true, false]]", LVAT_OK,
           "[1, -2, 3.5, true, false]");
    expect(t, "describe", "[7]", LVAT_OK, "integer");
    expect(t, "describe", "[7.5]", LVAT_OK, "float");
    expect(t, "describe", "[9007199254740993]", LVAT_OK, "integer");
    expect(t, "make", "[\"float\"]", LVAT_OK, "0.1");
    expect(t, "make", "[\"integral\"]", LVAT_OK, "3");
    expect(t, "make", "[\"negzero\"]", LVAT_OK, "-0");
    expect(t, "make", "[\"nan\"]", LVAT_OK, "NaN");
    expect(t, "make", "[\"inf\"]", LVAT_OK, "Infinity");
    expect(t, "make", "[\"ninf\"]", LVAT_OK, "-Infinity");
}

static void
test_lcapdata_bigints(void **state)
{
    lk *t = *state;

    expect(t, "make", "[\"bigint\"]", LVAT_OK, "9223372036854775807n");
    expect(t, "make", "[\"negbig\"]", LVAT_OK, "-9223372036854775808n");
    /* 2^53 + 1 leaves as a bigint and comes back an integer. */
    expect(t, "echo", "[9007199254740993]", LVAT_OK, "9007199254740993n");
    /* A host's bigint with many leading zeros fits all the same. */
    expect(t, "describe",
           "[{\"@bigint\":\"-0000000000000000000000000000000000000042\"}]",
           LVAT_OK, "integer");
}

static void
test_lcapdata_strings(void **state)
{
    lk *t = *state;

    expect(t, "make", "[\"special\"]", LVAT_OK,
           "[\"!x\", \"#y\", \"$z\", \"-\", \"plain\"]");
    expect(t, "echo", "[\"!bang\"]", LVAT_OK, "!bang");
    expect(t, "binaryok", "[\"a\\u0000b\\u00ff\\u00fec\"]", LVAT_OK,
           "false"); /* JSON \u00ff is U+00FF (two UTF-8 bytes), not 0xff */
}

static void
test_lcapdata_tables(void **state)
{
    lk *t = *state;

    expect(t, "make", "[\"nested\"]", LVAT_OK,
           "{\"a\": {\"b\": {\"c\": [1, 2]}}, \"z\": 1}");
    expect(t, "make", "[\"empty\"]", LVAT_OK, "[]");
    expect(t, "describe", "[{\"b\":1,\"a\":2}]", LVAT_OK, "table{a,b}");
    expect(t, "count", "[1, null, 3]", LVAT_OK, "3");
    expect(t, "count", "[]", LVAT_OK, "0");
}

/* Tables past the 16 elements or fields the decoder sizes at once. */
static void
test_lcapdata_big_tables(void **state)
{
    lk *t = *state;
    char args[512], keys[256], echoed[512];
    size_t a = 0, k = 0, e = 0;

    a += (size_t)snprintf(args + a, sizeof args - a, "[{");
    for (int i = 1; i <= 20; i++) {
        a += (size_t)snprintf(args + a, sizeof args - a, "%s\"k%02d\":%d",
                              i > 1 ? "," : "", i, i);
        k += (size_t)snprintf(keys + k, sizeof keys - k, "%sk%02d",
                              i > 1 ? "," : "table{", i);
    }
    snprintf(args + a, sizeof args - a, "}]");
    snprintf(keys + k, sizeof keys - k, "}");
    expect(t, "describe", args, LVAT_OK, keys);
    a = 0;
    a += (size_t)snprintf(args + a, sizeof args - a, "[[");
    e += (size_t)snprintf(echoed + e, sizeof echoed - e, "[");
    for (int i = 1; i <= 40; i++) {
        a += (size_t)snprintf(args + a, sizeof args - a, "%s%d",
                              i > 1 ? "," : "", i);
        e += (size_t)snprintf(echoed + e, sizeof echoed - e, "%s%d",
                              i > 1 ? ", " : "", i);
    }
    snprintf(args + a, sizeof args - a, "]]");
    snprintf(echoed + e, sizeof echoed - e, "]");
    expect(t, "echo", args, LVAT_OK, echoed);
    /* Forty arguments: the arguments array itself is big. */
    args[strlen(args) - 1] = '\0';
    expect(t, "count", args + 1, LVAT_OK, "40");
}

static void
test_lcapdata_between_vats(void **state)
{
    lk *t = *state;

    expect(t, "binaryViaPeer", "[]", LVAT_OK, "true");
    expect(t, "viaPeer", "[\"bigint\"]", LVAT_OK, "true");
    expect(t, "viaPeer", "[\"negbig\"]", LVAT_OK, "true");
    expect(t, "viaPeer", "[\"float\"]", LVAT_OK, "true");
    expect(t, "viaPeer", "[\"inf\"]", LVAT_OK, "true");
    /* Integral floats stay floats (and -0.0 keeps its sign): math.type,
     * tostring and division by zero tell 3.0 from 3. */
    expect(t, "numbersViaPeer", "[]", LVAT_OK, "");
    /* Our own object comes back as itself, not as a presence. */
    expect(t, "presenceIdentity", "[]", LVAT_OK, "true");
}

static void
test_lcapdata_remotables(void **state)
{
    lk *t = *state;

    expect(t, "make", "[\"self\"]", LVAT_OK, "<ko1 RoundTrip>");
    expect(t, "make", "[\"selftwice\"]", LVAT_OK,
           "[<ko1 RoundTrip>, <ko1 RoundTrip>]");
}

static void
test_lcapdata_unpassable_paths(void **state)
{
    lk *t = *state;

    expect_has(t, "make", "[\"fn\"]", LVAT_EREJECTED,
               "result.a[2].x: functions are not passable");
    expect_has(t, "make", "[\"cycle\"]", LVAT_EREJECTED,
               "result.me: cyclic tables are not passable");
    expect_has(t, "make", "[\"mixed\"]", LVAT_EREJECTED,
               "result: tables mixing string keys");
    expect_has(t, "make", "[\"sparse\"]", LVAT_EREJECTED,
               "result: only sequences 1..n");
    expect_has(t, "make", "[\"meta\"]", LVAT_EREJECTED,
               "result: tables with metatables are not passable");
    expect_has(t, "make", "[\"thread\"]", LVAT_EREJECTED,
               "result: coroutines are not passable");
    expect_has(t, "make", "[\"deep\"]", LVAT_EREJECTED,
               "nested more than 64 tables deep");
    /* The vat is still fine afterwards. */
    expect(t, "echo", "[\"still here\"]", LVAT_OK, "still here");
}

/* ---- The encoder on a bare state ---- */

/* encode(v): the body lvat_lua_encode makes of v.  [-1, +1, m] */
static int
l_encode(lua_State *L)
{
    lvat_lua_encode(L, 1, LVAT_ENC_PASS, "result");
    lua_pushlstring(L, lvat_lua_vat(L)->enc.data, lvat_lua_vat(L)->enc.len);
    return 1;
}

/* A plain lua_State with a bare lvat_lvat and one Far object, o+1 with
 * interface iface, at index 1 (only what the encoder reads). */
static lua_State *
far_state(lvat_lvat *v, const char *iface)
{
    lua_State *L = luaL_newstate();

    *(lvat_lvat **)lua_getextraspace(L) = v;
    lua_newtable(L); /* the Far object */
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_pushstring(L, iface);
    lua_rawset(L, -3);
    lvat_lua_set_reg(L, LVAT_REG_REMOTABLES);
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, (lua_Integer)lvat_vref_make(false, true, 1).v);
    lua_rawset(L, -3);
    lvat_lua_set_reg(L, LVAT_REG_VAL2SLOT);
    return L;
}

/* An interface name that needs escapes, with each allocation the
 * encoder makes failing in turn: either the whole body or a memory
 * error, never a crash or a cut body. */
static void
test_lcapdata_iface_out_of_memory(void **state)
{
    static const char want[] = "#\"$0.Odd\\\"Name\\n\"";
    lvat_lvat *v = calloc(1, sizeof *v);
    lua_State *L;

    (void)state;
    assert_non_null(v);
    L = far_state(v, "Odd\"Name\n");
    for (unsigned long n = 1;; n++) {
        unsigned long seen;
        int rc;

        /* Each try starts cold, so that the buffers allocate. */
        lvat_buf_free(&v->enc);
        lvat_free(v->encslots);
        v->encslots = NULL;
        v->capencslots = 0;
        lua_pushcfunction(L, l_encode);
        lua_pushvalue(L, 1);
        lvat_alloc_fail_after(n, 0);
        rc = lua_pcall(L, 1, 1, 0);
        seen = lvat_alloc_fail_after(0, 0);
        if (rc == LUA_OK)
            assert_string_equal(lua_tostring(L, -1), want);
        else
            assert_string_equal(lua_tostring(L, -1), "not enough memory");
        lua_pop(L, 1);
        if (rc == LUA_OK && seen < n)
            break; /* it needed fewer than n allocations */
    }
    lua_close(L);
    lvat_buf_free(&v->enc);
    lvat_free(v->encslots);
    free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lcapdata_scalars),
        cmocka_unit_test(test_lcapdata_bigints),
        cmocka_unit_test(test_lcapdata_strings),
        cmocka_unit_test(test_lcapdata_tables),
        cmocka_unit_test(test_lcapdata_big_tables),
        cmocka_unit_test(test_lcapdata_between_vats),
        cmocka_unit_test(test_lcapdata_remotables),
        cmocka_unit_test(test_lcapdata_unpassable_paths),
        cmocka_unit_test(test_lcapdata_iface_out_of_memory),
    };
    return cmocka_run_group_tests_name("lcapdata", tests, setup, teardown);
}
