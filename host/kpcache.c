/*
 * Promise records cached for one crank.  A crank reads and rewrites the
 * same few promise records again and again (one round trip used to splice
 * a count into a kp record seven times and parse one seven more); inside
 * a crank run by crank.c they live here as structs and reach the overlay
 * once, when the crank commits.  So do changes to the decider index: a
 * message's result is decided by its receiver from delivery until the
 * receiver resolves it, most often in the same crank, and a send's result
 * by its sender from the send until it is queued, always in one crank;
 * the index entry each of these made and deleted now cancels out.  The kernel's other short transactions
 * (open, host services, stats, reset) and everything between cranks go
 * straight to the store: the cache is empty then.  An aborted crank drops
 * it unwritten, so nothing here outlives the crank that loaded it.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

#define SLOTS 32 /* a crank touches a few promises; more are written early */
#define CANCEL_WINDOW 8 /* index changes searched for one to cancel */

typedef struct entry {
    lvat_kref kp;
    lvat_kprom p; /* subs in p.subs_inline, or owned */
    bool dirty;   /* differs from the overlay */
    bool fresh;   /* made in this crank: written with LVAT_KV_NEW */
} entry;

/* A change to the decider index: v<vat>.d.<kp> added or deleted. */
typedef struct index_op {
    lvat_kref kp;
    uint32_t vat;
    bool add;
} index_op;

struct lvat_kpcache {
    entry e[SLOTS];
    index_op *ops; /* in order; applied when the crank commits */
    size_t nops, capops;
    unsigned n;    /* slots in use */
    unsigned next; /* the slot given up next when all are used */
    bool on;
};

int
lvat__kp_copy(lvat_kprom *dst, const lvat_kprom *src)
{
    *dst = *src;
    dst->subs = dst->subs_inline;
    if (src->nsubs <= LVAT_ARRAY_LEN(dst->subs_inline)) {
        memcpy(dst->subs_inline, src->subs, src->nsubs * sizeof *src->subs);
        return LVAT_OK;
    }
    dst->subs = lvat_malloc(src->nsubs * sizeof *src->subs);
    if (dst->subs == NULL) {
        dst->subs = dst->subs_inline;
        dst->nsubs = 0;
        return LVAT_ENOMEM;
    }
    memcpy(dst->subs, src->subs, src->nsubs * sizeof *src->subs);
    return LVAT_OK;
}

static int
write_back(lvat_kernel *k, entry *e)
{
    int rc;

    if (!e->dirty)
        return LVAT_OK;
    /* On failure the entry stays dirty: the crank fails, or a later
     * write-back tries again; nothing is dropped unwritten. */
    rc = lvat__kp_write(k, e->kp, &e->p, e->fresh ? LVAT_KV_NEW : 0);
    if (rc == LVAT_OK)
        e->dirty = e->fresh = false; /* the overlay has it now */
    return rc;
}

int
lvat__kpc_index(lvat_kernel *k, uint32_t vat, lvat_kref kp, bool add,
                bool *deferred)
{
    struct lvat_kpcache *c = k->kpc;
    size_t i;

    *deferred = c != NULL && c->on;
    if (!*deferred)
        return LVAT_OK;
    for (i = c->nops; i > 0 && i + CANCEL_WINDOW > c->nops; i--) {
        index_op *o = &c->ops[i - 1];
        if (o->vat == vat && lvat_kref_eq(o->kp, kp) && o->add != add) {
            memmove(o, o + 1, (c->nops - i) * sizeof *o);
            c->nops--;
            return LVAT_OK;
        }
    }
    if (!lvat_reserve(&c->ops, c->nops, &c->capops, sizeof *c->ops, 16))
        return LVAT_ENOMEM;
    c->ops[c->nops++] = (index_op){kp, vat, add};
    return LVAT_OK;
}

/* Applies the crank's index changes to the overlay, in order.  An entry
 * is added as absent from LMDB: the index names a vat only while it
 * decides (a key deleted earlier in this block is still in the overlay,
 * which the flag does not override), so a promise decided and settled
 * inside one block never reaches LMDB. */
static int
index_write_back(lvat_kernel *k)
{
    struct lvat_kpcache *c = k->kpc;
    int rc = LVAT_OK;
    size_t i;

    for (i = 0; i < c->nops && rc == LVAT_OK; i++) {
        lvat_key key;
        lvat_key_vat_decider(&key, c->ops[i].vat, c->ops[i].kp);
        rc = c->ops[i].add ? lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n,
                                         "", 0, LVAT_KV_NEW)
                           : lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    }
    /* On failure they all stay (applying one twice changes nothing):
     * the crank fails, or a flush tries again. */
    if (rc == LVAT_OK)
        c->nops = 0;
    return rc;
}

void
lvat__kpc_begin(lvat_kernel *k)
{
    if (k->kpc == NULL)
        k->kpc = lvat_calloc(1, sizeof *k->kpc);
    if (k->kpc != NULL) /* without it, records go straight to the store */
        k->kpc->on = true;
}

