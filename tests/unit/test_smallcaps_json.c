/*
 * Smallcaps and plain JSON (smallcaps_json.c): CLI arguments to bodies
 * (sorted escaped keys, "@kref" slots reused when repeated, bigints,
 * refused "@" forms), bodies back to plain JSON, and allocation-failure
 * loops over both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lvat_test.h"
#include "smallcaps.h"

/* ---- Helpers ---- */

static lvat_json *
parse(const char *text)
{
    lvat_json *j = NULL;
    char err[160] = "";
    int rc = lvat_json_parse(text, strlen(text), false, &j, err, sizeof err);

    if (rc != LVAT_OK)
        print_error("%s: %s\n", text, err);
    assert_lvat_ok(rc);
    return j;
}

/* from_json on `json`; checks the body and returns the slot count. */
static size_t
encode(const char *json, const char *want, lvat_kref **slots)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = parse(json);
    size_t n = 0;
    char err[160] = "";

    *slots = NULL;
    assert_lvat_ok(lvat_sc_from_json(j, &b, slots, &n, err, sizeof err));
    assert_string_equal(b.data, want);
    lvat_buf_free(&b);
    lvat_json_free(j);
    return n;
}

static void
encode_fails(const char *json, const char *want_err)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = parse(json);
    lvat_kref *slots = NULL;
    size_t n = 0;
    char err[160] = "";

    lvat_buf_puts(&b, "pre");
    assert_lvat_rc(lvat_sc_from_json(j, &b, &slots, &n, err, sizeof err),
                   LVAT_EINVAL);
    assert_string_equal(err, want_err);
    assert_string_equal(b.data, "pre"); /* left as it was */
    assert_int_equal(b.len, 3);
    assert_int_equal(n, 0);
    lvat_free(slots);
    lvat_buf_free(&b);
    lvat_json_free(j);
}

static void
decode(const char *body,
       const lvat_kref *slots,
       size_t nslots,
       const char *want)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = NULL;
    char err[160] = "";
    int rc =
        lvat_sc_to_json(body, strlen(body), slots, nslots, &j, err, sizeof err);

    if (rc != LVAT_OK)
        print_error("%s: %s\n", body, err);
    assert_lvat_ok(rc);
    assert_lvat_ok(lvat_json_write(&b, j));
    assert_string_equal(b.data, want);
    lvat_buf_free(&b);
    lvat_json_free(j);
}

static void
decode_fails(const char *body, size_t nslots, const char *want_err)
{
    static const lvat_kref slots[2] = {{7}, {3}};
    lvat_json *j = NULL;
    char err[160] = "";

    assert_lvat_rc(
        lvat_sc_to_json(body, strlen(body), slots, nslots, &j, err, sizeof err),
        LVAT_ESYNTAX);
    assert_null(j);
    assert_string_equal(err, want_err);
}

/* ---- Plain JSON to bodies ---- */

static void
test_smallcaps_from_json_keys_sorted_and_escaped(void **state)
{
    lvat_kref *slots;

    (void)state;
    assert_int_equal(
        encode("{\"b\":1,\"a\":2,\"#x\":3,\"!\":4,\" sp\":5,\"aa\":6,\"$\":7,"
               "\"\":8}",
               "#{\"\":8,\" sp\":5,\"!!\":4,\"!#x\":3,\"!$\":7,\"a\":2,"
               "\"aa\":6,\"b\":1}",
               &slots),
        0);
    assert_null(slots);
    encode("[\"plain\",\"-1\",\"+x\",\"#NaN\",\"&0\",null,true,false,{}]",
           "#[\"plain\",\"!-1\",\"!+x\",\"!#NaN\",\"!&0\",null,true,false,{}]",
           &slots);
    encode("{\"z\":{\"y\":[{\"b\":0,\"a\":0}]}}",
           "#{\"z\":{\"y\":[{\"a\":0,\"b\":0}]}}", &slots);
}

static void
test_smallcaps_from_json_repeated_krefs(void **state)
{
    lvat_kref *slots = NULL;
    size_t n;

    (void)state;
    n = encode(
        "[{\"@kref\":\"ko7\",\"@iface\":\"Counter\"},{\"@kref\":\"kp3\"},"
        "{\"@kref\":\"ko7\"},{\"@iface\":\"X\",\"@kref\":\"ko9\"},"
        "\"$not a ref\",{\"@kref\":\"kp3\"}]",
        "#[\"$0.Counter\",\"&1\",\"$0\",\"$2.X\",\"!$not a ref\",\"&1\"]",
        &slots);
    assert_int_equal(n, 3);
    assert_true(lvat_kref_eq(slots[0], lvat_kref_object(7)));
    assert_true(lvat_kref_eq(slots[1], lvat_kref_promise(3)));
    assert_true(lvat_kref_eq(slots[2], lvat_kref_object(9)));
    lvat_free(slots);
}

