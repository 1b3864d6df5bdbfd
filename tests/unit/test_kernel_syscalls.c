/*
 * Syscalls and deliveries at their edges, with fake vats: the vatstore
 * (get, set, delete, ordered next, key limits), the cap on what one
 * delivery's writes, sends and resolutions hold, syscalls outside a
 * delivery, messages and resolutions with more slots than fit inline,
 * vat parameters, array-shaped configs, and a fault while a vat handles a
 * notify.
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

#define MANY 20

static lvat_syscall *g_sys; /* a vat's syscall handle, kept past delivery */

/* ---- Vatstore ---- */

static void
put(lvat_syscall *sys, const char *k, const char *v, size_t vlen)
{
    assert_lvat_ok(lvat_syscall_vatstore_set(sys, k, strlen(k), v, vlen));
}

/* Lists the keys after `after` under `prefix` as "k1,k2,". */
static void
list(lvat_syscall *sys,
     const char *prefix,
     const char *after,
     char *out,
     size_t cap)
{
    char from[64];
    lvat_val k, v;

    snprintf(from, sizeof from, "%s", after);
    out[0] = '\0';
    while (lvat_syscall_vatstore_next(sys, from, strlen(from), prefix,
                                      strlen(prefix), &k, &v) == LVAT_OK) {
        assert_true(k.len < sizeof from && strlen(out) + k.len + 2 <= cap);
        snprintf(from, sizeof from, "%.*s", (int)k.len, k.p);
        strcat(out, from);
        strcat(out, ",");
    }
}

static int
store_ops(fv_call *c, void *ud)
{
    lvat_syscall *sys = fv_sys(c->vat);
    char keys[256], big[LVAT_VATSTORE_KEY_MAX + 2];
    lvat_val v;

    LVAT_UNUSED(ud);
    put(sys, "b.2", "two", 3);
    put(sys, "a", "A", 1);
    put(sys, "b.1", "o\0e", 3);
    put(sys, "b.3", "three", 5);
    put(sys, "c", "C", 1);
    assert_lvat_ok(lvat_syscall_vatstore_get(sys, "b.1", 3, &v));
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.p, "o\0e", 3);
    assert_lvat_ok(lvat_syscall_vatstore_delete(sys, "b.2", 3));
    assert_int_equal(lvat_syscall_vatstore_get(sys, "b.2", 3, &v),
                     LVAT_ENOTFOUND);
    list(sys, "b.", "", keys, sizeof keys);
    assert_string_equal(keys, "b.1,b.3,");
    list(sys, "", "", keys, sizeof keys);
    assert_string_equal(keys, "a,b.1,b.3,c,");
    list(sys, "", "b.1", keys, sizeof keys);
    assert_string_equal(keys, "b.3,c,");
    /* Keys over the limit are refused; the vat goes on. */
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lvat_syscall_vatstore_set(sys, big, strlen(big), "x", 1),
                     LVAT_EINVAL);
    assert_lvat_ok(
        lvat_syscall_vatstore_set(sys, big, strlen(big) - 1, "x", 1));
    assert_lvat_ok(lvat_syscall_vatstore_get(sys, big, strlen(big) - 1, &v));
    assert_lvat_ok(lvat_syscall_vatstore_delete(sys, big, strlen(big) - 1));
    g_sys = sys;
    return fv_return(c, "#\"stored\"");
}

static int
store_read(fv_call *c, void *ud)
{
    char keys[256];

    LVAT_UNUSED(ud);
    list(fv_sys(c->vat), "b.", "", keys, sizeof keys);
    return fv_return(c, fv_fmt(c, "#\"%s\"", keys));
}

