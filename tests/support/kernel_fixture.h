/*
 * Kernel test fixture: a kernel in a fresh temporary directory driven by
 * the fake vat (fake_vat.h), with dummy .lua sources for ClusterConfigs,
 * synchronous launch and message helpers that capture the callbacks, and
 * store snapshots (every key and value of the three databases, read
 * through the kernel's own view while no crank runs) with a diff that asks
 * the test which differences are allowed.
 *
 * Layout: <tmp>/db holds the store; <tmp>/<vat>/<vat>.lua the sources.
 */
#ifndef LVAT_KERNEL_FIXTURE_H
#define LVAT_KERNEL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_vat.h"
#include "luavat.h"

#define KF_MAX_SLOTS 8

typedef struct kf {
    char *tmp; /* owned temporary root */
    char *dir; /* <tmp>/db */
    fv_world *w;
    lvat_kernel *k;
    unsigned warnings; /* kernel log lines at WARN or worse */
    char last_warning[512];
} kf;

/* What a launch callback told. */
typedef struct kf_launch {
    int nevents;
    lvat_launch_event events[4];
    char started_subcluster[32], started_root[32];
    char subcluster[32], root[32], kp[32];
    int status;
    char errmsg[1024];
    char body[2048];
    char slots[KF_MAX_SLOTS][32];
    size_t nslots;
} kf_launch;

/* What a result callback told. */
typedef struct kf_result {
    int calls;
    int status;
    char body[2048];
    char slots[KF_MAX_SLOTS][32];
    size_t nslots;
} kf_result;

/* ---- Lifecycle ---- */

/* Makes the directory and the world and opens the kernel. */
void kf_setup(kf *f);
/* Closes the kernel, frees the world, removes the directory. */
void kf_teardown(kf *f);
/* Opens f->dir with the fake vat (NOSYNC); returns the open's code. */
int
kf_open_rc(kf *f, bool readonly, lvat_kernel **out, char *err, size_t errlen);
void kf_open(kf *f);
void kf_close(kf *f);
/* Closes and opens again: vats lose their instances. */
void kf_reopen(kf *f);

/* cmocka group setup/teardown wrappers (state is a kf). */
int kf_test_setup(void **state);
int kf_test_teardown(void **state);

/* ---- Launching ---- */

/* Writes <tmp>/<vat>/<vat>.lua (a dummy chunk unless `text` is given). */
void kf_source(kf *f, const char *vat, const char *text);
/*
 * A ClusterConfig for vats `names` ("alice,bob", in that order) with the
 * given bootstrap; writes a dummy source for each vat that has none yet.
 * Returns an owned string (free()).
 */
char *kf_config(kf *f, const char *bootstrap, const char *names);
/* The launch callback kf_launch_json uses (ud: a zeroed kf_launch). */
lvat_launch_cb kf_launch_cb(void);
/* Queues the launch of `json` (base dir <tmp>) and runs the kernel;
 * returns lvat_kernel_launch_json's code. */
int kf_launch_json(kf *f, const char *json, kf_launch *out);
/* Launches kf_config(bootstrap, names) and asserts STARTED then DONE. */
void
kf_launch_ok(kf *f, const char *bootstrap, const char *names, kf_launch *out);

/* ---- Messages ---- */

/* Queues target~.method(args) with a result callback into r (r may be
 * NULL for a one-way send); returns the queue call's code. */
int kf_send(kf *f,
            const char *target,
            const char *method,
            const char *args,
            kf_result *r);
/* Runs until idle, asserting success. */
void kf_run(kf *f);
/* Sends, runs, and asserts that the result arrived once. */
void kf_call(kf *f,
             const char *target,
             const char *method,
             const char *args,
             kf_result *r);
/* Asserts a rejection whose body contains `needle`. */
void kf_assert_rejected(const kf_result *r, const char *needle);

/* ---- Store ---- */

/* Kernel-db value of `key` as an owned string, or NULL when absent. */
char *kf_get(kf *f, const char *key);
/* Whether the block's overlay itself holds the key (not LMDB, not what
 * the kernel keeps in memory for the block until it is written). */
bool kf_in_block(kf *f, const char *key, size_t klen);
/* Writes the block to the store (no crank may be open). */
void kf_commit_block(kf *f);
/* Writes the block, then closes and opens again: what a restart reads. */
void kf_commit_and_reopen(kf *f);
/* Number of keys with `prefix` in database `db` (an lvat_dbid). */
size_t kf_count(kf *f, int db, const char *prefix);
/* Number of keys of the form kp<N> (promise records). */
size_t kf_count_promises(kf *f);
/* Root kref of vat v<N> (static buffer), asserting it exists. */
const char *kf_root(kf *f, uint32_t vat);
/* Root kref of a vat by name (through the fake vat's statistics). */
const char *kf_root_of(kf *f, const char *name);
/* The last kernel promise allocated, "kp<N>" (static buffer). */
const char *kf_last_kp(kf *f);
/* Field i (0-based, space separated) of a kernel-db record (static). */
const char *kf_field(kf *f, const char *key, int i);

typedef struct kf_entry {
    int db;
    char *key, *val;
    size_t klen, vlen;
} kf_entry;

typedef struct kf_snap {
    kf_entry *e;
    size_t n;
} kf_snap;

typedef enum kf_change { KF_ADDED, KF_REMOVED, KF_CHANGED } kf_change;

/* Decides whether one difference is expected (old/new NULL when absent). */
typedef bool (*kf_allow_fn)(void *ud,
                            kf_change ch,
                            int db,
                            const char *key,
                            size_t klen,
                            const char *old,
                            const char *nw);

void kf_snap_take(kf *f, kf_snap *s);
void kf_snap_free(kf_snap *s);
/* Calls `allow` for each difference from a to b, prints the ones it
 * refuses and returns how many it refused. */
size_t kf_diff(const kf_snap *a, const kf_snap *b, kf_allow_fn allow, void *ud);
/* True when the key (klen bytes) starts with the NUL-terminated prefix. */
bool kf_key_has_prefix(const char *key, size_t klen, const char *prefix);

#endif
