/*
 * lvat_kernel_release: the host lets go of a kref a result showed it, and
 * the object is collected (its pin.<kref> and record go) once nothing
 * else holds it; across a restart too.  Vats: tests/e2e/vats/ndriver.lua
 * (bootstrap) and phelper.lua, whose classy() makes a fresh object and
 * getThing() hands out the same one each time.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define CLUSTER                                                             \
    "{\"bootstrap\":\"ndriver\",\"vats\":{"                                \
    "\"zhelper\":{\"sourceSpec\":\"phelper.lua\"},"                          \
    "\"ndriver\":{\"sourceSpec\":\"ndriver.lua\"},"                          \
    "\"phelper\":{\"sourceSpec\":\"phelper.lua\"}}}"
#define PHELPER "v3" /* vats are numbered in the config's order */

/* Calls phelper's method; out gets the kref of the object it returns. */
static void
call_for_kref(lk *t, const char *method, char out[32])
{
    char root[32], *r, *at;
    int st;

    lk_root(t, PHELPER, root);
    r = lk_call(t, root, method, "[]", &st);
    assert_int_equal(st, LVAT_OK);
    at = strstr(r, "ko");
    if (at == NULL || sscanf(at, "%31[ko0-9]", out) != 1)
        fail_msg("%s returned %s, not an object", method, r);
    free(r);
}

static bool
has_key(lk *t, const char *prefix, const char *kref)
{
    char key[64];
    char *v;

    snprintf(key, sizeof key, "%s%s", prefix, kref);
    v = lk_get(t, LVAT_DB_KERNEL, key);
    free(v);
    return v != NULL;
}

static void
run(lk *t)
{
    assert_int_equal(lvat_kernel_run(t->k), LVAT_OK);
}

static void
test_e2e_release_lets_the_object_be_collected(void **state)
{
    lk *t = *state;
    char ko[32];

    call_for_kref(t, "classy", ko);
    assert_true(has_key(t, "pin.", ko));
    lk_restart(t); /* the hold is durable */
    assert_true(has_key(t, "pin.", ko));
    assert_true(has_key(t, "", ko));
    assert_int_equal(lvat_kernel_release(t->k, ko), LVAT_OK);
    run(t);
    assert_false(has_key(t, "pin.", ko));
    assert_false(has_key(t, "", ko));
    /* The exporter dropped it: no c-list names it any more. */
    assert_false(has_key(t, PHELPER ".c.", ko));
}

static void
test_e2e_release_twice_is_refused(void **state)
{
    lk *t = *state;
    char ko[32];

    call_for_kref(t, "classy", ko);
    assert_int_equal(lvat_kernel_release(t->k, ko), LVAT_OK);
    run(t);
    assert_int_equal(lvat_kernel_release(t->k, ko), LVAT_ENOTFOUND);
    assert_non_null(strstr(lvat_kernel_errmsg(t->k), "not held for the host"));
    assert_non_null(strstr(lvat_kernel_errmsg(t->k), ko));
}

/* Twice before the first is applied: the second finds nothing to drop. */
static void
test_e2e_release_queued_twice_drops_once(void **state)
{
    lk *t = *state;
    char ko[32], other[32];

    call_for_kref(t, "classy", ko);
    call_for_kref(t, "getThing", other);
    assert_int_equal(lvat_kernel_release(t->k, ko), LVAT_OK);
    assert_int_equal(lvat_kernel_release(t->k, ko), LVAT_OK);
    run(t);
    assert_false(has_key(t, "", ko));
    assert_true(has_key(t, "pin.", other));
    assert_true(has_key(t, "", other));
}

static void
test_e2e_release_refuses_what_the_host_never_held(void **state)
{
    lk *t = *state;

    assert_int_equal(lvat_kernel_release(t->k, "ko99999"), LVAT_ENOTFOUND);
    assert_int_equal(lvat_kernel_release(t->k, "nonsense"), LVAT_EINVAL);
    assert_non_null(strstr(lvat_kernel_errmsg(t->k), "not a kref"));
    assert_int_equal(lvat_kernel_release(t->k, NULL), LVAT_EINVAL);
}

/* Released and collected, then shown again: held again, and usable. */
static void
test_e2e_release_then_shown_again_is_held_again(void **state)
{
    lk *t = *state;
    char first[32], again[32], *r;
    int st;

    call_for_kref(t, "getThing", first);
    assert_int_equal(lvat_kernel_release(t->k, first), LVAT_OK);
    run(t);
    assert_false(has_key(t, "pin.", first));
    call_for_kref(t, "getThing", again);
    assert_true(has_key(t, "pin.", again));
    r = lk_call(t, again, "anything", "[]", &st);
    assert_int_equal(st, LVAT_EREJECTED); /* reached: Thing has no methods */
    free(r);
}

