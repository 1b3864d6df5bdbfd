/*
 * Promise records cached for the block (kpcache.c): a record born and
 * collected within a block never becomes a key; a crank's abort restores
 * what it changed (subscriber lists too, many records at once), even
 * after a flush wrote them mid-crank; a block write that fails keeps
 * every change for the retry.  Settled values, cached with their records,
 * follow the same rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"
#include "lvat_test.h"

#define MANY 100 /* more than the first buckets and undo records */

static bool
in_overlay(kf *f, lvat_kref kp)
{
    lvat_key key;

    lvat_key_kref(&key, kp);
    return kf_in_block(f, key.b, key.n);
}

/* Reads kp's record into *p (the caller releases it). */
static void
get(kf *f, lvat_kref kp, lvat_kprom *p)
{
    assert_lvat_ok(lvat__kp_get(f->k, kp, p));
}

/* Gives kp `n` subscribers and `refs` references, in the open crank. */
static void
shape(kf *f, lvat_kref kp, size_t n, uint64_t refs)
{
    lvat_kprom p;

    get(f, kp, &p);
    for (size_t i = 0; i < n; i++)
        assert_lvat_ok(lvat__kp_add_sub(&p, (uint32_t)(10 + i)));
    p.refs = refs;
    assert_lvat_ok(lvat__kp_put(f->k, kp, &p));
    lvat__kp_release(&p);
}

static void
assert_shape(kf *f, lvat_kref kp, size_t n, uint64_t refs)
{
    lvat_kprom p;

    get(f, kp, &p);
    assert_int_equal(p.nsubs, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p.subs[i], 10 + i);
    assert_int_equal(p.refs, refs);
    lvat__kp_release(&p);
}

/* lvat__kpc_forget's answer: the record never reached the overlay. */
static bool
forget_unwritten(kf *f, lvat_kref kp)
{
    bool unwritten;

    assert_lvat_ok(lvat__kpc_forget(f->k, kp, &unwritten));
    return unwritten;
}

static void
test_kpcache_born_and_collected_is_never_a_key(void **state)
{
    kf *f = *state;
    lvat_kref kp;
    lvat_kprom p;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    lvat_kv_crank_commit(f->k->kv);
    assert_false(in_overlay(f, kp));
    lvat_kv_crank_begin(f->k->kv);
    assert_true(forget_unwritten(f, kp)); /* nothing to delete */
    lvat_kv_crank_commit(f->k->kv);
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
}

/* Many records, short and long subscriber lists, changed in one crank
 * and aborted: each comes back as it was (the undo records move as
 * their array grows). */
static void
test_kpcache_abort_restores_many(void **state)
{
    kf *f = *state;
    lvat_kref kps[MANY], extra;
    lvat_kprom p;

    lvat_kv_crank_begin(f->k->kv);
    for (size_t i = 0; i < MANY; i++) {
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[i]));
        shape(f, kps[i], i % 7, i);
    }
    lvat_kv_crank_commit(f->k->kv);
    lvat_kv_crank_begin(f->k->kv);
    for (size_t i = 0; i < MANY; i++)
        shape(f, kps[i], 3, 1000);
    assert_true(forget_unwritten(f, kps[0]));
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &extra));
    lvat_kv_crank_abort(f->k->kv);
    for (size_t i = 0; i < MANY; i++)
        assert_shape(f, kps[i], i % 7, i);
    assert_int_equal(lvat__kp_get(f->k, extra, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    for (size_t i = 0; i < MANY; i++)
        assert_shape(f, kps[i], i % 7, i);
}

/* A crank that flushed its records (a raw reader asked) and then aborts
 * leaves the earlier cranks' changes cached, and the block writes them. */
static void
test_kpcache_abort_after_a_flush(void **state)
{
    kf *f = *state;
    lvat_kref kp;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    shape(f, kp, 5, 2);
    lvat_kv_crank_commit(f->k->kv);
    lvat_kv_crank_begin(f->k->kv);
    shape(f, kp, 1, 9);
    assert_lvat_ok(lvat__kpc_flush(f->k));
    assert_true(in_overlay(f, kp));
    lvat_kv_crank_abort(f->k->kv);
    assert_false(in_overlay(f, kp));
    assert_shape(f, kp, 5, 2);
    kf_commit_and_reopen(f);
    assert_shape(f, kp, 5, 2);
}

/* A block write whose record write runs out of memory fails whole; the
 * retry writes everything. */
static void
test_kpcache_failed_block_write_keeps_everything(void **state)
{
    kf *f = *state;
    lvat_kref kps[MANY];
    lvat_errbuf err;
    int rc = LVAT_OK;

    lvat_kv_crank_begin(f->k->kv);
    for (size_t i = 0; i < MANY; i++) {
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[i]));
        shape(f, kps[i], 1, i);
    }
    lvat_kv_crank_commit(f->k->kv);
    for (unsigned after = 0; rc == LVAT_OK && after < 5; after++) {
        lvat_alloc_fail_after(after * 7 + 1, 0);
        rc = lvat_kv_block_commit(f->k->kv, &err);
        lvat_alloc_fail_after(0, 0);
    }
    assert_int_equal(rc, LVAT_ENOMEM);
    kf_commit_and_reopen(f);
    for (size_t i = 0; i < MANY; i++)
        assert_shape(f, kps[i], 1, i);
}

