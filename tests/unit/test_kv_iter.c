/*
 * Ordered access to the kv view (host/kv_iter.c) against real LMDB:
 * lvat_kv_next merging the block overlay with LMDB in byte order, with
 * tombstones, prefixes, inclusive and exclusive starts and several
 * databases; lvat_kv_del_prefix with and without a limit; and a seeded
 * random run of writes, cranks and blocks checked against a small model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kv.h"
#include "lvat_test.h"
#include "store.h"

typedef struct fixture {
    char *dir;
    lvat_store *store;
    lvat_kv *kv;
} fixture;

/* ---- Helpers ---- */

static void
open_kv(fixture *f)
{
    lvat_store_config cfg;
    lvat_errbuf err;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = f->dir;
    cfg.sync = LVAT_STORE_NOSYNC;
    assert_lvat_ok(lvat_store_open(&cfg, &f->store, &err));
    assert_lvat_ok(lvat_kv_new(f->store, &f->kv, &err));
}

static void
close_kv(fixture *f)
{
    lvat_kv_free(f->kv);
    lvat_store_close(f->store);
    f->kv = NULL;
    f->store = NULL;
}

static void
put(lvat_kv *kv, lvat_dbid db, const char *k, const char *v)
{
    assert_lvat_ok(lvat_kv_put(kv, db, k, strlen(k), v, strlen(v), 0));
}

static void
del(lvat_kv *kv, lvat_dbid db, const char *k)
{
    assert_lvat_ok(lvat_kv_del(kv, db, k, strlen(k)));
}

static void
commit(lvat_kv *kv)
{
    lvat_errbuf err;

    assert_lvat_ok(lvat_kv_block_commit(kv, &err));
}

/*
 * Walks `prefix` in `db` from `from` and checks the "key=value" list
 * `want` (space separated) against what lvat_kv_next returns.
 */
static void
expect_walk(lvat_kv *kv,
            lvat_dbid db,
            const char *from,
            bool inclusive,
            const char *prefix,
            const char *want)
{
    char got[1024] = "", cur[512];
    size_t used = 0, clen = strlen(from);
    lvat_val k, v;
    int rc;

    memcpy(cur, from, clen);
    while ((rc = lvat_kv_next(kv, db, cur, clen, inclusive, prefix,
                              strlen(prefix), &k, &v)) == LVAT_OK) {
        used +=
            (size_t)snprintf(got + used, sizeof got - used, "%s%.*s=%.*s",
                             used ? " " : "", (int)k.len, k.p, (int)v.len, v.p);
        assert_true(used < sizeof got);
        memcpy(cur, k.p, k.len);
        clen = k.len;
        inclusive = false;
    }
    assert_lvat_rc(rc, LVAT_ENOTFOUND);
    assert_string_equal(got, want);
}

/* LMDB holds k1 k3 k5 k7 (and neighbours); the block changes some. */
static void
merge_fixture(lvat_kv *kv)
{
    put(kv, LVAT_DB_KERNEL, "j9", "J");
    put(kv, LVAT_DB_KERNEL, "k1", "a");
    put(kv, LVAT_DB_KERNEL, "k3", "c");
    put(kv, LVAT_DB_KERNEL, "k5", "e");
    put(kv, LVAT_DB_KERNEL, "k7", "g");
    put(kv, LVAT_DB_KERNEL, "l0", "L");
    put(kv, LVAT_DB_VATSTORE, "k0", "vat");
    put(kv, LVAT_DB_VATSTORE, "k4", "vat");
    commit(kv);
    put(kv, LVAT_DB_KERNEL, "k2", "b");
    put(kv, LVAT_DB_KERNEL, "k4", "d");
    put(kv, LVAT_DB_KERNEL, "k5", "E");
    del(kv, LVAT_DB_KERNEL, "k3");
    assert_lvat_ok(
        lvat_kv_put(kv, LVAT_DB_KERNEL, "k6", 2, "f", 1, LVAT_KV_NEW));
    put(kv, LVAT_DB_SOURCES, "k", "src");
}

