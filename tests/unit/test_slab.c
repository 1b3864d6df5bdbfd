/*
 * The vats' small-block allocator: lua_Alloc's contract at every size
 * boundary, blocks reused by size, every size class holding its bytes,
 * many Lua states churning through one allocator without touching each
 * other's blocks, the allocator's inline common case, and a burst's
 * arenas let go.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "alloc.h"
#include "slab.h"

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static bool
holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7))
            return false;
    return true;
}

/* Every resize across the small/large boundary keeps the common bytes. */
static void
test_slab_resize_keeps_contents(void **state)
{
    static const size_t sizes[] = {1,   7,   8,   9,   16,   100, 255,
                                   256, 257, 300, 512, 4000, 70000};
    const size_t n = sizeof sizes / sizeof sizes[0];
    lvat_slab *s = lvat_slab_new();

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            unsigned char *p = lvat_slab_realloc(s, NULL, LUA_TTABLE,
                                                 sizes[i]);
            size_t keep = sizes[i] < sizes[j] ? sizes[i] : sizes[j];
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 8, 0);
            fill(p, sizes[i], (unsigned)(i + j));
            p = lvat_slab_realloc(s, p, sizes[i], sizes[j]);
            assert_non_null(p);
            assert_true(holds(p, keep, (unsigned)(i + j)));
            fill(p, sizes[j], 3);
            assert_null(lvat_slab_realloc(s, p, sizes[j], 0));
        }
    }
    lvat_slab_free(s);
}

/* A freed block is the next one handed out at its size; within one size
 * class a resize stays in place. */
static void
test_slab_reuses_by_size(void **state)
{
    lvat_slab *s = lvat_slab_new();
    void *a, *b, *c;

    (void)state;
    a = lvat_slab_realloc(s, NULL, 0, 40);
    if (lvat_slab_arena_bytes(s) == 0) {
        /* Passthrough (ASan, make valgrind): every block is the
         * C library's. */
        lvat_slab_realloc(s, a, 40, 0);
        lvat_slab_free(s);
        skip();
    }
    b = lvat_slab_realloc(s, NULL, 0, 40);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(lvat_slab_realloc(s, a, 40, 35), a);
    assert_null(lvat_slab_realloc(s, a, 35, 0));
    c = lvat_slab_realloc(s, NULL, 0, 33);
    assert_ptr_equal(c, a);
    assert_int_equal(lvat_slab_arena_bytes(s), (size_t)64 << 10);
    lvat_slab_realloc(s, b, 40, 0);
    lvat_slab_realloc(s, c, 33, 0);
    lvat_slab_free(s);
}

/* Every size up to the max, twice, all live at once and each filled to
 * its last byte: no block overlaps another (a class too small for its
 * sizes would), and each keeps its bytes through a resize within its
 * class. */
static void
test_slab_every_size_has_its_bytes(void **state)
{
    enum { N = LVAT_SLAB_MAX * 2 };
    lvat_slab *s = lvat_slab_new();
    unsigned char **p = calloc(N, sizeof *p);

    (void)state;
    assert_non_null(p);
    for (size_t i = 0; i < N; i++) {
        size_t size = i / 2 + 1;
        p[i] = lvat_slab_realloc(s, NULL, 0, size);
        assert_non_null(p[i]);
        fill(p[i], size, (unsigned)i);
    }
    for (size_t i = 0; i < N; i++)
        assert_true(holds(p[i], i / 2 + 1, (unsigned)i));
    for (size_t i = 0; i < N; i++) {
        size_t size = i / 2 + 1;
        assert_null(lvat_slab_realloc(s, p[i], size, 0));
    }
    free(p);
    lvat_slab_free(s);
}

static void *
slab_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    return lvat_slab_realloc(ud, ptr, osize, nsize);
}

/* Eight states interleave their work on one allocator; each computes the
 * right answer, and closing them hands every block back (a second round
 * needs no new arena). */
