/*
 * Promise records cached for the block, and decider-index changes for the
 * crank.  A round trip makes a promise, hands its decision from sender to
 * receiver, settles it and collects it, over three cranks; as overlay keys
 * its record was parsed, formatted and written again and again.  Here it
 * lives as a struct until the block is written (or a raw reader asks:
 * lvat__block_flush), like the counters and the run queue, following the
 * kv's hooks: a crank saves an entry before it first changes it and its
 * abort restores it; a block's abort forgets them all.  A record born and
 * collected within the block never becomes a key.  A read-only view reads
 * the store, which another process may change.
 *
 * Decider-index changes wait for the end of a crank run by crank.c: a
 * message's result is decided by its receiver from delivery until the
 * receiver resolves it, most often in the same crank, and a send's result
 * by its sender until it is queued; the index entry each made and deleted
 * cancels out.
 */
#include "kpcache_int.h"

#include <string.h>

#include "alloc.h"
#include "slab.h"

#define CANCEL_WINDOW 8 /* index changes searched for one to cancel */

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

/* Moves a record into dst, which must hold none (subs stay valid). */
static void
move_record(lvat_kprom *dst, lvat_kprom *src)
{
    *dst = *src;
    if (src->subs == src->subs_inline)
        dst->subs = dst->subs_inline;
    src->subs = src->subs_inline;
    src->nsubs = 0;
}

bool
lvat__kpc_enabled(const lvat_kernel *k)
{
    return k->kpc != NULL && !k->opts.readonly;
}

/* Promises are made, settled and collected in order: lvat_ref_hash. */
static size_t
bucket(const struct lvat_kpcache *c, lvat_kref kp)
{
    return (size_t)lvat_ref_hash(kp.v) & (c->nb - 1);
}

entry *
lvat__kpc_lookup(const struct lvat_kpcache *c, lvat_kref kp)
{
    if (c->n == 0)
        return NULL;
    for (entry *e = c->b[bucket(c, kp)]; e; e = e->next)
        if (lvat_kref_eq(e->kp, kp))
            return e;
    return NULL;
}

static int
grow(struct lvat_kpcache *c)
{
    size_t nb = c->nb ? c->nb * 2 : 64, oldnb = c->nb;
    entry **b = lvat_calloc(nb, sizeof *b), **old = c->b;

    if (b == NULL)
        return LVAT_ENOMEM;
    c->b = b;
    c->nb = nb;
    for (size_t i = 0; i < oldnb; i++) {
        entry *e = old[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[bucket(c, e->kp)];
            b[bucket(c, e->kp)] = e;
        }
    }
    lvat_free(old);
    return LVAT_OK;
}

static void
unlink_entry(struct lvat_kpcache *c, entry *e)
{
    entry **pp = &c->b[bucket(c, e->kp)];

    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    lvat__kp_release(&e->p);
    lvat__kpv_free(c, e);
    c->n--;
    lvat_slab_release(c->slab, e, sizeof *e);
}

static lvat_kprom *
undo_record(undo *u)
{
    if (u->p.nsubs <= LVAT_ARRAY_LEN(u->p.subs_inline))
        u->p.subs = u->p.subs_inline;
    return &u->p;
}

int
lvat__kpc_save(struct lvat_kpcache *c, entry *e, bool created)
{
    undo *u;

    if (created) {
        if (!lvat_reserve(&c->born, c->nborn, &c->capborn, sizeof *c->born,
                          32))
            return LVAT_ENOMEM;
        c->born[c->nborn++] = e;
        e->undo = BORN;
        e->gen = c->gen;
        return LVAT_OK;
    }
    if (!lvat_reserve(&c->u, c->nu, &c->capu, sizeof *c->u, 32))
        return LVAT_ENOMEM;
    u = &c->u[c->nu];
    u->p.subs = u->p.subs_inline;
    if (lvat__kp_copy(&u->p, &e->p) != LVAT_OK)
        return LVAT_ENOMEM;
    u->e = e;
    u->present = e->present;
    u->dirty = e->dirty;
    u->fresh = e->fresh;
    u->val = e->val;
    u->vlen = e->vlen;
    u->value = e->value;
    u->vdirty = e->vdirty;
    u->vfresh = e->vfresh;
    e->undo = c->nu++;
    e->gen = c->gen;
    return LVAT_OK;
}

/* kp's entry, made (and saved as made) if there is none; NULL: no memory. */
static entry *
entry_for(struct lvat_kpcache *c, lvat_kref kp, bool *created)
{
    entry *e = lvat__kpc_lookup(c, kp);

    *created = e == NULL;
    if (e != NULL)
        return lvat__kpc_touch(c, e, false) == LVAT_OK ? e : NULL;
    if (c->n + 1 > c->nb && grow(c) != LVAT_OK)
        return NULL;
    if ((e = lvat_slab_alloc(c->slab, sizeof *e)) == NULL)
        return NULL;
    memset(e, 0, sizeof *e);
    e->kp = kp;
    e->p.subs = e->p.subs_inline;
    e->next = c->b[bucket(c, kp)];
    c->b[bucket(c, kp)] = e;
    c->n++;
    if (lvat__kpc_touch(c, e, true) != LVAT_OK) {
        unlink_entry(c, e);
        return NULL;
    }
    return e;
}

