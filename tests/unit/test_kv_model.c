/*
 * The kv overlay against a model, over thousands of random steps: puts
 * (some flagged new, only where the model says LMDB has no such key),
 * deletes, cranks that commit or abort (after creating and deleting the
 * same keys, after the table grew), ordered reads (which build the
 * index), block commits that fail and are aborted, block aborts and real
 * commits.  After each step every key reads as the model says, and the
 * block's entry and byte counts come back exactly after an abort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "lvat_test.h"
#include "store.h"

#define NKEYS 600 /* past the first table's slots */
#define STEPS 5000

typedef struct model {
    char *lmdb[NKEYS];  /* committed (NULL: absent) */
    char *block[NKEYS]; /* as of the last committed crank */
    char *crank[NKEYS]; /* the open crank's view */
    bool touched[NKEYS];
} model;

static uint64_t rng = 0x243f6a8885a308d3ull;

static unsigned
rnd(unsigned n)
{
    return lvat_test_rnd(&rng, n);
}

static void
key_of(unsigned i, char *buf)
{
    snprintf(buf, 32, "k%u", i);
}

static void
set(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? strdup(v) : NULL;
}

static void
check_all(lvat_kv *kv, char *const *want)
{
    for (unsigned i = 0; i < NKEYS; i++) {
        char key[32];
        lvat_val v;
        int rc;
        key_of(i, key);
        rc = lvat_kv_get(kv, LVAT_DB_KERNEL, key, strlen(key), &v);
        if (want[i] == NULL) {
            if (rc != LVAT_ENOTFOUND)
                fail_msg("%s: want absent, got rc %d", key, rc);
            continue;
        }
        assert_lvat_ok(rc);
        assert_int_equal(v.len, strlen(want[i]));
        assert_memory_equal(v.p, want[i], v.len);
    }
}

/* Walks the kernel db in order and compares with the model. */
static void
check_order(lvat_kv *kv, char *const *want)
{
    char from[64] = "";
    size_t flen = 0, seen = 0, live = 0;

    for (unsigned i = 0; i < NKEYS; i++)
        live += want[i] != NULL;
    for (bool first = true;; first = false) {
        lvat_val k, v;
        unsigned i;
        int rc = lvat_kv_next(kv, LVAT_DB_KERNEL, from, flen, first, "k", 1,
                              &k, &v);
        if (rc == LVAT_ENOTFOUND)
            break;
        assert_lvat_ok(rc);
        assert_true(k.len < sizeof from);
        memcpy(from, k.p, k.len);
        from[k.len] = '\0';
        flen = k.len;
        i = (unsigned)strtoul(from + 1, NULL, 10);
        assert_non_null(want[i]);
        assert_int_equal(v.len, strlen(want[i]));
        seen++;
    }
    assert_int_equal(seen, live);
}

/* One write in the open crank (or between cranks). */
static void
random_write(lvat_kv *kv, model *m, char **view)
{
    unsigned i = rnd(NKEYS);
    char key[32], val[32];

    key_of(i, key);
    if (rnd(3) == 0) {
        assert_lvat_ok(lvat_kv_del(kv, LVAT_DB_KERNEL, key, strlen(key)));
        set(&view[i], NULL);
        return;
    }
    snprintf(val, sizeof val, "v%u", rnd(100000));
    /* New only where LMDB cannot have it, as the kernel promises. */
    unsigned flags = m->lmdb[i] == NULL && rnd(2) ? LVAT_KV_NEW : 0;
    assert_lvat_ok(lvat_kv_put(kv, LVAT_DB_KERNEL, key, strlen(key), val,
                               strlen(val), flags));
    set(&view[i], val);
}

static void
copy_view(char **dst, char *const *src)
{
    for (unsigned i = 0; i < NKEYS; i++)
        set(&dst[i], src[i]);
}

static void
one_crank(lvat_kv *kv, model *m)
{
    size_t entries = lvat_kv_block_entries(kv);
    size_t bytes = lvat_kv_block_bytes(kv);
    unsigned n = 1 + rnd(rnd(8) == 0 ? 400 : 12);

    copy_view(m->crank, m->block);
    lvat_kv_crank_begin(kv);
    for (unsigned j = 0; j < n; j++) {
        random_write(kv, m, m->crank);
        if (rnd(50) == 0)
            check_order(kv, m->crank);
    }
    check_all(kv, m->crank);
    if (rnd(3) == 0) {
        lvat_kv_crank_abort(kv);
        assert_int_equal(lvat_kv_block_entries(kv), entries);
        assert_int_equal(lvat_kv_block_bytes(kv), bytes);
        check_all(kv, m->block);
        return;
    }
    lvat_kv_crank_commit(kv);
    copy_view(m->block, m->crank);
    check_all(kv, m->block);
}

static void
end_block(lvat_kv *kv, model *m)
{
    lvat_errbuf err;

    switch (rnd(4)) {
    case 0: /* a failed commit, then the block is redone: abort */
        lvat_kv_fail_commits(kv, LVAT_ETXNFULL, 1);
        if (lvat_kv_block_commit(kv, &err) == LVAT_OK)
            lvat_kv_fail_commits(kv, 0, 0); /* an empty block */
        check_all(kv, m->block);
        /* fall through */
    case 1:
        lvat_kv_block_abort(kv);
        assert_int_equal(lvat_kv_block_entries(kv), 0);
        assert_int_equal(lvat_kv_block_bytes(kv), 0);
        copy_view(m->block, m->lmdb);
        break;
    default:
        assert_lvat_ok(lvat_kv_block_commit(kv, &err));
        assert_int_equal(lvat_kv_block_entries(kv), 0);
        copy_view(m->lmdb, m->block);
        break;
    }
    check_all(kv, m->block);
    if (rnd(4) == 0)
        check_order(kv, m->block);
}

static void
test_kv_model_random_cranks_and_blocks(void **state)
{
    lvat_store_config cfg;
    lvat_store *store;
    lvat_errbuf err;
    lvat_kv *kv;
    model *m = calloc(1, sizeof *m);
    char *dir = lvat_test_mkdtemp();

    (void)state;
    assert_non_null(m);
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = dir;
    cfg.sync = LVAT_STORE_NOSYNC;
    assert_lvat_ok(lvat_store_open(&cfg, &store, &err));
    assert_lvat_ok(lvat_kv_new(store, &kv, &err));
    for (unsigned step = 0; step < STEPS; step++) {
        if (rnd(20) == 0)
            random_write(kv, m, m->block); /* between cranks */
        one_crank(kv, m);
        if (rnd(25) == 0)
            end_block(kv, m);
    }
    end_block(kv, m);
    lvat_kv_free(kv);
    lvat_store_close(store);
    for (unsigned i = 0; i < NKEYS; i++) {
        free(m->lmdb[i]);
        free(m->block[i]);
        free(m->crank[i]);
    }
    free(m);
    lvat_test_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_model_random_cranks_and_blocks),
    };

    return cmocka_run_group_tests_name("kv_model", tests, NULL, NULL);
}
