/*
 * The cranks of a launch after its records exist (see subcluster.c):
 * starting each vat, sending bootstrap, and finishing or tearing down when
 * the bootstrap result settles or a vat fails to start.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Small record helpers ---- */

static int
read_json(lvat_kernel *k, const lvat_key *key, lvat_json **out)
{
    lvat_val v;
    int rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key->b, key->n, &v);

    if (rc != LVAT_OK)
        return rc;
    rc = lvat_json_parse(v.p, v.len, false, out, NULL, 0);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad record: database may be corrupted", key->b);
    return rc;
}

static int
write_json(lvat_kernel *k, const lvat_key *key, const lvat_json *j)
{
    lvat_buf b = LVAT_BUF_INIT;
    int rc = lvat_json_write(&b, j);

    if (rc == LVAT_OK)
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key->b, key->n, b.data, b.len,
                         0);
    lvat_buf_free(&b);
    return rc;
}

/* Sets one member of a stored record in its text (no tree); one the
 * record is known not to have (`absent`) is added without a scan. */
static int
set_member(lvat_kernel *k, const lvat_key *key, const char *name,
           const char *value, bool absent)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_val v;
    int rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key->b, key->n, &v);

    if (rc == LVAT_OK)
        rc = (absent ? lvat_json_member_add : lvat_json_member_set)(
            &b, v.p, v.len, name, value, strlen(value));
    if (rc == LVAT_ESYNTAX)
        rc = lvat__fail(k, LVAT_ECORRUPT,
                        "%s: bad record: database may be corrupted", key->b);
    if (rc == LVAT_OK)
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key->b, key->n, b.data, b.len,
                         0);
    lvat_buf_free(&b);
    return rc;
}

static uint32_t
json_vat(const lvat_json *j)
{
    uint32_t id = 0;

    if (j && j->type == LVAT_JSON_STRING)
        lvat_vatid_parse(j->str, j->len, &id);
    return id;
}

static int
vat_sub(lvat_kernel *k, uint32_t vat, uint32_t *sub)
{
    char sid[32];
    int rc = lvat__vat_subcluster(k, vat, sid, sizeof sid);

    if (rc != LVAT_OK)
        return rc;
    return lvat_subid_parse(sid, strlen(sid), sub) == LVAT_OK ? LVAT_OK
                                                              : LVAT_ENOTFOUND;
}

static lvat_req *
sub_request(lvat_kernel *k, const lvat_json *sub)
{
    const lvat_json *r = lvat_json_get(sub, "request");

    return r && r->type == LVAT_JSON_INT ? lvat__req_find(k, (uint64_t)r->i)
                                         : NULL;
}

int
lvat__launch_cut_short(lvat_kernel *k, const lvat_json *sub, uint32_t id,
                       const char *why)
{
    const char *state = lvat_json_get_str(sub, "state");
    char sid[32];

    if (state != NULL && strcmp(state, "ready") == 0)
        return LVAT_OK;
    lvat_subid_format(id, sid);
    return lvat__output_launch(k, sub_request(k, sub), LVAT_LAUNCH_FAILED, sid,
                               (lvat_kref){0}, (lvat_kref){0}, NULL,
                               LVAT_EVAT, why);
}

/* ---- Teardown ---- */

static int
teardown(lvat_kernel *k, uint32_t sub, const lvat_json *rec, const char *why)
{
    /* Whoever waits through the kernel facet hears the real reason. */
    int rc = lvat__facet_launch_failed(k, rec, why);

    return rc == LVAT_OK ? lvat__sub_terminate(k, sub, "a failed launch")
                         : rc;
}

/* Whether `vat` is the bootstrap vat of a system subcluster (record rec),
 * which lives only as long as that vat: the kernel reaches it through
 * that vat's root. */
static bool
ends_system(const lvat_json *rec, uint32_t vat)
{
    const char *boot = lvat_json_get_str(rec, "bootstrap");

    return lvat_json_get(rec, "name") != NULL && boot != NULL &&
           json_vat(lvat_json_get(lvat_json_get(rec, "vats"), boot)) == vat;
}

