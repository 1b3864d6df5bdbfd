/*
 * System subclusters at open (design §9): the list given with the options
 * (or, when none is given, the list the store remembers) is reconciled
 * with the store.  A known name keeps its subcluster, ids and root and is
 * not bootstrapped again; a name whose record is gone is launched afresh;
 * a name the store has but the list lacks is refused unless pruning was
 * asked for, and then deleted without starting its vats.  New names are
 * launched once the kernel runs.  Also the kernel facet's reset.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "json.h"

typedef struct sysent {
    char *name, *config, *dir;
    bool mapped; /* the store already has its subcluster */
} sysent;

typedef struct syslist {
    sysent *e;
    size_t n;
} syslist;

static void
list_free(syslist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        lvat_free(l->e[i].name);
        lvat_free(l->e[i].config);
        lvat_free(l->e[i].dir);
    }
    lvat_free(l->e);
    l->e = NULL;
    l->n = 0;
}

static int
list_add(syslist *l, const char *name, const char *config, size_t clen,
         const char *dir)
{
    sysent *e = lvat_realloc(l->e, (l->n + 1) * sizeof *e);

    if (e == NULL)
        return LVAT_ENOMEM;
    l->e = e;
    e = &l->e[l->n];
    memset(e, 0, sizeof *e);
    e->name = lvat_strdup(name);
    e->config = lvat_memdup(config, clen);
    e->dir = lvat_strdup(dir ? dir : ".");
    l->n++;
    return e->name && e->config && e->dir ? LVAT_OK : LVAT_ENOMEM;
}

static sysent *
list_find(syslist *l, const char *name, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->e[i].name) == len && memcmp(l->e[i].name, name, len) == 0)
            return &l->e[i];
    return NULL;
}

/* ---- The list: given, or remembered ---- */

static int
given_list(lvat_kernel *k, syslist *l, lvat_errbuf *err)
{
    for (size_t i = 0; i < k->opts.nsystem_subclusters; i++) {
        const lvat_system_subcluster *s = &k->opts.system_subclusters[i];
        lvat_kref r;
        if (s->name == NULL || s->name[0] == '\0' || s->config_json == NULL)
            return lvat_errbuf_set(err, LVAT_ECONFIG, "a system subcluster "
                                   "needs a name and a config");
        /* `luavat send NAME` reads a kref first: it would never be found. */
        if (lvat_kref_parse(s->name, strlen(s->name), &r) == LVAT_OK)
            return lvat_errbuf_set(err, LVAT_ECONFIG, "system subcluster "
                                   "name \"%s\" reads as a kref: choose "
                                   "another", s->name);
        if (list_find(l, s->name, strlen(s->name)) != NULL)
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "Duplicate system subcluster names in "
                                   "config: \"%s\" appears twice", s->name);
        if (list_add(l, s->name, s->config_json, strlen(s->config_json),
                     s->base_dir) != LVAT_OK)
            return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    return LVAT_OK;
}

/* Steps to the remembered config after the key in `from` (begun as
 * "systemConfig.", *flen 13, with `first`): its key into from, its value
 * into *val; LVAT_ENOTFOUND after the last.  from holds LVAT_KEY_MAX + 1
 * bytes. */
static int
next_config(lvat_kernel *k, char *from, size_t *flen, bool first,
            lvat_val *val)
{
    lvat_val key;
    int rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, *flen, first,
                          "systemConfig.", 13, &key, val);

    if (rc != LVAT_OK)
        return rc;
    memcpy(from, key.p, key.len);
    *flen = key.len;
    from[*flen] = '\0';
    return LVAT_OK;
}

