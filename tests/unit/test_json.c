/*
 * The JSON codec: byte-string round trips (NULs, invalid UTF-8, control
 * characters, surrogate pairs), numbers at the int64 and double limits,
 * the depth limit, every syntax error with its position, the DOM
 * builders and writers, and an allocation-failure loop over the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "lvat_test.h"
#include "smallcaps.h"

/* ---- Helpers ---- */

/* Reads a one-number document with the pull parser (tok.str is not kept). */
static lvat_json_tok
scalar(const char *text)
{
    lvat_json_parser jp;
    lvat_json_tok tok, eof;

    lvat_json_parser_init(&jp, text, strlen(text), false);
    assert_lvat_ok(lvat_json_next(&jp, &tok));
    assert_lvat_ok(lvat_json_next(&jp, &eof));
    assert_int_equal(eof.type, LVAT_JSON_EOF);
    lvat_json_parser_free(&jp);
    return tok;
}

/* Writes `s` as JSON, checks the text, reads it back and compares bytes. */
static void
round_trip(const char *s, size_t len, const char *want_json)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = NULL;

    assert_lvat_ok(lvat_json_put_string(&b, s, len));
    assert_string_equal(b.data, want_json);
    assert_lvat_ok(lvat_json_parse(b.data, b.len, true, &j, NULL, 0));
    assert_int_equal(j->type, LVAT_JSON_STRING);
    assert_int_equal(j->len, len);
    assert_memory_equal(j->str, s, len);
    assert_int_equal(j->str[len], '\0');
    lvat_json_free(j);
    lvat_buf_free(&b);
}

static char *
write_compact(const lvat_json *j)
{
    lvat_buf b = LVAT_BUF_INIT;

    assert_lvat_ok(lvat_json_write(&b, j));
    return lvat_buf_take(&b, NULL);
}

static void
expect_syntax(const char *text, size_t len, const char *want)
{
    lvat_json *j = NULL;
    char err[160] = "";

    assert_lvat_rc(lvat_json_parse(text, len, false, &j, err, sizeof err),
                   LVAT_ESYNTAX);
    assert_null(j);
    assert_string_equal(err, want);
}

/* ---- Strings ---- */

