/*
 * The parts of the vat runtime written in C (the rest is lua/luavat/):
 * promises, Far and E, jobs, notify, and what the runtime adds to a vat's
 * environment.  Included by lbind.h.
 */
#ifndef LVAT_LRT_H
#define LVAT_LRT_H

#include <lua.h>

#include "vat_iface.h"

/* A message's arguments travel on Lua stacks (no table) up to this many;
 * more go in a table, unpacked once, in the method's own call
 * (lvat_lua_spread): copies of half a million values would overflow a
 * stack. */
#define LVAT_STACK_ARGS 64

/* ---- lsyscall.c: the syscalls the C runtime calls ---- */
/* sys.send(target, method, args, n, result|true|nil) -> result vref. */
int lvat_lua_sys_send(lua_State *L);
/* sendArgs(target, method, result|true|nil, ...): the same with the
 * arguments on the stack (E's direct sends: no table per message). */
int lvat_lua_sys_send_args(lua_State *L);
/* sys.resolve(vpid, rejected, value) */
int lvat_lua_sys_resolve(lua_State *L);
/* lua_pcall of a syscall that marshals (send, resolve, exit).  A marshal
 * that failed half-way may have taken export numbers the kernel never
 * saw: liveslots' rollback gives them back and forgets their vrefs (a
 * value left mapped to one would later be an illegal reuse).  Returns
 * the status; on failure the error is on top. */
int lvat_lua_pcall_marshal(lua_State *L, int nargs, int nresults);

/* ---- lpromise.c, lpromise_api.c ---- */
/* Pushes the luavat.promise module (made in C) and registers the Promise
 * metatable.  [-0, +1, m] */
void lvat_lua_open_promise(lua_State *L);

/* lua_CFunction drain(): runs the queued microtasks until none are left. */
int lvat_lua_drain(lua_State *L);

/* ---- ljobs.c ---- */
/* lua_CFunction runJob(fn, obj, result, ...): fn(obj, ...) in a pooled
 * thread; settles `result` (a vpid, a local promise, or nil). */
int lvat_lua_run_job(lua_State *L);
/* lua_CFunction spread(obj, fn, args, n): fn(obj, args[1..n]), for a job
 * of more than LVAT_STACK_ARGS arguments: runJob(spread, obj, result, fn,
 * args, n).  The method may await (a call with a continuation). */
int lvat_lua_spread(lua_State *L);
/* Adds sys.finish, sys.resolveVpid and sys.DONE.  [-0, +0, m] */
void lvat_lua_jobs_sys(lua_State *L);

/* ---- lresolve.c ---- */
/* lua_CFunction resolveVpid(vref, rejected, value): resolves the vpid,
 * and in the same syscall every settled promise the value exports (so
 * settled promises naming each other cross as one batch); then forgets
 * them and settles this vat's own promise for vref.  A value that cannot
 * be marshalled rejects its vpid instead (liveslots' failedReason). */
int lvat_lua_resolve_vpid(lua_State *L);

/* ---- lnotify.c: what a vat knows by vref (see there) ---- */
/* Forgets the vref at idx: awaited, slotToVal, valToSlot and the
 * promise's F_VREF drop it. */
void lvat_lua_forget(lua_State *L, int vref);
/* sys.forget(vref), the same for liveslots. */
int lvat_lua_sys_forget(lua_State *L);
/* Pushes a new promise this vat knows as the vref at idx: in awaited when
 * the kernel will notify this vat of it, else in slotToVal.  [-0,+1,m] */
void lvat_lua_new_import(lua_State *L, int vref, bool awaited);
/* Pushes what this vat knows by the vref at idx, or nil; returns its
 * type.  [-0,+1,-] */
int lvat_lua_push_slot_value(lua_State *L, int vref);
/* lvat_lua_push_slot_value, then lvat_lua_forget, in one lookup. */
int lvat_lua_take_slot_value(lua_State *L, int vref);
/* The vref the promise at p carries (F_VREF), checked: a vat can write a
 * promise's fields. */
bool lvat_lua_promise_vref(lua_State *L, int p, lvat_vref *out);
/* sys.vrefOf(v) and sys.bindPromise(p, vref), for liveslots. */
int lvat_lua_sys_vref_of(lua_State *L);
int lvat_lua_sys_bind_promise(lua_State *L);
/* Settles the promises a notify delivery names (the caller then drains
 * the microtasks).  [-0,+0,e] */
void lvat_lua_notify(lua_State *L, const lvat_delivery *d);

/* ---- lfar.c ---- */
/* Pushes the luavat.far module (Far and E, made in C).  [-0, +1, m] */
void lvat_lua_open_far(lua_State *L);
/* Lets go of the E proxies kept for the delivery that ended.  [-0,+0,-] */
void lvat_lua_forget_proxies(lua_State *L);

/* ---- lvatenv.c ---- */
/* Adds Far, E, Promise and the vat's coroutine library to the vat's env
 * at `env`, and sets the liveslots table's vatPowers, baggage and
 * heldByBaggage; promise and liveslots are loaded.  [-0, +0, e] */
void lvat_lua_install_vatenv(lua_State *L, int env);

#endif
