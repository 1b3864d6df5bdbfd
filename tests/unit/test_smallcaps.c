/*
 * Smallcaps (smallcaps.c): the '!' escape for every special first
 * character, error bodies and their messages, the rendering of every kind
 * of value and of malformed bodies, and allocation-failure loops.  The
 * plain JSON conversions are tested in test_smallcaps_json.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "lvat_test.h"
#include "smallcaps.h"

/* ---- Helpers ---- */

static const char *
promise_state(void *ud, lvat_kref kp)
{
    int *calls = ud;

    (*calls)++;
    assert_true(lvat_kref_is_promise(kp));
    return lvat_kref_num(kp) == 3 ? "pending" : NULL;
}

static void
render(const char *body, const char *want)
{
    lvat_kref slots[3];
    lvat_buf b = LVAT_BUF_INIT;
    int calls = 0;

    slots[0] = lvat_kref_object(7);
    slots[1] = lvat_kref_promise(3);
    slots[2] = lvat_kref_promise(4);
    assert_lvat_ok(lvat_sc_render(&b, body, strlen(body), slots, 3,
                                  promise_state, &calls));
    assert_string_equal(b.data, want);
    lvat_buf_free(&b);
}

static void
render_fails(const char *body, const char *partial)
{
    lvat_kref slots[1] = {lvat_kref_object(7)};
    lvat_buf b = LVAT_BUF_INIT;

    assert_lvat_rc(lvat_sc_render(&b, body, strlen(body), slots, 1, NULL, NULL),
                   LVAT_ESYNTAX);
    assert_string_equal(b.data != NULL ? b.data : "", partial);
    lvat_buf_free(&b);
}

/* ---- Strings and error bodies ---- */

static void
test_smallcaps_escape_every_special(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    char s[3] = {0, 'x', 0}, want[16];
    int c;

    (void)state;
    for (c = '!'; c <= '-'; c++) {
        s[0] = (char)c;
        assert_true(lvat_sc_starts_special(s, 2));
        lvat_buf_reset(&b);
        assert_lvat_ok(lvat_sc_put_string(&b, s, 2));
        snprintf(want, sizeof want, "\"!%s%cx\"", c == '"' ? "\\" : "", c);
        assert_string_equal(b.data, want);
    }
    /* Neighbours and the empty string are not special. */
    assert_false(lvat_sc_starts_special(" x", 2));
    assert_false(lvat_sc_starts_special(".x", 2));
    assert_false(lvat_sc_starts_special("a", 1));
    assert_false(lvat_sc_starts_special("\xc3\xa9", 2));
    assert_false(lvat_sc_starts_special("", 0));
    lvat_buf_reset(&b);
    assert_lvat_ok(lvat_sc_put_string(&b, ".x", 2));
    assert_string_equal(b.data, "\".x\"");
    lvat_buf_free(&b);
}

static void
test_smallcaps_escape_appends_after_existing_text(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;

    (void)state;
    lvat_buf_puts(&b, "[1,");
    assert_lvat_ok(lvat_sc_put_string(&b, "$a\nb\0", 5));
    assert_string_equal(b.data, "[1,\"!$a\\nb\\u0000\"");
    assert_int_equal(b.len, strlen(b.data));
    lvat_buf_free(&b);
}

static void
test_smallcaps_error_body(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;

    (void)state;
    assert_lvat_ok(lvat_sc_error_body(&b, "boom", 4));
    assert_string_equal(b.data, "#{\"#error\":\"boom\",\"name\":\"Error\"}");
    lvat_buf_reset(&b);
    assert_lvat_ok(lvat_sc_error_body(&b, "#x \"q\"", 6));
    assert_string_equal(b.data,
                        "#{\"#error\":\"!#x \\\"q\\\"\",\"name\":\"Error\"}");
    lvat_buf_reset(&b);
    assert_lvat_ok(lvat_sc_error_body(&b, "[KERNEL:VAT_FAULT] v1", 21));
    assert_string_equal(b.data, "#{\"#error\":\"[KERNEL:VAT_FAULT] v1\","
                                "\"name\":\"Error\"}");
    lvat_buf_free(&b);
}

