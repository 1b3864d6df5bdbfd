/*
 * Ordered access to the kv view (see kv.h): the index that keeps the
 * block's entries in (db, key) order, lvat_kv_next merging it with an LMDB
 * cursor, and lvat_kv_del_prefix.  The index is a treap, updated on every
 * insert and unlink in O(log n), so loops that alternate a step and a
 * write (deleting a prefix, draining gc actions) stay linear.
 */
#include "kv.h"

#include <assert.h>
#include <string.h>

#include "clock.h"
#include "kv_int.h"
#include "lvat_util.h"

/* ---- Key order ---- */

/* Byte order, a proper prefix first (LMDB's default comparison). */
static int
keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int
lvat__kv_entry_cmp(const lvat_kv_entry *a, const lvat_kv_entry *b)
{
    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    return keycmp(a->key, a->klen, b->key, b->klen);
}

/* Compares entry `e` with (db, key): databases first, then keys. */
static int
cmp_entry(const lvat_kv_entry *e, unsigned db, const char *key, size_t klen)
{
    if (e->db != db)
        return e->db < db ? -1 : 1;
    return keycmp(e->key, e->klen, key, klen);
}

static bool
has_prefix(const char *key, size_t klen, const char *prefix, size_t plen)
{
    return klen >= plen && (plen == 0 || memcmp(key, prefix, plen) == 0);
}

/* ---- Ordered index ---- */

