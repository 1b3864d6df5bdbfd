/*
 * Internals of the store room, shared by store.c and the kv files
 * (through kv_int.h) only: the LMDB handles and the helpers that translate
 * LMDB codes and grow the map.  Nothing else may include this header (it
 * is the only place above libc that names lmdb.h).
 */
#ifndef LVAT_STORE_INT_H
#define LVAT_STORE_INT_H

#include <lmdb.h>

#include "store.h"

struct lvat_store {
    MDB_env *env;
    MDB_dbi dbi[LVAT_DB_COUNT];
    char *dir;
    int lock_fd;
    bool readonly;
    bool created;
    size_t map_size;
};

/* Maps an LMDB return code to an LVAT code, recording `what` in `err`. */
int lvat__store_err(int mdb_rc, lvat_errbuf *err, const char *what);

/*
 * Grows the map to at least `min_size` (doubling).  No transaction of this
 * process may be active.  Returns LVAT_OK or LVAT_ESTORE.
 */
int lvat__store_grow(lvat_store *s, size_t min_size, lvat_errbuf *err);

/* Begins a transaction, absorbing MDB_MAP_RESIZED from other processes. */
int lvat__store_txn_begin(lvat_store *s,
                          unsigned flags,
                          MDB_txn **txn,
                          lvat_errbuf *err);

#endif
