/*
 * The end-to-end fixture (see lua_kernel.h): real kernel, real Lua
 * runtime, real LMDB in a temporary directory.
 */
#include "lua_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "kernel_int.h"
#include "kv.h"
#include "lbind.h"
#include "lvat_test.h"
#include "store.h"

static void
capture_log(void *ud, lvat_log_level level, const char *line, size_t len)
{
    lk *t = ud;

    (void)level;
    lvat_buf_append(&t->log, line, len);
    lvat_buf_putc(&t->log, '\n');
    if (getenv("LUAVAT_TEST_LOG"))
        fprintf(stderr, "%.*s\n", (int)len, line);
    if (t->on_log)
        t->on_log(t, line);
}

static int
open_kernel_rc(lk *t)
{
    lvat_options o;

    lvat_options_init(&o);
    o.dir = t->dir;
    o.durability = LVAT_DURABILITY_NOSYNC;
    o.vat_ops = lvat_lua_vat_ops();
    o.vat_ops_ud = t->rt;
    o.log = capture_log;
    o.log_ud = t;
    o.log_level = LVAT_LOG_DEBUG;
    o.vat_memory_limit = t->vat_memory_limit;
    o.map_size = t->map_size;
    o.vat_time_limit_ms = t->vat_time_limit_ms;
    o.block_max_cranks = t->block_max_cranks;
    o.block_max_ms = t->block_max_ms;
    o.block_quiet_ms = t->block_quiet_ms;
    o.reap_interval = t->reap_interval;
    o.system_subclusters = t->nsys > 0 ? t->sys : NULL; /* none: remembered */
    o.nsystem_subclusters = t->nsys;
    o.prune = t->prune;
    t->open_err[0] = '\0';
    return lvat_kernel_open(&o, &t->k, t->open_err, sizeof t->open_err);
}

static void
open_kernel(lk *t)
{
    if (open_kernel_rc(t) != LVAT_OK)
        fail_msg("lvat_kernel_open: %s", t->open_err);
}

void
lk_open(lk *t)
{
    lk_open_spares(t, 0);
}

void
lk_open_spares(lk *t, unsigned spare_states)
{
    lvat_lua_options lo;
    lvat_errbuf eb;

    memset(t, 0, sizeof *t);
    t->dir = lvat_test_mkdtemp();
    t->vats_dir = lvat_test_path(lvat_test_srcdir(), "tests/e2e/vats");
    lvat_lua_options_init(&lo);
    lo.test_raw_syscalls = true;
    lo.spare_states = spare_states;
    lvat_errbuf_clear(&eb);
    if (lvat_lua_runtime_new(&lo, &t->rt, &eb) != LVAT_OK)
        fail_msg("lvat_lua_runtime_new: %s", eb.msg);
    t->vat_time_limit_ms = lvat_test_under_valgrind() ? 20000 : 2000;
    open_kernel(t);
}

void
lk_restart(lk *t)
{
    lvat_kernel_close(t->k);
    t->k = NULL;
    open_kernel(t);
}

int
lk_try_restart(lk *t)
{
    lvat_kernel_close(t->k);
    t->k = NULL;
    return open_kernel_rc(t);
}

void
lk_add_system(lk *t, const char *name, const char *config_json)
{
    lvat_system_subcluster *s;

    assert_true(t->nsys < sizeof t->sys / sizeof t->sys[0]);
    s = &t->sys[t->nsys++];
    s->name = strdup(name);
    s->config_json = strdup(config_json);
    s->base_dir = t->vats_dir;
}

void
lk_open_system(lk *t, const char *name, const char *config_json)
{
    lk_open(t);
    lk_add_system(t, name, config_json);
    lk_restart(t);
    assert_lvat_ok(lvat_kernel_run(t->k));
    assert_lvat_ok(lvat_kernel_system_root(t->k, name, t->root,
                                           sizeof t->root));
}

void
lk_clear_systems(lk *t)
{
    for (size_t i = 0; i < t->nsys; i++) {
        free((char *)t->sys[i].name);
        free((char *)t->sys[i].config_json);
    }
    t->nsys = 0;
}

void
lk_close(lk *t)
{
    lvat_kernel_close(t->k);
    for (size_t i = 0; i < t->nabandoned; i++)
        free(t->abandoned[i]);
    lk_clear_systems(t);
    free(t->vats_dir);
    lvat_lua_runtime_free(t->rt);
    lvat_test_rmdir(t->dir);
    free(t->launch_result);
    lvat_buf_free(&t->log);
    memset(t, 0, sizeof *t);
}

