/*
 * The kernel facet (design §9): the power a system subcluster receives as
 * services.kernelFacet.  Each system subcluster has a facet object of its
 * own (so sourceSpecs resolve against its own config directory); all
 * answer here, inside the crank that delivers the message.  Methods that
 * need more cranks (a launch waits for its bootstrap) hold the caller's
 * result promise and settle it when their work is done, so no crank ever
 * waits.  Arguments and results are plain data; presences travel as
 * {"@kref": ...} in between.
 */
#include "kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "json.h"
#include "facet_int.h"
#include "smallcaps.h"

/* ---- Answers ---- */

/* Fulfils kp with a body the facet made. */
static int
settle(lvat_kernel *k, lvat_kref kp, const lvat_buf *body,
       const lvat_kref *slots, size_t nslots)
{
    if (body->oom)
        return LVAT_ENOMEM;
    return lvat__kp_resolve(k, kp, false, body->data, body->len, slots,
                            nslots);
}

/* Fulfils kp with plain data as text throughout: what the facet answers
 * holds names others chose (vats, services), and read for "@" forms, a
 * vat named "@kref" failed every getSubclusters, getSubcluster and
 * getStatus, and a service named so turned getStatus's text into a
 * reference. */
int
lvat__facet_fulfill(lvat_kernel *k, lvat_kref kp, const lvat_json *v)
{
    lvat_buf body = LVAT_BUF_INIT;
    char why[160];
    int rc;

    if (lvat_kref_is_none(kp))
        return LVAT_OK;
    if (v == NULL)
        rc = lvat_buf_puts(&body, "#null");
    else
        rc = lvat_sc_from_data(v, &body, why, sizeof why);
    if (rc == LVAT_OK)
        rc = settle(k, kp, &body, NULL, 0);
    else if (rc == LVAT_EINVAL)
        rc = lvat__kp_reject_msg(k, kp, why);
    lvat_buf_free(&body);
    return rc;
}

int
lvat__facet_reject(lvat_kernel *k, lvat_kref kp, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (lvat_kref_is_none(kp))
        return LVAT_OK;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lvat__kp_reject_msg(k, kp, msg);
}

/* ---- Calls ---- */

const lvat_json *
lvat__fcall_arg(const fcall *c, size_t i)
{
    return c->args && i < c->args->len ? c->args->items[i] : NULL;
}

const char *
lvat__fcall_str(const fcall *c, size_t i)
{
    const lvat_json *a = lvat__fcall_arg(c, i);

    return a && a->type == LVAT_JSON_STRING ? a->str : NULL;
}

const char *
lvat__fcall_show(const fcall *c, size_t i, char *buf, size_t size)
{
    const lvat_json *a = lvat__fcall_arg(c, i);
    const char *what;

    if (a == NULL)
        return "(none)";
    switch (a->type) {
    case LVAT_JSON_STRING:
        return a->str;
    case LVAT_JSON_INT:
    case LVAT_JSON_FLOAT:
        what = "a number";
        break;
    case LVAT_JSON_NULL:
        what = "nil";
        break;
    case LVAT_JSON_TRUE:
    case LVAT_JSON_FALSE:
        what = "a boolean";
        break;
    default:
        what = lvat_json_is_array(a) ? "an array" : "a record";
    }
    snprintf(buf, size, "(%s, not a string)", what);
    return buf;
}

int
lvat__fcall_ok_str(fcall *c, const char *s)
{
    lvat_json *j = lvat_json_new_str(s, strlen(s));
    int rc = j ? lvat__facet_fulfill(c->k, c->result, j) : LVAT_ENOMEM;

    lvat_json_free(j);
    return rc;
}

/* ---- Simple methods ---- */

int
lvat__facet_ping(fcall *c)
{
    return lvat__fcall_ok_str(c, "pong");
}

int
lvat__facet_get_status(fcall *c)
{
    lvat_json *doc = NULL;
    char *text = NULL;
    int rc = lvat_kernel_status_json(c->k, &text);

    if (rc == LVAT_OK)
        rc = lvat_json_parse(text, strlen(text), false, &doc, NULL, 0);
    free(text);
    if (rc == LVAT_OK)
        rc = lvat__facet_fulfill(c->k, c->result, doc);
    lvat_json_free(doc);
    return rc;
}

