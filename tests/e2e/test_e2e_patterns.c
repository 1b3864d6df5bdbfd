/*
 * Pattern matching under the time budget, with a real Lua vat
 * (tests/e2e/vats/patterns.lua): searches that would backtrack for
 * minutes in Lua's own C matcher (find, the method syntax, match,
 * gmatch, gsub with a string or a function, a quadratic plain find, a
 * find retried under pcall, gsub expanding a long template of "%0"s for
 * empty matches, table.sort of long strings, and load of a text that
 * compiles in quadratic time) fault the vat with "time budget of 100 ms
 * exceeded" within about a second, and the vat answers its next message.
 * Ordinary patterns on subjects over 256 KiB just work.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_kernel.h"

/* ---- Fixture ---- */

/* Small, so a stopped search is quick, yet room for the launch and the
 * ordinary methods; roomier where everything runs slower. */
static unsigned
time_limit_ms(void)
{
    if (lvat_test_under_valgrind())
        return 200; /* valgrind translates code on first use: slow starts */
    return lvat_test_under_sanitizer() ? 25 : 5;
}

/* How long a stopped search may take, the budget included.  Under
 * valgrind the watchdog thread may wait long for its turn (valgrind runs
 * one thread at a time); unstopped, these searches run for many minutes
 * there. */
static double
stop_within_s(void)
{
    return lvat_test_under_valgrind() ? 150.0 : 1.0;
}

static void
launch(void **state, unsigned limit_ms)
{
    lk *t = calloc(1, sizeof *t);
    char cfg[256];

    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"patterns\",\"vats\":{\"patterns\":"
             "{\"sourceSpec\":\"patterns.lua\",\"creationOptions\":"
             "{\"timeLimitMs\":%u}}}}",
             limit_ms);
    /* A budget of a few milliseconds is also the start's: a process that
     * loses the CPU meanwhile (a loaded machine) overruns it, which says
     * nothing about the searches under test, so such a start is tried
     * again in a fresh store. */
    for (int tries = 1;; tries++) {
        int rc;
        lk_open(t);
        if ((rc = lk_launch(t, cfg)) == LVAT_OK)
            break;
        if (tries == 5 || strstr(t->launch_err, "time budget") == NULL)
            fail_msg("launch: %s", t->launch_err);
        lk_close(t);
    }
    *state = t;
}

static int
setup(void **state)
{
    launch(state, time_limit_ms());
    return 0;
}

/* Room to build a 1 MiB pattern (patterns.lua's prepareSet) in one
 * delivery, which the tiny budget above does not leave. */
static unsigned
long_set_limit_ms(void)
{
    return lvat_test_under_valgrind() ? 5000 : 200;
}

static int
setup_long_set(void **state)
{
    launch(state, long_set_limit_ms());
    return 0;
}

/* For ordinary work on big subjects, which takes longer than the small
 * budget under the sanitizers and valgrind. */
static int
setup_roomy(void **state)
{
    launch(state, lvat_test_under_valgrind() ? 30000 : 5000);
    return 0;
}

