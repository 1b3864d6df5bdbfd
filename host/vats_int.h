/*
 * Vats inside the kernel: records, instances, lifecycle, termination and
 * GC deliveries (vats.c, vat_life.c, vat_end.c, gc.c).
 * Internal to host/: included through kernel_int.h.
 */
#ifndef LVAT_VATS_INT_H
#define LVAT_VATS_INT_H

#include "kernel_int.h"

/* A vat's lifecycle record v<N>.s (vat_life.c). */
typedef struct lvat_vat_life {
    char state;           /* 'n' never started, 'r' running, 'x' suspended */
    uint64_t incarnation; /* of the current (or last) heap */
    uint64_t opened;      /* kernel open that built the heap; 0 = none */
    uint32_t faults;      /* consecutive faults */
} lvat_vat_life;

/* ---- vats.c ---- */
lvat_kvat *lvat__vat_find(lvat_kernel *k, uint32_t id);
int lvat__vat_get(lvat_kernel *k, uint32_t id, lvat_kvat **out);
/* Makes sure the vat has a live instance (resuscitating it from the store
 * with a START delivery when needed).  Failures set k->crank.failure. */
int lvat__vat_ensure(lvat_kernel *k, lvat_kvat *v);
void lvat__vat_unload(lvat_kernel *k, lvat_kvat *v);
bool lvat__vat_alive(lvat_kernel *k, uint32_t id);
int lvat__vat_deliver(lvat_kernel *k, lvat_kvat *v, const lvat_delivery *d);
/* Deletes everything of the vat and rejects the promises it decided; its
 * vatstore (baggage, as large as the vat made it) goes in batches of
 * LVAT_CLEANUP_BATCH keys a crank, the rest in CLEANUP run-queue items. */
int lvat__vat_terminate(lvat_kernel *k, uint32_t id, const char *reason);
/* A CLEANUP item: the next batch of a terminated vat's vatstore. */
int lvat__vat_cleanup(lvat_kernel *k, uint32_t id);
#define LVAT_CLEANUP_BATCH 4096
/* Ends the current incarnation: unloads the instance, rejects what it
 * decided and orphans its ephemeral exports (root and durables stay). */
int lvat__vat_end_incarnation(lvat_kernel *k, uint32_t id,
                              const char *reason);
/* The object imports (o-N) of the vat's c-list, in an array (*out, to
 * lvat_free; NULL when there are none). */
int lvat__vat_imports(lvat_kernel *k, uint32_t id, lvat_vref **out,
                      size_t *n);
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

/* ---- vat_life.c ---- */
int lvat__life_get(lvat_kernel *k, uint32_t vat, lvat_vat_life *l);
int lvat__life_put(lvat_kernel *k, uint32_t vat, const lvat_vat_life *l);
/* Before a crank uses a vat: ends an incarnation from an earlier open
 * (once); *suspended tells the caller to reject instead of deliver. */
int lvat__vat_prepare(lvat_kernel *k, uint32_t vat, bool *suspended);
/* Whether vat's heap is loaded in this open (then prepare has nothing to
 * do: its record says running). */
bool lvat__vat_loaded(lvat_kernel *k, uint32_t vat);
int lvat__vat_started(lvat_kernel *k, uint32_t vat, uint64_t incarnation);
int lvat__vat_heap_gone(lvat_kernel *k, uint32_t vat);
int lvat__vat_count_fault(lvat_kernel *k, uint32_t vat, bool *suspend);
int lvat__vat_faults_clear(lvat_kernel *k, lvat_kvat *v);
int lvat__vat_suspend(lvat_kernel *k, uint32_t vat, const char *why);
int lvat__vat_revive(lvat_kernel *k, uint32_t vat);
int lvat__sweep_step(lvat_kernel *k, bool *did);
int lvat__eager_step(lvat_kernel *k);
int lvat__reap_step(lvat_kernel *k);

/* ---- syscall_store.c ---- */
/* Fails the crank as a fault for what its syscalls handed the kernel to
 * hold past the vat's memory limit; returns LVAT_EILLEGAL. */
int lvat__syscall_over_budget(lvat_syscall *sc);

/* What a queued message or a settled value holds beside its text: its
 * record and the allocator's rounding (an empty one-way send held 74
 * bytes for 23 of text).  Without it, a flood of tiny sends held three
 * times the cap. */
#define LVAT_HELD_OVERHEAD 64

/* LVAT_OK while what the running crank's syscalls handed the kernel to
 * hold (crank.sent, .resolved, and the overlay's count of its vatstore
 * writes) is within the vat's memory limit.
 * Inline: a send and a resolve pay two additions and a compare. */
static inline int
lvat__syscall_budget(lvat_syscall *sc)
{
    const lvat_crank *c = &sc->k->crank;
    size_t limit = sc->vat->memory_limit;

    if (limit == 0 ||
        c->sent + c->resolved +
                lvat_kv_crank_bytes(sc->k->kv, LVAT_DB_VATSTORE) <=
            limit)
        return LVAT_OK;
    return lvat__syscall_over_budget(sc);
}

/* ---- gc.c ---- */
/* Delivers the pending GC actions of one vat; *did is false when none. */
int lvat__gc_run(lvat_kernel *k, bool *did);

#endif