/* Collecting a promise whose entry cannot be saved for the crank's undo
 * (no memory for a copy of its long subscriber list) fails the crank
 * rather than leave the record cached, dirty, to be written back after
 * its key was deleted (found by a helper's review). */
static void
test_kpcache_collect_out_of_memory_fails_whole(void **state)
{
    kf *f = *state;
    lvat_kref kp;
    lvat_kprom p;
    bool zeroed;
    int rc = LVAT_ENOMEM;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    shape(f, kp, 6, 0); /* more subscribers than fit inline */
    lvat_kv_crank_commit(f->k->kv);
    kf_commit_block(f);
    lvat_kv_crank_begin(f->k->kv); /* cached and dirty, an earlier crank */
    assert_lvat_ok(lvat__kp_add_refs(f->k, kp, 1, &zeroed));
    assert_lvat_ok(lvat__kp_add_refs(f->k, kp, -1, &zeroed));
    lvat_kv_crank_commit(f->k->kv);
    for (unsigned long n = 1; rc != LVAT_OK && n < 50; n++) {
        lvat_kv_crank_begin(f->k->kv);
        assert_lvat_ok(lvat__maybe_free(f->k, kp));
        lvat_alloc_fail_after(n, 0);
        rc = lvat__refs_collect(f->k);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            lvat_kv_crank_commit(f->k->kv);
        else
            lvat_kv_crank_abort(f->k->kv);
    }
    assert_lvat_ok(rc);
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
}

static void
stats_text(kf *f, char *out, size_t n)
{
    lvat_val v;

    out[0] = '\0';
    if (lvat_kv_get(f->k->kv, LVAT_DB_KERNEL, "stats", 5, &v) == LVAT_OK)
        snprintf(out, n, "%.*s", (int)v.len, v.p);
}

/* A block whose only change is a promise record is not idle: it saves
 * its stats (found by a helper's review). */
static void
test_kpcache_record_only_block_saves_stats(void **state)
{
    kf *f = *state;
    char before[512], after[512];
    lvat_kref kp;
    bool zeroed;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    lvat_kv_crank_commit(f->k->kv);
    assert_lvat_ok(lvat__block_commit(f->k));
    stats_text(f, before, sizeof before);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_add_refs(f->k, kp, 1, &zeroed));
    lvat_kv_crank_commit(f->k->kv);
    assert_lvat_ok(lvat__block_commit(f->k));
    stats_text(f, after, sizeof after);
    assert_string_not_equal(before, after);
    assert_shape(f, kp, 0, 1);
}

/* ---- Settled values (kpcache_value.c) ---- */

#define HI "#\"hi\""

static bool
value_in_overlay(kf *f, lvat_kref kp)
{
    lvat_key key;

    lvat_key_kp_value(&key, kp);
    return kf_in_block(f, key.b, key.n);
}

/* Whether the store has kp's value key. */
static bool
stored_value(kf *f, lvat_kref kp)
{
    lvat_key key;
    char *text;
    bool found;

    lvat_key_kp_value(&key, kp);
    text = kf_get(f, key.b);
    found = text != NULL;
    free(text);
    return found;
}

