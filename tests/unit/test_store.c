/*
 * The store room against real LMDB in a temporary directory: creation and
 * reopening with the schema version, the writer's lock file (a second
 * writer is refused with the holder's pid, in this process and from a
 * child), read-only opens beside a writer, schema and corruption
 * refusals, map growth from a tiny map, allocation failures during
 * open, and how LMDB's errors are reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "alloc.h"
#include "kv.h"
#include "lvat_test.h"
#include "store.h"
#include "store_int.h" /* the env, for mdb_reader_check */

typedef struct fixture {
    char *tmp;        /* the temporary directory, removed at teardown */
    char *dir;        /* tmp/db: the store directory, made by the first open */
    lvat_store *held; /* the parent's store, seen by a forked child */
} fixture;

/* ---- Helpers ---- */

static int
open_store(const char *dir, bool readonly, lvat_store **out, lvat_errbuf *err)
{
    lvat_store_config cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.sync = LVAT_STORE_NOSYNC;
    cfg.readonly = readonly;
    lvat_errbuf_clear(err);
    return lvat_store_open(&cfg, out, err);
}

static lvat_store *
must_open(const char *dir, bool readonly)
{
    lvat_store *s = NULL;
    lvat_errbuf err;
    int rc = open_store(dir, readonly, &s, &err);

    if (rc != LVAT_OK)
        print_error("open %s: %s\n", dir, err.msg);
    assert_lvat_ok(rc);
    assert_non_null(s);
    return s;
}

/* Writes key=val into the kernel table through a kv view and commits. */
static void
kv_write(lvat_store *s, const char *key, const char *val)
{
    lvat_kv *kv = NULL;
    lvat_errbuf err;

    assert_lvat_ok(lvat_kv_new(s, &kv, &err));
    if (val != NULL)
        assert_lvat_ok(lvat_kv_put(kv, LVAT_DB_KERNEL, key, strlen(key), val,
                                   strlen(val), 0));
    else
        assert_lvat_ok(lvat_kv_del(kv, LVAT_DB_KERNEL, key, strlen(key)));
    assert_lvat_ok(lvat_kv_block_commit(kv, &err));
    lvat_kv_free(kv);
}

/* Reads the kernel table's `key` into buf (NUL-terminated); -1 if absent. */
static int
kv_read(lvat_store *s, const char *key, char *buf, size_t cap)
{
    lvat_kv *kv = NULL;
    lvat_errbuf err;
    lvat_val v;
    int rc;

    assert_lvat_ok(lvat_kv_new(s, &kv, &err));
    rc = lvat_kv_get(kv, LVAT_DB_KERNEL, key, strlen(key), &v);
    if (rc == LVAT_OK) {
        assert_true(v.len < cap);
        memcpy(buf, v.p, v.len);
        buf[v.len] = '\0';
    }
    lvat_kv_free(kv);
    return rc == LVAT_OK ? 0 : -1;
}

/* Writes schemaVersion with a raw LMDB transaction, the store closed. */
static void
raw_set_schema(const char *dir, const char *version)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {13, (void *)"schemaVersion"};
    MDB_val v = {strlen(version), (void *)version};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "kernel", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* ---- Fixture ---- */

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->tmp = lvat_test_mkdtemp();
    f->dir = lvat_test_path(f->tmp, "db");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    lvat_alloc_fail_after(0, 0);
    lvat_store_close(f->held);
    free(f->dir);
    lvat_test_rmdir(f->tmp);
    free(f);
    return 0;
}

/* ---- Tests ---- */

static void
test_store_create_then_reopen(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false);
    struct stat st;
    char buf[16];

    assert_true(lvat_store_created(s));
    assert_false(lvat_store_readonly(s));
    assert_string_equal(lvat_store_dir(s), f->dir);
    assert_true(lvat_store_map_size(s) >= ((size_t)1 << 30));
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(kv_read(s, "schemaVersion", buf, sizeof buf), 0);
    assert_string_equal(buf, "1");
    kv_write(s, "greeting", "hello");
    lvat_store_close(s);

    s = must_open(f->dir, false);
    assert_false(lvat_store_created(s));
    assert_int_equal(kv_read(s, "schemaVersion", buf, sizeof buf), 0);
    assert_string_equal(buf, "1");
    assert_int_equal(kv_read(s, "greeting", buf, sizeof buf), 0);
    assert_string_equal(buf, "hello");
    lvat_store_close(s);
}

