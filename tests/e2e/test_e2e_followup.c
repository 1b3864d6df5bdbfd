/*
 * A failed crank's follow-up across block boundaries, with real Lua vats
 * (flaky.lua overruns its time budget in its first incarnation only): it
 * stays due until the block it ran in commits, a reset drops it, a
 * TXN_FULL retry restarts the vats its aborted block delivered to, and
 * only a vat's own faults count towards suspending it (found by a
 * helper's review).
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "lua_kernel.h"

typedef struct answer {
    bool got;
    int status;
    char text[512];
    lk *t;
} answer;

static void
on_result(void *ud, int status, const lvat_value *v)
{
    answer *a = ud;
    char *r = lvat_value_render(a->t->k, v);

    a->got = true;
    a->status = status;
    snprintf(a->text, sizeof a->text, "%s", r ? r : "?");
    free(r);
}

static unsigned
limit_ms(void)
{
    return lvat_test_under_valgrind() ? 1500 : 150;
}

static void
launch_flaky(lk *t)
{
    char cfg[512];

    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"flaky\",\"vats\":{\"flaky\":{\"sourceSpec\":"
             "\"flaky.lua\",\"creationOptions\":{\"timeLimitMs\":%u}}}}",
             limit_ms());
    lk_open(t);
    assert_lvat_ok(lk_launch(t, cfg));
}

static void
step1(lk *t)
{
    uint32_t ran = 0;

    assert_lvat_ok(lvat_kernel_step(t->k, 1, 0, &ran));
    assert_int_equal(ran, 1);
}

/* Steps one crank per block until a crank failed (a follow-up is due). */
static void
step_to_fault(lk *t)
{
    for (int i = 0; i < 10 && !lvat__followup_due(t->k); i++)
        step1(t);
    assert_true(lvat__followup_due(t->k));
}

/* Calls flaky(), which overruns its budget; its crank's block commits.
 * With `abort_next`, the block the follow-up runs in is thrown away
 * (MDB_TXN_FULL at commit).  Either way the call is rejected VAT_FAULT. */
static void
fault_then_follow_up(bool abort_next)
{
    answer a = {0};
    lk t;

    launch_flaky(&t);
    a.t = &t;
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "flaky", "[]",
                                             on_result, &a));
    step_to_fault(&t);
    if (abort_next) {
        uint32_t ran = 0;
        /* The follow-up, in a block of one crank whose commit fails: it
         * cannot be split, so the step says so. */
        lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 1);
        assert_int_equal(lvat_kernel_step(t.k, 1, 0, &ran), LVAT_ETXNFULL);
        assert_true(lvat__followup_due(t.k));
    }
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(a.got);
    if (a.status != LVAT_EREJECTED || !strstr(a.text, "VAT_FAULT"))
        fail_msg("flaky: want rejected [KERNEL:VAT_FAULT], got status %s, %s",
                 lvat_err_name(a.status), a.text);
    lk_close(&t);
}

static void
test_e2e_followup_in_the_next_block(void **state)
{
    (void)state;
    fault_then_follow_up(false);
}

/* The abort does not take the failed crank (an earlier block) with it, so
 * the follow-up is due again: the message is not delivered to a new heap
 * and answered. */
static void
test_e2e_followup_survives_its_block_abort(void **state)
{
    (void)state;
    fault_then_follow_up(true);
}

/* MDB_TXN_FULL retries in shorter blocks, and the vats the thrown-away
 * block delivered to lose their heaps with it.  A vat that decided a
 * promise and made an ephemeral object in an earlier, committed block
 * restarts: the pending call is rejected VAT_RESTARTED (it used to hang)
 * and the object is gone; the retried call reaches the new heap. */
