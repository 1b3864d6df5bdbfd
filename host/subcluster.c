/*
 * Subclusters: a launch is a short chain of cranks.  Applying the request
 * writes the records (sub.s<N>, vat.v<N>, sources) and queues a START for
 * the first vat; each START crank exports the vat's root as o+0 and runs
 * buildRootObject, then queues the next START or, after the last, sends
 * bootstrap(vats, services) with a promise the kernel watches.  When that
 * promise settles the launch is done.  Any failure terminates the vats
 * started so far and deletes the records: nothing half-made remains.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Records ---- */

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

static int
write_sub(lvat_kernel *k, uint32_t sub, const lvat_json *j)
{
    lvat_key key;

    lvat_key_sub(&key, sub);
    return write_json(k, &key, j);
}

static int
set_str(lvat_json *obj, const char *key, const char *val)
{
    lvat_json *s = lvat_json_new_str(val, strlen(val));

    return s ? lvat_json_set(obj, key, s) : LVAT_ENOMEM;
}

static int
set_int(lvat_json *obj, const char *key, int64_t val)
{
    lvat_json *n = lvat_json_new_int(val);

    return n ? lvat_json_set(obj, key, n) : LVAT_ENOMEM;
}

/* ---- Sources: sources DB by hash, counted in source.<hash> ---- */

static int
source_ref(lvat_kernel *k, const lvat_plan_module *m)
{
    char key[8 + LVAT_SHA256_HEX_LEN + 1], num[24];
    uint64_t n = 0;
    lvat_val v;
    int rc;

    snprintf(key, sizeof key, "source.%s", m->hash);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key, strlen(key), &v);
    if (rc == LVAT_OK && lvat_parse_u64(v.p, v.len, &n) != LVAT_OK)
        n = 0;
    if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
        return rc;
    if (n == 0 &&
        (rc = lvat_kv_put(k->kv, LVAT_DB_SOURCES, m->hash, LVAT_SHA256_HEX_LEN,
                          m->text, m->len, 0)) != LVAT_OK)
        return rc;
    lvat_fmt_u64(num, n + 1);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key, strlen(key), num,
                       strlen(num), 0);
}

int
lvat__source_unref(lvat_kernel *k, const char *hash)
{
    char key[8 + LVAT_SHA256_HEX_LEN + 1], num[24];
    uint64_t n = 0;
    lvat_val v;
    int rc;

    snprintf(key, sizeof key, "source.%s", hash);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key, strlen(key), &v);
    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    if (lvat_parse_u64(v.p, v.len, &n) != LVAT_OK || n <= 1) {
        rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key, strlen(key));
        if (rc == LVAT_OK)
            rc = lvat_kv_del(k->kv, LVAT_DB_SOURCES, hash, strlen(hash));
        return rc;
    }
    lvat_fmt_u64(num, n - 1);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key, strlen(key), num,
                       strlen(num), 0);
}

/* ---- Applying a launch ---- */

static lvat_json *
vat_record(const lvat_plan_vat *pv, const char *sub)
{
    lvat_json *rec = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *mods = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    int rc = rec && mods ? LVAT_OK : LVAT_ENOMEM;

    for (size_t i = 0; i < pv->nmods && rc == LVAT_OK; i++) {
        lvat_json *m = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
        rc = m ? set_str(m, "hash", pv->mods[i].hash) : LVAT_ENOMEM;
        if (rc == LVAT_OK)
            rc = set_str(m, "path", pv->mods[i].path);
        if (rc == LVAT_OK)
            rc = lvat_json_set(mods, pv->mods[i].name, m);
        else
            lvat_json_free(m);
    }
    if (rc == LVAT_OK && (rc = set_str(rec, "name", pv->name)) == LVAT_OK &&
        (rc = set_str(rec, "subcluster", sub)) == LVAT_OK &&
        (rc = set_str(rec, "main", pv->main)) == LVAT_OK &&
        (rc = set_str(rec, "parameters", pv->params_body)) == LVAT_OK) {
        rc = lvat_json_set(rec, "modules", mods);
        mods = NULL;
    }
    if (rc == LVAT_OK && pv->globals) {
        lvat_json *g = lvat_json_clone(pv->globals);
        rc = g ? lvat_json_set(rec, "globals", g) : LVAT_ENOMEM;
    }
    if (rc == LVAT_OK && pv->memory_limit)
        rc = set_int(rec, "memoryLimit", (int64_t)pv->memory_limit);
    if (rc == LVAT_OK && pv->time_limit_ms)
        rc = set_int(rec, "timeLimitMs", pv->time_limit_ms);
    if (rc == LVAT_OK && pv->has_random_seed)
        rc = set_int(rec, "randomSeed", pv->random_seed);
    if (rc == LVAT_OK && pv->start_on_open)
        rc = lvat_json_set(rec, "startOnOpen", lvat_json_new(LVAT_JSON_TRUE));
    lvat_json_free(mods);
    if (rc != LVAT_OK) {
        lvat_json_free(rec);
        return NULL;
    }
    return rec;
}

