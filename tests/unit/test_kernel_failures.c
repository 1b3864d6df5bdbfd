/*
 * What a failure does (design.md §5's table) with three fake vats, alice
 * (v1, bootstrap), bob (v2, the one that fails) and carol (v3): a fault
 * rejects the message and restarts the vat; an illegal syscall or
 * exit(failure) rolls the crank back and terminates the vat, leaving the
 * store exactly as before the crank apart from the termination itself;
 * exit(success) commits first; dead targets splat and the kernel goes on.
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
#include "sha256.h"

#define BOB_SOURCE "-- bob, the vat that fails\nreturn {}\n"

enum bad_kind {
    BAD_SEND,         /* send to a vref not in its c-list */
    BAD_NOT_DECIDER,  /* resolve a promise it does not decide */
    BAD_TWICE,        /* resolve its result, then again */
    BAD_BATCH_TWICE,  /* the same promise twice in one resolve */
    BAD_BIG_BATCH_TWICE, /* the same, first and last of twenty */
    BAD_SUBSCRIBE,    /* subscribe to a promise it never held */
    BAD_EXIT_FAILURE, /* exit(failure) */
    BAD_REUSED_EXPORT, /* a result p+N below a number it used already */
};

/* ---- Handlers ---- */

static int
pong(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return lvat_vref_is_none(c->result) ? LVAT_OK : fv_return(c, "#\"pong\"");
}

/* hold(): keeps its result unresolved (bob decides it). */
static int
hold(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    fv_keep(c->vat, "held", c->result);
    return LVAT_OK;
}

/* meet(carol): keeps carol and sends her greet(o+N, p+M); bob keeps
 * deciding p+M.  Also stores two baggage keys. */
static int
meet(fv_call *c, void *ud)
{
    lvat_vref gift[2];
    lvat_syscall *sys = fv_sys(c->vat);
    int rc;

    LVAT_UNUSED(ud);
    gift[0] = fv_new_object(c->vat);
    gift[1] = fv_new_promise(c->vat);
    fv_keep(c->vat, "carol", fv_arg_ref(c, 0));
    fv_keep(c->vat, "promise", gift[1]);
    assert_lvat_ok(lvat_syscall_vatstore_set(sys, "keep1", 5, "a", 1));
    assert_lvat_ok(lvat_syscall_vatstore_set(sys, "keep2", 5, "b", 1));
    rc = fv_send(c, fv_arg_ref(c, 0),
                 "#[\"greet\",[\"$0.Alleged: gift\",\"&1\"]]", gift, 2, NULL);
    return rc ? rc : fv_return(c, "#null");
}

/* greet(obj, promise): carol keeps both and subscribes to the promise. */
static int
greet(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    fv_keep(c->vat, "gift", fv_arg_ref(c, 0));
    return fv_subscribe(c, fv_arg_ref(c, 1));
}

/* poke(): carol sends ping to the gift object bob gave her. */
static int
poke(fv_call *c, void *ud)
{
    lvat_vref r;
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_send(c, fv_kept(c->vat, "gift"), "#[\"ping\",[]]", NULL, 0, &r);
    fv_keep(c->vat, "poked", r);
    return rc ? rc : fv_return(c, "#null");
}

/* Legitimate work that the rollback must erase. */
static int
busy_work(fv_call *c, lvat_vref *noise)
{
    lvat_syscall *sys = fv_sys(c->vat);
    lvat_vref obj = fv_new_object(c->vat);
    int rc;

    if ((rc = lvat_syscall_vatstore_set(sys, "junk", 4, "x", 1)) ||
        (rc = lvat_syscall_vatstore_delete(sys, "keep1", 5)))
        return rc;
    rc = fv_send(c, fv_kept(c->vat, "carol"),
                 "#[\"noise\",[\"$0.Alleged: junk\"]]", &obj, 1, noise);
    /* More new promises than the crank's cache holds (kpcache.c): some
     * reach the overlay before the crank ends, and must go with it. */
    for (int i = 0; i < 40 && rc == LVAT_OK; i++) {
        lvat_vref extra;
        rc = fv_send(c, fv_kept(c->vat, "carol"), "#[\"noise\",[]]", NULL, 0,
                     &extra);
    }
    if (rc == LVAT_OK)
        rc = fv_resolve(c, fv_kept(c->vat, "held"), false, "#\"early\"", NULL,
                        0);
    return rc;
}

