/*
 * The kernel side of every syscall.  Each one validates against the vat's
 * c-list and the promise tables before it changes anything; a call that
 * breaks the rules marks the crank for rollback and the vat for
 * termination (illegal syscall), and returns LVAT_EILLEGAL so the runtime
 * stops.  Writes go into the open crank, so a rolled-back crank takes its
 * syscalls with it.
 */
#include "kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

#define MAX_INLINE_SLOTS 16

/* ---- Common checks ---- */

static int
begin(lvat_syscall *sc)
{
    lvat_kernel *k = sc->k;

    if (!sc->active)
        return lvat_errbuf_set(sc->err, LVAT_ESTATE,
                               "syscall by %s (v%u) outside a delivery",
                               sc->vat->name, sc->vat->id);
    if (k->crank.failure != LVAT_CRANK_OK)
        return lvat_errbuf_set(sc->err, LVAT_EILLEGAL,
                               "vat %s (v%u) is being stopped", sc->vat->name,
                               sc->vat->id);
    lvat_buf_reset(&sc->scratch);
    return LVAT_OK;
}

static int illegal(lvat_syscall *sc, const char *fmt, ...) LVAT_PRINTF(2, 3);

static int
illegal(lvat_syscall *sc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lvat__crank_fail(sc->k, LVAT_CRANK_ILLEGAL, sc->vat->id,
                     "illegal syscall by %s (v%u): %s", sc->vat->name,
                     sc->vat->id, msg);
    return lvat_errbuf_set(sc->err, LVAT_EILLEGAL, "illegal syscall: %s", msg);
}

/* illegal() naming vref r between `before` and `after`; the name is made
 * only here, off the legal path. */
static int
illegal_vref(lvat_syscall *sc, const char *before, lvat_vref r,
             const char *after)
{
    char name[LVAT_REF_BUFSIZE];

    lvat_vref_format(r, name);
    return illegal(sc, "%s %s%s", before, name, after);
}

/* Any failure that is not the vat's fault still stops the crank. */
static int
internal(lvat_syscall *sc, int rc)
{
    if (rc == LVAT_EILLEGAL)
        return rc;
    lvat__crank_fail(sc->k, LVAT_CRANK_KERNEL, sc->vat->id,
                     "kernel error during a syscall of %s (v%u): %s",
                     sc->vat->name, sc->vat->id,
                     sc->k->err.msg[0] ? sc->k->err.msg : lvat_strerror(rc));
    return lvat_errbuf_set(sc->err, LVAT_EILLEGAL, "kernel error: %s",
                           lvat_strerror(rc));
}

