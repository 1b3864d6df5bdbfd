/*
 * The kernel's private structures and the lvat__ functions its modules
 * share (libuv's uv__ convention).  Only the host/ sources include this header; the
 * CLI, bindings and tests use luavat.h and vat_iface.h.
 */
#ifndef LVAT_KERNEL_INT_H
#define LVAT_KERNEL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "capdata.h"
#include "config.h"
#include "kref.h"
#include "kv.h"
#include "luavat.h"
#include "store.h"
#include "store_keys.h"
#include "vat_iface.h"

/* ---- Records ---- */

#define LVAT_NO_DECIDER UINT32_MAX

typedef struct lvat_kobj {
    uint32_t owner; /* vat id, or LVAT_VATID_KERNEL */
    bool orphaned;  /* the owner is gone: messages splat */
    uint64_t reach, recog;
} lvat_kobj;

typedef struct lvat_kprom {
    char state;       /* 'u' unresolved, 'f' fulfilled, 'r' rejected */
    uint64_t refs;
    uint32_t decider; /* vat id, LVAT_VATID_KERNEL or LVAT_NO_DECIDER */
    uint64_t qhead, qtail; /* parked messages [qhead, qtail) */
    size_t nsubs;
    uint32_t *subs; /* subs_inline or owned */
    uint32_t subs_inline[4];
} lvat_kprom;

/* A vat's lifecycle record v<N>.s (vat_life.c). */
typedef struct lvat_vat_life {
    char state;           /* 'n' never started, 'r' running, 'x' suspended */
    uint64_t incarnation; /* of the current (or last) heap */
    uint64_t opened;      /* kernel open that built the heap; 0 = none */
    uint32_t faults;      /* consecutive faults */
} lvat_vat_life;

/* A message: target~.method(args) with an optional result promise. */
typedef struct lvat_msg {
    lvat_kref target;
    lvat_kref result; /* none for a one-way send */
    lvat_capdata methargs;
} lvat_msg;

typedef enum lvat_item_type {
    LVAT_ITEM_SEND = 's',
    LVAT_ITEM_NOTIFY = 'n',
    LVAT_ITEM_START = 'v',   /* start a vat of a launching subcluster */
    LVAT_ITEM_KNOTIFY = 'k'  /* a promise the kernel watches has settled */
} lvat_item_type;

typedef struct lvat_item {
    lvat_item_type type;
    lvat_msg msg;      /* SEND */
    uint32_t vat;      /* NOTIFY, START */
    lvat_kref kp;      /* NOTIFY, KNOTIFY */
} lvat_item;

/* ---- In-memory vats ---- */

typedef struct lvat_kvat lvat_kvat;

struct lvat_syscall {
    lvat_kernel *k;
    lvat_kvat *vat;
    bool active;      /* a delivery to this vat is running */
    lvat_errbuf err;  /* why the last syscall failed */
    lvat_buf scratch; /* values handed back to the vat */
};

struct lvat_kvat {
    uint32_t id;
    char *name;
    void *inst; /* the runtime's instance; NULL until started */
    lvat_syscall sys;
    uint32_t since_reap;  /* deliveries since the last reap */
    uint32_t block_epoch; /* last block that delivered to this vat */
    uint32_t faults;      /* consecutive faults, as last read */
    bool reap_queued;
    lvat_kvat *next;
};

/* ---- Host requests and outputs ---- */

typedef enum lvat_req_type {
    LVAT_REQ_SEND,
    LVAT_REQ_LAUNCH,
    LVAT_REQ_RESTART_VAT
} lvat_req_type;


typedef struct lvat_req {
    struct lvat_req *next;
    lvat_req_type type;
    uint64_t id;
    uint32_t applied_epoch; /* block that applied it; 0 = not yet */
    bool done;              /* final callback fired (or never will be) */
    /* SEND */
    lvat_kref target;
    char *method;
    lvat_buf body;
    lvat_kref *slots;
    size_t nslots;
    lvat_result_cb cb;
    /* RESTART_VAT */
    uint32_t vat;
    /* LAUNCH */
    lvat_launch_plan *plan;
    lvat_launch_cb lcb;
    void *ud;
} lvat_req;

typedef struct lvat_output {
    lvat_req *req;
    int kind;         /* 0 result, else an lvat_launch_event + 1 */
    int status;
    char *body;       /* owned copies */
    size_t body_len;
    char **slots;
    size_t nslots;
    char *subcluster, *root, *kp, *errmsg;
} lvat_output;

/* ---- The kernel ---- */

