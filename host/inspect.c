/*
 * Read-only views of the kernel for operators: status (subclusters, vats,
 * table sizes, queue length) and inspect (one kref: owner or decider,
 * counts, every c-list entry naming it, promise state).  Both return JSON
 * text the CLI prints; neither writes anything, so they work on a kernel
 * opened read-only beside a running writer.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

/* A read-only kernel reads what the writer has committed by now: its
 * snapshot, and the caches over it, stayed as they were at its first read
 * for ever otherwise (holding LMDB's old pages, so the writer's file
 * could only grow meanwhile).  A writer's view is its own. */
void
lvat__readonly_refresh(lvat_kernel *k)
{
    if (!k->opts.readonly)
        return;
    lvat_kv_block_abort(k->kv);
    lvat__stats_load(k);
}

/* Hands an owned JSON text to the caller (free() it). */
static int
take_json(lvat_kernel *k, lvat_json *doc, char **out)
{
    lvat_buf b = LVAT_BUF_INIT;
    int rc = doc ? lvat_json_write(&b, doc) : LVAT_ENOMEM;
    size_t len;
    char *s;

    lvat_json_free(doc);
    if (rc != LVAT_OK) {
        lvat_buf_free(&b);
        return lvat__fail(k, rc, "out of memory");
    }
    s = lvat_buf_take(&b, &len);
    *out = s ? malloc(len + 1) : NULL;
    if (*out == NULL) {
        lvat_free(s);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    memcpy(*out, s, len + 1);
    lvat_free(s);
    return LVAT_OK;
}

static int
set_str(lvat_json *o, const char *key, const char *val)
{
    return lvat_json_set(o, key, lvat_json_new_str(val, strlen(val)));
}

static int
set_int(lvat_json *o, const char *key, int64_t v)
{
    return lvat_json_set(o, key, lvat_json_new_int(v));
}

/* Calls fn for every key under prefix (stops on a non-OK return). */
typedef int (*visit_fn)(lvat_kernel *k, const lvat_val *key,
                        const lvat_val *val, void *ud);

static int
each_key(lvat_kernel *k, const char *prefix, visit_fn fn, void *ud)
{
    char from[LVAT_KEY_MAX + 1];
    size_t plen = strlen(prefix), flen = plen;
    int rc;

    memcpy(from, prefix, plen);
    for (bool first = true;; first = false) {
        lvat_val key, val;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first, prefix,
                          plen, &key, &val);
        if (rc == LVAT_ENOTFOUND)
            return LVAT_OK;
        if (rc != LVAT_OK)
            return rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        if ((rc = fn(k, &key, &val, ud)) != LVAT_OK)
            return rc;
    }
}

/* ---- status ---- */

static int
add_sub(lvat_kernel *k, const lvat_val *key, const lvat_val *val, void *ud)
{
    lvat_json *list = ud, *rec = NULL;
    int rc = lvat_json_parse(val->p, val->len, false, &rec, NULL, 0);

    LVAT_UNUSED(key);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT, "%.*s: bad record: database may "
                          "be corrupted", (int)key->len, key->p);
    if (rc != LVAT_OK)
        return rc;
    /* The stored config is long and only `luavat inspect` wants it. */
    if (lvat_json_get(rec, "config"))
        lvat_json_set(rec, "config", lvat_json_new(LVAT_JSON_NULL));
    return lvat_json_append(list, rec);
}

static int
add_vat(lvat_kernel *k, const lvat_val *key, const lvat_val *val, void *ud)
{
    lvat_json *list = ud, *rec = NULL, *v = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    const char *s;
    int rc = lvat_json_parse(val->p, val->len, false, &rec, NULL, 0);

    if (rc != LVAT_OK || v == NULL) {
        lvat_json_free(rec);
        lvat_json_free(v);
        return rc == LVAT_ESYNTAX
                   ? lvat__fail(k, LVAT_ECORRUPT, "%.*s: bad record: database "
                                "may be corrupted", (int)key->len, key->p)
                   : LVAT_ENOMEM;
    }
    rc = lvat_json_set(v, "id", lvat_json_new_str(key->p + 4, key->len - 4));
    if (rc == LVAT_OK && (s = lvat_json_get_str(rec, "name")))
        rc = set_str(v, "name", s);
    if (rc == LVAT_OK && (s = lvat_json_get_str(rec, "subcluster")))
        rc = set_str(v, "subcluster", s);
    if (rc == LVAT_OK) {
        lvat_vat_life l;
        uint32_t vat = 0;
        lvat_vatid_parse(key->p + 4, key->len - 4, &vat);
        rc = lvat__life_get(k, vat, &l);
        if (rc == LVAT_OK)
            rc = set_str(v, "state", l.state == 'n'   ? "starting"
                                     : l.state == 'x' ? "suspended"
                                                      : "running");
        if (rc == LVAT_OK)
            rc = set_int(v, "incarnation", (int64_t)l.incarnation);
    }
    lvat_json_free(rec);
    if (rc != LVAT_OK) {
        lvat_json_free(v);
        return rc;
    }
    return lvat_json_append(list, v);
}

