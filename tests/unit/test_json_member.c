/*
 * Members of an object's text without a tree (json_member.c): values of
 * every kind found where they are, nested members and escaped keys never
 * mistaken for top-level ones, a member set in place or added (also to an
 * empty or pretty-printed object) leaving a document that parses to the
 * expected tree, and malformed text refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "alloc.h"
#include "json.h"
#include "lvat_test.h"

static const char record[] =
    "{\"id\":\"s1\",\"nested\":{\"root\":\"ko9\",\"list\":[1,{\"root\":2}]},"
    "\"n\":-12.5e3, \"t\" : true,\"z\":null,\"esc\\\"root\":\"x\\\"y\","
    "\"root\":\"ko1\",\"arr\":[\"root\",{}]}";

/* The text of member `key` of `text`, or NULL. */
static char *
member(const char *text, const char *key)
{
    static char out[256];
    const char *const keys[] = {key};
    lvat_json_span s;

    assert_lvat_ok(lvat_json_members(text, strlen(text), keys, 1, &s));
    if (!s.found)
        return NULL;
    assert_true(s.len < sizeof out);
    memcpy(out, text + s.at, s.len);
    out[s.len] = '\0';
    return out;
}

static void
test_json_member_finds_top_level_values(void **state)
{
    (void)state;
    assert_string_equal(member(record, "id"), "\"s1\"");
    assert_string_equal(member(record, "root"), "\"ko1\"");
    assert_string_equal(member(record, "nested"),
                        "{\"root\":\"ko9\",\"list\":[1,{\"root\":2}]}");
    assert_string_equal(member(record, "n"), "-12.5e3");
    assert_string_equal(member(record, "t"), "true");
    assert_string_equal(member(record, "z"), "null");
    assert_string_equal(member(record, "esc\"root"), "\"x\\\"y\"");
    assert_string_equal(member(record, "arr"), "[\"root\",{}]");
    assert_null(member(record, "list"));
    assert_null(member(record, "ro"));
    assert_null(member("{}", "root"));
}

static void
test_json_member_several_in_one_pass(void **state)
{
    const char *const keys[] = {"z", "missing", "id", "root"};
    lvat_json_span s[4];

    (void)state;
    assert_lvat_ok(lvat_json_members(record, strlen(record), keys, 4, s));
    assert_true(s[0].found && s[2].found && s[3].found);
    assert_false(s[1].found);
    assert_memory_equal(record + s[2].at, "\"s1\"", s[2].len);
    assert_memory_equal(record + s[3].at, "\"ko1\"", s[3].len);
}

/* Sets `key` to `value` in `text` and checks the result against the
 * compact form of the expected document; the scan-free forms (a span
 * found beforehand, a member known absent) make the same text. */
static void
check_set(const char *text, const char *key, const char *value,
          const char *want)
{
    lvat_buf out = LVAT_BUF_INIT, a = LVAT_BUF_INIT, b = LVAT_BUF_INIT;
    lvat_json *got = NULL, *exp = NULL;
    const char *const keys[] = {key};
    lvat_json_span sp;

    assert_lvat_ok(lvat_json_member_set(&out, text, strlen(text), key, value,
                                        strlen(value)));
    assert_lvat_ok(lvat_json_members(text, strlen(text), keys, 1, &sp));
    if (sp.found)
        assert_lvat_ok(lvat_json_span_set(&a, text, strlen(text), &sp, value,
                                          strlen(value)));
    else
        assert_lvat_ok(lvat_json_member_add(&a, text, strlen(text), key,
                                            value, strlen(value)));
    assert_string_equal(a.data, out.data);
    lvat_buf_reset(&a);
    assert_lvat_ok(lvat_json_parse(out.data, out.len, true, &got, NULL, 0));
    assert_lvat_ok(lvat_json_parse(want, strlen(want), true, &exp, NULL, 0));
    assert_lvat_ok(lvat_json_write(&a, got));
    assert_lvat_ok(lvat_json_write(&b, exp));
    assert_string_equal(a.data, b.data);
    lvat_json_free(got);
    lvat_json_free(exp);
    lvat_buf_free(&out);
    lvat_buf_free(&a);
    lvat_buf_free(&b);
}

