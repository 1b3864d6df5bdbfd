/*
 * Launching ClusterConfigs with the fake vat: start order, roots exported
 * as o+0, bootstrap(vats, services), the STARTED/DONE/FAILED callbacks, a
 * failed launch leaving nothing behind, config errors refused at once,
 * the code snapshot, and what survives a close and reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_fixture.h"
#include "sha256.h"
#include "kernel_int.h"
#include "lvat_test.h"

/* ---- Helpers ---- */

/* Asserts that no key of a vat, subcluster or source remains. */
static void
assert_launch_gone(kf *f)
{
    static const char *const prefixes[] = {
        "vat.", "sub.", "v1.",        "v2.",    "v3.", "source.",
        "ko",   "kp",   "queue.run.", "watch.", "gc."};

    for (size_t i = 0; i < LVAT_ARRAY_LEN(prefixes); i++)
        if (kf_count(f, LVAT_DB_KERNEL, prefixes[i]) != 0)
            fail_msg("keys %s... remain after a failed launch", prefixes[i]);
    assert_int_equal(kf_count(f, LVAT_DB_SOURCES, ""), 0);
    assert_int_equal(kf_count(f, LVAT_DB_VATSTORE, ""), 0);
}

/* The same, on a read-only open of the closed kernel's directory. */
static void
assert_launch_gone_on_disk(kf *f)
{
    char err[256];

    kf_close(f);
    assert_lvat_ok(kf_open_rc(f, true, &f->k, err, sizeof err));
    assert_launch_gone(f);
    lvat_kernel_close(f->k);
    f->k = NULL;
    kf_open(f);
}

static void
assert_before(kf *f, const char *first, const char *second)
{
    long a = fv_log_find(f->w, first, 0), b = fv_log_find(f->w, second, 0);

    if (a < 0 || b < 0 || a >= b) {
        fv_log_dump(f->w);
        fail_msg("expected \"%s\" before \"%s\"", first, second);
    }
}

static int
bootstrap_checks(fv_call *c, void *ud)
{
    const lvat_json *vats = c->args->items[0];
    const char *const names[] = {"alice", "bob", "carol"};

    LVAT_UNUSED(ud);
    assert_int_equal(fv_nargs(c), 2);
    assert_true(lvat_json_is_object(vats));
    assert_int_equal(vats->len, 3);
    assert_int_equal(c->nslots, 3);
    for (size_t i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "vats.%s", names[i]);
        assert_non_null(strstr(lvat_json_get_str(vats, names[i]), ".vatRoot"));
        assert_false(lvat_vref_is_none(fv_kept(c->vat, key)));
    }
    /* Its own root arrives as its own export; the others as imports. */
    assert_string_equal(fv_vstr(fv_kept(c->vat, "vats.bob")), "o+0");
    assert_string_equal(fv_vstr(fv_kept(c->vat, "vats.alice")), "o-1");
    assert_string_equal(fv_vstr(c->target), "o+0");
    assert_true(lvat_json_is_object(c->args->items[1]));
    assert_int_equal(c->args->items[1]->len, 0);
    return fv_return(c, "#\"ready\"");
}

static int
start_raises(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_fail(c, LVAT_EVAT, "bob.lua:3: buildRootObject raised: boom");
}

static int
bootstrap_raises(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    return fv_raise(c, "bootstrap.lua:9: no thanks");
}

/* ---- Launching ---- */