/* Sends with result p+(N+10), then p+(N+5): a number the vat skipped is
 * still one it may not use (clist.c's counter passes every number). */
static int
reuse_export(fv_call *c)
{
    uint64_t n = lvat_vref_num(fv_new_promise(c->vat));
    lvat_vcapdata m = {"#[\"noise\",[]]", 13, NULL, 0};
    lvat_vref carol = fv_kept(c->vat, "carol");
    lvat_syscall *sys = fv_sys(c->vat);
    lvat_vref ahead = fv_vref(fv_fmt(c, "p+%llu", (unsigned long long)n + 10));
    lvat_vref back = fv_vref(fv_fmt(c, "p+%llu", (unsigned long long)n + 5));

    assert_lvat_ok(lvat_syscall_send(sys, carol, &m, ahead));
    return lvat_syscall_send(sys, carol, &m, back);
}

/* Twenty resolutions, the last the first again (a batch this big is
 * checked by sorting): the result and eighteen new exports. */
static int
big_batch_twice(fv_call *c)
{
    uint64_t n = lvat_vref_num(fv_new_promise(c->vat));
    lvat_resolution res[20];

    for (int i = 0; i < 20; i++) {
        res[i].vpid = c->result;
        if (i > 0 && i < 19)
            res[i].vpid = fv_vref(
                fv_fmt(c, "p+%llu", (unsigned long long)n + (unsigned)i));
        res[i].rejected = false;
        res[i].data = (lvat_vcapdata){"#1", 2, NULL, 0};
    }
    return lvat_syscall_resolve(fv_sys(c->vat), res, 20);
}

static int
bad(fv_call *c, void *ud)
{
    const char *why = "#\"giving up\"";
    lvat_vcapdata info = {why, strlen(why), NULL, 0};
    lvat_resolution twice[2] = {{c->result, false, {"#1", 2, NULL, 0}},
                                {c->result, false, {"#2", 2, NULL, 0}}};
    lvat_vref noise;
    int rc = busy_work(c, &noise);

    LVAT_UNUSED(ud);
    assert_lvat_ok(rc);
    switch ((enum bad_kind)fv_arg_int(c, 0)) {
    case BAD_SEND:
        rc = fv_send(c, fv_vref("o-99"), "#[\"x\",[]]", NULL, 0, NULL);
        break;
    case BAD_NOT_DECIDER:
        rc = fv_resolve(c, noise, false, "#null", NULL, 0);
        break;
    case BAD_TWICE:
        assert_lvat_ok(fv_return(c, "#1"));
        rc = fv_return(c, "#2");
        break;
    case BAD_BATCH_TWICE:
        rc = lvat_syscall_resolve(fv_sys(c->vat), twice, 2);
        break;
    case BAD_BIG_BATCH_TWICE:
        rc = big_batch_twice(c);
        break;
    case BAD_SUBSCRIBE:
        rc = fv_subscribe(c, fv_vref("p-77"));
        break;
    case BAD_EXIT_FAILURE:
        rc = lvat_syscall_exit(fv_sys(c->vat), true, &info);
        break;
    case BAD_REUSED_EXPORT:
        rc = reuse_export(c);
        break;
    }
    assert_int_equal(rc, LVAT_EILLEGAL);
    /* Later syscalls fail too: the vat is being stopped. */
    assert_int_equal(fv_return(c, "#3"), LVAT_EILLEGAL);
    return rc;
}

/* ---- Setup ---- */