static void
test_json_string_escapes_written(void **state)
{
    (void)state;
    round_trip("plain", 5, "\"plain\"");
    round_trip("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    round_trip("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
    round_trip("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    round_trip("", 0, "\"\"");
    round_trip("a\0b", 3, "\"a\\u0000b\""); /* embedded NUL */
}

static void
test_json_string_utf8_raw_invalid_as_u00xx(void **state)
{
    (void)state;
    round_trip("\xff\xfe", 2, "\"\\u00ff\\u00fe\"");
    round_trip("\xc3\xa9", 2, "\"\xc3\xa9\"");                  /* valid: raw */
    round_trip("\xe2\x82", 2, "\"\\u00e2\\u0082\"");            /* truncated */
    round_trip("\xc0\xaf", 2, "\"\\u00c0\\u00af\"");            /* overlong */
    round_trip("\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""); /* surrogate */
    round_trip("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");  /* U+1F600 */
    round_trip("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"");  /* U+10FFFF */
    round_trip("\xf4\x90\x80\x80", 4,
               "\"\\u00f4\\u0090\\u0080\\u0080\""); /* above U+10FFFF */
    round_trip("a\x80"
               "b\xe2\x82\xac",
               6, "\"a\\u0080b\xe2\x82\xac\"");
}

/* Every byte that ends a string's plain run (quote, backslash, control)
 * is found at every offset of a long string, and bytes that do not
 * (space, DEL, high bytes) are kept. */
static void
test_json_long_string_stops_found_everywhere(void **state)
{
    static const char plain[] = {' ', '\x7f', '\x80', '\xff', '!'};
    static const char ctrl[] = {'\x01', '\x1f', '\n', '\0'};
    char text[64], want[40], err[80];
    lvat_json *j;

    (void)state;
    for (int at = 0; at < 32; at++) {
        for (size_t c = 0; c < sizeof plain; c++) {
            memset(want, 'a', 32);
            want[at] = plain[c];
            text[0] = '"';
            memcpy(text + 1, want, 32);
            text[33] = '"';
            assert_lvat_ok(lvat_json_parse(text, 34, true, &j, NULL, 0));
            assert_int_equal(j->len, 32);
            assert_memory_equal(j->str, want, 32);
            lvat_json_free(j);
        }
        for (size_t c = 0; c < sizeof ctrl; c++) {
            text[1 + at] = ctrl[c];
            expect_syntax(text, 34, (snprintf(err, sizeof err,
                                              "line 1, column %d: control "
                                              "character in string",
                                              at + 2),
                                     err));
            text[1 + at] = 'a';
        }
        /* "\\\"" at `at`: the two escapes decode to one quote. */
        memset(text + 1, 'a', 33);
        text[1 + at] = '\\';
        text[2 + at] = '"';
        text[34] = '"';
        assert_lvat_ok(lvat_json_parse(text, 35, true, &j, NULL, 0));
        assert_int_equal(j->len, 32);
        assert_int_equal(j->str[at], '"');
        lvat_json_free(j);
        /* A quote at `at` ends the string there. */
        text[1 + at] = '"';
        text[2 + at] = 'a';
        assert_lvat_rc(lvat_json_parse(text, 34, true, &j, NULL, 0),
                       LVAT_ESYNTAX);
    }
}

static void
test_json_unicode_escapes_decode(void **state)
{
    lvat_json *j = NULL;

    (void)state;
    /* Without raw_bytes, \u00e9 is the character é in UTF-8. */
    assert_lvat_ok(lvat_json_parse("\"\\u00e9\"", 8, false, &j, NULL, 0));
    assert_string_equal(j->str, "\xc3\xa9");
    lvat_json_free(j);
    /* With raw_bytes it is the single byte 0xe9. */
    assert_lvat_ok(lvat_json_parse("\"\\u00E9\"", 8, true, &j, NULL, 0));
    assert_int_equal(j->len, 1);
    assert_int_equal((unsigned char)j->str[0], 0xe9);
    lvat_json_free(j);
    /* Surrogate pairs decode to UTF-8 either way. */
    assert_lvat_ok(lvat_json_parse("\"\\ud83d\\ude00\\u20ac\\u0041\\/\"", 28,
                                   true, &j, NULL, 0));
    assert_string_equal(j->str, "\xf0\x9f\x98\x80\xe2\x82\xac"
                                "A/");
    lvat_json_free(j);
    /* \u0100 and up are characters even with raw_bytes. */
    assert_lvat_ok(lvat_json_parse("\"\\u0100\"", 8, true, &j, NULL, 0));
    assert_string_equal(j->str, "\xc4\x80");
    lvat_json_free(j);
}

/* ---- Numbers ---- */

static void
check_number(const char *text, lvat_json_type type, int64_t i, double d)
{
    lvat_json_tok t = scalar(text);

    assert_int_equal(t.type, type);
    assert_true(t.i == i);
    assert_memory_equal(&t.d, &d, sizeof d); /* bitwise: -0 keeps its sign */
}

static void
test_json_numbers_int64_limits(void **state)
{
    (void)state;
    check_number("9223372036854775807", LVAT_JSON_INT, INT64_MAX,
                 9223372036854775807.0);
    check_number("-9223372036854775808", LVAT_JSON_INT, INT64_MIN,
                 -9223372036854775808.0);
    check_number("9223372036854775808", LVAT_JSON_FLOAT, 0,
                 9223372036854775808.0);
    check_number("-9223372036854775809", LVAT_JSON_FLOAT, 0,
                 -9223372036854775809.0);
    check_number("42", LVAT_JSON_INT, 42, 42.0);
}

static void
test_json_numbers_float_forms(void **state)
{
    (void)state;
    check_number("-0", LVAT_JSON_INT, 0, -0.0); /* the sign survives in d */
    check_number("-0.0", LVAT_JSON_FLOAT, 0, -0.0);
    check_number("1e308", LVAT_JSON_FLOAT, 0, 1e308);
    check_number("1E2", LVAT_JSON_FLOAT, 0, 100.0);
    check_number("-1.5e-3", LVAT_JSON_FLOAT, 0, -1.5e-3);
    check_number("2.5E+1", LVAT_JSON_FLOAT, 0, 25.0);
    check_number("1e-400", LVAT_JSON_FLOAT, 0, 0.0); /* underflow is fine */
}

static void
test_json_put_double_shortest(void **state)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {1.0, "1"},
        {-1.5, "-1.5"},
        {1e308, "1e+308"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {9007199254740992.0, "9007199254740992"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {5e-324, "4.94065645841247e-324"},
        {-0.0, "-0"},
        {123456789.125, "123456789.125"},
    };
    lvat_buf b = LVAT_BUF_INIT;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lvat_buf_reset(&b);
        assert_lvat_ok(lvat_json_put_double(&b, cases[k].d));
        assert_string_equal(b.data, cases[k].text);
        assert_true(strtod(b.data, NULL) == cases[k].d);
    }
    lvat_buf_free(&b);
}

static void
test_json_put_double_rejects_nonfinite(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = lvat_json_new(LVAT_JSON_FLOAT);

    (void)state;
    assert_lvat_rc(lvat_json_put_double(&b, NAN), LVAT_EINVAL);
    assert_lvat_rc(lvat_json_put_double(&b, INFINITY), LVAT_EINVAL);
    assert_lvat_rc(lvat_json_put_double(&b, -INFINITY), LVAT_EINVAL);
    assert_int_equal(b.len, 0);
    j->d = NAN;
    assert_lvat_rc(lvat_json_write(&b, j), LVAT_EINVAL);
    lvat_json_free(j);
    lvat_buf_free(&b);
}

static void
test_json_doubles_round_trip(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    uint64_t x = 0x9e3779b97f4a7c15u, bits;
    lvat_json_tok t;
    double d;
    int k;

    (void)state;
    for (k = 0; k < 2000; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        bits = k % 2 ? x : (x >> 12) | UINT64_C(0x3ff0000000000000);
        memcpy(&d, &bits, sizeof d);
        if (!isfinite(d))
            continue;
        lvat_buf_reset(&b);
        assert_lvat_ok(lvat_json_put_double(&b, d));
        t = scalar(b.data);
        assert_memory_equal(&t.d, &d, sizeof d);
    }
    lvat_buf_free(&b);
}

/* ---- Structure and errors ---- */

static void
test_json_pull_tokens(void **state)
{
    static const char text[] = " {\"a\": [1, true, null, 2.5], \"b\": \"x\","
                               " \"c\": {}} ";
    static const lvat_json_type want[] = {
        LVAT_JSON_OBJECT_BEGIN, LVAT_JSON_KEY,        LVAT_JSON_ARRAY_BEGIN,
        LVAT_JSON_INT,          LVAT_JSON_TRUE,       LVAT_JSON_NULL,
        LVAT_JSON_FLOAT,        LVAT_JSON_ARRAY_END,  LVAT_JSON_KEY,
        LVAT_JSON_STRING,       LVAT_JSON_KEY,        LVAT_JSON_OBJECT_BEGIN,
        LVAT_JSON_OBJECT_END,   LVAT_JSON_OBJECT_END, LVAT_JSON_EOF,
        LVAT_JSON_EOF};
    lvat_json_parser jp;
    lvat_json_tok tok;
    size_t k;

    (void)state;
    lvat_json_parser_init(&jp, text, sizeof text - 1, false);
    for (k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_lvat_ok(lvat_json_next(&jp, &tok));
        assert_int_equal(tok.type, want[k]);
        if (k == 1 || k == 9) /* the key "a", the string "x" */
            assert_true(tok.len == 1 && tok.str[0] == (k == 1 ? 'a' : 'x'));
    }
    lvat_json_parser_free(&jp);
}

static void
test_json_skip_and_custom_error(void **state)
{
    static const char text[] = "[{\"deep\": [1, [2, {\"x\": 3}]]}, \"after\"]";
    lvat_json_parser jp;
    lvat_json_tok tok;

    (void)state;
    lvat_json_parser_init(&jp, text, sizeof text - 1, false);
    assert_lvat_ok(lvat_json_next(&jp, &tok)); /* [ */
    assert_lvat_ok(lvat_json_next(&jp, &tok)); /* { */
    assert_lvat_ok(lvat_json_skip(&jp, &tok));
    assert_lvat_ok(lvat_json_next(&jp, &tok));
    assert_int_equal(tok.type, LVAT_JSON_STRING);
    assert_lvat_ok(lvat_json_skip(&jp, &tok)); /* a scalar: no-op */
    assert_lvat_rc(lvat_json_fail(&jp, tok.str, "refused %s", "it"),
                   LVAT_ESYNTAX);
    assert_string_equal(jp.err, "line 1, column 33: refused it");
    assert_lvat_rc(lvat_json_next(&jp, &tok), LVAT_ESYNTAX); /* sticks */
    lvat_json_parser_free(&jp);
}

static void
test_json_depth_limit(void **state)
{
    char text[2 * LVAT_JSON_MAX_DEPTH + 2];
    lvat_json *j = NULL;
    size_t n = LVAT_JSON_MAX_DEPTH;

    (void)state;
    memset(text, '[', n + 1);
    memset(text + n + 1, ']', n + 1);
    /* text + 1 holds exactly 128 levels; text itself one more. */
    assert_lvat_ok(lvat_json_parse(text + 1, 2 * n, false, &j, NULL, 0));
    lvat_json_free(j);
    expect_syntax(text, 2 * n + 2,
                  "line 1, column 129: nesting deeper than 128 levels");
}

static void
test_json_syntax_errors(void **state)
{
    static const struct {
        const char *text, *err;
    } cases[] = {
        {"", "line 1, column 1: unexpected end of input"},
        {"   ", "line 1, column 4: unexpected end of input"},
        {"[", "line 1, column 2: unexpected end of input"},
        {"[1,\n", "line 2, column 1: unexpected end of input"},
        {"{\"a\":", "line 1, column 6: unexpected end of input"},
        {"[1,]", "line 1, column 4: expected a value, found ']'"},
        {".5", "line 1, column 1: expected a value, found '.'"},
        {"\x01", "line 1, column 1: expected a value, found byte 0x01"},
        {"[1 2]", "line 1, column 4: expected ',' or ']'"},
        {"{\"a\":1 \"b\":2}", "line 1, column 8: expected ',' or '}'"},
        {"{\"a\" 1}", "line 1, column 6: expected ':' after the key"},
        {"{1:2}", "line 1, column 2: expected a string key"},
        {"{\"a\":1,}", "line 1, column 8: expected a string key"},
        {"tru", "line 1, column 1: invalid literal"},
        {"[nul]", "line 1, column 2: invalid literal"},
        {"01", "line 1, column 1: invalid number (leading zero)"},
        {"-", "line 1, column 1: invalid number"},
        {"-a", "line 1, column 1: invalid number"},
        {"1.", "line 1, column 1: invalid number"},
        {"1.e3", "line 1, column 1: invalid number"},
        {"1e", "line 1, column 1: invalid number"},
        {"[1e+]", "line 1, column 2: invalid number"},
        {"1e999", "line 1, column 1: number out of range"},
        {"-1e999", "line 1, column 1: number out of range"},
        {"\"abc", "line 1, column 1: unterminated string"},
        {"[\"a\\", "line 1, column 4: unterminated string"},
        {"\"a\x01\"", "line 1, column 3: control character in string"},
        {"\"a\nb\"", "line 1, column 3: control character in string"},
        {"\"\\x\"", "line 1, column 2: invalid escape sequence"},
        {"\"\\u12G4\"", "line 1, column 2: invalid \\u escape"},
        {"\"\\u12\"", "line 1, column 2: invalid \\u escape"},
        {"\"\\ud800\"", "line 1, column 2: unpaired surrogate in \\u escape"},
        {"\"\\udc00\"", "line 1, column 2: unpaired surrogate in \\u escape"},
        {"\"x\\ud800\\u0041\"",
         "line 1, column 3: unpaired surrogate in \\u escape"},
        {"[1] x", "line 1, column 5: trailing characters after the value"},
        {"1 2", "line 1, column 3: trailing characters after the value"},
        {"[\n  1,\n  @]", "line 3, column 3: expected a value, found '@'"},
        {"{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate key \"a\""},
        {"{\"k\": {\n \"b\":1,\"b\":2}}",
         "line 2, column 8: duplicate key \"b\""},
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_syntax(cases[k].text, strlen(cases[k].text), cases[k].err);
}

static void
test_json_not_nul_terminated(void **state)
{
    lvat_json *j = NULL;

    (void)state;
    /* Only the first 5 bytes are the document. */
    assert_lvat_ok(lvat_json_parse("[123]garbage", 5, false, &j, NULL, 0));
    assert_int_equal(j->len, 1);
    assert_true(j->items[0]->i == 123);
    lvat_json_free(j);
    assert_lvat_ok(lvat_json_parse("12345", 2, false, &j, NULL, 0));
    assert_true(j->i == 12);
    lvat_json_free(j);
    /* The closing quote lies past the end. */
    expect_syntax("\"abc\"", 4, "line 1, column 1: unterminated string");
}

/* ---- DOM ---- */

static void
test_json_dom_build_get_set_append(void **state)
{
    lvat_json *obj = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);
    lvat_json *arr = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    char *text;
    int k;

    (void)state;
    assert_non_null(obj);
    assert_lvat_ok(lvat_json_set(obj, "name", lvat_json_new_str("x", 1)));
    assert_lvat_ok(lvat_json_set(obj, "n", lvat_json_new_int(1)));
    for (k = 0; k < 9; k++) /* crosses the 4 and 8 growth points */
        assert_lvat_ok(lvat_json_append(arr, lvat_json_new_int(k)));
    assert_lvat_ok(lvat_json_set(obj, "list", arr));
    assert_lvat_ok(
        lvat_json_set(obj, "n", lvat_json_new_int(-2))); /* replace */
    assert_lvat_ok(lvat_json_set(obj, "t", lvat_json_new(LVAT_JSON_TRUE)));
    assert_lvat_ok(lvat_json_set(obj, "z", lvat_json_new(LVAT_JSON_NULL)));
    assert_int_equal(obj->len, 5);
    text = write_compact(obj);
    assert_string_equal(text, "{\"name\":\"x\",\"n\":-2,\"list\":[0,1,2,3,4,5,"
                              "6,7,8],\"t\":true,\"z\":null}");
    lvat_free(text);
    assert_string_equal(lvat_json_get_str(obj, "name"), "x");
    assert_null(lvat_json_get_str(obj, "n"));
    assert_null(lvat_json_get_str(obj, "missing"));
    assert_true(lvat_json_get(obj, "n")->i == -2);
    assert_true(lvat_json_is_array(lvat_json_get(obj, "list")));
    assert_null(lvat_json_get(arr, "x")); /* not an object */
    assert_true(lvat_json_is_object(obj));
    assert_false(lvat_json_is_array(obj));
    assert_false(lvat_json_is_object(NULL));
    /* Wrong container: EINVAL, and the value is still taken (freed). */
    assert_lvat_rc(lvat_json_append(obj, lvat_json_new_int(1)), LVAT_EINVAL);
    assert_lvat_rc(lvat_json_set(arr, "k", lvat_json_new_int(1)), LVAT_EINVAL);
    assert_lvat_rc(lvat_json_append(arr, NULL), LVAT_ENOMEM);
    assert_lvat_rc(lvat_json_set(obj, "k", NULL), LVAT_ENOMEM);
    assert_lvat_ok(lvat_json_append(arr, lvat_json_new(LVAT_JSON_STRING)));
    assert_string_equal(arr->items[9]->str, ""); /* an empty string node */
    lvat_json_free(obj);
    lvat_json_free(NULL);
}

static void
test_json_dom_nul_in_keys(void **state)
{
    static const char text[] = "{\"a\\u0000b\":1,\"a\":2}";
    lvat_json *j = NULL;
    char *out;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, sizeof text - 1, false, &j, NULL, 0));
    assert_int_equal(j->len, 2);
    assert_int_equal(j->keylens[0], 3);
    assert_memory_equal(j->keys[0], "a\0b", 4);
    assert_true(lvat_json_get(j, "a")->i == 2);
    assert_lvat_ok(lvat_json_set_len(j, "a\0b", 3, lvat_json_new_int(7)));
    assert_int_equal(j->len, 2);
    out = write_compact(j);
    assert_string_equal(out, "{\"a\\u0000b\":7,\"a\":2}");
    lvat_free(out);
    lvat_json_free(j);
}

