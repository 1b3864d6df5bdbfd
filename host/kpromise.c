/*
 * The kernel promise table.  A record kp<N> reads
 * "<state> <refs> <decider> <subscribers> <qhead> <qtail>", e.g.
 * "u 2 v3 v1,kernel 0 1"; a settled promise keeps its value in kp<N>.v and
 * messages sent to an unresolved one wait in kp<N>.q.<i>.  The decider
 * index v<N>.d.<kp> lets a dying vat's promises be found without a scan.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "smallcaps.h"

#define MAX_CHAIN 10000

/* ---- Record text ---- */

static int
parse_endpoint(const char *p, size_t len, uint32_t *out)
{
    if (len == 1 && p[0] == '-') {
        *out = LVAT_NO_DECIDER;
        return LVAT_OK;
    }
    if (len == 6 && memcmp(p, "kernel", 6) == 0) {
        *out = LVAT_VATID_KERNEL;
        return LVAT_OK;
    }
    return lvat_vatid_parse(p, len, out);
}

static int
parse_subs(lvat_kprom *p, const char *s, size_t len)
{
    size_t n = 1;

    if (len == 1 && s[0] == '-')
        return LVAT_OK;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ',';
    if (n > LVAT_ARRAY_LEN(p->subs_inline)) {
        p->subs = lvat_malloc(n * sizeof *p->subs);
        if (p->subs == NULL)
            return LVAT_ENOMEM;
    }
    for (const char *end = s + len; s < end;) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        const char *e = c ? c : end;
        if (parse_endpoint(s, (size_t)(e - s), &p->subs[p->nsubs]) ||
            p->subs[p->nsubs] == LVAT_NO_DECIDER)
            return LVAT_ECORRUPT;
        p->nsubs++;
        s = c ? c + 1 : end;
    }
    return LVAT_OK;
}

static int
parse_kprom(const char *s, size_t len, lvat_kprom *p)
{
    const char *f[6], *end = s + len;
    size_t fl[6];
    int nf = 0, rc;

    memset(p, 0, sizeof *p);
    p->subs = p->subs_inline;
    while (s <= end && nf < 6) {
        const char *sp = memchr(s, ' ', (size_t)(end - s));
        const char *e = sp ? sp : end;
        f[nf] = s;
        fl[nf++] = (size_t)(e - s);
        s = e + 1;
    }
    if (nf != 6 || fl[0] != 1 ||
        (f[0][0] != 'u' && f[0][0] != 'f' && f[0][0] != 'r'))
        return LVAT_ECORRUPT;
    p->state = f[0][0];
    if (lvat_parse_u64(f[1], fl[1], &p->refs) ||
        parse_endpoint(f[2], fl[2], &p->decider) ||
        lvat_parse_u64(f[4], fl[4], &p->qhead) ||
        lvat_parse_u64(f[5], fl[5], &p->qtail))
        return LVAT_ECORRUPT;
    rc = parse_subs(p, f[3], fl[3]);
    if (rc != LVAT_OK)
        lvat__kp_release(p);
    return rc;
}

static void
put_endpoint(lvat_buf *b, uint32_t ep)
{
    char tmp[LVAT_REF_BUFSIZE];

    if (ep == LVAT_NO_DECIDER)
        lvat_buf_putc(b, '-');
    else
        lvat_buf_append(b, tmp, lvat_vatid_format(ep, tmp));
}

