/*
 * System subclusters and the kernel facet with real Lua vats (issue 4):
 * the facet reaches a system vat as a userdata presence and works from
 * Lua, survives restarts in baggage, launches and terminates children
 * without deadlock; system subclusters are restored, pruned, relaunched
 * and refused as the configuration and the store say.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua_kernel.h"
#include "sys_configs.h"

/* Opens a kernel whose system subclusters are `names` (each a sysvat
 * tagged with its name), runs it, and puts the first one's root in
 * t->root. */
static void
open_with_systems(lk *t, const char *const *names, size_t n)
{
    lk_open(t);
    for (size_t i = 0; i < n; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg,
                 "{\"bootstrap\":\"sys\",\"services\":[\"kernelFacet\"],"
                 "\"vats\":{\"sys\":{\"sourceSpec\":\"sysvat.lua\","
                 "\"parameters\":{\"tag\":\"%s\"}}}}",
                 names[i]);
        lk_add_system(t, names[i], cfg);
    }
    lk_restart(t);
    assert_lvat_ok(lvat_kernel_run(t->k));
    assert_lvat_ok(lvat_kernel_system_root(t->k, names[0], t->root,
                                           sizeof t->root));
}

static const char *const admin[] = {"admin"};

/* The admin system subcluster (s1) and a child it launched (s2, its vat
 * v2 a child.lua); the child's root kref in `child` when not NULL. */
static void
open_admin_with_child(lk *t, char child[32])
{
    open_with_systems(t, admin, 1);
    lk_expect_at(t, t->root, "launchChild", "[" CHILD_CFG("kid") "]", LVAT_OK,
                 "s2");
    if (child != NULL)
        lk_root(t, "v2", child);
}

static void
test_system_facet_arrives_and_pings(void **state)
{
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    lk_expect_at(&t, t.root, "facetType", "[]", LVAT_OK, "userdata");
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "call", "[\"getStatus\"]", LVAT_OK, "queue");
    lk_expect_at(&t, t.root, "call", "[\"pingVat\", \"v1\"]", LVAT_OK, "pong");
    lk_expect_at(&t, t.root, "call", "[\"pingVat\", \"v99\"]", LVAT_EREJECTED,
                 "Vat v99 does not exist");
    {
        /* A buffer too small is refused (cut short, "ko1" is another
         * kref), as is no name. */
        char small[3], root[32];
        assert_int_equal(lvat_kernel_system_root(t.k, "admin", small,
                                                 sizeof small),
                         LVAT_EINVAL);
        assert_int_equal(lvat_kernel_system_root(t.k, NULL, root,
                                                 sizeof root),
                         LVAT_EINVAL);
    }
    lk_close(&t);
}

static void
test_system_child_round_trip(void **state)
{
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    lk_expect_at(&t, t.root, "childRoundTrip", "[" CHILD_CFG("kid") "]",
                 LVAT_OK, "\"answer\": \"hello sys from kid\"");
    lk_expect_at(&t, t.root, "childRoundTrip", "[" CHILD_CFG("kid") "]",
                 LVAT_OK, "\"listed\": true");
    lk_expect_at(&t, t.root, "childRoundTrip", "[" CHILD_CFG("kid") "]",
                 LVAT_OK, "\"gone\": true");
    lk_expect_at(&t, t.root, "childRoundTrip", "[" CHILD_CFG("kid") "]",
                 LVAT_OK, "\"boot\": \"child ready\"");
    /* Four children came and went; only the system subcluster is left. */
    assert_int_equal(lk_count(&t, "sub."), 1);
    assert_int_equal(lk_count(&t, "vat."), 1);
    lk_close(&t);
}

static void
test_system_terminate_rejects_child_promises(void **state)
{
    lk t;

    (void)state;
    open_admin_with_child(&t, NULL);
    lk_expect_at(&t, t.root, "callChild", "[\"hello\", \"a\"]", LVAT_OK,
                 "hello a from kid");
    /* A promise the child decides is rejected when it is terminated. */
    lk_expect_at(&t, t.root, "pendingThenTerminate", "[\"s2\"]", LVAT_OK,
                 "terminated by terminateSubcluster");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s2\"]", LVAT_OK,
                 "null");
    lk_expect_at(&t, t.root, "call", "[\"terminateSubcluster\", \"s2\"]",
                 LVAT_EREJECTED, "subcluster s2 does not exist");
    lk_close(&t);
}

