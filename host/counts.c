/*
 * Counts most cranks change, kept in memory for the block: each vat's
 * next import and export numbers (v<N>.n), the next kref numbers
 * (nextObjectId, nextPromiseId) and object records (ko<N>: owner and
 * reference counts, which every message to an object bumps while it is
 * queued).  A round trip read, parsed, formatted and wrote five of them;
 * now they reach the overlay once, as the block is written, like the run
 * queue (runq_block.c), through the kv's hooks: a crank's abort undoes
 * what it changed here, a block's abort forgets it.  A vat terminated in
 * the block has its keys deleted: its counters are not written back.
 *
 * Numbering new krefs and vats here also notes which are fresh (made
 * since the store last changed), so that lookups about them can skip
 * LMDB, which holds nothing about them.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

#define KREF_OBJECTS  UINT32_MAX /* ids that are not vat ids */
#define KREF_PROMISES (UINT32_MAX - 1)
#define OBJECT        (UINT64_C(1) << 63) /* | N: the record of koN */

typedef struct slot {
    uint64_t id;  /* a vat id, KREF_OBJECTS / KREF_PROMISES, or OBJECT|N */
    bool used;
    bool loaded;  /* v holds the store's values, or newer */
    bool dirty;   /* newer than the store's */
    bool present; /* objects: the record exists */
    bool fresh;   /* objects: the store has never had it */
    bool gone;    /* vats: terminated, the slot goes with the block */
    uint64_t gen; /* the crank that saved an undo record for it */
    uint64_t v[4];
} slot;

/* A slot as the open crank found it (its gen aside). */
typedef slot undo;

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
home(const lvat_counts *c, uint64_t id)
{
    return (size_t)(((id ^ (id >> 32)) * 0x9e3779b97f4a7c15ull) >> 32) &
           (c->cap - 1);
}

static slot *
find(lvat_counts *c, uint64_t id)
{
    for (size_t i = c->cap ? home(c, id) : 0; c->cap; i = (i + 1) & (c->cap - 1))
        if (!c->t[i].used || c->t[i].id == id)
            return c->t[i].used ? &c->t[i] : NULL;
    return NULL;
}

/* Moves every slot into a new table of cap slots (a power of two, more
 * than twice the slots used). */
