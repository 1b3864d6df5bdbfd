/*
 * Reference counts and GC with real vats: round trips that import, lend,
 * pipeline to and drop objects leave the kernel's store as they found
 * it (no ko/kp record, c-list entry or GC action grows with the number
 * of round trips), and an object in flight is never collected early.
 * Vats: tests/e2e/vats/gxdrv.lua (v1, bootstrap) and gxexp.lua (v2).
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "lua_kernel.h"

#define CLUSTER                                                             \
    "{\"bootstrap\":\"gxdrv\",\"vats\":{"                                  \
    "\"gxdrv\":{\"sourceSpec\":\"gxdrv.lua\"},"                            \
    "\"gxexp\":{\"sourceSpec\":\"gxexp.lua\"}}}"

/* What the kernel keeps that GC should give back. */
typedef struct census {
    size_t ko, kp, c1, c2, gc, pins;
} census;

static void
take_census(lk *t, census *c)
{
    c->ko = lk_count(t, "ko");
    c->kp = lk_count(t, "kp");
    c->c1 = lk_count(t, "v1.c.");
    c->c2 = lk_count(t, "v2.c.");
    c->gc = lk_count(t, "gc.");
    c->pins = lk_count(t, "pin.");
}

static void
expect_same(const census *a, const census *b, const char *what)
{
    if (memcmp(a, b, sizeof *a) != 0)
        fail_msg("%s: ko %zu->%zu kp %zu->%zu v1.c %zu->%zu v2.c %zu->%zu "
                 "gc %zu->%zu pin %zu->%zu",
                 what, a->ko, b->ko, a->kp, b->kp, a->c1, b->c1, a->c2,
                 b->c2, a->gc, b->gc, a->pins, b->pins);
}

static void
open_cluster(lk *t)
{
    lk_open(t);
    t->reap_interval = 1; /* every vat collects after each delivery */
    lk_restart(t);
    assert_lvat_ok(lk_launch(t, CLUSTER));
}

static void
expect_root(lk *t, const char *vat, const char *method, const char *args,
            const char *want)
{
    char root[32];

    lk_root(t, vat, root);
    lk_expect_at(t, root, method, args, LVAT_OK, want);
}

/* Runs method(n) for a few n and checks the store does not grow. */
static void
no_growth(const char *method)
{
    census before, after;
    lk t;

    open_cluster(&t);
    expect_root(&t, "v1", method, "[3]", "3");
    expect_root(&t, "v1", "received", "[]", ""); /* settle any reap */
    take_census(&t, &before);
    expect_root(&t, "v1", method, "[300]", "300");
    expect_root(&t, "v1", "received", "[]", "");
    take_census(&t, &after);
    expect_same(&before, &after, method);
    lk_close(&t);
}

static void
test_gcleak_imports(void **state)
{
    (void)state;
    no_growth("imports");
}

static void
test_gcleak_exports(void **state)
{
    (void)state;
    no_growth("exports");
}

static void
test_gcleak_later(void **state)
{
    (void)state;
    no_growth("later");
}

static void
test_gcleak_chain(void **state)
{
    (void)state;
    no_growth("chain");
}

static void
test_gcleak_fire_and_forget(void **state)
{
    (void)state;
    no_growth("fireAndForget");
}

static void
test_gcleak_bounce(void **state)
{
    (void)state;
    no_growth("bounce");
}

static void
test_gcleak_relay(void **state)
{
    (void)state;
    no_growth("relay");
}

static void
test_gcleak_promise_arg(void **state)
{
    (void)state;
    no_growth("promiseArg");
}

static void
test_gcleak_settled_arg(void **state)
{
    (void)state;
    no_growth("settledArg");
}

static void
test_gcleak_self_cycle(void **state)
{
    (void)state;
    no_growth("selfCycle");
}

/* 2,000 round trips of fresh objects each way: the store ends as it was
 * after the first few. */
static void
test_gcleak_at_scale(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "imports", "[3]", "3");
    expect_root(&t, "v1", "exports", "[3]", "3");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    expect_root(&t, "v1", "imports", "[2000]", "2000");
    expect_root(&t, "v1", "exports", "[2000]", "2000");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "2,000 round trips");
    lk_close(&t);
}

