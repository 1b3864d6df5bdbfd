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
#include "clock.h"
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
    /* raw_bytes: module names that are not UTF-8 come back as stored */
    rc = lvat_json_parse(v.p, v.len, true, out, err, sizeof err);
    if (rc == LVAT_ESYNTAX)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: %s: database may be "
                          "corrupted",
                          key.b, err);
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

/* The name and subcluster fields of a record, read with the pull parser
 * (no tree: a launch parses the whole record once more to start the vat).
 * *name is owned; "?" when the record has none. */
static int
read_identity(lvat_kernel *k, uint32_t id, char **name, char *sub,
              size_t sublen)
{
    lvat_json_parser jp;
    lvat_json_tok t;
    lvat_key key;
    lvat_val v;
    bool have_sub = false;
    int rc;

    lvat_key_vat_record(&key, id);
    if ((rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v)) != LVAT_OK)
        return rc;
    lvat_json_parser_init(&jp, v.p, v.len, false);
    rc = lvat_json_next(&jp, &t);
    if (rc == LVAT_OK && t.type != LVAT_JSON_OBJECT_BEGIN)
        rc = lvat_json_fail(&jp, jp.p, "a vat record is an object");
    /* The record starts with both (subcluster.c's vat_record): the
     * rest, its modules, is left unread. */
    while (rc == LVAT_OK && !(have_sub && *name != NULL) &&
           (rc = lvat_json_next(&jp, &t)) == LVAT_OK &&
           t.type == LVAT_JSON_KEY) {
        bool is_name = t.len == 4 && memcmp(t.str, "name", 4) == 0;
        bool is_sub = t.len == 10 && memcmp(t.str, "subcluster", 10) == 0;
        if ((rc = lvat_json_next(&jp, &t)) != LVAT_OK)
            break;
        if (t.type != LVAT_JSON_STRING || !(is_name || is_sub)) {
            rc = lvat_json_skip(&jp, &t);
        } else if (is_sub) {
            lvat_copy_cut(sub, sublen, t.str, t.len);
            have_sub = t.len > 0;
        } else if (*name == NULL &&
                   (*name = lvat_memdup(t.str, t.len)) == NULL) {
            rc = LVAT_ENOMEM;
        }
    }
    if (rc == LVAT_ESYNTAX)
        rc = lvat__fail(k, LVAT_ECORRUPT, "%s: %s: database may be corrupted",
                        key.b, jp.err);
    lvat_json_parser_free(&jp);
    if (rc == LVAT_OK && *name == NULL && (*name = lvat_strdup("?")) == NULL)
        rc = LVAT_ENOMEM;
    if (rc != LVAT_OK) {
        lvat_free(*name);
        *name = NULL;
    }
    return rc;
}

