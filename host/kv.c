/*
 * Block and crank transactions over LMDB, held in memory (see kv.h):
 * point reads and writes, and the crank's undo records.  The hash table of
 * the block's changes is kv_table.c; talking to LMDB (the read snapshot,
 * the block write, map growth) is kv_block.c; ordered access and the index
 * behind it are kv_iter.c.
 */
#include "kv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "kv_int.h"
#include "lvat_util.h"
#include "slab.h"

/* ---- Public: lifecycle ---- */

int
lvat_kv_new(lvat_store *store, lvat_kv **out, lvat_errbuf *err)
{
    lvat_kv *kv = lvat_calloc(1, sizeof *kv);

    if (kv == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    kv->store = store;
    kv->gen = 1;
    kv->rcache_gen = 1;
    kv->rng = 0x9e3779b97f4a7c15ull;
    if (getrandom(&kv->seed, sizeof kv->seed, GRND_NONBLOCK) !=
        (ssize_t)sizeof kv->seed)
        kv->seed = (uint64_t)(uintptr_t)kv * 0x9e3779b97f4a7c15ull ^
                   (uint64_t)time(NULL);
    if ((kv->slab = lvat_slab_new()) == NULL) {
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
    lvat__kv_clear(kv);
    lvat_free(kv->slots);
    lvat_free(kv->made);
    lvat_free(kv->undo);
    lvat_free(kv->dead);
    lvat__kv_rcache_free(kv);
    lvat_slab_free(kv->slab);
    lvat_free(kv);
}

const char *
lvat_kv_errmsg(const lvat_kv *kv)
{
    return kv->err.msg;
}

/* ---- Public: point access ---- */

/* LVAT_OK when a get of this key can be asked at all. */
static int
check_get(lvat_dbid db, size_t klen)
{
    if ((unsigned)db >= LVAT_DB_COUNT)
        return LVAT_EINVAL;
    if (klen == 0 || klen > LVAT_KV_MAX_KEY)
        return LVAT_ENOTFOUND; /* no such key can be stored */
    return LVAT_OK;
}

/* The value the block holds in e (a deletion reads as not found). */
static int
entry_value(const lvat_kv_entry *e, lvat_val *val)
{
    if (e->val == NULL)
        return LVAT_ENOTFOUND;
    val->p = e->val;
    val->len = e->vlen;
    return LVAT_OK;
}

int
lvat_kv_get(lvat_kv *kv,
            lvat_dbid db,
            const char *key,
            size_t klen,
            lvat_val *val)
{
    lvat_kv_entry *e;
    MDB_val k, v;
    uint64_t t0, h;
    uint32_t w;
    int rc;

    if ((rc = check_get(db, klen)) != LVAT_OK)
        return rc;
    h = lvat__kv_hash(kv, db, key, klen);
    if ((e = lvat__kv_find(kv, db, key, klen, h)) != NULL)
        return entry_value(e, val);
    if (lvat__kv_rcache_get(kv, db, key, klen, h, &rc, val))
        return rc;
    if ((rc = lvat__kv_snapshot(kv)) != LVAT_OK)
        return rc;
    k.mv_size = klen;
    k.mv_data = (void *)key;
    w = kv->timing ? kv->timing * lvat_time_weight(&kv->reads) : 0;
    t0 = w ? lvat_clock_ns() : 0;
    /* Through the db's cursor rather than mdb_get: when the key is on the
     * leaf page the cursor is already on (keys read in order, or near the
     * last one), LMDB searches only that page instead of descending from
     * the root. */
    rc = mdb_cursor_get(kv->cursor[db], &k, &v, MDB_SET);
    if (w)
        kv->lmdb_ns += w * (lvat_clock_ns() - t0);
    if (rc != MDB_SUCCESS) {
        if (rc == MDB_NOTFOUND)
            lvat__kv_rcache_put(kv, db, key, klen, h, NULL);
        return lvat__store_err(rc, &kv->err, "reading the store");
    }
    val->p = v.mv_data;
    val->len = v.mv_size;
    lvat__kv_rcache_put(kv, db, key, klen, h, val);
    return LVAT_OK;
}

int
lvat_kv_get_pending(lvat_kv *kv,
                    lvat_dbid db,
                    const char *key,
                    size_t klen,
                    lvat_val *val)
{
    lvat_kv_entry *e;
    int rc;

    if ((rc = check_get(db, klen)) != LVAT_OK)
        return rc;
    e = lvat__kv_find(kv, db, key, klen, lvat__kv_hash(kv, db, key, klen));
    return e != NULL ? entry_value(e, val) : LVAT_ENOTFOUND;
}

static int
push_undo(lvat_kv *kv, lvat_kv_entry *e, bool created)
{
    lvat_kv_undo *u;

    if (!lvat_reserve(&kv->undo, kv->nundo, &kv->capundo, sizeof *kv->undo,
                      64))
        return LVAT_ENOMEM;
    u = &kv->undo[kv->nundo++];
    u->e = e;
    u->created = created;
    u->old_val = created ? NULL : e->val;
    u->old_vlen = created ? 0 : e->vlen;
    u->old_base_absent = e->base_absent;
    e->gen = kv->gen;
    return LVAT_OK;
}

/* Keeps a value deleted inside the crank alive until the crank ends. */
static int
push_dead(lvat_kv *kv, char *val, uint32_t len)
{
    if (kv->ndead == kv->capdead) {
        size_t cap = kv->capdead ? kv->capdead * 2 : 16;
        struct lvat_kv_dead *p = lvat_realloc(kv->dead, cap * sizeof *p);
        if (p == NULL)
            return LVAT_ENOMEM;
        kv->dead = p;
        kv->capdead = cap;
    }
    kv->dead[kv->ndead].val = val;
    kv->dead[kv->ndead++].len = len;
    return LVAT_OK;
}

/*
 * Replaces e's value with `nv` (owned, NULL = delete).  On failure nothing
 * has changed.  The old value survives in the crank's undo record when this
 * is the crank's first touch of `e`; a value the crank itself wrote and now
 * deletes goes to the dead list, because kv.h promises that a deleted value
 * stays readable until the crank ends (the run queue decodes an item, then
 * deletes it, then uses the decoded body).
 */
static int
set_entry(lvat_kv *kv, lvat_kv_entry *e, bool created, char *nv, size_t nlen)
{
    /* Each branch keeps crank_bytes equal to what the crank's writes hold
     * until it ends: records, and values of this crank's own. */
    size_t *held = &kv->crank_bytes[e->db];

    if (kv->in_crank && e->gen != kv->gen) {
        if (push_undo(kv, e, created) != LVAT_OK)
            return LVAT_ENOMEM;
        *held += sizeof(lvat_kv_undo);
    } else if (kv->in_crank && nv == NULL && e->val != NULL) {
        if (push_dead(kv, e->val, e->vlen) != LVAT_OK)
            return LVAT_ENOMEM;
        *held += sizeof(struct lvat_kv_dead);
    } else {
        /* In a crank this is a value the crank wrote: freed now. */
        if (kv->in_crank && e->val != NULL)
            *held -= (size_t)e->vlen + 1;
        lvat__kv_val_free(kv, e->val, e->vlen);
    }
    if (kv->in_crank && nv != NULL)
        *held += nlen + 1;
    kv->bytes += nlen;
    kv->bytes -= e->vlen;
    e->val = nv;
    e->vlen = (uint32_t)nlen;
    if (!kv->in_crank && nv == NULL && e->base_absent)
        lvat__kv_unlink(kv, e);
    return LVAT_OK;
}

static int
write_key(lvat_kv *kv,
          lvat_dbid db,
          const char *key,
          size_t klen,
          char *nv,
          size_t nlen,
          unsigned flags)
{
    uint64_t h = lvat__kv_hash(kv, db, key, klen);
    lvat_kv_entry *e = lvat__kv_find(kv, db, key, klen, h);
    bool created = e == NULL;

    if (created) {
        e = lvat__kv_insert(kv, db, key, klen, h);
        if (e == NULL) {
            lvat__kv_val_free(kv, nv, nlen);
            return LVAT_ENOMEM;
        }
        e->base_absent = (flags & LVAT_KV_NEW) != 0;
    }
    if (set_entry(kv, e, created, nv, nlen) != LVAT_OK) {
        if (created)
            lvat__kv_unlink(kv, e);
        lvat__kv_val_free(kv, nv, nlen);
        return LVAT_ENOMEM;
    }
    if (created && kv->in_crank)
        kv->crank_bytes[db] += sizeof *e + klen + 1;
    return LVAT_OK;
}

int
lvat_kv_put(lvat_kv *kv,
            lvat_dbid db,
            const char *key,
            size_t klen,
            const char *val,
            size_t vlen,
            unsigned flags)
{
    char *nv;

    if (kv->store->readonly)
        return LVAT_EREADONLY;
    if ((unsigned)db >= LVAT_DB_COUNT || klen == 0 || klen > LVAT_KV_MAX_KEY ||
        vlen > UINT32_MAX)
        return LVAT_EINVAL;
    nv = lvat__kv_val_dup(kv, val, vlen);
    if (nv == NULL)
        return LVAT_ENOMEM;
    return write_key(kv, db, key, klen, nv, vlen, flags);
}

int
lvat_kv_del(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen)
{
    if (kv->store->readonly)
        return LVAT_EREADONLY;
    if ((unsigned)db >= LVAT_DB_COUNT)
        return LVAT_EINVAL;
    if (klen == 0 || klen > LVAT_KV_MAX_KEY)
        return LVAT_OK; /* no such key can be stored */
    return write_key(kv, db, key, klen, NULL, 0, 0);
}

/* ---- Cranks ---- */

static void
free_dead(lvat_kv *kv)
{
    for (size_t i = 0; i < kv->ndead; i++)
        lvat__kv_val_free(kv, kv->dead[i].val, kv->dead[i].len);
    kv->ndead = 0;
}

void
lvat_kv_crank_begin(lvat_kv *kv)
{
    if (LVAT_NEVER(kv->in_crank))
        return; /* cranks do not nest: keep the open one */
    kv->in_crank = true;
    kv->nundo = 0;
    /* Never 0, the generation of entries no crank has touched: the 32-bit
     * count wraps after 2^31 cranks (hours at full speed), and a crank
     * numbered 0 would keep no undo record for them. */
    if (++kv->gen == 0)
        kv->gen = 1;
    memset(kv->crank_bytes, 0, sizeof kv->crank_bytes);
    if (kv->hooks.crank_begin)
        kv->hooks.crank_begin(kv->hooks.ud);
}

void
lvat_kv_set_hooks(lvat_kv *kv, const lvat_kv_hooks *hooks)
{
    kv->hooks = *hooks;
}

uint64_t
lvat_kv_lmdb_ns(const lvat_kv *kv)
{
    return kv->lmdb_ns;
}

void
lvat_kv_set_timing(lvat_kv *kv, uint32_t weight)
{
    kv->timing = weight;
    kv->reads = 0;
}

bool
lvat_kv_in_crank(const lvat_kv *kv)
{
    return kv->in_crank;
}

/* What a crank's commit and abort share, once its undo records are
 * applied or let go. */
static void
end_crank(lvat_kv *kv, bool commit)
{
    free_dead(kv);
    memset(kv->crank_bytes, 0, sizeof kv->crank_bytes);
    kv->nundo = 0;
    lvat_release_big(&kv->undo, &kv->capundo, 4096); /* after a big crank */
    kv->in_crank = false;
    kv->gen++;
    if (kv->hooks.crank_end)
        kv->hooks.crank_end(kv->hooks.ud, commit);
}

void
lvat_kv_crank_commit(lvat_kv *kv)
{
    for (size_t i = 0; i < kv->nundo; i++) {
        lvat_kv_undo *u = &kv->undo[i];
        lvat__kv_val_free(kv, u->old_val, u->old_vlen);
        /* Born and deleted inside this block: forget it entirely. */
        if (u->e->val == NULL && u->e->base_absent)
            lvat__kv_unlink(kv, u->e);
    }
    end_crank(kv, true);
}

void
lvat_kv_crank_abort(lvat_kv *kv)
{
    for (size_t i = kv->nundo; i-- > 0;) {
        lvat_kv_undo *u = &kv->undo[i];
        lvat_kv_entry *e = u->e;
        if (u->created) {
            lvat__kv_unlink(kv, e);
            continue;
        }
        kv->bytes -= e->vlen;
        kv->bytes += u->old_vlen;
        lvat__kv_val_free(kv, e->val, e->vlen);
        e->val = u->old_val;
        e->vlen = u->old_vlen;
        e->base_absent = u->old_base_absent;
    }
    end_crank(kv, false);
}

size_t
lvat_kv_crank_bytes(const lvat_kv *kv, lvat_dbid db)
{
    return (unsigned)db < LVAT_DB_COUNT ? kv->crank_bytes[db] : 0;
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
