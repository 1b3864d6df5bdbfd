/*
 * Counters kept for the block (host/counts.c) against the overlay: a
 * crank's abort undoes its changes, even after a flush wrote them to the
 * overlay mid-crank; the block writes what changed; a vat whose record is
 * gone has its counters dropped, not written.  Object records: one born
 * and deleted in a block never becomes a key, an abort restores counts, a
 * delete in a later block reaches the store, and dropping them after a
 * block keeps every counter.  Real kernel, no vats.
 */
#include "lvat_test.h"

#include <stdlib.h>
#include <string.h>

#include "kernel_fixture.h"
#include "kernel_int.h"

static void
set_in_crank(kf *f, uint32_t vat, uint64_t a, bool commit)
{
    uint64_t v[4] = {a, a + 1, a + 2, a + 3};

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__vat_counts_set(f->k, vat, v));
    if (commit)
        lvat_kv_crank_commit(f->k->kv);
    else
        lvat_kv_crank_abort(f->k->kv);
}

static uint64_t
first_count(kf *f, uint32_t vat)
{
    uint64_t v[4];

    assert_lvat_ok(lvat__vat_counts(f->k, vat, v));
    return v[0];
}

/* A vat record for vat 9, so its counters are written. */
static void
make_vat_record(kf *f)
{
    lvat_key key;

    lvat_key_vat_record(&key, 9);
    assert_lvat_ok(lvat_kv_put(f->k->kv, LVAT_DB_KERNEL, key.b, key.n, "{}",
                               2, 0));
}

static void
test_counts_abort_undoes_even_after_a_flush(void **state)
{
    kf *f = *state;
    char *v;

    make_vat_record(f);
    set_in_crank(f, 9, 10, true);
    set_in_crank(f, 9, 20, false);
    assert_int_equal(first_count(f, 9), 10);
    /* A crank flushes (a reader of the raw store), then aborts: the
     * change the earlier crank made must still reach the block. */
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__counts_flush(f->k));
    lvat_kv_crank_abort(f->k->kv);
    kf_commit_and_reopen(f);
    v = kf_get(f, "v9.n");
    assert_string_equal(v, "10 11 12 13");
    free(v);
    assert_int_equal(first_count(f, 9), 10);
}

static void
test_counts_kref_numbers_roll_back_and_persist(void **state)
{
    kf *f = *state;
    uint64_t a, b, c;
    char *v;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kref_number(f->k, true, &a));
    assert_lvat_ok(lvat__kref_number(f->k, true, &b));
    lvat_kv_crank_abort(f->k->kv);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kref_number(f->k, true, &c));
    lvat_kv_crank_commit(f->k->kv);
    assert_int_equal(b, a + 1);
    assert_int_equal(c, a); /* the aborted numbers come back */
    kf_commit_and_reopen(f);
    v = kf_get(f, "nextPromiseId");
    assert_int_equal(strtoull(v, NULL, 10), a + 1);
    free(v);
}

/* Counters of a vat whose record is gone (terminated in the block) are
 * not written back. */
static void
test_counts_gone_vat_is_not_written(void **state)
{
    kf *f = *state;

    set_in_crank(f, 77, 5, true);
    kf_commit_and_reopen(f);
    assert_null(kf_get(f, "v77.n"));
}

/* A counter first read in a crank that deleted its key (termination
 * does) is read again after that crank's abort. */
static void
test_counts_first_read_in_an_aborted_crank_is_forgotten(void **state)
{
    kf *f = *state;
    lvat_key key;

    make_vat_record(f);
    set_in_crank(f, 9, 10, true);
    kf_commit_and_reopen(f); /* nothing loaded */
    lvat_kv_crank_begin(f->k->kv);
    lvat_key_vat_counters(&key, 9);
    assert_lvat_ok(lvat_kv_del(f->k->kv, LVAT_DB_KERNEL, key.b, key.n));
    assert_int_equal(first_count(f, 9), 1);
    lvat_kv_crank_abort(f->k->kv);
    assert_int_equal(first_count(f, 9), 10);
}

/* Whether the overlay (not the block's cache) has koN's record. */
static bool
object_in_overlay(kf *f, lvat_kref ko)
{
    lvat_key key;

    lvat_key_kref(&key, ko);
    return kf_in_block(f, key.b, key.n);
}

static char *
object_record(kf *f, lvat_kref ko)
{
    char key[32];

    lvat_kref_format(ko, key);
    return kf_get(f, key);
}

/* Deletes koN in a crank, writes the block, reopens: the store has none. */
static void
delete_and_reopen(kf *f, lvat_kref ko)
{
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_delete(f->k, ko));
    lvat_kv_crank_commit(f->k->kv);
    kf_commit_and_reopen(f);
    assert_null(object_record(f, ko));
}

/* An object born and collected within a block never becomes a key; one
 * that survives is written with its counts as the block ends. */
