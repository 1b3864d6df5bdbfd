/*
 * Promises end to end, with real Lua vats: promises as arguments and
 * results, chains, kernel forwarding and cycles, pipelining, messages to
 * settled promises, identity of imports and exports, the Promise global,
 * await inside vat coroutines and where Lua cannot yield, and nil holes.
 * Scenarios live in tests/e2e/vats/pdriver.lua (driver) and phelper.lua.
 */
#include "lvat_test.h"

#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define CLUSTER                                     \
    "{\"bootstrap\":\"pdriver\",\"vats\":{"         \
    "\"pdriver\":{\"sourceSpec\":\"pdriver.lua\"}," \
    "\"phelper\":{\"sourceSpec\":\"phelper.lua\"}}}"

/* ---- Helpers ---- */

static int
setup(void **state)
{
    lk *t = lk_start(CLUSTER);

    assert_string_equal(t->launch_result, "ready");
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    lk_stop(*state);
    return 0;
}

/* Calls a driver method; checks the status and returns the rendering. */
static char *
drive(lk *t, const char *method, int want)
{
    int st;
    char *r = lk_call(t, t->root, method, "[]", &st);

    if (st != want)
        fail_msg("%s: status %s, result %s", method, lvat_err_name(st), r);
    return r;
}

static void
expect(lk *t, const char *method, const char *want)
{
    char *r = drive(t, method, LVAT_OK);

    if (strcmp(r, want) != 0)
        fail_msg("%s:\n  got  %s\n  want %s", method, r, want);
    free(r);
}

static void
expect_has(const char *what, const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("%s: \"%s\" lacks \"%s\"", what, text, needle);
}

/* ---- Tests ---- */

static void
test_e2e_promises_argument_settles_later(void **state)
{
    expect(*state, "promiseArg", "true got 42");
}

static void
test_e2e_promises_result_settles_later(void **state)
{
    expect(*state, "promiseResult", "7");
}

static void
test_e2e_promises_chains(void **state)
{
    expect(*state, "chains",
           "{\"a\": 31, \"b\": \"deep\", \"c\": \"two hops\"}");
}

static void
test_e2e_promises_cycle_rejects_both_sides(void **state)
{
    lk *t = *state;
    char *r = drive(t, "cycle", LVAT_OK);

    /* {"a": ..., "b": ...}: both sides see the kernel's verdict. */
    expect_has("cycle", r, "\"a\": \"[KERNEL:PROMISE_CYCLE]");
    expect_has("cycle", r, "\"b\": \"[KERNEL:PROMISE_CYCLE]");
    free(r);
}

static void
test_e2e_promises_local_cycle_rejects(void **state)
{
    char *r = drive(*state, "localCycle", LVAT_OK);

    if (strncmp(r, "[\"promise cycle: ", 17) != 0 ||
        strstr(r, ", \"promise cycle: ") == NULL)
        fail_msg("localCycle: %s", r);
    free(r);
}

static void
test_e2e_promises_pipelined_sends_arrive_in_order(void **state)
{
    expect(*state, "pipeline",
           "{\"got\": \"1,2,3,4,5\", \"order\": \"1,2,3,4,5\"}");
}

static void
test_e2e_promises_send_only(void **state)
{
    expect(*state, "oneWay",
           "{\"bad\": false, \"dot\": false, \"hits\": 2, "
           "\"order\": \"1,2,3\", \"r1\": \"nil\"}");
    /* The failing one-way message went nowhere but the helper's log. */
    assert_true(lk_log_has(*state, "error in a one-way message: nobody "
                                    "hears this"));
}

static void
test_e2e_promises_kernel_forwards_resolution(void **state)
{
    lk *t = *state;

    expect(t, "forwardSetup", "true");
    /* The kit now follows the helper's promise in the kernel: the driver
     * (v1) decides nothing any more. */
    assert_int_equal(lk_count(t, "v1.d."), 0);
    expect(t, "forwardFinish", "true got forwarded");
}

