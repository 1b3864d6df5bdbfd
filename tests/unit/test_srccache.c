/*
 * Vat sources kept between launches (srccache.h) through the launch plans
 * that use them (config.c): a folder planned twice gives the same modules,
 * the second time from memory; every kind of edit to the folder is seen
 * at the next plan; a snapshot of files changed just before it was read
 * is not kept; the byte budget evicts the least recently used; an
 * allocation failure at any point leaves the cache holding whole
 * snapshots or none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "lvat_test.h"
#include "srccache.h"

/* Files in these tests change 60 ms or more after they were read: far
 * more than any file-system clock's tick here, so 50 ms is racy enough. */
#define RACY_NS 50000000u

typedef struct fixture {
    char *tmp, *root; /* root: the vat's folder, tmp/alice */
    lvat_srccache *cache;
} fixture;

static void
pause_ms(long ms)
{
    struct timespec t = {0, ms * 1000000L};

    nanosleep(&t, NULL);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    f->tmp = lvat_test_mkdtemp();
    f->root = lvat_test_path(f->tmp, "alice");
    f->cache = lvat_srccache_new(1 << 20, RACY_NS);
    lvat_test_write_file(f->tmp, "alice/alice.lua", "return 'main'\n");
    lvat_test_write_file(f->tmp, "alice/lib/util.lua", "return 'util'\n");
    lvat_test_write_file(f->tmp, "alice/notes.txt", "not Lua");
    pause_ms(60); /* no longer racy */
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    lvat_srccache_free(f->cache);
    free(f->root);
    lvat_test_rmdir(f->tmp);
    free(f);
    return 0;
}

static lvat_launch_plan *
plan(fixture *f)
{
    static const char cfg[] =
        "{\"bootstrap\":\"a\",\"vats\":{\"a\":{\"sourceSpec\":"
        "\"alice/alice.lua\"}}}";
    lvat_launch_plan *p = NULL;
    lvat_errbuf err;

    lvat_errbuf_clear(&err);
    assert_lvat_ok(lvat__plan_from_json(cfg, strlen(cfg), f->tmp, "test",
                                        f->cache, &p, &err));
    return p;
}

/* The text of module `name` in a one-vat plan, or NULL. */
static const char *
module_text(const lvat_launch_plan *p, const char *name)
{
    const lvat_plan_vat *v = &p->vats[0];

    for (size_t i = 0; i < v->nmods; i++)
        if (strcmp(v->mods[i].name, name) == 0)
            return v->mods[i].text;
    return NULL;
}

static void
check_plan(fixture *f, size_t nmods, const char *main, const char *util)
{
    lvat_launch_plan *p = plan(f);

    assert_int_equal(p->vats[0].nmods, nmods);
    assert_string_equal(p->vats[0].main, "alice");
    assert_string_equal(module_text(p, "alice"), main);
    if (util != NULL)
        assert_string_equal(module_text(p, "lib.util"), util);
    else
        assert_null(module_text(p, "lib.util"));
    lvat__launch_plan_free(p);
}

/* A plan of three modules, one of them `name` with `text`. */
static void
check_third_module(fixture *f, const char *name, const char *text)
{
    lvat_launch_plan *p = plan(f);

    assert_int_equal(p->vats[0].nmods, 3);
    assert_string_equal(module_text(p, name), text);
    lvat__launch_plan_free(p);
}

/* ---- Served while nothing changed ---- */

static void
test_srccache_second_plan_from_memory(void **state)
{
    fixture *f = *state;
    lvat_launch_plan *p1 = plan(f), *p2;
    const lvat_srcsnap *s = lvat_srccache_find(f->cache, f->root);

    assert_non_null(s);
    assert_int_equal(lvat_srcsnap_count(s), 2);
    p2 = plan(f);
    assert_int_equal(p2->vats[0].nmods, p1->vats[0].nmods);
    for (size_t i = 0; i < p1->vats[0].nmods; i++) {
        const lvat_plan_module *a = &p1->vats[0].mods[i];
        const lvat_plan_module *b = &p2->vats[0].mods[i];
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->path, b->path);
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->text, b->text, a->len);
        assert_ptr_not_equal(a->text, b->text); /* the plan owns a copy */
    }
    assert_string_equal(module_text(p2, "lib.util"), "return 'util'\n");
    lvat__launch_plan_free(p1);
    lvat__launch_plan_free(p2);
}

