/*
 * The fake vat runtime (fake_vat.h): scripts keyed by vat name, instances
 * the kernel creates and destroys, methargs parsing and dispatch, and the
 * delivery log; the helpers handlers call live in fake_vat_calls.c.  It is
 * test code: it allocates with malloc and fails the running test on its
 * own errors.
 */
#define _GNU_SOURCE /* vasprintf */
#include "lvat_test.h"

#include "fake_vat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smallcaps.h"

/* ---- Small helpers ---- */

static char *
xstrdup(const char *s)
{
    char *p = strdup(s);

    assert_non_null(p);
    return p;
}

static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    assert_non_null(p);
    return p;
}

static void logf_(fv_world *w, const char *fmt, ...) LVAT_PRINTF(2, 3);

static void
logf_(fv_world *w, const char *fmt, ...)
{
    va_list ap;
    char *line = NULL;

    va_start(ap, fmt);
    assert_true(vasprintf(&line, fmt, ap) >= 0);
    va_end(ap);
    w->log = xrealloc(w->log, (w->nlog + 1) * sizeof *w->log);
    w->log[w->nlog++] = line;
}

static fv_script *
script(fv_world *w, const char *name)
{
    fv_script *s;

    for (size_t i = 0; i < w->ns; i++)
        if (strcmp(w->s[i]->name, name) == 0)
            return w->s[i];
    s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->name = xstrdup(name);
    w->s = xrealloc(w->s, (w->ns + 1) * sizeof *w->s);
    w->s[w->ns++] = s;
    return s;
}

static void
add_handler(fv_world *w,
            const char *vat,
            const char *method,
            fv_fn fn,
            void *ud)
{
    fv_script *s = script(w, vat);

    s->h = xrealloc(s->h, (s->nh + 1) * sizeof *s->h);
    s->h[s->nh].method = method ? xstrdup(method) : NULL;
    s->h[s->nh].fn = fn;
    s->h[s->nh].ud = ud;
    s->nh++;
}

/* The latest handler registered for `method` (NULL: START). */
static fv_handler *
find_handler(fv_script *s, const char *method)
{
    for (size_t i = s->nh; i-- > 0;) {
        const char *m = s->h[i].method;
        if ((m == NULL && method == NULL) ||
            (m != NULL && method != NULL && strcmp(m, method) == 0))
            return &s->h[i];
    }
    return NULL;
}

/* ---- World ---- */

fv_world *
fv_world_new(void)
{
    fv_world *w = calloc(1, sizeof *w);

    assert_non_null(w);
    return w;
}

void
fv_world_free(fv_world *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->ns; i++) {
        for (size_t j = 0; j < w->s[i]->nh; j++)
            free(w->s[i]->h[j].method);
        free(w->s[i]->h);
        free(w->s[i]->name);
        free(w->s[i]);
    }
    free(w->s);
    fv_log_clear(w);
    free(w);
}

void
fv_on(fv_world *w, const char *vat, const char *method, fv_fn fn, void *ud)
{
    add_handler(w, vat, method, fn, ud);
}

void
fv_on_start(fv_world *w, const char *vat, fv_fn fn, void *ud)
{
    add_handler(w, vat, NULL, fn, ud);
}

void
fv_on_notify(fv_world *w, const char *vat, fv_fn fn, void *ud)
{
    add_handler(w, vat, "", fn, ud);
}

const fv_stats *
fv_stats_of(fv_world *w, const char *vat)
{
    return &script(w, vat)->st;
}

unsigned
fv_live(const fv_world *w)
{
    return w->live;
}

/* ---- Log ---- */

size_t
fv_log_len(const fv_world *w)
{
    return w->nlog;
}

const char *
fv_log_at(const fv_world *w, size_t i)
{
    return i < w->nlog ? w->log[i] : NULL;
}

long
fv_log_find(const fv_world *w, const char *prefix, size_t from)
{
    for (size_t i = from; i < w->nlog; i++)
        if (strncmp(w->log[i], prefix, strlen(prefix)) == 0)
            return (long)i;
    return -1;
}

size_t
fv_log_count(const fv_world *w, const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < w->nlog; i++)
        n += strncmp(w->log[i], prefix, strlen(prefix)) == 0;
    return n;
}

void
fv_log_clear(fv_world *w)
{
    for (size_t i = 0; i < w->nlog; i++)
        free(w->log[i]);
    free(w->log);
    w->log = NULL;
    w->nlog = 0;
}

