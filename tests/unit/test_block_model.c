/*
 * What the kernel keeps in memory for the block (object records and
 * kref counters in counts.c, new c-list pairs in clist_block.c) against a
 * model, over random cranks: records made, changed and deleted, pairs
 * added, changed and retired, mid-crank flushes (lvat__block_flush and
 * ordered reads), crank aborts, block commits that fail and are thrown
 * away, and real commits.  After every crank each record and pair reads
 * as the model says, from memory, the overlay or the store.
 * Real kernel, no vats.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"

#define VAT   9
#define MAXO  4096
#define STEPS 2000

typedef struct mobj {
    bool present, paired, reach;
    uint64_t oreach, orecog;
} mobj;

typedef struct model {
    uint64_t first, next; /* object numbers: first made here, next */
    mobj o[MAXO];
} model;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
    return lvat_test_rnd(&rng, n);
}

static lvat_vref
vref_of(uint64_t n)
{
    return lvat_vref_make(false, true, n);
}

static lvat_kref
ko_of(uint64_t n)
{
    return lvat_kref_object(n);
}

/* ---- Checks ---- */

static void
check_object(kf *f, const model *m, uint64_t n)
{
    const mobj *o = &m->o[n - m->first];
    lvat_kobj ko;
    int rc = lvat__ko_get(f->k, ko_of(n), &ko);

    if (!o->present) {
        if (rc != LVAT_ENOTFOUND)
            fail_msg("ko%llu: want absent, got %d", (unsigned long long)n, rc);
        return;
    }
    assert_lvat_ok(rc);
    assert_int_equal(ko.reach, o->oreach);
    assert_int_equal(ko.recog, o->orecog);
}

static void
check_pair(kf *f, const model *m, uint64_t n)
{
    const mobj *o = &m->o[n - m->first];
    lvat_vref v;
    lvat_kref r;
    bool reach;
    int rc = lvat__clist_lookup_k(f->k, VAT, ko_of(n), &v, &reach);
    int rv = lvat__clist_lookup_v(f->k, VAT, vref_of(n), &r);

    if (!o->paired) {
        if (rc != LVAT_ENOTFOUND || rv != LVAT_ENOTFOUND)
            fail_msg("ko%llu: want no pair, got %d %d", (unsigned long long)n,
                     rc, rv);
        return;
    }
    assert_lvat_ok(rc);
    assert_lvat_ok(rv);
    assert_true(lvat_vref_eq(v, vref_of(n)));
    assert_true(lvat_kref_eq(r, ko_of(n)));
    assert_int_equal(reach, o->reach);
}

static void
check_all(kf *f, const model *m)
{
    uint64_t next;

    for (uint64_t n = m->first; n < m->next; n++) {
        check_object(f, m, n);
        check_pair(f, m, n);
    }
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kref_number(f->k, false, &next));
    lvat_kv_crank_abort(f->k->kv);
    assert_int_equal(next, m->next);
}

/* ---- Steps ---- */

static void
make_object(kf *f, model *m)
{
    lvat_kref ko;

    if (m->next - m->first >= MAXO)
        return;
    assert_lvat_ok(lvat__ko_new(f->k, 1, &ko));
    assert_int_equal(lvat_kref_num(ko), m->next);
    memset(&m->o[m->next - m->first], 0, sizeof(mobj));
    m->o[m->next - m->first].present = true;
    m->next++;
}

static void
change_object(kf *f, mobj *o, uint64_t n)
{
    lvat_kobj ko = {1, false, rnd(5), rnd(5)};

    if (rnd(4) == 0) {
        assert_lvat_ok(lvat__ko_delete(f->k, ko_of(n)));
        o->present = false;
        return;
    }
    assert_lvat_ok(lvat__ko_put(f->k, ko_of(n), &ko));
    o->present = true;
    o->oreach = ko.reach;
    o->orecog = ko.recog;
}