/* ---- Fixture ---- */

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    assert_non_null(f);
    f->dir = lvat_test_mkdtemp();
    open_kv(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    close_kv(f);
    lvat_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- lvat_kv_next ---- */

static void
test_kv_next_merges_overlay_and_lmdb(void **state)
{
    fixture *f = *state;

    merge_fixture(f->kv);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k",
                "k1=a k2=b k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "",
                "j9=J k1=a k2=b k4=d k5=E k6=f k7=g l0=L "
                "schemaVersion=1");
    lvat_kv_crank_begin(f->kv);
    del(f->kv, LVAT_DB_KERNEL, "k1");
    del(f->kv, LVAT_DB_KERNEL, "k2");
    put(f->kv, LVAT_DB_KERNEL, "k3", "C");
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k",
                "k3=C k4=d k5=E k6=f k7=g");
    lvat_kv_crank_abort(f->kv);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k",
                "k1=a k2=b k4=d k5=E k6=f k7=g");
    commit(f->kv);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k",
                "k1=a k2=b k4=d k5=E k6=f k7=g");
}

static void
test_kv_next_inclusive_and_exclusive(void **state)
{
    fixture *f = *state;

    merge_fixture(f->kv);
    expect_walk(f->kv, LVAT_DB_KERNEL, "k2", true, "k",
                "k2=b k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k2", false, "k", "k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k1", false, "k",
                "k2=b k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k3", true, "k", "k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k7", false, "k", "");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k55", true, "k", "k6=f k7=g");
    /* A start before the prefix starts at the prefix, inclusively. */
    expect_walk(f->kv, LVAT_DB_KERNEL, "a", false, "k",
                "k1=a k2=b k4=d k5=E k6=f k7=g");
    expect_walk(f->kv, LVAT_DB_KERNEL, "z", true, "k", "");
}

static void
test_kv_next_tombstones_hide_lmdb(void **state)
{
    fixture *f = *state;

    merge_fixture(f->kv);
    del(f->kv, LVAT_DB_KERNEL, "k1");
    del(f->kv, LVAT_DB_KERNEL, "k7");
    del(f->kv, LVAT_DB_KERNEL, "k5");
    del(f->kv, LVAT_DB_KERNEL, "k2");
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k", "k4=d k6=f");
    del(f->kv, LVAT_DB_KERNEL, "k4");
    del(f->kv, LVAT_DB_KERNEL, "k6");
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "k", "");
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "",
                "j9=J l0=L schemaVersion=1");
    commit(f->kv);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "",
                "j9=J l0=L schemaVersion=1");
}

static void
test_kv_next_stays_in_its_db(void **state)
{
    fixture *f = *state;

    merge_fixture(f->kv);
    expect_walk(f->kv, LVAT_DB_VATSTORE, "", true, "k", "k0=vat k4=vat");
    expect_walk(f->kv, LVAT_DB_SOURCES, "", true, "", "k=src");
    put(f->kv, LVAT_DB_VATSTORE, "k9", "last");
    del(f->kv, LVAT_DB_VATSTORE, "k0");
    expect_walk(f->kv, LVAT_DB_VATSTORE, "", true, "", "k4=vat k9=last");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k7", true, "",
                "k7=g l0=L schemaVersion=1");
    del(f->kv, LVAT_DB_KERNEL, "l0");
    del(f->kv, LVAT_DB_KERNEL, "schemaVersion");
    expect_walk(f->kv, LVAT_DB_KERNEL, "k7", false, "", "");
    expect_walk(f->kv, LVAT_DB_VATSTORE, "k9", false, "", "");
}

static void
test_kv_next_binary_prefixes(void **state)
{
    fixture *f = *state;
    static const char pre[] = "v1\0";
    lvat_val k, v;
    char longkey[600];

    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_VATSTORE, "v1\0b", 4, "1", 1, 0));
    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_VATSTORE, "v1\0a", 4, "0", 1, 0));
    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_VATSTORE, "v1", 2, "x", 1, 0));
    assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_VATSTORE, "v1\1", 3, "y", 1, 0));
    commit(f->kv);
    assert_lvat_ok(
        lvat_kv_put(f->kv, LVAT_DB_VATSTORE, "v1\0\xff", 4, "2", 1, 0));
    assert_lvat_ok(
        lvat_kv_next(f->kv, LVAT_DB_VATSTORE, "", 0, true, pre, 3, &k, &v));
    assert_int_equal(k.len, 4);
    assert_memory_equal(k.p, "v1\0a", 4);
    assert_lvat_ok(lvat_kv_next(f->kv, LVAT_DB_VATSTORE, k.p, k.len, false, pre,
                                3, &k, &v));
    assert_memory_equal(k.p, "v1\0b", 4);
    assert_lvat_ok(lvat_kv_next(f->kv, LVAT_DB_VATSTORE, k.p, k.len, false, pre,
                                3, &k, &v));
    assert_memory_equal(k.p, "v1\0\xff", 4);
    assert_lvat_rc(lvat_kv_next(f->kv, LVAT_DB_VATSTORE, k.p, k.len, false, pre,
                                3, &k, &v),
                   LVAT_ENOTFOUND);
    /* A start longer than any key still finds the keys after it. */
    memset(longkey, 'v', sizeof longkey);
    longkey[1] = '1';
    longkey[2] = '\0';
    longkey[3] = 'a';
    assert_lvat_ok(lvat_kv_next(f->kv, LVAT_DB_VATSTORE, longkey,
                                sizeof longkey, true, pre, 3, &k, &v));
    assert_memory_equal(k.p, "v1\0b", 4);
}