/* Sends with objects in them, to a promise then rejected or settled to
 * data: rejected, and the objects collected. */
static void
test_gcleak_sends_to_a_spoilt_promise(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "spoilt", "[2, \"reject\"]", "2");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    expect_root(&t, "v1", "spoilt", "[50, \"reject\"]", "50");
    expect_root(&t, "v1", "spoilt", "[50, \"data\"]", "50");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "spoilt promises");
    lk_close(&t);
}

/* Sends queued to an object its only importer has dropped are all
 * delivered before the exporter hears the drop. */
static void
test_gcleak_queued_sends_delivered(void **state)
{
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "fireAndForget", "[50]", "50");
    expect_root(&t, "v2", "pings", "[]", "50");
    expect_root(&t, "v1", "bounce", "[20]", "20");
    expect_root(&t, "v1", "received", "[]", "20");
    lk_close(&t);
}

/* The exporter ends while the driver imports one of its objects and it
 * imports one of the driver's: the driver's export is dropped and
 * retired, the orphan goes once the driver lets go of it. */
static void
test_gcleak_terminated_exporter(void **state)
{
    char root[32];
    census c;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "hold", "[]", "held");
    expect_root(&t, "v1", "lendToKeep", "[]", "kept");
    assert_int_equal(lk_count(&t, "v1.c.o+"), 2);
    expect_root(&t, "v1", "exitExp", "[]", "");
    assert_int_equal(lk_count(&t, "v2.c."), 0);
    assert_int_equal(lk_count(&t, "v1.c.o+"), 1); /* its root only */
    lk_root(&t, "v1", root);
    lk_expect_at(&t, root, "pingHeld", "[]", LVAT_EREJECTED, "OBJECT_DELETED");
    expect_root(&t, "v1", "unhold", "[]", "unheld");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &c);
    /* The driver's root, and the ended vat's root it still imports. */
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.kp, 0);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
}

/* A vat that faults while it holds an object it was just sent: the crank
 * is rolled back, and the sender's object is still collected. */
static void
test_gcleak_fault_holding_an_argument(void **state)
{
    census before, after;
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1;
    t.vat_time_limit_ms = 200;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, CLUSTER));
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    expect_root(&t, "v1", "lendToSpinner", "[]", "false");
    expect_root(&t, "v1", "received", "[]", "0");
    expect_root(&t, "v2", "got", "[]", "0"); /* its crank rolled back */
    /* The new heap still reaps: what it is lent from now on is dropped. */
    expect_root(&t, "v1", "exports", "[5]", "5");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "fault");
    lk_close(&t);
}

/* A host that sends to an object and releases it at once: the send is
 * delivered, and then the object is collected. */
static void
test_gcleak_release_after_send(void **state)
{
    char root[32], ko[32], *r, *at;
    census before, after;
    int st;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
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
    expect_root(&t, "v2", "pings", "[]", "1");
    take_census(&t, &after);
    expect_same(&before, &after, "release after send");
    lk_close(&t);
}

/* An object the exporter keeps, dropped by its importer and sent again:
 * a new export, still answering, and dropped again in the end. */
static void
test_gcleak_reimport_after_drop(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    for (int i = 0; i < 3; i++) {
        expect_root(&t, "v1", "holdKept", "[]", "held");
        expect_root(&t, "v1", "pingHeld", "[]", "pong");
        expect_root(&t, "v1", "giveHeld", "[]", "pong");
        expect_root(&t, "v1", "unhold", "[]", "unheld");
        expect_root(&t, "v1", "received", "[]", "0");
        take_census(&t, &after);
        expect_same(&before, &after, "re-import");
    }
    lk_close(&t);
}

/* A vat ends with objects in flight: sends carrying new objects queued
 * to it, or parked on a promise it decided, are rejected and the objects
 * collected; its own objects it sent before it ended arrive as orphans
 * and are deleted once dropped. */
