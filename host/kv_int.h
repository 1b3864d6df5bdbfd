/*
 * Internals shared by kv.c (point access and cranks), kv_table.c (the
 * hash table), kv_block.c (the read snapshot and the block commit),
 * kv_sort.c and kv_iter.c (the ordered index and iteration) only.
 * Nothing else may include this header, except the kv's own unit tests.
 */
#ifndef LVAT_KV_INT_H
#define LVAT_KV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "store_int.h"

/* LMDB's default MDB_MAXKEYSIZE: longer keys cannot be stored. */
#define LVAT_KV_MAX_KEY 511

/*
 * One key changed in the current block.  An entry is in the hash table
 * (point access), in the list of entries in the order they were made
 * (walks of the whole block), and in the ordered index, a treap keyed by
 * (db, key) with random priorities (iteration and the sorted block write).
 */
typedef struct lvat_kv_entry {
    struct lvat_kv_entry *left;  /* ordered index: smaller keys */
    struct lvat_kv_entry *right; /* ordered index: larger keys */
    uint64_t hash;
    char *val; /* owned; NULL = deleted in this block (a tombstone) */
    uint32_t vlen;
    uint32_t klen;
    uint32_t gen;  /* crank generation that last recorded an undo */
    uint32_t prio; /* treap priority */
    uint32_t made; /* its place in kv->made */
    uint8_t db;
    uint8_t base_absent; /* known absent from the LMDB snapshot */
    char key[];          /* klen bytes plus a NUL */
} lvat_kv_entry;

/* What an entry held before the open crank first touched it. */
typedef struct lvat_kv_undo {
    lvat_kv_entry *e;
    char *old_val; /* owned until the crank ends */
    uint32_t old_vlen;
    uint8_t created;
    uint8_t old_base_absent;
} lvat_kv_undo;

/* A value deleted inside the open crank, freed when it ends. */
struct lvat_kv_dead {
    char *val;
    uint32_t len;
};

struct lvat_kv {
    lvat_store *store;
    MDB_txn *rtxn; /* the block's read snapshot; NULL until first read */
    MDB_cursor *cursor[LVAT_DB_COUNT];
    /* The hash table: open addressing, linear probing, at most half
     * full.  A slot holds its entry's hash, so that a lookup of a key the
     * block lacks (every new key's) reads no entry: on a big block each
     * entry read was a cache miss. */
    struct lvat_kv_slot {
        uint64_t hash;
        lvat_kv_entry *e; /* NULL: free */
    } *slots;
    size_t nslots, count, bytes;
    /* Every entry in the order made (NULL: unlinked since), so that walks
     * of the whole block (its write, its end) read entries in the order
     * the slab laid them out; compacted when half are holes. */
    lvat_kv_entry **made;
    size_t nmade, capmade;
    lvat_kv_entry *root; /* ordered index over every entry, once built */
    bool indexed;        /* the index is built (and kept) in this block */
    uint64_t rng;        /* treap priorities (xorshift state) */
    uint64_t seed;       /* of the overlay's hash (random per open) */
    lvat_kv_undo *undo;
    size_t nundo, capundo;
    /* What the open crank's writes hold until it ends, by db
     * (lvat_kv_crank_bytes); all 0 outside a crank. */
    size_t crank_bytes[LVAT_DB_COUNT];
    struct lvat_kv_dead *dead; /* values deleted in the open crank, freed
                                * when it ends */
    size_t ndead, capdead;
    struct lvat_slab *slab;    /* entries and values */
    bool in_crank;
    uint32_t gen;
    uint64_t epoch; /* lvat_kv_epoch */
    struct lvat_kv_rslot *rcache; /* kv_rcache.c; NULL until first used */
    uint32_t rcache_gen;          /* the snapshot's; starts at 1 */
    lvat_errbuf err;
    uint64_t lmdb_ns; /* time spent reading LMDB (stats) */
    uint32_t timing;  /* time LMDB reads now, counted so many times */
    uint32_t reads;   /* of the timed crank (lvat_time_weight) */
    int fail_code;    /* lvat_kv_fail_commits */
    unsigned fail_left;
    lvat_kv_hooks hooks;
};