static void
test_e2e_promises_send_to_rejected_rejects_alike(void **state)
{
    lk *t = *state;
    char *r = drive(t, "toRejected", LVAT_OK);

    expect_has("toRejected", r, "\"p\": \"no such luck\"");
    expect_has("toRejected", r, "\"q\": \"no such luck\"");
    expect_has("toRejected", r, "\"same\": true");
    free(r);
}

static void
test_e2e_promises_send_to_data_rejects(void **state)
{
    char *r = drive(*state, "toData", LVAT_OK);

    expect_has("toData", r, "[KERNEL:BAD_PROMISE_RESOLUTION]");
    free(r);
}

static void
test_e2e_promises_method_raises_vat_continues(void **state)
{
    lk *t = *state;
    char *r = drive(t, "boom", LVAT_EREJECTED);

    expect_has("boom", r, "pdriver.lua:");
    expect_has("boom", r, "boom");
    free(r);
    expect(t, "promiseResult", "7");
}

static void
test_e2e_promises_same_import_same_presence(void **state)
{
    lk *t = *state;
    char *r = drive(t, "importIdentity", LVAT_OK);

    expect_has("importIdentity", r, "\"eq\": true");
    expect_has("importIdentity", r, "\"raw\": true");
    expect_has("importIdentity", r, "Thing");
    free(r);
}

static void
test_e2e_promises_same_export_same_vref(void **state)
{
    lk *t = *state;
    size_t objects = lk_count(t, "ko");

    expect(t, "exportIdentity", "true");
    /* One new kernel object, one export vref (o+1 beside the root). */
    assert_int_equal(lk_count(t, "ko"), objects + 1);
    assert_int_equal(lk_count(t, "v1.c.o+"), 2);
}

static void
test_e2e_promises_combinators(void **state)
{
    expect(*state, "combinators",
           "{\"all\": \"2,5,7\", \"bad\": \"nope\", \"kit\": \"kit says no\", "
           "\"rej\": \"r\", \"res\": 3, \"same\": true}");
}

static void
test_e2e_promises_settled_any_race(void **state)
{
    expect(*state, "moreCombinators",
           "{\"anyBad\": \"Promise.any: every promise was rejected xy\", "
           "\"anyOk\": 5, \"badRace\": \"Promise.race(list): "
           "list must be a table, not number\", \"emptyAny\": 0, "
           "\"emptyRace\": \"Promise<pending>\", \"emptySettled\": 0, "
           "\"race\": 3, \"raceBad\": \"first\", "
           "\"settled\": \"fulfilled:2,rejected:no,fulfilled:4\"}");
}

static void
test_e2e_promises_await_in_vat_coroutine(void **state)
{
    expect(*state, "coWrap", "[2, 105]");
}

static void
test_e2e_promises_vat_coroutine_library(void **state)
{
    static const char *const want[] = {
        "\"r1\": \"true,3,two,true\"",
        "\"st1\": \"suspended\"",
        "\"r2\": \"true,xy,running\"",
        "\"dead\": \"false,cannot resume dead coroutine\"",
        "\"nested\": 16",
        "\"sameError\": true",
        "\"closed\": true",
        "\"parked\": \"dead\"",
        "\"badCreate\": \"pdriver.lua:",
        ": coroutine.create: a function is needed\"",
        "\"badResume\": \"pdriver.lua:",
        ": bad argument #1 to 'resume' (coroutine expected, got number)\"",
        NULL};
    lk *t = *state;
    char *r = drive(t, "coLib", LVAT_OK);

    for (const char *const *w = want; *w; w++)
        expect_has("coLib", r, *w);
    free(r);
    assert_true(lk_log_has(t, "coLib\t1\tnil\ttrue\tshown"));
}