/* The first kref of kind `kind` ("ko", "kp") in text, into out. */
static void
find_kref(const char *text, const char *kind, char out[32])
{
    const char *at = strstr(text, kind);

    if (at == NULL || sscanf(at, "%31[kop0-9]", out) != 1)
        fail_msg("no %s in %s", kind, text);
}

/* Released, then named by a send queued before the release was applied:
 * a settled promise nothing else holds is gone by then, and the send is
 * refused (it used to fail every crank from then on). */
static void
test_e2e_release_then_send_to_it_is_refused(void **state)
{
    lk *t = *state;
    char root[32], kp[32], args[64], *r;
    int st;

    lk_root(t, PHELPER, root);
    r = lk_call(t, root, "pairKits", "[]", &st);
    find_kref(r, "kp", kp);
    free(r);
    free(lk_call(t, root, "settlePair", "[]", &st));
    assert_int_equal(st, LVAT_OK);
    assert_int_equal(lvat_kernel_release(t->k, kp), LVAT_OK);
    r = lk_call(t, kp, "anything", "[]", &st);
    assert_int_equal(st, LVAT_EREJECTED);
    if (strstr(r, "no longer exists") == NULL || strstr(r, kp) == NULL)
        fail_msg("%s", r);
    free(r);
    /* As an argument too; and the kernel goes on. */
    r = lk_call(t, root, "pairKits", "[]", &st);
    find_kref(r, "kp", kp);
    free(r);
    free(lk_call(t, root, "settlePair", "[]", &st));
    assert_int_equal(lvat_kernel_release(t->k, kp), LVAT_OK);
    snprintf(args, sizeof args, "[{\"@kref\": \"%s\"}]", kp);
    r = lk_call(t, root, "take", args, &st);
    assert_int_equal(st, LVAT_EREJECTED);
    if (strstr(r, "no longer exists") == NULL)
        fail_msg("%s", r);
    free(r);
    r = lk_call(t, root, "ping", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    assert_string_equal(r, "pong");
    free(r);
}

/* Released and dropped by its exporter (which then lets it go), but not
 * yet retired: a send the host queues now that names it must not make it
 * reachable again, since the exporter was told nobody can reach it.  It
 * used to be delivered: the other vat held it, and a message to it then
 * reached an exporter that no longer had it ("phelper (v3) has no object
 * o+1"), a VAT_FAULT that restarted the innocent exporter. */
static void
test_e2e_release_dropped_object_cannot_be_named_again(void **state)
{
    char ko[32], other[32], args[64];
    uint32_t ran;
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1; /* the exporter collects its heap at once */
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, CLUSTER));
    lk_root(&t, "v1", other);
    call_for_kref(&t, "classy", ko);
    assert_int_equal(lvat_kernel_release(t.k, ko), LVAT_OK);
    assert_lvat_ok(lvat_kernel_step(t.k, 1, 0, &ran)); /* the release */
    assert_lvat_ok(lvat_kernel_step(t.k, 1, 0, &ran)); /* dropExports */
    assert_true(has_key(&t, "", ko));
    snprintf(args, sizeof args, "[{\"@kref\": \"%s\"}]", ko);
    assert_int_equal(lvat_kernel_queue_message(t.k, other, "take", args,
                                               NULL, NULL),
                     LVAT_ENOTFOUND);
    assert_int_equal(lvat_kernel_queue_message(t.k, ko, "greet", "[]", NULL,
                                               NULL),
                     LVAT_ENOTFOUND);
    run(&t);
    assert_false(has_key(&t, "", ko));
    assert_false(has_key(&t, PHELPER ".c.", ko));
    assert_false(lk_log_has(&t, "fault"));
    lk_close(&t);
}

int
main(void)
{
#define T(f) LK_TEST(f, CLUSTER)
    const struct CMUnitTest tests[] = {
        T(test_e2e_release_lets_the_object_be_collected),
        T(test_e2e_release_twice_is_refused),
        T(test_e2e_release_queued_twice_drops_once),
        T(test_e2e_release_refuses_what_the_host_never_held),
        T(test_e2e_release_then_shown_again_is_held_again),
        T(test_e2e_release_then_send_to_it_is_refused),
        cmocka_unit_test(test_e2e_release_dropped_object_cannot_be_named_again),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
