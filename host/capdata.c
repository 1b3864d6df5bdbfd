/*
 * The stored form of capdata (see capdata.h).  Only slots are parsed; the
 * body is carried as opaque bytes.
 */
#include "capdata.h"

#include <string.h>

#include "alloc.h"
#include "lvat_err.h"

int
lvat_capdata_encode(lvat_buf *b,
                    const char *body,
                    size_t body_len,
                    const lvat_kref *slots,
                    size_t nslots)
{
    char tmp[LVAT_REF_BUFSIZE];

    for (size_t i = 0; i < nslots; i++) {
        if (i)
            lvat_buf_putc(b, ' ');
        lvat_buf_append(b, tmp, lvat_kref_format(slots[i], tmp));
    }
    lvat_buf_putc(b, '\n');
    lvat_buf_append(b, body, body_len);
    return b->oom ? LVAT_ENOMEM : LVAT_OK;
}

size_t
lvat_capdata_encoded_len(size_t body_len, const lvat_kref *slots, size_t nslots)
{
    char tmp[LVAT_REF_BUFSIZE];
    size_t n = body_len + (nslots ? nslots : 1); /* spaces and newline */

    for (size_t i = 0; i < nslots; i++)
        n += lvat_kref_format(slots[i], tmp);
    return n;
}

int
lvat_krefs_parse(const char *p, const char *end, lvat_kref *out, size_t max)
{
    size_t n = 0;

    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *tok_end = sp ? sp : end;
        if (n == max ||
            lvat_kref_parse(p, (size_t)(tok_end - p), &out[n]) != LVAT_OK)
            return -1;
        n++;
        p = sp ? sp + 1 : end;
    }
    return (int)n;
}

int
lvat_capdata_decode(const char *p, size_t len, lvat_capdata *out)
{
    const char *nl = memchr(p, '\n', len);
    size_t nslots = 0;
    int got;

    memset(out, 0, sizeof *out);
    if (nl == NULL)
        return LVAT_ECORRUPT;
    for (const char *q = p; q < nl; q++)
        nslots += *q == ' ';
    if (nl > p)
        nslots++;
    if (nslots) {
        out->slots = lvat_malloc(nslots * sizeof *out->slots);
        if (out->slots == NULL)
            return LVAT_ENOMEM;
        got = lvat_krefs_parse(p, nl, out->slots, nslots);
        if (got != (int)nslots) {
            lvat_capdata_free_slots(out);
            return LVAT_ECORRUPT;
        }
    }
    out->nslots = nslots;
    out->body = nl + 1;
    out->body_len = len - (size_t)(nl + 1 - p);
    return LVAT_OK;
}

void
lvat_capdata_free_slots(lvat_capdata *c)
{
    lvat_free(c->slots);
    memset(c, 0, sizeof *c);
}
