/*
 * End-to-end test fixture: a real kernel with the real Lua runtime in a
 * temporary directory, vats from tests/e2e/vats, helpers to launch,
 * send, restart and count store keys, and captured kernel log lines.
 */
#ifndef LVAT_LUA_KERNEL_H
#define LVAT_LUA_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "luavat.h"
#include "lvat_lua.h"
#include "store.h"

typedef struct lk_call_state lk_call_state;

typedef struct lk lk;
/* Called with each log line after it is captured (may use the kernel). */
typedef void (*lk_log_hook)(lk *t, const char *line);

struct lk {
    char *dir;
    char *vats_dir; /* tests/e2e/vats */
    lvat_lua_runtime *rt;
    lvat_kernel *k;
    lvat_buf log; /* every log line, newline-terminated */
    lk_log_hook on_log;
    /* The last launch. */
    int launch_status;      /* LVAT_OK when DONE, else the FAILED status */
    bool launch_done;       /* DONE or FAILED seen */
    char sub[32], root[32];
    char *launch_result;    /* rendered bootstrap result (DONE) */
    char launch_err[1024];  /* FAILED message */
    size_t vat_memory_limit;
    size_t map_size;        /* initial LMDB map (0 = default); set it, then
                               lk_restart, to reopen with a small map */
    /* System subclusters for the next open (lk_restart); configs are JSON
     * with sourceSpecs relative to tests/e2e/vats. */
    lvat_system_subcluster sys[8];
    size_t nsys;
    bool prune;
    char open_err[1024];    /* why the last lk_try_restart failed */
    unsigned vat_time_limit_ms;
    /* Block policy for the next open (0 = the kernel's defaults). */
    uint32_t block_max_cranks, block_max_ms, block_quiet_ms;
    uint32_t reap_interval; /* for the next open (0: the kernel's) */
    lk_call_state *abandoned[64]; /* calls still pending when lk_call returned */
    size_t nabandoned;
};

/* Opens a kernel on a fresh temporary directory. */
void lk_open(lk *t);
/* The same with a runtime keeping spare vat states (lvat_lua.h). */
void lk_open_spares(lk *t, unsigned spare_states);
/* Closes and reopens the kernel on the same directory (a restart). */
void lk_restart(lk *t);
/* Like lk_restart, but returns the open's status (the kernel stays closed
 * on failure; t->open_err says why). */
int lk_try_restart(lk *t);
/* Adds a system subcluster for the next (re)open. */
void lk_add_system(lk *t, const char *name, const char *config_json);
/* Forgets every added system subcluster. */
void lk_clear_systems(lk *t);
/* Opens t with one system subcluster, run until idle, and its root in
 * t->root. */
void lk_open_system(lk *t, const char *name, const char *config_json);
/* Closes the kernel and deletes the directory. */
void lk_close(lk *t);
/* A fixture's setup and teardown: a new kernel (allocated) with the
 * cluster launched (bootstrap fulfilled), and its end. */
lk *lk_start(const char *config_json);
void lk_stop(lk *t);
/* The same as cmocka setup and teardown (the prestate is the cluster's
 * config JSON); LK_TEST makes such a test, whose state is the kernel. */
int lk_setup(void **state);
int lk_teardown(void **state);
#define LK_TEST(f, cluster)                                               \
    cmocka_unit_test_prestate_setup_teardown(f, lk_setup, lk_teardown,     \
                                             (void *)(cluster))

/*
 * Launches a ClusterConfig given as JSON text whose sourceSpecs are
 * relative to tests/e2e/vats, and runs until idle.  Returns LVAT_OK when
 * bootstrap was fulfilled; otherwise the launch status (the queue-time
 * error code, LVAT_EVAT, LVAT_EREJECTED, or LVAT_EPENDING).
 */
int lk_launch(lk *t, const char *config_json);

/* gcholder.lua (bootstrap: holds what gcmaker.lua makes, in a local or
 * in baggage) and gcmaker.lua. */
#define LK_GCHOLDER_CLUSTER                                                 \
    "{\"bootstrap\":\"gcholder\",\"vats\":{"                               \
    "\"gcholder\":{\"sourceSpec\":\"gcholder.lua\"},"                      \
    "\"gcmaker\":{\"sourceSpec\":\"gcmaker.lua\"}}}"

