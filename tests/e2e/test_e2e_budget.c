/*
 * What one delivery hands the kernel to hold until its crank ends (its
 * vatstore writes, the messages it sends, the values it resolves) is
 * bounded by the vat's memory cap, as its heap is (syscall_store.c),
 * with real Lua vats: a delivery past it is stopped like a heap past it
 * (its message rejected [KERNEL:VAT_FAULT], nothing it wrote, sent or
 * resolved kept, the vat restarted from its baggage); the same bytes over
 * several deliveries are fine; a rewrite counts its growth, a deleted
 * value until the delivery ends; writes and sends count together.
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

/* sender.lua under the same cap, and sink.lua (v2) that counts what
 * reaches it, with the kernel's default cap. */
#define SENDER_CAPPED                                                 \
    "{\"bootstrap\":\"sender\",\"vats\":{\"sender\":{\"sourceSpec\":" \
    "\"sender.lua\",\"creationOptions\":{\"memoryLimit\":4194304,"    \
    "\"timeLimitMs\":60000}},\"sink\":{\"sourceSpec\":\"sink.lua\","  \
    "\"creationOptions\":{\"timeLimitMs\":60000}}}}"

#define EXCEEDED                                                \
    " (v1) memory limit of 4194304 bytes exceeded by what one " \
    "delivery sent, resolved and wrote"
#define WHY          "writer" EXCEEDED
#define FAULT        "[KERNEL:VAT_FAULT] " WHY
#define SENDER_FAULT "[KERNEL:VAT_FAULT] sender" EXCEEDED
#define ADVICE                                                           \
    "raise creationOptions.memoryLimit or spread the work over several " \
    "deliveries"

/* ---- Helpers ---- */

/* Calls method(args) on the root and checks that it was rejected for
 * the budget with `fault` and the advice, and what it says was held in
 * messages, resolutions or writes, as `parts` ("" for any). */
static void
expect_fault(lk *t,
             const char *fault,
             const char *parts,
             const char *method,
             const char *args)
{
    int st;
    char *r = lk_call(t, t->root, method, args, &st);

    if (st != LVAT_EREJECTED || strstr(r, fault) == NULL ||
        strstr(r, parts) == NULL || strstr(r, ADVICE) == NULL)
        fail_msg("%s: status %s, result %s", method, lvat_err_name(st), r);
    free(r);
}

static void
expect_budget_fault(lk *t, const char *method, const char *args)
{
    expect_fault(t, FAULT, " 0 in messages, ", method, args);
}

/* give(args) is fulfilled with a string of `size` 'x's, whole. */
static void
expect_given(lk *t, const char *args, size_t size)
{
    int st;
    char *r = lk_call(t, t->root, "give", args, &st);
    size_t len = strlen(r);

    if (st != LVAT_OK || len != size || strspn(r, "x") != len)
        fail_msg("give%s: status %s, %zu bytes", args, lvat_err_name(st),
                 len);
    free(r);
}

