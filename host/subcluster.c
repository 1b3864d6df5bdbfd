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

/* ---- Records, written as text (a launch writes two records per vat:
 * building each as a tree to write it cost a tenth of the launch) ---- */

/* Writes the ',' an item needs unless it is the first in its container. */
static void
put_sep(lvat_buf *b)
{
    if (b->len > 0 && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        lvat_buf_putc(b, ',');
}

static void
put_key(lvat_buf *b, const char *key)
{
    put_sep(b);
    lvat_json_put_string(b, key, strlen(key));
    lvat_buf_putc(b, ':');
}

static void
put_str(lvat_buf *b, const char *key, const char *val)
{
    put_key(b, key);
    lvat_json_put_string(b, val, strlen(val));
}

static void
put_int(lvat_buf *b, const char *key, int64_t val)
{
    put_key(b, key);
    lvat_buf_put_i64(b, val);
}

static int
put_record(lvat_kernel *k, const lvat_key *key, const lvat_buf *b)
{
    if (b->oom)
        return LVAT_ENOMEM;
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key->b, key->n, b->data, b->len,
                       0);
}

/* ---- Sources: sources DB by hash, counted in source.<hash> ---- */

#define SOURCE_KEY_LEN (7 + LVAT_SHA256_HEX_LEN)

/* source.<hash> (a launch makes one a module: not snprintf, which took
 * 500 instructions); false for a hash of another length, which no
 * source has (a damaged record's). */
static bool
source_key(char key[SOURCE_KEY_LEN + 1], const char *hash)
{
    if (strnlen(hash, LVAT_SHA256_HEX_LEN + 1) != LVAT_SHA256_HEX_LEN)
        return false;
    memcpy(key, "source.", 7);
    memcpy(key + 7, hash, LVAT_SHA256_HEX_LEN);
    key[SOURCE_KEY_LEN] = '\0';
    return true;
}

static int
source_ref(lvat_kernel *k, const lvat_plan_module *m)
{
    char key[SOURCE_KEY_LEN + 1], num[24];
    uint64_t n = 0;
    lvat_val v;
    int rc;

    if (!LVAT_ALWAYS(source_key(key, m->hash))) /* srcname.c set it */
        return LVAT_EINVAL;
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key, SOURCE_KEY_LEN, &v);
    if (rc == LVAT_OK && lvat_parse_u64(v.p, v.len, &n) != LVAT_OK)
        n = 0;
    if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
        return rc;
    if (n == 0 &&
        (rc = lvat_kv_put(k->kv, LVAT_DB_SOURCES, m->hash, LVAT_SHA256_HEX_LEN,
                          m->text, m->len, 0)) != LVAT_OK)
        return rc;
    lvat_fmt_u64(num, n + 1);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key, SOURCE_KEY_LEN, num,
                       strlen(num), 0);
}

int
lvat__source_unref(lvat_kernel *k, const char *hash)
{
    char key[SOURCE_KEY_LEN + 1], num[24];
    uint64_t n = 0;
    lvat_val v;
    int rc;

    if (!source_key(key, hash))
        return LVAT_OK; /* counted nowhere */
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key, SOURCE_KEY_LEN, &v);
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

/* Writes vat.v<N>: what starting the vat again needs.  The name and
 * subcluster come first: vats.c's read_identity stops once it has them. */
static void
vat_record(lvat_buf *b, const lvat_plan_vat *pv, const char *sub)
{
    lvat_buf_putc(b, '{');
    put_str(b, "name", pv->name);
    put_str(b, "subcluster", sub);
    put_str(b, "main", pv->main);
    put_str(b, "parameters", pv->params_body);
    put_key(b, "modules");
    lvat_buf_putc(b, '{');
    for (size_t i = 0; i < pv->nmods; i++) {
        const lvat_plan_module *m = &pv->mods[i]; /* one per name */
        put_key(b, m->name);
        lvat_buf_putc(b, '{');
        put_str(b, "hash", m->hash);
        put_str(b, "path", m->path);
        lvat_buf_putc(b, '}');
    }
    lvat_buf_putc(b, '}');
    if (pv->globals) {
        put_key(b, "globals");
        lvat_json_write(b, pv->globals);
    }
    if (pv->memory_limit)
        put_int(b, "memoryLimit", (int64_t)pv->memory_limit);
    if (pv->time_limit_ms)
        put_int(b, "timeLimitMs", pv->time_limit_ms);
    if (pv->has_random_seed)
        put_int(b, "randomSeed", pv->random_seed);
    if (pv->start_on_open) {
        put_key(b, "startOnOpen");
        lvat_buf_puts(b, "true");
    }
    lvat_buf_putc(b, '}');
}

/* Makes vat `pv`: its id, its sources counted, its record (written with
 * `b`, a scratch buffer). */