static void
test_smallcaps_error_message_extracted(void **state)
{
    lvat_buf body = LVAT_BUF_INIT, msg = LVAT_BUF_INIT;
    const char *other = "#{\"name\":\"TypeError\",\"#error\":\"!$x\","
                        "\"errorId\":\"e1\",\"extra\":[1,{}]}";

    (void)state;
    assert_lvat_ok(lvat_sc_error_body(&body, "a\0\xff#", 4));
    lvat_buf_puts(&msg, "pre:");
    assert_lvat_ok(lvat_sc_error_message(body.data, body.len, &msg));
    assert_int_equal(msg.len, 8);
    assert_memory_equal(msg.data, "pre:a\0\xff#", 8);
    lvat_buf_reset(&msg);
    assert_lvat_ok(lvat_sc_error_message(other, strlen(other), &msg));
    assert_string_equal(msg.data, "$x");
    lvat_buf_free(&body);
    lvat_buf_free(&msg);
}

static void
test_smallcaps_error_message_not_found(void **state)
{
    static const char *const bodies[] = {
        "#\"boom\"",
        "#{\"a\":1}",
        "#{\"#error\":1,\"name\":\"Error\"}",
        "#{\"#error\":\"$0\"}",
        "#{\"#error\":\"x\"",
        "#{\"#error\":\"x\"} junk",
        "{\"#error\":\"x\"}",
        "#[{\"#error\":\"x\"}]",
        "",
    };
    lvat_buf msg = LVAT_BUF_INIT;
    size_t k;

    (void)state;
    lvat_buf_puts(&msg, "keep");
    for (k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        assert_lvat_rc(
            lvat_sc_error_message(bodies[k], strlen(bodies[k]), &msg),
            LVAT_ENOTFOUND);
        assert_string_equal(msg.data, "keep");
    }
    lvat_buf_free(&msg);
}

/* ---- Rendering ---- */

static void
test_smallcaps_render_strings(void **state)
{
    (void)state;
    render("#\"hello\"", "hello");
    render("#\"!#hi\"", "#hi");
    render("#\"\"", "");
    render("#\"\\u00ff\"", "\xff");
    render("#[\"hello\",\"!$x\",\"a\\nb\"]", "[\"hello\", \"$x\", \"a\\nb\"]");
}

static void
test_smallcaps_render_records_and_arrays(void **state)
{
    (void)state;
    render("#{\"a\":1,\"b\":[1,2]}", "{\"a\": 1, \"b\": [1, 2]}");
    render("#[{},[],null,true,false,1.5,-7,1e+300]",
           "[{}, [], null, true, false, 1.5, -7, 1e+300]");
    render("#{\"!#k\":\"$0\"}", "{\"#k\": <ko7>}");
    render("#{\"a\":{\"b\":{\"c\":[]}}}", "{\"a\": {\"b\": {\"c\": []}}}");
}

static void
test_smallcaps_render_slots(void **state)
{
    static const char body[] = "#[\"&1\",\"$0.Alleged: Foo\"]";
    lvat_kref slots[2];
    lvat_buf b = LVAT_BUF_INIT;

    (void)state;
    render("#\"$0.Counter\"", "<ko7 Counter>");
    render("#\"$0\"", "<ko7>");
    render("#\"$0.\"", "<ko7>");
    render("#[\"&1\",\"&2\"]", "[<kp3 pending>, <kp4>]");
    slots[0] = lvat_kref_object(7);
    slots[1] = lvat_kref_promise(3);
    assert_lvat_ok(
        lvat_sc_render(&b, body, strlen(body), slots, 2, NULL, NULL));
    assert_string_equal(b.data, "[<kp3>, <ko7 Alleged: Foo>]");
    lvat_buf_free(&b);
}

static void
test_smallcaps_render_specials(void **state)
{
    (void)state;
    render("#[\"+12\",\"-5\",\"+0\"]", "[12n, -5n, 0n]");
    render("#\"+123456789012345678901234567890\"",
           "123456789012345678901234567890n");
    render("#[\"#NaN\",\"#Infinity\",\"#-Infinity\",\"#undefined\"]",
           "[NaN, Infinity, -Infinity, undefined]");
    render("#\"#undefined\"", "undefined");
}

