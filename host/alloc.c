/*
 * lvat_malloc and friends: thin wrappers over the C library with a
 * fail-the-Nth-call hook for tests.  The hook's counters are the only
 * static state in host/: one set per thread, so a test arms failures on
 * its own thread alone, and the runtime's other threads (a spare-state
 * builder, lspare.h) never race it.
 */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

_Thread_local unsigned long lvat__fail_at;
_Thread_local unsigned long lvat__alloc_count;
static _Thread_local int fail_sticky;

int
lvat__alloc_fails_armed(void)
{
    return lvat__alloc_count == lvat__fail_at ||
           (fail_sticky && lvat__alloc_count > lvat__fail_at);
}

unsigned long
lvat_alloc_fail_after(unsigned long n, int sticky)
{
    unsigned long seen = lvat__alloc_count;

    lvat__fail_at = n;
    fail_sticky = sticky;
    lvat__alloc_count = 0;
    return seen;
}

void *
lvat_malloc(size_t size)
{
    if (lvat__alloc_fails())
        return NULL;
    return malloc(size ? size : 1);
}

void *
lvat_calloc(size_t n, size_t size)
{
    if (lvat__alloc_fails())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *
lvat_realloc(void *ptr, size_t size)
{
    if (lvat__alloc_fails())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void
lvat_free(void *ptr)
{
    free(ptr);
}

bool
lvat_reserve(void *arrayp, size_t n, size_t *cap, size_t size, size_t first)
{
    size_t want = *cap ? *cap * 2 : first;
    void *old, *p;

    if (n < *cap)
        return true;
    memcpy(&old, arrayp, sizeof old); /* any pointer type's array */
    if ((p = lvat_realloc(old, want * size)) == NULL)
        return false;
    memcpy(arrayp, &p, sizeof p);
    *cap = want;
    return true;
}

void
lvat_release_big(void *arrayp, size_t *cap, size_t keep)
{
    void *old;

    if (*cap <= keep)
        return;
    memcpy(&old, arrayp, sizeof old);
    lvat_free(old);
    old = NULL;
    memcpy(arrayp, &old, sizeof old);
    *cap = 0;
}

char *
lvat_memdup(const void *p, size_t len)
{
    char *s = lvat_malloc(len + 1);

    if (s == NULL)
        return NULL;
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

char *
lvat_strdup(const char *s)
{
    return lvat_memdup(s, strlen(s));
}