int
lvat__kp_write(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p,
               unsigned flags)
{
    char small[128];
    lvat_buf b = LVAT_BUF_ON(small);
    lvat_key key;
    int rc;

    /* The buffer starts on the stack; lvat_buf grows it onto the heap
     * only for long subscriber lists. */
    b.data[0] = '\0';
    lvat_buf_putc(&b, p->state);
    lvat_buf_putc(&b, ' ');
    lvat_buf_put_u64(&b, p->refs);
    lvat_buf_putc(&b, ' ');
    put_endpoint(&b, p->decider);
    lvat_buf_putc(&b, ' ');
    for (size_t i = 0; i < p->nsubs; i++) {
        if (i)
            lvat_buf_putc(&b, ',');
        put_endpoint(&b, p->subs[i]);
    }
    if (p->nsubs == 0)
        lvat_buf_putc(&b, '-');
    lvat_buf_putc(&b, ' ');
    lvat_buf_put_u64(&b, p->qhead);
    lvat_buf_putc(&b, ' ');
    lvat_buf_put_u64(&b, p->qtail);
    lvat_key_kref(&key, kp);
    rc = b.oom ? LVAT_ENOMEM
               : lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data, b.len,
                             flags);
    lvat_buf_free(&b);
    return rc;
}

/* Inside a crank the record goes to the crank's cache (kpcache.c). */
static int
put_kprom(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p, unsigned flags)
{
    bool cached;
    int rc = lvat__kpc_store(k, kp, p, true, (flags & LVAT_KV_NEW) != 0,
                             &cached);

    if (rc != LVAT_OK || cached)
        return rc;
    return lvat__kp_write(k, kp, p, flags);
}

/* ---- Records ---- */

void
lvat__kp_release(lvat_kprom *p)
{
    if (p->subs != p->subs_inline)
        lvat_free(p->subs);
    p->subs = p->subs_inline;
    p->nsubs = 0;
}

int
lvat__kp_get(lvat_kernel *k, lvat_kref kp, lvat_kprom *p)
{
    bool cached;
    lvat_key key;
    lvat_val v;
    int rc = lvat__kpc_get(k, kp, p, &cached);

    if (cached)
        return rc;
    lvat_key_kref(&key, kp);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    rc = parse_kprom(v.p, v.len, p);
    if (rc == LVAT_ECORRUPT)
        return lvat__fail(k, rc,
                          "%s: bad promise record: database may be "
                          "corrupted",
                          key.b);
    /* A crank's read is cached for its next (best effort); one between
     * cranks (the host's) is not, or reads alone would grow the cache. */
    if (rc == LVAT_OK && lvat_kv_in_crank(k->kv))
        lvat__kpc_store(k, kp, p, false, false, &cached);
    return rc;
}


int
lvat__kp_put(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p)
{
    return put_kprom(k, kp, p, 0);
}

/* Counts change far more often than anything else in a record: the
 * block's cache changes them in place (kpcache.c). */
int
lvat__kp_add_refs(lvat_kernel *k, lvat_kref kp, int delta, bool *zeroed)
{
    bool done;
    lvat_kprom p;
    int rc;

    *zeroed = false;
    if ((rc = lvat__kpc_add_refs(k, kp, delta, zeroed, &done)) != LVAT_OK ||
        done)
        return rc;
    if ((rc = lvat__kp_get(k, kp, &p)) != LVAT_OK)
        return rc;
    if (delta > 0 || p.refs > 0) {
        p.refs = delta > 0 ? p.refs + 1 : p.refs - 1;
        *zeroed = p.refs == 0;
        rc = lvat__kp_put(k, kp, &p);
    }
    lvat__kp_release(&p);
    return rc;
}

/* Inside a crank run by crank.c the change waits for its end
 * (kpcache.c), where one undone in the same crank never reaches the
 * overlay. */
static int
decider_index(lvat_kernel *k, uint32_t vat, lvat_kref kp, bool add)
{
    lvat_key key;
    bool deferred;
    int rc;

    if (vat == LVAT_NO_DECIDER || vat == LVAT_VATID_KERNEL)
        return LVAT_OK;
    rc = lvat__kpc_index(k, vat, kp, add, &deferred);
    if (rc != LVAT_OK || deferred)
        return rc;
    lvat_key_vat_decider(&key, vat, kp);
    if (add) /* absent from LMDB: see kpcache.c's index_write_back */
        return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, "", 0,
                           LVAT_KV_NEW);
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
}

/* A new unresolved promise decided by `decider`, with `sub` subscribed
 * when `subscribed`. */