static int
remembered_list(lvat_kernel *k, syslist *l)
{
    char from[LVAT_KEY_MAX + 1] = "systemConfig.";
    size_t flen = 13;

    for (bool first = true;; first = false) {
        lvat_json *rec = NULL;
        lvat_buf cfg = LVAT_BUF_INIT;
        lvat_val val;
        int rc = next_config(k, from, &flen, first, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        rc = lvat_json_parse(val.p, val.len, false, &rec, NULL, 0);
        if (rc == LVAT_OK)
            rc = lvat_json_write(&cfg, lvat_json_get(rec, "config"));
        if (rc == LVAT_OK)
            rc = list_add(l, from + 13, cfg.data, cfg.len,
                          lvat_json_get_str(rec, "configDir"));
        lvat_buf_free(&cfg);
        lvat_json_free(rec);
        if (rc != LVAT_OK)
            return rc == LVAT_ESYNTAX ? LVAT_ECORRUPT : rc;
    }
}

/* A restored subcluster runs the code and config it was launched with:
 * a new config given at open does not reach it (design §9 wants it
 * upgraded in place; upgrade is not built yet), so say so rather than
 * let the host believe its change took. */
static bool
same_json(const char *a, size_t alen, const char *b, size_t blen)
{
    lvat_buf x = LVAT_BUF_INIT, y = LVAT_BUF_INIT;
    lvat_json *ja = NULL, *jb = NULL;
    bool same;

    if (alen == blen && memcmp(a, b, alen) == 0)
        return true;
    /* Compared as written out compactly: a host's spacing is no change
     * (an open without the configs writes the remembered ones back
     * compactly). */
    same = lvat_json_parse(a, alen, true, &ja, NULL, 0) == LVAT_OK &&
           lvat_json_parse(b, blen, true, &jb, NULL, 0) == LVAT_OK &&
           lvat_json_write(&x, ja) == LVAT_OK &&
           lvat_json_write(&y, jb) == LVAT_OK && x.len == y.len &&
           memcmp(x.data, y.data, x.len) == 0;
    lvat_json_free(ja);
    lvat_json_free(jb);
    lvat_buf_free(&x);
    lvat_buf_free(&y);
    return same;
}

static void
warn_if_changed(lvat_kernel *k, const sysent *e, const lvat_key *key,
                const lvat_buf *now)
{
    lvat_val old;

    if (!e->mapped ||
        lvat_kv_get(k->kv, LVAT_DB_KERNEL, key->b, key->n, &old) != LVAT_OK ||
        same_json(old.p, old.len, now->data, now->len))
        return;
    lvat__log(k, LVAT_LOG_WARN, "system subcluster %s: its config (or "
              "folder) differs from the one it was launched with, and it "
              "keeps running as launched, with its state; to launch it "
              "afresh from the new config, open once without it and with "
              "--prune (its state is deleted)", e->name);
}

static int
remember(lvat_kernel *k, const sysent *e)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_key key;
    int rc;

    lvat_buf_puts(&b, "{\"config\":");
    lvat_buf_puts(&b, e->config);
    lvat_buf_puts(&b, ",\"configDir\":");
    lvat_json_put_string(&b, e->dir, strlen(e->dir));
    lvat_buf_putc(&b, '}');
    lvat_key_lit(&key, "systemConfig.");
    lvat_key_add_str(&key, e->name);
    if (!b.oom)
        warn_if_changed(k, e, &key, &b);
    rc = b.oom ? LVAT_ENOMEM
               : lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data,
                             b.len, 0);
    lvat_buf_free(&b);
    return rc;
}

/* ---- Reconciling the store ---- */

static int
check_restored(lvat_kernel *k, const char *name, const lvat_json *rec,
               lvat_errbuf *err)
{
    const char *boot = lvat_json_get_str(rec, "bootstrap");
    const char *vat = lvat_json_get_str(lvat_json_get(rec, "vats"), boot);
    const char *state = lvat_json_get_str(rec, "state");
    lvat_kref root;
    uint32_t id;

    if (boot == NULL || vat == NULL ||
        lvat_vatid_parse(vat, strlen(vat), &id) != LVAT_OK ||
        !lvat__vat_alive(k, id))
        return lvat_errbuf_set(err, LVAT_ECORRUPT,
                               "System subcluster \"%s\" has no bootstrap vat "
                               "- database may be corrupted",
                               name);
    /* A launch still in progress has no root yet and finishes by itself. */
    if (state && strcmp(state, "launching") == 0)
        return LVAT_OK;
    if (lvat__clist_lookup_v(k, id, lvat_vref_root(), &root) != LVAT_OK)
        return lvat_errbuf_set(err, LVAT_ECORRUPT,
                               "System subcluster \"%s\" has no root object "
                               "- database may be corrupted",
                               name);
    return LVAT_OK;
}

static int
forget_name(lvat_kernel *k, const char *prefix, const char *name)
{
    lvat_key key;

    lvat_key_lit(&key, prefix);
    lvat_key_add_str(&key, name);
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
}

/* One remembered name: keep it, relaunch it, prune it or refuse. */
static int
reconcile_one(lvat_kernel *k, syslist *l, const char *name, uint32_t sub,
              lvat_errbuf *err)
{
    sysent *e = list_find(l, name, strlen(name));
    lvat_json *rec = NULL;
    int rc = lvat__sub_read(k, sub, &rec);

    if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
        return rc;
    if (e == NULL && !k->opts.prune) {
        lvat_json_free(rec);
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "System subcluster \"%s\" is in %s but not in "
                               "the configuration; pass --prune to delete it "
                               "and all its state",
                               name, k->dir);
    }
    if (e == NULL) {
        lvat__log(k, LVAT_LOG_INFO, "pruning system subcluster %s (s%u)",
                  name, sub);
        if (rc == LVAT_OK)
            rc = lvat__sub_terminate(k, sub, "pruned");
        if (rc == LVAT_OK || rc == LVAT_ENOTFOUND)
            rc = forget_name(k, "systemSubcluster.", name);
        if (rc == LVAT_OK)
            rc = forget_name(k, "systemConfig.", name);
    } else if (rc == LVAT_ENOTFOUND) {
        /* Its record is gone: launch it afresh. */
        rc = forget_name(k, "systemSubcluster.", name);
    } else {
        rc = check_restored(k, name, rec, err);
        e->mapped = rc == LVAT_OK;
    }
    lvat_json_free(rec);
    return rc;
}

