/*
 * Public requests of luavat.h: launches, messages and rendering values,
 * plus the housekeeping an open does before any crank runs.  Requests are
 * checked here, synchronously, so a bad config or argument fails at once
 * without touching the store.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Open ---- */

/* Takes the "host <id>" lines out of the watch `key` = `val` (lines
 * apart from those stay: a facet's queued message, a launch), and lets go
 * of the reference each line held. */
static int
drop_host_lines(lvat_kernel *k, const char *key, size_t klen, lvat_kref kp,
                const lvat_val *val)
{
    lvat_buf kept = LVAT_BUF_INIT;
    const char *p = val->p, *end = val->p + val->len;
    int dropped = 0, rc = LVAT_OK;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n >= 5 && memcmp(p, "host ", 5) == 0) {
            dropped++;
        } else {
            if (kept.len > 0)
                lvat_buf_putc(&kept, '\n');
            lvat_buf_append(&kept, p, n);
        }
        p += n + 1;
    }
    if (kept.oom)
        rc = LVAT_ENOMEM;
    else if (dropped > 0 && kept.len == 0)
        rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key, klen);
    else if (dropped > 0)
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key, klen, kept.data,
                         kept.len, 0);
    lvat_buf_free(&kept);
    for (int i = 0; i < dropped && rc == LVAT_OK; i++)
        rc = lvat__ref_dec(k, kp, true);
    return rc;
}

/* Host waits die with the process that made them: forget them. */
static int
drop_host_watches(lvat_kernel *k)
{
    char from[LVAT_KEY_MAX + 1] = "watch.";
    size_t flen = 6;
    int rc;

    for (bool first = true;; first = false) {
        lvat_val key, val;
        lvat_kref kp;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first, "watch.",
                          6, &key, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        if (lvat_kref_parse(from + 6, flen - 6, &kp) == LVAT_OK &&
            (rc = drop_host_lines(k, from, flen, kp, &val)) != LVAT_OK)
            return rc;
    }
}

/*
 * Request ids reach the store (watches, a launching subcluster's record),
 * so ids of different opens must differ: a launch an earlier open left
 * waiting must never answer a request of this one.  Ids are
 * (opens << 32) + n.
 */
static int
number_requests(lvat_kernel *k)
{
    uint64_t opens;
    int rc = lvat__counter_next(k, "kernelOpens", &opens);

    if (rc == LVAT_OK) {
        k->next_req_id = opens << 32;
        k->open_no = opens;
    }
    return rc;
}

/* Vats with creationOptions.startOnOpen start before anything else. */
static int
find_eager(lvat_kernel *k)
{
    char from[LVAT_KEY_MAX + 1] = "startOnOpen.";
    size_t flen = 12, cap = 0;
    int rc;

    for (bool first = true;; first = false) {
        lvat_val key, val;
        uint32_t vat;
        rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first,
                          "startOnOpen.", 12, &key, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        if (lvat_vatid_parse(from + 12, flen - 12, &vat) != LVAT_OK)
            continue;
        if (k->neager == cap) {
            uint32_t *p;
            cap = cap ? cap * 2 : 8;
            if ((p = lvat_realloc(k->eager, cap * sizeof *p)) == NULL)
                return LVAT_ENOMEM;
            k->eager = p;
        }
        k->eager[k->neager++] = vat;
    }
}

int
lvat__kernel_startup(lvat_kernel *k, lvat_errbuf *err)
{
    lvat_val key, val;
    int rc = lvat__reset_resume(k, err);

    if (rc != LVAT_OK)
        return rc;
    lvat_kv_crank_begin(k->kv);
    k->crank.active = true;
    rc = number_requests(k);
    if (rc == LVAT_OK)
        rc = drop_host_watches(k);
    if (rc == LVAT_OK)
        rc = lvat__calls_reject_lost(k);
    if (rc == LVAT_OK)
        rc = lvat__refs_collect(k);
    k->crank.active = false;
    if (rc != LVAT_OK) {
        lvat_kv_crank_abort(k->kv);
        return lvat_errbuf_set(err, rc, "opening %s: %s", k->dir,
                               lvat_kernel_errmsg(k));
    }
    lvat_kv_crank_commit(k->kv);
    rc = lvat_kv_block_commit(k->kv, err);
    if (rc != LVAT_OK)
        return rc;
    k->gc_pending = lvat_kv_next(k->kv, LVAT_DB_KERNEL, "gc.", 3, true,
                                 "gc.", 3, &key, &val) == LVAT_OK;
    /* Every vat's incarnation ended with the last open; the sweep settles
     * the ones no message reaches first, a little at a time. */
    k->sweep_pending = true;
    lvat_key_lit(&k->sweep_from, "vat.");
    rc = find_eager(k);
    if (rc != LVAT_OK)
        return lvat_errbuf_set(err, rc, "opening %s: %s", k->dir,
                               lvat_strerror(rc));
    return LVAT_OK;
}

