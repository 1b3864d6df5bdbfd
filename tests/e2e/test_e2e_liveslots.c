/*
 * What bindings/lliveslots.c does for a vat, driven from Lua: finding a
 * message's method (a plain field, __index, none), wording a rejection
 * whose value cannot travel, and logging a one-way message's error.  The
 * vat is tests/e2e/vats/lookup.lua.
 */
#include "lvat_test.h"

#include "lua_kernel.h"

#define CLUSTER                                 \
    "{\"bootstrap\":\"lookup\",\"vats\":{"      \
    "\"lookup\":{\"sourceSpec\":\"lookup.lua\"}}}"

static int
setup(void **state)
{
    lk *t = lk_start(CLUSTER);

    assert_string_equal(t->launch_result, "ready");
    *state = t;
    return 0;
}

/* method(args) on the root: its status, and a part of its rendering. */
static void
expect(lk *t, const char *method, const char *args, int want,
       const char *needle)
{
    lk_expect_at(t, t->root, method, args, want, needle);
}

static void
test_e2e_liveslots_field_not_a_function(void **state)
{
    expect(*state, "notfn", "[]", LVAT_EREJECTED,
           "Lookup has no method \\\"notfn\\\"");
}

static void
test_e2e_liveslots_missing_method(void **state)
{
    expect(*state, "absent", "[]", LVAT_EREJECTED,
           "Lookup has no method \\\"absent\\\"");
    expect(*state, "localMissing", "[]", LVAT_EREJECTED,
           "Thing has no method \\\"absent\\\"");
}

/* __index is the vat's: what it finds is the method, and what it raises
 * rejects the result (the delivery itself does not fail). */
static void
test_e2e_liveslots_index_finds_or_raises(void **state)
{
    expect(*state, "viaIndex", "[]", LVAT_OK, "found via __index");
    expect(*state, "boom", "[]", LVAT_EREJECTED, "index raised for boom");
    expect(*state, "bootstrap", "[]", LVAT_OK, "ready");
}

/* A rejection's own words (its __tostring) are kept; a table that says
 * nothing of itself is worded by why it could not travel. */
static void
test_e2e_liveslots_failed_reasons(void **state)
{
    expect(*state, "rejectWith", "[\"tostring\"]", LVAT_EREJECTED,
           "said so");
    expect(*state, "rejectWith", "[\"default\"]", LVAT_EREJECTED,
           "rejection: tables with metatables are not passable");
    expect(*state, "rejectWith", "[\"string\"]", LVAT_EREJECTED,
           "lookup.lua:21: plain string");
    expect(*state, "returnsFn", "[]", LVAT_EREJECTED,
           "result: functions are not passable");
}

static void
test_e2e_liveslots_one_way_error_unprintable(void **state)
{
    expect(*state, "oneWayUnprintable", "[]", LVAT_OK, "ok");
    assert_true(lk_log_has(*state, "error in a one-way message: "
                                   "(unprintable)"));
}

/* A first start has no earlier imports to drop: the main module's own
 * array entries are not taken for them (they were, as vrefs: "12 is not
 * in its c-list", an illegal syscall). */
static void
test_e2e_liveslots_main_table_with_array_part(void **state)
{
    lk *t = lk_start("{\"bootstrap\":\"a\",\"vats\":{"
                     "\"a\":{\"sourceSpec\":\"arraymain.lua\"}}}");

    (void)state;
    assert_string_equal(t->launch_result, "ready 3");
    lk_stop(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_liveslots_field_not_a_function),
        cmocka_unit_test(test_e2e_liveslots_missing_method),
        cmocka_unit_test(test_e2e_liveslots_index_finds_or_raises),
        cmocka_unit_test(test_e2e_liveslots_failed_reasons),
        cmocka_unit_test(test_e2e_liveslots_one_way_error_unprintable),
        cmocka_unit_test(test_e2e_liveslots_main_table_with_array_part),
    };
    return cmocka_run_group_tests_name("e2e_liveslots", tests, setup,
                                       lk_teardown);
}
