/*
 * Messages and promises through the kernel with two fake vats (alice v1,
 * bob v2): results fulfilled and rejected, deciders (design.md §7),
 * promises as arguments and results, pipelining and forwarding in send
 * order, promise cycles, sends to rejected promises and to data, notify
 * batches, promises retired and deleted once settled, and c-list lookups
 * of krefs made in the open block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_fixture.h"
#include "kernel_int.h"
#include "lvat_test.h"

static kf *g_f; /* the running test's fixture, for handlers */
static int seen[16];
static int nseen;

/* ---- Helpers ---- */

static void
launch2(kf *f, kf_launch *l)
{
    g_f = f;
    nseen = 0;
    kf_launch_ok(f, "alice", "alice,bob", l);
}

/* The kref a vat's c-list maps `vref` to (static buffer), or NULL. */
static const char *
kref_of(kf *f, uint32_t vat, lvat_vref vref)
{
    static char out[32];
    char key[64], *v;

    snprintf(key, sizeof key, "v%u.c.%s", vat, fv_vstr(vref));
    v = kf_get(f, key);
    if (v == NULL)
        return NULL;
    snprintf(out, sizeof out, "%s", v);
    free(v);
    return out;
}

static void
step(kf *f, uint32_t cranks)
{
    uint32_t ran = 0;

    assert_lvat_ok(lvat_kernel_step(f->k, cranks, 0, &ran));
    assert_int_equal(ran, cranks);
}

/* ---- Handlers ---- */

static int
pong(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_return(c, "#\"pong\"");
}

static int
raise_bad(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_raise(c, "bob.lua:5: bad input");
}

/* Records its integer argument, answers it. */
static int
record(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_true(nseen < 16);
    seen[nseen++] = (int)fv_arg_int(c, 0);
    if (lvat_vref_is_none(c->result))
        return LVAT_OK;
    return fv_return(c, fv_fmt(c, "%d", seen[nseen - 1]));
}

/* later(name): keeps its result under `name`, unresolved. */
static int
later(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    fv_keep(c->vat, fv_arg_str(c, 0), c->result);
    return LVAT_OK;
}

/* release(name, obj): fulfils the kept promise with the object. */
static int
release(fv_call *c, void *ud)
{
    lvat_vref obj = fv_arg_ref(c, 1);
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_resolve(c, fv_kept(c->vat, fv_arg_str(c, 0)), false,
                    "#\"$0.Alleged: alice\"", &obj, 1);
    return rc ? rc : fv_return(c, "#null");
}

/* forward(from, to): fulfils kept `from` with kept promise `to`. */
static int
forward(fv_call *c, void *ud)
{
    lvat_vref to = fv_kept(c->vat, fv_arg_str(c, 1));
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_resolve(c, fv_kept(c->vat, fv_arg_str(c, 0)), false, "#\"&0\"", &to,
                    1);
    return rc ? rc : fv_return(c, "#null");
}

/* settle(name, rejected, body) */
static int
settle(fv_call *c, void *ud)
{
    const char *body = fv_arg_str(c, 2);
    bool rejected = fv_arg_int(c, 1) != 0;
    int rc;

    LVAT_UNUSED(ud);
    if (strcmp(body, "error") == 0)
        body = "#{\"#error\":\"nope\",\"name\":\"Error\"}";
    rc = fv_resolve(c, fv_kept(c->vat, fv_arg_str(c, 0)), rejected, body, NULL,
                    0);
    return rc ? rc : fv_return(c, "#null");
}

/* cycle(a, b): fulfils kept a with b and b with a, in one syscall (once a
 * is settled the vat can no longer name it). */
static int
cycle(fv_call *c, void *ud)
{
    lvat_vref a = fv_kept(c->vat, fv_arg_str(c, 0));
    lvat_vref b = fv_kept(c->vat, fv_arg_str(c, 1));
    lvat_resolution res[2] = {
        {a, false, {"#\"&0\"", 5, &b, 1}},
        {b, false, {"#\"&0\"", 5, &a, 1}},
    };
    int rc;

    LVAT_UNUSED(ud);
    rc = lvat_syscall_resolve(fv_sys(c->vat), res, 2);
    return rc ? rc : fv_return(c, "#null");
}

static void
use_bob_promises(kf *f)
{
    fv_on(f->w, "bob", "cycle", cycle, NULL);
    fv_on(f->w, "bob", "later", later, NULL);
    fv_on(f->w, "bob", "release", release, NULL);
    fv_on(f->w, "bob", "forward", forward, NULL);
    fv_on(f->w, "bob", "settle", settle, NULL);
    fv_on(f->w, "alice", "m", record, NULL);
}

/* ---- Results ---- */

