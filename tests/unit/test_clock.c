/*
 * The sampling of timers inside a timed crank (host/clock.h): the first
 * LVAT_TIME_ALL operations stand for themselves, then one in
 * LVAT_TIME_EVERY stands for that many, so that the weights of any run
 * past the first ones add up to the operations made, within one sample.
 */
#include "lvat_test.h"

#include "clock.h"

static void
test_clock_first_operations_each_timed(void **state)
{
    uint32_t ops = 0;

    (void)state;
    for (int i = 0; i < LVAT_TIME_ALL; i++)
        assert_int_equal(lvat_time_weight(&ops), 1);
    assert_int_equal(ops, LVAT_TIME_ALL);
}

static void
test_clock_then_one_in_every_stands_for_them(void **state)
{
    uint32_t ops = 0, timed = 0, weights = 0;
    const uint32_t n = 100000;

    (void)state;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w = lvat_time_weight(&ops);

        assert_true(w == 0 || w == 1 || w == LVAT_TIME_EVERY);
        timed += w != 0;
        weights += w;
    }
    assert_int_equal(ops, n);
    /* 100,000 operations: 64 + 99,936 / 8 timed, standing for them all */
    assert_int_equal(timed,
                     LVAT_TIME_ALL + (n - LVAT_TIME_ALL) / LVAT_TIME_EVERY);
    assert_int_equal(weights, n);
}

static void
test_clock_is_monotonic(void **state)
{
    uint64_t a = lvat_clock_ns(), b = lvat_clock_ns();

    (void)state;
    assert_true(b >= a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_first_operations_each_timed),
        cmocka_unit_test(test_clock_then_one_in_every_stands_for_them),
        cmocka_unit_test(test_clock_is_monotonic),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
