/*
 * Kernel facet methods that change subclusters or wait for other cranks:
 * launchSubcluster, terminateSubcluster, reloadSubcluster, queueMessage
 * and reset, the dispatch of every facet method, and the places where the
 * waiting ends (a launch's bootstrap settles, a queued message answers).
 */
#include "facet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Launch, terminate, reload ---- */

/* The record's config directory (facets resolve sourceSpecs there). */
static int
config_dir(lvat_kernel *k, uint32_t sub, lvat_buf *out)
{
    lvat_json *rec = NULL;
    const char *dir;
    int rc = lvat__sub_read(k, sub, &rec);

    if (rc != LVAT_OK)
        return rc;
    dir = lvat_json_get_str(rec, "configDir");
    lvat_buf_puts(out, dir ? dir : ".");
    lvat_json_free(rec);
    return out->oom ? LVAT_ENOMEM : LVAT_OK;
}

static int
launch_plan(fcall *c, const lvat_json *config, const char *base,
            const lvat_launch_ctx *ctx)
{
    lvat_launch_plan *plan = NULL;
    lvat_buf text = LVAT_BUF_INIT;
    lvat_errbuf err;
    const char *bad;
    int rc;

    lvat_errbuf_clear(&err);
    if (!lvat_json_is_object(config))
        return lvat__facet_reject(c->k, c->result, "launchSubcluster: the "
                                  "config must be a table");
    if ((rc = lvat_json_write(&text, config)) != LVAT_OK)
        return rc;
    rc = lvat__plan_from_json(text.data, text.len, base, "launchSubcluster",
                              c->k->sources, &plan, &err);
    lvat_buf_free(&text);
    if (rc == LVAT_ENOMEM)
        return rc;
    if (rc != LVAT_OK)
        return lvat__facet_reject(c->k, c->result, "%s", err.msg);
    if ((bad = lvat__plan_missing_service(c->k, plan,
                                          ctx->system_name != NULL))) {
        rc = lvat__facet_reject(c->k, c->result, "launchSubcluster: no "
                                "registered kernel service '%s'", bad);
        lvat__launch_plan_free(plan);
        return rc;
    }
    rc = lvat__launch_plan_apply(c->k, plan, ctx, NULL);
    lvat__launch_plan_free(plan);
    /* The launch settles the result later: keep it alive until then. */
    if (rc == LVAT_OK)
        rc = lvat__ref_inc(c->k, c->result, true);
    return rc;
}

static int
m_launch(fcall *c)
{
    lvat_launch_ctx ctx;
    lvat_buf dir = LVAT_BUF_INIT;
    int rc = config_dir(c->k, c->sub, &dir);

    memset(&ctx, 0, sizeof ctx);
    ctx.facet_result = c->result;
    if (rc == LVAT_OK)
        rc = launch_plan(c, lvat__fcall_arg(c, 0), dir.data, &ctx);
    lvat_buf_free(&dir);
    return rc;
}

static int
sub_arg(fcall *c, const char *method, uint32_t *sub)
{
    const char *id = lvat__fcall_str(c, 0);
    lvat_json *rec = NULL;
    char shown[64];

    if (id == NULL || lvat_subid_parse(id, strlen(id), sub) != LVAT_OK ||
        lvat__sub_read(c->k, *sub, &rec) != LVAT_OK) {
        lvat__facet_reject(c->k, c->result, "%s: subcluster %s does not "
                           "exist", method,
                           lvat__fcall_show(c, 0, shown, sizeof shown));
        return LVAT_ENOTFOUND;
    }
    lvat_json_free(rec);
    return LVAT_OK;
}

static int
m_terminate(fcall *c)
{
    uint32_t sub;
    int rc = sub_arg(c, "terminateSubcluster", &sub);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    rc = lvat__sub_terminate(c->k, sub, "terminated by terminateSubcluster");
    return rc == LVAT_OK ? lvat__facet_fulfill(c->k, c->result, NULL) : rc;
}

