/*
 * The endpoint interface: everything a vat runtime and the kernel say to
 * each other.  The kernel drives a vat through lvat_vat_ops (deliveries);
 * the vat answers through the lvat_syscall_* functions, which are
 * synchronous, validated against the vat's c-list, and return real errors.
 *
 * The Lua runtime in bindings/ is one implementation; tests use a fake vat
 * written in C.  Nothing here names Lua.  Every pointer in a delivery is
 * borrowed for the duration of the call; every pointer a syscall returns is
 * borrowed until the vat's next syscall or the end of the delivery.
 */
#ifndef LVAT_VAT_IFACE_H
#define LVAT_VAT_IFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kref.h"
#include "kv.h"
#include "lvat_err.h"

/* ---- Values ---- */

/* Capdata as a vat sees it: a smallcaps body and vat refs in its slots. */
typedef struct lvat_vcapdata {
    const char *body;
    size_t body_len;
    const lvat_vref *slots;
    size_t nslots;
} lvat_vcapdata;

/* One promise resolution: in `notify` deliveries and `resolve` syscalls. */
typedef struct lvat_resolution {
    lvat_vref vpid;
    bool rejected;
    lvat_vcapdata data;
} lvat_resolution;

/* ---- Deliveries (kernel -> vat) ---- */

typedef enum lvat_delivery_kind {
    LVAT_DELIVER_MESSAGE,        /* target, methargs, result */
    LVAT_DELIVER_NOTIFY,         /* resolutions */
    LVAT_DELIVER_DROP_EXPORTS,   /* vrefs: no importer can reach these */
    LVAT_DELIVER_RETIRE_EXPORTS, /* vrefs: nobody can even recognise them */
    LVAT_DELIVER_RETIRE_IMPORTS, /* vrefs: the exporter retired them */
    LVAT_DELIVER_REAP,           /* collect garbage, report dropped imports */
    LVAT_DELIVER_START,          /* parameters: run buildRootObject */
    LVAT_DELIVER_STOP,           /* the incarnation ends (no syscalls) */
    LVAT_DELIVER_UPGRADE         /* parameters: new code, same baggage */
} lvat_delivery_kind;

typedef struct lvat_delivery {
    lvat_delivery_kind kind;
    /* MESSAGE: methargs is the smallcaps of [method, [args...]]; result is
     * the promise to resolve, or none (a one-way send). */
    lvat_vref target;
    lvat_vcapdata methargs;
    lvat_vref result;
    /* NOTIFY: the promise the vat subscribed to first, then every settled
     * promise its value refers to, so one delivery retires them all. */
    const lvat_resolution *resolutions;
    size_t nresolutions;
    /* DROP_EXPORTS, RETIRE_EXPORTS, RETIRE_IMPORTS; START after the first:
     * the objects the earlier incarnations imported (o-N), of which the
     * runtime drops and retires those its durable state does not hold
     * (the new heap has no other way to name them). */
    const lvat_vref *vrefs;
    size_t nvrefs;
    /* START and UPGRADE */
    lvat_vcapdata parameters;
    uint64_t next_export_object;  /* first o+N the vat may allocate */
    uint64_t next_export_promise; /* first p+N the vat may allocate */
    uint32_t incarnation;         /* 0 on the first start */
    /* Set by the kernel on the deliveries it times (one in a few): then a
     * runtime times its marshalling and syscalls for lvat_syscall_account. */
    bool timed;
} lvat_delivery;

/* ---- Creating a vat ---- */

typedef struct lvat_syscall lvat_syscall;

/*
 * A runtime reports, after each delivery, how much of it went to
 * marshalling and to syscalls (nanoseconds), for `luavat status --stats`.
 */
void lvat_syscall_account(lvat_syscall *sc, uint64_t marshal_ns,
                          uint64_t syscall_ns);

typedef struct lvat_vat_spec {
    uint32_t id;          /* v<N> */
    const char *name;     /* the name in its ClusterConfig */
    const char *main;     /* module name of the main chunk, e.g. "greeter" */
    const char *const *globals; /* extra endowments the config allows */
    size_t nglobals;
    size_t memory_limit;    /* bytes; 0 = unlimited */
    uint32_t time_limit_ms; /* per delivery; 0 = unlimited */
    bool has_random_seed;   /* seed the Random endowment with random_seed */
    uint64_t random_seed;   /* (else it is seeded from OS entropy) */
    lvat_syscall *sys;      /* valid until destroy */
} lvat_vat_spec;