static int
reconcile(lvat_kernel *k, syslist *l, lvat_errbuf *err)
{
    char from[LVAT_KEY_MAX + 1] = "systemSubcluster.";
    size_t flen = 17;

    for (bool first = true;; first = false) {
        lvat_val key, val;
        uint32_t sub;
        int rc = lvat_kv_next(k->kv, LVAT_DB_KERNEL, from, flen, first,
                              "systemSubcluster.", 17, &key, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        memcpy(from, key.p, key.len);
        flen = key.len;
        from[flen] = '\0';
        if (lvat_subid_parse(val.p, val.len, &sub) != LVAT_OK)
            return lvat_errbuf_set(err, LVAT_ECORRUPT,
                                   "%s is not a subcluster id: database may "
                                   "be corrupted",
                                   from);
        if ((rc = reconcile_one(k, l, from + 17, sub, err)) != LVAT_OK)
            return rc;
    }
}

/* Queues the launch of a system subcluster the store does not have. */
static int
queue_system_launch(lvat_kernel *k, const sysent *e, lvat_errbuf *err)
{
    lvat_launch_plan *plan;
    lvat_req *r;
    int rc = lvat__plan_from_json(e->config, strlen(e->config), e->dir,
                                  e->name, k->sources, &plan, err);

    if (rc != LVAT_OK)
        return rc;
    if ((r = lvat_calloc(1, sizeof *r)) == NULL ||
        (r->system_name = lvat_strdup(e->name)) == NULL) {
        lvat_free(r);
        lvat__launch_plan_free(plan);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    r->type = LVAT_REQ_LAUNCH;
    r->plan = plan;
    return lvat__req_queue(k, r);
}

/* A remembered config whose name the given list lacks and the store maps
 * to no subcluster (its launch failed, or never ran) holds no state:
 * forget it, or an open with the remembered list would bring back a
 * subcluster the configuration dropped (renamed, say). */
static int
forget_unlisted(lvat_kernel *k, syslist *l)
{
    char from[LVAT_KEY_MAX + 1] = "systemConfig.";
    size_t flen = 13;

    for (bool first = true;; first = false) {
        lvat_val val;
        int rc = next_config(k, from, &flen, first, &val);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
        if (list_find(l, from + 13, flen - 13) != NULL)
            continue;
        lvat__log(k, LVAT_LOG_INFO, "forgetting system subcluster %s: it "
                  "is not in the configuration and never came up", from + 13);
        if ((rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, from, flen)) != LVAT_OK)
            return rc;
    }
}

static int
bring_up(lvat_kernel *k, syslist *l, lvat_errbuf *err)
{
    int rc = reconcile(k, l, err);

    /* Names still mapped and not listed were refused or pruned above. */
    if (rc == LVAT_OK && k->opts.system_subclusters != NULL)
        rc = forget_unlisted(k, l);

    for (size_t i = 0; i < l->n && rc == LVAT_OK; i++) {
        rc = remember(k, &l->e[i]);
        if (rc == LVAT_OK && !l->e[i].mapped)
            rc = queue_system_launch(k, &l->e[i], err);
    }
    return rc;
}

int
lvat__system_open(lvat_kernel *k, lvat_errbuf *err)
{
    syslist l = {NULL, 0};
    int rc = given_list(k, &l, err);

    if (rc == LVAT_OK && k->opts.system_subclusters == NULL)
        rc = remembered_list(k, &l);
    if (rc != LVAT_OK) {
        list_free(&l);
        return err->code ? rc : lvat_errbuf_set(err, rc, "%s",
                                                lvat_strerror(rc));
    }
    lvat_kv_crank_begin(k->kv);
    k->crank.active = true;
    rc = bring_up(k, &l, err);
    if (rc == LVAT_OK)
        rc = lvat__refs_collect(k);
    k->crank.active = false;
    list_free(&l);
    if (rc != LVAT_OK) {
        lvat_kv_crank_abort(k->kv);
        lvat__requests_free(k);
        if (err->msg[0] == '\0')
            lvat_errbuf_set(err, rc, "%s", lvat_kernel_errmsg(k));
        return rc;
    }
    lvat_kv_crank_commit(k->kv);
    return lvat_kv_block_commit(k->kv, err);
}

int
lvat_kernel_system_root(lvat_kernel *k, const char *name, char *out,
                        size_t len)
{
    int rc;

    if (name == NULL || out == NULL)
        return lvat__fail(k, LVAT_EINVAL, "lvat_kernel_system_root: no %s",
                          name == NULL ? "name" : "buffer");
    lvat__readonly_refresh(k);
    rc = lvat__system_root(k, name, out, len);
    if (rc == LVAT_ENOTFOUND)
        return lvat__fail(k, rc, "System subcluster \"%s\" not found", name);
    if (rc == LVAT_ELIMIT)
        return lvat__fail(k, LVAT_EINVAL, "the root of system subcluster "
                          "\"%s\" does not fit %zu bytes (32 always fit)",
                          name, len);
    return rc;
}
