/*
 * The host's side of the kernel: requests it queues (messages, launches)
 * wait in an in-memory inbox until a crank applies them, and stay there
 * until the block that applied them commits (an aborted block applies
 * them again).  What the host hears back (results, launch events) is kept
 * as outputs and released only after the block that made them commits.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Watches ---- */

/* A watch may hold several lines ("host 7\nlaunch s2 9"): several waits
 * can end at the same promise once results forward to each other. */
int
lvat__watch(lvat_kernel *k, lvat_kref kp, const char *what)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kprom p;
    lvat_key key;
    lvat_val v;
    int rc;

    lvat_key_watch(&key, kp);
    /* A promise made in this block: a launch's or a host message's
     * result, most often. */
    rc = lvat__kv_get_fresh(k, lvat__kref_fresh(k, kp), &key, &v);
    if (rc == LVAT_OK) {
        lvat_buf_append(&b, v.p, v.len);
        lvat_buf_putc(&b, '\n');
    } else if (rc != LVAT_ENOTFOUND) {
        return rc;
    }
    lvat_buf_puts(&b, what);
    /* A first watch is known absent, so one ended within the block (a
     * launch's bootstrap) leaves no delete to write. */
    rc = b.oom ? LVAT_ENOMEM
               : lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data,
                             b.len, rc == LVAT_ENOTFOUND ? LVAT_KV_NEW : 0);
    lvat_buf_free(&b);
    if (rc == LVAT_OK)
        rc = lvat__kp_get(k, kp, &p);
    if (rc != LVAT_OK)
        return rc;
    p.refs++;
    rc = lvat__kp_add_sub(&p, LVAT_VATID_KERNEL);
    if (rc == LVAT_OK)
        rc = lvat__kp_put(k, kp, &p);
    lvat__kp_release(&p);
    return rc;
}

static void
pin_key(lvat_key *key, lvat_kref kref)
{
    key->n = 0;
    lvat_key_add_str(key, "pin.");
    lvat_key_add_kref(key, kref);
}

int
lvat__host_holds(lvat_kernel *k, lvat_kref kref)
{
    lvat_key key;
    lvat_val v;

    pin_key(&key, kref);
    return lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
}

/*
 * Every kref a host is shown stays alive: the host may send to it later
 * (the CLI from another process), and only the host can say when it has
 * forgotten one (lvat_kernel_release).  pin.<kref> holds one reference
 * per kref, once.
 */
