/*
 * The JSON codec: a pull parser that walks the text with a small state
 * stack (one expectation per open container), a DOM built on top of it,
 * and the compact and pretty writers.  Strings are byte strings (see
 * json.h for the \u00XX rule).  Locale-sensitive strtod/snprintf assume the
 * "C" numeric locale, which the program never changes.
 */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lvat_err.h"

/*
 * Parser states kept in jp->expect[level]: what the level wants next.
 * Level 0 is the document itself; level d > 0 is the container opened at
 * depth d, whose kind is jp->kind[d - 1].
 */
#define EXP_VALUE     'v' /* a value (document start, or after ',') */
#define EXP_END       'e' /* the document value is done; only space */
#define EXP_DONE      'd' /* EOF was returned */
#define EXP_FAILED    'x' /* a syntax error was reported */
#define EXP_ARR_FIRST 'f' /* after '[': a value or ']' */
#define EXP_ARR_NEXT  'c' /* after an item: ',' or ']' */
#define EXP_OBJ_FIRST 'F' /* after '{': a key or '}' */
#define EXP_OBJ_NEXT  'C' /* after a member: ',' or '}' */
#define EXP_COLON     ':' /* after a key: ':' then a value */

/* ---- Parser: errors and helpers ---- */

int
lvat_json_fail(lvat_json_parser *jp, const char *at, const char *fmt, ...)
{
    unsigned long line = 1;
    const char *bol = jp->text, *q;
    char what[112];
    va_list ap;

    for (q = jp->text; q < at; q++) {
        if (*q == '\n') {
            line++;
            bol = q + 1;
        }
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(jp->err, sizeof jp->err, "line %lu, column %lu: %s", line,
             (unsigned long)(at - bol) + 1, what);
    jp->expect[jp->depth] = EXP_FAILED;
    return LVAT_ESYNTAX;
}

static void
skip_ws(lvat_json_parser *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
                               *jp->p == '\n' || *jp->p == '\r'))
        jp->p++;
}

static bool
at(const lvat_json_parser *jp, char c)
{
    return jp->p < jp->end && *jp->p == c;
}

/* Records that a value finished at the current level. */
static void
value_done(lvat_json_parser *jp)
{
    int d = jp->depth;

    if (d == 0)
        jp->expect[0] = EXP_END;
    else
        jp->expect[d] = jp->kind[d - 1] == 'a' ? EXP_ARR_NEXT : EXP_OBJ_NEXT;
}

/* ---- Parser: strings ---- */

static int
hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    int k;

    if (end - p < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        char c = p[k];
        unsigned h;

        if (c >= '0' && c <= '9')
            h = (unsigned)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            h = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return -1;
        v = v * 16 + h;
    }
    *out = v;
    return 0;
}

static int
put_utf8(lvat_buf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return lvat_buf_append(b, u, n);
}

