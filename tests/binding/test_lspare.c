/*
 * Spare vat states (bindings/lspare.c), through the vat operations the
 * kernel calls: the pool fills only once a vat exists and refills from
 * half empty; a vat made from a spare is the vat its spec says (name, id,
 * endowments, seeded randomness) and fails exactly as one made on the
 * spot (a memory cap a spare does not fit, an unknown global); and an
 * allocation failing anywhere in a creation that takes a spare leaves a
 * clean error and nothing leaked.
 */
#include "lvat_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "alloc.h"
#include "lspare.h"
#include "slab.h"

static lvat_lua_runtime *
runtime(unsigned spares)
{
    lvat_lua_runtime *rt;
    lvat_lua_options o;
    lvat_errbuf eb;

    lvat_lua_options_init(&o);
    o.spare_states = spares;
    lvat_errbuf_clear(&eb);
    if (lvat_lua_runtime_new(&o, &rt, &eb) != LVAT_OK)
        fail_msg("lvat_lua_runtime_new: %s", eb.msg);
    return rt;
}

static lvat_spares_stats
stats(lvat_lua_runtime *rt)
{
    lvat_spares_stats st;

    lvat_spares_get_stats(lvat_lua_runtime_spares(rt), &st);
    return st;
}

static void
nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits (up to a minute: valgrind is slow) for n spares. */
static void
wait_ready(lvat_lua_runtime *rt, size_t n)
{
    for (int i = 0; i < 6000 && stats(rt).ready < n; i++)
        nap_ms(10);
    assert_int_equal(stats(rt).ready, n);
}

static lvat_vat_spec
spec_of(const char *name, uint32_t id)
{
    lvat_vat_spec s;

    memset(&s, 0, sizeof s);
    s.name = name;
    s.id = id;
    s.main = name;
    return s;
}

/* create(); on failure *rc and err say why and NULL is returned. */
static void *
try_create(lvat_lua_runtime *rt, const lvat_vat_spec *spec, int *rc,
           lvat_errbuf *err)
{
    void *v = NULL;

    lvat_errbuf_clear(err);
    *rc = lvat_lua_vat_ops()->create(rt, spec, &v, err);
    return *rc == LVAT_OK ? v : NULL;
}

static void *
create(lvat_lua_runtime *rt, const lvat_vat_spec *spec)
{
    lvat_errbuf err;
    int rc;
    void *v = try_create(rt, spec, &rc, &err);

    if (rc != LVAT_OK)
        fail_msg("create %s: %s", spec->name, err.msg);
    return v;
}

static void
destroy(void *v)
{
    lvat_lua_vat_ops()->destroy(v);
}

/* Three draws of Random.int(1, 10^9) in the vat's own environment. */
static void
draws(void *vat, char *out, size_t len)
{
    lua_State *L = ((lvat_lvat *)vat)->L;
    long long d[3];

    lvat_lua_reg(L, LVAT_REG_VATENV);
    assert_int_equal(lua_getfield(L, -1, "Random"), LUA_TTABLE);
    for (int i = 0; i < 3; i++) {
        lua_getfield(L, -1, "int");
        lua_pushinteger(L, 1);
        lua_pushinteger(L, 1000000000);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK)
            fail_msg("Random.int: %s", lua_tostring(L, -1));
        d[i] = (long long)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    snprintf(out, len, "%lld %lld %lld", d[0], d[1], d[2]);
}

static bool
env_has(void *vat, const char *name)
{
    lua_State *L = ((lvat_lvat *)vat)->L;
    bool has;

    lvat_lua_reg(L, LVAT_REG_VATENV);
    has = lua_getfield(L, -1, name) != LUA_TNIL;
    lua_pop(L, 2);
    return has;
}

static void
test_spares_fill_after_the_first_vat_and_refill_from_half(void **state)
{
    lvat_lua_runtime *rt = runtime(4);
    lvat_vat_spec s = spec_of("a", 1);
    void *v[3];

    (void)state;
    /* A kernel that makes no vat pays for no spare. */
    nap_ms(50);
    assert_int_equal(stats(rt).built, 0);
    v[0] = create(rt, &s);
    assert_int_equal(stats(rt).missed, 1);
    wait_ready(rt, 4);
    /* 4 -> 3 leaves the builder asleep; 3 -> 2 (half) wakes it. */
    v[1] = create(rt, &s);
    nap_ms(50);
    assert_int_equal(stats(rt).ready, 3);
    assert_int_equal(stats(rt).built, 4);
    v[2] = create(rt, &s);
    wait_ready(rt, 4);
    assert_int_equal(stats(rt).built, 6);
    assert_int_equal(stats(rt).taken, 2);
    for (int i = 0; i < 3; i++)
        destroy(v[i]);
    /* Spares never taken are freed with the runtime (ASan, valgrind). */
    lvat_lua_runtime_free(rt);
}

