/*
 * The promise cache's own structures (kpcache.c, kpcache_value.c).
 * Internal to those two files.
 */
#ifndef LVAT_KPCACHE_INT_H
#define LVAT_KPCACHE_INT_H

#include "kernel_int.h"

/* What an entry knows of its promise's settled value (kp<N>.v). */
enum {
    VALUE_UNKNOWN = 0, /* nothing: the overlay and the store have it */
    VALUE_SET,         /* val holds it */
    VALUE_GONE         /* deleted in this block */
};

typedef struct entry {
    struct entry *next; /* hash chain */
    lvat_kref kp;
    lvat_kprom p;  /* subs in p.subs_inline, or owned */
    uint64_t gen;  /* the kv crank that saved an undo record */
    size_t undo;   /* that record's index, while that crank runs; BORN */
    bool present;  /* false: deleted in this block */
    bool dirty;    /* differs from the overlay */
    bool fresh;    /* the overlay and the store have never had it */
    /* The value, as capdata text (kpcache_value.c). */
    char *val;
    size_t vlen;
    char value;    /* VALUE_* */
    bool vdirty;   /* differs from the overlay */
    bool vfresh;   /* the overlay and the store have never had it */
} entry;

/* An entry as the open kv crank found it.  Undo records move when their
 * array grows, so a copy's inline subscribers are found again by count
 * (lvat__kp_copy keeps them inline whenever they fit): undo_record.  The
 * value buffer is not copied: the one the entry had, kept until the crank
 * ends (kpcache_value.c). */
typedef struct undo {
    entry *e;
    lvat_kprom p; /* a copy, owning its subscribers */
    bool present, dirty, fresh;
    char *val;
    size_t vlen;
    char value;
    bool vdirty, vfresh;
} undo;

/* entry.undo of an entry its crank made: it has no undo record. */
#define BORN SIZE_MAX

/* A change to the decider index: v<vat>.d.<kp> added or deleted. */
typedef struct index_op {
    lvat_kref kp;
    uint32_t vat;
    bool add;
} index_op;

struct lvat_kpcache {
    entry **b; /* buckets, a power of two */
    size_t nb, n;
    struct lvat_slab *slab; /* entries and values: the C library's malloc
                             * and free cost ten times as much, once per
                             * send */
    undo *u;
    size_t nu, capu;
    /* Entries the open crank made: undone by unlinking, so a pointer
     * each (a crank of 100,000 sends makes as many). */
    entry **born;
    size_t nborn, capborn;
    uint64_t gen; /* counts kv cranks from 1 */
    bool in_crank;
    index_op *ops; /* in order; applied when the crank commits */
    size_t nops, capops;
    bool on; /* a crank run by crank.c: index changes wait for its end */
    /* Value buffers let go of in the open crank, freed when it ends: a
     * reader of the crank may still hold one. */
    struct trashed {
        char *p;
        size_t size;
    } *trash;
    size_t ntrash, captrash;
    size_t vbytes; /* bytes of the values held */
};

/* kpcache.c */
bool lvat__kpc_enabled(const lvat_kernel *k);
entry *lvat__kpc_lookup(const struct lvat_kpcache *c, lvat_kref kp);
/* Saves e as the open kv crank found it (lvat__kpc_touch's slow path). */
int lvat__kpc_save(struct lvat_kpcache *c, entry *e, bool created);

/* Saves e as the open kv crank found it, once per crank: inline, as a
 * send touches its promise about eleven times and saves it at most
 * once in each of its cranks. */
static inline int
lvat__kpc_touch(struct lvat_kpcache *c, entry *e, bool created)
{
    if (!c->in_crank || e->gen == c->gen)
        return LVAT_OK;
    return lvat__kpc_save(c, e, created);
}

/* kpcache_value.c */
/* Settles the value buffers of an undo record at its crank's end: the
 * one the crank replaced goes (commit), or comes back (abort). */
void lvat__kpv_commit(struct lvat_kpcache *c, undo *u);
void lvat__kpv_abort(struct lvat_kpcache *c, undo *u);
/* Frees the crank's trash. */
void lvat__kpv_empty_trash(struct lvat_kpcache *c);
/* Frees an entry's value (the entry leaves the cache). */
void lvat__kpv_free(struct lvat_kpcache *c, entry *e);
/* Writes a changed value to the overlay. */
int lvat__kpv_write_back(lvat_kernel *k, entry *e);

#endif
