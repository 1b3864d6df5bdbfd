/*
 * Reference counting and collection with two fake vats (alice v1, bob v2):
 * notify batches carry the settled promises a value names, each once,
 * and retire them all; settled promises leave the c-lists and the store;
 * dropped and retired imports reach the exporter as
 * dropExports/retireExports; notifies queued back to back join into one
 * delivery; a promise whose value names itself is collected; and a
 * 10,000-round ping leaves the number of keys flat.
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

#define PING_ROUNDS 10000

/* ---- Handlers ---- */

static int
pong(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_return(c, "#\"pong\"");
}

/* give(): fulfils its result with {x: inner}, inner with [deep], deep
 * with "deep" -- all settled before the asker hears of the first. */
static int
give(fv_call *c, void *ud)
{
    lvat_vref deep = fv_new_promise(c->vat), inner = fv_new_promise(c->vat);
    lvat_resolution res[3] = {
        {deep, false, {"#\"deep\"", 7, NULL, 0}},
        {inner, false, {"#[\"&0\"]", 7, &deep, 1}},
        {c->result, false, {"#{\"x\":\"&0\"}", 11, &inner, 1}},
    };

    LVAT_UNUSED(ud);
    return lvat_syscall_resolve(fv_sys(c->vat), res, 3);
}

/* ask(target, method): sends target.method() and keeps both promises. */
static int
ask(fv_call *c, void *ud)
{
    const char *body = fv_fmt(c, "#[\"%s\",[]]", fv_arg_str(c, 1));
    lvat_vref asked;
    int rc = fv_send(c, fv_arg_ref(c, 0), body, NULL, 0, &asked);

    LVAT_UNUSED(ud);
    fv_keep(c->vat, "asked", asked);
    fv_keep(c->vat, "reply", c->result);
    return rc;
}

static int
ask_notified(fv_call *c, void *ud)
{
    const lvat_resolution *r = c->d->resolutions;

    LVAT_UNUSED(ud);
    assert_int_equal(c->d->nresolutions, 3);
    assert_true(lvat_vref_eq(r[0].vpid, fv_kept(c->vat, "asked")));
    assert_true(fv_body_is(&r[0].data, "#{\"x\":\"&0\"}"));
    assert_true(lvat_vref_eq(r[0].data.slots[0], r[1].vpid));
    assert_true(lvat_vref_eq(r[1].data.slots[0], r[2].vpid));
    assert_true(fv_body_is(&r[2].data, "#\"deep\""));
    for (int i = 0; i < 3; i++) {
        assert_false(r[i].rejected);
        assert_true(lvat_vref_is_promise(r[i].vpid));
    }
    return fv_resolve(c, fv_kept(c->vat, "reply"), false, "#\"ok\"", NULL, 0);
}

static void
launch2(kf *f, kf_launch *l)
{
    kf_launch_ok(f, "alice", "alice,bob", l);
}

static const char *
bob_arg(kf *f, const char *method)
{
    static char args[96];

    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"},\"%s\"]", kf_root(f, 2),
             method);
    return args;
}

/* Alice's ask() asks bob's `method` (fn), her notifies go to notified,
 * and both are launched. */
static void
launch_ask(kf *f, const char *method, fv_fn fn, fv_fn notified, kf_launch *l)
{
    fv_on(f->w, "bob", method, fn, NULL);
    fv_on(f->w, "alice", "ask", ask, NULL);
    fv_on_notify(f->w, "alice", notified, NULL);
    launch2(f, l);
}

/* ---- Promises ---- */

/* Alice asks bob's `method`; its notify carries nres resolutions, each
 * retired from both c-lists and deleted. */
static void
ask_hears_batch(kf *f, const char *method, fv_fn fn, fv_fn notified,
                int nres)
{
    size_t promises;
    kf_launch l;
    kf_result r;

    launch_ask(f, method, fn, notified, &l);
    promises = kf_count_promises(f);
    kf_call(f, l.root, "ask", bob_arg(f, method), &r);
    assert_string_equal(r.body, "#\"ok\"");
    assert_int_equal(fv_stats_of(f->w, "alice")->notifies, 1);
    assert_int_equal(fv_stats_of(f->w, "alice")->resolutions, nres);
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.c.p"), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.c.kp"), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.c.p"), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.c.kp"), 0);
}

