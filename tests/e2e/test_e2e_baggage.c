/*
 * Baggage (design §7, issue 3): the durable map's API, its copy rules and
 * refusals, presences and the root stored and restored across restarts,
 * iteration that holds no cursor, and a small LMDB map that must grow
 * under a baggage-heavy workload without losing a crank.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

static const char *cfg =
    "{\"bootstrap\":\"bag\",\"vats\":{\"bag\":{\"sourceSpec\":\"bag.lua\"},"
    "\"peer\":{\"sourceSpec\":\"echo.lua\"}}}";

static void
expect(lk *t, const char *method, const char *args, int want_status,
       const char *want)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != want_status || strstr(r, want) == NULL)
        fail_msg("%s(%s): got %d \"%s\", want %d with \"%s\"", method,
                 args ? args : "", st, r, want_status, want);
    free(r);
}

static int
setup(void **state)
{
    lk *t = lk_start(cfg);

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
test_baggage_basic_api(void **state)
{
    lk *t = *state;

    expect(t, "get", "[\"missing\"]", LVAT_OK, "null");
    expect(t, "has", "[\"a\"]", LVAT_OK, "false");
    expect(t, "set", "[\"a\", {\"x\": [1, 2]}]", LVAT_OK, "true");
    expect(t, "get", "[\"a\"]", LVAT_OK, "{\"x\": [1, 2]}");
    expect(t, "has", "[\"a\"]", LVAT_OK, "true");
    expect(t, "init", "[\"a\", 1]", LVAT_OK, "already exists");
    expect(t, "init", "[\"b\", 2]", LVAT_OK, "ok");
    expect(t, "delete", "[\"a\"]", LVAT_OK, "true");
    expect(t, "delete", "[\"a\"]", LVAT_OK, "false");
    expect(t, "get", "[\"a\"]", LVAT_OK, "null");
}

static void
test_baggage_keys_in_byte_order(void **state)
{
    lk *t = *state;

    expect(t, "set", "[\"user.zed\", 1]", LVAT_OK, "true");
    expect(t, "set", "[\"user.amy\", 2]", LVAT_OK, "true");
    expect(t, "set", "[\"user.Bob\", 3]", LVAT_OK, "true");
    expect(t, "set", "[\"other\", 4]", LVAT_OK, "true");
    expect(t, "keys", "[\"user.\"]", LVAT_OK,
           "[\"user.Bob\", \"user.amy\", \"user.zed\"]");
    lk_restart(t); /* the same after a restart, from the store */
    expect(t, "keys", "[\"user.\"]", LVAT_OK,
           "[\"user.Bob\", \"user.amy\", \"user.zed\"]");
    expect(t, "drain", "[\"user.\"]", LVAT_OK, "3");
    expect(t, "keys", "[\"user.\"]", LVAT_OK, "[]");
    expect(t, "get", "[\"other\"]", LVAT_OK, "4");
}

static void
test_baggage_copies(void **state)
{
    lk *t = *state;

    /* set copies at call time, each get is a fresh copy */
    expect(t, "copyIsolated", "[]", LVAT_OK, "[1, 2, false]");
    expect(t, "floatBack", "[]", LVAT_OK, "[\"float\", \"float\"]");
}

