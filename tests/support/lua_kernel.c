/*
 * The end-to-end fixture (see lua_kernel.h): real kernel, real Lua
 * runtime, real LMDB in a temporary directory.
 */
#include "lua_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
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
}

static void
open_kernel(lk *t)
{
    lvat_options o;
    char err[1024];
    int rc;

    lvat_options_init(&o);
    o.dir = t->dir;
    o.durability = LVAT_DURABILITY_NOSYNC;
    o.vat_ops = lvat_lua_vat_ops();
    o.vat_ops_ud = t->rt;
    o.log = capture_log;
    o.log_ud = t;
    o.log_level = LVAT_LOG_DEBUG;
    o.vat_memory_limit = t->vat_memory_limit;
    o.vat_time_limit_ms = t->vat_time_limit_ms;
    rc = lvat_kernel_open(&o, &t->k, err, sizeof err);
    if (rc != LVAT_OK)
        fail_msg("lvat_kernel_open: %s", err);
}

void
lk_open(lk *t)
{
    lvat_lua_options lo;
    lvat_errbuf eb;

    memset(t, 0, sizeof *t);
    t->dir = lvat_test_mkdtemp();
    lvat_lua_options_init(&lo);
    lo.test_raw_syscalls = true;
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

void
lk_close(lk *t)
{
    lvat_kernel_close(t->k);
    lvat_lua_runtime_free(t->rt);
    lvat_test_rmdir(t->dir);
    free(t->launch_result);
    lvat_buf_free(&t->log);
    memset(t, 0, sizeof *t);
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

typedef struct call_state {
    lk *t;
    bool done;
    int status;
    char *text;
} call_state;

static void
on_result(void *ud, int status, const lvat_value *v)
{
    call_state *c = ud;

    c->done = true;
    c->status = status;
    c->text = lvat_value_render(c->t->k, v);
}

char *
lk_call(lk *t, const char *kref, const char *method, const char *args_json,
        int *status)
{
    call_state c = {t, false, 0, NULL};
    int rc = lvat_kernel_queue_message(t->k, kref, method, args_json,
                                       on_result, &c);

    if (rc != LVAT_OK)
        fail_msg("queue_message %s.%s: %s", kref, method,
                 lvat_kernel_errmsg(t->k));
    assert_lvat_ok(lvat_kernel_run(t->k));
    if (!c.done) {
        if (status)
            *status = LVAT_EPENDING;
        return strdup("<pending>");
    }
    if (status)
        *status = c.status;
    return c.text;
}

static size_t
count(lk *t, lvat_dbid db, const char *prefix)
{
    lvat_store_config cfg;
    lvat_store *s;
    lvat_kv *kv;
    lvat_errbuf eb;
    lvat_val key, val;
    char from[600];
    size_t n = 0, flen = strlen(prefix);

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = t->dir;
    cfg.readonly = true;
    assert_lvat_ok(lvat_store_open(&cfg, &s, &eb));
    assert_lvat_ok(lvat_kv_new(s, &kv, &eb));
    memcpy(from, prefix, flen);
    for (bool first = true;; first = false) {
        int rc = lvat_kv_next(kv, db, from, flen, first, prefix,
                              strlen(prefix), &key, &val);
        if (rc == LVAT_ENOTFOUND)
            break;
        assert_lvat_ok(rc);
        memcpy(from, key.p, key.len);
        flen = key.len;
        n++;
    }
    lvat_kv_free(kv);
    lvat_store_close(s);
    return n;
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

bool
lk_log_has(lk *t, const char *needle)
{
    return t->log.data != NULL && strstr(t->log.data, needle) != NULL;
}
