/*
 * The sandbox seen from inside a real vat (tests/e2e/vats/probe.lua): what
 * its _ENV lacks, load's rules, the protected string metatable and the
 * pattern functions (no subject limit: the time budget stops them; see
 * test_e2e_patterns.c), libraries a vat may patch without touching the
 * runtime, no __gc,
 * presences and host objects, the runtime's threads, require from the
 * code snapshot only, error tables read without running vat metamethods,
 * and print to the kernel log.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

typedef struct fx {
    lk t;
    char echo[32];
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    lk_open(&f->t);
    assert_lvat_ok(lk_launch(&f->t,
                             "{\"bootstrap\":\"probe\",\"vats\":{"
                             "\"probe\":{\"sourceSpec\":\"probe.lua\"},"
                             "\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    lk_root(&f->t, "v2", f->echo);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;

    lk_close(&f->t);
    free(f);
    return 0;
}

/* Calls probe.method(args); returns the rendered result (owned). */
static char *
probe(fx *f, const char *method, const char *args)
{
    int st;
    char *r = lk_call(&f->t, f->t.root, method, args, &st);

    if (st != LVAT_OK)
        fail_msg("%s: %s %s", method, lvat_err_name(st), r);
    return r;
}

/* Fails unless every needle appears in the report. */
static void
expect_all(const char *what, char *report, const char *const *needles)
{
    for (; *needles; needles++)
        if (strstr(report, *needles) == NULL)
            fail_msg("%s: %s\n  lacks %s", what, report, *needles);
    free(report);
}

/* ---- Tests ---- */

static void
test_e2e_sandbox_forbidden_globals_absent(void **state)
{
    char *r = probe(*state, "globals", "[]");

    assert_string_equal(r, "");
    free(r);
}

static void
test_e2e_sandbox_load_text_only_in_vat_env(void **state)
{
    static const char *const want[] = {
        "\"text\": \"vat global\"",
        "\"sameEnv\": true",
        "\"binary\": \"nil\"",
        "attempt to load a binary chunk",
        "\"env\": \"load: chunks always run in the vat's own environment",
        NULL};

    expect_all("load", probe(*state, "load", "[]"), want);
}

static void
test_e2e_sandbox_string_metatable_protected(void **state)
{
    static const char *const want[] = {
        "\"meta\": \"string\"",
        "\"setmeta\": \"bad argument #1",
        "bad argument #1 to 'string.rep'",
        "bad argument #1 to 'math.floor'",
        "bad argument #1 to 'ipairs'",
        "\"find\": 307200", /* no size limit on pattern subjects */
        "\"method\": 307200",
        "\"plain\": true",
        NULL};

    expect_all("strings", probe(*state, "strings", "[]"), want);
}

static void
test_e2e_sandbox_patched_libraries_do_not_reach_runtime(void **state)
{
    static const char *const want[] = {
        "\"ok\": true",
        "\"s\": \"x\"",
        "\"n\": 2",
        "has no method \\\"nope\\\"",
        "\"why\": \"custom reason\"",
        "\"bag\": 1",
        "baggage:init(\\\"k\\\"): the key already exists",
        "baggage:set(key): the key must be a string, not number",
        "\"key\": \"k\"",
        NULL};

    expect_all("patched", probe(*state, "patched", "[]"), want);
}

static void
test_e2e_sandbox_gc_metatables_refused(void **state)
{
    char *r = probe(*state, "gc", "[]");

    if (strstr(r, "__gc metamethods are not allowed") == NULL)
        fail_msg("gc: %s", r);
    free(r);
}

/* The check for __gc reads the metatable raw: a metatable whose own
 * __index adds __gc meanwhile gets no finalizer. */
static void
test_e2e_sandbox_gc_sneaked_in_refused(void **state)
{
    char *r = probe(*state, "gcSneaked", "[]");

    assert_string_equal(r, "true false");
    free(r);
}

/* Closes nested in closes: fine a few deep, an error (not a crash of the
 * process) past 100 or 256 KB of C stack; string.rep of nothing is "" at
 * once. */
