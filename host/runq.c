/*
 * The run queue: queue.run = "<next read> <next write>", items at
 * queue.run.<N>.  Item text (also used for messages parked on promises):
 *   send    "s <target> <result or ->\n" then capdata's stored form
 *   notify  "n v<N> kp<N>..." (up to LVAT_NOTIFY_MERGE promises)
 *   start   "v v<N>"
 *   knotify "k kp<N>"
 * Sends to an unresolved promise are parked at once, at enqueue time, so
 * messages to one promise are delivered in the order they were sent.  The
 * pointers and the items pushed in the current block are kept in memory
 * until the block is written (runq_block.c).
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* ---- Item text ---- */

int
lvat__item_encode(lvat_buf *b, const lvat_item *it)
{
    char tmp[LVAT_REF_BUFSIZE];

    lvat_buf_putc(b, (char)it->type);
    lvat_buf_putc(b, ' ');
    switch (it->type) {
    case LVAT_ITEM_SEND:
        lvat_buf_append(b, tmp, lvat_kref_format(it->msg.target, tmp));
        lvat_buf_putc(b, ' ');
        if (lvat_kref_is_none(it->msg.result))
            lvat_buf_putc(b, '-');
        else
            lvat_buf_append(b, tmp, lvat_kref_format(it->msg.result, tmp));
        lvat_buf_putc(b, '\n');
        return lvat_capdata_encode(
            b, it->msg.methargs.body, it->msg.methargs.body_len,
            it->msg.methargs.slots, it->msg.methargs.nslots);
    case LVAT_ITEM_NOTIFY:
        lvat_buf_append(b, tmp, lvat_vatid_format(it->vat, tmp));
        lvat_buf_putc(b, ' ');
        lvat_buf_append(b, tmp, lvat_kref_format(it->kp, tmp));
        for (uint32_t i = 0; i < it->nmore; i++) {
            lvat_buf_putc(b, ' ');
            lvat_buf_append(b, tmp, lvat_kref_format(it->more[i], tmp));
        }
        break;
    case LVAT_ITEM_START:
    case LVAT_ITEM_CLEANUP:
        lvat_buf_append(b, tmp, lvat_vatid_format(it->vat, tmp));
        break;
    case LVAT_ITEM_KNOTIFY:
        lvat_buf_append(b, tmp, lvat_kref_format(it->kp, tmp));
        break;
    }
    return b->oom ? LVAT_ENOMEM : LVAT_OK;
}

/* Splits "a b" at the first space. */
static int
two_tokens(const char *p, const char *end, const char **mid)
{
    *mid = memchr(p, ' ', (size_t)(end - p));
    return *mid ? LVAT_OK : LVAT_ECORRUPT;
}

static int
decode_send(const char *p, const char *end, lvat_item *it)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *mid;

    if (nl == NULL || two_tokens(p, nl, &mid) != LVAT_OK)
        return LVAT_ECORRUPT;
    if (lvat_kref_parse(p, (size_t)(mid - p), &it->msg.target) != LVAT_OK)
        return LVAT_ECORRUPT;
    mid++;
    if (nl - mid == 1 && *mid == '-')
        it->msg.result.v = 0;
    else if (lvat_kref_parse(mid, (size_t)(nl - mid), &it->msg.result) ||
             !lvat_kref_is_promise(it->msg.result))
        return LVAT_ECORRUPT;
    return lvat_capdata_decode(nl + 1, (size_t)(end - nl - 1),
                               &it->msg.methargs);
}

/* The promises of a notify item: "kp<N> kp<N>...". */
static int
decode_notified(const char *p, const char *end, lvat_item *it)
{
    lvat_kref kps[LVAT_NOTIFY_MERGE];
    uint32_t n = 0;

    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *e = sp ? sp : end;
        if (n == LVAT_NOTIFY_MERGE ||
            lvat_kref_parse(p, (size_t)(e - p), &kps[n]) != LVAT_OK ||
            !lvat_kref_is_promise(kps[n]))
            return LVAT_ECORRUPT;
        n++;
        p = sp ? sp + 1 : end;
    }
    if (n == 0)
        return LVAT_ECORRUPT;
    it->kp = kps[0];
    if (n > 1) {
        it->more = lvat_malloc((n - 1) * sizeof *it->more);
        if (it->more == NULL)
            return LVAT_ENOMEM;
        memcpy(it->more, kps + 1, (n - 1) * sizeof *it->more);
        it->nmore = n - 1;
    }
    return LVAT_OK;
}

