/*
 * Counters most cranks bump, kept in memory for the block: each vat's
 * next import and export numbers (v<N>.n) and the next kref numbers
 * (nextObjectId, nextPromiseId).  A round trip read, parsed, formatted
 * and wrote three of them; now they reach the overlay once, as the block
 * is written, like the run queue (runq_block.c), through the kv's hooks:
 * a crank's abort undoes what it changed here, a block's abort forgets it.
 * A vat terminated in the block has its keys deleted: its counters are
 * not written back.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

#define KREF_OBJECTS  UINT32_MAX /* ids that are not vat ids */
#define KREF_PROMISES (UINT32_MAX - 1)

typedef struct slot {
    uint32_t id;  /* a vat id, or KREF_OBJECTS / KREF_PROMISES */
    bool used;
    bool loaded;  /* v holds the store's values, or newer */
    bool dirty;   /* newer than the store's */
    uint64_t gen; /* the crank that saved an undo record for it */
    uint64_t v[4];
} slot;

/* A slot as the open crank found it. */
typedef struct undo {
    uint32_t id;
    bool loaded, dirty;
    uint64_t v[4];
} undo;

struct lvat_counts {
    slot *t; /* open addressing on id, cap a power of two */
    size_t cap, n;
    undo *u;
    size_t nu, capu;
    uint64_t gen; /* counts cranks from 1: never wraps to a slot's 0 */
    bool in_crank;
};

typedef struct lvat_counts lvat_counts;

static size_t
home(const lvat_counts *c, uint32_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (c->cap - 1);
}

static slot *
find(lvat_counts *c, uint32_t id)
{
    for (size_t i = c->cap ? home(c, id) : 0; c->cap; i = (i + 1) & (c->cap - 1))
        if (!c->t[i].used || c->t[i].id == id)
            return c->t[i].used ? &c->t[i] : NULL;
    return NULL;
}

static int
grow(lvat_counts *c)
{
    size_t cap = c->cap ? c->cap * 2 : 16;
    slot *old = c->t, *t = lvat_calloc(cap, sizeof *t);
    size_t oldcap = c->cap;

    if (t == NULL)
        return LVAT_ENOMEM;
    c->t = t;
    c->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        size_t j;
        if (!old[i].used)
            continue;
        for (j = home(c, old[i].id); t[j].used; j = (j + 1) & (cap - 1))
            ;
        t[j] = old[i];
    }
    lvat_free(old);
    return LVAT_OK;
}

/* The slot for id, made (not loaded) if need be; NULL: out of memory. */
static slot *
slot_for(lvat_counts *c, uint32_t id)
{
    slot *s = find(c, id);
    size_t i;

    if (s != NULL)
        return s;
    if ((c->n + 1) * 2 > c->cap && grow(c) != LVAT_OK)
        return NULL;
    for (i = home(c, id); c->t[i].used; i = (i + 1) & (c->cap - 1))
        ;
    memset(&c->t[i], 0, sizeof c->t[i]);
    c->t[i].used = true;
    c->t[i].id = id;
    c->n++;
    return &c->t[i];
}

static void
key_of(uint32_t id, lvat_key *key)
{
    if (id == KREF_OBJECTS || id == KREF_PROMISES) {
        key->n = 0;
        lvat_key_add_str(key, id == KREF_OBJECTS ? "nextObjectId"
                                                 : "nextPromiseId");
    } else {
        lvat_key_vat_counters(key, id);
    }
}

/* Reads the slot's values from the store (1s where there are none). */
static int
load(lvat_kernel *k, slot *s)
{
    size_t nv = s->id >= KREF_PROMISES ? 1 : 4;
    lvat_key key;
    lvat_val v;
    int rc;

    if (s->loaded)
        return LVAT_OK;
    key_of(s->id, &key);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    for (size_t i = 0; i < 4; i++)
        s->v[i] = 1;
    if (rc == LVAT_ENOTFOUND)
        rc = LVAT_OK;
    else if (rc == LVAT_OK && lvat_parse_u64s(v.p, v.len, s->v, nv) != LVAT_OK)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad counters: database may be corrupted",
                          key.b);
    if (rc == LVAT_OK)
        s->loaded = true;
    return rc;
}

/* Saves the slot as the open crank found it, once per crank. */
static int
touch(lvat_counts *c, slot *s)
{
    undo *u;

    if (!c->in_crank || s->gen == c->gen)
        return LVAT_OK;
    if (!lvat_reserve(&c->u, c->nu, &c->capu, sizeof *c->u, 16))
        return LVAT_ENOMEM;
    u = &c->u[c->nu++];
    u->id = s->id;
    u->loaded = s->loaded;
    u->dirty = s->dirty;
    memcpy(u->v, s->v, sizeof u->v);
    s->gen = c->gen;
    return LVAT_OK;
}