/* ---- Vats ---- */

int
lvat_kernel_restart_vat(lvat_kernel *k, const char *vat)
{
    lvat_req *r;
    lvat_key key;
    lvat_val v;
    uint32_t id;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if (vat == NULL || lvat_vatid_parse(vat, strlen(vat), &id) != LVAT_OK)
        return lvat__fail(k, LVAT_EINVAL, "%s is not a vat id (like v3)",
                          vat ? vat : "(null)");
    lvat_key_vat_record(&key, id);
    if (lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v) != LVAT_OK)
        return lvat__fail(k, LVAT_ENOTFOUND, "%s: no such vat", vat);
    if ((r = lvat_calloc(1, sizeof *r)) == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    r->type = LVAT_REQ_RESTART_VAT;
    r->vat = id;
    return lvat__req_queue(k, r);
}

/* ---- Launch ---- */

/* `what` names the config (its path) in a message. */
static int
queue_launch(lvat_kernel *k, lvat_launch_plan *plan, const char *what,
             lvat_launch_cb cb, void *ud)
{
    const char *bad = lvat__plan_missing_service(k, plan, false);
    lvat_req *r = bad ? NULL : lvat_calloc(1, sizeof *r);

    if (r == NULL) {
        bool facet = bad && strcmp(bad, "kernelFacet") == 0;
        int rc = bad ? lvat__fail(k, LVAT_ECONFIG, "config %s: no registered "
                                  "kernel service '%s'%s", what, bad,
                                  facet ? " (only system subclusters get "
                                          "it: declare this one as such)"
                                        : "")
                     : lvat__fail(k, LVAT_ENOMEM, "out of memory");
        lvat__launch_plan_free(plan);
        return rc;
    }
    r->type = LVAT_REQ_LAUNCH;
    r->plan = plan;
    r->lcb = cb;
    r->ud = ud;
    return lvat__req_queue(k, r);
}

int
lvat_kernel_launch_file(lvat_kernel *k, const char *path, lvat_launch_cb cb,
                        void *ud)
{
    lvat_launch_plan *plan;
    lvat_errbuf err;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if (path == NULL)
        return lvat__fail(k, LVAT_EINVAL, "lvat_kernel_launch_file: no path");
    lvat_errbuf_clear(&err);
    rc = lvat__plan_from_file(path, k->sources, &plan, &err);
    if (rc != LVAT_OK)
        return lvat__fail(k, rc, "%s", err.msg);
    return queue_launch(k, plan, path, cb, ud);
}

int
lvat_kernel_launch_json(lvat_kernel *k, const char *json, size_t len,
                        const char *base_dir, lvat_launch_cb cb, void *ud)
{
    lvat_launch_plan *plan;
    lvat_errbuf err;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    lvat_errbuf_clear(&err);
    rc = lvat__plan_from_json(json, len, base_dir ? base_dir : ".",
                              "(text)", k->sources, &plan, &err);
    if (rc != LVAT_OK)
        return lvat__fail(k, rc, "%s", err.msg);
    return queue_launch(k, plan, "(text)", cb, ud);
}

/* ---- Messages ---- */

/* Parses a kref the host gave, or fails naming it. */
static int
parse_kref(lvat_kernel *k, const char *text, lvat_kref *out)
{
    if (text == NULL || lvat_kref_parse(text, strlen(text), out) != LVAT_OK)
        return lvat__fail(k, LVAT_EINVAL, "%s is not a kref (like ko7 or kp3)",
                          text ? text : "(null)");
    return LVAT_OK;
}

static int
check_target(lvat_kernel *k, const char *target, lvat_kref *out)
{
    int rc = parse_kref(k, target, out);

    if (rc == LVAT_OK)
        rc = lvat__kref_exists(k, *out);
    if (rc == LVAT_ENOTFOUND)
        return lvat__fail(k, rc, "%s: no such object or promise", target);
    return rc;
}