static void
test_json_member_set_in_place_or_added(void **state)
{
    (void)state;
    check_set("{\"state\":\"launching\",\"n\":1}", "state", "\"ready\"",
              "{\"state\":\"ready\",\"n\":1}");
    check_set("{\"a\":{\"state\":1},\"state\":[1,2]}", "state", "{}",
              "{\"a\":{\"state\":1},\"state\":{}}");
    check_set("{\"a\":1}", "root", "\"ko7\"", "{\"a\":1,\"root\":\"ko7\"}");
    check_set("{}", "root", "\"ko7\"", "{\"root\":\"ko7\"}");
    check_set(" { \n } ", "root", "1", "{\"root\":1}");
    check_set("{\n  \"a\": 1\n}\n", "b", "2", "{\"a\":1,\"b\":2}");
    check_set("{\"a\":1}", "we\"ird", "2", "{\"a\":1,\"we\\\"ird\":2}");
    check_set(record, "root", "\"ko2\"",
              "{\"id\":\"s1\",\"nested\":{\"root\":\"ko9\",\"list\":[1,"
              "{\"root\":2}]},\"n\":-12.5e3,\"t\":true,\"z\":null,"
              "\"esc\\\"root\":\"x\\\"y\",\"root\":\"ko2\","
              "\"arr\":[\"root\",{}]}");
}

static void
test_json_member_refuses_malformed_text(void **state)
{
    static const char *const bad[] = {"[1,2]", "\"s\"", "{\"a\":1",
                                      "{\"a\" 1}", "{\"a\":1,}", "", "{a:1}",
                                      "{}x"};
    const char *const keys[] = {"zz"};
    lvat_buf out = LVAT_BUF_INIT;
    lvat_json_span s;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_lvat_rc(lvat_json_members(bad[i], strlen(bad[i]), keys, 1, &s),
                       LVAT_ESYNTAX);
        assert_lvat_rc(lvat_json_member_set(&out, bad[i], strlen(bad[i]),
                                            "zz", "1", 1),
                       LVAT_ESYNTAX);
        /* Adding looks only for the object's end. */
        if (strchr(bad[i], '}') == NULL || strcmp(bad[i], "{}x") == 0)
            assert_lvat_rc(lvat_json_member_add(&out, bad[i], strlen(bad[i]),
                                                "zz", "1", 1),
                           LVAT_ESYNTAX);
    }
    lvat_buf_free(&out);
}

/* A key asked for that is there twice: which one is meant? */
static void
test_json_member_duplicate_key_refused(void **state)
{
    static const char text[] = "{\"root\":\"a\",\"n\":1,\"root\":\"b\"}";
    const char *const keys[] = {"n", "root"};
    lvat_buf out = LVAT_BUF_INIT;
    lvat_json_span s[2];

    (void)state;
    assert_lvat_rc(lvat_json_members(text, strlen(text), keys, 2, s),
                   LVAT_ESYNTAX);
    assert_lvat_rc(lvat_json_member_set(&out, text, strlen(text), "root",
                                        "1", 1),
                   LVAT_ESYNTAX);
    assert_lvat_ok(lvat_json_members(text, strlen(text), keys, 1, s));
    lvat_buf_free(&out);
}

/* Escaped strings are decoded into a buffer: out of memory is said as
 * such, never as a malformed text. */
static void
test_json_member_out_of_memory(void **state)
{
    static const char text[] = "{\"c\\nfg\":\"x\\ty\",\"root\":\"ko1\"}";
    const char *const keys[] = {"root"};
    lvat_json_span s;
    int rc, failures = 0;

    (void)state;
    for (unsigned long n = 1;; n++) {
        lvat_buf out = LVAT_BUF_INIT;
        unsigned long made;
        lvat_alloc_fail_after(n, 1);
        rc = lvat_json_members(text, strlen(text), keys, 1, &s);
        if (rc == LVAT_OK)
            rc = lvat_json_member_set(&out, text, strlen(text), "root", "2",
                                      1);
        made = lvat_alloc_fail_after(0, 0);
        lvat_buf_free(&out);
        if (rc == LVAT_OK && made < n)
            break;
        assert_true(rc == LVAT_OK || rc == LVAT_ENOMEM);
        failures += rc == LVAT_ENOMEM;
        assert_true(n < 100);
    }
    assert_true(s.found);
    assert_true(failures > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_member_finds_top_level_values),
        cmocka_unit_test(test_json_member_several_in_one_pass),
        cmocka_unit_test(test_json_member_set_in_place_or_added),
        cmocka_unit_test(test_json_member_refuses_malformed_text),
        cmocka_unit_test(test_json_member_duplicate_key_refused),
        cmocka_unit_test(test_json_member_out_of_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
