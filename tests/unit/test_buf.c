/*
 * Number text in records and keys: every value formats to its shortest
 * decimal form and parses back, at each digit-count boundary; malformed
 * text is refused.  And strings copied cut to fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "lvat_test.h"

static void
test_buf_u64_round_trip(void **state)
{
    static const uint64_t v[] = {0,     1,      9,      10,        11,
                                 99,    100,    101,    999,       1000,
                                 65535, 100000, 999999, 1234567890,
                                 UINT64_MAX};
    char out[24], want[24];

    (void)state;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t back = 0;
        size_t n = lvat_fmt_u64(out, v[i]);
        snprintf(want, sizeof want, "%llu", (unsigned long long)v[i]);
        assert_string_equal(out, want);
        assert_int_equal(n, strlen(want));
        assert_int_equal(lvat_parse_u64(out, n, &back), LVAT_OK);
        assert_true(back == v[i]);
    }
    /* Both sides of every digit-count boundary. */
    for (uint64_t p = 10; p != 0 && p <= UINT64_MAX / 10 * 10; p *= 10) {
        for (uint64_t x = p - 1; x <= p; x++) {
            size_t n = lvat_fmt_u64(out, x);
            snprintf(want, sizeof want, "%llu", (unsigned long long)x);
            assert_string_equal(out, want);
            assert_int_equal(n, strlen(want));
        }
        if (p > UINT64_MAX / 10)
            break;
    }
}

static void
test_buf_u64_lists(void **state)
{
    uint64_t v[3] = {7, 0, 4096}, back[3];
    char out[3 * 21];
    size_t n;

    (void)state;
    n = lvat_fmt_u64s(out, v, 3);
    assert_string_equal(out, "7 0 4096");
    assert_int_equal(lvat_parse_u64s(out, n, back, 3), LVAT_OK);
    assert_memory_equal(back, v, sizeof v);
    assert_int_equal(lvat_parse_u64s("7 0", 3, back, 3), LVAT_EINVAL);
    assert_int_equal(lvat_parse_u64s("7 0 1 2", 7, back, 3), LVAT_EINVAL);
    assert_int_equal(lvat_parse_u64("", 0, back), LVAT_EINVAL);
    assert_int_equal(lvat_parse_u64("1x", 2, back), LVAT_EINVAL);
    assert_int_equal(lvat_parse_u64("18446744073709551616", 20, back),
                     LVAT_EINVAL);
}

/* lvat_copy_cut: whole when it fits, cut to fit otherwise, always
 * ended; the bytes past the NUL are untouched. */
static void
test_buf_copy_cut(void **state)
{
    char out[6];

    (void)state;
    memset(out, 'x', sizeof out);
    lvat_copy_cut(out, sizeof out, "s12", 3);
    assert_string_equal(out, "s12");
    assert_int_equal(out[4], 'x');
    lvat_copy_cut(out, sizeof out, "s12345", 6);
    assert_string_equal(out, "s1234");
    lvat_copy_cut(out, sizeof out, "s1234", 5);
    assert_string_equal(out, "s1234");
    lvat_copy_cut(out, sizeof out, "abc", 0);
    assert_string_equal(out, "");
    lvat_copy_cut(out, 1, "abc", 3);
    assert_string_equal(out, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_u64_round_trip),
        cmocka_unit_test(test_buf_u64_lists),
        cmocka_unit_test(test_buf_copy_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