int
lvat__kpc_end(lvat_kernel *k, bool commit)
{
    struct lvat_kpcache *c = k->kpc;
    int rc = LVAT_OK;

    if (c == NULL)
        return LVAT_OK;
    for (unsigned i = 0; i < c->n; i++) {
        if (commit && rc == LVAT_OK)
            rc = write_back(k, &c->e[i]);
        lvat__kp_release(&c->e[i].p);
    }
    if (commit && rc == LVAT_OK)
        rc = index_write_back(k);
    c->n = c->next = c->nops = 0;
    c->on = false;
    return rc;
}

int
lvat__kpc_flush(lvat_kernel *k)
{
    struct lvat_kpcache *c = k->kpc;
    int rc = LVAT_OK;

    for (unsigned i = 0; c != NULL && i < c->n && rc == LVAT_OK; i++)
        rc = write_back(k, &c->e[i]);
    if (c != NULL && rc == LVAT_OK)
        rc = index_write_back(k);
    if (rc == LVAT_OK)
        rc = lvat__clb_flush(k);
    return rc == LVAT_OK ? lvat__counts_flush(k) : rc;
}

void
lvat__kpc_free(lvat_kernel *k)
{
    if (k->kpc != NULL) {
        lvat__kpc_end(k, false);
        lvat_free(k->kpc->ops);
    }
    lvat_free(k->kpc);
    k->kpc = NULL;
}

lvat_kprom *
lvat__kpc_find(lvat_kernel *k, lvat_kref kp, bool dirty)
{
    struct lvat_kpcache *c = k->kpc;

    if (c == NULL || !c->on)
        return NULL;
    for (unsigned i = 0; i < c->n; i++)
        if (lvat_kref_eq(c->e[i].kp, kp)) {
            c->e[i].dirty = c->e[i].dirty || dirty;
            return &c->e[i].p;
        }
    return NULL;
}

/* A slot for kp: a free one, else the next in turn, written back first. */
static int
take_slot(lvat_kernel *k, entry **out)
{
    struct lvat_kpcache *c = k->kpc;
    entry *e;
    int rc;

    if (c->n < SLOTS) {
        *out = &c->e[c->n++];
        return LVAT_OK;
    }
    e = &c->e[c->next];
    c->next = (c->next + 1) % SLOTS;
    if ((rc = write_back(k, e)) != LVAT_OK)
        return rc;
    lvat__kp_release(&e->p);
    *out = e;
    return LVAT_OK;
}

bool lvat__kpc_forget(lvat_kernel *k, lvat_kref kp);

int
lvat__kpc_store(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p,
                bool dirty, bool fresh, bool *cached)
{
    lvat_kprom *have = lvat__kpc_find(k, kp, dirty);
    entry *e;
    int rc;

    *cached = k->kpc != NULL && k->kpc->on;
    if (!*cached)
        return LVAT_OK;
    if (have != NULL) {
        lvat_kprom copy;
        if ((rc = lvat__kp_copy(&copy, p)) != LVAT_OK)
            return rc;
        lvat__kp_release(have);
        *have = copy;
        have->subs = copy.subs == copy.subs_inline ? have->subs_inline
                                                   : copy.subs;
        return LVAT_OK;
    }
    if ((rc = take_slot(k, &e)) != LVAT_OK)
        return rc;
    e->kp = kp;
    e->dirty = dirty;
    e->fresh = fresh;
    if ((rc = lvat__kp_copy(&e->p, p)) != LVAT_OK) {
        e->dirty = false;
        lvat__kpc_forget(k, kp); /* no half-made entry stays */
    }
    return rc;
}

bool
lvat__kpc_forget(lvat_kernel *k, lvat_kref kp)
{
    struct lvat_kpcache *c = k->kpc;
    bool unwritten;

    if (c == NULL || !c->on)
        return false;
    for (unsigned i = 0; i < c->n; i++)
        if (lvat_kref_eq(c->e[i].kp, kp)) {
            unwritten = c->e[i].fresh;
            lvat__kp_release(&c->e[i].p);
            c->e[i] = c->e[--c->n];
            if (c->e[i].p.subs == c->e[c->n].p.subs_inline)
                c->e[i].p.subs = c->e[i].p.subs_inline;
            if (c->next > c->n)
                c->next = 0;
            return unwritten;
        }
    return false;
}

int
lvat__kpc_add_refs(lvat_kernel *k, lvat_kref kp, int delta, bool *zeroed,
                   bool *done)
{
    lvat_kprom *c = lvat__kpc_find(k, kp, false), tmp;
    int rc;

    *done = false;
    if (k->kpc == NULL || !k->kpc->on)
        return LVAT_OK;
    if (c == NULL) {
        if ((rc = lvat__kp_get(k, kp, &tmp)) != LVAT_OK)
            return rc;
        lvat__kp_release(&tmp);
        if ((c = lvat__kpc_find(k, kp, false)) == NULL)
            return LVAT_OK;
    }
    *done = true;
    if (delta < 0 && c->refs == 0)
        return LVAT_OK;
    c->refs = delta > 0 ? c->refs + 1 : c->refs - 1;
    *zeroed = c->refs == 0;
    lvat__kpc_find(k, kp, true);
    return LVAT_OK;
}
