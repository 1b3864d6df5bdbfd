/*
 * Where the kernel's time goes (stats.c): the counters a kernel keeps and
 * stores, and what it does around each crank.
 */
#ifndef LVAT_STATS_INT_H
#define LVAT_STATS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "luavat.h"

/* Each open times its first LVAT_STATS_ALL cranks, then one in
 * LVAT_STATS_EVERY, whose figures count that many times over.  `timed` is
 * the cranks the figures stand for, `measured` those timed; then whole
 * cranks, vat runtimes (of which syscalls and marshalling), LMDB reads,
 * commits. */
#define LVAT_STATS_ALL   1024
#define LVAT_STATS_EVERY 8
typedef struct lvat_kstats {
    uint64_t cranks, deliveries, blocks, timed;
    uint64_t ns_crank, ns_vat, ns_syscall, ns_marshal, ns_lmdb, ns_commit;
    uint64_t measured;
} lvat_kstats;

/* What a timed crank started from (lvat__stats_crank_begin). */
typedef struct lvat_stats_mark {
    uint64_t weight; /* the cranks it stands for; 0: not timed */
    uint64_t t0, vat, syscall, marshal;
} lvat_stats_mark;

/* Totals loaded at open, stored before a block that changed. */
void lvat__stats_load(lvat_kernel *k);
int lvat__stats_save(lvat_kernel *k);
/* Around one crank: whether to time it, and its figures added. */
void lvat__stats_crank_begin(lvat_kernel *k, lvat_stats_mark *m);
void lvat__stats_crank_end(lvat_kernel *k, const lvat_stats_mark *m, bool did);

#endif
