/*
 * The luavat program as a user runs it: each test spawns build/luavat in
 * a fresh state directory and checks stdout, stderr and the exit code
 * against design.md §10 (results on stdout, "luavat: ..." errors on
 * stderr, exit codes 0/1/2/3/4).
 */
#include "lvat_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef lvat_test_run run;

/* Runs luavat with argv (NULL-terminated) from the source tree; env_db is
 * $LUAVAT_DB for it (NULL: unset). */
static void
luavat(run *r, const char *const *argv, const char *env_db)
{
    const char *bin = getenv("LUAVAT_BIN");
    const char *args[32], *env[2] = {"LUAVAT_DB", NULL};
    char db[1024];
    int n = 0;

    args[n++] = bin ? bin : "build/luavat";
    for (; *argv && n < 31; argv++)
        args[n++] = *argv;
    args[n] = NULL;
    if (env_db) {
        snprintf(db, sizeof db, "LUAVAT_DB=%s", env_db);
        env[0] = db;
    }
    lvat_test_spawn(r, args, env);
}

#define ASSERT_HAS(hay, needle)                                            \
    do {                                                                   \
        if (strstr((hay), (needle)) == NULL)                               \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));          \
    } while (0)

static void
run_config(run *r, const char *config, char *db)
{
    const char *argv[] = {"run", "--db", db, config, NULL};

    luavat(r, argv, NULL);
}

/* ---- Success ---- */

static void
test_cli_run_hello(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "vats/examples/hello/cluster.json", db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "subcluster s1 root ko1\n"
                               "Hello, hello! (hello replied: hi greeter, "
                               "nice to meet you)\n");
    ASSERT_HAS(r.err, "[hello v1] the greeter said: Hello, hello!");
    lvat_test_rmdir(db);
}

static void
test_cli_run_pipeline_example(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "vats/examples/pipeline/cluster.json", db);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "\"deposited\": 150");
    ASSERT_HAS(r.out, "\"withdrawn\": 120");
    ASSERT_HAS(r.out, "bank.lua:14: insufficient funds: alice has 120");
    lvat_test_rmdir(db);
}

static void
test_cli_options_after_args_and_env_db(void **state)
{
    char *db = lvat_test_mkdtemp();
    const char *argv[] = {"run", "tests/e2e/cli/counter.json", NULL};
    const char *argv2[] = {"run", "tests/e2e/cli/counter.json", "--db", db,
                           "--json", NULL};
    run r;

    (void)state;
    luavat(&r, argv, db); /* $LUAVAT_DB */
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "subcluster s1 root ko1\n");
    ASSERT_HAS(r.out, "{\"counter\": <ko2 Counter>, \"name\": \"maker\"}");
    luavat(&r, argv2, NULL); /* same directory: a second subcluster */
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "subcluster s2 root ko3\n");
    ASSERT_HAS(r.out, "{\"body\":\"#{\\\"counter\\\":\\\"$0.Counter\\\","
                      "\\\"name\\\":\\\"maker\\\"}\",\"slots\":[\"ko4\"]}");
    lvat_test_rmdir(db);
}

static void
test_cli_help(void **state)
{
    const char *a1[] = {"--help", NULL}, *a2[] = {"run", "--help", NULL};
    const char *a3[] = {"release", "--help", NULL};
    run r;

    (void)state;
    luavat(&r, a1, NULL);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "--db DIR");
    ASSERT_HAS(r.out, "--durability");
    ASSERT_HAS(r.out, "release KREF...");
    luavat(&r, a2, NULL);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "usage: luavat run");
    ASSERT_HAS(r.out, "Exit codes");
    luavat(&r, a3, NULL);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "usage: luavat release");
}

/* ---- Usage errors: exit 2 ---- */

static void
test_cli_usage_errors(void **state)
{
    const char *none[] = {NULL}, *bad[] = {"fly", NULL};
    const char *opt[] = {"run", "--bogus", "x.json", NULL};
    const char *noarg[] = {"run", NULL};
    const char *dur[] = {"run", "--durability", "sometimes", "x.json", NULL};
    run r;

    (void)state;
    luavat(&r, none, NULL);
    assert_int_equal(r.code, 2);
    luavat(&r, bad, NULL);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "luavat: unknown command \"fly\"");
    luavat(&r, opt, NULL);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "unknown option --bogus");
    luavat(&r, noarg, NULL);
    assert_int_equal(r.code, 2);
    luavat(&r, dur, NULL);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "--durability must be");
}

