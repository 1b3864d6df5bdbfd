/*
 * Kernel refs (ko<N>, kp<N>) and vat refs (o+N, o-N, p+N, p-N, o+d<K>/<N>)
 * as one-field structs, so the compiler refuses to mix a kernel ref with a
 * vat ref.  The kind sits in the top bits, the number below it.  Number 0
 * is never allocated, so a zero ref means "none".
 */
#ifndef LVAT_KREF_H
#define LVAT_KREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t v;
} lvat_kref;

typedef struct {
    uint64_t v;
} lvat_vref;

/* Enough for "kp18446744073709551615", "o+d2097151/1099511627775" + NUL. */
#define LVAT_REF_BUFSIZE 32

#define LVAT_KREF_PROMISE_BIT (UINT64_C(1) << 63)
#define LVAT_KREF_NUM_MASK (LVAT_KREF_PROMISE_BIT - 1)

#define LVAT_VREF_PROMISE_BIT (UINT64_C(1) << 63)
#define LVAT_VREF_EXPORT_BIT (UINT64_C(1) << 62)
#define LVAT_VREF_DURABLE_BIT (UINT64_C(1) << 61)
#define LVAT_VREF_NUM_MASK ((UINT64_C(1) << 61) - 1)
/* Durable exports o+d<kind>/<n>: 21 bits of kind, 40 bits of instance. */
#define LVAT_VREF_DKIND_SHIFT 40
#define LVAT_VREF_DKIND_MAX ((UINT64_C(1) << 21) - 1)
#define LVAT_VREF_DNUM_MASK ((UINT64_C(1) << 40) - 1)

static inline lvat_kref
lvat_kref_object(uint64_t n)
{
    lvat_kref r = {n & LVAT_KREF_NUM_MASK};
    return r;
}

static inline lvat_kref
lvat_kref_promise(uint64_t n)
{
    lvat_kref r = {(n & LVAT_KREF_NUM_MASK) | LVAT_KREF_PROMISE_BIT};
    return r;
}

static inline bool
lvat_kref_is_promise(lvat_kref r)
{
    return (r.v & LVAT_KREF_PROMISE_BIT) != 0;
}

static inline bool
lvat_kref_is_none(lvat_kref r)
{
    return (r.v & LVAT_KREF_NUM_MASK) == 0;
}

static inline uint64_t
lvat_kref_num(lvat_kref r)
{
    return r.v & LVAT_KREF_NUM_MASK;
}

/*
 * A bucket hash for a ref's bits (kind and number) that keeps each run of
 * 16 consecutive numbers in 16 consecutive buckets, since refs are made,
 * used and dropped in order (a burst's lookups then share cache lines),
 * and scatters the runs, so that numbers a power of two apart do not pile
 * into one bucket.  Mask the result with the table's size - 1.
 */
static inline uint64_t
lvat_ref_hash(uint64_t bits)
{
    uint64_t run = bits >> 4;

    run ^= run >> 29; /* kind bits down among the number's */
    return (run * UINT64_C(0x9e3779b97f4a7c15)) >> 32 << 4 | (bits & 15);
}

static inline bool
lvat_kref_eq(lvat_kref a, lvat_kref b)
{
    return a.v == b.v;
}

static inline lvat_vref
lvat_vref_make(bool promise, bool export_, uint64_t n)
{
    lvat_vref r = {(n & LVAT_VREF_NUM_MASK) |
                   (promise ? LVAT_VREF_PROMISE_BIT : 0) |
                   (export_ ? LVAT_VREF_EXPORT_BIT : 0)};
    return r;
}

static inline bool
lvat_vref_is_promise(lvat_vref r)
{
    return (r.v & LVAT_VREF_PROMISE_BIT) != 0;
}

static inline bool
lvat_vref_is_export(lvat_vref r)
{
    return (r.v & LVAT_VREF_EXPORT_BIT) != 0;
}

static inline bool
lvat_vref_is_durable(lvat_vref r)
{
    return (r.v & LVAT_VREF_DURABLE_BIT) != 0;
}

static inline bool
lvat_vref_is_none(lvat_vref r)
{
    return r.v == 0;
}

static inline uint64_t
lvat_vref_num(lvat_vref r)
{
    return r.v & LVAT_VREF_NUM_MASK;
}

/* Whether r is a vref lvat_vref_parse could give (the vat runtime keeps
 * vrefs as these bits, and takes them back from Lua). */
static inline bool
lvat_vref_valid(lvat_vref r)
{
    if (lvat_vref_is_durable(r))
        return !lvat_vref_is_promise(r) && lvat_vref_is_export(r);
    return lvat_vref_num(r) != 0 ||
           (!lvat_vref_is_promise(r) && lvat_vref_is_export(r));
}

static inline bool
lvat_vref_eq(lvat_vref a, lvat_vref b)
{
    return a.v == b.v;
}

/*
 * Parse "ko12" / "kp3" (exactly `len` bytes, canonical decimal, number > 0).
 * Returns LVAT_OK or LVAT_EINVAL; *out is written only on success.
 */
int lvat_kref_parse(const char *s, size_t len, lvat_kref *out);

/* Formats `r` into `buf` (LVAT_REF_BUFSIZE bytes); returns the length. */
size_t lvat_kref_format(lvat_kref r, char *buf);

/*
 * Parse "o+4", "o-7", "p+2", "p-9", "o+d3/12".  The root "o+0" is valid
 * (it is the only ref with number 0).  Returns LVAT_OK or LVAT_EINVAL.
 */
int lvat_vref_parse(const char *s, size_t len, lvat_vref *out);

/* Formats `r` into `buf` (LVAT_REF_BUFSIZE bytes); returns the length. */
size_t lvat_vref_format(lvat_vref r, char *buf);

/* The durable export o+d<kind>/<n>; kind <= DKIND_MAX, n <= DNUM_MASK. */
lvat_vref lvat_vref_durable(uint64_t kind, uint64_t n);

/* The root object every vat exports: o+0. */
static inline lvat_vref
lvat_vref_root(void)
{
    lvat_vref r = {LVAT_VREF_EXPORT_BIT};
    return r;
}

/* Vat ids v<N> (N >= 1); 0 is the kernel itself as an endpoint. */
#define LVAT_VATID_KERNEL 0u
int lvat_vatid_parse(const char *s, size_t len, uint32_t *out);
size_t lvat_vatid_format(uint32_t vat, char *buf);

/* Subcluster ids s<N> (N >= 1); format's buf holds 22 bytes. */
int lvat_subid_parse(const char *s, size_t len, uint32_t *out);
size_t lvat_subid_format(uint64_t sub, char *buf);

#endif