static void
test_system_facet_survives_restart(void **state)
{
    lk t;

    (void)state;
    open_admin_with_child(&t, NULL);
    lk_expect_at(&t, t.root, "callChild", "[\"hello\", \"a\"]", LVAT_OK,
                 "hello");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    char root[32];
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    assert_string_equal(root, t.root); /* same root kref */
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_expect_at(&t, t.root, "facetType", "[]", LVAT_OK, "userdata");
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "starts", "[]", LVAT_OK, "2");
    lk_expect_at(&t, t.root, "callChild", "[\"count\"]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "call", "[\"getSubclusters\"]", LVAT_OK, "s2");
    /* An open that gives no list uses the remembered one. */
    lk_clear_systems(&t);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_close(&t);
}

static void
test_system_two_distinct_roots(void **state)
{
    static const char *const two[] = {"alpha", "beta"};
    char beta[32];
    lk t;

    (void)state;
    open_with_systems(&t, two, 2);
    assert_lvat_ok(lvat_kernel_system_root(t.k, "beta", beta, sizeof beta));
    assert_string_not_equal(t.root, beta);
    lk_expect_at(&t, t.root, "call", "[\"getSystemSubclusterRoot\", \"beta\"]",
                 LVAT_OK, beta);
    lk_expect_at(&t, beta, "call", "[\"getSystemSubclusterRoot\", \"alpha\"]",
                 LVAT_OK, t.root);
    lk_expect_at(&t, t.root, "call", "[\"getSystemSubclusterRoot\", \"gamma\"]",
                 LVAT_EREJECTED, "System subcluster \\\"gamma\\\" not found");
    assert_int_equal(lvat_kernel_system_root(t.k, "gamma", beta, sizeof beta),
                     LVAT_ENOTFOUND);
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_close(&t);
}

static void
test_system_prune(void **state)
{
    static const char *const two[] = {"alpha", "beta"};
    size_t vatstore_before;
    lk t;

    (void)state;
    open_with_systems(&t, two, 2);
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    vatstore_before = lk_count_vatstore(&t);
    lk_clear_systems(&t);
    lk_add_system(&t, "alpha", SYS_CFG("alpha"));
    /* Refused without prune, naming it; nothing changes. */
    assert_int_equal(lk_try_restart(&t), LVAT_ECONFIG);
    assert_non_null(strstr(t.open_err, "\"beta\""));
    assert_non_null(strstr(t.open_err, "--prune"));
    char *kept = lk_get(&t, LVAT_DB_KERNEL, "systemSubcluster.beta");
    assert_non_null(kept);
    free(kept);
    /* With prune: deleted without starting its vats, baggage included. */
    t.prune = true;
    lvat_buf_free(&t.log);
    assert_int_equal(lk_try_restart(&t), LVAT_OK);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "pruning system subcluster beta"));
    assert_false(lk_log_has(&t, "sysvat built beta"));
    assert_null(lk_get(&t, LVAT_DB_KERNEL, "systemSubcluster.beta"));
    assert_null(lk_get(&t, LVAT_DB_KERNEL, "systemConfig.beta"));
    assert_int_equal(lk_count(&t, "sub."), 1);
    assert_int_equal(lk_count(&t, "vat."), 1);
    assert_true(lk_count_vatstore(&t) < vatstore_before);
    char gone[32];
    assert_int_equal(lvat_kernel_system_root(t.k, "beta", gone, sizeof gone),
                     LVAT_ENOTFOUND);
    lk_expect_at(&t, t.root, "call", "[\"getSystemSubclusterRoot\", \"beta\"]",
                 LVAT_EREJECTED, "not found");
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_close(&t);
}

/* A config that names kernelFacet twice gets one facet: one object, one
 * entry in its record (a second object would stay pinned, unreachable). */
