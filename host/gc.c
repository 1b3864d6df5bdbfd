/*
 * Distributed GC, kernel side: refs.c records gc.v<N>.<ko> actions when
 * nobody can reach ("d") or recognise ("r") an object any more; here they
 * become dropExports and then retireExports deliveries to the owner, one
 * vat and one kind per crank.  Actions made stale by a later import are
 * dropped without a delivery.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

#define GC_BATCH 256

typedef struct gc_batch {
    lvat_kref krefs[GC_BATCH];
    lvat_vref vrefs[GC_BATCH];
    size_t n;
} gc_batch;

/* Sorts one action into drops or retires; deletes it when done or stale. */
static int
classify(lvat_kernel *k,
         uint32_t vat,
         lvat_kref ko,
         char action,
         gc_batch *drops,
         gc_batch *retires,
         const lvat_key *key)
{
    lvat_kobj o;
    lvat_vref v;
    bool reach;
    int rc = lvat__ko_get(k, ko, &o);

    if (rc == LVAT_OK && !o.orphaned && o.owner == vat && o.reach == 0)
        rc = lvat__clist_lookup_k(k, vat, ko, &v, &reach);
    else if (rc == LVAT_OK)
        rc = LVAT_ENOTFOUND;
    if (rc == LVAT_ENOTFOUND)
        return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key->b, key->n);
    if (rc != LVAT_OK)
        return rc;
    if (reach) {
        drops->krefs[drops->n] = ko;
        drops->vrefs[drops->n++] = v;
        return LVAT_OK;
    }
    if (action == 'r' && o.recog == 0) {
        retires->krefs[retires->n] = ko;
        retires->vrefs[retires->n++] = v;
        return LVAT_OK;
    }
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key->b, key->n);
}

static int
gather(lvat_kernel *k, uint32_t vat, gc_batch *drops, gc_batch *retires)
{
    lvat_key prefix, from, key;
    lvat_val kv, val;
    int rc;

    lvat_key_gc(&prefix, vat, (lvat_kref){0});
    from = prefix;
    for (bool first = true; drops->n < GC_BATCH && retires->n < GC_BATCH;
         first = false) {
        lvat_kref ko;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from.b, from.n, first,
                          prefix.b, prefix.n, &kv, &val);
        if (rc == LVAT_ENOTFOUND)
            return LVAT_OK;
        if (rc != LVAT_OK)
            return rc;
        key.n = 0;
        lvat_key_add(&key, kv.p, kv.len);
        from = key;
        if (lvat_kref_parse(key.b + prefix.n, key.n - prefix.n, &ko) ||
            val.len != 1) {
            rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
        } else {
            rc = classify(k, vat, ko, val.p[0], drops, retires, &key);
        }
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

static int
deliver(lvat_kernel *k,
        uint32_t vat,
        lvat_delivery_kind kind,
        const gc_batch *b)
{
    lvat_delivery d;
    lvat_kvat *v;
    bool suspended;
    int rc = lvat__vat_get(k, vat, &v);

    if (rc == LVAT_OK)
        rc = lvat__vat_prepare(k, vat, &suspended);
    if (rc != LVAT_OK)
        return rc;
    /* A vat without a heap holds nothing to drop: no need to wake it. */
    if (suspended || v->inst == NULL)
        return LVAT_OK;
    memset(&d, 0, sizeof d);
    d.kind = kind;
    d.vrefs = b->vrefs;
    d.nvrefs = b->n;
    return lvat__vat_deliver(k, v, &d);
}

static int
finish(lvat_kernel *k, uint32_t vat, const gc_batch *b, bool retire)
{
    for (size_t i = 0; i < b->n; i++) {
        lvat_key key;
        int rc;
        if (retire) {
            rc = lvat__clist_remove(k, vat, b->krefs[i]);
            if (rc == LVAT_OK)
                rc = lvat__ko_delete(k, b->krefs[i]);
            lvat_key_gc(&key, vat, b->krefs[i]);
            if (rc == LVAT_OK)
                rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
        } else {
            rc = lvat__clist_mark_unreachable(k, vat, b->krefs[i]);
        }
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

int
lvat__gc_run(lvat_kernel *k, bool *did)
{
    gc_batch *drops = NULL, *retires = NULL;
    lvat_val key, val;
    uint32_t vat;
    const char *dot;
    int rc;

    *did = false;
    rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, "gc.", 3, true, "gc.", 3, &key,
                      &val);
    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    dot = memchr(key.p + 3, '.', key.len - 3);
    if (dot == NULL || lvat_vatid_parse(key.p + 3, (size_t)(dot - key.p - 3),
                                        &vat) != LVAT_OK) {
        char copy[LVAT_KEY_MAX + 1];
        memcpy(copy, key.p, key.len);
        *did = true;
        return lvat_kv_del(k->kv, LVAT_DB_KERNEL, copy, key.len);
    }
    *did = true;
    drops = lvat_calloc(1, sizeof *drops);
    retires = lvat_calloc(1, sizeof *retires);
    if (drops == NULL || retires == NULL) {
        rc = LVAT_ENOMEM;
        goto done;
    }
    if ((rc = gather(k, vat, drops, retires)) != LVAT_OK)
        goto done;
    /* Drops first: an object is always dropped before it is retired. */
    if (drops->n && (rc = finish(k, vat, drops, false)) == LVAT_OK)
        rc = deliver(k, vat, LVAT_DELIVER_DROP_EXPORTS, drops);
    else if (retires->n && (rc = finish(k, vat, retires, true)) == LVAT_OK)
        rc = deliver(k, vat, LVAT_DELIVER_RETIRE_EXPORTS, retires);
done:
    lvat_free(drops);
    lvat_free(retires);
    return rc;
}
