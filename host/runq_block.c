/*
 * The run queue's state for the block.  Its pointers (queue.run) and the
 * items pushed since the block began live here, in memory, and reach the
 * overlay once, as the block is written: most items of a busy block are
 * pushed and popped inside it and never reach the store at all, and the
 * pointers, which every crank moved, are written once.  Items pushed in
 * an earlier block are read from the store as before.
 *
 * It follows the overlay through the kv's hooks (kv.h, installed by
 * kernel.c): a crank's end keeps or undoes what the crank did here, the
 * block's write writes it out, and the block's abort forgets it (the
 * next use reads the store).
 */
#include "kernel_int.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "slab.h"

#define NONE SIZE_MAX


typedef struct lvat_runq lvat_runq;

typedef struct text {
    char *p;
    size_t len, cap;
    size_t spaces; /* in p (SIZE_MAX: not counted yet) */
} text;

struct lvat_runq {
    bool loaded;        /* head and tail are known (read, or moved) */
    bool dirty;         /* they moved since the store last had them */
    uint64_t head;      /* the next item to pop */
    uint64_t tail;      /* the next item's number */
    uint64_t mem_first; /* items from here on are in `items` */
    text *items;        /* items[i] is item mem_first + i */
    size_t nitems, capitems, bytes;
    lvat_slab *slab;    /* the items' texts (malloc cost ten times as
                         * much: a round trip queues two) */
    /* What the open crank found, to undo it. */
    struct {
        bool loaded, dirty;
        uint64_t head, tail;
        size_t nitems;
    } save;
    size_t merged;   /* item (index into items) the crank extended,
                      * pushed before it (NONE: none) */
    size_t merged_len, merged_spaces; /* its text's length before */
};

static void
free_items(lvat_runq *q, size_t from)
{
    if (from >= q->nitems)
        return; /* nothing past it (only ever shrinks) */
    for (size_t i = from; i < q->nitems; i++) {
        q->bytes -= q->items[i].len;
        lvat_slab_release(q->slab, q->items[i].p, q->items[i].cap);
    }
    q->nitems = from;
}

/* With no item left, a burst's array and slab do not stay. */
static void
release_burst(lvat_runq *q)
{
    if (q->nitems != 0)
        return;
    lvat_release_big(&q->items, &q->capitems, 4096);
    lvat_slab_shed(&q->slab, LVAT_SLAB_KEEP);
}

/* The first n items are in the overlay now (or were popped): memory lets
 * them go. */
static void
written(lvat_runq *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        q->bytes -= q->items[i].len;
        lvat_slab_release(q->slab, q->items[i].p, q->items[i].cap);
    }
    if (n > 0 && n < q->nitems)
        memmove(q->items, q->items + n, (q->nitems - n) * sizeof *q->items);
    q->nitems -= n;
    q->mem_first += n;
    release_burst(q);
}

/* Items that committed cranks popped are read no more: their memory
 * goes once they are most of the array, so a long block does not keep
 * every item it ran. */
static void
drop_popped(lvat_runq *q)
{
    size_t popped; /* at most nitems: tail is mem_first + nitems */

    if (!q->loaded || q->head <= q->mem_first)
        return;
    popped = (size_t)(q->head - q->mem_first);
    if (popped >= 64 && popped * 2 >= q->nitems)
        written(q, popped);
}

/* Forgets everything: the next use reads the store. */
static void
unload(lvat_runq *q)
{
    free_items(q, 0);
    release_burst(q);
    q->merged = NONE;
    q->loaded = q->dirty = false;
}

/* ---- The kv's hooks (through kernel.c) ---- */

void
lvat__runq_crank_begin(lvat_kernel *k)
{
    lvat_runq *q = k->runq;

    q->save.loaded = q->loaded;
    q->save.dirty = q->dirty;
    q->save.head = q->head;
    q->save.tail = q->tail;
    q->save.nitems = q->nitems;
    q->merged = NONE;
}

void
lvat__runq_crank_end(lvat_kernel *k, bool commit)
{
    lvat_runq *q = k->runq;

    if (commit) {
        q->merged = NONE;
        drop_popped(q);
        return;
    }
    if (q->merged != NONE) {
        /* An extension only appends: the old text is its prefix. */
        text *t = &q->items[q->merged];
        q->bytes -= t->len - q->merged_len;
        t->len = q->merged_len;
        t->spaces = q->merged_spaces;
        q->merged = NONE;
    }
    if (!q->save.loaded) {
        unload(q);
        return;
    }
    free_items(q, q->save.nitems);
    q->dirty = q->save.dirty;
    q->head = q->save.head;
    q->tail = q->save.tail;
}

/* Writes the items still queued and the pointers into the overlay; they
 * live there from now on.  Outside any crank. */
int
lvat__runq_block_writing(lvat_kernel *k)
{
    lvat_runq *q = k->runq;
    int rc = LVAT_OK;
    size_t i;

    if (!q->loaded)
        return LVAT_OK;
    for (i = 0; i < q->nitems && rc == LVAT_OK; i++) {
        lvat_key key;
        if (q->mem_first + i < q->head)
            continue; /* pushed and popped inside the block */
        lvat_key_runq_item(&key, q->mem_first + i);
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, q->items[i].p,
                         q->items[i].len, LVAT_KV_NEW);
    }
    /* Those written now live in the overlay, even when a later one
     * failed: the block stays intact, and a crank that runs before a
     * retry must pop them from there (deleting the key). */
    written(q, rc == LVAT_OK ? q->nitems : i - 1);
    if (rc == LVAT_OK && q->dirty)
        rc = lvat__runq_write_ptrs(k, q->head, q->tail);
    if (rc == LVAT_OK)
        q->dirty = false;
    return rc;
}