static void
launch3(kf *f, kf_result *held)
{
    char args[64];
    kf_launch l;
    kf_result r;

    kf_source(f, "bob", BOB_SOURCE);
    fv_on(f->w, "bob", "ping", pong, NULL);
    fv_on(f->w, "bob", "hold", hold, NULL);
    fv_on(f->w, "bob", "meet", meet, NULL);
    fv_on(f->w, "bob", "bad", bad, NULL);
    fv_on(f->w, "carol", "ping", pong, NULL);
    fv_on(f->w, "carol", "noise", pong, NULL);
    fv_on(f->w, "carol", "greet", greet, NULL);
    fv_on(f->w, "carol", "poke", poke, NULL);
    kf_launch_ok(f, "alice", "alice,bob,carol", &l);
    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", kf_root(f, 3));
    kf_call(f, kf_root(f, 2), "meet", args, &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "hold", NULL, held));
    kf_run(f);
    assert_int_equal(held->calls, 0);
}

/* ---- What a termination may change ---- */

typedef struct bad_ctx {
    unsigned long long head, tail; /* queue.run before the bad crank */
    char hash[LVAT_SHA256_HEX_LEN + 1];
    unsigned rejections, notifies, orphans;
} bad_ctx;

/* Fields of a "kp" record: state refs decider subs qhead qtail. */
static void
kp_fields(const char *rec, char st[8], unsigned long long *refs, char rest[160])
{
    char dec[32], subs[64], q[48];

    assert_int_equal(
        sscanf(rec, "%7s %llu %31s %63s %47[^\n]", st, refs, dec, subs, q), 5);
    snprintf(rest, 160, "%s %s %s", dec, subs, q);
}

static bool
is_record(const char *key, const char *kind)
{
    size_t n = strlen(kind);

    return strncmp(key, kind, n) == 0 && key[n] >= '1' && key[n] <= '9' &&
           strchr(key, '.') == NULL;
}

static bool
allowed_change(bad_ctx *b, const char *key, const char *old, const char *nw)
{
    unsigned long long h, t, r0, r1, a0, a1, c0, c1;
    char s0[8], s1[8], x0[160], x1[160], o0[16], o1[16];

    if (strcmp(key, "queue.run") == 0)
        return sscanf(nw, "%llu %llu", &h, &t) == 2 && h == b->head + 1 &&
               t >= b->tail;
    if (strncmp(key, "sub.s", 5) == 0)
        return strstr(nw, "\"v2\"") == NULL && strstr(old, "\"v2\"") != NULL;
    if (is_record(key, "ko")) {
        assert_int_equal(sscanf(old, "%15s %llu %llu", o0, &a0, &c0), 3);
        assert_int_equal(sscanf(nw, "%15s %llu %llu", o1, &a1, &c1), 3);
        /* Orphaned; the message that named it let go of it. */
        if (strcmp(o0, "v2") == 0)
            return strcmp(o1, "-") == 0 && a1 <= a0 && c1 <= c0 && ++b->orphans;
        return strcmp(o0, o1) == 0 && a1 <= a0 && c1 <= c0;
    }
    if (is_record(key, "kp")) {
        kp_fields(old, s0, &r0, x0);
        kp_fields(nw, s1, &r1, x1);
        if (s0[0] == 'u' && s1[0] == 'r')
            return true; /* rejected: decider and subscribers go */
        return strcmp(s0, s1) == 0 && strcmp(x0, x1) == 0 && r1 < r0;
    }
    return false;
}

static bool
allowed_removal(bad_ctx *b, const char *key, const char *old)
{
    char item[64], src[80];

    snprintf(item, sizeof item, "queue.run.%llu", b->head);
    snprintf(src, sizeof src, "source.%s", b->hash);
    if (strncmp(key, "v2.", 3) == 0 || strncmp(key, "gc.v2.", 6) == 0 ||
        strcmp(key, "vat.v2") == 0 || strcmp(key, item) == 0 ||
        strcmp(key, src) == 0)
        return true;
    /* bob's own objects that nobody else could recognise */
    return is_record(key, "ko") && strncmp(old, "v2 ", 3) == 0;
}

