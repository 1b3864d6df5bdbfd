/*
 * The kernel test fixture (kernel_fixture.h).  It reaches into the kernel
 * only to read its store view (k->kv) between blocks, which shows exactly
 * what the last block committed: a second LMDB environment on the same
 * files in one process would break LMDB's locking, so snapshots never open
 * one while the kernel is open.
 */
#define _GNU_SOURCE /* asprintf */
#include "lvat_test.h"

#include "kernel_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel_int.h"

/* ---- Lifecycle ---- */

static void
on_log(void *ud, lvat_log_level level, const char *line, size_t len)
{
    kf *f = ud;

    if (level <= LVAT_LOG_WARN) {
        f->warnings++;
        snprintf(f->last_warning, sizeof f->last_warning, "%.*s", (int)len,
                 line);
    }
    if (getenv("KF_VERBOSE") != NULL)
        fprintf(stderr, "kernel: %.*s\n", (int)len, line);
}

int
kf_open_rc(kf *f, bool readonly, lvat_kernel **out, char *err, size_t errlen)
{
    lvat_options o;

    lvat_options_init(&o);
    o.dir = f->dir;
    o.durability = LVAT_DURABILITY_NOSYNC;
    o.map_size = (size_t)64 << 20;
    o.readonly = readonly;
    o.vat_ops = fv_ops();
    o.vat_ops_ud = f->w;
    o.log = on_log;
    o.log_ud = f;
    /* KF_BLOCK_CRANKS=1 commits after every crank: the same tests must
     * pass whatever the block size. */
    if (getenv("KF_BLOCK_CRANKS") != NULL)
        o.block_max_cranks =
            (uint32_t)strtoul(getenv("KF_BLOCK_CRANKS"), NULL, 10);
    return lvat_kernel_open(&o, out, err, errlen);
}

void
kf_open(kf *f)
{
    char err[512] = "";
    int rc = kf_open_rc(f, false, &f->k, err, sizeof err);

    if (rc != LVAT_OK)
        fail_msg("opening %s: %s (%s)", f->dir, err, lvat_err_name(rc));
}

void
kf_close(kf *f)
{
    lvat_kernel_close(f->k);
    f->k = NULL;
}

void
kf_reopen(kf *f)
{
    kf_close(f);
    kf_open(f);
}

void
kf_setup(kf *f)
{
    memset(f, 0, sizeof *f);
    f->tmp = lvat_test_mkdtemp();
    f->dir = lvat_test_path(f->tmp, "db");
    f->w = fv_world_new();
    kf_open(f);
}

void
kf_teardown(kf *f)
{
    kf_close(f);
    fv_world_free(f->w);
    free(f->dir);
    lvat_test_rmdir(f->tmp);
    memset(f, 0, sizeof *f);
}

int
kf_test_setup(void **state)
{
    kf *f = calloc(1, sizeof *f);

    assert_non_null(f);
    kf_setup(f);
    *state = f;
    return 0;
}

int
kf_test_teardown(void **state)
{
    kf *f = *state;

    kf_teardown(f);
    free(f);
    return 0;
}

/* ---- Launching ---- */

void
kf_source(kf *f, const char *vat, const char *text)
{
    char name[256], dflt[256];

    snprintf(name, sizeof name, "%s/%s.lua", vat, vat);
    snprintf(dflt, sizeof dflt, "-- fake vat %s\nreturn {}\n", vat);
    lvat_test_write_file(f->tmp, name, text ? text : dflt);
}

char *
kf_config(kf *f, const char *bootstrap, const char *names)
{
    lvat_buf b = LVAT_BUF_INIT;
    char *list = strdup(names), *save = NULL, *out;
    int n = 0;

    assert_non_null(list);
    lvat_buf_printf(&b, "{\"bootstrap\":\"%s\",\"vats\":{", bootstrap);
    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        char rel[256], *path;
        struct stat st;
        snprintf(rel, sizeof rel, "%s/%s.lua", t, t);
        path = lvat_test_path(f->tmp, rel);
        if (stat(path, &st) != 0)
            kf_source(f, t, NULL);
        free(path);
        lvat_buf_printf(&b, "%s\"%s\":{\"sourceSpec\":\"%s\"}", n++ ? "," : "",
                        t, rel);
    }
    lvat_buf_puts(&b, "}}");
    free(list);
    assert_false(b.oom);
    out = strdup(b.data);
    lvat_buf_free(&b);
    return out;
}