static void
test_kernel_promises_results(void **state)
{
    kf *f = *state;
    kf_launch l;
    kf_result r;

    fv_on(f->w, "bob", "ping", pong, NULL);
    fv_on(f->w, "bob", "fail", raise_bad, NULL);
    launch2(f, &l);
    kf_call(f, kf_root(f, 2), "ping", NULL, &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_string_equal(r.body, "#\"pong\"");
    kf_call(f, kf_root(f, 2), "fail", "[1, \"two\"]", &r);
    kf_assert_rejected(&r, "bob.lua:5: bad input");
    /* A one-way send reaches the vat with no result. */
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "ping", NULL, NULL));
    kf_run(f);
    assert_int_equal(fv_log_count(f->w, "msg bob ping"), 2);
    /* The method raised, so the vat keeps running: no restart. */
    assert_int_equal(fv_stats_of(f->w, "bob")->starts, 1);
    assert_int_equal(kf_send(f, "ko999", "ping", NULL, &r), LVAT_ENOTFOUND);
    assert_int_equal(kf_send(f, "o+1", "ping", NULL, &r), LVAT_EINVAL);
}

/* Checks, during delivery, that the receiver decides its result. */
static int
check_decider(fv_call *c, void *ud)
{
    const char *kp = kref_of(g_f, fv_id(c->vat), c->result);
    char key[64], *idx;

    LVAT_UNUSED(ud);
    assert_non_null(kp);
    assert_string_equal(kf_field(g_f, kp, 2), "v2");
    snprintf(key, sizeof key, "v2.d.%s", kp);
    idx = kf_get(g_f, key);
    assert_non_null(idx);
    free(idx);
    return fv_return(c, "#\"decided\"");
}

/* relay(target): sends target.check() with a result it keeps. */
static int
relay(fv_call *c, void *ud)
{
    lvat_vref res;
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_send(c, fv_arg_ref(c, 0), "#[\"check\",[]]", NULL, 0, &res);
    fv_keep(c->vat, "asked", res);
    fv_keep(c->vat, "reply", c->result);
    return rc;
}

/* On the notify of "asked", answers the host with the value. */
static int
relay_notified(fv_call *c, void *ud)
{
    const lvat_resolution *r = &c->d->resolutions[0];

    LVAT_UNUSED(ud);
    assert_true(lvat_vref_eq(r->vpid, fv_kept(c->vat, "asked")));
    return fv_resolve_cd(c, fv_kept(c->vat, "reply"), r->rejected, &r->data);
}

static void
test_kernel_promises_decider_moves_at_delivery(void **state)
{
    kf *f = *state;
    char args[64], kp[32];
    kf_launch l;
    kf_result r;

    fv_on(f->w, "bob", "check", check_decider, NULL);
    fv_on(f->w, "alice", "relay", relay, NULL);
    fv_on_notify(f->w, "alice", relay_notified, NULL);
    launch2(f, &l);
    /* From the host: no decider while queued. */
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "check", NULL, &r));
    step(f, 1);
    snprintf(kp, sizeof kp, "%s", kf_last_kp(f));
    assert_string_equal(kf_field(f, kp, 0), "u");
    assert_string_equal(kf_field(f, kp, 2), "-");
    kf_run(f);
    assert_string_equal(r.body, "#\"decided\"");
    assert_null(kf_get(f, kp));
    /* From a vat: the sender gives up deciding and subscribes. */
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", kf_root(f, 2));
    assert_lvat_ok(kf_send(f, l.root, "relay", args, &r));
    step(f, 2);
    snprintf(kp, sizeof kp, "%s", kf_last_kp(f));
    assert_string_equal(kf_field(f, kp, 2), "-");
    assert_string_equal(kf_field(f, kp, 3), "v1");
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.d."), 1);
    kf_run(f);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.body, "#\"decided\"");
    assert_null(kf_get(f, kp));
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.d."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.d."), 0);
}

/* give(p): subscribes to the promise it is given, keeps it. */
static int
take_promise(fv_call *c, void *ud)
{
    lvat_vref p = fv_arg_ref(c, 0);

    LVAT_UNUSED(ud);
    assert_true(lvat_vref_is_promise(p));
    assert_false(lvat_vref_is_export(p));
    return fv_subscribe(c, p);
}

/* offer(bob): sends bob.take(p+N) with a fresh promise it decides. */
static int
offer(fv_call *c, void *ud)
{
    lvat_vref p = fv_new_promise(c->vat);
    int rc;

    LVAT_UNUSED(ud);
    fv_keep(c->vat, "gift", p);
    rc = fv_send(c, fv_kept(c->vat, "vats.bob"), "#[\"take\",[\"&0\"]]", &p, 1,
                 NULL);
    return rc ? rc : fv_return(c, "#null");
}

