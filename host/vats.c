/*
 * Vats in the kernel: the persisted record vat.v<N> (JSON: name,
 * subcluster, code snapshot, parameters, limits, incarnation, state) and
 * the in-memory lvat_kvat that holds the runtime instance.  Instances are
 * made lazily, on a vat's first delivery, and thrown away whenever the
 * store forgets what they did (an aborted crank or block); the next
 * delivery resuscitates them from the store with a START delivery.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "json.h"

/* ---- The in-memory table ---- */

lvat_kvat *
lvat__vat_find(lvat_kernel *k, uint32_t id)
{
    lvat_kvat *v;

    if (k->nvatbuckets == 0)
        return NULL;
    for (v = k->vats[id & (k->nvatbuckets - 1)]; v; v = v->next)
        if (v->id == id)
            return v;
    return NULL;
}

static int
table_insert(lvat_kernel *k, lvat_kvat *v)
{
    if (k->nvats >= k->nvatbuckets) {
        size_t n = k->nvatbuckets ? k->nvatbuckets * 2 : 64;
        lvat_kvat **b = lvat_calloc(n, sizeof *b);
        if (b == NULL)
            return LVAT_ENOMEM;
        for (size_t i = 0; i < k->nvatbuckets; i++) {
            lvat_kvat *e = k->vats[i], *next;
            for (; e; e = next) {
                next = e->next;
                e->next = b[e->id & (n - 1)];
                b[e->id & (n - 1)] = e;
            }
        }
        lvat_free(k->vats);
        k->vats = b;
        k->nvatbuckets = n;
    }
    v->next = k->vats[v->id & (k->nvatbuckets - 1)];
    k->vats[v->id & (k->nvatbuckets - 1)] = v;
    k->nvats++;
    return LVAT_OK;
}

static void
kvat_free(lvat_kernel *k, lvat_kvat *v)
{
    lvat__vat_unload(k, v);
    lvat_buf_free(&v->sys.scratch);
    lvat_free(v->name);
    lvat_free(v);
}

static void
table_remove(lvat_kernel *k, uint32_t id)
{
    lvat_kvat **pp;

    if (k->nvatbuckets == 0)
        return;
    for (pp = &k->vats[id & (k->nvatbuckets - 1)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            lvat_kvat *v = *pp;
            *pp = v->next;
            k->nvats--;
            kvat_free(k, v);
            return;
        }
    }
}

void
lvat__vats_free(lvat_kernel *k)
{
    for (size_t i = 0; i < k->nvatbuckets; i++) {
        lvat_kvat *v = k->vats[i], *next;
        for (; v; v = next) {
            next = v->next;
            kvat_free(k, v);
        }
    }
    lvat_free(k->vats);
    k->vats = NULL;
    k->nvatbuckets = k->nvats = 0;
}

/* ---- Records ---- */

static int
read_record(lvat_kernel *k, uint32_t id, lvat_json **out)
{
    lvat_key key;
    lvat_val v;
    char err[160];
    int rc;

    lvat_key_vat_record(&key, id);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    rc = lvat_json_parse(v.p, v.len, false, out, err, sizeof err);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: %s: database may be "
                          "corrupted",
                          key.b, err);
    return rc;
}

static int
write_record(lvat_kernel *k, uint32_t id, const lvat_json *rec)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_key key;
    int rc = lvat_json_write(&b, rec);

    lvat_key_vat_record(&key, id);
    if (rc == LVAT_OK)
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data, b.len, 0);
    lvat_buf_free(&b);
    return rc;
}

bool
lvat__vat_alive(lvat_kernel *k, uint32_t id)
{
    lvat_key key;
    lvat_val v;

    if (lvat__vat_find(k, id) != NULL)
        return true;
    lvat_key_vat_record(&key, id);
    return lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v) == LVAT_OK;
}

