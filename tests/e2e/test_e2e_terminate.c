/*
 * How a vat ends, end to end (design.md §5's table): an illegal syscall
 * (a send to a ref not in its c-list, a resolve of a promise it does not
 * decide) or exit(failure) rolls its crank back and terminates it, and
 * its message splats [KERNEL:OBJECT_DELETED]; full dumps of the kernel,
 * vatstore and sources databases taken just before that message and after
 * it differ only by the termination.  exit(success) terminates the vat
 * after its crank commits.  The rogue vat uses the test-only rawSyscalls.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

/* ---- Fixture ---- */

typedef struct fx {
    lk t;
    char bystander[32], rogue[32];
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    lk_open(&f->t);
    assert_lvat_ok(
        lk_launch(&f->t, "{\"bootstrap\":\"rogue\",\"vats\":{"
                         "\"rogue\":{\"sourceSpec\":\"rogue.lua\","
                         "\"globals\":[\"rawSyscalls\"]},"
                         "\"bystander\":{\"sourceSpec\":\"bystander.lua\"}}}"));
    lk_root(&f->t, "v1", f->rogue);
    lk_root(&f->t, "v2", f->bystander);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;

    lk_close(&f->t);
    free(f);
    return 0;
}

/* Calls kref.method(args) and checks status and (part of) the result. */
static void
call_expect(lk *t,
            const char *kref,
            const char *method,
            const char *args,
            int want,
            const char *needle)
{
    int st;
    char *r = lk_call(t, kref, method, args, &st);

    if (st != want || strstr(r, needle) == NULL)
        fail_msg("%s.%s: status %s, result %s (want %s with \"%s\")", kref,
                 method, lvat_err_name(st), r, lvat_err_name(want), needle);
    free(r);
}

/* The root of a terminated vat is deleted (nothing imported it), so the
 * host cannot even queue a message to it. */
static void
expect_gone(lk *t, const char *kref)
{
    assert_lvat_rc(
        lvat_kernel_queue_message(t->k, kref, "hello", "[]", NULL, NULL),
        LVAT_ENOTFOUND);
}

/* ---- Store comparison ---- */

typedef struct snap {
    lk_dump kernel, vatstore, sources;
} snap;

static void
snap_take(lk *t, snap *s)
{
    lk_dump_db(t, LVAT_DB_KERNEL, &s->kernel);
    lk_dump_db(t, LVAT_DB_VATSTORE, &s->vatstore);
    lk_dump_db(t, LVAT_DB_SOURCES, &s->sources);
}

static void
snap_free(snap *s)
{
    lk_dump_free(&s->kernel);
    lk_dump_free(&s->vatstore);
    lk_dump_free(&s->sources);
}

/* What the termination of `vat` ("v1") may change, besides the settling
 * of the message (its queue entry `qkey` and result promise `msgkp`). */
typedef struct allowed {
    const char *vat, *qkey, *msgkp;
    const lk_dump *before;
} allowed;

static bool
starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* kp12 or kp12.v -> "kp12" in out. */
static void
base_ref(const char *key, char *out, size_t len)
{
    size_t n = strcspn(key, ".");

    snprintf(out, len, "%.*s", (int)n, key);
}

static bool
in_vat_clist(const allowed *a, const char *kref)
{
    char key[64];

    snprintf(key, sizeof key, "%s.c.%s", a->vat, kref);
    return lk_dump_find(a->before, key, strlen(key)) != NULL;
}

/* A promise the vat decided: record "<state> <refs> <decider> ...". */
static bool
decided_by_vat(const allowed *a, const char *kp)
{
    const lk_entry *e = lk_dump_find(a->before, kp, strlen(kp));
    char want[40];

    snprintf(want, sizeof want, " %s ", a->vat);
    return e != NULL && strstr(e->val, want) != NULL &&
           strchr(strchr(e->val, ' ') + 1, ' ') == strstr(e->val, want);
}

/* Another vat's c-list entry for a promise the vat decided (the
 * rejection retires it from the subscribers' c-lists). */
static bool
clist_of_decided(const allowed *a, const char *key)
{
    const char *c = strstr(key, ".c.");
    const lk_entry *e;

    if (key[0] != 'v' || c == NULL)
        return false;
    if (starts(c + 3, "kp"))
        return decided_by_vat(a, c + 3);
    e = lk_dump_find(a->before, key, strlen(key));
    return e != NULL && starts(e->val, "kp") && decided_by_vat(a, e->val);
}

