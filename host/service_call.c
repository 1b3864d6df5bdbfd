/*
 * One message to a kernel service.  The result promise's decider becomes
 * the kernel; kernel facets answer in the crank; a host service gets an
 * lvat_call after the block commits (or at once when it is side-effect
 * free), and its answer comes back through the inbox.  Calls a host never
 * answered before the kernel stopped are rejected when it opens again.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

struct lvat_call {
    lvat_kernel *k;
    lvat_kref result; /* none for a one-way send */
    char *method, *args;
    bool pure, answered, rejected;
    lvat_buf body; /* a pure service's answer */
    lvat_kref *slots;
    size_t nslots;
};

/* ---- The host's side ---- */

const char *
lvat_call_method(const lvat_call *c)
{
    return c->method;
}

const char *
lvat_call_args(const lvat_call *c)
{
    return c->args;
}

void
lvat__call_free(lvat_call *c)
{
    if (c == NULL)
        return;
    lvat_free(c->method);
    lvat_free(c->args);
    lvat_buf_free(&c->body);
    lvat_free(c->slots);
    lvat_free(c);
}

/* Turns the answer into capdata: in the call (pure) or an inbox request. */
static int
answer(lvat_call *c, bool rejected, const char *json, const char *msg)
{
    lvat_kernel *k = c->k;
    lvat_json *doc = NULL;
    char why[200];
    int rc = LVAT_OK;

    if (c->answered)
        return lvat__fail(k, LVAT_ESTATE, "this call was already answered");
    if (msg != NULL)
        rc = lvat_sc_error_body(&c->body, msg, strlen(msg));
    else if ((rc = lvat_json_parse(json ? json : "null",
                                   strlen(json ? json : "null"), false, &doc,
                                   why, sizeof why)) == LVAT_OK)
        rc = lvat_sc_from_json(doc, &c->body, &c->slots, &c->nslots, why,
                               sizeof why);
    lvat_json_free(doc);
    if (rc != LVAT_OK)
        return lvat__fail(k, rc == LVAT_ENOMEM ? rc : LVAT_EINVAL,
                          "answer to %s: %s", c->method,
                          rc == LVAT_ENOMEM ? "out of memory" : why);
    c->answered = true;
    c->rejected = rejected;
    if (c->pure)
        return LVAT_OK;
    return lvat__req_answer(k, c); /* takes the call */
}

int
lvat_call_return(lvat_call *c, const char *json)
{
    return answer(c, false, json, NULL);
}

int
lvat_call_reject(lvat_call *c, const char *message)
{
    return answer(c, true, NULL, message ? message : "rejected");
}

/* ---- Resolving ---- */

static void
pending_key(lvat_key *key, lvat_kref kp)
{
    lvat_key_lit(key, "svccall.");
    lvat_key_add_kref(key, kp);
}

/* Settles the result with the answer, unless the answer names a kref
 * that does not exist (a host may write any kref, or one collected since
 * it was shown it): counting a reference to it failed the crank with a
 * kernel error, at every run, as the answer stayed in the inbox.  Such
 * an answer rejects the result instead. */
static int
settle_answer(lvat_kernel *k, lvat_call *c)
{
    char msg[160], name[LVAT_REF_BUFSIZE];
    lvat_kref gone;
    int rc = lvat__find_gone(k, NULL, c->slots, c->nslots, &gone);

    if (rc == LVAT_ENOTFOUND) {
        lvat_kref_format(gone, name);
        snprintf(msg, sizeof msg, "[KERNEL:OBJECT_DELETED] %s no longer "
                 "exists (named by the answer to %.60s)", name, c->method);
        lvat__log(k, LVAT_LOG_WARN, "a host service's answer was refused: %s",
                  msg);
        return lvat__kp_reject_msg(k, c->result, msg);
    }
    if (rc != LVAT_OK)
        return rc;
    return lvat__kp_resolve(k, c->result, c->rejected, c->body.data,
                            c->body.len, c->slots, c->nslots);
}

/* Settles a call's result (in a crank) if it is still the kernel's to. */
int
lvat__call_settle(lvat_kernel *k, lvat_call *c)
{
    lvat_kprom p;
    lvat_key key;
    int rc;

    if (lvat_kref_is_none(c->result))
        return LVAT_OK;
    pending_key(&key, c->result);
    if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n)) != LVAT_OK)
        return rc;
    rc = lvat__kp_get(k, c->result, &p);
    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    lvat__kp_release(&p);
    if (rc != LVAT_OK || p.state != 'u' || p.decider != LVAT_VATID_KERNEL)
        return rc;
    rc = settle_answer(k, c);
    /* The request's hold on the promise ends with the answer. */
    return rc == LVAT_OK ? lvat__ref_dec(k, c->result, true) : rc;
}

/* At open: answers a host never gave before the kernel stopped. */
int
lvat__calls_reject_lost(lvat_kernel *k)
{
    char from[LVAT_KEY_MAX + 1] = "svccall.", msg[300];
    size_t flen = 8;

    for (bool first = true;; first = false) {
        lvat_val key, val;
        lvat_kref kp;
        int rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first,
                              "svccall.", 8, &key, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        if (lvat_kref_parse(from + 8, flen - 8, &kp) != LVAT_OK)
            continue;
        snprintf(msg, sizeof msg, "[KERNEL:SERVICE_LOST] the kernel "
                 "stopped before the host service \"%.*s\" answered",
                 val.len > 200 ? 200 : (int)val.len, val.p);
        if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, from, flen)) ||
            (rc = lvat__kp_reject_msg(k, kp, msg)) ||
            (rc = lvat__ref_dec(k, kp, true)))
            return rc == LVAT_ESTATE ? LVAT_OK : rc;
    }
}

