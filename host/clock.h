/*
 * A monotonic clock in nanoseconds, for the time accounting behind
 * `luavat status --stats` (clock_gettime through the vDSO: ~20 ns).
 */
#ifndef LVAT_CLOCK_H
#define LVAT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
lvat_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
