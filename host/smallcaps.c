/*
 * Smallcaps helpers: decoding special strings, the '!' string escape, the
 * kernel's error bodies, recognising error records, and the rendering for
 * people.  Bodies are read with the pull parser in raw-bytes mode, so Lua
 * byte strings come back unchanged.  Conversions to and from plain JSON
 * (CLI arguments and output) are in smallcaps_json.c.
 */
#include "smallcaps.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "lvat_err.h"
#include "smallcaps_int.h"

/* ---- Decoding strings ---- */

int
lvat__sc_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LVAT_ESYNTAX;
}

static bool
all_digits(const char *s, size_t len)
{
    size_t k;

    for (k = 0; k < len; k++) {
        if (s[k] < '0' || s[k] > '9')
            return false;
    }
    return len > 0;
}

static int
decode_slot(const char *s,
            size_t len,
            const lvat_kref *slots,
            size_t nslots,
            lvat__sc_str *out,
            char *err,
            size_t errlen)
{
    const char *dot = s[0] == '$' ? memchr(s, '.', len) : NULL;
    size_t ilen = dot != NULL ? (size_t)(dot - s) - 1 : len - 1;
    uint64_t i;

    if (lvat_parse_u64(s + 1, ilen, &i) != LVAT_OK)
        return lvat__sc_fail(err, errlen, "malformed slot reference \"%.*s\"",
                             len > 40 ? 40 : (int)len, s);
    if (i >= nslots)
        return lvat__sc_fail(err, errlen, "slot %llu out of range (%zu slots)",
                             (unsigned long long)i, nslots);
    out->kind = s[0] == '$' ? 'r' : 'p';
    out->kref = slots[i];
    out->has_iface = dot != NULL;
    out->s = dot != NULL ? dot + 1 : s + len;
    out->len = dot != NULL ? len - ilen - 2 : 0;
    return LVAT_OK;
}

int
lvat__sc_decode(const char *s,
                size_t len,
                const lvat_kref *slots,
                size_t nslots,
                lvat__sc_str *out,
                char *err,
                size_t errlen)
{
    static const char *const consts[] = {"undefined", "NaN", "Infinity",
                                         "-Infinity"};
    size_t k;

    out->kind = 's';
    out->s = s;
    out->len = len;
    out->has_iface = false;
    if (!lvat_sc_starts_special(s, len))
        return LVAT_OK;
    switch (s[0]) {
    case '!':
        out->s = s + 1;
        out->len = len - 1;
        return LVAT_OK;
    case '#':
        for (k = 0; k < LVAT_ARRAY_LEN(consts); k++) {
            if (strlen(consts[k]) == len - 1 &&
                !memcmp(consts[k], s + 1, len - 1)) {
                out->kind = 'c';
                out->s = s + 1;
                out->len = len - 1;
                return LVAT_OK;
            }
        }
        return lvat__sc_fail(err, errlen, "unknown smallcaps constant");
    case '+':
    case '-':
        if (!all_digits(s + 1, len - 1))
            return lvat__sc_fail(err, errlen, "malformed bigint");
        out->kind = 'b';
        out->s = s[0] == '+' ? s + 1 : s;
        out->len = s[0] == '+' ? len - 1 : len;
        return LVAT_OK;
    case '$':
    case '&':
        return decode_slot(s, len, slots, nslots, out, err, errlen);
    default:
        return lvat__sc_fail(err, errlen, "unsupported smallcaps prefix '%c'",
                             s[0]);
    }
}

/* ---- Writing ---- */

int
lvat_sc_put_string(lvat_buf *b, const char *s, size_t len)
{
    size_t at = b->len;
    int rc = lvat_json_put_string(b, s, len);

    if (rc != LVAT_OK || !lvat_sc_starts_special(s, len))
        return rc;
    /* Insert the '!' after the opening quote (moving the NUL too). */
    if (lvat_buf_reserve(b, 1) != LVAT_OK)
        return LVAT_ENOMEM;
    memmove(b->data + at + 2, b->data + at + 1, b->len - at);
    b->data[at + 1] = '!';
    b->len++;
    return LVAT_OK;
}

