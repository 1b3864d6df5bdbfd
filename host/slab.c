/*
 * Segregated free lists over bump-allocated arenas (see slab.h).
 */
#include "slab.h"

#include <stdint.h>
#include <string.h>

#include "alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define LVAT_SLAB_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LVAT_SLAB_PASSTHROUGH 1
#endif
#endif

#define GRAIN      8 /* Lua needs no more alignment than a double's */
#define FINE_MAX   256 /* up to here, a class every GRAIN bytes */
#define FINE       (FINE_MAX / GRAIN)
#define STEPS      4 /* then four classes per doubling, up to the max */
#define NCLASSES   (FINE + STEPS * 4) /* 256 -> 4096 is four doublings */
#define ARENA_SIZE ((size_t)64 << 10)

typedef struct block {
    struct block *next;
} block;

/* An arena's header; its blocks follow. */
typedef struct arena {
    struct arena *next;
    uint64_t pad; /* keeps the blocks 16-byte aligned, as malloc's are */
} arena;

struct lvat_slab {
    block *free[NCLASSES]; /* class c holds blocks of class_size(c) */
    char *bump, *end;      /* the newest arena's uncarved rest */
    arena *arenas;
    size_t arena_bytes;
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
    while (s->arenas != NULL) {
        arena *a = s->arenas;
        s->arenas = a->next;
        lvat_free(a);
    }
    lvat_free(s);
}

size_t
lvat_slab_arena_bytes(const lvat_slab *s)
{
    return s->arena_bytes;
}

static void
push_free(lvat_slab *s, void *p, size_t size)
{
    block *b = p;
    size_t c = class_of(size);

    b->next = s->free[c];
    s->free[c] = b;
}

/* A new arena; the old one's rest goes to the free lists in fine-class
 * pieces (a coarse class may be larger than the rest). */
static int
grow(lvat_slab *s)
{
    arena *a = lvat_malloc(ARENA_SIZE);

    if (a == NULL)
        return -1;
    while (s->end - s->bump >= GRAIN) {
        size_t piece = (size_t)(s->end - s->bump);
        if (piece > FINE_MAX)
            piece = FINE_MAX;
        push_free(s, s->bump, piece);
        s->bump += piece;
    }
    a->next = s->arenas;
    s->arenas = a;
    s->arena_bytes += ARENA_SIZE;
    s->bump = (char *)(a + 1);
    s->end = (char *)a + ARENA_SIZE;
    return 0;
}

static void *
small_alloc(lvat_slab *s, size_t size)
{
    size_t c = class_of(size);
    block *b = s->free[c];

    if (lvat__alloc_fails()) /* the tests' failure hook (alloc.h) */
        return NULL;
    if (b != NULL) {
        s->free[c] = b->next;
        return b;
    }
    size = class_size(c);
    if ((size_t)(s->end - s->bump) < size && grow(s) != 0)
        return NULL;
    b = (block *)s->bump;
    s->bump += size;
    return b;
}

static void
release(lvat_slab *s, void *ptr, size_t osize)
{
    if (ptr == NULL)
        return;
    if (osize <= LVAT_SLAB_MAX)
        push_free(s, ptr, osize);
    else
        lvat_free(ptr);
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
