/*
 * Cranks and blocks.  A crank takes one thing to do (a host request, a GC
 * action, or one run-queue item), does it inside a child transaction of
 * the block, and commits or aborts it whole.  When a vat fails (fault,
 * illegal syscall, exit with failure) the crank is aborted, the vat's Lua
 * state is thrown away, and a follow-up crank applies the consequence
 * (design.md §5's table).  Blocks commit to LMDB; nothing a block produced
 * reaches the host before that.
 */
#include "kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* ---- Failures ---- */

/* A failed crank's consequence.  It stays until the block it ran in
 * commits: the crank that failed may be in an earlier, committed block,
 * its vat already unloaded, so losing it with a later block's abort would
 * deliver the message again to a new heap instead of rejecting it. */
struct lvat_followup {
    lvat_crank_failure kind;
    uint32_t vat;
    char *why;        /* NULL: lost to out of memory */
    bool from_queue;  /* the failed crank popped a run-queue item */
    uint32_t failed;  /* the failed crank's block epoch */
    uint32_t ran;     /* the block epoch it ran in; 0: due */
};

/* Records the failed crank's follow-up (LVAT_ENOMEM: none). */
static int
followup_record(lvat_kernel *k)
{
    lvat_crank *c = &k->crank;
    struct lvat_followup *f = lvat_calloc(1, sizeof *f);

    if (f == NULL)
        return LVAT_ENOMEM;
    lvat__followup_free(k);
    f->kind = c->failure;
    f->vat = c->failed_vat;
    f->why = lvat_buf_take(&c->why, NULL);
    lvat_buf_free(&c->why);
    f->from_queue = c->from_queue;
    f->failed = k->block_epoch;
    c->followup = f;
    return LVAT_OK;
}

void
lvat__followup_free(lvat_kernel *k)
{
    if (k->crank.followup == NULL)
        return;
    lvat_free(k->crank.followup->why);
    lvat_free(k->crank.followup);
    k->crank.followup = NULL;
}

bool
lvat__followup_due(const lvat_kernel *k)
{
    return k->crank.followup != NULL && k->crank.followup->ran == 0;
}

void
lvat__followup_committed(lvat_kernel *k)
{
    if (k->crank.followup != NULL && k->crank.followup->ran != 0)
        lvat__followup_free(k);
}

void
lvat__followup_block_abort(lvat_kernel *k)
{
    struct lvat_followup *f = k->crank.followup;

    if (f != NULL && f->failed == k->block_epoch)
        lvat__followup_free(k);
    else if (f != NULL && f->ran == k->block_epoch)
        f->ran = 0;
}

void
lvat__crank_fail(lvat_kernel *k,
                 lvat_crank_failure f,
                 uint32_t vat,
                 const char *fmt,
                 ...)
{
    lvat_crank *c = &k->crank;
    va_list ap;

    if (c->failure != LVAT_CRANK_OK)
        return; /* the first failure is the one that counts */
    c->failure = f;
    c->failed_vat = vat;
    lvat_buf_reset(&c->why);
    va_start(ap, fmt);
    lvat_buf_vprintf(&c->why, fmt, ap);
    va_end(ap);
}

/* ---- One crank ---- */

static void
crank_begin(lvat_kernel *k)
{
    lvat_crank *c = &k->crank;

    lvat_kv_crank_begin(k->kv);
    lvat__kpc_begin(k);
    c->active = true;
    c->vat = NULL;
    c->failure = LVAT_CRANK_OK;
    c->nfree = 0;
    c->exit_success = false;
    c->sent = c->resolved = 0;
    c->outputs_mark = k->noutputs;
    c->reset_mark = k->reset_pending;
}

/* Ends a crank that changed nothing worth keeping. */
static void
crank_cancel(lvat_kernel *k)
{
    lvat__kpc_end(k, false);
    lvat_kv_crank_abort(k->kv);
    k->crank.active = false;
}