void
fv_log_dump(const fv_world *w)
{
    for (size_t i = 0; i < w->nlog; i++)
        fprintf(stderr, "  fv[%zu] %s\n", i, w->log[i]);
}

/* ---- Instances ---- */

const char *
fv_name(const fv_vat *v)
{
    return v->s->name;
}

uint32_t
fv_id(const fv_vat *v)
{
    return v->id;
}

lvat_syscall *
fv_sys(const fv_vat *v)
{
    return v->sys;
}

lvat_vref
fv_new_object(fv_vat *v)
{
    return lvat_vref_make(false, true, v->next_o++);
}

lvat_vref
fv_new_promise(fv_vat *v)
{
    return lvat_vref_make(true, true, v->next_p++);
}

void
fv_keep(fv_vat *v, const char *name, lvat_vref r)
{
    for (size_t i = 0; i < v->nkept; i++) {
        if (strcmp(v->kept[i].name, name) == 0) {
            v->kept[i].r = r;
            return;
        }
    }
    assert_true(v->nkept < MAX_KEPT);
    v->kept[v->nkept].name = xstrdup(name);
    v->kept[v->nkept++].r = r;
}

lvat_vref
fv_kept(const fv_vat *v, const char *name)
{
    for (size_t i = 0; i < v->nkept; i++)
        if (strcmp(v->kept[i].name, name) == 0)
            return v->kept[i].r;
    return (lvat_vref){0};
}

bool
fv_has(const fv_vat *v, const char *name)
{
    for (size_t i = 0; i < v->nkept; i++)
        if (strcmp(v->kept[i].name, name) == 0)
            return true;
    return false;
}

static int
op_create(void *ud, const lvat_vat_spec *spec, void **out, lvat_errbuf *err)
{
    fv_world *w = ud;
    fv_vat *v = calloc(1, sizeof *v);

    LVAT_UNUSED(err);
    assert_non_null(v);
    v->w = w;
    v->s = script(w, spec->name);
    v->id = spec->id;
    v->sys = spec->sys;
    v->next_o = v->next_p = 1;
    v->s->st.id = spec->id;
    v->s->st.creates++;
    w->live++;
    *out = v;
    return LVAT_OK;
}

static void
op_destroy(void *vat)
{
    fv_vat *v = vat;

    logf_(v->w, "destroy %s", v->s->name);
    v->s->st.destroys++;
    v->w->live--;
    for (size_t i = 0; i < v->nkept; i++)
        free(v->kept[i].name);
    free(v);
}

static size_t
op_memory(void *vat)
{
    LVAT_UNUSED(vat);
    return sizeof(fv_vat);
}

/* ---- Deliveries ---- */

/* Every bootstrap keeps the roots it is given, before any handler. */
static void
keep_roots(fv_call *c)
{
    const lvat_json *vats = fv__arg(c, 0);

    for (size_t i = 0;
         vats && vats->type == LVAT_JSON_OBJECT_BEGIN && i < vats->len; i++) {
        char name[160];
        snprintf(name, sizeof name, "vats.%s", vats->keys[i]);
        fv_keep(c->vat, name, fv__slot_of(c, vats->items[i]->str));
    }
}

static int
run(fv_call *c, fv_handler *h)
{
    int rc = h->fn(c, h->ud);

    return rc == LVAT_EILLEGAL ? LVAT_OK : rc;
}

static int
deliver_message(fv_vat *v, fv_call *c)
{
    const lvat_delivery *d = c->d;
    lvat_json *ma = NULL;
    fv_handler *h;
    int rc;

    assert_true(d->methargs.body_len > 0 && d->methargs.body[0] == '#');
    rc = lvat_json_parse(d->methargs.body + 1, d->methargs.body_len - 1, true,
                         &ma, NULL, 0);
    if (rc == LVAT_ENOMEM) /* allocation-failure tests */
        return fv_fail(c, LVAT_ENOMEM, "fake vat %s: out of memory",
                       v->s->name);
    assert_int_equal(rc, LVAT_OK);
    assert_true(lvat_json_is_array(ma) && ma->len == 2);
    c->method = ma->items[0]->str;
    if (c->method[0] == '!')
        c->method++;
    c->args = ma->items[1];
    c->target = d->target;
    c->result = d->result;
    c->slots = d->methargs.slots;
    c->nslots = d->methargs.nslots;
    v->s->st.messages++;
    logf_(v->w, "msg %s %s", v->s->name, c->method);
    if (strcmp(c->method, "bootstrap") == 0)
        keep_roots(c);
    h = find_handler(v->s, c->method);
    if (h != NULL)
        rc = run(c, h);
    else if (strcmp(c->method, "bootstrap") == 0)
        rc = lvat_vref_is_none(c->result) ? LVAT_OK : fv_return(c, "#null");
    else if (!lvat_vref_is_none(c->result))
        rc = fv_raise(c, fv_fmt(c, "no method %s", c->method));
    else
        rc = LVAT_OK;
    lvat_json_free(ma);
    return rc == LVAT_EILLEGAL ? LVAT_OK : rc;
}