int
lvat_sc_error_body(lvat_buf *b, const char *msg, size_t len)
{
    lvat_buf_puts(b, "#{\"#error\":");
    lvat_sc_put_string(b, msg, len);
    lvat_buf_puts(b, ",\"name\":\"Error\"}");
    return b->oom ? LVAT_ENOMEM : LVAT_OK;
}

/* ---- Error records ---- */

static bool
tok_is(const lvat_json_tok *tok, const char *s)
{
    return tok->len == strlen(s) && memcmp(tok->str, s, tok->len) == 0;
}

/* Walks the members of the top-level object, keeping the "#error" text. */
static int
find_error_message(lvat_json_parser *jp, lvat_buf *found)
{
    lvat_json_tok tok;
    bool is_err, have = false;
    lvat__sc_str d;
    int rc;

    rc = lvat_json_next(jp, &tok);
    if (rc != LVAT_OK || tok.type != LVAT_JSON_OBJECT_BEGIN)
        return rc != LVAT_OK ? rc : LVAT_ENOTFOUND;
    for (;;) {
        rc = lvat_json_next(jp, &tok);
        if (rc != LVAT_OK || tok.type == LVAT_JSON_OBJECT_END)
            break;
        is_err = tok_is(&tok, "#error");
        rc = lvat_json_next(jp, &tok);
        if (rc != LVAT_OK)
            break;
        if (is_err && tok.type == LVAT_JSON_STRING &&
            lvat__sc_decode(tok.str, tok.len, NULL, 0, &d, NULL, 0) ==
                LVAT_OK &&
            d.kind == 's') {
            lvat_buf_reset(found);
            lvat_buf_append(found, d.s, d.len);
            have = true;
        } else if ((rc = lvat_json_skip(jp, &tok)) != LVAT_OK) {
            break;
        }
    }
    if (rc == LVAT_OK)
        rc = lvat_json_next(jp, &tok); /* EOF */
    if (rc == LVAT_OK && found->oom)
        rc = LVAT_ENOMEM;
    return rc == LVAT_OK && !have ? LVAT_ENOTFOUND : rc;
}

int
lvat_sc_error_message(const char *body, size_t len, lvat_buf *msg)
{
    lvat_json_parser jp;
    lvat_buf found = LVAT_BUF_INIT;
    int rc;

    if (len == 0 || body[0] != '#')
        return LVAT_ENOTFOUND;
    lvat_json_parser_init(&jp, body + 1, len - 1, true);
    rc = find_error_message(&jp, &found);
    if (rc == LVAT_OK)
        rc = lvat_buf_append(msg, found.data, found.len);
    else if (rc != LVAT_ENOMEM)
        rc = LVAT_ENOTFOUND;
    lvat_json_parser_free(&jp);
    lvat_buf_free(&found);
    return rc;
}

/* ---- Rendering for people ---- */

typedef struct rctx {
    lvat_buf *b;
    lvat_json_parser jp;
    const lvat_kref *slots;
    size_t nslots;
    lvat_sc_promise_state_fn state_fn;
    void *ud;
} rctx;

static int r_value(rctx *c, lvat_json_tok *tok, bool top);

static int
r_slot(rctx *c, const lvat__sc_str *d)
{
    char ref[LVAT_REF_BUFSIZE];
    const char *state = NULL;

    lvat_buf_putc(c->b, '<');
    lvat_buf_append(c->b, ref, lvat_kref_format(d->kref, ref));
    if (lvat_kref_is_promise(d->kref) && c->state_fn != NULL)
        state = c->state_fn(c->ud, d->kref);
    if (state != NULL) {
        lvat_buf_putc(c->b, ' ');
        lvat_buf_puts(c->b, state);
    } else if (d->has_iface && d->len > 0) {
        lvat_buf_putc(c->b, ' ');
        lvat_buf_append(c->b, d->s, d->len);
    }
    return lvat_buf_putc(c->b, '>');
}

