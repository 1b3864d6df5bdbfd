/*
 * luavat — an object-capability kernel hosting isolated Lua 5.4 vats.
 *
 * This header is the manual of the embedding API.  A kernel lives in one
 * directory (an LMDB store); it is single-threaded: call every function on
 * one thread.  Work is queued (launches, messages) and happens when the
 * host runs the kernel: lvat_kernel_run() until idle, lvat_kernel_step()
 * for a bounded slice (a game frame), or lvat_kernel_attach() to pump it
 * from a libuv loop.  Results reach the host through callbacks, and only
 * after the block of cranks that produced them is committed to disk, so a
 * host never acts on a result a crash could take back.
 *
 * Conventions: functions return LVAT_OK (0) or a negative LVAT_E* code
 * (lvat_err.h); on failure lvat_kernel_errmsg() says what happened, naming
 * the vat, file, line or kref involved.  A function that fails never calls
 * its callback.  Strings passed in are copied unless stated otherwise;
 * pointers handed to callbacks are valid only during the callback.
 */
#ifndef LUAVAT_H
#define LUAVAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lvat_err.h"

typedef struct lvat_kernel lvat_kernel;
struct lvat_vat_ops; /* a vat runtime: see vat_iface.h */
struct uv_loop_s;

/* ---- Options ---- */

typedef enum lvat_durability {
    /* fsync every block: a power loss loses nothing committed. */
    LVAT_DURABILITY_SYNC,
    /* fsync data, not the meta page: a power loss may lose the last block
     * but never damages the store. */
    LVAT_DURABILITY_NOMETASYNC,
    /* no fsync: a process crash loses nothing committed, but an OS crash
     * or power loss can lose recent blocks and, as LMDB warns, may damage
     * the store. */
    LVAT_DURABILITY_NOSYNC
} lvat_durability;

typedef enum lvat_log_level {
    LVAT_LOG_ERROR,
    LVAT_LOG_WARN,
    LVAT_LOG_INFO, /* includes vat print() output */
    LVAT_LOG_DEBUG
} lvat_log_level;

/* One log line (no newline); a callback like any other.  Default: stderr. */
typedef void (*lvat_log_fn)(void *ud, lvat_log_level level, const char *line,
                            size_t len);

/* A system subcluster (design §9), given when the kernel opens. */
typedef struct lvat_system_subcluster {
    const char *name;        /* unique; the key it keeps across restarts */
    const char *config_json; /* its ClusterConfig as JSON text */
    const char *base_dir;    /* where relative sourceSpecs are (NULL = .) */
} lvat_system_subcluster;

typedef struct lvat_options {
    const char *dir;            /* state directory; created when missing */
    lvat_durability durability; /* default SYNC */
    size_t map_size;            /* initial LMDB map; 0 = 1 GiB (it grows) */
    bool readonly;              /* inspect only: no lock, no writes */
    bool reset;                 /* wipe the store first: every vat, queue
                                   entry and baggage value is gone */
    /* System subclusters: the list is remembered; an open that gives none
     * (NULL) uses it, an empty one is a list.  A remembered name missing
     * from a given list fails the open (LVAT_ECONFIG) unless `prune`. */
    const lvat_system_subcluster *system_subclusters;
    size_t nsystem_subclusters;
    bool prune;
    /* The vat runtime (the Lua runtime is lvat_lua_runtime() from
     * bindings/lvat_lua.h); required unless readonly. */
    const struct lvat_vat_ops *vat_ops;
    void *vat_ops_ud;
    /* Block policy: a block commits when the run queue drains, after
     * block_max_cranks cranks or block_max_bytes of changes, and once it
     * is block_max_ms old while the host waits on it (for a result, a
     * launch's outcome, a host-service call, a reset), block_quiet_ms old
     * otherwise: the work a crash may make the kernel redo, and how stale
     * another process reading the store may be.
     * 0 = default: 1,000,000 cranks, 64 MiB, 200 ms, 5000 ms. */
    uint32_t block_max_cranks;
    uint32_t block_max_ms;
    uint32_t block_quiet_ms;
    size_t block_max_bytes;
    /* Launches read a vat's folder again only when something in it stats
     * differently (docs/design-notes.md, "Sources are kept").  On a
     * network file system whose attribute cache may hide another
     * machine's edit for a while, set this to read every file each time. */
    bool reread_sources;
    /* Default limits of every vat (a vat's creationOptions may lower
     * them): 0 = default 64 MiB and 2000 ms. */
    size_t vat_memory_limit;
    uint32_t vat_time_limit_ms;
    /* Deliveries to a vat between garbage-collection reaps; 0 = 1000. */
    uint32_t reap_interval;
    lvat_log_fn log;
    void *log_ud;
    lvat_log_level log_level; /* default LVAT_LOG_INFO */
} lvat_options;

/* Fills `o` with the defaults described above (dir "./.luavat"). */
void lvat_options_init(lvat_options *o);

/* ---- Lifecycle ---- */

/*
 * Opens the kernel in o->dir.  On failure *out is untouched and `err`
 * (errlen bytes, may be NULL) holds the reason: LVAT_ELOCKED when another
 * process has the directory, LVAT_ESCHEMA for a store of another version,
 * LVAT_ENOTFOUND for a read-only open of a directory without a store.
 */
int lvat_kernel_open(const lvat_options *o, lvat_kernel **out, char *err,
                     size_t errlen);

/* Stops every vat and closes, committing nothing further (NULL: no-op;
 * ignored from a callback).  Work not yet committed is lost, as in a crash. */
void lvat_kernel_close(lvat_kernel *k);

