/*
 * Reference counts and GC with real vats: round trips that import, lend,
 * pipeline to and drop objects leave the kernel's store as they found
 * it (no ko/kp record, c-list entry or GC action grows with the number
 * of round trips), and an object in flight is never collected early.
 * Vats: tests/e2e/vats/gxdrv.lua (v1, bootstrap) and gxexp.lua (v2);
 * test_e2e_gcends.c has the vats' ends, restarts and the host's holds.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gx_census.h"

/* Runs method(n) for a few n and checks the store does not grow. */
static void
no_growth(const char *method)
{
    census before, after;
    lk t;

    gx_open(&t);
    gx_expect(&t, "v1", method, "[3]", "3");
    gx_expect(&t, "v1", "received", "[]", ""); /* settle any reap */
    gx_census(&t, &before);
    gx_expect(&t, "v1", method, "[300]", "300");
    gx_expect(&t, "v1", "received", "[]", "");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, method);
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
    gx_open(&t);
    gx_expect(&t, "v1", "imports", "[3]", "3");
    gx_expect(&t, "v1", "exports", "[3]", "3");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &before);
    gx_expect(&t, "v1", "imports", "[2000]", "2000");
    gx_expect(&t, "v1", "exports", "[2000]", "2000");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "2,000 round trips");
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
    gx_open(&t);
    gx_expect(&t, "v1", "spoilt", "[2, \"reject\"]", "2");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &before);
    gx_expect(&t, "v1", "spoilt", "[50, \"reject\"]", "50");
    gx_expect(&t, "v1", "spoilt", "[50, \"data\"]", "50");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "spoilt promises");
    lk_close(&t);
}

/* Sends queued to an object its only importer has dropped are all
 * delivered before the exporter hears the drop. */
static void
test_gcleak_queued_sends_delivered(void **state)
{
    lk t;

    (void)state;
    gx_open(&t);
    gx_expect(&t, "v1", "fireAndForget", "[50]", "50");
    gx_expect(&t, "v2", "pings", "[]", "50");
    gx_expect(&t, "v1", "bounce", "[20]", "20");
    gx_expect(&t, "v1", "received", "[]", "20");
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
    gx_begin(&t, &before);
    for (int i = 0; i < 5; i++) {
        gx_expect(&t, "v1", "hold", "[]", "held");
        gx_expect(&t, "v1", "pingAndDrop", "[]", "pong");
    }
    gx_expect(&t, "v2", "pings", "[]", "5");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "send then drop");
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
    gx_begin(&t, &before);
    for (int i = 0; i < 3; i++) {
        gx_expect(&t, "v1", "holdKept", "[]", "held");
        gx_expect(&t, "v1", "pingHeld", "[]", "pong");
        gx_expect(&t, "v1", "giveHeld", "[]", "pong");
        gx_expect(&t, "v1", "unhold", "[]", "unheld");
        gx_expect(&t, "v1", "received", "[]", "0");
        gx_census(&t, &after);
        gx_expect_same(&before, &after, "re-import");
    }
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
    gx_begin(&t, &before);
    gx_expect(&t, "v1", "holdMany", "[700]", "700");
    assert_int_equal(lk_count(&t, "v2.c.o+"), 701);
    gx_expect(&t, "v1", "unhold", "[]", "unheld");
    gx_expect(&t, "v1", "received", "[]", "0");
    gx_census(&t, &after);
    gx_expect_same(&before, &after, "700 drops");
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
        cmocka_unit_test(test_gcleak_relay),
        cmocka_unit_test(test_gcleak_promise_arg),
        cmocka_unit_test(test_gcleak_settled_arg),
        cmocka_unit_test(test_gcleak_self_cycle),
        cmocka_unit_test(test_gcleak_at_scale),
        cmocka_unit_test(test_gcleak_sends_to_a_spoilt_promise),
        cmocka_unit_test(test_gcleak_queued_sends_delivered),
        cmocka_unit_test(test_gcleak_send_then_drop),
        cmocka_unit_test(test_gcleak_reimport_after_drop),
        cmocka_unit_test(test_gcleak_many_drops_at_once),
    };
    return cmocka_run_group_tests_name("e2e_gcleak", tests, NULL, NULL);
}
