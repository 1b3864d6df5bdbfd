/*
 * The kv view against real LMDB in a temporary directory: point reads and
 * writes through the block overlay and after commit and reopen, crank
 * commit and abort, keys born and deleted in one block, the lifetime of
 * values deleted inside a crank, what a crank's writes hold, key limits
 * and binary data, and allocation failures.  Ordered access is in
 * test_kv_iter.c; map growth and read-only views are in test_store.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <malloc.h>

#include "alloc.h"
#include "kv.h"
#include "kv_int.h" /* the commit's sort */
#include "lvat_test.h"
#include "slab.h"
#include "store.h"

typedef struct fixture {
    char *dir;
    lvat_store *store;
    lvat_kv *kv;
} fixture;

/* ---- Helpers ---- */

static void
open_kv(fixture *f)
{
    lvat_store_config cfg;
    lvat_errbuf err;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = f->dir;
    cfg.sync = LVAT_STORE_NOSYNC;
    assert_lvat_ok(lvat_store_open(&cfg, &f->store, &err));
    assert_lvat_ok(lvat_kv_new(f->store, &f->kv, &err));
}

static void
close_kv(fixture *f)
{
    lvat_kv_free(f->kv);
    lvat_store_close(f->store);
    f->kv = NULL;
    f->store = NULL;
}

static void
reopen(fixture *f)
{
    close_kv(f);
    open_kv(f);
}

static void
put(lvat_kv *kv, lvat_dbid db, const char *k, const char *v)
{
    assert_lvat_ok(lvat_kv_put(kv, db, k, strlen(k), v, strlen(v), 0));
}

static void
del(lvat_kv *kv, lvat_dbid db, const char *k)
{
    assert_lvat_ok(lvat_kv_del(kv, db, k, strlen(k)));
}

/* Checks a read's outcome against `want` (NULL = absent). */
static void
check_read(int rc, const lvat_val *v, const char *want)
{
    if (want == NULL) {
        assert_lvat_rc(rc, LVAT_ENOTFOUND);
        return;
    }
    assert_lvat_ok(rc);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(v->p, want, v->len);
}

/* Checks that `k` reads as `want` (NULL = absent). */
static void
expect(lvat_kv *kv, lvat_dbid db, const char *k, const char *want)
{
    lvat_val v;
    int rc = lvat_kv_get(kv, db, k, strlen(k), &v);

    check_read(rc, &v, want);
}

static void
commit(lvat_kv *kv)
{
    lvat_errbuf err;
    int rc = lvat_kv_block_commit(kv, &err);

    if (rc != LVAT_OK)
        print_error("block commit: %s\n", err.msg);
    assert_lvat_ok(rc);
}

/* The id of the last committed LMDB write transaction (store closed). */
static size_t
last_txnid(const char *dir)
{
    MDB_env *env = NULL;
    MDB_envinfo info;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_env_info(env, &info), 0);
    mdb_env_close(env);
    return info.me_last_txnid;
}

