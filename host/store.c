/*
 * The store room: one LMDB environment per kernel directory, its lock file,
 * its named databases and its schema version.  Transactions for kernel work
 * are made by kv.c; this file only opens, checks, grows and closes.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "store_int.h"

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
/* Room for "/luavat.lock" and friends in the PATH_MAX-sized buffers. */
#define MAX_DIR_LEN 4000
#define PATH_BUF    (MAX_DIR_LEN + 64)

static const char *const db_names[LVAT_DB_COUNT] = {"kernel", "vatstore",
                                                    "sources"};

/* ---- Errors ---- */

int
lvat__store_err(int mdb_rc, lvat_errbuf *err, const char *what)
{
    int code;

    switch (mdb_rc) {
    case MDB_SUCCESS:
        return LVAT_OK;
    case MDB_NOTFOUND:
        return LVAT_ENOTFOUND;
    case MDB_MAP_FULL:
        code = LVAT_EMAPFULL;
        break;
    case MDB_TXN_FULL:
        code = LVAT_ETXNFULL;
        break;
    case ENOMEM:
        code = LVAT_ENOMEM;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        code = LVAT_ECORRUPT;
        break;
    case EACCES:
    case EROFS:
        code = LVAT_EREADONLY;
        break;
    case MDB_PANIC: /* LMDB refuses every later write of this open */
        return lvat_errbuf_set(err, LVAT_ESTORE,
                               "%s: %s; nothing more can be written until "
                               "the store is reopened (restart the process)",
                               what, mdb_strerror(mdb_rc));
    default:
        code = LVAT_ESTORE;
        break;
    }
    return lvat_errbuf_set(err, code, "%s: %s", what, mdb_strerror(mdb_rc));
}

/* ---- Lock file ---- */

static int
take_lock(lvat_store *s, lvat_errbuf *err)
{
    char path[PATH_BUF], pidtext[32];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/luavat.lock", s->dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return lvat_errbuf_set(err, LVAT_EIO, "cannot open %s: %s", path,
                               strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        n = pread(fd, pidtext, sizeof pidtext - 1, 0);
        pidtext[n > 0 ? n : 0] = '\0';
        pidtext[strcspn(pidtext, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return lvat_errbuf_set(
                err, LVAT_ELOCKED,
                "kernel directory %s is in use by pid %s; stop that process "
                "or use another --db directory",
                s->dir, pidtext[0] ? pidtext : "(unknown)");
        return lvat_errbuf_set(err, LVAT_EIO, "cannot lock %s: %s", path,
                               strerror(e));
    }
    n = snprintf(pidtext, sizeof pidtext, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pidtext, (size_t)n, 0) != n) {
        close(fd);
        return lvat_errbuf_set(err, LVAT_EIO, "cannot write %s: %s", path,
                               strerror(errno));
    }
    s->lock_fd = fd;
    return LVAT_OK;
}

/* ---- Environment ---- */

int
lvat__store_grow(lvat_store *s, size_t min_size, lvat_errbuf *err)
{
    size_t size = s->map_size ? s->map_size : DEFAULT_MAP_SIZE;
    int rc;

    while (size < min_size || size <= s->map_size) {
        if (size > SIZE_MAX / 2)
            return lvat_errbuf_set(err, LVAT_EMAPFULL,
                                   "the store map cannot grow past %zu bytes",
                                   size);
        size *= 2;
    }
    rc = mdb_env_set_mapsize(s->env, size);
    if (rc != MDB_SUCCESS)
        return lvat__store_err(rc, err, "growing the store map");
    s->map_size = size;
    return LVAT_OK;
}

int
lvat__store_txn_begin(lvat_store *s,
                      unsigned flags,
                      MDB_txn **txn,
                      lvat_errbuf *err)
{
    int rc = mdb_txn_begin(s->env, NULL, flags, txn);

    if (rc == MDB_READERS_FULL) {
        /* Slots of readers killed since the open (see open_env). */
        int dead = 0;
        if (mdb_reader_check(s->env, &dead) == MDB_SUCCESS && dead > 0)
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size and retry. */
        MDB_envinfo info;
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == MDB_SUCCESS && mdb_env_info(s->env, &info) == MDB_SUCCESS)
            s->map_size = info.me_mapsize;
        if (rc == MDB_SUCCESS)
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    return lvat__store_err(rc, err, "beginning a store transaction");
}

