/*
 * Kernel services: objects the kernel itself owns.  A service's object is
 * pinned and named in the store (kernelService.<name> -> ko, and
 * svc.<ko> -> what answers it), so its kref stays the same across
 * restarts.  The kernel facets answer inside the crank (facet.c); host
 * services registered from C are called after their block commits (output
 * validity), unless declared side-effect free, and their answers come back
 * as host input.  A message never blocks its crank.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

/* ---- Registry (this process) ---- */

typedef struct lvat_service {
    char *name;
    lvat_service_fn fn;
    void *ud;
    unsigned flags;
    struct lvat_service *next;
} lvat_service;

static lvat_service *
find_service(lvat_kernel *k, const char *name)
{
    for (lvat_service *s = k->services; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

void
lvat__services_free(lvat_kernel *k)
{
    while (k->services) {
        lvat_service *s = k->services;
        k->services = s->next;
        lvat_free(s->name);
        lvat_free(s);
    }
}

/* ---- Objects ---- */

/* A new pinned kernel object answered by `who` ("facet s3", "host clock"). */
int
lvat__service_object(lvat_kernel *k, const char *who, lvat_kref *out)
{
    lvat_key key;
    int rc = lvat__ko_new(k, LVAT_VATID_KERNEL, out);

    if (rc == LVAT_OK)
        rc = lvat__ref_inc(k, *out, true); /* the pin */
    if (rc != LVAT_OK)
        return rc;
    lvat_key_lit(&key, "svc.");
    lvat_key_add_kref(&key, *out);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, who, strlen(who),
                       LVAT_KV_NEW);
}

int
lvat__service_kref(lvat_kernel *k, const char *name, lvat_kref *out)
{
    lvat_key key;
    lvat_val v;
    int rc;

    lvat_key_lit(&key, "kernelService.");
    lvat_key_add_str(&key, name);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    return lvat_kref_parse(v.p, v.len, out) == LVAT_OK ? LVAT_OK
                                                        : LVAT_ECORRUPT;
}

bool
lvat__service_system_only(lvat_kernel *k, const char *name)
{
    lvat_service *s;

    if (strcmp(name, "kernelFacet") == 0)
        return true;
    s = find_service(k, name);
    return s != NULL && (s->flags & LVAT_SERVICE_SYSTEM_ONLY);
}

/* Registers the name's object once, in a crank of its own. */
static int
persist_service(lvat_kernel *k, const char *name)
{
    char who[300];
    lvat_kref kref;
    lvat_key key;
    char text[LVAT_REF_BUFSIZE];
    int rc;

    if (lvat__service_kref(k, name, &kref) == LVAT_OK)
        return LVAT_OK;
    /* Alone in its block: a block too large for the store is redone in
     * smaller ones, and this write would go with it. */
    if ((rc = lvat__kernel_flush(k)) != LVAT_OK)
        return rc;
    snprintf(who, sizeof who, "host %s", name);
    lvat_kv_crank_begin(k->kv);
    k->crank.active = true;
    rc = lvat__service_object(k, who, &kref);
    lvat_key_lit(&key, "kernelService.");
    lvat_key_add_str(&key, name);
    if (rc == LVAT_OK)
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, text,
                         lvat_kref_format(kref, text), LVAT_KV_NEW);
    k->crank.active = false;
    if (rc != LVAT_OK) {
        lvat_kv_crank_abort(k->kv);
        return rc;
    }
    lvat_kv_crank_commit(k->kv);
    return lvat__block_commit(k);
}

int
lvat_kernel_register_service(lvat_kernel *k, const char *name,
                             lvat_service_fn fn, void *ud, unsigned flags)
{
    lvat_service *s;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if (name == NULL || name[0] == '\0' || strlen(name) > 200 ||
        strcmp(name, "kernelFacet") == 0 || fn == NULL)
        return lvat__fail(k, LVAT_EINVAL, "a service needs a name (not "
                          "kernelFacet) and a function");
    if (find_service(k, name) != NULL)
        return lvat__fail(k, LVAT_EEXISTS, "kernel service \"%s\" is already "
                          "registered", name);
    if (k->in_callback || k->crank.active)
        return lvat__fail(k, LVAT_ESTATE, "register services before running "
                          "the kernel, not from a callback");
    if ((rc = persist_service(k, name)) != LVAT_OK)
        return lvat__fail(k, rc, "registering service %s: %s", name,
                          lvat_strerror(rc));
    s = lvat_calloc(1, sizeof *s);
    if (s == NULL || (s->name = lvat_strdup(name)) == NULL) {
        lvat_free(s);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    s->fn = fn;
    s->ud = ud;
    s->flags = flags;
    s->next = k->services;
    k->services = s;
    return LVAT_OK;
}

lvat_service *
lvat__service_find(lvat_kernel *k, const char *name)
{
    return find_service(k, name);
}

bool
lvat__service_pure(const lvat_service *s)
{
    return (s->flags & LVAT_SERVICE_PURE) != 0;
}

void
lvat__service_invoke(lvat_service *s, lvat_call *c)
{
    s->fn(s->ud, c);
}