typedef enum lvat_crank_failure {
    LVAT_CRANK_OK,
    LVAT_CRANK_FAULT,   /* vat fault: reject the message, restart the vat */
    LVAT_CRANK_ILLEGAL, /* illegal syscall: terminate the vat */
    LVAT_CRANK_EXIT,    /* exit(failure): terminate the vat */
    LVAT_CRANK_STARTFAIL, /* a launching vat failed to start */
    LVAT_CRANK_SUSPEND    /* a vat failed while resuscitating */
} lvat_crank_failure;

typedef struct lvat_crank {
    bool active;
    lvat_kvat *vat;        /* the vat receiving the current delivery */
    lvat_crank_failure failure;
    uint32_t failed_vat;
    lvat_buf why;          /* message for the follow-up */
    bool exit_success;     /* vat called exit(false): terminate on commit */
    lvat_buf exit_info;    /* body of the exit info */
    lvat_kref *maybe_free; /* krefs whose counts fell to zero */
    size_t nfree, capfree;
    size_t outputs_mark;
    bool has_followup;     /* the next crank handles the failure above */
    bool from_queue;       /* the crank popped a run-queue item */
} lvat_crank;

struct lvat_kernel {
    lvat_options opts;
    char *dir;
    lvat_store *store;
    lvat_kv *kv;
    const lvat_vat_ops *ops;
    void *ops_ud;
    lvat_errbuf err;
    /* vats in memory, by id */
    lvat_kvat **vats;
    size_t nvatbuckets, nvats;
    lvat_crank crank;
    /* block */
    uint32_t block_epoch;
    uint32_t block_cranks;
    uint64_t block_start_us;
    size_t outputs_block_mark;
    /* host */
    lvat_req *requests; /* inbox and waiters, oldest first */
    lvat_req **requests_tail;
    uint64_t next_req_id;
    lvat_output *outputs;
    size_t noutputs, capoutputs;
    bool in_callback;
    bool gc_pending;        /* gc.* actions may exist */
    uint64_t open_no;       /* kernelOpens of this open */
    bool sweep_pending;     /* vats of earlier opens may need ending */
    lvat_key sweep_from;
    uint32_t *eager;        /* startOnOpen vats not started yet */
    size_t neager;
    uint32_t *reap_due;     /* vats due for a reap */
    size_t nreap, capreap;
    uint32_t cranks_since_sweep;
    struct lvat_pump *pump; /* loop.c */
    uint64_t total_cranks;
};

/* ---- kernel.c, kernel_api.c ---- */
/* Housekeeping of an open before any crank (stale host watches, ...). */
int lvat__kernel_startup(lvat_kernel *k, lvat_errbuf *err);
int lvat__fail(lvat_kernel *k, int code, const char *fmt, ...)
    LVAT_PRINTF(3, 4);
void lvat__log(lvat_kernel *k, lvat_log_level level, const char *fmt, ...)
    LVAT_PRINTF(3, 4);
uint64_t lvat__now_us(void);
/* Reads and increments a decimal counter key; returns the old value. */
int lvat__counter_next(lvat_kernel *k, const char *key, uint64_t *out);
/* JSON record helpers for vat./sub. keys */
int lvat__kv_get_u64(lvat_kernel *k, const char *key, uint64_t *out);

/* ---- kobject.c ---- */
int lvat__ko_new(lvat_kernel *k, uint32_t owner, lvat_kref *out);
int lvat__ko_get(lvat_kernel *k, lvat_kref ko, lvat_kobj *o);
int lvat__ko_put(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o);
int lvat__ko_delete(lvat_kernel *k, lvat_kref ko);
/* Adds to an object's counts (clamped at zero). */
int lvat__ko_adjust(lvat_kernel *k, lvat_kref ko, int dreach, int drecog);

/* ---- kpromise.c ---- */
int lvat__kp_new(lvat_kernel *k, uint32_t decider, lvat_kref *out);
int lvat__kp_get(lvat_kernel *k, lvat_kref kp, lvat_kprom *p);
int lvat__kp_put(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p);
void lvat__kp_release(lvat_kprom *p);
int lvat__kp_add_sub(lvat_kprom *p, uint32_t vat);
int lvat__kp_set_decider(lvat_kernel *k, lvat_kref kp, lvat_kprom *p,
                         uint32_t decider);
/* Settles kp (data slots are krefs; the function takes new references).
 * Notifies subscribers and requeues parked messages. */
int lvat__kp_resolve(lvat_kernel *k, lvat_kref kp, bool rejected,
                     const char *body, size_t blen, const lvat_kref *slots,
                     size_t nslots);
/* Rejects kp with a kernel error "[KERNEL:CODE] text". */
int lvat__kp_reject_msg(lvat_kernel *k, lvat_kref kp, const char *msg);
/* Reads a settled promise's value (body borrowed, slots owned). */
int lvat__kp_value(lvat_kernel *k, lvat_kref kp, lvat_capdata *out);
/* Parks msg on unresolved kp (the message's references move with it). */
int lvat__kp_park(lvat_kernel *k, lvat_kref kp, lvat_kprom *p,
                  const lvat_buf *encoded_item);
