/*
 * The kernel facet's answers carry what children and records hold as
 * data: a value a child makes is never read as the facet's own JSON forms
 * ("@kref" and the rest), so it can neither forge a reference nor fail
 * the kernel.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"
#include "sys_configs.h"

/* A child whose bootstrap answers {x = {["@kref"] = forge}, me = root}. */
#define BOOTRET_CFG(forge)                                                \
    "{\"bootstrap\":\"b\",\"vats\":{\"b\":{\"sourceSpec\":"               \
    "\"bootret.lua\",\"parameters\":{\"forge\":\"" forge "\"}}}}"

static void
open_admin(lk *t)
{
    lk_open(t);
    lk_add_system(t, "admin", SYS_CFG("admin"));
    lk_restart(t);
    assert_lvat_ok(lvat_kernel_run(t->k));
    assert_lvat_ok(lvat_kernel_system_root(t->k, "admin", t->root,
                                           sizeof t->root));
}

/* A bootstrap result that looks like a reference stays data.  Made up,
 * it failed the crank (counting a reference to ko999) at every run, so
 * one child stopped the kernel for good; naming a real object, it handed
 * the caller that object (here the caller's own kernel facet). */
static void
test_facet_launch_keeps_bootstrap_result_as_data(void **state)
{
    lk t;

    (void)state;
    open_admin(&t);
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", " BOOTRET_CFG("ko999") "]", LVAT_OK,
                 "\"x\": {\"@kref\": \"ko999\"}}");
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", " BOOTRET_CFG("ko1") "]", LVAT_OK,
                 "\"x\": {\"@kref\": \"ko1\"}}");
    /* The root is still a presence, also when the result holds it. */
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", " BOOTRET_CFG("ko1") "]", LVAT_OK,
                 "{\"bootstrapResult\": {\"me\": <ko5 BootRet>, \"x\": "
                 "{\"@kref\": \"ko1\"}}, \"root\": <ko5 BootRet>, "
                 "\"rootKref\": \"ko5\", \"subclusterId\": \"s4\"}");
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

/* Names others chose are text in the facet's answers.  A vat named
 * "@kref" made every answer listing it a rejection ("@kref" must be a
 * kernel ref), the reload of its subcluster included, which had happened
 * all the same. */
static void
test_facet_answers_names_as_text(void **state)
{
    char admin[32];
    lk t;

    (void)state;
    open_admin(&t);
    memcpy(admin, t.root, sizeof admin);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"@kref\",\"vats\":{"
                                 "\"@kref\":{\"sourceSpec\":"
                                 "\"syschild.lua\"}}}"));
    lk_expect_at(&t, admin, "call", "[\"getSubcluster\", \"s2\"]", LVAT_OK,
                 "\"vats\": {\"@kref\": \"v2\"}");
    lk_expect_at(&t, admin, "call", "[\"getSubclusters\"]", LVAT_OK,
                 "\"vats\": {\"@kref\": \"v2\"}");
    lk_expect_at(&t, admin, "call", "[\"getStatus\"]", LVAT_OK,
                 "\"vats\": {\"@kref\": \"v2\"}");
    lk_expect_at(&t, admin, "call", "[\"reloadSubcluster\", \"s2\"]",
                 LVAT_OK, "\"vats\": {\"@kref\": \"v3\"}");
    /* References still come back as presences. */
    lk_expect_at(&t, admin, "call", "[\"getPresence\", \"ko4\", \"Kid\"]",
                 LVAT_OK, "<ko4 Kid>");
    lk_expect_at(&t, admin, "call", "[\"getSystemSubclusterRoot\", "
                 "\"admin\"]", LVAT_OK, "<ko2 SysVat>");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facet_launch_keeps_bootstrap_result_as_data),
        cmocka_unit_test(test_facet_answers_names_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
