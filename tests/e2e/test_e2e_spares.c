/*
 * Spare vat states (lvat_lua_options.spare_states) under a real kernel:
 * vats launched, talking, keeping baggage and resuscitated after a
 * restart, most of them made from states another thread built, behave as
 * vats always do.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lspare.h"
#include "lua_kernel.h"

static const char *cfg =
    "{\"bootstrap\":\"bag\",\"vats\":{\"bag\":{\"sourceSpec\":\"bag.lua\"},"
    "\"peer\":{\"sourceSpec\":\"echo.lua\"}}}";

static void
expect(lk *t, const char *root, const char *method, const char *args,
       const char *want)
{
    int st;
    char *r = lk_call(t, root, method, args, &st);

    if (st != LVAT_OK || strcmp(r, want) != 0)
        fail_msg("%s.%s(%s): got %d %s, want %s", root, method, args, st, r,
                 want);
    free(r);
}

static void
test_spares_vats_launch_talk_and_come_back(void **state)
{
    enum { CLUSTERS = 12 };
    char roots[CLUSTERS][32], key[32], val[32];
    lvat_spares_stats st;
    lk t;

    (void)state;
    lk_open_spares(&t, 4);
    for (int i = 0; i < CLUSTERS; i++) {
        assert_lvat_ok(lk_launch(&t, cfg));
        snprintf(roots[i], sizeof roots[i], "%s", t.root);
        snprintf(key, sizeof key, "[\"k\", %d]", i);
        expect(&t, roots[i], "set", key, "true");
    }
    lk_restart(&t);
    for (int i = 0; i < CLUSTERS; i++) {
        snprintf(val, sizeof val, "%d", i);
        expect(&t, roots[i], "get", "[\"k\"]", val);
    }
    lvat_spares_get_stats(lvat_lua_runtime_spares(t.rt), &st);
    /* Two vats per launch, then the bags the calls woke after the restart
     * (a vat loads when first needed): however the threads ran, spares
     * served some of them. */
    assert_int_equal(st.taken + st.missed, 3 * CLUSTERS);
    assert_true(st.taken > 0);
    lk_close(&t);
}

/* Waits (up to 10 s) for the builder to have n spares ready. */
static void
wait_for_spares(lk *t, size_t n)
{
    struct timespec nap = {0, 1000000};
    lvat_spares_stats st;

    for (int i = 0; i < 10000; i++) {
        lvat_spares_get_stats(lvat_lua_runtime_spares(t->rt), &st);
        if (st.ready >= n)
            return;
        nanosleep(&nap, NULL);
    }
    fail_msg("%zu spare states were not built in 10 s", n);
}

/* A vat made from a spare that only started (not the bootstrap vat) and
 * made much garbage holds none: the builder does not collect, the
 * start's collection does (lvat.c). */
static void
test_spares_started_vat_holds_no_garbage(void **state)
{
    lvat_spares_stats before, after;
    lk t;

    (void)state;
    lk_open_spares(&t, 4);
    assert_lvat_ok(lk_launch(&t, cfg)); /* the pool fills from now on */
    wait_for_spares(&t, 2);
    lvat_spares_get_stats(lvat_lua_runtime_spares(t.rt), &before);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"echo\",\"vats\":{"
                                 "\"echo\":{\"sourceSpec\":\"echo.lua\"},"
                                 "\"idle\":{\"sourceSpec\":\"litter.lua\"}}}"));
    lvat_spares_get_stats(lvat_lua_runtime_spares(t.rt), &after);
    assert_int_equal(after.taken, before.taken + 2);
    lk_expect_no_garbage(&t, 4, "idle");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spares_vats_launch_talk_and_come_back),
        cmocka_unit_test(test_spares_started_vat_holds_no_garbage),
    };
    return cmocka_run_group_tests_name("e2e_spares", tests, NULL, NULL);
}