static void
test_gcleak_sends_to_an_ended_vat(void **state)
{
    char root[32], exp[32], args[96];
    census c;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "exitThenLend", "[5]", "");
    take_census(&t, &c);
    assert_int_equal(c.ko, 2);
    lk_close(&t);
    /* Its objects in flight when it ends arrive as orphans, and go. */
    open_cluster(&t);
    lk_root(&t, "v1", root);
    lk_root(&t, "v2", exp);
    snprintf(args, sizeof args, "[{\"@kref\": \"%s\"}, 3]", root);
    lk_expect_at(&t, exp, "sendThenDie", args, LVAT_OK, "");
    expect_root(&t, "v1", "received", "[]", "3");
    expect_root(&t, "v1", "received", "[]", "3");
    take_census(&t, &c);
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
    /* Parked on a promise the ended vat decided. */
    open_cluster(&t);
    expect_root(&t, "v1", "parkThenExit", "[5]", "5");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &c);
    assert_int_equal(c.ko, 2);
    assert_int_equal(c.kp, 0);
    assert_int_equal(c.c1, 4);
    assert_int_equal(c.c2, 0);
    assert_int_equal(c.gc, 0);
    lk_close(&t);
}

/* Either vat restarts while the other holds one of its ephemeral objects
 * (its export is orphaned), then everything is dropped: nothing stays. */
static void
test_gcleak_restart_orphans_then_drops(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    expect_root(&t, "v1", "hold", "[]", "held");
    expect_root(&t, "v1", "lendToKeep", "[]", "kept");
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v2"));
    expect_root(&t, "v2", "keepArg", "[1]", "kept"); /* nothing kept */
    expect_root(&t, "v1", "lendToKeep", "[]", "kept");
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v1"));
    lk_restart(&t);
    expect_root(&t, "v2", "keepArg", "[1]", "kept");
    expect_root(&t, "v1", "received", "[]", "0");
    expect_root(&t, "v2", "got", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "restarts");
    lk_close(&t);
}

/* A send to an import its holder lets go of in the same delivery is
 * delivered before the exporter is told to drop it. */
static void
test_gcleak_send_then_drop(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    for (int i = 0; i < 5; i++) {
        expect_root(&t, "v1", "hold", "[]", "held");
        expect_root(&t, "v1", "pingAndDrop", "[]", "pong");
    }
    expect_root(&t, "v2", "pings", "[]", "5");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "send then drop");
    lk_close(&t);
}

/* The first kref after `from` in text (a "ko" or "kp" one) into out. */
static const char *
next_kref(const char *from, const char *prefix, char out[32])
{
    const char *at = strstr(from, prefix);

    assert_non_null(at);
    snprintf(out, 32, "%.*s", (int)strspn(at + 2, "0123456789") + 2, at);
    return at + 2;
}

/* A host shown a pending promise and an object releases both: once the
 * promise settles (to another object) everything is collected. */
static void
test_gcleak_host_releases_promise_and_object(void **state)
{
    char root[32], ko[32], kp[32], *r;
    census before, after;
    int st;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    lk_root(&t, "v2", root);
    r = lk_call(&t, root, "bundle", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    next_kref(r, "ko", ko);
    next_kref(r, "kp", kp);
    free(r);
    lk_expect_at(&t, root, "pings", "[]", LVAT_OK, "0");
    assert_lvat_ok(lvat_kernel_release(t.k, ko));
    assert_lvat_ok(lvat_kernel_release(t.k, kp));
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_expect_at(&t, root, "fire", "[\"b\"]", LVAT_OK, "true");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "host release");
    lk_close(&t);
}

/* Blocks thrown away (as if too large for one LMDB transaction) while
 * the driver imports, lends and drops objects: the work redone in shorter
 * blocks leaves the same counts as if nothing had failed. */
static void
test_gcleak_block_abort(void **state)
{
    static const char *methods[] = {"imports", "exports", "bounce", "later"};
    char root[32];
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    lk_root(&t, "v1", root);
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
        assert_lvat_ok(lvat_kernel_queue_message(t.k, root, methods[i],
                                                 "[20]", NULL, NULL));
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 3);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "block too large for the store"));
    expect_root(&t, "v1", "received", "[]", "20");
    take_census(&t, &after);
    expect_same(&before, &after, "block abort");
    lk_close(&t);
}

/* The process stops (the kernel is closed) at every point of a run of
 * round trips: after the restart the vats' new heaps drop what the old
 * ones held, and nothing is left behind. */
