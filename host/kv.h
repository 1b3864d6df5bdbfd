/*
 * The kernel's view of the store: byte keys and values in the named
 * databases of store.h, with two levels of transaction held in memory.
 *
 * A *block* collects every change since the last commit in one in-memory
 * table over a read snapshot of LMDB; lvat_kv_block_commit writes the table
 * in one LMDB write transaction.  A *crank* is a child transaction of the
 * block: its writes go into the same table with an undo record each, so
 * lvat_kv_crank_abort puts back exactly what the block had.  Keys born and
 * deleted inside one block (queue entries, short-lived promises) never
 * reach LMDB at all.  Between blocks no LMDB write transaction exists.
 *
 * Keys and values returned through lvat_val are borrowed.  They stay valid
 * until that key is written again, the crank aborts, the block ends
 * (commit or abort) or lvat_kv_refresh is called.  Deleting the key inside
 * a crank does not end them: they stay readable until that crank ends (the
 * run queue decodes an item, deletes it, and keeps using the body).
 * Outside a crank a delete ends them at once, so copy a key before
 * deleting it there.
 *
 * Keys are 1 to 511 bytes (LMDB's limit) and may hold any bytes, NUL
 * included; values are any bytes up to 4 GiB.  A view is used by one
 * thread, and only one writable view may exist per store.
 */
#ifndef LVAT_KV_H
#define LVAT_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct lvat_val {
    const char *p;
    size_t len;
} lvat_val;

typedef struct lvat_kv lvat_kv;

/* Flag for lvat_kv_put: the caller knows the key is not in LMDB (a fresh
 * queue slot or id), so deleting it later in this block leaves nothing to
 * write.  Ignored when the block already holds the key. */
#define LVAT_KV_NEW 1u

/*
 * Makes the kv view of `store` (borrowed; it must outlive the kv); its read
 * snapshot opens at the first read.  LVAT_OK or LVAT_ENOMEM; *out is
 * written only on success.
 */
int lvat_kv_new(lvat_store *store, lvat_kv **out, lvat_errbuf *err);
/* Discards any uncommitted block and frees the view; NULL is a no-op. */
void lvat_kv_free(lvat_kv *kv);

/* Returns LVAT_OK (value in *val, borrowed), LVAT_ENOTFOUND (also for an
 * empty or over-long key), LVAT_EINVAL (no such db) or LVAT_ESTORE. */
int lvat_kv_get(lvat_kv *kv,
                lvat_dbid db,
                const char *key,
                size_t klen,
                lvat_val *val);
/* As lvat_kv_get, but sees only the block's changes, never LMDB: for keys
 * the caller knows LMDB cannot hold (see lvat_kv_epoch). */
int lvat_kv_get_pending(lvat_kv *kv,
                        lvat_dbid db,
                        const char *key,
                        size_t klen,
                        lvat_val *val);
/* Changes whenever LMDB's content may have changed under the kv (a block
 * committed, or the read snapshot ended, so the next one may see another
 * process's writes) or the block was thrown away: a caller that learnt
 * "nothing from before this number is stored" keeps that knowledge while
 * the epoch stays the same. */
uint64_t lvat_kv_epoch(const lvat_kv *kv);
/* Copies key and value.  LVAT_OK, LVAT_ENOMEM, LVAT_EINVAL (key longer than
 * 511 bytes or empty, no such db), LVAT_EREADONLY.  On failure nothing
 * changed. */
int lvat_kv_put(lvat_kv *kv,
                lvat_dbid db,
                const char *key,
                size_t klen,
                const char *val,
                size_t vlen,
                unsigned flags);
/* Deleting an absent key is not an error.  LVAT_OK, LVAT_ENOMEM,
 * LVAT_EINVAL (no such db), LVAT_EREADONLY; on failure nothing changed. */
int lvat_kv_del(lvat_kv *kv, lvat_dbid db, const char *key, size_t klen);

/*
 * The first key after `from` (or equal to it when `inclusive`) that starts
 * with `prefix`, in byte order, seeing the block's changes.  A `from`
 * before `prefix` starts at the prefix.  Returns LVAT_OK with key and value
 * (borrowed), LVAT_ENOTFOUND at the end, LVAT_EINVAL or LVAT_ESTORE, or
 * the scanning hook's error (LVAT_ENOMEM).
 */
int lvat_kv_next(lvat_kv *kv,
                 lvat_dbid db,
                 const char *from,
                 size_t flen,
                 bool inclusive,
                 const char *prefix,
                 size_t plen,
                 lvat_val *key,
                 lvat_val *val);