/* xorshift64*: priorities a vat cannot steer by choosing its keys. */
static uint32_t
next_prio(lvat_kv *kv)
{
    uint64_t x = kv->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    kv->rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

/* Splits tree `t` into the entries before `e` (*l) and after it (*r). */
static void
split(lvat_kv_entry *t,
      const lvat_kv_entry *e,
      lvat_kv_entry **l,
      lvat_kv_entry **r)
{
    while (t != NULL) {
        if (cmp_entry(t, e->db, e->key, e->klen) < 0) {
            *l = t;
            l = &t->right;
            t = t->right;
        } else {
            *r = t;
            r = &t->left;
            t = t->left;
        }
    }
    *l = NULL;
    *r = NULL;
}

/* Joins two trees whose keys are all in order (every key of a < b). */
static lvat_kv_entry *
join(lvat_kv_entry *a, lvat_kv_entry *b)
{
    lvat_kv_entry *root = NULL, **pp = &root;

    while (a != NULL && b != NULL) {
        if (a->prio > b->prio) {
            *pp = a;
            pp = &a->right;
            a = a->right;
        } else {
            *pp = b;
            pp = &b->left;
            b = b->left;
        }
    }
    *pp = a != NULL ? a : b;
    return root;
}

static void
treap_insert(lvat_kv *kv, lvat_kv_entry *e)
{
    lvat_kv_entry **pp = &kv->root;

    e->prio = next_prio(kv);
    while (*pp != NULL && (*pp)->prio > e->prio)
        pp = cmp_entry(*pp, e->db, e->key, e->klen) > 0 ? &(*pp)->left
                                                        : &(*pp)->right;
    split(*pp, e, &e->left, &e->right);
    *pp = e;
}

void
lvat__kv_index_insert(lvat_kv *kv, lvat_kv_entry *e)
{
    if (kv->indexed)
        treap_insert(kv, e);
}

void
lvat__kv_index_build(lvat_kv *kv)
{
    if (kv->indexed)
        return;
    kv->root = NULL;
    for (size_t i = 0; i < kv->nmade; i++)
        if (kv->made[i] != NULL)
            treap_insert(kv, kv->made[i]);
    kv->indexed = true;
}

void
lvat__kv_index_remove(lvat_kv *kv, lvat_kv_entry *e)
{
    lvat_kv_entry **pp = &kv->root;

    if (!kv->indexed)
        return;
    while (*pp != e) {
        assert(*pp != NULL);
        pp = cmp_entry(*pp, e->db, e->key, e->klen) > 0 ? &(*pp)->left
                                                        : &(*pp)->right;
    }
    *pp = join(e->left, e->right);
    e->left = e->right = NULL;
}

/* The first entry after (db, key), or at it when `inclusive`, any db. */
static lvat_kv_entry *
lower_bound(const lvat_kv *kv,
            unsigned db,
            const char *key,
            size_t klen,
            bool inclusive)
{
    lvat_kv_entry *t = kv->root, *best = NULL;

    while (t != NULL) {
        int c = cmp_entry(t, db, key, klen);
        if (c > 0 || (c == 0 && inclusive)) {
            best = t;
            t = t->left;
        } else {
            t = t->right;
        }
    }
    return best;
}

lvat_kv_entry *
lvat__kv_index_succ(const lvat_kv *kv, const lvat_kv_entry *e)
{
    if (e == NULL)
        return lower_bound(kv, 0, "", 0, true);
    return lower_bound(kv, e->db, e->key, e->klen, false);
}

/* ---- Merging with LMDB ---- */

static int
lmdb_after(lvat_kv *kv,
           unsigned db,
           const char *from,
           size_t flen,
           bool inclusive,
           MDB_val *k,
           MDB_val *v)
{
    MDB_cursor *c = kv->cursor[db];
    uint64_t t0;
    uint32_t w;
    int rc;

    if (flen > LVAT_KV_MAX_KEY) {
        /* No stored key is this long, so every key after the first 511
         * bytes of `from` (and not equal to them) is after `from`. */
        flen = LVAT_KV_MAX_KEY;
        inclusive = false;
    }
    k->mv_size = flen;
    k->mv_data = (void *)from;
    w = kv->timing ? kv->timing * lvat_time_weight(&kv->reads) : 0;
    t0 = w ? lvat_clock_ns() : 0;
    rc = flen ? mdb_cursor_get(c, k, v, MDB_SET_RANGE)
              : mdb_cursor_get(c, k, v, MDB_FIRST);
    if (w)
        kv->lmdb_ns += w * (lvat_clock_ns() - t0);
    if (rc == MDB_SUCCESS && !inclusive && flen &&
        keycmp(k->mv_data, k->mv_size, from, flen) == 0)
        rc = mdb_cursor_get(c, k, v, MDB_NEXT);
    return rc;
}

static void
set_out(lvat_val *key,
        lvat_val *val,
        const char *kp,
        size_t klen,
        const char *vp,
        size_t vlen)
{
    key->p = kp;
    key->len = klen;
    val->p = vp;
    val->len = vlen;
}

int
lvat_kv_next(lvat_kv *kv,
             lvat_dbid db,
             const char *from,
             size_t flen,
             bool inclusive,
             const char *prefix,
             size_t plen,
             lvat_val *key,
             lvat_val *val)
{
    lvat_kv_entry *e;
    MDB_val k, v;
    int rc;

    if ((unsigned)db >= LVAT_DB_COUNT)
        return LVAT_EINVAL;
    if (kv->hooks.scanning &&
        (rc = kv->hooks.scanning(kv->hooks.ud, db)) != LVAT_OK)
        return rc;
    lvat__kv_index_build(kv);
    if (keycmp(from, flen, prefix, plen) < 0) {
        from = prefix;
        flen = plen;
        inclusive = true;
    }
    if ((rc = lvat__kv_snapshot(kv)) != LVAT_OK)
        return rc;
    e = lower_bound(kv, db, from, flen, inclusive);
    rc = lmdb_after(kv, db, from, flen, inclusive, &k, &v);
    for (;;) {
        bool lm_ok =
            rc == MDB_SUCCESS && has_prefix(k.mv_data, k.mv_size, prefix, plen);
        bool ov_ok = e != NULL && e->db == db &&
                     has_prefix(e->key, e->klen, prefix, plen);
        int c;

        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return lvat__store_err(rc, &kv->err, "iterating the store");
        if (!lm_ok && !ov_ok)
            return LVAT_ENOTFOUND;
        c = !lm_ok   ? -1
            : !ov_ok ? 1
                     : keycmp(e->key, e->klen, k.mv_data, k.mv_size);
        if (c > 0) {
            set_out(key, val, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
            return LVAT_OK;
        }
        if (e->val != NULL) {
            set_out(key, val, e->key, e->klen, e->val, e->vlen);
            return LVAT_OK;
        }
        /* A tombstone: step past it, and past the LMDB key it hides. */
        if (c == 0)
            rc = mdb_cursor_get(kv->cursor[db], &k, &v, MDB_NEXT);
        e = lvat__kv_index_succ(kv, e);
    }
}

int
lvat_kv_del_prefix(lvat_kv *kv,
                   lvat_dbid db,
                   const char *prefix,
                   size_t plen,
                   size_t limit,
                   size_t *deleted)
{
    /* The last deleted key: outside a crank deleting an entry born in
     * this block frees it, so the loop resumes from its own copy. */
    char last[LVAT_KV_MAX_KEY];
    size_t llen = 0, n = 0;
    int rc;

    lvat__kv_index_build(kv);
    if (deleted)
        *deleted = 0;
    if (kv->store->readonly)
        return LVAT_EREADONLY;
    for (;;) {
        lvat_val key, val;
        rc = lvat_kv_next(kv, db, n ? last : prefix, n ? llen : plen, n == 0,
                          prefix, plen, &key, &val);
        if (rc != LVAT_OK)
            break;
        if (limit && n == limit) {
            rc = LVAT_EPENDING; /* and only now: a key is really left */
            break;
        }
        if (LVAT_NEVER(key.len > sizeof last)) {
            rc = LVAT_ECORRUPT;
            break;
        }
        llen = key.len;
        memcpy(last, key.p, llen);
        if ((rc = lvat_kv_del(kv, db, last, llen)) != LVAT_OK)
            break;
        n++;
    }
    if (deleted)
        *deleted = n;
    return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
}