/* ---- Fixture ---- */

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->dir = lvat_test_mkdtemp();
    open_kv(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    lvat_alloc_fail_after(0, 0);
    close_kv(f);
    lvat_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- Point access and blocks ---- */

static void
test_kv_put_get_del_in_overlay(void **state)
{
    fixture *f = *state;

    expect(f->kv, LVAT_DB_KERNEL, "a", NULL);
    put(f->kv, LVAT_DB_KERNEL, "a", "1");
    expect(f->kv, LVAT_DB_KERNEL, "a", "1");
    put(f->kv, LVAT_DB_KERNEL, "a", "22");
    expect(f->kv, LVAT_DB_KERNEL, "a", "22");
    put(f->kv, LVAT_DB_VATSTORE, "a", "other db");
    expect(f->kv, LVAT_DB_KERNEL, "a", "22");
    expect(f->kv, LVAT_DB_SOURCES, "a", NULL);
    del(f->kv, LVAT_DB_KERNEL, "a");
    expect(f->kv, LVAT_DB_KERNEL, "a", NULL);
    expect(f->kv, LVAT_DB_VATSTORE, "a", "other db");
    del(f->kv, LVAT_DB_KERNEL, "never-there");
    assert_lvat_rc(lvat_kv_put(f->kv, LVAT_DB_COUNT, "a", 1, "x", 1, 0),
                   LVAT_EINVAL);
}

static void
test_kv_block_commit_survives_reopen(void **state)
{
    fixture *f = *state;

    put(f->kv, LVAT_DB_KERNEL, "k1", "v1");
    put(f->kv, LVAT_DB_VATSTORE, "k1", "vat");
    put(f->kv, LVAT_DB_SOURCES, "hash", "print('hi')");
    put(f->kv, LVAT_DB_KERNEL, "gone", "soon");
    assert_int_equal(lvat_kv_block_entries(f->kv), 4);
    assert_true(lvat_kv_block_bytes(f->kv) > 0);
    commit(f->kv);
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    assert_int_equal(lvat_kv_block_bytes(f->kv), 0);
    expect(f->kv, LVAT_DB_KERNEL, "k1", "v1"); /* now read from LMDB */
    del(f->kv, LVAT_DB_KERNEL, "gone");
    put(f->kv, LVAT_DB_KERNEL, "k1", "v1'");
    commit(f->kv);

    reopen(f);
    expect(f->kv, LVAT_DB_KERNEL, "k1", "v1'");
    expect(f->kv, LVAT_DB_VATSTORE, "k1", "vat");
    expect(f->kv, LVAT_DB_SOURCES, "hash", "print('hi')");
    expect(f->kv, LVAT_DB_KERNEL, "gone", NULL);
    commit(f->kv); /* an empty block is fine */
}

/* Checks what lvat_kv_get_pending says of `k` (NULL = not in the block). */
static void
expect_pending(lvat_kv *kv, const char *k, const char *want)
{
    lvat_val v;
    int rc = lvat_kv_get_pending(kv, LVAT_DB_KERNEL, k, strlen(k), &v);

    check_read(rc, &v, want);
}

static void
test_kv_pending_reads_and_epochs(void **state)
{
    fixture *f = *state;
    uint64_t e0 = lvat_kv_epoch(f->kv), e1;
    lvat_val v;

    put(f->kv, LVAT_DB_KERNEL, "stored", "1");
    expect_pending(f->kv, "stored", "1");
    assert_true(lvat_kv_epoch(f->kv) == e0);
    commit(f->kv);
    e1 = lvat_kv_epoch(f->kv);
    assert_true(e1 != e0);
    expect_pending(f->kv, "stored", NULL); /* only LMDB has it now */
    expect(f->kv, LVAT_DB_KERNEL, "stored", "1");
    put(f->kv, LVAT_DB_KERNEL, "new", "2");
    expect_pending(f->kv, "new", "2");
    del(f->kv, LVAT_DB_KERNEL, "stored");
    expect_pending(f->kv, "stored", NULL);
    put(f->kv, LVAT_DB_KERNEL, "stored", "3");
    expect_pending(f->kv, "stored", "3");
    assert_lvat_rc(lvat_kv_get_pending(f->kv, LVAT_DB_COUNT, "a", 1, &v),
                   LVAT_EINVAL);
    assert_lvat_rc(lvat_kv_get_pending(f->kv, LVAT_DB_KERNEL, "", 0, &v),
                   LVAT_ENOTFOUND);
    assert_true(lvat_kv_epoch(f->kv) == e1);
    lvat_kv_block_abort(f->kv);
    assert_true(lvat_kv_epoch(f->kv) != e1);
    expect_pending(f->kv, "new", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "stored", "1");
}

/* LMDB's answers are cached for the read snapshot (kv_rcache.c): each
 * read here would see a stale answer if a commit or an abort left one. */
static void
test_kv_read_cache_follows_commits(void **state)
{
    fixture *f = *state;
    char longkey[80];

    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    put(f->kv, LVAT_DB_KERNEL, "a", "1");
    put(f->kv, LVAT_DB_KERNEL, longkey, "long");
    commit(f->kv);
    for (int i = 0; i < 2; i++) { /* LMDB, then the cache */
        expect(f->kv, LVAT_DB_KERNEL, "a", "1");
        expect(f->kv, LVAT_DB_KERNEL, "none", NULL);
        expect(f->kv, LVAT_DB_VATSTORE, "a", NULL);
        expect(f->kv, LVAT_DB_KERNEL, longkey, "long");
    }
    put(f->kv, LVAT_DB_KERNEL, "a", "2");
    put(f->kv, LVAT_DB_KERNEL, "none", "now");
    expect(f->kv, LVAT_DB_KERNEL, "a", "2");
    expect(f->kv, LVAT_DB_KERNEL, "none", "now");
    lvat_kv_block_abort(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "a", "1");
    expect(f->kv, LVAT_DB_KERNEL, "none", NULL);
    put(f->kv, LVAT_DB_KERNEL, "a", "3");
    put(f->kv, LVAT_DB_KERNEL, "none", "now");
    del(f->kv, LVAT_DB_KERNEL, longkey);
    commit(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "a", "3");
    expect(f->kv, LVAT_DB_KERNEL, "none", "now");
    expect(f->kv, LVAT_DB_KERNEL, longkey, NULL);
    del(f->kv, LVAT_DB_KERNEL, "a");
    commit(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "a", NULL);
}

/* Key i of the commit test: families sharing 0, 5 and 20 bytes, with
 * bytes 0x00 and 0xff, so the commit's sort meets ties past its 16 sort
 * bytes and keys that start other keys. */
static size_t
commit_key(int i, char *k)
{
    static const char *const fam[] = {"", "v12.c", "v12.c.kp123456789012345"};
    size_t n = (size_t)sprintf(k, "%s%d", fam[i % 3], i / 3);

    if (i % 5 == 0)
        k[n++] = '\0';
    if (i % 7 == 0)
        k[n++] = (char)0xff;
    return n;
}

static void
expect_commit_key(lvat_kv *kv, int i, int want)
{
    char k[64], v[16];
    size_t kl = commit_key(i, k);
    lvat_val got;
    int rc = lvat_kv_get(kv, (lvat_dbid)(i % LVAT_DB_COUNT), k, kl, &got);

    sprintf(v, "%d", want);
    check_read(rc, &got, want < 0 ? NULL : v);
}

/* Every key of a block reaches LMDB once, whatever its bytes. */
static void
test_kv_commit_writes_every_key(void **state)
{
    fixture *f = *state;
    enum { N = 97 * 3 * 2 };
    char k[64], v[16];

    for (int i = 0; i < N; i++) {
        size_t kl = commit_key(i, k);
        lvat_dbid db = (lvat_dbid)(i % LVAT_DB_COUNT);
        assert_lvat_ok(lvat_kv_put(f->kv, db, k, kl, v,
                                   (size_t)sprintf(v, "%d", i), 0));
    }
    commit(f->kv);
    for (int i = 0; i < N; i += 2) { /* rewrite, delete or keep */
        size_t kl = commit_key(i, k);
        lvat_dbid db = (lvat_dbid)(i % LVAT_DB_COUNT);
        if (i % 4 == 0)
            assert_lvat_ok(lvat_kv_put(f->kv, db, k, kl, v,
                                       (size_t)sprintf(v, "%d", i + N), 0));
        else
            assert_lvat_ok(lvat_kv_del(f->kv, db, k, kl));
    }
    commit(f->kv);
    reopen(f);
    for (int i = 0; i < N; i++)
        expect_commit_key(f->kv, i, i % 2 ? i : i % 4 == 0 ? i + N : -1);
}

/* The commit writes in key order (kv_sort.c) and leaves out keys born and
 * deleted in the block: checked on the sorted array itself, since LMDB
 * would take any order. */
static void
test_kv_commit_sort_order(void **state)
{
    fixture *f = *state;
    lvat_kv_entry **v;
    char k[64];
    size_t n, kl;

    for (int i = 0; i < 600; i++) {
        kl = commit_key(i * 7 % 600, k);
        assert_lvat_ok(lvat_kv_put(f->kv, (lvat_dbid)(i % LVAT_DB_COUNT), k,
                                   kl, "x", 1, i % 4 == 0 ? LVAT_KV_NEW : 0));
    }
    for (int i = 0; i < 600; i += 4) { /* born and gone: nothing to write */
        kl = commit_key(i * 7 % 600, k);
        assert_lvat_ok(
            lvat_kv_del(f->kv, (lvat_dbid)(i % LVAT_DB_COUNT), k, kl));
    }
    n = lvat__kv_sorted_writes(f->kv, &v);
    assert_non_null(v);
    assert_int_equal(n, 450);
    for (size_t i = 0; i + 1 < n; i++)
        assert_true(lvat__kv_entry_cmp(v[i], v[i + 1]) < 0);
    for (size_t i = 0; i < n; i++)
        assert_non_null(v[i]->val);
    lvat_free(v);
}

static void
test_kv_block_abort_discards(void **state)
{
    fixture *f = *state;

    put(f->kv, LVAT_DB_KERNEL, "kept", "old");
    commit(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "kept", "new");
    put(f->kv, LVAT_DB_KERNEL, "fresh", "x");
    lvat_kv_block_abort(f->kv);
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    expect(f->kv, LVAT_DB_KERNEL, "kept", "old");
    expect(f->kv, LVAT_DB_KERNEL, "fresh", NULL);
}

/* A block state with a value in LMDB, in the overlay, and a tombstone. */
static void
crank_fixture(lvat_kv *kv)
{
    put(kv, LVAT_DB_KERNEL, "lmdb", "L0");
    put(kv, LVAT_DB_KERNEL, "lmdb2", "M0");
    put(kv, LVAT_DB_KERNEL, "dead", "D0");
    commit(kv);
    put(kv, LVAT_DB_KERNEL, "over", "O1");
    put(kv, LVAT_DB_KERNEL, "lmdb2", "M1");
    del(kv, LVAT_DB_KERNEL, "dead");
}

static void
expect_crank_fixture(lvat_kv *kv)
{
    expect(kv, LVAT_DB_KERNEL, "lmdb", "L0");
    expect(kv, LVAT_DB_KERNEL, "lmdb2", "M1");
    expect(kv, LVAT_DB_KERNEL, "dead", NULL);
    expect(kv, LVAT_DB_KERNEL, "over", "O1");
    expect(kv, LVAT_DB_KERNEL, "born", NULL);
    expect(kv, LVAT_DB_KERNEL, "flash", NULL);
}

static void
test_kv_crank_abort_restores_block(void **state)
{
    fixture *f = *state;
    size_t entries, bytes;

    crank_fixture(f->kv);
    entries = lvat_kv_block_entries(f->kv);
    bytes = lvat_kv_block_bytes(f->kv);
    lvat_kv_crank_begin(f->kv);
    assert_true(lvat_kv_in_crank(f->kv));
    put(f->kv, LVAT_DB_KERNEL, "born", "B");  /* created */
    put(f->kv, LVAT_DB_KERNEL, "lmdb", "L1"); /* LMDB, twice */
    put(f->kv, LVAT_DB_KERNEL, "lmdb", "L2");
    put(f->kv, LVAT_DB_KERNEL, "over", "O2"); /* overlay, twice */
    put(f->kv, LVAT_DB_KERNEL, "over", "O3");
    del(f->kv, LVAT_DB_KERNEL, "lmdb2");           /* deleted */
    put(f->kv, LVAT_DB_KERNEL, "dead", "revived"); /* tombstone filled */
    put(f->kv, LVAT_DB_KERNEL, "flash", "F");      /* born and deleted */
    del(f->kv, LVAT_DB_KERNEL, "flash");
    expect(f->kv, LVAT_DB_KERNEL, "lmdb", "L2");
    expect(f->kv, LVAT_DB_KERNEL, "lmdb2", NULL);
    lvat_kv_crank_abort(f->kv);
    assert_false(lvat_kv_in_crank(f->kv));

    expect_crank_fixture(f->kv);
    assert_int_equal(lvat_kv_block_entries(f->kv), entries);
    assert_int_equal(lvat_kv_block_bytes(f->kv), bytes);
    commit(f->kv);
    reopen(f);
    expect_crank_fixture(f->kv);
}

static void
test_kv_crank_commit_then_block_abort(void **state)
{
    fixture *f = *state;
    lvat_errbuf err;

    put(f->kv, LVAT_DB_KERNEL, "lmdb", "L0");
    commit(f->kv);
    lvat_kv_crank_begin(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "lmdb", "L1");
    put(f->kv, LVAT_DB_KERNEL, "born", "B");
    lvat_kv_crank_commit(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "lmdb", "L1");
    lvat_kv_crank_begin(f->kv);
    del(f->kv, LVAT_DB_KERNEL, "born");
    lvat_kv_crank_commit(f->kv);
    lvat_kv_crank_begin(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "other", "O");
    assert_lvat_rc(lvat_kv_block_commit(f->kv, &err), LVAT_ESTATE);
    lvat_kv_block_abort(f->kv); /* aborts the open crank too */
    assert_false(lvat_kv_in_crank(f->kv));
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    expect(f->kv, LVAT_DB_KERNEL, "lmdb", "L0");
    expect(f->kv, LVAT_DB_KERNEL, "born", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "other", NULL);
}

/* The crank generation is 32 bits and moves twice a crank, so a kernel
 * doing 300k cranks a second wraps it in about two hours.  A crank that
 * ran as generation 0 matched every entry not yet touched by a crank
 * (fresh ones, and those written outside any crank) and kept no undo
 * record for them: its abort left its writes in the block. */
static void
test_kv_crank_abort_after_gen_wraps(void **state)
{
    fixture *f = *state;

    put(f->kv, LVAT_DB_KERNEL, "pre", "P0"); /* outside any crank */
    f->kv->gen = UINT32_MAX;
    lvat_kv_crank_begin(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "born", "B");
    put(f->kv, LVAT_DB_KERNEL, "pre", "P1");
    lvat_kv_crank_abort(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "born", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "pre", "P0");
    assert_int_equal(lvat_kv_block_entries(f->kv), 1);
}

static void
test_kv_new_key_deleted_never_reaches_lmdb(void **state)
{
    fixture *f = *state;
    size_t before;

    put(f->kv, LVAT_DB_KERNEL, "base", "b");
    commit(f->kv);
    close_kv(f);
    before = last_txnid(f->dir);
    open_kv(f);

    /* Across cranks, inside one crank, and outside any crank. */
    lvat_kv_crank_begin(f->kv);
    assert_lvat_ok(
        lvat_kv_put(f->kv, LVAT_DB_KERNEL, "q.1", 3, "x", 1, LVAT_KV_NEW));
    assert_lvat_ok(
        lvat_kv_put(f->kv, LVAT_DB_KERNEL, "q.2", 3, "y", 1, LVAT_KV_NEW));
    del(f->kv, LVAT_DB_KERNEL, "q.2");
    lvat_kv_crank_commit(f->kv);
    assert_int_equal(lvat_kv_block_entries(f->kv), 1);
    lvat_kv_crank_begin(f->kv);
    del(f->kv, LVAT_DB_KERNEL, "q.1");
    assert_int_equal(lvat_kv_block_entries(f->kv), 1); /* until it ends */
    lvat_kv_crank_commit(f->kv);
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    assert_int_equal(lvat_kv_block_bytes(f->kv), 0);
    assert_lvat_ok(
        lvat_kv_put(f->kv, LVAT_DB_KERNEL, "q.3", 3, "z", 1, LVAT_KV_NEW));
    del(f->kv, LVAT_DB_KERNEL, "q.3");
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    expect(f->kv, LVAT_DB_KERNEL, "q.1", NULL);
    commit(f->kv);
    close_kv(f);
    assert_int_equal(last_txnid(f->dir), before); /* nothing was written */

    /* Without LVAT_KV_NEW the key may be in LMDB, so a tombstone stays
     * (and deleting an absent key at commit is harmless). */
    open_kv(f);
    put(f->kv, LVAT_DB_KERNEL, "q.4", "w");
    del(f->kv, LVAT_DB_KERNEL, "q.4");
    assert_int_equal(lvat_kv_block_entries(f->kv), 1);
    commit(f->kv);
    reopen(f);
    expect(f->kv, LVAT_DB_KERNEL, "q.1", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "base", "b");
}

static void
test_kv_new_key_survives_aborted_delete(void **state)
{
    fixture *f = *state;

    assert_lvat_ok(
        lvat_kv_put(f->kv, LVAT_DB_KERNEL, "q.1", 3, "x", 1, LVAT_KV_NEW));
    lvat_kv_crank_begin(f->kv);
    del(f->kv, LVAT_DB_KERNEL, "q.1");
    lvat_kv_crank_abort(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "q.1", "x");
    commit(f->kv);
    reopen(f);
    expect(f->kv, LVAT_DB_KERNEL, "q.1", "x");
}

/* lvat_kv_crank_bytes follows what the crank's writes hold, per db: an
 * entry, an undo record and a value for a new key; the growth of a rewrite
 * of the crank's own value; the record of a delete (the deleted value
 * stays until the crank ends); nothing outside a crank. */
static void
test_kv_crank_bytes_follow_what_the_crank_holds(void **state)
{
    fixture *f = *state;
    const lvat_dbid vs = LVAT_DB_VATSTORE;
    const size_t entry = sizeof(lvat_kv_entry), undo = sizeof(lvat_kv_undo);
    const size_t dead = sizeof(struct lvat_kv_dead);
    size_t want;

    put(f->kv, vs, "lmdb", "L0");
    commit(f->kv);
    put(f->kv, vs, "over", "O0");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), 0);
    lvat_kv_crank_begin(f->kv);
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), 0);
    put(f->kv, vs, "a", "xyz");
    want = entry + 2 + undo + 4;
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want);
    for (int i = 0; i < 1000; i++) /* the same size: no growth */
        put(f->kv, vs, "a", i % 2 ? "abc" : "def");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want);
    put(f->kv, vs, "a", "xy");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want -= 1);
    put(f->kv, LVAT_DB_KERNEL, "k", "other db");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want);
    put(f->kv, vs, "over", "O1"); /* the block's O0 was held already */
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want += undo + 3);
    del(f->kv, vs, "a"); /* "xy" stays until the crank ends */
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want += dead);
    put(f->kv, vs, "a", "again");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want += 6);
    del(f->kv, vs, "lmdb"); /* a tombstone over LMDB's value */
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), want += entry + 5 + undo);
    lvat_kv_crank_abort(f->kv);
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), 0);
    lvat_kv_crank_begin(f->kv);
    put(f->kv, vs, "over", "O2");
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), undo + 3);
    lvat_kv_crank_commit(f->kv);
    assert_int_equal(lvat_kv_crank_bytes(f->kv, vs), 0);
    assert_int_equal(lvat_kv_crank_bytes(f->kv, LVAT_DB_KERNEL), 0);
}