static void
test_slab_many_states_share_it(void **state)
{
    const char *chunk =
        "local t = {} for i = 1, 2000 do t[i] = ('v%d'):format(i * ...) end "
        "local s = 0 for i = 1, #t do s = s + #t[i] end "
        "t = nil collectgarbage() return s";
    lvat_slab *s = lvat_slab_new();
    lua_State *L[8];
    size_t arenas = 0;

    (void)state;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 8; i++) {
            L[i] = lua_newstate(slab_alloc, s);
            assert_non_null(L[i]);
            luaL_openlibs(L[i]);
        }
        for (int rep = 0; rep < 3; rep++)
            for (int i = 0; i < 8; i++) {
                assert_int_equal(luaL_loadstring(L[i], chunk), LUA_OK);
                lua_pushinteger(L[i], i + 1);
                assert_int_equal(lua_pcall(L[i], 1, 1, 0), LUA_OK);
                assert_true(lua_tointeger(L[i], -1) > 0);
                lua_pop(L[i], 1);
            }
        for (int i = 0; i < 8; i++)
            lua_close(L[i]);
        if (round == 0)
            arenas = lvat_slab_arena_bytes(s);
    }
    assert_int_equal(lvat_slab_arena_bytes(s), arenas);
    lvat_slab_free(s);
}

/* A burst's slab, all of its blocks free again, is swapped for a fresh
 * one past `keep` bytes and kept below it.  (Under AddressSanitizer
 * every block is the C library's: no arena, nothing to shed.) */
static void
test_slab_shed_lets_a_burst_go(void **state)
{
    enum { N = 3000, SIZE = 1000 };
    void **blocks = calloc(N, sizeof *blocks);
    lvat_slab *s = lvat_slab_new(), *before;
    size_t held;

    (void)state;
    assert_non_null(blocks);
    assert_non_null(s);
    blocks[0] = lvat_slab_alloc(s, SIZE);
    assert_non_null(blocks[0]);
    lvat_slab_release(s, blocks[0], SIZE);
    before = s;
    held = lvat_slab_arena_bytes(s);
    lvat_slab_shed(&s, (size_t)1 << 20);
    assert_ptr_equal(s, before); /* small: kept, with its arena */
    assert_int_equal(lvat_slab_arena_bytes(s), held);
    for (size_t i = 0; i < N; i++)
        assert_non_null(blocks[i] = lvat_slab_alloc(s, SIZE));
    for (size_t i = 0; i < N; i++)
        lvat_slab_release(s, blocks[i], SIZE);
    held = lvat_slab_arena_bytes(s);
    lvat_slab_shed(&s, (size_t)1 << 20);
    if (held == 0) {
        assert_ptr_equal(s, before);
    } else {
        assert_true(held > (size_t)1 << 20);
        assert_int_equal(lvat_slab_arena_bytes(s), 0);
    }
    assert_non_null(blocks[0] = lvat_slab_alloc(s, SIZE));
    fill(blocks[0], SIZE, 5);
    assert_true(holds(blocks[0], SIZE, 5));
    lvat_slab_release(s, blocks[0], SIZE);
    lvat_slab_free(s);
    free(blocks);
}

/* lvat_slab_take is lvat_slab_alloc's common case: a freed block of the
 * size's class or the arena's uncarved rest, counted for the failure
 * hook; NULL (go to lvat_slab_alloc) with no arena room, past
 * LVAT_SLAB_MAX, or with the hook armed. */
static void
test_slab_take_is_the_common_case(void **state)
{
    lvat_slab *s = lvat_slab_new();
    void *p, *q, *r;

    (void)state;
    assert_non_null(s);
    assert_null(lvat_slab_take(s, 16)); /* no arena yet */
    assert_non_null(p = lvat_slab_alloc(s, 16));
    lvat_slab_release(s, p, 16);
    if (lvat_slab_arena_bytes(s) == 0) { /* passthrough (ASan, make valgrind) */
        assert_null(lvat_slab_take(s, 16));
        lvat_slab_free(s);
        return;
    }
    lvat_alloc_fail_after(0, 0);
    q = lvat_slab_take(s, 13); /* 13 and 16 share a class */
    assert_ptr_equal(q, p);
    assert_non_null(r = lvat_slab_take(s, 24));
    assert_ptr_not_equal(r, q);
    assert_null(lvat_slab_take(s, LVAT_SLAB_MAX + 1));
    assert_int_equal(lvat_alloc_fail_after(0, 0), 2);
    lvat_slab_release(s, q, 16);
    lvat_alloc_fail_after(100, 0); /* armed: the slow path decides */
    assert_null(lvat_slab_take(s, 16));
    lvat_alloc_fail_after(0, 0);
    assert_ptr_equal(lvat_slab_take(s, 16), q);
    lvat_slab_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slab_resize_keeps_contents),
        cmocka_unit_test(test_slab_reuses_by_size),
        cmocka_unit_test(test_slab_every_size_has_its_bytes),
        cmocka_unit_test(test_slab_many_states_share_it),
        cmocka_unit_test(test_slab_shed_lets_a_burst_go),
        cmocka_unit_test(test_slab_take_is_the_common_case),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