/* Commits or aborts; returns LVAT_OK unless the kernel itself failed. */
static int
crank_end(lvat_kernel *k, int rc)
{
    lvat_crank *c = &k->crank;

    if (rc == LVAT_OK && c->failure == LVAT_CRANK_OK)
        rc = lvat__refs_collect(k);
    if (rc == LVAT_OK && c->failure == LVAT_CRANK_OK && c->exit_success &&
        c->vat != NULL) {
        char reason[512];
        snprintf(reason, sizeof reason,
                 "[KERNEL:VAT_TERMINATED] %s (v%u) exited: %s", c->vat->name,
                 c->vat->id, c->exit_info.data ? c->exit_info.data : "");
        rc = lvat__vat_terminate(k, c->vat->id, reason);
        c->vat = NULL; /* terminate freed it */
        if (rc == LVAT_OK)
            rc = lvat__refs_collect(k);
    }
    /* A delivery that went well ends a run of faults. */
    if (rc == LVAT_OK && c->failure == LVAT_CRANK_OK && c->vat != NULL &&
        c->vat->faults > 0)
        rc = lvat__vat_faults_clear(k, c->vat);
    /* Decider-index changes reach the overlay before it commits. */
    {
        int frc = lvat__kpc_end(k, rc == LVAT_OK &&
                                       c->failure == LVAT_CRANK_OK);
        if (rc == LVAT_OK)
            rc = frc;
    }
    c->active = false;
    if (rc == LVAT_OK && c->failure == LVAT_CRANK_OK) {
        lvat_kv_crank_commit(k->kv);
        k->total_cranks++;
        return LVAT_OK;
    }
    lvat_kv_crank_abort(k->kv);
    lvat__outputs_truncate(k, c->outputs_mark);
    k->reset_pending = c->reset_mark; /* a reset it asked for is undone */
    /* The vat's heap holds effects the store just forgot. */
    if (c->vat != NULL)
        lvat__vat_unload(k, c->vat);
    if (c->failure != LVAT_CRANK_OK) {
        if (followup_record(k) != LVAT_OK)
            return LVAT_ENOMEM; /* the block goes, and the failure with it */
        lvat__log(k, LVAT_LOG_DEBUG, "crank rolled back: %s",
                  c->why.data ? c->why.data : "");
        return LVAT_OK;
    }
    return rc;
}

/* ---- Follow-up of a failed crank ---- */

static int
reject_item(lvat_kernel *k, const lvat_item *it, const char *msg)
{
    switch (it->type) {
    case LVAT_ITEM_SEND:
        return lvat__splat(k, &it->msg, msg);
    case LVAT_ITEM_NOTIFY: {
        /* The vat never saw the resolutions: retire them anyway. */
        int rc = LVAT_OK;
        for (uint32_t i = 0; i <= it->nmore && rc == LVAT_OK; i++) {
            lvat_kref kp = lvat__item_kp(it, i);
            rc = lvat__clist_remove(k, it->vat, kp);
            if (rc == LVAT_OK)
                rc = lvat__ref_dec(k, kp, true);
        }
        return rc;
    }
    default:
        return LVAT_OK;
    }
}

/* A fault: reject the message (a GC crank popped none) and end the
 * incarnation; the vat restarts from the store at its next delivery.  A
 * kernel error (out of memory, the store) is not counted against the
 * vat: three of its own faults in a row suspend it. */
static int
fault_followup(lvat_kernel *k,
               const lvat_item *it,
               uint32_t vat,
               const char *why,
               bool counted)
{
    lvat_buf msg = LVAT_BUF_INIT;
    int rc = lvat_buf_printf(&msg, "[KERNEL:VAT_FAULT] %s", why);

    if (rc == LVAT_OK && it != NULL)
        rc = reject_item(k, it, msg.data);
    lvat_buf_reset(&msg);
    if (rc == LVAT_OK)
        rc = lvat_buf_printf(&msg, "[KERNEL:VAT_RESTARTED] v%u (%s)", vat,
                             lvat__vat_name(k, vat));
    if (rc == LVAT_OK)
        rc = lvat__vat_end_incarnation(k, vat, msg.data);
    lvat_buf_free(&msg);
    if (rc == LVAT_OK && counted) {
        bool suspend;
        rc = lvat__vat_count_fault(k, vat, &suspend);
        if (rc == LVAT_OK && suspend)
            rc = lvat__vat_suspend(k, vat, "three faults in a row");
    }
    return rc;
}

/* A vat that ran before failed to start again: suspend it and reject the
 * message that woke it. */
static int
suspend_followup(lvat_kernel *k,
                 const lvat_item *it,
                 uint32_t vat,
                 const char *why)
{
    lvat_buf msg = LVAT_BUF_INIT;
    int rc = lvat_buf_printf(&msg,
                             "[KERNEL:VAT_SUSPENDED] v%u (%s) could not "
                             "restart: %s",
                             vat, lvat__vat_name(k, vat), why);

    if (rc == LVAT_OK && it != NULL)
        rc = reject_item(k, it, msg.data);
    if (rc == LVAT_OK)
        rc = lvat__vat_suspend(k, vat, why);
    lvat_buf_free(&msg);
    return rc;
}

/* An illegal syscall or exit(failure): terminate, then the item finds its
 * target gone and splats. */
static int
terminate_followup(lvat_kernel *k,
                   const lvat_item *it,
                   uint32_t vat,
                   const char *why)
{
    lvat_buf msg = LVAT_BUF_INIT;
    int rc = lvat_buf_printf(&msg, "[KERNEL:VAT_TERMINATED] %s", why);

    if (rc == LVAT_OK)
        rc = lvat__vat_terminate(k, vat, msg.data);
    if (rc == LVAT_OK && it != NULL)
        rc = lvat__deliver_item(k, it);
    lvat_buf_free(&msg);
    return rc;
}

