/*
 * Shared between smallcaps.c and smallcaps_json.c, not for other modules:
 * decoding one smallcaps string into what it stands for.
 */
#ifndef LVAT_SMALLCAPS_INT_H
#define LVAT_SMALLCAPS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "kref.h"
#include "lvat_util.h"

/* One decoded smallcaps string; pointers borrow the encoded text. */
typedef struct lvat__sc_str {
    char kind;     /* 's' string, 'r' remotable, 'p' promise, 'b' bigint,
                      'c' constant (undefined, NaN, Infinity, -Infinity) */
    const char *s; /* 's': text; 'b': digits, with '-' if negative;
                      'c': the constant's name; 'r': the interface */
    size_t len;
    bool has_iface; /* 'r': "$i.iface" rather than "$i" */
    lvat_kref kref; /* 'r', 'p': the ref in the slot */
} lvat__sc_str;

/*
 * Decodes the encoded string `s` ("!#x", "$0.Foo", "+12", "#NaN", ...);
 * "$i"/"&i" look up slot i in `slots` (borrowed).  Returns LVAT_OK or
 * LVAT_ESYNTAX with a message in `err` (may be NULL).
 */
int lvat__sc_decode(const char *s,
                    size_t len,
                    const lvat_kref *slots,
                    size_t nslots,
                    lvat__sc_str *out,
                    char *err,
                    size_t errlen);

/* Formats a message into `err` (may be NULL) and returns LVAT_ESYNTAX. */
int lvat__sc_fail(char *err, size_t errlen, const char *fmt, ...)
    LVAT_PRINTF(3, 4);

#endif
