/*
 * Resolves that carry the settled promises their values name
 * (bindings/lresolve.c): chains and cycles arrive whole and keep their
 * identity, a value that cannot be marshalled rejects only its own
 * promise, and vat code that runs while a batch is built (a reason's
 * __tostring) cannot make the vat's syscalls illegal.  Vats:
 * tests/e2e/vats/rdriver.lua and rhelper.lua (twice).
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define CLUSTER                                                             \
    "{\"bootstrap\":\"rdriver\",\"vats\":{"                                \
    "\"rdriver\":{\"sourceSpec\":\"rdriver.lua\"},"                          \
    "\"zhelper\":{\"sourceSpec\":\"rhelper.lua\"},"                          \
    "\"rhelper\":{\"sourceSpec\":\"rhelper.lua\"}}}"

#define NOT_PASSABLE "tables with metatables are not passable (use plain " \
                     "tables, Far objects, promises or presences)"

/* Calls method(args) on the driver; wants `want` and no vat stopped. */
static void
expect(lk *t, const char *method, const char *args, const char *want)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != LVAT_OK || strcmp(r, want) != 0)
        fail_msg("%s%s: %s %s, want %s", method, args, lvat_err_name(st), r,
                 want);
    free(r);
    assert_false(lk_log_has(t, "illegal"));
    assert_false(lk_log_has(t, "terminated"));
}

static void
test_e2e_resolve_long_chain_arrives_whole(void **state)
{
    expect(*state, "chain", "[1000]", "{\"count\": 1000, \"last\": 1000}");
}

static void
test_e2e_resolve_unpassable_link_rejects_only_itself(void **state)
{
    expect(*state, "chain", "[1000, 500]",
           "{\"count\": 499, \"err\": \"p+500.z: functions are not "
           "passable\"}");
}

static void
test_e2e_resolve_cycle_of_three_keeps_identity(void **state)
{
    expect(*state, "cycle3", "[]", "{\"back\": true, \"ns\": [1, 2, 3]}");
}

static void
test_e2e_resolve_rejection_names_a_settled_promise(void **state)
{
    expect(*state, "rejNames", "[]", "{\"dn\": 4, \"ok\": false}");
}

static void
test_e2e_resolve_failed_entry_gives_its_exports_back(void **state)
{
    expect(*state, "exportThenFail", "[]",
           "{\"alive\": \"alive\", \"err\": \"p+1.z: functions are not "
           "passable\", \"ok\": false, \"y\": \"y\"}");
}

/* Sent as arguments: both were exported before either resolve. */
static void
test_e2e_resolve_settled_arguments_keep_identity(void **state)
{
    expect(*state, "asArg", "[]",
           "{\"n1\": 1, \"n2\": 2, \"same1\": true, \"same2\": true}");
}

static void
test_e2e_resolve_reason_tostring_cannot_send_mid_batch(void **state)
{
    expect(*state, "hostile", "[\"hostileTostring\"]",
           "{\"a\": \"true:table\", \"alive\": \"true:alive\", \"c\": "
           "\"false:p+2: " NOT_PASSABLE "\", \"ok\": true}");
}

static void
test_e2e_resolve_reason_tostring_cannot_follow_mid_batch(void **state)
{
    expect(*state, "hostile", "[\"hostileFollow\"]",
           "{\"a\": \"true:table\", \"alive\": \"true:alive\", \"c\": "
           "\"false:p+4: " NOT_PASSABLE "\", \"ok\": true}");
}

/* The first entry's reason may run vat code: nothing is pending yet. */
static void
test_e2e_resolve_first_reason_tostring_still_words_it(void **state)
{
    expect(*state, "hostile", "[\"hostileTostringMain\"]",
           "{\"alive\": \"true:alive\", \"ok\": false, \"r\": \"boom\"}");
}

static void
test_e2e_resolve_scribbled_promises_hurt_only_their_vat(void **state)
{
    expect(*state, "scribble", "[\"scribbleFn\"]",
           "{\"a\": \"false:p+1: functions are not passable\", \"alive\": "
           "\"true:alive\", \"ok\": true}");
    expect(*state, "scribble", "[\"scribbleSelf\"]",
           "{\"a\": \"true:table\", \"alive\": \"true:alive\", \"meSame\": "
           "true, \"ok\": true}");
    expect(*state, "scribble", "[\"scribbleVref\"]",
           "{\"a\": \"true:table\", \"alive\": \"true:alive\", \"ok\": "
           "true}");
    expect(*state, "scribble", "[\"scribbleRejNil\"]",
           "{\"a\": \"false:nil\", \"alive\": \"true:alive\", \"ok\": true}");
}

/* Random graphs of settled promises (cycles, self-references, some
 * rejected) arrive whole, each promise once; the seed replays a failure. */
static void
test_e2e_resolve_random_graphs_arrive_whole(void **state)
{
    lk *t = *state;

    for (int seed = 1; seed <= 40; seed++) {
        char args[32], *r;
        int st;
        snprintf(args, sizeof args, "[%d, %d]", seed, 5 + seed % 30);
        r = lk_call(t, t->root, "graph", args, &st);
        if (st != LVAT_OK || atoi(r) < 1)
            fail_msg("graph%s: %s %s", args, lvat_err_name(st), r);
        free(r);
    }
    assert_false(lk_log_has(t, "illegal"));
    assert_false(lk_log_has(t, "terminated"));
}

int
main(void)
{
#define T(f) LK_TEST(f, CLUSTER)
    const struct CMUnitTest tests[] = {
        T(test_e2e_resolve_long_chain_arrives_whole),
        T(test_e2e_resolve_unpassable_link_rejects_only_itself),
        T(test_e2e_resolve_cycle_of_three_keeps_identity),
        T(test_e2e_resolve_rejection_names_a_settled_promise),
        T(test_e2e_resolve_failed_entry_gives_its_exports_back),
        T(test_e2e_resolve_settled_arguments_keep_identity),
        T(test_e2e_resolve_reason_tostring_cannot_send_mid_batch),
        T(test_e2e_resolve_reason_tostring_cannot_follow_mid_batch),
        T(test_e2e_resolve_first_reason_tostring_still_words_it),
        T(test_e2e_resolve_scribbled_promises_hurt_only_their_vat),
        T(test_e2e_resolve_random_graphs_arrive_whole),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