/* ---- Delivery ---- */

static int
claim(lvat_kernel *k, lvat_kref result)
{
    lvat_kprom p;
    int rc;

    if (lvat_kref_is_none(result))
        return LVAT_OK;
    if ((rc = lvat__kp_get(k, result, &p)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if (p.state == 'u') {
        rc = lvat__kp_set_decider(k, result, &p, LVAT_VATID_KERNEL);
        if (rc == LVAT_OK)
            rc = lvat__kp_put(k, result, &p);
    }
    lvat__kp_release(&p);
    return rc;
}

static int
make_call(lvat_kernel *k, const lvat_msg *m, bool pure, lvat_call **out)
{
    lvat_json *doc = NULL;
    lvat_buf b = LVAT_BUF_INIT;
    lvat_call *c = lvat_calloc(1, sizeof *c);
    char why[200];
    int rc = c ? lvat_sc_to_json(m->methargs.body, m->methargs.body_len,
                                 m->methargs.slots, m->methargs.nslots, &doc,
                                 why, sizeof why)
               : LVAT_ENOMEM;

    if (rc == LVAT_OK && (!lvat_json_is_array(doc) || doc->len != 2 ||
                          doc->items[0]->type != LVAT_JSON_STRING))
        rc = LVAT_ESYNTAX;
    if (rc == LVAT_OK && (rc = lvat_json_write(&b, doc->items[1])) == LVAT_OK &&
        ((c->method = lvat_strdup(doc->items[0]->str)) == NULL ||
         (c->args = lvat_buf_take(&b, NULL)) == NULL))
        rc = LVAT_ENOMEM;
    lvat_buf_free(&b);
    lvat_json_free(doc);
    if (rc != LVAT_OK) {
        lvat__call_free(c);
        return rc;
    }
    c->k = k;
    c->result = m->result;
    c->pure = pure;
    *out = c;
    return LVAT_OK;
}

static int
host_call(lvat_kernel *k, const lvat_msg *m, const char *name)
{
    lvat_service *s = lvat__service_find(k, name);
    lvat_call *c = NULL;
    char msg[300];
    lvat_key key;
    int rc;

    if (s == NULL) {
        snprintf(msg, sizeof msg, "[KERNEL:OBJECT_DELETED] kernel service "
                 "\"%.200s\" is not registered in this run", name);
        return lvat__splat(k, m, msg);
    }
    if ((rc = make_call(k, m, lvat__service_pure(s), &c)) != LVAT_OK) {
        snprintf(msg, sizeof msg, "[KERNEL:BAD_MESSAGE] malformed methargs "
                 "to kernel service \"%.200s\"", name);
        return rc == LVAT_ESYNTAX ? lvat__splat(k, m, msg) : rc;
    }
    /* The result stays held until the answer settles it. */
    if ((rc = lvat__ref_inc(k, m->result, true)) != LVAT_OK)
        goto done;
    if (c->pure) {
        lvat__service_invoke(s, c);
        if (!c->answered) {
            snprintf(msg, sizeof msg, "kernel service \"%.100s\" returned "
                     "from %.100s() without answering", name, c->method);
            answer(c, true, NULL, msg);
        }
        rc = lvat__call_settle(k, c);
        goto done;
    }
    pending_key(&key, c->result);
    if (!lvat_kref_is_none(c->result) &&
        (rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, name,
                          strlen(name), 0)) != LVAT_OK)
        goto done;
    /* Called once the block commits; the output owns the call. */
    rc = lvat__output_call(k, s, c);
    c = rc == LVAT_OK ? NULL : c;
done:
    lvat__call_free(c);
    return rc == LVAT_OK ? lvat__release_msg(k, m) : rc;
}

int
lvat__service_deliver(lvat_kernel *k, const lvat_msg *m, lvat_kref target)
{
    char who[256], name[LVAT_REF_BUFSIZE];
    unsigned sub;
    lvat_key key;
    lvat_val v;
    int rc;

    lvat_key_lit(&key, "svc.");
    lvat_key_add_kref(&key, target);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc == LVAT_ENOTFOUND) {
        lvat_kref_format(target, name);
        snprintf(who, sizeof who, "[KERNEL:OBJECT_DELETED] %s is not a "
                 "kernel service", name);
        return lvat__splat(k, m, who);
    }
    if (rc != LVAT_OK || (rc = claim(k, m->result)) != LVAT_OK)
        return rc;
    snprintf(who, sizeof who, "%.*s", (int)v.len, v.p);
    if (sscanf(who, "facet s%u", &sub) == 1)
        return lvat__facet_deliver(k, m, sub);
    if (strncmp(who, "host ", 5) == 0)
        return host_call(k, m, who + 5);
    return lvat__fail(k, LVAT_ECORRUPT, "%s: unknown service record: "
                      "database may be corrupted", key.b);
}