static void
test_smallcaps_from_json_appends_to_existing_slots(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = parse("[{\"@kref\":\"ko9\"},{\"@kref\":\"ko1\"}]");
    lvat_kref *slots = lvat_malloc(sizeof *slots);
    size_t n = 1;

    (void)state;
    slots[0] = lvat_kref_object(9);
    assert_lvat_ok(lvat_sc_from_json(j, &b, &slots, &n, NULL, 0));
    assert_string_equal(b.data, "#[\"$0\",\"$1\"]");
    assert_int_equal(n, 2);
    assert_true(lvat_kref_eq(slots[1], lvat_kref_object(1)));
    lvat_free(slots);
    lvat_json_free(j);
    lvat_buf_free(&b);
}

static void
test_smallcaps_from_json_numbers_and_bigints(void **state)
{
    lvat_kref *slots;

    (void)state;
    encode("[9007199254740992,9007199254740993,-9007199254740993,"
           "-9007199254740992,9223372036854775807,-9223372036854775808,"
           "1.5,-0.0,-0,1e300,0.1]",
           "#[9007199254740992,\"+9007199254740993\",\"-9007199254740993\","
           "-9007199254740992,\"+9223372036854775807\","
           "\"-9223372036854775808\",1.5,-0.0,0,1e+300,0.1]",
           &slots);
    /* The extremes of a Lua integer, leading zeros and all. */
    encode("[{\"@bigint\":\"9223372036854775807\"},"
           "{\"@bigint\":\"-9223372036854775808\"},"
           "{\"@bigint\":\"0009223372036854775807\"}]",
           "#[\"+9223372036854775807\",\"-9223372036854775808\","
           "\"+9223372036854775807\"]",
           &slots);
}

static void
test_smallcaps_from_json_errors(void **state)
{
    (void)state;
    encode_fails("{\"@foo\":1}",
                 "unknown \"@\" object (use \"@kref\", \"@bigint\", \"@special\", "
                 "\"@error\" or \"@tag\"/\"@payload\")");
    encode_fails("{\"@kref\":\"x\"}",
                 "\"@kref\" must be a kernel ref like \"ko7\" or \"kp3\"");
    encode_fails("{\"@kref\":7}",
                 "\"@kref\" must be a kernel ref like \"ko7\" or \"kp3\"");
    encode_fails("[1,{\"x\":{\"@kref\":\"ko0\"}}]",
                 "\"@kref\" must be a kernel ref like \"ko7\" or \"kp3\"");
    encode_fails("{\"@kref\":\"ko1\",\"a\":1}",
                 "a \"@kref\" object cannot have other keys (\"a\")");
    encode_fails("{\"@iface\":\"X\"}", "\"@iface\" needs \"@kref\"");
    /* Past what a Lua integer holds, or no digits at all. */
    encode_fails("{\"@bigint\":\"9223372036854775808\"}",
                 "\"@bigint\" 9223372036854775808 does not fit a 64-bit "
                 "integer (-2^63 .. 2^63-1): vats hold Lua integers");
    encode_fails("{\"@bigint\":\"-9223372036854775809\"}",
                 "\"@bigint\" -9223372036854775809 does not fit a 64-bit "
                 "integer (-2^63 .. 2^63-1): vats hold Lua integers");
    encode_fails("{\"@bigint\":\"-\"}", "\"@bigint\" must be decimal digits");
    encode_fails("{\"@bigint\":\"\"}", "\"@bigint\" must be decimal digits");
    encode_fails("{\"@kref\":\"ko1\",\"@iface\":3}",
                 "\"@iface\" must be a string");
    encode_fails("{\"@kref\":\"kp1\",\"@iface\":\"X\"}",
                 "\"@iface\" is only for objects (ko), not promises");
    /* A slot taken before the failure is given back. */
    encode_fails("[{\"@kref\":\"ko5\"},{\"@bad\":1}]",
                 "unknown \"@\" object (use \"@kref\", \"@bigint\", \"@special\", "
                 "\"@error\" or \"@tag\"/\"@payload\")");
}

