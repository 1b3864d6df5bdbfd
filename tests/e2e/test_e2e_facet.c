/*
 * The kernel facet: its answers carry what children and records hold as
 * data: a value a child makes is never read as the facet's own JSON forms
 * ("@kref" and the rest), so it can neither forge a reference nor fail
 * the kernel; and a message it queued is still answered after a restart
 * that forgot the host's waits on the same promise.
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

/* A bootstrap result that looks like a reference stays data.  Made up,
 * it failed the crank (counting a reference to ko999) at every run, so
 * one child stopped the kernel for good; naming a real object, it handed
 * the caller that object (here the caller's own kernel facet). */
static void
test_facet_launch_keeps_bootstrap_result_as_data(void **state)
{
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
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
    lk_open_system(&t, "admin", SYS_CFG("admin"));
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

/* An argument of the wrong type is named by what it is. */
static void
test_facet_wrong_argument_types_named(void **state)
{
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    lk_expect_at(&t, t.root, "call", "[\"getSystemSubclusterRoot\", 5]",
                 LVAT_EREJECTED, "getSystemSubclusterRoot: the name must be "
                 "a string, not (a number, not a string)");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", 7]",
                 LVAT_EREJECTED, "getSubcluster: invalid subcluster id (a "
                 "number, not a string) (ids look like");
    lk_expect_at(&t, t.root, "call", "[\"terminateSubcluster\", [1]]",
                 LVAT_EREJECTED, "terminateSubcluster: subcluster (an array, "
                 "not a string) does not exist");
    lk_expect_at(&t, t.root, "call", "[\"getPresence\", true]",
                 LVAT_EREJECTED, "getPresence: (a boolean, not a string) is "
                 "not a kref");
    lk_expect_at(&t, t.root, "call", "[\"pingVat\"]", LVAT_EREJECTED,
                 "Vat (none) does not exist");
    lk_close(&t);
}

/* The kp a watch's "fqueue kpN" line names, from the store ("" if none). */
static void
fqueue_kp(lk *t, char *out, size_t size)
{
    lk_dump d;

    out[0] = '\0';
    lk_dump_db(t, LVAT_DB_KERNEL, &d);
    for (size_t i = 0; i < d.n; i++) {
        const char *line = strstr(d.e[i].val, "fqueue ");
        if (strncmp(d.e[i].key, "watch.", 6) == 0 && line != NULL)
            snprintf(out, size, "%.*s", (int)strcspn(line + 7, "\n"),
                     line + 7);
    }
    lk_dump_free(&d);
}

/* A host that waits for an answer (and makes the kernel watch for it). */
static void
ignore_result(void *ud, int status, const lvat_value *v)
{
    (void)ud;
    (void)status;
    (void)v;
}

#define GATE_CFG                                                          \
    "{\"bootstrap\":\"g\",\"vats\":{\"g\":{\"sourceSpec\":\"gate.lua\"}}}"

/* The host and a queueMessage of the facet wait on one promise (the
 * gate's answers to both follow it).  An open forgets the host's wait
 * and kept the whole watch away with it: the facet caller's result was
 * never settled (VAT_RESTARTED, as the gate's promise is), and never
 * collected. */
static void
test_facet_queued_wait_outlives_host_wait(void **state)
{
    char gate[32], args[128], kp[32], *rec;
    lk t;

    (void)state;
    lk_open_system(&t, "admin", SYS_CFG("admin"));
    lk_expect_at(&t, t.root, "launchChild", "[" GATE_CFG "]", LVAT_OK, "s2");
    lk_root(&t, "v2", gate);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, gate, "wait", "[]",
                                             ignore_result, NULL));
    snprintf(args, sizeof args, "[\"queueMessage\", \"%s\", \"wait\", []]",
             gate);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "call", args, NULL,
                                             NULL));
    assert_lvat_ok(lvat_kernel_run(t.k));
    fqueue_kp(&t, kp, sizeof kp);
    assert_true(kp[0] != '\0');
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    rec = lk_get(&t, LVAT_DB_KERNEL, kp);
    if (rec != NULL)
        fail_msg("%s is still \"%s\": the facet's wait was dropped", kp,
                 rec);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facet_launch_keeps_bootstrap_result_as_data),
        cmocka_unit_test(test_facet_answers_names_as_text),
        cmocka_unit_test(test_facet_queued_wait_outlives_host_wait),
        cmocka_unit_test(test_facet_wrong_argument_types_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
