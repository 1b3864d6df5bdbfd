/*
 * The router: what one run-queue item does.  A send goes to its target's
 * owner, is parked on an unresolved promise, follows a promise fulfilled to
 * an object, or is rejected (rejected promise, promise fulfilled to data,
 * dead or unknown target: a "splat").  The loop never fails on a bad
 * target; only store errors and vat failures stop a crank.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define INLINE_REFS 16
#define MAX_NOTIFY  4096

/* ---- Splat and release ---- */

int
lvat__release_msg(lvat_kernel *k, const lvat_msg *m)
{
    int rc = lvat__ref_dec(k, m->target, true);

    if (rc == LVAT_OK)
        rc = lvat__ref_dec(k, m->result, true);
    if (rc == LVAT_OK)
        rc = lvat__refs_dec(k, m->methargs.slots, m->methargs.nslots,
                            (lvat_kref){0});
    return rc;
}

/* Rejects the result (if it is still open) with a kernel error. */
int
lvat__splat(lvat_kernel *k, const lvat_msg *m, const char *why)
{
    lvat_kprom p;
    int rc;

    if (!lvat_kref_is_none(m->result) &&
        lvat__kp_get(k, m->result, &p) == LVAT_OK) {
        lvat__kp_release(&p);
        if (p.state == 'u' && (rc = lvat__kp_reject_msg(k, m->result, why)))
            return rc;
    }
    return lvat__release_msg(k, m);
}

static int
splat_ref(lvat_kernel *k,
          const lvat_msg *m,
          const char *code,
          lvat_kref r,
          const char *text)
{
    char msg[256], name[LVAT_REF_BUFSIZE];

    lvat_kref_format(r, name);
    snprintf(msg, sizeof msg, "[KERNEL:%s] %s %s", code, name, text);
    return lvat__splat(k, m, msg);
}

/* ---- Sends ---- */

/* A fulfilled value that is one object: "#\"$0\"" or "#\"$0.Iface\"". */
static bool
single_object(const lvat_capdata *v)
{
    const char *b = v->body;

    return v->nslots == 1 && !lvat_kref_is_promise(v->slots[0]) &&
           v->body_len >= 5 && b[0] == '#' && b[1] == '"' && b[2] == '$' &&
           b[3] == '0' && (b[4] == '"' || b[4] == '.');
}

static int
forward_to_rejection(lvat_kernel *k, const lvat_msg *m, lvat_kref kp)
{
    lvat_capdata v;
    lvat_kprom p;
    int rc;

    if (lvat_kref_is_none(m->result))
        return lvat__release_msg(k, m);
    if ((rc = lvat__kp_value(k, kp, &v)) != LVAT_OK)
        return rc;
    if ((rc = lvat__kp_get(k, m->result, &p)) == LVAT_OK) {
        lvat__kp_release(&p);
        if (p.state == 'u')
            rc = lvat__kp_resolve(k, m->result, true, v.body, v.body_len,
                                  v.slots, v.nslots);
    }
    lvat_capdata_free_slots(&v);
    return rc == LVAT_OK ? lvat__release_msg(k, m) : rc;
}

static int
deliver_to_object(lvat_kernel *k, const lvat_msg *m, lvat_kref target);

static int
deliver_to_promise(lvat_kernel *k, const lvat_msg *m)
{
    lvat_kref final;
    lvat_kprom p;
    lvat_capdata v;
    int rc = lvat__kp_follow(k, m->target, &final, &p);

    if (rc == LVAT_ENOTFOUND)
        return splat_ref(k, m, "OBJECT_DELETED", m->target, "no longer exists");
    if (rc != LVAT_OK)
        return rc;
    if (p.state == 'u') {
        /* Routed while unresolved (sends normally park at enqueue). */
        lvat_buf b = LVAT_BUF_INIT;
        lvat_item it;
        memset(&it, 0, sizeof it);
        it.type = LVAT_ITEM_SEND;
        it.msg = *m;
        rc = lvat__item_encode(&b, &it);
        if (rc == LVAT_OK)
            rc = lvat__kp_park(k, final, &p, &b);
        lvat_buf_free(&b);
        lvat__kp_release(&p);
        return rc;
    }
    lvat__kp_release(&p);
    if (p.state == 'r')
        return forward_to_rejection(k, m, final);
    if ((rc = lvat__kp_value(k, final, &v)) != LVAT_OK)
        return rc;
    if (!single_object(&v)) {
        lvat_capdata_free_slots(&v);
        return splat_ref(k, m, "BAD_PROMISE_RESOLUTION", final,
                         "was fulfilled with data, not an object, so it "
                         "cannot receive messages");
    }
    final = v.slots[0];
    lvat_capdata_free_slots(&v);
    return deliver_to_object(k, m, final);
}

