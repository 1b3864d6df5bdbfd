/*
 * Helpers of the GC tests (test_e2e_gcleak.c, test_e2e_gcends.c): the
 * gxdrv/gxexp cluster, and a census of what the kernel keeps that GC
 * should give back.
 */
#ifndef LVAT_GX_CENSUS_H
#define LVAT_GX_CENSUS_H

#include <stddef.h>

#include "lua_kernel.h"

/* tests/e2e/vats/gxdrv.lua (v1, bootstrap) and gxexp.lua (v2). */
#define GX_CLUSTER                                                          \
    "{\"bootstrap\":\"gxdrv\",\"vats\":{"                                  \
    "\"gxdrv\":{\"sourceSpec\":\"gxdrv.lua\"},"                            \
    "\"gxexp\":{\"sourceSpec\":\"gxexp.lua\"}}}"

/* Counts of ko/kp records, v1's and v2's c-list keys, GC actions, pins. */
typedef struct census {
    size_t ko, kp, c1, c2, gc, pins;
} census;

void gx_census(lk *t, census *c);
/* Fails the test, naming `what`, unless a and b are the same. */
void gx_expect_same(const census *a, const census *b, const char *what);
/* Opens t with the cluster launched, each vat reaping after every
 * delivery. */
void gx_open(lk *t);
/* gx_open, one delivery to v1 (its reap settles what the launch left),
 * then the census. */
void gx_begin(lk *t, census *before);
/* lk_expect_at of method(args) on vat's root ("v1"), fulfilled. */
void gx_expect(lk *t, const char *vat, const char *method, const char *args,
               const char *want);
/* The first kref after `from` starting with prefix ("ko", "kp") into
 * out; returns where to look for the next. */
const char *gx_next_kref(const char *from, const char *prefix, char out[32]);

#endif
