/*
 * Block and crank transactions over LMDB, held in memory (see kv.h).  One
 * chained hash table holds the block's changes; the open crank keeps one
 * undo record per entry it touched.  The sorted index used by ordered
 * iteration is rebuilt only when entries were added or removed.
 */
#include "kv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "store_int.h"

#define MAX_KEY 511
#define ENTRY_OVERHEAD 64

typedef struct kv_entry {
    struct kv_entry *next; /* hash chain */
    uint64_t hash;
    char *val; /* owned; NULL = deleted in this block (a tombstone) */
    uint32_t vlen;
    uint32_t klen;
    uint32_t gen;        /* crank generation that last recorded an undo */
    uint8_t db;
    uint8_t base_absent; /* known absent from the LMDB snapshot */
    char key[];          /* klen bytes plus a NUL */
} kv_entry;

typedef struct kv_undo {
    kv_entry *e;
    char *old_val;
    uint32_t old_vlen;
    uint8_t created;
    uint8_t old_base_absent;
} kv_undo;

struct lvat_kv {
    lvat_store *store;
    MDB_txn *rtxn; /* the block's read snapshot; NULL until first read */
    MDB_cursor *cursor[LVAT_DB_COUNT];
    kv_entry **buckets;
    size_t nbuckets, count, bytes;
    kv_undo *undo;
    size_t nundo, capundo;
    bool in_crank;
    uint32_t gen;
    kv_entry **index; /* sorted by (db, key) when !index_dirty */
    size_t nindex;
    bool index_dirty;
    lvat_errbuf err;
};

/* ---- Hash table ---- */

