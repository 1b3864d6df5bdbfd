/*
 * The vat runtime (the modules in lua/luavat/), compiled to bytecode at build time
 * by tools/luaembed and linked in as data.  Only bytecode of our own making
 * is ever loaded in binary mode (this, and vat modules lchunks.c compiled
 * from their text); vat code itself loads only text.
 */
#ifndef LVAT_LRUNTIME_H
#define LVAT_LRUNTIME_H

#include <stddef.h>

typedef struct lvat_lua_chunk {
    const char *name; /* module name, e.g. "luavat.promise" */
    const unsigned char *code;
    size_t len;
} lvat_lua_chunk;

extern const lvat_lua_chunk lvat_lua_runtime_chunks[];
extern const size_t lvat_lua_runtime_nchunks;

#endif
