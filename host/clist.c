/*
 * Per-vat c-lists: the only names a vat has for kernel objects and
 * promises.  v<N>.c.<kref> = "R <vref>" (or "_ <vref>" once the vat has
 * dropped an import) and v<N>.c.<vref> = "<kref>".  Imports (o-N, p-N) are
 * numbered by the kernel; exports (o+N, p+N) by the vat, and the kernel
 * remembers the highest it has seen so a vref is never reused.
 * Anything a vat names that is not here is an illegal syscall.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* ---- Counters: v<N>.n = "<o-> <p-> <o+> <p+>" (next numbers), kept
 * for the block by counts.c ---- */

typedef struct counters {
    uint64_t v[4]; /* import obj, import promise, export obj, export promise */
} counters;

static int
get_counters(lvat_kernel *k, uint32_t vat, counters *c)
{
    return lvat__vat_counts(k, vat, c->v);
}

static int
put_counters(lvat_kernel *k, uint32_t vat, const counters *c)
{
    return lvat__vat_counts_set(k, vat, c->v);
}

/* ---- Entries ---- */

int
lvat__clist_write(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
                  bool reach, unsigned flags)
{
    char text[LVAT_REF_BUFSIZE + 2];
    lvat_key key;
    size_t n;
    int rc;

    text[0] = reach ? 'R' : '_';
    text[1] = ' ';
    n = 2 + lvat_vref_format(v, text + 2);
    lvat_key_clist_k(&key, vat, r);
    rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, text, n, flags);
    if (rc != LVAT_OK)
        return rc;
    n = lvat_kref_format(r, text);
    lvat_key_clist_v(&key, vat, v);
    rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, text, n, flags);
    if (rc != LVAT_OK && (flags & LVAT_KV_NEW)) {
        /* No half pair: a block write that failed here may be retried
         * after more cranks (deleting a key needs no memory). */
        lvat_key_clist_k(&key, vat, r);
        lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    }
    return rc;
}

/* `flags` LVAT_KV_NEW when both keys are known to be absent (they were
 * just looked up, or name a fresh ref): such a pair is kept in memory
 * (clist_block.c), so one born and gone within the block never becomes a
 * key at all. */
static int
put_pair(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v, bool reach,
         unsigned flags)
{
    int rc;

    if ((flags & LVAT_KV_NEW) && !k->opts.readonly)
        return lvat__clb_add(k, vat, r, v, reach);
    rc = lvat__clb_set_reach(k, vat, r, reach);
    if (rc != LVAT_ENOTFOUND)
        return rc;
    return lvat__clist_write(k, vat, r, v, reach, flags);
}

int
lvat__clist_lookup_k(lvat_kernel *k,
                     uint32_t vat,
                     lvat_kref r,
                     lvat_vref *out,
                     bool *reachable)
{
    lvat_key key;
    lvat_val val;
    int rc;

    if (lvat__clb_by_kref(k, vat, r, out, reachable))
        return LVAT_OK;
    lvat_key_clist_k(&key, vat, r);
    /* A kref made in this block: a send's result, most often. */
    rc = lvat__kv_get_fresh(k, lvat__kref_fresh(k, r), &key, &val);
    if (rc != LVAT_OK)
        return rc;
    if (val.len < 3 || lvat_vref_parse(val.p + 2, val.len - 2, out))
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad c-list entry: database may be corrupted",
                          key.b);
    if (reachable)
        *reachable = val.p[0] == 'R';
    return LVAT_OK;
}

int
lvat__clist_lookup_v(lvat_kernel *k, uint32_t vat, lvat_vref r, lvat_kref *out)
{
    lvat_key key;
    lvat_val val;
    int rc;

    if (lvat__clb_by_vref(k, vat, r, out))
        return LVAT_OK;
    lvat_key_clist_v(&key, vat, r);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &val);
    if (rc != LVAT_OK)
        return rc;
    if (lvat_kref_parse(val.p, val.len, out) != LVAT_OK)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad c-list entry: database may be corrupted",
                          key.b);
    return LVAT_OK;
}

int
lvat__clist_add_export(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v)
{
    return put_pair(k, vat, r, v, true, 0);
}

int
lvat__clist_to_vat(lvat_kernel *k, lvat_kvat *v, lvat_kref r, lvat_vref *out)
{
    bool reach, promise = lvat_kref_is_promise(r);
    counters c;
    int rc = lvat__clist_lookup_k(k, v->id, r, out, &reach);

    if (rc == LVAT_OK) {
        /* A dropped import becomes reachable again when re-sent. */
        if (!reach && !promise && !lvat_vref_is_export(*out)) {
            rc = put_pair(k, v->id, r, *out, true, 0);
            if (rc == LVAT_OK)
                rc = lvat__ko_adjust(k, r, 1, 0);
        }
        return rc;
    }
    if (rc != LVAT_ENOTFOUND)
        return rc;
    if ((rc = get_counters(k, v->id, &c)) != LVAT_OK)
        return rc;
    *out = lvat_vref_make(promise, false, c.v[promise ? 1 : 0]++);
    if ((rc = put_counters(k, v->id, &c)) != LVAT_OK ||
        (rc = put_pair(k, v->id, r, *out, true, LVAT_KV_NEW)) != LVAT_OK)
        return rc;
    return lvat__ref_inc(k, r, true);
}

static int
illegal(lvat_kernel *k, lvat_kvat *v, lvat_vref r, const char *why)
{
    char name[LVAT_REF_BUFSIZE];

    lvat_vref_format(r, name);
    lvat__crank_fail(k, LVAT_CRANK_ILLEGAL, v->id,
                     "illegal syscall by %s (v%u): %s %s", v->name, v->id, name,
                     why);
    return lvat_errbuf_set(v->sys.err, LVAT_EILLEGAL, "illegal syscall: %s %s",
                           name, why);
}

