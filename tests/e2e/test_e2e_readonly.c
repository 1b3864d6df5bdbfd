/*
 * A kernel opened read-only beside a writer in another process (the
 * inspection API's purpose): each status or inspect call reads what the
 * writer has committed by then.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luavat.h"

/* `luavat run` of the hello example in `db`: a new subcluster each time. */
static void
writer_launches(const char *db)
{
    const char *bin = getenv("LUAVAT_BIN");
    const char *argv[] = {bin ? bin : "build/luavat", "run", "--db", db,
                          "--durability", "nosync",
                          "vats/examples/hello/cluster.json", NULL};
    lvat_test_run r;

    lvat_test_spawn(&r, argv, NULL);
    if (r.code != 0)
        fail_msg("luavat run: %d %s", r.code, r.err);
}

static char *
status(lvat_kernel *k)
{
    char *s = NULL;

    assert_lvat_ok(lvat_kernel_status_json(k, &s));
    return s;
}

/* The kernel read the store once and kept that snapshot for ever: it
 * showed none of the writer's later work (and held LMDB's old pages, so
 * the writer's file could only grow). */
static void
test_readonly_sees_later_commits(void **state)
{
    char *db = lvat_test_mkdtemp(), *s, kref[32];
    lvat_options o;
    lvat_kernel *k;

    (void)state;
    writer_launches(db);
    lvat_options_init(&o);
    o.dir = db;
    o.readonly = true;
    assert_lvat_ok(lvat_kernel_open(&o, &k, NULL, 0));
    s = status(k);
    assert_non_null(strstr(s, "\"s1\""));
    assert_null(strstr(s, "\"s2\""));
    free(s);
    assert_int_equal(lvat_kernel_system_root(k, "x", kref, sizeof kref),
                     LVAT_ENOTFOUND);
    writer_launches(db);
    s = status(k);
    if (strstr(s, "\"s2\"") == NULL)
        fail_msg("the second launch is missing: %s", s);
    free(s);
    /* Its root, made by the second launch, is there to inspect. */
    assert_lvat_ok(lvat_kernel_inspect_json(k, "ko3", &s));
    free(s);
    lvat_kernel_close(k);
    lvat_test_rmdir(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readonly_sees_later_commits),
    };
    return cmocka_run_group_tests_name("e2e_readonly", tests, NULL, NULL);
}