static void
test_kernel_launch_starts_in_order(void **state)
{
    kf *f = *state;
    kf_launch l;
    char key[64], *sub;

    fv_on(f->w, "bob", "bootstrap", bootstrap_checks, NULL);
    kf_launch_ok(f, "bob", "alice,bob,carol", &l);
    assert_before(f, "start alice v1 0", "start bob v2 0");
    assert_before(f, "start bob v2 0", "start carol v3 0");
    assert_before(f, "start carol v3 0", "msg bob bootstrap");
    assert_int_equal(fv_log_count(f->w, "msg "), 1);
    assert_string_equal(l.started_subcluster, "s1");
    assert_string_equal(l.subcluster, "s1");
    assert_string_equal(l.started_root, kf_root(f, 2));
    assert_string_equal(l.root, kf_root(f, 2));
    assert_string_equal(l.body, "#\"ready\"");
    assert_int_equal(l.status, LVAT_OK);
    /* Each root is the vat's o+0 export, owned by it. */
    for (uint32_t v = 1; v <= 3; v++) {
        char owner[8], *entry;
        const char *root = kf_root(f, v);
        snprintf(owner, sizeof owner, "v%u", v);
        assert_string_equal(kf_field(f, root, 0), owner);
        snprintf(key, sizeof key, "v%u.c.%s", v, root);
        entry = kf_get(f, key);
        assert_string_equal(entry, "R o+0");
        free(entry);
    }
    sub = kf_get(f, "sub.s1");
    assert_non_null(sub);
    assert_non_null(strstr(sub, "\"ready\""));
    free(sub);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 0);
}

static void
test_kernel_launch_roots_survive_many_messages(void **state)
{
    kf *f = *state;
    kf_launch l;
    kf_result r;
    char *before, *after;

    kf_launch_ok(f, "alice", "alice,bob", &l);
    before = kf_get(f, l.root);
    for (int i = 0; i < 5; i++) {
        kf_call(f, l.root, "hello", NULL, &r);
        kf_assert_rejected(&r, "no method hello");
        kf_call(f, kf_root(f, 2), "hello", NULL, &r);
        kf_assert_rejected(&r, "no method hello");
    }
    /* A root is pinned: it is never offered for garbage collection. */
    assert_int_equal(fv_log_count(f->w, "drop "), 0);
    assert_int_equal(fv_log_count(f->w, "retire "), 0);
    after = kf_get(f, l.root);
    assert_non_null(after);
    assert_non_null(before);
    free(before);
    free(after);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "gc."), 0);
}

static void
test_kernel_launch_start_failure_leaves_nothing(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "alice", "alice,bob,carol");
    kf_launch l;

    fv_on_start(f->w, "bob", start_raises, NULL);
    assert_lvat_ok(kf_launch_json(f, cfg, &l));
    free(cfg);
    assert_int_equal(l.nevents, 1);
    assert_int_equal(l.events[0], LVAT_LAUNCH_FAILED);
    assert_int_equal(l.status, LVAT_EVAT);
    assert_non_null(strstr(l.errmsg, "bob.lua:3: buildRootObject raised"));
    assert_int_equal(fv_log_count(f->w, "start carol"), 0);
    assert_int_equal(fv_log_count(f->w, "msg "), 0);
    assert_int_equal(fv_live(f->w), 0);
    assert_launch_gone(f);
    assert_launch_gone_on_disk(f);
}

static void
test_kernel_launch_rejected_bootstrap_tears_down(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "alice", "alice,bob");
    kf_launch l;

    fv_on(f->w, "alice", "bootstrap", bootstrap_raises, NULL);
    assert_lvat_ok(kf_launch_json(f, cfg, &l));
    free(cfg);
    assert_int_equal(l.nevents, 2);
    assert_int_equal(l.events[0], LVAT_LAUNCH_STARTED);
    assert_int_equal(l.events[1], LVAT_LAUNCH_FAILED);
    assert_int_equal(l.status, LVAT_EREJECTED);
    assert_non_null(strstr(l.errmsg, "no thanks"));
    assert_int_equal(fv_live(f->w), 0);
    assert_launch_gone(f);
    assert_launch_gone_on_disk(f);
}

/* ---- Config errors ---- */