static int
m_reload(fcall *c)
{
    lvat_launch_ctx ctx;
    lvat_errbuf err;
    uint32_t sub;
    int rc = sub_arg(c, "reloadSubcluster", &sub);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    memset(&ctx, 0, sizeof ctx);
    ctx.facet_result = c->result;
    ctx.reload = true;
    lvat_errbuf_clear(&err);
    rc = lvat__sub_reload(c->k, sub, &ctx, &err);
    /* The new subcluster settles the result later: keep it alive. */
    if (rc == LVAT_OK)
        return lvat__ref_inc(c->k, c->result, true);
    if (rc == LVAT_ENOMEM || err.msg[0] == '\0')
        return rc;
    return lvat__facet_reject(c->k, c->result, "reloadSubcluster: %s",
                              err.msg);
}

/* ---- queueMessage ---- */

static int
m_queue_message(fcall *c)
{
    const char *kref = lvat__fcall_str(c, 0), *method = lvat__fcall_str(c, 1);
    const lvat_json *args = lvat__fcall_arg(c, 2);
    lvat_json *pair = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    lvat_buf body = LVAT_BUF_INIT;
    char what[64], why[200], name[LVAT_REF_BUFSIZE];
    lvat_kref gone;
    lvat_msg m;
    int rc = pair ? LVAT_OK : LVAT_ENOMEM;

    memset(&m, 0, sizeof m);
    if (rc == LVAT_OK &&
        (kref == NULL || method == NULL ||
         lvat_kref_parse(kref, strlen(kref), &m.target) != LVAT_OK ||
         (args && !lvat_json_is_array(args)))) {
        lvat_json_free(pair);
        return lvat__facet_reject(c->k, c->result, "queueMessage(kref, "
                                  "method, args): bad arguments");
    }
    if (rc == LVAT_OK &&
        (rc = lvat_json_append(pair, lvat_json_new_str(method,
                                                        strlen(method)))) ==
            LVAT_OK)
        rc = lvat_json_append(pair, args ? lvat_json_clone(args)
                                         : lvat_json_new(LVAT_JSON_ARRAY_BEGIN));
    if (rc == LVAT_OK &&
        (rc = lvat_sc_from_json(pair, &body, &m.methargs.slots,
                                &m.methargs.nslots, why, sizeof why)) !=
            LVAT_OK && rc != LVAT_ENOMEM)
        rc = lvat__facet_reject(c->k, c->result, "queueMessage: %s", why);
    else if (rc == LVAT_OK &&
             (rc = lvat__find_gone(c->k, &m.target, m.methargs.slots,
                                   m.methargs.nslots, &gone)) ==
                 LVAT_ENOTFOUND) {
        lvat_kref_format(gone, name);
        rc = lvat__facet_reject(c->k, c->result, "queueMessage: "
                                "[KERNEL:OBJECT_DELETED] %s no longer exists",
                                name);
    } else if (rc == LVAT_OK &&
             (rc = lvat__kp_new(c->k, LVAT_NO_DECIDER, &m.result)) == LVAT_OK) {
        m.methargs.body = body.data;
        m.methargs.body_len = body.len;
        lvat_kref_format(c->result, name);
        snprintf(what, sizeof what, "fqueue %s", name);
        if ((rc = lvat__watch(c->k, m.result, what)) == LVAT_OK &&
            (rc = lvat__ref_inc(c->k, c->result, true)) == LVAT_OK)
            rc = lvat__send(c->k, &m);
    }
    lvat_free((void *)m.methargs.slots);
    lvat_buf_free(&body);
    lvat_json_free(pair);
    return rc;
}

/* The queued message settled: answer with {body, slots} (plain data),
 * or reject the way it was rejected. */
