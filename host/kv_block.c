/*
 * The kv view's traffic with LMDB (see kv.h): the block's read snapshot,
 * and the block commit that writes the in-memory changes in one LMDB write
 * transaction, growing the map when it is full (design.md §5).  What the
 * block holds and how cranks change it is kv.c's business.
 */
#include "kv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "kv_int.h"

/* Each retry at least doubles the map, so this is far beyond any disk. */
#define MAX_GROW_TRIES 32

/* ---- Read snapshot ---- */

int
lvat__kv_snapshot(lvat_kv *kv)
{
    int rc;

    if (kv->rtxn != NULL)
        return LVAT_OK;
    rc = lvat__store_txn_begin(kv->store, MDB_RDONLY, &kv->rtxn, &kv->err);
    if (rc != LVAT_OK)
        return rc;
    for (int i = 0; i < LVAT_DB_COUNT; i++) {
        int mrc = mdb_cursor_open(kv->rtxn, kv->store->dbi[i], &kv->cursor[i]);
        if (mrc != MDB_SUCCESS) {
            lvat_kv_refresh(kv);
            return lvat__store_err(mrc, &kv->err, "opening a store cursor");
        }
    }
    return LVAT_OK;
}

void
lvat_kv_refresh(lvat_kv *kv)
{
    for (int i = 0; i < LVAT_DB_COUNT; i++) {
        if (kv->cursor[i])
            mdb_cursor_close(kv->cursor[i]);
        kv->cursor[i] = NULL;
    }
    if (kv->rtxn)
        mdb_txn_abort(kv->rtxn);
    kv->rtxn = NULL;
    lvat__kv_rcache_clear(kv);
    kv->epoch++; /* the next snapshot may see other writes */
}

/* ---- Blocks ---- */

/* One change through the db's write cursor.  Entries come in key order,
 * so LMDB's cursor usually finds the next key on the page it is on
 * instead of searching from the root. */
static int
write_entry(MDB_cursor *c, lvat_kv_entry *e)
{
    MDB_val k = {e->klen, e->key}, v = {e->vlen, e->val};
    int rc;

    if (e->val != NULL)
        return mdb_cursor_put(c, &k, &v, 0);
    rc = mdb_cursor_get(c, &k, NULL, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return MDB_SUCCESS;
    return rc == MDB_SUCCESS ? mdb_cursor_del(c, 0) : rc;
}

/* Writes every entry in key order (LMDB fills pages best that way). */
static int
write_block(lvat_kv *kv, MDB_txn *txn)
{
    MDB_cursor *cur[LVAT_DB_COUNT] = {0};
    lvat_kv_entry **v;
    size_t n = lvat__kv_sorted_writes(kv, &v);
    int rc = v ? MDB_SUCCESS : ENOMEM;

    for (int i = 0; i < LVAT_DB_COUNT && rc == MDB_SUCCESS; i++)
        rc = mdb_cursor_open(txn, kv->store->dbi[i], &cur[i]);
    for (size_t i = 0; rc == MDB_SUCCESS && i < n; i++)
        rc = write_entry(cur[v[i]->db], v[i]);
    lvat_free(v);
    for (int i = 0; i < LVAT_DB_COUNT; i++)
        if (cur[i] != NULL)
            mdb_cursor_close(cur[i]);
    return rc;
}

/*
 * Grows the map while no transaction is open: always after MDB_MAP_FULL,
 * otherwise only when it is over half used (design.md §5).
 */
static int
grow_map(lvat_kv *kv, bool full, lvat_errbuf *err)
{
    MDB_envinfo info;
    MDB_stat st;
    size_t used;

    if (mdb_env_info(kv->store->env, &info) != MDB_SUCCESS ||
        mdb_env_stat(kv->store->env, &st) != MDB_SUCCESS) {
        if (!full)
            return LVAT_OK;
        used = 0; /* lvat__store_grow still doubles the map */
    } else {
        used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
        if (!full && used <= info.me_mapsize / 2)
            return LVAT_OK;
    }
    return lvat__store_grow(kv->store, used * 2 + kv->bytes * 2, err);
}

/* One attempt: LVAT_OK, or the LMDB code of the failure (txn ended). */
static int
try_commit(lvat_kv *kv, int *mrc, lvat_errbuf *err)
{
    MDB_txn *txn = NULL;
    int rc = lvat__store_txn_begin(kv->store, 0, &txn, err);

    *mrc = MDB_SUCCESS;
    if (rc != LVAT_OK)
        return rc;
    *mrc = write_block(kv, txn);
    if (*mrc == MDB_SUCCESS)
        *mrc = mdb_txn_commit(txn); /* frees the txn even when it fails */
    else
        mdb_txn_abort(txn);
    return *mrc == MDB_SUCCESS ? LVAT_OK : LVAT_ESTORE;
}

int
lvat_kv_block_commit(lvat_kv *kv, lvat_errbuf *err)
{
    int rc, mrc;

    if (kv->store->readonly)
        return lvat_errbuf_set(err, LVAT_EREADONLY,
                               "the store in %s is open read-only",
                               kv->store->dir);
    if (kv->in_crank)
        return lvat_errbuf_set(err, LVAT_ESTATE,
                               "cannot commit a block while a crank is open");
    if (kv->hooks.block_writing &&
        (rc = kv->hooks.block_writing(kv->hooks.ud)) != LVAT_OK)
        return lvat_errbuf_set(err, rc, "writing the block: %s",
                               lvat_strerror(rc));
    lvat_kv_refresh(kv);
    if (kv->count == 0)
        return LVAT_OK;
    if (kv->fail_left > 0) {
        kv->fail_left--;
        return lvat_errbuf_set(err, kv->fail_code, "injected failure: %s",
                               lvat_strerror(kv->fail_code));
    }
    for (int tries = 0;; tries++) {
        rc = try_commit(kv, &mrc, err);
        if (rc == LVAT_OK)
            break;
        if (mrc == MDB_SUCCESS)
            return rc; /* the txn did not begin; `err` says why */
        if (mrc != MDB_MAP_FULL || tries == MAX_GROW_TRIES)
            return lvat__store_err(mrc, err, "committing a block");
        if ((rc = grow_map(kv, true, err)) != LVAT_OK)
            return rc;
    }
    lvat__kv_clear(kv);
    kv->epoch++;
    /* The block is durable now: failing to grow ahead of need is not a
     * failed commit (the next commit grows the map on MDB_MAP_FULL). */
    (void)grow_map(kv, false, NULL);
    return LVAT_OK;
}

void
lvat_kv_fail_commits(lvat_kv *kv, int code, unsigned n)
{
    kv->fail_code = code;
    kv->fail_left = n;
}

void
lvat_kv_block_abort(lvat_kv *kv)
{
    if (kv->in_crank)
        lvat_kv_crank_abort(kv);
    lvat__kv_clear(kv);
    lvat_kv_refresh(kv);
    kv->epoch++;
    if (kv->hooks.block_abort)
        kv->hooks.block_abort(kv->hooks.ud);
}

uint64_t
lvat_kv_epoch(const lvat_kv *kv)
{
    return kv->epoch;
}
