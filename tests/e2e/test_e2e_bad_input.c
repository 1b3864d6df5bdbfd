/*
 * Bad launches end to end: configs the kernel refuses at once (no
 * bootstrap, an unknown bootstrap, a missing file, an unknown global) and
 * vats that fail while starting (a syntax error, a raising
 * buildRootObject) or whose bootstrap result cannot be marshalled.  Each
 * fails with a message naming what was wrong, and leaves nothing behind:
 * no vat., sub., v<N>. or source. keys and no stored sources.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

/* ---- Helpers ---- */

static void
expect_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", text, needle);
}

/* Launches `cfg`, expects `want`, and returns the fixture for checks. */
static void
launch_fails(lk *t, const char *cfg, int want)
{
    int rc;

    lk_open(t);
    rc = lk_launch(t, cfg);
    if (rc != want)
        fail_msg("launch: %s (want %s): %s", lvat_err_name(rc),
                 lvat_err_name(want), t->launch_err);
    assert_int_equal(t->launch_status, want);
}

/* Nothing of the launch remains, and the kernel still launches. */
static void
expect_clean_and_close(lk *t)
{
    static const char *const prefixes[] = {"vat.", "sub.",    "v1.", "v2.",
                                           "v3.",  "source.", "gc."};

    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (lk_count(t, prefixes[i]) != 0)
            fail_msg("%zu %s keys remain", lk_count(t, prefixes[i]),
                     prefixes[i]);
    assert_int_equal(lk_count_sources(t), 0);
    assert_int_equal(lk_count_vatstore(t), 0);
    assert_lvat_ok(lk_launch(t, "{\"bootstrap\":\"echo\",\"vats\":"
                                "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    lk_close(t);
}

/* The kernel still works: it launches and answers. */
static void
expect_clean_and_close_after_launch(lk *t)
{
    assert_lvat_ok(lk_launch(t, "{\"bootstrap\":\"echo\",\"vats\":"
                                "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    lk_close(t);
}

#define TWO_VATS(second)                 \
    "{\"bootstrap\":\"echo\",\"vats\":{" \
    "\"echo\":{\"sourceSpec\":\"echo.lua\"}," second "}}"

/* ---- Refused at once ---- */

/* A config path that is a directory, or none: the error says so (it read
 * as an empty file before). */
static void
test_e2e_bad_input_config_not_a_file(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_int_equal(lvat_kernel_launch_file(t.k, t.dir, NULL, NULL),
                     LVAT_ECONFIG);
    expect_has(lvat_kernel_errmsg(t.k), "Is a directory");
    assert_int_equal(lvat_kernel_launch_file(t.k, NULL, NULL, NULL),
                     LVAT_EINVAL);
    expect_clean_and_close(&t);
}

static int closes;

/* Closes the kernel from inside its own callback: ignored (it would go
 * on firing callbacks with the kernel freed). */
static void
close_in_callback(void *ud, lvat_launch_event ev,
                  const lvat_launch_info *info)
{
    (void)info;
    if (ev != LVAT_LAUNCH_STARTED) {
        lvat_kernel_close(((lk *)ud)->k);
        closes++;
    }
}

static void
test_e2e_bad_input_close_in_a_callback_ignored(void **state)
{
    static const char cfg[] = "{\"bootstrap\":\"echo\",\"vats\":"
                              "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}";
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), t.vats_dir,
                                           close_in_callback, &t));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(closes, 1);
    assert_true(lk_log_has(&t, "lvat_kernel_close called from a callback"));
    expect_clean_and_close_after_launch(&t);
}

static void
test_e2e_bad_input_no_bootstrap(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t, "{\"vats\":{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}",
                 LVAT_ECONFIG);
    expect_has(t.launch_err, "bootstrap");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_unknown_bootstrap(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t,
                 "{\"bootstrap\":\"nobody\",\"vats\":{"
                 "\"echo\":{\"sourceSpec\":\"echo.lua\"},"
                 "\"looper\":{\"sourceSpec\":\"looper.lua\"}}}",
                 LVAT_ECONFIG);
    expect_has(t.launch_err, "nobody");
    expect_has(t.launch_err, "echo");
    expect_has(t.launch_err, "looper");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_missing_source(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t, TWO_VATS("\"gone\":{\"sourceSpec\":\"missing.lua\"}"),
                 LVAT_ECONFIG);
    expect_has(t.launch_err, "gone");
    expect_has(t.launch_err, "missing.lua");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_unknown_global(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t,
                 TWO_VATS("\"greedy\":{\"sourceSpec\":\"echo.lua\","
                          "\"globals\":[\"Date\",\"launchMissiles\"]}"),
                 LVAT_EVAT);
    expect_has(t.launch_err, "launchMissiles");
    expect_has(t.launch_err, "greedy");
    expect_clean_and_close(&t);
}

/* A vat name too long or empty: the error says which name and what to
 * do (it said only "a vat name must have 1 to 100 characters"). */