/* ---- Config problems: exit 3, nothing left behind ---- */

static void
expect_setup_error(const char *config, const char *needle)
{
    char *db = lvat_test_mkdtemp();
    run r;

    run_config(&r, config, db);
    assert_int_equal(r.code, 3);
    assert_string_equal(r.out, "");
    ASSERT_HAS(r.err, "luavat: ");
    ASSERT_HAS(r.err, needle);
    lvat_test_rmdir(db);
}

static void
test_cli_config_errors(void **state)
{
    (void)state;
    expect_setup_error("tests/e2e/cli/nobootstrap.json", "no \"bootstrap\"");
    expect_setup_error("tests/e2e/cli/unknownboot.json",
                       "bootstrap \"zed\" is not one of its vats (a, b)");
    expect_setup_error("tests/e2e/cli/missing.json",
                       "vat a: source file");
    expect_setup_error("tests/e2e/cli/nosuchfile.json", "cannot read");
}

/* ---- Vat failures: exit 1 with vat, file and line ---- */

static void
expect_failure(const char *config, const char *needle)
{
    char *db = lvat_test_mkdtemp();
    run r;

    run_config(&r, config, db);
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, needle);
    lvat_test_rmdir(db);
}

static void
test_cli_vat_failures(void **state)
{
    (void)state;
    expect_failure("tests/e2e/cli/syntax.json",
                   "luavat: syntax (v1) syntax.lua:4: unexpected symbol");
    expect_failure("tests/e2e/cli/raises.json",
                   "luavat: raises (v1) raises.lua:4: no root for you");
    expect_failure("tests/e2e/cli/badreturn.json",
                   "result.callback.fn: functions are not passable");
    expect_failure("tests/e2e/cli/unknownglobal.json",
                   "unknown global \"Teleporter\"");
}

static void
test_cli_pending_exit_4(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "tests/e2e/cli/pending.json", db);
    assert_int_equal(r.code, 4);
    /* The bootstrap result forwards to a promise nobody resolves. */
    assert_string_equal(r.out, "subcluster s1 root ko1\n<kp1 pending>\n");
    lvat_test_rmdir(db);
}

/* ---- send, status, inspect: each a new process, so a restart ---- */

static void
cli3(run *r, const char *a, const char *b, const char *c, const char *d,
     char *db)
{
    const char *argv[8] = {a, b, c, d, NULL};
    int n = d ? 4 : c ? 3 : b ? 2 : 1;

    argv[n++] = "--db";
    argv[n++] = db;
    argv[n] = NULL;
    luavat(r, argv, NULL);
}

static void
test_cli_counter_survives_restarts(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "tests/e2e/cli/counter2.json", db);
    assert_int_equal(r.code, 0);
    cli3(&r, "send", "ko1", "increment", NULL, db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "1\n");
    cli3(&r, "send", "ko1", "increment", "[1]", db);
    assert_string_equal(r.out, "2\n");
    cli3(&r, "send", "ko1", "increment", NULL, db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "3\n");
    lvat_test_rmdir(db);
}