/* ---- Every kind of edit is seen ---- */

/* Same length, other bytes, and the old modification time put back:
 * only the change time tells. */
static void
test_srccache_same_size_edit_with_old_mtime(void **state)
{
    fixture *f = *state;
    char *path = lvat_test_path(f->tmp, "alice/alice.lua");
    struct stat st;
    struct timespec times[2];

    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_int_equal(stat(path, &st), 0);
    pause_ms(60);
    lvat_test_write_file(f->tmp, "alice/alice.lua", "return 'MAIN'\n");
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    check_plan(f, 2, "return 'MAIN'\n", "return 'util'\n");
    free(path);
}

static void
test_srccache_file_added_in_subfolder(void **state)
{
    fixture *f = *state;

    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    pause_ms(60);
    lvat_test_write_file(f->tmp, "alice/lib/more.lua", "return 'more'\n");
    check_third_module(f, "lib.more", "return 'more'\n");
}

static void
test_srccache_file_removed(void **state)
{
    fixture *f = *state;
    char *path = lvat_test_path(f->tmp, "alice/lib/util.lua");

    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_int_equal(unlink(path), 0);
    check_plan(f, 1, "return 'main'\n", NULL);
    free(path);
}

/* A kept snapshot that holds the main file stands for its stat: once the
 * file is gone (or a folder), the plan fails naming it, as it would
 * without the cache. */
static void
test_srccache_main_file_gone(void **state)
{
    static const char cfg[] =
        "{\"bootstrap\":\"a\",\"vats\":{\"a\":{\"sourceSpec\":"
        "\"alice/alice.lua\"}}}";
    fixture *f = *state;
    char *path = lvat_test_path(f->tmp, "alice/alice.lua");
    lvat_launch_plan *p = NULL;
    lvat_errbuf err;

    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_int_equal(unlink(path), 0);
    lvat_errbuf_clear(&err);
    assert_int_equal(lvat__plan_from_json(cfg, strlen(cfg), f->tmp, "test",
                                          f->cache, &p, &err),
                     LVAT_ECONFIG);
    assert_non_null(strstr(err.msg, "alice/alice.lua does not exist"));
    assert_int_equal(mkdir(path, 0700), 0);
    lvat_errbuf_clear(&err);
    assert_int_equal(lvat__plan_from_json(cfg, strlen(cfg), f->tmp, "test",
                                          f->cache, &p, &err),
                     LVAT_ECONFIG);
    assert_non_null(strstr(err.msg, "is not a file"));
    assert_int_equal(rmdir(path), 0);
    free(path);
}

/* Editors save by writing a new file and renaming it over the old. */
static void
test_srccache_file_replaced_by_rename(void **state)
{
    fixture *f = *state;
    char *tmp = lvat_test_path(f->tmp, "alice/.util.swp");
    char *path = lvat_test_path(f->tmp, "alice/lib/util.lua");

    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    lvat_test_write_file(f->tmp, "alice/.util.swp", "return 'UTIL'\n");
    assert_int_equal(rename(tmp, path), 0);
    check_plan(f, 2, "return 'main'\n", "return 'UTIL'\n");
    free(tmp);
    free(path);
}

/* A link whose target is missing names nothing now and may name a file
 * later, with no stamp to show it: such a folder is not kept. */
static void
test_srccache_dangling_link_not_kept(void **state)
{
    fixture *f = *state;
    char *link = lvat_test_path(f->tmp, "alice/extra.lua");

    assert_int_equal(symlink("../shared/extra.lua", link), 0);
    pause_ms(60);
    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_null(lvat_srccache_find(f->cache, f->root));
    lvat_test_write_file(f->tmp, "shared/extra.lua", "return 'extra'\n");
    check_third_module(f, "extra", "return 'extra'\n");
    free(link);
}