static void
test_counts_objects_reach_the_store_once(void **state)
{
    kf *f = *state;
    lvat_kref gone, kept;
    lvat_kobj o;
    char *v;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_new(f->k, 9, &gone));
    assert_lvat_ok(lvat__ko_new(f->k, 9, &kept));
    assert_lvat_ok(lvat__ko_adjust(f->k, kept, 2, 3));
    lvat_kv_crank_commit(f->k->kv);
    assert_false(object_in_overlay(f, kept));
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_delete(f->k, gone));
    lvat_kv_crank_commit(f->k->kv);
    assert_int_equal(lvat__ko_get(f->k, gone, &o), LVAT_ENOTFOUND);
    kf_commit_and_reopen(f);
    assert_null(object_record(f, gone));
    v = object_record(f, kept);
    assert_string_equal(v, "v9 2 3");
    free(v);
}

/* A crank's abort gives an object its counts back; a delete in a later
 * block (the store has the record now) reaches the store. */
static void
test_counts_objects_abort_and_later_delete(void **state)
{
    kf *f = *state;
    lvat_kref ko;
    lvat_kobj o;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_new(f->k, 9, &ko));
    assert_lvat_ok(lvat__ko_adjust(f->k, ko, 1, 1));
    lvat_kv_crank_commit(f->k->kv);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_adjust(f->k, ko, 5, 5));
    assert_lvat_ok(lvat__ko_delete(f->k, ko));
    lvat_kv_crank_abort(f->k->kv);
    assert_lvat_ok(lvat__ko_get(f->k, ko, &o));
    assert_int_equal(o.reach, 1);
    kf_commit_block(f);
    delete_and_reopen(f, ko);
}

/* A new object flushed to the overlay mid-block (a raw reader asked) and
 * deleted later in the block is deleted from the overlay too. */
static void
test_counts_objects_delete_after_a_flush(void **state)
{
    kf *f = *state;
    lvat_kref ko;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__ko_new(f->k, 9, &ko));
    assert_lvat_ok(lvat__block_flush(f->k));
    lvat_kv_crank_commit(f->k->kv);
    assert_true(object_in_overlay(f, ko));
    delete_and_reopen(f, ko);
}

/* Creates n objects in one committed crank (their records are written
 * with the block). */
static void
make_objects(kf *f, int n)
{
    lvat_kref ko;

    lvat_kv_crank_begin(f->k->kv);
    for (int i = 0; i < n; i++)
        assert_lvat_ok(lvat__ko_new(f->k, 9, &ko));
    lvat_kv_crank_commit(f->k->kv);
}

/* The vat id of counter i: distinct, and scattered (sequential ids land
 * too regularly in the table to meet objects on their probe paths). */
static uint32_t
vat_of(uint32_t i)
{
    return 1 + (uint32_t)(((uint64_t)i * 2654435761u) % 1000003u);
}

/* Object slots share the table with the vats' counters, and leave it
 * after each block, in place.  Counters made after objects may sit
 * behind them on their probe paths: every one must still be found
 * (these vats have no records, so a lost counter would come back from
 * the store as 1).  The first block's objects are dropped in place; the
 * second's are so many that the table then shrinks. */
static void
test_counts_counters_outlive_dropped_objects(void **state)
{
    kf *f = *state;
    lvat_kobj o;

    for (uint32_t round = 0; round < 2; round++) {
        uint32_t first = round == 0 ? 0 : 1100, end = round == 0 ? 1100 : 1300;
        make_objects(f, round == 0 ? 500 : 3000);
        for (uint32_t i = first; i < end; i++) {
            set_in_crank(f, vat_of(i), 10 * (uint64_t)i + 7, true);
            if (round == 0 && i % 2)
                make_objects(f, 1); /* interleaved with the counters */
        }
        kf_commit_block(f);
        for (uint32_t i = 0; i < end; i++)
            assert_int_equal(first_count(f, vat_of(i)), 10 * (uint64_t)i + 7);
    }
    assert_lvat_ok(lvat__ko_get(f->k, lvat_kref_object(1), &o));
    assert_int_equal(o.owner, 9);
}

/* A terminated vat's counters leave the table with the block, and stay
 * when the crank that terminated it aborts.  (Vat ids are never reused:
 * the table kept one slot for every vat ever launched, and the block's
 * write scanned them all.) */
static void
test_counts_terminated_vat_leaves_the_table(void **state)
{
    kf *f = *state;
    size_t before;

    make_vat_record(f);
    set_in_crank(f, 9, 10, true);
    kf_commit_block(f);
    before = lvat__counts_slots(f->k);
    for (int commit = 0; commit <= 1; commit++) {
        lvat_kv_crank_begin(f->k->kv);
        assert_lvat_ok(lvat__vat_terminate(f->k, 9, "test"));
        if (commit)
            lvat_kv_crank_commit(f->k->kv);
        else
            lvat_kv_crank_abort(f->k->kv);
        kf_commit_block(f);
        assert_int_equal(lvat__counts_slots(f->k), before - (size_t)commit);
    }
    assert_null(kf_get(f, "v9.n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_counts_abort_undoes_even_after_a_flush, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_kref_numbers_roll_back_and_persist, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_counts_gone_vat_is_not_written,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_first_read_in_an_aborted_crank_is_forgotten,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_objects_reach_the_store_once, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_objects_abort_and_later_delete, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_objects_delete_after_a_flush, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_counters_outlive_dropped_objects, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_counts_terminated_vat_leaves_the_table, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