static int
build_methargs(lvat_kernel *k, const char *method, const char *args_json,
               lvat_req *r)
{
    lvat_json *args = NULL, *pair = NULL;
    char why[200];
    int rc = LVAT_OK;

    if (args_json != NULL && args_json[0] != '\0')
        rc = lvat_json_parse(args_json, strlen(args_json), false, &args, why,
                             sizeof why);
    else
        args = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_EINVAL, "arguments: %s", why);
    if (rc != LVAT_OK || args == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    if (!lvat_json_is_array(args)) {
        lvat_json_free(args);
        return lvat__fail(k, LVAT_EINVAL,
                          "arguments must be a JSON array, like [1, \"two\"]");
    }
    pair = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    if (pair == NULL ||
        lvat_json_append(pair, lvat_json_new_str(method, strlen(method))) ||
        lvat_json_append(pair, args)) {
        lvat_json_free(pair);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    rc = lvat_sc_from_json(pair, &r->body, &r->slots, &r->nslots, why,
                           sizeof why);
    lvat_json_free(pair);
    if (rc != LVAT_OK)
        return lvat__fail(k, rc, "arguments: %s", why);
    return LVAT_OK;
}

int
lvat_kernel_queue_message(lvat_kernel *k, const char *target,
                          const char *method, const char *args_json,
                          lvat_result_cb cb, void *ud)
{
    lvat_req *r;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if (method == NULL)
        return lvat__fail(k, LVAT_EINVAL, "no method name given");
    if ((r = lvat_calloc(1, sizeof *r)) == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    r->type = LVAT_REQ_SEND;
    r->cb = cb;
    r->ud = ud;
    if ((rc = check_target(k, target, &r->target)) != LVAT_OK ||
        (rc = build_methargs(k, method, args_json, r)) != LVAT_OK) {
        lvat_buf_free(&r->body);
        lvat_free(r->slots);
        lvat_free(r);
        return rc;
    }
    /* Checking each slot names something real keeps the host honest. */
    for (size_t i = 0; i < r->nslots; i++) {
        char name[LVAT_REF_BUFSIZE];
        lvat_kref tmp;
        lvat_kref_format(r->slots[i], name);
        if ((rc = check_target(k, name, &tmp)) != LVAT_OK) {
            lvat_buf_free(&r->body);
            lvat_free(r->slots);
            lvat_free(r);
            return rc;
        }
    }
    return lvat__req_queue(k, r);
}

int
lvat_kernel_release(lvat_kernel *k, const char *kref)
{
    lvat_kref ref;
    lvat_req *r;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if ((rc = parse_kref(k, kref, &ref)) != LVAT_OK)
        return rc;
    rc = lvat__host_holds(k, ref);
    if (rc == LVAT_ENOTFOUND)
        return lvat__fail(k, rc,
                          "%s is not held for the host: only krefs in a "
                          "result or a bootstrap result are, until released "
                          "(a subcluster's root needs no release)",
                          kref);
    if (rc != LVAT_OK)
        return lvat__fail(k, rc, "reading the store: %s",
                          lvat_kv_errmsg(k->kv));
    if ((r = lvat_calloc(1, sizeof *r)) == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    r->type = LVAT_REQ_RELEASE;
    r->target = ref;
    return lvat__req_queue(k, r);
}

/* ---- Rendering ---- */

static const char *
promise_state(void *ud, lvat_kref kp)
{
    lvat_kernel *k = ud;
    lvat_kprom p;

    if (lvat__kp_get(k, kp, &p) != LVAT_OK)
        return "gone";
    lvat__kp_release(&p);
    return p.state == 'u' ? "pending" : p.state == 'f' ? "fulfilled"
                                                        : "rejected";
}

char *
lvat_value_render(lvat_kernel *k, const lvat_value *v)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kref *slots = lvat_calloc(v->nslots ? v->nslots : 1, sizeof *slots);
    char *out = NULL;

    if (slots == NULL)
        return NULL;
    for (size_t i = 0; i < v->nslots; i++)
        lvat_kref_parse(v->slots[i], strlen(v->slots[i]), &slots[i]);
    if (lvat_sc_render(&b, v->body, v->body_len, slots, v->nslots,
                       k ? promise_state : NULL, k) == LVAT_ENOMEM) {
        lvat_buf_free(&b);
    } else {
        size_t len;
        char *s = lvat_buf_take(&b, &len);
        if (s != NULL) {
            out = malloc(len + 1);
            if (out)
                memcpy(out, s, len + 1);
            lvat_free(s);
        }
    }
    lvat_free(slots);
    return out;
}
