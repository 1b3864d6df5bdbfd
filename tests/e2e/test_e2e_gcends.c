/*
 * Reference counts and GC when vats end, fault or restart, when a block
 * is thrown away or the process stops, and when the host holds and lets
 * go: whatever was in flight is delivered or given back, and in the end
 * nothing is left behind.  Vats as in test_e2e_gcleak.c, helpers in
 * tests/support/gx_census.h.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gx_census.h"
#include "kernel_int.h"

/* The exporter ends while the driver imports one of its objects and it
 * imports one of the driver's: the driver's export is dropped and
 * retired, the orphan goes once the driver lets go of it. */
static void
test_gcends_terminated_exporter(void **state)
{
    char root[32];
    census c;
    lk t;

    (void)state;
    gx_open(&t);
    gx_expect(&t, "v1", "hold", "[]", "held");
    gx_expect(&t, "v1", "lendToKeep", "[]", "kept");
    assert_int_equal(lk_count(&t, "v1.c.o+"), 2);
    gx_expect(&t, "v1", "exitExp", "[]", "");
    assert_int_equal(lk_count(&t, "v2.c."), 0);
    assert_int_equal(lk_count(&t, "v1.c.o+"), 1); /* its root only */
    lk_root(&t, "v1", root);
    lk_expect_at(&t, root, "pingHeld", "[]", LVAT_EREJECTED, "OBJECT_DELETED");
    gx_expect(&t, "v1", "unhold", "[]", "unheld");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &c);
    /* The driver's root, and the ended vat's root it still imports. */
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.kp, 0);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
}

/* A vat ends with objects in flight: sends carrying new objects queued
 * to it, or parked on a promise it decided, are rejected and the objects
 * collected; its own objects it sent before it ended arrive as orphans
 * and are deleted once dropped. */
static void
test_gcends_sends_to_an_ended_vat(void **state)
{
    char root[32], exp[32], args[96];
    census c;
    lk t;

    (void)state;
    gx_open(&t);
    gx_expect(&t, "v1", "exitThenLend", "[5]", "");
    gx_census(&t, &c);
    assert_int_equal(c.ko, 2);
    lk_close(&t);
    /* Its objects in flight when it ends arrive as orphans, and go. */
    gx_open(&t);
    lk_root(&t, "v1", root);
    lk_root(&t, "v2", exp);
    snprintf(args, sizeof args, "[{\"@kref\": \"%s\"}, 3]", root);
    lk_expect_at(&t, exp, "sendThenDie", args, LVAT_OK, "");
    gx_expect(&t, "v1", "received", "[]", "3");
    gx_expect(&t, "v1", "received", "[]", "3");
    gx_census(&t, &c);
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
    /* Parked on a promise the ended vat decided. */
    gx_open(&t);
    gx_expect(&t, "v1", "parkThenExit", "[5]", "5");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &c);
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.kp, 0);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.c2, 0);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
}

/* A vat that faults while it holds an object it was just sent: the crank
 * is rolled back, and the sender's object is still collected. */
static void
test_gcends_fault_holding_an_argument(void **state)
{
    census before, after;
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1;
    t.vat_time_limit_ms = 200;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, GX_CLUSTER));
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &before);
    gx_expect(&t, "v1", "lendToSpinner", "[]", "false");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_expect(&t, "v2", "got", "[]", "0"); /* its crank rolled back */
    /* The new heap still reaps: what it is lent from now on is dropped. */
    gx_expect(&t, "v1", "exports", "[5]", "5");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "fault");
    lk_close(&t);
}

/* Either vat restarts while the other holds one of its ephemeral objects
 * (its export is orphaned), then everything is dropped: nothing stays. */
static void
test_gcends_restart_orphans_then_drops(void **state)
{
    census before, after;
    lk t;

    (void)state;
    gx_begin(&t, &before);
    gx_expect(&t, "v1", "hold", "[]", "held");
    gx_expect(&t, "v1", "lendToKeep", "[]", "kept");
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v2"));
    gx_expect(&t, "v2", "keepArg", "[1]", "kept"); /* nothing kept */
    gx_expect(&t, "v1", "lendToKeep", "[]", "kept");
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v1"));
    lk_restart(&t);
    gx_expect(&t, "v2", "keepArg", "[1]", "kept");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_expect(&t, "v2", "got", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "restarts");
    lk_close(&t);
}

/* Blocks thrown away (as if too large for one LMDB transaction) while
 * the driver imports, lends and drops objects: the work redone in shorter
 * blocks leaves the same counts as if nothing had failed. */
static void
test_gcends_block_abort(void **state)
{
    static const char *methods[] = {"imports", "exports", "bounce", "later"};
    char root[32];
    census before, after;
    lk t;

    (void)state;
    gx_begin(&t, &before);
    lk_root(&t, "v1", root);
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        assert_lvat_ok(lvat_kernel_queue_message(t.k, root, methods[i],
                                                 "[20]", NULL, NULL));
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 3);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "block too large for the store"));
    gx_expect(&t, "v1", "received", "[]", "20");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "block abort");
    lk_close(&t);
}

/* The process stops (the kernel is closed) at every point of a run of
 * round trips: after the restart the vats' new heaps drop what the old
 * ones held, and nothing is left behind. */
