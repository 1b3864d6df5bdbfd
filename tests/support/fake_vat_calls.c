/*
 * The fake vat's helpers for handlers (fake_vat.h): reading a message's
 * arguments and making syscalls on behalf of the running instance.
 */
#define _GNU_SOURCE /* vasprintf */
#include "lvat_test.h"

#include "fake_vat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smallcaps.h"

/* ---- Arguments ---- */

size_t
fv_nargs(const fv_call *c)
{
    return c->args ? c->args->len : 0;
}

const lvat_json *
fv__arg(const fv_call *c, size_t i)
{
    return i < fv_nargs(c) ? c->args->items[i] : NULL;
}

const char *
fv_arg_str(const fv_call *c, size_t i)
{
    const lvat_json *a = fv__arg(c, i);

    if (a == NULL || a->type != LVAT_JSON_STRING)
        return NULL;
    return a->str[0] == '!' ? a->str + 1 : a->str;
}

int64_t
fv_arg_int(const fv_call *c, size_t i)
{
    const lvat_json *a = fv__arg(c, i);

    assert_non_null(a);
    assert_int_equal(a->type, LVAT_JSON_INT);
    return a->i;
}

lvat_vref
fv__slot_of(const fv_call *c, const char *s)
{
    char *end;
    unsigned long n;

    if (s == NULL || (s[0] != '$' && s[0] != '&'))
        return (lvat_vref){0};
    n = strtoul(s + 1, &end, 10);
    if (end == s + 1 || n >= c->nslots)
        return (lvat_vref){0};
    return c->slots[n];
}

lvat_vref
fv_arg_ref(const fv_call *c, size_t i)
{
    const lvat_json *a = fv__arg(c, i);

    return a && a->type == LVAT_JSON_STRING ? fv__slot_of(c, a->str)
                                            : (lvat_vref){0};
}

/* ---- Syscall helpers ---- */

const char *
fv_fmt(fv_call *c, const char *fmt, ...)
{
    fv_vat *v = c->vat;
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    assert_true(vasprintf(&s, fmt, ap) >= 0);
    va_end(ap);
    v->scratch = realloc(v->scratch, (v->nscratch + 1) * sizeof *v->scratch);
    assert_non_null(v->scratch);
    v->scratch[v->nscratch++] = s;
    return s;
}

int
fv_send(fv_call *c,
        lvat_vref target,
        const char *body,
        const lvat_vref *slots,
        size_t nslots,
        lvat_vref *result)
{
    lvat_vcapdata cd = {body, strlen(body), slots, nslots};
    lvat_vref r = {0};

    if (result != NULL)
        *result = r = fv_new_promise(c->vat);
    return lvat_syscall_send(c->vat->sys, target, &cd, r);
}

int
fv_resolve(fv_call *c,
           lvat_vref vpid,
           bool rejected,
           const char *body,
           const lvat_vref *slots,
           size_t nslots)
{
    lvat_resolution res;

    res.vpid = vpid;
    res.rejected = rejected;
    res.data.body = body;
    res.data.body_len = strlen(body);
    res.data.slots = slots;
    res.data.nslots = nslots;
    return lvat_syscall_resolve(c->vat->sys, &res, 1);
}

int
fv_resolve_cd(fv_call *c,
              lvat_vref vpid,
              bool rejected,
              const lvat_vcapdata *data)
{
    lvat_resolution res;

    res.vpid = vpid;
    res.rejected = rejected;
    res.data = *data;
    return lvat_syscall_resolve(c->vat->sys, &res, 1);
}

int
fv_return(fv_call *c, const char *body)
{
    return fv_resolve(c, c->result, false, body, NULL, 0);
}

int
fv_return_ref(fv_call *c, lvat_vref r)
{
    return fv_resolve(c, c->result, false, "#\"$0.Alleged: thing\"", &r, 1);
}

int
fv_raise(fv_call *c, const char *msg)
{
    lvat_buf b = LVAT_BUF_INIT;
    int rc;

    rc = lvat_sc_error_body(&b, msg, strlen(msg));
    if (rc == LVAT_ENOMEM) { /* allocation-failure tests */
        lvat_buf_free(&b);
        return fv_fail(c, LVAT_ENOMEM, "out of memory");
    }
    assert_int_equal(rc, LVAT_OK);
    rc = fv_resolve(c, c->result, true, b.data, NULL, 0);
    lvat_buf_free(&b);
    return rc;
}

int
fv_subscribe(fv_call *c, lvat_vref vpid)
{
    return lvat_syscall_subscribe(c->vat->sys, vpid);
}

int
fv_fail(fv_call *c, int code, const char *fmt, ...)
{
    va_list ap;

    c->err->code = code;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return code;
}

lvat_vref
fv_vref(const char *text)
{
    lvat_vref r;

    assert_int_equal(lvat_vref_parse(text, strlen(text), &r), LVAT_OK);
    return r;
}

const char *
fv_vstr(lvat_vref r)
{
    static char bufs[8][LVAT_REF_BUFSIZE];
    static unsigned next;
    char *b = bufs[next++ % 8];

    if (lvat_vref_is_none(r))
        strcpy(b, "none");
    else
        b[lvat_vref_format(r, b)] = '\0';
    return b;
}

bool
fv_body_is(const lvat_vcapdata *d, const char *text)
{
    return d->body_len == strlen(text) &&
           memcmp(d->body, text, d->body_len) == 0;
}