static void
test_baggage_refusals(void **state)
{
    lk *t = *state;

    /* Each names the vat's line that called set. */
    expect(t, "refuse", "[\"promise\"]", LVAT_OK,
           "bag.lua:86: baggage:set(\"x\")");
    expect(t, "refuse", "[\"promise\"]", LVAT_OK,
           "promises cannot be stored durably");
    expect(t, "refuse", "[\"far\"]", LVAT_OK,
           "own objects are ephemeral");
    expect(t, "refuse", "[\"fn\"]", LVAT_OK,
           "bag.lua:86: baggage:set(\"x\").deep[1]: functions are not "
           "passable");
    expect(t, "refuse", "[\"cycle\"]", LVAT_OK, "cyclic tables");
    expect(t, "refuse", "[\"meta\"]", LVAT_OK, "tables with metatables");
    expect(t, "refuse", "[\"longkey\"]", LVAT_OK, "keys must have 1 to");
    expect(t, "refuse", "[\"badkey\"]", LVAT_OK, "the key must be a string");
    expect(t, "refuse", "[\"getbadkey\"]", LVAT_OK,
           "bag.lua:64: baggage:get(key): the key must be a string, not table");
    expect(t, "refuse", "[\"getemptykey\"]", LVAT_OK,
           "bag.lua:66: baggage:get(key): keys must have 1 to 400 bytes");
    expect(t, "refuse", "[\"getnokey\"]", LVAT_OK,
           "bag.lua:68: baggage:get(key): the key must be a string, not nil");
    expect(t, "refuse", "[\"getnumberkey\"]", LVAT_OK,
           "bag.lua:70: baggage:get(key): the key must be a string, not "
           "number");
    expect(t, "refuse", "[\"getlongkey\"]", LVAT_OK,
           "bag.lua:73: baggage:get(key): keys must have 1 to 400 bytes");
    expect(t, "refuse", "[\"getlongestkey\"]", LVAT_OK, "nil");
    expect(t, "refuse", "[\"gettailcall\"]", LVAT_OK,
           "<error: bag.lua:78: baggage:get(key): the key must be a string, "
           "not boolean");
    expect(t, "refuse", "[\"getfrompcall\"]", LVAT_OK,
           "false baggage:get(key): the key must be a string, not table");
    expect(t, "refuse", "[\"getdotcall\"]", LVAT_OK,
           "bag.lua:84: baggage:get(key): the key must be a string, not nil");
    /* nothing was written by the refused calls */
    expect(t, "has", "[\"x\"]", LVAT_OK, "false");
}

static void
test_baggage_values_round_trip(void **state)
{
    lk *t = *state;

    expect(t, "roundTrip", "[]", LVAT_OK,
           "[0, 3, \"\", \"!x\", \"$0\", \"float-0.0\", \"float2.5\", "
           "\"integer-123456789012345678\", \"integer1234567890123456789\", "
           "\"a\\nb\\u0001\", 0, 17, 0, 1, 27, \"truefalse0\", "
           "\"deep\"]");
}

static void
test_baggage_presences_and_root_survive_restart(void **state)
{
    lk *t = *state;

    expect(t, "storeRoot", "[]", LVAT_OK, "true");
    expect(t, "samePeer", "[]", LVAT_OK, "true");
    expect(t, "askPeer", "[]", LVAT_OK, "hello bag");
    lk_restart(t);
    expect(t, "storeRoot", "[]", LVAT_OK, "true");
    expect(t, "askPeer", "[]", LVAT_OK, "hello bag");
}

static void
test_baggage_tiny_map_grows(void **state)
{
    lk *t = *state;
    char args[128];

    t->map_size = 64 * 1024; /* far too small: it must grow, never fail */
    lk_restart(t);
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof key, "blob%02d", i);
        snprintf(args, sizeof args, "[\"%s\", \"%0*d\"]", key, 40, i);
        expect(t, "set", args, LVAT_OK, "true");
    }
    /* a big value in one crank */
    {
        size_t n = 200000;
        char *big = malloc(n + 64);
        memcpy(big, "[\"big\", \"", 9);
        memset(big + 9, 'z', n);
        memcpy(big + 9 + n, "\"]", 3);
        expect(t, "set", big, LVAT_OK, "true");
        free(big);
    }
    lk_restart(t);
    expect(t, "get", "[\"blob39\"]", LVAT_OK, "39");
    expect(t, "has", "[\"big\"]", LVAT_OK, "true");
}

/* An import only baggage held is dropped at the next reap once baggage
 * lets go of it (replaced by set, or deleted), though its presence was
 * collected long before: the exporter can then forget the object too. */
