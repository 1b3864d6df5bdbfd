/*
 * Settled values cached with their promise records (kpcache.c).  A round
 * trip's result is settled, read by the notify, read again when the
 * promise is collected, and deleted, all inside its block; as an overlay
 * key (kp<N>.v) that was a put, two lookups and a delete in the block's
 * hash table, which a burst of 100,000 outstanding promises turns into
 * cache misses.  Here the text lives beside the record until the block
 * is written, and a value born and collected in the block is never a key.
 *
 * Readers get the cached text itself, valid (as an overlay value is)
 * until the crank ends: a buffer the crank lets go of waits in the trash,
 * or in the undo record that may restore it, until then.  Buffers come
 * from the cache's slab (a value of 0 bytes takes 1): malloc and free
 * were ~300 instructions a round trip.
 */
#include "kpcache_int.h"

#include <string.h>

#include "alloc.h"
#include "slab.h"

/* The size of the buffer that holds a value of len bytes. */
static size_t
buffer_size(size_t len)
{
    return len ? len : 1;
}

static void
release(struct lvat_kpcache *c, char *val, size_t len)
{
    if (val != NULL)
        lvat_slab_release(c->slab, val, buffer_size(len));
}

/* Lets go of e's buffer: the crank's undo record may still restore it;
 * a buffer made in this crank waits in the trash for the crank's end;
 * outside a crank nobody can hold it. */
static int
let_go(struct lvat_kpcache *c, entry *e)
{
    char *val = e->val;

    e->val = NULL;
    if (val == NULL || (c->in_crank && e->gen == c->gen &&
                        e->undo != BORN && c->u[e->undo].val == val))
        return LVAT_OK;
    if (!c->in_crank) {
        release(c, val, e->vlen);
        return LVAT_OK;
    }
    if (!lvat_reserve(&c->trash, c->ntrash, &c->captrash, sizeof *c->trash,
                      16)) {
        e->val = val;
        return LVAT_ENOMEM;
    }
    c->trash[c->ntrash].p = val;
    c->trash[c->ntrash++].size = buffer_size(e->vlen);
    return LVAT_OK;
}

void
lvat__kpv_commit(struct lvat_kpcache *c, undo *u)
{
    if (u->val != u->e->val)
        release(c, u->val, u->vlen);
}

/* The bytes of e's value, when it holds one. */
static size_t
held(const entry *e)
{
    return e->value == VALUE_SET ? e->vlen : 0;
}

void
lvat__kpv_abort(struct lvat_kpcache *c, undo *u)
{
    entry *e = u->e;

    c->vbytes = c->vbytes - held(e) + (u->value == VALUE_SET ? u->vlen : 0);
    if (e->val != u->val) /* made in the crank, and not in the trash */
        release(c, e->val, e->vlen);
    e->val = u->val;
    e->vlen = u->vlen;
    e->value = u->value;
    e->vdirty = u->vdirty;
    e->vfresh = u->vfresh;
}

void
lvat__kpv_empty_trash(struct lvat_kpcache *c)
{
    for (size_t i = 0; i < c->ntrash; i++)
        lvat_slab_release(c->slab, c->trash[i].p, c->trash[i].size);
    c->ntrash = 0;
}

void
lvat__kpv_free(struct lvat_kpcache *c, entry *e)
{
    c->vbytes -= held(e);
    release(c, e->val, e->vlen);
    e->val = NULL;
    e->value = VALUE_UNKNOWN;
    e->vdirty = e->vfresh = false;
}

int
lvat__kpv_write_back(lvat_kernel *k, entry *e)
{
    lvat_key key;
    int rc;

    if (!e->vdirty)
        return LVAT_OK;
    if ((rc = lvat__kpc_touch(k->kpc, e, false)) != LVAT_OK)
        return rc;
    lvat_key_kp_value(&key, e->kp);
    rc = e->value == VALUE_SET
             ? lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, e->val,
                           e->vlen, e->vfresh ? LVAT_KV_NEW : 0)
             : lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    if (rc == LVAT_OK)
        e->vdirty = e->vfresh = false; /* the overlay has it now */
    return rc;
}

/* ---- kpromise.c's side ---- */

int
lvat__kpc_get_value(lvat_kernel *k, lvat_kref kp, lvat_val *out,
                    bool *cached)
{
    const entry *e =
        lvat__kpc_enabled(k) ? lvat__kpc_lookup(k->kpc, kp) : NULL;

    *cached = e != NULL && e->value != VALUE_UNKNOWN;
    if (!*cached)
        return LVAT_OK;
    if (e->value == VALUE_GONE)
        return LVAT_ENOTFOUND;
    out->p = e->val;
    out->len = e->vlen;
    return LVAT_OK;
}

int
lvat__kpc_put_value(lvat_kernel *k, lvat_kref kp, const char *text,
                    size_t len, bool *cached)
{
    struct lvat_kpcache *c = k->kpc;
    entry *e = lvat__kpc_enabled(k) ? lvat__kpc_lookup(c, kp) : NULL;
    char *copy;

    *cached = e != NULL && e->present;
    if (!*cached)
        return LVAT_OK;
    if (lvat__kpc_touch(c, e, false) != LVAT_OK ||
        (copy = lvat_slab_alloc(c->slab, buffer_size(len))) == NULL)
        return LVAT_ENOMEM;
    if (len > 0)
        memcpy(copy, text, len);
    if (let_go(c, e) != LVAT_OK) {
        release(c, copy, len);
        return LVAT_ENOMEM;
    }
    /* A promise is settled once, and its number never reused: a value
     * the cache did not know was never a key. */
    if (e->value == VALUE_UNKNOWN)
        e->vfresh = true;
    c->vbytes = c->vbytes - held(e) + len;
    e->val = copy;
    e->vlen = len;
    e->value = VALUE_SET;
    e->vdirty = true;
    return LVAT_OK;
}

int
lvat__kpc_del_value(lvat_kernel *k, lvat_kref kp, bool *cached)
{
    struct lvat_kpcache *c = k->kpc;
    entry *e = lvat__kpc_enabled(k) ? lvat__kpc_lookup(c, kp) : NULL;

    *cached = e != NULL && e->value != VALUE_UNKNOWN;
    if (!*cached)
        return LVAT_OK;
    if (lvat__kpc_touch(c, e, false) != LVAT_OK || let_go(c, e) != LVAT_OK)
        return LVAT_ENOMEM;
    c->vbytes -= held(e);
    e->vlen = 0;
    e->value = VALUE_GONE;
    e->vdirty = !e->vfresh; /* nothing to delete if it never was a key */
    return LVAT_OK;
}
