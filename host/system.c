/*
 * Subcluster records as the kernel facet and system subclusters see them:
 * summaries, termination of a whole subcluster, and the system mapping
 * systemSubcluster.<name> -> s<N> (a system subcluster keeps its name
 * across restarts and reloads).
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "json.h"

/* ---- Records ---- */

int
lvat__sub_read(lvat_kernel *k, uint32_t sub, lvat_json **out)
{
    lvat_key key;
    lvat_val v;
    int rc;

    lvat_key_sub(&key, sub);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    /* raw_bytes: a path that is not UTF-8 (lvat_json_write stored its
     * bytes as \u00XX) comes back as those bytes, so a reload or a
     * child's relative sourceSpec finds the same files. */
    rc = lvat_json_parse(v.p, v.len, true, out, NULL, 0);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT, "%s: bad record: database may be "
                          "corrupted", key.b);
    return rc;
}

static int
copy_field(lvat_json *to, const lvat_json *from, const char *to_key,
           const char *from_key)
{
    const lvat_json *v = lvat_json_get(from, from_key);

    return v ? lvat_json_set(to, to_key, lvat_json_clone(v)) : LVAT_OK;
}

/* {id, name?, bootstrap, rootKref, state, vats: {name: id}} */
static int
summary_of(const lvat_json *rec, lvat_json **out)
{
    lvat_json *s = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    int rc = s ? LVAT_OK : LVAT_ENOMEM;

    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "id", "id");
    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "name", "name");
    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "bootstrap", "bootstrap");
    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "rootKref", "root");
    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "state", "state");
    if (rc == LVAT_OK)
        rc = copy_field(s, rec, "vats", "vats");
    if (rc != LVAT_OK) {
        lvat_json_free(s);
        return rc;
    }
    *out = s;
    return LVAT_OK;
}

int
lvat__sub_summary(lvat_kernel *k, uint32_t sub, lvat_json **out)
{
    lvat_json *rec = NULL;
    int rc = lvat__sub_read(k, sub, &rec);

    if (rc == LVAT_OK)
        rc = summary_of(rec, out);
    lvat_json_free(rec);
    return rc;
}

int
lvat__sub_summaries(lvat_kernel *k, lvat_json **out)
{
    char from[LVAT_KEY_MAX + 1] = "sub.";
    size_t flen = 4;
    lvat_json *list = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    int rc = list ? LVAT_OK : LVAT_ENOMEM;

    for (bool first = true; rc == LVAT_OK; first = false) {
        lvat_val key, val;
        lvat_json *rec = NULL, *s = NULL;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first, "sub.", 4,
                          &key, &val);
        if (rc == LVAT_ENOTFOUND) {
            rc = LVAT_OK;
            break;
        }
        if (rc != LVAT_OK)
            break;
        memcpy(from, key.p, key.len);
        flen = key.len;
        rc = lvat_json_parse(val.p, val.len, false, &rec, NULL, 0);
        if (rc == LVAT_OK && (rc = summary_of(rec, &s)) == LVAT_OK)
            rc = lvat_json_append(list, s);
        lvat_json_free(rec);
    }
    if (rc != LVAT_OK) {
        lvat_json_free(list);
        return rc;
    }
    *out = list;
    return LVAT_OK;
}

/* ---- System mapping ---- */

static void
system_key(lvat_key *key, const char *name)
{
    lvat_key_lit(key, "systemSubcluster.");
    lvat_key_add_str(key, name);
}

int
lvat__system_map(lvat_kernel *k, const char *name, uint32_t sub)
{
    char sid[32];
    lvat_key key;
    int n = snprintf(sid, sizeof sid, "s%u", sub);

    system_key(&key, name);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, sid, (size_t)n,
                       0);
}

int
lvat__system_sub(lvat_kernel *k, const char *name, uint32_t *sub)
{
    lvat_key key;
    lvat_val v;
    int rc;

    system_key(&key, name);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    return lvat_subid_parse(v.p, v.len, sub) == LVAT_OK ? LVAT_OK
                                                        : LVAT_ECORRUPT;
}

int
lvat__system_root(lvat_kernel *k, const char *name, char *out, size_t len)
{
    lvat_json *rec = NULL;
    const char *root;
    uint32_t sub;
    int rc = lvat__system_sub(k, name, &sub);

    if (rc == LVAT_OK)
        rc = lvat__sub_read(k, sub, &rec);
    if (rc != LVAT_OK)
        return rc;
    root = lvat_json_get_str(rec, "root");
    rc = root ? LVAT_OK : LVAT_ENOTFOUND;
    /* Cut short, it would be another kref. */
    if (root && (size_t)snprintf(out, len, "%s", root) >= len)
        rc = LVAT_ELIMIT;
    lvat_json_free(rec);
    return rc;
}

/* ---- Termination ---- */

/* A system subcluster's facet objects stop answering with it. */
static int
retire_facets(lvat_kernel *k, const lvat_json *rec)
{
    const lvat_json *services = lvat_json_get(rec, "services");
    const char *facet = lvat_json_get_str(services, "kernelFacet");
    lvat_kref kref;
    lvat_key key;
    int rc;

    if (facet == NULL || lvat_json_get(rec, "name") == NULL ||
        lvat_kref_parse(facet, strlen(facet), &kref) != LVAT_OK)
        return LVAT_OK;
    lvat_key_lit(&key, "svc.");
    lvat_key_add_kref(&key, kref);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        return rc;
    /* Unpinned and ownerless: messages to it splat, and it goes once
     * nobody holds it. */
    {
        lvat_kobj o;
        if ((rc = lvat__ko_get(k, kref, &o)) != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        o.orphaned = true;
        if ((rc = lvat__ko_put(k, kref, &o)) != LVAT_OK)
            return rc;
    }
    return lvat__ref_dec(k, kref, true);
}

int
lvat__sub_terminate(lvat_kernel *k, uint32_t sub, const char *why)
{
    lvat_json *rec = NULL;
    const lvat_json *order;
    const char *name;
    char reason[256];
    lvat_key key;
    uint32_t mapped;
    int rc = lvat__sub_read(k, sub, &rec);

    if (rc != LVAT_OK)
        return rc;
    snprintf(reason, sizeof reason,
             "[KERNEL:VAT_TERMINATED] subcluster s%u was %s", sub, why);
    rc = lvat__facet_launch_failed(k, rec, reason);
    if (rc == LVAT_OK)
        rc = lvat__launch_cut_short(k, rec, sub, reason);
    name = lvat_json_get_str(rec, "name");
    if (rc == LVAT_OK && name && lvat__system_sub(k, name, &mapped) ==
                                     LVAT_OK && mapped == sub) {
        system_key(&key, name);
        rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    }
    if (rc == LVAT_OK)
        rc = retire_facets(k, rec);
    lvat_key_sub(&key, sub);
    if (rc == LVAT_OK)
        rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    /* Vats go in reverse launch order. */
    order = lvat_json_get(rec, "order");
    for (size_t i = order ? order->len : 0; i-- > 0 && rc == LVAT_OK;) {
        uint32_t vat = 0;
        const lvat_json *v = order->items[i];
        if (v->type == LVAT_JSON_STRING &&
            lvat_vatid_parse(v->str, v->len, &vat) == LVAT_OK &&
            lvat__vat_alive(k, vat))
            rc = lvat__vat_terminate(k, vat, reason);
    }
    lvat_json_free(rec);
    return rc;
}