static int
new_promise(lvat_kernel *k, uint32_t decider, bool subscribed, uint32_t sub,
            lvat_kref *out)
{
    lvat_kprom p;
    int rc;

    memset(&p, 0, sizeof p);
    p.subs = p.subs_inline;
    p.state = 'u';
    p.decider = decider;
    if (subscribed)
        p.subs[p.nsubs++] = sub;
    rc = lvat__kref_alloc(k, true, out);
    if (rc != LVAT_OK)
        return rc;
    rc = put_kprom(k, *out, &p, LVAT_KV_NEW);
    if (rc == LVAT_OK)
        rc = decider_index(k, decider, *out, true);
    return rc;
}

int
lvat__kp_new(lvat_kernel *k, uint32_t decider, lvat_kref *out)
{
    return new_promise(k, decider, false, 0, out);
}

int
lvat__kp_new_result(lvat_kernel *k, uint32_t sender, lvat_kref *out)
{
    return new_promise(k, LVAT_NO_DECIDER, true, sender, out);
}

int
lvat__kp_set_decider(lvat_kernel *k,
                     lvat_kref kp,
                     lvat_kprom *p,
                     uint32_t decider)
{
    int rc;

    if (p->decider == decider)
        return LVAT_OK;
    rc = decider_index(k, p->decider, kp, false);
    if (rc == LVAT_OK)
        rc = decider_index(k, decider, kp, true);
    p->decider = decider;
    return rc;
}

int
lvat__kp_add_sub(lvat_kprom *p, uint32_t vat)
{
    uint32_t *subs;

    for (size_t i = 0; i < p->nsubs; i++)
        if (p->subs[i] == vat)
            return LVAT_OK;
    if (p->nsubs < LVAT_ARRAY_LEN(p->subs_inline)) {
        p->subs[p->nsubs++] = vat;
        return LVAT_OK;
    }
    subs = lvat_malloc((p->nsubs + 1) * sizeof *subs);
    if (subs == NULL)
        return LVAT_ENOMEM;
    memcpy(subs, p->subs, p->nsubs * sizeof *subs);
    if (p->subs != p->subs_inline)
        lvat_free(p->subs);
    p->subs = subs;
    p->subs[p->nsubs++] = vat;
    return LVAT_OK;
}

/* ---- Values and chains ---- */

int
lvat__kp_value(lvat_kernel *k, lvat_kref kp, lvat_capdata *out)
{
    lvat_key key;
    lvat_val v;
    bool cached;
    int rc = lvat__kpc_get_value(k, kp, &v, &cached);

    /* The key is made only for the store or an error (a cached value,
     * most often, needs neither). */
    if (!cached && rc == LVAT_OK) {
        lvat_key_kp_value(&key, kp);
        rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    }
    if (rc == LVAT_OK)
        rc = lvat_capdata_decode(v.p, v.len, out);
    if (rc == LVAT_ENOTFOUND || rc == LVAT_ECORRUPT) {
        lvat_key_kp_value(&key, kp);
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: settled promise has no "
                          "value: database may be corrupted",
                          key.b);
    }
    return rc;
}

/* True when a value is exactly one promise: body "#\"&0\"" with one slot. */
static bool
is_promise_value(const char *body,
                 size_t blen,
                 const lvat_kref *slots,
                 size_t nslots)
{
    return nslots == 1 && lvat_kref_is_promise(slots[0]) && blen == 5 &&
           memcmp(body, "#\"&0\"", 5) == 0;
}

int
lvat__kp_follow(lvat_kernel *k, lvat_kref kp, lvat_kref *final, lvat_kprom *p)
{
    for (int hops = 0; hops < MAX_CHAIN; hops++) {
        lvat_capdata v;
        bool next;
        int rc = lvat__kp_get(k, kp, p);
        if (rc != LVAT_OK)
            break;
        if (p->state != 'f') {
            *final = kp;
            return LVAT_OK;
        }
        rc = lvat__kp_value(k, kp, &v);
        lvat__kp_release(p);
        if (rc != LVAT_OK)
            return rc;
        next = is_promise_value(v.body, v.body_len, v.slots, v.nslots);
        if (next)
            kp = v.slots[0];
        lvat_capdata_free_slots(&v);
        if (!next)
            break;
    }
    *final = kp;
    return lvat__kp_get(k, kp, p);
}