static void
test_baggage_released_import_is_dropped(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1; /* a reap after every delivery */
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, LK_GCHOLDER_CLUSTER));
    expect(&t, "keep", "[]", LVAT_OK, "kept");
    expect(&t, "keep", "[]", LVAT_OK, "kept"); /* replaces the first */
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    /* The maker's root and the second made object. */
    assert_int_equal(lk_count(&t, "v1.c.o-"), 2);
    assert_int_equal(lk_count(&t, "v2.c.o+"), 2);
    expect(&t, "unkeep", "[]", LVAT_OK, "unkept");
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    assert_int_equal(lk_count(&t, "v1.c.o-"), 1);
    assert_int_equal(lk_count(&t, "v2.c.o+"), 1);
    lk_close(&t);
}

/* has, init and delete only look at whether a key is there (and, to
 * delete, at the slots its value names): a value near the memory cap is
 * not read into the heap, so a vat holding its own copy is not stopped
 * for memory by asking about it. */
static void
test_baggage_large_value_not_read_to_test_or_delete(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"edge\",\"vats\":{"
                   "\"edge\":{\"sourceSpec\":\"bagedge.lua\","
                   "\"creationOptions\":{\"memoryLimit\":8000000}}}}"));
    /* Each stores it again: a fault would have restarted the vat. */
    expect(&t, "storeBig", "[]", LVAT_OK, "1500");
    expect(&t, "has", "[\"big\"]", LVAT_OK, "true");
    expect(&t, "storeBig", "[]", LVAT_OK, "1500");
    expect(&t, "init", "[\"big\", 1]", LVAT_OK, "already exists");
    expect(&t, "storeBig", "[]", LVAT_OK, "1500");
    expect(&t, "delete", "[\"big\"]", LVAT_OK, "true");
    expect(&t, "has", "[\"big\"]", LVAT_OK, "false");
    lk_close(&t);
}

/* keys(prefix) with a prefix longer than any key (400 bytes) yields
 * nothing, as a shorter prefix that no key has does. */
static void
test_baggage_keys_with_overlong_prefix(void **state)
{
    lk t;
    char args[512];

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"edge\",\"vats\":{"
                   "\"edge\":{\"sourceSpec\":\"bagedge.lua\"}}}"));
    snprintf(args, sizeof args, "[\"%0400d\", 1]", 0);
    expect(&t, "set", args, LVAT_OK, "true");
    lk_expect(&t, "countRep", "[\"0\", 400]", "1");
    lk_expect(&t, "countRep", "[\"0\", 401]", "0");
    lk_expect(&t, "countRep", "[\"0\", 100000]", "0");
    lk_close(&t);
}

/* The same across restarts: what baggage holds survives them, and lets
 * go of it in a later incarnation still drops it. */
static void
test_baggage_released_import_dropped_after_restart(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, LK_GCHOLDER_CLUSTER));
    expect(&t, "keep", "[]", LVAT_OK, "kept");
    lk_restart(&t);
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    /* The made object is orphaned (its maker restarted too), but the
     * holder's baggage still names it. */
    assert_int_equal(lk_count(&t, "v1.c.o-"), 2);
    lk_restart(&t);
    expect(&t, "unkeep", "[]", LVAT_OK, "unkept");
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    expect(&t, "poke", "[]", LVAT_OK, "awake");
    assert_int_equal(lk_count(&t, "v1.c.o-"), 1);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baggage_basic_api, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baggage_keys_in_byte_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baggage_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_baggage_values_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baggage_refusals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_baggage_presences_and_root_survive_restart, setup, teardown),
        cmocka_unit_test(test_baggage_released_import_is_dropped),
        cmocka_unit_test_setup_teardown(test_baggage_tiny_map_grows, setup,
                                        teardown),
        cmocka_unit_test(test_baggage_large_value_not_read_to_test_or_delete),
        cmocka_unit_test(test_baggage_keys_with_overlong_prefix),
        cmocka_unit_test(test_baggage_released_import_dropped_after_restart),
    };
    return cmocka_run_group_tests_name("e2e_baggage", tests, NULL, NULL);
}
