/*
 * Notify deliveries on the vat side (bindings/lnotify.c, ljobs.c): a
 * batch whose later value names an earlier vpid of the same batch, and a
 * result the kernel forwards to a promise that settles later.  And the
 * resolves that make such batches (lresolve.c): settled promises whose
 * values name each other cross in one, and an unpassable value in it
 * rejects only its own promise; a ring of 40 settled promises crosses
 * in one batch.  Vats:
 * tests/e2e/vats/ndriver.lua and phelper.lua (twice).
 */
#include "lvat_test.h"

#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

/* zhelper first, so its notifies are queued before the driver's and the
 * driver's two join one batch. */
#define CLUSTER                                                             \
    "{\"bootstrap\":\"ndriver\",\"vats\":{"                                \
    "\"zhelper\":{\"sourceSpec\":\"phelper.lua\"},"                          \
    "\"ndriver\":{\"sourceSpec\":\"ndriver.lua\"},"                          \
    "\"phelper\":{\"sourceSpec\":\"phelper.lua\"}}}"

static void
expect(lk *t, const char *method, const char *want)
{
    lk_expect(t, method, "[]", want);
}

static void
test_e2e_notify_value_names_earlier_vpid_of_batch(void **state)
{
    expect(*state, "backRef", "{\"a\": 1, \"same\": true}");
}

static void
test_e2e_notify_forwarded_result_awaits_to_value(void **state)
{
    expect(*state, "forwarded",
           "{\"isPromise\": false, \"v\": \"innerValue\"}");
}

static void
test_e2e_notify_settled_promises_naming_each_other(void **state)
{
    expect(*state, "mutual", "{\"n1\": 1, \"n2\": 2, \"same\": true}");
}

static void
test_e2e_notify_ring_of_settled_promises_in_one_batch(void **state)
{
    expect(*state, "ring", "{\"back\": true, \"sum\": 820}");
}

static void
test_e2e_notify_unpassable_settled_export_rejects_alone(void **state)
{
    expect(*state, "mutualBad",
           "{\"c\": \"no\", \"n1\": 1, \"ok\": false, \"why\": \"p+2.f: "
           "functions are not passable\"}");
}

int
main(void)
{
#define T(f) LK_TEST(f, CLUSTER)
    const struct CMUnitTest tests[] = {
        T(test_e2e_notify_value_names_earlier_vpid_of_batch),
        T(test_e2e_notify_forwarded_result_awaits_to_value),
        T(test_e2e_notify_settled_promises_naming_each_other),
        T(test_e2e_notify_ring_of_settled_promises_in_one_batch),
        T(test_e2e_notify_unpassable_settled_export_rejects_alone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
