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
#include "stats_int.h"
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

/* A message: target~.method(args) with an optional result promise. */
typedef struct lvat_msg {
    lvat_kref target;
    lvat_kref result; /* none for a one-way send */
    lvat_capdata methargs;
} lvat_msg;

/* ---- In-memory vats ---- */

typedef struct lvat_kvat lvat_kvat;
struct lvat_syscall {
    lvat_kernel *k;
    lvat_kvat *vat;
    bool active;      /* a delivery to this vat is running */
    lvat_errbuf *err; /* why the last syscall failed: k->sys_err */
    lvat_buf scratch; /* values handed back to the vat */
};

struct lvat_kvat {
    uint32_t id;
    char *name;
    char sub[24]; /* its subcluster's id, from the record (immutable) */
    const lvat_json *starting_rec; /* its record, while it starts */
    void *inst; /* the runtime's instance; NULL until started */
    /* Bytes: its heap's cap, given to the runtime with the instance, and
     * the cap of what one crank's syscalls hand the kernel to hold
     * (syscall_store.c); 0 = none.  Set when the instance is made. */
    size_t memory_limit;
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
    LVAT_REQ_RESTART_VAT,
    LVAT_REQ_RELOAD,
    LVAT_REQ_RELEASE, /* the host lets go of a kref (pin.<kref>) */
    LVAT_REQ_ANSWER /* a host service's answer */
} lvat_req_type;

typedef struct lvat_service lvat_service;

typedef struct lvat_req {
    struct lvat_req *next;
    struct lvat_req *hnext; /* index by id (requests.c) */
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
    /* RELOAD (and LAUNCH's lcb, ud) */
    uint32_t sub;
    /* ANSWER */
    lvat_call *call;
    /* LAUNCH */
    lvat_launch_plan *plan;
    char *system_name; /* a system subcluster's launch */
    lvat_launch_cb lcb;
    void *ud;
} lvat_req;

typedef struct lvat_output {
    lvat_req *req;
    lvat_service *svc; /* a host service call (kind -1) */
    lvat_call *call;
    int kind;         /* 0 result, -1 call, else an lvat_launch_event + 1 */
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
    LVAT_CRANK_KERNEL,  /* the same for a kernel error, not counted */
    LVAT_CRANK_ILLEGAL, /* illegal syscall: terminate the vat */
    LVAT_CRANK_EXIT,    /* exit(failure): terminate the vat */
    LVAT_CRANK_STARTFAIL, /* a launching vat failed to start */
    LVAT_CRANK_SUSPEND    /* a vat failed while resuscitating */
} lvat_crank_failure;

typedef struct lvat_crank {
    bool active, reset_mark; /* reset_mark: reset_pending at its start */
    lvat_kvat *vat;        /* the vat receiving the current delivery */
    lvat_crank_failure failure;
    uint32_t failed_vat;
    lvat_buf why;          /* message for the follow-up */
    bool exit_success;     /* vat called exit(false): terminate on commit */
    lvat_buf exit_info;    /* body of the exit info */
    lvat_kref *maybe_free; /* krefs whose counts fell to zero */
    size_t nfree, capfree;
    size_t outputs_mark;
    struct lvat_followup *followup; /* a failed crank's (crank.c) */
    bool from_queue;       /* the crank popped a run-queue item */
    size_t sent, resolved; /* bytes its vat's syscalls hand over (and
                            * its vatstore writes: lvat_kv_crank_bytes) */
} lvat_crank;

struct lvat_kernel {
    lvat_options opts;
    char *dir;
    lvat_store *store;
    lvat_kv *kv;
    const lvat_vat_ops *ops;
    void *ops_ud;
    lvat_errbuf err;
    lvat_errbuf sys_err; /* every vat's syscall errors: one runs at a time */
    /* vats in memory, by id */
    lvat_kvat **vats;
    size_t nvatbuckets, nvats;
    lvat_crank crank;
    /* krefs (index: promise) and vats (index 2) numbered from
     * fresh_first[i] on were made while the kv epoch was fresh_epoch (0:
     * none yet); see lvat__kref_fresh, lvat__vat_fresh */
    uint64_t fresh_epoch, fresh_first[3];
    /* block */
    uint32_t block_epoch;
    uint32_t block_cranks;
    uint64_t block_start_ns; /* lvat_clock_coarse_ns */
    size_t outputs_block_mark;
    /* host */
    lvat_req *requests, **requests_tail; /* inbox and waiters, oldest 1st */
    lvat_req *req_next;     /* first request not applied (requests.c) */
    lvat_req **req_hash;    /* requests by id */
    size_t req_hcap, req_count;
    uint64_t next_req_id;
    lvat_output *outputs;
    size_t noutputs, capoutputs;
    bool in_callback;
    bool gc_pending;        /* gc.* actions may exist */
    bool reset_pending;     /* a kernel facet asked for a reset */
    lvat_service *services; /* host services registered in this process */
    lvat_call **open_calls; /* calls handed to the host, not answered */
    size_t nopen_calls, capopen_calls;
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
    lvat_kstats stats, stats_base; /* this open; earlier ones (stats.c) */
    bool timing;                   /* this crank is one of the timed ones */
    struct lvat_srcnames *srcnames; /* recently named sources (srcname.c) */
    struct lvat_srccache *sources;  /* folders read for launches */
    struct lvat_kpcache *kpc;   /* the crank's promise records */
    struct lvat_runq *runq;     /* kept for the block: the run queue, */
    struct lvat_counts *counts; /* counters, new c-list pairs */
    struct lvat_clb *clb;
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
/* Numbers a new kpN or koN from its counter (counts.c keeps it). */
int lvat__kref_alloc(lvat_kernel *k, bool promise, lvat_kref *out);
/* Whether r was made since the store last changed, so that LMDB holds
 * nothing about it and lookups may skip LMDB (lvat_kv_get_pending). */
bool lvat__kref_fresh(const lvat_kernel *k, lvat_kref r);
/* Numbers a new vat from nextVatId. */
int lvat__vat_alloc(lvat_kernel *k, uint32_t *out);
/* As lvat__kref_fresh, for a vat id. */
bool lvat__vat_fresh(const lvat_kernel *k, uint32_t vat);
/* The kernel's record under key; only the block is asked when `fresh`
 * (it is about a kref or vat made since the store last changed, of which
 * LMDB holds nothing: asking it would only confirm). */
int lvat__kv_get_fresh(lvat_kernel *k, bool fresh, const lvat_key *key,
                       lvat_val *v);
int lvat__kv_get_u64(lvat_kernel *k, const char *key, uint64_t *out);

#include "host_int.h"
#include "objects_int.h"
#include "queue_int.h"
#include "vats_int.h"

#endif