/* A new promise settled to "hi", in a crank of its own. */
static lvat_kref
settled(kf *f)
{
    lvat_kref kp;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    assert_lvat_ok(lvat__kp_resolve(f->k, kp, false, HI, strlen(HI), NULL,
                                    0));
    lvat_kv_crank_commit(f->k->kv);
    return kp;
}

static void
assert_value_hi(kf *f, lvat_kref kp)
{
    lvat_capdata v;

    assert_lvat_ok(lvat__kp_value(f->k, kp, &v));
    assert_int_equal(v.body_len, strlen(HI));
    assert_memory_equal(v.body, HI, strlen(HI));
    lvat_capdata_free_slots(&v);
}

/* Collects kp (no references) in the open crank. */
static int
collect(kf *f, lvat_kref kp)
{
    int rc = lvat__maybe_free(f->k, kp);

    return rc == LVAT_OK ? lvat__refs_collect(f->k) : rc;
}

/* Collects kp in a crank of its own. */
static void
collect_committed(kf *f, lvat_kref kp)
{
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(collect(f, kp));
    lvat_kv_crank_commit(f->k->kv);
}

static void
test_kpcache_value_born_and_collected_is_never_a_key(void **state)
{
    kf *f = *state;
    lvat_kref kp = settled(f);
    lvat_kprom p;

    assert_false(value_in_overlay(f, kp));
    assert_value_hi(f, kp);
    collect_committed(f, kp);
    assert_false(value_in_overlay(f, kp));
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_false(stored_value(f, kp));
}

/* A crank that collects a settled promise, or settles a new one, and
 * aborts leaves the values as they were; the block writes what stands. */
static void
test_kpcache_value_abort_restores(void **state)
{
    kf *f = *state;
    lvat_kref kp = settled(f), other;
    lvat_kprom p;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(collect(f, kp));
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &other));
    assert_lvat_ok(lvat__kp_resolve(f->k, other, false, HI, strlen(HI),
                                    NULL, 0));
    lvat_kv_crank_abort(f->k->kv);
    assert_value_hi(f, kp);
    assert_int_equal(lvat__kp_get(f->k, other, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_value_hi(f, kp);
    assert_true(stored_value(f, kp));
}

/* A value a raw reader had flushed to the overlay mid-crank leaves it
 * when the crank aborts, stays cached, and reaches the store. */
static void
test_kpcache_value_abort_after_a_flush(void **state)
{
    kf *f = *state;
    lvat_kref kp = settled(f);

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kpc_flush(f->k));
    assert_true(value_in_overlay(f, kp));
    lvat_kv_crank_abort(f->k->kv);
    assert_false(value_in_overlay(f, kp));
    assert_value_hi(f, kp);
    kf_commit_and_reopen(f);
    assert_value_hi(f, kp);
    assert_true(stored_value(f, kp));
}

/* A value from an earlier block is read from the store and its key
 * deleted when its promise is collected. */
static void
test_kpcache_value_from_the_store(void **state)
{
    kf *f = *state;
    lvat_kref kp = settled(f);

    kf_commit_and_reopen(f);
    assert_value_hi(f, kp);
    collect_committed(f, kp);
    kf_commit_and_reopen(f);
    assert_false(stored_value(f, kp));
}

/* Settling and collecting under a failure at every allocation: each
 * crank is whole or not at all, and nothing leaks (ASan, valgrind). */
static void
test_kpcache_value_out_of_memory(void **state)
{
    kf *f = *state;
    lvat_kref kp = {0};
    lvat_kprom p;
    int rc = LVAT_ENOMEM;

    for (unsigned long n = 1; rc != LVAT_OK && n < 100; n++) {
        lvat_kv_crank_begin(f->k->kv);
        lvat_alloc_fail_after(n, 0);
        rc = lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp);
        if (rc == LVAT_OK)
            rc = lvat__kp_resolve(f->k, kp, false, HI, strlen(HI), NULL, 0);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            lvat_kv_crank_commit(f->k->kv);
        else
            lvat_kv_crank_abort(f->k->kv);
    }
    assert_lvat_ok(rc);
    assert_value_hi(f, kp);
    rc = LVAT_ENOMEM;
    for (unsigned long n = 1; rc != LVAT_OK && n < 100; n++) {
        lvat_kv_crank_begin(f->k->kv);
        lvat_alloc_fail_after(n, 0);
        rc = collect(f, kp);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK) {
            lvat_kv_crank_commit(f->k->kv);
        } else {
            lvat_kv_crank_abort(f->k->kv);
            assert_value_hi(f, kp);
        }
    }
    assert_lvat_ok(rc);
    assert_int_equal(lvat__kp_get(f->k, kp, &p), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_false(stored_value(f, kp));
}