static void
test_e2e_followup_txnfull_retry_restarts_the_vat(void **state)
{
    answer w = {0}, f = {0};
    char thing[64], *r;
    int st;
    lk t;

    (void)state;
    launch_flaky(&t);
    w.t = f.t = &t;
    r = lk_call(&t, t.root, "makeThing", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    {
        const char *p = strstr(r, "ko");
        size_t n = strspn(p, "ko0123456789");
        snprintf(thing, sizeof thing, "%.*s", (int)n, p);
    }
    free(r);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "wait", "[]",
                                             on_result, &w));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_false(w.got); /* pending, decided by the vat */
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "fire", "[7]",
                                             on_result, &f));
    lvat_kv_fail_commits(t.k->kv, LVAT_ETXNFULL, 1);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "block too large for the store"));
    r = lk_call(&t, thing, "hi", "[]", &st);
    assert_true(w.got && w.status == LVAT_EREJECTED &&
                strstr(w.text, "VAT_RESTARTED") != NULL);
    assert_true(f.got && f.status == LVAT_OK &&
                strstr(f.text, "nothing to fire") != NULL);
    assert_int_equal(st, LVAT_EREJECTED);
    assert_non_null(strstr(r, "OBJECT_DELETED"));
    free(r);
    lk_close(&t);
}

/* A follow-up due when the kernel facet's reset wipes the store (a fault
 * in a crank after the reset's, in the same block) is dropped with the
 * rest: it used to run for a vat that no longer exists, writing a life
 * record for it. */
static void
test_e2e_followup_reset_drops_it(void **state)
{
    char admin[32], flaky[32], cfg[512];
    uint32_t ran;
    answer a = {0}, b = {0};
    lk t;

    (void)state;
    lk_open(&t);
    lk_add_system(&t, "admin",
                  "{\"bootstrap\":\"sys\",\"services\":[\"kernelFacet\"],"
                  "\"vats\":{\"sys\":{\"sourceSpec\":\"sysvat.lua\"}}}");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", admin, sizeof admin));
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"flaky\",\"vats\":{\"flaky\":{\"sourceSpec\":"
             "\"flaky.lua\",\"creationOptions\":{\"timeLimitMs\":%u}}}}",
             limit_ms());
    assert_lvat_ok(lk_launch(&t, cfg));
    snprintf(flaky, sizeof flaky, "%s", t.root);
    a.t = b.t = &t;
    assert_lvat_ok(lvat_kernel_queue_message(t.k, admin, "call", "[\"reset\"]",
                                             on_result, &a));
    /* Apply the request, deliver call(): the facet's reset is queued. */
    assert_lvat_ok(lvat_kernel_step(t.k, 2, 0, &ran));
    assert_int_equal(ran, 2);
    assert_false(t.k->reset_pending);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, flaky, "loop", "[]",
                                             on_result, &b));
    /* One block: the request, the reset, the fault. */
    assert_lvat_ok(lvat_kernel_step(t.k, 3, 0, &ran));
    assert_true(lk_log_has(&t, "asked for a reset"));
    assert_lvat_ok(lvat_kernel_run(t.k));
    {
        char key[32], *v;
        snprintf(key, sizeof key, "v%u.s", t.k->crank.failed_vat);
        v = lk_get(&t, LVAT_DB_KERNEL, key);
        if (v != NULL)
            fail_msg("a follow-up ran after the reset for a vat that no "
                     "longer exists: %s = \"%s\"", key, v);
    }
    lk_close(&t);
}

/* A vat that overruns its own memory limit three times in a row is
 * suspended: those faults are its own. */
static void
test_e2e_followup_own_memory_limit_counts(void **state)
{
    char cfg[512], *r;
    int st;
    lk t;

    (void)state;
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"looper\",\"vats\":{\"looper\":{"
             "\"sourceSpec\":\"looper.lua\",\"creationOptions\":"
             "{\"timeLimitMs\":%u,\"memoryLimit\":8388608}}}}",
             lvat_test_under_valgrind() ? 20000 : 3000);
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, cfg));
    for (int i = 0; i < 3; i++) {
        r = lk_call(&t, t.root, "hog", "[]", &st);
        assert_int_equal(st, LVAT_EREJECTED);
        free(r);
    }
    r = lk_call(&t, t.root, "count", "[]", &st);
    if (st != LVAT_EREJECTED || !strstr(r, "VAT_SUSPENDED"))
        fail_msg("not suspended: %s %s", lvat_err_name(st), r);
    free(r);
    lk_close(&t);
}

