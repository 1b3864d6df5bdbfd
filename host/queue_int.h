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
    LVAT_ITEM_KNOTIFY = 'k'  /* a promise the kernel watches has settled */
} lvat_item_type;

/* Promises one notify item may name (back-to-back notifies join: runq.c) */
#define LVAT_NOTIFY_MERGE 64
typedef struct lvat_item {
    lvat_item_type type;
    lvat_msg msg;     /* SEND */
    uint32_t vat;     /* NOTIFY, START */
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
/* Writes queue.run (kpcache.c's write-back). */
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

/* ---- deliver.c ---- */
int lvat__deliver_item(lvat_kernel *k, const lvat_item *it);
int lvat__splat(lvat_kernel *k, const lvat_msg *m, const char *why);
/* Drops the references a queued message held (after its delivery). */
int lvat__release_msg(lvat_kernel *k, const lvat_msg *m);

/* ---- crank.c ---- */
int lvat__crank_run(lvat_kernel *k, bool *did_work);
int lvat__block_commit(lvat_kernel *k);
void lvat__block_abort(lvat_kernel *k);
/* Records a failure of the running crank (first one wins). */
void lvat__crank_fail(lvat_kernel *k, lvat_crank_failure f, uint32_t vat,
                      const char *fmt, ...) LVAT_PRINTF(4, 5);
int lvat__maybe_free(lvat_kernel *k, lvat_kref r);

#endif
