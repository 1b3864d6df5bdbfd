/*
 * MDB_TXN_FULL (design §5): a block too big for one LMDB transaction is
 * thrown away whole, the vats it delivered to restart from the store, the
 * host requests it applied are applied again, and the work is redone in
 * shorter blocks.  Nothing is lost and nothing happens twice.  LMDB rarely
 * gives TXN_FULL on demand, so the failure is injected at commit.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "lua_kernel.h"
#include "sys_configs.h"

static const char *cfg =
    "{\"bootstrap\":\"rcounter\",\"vats\":{\"rcounter\":{\"sourceSpec\":"
    "\"rcounter.lua\"}}}";

typedef struct seen {
    int count;
    int values[64];
    int rejected;
} seen;

static void
on_result(void *ud, int status, const lvat_value *v)
{
    seen *s = ud;

    if (status != LVAT_OK) {
        s->rejected++;
        return;
    }
    s->values[s->count++] = atoi(v->body + 1); /* "#7" */
}

/* Opens t with the counter launched and n increments queued, whose
 * results s collects. */
static void
open_with_increments(lk *t, seen *s, int n)
{
    memset(s, 0, sizeof *s);
    lk_open(t);
    assert_lvat_ok(lk_launch(t, cfg));
    for (int i = 0; i < n; i++)
        assert_lvat_ok(lvat_kernel_queue_message(t->k, t->root, "increment",
                                                 "[]", on_result, s));
}

static void
test_txnfull_block_redone_exactly_once(void **state)
{
    seen s;
    lk t;

    (void)state;
    open_with_increments(&t, &s, 10);
    /* The first two commits of this run fail as if the block were too
     * large for one LMDB transaction. */
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 2);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(s.rejected, 0);
    assert_int_equal(s.count, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(s.values[i], i + 1); /* each once, in order */
    assert_true(lk_log_has(&t, "block too large for the store"));
    {
        int st;
        char *r = lk_call(&t, t.root, "count", "[]", &st);
        assert_string_equal(r, "10");
        free(r);
        /* The heap that saw the thrown-away block was rebuilt. */
        r = lk_call(&t, t.root, "calls", "[]", &st);
        assert_true(atoi(r) <= 10);
        free(r);
    }
    lk_close(&t);
}

/* One increment queued, then `n` commits failing with `code`: the run
 * fails with `code` saying `why`, and once commits succeed again the next
 * run applies the increment, once (the request stayed in the inbox). */
static void
fail_then_recover(int code, unsigned n, const char *why)
{
    lk t;
    int st;
    char *r;

    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, cfg));
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "increment", "[]",
                                             NULL, NULL));
    lvat_kv_fail_commits(t.k->kv, code, n);
    assert_int_equal(lvat_kernel_run(t.k), code);
    if (strstr(lvat_kernel_errmsg(t.k), why) == NULL)
        fail_msg("\"%s\" not in: %s", why, lvat_kernel_errmsg(t.k));
    lvat_kv_fail_commits(t.k->kv, LVAT_OK, 0);
    assert_lvat_ok(lvat_kernel_run(t.k));
    r = lk_call(&t, t.root, "count", "[]", &st);
    assert_string_equal(r, "1");
    free(r);
    lk_close(&t);
}

static void
test_txnfull_other_store_error_reported(void **state)
{
    (void)state;
    fail_then_recover(LVAT_ESTORE, 1, "no committed work");
}

/* A block of one crank that does not fit cannot be split: the run says
 * so instead of retrying it for ever. */
static void
test_txnfull_single_crank_reported(void **state)
{
    (void)state;
    fail_then_recover(LVAT_ETXNFULL, 1000000,
                      "one crank's changes do not fit");
}

static int closes, runs;

/* The host's log callback closes the kernel, and runs it, on the warning
 * a block commit logs outside any crank: both refused (the commit would
 * go on with the kernel freed). */
static void
close_on_retry(lk *t, const char *line)
{
    if (strstr(line, "block too large") == NULL)
        return;
    closes++;
    lvat_kernel_close(t->k);
    if (lvat_kernel_run(t->k) == LVAT_ESTATE)
        runs++;
}

static void
test_txnfull_close_from_the_log_refused(void **state)
{
    seen s;
    lk t;

    (void)state;
    open_with_increments(&t, &s, 3);
    t.on_log = close_on_retry;
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 1);
    assert_lvat_ok(lvat_kernel_run(t.k));
    t.on_log = NULL;
    assert_int_equal(closes, 1);
    assert_int_equal(runs, 1);
    assert_true(lk_log_has(&t, "lvat_kernel_close called from a callback"));
    assert_int_equal(s.count, 3);
    assert_int_equal(s.values[2], 3);
    lk_close(&t);
}

/* A reset asked for in a block that is thrown away happens once the
 * crank that asked runs again, not at the commit of the first shorter
 * block: every increment queued before it is answered first. */
static void
test_txnfull_reset_waits_for_its_crank(void **state)
{
    char admin[32];
    seen s, reset;
    lk t;

    (void)state;
    memset(&s, 0, sizeof s);
    memset(&reset, 0, sizeof reset);
    lk_open(&t);
    lk_add_system(&t, "admin", SYS_CFG("admin"));
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", admin, sizeof admin));
    assert_lvat_ok(lk_launch(&t, cfg));
    for (int i = 0; i < 6; i++)
        assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "increment",
                                                 "[]", on_result, &s));
    assert_lvat_ok(lvat_kernel_queue_message(t.k, admin, "call",
                                             "[\"reset\"]", on_result,
                                             &reset));
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 1);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "block too large for the store"));
    assert_int_equal(s.rejected, 0);
    assert_int_equal(s.count, 6);
    assert_int_equal(reset.rejected, 1); /* the kernel was reset */
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txnfull_block_redone_exactly_once),
        cmocka_unit_test(test_txnfull_other_store_error_reported),
        cmocka_unit_test(test_txnfull_single_crank_reported),
        cmocka_unit_test(test_txnfull_close_from_the_log_refused),
        cmocka_unit_test(test_txnfull_reset_waits_for_its_crank),
    };
    return cmocka_run_group_tests_name("e2e_txnfull", tests, NULL, NULL);
}
