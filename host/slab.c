/*
 * Segregated free lists over bump-allocated arenas (see slab.h).
 */
#include "slab.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"

/* Every block from the C library instead (make valgrind defines it): a
 * checker sees the bounds and lifetime of each block, where inside an
 * arena it would see none.  AddressSanitizer builds always do. */
#ifndef LVAT_SLAB_PASSTHROUGH
#if defined(__SANITIZE_ADDRESS__)
#define LVAT_SLAB_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LVAT_SLAB_PASSTHROUGH 1
#endif
#endif
#endif

#define GRAIN        8 /* Lua needs no more alignment than a double's */
#define FINE_MAX     256 /* up to here, a class every GRAIN bytes */
#define FINE         (FINE_MAX / GRAIN)
#define STEPS        4 /* then four classes per doubling, up to the max */
#define NCLASSES     (FINE + STEPS * 4) /* 256 -> 4096 is four doublings */
#define ARENA_SIZE   ((size_t)64 << 10) /* and its alignment */
#define CHUNK_ARENAS 16 /* arenas mapped at a time */

typedef struct block {
    struct block *next;
} block;

/* An arena's header, at its ARENA_SIZE-aligned start: any block's arena
 * is its address rounded down, so a block knows the slab that carved it. */
typedef struct arena {
    struct lvat_slab *owner;
    struct arena *next_chunk; /* a chunk's first arena: the next chunk */
} arena;

struct lvat_slab {
    block *free[NCLASSES];    /* class c holds blocks of class_size(c) */
    block *foreign[NCLASSES]; /* freed here, carved by another slab */
    char *bump, *end;         /* the newest arena's uncarved rest */
    arena *chunks;            /* their first arenas, newest first */
    unsigned chunk_used;      /* arenas of the newest chunk started */
    size_t arena_bytes;
    bool mixed; /* may be handed another slab's blocks */
};

/* The class of a block of `size` bytes (1 to LVAT_SLAB_MAX): exact
 * multiples of GRAIN up to FINE_MAX, then steps of a quarter of a power
 * of two, so that a block wastes under a fifth of its size. */
static size_t
class_of(size_t size)
{
    unsigned p;

    if (size <= FINE_MAX)
        return (size - 1) / GRAIN;
    p = 63u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    return FINE + (p - 8) * STEPS + ((size - 1) >> (p - 2)) - STEPS;
}

/* The bytes of a block of class c: the largest size class_of maps to c. */
static size_t
class_size(size_t c)
{
    size_t j = c - FINE;

    if (c < FINE)
        return (c + 1) * GRAIN;
    return (STEPS + 1 + j % STEPS) << (8 + j / STEPS - 2);
}

static arena *
arena_of(const void *p)
{
    return (arena *)((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1));
}

lvat_slab *
lvat_slab_new(void)
{
    return lvat_calloc(1, sizeof(lvat_slab));
}

void
lvat_slab_free(lvat_slab *s)
{
    if (s == NULL)
        return;
    while (s->chunks != NULL) {
        arena *c = s->chunks;
        s->chunks = c->next_chunk;
        munmap(c, CHUNK_ARENAS * ARENA_SIZE);
    }
    lvat_free(s);
}

size_t
lvat_slab_arena_bytes(const lvat_slab *s)
{
    return s->arena_bytes;
}

void
lvat_slab_shed(lvat_slab **s, size_t keep)
{
    lvat_slab *fresh;

    if ((*s)->arena_bytes > keep && (fresh = lvat_slab_new()) != NULL) {
        lvat_slab_free(*s);
        *s = fresh;
    }
}

static void
push(block **lists, void *p, size_t c)
{
    block *b = p;

    b->next = lists[c];
    lists[c] = b;
}

/* CHUNK_ARENAS arenas, aligned to ARENA_SIZE: mapped with room to spare,
 * then trimmed, then populated.  Arenas fill fast (a vat's state is
 * ~45 KB), and taking a chunk's pages one fault at a time was a sixth of
 * launching a vat; one call takes them all.  A kernel without
 * MADV_POPULATE_WRITE (before Linux 5.14) refuses it, and the pages are
 * then taken as they are touched. */
static arena *
map_chunk(void)
{
    size_t want = CHUNK_ARENAS * ARENA_SIZE, len = want + ARENA_SIZE;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *a;

    if (p == MAP_FAILED)
        return NULL;
    a = (char *)arena_of(p + ARENA_SIZE - 1);
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + len > a + want)
        munmap(a + want, (size_t)(p + len - (a + want)));
    (void)madvise(a, want, MADV_POPULATE_WRITE);
    return (arena *)a;
}

/* A new arena.  The old one's rest goes to the free lists as the largest
 * blocks that fit.  Out of line: inlined, its registers made every
 * allocation save and restore six. */