static bool
allowed_addition(bad_ctx *b, const char *key, const char *nw)
{
    size_t n = strlen(key);
    unsigned long long i;

    if (is_record(key, "kp") == false && strncmp(key, "kp", 2) == 0 && n > 2 &&
        strcmp(key + n - 2, ".v") == 0)
        return (strstr(nw, "[KERNEL:VAT_TERMINATED]") ||
                strstr(nw, "[KERNEL:OBJECT_DELETED]")) &&
               ++b->rejections;
    /* Only notifications are queued: none of bob's sends survive. */
    if (sscanf(key, "queue.run.%llu", &i) == 1 && i >= b->tail)
        return (strncmp(nw, "n ", 2) == 0 || strncmp(nw, "k ", 2) == 0) &&
               ++b->notifies;
    return false;
}

static bool
allow_termination(void *ud,
                  kf_change ch,
                  int db,
                  const char *key,
                  size_t klen,
                  const char *old,
                  const char *nw)
{
    bad_ctx *b = ud;

    if (db == LVAT_DB_VATSTORE)
        return ch == KF_REMOVED && klen > 3 && memcmp(key, "v2", 3) == 0;
    if (db == LVAT_DB_SOURCES)
        return ch == KF_REMOVED && strcmp(key, b->hash) == 0;
    if (ch == KF_REMOVED)
        return allowed_removal(b, key, old);
    if (ch == KF_ADDED)
        return allowed_addition(b, key, nw);
    return allowed_change(b, key, old, nw);
}

/* Runs bob.bad(kind) and checks everything a termination leaves. */
static void
run_bad(kf *f, enum bad_kind kind)
{
    kf_snap before, after;
    kf_result held, r, rp;
    char args[16], *q;
    bad_ctx b;
    uint32_t ran;

    memset(&b, 0, sizeof b);
    lvat_sha256_hex(BOB_SOURCE, strlen(BOB_SOURCE), b.hash);
    launch3(f, &held);
    snprintf(args, sizeof args, "[%d]", (int)kind);
    assert_lvat_ok(kf_send(f, kf_root(f, 2), "bad", args, &r));
    assert_lvat_ok(lvat_kernel_step(f->k, 1, 0, &ran)); /* the request */
    q = kf_get(f, "queue.run");
    assert_int_equal(sscanf(q, "%llu %llu", &b.head, &b.tail), 2);
    assert_int_equal(b.tail, b.head + 1);
    free(q);
    kf_snap_take(f, &before);
    /* The bad crank, then its follow-up. */
    assert_lvat_ok(lvat_kernel_step(f->k, 2, 0, &ran));
    assert_int_equal(ran, 2);
    kf_snap_take(f, &after);
    assert_int_equal(kf_diff(&before, &after, allow_termination, &b), 0);
    assert_int_equal(b.rejections, 3); /* held, bob's promise, the result */
    assert_int_equal(b.notifies, 3);
    assert_int_equal(b.orphans, 2); /* bob's root and the gift */
    assert_true(f->warnings > 0);
    kf_snap_free(&before);
    kf_snap_free(&after);
    kf_run(f);
    kf_assert_rejected(&r, "[KERNEL:OBJECT_DELETED]");
    kf_assert_rejected(&held, "[KERNEL:VAT_TERMINATED]");
    assert_true(fv_log_find(f->w, "notify carol p-1 r", 0) >= 0);
    assert_int_equal(fv_log_count(f->w, "msg carol noise"), 0);
    assert_int_equal(fv_log_count(f->w, "msg bob bad"), 1);
    assert_int_equal(fv_stats_of(f->w, "bob")->destroys,
                     fv_stats_of(f->w, "bob")->creates);
    /* Messages to its objects splat; everyone else goes on. */
    kf_call(f, kf_root(f, 3), "poke", NULL, &rp);
    assert_int_equal(rp.status, LVAT_OK);
    assert_lvat_ok(kf_send(f, kf_root(f, 3), "ping", NULL, &rp));
    kf_run(f);
    assert_string_equal(rp.body, "#\"pong\"");
    assert_true(fv_log_find(f->w, "notify carol p+1 r", 0) >= 0);
}

/* ---- Illegal syscalls and exit(failure) ---- */

static void
test_kernel_failures_send_outside_clist(void **state)
{
    run_bad(*state, BAD_SEND);
}