static void
test_cli_status_and_inspect(void **state)
{
    static const char lua_key[] = "\"lua\":{\"seconds\":";
    char *db = lvat_test_mkdtemp();
    const char *lua_at;
    long cranks;
    run r;

    (void)state;
    run_config(&r, "vats/examples/pipeline/cluster.json", db);
    assert_int_equal(r.code, 0);
    cli3(&r, "status", NULL, NULL, NULL, db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "s1 root ko1 vats v1 alice, v2 bank\n"
                               "objects: 3\npromises: 0\nqueue: 0\n");
    cli3(&r, "send", "ko2", "openAccount", "[\"bob\", 5]", db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "<ko4 Account>\n");
    cli3(&r, "inspect", "ko4", NULL, NULL, db);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "\"owner\": \"v2\"");
    ASSERT_HAS(r.out, "\"vref\": \"o+2\"");
    /* Where the time went: two runs (run, send) summed. */
    cli3(&r, "status", "--stats", NULL, NULL, db);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "blocks 2,");
    ASSERT_HAS(r.out, "  Lua execution ");
    ASSERT_HAS(r.out, "  marshalling ");
    ASSERT_HAS(r.out, "  kernel routing ");
    ASSERT_HAS(r.out, "  LMDB ");
    ASSERT_HAS(r.out, " us/crank\n");
    cli3(&r, "status", "--stats", "--json", NULL, db);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "\"parts\":{\"lua\":{\"seconds\":");
    /* A short run's cranks are all timed (not one in eight); the launch
     * built two vat states, which is Lua time. */
    lua_at = strstr(r.out, lua_key);
    assert_non_null(lua_at);
    assert_true(strtod(lua_at + sizeof lua_key - 1, NULL) > 0.0);
    cranks = strtol(strstr(r.out, "\"cranks\":") + 9, NULL, 10);
    assert_true(cranks > 8);
    assert_int_equal(strtol(strstr(r.out, "\"timedCranks\":") + 14, NULL, 10),
                     cranks);
    cli3(&r, "inspect", "ko4", "--stats", NULL, db);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "unknown option --stats");
    cli3(&r, "inspect", "ko99", NULL, NULL, db);
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "ko99: no such object or promise");
    cli3(&r, "inspect", "nonsense", NULL, NULL, db);
    assert_int_equal(r.code, 2);
    /* status on a directory without a store */
    {
        char *empty = lvat_test_mkdtemp();
        cli3(&r, "status", NULL, NULL, NULL, empty);
        assert_int_equal(r.code, 3);
        ASSERT_HAS(r.err, "no luavat state in");
        lvat_test_rmdir(empty);
    }
    lvat_test_rmdir(db);
}

static void
test_cli_send_errors(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "vats/examples/pipeline/cluster.json", db);
    cli3(&r, "send", "ko2", "openAccount", "[\"eve\", 1]", db);
    assert_string_equal(r.out, "<ko4 Account>\n");
    /* A new process: the account was an ephemeral object of the bank's
     * last incarnation, so it is gone without reaching the bank. */
    cli3(&r, "send", "ko4", "withdraw", "[50]", db);
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "luavat: ko4: [KERNEL:OBJECT_DELETED] ko4 was deleted");
    cli3(&r, "send", "ko42", "hello", NULL, db);
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "ko42: no such object or promise");
    cli3(&r, "send", "ko2", "openAccount", "{not json", db);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "arguments: ");
    cli3(&r, "send", "ko2", NULL, NULL, db);
    assert_int_equal(r.code, 2);
    lvat_test_rmdir(db);
}

/* Commands that need a kernel's state do not make an empty one where
 * there is none (a mistyped --db): they say so and leave it as it was. */
static void
test_cli_commands_need_a_store(void **state)
{
    char *dir = lvat_test_mkdtemp();
    char db[1100], data[1200];
    run r;

    (void)state;
    snprintf(db, sizeof db, "%s/typo", dir);
    cli3(&r, "send", "ko1", "increment", NULL, db);
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "no luavat state in");
    cli3(&r, "release", "ko1", NULL, NULL, db);
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "no luavat state in");
    cli3(&r, "relaunch", "s1", NULL, NULL, db);
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "no luavat state in");
    assert_int_equal(access(db, F_OK), -1);
    /* A folder of other things gets no store files. */
    cli3(&r, "send", "ko1", "increment", NULL, dir);
    assert_int_equal(r.code, 3);
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    assert_int_equal(access(data, F_OK), -1);
    lvat_test_rmdir(dir);
}

/* What send printed stays held until released; then it is collected. */
static void
test_cli_release(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    run_config(&r, "vats/examples/pipeline/cluster.json", db);
    cli3(&r, "send", "ko2", "openAccount", "[\"bob\", 5]", db);
    assert_string_equal(r.out, "<ko4 Account>\n");
    cli3(&r, "status", NULL, NULL, NULL, db);
    ASSERT_HAS(r.out, "objects: 4\n");
    cli3(&r, "release", "ko4", NULL, NULL, db);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    cli3(&r, "status", NULL, NULL, NULL, db);
    ASSERT_HAS(r.out, "objects: 3\n");
    cli3(&r, "release", "ko4", NULL, NULL, db);
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "luavat: ko4 is not held for the host");
    cli3(&r, "release", "nonsense", NULL, NULL, db);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "nonsense is not a kref");
    /* The worst failure decides, in any order; each is reported. */
    cli3(&r, "release", "ko99", "nonsense", NULL, db);
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "luavat: ko99 is not held for the host");
    cli3(&r, "release", "nonsense", "ko99", NULL, db);
    assert_int_equal(r.code, 2);
    cli3(&r, "release", NULL, NULL, NULL, db);
    assert_int_equal(r.code, 2);
    lvat_test_rmdir(db);
}