/* get, then delete, then write other keys: the old pointer must hold. */
static void
check_deleted_readable(lvat_kv *kv, const char *key, const char *want)
{
    lvat_val v;
    char other[32];

    assert_lvat_ok(lvat_kv_get(kv, LVAT_DB_KERNEL, key, strlen(key), &v));
    del(kv, LVAT_DB_KERNEL, key);
    for (int i = 0; i < 300; i++) {
        snprintf(other, sizeof other, "%s.other.%d", key, i);
        put(kv, LVAT_DB_KERNEL, other, "some other value of similar size");
    }
    expect(kv, LVAT_DB_KERNEL, key, NULL);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.p, want, v.len);
}

static void
test_kv_deleted_value_readable_until_crank_end(void **state)
{
    fixture *f = *state;

    put(f->kv, LVAT_DB_KERNEL, "queue.run.1", "in LMDB");
    commit(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "queue.run.2", "earlier in the block");
    lvat_kv_crank_begin(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "queue.run.3", "earlier in this crank");
    put(f->kv, LVAT_DB_KERNEL, "queue.run.4", "first");
    put(f->kv, LVAT_DB_KERNEL, "queue.run.4", "overwritten in this crank");
    check_deleted_readable(f->kv, "queue.run.1", "in LMDB");
    check_deleted_readable(f->kv, "queue.run.2", "earlier in the block");
    check_deleted_readable(f->kv, "queue.run.3", "earlier in this crank");
    check_deleted_readable(f->kv, "queue.run.4", "overwritten in this crank");
    lvat_kv_crank_commit(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "queue.run.4", NULL);
    commit(f->kv);
    expect(f->kv, LVAT_DB_KERNEL, "queue.run.1", NULL);
}