/* ---- Kernel side ---- */

int
lvat__runq_open(lvat_kernel *k)
{
    if ((k->runq = lvat_calloc(1, sizeof *k->runq)) == NULL)
        return LVAT_ENOMEM;
    if ((k->runq->slab = lvat_slab_new()) == NULL) {
        lvat_free(k->runq);
        k->runq = NULL;
        return LVAT_ENOMEM;
    }
    k->runq->merged = NONE;
    return LVAT_OK;
}

void
lvat__runq_free(lvat_kernel *k)
{
    if (k->runq == NULL)
        return;
    unload(k->runq);
    lvat_free(k->runq->items);
    lvat_slab_free(k->runq->slab);
    lvat_free(k->runq);
    k->runq = NULL;
}

void
lvat__runq_forget(lvat_kernel *k)
{
    unload(k->runq);
}

size_t
lvat__runq_bytes(const lvat_kernel *k)
{
    return k->runq ? k->runq->bytes : 0;
}

bool
lvat__runq_changed(const lvat_kernel *k)
{
    return k->runq != NULL && k->runq->loaded &&
           (k->runq->dirty || k->runq->nitems > 0);
}

/* ---- The queue ---- */

int
lvat__runq_ptrs(lvat_kernel *k, uint64_t *head, uint64_t *tail)
{
    lvat_runq *q = k->runq;
    uint64_t ptrs[2] = {1, 1};
    lvat_val v;
    int rc;

    /* A read-only view may see another writer's commits: no caching. */
    if (!q->loaded || k->opts.readonly) {
        rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, "queue.run", 9, &v);
        if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
            return rc;
        if (rc == LVAT_OK && lvat_parse_u64s(v.p, v.len, ptrs, 2) != LVAT_OK)
            return lvat__fail(k, LVAT_ECORRUPT, "queue.run: bad record: "
                              "database may be corrupted");
        q->head = ptrs[0];
        q->tail = q->mem_first = ptrs[1];
        q->loaded = true;
    }
    *head = q->head;
    *tail = q->tail;
    return LVAT_OK;
}

void
lvat__runq_popped(lvat_kernel *k)
{
    k->runq->head++;
    k->runq->dirty = true;
}

int
lvat__runq_append(lvat_kernel *k, const char *p, size_t len)
{
    lvat_runq *q = k->runq;
    size_t cap = len ? len : 1; /* a slab block has a byte at least */
    char *copy;

    if (!lvat_reserve(&q->items, q->nitems, &q->capitems, sizeof *q->items,
                      64))
        return LVAT_ENOMEM;
    if ((copy = lvat_slab_alloc(q->slab, cap)) == NULL)
        return LVAT_ENOMEM;
    if (len > 0) /* p may be NULL then */
        memcpy(copy, p, len);
    q->items[q->nitems++] = (text){copy, len, cap, SIZE_MAX};
    q->bytes += len;
    q->tail++;
    q->dirty = true;
    return LVAT_OK;
}

bool
lvat__runq_mem_item(lvat_kernel *k, uint64_t n, const char **p, size_t *len)
{
    lvat_runq *q = k->runq;

    if (!q->loaded || n < q->mem_first || n - q->mem_first >= q->nitems)
        return false;
    *p = q->items[n - q->mem_first].p;
    *len = q->items[n - q->mem_first].len;
    return true;
}

size_t
lvat__runq_mem_spaces(lvat_kernel *k, uint64_t n)
{
    text *t = &k->runq->items[n - k->runq->mem_first];

    if (t->spaces == SIZE_MAX) {
        t->spaces = 0;
        for (size_t i = 0; i < t->len; i++)
            t->spaces += t->p[i] == ' ';
    }
    return t->spaces;
}

int
lvat__runq_mem_extend(lvat_kernel *k, uint64_t n, const char *p, size_t len)
{
    lvat_runq *q = k->runq;
    size_t i = (size_t)(n - q->mem_first);
    text *t = &q->items[i];
    /* An item an earlier crank pushed keeps its old length for an abort
     * (only the tail item is extended, so one per crank at most). */
    bool undo = lvat_kv_in_crank(k->kv) && i < q->save.nitems &&
                q->merged != i;

    if (undo && LVAT_NEVER(q->merged != NONE))
        return LVAT_ESTATE;
    if (t->len + len > t->cap) {
        size_t cap = t->cap * 2 > t->len + len ? t->cap * 2 : t->len + len;
        char *grown = lvat_slab_realloc(q->slab, t->p, t->cap, cap);
        if (grown == NULL)
            return LVAT_ENOMEM;
        t->p = grown;
        t->cap = cap;
    }
    lvat__runq_mem_spaces(k, n);
    if (undo) {
        q->merged = i;
        q->merged_len = t->len;
        q->merged_spaces = t->spaces;
    }
    for (size_t j = 0; j < len; j++)
        t->spaces += p[j] == ' ';
    memcpy(t->p + t->len, p, len);
    t->len += len;
    q->bytes += len;
    return LVAT_OK;
}