static void
copy_value(const lvat_value *v,
           char *body,
           size_t cap,
           char slots[][32],
           size_t *nslots)
{
    snprintf(body, cap, "%.*s", (int)v->body_len, v->body);
    *nslots = v->nslots < KF_MAX_SLOTS ? v->nslots : KF_MAX_SLOTS;
    for (size_t i = 0; i < *nslots; i++)
        snprintf(slots[i], 32, "%s", v->slots[i]);
}

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    kf_launch *l = ud;

    assert_true(l->nevents < 4);
    l->events[l->nevents++] = ev;
    if (info->subcluster)
        snprintf(l->subcluster, sizeof l->subcluster, "%s", info->subcluster);
    if (info->root)
        snprintf(l->root, sizeof l->root, "%s", info->root);
    if (info->bootstrap_kp)
        snprintf(l->kp, sizeof l->kp, "%s", info->bootstrap_kp);
    l->status = info->status;
    if (info->errmsg)
        snprintf(l->errmsg, sizeof l->errmsg, "%s", info->errmsg);
    if (ev == LVAT_LAUNCH_STARTED) {
        snprintf(l->started_subcluster, sizeof l->started_subcluster, "%s",
                 info->subcluster ? info->subcluster : "");
        snprintf(l->started_root, sizeof l->started_root, "%s",
                 info->root ? info->root : "");
    } else {
        copy_value(&info->result, l->body, sizeof l->body, l->slots,
                   &l->nslots);
    }
}

lvat_launch_cb
kf_launch_cb(void)
{
    return on_launch;
}

int
kf_launch_json(kf *f, const char *json, kf_launch *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    rc = lvat_kernel_launch_json(f->k, json, strlen(json), f->tmp, on_launch,
                                 out);
    if (rc == LVAT_OK)
        kf_run(f);
    return rc;
}

void
kf_launch_ok(kf *f, const char *bootstrap, const char *names, kf_launch *out)
{
    char *cfg = kf_config(f, bootstrap, names);

    assert_lvat_ok(kf_launch_json(f, cfg, out));
    free(cfg);
    if (out->nevents != 2 || out->events[1] != LVAT_LAUNCH_DONE)
        fail_msg("launch of %s: %d events, last status %s: %s", names,
                 out->nevents, lvat_err_name(out->status), out->errmsg);
    assert_int_equal(out->events[0], LVAT_LAUNCH_STARTED);
}

/* ---- Messages ---- */

static void
on_result(void *ud, int status, const lvat_value *v)
{
    kf_result *r = ud;

    r->calls++;
    r->status = status;
    copy_value(v, r->body, sizeof r->body, r->slots, &r->nslots);
}

int
kf_send(kf *f,
        const char *target,
        const char *method,
        const char *args,
        kf_result *r)
{
    if (r != NULL)
        memset(r, 0, sizeof *r);
    return lvat_kernel_queue_message(f->k, target, method, args,
                                     r ? on_result : NULL, r);
}

void
kf_run(kf *f)
{
    int rc = lvat_kernel_run(f->k);

    if (rc != LVAT_OK)
        fail_msg("lvat_kernel_run: %s: %s", lvat_err_name(rc),
                 lvat_kernel_errmsg(f->k));
}

void
kf_call(kf *f,
        const char *target,
        const char *method,
        const char *args,
        kf_result *r)
{
    int rc = kf_send(f, target, method, args, r);

    if (rc != LVAT_OK)
        fail_msg("queue %s.%s: %s", target, method, lvat_kernel_errmsg(f->k));
    kf_run(f);
    if (r->calls != 1)
        fail_msg("%s.%s: %d result callbacks", target, method, r->calls);
}

