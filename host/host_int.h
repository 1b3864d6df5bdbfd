/*
 * What the host sees: requests, outputs and watches (host.c), the libuv
 * pump (loop.c) and subcluster launches (subcluster.c, launch.c).
 * Internal to host/: included through kernel_int.h.
 */
#ifndef LVAT_HOST_INT_H
#define LVAT_HOST_INT_H

#include "kernel_int.h"

/* ---- host.c: requests and outputs ---- */
int lvat__req_apply(lvat_kernel *k, lvat_req *r);
lvat_req *lvat__req_find(lvat_kernel *k, uint64_t id);
/* The oldest request not applied yet, or NULL. */
lvat_req *lvat__req_next(lvat_kernel *k);
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
/* Watches kp for launch request `request` of subcluster `sub`. */
int lvat__watch_launch(lvat_kernel *k, lvat_kref kp, uint32_t sub,
                       uint64_t request);
int lvat__knotify(lvat_kernel *k, lvat_kref kp);
/* Keeps krefs shown to the host alive (pin.<kref>, one count each). */
int lvat__pin_for_host(lvat_kernel *k, const lvat_kref *slots, size_t n);
/* LVAT_OK when the kernel has the object or promise ref, LVAT_ENOTFOUND
 * when it has not (or its owner was told nobody reaches it), else a store
 * error. */
int lvat__kref_exists(lvat_kernel *k, lvat_kref ref);
/* The first of *target (when not NULL) and slots[0..n) the kernel does
 * not have: a caller may name any kref, or one collected since it learned
 * it, and counting a reference to it would fail the crank.  LVAT_ENOTFOUND
 * with it in *gone, LVAT_OK, or a store error. */
int lvat__find_gone(lvat_kernel *k, const lvat_kref *target,
                    const lvat_kref *slots, size_t n, lvat_kref *gone);
/* Whether the host holds kref (a pin.<kref> key); LVAT_OK or
 * LVAT_ENOTFOUND, else a store error. */
int lvat__host_holds(lvat_kernel *k, lvat_kref kref);

/* ---- loop.c ---- */
/* Tells an attached pump that there is work (no-op when not attached). */
void lvat__pump_wake(lvat_kernel *k);
void lvat__pump_free(lvat_kernel *k);

/* ---- kernel.c: the pump's slices ---- */
/* Runs cranks for up to max_us (committing blocks that come due), then
 * commits the block if it holds something for the host or nothing is left
 * to do; otherwise leaves it open for the next slice (block_quiet_ms). */
int lvat__kernel_slice(lvat_kernel *k, uint64_t max_us);
/* Commits a block a slice left open (detaching, closing). */
int lvat__kernel_flush(lvat_kernel *k);

/* ---- subcluster.c ---- */
int lvat__launch_start_vat(lvat_kernel *k, uint32_t vat);
int lvat__launch_start_failed(lvat_kernel *k, uint32_t vat, const char *why);
/* A subcluster (its record `sub`) ends before its launch settled: the
 * host's launch request hears FAILED with `why` (unless it has heard how
 * the launch ended). */
int lvat__launch_cut_short(lvat_kernel *k, const lvat_json *sub, uint32_t id,
                           const char *why);
int lvat__launch_apply(lvat_kernel *k, lvat_req *r);

/* Who waits for a launch and what it is. */
typedef struct lvat_launch_ctx {
    uint64_t request;        /* host request id (0 = none) */
    lvat_kref facet_result;  /* a kernel facet call's result (or none) */
    bool reload;             /* facet_result wants the new record */
    const char *system_name; /* a system subcluster's name (or NULL) */
    uint32_t replaces;       /* a reload's old subcluster, terminated once
                              * the new vats have started (0 = none) */
} lvat_launch_ctx;

/* The first service `p` asks for that a launch (a system one when
 * `system`) cannot have: unregistered, or system-only.  NULL when none. */
const char *lvat__plan_missing_service(lvat_kernel *k,
                                       const lvat_launch_plan *p,
                                       bool system);
/* Writes the records of a launch and queues its first START (naming the
 * plan's sources on the way). */
int lvat__launch_plan_apply(lvat_kernel *k, lvat_launch_plan *p,
                            const lvat_launch_ctx *ctx, uint32_t *sub);