static void
test_spares_vat_is_the_vat_its_spec_names(void **state)
{
    static const char *const globals[] = {"Random"};
    lvat_lua_runtime *plain = runtime(0), *rt = runtime(1);
    lvat_vat_spec s = spec_of("alice", 7);
    char want[96], got[96];
    void *a, *b;

    (void)state;
    s.globals = globals;
    s.nglobals = 1;
    s.has_random_seed = true;
    s.random_seed = 42;
    destroy(create(rt, &s)); /* the first vat starts the pool */
    wait_ready(rt, 1);
    a = create(plain, &s);
    b = create(rt, &s);
    assert_int_equal(stats(rt).taken, 1);
    assert_string_equal(((lvat_lvat *)b)->name, "alice");
    assert_int_equal(((lvat_lvat *)b)->id, 7);
    assert_true(env_has(b, "Random") && env_has(b, "Far"));
    assert_false(env_has(b, "Date"));
    draws(a, want, sizeof want);
    draws(b, got, sizeof got);
    assert_string_equal(got, want);
    /* A spare serves any spec: this one asks for no endowment. */
    wait_ready(rt, 1);
    destroy(b);
    b = create(rt, &(lvat_vat_spec){.name = "bob", .id = 8, .main = "bob"});
    assert_false(env_has(b, "Random"));
    destroy(a);
    destroy(b);
    lvat_lua_runtime_free(plain);
    lvat_lua_runtime_free(rt);
}

/* Creates `s` in a runtime with no spares and in one whose spare is
 * ready: both must fail with the same code and message; `taken` says
 * whether the second took the spare. */
static void
fails_alike(const lvat_vat_spec *s, const char *expect, unsigned long taken)
{
    lvat_lua_runtime *plain = runtime(0), *rt = runtime(1);
    lvat_vat_spec first = spec_of("first", 1);
    lvat_errbuf want, got;
    int want_rc, got_rc;

    destroy(create(rt, &first));
    wait_ready(rt, 1);
    assert_null(try_create(plain, s, &want_rc, &want));
    assert_null(try_create(rt, s, &got_rc, &got));
    assert_int_equal(stats(rt).taken, taken);
    assert_int_equal(got_rc, want_rc);
    assert_string_equal(got.msg, want.msg);
    if (strstr(got.msg, expect) == NULL)
        fail_msg("expected \"%s\" in: %s", expect, got.msg);
    lvat_lua_runtime_free(plain);
    lvat_lua_runtime_free(rt);
}

static void
test_spares_too_big_for_the_cap_fail_as_a_fresh_state(void **state)
{
    lvat_vat_spec s = spec_of("tiny", 3);

    (void)state;
    s.memory_limit = 16 << 10; /* an idle vat holds ~42 KB */
    fails_alike(&s, "tiny (v3) memory limit of 16384 bytes exceeded", 0);
}

/* The smallest cap a state made on the spot fits: with spares, a vat
 * under it fails exactly as a state made on the spot, and one at it is
 * made.  A spare serves only caps its making peaked within; below that
 * a state is made on the spot, which may fit a little lower, as its start
 * may collect when it meets the cap.  A roomy cap takes a spare. */
static void
test_spares_serve_exactly_the_caps_a_fresh_state_fits(void **state)
{
    lvat_lua_runtime *plain = runtime(0), *rt = runtime(1);
    lvat_vat_spec s = spec_of("edge", 9);
    size_t lo = 16 << 10, hi = 1 << 20;
    lvat_errbuf err;
    int rc;
    void *v;

    (void)state;
    while (lo < hi) { /* the smallest cap that works, in [lo, hi] */
        size_t mid = lo + (hi - lo) / 2;
        s.memory_limit = mid;
        v = try_create(plain, &s, &rc, &err);
        if (v != NULL) {
            destroy(v);
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    destroy(create(rt, &(lvat_vat_spec){.name = "a", .id = 1, .main = "a"}));
    wait_ready(rt, 1);
    s.memory_limit = lo - 1;
    fails_alike(&s, "edge (v9) memory limit of", 0);
    s.memory_limit = lo;
    destroy(create(rt, &s));
    wait_ready(rt, 1);
    s.memory_limit = 1 << 20;
    rc = (int)stats(rt).taken;
    destroy(create(rt, &s));
    assert_int_equal(stats(rt).taken, (unsigned long)rc + 1);
    lvat_lua_runtime_free(plain);
    lvat_lua_runtime_free(rt);
}

/* Vats made and destroyed over and over, from spares: each slab keeps no
 * more than its high-water mark, because the blocks of the builder's
 * arenas the kernel's thread frees go back to the builder. */
static void
test_spares_memory_goes_home(void **state)
{
    lvat_lua_runtime *rt = runtime(4);
    lvat_vat_spec s = spec_of("churn", 2);
    size_t builder, runtime_slab;

    (void)state;
    destroy(create(rt, &s));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 300; i++) {
            if (i % 2 == 0)
                wait_ready(rt, 4);
            destroy(create(rt, &s));
        }
        if (round == 0) {
            builder = stats(rt).arena_bytes;
            runtime_slab = lvat_slab_arena_bytes(lvat_lua_runtime_slab(rt));
        }
    }
    assert_true(stats(rt).taken >= 300);
    /* A second round of 300 needs no new arena on either side. */
    assert_int_equal(stats(rt).arena_bytes, builder);
    assert_int_equal(lvat_slab_arena_bytes(lvat_lua_runtime_slab(rt)),
                     runtime_slab);
    assert_true(builder <= (size_t)1 << 20);
    lvat_lua_runtime_free(rt);
}