/* An object of n keys "k0".."k<n-1>" with values 0..n-1, and a copy of
 * its first key at the end when `dup`. */
static char *
many_keys_doc(int n, bool dup)
{
    char *t = lvat_malloc((size_t)n * 24 + 32);
    size_t len = 0;

    assert_non_null(t);
    t[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)sprintf(t + len, "%s\"k%d\":%d", i ? "," : "", i, i);
    if (dup)
        len += (size_t)sprintf(t + len, ",\"k0\":0");
    strcpy(t + len, "}");
    return t;
}

static void
expect_many_keys(const lvat_json *j, int n)
{
    char key[16];

    assert_int_equal(j->len, (size_t)n);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_non_null(lvat_json_get(j, key));
        assert_true(lvat_json_get(j, key)->i == i);
    }
    assert_null(lvat_json_get(j, "k-1"));
    snprintf(key, sizeof key, "k%d", n);
    assert_null(lvat_json_get(j, key));
}

/* Objects of 16 keys or more find keys through an index (json_dom.c):
 * lookups, replacement, clones, duplicates and allocation failures. */
static void
test_json_dom_many_keys(void **state)
{
    char *t = many_keys_doc(300, false), err[160];
    lvat_json *j = NULL, *c;
    unsigned long n;
    int rc;

    (void)state;
    assert_lvat_ok(lvat_json_parse(t, strlen(t), false, &j, NULL, 0));
    expect_many_keys(j, 300);
    assert_lvat_ok(lvat_json_set(j, "k150", lvat_json_new_int(150)));
    assert_lvat_ok(lvat_json_set(j, "k300", lvat_json_new_int(300)));
    expect_many_keys(j, 301);
    c = lvat_json_clone(j);
    assert_non_null(c);
    expect_many_keys(c, 301);
    lvat_json_free(c);
    lvat_json_free(j);
    lvat_free(t);

    t = many_keys_doc(40, true);
    assert_lvat_rc(lvat_json_parse(t, strlen(t), false, &j, err, sizeof err),
                   LVAT_ESYNTAX);
    assert_non_null(strstr(err, "duplicate key \"k0\""));
    lvat_free(t);

    /* Without memory for an index the object stays linear, still right. */
    t = many_keys_doc(40, false);
    for (n = 1;; n++) {
        j = NULL;
        lvat_alloc_fail_after(n, 1);
        rc = lvat_json_parse(t, strlen(t), false, &j, NULL, 0);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK) {
            expect_many_keys(j, 40);
            lvat_json_free(j);
            if (n > 400)
                break;
            continue;
        }
        assert_lvat_rc(rc, LVAT_ENOMEM);
    }
    lvat_free(t);
}