static void
test_system_facet_named_twice_is_one_object(void **state)
{
    char *rec;
    lk t;

    (void)state;
    lk_open(&t);
    lk_add_system(&t, "admin",
                  "{\"bootstrap\":\"sys\",\"services\":[\"kernelFacet\","
                  "\"kernelFacet\"],\"vats\":{\"sys\":{\"sourceSpec\":"
                  "\"sysvat.lua\",\"parameters\":{\"tag\":\"admin\"}}}}");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(lk_count(&t, "svc."), 1);
    rec = lk_get(&t, LVAT_DB_KERNEL, "sub.s1");
    assert_non_null(rec);
    assert_non_null(strstr(rec, "\"services\":{\"kernelFacet\":\"ko1\"}"));
    free(rec);
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", t.root,
                                           sizeof t.root));
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

static void
test_system_duplicate_names(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    lk_add_system(&t, "twin", SYS_CFG("a"));
    lk_add_system(&t, "twin", SYS_CFG("b"));
    assert_int_equal(lk_try_restart(&t), LVAT_ECONFIG);
    assert_non_null(strstr(t.open_err, "twin"));
    assert_non_null(strstr(t.open_err, "appears twice"));
    assert_int_equal(lk_count(&t, "sub."), 0);
    lk_close(&t);
}

static void
test_system_record_gone_is_relaunched(void **state)
{
    char root[32];
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    lvat_kernel_close(t.k);
    t.k = NULL;
    lk_del_key(&t, LVAT_DB_KERNEL, "sub.s1");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    assert_string_not_equal(root, t.root);
    lk_expect_at(&t, root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

/* A system subcluster lives as long as its bootstrap vat: when that vat
 * ends itself, the subcluster goes (its facet retired), and the next open
 * launches it afresh.  With and without a second vat. */
static void
exit_case(const char *config)
{
    char root[32];
    lk t;

    lk_open(&t);
    lk_add_system(&t, "admin", config);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", t.root,
                                           sizeof t.root));
    assert_int_equal(lk_count(&t, "svc."), 1);
    lk_expect_at(&t, t.root, "exit", "[]", LVAT_OK, "exiting");
    assert_int_equal(lk_count(&t, "sub."), 0);
    assert_int_equal(lk_count(&t, "svc."), 0);
    assert_int_equal(lk_try_restart(&t), LVAT_OK);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    assert_string_not_equal(root, t.root);
    lk_expect_at(&t, root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    assert_int_equal(lk_count(&t, "svc."), 1);
    lk_close(&t);
}

static void
test_system_bootstrap_vat_exit_relaunches(void **state)
{
    (void)state;
    exit_case(SYS_CFG("one"));
    exit_case("{\"bootstrap\":\"sys\",\"services\":[\"kernelFacet\"],"
              "\"vats\":{\"sys\":{\"sourceSpec\":\"sysvat.lua\"},"
              "\"c\":{\"sourceSpec\":\"syschild.lua\"}}}");
}

static void
corrupt_case(const char *key, const char *want)
{
    lk t;

    open_with_systems(&t, admin, 1);
    lvat_kernel_close(t.k);
    t.k = NULL;
    lk_del_key(&t, LVAT_DB_KERNEL, key);
    assert_int_equal(lk_try_restart(&t), LVAT_ECORRUPT);
    if (strstr(t.open_err, want) == NULL ||
        strstr(t.open_err, "database may be corrupted") == NULL)
        fail_msg("open error \"%s\" lacks \"%s\"", t.open_err, want);
    lk_close(&t);
}

static void
test_system_corruption_refused(void **state)
{
    (void)state;
    corrupt_case("vat.v1", "\"admin\" has no bootstrap vat");
    corrupt_case("v1.c.o+0", "\"admin\" has no root object");
}

static void
test_system_only_for_system_launches(void **state)
{
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    /* From the host. */
    assert_int_equal(lk_launch(&t, SYS_CFG("rogue")), LVAT_ECONFIG);
    assert_non_null(strstr(t.launch_err,
                           "no registered kernel service 'kernelFacet'"));
    assert_non_null(strstr(t.launch_err, "config (text): "));
    assert_non_null(strstr(t.launch_err, "only system subclusters get it"));
    /* From the facet: a child may not have it either. */
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", t.root,
                                           sizeof t.root));
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", " SYS_CFG("rogue") "]", LVAT_EREJECTED,
                 "no registered kernel service 'kernelFacet'");
    assert_int_equal(lk_count(&t, "sub."), 1);
    lk_close(&t);
}