static int
add_vat(lvat_kernel *k, lvat_plan_vat *pv, const char *sub, lvat_buf *b,
        uint32_t *id)
{
    lvat_key key;
    int rc = lvat__vat_alloc(k, id);

    if (rc != LVAT_OK)
        return rc;
    for (size_t i = 0; i < pv->nmods && rc == LVAT_OK; i++) {
        lvat__source_name(k, &pv->mods[i]);
        rc = source_ref(k, &pv->mods[i]);
    }
    if (rc != LVAT_OK)
        return rc;
    lvat_buf_reset(b);
    vat_record(b, pv, sub);
    lvat_key_vat_record(&key, *id);
    rc = put_record(k, &key, b);
    if (rc == LVAT_OK && pv->start_on_open) {
        lvat_key_start_on_open(&key, *id);
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, "", 0,
                         LVAT_KV_NEW);
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

/* Writes the services a launch asked for, as {name: kref}; a kernelFacet
 * is an object of its own for each system subcluster. */
static int
services_map(lvat_kernel *k, const lvat_launch_plan *p,
             const lvat_launch_ctx *ctx, const char *sid, lvat_buf *b)
{
    char who[64], text[LVAT_REF_BUFSIZE];
    int rc = LVAT_OK;

    lvat_buf_putc(b, '{');
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
            put_str(b, name, (lvat_kref_format(kref, text), text));
    }
    lvat_buf_putc(b, '}');
    return rc;
}

/* Writes sub.s<N>: names, links and configuration, and the vats made
 * (ids[i] for p->vats[i]). */
static int
sub_record(lvat_kernel *k, lvat_buf *b, const lvat_launch_plan *p,
           const lvat_launch_ctx *ctx, const char *sid, const uint32_t *ids)
{
    char text[LVAT_REF_BUFSIZE];
    int rc;

    lvat_buf_putc(b, '{');
    put_str(b, "id", sid);
    put_str(b, "bootstrap", p->vats[p->bootstrap].name);
    put_str(b, "configDir", p->config_dir);
    put_str(b, "state", "launching");
    put_int(b, "request", (int64_t)ctx->request);
    if (ctx->system_name)
        put_str(b, "name", ctx->system_name);
    if (ctx->replaces != 0) {
        snprintf(text, sizeof text, "s%u", ctx->replaces);
        put_str(b, "replaces", text);
    }
    if (!lvat_kref_is_none(ctx->facet_result))
        put_str(b, ctx->reload ? "reloadResult" : "facetResult",
                (lvat_kref_format(ctx->facet_result, text), text));
    put_key(b, "services");
    if ((rc = services_map(k, p, ctx, sid, b)) != LVAT_OK)
        return rc;
    put_key(b, "config");
    lvat_json_write(b, p->config);
    put_key(b, "vats");
    lvat_buf_putc(b, '{');
    for (size_t i = 0; i < p->nvats; i++)
        put_str(b, p->vats[i].name, (lvat_vatid_format(ids[i], text), text));
    lvat_buf_putc(b, '}');
    put_key(b, "order");
    lvat_buf_putc(b, '[');
    for (size_t i = 0; i < p->nvats; i++) {
        put_sep(b);
        lvat_vatid_format(ids[i], text);
        lvat_json_put_string(b, text, strlen(text));
    }
    lvat_buf_puts(b, "]}");
    return LVAT_OK;
}

int
lvat__launch_plan_apply(lvat_kernel *k, lvat_launch_plan *p,
                        const lvat_launch_ctx *ctx, uint32_t *out)
{
    uint32_t *ids = lvat_malloc((p->nvats ? p->nvats : 1) * sizeof *ids);
    lvat_buf b = LVAT_BUF_INIT;
    char sid[32];
    uint64_t n = 0;
    lvat_key key;
    int rc = ids ? LVAT_OK : LVAT_ENOMEM;

    if (rc == LVAT_OK)
        rc = lvat__counter_next(k, "nextSubclusterId", &n);
    lvat_subid_format(n, sid);
    for (size_t i = 0; i < p->nvats && rc == LVAT_OK; i++)
        rc = add_vat(k, &p->vats[i], sid, &b, &ids[i]);
    if (rc == LVAT_OK) {
        lvat_buf_reset(&b);
        rc = sub_record(k, &b, p, ctx, sid, ids);
    }
    lvat_key_sub(&key, (uint32_t)n);
    if (rc == LVAT_OK)
        rc = put_record(k, &key, &b);
    /* A reload's name moves when its vats have started (launch.c). */
    if (rc == LVAT_OK && ctx->system_name && ctx->replaces == 0)
        rc = lvat__system_map(k, ctx->system_name, (uint32_t)n);
    if (rc == LVAT_OK) {
        lvat_item it;
        memset(&it, 0, sizeof it);
        it.type = LVAT_ITEM_START;
        it.vat = ids[0];
        rc = lvat__runq_push(k, &it);
    }
    lvat_buf_free(&b);
    lvat_free(ids);
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
