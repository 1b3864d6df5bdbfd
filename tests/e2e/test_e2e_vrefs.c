/*
 * What a vat knows by vref (bindings/lnotify.c: awaited imports, slotToVal,
 * valToSlot for objects, a promise's own vref field) across a promise's
 * life: sent out and back while pending, exported and echoed, exported
 * after a failed marshal gave its number back, forwarded to an import and
 * sent again, settled and sent again, pipelined to.  Each answer is right
 * and no syscall is illegal.  Vats: tests/e2e/vats/vrdriver.lua and
 * vrhelper.lua.
 */
#include "lvat_test.h"

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
    int st;
    char *r = lk_call(t, t->root, method, "[]", &st);

    if (st != LVAT_OK || strcmp(r, want) != 0)
        fail_msg("%s: %s %s, want %s", method, lvat_err_name(st), r, want);
    free(r);
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

static void
test_e2e_vrefs_pipelined_to_a_result(void **state)
{
    expect(*state, "pipeObj", "{\"a\": \"hit\", \"b\": \"hit\"}");
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