static void
test_system_queued_facet_message_survives_restart(void **state)
{
    uint32_t ran = 0;
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    /* One crank: the system vat sends launchSubcluster to the facet, whose
     * delivery is still queued when the kernel closes. */
    assert_lvat_ok(lvat_kernel_queue_message(
        t.k, t.root, "fireLaunch", "[" CHILD_CFG("late") "]", NULL, NULL));
    assert_lvat_ok(lvat_kernel_step(t.k, 1, 0, &ran));
    assert_int_equal(ran, 1);
    assert_true(lvat_kernel_pending(t.k) > 0);
    assert_int_equal(lk_count(&t, "sub."), 1);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(lk_count(&t, "sub."), 2);
    /* The vat's callback for the answer died with its incarnation; the
     * child is there all the same. */
    char child[32];
    lk_root(&t, "v2", child);
    lk_expect_at(&t, child, "hello", "[\"b\"]", LVAT_OK, "hello b from late");
    lk_close(&t);
}

static void
test_system_reload(void **state)
{
    static const char *const two[] = {"alpha", "beta"};
    char beta[32], beta2[32];
    lk t;

    (void)state;
    open_with_systems(&t, two, 2);
    /* A child: new ids, fresh state, fresh bootstrap. */
    lk_expect_at(&t, t.root, "launchChild", "[" CHILD_CFG("kid") "]", LVAT_OK,
                 "s3");
    lk_expect_at(&t, t.root, "callChild", "[\"hello\", \"a\"]", LVAT_OK,
                 "hello");
    lk_expect_at(&t, t.root, "call", "[\"reloadSubcluster\", \"s3\"]", LVAT_OK,
                 "s4");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s3\"]", LVAT_OK,
                 "null");
    /* The system subcluster beta: its name follows it, across restarts. */
    assert_lvat_ok(lvat_kernel_system_root(t.k, "beta", beta, sizeof beta));
    lk_expect_at(&t, t.root, "call", "[\"reloadSubcluster\", \"s2\"]", LVAT_OK,
                 "s5");
    assert_lvat_ok(lvat_kernel_system_root(t.k, "beta", beta2, sizeof beta2));
    assert_string_not_equal(beta, beta2);
    lk_expect_at(&t, beta2, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, beta2, "starts", "[]", LVAT_OK, "1");
    lk_expect_at(&t, beta2, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "beta", beta, sizeof beta));
    assert_string_equal(beta, beta2);
    lk_expect_at(&t, beta2, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, beta2, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_expect_at(&t, t.root, "call", "[\"reloadSubcluster\", \"s99\"]",
                 LVAT_EREJECTED, "subcluster s99 does not exist");
    lk_close(&t);
}