/* ---- Keys and values ---- */

static void
test_kv_key_length_limits(void **state)
{
    fixture *f = *state;
    char key[513];
    lvat_val v;

    memset(key, 'k', sizeof key);
    assert_lvat_rc(lvat_kv_put(f->kv, LVAT_DB_KERNEL, key, 0, "v", 1, 0),
                   LVAT_EINVAL);
    assert_lvat_rc(lvat_kv_get(f->kv, LVAT_DB_KERNEL, key, 0, &v),
                   LVAT_ENOTFOUND);
    assert_lvat_rc(lvat_kv_put(f->kv, LVAT_DB_KERNEL, key, 512, "v", 1, 0),
                   LVAT_EINVAL);
    assert_lvat_rc(lvat_kv_get(f->kv, LVAT_DB_KERNEL, key, 512, &v),
                   LVAT_ENOTFOUND);
    assert_lvat_ok(lvat_kv_del(f->kv, LVAT_DB_KERNEL, key, 512));
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_KERNEL, key, 511, "max", 3, 0));
    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_KERNEL, key, 1, "", 0, 0));
    commit(f->kv);
    reopen(f);
    assert_lvat_ok(lvat_kv_get(f->kv, LVAT_DB_KERNEL, key, 511, &v));
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.p, "max", 3);
    assert_lvat_ok(lvat_kv_get(f->kv, LVAT_DB_KERNEL, key, 1, &v));
    assert_int_equal(v.len, 0);
    assert_lvat_rc(lvat_kv_get(f->kv, LVAT_DB_KERNEL, key, 510, &v),
                   LVAT_ENOTFOUND);
}

