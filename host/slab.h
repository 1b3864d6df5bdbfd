/*
 * A small-block allocator for callers that know each block's size when
 * they free it: every vat's Lua heap (one per runtime; Lua passes the old
 * size to its allocator) and what the kernel keeps for a block (the
 * overlay's entries and values, run-queue items, c-list pairs, promise
 * records).  Used from one thread at a time.
 *
 * Blocks need no header: a block of up to LVAT_SLAB_MAX bytes is carved
 * from 64 KiB arenas (mapped 1 MiB at a time, aligned, their pages taken
 * at once), rounded up to 8 bytes up to 256 and to a quarter of
 * a power of two beyond (320, 384, 448, 512, 640, ...), and a freed block
 * goes on the free list of its class for the next block of that class.
 * Larger blocks come from the C library.  Against malloc this saves the 8
 * to 23 bytes of header and rounding each small block carries (an idle
 * vat has ~1,500), and most of the time of the calls.  Keeping Lua's
 * middling blocks (string tables, stacks, table parts) here too means a
 * vat state built on one thread and used on another (lspare.h) never
 * frees into the C library's per-thread arenas, whose locks they would
 * then contend for.
 *
 * Freed blocks stay with the allocator until lvat_slab_free: its
 * footprint is the high-water mark of its small blocks.  Built with
 * AddressSanitizer, or with LVAT_SLAB_PASSTHROUGH defined (make valgrind
 * does), every block comes from the C library so that the checker still
 * sees each one.
 */
#ifndef LVAT_SLAB_H
#define LVAT_SLAB_H

#include <stddef.h>

#define LVAT_SLAB_MAX 4096

typedef struct lvat_slab lvat_slab;

/* A new, empty allocator; NULL if out of memory. */
lvat_slab *lvat_slab_new(void);

/* Frees every arena; NULL is a no-op.  No block may be in use. */
void lvat_slab_free(lvat_slab *s);

/*
 * lua_Alloc's contract: frees `ptr` (of `osize` bytes) when nsize is 0,
 * else returns a block of nsize bytes holding the first min(osize, nsize)
 * bytes of `ptr` (NULL: none), or NULL, leaving `ptr` as it was.
 */
void *lvat_slab_realloc(lvat_slab *s, void *ptr, size_t osize, size_t nsize);

/* Two of its cases on their own, for a caller that knows which one it has
 * (a Lua state's allocator: most calls make a new block or free one):
 * lvat_slab_realloc(s, NULL, 0, size) with 0 < size, and
 * lvat_slab_realloc(s, ptr, osize, 0). */
void *lvat_slab_alloc(lvat_slab *s, size_t size);
void lvat_slab_release(lvat_slab *s, void *ptr, size_t osize);

/* lvat_slab_alloc's common case alone, small enough to inline into a
 * Lua state's allocator: a block of `size` bytes from its free list or
 * the newest arena's uncarved rest, else NULL (the arena is full, the
 * size is past LVAT_SLAB_MAX, or the tests' failure hook is armed: call
 * lvat_slab_alloc). */
void *lvat_slab_take(lvat_slab *s, size_t size);

/* Bytes of arenas held (for tests and figures). */
size_t lvat_slab_arena_bytes(const lvat_slab *s);

/* A slab keeps what it was once given.  With none of its blocks in use,
 * this swaps *s for a fresh slab when it holds more than `keep` bytes
 * (a burst's), so that a burst does not pin its memory; with no memory
 * for the fresh one, *s stays.  The kernel's block structures (run
 * queue, c-list pairs, promise cache) shed past LVAT_SLAB_KEEP. */
void lvat_slab_shed(lvat_slab **s, size_t keep);
#define LVAT_SLAB_KEEP ((size_t)1 << 20)

/*
 * A block lives in the arena of the slab that carved it.  A Lua state
 * built on one thread and used on another (lspare.h) frees blocks of the
 * first slab into the second: those wait on the second's foreign lists.
 * lvat_slab_give_back moves the ones `owner` carved onto the free lists
 * of `to` (on the second's thread, e.g. into a go-between slab that has
 * no arenas); lvat_slab_adopt moves all the free blocks of `from` onto
 * `s` (on the owner's thread).  The caller orders the two threads.  A
 * slab looks up a freed block's arena only once told to expect foreign
 * blocks (the lookup is a cache miss per free).
 */
void lvat_slab_expect_foreign(lvat_slab *s);
void lvat_slab_give_back(lvat_slab *s, const lvat_slab *owner, lvat_slab *to);
void lvat_slab_adopt(lvat_slab *s, lvat_slab *from);

#endif