/* Writes `text` to <t->dir>/<name> and returns its path (owned). */
static char *
write_file(lk *t, const char *name, const char *text)
{
    char *path = lvat_test_path(t->dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *kid_src =
    "return { buildRootObject = function(vp, params, baggage)\n"
    "  return Far('Kid', { bootstrap = function() return 'v1' end,\n"
    "    bump = function() baggage:set('n', (baggage:get('n') or 0) + 1)\n"
    "      return baggage:get('n') end }) end }\n";

static void
test_system_reload_from_host_and_refusals(void **state)
{
    char cfg[1024], sys[32], kid[32], *path;
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    path = write_file(&t, "kid.lua", kid_src);
    snprintf(cfg, sizeof cfg,
             "[{\"bootstrap\":\"k\",\"vats\":{\"k\":{\"sourceSpec\":"
             "\"%s\"}}}]",
             path);
    lk_expect_at(&t, t.root, "launchChild", cfg, LVAT_OK, "s2");
    lk_expect_at(&t, t.root, "callChild", "[\"bump\"]", LVAT_OK, "1");
    /* The host reloads it: new code is read, state starts over. */
    {
        char *v2 = strdup(kid_src);
        char *at = strstr(v2, "'v1'");
        at[2] = '2';
        free(write_file(&t, "kid.lua", v2));
        free(v2);
    }
    snprintf(sys, sizeof sys, "%s", t.root);
    assert_lvat_ok(lk_reload(&t, "s2"));
    assert_string_equal(t.sub, "s3");
    lk_expect_at(&t, t.root, "bump", "[]", LVAT_OK, "1");
    snprintf(kid, sizeof kid, "%s", t.root);
    snprintf(t.root, sizeof t.root, "%s", sys);
    assert_string_equal(t.launch_result, "v2");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s2\"]", LVAT_OK,
                 "null");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s3\"]", LVAT_OK,
                 "s3");
    /* A source gone: refused, nothing changes. */
    unlink(path);
    assert_int_equal(lk_reload(&t, "s3"), LVAT_ECONFIG);
    assert_non_null(strstr(t.launch_err, "kid.lua"));
    snprintf(t.root, sizeof t.root, "%s", sys);
    lk_expect_at(&t, t.root, "call", "[\"reloadSubcluster\", \"s3\"]",
                 LVAT_EREJECTED, "kid.lua");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s3\"]", LVAT_OK,
                 "s3");
    /* New vats that cannot start: refused, nothing changes (the old one
     * keeps its state). */
    free(write_file(&t, "kid.lua", "return {\n"));
    assert_int_equal(lk_reload(&t, "s3"), LVAT_EVAT);
    assert_non_null(strstr(t.launch_err, "kid.lua:2:"));
    assert_non_null(strstr(t.launch_err, "the reload failed: s3 is "
                                         "unchanged"));
    free(write_file(&t, "kid.lua", "return { buildRootObject = function()\n"
                                   "  error('not this one') end }\n"));
    assert_int_equal(lk_reload(&t, "s3"), LVAT_EVAT);
    assert_non_null(strstr(t.launch_err, "not this one"));
    snprintf(t.root, sizeof t.root, "%s", sys);
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s3\"]", LVAT_OK,
                 "s3");
    lk_expect_at(&t, t.root, "call", "[\"getSubclusters\"]", LVAT_OK, "s3");
    assert_int_equal(lk_count(&t, "sub."), 2);
    lk_expect_at(&t, kid, "bump", "[]", LVAT_OK, "2");
    /* A new vat that ends itself while it starts has not started. */
    free(write_file(&t, "kid.lua", "return { buildRootObject = function(vp)\n"
                                   "  vp.exit(false, 'bye')\n"
                                   "  return Far('K', {}) end }\n"));
    assert_int_equal(lk_reload(&t, "s3"), LVAT_EVAT);
    assert_non_null(strstr(t.launch_err, "exited while it started"));
    assert_non_null(strstr(t.launch_err, "s3 is unchanged"));
    lk_expect_at(&t, kid, "bump", "[]", LVAT_OK, "3");
    assert_int_equal(lk_reload(&t, "s9"), LVAT_ENOTFOUND);
    assert_non_null(strstr(t.launch_err, "s9: no such subcluster"));
    assert_int_equal(lk_reload(&t, "x9"), LVAT_EINVAL);
    free(path);
    lk_close(&t);
}

/* A one-vat config for the vat at path into cfg. */
static void
one_vat(char *cfg, size_t len, const char *path)
{
    snprintf(cfg, len,
             "{\"bootstrap\":\"k\",\"vats\":{\"k\":{\"sourceSpec\":"
             "\"%s\"}}}",
             path);
}

/* Two reloads queued for one subcluster: the first replaces it, the
 * second fails and its new vats go (torn down after its crank, not under
 * the vat it was starting: a use after free under ASan before). */
