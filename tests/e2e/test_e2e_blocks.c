/*
 * The block policy with real vats (luavat.h, lvat_options): a block holding
 * nothing for the host runs up to block_quiet_ms, so a loop of round trips
 * nobody waits on is one block; a result the host waits for still commits
 * once its block is block_max_ms old, while other work goes on; and
 * block_max_cranks bounds every block.  Blocks are counted through
 * lvat_kernel_stats_json ("blocks": committed blocks that changed), which
 * also says how many cranks were timed.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

/* A kernel with this block policy and the pinger/echo pair launched. */
static void
start(lk *t, uint32_t max_cranks, uint32_t max_ms, uint32_t quiet_ms)
{
    lk_open(t);
    t->block_max_cranks = max_cranks;
    t->block_max_ms = max_ms;
    t->block_quiet_ms = quiet_ms;
    lk_restart(t);
    assert_lvat_ok(lk_launch(t, LK_PINGER_ECHO));
}

/* 2,000 round trips take far more than 1 ms, but the host waits only for
 * the last answer: one block (and at most a little GC work after it). */
static void
test_blocks_quiet_work_is_one_block(void **state)
{
    long before;
    lk t;

    (void)state;
    start(&t, 0, 1, 600000);
    before = lk_stat(&t, "blocks");
    lk_run_pings(&t, 2000);
    if (lk_stat(&t, "blocks") - before > 2)
        fail_msg("%ld blocks for one call", lk_stat(&t, "blocks") - before);
    lk_close(&t);
}

/* A short call queued behind a long one: its answer is released once its
 * block is 1 ms old, long before the long call ends. */
static void
test_blocks_waiting_result_commits_early(void **state)
{
    lk_answer slow, quick;
    long before;
    lk t;

    (void)state;
    start(&t, 0, 1, 600000);
    before = lk_stat(&t, "blocks");
    lk_ask(&t, "run", "[20000]", &slow);
    lk_ask(&t, "run", "[1]", &quick);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(slow.done && quick.done);
    assert_true(quick.work_left);
    assert_true(lk_stat(&t, "blocks") - before >= 2);
    free(slow.text);
    free(quick.text);
    lk_close(&t);
}

/* block_max_cranks bounds quiet blocks too: 1,000 round trips are over
 * 2,000 cranks, so over 20 blocks of 100. */
static void
test_blocks_crank_limit_applies_to_quiet_blocks(void **state)
{
    long before;
    lk t;

    (void)state;
    start(&t, 100, 600000, 600000);
    before = lk_stat(&t, "blocks");
    lk_run_pings(&t, 1000);
    if (lk_stat(&t, "blocks") - before < 20)
        fail_msg("%ld blocks of at most 100 cranks for 2,000 cranks",
                 lk_stat(&t, "blocks") - before);
    lk_close(&t);
}

/* Each open times its first 1,024 cranks all, then one in eight; a
 * store's stats record from before timedCranks (ten fields, every timed
 * crank standing for itself) is read as it was. */
static void
test_blocks_stats_time_a_short_run_whole(void **state)
{
    long cranks, timed;
    lk t;

    (void)state;
    start(&t, 100000, 600000, 600000);
    lk_run_pings(&t, 100);
    assert_true(lk_stat(&t, "cranks") > 200);
    assert_int_equal(lk_stat(&t, "timedCranks"), lk_stat(&t, "cranks"));
    lk_run_pings(&t, 1000);
    cranks = lk_stat(&t, "cranks");
    timed = lk_stat(&t, "timedCranks");
    if (timed < 1024 + (cranks - 1024) / 16 ||
        timed > 1024 + (cranks - 1024) / 4)
        fail_msg("%ld of %ld cranks timed", timed, cranks);
    lvat_kernel_close(t.k);
    t.k = NULL;
    lk_put_key(&t, LVAT_DB_KERNEL, "stats", "5000 4000 30 700 1 1 1 1 1 1");
    lk_restart(&t);
    assert_true(lk_stat(&t, "cranks") >= 5000);
    assert_int_equal(lk_stat(&t, "timedCranks") - 700,
                     lk_stat(&t, "cranks") - 5000);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_quiet_work_is_one_block),
        cmocka_unit_test(test_blocks_waiting_result_commits_early),
        cmocka_unit_test(test_blocks_crank_limit_applies_to_quiet_blocks),
        cmocka_unit_test(test_blocks_stats_time_a_short_run_whole),
    };
    return cmocka_run_group_tests_name("e2e_blocks", tests, NULL, NULL);
}
