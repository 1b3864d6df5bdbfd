/*
 * A long ping loop between two real vats leaves the kernel store flat:
 * every resolved result promise is retired and deleted (design.md §7,
 * deciders), so the number of keys after 100,000 round trips equals the
 * number after a warm-up of 1,000.  Under valgrind the loop is 2,000.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

static void
test_e2e_pingloop_store_stays_flat(void **state)
{
    long n = lvat_test_under_valgrind() ? 2000 : 100000;
    size_t warm, after, vs, kps;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"pinger\",\"vats\":{"
                                 "\"pinger\":{\"sourceSpec\":\"pinger.lua\"},"
                                 "\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    lk_run_pings(&t, 1000);
    warm = lk_count(&t, "");
    vs = lk_count_vatstore(&t);
    kps = lk_count(&t, "kp");
    lk_run_pings(&t, n);
    after = lk_count(&t, "");
    if (after != warm)
        fail_msg("kernel keys: %zu after the warm-up, %zu after %ld pings",
                 warm, after, n);
    assert_int_equal(lk_count(&t, "kp"), kps);
    assert_int_equal(lk_count_vatstore(&t), vs);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_pingloop_store_stays_flat),
    };
    return cmocka_run_group_tests_name("e2e_pingloop", tests, NULL, NULL);
}
