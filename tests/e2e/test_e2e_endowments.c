/*
 * Endowments a vat config's "globals" may ask for (design §8): a wall
 * clock, a monotonic clock and seeded randomness, each only where asked;
 * creationOptions.randomSeed makes Random reproducible (the same sequence
 * in every vat and every incarnation with that seed).
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define VAT(name, opts)                                                   \
    "\"" name "\":{\"sourceSpec\":\"endow.lua\",\"globals\":[\"Date\","    \
    "\"monotonicNow\",\"Random\"]" opts "}"

static char *
call(lk *t, const char *kref, const char *method, const char *args)
{
    int st;
    char *r = lk_call(t, kref, method, args, &st);

    if (st != LVAT_OK)
        fail_msg("%s.%s: status %d: %s", kref, method, st, r);
    return r;
}

static void
expect_has(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("expected \"%s\" in: %s", needle, hay);
}

static void
test_endowments_clocks_and_ranges(void **state)
{
    lk t;
    char *r;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"a\",\"vats\":{" VAT("a", "")
                                 "}}"));
    r = call(&t, t.root, "clocks", "[]");
    expect_has(r, "\"mono\": true");
    expect_has(r, "\"wallType\": \"integer\"");
    free(r);
    r = call(&t, t.root, "ranges", "[]");
    assert_string_equal(r, "{\"len0\": 0, \"len9\": 9, \"ok\": true, "
                           "\"wide\": \"integer\"}");
    free(r);
    r = call(&t, t.root, "misuse", "[]");
    expect_has(r, "the interval is empty");
    expect_has(r, "n must be in [0, 1048576]");
    expect_has(r, "number expected, got string");
    free(r);
    lk_close(&t);
}

static void
test_endowments_seeded_random_repeats(void **state)
{
    char a_root[32], b_root[32], c_root[32];
    char *a, *b, *c, *a2;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(
        &t, "{\"bootstrap\":\"a\",\"vats\":{"
            VAT("a", ",\"creationOptions\":{\"randomSeed\":42}") ","
            VAT("b", ",\"creationOptions\":{\"randomSeed\":42}") ","
            VAT("c", "") "}}"));
    snprintf(a_root, sizeof a_root, "%s", t.root);
    lk_root(&t, "v2", b_root);
    lk_root(&t, "v3", c_root);
    a = call(&t, a_root, "draws", "[20]");
    b = call(&t, b_root, "draws", "[20]");
    c = call(&t, c_root, "draws", "[20]");
    assert_string_equal(a, b);        /* same seed, same sequence */
    assert_string_not_equal(a, c);    /* OS entropy otherwise */
    /* A new incarnation starts the seeded sequence again. */
    lk_restart(&t);
    a2 = call(&t, a_root, "draws", "[20]");
    assert_string_equal(a, a2);
    free(a);
    free(b);
    free(c);
    free(a2);
    lk_close(&t);
}

static void
test_endowments_only_where_asked(void **state)
{
    char *r;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"a\",\"vats\":{\"a\":{"
                                 "\"sourceSpec\":\"endow.lua\"}}}"));
    r = call(&t, t.root, "hasRandom", "[]");
    assert_string_equal(r, "false");
    free(r);
    assert_int_equal(lk_launch(&t, "{\"bootstrap\":\"a\",\"vats\":{\"a\":{"
                                   "\"sourceSpec\":\"endow.lua\","
                                   "\"creationOptions\":{\"randomSeed\":"
                                   "\"x\"}}}}"),
                     LVAT_ECONFIG);
    expect_has(t.launch_err, "randomSeed must be an integer");
    assert_int_equal(lk_launch(&t, "{\"bootstrap\":\"a\",\"vats\":{\"a\":{"
                                   "\"sourceSpec\":\"endow.lua\","
                                   "\"globals\":[\"Rand\"]}}}"),
                     LVAT_EVAT);
    expect_has(t.launch_err, "unknown global \"Rand\"");
    expect_has(t.launch_err, "known: Date, monotonicNow, Random");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endowments_clocks_and_ranges),
        cmocka_unit_test(test_endowments_seeded_random_repeats),
        cmocka_unit_test(test_endowments_only_where_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