static void
expect_config_error(kf *f, const char *json, const char *const *needles)
{
    int rc =
        lvat_kernel_launch_json(f->k, json, strlen(json), f->tmp, NULL, NULL);

    assert_int_equal(rc, LVAT_ECONFIG);
    for (; *needles; needles++)
        if (strstr(lvat_kernel_errmsg(f->k), *needles) == NULL)
            fail_msg("\"%s\" not in: %s", *needles, lvat_kernel_errmsg(f->k));
    assert_int_equal(lvat_kernel_pending(f->k), 0);
}

static void
test_kernel_launch_config_errors(void **state)
{
    kf *f = *state;
    const char *no_boot[] = {"config (text)", "no \"bootstrap\"", NULL};
    const char *bad_boot[] = {"config (text)", "\"zed\"", "alice, bob", NULL};
    const char *missing[] = {"config (text)", "vat bob", "bob/none.lua",
                             "does not exist", NULL};
    const char *not_obj[] = {"config (text)", "vat bob", "must be an object",
                             NULL};
    const char *no_vats[] = {"config (text)", "\"vats\"", NULL};
    const char *folder[] = {"config (text)", "vat bob", "is not a file",
                            NULL};
    const char *accent[] = {"config (text)", "printable ASCII", NULL};
    const char *nul[] = {"config (text)",
                         "vat name \"bob\\u0000...\" holds a \\u0000", NULL};
    const char *boot_nul[] = {"config (text)", "\"bootstrap\" holds a "
                              "\\u0000", NULL};
    const char *huge_time[] = {"config (text)", "vat alice",
                               "timeLimitMs 4294967297 is more than", NULL};
    const char *typo_opt[] = {"vat alice: creationOptions: unknown key "
                              "\"timelimitMs\"", "timeLimitMs", NULL};
    const char *typo_vat[] = {"vat alice: unknown key \"paramters\"",
                              "parameters", NULL};
    const char *typo_top[] = {"the config: unknown key \"service\"",
                              "services", NULL};
    const char *soo[] = {"startOnOpen must be true or false", NULL};

    kf_source(f, "alice", NULL);
    kf_source(f, "bob", NULL);
    expect_config_error(f,
                        "{\"vats\":{\"alice\":{\"sourceSpec\":"
                        "\"alice/alice.lua\"}}}",
                        no_boot);
    expect_config_error(f,
                        "{\"bootstrap\":\"zed\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\"},\"bob\":"
                        "{\"sourceSpec\":\"bob/bob.lua\"}}}",
                        bad_boot);
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\"},\"bob\":"
                        "{\"sourceSpec\":\"bob/none.lua\"}}}",
                        missing);
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\"},\"bob\":7}}",
                        not_obj);
    expect_config_error(f, "{\"bootstrap\":\"alice\",\"vats\":7}", no_vats);
    /* A folder exists: it is not "does not exist". */
    expect_config_error(f,
                        "{\"bootstrap\":\"bob\",\"vats\":{\"bob\":"
                        "{\"sourceSpec\":\"bob\"}}}",
                        folder);
    /* Not a space or a control character: say what is allowed. */
    expect_config_error(f,
                        "{\"bootstrap\":\"caf\u00e9\",\"vats\":{\"caf\u00e9\":"
                        "{\"sourceSpec\":\"bob/bob.lua\"}}}",
                        accent);
    /* A \u0000 does not cut the name short into another one. */
    expect_config_error(f,
                        "{\"bootstrap\":\"bob\",\"vats\":{\"bob\\u0000x\":"
                        "{\"sourceSpec\":\"bob/bob.lua\"}}}",
                        nul);
    expect_config_error(f,
                        "{\"bootstrap\":\"bob\",\"vats\":[{\"name\":"
                        "\"bob\\u0000x\",\"sourceSpec\":\"bob/bob.lua\"}]}",
                        nul);
    expect_config_error(f,
                        "{\"bootstrap\":\"bob\\u0000x\",\"vats\":{\"bob\":"
                        "{\"sourceSpec\":\"bob/bob.lua\"}}}",
                        boot_nul);
    /* 2^32 + 1 ms: it once wrapped to a budget of 1 ms. */
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\","
                        "\"creationOptions\":{\"timeLimitMs\":4294967297}}}}",
                        huge_time);
    /* A misspelt key is not ignored (with the limit it meant to set). */
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\","
                        "\"creationOptions\":{\"timelimitMs\":10}}}}",
                        typo_opt);
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\","
                        "\"paramters\":{}}}}",
                        typo_vat);
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"service\":[],"
                        "\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\"}}}",
                        typo_top);
    expect_config_error(f,
                        "{\"bootstrap\":\"alice\",\"vats\":{\"alice\":"
                        "{\"sourceSpec\":\"alice/alice.lua\","
                        "\"creationOptions\":{\"startOnOpen\":1}}}}",
                        soo);
    /* Nothing was written. */
    kf_run(f);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "sub."), 0);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "vat."), 0);
    assert_int_equal(fv_log_len(f->w), 0);
}