static void
test_kernel_gc_notify_batch_carries_settled(void **state)
{
    ask_hears_batch(*state, "give", give, ask_notified, 3);
}

#define CHAIN 40 /* past a notify batch's inline entries */

/* lattice(): fulfils its result with {x: p0}, where p0 .. pCHAIN-1 are
 * settled promises, each value naming the next two: a walk of the
 * values reaches most of them by many paths (no cycle: all are
 * collected). */
static int
lattice(fv_call *c, void *ud)
{
    static const char *body[] = {"#{\"a\":\"&0\",\"b\":\"&1\"}",
                                 "#{\"a\":\"&0\"}", "#null"};
    lvat_vref p[CHAIN];
    lvat_resolution res[CHAIN + 1];

    LVAT_UNUSED(ud);
    for (int i = 0; i < CHAIN; i++)
        p[i] = fv_new_promise(c->vat);
    for (int i = 0; i < CHAIN; i++) {
        int next = CHAIN - 1 - i < 2 ? CHAIN - 1 - i : 2; /* slots */
        const char *b = body[2 - next];
        res[i] = (lvat_resolution){
            p[i], false, {b, strlen(b), next ? &p[i + 1] : NULL, (size_t)next}};
    }
    res[CHAIN] = (lvat_resolution){c->result, false,
                                   {"#{\"x\":\"&0\"}", 11, &p[0], 1}};
    return lvat_syscall_resolve(fv_sys(c->vat), res, CHAIN + 1);
}

/* The asker hears the result and each promise of the lattice once. */
static int
lattice_notified(fv_call *c, void *ud)
{
    const lvat_resolution *r = c->d->resolutions;

    LVAT_UNUSED(ud);
    assert_int_equal(c->d->nresolutions, CHAIN + 1);
    for (size_t i = 0; i < c->d->nresolutions; i++)
        for (size_t j = 0; j < i; j++)
            assert_false(lvat_vref_eq(r[i].vpid, r[j].vpid));
    return fv_resolve(c, fv_kept(c->vat, "reply"), false, "#\"ok\"", NULL, 0);
}

static void
test_kernel_gc_notify_batch_holds_each_promise_once(void **state)
{
    ask_hears_batch(*state, "lattice", lattice, lattice_notified, CHAIN + 1);
}

static int
ask_plain(fv_call *c, void *ud)
{
    const lvat_resolution *r = c->d->resolutions;

    LVAT_UNUSED(ud);
    return fv_resolve_cd(c, fv_kept(c->vat, "reply"), r->rejected, &r->data);
}

static void
test_kernel_gc_settled_promises_are_deleted(void **state)
{
    kf *f = *state;
    size_t promises, keys;
    kf_launch l;
    kf_result r;

    launch_ask(f, "ping", pong, ask_plain, &l);
    kf_call(f, l.root, "ask", bob_arg(f, "ping"), &r);
    promises = kf_count_promises(f);
    keys = kf_count(f, LVAT_DB_KERNEL, "");
    for (int i = 0; i < 50; i++) {
        kf_call(f, l.root, "ask", bob_arg(f, i % 2 ? "ping" : "nope"), &r);
        if (i % 2)
            assert_string_equal(r.body, "#\"pong\"");
        else
            kf_assert_rejected(&r, "no method nope");
        kf_call(f, kf_root(f, 2), "ping", NULL, &r);
    }
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "kp"), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, ""), keys);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.d."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.d."), 0);
}

/* selfref(): fulfils its result with {me: <the result itself>}. */
static int
selfref(fv_call *c, void *ud)
{
    static const char body[] = "#{\"me\":\"&0\"}";
    lvat_vref me = c->result;
    lvat_resolution res = {me, false, {body, sizeof body - 1, &me, 1}};

    LVAT_UNUSED(ud);
    return lvat_syscall_resolve(fv_sys(c->vat), &res, 1);
}

static int
ask_ok(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_true(lvat_vref_eq(c->d->resolutions[0].data.slots[0],
                             fv_kept(c->vat, "asked")));
    return fv_resolve(c, fv_kept(c->vat, "reply"), false, "#\"ok\"", NULL, 0);
}

/* A promise whose value names it holds no count on itself, so it goes
 * once nothing else names it. */