int
lvat__facet_queue_settled(lvat_kernel *k, lvat_kref result, lvat_kref kp)
{
    lvat_json *doc = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *slots = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    char name[LVAT_REF_BUFSIZE];
    lvat_capdata v;
    lvat_kprom p;
    int rc = doc && slots ? lvat__kp_get(k, kp, &p) : LVAT_ENOMEM;

    if (rc == LVAT_OK) {
        lvat__kp_release(&p);
        rc = lvat__kp_value(k, kp, &v);
    }
    if (rc != LVAT_OK) {
        lvat_json_free(doc);
        lvat_json_free(slots);
        return rc;
    }
    if (p.state == 'r') {
        rc = lvat__kp_resolve(k, result, true, v.body, v.body_len, v.slots,
                              v.nslots);
    } else {
        for (size_t i = 0; i < v.nslots && rc == LVAT_OK; i++)
            rc = lvat_json_append(slots, lvat_json_new_str(
                                             name, lvat_kref_format(
                                                       v.slots[i], name)));
        if (rc == LVAT_OK &&
            (rc = lvat_json_set(doc, "body",
                                lvat_json_new_str(v.body, v.body_len))) ==
                LVAT_OK) {
            rc = lvat_json_set(doc, "slots", slots);
            slots = NULL;
        }
        if (rc == LVAT_OK)
            rc = lvat__facet_fulfill(k, result, doc);
    }
    lvat_capdata_free_slots(&v);
    lvat_json_free(doc);
    lvat_json_free(slots);
    return rc == LVAT_OK ? lvat__ref_dec(k, result, true) : rc;
}

/* ---- reset ---- */

static int
m_reset(fcall *c)
{
    /* After this block commits the store is wiped (its caller goes with
     * it, so its result never settles). */
    return lvat__reset_ask(c->k);
}

/* ---- Dispatch ---- */

typedef struct method {
    const char *name;
    int (*fn)(fcall *c);
} method;

static const method methods[] = {
    {"ping", lvat__facet_ping},
    {"getStatus", lvat__facet_get_status},
    {"getSubclusters", lvat__facet_get_subclusters},
    {"getSubcluster", lvat__facet_get_subcluster},
    {"getSystemSubclusterRoot", lvat__facet_get_system_root},
    {"launchSubcluster", m_launch},
    {"terminateSubcluster", m_terminate},
    {"reloadSubcluster", m_reload},
    {"queueMessage", m_queue_message},
    {"getPresence", lvat__facet_get_presence},
    {"pingVat", lvat__facet_ping_vat},
    {"reset", m_reset},
    {NULL, NULL}};

static int
unknown(fcall *c, const char *name)
{
    lvat_buf list = LVAT_BUF_INIT;
    int rc;

    for (const method *m = methods; m->name; m++)
        lvat_buf_printf(&list, "%s%s", m == methods ? "" : ", ", m->name);
    rc = lvat__facet_reject(c->k, c->result,
                            "[KERNEL:BAD_METHOD] the kernel facet has no "
                            "method \"%s\" (it has %s)",
                            name, list.data ? list.data : "");
    lvat_buf_free(&list);
    return rc;
}

int
lvat__facet_deliver(lvat_kernel *k, const lvat_msg *m, uint32_t sub)
{
    lvat_json *doc = NULL;
    char why[200];
    fcall c = {k, sub, m->result, NULL};
    int rc = lvat_sc_to_json(m->methargs.body, m->methargs.body_len,
                             m->methargs.slots, m->methargs.nslots, &doc, why,
                             sizeof why);

    if (rc == LVAT_ENOMEM)
        return rc;
    if (rc != LVAT_OK || !lvat_json_is_array(doc) || doc->len != 2 ||
        doc->items[0]->type != LVAT_JSON_STRING ||
        !lvat_json_is_array(doc->items[1])) {
        rc = lvat__facet_reject(k, m->result, "[KERNEL:BAD_MESSAGE] "
                                "malformed message to the kernel facet");
    } else {
        const method *f = methods;
        c.args = doc->items[1];
        while (f->name && strcmp(f->name, doc->items[0]->str) != 0)
            f++;
        rc = f->name ? f->fn(&c) : unknown(&c, doc->items[0]->str);
    }
    lvat_json_free(doc);
    return rc == LVAT_OK ? lvat__release_msg(k, m) : rc;
}

/* ---- A launch the facet started has finished ---- */