/* ---- The code snapshot ---- */

typedef struct texts {
    const char *main, *util;
    int reads;
} texts;

static void
read_and_check(lvat_syscall *sys, texts *t)
{
    lvat_buf text = LVAT_BUF_INIT, chunk = LVAT_BUF_INIT;

    assert_lvat_ok(lvat_syscall_read_module(sys, "alice", &text, &chunk));
    assert_string_equal(text.data, t->main);
    assert_string_equal(chunk.data, "@alice/alice.lua");
    lvat_buf_reset(&text);
    lvat_buf_reset(&chunk);
    assert_lvat_ok(lvat_syscall_read_module(sys, "lib.util", &text, &chunk));
    assert_string_equal(text.data, t->util);
    assert_string_equal(chunk.data, "@alice/lib/util.lua");
    assert_int_equal(lvat_syscall_read_module(sys, "nope", &text, &chunk),
                     LVAT_ENOTFOUND);
    lvat_buf_free(&text);
    lvat_buf_free(&chunk);
    t->reads++;
}

static int
start_reads(fv_call *c, void *ud)
{
    read_and_check(fv_sys(c->vat), ud);
    return LVAT_OK;
}

static void
test_kernel_launch_snapshots_sources(void **state)
{
    kf *f = *state;
    texts t = {"-- alice\nreturn { answer = 42 }\n", "return 'util'\n", 0};
    char *path;
    kf_launch l;
    kf_result r;

    kf_source(f, "alice", t.main);
    lvat_test_write_file(f->tmp, "alice/lib/util.lua", t.util);
    lvat_test_write_file(f->tmp, "alice/notes.txt", "not Lua");
    fv_on_start(f->w, "alice", start_reads, &t);
    kf_launch_ok(f, "alice", "alice", &l);
    assert_int_equal(t.reads, 1);
    assert_int_equal(kf_count(f, LVAT_DB_SOURCES, ""), 2);
    /* The files may go: a restart reads the snapshot. */
    path = lvat_test_path(f->tmp, "alice/alice.lua");
    assert_int_equal(unlink(path), 0);
    free(path);
    path = lvat_test_path(f->tmp, "alice/lib/util.lua");
    assert_int_equal(unlink(path), 0);
    free(path);
    kf_reopen(f);
    kf_call(f, l.root, "hello", NULL, &r);
    assert_int_equal(t.reads, 2);
    assert_int_equal(fv_stats_of(f->w, "alice")->incarnation, 1);
}

static void
test_kernel_launch_shares_sources_by_hash(void **state)
{
    kf *f = *state;
    kf_launch l1, l2;
    char *count;

    kf_launch_ok(f, "alice", "alice", &l1);
    kf_launch_ok(f, "alice", "alice", &l2);
    assert_string_equal(l2.subcluster, "s2");
    assert_int_equal(kf_count(f, LVAT_DB_SOURCES, ""), 1);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "source."), 1);
    count = kf_get(f, "nextVatId");
    assert_string_equal(count, "3");
    free(count);
}

