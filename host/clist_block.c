/*
 * C-list pairs made in this block, kept in memory until the block is
 * written (like the run queue and the counters, through the kv's hooks).
 * A round trip gives the result promise a pair in the sender's c-list and
 * one in the receiver's, and retires both within the block; as overlay
 * keys each pair cost two formatted puts, two deletes and the lookups
 * between.  A pair lives here only while the store has no copy of it
 * (clist.c adds one only where it would have written LVAT_KV_NEW), so a
 * lookup that misses here asks the store as before.  Anything that reads
 * the kernel's keys in order (termination, inspection, reset) first has
 * them written out: kernel.c's scan hook calls lvat__clb_flush.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"
#include "slab.h"

typedef struct centry {
    struct centry *knext, *vnext; /* hash chains */
    uint64_t gen;                 /* the crank that saved an undo record */
    lvat_kref kref;
    lvat_vref vref;
    uint32_t vat;
    bool reach;
    bool live; /* false: gone in the open crank, kept for its undo */
} centry;

/* An entry as the open crank found it. */
typedef struct undo {
    centry *e;
    bool created, live, reach;
} undo;

struct lvat_clb {
    centry **kb, **vb; /* buckets by (vat, kref) and by (vat, vref) */
    size_t nb, n;      /* buckets (a power of two), linked entries */
    size_t live;
    struct lvat_slab *slab; /* the entries (malloc cost ten times as
                             * much, once a send) */
    undo *u;
    size_t nu, capu;
    uint64_t gen; /* counts cranks from 1 */
    bool in_crank;
};

/* Refs are made and used in order (lvat_ref_hash); the vat goes in above
 * any ref number. */
static size_t
bucket(const lvat_clb *c, uint32_t vat, uint64_t ref)
{
    return (size_t)lvat_ref_hash(ref ^ (uint64_t)vat << 40) & (c->nb - 1);
}

static centry *
by_kref(const lvat_clb *c, uint32_t vat, lvat_kref r)
{
    if (c->live == 0)
        return NULL;
    for (centry *e = c->kb[bucket(c, vat, r.v)]; e; e = e->knext)
        if (e->live && e->vat == vat && lvat_kref_eq(e->kref, r))
            return e;
    return NULL;
}

static centry *
by_vref(const lvat_clb *c, uint32_t vat, lvat_vref v)
{
    if (c->live == 0)
        return NULL;
    for (centry *e = c->vb[bucket(c, vat, v.v)]; e; e = e->vnext)
        if (e->live && e->vat == vat && e->vref.v == v.v)
            return e;
    return NULL;
}

static void
link_entry(lvat_clb *c, centry *e)
{
    size_t kb = bucket(c, e->vat, e->kref.v), vb = bucket(c, e->vat, e->vref.v);

    e->knext = c->kb[kb];
    c->kb[kb] = e;
    e->vnext = c->vb[vb];
    c->vb[vb] = e;
}

static int
grow(lvat_clb *c)
{
    size_t nb = c->nb ? c->nb * 2 : 64, oldnb = c->nb;
    centry **kb = lvat_calloc(nb, sizeof *kb), **vb = lvat_calloc(nb, sizeof *vb);
    centry **oldk = c->kb;

    if (kb == NULL || vb == NULL) {
        lvat_free(kb);
        lvat_free(vb);
        return LVAT_ENOMEM;
    }
    c->kb = kb;
    lvat_free(c->vb);
    c->vb = vb;
    c->nb = nb;
    for (size_t i = 0; i < oldnb; i++) {
        centry *e = oldk[i], *next;
        for (; e; e = next) {
            next = e->knext;
            link_entry(c, e);
        }
    }
    lvat_free(oldk);
    return LVAT_OK;
}

/* Takes e out of both chains and frees it. */
static void
unlink_entry(lvat_clb *c, centry *e)
{
    centry **pp = &c->kb[bucket(c, e->vat, e->kref.v)];

    while (*pp != e)
        pp = &(*pp)->knext;
    *pp = e->knext;
    pp = &c->vb[bucket(c, e->vat, e->vref.v)];
    while (*pp != e)
        pp = &(*pp)->vnext;
    *pp = e->vnext;
    c->n--;
    lvat_slab_release(c->slab, e, sizeof *e);
}

/* Saves e as the open crank found it, once per crank. */
static int
touch(lvat_clb *c, centry *e, bool created)
{
    undo *u;

    if (!c->in_crank || e->gen == c->gen)
        return LVAT_OK;
    if (!lvat_reserve(&c->u, c->nu, &c->capu, sizeof *c->u, 32))
        return LVAT_ENOMEM;
    u = &c->u[c->nu++];
    u->e = e;
    u->created = created;
    u->live = e->live;
    u->reach = e->reach;
    e->gen = c->gen;
    return LVAT_OK;
}

/* Ends e's life here: at once outside a crank, at its end inside one. */
static void
retire(lvat_clb *c, centry *e)
{
    e->live = false;
    c->live--;
    if (!c->in_crank)
        unlink_entry(c, e);
}

/* ---- clist.c's side ---- */

bool
lvat__clb_by_kref(const lvat_kernel *k, uint32_t vat, lvat_kref r,
                  lvat_vref *v, bool *reach)
{
    const centry *e = by_kref(k->clb, vat, r);

    if (e == NULL)
        return false;
    *v = e->vref;
    if (reach != NULL)
        *reach = e->reach;
    return true;
}

