/*
 * Subcluster lifecycle edges with real Lua vats: a system vat ending or
 * reloading its own subcluster, a reset while the host still waits, and
 * system subcluster configs the kernel remembers.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_kernel.h"
#include "sys_configs.h"

/* A system vat terminates its own subcluster through its facet: the
 * subcluster, its facet and name go; the next open launches it afresh. */
static void
test_life_system_terminates_itself(void **state)
{
    char root[32];
    int st;
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    /* The caller goes with its subcluster: its call is rejected. */
    free(lk_call(&t, t.root, "call", "[\"terminateSubcluster\", \"s1\"]",
                 &st));
    assert_int_equal(st, LVAT_EREJECTED);
    assert_int_equal(lk_count(&t, "svc."), 0);
    assert_int_equal(lk_count(&t, "sub."), 0);
    assert_int_equal(lk_count(&t, "vat."), 0);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

/* A system vat reloads its own subcluster: the new one takes the name. */
static void
test_life_system_reloads_itself(void **state)
{
    char root[32];
    int st;
    char *r;
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    r = lk_call(&t, t.root, "call", "[\"reloadSubcluster\", \"s1\"]", &st);
    assert_int_equal(st, LVAT_EREJECTED);
    assert_non_null(strstr(r, "subcluster s1 was reloaded"));
    free(r);
    assert_int_equal(lk_count(&t, "sub."), 1);
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    assert_string_not_equal(root, t.root);
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

typedef struct results_seen {
    int results, status;
} results_seen;

static void
on_res(void *ud, int status, const lvat_value *v)
{
    results_seen *s = ud;

    (void)v;
    s->results++;
    s->status = status;
}

/* A reset deletes the records the host's waits hang on: a call whose
 * result was pending and a launch whose bootstrap had not settled never
 * heard anything before; now each hears that its work is gone. */
static void
test_life_reset_tells_waiting_hosts(void **state)
{
    char cfg[512], child[32];
    lk_launch_seen l = {0};
    results_seen c = {0};
    int st;
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    lk_expect_at(&t, t.root, "launchChild", "[" CHILD_CFG("kid") "]", LVAT_OK,
                 "s2");
    lk_root(&t, "v2", child);
    {
        FILE *f;
        char *path = lvat_test_path(t.dir, "slow.lua");
        f = fopen(path, "w");
        fputs("return { buildRootObject = function()\n"
              "  return Far('Slow', { bootstrap = function()\n"
              "    return Promise.kit().promise end }) end }\n", f);
        fclose(f);
        snprintf(cfg, sizeof cfg, "{\"bootstrap\":\"c\",\"vats\":{\"c\":{"
                 "\"sourceSpec\":\"%s\"}}}", path);
        free(path);
    }
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), t.dir,
                                           lk_launch_seen_cb, &l));
    /* a host call that never settles */
    assert_lvat_ok(lvat_kernel_queue_message(t.k, child, "forever", "[]",
                                             on_res, &c));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(c.results, 0);
    free(lk_call(&t, t.root, "call", "[\"reset\"]", &st));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(c.results, 1);
    assert_int_equal(c.status, LVAT_EREJECTED);
    assert_int_equal(l.started, 1);
    assert_int_equal(l.done, 0);
    assert_int_equal(l.failed, 1);
    assert_non_null(strstr(l.err, "the kernel was reset"));
    /* Told once: more runs tell nothing more. */
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(c.results + l.failed, 2);
    lk_close(&t);
}

/* A system subcluster that never came up, then dropped from the list
 * (renamed): its remembered config came back at the next open without a
 * list, and launched again. */
static void
test_life_dropped_system_config_is_forgotten(void **state)
{
    lk t;
    char root[32];

    (void)state;
    lk_open(&t);
    lk_add_system(&t, "bad", "{\"bootstrap\":\"s\",\"vats\":{\"s\":{"
                  "\"sourceSpec\":\"syntaxerr.lua\"}}}");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "did not come up"));
    lk_clear_systems(&t);
    lk_add_system(&t, "good", SYS_CFG("good"));
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "good", root, sizeof root));
    assert_int_equal(lk_count(&t, "systemConfig."), 1);
    lk_clear_systems(&t);
    lvat_buf_reset(&t.log);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_false(lk_log_has(&t, "did not come up"));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "good", root, sizeof root));
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

/* A restored system subcluster given a different config keeps running
 * as launched (no upgrade in place yet): the open says so, naming it and
 * what to do; the same config again, or none, says nothing. */
static void
test_life_changed_system_config_is_reported(void **state)
{
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    lvat_buf_reset(&t.log);
    lk_restart(&t); /* the same config */
    assert_false(lk_log_has(&t, "differs from the one it was launched"));
    lk_clear_systems(&t);
    lk_add_system(&t, "admin", SYS_CFG("admin2"));
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "system subcluster admin: its config (or "
                               "folder) differs from the one it was "
                               "launched with"));
    assert_true(lk_log_has(&t, "--prune"));
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    assert_true(lk_log_has(&t, "sysvat built admin\n")); /* as launched */
    assert_false(lk_log_has(&t, "sysvat built admin2"));
    lvat_buf_reset(&t.log);
    lk_clear_systems(&t); /* none given: the remembered one */
    lk_restart(&t);
    assert_false(lk_log_has(&t, "differs from the one it was launched"));
    lk_close(&t);
}

/* A config given with spacing, then no config (the remembered one, which
 * the kernel writes back compactly), then the spaced one again: the same
 * config each time, so nothing is said. */
static void
test_life_spacing_is_no_config_change(void **state)
{
    static const char spaced[] =
        "{ \"bootstrap\": \"sys\", \"services\": [ \"kernelFacet\" ],\n"
        "  \"vats\": { \"sys\": { \"sourceSpec\": \"sysvat.lua\",\n"
        "    \"parameters\": { \"tag\": \"admin\" } } } }\n";
    lk t;

    (void)state;
    lk_open_system(&t, "admin", spaced);
    lk_clear_systems(&t);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_add_system(&t, "admin", spaced);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_false(lk_log_has(&t, "differs from the one it was launched"));
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_system_terminates_itself),
        cmocka_unit_test(test_life_system_reloads_itself),
        cmocka_unit_test(test_life_reset_tells_waiting_hosts),
        cmocka_unit_test(test_life_dropped_system_config_is_forgotten),
        cmocka_unit_test(test_life_spacing_is_no_config_change),
        cmocka_unit_test(test_life_changed_system_config_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