int
lvat__item_decode(const char *p, size_t len, lvat_item *it)
{
    const char *end = p + len, *mid;

    memset(it, 0, sizeof *it);
    if (len < 3 || p[1] != ' ')
        return LVAT_ECORRUPT;
    it->type = (lvat_item_type)p[0];
    p += 2;
    switch (it->type) {
    case LVAT_ITEM_SEND:
        return decode_send(p, end, it);
    case LVAT_ITEM_NOTIFY:
        if (two_tokens(p, end, &mid) ||
            lvat_vatid_parse(p, (size_t)(mid - p), &it->vat))
            return LVAT_ECORRUPT;
        return decode_notified(mid + 1, end, it);
    case LVAT_ITEM_START:
    case LVAT_ITEM_CLEANUP:
        return lvat_vatid_parse(p, (size_t)(end - p), &it->vat) ? LVAT_ECORRUPT
                                                                : LVAT_OK;
    case LVAT_ITEM_KNOTIFY:
        return lvat_kref_parse(p, (size_t)(end - p), &it->kp) ? LVAT_ECORRUPT
                                                              : LVAT_OK;
    }
    return LVAT_ECORRUPT;
}

void
lvat__item_free(lvat_item *it)
{
    lvat_capdata_free_slots(&it->msg.methargs);
    lvat_free(it->more);
    it->more = NULL;
    it->nmore = 0;
}

/* ---- Queue ---- */

/* The pointers and the items pushed in this block are in memory
 * (runq_block.c); older items are in the store. */

int
lvat__runq_write_ptrs(lvat_kernel *k, uint64_t head, uint64_t tail)
{
    uint64_t ptrs[2] = {head, tail};
    char text[2 * 21];
    size_t n = lvat_fmt_u64s(text, ptrs, 2);

    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, "queue.run", 9, text, n, 0);
}

int
lvat__runq_push_encoded(lvat_kernel *k, const lvat_buf *b)
{
    uint64_t head, tail;
    int rc = lvat__runq_ptrs(k, &head, &tail);

    return rc == LVAT_OK ? lvat__runq_append(k, b->data, b->len) : rc;
}

/* The text of item n, from memory or the store (ENOTFOUND: neither). */
static int
item_text(lvat_kernel *k, uint64_t n, lvat_val *v, bool *in_store)
{
    lvat_key key;

    *in_store = !lvat__runq_mem_item(k, n, &v->p, &v->len);
    if (!*in_store)
        return LVAT_OK;
    lvat_key_runq_item(&key, n);
    return lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, v);
}

/*
 * A notify for one promise, queued right behind a notify to the same vat,
 * joins that item: the vat hears both in one crank, in the same order and
 * with nothing delivered between them, so nothing it can see changes.  A
 * loop that sends n messages and then awaits them all takes one notify
 * crank per LVAT_NOTIFY_MERGE answers instead of one per answer.
 */