/* Fulfils kp with {bootstrapResult, root, rootKref, subclusterId}.  The
 * bootstrap result's body goes in as the child wrote it, its slots first
 * and the root after them.  (Through plain JSON, a record the child made
 * with an "@kref" key came out as a reference: to any object it named,
 * or to one that does not exist, which failed the crank at every run.) */
static int
launch_answer(lvat_kernel *k, lvat_kref kp, uint32_t sub, const char *root,
              const lvat_capdata *v)
{
    lvat_kref *slots = lvat_calloc(v->nslots + 1, sizeof *slots);
    lvat_buf body = LVAT_BUF_INIT;
    size_t n = v->nslots, at = 0;
    char sid[32];
    lvat_kref r;
    int rc;

    if (slots == NULL)
        return LVAT_ENOMEM;
    if (n > 0)
        memcpy(slots, v->slots, n * sizeof *slots);
    snprintf(sid, sizeof sid, "s%u", sub);
    lvat_buf_puts(&body, "#{\"bootstrapResult\":");
    if (v->body_len > 1 && v->body[0] == '#')
        lvat_buf_append(&body, v->body + 1, v->body_len - 1);
    else
        lvat_buf_puts(&body, "null");
    if (root != NULL && lvat_kref_parse(root, strlen(root), &r) == LVAT_OK &&
        !lvat_kref_is_promise(r)) {
        while (at < n && !lvat_kref_eq(slots[at], r))
            at++;
        if (at == n) /* not already one of the bootstrap result's */
            slots[n++] = r;
        lvat_buf_printf(&body, ",\"root\":\"$%zu.vatRoot\",\"rootKref\":",
                        at);
        lvat_sc_put_string(&body, root, strlen(root));
    } else {
        lvat_buf_puts(&body, ",\"root\":null,\"rootKref\":null");
    }
    lvat_buf_puts(&body, ",\"subclusterId\":");
    lvat_sc_put_string(&body, sid, strlen(sid));
    lvat_buf_putc(&body, '}');
    rc = body.oom ? LVAT_ENOMEM
                  : lvat__kp_resolve(k, kp, false, body.data, body.len, slots,
                                     n);
    lvat_buf_free(&body);
    lvat_free(slots);
    return rc;
}

/* The facet call waiting for this launch, if it still waits. */
static bool
waiter(lvat_kernel *k, const lvat_json *rec, lvat_kref *kp, bool *reload)
{
    const char *s = lvat_json_get_str(rec, "facetResult");
    lvat_kprom p;

    *reload = s == NULL;
    if (s == NULL)
        s = lvat_json_get_str(rec, "reloadResult");
    if (s == NULL || lvat_kref_parse(s, strlen(s), kp) != LVAT_OK ||
        lvat__kp_get(k, *kp, &p) != LVAT_OK)
        return false;
    lvat__kp_release(&p);
    return p.state == 'u' && p.decider == LVAT_VATID_KERNEL;
}

int
lvat__facet_launch_done(lvat_kernel *k, const lvat_json *rec, uint32_t sub,
                        const char *root, const lvat_capdata *v)
{
    lvat_json *doc = NULL;
    bool reload;
    lvat_kref kp;
    int rc;

    if (!waiter(k, rec, &kp, &reload))
        return LVAT_OK;
    if (reload) {
        rc = lvat__sub_summary(k, sub, &doc);
        if (rc == LVAT_OK)
            rc = lvat__facet_fulfill(k, kp, doc);
        lvat_json_free(doc);
    } else {
        rc = launch_answer(k, kp, sub, root, v);
    }
    return rc == LVAT_OK ? lvat__ref_dec(k, kp, true) : rc;
}

int
lvat__facet_launch_failed(lvat_kernel *k, const lvat_json *rec,
                          const char *why)
{
    bool reload;
    lvat_kref kp;
    int rc;

    if (!waiter(k, rec, &kp, &reload))
        return LVAT_OK;
    rc = lvat__facet_reject(k, kp, "%s", why);
    return rc == LVAT_OK ? lvat__ref_dec(k, kp, true) : rc;
}
