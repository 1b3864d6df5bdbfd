/*
 * Restarts with real Lua vats (issue 3): everything committed survives a
 * close and reopen of the kernel, vats are resuscitated from their baggage
 * without a second bootstrap, and what cannot survive (ephemeral objects,
 * promises an old incarnation decided) is rejected cleanly.  Also
 * suspension and revival, startOnOpen, and the code snapshot.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lua_kernel.h"

static const char *counter_cfg =
    "{\"bootstrap\":\"rcounter\",\"vats\":{\"rcounter\":{\"sourceSpec\":"
    "\"rcounter.lua\",\"creationOptions\":{\"timeLimitMs\":200}}}}";

static void
test_restart_counter_continues(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    lk_expect_at(&t, t.root, "increment", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "increment", "[]", LVAT_OK, "2");
    lk_restart(&t);
    lk_expect_at(&t, t.root, "increment", "[]", LVAT_OK, "3");
    /* In-memory state started over; buildRootObject ran twice. */
    lk_expect_at(&t, t.root, "calls", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "starts", "[]", LVAT_OK, "2");
    lk_expect_at(&t, t.root, "incarnation", "[]", LVAT_OK, "1");
    lk_close(&t);
}

static void
test_restart_coordinator_reaches_workers(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(
        &t, "{\"bootstrap\":\"coord\",\"vats\":{"
            "\"coord\":{\"sourceSpec\":\"rcoord.lua\"},"
            "\"w1\":{\"sourceSpec\":\"rworker.lua\",\"parameters\":"
            "{\"name\":\"w1\"}},"
            "\"w2\":{\"sourceSpec\":\"rworker.lua\",\"parameters\":"
            "{\"name\":\"w2\"}}}}"));
    lk_expect_at(&t, t.root, "askAll", "[\"x\"]", LVAT_OK,
                 "[\"w1:x:1\", \"w2:x:1\"]");
    lk_restart(&t);
    lk_expect_at(&t, t.root, "askAll", "[\"y\"]", LVAT_OK,
                 "[\"w1:y:2\", \"w2:y:2\"]");
    lk_expect_at(&t, t.root, "boots", "[]", LVAT_OK,
                 "1"); /* no second bootstrap */
    lk_close(&t);
}

static void
test_restart_queued_send_delivered(void **state)
{
    lk t;
    uint32_t ran;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    /* One crank applies the host request (the send is queued); the block
     * commits; then the process "stops" before delivering it. */
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "increment", "[]",
                                             NULL, NULL));
    assert_lvat_ok(lvat_kernel_step(t.k, 1, 0, &ran));
    assert_int_equal(ran, 1);
    assert_true(lvat_kernel_pending(t.k) > 0);
    lk_restart(&t);
    lk_expect_at(&t, t.root, "count", "[]", LVAT_OK, "1");
    lk_close(&t);
}

/* The promises a vat decides, from its decider index. */
static size_t
decided(lk *t, const char *vat)
{
    char prefix[32];

    snprintf(prefix, sizeof prefix, "%s.d.", vat);
    return lk_count(t, prefix);
}

/* A delivery queues many sends; the block ends with them still queued
 * (items made in the block are kept in memory until it is written: all of
 * them must reach the store, in order). */
