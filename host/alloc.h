/*
 * The one allocator seam of host/ and bindings/.  Tests can make the Nth
 * call fail (Lua's Memcontrol, SQLite's OOM loops) to prove every failure
 * path is clean.  lvat_free(NULL) is a no-op; lvat_realloc never frees on
 * failure (the old block stays valid).
 */
#ifndef LVAT_ALLOC_H
#define LVAT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *lvat_malloc(size_t size);
void *lvat_calloc(size_t n, size_t size);
void *lvat_realloc(void *ptr, size_t size);
void lvat_free(void *ptr);

/* Makes room for element n of the array *arrayp (an element is `size`
 * bytes, *cap of them allocated), doubling it, or making `first` when
 * empty.  False when out of memory: the array is as it was. */
bool lvat_reserve(void *arrayp, size_t n, size_t *cap, size_t size,
                  size_t first);
/* Frees the array *arrayp when more than `keep` elements are allocated
 * (a burst is over), leaving it empty for lvat_reserve to grow again. */
void lvat_release_big(void *arrayp, size_t *cap, size_t keep);

/* Returns an owned copy of `len` bytes plus a terminating NUL, or NULL. */
char *lvat_memdup(const void *p, size_t len);
/* Returns an owned copy of the NUL-terminated `s`, or NULL. */
char *lvat_strdup(const char *s);

/*
 * Test hook: make the `n`th allocation from now fail (1 = the next one), and
 * every one after it when `sticky`; 0 turns failures off.  Returns how many
 * allocations happened since the last call (so a test can loop n = 1, 2, ...
 * until the operation succeeds).  Counts and fails the calling thread's
 * allocations only; tests only.
 */
unsigned long lvat_alloc_fail_after(unsigned long n, int sticky);

/* The hook's state, the calling thread's (alloc.c). */
extern _Thread_local unsigned long lvat__fail_at; /* 0 = never fail */
extern _Thread_local unsigned long lvat__alloc_count; /* since armed */
int lvat__alloc_fails_armed(void);

/* For allocators built on these (slab.h): counts one allocation for the
 * hook above and says whether it must fail.  Inline: it runs for every
 * block of every vat's Lua state. */
static inline int
lvat__alloc_fails(void)
{
    lvat__alloc_count++;
    return lvat__fail_at != 0 && lvat__alloc_fails_armed();
}

#endif