static unsigned
env_flags(const lvat_store_config *cfg)
{
    unsigned flags = MDB_NOTLS;

    if (cfg->readonly)
        flags |= MDB_RDONLY;
    if (cfg->sync == LVAT_STORE_NOMETASYNC)
        flags |= MDB_NOMETASYNC;
    else if (cfg->sync == LVAT_STORE_NOSYNC)
        flags |= MDB_NOSYNC;
    return flags;
}

static int
check_schema(lvat_store *s, MDB_txn *txn, lvat_errbuf *err)
{
    MDB_val key = {13, (void *)"schemaVersion"}, val;
    char want[8];
    int rc = mdb_get(txn, s->dbi[LVAT_DB_KERNEL], &key, &val);

    snprintf(want, sizeof want, "%d", LVAT_SCHEMA_VERSION);
    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        if (s->readonly)
            return lvat_errbuf_set(err, LVAT_ENOTFOUND, "no luavat state in %s",
                                   s->dir);
        rc = mdb_stat(txn, s->dbi[LVAT_DB_KERNEL], &st);
        if (rc != MDB_SUCCESS)
            return lvat__store_err(rc, err, "reading the kernel table");
        if (st.ms_entries != 0)
            return lvat_errbuf_set(err, LVAT_ECORRUPT,
                                   "store in %s has no schemaVersion: "
                                   "database may be corrupted",
                                   s->dir);
        val.mv_size = strlen(want);
        val.mv_data = want;
        s->created = true;
        rc = mdb_put(txn, s->dbi[LVAT_DB_KERNEL], &key, &val, 0);
        return lvat__store_err(rc, err, "writing schemaVersion");
    }
    if (rc != MDB_SUCCESS)
        return lvat__store_err(rc, err, "reading schemaVersion");
    if (val.mv_size != strlen(want) || memcmp(val.mv_data, want, val.mv_size))
        return lvat_errbuf_set(
            err, LVAT_ESCHEMA,
            "store in %s has schema version %.*s; this luavat reads version "
            "%s (use the luavat that wrote it, or a fresh --db directory)",
            s->dir, (int)val.mv_size, (const char *)val.mv_data, want);
    return LVAT_OK;
}

