/*
 * SHA-256 as FIPS 180-4 §6.2 gives it: it names vat source files, a few
 * kilobytes each, hashed at every launch.  No allocation, no
 * secrets, so no constant-time care.
 */
#include "sha256.h"

#include <string.h>

/* ---- Constants ---- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- Compression ---- */

static uint32_t
rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void
schedule(const unsigned char *block, uint32_t w[64])
{
    int t;

    for (t = 0; t < 16; t++) {
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
    }
    for (t = 16; t < 64; t++) {
        uint32_t s0 =
            rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 =
            rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);

        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
}

#define BSIG0(x) (rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22))
#define BSIG1(x) (rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25))

/* The working variables a..h stay in registers (an array shifted each
 * round would not): launches hash every file of their config. */
static void
compress(uint32_t h[8], const unsigned char *block)
{
    uint32_t w[64], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4],
                    f = h[5], g = h[6], hh = h[7];

    schedule(block, w);
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + BSIG1(e) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = BSIG0(a) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

/* ---- Public interface ---- */

void
lvat_sha256_init(lvat_sha256 *s)
{
    memcpy(s->h, H0, sizeof s->h);
    s->total = 0;
    s->used = 0;
}

void
lvat_sha256_update(lvat_sha256 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t n;

    s->total += len;
    while (len > 0) {
        if (s->used == 0 && len >= 64) {
            compress(s->h, p);
            p += 64;
            len -= 64;
            continue;
        }
        n = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, n);
        s->used += n;
        p += n;
        len -= n;
        if (s->used == 64) {
            compress(s->h, s->block);
            s->used = 0;
        }
    }
}

void
lvat_sha256_final(lvat_sha256 *s, unsigned char digest[32])
{
    uint64_t bits = s->total * 8;
    int k;

    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        compress(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    for (k = 0; k < 8; k++)
        s->block[56 + k] = (unsigned char)(bits >> (56 - 8 * k));
    compress(s->h, s->block);
    for (k = 0; k < 32; k++)
        digest[k] = (unsigned char)(s->h[k / 4] >> (24 - 8 * (k % 4)));
    lvat_sha256_init(s); /* ready for reuse; no state lingers */
}

void
lvat_sha256_hex(const void *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char digest[32];
    lvat_sha256 s;
    int k;

    lvat_sha256_init(&s);
    lvat_sha256_update(&s, data, len);
    lvat_sha256_final(&s, digest);
    for (k = 0; k < 32; k++) {
        hex[2 * k] = digits[digest[k] >> 4];
        hex[2 * k + 1] = digits[digest[k] & 15];
    }
    hex[64] = '\0';
}
