/*
 * Kernel objects, promises, reference counts and c-lists: the tables
 * every crank reads and writes (kobject.c, kpromise.c, refs.c, clist.c).
 * Internal to host/: included through kernel_int.h.
 */
#ifndef LVAT_OBJECTS_INT_H
#define LVAT_OBJECTS_INT_H

#include "kernel_int.h"

/* ---- kobject.c ---- */
int lvat__ko_new(lvat_kernel *k, uint32_t owner, lvat_kref *out);
int lvat__ko_get(lvat_kernel *k, lvat_kref ko, lvat_kobj *o);
int lvat__ko_put(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o);
int lvat__ko_delete(lvat_kernel *k, lvat_kref ko);
/* The record in the store itself, bypassing the block's cache. */
int lvat__ko_read(lvat_kernel *k, lvat_kref ko, lvat_kobj *o);
int lvat__ko_write(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o,
                   unsigned flags);
int lvat__ko_erase(lvat_kernel *k, lvat_kref ko);
/* Adds to an object's counts (clamped at zero). */
int lvat__ko_adjust(lvat_kernel *k, lvat_kref ko, int dreach, int drecog);

/* ---- kpromise.c ---- */
int lvat__kp_new(lvat_kernel *k, uint32_t decider, lvat_kref *out);
/* A new promise for the result of a send by `sender`: in flight, decided
 * by nobody yet, with the sender subscribed. */
int lvat__kp_new_result(lvat_kernel *k, uint32_t sender, lvat_kref *out);
int lvat__kp_get(lvat_kernel *k, lvat_kref kp, lvat_kprom *p);
int lvat__kp_put(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p);
/* Adds delta (+1 or -1) to the promise's count (a count already 0 stays
 * 0); *zeroed tells whether this call brought it to 0.  LVAT_ENOTFOUND
 * for an unknown promise. */
int lvat__kp_add_refs(lvat_kernel *k, lvat_kref kp, int delta,
                      bool *zeroed);
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

/* Writes the record's text (kpcache.c's write-back; flags as kv.h). */
int lvat__kp_write(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p,
                   unsigned flags);

/* ---- kpcache.c: promise records cached for the block, decider-index
 * changes for the crank ---- */
int lvat__kpc_open(lvat_kernel *k);
void lvat__kpc_free(lvat_kernel *k);
/* A crank run by crank.c: index changes wait for lvat__kpc_end, which
 * writes them to the overlay when `commit`. */
void lvat__kpc_begin(lvat_kernel *k);
int lvat__kpc_end(lvat_kernel *k, bool commit);
/* Writes the changed records (and index changes) to the overlay now
 * (lvat__block_flush, for raw readers, and the block's write). */
int lvat__kpc_flush(lvat_kernel *k);
/* kp's record when cached (*cached): LVAT_OK with a copy in *out, or
 * LVAT_ENOTFOUND when it was deleted in this block. */
int lvat__kpc_get(lvat_kernel *k, lvat_kref kp, lvat_kprom *out,
                  bool *cached);
/* Caches a copy of *p (`dirty`: newer than the overlay; `fresh`: a new
 * record); *cached is false on a read-only view, which does not cache. */
int lvat__kpc_store(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p,
                    bool dirty, bool fresh, bool *cached);
/* lvat__kp_add_refs on the cached record (loaded if need be); *done is
 * false when there is none (a read-only view, or no memory for it). */
int lvat__kpc_add_refs(lvat_kernel *k, lvat_kref kp, int delta, bool *zeroed,
                       bool *done);
/* kp's settled value (kp<N>.v) cached with its record (kpcache_value.c):
 * when *cached, get gives its text (valid, as an overlay value is, until
 * the crank ends, or outside a crank until the value changes) or
 * LVAT_ENOTFOUND; put keeps a copy; del deletes it.  *cached is false when
 * the cache does not hold kp's record (put) or value (get, del): the
 * caller uses the overlay. */
int lvat__kpc_get_value(lvat_kernel *k, lvat_kref kp, lvat_val *out,
                        bool *cached);
int lvat__kpc_put_value(lvat_kernel *k, lvat_kref kp, const char *text,
                        size_t len, bool *cached);
int lvat__kpc_del_value(lvat_kernel *k, lvat_kref kp, bool *cached);
/* Marks kp's record deleted; true when it never reached the overlay, so
 * the caller has no key to delete. */
int lvat__kpc_forget(lvat_kernel *k, lvat_kref kp, bool *unwritten);
/* Whether a record changed since the overlay had it; the cache's size. */
bool lvat__kpc_changed(const lvat_kernel *k);
size_t lvat__kpc_bytes(const lvat_kernel *k);
/* The kv's hooks (kv.h) call these, through kernel.c. */
void lvat__kpc_crank_begin(lvat_kernel *k);
void lvat__kpc_crank_end(lvat_kernel *k, bool commit);
int lvat__kpc_block_writing(lvat_kernel *k);
void lvat__kpc_forget_all(lvat_kernel *k);
/* Records a change of the decider index (v<vat>.d.<kp> added or deleted)
 * for the crank's end, where it reaches the overlay unless a later change
 * of the same entry cancels it.  *deferred is false when no crank runs:
 * the caller writes it now. */
int lvat__kpc_index(lvat_kernel *k, uint32_t vat, lvat_kref kp, bool add,
                    bool *deferred);
/* Copies a record; dst owns its subscribers afterwards. */
int lvat__kp_copy(lvat_kprom *dst, const lvat_kprom *src);