static int
merge_notify(lvat_kernel *k, const lvat_item *it, bool *merged)
{
    char prefix[LVAT_REF_BUFSIZE + 4], small[LVAT_NOTIFY_MERGE * 24];
    char add[LVAT_REF_BUFSIZE + 1] = " ";
    lvat_buf b = LVAT_BUF_ON(small);
    uint64_t head, tail;
    size_t plen = 2, nkps = 0, alen;
    bool in_store;
    lvat_key key;
    lvat_val v;
    int rc = lvat__runq_ptrs(k, &head, &tail);

    *merged = false;
    if (rc != LVAT_OK || head >= tail)
        return rc;
    if ((rc = item_text(k, tail - 1, &v, &in_store)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND ? LVAT_OK : rc;
    prefix[0] = 'n';
    prefix[1] = ' ';
    plen += lvat_vatid_format(it->vat, prefix + 2);
    prefix[plen++] = ' ';
    if (v.len <= plen || memcmp(v.p, prefix, plen) != 0)
        return LVAT_OK;
    alen = 1 + lvat_kref_format(it->kp, add + 1);
    if (!in_store) {
        /* The block's own item grows in place (its spaces are counted
         * once): a burst of answers costs the same per answer. */
        size_t kps = lvat__runq_mem_spaces(k, tail - 1) - 1; /* "n v1 kp" */
        if (kps >= LVAT_NOTIFY_MERGE)
            return LVAT_OK;
        rc = lvat__runq_mem_extend(k, tail - 1, add, alen);
        *merged = rc == LVAT_OK;
        return rc == LVAT_ESTATE ? LVAT_OK : rc; /* ESTATE: queue it apart */
    }
    for (size_t i = plen; i < v.len; i++)
        nkps += v.p[i] == ' ';
    if (nkps + 1 >= LVAT_NOTIFY_MERGE)
        return LVAT_OK;
    lvat_buf_append(&b, v.p, v.len);
    lvat_buf_append(&b, add, alen);
    lvat_key_runq_item(&key, tail - 1);
    rc = b.oom ? LVAT_ENOMEM
               : lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, b.data,
                             b.len, 0);
    lvat_buf_free(&b);
    *merged = rc == LVAT_OK;
    return rc;
}

int
lvat__runq_push(lvat_kernel *k, const lvat_item *it)
{
    char small[256];
    lvat_buf b = LVAT_BUF_ON(small);
    bool merged = false;
    int rc;

    if (it->type == LVAT_ITEM_NOTIFY && it->nmore == 0 &&
        ((rc = merge_notify(k, it, &merged)) != LVAT_OK || merged))
        return rc;
    small[0] = '\0';
    rc = lvat__item_encode(&b, it);
    if (rc == LVAT_OK)
        rc = lvat__runq_push_encoded(k, &b);
    lvat_buf_free(&b);
    return rc;
}

int
lvat__runq_pop(lvat_kernel *k, lvat_item *it)
{
    uint64_t head, tail;
    bool in_store;
    lvat_key key;
    lvat_val v;
    int rc = lvat__runq_ptrs(k, &head, &tail);

    if (rc != LVAT_OK)
        return rc;
    if (head >= tail)
        return LVAT_ENOTFOUND;
    lvat_key_runq_item(&key, head);
    rc = item_text(k, head, &v, &in_store);
    if (rc == LVAT_ENOTFOUND)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s is missing: database may be "
                          "corrupted",
                          key.b);
    if (rc != LVAT_OK)
        return rc;
    /* The text stays readable until the crank ends (kv.h; runq_block.c
     * keeps its own for the block), so the item's body may point into it. */
    rc = lvat__item_decode(v.p, v.len, it);
    if (rc != LVAT_OK)
        lvat__item_free(it);
    if (rc == LVAT_ECORRUPT)
        return lvat__fail(k, rc,
                          "%s: bad queue item: database may be "
                          "corrupted",
                          key.b);
    if (rc != LVAT_OK)
        return rc;
    if (in_store && (rc = lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b,
                                      key.n)) != LVAT_OK) {
        lvat__item_free(it);
        return rc;
    }
    lvat__runq_popped(k);
    return LVAT_OK;
}

int
lvat__runq_length(lvat_kernel *k, uint64_t *n)
{
    uint64_t head, tail;
    int rc = lvat__runq_ptrs(k, &head, &tail);

    if (rc == LVAT_OK)
        *n = tail > head ? tail - head : 0;
    return rc;
}

/* ---- Sending ---- */

int
lvat__send(lvat_kernel *k, const lvat_msg *m)
{
    size_t held;

    return lvat__send_held(k, m, &held);
}

int
lvat__send_held(lvat_kernel *k, const lvat_msg *m, size_t *held)
{
    char small[512];
    lvat_buf b = LVAT_BUF_ON(small);
    lvat_item it;
    lvat_kprom p;
    lvat_kref final;
    int rc;

    small[0] = '\0';
    memset(&it, 0, sizeof it);
    it.type = LVAT_ITEM_SEND;
    it.msg = *m;
    if ((rc = lvat__ref_inc(k, m->target, true)) != LVAT_OK ||
        (rc = lvat__ref_inc(k, m->result, true)) != LVAT_OK ||
        (rc = lvat__refs_inc(k, m->methargs.slots, m->methargs.nslots,
                                   (lvat_kref){0})) ||
        (rc = lvat__item_encode(&b, &it)) != LVAT_OK)
        goto done;
    if (!lvat_kref_is_promise(m->target)) {
        rc = lvat__runq_push_encoded(k, &b);
        goto done;
    }
    rc = lvat__kp_follow(k, m->target, &final, &p);
    if (rc == LVAT_OK) {
        rc = p.state == 'u' ? lvat__kp_park(k, final, &p, &b)
                            : lvat__runq_push_encoded(k, &b);
        lvat__kp_release(&p);
    } else if (rc == LVAT_ENOTFOUND) {
        rc = lvat__runq_push_encoded(k, &b); /* the router will splat it */
    }
done:
    *held = b.len;
    lvat_buf_free(&b);
    return rc;
}
