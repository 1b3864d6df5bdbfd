/*
 * Launch edges with real Lua vats: a process restart in the middle of a
 * launch, odd paths and configs.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_kernel.h"

/* Restart after n cranks of a three-vat launch. */
static void
restart_mid_launch(int cranks)
{
    static const char cfg[] =
        "{\"bootstrap\":\"echo\",\"vats\":{"
        "\"pinger\":{\"sourceSpec\":\"pinger.lua\"},"
        "\"echo\":{\"sourceSpec\":\"echo.lua\"},"
        "\"third\":{\"sourceSpec\":\"echo.lua\"}}}";
    char *vats = lvat_test_path(lvat_test_srcdir(), "tests/e2e/vats");
    lk_launch_seen seen = {0};
    uint32_t ran;
    char root[32];
    lk t;

    lk_open(&t);
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), vats,
                                           lk_launch_seen_cb, &seen));
    free(vats);
    assert_lvat_ok(lvat_kernel_step(t.k, (uint32_t)cranks, 0, &ran));
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    {
        char *rec = lk_get(&t, LVAT_DB_KERNEL, "sub.s1");
        assert_non_null(rec);
        if (strstr(rec, "\"ready\"") == NULL)
            fail_msg("after %d cranks: %s", cranks, rec);
        free(rec);
    }
    lk_root(&t, "v2", root);
    lk_expect_at(&t, root, "hello", "[\"x\"]", LVAT_OK, "hello x");
    lk_root(&t, "v3", root);
    lk_expect_at(&t, root, "hello", "[\"y\"]", LVAT_OK, "hello y");
    lk_close(&t);
}

static void
test_launch_restart_mid_launch(void **state)
{
    (void)state;
    for (int n = 1; n <= 6; n++)
        restart_mid_launch(n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_restart_mid_launch),
    };
    return cmocka_run_group_tests_name("e2e_launch_edges", tests, NULL, NULL);
}