int
lvat__vat_get(lvat_kernel *k, uint32_t id, lvat_kvat **out)
{
    lvat_json *rec = NULL;
    lvat_kvat *v = lvat__vat_find(k, id);
    const char *name;
    int rc;

    if (v != NULL) {
        *out = v;
        return LVAT_OK;
    }
    if ((rc = read_record(k, id, &rec)) != LVAT_OK)
        return rc;
    name = lvat_json_get_str(rec, "name");
    v = lvat_calloc(1, sizeof *v);
    if (v != NULL)
        v->id = id;
    if (v == NULL || (v->name = lvat_strdup(name ? name : "?")) == NULL ||
        table_insert(k, v) != LVAT_OK) {
        if (v)
            lvat_free(v->name);
        lvat_free(v);
        lvat_json_free(rec);
        return LVAT_ENOMEM;
    }
    v->id = id;
    v->sys.k = k;
    v->sys.vat = v;
    lvat_json_free(rec);
    *out = v;
    return LVAT_OK;
}

const char *
lvat__vat_name(lvat_kernel *k, uint32_t id)
{
    lvat_kvat *v;

    if (lvat__vat_get(k, id, &v) != LVAT_OK)
        return "?";
    return v->name;
}

/* ---- Instances ---- */

void
lvat__vat_unload(lvat_kernel *k, lvat_kvat *v)
{
    LVAT_UNUSED(k);
    if (v->inst == NULL)
        return;
    k->ops->destroy(v->inst);
    v->inst = NULL;
}

static size_t
json_size(const lvat_json *rec, const char *key, size_t dflt)
{
    const lvat_json *j = lvat_json_get(rec, key);

    if (j == NULL || j->type != LVAT_JSON_INT || j->i <= 0)
        return dflt;
    return (size_t)j->i;
}

static int
create_instance(lvat_kernel *k, lvat_kvat *v, const lvat_json *rec)
{
    const lvat_json *globals = lvat_json_get(rec, "globals");
    const char *gl[64];
    lvat_vat_spec spec;
    lvat_errbuf err;
    int rc;

    memset(&spec, 0, sizeof spec);
    spec.id = v->id;
    spec.name = v->name;
    spec.main = lvat_json_get_str(rec, "main");
    for (size_t i = 0; globals && i < globals->len && i < 64; i++)
        if (globals->items[i]->type == LVAT_JSON_STRING)
            gl[spec.nglobals++] = globals->items[i]->str;
    spec.globals = gl;
    spec.memory_limit = json_size(rec, "memoryLimit", k->opts.vat_memory_limit);
    spec.time_limit_ms =
        (uint32_t)json_size(rec, "timeLimitMs", k->opts.vat_time_limit_ms);
    spec.sys = &v->sys;
    lvat_errbuf_clear(&err);
    rc = k->ops->create(k->ops_ud, &spec, &v->inst, &err);
    if (rc != LVAT_OK) {
        v->inst = NULL;
        lvat__crank_fail(k, LVAT_CRANK_FAULT, v->id, "%s",
                         err.msg[0] ? err.msg : lvat_strerror(rc));
    }
    return rc;
}

/* Runs buildRootObject: START with the stored parameters. */
static int
start_instance(lvat_kernel *k,
               lvat_kvat *v,
               const lvat_json *rec,
               uint32_t incarnation)
{
    const char *params = lvat_json_get_str(rec, "parameters");
    lvat_delivery d;
    lvat_key key;
    lvat_val cv;
    int rc;

    memset(&d, 0, sizeof d);
    d.kind = LVAT_DELIVER_START;
    d.parameters.body = params ? params : "#{}";
    d.parameters.body_len = strlen(d.parameters.body);
    d.incarnation = incarnation;
    d.next_export_object = d.next_export_promise = 1;
    lvat_key_vat_counters(&key, v->id);
    if (lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &cv) == LVAT_OK) {
        unsigned long long a, b, c, e;
        char tmp[96];
        snprintf(tmp, sizeof tmp, "%.*s", (int)cv.len, cv.p);
        if (sscanf(tmp, "%llu %llu %llu %llu", &a, &b, &c, &e) == 4) {
            d.next_export_object = c;
            d.next_export_promise = e;
        }
    }
    rc = lvat__vat_deliver(k, v, &d);
    return rc;
}

