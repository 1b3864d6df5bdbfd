/*
 * A vat trying to get out (tests/e2e/vats/escaper.lua): what it reaches
 * by walking all it is given, C stack exhaustion, a __close that
 * coroutine.close runs on another thread than the caller's, an unhandled
 * rejection's __index, the runtime's resume of an awaiting thread called
 * by the vat, and a vref forged into a promise.  (test_e2e_sandbox.c has
 * the environment's allow list and the libraries.)
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "lua_kernel.h"

#define CLUSTER                                                            \
    "{\"bootstrap\":\"escaper\",\"vats\":{"                                \
    "\"escaper\":{\"sourceSpec\":\"escaper.lua\","                         \
    "\"creationOptions\":{\"timeLimitMs\":300}},"                          \
    "\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"

/* The same with a roomy budget, for a test about errors, not time
 * (deep recursions take seconds under valgrind). */
#define CLUSTER_ROOMY                                                      \
    "{\"bootstrap\":\"escaper\",\"vats\":{"                                \
    "\"escaper\":{\"sourceSpec\":\"escaper.lua\","                         \
    "\"creationOptions\":{\"timeLimitMs\":60000}},"                        \
    "\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"

/* Calls escaper.method(args), expecting it fulfilled; returns the text. */
static char *
call_ok(lk *t, const char *method, const char *args)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != LVAT_OK)
        fail_msg("%s: %s %s", method, lvat_err_name(st), r);
    return r;
}

static void
test_e2e_escape_walk_finds_nothing_of_the_runtime(void **state)
{
    lk_expect(*state, "reach", "[]", "{\"found\": \"\", \"walked\": true}");
}

static void
test_e2e_escape_c_stack_exhaustion_is_an_error(void **state)
{
    lk_expect(*state, "recursions", "[]",
              "{\"concat\": \"error\", \"gsub\": \"error\", \"index\": "
              "\"error\", \"sort\": \"error\", \"tostring\": \"error\", "
              "\"unpack\": \"error\", \"wrap\": \"error\", \"xpcall\": "
              "\"error\"}");
    lk_expect(*state, "hello", "[]", "still here");
}

/* Lua's coroutine.close runs the coroutine's __close handlers on that
 * coroutine's thread; the kill used to be armed on the caller's only, so
 * the handler ran on past the budget (here some seconds, until it ended
 * and the caller stopped; an endless one spun for ever). */
static void
test_e2e_escape_close_handler_stopped_by_kill(void **state)
{
    lk *t = *state;
    char *r = call_ok(t, "closeLoop", "[1000]");
    uint64_t t0;

    assert_string_equal(r, "closed");
    free(r);
    t0 = lvat_clock_ns();
    lk_expect_at(t, t->root, "closeLoop", "[1000000000]", LVAT_EREJECTED,
                 "time budget of 300 ms exceeded");
    if (lvat_clock_ns() - t0 > 2500000000ull)
        fail_msg("stopped only after %llu ms",
                 (unsigned long long)((lvat_clock_ns() - t0) / 1000000));
    lk_expect(t, "hello", "[]", "still here");
}

/* The log line of an unhandled rejection read the reason's message with
 * a getfield: the vat's __index ran there, and its error failed the
 * delivery (a fault, the crank undone, the vat restarted). */
static void
test_e2e_escape_unhandled_reason_read_raw(void **state)
{
    lk *t = *state;

    lk_expect(t, "unhandledIndex", "[]", "ok");
    lk_expect(t, "ranIndex", "[]", "false");
    assert_true(lk_log_has(t, "unhandled rejection: a table"));
}

/* The vat resumed its own awaiting delivery thread with an outcome of its
 * choosing, and so put an idle thread in the pool twice: two later jobs
 * then ran on one thread, one's await getting the other's message. */
static void
test_e2e_escape_awaiting_thread_not_resumable(void **state)
{
    lk_expect(*state, "forgeAwait", "[]",
              "{\"a\": \"AA\", \"b\": \"BB\", \"poked\": \"function "
              "thread\", \"waited\": \"real\"}");
}

/* The kernel, not the runtime, is what a forged vref meets. */
static void
test_e2e_escape_forged_vref_refused_by_kernel(void **state)
{
    lk *t = *state;

    lk_expect_at(t, t->root, "reuseVref", "[]", LVAT_EREJECTED,
                 "[KERNEL:VAT_TERMINATED]");
    assert_true(lk_log_has(t, "reuses an export number"));
}

int
main(void)
{
#define T(f) LK_TEST(f, CLUSTER)
    const struct CMUnitTest tests[] = {
        T(test_e2e_escape_walk_finds_nothing_of_the_runtime),
        LK_TEST(test_e2e_escape_c_stack_exhaustion_is_an_error,
                CLUSTER_ROOMY),
        T(test_e2e_escape_close_handler_stopped_by_kill),
        T(test_e2e_escape_unhandled_reason_read_raw),
        T(test_e2e_escape_awaiting_thread_not_resumable),
        T(test_e2e_escape_forged_vref_refused_by_kernel),
    };
#undef T
    return cmocka_run_group_tests_name("e2e_escape", tests, NULL, NULL);
}