int
lvat__pin_for_host(lvat_kernel *k, const lvat_kref *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lvat_key key;
        int rc = lvat__host_holds(k, slots[i]);

        if (rc == LVAT_OK)
            continue;
        pin_key(&key, slots[i]);
        if (rc != LVAT_ENOTFOUND ||
            (rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, "", 0,
                              0)) != LVAT_OK ||
            (rc = lvat__ref_inc(k, slots[i], true)) != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

/* Drops the host's hold on r->target; a kref released twice before the
 * first was applied has none left the second time. */
static int
apply_release(lvat_kernel *k, const lvat_req *r)
{
    lvat_key key;
    int rc = lvat__host_holds(k, r->target);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    pin_key(&key, r->target);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        return rc;
    return lvat__ref_dec(k, r->target, true);
}

static int
host_settled(lvat_kernel *k, uint64_t id, lvat_kref kp)
{
    lvat_req *r = lvat__req_find(k, id);
    lvat_capdata v;
    lvat_kprom p;
    int rc;

    if (r == NULL || r->done)
        return LVAT_OK; /* the host that asked is gone */
    if ((rc = lvat__kp_get(k, kp, &p)) != LVAT_OK)
        return rc;
    lvat__kp_release(&p);
    if ((rc = lvat__kp_value(k, kp, &v)) != LVAT_OK)
        return rc;
    rc = lvat__pin_for_host(k, v.slots, v.nslots);
    if (rc == LVAT_OK)
        rc = lvat__output_result(k, r, p.state == 'r', &v);
    lvat_capdata_free_slots(&v);
    return rc;
}

int
lvat__watch_launch(lvat_kernel *k, lvat_kref kp, uint32_t sub,
                   uint64_t request)
{
    char what[64];
    size_t n;

    /* "launch s<sub> <request>", as settled_one reads it */
    memcpy(what, "launch ", 7);
    n = 7 + lvat_subid_format(sub, what + 7);
    what[n++] = ' ';
    lvat_fmt_u64(what + n, request);
    return lvat__watch(k, kp, what);
}

/* Whether `what` is prefix and then n numbers, as lvat__watch's callers
 * write them (parsed here: sscanf was 0.7% of a launch). */
static bool
watch_numbers(const char *what, const char *prefix, uint64_t *v, size_t n)
{
    size_t plen = strlen(prefix);

    return strncmp(what, prefix, plen) == 0 &&
           lvat_parse_u64s(what + plen, strlen(what + plen), v, n) == LVAT_OK;
}

static int
settled_one(lvat_kernel *k, const char *what, lvat_kref kp)
{
    uint64_t v[2];

    if (watch_numbers(what, "host ", v, 1))
        return host_settled(k, v[0], kp);
    if (watch_numbers(what, "launch s", v, 2) && v[0] <= UINT32_MAX)
        return lvat__launch_settled(k, (uint32_t)v[0], v[1], kp);
    if (strncmp(what, "fqueue ", 7) == 0) {
        lvat_kref result;
        if (lvat_kref_parse(what + 7, strlen(what + 7), &result) == LVAT_OK)
            return lvat__facet_queue_settled(k, result, kp);
    }
    return LVAT_OK;
}

/*
 * A promise the kernel watches has settled.  When it was fulfilled to
 * another promise that is still pending, the waits move there: a result
 * is only final once its whole chain has settled.
 */
int
lvat__knotify(lvat_kernel *k, lvat_kref kp)
{
    lvat_buf lines = LVAT_BUF_INIT;
    lvat_kref final = kp;
    lvat_kprom p;
    lvat_key key;
    lvat_val v;
    bool moved = false;
    int rc, nlines = 0;

    lvat_key_watch(&key, kp);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc == LVAT_ENOTFOUND)
        return lvat__ref_dec(k, kp, true);
    if (rc != LVAT_OK)
        return rc;
    if (lvat_buf_append(&lines, v.p, v.len) != LVAT_OK) {
        rc = LVAT_ENOMEM;
        goto done;
    }
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        goto done;
    if ((rc = lvat__kp_follow(k, kp, &final, &p)) == LVAT_OK) {
        lvat__kp_release(&p);
        moved = !lvat_kref_eq(final, kp) && p.state == 'u';
    } else if (rc == LVAT_ENOTFOUND) {
        final = kp;
        rc = LVAT_OK;
    }
    for (char *line = lines.data, *nl; rc == LVAT_OK && line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        nlines++;
        rc = moved ? lvat__watch(k, final, line)
                   : settled_one(k, line, final);
    }
    /* Drop each watch's reference and the notify item's. */
    for (int i = 0; i <= nlines && rc == LVAT_OK; i++)
        rc = lvat__ref_dec(k, kp, true);
done:
    lvat_buf_free(&lines);
    return rc;
}

/* ---- Requests ---- */

int
lvat__kref_exists(lvat_kernel *k, lvat_kref ref)
{
    lvat_kprom p;
    lvat_kobj o;
    lvat_vref v;
    bool reach = true;
    int rc;

    if (lvat_kref_is_promise(ref)) {
        if ((rc = lvat__kp_get(k, ref, &p)) == LVAT_OK)
            lvat__kp_release(&p);
        return rc;
    }
    if ((rc = lvat__ko_get(k, ref, &o)) != LVAT_OK || o.reach != 0 ||
        o.orphaned || o.owner == LVAT_VATID_KERNEL)
        return rc;
    /* An object its owner has heard dropExports for is gone, though its
     * record waits for retireExports: the owner has let go of it, so a
     * message naming it must not make it reachable again. */
    rc = lvat__clist_lookup_k(k, o.owner, ref, &v, &reach);
    if (rc == LVAT_OK && !reach)
        return LVAT_ENOTFOUND;
    return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
}

int
lvat__find_gone(lvat_kernel *k, const lvat_kref *target,
                const lvat_kref *slots, size_t n, lvat_kref *gone)
{
    int rc = target ? lvat__kref_exists(k, *target) : LVAT_OK;

    if (rc == LVAT_ENOTFOUND)
        *gone = *target;
    for (size_t i = 0; i < n && rc == LVAT_OK; i++)
        if ((rc = lvat__kref_exists(k, slots[i])) == LVAT_ENOTFOUND)
            *gone = slots[i];
    return rc;
}

/* A send naming a kref that is gone is refused, as a message to a
 * deleted object is at delivery: the host's result is rejected. */
static int
refuse_send(lvat_kernel *k, lvat_kref result, lvat_kref gone)
{
    char msg[128], name[LVAT_REF_BUFSIZE];

    lvat_kref_format(gone, name);
    snprintf(msg, sizeof msg, "[KERNEL:OBJECT_DELETED] %s no longer exists",
             name);
    lvat__log(k, LVAT_LOG_INFO, "a host send was refused: %s", msg);
    return lvat_kref_is_none(result) ? LVAT_OK
                                     : lvat__kp_reject_msg(k, result, msg);
}