static int
r_string(rctx *c, const char *s, size_t len, bool top)
{
    lvat__sc_str d;

    if (lvat__sc_decode(s, len, c->slots, c->nslots, &d, NULL, 0) != LVAT_OK)
        return LVAT_ESYNTAX;
    switch (d.kind) {
    case 's':
        if (top)
            return lvat_buf_append(c->b, d.s, d.len);
        return lvat_json_put_string(c->b, d.s, d.len);
    case 'b':
        lvat_buf_append(c->b, d.s, d.len);
        return lvat_buf_putc(c->b, 'n');
    case 'c':
        return lvat_buf_append(c->b, d.s, d.len);
    default:
        return r_slot(c, &d);
    }
}

static int
r_array(rctx *c)
{
    lvat_json_tok tok;
    bool first = true;
    int rc;

    lvat_buf_putc(c->b, '[');
    for (;;) {
        rc = lvat_json_next(&c->jp, &tok);
        if (rc != LVAT_OK)
            return rc;
        if (tok.type == LVAT_JSON_ARRAY_END)
            return lvat_buf_putc(c->b, ']');
        if (!first)
            lvat_buf_puts(c->b, ", ");
        first = false;
        rc = r_value(c, &tok, false);
        if (rc != LVAT_OK)
            return rc;
    }
}

/* Renders a record whose first key is in `tok`. */
static int
r_record(rctx *c, lvat_json_tok *tok)
{
    lvat__sc_str d;
    int rc;

    lvat_buf_putc(c->b, '{');
    for (;;) {
        if (lvat__sc_decode(tok->str, tok->len, NULL, 0, &d, NULL, 0) !=
                LVAT_OK ||
            d.kind != 's')
            return LVAT_ESYNTAX;
        lvat_json_put_string(c->b, d.s, d.len);
        lvat_buf_puts(c->b, ": ");
        rc = lvat_json_next(&c->jp, tok);
        if (rc == LVAT_OK)
            rc = r_value(c, tok, false);
        if (rc == LVAT_OK)
            rc = lvat_json_next(&c->jp, tok);
        if (rc != LVAT_OK)
            return rc;
        if (tok->type == LVAT_JSON_OBJECT_END)
            return lvat_buf_putc(c->b, '}');
        lvat_buf_puts(c->b, ", ");
    }
}

/*
 * Renders an error record as Name("message"); "#error" (in `tok`) was its
 * first key.  The members are collected first because "name" comes later.
 */
static int
r_error(rctx *c, lvat_json_tok *tok)
{
    lvat_buf text[2] = {LVAT_BUF_INIT, LVAT_BUF_INIT}; /* message, name */
    int which = 0, rc; /* 0 "#error", 1 "name", 2 any other key */
    lvat__sc_str d;

    for (;;) {
        rc = lvat_json_next(&c->jp, tok);
        if (rc != LVAT_OK)
            break;
        if (which < 2 && tok->type == LVAT_JSON_STRING &&
            lvat__sc_decode(tok->str, tok->len, NULL, 0, &d, NULL, 0) == 0 &&
            d.kind == 's') {
            lvat_buf_reset(&text[which]);
            lvat_buf_append(&text[which], d.s, d.len);
        } else if (which == 0) {
            rc = LVAT_ESYNTAX;
        } else {
            rc = lvat_json_skip(&c->jp, tok);
        }
        if (rc == LVAT_OK)
            rc = lvat_json_next(&c->jp, tok);
        if (rc != LVAT_OK || tok->type == LVAT_JSON_OBJECT_END)
            break;
        which = tok_is(tok, "#error") ? 0 : tok_is(tok, "name") ? 1 : 2;
    }
    if (rc == LVAT_OK) {
        if (text[1].len > 0)
            lvat_buf_append(c->b, text[1].data, text[1].len);
        else
            lvat_buf_puts(c->b, "Error");
        lvat_buf_putc(c->b, '(');
        lvat_json_put_string(c->b, text[0].data, text[0].len);
        lvat_buf_putc(c->b, ')');
        if (c->b->oom || text[0].oom || text[1].oom)
            rc = LVAT_ENOMEM;
    }
    lvat_buf_free(&text[0]);
    lvat_buf_free(&text[1]);
    return rc;
}