/* On failure the entry stays dirty: the block's write fails and is
 * tried again, or the crank fails; nothing is dropped unwritten. */
static int
write_back(lvat_kernel *k, entry *e)
{
    int rc = lvat__kpv_write_back(k, e);

    if (rc != LVAT_OK || !e->present || !e->dirty)
        return rc;
    if ((rc = lvat__kpc_touch(k->kpc, e, false)) != LVAT_OK)
        return rc;
    rc = lvat__kp_write(k, e->kp, &e->p, e->fresh ? LVAT_KV_NEW : 0);
    if (rc == LVAT_OK)
        e->dirty = e->fresh = false; /* the overlay has it now */
    return rc;
}

/* Frees every entry: the block was written, or abandoned.  No crank is
 * open.  A burst's arrays go too, so one big block does not pin them. */
static void
drop_all(struct lvat_kpcache *c)
{
    for (size_t i = 0; i < c->nb && c->n > 0; i++)
        while (c->b[i] != NULL)
            unlink_entry(c, c->b[i]);
    lvat_slab_shed(&c->slab, LVAT_SLAB_KEEP);
    lvat_release_big(&c->b, &c->nb, 1024);
    lvat_release_big(&c->u, &c->capu, 1024);
    lvat_release_big(&c->born, &c->capborn, 1024);
    c->vbytes = 0;
}

/* ---- Decider-index changes (crank.c's cranks) ---- */

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
    if (k->kpc != NULL) /* without it, changes go straight to the store */
        k->kpc->on = true;
}

int
lvat__kpc_end(lvat_kernel *k, bool commit)
{
    struct lvat_kpcache *c = k->kpc;
    int rc = LVAT_OK;

    if (c == NULL)
        return LVAT_OK;
    if (commit)
        rc = index_write_back(k);
    c->nops = 0;
    c->on = false;
    return rc;
}

/* ---- The kv's hooks (through kernel.c) ---- */

void
lvat__kpc_crank_begin(lvat_kernel *k)
{
    k->kpc->in_crank = true;
    k->kpc->gen++;
    k->kpc->nu = k->kpc->nborn = 0;
}

/* A promise born and collected in this block, with nothing left to
 * write: the overlay and the store never had it, so a lookup that misses
 * the cache finds nothing either, and the entry can go (a long block of
 * round trips would otherwise keep one per promise). */
static bool
gone_unwritten(const entry *e)
{
    return !e->present && e->fresh && !e->vdirty;
}

void
lvat__kpc_crank_end(lvat_kernel *k, bool commit)
{
    struct lvat_kpcache *c = k->kpc;

    for (size_t i = c->nu; i-- > 0;) {
        undo *u = &c->u[i];
        entry *e = u->e;
        if (commit) {
            lvat__kp_release(undo_record(u));
            lvat__kpv_commit(c, u);
            if (gone_unwritten(e))
                unlink_entry(c, e);
            continue;
        }
        lvat__kp_release(&e->p);
        move_record(&e->p, undo_record(u));
        e->present = u->present;
        e->dirty = u->dirty;
        e->fresh = u->fresh;
        lvat__kpv_abort(c, u);
    }
    for (size_t i = 0; i < c->nborn; i++)
        if (!commit || gone_unwritten(c->born[i]))
            unlink_entry(c, c->born[i]);
    lvat__kpv_empty_trash(c);
    c->nu = c->nborn = 0;
    c->in_crank = false;
}

int
lvat__kpc_block_writing(lvat_kernel *k)
{
    int rc = lvat__kpc_flush(k); /* outside any crank: nothing to undo */

    if (rc == LVAT_OK)
        drop_all(k->kpc);
    return rc;
}

void
lvat__kpc_forget_all(lvat_kernel *k)
{
    struct lvat_kpcache *c = k->kpc;

    for (size_t i = 0; i < c->nu; i++) {
        lvat__kp_release(undo_record(&c->u[i]));
        lvat__kpv_commit(c, &c->u[i]); /* the entries go too */
    }
    lvat__kpv_empty_trash(c);
    c->nu = c->nborn = c->nops = 0;
    drop_all(c);
}

/* ---- Kernel side ---- */

int
lvat__kpc_open(lvat_kernel *k)
{
    k->kpc = lvat_calloc(1, sizeof *k->kpc);
    if (k->kpc != NULL && (k->kpc->slab = lvat_slab_new()) == NULL) {
        lvat_free(k->kpc);
        k->kpc = NULL;
    }
    return k->kpc ? LVAT_OK : LVAT_ENOMEM;
}

