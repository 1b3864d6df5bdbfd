/*
 * The benchmark programs still run: each bench binary (BUILD/bench/) with
 * tiny sizes and one or two repetitions must exit 0 and print only well-
 * formed result lines with positive figures; bench/run.sh must turn them
 * into a table and a JSON array; bench/compare.awk must divide luavat's
 * figures by the peers'.  No timing is asserted anywhere.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef lvat_test_run run;
#define spawn lvat_test_spawn

/* Runs BUILD/bench/prog with the given options (NULL-terminated). */
static void
bench(run *r, const char *prog, const char *const *opts)
{
    const char *argv[16];
    char *bin;
    size_t n = 0;

    bin = lvat_test_path(lvat_test_builddir(), "bench/");
    bin = realloc(bin, strlen(bin) + strlen(prog) + 1);
    assert_non_null(bin);
    strcat(bin, prog);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: make test builds the bench programs", bin);
    argv[n++] = bin;
    for (; *opts && n < 15; opts++)
        argv[n++] = *opts;
    argv[n] = NULL;
    spawn(r, argv, NULL);
    free(bin);
    if (r->code != 0)
        fail_msg("%s exited %d; stderr:\n%s", prog, r->code, r->err);
}

/* Checks one result line; returns its workload name (owned). */
static char *
check_line(const char *line, size_t len)
{
    static const char head[] = "{\"workload\":\"";
    static const char key[] = "\",\"figure\":";
    char *copy = strndup(line, len), *w, *end, *fig;
    double v;

    assert_non_null(copy);
    fig = strstr(copy, key);
    if (fig == NULL || strncmp(copy, head, strlen(head)) != 0 ||
        copy[len - 1] != '}' || strstr(copy, ",\"unit\":\"") == NULL ||
        strstr(copy, ",\"settings\":\"") == NULL) {
        fail_msg("malformed result line: %s", copy);
        return NULL;
    }
    v = strtod(fig + strlen(key), &end);
    if (end == fig + strlen(key) || *end != ',' || !(v > 0))
        fail_msg("figure not a positive number: %s", copy);
    w = strndup(copy + strlen(head), (size_t)(fig - copy) - strlen(head));
    free(copy);
    return w;
}

/* Every stdout line is a result line; the workloads are `want`, in order. */
static void
check_output(const char *out, const char *const *want)
{
    const char *p = out;
    size_t i = 0;

    while (*p) {
        const char *nl = strchr(p, '\n');
        char *w;

        if (nl == NULL)
            fail_msg("unterminated last line in:\n%s", out);
        w = check_line(p, (size_t)(nl - p));
        if (want[i] == NULL)
            fail_msg("unexpected result \"%s\" in:\n%s", w, out);
        assert_string_equal(w, want[i]);
        free(w);
        i++;
        p = nl + 1;
    }
    if (want[i] != NULL)
        fail_msg("no result \"%s\" in:\n%s", want[i], out);
}

/* ---- The programs ---- */

static void
test_bench_ping(void **state)
{
    const char *opts[] = {"-n", "200", "-r", "2", "-d", "nosync", NULL};
    const char *want[] = {"sequential round trips", "pipelined sends",
                          "one-way sends", NULL};
    run r;

    (void)state;
    bench(&r, "ping", opts);
    check_output(r.out, want);
}

static void
test_bench_ping_sync_one_workload(void **state)
{
    const char *opts[] = {"-n",   "50", "-r",     "1", "-d",
                          "sync", "-w", "oneway", NULL};
    const char *want[] = {"one-way sends", NULL};
    run r;

    (void)state;
    bench(&r, "ping", opts);
    check_output(r.out, want);
    assert_non_null(strstr(r.out, "n=50, sync;"));
}

static void
test_bench_launch(void **state)
{
    const char *opts[] = {"-n", "20", "-b", "7", "-r", "1", NULL};
    const char *want[] = {"vat launch", "idle vat memory (RSS)",
                          "idle vat memory (Lua heap)", NULL};
    run r;

    (void)state;
    bench(&r, "launch", opts);
    check_output(r.out, want);
}

static void
test_bench_launch_spares(void **state)
{
    const char *opts[] = {"-n", "20", "-s", "4", "-r", "1", NULL};
    const char *want[] = {"vat launch, spare states",
                          "idle vat memory (RSS), spare states", NULL};
    run r;

    (void)state;
    bench(&r, "launch", opts);
    check_output(r.out, want);
    assert_non_null(strstr(r.out, "with 4 spare vat states"));
}

static void
test_bench_restart(void **state)
{
    const char *opts[] = {"-v", "2", "-e", "200", "-r", "1", NULL};
    const char *want[] = {"restart to first answer", NULL};
    run r;

    (void)state;
    bench(&r, "restart", opts);
    check_output(r.out, want);
}

static void
test_bench_baggage(void **state)
{
    const char *opts[] = {"-n", "200", "-r", "1", NULL};
    const char *want[] = {"baggage writes", "baggage reads", NULL};
    run r;

    (void)state;
    bench(&r, "baggage", opts);
    check_output(r.out, want);
}

