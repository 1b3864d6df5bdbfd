/*
 * lvat_buf: a growable byte buffer, always kept NUL-terminated so its
 * contents can be printed.  Appends fail with LVAT_ENOMEM and leave the
 * buffer as it was; once a buffer has failed it stays "failed" (buf->oom)
 * so a long chain of appends can be checked once at the end.
 */
#ifndef LVAT_BUF_H
#define LVAT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lvat_err.h"
#include "lvat_util.h"

typedef struct lvat_buf {
    char *data; /* owned (unless borrowed); NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    int oom;      /* set after the first failed append */
    int borrowed; /* data is the caller's (stack) memory until it grows */
} lvat_buf;

#define LVAT_BUF_INIT {NULL, 0, 0, 0, 0}

/*
 * A buffer that starts in the caller's array (often on the stack) and
 * moves to the heap only if it outgrows it; free it with lvat_buf_free as
 * usual.  `arr` must be an array, not a pointer.
 */
#define LVAT_BUF_ON(arr) {(arr), 0, sizeof(arr), 0, 1}

void lvat_buf_init(lvat_buf *b);
/* Frees the contents; the buffer is empty and reusable afterwards. */
void lvat_buf_free(lvat_buf *b);
/* Empties the buffer but keeps its memory (and clears oom). */
void lvat_buf_reset(lvat_buf *b);
/* Makes room for `extra` more bytes.  Returns LVAT_OK or LVAT_ENOMEM. */
int lvat_buf_reserve(lvat_buf *b, size_t extra);

/* The out-of-line halves of the appends below. */
int lvat__buf_append_slow(lvat_buf *b, const void *p, size_t len);

/* Appends (inline when the bytes fit: the kernel formats every record
 * and key through these). */
static inline int
lvat_buf_append(lvat_buf *b, const void *p, size_t len)
{
    if (b->len + len < b->cap && !b->oom) {
        if (len)
            memcpy(b->data + b->len, p, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    return lvat__buf_append_slow(b, p, len);
}

static inline int
lvat_buf_putc(lvat_buf *b, char c)
{
    if (b->len + 1 < b->cap && !b->oom) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return lvat__buf_append_slow(b, &c, 1);
}

int lvat_buf_puts(lvat_buf *b, const char *s);
int lvat_buf_printf(lvat_buf *b, const char *fmt, ...) LVAT_PRINTF(2, 3);
int lvat_buf_vprintf(lvat_buf *b, const char *fmt, va_list ap);
int lvat_buf_put_u64(lvat_buf *b, uint64_t v);
int lvat_buf_put_i64(lvat_buf *b, int64_t v);

/*
 * Takes the contents: returns the owned, NUL-terminated data (an empty
 * string if the buffer was empty) and leaves `b` empty.  NULL on OOM.
 */
char *lvat_buf_take(lvat_buf *b, size_t *len);

/* Formats `v` in decimal into `out` (at least 21 bytes); returns length. */
size_t lvat_fmt_u64(char *out, uint64_t v);
/* Copies len bytes of s into out (outlen > 0 bytes), cut to fit, and
 * ends it with a NUL: snprintf's "%.*s" at a tenth of the cost. */
void lvat_copy_cut(char *out, size_t outlen, const char *s, size_t len);

/*
 * Parses a canonical unsigned decimal (no sign, no leading zeros unless the
 * number is 0) of exactly `len` bytes.  Returns LVAT_OK or LVAT_EINVAL.
 */
int lvat_parse_u64(const char *s, size_t len, uint64_t *out);
/* n numbers separated by single spaces (records like "3 7 1 9"); out needs
 * 21 * n bytes.  Returns the length written (no NUL). */
size_t lvat_fmt_u64s(char *out, const uint64_t *v, size_t n);
/* Parses exactly n space-separated numbers; LVAT_EINVAL otherwise. */
int lvat_parse_u64s(const char *s, size_t len, uint64_t *v, size_t n);

/* Files a luavat reads whole (configs, vat sources) are at most this. */
#define LVAT_MAX_FILE_BYTES (1u << 20)
/* Reads `path` whole into *text (owned, NUL-terminated); on failure
 * LVAT_ECONFIG ("cannot read PATH: reason", a folder included, or too
 * large) or LVAT_ENOMEM with `err` saying so. */
int lvat_read_file(const char *path, char **text, size_t *len,
                   lvat_errbuf *err);

#endif