static int
apply_send(lvat_kernel *k, lvat_req *r)
{
    lvat_kref gone;
    lvat_msg m;
    char what[48];
    /* The host may have released a kref after queueing the send, and it
     * was collected meanwhile. */
    int found = lvat__find_gone(k, &r->target, r->slots, r->nslots, &gone),
        rc;

    if (found != LVAT_OK && found != LVAT_ENOTFOUND)
        return found;
    memset(&m, 0, sizeof m);
    m.target = r->target;
    m.methargs.body = r->body.data;
    m.methargs.body_len = r->body.len;
    m.methargs.slots = r->slots;
    m.methargs.nslots = r->nslots;
    if (r->cb != NULL) {
        if ((rc = lvat__kp_new(k, LVAT_NO_DECIDER, &m.result)) != LVAT_OK)
            return rc;
        snprintf(what, sizeof what, "host %llu", (unsigned long long)r->id);
        if ((rc = lvat__watch(k, m.result, what)) != LVAT_OK)
            return rc;
    }
    if (found == LVAT_ENOTFOUND)
        return refuse_send(k, m.result, gone);
    return lvat__send(k, &m);
}

/* Takes a host service's answer (and the call) into the inbox. */
int
lvat__req_answer(lvat_kernel *k, lvat_call *c)
{
    lvat_req *r = lvat_calloc(1, sizeof *r);

    for (size_t i = 0; i < k->nopen_calls; i++) {
        if (k->open_calls[i] == c) {
            k->open_calls[i] = k->open_calls[--k->nopen_calls];
            break;
        }
    }
    if (r == NULL) {
        lvat__call_free(c);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    r->type = LVAT_REQ_ANSWER;
    r->call = c;
    return lvat__req_queue(k, r);
}

int
lvat__req_apply(lvat_kernel *k, lvat_req *r)
{
    switch (r->type) {
    case LVAT_REQ_ANSWER:
        return lvat__call_settle(k, r->call);
    case LVAT_REQ_SEND:
        return apply_send(k, r);
    case LVAT_REQ_LAUNCH:
        return lvat__launch_apply(k, r);
    case LVAT_REQ_RELOAD:
        return lvat__reload_apply(k, r);
    case LVAT_REQ_RELEASE:
        return apply_release(k, r);
    case LVAT_REQ_RESTART_VAT:
        /* A vat terminated meanwhile has nothing to restart. */
        return lvat__vat_alive(k, r->vat) ? lvat__vat_revive(k, r->vat)
                                          : LVAT_OK;
    }
    return LVAT_EINVAL;
}

/* ---- Outputs ---- */

static lvat_output *
output_new(lvat_kernel *k, lvat_req *r, int kind)
{
    lvat_output *o;

    if (!lvat_reserve(&k->outputs, k->noutputs, &k->capoutputs,
                      sizeof *k->outputs, 16))
        return NULL;
    o = &k->outputs[k->noutputs++];
    memset(o, 0, sizeof *o);
    o->req = r;
    o->kind = kind;
    return o;
}

static int
copy_value(lvat_output *o, const lvat_capdata *v)
{
    char name[LVAT_REF_BUFSIZE];

    if (v == NULL)
        return LVAT_OK;
    o->body = lvat_memdup(v->body, v->body_len);
    o->body_len = v->body_len;
    o->slots = lvat_calloc(v->nslots ? v->nslots : 1, sizeof *o->slots);
    if (o->body == NULL || o->slots == NULL)
        return LVAT_ENOMEM;
    o->nslots = v->nslots;
    for (size_t i = 0; i < v->nslots; i++) {
        lvat_kref_format(v->slots[i], name);
        if ((o->slots[i] = lvat_strdup(name)) == NULL)
            return LVAT_ENOMEM;
    }
    return LVAT_OK;
}

int
lvat__output_result(lvat_kernel *k,
                    lvat_req *r,
                    bool rejected,
                    const lvat_capdata *v)
{
    lvat_output *o = output_new(k, r, 0);

    if (o == NULL)
        return LVAT_ENOMEM;
    o->status = rejected ? LVAT_EREJECTED : LVAT_OK;
    return copy_value(o, v);
}

static char *
dup_or_null(const char *s)
{
    return s ? lvat_strdup(s) : NULL;
}

/* Whether r's launch has had its DONE or FAILED, heard or waiting in this
 * block's outputs: it hears one of them, once. */
static bool
launch_ended(const lvat_kernel *k, const lvat_req *r)
{
    if (r->done)
        return true;
    for (size_t i = 0; i < k->noutputs; i++)
        if (k->outputs[i].req == r &&
            k->outputs[i].kind > (int)LVAT_LAUNCH_STARTED + 1)
            return true;
    return false;
}

int
lvat__output_launch(lvat_kernel *k,
                    lvat_req *r,
                    lvat_launch_event ev,
                    const char *sub,
                    lvat_kref root,
                    lvat_kref kp,
                    const lvat_capdata *v,
                    int status,
                    const char *msg)
{
    char name[LVAT_REF_BUFSIZE];
    lvat_output *o;
    bool told;

    /* A system subcluster's launch has no callback, but its failure is
     * logged (fire): the host has no other way to hear why. */
    told = r != NULL && (r->lcb != NULL || (r->system_name != NULL &&
                                            ev == LVAT_LAUNCH_FAILED));
    if (!told || (ev != LVAT_LAUNCH_STARTED && launch_ended(k, r)))
        return LVAT_OK;
    if ((o = output_new(k, r, (int)ev + 1)) == NULL)
        return LVAT_ENOMEM;
    o->status = status;
    o->subcluster = dup_or_null(sub);
    o->errmsg = dup_or_null(msg);
    if (!lvat_kref_is_none(root)) {
        lvat_kref_format(root, name);
        o->root = lvat_strdup(name);
    }
    if (!lvat_kref_is_none(kp)) {
        lvat_kref_format(kp, name);
        o->kp = lvat_strdup(name);
    }
    return copy_value(o, v);
}

int
lvat__output_call(lvat_kernel *k, lvat_service *s, lvat_call *c)
{
    lvat_output *o = output_new(k, NULL, -1);

    if (o == NULL)
        return LVAT_ENOMEM;
    o->svc = s;
    o->call = c;
    return LVAT_OK;
}

static void
output_clear(lvat_output *o)
{
    lvat__call_free(o->call); /* a call never handed over */
    for (size_t i = 0; i < o->nslots; i++)
        lvat_free(o->slots[i]);
    lvat_free(o->slots);
    lvat_free(o->body);
    lvat_free(o->subcluster);
    lvat_free(o->root);
    lvat_free(o->kp);
    lvat_free(o->errmsg);
}

void
lvat__outputs_truncate(lvat_kernel *k, size_t mark)
{
    while (k->noutputs > mark)
        output_clear(&k->outputs[--k->noutputs]);
}

static void
fire(lvat_kernel *k, lvat_output *o)
{
    lvat_value v = {o->body ? o->body : "", o->body_len,
                    (const char *const *)o->slots, o->nslots};
    lvat_req *r = o->req;

    if (o->kind == -1)
        return; /* handled by lvat__outputs_fire */
    if (o->kind == 0) {
        r->done = true;
        if (r->cb)
            r->cb(r->ud, o->status, &v);
        return;
    }
    {
        lvat_launch_event ev = (lvat_launch_event)(o->kind - 1);
        lvat_launch_info info;
        memset(&info, 0, sizeof info);
        info.subcluster = o->subcluster;
        info.root = o->root;
        info.bootstrap_kp = o->kp;
        info.result = v;
        info.status = o->status;
        info.errmsg = o->errmsg;
        if (ev != LVAT_LAUNCH_STARTED)
            r->done = true;
        if (r->lcb)
            r->lcb(r->ud, ev, &info);
        else
            lvat__log(k, LVAT_LOG_ERROR,
                      "system subcluster %s (%s) did not come up: %s",
                      r->system_name, o->subcluster ? o->subcluster : "?",
                      o->errmsg ? o->errmsg : "");
    }
}

/* Gives a host service its call; the call lives until answered. */
static void
hand_over(lvat_kernel *k, lvat_output *o)
{
    lvat_call *c = o->call;

    o->call = NULL;
    if (k->nopen_calls == k->capopen_calls) {
        size_t cap = k->capopen_calls ? k->capopen_calls * 2 : 8;
        lvat_call **p = lvat_realloc(k->open_calls, cap * sizeof *p);
        if (p == NULL) {
            lvat__call_free(c); /* rejected at the next open */
            return;
        }
        k->open_calls = p;
        k->capopen_calls = cap;
    }
    k->open_calls[k->nopen_calls++] = c;
    lvat__service_invoke(o->svc, c);
}

void
lvat__outputs_fire(lvat_kernel *k)
{
    /* Callbacks may queue new requests but never run the kernel. */
    k->in_callback = true;
    for (size_t i = 0; i < k->noutputs; i++) {
        lvat_output *o = &k->outputs[i];
        if (o->kind == -1)
            hand_over(k, o);
        else
            fire(k, o);
    }
    k->in_callback = false;
    lvat__outputs_truncate(k, 0);
}