int
lvat__vat_get(lvat_kernel *k, uint32_t id, lvat_kvat **out)
{
    lvat_kvat *v = lvat__vat_find(k, id);
    int rc;

    if (v != NULL) {
        *out = v;
        return LVAT_OK;
    }
    if ((v = lvat_calloc(1, sizeof *v)) == NULL)
        return LVAT_ENOMEM;
    v->id = id;
    rc = read_identity(k, id, &v->name, v->sub, sizeof v->sub);
    if (rc == LVAT_OK && (rc = table_insert(k, v)) != LVAT_OK)
        lvat_free(v->name);
    if (rc != LVAT_OK) {
        lvat_free(v);
        return rc;
    }
    v->sys.k = k;
    v->sys.err = &k->sys_err;
    v->sys.vat = v;
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

/* The process running out of memory is not the vat's fault (its own
 * memory limit is LVAT_EFAULT). */
static lvat_crank_failure
fault_kind(int rc)
{
    return rc == LVAT_ENOMEM ? LVAT_CRANK_KERNEL : LVAT_CRANK_FAULT;
}

static int
create_instance(lvat_kernel *k, lvat_kvat *v, const lvat_json *rec)
{
    const lvat_json *globals = lvat_json_get(rec, "globals");
    const lvat_json *seed;
    const char *gl[64];
    uint64_t t0;
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
    v->memory_limit = spec.memory_limit;
    spec.time_limit_ms =
        (uint32_t)json_size(rec, "timeLimitMs", k->opts.vat_time_limit_ms);
    seed = lvat_json_get(rec, "randomSeed");
    spec.has_random_seed = seed && seed->type == LVAT_JSON_INT;
    spec.random_seed = spec.has_random_seed ? (uint64_t)seed->i : 0;
    spec.sys = &v->sys;
    lvat_errbuf_clear(&err);
    t0 = k->timing ? lvat_clock_ns() : 0;
    rc = k->ops->create(k->ops_ud, &spec, &v->inst, &err);
    if (k->timing) /* building a heap is Lua work */
        k->stats.ns_vat += lvat_clock_ns() - t0;
    if (rc != LVAT_OK) {
        v->inst = NULL;
        lvat__crank_fail(k, fault_kind(rc), v->id, "%s",
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
    lvat_vref *imports = NULL;
    lvat_delivery d;
    uint64_t counts[4];
    int rc;

    memset(&d, 0, sizeof d);
    d.kind = LVAT_DELIVER_START;
    d.parameters.body = params ? params : "#{}";
    d.parameters.body_len = strlen(d.parameters.body);
    d.incarnation = incarnation;
    if ((rc = lvat__vat_counts(k, v->id, counts)) != LVAT_OK)
        return rc;
    d.next_export_object = counts[2];
    d.next_export_promise = counts[3];
    if (incarnation > 0 &&
        (rc = lvat__vat_imports(k, v->id, &imports, &d.nvrefs)) != LVAT_OK)
        return rc;
    d.vrefs = imports;
    rc = lvat__vat_deliver(k, v, &d);
    lvat_free(imports);
    return rc;
}

/*
 * Makes sure the vat has a heap: creates the instance and delivers START
 * (incarnation 0 at launch, the next one after that).  A vat that ran
 * before and now fails to start is suspended by the follow-up crank.
 */
int
lvat__vat_ensure(lvat_kernel *k, lvat_kvat *v)
{
    lvat_json *rec = NULL;
    lvat_vat_life l;
    uint64_t inc;
    int rc;

    if (v->inst != NULL)
        return LVAT_OK;
    if ((rc = lvat__life_get(k, v->id, &l)) != LVAT_OK ||
        (rc = read_record(k, v->id, &rec)) != LVAT_OK)
        return rc;
    inc = l.state == 'n' ? 0 : l.incarnation + 1;
    lvat__log(k, LVAT_LOG_DEBUG, "starting %s (v%u), incarnation %llu",
              v->name, v->id, (unsigned long long)inc);
    v->starting_rec = rec; /* for the start's own requires */
    rc = create_instance(k, v, rec);
    if (rc == LVAT_OK)
        rc = start_instance(k, v, rec, (uint32_t)inc);
    if (rc != LVAT_OK) /* a heap that never ran START must not stay */
        lvat__vat_unload(k, v);
    v->starting_rec = NULL;
    lvat_json_free(rec);
    if (rc == LVAT_OK)
        return lvat__vat_started(k, v->id, inc);
    if (l.state != 'n' && k->crank.failure != LVAT_CRANK_KERNEL) {
        /* Resuscitation failed: suspend rather than retry forever (a
         * kernel error restarts it later, like any other). */
        k->crank.failure = LVAT_CRANK_SUSPEND;
    }
    return rc;
}

static void
schedule_reap(lvat_kernel *k, lvat_kvat *v)
{
    if (v->reap_queued || v->since_reap < k->opts.reap_interval)
        return;
    if (k->nreap == k->capreap) {
        size_t cap = k->capreap ? k->capreap * 2 : 16;
        uint32_t *p = lvat_realloc(k->reap_due, cap * sizeof *p);
        if (p == NULL)
            return; /* a reap can wait for the next delivery */
        k->reap_due = p;
        k->capreap = cap;
    }
    k->reap_due[k->nreap++] = v->id;
    v->reap_queued = true;
}

int
lvat__vat_deliver(lvat_kernel *k, lvat_kvat *v, const lvat_delivery *d)
{
    lvat_delivery timed;
    lvat_errbuf err;
    uint64_t t0;
    int rc;

    lvat_errbuf_clear(&err);
    k->crank.vat = v;
    v->block_epoch = k->block_epoch;
    v->sys.active = true;
    timed = *d;
    timed.timed = k->timing;
    t0 = k->timing ? lvat_clock_ns() : 0;
    rc = k->ops->deliver(v->inst, &timed, &err);
    if (k->timing)
        k->stats.ns_vat += lvat_clock_ns() - t0;
    k->stats.deliveries++;
    v->sys.active = false;
    if (d->kind == LVAT_DELIVER_REAP) {
        v->since_reap = 0;
        v->reap_queued = false;
    } else {
        v->since_reap++;
        schedule_reap(k, v);
    }
    if (rc == LVAT_OK)
        return LVAT_OK;
    lvat__crank_fail(k, fault_kind(rc), v->id, "%s",
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
    lvat_kvat *v = lvat__vat_find(k, id);
    lvat_json *rec = NULL;
    const char *sub;
    int rc;

    if (v != NULL) {
        lvat_copy_cut(out, outlen, v->sub, strlen(v->sub));
        return LVAT_OK;
    }
    rc = read_record(k, id, &rec);
    out[0] = '\0';
    if (rc != LVAT_OK)
        return rc;
    sub = lvat_json_get_str(rec, "subcluster");
    if (sub != NULL)
        lvat_copy_cut(out, outlen, sub, strlen(sub));
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