static void
test_kv_binary_keys_and_values(void **state)
{
    static const struct {
        const char *k, *v;
        size_t klen, vlen;
    } t[] = {{"v1\0baggage", "\0\xff\0body\0", 10, 9},
             {"v1\0", "two", 3, 3},
             {"v1", "", 2, 0},
             {"\0", "\0", 1, 1}};
    fixture *f = *state;
    lvat_val v;

    for (size_t i = 0; i < 4; i++)
        assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_VATSTORE, t[i].k, t[i].klen,
                                   t[i].v, t[i].vlen, 0));
    for (int pass = 0; pass < 2; pass++) { /* in the block, then in LMDB */
        for (size_t i = 0; i < 4; i++) {
            assert_lvat_ok(
                lvat_kv_get(f->kv, LVAT_DB_VATSTORE, t[i].k, t[i].klen, &v));
            assert_int_equal(v.len, t[i].vlen);
            assert_memory_equal(v.p, t[i].v, v.len);
        }
        assert_lvat_rc(lvat_kv_get(f->kv, LVAT_DB_VATSTORE, "v1\0b", 4, &v),
                       LVAT_ENOTFOUND);
        commit(f->kv);
        reopen(f);
    }
}

/* ---- Allocation failures ---- */

/* A crank's worth of writes: enough to grow the table, the undo log and
 * the dead list.  Stops at the first failure and returns its code. */