static void
test_kernel_gc_self_referential_promise_is_collected(void **state)
{
    kf *f = *state;
    size_t promises;
    kf_launch l;
    kf_result r;

    launch_ask(f, "selfref", selfref, ask_ok, &l);
    promises = kf_count_promises(f);
    for (int i = 0; i < 3; i++) {
        kf_call(f, l.root, "ask", bob_arg(f, "selfref"), &r);
        assert_string_equal(r.body, "#\"ok\"");
    }
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.c.kp"), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.c.kp"), 0);
}

/* ---- Notifies queued back to back join ---- */

#define FAN 100 /* more than one merged item holds */

typedef struct fan_state {
    lvat_vref sent[FAN];
    unsigned heard;
    bool in_order;
} fan_state;

/* fan(target): FAN pings, their promises kept in order. */
static int
fan(fv_call *c, void *ud)
{
    fan_state *s = ud;
    int rc = LVAT_OK;

    for (int i = 0; i < FAN && rc == LVAT_OK; i++)
        rc = fv_send(c, fv_arg_ref(c, 0), "#[\"ping\",[]]", NULL, 0,
                     &s->sent[i]);
    fv_keep(c->vat, "reply", c->result);
    return rc;
}

/* Checks the answers come in send order; answers when all are in. */
static int
fan_notified(fv_call *c, void *ud)
{
    fan_state *s = ud;

    for (size_t i = 0; i < c->d->nresolutions; i++, s->heard++) {
        s->in_order = s->in_order && s->heard < FAN &&
                      lvat_vref_eq(c->d->resolutions[i].vpid,
                                   s->sent[s->heard]) &&
                      fv_body_is(&c->d->resolutions[i].data, "#\"pong\"");
    }
    if (s->heard < FAN)
        return LVAT_OK;
    return fv_resolve(c, fv_kept(c->vat, "reply"), false, "#\"all\"", NULL,
                      0);
}

static void
test_kernel_gc_back_to_back_notifies_join(void **state)
{
    kf *f = *state;
    fan_state s;
    size_t promises;
    char args[96];
    kf_launch l;
    kf_result r;

    fv_on(f->w, "bob", "ping", pong, NULL);
    memset(&s, 0, sizeof s);
    s.in_order = true;
    fv_on(f->w, "alice", "fan", fan, &s);
    fv_on_notify(f->w, "alice", fan_notified, &s);
    launch2(f, &l);
    promises = kf_count_promises(f);
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", kf_root(f, 2));
    kf_call(f, l.root, "fan", args, &r);
    assert_string_equal(r.body, "#\"all\"");
    assert_true(s.in_order);
    /* FAN answers in two cranks: LVAT_NOTIFY_MERGE, then the rest. */
    assert_int_equal(fv_stats_of(f->w, "alice")->notifies,
                     (FAN + LVAT_NOTIFY_MERGE - 1) / LVAT_NOTIFY_MERGE);
    assert_int_equal(fv_stats_of(f->w, "alice")->resolutions, FAN);
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.c.p"), 0);
}

/* A joined item survives its text: what a restart reads back. */
static void
test_kernel_gc_joined_notify_item_text(void **state)
{
    lvat_item it, back;
    lvat_kref more[2] = {{0}};
    lvat_buf b = LVAT_BUF_INIT;

    LVAT_UNUSED(state);
    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_NOTIFY;
    it.vat = 7;
    assert_int_equal(lvat_kref_parse("kp3", 3, &it.kp), LVAT_OK);
    assert_int_equal(lvat_kref_parse("kp10", 4, &more[0]), LVAT_OK);
    assert_int_equal(lvat_kref_parse("kp4", 3, &more[1]), LVAT_OK);
    it.more = more;
    it.nmore = 2;
    assert_int_equal(lvat__item_encode(&b, &it), LVAT_OK);
    assert_string_equal(b.data, "n v7 kp3 kp10 kp4");
    assert_int_equal(lvat__item_decode(b.data, b.len, &back), LVAT_OK);
    assert_int_equal(back.vat, 7);
    assert_int_equal(back.nmore, 2);
    for (uint32_t i = 0; i <= 2; i++)
        assert_true(lvat_kref_eq(lvat__item_kp(&back, i),
                                 lvat__item_kp(&it, i)));
    lvat__item_free(&back);
    /* Not promises, or none at all: a corrupt item. */
    assert_int_equal(lvat__item_decode("n v7 ko3", 8, &back), LVAT_ECORRUPT);
    assert_int_equal(lvat__item_decode("n v7 ", 5, &back), LVAT_ECORRUPT);
    lvat_buf_free(&b);
}

