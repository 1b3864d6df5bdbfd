/*
 * Smallcaps and plain JSON: CLI arguments into a body ({"@kref": ...}
 * objects become slots, records get escaped, sorted keys, integers past
 * 2^53 become bigints), and a body back into plain JSON for output, with
 * "@" objects for what JSON cannot say.  Rendering is in smallcaps.c.
 */
#include "smallcaps.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "lvat_err.h"
#include "smallcaps_int.h"

#define BIGINT_SAFE (UINT64_C(1) << 53) /* larger magnitudes become bigints */

/* ---- Plain JSON to a body ---- */

typedef struct fj_ctx {
    lvat_buf *body;
    lvat_kref **slots;
    size_t *nslots;
    char *err;
    size_t errlen;
    bool plain; /* "@" keys are text, as any other (lvat_sc_from_data) */
} fj_ctx;

typedef struct member {
    const char *key;
    size_t len;
    const lvat_json *value;
} member;

static int fj_fail(fj_ctx *c, const char *fmt, ...) LVAT_PRINTF(2, 3);

static int
fj_fail(fj_ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->err != NULL && c->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return LVAT_EINVAL;
}

static int fj_value(fj_ctx *c, const lvat_json *v, int depth);

static int
fj_slot(fj_ctx *c, lvat_kref r, size_t *idx)
{
    lvat_kref *p;
    size_t k;

    for (k = 0; k < *c->nslots; k++) {
        if (lvat_kref_eq((*c->slots)[k], r)) {
            *idx = k;
            return LVAT_OK;
        }
    }
    p = lvat_realloc(*c->slots, (*c->nslots + 1) * sizeof *p);
    if (p == NULL)
        return LVAT_ENOMEM;
    p[*c->nslots] = r;
    *c->slots = p;
    *idx = (*c->nslots)++;
    return LVAT_OK;
}

/* Writes "$<i>.<iface>" or "&<i>" for an object with "@" keys. */
static int
fj_ref(fj_ctx *c, const lvat_json *v)
{
    const lvat_json *kref = NULL, *iface = NULL;
    lvat_buf tmp = LVAT_BUF_INIT;
    lvat_kref r;
    size_t k, idx;
    int rc;

    for (k = 0; k < v->len; k++) {
        const char *key = v->keys[k];
        int n = v->keylens[k] > 40 ? 40 : (int)v->keylens[k];

        /* Compare lengths too: a key may hold a NUL ("@kref\0x"). */
        if (v->keylens[k] == 5 && strcmp(key, "@kref") == 0)
            kref = v->items[k];
        else if (v->keylens[k] == 6 && strcmp(key, "@iface") == 0)
            iface = v->items[k];
        else if (key[0] == '@')
            return fj_fail(c,
                           "unknown key \"%.*s\" (only \"@kref\" and "
                           "\"@iface\" may start with '@')",
                           n, key);
        else
            return fj_fail(c,
                           "a \"@kref\" object cannot have other keys "
                           "(\"%.*s\")",
                           n, key);
    }
    if (kref == NULL)
        return fj_fail(c, "\"@iface\" needs \"@kref\"");
    if (kref->type != LVAT_JSON_STRING ||
        lvat_kref_parse(kref->str, kref->len, &r) != LVAT_OK)
        return fj_fail(c, "\"@kref\" must be a kernel ref like \"ko7\" or "
                          "\"kp3\"");
    if (iface != NULL && iface->type != LVAT_JSON_STRING)
        return fj_fail(c, "\"@iface\" must be a string");
    if (iface != NULL && lvat_kref_is_promise(r))
        return fj_fail(c, "\"@iface\" is only for objects (ko), not promises");
    rc = fj_slot(c, r, &idx);
    if (rc != LVAT_OK)
        return rc;
    lvat_buf_printf(&tmp, "%c%zu", lvat_kref_is_promise(r) ? '&' : '$', idx);
    if (iface != NULL) {
        lvat_buf_putc(&tmp, '.');
        lvat_buf_append(&tmp, iface->str, iface->len);
    }
    rc = tmp.oom ? LVAT_ENOMEM
                 : lvat_json_put_string(c->body, tmp.data, tmp.len);
    lvat_buf_free(&tmp);
    return rc;
}

