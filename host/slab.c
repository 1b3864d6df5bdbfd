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
#define NCLASSES   (LVAT_SLAB_MAX / GRAIN)
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
    block *free[NCLASSES]; /* class c holds blocks of (c + 1) * GRAIN */
    char *bump, *end;      /* the newest arena's uncarved rest */
    arena *arenas;
    size_t arena_bytes;
};

static size_t
class_of(size_t size)
{
    return (size - 1) / GRAIN;
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

/* A new arena; the old one's rest goes to the free list of its size. */
static int
grow(lvat_slab *s)
{
    arena *a = lvat_malloc(ARENA_SIZE);
    size_t rest = (size_t)(s->end - s->bump);

    if (a == NULL)
        return -1;
    if (rest >= GRAIN)
        push_free(s, s->bump, rest);
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
    size = (c + 1) * GRAIN;
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