static void
test_e2e_promises_methods_and_api(void **state)
{
    static const char *const want[] = {
        "\"chain\": \"caught x2\"",
        "\"fin\": \"kept\"",
        "\"finErr\": \"lost\"",
        "\"ran\": 2",
        "\"pendingText\": \"Promise<pending>\"",
        "\"followed\": 21",
        "\"texts\": \"Promise<fulfilled 3> Promise<rejected no>\"",
        "\"isP\": true",
        "\"notP\": false",
        "\"forged\": false",
        "\"scribbled\": 27",
        "\"named\": \"Promise<pending>\"",
        "\"brokenText\": \"Promise<?>\"",
        "\"junked\": \"Promise<?>\"",
        "\"brokenP\": false",
        "\"badSelf\": \"pdriver.lua:",
        "bad argument #1 to 'await' (table expected, got number)",
        "\"badAll\": \"Promise.all(list): list.n (or #list) must be an "
        "integer\"",
        "\"all\": \"2,nil,c\"",
        /* It said "attempt to index a nil value": no line, no name. */
        "\"nilAll\": \"pdriver.lua:424: Promise.all(list): list must be a "
        "table, not nil\"",
        NULL};
    char *r = drive(*state, "promiseApi", LVAT_OK);

    for (const char *const *w = want; *w; w++)
        expect_has("promiseApi", r, *w);
    free(r);
}

static void
test_e2e_promises_notify_values_name_each_other(void **state)
{
    expect(*state, "notifyBatch", "{\"b\": 7, \"n\": 1, \"same\": true}");
}

static void
test_e2e_promises_hostile_vat_hurts_only_itself(void **state)
{
    static const char *const want[] = {
        "a promise handler's job has no promise",
        "a Promise aggregate step has no aggregate",
        "\"loop\": \"survived\"",
        "\"deep\": \"end\"",
        "\"selfish\": \"E(x): x was fulfilled with a promise that leads "
        "back to it\"",
        "\"big\": \"survived\"",
        "\"index\": true",
        "\"passOk\": 5",
        "\"passErr\": \"h x\"",
        NULL};
    lk *t = *state;
    char *r = drive(t, "hostile", LVAT_OK);

    for (const char *const *w = want; *w; w++)
        expect_has("hostile", r, *w);
    free(r);
    r = drive(t, "junkJob", LVAT_EREJECTED);
    free(r);
    /* The vat came back (restarted: no helper now, local sends work). */
    expect(t, "localSends",
           "{\"fail\": \"local failure\", \"none\": \"Local has no "
           "method \\\"missing\\\"\", \"ok\": 42}");
}

static void
test_e2e_promises_failed_exit_gives_numbers_back(void **state)
{
    expect(*state, "badExit",
           "{\"err\": \"info.z: functions are not passable\", \"ok\": "
           "false, \"sent\": false}");
}

static void
test_e2e_promises_far_and_e(void **state)
{
    static const char *const want[] = {
        "\"later\": \"later\"",
        "\"done\": \"done\"",
        "\"rejected\": \"gone\"",
        "\"remote\": \"Thing has no method \\\"ping\\\"\"",
        "\"notTarget\": \"E(x): x is number, not a presence, Far object "
        "or promise\"",
        "\"noMethod\": \"Empty has no method \\\"echo\\\"\"",
        "\"classy\": \"hi you\"",
        "\"raisy\": \"index boom\"",
        "\"dot\": \"pdriver.lua:",
        ": call E(x):echo(...) with a colon\"",
        "\"onlyDot\": \"pdriver.lua:",
        ": call E.sendOnly(x):note(...) with a colon\"",
        "\"onlyBad\": \"pdriver.lua:",
        ": E.sendOnly(x): x is boolean, not a presence, Far object or "
        "promise\"",
        "\"farIface\": \"pdriver.lua:",
        ": Far(iface, methods): iface must be a string\"",
        ": Far(iface, methods): methods must be a table\"",
        ": Far(iface, methods): a promise cannot be a Far object\"",
        "\"seen\": \"only later\"",
        NULL};
    char *r = drive(*state, "farApi", LVAT_OK);

    for (const char *const *w = want; *w; w++)
        expect_has("farApi", r, *w);
    free(r);
}

static void
test_e2e_promises_await_in_pcall_and_xpcall(void **state)
{
    expect(*state, "awaitInPcall", "[2, 4, \"handled late\"]");
}

