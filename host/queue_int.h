/*
 * The run queue, the router and cranks (runq.c, deliver.c, crank.c).
 * Internal to host/: included through kernel_int.h.
 */
#ifndef LVAT_QUEUE_INT_H
#define LVAT_QUEUE_INT_H

#include "kernel_int.h"

typedef enum lvat_item_type {
    LVAT_ITEM_SEND = 's',
    LVAT_ITEM_NOTIFY = 'n',
    LVAT_ITEM_START = 'v',   /* start a vat of a launching subcluster */
    LVAT_ITEM_KNOTIFY = 'k', /* a promise the kernel watches has settled */
    LVAT_ITEM_CLEANUP = 'c'  /* delete more of a terminated vat's vatstore */
} lvat_item_type;

/* Promises one notify item may name (back-to-back notifies join: runq.c) */
#define LVAT_NOTIFY_MERGE 64
typedef struct lvat_item {
    lvat_item_type type;
    lvat_msg msg;     /* SEND */
    uint32_t vat;     /* NOTIFY, START, CLEANUP */
    lvat_kref kp;     /* KNOTIFY; NOTIFY: the first promise */
    lvat_kref *more;  /* NOTIFY: the others (owned), nmore of them */
    uint32_t nmore;
} lvat_item;

/* ---- runq.c ---- */
/* The i-th promise of a notify item (0 <= i <= nmore). */
static inline lvat_kref
lvat__item_kp(const lvat_item *it, uint32_t i)
{
    return i == 0 ? it->kp : it->more[i - 1];
}

int lvat__runq_push(lvat_kernel *k, const lvat_item *it);
/* Writes queue.run (runq_block.c's write, as the block is written). */
int lvat__runq_write_ptrs(lvat_kernel *k, uint64_t head, uint64_t tail);
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
/* The same; *held gets the length of the item text it queued or parked,
 * which the block holds in memory until it is written. */
int lvat__send_held(lvat_kernel *k, const lvat_msg *m, size_t *held);

/* ---- runq_block.c: the queue's pointers and new items, for the block */
int lvat__runq_open(lvat_kernel *k);
void lvat__runq_free(lvat_kernel *k);
/* The kv's hooks (kv.h) call these, through kernel.c. */
void lvat__runq_crank_begin(lvat_kernel *k);
void lvat__runq_crank_end(lvat_kernel *k, bool commit);
int lvat__runq_block_writing(lvat_kernel *k);
/* Forgets it (the store changed under it: a reset); the next use reads
 * the store. */
void lvat__runq_forget(lvat_kernel *k);
/* Bytes of item text it holds (the block's size counts them). */
size_t lvat__runq_bytes(const lvat_kernel *k);
/* Whether the block changed the queue (it has something to write). */
bool lvat__runq_changed(const lvat_kernel *k);
/* The pointers, read from the store on first use in a block. */
int lvat__runq_ptrs(lvat_kernel *k, uint64_t *head, uint64_t *tail);
/* Moves the head past the item just popped. */
void lvat__runq_popped(lvat_kernel *k);
/* Appends an item (a copy of its text) at the tail. */
int lvat__runq_append(lvat_kernel *k, const char *p, size_t len);
/* Item n's text if it was pushed in this block (valid until the block is
 * written or aborted); false when it is in the store. */
bool lvat__runq_mem_item(lvat_kernel *k, uint64_t n, const char **p,
                         size_t *len);
/* The spaces in item n's text, pushed in this block (counted once). */
size_t lvat__runq_mem_spaces(lvat_kernel *k, uint64_t n);
/* Appends p to the text of item n, pushed in this block; an abort takes
 * it back (LVAT_ESTATE: it cannot be undone now; queue the change as an
 * item of its own). */
int lvat__runq_mem_extend(lvat_kernel *k, uint64_t n, const char *p,
                          size_t len);

/* ---- deliver.c ---- */
int lvat__deliver_item(lvat_kernel *k, const lvat_item *it);
int lvat__splat(lvat_kernel *k, const lvat_msg *m, const char *why);
/* Drops the references a queued message held (after its delivery). */
int lvat__release_msg(lvat_kernel *k, const lvat_msg *m);

/* ---- crank.c ---- */
int lvat__crank_run(lvat_kernel *k, bool *did_work);
int lvat__block_commit(lvat_kernel *k);
/* Writes what the kernel keeps in memory for the block (promise and
 * object records, counters, new c-list pairs; not the run queue) to the
 * overlay, for a reader of the raw store mid-block: status, the decider
 * index's walk at a vat's end, tests.  (kernel.c) */
int lvat__block_flush(lvat_kernel *k);
/* Forgets all of it, run queue included: the block was abandoned, or a
 * reset wiped the store under it.  (kernel.c) */
void lvat__block_state_forget(lvat_kernel *k);
void lvat__block_abort(lvat_kernel *k);
/* Records a failure of the running crank (first one wins). */
void lvat__crank_fail(lvat_kernel *k, lvat_crank_failure f, uint32_t vat,
                      const char *fmt, ...) LVAT_PRINTF(4, 5);
int lvat__maybe_free(lvat_kernel *k, lvat_kref r);
/* A failed crank's follow-up: whether one is due; a block's commit
 * retires one that ran in it; a block's abort drops one whose failure it
 * takes away, and makes one that ran in it due again; a reset drops it. */
bool lvat__followup_due(const lvat_kernel *k);
void lvat__followup_committed(lvat_kernel *k);
void lvat__followup_block_abort(lvat_kernel *k);
void lvat__followup_free(lvat_kernel *k);

#endif