/* A parsed tree lives in an arena (json_parse.c); changes to it put what
 * they add on the heap.  Run under ASan and valgrind, this shows that
 * freeing such a mixed tree frees each part once. */
static void
test_json_dom_parsed_tree_changes(void **state)
{
    static const char text[] =
        "{\"a\":[1,2,3],\"o\":{\"x\":\"s\",\"y\":[]},\"e\":{}}";
    lvat_json *j = NULL, *inner = NULL, *arr;
    char *out;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, sizeof text - 1, false, &j, NULL, 0));
    arr = (lvat_json *)lvat_json_get(j, "a");
    for (int k = 4; k <= 9; k++) /* the first moves it, then 4 and 8 */
        assert_lvat_ok(lvat_json_append(arr, lvat_json_new_int(k)));
    /* New keys move an object's keys; replacing a member frees the
     * parsed one's heap parts only. */
    assert_lvat_ok(lvat_json_set(j, "n", lvat_json_new_int(5)));
    assert_lvat_ok(lvat_json_set(j, "o", lvat_json_new_str("t", 1)));
    assert_lvat_ok(
        lvat_json_set((lvat_json *)lvat_json_get(j, "e"), "k",
                      lvat_json_new(LVAT_JSON_TRUE)));
    /* Another parse's tree as a member: freed with its arena when
     * replaced, or with the tree that holds it. */
    assert_lvat_ok(lvat_json_parse("[\"p\"]", 5, false, &inner, NULL, 0));
    assert_lvat_ok(lvat_json_set(j, "n", inner));
    assert_lvat_ok(lvat_json_parse("{\"q\":1}", 7, false, &inner, NULL, 0));
    assert_lvat_ok(lvat_json_set(j, "n", inner));
    assert_lvat_ok(lvat_json_set(inner, "r", lvat_json_new_int(2)));
    out = write_compact(j);
    assert_string_equal(out, "{\"a\":[1,2,3,4,5,6,7,8,9],\"o\":\"t\","
                             "\"e\":{\"k\":true},\"n\":{\"q\":1,\"r\":2}}");
    lvat_free(out);
    lvat_json_free(j);
}