static void
test_e2e_promises_all_result_returned(void **state)
{
    expect(*state, "allReturned", "[2, \"two\"]");
}

static void
test_e2e_promises_local_sends_settle(void **state)
{
    expect(*state, "localSends",
           "{\"fail\": \"local failure\", \"none\": \"Local has no "
           "method \\\"missing\\\"\", \"ok\": 42}");
}

static void
test_e2e_promises_await_in_sort_refused(void **state)
{
    char *r = drive(*state, "awaitInSort", LVAT_OK);

    expect_has("awaitInSort", r, "cannot await here");
    free(r);
}

static void
test_e2e_promises_await_in_require_refused(void **state)
{
    char *r = drive(*state, "awaitInRequire", LVAT_OK);

    expect_has("awaitInRequire", r, "cannot await here");
    expect_has("awaitInRequire", r, "pawaitmod.lua:3");
    free(r);
}

static void
test_e2e_promises_await_in_build_root_refused(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_rc(lk_launch(&t, "{\"bootstrap\":\"b\",\"vats\":{\"b\":"
                                 "{\"sourceSpec\":\"pbuildawait.lua\"}}}"),
                   LVAT_EVAT);
    expect_has("launch", t.launch_err, "cannot await here");
    expect_has("launch", t.launch_err, "pbuildawait.lua:4");
    lk_close(&t);
}

static void
test_e2e_promises_failed_marshal_keeps_vat(void **state)
{
    expect(*state, "badMarshal",
           "{\"err\": \"args[3]: functions are not passable\", "
           "\"got\": \"true got late\", \"same\": true}");
}

static void
test_e2e_promises_nil_holes_kept(void **state)
{
    lk *t = *state;
    char helper[32];
    int st;
    char *r;

    expect(t, "holes",
           "[\"3:1,nil,3\", \"2:1,nil\", \"1:nil\", \"300:300\"]");
    /* From the host too: null is a hole, and the count travels. */
    lk_root(t, "v2", helper);
    r = lk_call(t, helper, "count", "[1,null,3]", &st);
    assert_int_equal(st, LVAT_OK);
    assert_string_equal(r, "3:1,nil,3");
    free(r);
}

/* Messages to one promise arrive in the order they were sent: when it
 * settles to a local object (the earlier one took an extra turn:
 * "b,c,a"), when it is exported (the earlier one went through the
 * kernel: "2,1"), when it comes to follow a remote promise (later ones
 * were pipelined past those queued here: "2,3,4,1"). */
static void
test_e2e_promises_sends_keep_e_order(void **state)
{
    expect(*state, "eOrder",
           "{\"exported\": \"a,b,c,1,2\", \"remote\": \"1,2,3,4\"}");
}

/* p:finally(f) waits for a promise f returns and takes its rejection,
 * as in JavaScript: the returned promise was dropped ("kept,gate", and
 * "ok" for the rejection). */
static void
test_e2e_promises_finally_waits_for_its_promise(void **state)
{
    expect(*state, "finallyWaits",
           "{\"keptErr\": \"first\", \"order\": \"gate,kept\", "
           "\"rej\": \"finally says no\", \"remote\": 7}");
}

/* An await in a :next handler is refused with a message that names
 * handlers and says what to do instead (it listed only other places). */
static void
test_e2e_promises_await_in_handler_says_what_to_do(void **state)
{
    char *r = drive(*state, "awaitInHandler", LVAT_OK);

    expect_has("awaitInHandler", r, "pdriver.lua:");
    expect_has("awaitInHandler", r, "cannot await here");
    expect_has("awaitInHandler", r, ":next/:catch/:finally handler");
    expect_has("awaitInHandler", r, "return the promise");
    free(r);
}

/* A rejection nothing took by the end of the delivery's microtasks is
 * logged, naming the vat; one a handler, an await or a send took is
 * not (JavaScript's unhandled rejections). */
