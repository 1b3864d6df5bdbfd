/*
 * Reference counts, SwingSet style.  An object counts (reachable,
 * recognizable) references: importers' c-list entries (a dropped import
 * stays recognizable), queued and parked messages, promise values and pins;
 * its owner's export entry does not count.  A promise counts every c-list
 * entry, queue item, value slot and kernel watch naming it.
 *
 * Counts that fall to zero are remembered for the end of the crank
 * (lvat__refs_collect): settled promises nobody names are deleted; objects
 * nobody reaches get a dropExports (and retireExports when nobody can
 * recognise them) for their owner, or are deleted when orphaned.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

int
lvat__maybe_free(lvat_kernel *k, lvat_kref r)
{
    lvat_crank *c = &k->crank;

    if (!lvat_reserve(&c->maybe_free, c->nfree, &c->capfree,
                      sizeof *c->maybe_free, 32))
        return LVAT_ENOMEM;
    c->maybe_free[c->nfree++] = r;
    return LVAT_OK;
}

static int
promise_add(lvat_kernel *k, lvat_kref kp, int delta)
{
    bool zeroed;
    int rc = lvat__kp_add_refs(k, kp, delta, &zeroed);

    if (rc == LVAT_ENOTFOUND && delta < 0)
        return LVAT_OK; /* already collected */
    if (rc == LVAT_OK && zeroed)
        rc = lvat__maybe_free(k, kp);
    return rc;
}

int
lvat__ko_adjust(lvat_kernel *k, lvat_kref ko, int dreach, int drecog)
{
    lvat_kobj o;
    int rc = lvat__ko_get(k, ko, &o);

    if (rc == LVAT_ENOTFOUND && dreach <= 0 && drecog <= 0)
        return LVAT_OK;
    if (rc != LVAT_OK)
        return rc;
    /* Counts never go below zero: a vat cannot make the kernel underflow. */
    o.reach = dreach >= 0
                  ? o.reach + (uint64_t)dreach
                  : (o.reach >= (uint64_t)-dreach ? o.reach + dreach : 0);
    o.recog = drecog >= 0
                  ? o.recog + (uint64_t)drecog
                  : (o.recog >= (uint64_t)-drecog ? o.recog + drecog : 0);
    rc = lvat__ko_put(k, ko, &o);
    if (rc == LVAT_OK && (dreach < 0 || drecog < 0) && o.reach == 0)
        rc = lvat__maybe_free(k, ko);
    return rc;
}

static int
object_add(lvat_kernel *k, lvat_kref ko, bool strong, int delta)
{
    return lvat__ko_adjust(k, ko, strong ? delta : 0, delta);
}

int
lvat__ref_inc(lvat_kernel *k, lvat_kref r, bool strong)
{
    if (lvat_kref_is_none(r))
        return LVAT_OK;
    return lvat_kref_is_promise(r) ? promise_add(k, r, 1)
                                   : object_add(k, r, strong, 1);
}

int
lvat__ref_dec(lvat_kernel *k, lvat_kref r, bool strong)
{
    if (lvat_kref_is_none(r))
        return LVAT_OK;
    return lvat_kref_is_promise(r) ? promise_add(k, r, -1)
                                   : object_add(k, r, strong, -1);
}

int
lvat__refs_inc(lvat_kernel *k, const lvat_kref *r, size_t n, lvat_kref self)
{
    for (size_t i = 0; i < n; i++) {
        int rc = r[i].v == self.v ? LVAT_OK : lvat__ref_inc(k, r[i], true);
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

int
lvat__refs_dec(lvat_kernel *k, const lvat_kref *r, size_t n, lvat_kref self)
{
    for (size_t i = 0; i < n; i++) {
        int rc = r[i].v == self.v ? LVAT_OK : lvat__ref_dec(k, r[i], true);
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

/* ---- Collection ---- */

static int
free_promise(lvat_kernel *k, lvat_kref kp)
{
    bool unwritten = false;
    lvat_kprom p;
    lvat_key key;
    int rc = lvat__kp_get(k, kp, &p);

    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    if (rc != LVAT_OK)
        return rc;
    if (p.refs != 0) {
        lvat__kp_release(&p);
        return LVAT_OK;
    }
    if (p.state != 'u') {
        lvat_capdata v;
        rc = lvat__kp_value(k, kp, &v);
        if (rc == LVAT_OK) {
            rc = lvat__refs_dec(k, v.slots, v.nslots, kp);
            lvat_capdata_free_slots(&v);
        }
        bool cached = false;
        if (rc == LVAT_OK)
            rc = lvat__kpc_del_value(k, kp, &cached);
        if (rc == LVAT_OK && !cached) {
            lvat_key_kp_value(&key, kp);
            rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
        }
    } else {
        /* Nobody can name it any more, so nobody can resolve it. */
        rc = lvat__kp_set_decider(k, kp, &p, LVAT_NO_DECIDER);
    }
    lvat__kp_release(&p);
    /* A record that never left the block's cache has nothing to delete
     * (a delete would leave a tombstone for the commit to look up). */
    if (rc == LVAT_OK)
        rc = lvat__kpc_forget(k, kp, &unwritten);
    if (rc != LVAT_OK || unwritten)
        return rc;
    lvat_key_kref(&key, kp);
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
}

/* Records a GC action for the owner: "d" drop, "r" retire (implies drop). */
static int
gc_action(lvat_kernel *k, uint32_t vat, lvat_kref ko, bool retire)
{
    lvat_key key;
    lvat_val v;

    lvat_key_gc(&key, vat, ko);
    if (!retire &&
        lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v) == LVAT_OK)
        return LVAT_OK;
    k->gc_pending = true;
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, retire ? "r" : "d",
                       1, 0);
}

/* A vat's root (its o+0) is pinned: it lives as long as the vat, whoever
 * holds it, so the kernel can always deliver bootstrap and later calls. */
static int
is_root(lvat_kernel *k, uint32_t owner, lvat_kref ko, bool *root)
{
    lvat_vref v;
    int rc = lvat__clist_lookup_k(k, owner, ko, &v, NULL);

    *root = rc == LVAT_OK && lvat_vref_eq(v, lvat_vref_root());
    return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
}

static int
free_object(lvat_kernel *k, lvat_kref ko)
{
    lvat_kobj o;
    bool root;
    int rc = lvat__ko_get(k, ko, &o);

    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    if (rc != LVAT_OK)
        return rc;
    if (o.orphaned) {
        if (o.recog == 0)
            return lvat__ko_delete(k, ko);
        return LVAT_OK;
    }
    if (o.owner == LVAT_VATID_KERNEL || !lvat__vat_alive(k, o.owner))
        return LVAT_OK; /* services are pinned; dead owners orphan later */
    if (o.reach != 0)
        return LVAT_OK;
    if ((rc = is_root(k, o.owner, ko, &root)) != LVAT_OK || root)
        return rc;
    return gc_action(k, o.owner, ko, o.recog == 0);
}

int
lvat__refs_collect(lvat_kernel *k)
{
    lvat_crank *c = &k->crank;
    int rc = LVAT_OK;

    /* Freeing one kref can add others, so the list may grow as we go. */
    for (size_t i = 0; i < c->nfree && rc == LVAT_OK; i++) {
        lvat_kref r = c->maybe_free[i];
        rc = lvat_kref_is_promise(r) ? free_promise(k, r) : free_object(k, r);
    }
    c->nfree = 0;
    return rc;
}