/* Renders {"#tag": t, "payload": p} as Tagged("t", p). */
static int
r_tagged(rctx *c, lvat_json_tok *tok)
{
    lvat__sc_str d;
    int rc = lvat_json_next(&c->jp, tok);

    if (rc != LVAT_OK)
        return rc;
    if (tok->type != LVAT_JSON_STRING ||
        lvat__sc_decode(tok->str, tok->len, NULL, 0, &d, NULL, 0) != LVAT_OK ||
        d.kind != 's')
        return LVAT_ESYNTAX;
    lvat_buf_puts(c->b, "Tagged(");
    lvat_json_put_string(c->b, d.s, d.len);
    lvat_buf_puts(c->b, ", ");
    rc = lvat_json_next(&c->jp, tok);
    if (rc != LVAT_OK)
        return rc;
    if (tok->type != LVAT_JSON_KEY || !tok_is(tok, "payload"))
        return LVAT_ESYNTAX;
    rc = lvat_json_next(&c->jp, tok);
    if (rc == LVAT_OK)
        rc = r_value(c, tok, false);
    if (rc == LVAT_OK)
        rc = lvat_json_next(&c->jp, tok);
    if (rc != LVAT_OK)
        return rc;
    if (tok->type != LVAT_JSON_OBJECT_END)
        return LVAT_ESYNTAX;
    return lvat_buf_putc(c->b, ')');
}

static int
r_object(rctx *c, lvat_json_tok *tok)
{
    int rc = lvat_json_next(&c->jp, tok);

    if (rc != LVAT_OK)
        return rc;
    if (tok->type == LVAT_JSON_OBJECT_END)
        return lvat_buf_puts(c->b, "{}");
    if (tok_is(tok, "#error"))
        return r_error(c, tok);
    if (tok_is(tok, "#tag"))
        return r_tagged(c, tok);
    return r_record(c, tok);
}

static int
r_value(rctx *c, lvat_json_tok *tok, bool top)
{
    switch (tok->type) {
    case LVAT_JSON_NULL:
        return lvat_buf_puts(c->b, "null");
    case LVAT_JSON_FALSE:
        return lvat_buf_puts(c->b, "false");
    case LVAT_JSON_TRUE:
        return lvat_buf_puts(c->b, "true");
    case LVAT_JSON_INT:
        return lvat_buf_put_i64(c->b, tok->i);
    case LVAT_JSON_FLOAT:
        return lvat_json_put_double(c->b, tok->d);
    case LVAT_JSON_STRING:
        return r_string(c, tok->str, tok->len, top);
    case LVAT_JSON_ARRAY_BEGIN:
        return r_array(c);
    case LVAT_JSON_OBJECT_BEGIN:
        return r_object(c, tok);
    default:
        return LVAT_ESYNTAX;
    }
}

int
lvat_sc_render(lvat_buf *b,
               const char *body,
               size_t len,
               const lvat_kref *slots,
               size_t nslots,
               lvat_sc_promise_state_fn state_fn,
               void *ud)
{
    rctx c;
    lvat_json_tok tok;
    int rc;

    if (len == 0 || body[0] != '#')
        return LVAT_ESYNTAX;
    c.b = b;
    c.slots = slots;
    c.nslots = nslots;
    c.state_fn = state_fn;
    c.ud = ud;
    lvat_json_parser_init(&c.jp, body + 1, len - 1, true);
    rc = lvat_json_next(&c.jp, &tok);
    if (rc == LVAT_OK)
        rc = r_value(&c, &tok, true);
    if (rc == LVAT_OK)
        rc = lvat_json_next(&c.jp, &tok); /* EOF */
    lvat_json_parser_free(&c.jp);
    if (rc == LVAT_OK && b->oom)
        rc = LVAT_ENOMEM;
    return rc;
}