static int
count_ref(lvat_kernel *k, const lvat_val *key, const lvat_val *val, void *ud)
{
    int64_t *n = ud;
    lvat_kref r;

    LVAT_UNUSED(k);
    LVAT_UNUSED(val);
    /* Only the records themselves, not kp<N>.v or kp<N>.q.<i>. */
    if (lvat_kref_parse(key->p, key->len, &r) == LVAT_OK)
        (*n)++;
    return LVAT_OK;
}

int
lvat_kernel_status_json(lvat_kernel *k, char **out)
{
    lvat_json *doc = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *subs = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    lvat_json *vats = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    int64_t objects = 0, promises = 0;
    uint64_t queue = 0;
    int rc = doc && subs && vats ? LVAT_OK : LVAT_ENOMEM;

    lvat__readonly_refresh(k);
    /* Asked from inside a crank (the kernel facet's getStatus), the
     * crank's cached promise records must be in the store first. */
    if (rc == LVAT_OK)
        rc = lvat__block_flush(k);
    if (rc == LVAT_OK)
        rc = each_key(k, "sub.", add_sub, subs);
    if (rc == LVAT_OK)
        rc = each_key(k, "vat.", add_vat, vats);
    if (rc == LVAT_OK)
        rc = each_key(k, "ko", count_ref, &objects);
    if (rc == LVAT_OK)
        rc = each_key(k, "kp", count_ref, &promises);
    if (rc == LVAT_OK)
        rc = lvat__runq_length(k, &queue);
    if (rc == LVAT_OK) {
        rc = lvat_json_set(doc, "subclusters", subs);
        subs = NULL;
    }
    if (rc == LVAT_OK) {
        rc = lvat_json_set(doc, "vats", vats);
        vats = NULL;
    }
    if (rc == LVAT_OK && (rc = set_int(doc, "objects", objects)) == LVAT_OK &&
        (rc = set_int(doc, "promises", promises)) == LVAT_OK)
        rc = set_int(doc, "queue", (int64_t)queue);
    lvat_json_free(subs);
    lvat_json_free(vats);
    if (rc != LVAT_OK) {
        lvat_json_free(doc);
        return rc == LVAT_ENOMEM ? lvat__fail(k, rc, "out of memory") : rc;
    }
    return take_json(k, doc, out);
}

/* ---- inspect ---- */

typedef struct holders {
    lvat_kref r;
    lvat_json *list;
} holders;

static int
add_holder(lvat_kernel *k, const lvat_val *key, const lvat_val *val, void *ud)
{
    holders *h = ud;
    char vref[LVAT_REF_BUFSIZE];
    uint32_t vat;
    lvat_vref v;
    bool reach;
    lvat_json *e;
    int rc;

    LVAT_UNUSED(val);
    if (lvat_vatid_parse(key->p + 4, key->len - 4, &vat) != LVAT_OK)
        return LVAT_OK;
    rc = lvat__clist_lookup_k(k, vat, h->r, &v, &reach);
    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    if (rc != LVAT_OK || (e = lvat_json_new(LVAT_JSON_OBJECT_BEGIN)) == NULL)
        return rc ? rc : LVAT_ENOMEM;
    lvat_vref_format(v, vref);
    rc = lvat_json_set(e, "vat", lvat_json_new_str(key->p + 4, key->len - 4));
    if (rc == LVAT_OK)
        rc = set_str(e, "vref", vref);
    if (rc == LVAT_OK)
        rc = lvat_json_set(e, "reachable",
                           lvat_json_new(reach ? LVAT_JSON_TRUE
                                               : LVAT_JSON_FALSE));
    if (rc != LVAT_OK) {
        lvat_json_free(e);
        return rc;
    }
    return lvat_json_append(h->list, e);
}