/* Moving a parsed object's keys to the heap fails cleanly: the object is
 * as it was, and still frees whole. */
static void
test_json_dom_parsed_tree_oom(void **state)
{
    static const char text[] = "{\"a\":1,\"b\":2,\"c\":3}";
    lvat_json *j = NULL;
    unsigned long n;
    int rc;
    char *out;

    (void)state;
    for (n = 1;; n++) {
        assert_lvat_ok(
            lvat_json_parse(text, sizeof text - 1, false, &j, NULL, 0));
        lvat_alloc_fail_after(n, 1);
        rc = lvat_json_set(j, "d", lvat_json_new_int(4));
        lvat_alloc_fail_after(0, 0);
        out = write_compact(j);
        if (rc == LVAT_OK) {
            assert_string_equal(out, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}");
            lvat_free(out);
            lvat_json_free(j);
            break;
        }
        assert_lvat_rc(rc, LVAT_ENOMEM);
        assert_string_equal(out, text);
        lvat_free(out);
        lvat_json_free(j);
    }
    assert_true(n > 4); /* the node, the array, and each key copied */
}

/* A document bigger than the arena's first block, with a string bigger
 * than any block: it takes more blocks, each freed. */
static void
test_json_dom_parse_spans_blocks(void **state)
{
    size_t big = (2u << 20) + 7, len = 0;
    char *t = lvat_malloc(big + 64 * 1024);
    lvat_json *j = NULL;

    (void)state;
    assert_non_null(t);
    len += (size_t)sprintf(t + len, "[\"");
    memset(t + len, 'x', big);
    len += big;
    len += (size_t)sprintf(t + len, "\"");
    for (int i = 0; i < 5000; i++)
        len += (size_t)sprintf(t + len, ",[%d]", i);
    t[len++] = ']';
    assert_lvat_ok(lvat_json_parse(t, len, false, &j, NULL, 0));
    assert_int_equal(j->len, 5001);
    assert_int_equal(j->items[0]->len, big);
    assert_true(j->items[0]->str[big - 1] == 'x' && j->items[0]->str[big] == 0);
    assert_true(j->items[5000]->items[0]->i == 4999);
    lvat_json_free(j);
    lvat_free(t);
}