static int
followup(lvat_kernel *k,
         const lvat_item *it,
         lvat_crank_failure f,
         uint32_t vat,
         const char *why)
{
    /* Whatever went wrong while a launching vat started fails the launch. */
    if (it != NULL && it->type == LVAT_ITEM_START)
        f = LVAT_CRANK_STARTFAIL;
    if (f == LVAT_CRANK_FAULT || f == LVAT_CRANK_KERNEL)
        lvat__log(k, LVAT_LOG_WARN, "%s; its message was rejected and it "
                  "restarts from the store", why);
    else if (f == LVAT_CRANK_ILLEGAL || f == LVAT_CRANK_EXIT)
        lvat__log(k, LVAT_LOG_WARN, "%s; the vat was terminated", why);
    switch (f) {
    case LVAT_CRANK_FAULT:
    case LVAT_CRANK_KERNEL:
        return fault_followup(k, it, vat, why, f == LVAT_CRANK_FAULT);
    case LVAT_CRANK_ILLEGAL:
    case LVAT_CRANK_EXIT:
        return terminate_followup(k, it, vat, why);
    case LVAT_CRANK_STARTFAIL:
        return lvat__launch_start_failed(k, vat, why);
    case LVAT_CRANK_SUSPEND:
        return suspend_followup(k, it, vat, why);
    default:
        return LVAT_OK;
    }
}

static int
run_followup(lvat_kernel *k)
{
    lvat_crank *c = &k->crank;
    struct lvat_followup *fu = c->followup;
    const char *why = fu->why ? fu->why : "(reason lost: out of memory)";
    lvat_item it;
    int rc;

    crank_begin(k);
    rc = fu->from_queue ? lvat__runq_pop(k, &it) : LVAT_ENOTFOUND;
    if (rc == LVAT_OK || rc == LVAT_ENOTFOUND) {
        bool have = rc == LVAT_OK;
        rc = followup(k, have ? &it : NULL, fu->kind, fu->vat, why);
        if (have)
            lvat__item_free(&it);
    }
    if (c->failure != LVAT_CRANK_OK) {
        /* A follow-up must not fail again; treat it as a kernel error. */
        crank_cancel(k);
        lvat__followup_free(k);
        return lvat__fail(k, LVAT_ESTATE, "follow-up crank failed: %s",
                          c->why.data ? c->why.data : "");
    }
    /* Done once its block commits; a kernel error leaves it due. */
    if ((rc = crank_end(k, rc)) == LVAT_OK)
        fu->ran = k->block_epoch;
    return rc;
}

/* ---- Choosing the work ---- */

/* One sweep step every this many cranks while messages keep coming. */
#define SWEEP_EVERY 16

static int
kernel_crank(lvat_kernel *k, int (*step)(lvat_kernel *))
{
    crank_begin(k);
    k->crank.from_queue = false;
    return crank_end(k, step(k));
}

static int
sweep_crank(lvat_kernel *k, bool *did_work)
{
    crank_begin(k);
    k->crank.from_queue = false;
    return crank_end(k, lvat__sweep_step(k, did_work));
}

int
lvat__crank_run(lvat_kernel *k, bool *did_work)
{
    lvat_req *req;
    lvat_item it;
    int rc;

    *did_work = true;
    if (lvat__followup_due(k))
        return run_followup(k);
    if ((req = lvat__req_next(k)) != NULL) {
        crank_begin(k);
        k->crank.from_queue = false;
        rc = lvat__req_apply(k, req);
        if (rc == LVAT_OK)
            req->applied_epoch = k->block_epoch;
        return crank_end(k, rc);
    }
    if (k->neager > 0)
        return kernel_crank(k, lvat__eager_step);
    if (k->nreap > 0)
        return kernel_crank(k, lvat__reap_step);
    if (k->sweep_pending && ++k->cranks_since_sweep >= SWEEP_EVERY) {
        k->cranks_since_sweep = 0;
        rc = sweep_crank(k, did_work);
        if (rc != LVAT_OK || *did_work)
            return rc;
        *did_work = true;
    }
    if (k->gc_pending) {
        bool did;
        crank_begin(k);
        k->crank.from_queue = false;
        rc = lvat__gc_run(k, &did);
        if (rc == LVAT_OK && !did)
            k->gc_pending = false;
        rc = crank_end(k, rc);
        if (did || rc != LVAT_OK)
            return rc;
    }
    crank_begin(k);
    k->crank.from_queue = true;
    rc = lvat__runq_pop(k, &it);
    if (rc == LVAT_ENOTFOUND) {
        crank_cancel(k);
        /* Idle: finish the post-open sweep before saying so. */
        return k->sweep_pending ? sweep_crank(k, did_work)
                                : (*did_work = false, LVAT_OK);
    }
    if (rc == LVAT_OK) {
        if (k->opts.log_level >= LVAT_LOG_DEBUG) {
            lvat_buf b = LVAT_BUF_INIT;
            lvat__item_encode(&b, &it);
            lvat__log(k, LVAT_LOG_DEBUG, "crank %llu: %s",
                      (unsigned long long)k->total_cranks + 1,
                      b.data ? b.data : "");
            lvat_buf_free(&b);
        }
        rc = lvat__deliver_item(k, &it);
        lvat__item_free(&it);
    }
    return crank_end(k, rc);
}