static void
test_spares_unknown_global_fails_as_a_fresh_state(void **state)
{
    static const char *const globals[] = {"Nope"};
    lvat_vat_spec s = spec_of("odd", 4);

    (void)state;
    s.globals = globals;
    s.nglobals = 1;
    fails_alike(&s, "odd (v4) config asks for unknown global \"Nope\"", 1);
}

/* Every allocation of a creation that takes a spare fails in turn, once
 * and then for good: each failure is a clean error, and the builder (on
 * its own thread, which the test hook leaves alone) keeps refilling. */
static void
test_spares_out_of_memory_anywhere_is_clean(void **state)
{
    static const char *const globals[] = {"Random", "Date"};
    lvat_lua_runtime *rt = runtime(2);
    lvat_vat_spec s = spec_of("oom", 5);
    lvat_errbuf err;

    (void)state;
    s.globals = globals;
    s.nglobals = 2;
    destroy(create(rt, &s));
    for (int sticky = 0; sticky < 2; sticky++) {
        for (unsigned long n = 1;; n++) {
            unsigned long seen;
            void *v;
            int rc;

            wait_ready(rt, 2);
            lvat_alloc_fail_after(n, sticky);
            v = try_create(rt, &s, &rc, &err);
            seen = lvat_alloc_fail_after(0, 0);
            if (v != NULL) {
                destroy(v);
                if (seen < n)
                    break; /* it needed fewer than n allocations */
                continue;
            }
            if (rc != LVAT_ENOMEM && rc != LVAT_EFAULT && rc != LVAT_EVAT)
                fail_msg("n=%lu: code %d: %s", n, rc, err.msg);
            assert_true(err.msg[0] != '\0');
        }
    }
    assert_true(stats(rt).taken > 2);
    lvat_lua_runtime_free(rt);
}

/* The allocation-failure hook (alloc.h) is the arming thread's alone: a
 * test that makes every allocation of its own fail does not starve the
 * builder. */
static void
test_spares_builder_ignores_the_test_hook(void **state)
{
    lvat_lua_runtime *rt = runtime(1);
    lvat_vat_spec s = spec_of("a", 1);
    lvat_errbuf err;
    int rc;

    (void)state;
    destroy(create(rt, &s));
    wait_ready(rt, 1);
    lvat_alloc_fail_after(1, 1);
    /* Takes the spare (so the builder starts), then fails. */
    assert_null(try_create(rt, &s, &rc, &err));
    assert_int_equal(rc, LVAT_ENOMEM);
    for (int i = 0; i < 6000 && stats(rt).ready < 1; i++)
        nap_ms(10);
    lvat_alloc_fail_after(0, 0);
    assert_int_equal(stats(rt).ready, 1);
    assert_int_equal(stats(rt).taken, 1);
    lvat_lua_runtime_free(rt);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_spares_fill_after_the_first_vat_and_refill_from_half),
        cmocka_unit_test(test_spares_vat_is_the_vat_its_spec_names),
        cmocka_unit_test(test_spares_too_big_for_the_cap_fail_as_a_fresh_state),
        cmocka_unit_test(
            test_spares_serve_exactly_the_caps_a_fresh_state_fits),
        cmocka_unit_test(test_spares_unknown_global_fails_as_a_fresh_state),
        cmocka_unit_test(test_spares_memory_goes_home),
        cmocka_unit_test(test_spares_out_of_memory_anywhere_is_clean),
        cmocka_unit_test(test_spares_builder_ignores_the_test_hook),
    };
    return cmocka_run_group_tests_name("lspare", tests, NULL, NULL);
}
