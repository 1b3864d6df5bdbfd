/*
 * The block's hash table (see kv_int.h): open addressing with linear
 * probing over (hash, entry) slots, and the list of entries in the order
 * made, which walks of the whole block follow.  Entries and values come
 * from the overlay's slab (slab.h): a crank writes and frees dozens, all
 * small.
 */
#include "kv_int.h"

#include <string.h>

#include "alloc.h"
#include "slab.h"

#define MIN_SLOTS 128
/* A block that needed more slots than this gives them back at its end. */
#define KEEP_SLOTS 8192

/* Values keep a NUL after them. */
char *
lvat__kv_val_dup(lvat_kv *kv, const char *p, size_t n)
{
    char *v = lvat_slab_realloc(kv->slab, NULL, 0, n + 1);

    if (v != NULL) {
        if (n)
            memcpy(v, p, n);
        v[n] = '\0';
    }
    return v;
}

void
lvat__kv_val_free(lvat_kv *kv, char *v, size_t n)
{
    if (v != NULL)
        lvat_slab_realloc(kv->slab, v, n + 1, 0);
}

static void
entry_free(lvat_kv *kv, lvat_kv_entry *e)
{
    lvat__kv_val_free(kv, e->val, e->vlen);
    lvat_slab_realloc(kv->slab, e, sizeof *e + e->klen + 1, 0);
}

uint64_t
lvat__kv_hash(const lvat_kv *kv, unsigned db, const char *key, size_t klen)
{
    uint64_t h = kv->seed ^ ((uint64_t)db << 56) ^ klen, w;
    size_t i = 0;

    /* Eight bytes a step (the keys are short, the lookups many); seeded
     * per process, so a vat cannot choose keys that collide. */
    for (; i + 8 <= klen; i += 8) {
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    if (i < klen) {
        w = 0;
        for (unsigned shift = 0; i < klen; i++, shift += 8)
            w |= (uint64_t)(unsigned char)key[i] << shift;
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

lvat_kv_entry *
lvat__kv_find(const lvat_kv *kv, unsigned db, const char *key, size_t klen,
              uint64_t h)
{
    size_t mask = kv->nslots - 1;

    if (kv->nslots == 0)
        return NULL;
    for (size_t i = h & mask; kv->slots[i].e != NULL; i = (i + 1) & mask) {
        lvat_kv_entry *e = kv->slots[i].e;
        if (kv->slots[i].hash == h && e->klen == klen && e->db == db &&
            memcmp(e->key, key, klen) == 0)
            return e;
    }
    return NULL;
}

/* Puts e in the first free slot from its hash's. */
static void
place(struct lvat_kv_slot *slots, size_t mask, uint64_t h, lvat_kv_entry *e)
{
    size_t i = h & mask;

    while (slots[i].e != NULL)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].e = e;
}

static int
grow_table(lvat_kv *kv)
{
    size_t n = kv->nslots ? kv->nslots * 2 : MIN_SLOTS;
    struct lvat_kv_slot *t = lvat_calloc(n, sizeof *t);

    if (t == NULL)
        return LVAT_ENOMEM;
    for (size_t i = 0; i < kv->nslots; i++)
        if (kv->slots[i].e != NULL)
            place(t, n - 1, kv->slots[i].hash, kv->slots[i].e);
    lvat_free(kv->slots);
    kv->slots = t;
    kv->nslots = n;
    return LVAT_OK;
}

/* Frees slot i.  Linear probing needs every later entry of the same run
 * still reachable from its home slot (its hash's): one whose path from
 * home passes the gap moves back into it, and the gap moves to where that
 * entry was. */
static void
vacate(lvat_kv *kv, size_t i)
{
    size_t mask = kv->nslots - 1;

    for (size_t j = (i + 1) & mask; kv->slots[j].e != NULL;
         j = (j + 1) & mask) {
        size_t home = kv->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            kv->slots[i] = kv->slots[j];
            i = j;
        }
    }
    kv->slots[i].e = NULL;
}

/* Closes the holes in kv->made, keeping its order. */
static void
compact_made(lvat_kv *kv)
{
    size_t n = 0;

    for (size_t i = 0; i < kv->nmade; i++) {
        lvat_kv_entry *e = kv->made[i];
        if (e != NULL) {
            e->made = (uint32_t)n;
            kv->made[n++] = e;
        }
    }
    kv->nmade = n;
}

void
lvat__kv_unlink(lvat_kv *kv, lvat_kv_entry *e)
{
    size_t mask = kv->nslots - 1, i = e->hash & mask;

    while (kv->slots[i].e != e)
        i = (i + 1) & mask;
    vacate(kv, i);
    kv->made[e->made] = NULL;
    while (kv->nmade > 0 && kv->made[kv->nmade - 1] == NULL)
        kv->nmade--; /* a crank's undo unlinks the newest first */
    lvat__kv_index_remove(kv, e);
    kv->count--;
    kv->bytes -= LVAT_KV_ENTRY_OVERHEAD + e->klen + e->vlen;
    entry_free(kv, e);
    if (kv->nmade > 2 * kv->count + 64)
        compact_made(kv);
}

lvat_kv_entry *
lvat__kv_insert(lvat_kv *kv, unsigned db, const char *key, size_t klen,
                uint64_t h)
{
    lvat_kv_entry *e;

    if ((kv->count + 1) * 2 > kv->nslots && grow_table(kv) != LVAT_OK)
        return NULL;
    if (!lvat_reserve(&kv->made, kv->nmade, &kv->capmade, sizeof *kv->made,
                      MIN_SLOTS))
        return NULL;
    e = lvat_slab_realloc(kv->slab, NULL, 0, sizeof *e + klen + 1);
    if (e == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    e->hash = h;
    e->klen = (uint32_t)klen;
    e->db = (uint8_t)db;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    place(kv->slots, kv->nslots - 1, h, e);
    e->made = (uint32_t)kv->nmade;
    kv->made[kv->nmade++] = e;
    lvat__kv_index_insert(kv, e);
    kv->count++;
    kv->bytes += LVAT_KV_ENTRY_OVERHEAD + klen;
    return e;
}

void
lvat__kv_clear(lvat_kv *kv)
{
    /* A big block's slab goes back to the system whole, and only values
     * too big for a slab (from the C library) are freed one by one; a
     * small block's entries go back to its slab, for the next block. */
    lvat_slab *fresh = lvat_slab_arena_bytes(kv->slab) > LVAT_SLAB_KEEP
                           ? lvat_slab_new()
                           : NULL;

    for (size_t i = 0; i < kv->nmade; i++) {
        lvat_kv_entry *e = kv->made[i];
        if (e == NULL)
            continue;
        if (fresh == NULL)
            entry_free(kv, e);
        else if ((size_t)e->vlen + 1 > LVAT_SLAB_MAX)
            lvat__kv_val_free(kv, e->val, e->vlen);
    }
    if (fresh != NULL) {
        lvat_slab_free(kv->slab);
        kv->slab = fresh;
    }
    kv->nmade = 0;
    lvat_release_big(&kv->made, &kv->capmade, KEEP_SLOTS / 2);
    if (kv->nslots > KEEP_SLOTS) {
        /* lvat__kv_insert() makes a small table again on the next write. */
        lvat_free(kv->slots);
        kv->slots = NULL;
        kv->nslots = 0;
    } else if (kv->count > 0) {
        memset(kv->slots, 0, kv->nslots * sizeof *kv->slots);
    }
    kv->root = NULL;
    kv->indexed = false;
    kv->count = 0;
    kv->bytes = 0;
}