/* A store whose nextVatId is past the last vat id (corrupted): the
 * launch's crank fails, naming the counter, and no vat is made. */
static void
test_kernel_launch_vat_ids_run_out(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "alice", "alice");
    int rc;

    assert_lvat_ok(lvat_kv_put(f->k->kv, LVAT_DB_KERNEL, "nextVatId", 9,
                               "4294967294", 10, 0));
    kf_commit_block(f);
    rc = lvat_kernel_launch_json(f->k, cfg, strlen(cfg), f->tmp, NULL, NULL);
    free(cfg);
    if (rc == LVAT_OK)
        rc = lvat_kernel_run(f->k);
    assert_int_equal(rc, LVAT_ECORRUPT);
    assert_non_null(strstr(lvat_kernel_errmsg(f->k),
                           "nextVatId 4294967294 is past the last vat id"));
    assert_int_equal(fv_live(f->w), 0);
}

/* How many vats use the source `text` (its source.<sha256> count). */
static char *
kf_source_count(kf *f, const char *text)
{
    char key[8 + LVAT_SHA256_HEX_LEN + 1];

    memcpy(key, "source.", 7);
    lvat_sha256_hex(text, strlen(text), key + 7);
    return kf_get(f, key);
}

/* A file rewritten between launches (same length, other bytes) is a new
 * source; the old text, launched again, is the old one (srcname.c
 * remembers texts, never paths). */
static void
test_kernel_launch_rewritten_file_is_new_source(void **state)
{
    kf *f = *state;
    kf_launch l;
    char *count;

    kf_source(f, "alice", "return 'A'\n");
    kf_launch_ok(f, "alice", "alice", &l);
    kf_source(f, "alice", "return 'B'\n"); /* same length */
    kf_launch_ok(f, "alice", "alice", &l);
    assert_int_equal(kf_count(f, LVAT_DB_SOURCES, ""), 2);
    kf_source(f, "alice", "return 'A'\n");
    kf_launch_ok(f, "alice", "alice", &l);
    assert_int_equal(kf_count(f, LVAT_DB_SOURCES, ""), 2);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "source."), 2);
    count = kf_source_count(f, "return 'A'\n");
    assert_string_equal(count, "2");
    free(count);
    count = kf_source_count(f, "return 'B'\n");
    assert_string_equal(count, "1");
    free(count);
}

/* ---- Persistence ---- */

static int
put_value(fv_call *c, void *ud)
{
    LVAT_UNUSED(ud);
    assert_lvat_ok(lvat_syscall_vatstore_set(fv_sys(c->vat), "k", 1, "v1", 2));
    return fv_return(c, "#\"stored\"");
}

static int
get_value(fv_call *c, void *ud)
{
    lvat_val v;

    LVAT_UNUSED(ud);
    assert_lvat_ok(lvat_syscall_vatstore_get(fv_sys(c->vat), "k", 1, &v));
    return fv_return(c, fv_fmt(c, "#\"%.*s\"", (int)v.len, v.p));
}

/* An open changes nothing but its own count. */
static bool
allow_open_count(void *ud,
                 kf_change ch,
                 int db,
                 const char *key,
                 size_t klen,
                 const char *old,
                 const char *nw)
{
    LVAT_UNUSED(ud);
    LVAT_UNUSED(old);
    LVAT_UNUSED(nw);
    return ch == KF_CHANGED && db == LVAT_DB_KERNEL && klen == 11 &&
           memcmp(key, "kernelOpens", 11) == 0;
}