/* As clist.c's put_pair and del_pair do it. */
static void
change_pair(kf *f, mobj *o, uint64_t n)
{
    lvat_key key;
    bool reach = rnd(2);
    int rc;

    if (!o->paired) {
        assert_lvat_ok(lvat__clb_add(f->k, VAT, ko_of(n), vref_of(n), reach));
    } else if (rnd(2)) {
        rc = lvat__clb_set_reach(f->k, VAT, ko_of(n), reach);
        if (rc == LVAT_ENOTFOUND)
            rc = lvat__clist_write(f->k, VAT, ko_of(n), vref_of(n), reach, 0);
        assert_lvat_ok(rc);
    } else {
        rc = lvat__clb_remove(f->k, VAT, ko_of(n));
        if (rc == LVAT_ENOTFOUND) {
            lvat_key_clist_k(&key, VAT, ko_of(n));
            assert_lvat_ok(lvat_kv_del(f->k->kv, LVAT_DB_KERNEL, key.b, key.n));
            lvat_key_clist_v(&key, VAT, vref_of(n));
            rc = lvat_kv_del(f->k->kv, LVAT_DB_KERNEL, key.b, key.n);
        }
        assert_lvat_ok(rc);
        o->paired = false;
        o->present = o->present; /* the record stays */
        return;
    }
    o->paired = true;
    o->reach = reach;
}

static void
scan(kf *f)
{
    lvat_val key, val;
    int rc = lvat_kv_next(f->k->kv, LVAT_DB_KERNEL, "c", 1, true, "c", 1,
                          &key, &val);

    assert_true(rc == LVAT_OK || rc == LVAT_ENOTFOUND);
}

static void
one_crank(kf *f, model *m, model *save)
{
    unsigned n = 1 + rnd(rnd(10) == 0 ? 200 : 8);

    memcpy(save, m, sizeof *m);
    lvat_kv_crank_begin(f->k->kv);
    for (unsigned i = 0; i < n; i++) {
        unsigned what = rnd(20);
        uint64_t num;
        if (what < 4 || m->next == m->first) {
            make_object(f, m);
            continue;
        }
        num = m->first + rnd((unsigned)(m->next - m->first));
        if (what < 10)
            change_object(f, &m->o[num - m->first], num);
        else if (what < 18)
            change_pair(f, &m->o[num - m->first], num);
        else if (what == 18)
            assert_lvat_ok(lvat__block_flush(f->k));
        else
            scan(f);
    }
    if (rnd(3) == 0) {
        lvat_kv_crank_abort(f->k->kv);
        memcpy(m, save, sizeof *m);
    } else {
        lvat_kv_crank_commit(f->k->kv);
    }
}

static void
end_block(kf *f, model *m, model *lmdb)
{
    lvat_errbuf err;

    if (rnd(3) == 0) {
        lvat_kv_fail_commits(f->k->kv, LVAT_ETXNFULL, 1);
        if (lvat_kv_block_commit(f->k->kv, &err) == LVAT_OK)
            lvat_kv_fail_commits(f->k->kv, 0, 0);
        lvat_kv_block_abort(f->k->kv);
        memcpy(m, lmdb, sizeof *m);
        return;
    }
    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
    memcpy(lmdb, m, sizeof *m);
}

static void
test_block_model_random(void **state)
{
    kf *f = *state;
    model *m = calloc(3, sizeof *m);
    uint64_t first;

    assert_non_null(m);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__kref_number(f->k, false, &first));
    lvat_kv_crank_abort(f->k->kv);
    m[0].first = m[0].next = first;
    memcpy(&m[2], &m[0], sizeof *m);
    for (unsigned step = 0; step < STEPS; step++) {
        one_crank(f, &m[0], &m[1]);
        check_all(f, &m[0]);
        if (rnd(20) == 0) {
            end_block(f, &m[0], &m[2]);
            check_all(f, &m[0]);
        }
    }
    end_block(f, &m[0], &m[2]);
    kf_commit_and_reopen(f);
    memcpy(&m[0], &m[2], sizeof *m);
    check_all(f, &m[0]);
    free(m);
}

static int
setup(void **state)
{
    return kf_test_setup(state);
}

static int
teardown(void **state)
{
    return kf_test_teardown(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_block_model_random, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("block_model", tests, NULL, NULL);
}
