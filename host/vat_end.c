/*
 * How vats end: an incarnation ends when its Lua heap is thrown away (a
 * fault, later a restart or an upgrade), and a vat ends when it is
 * terminated.  Both reject the promises the vat decided, through the
 * decider index rather than a scan; termination also deletes every key of
 * the vat and orphans the objects it exported, so messages to them splat.
 */
#include "kernel_int.h"

#include <string.h>

#include "alloc.h"

int
lvat__vat_reject_decided(lvat_kernel *k, uint32_t id, const char *reason)
{
    lvat_key prefix;
    lvat_val key, val;
    int rc;

    /* The crank's own index changes first (kpcache.c keeps them). */
    if ((rc = lvat__block_flush(k)) != LVAT_OK)
        return rc;
    lvat_key_vat_decider(&prefix, id, (lvat_kref){0});
    for (;;) {
        char copy[LVAT_KEY_MAX + 1];
        lvat_kref kp;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, prefix.b, prefix.n, true,
                          prefix.b, prefix.n, &key, &val);
        if (rc == LVAT_ENOTFOUND)
            return LVAT_OK;
        if (rc != LVAT_OK)
            return rc;
        memcpy(copy, key.p, key.len);
        if (lvat_kref_parse(copy + prefix.n, key.len - prefix.n, &kp) ||
            !lvat_kref_is_promise(kp)) {
            rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, copy, key.len);
        } else {
            /* Rejecting deletes the index entry, so the loop advances;
             * delete it anyway in case the promise record is gone. */
            rc = lvat__kp_reject_msg(k, kp, reason);
            if (rc == LVAT_OK) {
                char name[LVAT_REF_BUFSIZE];
                lvat_kref_format(kp, name);
                lvat__log(k, LVAT_LOG_DEBUG, "%s rejected: %s", name, reason);
            }
            if (rc == LVAT_ENOTFOUND || rc == LVAT_ESTATE)
                rc = LVAT_OK;
            if (rc == LVAT_OK)
                rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, copy, key.len);
        }
        if (rc != LVAT_OK)
            return rc;
    }
}

static int
orphan_object(lvat_kernel *k, lvat_kref ko)
{
    lvat_kobj o;
    int rc = lvat__ko_get(k, ko, &o);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    o.orphaned = true;
    if (o.recog == 0)
        return lvat__ko_delete(k, ko);
    return lvat__ko_put(k, ko, &o);
}

/* Visits the c-list entries of `vat` whose vref key starts with `vprefix`
 * ("o+", "p+", "" for all): `fn` gets the kref, the vref and `ud`. */
typedef int (*entry_fn)(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
                        void *ud);

static int
each_entry(lvat_kernel *k, uint32_t vat, const char *vprefix, entry_fn fn,
           void *ud)
{
    lvat_key prefix, from;
    lvat_val key, val;
    int rc;

    lvat_key_vat_prefix(&prefix, vat);
    lvat_key_add_str(&prefix, "c.");
    lvat_key_add_str(&prefix, vprefix);
    from = prefix;
    for (bool first = true;; first = false) {
        lvat_kref r;
        lvat_vref v;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from.b, from.n, first,
                          prefix.b, prefix.n, &key, &val);
        if (rc == LVAT_ENOTFOUND)
            return LVAT_OK;
        if (rc != LVAT_OK)
            return rc;
        from.n = 0;
        lvat_key_add(&from, key.p, key.len);
        /* Only the vref-keyed half ("v3.c.o+5" -> "ko9") is visited. */
        if (lvat_kref_parse(val.p, val.len, &r) != LVAT_OK)
            continue;
        {
            size_t off = prefix.n - strlen(vprefix);
            if (lvat_vref_parse(from.b + off, from.n - off, &v) != LVAT_OK)
                continue;
        }
        if ((rc = fn(k, vat, r, v, ud)) != LVAT_OK)
            return rc;
    }
}

static int
drop_entry(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v, void *ud)
{
    int rc;

    (void)ud;
    if (!lvat_kref_is_promise(r) && lvat_vref_is_export(v)) {
        /* The vat's own object: it has no owner any more. */
        if ((rc = orphan_object(k, r)) != LVAT_OK)
            return rc;
    }
    return lvat__clist_remove(k, vat, r);
}