/* ---- srcname.c ---- */
/* Fills m->hash, the name its text is stored under. */
void lvat__source_name(lvat_kernel *k, lvat_plan_module *m);
void lvat__srcnames_free(lvat_kernel *k);
/* ---- reload.c ---- */
/* Relaunches subcluster `sub` from its stored config (see reload.c); on
 * LVAT_ECONFIG or LVAT_ENOTFOUND `err` says why and nothing changed. */
int lvat__sub_reload(lvat_kernel *k, uint32_t sub, lvat_launch_ctx *ctx,
                     lvat_errbuf *err);
int lvat__reload_apply(lvat_kernel *k, lvat_req *r);

/* systemSubcluster.<name> = s<N> */
int lvat__system_map(lvat_kernel *k, const char *name, uint32_t sub);
int lvat__launch_settled(lvat_kernel *k, uint32_t sub, uint64_t req,
                         lvat_kref kp);
/* Removes a terminated vat from its subcluster's record. */
int lvat__sub_forget_vat(lvat_kernel *k, const char *sub, uint32_t vat);

/* ---- service.c, service_call.c, facet.c ---- */
void lvat__services_free(lvat_kernel *k);
lvat_service *lvat__service_find(lvat_kernel *k, const char *name);
bool lvat__service_pure(const lvat_service *s);
void lvat__service_invoke(lvat_service *s, lvat_call *c);
/* Makes a pinned kernel object answered by `who` ("facet s3"). */
int lvat__service_object(lvat_kernel *k, const char *who, lvat_kref *out);
int lvat__service_kref(lvat_kernel *k, const char *name, lvat_kref *out);
bool lvat__service_system_only(lvat_kernel *k, const char *name);
int lvat__service_deliver(lvat_kernel *k, const lvat_msg *m,
                          lvat_kref target);
void lvat__call_free(lvat_call *c);
int lvat__call_settle(lvat_kernel *k, lvat_call *c);
int lvat__calls_reject_lost(lvat_kernel *k);
int lvat__req_answer(lvat_kernel *k, lvat_call *c);
int lvat__output_call(lvat_kernel *k, lvat_service *s, lvat_call *c);
int lvat__facet_deliver(lvat_kernel *k, const lvat_msg *m, uint32_t sub);
/* Settles a facet call's promise with plain JSON (NULL = null), or
 * rejects it with a message. */
int lvat__facet_fulfill(lvat_kernel *k, lvat_kref kp, const lvat_json *v);
int lvat__facet_reject(lvat_kernel *k, lvat_kref kp, const char *fmt, ...)
    LVAT_PRINTF(3, 4);
int lvat__facet_queue_settled(lvat_kernel *k, lvat_kref result,
                              lvat_kref kp);
/* A launch started by a kernel facet finished or failed. */
int lvat__facet_launch_done(lvat_kernel *k, const lvat_json *rec,
                            uint32_t sub, const char *root,
                            const lvat_capdata *v);
int lvat__facet_launch_failed(lvat_kernel *k, const lvat_json *rec,
                              const char *why);

/* ---- inspect.c ---- */
/* A read-only kernel's next reads see the store as it is now. */
void lvat__readonly_refresh(lvat_kernel *k);

/* ---- system.c, system_open.c ---- */
int lvat__system_open(lvat_kernel *k, lvat_errbuf *err);
int lvat__kernel_reset(lvat_kernel *k);
/* A facet's reset, remembered in the store; one an open finds there (the
 * process died before it) is done before anything else. */
int lvat__reset_ask(lvat_kernel *k);
int lvat__reset_resume(lvat_kernel *k, lvat_errbuf *err);
int lvat__sub_read(lvat_kernel *k, uint32_t sub, lvat_json **out);
int lvat__sub_summary(lvat_kernel *k, uint32_t sub, lvat_json **out);
int lvat__sub_summaries(lvat_kernel *k, lvat_json **out);
/* Terminates every vat of the subcluster (reverse order) and forgets it;
 * `why` ends "[KERNEL:VAT_TERMINATED] subcluster sN was <why>". */
int lvat__sub_terminate(lvat_kernel *k, uint32_t sub, const char *why);
int lvat__system_sub(lvat_kernel *k, const char *name, uint32_t *sub);
int lvat__system_root(lvat_kernel *k, const char *name, char *out,
                      size_t len);

#endif