static int
rehash(lvat_counts *c, size_t cap)
{
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

static int
grow(lvat_counts *c)
{
    return rehash(c, c->cap ? c->cap * 2 : 16);
}

/* The slot for id, made (not loaded) if need be; NULL: out of memory. */
static slot *
slot_for(lvat_counts *c, uint64_t id)
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
key_of(uint64_t id, lvat_key *key)
{
    if (id == KREF_OBJECTS || id == KREF_PROMISES) {
        key->n = 0;
        lvat_key_add_str(key, id == KREF_OBJECTS ? "nextObjectId"
                                                 : "nextPromiseId");
    } else {
        lvat_key_vat_counters(key, (uint32_t)id);
    }
}

static void
to_kobj(const slot *s, lvat_kobj *o)
{
    o->owner = (uint32_t)s->v[0];
    o->orphaned = s->v[3] != 0;
    o->reach = s->v[1];
    o->recog = s->v[2];
}

static void
from_kobj(slot *s, const lvat_kobj *o)
{
    s->v[0] = o->owner;
    s->v[1] = o->reach;
    s->v[2] = o->recog;
    s->v[3] = o->orphaned;
}

/* An object's record from the store (kobject.c has the format). */
static int
load_object(lvat_kernel *k, slot *s)
{
    lvat_kobj o;
    int rc = lvat__ko_read(k, lvat_kref_object(s->id & ~OBJECT), &o);

    if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
        return rc;
    s->present = rc == LVAT_OK;
    if (s->present)
        from_kobj(s, &o);
    s->loaded = true;
    return LVAT_OK;
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
    if (s->id & OBJECT)
        return load_object(k, s);
    key_of(s->id, &key);
    /* s->id is a vat's here, or a kref counter's (never fresh). */
    rc = lvat__kv_get_fresh(k, s->id < KREF_PROMISES &&
                                   lvat__vat_fresh(k, (uint32_t)s->id),
                            &key, &v);
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

/* touch's slow path: the slot's first change in the open crank. */
static int
save(lvat_counts *c, slot *s)
{
    undo *u;

    if (!lvat_reserve(&c->u, c->nu, &c->capu, sizeof *c->u, 16))
        return LVAT_ENOMEM;
    u = &c->u[c->nu++];
    *u = *s;
    s->gen = c->gen;
    return LVAT_OK;
}

/* Saves the slot as the open crank found it, once per crank. */
static inline int
touch(lvat_counts *c, slot *s)
{
    if (!c->in_crank || s->gen == c->gen)
        return LVAT_OK;
    return save(c, s);
}

/* Writes a dirty slot into the overlay, unless its vat is gone. */
static int
write_slot(lvat_kernel *k, slot *s)
{
    size_t nv = s->id >= KREF_PROMISES ? 1 : 4;
    char text[4 * 21];
    lvat_key key;
    lvat_val v;
    lvat_kobj o;
    int rc;

    if (s->id & OBJECT) {
        lvat_kref ko = lvat_kref_object(s->id & ~OBJECT);
        if (s->present) {
            to_kobj(s, &o);
            return lvat__ko_write(k, ko, &o, s->fresh ? LVAT_KV_NEW : 0);
        }
        return s->fresh ? LVAT_OK : lvat__ko_erase(k, ko);
    }
    if (s->gone)
        return LVAT_OK;
    if (s->id < KREF_PROMISES) {
        lvat_key_vat_record(&key, (uint32_t)s->id);
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
        uint64_t gen;
        if (LVAT_NEVER(s == NULL))
            continue;
        gen = s->gen;
        *s = c->u[i];
        s->gen = gen;
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
            s->dirty = s->fresh = false; /* the overlay has it now */
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
get(lvat_kernel *k, uint64_t id, int *rc)
{
    slot *s = slot_for(k->counts, id);

    if (s == NULL) {
        *rc = LVAT_ENOMEM;
        return NULL;
    }
    if (k->opts.readonly)
        s->loaded = false;
    if (s->loaded) {
        *rc = LVAT_OK;
        return s;
    }
    if ((*rc = touch(k->counts, s)) == LVAT_OK)
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

/* Notes that number n of kind i (fresh_first) was just made.  Every kref
 * or vat stored in LMDB is numbered below its counter's value at any time
 * since the store last changed; n is such a value. */
static void
note_made(lvat_kernel *k, size_t i, uint64_t n)
{
    uint64_t epoch = lvat_kv_epoch(k->kv);

    if (k->fresh_epoch != epoch) {
        k->fresh_epoch = epoch;
        memset(k->fresh_first, 0, sizeof k->fresh_first);
    }
    if (k->fresh_first[i] == 0)
        k->fresh_first[i] = n;
}

static bool
is_fresh(const lvat_kernel *k, size_t i, uint64_t n)
{
    return k->fresh_epoch == lvat_kv_epoch(k->kv) && k->fresh_first[i] != 0 &&
           n >= k->fresh_first[i];
}

int
lvat__kref_alloc(lvat_kernel *k, bool promise, lvat_kref *out)
{
    uint64_t n = 0;
    int rc = lvat__kref_number(k, promise, &n);

    if (rc != LVAT_OK)
        return rc;
    note_made(k, promise, n);
    *out = promise ? lvat_kref_promise(n) : lvat_kref_object(n);
    return LVAT_OK;
}

bool
lvat__kref_fresh(const lvat_kernel *k, lvat_kref r)
{
    return is_fresh(k, lvat_kref_is_promise(r), lvat_kref_num(r));
}

int
lvat__vat_alloc(lvat_kernel *k, uint32_t *out)
{
    uint64_t n = 0;
    int rc = lvat__counter_next(k, "nextVatId", &n);

    if (rc != LVAT_OK)
        return rc;
    /* The two ids above the last are LVAT_NO_DECIDER and, here, the
     * promise counter's slot. */
    if (n >= UINT32_MAX - 1)
        return lvat__fail(k, LVAT_ECORRUPT, "nextVatId %llu is past the "
                          "last vat id, %u: database may be corrupted",
                          (unsigned long long)n, UINT32_MAX - 2);
    note_made(k, 2, n);
    *out = (uint32_t)n;
    return LVAT_OK;
}

bool
lvat__vat_fresh(const lvat_kernel *k, uint32_t vat)
{
    return is_fresh(k, 2, vat);
}

/* Empties slot i of the open addressing, moving back the slots after it
 * that could not sit nearer their home while it was taken (so no
 * tombstones).  Slot i may then hold one of them. */
static void
remove_at(lvat_counts *c, size_t i)
{
    size_t mask = c->cap - 1, j = i;

    for (;;) {
        size_t h;
        j = (j + 1) & mask;
        if (!c->t[j].used)
            break;
        h = home(c, c->t[j].id);
        /* t[j] stays unless its home lies cyclically outside (i, j]. */
        if (i < j ? (h <= i || h > j) : (h <= i && h > j)) {
            c->t[i] = c->t[j];
            i = j;
        }
    }
    c->t[i].used = false;
    c->n--;
}

/* Drops the object records (written, so clean) after a block: their
 * number grows with the objects touched, not the vats; and the counters
 * of vats terminated since (vat ids are never reused: a kernel that
 * launches and ends vats all day kept one slot for each, and scanned
 * them all at every block).  In place: the other vats' counters stay
 * where they are, and rebuilding a table of ten thousand vats after
 * every block was most of a launch's page faults. */
static void
drop_spent(lvat_counts *c)
{
    for (size_t i = 0; i < c->cap;) {
        if (c->t[i].used && ((c->t[i].id & OBJECT) || c->t[i].gone))
            remove_at(c, i); /* and look at slot i again */
        else
            i++;
    }
    /* A block that touched many objects leaves a big table: give most of
     * it back (out of memory, it stays as it is). */
    if (c->cap > 1024 && c->n * 8 < c->cap) {
        size_t cap = 16;
        while (cap < 2 * (c->n + 1))
            cap *= 2;
        (void)rehash(c, cap);
    }
    lvat_release_big(&c->u, &c->capu, 4096); /* after a crank of many */
}

int
lvat__counts_block_writing(lvat_kernel *k)
{
    /* Outside any crank: nothing to undo. */
    int rc = lvat__counts_flush(k);

    if (rc == LVAT_OK)
        drop_spent(k->counts);
    return rc;
}

int
lvat__counts_vat_gone(lvat_kernel *k, uint32_t vat)
{
    slot *s = find(k->counts, vat);
    int rc;

    if (s == NULL || (rc = touch(k->counts, s)) != LVAT_OK)
        return s == NULL ? LVAT_OK : rc;
    s->gone = true;
    return LVAT_OK;
}

size_t
lvat__counts_slots(const lvat_kernel *k)
{
    return k->counts->n;
}

/* ---- Object records (kobject.c's cache) ---- */

int
lvat__ko_cached_get(lvat_kernel *k, lvat_kref ko, lvat_kobj *o)
{
    int rc;
    slot *s = get(k, OBJECT | lvat_kref_num(ko), &rc);

    if (s == NULL)
        return rc;
    if (!s->present)
        return LVAT_ENOTFOUND;
    to_kobj(s, o);
    return LVAT_OK;
}

int
lvat__ko_cached_set(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o,
                    bool fresh)
{
    int rc;
    slot *s = slot_for(k->counts, OBJECT | lvat_kref_num(ko));

    if (s == NULL)
        return LVAT_ENOMEM;
    if ((rc = touch(k->counts, s)) != LVAT_OK)
        return rc;
    /* The whole record is replaced: no need to read the old one. */
    s->fresh = s->fresh || fresh;
    s->loaded = true;
    s->present = o != NULL;
    if (o != NULL)
        from_kobj(s, o);
    s->dirty = true;
    return LVAT_OK;
}