static int
crank_ops(lvat_kv *kv)
{
    char key[32];
    lvat_val v;
    int rc = LVAT_OK;

    for (int i = 0; i < 300 && rc == LVAT_OK; i++) {
        int n = snprintf(key, sizeof key, "k.%03d", i);
        rc = lvat_kv_put(kv, LVAT_DB_KERNEL, key, (size_t)n, "new", 3,
                         i % 3 ? 0 : LVAT_KV_NEW);
        if (rc == LVAT_OK && i % 4 == 0)
            rc = lvat_kv_put(kv, LVAT_DB_KERNEL, key, (size_t)n, "again", 5, 0);
        if (rc == LVAT_OK && i % 5 == 0)
            rc = lvat_kv_del(kv, LVAT_DB_KERNEL, key, (size_t)n);
    }
    if (rc == LVAT_OK)
        rc = lvat_kv_del(kv, LVAT_DB_KERNEL, "lmdb", 4);
    if (rc == LVAT_OK)
        rc = lvat_kv_del_prefix(kv, LVAT_DB_KERNEL, "k.1", 3, 0, NULL);
    if (rc == LVAT_OK &&
        lvat_kv_get(kv, LVAT_DB_KERNEL, "k.100", 5, &v) != LVAT_ENOTFOUND)
        rc = LVAT_EINVAL;
    return rc;
}