/* The sink's tally: "taken T bytes B fulfilled F rejected R". */
static void
expect_sink(lk *t, const char *want)
{
    char sink[32];

    lk_root(t, "v2", sink);
    lk_expect_at(t, sink, "stats", "[]", LVAT_OK, want);
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

/* Forty 1 MiB messages to the sink in one delivery under a 4 MiB cap,
 * with results and one-way: stopped at the fourth, none of them reaches
 * the sink, and the vat carries on from its baggage. */
static void
test_e2e_budget_sends_in_one_delivery_over_the_cap_fault(void **state)
{
    lk *t = *state;
    char args[64];

    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
    snprintf(args, sizeof args, "[40, %d, false]", MIB);
    expect_fault(t, SENDER_FAULT, " 0 in resolutions, 0 in vatstore writes",
                 "blast", args);
    assert_true(lk_log_has(t, "sender" EXCEEDED));
    expect_sink(t, "taken 0 bytes 0 fulfilled 0 rejected 0");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1"); /* restarted */
    snprintf(args, sizeof args, "[40, %d, true]", MIB);
    expect_fault(t, SENDER_FAULT, " 0 in resolutions, 0 in vatstore writes",
                 "blast", args);
    expect_sink(t, "taken 0 bytes 0 fulfilled 0 rejected 0");
    /* It carries on: its sink is still in its baggage. */
    lk_expect_at(t, t->root, "blast", "[2, 1000, true]", LVAT_OK, "2");
    lk_expect_at(t, t->root, "blast", "[3, 1000, false]", LVAT_OK, "3");
    expect_sink(t, "taken 5 bytes 5000 fulfilled 0 rejected 0");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1");
}

/* Tiny messages count their records too: 50,000 empty one-way sends
 * (about 30 bytes of text each) pass a 4 MiB cap, 10,000 do not. */
static void
test_e2e_budget_tiny_sends_count_their_records(void **state)
{
    lk *t = *state;

    expect_fault(t, SENDER_FAULT, " 0 in resolutions, 0 in vatstore writes",
                 "blast", "[50000, 0, true]");
    expect_sink(t, "taken 0 bytes 0 fulfilled 0 rejected 0");
    lk_expect_at(t, t->root, "blast", "[10000, 0, true]", LVAT_OK, "10000");
    expect_sink(t, "taken 10000 bytes 0 fulfilled 0 rejected 0");
}

/* The same forty messages, one per delivery (and three in one: 3 MiB
 * and their item headers fit), all reach the sink. */
static void
test_e2e_budget_sends_spread_over_deliveries_are_fine(void **state)
{
    lk *t = *state;
    char args[64];

    for (int i = 0; i < 40; i++) {
        snprintf(args, sizeof args, "[1, %d, %s]", MIB,
                 i % 2 ? "true" : "false");
        lk_expect_at(t, t->root, "blast", args, LVAT_OK, "1");
    }
    snprintf(args, sizeof args, "[3, %d, false]", MIB);
    lk_expect_at(t, t->root, "blast", args, LVAT_OK, "3");
    expect_sink(t, "taken 43 bytes 45088768 fulfilled 0 rejected 0");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1"); /* no restart */
}

/* A 1 MiB result is fine, but settling forty promises it exported with
 * 1 MiB each in one delivery is stopped: none reaches the sink
 * fulfilled (the restart rejects what the old heap decided), and a
 * later delivery settling three of them is fine. */
static void
test_e2e_budget_resolutions_in_one_delivery_over_the_cap_fault(void **state)
{
    lk *t = *state;
    char args[64];

    snprintf(args, sizeof args, "[%d]", MIB);
    expect_given(t, args, MIB);
    lk_expect_at(t, t->root, "promise", "[40]", LVAT_OK, "40");
    snprintf(args, sizeof args, "[40, %d]", MIB);
    expect_fault(t, SENDER_FAULT, ": 0 in messages, ", "settle", args);
    expect_sink(t, "taken 0 bytes 0 fulfilled 0 rejected 40");
    lk_expect_at(t, t->root, "count", "[]", LVAT_OK, "1"); /* restarted */
    lk_expect_at(t, t->root, "promise", "[3]", LVAT_OK, "3");
    snprintf(args, sizeof args, "[3, %d]", MIB);
    lk_expect_at(t, t->root, "settle", args, LVAT_OK, "3");
    expect_sink(t, "taken 0 bytes 3145728 fulfilled 3 rejected 40");
}

/* Two 1 MiB baggage writes and two 1 MiB messages: each pair fits in a
 * delivery of its own, the four together do not, and then neither the
 * writes nor the messages are kept. */
static void
test_e2e_budget_writes_and_sends_count_together(void **state)
{
    lk *t = *state;
    char args[64], *r;
    int st;

    snprintf(args, sizeof args, "[2, 2, %d]", MIB);
    r = lk_call(t, t->root, "mixed", args, &st);
    if (st != LVAT_EREJECTED || strstr(r, SENDER_FAULT) == NULL ||
        strstr(r, ": 0 in messages") != NULL ||
        strstr(r, ", 0 in vatstore writes") != NULL ||
        strstr(r, " 0 in resolutions, ") == NULL)
        fail_msg("mixed: status %s, result %s", lvat_err_name(st), r);
    free(r);
    lk_expect_at(t, t->root, "has", "[\"m1\"]", LVAT_OK, "false");
    expect_sink(t, "taken 0 bytes 0 fulfilled 0 rejected 0");
    snprintf(args, sizeof args, "[2, 0, %d]", MIB);
    lk_expect_at(t, t->root, "mixed", args, LVAT_OK, "2");
    snprintf(args, sizeof args, "[0, 2, %d]", MIB);
    lk_expect_at(t, t->root, "mixed", args, LVAT_OK, "2");
    lk_expect_at(t, t->root, "has", "[\"m2\"]", LVAT_OK, "true");
    expect_sink(t, "taken 2 bytes 2097152 fulfilled 0 rejected 0");
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
        LK_TEST(test_e2e_budget_sends_in_one_delivery_over_the_cap_fault,
                SENDER_CAPPED),
        LK_TEST(test_e2e_budget_sends_spread_over_deliveries_are_fine,
                SENDER_CAPPED),
        LK_TEST(test_e2e_budget_tiny_sends_count_their_records,
                SENDER_CAPPED),
        LK_TEST(test_e2e_budget_resolutions_in_one_delivery_over_the_cap_fault,
                SENDER_CAPPED),
        LK_TEST(test_e2e_budget_writes_and_sends_count_together, SENDER_CAPPED),
    };

    return cmocka_run_group_tests_name("e2e_budget", tests, NULL, NULL);
}