void
kf_assert_rejected(const kf_result *r, const char *needle)
{
    assert_int_equal(r->calls, 1);
    if (r->status != LVAT_EREJECTED || strstr(r->body, needle) == NULL)
        fail_msg("expected a rejection with \"%s\", got %s %s", needle,
                 lvat_err_name(r->status), r->body);
}

/* ---- Store ---- */

char *
kf_get(kf *f, const char *key)
{
    lvat_val v;
    char *out;

    /* Mid-crank, promise records may still be in the crank's cache. */
    assert_int_equal(lvat__block_flush(f->k), LVAT_OK);
    if (lvat_kv_get(f->k->kv, LVAT_DB_KERNEL, key, strlen(key), &v) != LVAT_OK)
        return NULL;
    out = malloc(v.len + 1);
    assert_non_null(out);
    memcpy(out, v.p, v.len);
    out[v.len] = '\0';
    return out;
}

bool
kf_in_block(kf *f, const char *key, size_t klen)
{
    lvat_val v;

    return lvat_kv_get_pending(f->k->kv, LVAT_DB_KERNEL, key, klen, &v) ==
           LVAT_OK;
}

void
kf_commit_block(kf *f)
{
    lvat_errbuf err;

    assert_lvat_ok(lvat_kv_block_commit(f->k->kv, &err));
}

void
kf_commit_and_reopen(kf *f)
{
    kf_commit_block(f);
    kf_reopen(f);
}

/* Visits every key of `db` starting with `prefix`. */
typedef void (*visit_fn)(void *ud,
                         int db,
                         const lvat_val *k,
                         const lvat_val *v);

static void
each_key(kf *f, int db, const char *prefix, size_t plen, visit_fn fn, void *ud)
{
    lvat_buf from = LVAT_BUF_INIT;

    assert_int_equal(lvat__block_flush(f->k), LVAT_OK);
    for (bool first = true;; first = false) {
        lvat_val k, v;
        int rc =
            lvat_kv_next(f->k->kv, (lvat_dbid)db, first ? prefix : from.data,
                         first ? plen : from.len, first, prefix, plen, &k, &v);
        if (rc == LVAT_ENOTFOUND)
            break;
        assert_lvat_ok(rc);
        fn(ud, db, &k, &v);
        lvat_buf_reset(&from);
        lvat_buf_append(&from, k.p, k.len);
        assert_false(from.oom);
    }
    lvat_buf_free(&from);
}

static void
count_one(void *ud, int db, const lvat_val *k, const lvat_val *v)
{
    LVAT_UNUSED(db);
    LVAT_UNUSED(k);
    LVAT_UNUSED(v);
    (*(size_t *)ud)++;
}

size_t
kf_count(kf *f, int db, const char *prefix)
{
    size_t n = 0;

    each_key(f, db, prefix, strlen(prefix), count_one, &n);
    return n;
}

static void
count_promise(void *ud, int db, const lvat_val *k, const lvat_val *v)
{
    LVAT_UNUSED(db);
    LVAT_UNUSED(v);
    if (memchr(k->p, '.', k->len) == NULL)
        (*(size_t *)ud)++;
}

size_t
kf_count_promises(kf *f)
{
    size_t n = 0;

    each_key(f, LVAT_DB_KERNEL, "kp", 2, count_promise, &n);
    return n;
}

const char *
kf_root(kf *f, uint32_t vat)
{
    static char out[32];
    char key[64], *v;

    snprintf(key, sizeof key, "v%u.c.o+0", vat);
    v = kf_get(f, key);
    if (v == NULL)
        fail_msg("v%u has no root", vat);
    snprintf(out, sizeof out, "%s", v);
    free(v);
    return out;
}

const char *
kf_root_of(kf *f, const char *name)
{
    uint32_t id = fv_stats_of(f->w, name)->id;

    if (id == 0)
        fail_msg("vat %s was never created", name);
    return kf_root(f, id);
}

