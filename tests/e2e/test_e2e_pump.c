/*
 * The kernel on a libuv loop (lvat_kernel_attach): slices of cranks run
 * from an idle handle until the kernel is idle, answers reach the host
 * from the loop, a quiet block carries on across slices instead of
 * committing at each, a result is still released at the end of its slice
 * while other work goes on, and detaching commits the block left open
 * (but not from inside a crank).
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "kernel_int.h"
#include "lua_kernel.h"

static void
start(lk *t, uv_loop_t *loop)
{
    lk_open(t);
    t->block_max_ms = 600000; /* only a slice's end commits early */
    t->block_quiet_ms = 600000;
    lk_restart(t);
    assert_lvat_ok(lk_launch(t, LK_PINGER_ECHO));
    assert_int_equal(uv_loop_init(loop), 0);
    assert_lvat_ok(lvat_kernel_attach(t->k, loop));
    assert_int_equal(lvat_kernel_attach(t->k, loop), LVAT_EINVAL);
}

static void
stop(lk *t, uv_loop_t *loop)
{
    lvat_kernel_detach(t->k);
    uv_run(loop, UV_RUN_DEFAULT); /* the idle handle finishes closing */
    assert_int_equal(uv_loop_close(loop), 0);
    lk_close(t);
}

/* 5,000 round trips are many 5 ms slices, and nobody waits for anything
 * before the last answer: one block, not one per slice. */
static void
test_pump_quiet_work_spans_slices(void **state)
{
    lk_answer a;
    uv_loop_t loop;
    long before;
    lk t;

    (void)state;
    start(&t, &loop);
    before = lk_stat(&t, "blocks");
    lk_ask(&t, "run", "[5000]", &a);
    uv_run(&loop, UV_RUN_DEFAULT); /* returns when the kernel is idle */
    assert_true(a.done);
    assert_string_equal(a.text, "12502500");
    assert_int_equal(lvat_kernel_pending(t.k), 0);
    if (lk_stat(&t, "blocks") - before > 2)
        fail_msg("%ld blocks for one call", lk_stat(&t, "blocks") - before);
    free(a.text);
    stop(&t, &loop);
}

/* A short call behind a long one is answered at the end of its slice,
 * long before the long one ends (no block limit would end the block). */
static void
test_pump_releases_a_result_at_its_slice(void **state)
{
    lk_answer slow, quick;
    uv_loop_t loop;
    lk t;

    (void)state;
    start(&t, &loop);
    lk_ask(&t, "run", "[20000]", &slow);
    lk_ask(&t, "run", "[1]", &quick);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(slow.done && quick.done);
    assert_true(quick.work_left);
    assert_string_equal(quick.text, "1");
    assert_string_equal(slow.text, "200010000");
    free(slow.text);
    free(quick.text);
    stop(&t, &loop);
}

/* A slice whose commit fails (a full disk, say) is tried again on a
 * timer: the work finishes without the host queueing anything more.  (A
 * counter in baggage: the vats an aborted block delivered to restart.) */
static void
test_pump_retries_after_a_store_error(void **state)
{
    lk_answer a;
    uv_loop_t loop;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"rcounter\",\"vats\":"
                                 "{\"rcounter\":{\"sourceSpec\":"
                                 "\"rcounter.lua\"}}}"));
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_lvat_ok(lvat_kernel_attach(t.k, &loop));
    lk_ask(&t, "increment", "[]", &a);
    lvat_kv_fail_commits(t.k->kv, LVAT_ESTORE, 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(a.done);
    assert_string_equal(a.text, "1");
    /* (How many of the two failures a run meets depends on its slices.) */
    assert_true(lk_log_has(&t, "(trying again in 100 ms)"));
    free(a.text);
    stop(&t, &loop);
}

/* Detaching in the middle of quiet work commits what the open block did;
 * running the kernel directly then finishes the work. */
static void
test_pump_detach_commits_open_block(void **state)
{
    lk_answer a;
    uv_loop_t loop;
    long before;
    lk t;

    (void)state;
    start(&t, &loop);
    lk_ask(&t, "run", "[20000]", &a);
    before = lk_stat(&t, "blocks");
    for (int i = 0; i < 3; i++)
        uv_run(&loop, UV_RUN_NOWAIT); /* a slice each */
    assert_false(a.done);
    assert_int_equal(lk_stat(&t, "blocks"), before); /* the block is still open */
    lvat_kernel_detach(t.k);
    assert_int_equal(lk_stat(&t, "blocks"), before + 1);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(a.done);
    assert_string_equal(a.text, "200010000");
    free(a.text);
    stop(&t, &loop);
}

static lvat_kernel *detaching;
static int clock_calls;

/* A pure service runs inside the crank that calls it. */
static void
detaching_clock(void *ud, lvat_call *call)
{
    (void)ud;
    clock_calls++;
    lvat_kernel_detach(detaching);
    assert_lvat_ok(lvat_call_return(call, "42"));
}

/* Detaching from inside a crank (a pure service) must not commit the
 * crank's block halfway: the block ends with the crank, later. */
static void
test_pump_detach_inside_a_crank(void **state)
{
    lk_answer a;
    uv_loop_t loop;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lvat_kernel_register_service(t.k, "clock", detaching_clock,
                                                NULL, LVAT_SERVICE_PURE));
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"u\","
                                 "\"services\":[\"clock\"],\"vats\":{"
                                 "\"u\":{\"sourceSpec\":\"svcuser.lua\"}}}"));
    detaching = t.k;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_lvat_ok(lvat_kernel_attach(t.k, &loop));
    lk_ask(&t, "call", "[\"clock\", \"now\"]", &a);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(clock_calls, 1);
    assert_true(a.done);
    assert_string_equal(a.text, "42");
    free(a.text);
    stop(&t, &loop);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pump_quiet_work_spans_slices),
        cmocka_unit_test(test_pump_releases_a_result_at_its_slice),
        cmocka_unit_test(test_pump_detach_commits_open_block),
        cmocka_unit_test(test_pump_detach_inside_a_crank),
        cmocka_unit_test(test_pump_retries_after_a_store_error),
    };
    return cmocka_run_group_tests_name("e2e_pump", tests, NULL, NULL);
}