static void
test_kernel_failures_resolve_without_deciding(void **state)
{
    run_bad(*state, BAD_NOT_DECIDER);
}

static void
test_kernel_failures_resolve_twice(void **state)
{
    run_bad(*state, BAD_TWICE);
}

static void
test_kernel_failures_resolve_twice_in_one_batch(void **state)
{
    run_bad(*state, BAD_BATCH_TWICE);
}

static void
test_kernel_failures_resolve_twice_in_a_big_batch(void **state)
{
    run_bad(*state, BAD_BIG_BATCH_TWICE);
}

static void
test_kernel_failures_subscribe_unknown(void **state)
{
    run_bad(*state, BAD_SUBSCRIBE);
}

static void
test_kernel_failures_exit_failure_rolls_back(void **state)
{
    kf *f = *state;

    run_bad(f, BAD_EXIT_FAILURE);
    assert_non_null(strstr(f->last_warning, "giving up"));
}

static void
test_kernel_failures_reused_export_number(void **state)
{
    kf *f = *state;

    run_bad(f, BAD_REUSED_EXPORT);
    assert_non_null(strstr(f->last_warning, "reuses an export number"));
}

/* ---- Faults ---- */

static int
crash(fv_call *c, void *ud)
{
    lvat_vref r;

    LVAT_UNUSED(ud);
    assert_lvat_ok(
        lvat_syscall_vatstore_set(fv_sys(c->vat), "crashed", 7, "yes", 3));
    assert_lvat_ok(
        fv_send(c, fv_kept(c->vat, "carol"), "#[\"noise\",[]]", NULL, 0, &r));
    return fv_fail(c, LVAT_EFAULT, "memory limit of 64 MiB exceeded");
}

static bool
allow_outside_bob(void *ud,
                  kf_change ch,
                  int db,
                  const char *key,
                  size_t klen,
                  const char *old,
                  const char *nw)
{
    LVAT_UNUSED(ud);
    if (db != LVAT_DB_KERNEL)
        return false; /* no baggage or source changed */
    /* The run queue, the message's promises, bob's own record and its
     * c-list: its ephemeral exports end with the incarnation (orphaned),
     * and the promises it decided are rejected, so carol, notified,
     * retires her import of one. */
    if (kf_key_has_prefix(key, klen, "queue.run") ||
        kf_key_has_prefix(key, klen, "kp") ||
        kf_key_has_prefix(key, klen, "nextPromiseId") ||
        kf_key_has_prefix(key, klen, "vat.v2") ||
        kf_key_has_prefix(key, klen, "v2.") ||
        kf_key_has_prefix(key, klen, "watch."))
        return true;
    if (ch == KF_REMOVED && (kf_key_has_prefix(key, klen, "v3.c.kp") ||
                             kf_key_has_prefix(key, klen, "v3.c.p-")))
        return true;
    return ch == KF_CHANGED && kf_key_has_prefix(key, klen, "ko") &&
           strncmp(old, "v2 ", 3) == 0 && strncmp(nw, "- ", 2) == 0;
}

