/*
 * A delivery's syscalls, timed for `luavat status --stats` when the
 * delivery is (lvat_lvat.timing), one in so many after the first few
 * (lvat_time_weight, clock.h).
 */
#ifndef LVAT_LSYSTIME_H
#define LVAT_LSYSTIME_H

#include "clock.h"
#include "lbind.h"

/* Adds a syscall's time to the delivery's stats and passes its result
 * on.  LVAT_LUA_SYS(v, call) reads the clock, makes the call (the comma
 * operator orders the two), then comes here. */
static inline int
lvat_lua_syscall_time(lvat_lvat *v, int rc)
{
    if (v->sys_w)
        v->syscall_ns += v->sys_w * (lvat_clock_ns() - v->sys_t0);
    return rc;
}

static inline void
lvat_lua_syscall_start(lvat_lvat *v)
{
    v->sys_w = v->timing ? lvat_time_weight(&v->nsys) : 0;
    v->sys_t0 = v->sys_w ? lvat_clock_ns() : 0;
}

#define LVAT_LUA_SYS(v, call)                                              \
    lvat_lua_syscall_time((v), (lvat_lua_syscall_start(v), (call)))

#endif