static int
deliver_gift(fv_call *c, void *ud)
{
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_resolve(c, fv_kept(c->vat, "gift"), false, "#\"gift\"", NULL, 0);
    return rc ? rc : fv_return(c, "#null");
}

static void
test_kernel_promises_as_argument_and_result(void **state)
{
    kf *f = *state;
    char args[64];
    size_t base;
    kf_launch l;
    kf_result r;

    fv_on(f->w, "bob", "take", take_promise, NULL);
    fv_on(f->w, "bob", "check", pong, NULL);
    fv_on(f->w, "alice", "offer", offer, NULL);
    fv_on(f->w, "alice", "deliver", deliver_gift, NULL);
    fv_on(f->w, "alice", "relay", relay, NULL);
    fv_on_notify(f->w, "alice", relay_notified, NULL);
    launch2(f, &l);
    base = kf_count_promises(f);
    kf_call(f, l.root, "offer", NULL, &r);
    assert_int_equal(kf_count_promises(f), base + 1);
    kf_call(f, l.root, "deliver", NULL, &r);
    assert_true(fv_log_find(f->w, "notify bob p-1 f #\"gift\"", 0) >= 0);
    /* As a result: alice asks bob and answers with what bob said. */
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", kf_root(f, 2));
    kf_call(f, l.root, "relay", args, &r);
    assert_string_equal(r.body, "#\"pong\"");
    assert_int_equal(kf_count_promises(f), base);
}

/* ---- Pipelining ---- */

static void
queue_m(kf *f, const char *target, int n, kf_result *r)
{
    char args[16];

    snprintf(args, sizeof args, "[%d]", n);
    assert_lvat_ok(kf_send(f, target, "m", args, r));
}

static void
test_kernel_promises_pipelined_in_send_order(void **state)
{
    kf *f = *state;
    kf_result r0, r[3], rr;
    char kp[32], prefix[40], args[80];
    kf_launch l;

    use_bob_promises(f);
    launch2(f, &l);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"p\"]", &r0));
    kf_run(f);
    snprintf(kp, sizeof kp, "%s", kf_last_kp(f));
    for (int i = 0; i < 3; i++)
        queue_m(f, kp, i + 1, &r[i]);
    kf_run(f);
    /* Parked in order; their results have no decider yet. */
    snprintf(prefix, sizeof prefix, "%s.q.", kp);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, prefix), 3);
    assert_string_equal(kf_field(f, kf_last_kp(f), 2), "-");
    assert_int_equal(nseen, 0);
    snprintf(args, sizeof args, "[\"p\",{\"@kref\":\"%s\"}]", l.root);
    kf_call(f, kf_root(f, 2), "release", args, &rr);
    assert_int_equal(nseen, 3);
    for (int i = 0; i < 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i + 1);
        assert_int_equal(seen[i], i + 1);
        assert_string_equal(r[i].body, want);
    }
    assert_int_equal(r0.status, LVAT_OK);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, prefix), 0);
}

static void
test_kernel_promises_forwarding_keeps_send_order(void **state)
{
    kf *f = *state;
    char kp1[32], args[80];
    kf_result r0, r1, r[2], rr;
    kf_launch l;

    use_bob_promises(f);
    launch2(f, &l);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"a\"]", &r0));
    kf_run(f);
    snprintf(kp1, sizeof kp1, "%s", kf_last_kp(f));
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"b\"]", &r1));
    kf_run(f);
    queue_m(f, kp1, 1, &r[0]);
    kf_run(f);
    /* a -> b while m(1) waits on a; m(2) is sent to a right after. */
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "forward", "[\"a\",\"b\"]", &rr));
    step(f, 2);
    queue_m(f, kp1, 2, &r[1]);
    kf_run(f);
    assert_int_equal(nseen, 0);
    snprintf(args, sizeof args, "[\"b\",{\"@kref\":\"%s\"}]", l.root);
    kf_call(f, kf_root(f, 2), "release", args, &rr);
    assert_int_equal(nseen, 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 2);
    assert_string_equal(r[1].body, "2");
}

/* ---- Cycles, rejections, data ---- */

