/*
 * Syscalls that touch only the calling vat: its key/value store (baggage),
 * the GC reports about its imports and exports, its code snapshot and its
 * print output.  The vatstore is read and written directly in the crank's
 * transaction; nothing is loaded when a vat starts.  Also the budget on
 * what a crank's syscalls (these writes, and syscall.c's sends and
 * resolves) hand the kernel to hold.
 */
#include "kernel_int.h"

#include <string.h>

#include "json.h"

static int
active(lvat_syscall *sc)
{
    if (!sc->active)
        return lvat_errbuf_set(sc->err, LVAT_ESTATE,
                               "syscall by %s (v%u) outside a delivery",
                               sc->vat->name, sc->vat->id);
    if (sc->k->crank.failure != LVAT_CRANK_OK)
        return lvat_errbuf_set(sc->err, LVAT_EILLEGAL,
                               "vat %s (v%u) is being stopped", sc->vat->name,
                               sc->vat->id);
    return LVAT_OK;
}

static int
check_key(lvat_syscall *sc, size_t klen)
{
    if (klen > LVAT_VATSTORE_KEY_MAX)
        return lvat_errbuf_set(sc->err, LVAT_EINVAL,
                               "vatstore key of %zu bytes is longer than %d",
                               klen, LVAT_VATSTORE_KEY_MAX);
    return LVAT_OK;
}

static int
store_fault(lvat_syscall *sc, int rc)
{
    lvat__crank_fail(sc->k, LVAT_CRANK_KERNEL, sc->vat->id,
                     "store error during a vatstore syscall of %s (v%u): %s",
                     sc->vat->name, sc->vat->id, lvat_strerror(rc));
    return lvat_errbuf_set(sc->err, LVAT_EILLEGAL, "store error: %s",
                           lvat_strerror(rc));
}

/*
 * What one crank's syscalls hand the kernel to hold until it ends may not
 * pass the vat's memory cap (lvat__syscall_budget checks, this fails).
 * The cap bounds the heap, but what leaves the heap through a syscall
 * stays in the host: a vatstore write in the block overlay until the
 * block commits (45 values of 16 MB in one delivery took the process to
 * 1.5 GB), a message as its run-queue item or parked on a promise, a
 * resolution as the promise's value (40 sends of 1 MiB under a 4 MiB cap
 * were all queued).  Counted: the overlay's own count of the vatstore
 * writes (lvat_kv_crank_bytes, read at each check: a
 * rewrite of a key counts its growth, a delete its record), the text of
 * each item a send queued (crank.sent), the stored form of each value a
 * resolve settles (crank.resolved).  The kernel's own messages
 * (notifies, splats, the bootstrap) are not the vat's and not counted.
 * Past the cap the vat is stopped as a heap past it is (a fault: the
 * crank is undone, its message rejected, the vat restarts from its
 * baggage).  A crank delivers to one vat: the count is this vat's.
 */
int
lvat__syscall_over_budget(lvat_syscall *sc)
{
    const lvat_crank *c = &sc->k->crank;
    size_t wrote = lvat_kv_crank_bytes(sc->k->kv, LVAT_DB_VATSTORE);

    lvat_errbuf_set(sc->err, LVAT_EILLEGAL,
                    "memory limit of %zu bytes exceeded by what one delivery "
                    "sent, resolved and wrote (%zu bytes held until it ends: "
                    "%zu in messages, %zu in resolutions, %zu in vatstore "
                    "writes); raise creationOptions.memoryLimit or spread "
                    "the work over several deliveries",
                    sc->vat->memory_limit, c->sent + c->resolved + wrote,
                    c->sent, c->resolved, wrote);
    lvat__crank_fail(sc->k, LVAT_CRANK_FAULT, sc->vat->id, "%s (v%u) %s",
                     sc->vat->name, sc->vat->id, sc->err->msg);
    return LVAT_EILLEGAL;
}

/* ---- vatstore ---- */