static int
open_dbs(lvat_store *s, bool reset, lvat_errbuf *err)
{
    MDB_txn *txn = NULL;
    unsigned create = s->readonly ? 0 : MDB_CREATE;
    int rc;

    rc = lvat__store_txn_begin(s, s->readonly ? MDB_RDONLY : 0, &txn, err);
    if (rc != LVAT_OK)
        return rc;
    for (int i = 0; i < LVAT_DB_COUNT; i++) {
        int mrc = mdb_dbi_open(txn, db_names[i], create, &s->dbi[i]);
        if (mrc == MDB_NOTFOUND && s->readonly) {
            mdb_txn_abort(txn);
            return lvat_errbuf_set(err, LVAT_ENOTFOUND, "no luavat state in %s",
                                   s->dir);
        }
        if (mrc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            return lvat__store_err(mrc, err, "opening the store tables");
        }
    }
    /* A reset empties the tables in the same transaction that writes the
     * new schemaVersion: a crash leaves the old store or the new one. */
    for (int i = 0; reset && i < LVAT_DB_COUNT; i++) {
        int mrc = mdb_drop(txn, s->dbi[i], 0);
        if (mrc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            return lvat__store_err(mrc, err, "resetting the store");
        }
    }
    rc = check_schema(s, txn, err);
    if (rc != LVAT_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return lvat__store_err(mdb_txn_commit(txn), err, "initialising the store");
}

static int
prepare_dir(const lvat_store_config *cfg, lvat_errbuf *err)
{
    struct stat st;

    if (stat(cfg->dir, &st) == 0) {
        char data[PATH_BUF];
        if (!S_ISDIR(st.st_mode))
            return lvat_errbuf_set(err, LVAT_ECONFIG, "%s is not a directory",
                                   cfg->dir);
        snprintf(data, sizeof data, "%s/data.mdb", cfg->dir);
        if (cfg->readonly && access(data, F_OK) != 0)
            return lvat_errbuf_set(err, LVAT_ENOTFOUND, "no luavat state in %s",
                                   cfg->dir);
        return LVAT_OK;
    }
    if (cfg->readonly)
        return lvat_errbuf_set(err, LVAT_ENOTFOUND, "no luavat state in %s",
                               cfg->dir);
    if (mkdir(cfg->dir, 0700) != 0)
        return lvat_errbuf_set(err, LVAT_EIO, "cannot create %s: %s", cfg->dir,
                               strerror(errno));
    return LVAT_OK;
}

static int
open_env(lvat_store *s, const lvat_store_config *cfg, lvat_errbuf *err)
{
    MDB_envinfo info;
    int rc = mdb_env_create(&s->env);

    if (rc != MDB_SUCCESS)
        return lvat__store_err(rc, err, "creating the store environment");
    s->map_size = cfg->map_size ? cfg->map_size : DEFAULT_MAP_SIZE;
    rc = mdb_env_set_maxdbs(s->env, LVAT_DB_COUNT);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxreaders(s->env, 126);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(s->env, s->dir, env_flags(cfg), 0600);
    if (rc != MDB_SUCCESS) {
        char what[PATH_BUF];
        snprintf(what, sizeof what, "opening the store in %s", s->dir);
        return lvat__store_err(rc, err, what);
    }
    /* LMDB empties its reader table only when no other process has the
     * store open: a process killed inside a read transaction meanwhile
     * (a kernel, a status) left its slot, which pins the pages of its old
     * snapshot and, 126 of them later, refuses every read. */
    (void)mdb_reader_check(s->env, NULL);
    /* An existing store may already be larger than the requested map. */
    if (mdb_env_info(s->env, &info) == MDB_SUCCESS)
        s->map_size = info.me_mapsize;
    return LVAT_OK;
}

int
lvat_store_open(const lvat_store_config *cfg,
                lvat_store **out,
                lvat_errbuf *err)
{
    lvat_store *s;
    int rc;

    if (cfg->dir == NULL || cfg->dir[0] == '\0')
        return lvat_errbuf_set(err, LVAT_EINVAL, "no store directory given");
    /* Longer paths would be cut short in the path buffers below, and the
     * lock could land on another file than the one the next open checks. */
    if (strlen(cfg->dir) > MAX_DIR_LEN)
        return lvat_errbuf_set(err, LVAT_EINVAL,
                               "store directory path is too long (over %d "
                               "bytes)",
                               MAX_DIR_LEN);
    rc = prepare_dir(cfg, err);
    if (rc != LVAT_OK)
        return rc;
    s = lvat_calloc(1, sizeof *s);
    if (s == NULL || (s->dir = lvat_strdup(cfg->dir)) == NULL) {
        lvat_free(s);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    s->lock_fd = -1;
    s->readonly = cfg->readonly;
    if (!s->readonly && (rc = take_lock(s, err)) != LVAT_OK)
        goto fail;
    if ((rc = open_env(s, cfg, err)) != LVAT_OK)
        goto fail;
    if ((rc = open_dbs(s, cfg->reset && !cfg->readonly, err)) != LVAT_OK)
        goto fail;
    *out = s;
    return LVAT_OK;
fail:
    lvat_store_close(s);
    return rc;
}

void
lvat_store_close(lvat_store *s)
{
    if (s == NULL)
        return;
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    lvat_free(s->dir);
    lvat_free(s);
}

const char *
lvat_store_dir(const lvat_store *s)
{
    return s->dir;
}

bool
lvat_store_readonly(const lvat_store *s)
{
    return s->readonly;
}

bool
lvat_store_created(const lvat_store *s)
{
    return s->created;
}

size_t
lvat_store_map_size(const lvat_store *s)
{
    return s->map_size;
}