static void
test_store_second_writer_locked(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false), *s2 = NULL;
    lvat_errbuf err;
    char want[64], *lock, pidtext[32] = "";
    FILE *fp;

    /* flock belongs to the open file description, so a second open in
     * this very process is refused like another process would be. */
    assert_lvat_rc(open_store(f->dir, false, &s2, &err), LVAT_ELOCKED);
    assert_null(s2);
    assert_int_equal(err.code, LVAT_ELOCKED);
    snprintf(want, sizeof want, "in use by pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, f->dir));

    lock = lvat_test_path(f->dir, "luavat.lock");
    fp = fopen(lock, "r");
    assert_non_null(fp);
    assert_non_null(fgets(pidtext, sizeof pidtext, fp));
    fclose(fp);
    free(lock);
    assert_int_equal(atol(pidtext), (long)getpid());
    lvat_store_close(s);
}

static void
test_store_second_writer_locked_across_processes(void **state)
{
    fixture *f = *state;
    lvat_store *s2 = NULL;
    lvat_errbuf err;
    int status = 0;
    pid_t pid;

    f->held = must_open(f->dir, false);
    pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        char want[64];
        int rc = open_store(f->dir, false, &s2, &err);
        bool ok;
        snprintf(want, sizeof want, "in use by pid %ld", (long)getppid());
        ok = rc == LVAT_ELOCKED && s2 == NULL && strstr(err.msg, want);
        /* Dropping the child's copies of the descriptors leaves the
         * parent's flock and LMDB locks alone (and valgrind's leak check
         * at _exit quiet). */
        lvat_store_close(f->held);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The child's exit left the parent's lock in place. */
    assert_lvat_rc(open_store(f->dir, false, &s2, &err), LVAT_ELOCKED);
    lvat_store_close(f->held);
    f->held = NULL;
}

static void
test_store_lock_released_on_close(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false);

    lvat_store_close(s);
    s = must_open(f->dir, false);
    assert_false(lvat_store_created(s));
    lvat_store_close(s);
    lvat_store_close(NULL);
}

static void
test_store_readonly_missing_dir(void **state)
{
    fixture *f = *state;
    lvat_store *s = NULL;
    lvat_errbuf err;
    struct stat st;

    assert_lvat_rc(open_store(f->dir, true, &s, &err), LVAT_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, "no luavat state"));
    assert_int_not_equal(stat(f->dir, &st), 0); /* nothing was created */
}

static void
test_store_readonly_dir_without_data(void **state)
{
    fixture *f = *state;
    lvat_store *s = NULL;
    lvat_errbuf err;
    char *data = lvat_test_path(f->tmp, "data.mdb");
    struct stat st;

    assert_lvat_rc(open_store(f->tmp, true, &s, &err), LVAT_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, f->tmp));
    assert_int_not_equal(stat(data, &st), 0);
    free(data);
}

static void
test_store_newer_schema_refused(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false);
    lvat_errbuf err;

    kv_write(s, "schemaVersion", "2");
    lvat_store_close(s);
    s = NULL;
    assert_lvat_rc(open_store(f->dir, false, &s, &err), LVAT_ESCHEMA);
    assert_null(s);
    assert_non_null(strstr(err.msg, "schema version 2"));
    assert_non_null(strstr(err.msg, "reads version 1"));
    assert_non_null(strstr(err.msg, f->dir));
    /* A read-only open refuses it the same way, and the lock is free. */
    assert_lvat_rc(open_store(f->dir, true, &s, &err), LVAT_ESCHEMA);
    raw_set_schema(f->dir, "1");
    s = must_open(f->dir, false);
    lvat_store_close(s);
}

