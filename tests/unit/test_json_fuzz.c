/*
 * Deterministic random tests of the JSON codec and the smallcaps helpers:
 * a fixed-seed generator makes valid documents (deep nesting, extreme
 * numbers, -0, \u escapes and surrogates, raw and invalid UTF-8, long
 * keys) and mutates them (flipped, inserted and deleted bytes, every
 * truncation, trailing garbage).  Every input must either parse, and then
 * survive parse -> write -> parse unchanged, or fail with LVAT_ESYNTAX and
 * a message.  Bodies made from the trees must render and convert back to
 * the same body.  Kept small so that it also runs quickly under valgrind.
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
#include "capdata.h"
#include "json.h"
#include "lvat_test.h"
#include "smallcaps.h"

/* Fewer under valgrind, where each case costs fifty times as much. */
#define CASES (lvat_test_under_valgrind() ? 80 : 600)
#define TRUNCATED_DOCS (lvat_test_under_valgrind() ? 2 : 12)

/* ---- A fixed-seed generator (xorshift64*) ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static unsigned
pick(unsigned n)
{
    return (unsigned)(rng() % n);
}

static void
put_pick(lvat_buf *b, const char *const *choices, size_t n)
{
    lvat_buf_puts(b, choices[pick((unsigned)n)]);
}

/* ---- Making valid documents ---- */

static void
gen_ws(lvat_buf *b)
{
    static const char *const ws[] = {"", "", "", " ", "\n", "\t", "\r\n  "};

    put_pick(b, ws, LVAT_ARRAY_LEN(ws));
}

static void
gen_number(lvat_buf *b)
{
    static const char *const fixed[] = {
        "0", "-0", "-0.0", "0.0", "1e308", "-1e308", "1e-400", "4.9e-324",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "-9223372036854775809", "123456789012345678901234567890", "1E+2",
        "2.5e-3", "1.7976931348623157e308", "3.0", "0.1", "100e0"};
    unsigned k;

    if (pick(3) == 0) {
        put_pick(b, fixed, LVAT_ARRAY_LEN(fixed));
        return;
    }
    if (pick(2))
        lvat_buf_putc(b, '-');
    lvat_buf_printf(b, "%llu", (unsigned long long)(rng() >> pick(64)));
    if (pick(3) == 0) {
        lvat_buf_putc(b, '.');
        for (k = 1 + pick(20); k > 0; k--)
            lvat_buf_putc(b, (char)('0' + pick(10)));
    }
    if (pick(4) == 0)
        lvat_buf_printf(b, "%c%s%u", pick(2) ? 'e' : 'E',
                        pick(2) ? "-" : pick(2) ? "+" : "", pick(330));
}

/* String contents: plain text, escapes, surrogate pairs, raw bytes. */
static void
gen_string_body(lvat_buf *b, size_t max)
{
    static const char *const pieces[] = {
        "a", "Z", " ", "!", "#", "$", "&", "+", "-", "@", "$0.Foo", "&1",
        "+12", "#NaN", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r",
        "\\t", "\\u0000", "\\u001f", "\\u007f", "\\u0080", "\\u00e9",
        "\\u00FF", "\\u0100", "\\u20ac", "\\uffff", "\\ud83d\\ude00",
        "\\uDBFF\\uDFFF", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\x80", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x7f"};
    size_t n = pick(8) == 0 ? pick((unsigned)max) : pick(6);

    while (n-- > 0)
        put_pick(b, pieces, LVAT_ARRAY_LEN(pieces));
}

static void gen_value(lvat_buf *b, int depth);

static void
gen_object(lvat_buf *b, int depth)
{
    unsigned n = pick(6), k;

    lvat_buf_putc(b, '{');
    for (k = 0; k < n; k++) {
        if (k > 0)
            lvat_buf_putc(b, ',');
        gen_ws(b);
        lvat_buf_putc(b, '"');
        gen_string_body(b, 300);
        lvat_buf_printf(b, "%u\"", k); /* keys stay distinct */
        gen_ws(b);
        lvat_buf_putc(b, ':');
        gen_ws(b);
        gen_value(b, depth + 1);
        gen_ws(b);
    }
    lvat_buf_putc(b, '}');
}

static void
gen_special(lvat_buf *b)
{
    static const char *const forms[] = {
        "{\"@kref\":\"ko5\",\"@iface\":\"Foo\"}", "{\"@kref\":\"kp3\"}",
        "{\"@kref\":\"ko1\"}", "{\"@bigint\":\"-0012\"}",
        "{\"@bigint\":\"99999999999999999999\"}", "{\"@special\":\"NaN\"}",
        "{\"@special\":\"undefined\"}", "{\"@error\":\"boom\"}",
        "{\"@tag\":\"t\",\"@payload\":[1,\"!x\"]}", "{\"@foo\":1}"};

    put_pick(b, forms, LVAT_ARRAY_LEN(forms));
}