/* What a link names may change from a file (not read) to a folder of
 * modules while the link and its folder stay as they were. */
static void
test_srccache_link_target_turns_into_folder(void **state)
{
    fixture *f = *state;
    char *link = lvat_test_path(f->tmp, "alice/more");
    char *target = lvat_test_path(f->tmp, "shared/more");

    lvat_test_write_file(f->tmp, "shared/more", "a file, not Lua");
    assert_int_equal(symlink("../shared/more", link), 0);
    pause_ms(60);
    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_non_null(lvat_srccache_find(f->cache, f->root));
    assert_int_equal(unlink(target), 0);
    lvat_test_write_file(f->tmp, "shared/more/deep.lua", "return 'deep'\n");
    check_third_module(f, "more.deep", "return 'deep'\n");
    free(link);
    free(target);
}

/* Changed just before the read: a second edit in the same tick could
 * keep every stamp, so nothing is kept and every plan reads. */
static void
test_srccache_racy_folder_not_kept(void **state)
{
    fixture *f = *state;

    lvat_srccache_free(f->cache);
    f->cache = lvat_srccache_new(1 << 20, 10000000000u); /* 10 s */
    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_null(lvat_srccache_find(f->cache, f->root));
    /* at once */
    lvat_test_write_file(f->tmp, "alice/alice.lua", "return 'MAIN'\n");
    check_plan(f, 2, "return 'MAIN'\n", "return 'util'\n");
}

/* ---- The cache itself ---- */

/* A kept one-file snapshot of tmp/<name>/ with `bytes` bytes of text. */
static void
keep_folder(fixture *f, const char *name, size_t bytes)
{
    char *dir = lvat_test_path(f->tmp, name), *file;
    char *text = malloc(bytes + 1);
    lvat_srcsnap *s;
    struct stat st;

    memset(text, 'x', bytes);
    text[bytes] = '\0';
    lvat_test_write_file(dir, "m.lua", text);
    file = lvat_test_path(dir, "m.lua");
    s = lvat_srcsnap_new(dir);
    assert_int_equal(stat(dir, &st), 0);
    lvat_srcsnap_stamp(s, dir, &st);
    assert_int_equal(stat(file, &st), 0);
    lvat_srcsnap_stamp(s, file, &st);
    lvat_srcsnap_add(s, "m.lua", text, bytes);
    /* As if the walk had started well after the files were written. */
    lvat_srccache_keep(f->cache, s,
                       (uint64_t)(time(NULL) + 2) * 1000000000u + RACY_NS);
    free(text);
    free(file);
    free(dir);
}

static int
kept(fixture *f, const char *name)
{
    char *dir = lvat_test_path(f->tmp, name);
    int found = lvat_srccache_find(f->cache, dir) != NULL;

    free(dir);
    return found;
}

static void
test_srccache_evicts_least_recently_found(void **state)
{
    fixture *f = *state;

    lvat_srccache_free(f->cache);
    f->cache = lvat_srccache_new(25000, RACY_NS); /* two of the three */
    keep_folder(f, "a", 10000);
    keep_folder(f, "b", 10000);
    assert_true(kept(f, "a")); /* a is now the most recent */
    keep_folder(f, "c", 10000);
    assert_false(kept(f, "b"));
    assert_true(kept(f, "a"));
    assert_true(kept(f, "c"));
    keep_folder(f, "big", 25000); /* with its stamps, over the budget */
    assert_false(kept(f, "big"));
    assert_true(kept(f, "a"));
    keep_folder(f, "a", 5000); /* replaces the old snapshot of a */
    assert_true(kept(f, "c"));
    {
        char *dir = lvat_test_path(f->tmp, "a");
        const lvat_srcsnap *a = lvat_srccache_find(f->cache, dir);
        const char *text;
        size_t len;
        assert_non_null(a);
        assert_int_equal(lvat_srcsnap_count(a), 1);
        assert_string_equal(lvat_srcsnap_file(a, 0, &text, &len), "m.lua");
        assert_int_equal(len, 5000);
        free(dir);
    }
}