/* Where a send to promise `kp` should go: sets *final to the end of a
 * chain of promises fulfilled to promises. */
int lvat__kp_follow(lvat_kernel *k, lvat_kref kp, lvat_kref *final,
                    lvat_kprom *p);

/* ---- refs.c: reference counts ---- */
int lvat__ref_inc(lvat_kernel *k, lvat_kref r, bool strong);
int lvat__ref_dec(lvat_kernel *k, lvat_kref r, bool strong);
int lvat__refs_inc(lvat_kernel *k, const lvat_kref *r, size_t n);
int lvat__refs_dec(lvat_kernel *k, const lvat_kref *r, size_t n);
/* Frees what fell to zero during this crank (promises, objects, GC). */
int lvat__refs_collect(lvat_kernel *k);

/* ---- clist.c ---- */
/* kref -> vref for delivery into `vat`; allocates an import (and counts
 * it) when the vat has none. */
int lvat__clist_to_vat(lvat_kernel *k, lvat_kvat *v, lvat_kref r,
                       lvat_vref *out);
/* vref -> kref for a syscall of `vat`; a new export o+N/p+N creates the
 * kernel object/promise.  LVAT_EILLEGAL (message in v->sys.err) for a ref
 * the vat does not hold. */
int lvat__clist_from_vat(lvat_kernel *k, lvat_kvat *v, lvat_vref r,
                         lvat_kref *out);
/* Looks up without allocating: LVAT_ENOTFOUND when absent. */
int lvat__clist_lookup_k(lvat_kernel *k, uint32_t vat, lvat_kref r,
                         lvat_vref *out, bool *reachable);
int lvat__clist_lookup_v(lvat_kernel *k, uint32_t vat, lvat_vref r,
                         lvat_kref *out);