static int
add_vat(lvat_kernel *k,
        lvat_plan_vat *pv,
        const char *sub,
        lvat_json *vats,
        lvat_json *order,
        uint32_t *id)
{
    char vid[LVAT_REF_BUFSIZE];
    lvat_json *rec;
    lvat_key key;
    uint64_t n;
    int rc = lvat__counter_next(k, "nextVatId", &n);

    if (rc != LVAT_OK)
        return rc;
    *id = (uint32_t)n;
    lvat_vatid_format(*id, vid);
    for (size_t i = 0; i < pv->nmods && rc == LVAT_OK; i++) {
        lvat__source_name(k, &pv->mods[i]);
        rc = source_ref(k, &pv->mods[i]);
    }
    if (rc != LVAT_OK || (rec = vat_record(pv, sub)) == NULL)
        return rc ? rc : LVAT_ENOMEM;
    lvat_key_vat_record(&key, *id);
    rc = write_json(k, &key, rec);
    lvat_json_free(rec);
    if (rc == LVAT_OK && pv->start_on_open) {
        lvat_key_start_on_open(&key, *id);
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, "", 0,
                         LVAT_KV_NEW);
    }
    if (rc == LVAT_OK)
        rc = set_str(vats, pv->name, vid);
    if (rc == LVAT_OK) {
        lvat_json *s = lvat_json_new_str(vid, strlen(vid));
        rc = s ? lvat_json_append(order, s) : LVAT_ENOMEM;
    }
    return rc;
}

const char *
lvat__plan_missing_service(lvat_kernel *k, const lvat_launch_plan *p,
                           bool system)
{
    for (size_t i = 0; p->services && i < p->services->len; i++) {
        const char *name = p->services->items[i]->str;
        lvat_kref kref;
        if (strcmp(name, "kernelFacet") == 0 && system)
            continue;
        if ((lvat__service_system_only(k, name) && !system) ||
            lvat__service_find(k, name) == NULL ||
            lvat__service_kref(k, name, &kref) != LVAT_OK)
            return name;
    }
    return NULL;
}

/* The services a launch asked for, as {name: kref}; a kernelFacet is an
 * object of its own for each system subcluster. */
static int
services_map(lvat_kernel *k, const lvat_launch_plan *p,
             const lvat_launch_ctx *ctx, const char *sid, lvat_json **out)
{
    lvat_json *map = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    char who[64], text[LVAT_REF_BUFSIZE];
    int rc = map ? LVAT_OK : LVAT_ENOMEM;

    for (size_t i = 0; p->services && i < p->services->len && rc == LVAT_OK;
         i++) {
        const char *name = p->services->items[i]->str;
        lvat_kref kref;
        if (strcmp(name, "kernelFacet") == 0 && ctx->system_name != NULL) {
            snprintf(who, sizeof who, "facet %s", sid);
            rc = lvat__service_object(k, who, &kref);
        } else if (lvat__service_system_only(k, name) &&
                   ctx->system_name == NULL) {
            rc = LVAT_ENOTFOUND;
        } else {
            rc = lvat__service_kref(k, name, &kref);
        }
        if (rc == LVAT_ENOTFOUND)
            rc = lvat__fail(k, LVAT_ECONFIG, "no registered kernel service "
                            "'%s'", name);
        if (rc == LVAT_OK)
            rc = set_str(map, name, (lvat_kref_format(kref, text), text));
    }
    if (rc != LVAT_OK) {
        lvat_json_free(map);
        return rc;
    }
    *out = map;
    return LVAT_OK;
}

