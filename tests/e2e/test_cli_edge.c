/*
 * The luavat program used carelessly: options a command does not take,
 * and sequences of commands whose later ones must not misreport what the
 * earlier ones did.  Like test_cli.c, each test spawns the real program.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef lvat_test_run run;

/* luavat ARGS... --db db, from a NULL-terminated list. */
static void
cliv(run *r, char *db, const char *const *args)
{
    const char *bin = getenv("LUAVAT_BIN");
    const char *argv[24];
    int n = 0;

    argv[n++] = bin ? bin : "build/luavat";
    while (*args && n < 20)
        argv[n++] = *args++;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n] = NULL;
    lvat_test_spawn(r, argv, (const char *[]){"LUAVAT_DB", NULL});
}

#define ASSERT_HAS(hay, needle)                                            \
    do {                                                                   \
        if (strstr((hay), (needle)) == NULL)                               \
            fail_msg("expected \"%s\" in:\n%s", (needle), (hay));          \
    } while (0)

#define ASSERT_LACKS(hay, needle)                                          \
    do {                                                                   \
        if (strstr((hay), (needle)) != NULL)                               \
            fail_msg("did not expect \"%s\" in:\n%s", (needle), (hay));    \
    } while (0)

/* --reset wipes the whole directory: only run documents it, and any
 * other command taking it silently threw every subcluster away. */
static void
test_cli_reset_only_for_run(void **state)
{
    static const char *const cmds[][5] = {
        {"send", "--reset", "ko1", "increment", NULL},
        {"release", "--reset", "ko1", NULL},
        {"relaunch", "--reset", "s1", NULL},
        {"status", "--reset", NULL},
        {"inspect", "--reset", "ko1", NULL},
    };
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "tests/e2e/cli/counter2.json",
                                   NULL});
    assert_int_equal(r.code, 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cliv(&r, db, cmds[i]);
        assert_int_equal(r.code, 2);
        ASSERT_HAS(r.err, "unknown option --reset");
    }
    cliv(&r, db, (const char *[]){"status", NULL});
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "s1 root ko1 vats v1 counter");
    lvat_test_rmdir(db);
}

/* A system subcluster's config given as a file path, unchanged, must not
 * be reported as changed when a later command opens without
 * --kernel-config (the kernel compares it with the list it remembers). */
static void
test_cli_unchanged_system_config_no_warning(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   "vats/examples/system/kernel.json", NULL});
    assert_int_equal(r.code, 0);
    ASSERT_HAS(r.out, "system admin s1 root ko");
    cliv(&r, db, (const char *[]){"run", "--kernel-config",
                                   "vats/examples/system/kernel.json", NULL});
    assert_int_equal(r.code, 0);
    ASSERT_LACKS(r.err, "differs");
    cliv(&r, db, (const char *[]){"send", "admin", "nosuch", NULL});
    assert_int_equal(r.code, 1);
    ASSERT_LACKS(r.err, "differs");
    lvat_test_rmdir(db);
}

/* A target that is neither a kref nor a system subcluster's name says
 * so: the message was the system-subcluster lookup's alone ("System
 * subcluster \"k01\" not found"), which hid the mistyped kref. */
static void
test_cli_send_to_a_mistyped_kref(void **state)
{
    char *db = lvat_test_mkdtemp();
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "tests/e2e/cli/counter2.json",
                                   NULL});
    assert_int_equal(r.code, 0);
    cliv(&r, db, (const char *[]){"send", "k01", "increment", NULL});
    assert_int_equal(r.code, 2);
    ASSERT_HAS(r.err, "k01 is neither a kref (ko3, kp7) nor the name of a "
                      "system subcluster");
    lvat_test_rmdir(db);
}

/* A run whose config cannot be read leaves no store behind (it made an
 * empty one in a new --db folder before it found out). */
static void
test_cli_run_missing_config_makes_no_store(void **state)
{
    char *dir = lvat_test_mkdtemp(), *db = lvat_test_path(dir, "new");
    run r;

    (void)state;
    cliv(&r, db, (const char *[]){"run", "tests/e2e/cli/nosuchfile.json",
                                   NULL});
    assert_int_equal(r.code, 3);
    ASSERT_HAS(r.err, "cannot read tests/e2e/cli/nosuchfile.json");
    assert_int_equal(access(db, F_OK), -1);
    free(db);
    lvat_test_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_reset_only_for_run),
        cmocka_unit_test(test_cli_send_to_a_mistyped_kref),
        cmocka_unit_test(test_cli_run_missing_config_makes_no_store),
        cmocka_unit_test(test_cli_unchanged_system_config_no_warning),
    };
    return cmocka_run_group_tests_name("cli_edge", tests, NULL, NULL);
}
