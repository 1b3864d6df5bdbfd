/*
 * SHA-256 (FIPS 180-4) for content-addressing vat sources.  Not used for
 * anything secret; it only names a file's text in the `sources` table.
 */
#ifndef LVAT_SHA256_H
#define LVAT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LVAT_SHA256_HEX_LEN 64

typedef struct lvat_sha256 {
    uint32_t h[8];
    uint64_t total;
    unsigned char block[64];
    size_t used;
} lvat_sha256;

void lvat_sha256_init(lvat_sha256 *s);
void lvat_sha256_update(lvat_sha256 *s, const void *data, size_t len);
void lvat_sha256_final(lvat_sha256 *s, unsigned char digest[32]);
/* One call: writes 64 lowercase hex digits and a NUL into `hex`. */
void lvat_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