bool
lvat__clb_by_vref(const lvat_kernel *k, uint32_t vat, lvat_vref v,
                  lvat_kref *r)
{
    const centry *e = by_vref(k->clb, vat, v);

    if (e != NULL)
        *r = e->kref;
    return e != NULL;
}

int
lvat__clb_add(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
              bool reach)
{
    lvat_clb *c = k->clb;
    centry *e;

    if (c->n + 1 > c->nb && grow(c) != LVAT_OK)
        return LVAT_ENOMEM;
    if ((e = lvat_slab_alloc(c->slab, sizeof *e)) == NULL)
        return LVAT_ENOMEM;
    memset(e, 0, sizeof *e);
    e->kref = r;
    e->vref = v;
    e->vat = vat;
    e->reach = reach;
    if (touch(c, e, true) != LVAT_OK) {
        lvat_slab_release(c->slab, e, sizeof *e);
        return LVAT_ENOMEM;
    }
    e->live = true;
    link_entry(c, e);
    c->n++;
    c->live++;
    return LVAT_OK;
}

int
lvat__clb_set_reach(lvat_kernel *k, uint32_t vat, lvat_kref r, bool reach)
{
    centry *e = by_kref(k->clb, vat, r);
    int rc;

    if (e == NULL)
        return LVAT_ENOTFOUND;
    if ((rc = touch(k->clb, e, false)) == LVAT_OK)
        e->reach = reach;
    return rc;
}

int
lvat__clb_remove(lvat_kernel *k, uint32_t vat, lvat_kref r)
{
    centry *e = by_kref(k->clb, vat, r);
    int rc;

    if (e == NULL)
        return LVAT_ENOTFOUND;
    if ((rc = touch(k->clb, e, false)) == LVAT_OK)
        retire(k->clb, e);
    return rc;
}

/* Between blocks: gives back what a burst of pairs (100,000 pipelined
 * sends) left behind. */
static void
trim(lvat_clb *c)
{
    if (c->n == 0)
        lvat_slab_shed(&c->slab, LVAT_SLAB_KEEP);
    if (c->n == 0 && c->nb > 4096) {
        lvat_free(c->kb);
        lvat_free(c->vb);
        c->kb = c->vb = NULL;
        c->nb = 0;
    }
    lvat_release_big(&c->u, &c->capu, 4096);
}

/* Writes every pair into the overlay and forgets it here (a crank's abort
 * brings it back, as the overlay's abort takes the keys away again). */
int
lvat__clb_flush(lvat_kernel *k)
{
    lvat_clb *c = k->clb;
    bool any = c->live > 0;
    int rc = LVAT_OK;

    for (size_t i = 0; i < c->nb && c->live > 0 && rc == LVAT_OK; i++) {
        centry *e = c->kb[i], *next;
        for (; e && rc == LVAT_OK; e = next) {
            next = e->knext;
            if (!e->live || (rc = touch(c, e, false)) != LVAT_OK)
                continue;
            rc = lvat__clist_write(k, e->vat, e->kref, e->vref, e->reach,
                                   LVAT_KV_NEW);
            if (rc == LVAT_OK)
                retire(c, e);
        }
    }
    if (rc == LVAT_OK && any && !c->in_crank)
        trim(c);
    return rc;
}

bool
lvat__clb_changed(const lvat_kernel *k)
{
    return k->clb != NULL && k->clb->live > 0;
}

size_t
lvat__clb_bytes(const lvat_kernel *k)
{
    return k->clb != NULL ? k->clb->n * sizeof(centry) : 0;
}

/* ---- The kv's hooks (through kernel.c) ---- */

void
lvat__clb_crank_begin(lvat_kernel *k)
{
    k->clb->in_crank = true;
    k->clb->gen++;
    k->clb->nu = 0;
}

void
lvat__clb_crank_end(lvat_kernel *k, bool commit)
{
    lvat_clb *c = k->clb;

    for (size_t i = c->nu; i-- > 0;) {
        undo *u = &c->u[i];
        centry *e = u->e;
        if (!commit) {
            if (u->live != e->live)
                c->live = u->live ? c->live + 1 : c->live - 1;
            e->live = u->live;
            e->reach = u->reach;
        }
        if (!e->live)
            unlink_entry(c, e);
    }
    c->nu = 0;
    c->in_crank = false;
}

void
lvat__clb_forget(lvat_kernel *k)
{
    lvat_clb *c = k->clb;

    for (size_t i = 0; i < c->nb; i++)
        while (c->kb[i] != NULL)
            unlink_entry(c, c->kb[i]);
    c->nu = 0;
    c->live = 0;
}

/* ---- Kernel side ---- */

int
lvat__clb_open(lvat_kernel *k)
{
    k->clb = lvat_calloc(1, sizeof *k->clb);
    if (k->clb != NULL && (k->clb->slab = lvat_slab_new()) == NULL) {
        lvat_free(k->clb);
        k->clb = NULL;
    }
    return k->clb ? LVAT_OK : LVAT_ENOMEM;
}

void
lvat__clb_free(lvat_kernel *k)
{
    lvat_clb *c = k->clb;

    if (c == NULL)
        return;
    lvat__clb_forget(k);
    lvat_slab_free(c->slab);
    lvat_free(c->kb);
    lvat_free(c->vb);
    lvat_free(c->u);
    lvat_free(c);
    k->clb = NULL;
}