static void
test_bench_calib(void **state)
{
    const char *opts[] = {"-n", "1000", "-r", "1", NULL};
    const char *want[] = {"machine speed (bare Lua loop)", NULL};
    run r;

    (void)state;
    bench(&r, "calib", opts);
    check_output(r.out, want);
}

static void
test_bench_bad_option_is_usage(void **state)
{
    const char *argv[] = {NULL, "-d", "fast", NULL};
    char *bin = lvat_test_path(lvat_test_builddir(), "bench/ping");
    run r;

    (void)state;
    argv[0] = bin;
    spawn(&r, argv, NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "usage: ping"));
    assert_string_equal(r.out, "");
    free(bin);
}

/* ---- The collectors ---- */

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void
test_bench_run_sh_table_and_json(void **state)
{
    char *dir = lvat_test_mkdtemp();
    char *json = lvat_test_path(dir, "bench.json");
    char *json_env = malloc(strlen(json) + 16);
    const char *env[] = {"BENCH_REPS=1",
                         "BENCH_N=50",
                         "BENCH_LAUNCH_N=5",
                         "BENCH_RESTART_VATS=2",
                         "BENCH_RESTART_ENTRIES=20",
                         "BENCH_BAGGAGE_N=50",
                         "BENCH_CALIB_N=1000",
                         NULL,
                         NULL};
    const char *argv[] = {"sh", "bench/run.sh", lvat_test_builddir(), NULL};
    char text[16384];
    run r;

    (void)state;
    assert_non_null(json_env);
    sprintf(json_env, "BENCH_JSON=%s", json);
    env[7] = json_env;
    spawn(&r, argv, env);
    if (r.code != 0)
        fail_msg("bench/run.sh exited %d:\n%s", r.code, r.err);
    /* A header, a rule and 16 rows: 3 message workloads x 2 durabilities,
     * 3 launch rows, 2 with spare states, restart, 2 baggage rows, and
     * the machine's speed first and last. */
    assert_non_null(strstr(r.out, "| workload "));
    assert_non_null(strstr(r.out, "| runs (min-max) "));
    assert_int_equal(count(r.out, "\n"), 18);
    lvat_test_read_file(json, text, sizeof text);
    assert_int_equal(text[0], '[');
    assert_int_equal(count(text, "{\"workload\":"), 16);
    assert_non_null(strstr(text, "\"settings\":\"n=50, sync;"));
    assert_int_equal(count(text, "\"min\":"), 16);
    assert_int_equal(count(text, "\"max\":"), 16);
    free(json_env);
    free(json);
    lvat_test_rmdir(dir);
}

static void
test_bench_compare_divides_by_peer(void **state)
{
    char *dir = lvat_test_mkdtemp();
    char *ours = lvat_test_path(dir, "ours"), *theirs;
    const char *argv[] = {"awk",  "-f",          "bench/jsonline.awk",
                          "-f",   "bench/compare.awk", NULL,
                          NULL,   NULL};
    run r;

    (void)state;
    theirs = lvat_test_path(dir, "theirs");
    lvat_test_write_file(dir, "ours",
                         "{\"workload\":\"sequential round trips\","
                         "\"figure\":300,\"unit\":\"round trips/s\","
                         "\"settings\":\"x\"}\n"
                         "{\"workload\":\"vat launch\",\"figure\":1000,"
                         "\"unit\":\"vats/s\",\"settings\":\"y\"}\n"
                         "{\"workload\":\"vat launch, spare states\","
                         "\"figure\":3000,\"unit\":\"vats/s\","
                         "\"settings\":\"v\"}\n");
    lvat_test_write_file(dir, "theirs",
                         "{\"system\":\"swingset\",\"workload\":"
                         "\"sequential\",\"figure\":150,\"unit\":"
                         "\"round trips/s\",\"settings\":\"z\"}\n"
                         "{\"system\":\"swingset\",\"workload\":\"launch\","
                         "\"figure\":40,\"unit\":\"vats/s\","
                         "\"settings\":\"w\"}\n");
    argv[5] = ours;
    argv[6] = theirs;
    spawn(&r, argv, NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "| 2.00 "));
    assert_non_null(strstr(r.out, "| 25.00 "));
    assert_non_null(strstr(r.out, "| 75.00 ")); /* spares, the same peer */
    assert_non_null(strstr(r.out, "| no figure ")); /* pipelined */
    free(ours);
    free(theirs);
    lvat_test_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bench_ping),
        cmocka_unit_test(test_bench_ping_sync_one_workload),
        cmocka_unit_test(test_bench_launch),
        cmocka_unit_test(test_bench_launch_spares),
        cmocka_unit_test(test_bench_restart),
        cmocka_unit_test(test_bench_baggage),
        cmocka_unit_test(test_bench_calib),
        cmocka_unit_test(test_bench_bad_option_is_usage),
        cmocka_unit_test(test_bench_run_sh_table_and_json),
        cmocka_unit_test(test_bench_compare_divides_by_peer),
    };
    return cmocka_run_group_tests_name("bench_smoke", tests, NULL, NULL);
}
