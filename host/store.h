/*
 * The LMDB environment of one kernel directory: opening (with the lock file
 * that keeps a second writer out), the schema version check, the named
 * databases and map growth.  Reads and writes go through kv.h, which keeps
 * the block's changes in memory and writes them here when the block
 * commits.  No module above store.c/kv.c sees an LMDB code.
 */
#ifndef LVAT_STORE_H
#define LVAT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "lvat_err.h"

#define LVAT_SCHEMA_VERSION 1

typedef enum lvat_dbid {
    LVAT_DB_KERNEL,   /* kernel tables: queue, objects, promises, c-lists */
    LVAT_DB_VATSTORE, /* vat id, NUL, vat key -> value (baggage) */
    LVAT_DB_SOURCES,  /* sha256 hex -> Lua source text */
    LVAT_DB_COUNT
} lvat_dbid;

typedef enum lvat_store_sync {
    LVAT_STORE_SYNC,       /* fsync data and meta page at each commit */
    LVAT_STORE_NOMETASYNC, /* fsync data; the meta page may lag one commit */
    LVAT_STORE_NOSYNC      /* no fsync; the OS writes when it likes */
} lvat_store_sync;

typedef struct lvat_store_config {
    const char *dir; /* created (mode 0700) when missing */
    lvat_store_sync sync;
    size_t map_size; /* initial map size in bytes; 0 = 1 GiB */
    bool readonly;   /* no lock file, no writes, no initialisation */
    bool reset;      /* wipe every table first (a fresh store, same dir) */
} lvat_store_config;

typedef struct lvat_store lvat_store;

/*
 * Opens (creating if needed) the store in cfg->dir.  A writer takes
 * DIR/luavat.lock first and fails with LVAT_ELOCKED ("... in use by pid N")
 * when another live process holds it.  A new store gets schemaVersion; an
 * existing one with another version fails with LVAT_ESCHEMA.  A read-only
 * open of a directory without a store fails with LVAT_ENOTFOUND.
 * *out is written only on success; `err` explains any failure.
 */
int lvat_store_open(const lvat_store_config *cfg,
                    lvat_store **out,
                    lvat_errbuf *err);

/* Closes the environment and releases the lock; NULL is a no-op. */
void lvat_store_close(lvat_store *s);

/* The directory this store was opened on (borrowed, valid while open). */
const char *lvat_store_dir(const lvat_store *s);
bool lvat_store_readonly(const lvat_store *s);
/* True when this open created the store (no schemaVersion before). */
bool lvat_store_created(const lvat_store *s);
size_t lvat_store_map_size(const lvat_store *s);

#endif