/* A new export r, given the vat's counters c; a promise that is the
 * result of a send when `result`. */
static int
new_export(lvat_kernel *k, lvat_kvat *v, lvat_vref r, counters *c,
           bool result, lvat_kref *out)
{
    bool promise = lvat_vref_is_promise(r);
    uint64_t n = lvat_vref_num(r);
    int rc;

    if (!lvat_vref_is_durable(r) && n < c->v[promise ? 3 : 2])
        return illegal(k, v, r,
                       "reuses an export number of an earlier "
                       "incarnation or object");
    if (!promise)
        rc = lvat__ko_new(k, v->id, out);
    else if (result)
        rc = lvat__kp_new_result(k, v->id, out);
    else
        rc = lvat__kp_new(k, v->id, out);
    if (rc != LVAT_OK)
        return rc;
    if (!lvat_vref_is_durable(r)) {
        c->v[promise ? 3 : 2] = n + 1;
        if ((rc = put_counters(k, v->id, c)) != LVAT_OK)
            return rc;
    }
    if ((rc = put_pair(k, v->id, *out, r, true, LVAT_KV_NEW)) != LVAT_OK)
        return rc;
    /* Every c-list entry holds a promise; an owner's export holds no
     * count on its own object. */
    return promise ? lvat__ref_inc(k, *out, true) : LVAT_OK;
}

/* An export the kernel has told the vat was dropped is reachable again
 * once the vat sends it out anew, so a later drop is reported again. */
static int
reexport(lvat_kernel *k, uint32_t vat, lvat_kref ko, lvat_vref v)
{
    lvat_vref back;
    bool reach;
    int rc = lvat__clist_lookup_k(k, vat, ko, &back, &reach);

    if (rc != LVAT_OK || reach)
        return rc;
    return put_pair(k, vat, ko, v, true, 0);
}

static int
from_vat(lvat_kernel *k, lvat_kvat *v, lvat_vref r, bool result,
         lvat_kref *out, bool *made)
{
    bool have_counters = false;
    counters c;
    int rc;

    *made = false;
    /* A promise export numbered at or past the vat's counter is new (the
     * counter passes every number the vat has used): no lookup. */
    if (lvat_vref_is_export(r) && lvat_vref_is_promise(r) &&
        !lvat_vref_is_durable(r)) {
        if ((rc = get_counters(k, v->id, &c)) != LVAT_OK)
            return rc;
        if (lvat_vref_num(r) >= c.v[3]) {
            *made = true;
            return new_export(k, v, r, &c, result, out);
        }
        have_counters = true;
    }
    rc = lvat__clist_lookup_v(k, v->id, r, out);
    if (rc == LVAT_OK && lvat_vref_is_export(r) && !lvat_vref_is_promise(r))
        return reexport(k, v->id, *out, r);
    if (rc != LVAT_ENOTFOUND)
        return rc;
    if (!lvat_vref_is_export(r))
        return illegal(k, v, r, "is not in its c-list");
    if (!have_counters && (rc = get_counters(k, v->id, &c)) != LVAT_OK)
        return rc;
    *made = true;
    return new_export(k, v, r, &c, result, out);
}

int
lvat__clist_from_vat(lvat_kernel *k, lvat_kvat *v, lvat_vref r, lvat_kref *out)
{
    bool made;

    return from_vat(k, v, r, false, out, &made);
}

int
lvat__clist_result_from_vat(lvat_kernel *k, lvat_kvat *v, lvat_vref r,
                            lvat_kref *out, bool *made)
{
    return from_vat(k, v, r, true, out, made);
}

static int
del_pair(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v)
{
    lvat_key key;
    int rc = lvat__clb_remove(k, vat, r);

    if (rc != LVAT_ENOTFOUND)
        return rc;
    lvat_key_clist_k(&key, vat, r);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        return rc;
    lvat_key_clist_v(&key, vat, v);
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
}

int
lvat__clist_remove_promise(lvat_kernel *k, uint32_t vat, lvat_kref kp,
                           lvat_vref vp)
{
    int rc = del_pair(k, vat, kp, vp);

    return rc == LVAT_OK ? lvat__ref_dec(k, kp, true) : rc;
}

int
lvat__clist_remove(lvat_kernel *k, uint32_t vat, lvat_kref r)
{
    lvat_vref v;
    bool reach;
    int rc = lvat__clist_lookup_k(k, vat, r, &v, &reach);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if (lvat_kref_is_promise(r))
        return lvat__clist_remove_promise(k, vat, r, v);
    if ((rc = del_pair(k, vat, r, v)) != LVAT_OK)
        return rc;
    if (lvat_vref_is_export(v))
        return LVAT_OK;
    return lvat__ko_adjust(k, r, reach ? -1 : 0, -1);
}

int
lvat__clist_drop(lvat_kernel *k, uint32_t vat, lvat_kref r)
{
    lvat_vref v;
    bool reach;
    int rc = lvat__clist_lookup_k(k, vat, r, &v, &reach);

    if (rc != LVAT_OK || !reach)
        return rc;
    if ((rc = put_pair(k, vat, r, v, false, 0)) != LVAT_OK)
        return rc;
    return lvat__ko_adjust(k, r, -1, 0);
}

int
lvat__clist_mark_unreachable(lvat_kernel *k, uint32_t vat, lvat_kref r)
{
    lvat_vref v;
    bool reach;
    int rc = lvat__clist_lookup_k(k, vat, r, &v, &reach);

    if (rc != LVAT_OK || !reach)
        return rc;
    return put_pair(k, vat, r, v, false, 0);
}