/* Removes the pair and drops the vat's count on r. */
int lvat__clist_remove(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* Adds the owner's export entry for a kernel object (roots). */
int lvat__clist_add_export(lvat_kernel *k, uint32_t vat, lvat_kref r,
                           lvat_vref v);
/* Marks an import unreachable (dropImports): "R" -> "_". */
int lvat__clist_drop(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* Marks an export entry "_" (no count changes: exports hold none). */
int lvat__clist_mark_unreachable(lvat_kernel *k, uint32_t vat, lvat_kref r);

/* ---- runq.c ---- */
int lvat__runq_push(lvat_kernel *k, const lvat_item *it);
int lvat__runq_push_encoded(lvat_kernel *k, const lvat_buf *b);
/* Pops the head item; body memory stays valid until the crank ends. */
int lvat__runq_pop(lvat_kernel *k, lvat_item *it);
int lvat__runq_length(lvat_kernel *k, uint64_t *n);
int lvat__item_encode(lvat_buf *b, const lvat_item *it);
int lvat__item_decode(const char *p, size_t len, lvat_item *it);
void lvat__item_free(lvat_item *it);
/* Queues a send, parking it at once when its target is an unresolved
 * promise (so messages to one promise keep their order).  Takes the
 * references the message holds. */
int lvat__send(lvat_kernel *k, const lvat_msg *m);

/* ---- vats.c ---- */
lvat_kvat *lvat__vat_find(lvat_kernel *k, uint32_t id);
int lvat__vat_get(lvat_kernel *k, uint32_t id, lvat_kvat **out);
/* Makes sure the vat has a live instance (resuscitating it from the store
 * with a START delivery when needed).  Failures set k->crank.failure. */
int lvat__vat_ensure(lvat_kernel *k, lvat_kvat *v);
void lvat__vat_unload(lvat_kernel *k, lvat_kvat *v);
bool lvat__vat_alive(lvat_kernel *k, uint32_t id);
int lvat__vat_deliver(lvat_kernel *k, lvat_kvat *v, const lvat_delivery *d);
/* Deletes everything of the vat and rejects the promises it decided. */
int lvat__vat_terminate(lvat_kernel *k, uint32_t id, const char *reason);
/* Ends the current incarnation: unloads the instance, rejects what it
 * decided and orphans its ephemeral exports (root and durables stay). */
int lvat__vat_end_incarnation(lvat_kernel *k, uint32_t id,
                              const char *reason);
/* Drops the vat's hold on its source texts (sources are shared by hash). */
int lvat__vat_release_sources(lvat_kernel *k, uint32_t id);
int lvat__source_unref(lvat_kernel *k, const char *hash);
void lvat__vat_forget(lvat_kernel *k, uint32_t id);
int lvat__vat_subcluster(lvat_kernel *k, uint32_t id, char *out,
                         size_t outlen);
/* Rejects every promise the vat decides with `reason` (decider index). */
int lvat__vat_reject_decided(lvat_kernel *k, uint32_t id, const char *reason);
int lvat__vat_flush_counters(lvat_kernel *k, lvat_kvat *v);
const char *lvat__vat_name(lvat_kernel *k, uint32_t id);
void lvat__vats_free(lvat_kernel *k);

/* ---- deliver.c ---- */
int lvat__deliver_item(lvat_kernel *k, const lvat_item *it);
int lvat__splat(lvat_kernel *k, const lvat_msg *m, const char *why);

/* ---- crank.c ---- */
int lvat__crank_run(lvat_kernel *k, bool *did_work);
int lvat__block_commit(lvat_kernel *k);
void lvat__block_abort(lvat_kernel *k);
/* Records a failure of the running crank (first one wins). */
void lvat__crank_fail(lvat_kernel *k, lvat_crank_failure f, uint32_t vat,
                      const char *fmt, ...) LVAT_PRINTF(4, 5);
int lvat__maybe_free(lvat_kernel *k, lvat_kref r);

/* ---- host.c: requests and outputs ---- */
int lvat__req_apply(lvat_kernel *k, lvat_req *r);
lvat_req *lvat__req_find(lvat_kernel *k, uint64_t id);
int lvat__output_result(lvat_kernel *k, lvat_req *r, bool rejected,
                        const lvat_capdata *v);
int lvat__output_launch(lvat_kernel *k, lvat_req *r, lvat_launch_event ev,
                        const char *sub, lvat_kref root, lvat_kref kp,
                        const lvat_capdata *v, int status, const char *msg);
void lvat__outputs_fire(lvat_kernel *k);
void lvat__outputs_truncate(lvat_kernel *k, size_t mark);
void lvat__requests_committed(lvat_kernel *k);
void lvat__requests_rewind(lvat_kernel *k);
void lvat__requests_free(lvat_kernel *k);
/* Appends a request to the inbox (gives it an id) and wakes the pump. */
int lvat__req_queue(lvat_kernel *k, lvat_req *r);
/* The kernel watches kp: a KNOTIFY item arrives when it settles. */
int lvat__watch(lvat_kernel *k, lvat_kref kp, const char *what);
int lvat__knotify(lvat_kernel *k, lvat_kref kp);
/* Keeps krefs shown to the host alive (pin.<kref>, one count each). */
int lvat__pin_for_host(lvat_kernel *k, const lvat_kref *slots, size_t n);

/* ---- vat_life.c ---- */
int lvat__life_get(lvat_kernel *k, uint32_t vat, lvat_vat_life *l);
int lvat__life_put(lvat_kernel *k, uint32_t vat, const lvat_vat_life *l);
/* Before a crank uses a vat: ends an incarnation from an earlier open
 * (once); *suspended tells the caller to reject instead of deliver. */
int lvat__vat_prepare(lvat_kernel *k, uint32_t vat, bool *suspended);
int lvat__vat_started(lvat_kernel *k, uint32_t vat, uint64_t incarnation);
int lvat__vat_heap_gone(lvat_kernel *k, uint32_t vat);
int lvat__vat_count_fault(lvat_kernel *k, uint32_t vat, bool *suspend);
int lvat__vat_faults_clear(lvat_kernel *k, lvat_kvat *v);
int lvat__vat_suspend(lvat_kernel *k, uint32_t vat, const char *why);
int lvat__vat_revive(lvat_kernel *k, uint32_t vat);
int lvat__sweep_step(lvat_kernel *k, bool *did);
int lvat__eager_step(lvat_kernel *k);
int lvat__reap_step(lvat_kernel *k);

/* ---- gc.c ---- */
/* Delivers the pending GC actions of one vat; *did is false when none. */
int lvat__gc_run(lvat_kernel *k, bool *did);

/* ---- loop.c ---- */
/* Tells an attached pump that there is work (no-op when not attached). */
void lvat__pump_wake(lvat_kernel *k);
void lvat__pump_free(lvat_kernel *k);

/* ---- subcluster.c ---- */
int lvat__launch_start_vat(lvat_kernel *k, uint32_t vat);
int lvat__launch_start_failed(lvat_kernel *k, uint32_t vat, const char *why);
int lvat__launch_apply(lvat_kernel *k, lvat_req *r);
int lvat__launch_settled(lvat_kernel *k, uint32_t sub, uint64_t req,
                         lvat_kref kp);
/* Removes a terminated vat from its subcluster's record. */
int lvat__sub_forget_vat(lvat_kernel *k, const char *sub, uint32_t vat);

#endif
