/*
 * Spare vat states.  Most of a vat launch's time is its Lua state: the
 * standard libraries, the curated environment and the vat runtime, made
 * alike for every vat (and stock Lua 5.4 cannot share them between
 * states).  With lvat_lua_options.spare_states set, a thread of the
 * runtime's own makes that much ahead of need, and a vat creation on the
 * kernel's thread takes a ready one and adds only what is the vat's own:
 * its name, limits and endowments.
 *
 * The pool fills once a vat has been created, so a kernel that never
 * creates one builds none, and refills after each take.  A spare is made
 * exactly as the kernel's thread would make it, from its own allocator
 * (slabs serve one thread); taken, it allocates from the runtime's.
 */
#ifndef LVAT_LSPARE_H
#define LVAT_LSPARE_H

#include <stddef.h>

#include "lbind.h"

typedef struct lvat_spares lvat_spares;

#define LVAT_SPARES_MAX 4096

/* Starts a builder keeping up to `target` (at most LVAT_SPARES_MAX)
 * spare states for `rt`.  *out is written only on success. */
int lvat_spares_new(lvat_lua_runtime *rt, size_t target, lvat_spares **out,
                    lvat_errbuf *err);

/* Stops the builder and frees the spares left; NULL is a no-op. */
void lvat_spares_free(lvat_spares *s);

/* A ready spare (still on the builder's allocator: the caller moves it)
 * whose making peaked within `mem_limit` bytes (0: any), or NULL when
 * there is none or `s` is NULL.  Asks for more, and hands the builder
 * back the blocks of its arenas the runtime's slab holds.  On the
 * kernel's thread. */
lvat_lvat *lvat_spares_take(lvat_spares *s, size_t mem_limit);

/* What a pool has done, for tests and figures. */
typedef struct lvat_spares_stats {
    size_t ready;         /* spares waiting now */
    unsigned long built;  /* spares made */
    unsigned long taken;  /* vat creations that found one */
    unsigned long missed; /* vat creations that found none */
    size_t arena_bytes;   /* the builder's slab (slab.h) */
} lvat_spares_stats;

void lvat_spares_get_stats(lvat_spares *s, lvat_spares_stats *out);

/* ---- What lvat.c and lwatchdog.c provide ---- */
/* A vat's state before it knows which vat it is; NULL if it failed. */
lvat_lvat *lvat_lua_vat_new_spare(lvat_lua_runtime *rt,
                                  struct lvat_slab *slab);
void lvat_lua_vat_free(lvat_lvat *v);
/* The runtime's spares; NULL when spare_states is 0. */
lvat_spares *lvat_lua_runtime_spares(lvat_lua_runtime *rt);

#endif