static void
test_srccache_null_cache_reads_every_time(void **state)
{
    fixture *f = *state;

    lvat_srccache_free(f->cache);
    f->cache = NULL;
    check_plan(f, 2, "return 'main'\n", "return 'util'\n");
    assert_null(lvat_srccache_find(NULL, f->root));
    lvat_srccache_keep(NULL, lvat_srcsnap_new(f->root), 0);
}

/* A failure at any allocation fails the plan or not; either way the
 * cache holds the whole folder or nothing, and the next plan is right. */
static void
test_srccache_out_of_memory_at_every_allocation(void **state)
{
    fixture *f = *state;
    static const char cfg[] =
        "{\"bootstrap\":\"a\",\"vats\":{\"a\":{\"sourceSpec\":"
        "\"alice/alice.lua\"}}}";

    for (unsigned long n = 1;; n++) {
        lvat_launch_plan *p = NULL;
        const lvat_srcsnap *s;
        lvat_errbuf err;
        unsigned long made;
        int rc;

        lvat_srccache_free(f->cache);
        f->cache = lvat_srccache_new(1 << 20, RACY_NS);
        assert_non_null(f->cache);
        lvat_errbuf_clear(&err);
        lvat_alloc_fail_after(n, 1);
        rc = lvat__plan_from_json(cfg, strlen(cfg), f->tmp, "test", f->cache,
                                  &p, &err);
        made = lvat_alloc_fail_after(0, 0);
        s = lvat_srccache_find(f->cache, f->root);
        assert_true(s == NULL || lvat_srcsnap_count(s) == 2);
        if (rc != LVAT_OK) {
            if (rc != LVAT_ENOMEM)
                fprintf(stderr, "n=%lu: %s\n", n, err.msg);
            assert_lvat_rc(rc, LVAT_ENOMEM);
            assert_null(p);
            continue;
        }
        lvat__launch_plan_free(p);
        check_plan(f, 2, "return 'main'\n", "return 'util'\n");
        if (made < n) { /* the failure never came: all was allocated */
            assert_non_null(s);
            break;
        }
    }
}

/* Links back to a folder above them make a walk that forks at every
 * level: six in one folder listed 6^8 folders (10 s in the kernel's
 * thread, which a kernel facet's launch would stall).  The walk stops at
 * a bound, naming the folder and what to do. */
static void
test_srccache_link_loops_are_bounded(void **state)
{
    fixture *f = *state;
    static const char cfg[] =
        "{\"bootstrap\":\"a\",\"vats\":{\"a\":{\"sourceSpec\":"
        "\"alice/alice.lua\"}}}";
    lvat_launch_plan *p = NULL;
    lvat_errbuf err;
    char *empty = lvat_test_path(f->tmp, "alice/empty");
    time_t t0 = time(NULL);

    assert_int_equal(mkdir(empty, 0700), 0);
    free(empty);
    for (int i = 0; i < 6; i++) {
        char name[32], *link;
        snprintf(name, sizeof name, "alice/empty/loop%d", i);
        link = lvat_test_path(f->tmp, name);
        assert_int_equal(symlink(".", link), 0);
        free(link);
    }
    lvat_errbuf_clear(&err);
    assert_int_equal(lvat__plan_from_json(cfg, strlen(cfg), f->tmp, "test",
                                          f->cache, &p, &err),
                     LVAT_ECONFIG);
    assert_null(p);
    assert_true(time(NULL) - t0 < 3);
    if (strstr(err.msg, "folders under") == NULL ||
        strstr(err.msg, "alice") == NULL)
        fail_msg("unexpected error: %s", err.msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_srccache_second_plan_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_same_size_edit_with_old_mtime, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_file_added_in_subfolder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srccache_main_file_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_srccache_file_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_file_replaced_by_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_dangling_link_not_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_link_target_turns_into_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_link_loops_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srccache_racy_folder_not_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_evicts_least_recently_found, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_null_cache_reads_every_time, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_srccache_out_of_memory_at_every_allocation, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
