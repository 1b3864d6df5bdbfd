/*
 * The registry slots of a vat's state that the bindings use.
 */
#ifndef LVAT_LREG_H
#define LVAT_LREG_H

#include <lua.h>

/* The registry slots the bindings use: integer keys, the fastest lookup
 * Lua has (a light userdata key takes its generic path), right after
 * Lua's own (LVAT_REG_KEY).  So no code may use luaL_ref or luaL_unref in
 * a vat's state: Lua 5.4.4 keeps their free list at LUA_RIDX_LAST + 1,
 * which is the first of these slots. */
enum {
    LVAT_REG_SLOT2VAL,    /* vref -> value, weak v (lnotify.c) */
    LVAT_REG_VAL2SLOT,    /* exported object -> vref, weak k */
    LVAT_REG_REMOTABLES,  /* Far object -> iface, weak k */
    LVAT_REG_RUNTIME,     /* vatPowers, baggage */
    LVAT_REG_EXPORTS,     /* vref -> exported object (strong) */
    LVAT_REG_PROMISE_MT,  /* the Promise metatable */
    LVAT_REG_VATENV,      /* the vat's _ENV */
    LVAT_REG_LOADED,      /* the vat's require cache */
    LVAT_REG_THREADS,     /* the runtime's delivery threads (weak k), which
                           * vat code may not resume, close or yield from */
    LVAT_REG_AWAITED,     /* vpid -> promise this vat awaits a notify for
                           * (strong: an awaiting coroutine may be the only
                           * thing that refers to it) */
    LVAT_REG_QUEUE,       /* the microtask queue (lpromise.c) */
    LVAT_REG_AWAIT,       /* the marker await yields to the runtime */
    LVAT_REG_PENDING,     /* the state names: "pending", */
    LVAT_REG_FULFILLED,   /* "fulfilled", */
    LVAT_REG_REJECTED,    /* "rejected" */
    LVAT_REG_PROXY_MT,    /* E(x)'s metatable (lfar.c) */
    LVAT_REG_ONLY_MT,     /* E.sendOnly(x)'s metatable */
    LVAT_REG_E_TARGET,    /* the last E(x)'s x and proxy, kept for the */
    LVAT_REG_E_PROXY,     /* delivery (lfar.c) */
    LVAT_REG_ONLY_TARGET, /* the same for E.sendOnly(x) */
    LVAT_REG_ONLY_PROXY,
    LVAT_REG_POOL,        /* idle delivery threads (ljobs.c) */
    LVAT_REG_DONE,        /* the marker a finished job yields */
    LVAT_REG_UNHANDLED,   /* rejections nothing took yet, or false */
    LVAT_REG_COUNT
};

#define LVAT_REG_KEY(slot) (LUA_RIDX_LAST + 1 + (slot))

#endif