/* Translates a vat's slots; `out` has room for n (caller allocates). */
static int
slots_from_vat(lvat_syscall *sc, const lvat_vcapdata *cd, lvat_kref *out)
{
    for (size_t i = 0; i < cd->nslots; i++) {
        int rc = lvat__clist_from_vat(sc->k, sc->vat, cd->slots[i], &out[i]);
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

static lvat_kref *
slot_space(lvat_kref *inline_space, size_t n)
{
    if (n <= MAX_INLINE_SLOTS)
        return inline_space;
    return lvat_malloc(n * sizeof(lvat_kref));
}

static void
slot_space_free(lvat_kref *inline_space, lvat_kref *p)
{
    if (p != inline_space)
        lvat_free(p);
}

/* ---- send ---- */

static int
take_result(lvat_syscall *sc, lvat_vref result, lvat_kref *out)
{
    lvat_kprom p;
    bool made;
    int rc;

    if (!lvat_vref_is_promise(result))
        return illegal_vref(sc, "result", result, " is not a promise");
    rc = lvat__clist_result_from_vat(sc->k, sc->vat, result, out, &made);
    if (rc != LVAT_OK || made) /* made in flight, as below */
        return rc;
    if ((rc = lvat__kp_get(sc->k, *out, &p)) != LVAT_OK)
        return rc;
    if (p.state != 'u' || p.decider != sc->vat->id) {
        lvat__kp_release(&p);
        return illegal_vref(sc, "result", result,
                            " is not a promise this vat decides");
    }
    /* In flight, a result has no decider; its receiver becomes one.  The
     * sender hears how it settles. */
    rc = lvat__kp_set_decider(sc->k, *out, &p, LVAT_NO_DECIDER);
    if (rc == LVAT_OK)
        rc = lvat__kp_add_sub(&p, sc->vat->id);
    if (rc == LVAT_OK)
        rc = lvat__kp_put(sc->k, *out, &p);
    lvat__kp_release(&p);
    return rc;
}

int
lvat_syscall_send(lvat_syscall *sc,
                  lvat_vref target,
                  const lvat_vcapdata *methargs,
                  lvat_vref result)
{
    lvat_kref inline_slots[MAX_INLINE_SLOTS], *slots;
    lvat_msg m;
    size_t held = 0;
    int rc = begin(sc);

    if (rc != LVAT_OK)
        return rc;
    memset(&m, 0, sizeof m);
    slots = slot_space(inline_slots, methargs->nslots);
    if (slots == NULL)
        return internal(sc, LVAT_ENOMEM);
    if ((rc = lvat__clist_from_vat(sc->k, sc->vat, target, &m.target)) ||
        (rc = slots_from_vat(sc, methargs, slots)) ||
        (!lvat_vref_is_none(result) &&
         (rc = take_result(sc, result, &m.result)))) {
        slot_space_free(inline_slots, slots);
        return internal(sc, rc);
    }
    m.methargs.body = methargs->body;
    m.methargs.body_len = methargs->body_len;
    m.methargs.slots = slots;
    m.methargs.nslots = methargs->nslots;
    rc = lvat__send_held(sc->k, &m, &held);
    slot_space_free(inline_slots, slots);
    if (rc != LVAT_OK)
        return internal(sc, rc);
    /* The item stays in memory until the block is written: it counts
     * against the vat's cap (checked after, so one message at most, no
     * larger than the cap, is held past it until the crank is undone). */
    sc->k->crank.sent += held + LVAT_HELD_OVERHEAD;
    return lvat__syscall_budget(sc);
}

/* ---- resolve ---- */

static int
check_decider(lvat_syscall *sc, lvat_vref vpid, lvat_kref *kp)
{
    lvat_kprom p;
    int rc;

    if (!lvat_vref_is_promise(vpid))
        return illegal_vref(sc, "resolve of", vpid, ", which is not a promise");
    rc = lvat__clist_lookup_v(sc->k, sc->vat->id, vpid, kp);
    if (rc == LVAT_ENOTFOUND && !lvat_vref_is_export(vpid))
        return illegal_vref(sc, "resolve of", vpid,
                            ", which is not in its c-list");
    /* A promise the vat made and names for the first time (one a value
     * in this same batch refers to) is exported now, decided by the vat;
     * an export number used before is refused there as illegal. */
    if (rc == LVAT_ENOTFOUND)
        rc = lvat__clist_from_vat(sc->k, sc->vat, vpid, kp);
    if (rc != LVAT_OK || (rc = lvat__kp_get(sc->k, *kp, &p)) != LVAT_OK)
        return rc;
    lvat__kp_release(&p);
    if (p.state != 'u')
        return illegal_vref(sc, "resolve of", vpid, ", which is already settled");
    if (p.decider != sc->vat->id)
        return illegal_vref(sc, "resolve of", vpid,
                            ", which this vat does not decide");
    return LVAT_OK;
}

static int
kref_order(const void *a, const void *b)
{
    uint64_t x = ((const lvat_kref *)a)->v, y = ((const lvat_kref *)b)->v;

    return x < y ? -1 : x > y;
}

/* Refuses a batch that resolves one promise twice (the second would find
 * it settled).  A vat chooses the batch's size: big ones are sorted. */
static int
check_once(lvat_syscall *sc, const lvat_resolution *res,
           const lvat_kref *kps, size_t n)
{
    lvat_kref twice = {0}, *sorted;
    char name[LVAT_REF_BUFSIZE];
    bool found = false;
    size_t i;

    if (n <= 16) {
        for (i = 1; i < n && !found; i++)
            for (size_t j = 0; j < i && !found; j++)
                if ((found = lvat_kref_eq(kps[j], kps[i])))
                    twice = kps[i];
    } else {
        if ((sorted = lvat_malloc(n * sizeof *sorted)) == NULL)
            return LVAT_ENOMEM;
        memcpy(sorted, kps, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, kref_order);
        for (i = 1; i < n && !found; i++)
            if ((found = lvat_kref_eq(sorted[i - 1], sorted[i])))
                twice = sorted[i];
        lvat_free(sorted);
    }
    if (!found)
        return LVAT_OK;
    for (i = 0; !lvat_kref_eq(kps[i], twice); i++)
        ;
    lvat_vref_format(res[i].vpid, name);
    return illegal(sc, "resolve of %s twice in one call", name);
}

int
lvat_syscall_resolve(lvat_syscall *sc, const lvat_resolution *res, size_t n)
{
    lvat_kref inline_kps[MAX_INLINE_SLOTS], *kps;
    lvat_kref *inline_data[MAX_INLINE_SLOTS], **data = inline_data;
    int rc = begin(sc);

    if (rc != LVAT_OK)
        return rc;
    kps = slot_space(inline_kps, n);
    if (n > MAX_INLINE_SLOTS)
        data = lvat_calloc(n, sizeof *data);
    else
        memset(inline_data, 0, sizeof inline_data);
    if (kps == NULL || data == NULL) {
        slot_space_free(inline_kps, kps);
        if (data != inline_data)
            lvat_free(data);
        return internal(sc, LVAT_ENOMEM);
    }
    /* Translate everything first: a value may name a promise that this
     * same batch resolves (and so retires). */
    for (size_t i = 0; i < n && rc == LVAT_OK; i++) {
        rc = check_decider(sc, res[i].vpid, &kps[i]);
        if (rc == LVAT_OK && res[i].data.nslots &&
            (data[i] = lvat_malloc(res[i].data.nslots * sizeof **data)) == NULL)
            rc = LVAT_ENOMEM;
        if (rc == LVAT_OK)
            rc = slots_from_vat(sc, &res[i].data, data[i]);
        /* Each value stays in memory, as the kernel stores it (with its
         * promise's record, or in the overlay), until the block is
         * written: it counts against the vat's cap.  A batch may hold
         * many values, so the check comes before any is stored. */
        if (rc == LVAT_OK)
            sc->k->crank.resolved += LVAT_HELD_OVERHEAD +
                                     lvat_capdata_encoded_len(
                                         res[i].data.body_len, data[i],
                                         res[i].data.nslots);
    }
    if (rc == LVAT_OK)
        rc = check_once(sc, res, kps, n);
    if (rc == LVAT_OK)
        rc = lvat__syscall_budget(sc);
    for (size_t i = 0; i < n && rc == LVAT_OK; i++)
        rc =
            lvat__kp_resolve(sc->k, kps[i], res[i].rejected, res[i].data.body,
                             res[i].data.body_len, data[i], res[i].data.nslots);
    for (size_t i = 0; i < n && rc == LVAT_OK; i++)
        rc = lvat__clist_remove_promise(sc->k, sc->vat->id, kps[i],
                                        res[i].vpid);
    for (size_t i = 0; i < n; i++)
        lvat_free(data[i]);
    if (data != inline_data)
        lvat_free(data);
    slot_space_free(inline_kps, kps);
    return rc == LVAT_OK ? rc : internal(sc, rc);
}

/* ---- subscribe ---- */

int
lvat_syscall_subscribe(lvat_syscall *sc, lvat_vref vpid)
{
    lvat_kprom p;
    lvat_kref kp;
    int rc = begin(sc);

    if (rc != LVAT_OK)
        return rc;
    if (!lvat_vref_is_promise(vpid))
        return illegal_vref(sc, "subscribe to", vpid,
                            ", which is not a promise");
    rc = lvat__clist_lookup_v(sc->k, sc->vat->id, vpid, &kp);
    if (rc == LVAT_ENOTFOUND)
        return illegal_vref(sc, "subscribe to", vpid,
                            ", which is not in its c-list");
    if (rc != LVAT_OK || (rc = lvat__kp_get(sc->k, kp, &p)) != LVAT_OK)
        return internal(sc, rc);
    if (p.state != 'u') {
        lvat_item it;
        memset(&it, 0, sizeof it);
        it.type = LVAT_ITEM_NOTIFY;
        it.vat = sc->vat->id;
        it.kp = kp;
        rc = lvat__ref_inc(sc->k, kp, true);
        if (rc == LVAT_OK)
            rc = lvat__runq_push(sc->k, &it);
    } else if ((rc = lvat__kp_add_sub(&p, sc->vat->id)) == LVAT_OK) {
        rc = lvat__kp_put(sc->k, kp, &p);
    }
    lvat__kp_release(&p);
    return rc == LVAT_OK ? rc : internal(sc, rc);
}

/* ---- exit ---- */

int
lvat_syscall_exit(lvat_syscall *sc, bool failure, const lvat_vcapdata *info)
{
    lvat_buf msg = LVAT_BUF_INIT;
    int rc = begin(sc);

    if (rc != LVAT_OK)
        return rc;
    if (info == NULL ||
        lvat_sc_error_message(info->body, info->body_len, &msg) != LVAT_OK) {
        lvat_buf_reset(&msg);
        if (info)
            lvat_buf_append(&msg, info->body, info->body_len);
    }
    if (failure) {
        lvat__crank_fail(sc->k, LVAT_CRANK_EXIT, sc->vat->id,
                         "vat %s (v%u) exited with failure: %s", sc->vat->name,
                         sc->vat->id, msg.data ? msg.data : "");
        lvat_buf_free(&msg);
        return lvat_errbuf_set(sc->err, LVAT_EILLEGAL, "vat exited");
    }
    sc->k->crank.exit_success = true;
    lvat_buf_reset(&sc->k->crank.exit_info);
    lvat_buf_append(&sc->k->crank.exit_info, msg.data ? msg.data : "", msg.len);
    lvat_buf_free(&msg);
    return LVAT_OK;
}