static int
cmp_member(const void *a, const void *b)
{
    const member *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Writes a record with its keys escaped and sorted bytewise. */
static int
fj_record(fj_ctx *c, const lvat_json *v, int depth)
{
    member *m;
    size_t k;
    int rc = LVAT_OK;

    if (v->len == 0)
        return lvat_buf_puts(c->body, "{}");
    m = lvat_malloc(v->len * sizeof *m);
    if (m == NULL)
        return LVAT_ENOMEM;
    for (k = 0; k < v->len; k++) {
        m[k].key = v->keys[k];
        m[k].len = v->keylens[k];
        m[k].value = v->items[k];
    }
    qsort(m, v->len, sizeof *m, cmp_member);
    lvat_buf_putc(c->body, '{');
    for (k = 0; rc == LVAT_OK && k < v->len; k++) {
        if (k > 0)
            lvat_buf_putc(c->body, ',');
        lvat_sc_put_string(c->body, m[k].key, m[k].len);
        lvat_buf_putc(c->body, ':');
        rc = fj_value(c, m[k].value, depth + 1);
    }
    lvat_buf_putc(c->body, '}');
    lvat_free(m);
    return rc;
}

static int
fj_number(fj_ctx *c, const lvat_json *v)
{
    uint64_t mag;
    size_t at;

    if (v->type == LVAT_JSON_FLOAT) {
        if (!isfinite(v->d))
            return fj_fail(c, "numbers must be finite");
        /* As the vats' encoder writes them: a float stays a float. */
        if (v->d == 0)
            return lvat_buf_puts(c->body, signbit(v->d) ? "-0.0" : "0.0");
        /* An integral float gets a ".0", as the vats' encoder writes it:
         * "3" would reach a vat as the integer 3. */
        at = c->body->len;
        if (lvat_json_put_double(c->body, v->d) == LVAT_OK &&
            strcspn(c->body->data + at, ".e") == c->body->len - at)
            lvat_buf_append(c->body, ".0", 2);
        return c->body->oom ? LVAT_ENOMEM : LVAT_OK;
    }
    mag = v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
    if (mag <= BIGINT_SAFE)
        return lvat_buf_put_i64(c->body, v->i);
    lvat_buf_puts(c->body, v->i < 0 ? "\"-" : "\"+");
    lvat_buf_put_u64(c->body, mag);
    return lvat_buf_putc(c->body, '"');
}

/* The other "@" forms lvat_sc_to_json makes, so its output reads back:
 * {"@bigint": "-12"}, {"@special": "NaN"}, {"@error": msg} and
 * {"@tag": t, "@payload": p}. */
static int
fj_special(fj_ctx *c, const lvat_json *v, int depth)
{
    const char *big = lvat_json_get_str(v, "@bigint");
    const char *special = lvat_json_get_str(v, "@special");
    const char *error = lvat_json_get_str(v, "@error");
    const lvat_json *tag = lvat_json_get(v, "@tag");
    const lvat_json *payload = lvat_json_get(v, "@payload");

    if (big && v->len == 1) {
        int neg = big[0] == '-';
        /* Every vat holds a Lua integer: refused here, at the host's
         * call, a larger one never reaches a vat that cannot take it. */
        uint64_t mag = 0, lim = neg ? UINT64_C(1) << 63 : INT64_MAX;
        for (const char *p = big + neg; *p; p++) {
            if (*p < '0' || *p > '9')
                return fj_fail(c, "\"@bigint\" must be decimal digits");
            if (mag > (lim - (uint64_t)(*p - '0')) / 10)
                return fj_fail(c, "\"@bigint\" %.40s does not fit a 64-bit "
                               "integer (-2^63 .. 2^63-1): vats hold Lua "
                               "integers", big);
            mag = mag * 10 + (uint64_t)(*p - '0');
        }
        if (big[neg] == '\0')
            return fj_fail(c, "\"@bigint\" must be decimal digits");
        /* Written canonically: a vat reads at most 31 characters, so
         * copying the text kept leading zeros that faulted the vat. */
        lvat_buf_puts(c->body, neg && mag != 0 ? "\"-" : "\"+");
        lvat_buf_put_u64(c->body, mag);
        return lvat_buf_putc(c->body, '"');
    }
    if (special && v->len == 1) {
        if (strcmp(special, "NaN") && strcmp(special, "Infinity") &&
            strcmp(special, "-Infinity") && strcmp(special, "undefined"))
            return fj_fail(c, "unknown \"@special\" \"%.20s\"", special);
        lvat_buf_puts(c->body, "\"#");
        lvat_buf_puts(c->body, special);
        return lvat_buf_putc(c->body, '"');
    }
    if (error && v->len == 1) {
        lvat_buf_puts(c->body, "{\"#error\":");
        lvat_sc_put_string(c->body, error, strlen(error));
        return lvat_buf_puts(c->body, ",\"name\":\"Error\"}");
    }
    if (tag && payload && v->len == 2) {
        int rc;
        lvat_buf_puts(c->body, "{\"#tag\":");
        if ((rc = fj_value(c, tag, depth + 1)) != LVAT_OK)
            return rc;
        lvat_buf_puts(c->body, ",\"payload\":");
        if ((rc = fj_value(c, payload, depth + 1)) != LVAT_OK)
            return rc;
        return lvat_buf_putc(c->body, '}');
    }
    return fj_fail(c, "unknown \"@\" object (use \"@kref\", \"@bigint\", "
                      "\"@special\", \"@error\" or \"@tag\"/\"@payload\")");
}

static int
fj_value(fj_ctx *c, const lvat_json *v, int depth)
{
    size_t k;
    int rc = LVAT_OK;

    /* Containers count, as the parser counts them: 128 arrays around a
     * scalar parse, so they convert. */
    if (depth >= LVAT_JSON_MAX_DEPTH && (v->type == LVAT_JSON_ARRAY_BEGIN ||
                                         v->type == LVAT_JSON_OBJECT_BEGIN))
        return fj_fail(c, "nested deeper than %d levels", LVAT_JSON_MAX_DEPTH);
    switch (v->type) {
    case LVAT_JSON_NULL:
        return lvat_buf_puts(c->body, "null");
    case LVAT_JSON_FALSE:
        return lvat_buf_puts(c->body, "false");
    case LVAT_JSON_TRUE:
        return lvat_buf_puts(c->body, "true");
    case LVAT_JSON_INT:
    case LVAT_JSON_FLOAT:
        return fj_number(c, v);
    case LVAT_JSON_STRING:
        return lvat_sc_put_string(c->body, v->str, v->len);
    case LVAT_JSON_ARRAY_BEGIN:
        lvat_buf_putc(c->body, '[');
        for (k = 0; rc == LVAT_OK && k < v->len; k++) {
            if (k > 0)
                lvat_buf_putc(c->body, ',');
            rc = fj_value(c, v->items[k], depth + 1);
        }
        lvat_buf_putc(c->body, ']');
        return rc;
    case LVAT_JSON_OBJECT_BEGIN:
        for (k = 0; !c->plain && k < v->len; k++) {
            if (v->keylens[k] > 0 && v->keys[k][0] == '@')
                return lvat_json_get(v, "@kref") || lvat_json_get(v, "@iface")
                           ? fj_ref(c, v)
                           : fj_special(c, v, depth);
        }
        return fj_record(c, v, depth);
    default:
        return fj_fail(c, "not a JSON value");
    }
}

static int
from_json(fj_ctx *c, const lvat_json *v)
{
    size_t mark = c->body->len, nmark = *c->nslots;
    int rc;

    lvat_buf_putc(c->body, '#');
    rc = fj_value(c, v, 0);
    if (rc == LVAT_OK && c->body->oom)
        rc = LVAT_ENOMEM;
    if (rc != LVAT_OK) {
        /* Leave the caller's body and slot count as they were. */
        c->body->len = mark;
        if (c->body->data != NULL)
            c->body->data[mark] = '\0';
        *c->nslots = nmark;
    }
    return rc;
}

int
lvat_sc_from_json(const lvat_json *v,
                  lvat_buf *body,
                  lvat_kref **slots,
                  size_t *nslots,
                  char *err,
                  size_t errlen)
{
    fj_ctx c = {body, slots, nslots, err, errlen, false};

    return from_json(&c, v);
}

int
lvat_sc_from_data(const lvat_json *v, lvat_buf *body, char *err,
                  size_t errlen)
{
    lvat_kref *slots = NULL;
    size_t nslots = 0;
    fj_ctx c = {body, &slots, &nslots, err, errlen, true};

    return from_json(&c, v);
}

/* ---- Body to plain JSON ---- */

typedef struct tj_ctx {
    const lvat_kref *slots;
    size_t nslots;
    char *err;
    size_t errlen;
} tj_ctx;

static int tj_value(tj_ctx *c, const lvat_json *in, lvat_json **out);

/* Sets obj[key] to a new string; takes nothing. */
static int
set_str(lvat_json *obj, const char *key, const char *s, size_t len)
{
    lvat_json *v = lvat_json_new_str(s, len);

    return v == NULL ? LVAT_ENOMEM : lvat_json_set(obj, key, v);
}

/* A one-member object {key: value-string}, the shape of every "@" form. */
static lvat_json *
tagged_obj(const char *key, const char *s, size_t len)
{
    lvat_json *obj = lvat_json_new(LVAT_JSON_OBJECT_BEGIN);

    if (obj != NULL && set_str(obj, key, s, len) != LVAT_OK) {
        lvat_json_free(obj);
        return NULL;
    }
    return obj;
}

static int
tj_string(tj_ctx *c, const char *s, size_t len, lvat_json **out)
{
    char ref[LVAT_REF_BUFSIZE];
    lvat_json *j = NULL;
    lvat__sc_str d;
    int rc =
        lvat__sc_decode(s, len, c->slots, c->nslots, &d, c->err, c->errlen);

    if (rc != LVAT_OK)
        return rc;
    if (d.kind == 's') {
        j = lvat_json_new_str(d.s, d.len);
    } else if (d.kind == 'b') {
        j = tagged_obj("@bigint", d.s, d.len);
    } else if (d.kind == 'c') {
        j = tagged_obj("@special", d.s, d.len);
    } else {
        j = tagged_obj("@kref", ref, lvat_kref_format(d.kref, ref));
        if (j != NULL && d.has_iface &&
            set_str(j, "@iface", d.s, d.len) != LVAT_OK) {
            lvat_json_free(j);
            j = NULL;
        }
    }
    if (j == NULL)
        return LVAT_ENOMEM;
    *out = j;
    return LVAT_OK;
}

/* Decodes a string that must be plain text (messages, tags, keys). */
static int
tj_text(tj_ctx *c, const lvat_json *in, const char *what, lvat__sc_str *d)
{
    if (in == NULL || in->type != LVAT_JSON_STRING ||
        lvat__sc_decode(in->str, in->len, NULL, 0, d, NULL, 0) != LVAT_OK ||
        d->kind != 's')
        return lvat__sc_fail(c->err, c->errlen, "%s must be a string", what);
    return LVAT_OK;
}

static int
tj_special(tj_ctx *c, const lvat_json *in, lvat_json **out)
{
    const lvat_json *e = lvat_json_get(in, "#error");
    lvat_json *payload = NULL, *j;
    lvat__sc_str d;
    int rc;

    if (e != NULL) {
        rc = tj_text(c, e, "an error's message", &d);
        if (rc != LVAT_OK)
            return rc;
        j = tagged_obj("@error", d.s, d.len);
        if (j == NULL)
            return LVAT_ENOMEM;
        *out = j;
        return LVAT_OK;
    }
    rc = tj_text(c, lvat_json_get(in, "#tag"), "a tag", &d);
    if (rc != LVAT_OK)
        return rc;
    if (lvat_json_get(in, "payload") == NULL)
        return lvat__sc_fail(c->err, c->errlen,
                             "a tagged value needs a payload");
    rc = tj_value(c, lvat_json_get(in, "payload"), &payload);
    if (rc != LVAT_OK)
        return rc;
    j = tagged_obj("@tag", d.s, d.len);
    if (j == NULL) {
        lvat_json_free(payload);
        return LVAT_ENOMEM;
    }
    rc = lvat_json_set(j, "@payload", payload); /* takes payload */
    if (rc != LVAT_OK) {
        lvat_json_free(j);
        return rc;
    }
    *out = j;
    return LVAT_OK;
}

static int
tj_record(tj_ctx *c, const lvat_json *in, lvat_json *obj)
{
    lvat_json *child;
    lvat__sc_str d;
    size_t k;
    int rc;

    for (k = 0; k < in->len; k++) {
        if (lvat__sc_decode(in->keys[k], in->keylens[k], NULL, 0, &d, NULL,
                            0) ||
            d.kind != 's')
            return lvat__sc_fail(c->err, c->errlen,
                                 "record keys must be strings");
        /* "a" and "!a" both decode to "a". */
        if (lvat_json_get_len(obj, d.s, d.len) != NULL)
            return lvat__sc_fail(c->err, c->errlen, "duplicate record key");
        rc = tj_value(c, in->items[k], &child);
        if (rc == LVAT_OK)
            rc = lvat_json_set_len(obj, d.s, d.len, child);
        if (rc != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

static int
tj_value(tj_ctx *c, const lvat_json *in, lvat_json **out)
{
    lvat_json *j, *child;
    size_t k;
    int rc = LVAT_OK;

    if (in->type == LVAT_JSON_STRING)
        return tj_string(c, in->str, in->len, out);
    if (in->type == LVAT_JSON_OBJECT_BEGIN &&
        (lvat_json_get(in, "#error") != NULL ||
         lvat_json_get(in, "#tag") != NULL))
        return tj_special(c, in, out);
    if (in->type != LVAT_JSON_ARRAY_BEGIN && in->type != LVAT_JSON_OBJECT_BEGIN)
        return (*out = lvat_json_clone(in)) != NULL ? LVAT_OK : LVAT_ENOMEM;
    j = lvat_json_new(in->type);
    if (j == NULL)
        return LVAT_ENOMEM;
    if (in->type == LVAT_JSON_OBJECT_BEGIN)
        rc = tj_record(c, in, j);
    for (k = 0; in->type == LVAT_JSON_ARRAY_BEGIN && k < in->len; k++) {
        rc = tj_value(c, in->items[k], &child);
        if (rc == LVAT_OK)
            rc = lvat_json_append(j, child);
        if (rc != LVAT_OK)
            break;
    }
    if (rc != LVAT_OK) {
        lvat_json_free(j);
        return rc;
    }
    *out = j;
    return LVAT_OK;
}

int
lvat_sc_to_json(const char *body,
                size_t len,
                const lvat_kref *slots,
                size_t nslots,
                lvat_json **out,
                char *err,
                size_t errlen)
{
    tj_ctx c = {slots, nslots, err, errlen};
    lvat_json *doc = NULL, *res = NULL;
    int rc;

    if (len == 0 || body[0] != '#')
        return lvat__sc_fail(err, errlen, "a body must start with '#'");
    rc = lvat_json_parse(body + 1, len - 1, true, &doc, err, errlen);
    if (rc != LVAT_OK)
        return rc;
    rc = tj_value(&c, doc, &res);
    lvat_json_free(doc);
    if (rc == LVAT_OK)
        *out = res;
    return rc;
}