static void
test_gcends_process_restart_midway(void **state)
{
    census before, after;
    char root[32];
    lk t;

    (void)state;
    gx_begin(&t, &before);
    lk_root(&t, "v1", root);
    for (uint32_t stop = 1; stop < 60; stop += 7) {
        assert_lvat_ok(lvat_kernel_queue_message(t.k, root, "exports",
                                                 "[10]", NULL, NULL));
        assert_lvat_ok(lvat_kernel_queue_message(t.k, root, "bounce", "[10]",
                                                 NULL, NULL));
        assert_lvat_ok(lvat_kernel_step(t.k, stop, 0, NULL));
        lk_restart(&t);
        assert_lvat_ok(lvat_kernel_run(t.k));
    }
    gx_expect(&t, "v1", "received", "[]", "");
    gx_expect(&t, "v2", "got", "[]", "");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "process restarts");
    lk_close(&t);
}

/* A presence baggage holds survives a process restart (the new heap
 * keeps the import, though its ephemeral object is an orphan now), and is
 * dropped and deleted once baggage lets go of it. */
static void
test_gcends_baggage_presence_across_restart(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, LK_GCHOLDER_CLUSTER));
    lk_expect_at(&t, t.root, "keep", "[]", LVAT_OK, "kept");
    lk_expect_at(&t, t.root, "grab", "[]", LVAT_OK, "1");
    assert_int_equal(lk_count(&t, "v1.c.o-"), 3);
    lk_restart(&t);
    lk_expect_at(&t, t.root, "poke", "[]", LVAT_OK, "awake");
    /* The grabbed one, held in the old heap only, is gone; the maker's
     * heap went too, so the kept one is an orphan now. */
    assert_int_equal(lk_count(&t, "v1.c.o-"), 2);
    assert_int_equal(lk_count(&t, "v2.c.o+"), 1);
    assert_int_equal(lk_count(&t, "ko"), 3);
    lk_expect_at(&t, t.root, "unkeep", "[]", LVAT_OK, "unkept");
    lk_expect_at(&t, t.root, "poke", "[]", LVAT_OK, "awake");
    assert_int_equal(lk_count(&t, "v1.c.o-"), 1);
    assert_int_equal(lk_count(&t, "v2.c.o+"), 1);
    assert_int_equal(lk_count(&t, "ko"), 2);
    lk_close(&t);
}

/* A host that sends to an object and releases it at once: the send is
 * delivered, and then the object is collected. */
static void
test_gcends_release_after_send(void **state)
{
    char root[32], ko[32], *r, *at;
    census before, after;
    int st;
    lk t;

    (void)state;
    gx_begin(&t, &before);
    lk_root(&t, "v2", root);
    r = lk_call(&t, root, "make", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    at = strstr(r, "ko");
    assert_non_null(at);
    snprintf(ko, sizeof ko, "%.*s", (int)strspn(at, "ko0123456789"), at);
    free(r);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, ko, "ping", "[]", NULL,
                                             NULL));
    assert_lvat_ok(lvat_kernel_release(t.k, ko));
    assert_lvat_ok(lvat_kernel_run(t.k));
    gx_expect(&t, "v2", "pings", "[]", "1");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "release after send");
    lk_close(&t);
}

/* A host shown a pending promise and an object releases both: once the
 * promise settles (to another object) everything is collected. */
static void
test_gcends_host_releases_promise_and_object(void **state)
{
    char root[32], ko[32], kp[32], *r;
    census before, after;
    int st;
    lk t;

    (void)state;
    gx_begin(&t, &before);
    lk_root(&t, "v2", root);
    r = lk_call(&t, root, "bundle", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    gx_next_kref(r, "ko", ko);
    gx_next_kref(r, "kp", kp);
    free(r);
    lk_expect_at(&t, root, "pings", "[]", LVAT_OK, "0");
    assert_lvat_ok(lvat_kernel_release(t.k, ko));
    assert_lvat_ok(lvat_kernel_release(t.k, kp));
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_expect_at(&t, root, "fire", "[\"b\"]", LVAT_OK, "true");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "host release");
    lk_close(&t);
}

/* Host results forwarded to another vat's pending promise: the waits
 * move along, the objects they settle to are pinned for the host, and
 * once released nothing is left. */
static void
test_gcends_host_result_forwarded(void **state)
{
    char exp[32], ko[2][32];
    lk_answer a[2];
    census before, after;
    lk t;

    (void)state;
    gx_begin(&t, &before);
    lk_root(&t, "v2", exp);
    lk_ask(&t, "forwarded", "[\"f0\"]", &a[0]);
    lk_ask(&t, "forwarded", "[\"f1\"]", &a[1]);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_false(a[0].done || a[1].done);
    for (int i = 0; i < 2; i++) {
        char name[24];
        snprintf(name, sizeof name, "[\"f%d\"]", i);
        lk_expect_at(&t, exp, "fire", name, LVAT_OK, "true");
        assert_true(a[i].done);
        gx_next_kref(a[i].text, "ko", ko[i]);
        free(a[i].text);
    }
    for (int i = 0; i < 2; i++)
        assert_lvat_ok(lvat_kernel_release(t.k, ko[i]));
    assert_lvat_ok(lvat_kernel_run(t.k));
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "forwarded host results");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcends_terminated_exporter),
        cmocka_unit_test(test_gcends_sends_to_an_ended_vat),
        cmocka_unit_test(test_gcends_fault_holding_an_argument),
        cmocka_unit_test(test_gcends_restart_orphans_then_drops),
        cmocka_unit_test(test_gcends_block_abort),
        cmocka_unit_test(test_gcends_process_restart_midway),
        cmocka_unit_test(test_gcends_baggage_presence_across_restart),
        cmocka_unit_test(test_gcends_release_after_send),
        cmocka_unit_test(test_gcends_host_releases_promise_and_object),
        cmocka_unit_test(test_gcends_host_result_forwarded),
    };
    return cmocka_run_group_tests_name("e2e_gcends", tests, NULL, NULL);
}