static uint64_t
hash_key(unsigned db, const char *key, size_t klen)
{
    uint64_t h = 0xcbf29ce484222325ull ^ db;

    for (size_t i = 0; i < klen; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

static kv_entry *
find(const lvat_kv *kv, unsigned db, const char *key, size_t klen, uint64_t h)
{
    kv_entry *e;

    if (kv->nbuckets == 0)
        return NULL;
    for (e = kv->buckets[h & (kv->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->klen == klen && e->db == db &&
            memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

static int
grow_table(lvat_kv *kv)
{
    size_t n = kv->nbuckets ? kv->nbuckets * 2 : 256;
    kv_entry **b = lvat_calloc(n, sizeof *b);

    if (b == NULL)
        return LVAT_ENOMEM;
    for (size_t i = 0; i < kv->nbuckets; i++) {
        kv_entry *e = kv->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    lvat_free(kv->buckets);
    kv->buckets = b;
    kv->nbuckets = n;
    return LVAT_OK;
}

static void
unlink_entry(lvat_kv *kv, kv_entry *e)
{
    kv_entry **pp = &kv->buckets[e->hash & (kv->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    kv->count--;
    kv->bytes -= ENTRY_OVERHEAD + e->klen + e->vlen;
    kv->index_dirty = true;
    lvat_free(e->val);
    lvat_free(e);
}

static kv_entry *
insert(lvat_kv *kv, unsigned db, const char *key, size_t klen, uint64_t h)
{
    kv_entry *e;

    if (kv->count >= kv->nbuckets && grow_table(kv) != LVAT_OK)
        return NULL;
    e = lvat_malloc(sizeof *e + klen + 1);
    if (e == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->klen = (uint32_t)klen;
    e->db = (uint8_t)db;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->next = kv->buckets[h & (kv->nbuckets - 1)];
    kv->buckets[h & (kv->nbuckets - 1)] = e;
    kv->count++;
    kv->bytes += ENTRY_OVERHEAD + klen;
    kv->index_dirty = true;
    return e;
}

static void
clear_table(lvat_kv *kv)
{
    for (size_t i = 0; i < kv->nbuckets; i++) {
        kv_entry *e = kv->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            lvat_free(e->val);
            lvat_free(e);
        }
        kv->buckets[i] = NULL;
    }
    kv->count = 0;
    kv->bytes = 0;
    kv->index_dirty = true;
}

/* ---- Read snapshot ---- */

static int
snapshot(lvat_kv *kv)
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
}

/* ---- Public: lifecycle ---- */

int
lvat_kv_new(lvat_store *store, lvat_kv **out, lvat_errbuf *err)
{
    lvat_kv *kv = lvat_calloc(1, sizeof *kv);

    if (kv == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    kv->store = store;
    kv->gen = 1;
    if (grow_table(kv) != LVAT_OK) {
        lvat_free(kv);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    *out = kv;
    return LVAT_OK;
}

void
lvat_kv_free(lvat_kv *kv)
{
    if (kv == NULL)
        return;
    if (kv->in_crank)
        lvat_kv_crank_abort(kv);
    lvat_kv_refresh(kv);
    clear_table(kv);
    lvat_free(kv->buckets);
    lvat_free(kv->undo);
    lvat_free(kv->index);
    lvat_free(kv);
}

const char *
lvat_kv_errmsg(const lvat_kv *kv)
{
    return kv->err.msg;
}

/* ---- Public: point access ---- */

int
lvat_kv_get(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen,
            lvat_val *val)
{
    kv_entry *e = find(kv, db, key, klen, hash_key(db, key, klen));
    MDB_val k, v;
    int rc;

    if (e != NULL) {
        if (e->val == NULL)
            return LVAT_ENOTFOUND;
        val->p = e->val;
        val->len = e->vlen;
        return LVAT_OK;
    }
    if (klen == 0 || klen > MAX_KEY)
        return LVAT_ENOTFOUND;
    if ((rc = snapshot(kv)) != LVAT_OK)
        return rc;
    k.mv_size = klen;
    k.mv_data = (void *)key;
    rc = mdb_get(kv->rtxn, kv->store->dbi[db], &k, &v);
    if (rc != MDB_SUCCESS)
        return lvat__store_err(rc, &kv->err, "reading the store");
    val->p = v.mv_data;
    val->len = v.mv_size;
    return LVAT_OK;
}

static int
push_undo(lvat_kv *kv, kv_entry *e, bool created)
{
    kv_undo *u;

    if (kv->nundo == kv->capundo) {
        size_t cap = kv->capundo ? kv->capundo * 2 : 64;
        kv_undo *p = lvat_realloc(kv->undo, cap * sizeof *p);
        if (p == NULL)
            return LVAT_ENOMEM;
        kv->undo = p;
        kv->capundo = cap;
    }
    u = &kv->undo[kv->nundo++];
    u->e = e;
    u->created = created;
    u->old_val = created ? NULL : e->val;
    u->old_vlen = created ? 0 : e->vlen;
    u->old_base_absent = e->base_absent;
    e->gen = kv->gen;
    return LVAT_OK;
}

/* Replaces e's value with `nv` (owned, NULL = delete). */
static int
set_entry(lvat_kv *kv, kv_entry *e, bool created, char *nv, size_t nlen)
{
    if (kv->in_crank && e->gen != kv->gen) {
        if (push_undo(kv, e, created) != LVAT_OK)
            return LVAT_ENOMEM;
    } else {
        /* The old value is no longer needed by any undo record. */
        lvat_free(e->val);
    }
    kv->bytes += nlen;
    kv->bytes -= created ? 0 : e->vlen;
    e->val = nv;
    e->vlen = (uint32_t)nlen;
    if (!kv->in_crank && nv == NULL && e->base_absent)
        unlink_entry(kv, e);
    return LVAT_OK;
}

static int
write_key(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen, char *nv,
          size_t nlen, unsigned flags)
{
    uint64_t h = hash_key(db, key, klen);
    kv_entry *e = find(kv, db, key, klen, h);
    bool created = e == NULL;

    if (created) {
        e = insert(kv, db, key, klen, h);
        if (e == NULL) {
            lvat_free(nv);
            return LVAT_ENOMEM;
        }
        e->base_absent = (flags & LVAT_KV_NEW) != 0;
    }
    if (set_entry(kv, e, created, nv, nlen) != LVAT_OK) {
        if (created)
            unlink_entry(kv, e);
        lvat_free(nv);
        return LVAT_ENOMEM;
    }
    return LVAT_OK;
}

int
lvat_kv_put(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen,
            const char *val, size_t vlen, unsigned flags)
{
    char *nv;

    if (kv->store->readonly)
        return LVAT_EREADONLY;
    if (klen == 0 || klen > MAX_KEY || vlen > UINT32_MAX)
        return LVAT_EINVAL;
    nv = lvat_memdup(val, vlen);
    if (nv == NULL)
        return LVAT_ENOMEM;
    return write_key(kv, db, key, klen, nv, vlen, flags);
}

int
lvat_kv_del(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen)
{
    if (kv->store->readonly)
        return LVAT_EREADONLY;
    if (klen == 0 || klen > MAX_KEY)
        return LVAT_OK;
    return write_key(kv, db, key, klen, NULL, 0, 0);
}

/* ---- Cranks ---- */

void
lvat_kv_crank_begin(lvat_kv *kv)
{
    kv->in_crank = true;
    kv->nundo = 0;
    kv->gen++;
}

bool
lvat_kv_in_crank(const lvat_kv *kv)
{
    return kv->in_crank;
}

void
lvat_kv_crank_commit(lvat_kv *kv)
{
    for (size_t i = 0; i < kv->nundo; i++) {
        kv_undo *u = &kv->undo[i];
        lvat_free(u->old_val);
        /* Born and deleted inside this block: forget it entirely. */
        if (u->e->val == NULL && u->e->base_absent)
            unlink_entry(kv, u->e);
    }
    kv->nundo = 0;
    kv->in_crank = false;
    kv->gen++;
}

void
lvat_kv_crank_abort(lvat_kv *kv)
{
    for (size_t i = kv->nundo; i-- > 0;) {
        kv_undo *u = &kv->undo[i];
        kv_entry *e = u->e;
        if (u->created) {
            unlink_entry(kv, e);
            continue;
        }
        kv->bytes -= e->vlen;
        kv->bytes += u->old_vlen;
        lvat_free(e->val);
        e->val = u->old_val;
        e->vlen = u->old_vlen;
        e->base_absent = u->old_base_absent;
    }
    kv->nundo = 0;
    kv->in_crank = false;
    kv->gen++;
}

size_t
lvat_kv_block_bytes(const lvat_kv *kv)
{
    return kv->bytes;
}

size_t
lvat_kv_block_entries(const lvat_kv *kv)
{
    return kv->count;
}

/* ---- Ordered access ---- */

static int
cmp_entry(const void *a, const void *b)
{
    const kv_entry *x = *(kv_entry *const *)a, *y = *(kv_entry *const *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c;

    if (x->db != y->db)
        return x->db < y->db ? -1 : 1;
    c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int
build_index(lvat_kv *kv)
{
    size_t n = 0;

    if (!kv->index_dirty)
        return LVAT_OK;
    lvat_free(kv->index);
    kv->index = lvat_malloc((kv->count ? kv->count : 1) * sizeof *kv->index);
    kv->nindex = 0;
    if (kv->index == NULL)
        return LVAT_ENOMEM;
    for (size_t i = 0; i < kv->nbuckets; i++)
        for (kv_entry *e = kv->buckets[i]; e; e = e->next)
            kv->index[n++] = e;
    qsort(kv->index, n, sizeof *kv->index, cmp_entry);
    kv->nindex = n;
    kv->index_dirty = false;
    return LVAT_OK;
}

static int
keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* First index entry of `db` with key > from (>= when inclusive). */
static kv_entry *
index_after(lvat_kv *kv, unsigned db, const char *from, size_t flen,
            bool inclusive)
{
    size_t lo = 0, hi = kv->nindex;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        kv_entry *e = kv->index[mid];
        int c = e->db != db ? (e->db < db ? -1 : 1)
                            : keycmp(e->key, e->klen, from, flen);
        if (c < 0 || (c == 0 && !inclusive))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < kv->nindex && kv->index[lo]->db == db)
        return kv->index[lo];
    return NULL;
}

static int
lmdb_after(lvat_kv *kv, unsigned db, const char *from, size_t flen,
           bool inclusive, MDB_val *k, MDB_val *v)
{
    MDB_cursor *c = kv->cursor[db];
    int rc;

    k->mv_size = flen;
    k->mv_data = (void *)from;
    rc = flen ? mdb_cursor_get(c, k, v, MDB_SET_RANGE)
              : mdb_cursor_get(c, k, v, MDB_FIRST);
    if (rc == MDB_SUCCESS && !inclusive && flen &&
        keycmp(k->mv_data, k->mv_size, from, flen) == 0)
        rc = mdb_cursor_get(c, k, v, MDB_NEXT);
    return rc;
}

static bool
has_prefix(const char *key, size_t klen, const char *prefix, size_t plen)
{
    return klen >= plen && memcmp(key, prefix, plen) == 0;
}

int
lvat_kv_next(lvat_kv *kv, lvat_dbid db, const char *from, size_t flen,
             bool inclusive, const char *prefix, size_t plen, lvat_val *key,
             lvat_val *val)
{
    lvat_buf cur = LVAT_BUF_INIT;
    int rc;

    if (keycmp(from, flen, prefix, plen) < 0) {
        from = prefix;
        flen = plen;
        inclusive = true;
    }
    if ((rc = snapshot(kv)) != LVAT_OK || (rc = build_index(kv)) != LVAT_OK)
        return rc;
    for (;;) {
        MDB_val k, v;
        kv_entry *e = index_after(kv, db, from, flen, inclusive);
        int mrc = lmdb_after(kv, db, from, flen, inclusive, &k, &v);
        bool lm_ok = mrc == MDB_SUCCESS &&
                     has_prefix(k.mv_data, k.mv_size, prefix, plen);
        bool ov_ok = e && has_prefix(e->key, e->klen, prefix, plen);
        int c;

        if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
            lvat_buf_free(&cur);
            return lvat__store_err(mrc, &kv->err, "iterating the store");
        }
        if (!lm_ok && !ov_ok) {
            lvat_buf_free(&cur);
            return LVAT_ENOTFOUND;
        }
        c = !lm_ok ? -1 : !ov_ok ? 1 : keycmp(e->key, e->klen, k.mv_data, k.mv_size);
        if (c > 0) {
            key->p = k.mv_data;
            key->len = k.mv_size;
            val->p = v.mv_data;
            val->len = v.mv_size;
            lvat_buf_free(&cur);
            return LVAT_OK;
        }
        if (e->val != NULL) {
            key->p = e->key;
            key->len = e->klen;
            val->p = e->val;
            val->len = e->vlen;
            lvat_buf_free(&cur);
            return LVAT_OK;
        }
        /* A tombstone hides the same key in LMDB: step past both. */
        lvat_buf_reset(&cur);
        if (lvat_buf_append(&cur, e->key, e->klen) != LVAT_OK)
            return LVAT_ENOMEM;
        from = cur.data;
        flen = cur.len;
        inclusive = false;
    }
}

int
lvat_kv_del_prefix(lvat_kv *kv, lvat_dbid db, const char *prefix, size_t plen,
                   size_t limit, size_t *deleted)
{
    lvat_buf k = LVAT_BUF_INIT;
    size_t n = 0;
    int rc = LVAT_OK;

    for (;;) {
        lvat_val key, val;
        if (limit && n == limit) {
            rc = LVAT_EPENDING;
            break;
        }
        rc = lvat_kv_next(kv, db, k.data ? k.data : prefix,
                          k.data ? k.len : plen, k.data == NULL, prefix, plen,
                          &key, &val);
        if (rc == LVAT_ENOTFOUND) {
            rc = LVAT_OK;
            break;
        }
        lvat_buf_reset(&k);
        if (rc != LVAT_OK || (rc = lvat_buf_append(&k, key.p, key.len)) ||
            (rc = lvat_kv_del(kv, db, k.data, k.len)))
            break;
        n++;
    }
    lvat_buf_free(&k);
    if (deleted)
        *deleted = n;
    return rc;
}

/* ---- Blocks ---- */

static int
write_block(lvat_kv *kv, MDB_txn *txn)
{
    for (size_t i = 0; i < kv->nindex; i++) {
        kv_entry *e = kv->index[i];
        MDB_val k = {e->klen, e->key}, v = {e->vlen, e->val};
        int rc;

        if (e->val != NULL)
            rc = mdb_put(txn, kv->store->dbi[e->db], &k, &v, 0);
        else if (e->base_absent)
            continue;
        else if ((rc = mdb_del(txn, kv->store->dbi[e->db], &k, NULL)) ==
                 MDB_NOTFOUND)
            rc = MDB_SUCCESS;
        if (rc != MDB_SUCCESS)
            return rc;
    }
    return MDB_SUCCESS;
}

/* Grows the map while no transaction is open; over half full counts. */
static int
maybe_grow(lvat_kv *kv, bool full, lvat_errbuf *err)
{
    MDB_envinfo info;
    MDB_stat st;
    size_t used;

    if (mdb_env_info(kv->store->env, &info) != MDB_SUCCESS ||
        mdb_env_stat(kv->store->env, &st) != MDB_SUCCESS)
        return LVAT_OK;
    used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    if (!full && used <= info.me_mapsize / 2)
        return LVAT_OK;
    return lvat__store_grow(kv->store, used * 2 + kv->bytes * 2, err);
}

int
lvat_kv_block_commit(lvat_kv *kv, lvat_errbuf *err)
{
    MDB_txn *txn = NULL;
    int rc;

    if (kv->in_crank || kv->store->readonly)
        return lvat_errbuf_set(err, LVAT_ESTATE, "cannot commit now");
    if ((rc = build_index(kv)) != LVAT_OK)
        return lvat_errbuf_set(err, rc, "out of memory");
    lvat_kv_refresh(kv);
    if (kv->count == 0)
        return LVAT_OK;
    for (;;) {
        int mrc;
        rc = lvat__store_txn_begin(kv->store, 0, &txn, err);
        if (rc != LVAT_OK)
            return rc;
        mrc = write_block(kv, txn);
        if (mrc == MDB_SUCCESS)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (mrc == MDB_SUCCESS)
            break;
        if (mrc != MDB_MAP_FULL)
            return lvat__store_err(mrc, err, "committing a block");
        if ((rc = maybe_grow(kv, true, err)) != LVAT_OK)
            return rc;
    }
    clear_table(kv);
    return maybe_grow(kv, false, err);
}

void
lvat_kv_block_abort(lvat_kv *kv)
{
    if (kv->in_crank)
        lvat_kv_crank_abort(kv);
    clear_table(kv);
    lvat_kv_refresh(kv);
}