static void
test_kernel_syscalls_vatstore(void **state)
{
    kf *f = *state;
    kf_launch l;
    kf_result r;
    lvat_val v;

    fv_on(f->w, "bob", "ops", store_ops, NULL);
    fv_on(f->w, "alice", "read", store_read, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    kf_call(f, kf_root(f, 2), "ops", NULL, &r);
    assert_string_equal(r.body, "#\"stored\"");
    /* Each vat sees only its own keys. */
    kf_call(f, l.root, "read", NULL, &r);
    assert_string_equal(r.body, "#\"\"");
    assert_int_equal(kf_count(f, LVAT_DB_VATSTORE, ""), 4);
    /* Outside a delivery, syscalls fail without harm. */
    assert_int_equal(lvat_syscall_vatstore_get(g_sys, "a", 1, &v), LVAT_ESTATE);
    assert_int_equal(lvat_syscall_subscribe(g_sys, fv_vref("p-1")),
                     LVAT_ESTATE);
    assert_non_null(strstr(lvat_syscall_errmsg(g_sys), "outside a delivery"));
    kf_call(f, kf_root(f, 2), "ops", NULL, &r);
    assert_string_equal(r.body, "#\"stored\"");
}

/* ---- The vatstore write budget ---- */

#define BUDGET_VALUE 16384
#define HOG_FAULT                                                       \
    "[KERNEL:VAT_FAULT] hog (v1) memory limit of 65536 bytes exceeded " \
    "by what one delivery sent, resolved and wrote"
#define HOG_ADVICE                                                       \
    "raise creationOptions.memoryLimit or spread the work over several " \
    "deliveries"

/* fill(n): n values of 16 KiB under w.1..w.n, going on whatever the
 * syscalls say (as a runtime that ignored them would); returns the number
 * of the first write refused (0: none), also in *ud. */
static int
budget_fill(fv_call *c, void *ud)
{
    static char value[BUDGET_VALUE];
    lvat_syscall *sys = fv_sys(c->vat);
    long n = strtol(fv_arg_str(c, 0), NULL, 10), refused = 0;

    memset(value, 'v', sizeof value);
    for (long i = 1; i <= n; i++) {
        char key[32];
        int rc;
        snprintf(key, sizeof key, "w.%ld", i);
        rc = lvat_syscall_vatstore_set(sys, key, strlen(key), value,
                                       sizeof value);
        if (rc != LVAT_OK && refused == 0) {
            assert_int_equal(rc, LVAT_EILLEGAL);
            assert_non_null(strstr(lvat_syscall_errmsg(sys),
                                   "memory limit of 65536 bytes exceeded "
                                   "by what one delivery sent, resolved "
                                   "and wrote"));
            refused = i;
        }
    }
    *(long *)ud = refused;
    return fv_return(c, fv_fmt(c, "#\"%ld\"", refused));
}

/* rewrite(n): one 16 KiB key written n times: it holds one value. */
static int
budget_rewrite(fv_call *c, void *ud)
{
    static char value[BUDGET_VALUE];
    lvat_syscall *sys = fv_sys(c->vat);
    long n = strtol(fv_arg_str(c, 0), NULL, 10);

    LVAT_UNUSED(ud);
    for (long i = 1; i <= n; i++) {
        memset(value, 'a' + (int)(i % 26), sizeof value);
        assert_lvat_ok(
            lvat_syscall_vatstore_set(sys, "r", 1, value, sizeof value));
    }
    return fv_return(c, "#\"rewritten\"");
}

/* Under a 64 KiB cap the fourth 16 KiB value of one delivery is refused
 * and the crank undone, even when the runtime ignores the refusal and
 * reports success; the vat restarts, and the same bytes spread over
 * deliveries, or rewritten in place, are fine. */
static void
test_kernel_syscalls_vatstore_budget(void **state)
{
    kf *f = *state;
    kf_launch l;
    kf_result r;
    size_t keys;
    long refused = 0;

    memset(&l, 0, sizeof l);
    fv_on(f->w, "hog", "fill", budget_fill, &refused);
    fv_on(f->w, "hog", "rewrite", budget_rewrite, NULL);
    kf_source(f, "hog", NULL);
    assert_lvat_ok(kf_launch_json(
        f,
        "{\"bootstrap\":\"hog\",\"vats\":{\"hog\":{\"sourceSpec\":"
        "\"hog/hog.lua\",\"creationOptions\":{\"memoryLimit\":65536}}}}",
        &l));
    assert_int_equal(l.status, LVAT_OK);
    keys = kf_count(f, LVAT_DB_VATSTORE, "");
    kf_call(f, l.root, "fill", "[\"8\"]", &r);
    kf_assert_rejected(&r, HOG_FAULT);
    kf_assert_rejected(&r, "0 in messages, 0 in resolutions, ");
    kf_assert_rejected(&r, HOG_ADVICE);
    /* Three hold 3 x (16,385 + an entry, its 3-byte key and an undo
     * record): under 64 KiB; four do not. */
    assert_int_equal(refused, 4);
    assert_int_equal(kf_count(f, LVAT_DB_VATSTORE, ""), keys);
    assert_int_equal(fv_stats_of(f->w, "hog")->starts, 1);
    for (int i = 0; i < 2; i++) {
        kf_call(f, l.root, "fill", "[\"3\"]", &r);
        assert_string_equal(r.body, "#\"0\"");
    }
    assert_int_equal(fv_stats_of(f->w, "hog")->starts, 2); /* restarted */
    assert_int_equal(kf_count(f, LVAT_DB_VATSTORE, ""), keys + 3);
    kf_call(f, l.root, "rewrite", "[\"100\"]", &r);
    assert_string_equal(r.body, "#\"rewritten\"");
}

/* blast(n): n one-way messages to itself of 16 KiB each, going on
 * whatever the syscalls say; returns the number of the first send
 * refused (0: none), also in *ud. */
static int
budget_blast(fv_call *c, void *ud)
{
    static char body[BUDGET_VALUE + 32];
    long n = strtol(fv_arg_str(c, 0), NULL, 10), refused = 0;

    snprintf(body, sizeof body, "#[\"noop\",[\"%0*d\"]]", BUDGET_VALUE, 0);
    for (long i = 1; i <= n; i++) {
        int rc = fv_send(c, fv_vref("o+0"), body, NULL, 0, NULL);
        if (rc != LVAT_OK && refused == 0) {
            assert_int_equal(rc, LVAT_EILLEGAL);
            assert_non_null(strstr(lvat_syscall_errmsg(fv_sys(c->vat)),
                                   " in messages, 0 in resolutions, 0 in "
                                   "vatstore writes"));
            refused = i;
        }
    }
    *(long *)ud = refused;
    return fv_return(c, fv_fmt(c, "#\"%ld\"", refused));
}

/* settle(n): settles n new promises of its own and its result, 16 KiB
 * each, in one batch; returns the syscall's code in *ud. */
static int
budget_settle(fv_call *c, void *ud)
{
    static char body[BUDGET_VALUE + 8];
    lvat_resolution res[8];
    long n = strtol(fv_arg_str(c, 0), NULL, 10);

    assert_true(n < 8);
    snprintf(body, sizeof body, "#\"%0*d\"", BUDGET_VALUE, 0);
    for (long i = 0; i <= n; i++) {
        res[i].vpid = i < n ? fv_new_promise(c->vat) : c->result;
        res[i].rejected = false;
        res[i].data.body = body;
        res[i].data.body_len = strlen(body);
        res[i].data.slots = NULL;
        res[i].data.nslots = 0;
    }
    *(int *)ud = lvat_syscall_resolve(fv_sys(c->vat), res, (size_t)n + 1);
    return LVAT_OK;
}

static int
budget_noop(fv_call *c, void *ud)
{
    LVAT_UNUSED(c);
    (*(int *)ud)++;
    return LVAT_OK; /* a one-way send has no result to settle */
}

/* Under a 64 KiB cap the fourth 16 KiB message of one delivery is
 * refused and the crank undone (none is delivered), even when the
 * runtime ignores the refusal; a batch of five 16 KiB resolutions is
 * refused before the kernel stores any.  Three of either are fine. */
static void
test_kernel_syscalls_send_budget(void **state)
{
    kf *f = *state;
    kf_launch l;
    kf_result r;
    long refused = 0;
    int noops = 0, settled = LVAT_OK;
    size_t promises;

    memset(&l, 0, sizeof l);
    fv_on(f->w, "hog", "blast", budget_blast, &refused);
    fv_on(f->w, "hog", "settle", budget_settle, &settled);
    fv_on(f->w, "hog", "noop", budget_noop, &noops);
    kf_source(f, "hog", NULL);
    assert_lvat_ok(kf_launch_json(
        f,
        "{\"bootstrap\":\"hog\",\"vats\":{\"hog\":{\"sourceSpec\":"
        "\"hog/hog.lua\",\"creationOptions\":{\"memoryLimit\":65536}}}}",
        &l));
    kf_call(f, l.root, "blast", "[\"8\"]", &r);
    kf_assert_rejected(&r, HOG_FAULT);
    kf_assert_rejected(&r, HOG_ADVICE);
    assert_int_equal(refused, 4);
    assert_int_equal(noops, 0);
    kf_call(f, l.root, "blast", "[\"3\"]", &r);
    assert_string_equal(r.body, "#\"0\"");
    assert_int_equal(noops, 3);
    promises = kf_count_promises(f);
    kf_call(f, l.root, "settle", "[\"4\"]", &r);
    assert_int_equal(settled, LVAT_EILLEGAL);
    kf_assert_rejected(&r, HOG_FAULT);
    /* Five stored values: "\n" and a 16,387-byte body each, and each
     * value's record (LVAT_HELD_OVERHEAD). */
    kf_assert_rejected(&r, ": 0 in messages, 82260 in resolutions, ");
    assert_int_equal(kf_count_promises(f), promises);
    kf_call(f, l.root, "settle", "[\"2\"]", &r);
    assert_int_equal(settled, LVAT_OK);
    assert_non_null(strstr(r.body, "00000000"));
}

/* ---- Many slots ---- */

/* many(): sends bob.take(o+1..o+20), and settles 20 new promises of its
 * own and its result, which names them all, in one call. */
static int
many(fv_call *c, void *ud)
{
    lvat_vref objs[MANY], ps[MANY];
    lvat_resolution res[MANY + 1];
    char body[512] = "#[\"take\",[";
    int rc;

    LVAT_UNUSED(ud);
    for (int i = 0; i < MANY; i++) {
        objs[i] = fv_new_object(c->vat);
        snprintf(body + strlen(body), sizeof body - strlen(body),
                 "%s\"$%d.Alleged: o\"", i ? "," : "", i);
    }
    strcat(body, "]]");
    rc = fv_send(c, fv_kept(c->vat, "vats.bob"), body, objs, MANY, NULL);
    for (int i = 0; i < MANY && rc == LVAT_OK; i++) {
        ps[i] = fv_new_promise(c->vat);
        res[i].vpid = ps[i];
        res[i].rejected = i % 2;
        res[i].data.body = "#\"v\"";
        res[i].data.body_len = 4;
        res[i].data.slots = NULL;
        res[i].data.nslots = 0;
    }
    /* The result names them all, so it settles in the same call: once
     * settled, a promise has left the vat's c-list. */
    res[MANY].vpid = c->result;
    res[MANY].rejected = false;
    res[MANY].data.body = "#[\"&0\",\"&19\"]";
    res[MANY].data.body_len = strlen(res[MANY].data.body);
    res[MANY].data.slots = ps;
    res[MANY].data.nslots = MANY;
    return rc ? rc : lvat_syscall_resolve(fv_sys(c->vat), res, MANY + 1);
}

static int
take(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_int_equal(c->nslots, MANY);
    assert_int_equal(fv_nargs(c), MANY);
    for (size_t i = 0; i < MANY; i++) {
        assert_true(lvat_vref_eq(fv_arg_ref(c, i), c->slots[i]));
        assert_false(lvat_vref_is_export(c->slots[i]));
    }
    return LVAT_OK;
}

static void
test_kernel_syscalls_many_slots(void **state)
{
    kf *f = *state;
    size_t promises;
    kf_launch l;
    kf_result r;

    fv_on(f->w, "alice", "many", many, NULL);
    fv_on(f->w, "bob", "take", take, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    promises = kf_count_promises(f);
    kf_call(f, l.root, "many", NULL, &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_int_equal(r.nslots, KF_MAX_SLOTS);
    assert_int_equal(fv_log_count(f->w, "msg bob take"), 1);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v2.c.o-"), MANY);
    /* Promises shown to the host are pinned for it (pin.<kref>). */
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "pin."), MANY);
    assert_int_equal(kf_count_promises(f), promises + MANY);
    /* A new incarnation goes on numbering where the old one stopped. */
    kf_reopen(f);
    kf_call(f, l.root, "hello", NULL, &r);
    assert_int_equal(fv_stats_of(f->w, "alice")->incarnation, 1);
    assert_int_equal(fv_stats_of(f->w, "alice")->first_object, MANY + 1);
}

/* ---- Parameters and config shapes ---- */

static int
start_params(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_true(fv_body_is(&c->d->parameters, "#{\"limit\":3,\"name\":\"x\"}"));
    assert_int_equal(c->d->incarnation, 0);
    return LVAT_OK;
}

static void
test_kernel_syscalls_parameters_and_array_config(void **state)
{
    kf *f = *state;
    const char *cfg = "{\"bootstrap\":\"zed\",\"vats\":["
                      "{\"name\":\"zed\",\"sourceSpec\":\"zed/zed.lua\","
                      "\"parameters\":{\"name\":\"x\",\"limit\":3}},"
                      "{\"name\":\"amy\",\"sourceSpec\":\"amy/amy.lua\"}]}";
    long zed, amy;
    kf_launch l;

    kf_source(f, "zed", NULL);
    kf_source(f, "amy", NULL);
    fv_on_start(f->w, "zed", start_params, NULL);
    assert_lvat_ok(kf_launch_json(f, cfg, &l));
    assert_int_equal(l.nevents, 2);
    assert_int_equal(l.events[1], LVAT_LAUNCH_DONE);
    /* Array order is launch order. */
    zed = fv_log_find(f->w, "start zed v1 0", 0);
    amy = fv_log_find(f->w, "start amy v2 0", 0);
    assert_true(zed >= 0 && amy > zed);
}

/* ---- A fault while handling a notify ---- */

static int
ask(fv_call *c, void *ud)
{
    lvat_vref asked;

    LVAT_UNUSED(ud);
    fv_keep(c->vat, "reply", c->result);
    return fv_send(c, fv_kept(c->vat, "vats.bob"), "#[\"ping\",[]]", NULL, 0,
                   &asked);
}

static int
fault_on_notify(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_lvat_ok(
        fv_resolve(c, fv_kept(c->vat, "reply"), false, "#1", NULL, 0));
    return fv_fail(c, LVAT_EFAULT, "runtime error in the notify handler");
}

static int
pong(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_return(c, "#\"pong\"");
}

static void
test_kernel_syscalls_fault_in_notify(void **state)
{
    kf *f = *state;
    size_t promises, clist;
    kf_launch l;
    kf_result r;

    fv_on(f->w, "alice", "ask", ask, NULL);
    fv_on_notify(f->w, "alice", fault_on_notify, NULL);
    fv_on(f->w, "bob", "ping", pong, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    promises = kf_count_promises(f);
    clist = kf_count(f, LVAT_DB_KERNEL, "v1.c.");
    kf_call(f, l.root, "ask", NULL, &r);
    /* The resolution in the faulting crank was undone; the incarnation's
     * end rejected what it decided. */
    kf_assert_rejected(&r, "[KERNEL:VAT_RESTARTED] v1 (alice)");
    assert_int_equal(fv_stats_of(f->w, "alice")->notifies, 1);
    assert_int_equal(kf_count_promises(f), promises);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "v1.c."), clist);
    kf_call(f, kf_root(f, 2), "ping", NULL, &r);
    assert_string_equal(r.body, "#\"pong\"");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_syscalls_vatstore,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_syscalls_vatstore_budget,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_syscalls_send_budget,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_syscalls_many_slots,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_syscalls_parameters_and_array_config, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_syscalls_fault_in_notify,
                                        kf_test_setup, kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_syscalls", tests, NULL, NULL);
}
