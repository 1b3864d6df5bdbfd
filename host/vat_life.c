/*
 * A vat's life between its launch and its termination: v<N>.s holds
 * "<state> <incarnation> <opened> <faults>", where state is n (never
 * started), r (running) or x (suspended); opened is the kernel open in
 * which the current heap was built (0 once that heap is gone).  Each open
 * ends every incarnation (design §7), but lazily: the first time a crank
 * needs a vat, or when the budgeted sweep reaches it, its old promises are
 * rejected and its ephemeral exports orphaned, so opening costs the same
 * however many vats the store holds.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_FAULTS 3

static void
life_key(lvat_key *key, uint32_t vat)
{
    lvat_key_vat_prefix(key, vat);
    lvat_key_add(key, "s", 1);
}

int
lvat__life_get(lvat_kernel *k, uint32_t vat, lvat_vat_life *l)
{
    uint64_t nums[3];
    lvat_key key;
    lvat_val v;
    int rc;

    life_key(&key, vat);
    rc = lvat__kv_get_fresh(k, lvat__vat_fresh(k, vat), &key, &v);
    if (rc == LVAT_ENOTFOUND) {
        memset(l, 0, sizeof *l);
        l->state = 'n';
        return LVAT_OK;
    }
    if (rc != LVAT_OK)
        return rc;
    /* "<state> <incarnation> <open number> <faults>" */
    if (v.len < 3 || v.p[1] != ' ' ||
        lvat_parse_u64s(v.p + 2, v.len - 2, nums, 3) != LVAT_OK ||
        nums[2] > UINT32_MAX)
        return lvat__fail(k, LVAT_ECORRUPT, "%s: bad record: database may "
                          "be corrupted", key.b);
    l->state = v.p[0];
    l->incarnation = nums[0];
    l->opened = nums[1];
    l->faults = (unsigned)nums[2];
    return LVAT_OK;
}

int
lvat__life_put(lvat_kernel *k, uint32_t vat, const lvat_vat_life *l)
{
    uint64_t nums[3] = {l->incarnation, l->opened, l->faults};
    char text[2 + 3 * 21];
    lvat_key key;
    size_t n;

    text[0] = l->state;
    text[1] = ' ';
    n = 2 + lvat_fmt_u64s(text + 2, nums, 3);
    life_key(&key, vat);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, text, n, 0);
}

/* ---- Ending stale incarnations ---- */

bool
lvat__vat_loaded(lvat_kernel *k, uint32_t vat)
{
    lvat_kvat *v = lvat__vat_find(k, vat);

    return v != NULL && v->inst != NULL;
}

int
lvat__vat_prepare(lvat_kernel *k, uint32_t vat, bool *suspended)
{
    lvat_kvat *v = lvat__vat_find(k, vat);
    lvat_vat_life l;
    char reason[160];
    int rc;

    *suspended = false;
    /* A heap is loaded only while its record says running in this open
     * (a fault, suspension, incarnation's end or aborted block unloads
     * it), so there is nothing to check. */
    if (v != NULL && v->inst != NULL)
        return LVAT_OK;
    if ((rc = lvat__life_get(k, vat, &l)) != LVAT_OK)
        return rc;
    if (v != NULL)
        v->faults = l.faults;
    if (l.state == 'x') {
        *suspended = true;
        return LVAT_OK;
    }
    /* The record says a heap is running, but none is loaded: it was of
     * an earlier open, or a crank or block the store forgot unloaded it
     * (a kernel error, out of memory).  Either way its promises and
     * ephemeral objects are gone with it: end that incarnation now. */
    if (l.opened != 0) {
        snprintf(reason, sizeof reason, "[KERNEL:VAT_RESTARTED] v%u (%s)", vat,
                 lvat__vat_name(k, vat));
        rc = lvat__vat_end_incarnation(k, vat, reason);
    }
    return rc;
}

int
lvat__vat_started(lvat_kernel *k, uint32_t vat, uint64_t incarnation)
{
    lvat_vat_life l;
    int rc = lvat__life_get(k, vat, &l);

    if (rc != LVAT_OK)
        return rc;
    l.state = 'r';
    l.incarnation = incarnation;
    l.opened = k->open_no;
    return lvat__life_put(k, vat, &l);
}

int
lvat__vat_heap_gone(lvat_kernel *k, uint32_t vat)
{
    lvat_vat_life l;
    int rc = lvat__life_get(k, vat, &l);

    if (rc != LVAT_OK || l.opened == 0)
        return rc;
    l.opened = 0;
    return lvat__life_put(k, vat, &l);
}

/* ---- Faults and suspension ---- */

