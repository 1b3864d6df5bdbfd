/*
 * Allocation failures inside the kernel (style.md rule 36): a round trip
 * between two fake vats, and a launch, are run with the 1st, 2nd, 3rd...
 * kernel allocation failing until one runs with no failure.  Each time the
 * kernel must report the failure cleanly (or turn it into a vat fault),
 * lose nothing the host asked for, answer exactly once after the failure
 * is lifted, and leak nothing (the sanitizer and valgrind builds check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"
#include "lvat_test.h"

#define MAX_STEPS 20000

/* ---- Handlers that tolerate failing syscalls ---- */

static int
pong(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_return(c, "#\"pong\"");
}

static int
ask(fv_call *c, void *ud)
{
    lvat_vref asked;

    LVAT_UNUSED(ud);
    fv_keep(c->vat, "reply", c->result);
    return fv_send(c, fv_arg_ref(c, 0), "#[\"ping\",[]]", NULL, 0, &asked);
}

static int
answer(fv_call *c, void *ud)
{
    const lvat_resolution *r = c->d->resolutions;

    LVAT_UNUSED(ud);
    if (!fv_has(c->vat, "reply"))
        return LVAT_OK; /* a restarted incarnation: nothing to answer */
    return fv_resolve_cd(c, fv_kept(c->vat, "reply"), r->rejected, &r->data);
}

/* Runs with the nth allocation failing (every one from the nth on for an
 * odd `round`), then without; true when the failure was never reached. */
static bool
run_failing(kf *f, unsigned long n, int round)
{
    unsigned long seen;
    int rc;

    lvat_alloc_fail_after(n, round % 2);
    rc = lvat_kernel_run(f->k);
    seen = lvat_alloc_fail_after(0, 0);
    if (rc != LVAT_OK)
        assert_int_equal(rc, LVAT_ENOMEM);
    kf_run(f);
    return seen < n;
}

static void
check_answer(const kf_result *r)
{
    assert_int_equal(r->calls, 1);
    if (r->status == LVAT_OK)
        assert_string_equal(r->body, "#\"pong\"");
    else if (strstr(r->body, "[KERNEL:VAT_FAULT]") == NULL &&
             strstr(r->body, "[KERNEL:VAT_RESTARTED]") == NULL)
        fail_msg("unexpected answer %s", r->body);
}

static void
test_kernel_oom_round_trip(void **state)
{
    kf *f = *state;
    size_t promises, keys;
    char args[64];
    kf_launch l;
    kf_result r;
    unsigned long n;

    fv_on(f->w, "bob", "ping", pong, NULL);
    fv_on(f->w, "alice", "ask", ask, NULL);
    fv_on_notify(f->w, "alice", answer, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", kf_root(f, 2));
    kf_call(f, l.root, "ask", args, &r);
    check_answer(&r);
    promises = kf_count_promises(f);
    keys = kf_count(f, LVAT_DB_KERNEL, "");
    for (n = 1; n < MAX_STEPS * 2; n++) {
        assert_lvat_ok(kf_send(f, l.root, "ask", args, &r));
        if (run_failing(f, n / 2, (int)n) && n % 2)
            break;
        check_answer(&r);
        assert_int_equal(kf_count_promises(f), promises);
    }
    assert_true(n > 20 && n < MAX_STEPS * 2);
    check_answer(&r);
    assert_int_equal(r.status, LVAT_OK);
    /* Restarted incarnations and all, nothing was left behind. */
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "gc."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, ""), keys);
}

static int
crash(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_fail(c, LVAT_EFAULT, "crashed on purpose");
}

static void
test_kernel_oom_fault_follow_up(void **state)
{
    kf *f = *state;
    size_t promises;
    kf_launch l;
    kf_result r;
    unsigned long n;

    fv_on(f->w, "bob", "crash", crash, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    promises = kf_count_promises(f);
    for (n = 1; n < MAX_STEPS * 2; n++) {
        /* Revive bob each time: three faults in a row would suspend it. */
        assert_lvat_ok(lvat_kernel_restart_vat(f->k, "v2"));
        assert_lvat_ok(kf_send(f, kf_root(f, 2), "crash", NULL, &r));
        if (run_failing(f, n / 2, (int)n) && n % 2)
            break;
        kf_assert_rejected(&r, "[KERNEL:VAT_FAULT]");
    }
    assert_true(n > 20 && n < MAX_STEPS * 2);
    kf_assert_rejected(&r, "[KERNEL:VAT_FAULT] crashed on purpose");
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
}

static int
bad_send(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_send(c, fv_vref("o-99"), "#[\"x\",[]]", NULL, 0, NULL);
}

static void
test_kernel_oom_termination(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "victim", "victim");
    kf_launch l;
    kf_result r;
    unsigned long n;

    fv_on(f->w, "victim", "bad", bad_send, NULL);
    for (n = 1; n < MAX_STEPS * 2; n++) {
        assert_lvat_ok(kf_launch_json(f, cfg, &l));
        assert_lvat_ok(kf_send(f, l.root, "bad", NULL, &r));
        if (run_failing(f, n / 2, (int)n) && n % 2)
            break;
        /* A failure inside a syscall is a fault, not the vat's doing. */
        assert_int_equal(r.calls, 1);
        if (strstr(r.body, "[KERNEL:VAT_FAULT]") == NULL)
            kf_assert_rejected(&r, "[KERNEL:OBJECT_DELETED]");
    }
    free(cfg);
    assert_true(n > 20 && n < MAX_STEPS * 2);
    kf_assert_rejected(&r, "[KERNEL:OBJECT_DELETED]");
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "kp"), 0);
}

static void
test_kernel_oom_launch(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "alice", "alice,bob");
    kf_launch l;
    unsigned long n;

    for (n = 1; n < MAX_STEPS * 2; n++) {
        memset(&l, 0, sizeof l);
        assert_lvat_ok(lvat_kernel_launch_json(f->k, cfg, strlen(cfg), f->tmp,
                                               kf_launch_cb(), &l));
        if (run_failing(f, n / 2, (int)n) && n % 2)
            break;
        /* Either it worked, or a vat fault failed it and nothing stays. */
        assert_true(l.nevents >= 1);
        if (l.events[l.nevents - 1] != LVAT_LAUNCH_DONE)
            assert_int_equal(l.events[l.nevents - 1], LVAT_LAUNCH_FAILED);
    }
    free(cfg);
    assert_true(n > 20 && n < MAX_STEPS * 2);
    assert_int_equal(l.nevents, 2);
    assert_int_equal(l.events[1], LVAT_LAUNCH_DONE);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
    assert_int_equal(fv_live(f->w), 2 * kf_count(f, LVAT_DB_KERNEL, "sub."));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_oom_round_trip,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_oom_fault_follow_up,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_oom_termination,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_oom_launch, kf_test_setup,
                                        kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_oom", tests, NULL, NULL);
}
