/*
 * Capdata in the kernel: a smallcaps body the kernel routes without
 * reading, plus the krefs its slots name.  The stored form, used by queue
 * entries and promise values, is the slots as text on one line, a newline,
 * then the body: "ko4 kp7\n#[\"hello\",[]]" (no slots: "\n#...").
 */
#ifndef LVAT_CAPDATA_H
#define LVAT_CAPDATA_H

#include <stddef.h>

#include "buf.h"
#include "kref.h"

typedef struct lvat_capdata {
    const char *body; /* borrowed or owned, see the functions below */
    size_t body_len;
    lvat_kref *slots; /* owned by whoever filled the struct */
    size_t nslots;
} lvat_capdata;

/* Appends the stored form of (body, slots) to `b`. */
int lvat_capdata_encode(lvat_buf *b, const char *body, size_t body_len,
                        const lvat_kref *slots, size_t nslots);

/* The length of that stored form, without making it. */
size_t lvat_capdata_encoded_len(size_t body_len, const lvat_kref *slots,
                                size_t nslots);

/*
 * Reads the stored form in [p, p+len).  The body is borrowed from `p`; the
 * slot array is owned by `out` (free with lvat_capdata_free_slots).
 * Returns LVAT_OK, LVAT_ECORRUPT for a malformed record or LVAT_ENOMEM.
 */
int lvat_capdata_decode(const char *p, size_t len, lvat_capdata *out);

/* Frees the slot array and clears the struct (the body is not freed). */
void lvat_capdata_free_slots(lvat_capdata *c);

/* Parses up to `max` space-separated krefs from [p, end); returns count or
 * -1 when a token is not a kref.  Used by record parsers. */
int lvat_krefs_parse(const char *p, const char *end, lvat_kref *out,
                     size_t max);

#endif