/*
 * Deletes every key that starts with `prefix` (at most `limit` keys, 0 =
 * all); *deleted (may be NULL) gets the count.  Returns LVAT_OK when the
 * prefix is now empty, LVAT_EPENDING when `limit` stopped it with keys
 * left.  Not atomic: after LVAT_ENOMEM, LVAT_ESTORE or LVAT_EREADONLY the
 * *deleted keys are gone (abort the crank to get them back).
 */
int lvat_kv_del_prefix(lvat_kv *kv,
                       lvat_dbid db,
                       const char *prefix,
                       size_t plen,
                       size_t limit,
                       size_t *deleted);

/*
 * What a layer above keeps for the block in memory (the kernel's run
 * queue, counters, records, new c-list pairs) follows the overlay through
 * these calls: a crank's begin and end (commit true, or abort), and a
 * block's commit, just before it is written (block_writing may write to
 * the kv; an error fails the commit, leaving the block intact) and its
 * abort; `scanning` runs before lvat_kv_next reads a db in order, so what
 * is kept may be written first.  Any may be NULL.
 */
typedef struct lvat_kv_hooks {
    void (*crank_begin)(void *ud);
    void (*crank_end)(void *ud, bool commit);
    int (*block_writing)(void *ud);
    void (*block_abort)(void *ud);
    int (*scanning)(void *ud, lvat_dbid db); /* before lvat_kv_next reads */
    void *ud;
} lvat_kv_hooks;
void lvat_kv_set_hooks(lvat_kv *kv, const lvat_kv_hooks *hooks);

/* Crank: a child transaction of the block.  Cranks do not nest (a nested
 * begin asserts; release builds keep the open crank).  Commit and abort
 * cannot fail. */
void lvat_kv_crank_begin(lvat_kv *kv);
void lvat_kv_crank_commit(lvat_kv *kv);
void lvat_kv_crank_abort(lvat_kv *kv);
bool lvat_kv_in_crank(const lvat_kv *kv);
/*
 * Bytes the open crank's writes to `db` hold in memory until it ends (0
 * outside a crank), so that a caller can bound them: a key the block did
 * not hold costs its entry (the entry, the key and a NUL), each key's
 * first write in the crank its undo record, a value its length and a NUL.
 * What a key held before the crank is not counted (the block held it
 * already).  A value the crank wrote and then overwrites is freed at once
 * and stops counting; one it wrote and then deletes stays readable until
 * the crank ends (see above), so it counts on, with its record.  Allocator
 * rounding, the hash table and the list of entries are not counted.
 */
size_t lvat_kv_crank_bytes(const lvat_kv *kv, lvat_dbid db);

/*
 * Writes the block to LMDB in one transaction and starts a new block on a
 * fresh snapshot.  MDB_MAP_FULL grows the map and retries, so it never loses
 * the block.  LVAT_ETXNFULL, LVAT_EMAPFULL (the map cannot grow), LVAT_ENOMEM
 * or LVAT_ESTORE leave the block intact in memory: the caller may retry or
 * call lvat_kv_block_abort.  LVAT_ESTATE when a crank is open,
 * LVAT_EREADONLY on a read-only store.  `err` (may be NULL) says why.
 */
int lvat_kv_block_commit(lvat_kv *kv, lvat_errbuf *err);
/*
 * Tests only: the next `n` block commits fail with `code` (for example
 * LVAT_ETXNFULL, which LMDB is hard to provoke into) before touching LMDB,
 * leaving the block intact as a real failure would.
 */
void lvat_kv_fail_commits(lvat_kv *kv, int code, unsigned n);

/* Throws the block's changes away and takes a fresh snapshot. */
void lvat_kv_block_abort(lvat_kv *kv);

/* Nanoseconds spent reading LMDB since the view was made, counting only
 * reads made while timing is on (stats samples some cranks), each as many
 * times as set_timing's `weight` says (0: timing off). */
uint64_t lvat_kv_lmdb_ns(const lvat_kv *kv);
void lvat_kv_set_timing(lvat_kv *kv, uint32_t weight);

/* Approximate bytes and entries held by the current block. */
size_t lvat_kv_block_bytes(const lvat_kv *kv);
size_t lvat_kv_block_entries(const lvat_kv *kv);

/* Ends the read snapshot so another writer's commits become visible
 * (read-only views); the next read takes a new snapshot. */
void lvat_kv_refresh(lvat_kv *kv);

/* The last store error met by a get/next (message for the kernel log). */
const char *lvat_kv_errmsg(const lvat_kv *kv);

#endif