/* ---- lvat_kv_del_prefix ---- */

static void
prefix_fixture(lvat_kv *kv, int n)
{
    char key[32];

    put(kv, LVAT_DB_KERNEL, "p", "just the prefix, without the dot");
    put(kv, LVAT_DB_KERNEL, "o.1", "before");
    put(kv, LVAT_DB_KERNEL, "q.1", "after");
    put(kv, LVAT_DB_VATSTORE, "p.1", "other db");
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "p.%04d", i);
        put(kv, LVAT_DB_KERNEL, key, "v");
        if (i == n / 2)
            commit(kv); /* half in LMDB, half in the block */
    }
}

static void
test_kv_del_prefix_all(void **state)
{
    fixture *f = *state;
    size_t n = 0;

    prefix_fixture(f->kv, 2000);
    del(f->kv, LVAT_DB_KERNEL, "p.0003");
    lvat_kv_crank_begin(f->kv);
    assert_lvat_ok(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 0, &n));
    assert_int_equal(n, 1999);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "p.", "");
    lvat_kv_crank_commit(f->kv);
    commit(f->kv);
    close_kv(f);
    open_kv(f);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "",
                "o.1=before p=just the prefix, without the dot q.1=after "
                "schemaVersion=1");
    expect_walk(f->kv, LVAT_DB_VATSTORE, "", true, "", "p.1=other db");
    assert_lvat_ok(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 0, &n));
    assert_int_equal(n, 0);
}

static void
test_kv_del_prefix_with_limit(void **state)
{
    fixture *f = *state;
    size_t n = 0;

    prefix_fixture(f->kv, 10);
    assert_lvat_rc(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 4, &n),
                   LVAT_EPENDING);
    assert_int_equal(n, 4);
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "p.",
                "p.0004=v p.0005=v p.0006=v p.0007=v p.0008=v p.0009=v");
    assert_lvat_rc(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 4, &n),
                   LVAT_EPENDING);
    assert_int_equal(n, 4);
    /* Exactly `limit` keys left: all gone, so it is not pending. */
    assert_lvat_ok(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 2, &n));
    assert_int_equal(n, 2);
    assert_lvat_ok(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "p.", 2, 2, NULL));
    expect_walk(f->kv, LVAT_DB_KERNEL, "", true, "",
                "o.1=before p=just the prefix, without the dot q.1=after "
                "schemaVersion=1");
}

static void
test_kv_del_prefix_outside_crank_new_keys(void **state)
{
    fixture *f = *state;
    char key[32];
    size_t n = 0;

    /* Outside a crank these entries are freed as they are deleted. */
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "t.%02d", i);
        assert_lvat_ok(lvat_kv_put(f->kv, LVAT_DB_KERNEL, key, strlen(key), "x",
                                   1, LVAT_KV_NEW));
    }
    assert_lvat_ok(lvat_kv_del_prefix(f->kv, LVAT_DB_KERNEL, "t.", 2, 0, &n));
    assert_int_equal(n, 50);
    assert_int_equal(lvat_kv_block_entries(f->kv), 0);
}

/* ---- Against a model ---- */

#define NKEYS 24

/* Keys with shared prefixes, NUL bytes and a 0xff byte. */
static const char *const model_keys[NKEYS] = {
    "a", "a\001", "aa",  "ab",    "b",  "ba",  "bb", "bba",
    "c", "ca",    "cab", "c\377", "d",  "da",  "db", "dc",
    "e", "ea",    "eb",  "f",     "fa", "fab", "fb", "g",
};