static void
test_cli_reset(void **state)
{
    char *db = lvat_test_mkdtemp();
    const char *argv[] = {"run", "--reset", "--db", db,
                          "tests/e2e/cli/counter2.json", NULL};
    run r;

    (void)state;
    run_config(&r, "tests/e2e/cli/counter2.json", db);
    run_config(&r, "tests/e2e/cli/counter2.json", db);
    ASSERT_HAS(r.out, "subcluster s2");
    luavat(&r, argv, NULL);
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "subcluster s1 root ko1");
    cli3(&r, "status", NULL, NULL, NULL, db);
    ASSERT_HAS(r.out, "s1 root ko1 vats v1 counter\nobjects: 1");
    lvat_test_rmdir(db);
}

static void
test_cli_second_writer_refused(void **state)
{
    char *db = lvat_test_mkdtemp();
    const char *bin = getenv("LUAVAT_BIN");
    run r;
    pid_t pid;
    int status;

    (void)state;
    run_config(&r, "tests/e2e/cli/counter2.json", db);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        if (chdir(lvat_test_srcdir()) != 0)
            _exit(99);
        execl(bin ? bin : "build/luavat", "luavat", "send", "--db", db, "ko1",
              "spin", "[1500]", (char *)NULL);
        _exit(98);
    }
    usleep(500000); /* it holds the directory while it spins */
    cli3(&r, "send", "ko1", "increment", NULL, db);
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "is in use by pid ");
    /* Read-only commands still work beside it. */
    cli3(&r, "status", NULL, NULL, NULL, db);
    assert_int_equal(r.code, 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lvat_test_rmdir(db);
}

/* ---- System subclusters (--kernel-config, --prune, relaunch) ---- */

#define KDIR "tests/e2e/cli/"

/* luavat ARGS... --db db, from a NULL-terminated list. */
static void
cliv(run *r, char *db, const char *const *args)
{
    const char *argv[24];
    int n = 0;

    while (*args && n < 20)
        argv[n++] = *args++;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n] = NULL;
    luavat(r, argv, NULL);
}

static void
test_cli_kernel_config_runs_system_subclusters(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_two.json", NULL});
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "system admin s1 root ko2\n"
                               "system aux s2 root ko3\n");
    /* Restored, not relaunched: same ids and roots. */
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_two.json", NULL});
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "system admin s1 root ko2\n"
                               "system aux s2 root ko3\n");
    /* send by name; the admin vat launches through the kernel facet. */
    cliv(&r, db, (const char *[]){"send", "admin", "launch",
                                   "[{\"bootstrap\":\"c\",\"vats\":{\"c\":"
                                   "{\"sourceSpec\":\"counter.lua\"}}}]",
                                   NULL});
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "\"bootstrap\": \"counter ready\"");
    ASSERT_HAS(r.out, "\"id\": \"s3\"");
    cliv(&r, db, (const char *[]){"send", "admin", "tell",
                                   "[\"increment\"]", NULL});
    assert_string_equal(r.out, "1\n");
    cliv(&r, db, (const char *[]){"status", NULL});
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "s1 admin root ko2 vats v1 admin\n");
    ASSERT_HAS(r.out, "s2 aux root ko3 vats v2 c\n");
    ASSERT_HAS(r.out, "s3 root ko5 vats v3 c\n");
    /* Relaunch the system subcluster: new id, its name follows. */
    cliv(&r, db, (const char *[]){"relaunch", "s1", NULL});
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "subcluster s4 root ko7\nadmin ready\n");
    cliv(&r, db, (const char *[]){"send", "admin", "list", NULL});
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "[\"s2 aux\", \"s3 c\", \"s4 admin\"]\n");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_two.json", NULL});
    assert_string_equal(r.out, "system aux s2 root ko3\n"
                               "system admin s4 root ko7\n");
    lvat_test_rmdir(db);
}

