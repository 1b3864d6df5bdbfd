/*
 * Growable byte buffers and the decimal helpers every key and record
 * builder uses.  Growth doubles, so appends are amortised O(1).
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "lvat_err.h"

void
lvat_buf_init(lvat_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
    b->borrowed = 0;
}

void
lvat_buf_free(lvat_buf *b)
{
    if (!b->borrowed)
        lvat_free(b->data);
    lvat_buf_init(b);
}

void
lvat_buf_reset(lvat_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

int
lvat_buf_reserve(lvat_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return LVAT_ENOMEM;
    need = b->len + extra + 1;
    if (need < b->len) {
        b->oom = 1;
        return LVAT_ENOMEM;
    }
    if (need <= b->cap)
        return LVAT_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->borrowed) {
        /* Leave the caller's array for the heap. */
        p = lvat_malloc(cap);
        if (p != NULL && b->len)
            memcpy(p, b->data, b->len);
    } else {
        p = lvat_realloc(b->data, cap);
    }
    if (p == NULL) {
        b->oom = 1;
        return LVAT_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    b->borrowed = 0;
    return LVAT_OK;
}

int
lvat__buf_append_slow(lvat_buf *b, const void *p, size_t len)
{
    if (lvat_buf_reserve(b, len) != LVAT_OK)
        return LVAT_ENOMEM;
    if (len)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return LVAT_OK;
}

int
lvat_buf_puts(lvat_buf *b, const char *s)
{
    return lvat_buf_append(b, s, strlen(s));
}

int
lvat_buf_vprintf(lvat_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return LVAT_EINVAL;
    if (lvat_buf_reserve(b, (size_t)n) != LVAT_OK)
        return LVAT_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return LVAT_OK;
}

int
lvat_buf_printf(lvat_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = lvat_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

static const uint64_t pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
    10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
    100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull,
    10000000000000000000ull};

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Digits of v (v >= 10). */
static size_t
count_digits(uint64_t v)
{
    size_t n = 2;

    while (n < 20 && v >= pow10[n])
        n++;
    return n;
}

/* Two digits at a time, from the end, straight into `out`: refs and
 * counters are formatted for nearly every key the kernel touches. */
size_t
lvat_fmt_u64(char *out, uint64_t v)
{
    size_t n;
    char *p;

    /* Vat ids and most counters are small: keys format several per op. */
    if (v < 10) {
        out[0] = (char)('0' + v);
        out[1] = '\0';
        return 1;
    }
    n = count_digits(v);
    p = out + n;
    *p = '\0';
    while (v >= 100) {
        p -= 2;
        memcpy(p, digit_pairs + (v % 100) * 2, 2);
        v /= 100;
    }
    if (v >= 10)
        memcpy(p - 2, digit_pairs + v * 2, 2);
    else
        p[-1] = (char)('0' + v);
    return n;
}

void
lvat_copy_cut(char *out, size_t outlen, const char *s, size_t len)
{
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

size_t
lvat_fmt_u64s(char *out, const uint64_t *v, size_t n)
{
    size_t len = 0;

    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[len++] = ' ';
        len += lvat_fmt_u64(out + len, v[i]);
    }
    return len;
}

int
lvat_parse_u64s(const char *s, size_t len, uint64_t *v, size_t n)
{
    const char *end = s + len;

    for (size_t i = 0; i < n; i++) {
        const char *sp = memchr(s, ' ', (size_t)(end - s));
        const char *e = i + 1 < n ? sp : end;
        if (e == NULL || (i + 1 == n && sp != NULL) ||
            lvat_parse_u64(s, (size_t)(e - s), &v[i]) != LVAT_OK)
            return LVAT_EINVAL;
        s = e + 1;
    }
    return LVAT_OK;
}

/* Formatted in place: no copy (and no bound for the compiler to lose
 * across an inlined append, which LTO builds warned of). */
int
lvat_buf_put_u64(lvat_buf *b, uint64_t v)
{
    if (lvat_buf_reserve(b, 20) != LVAT_OK)
        return LVAT_ENOMEM;
    b->len += lvat_fmt_u64(b->data + b->len, v);
    return LVAT_OK;
}

int
lvat_buf_put_i64(lvat_buf *b, int64_t v)
{
    if (v < 0) {
        if (lvat_buf_putc(b, '-') != LVAT_OK)
            return LVAT_ENOMEM;
        return lvat_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    }
    return lvat_buf_put_u64(b, (uint64_t)v);
}

char *
lvat_buf_take(lvat_buf *b, size_t *len)
{
    char *p;

    if (b->oom)
        return NULL;
    if (b->data == NULL && lvat_buf_reserve(b, 0) != LVAT_OK)
        return NULL;
    if (b->borrowed && lvat_buf_reserve(b, b->cap) != LVAT_OK)
        return NULL; /* hand out heap memory only */
    b->data[b->len] = '\0';
    p = b->data;
    if (len)
        *len = b->len;
    lvat_buf_init(b);
    return p;
}

int
lvat_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return LVAT_EINVAL;
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        /* Only a 20-digit number can overflow: test it exactly there. */
        if (d > 9 || (i == 19 && v > (UINT64_MAX - d) / 10))
            return LVAT_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return LVAT_OK;
}

/* ---- Files ---- */

int
lvat_read_file(const char *path, char **text, size_t *len, lvat_errbuf *err)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    lvat_buf b = LVAT_BUF_INIT;
    char chunk[8192];
    size_t n;

    if (path == NULL)
        return lvat_errbuf_set(err, LVAT_EINVAL, "no file name given");
    if (f == NULL)
        return lvat_errbuf_set(err, LVAT_ECONFIG, "cannot read %s: %s", path,
                               strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > LVAT_MAX_FILE_BYTES) {
            fclose(f);
            lvat_buf_free(&b);
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "%s is larger than %u bytes", path,
                                   LVAT_MAX_FILE_BYTES);
        }
        lvat_buf_append(&b, chunk, n);
    }
    /* A directory, or an I/O error: not an empty file. */
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        lvat_buf_free(&b);
        return lvat_errbuf_set(err, LVAT_ECONFIG, "cannot read %s: %s", path,
                               strerror(e));
    }
    fclose(f);
    *text = lvat_buf_take(&b, len);
    return *text ? LVAT_OK : lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
}