lk *
lk_start(const char *config_json)
{
    lk *t = calloc(1, sizeof *t);

    assert_non_null(t);
    lk_open(t);
    assert_lvat_ok(lk_launch(t, config_json));
    return t;
}

void
lk_stop(lk *t)
{
    lk_close(t);
    free(t);
}

int
lk_setup(void **state)
{
    *state = lk_start(*state);
    return 0;
}

int
lk_teardown(void **state)
{
    lk_stop(*state);
    return 0;
}

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    lk *t = ud;

    if (ev == LVAT_LAUNCH_STARTED) {
        snprintf(t->sub, sizeof t->sub, "%s", info->subcluster);
        snprintf(t->root, sizeof t->root, "%s", info->root);
        return;
    }
    t->launch_done = true;
    if (ev == LVAT_LAUNCH_DONE) {
        t->launch_status = LVAT_OK;
        t->launch_result = lvat_value_render(t->k, &info->result);
    } else {
        t->launch_status = info->status;
        snprintf(t->launch_err, sizeof t->launch_err, "%s",
                 info->errmsg ? info->errmsg : "");
    }
}

int
lk_launch(lk *t, const char *config_json)
{
    char *vats = lvat_test_path(lvat_test_srcdir(), "tests/e2e/vats");
    int rc;

    free(t->launch_result);
    t->launch_result = NULL;
    t->launch_done = false;
    t->launch_err[0] = t->sub[0] = t->root[0] = '\0';
    rc = lvat_kernel_launch_json(t->k, config_json, strlen(config_json), vats,
                                 on_launch, t);
    free(vats);
    if (rc != LVAT_OK) {
        snprintf(t->launch_err, sizeof t->launch_err, "%s",
                 lvat_kernel_errmsg(t->k));
        return t->launch_status = rc;
    }
    assert_lvat_ok(lvat_kernel_run(t->k));
    if (!t->launch_done)
        return t->launch_status = LVAT_EPENDING;
    return t->launch_status;
}

int
lk_reload(lk *t, const char *sub)
{
    int rc;

    free(t->launch_result);
    t->launch_result = NULL;
    t->launch_done = false;
    t->launch_err[0] = t->sub[0] = t->root[0] = '\0';
    rc = lvat_kernel_reload_subcluster(t->k, sub, on_launch, t);
    if (rc != LVAT_OK) {
        snprintf(t->launch_err, sizeof t->launch_err, "%s",
                 lvat_kernel_errmsg(t->k));
        return t->launch_status = rc;
    }
    assert_lvat_ok(lvat_kernel_run(t->k));
    if (!t->launch_done)
        return t->launch_status = LVAT_EPENDING;
    return t->launch_status;
}

struct lk_call_state {
    lk *t;
    bool done, abandoned;
    int status;
    char *text;
};

static void
on_result(void *ud, int status, const lvat_value *v)
{
    lk_call_state *c = ud;

    c->done = true;
    c->status = status;
    if (!c->abandoned)
        c->text = lvat_value_render(c->t->k, v);
}

char *
lk_call(lk *t, const char *kref, const char *method, const char *args_json,
        int *status)
{
    /* On the heap: a call still pending at return may be answered later
     * (its state then lives until lk_close). */
    lk_call_state *c = calloc(1, sizeof *c);
    char *text;
    int rc;

    assert_non_null(c);
    c->t = t;
    rc = lvat_kernel_queue_message(t->k, kref, method, args_json, on_result,
                                   c);
    if (rc != LVAT_OK)
        fail_msg("queue_message %s.%s: %s", kref, method,
                 lvat_kernel_errmsg(t->k));
    assert_lvat_ok(lvat_kernel_run(t->k));
    if (!c->done) {
        assert_true(t->nabandoned < LVAT_ARRAY_LEN(t->abandoned));
        c->abandoned = true;
        t->abandoned[t->nabandoned++] = c;
        if (status)
            *status = LVAT_EPENDING;
        return strdup("<pending>");
    }
    if (status)
        *status = c->status;
    text = c->text;
    free(c);
    return text;
}