static void
test_e2e_promises_unhandled_rejections_logged(void **state)
{
    lk *t = *state;
    char *r = drive(t, "unhandled", LVAT_OK);

    assert_string_equal(r, "done");
    free(r);
    assert_lvat_ok(lvat_kernel_run(t->k));
    assert_true(lk_log_has(t, "] unhandled rejection: nobody took this"));
    assert_true(lk_log_has(t, "unhandled rejection: a handler threw this"));
    assert_true(lk_log_has(t, "no method \"noSuchMethod\""));
    assert_false(lk_log_has(t, "unhandled rejection: caught"));
    assert_false(lk_log_has(t, "unhandled rejection: awaited"));
    assert_false(lk_log_has(t, "unhandled rejection: sent to"));
    assert_false(lk_log_has(t, "unhandled rejection: taken later"));
}

/* Long chains of promises that follow each other: a settled promise let
 * go of the one it followed (holding the head of a settled chain kept
 * every link alive), and a chain built from its tail is made in linear
 * time; cycles are still refused. */
static void
test_e2e_promises_long_chains(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    t.reap_interval = 1; /* the vat collects its heap after each delivery */
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"c\",\"vats\":{\"c\":"
                                 "{\"sourceSpec\":\"pchain.lua\"}}}"));
    lk_expect_at(&t, t.root, "hold", "[50]", LVAT_OK, "true");
    lk_expect_at(&t, t.root, "check", "[50]", LVAT_OK,
                 "{\"alive\": 0, \"value\": \"end\"}");
    /* Each link's cycle check walked the chain behind it: 20,000 links
     * took 20,000^2 / 2 steps, far past the delivery's time budget. */
    lk_expect_at(&t, t.root, "tailChain", "[20000]", LVAT_OK, "end");
    lk_expect_at(&t, t.root, "cycles", "[]", LVAT_OK,
                 "[\"promise cycle\", \"promise cycle\"]");
    lk_close(&t);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_e2e_promises_argument_settles_later),
        T(test_e2e_promises_result_settles_later),
        T(test_e2e_promises_chains),
        T(test_e2e_promises_cycle_rejects_both_sides),
        T(test_e2e_promises_local_cycle_rejects),
        T(test_e2e_promises_pipelined_sends_arrive_in_order),
        T(test_e2e_promises_send_only),
        T(test_e2e_promises_kernel_forwards_resolution),
        T(test_e2e_promises_send_to_rejected_rejects_alike),
        T(test_e2e_promises_send_to_data_rejects),
        T(test_e2e_promises_method_raises_vat_continues),
        T(test_e2e_promises_same_import_same_presence),
        T(test_e2e_promises_same_export_same_vref),
        T(test_e2e_promises_combinators),
        T(test_e2e_promises_await_in_vat_coroutine),
        T(test_e2e_promises_vat_coroutine_library),
        T(test_e2e_promises_methods_and_api),
        T(test_e2e_promises_settled_any_race),
        T(test_e2e_promises_far_and_e),
        T(test_e2e_promises_failed_exit_gives_numbers_back),
        T(test_e2e_promises_hostile_vat_hurts_only_itself),
        T(test_e2e_promises_notify_values_name_each_other),
        T(test_e2e_promises_await_in_pcall_and_xpcall),
        T(test_e2e_promises_all_result_returned),
        T(test_e2e_promises_local_sends_settle),
        T(test_e2e_promises_await_in_sort_refused),
        T(test_e2e_promises_await_in_require_refused),
        cmocka_unit_test(test_e2e_promises_await_in_build_root_refused),
        T(test_e2e_promises_failed_marshal_keeps_vat),
        T(test_e2e_promises_nil_holes_kept),
        T(test_e2e_promises_sends_keep_e_order),
        T(test_e2e_promises_finally_waits_for_its_promise),
        T(test_e2e_promises_await_in_handler_says_what_to_do),
        T(test_e2e_promises_unhandled_rejections_logged),
        cmocka_unit_test(test_e2e_promises_long_chains),
    };
#undef T
    return cmocka_run_group_tests_name("e2e_promises", tests, NULL, NULL);
}