static void
test_e2e_bad_input_vat_name_length(void **state)
{
    char cfg[512], name[128];
    lk t;

    (void)state;
    memset(name, 'n', 101);
    memcpy(name, "longname", 8);
    name[101] = '\0';
    snprintf(cfg, sizeof cfg, TWO_VATS("\"%s\":{\"sourceSpec\":\"echo.lua\"}"),
             name);
    launch_fails(&t, cfg, LVAT_ECONFIG);
    expect_has(t.launch_err, "\"longname");
    expect_has(t.launch_err, "has 101 characters");
    expect_has(t.launch_err, "shorten it");
    lk_close(&t);
    launch_fails(&t, TWO_VATS("\"\":{\"sourceSpec\":\"echo.lua\"}"),
                 LVAT_ECONFIG);
    expect_has(t.launch_err, "a vat name is empty");
    expect_clean_and_close(&t);
}

/* A sourceSpec naming a hidden file: refused at once, saying why (the
 * folder walk skips names starting with '.', so the vat failed to start
 * with 'module ".main" not found: require looks for .main.lua'). */
static void
test_e2e_bad_input_hidden_source(void **state)
{
    static const char cfg[] = "{\"bootstrap\":\"e\",\"vats\":{\"e\":{"
                              "\"sourceSpec\":\".main.lua\"}}}";
    char *path;
    FILE *f;
    lk t;

    (void)state;
    lk_open(&t);
    path = lvat_test_path(t.dir, ".main.lua");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("return { buildRootObject = function()\n"
          "  return Far('E', { bootstrap = function() return 1 end }) end }\n",
          f);
    fclose(f);
    free(path);
    assert_int_equal(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), t.dir,
                                             NULL, NULL),
                     LVAT_ECONFIG);
    expect_has(lvat_kernel_errmsg(t.k), "vat e: sourceSpec .main.lua is a "
                                        "hidden file");
    expect_has(lvat_kernel_errmsg(t.k), "rename it");
    expect_clean_and_close(&t);
}

/* ---- Fail while starting ---- */

static void
test_e2e_bad_input_syntax_error(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t, TWO_VATS("\"broken\":{\"sourceSpec\":\"syntaxerr.lua\"}"),
                 LVAT_EVAT);
    expect_has(t.launch_err, "broken (v2)");
    expect_has(t.launch_err, "syntaxerr.lua:4:");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_build_root_raises(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t,
                 TWO_VATS("\"raiser\":{\"sourceSpec\":\"buildraises.lua\"}"),
                 LVAT_EVAT);
    expect_has(t.launch_err, "raiser (v2)");
    expect_has(t.launch_err, "buildraises.lua:4:");
    expect_has(t.launch_err, "cannot build this one");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_main_returns_no_table(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t, TWO_VATS("\"num\":{\"sourceSpec\":\"mainnum.lua\"}"),
                 LVAT_EVAT);
    expect_has(t.launch_err, "num (v2)");
    expect_has(t.launch_err, "mainnum: the main chunk must return a table "
                             "with a buildRootObject function");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_root_not_an_object(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t, TWO_VATS("\"num\":{\"sourceSpec\":\"rootnum.lua\"}"),
                 LVAT_EVAT);
    expect_has(t.launch_err, "num (v2)");
    expect_has(t.launch_err, "rootnum: buildRootObject returned number, not "
                             "an object (return Far(\"Name\", {...}))");
    expect_clean_and_close(&t);
}

static void
test_e2e_bad_input_bootstrap_returns_function(void **state)
{
    lk t;

    (void)state;
    launch_fails(&t,
                 "{\"bootstrap\":\"fn\",\"vats\":{"
                 "\"fn\":{\"sourceSpec\":\"returnsfn.lua\"}}}",
                 LVAT_EREJECTED);
    expect_has(t.launch_err, "result.nested.fn");
    expect_has(t.launch_err, "functions are not passable");
    expect_clean_and_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_bad_input_config_not_a_file),
        cmocka_unit_test(test_e2e_bad_input_close_in_a_callback_ignored),
        cmocka_unit_test(test_e2e_bad_input_no_bootstrap),
        cmocka_unit_test(test_e2e_bad_input_unknown_bootstrap),
        cmocka_unit_test(test_e2e_bad_input_missing_source),
        cmocka_unit_test(test_e2e_bad_input_unknown_global),
        cmocka_unit_test(test_e2e_bad_input_vat_name_length),
        cmocka_unit_test(test_e2e_bad_input_hidden_source),
        cmocka_unit_test(test_e2e_bad_input_syntax_error),
        cmocka_unit_test(test_e2e_bad_input_build_root_raises),
        cmocka_unit_test(test_e2e_bad_input_main_returns_no_table),
        cmocka_unit_test(test_e2e_bad_input_root_not_an_object),
        cmocka_unit_test(test_e2e_bad_input_bootstrap_returns_function),
    };
    return cmocka_run_group_tests_name("e2e_bad_input", tests, NULL, NULL);
}
