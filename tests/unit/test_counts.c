/*
 * Counters kept for the block (host/counts.c) against the overlay: a
 * crank's abort undoes its changes, even after a flush wrote them to the
 * overlay mid-crank; the block writes what changed; a vat whose record is
 * gone has its counters dropped, not written.  Real kernel, no vats.
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

static void
commit_block(kf *f)
{
    lvat_errbuf err;

    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
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
    commit_block(f);
    kf_reopen(f);
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
    commit_block(f);
    kf_reopen(f);
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
    commit_block(f);
    kf_reopen(f);
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
    commit_block(f);
    kf_reopen(f); /* nothing loaded */
    lvat_kv_crank_begin(f->k->kv);
    lvat_key_vat_counters(&key, 9);
    assert_lvat_ok(lvat_kv_del(f->k->kv, LVAT_DB_KERNEL, key.b, key.n));
    assert_int_equal(first_count(f, 9), 1);
    lvat_kv_crank_abort(f->k->kv);
    assert_int_equal(first_count(f, 9), 10);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