int
lvat__vat_count_fault(lvat_kernel *k, uint32_t vat, bool *suspend)
{
    lvat_vat_life l;
    int rc = lvat__life_get(k, vat, &l);

    *suspend = false;
    if (rc != LVAT_OK)
        return rc;
    l.faults++;
    *suspend = l.faults >= MAX_FAULTS;
    return lvat__life_put(k, vat, &l);
}

int
lvat__vat_faults_clear(lvat_kernel *k, lvat_kvat *v)
{
    lvat_vat_life l;
    int rc = lvat__life_get(k, v->id, &l);

    if (rc != LVAT_OK || l.faults == 0)
        return rc;
    l.faults = 0;
    v->faults = 0;
    return lvat__life_put(k, v->id, &l);
}

int
lvat__vat_suspend(lvat_kernel *k, uint32_t vat, const char *why)
{
    lvat_vat_life l;
    char reason[160];
    int rc;

    snprintf(reason, sizeof reason, "[KERNEL:VAT_RESTARTED] v%u (%s)", vat,
             lvat__vat_name(k, vat));
    rc = lvat__vat_end_incarnation(k, vat, reason);
    if (rc == LVAT_OK)
        rc = lvat__life_get(k, vat, &l);
    if (rc != LVAT_OK)
        return rc;
    l.state = 'x';
    l.opened = 0;
    lvat__log(k, LVAT_LOG_WARN, "v%u (%s) is suspended: %s; "
              "lvat_kernel_restart_vat or a reload of its subcluster revives "
              "it", vat, lvat__vat_name(k, vat), why);
    return lvat__life_put(k, vat, &l);
}

int
lvat__vat_revive(lvat_kernel *k, uint32_t vat)
{
    lvat_vat_life l;
    char reason[160];
    int rc;

    snprintf(reason, sizeof reason, "[KERNEL:VAT_RESTARTED] v%u (%s)", vat,
             lvat__vat_name(k, vat));
    rc = lvat__vat_end_incarnation(k, vat, reason);
    if (rc == LVAT_OK)
        rc = lvat__life_get(k, vat, &l);
    if (rc != LVAT_OK)
        return rc;
    if (l.state == 'x')
        l.state = 'r';
    l.faults = 0;
    l.opened = 0;
    return lvat__life_put(k, vat, &l);
}

/* ---- Work that runs between messages ---- */

/* One vat of the post-open sweep; *did is false when it is finished. */
int
lvat__sweep_step(lvat_kernel *k, bool *did)
{
    lvat_val key, val;
    uint32_t vat;
    bool suspended;
    int rc;

    *did = false;
    rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, k->sweep_from.b, k->sweep_from.n,
                      false, "vat.", 4, &key, &val);
    if (rc == LVAT_ENOTFOUND) {
        k->sweep_pending = false;
        return LVAT_OK;
    }
    if (rc != LVAT_OK)
        return rc;
    k->sweep_from.n = 0;
    lvat_key_add(&k->sweep_from, key.p, key.len);
    *did = true;
    if (lvat_vatid_parse(key.p + 4, key.len - 4, &vat) != LVAT_OK)
        return LVAT_OK;
    return lvat__vat_prepare(k, vat, &suspended);
}

/* Starts one vat that asked for startOnOpen. */
int
lvat__eager_step(lvat_kernel *k)
{
    uint32_t vat = k->eager[--k->neager];
    lvat_kvat *v;
    bool suspended;
    int rc = lvat__vat_prepare(k, vat, &suspended);

    if (rc == LVAT_ENOTFOUND || suspended)
        return LVAT_OK;
    if (rc == LVAT_OK)
        rc = lvat__vat_get(k, vat, &v);
    if (rc == LVAT_OK)
        rc = lvat__vat_ensure(k, v);
    return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
}

/* Asks one vat that is due for it to collect its garbage. */
int
lvat__reap_step(lvat_kernel *k)
{
    uint32_t vat = k->reap_due[--k->nreap];
    lvat_kvat *v = lvat__vat_find(k, vat);
    lvat_delivery d;

    if (v == NULL)
        return LVAT_OK;
    /* Off the list either way: a vat left marked as queued (its heap
     * thrown away by a fault, a restart or a block abort since it was
     * due) was never queued for a reap again, so it never again dropped
     * an import in this process. */
    v->reap_queued = false;
    if (v->inst == NULL)
        return LVAT_OK; /* no heap, no garbage */
    v->since_reap = 0;
    memset(&d, 0, sizeof d);
    d.kind = LVAT_DELIVER_REAP;
    return lvat__vat_deliver(k, v, &d);
}
