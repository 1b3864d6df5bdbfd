/*
 * New c-list pairs kept in memory for the block (host/clist_block.c)
 * against the overlay: a pair born and retired in one block never becomes
 * a key; a crank's abort undoes what it did to them, even after a flush
 * wrote them to the overlay mid-crank; an ordered read sees them; the
 * block writes the survivors, with a changed reach.  Real kernel, no vats.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"

#define VAT 9

static char g_name[] = "t";
static lvat_kvat g_vat = {.id = VAT, .name = g_name};

static void
end_crank(kf *f, bool commit)
{
    if (commit)
        lvat_kv_crank_commit(f->k->kv);
    else
        lvat_kv_crank_abort(f->k->kv);
}

/* A new promise imported into the vat, in a crank of its own. */
static lvat_kref
import_promise(kf *f, lvat_vref *vp, bool commit)
{
    lvat_kref kp;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kp_new(f->k, LVAT_VATID_KERNEL, &kp));
    assert_lvat_ok(lvat__clist_to_vat(f->k, &g_vat, kp, vp));
    end_crank(f, commit);
    return kp;
}

/* Whether the overlay (not the memory table) holds the kref's key. */
static bool
in_overlay(kf *f, lvat_kref r)
{
    lvat_key key;

    lvat_key_clist_k(&key, VAT, r);
    return kf_in_block(f, key.b, key.n);
}

static void
assert_listed(kf *f, lvat_kref kp, lvat_vref vp)
{
    lvat_vref v;
    lvat_kref r;

    assert_lvat_ok(lvat__clist_lookup_k(f->k, VAT, kp, &v, NULL));
    assert_true(v.v == vp.v);
    assert_lvat_ok(lvat__clist_lookup_v(f->k, VAT, vp, &r));
    assert_true(lvat_kref_eq(r, kp));
}

static void
assert_unlisted(kf *f, lvat_kref kp, lvat_vref vp)
{
    lvat_vref v;
    lvat_kref r;

    assert_int_equal(lvat__clist_lookup_k(f->k, VAT, kp, &v, NULL),
                     LVAT_ENOTFOUND);
    assert_int_equal(lvat__clist_lookup_v(f->k, VAT, vp, &r),
                     LVAT_ENOTFOUND);
}

static void
test_clist_block_pair_born_and_retired_is_never_a_key(void **state)
{
    kf *f = *state;
    lvat_vref vp;
    lvat_kref kp = import_promise(f, &vp, true);

    assert_listed(f, kp, vp);
    assert_false(in_overlay(f, kp));
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_remove(f->k, VAT, kp));
    end_crank(f, true);
    assert_unlisted(f, kp, vp);
    assert_false(in_overlay(f, kp));
    assert_false(lvat__clb_changed(f->k));
}

static void
test_clist_block_abort_undoes_add_and_remove(void **state)
{
    kf *f = *state;
    lvat_vref vp, vq;
    lvat_kref kp = import_promise(f, &vp, true), kq;
    char key[64], *v;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_remove(f->k, VAT, kp));
    assert_unlisted(f, kp, vp);
    end_crank(f, false);
    assert_listed(f, kp, vp);
    kq = import_promise(f, &vq, false);
    assert_unlisted(f, kq, vq);
    kf_commit_and_reopen(f);
    assert_listed(f, kp, vp);
    snprintf(key, sizeof key, "v%u.c.%s", VAT, "p-1");
    v = kf_get(f, key);
    assert_non_null(v);
    assert_int_equal(lvat_kref_num(kp), strtoull(v + 2, NULL, 10));
    free(v);
}

/* A crank that flushed (an ordered read does) and then aborts leaves the
 * pairs of earlier cranks in memory, and the block still writes them. */
static void
test_clist_block_abort_after_a_flush(void **state)
{
    kf *f = *state;
    lvat_vref vp;
    lvat_kref kp = import_promise(f, &vp, true);
    lvat_val key, val;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat_kv_next(f->k->kv, LVAT_DB_KERNEL, "v9.c.", 5, true,
                                "v9.c.", 5, &key, &val));
    assert_true(in_overlay(f, kp));
    end_crank(f, false);
    assert_false(in_overlay(f, kp));
    assert_true(lvat__clb_changed(f->k));
    assert_listed(f, kp, vp);
    kf_commit_and_reopen(f);
    assert_listed(f, kp, vp);
}

/* An export marked unreachable while in memory keeps the mark (and an
 * aborted mark is undone). */
static void
test_clist_block_reach_change_is_written(void **state)
{
    kf *f = *state;
    lvat_vref o = lvat_vref_make(false, true, 5);
    lvat_kref ko;
    bool reach = true;
    char key[64], *v;

    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_from_vat(f->k, &g_vat, o, &ko));
    end_crank(f, true);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_mark_unreachable(f->k, VAT, ko));
    end_crank(f, false);
    assert_lvat_ok(lvat__clist_lookup_k(f->k, VAT, ko, &o, &reach));
    assert_true(reach);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_mark_unreachable(f->k, VAT, ko));
    end_crank(f, true);
    assert_lvat_ok(lvat__clist_lookup_k(f->k, VAT, ko, &o, &reach));
    assert_false(reach);
    kf_commit_and_reopen(f);
    snprintf(key, sizeof key, "v%u.c.ko%llu", VAT,
             (unsigned long long)lvat_kref_num(ko));
    v = kf_get(f, key);
    assert_string_equal(v, "_ o+5");
    free(v);
}

/* Whether the overlay holds the pair's vref key. */
static bool
v_in_overlay(kf *f, lvat_vref v)
{
    lvat_key key;

    lvat_key_clist_v(&key, VAT, v);
    return kf_in_block(f, key.b, key.n);
}

/* A block write that runs out of memory between a pair's two puts leaves
 * no half pair behind, whichever allocation fails: a crank before the
 * retry may retire the pair, and a lone kref key would then be written
 * (found by a helper's review). */
static void
test_clist_block_failed_flush_leaves_no_half_pair(void **state)
{
    kf *f = *state;
    lvat_vref vp;
    lvat_kref kp = import_promise(f, &vp, true);
    lvat_errbuf err;
    char key[64];
    int rc = LVAT_ENOMEM;

    for (unsigned long n = 1; n < 100 && rc != LVAT_OK; n++) {
        lvat_alloc_fail_after(n, 0);
        rc = lvat_kv_block_commit(f->k->kv, &err);
        lvat_alloc_fail_after(0, 0);
        if (rc != LVAT_OK && lvat__clb_changed(f->k))
            assert_int_equal(in_overlay(f, kp), v_in_overlay(f, vp));
    }
    assert_lvat_ok(rc);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__clist_remove(f->k, VAT, kp));
    end_crank(f, true);
    kf_commit_and_reopen(f);
    snprintf(key, sizeof key, "v%u.c.kp%llu", VAT,
             (unsigned long long)lvat_kref_num(kp));
    assert_null(kf_get(f, key));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_clist_block_pair_born_and_retired_is_never_a_key,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_clist_block_abort_undoes_add_and_remove, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_clist_block_abort_after_a_flush,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_clist_block_reach_change_is_written, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_clist_block_failed_flush_leaves_no_half_pair, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