static int
drop_ephemeral(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
               void *ud)
{
    /* The root and durable objects live on in the next incarnation;
     * everything else the old heap exported is gone with it, and so are
     * the promises it imported: the new heap has no name for them. */
    if (!lvat_kref_is_promise(r) &&
        (lvat_vref_num(v) == 0 || lvat_vref_is_durable(v)))
        return LVAT_OK;
    return drop_entry(k, vat, r, v, ud);
}

typedef struct vref_list {
    lvat_vref *v;
    size_t n, cap;
} vref_list;

static int
add_vref(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v, void *ud)
{
    vref_list *l = ud;

    (void)k, (void)vat, (void)r;
    if (!lvat_reserve(&l->v, l->n, &l->cap, sizeof *l->v, 16))
        return LVAT_ENOMEM;
    l->v[l->n++] = v;
    return LVAT_OK;
}

int
lvat__vat_imports(lvat_kernel *k, uint32_t id, lvat_vref **out, size_t *n)
{
    vref_list l = {NULL, 0, 0};
    int rc = each_entry(k, id, "o-", add_vref, &l);

    if (rc != LVAT_OK) {
        lvat_free(l.v);
        return rc;
    }
    *out = l.v;
    *n = l.n;
    return LVAT_OK;
}

int
lvat__vat_end_incarnation(lvat_kernel *k, uint32_t id, const char *reason)
{
    lvat_kvat *v = lvat__vat_find(k, id);
    int rc;

    if (v != NULL)
        lvat__vat_unload(k, v);
    rc = lvat__vat_reject_decided(k, id, reason);
    if (rc == LVAT_OK)
        rc = each_entry(k, id, "o+", drop_ephemeral, NULL);
    if (rc == LVAT_OK)
        rc = each_entry(k, id, "p+", drop_ephemeral, NULL);
    if (rc == LVAT_OK)
        rc = each_entry(k, id, "p-", drop_ephemeral, NULL);
    if (rc == LVAT_OK)
        rc = lvat__vat_heap_gone(k, id);
    return rc;
}

/* Deleted in one crank, a vatstore of millions of keys held a tombstone
 * per key in the block's memory and made one crank as long as they took;
 * the vat is gone and its id never comes back, so the rest of its keys
 * can wait for later cranks, queued behind the work already there. */
int
lvat__vat_cleanup(lvat_kernel *k, uint32_t id)
{
    lvat_item it;
    lvat_key key;
    int rc;

    lvat_key_vatstore(&key, id, "", 0);
    rc = lvat_kv_del_prefix(k->kv, LVAT_DB_VATSTORE, key.b, key.n,
                            LVAT_CLEANUP_BATCH, NULL);
    if (rc != LVAT_EPENDING)
        return rc;
    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_CLEANUP;
    it.vat = id;
    return lvat__runq_push(k, &it);
}

int
lvat__vat_terminate(lvat_kernel *k, uint32_t id, const char *reason)
{
    lvat_kvat *v = lvat__vat_find(k, id);
    lvat_key key;
    char sub[32] = "";
    int rc;

    if (v != NULL)
        lvat__vat_unload(k, v);
    lvat__vat_subcluster(k, id, sub, sizeof sub);
    if ((rc = lvat__vat_reject_decided(k, id, reason)) != LVAT_OK ||
        (rc = each_entry(k, id, "", drop_entry, NULL)) != LVAT_OK)
        return rc;
    lvat_key_vat_prefix(&key, id);
    if ((rc = lvat_kv_del_prefix(k->kv, LVAT_DB_KERNEL, key.b, key.n, 0,
                                 NULL)) != LVAT_OK)
        return rc;
    lvat_key_gc(&key, id, (lvat_kref){0});
    if ((rc = lvat_kv_del_prefix(k->kv, LVAT_DB_KERNEL, key.b, key.n, 0,
                                 NULL)) != LVAT_OK)
        return rc;
    if ((rc = lvat__vat_cleanup(k, id)) != LVAT_OK)
        return rc;
    if ((rc = lvat__vat_release_sources(k, id)) != LVAT_OK)
        return rc;
    lvat_key_vat_record(&key, id);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        return rc;
    lvat_key_start_on_open(&key, id);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK ||
        (rc = lvat__counts_vat_gone(k, id)) != LVAT_OK)
        return rc;
    lvat__vat_forget(k, id);
    if (sub[0] != '\0')
        rc = lvat__sub_forget_vat(k, sub, id);
    return rc;
}
