/*
 * What a vat knows by vref (bindings/lnotify.c: awaited imports, slotToVal,
 * valToSlot for objects, a promise's own vref field) across a promise's
 * life: sent out and back while pending, exported and echoed, exported
 * after a failed marshal gave its number back, forwarded to an import and
 * sent again, settled and sent again, pipelined to.  Each answer is right
 * and no syscall is illegal.  And a method's arguments do not outlive it
 * in its idle delivery thread.  Vats: tests/e2e/vats/vrdriver.lua and
 * vrhelper.lua.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define CLUSTER                                                             \
    "{\"bootstrap\":\"vrdriver\",\"vats\":{"                               \
    "\"vrdriver\":{\"sourceSpec\":\"vrdriver.lua\"},"                        \
    "\"vrhelper\":{\"sourceSpec\":\"vrhelper.lua\"}}}"

/* Calls method() on the driver; wants `want` and no vat stopped. */
static void
expect(lk *t, const char *method, const char *want)
{
    lk_expect(t, method, "[]", want);
    assert_false(lk_log_has(t, "illegal"));
    assert_false(lk_log_has(t, "terminated"));
}

static void
test_e2e_vrefs_pending_import_sent_back(void **state)
{
    expect(*state, "pendingBack", "{\"back\": 7, \"v\": 7}");
}

static void
test_e2e_vrefs_export_keeps_its_identity(void **state)
{
    expect(*state, "exportBack", "{\"held\": 5, \"same\": true}");
    expect(*state, "rollbackThenExport",
           "{\"bad\": \"false:args[1].f: functions are not passable\", "
           "\"held\": 9, \"same\": true}");
}

static void
test_e2e_vrefs_forwarded_and_settled_promises_sent_again(void **state)
{
    expect(*state, "forwardThenResend",
           "{\"back\": 11, \"held\": 11, \"r\": 11}");
    expect(*state, "settledResend", "{\"v\": 3}");
}

/* Many arguments (a Lua stack holds a million values) reach the method
 * on every path: 400,000 that it counts (its varargs and select's copy),
 * 520,000 that it ignores; no vat faults. */
static void
test_e2e_vrefs_half_a_million_arguments(void **state)
{
    static const char *const how[] = {"deferred", "direct", "local"};
    char args[64];

    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "[\"%s\", 400000, \"count\"]", how[i]);
        lk_expect(*state, "many", args, "400000:400000");
        snprintf(args, sizeof args, "[\"%s\", 520000, \"take\"]", how[i]);
        lk_expect(*state, "many", args, "took");
    }
    /* Past the stack path, a method that awaits still goes on. */
    lk_expect(*state, "many", "[\"deferred\", 100, \"countAwait\"]",
              "100:100");
    lk_expect(*state, "many", "[\"direct\", 65, \"countAwait\"]", "65:65");
    assert_false(lk_log_has(*state, "fault"));
    assert_false(lk_log_has(*state, "terminated"));
}

static void
test_e2e_vrefs_pipelined_to_a_result(void **state)
{
    expect(*state, "pipeObj", "{\"a\": \"hit\", \"b\": \"hit\"}");
}

/* Lends the helper an object through the driver's method, whose result
 * must hold `want`, and checks the helper no longer imports it after the
 * next reap (here after every delivery). */
static void
lent_is_dropped(const char *method, const char *want)
{
    char root[32], key[64], *r, *at, *v;
    lk t;
    int st;

    lk_open(&t);
    t.reap_interval = 1;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, CLUSTER));
    lk_root(&t, "v1", root);
    r = lk_call(&t, root, method, "[]", &st);
    assert_int_equal(st, LVAT_OK);
    if (want != NULL && strstr(r, want) == NULL)
        fail_msg("%s: \"%s\" lacks \"%s\"", method, r, want);
    at = strstr(r, "ko");
    assert_non_null(at);
    snprintf(key, sizeof key, "v2.c.%.*s", (int)strspn(at, "ko0123456789"),
             at);
    free(r);
    v = lk_get(&t, LVAT_DB_KERNEL, key);
    if (v != NULL)
        fail_msg("the helper still imports the lent object (%s = %s)", key,
                 v);
    lk_close(&t);
}

/* A method's arguments are not kept by its delivery thread once it is
 * idle in the pool: an object lent to a method that drops it is dropped,
 * with no other message between to reuse the thread. */
static void
test_e2e_vrefs_idle_thread_keeps_no_argument(void **state)
{
    (void)state;
    lent_is_dropped("lend", NULL);
}

/* E keeps the proxy of the last target it was given, for the rest of the
 * delivery only: a vat that sent to the object it was lent lets go of it
 * too.  A proxy, shared that way, cannot be written to. */
static void
test_e2e_vrefs_e_proxy_keeps_no_target(void **state)
{
    (void)state;
    lent_is_dropped("lendPoked", "E(x) proxies are read-only");
}

int
main(void)
{
#define T(f) LK_TEST(f, CLUSTER)
    const struct CMUnitTest tests[] = {
        T(test_e2e_vrefs_pending_import_sent_back),
        T(test_e2e_vrefs_export_keeps_its_identity),
        T(test_e2e_vrefs_forwarded_and_settled_promises_sent_again),
        T(test_e2e_vrefs_pipelined_to_a_result),
        T(test_e2e_vrefs_half_a_million_arguments),
        cmocka_unit_test(test_e2e_vrefs_idle_thread_keeps_no_argument),
        cmocka_unit_test(test_e2e_vrefs_e_proxy_keeps_no_target),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