/* Names, links and configuration of the new record. */
static int
sub_fields(lvat_kernel *k, lvat_json *sub, const lvat_launch_plan *p,
           const lvat_launch_ctx *ctx, const char *sid)
{
    lvat_json *services = NULL, *cfg;
    char text[LVAT_REF_BUFSIZE];
    int rc;

    if ((rc = set_str(sub, "id", sid)) != LVAT_OK ||
        (rc = set_str(sub, "bootstrap", p->vats[p->bootstrap].name)) ||
        (rc = set_str(sub, "configDir", p->config_dir)) ||
        (rc = set_str(sub, "state", "launching")) ||
        (rc = set_int(sub, "request", (int64_t)ctx->request)))
        return rc;
    if (ctx->system_name && (rc = set_str(sub, "name", ctx->system_name)))
        return rc;
    if (!lvat_kref_is_none(ctx->facet_result) &&
        (rc = set_str(sub, ctx->reload ? "reloadResult" : "facetResult",
                      (lvat_kref_format(ctx->facet_result, text), text))))
        return rc;
    if ((rc = services_map(k, p, ctx, sid, &services)) != LVAT_OK ||
        (rc = lvat_json_set(sub, "services", services)) != LVAT_OK)
        return rc;
    cfg = lvat_json_clone(p->config);
    return cfg ? lvat_json_set(sub, "config", cfg) : LVAT_ENOMEM;
}

int
lvat__launch_plan_apply(lvat_kernel *k, lvat_launch_plan *p,
                        const lvat_launch_ctx *ctx, uint32_t *out)
{
    lvat_json *sub = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *vats = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *order = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    char sid[32];
    uint32_t first = 0, id = 0;
    uint64_t n = 0;
    int rc = sub && vats && order ? LVAT_OK : LVAT_ENOMEM;

    if (rc == LVAT_OK)
        rc = lvat__counter_next(k, "nextSubclusterId", &n);
    snprintf(sid, sizeof sid, "s%llu", (unsigned long long)n);
    for (size_t i = 0; i < p->nvats && rc == LVAT_OK; i++) {
        rc = add_vat(k, &p->vats[i], sid, vats, order, &id);
        if (i == 0)
            first = id;
    }
    if (rc == LVAT_OK)
        rc = sub_fields(k, sub, p, ctx, sid);
    if (rc == LVAT_OK) {
        rc = lvat_json_set(sub, "vats", vats);
        vats = NULL;
    }
    if (rc == LVAT_OK) {
        rc = lvat_json_set(sub, "order", order);
        order = NULL;
    }
    if (rc == LVAT_OK)
        rc = write_sub(k, (uint32_t)n, sub);
    if (rc == LVAT_OK && ctx->system_name)
        rc = lvat__system_map(k, ctx->system_name, (uint32_t)n);
    if (rc == LVAT_OK) {
        lvat_item it;
        memset(&it, 0, sizeof it);
        it.type = LVAT_ITEM_START;
        it.vat = first;
        rc = lvat__runq_push(k, &it);
    }
    lvat_json_free(sub);
    lvat_json_free(vats);
    lvat_json_free(order);
    if (rc == LVAT_OK && out)
        *out = (uint32_t)n;
    return rc;
}

int
lvat__launch_apply(lvat_kernel *k, lvat_req *r)
{
    const char *bad = lvat__plan_missing_service(k, r->plan,
                                                 r->system_name != NULL);
    lvat_launch_ctx ctx;
    char why[256];

    /* A service unregistered since the launch was queued fails the launch,
     * not the kernel. */
    if (bad != NULL) {
        snprintf(why, sizeof why, "no registered kernel service '%s'", bad);
        lvat__log(k, LVAT_LOG_ERROR, "launch of %s%s failed: %s",
                  r->system_name ? "system subcluster " : "a subcluster",
                  r->system_name ? r->system_name : "", why);
        return lvat__output_launch(k, r, LVAT_LAUNCH_FAILED, NULL,
                                   (lvat_kref){0}, (lvat_kref){0}, NULL,
                                   LVAT_ECONFIG, why);
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.request = r->id;
    ctx.system_name = r->system_name;
    return lvat__launch_plan_apply(k, r->plan, &ctx, NULL);
}