static int
claim_result(lvat_kernel *k, lvat_kvat *v, lvat_kref result, lvat_vref *out)
{
    lvat_kprom p;
    int rc;

    out->v = 0;
    if (lvat_kref_is_none(result))
        return LVAT_OK;
    if ((rc = lvat__kp_get(k, result, &p)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if (p.state == 'u') {
        /* The receiver decides the result from now on. */
        rc = lvat__kp_set_decider(k, result, &p, v->id);
        if (rc == LVAT_OK)
            rc = lvat__kp_put(k, result, &p);
        if (rc == LVAT_OK)
            rc = lvat__clist_to_vat(k, v, result, out);
    }
    lvat__kp_release(&p);
    return rc;
}

static int
send_to_vat(lvat_kernel *k, const lvat_msg *m, lvat_kref target, lvat_kvat *v)
{
    lvat_vref inline_slots[INLINE_REFS], *slots = inline_slots;
    lvat_delivery d;
    int rc;

    memset(&d, 0, sizeof d);
    if (m->methargs.nslots > INLINE_REFS &&
        (slots = lvat_malloc(m->methargs.nslots * sizeof *slots)) == NULL)
        return LVAT_ENOMEM;
    rc = lvat__clist_lookup_k(k, v->id, target, &d.target, NULL);
    if (rc == LVAT_ENOTFOUND)
        rc = lvat__fail(k, LVAT_ECORRUPT,
                        "v%u owns an object it has no "
                        "c-list entry for: database may be corrupted",
                        v->id);
    for (size_t i = 0; i < m->methargs.nslots && rc == LVAT_OK; i++)
        rc = lvat__clist_to_vat(k, v, m->methargs.slots[i], &slots[i]);
    if (rc == LVAT_OK)
        rc = claim_result(k, v, m->result, &d.result);
    if (rc == LVAT_OK) {
        d.kind = LVAT_DELIVER_MESSAGE;
        d.methargs.body = m->methargs.body;
        d.methargs.body_len = m->methargs.body_len;
        d.methargs.slots = slots;
        d.methargs.nslots = m->methargs.nslots;
        rc = lvat__vat_deliver(k, v, &d);
    }
    if (slots != inline_slots)
        lvat_free(slots);
    return rc == LVAT_OK ? lvat__release_msg(k, m) : rc;
}

static int
splat_suspended(lvat_kernel *k, const lvat_msg *m, uint32_t vat)
{
    char msg[256];

    snprintf(msg, sizeof msg,
             "[KERNEL:VAT_SUSPENDED] v%u (%s) is suspended after faults; "
             "lvat_kernel_restart_vat or a reload of its subcluster "
             "revives it",
             vat, lvat__vat_name(k, vat));
    return lvat__splat(k, m, msg);
}

static int
deliver_to_object(lvat_kernel *k, const lvat_msg *m, lvat_kref target)
{
    lvat_kvat *v;
    lvat_kobj o;
    bool suspended;
    int rc = lvat__ko_get(k, target, &o);

    /* An owner's heap from an earlier open takes its ephemeral objects
     * with it: settle that first, so a message to one never reaches the
     * vat. */
    if (rc == LVAT_OK && !o.orphaned && o.owner != LVAT_VATID_KERNEL &&
        !lvat__vat_loaded(k, o.owner) && lvat__vat_alive(k, o.owner)) {
        if ((rc = lvat__vat_prepare(k, o.owner, &suspended)) != LVAT_OK)
            return rc;
        if (suspended)
            return splat_suspended(k, m, o.owner);
        rc = lvat__ko_get(k, target, &o);
    }
    if (rc == LVAT_ENOTFOUND)
        return splat_ref(k, m, "OBJECT_DELETED", target, "no longer exists");
    if (rc != LVAT_OK)
        return rc;
    if (o.orphaned)
        return splat_ref(k, m, "OBJECT_DELETED", target,
                         "was deleted: the vat that made it is gone or "
                         "has restarted");
    if (o.owner == LVAT_VATID_KERNEL)
        return lvat__service_deliver(k, m, target);
    rc = lvat__vat_get(k, o.owner, &v);
    if (rc == LVAT_ENOTFOUND)
        return splat_ref(k, m, "OBJECT_DELETED", target,
                         "belongs to a vat that no longer exists");
    if (rc != LVAT_OK || (rc = lvat__vat_ensure(k, v)) != LVAT_OK)
        return rc;
    return send_to_vat(k, m, target, v);
}

/* ---- Notify ---- */

typedef struct notify_entry {
    lvat_kref kp;
    lvat_capdata value;
    lvat_vref *vslots;
} notify_entry;

/* Most notifies settle one promise: the first few entries need no heap. */
#define BATCH_INLINE 4

/*
 * Past the inline entries, the batch's promises are also kept in a set
 * (open addressing on the kref's bits, 0 empty, at most half full),
 * which in_batch asks twice for each promise: scans of a joined batch
 * of 64 cost ~300 instructions a resolution, and a value naming
 * promises can grow a batch to MAX_NOTIFY.
 */
typedef struct notify_batch {
    notify_entry *e;
    lvat_resolution *res;
    size_t n, cap;
    uint64_t *set; /* NULL while the entries are inline */
    size_t setcap; /* 2 * cap */
    notify_entry e_inline[BATCH_INLINE];
    lvat_resolution res_inline[BATCH_INLINE];
} notify_batch;

static bool
in_batch(const notify_batch *b, lvat_kref kp)
{
    size_t mask;

    if (b->set == NULL) {
        for (size_t i = 0; i < b->n; i++)
            if (lvat_kref_eq(b->e[i].kp, kp))
                return true;
        return false;
    }
    mask = b->setcap - 1;
    for (size_t i = lvat_ref_hash(kp.v) & mask; b->set[i]; i = (i + 1) & mask)
        if (b->set[i] == kp.v)
            return true;
    return false;
}

static void
set_put(uint64_t *set, size_t cap, lvat_kref kp)
{
    size_t i = lvat_ref_hash(kp.v) & (cap - 1);

    while (set[i])
        i = (i + 1) & (cap - 1);
    set[i] = kp.v;
}

static void
batch_init(notify_batch *b)
{
    b->e = b->e_inline;
    b->res = b->res_inline;
    b->n = 0;
    b->cap = BATCH_INLINE;
    b->set = NULL;
    b->setcap = 0;
}

/* A heap copy of n elements of `size` at p, with room for cap. */
static void *
grown(const void *p, size_t n, size_t cap, size_t size)
{
    void *q = lvat_malloc(cap * size);

    if (q != NULL)
        memcpy(q, p, n * size);
    return q;
}

/* Makes the set room for cap promises. */
static int
set_grow(notify_batch *b, size_t cap)
{
    uint64_t *set;

    if ((set = lvat_calloc(2 * cap, sizeof *set)) == NULL)
        return LVAT_ENOMEM;
    for (size_t i = 0; i < b->n; i++)
        set_put(set, 2 * cap, b->e[i].kp);
    lvat_free(b->set);
    b->set = set;
    b->setcap = 2 * cap;
    return LVAT_OK;
}

static int
batch_grow(notify_batch *b)
{
    size_t cap = b->cap * 2;
    notify_entry *e;
    lvat_resolution *r;

    if (b->n < b->cap)
        return LVAT_OK;
    if (cap > MAX_NOTIFY)
        return LVAT_ELIMIT;
    if (set_grow(b, cap) != LVAT_OK)
        return LVAT_ENOMEM;
    e = grown(b->e, b->n, cap, sizeof *e);
    r = grown(b->res, b->n, cap, sizeof *r);
    if (e == NULL || r == NULL) {
        lvat_free(e);
        lvat_free(r);
        return LVAT_ENOMEM;
    }
    if (b->e != b->e_inline) {
        lvat_free(b->e);
        lvat_free(b->res);
    }
    b->e = e;
    b->res = r;
    b->cap = cap;
    return LVAT_OK;
}

static void
batch_free(notify_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        lvat_capdata_free_slots(&b->e[i].value);
        lvat_free(b->e[i].vslots);
    }
    if (b->e != b->e_inline) {
        lvat_free(b->e);
        lvat_free(b->res);
    }
    lvat_free(b->set);
}

/* Adds kp (settled) and, recursively, settled promises its value names.
 * `vp` is the vat's name for kp when the caller has looked it up. */
static int
collect(lvat_kernel *k, lvat_kvat *v, notify_batch *b, lvat_kref kp,
        const lvat_vref *vp)
{
    notify_entry *e;
    lvat_kprom p;
    size_t i;
    int rc;

    if (in_batch(b, kp))
        return LVAT_OK;
    if ((rc = lvat__kp_get(k, kp, &p)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    lvat__kp_release(&p);
    if (p.state == 'u')
        return LVAT_OK;
    if ((rc = batch_grow(b)) != LVAT_OK)
        return rc == LVAT_ELIMIT ? LVAT_OK : rc; /* the rest come later */
    i = b->n;
    e = &b->e[i];
    memset(e, 0, sizeof *e);
    memset(&b->res[i], 0, sizeof b->res[i]);
    if ((rc = lvat__kp_value(k, kp, &e->value)) != LVAT_OK)
        return rc;
    e->kp = kp;
    if (b->set != NULL)
        set_put(b->set, b->setcap, kp);
    b->n++;
    b->res[i].rejected = p.state == 'r';
    if (vp != NULL)
        b->res[i].vpid = *vp;
    else
        rc = lvat__clist_to_vat(k, v, kp, &b->res[i].vpid);
    for (size_t s = 0; s < b->e[i].value.nslots && rc == LVAT_OK; s++)
        if (lvat_kref_is_promise(b->e[i].value.slots[s]))
            rc = collect(k, v, b, b->e[i].value.slots[s], NULL);
    return rc;
}

static int
translate_values(lvat_kernel *k, lvat_kvat *v, notify_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        lvat_capdata *cd = &b->e[i].value;
        int rc;
        if (cd->nslots && (b->e[i].vslots = lvat_malloc(
                               cd->nslots * sizeof(lvat_vref))) == NULL)
            return LVAT_ENOMEM;
        for (size_t s = 0; s < cd->nslots; s++)
            if ((rc = lvat__clist_to_vat(k, v, cd->slots[s],
                                         &b->e[i].vslots[s])) != LVAT_OK)
                return rc;
        b->res[i].data.body = cd->body;
        b->res[i].data.body_len = cd->body_len;
        b->res[i].data.slots = b->e[i].vslots;
        b->res[i].data.nslots = cd->nslots;
    }
    return LVAT_OK;
}

/* Drops the references a notify item holds, except those kept for a
 * later notify. */
static int
release_notified(lvat_kernel *k, const lvat_item *it, const bool *kept)
{
    int rc = LVAT_OK;

    for (uint32_t i = 0; i <= it->nmore && rc == LVAT_OK; i++)
        if (kept == NULL || !kept[i])
            rc = lvat__ref_dec(k, lvat__item_kp(it, i), true);
    return rc;
}

/* Which of the item's promises are still in the vat's c-list (one the
 * vat already retired is not notified again), and their vrefs. */
static int
find_listed(lvat_kernel *k, const lvat_item *it, bool *listed,
            lvat_vref *vps, bool *any)
{
    *any = false;
    for (uint32_t i = 0; i <= it->nmore; i++) {
        int rc = lvat__clist_lookup_k(k, it->vat, lvat__item_kp(it, i),
                                      &vps[i], NULL);
        if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
            return rc;
        listed[i] = rc == LVAT_OK;
        *any = *any || listed[i];
    }
    return LVAT_OK;
}

/* Collects the listed promises; one the batch has no room for is queued
 * again, keeping its reference. */
static int
collect_item(lvat_kernel *k, lvat_kvat *v, notify_batch *b,
             const lvat_item *it, const bool *listed, const lvat_vref *vps,
             bool *kept)
{
    int rc = LVAT_OK;

    for (uint32_t i = 0; i <= it->nmore && rc == LVAT_OK; i++) {
        lvat_item again;
        if (!listed[i])
            continue;
        memset(&again, 0, sizeof again);
        again.kp = lvat__item_kp(it, i);
        rc = collect(k, v, b, again.kp, &vps[i]);
        if (rc != LVAT_OK || in_batch(b, again.kp))
            continue;
        again.type = LVAT_ITEM_NOTIFY;
        again.vat = it->vat;
        if ((rc = lvat__runq_push(k, &again)) == LVAT_OK)
            kept[i] = true;
    }
    return rc;
}

static int
deliver_notify(lvat_kernel *k, const lvat_item *it)
{
    notify_batch batch, *b = &batch;
    bool kept[LVAT_NOTIFY_MERGE] = {false}, listed[LVAT_NOTIFY_MERGE];
    lvat_vref vps[LVAT_NOTIFY_MERGE];
    lvat_delivery d;
    lvat_kvat *v;
    bool suspended, any;
    int rc = lvat__vat_get(k, it->vat, &v);

    if (rc == LVAT_ENOTFOUND)
        return release_notified(k, it, NULL);
    if (rc == LVAT_OK)
        rc = lvat__vat_prepare(k, it->vat, &suspended);
    if (rc != LVAT_OK)
        return rc;
    if (suspended) {
        /* It cannot hear them; the promises leave its c-list anyway. */
        for (uint32_t i = 0; i <= it->nmore && rc == LVAT_OK; i++)
            rc = lvat__clist_remove(k, it->vat, lvat__item_kp(it, i));
        return rc == LVAT_OK ? release_notified(k, it, NULL) : rc;
    }
    if ((rc = find_listed(k, it, listed, vps, &any)) != LVAT_OK || !any)
        return rc == LVAT_OK ? release_notified(k, it, NULL) : rc;
    if ((rc = lvat__vat_ensure(k, v)) != LVAT_OK)
        return rc;
    batch_init(b);
    rc = collect_item(k, v, b, it, listed, vps, kept);
    if (rc == LVAT_OK)
        rc = translate_values(k, v, b);
    if (rc == LVAT_OK && b->n) {
        memset(&d, 0, sizeof d);
        d.kind = LVAT_DELIVER_NOTIFY;
        d.resolutions = b->res;
        d.nresolutions = b->n;
        rc = lvat__vat_deliver(k, v, &d);
    }
    /* Notified promises leave the vat's c-list. */
    for (size_t i = 0; i < b->n && rc == LVAT_OK; i++)
        rc = lvat__clist_remove_promise(k, it->vat, b->e[i].kp,
                                        b->res[i].vpid);
    batch_free(b);
    return rc == LVAT_OK ? release_notified(k, it, kept) : rc;
}

/* ---- Entry point ---- */

int
lvat__deliver_item(lvat_kernel *k, const lvat_item *it)
{
    switch (it->type) {
    case LVAT_ITEM_SEND:
        if (lvat_kref_is_promise(it->msg.target))
            return deliver_to_promise(k, &it->msg);
        return deliver_to_object(k, &it->msg, it->msg.target);
    case LVAT_ITEM_NOTIFY:
        return deliver_notify(k, it);
    case LVAT_ITEM_START:
        return lvat__launch_start_vat(k, it->vat);
    case LVAT_ITEM_KNOTIFY:
        return lvat__knotify(k, it->kp);
    case LVAT_ITEM_CLEANUP:
        return lvat__vat_cleanup(k, it->vat);
    }
    return LVAT_ECORRUPT;
}
