/*
 * Parsing and formatting of kernel refs, vat refs and ids.  Parsers accept
 * only the canonical spelling (no leading zeros, no signs, no spaces), so a
 * ref has exactly one text form and text keys compare equal when refs do.
 */
#include "kref.h"

#include <string.h>

#include "buf.h"
#include "lvat_err.h"

static int
parse_num(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (lvat_parse_u64(s, len, &v) != LVAT_OK || v > max)
        return LVAT_EINVAL;
    *out = v;
    return LVAT_OK;
}

int
lvat_kref_parse(const char *s, size_t len, lvat_kref *out)
{
    uint64_t n;

    if (len < 3 || s[0] != 'k' || (s[1] != 'o' && s[1] != 'p'))
        return LVAT_EINVAL;
    if (parse_num(s + 2, len - 2, LVAT_KREF_NUM_MASK, &n) != LVAT_OK || !n)
        return LVAT_EINVAL;
    *out = s[1] == 'o' ? lvat_kref_object(n) : lvat_kref_promise(n);
    return LVAT_OK;
}

size_t
lvat_kref_format(lvat_kref r, char *buf)
{
    buf[0] = 'k';
    buf[1] = lvat_kref_is_promise(r) ? 'p' : 'o';
    return 2 + lvat_fmt_u64(buf + 2, lvat_kref_num(r));
}

lvat_vref
lvat_vref_durable(uint64_t kind, uint64_t n)
{
    lvat_vref r;

    r.v = LVAT_VREF_EXPORT_BIT | LVAT_VREF_DURABLE_BIT |
          ((kind & LVAT_VREF_DKIND_MAX) << LVAT_VREF_DKIND_SHIFT) |
          (n & LVAT_VREF_DNUM_MASK);
    return r;
}

static int
parse_durable(const char *s, size_t len, lvat_vref *out)
{
    const char *slash = memchr(s, '/', len);
    uint64_t kind, n;

    if (slash == NULL)
        return LVAT_EINVAL;
    if (parse_num(s, (size_t)(slash - s), LVAT_VREF_DKIND_MAX, &kind) ||
        parse_num(slash + 1, len - (size_t)(slash - s) - 1,
                  LVAT_VREF_DNUM_MASK, &n))
        return LVAT_EINVAL;
    *out = lvat_vref_durable(kind, n);
    return LVAT_OK;
}

int
lvat_vref_parse(const char *s, size_t len, lvat_vref *out)
{
    bool promise, export_;
    uint64_t n;

    if (len < 3 || (s[0] != 'o' && s[0] != 'p') || (s[1] != '+' && s[1] != '-'))
        return LVAT_EINVAL;
    promise = s[0] == 'p';
    export_ = s[1] == '+';
    if (s[2] == 'd' && !promise && export_)
        return parse_durable(s + 3, len - 3, out);
    if (parse_num(s + 2, len - 2, LVAT_VREF_NUM_MASK, &n) != LVAT_OK)
        return LVAT_EINVAL;
    /* Only the root o+0 may carry number 0. */
    if (n == 0 && (promise || !export_))
        return LVAT_EINVAL;
    *out = lvat_vref_make(promise, export_, n);
    return LVAT_OK;
}

size_t
lvat_vref_format(lvat_vref r, char *buf)
{
    size_t n;

    buf[0] = lvat_vref_is_promise(r) ? 'p' : 'o';
    buf[1] = lvat_vref_is_export(r) ? '+' : '-';
    if (!lvat_vref_is_durable(r))
        return 2 + lvat_fmt_u64(buf + 2, lvat_vref_num(r));
    buf[2] = 'd';
    n = 3 + lvat_fmt_u64(buf + 3, (r.v >> LVAT_VREF_DKIND_SHIFT) &
                                      LVAT_VREF_DKIND_MAX);
    buf[n++] = '/';
    return n + lvat_fmt_u64(buf + n, r.v & LVAT_VREF_DNUM_MASK);
}

static int
parse_prefixed_id(const char *s, size_t len, const char *prefix, uint32_t *out)
{
    size_t plen = strlen(prefix);
    uint64_t n;

    if (len <= plen || memcmp(s, prefix, plen) != 0)
        return LVAT_EINVAL;
    if (parse_num(s + plen, len - plen, UINT32_MAX, &n) != LVAT_OK || !n)
        return LVAT_EINVAL;
    *out = (uint32_t)n;
    return LVAT_OK;
}

int
lvat_vatid_parse(const char *s, size_t len, uint32_t *out)
{
    return parse_prefixed_id(s, len, "v", out);
}

size_t
lvat_vatid_format(uint32_t vat, char *buf)
{
    if (vat == LVAT_VATID_KERNEL) {
        memcpy(buf, "kernel", 7);
        return 6;
    }
    buf[0] = 'v';
    return 1 + lvat_fmt_u64(buf + 1, vat);
}

int
lvat_subid_parse(const char *s, size_t len, uint32_t *out)
{
    return parse_prefixed_id(s, len, "s", out);
}

/* Not snprintf: a launch formats a few ids, and snprintf took 500
 * instructions each. */
size_t
lvat_subid_format(uint64_t sub, char *buf)
{
    buf[0] = 's';
    return 1 + lvat_fmt_u64(buf + 1, sub);
}