/* Opens a read-only view of the kernel's store beside the writer. */
static void
ro_open(lk *t, lvat_store **s, lvat_kv **kv)
{
    lvat_store_config cfg;
    lvat_errbuf eb;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = t->dir;
    cfg.readonly = true;
    assert_lvat_ok(lvat_store_open(&cfg, s, &eb));
    assert_lvat_ok(lvat_kv_new(*s, kv, &eb));
}

/* Writes (value) or deletes (NULL) one key, in a block of its own, while
 * the kernel is closed. */
static void
write_closed(lk *t, lvat_dbid db, const char *key, const char *value)
{
    lvat_store_config cfg;
    lvat_store *s;
    lvat_kv *kv;
    lvat_errbuf eb;

    assert_null(t->k);
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = t->dir;
    assert_lvat_ok(lvat_store_open(&cfg, &s, &eb));
    assert_lvat_ok(lvat_kv_new(s, &kv, &eb));
    lvat_kv_crank_begin(kv);
    if (value != NULL)
        assert_lvat_ok(
            lvat_kv_put(kv, db, key, strlen(key), value, strlen(value), 0));
    else
        assert_lvat_ok(lvat_kv_del(kv, db, key, strlen(key)));
    lvat_kv_crank_commit(kv);
    assert_lvat_ok(lvat_kv_block_commit(kv, &eb));
    lvat_kv_free(kv);
    lvat_store_close(s);
}

void
lk_del_key(lk *t, lvat_dbid db, const char *key)
{
    write_closed(t, db, key, NULL);
}

void
lk_put_key(lk *t, lvat_dbid db, const char *key, const char *value)
{
    write_closed(t, db, key, value);
}

/* Calls fn for every key of `db` starting with `prefix`. */
static void
each_key(lk *t,
         lvat_dbid db,
         const char *prefix,
         void (*fn)(void *ud, const lvat_val *k, const lvat_val *v),
         void *ud)
{
    lvat_store *s;
    lvat_kv *kv;
    lvat_val key, val;
    char from[600];
    size_t flen = strlen(prefix);

    ro_open(t, &s, &kv);
    memcpy(from, prefix, flen);
    for (bool first = true;; first = false) {
        int rc = lvat_kv_next(kv, db, from, flen, first, prefix,
                              strlen(prefix), &key, &val);
        if (rc == LVAT_ENOTFOUND)
            break;
        assert_lvat_ok(rc);
        memcpy(from, key.p, key.len);
        flen = key.len;
        fn(ud, &key, &val);
    }
    lvat_kv_free(kv);
    lvat_store_close(s);
}

static void
count_one(void *ud, const lvat_val *k, const lvat_val *v)
{
    (void)k;
    (void)v;
    (*(size_t *)ud)++;
}

static size_t
count(lk *t, lvat_dbid db, const char *prefix)
{
    size_t n = 0;

    each_key(t, db, prefix, count_one, &n);
    return n;
}

static char *
dup_bytes(const char *p, size_t len)
{
    char *s = malloc(len + 1);

    assert_non_null(s);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void
dump_one(void *ud, const lvat_val *k, const lvat_val *v)
{
    lk_dump *d = ud;
    lk_entry *e;

    d->e = realloc(d->e, (d->n + 1) * sizeof *d->e);
    assert_non_null(d->e);
    e = &d->e[d->n++];
    e->key = dup_bytes(k->p, k->len);
    e->klen = k->len;
    e->val = dup_bytes(v->p, v->len);
    e->vlen = v->len;
}

void
lk_dump_db(lk *t, lvat_dbid db, lk_dump *out)
{
    memset(out, 0, sizeof *out);
    each_key(t, db, "", dump_one, out);
}

void
lk_dump_free(lk_dump *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].key);
        free(d->e[i].val);
    }
    free(d->e);
    memset(d, 0, sizeof *d);
}

const lk_entry *
lk_dump_find(const lk_dump *d, const char *key, size_t klen)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].klen == klen && memcmp(d->e[i].key, key, klen) == 0)
            return &d->e[i];
    return NULL;
}

char *
lk_get(lk *t, lvat_dbid db, const char *key)
{
    lvat_store *s;
    lvat_kv *kv;
    lvat_val val;
    char *out = NULL;
    int rc;

    ro_open(t, &s, &kv);
    rc = lvat_kv_get(kv, db, key, strlen(key), &val);
    if (rc == LVAT_OK)
        out = dup_bytes(val.p, val.len);
    else
        assert_int_equal(rc, LVAT_ENOTFOUND);
    lvat_kv_free(kv);
    lvat_store_close(s);
    return out;
}

