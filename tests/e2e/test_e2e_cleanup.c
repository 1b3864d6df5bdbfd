/*
 * A terminated vat's vatstore is deleted LVAT_CLEANUP_BATCH keys a crank
 * (vat_end.c), the rest in CLEANUP run-queue items, so that a vat that
 * kept millions of keys does not make one crank hold a tombstone for
 * each: with a real Lua vat, its keys go in batches, one crank at a time,
 * and a restart in the middle carries the cleanup on.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "lua_kernel.h"

#define KEYS 10000 /* three batches */

/* How many keys of vat v1 the vatstore holds in LMDB (committed). */
static size_t
stored_keys(lk *t)
{
    size_t n = 0;
    lk_dump d;

    lk_dump_db(t, LVAT_DB_VATSTORE, &d);
    for (size_t i = 0; i < d.n; i++)
        if (d.e[i].klen >= 3 && memcmp(d.e[i].key, "v1", 3) == 0)
            n++;
    lk_dump_free(&d);
    return n;
}

/* A hoarder that kept KEYS keys, and has just been told to quit: its
 * termination is queued, not run. */
static void
fill_and_quit(lk *t)
{
    char args[64];

    assert_lvat_ok(lk_launch(t, "{\"bootstrap\":\"hoarder\",\"vats\":{"
                                "\"hoarder\":{\"sourceSpec\":"
                                "\"hoarder.lua\"}}}"));
    for (int part = 0; part < 2; part++) {
        snprintf(args, sizeof args, "[\"k%d.\", %d]", part, KEYS / 2);
        lk_expect_at(t, t->root, "fill", args, LVAT_OK, "5000");
    }
    assert_true(stored_keys(t) >= KEYS);
    assert_lvat_ok(lvat_kernel_queue_message(t->k, t->root, "quit", "[]",
                                             NULL, NULL));
}

/* One crank, then its block committed; what it left in the vatstore. */
static size_t
one_crank(lk *t)
{
    assert_lvat_ok(lvat_kernel_step(t->k, 1, 0, NULL));
    return stored_keys(t);
}

static void
test_e2e_cleanup_in_batches(void **state)
{
    size_t before, left, batches = 0;
    lk t;

    (void)state;
    lk_open(&t);
    fill_and_quit(&t);
    before = stored_keys(&t);
    for (int cranks = 0; (left = one_crank(&t)) > 0; cranks++) {
        assert_true(cranks < 20);
        assert_true(before - left <= LVAT_CLEANUP_BATCH);
        batches += left < before;
        assert_true(lvat_kernel_pending(t.k) > 0); /* the rest is queued */
        before = left;
    }
    assert_true(batches >= 2);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(lvat_kernel_pending(t.k), 0);
    assert_int_equal(stored_keys(&t), 0);
    lk_close(&t);
}

/* Stopped with keys left, the next process deletes the rest. */
static void
test_e2e_cleanup_survives_restart(void **state)
{
    size_t left;
    lk t;

    (void)state;
    lk_open(&t);
    fill_and_quit(&t);
    do
        left = one_crank(&t);
    while (left >= KEYS);
    assert_true(left > 0);
    lk_restart(&t);
    assert_int_equal(stored_keys(&t), left);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(stored_keys(&t), 0);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_cleanup_in_batches),
        cmocka_unit_test(test_e2e_cleanup_survives_restart),
    };
    return cmocka_run_group_tests_name("e2e_cleanup", tests, NULL, NULL);
}