/*
 * What a vat runtime implements.  `ud` is the runtime's own context (given
 * to the kernel with the ops).  A delivery returns:
 *   LVAT_OK      the vat handled it (a method that raised has already
 *                rejected its result through a syscall);
 *   LVAT_EVAT    vat code failed outside any method (buildRootObject
 *                raised, the main chunk has a syntax error): `err` names
 *                the vat, file and line;
 *   LVAT_EFAULT  the delivery could not finish: time budget, memory cap,
 *                or an error in the runtime itself (`err` says which).
 * After EVAT or EFAULT the kernel discards the instance with destroy().
 */
typedef struct lvat_vat_ops {
    int (*create)(void *ud, const lvat_vat_spec *spec, void **vat,
                  lvat_errbuf *err);
    int (*deliver)(void *vat, const lvat_delivery *d, lvat_errbuf *err);
    void (*destroy)(void *vat);
    /* Bytes of memory the instance holds (for status and benchmarks). */
    size_t (*memory)(void *vat);
} lvat_vat_ops;

/* ---- Syscalls (vat -> kernel) ----
 *
 * Each returns LVAT_OK, or LVAT_EILLEGAL when the call breaks the rules
 * (a ref not in the vat's c-list, resolving a promise the vat does not
 * decide, a call outside a delivery): the kernel has then already decided
 * to terminate the vat and roll back the crank, and the runtime should stop
 * running vat code.  lvat_syscall_errmsg says what was wrong.
 */

/* Sends methargs to target; `result` is a new p+N (or none).  send and
 * resolve, like vatstore set and delete below, return LVAT_EILLEGAL once
 * what the crank's syscalls handed the kernel to hold passes the vat's
 * memory limit (the vat is then stopped and restarted, as for its heap);
 * a resolve batch past it is refused before any of it is stored. */
int lvat_syscall_send(lvat_syscall *sc, lvat_vref target,
                      const lvat_vcapdata *methargs, lvat_vref result);
int lvat_syscall_resolve(lvat_syscall *sc, const lvat_resolution *res,
                         size_t n);
/* Asks for a notify when the promise settles (at once if it has). */
int lvat_syscall_subscribe(lvat_syscall *sc, lvat_vref vpid);
/* Ends the vat: success commits the crank, failure rolls it back. */
int lvat_syscall_exit(lvat_syscall *sc, bool failure,
                      const lvat_vcapdata *info);
int lvat_syscall_drop_imports(lvat_syscall *sc, const lvat_vref *v, size_t n);
int lvat_syscall_retire_imports(lvat_syscall *sc, const lvat_vref *v,
                                size_t n);
int lvat_syscall_retire_exports(lvat_syscall *sc, const lvat_vref *v,
                                size_t n);

/* The vat's own key/value store (its baggage lives here).  Keys are at
 * most LVAT_VATSTORE_KEY_MAX bytes: 400 of a baggage key (design §6)
 * after baggage's "b.".  get returns LVAT_ENOTFOUND when
 * absent; next returns the first key > `after` starting with `prefix`, or
 * LVAT_ENOTFOUND.  set and delete return LVAT_EILLEGAL once what the
 * crank's vatstore writes, sends and resolutions hold in memory passes
 * the vat's memory limit: the vat is then stopped and restarted, as for
 * its heap. */
#define LVAT_VATSTORE_KEY_MAX 402
int lvat_syscall_vatstore_get(lvat_syscall *sc, const char *key, size_t klen,
                              lvat_val *val);
int lvat_syscall_vatstore_set(lvat_syscall *sc, const char *key, size_t klen,
                              const char *val, size_t vlen);
int lvat_syscall_vatstore_delete(lvat_syscall *sc, const char *key,
                                 size_t klen);
int lvat_syscall_vatstore_next(lvat_syscall *sc, const char *after,
                               size_t alen, const char *prefix, size_t plen,
                               lvat_val *key, lvat_val *val);

/* The message of the last failed syscall of this vat. */
const char *lvat_syscall_errmsg(const lvat_syscall *sc);

/*
 * Runtime services that are not vat syscalls.  read_module appends the
 * text of a module of the vat's code snapshot ("greeter", "lib.util") to
 * `text` and its chunk name ("@vats/hello/greeter.lua") to `chunkname`;
 * LVAT_ENOTFOUND when the snapshot has no such module.  log writes one
 * line of vat output (print) to the kernel log, tagged with the vat.
 */
int lvat_syscall_read_module(lvat_syscall *sc, const char *name,
                             lvat_buf *text, lvat_buf *chunkname);
void lvat_syscall_log(lvat_syscall *sc, const char *msg, size_t len);

#endif