int
lvat_syscall_vatstore_get(lvat_syscall *sc,
                          const char *key,
                          size_t klen,
                          lvat_val *val)
{
    lvat_key k;
    int rc = active(sc);

    if (rc != LVAT_OK || (rc = check_key(sc, klen)) != LVAT_OK)
        return rc;
    lvat_key_vatstore(&k, sc->vat->id, key, klen);
    rc = lvat_kv_get(sc->k->kv, LVAT_DB_VATSTORE, k.b, k.n, val);
    if (rc != LVAT_OK && rc != LVAT_ENOTFOUND)
        return store_fault(sc, rc);
    return rc;
}

int
lvat_syscall_vatstore_set(lvat_syscall *sc,
                          const char *key,
                          size_t klen,
                          const char *val,
                          size_t vlen)
{
    lvat_key k;
    int rc = active(sc);

    if (rc != LVAT_OK || (rc = check_key(sc, klen)) != LVAT_OK)
        return rc;
    lvat_key_vatstore(&k, sc->vat->id, key, klen);
    rc = lvat_kv_put(sc->k->kv, LVAT_DB_VATSTORE, k.b, k.n, val, vlen, 0);
    return rc == LVAT_OK ? lvat__syscall_budget(sc) : store_fault(sc, rc);
}

int
lvat_syscall_vatstore_delete(lvat_syscall *sc, const char *key, size_t klen)
{
    lvat_key k;
    int rc = active(sc);

    if (rc != LVAT_OK || (rc = check_key(sc, klen)) != LVAT_OK)
        return rc;
    lvat_key_vatstore(&k, sc->vat->id, key, klen);
    rc = lvat_kv_del(sc->k->kv, LVAT_DB_VATSTORE, k.b, k.n);
    return rc == LVAT_OK ? lvat__syscall_budget(sc) : store_fault(sc, rc);
}

int
lvat_syscall_vatstore_next(lvat_syscall *sc,
                           const char *after,
                           size_t alen,
                           const char *prefix,
                           size_t plen,
                           lvat_val *key,
                           lvat_val *val)
{
    lvat_key from, pre;
    int rc = active(sc);

    if (rc != LVAT_OK || (rc = check_key(sc, alen)) != LVAT_OK ||
        (rc = check_key(sc, plen)) != LVAT_OK)
        return rc;
    lvat_key_vatstore(&from, sc->vat->id, after, alen);
    lvat_key_vatstore(&pre, sc->vat->id, prefix, plen);
    rc = lvat_kv_next(sc->k->kv, LVAT_DB_VATSTORE, from.b, from.n, false, pre.b,
                      pre.n, key, val);
    if (rc == LVAT_OK) {
        /* Hand back the vat's own key, without "v<N>\0". */
        size_t skip = pre.n - plen;
        key->p += skip;
        key->len -= skip;
    } else if (rc != LVAT_ENOTFOUND) {
        return store_fault(sc, rc);
    }
    return rc;
}

/* ---- GC reports ---- */

typedef enum { DROP_IMPORTS, RETIRE_IMPORTS, RETIRE_EXPORTS } gc_kind;

static int
gc_illegal(lvat_syscall *sc, lvat_vref v, const char *why)
{
    char name[LVAT_REF_BUFSIZE];

    lvat_vref_format(v, name);
    lvat__crank_fail(sc->k, LVAT_CRANK_ILLEGAL, sc->vat->id,
                     "illegal syscall by %s (v%u): %s %s", sc->vat->name,
                     sc->vat->id, name, why);
    return lvat_errbuf_set(sc->err, LVAT_EILLEGAL, "illegal syscall: %s %s",
                           name, why);
}