/* Opens the block's read snapshot and cursors if not open yet (kv_block.c).
 * LVAT_OK or an LVAT_E* code with kv->err set. */
int lvat__kv_snapshot(lvat_kv *kv);

/* ---- kv_sort.c ---- */
/* The block's entries that change LMDB, in key order, as a new array in
 * *out (NULL when out of memory); returns how many. */
size_t lvat__kv_sorted_writes(lvat_kv *kv, lvat_kv_entry ***out);

/* ---- kv_rcache.c: LMDB's answers for the current read snapshot ---- */
/* True with *rc (LVAT_OK with *val, or LVAT_ENOTFOUND) when the snapshot's
 * answer for the key is cached; `hash` is the overlay's hash of the key. */
bool lvat__kv_rcache_get(lvat_kv *kv, unsigned db, const char *key,
                         size_t klen, uint64_t hash, int *rc, lvat_val *val);
/* Remembers the snapshot's answer (val NULL: no such key). */
void lvat__kv_rcache_put(lvat_kv *kv, unsigned db, const char *key,
                         size_t klen, uint64_t hash, const lvat_val *val);
/* Forgets every answer: the snapshot ended. */
void lvat__kv_rcache_clear(lvat_kv *kv);
void lvat__kv_rcache_free(lvat_kv *kv);

/* ---- kv_table.c: the hash table and the entries ---- */
/* What an entry costs the block's byte count beyond its key and value. */
#define LVAT_KV_ENTRY_OVERHEAD 64
/* A copy of n bytes and a NUL from the overlay's slab, or NULL. */
char *lvat__kv_val_dup(lvat_kv *kv, const char *p, size_t n);
/* Frees such a copy of n bytes; NULL is a no-op. */
void lvat__kv_val_free(lvat_kv *kv, char *v, size_t n);
/* The overlay's hash of a key (seeded per open). */
uint64_t lvat__kv_hash(const lvat_kv *kv, unsigned db, const char *key,
                       size_t klen);
/* The block's entry for the key whose hash is h, or NULL. */
lvat_kv_entry *lvat__kv_find(const lvat_kv *kv, unsigned db, const char *key,
                             size_t klen, uint64_t h);
/* A new entry for a key the block lacks (no value yet, not base_absent),
 * in the table, the list and the index; NULL when out of memory. */
lvat_kv_entry *lvat__kv_insert(lvat_kv *kv, unsigned db, const char *key,
                               size_t klen, uint64_t h);
/* Takes e out of the block and frees it and its value. */
void lvat__kv_unlink(lvat_kv *kv, lvat_kv_entry *e);
/* Frees every entry: the block becomes empty.  No crank is open. */
void lvat__kv_clear(lvat_kv *kv);

/* Adds `e` (its db and key set) to the ordered index / takes it out. */
/* Builds the ordered index on first ordered use in a block; from then on
 * inserts and unlinks keep it.  Before that they skip it: a block of
 * messages that never iterates pays nothing for order. */
void lvat__kv_index_build(lvat_kv *kv);
/* Key order of two entries: databases first, then keys. */
int lvat__kv_entry_cmp(const lvat_kv_entry *a, const lvat_kv_entry *b);
void lvat__kv_index_insert(lvat_kv *kv, lvat_kv_entry *e);
void lvat__kv_index_remove(lvat_kv *kv, lvat_kv_entry *e);

/* The entry after `e` in (db, key) order (the first one when e is NULL),
 * or NULL: walks the whole block in the order LMDB stores it. */
lvat_kv_entry *lvat__kv_index_succ(const lvat_kv *kv, const lvat_kv_entry *e);

#endif