/* Decodes the \uXXXX (or surrogate pair) at *qp into jp->scratch. */
static int
read_u_escape(lvat_json_parser *jp, const char **qp)
{
    const char *q = *qp;
    unsigned cp, lo;

    if (hex4(q + 2, jp->end, &cp) != 0)
        return lvat_json_fail(jp, q, "invalid \\u escape");
    q += 6;
    if (jp->raw_bytes && cp >= 0x80 && cp <= 0xff) {
        *qp = q;
        return lvat_buf_putc(&jp->scratch, (char)cp);
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (jp->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
            hex4(q + 2, jp->end, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
            return lvat_json_fail(jp, *qp, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        q += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return lvat_json_fail(jp, *qp, "unpaired surrogate in \\u escape");
    }
    *qp = q;
    return put_utf8(&jp->scratch, cp);
}

static int
read_escape(lvat_json_parser *jp, const char **qp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *q = *qp, *hit;

    if (q + 1 == jp->end)
        return lvat_json_fail(jp, q, "unterminated string");
    if (q[1] == 'u')
        return read_u_escape(jp, qp);
    hit = memchr(from, q[1], sizeof from - 1);
    if (hit == NULL)
        return lvat_json_fail(jp, q, "invalid escape sequence");
    *qp = q + 2;
    return lvat_buf_putc(&jp->scratch, to[hit - from]);
}

static const char *
scan_plain(const char *q, const char *end)
{
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    return q;
}

/* jp->p is on the opening quote; leaves it after the closing one. */
static int
read_string(lvat_json_parser *jp, lvat_json_tok *tok)
{
    const char *open = jp->p, *run = open + 1, *q = scan_plain(run, jp->end);
    int rc;

    if (q < jp->end && *q == '"') {
        /* No escapes: hand out the bytes in place. */
        tok->str = run;
        tok->len = (size_t)(q - run);
        jp->p = q + 1;
        return LVAT_OK;
    }
    lvat_buf_reset(&jp->scratch);
    for (;;) {
        if (lvat_buf_append(&jp->scratch, run, (size_t)(q - run)) != LVAT_OK)
            return LVAT_ENOMEM;
        if (q == jp->end)
            return lvat_json_fail(jp, open, "unterminated string");
        if (*q == '"')
            break;
        if (*q != '\\')
            return lvat_json_fail(jp, q, "control character in string");
        rc = read_escape(jp, &q);
        if (rc != LVAT_OK)
            return rc;
        run = q;
        q = scan_plain(q, jp->end);
    }
    tok->str = jp->scratch.data;
    tok->len = jp->scratch.len;
    jp->p = q + 1;
    return LVAT_OK;
}

/* ---- Parser: numbers and literals ---- */

/* Parses an optionally negative decimal integer; -1 when it overflows. */
static int
parse_i64(const char *s, size_t len, int64_t *out)
{
    bool neg = s[0] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t k;

    for (k = neg; k < len; k++) {
        unsigned dig = (unsigned)(s[k] - '0');

        if (v > (lim - dig) / 10)
            return -1;
        v = v * 10 + dig;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static const char *
skip_digits(const char *q, const char *end)
{
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q;
}

static int
to_double(lvat_json_parser *jp, const char *s, size_t len, double *out)
{
    char small[64], *text = small;

    if (len >= sizeof small) {
        lvat_buf_reset(&jp->scratch);
        if (lvat_buf_append(&jp->scratch, s, len) != LVAT_OK)
            return LVAT_ENOMEM;
        text = jp->scratch.data;
    } else {
        memcpy(small, s, len);
        small[len] = '\0';
    }
    *out = strtod(text, NULL);
    if (!isfinite(*out))
        return lvat_json_fail(jp, s, "number out of range");
    return LVAT_OK;
}

static int
read_number(lvat_json_parser *jp, lvat_json_tok *tok)
{
    const char *s = jp->p, *q = s + (*s == '-'), *end = jp->end;
    bool integral = true;
    int rc;

    if (q == end || *q < '0' || *q > '9')
        return lvat_json_fail(jp, s, "invalid number");
    if (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9')
        return lvat_json_fail(jp, s, "invalid number (leading zero)");
    q = skip_digits(q, end);
    if (q < end && *q == '.') {
        integral = false;
        if (skip_digits(q + 1, end) == q + 1)
            return lvat_json_fail(jp, s, "invalid number");
        q = skip_digits(q + 1, end);
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        integral = false;
        q += q + 1 < end && (q[1] == '+' || q[1] == '-') ? 2 : 1;
        if (skip_digits(q, end) == q)
            return lvat_json_fail(jp, s, "invalid number");
        q = skip_digits(q, end);
    }
    jp->p = q;
    if (integral && parse_i64(s, (size_t)(q - s), &tok->i) == 0) {
        tok->type = LVAT_JSON_INT;
        /* "-0" keeps its sign in d, as strtod would. */
        tok->d = tok->i == 0 && *s == '-' ? -0.0 : (double)tok->i;
    } else {
        tok->type = LVAT_JSON_FLOAT;
        tok->i = 0;
        rc = to_double(jp, s, (size_t)(q - s), &tok->d);
        if (rc != LVAT_OK)
            return rc;
    }
    value_done(jp);
    return LVAT_OK;
}

static int
read_literal(lvat_json_parser *jp, lvat_json_tok *tok)
{
    static const char *const words[] = {"null", "false", "true"};
    static const lvat_json_type types[] = {LVAT_JSON_NULL, LVAT_JSON_FALSE,
                                           LVAT_JSON_TRUE};
    int w = *jp->p == 'n' ? 0 : *jp->p == 'f' ? 1 : 2;
    size_t n = strlen(words[w]);

    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, words[w], n) != 0)
        return lvat_json_fail(jp, jp->p, "invalid literal");
    jp->p += n;
    tok->type = types[w];
    value_done(jp);
    return LVAT_OK;
}

/* ---- Parser: structure ---- */

static int
open_container(lvat_json_parser *jp, lvat_json_tok *tok)
{
    bool arr = *jp->p == '[';

    if (jp->depth >= LVAT_JSON_MAX_DEPTH)
        return lvat_json_fail(jp, jp->p, "nesting deeper than %d levels",
                              LVAT_JSON_MAX_DEPTH);
    value_done(jp);
    jp->kind[jp->depth] = arr ? 'a' : 'o';
    jp->depth++;
    jp->expect[jp->depth] = arr ? EXP_ARR_FIRST : EXP_OBJ_FIRST;
    jp->p++;
    tok->type = arr ? LVAT_JSON_ARRAY_BEGIN : LVAT_JSON_OBJECT_BEGIN;
    return LVAT_OK;
}

static int
read_value(lvat_json_parser *jp, lvat_json_tok *tok)
{
    unsigned char c = (unsigned char)*jp->p;
    int rc;

    if (c == '{' || c == '[')
        return open_container(jp, tok);
    if (c == '"') {
        rc = read_string(jp, tok);
        if (rc != LVAT_OK)
            return rc;
        tok->type = LVAT_JSON_STRING;
        value_done(jp);
        return LVAT_OK;
    }
    if (c == 'n' || c == 'f' || c == 't')
        return read_literal(jp, tok);
    if (c == '-' || (c >= '0' && c <= '9'))
        return read_number(jp, tok);
    if (c > 0x20 && c < 0x7f)
        return lvat_json_fail(jp, jp->p, "expected a value, found '%c'", c);
    return lvat_json_fail(jp, jp->p, "expected a value, found byte 0x%02x", c);
}

static int
close_level(lvat_json_parser *jp, lvat_json_tok *tok, lvat_json_type type)
{
    jp->p++;
    jp->depth--;
    tok->type = type;
    return LVAT_OK;
}

/* Consumes the ',' a NEXT state needs; fails with `what` otherwise. */
static int
need_comma(lvat_json_parser *jp, const char *what)
{
    if (!at(jp, ','))
        return lvat_json_fail(jp, jp->p, "%s", what);
    jp->p++;
    skip_ws(jp);
    if (jp->p == jp->end)
        return lvat_json_fail(jp, jp->p, "unexpected end of input");
    return LVAT_OK;
}

static int
array_next(lvat_json_parser *jp, lvat_json_tok *tok, char e)
{
    if (at(jp, ']'))
        return close_level(jp, tok, LVAT_JSON_ARRAY_END);
    if (e == EXP_ARR_NEXT && need_comma(jp, "expected ',' or ']'") != 0)
        return LVAT_ESYNTAX;
    return read_value(jp, tok);
}

static int
object_next(lvat_json_parser *jp, lvat_json_tok *tok, char e)
{
    int rc;

    if (at(jp, '}'))
        return close_level(jp, tok, LVAT_JSON_OBJECT_END);
    if (e == EXP_OBJ_NEXT && need_comma(jp, "expected ',' or '}'") != 0)
        return LVAT_ESYNTAX;
    if (!at(jp, '"'))
        return lvat_json_fail(jp, jp->p, "expected a string key");
    rc = read_string(jp, tok);
    if (rc != LVAT_OK)
        return rc;
    tok->type = LVAT_JSON_KEY;
    jp->expect[jp->depth] = EXP_COLON;
    return LVAT_OK;
}

void
lvat_json_parser_init(lvat_json_parser *jp,
                      const char *text,
                      size_t len,
                      bool raw_bytes)
{
    jp->text = text;
    jp->p = text;
    jp->end = text + len;
    lvat_buf_init(&jp->scratch);
    jp->raw_bytes = raw_bytes;
    jp->depth = 0;
    jp->expect[0] = EXP_VALUE;
    jp->err[0] = '\0';
}

void
lvat_json_parser_free(lvat_json_parser *jp)
{
    lvat_buf_free(&jp->scratch);
}

int
lvat_json_next(lvat_json_parser *jp, lvat_json_tok *tok)
{
    char e = jp->expect[jp->depth];

    memset(tok, 0, sizeof *tok);
    tok->type = LVAT_JSON_EOF;
    if (e == EXP_FAILED)
        return LVAT_ESYNTAX;
    if (e == EXP_DONE)
        return LVAT_OK;
    skip_ws(jp);
    if (e == EXP_END) {
        if (jp->p < jp->end)
            return lvat_json_fail(jp, jp->p,
                                  "trailing characters after the value");
        jp->expect[0] = EXP_DONE;
        return LVAT_OK;
    }
    if (jp->p == jp->end)
        return lvat_json_fail(jp, jp->p, "unexpected end of input");
    if (e == EXP_ARR_FIRST || e == EXP_ARR_NEXT)
        return array_next(jp, tok, e);
    if (e == EXP_OBJ_FIRST || e == EXP_OBJ_NEXT)
        return object_next(jp, tok, e);
    if (e == EXP_COLON) {
        if (!at(jp, ':'))
            return lvat_json_fail(jp, jp->p, "expected ':' after the key");
        jp->p++;
        skip_ws(jp);
        if (jp->p == jp->end)
            return lvat_json_fail(jp, jp->p, "unexpected end of input");
    }
    return read_value(jp, tok);
}

int
lvat_json_skip(lvat_json_parser *jp, const lvat_json_tok *tok)
{
    lvat_json_tok t;
    int open, rc;

    if (tok->type != LVAT_JSON_ARRAY_BEGIN &&
        tok->type != LVAT_JSON_OBJECT_BEGIN)
        return LVAT_OK;
    for (open = 1; open > 0;) {
        rc = lvat_json_next(jp, &t);
        if (rc != LVAT_OK)
            return rc;
        if (t.type == LVAT_JSON_ARRAY_BEGIN || t.type == LVAT_JSON_OBJECT_BEGIN)
            open++;
        else if (t.type == LVAT_JSON_ARRAY_END ||
                 t.type == LVAT_JSON_OBJECT_END)
            open--;
    }
    return LVAT_OK;
}