/* A promise from an earlier block, settled and collected in this one:
 * its value was never a key, so the block holds no deletion of it (a
 * second delete would then add an entry). */
static void
test_kpcache_value_of_an_old_record_leaves_no_tombstone(void **state)
{
    kf *f = *state;
    lvat_kref kp;
    lvat_key key;
    size_t before;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    lvat_kv_crank_commit(f->k->kv);
    kf_commit_block(f);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_resolve(f->k, kp, false, HI, strlen(HI), NULL,
                                    0));
    lvat_kv_crank_commit(f->k->kv);
    collect_committed(f, kp);
    assert_lvat_ok(lvat__kpc_flush(f->k));
    lvat_key_kp_value(&key, kp);
    before = lvat_kv_block_entries(f->k->kv);
    assert_lvat_ok(lvat_kv_del(f->k->kv, LVAT_DB_KERNEL, key.b, key.n));
    assert_int_equal(lvat_kv_block_entries(f->k->kv), before + 1);
}

/* The cache's size (block_max_bytes) counts the values it holds, and
 * aborted cranks leave it as it was. */
static void
test_kpcache_value_bytes_follow_aborts(void **state)
{
    kf *f = *state;
    lvat_kref kp = settled(f), other;
    size_t base = lvat__kpc_bytes(f->k);

    for (int i = 0; i < 3; i++) {
        lvat_kv_crank_begin(f->k->kv);
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &other));
        assert_lvat_ok(lvat__kp_resolve(f->k, other, false, HI, strlen(HI),
                                        NULL, 0));
        assert_true(lvat__kpc_bytes(f->k) >= base + strlen(HI));
        lvat_kv_crank_abort(f->k->kv);
        assert_int_equal(lvat__kpc_bytes(f->k), base);
    }
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(collect(f, kp));
    lvat_kv_crank_abort(f->k->kv);
    assert_int_equal(lvat__kpc_bytes(f->k), base);
}

/* A value read in a crank stays readable until the crank ends, even when
 * that crank made it and collects it. */
static void
test_kpcache_value_read_outlives_its_collection(void **state)
{
    kf *f = *state;
    lvat_capdata v;
    lvat_kref kp;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kp));
    assert_lvat_ok(lvat__kp_resolve(f->k, kp, false, HI, strlen(HI), NULL,
                                    0));
    assert_lvat_ok(lvat__kp_value(f->k, kp, &v));
    assert_lvat_ok(collect(f, kp));
    assert_memory_equal(v.body, HI, strlen(HI));
    lvat_capdata_free_slots(&v);
    lvat_kv_crank_commit(f->k->kv);
}

/* Promises born and collected, one a crank, in a long block: the cache
 * holds what is still alive, not an entry for every promise the block
 * made (each would stay as a marker until the block is written). */
static void
test_kpcache_long_block_lets_collected_promises_go(void **state)
{
    kf *f = *state;
    size_t base = lvat__kpc_bytes(f->k);

    for (int i = 0; i < 1000; i++) {
        lvat_kref kp = settled(f);
        collect_committed(f, kp);
    }
    assert_true(lvat__kpc_bytes(f->k) <= base + 4 * 1024);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_kpcache_born_and_collected_is_never_a_key, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_abort_restores_many,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_abort_after_a_flush,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_failed_block_write_keeps_everything, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_collect_out_of_memory_fails_whole, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_record_only_block_saves_stats, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_value_born_and_collected_is_never_a_key,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_value_abort_restores,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_value_abort_after_a_flush, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_value_from_the_store,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_value_out_of_memory,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_value_of_an_old_record_leaves_no_tombstone,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_value_bytes_follow_aborts,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_value_read_outlives_its_collection, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_kpcache_long_block_lets_collected_promises_go, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