static void
test_gcleak_process_restart_midway(void **state)
{
    census before, after;
    char root[32];
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
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
    expect_root(&t, "v1", "received", "[]", "");
    expect_root(&t, "v2", "got", "[]", "");
    take_census(&t, &after);
    expect_same(&before, &after, "process restarts");
    lk_close(&t);
}

/* A presence baggage holds survives a process restart (the new heap
 * keeps the import, though its ephemeral object is an orphan now), and is
 * dropped and deleted once baggage lets go of it. */
static void
test_gcleak_baggage_presence_across_restart(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"gcholder\",\"vats\":{"
                   "\"gcholder\":{\"sourceSpec\":\"gcholder.lua\"},"
                   "\"gcmaker\":{\"sourceSpec\":\"gcmaker.lua\"}}}"));
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

/* Host results forwarded to another vat's pending promise: the waits
 * move along, the objects they settle to are pinned for the host, and
 * once released nothing is left. */
static void
test_gcleak_host_result_forwarded(void **state)
{
    char exp[32], ko[2][32];
    lk_answer a[2];
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    lk_root(&t, "v2", exp);
    lk_ask(&t, "forwarded", "[\"f0\"]", &a[0]);
    lk_ask(&t, "forwarded", "[\"f1\"]", &a[1]);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_false(a[0].done || a[1].done);
    for (int i = 0; i < 2; i++) {
        char name[8];
        snprintf(name, sizeof name, "[\"f%d\"]", i);
        lk_expect_at(&t, exp, "fire", name, LVAT_OK, "true");
        assert_true(a[i].done);
        next_kref(a[i].text, "ko", ko[i]);
        free(a[i].text);
    }
    for (int i = 0; i < 2; i++)
        assert_lvat_ok(lvat_kernel_release(t.k, ko[i]));
    assert_lvat_ok(lvat_kernel_run(t.k));
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "forwarded host results");
    lk_close(&t);
}

/* More drops at once than one GC delivery takes (256): all of them reach
 * the exporter, over several cranks. */
static void
test_gcleak_many_drops_at_once(void **state)
{
    census before, after;
    lk t;

    (void)state;
    open_cluster(&t);
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &before);
    expect_root(&t, "v1", "holdMany", "[700]", "700");
    assert_int_equal(lk_count(&t, "v2.c.o+"), 701);
    expect_root(&t, "v1", "unhold", "[]", "unheld");
    expect_root(&t, "v1", "received", "[]", "0");
    take_census(&t, &after);
    expect_same(&before, &after, "700 drops");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcleak_imports),
        cmocka_unit_test(test_gcleak_exports),
        cmocka_unit_test(test_gcleak_later),
        cmocka_unit_test(test_gcleak_chain),
        cmocka_unit_test(test_gcleak_fire_and_forget),
        cmocka_unit_test(test_gcleak_bounce),
        cmocka_unit_test(test_gcleak_sends_to_a_spoilt_promise),
        cmocka_unit_test(test_gcleak_self_cycle),
        cmocka_unit_test(test_gcleak_settled_arg),
        cmocka_unit_test(test_gcleak_at_scale),
        cmocka_unit_test(test_gcleak_relay),
        cmocka_unit_test(test_gcleak_promise_arg),
        cmocka_unit_test(test_gcleak_queued_sends_delivered),
        cmocka_unit_test(test_gcleak_terminated_exporter),
        cmocka_unit_test(test_gcleak_fault_holding_an_argument),
        cmocka_unit_test(test_gcleak_release_after_send),
        cmocka_unit_test(test_gcleak_reimport_after_drop),
        cmocka_unit_test(test_gcleak_sends_to_an_ended_vat),
        cmocka_unit_test(test_gcleak_restart_orphans_then_drops),
        cmocka_unit_test(test_gcleak_send_then_drop),
        cmocka_unit_test(test_gcleak_host_releases_promise_and_object),
        cmocka_unit_test(test_gcleak_block_abort),
        cmocka_unit_test(test_gcleak_process_restart_midway),
        cmocka_unit_test(test_gcleak_baggage_presence_across_restart),
        cmocka_unit_test(test_gcleak_host_result_forwarded),
        cmocka_unit_test(test_gcleak_many_drops_at_once),
    };
    return cmocka_run_group_tests_name("e2e_gcleak", tests, NULL, NULL);
}
