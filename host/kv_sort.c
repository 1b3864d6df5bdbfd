/*
 * The block's entries in key order, for the commit: LMDB's write cursor
 * then usually finds the next key on the page it is on.  A block of
 * 10,000 cranks holds around 100,000 entries, and a comparison sort of
 * them through qsort's callback was a tenth of a pipelined workload's
 * time; so each entry's db and first 15 key bytes are sorted by bytes
 * (LSD radix, skipping the bytes all entries share), and only entries
 * equal in those 16 bytes are compared in full.
 */
#include "kv_int.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define NDIGITS 16

typedef struct sort_item {
    unsigned char k[NDIGITS]; /* db, then key bytes 0-14, zero-padded */
    lvat_kv_entry *e;
} sort_item;

/* Whether committing e writes anything: a key born and deleted in the
 * block leaves LMDB as it was. */
static bool
leaves_trace(const lvat_kv_entry *e)
{
    return e->val != NULL || !e->base_absent;
}

static int
item_order(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;

    return lvat__kv_entry_cmp(x->e, y->e);
}

/* Sorts v by k (zero padding keeps byte order: a key never sorts after a
 * longer key it starts); tmp holds n items.  The result may end in either
 * array: returns the one it is in. */
static sort_item *
radix_sort(sort_item *v, sort_item *tmp, size_t n, uint32_t (*count)[256])
{
    memset(count, 0, NDIGITS * sizeof *count);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < NDIGITS; d++)
            count[d][v[i].k[d]]++;
    for (int d = NDIGITS - 1; d >= 0; d--) {
        uint32_t pos = 0;
        sort_item *t;
        if (count[d][v[0].k[d]] == n)
            continue; /* every item has this byte */
        for (int b = 0; b < 256; b++) {
            uint32_t c = count[d][b];
            count[d][b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[d][v[i].k[d]]++] = v[i];
        t = v;
        v = tmp;
        tmp = t;
    }
    return v;
}

/* Orders the runs of items equal in their 16 bytes by their whole keys. */
static void
sort_ties(sort_item *v, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i + 1;
        while (j < n && memcmp(v[j].k, v[i].k, NDIGITS) == 0)
            j++;
        if (j - i > 1)
            qsort(v + i, j - i, sizeof *v, item_order);
        i = j;
    }
}

/* The writing entries with their sort bytes, in the order made, into v. */
static size_t
collect(lvat_kv *kv, sort_item *v)
{
    size_t n = 0;

    for (size_t i = 0; i < kv->nmade; i++) {
        lvat_kv_entry *e = kv->made[i];
        if (e == NULL || !leaves_trace(e))
            continue;
        memset(v[n].k, 0, NDIGITS);
        v[n].k[0] = e->db;
        memcpy(v[n].k + 1, e->key,
               e->klen < NDIGITS - 1 ? e->klen : NDIGITS - 1);
        v[n++].e = e;
    }
    return n;
}

size_t
lvat__kv_sorted_writes(lvat_kv *kv, lvat_kv_entry ***out)
{
    size_t cap = kv->count ? kv->count : 1, n = 0;
    lvat_kv_entry **res = lvat_malloc(cap * sizeof *res);
    sort_item *v = NULL, *tmp = NULL, *sorted;
    uint32_t(*count)[256] = NULL;
    lvat_kv_entry *e = NULL;

    *out = res;
    if (res != NULL && kv->indexed) { /* a loop built the ordered index */
        while ((e = lvat__kv_index_succ(kv, e)) != NULL)
            if (leaves_trace(e))
                res[n++] = e;
        return n;
    }
    v = lvat_malloc(cap * sizeof *v);
    tmp = lvat_malloc(cap * sizeof *tmp);
    count = lvat_malloc(NDIGITS * sizeof *count);
    if (res == NULL || v == NULL || tmp == NULL || count == NULL) {
        lvat_free(res);
        *out = NULL;
    } else if ((n = collect(kv, v)) > 0) {
        sorted = radix_sort(v, tmp, n, count);
        sort_ties(sorted, n);
        for (size_t i = 0; i < n; i++)
            res[i] = sorted[i].e;
    }
    lvat_free(v);
    lvat_free(tmp);
    lvat_free(count);
    return n;
}