/* The message of the last failure on `k` (never NULL). */
const char *lvat_kernel_errmsg(const lvat_kernel *k);

/* ---- Values ---- */

/* Capdata as the host sees it: a smallcaps body with kref strings. */
typedef struct lvat_value {
    const char *body;
    size_t body_len;
    const char *const *slots; /* "ko7", "kp3" */
    size_t nslots;
} lvat_value;

/*
 * Renders `v` for a person: a string as its text, tables as JSON-like
 * text, presences as <ko7 Counter>, unresolved promises as <kp3 pending>.
 * Returns an owned NUL-terminated string (free with free()) or NULL on OOM.
 */
char *lvat_value_render(lvat_kernel *k, const lvat_value *v);

/* ---- Subclusters ---- */

typedef enum lvat_launch_event {
    LVAT_LAUNCH_STARTED, /* vats started, bootstrap queued: ids are known */
    LVAT_LAUNCH_DONE,    /* bootstrap fulfilled: `result` holds its value */
    LVAT_LAUNCH_FAILED   /* nothing of the launch remains; see `errmsg` */
} lvat_launch_event;

typedef struct lvat_launch_info {
    const char *subcluster; /* "s3" (STARTED, DONE) */
    const char *root;       /* bootstrap vat's root kref (STARTED, DONE) */
    const char *bootstrap_kp; /* the bootstrap result promise */
    lvat_value result;      /* DONE */
    int status;             /* FAILED: LVAT_ECONFIG, LVAT_EVAT, ... */
    const char *errmsg;     /* FAILED */
} lvat_launch_info;

typedef void (*lvat_launch_cb)(void *ud, lvat_launch_event ev,
                               const lvat_launch_info *info);

/*
 * Queues the launch of the ClusterConfig in the JSON file `path` (its
 * sourceSpecs are relative to the file's directory).  The config is read
 * and checked now: a bad file fails here with LVAT_ECONFIG.  `cb` (may be
 * NULL) hears STARTED and then DONE or FAILED.
 */
int lvat_kernel_launch_file(lvat_kernel *k, const char *path,
                            lvat_launch_cb cb, void *ud);

/* As launch_file, for JSON text; relative sourceSpecs use `base_dir`. */
int lvat_kernel_launch_json(lvat_kernel *k, const char *json, size_t len,
                            const char *base_dir, lvat_launch_cb cb,
                            void *ud);

/* ---- Messages ---- */

/*
 * Receives a message's result once it settles.  `status` is LVAT_OK for a
 * fulfilled result and LVAT_EREJECTED for a rejection (then `v` holds the
 * reason, usually an error record).
 */
typedef void (*lvat_result_cb)(void *ud, int status, const lvat_value *v);

/*
 * Queues target~.method(...args).  `target` is a kref ("ko7", "kp3");
 * `args_json` a JSON array of plain values where {"@kref": "ko7"} passes a
 * reference (NULL or "" = no arguments).  Fails with LVAT_EINVAL for a
 * malformed kref or argument list, LVAT_ENOTFOUND for a kref the kernel
 * does not know.  `cb` may be NULL (a one-way send).
 */
int lvat_kernel_queue_message(lvat_kernel *k, const char *target,
                              const char *method, const char *args_json,
                              lvat_result_cb cb, void *ud);

/*
 * Lets go of a kref a result (or a launch's bootstrap result) showed
 * the host.  The kernel keeps every such kref alive (the host may send
 * to it at any later time, from another process too) until the host
 * releases it: one hold per kref, however often it was shown.  Released,
 * it is collected once nothing else holds it (its exporter hears
 * dropExports); a send queued earlier that names a kref gone by the time
 * it is applied is rejected ("no longer exists"); one that finds it still
 * there (an object its exporter has yet to drop) is delivered.  Queued
 * like a message; releasing a kref already being released does nothing.
 * Fails with LVAT_EINVAL for a malformed kref, LVAT_ENOTFOUND for one the
 * host does not hold (a subcluster's root needs no release).  Showing the
 * host the kref again holds it again.
 */
int lvat_kernel_release(lvat_kernel *k, const char *kref);

/* ---- Running ---- */

/*
 * Runs at most `max_cranks` cranks (0 = no limit) for at most `max_us`
 * microseconds (0 = no limit), stopping early when there is nothing to do,
 * then commits the block and fires the callbacks it released, so what it
 * reports is durable.  *ran (may be NULL) gets the number of cranks.
 */
int lvat_kernel_step(lvat_kernel *k, uint32_t max_cranks, uint64_t max_us,
                     uint32_t *ran);

/* Runs until nothing is left to do (run queue and inbox empty). */
int lvat_kernel_run(lvat_kernel *k);

/* Number of items waiting: run queue plus host requests not yet applied. */
size_t lvat_kernel_pending(lvat_kernel *k);

/*
 * Pumps the kernel from `loop` until lvat_kernel_detach: an idle handle
 * runs slices of a few milliseconds while there is work, and queued work
 * wakes it.  A slice commits its block (and fires the callbacks it
 * released) when the block holds something for the host or nothing is
 * left to do; a quiet block carries on into the next slice until the
 * block policy ends it, and detaching (or closing) commits it.  Returns
 * LVAT_EINVAL when already attached.
 */
int lvat_kernel_attach(lvat_kernel *k, struct uv_loop_s *loop);
/* Stops pumping and closes the kernel's handles (they finish closing on
 * the loop's next turn). */
void lvat_kernel_detach(lvat_kernel *k);

/* Host services, vat administration and inspection: luavat_admin.h. */
#include "luavat_admin.h"

#endif