/* ---- The process out of memory while a vat's heap is rebuilt ---- */

static const lvat_vat_ops *real_ops;
static int create_fails; /* the next create calls that fail LVAT_ENOMEM */

static int
w_create(void *ud, const lvat_vat_spec *spec, void **vat, lvat_errbuf *err)
{
    if (create_fails > 0) {
        create_fails--;
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    return real_ops->create(ud, spec, vat, err);
}

static int
w_deliver(void *vat, const lvat_delivery *d, lvat_errbuf *err)
{
    return real_ops->deliver(vat, d, err);
}

static void
w_destroy(void *vat)
{
    real_ops->destroy(vat);
}

static size_t
w_memory(void *vat)
{
    return real_ops->memory(vat);
}

static const lvat_vat_ops wrapped = {w_create, w_deliver, w_destroy,
                                     w_memory};

static void
w_log(void *ud, lvat_log_level level, const char *line, size_t len)
{
    lk *t = ud;

    (void)level;
    lvat_buf_append(&t->log, line, len);
    lvat_buf_putc(&t->log, '\n');
}

/* Reopens t's kernel with the wrapped runtime. */
static void
reopen_wrapped(lk *t)
{
    lvat_options o;
    char err[512];

    lvat_kernel_close(t->k);
    real_ops = lvat_lua_vat_ops();
    lvat_options_init(&o);
    o.dir = t->dir;
    o.durability = LVAT_DURABILITY_NOSYNC;
    o.vat_ops = &wrapped;
    o.vat_ops_ud = t->rt;
    o.log = w_log;
    o.log_ud = t;
    o.log_level = LVAT_LOG_DEBUG;
    o.vat_time_limit_ms = t->vat_time_limit_ms;
    if (lvat_kernel_open(&o, &t->k, err, sizeof err) != LVAT_OK)
        fail_msg("open: %s", err);
}

/* A vat that ran before, whose heap cannot be rebuilt because the process
 * is out of memory, is not suspended (as a failure of its own start
 * would be): the next delivery rebuilds it. */
static void
test_e2e_followup_process_oom_does_not_suspend(void **state)
{
    char *r;
    int st;
    lk t;

    (void)state;
    lk_open(&t);
    reopen_wrapped(&t);
    {
        char cfg[512];
        snprintf(cfg, sizeof cfg,
                 "{\"bootstrap\":\"flaky\",\"vats\":{\"flaky\":{"
                 "\"sourceSpec\":\"flaky.lua\"}}}");
        assert_lvat_ok(lk_launch(&t, cfg));
    }
    r = lk_call(&t, t.root, "ping", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    free(r);
    /* A restart: the next delivery rebuilds the heap; the process is out
     * of memory just then. */
    reopen_wrapped(&t);
    create_fails = 1;
    r = lk_call(&t, t.root, "ping", "[]", &st);
    assert_int_equal(st, LVAT_EREJECTED);
    free(r);
    r = lk_call(&t, t.root, "ping", "[]", &st);
    if (st != LVAT_OK)
        fail_msg("a process out of memory while rebuilding the heap left "
                 "the vat: %s %s", lvat_err_name(st), r);
    free(r);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_followup_in_the_next_block),
        cmocka_unit_test(test_e2e_followup_survives_its_block_abort),
        cmocka_unit_test(test_e2e_followup_txnfull_retry_restarts_the_vat),
        cmocka_unit_test(test_e2e_followup_reset_drops_it),
        cmocka_unit_test(test_e2e_followup_own_memory_limit_counts),
        cmocka_unit_test(test_e2e_followup_process_oom_does_not_suspend),
    };
    return cmocka_run_group_tests_name("e2e_followup", tests, NULL, NULL);
}