/* Would fulfilling `kp` to promise `target` close a cycle? */
static int
makes_cycle(lvat_kernel *k, lvat_kref kp, lvat_kref target, bool *cycle)
{
    lvat_kprom p;
    lvat_kref end;
    int rc;

    *cycle = lvat_kref_eq(kp, target);
    if (*cycle)
        return LVAT_OK;
    rc = lvat__kp_follow(k, target, &end, &p);
    if (rc == LVAT_ENOTFOUND)
        return LVAT_OK;
    if (rc != LVAT_OK)
        return rc;
    lvat__kp_release(&p);
    *cycle = lvat_kref_eq(end, kp);
    return LVAT_OK;
}

/* ---- Settling ---- */

static int
notify_subscribers(lvat_kernel *k, lvat_kref kp, const lvat_kprom *p)
{
    for (size_t i = 0; i < p->nsubs; i++) {
        lvat_item it;
        int rc;
        memset(&it, 0, sizeof it);
        it.type = p->subs[i] == LVAT_VATID_KERNEL ? LVAT_ITEM_KNOTIFY
                                                  : LVAT_ITEM_NOTIFY;
        it.vat = p->subs[i];
        it.kp = kp;
        /* The caller counts these references in the record it writes. */
        if ((rc = lvat__runq_push(k, &it)) != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

/*
 * Moves the messages parked on kp.  They go to the run queue, except when
 * kp is fulfilled to a promise whose chain ends unresolved: then they park
 * at once on that last promise, ahead of anything sent to kp from now on
 * (lvat__send parks such sends there directly), so they keep send order.
 */
static int
requeue_parked(lvat_kernel *k, lvat_kref kp, lvat_kprom *p, const lvat_kref *to)
{
    lvat_kprom fp;
    lvat_kref final = {0};
    bool park = false;
    int rc = LVAT_OK;

    memset(&fp, 0, sizeof fp);
    fp.subs = fp.subs_inline;
    if (p->qhead < p->qtail && to != NULL) {
        rc = lvat__kp_follow(k, *to, &final, &fp);
        if (rc == LVAT_ENOTFOUND)
            rc = LVAT_OK;
        else if (rc == LVAT_OK)
            park = fp.state == 'u';
    }
    for (uint64_t i = p->qhead; i < p->qtail && rc == LVAT_OK; i++) {
        lvat_key key;
        lvat_val v;
        lvat_buf b = LVAT_BUF_INIT;

        lvat_key_kp_queue(&key, kp, i);
        rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
        if (rc != LVAT_OK) {
            rc = rc == LVAT_ENOTFOUND ? LVAT_ECORRUPT : rc;
            break;
        }
        b.data = (char *)v.p;
        b.len = v.len;
        rc = park ? lvat__kp_park(k, final, &fp, &b)
                  : lvat__runq_push_encoded(k, &b);
        if (rc == LVAT_OK)
            rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
    }
    lvat__kp_release(&fp);
    if (rc == LVAT_OK)
        p->qhead = p->qtail = 0;
    return rc;
}

static int
store_value(lvat_kernel *k,
            lvat_kref kp,
            const char *body,
            size_t blen,
            const lvat_kref *slots,
            size_t nslots)
{
    char small[256]; /* most values; a longer one grows onto the heap */
    lvat_buf b = LVAT_BUF_ON(small);
    lvat_key key;
    bool cached = false;
    int rc;

    rc = lvat_capdata_encode(&b, body, blen, slots, nslots);
    if (rc == LVAT_OK)
        rc = lvat__kpc_put_value(k, kp, b.data, b.len, &cached);
    if (rc == LVAT_OK && !cached) {
        lvat_key_kp_value(&key, kp);
        rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data, b.len,
                         LVAT_KV_NEW);
    }
    lvat_buf_free(&b);
    if (rc == LVAT_OK)
        rc = lvat__refs_inc(k, slots, nslots, kp);
    return rc;
}

int
lvat__kp_resolve(lvat_kernel *k,
                 lvat_kref kp,
                 bool rejected,
                 const char *body,
                 size_t blen,
                 const lvat_kref *slots,
                 size_t nslots)
{
    lvat_buf err = LVAT_BUF_INIT;
    lvat_kprom p;
    const lvat_kref *to = NULL;
    bool cycle = false;
    int rc;

    if (!rejected && is_promise_value(body, blen, slots, nslots) &&
        (rc = makes_cycle(k, kp, slots[0], &cycle)) != LVAT_OK)
        return rc;
    if (cycle) {
        char name[LVAT_REF_BUFSIZE];
        lvat_buf msg = LVAT_BUF_INIT;
        lvat_kref_format(kp, name);
        lvat_buf_printf(&msg,
                        "[KERNEL:PROMISE_CYCLE] %s was resolved to a "
                        "promise that resolves back to it",
                        name);
        rc = lvat_sc_error_body(&err, msg.data, msg.len);
        lvat_buf_free(&msg);
        if (rc != LVAT_OK)
            goto done;
        body = err.data;
        blen = err.len;
        slots = NULL;
        nslots = 0;
        rejected = true;
    } else if (!rejected && is_promise_value(body, blen, slots, nslots)) {
        to = &slots[0];
    }
    if ((rc = lvat__kp_get(k, kp, &p)) != LVAT_OK)
        goto done;
    if (LVAT_NEVER(p.state != 'u')) {
        rc = LVAT_ESTATE;
    } else if ((rc = store_value(k, kp, body, blen, slots, nslots)) ==
                   LVAT_OK &&
               (rc = lvat__kp_set_decider(k, kp, &p, LVAT_NO_DECIDER)) ==
                   LVAT_OK &&
               (rc = notify_subscribers(k, kp, &p)) == LVAT_OK &&
               (rc = requeue_parked(k, kp, &p, to)) == LVAT_OK) {
        /* The steps above may have counted references to kp itself (a
         * value that names it, a message moved), so settle a fresh copy
         * of the record then. */
        size_t nsubs = p.nsubs;
        bool reread = nslots > 0 || p.qhead < p.qtail;
        lvat__kp_release(&p);
        if (!reread || (rc = lvat__kp_get(k, kp, &p)) == LVAT_OK) {
            lvat__kp_release(&p);
            p.state = rejected ? 'r' : 'f';
            p.decider = LVAT_NO_DECIDER;
            p.refs += nsubs; /* one per notify item queued */
            p.qhead = p.qtail = 0;
            rc = lvat__kp_put(k, kp, &p);
        }
    }
    lvat__kp_release(&p);
done:
    lvat_buf_free(&err);
    return rc;
}

int
lvat__kp_reject_msg(lvat_kernel *k, lvat_kref kp, const char *msg)
{
    lvat_buf b = LVAT_BUF_INIT;
    int rc = lvat_sc_error_body(&b, msg, strlen(msg));

    if (rc == LVAT_OK)
        rc = lvat__kp_resolve(k, kp, true, b.data, b.len, NULL, 0);
    lvat_buf_free(&b);
    return rc;
}

int
lvat__kp_park(lvat_kernel *k,
              lvat_kref kp,
              lvat_kprom *p,
              const lvat_buf *encoded_item)
{
    lvat_key key;
    int rc;

    lvat_key_kp_queue(&key, kp, p->qtail);
    rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, encoded_item->data,
                     encoded_item->len, LVAT_KV_NEW);
    if (rc != LVAT_OK)
        return rc;
    p->qtail++;
    return lvat__kp_put(k, kp, p);
}