static bool
may_change(const allowed *a, const char *key, bool removed)
{
    char own[40], ref[40];

    snprintf(own, sizeof own, "%s.", a->vat);
    if (starts(key, own) || (starts(key, "vat.") && !strcmp(key + 4, a->vat)))
        return removed;
    snprintf(own, sizeof own, "gc.%s.", a->vat);
    if (starts(key, own))
        return removed;
    if (starts(key, "sub.s") || starts(key, "source.") ||
        strcmp(key, "stats") == 0)
        return true;
    if (clist_of_decided(a, key))
        return removed;
    if (!strcmp(key, "queue.run") || !strcmp(key, a->qkey))
        return true;
    base_ref(starts(key, "watch.") ? key + 6 : key, ref, sizeof ref);
    if (!strcmp(ref, a->msgkp))
        return true;
    if (starts(key, "ko"))
        return in_vat_clist(a, ref);
    if (starts(key, "kp"))
        return in_vat_clist(a, ref) || decided_by_vat(a, ref);
    return false;
}

/* Fails unless `after` differs from `before` only as `a` allows. */
static void
check_kernel_diff(const allowed *a, const lk_dump *after)
{
    const lk_dump *before = a->before;

    for (size_t i = 0; i < before->n; i++) {
        const lk_entry *b = &before->e[i];
        const lk_entry *e = lk_dump_find(after, b->key, b->klen);
        if (e != NULL && e->vlen == b->vlen &&
            memcmp(e->val, b->val, b->vlen) == 0)
            continue;
        if (!may_change(a, b->key, e == NULL))
            fail_msg("kernel key %s changed: %s -> %s", b->key, b->val,
                     e ? e->val : "(deleted)");
    }
    for (size_t i = 0; i < after->n; i++) {
        const lk_entry *e = &after->e[i];
        char ref[40];
        if (lk_dump_find(before, e->key, e->klen) != NULL)
            continue;
        base_ref(e->key, ref, sizeof ref);
        /* Only the values of promises rejected by the termination. */
        if (!starts(e->key, "kp") || strstr(e->key, ".v") == NULL ||
            !(decided_by_vat(a, ref) || !strcmp(ref, a->msgkp)))
            fail_msg("kernel key %s appeared: %s", e->key, e->val);
    }
}

/* Every vatstore row of `vat` is gone; every other row is unchanged. */
static void
check_vatstore_diff(const char *vat,
                    const lk_dump *before,
                    const lk_dump *after)
{
    size_t plen = strlen(vat) + 1; /* "v1" and its NUL */

    for (size_t i = 0; i < before->n; i++) {
        const lk_entry *b = &before->e[i];
        const lk_entry *e = lk_dump_find(after, b->key, b->klen);
        bool own = b->klen > plen && memcmp(b->key, vat, plen) == 0;
        if (own ? e != NULL
                : e == NULL || e->vlen != b->vlen ||
                      memcmp(e->val, b->val, b->vlen) != 0)
            fail_msg("vatstore row %s of %s: %s", b->key + strlen(b->key) + 1,
                     b->key, own ? "kept" : "changed");
    }
    for (size_t i = 0; i < after->n; i++)
        if (lk_dump_find(before, after->e[i].key, after->e[i].klen) == NULL)
            fail_msg("vatstore row %s appeared", after->e[i].key);
}

/* Sources may only lose texts no vat refers to any more. */
static void
check_sources_diff(const snap *before, const snap *after)
{
    for (size_t i = 0; i < before->sources.n; i++) {
        const lk_entry *b = &before->sources.e[i];
        char key[128];
        snprintf(key, sizeof key, "source.%s", b->key);
        if (lk_dump_find(&after->sources, b->key, b->klen) == NULL &&
            lk_dump_find(&after->kernel, key, strlen(key)) != NULL)
            fail_msg("source %s removed while still counted", b->key);
    }
    for (size_t i = 0; i < after->sources.n; i++)
        if (lk_dump_find(&before->sources, after->sources.e[i].key,
                         after->sources.e[i].klen) == NULL)
            fail_msg("source %s appeared", after->sources.e[i].key);
}

/* The queue entry of the message to `method` and its result promise. */
static void
find_message(const lk_dump *d,
             const char *method,
             char *qkey,
             size_t qlen,
             char *kp,
             size_t kplen)
{
    char needle[64];

    snprintf(needle, sizeof needle, "[\"%s\",", method);
    for (size_t i = 0; i < d->n; i++) {
        const lk_entry *e = &d->e[i];
        char target[32], result[32];
        if (!starts(e->key, "queue.run.") || strstr(e->val, needle) == NULL)
            continue;
        if (sscanf(e->val, "s %31s %31s", target, result) != 2)
            break;
        snprintf(qkey, qlen, "%s", e->key);
        snprintf(kp, kplen, "%s", result);
        return;
    }
    fail_msg("no queued message %s", method);
}

static void
check_only_termination(const char *vat,
                       const char *method,
                       const snap *a,
                       const snap *b)
{
    char qkey[64], kp[32], prefix[40];
    allowed al;

    find_message(&a->kernel, method, qkey, sizeof qkey, kp, sizeof kp);
    al.vat = vat;
    al.qkey = qkey;
    al.msgkp = kp;
    al.before = &a->kernel;
    check_kernel_diff(&al, &b->kernel);
    check_vatstore_diff(vat, &a->vatstore, &b->vatstore);
    check_sources_diff(a, b);
    /* And the termination happened. */
    snprintf(prefix, sizeof prefix, "vat.%s", vat);
    assert_null(lk_dump_find(&b->kernel, prefix, strlen(prefix)));
    for (size_t i = 0; i < b->kernel.n; i++) {
        snprintf(prefix, sizeof prefix, "%s.", vat);
        if (starts(b->kernel.e[i].key, prefix))
            fail_msg("%s is left", b->kernel.e[i].key);
    }
}