int
lvat__vat_ensure(lvat_kernel *k, lvat_kvat *v)
{
    lvat_json *rec = NULL, *inc;
    const lvat_json *cur;
    int64_t incarnation;
    int rc;

    if (v->inst != NULL)
        return LVAT_OK;
    if ((rc = read_record(k, v->id, &rec)) != LVAT_OK)
        return rc;
    cur = lvat_json_get(rec, "incarnation");
    incarnation = cur && cur->type == LVAT_JSON_INT ? cur->i : 0;
    /* A vat that ran before gets a new incarnation on every start. */
    if (lvat_json_get(rec, "started") != NULL) {
        incarnation++;
        if ((inc = lvat_json_new_int(incarnation)) == NULL ||
            lvat_json_set(rec, "incarnation", inc) != LVAT_OK ||
            (rc = write_record(k, v->id, rec)) != LVAT_OK) {
            lvat_json_free(rec);
            return rc ? rc : LVAT_ENOMEM;
        }
    }
    lvat__log(k, LVAT_LOG_DEBUG, "starting %s (v%u), incarnation %lld",
              v->name, v->id, (long long)incarnation);
    rc = create_instance(k, v, rec);
    if (rc == LVAT_OK)
        rc = start_instance(k, v, rec, (uint32_t)incarnation);
    lvat_json_free(rec);
    return rc;
}

/* Marks a freshly launched vat as having run buildRootObject once. */
int
lvat__vat_mark_started(lvat_kernel *k, uint32_t id)
{
    lvat_json *rec = NULL, *t;
    int rc = read_record(k, id, &rec);

    if (rc != LVAT_OK)
        return rc;
    t = lvat_json_new(LVAT_JSON_TRUE);
    rc = t ? lvat_json_set(rec, "started", t) : LVAT_ENOMEM;
    if (rc == LVAT_OK) {
        lvat_json *st = lvat_json_new_str("running", 7);
        rc = st ? lvat_json_set(rec, "state", st) : LVAT_ENOMEM;
    }
    if (rc == LVAT_OK)
        rc = write_record(k, id, rec);
    lvat_json_free(rec);
    return rc;
}

int
lvat__vat_deliver(lvat_kernel *k, lvat_kvat *v, const lvat_delivery *d)
{
    lvat_errbuf err;
    int rc;

    lvat_errbuf_clear(&err);
    k->crank.vat = v;
    v->block_epoch = k->block_epoch;
    v->sys.active = true;
    rc = k->ops->deliver(v->inst, d, &err);
    v->sys.active = false;
    v->since_reap++;
    if (rc == LVAT_OK)
        return LVAT_OK;
    lvat__crank_fail(k, LVAT_CRANK_FAULT, v->id, "%s",
                     err.msg[0] ? err.msg : lvat_strerror(rc));
    return rc;
}

void
lvat__vat_forget(lvat_kernel *k, uint32_t id)
{
    table_remove(k, id);
}

int
lvat__vat_subcluster(lvat_kernel *k, uint32_t id, char *out, size_t outlen)
{
    lvat_json *rec = NULL;
    const char *sub;
    int rc = read_record(k, id, &rec);

    out[0] = '\0';
    if (rc != LVAT_OK)
        return rc;
    sub = lvat_json_get_str(rec, "subcluster");
    if (sub != NULL)
        snprintf(out, outlen, "%s", sub);
    lvat_json_free(rec);
    return LVAT_OK;
}

int
lvat__vat_release_sources(lvat_kernel *k, uint32_t id)
{
    lvat_json *rec = NULL;
    const lvat_json *mods;
    int rc = read_record(k, id, &rec);

    if (rc != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    mods = lvat_json_get(rec, "modules");
    for (size_t i = 0; mods && i < mods->len && rc == LVAT_OK; i++) {
        const char *hash = lvat_json_get_str(mods->items[i], "hash");
        if (hash != NULL)
            rc = lvat__source_unref(k, hash);
    }
    lvat_json_free(rec);
    return rc;
}
