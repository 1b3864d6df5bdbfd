/*
 * The read cache: what LMDB answered for recently read keys, kept for as
 * long as the read snapshot those answers came from.  A round trip reads
 * the same never-rewritten records every time (the c-list entries of the
 * two roots, say), and each LMDB lookup walks the B-tree again: 1,000 to
 * 2,000 instructions on a store of 100k keys.  The cache is direct-mapped
 * on the overlay's key hash and holds LMDB's own pointers, which stay
 * valid until the snapshot ends, so nothing is copied but the key.  It is
 * consulted only after the block overlay, which holds every change since
 * the snapshot; it is emptied whenever the snapshot ends (lvat_kv_refresh).
 */
#include "kv_int.h"

#include <stdbool.h>
#include <string.h>

#include "alloc.h"

#define RCACHE_SLOTS 1024u /* a power of two */
#define RCACHE_KEY 46      /* longer keys are not cached */

struct lvat_kv_rslot {
    uint64_t hash;
    const char *val; /* into the snapshot; NULL: LMDB has no such key */
    uint32_t vlen;
    uint32_t gen; /* the snapshot's (kv->rcache_gen); others are stale */
    uint8_t db;
    uint8_t klen;
    char key[RCACHE_KEY];
};

static struct lvat_kv_rslot *
slot_for(lvat_kv *kv, unsigned db, const char *key, size_t klen, uint64_t hash)
{
    struct lvat_kv_rslot *s;

    if (kv->rcache == NULL || klen > RCACHE_KEY)
        return NULL;
    s = &kv->rcache[hash & (RCACHE_SLOTS - 1)];
    if (s->gen != kv->rcache_gen || s->hash != hash || s->klen != klen ||
        s->db != db || memcmp(s->key, key, klen) != 0)
        return NULL;
    return s;
}

bool
lvat__kv_rcache_get(lvat_kv *kv,
                    unsigned db,
                    const char *key,
                    size_t klen,
                    uint64_t hash,
                    int *rc,
                    lvat_val *val)
{
    const struct lvat_kv_rslot *s = slot_for(kv, db, key, klen, hash);

    if (s == NULL)
        return false;
    if (s->val == NULL) {
        *rc = LVAT_ENOTFOUND;
    } else {
        val->p = s->val;
        val->len = s->vlen;
        *rc = LVAT_OK;
    }
    return true;
}

void
lvat__kv_rcache_put(lvat_kv *kv,
                    unsigned db,
                    const char *key,
                    size_t klen,
                    uint64_t hash,
                    const lvat_val *val)
{
    struct lvat_kv_rslot *s;

    if (klen == 0 || klen > RCACHE_KEY)
        return;
    if (kv->rcache == NULL &&
        (kv->rcache = lvat_calloc(RCACHE_SLOTS, sizeof *kv->rcache)) == NULL)
        return; /* a cache is worth no failure */
    s = &kv->rcache[hash & (RCACHE_SLOTS - 1)];
    s->hash = hash;
    s->val = val ? val->p : NULL;
    s->vlen = val ? (uint32_t)val->len : 0;
    s->gen = kv->rcache_gen;
    s->db = (uint8_t)db;
    s->klen = (uint8_t)klen;
    memcpy(s->key, key, klen);
}

void
lvat__kv_rcache_clear(lvat_kv *kv)
{
    /* Every slot of an older generation reads as empty.  Slots start at
     * generation 0 and the count never returns to it. */
    if (++kv->rcache_gen == 0)
        kv->rcache_gen = 1;
    if (kv->rcache_gen == 1 && kv->rcache != NULL)
        memset(kv->rcache, 0, RCACHE_SLOTS * sizeof *kv->rcache);
}

void
lvat__kv_rcache_free(lvat_kv *kv)
{
    lvat_free(kv->rcache);
    kv->rcache = NULL;
}