static int
deliver_notify(fv_vat *v, fv_call *c)
{
    const lvat_delivery *d = c->d;
    fv_handler *h;

    v->s->st.notifies++;
    for (size_t i = 0; i < d->nresolutions; i++) {
        const lvat_resolution *r = &d->resolutions[i];
        v->s->st.resolutions++;
        logf_(v->w, "notify %s %s %c %.*s", v->s->name, fv_vstr(r->vpid),
              r->rejected ? 'r' : 'f', (int)r->data.body_len, r->data.body);
    }
    h = find_handler(v->s, "");
    return h ? run(c, h) : LVAT_OK;
}

static int
deliver_start(fv_vat *v, fv_call *c)
{
    const lvat_delivery *d = c->d;
    fv_handler *h;

    v->next_o = d->next_export_object;
    v->next_p = d->next_export_promise;
    assert_true(v->next_o >= 1 && v->next_p >= 1);
    v->s->st.starts++;
    v->s->st.incarnation = d->incarnation;
    v->s->st.first_object = d->next_export_object;
    logf_(v->w, "start %s v%u %u", v->s->name, v->id, d->incarnation);
    h = find_handler(v->s, NULL);
    return h ? run(c, h) : LVAT_OK;
}

static void
log_vrefs(fv_vat *v, const char *what, const lvat_delivery *d)
{
    for (size_t i = 0; i < d->nvrefs; i++)
        logf_(v->w, "%s %s %s", what, v->s->name, fv_vstr(d->vrefs[i]));
}

/* GC deliveries are logged, then run the "@drop", "@retire" or
 * "@rimport" handler if the script has one. */
static int
deliver_gc(fv_vat *v, fv_call *c, const char *what, unsigned *count)
{
    char method[16];
    fv_handler *h;

    *count += (unsigned)c->d->nvrefs;
    log_vrefs(v, what, c->d);
    snprintf(method, sizeof method, "@%s", what);
    h = find_handler(v->s, method);
    return h ? run(c, h) : LVAT_OK;
}

static int
op_deliver(void *vat, const lvat_delivery *d, lvat_errbuf *err)
{
    fv_vat *v = vat;
    fv_call c;
    int rc = LVAT_OK;

    memset(&c, 0, sizeof c);
    c.vat = v;
    c.d = d;
    c.err = err;
    switch (d->kind) {
    case LVAT_DELIVER_START:
        rc = deliver_start(v, &c);
        break;
    case LVAT_DELIVER_MESSAGE:
        rc = deliver_message(v, &c);
        break;
    case LVAT_DELIVER_NOTIFY:
        rc = deliver_notify(v, &c);
        break;
    case LVAT_DELIVER_DROP_EXPORTS:
        rc = deliver_gc(v, &c, "drop", &v->s->st.drops);
        break;
    case LVAT_DELIVER_RETIRE_EXPORTS:
        rc = deliver_gc(v, &c, "retire", &v->s->st.retires);
        break;
    case LVAT_DELIVER_RETIRE_IMPORTS:
        rc = deliver_gc(v, &c, "rimport", &v->s->st.retire_imports);
        break;
    default:
        break;
    }
    for (size_t i = 0; i < v->nscratch; i++)
        free(v->scratch[i]);
    free(v->scratch);
    v->scratch = NULL;
    v->nscratch = 0;
    return rc;
}

static const lvat_vat_ops fake_ops = {op_create, op_deliver, op_destroy,
                                      op_memory};

const lvat_vat_ops *
fv_ops(void)
{
    return &fake_ops;
}