static void
gen_value(lvat_buf *b, int depth)
{
    static const char *const lits[] = {"null", "true", "false"};
    unsigned k, n, c = depth > 6 ? pick(4) : pick(8);

    if (c == 0) {
        put_pick(b, lits, LVAT_ARRAY_LEN(lits));
    } else if (c == 1) {
        gen_number(b);
    } else if (c == 2 || c == 3) {
        lvat_buf_putc(b, '"');
        gen_string_body(b, 40);
        lvat_buf_putc(b, '"');
    } else if (c == 4) {
        lvat_buf_putc(b, '[');
        for (k = 0, n = pick(6); k < n; k++) {
            if (k > 0)
                lvat_buf_putc(b, ',');
            gen_ws(b);
            gen_value(b, depth + 1);
            gen_ws(b);
        }
        lvat_buf_putc(b, ']');
    } else if (c == 5) {
        gen_special(b);
    } else {
        gen_object(b, depth);
    }
}

/* ---- Checking trees ---- */

static bool
same_tree(const lvat_json *a, const lvat_json *b)
{
    size_t k;

    if (a->type != b->type || a->len != b->len)
        return false;
    switch (a->type) {
    case LVAT_JSON_INT:
        return a->i == b->i;
    case LVAT_JSON_FLOAT:
        return a->d == b->d && signbit(a->d) == signbit(b->d);
    case LVAT_JSON_STRING:
        return memcmp(a->str, b->str, a->len) == 0;
    case LVAT_JSON_ARRAY_BEGIN:
    case LVAT_JSON_OBJECT_BEGIN:
        for (k = 0; k < a->len; k++) {
            if (a->keys != NULL &&
                (a->keylens[k] != b->keylens[k] ||
                 memcmp(a->keys[k], b->keys[k], a->keylens[k]) != 0))
                return false;
            if (!same_tree(a->items[k], b->items[k]))
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* Parses `text`: LVAT_OK with a tree, or LVAT_ESYNTAX with a message. */
static int
parse_checked(const char *text, size_t len, bool raw, lvat_json **out)
{
    char err[200] = "";
    int rc = lvat_json_parse(text, len, raw, out, err, sizeof err);

    if (rc != LVAT_OK) {
        assert_lvat_rc(rc, LVAT_ESYNTAX);
        assert_true(strncmp(err, "line ", 5) == 0);
        *out = NULL;
    }
    return rc;
}

/* parse -> write -> parse gives the same tree, and writing is stable. */
static void
check_round_trip(const lvat_json *t1, bool raw, bool pretty)
{
    lvat_buf w1 = LVAT_BUF_INIT, w2 = LVAT_BUF_INIT;
    lvat_json *t2 = NULL;

    assert_lvat_ok(pretty ? lvat_json_write_pretty(&w1, t1)
                          : lvat_json_write(&w1, t1));
    if (parse_checked(w1.data, w1.len, raw, &t2) != LVAT_OK)
        fail_msg("written text does not parse: %s", w1.data);
    if (raw && !same_tree(t1, t2))
        fail_msg("round trip changed the tree: %s", w1.data);
    assert_lvat_ok(pretty ? lvat_json_write_pretty(&w2, t2)
                          : lvat_json_write(&w2, t2));
    if (raw && (w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0))
        fail_msg("writing is not stable: %s", w1.data);
    lvat_json_free(t2);
    lvat_buf_free(&w1);
    lvat_buf_free(&w2);
}

/* The pull parser alone, skipping every container: same verdict. */
static void
check_pull_skip(const char *text, size_t len, int want)
{
    lvat_json_parser jp;
    lvat_json_tok tok;
    int rc;

    lvat_json_parser_init(&jp, text, len, true);
    rc = lvat_json_next(&jp, &tok);
    if (rc == LVAT_OK)
        rc = lvat_json_skip(&jp, &tok);
    if (rc == LVAT_OK)
        rc = lvat_json_next(&jp, &tok);
    /* The DOM refuses duplicate keys, which the pull parser allows. */
    if (want == LVAT_OK)
        assert_lvat_ok(rc);
    if (rc == LVAT_OK)
        assert_int_equal(tok.type, LVAT_JSON_EOF);
    else
        assert_lvat_rc(rc, LVAT_ESYNTAX);
    lvat_json_parser_free(&jp);
}

/* ---- Smallcaps ---- */

static const char *
state_fn(void *ud, lvat_kref kp)
{
    (void)ud;
    (void)kp;
    return "pending";
}

/* A body from the tree renders, and body -> JSON -> body is stable. */
static void
check_smallcaps(const lvat_json *t)
{
    lvat_buf b1 = LVAT_BUF_INIT, b2 = LVAT_BUF_INIT, r = LVAT_BUF_INIT;
    lvat_kref *s1 = NULL, *s2 = NULL;
    size_t n1 = 0, n2 = 0;
    lvat_json *j = NULL;
    char err[160] = "";
    int rc = lvat_sc_from_json(t, &b1, &s1, &n1, err, sizeof err);

    if (rc != LVAT_OK) {
        assert_lvat_rc(rc, LVAT_EINVAL);
        assert_true(err[0] != '\0');
        goto out;
    }
    rc = lvat_sc_render(&r, b1.data, b1.len, s1, n1, state_fn, NULL);
    if (rc != LVAT_OK)
        fail_msg("render failed (%d): %s", rc, b1.data);
    rc = lvat_sc_to_json(b1.data, b1.len, s1, n1, &j, err, sizeof err);
    if (rc != LVAT_OK)
        fail_msg("to_json failed: %s: %s", err, b1.data);
    assert_lvat_ok(lvat_sc_from_json(j, &b2, &s2, &n2, err, sizeof err));
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        fail_msg("body not stable:\n%s\n%s", b1.data, b2.data);
    assert_int_equal(n1, n2);
    assert_true(n1 == 0 || memcmp(s1, s2, n1 * sizeof *s1) == 0);
out:
    lvat_json_free(j);
    lvat_free(s1);
    lvat_free(s2);
    lvat_buf_free(&b1);
    lvat_buf_free(&b2);
    lvat_buf_free(&r);
}

/* Any bytes as a body: the readers answer without crashing. */
static void
poke_body(const char *text, size_t len)
{
    static const lvat_kref slots[2] = {{1}, {2}};
    lvat_buf b = LVAT_BUF_INIT, body = LVAT_BUF_INIT;
    lvat_json *j = NULL;
    int rc;

    lvat_buf_putc(&body, '#');
    lvat_buf_append(&body, text, len);
    rc = lvat_sc_render(&b, body.data, body.len, slots, 2, NULL, NULL);
    assert_true(rc == LVAT_OK || rc == LVAT_ESYNTAX);
    rc = lvat_sc_to_json(body.data, body.len, slots, 2, &j, NULL, 0);
    assert_true(rc == LVAT_OK || rc == LVAT_ESYNTAX);
    lvat_json_free(j);
    lvat_buf_reset(&b);
    rc = lvat_sc_error_message(body.data, body.len, &b);
    assert_true(rc == LVAT_OK || rc == LVAT_ENOTFOUND);
    lvat_buf_free(&b);
    lvat_buf_free(&body);
}

/* ---- Members without a tree ---- */

/* The member scanner agrees with the DOM on a document that parsed. */
static void
check_members(const char *text, size_t len, const lvat_json *t)
{
    lvat_buf out = LVAT_BUF_INIT;
    lvat_json_span span;
    lvat_json *v = NULL, *u = NULL;
    const lvat_json *want;
    const char *key = "absent";
    int rc;

    if (lvat_json_is_object(t) && t->len > 0 && pick(4) != 0) {
        size_t i = pick((unsigned)t->len);
        /* The scanner's keys are C strings. */
        if (memchr(t->keys[i], 0, t->keylens[i]) == NULL)
            key = t->keys[i];
    }
    want = lvat_json_get(t, key);
    rc = lvat_json_members(text, len, &key, 1, &span);
    if (!lvat_json_is_object(t)) {
        assert_lvat_rc(rc, LVAT_ESYNTAX);
        return;
    }
    assert_lvat_ok(rc);
    assert_int_equal(span.found, want != NULL);
    if (want != NULL) {
        assert_lvat_ok(parse_checked(text + span.at, span.len, true, &v));
        assert_true(same_tree(v, want));
        lvat_json_free(v);
    }
    assert_lvat_ok(lvat_json_member_set(&out, text, len, key, "[1,\"x\"]", 7));
    assert_lvat_ok(parse_checked(out.data, out.len, true, &u));
    assert_int_equal(u->len, t->len + (want == NULL));
    want = lvat_json_get(u, key);
    assert_non_null(want);
    assert_true(lvat_json_is_array(want) && want->len == 2);
    lvat_json_free(u);
    lvat_buf_free(&out);
}

/* ---- Mutations ---- */

static void
mutate(lvat_buf *b)
{
    static const char junk[] = "{}[],:\"\\-+.eE0123456789tfnu \x80\xff\x00x";
    size_t at = b->len ? pick((unsigned)b->len) : 0;

    switch (pick(6)) {
    case 0: /* replace a byte */
        if (b->len)
            b->data[at] = junk[pick(sizeof junk - 1)];
        break;
    case 1: /* insert a byte */
        lvat_buf_putc(b, 0);
        memmove(b->data + at + 1, b->data + at, b->len - at - 1);
        b->data[at] = junk[pick(sizeof junk - 1)];
        break;
    case 2: /* delete a byte */
        if (b->len) {
            memmove(b->data + at, b->data + at + 1, b->len - at - 1);
            b->len--;
        }
        break;
    case 3: /* truncate */
        b->len = at;
        break;
    case 4: /* trailing garbage */
        lvat_buf_puts(b, pick(2) ? " x" : ",1");
        break;
    default: /* a duplicate key, if there is an object */
        lvat_buf_puts(b, "");
        if (b->len > 2 && b->data[0] == '{' && b->data[b->len - 1] == '}') {
            b->len--;
            lvat_buf_puts(b, b->len > 1 ? ",\"k\":1,\"k\":2}" : "\"k\":1}");
        }
        break;
    }
    if (b->data != NULL)
        b->data[b->len] = '\0';
}

/* Runs every reader on `text`; a tree it makes must round trip. */
static void
check_text(const char *text, size_t len, bool members)
{
    lvat_json *t = NULL, *u = NULL;
    int rc = parse_checked(text, len, true, &t);

    check_pull_skip(text, len, rc);
    if (rc == LVAT_OK) {
        check_round_trip(t, true, pick(2));
        if (members && lvat_json_is_object(t))
            check_members(text, len, t);
        check_smallcaps(t);
    }
    if (parse_checked(text, len, false, &u) == LVAT_OK)
        check_round_trip(u, false, false);
    assert_int_equal(rc == LVAT_OK, u != NULL);
    poke_body(text, len);
    lvat_json_free(t);
    lvat_json_free(u);
}

static void
test_json_fuzz_valid_and_mutated(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    int k, m;

    (void)state;
    rng_state = UINT64_C(0x9e3779b97f4a7c15);
    for (k = 0; k < CASES; k++) {
        lvat_buf_reset(&b);
        gen_ws(&b);
        if (k % 3 == 0)
            gen_object(&b, 0);
        else
            gen_value(&b, 0);
        gen_ws(&b);
        check_text(b.data, b.len, true);
        for (m = 0; m < 3; m++) {
            mutate(&b);
            check_text(b.data, b.len, true);
        }
    }
    lvat_buf_free(&b);
}

/* Every prefix of a few documents: a clear error or a valid document. */
static void
test_json_fuzz_every_truncation(void **state)
{
    lvat_buf b = LVAT_BUF_INIT;
    size_t cut;
    int k;

    (void)state;
    rng_state = 42;
    for (k = 0; k < TRUNCATED_DOCS; k++) {
        lvat_buf_reset(&b);
        gen_object(&b, 3);
        for (cut = 0; cut <= b.len; cut++) {
            /* Exactly `cut` bytes, so ASan sees a read past the end. */
            char *copy = malloc(cut ? cut : 1);
            assert_non_null(copy);
            memcpy(copy, b.data, cut);
            check_text(copy, cut, false);
            free(copy);
        }
    }
    lvat_buf_free(&b);
}

/* Nesting of `levels` arrays or objects around `inner`. */
static void
nest(lvat_buf *b, int levels, bool objects, const char *inner)
{
    int k;

    lvat_buf_reset(b);
    for (k = 0; k < levels; k++)
        lvat_buf_puts(b, objects ? "{\"a\":" : "[");
    lvat_buf_puts(b, inner);
    for (k = 0; k < levels; k++)
        lvat_buf_putc(b, objects ? '}' : ']');
}

static void
test_json_fuzz_depth_limit(void **state)
{
    static const char *const inner[] = {"1", "\"x\"", "[]", "{}", ""};
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *t;
    int levels, k, kind;

    (void)state;
    rng_state = 7;
    for (kind = 0; kind < 2; kind++) {
        for (levels = LVAT_JSON_MAX_DEPTH - 2;
             levels <= LVAT_JSON_MAX_DEPTH + 2; levels++) {
            for (k = 0; k < (int)LVAT_ARRAY_LEN(inner); k++) {
                int total = levels + (inner[k][0] == '[' || inner[k][0] == '{');
                /* {"a":} is never valid; [[]] is, within the limit. */
                bool ok = (kind == 0 || inner[k][0] != '\0') &&
                          total <= LVAT_JSON_MAX_DEPTH;

                nest(&b, levels, kind, inner[k]);
                if ((parse_checked(b.data, b.len, true, &t) == LVAT_OK) != ok)
                    fail_msg("depth %d, inner '%s': want %d", levels, inner[k],
                             ok);
                lvat_json_free(t);
                check_text(b.data, b.len, false);
            }
        }
    }
    lvat_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fuzz_valid_and_mutated),
        cmocka_unit_test(test_json_fuzz_every_truncation),
        cmocka_unit_test(test_json_fuzz_depth_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