static void
test_system_two_reloads_of_one_subcluster(void **state)
{
    char cfg[512], *kid;
    lk_launch_seen first = {0}, second = {0};
    lk t;

    (void)state;
    lk_open(&t);
    kid = write_file(&t, "kid.lua", kid_src);
    one_vat(cfg, sizeof cfg, kid);
    assert_lvat_ok(lk_launch(&t, cfg));
    assert_lvat_ok(
        lvat_kernel_reload_subcluster(t.k, "s1", lk_launch_seen_cb, &first));
    assert_lvat_ok(
        lvat_kernel_reload_subcluster(t.k, "s1", lk_launch_seen_cb, &second));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(first.done, 1);
    assert_int_equal(second.failed, 1);
    assert_non_null(strstr(second.err, "the reload of s1 failed: it was "
                                       "terminated before the new vats had "
                                       "started"));
    assert_null(strstr(second.err, "unchanged"));
    assert_int_equal(lk_count(&t, "sub."), 1);
    free(kid);
    lk_close(&t);
}

/* A bootstrap vat that ends itself while it starts fails its launch; the
 * kernel goes on (it used to fail every later crank, looking for that
 * vat's root to send the bootstrap to). */
static void
test_system_exit_while_starting_fails_the_launch(void **state)
{
    char cfg[1024], *quit, *kid;
    lk t;

    (void)state;
    lk_open(&t);
    quit = write_file(&t, "quit.lua", "return { buildRootObject = "
                                      "function(vp)\n  vp.exit(false, "
                                      "'not today')\n  return Far('Q', "
                                      "{}) end }\n");
    kid = write_file(&t, "kid.lua", kid_src);
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"q\",\"vats\":{\"q\":{\"sourceSpec\":"
             "\"%s\"},\"k\":{\"sourceSpec\":\"%s\"}}}",
             quit, kid);
    assert_int_equal(lk_launch(&t, cfg), LVAT_EVAT);
    assert_non_null(strstr(t.launch_err, "exited while it started: "));
    assert_non_null(strstr(t.launch_err, "not today"));
    assert_int_equal(lk_count(&t, "sub."), 0);
    one_vat(cfg, sizeof cfg, kid);
    assert_lvat_ok(lk_launch(&t, cfg));
    lk_expect_at(&t, t.root, "bump", "[]", LVAT_OK, "1");
    free(quit);
    free(kid);
    lk_close(&t);
}

/* A launch whose subcluster is replaced before its bootstrap settled hears
 * FAILED (once), as a kernel facet caller would be told. */
static void
test_system_reload_cuts_a_pending_launch_short(void **state)
{
    char cfg[512], *path;
    lk_launch_seen first = {0}, second = {0};
    lk t;

    (void)state;
    lk_open(&t);
    path = write_file(&t, "slow.lua",
                      "return { buildRootObject = function()\n"
                      "  return Far('Slow', { bootstrap = function()\n"
                      "    return Promise.kit().promise end }) end }\n");
    one_vat(cfg, sizeof cfg, path);
    assert_lvat_ok(lvat_kernel_launch_json(t.k, cfg, strlen(cfg), t.dir,
                                           lk_launch_seen_cb, &first));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(first.started, 1);
    assert_int_equal(first.done + first.failed, 0);
    assert_lvat_ok(
        lvat_kernel_reload_subcluster(t.k, "s1", lk_launch_seen_cb, &second));
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(first.failed, 1);
    assert_int_equal(first.done, 0);
    assert_non_null(strstr(first.err, "[KERNEL:VAT_TERMINATED] subcluster "
                                      "s1 was reloaded"));
    assert_int_equal(second.started, 1);
    assert_int_equal(second.done + second.failed, 0);
    free(path);
    lk_close(&t);
}