static void
test_smallcaps_from_json_refuses_nonfinite_and_deep(void **state)
{
    lvat_json *f = lvat_json_new(LVAT_JSON_FLOAT), *root, *cur, *next;
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kref *slots = NULL;
    size_t n = 0;
    char err[160];
    int k;

    (void)state;
    f->d = INFINITY;
    assert_lvat_rc(lvat_sc_from_json(f, &b, &slots, &n, err, sizeof err),
                   LVAT_EINVAL);
    assert_string_equal(err, "numbers must be finite");
    lvat_json_free(f);
    root = cur = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    for (k = 0; k < LVAT_JSON_MAX_DEPTH + 5; k++) {
        next = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
        assert_lvat_ok(lvat_json_append(cur, next));
        cur = next;
    }
    assert_lvat_rc(lvat_sc_from_json(root, &b, &slots, &n, err, sizeof err),
                   LVAT_EINVAL);
    assert_string_equal(err, "nested deeper than 128 levels");
    assert_int_equal(b.len, 0);
    lvat_json_free(root);
    lvat_buf_free(&b);
}

/* As deep as the parser takes: 128 arrays around a scalar (the scalar
 * counted as a level of its own, and the parser's deepest was refused). */
static void
test_smallcaps_from_json_takes_the_parsers_depth(void **state)
{
    char want[2 * LVAT_JSON_MAX_DEPTH + 3] = "#", *p = want + 1;
    lvat_kref *slots = NULL;

    (void)state;
    for (int k = 0; k < LVAT_JSON_MAX_DEPTH; k++)
        *p++ = '[';
    *p++ = '1';
    for (int k = 0; k < LVAT_JSON_MAX_DEPTH; k++)
        *p++ = ']';
    *p = '\0';
    encode(want + 1, want, &slots);
    lvat_free(slots);
}

/* ---- Bodies to plain JSON ---- */

static void
test_smallcaps_to_json_every_kind(void **state)
{
    lvat_kref slots[2];

    (void)state;
    slots[0] = lvat_kref_object(7);
    slots[1] = lvat_kref_promise(3);
    decode("#{\"a\":[\"$0.Counter\",\"&1\",\"$0\",\"+12\",\"-5\",\"#NaN\","
           "\"#undefined\",\"#Infinity\",\"#-Infinity\",\"!!x\",\"plain\","
           "1.5,-3,null],"
           "\"b\":{\"#error\":\"!#boom\",\"name\":\"Error\"},"
           "\"c\":{\"#tag\":\"t\",\"payload\":[\"$0\"]},\"!#d\":{}}",
           slots, 2,
           "{\"a\":[{\"@kref\":\"ko7\",\"@iface\":\"Counter\"},"
           "{\"@kref\":\"kp3\"},{\"@kref\":\"ko7\"},{\"@bigint\":\"12\"},"
           "{\"@bigint\":\"-5\"},{\"@special\":\"NaN\"},"
           "{\"@special\":\"undefined\"},{\"@special\":\"Infinity\"},"
           "{\"@special\":\"-Infinity\"},\"!x\",\"plain\",1.5,-3,null],"
           "\"b\":{\"@error\":\"#boom\"},"
           "\"c\":{\"@tag\":\"t\",\"@payload\":[{\"@kref\":\"ko7\"}]},"
           "\"#d\":{}}");
    decode("#\"\\u00ff\"", NULL, 0, "\"\\u00ff\"");
}

static void
test_smallcaps_from_json_then_to_json(void **state)
{
    lvat_buf b = LVAT_BUF_INIT, out = LVAT_BUF_INIT;
    lvat_json *j =
        parse("{\"b\":[{\"@kref\":\"ko7\",\"@iface\":\"Counter\"},"
              "\"#x\",12345678901234567],\"a\":{\"@kref\":\"kp3\"}}");
    lvat_json *back = NULL;
    lvat_kref *slots = NULL;
    size_t n = 0;

    (void)state;
    assert_lvat_ok(lvat_sc_from_json(j, &b, &slots, &n, NULL, 0));
    assert_lvat_ok(lvat_sc_to_json(b.data, b.len, slots, n, &back, NULL, 0));
    assert_lvat_ok(lvat_json_write(&out, back));
    assert_string_equal(out.data,
                        "{\"a\":{\"@kref\":\"kp3\"},\"b\":[{\"@kref\":\"ko7\","
                        "\"@iface\":\"Counter\"},\"#x\","
                        "{\"@bigint\":\"12345678901234567\"}]}");
    lvat_free(slots);
    lvat_json_free(j);
    lvat_json_free(back);
    lvat_buf_free(&b);
    lvat_buf_free(&out);
}