static void
test_restart_queued_sends_keep_order(void **state)
{
    char sender[32], peer[32], args[64], want[256];
    size_t n = 0;
    lk t;
    uint32_t ran;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(
        &t, "{\"bootstrap\":\"rdriver\",\"vats\":{"
            "\"rdriver\":{\"sourceSpec\":\"rdriver.lua\"},"
            "\"zhelper\":{\"sourceSpec\":\"rhelper.lua\"},"
            "\"rhelper\":{\"sourceSpec\":\"rhelper.lua\"}}}"));
    lk_root(&t, "v3", sender);
    lk_root(&t, "v2", peer);
    snprintf(args, sizeof args, "[{\"@kref\": \"%s\"}, 20]", peer);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, sender, "sendMany", args,
                                             NULL, NULL));
    assert_lvat_ok(lvat_kernel_step(t.k, 2, 0, &ran)); /* request, delivery */
    assert_int_equal(ran, 2);
    assert_true(lvat_kernel_pending(t.k) >= 20);
    lk_restart(&t);
    n += (size_t)snprintf(want, sizeof want, "[1");
    for (int i = 2; i <= 20; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, ", %d", i);
    snprintf(want + n, sizeof want - n, "]");
    lk_expect_at(&t, peer, "notes", "[]", LVAT_OK, want);
    lk_close(&t);
}

static void
test_restart_rejects_decided_promises(void **state)
{
    lk t;
    int st;
    char *r;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    r = lk_call(&t, t.root, "hang", "[]", &st);
    assert_int_equal(st, LVAT_EPENDING);
    free(r);
    assert_int_equal(decided(&t, "v1"), 1);
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(decided(&t, "v1"), 0);
    /* Nobody held it any more (the host's wait died with the old process),
     * so it was rejected and then collected; the log keeps the reason. */
    assert_true(lk_log_has(&t, "rejected: [KERNEL:VAT_RESTARTED] v1 "
                               "(rcounter)"));
    assert_int_equal(lk_count(&t, "kp"), 0);
    lk_expect_at(&t, t.root, "count", "[]", LVAT_OK, "0"); /* still answers */
    lk_close(&t);
}

static void
test_restart_orphans_ephemeral_exports(void **state)
{
    char thing[32];
    lk t;
    int st;
    char *r;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    r = lk_call(&t, t.root, "makeThing", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    assert_int_equal(sscanf(r, "<%31[^ ] Thing>", thing), 1);
    free(r);
    lk_expect_at(&t, thing, "hi", "[]", LVAT_OK, "hi");
    lk_restart(&t);
    lk_expect_at(&t, thing, "hi", "[]", LVAT_EREJECTED,
                 "[KERNEL:OBJECT_DELETED] ");
    /* It never reached the vat: no fault, and the vat keeps working. */
    assert_false(lk_log_has(&t, "runtime error"));
    lk_expect_at(&t, t.root, "count", "[]", LVAT_OK, "0");
    /* A new object gets a new vref: export numbers are never reused. */
    r = lk_call(&t, t.root, "makeThing", "[]", &st);
    assert_int_equal(sscanf(r, "<%31[^ ] Thing>", thing), 1);
    free(r);
    {
        char *v = lk_get(&t, LVAT_DB_KERNEL, "v1.c.o+1");
        assert_null(v); /* the old one is gone ... */
        v = lk_get(&t, LVAT_DB_KERNEL, "v1.c.o+2");
        assert_non_null(v); /* ... and the new one is o+2 */
        assert_string_equal(v, thing);
        free(v);
    }
    lk_close(&t);
}

static void
test_restart_suspend_after_three_faults(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    lk_expect_at(&t, t.root, "increment", "[]", LVAT_OK, "1");
    for (int i = 0; i < 3; i++)
        lk_expect_at(&t, t.root, "loop", "[]", LVAT_EREJECTED,
                     "[KERNEL:VAT_FAULT]");
    lk_expect_at(&t, t.root, "count", "[]", LVAT_EREJECTED,
                 "[KERNEL:VAT_SUSPENDED] v1 (rcounter)");
    lk_restart(&t); /* suspension is kept across restarts */
    lk_expect_at(&t, t.root, "count", "[]", LVAT_EREJECTED,
                 "[KERNEL:VAT_SUSPENDED]");
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v1"));
    lk_expect_at(&t, t.root, "count", "[]", LVAT_OK, "1"); /* baggage kept */
    lk_close(&t);
}

static void
test_restart_fault_while_resuscitating_suspends(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    lk_expect_at(&t, t.root, "setFail", "[true]", LVAT_OK, "");
    lk_restart(&t);
    lk_expect_at(&t, t.root, "count", "[]", LVAT_EREJECTED,
                 "[KERNEL:VAT_SUSPENDED] v1 (rcounter)");
    lk_expect_at(&t, t.root, "count", "[]", LVAT_EREJECTED,
                 "[KERNEL:VAT_SUSPENDED]");
    assert_true(lk_log_has(&t, "refusing to start"));
    lk_close(&t);
}

static void
test_restart_start_on_open(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(
        &t, "{\"bootstrap\":\"eager\",\"vats\":{\"eager\":{\"sourceSpec\":"
            "\"rstartonopen.lua\",\"creationOptions\":{\"startOnOpen\":"
            "true}}}}"));
    lk_expect_at(&t, t.root, "opens", "[]", LVAT_OK, "1");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_run(t.k)); /* no message sent */
    {
        /* Read the baggage entry itself: asking the vat would start it. */
        lk_dump d;
        const lk_entry *e;
        lk_dump_db(&t, LVAT_DB_VATSTORE, &d);
        e = lk_dump_find(&d, "v1\0b.opens", 10);
        assert_non_null(e);
        assert_non_null(strstr(e->val, "\n#2"));
        lk_dump_free(&d);
    }
    lk_close(&t);
}