static int
gc_one(lvat_syscall *sc, gc_kind kind, lvat_vref v)
{
    lvat_kernel *k = sc->k;
    lvat_kref r;
    lvat_vref back;
    bool reach;
    int rc;

    if (lvat_vref_is_promise(v) ||
        lvat_vref_is_export(v) != (kind == RETIRE_EXPORTS))
        return gc_illegal(sc, v,
                          kind == RETIRE_EXPORTS ? "is not an exported object"
                                                 : "is not an imported object");
    rc = lvat__clist_lookup_v(k, sc->vat->id, v, &r);
    if (rc == LVAT_ENOTFOUND)
        return gc_illegal(sc, v, "is not in its c-list");
    if (rc == LVAT_OK)
        rc = lvat__clist_lookup_k(k, sc->vat->id, r, &back, &reach);
    if (rc != LVAT_OK)
        return rc;
    switch (kind) {
    case DROP_IMPORTS:
        return reach ? lvat__clist_drop(k, sc->vat->id, r)
                     : gc_illegal(sc, v, "was already dropped");
    case RETIRE_IMPORTS:
        return reach ? gc_illegal(sc, v, "is retired before it was dropped")
                     : lvat__clist_remove(k, sc->vat->id, r);
    case RETIRE_EXPORTS: {
        lvat_kobj o;
        if ((rc = lvat__ko_get(k, r, &o)) != LVAT_OK)
            return rc;
        if (o.reach != 0)
            return gc_illegal(sc, v, "is retired while still reachable");
        o.orphaned = true;
        rc = o.recog ? lvat__ko_put(k, r, &o) : lvat__ko_delete(k, r);
        return rc == LVAT_OK ? lvat__clist_remove(k, sc->vat->id, r) : rc;
    }
    }
    return LVAT_EINVAL;
}

static int
gc_many(lvat_syscall *sc, gc_kind kind, const lvat_vref *v, size_t n)
{
    int rc = active(sc);

    for (size_t i = 0; i < n && rc == LVAT_OK; i++)
        rc = gc_one(sc, kind, v[i]);
    if (rc != LVAT_OK && rc != LVAT_EILLEGAL && rc != LVAT_ESTATE)
        return store_fault(sc, rc);
    return rc;
}

int
lvat_syscall_drop_imports(lvat_syscall *sc, const lvat_vref *v, size_t n)
{
    return gc_many(sc, DROP_IMPORTS, v, n);
}

int
lvat_syscall_retire_imports(lvat_syscall *sc, const lvat_vref *v, size_t n)
{
    return gc_many(sc, RETIRE_IMPORTS, v, n);
}

int
lvat_syscall_retire_exports(lvat_syscall *sc, const lvat_vref *v, size_t n)
{
    return gc_many(sc, RETIRE_EXPORTS, v, n);
}

/* ---- Runtime services ---- */

const char *
lvat_syscall_errmsg(const lvat_syscall *sc)
{
    return sc->err->msg;
}

int
lvat_syscall_read_module(lvat_syscall *sc,
                         const char *name,
                         lvat_buf *text,
                         lvat_buf *chunkname)
{
    lvat_kernel *k = sc->k;
    lvat_json *rec = NULL;
    const lvat_json *mod;
    const char *hash, *path;
    lvat_key key;
    lvat_val v;
    int rc;

    if (sc->vat->starting_rec == NULL) {
        lvat_key_vat_record(&key, sc->vat->id);
        rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
        if (rc == LVAT_OK)
            rc = lvat_json_parse(v.p, v.len, false, &rec, NULL, 0);
        if (rc != LVAT_OK)
            return rc == LVAT_ENOTFOUND ? LVAT_ESTATE : rc;
    }
    mod = lvat_json_get(
        lvat_json_get(rec ? rec : sc->vat->starting_rec, "modules"), name);
    hash = lvat_json_get_str(mod, "hash");
    path = lvat_json_get_str(mod, "path");
    if (hash == NULL || path == NULL) {
        lvat_json_free(rec);
        return LVAT_ENOTFOUND;
    }
    rc = lvat_kv_get(k->kv, LVAT_DB_SOURCES, hash, strlen(hash), &v);
    if (rc == LVAT_OK) {
        lvat_buf_append(text, v.p, v.len);
        lvat_buf_putc(chunkname, '@');
        lvat_buf_puts(chunkname, path);
        rc = text->oom || chunkname->oom ? LVAT_ENOMEM : LVAT_OK;
    } else if (rc == LVAT_ENOTFOUND) {
        rc = lvat__fail(k, LVAT_ECORRUPT,
                        "source %s of %s (v%u) is missing "
                        "from the store: database may be corrupted",
                        path, sc->vat->name, sc->vat->id);
    }
    lvat_json_free(rec);
    return rc;
}

void
lvat_syscall_log(lvat_syscall *sc, const char *msg, size_t len)
{
    lvat__log(sc->k, LVAT_LOG_INFO, "[%s v%u] %.*s", sc->vat->name, sc->vat->id,
              (int)len, msg);
}