void
lk_root(lk *t, const char *vat, char out[32])
{
    char key[64];
    char *v;

    snprintf(key, sizeof key, "%s.c.o+0", vat);
    v = lk_get(t, LVAT_DB_KERNEL, key);
    if (v == NULL)
        fail_msg("%s has no root in its c-list", vat);
    snprintf(out, 32, "%s", v);
    free(v);
}

size_t
lk_count(lk *t, const char *prefix)
{
    return count(t, LVAT_DB_KERNEL, prefix);
}

size_t
lk_count_vatstore(lk *t)
{
    return count(t, LVAT_DB_VATSTORE, "");
}

size_t
lk_count_sources(lk *t)
{
    return count(t, LVAT_DB_SOURCES, "");
}

void
lk_expect(lk *t, const char *method, const char *args_json, const char *want)
{
    int st;
    char *r = lk_call(t, t->root, method, args_json, &st);

    if (st != LVAT_OK || strcmp(r, want) != 0)
        fail_msg("%s%s: %s %s, want %s", method, args_json,
                 lvat_err_name(st), r, want);
    free(r);
}

void
lk_launch_seen_cb(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    lk_launch_seen *s = ud;

    if (ev == LVAT_LAUNCH_STARTED) {
        s->started++;
    } else if (ev == LVAT_LAUNCH_DONE) {
        s->done++;
    } else {
        s->failed++;
        snprintf(s->err, sizeof s->err, "%s", info->errmsg);
    }
}

void
lk_expect_at(lk *t, const char *kref, const char *method, const char *args,
             int want_status, const char *want)
{
    int st;
    char *r = lk_call(t, kref, method, args, &st);

    if (st != want_status || strstr(r, want) == NULL)
        fail_msg("%s.%s(%s): got status %d \"%s\", want %d with \"%s\"", kref,
                 method, args ? args : "", st, r, want_status, want);
    free(r);
}

bool
lk_log_has(lk *t, const char *needle)
{
    return t->log.data != NULL && strstr(t->log.data, needle) != NULL;
}

void
lk_run_pings(lk *t, long n)
{
    char args[32], want[32];
    int st;
    char *r;

    snprintf(args, sizeof args, "[%ld]", n);
    snprintf(want, sizeof want, "%ld", n * (n + 1) / 2);
    r = lk_call(t, t->root, "run", args, &st);
    if (st != LVAT_OK || strcmp(r, want) != 0)
        fail_msg("run(%ld): %s %s (want %s)", n, lvat_err_name(st), r, want);
    free(r);
}

long
lk_stat(lk *t, const char *field)
{
    char *json = NULL, key[64];
    const char *p;
    long n;

    snprintf(key, sizeof key, "\"%s\":", field);
    assert_lvat_ok(lvat_kernel_stats_json(t->k, &json));
    p = strstr(json, key);
    assert_non_null(p);
    n = atol(p + strlen(key));
    free(json);
    return n;
}

static void
on_answer(void *ud, int status, const lvat_value *v)
{
    lk_answer *a = ud;

    if (status != LVAT_OK)
        fail_msg("answer %s: %s", lvat_err_name(status),
                 lvat_value_render(a->t->k, v));
    a->done = true;
    a->work_left = lvat_kernel_pending(a->t->k) > 0;
    a->text = lvat_value_render(a->t->k, v);
}

void
lk_ask(lk *t, const char *method, const char *args_json, lk_answer *a)
{
    memset(a, 0, sizeof *a);
    a->t = t;
    assert_lvat_ok(lvat_kernel_queue_message(t->k, t->root, method,
                                             args_json, on_answer, a));
}

size_t
lk_garbage(lk *t, uint32_t id, const char *name, size_t *live)
{
    lvat_kvat *v = lvat__vat_find(t->k, id);
    lvat_lvat *lv;
    size_t before;

    assert_non_null(v);
    assert_string_equal(v->name, name);
    assert_non_null(v->inst);
    lv = v->inst;
    before = lv->mem_used;
    lua_gc(lv->L, LUA_GCCOLLECT);
    *live = lv->mem_used;
    return before > lv->mem_used ? before - lv->mem_used : 0;
}

void
lk_expect_no_garbage(lk *t, uint32_t id, const char *name)
{
    size_t live, garbage = lk_garbage(t, id, name, &live);

    if (garbage > 256)
        fail_msg("%zu bytes of garbage after start", garbage);
}