static void
test_smallcaps_render_errors_and_tagged(void **state)
{
    (void)state;
    render("#{\"#error\":\"boom\",\"name\":\"Error\"}", "Error(\"boom\")");
    render("#{\"#error\":\"!#x \\\"q\\\"\",\"errorId\":\"e1\","
           "\"name\":\"TypeError\"}",
           "TypeError(\"#x \\\"q\\\"\")");
    render("#{\"#error\":\"no name\"}", "Error(\"no name\")");
    render("#[{\"#error\":\"a\",\"name\":\"Error\",\"x\":[1,{}]}]",
           "[Error(\"a\")]");
    render("#{\"#tag\":\"copySet\",\"payload\":[\"a\",1]}",
           "Tagged(\"copySet\", [\"a\", 1])");
    render("#{\"#tag\":\"!#t\",\"payload\":{\"#tag\":\"u\",\"payload\":null}}",
           "Tagged(\"#t\", Tagged(\"u\", null))");
}

static void
test_smallcaps_render_malformed(void **state)
{
    (void)state;
    render_fails("#\"$3\"", "");
    render_fails("[\"x\"]", "");
    render_fails("", "");
    render_fails("#[1,", "[1");
    render_fails("#[1] 2", "[1]");
    render_fails("#[1,\"*x\"]", "[1, ");
    render_fails("#{\"a\":1,\"#error\":\"x\"}", "{\"a\": 1, ");
    render_fails("#{\"#tag\":\"t\",\"x\":1}", "Tagged(\"t\", ");
    render_fails("#{\"#tag\":\"t\",\"payload\":1,\"x\":1}", "Tagged(\"t\", 1");
    render_fails("#{\"#tag\":5,\"payload\":1}", "");
    render_fails("#{\"#error\":5}", "");
}

/* ---- Allocation failures ---- */

static const char oom_body[] =
    "#{\"a\":[\"$0.Counter\",\"&1\",\"+12\",\"#NaN\",\"!!x\",1.5],"
    "\"b\":{\"#error\":\"boom\",\"name\":\"RangeError\"},"
    "\"c\":{\"#tag\":\"t\",\"payload\":{\"k\":\"v\"}}}";

static void
test_smallcaps_oom_render(void **state)
{
    lvat_kref slots[2] = {lvat_kref_object(7), lvat_kref_promise(3)};
    lvat_buf b = LVAT_BUF_INIT;
    unsigned long n;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        lvat_buf_init(&b);
        lvat_alloc_fail_after(n, 1);
        rc = lvat_sc_render(&b, oom_body, sizeof oom_body - 1, slots, 2, NULL,
                            NULL);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        lvat_buf_free(&b);
    }
    assert_string_equal(b.data, "{\"a\": [<ko7 Counter>, <kp3>, 12n, NaN, "
                                "\"!x\", 1.5], \"b\": RangeError(\"boom\"), "
                                "\"c\": Tagged(\"t\", {\"k\": \"v\"})}");
    lvat_buf_free(&b);
}

static void
test_smallcaps_oom_error_message(void **state)
{
    static const char body[] = "#{\"#error\":\"!#a long enough message\","
                               "\"name\":\"Error\"}";
    lvat_buf msg = LVAT_BUF_INIT;
    unsigned long n;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        lvat_buf_init(&msg);
        lvat_alloc_fail_after(n, 1);
        rc = lvat_sc_error_message(body, sizeof body - 1, &msg);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        lvat_buf_free(&msg);
    }
    assert_string_equal(msg.data, "#a long enough message");
    lvat_buf_free(&msg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smallcaps_escape_every_special),
        cmocka_unit_test(test_smallcaps_escape_appends_after_existing_text),
        cmocka_unit_test(test_smallcaps_error_body),
        cmocka_unit_test(test_smallcaps_error_message_extracted),
        cmocka_unit_test(test_smallcaps_error_message_not_found),
        cmocka_unit_test(test_smallcaps_render_strings),
        cmocka_unit_test(test_smallcaps_render_records_and_arrays),
        cmocka_unit_test(test_smallcaps_render_slots),
        cmocka_unit_test(test_smallcaps_render_specials),
        cmocka_unit_test(test_smallcaps_render_errors_and_tagged),
        cmocka_unit_test(test_smallcaps_render_malformed),
        cmocka_unit_test(test_smallcaps_oom_render),
        cmocka_unit_test(test_smallcaps_oom_error_message),
    };

    return cmocka_run_group_tests_name("smallcaps", tests, NULL, NULL);
}