typedef struct pending_call {
    bool done;
    int status;
    char *text;
    lk *t;
} pending_call;

static void
on_result(void *ud, int status, const lvat_value *v)
{
    pending_call *c = ud;

    c->done = true;
    c->status = status;
    c->text = lvat_value_render(c->t->k, v);
}

/* Queues kref.method(), applies the request (one committed crank) and
 * snapshots the store just before the message is delivered; then runs. */
static void
call_between_snaps(lk *t,
                   const char *kref,
                   const char *method,
                   snap *before,
                   snap *after,
                   pending_call *c)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    assert_lvat_ok(
        lvat_kernel_queue_message(t->k, kref, method, "[]", on_result, c));
    assert_lvat_ok(lvat_kernel_step(t->k, 1, 0, NULL));
    snap_take(t, before);
    assert_lvat_ok(lvat_kernel_run(t->k));
    snap_take(t, after);
    assert_true(c->done);
}

/* An illegal syscall: the message splats, the crank (its baggage write and
 * its send) is rolled back, and the store only loses the vat. */
static void
illegal_terminates(fx *f, const char *method)
{
    lk *t = &f->t;
    snap a, b;
    pending_call c;

    assert_int_not_equal(lk_count_vatstore(t), 0);
    call_between_snaps(t, f->rogue, method, &a, &b, &c);
    if (c.status != LVAT_EREJECTED ||
        strstr(c.text, "[KERNEL:OBJECT_DELETED]") == NULL)
        fail_msg("%s: %s %s", method, lvat_err_name(c.status), c.text);
    free(c.text);
    check_only_termination("v1", method, &a, &b);
    snap_free(&a);
    snap_free(&b);
    assert_true(lk_log_has(t, "illegal syscall by rogue (v1)"));
    /* The poke was rolled back with the crank; the bystander works. */
    call_expect(t, f->bystander, "inc", "[]", LVAT_OK, "1");
    expect_gone(t, f->rogue);
}

static void
test_e2e_terminate_illegal_send(void **state)
{
    illegal_terminates(*state, "badSend");
}

static void
test_e2e_terminate_illegal_resolve(void **state)
{
    illegal_terminates(*state, "badResolve");
}

/* exit(false): the crank commits (its poke arrives), then the vat goes. */
static void
test_e2e_terminate_exit_success_after_commit(void **state)
{
    fx *f = *state;
    lk *t = &f->t;

    call_expect(t, f->rogue, "quit", "[false]", LVAT_OK, "quit");
    call_expect(t, f->bystander, "inc", "[]", LVAT_OK, "101");
    expect_gone(t, f->rogue);
    assert_int_equal(lk_count(t, "v1."), 0);
    assert_int_equal(lk_count(t, "vat.v1"), 0);
    assert_int_equal(lk_count_vatstore(t), 0);
}

/* The result of the message that exited was decided by the vat in that
 * very crank (the decider index has it only at the crank's end): it is
 * rejected with the termination. */
static void
test_e2e_terminate_exit_rejects_its_own_pending_result(void **state)
{
    fx *f = *state;
    lk *t = &f->t;

    call_expect(t, f->rogue, "quitPending", "[]", LVAT_EREJECTED,
                "[KERNEL:VAT_TERMINATED] rogue (v1) exited");
    expect_gone(t, f->rogue);
    assert_int_equal(lk_count(t, "v1."), 0);
}

/* exit(true): a failure rolls the crank back, as an illegal syscall. */
static void
test_e2e_terminate_exit_failure_rolls_back(void **state)
{
    fx *f = *state;
    lk *t = &f->t;

    call_expect(t, f->rogue, "quit", "[true]", LVAT_EREJECTED,
                "[KERNEL:OBJECT_DELETED]");
    call_expect(t, f->bystander, "inc", "[]", LVAT_OK, "1");
    expect_gone(t, f->rogue);
    assert_int_equal(lk_count(t, "v1."), 0);
    assert_int_equal(lk_count_vatstore(t), 0);
}

int
main(void)
{
#define R(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        R(test_e2e_terminate_illegal_send),
        R(test_e2e_terminate_illegal_resolve),
        R(test_e2e_terminate_exit_success_after_commit),
        R(test_e2e_terminate_exit_rejects_its_own_pending_result),
        R(test_e2e_terminate_exit_failure_rolls_back),
    };
#undef R
    return cmocka_run_group_tests_name("e2e_terminate", tests, NULL, NULL);
}
