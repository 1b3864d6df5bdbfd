/*
 * Small helpers shared by every host/ and bindings/ file: array length,
 * container_of, and the LVAT_ALWAYS/LVAT_NEVER defensive checks (SQLite's
 * ALWAYS/NEVER): they assert in debug builds and still take the safe branch
 * in release builds.
 */
#ifndef LVAT_UTIL_H
#define LVAT_UTIL_H

#include <assert.h>
#include <stddef.h>

#define LVAT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LVAT_UNUSED(x) ((void)(x))

#define lvat_container_of(ptr, type, member)                               \
    ((type *)((char *)(ptr) - offsetof(type, member)))

#ifdef NDEBUG
#define LVAT_ALWAYS(x) (x)
#define LVAT_NEVER(x) (x)
#else
#define LVAT_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define LVAT_NEVER(x) ((x) ? (assert(0 && #x), 1) : 0)
#endif

#if defined(__GNUC__)
#define LVAT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LVAT_LIKELY(x) __builtin_expect(!!(x), 1)
#define LVAT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LVAT_PRINTF(f, a)
#define LVAT_LIKELY(x) (x)
#define LVAT_UNLIKELY(x) (x)
#endif

#endif
