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

/*
 * The monotonic clock as of the last timer tick (CLOCK_MONOTONIC_COARSE),
 * for what every crank or delivery reads where a tick does not matter (a
 * block's age, a delivery's deadline): 9 ns to read here against 30 for
 * the clock above, which read at every crank was 2.7% of a pipelined
 * send.  It runs behind that clock by up to a tick (4 ms here;
 * lvat_clock_coarse_tick_ns), so it is compared only with itself, or a
 * deadline from it is a tick later.
 */
#ifndef CLOCK_MONOTONIC_COARSE /* Linux's: elsewhere the precise one */
#define CLOCK_MONOTONIC_COARSE CLOCK_MONOTONIC
#endif

static inline uint64_t
lvat_clock_coarse_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
lvat_clock_coarse_tick_ns(void)
{
    struct timespec ts;

    if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return 10000000u; /* a tick of HZ=100, the slowest Linux has */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The timers inside a timed crank (syscalls, marshalling, LMDB reads)
 * time each of its first LVAT_TIME_ALL operations of a kind, then one in
 * LVAT_TIME_EVERY, which counts that many times over: reading the clock
 * around every one of 100,000 baggage reads made their crank 11% slower.
 * Returns how many operations this one stands for (0: untimed) and
 * counts it in *ops, which the crank's start zeroes.
 */
#define LVAT_TIME_ALL   64
#define LVAT_TIME_EVERY 8
static inline uint32_t
lvat_time_weight(uint32_t *ops)
{
    uint32_t n = (*ops)++;

    if (n < LVAT_TIME_ALL)
        return 1;
    return n % LVAT_TIME_EVERY == 0 ? LVAT_TIME_EVERY : 0;
}

#endif