static void
test_json_dom_clone_and_write(void **state)
{
    static const char text[] =
        "{\"a\":[1,2.5,\"s\\n\",{\"b\":null,\"c\":[true,false]}],\"d\":{},"
        "\"e\":[],\"f\":-9223372036854775808,\"g\":\"\\u00ff\"}";
    lvat_json *j = NULL, *c;
    char *a, *b;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, sizeof text - 1, true, &j, NULL, 0));
    c = lvat_json_clone(j);
    assert_non_null(c);
    a = write_compact(j);
    assert_string_equal(a, text);
    lvat_json_free(j); /* the clone must not share anything */
    b = write_compact(c);
    assert_string_equal(a, b);
    lvat_free(a);
    lvat_free(b);
    lvat_json_free(c);
}

/* An integral float is written with ".0", so it reads back as a float. */
static void
test_json_write_keeps_floats_floats(void **state)
{
    static const char text[] = "[3.0,-0.0,1e2,0.5,3,-0]";
    lvat_buf b = LVAT_BUF_INIT, b2 = LVAT_BUF_INIT;
    lvat_json *j, *back;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, strlen(text), true, &j, NULL, 0));
    assert_lvat_ok(lvat_json_write(&b, j));
    assert_string_equal(b.data, "[3.0,-0.0,100.0,0.5,3,0]");
    assert_lvat_ok(lvat_json_parse(b.data, b.len, true, &back, NULL, 0));
    assert_int_equal(back->items[0]->type, LVAT_JSON_FLOAT);
    assert_int_equal(back->items[1]->type, LVAT_JSON_FLOAT);
    assert_true(signbit(back->items[1]->d));
    assert_int_equal(back->items[4]->type, LVAT_JSON_INT);
    /* Written again: the same text (it was "-0", then "0"). */
    assert_lvat_ok(lvat_json_write(&b2, back));
    assert_string_equal(b2.data, b.data);
    lvat_json_free(back);
    lvat_json_free(j);
    lvat_buf_free(&b);
    lvat_buf_free(&b2);
}

