/*
 * The kernel facet's reset (design §9): after the block that asked for it
 * commits, every vat goes and the store is wiped, except the kernel's
 * identity (its counters, so no kref is ever reused, and the objects of
 * host services) and the remembered system subcluster configs, which
 * then launch afresh.  The caller's vat is gone, so its call never
 * answers.
 */
#include "kernel_int.h"

#include <string.h>

#include "smallcaps.h"

#define RESET_KEY "resetPending"
#define RESET_WHY                                                          \
    "[KERNEL:VAT_TERMINATED] the kernel was reset by a kernel facet: "     \
    "every subcluster is gone; launch again or send to the new system "   \
    "subclusters"

static bool
starts(const lvat_val *k, const char *prefix)
{
    size_t n = strlen(prefix);

    return k->len >= n && memcmp(k->p, prefix, n) == 0;
}

static bool
is(const lvat_val *k, const char *s)
{
    return k->len == strlen(s) && memcmp(k->p, s, k->len) == 0;
}

/* A host service's object (svc.<ko> = "host <name>") survives. */
static bool
host_service_object(lvat_kernel *k, const lvat_val *key)
{
    lvat_key svc;
    lvat_val v;
    lvat_kref r;

    if (lvat_kref_parse(key->p, key->len, &r) != LVAT_OK ||
        lvat_kref_is_promise(r))
        return false;
    lvat_key_lit(&svc, "svc.");
    lvat_key_add_kref(&svc, r);
    return lvat_kv_get(k->kv, LVAT_DB_KERNEL, svc.b, svc.n, &v) == LVAT_OK &&
           v.len > 5 && memcmp(v.p, "host ", 5) == 0;
}

static bool
keep(lvat_kernel *k, const lvat_val *key, const lvat_val *val)
{
    if (is(key, "schemaVersion") || is(key, "kernelOpens") ||
        starts(key, "next") || starts(key, "kernelService.") ||
        starts(key, "systemConfig."))
        return true;
    if (starts(key, "svc."))
        return val->len > 5 && memcmp(val->p, "host ", 5) == 0;
    return host_service_object(k, key);
}

static int
wipe_kernel_db(lvat_kernel *k)
{
    char from[LVAT_KEY_MAX + 1] = "";
    size_t flen = 0;

    for (bool first = true;; first = false) {
        lvat_val key, val;
        int rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first, "",
                              0, &key, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        if (!keep(k, &key, &val) &&
            (rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, from, flen)) != LVAT_OK)
            return rc;
    }
}

/* Wipes the store but what keep() names, in one block. */
static int
wipe(lvat_kernel *k, lvat_errbuf *err)
{
    int rc;

    lvat__vats_free(k);
    lvat_kv_crank_begin(k->kv);
    rc = wipe_kernel_db(k);
    if (rc == LVAT_OK)
        rc = lvat_kv_del_prefix(k->kv, LVAT_DB_VATSTORE, "", 0, 0, NULL);
    if (rc == LVAT_OK)
        rc = lvat_kv_del_prefix(k->kv, LVAT_DB_SOURCES, "", 0, 0, NULL);
    if (rc != LVAT_OK) {
        lvat_kv_crank_abort(k->kv);
        return lvat_errbuf_set(err, rc, "%s", lvat_strerror(rc));
    }
    lvat__block_state_forget(k); /* its keys are gone with the rest */
    lvat__followup_free(k); /* so is any vat a pending one is about */
    lvat_kv_crank_commit(k->kv);
    rc = lvat_kv_block_commit(k->kv, err);
    k->gc_pending = k->sweep_pending = false;
    k->neager = k->nreap = 0;
    return rc;
}

/* The facet's crank writes RESET_KEY with its block, so a crash after
 * that block commits and before the wipe's still ends in the reset (at
 * the next open): the wipe deletes the key with the rest. */
int
lvat__reset_ask(lvat_kernel *k)
{
    k->reset_pending = true;
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, RESET_KEY,
                       sizeof RESET_KEY - 1, "1", 1, 0);
}

int
lvat__reset_resume(lvat_kernel *k, lvat_errbuf *err)
{
    lvat_val v;
    int rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, RESET_KEY,
                         sizeof RESET_KEY - 1, &v);

    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    if (rc != LVAT_OK)
        return lvat_errbuf_set(err, rc, "opening %s: %s", k->dir,
                               lvat_strerror(rc));
    lvat__log(k, LVAT_LOG_WARN, "the kernel facet asked for a reset before "
              "the kernel stopped: every vat and its state is gone; system "
              "subclusters start afresh");
    return wipe(k, err);
}

/* The host's requests still waiting (a result, a launch's end) were
 * waiting on records the wipe deleted: nothing would ever answer them.
 * Each hears now that its work is gone. */
static int
tell_waiting_hosts(lvat_kernel *k)
{
    lvat_buf body = LVAT_BUF_INIT;
    lvat_capdata v;
    int rc = lvat_sc_error_body(&body, RESET_WHY, strlen(RESET_WHY));

    memset(&v, 0, sizeof v);
    v.body = body.data;
    v.body_len = body.len;
    for (lvat_req *r = k->requests; r && rc == LVAT_OK; r = r->next) {
        if (r->applied_epoch == 0 || r->done)
            continue;
        if (r->type == LVAT_REQ_SEND && r->cb != NULL)
            rc = lvat__output_result(k, r, true, &v);
        else if ((r->type == LVAT_REQ_LAUNCH || r->type == LVAT_REQ_RELOAD) &&
                 r->lcb != NULL)
            rc = lvat__output_launch(k, r, LVAT_LAUNCH_FAILED, NULL,
                                     (lvat_kref){0}, (lvat_kref){0}, NULL,
                                     LVAT_EVAT, RESET_WHY);
    }
    lvat_buf_free(&body);
    /* The wipe has committed: what it tells the host is final. */
    if (rc == LVAT_OK)
        lvat__outputs_fire(k);
    return rc;
}

int
lvat__kernel_reset(lvat_kernel *k)
{
    lvat_errbuf err;
    int rc;

    k->reset_pending = false;
    lvat__log(k, LVAT_LOG_WARN, "the kernel facet asked for a reset: every "
              "vat and its state is gone; system subclusters start afresh");
    lvat_errbuf_clear(&err);
    rc = wipe(k, &err);
    if (rc == LVAT_OK && (rc = tell_waiting_hosts(k)) != LVAT_OK)
        lvat_errbuf_set(&err, rc, "%s", lvat_strerror(rc));
    if (rc == LVAT_OK)
        rc = lvat__system_open(k, &err);
    return rc == LVAT_OK ? rc : lvat__fail(k, rc, "reset: %s", err.msg);
}
