/*
 * What one delivery's vatstore writes hold in memory until its crank ends
 * is bounded by the vat's memory cap, as its heap is (syscall_store.c),
 * with real Lua vats: a delivery past it is stopped like a heap past it
 * (its message rejected [KERNEL:VAT_FAULT], nothing it wrote kept, the
 * vat restarted from its baggage); the same bytes over several deliveries
 * are fine; a rewrite counts its growth, a deleted value until the
 * delivery ends.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

#define MIB 1048576

/* 4 MiB: four 1 MiB values and their keys pass it.  The time budget is
 * roomy: this is about memory, and the sanitizers are slow. */
#define WRITER_CAPPED                                                 \
    "{\"bootstrap\":\"writer\",\"vats\":{\"writer\":{\"sourceSpec\":" \
    "\"writer.lua\",\"creationOptions\":{\"memoryLimit\":4194304,"    \
    "\"timeLimitMs\":60000}}}}"

#define WHY                                                           \
    "writer (v1) memory limit of 4194304 bytes exceeded by vatstore " \
    "writes in one delivery"
#define FAULT "[KERNEL:VAT_FAULT] " WHY
#define ADVICE                                                             \
    "raise creationOptions.memoryLimit or spread the writes over several " \
    "deliveries"

/* ---- Helpers ---- */

/* Calls method(args) on the root and checks that it was rejected for
 * the budget, with the advice. */
static void
expect_budget_fault(lk *t, const char *method, const char *args)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != LVAT_EREJECTED || strstr(r, FAULT) == NULL ||
        strstr(r, ADVICE) == NULL)
        fail_msg("%s: status %s, result %s", method, lvat_err_name(st), r);
    free(r);
}

/* How many of v1's vatstore keys start with baggage key `prefix`, read
 * from LMDB (what the blocks committed). */
static size_t
stored_with_prefix(lk *t, const char *prefix)
{
    char key[64];
    size_t klen = (size_t)snprintf(key, sizeof key, "v1%cb.%s", '\0', prefix);
    size_t n = 0;
    lk_dump d;

    lk_dump_db(t, LVAT_DB_VATSTORE, &d);
    for (size_t i = 0; i < d.n; i++)
        if (d.e[i].klen >= klen && memcmp(d.e[i].key, key, klen) == 0)
            n++;
    lk_dump_free(&d);
    return n;
}

/* ---- Tests ---- */

/* Eight 1 MiB values in one delivery under a 4 MiB cap: stopped at the
 * fourth, none of them stored (before and after a restart), and the vat
 * carries on from its baggage. */
static void
test_e2e_budget_one_delivery_over_the_cap_faults(void **state)
{
    lk *t = *state;
    char args[64];

    lk_expect_at(t, t->root, "keep", "[\"kept\", \"before\"]", LVAT_OK, "true");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
    snprintf(args, sizeof args, "[\"big\", 8, %d]", MIB);
    expect_budget_fault(t, "fill", args);
    assert_true(lk_log_has(t, WHY));
    /* A fresh heap, with the baggage of before and nothing of the fill. */
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
    lk_expect_at(t, t->root, "get", "[\"kept\"]", LVAT_OK, "before");
    lk_expect_at(t, t->root, "has", "[\"big1\"]", LVAT_OK, "false");
    lk_expect_at(t, t->root, "fill", "[\"small\", 2, 1000]", LVAT_OK, "2");
    assert_int_equal(stored_with_prefix(t, "big"), 0);
    lk_restart(t);
    assert_int_equal(stored_with_prefix(t, "big"), 0);
    assert_int_equal(stored_with_prefix(t, "small"), 2);
    lk_expect_at(t, t->root, "has", "[\"big3\"]", LVAT_OK, "false");
    lk_expect_at(t, t->root, "get", "[\"kept\"]", LVAT_OK, "before");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
}

/* The same eight values, one per delivery: each crank holds 1 MiB. */
static void
test_e2e_budget_spread_over_deliveries_is_fine(void **state)
{
    lk *t = *state;
    char args[64];

    for (int i = 1; i <= 8; i++) {
        snprintf(args, sizeof args, "[\"part%d.\", 1, %d]", i, MIB);
        lk_expect_at(t, t->root, "fill", args, LVAT_OK, "1");
    }
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1"); /* no restart */
    lk_restart(t);
    assert_int_equal(stored_with_prefix(t, "part"), 8);
    lk_expect_at(t, t->root, "has", "[\"part8.1\"]", LVAT_OK, "true");
}

/* Rewriting one key replaces the crank's own value in memory: sixteen
 * 1 MiB writes (four times the cap) and 20,000 small ones hold one value
 * each. */
static void
test_e2e_budget_rewrites_count_their_growth(void **state)
{
    lk *t = *state;
    char args[64];

    snprintf(args, sizeof args, "[\"r\", 16, %d]", MIB);
    lk_expect_at(t, t->root, "rewrite", args, LVAT_OK, "16");
    lk_expect_at(t, t->root, "rewrite", "[\"s\", 20000, 16]", LVAT_OK, "20000");
    lk_expect_at(t, t->root, "get", "[\"s\"]", LVAT_OK, "bbbbbbbbbbbbbbbb");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
    lk_restart(t);
    assert_int_equal(stored_with_prefix(t, "r"), 1);
}

/* A value written and deleted in one delivery stays in memory until the
 * delivery ends (a deleted value stays readable until then), so it
 * counts: eight such 1 MiB values pass the cap. */
static void
test_e2e_budget_deleted_values_count_until_the_end(void **state)
{
    lk *t = *state;
    char args[64];

    snprintf(args, sizeof args, "[\"c\", 8, %d]", MIB);
    expect_budget_fault(t, "churn", args);
    lk_expect_at(t, t->root, "has", "[\"c\"]", LVAT_OK, "false");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
}

/* Without a memoryLimit of its own, the vat has the kernel's. */
static void
test_e2e_budget_kernel_default_limit(void **state)
{
    lk t;
    char args[64];

    (void)state;
    lk_open(&t);
    t.vat_memory_limit = 4194304;
    lk_restart(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"writer\",\"vats\":{"
                                 "\"writer\":{\"sourceSpec\":\"writer.lua\","
                                 "\"creationOptions\":{\"timeLimitMs\":"
                                 "60000}}}}"));
    snprintf(args, sizeof args, "[\"big\", 8, %d]", MIB);
    expect_budget_fault(&t, "fill", args);
    lk_expect_at(&t, t.root, "fill", "[\"small\", 1, 10]", LVAT_OK, "1");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        LK_TEST(test_e2e_budget_one_delivery_over_the_cap_faults,
                WRITER_CAPPED),
        LK_TEST(test_e2e_budget_spread_over_deliveries_is_fine, WRITER_CAPPED),
        LK_TEST(test_e2e_budget_rewrites_count_their_growth, WRITER_CAPPED),
        LK_TEST(test_e2e_budget_deleted_values_count_until_the_end,
                WRITER_CAPPED),
        cmocka_unit_test(test_e2e_budget_kernel_default_limit),
    };

    return cmocka_run_group_tests_name("e2e_budget", tests, NULL, NULL);
}