int
lvat__facet_get_subclusters(fcall *c)
{
    lvat_json *list = NULL;
    int rc = lvat__sub_summaries(c->k, &list);

    if (rc == LVAT_OK)
        rc = lvat__facet_fulfill(c->k, c->result, list);
    lvat_json_free(list);
    return rc;
}

int
lvat__facet_get_subcluster(fcall *c)
{
    const char *id = lvat__fcall_str(c, 0);
    lvat_json *one = NULL;
    char shown[64];
    uint32_t sub;
    int rc;

    if (id == NULL || lvat_subid_parse(id, strlen(id), &sub) != LVAT_OK)
        return lvat__facet_reject(c->k, c->result,
                                  "getSubcluster: invalid subcluster id %s "
                                  "(ids look like \"s2\")",
                                  lvat__fcall_show(c, 0, shown, sizeof shown));
    rc = lvat__sub_summary(c->k, sub, &one);
    if (rc == LVAT_ENOTFOUND)
        return lvat__facet_fulfill(c->k, c->result, NULL);
    if (rc == LVAT_OK)
        rc = lvat__facet_fulfill(c->k, c->result, one);
    lvat_json_free(one);
    return rc;
}

/* Answers with a presence of kref (an object with interface iface, or a
 * promise), the only reference a facet answer carries. */
int
lvat__fcall_presence(fcall *c, const char *kref, const char *iface)
{
    lvat_buf body = LVAT_BUF_INIT, ref = LVAT_BUF_INIT;
    lvat_kref r;
    int rc;

    if (lvat_kref_parse(kref, strlen(kref), &r) != LVAT_OK)
        return LVAT_ECORRUPT;
    if (lvat_kref_is_none(c->result))
        return LVAT_OK;
    if (lvat_kref_is_promise(r))
        lvat_buf_puts(&ref, "&0");
    else
        lvat_buf_printf(&ref, "$0.%s", iface);
    lvat_buf_putc(&body, '#');
    rc = ref.oom ? LVAT_ENOMEM
                 : lvat_json_put_string(&body, ref.data, ref.len);
    if (rc == LVAT_OK)
        rc = settle(c->k, c->result, &body, &r, 1);
    lvat_buf_free(&ref);
    lvat_buf_free(&body);
    return rc;
}

int
lvat__facet_get_system_root(fcall *c)
{
    const char *name = lvat__fcall_str(c, 0);
    char root[LVAT_REF_BUFSIZE], shown[64];

    if (name == NULL)
        return lvat__facet_reject(c->k, c->result,
                                  "getSystemSubclusterRoot: the name must "
                                  "be a string, not %s",
                                  lvat__fcall_show(c, 0, shown, sizeof shown));
    if (lvat__system_root(c->k, name, root, sizeof root) != LVAT_OK)
        return lvat__facet_reject(c->k, c->result,
                                  "System subcluster \"%s\" not found", name);
    return lvat__fcall_presence(c, root, "vatRoot");
}

int
lvat__facet_get_presence(fcall *c)
{
    const char *kref = lvat__fcall_str(c, 0), *iface = lvat__fcall_str(c, 1);
    char shown[64];
    lvat_kref r;
    int rc;

    if (kref == NULL || lvat_kref_parse(kref, strlen(kref), &r) != LVAT_OK)
        return lvat__facet_reject(c->k, c->result,
                                  "getPresence: %s is not a kref",
                                  lvat__fcall_show(c, 0, shown, sizeof shown));
    rc = lvat__kref_exists(c->k, r);
    if (rc == LVAT_ENOTFOUND)
        return lvat__facet_reject(c->k, c->result,
                                  "getPresence: %s does not exist", kref);
    if (rc != LVAT_OK)
        return rc;
    return lvat__fcall_presence(c, kref, iface ? iface : "Kernel Object");
}

int
lvat__facet_ping_vat(fcall *c)
{
    const char *id = lvat__fcall_str(c, 0);
    char shown[64];
    uint32_t vat;

    if (id == NULL || lvat_vatid_parse(id, strlen(id), &vat) != LVAT_OK ||
        !lvat__vat_alive(c->k, vat))
        return lvat__facet_reject(c->k, c->result, "Vat %s does not exist",
                                  lvat__fcall_show(c, 0, shown, sizeof shown));
    return lvat__fcall_ok_str(c, "pong");
}