/* ---- counts.c: counters and object records, kept for the block ---- */
int lvat__counts_open(lvat_kernel *k);
void lvat__counts_free(lvat_kernel *k);
/* Forgets them (the store changed under them: a reset, a block abort). */
void lvat__counts_forget(lvat_kernel *k);
/* A vat's v<N>.n: its next import object, import promise, export object
 * and export promise numbers (1s for a vat that has none yet). */
int lvat__vat_counts(lvat_kernel *k, uint32_t vat, uint64_t v[4]);
int lvat__vat_counts_set(lvat_kernel *k, uint32_t vat, const uint64_t v[4]);
/* Takes the next kref number (nextObjectId or nextPromiseId). */
int lvat__kref_number(lvat_kernel *k, bool promise, uint64_t *out);
/* Writes the changed ones into the overlay now (readers of the raw store
 * mid-block: lvat__block_flush calls it). */
int lvat__counts_flush(lvat_kernel *k);
/* Whether any changed since the store last had them. */
bool lvat__counts_changed(const lvat_kernel *k);
/* The kv's hooks (kv.h) call these, through kernel.c. */
void lvat__counts_crank_begin(lvat_kernel *k);
void lvat__counts_crank_end(lvat_kernel *k, bool commit);
int lvat__counts_block_writing(lvat_kernel *k);
/* Vat `vat` was terminated: its counters leave with the block (an abort
 * keeps them).  lvat__counts_slots: the slots held (tests). */
int lvat__counts_vat_gone(lvat_kernel *k, uint32_t vat);
size_t lvat__counts_slots(const lvat_kernel *k);
/* Object records as the block has them (kobject.c's ko_get and friends):
 * LVAT_ENOTFOUND for none; set with o NULL deletes, `fresh` for a new
 * object the store has never had. */
int lvat__ko_cached_get(lvat_kernel *k, lvat_kref ko, lvat_kobj *o);
int lvat__ko_cached_set(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o,
                        bool fresh);

/* ---- refs.c: reference counts ---- */
int lvat__ref_inc(lvat_kernel *k, lvat_kref r, bool strong);
int lvat__ref_dec(lvat_kernel *k, lvat_kref r, bool strong);
/* Counts (or uncounts) a reference from each of r[0..n) except `self`: a
 * promise's value that names the promise holds no count on it, or the
 * promise could never be collected. */
int lvat__refs_inc(lvat_kernel *k, const lvat_kref *r, size_t n,
                   lvat_kref self);
int lvat__refs_dec(lvat_kernel *k, const lvat_kref *r, size_t n,
                   lvat_kref self);
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
/* The same for the result promise of a send: *made says it was a new
 * export, made as lvat__kp_new_result makes it. */
int lvat__clist_result_from_vat(lvat_kernel *k, lvat_kvat *v, lvat_vref r,
                                lvat_kref *out, bool *made);
/* Looks up without allocating: LVAT_ENOTFOUND when absent. */
int lvat__clist_lookup_k(lvat_kernel *k, uint32_t vat, lvat_kref r,
                         lvat_vref *out, bool *reachable);
int lvat__clist_lookup_v(lvat_kernel *k, uint32_t vat, lvat_vref r,
                         lvat_kref *out);
/* Removes the pair and drops the vat's count on r. */
int lvat__clist_remove(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* The same for a promise pair the caller has just looked up (kp <-> vp):
 * retiring a resolved or notified promise asks the store nothing. */
int lvat__clist_remove_promise(lvat_kernel *k, uint32_t vat, lvat_kref kp,
                               lvat_vref vp);
/* Adds the owner's export entry for a kernel object (roots). */
int lvat__clist_add_export(lvat_kernel *k, uint32_t vat, lvat_kref r,
                           lvat_vref v);
/* Marks an import unreachable (dropImports): "R" -> "_". */
int lvat__clist_drop(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* Marks an export entry "_" (no count changes: exports hold none). */
int lvat__clist_mark_unreachable(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* Writes the pair's two keys into the overlay (kv flags). */
int lvat__clist_write(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
                      bool reach, unsigned flags);

/* ---- clist_block.c: pairs made in this block, until it is written ---- */
typedef struct lvat_clb lvat_clb;
int lvat__clb_open(lvat_kernel *k);
void lvat__clb_free(lvat_kernel *k);
/* The pair, when it is here (then the store has none). */
bool lvat__clb_by_kref(const lvat_kernel *k, uint32_t vat, lvat_kref r,
                       lvat_vref *v, bool *reach);
bool lvat__clb_by_vref(const lvat_kernel *k, uint32_t vat, lvat_vref v,
                       lvat_kref *r);
/* Adds a pair the store does not have. */
int lvat__clb_add(lvat_kernel *k, uint32_t vat, lvat_kref r, lvat_vref v,
                  bool reach);
/* Change or remove a pair kept here; LVAT_ENOTFOUND when it is not. */
int lvat__clb_set_reach(lvat_kernel *k, uint32_t vat, lvat_kref r, bool reach);
int lvat__clb_remove(lvat_kernel *k, uint32_t vat, lvat_kref r);
/* Writes every pair into the overlay (before an ordered read, and as the
 * block is written) and forgets it here. */
int lvat__clb_flush(lvat_kernel *k);
bool lvat__clb_changed(const lvat_kernel *k);
size_t lvat__clb_bytes(const lvat_kernel *k);
void lvat__clb_forget(lvat_kernel *k);
void lvat__clb_crank_begin(lvat_kernel *k);
void lvat__clb_crank_end(lvat_kernel *k, bool commit);

#endif