static void
test_kernel_failures_fault_restarts_vat(void **state)
{
    kf *f = *state;
    kf_result held, r;
    kf_snap before, after;
    lvat_val v;

    fv_on(f->w, "bob", "crash", crash, NULL);
    launch3(f, &held);
    kf_snap_take(f, &before);
    kf_call(f, kf_root(f, 2), "crash", NULL, &r);
    kf_assert_rejected(&r, "[KERNEL:VAT_FAULT] memory limit of 64 MiB");
    /* The incarnation ended: what it decided is rejected. */
    kf_assert_rejected(&held, "[KERNEL:VAT_RESTARTED] v2 (bob)");
    kf_snap_take(f, &after);
    assert_int_equal(kf_diff(&before, &after, allow_outside_bob, NULL), 0);
    kf_snap_free(&before);
    kf_snap_free(&after);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.d."), 0);
    /* Never redelivered; its sends and baggage writes were undone. */
    assert_int_equal(fv_log_count(f->w, "msg bob crash"), 1);
    assert_int_equal(fv_log_count(f->w, "msg carol noise"), 0);
    /* The next message restarts it with a higher incarnation. */
    kf_call(f, kf_root(f, 2), "ping", NULL, &r);
    assert_string_equal(r.body, "#\"pong\"");
    assert_int_equal(fv_stats_of(f->w, "bob")->starts, 2);
    assert_int_equal(fv_stats_of(f->w, "bob")->incarnation, 1);
    assert_true(fv_log_find(f->w, "start bob v2 1", 0) >= 0);
    assert_int_equal(fv_stats_of(f->w, "alice")->starts, 1);
    assert_int_equal(fv_stats_of(f->w, "carol")->starts, 1);
    assert_int_equal(
        lvat_kv_get(f->k->kv, LVAT_DB_VATSTORE, "v2\0crashed", 10, &v),
        LVAT_ENOTFOUND);
    assert_lvat_ok(lvat_kv_get(f->k->kv, LVAT_DB_VATSTORE, "v2\0keep1", 8, &v));
}

/* ---- exit(success) ---- */

static int
quit(fv_call *c, void *ud)
{
    const char *why = "#\"done here\"";
    lvat_vcapdata info = {why, strlen(why), NULL, 0};
    int rc;

    LVAT_UNUSED(ud);
    rc = fv_send(c, fv_kept(c->vat, "carol"), "#[\"noise\",[]]", NULL, 0, NULL);
    if (rc == LVAT_OK)
        rc = fv_return(c, "#\"bye\"");
    if (rc == LVAT_OK)
        rc = lvat_syscall_exit(fv_sys(c->vat), false, &info);
    return rc;
}

static void
test_kernel_failures_exit_success_commits(void **state)
{
    kf *f = *state;
    kf_result held, r;
    char bob[32];

    fv_on(f->w, "bob", "quit", quit, NULL);
    launch3(f, &held);
    snprintf(bob, sizeof bob, "%s", kf_root(f, 2));
    kf_call(f, bob, "quit", NULL, &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_string_equal(r.body, "#\"bye\"");
    assert_int_equal(fv_log_count(f->w, "msg carol noise"), 1);
    kf_assert_rejected(&held, "done here");
    assert_null(kf_get(f, "vat.v2"));
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2."), 0);
    assert_int_equal(fv_live(f->w), 2);
    /* Its root is orphaned: messages to it splat. */
    kf_call(f, bob, "ping", NULL, &r);
    kf_assert_rejected(&r, "[KERNEL:OBJECT_DELETED]");
    kf_call(f, kf_root(f, 3), "ping", NULL, &r);
    assert_string_equal(r.body, "#\"pong\"");
}

static void
test_kernel_failures_unknown_target(void **state)
{
    kf *f = *state;
    kf_result held, r;

    launch3(f, &held);
    assert_int_equal(kf_send(f, "ko999", "ping", NULL, &r), LVAT_ENOTFOUND);
    assert_non_null(strstr(lvat_kernel_errmsg(f->k), "ko999"));
    assert_int_equal(kf_send(f, "kp999", "ping", NULL, &r), LVAT_ENOTFOUND);
    assert_int_equal(
        kf_send(f, kf_root(f, 3), "ping", "[{\"@kref\":\"ko999\"}]", &r),
        LVAT_ENOTFOUND);
    assert_int_equal(kf_send(f, kf_root(f, 3), "ping", "[1,", &r), LVAT_EINVAL);
    assert_int_equal(lvat_kernel_pending(f->k), 0);
    kf_run(f);
    assert_int_equal(r.calls, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_failures_fault_restarts_vat,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_failures_send_outside_clist,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_resolve_without_deciding, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_failures_resolve_twice,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_resolve_twice_in_one_batch, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_resolve_twice_in_a_big_batch, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_failures_subscribe_unknown,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_exit_failure_rolls_back, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_reused_export_number, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_failures_exit_success_commits, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_failures_unknown_target,
                                        kf_test_setup, kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_failures", tests, NULL, NULL);
}