typedef struct model {
    int lmdb[2][NKEYS];  /* committed value, 0 = absent */
    int view[2][NKEYS];  /* what the kv should show */
    int saved[2][NKEYS]; /* view at crank start */
    bool in_crank;
} model;

static void
model_check(lvat_kv *kv, const model *m, int db, const char *prefix)
{
    lvat_dbid d = db ? LVAT_DB_SOURCES : LVAT_DB_VATSTORE;
    char want[512] = "", v[16];
    size_t used = 0;

    /* model_keys is in byte order, so listing it in order is the walk. */
    for (int i = 0; i < NKEYS; i++) {
        const char *k = model_keys[i];
        lvat_val got;
        int rc = lvat_kv_get(kv, d, k, strlen(k), &got);
        if (m->view[db][i] == 0) {
            assert_lvat_rc(rc, LVAT_ENOTFOUND);
            continue;
        }
        snprintf(v, sizeof v, "%d", m->view[db][i]);
        assert_lvat_ok(rc);
        assert_int_equal(got.len, strlen(v));
        assert_memory_equal(got.p, v, got.len);
        if (strncmp(k, prefix, strlen(prefix)) != 0)
            continue;
        used += (size_t)snprintf(want + used, sizeof want - used, "%s%s=%s",
                                 used ? " " : "", k, v);
    }
    expect_walk(kv, d, "", true, prefix, want);
}

static void
model_step(lvat_kv *kv, model *m, uint32_t r)
{
    int op = (int)(r % 100), i = (int)((r >> 8) % NKEYS);
    int db = (int)((r >> 16) & 1), val = (int)((r >> 17) % 1000) + 1;
    lvat_dbid d = db ? LVAT_DB_SOURCES : LVAT_DB_VATSTORE;
    const char *k = model_keys[i];
    char text[16];

    snprintf(text, sizeof text, "%d", val);
    if (op < 45) {
        unsigned fl =
            m->lmdb[db][i] == 0 && m->view[db][i] == 0 ? LVAT_KV_NEW : 0;
        assert_lvat_ok(
            lvat_kv_put(kv, d, k, strlen(k), text, strlen(text), fl));
        m->view[db][i] = val;
    } else if (op < 80) {
        del(kv, d, k);
        m->view[db][i] = 0;
    } else if (op < 88 && !m->in_crank) {
        lvat_kv_crank_begin(kv);
        memcpy(m->saved, m->view, sizeof m->view);
        m->in_crank = true;
    } else if (op < 93 && m->in_crank) {
        lvat_kv_crank_commit(kv);
        m->in_crank = false;
    } else if (op < 96 && m->in_crank) {
        lvat_kv_crank_abort(kv);
        memcpy(m->view, m->saved, sizeof m->view);
        m->in_crank = false;
    } else if (op < 99 && !m->in_crank) {
        commit(kv);
        memcpy(m->lmdb, m->view, sizeof m->view);
    } else if (!m->in_crank) {
        lvat_kv_block_abort(kv);
        memcpy(m->view, m->lmdb, sizeof m->view);
    }
}

static void
test_kv_random_ops_match_model(void **state)
{
    static const char *const prefixes[] = {"", "a", "b", "bb", "c", "f"};
    fixture *f = *state;
    model m;
    uint32_t r = 12345;

    memset(&m, 0, sizeof m);
    for (int step = 0; step < 6000; step++) {
        r ^= r << 13; /* xorshift32: a fixed, reproducible sequence */
        r ^= r >> 17;
        r ^= r << 5;
        model_step(f->kv, &m, r);
        if (step % 37 == 0)
            model_check(f->kv, &m, step & 1, prefixes[step % 6]);
    }
    if (m.in_crank)
        lvat_kv_crank_commit(f->kv);
    commit(f->kv);
    close_kv(f);
    open_kv(f);
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
        model_check(f->kv, &m, 0, prefixes[p]);
        model_check(f->kv, &m, 1, prefixes[p]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_kv_next_merges_overlay_and_lmdb),
        T(test_kv_next_inclusive_and_exclusive),
        T(test_kv_next_tombstones_hide_lmdb),
        T(test_kv_next_stays_in_its_db),
        T(test_kv_next_binary_prefixes),
        T(test_kv_del_prefix_all),
        T(test_kv_del_prefix_with_limit),
        T(test_kv_del_prefix_outside_crank_new_keys),
        T(test_kv_random_ops_match_model),
#undef T
    };

    return cmocka_run_group_tests_name("kv_iter", tests, NULL, NULL);
}