static void
test_cli_kernel_config_prune(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_two.json", NULL});
    assert_int_equal(r.code, 0);
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_one.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "System subcluster \"aux\" is in");
    ASSERT_HAS(r.err, "pass --prune to delete it");
    assert_string_equal(r.out, "");
    /* Other commands take the flags too. */
    cliv(&r, db, (const char *[]){"send", "admin", "list", "--kernel-config",
                                   KDIR "kernel_one.json", "--prune", NULL});
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "[\"s1 admin\"]\n");
    cliv(&r, db, (const char *[]){"status", NULL});
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.out, "aux"));
    assert_null(strstr(r.out, "v2"));
    /* An empty list is a list: without --prune it is refused, with it
     * every system subcluster goes. */
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_none.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "System subcluster \"admin\" is in");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_none.json", "--prune", NULL});
    assert_int_equal(r.code, 0);
    cliv(&r, db, (const char *[]){"status", NULL});
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.out, "admin"));
    lvat_test_rmdir(db);
}

/* A system subcluster that does not come up is an error, not a silence. */
static void
test_cli_kernel_config_failed_system_launch(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_syntax.json", NULL});
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out, "");
    ASSERT_HAS(r.err, "system subcluster broken");
    ASSERT_HAS(r.err, "syntax (v1) syntax.lua:4: unexpected symbol");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_badreturn.json", "--prune",
                                   NULL});
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "system subcluster sulky");
    ASSERT_HAS(r.err, "functions are not passable");
    lvat_test_rmdir(db);
}

static void
test_cli_kernel_config_errors(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "no-such.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "no-such.json: No such file or directory");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_dup.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "\"admin\" appears twice");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_krefname.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "name \"ko1\" reads as a kref");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_noname.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "{\"name\": NAME, \"config\": CLUSTER}");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_missing.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "\"ghost\": cannot read");
    /* A folder is not read as an empty file ("unexpected end of input"). */
    cliv(&r, db, (const char *[]){"run", "--kernel-config", KDIR, NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "Is a directory");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "kernel_dir.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "\"folder\": cannot read");
    ASSERT_HAS(r.err, "Is a directory");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   KDIR "counter.json", NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "a kernel config is {\"systemSubclusters\"");
    cliv(&r, db, (const char *[]){"run", NULL});
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "or --kernel-config FILE");
    /* relaunch's errors. */
    cliv(&r, db, (const char *[]){"relaunch", NULL});
    assert_int_equal(r.code, 2);
    cliv(&r, db, (const char *[]){"relaunch", "x1", NULL});
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "x1 is not a subcluster id");
    cliv(&r, db, (const char *[]){"relaunch", "s9", NULL});
    assert_int_equal(r.code, 1);
    ASSERT_HAS(r.err, "s9: no such subcluster");
    cliv(&r, db, (const char *[]){"send", "nobody", "ping", NULL});
    assert_int_equal(r.code, 2);
    lvat_test_rmdir(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_run_hello),
        cmocka_unit_test(test_cli_run_pipeline_example),
        cmocka_unit_test(test_cli_options_after_args_and_env_db),
        cmocka_unit_test(test_cli_help),
        cmocka_unit_test(test_cli_usage_errors),
        cmocka_unit_test(test_cli_config_errors),
        cmocka_unit_test(test_cli_vat_failures),
        cmocka_unit_test(test_cli_pending_exit_4),
        cmocka_unit_test(test_cli_counter_survives_restarts),
        cmocka_unit_test(test_cli_status_and_inspect),
        cmocka_unit_test(test_cli_send_errors),
        cmocka_unit_test(test_cli_commands_need_a_store),
        cmocka_unit_test(test_cli_release),
        cmocka_unit_test(test_cli_reset),
        cmocka_unit_test(test_cli_second_writer_refused),
        cmocka_unit_test(test_cli_kernel_config_runs_system_subclusters),
        cmocka_unit_test(test_cli_kernel_config_prune),
        cmocka_unit_test(test_cli_kernel_config_failed_system_launch),
        cmocka_unit_test(test_cli_kernel_config_errors),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