static void
test_kv_oom_in_crank_is_clean(void **state)
{
    fixture *f = *state;
    unsigned long n;
    int rc;

    put(f->kv, LVAT_DB_KERNEL, "lmdb", "L");
    commit(f->kv);
    put(f->kv, LVAT_DB_KERNEL, "k.007", "block");
    for (n = 1;; n++) {
        size_t entries = lvat_kv_block_entries(f->kv);
        size_t bytes = lvat_kv_block_bytes(f->kv);
        lvat_kv_crank_begin(f->kv);
        lvat_alloc_fail_after(n, 1);
        rc = crank_ops(f->kv);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        lvat_kv_crank_abort(f->kv);
        assert_int_equal(lvat_kv_block_entries(f->kv), entries);
        assert_int_equal(lvat_kv_block_bytes(f->kv), bytes);
        expect(f->kv, LVAT_DB_KERNEL, "lmdb", "L");
        expect(f->kv, LVAT_DB_KERNEL, "k.007", "block");
        expect(f->kv, LVAT_DB_KERNEL, "k.000", NULL);
    }
    assert_true(n > 10);
    lvat_kv_crank_commit(f->kv);
    commit(f->kv);
    reopen(f);
    expect(f->kv, LVAT_DB_KERNEL, "lmdb", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "k.007", "new");
    expect(f->kv, LVAT_DB_KERNEL, "k.008", "again");
    expect(f->kv, LVAT_DB_KERNEL, "k.010", NULL);
    expect(f->kv, LVAT_DB_KERNEL, "k.150", NULL);
}

