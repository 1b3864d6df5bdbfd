/*
 * The run queue's block state (host/runq_block.c) against the overlay it
 * stands in front of: a block write that fails half way leaves what it
 * wrote in the overlay, where a crank before the retry pops it (and
 * deletes it); a notify merged into an item an earlier crank pushed is
 * undone by the crank's abort, and joins grow the tail in place up to
 * the limit; items popped in a long block do not stay
 * in memory, and an abort after they went still restores the queue.
 * Real kernel, no vats.
 */
#include "lvat_test.h"

#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"

static void
push_start(kf *f, uint32_t vat)
{
    lvat_item it;

    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_START;
    it.vat = vat;
    assert_lvat_ok(lvat__runq_push(f->k, &it));
}

static bool
in_overlay(kf *f, uint64_t n)
{
    lvat_key key;
    lvat_val v;

    lvat_key_runq_item(&key, n);
    return lvat_kv_get(f->k->kv, LVAT_DB_KERNEL, key.b, key.n, &v) ==
           LVAT_OK;
}

static void
pop_in_crank(kf *f, lvat_item *it)
{
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__runq_pop(f->k, it));
    lvat_kv_crank_commit(f->k->kv);
}

static void
test_runq_block_half_written_block_pops_from_overlay(void **state)
{
    kf *f = *state;
    uint64_t head, tail, first;
    lvat_errbuf err;
    lvat_item it;
    unsigned long n;

    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &first));
    lvat_kv_crank_begin(f->k->kv);
    for (uint32_t i = 1; i <= 3; i++)
        push_start(f, i);
    lvat_kv_crank_commit(f->k->kv);
    /* Fail allocations later and later until the write stops half way:
     * the first item in the overlay, the others still in memory. */
    for (n = 1; n < 100; n++) {
        int rc;
        lvat_alloc_fail_after(n, 0);
        rc = lvat_kv_block_commit(f->k->kv, &err);
        lvat_alloc_fail_after(0, 0);
        assert_int_not_equal(rc, LVAT_OK);
        if (in_overlay(f, first) && !in_overlay(f, first + 2))
            break;
    }
    assert_true(n < 100);
    pop_in_crank(f, &it);
    assert_int_equal(it.vat, 1);
    lvat__item_free(&it);
    assert_false(in_overlay(f, first)); /* popped from there */
    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
    kf_reopen(f);
    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &tail));
    assert_int_equal(head, first + 1);
    assert_int_equal(tail, first + 3);
    assert_int_equal(kf_count(f, LVAT_DB_KERNEL, "queue.run."), 2);
    for (uint32_t i = 2; i <= 3; i++) {
        pop_in_crank(f, &it);
        assert_int_equal(it.vat, i);
        lvat__item_free(&it);
    }
}

static void
test_runq_block_abort_undoes_a_merge(void **state)
{
    kf *f = *state;
    uint64_t head, tail;
    size_t bytes, len;
    const char *p;
    lvat_item it, got;
    lvat_errbuf err;

    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_NOTIFY;
    it.vat = 1;
    it.kp = lvat_kref_promise(7);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__runq_push(f->k, &it));
    lvat_kv_crank_commit(f->k->kv);
    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &tail));
    bytes = lvat__runq_bytes(f->k);
    /* A later crank joins kp8 to that item, then aborts. */
    lvat_kv_crank_begin(f->k->kv);
    it.kp = lvat_kref_promise(8);
    assert_lvat_ok(lvat__runq_push(f->k, &it));
    assert_true(lvat__runq_mem_item(f->k, tail - 1, &p, &len));
    assert_int_equal(len, strlen("n v1 kp7 kp8"));
    lvat_kv_crank_abort(f->k->kv);
    assert_true(lvat__runq_mem_item(f->k, tail - 1, &p, &len));
    assert_int_equal(len, strlen("n v1 kp7"));
    assert_memory_equal(p, "n v1 kp7", len);
    assert_int_equal(lvat__runq_bytes(f->k), bytes);
    /* Joined again and kept, it pops as one notify of both. */
    lvat_kv_crank_begin(f->k->kv);
    it.kp = lvat_kref_promise(9);
    assert_lvat_ok(lvat__runq_push(f->k, &it));
    lvat_kv_crank_commit(f->k->kv);
    pop_in_crank(f, &got);
    assert_int_equal(got.nmore, 1);
    assert_true(lvat_kref_eq(got.more[0], lvat_kref_promise(9)));
    lvat__item_free(&got);
    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
}

/* A long block of cranks that each push one item and pop one: memory
 * holds the few items not yet popped, not every item the block ran; an
 * aborted pop after the popped ones went gives its item back; the block
 * writes what is still queued, in order. */