/* As lk_launch, for lvat_kernel_reload_subcluster(sub). */
int lk_reload(lk *t, const char *sub);

/*
 * Sends method(args_json) to kref, runs until idle, and returns the
 * rendered result (owned; free()).  *status gets LVAT_OK, LVAT_EREJECTED
 * or LVAT_EPENDING (then the text is "<pending>").
 */
char *lk_call(lk *t, const char *kref, const char *method,
              const char *args_json, int *status);
/* lk_call of method(args_json) on the root; fails the test unless it is
 * fulfilled with the rendered text `want`. */
void lk_expect(lk *t, const char *method, const char *args_json,
               const char *want);
/* What a launch callback heard: lk_launch_seen_cb's ud. */
typedef struct lk_launch_seen {
    int started, done, failed;
    char err[512]; /* the FAILED message */
} lk_launch_seen;
void lk_launch_seen_cb(void *ud, lvat_launch_event ev,
                       const lvat_launch_info *info);

/* lk_call of method(args) on kref; fails the test unless its status is
 * want_status and its rendered text contains `want`. */
void lk_expect_at(lk *t, const char *kref, const char *method,
                  const char *args, int want_status, const char *want);

/* pinger.lua and echo.lua, the pinger bootstrapped (its root t->root). */
#define LK_PINGER_ECHO                                                     \
    "{\"bootstrap\":\"pinger\",\"vats\":{"                                 \
    "\"pinger\":{\"sourceSpec\":\"pinger.lua\"},"                          \
    "\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"
/* Calls the pinger's run(n) (n awaited round trips) and checks its sum. */
void lk_run_pings(lk *t, long n);
/* A count from lvat_kernel_stats_json: "blocks" (committed so far),
 * "cranks", "timedCranks"... */
long lk_stat(lk *t, const char *field);

/* An answer a test takes from the host API, as the kernel runs. */
typedef struct lk_answer {
    lk *t;
    bool done;
    bool work_left; /* the kernel still had work when it came */
    char *text;     /* rendered (owned; free()) */
} lk_answer;
/* Queues method(args_json) to t->root without running the kernel; the
 * fulfilled answer goes to *a (a rejection fails the test). */
void lk_ask(lk *t, const char *method, const char *args_json, lk_answer *a);

/* Vat `id`, named `name` and loaded: the bytes a full collection frees
 * (its garbage), and *live those it keeps. */
size_t lk_garbage(lk *t, uint32_t id, const char *name, size_t *live);
/* ... holds no more than 256 bytes of garbage. */
void lk_expect_no_garbage(lk *t, uint32_t id, const char *name);
/* Number of keys in the kernel database starting with `prefix`. */
size_t lk_count(lk *t, const char *prefix);
/* Number of keys in the vatstore database. */
size_t lk_count_vatstore(lk *t);
/* Number of texts in the sources database. */
size_t lk_count_sources(lk *t);

/* True when `needle` appears in the captured log. */
bool lk_log_has(lk *t, const char *needle);

/*
 * The value of `key` in database `db` as an owned NUL-terminated string
 * (free()), or NULL when the key is absent.
 */
char *lk_get(lk *t, lvat_dbid db, const char *key);

/* Deletes one key while the kernel is closed (t->k NULL), to fake a
 * damaged database. */
void lk_del_key(lk *t, lvat_dbid db, const char *key);
/* Overwrites one key the same way. */
void lk_put_key(lk *t, lvat_dbid db, const char *key, const char *value);

/* The root kref of vat `vat` ("v2"): its c-list entry for o+0. */
void lk_root(lk *t, const char *vat, char out[32]);

/* Every key and value of one database, in key order.  Keys may hold NULs
 * (vatstore keys are "v1", NUL, key), so each entry keeps its lengths. */
typedef struct lk_entry {
    char *key, *val; /* owned, NUL-terminated copies */
    size_t klen, vlen;
} lk_entry;
typedef struct lk_dump {
    lk_entry *e;
    size_t n;
} lk_dump;
void lk_dump_db(lk *t, lvat_dbid db, lk_dump *out);
void lk_dump_free(lk_dump *d);
/* The entry with this key, or NULL. */
const lk_entry *lk_dump_find(const lk_dump *d, const char *key, size_t klen);

#endif