int
lvat__kpc_flush(lvat_kernel *k)
{
    struct lvat_kpcache *c = k->kpc;
    int rc = LVAT_OK;

    for (size_t i = 0; c != NULL && i < c->nb && rc == LVAT_OK; i++)
        for (entry *e = c->b[i]; e && rc == LVAT_OK; e = e->next)
            rc = write_back(k, e);
    return c != NULL && rc == LVAT_OK ? index_write_back(k) : rc;
}

void
lvat__kpc_free(lvat_kernel *k)
{
    struct lvat_kpcache *c = k->kpc;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nu; i++) {
        lvat__kp_release(undo_record(&c->u[i]));
        lvat__kpv_commit(c, &c->u[i]);
    }
    lvat__kpv_empty_trash(c);
    drop_all(c);
    lvat_slab_free(c->slab);
    lvat_free(c->b);
    lvat_free(c->u);
    lvat_free(c->born);
    lvat_free(c->trash);
    lvat_free(c->ops);
    lvat_free(c);
    k->kpc = NULL;
}

/* ---- kpromise.c's side ---- */

bool
lvat__kpc_changed(const lvat_kernel *k)
{
    const struct lvat_kpcache *c = k->kpc;

    for (size_t i = 0; c != NULL && c->n > 0 && i < c->nb; i++)
        for (const entry *e = c->b[i]; e; e = e->next)
            if (e->dirty || e->vdirty)
                return true;
    return false;
}

size_t
lvat__kpc_bytes(const lvat_kernel *k)
{
    return k->kpc != NULL ? k->kpc->n * sizeof(entry) + k->kpc->vbytes : 0;
}

int
lvat__kpc_get(lvat_kernel *k, lvat_kref kp, lvat_kprom *out, bool *cached)
{
    const entry *e = lvat__kpc_enabled(k) ? lvat__kpc_lookup(k->kpc, kp) : NULL;

    *cached = e != NULL;
    if (e == NULL)
        return LVAT_OK;
    return e->present ? lvat__kp_copy(out, &e->p) : LVAT_ENOTFOUND;
}

int
lvat__kpc_store(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p,
                bool dirty, bool fresh, bool *cached)
{
    lvat_kprom copy;
    bool created;
    entry *e;

    *cached = lvat__kpc_enabled(k);
    if (!*cached)
        return LVAT_OK;
    if (lvat__kp_copy(&copy, p) != LVAT_OK)
        return LVAT_ENOMEM;
    if ((e = entry_for(k->kpc, kp, &created)) == NULL) {
        lvat__kp_release(&copy);
        return LVAT_ENOMEM;
    }
    lvat__kp_release(&e->p);
    move_record(&e->p, &copy);
    e->present = true;
    e->dirty = e->dirty || dirty;
    if (created)
        e->fresh = fresh;
    return LVAT_OK;
}

int
lvat__kpc_forget(lvat_kernel *k, lvat_kref kp, bool *unwritten)
{
    entry *e = lvat__kpc_enabled(k) ? lvat__kpc_lookup(k->kpc, kp) : NULL;

    *unwritten = false;
    if (e == NULL)
        return LVAT_OK;
    if (lvat__kpc_touch(k->kpc, e, false) != LVAT_OK)
        return LVAT_ENOMEM; /* the entry is as it was: the crank fails */
    *unwritten = e->fresh;
    lvat__kp_release(&e->p);
    e->present = e->dirty = false; /* the caller deletes any key */
    return LVAT_OK;
}

int
lvat__kpc_add_refs(lvat_kernel *k, lvat_kref kp, int delta, bool *zeroed,
                   bool *done)
{
    lvat_kprom tmp;
    entry *e;
    int rc;

    *done = false;
    if (!lvat__kpc_enabled(k))
        return LVAT_OK;
    if ((e = lvat__kpc_lookup(k->kpc, kp)) == NULL) {
        if ((rc = lvat__kp_get(k, kp, &tmp)) != LVAT_OK)
            return rc;
        lvat__kp_release(&tmp);
        if ((e = lvat__kpc_lookup(k->kpc, kp)) == NULL)
            return LVAT_OK; /* no memory to cache it: the slow way */
    }
    if (!e->present)
        return LVAT_ENOTFOUND;
    if (lvat__kpc_touch(k->kpc, e, false) != LVAT_OK)
        return LVAT_ENOMEM;
    *done = true;
    if (delta < 0 && e->p.refs == 0)
        return LVAT_OK;
    e->p.refs = delta > 0 ? e->p.refs + 1 : e->p.refs - 1;
    *zeroed = e->p.refs == 0;
    e->dirty = true;
    return LVAT_OK;
}