/* ---- Objects ---- */

/* share(bob): sends bob.keep(o+N) with a new object (the same one on
 * later calls). */
static int
share(fv_call *c, void *ud)
{
    lvat_vref obj;
    int rc;

    LVAT_UNUSED(ud);
    if (!fv_has(c->vat, "obj"))
        fv_keep(c->vat, "obj", fv_new_object(c->vat));
    obj = fv_kept(c->vat, "obj");
    rc = fv_send(c, fv_arg_ref(c, 0), "#[\"keep\",[\"$0.Alleged: obj\"]]", &obj,
                 1, NULL);
    return rc ? rc : fv_return(c, "#null");
}

static int
keep(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    fv_keep(c->vat, "obj", fv_arg_ref(c, 0));
    return LVAT_OK;
}

/* gc(kind): drop_imports (0) or retire_imports (1) of the kept object. */
static int
report(fv_call *c, void *ud)
{
    lvat_vref obj = fv_kept(c->vat, "obj");
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_arg_int(c, 0) == 0
             ? lvat_syscall_drop_imports(fv_sys(c->vat), &obj, 1)
             : lvat_syscall_retire_imports(fv_sys(c->vat), &obj, 1);
    return rc ? rc : fv_return(c, "#null");
}

static const char *
obj_kref(kf *f)
{
    static char out[32];
    char *v = kf_get(f, "v1.c.o+1");

    if (v == NULL)
        return NULL;
    snprintf(out, sizeof out, "%s", v);
    free(v);
    return out;
}

static void
use_sharing(kf *f)
{
    fv_on(f->w, "alice", "share", share, NULL);
    fv_on(f->w, "bob", "keep", keep, NULL);
    fv_on(f->w, "bob", "gc", report, NULL);
}