int
lvat__sub_forget_vat(lvat_kernel *k, const char *sid, uint32_t vat)
{
    lvat_json *rec = NULL, *vats, *order;
    const lvat_json *ov, *oo;
    uint32_t sub;
    lvat_key key;
    int rc;

    if (lvat_subid_parse(sid, strlen(sid), &sub) != LVAT_OK)
        return LVAT_OK;
    lvat_key_sub(&key, sub);
    if ((rc = read_json(k, &key, &rec)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    ov = lvat_json_get(rec, "vats");
    oo = lvat_json_get(rec, "order");
    vats = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    order = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    rc = vats && order ? LVAT_OK : LVAT_ENOMEM;
    for (size_t i = 0; ov && i < ov->len && rc == LVAT_OK; i++)
        if (json_vat(ov->items[i]) != vat)
            rc =
                lvat_json_set(vats, ov->keys[i], lvat_json_clone(ov->items[i]));
    for (size_t i = 0; oo && i < oo->len && rc == LVAT_OK; i++)
        if (json_vat(oo->items[i]) != vat)
            rc = lvat_json_append(order, lvat_json_clone(oo->items[i]));
    if (rc == LVAT_OK && (order->len == 0 || ends_system(rec, vat))) {
        /* As if terminated: its facet retired, its name free again (the
         * next open launches a system subcluster afresh). */
        char why[64];
        snprintf(why, sizeof why, "ended: its %s vat v%u is gone",
                 order->len == 0 ? "last" : "bootstrap", vat);
        rc = lvat__sub_terminate(k, sub, why);
    } else if (rc == LVAT_OK) {
        rc = lvat_json_set(rec, "vats", vats);
        vats = NULL;
        if (rc == LVAT_OK) {
            rc = lvat_json_set(rec, "order", order);
            order = NULL;
        }
        if (rc == LVAT_OK)
            rc = write_json(k, &key, rec);
    }
    lvat_json_free(vats);
    lvat_json_free(order);
    lvat_json_free(rec);
    return rc;
}

/* ---- Bootstrap ---- */

/* Builds #["bootstrap",[{name:$i.vatRoot...},{}]] with sorted names. */
typedef struct named {
    const char *name;
    size_t index;
} named;

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Appends "$<slot>.<iface>" as a JSON string: a service's name may hold
 * any byte. */
static void
put_slot_ref(lvat_buf *body, size_t slot, const char *iface)
{
    char small[64];
    lvat_buf ref = LVAT_BUF_ON(small);

    lvat_buf_putc(&ref, '$');
    lvat_buf_put_u64(&ref, slot);
    lvat_buf_putc(&ref, '.');
    lvat_buf_puts(&ref, iface);
    if (ref.oom)
        body->oom = 1;
    else
        lvat_json_put_string(body, ref.data, ref.len);
    lvat_buf_free(&ref);
}

/* Appends the services record's members ("kernelFacet":"$7.KernelFacet"),
 * sorted by name, their slots numbered from `first`. */
static int
services_arg(const lvat_json *services, size_t first, lvat_buf *body,
             lvat_kref *slots)
{
    size_t n = services ? services->len : 0;
    named *by_name = lvat_malloc((n ? n : 1) * sizeof *by_name);

    if (by_name == NULL)
        return LVAT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        by_name[i].name = services->keys[i];
        by_name[i].index = i;
    }
    qsort(by_name, n, sizeof *by_name, cmp_names);
    for (size_t i = 0; i < n; i++) {
        const lvat_json *v = services->items[by_name[i].index];
        const char *name = by_name[i].name;
        if (v->type != LVAT_JSON_STRING ||
            lvat_kref_parse(v->str, v->len, &slots[first + i]) != LVAT_OK) {
            lvat_free(by_name);
            return LVAT_ECORRUPT;
        }
        if (i)
            lvat_buf_putc(body, ',');
        lvat_sc_put_string(body, name, strlen(name));
        lvat_buf_putc(body, ':');
        put_slot_ref(body, first + i,
                     strcmp(name, "kernelFacet") == 0 ? "KernelFacet" : name);
    }
    lvat_free(by_name);
    return body->oom ? LVAT_ENOMEM : LVAT_OK;
}

static int
bootstrap_args(lvat_kernel *k,
               const lvat_json *vats,
               const lvat_json *services,
               lvat_buf *body,
               lvat_kref *slots)
{
    size_t n = vats->len;
    named *by_name = lvat_malloc((n ? n : 1) * sizeof *by_name);
    size_t *order = lvat_malloc((n ? n : 1) * sizeof *order);
    int rc = LVAT_OK;

    if (order == NULL || by_name == NULL) {
        lvat_free(order);
        lvat_free(by_name);
        return LVAT_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        by_name[i].name = vats->keys[i];
        by_name[i].index = i;
    }
    qsort(by_name, n, sizeof *by_name, cmp_names);
    for (size_t i = 0; i < n; i++)
        order[i] = by_name[i].index;
    lvat_free(by_name);
    lvat_buf_puts(body, "#[\"bootstrap\",[{");
    for (size_t i = 0; i < n && rc == LVAT_OK; i++) {
        const char *name = vats->keys[order[i]];
        rc = lvat__clist_lookup_v(k, json_vat(vats->items[order[i]]),
                                  lvat_vref_root(), &slots[i]);
        if (i)
            lvat_buf_putc(body, ',');
        lvat_sc_put_string(body, name, strlen(name));
        lvat_buf_puts(body, ":\"$");
        lvat_buf_put_u64(body, i);
        lvat_buf_puts(body, ".vatRoot\"");
    }
    lvat_buf_puts(body, "},{");
    lvat_free(order);
    if (rc == LVAT_OK)
        rc = services_arg(services, n, body, slots);
    lvat_buf_puts(body, "}]]");
    if (rc == LVAT_ENOTFOUND)
        rc = lvat__fail(k, LVAT_ECORRUPT,
                        "a vat of a launching subcluster "
                        "has no root: database may be corrupted");
    return rc == LVAT_OK && body->oom ? LVAT_ENOMEM : rc;
}

static int
send_bootstrap(lvat_kernel *k, uint32_t sub, lvat_json *rec)
{
    const lvat_json *vats = lvat_json_get(rec, "vats");
    const lvat_json *services = lvat_json_get(rec, "services");
    const char *boot = lvat_json_get_str(rec, "bootstrap");
    size_t nslots = vats->len + (services ? services->len : 0);
    lvat_buf body = LVAT_BUF_INIT;
    lvat_kref *slots = lvat_malloc((nslots ? nslots : 1) * sizeof *slots);
    lvat_kref root;
    char name[LVAT_REF_BUFSIZE + 2], sid[32];
    lvat_msg m;
    lvat_key key;
    int rc = slots ? bootstrap_args(k, vats, services, &body, slots)
                   : LVAT_ENOMEM;

    memset(&m, 0, sizeof m);
    if (rc == LVAT_OK)
        rc = lvat__clist_lookup_v(k, json_vat(lvat_json_get(vats, boot)),
                                  lvat_vref_root(), &root);
    if (rc == LVAT_OK)
        rc = lvat__kp_new(k, LVAT_NO_DECIDER, &m.result);
    if (rc == LVAT_OK)
        rc = lvat__watch_launch(k, m.result, sub,
                                (uint64_t)lvat_json_get(rec, "request")->i);
    if (rc == LVAT_OK) {
        m.target = root;
        m.methargs.body = body.data;
        m.methargs.body_len = body.len;
        m.methargs.slots = slots;
        m.methargs.nslots = nslots;
        rc = lvat__send(k, &m);
    }
    lvat_buf_free(&body);
    lvat_free(slots);
    lvat_key_sub(&key, sub);
    if (rc == LVAT_OK) {
        name[0] = '"';
        lvat_kref_format(root, name + 1);
        strcat(name, "\"");
        rc = set_member(k, &key, "root", name, !lvat_json_get(rec, "root"));
    }
    lvat_subid_format(sub, sid);
    if (rc == LVAT_OK)
        rc = lvat__output_launch(k, sub_request(k, rec), LVAT_LAUNCH_STARTED,
                                 sid, root, m.result, NULL, LVAT_OK, NULL);
    return rc;
}

/* ---- START items ---- */

/* A reload's vats have all started: the subcluster it replaces goes now,
 * and a system subcluster's name moves to this one.  *gone when that one
 * was terminated meanwhile (or by a reload that finished first). */
static int
take_over(lvat_kernel *k, uint32_t sub, const lvat_json *rec, bool *gone)
{
    const char *old = lvat_json_get_str(rec, "replaces");
    const char *name = lvat_json_get_str(rec, "name");
    uint32_t id;
    int rc;

    *gone = false;
    if (old == NULL || lvat_subid_parse(old, strlen(old), &id) != LVAT_OK)
        return LVAT_OK;
    rc = lvat__sub_terminate(k, id, "reloaded");
    if (rc == LVAT_ENOTFOUND) {
        *gone = true;
        return LVAT_OK;
    }
    return rc == LVAT_OK && name != NULL ? lvat__system_map(k, name, sub)
                                         : rc;
}

static int
next_step(lvat_kernel *k, uint32_t sub, lvat_json *rec, uint32_t vat)
{
    const lvat_json *order = lvat_json_get(rec, "order");
    bool gone;
    int rc;

    for (size_t i = 0; order && i + 1 < order->len; i++) {
        if (json_vat(order->items[i]) == vat) {
            lvat_item it;
            memset(&it, 0, sizeof it);
            it.type = LVAT_ITEM_START;
            it.vat = json_vat(order->items[i + 1]);
            return lvat__runq_push(k, &it);
        }
    }
    if ((rc = take_over(k, sub, rec, &gone)) != LVAT_OK)
        return rc;
    /* Failed as a start fails: this crank undone, the new vats torn down
     * in the follow-up (not here, under the vat it starts). */
    if (!gone)
        return send_bootstrap(k, sub, rec);
    lvat__crank_fail(k, LVAT_CRANK_STARTFAIL, vat,
                     "the reload of %s failed: it was terminated before the "
                     "new vats had started",
                     lvat_json_get_str(rec, "replaces"));
    return LVAT_OK;
}

int
lvat__launch_start_vat(lvat_kernel *k, uint32_t vat)
{
    lvat_json *rec = NULL;
    lvat_kvat *v;
    lvat_kref root;
    lvat_key key;
    uint32_t sub = 0;
    /* Loaded first: its subcluster then comes from memory, not from a
     * second parse of its record. */
    int rc = lvat__vat_get(k, vat, &v);

    if (rc == LVAT_OK)
        rc = vat_sub(k, vat, &sub);
    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK; /* its launch was torn down meanwhile */
    lvat_key_sub(&key, sub);
    if (rc != LVAT_OK || (rc = read_json(k, &key, &rec)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if ((rc = lvat__ko_new(k, vat, &root)) == LVAT_OK &&
        (rc = lvat__clist_add_export(k, vat, root, lvat_vref_root())) ==
            LVAT_OK &&
        (rc = lvat__vat_ensure(k, v)) == LVAT_OK) {
        /* A vat that ends itself while it starts has not started: the
         * launch fails (a reload's old subcluster stays), its crank
         * undone. */
        if (k->crank.exit_success)
            lvat__crank_fail(k, LVAT_CRANK_STARTFAIL, vat,
                             "%s (v%u) exited while it started: %s", v->name,
                             vat, k->crank.exit_info.data
                                      ? k->crank.exit_info.data
                                      : "");
        else
            rc = next_step(k, sub, rec, vat);
    }
    lvat_json_free(rec);
    return rc;
}

/* Whether the subcluster a reload replaces ("sN") is still there. */
static bool
replaced_alive(lvat_kernel *k, const char *old)
{
    lvat_json *rec = NULL;
    uint32_t id;

    if (lvat_subid_parse(old, strlen(old), &id) != LVAT_OK ||
        lvat__sub_read(k, id, &rec) != LVAT_OK)
        return false;
    lvat_json_free(rec);
    return true;
}

int
lvat__launch_start_failed(lvat_kernel *k, uint32_t vat, const char *why)
{
    lvat_json *rec = NULL;
    const char *old;
    char reason[1200];
    lvat_key key;
    uint32_t sub = 0;
    int rc = vat_sub(k, vat, &sub);

    lvat_key_sub(&key, sub);
    if (rc != LVAT_OK || (rc = read_json(k, &key, &rec)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    old = lvat_json_get_str(rec, "replaces");
    if (old != NULL && replaced_alive(k, old)) {
        snprintf(reason, sizeof reason, "%s (the reload failed: %s is "
                 "unchanged)", why, old);
        why = reason;
    }
    rc = lvat__launch_cut_short(k, rec, sub, why);
    if (rc == LVAT_OK)
        rc = teardown(k, sub, rec, why);
    lvat_json_free(rec);
    return rc;
}

/* What settling a launch reads of its record, in one scan of the text. */
typedef struct launch_fields {
    lvat_kref root;
    char root_text[LVAT_REF_BUFSIZE]; /* "" when it has none */
    bool waited; /* a kernel facet call waits for the launch */
    lvat_buf ready; /* the record with "state":"ready", from the same scan */
} launch_fields;

static int
read_fields(lvat_kernel *k, const lvat_key *key, launch_fields *f)
{
    static const char *const keys[] = {"root", "facetResult",
                                       "reloadResult", "state"};
    static const char ready[] = "\"ready\"";
    lvat_json_span sp[4];
    lvat_val v;
    int rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key->b, key->n, &v);

    memset(f, 0, sizeof *f);
    if (rc == LVAT_OK)
        rc = lvat_json_members(v.p, v.len, keys, 4, sp);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad record: database may be corrupted", key->b);
    if (rc != LVAT_OK)
        return rc;
    if (sp[0].found && sp[0].len >= 2 && v.p[sp[0].at] == '"' &&
        sp[0].len - 2 < sizeof f->root_text) {
        memcpy(f->root_text, v.p + sp[0].at + 1, sp[0].len - 2);
        lvat_kref_parse(f->root_text, sp[0].len - 2, &f->root);
    }
    f->waited = sp[1].found || sp[2].found;
    rc = sp[3].found ? lvat_json_span_set(&f->ready, v.p, v.len, &sp[3],
                                          ready, sizeof ready - 1)
                     : lvat_json_member_set(&f->ready, v.p, v.len, "state",
                                            ready, sizeof ready - 1);
    if (rc != LVAT_OK)
        lvat_buf_free(&f->ready);
    return rc;
}

/* The record as a tree, for the rarer ends of a launch: a kernel facet
 * call told, a teardown. */
static int
settled_with_record(lvat_kernel *k, uint32_t sub, const launch_fields *f,
                    const lvat_capdata *v, const char *why)
{
    lvat_json *rec = NULL;
    lvat_key key;
    int rc;

    lvat_key_sub(&key, sub);
    if ((rc = read_json(k, &key, &rec)) != LVAT_OK)
        return rc;
    if (why != NULL)
        rc = teardown(k, sub, rec, why);
    else
        rc = lvat__facet_launch_done(k, rec, sub,
                                     f->root_text[0] ? f->root_text : NULL, v);
    lvat_json_free(rec);
    return rc;
}

int
lvat__launch_settled(lvat_kernel *k, uint32_t sub, uint64_t req, lvat_kref kp)
{
    /* The watch names the request its record holds. */
    lvat_req *r = lvat__req_find(k, req);
    lvat_buf msg = LVAT_BUF_INIT;
    launch_fields f;
    lvat_capdata v;
    lvat_kprom p;
    lvat_key key;
    char sid[32], reason[1200];
    int rc;

    lvat_key_sub(&key, sub);
    if ((rc = read_fields(k, &key, &f)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if ((rc = lvat__kp_get(k, kp, &p)) == LVAT_OK) {
        lvat__kp_release(&p);
        rc = lvat__kp_value(k, kp, &v);
    }
    if (rc != LVAT_OK) {
        lvat_buf_free(&f.ready);
        return rc;
    }
    lvat_subid_format(sub, sid);
    if (p.state == 'f') {
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, f.ready.data,
                         f.ready.len, 0);
        if (rc == LVAT_OK)
            rc = lvat__pin_for_host(k, v.slots, v.nslots);
        if (rc == LVAT_OK)
            rc = lvat__output_launch(k, r, LVAT_LAUNCH_DONE, sid, f.root,
                                     kp, &v, LVAT_OK, NULL);
        if (rc == LVAT_OK && f.waited)
            rc = settled_with_record(k, sub, &f, &v, NULL);
    } else {
        if (lvat_sc_error_message(v.body, v.body_len, &msg) != LVAT_OK)
            lvat_sc_render(&msg, v.body, v.body_len, v.slots, v.nslots, NULL,
                           NULL);
        rc = lvat__output_launch(k, r, LVAT_LAUNCH_FAILED, sid, f.root, kp,
                                 &v, LVAT_EREJECTED, msg.data ? msg.data : "");
        snprintf(reason, sizeof reason, "the bootstrap of %s was rejected: %s",
                 sid, msg.data ? msg.data : "");
        if (rc == LVAT_OK)
            rc = settled_with_record(k, sub, &f, &v, reason);
    }
    lvat_capdata_free_slots(&v);
    lvat_buf_free(&msg);
    lvat_buf_free(&f.ready);
    return rc;
}
