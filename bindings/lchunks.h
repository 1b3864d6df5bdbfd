/*
 * Compiled vat modules (lchunks.c): the runtime compiles each distinct
 * (chunk name, text) once and loads its bytecode into every later vat.
 * One cache serves the vats of one kernel, on the kernel's thread.
 */
#ifndef LVAT_LCHUNKS_H
#define LVAT_LCHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

typedef struct lvat_chunks lvat_chunks;

/* An empty cache that keeps at most max_bytes of names, texts and
 * bytecode (when a new module would not fit, the cache starts over).
 * NULL when out of memory. */
lvat_chunks *lvat_chunks_new(size_t max_bytes);
/* NULL is a no-op. */
void lvat_chunks_free(lvat_chunks *c);

/*
 * Loads `text` as a Lua chunk named `name` as luaL_loadbufferx(L, text,
 * len, name, "t") would: the same status and, on failure, the same
 * message on top; on success the function on top (lchunks.c says what a
 * load from bytecode does differently: C-call depth, peak memory).
 * [-0,+1,m]
 */
int lvat_chunks_load(lvat_chunks *c, lua_State *L, const char *text,
                     size_t len, const char *name);

/*
 * Compiles `text` as luaL_loadbufferx(L, text, len, name, "t") does, but
 * hands it to Lua's compiler in small pieces, between which it raises the
 * kill's message if the vat of L (lvat_lua_vat, when not NULL) has been
 * stopped: compiling is C, where no hook fires, and takes quadratic time
 * over some texts.  The kill comes back as this call's status and
 * message.  [-0,+1,m]
 */
int lvat_chunks_compile(lua_State *L, const char *text, size_t len,
                        const char *name);

/* Loads served from bytecode, loads that compiled, and bytes kept. */
void lvat_chunks_stats(const lvat_chunks *c, uint64_t *hits,
                       uint64_t *misses, size_t *bytes);

#endif