static __attribute__((noinline)) int
grow(lvat_slab *s)
{
    arena *a;

    if (s->chunks == NULL || s->chunk_used == CHUNK_ARENAS) {
        if ((a = map_chunk()) == NULL)
            return -1;
        a->next_chunk = s->chunks;
        s->chunks = a;
        s->chunk_used = 0;
    }
    while (s->end - s->bump >= GRAIN) {
        size_t rest = (size_t)(s->end - s->bump);
        size_t c = class_of(rest < LVAT_SLAB_MAX ? rest : LVAT_SLAB_MAX);
        if (class_size(c) > rest)
            c--;
        push(s->free, s->bump, c);
        s->bump += class_size(c);
    }
    a = (arena *)((char *)s->chunks + s->chunk_used++ * ARENA_SIZE);
    a->owner = s;
    s->arena_bytes += ARENA_SIZE;
    s->bump = (char *)(a + 1);
    s->end = (char *)a + ARENA_SIZE;
    return 0;
}

/* A block of class c from its free list or the newest arena's uncarved
 * rest; NULL when the arena has no room. */
static inline block *
carve(lvat_slab *s, size_t c)
{
    block *b = s->free[c];
    size_t size;

    if (b != NULL) {
        s->free[c] = b->next;
        return b;
    }
    size = class_size(c);
    if ((size_t)(s->end - s->bump) < size)
        return NULL;
    b = (block *)s->bump;
    s->bump += size;
    return b;
}

static inline void *
small_alloc(lvat_slab *s, size_t size)
{
    size_t c;
    block *b;

    if (lvat__alloc_fails()) /* the tests' failure hook (alloc.h) */
        return NULL;
    c = class_of(size);
    if ((b = carve(s, c)) == NULL && grow(s) == 0)
        b = carve(s, c);
    return b;
}

/* A freed block goes back to its arena's slab: here when this slab
 * carved it, else among the foreign ones (lvat_slab_give_back). */
static void
release(lvat_slab *s, void *ptr, size_t osize)
{
    if (ptr == NULL)
        return;
    if (osize > LVAT_SLAB_MAX)
        lvat_free(ptr);
    else if (!s->mixed || arena_of(ptr)->owner == s)
        push(s->free, ptr, class_of(osize));
    else
        push(s->foreign, ptr, class_of(osize));
}

void
lvat_slab_expect_foreign(lvat_slab *s)
{
    s->mixed = true;
}

void
lvat_slab_give_back(lvat_slab *s, const lvat_slab *owner, lvat_slab *to)
{
    for (size_t c = 0; c < NCLASSES; c++) {
        block *b = s->foreign[c], *next, *keep = NULL;

        for (; b != NULL; b = next) {
            next = b->next;
            if (arena_of(b)->owner == owner)
                push(to->free, b, c);
            else
                push(&keep, b, 0);
        }
        s->foreign[c] = keep;
    }
}

void
lvat_slab_adopt(lvat_slab *s, lvat_slab *from)
{
    for (size_t c = 0; c < NCLASSES; c++) {
        block *b = from->free[c], *next;

        for (; b != NULL; b = next) {
            next = b->next;
            push(s->free, b, c);
        }
        from->free[c] = NULL;
    }
}

void *
lvat_slab_take(lvat_slab *s, size_t size)
{
    block *b;

#ifdef LVAT_SLAB_PASSTHROUGH
    return NULL;
#endif
    if (size > LVAT_SLAB_MAX || lvat__fail_at != 0 ||
        (b = carve(s, class_of(size))) == NULL)
        return NULL;
    lvat__alloc_count++; /* one allocation, as lvat_slab_alloc counts */
    return b;
}

void *
lvat_slab_alloc(lvat_slab *s, size_t size)
{
#ifdef LVAT_SLAB_PASSTHROUGH
    return lvat_malloc(size);
#endif
    return size <= LVAT_SLAB_MAX ? small_alloc(s, size) : lvat_malloc(size);
}

void
lvat_slab_release(lvat_slab *s, void *ptr, size_t osize)
{
#ifdef LVAT_SLAB_PASSTHROUGH
    lvat_free(ptr);
    return;
#endif
    release(s, ptr, osize);
}

void *
lvat_slab_realloc(lvat_slab *s, void *ptr, size_t osize, size_t nsize)
{
    void *p;

#ifdef LVAT_SLAB_PASSTHROUGH
    if (nsize == 0) {
        lvat_free(ptr);
        return NULL;
    }
    return lvat_realloc(ptr, nsize);
#endif
    if (ptr == NULL)
        osize = 0; /* Lua passes the new object's type there */
    if (nsize == 0) {
        release(s, ptr, osize);
        return NULL;
    }
    if (osize > LVAT_SLAB_MAX && nsize > LVAT_SLAB_MAX)
        return lvat_realloc(ptr, nsize);
    if (osize > 0 && osize <= LVAT_SLAB_MAX && nsize <= LVAT_SLAB_MAX &&
        class_of(osize) == class_of(nsize))
        return ptr;
    p = nsize <= LVAT_SLAB_MAX ? small_alloc(s, nsize) : lvat_malloc(nsize);
    if (p == NULL || ptr == NULL)
        return p;
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    release(s, ptr, osize);
    return p;
}