static void
test_store_older_schema_refused_raw(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false);
    lvat_errbuf err;

    lvat_store_close(s);
    s = NULL;
    raw_set_schema(f->dir, "0");
    assert_lvat_rc(open_store(f->dir, false, &s, &err), LVAT_ESCHEMA);
    assert_null(s);
    assert_non_null(strstr(err.msg, "schema version 0"));
}

static void
test_store_missing_schema_with_data_refused(void **state)
{
    fixture *f = *state;
    lvat_store *s = must_open(f->dir, false);
    lvat_errbuf err;

    kv_write(s, "ko1.owner", "v1");
    kv_write(s, "schemaVersion", NULL);
    lvat_store_close(s);
    s = NULL;
    assert_lvat_rc(open_store(f->dir, false, &s, &err), LVAT_ECORRUPT);
    assert_null(s);
    assert_non_null(strstr(err.msg, "no schemaVersion"));
}

static void
test_store_readonly_beside_writer(void **state)
{
    fixture *f = *state;
    lvat_store *w = must_open(f->dir, false), *r;
    lvat_kv *rkv = NULL;
    lvat_errbuf err;
    lvat_val v;

    kv_write(w, "k", "one");
    r = must_open(f->dir, true);
    assert_true(lvat_store_readonly(r));
    assert_false(lvat_store_created(r));
    assert_lvat_ok(lvat_kv_new(r, &rkv, &err));
    assert_lvat_ok(lvat_kv_get(rkv, LVAT_DB_KERNEL, "k", 1, &v));
    assert_memory_equal(v.p, "one", 3);

    /* The reader keeps its snapshot until it refreshes. */
    kv_write(w, "k", "two");
    assert_lvat_ok(lvat_kv_get(rkv, LVAT_DB_KERNEL, "k", 1, &v));
    assert_memory_equal(v.p, "one", 3);
    lvat_kv_refresh(rkv);
    assert_lvat_ok(lvat_kv_get(rkv, LVAT_DB_KERNEL, "k", 1, &v));
    assert_memory_equal(v.p, "two", 3);

    assert_lvat_rc(lvat_kv_put(rkv, LVAT_DB_KERNEL, "k", 1, "x", 1, 0),
                   LVAT_EREADONLY);
    assert_lvat_rc(lvat_kv_del(rkv, LVAT_DB_KERNEL, "k", 1), LVAT_EREADONLY);
    assert_lvat_rc(lvat_kv_del_prefix(rkv, LVAT_DB_KERNEL, "", 0, 0, NULL),
                   LVAT_EREADONLY);
    assert_lvat_rc(lvat_kv_block_commit(rkv, &err), LVAT_EREADONLY);
    assert_lvat_ok(lvat_kv_get(rkv, LVAT_DB_KERNEL, "k", 1, &v));
    assert_memory_equal(v.p, "two", 3);
    lvat_kv_free(rkv);
    lvat_store_close(r);
    lvat_store_close(w);
}

/* Opens the store read-only, starts a read transaction and dies by
 * SIGKILL inside it, leaving its slot in LMDB's reader table. */
static void
die_reading(const char *dir)
{
    lvat_store *r = must_open(dir, true);
    lvat_kv *kv = NULL;
    lvat_errbuf err;
    lvat_val v;

    if (lvat_kv_new(r, &kv, &err) != LVAT_OK ||
        lvat_kv_get(kv, LVAT_DB_KERNEL, "k", 1, &v) != LVAT_OK)
        _exit(1);
    raise(SIGKILL);
}

/* LMDB empties its reader table only when no process has the store
 * open.  A reader killed while another process kept the store open left
 * its slot behind: the slot pins the pages of its old snapshot (the file
 * can only grow) and, 126 of them later, every read transaction fails
 * with MDB_READERS_FULL.  An open now clears the slots of dead processes. */