const char *
kf_last_kp(kf *f)
{
    static char out[32];
    char *v = kf_get(f, "nextPromiseId");

    assert_non_null(v);
    snprintf(out, sizeof out, "kp%llu", strtoull(v, NULL, 10) - 1);
    free(v);
    return out;
}

const char *
kf_field(kf *f, const char *key, int i)
{
    static char out[256];
    char *v = kf_get(f, key), *p, *save = NULL;

    out[0] = '\0';
    if (v == NULL)
        return NULL;
    p = strtok_r(v, " ", &save);
    for (int n = 0; p && n < i; n++)
        p = strtok_r(NULL, " ", &save);
    if (p)
        snprintf(out, sizeof out, "%s", p);
    free(v);
    return p ? out : NULL;
}

/* ---- Snapshots ---- */

static void
snap_one(void *ud, int db, const lvat_val *k, const lvat_val *v)
{
    kf_snap *s = ud;
    kf_entry *e;

    s->e = realloc(s->e, (s->n + 1) * sizeof *s->e);
    assert_non_null(s->e);
    e = &s->e[s->n++];
    e->db = db;
    e->klen = k->len;
    e->vlen = v->len;
    e->key = malloc(k->len + 1);
    e->val = malloc(v->len + 1);
    assert_true(e->key && e->val);
    memcpy(e->key, k->p, k->len);
    e->key[k->len] = '\0';
    memcpy(e->val, v->p, v->len);
    e->val[v->len] = '\0';
}

void
kf_snap_take(kf *f, kf_snap *s)
{
    memset(s, 0, sizeof *s);
    assert_false(lvat_kv_in_crank(f->k->kv));
    for (int db = 0; db < LVAT_DB_COUNT; db++)
        each_key(f, db, "", 0, snap_one, s);
}

void
kf_snap_free(kf_snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].key);
        free(s->e[i].val);
    }
    free(s->e);
    memset(s, 0, sizeof *s);
}

static int
entry_cmp(const kf_entry *a, const kf_entry *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c;

    if (a->db != b->db)
        return a->db < b->db ? -1 : 1;
    c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static size_t
judge(kf_allow_fn allow,
      void *ud,
      kf_change ch,
      const kf_entry *a,
      const kf_entry *b)
{
    const kf_entry *e = a ? a : b;
    static const char *const what[] = {"added", "removed", "changed"};

    /* Time accounting changes with every block, whatever it did. */
    if (e->db == LVAT_DB_KERNEL && e->klen == 5 && memcmp(e->key, "stats", 5) == 0)
        return 0;
    if (allow(ud, ch, e->db, e->key, e->klen, a ? a->val : NULL,
              b ? b->val : NULL))
        return 0;
    fprintf(stderr, "  unexpected: db %d key %s %s: %s -> %s\n", e->db, e->key,
            what[ch], a ? a->val : "(none)", b ? b->val : "(none)");
    return 1;
}

size_t
kf_diff(const kf_snap *a, const kf_snap *b, kf_allow_fn allow, void *ud)
{
    size_t i = 0, j = 0, bad = 0;

    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : entry_cmp(&a->e[i], &b->e[j]);
        if (c < 0) {
            bad += judge(allow, ud, KF_REMOVED, &a->e[i++], NULL);
        } else if (c > 0) {
            bad += judge(allow, ud, KF_ADDED, NULL, &b->e[j++]);
        } else {
            if (a->e[i].vlen != b->e[j].vlen ||
                memcmp(a->e[i].val, b->e[j].val, a->e[i].vlen) != 0)
                bad += judge(allow, ud, KF_CHANGED, &a->e[i], &b->e[j]);
            i++;
            j++;
        }
    }
    return bad;
}

bool
kf_key_has_prefix(const char *key, size_t klen, const char *prefix)
{
    size_t n = strlen(prefix);

    return klen >= n && memcmp(key, prefix, n) == 0;
}