static void
test_system_queue_message_and_status(void **state)
{
    char args[256], child[32];
    lk t;

    (void)state;
    open_admin_with_child(&t, child);
    /* The answer comes back as plain capdata once the message settles. */
    snprintf(args, sizeof args, "[\"queueMessage\", \"%s\", \"hello\", "
             "[\"q\"]]", child);
    lk_expect_at(&t, t.root, "call", args, LVAT_OK, "hello q from kid");
    snprintf(args, sizeof args, "[\"queueMessage\", \"%s\", \"nope\", "
             "[]]", child);
    lk_expect_at(&t, t.root, "call", args, LVAT_EREJECTED, "no method");
    lk_expect_at(&t, t.root, "call", "[\"queueMessage\", \"ko\", \"x\"]",
                 LVAT_EREJECTED, "bad arguments");
    lk_expect_at(&t, t.root, "call", "[\"getStatus\"]", LVAT_OK, "\"queue\": ");
    lk_expect_at(&t, t.root, "call", "[\"getStatus\"]", LVAT_OK, "\"vats\": ");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s2\"]", LVAT_OK,
                 "\"vats\": {\"c\": \"v2\"}");
    lk_expect_at(&t, child, "count", "[]", LVAT_OK, "1");
    lk_close(&t);
}

/* A kref the caller names that does not exist (never did, or was
 * collected since the caller learned it) rejects the call; counting a
 * reference to it used to fail the crank with a kernel error, and
 * lvat_kernel_run returned LVAT_ENOTFOUND at every call from then on. */
static void
test_system_queue_message_to_a_gone_kref(void **state)
{
    char args[256], child[32];
    lk t;

    (void)state;
    open_admin_with_child(&t, child);
    lk_expect_at(&t, t.root, "call", "[\"queueMessage\", \"ko999\", \"x\", []]",
                 LVAT_EREJECTED,
                 "[KERNEL:OBJECT_DELETED] ko999 no longer exists");
    lk_expect_at(&t, t.root, "call", "[\"queueMessage\", \"kp999\", \"x\", []]",
                 LVAT_EREJECTED,
                 "[KERNEL:OBJECT_DELETED] kp999 no longer exists");
    /* The kernel goes on, and nothing reached the child. */
    snprintf(args, sizeof args, "[\"queueMessage\", \"%s\", \"hello\", "
             "[\"q\"]]", child);
    lk_expect_at(&t, t.root, "call", args, LVAT_OK, "hello q from kid");
    lk_expect_at(&t, child, "count", "[]", LVAT_OK, "1");
    lk_close(&t);
}

static void
test_system_reset(void **state)
{
    char root[32];
    lk t;

    (void)state;
    open_admin_with_child(&t, NULL);
    lk_expect_at(&t, t.root, "callChild", "[\"hello\", \"a\"]", LVAT_OK,
                 "hello");
    /* The caller vat goes with everything else, so its facet call never
     * answers; the host that called it hears that the kernel was reset. */
    lk_expect_at(&t, t.root, "call", "[\"reset\"]", LVAT_EREJECTED,
                 "the kernel was reset by a kernel facet");
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_true(lk_log_has(&t, "asked for a reset"));
    /* Only the system subcluster is back, launched afresh. */
    assert_int_equal(lk_count(&t, "sub."), 1);
    assert_int_equal(lk_count(&t, "vat."), 1);
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", root, sizeof root));
    assert_string_not_equal(root, t.root);
    lk_expect_at(&t, root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, root, "starts", "[]", LVAT_OK, "1");
    lk_expect_at(&t, root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    lk_expect_at(&t, root, "boots", "[]", LVAT_OK, "1");
    lk_close(&t);
}

/* The crash the test below makes: at the log line a reset begins with,
 * the block that asked for it has committed and the wipe has not. */
static void
kill_at_reset(void *ud, lvat_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)level;
    (void)len;
    if (strstr(line, "asked for a reset") != NULL)
        raise(SIGKILL);
}

/* Asks for the reset in a child process that is killed (-9) once the
 * block that asked has committed, before the wipe. */
static void
reset_then_die(lk *t)
{
    lvat_options o;
    lvat_kernel *k;
    int status;
    pid_t pid;

    lvat_kernel_close(t->k);
    t->k = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lvat_options_init(&o);
        o.dir = t->dir;
        o.vat_ops = lvat_lua_vat_ops();
        o.vat_ops_ud = t->rt;
        o.log = kill_at_reset;
        if (lvat_kernel_open(&o, &k, NULL, 0) != LVAT_OK ||
            lvat_kernel_queue_message(k, t->root, "call", "[\"reset\"]",
                                      NULL, NULL) != LVAT_OK)
            _exit(2);
        lvat_kernel_run(k);
        _exit(3); /* the reset never began */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* A reset a committed crank asked for happens even if the process dies
 * before it: it was remembered only in memory, so the store kept every
 * vat and the caller's call hung for ever (the kernel decides it and
 * would never settle it). */