static void
test_kv_oom_single_write_is_atomic(void **state)
{
    fixture *f = *state;
    int rc;

    put(f->kv, LVAT_DB_KERNEL, "a", "old");
    for (int in_crank = 0; in_crank < 2; in_crank++) {
        if (in_crank)
            lvat_kv_crank_begin(f->kv);
        for (unsigned long n = 1; n < 4; n++) {
            lvat_alloc_fail_after(n, 1);
            rc = lvat_kv_put(f->kv, LVAT_DB_KERNEL, "a", 1, "new", 3, 0);
            lvat_alloc_fail_after(0, 0);
            if (rc == LVAT_OK)
                break;
            assert_lvat_rc(rc, LVAT_ENOMEM);
            expect(f->kv, LVAT_DB_KERNEL, "a", "old");
        }
        expect(f->kv, LVAT_DB_KERNEL, "a", "new");
        put(f->kv, LVAT_DB_KERNEL, "a", "old");
        lvat_alloc_fail_after(1, 1);
        rc = lvat_kv_put(f->kv, LVAT_DB_KERNEL, "fresh", 5, "x", 1, 0);
        assert_lvat_rc(rc, LVAT_ENOMEM);
        rc = lvat_kv_del(f->kv, LVAT_DB_KERNEL, "absent", 6);
        lvat_alloc_fail_after(0, 0);
        assert_lvat_rc(rc, LVAT_ENOMEM);
        expect(f->kv, LVAT_DB_KERNEL, "fresh", NULL);
        assert_int_equal(lvat_kv_block_entries(f->kv), 1);
        if (in_crank)
            lvat_kv_crank_commit(f->kv);
    }
}

/* One block of `n` values of `len` bytes ('a' + round), keys "b.<i>". */
static void
put_big_block(lvat_kv *kv, int round, int n, size_t len)
{
    char key[32], *val = malloc(len);

    assert_non_null(val);
    memset(val, 'a' + round, len);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "b.%d", i);
        assert_lvat_ok(lvat_kv_put(kv, LVAT_DB_VATSTORE, key, strlen(key),
                                   val, len, 0));
    }
    free(val);
}

/* A block bigger than the slab keeps lets its slab go whole: every value
 * too big for a slab, which the C library holds, is freed one by one, so
 * the heap does not grow from block to block, committed or aborted. */
static void
test_kv_big_block_frees_all(void **state)
{
    fixture *f = *state;
    size_t heap = 0, arena;
    lvat_val v;

    for (int round = 0; round < 8; round++) {
        put_big_block(f->kv, round, 3000, 600);
        put_big_block(f->kv, round, 40, 3 * LVAT_SLAB_MAX);
        arena = lvat_slab_arena_bytes(f->kv->slab);
        if (arena != 0) /* 0: every block from the C library (checkers) */
            assert_true(arena > LVAT_SLAB_KEEP);
        if (round == 5)
            lvat_kv_block_abort(f->kv);
        else
            commit(f->kv);
        assert_true(lvat_slab_arena_bytes(f->kv->slab) <= LVAT_SLAB_KEEP);
        assert_int_equal(lvat_kv_block_entries(f->kv), 0);
        if (round == 1)
            heap = mallinfo2().uordblks;
        else if (round > 1)
            assert_true(mallinfo2().uordblks < heap + (1u << 20));
    }
    reopen(f);
    assert_lvat_ok(lvat_kv_get(f->kv, LVAT_DB_VATSTORE, "b.0", 3, &v));
    assert_int_equal(v.len, 3 * LVAT_SLAB_MAX);
    assert_int_equal(v.p[0], 'a' + 7);
    assert_lvat_ok(lvat_kv_get(f->kv, LVAT_DB_VATSTORE, "b.2999", 6, &v));
    assert_int_equal(v.len, 600);
    assert_int_equal(v.p[599], 'a' + 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_kv_put_get_del_in_overlay),
        T(test_kv_block_commit_survives_reopen),
        T(test_kv_pending_reads_and_epochs),
        T(test_kv_read_cache_follows_commits),
        T(test_kv_commit_writes_every_key),
        T(test_kv_commit_sort_order),
        T(test_kv_block_abort_discards),
        T(test_kv_crank_abort_restores_block),
        T(test_kv_crank_commit_then_block_abort),
        T(test_kv_crank_abort_after_gen_wraps),
        T(test_kv_new_key_deleted_never_reaches_lmdb),
        T(test_kv_new_key_survives_aborted_delete),
        T(test_kv_crank_bytes_follow_what_the_crank_holds),
        T(test_kv_deleted_value_readable_until_crank_end),
        T(test_kv_key_length_limits),
        T(test_kv_binary_keys_and_values),
        T(test_kv_oom_in_crank_is_clean),
        T(test_kv_oom_single_write_is_atomic),
        T(test_kv_big_block_frees_all),
#undef T
    };

    return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