static const char *
endpoint(uint32_t ep, char *buf)
{
    if (ep == LVAT_NO_DECIDER)
        return "none";
    lvat_vatid_format(ep, buf);
    return buf;
}

static int
inspect_object(lvat_kernel *k, lvat_kref r, lvat_json *doc)
{
    char name[LVAT_REF_BUFSIZE];
    lvat_kobj o;
    int rc = lvat__ko_get(k, r, &o);

    if (rc != LVAT_OK)
        return rc;
    rc = set_str(doc, "type", "object");
    if (rc == LVAT_OK)
        rc = set_str(doc, "owner", o.orphaned ? "none (orphaned)"
                                              : endpoint(o.owner, name));
    if (rc == LVAT_OK)
        rc = set_int(doc, "reachable", (int64_t)o.reach);
    if (rc == LVAT_OK)
        rc = set_int(doc, "recognizable", (int64_t)o.recog);
    return rc;
}

static int
inspect_promise(lvat_kernel *k, lvat_kref r, lvat_json *doc)
{
    char name[LVAT_REF_BUFSIZE];
    lvat_json *subs = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    lvat_kprom p;
    int rc = subs ? lvat__kp_get(k, r, &p) : LVAT_ENOMEM;

    if (rc != LVAT_OK) {
        lvat_json_free(subs);
        return rc;
    }
    for (size_t i = 0; i < p.nsubs && rc == LVAT_OK; i++)
        rc = lvat_json_append(subs, lvat_json_new_str(
                                        endpoint(p.subs[i], name),
                                        strlen(endpoint(p.subs[i], name))));
    lvat__kp_release(&p);
    if (rc == LVAT_OK)
        rc = lvat_json_set(doc, "subscribers", subs);
    else
        lvat_json_free(subs);
    if (rc == LVAT_OK)
        rc = set_str(doc, "type", "promise");
    if (rc == LVAT_OK)
        rc = set_str(doc, "state", p.state == 'u'   ? "pending"
                                   : p.state == 'f' ? "fulfilled"
                                                    : "rejected");
    if (rc == LVAT_OK)
        rc = set_str(doc, "decider", endpoint(p.decider, name));
    if (rc == LVAT_OK)
        rc = set_int(doc, "refs", (int64_t)p.refs);
    if (rc == LVAT_OK)
        rc = set_int(doc, "parked", (int64_t)(p.qtail - p.qhead));
    if (rc == LVAT_OK && p.state != 'u') {
        lvat_buf text = LVAT_BUF_INIT;
        lvat_capdata v;
        if ((rc = lvat__kp_value(k, r, &v)) == LVAT_OK) {
            lvat_sc_render(&text, v.body, v.body_len, v.slots, v.nslots,
                           NULL, NULL);
            lvat_capdata_free_slots(&v);
            rc = set_str(doc, "value", text.data ? text.data : "");
        }
        lvat_buf_free(&text);
    }
    return rc;
}

int
lvat_kernel_inspect_json(lvat_kernel *k, const char *kref, char **out)
{
    lvat_json *doc = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    holders h = {{0}, lvat_json_new(LVAT_JSON_ARRAY_BEGIN)};
    int rc;

    if (doc == NULL || h.list == NULL) {
        lvat_json_free(doc);
        lvat_json_free(h.list);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    if (kref == NULL || lvat_kref_parse(kref, strlen(kref), &h.r)) {
        lvat_json_free(doc);
        lvat_json_free(h.list);
        return lvat__fail(k, LVAT_EINVAL, "%s is not a kref (like ko7 or kp3)",
                          kref ? kref : "(null)");
    }
    lvat__readonly_refresh(k);
    rc = set_str(doc, "kref", kref);
    if (rc == LVAT_OK)
        rc = lvat_kref_is_promise(h.r) ? inspect_promise(k, h.r, doc)
                                       : inspect_object(k, h.r, doc);
    if (rc == LVAT_OK)
        rc = each_key(k, "vat.", add_holder, &h);
    if (rc == LVAT_OK) {
        rc = lvat_json_set(doc, "clist", h.list);
        h.list = NULL;
    }
    lvat_json_free(h.list);
    if (rc != LVAT_OK) {
        lvat_json_free(doc);
        if (rc == LVAT_ENOTFOUND)
            return lvat__fail(k, rc, "%s: no such object or promise", kref);
        return lvat__fail(k, rc, "inspecting %s: %s", kref, lvat_strerror(rc));
    }
    return take_json(k, doc, out);
}