/* lib.lua and lib/init.lua are both module "lib": as with Lua's own
 * searchers, require finds lib.lua, before and after a restart; and a
 * sourceSpec of lib.lua is the vat's main module even with lib/init.lua
 * beside it (which returns no root object). */
static void
test_restart_module_named_by_two_files(void **state)
{
    char *src = lvat_test_mkdtemp(), *sub, cfg[2048], first[32];
    lk t;

    (void)state;
    sub = lvat_test_path(src, "lib");
    assert_int_equal(mkdir(sub, 0700), 0);
    free(sub);
    lvat_test_write_file(src, "main.lua",
                         "local lib = require('lib')\n"
                         "return {buildRootObject = function()\n"
                         "  return Far('M', {\n"
                         "    bootstrap = function() return 'ok' end,\n"
                         "    which = function()\n"
                         "      return type(lib) == 'table' and 'lib.lua' or lib\n"
                         "    end,\n"
                         "  })\nend}\n");
    lvat_test_write_file(src, "lib.lua",
                         "return {buildRootObject = function()\n"
                         "  return Far('L', {\n"
                         "    bootstrap = function() return 'ok' end,\n"
                         "    which = function() return 'main lib.lua' end,\n"
                         "  })\nend}\n");
    lvat_test_write_file(src, "lib/init.lua", "return 'folder'\n");
    lk_open(&t);
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"m\",\"vats\":{\"m\":{\"sourceSpec\":"
             "\"%s/main.lua\"}}}", src);
    assert_lvat_ok(lk_launch(&t, cfg));
    lk_expect_at(&t, t.root, "which", "[]", LVAT_OK, "lib.lua");
    snprintf(first, sizeof first, "%s", t.root);
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"l\",\"vats\":{\"l\":{\"sourceSpec\":"
             "\"%s/lib.lua\"}}}", src);
    assert_lvat_ok(lk_launch(&t, cfg));
    lk_expect_at(&t, t.root, "which", "[]", LVAT_OK, "main lib.lua");
    lk_restart(&t);
    lk_expect_at(&t, t.root, "which", "[]", LVAT_OK, "main lib.lua");
    lk_expect_at(&t, first, "which", "[]", LVAT_OK, "lib.lua");
    lk_close(&t);
    lvat_test_rmdir(src);
}