static void
test_runq_block_long_block_lets_popped_items_go(void **state)
{
    kf *f = *state;
    uint64_t head, tail, first;
    size_t bytes;
    lvat_errbuf err;
    lvat_item it;

    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &first));
    lvat_kv_crank_begin(f->k->kv);
    push_start(f, 1);
    push_start(f, 2);
    lvat_kv_crank_commit(f->k->kv);
    bytes = lvat__runq_bytes(f->k);
    for (uint32_t i = 3; i < 10003; i++) {
        lvat_kv_crank_begin(f->k->kv);
        assert_lvat_ok(lvat__runq_pop(f->k, &it));
        assert_int_equal(it.vat, i - 2);
        lvat__item_free(&it);
        push_start(f, i);
        lvat_kv_crank_commit(f->k->kv);
    }
    assert_true(lvat__runq_bytes(f->k) <= 200 * bytes);
    lvat_kv_crank_begin(f->k->kv);
    assert_lvat_ok(lvat__runq_pop(f->k, &it));
    assert_int_equal(it.vat, 10001);
    lvat__item_free(&it);
    lvat_kv_crank_abort(f->k->kv);
    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
    kf_reopen(f);
    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &tail));
    assert_int_equal(tail - head, 2);
    pop_in_crank(f, &it);
    assert_int_equal(it.vat, 10001);
    lvat__item_free(&it);
    pop_in_crank(f, &it);
    assert_int_equal(it.vat, 10002);
    lvat__item_free(&it);
}

/* Notifies to one vat join the block's tail item in place, one crank
 * each, up to LVAT_NOTIFY_MERGE promises: an aborted join, and a join
 * whose growth ran out of memory, leave the item as it was; the next
 * promise starts an item of its own. */
static void
test_runq_block_joins_grow_the_tail_in_place(void **state)
{
    kf *f = *state;
    uint64_t head, tail, first;
    lvat_item it, got;
    lvat_errbuf err;
    uint64_t kp = 1;
    size_t len, ngrown = 0;
    const char *p;
    int rc;

    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_NOTIFY;
    it.vat = 3;
    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &first));
    for (; kp <= LVAT_NOTIFY_MERGE + 2; kp++) { /* one aborted */
        size_t before = 0;
        it.kp = lvat_kref_promise(kp);
        lvat_kv_crank_begin(f->k->kv);
        if (kp == 40) { /* aborted: kp40 is not queued */
            assert_lvat_ok(lvat__runq_push(f->k, &it));
            lvat_kv_crank_abort(f->k->kv);
            continue;
        }
        if (kp > 1)
            assert_true(lvat__runq_mem_item(f->k, first, &p, &before));
        lvat_alloc_fail_after(1, 0);
        rc = lvat__runq_push(f->k, &it);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_ENOMEM) { /* a new item, or the item had to grow */
            ngrown += kp > 1;
            assert_int_equal(lvat__runq_mem_item(f->k, first, &p, &len),
                             kp > 1);
            assert_int_equal(kp > 1 ? len : 0, before);
            lvat_kv_crank_abort(f->k->kv);
            lvat_kv_crank_begin(f->k->kv);
            rc = lvat__runq_push(f->k, &it);
        }
        assert_lvat_ok(rc);
        lvat_kv_crank_commit(f->k->kv);
    }
    assert_true(ngrown >= 3);
    assert_lvat_ok(lvat__runq_ptrs(f->k, &head, &tail));
    assert_int_equal(tail, first + 2);
    assert_true(lvat__runq_mem_item(f->k, first, &p, &len));
    assert_memory_equal(p, "n v3 kp1 kp2 ", strlen("n v3 kp1 kp2 "));
    pop_in_crank(f, &got);
    assert_int_equal(got.nmore + 1, LVAT_NOTIFY_MERGE);
    for (uint32_t i = 0, want = 1; i <= got.nmore; i++, want++) {
        want += want == 40;
        assert_true(lvat_kref_eq(lvat__item_kp(&got, i),
                                 lvat_kref_promise(want)));
    }
    lvat__item_free(&got);
    pop_in_crank(f, &got);
    assert_int_equal(got.nmore, 0);
    assert_true(lvat_kref_eq(got.kp, lvat_kref_promise(LVAT_NOTIFY_MERGE +
                                                       2)));
    lvat__item_free(&got);
    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_runq_block_half_written_block_pops_from_overlay,
            kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_runq_block_abort_undoes_a_merge,
                                        kf_test_setup, kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_runq_block_joins_grow_the_tail_in_place, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(
            test_runq_block_long_block_lets_popped_items_go, kf_test_setup,
            kf_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