static void
test_system_reset_survives_a_crash(void **state)
{
    lk t;

    (void)state;
    open_admin_with_child(&t, NULL);
    reset_then_die(&t);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(lk_count(&t, "sub."), 1);
    assert_int_equal(lk_count(&t, "vat."), 1);
    assert_int_equal(lk_count(&t, "resetPending"), 0);
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", t.root,
                                           sizeof t.root));
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

static void
test_system_facet_errors(void **state)
{
    lk t;

    (void)state;
    open_with_systems(&t, admin, 1);
    lk_expect_at(&t, t.root, "call", "[\"frobnicate\"]", LVAT_EREJECTED,
                 "no method \\\"frobnicate\\\"");
    lk_expect_at(&t, t.root, "call", "[\"getPresence\", \"ko999\"]",
                 LVAT_EREJECTED, "ko999 does not exist");
    lk_expect_at(&t, t.root, "call", "[\"getPresence\", \"zz\"]",
                 LVAT_EREJECTED, "zz is not a kref");
    lk_expect_at(&t, t.root, "call", "[\"launchSubcluster\", 7]",
                 LVAT_EREJECTED, "must be a table");
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", {\"bootstrap\":\"c\",\"vats\":{\"c\":{"
                 "\"sourceSpec\":\"nope.lua\"}}}]",
                 LVAT_EREJECTED, "nope.lua");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"q\"]",
                 LVAT_EREJECTED, "invalid subcluster id q");
    /* A child whose bootstrap throws: the caller hears why, and the
     * child is torn down. */
    lk_expect_at(&t, t.root, "call",
                 "[\"launchSubcluster\", {\"bootstrap\":\"c\",\"vats\":{\"c\":{"
                 "\"sourceSpec\":\"syschild.lua\",\"parameters\":{\"refuse\":"
                 "\"not today\"}}}}]",
                 LVAT_EREJECTED,
                 "the bootstrap of s2 was rejected: syschild.lua:6: not today");
    lk_expect_at(&t, t.root, "call", "[\"getSubcluster\", \"s2\"]", LVAT_OK,
                 "null");
    assert_int_equal(lk_count(&t, "sub."), 1);
    /* The facet still works after all that. */
    lk_expect_at(&t, t.root, "call", "[\"ping\"]", LVAT_OK, "pong");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_facet_arrives_and_pings),
        cmocka_unit_test(test_system_child_round_trip),
        cmocka_unit_test(test_system_terminate_rejects_child_promises),
        cmocka_unit_test(test_system_facet_survives_restart),
        cmocka_unit_test(test_system_two_distinct_roots),
        cmocka_unit_test(test_system_prune),
        cmocka_unit_test(test_system_facet_named_twice_is_one_object),
        cmocka_unit_test(test_system_duplicate_names),
        cmocka_unit_test(test_system_record_gone_is_relaunched),
        cmocka_unit_test(test_system_bootstrap_vat_exit_relaunches),
        cmocka_unit_test(test_system_corruption_refused),
        cmocka_unit_test(test_system_only_for_system_launches),
        cmocka_unit_test(test_system_queued_facet_message_survives_restart),
        cmocka_unit_test(test_system_reload),
        cmocka_unit_test(test_system_reload_from_host_and_refusals),
        cmocka_unit_test(test_system_reload_cuts_a_pending_launch_short),
        cmocka_unit_test(test_system_exit_while_starting_fails_the_launch),
        cmocka_unit_test(test_system_two_reloads_of_one_subcluster),
        cmocka_unit_test(test_system_queue_message_and_status),
        cmocka_unit_test(test_system_queue_message_to_a_gone_kref),
        cmocka_unit_test(test_system_reset),
        cmocka_unit_test(test_system_reset_survives_a_crash),
        cmocka_unit_test(test_system_facet_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
