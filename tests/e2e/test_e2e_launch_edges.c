/*
 * Launch edges with real Lua vats: a process restart in the middle of a
 * launch, odd paths and configs.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua_kernel.h"

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char echo_src[] =
    "return { buildRootObject = function()\n"
    "  return Far('E', { bootstrap = function() return 'up' end,\n"
    "                    hello = function() return 'hi' end }) end }\n";

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

/* A config directory and a sourceSpec whose names are not UTF-8 (a
 * Latin-1 "café"): the stored config wrote those bytes as \u00e9, which
 * a reload read as the character é, and so it looked for files that do
 * not exist. */
static void
test_launch_reload_non_utf8_paths(void **state)
{
    static const char cfg[] = "{\"bootstrap\":\"e\",\"vats\":{\"e\":{"
                              "\"sourceSpec\":\"d\xe9/e.lua\"}}}";
    char *dir, *sub, *path;
    lk_launch_seen seen = {0};
    lk t;

    (void)state;
    lk_open(&t);
    dir = lvat_test_path(t.dir, "caf\xe9");
    sub = lvat_test_path(dir, "d\xe9");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    path = lvat_test_path(sub, "e.lua");
    write_file(path, echo_src);
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), dir,
                                           lk_launch_seen_cb, &seen));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(seen.done, 1);
    if (lk_reload(&t, "s1") != LVAT_OK)
        fail_msg("reload: %s", t.launch_err);
    assert_string_equal(t.sub, "s2");
    lk_root(&t, "v2", t.root);
    lk_expect_at(&t, t.root, "hello", "[]", LVAT_OK, "hi");
    /* And again, from the record the reload wrote. */
    assert_lvat_ok(lk_reload(&t, "s2"));
    free(path);
    free(sub);
    free(dir);
    lk_close(&t);
}

/* A module whose file name is not UTF-8 (x\xe9.lua, Latin-1): the vat
 * record stored its name as \u00e9, which the vat's start read back as
 * the character é, and require found no such module. */
static void
test_launch_module_name_not_utf8(void **state)
{
    static const char cfg[] = "{\"bootstrap\":\"m\",\"vats\":{\"m\":{"
                              "\"sourceSpec\":\"m.lua\"}}}";
    char *dir, *path;
    lk_launch_seen seen = {0};
    lk t;

    (void)state;
    lk_open(&t);
    dir = lvat_test_path(t.dir, "mods");
    assert_int_equal(mkdir(dir, 0755), 0);
    path = lvat_test_path(dir, "m.lua");
    write_file(path, "local x = require('x\xe9')\n"
                     "return { buildRootObject = function()\n"
                     "  return Far('M', { bootstrap = function() return x end,"
                     "\n    v = function() return x end }) end }\n");
    free(path);
    path = lvat_test_path(dir, "x\xe9.lua");
    write_file(path, "return 'latin'\n");
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), dir,
                                           lk_launch_seen_cb, &seen));
    assert_lvat_ok(lvat_kernel_run(t.k));
    if (seen.done != 1)
        fail_msg("launch: %s", seen.err);
    lk_root(&t, "v1", t.root);
    lk_expect_at(&t, t.root, "v", "[]", LVAT_OK, "latin");
    free(path);
    free(dir);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launch_restart_mid_launch),
        cmocka_unit_test(test_launch_reload_non_utf8_paths),
        cmocka_unit_test(test_launch_module_name_not_utf8),
    };
    return cmocka_run_group_tests_name("e2e_launch_edges", tests, NULL, NULL);
}
