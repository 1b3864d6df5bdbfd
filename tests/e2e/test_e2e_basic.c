/*
 * End-to-end basics with real Lua vats: the shipped examples run and
 * print what the README promises, a vat answers messages from the host,
 * and a started vat holds no garbage.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_int.h"
#include "lua_kernel.h"

static void
test_e2e_echo_launch_and_call(void **state)
{
    lk t;
    char *r;
    int st;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"echo\",\"vats\":"
                                 "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    assert_string_equal(t.launch_result, "echo ready");
    assert_string_equal(t.sub, "s1");
    r = lk_call(&t, t.root, "hello", "[\"world\"]", &st);
    assert_int_equal(st, LVAT_OK);
    assert_string_equal(r, "hello world");
    free(r);
    r = lk_call(&t, t.root, "echo", "[{\"b\":[1,2.5,true,null],\"a\":\"x\"}]",
                &st);
    assert_string_equal(r, "{\"a\": \"x\", \"b\": [1, 2.5, true]}");
    free(r);
    lk_close(&t);
}

static void
test_e2e_unknown_method_rejects(void **state)
{
    lk t;
    char *r;
    int st;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"echo\",\"vats\":"
                                 "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    r = lk_call(&t, t.root, "nope", "[]", &st);
    assert_int_equal(st, LVAT_EREJECTED);
    if (strstr(r, "has no method") == NULL) fail_msg("got %s", r);
    free(r);
    lk_close(&t);
}

/* A bigint a Lua integer cannot hold (the host may send any, as
 * {"@bigint": "..."}) is refused when the host queues it, naming it: it
 * was clamped to math.maxinteger, or failed the delivery (the vat lost
 * its heap; three such messages suspended it). */
static void
test_e2e_bigint_beyond_int64_refused(void **state)
{
    static const char *const big[] = {
        "99999999999999999999", "-99999999999999999999",
        "9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890123456789"};
    lk t;
    lvat_kvat *v;
    void *inst;
    char args[128], *r;
    int st;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"echo\",\"vats\":"
                                 "{\"echo\":{\"sourceSpec\":\"echo.lua\"}}}"));
    v = lvat__vat_find(t.k, 1);
    assert_non_null(v);
    inst = v->inst;
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        snprintf(args, sizeof args, "[{\"@bigint\":\"%s\"}]", big[i]);
        st = lvat_kernel_queue_message(t.k, t.root, "echo", args, NULL, NULL);
        if (st != LVAT_EINVAL ||
            strstr(lvat_kernel_errmsg(t.k), "does not fit a 64-bit") == NULL)
            fail_msg("%s: %s %s", big[i], lvat_err_name(st),
                     lvat_kernel_errmsg(t.k));
        assert_ptr_equal(v->inst, inst);
    }
    r = lk_call(&t, t.root, "echo", "[{\"@bigint\":\"-9223372036854775808\"}]",
                &st);
    assert_int_equal(st, LVAT_OK);
    assert_string_equal(r, "-9223372036854775808n");
    free(r);
    assert_false(lk_log_has(&t, "restarts"));
    lk_close(&t);
}

/* A presence read as a local object or called says how to send. */
static void
test_e2e_presence_misuse_says_send_with_e(void **state)
{
    lk t;
    char *r;
    int st;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, LK_PINGER_ECHO));
    r = lk_call(&t, t.root, "misuse", "[]", &st);
    assert_int_equal(st, LVAT_OK);
    if (strstr(r, "pinger.lua:19: p.echo: p is a presence (o-1 vatRoot), not a "
                  "local object: send to it with E(p):echo(...)") == NULL ||
        strstr(r, "pinger.lua:20: a presence (o-1) cannot be called: send "
                  "to it with E(p):method(...)") == NULL)
        fail_msg("got %s", r);
    free(r);
    lk_close(&t);
}

/* A vat that only started (no message since) may sit idle for ever.  A
 * start that more than doubled the heap is collected at once; a smaller
 * one's garbage is left to the collector's pace, so it is less than the
 * state holds (lvat.c). */
static void
test_e2e_started_vat_holds_bounded_garbage(void **state)
{
    size_t live, garbage;
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"echo\",\"vats\":{"
                                 "\"echo\":{\"sourceSpec\":\"echo.lua\"},"
                                 "\"idle\":{\"sourceSpec\":\"echo.lua\"},"
                                 "\"litter\":{\"sourceSpec\":"
                                 "\"litter.lua\"}}}"));
    garbage = lk_garbage(&t, 2, "idle", &live);
    if (garbage >= live / 4)
        fail_msg("%zu bytes of garbage beside %zu live", garbage, live);
    lk_expect_no_garbage(&t, 3, "litter");
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_echo_launch_and_call),
        cmocka_unit_test(test_e2e_unknown_method_rejects),
        cmocka_unit_test(test_e2e_bigint_beyond_int64_refused),
        cmocka_unit_test(test_e2e_started_vat_holds_bounded_garbage),
        cmocka_unit_test(test_e2e_presence_misuse_says_send_with_e),
    };
    return cmocka_run_group_tests_name("e2e_basic", tests, NULL, NULL);
}