/* A host's 3.0 reaches a vat as a float: the body says "3.0", not "3". */
static void
test_json_smallcaps_integral_float_stays_float(void **state)
{
    static const char text[] = "[3.0,1e2,-2.0,0.5,7]";
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kref *slots = NULL;
    size_t n = 0;
    lvat_json *j;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, strlen(text), false, &j, NULL, 0));
    assert_lvat_ok(lvat_sc_from_json(j, &b, &slots, &n, NULL, 0));
    assert_string_equal(b.data, "#[3.0,100.0,-2.0,0.5,7]");
    lvat_json_free(j);
    lvat_buf_free(&b);
}

static void
test_json_write_pretty(void **state)
{
    static const char text[] =
        "{\"a\":1,\"b\":[true,null,{\"c\":\"x\"}],\"d\":{},\"e\":[]}";
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = NULL;

    (void)state;
    assert_lvat_ok(lvat_json_parse(text, sizeof text - 1, false, &j, NULL, 0));
    assert_lvat_ok(lvat_json_write_pretty(&b, j));
    assert_string_equal(b.data, "{\n"
                                "  \"a\": 1,\n"
                                "  \"b\": [\n"
                                "    true,\n"
                                "    null,\n"
                                "    {\n"
                                "      \"c\": \"x\"\n"
                                "    }\n"
                                "  ],\n"
                                "  \"d\": {},\n"
                                "  \"e\": []\n"
                                "}");
    lvat_json_free(j);
    lvat_buf_free(&b);
}

