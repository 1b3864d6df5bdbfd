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