static void
test_smallcaps_to_json_errors(void **state)
{
    (void)state;
    decode_fails("#[\"$5\"]", 1, "slot 5 out of range (1 slots)");
    decode_fails("#\"&1\"", 1, "slot 1 out of range (1 slots)");
    decode_fails("#\"$x\"", 1, "malformed slot reference \"$x\"");
    decode_fails("#\"$01\"", 2, "malformed slot reference \"$01\"");
    decode_fails("#\"*x\"", 0, "unsupported smallcaps prefix '*'");
    decode_fails("#\"%sym\"", 0, "unsupported smallcaps prefix '%'");
    decode_fails("#\"#foo\"", 0, "unknown smallcaps constant");
    decode_fails("#\"+12a\"", 0, "malformed bigint");
    decode_fails("#\"-\"", 0, "malformed bigint");
    decode_fails("[1,2]", 0, "a body must start with '#'");
    decode_fails("", 0, "a body must start with '#'");
    decode_fails("#[1,", 0, "line 1, column 4: unexpected end of input");
    decode_fails("#{\"a\":1,\"!a\":2}", 0, "duplicate record key");
    /* The same past 16 keys, where records are checked through an index. */
    decode_fails("#{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,"
                 "\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,"
                 "\"o\":1,\"p\":1,\"q\":1,\"r\":1,\"!g\":2}",
                 0, "duplicate record key");
    decode_fails("#{\"#undefined\":1}", 0, "record keys must be strings");
    decode_fails("#{\"#error\":5}", 0, "an error's message must be a string");
    decode_fails("#{\"#tag\":\"t\"}", 0, "a tagged value needs a payload");
    decode_fails("#{\"#tag\":1,\"payload\":1}", 0, "a tag must be a string");
}

/* ---- Allocation failures ---- */

static const char oom_json[] =
    "{\"list\":[{\"@kref\":\"ko7\",\"@iface\":\"Counter\"},{\"@kref\":\"kp3\"},"
    "{\"@kref\":\"ko8\"},\"#esc\",9007199254740993,{\"z\":1,\"y\":2}],"
    "\"b\":\"text\",\"a\":{\"c\":[1.5,null]}}";

static void
test_smallcaps_oom_from_json(void **state)
{
    lvat_json *j = parse(oom_json);
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kref *slots;
    unsigned long n;
    size_t ns;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        slots = NULL;
        ns = 0;
        lvat_buf_init(&b);
        lvat_alloc_fail_after(n, 1);
        rc = lvat_sc_from_json(j, &b, &slots, &ns, NULL, 0);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        assert_int_equal(ns, 0);
        lvat_free(slots);
        lvat_buf_free(&b);
    }
    assert_int_equal(ns, 3);
    assert_non_null(strstr(b.data, "\"$0.Counter\""));
    lvat_free(slots);
    lvat_buf_free(&b);
    lvat_json_free(j);
}

static const char oom_body[] =
    "#{\"a\":[\"$0.Counter\",\"&1\",\"+12\",\"#NaN\",\"!!x\",1.5],"
    "\"b\":{\"#error\":\"boom\",\"name\":\"RangeError\"},"
    "\"c\":{\"#tag\":\"t\",\"payload\":{\"k\":\"v\"}}}";

static void
test_smallcaps_oom_to_json(void **state)
{
    lvat_kref slots[2] = {lvat_kref_object(7), lvat_kref_promise(3)};
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j;
    unsigned long n;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        j = NULL;
        lvat_alloc_fail_after(n, 1);
        rc = lvat_sc_to_json(oom_body, sizeof oom_body - 1, slots, 2, &j, NULL,
                             0);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        assert_null(j);
    }
    assert_lvat_ok(lvat_json_write(&b, j));
    assert_string_equal(b.data,
                        "{\"a\":[{\"@kref\":\"ko7\",\"@iface\":\"Counter\"},"
                        "{\"@kref\":\"kp3\"},{\"@bigint\":\"12\"},"
                        "{\"@special\":\"NaN\"},\"!x\",1.5],"
                        "\"b\":{\"@error\":\"boom\"},"
                        "\"c\":{\"@tag\":\"t\",\"@payload\":{\"k\":\"v\"}}}");
    lvat_buf_free(&b);
    lvat_json_free(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smallcaps_from_json_keys_sorted_and_escaped),
        cmocka_unit_test(test_smallcaps_from_json_repeated_krefs),
        cmocka_unit_test(test_smallcaps_from_json_appends_to_existing_slots),
        cmocka_unit_test(test_smallcaps_from_json_numbers_and_bigints),
        cmocka_unit_test(test_smallcaps_from_json_errors),
        cmocka_unit_test(test_smallcaps_from_json_refuses_nonfinite_and_deep),
        cmocka_unit_test(test_smallcaps_from_json_takes_the_parsers_depth),
        cmocka_unit_test(test_smallcaps_to_json_every_kind),
        cmocka_unit_test(test_smallcaps_from_json_then_to_json),
        cmocka_unit_test(test_smallcaps_to_json_errors),
        cmocka_unit_test(test_smallcaps_oom_from_json),
        cmocka_unit_test(test_smallcaps_oom_to_json),
    };

    return cmocka_run_group_tests_name("smallcaps_json", tests, NULL, NULL);
}