static void
test_kernel_promises_cycle_is_rejected(void **state)
{
    kf *f = *state;
    char kpa[32], kpb[32];
    kf_result ra, rb, r[2], rr;
    size_t base;
    kf_launch l;

    use_bob_promises(f);
    launch2(f, &l);
    base = kf_count_promises(f);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"a\"]", &ra));
    kf_run(f);
    snprintf(kpa, sizeof kpa, "%s", kf_last_kp(f));
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"b\"]", &rb));
    kf_run(f);
    snprintf(kpb, sizeof kpb, "%s", kf_last_kp(f));
    queue_m(f, kpa, 1, &r[0]);
    queue_m(f, kpb, 2, &r[1]);
    kf_call(f, kf_root(f, 2), "cycle", "[\"a\",\"b\"]", &rr);
    assert_int_equal(rr.status, LVAT_OK);
    kf_assert_rejected(&rb, "[KERNEL:PROMISE_CYCLE]");
    /* kpa is fulfilled to kpb; the host's wait follows it there. */
    kf_assert_rejected(&ra, "[KERNEL:PROMISE_CYCLE]");
    assert_non_null(strstr(ra.body, kpb));
    kf_assert_rejected(&r[0], "[KERNEL:PROMISE_CYCLE]");
    kf_assert_rejected(&r[1], "[KERNEL:PROMISE_CYCLE]");
    assert_int_equal(nseen, 0);
    assert_int_equal(kf_count_promises(f), base);
}

static void
test_kernel_promises_rejected_target_rejects_results(void **state)
{
    kf *f = *state;
    kf_result r0, r[2], rr;
    char kp[32];
    kf_launch l;

    use_bob_promises(f);
    launch2(f, &l);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"p\"]", &r0));
    kf_run(f);
    snprintf(kp, sizeof kp, "%s", kf_last_kp(f));
    queue_m(f, kp, 1, &r[0]);
    queue_m(f, kp, 2, &r[1]);
    kf_call(f, kf_root(f, 2), "settle", "[\"p\",1,\"error\"]", &rr);
    kf_assert_rejected(&r0, "nope");
    kf_assert_rejected(&r[0], "nope");
    kf_assert_rejected(&r[1], "nope");
    assert_string_equal(r[0].body, r0.body);
    assert_string_equal(r[1].body, r0.body);
    assert_int_equal(nseen, 0);
}

static void
test_kernel_promises_data_is_not_a_target(void **state)
{
    kf *f = *state;
    kf_result r0, r1, rr;
    char kp[32];
    kf_launch l;

    use_bob_promises(f);
    launch2(f, &l);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "later", "[\"p\"]", &r0));
    kf_run(f);
    snprintf(kp, sizeof kp, "%s", kf_last_kp(f));
    queue_m(f, kp, 1, &r1);
    kf_call(f, kf_root(f, 2), "settle", "[\"p\",0,\"#42\"]", &rr);
    assert_int_equal(r0.status, LVAT_OK);
    assert_string_equal(r0.body, "#42");
    kf_assert_rejected(&r1, "[KERNEL:BAD_PROMISE_RESOLUTION]");
    assert_non_null(strstr(r1.body, kp));
}

/* Krefs made since the store last changed skip LMDB in c-list lookups
 * (lvat__kref_fresh); one stored by a commit must be found there again. */
static void
test_kernel_promises_fresh_krefs_skip_lmdb(void **state)
{
    kf *f = *state;
    lvat_kvat *bob;
    lvat_kref kp, ko, later;
    lvat_vref v1, v2;
    lvat_errbuf err;
    kf_launch l;

    launch2(f, &l);
    bob = lvat__vat_find(f->k, 2);
    assert_non_null(bob);
    assert_lvat_ok(lvat__kp_new(f->k, 1, &kp));
    assert_lvat_ok(lvat__ko_new(f->k, 1, &ko));
    assert_true(lvat__kref_fresh(f->k, kp));
    assert_true(lvat__kref_fresh(f->k, ko));
    assert_lvat_rc(lvat__clist_lookup_k(f->k, 2, kp, &v1, NULL),
                   LVAT_ENOTFOUND);
    assert_lvat_ok(lvat__clist_to_vat(f->k, bob, kp, &v1));
    assert_lvat_ok(lvat__clist_lookup_k(f->k, 2, kp, &v2, NULL));
    assert_true(v1.v == v2.v);

    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
    assert_false(lvat__kref_fresh(f->k, kp));
    assert_false(lvat__kref_fresh(f->k, ko));
    assert_lvat_ok(lvat__clist_lookup_k(f->k, 2, kp, &v2, NULL));
    assert_true(v1.v == v2.v);
    assert_lvat_ok(lvat__kp_new(f->k, 1, &later));
    assert_true(lvat__kref_fresh(f->k, later));
    assert_false(lvat__kref_fresh(f->k, kp));
    lvat_kv_block_abort(f->k->kv);
    assert_false(lvat__kref_fresh(f->k, later));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_promises_results,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_decider_moves_at_delivery, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_as_argument_and_result, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_pipelined_in_send_order, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_forwarding_keeps_send_order, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_promises_cycle_is_rejected,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_rejected_target_rejects_results, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_data_is_not_a_target, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_promises_fresh_krefs_skip_lmdb, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_promises", tests, NULL, NULL);
}