static void
test_kernel_launch_state_survives_reopen(void **state)
{
    kf *f = *state;
    kf_snap before, after;
    kf_launch l;
    kf_result r;
    char bob[32];

    fv_on(f->w, "bob", "put", put_value, NULL);
    fv_on(f->w, "bob", "get", get_value, NULL);
    kf_launch_ok(f, "alice", "alice,bob", &l);
    snprintf(bob, sizeof bob, "%s", kf_root(f, 2));
    kf_call(f, bob, "put", NULL, &r);
    assert_string_equal(r.body, "#\"stored\"");
    kf_snap_take(f, &before);
    kf_reopen(f);
    kf_snap_take(f, &after);
    assert_int_equal(kf_diff(&before, &after, allow_open_count, NULL), 0);
    kf_snap_free(&after);
    kf_snap_free(&before);
    kf_call(f, bob, "get", NULL, &r);
    assert_int_equal(r.status, LVAT_OK);
    assert_string_equal(r.body, "#\"v1\"");
    assert_true(fv_log_find(f->w, "start bob v2 1", 0) >= 0);
    assert_string_equal(kf_root(f, 2), bob);
}

/* alice's bootstrap hands its result to bob, who keeps it in baggage and
 * never settles it. */
static int
hand_over(fv_call *c, void *ud)
{
    const char *body = "#[\"boot\",[]]";
    lvat_vcapdata cd = {body, strlen(body), NULL, 0};

    LVAT_UNUSED(ud);
    return lvat_syscall_send(fv_sys(c->vat), fv_kept(c->vat, "vats.bob"), &cd,
                             c->result);
}

static int
park_in_baggage(fv_call *c, void *ud)
{
    const char *v = fv_vstr(c->result);

    LVAT_UNUSED(ud);
    return lvat_syscall_vatstore_set(fv_sys(c->vat), "pending", 7, v,
                                     strlen(v));
}

static void
test_kernel_launch_old_launch_never_answers_new_request(void **state)
{
    kf *f = *state;
    char *cfg = kf_config(f, "alice", "alice,bob"), *sub;
    kf_launch l1, l2;

    fv_on(f->w, "alice", "bootstrap", hand_over, NULL);
    fv_on(f->w, "bob", "boot", park_in_baggage, NULL);
    assert_lvat_ok(kf_launch_json(f, cfg, &l1));
    free(cfg);
    assert_int_equal(l1.nevents, 1); /* STARTED; bootstrap pending */
    kf_reopen(f);
    /* The reopen ended bob's incarnation, so the bootstrap promise it
     * decided is rejected and s1's launch fails; its answer must not reach
     * the first request of this open. */
    cfg = kf_config(f, "carol", "carol");
    memset(&l2, 0, sizeof l2);
    assert_lvat_ok(lvat_kernel_launch_json(f->k, cfg, strlen(cfg), f->tmp,
                                           kf_launch_cb(), &l2));
    free(cfg);
    kf_run(f);
    sub = kf_get(f, "sub.s1");
    assert_null(sub);
    /* The new launch heard only about itself. */
    assert_int_equal(l2.nevents, 2);
    assert_string_equal(l2.started_subcluster, "s2");
    assert_string_equal(l2.subcluster, "s2");
    assert_int_equal(l2.events[1], LVAT_LAUNCH_DONE);
}

static void
test_kernel_launch_second_open_is_locked(void **state)
{
    kf *f = *state;
    lvat_kernel *k2 = NULL;
    char err[512] = "";

    assert_int_equal(kf_open_rc(f, false, &k2, err, sizeof err), LVAT_ELOCKED);
    assert_null(k2);
    assert_non_null(strstr(err, "in use by pid"));
    /* The first kernel is unharmed. */
    kf_run(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kernel_launch_starts_in_order,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_roots_survive_many_messages, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_start_failure_leaves_nothing, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_rejected_bootstrap_tears_down, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_launch_config_errors,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_launch_snapshots_sources,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_shares_sources_by_hash, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kernel_launch_vat_ids_run_out,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_rewritten_file_is_new_source, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_state_survives_reopen, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_old_launch_never_answers_new_request,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kernel_launch_second_open_is_locked, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests_name("kernel_launch", tests, NULL, NULL);
}