/* Writes a dirty slot into the overlay, unless its vat is gone. */
static int
write_slot(lvat_kernel *k, slot *s)
{
    size_t nv = s->id >= KREF_PROMISES ? 1 : 4;
    char text[4 * 21];
    lvat_key key;
    lvat_val v;
    int rc;

    if (s->id < KREF_PROMISES) {
        lvat_key_vat_record(&key, s->id);
        rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
        if (rc == LVAT_ENOTFOUND)
            return LVAT_OK; /* terminated: its keys are gone */
        if (rc != LVAT_OK)
            return rc;
    }
    key_of(s->id, &key);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, text,
                       lvat_fmt_u64s(text, s->v, nv), 0);
}

/* ---- The kv's hooks (through kernel.c) ---- */

void
lvat__counts_crank_begin(lvat_kernel *k)
{
    k->counts->in_crank = true;
    k->counts->gen++;
    k->counts->nu = 0;
}

void
lvat__counts_crank_end(lvat_kernel *k, bool commit)
{
    lvat_counts *c = k->counts;

    c->in_crank = false;
    for (size_t i = c->nu; !commit && i-- > 0;) {
        slot *s = find(c, c->u[i].id);
        if (LVAT_NEVER(s == NULL))
            continue;
        s->loaded = c->u[i].loaded;
        s->dirty = c->u[i].dirty;
        memcpy(s->v, c->u[i].v, sizeof s->v);
    }
    c->nu = 0;
}

int
lvat__counts_flush(lvat_kernel *k)
{
    lvat_counts *c = k->counts;
    int rc = LVAT_OK;

    for (size_t i = 0; i < c->cap && rc == LVAT_OK; i++) {
        slot *s = &c->t[i];
        if (!s->used || !s->dirty)
            continue;
        if ((rc = touch(c, s)) == LVAT_OK &&
            (rc = write_slot(k, s)) == LVAT_OK)
            s->dirty = false;
    }
    return rc;
}

bool
lvat__counts_changed(const lvat_kernel *k)
{
    const lvat_counts *c = k->counts;

    for (size_t i = 0; c != NULL && i < c->cap; i++)
        if (c->t[i].used && c->t[i].dirty)
            return true;
    return false;
}

void
lvat__counts_forget(lvat_kernel *k)
{
    lvat_counts *c = k->counts;

    if (c->cap > 0)
        memset(c->t, 0, c->cap * sizeof *c->t);
    c->n = c->nu = 0;
}

/* ---- Kernel side ---- */

int
lvat__counts_open(lvat_kernel *k)
{
    k->counts = lvat_calloc(1, sizeof *k->counts);
    return k->counts ? LVAT_OK : LVAT_ENOMEM;
}

void
lvat__counts_free(lvat_kernel *k)
{
    if (k->counts == NULL)
        return;
    lvat_free(k->counts->t);
    lvat_free(k->counts->u);
    lvat_free(k->counts);
    k->counts = NULL;
}

/* The loaded slot for id (NULL with *rc set on failure).  A slot first
 * loaded in a crank is saved first, so an abort makes it unloaded again:
 * the crank may have changed the key under it (termination deletes a
 * vat's keys).  A read-only view may see another writer's commits, so it
 * always reads the store. */
static slot *
get(lvat_kernel *k, uint32_t id, int *rc)
{
    slot *s = slot_for(k->counts, id);

    if (s == NULL) {
        *rc = LVAT_ENOMEM;
        return NULL;
    }
    if (k->opts.readonly)
        s->loaded = false;
    *rc = s->loaded ? LVAT_OK : touch(k->counts, s);
    if (*rc == LVAT_OK)
        *rc = load(k, s);
    return *rc == LVAT_OK ? s : NULL;
}

int
lvat__vat_counts(lvat_kernel *k, uint32_t vat, uint64_t v[4])
{
    int rc;
    slot *s = get(k, vat, &rc);

    if (s != NULL)
        memcpy(v, s->v, sizeof s->v);
    return rc;
}

int
lvat__vat_counts_set(lvat_kernel *k, uint32_t vat, const uint64_t v[4])
{
    int rc;
    slot *s = get(k, vat, &rc);

    if (s == NULL || (rc = touch(k->counts, s)) != LVAT_OK)
        return rc;
    memcpy(s->v, v, sizeof s->v);
    s->dirty = true;
    return LVAT_OK;
}

int
lvat__kref_number(lvat_kernel *k, bool promise, uint64_t *out)
{
    int rc;
    slot *s = get(k, promise ? KREF_PROMISES : KREF_OBJECTS, &rc);

    if (s == NULL || (rc = touch(k->counts, s)) != LVAT_OK)
        return rc;
    *out = s->v[0]++;
    s->dirty = true;
    return LVAT_OK;
}

int
lvat__counts_block_writing(lvat_kernel *k)
{
    return lvat__counts_flush(k); /* outside any crank: nothing to undo */
}