static void
test_kernel_gc_drop_and_retire_reach_exporter(void **state)
{
    kf *f = *state;
    char ko[32], key[48];
    kf_launch l;
    kf_result r;

    use_sharing(f);
    launch2(f, &l);
    kf_call(f, l.root, "share", bob_arg(f, "x"), &r);
    snprintf(ko, sizeof ko, "%s", obj_kref(f));
    assert_string_equal(kf_field(f, ko, 1), "1");
    kf_call(f, kf_root(f, 2), "gc", "[0]", &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_true(fv_log_find(f->w, "drop alice o+1", 0) >= 0);
    assert_int_equal(fv_log_count(f->w, "retire "), 0);
    assert_string_equal(kf_field(f, ko, 1), "0");
    assert_string_equal(kf_field(f, ko, 2), "1");
    snprintf(key, sizeof key, "v1.c.%s", ko);
    assert_string_equal(kf_field(f, key, 0), "_");
    kf_call(f, kf_root(f, 2), "gc", "[1]", &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_true(fv_log_find(f->w, "retire alice o+1", 0) >= 0);
    assert_null(kf_get(f, ko));
    assert_null(obj_kref(f));
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.c.o-"), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "gc."), 0);
    assert_int_equal(fv_stats_of(f->w, "alice")->drops, 1);
    assert_int_equal(fv_stats_of(f->w, "alice")->retires, 1);
}

static void
test_kernel_gc_reexport_is_reachable_again(void **state)
{
    kf *f = *state;
    char ko[32], key[48];
    kf_launch l;
    kf_result r;

    use_sharing(f);
    launch2(f, &l);
    kf_call(f, l.root, "share", bob_arg(f, "x"), &r);
    snprintf(ko, sizeof ko, "%s", obj_kref(f));
    kf_call(f, kf_root(f, 2), "gc", "[0]", &r);
    assert_int_equal(fv_stats_of(f->w, "alice")->drops, 1);
    /* alice sends it again: bob holds it again, alice must hear again. */
    kf_call(f, l.root, "share", bob_arg(f, "x"), &r);
    snprintf(key, sizeof key, "v1.c.%s", ko);
    assert_string_equal(kf_field(f, key, 0), "R");
    assert_string_equal(kf_field(f, ko, 1), "1");
    kf_call(f, kf_root(f, 2), "gc", "[0]", &r);
    assert_int_equal(fv_stats_of(f->w, "alice")->drops, 2);
    kf_call(f, kf_root(f, 2), "gc", "[1]", &r);
    assert_int_equal(fv_stats_of(f->w, "alice")->retires, 1);
    assert_null(kf_get(f, ko));
}

static int
fault_once(fv_call *c, void *ud)
{
    int *faults = ud;

    if ((*faults)++ == 0)
        return fv_fail(c, LVAT_EFAULT, "time budget of 2000 ms exceeded");
    return LVAT_OK;
}

static void
test_kernel_gc_fault_in_gc_delivery(void **state)
{
    kf *f = *state;
    int faults = 0;
    kf_launch l;
    kf_result r;

    use_sharing(f);
    fv_on(f->w, "alice", "@drop", fault_once, &faults);
    launch2(f, &l);
    kf_call(f, l.root, "share", bob_arg(f, "x"), &r);
    kf_call(f, kf_root(f, 2), "gc", "[0]", &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_int_equal(faults, 1);
    /* The fault ended alice's incarnation, which orphaned o+1. */
    assert_int_equal(fv_stats_of(f->w, "alice")->destroys, 1);
    kf_call(f, kf_root(f, 2), "gc", "[1]", &r);
    assert_int_equal(r.status, LVAT_OK);
    kf_call(f, l.root, "ping", NULL, &r);
    kf_assert_rejected(&r, "no method ping");
    assert_int_equal(fv_stats_of(f->w, "alice")->incarnation, 1);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "gc."), 0);
}

/* ---- A long ping ---- */

/* go(bob, n): pings bob n times, one after the other. */
static int
go(fv_call *c, void *ud)
{
    int *left = ud;
    lvat_vref asked;

    *left = (int)fv_arg_int(c, 1);
    fv_keep(c->vat, "bob", fv_arg_ref(c, 0));
    fv_keep(c->vat, "reply", c->result);
    assert_lvat_ok(
        fv_send(c, fv_arg_ref(c, 0), "#[\"ping\",[]]", NULL, 0, &asked));
    return LVAT_OK;
}

static int
go_notified(fv_call *c, void *ud)
{
    int *left = ud;
    lvat_vref asked;

    assert_int_equal(c->d->nresolutions, 1);
    assert_true(fv_body_is(&c->d->resolutions[0].data, "#\"pong\""));
    if (--*left == 0)
        return fv_resolve(c, fv_kept(c->vat, "reply"), false, "#\"done\"", NULL,
                          0);
    return fv_send(c, fv_kept(c->vat, "bob"), "#[\"ping\",[]]", NULL, 0,
                   &asked);
}

static void
test_kernel_gc_long_ping_keeps_store_flat(void **state)
{
    kf *f = *state;
    size_t keys, promises, vatstore;
    char args[64];
    int left = 0;
    kf_launch l;
    kf_result r;

    fv_on(f->w, "bob", "ping", pong, NULL);
    fv_on(f->w, "alice", "go", go, &left);
    fv_on_notify(f->w, "alice", go_notified, &left);
    launch2(f, &l);
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"},3]", kf_root(f, 2));
    kf_call(f, l.root, "go", args, &r);
    keys = kf_count(f, LVAT_DB_KERNEL, "");
    promises = kf_count_promises(f);
    vatstore = kf_count(f, LVAT_DB_VATSTORE, "");
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"},%d]", kf_root(f, 2),
             PING_ROUNDS);
    kf_call(f, l.root, "go", args, &r);
    assert_string_equal(r.body, "#\"done\"");
    assert_int_equal(fv_stats_of(f->w, "bob")->messages, 3 + PING_ROUNDS);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, ""), keys);
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_VATSTORE, ""), vatstore);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_notify_batch_carries_settled, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_notify_batch_holds_each_promise_once, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_back_to_back_notifies_join, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test(test_kernel_gc_joined_notify_item_text),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_settled_promises_are_deleted, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_self_referential_promise_is_collected,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_drop_and_retire_reach_exporter, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_reexport_is_reachable_again, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_gc_fault_in_gc_delivery,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_gc_long_ping_keeps_store_flat, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_gc", tests, NULL, NULL);
}