static void
test_e2e_sandbox_nested_closes_and_empty_rep(void **state)
{
    char *r = probe(*state, "closeNest", "[10]");

    assert_string_equal(r, "closed");
    free(r);
    r = probe(*state, "closeNest", "[10000]");
    if (strstr(r, "closes nested in one another too deeply") == NULL)
        fail_msg("closeNest(10000): %s", r);
    free(r);
    r = probe(*state, "repEmpty", "[]");
    assert_string_equal(r, "00ab,ab,ab");
    free(r);
    r = probe(*state, "tableErrors", "[]");
    assert_string_equal(
        r, "bad argument #1 to 'table.remove' (position out of bounds)|"
           "invalid value (nil) at index 2 in table for 'concat'|"
           "bad argument #2 to 'table.insert' (position out of bounds)|"
           "wrong number of arguments to 'insert'|"
           "bad argument #3 to 'table.move' (too many elements to move)|"
           "bad argument #4 to 'table.move' (destination wrap around)");
    free(r);
}

static void
test_e2e_sandbox_presences_and_host_objects(void **state)
{
    fx *f = *state;
    char args[64];
    static const char *const want[] = {"\"call\": \"probe.lua:",
                                       "p.foo: p is a presence (o-1 vatRoot)",
                                       "E(p):foo(...)",
                                       "\"meta\": \"Presence\"",
                                       "\"text\": \"Presence<o-1 vatRoot>\"",
                                       "\"set\": \"",
                                       "presences cannot be modified",
                                       "\"baggage\": \"baggage\"",
                                       "host objects cannot be modified",
                                       NULL};

    snprintf(args, sizeof args, "[{\"@kref\":\"%s\"}]", f->echo);
    expect_all("presence", probe(f, "presence", args), want);
}

static void
test_e2e_sandbox_runtime_threads_untouchable(void **state)
{
    static const char *const want[] = {
        "\"resume\": \"cannot resume a thread of the runtime\"",
        "\"close\": \"",
        "cannot close a thread of the runtime",
        "\"yield\": \"",
        "attempt to yield from outside a coroutine",
        "\"yieldable\": false",
        NULL};

    expect_all("coroutines", probe(*state, "coroutines", "[]"), want);
}

static void
test_e2e_sandbox_require_snapshot_only(void **state)
{
    static const char *const want[] = {
        "\"answer\": 42",
        "\"cached\": true",
        "\"up\": \"",
        "module \\\"../../../vats/examples/hello/hello\\\" not found",
        "module \\\"/etc/passwd\\\" not found",
        "module \\\"examples.hello.greeter\\\" not found",
        "module \\\"io\\\" not found",
        NULL};

    expect_all("require", probe(*state, "require", "[]"), want);
}

/* Calls probe.method() expecting a rejection that contains `needle`. */
static void
probe_rejects(fx *f, const char *method, const char *needle)
{
    int st;
    char *r = lk_call(&f->t, f->t.root, method, "[]", &st);

    if (st != LVAT_EREJECTED || strstr(r, needle) == NULL)
        fail_msg("%s: %s %s (want a rejection with %s)", method,
                 lvat_err_name(st), r, needle);
    free(r);
}

static void
test_e2e_sandbox_error_tables_read_raw(void **state)
{
    fx *f = *state;
    char *r;

    probe_rejects(f, "raiseTable", "Error(\"a table error\")");
    probe_rejects(f, "raiseSneaky", "sneaky error");
    probe_rejects(f, "raisePromise", "kp");
    r = probe(f, "sneaked", "[]");
    assert_string_equal(r, "false");
    free(r);
}

static void
test_e2e_sandbox_print_goes_to_log(void **state)
{
    fx *f = *state;
    char *r = probe(f, "print", "[]");

    free(r);
    assert_true(lk_log_has(&f->t, "[probe v1] hello from the probe\t42\tnil"));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_e2e_sandbox_forbidden_globals_absent),
        T(test_e2e_sandbox_load_text_only_in_vat_env),
        T(test_e2e_sandbox_string_metatable_protected),
        T(test_e2e_sandbox_patched_libraries_do_not_reach_runtime),
        T(test_e2e_sandbox_gc_metatables_refused),
        T(test_e2e_sandbox_gc_sneaked_in_refused),
        T(test_e2e_sandbox_nested_closes_and_empty_rep),
        T(test_e2e_sandbox_presences_and_host_objects),
        T(test_e2e_sandbox_runtime_threads_untouchable),
        T(test_e2e_sandbox_require_snapshot_only),
        T(test_e2e_sandbox_error_tables_read_raw),
        T(test_e2e_sandbox_print_goes_to_log),
    };
#undef T
    return cmocka_run_group_tests_name("e2e_sandbox", tests, NULL, NULL);
}