static int
teardown(void **state)
{
    lk_close(*state);
    free(*state);
    return 0;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Calls root.method() and checks status and (part of) the result;
 * returns how long the call took. */
static double
call_expect(lk *t, const char *method, int want, const char *needle)
{
    double t0 = now_s();
    int st;
    char *r = lk_call(t, t->root, method, "[]", &st);
    double took = now_s() - t0;

    if (st != want || strstr(r, needle) == NULL)
        fail_msg("%s: status %s, result %s (want %s with \"%s\")", method,
                 lvat_err_name(st), r, lvat_err_name(want), needle);
    free(r);
    return took;
}

/* The vat answers, the search faults it in time, and it answers again
 * (restarted from the store: its in-memory count starts over). */
static void
stopped_and_recovers(lk *t, const char *method)
{
    char why[128];
    double took;

    snprintf(why, sizeof why,
             "[KERNEL:VAT_FAULT] patterns (v1) time budget of %u ms exceeded",
             time_limit_ms());
    call_expect(t, "count", LVAT_OK, "1");
    call_expect(t, "count", LVAT_OK, "2");
    took = call_expect(t, method, LVAT_EREJECTED, why);
    if (took > stop_within_s())
        fail_msg("%s: stopped only after %.2f s", method, took);
    call_expect(t, "count", LVAT_OK, "1");
}

/* ---- Tests ---- */

static void
test_e2e_patterns_find_stopped(void **state)
{
    stopped_and_recovers(*state, "find");
}

static void
test_e2e_patterns_method_syntax_stopped(void **state)
{
    stopped_and_recovers(*state, "method");
}

static void
test_e2e_patterns_match_stopped(void **state)
{
    stopped_and_recovers(*state, "match");
}

static void
test_e2e_patterns_gmatch_stopped(void **state)
{
    stopped_and_recovers(*state, "gmatch");
}

static void
test_e2e_patterns_gsub_stopped(void **state)
{
    stopped_and_recovers(*state, "gsub");
}

static void
test_e2e_patterns_gsub_function_stopped(void **state)
{
    stopped_and_recovers(*state, "gsubFunction");
}

static void
test_e2e_patterns_plain_find_stopped(void **state)
{
    stopped_and_recovers(*state, "plain");
}

static void
test_e2e_patterns_kill_sticky_through_pcall(void **state)
{
    stopped_and_recovers(*state, "pcallFind");
}

/* gsub expanding "%0" for empty matches: nothing is added, so only the
 * template's length bounds the work. */
static void
test_e2e_patterns_gsub_template_stopped(void **state)
{
    stopped_and_recovers(*state, "gsubTemplate");
}

/* table.sort of long strings: Lua's comparisons run in C. */
static void
test_e2e_patterns_sort_long_strings_stopped(void **state)
{
    stopped_and_recovers(*state, "sortStrings");
}

/* load of a text Lua's compiler takes quadratic time over. */
static void
test_e2e_patterns_load_stopped(void **state)
{
    stopped_and_recovers(*state, "loadOrs");
}

/* A search with a set of 1 MiB (patterns.lua's prepareSet): each test
 * of a byte against it reads all of it. */
static void
long_set_stopped(lk *t, const char *which)
{
    char why[128], args[32];
    double took;
    int st;
    char *r;

    snprintf(why, sizeof why,
             "[KERNEL:VAT_FAULT] patterns (v1) time budget of %u ms exceeded",
             long_set_limit_ms());
    snprintf(args, sizeof args, "[\"%s\"]", which);
    r = lk_call(t, t->root, "prepareSet", args, &st);
    if (st != LVAT_OK)
        fail_msg("prepareSet(%s): %s", which, r);
    free(r);
    took = now_s();
    r = lk_call(t, t->root, "longSet", "[]", &st);
    took = now_s() - took;
    if (st != LVAT_EREJECTED || strstr(r, why) == NULL)
        fail_msg("longSet(%s): status %s, result %s", which,
                 lvat_err_name(st), r);
    free(r);
    if (took > stop_within_s() + long_set_limit_ms() / 1000.0)
        fail_msg("longSet(%s): stopped only after %.2f s", which, took);
}

static void
test_e2e_patterns_long_set_stopped(void **state)
{
    long_set_stopped(*state, "item");
}

static void
test_e2e_patterns_long_set_greedy_stopped(void **state)
{
    long_set_stopped(*state, "greedy");
}

static void
test_e2e_patterns_long_set_lazy_stopped(void **state)
{
    long_set_stopped(*state, "lazy");
}

static void
test_e2e_patterns_long_set_frontier_stopped(void **state)
{
    long_set_stopped(*state, "frontier");
}

static void
test_e2e_patterns_big_subjects_allowed(void **state)
{
    call_expect(*state, "big", LVAT_OK,
                "{\"first\": \"key\", \"pairs\": 40000, \"semis\": 40000}");
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_e2e_patterns_find_stopped),
        T(test_e2e_patterns_method_syntax_stopped),
        T(test_e2e_patterns_match_stopped),
        T(test_e2e_patterns_gmatch_stopped),
        T(test_e2e_patterns_gsub_stopped),
        T(test_e2e_patterns_gsub_function_stopped),
        T(test_e2e_patterns_plain_find_stopped),
        T(test_e2e_patterns_kill_sticky_through_pcall),
        T(test_e2e_patterns_gsub_template_stopped),
        T(test_e2e_patterns_sort_long_strings_stopped),
        T(test_e2e_patterns_load_stopped),
        cmocka_unit_test_setup_teardown(test_e2e_patterns_long_set_stopped,
                                        setup_long_set, teardown),
        cmocka_unit_test_setup_teardown(test_e2e_patterns_long_set_greedy_stopped,
                                        setup_long_set, teardown),
        cmocka_unit_test_setup_teardown(test_e2e_patterns_long_set_lazy_stopped,
                                        setup_long_set, teardown),
        cmocka_unit_test_setup_teardown(test_e2e_patterns_long_set_frontier_stopped,
                                        setup_long_set, teardown),
        cmocka_unit_test_setup_teardown(test_e2e_patterns_big_subjects_allowed,
                                        setup_roomy, teardown),
    };
#undef T
    return cmocka_run_group_tests_name("e2e_patterns", tests, NULL, NULL);
}