/* ---- Allocation failures ---- */

static const char oom_doc[] =
    "{\"a\":[1,2,3,4,5,6,{\"b\":\"x\\ny\",\"c\":[true,false,null]}],"
    "\"d\":\"\\u00e9\",\"e\":{\"f\":{\"g\":[1.5,-2,\"tab\\there\"]}},"
    "\"h\":1,\"i\":2,\"j\":3,\"k\":\"no escapes\"}";

static void
test_json_oom_parse(void **state)
{
    lvat_json *j;
    char err[160];
    unsigned long n;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        j = NULL;
        lvat_alloc_fail_after(n, 1);
        rc = lvat_json_parse(oom_doc, sizeof oom_doc - 1, true, &j, err,
                             sizeof err);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        assert_null(j);
    }
    /* The arena's block and the parser's buffer for unescaped strings. */
    assert_true(n > 2);
    assert_string_equal(lvat_json_get(j, "d")->str, "\xe9");
    lvat_json_free(j);
}

static void
test_json_oom_clone_and_write(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *j = NULL, *c;
    unsigned long n;
    int rc;

    (void)state;
    assert_lvat_ok(
        lvat_json_parse(oom_doc, sizeof oom_doc - 1, true, &j, NULL, 0));
    for (n = 1;; n++) {
        lvat_alloc_fail_after(n, 1);
        c = lvat_json_clone(j);
        lvat_alloc_fail_after(0, 0);
        if (c != NULL)
            break;
    }
    for (n = 1;; n++) {
        lvat_buf_init(&b);
        lvat_alloc_fail_after(n, 1);
        rc = lvat_json_write_pretty(&b, c);
        lvat_alloc_fail_after(0, 0);
        if (rc == LVAT_OK)
            break;
        assert_lvat_rc(rc, LVAT_ENOMEM);
        lvat_buf_free(&b);
    }
    assert_non_null(strstr(b.data, "\"tab\\there\""));
    lvat_buf_free(&b);
    lvat_json_free(c);
    lvat_json_free(j);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string_escapes_written),
        cmocka_unit_test(test_json_string_utf8_raw_invalid_as_u00xx),
        cmocka_unit_test(test_json_long_string_stops_found_everywhere),
        cmocka_unit_test(test_json_unicode_escapes_decode),
        cmocka_unit_test(test_json_numbers_int64_limits),
        cmocka_unit_test(test_json_numbers_float_forms),
        cmocka_unit_test(test_json_put_double_shortest),
        cmocka_unit_test(test_json_put_double_rejects_nonfinite),
        cmocka_unit_test(test_json_doubles_round_trip),
        cmocka_unit_test(test_json_pull_tokens),
        cmocka_unit_test(test_json_skip_and_custom_error),
        cmocka_unit_test(test_json_depth_limit),
        cmocka_unit_test(test_json_syntax_errors),
        cmocka_unit_test(test_json_not_nul_terminated),
        cmocka_unit_test(test_json_dom_build_get_set_append),
        cmocka_unit_test(test_json_dom_nul_in_keys),
        cmocka_unit_test(test_json_dom_many_keys),
        cmocka_unit_test(test_json_dom_parsed_tree_changes),
        cmocka_unit_test(test_json_dom_parsed_tree_oom),
        cmocka_unit_test(test_json_dom_parse_spans_blocks),
        cmocka_unit_test(test_json_dom_clone_and_write),
        cmocka_unit_test(test_json_write_keeps_floats_floats),
        cmocka_unit_test(test_json_smallcaps_integral_float_stays_float),
        cmocka_unit_test(test_json_write_pretty),
        cmocka_unit_test(test_json_oom_parse),
        cmocka_unit_test(test_json_oom_clone_and_write),
    };

    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