static void
test_store_open_clears_dead_readers(void **state)
{
    fixture *f = *state;
    lvat_store *w = must_open(f->dir, false);
    int status = 0, dead = -1;
    pid_t pid;

    kv_write(w, "k", "one");
    lvat_store_close(w);
    f->held = must_open(f->dir, true); /* keeps LMDB's reader table */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        die_reading(f->dir);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lvat_errbuf err;
        int rc = open_store(f->dir, false, &w, &err);
        if (rc == LVAT_OK)
            lvat_store_close(w);
        lvat_store_close(f->held);
        _exit(rc == LVAT_OK ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(mdb_reader_check(f->held->env, &dead), 0);
    assert_int_equal(dead, 0);
    lvat_store_close(f->held);
    f->held = NULL;
}

static void
test_store_bad_dir_arguments(void **state)
{
    fixture *f = *state;
    lvat_store *s = NULL;
    lvat_errbuf err;
    char *file = lvat_test_path(f->tmp, "plain");
    char *orphan = lvat_test_path(f->tmp, "no/such/parent");
    char *longdir = malloc(5000);

    assert_lvat_rc(open_store("", false, &s, &err), LVAT_EINVAL);
    assert_lvat_rc(open_store(NULL, false, &s, &err), LVAT_EINVAL);
    lvat_test_write_file(f->tmp, "plain", "not a directory");
    assert_lvat_rc(open_store(file, false, &s, &err), LVAT_ECONFIG);
    assert_lvat_rc(open_store(orphan, false, &s, &err), LVAT_EIO);
    assert_non_null(longdir);
    memset(longdir, 'a', 4999);
    longdir[0] = '/';
    longdir[4999] = '\0';
    assert_lvat_rc(open_store(longdir, false, &s, &err), LVAT_EINVAL);
    assert_null(s);
    free(longdir);
    free(orphan);
    free(file);
}

static void
test_store_small_map_reported(void **state)
{
    fixture *f = *state;
    lvat_store_config cfg;
    lvat_store *s = NULL;
    lvat_errbuf err;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = f->dir;
    cfg.sync = LVAT_STORE_NOMETASYNC;
    cfg.map_size = 64 * 1024;
    assert_lvat_ok(lvat_store_open(&cfg, &s, &err));
    assert_true(lvat_store_map_size(s) >= 64 * 1024);
    assert_true(lvat_store_map_size(s) < 1024 * 1024);
    lvat_store_close(s);
}

/* ---- Map growth ---- */

static void
fill_value(char *buf, size_t len, unsigned block, unsigned i)
{
    for (size_t j = 0; j < len; j++)
        buf[j] = (char)((block * 131u + i * 7u + j) & 0xff);
}

static lvat_kv *
open_tiny(const char *dir, lvat_store **s)
{
    lvat_store_config cfg;
    lvat_errbuf err;
    lvat_kv *kv = NULL;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.sync = LVAT_STORE_NOSYNC;
    cfg.map_size = 64 * 1024;
    assert_lvat_ok(lvat_store_open(&cfg, s, &err));
    assert_lvat_ok(lvat_kv_new(*s, &kv, &err));
    return kv;
}

/* Writes (or with `check`, verifies) block b: KEYS values of VLEN bytes. */
enum { BLOCKS = 6, KEYS = 1500, VLEN = 700 };

static void
block_data(lvat_kv *kv, unsigned b, bool check)
{
    char key[32], val[VLEN];
    lvat_errbuf err;
    lvat_val v;

    for (unsigned i = 0; i < KEYS; i++) {
        int n = snprintf(key, sizeof key, "blk.%u.%05u", b, i);
        fill_value(val, sizeof val, b, i);
        if (check) {
            assert_lvat_ok(
                lvat_kv_get(kv, LVAT_DB_VATSTORE, key, (size_t)n, &v));
            assert_int_equal(v.len, sizeof val);
            assert_memory_equal(v.p, val, sizeof val);
        } else {
            assert_lvat_ok(lvat_kv_put(kv, LVAT_DB_VATSTORE, key, (size_t)n,
                                       val, sizeof val, 0));
        }
    }
    if (!check)
        assert_lvat_ok(lvat_kv_block_commit(kv, &err));
}

static void
test_store_map_grows_from_tiny(void **state)
{
    fixture *f = *state;
    lvat_store *s = NULL;
    lvat_kv *kv = open_tiny(f->dir, &s);

    /* About 1 MB a block on a 64 KiB map: MDB_MAP_FULL grows it. */
    for (unsigned b = 0; b < BLOCKS; b++)
        block_data(kv, b, false);
    assert_true(lvat_store_map_size(s) > (size_t)BLOCKS * KEYS * VLEN);
    lvat_kv_free(kv);
    lvat_store_close(s);

    /* Reopened with a 64 KiB request the map is just the data, so the
     * next block is full at once and must grow again. */
    kv = open_tiny(f->dir, &s);
    for (unsigned b = 0; b < BLOCKS; b++)
        block_data(kv, b, true);
    block_data(kv, BLOCKS, false);
    lvat_kv_free(kv);
    lvat_store_close(s);
    kv = open_tiny(f->dir, &s);
    for (unsigned b = 0; b <= BLOCKS; b++)
        block_data(kv, b, true);
    lvat_kv_free(kv);
    lvat_store_close(s);
}

/* ---- Allocation failures ---- */

/* Opening a store and its kv view: every failure is clean and frees all. */
static void
test_store_open_oom_is_clean(void **state)
{
    fixture *f = *state;
    lvat_store *s = NULL;
    lvat_kv *kv = NULL;
    lvat_errbuf err;
    unsigned long n;
    int rc;

    for (n = 1;; n++) {
        lvat_alloc_fail_after(n, 1);
        rc = open_store(f->dir, false, &s, &err);
        if (rc == LVAT_OK && (rc = lvat_kv_new(s, &kv, &err)) != LVAT_OK) {
            lvat_store_close(s);
            s = NULL;
        }
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        assert_null(s);
        assert_null(kv);
        assert_true(n < 100);
    }
    assert_true(n > 3);
    lvat_kv_free(kv);
    lvat_kv_free(NULL);
    lvat_store_close(s);
    /* The failed attempts left the lock free and the store usable. */
    s = must_open(f->dir, false);
    lvat_store_close(s);
}

/* LMDB's codes become luavat's, and each message names what failed and
 * LMDB's words; after MDB_PANIC nothing can be written until the store is
 * reopened, and the message says so. */
static void
test_store_errors_mapped(void **state)
{
    static const struct {
        int mdb, code;
    } map[] = {{MDB_MAP_FULL, LVAT_EMAPFULL}, {MDB_TXN_FULL, LVAT_ETXNFULL},
               {MDB_CORRUPTED, LVAT_ECORRUPT}, {EROFS, LVAT_EREADONLY},
               {MDB_PANIC, LVAT_ESTORE},       {EIO, LVAT_ESTORE}};
    lvat_errbuf err;

    (void)state;
    assert_int_equal(lvat__store_err(MDB_SUCCESS, &err, "x"), LVAT_OK);
    assert_int_equal(lvat__store_err(MDB_NOTFOUND, &err, "x"),
                     LVAT_ENOTFOUND);
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(lvat__store_err(map[i].mdb, &err, "commit"),
                         map[i].code);
        assert_int_equal(strncmp(err.msg, "commit: ", 8), 0);
        assert_non_null(strstr(err.msg, mdb_strerror(map[i].mdb)));
        assert_true((strstr(err.msg, "until the store is reopened") != NULL) ==
                    (map[i].mdb == MDB_PANIC));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_errors_mapped),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_store_create_then_reopen),
        T(test_store_second_writer_locked),
        T(test_store_second_writer_locked_across_processes),
        T(test_store_lock_released_on_close),
        T(test_store_readonly_missing_dir),
        T(test_store_readonly_dir_without_data),
        T(test_store_newer_schema_refused),
        T(test_store_older_schema_refused_raw),
        T(test_store_missing_schema_with_data_refused),
        T(test_store_readonly_beside_writer),
        T(test_store_open_clears_dead_readers),
        T(test_store_bad_dir_arguments),
        T(test_store_small_map_reported),
        T(test_store_map_grows_from_tiny),
        T(test_store_open_oom_is_clean),
#undef T
    };

    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