static void
test_restart_code_snapshot(void **state)
{
    char *src = lvat_test_mkdtemp(), cfg[2048], *path;
    lk t;
    FILE *f;

    (void)state;
    lvat_test_write_file(src, "snap.lua",
                         "return {buildRootObject = function()\n"
                         "  return Far('Snap', {\n"
                         "    bootstrap = function() return 'v1' end,\n"
                         "    version = function() return 'v1' end,\n"
                         "  })\nend}\n");
    snprintf(cfg, sizeof cfg,
             "{\"bootstrap\":\"snap\",\"vats\":{\"snap\":{\"sourceSpec\":"
             "\"%s/snap.lua\"}}}", src);
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, cfg));
    /* Edit the file on disk, then restart: the stored copy is used. */
    path = lvat_test_path(src, "snap.lua");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("error('this file changed')\n", f);
    fclose(f);
    free(path);
    lk_restart(&t);
    lk_expect_at(&t, t.root, "version", "[]", LVAT_OK, "v1");
    lk_close(&t);
    lvat_test_rmdir(src);
}

/* A damaged vat record stops the kernel with a message naming the key,
 * at the first delivery that needs the vat. */
static void
test_restart_damaged_vat_record(void **state)
{
    const char *r;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, counter_cfg));
    lk_expect_at(&t, t.root, "increment", "[]", LVAT_OK, "1");
    lvat_kernel_close(t.k);
    t.k = NULL;
    lk_put_key(&t, LVAT_DB_KERNEL, "vat.v1", "{\"name\":\"rcounter\",");
    lk_restart(&t);
    assert_lvat_ok(lvat_kernel_queue_message(t.k, t.root, "increment", "[]",
                                             NULL, NULL));
    assert_int_equal(lvat_kernel_run(t.k), LVAT_ECORRUPT);
    r = strstr(lvat_kernel_errmsg(t.k), "vat.v1: ");
    if (r == NULL || strstr(r, "database may be corrupted") == NULL)
        fail_msg("error \"%s\" does not name vat.v1 as corrupted",
                 lvat_kernel_errmsg(t.k));
    lk_close(&t);
}

/* An object another vat made, held by a vat only in its heap, is
 * dropped when that heap ends: the exporter hears dropExports and
 * retireExports and forgets it.  One held in baggage stays. */
static void
test_restart_drops_imports_the_old_heap_held(void **state)
{
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, LK_GCHOLDER_CLUSTER));
    lk_expect_at(&t, t.root, "grab", "[]", LVAT_OK, "1");
    lk_expect_at(&t, t.root, "grab", "[]", LVAT_OK, "2");
    lk_expect_at(&t, t.root, "keep", "[]", LVAT_OK, "kept");
    assert_int_equal(lk_count(&t, "v2.c.o+"), 4); /* root and three */
    assert_lvat_ok(lvat_kernel_restart_vat(t.k, "v1"));
    lk_expect_at(&t, t.root, "poke", "[]", LVAT_OK, "awake");
    /* The kept one and the root are still the maker's exports. */
    assert_int_equal(lk_count(&t, "v2.c.o+"), 2);
    assert_int_equal(lk_count(&t, "v1.c.o-"), 2);
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_counter_continues),
        cmocka_unit_test(test_restart_coordinator_reaches_workers),
        cmocka_unit_test(test_restart_queued_send_delivered),
        cmocka_unit_test(test_restart_queued_sends_keep_order),
        cmocka_unit_test(test_restart_rejects_decided_promises),
        cmocka_unit_test(test_restart_orphans_ephemeral_exports),
        cmocka_unit_test(test_restart_drops_imports_the_old_heap_held),
        cmocka_unit_test(test_restart_suspend_after_three_faults),
        cmocka_unit_test(test_restart_fault_while_resuscitating_suspends),
        cmocka_unit_test(test_restart_start_on_open),
        cmocka_unit_test(test_restart_module_named_by_two_files),
        cmocka_unit_test(test_restart_code_snapshot),
        cmocka_unit_test(test_restart_damaged_vat_record),
    };
    return cmocka_run_group_tests_name("e2e_restart", tests, NULL, NULL);
}
