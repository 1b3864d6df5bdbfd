/*
 * The parts of the vat runtime written in C (baggage is lua/luavat/):
 * liveslots, promises, Far and E, jobs, notify, and what the runtime adds
 * to a vat's environment.  Included by lbind.h.
 */
#ifndef LVAT_LRT_H
#define LVAT_LRT_H

#include <stdbool.h>
#include <stdint.h>

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
/* The same send, unprotected, of n scalar arguments from index `first`
 * (lvat_lua_is_scalar), which can take no export number.  Pushes the
 * result vref when `result`; returns false, having sent nothing, when an
 * argument is not a scalar.  [-0,+(0|1),e] */
bool lvat_lua_send_scalars(lua_State *L, lvat_vref target, const char *method,
                           size_t mlen, int first, int n, bool result);
/* sys.resolve(vpid, rejected, value) */
int lvat_lua_sys_resolve(lua_State *L);
/* lua_pcall of a syscall that marshals (send, resolve, exit).  A marshal
 * that failed half-way may have taken export numbers the kernel never
 * saw: lvat_lua_rollback gives them back and forgets their vrefs (a
 * value left mapped to one would later be an illegal reuse).  Returns
 * the status; on failure the error is on top. */
int lvat_lua_pcall_marshal(lua_State *L, int nargs, int nresults);
/* lua_CFunctions dropImports(vrefs) and retireImports(vrefs). */
int lvat_lua_sys_drop_imports(lua_State *L);
int lvat_lua_sys_retire_imports(lua_State *L);
/* A reap's full collection, skipped on a big heap until it has doubled
 * since the last one.  [-0,+0,-] */
void lvat_lua_gc_full(lua_State *L);
/* Pushes an array of the vrefs of presences collected since the last
 * call.  [-0,+1,m] */
void lvat_lua_push_dead_imports(lua_State *L);

/* ---- lliveslots.c ---- */
/* Registers the runtime table (vatPowers, baggage) and the exports.
 * [-0,+0,m] */
void lvat_lua_liveslots_open(lua_State *L);
/* Gives back the export numbers from o+o and p+p on, which a failed
 * marshal took and the kernel never saw, and forgets their vrefs.
 * [-0,+0,-] */
void lvat_lua_rollback(lua_State *L, uint64_t o, uint64_t p);
/* Pushes tostring(value at idx) made under pcall; nil and false when it
 * raised.  [-0,+1,-] */
bool lvat_lua_push_tostring(lua_State *L, int idx);
/* Pushes the reason a rejection carries when the outcome at value could
 * not be marshalled (the error at err): for a rejection, its own text
 * (a __tostring) unless that is the default "table: 0x..." form, else
 * the marshalling error's.  [-0,+1,e] */
void lvat_lua_push_failed_reason(lua_State *L, bool rejected, int value,
                                 int err);
/* A new export vref for the Far object or promise at idx, which has none
 * (marshalling calls it).  A promise that follows another is exported as
 * the end of its chain.  [-0,+0,e] */
lvat_vref lvat_lua_export_val(lua_State *L, int idx);
/* The promise at p now follows another: an export of this vat whose
 * chain ends at a promise the kernel knows is resolved to that one, so
 * the kernel forwards.  [-0,+0,e] */
void lvat_lua_on_follow(lua_State *L, int p);
/* Pushes the method `method` of obj, or a function that raises why there
 * is none (the vat's error when looking it up raised).  [-0,+1,m] */
void lvat_lua_push_method(lua_State *L, int obj, int method);
/* lua_CFunction dispatch(kind, ...): the deliveries other than messages
 * and notifies ("s" start, "d"/"r" exports dropped/retired, "i" imports
 * retired, "g" reap), then the microtasks. */
int lvat_lua_dispatch(lua_State *L);

/* ---- lpromise.c, lpromise_api.c ---- */
/* Registers the Promise metatable and the marker await yields, and pushes
 * the vat's Promise table.  [-0, +1, m] */
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
/* Registers the thread pool and the marker a finished job yields.
 * [-0, +0, m] */
void lvat_lua_jobs_open(lua_State *L);

/* ---- lresolve.c ---- */
/* lua_CFunction resolveVpid(vref, rejected, value): resolves the vpid,
 * and in the same syscall every settled promise the value exports (so
 * settled promises naming each other cross as one batch); then forgets
 * them and settles this vat's own promise for vref.  A value that cannot
 * be marshalled rejects its vpid instead (lvat_lua_push_failed_reason). */
int lvat_lua_resolve_vpid(lua_State *L);

/* ---- lnotify.c: what a vat knows by vref (see there) ---- */
/* Forgets the vref at idx: awaited, slotToVal, valToSlot and the
 * promise's F_VREF drop it. */
void lvat_lua_forget(lua_State *L, int vref);
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
/* sys.vrefOf(v): a promise's vref, or an exported object's. */
int lvat_lua_sys_vref_of(lua_State *L);
/* The promise at p is exported as vref (its F_VREF, and slotToVal).
 * [-0,+0,m] */
void lvat_lua_bind_promise(lua_State *L, int p, lvat_vref vref);
/* Settles the promises a notify delivery names (the caller then drains
 * the microtasks).  [-0,+0,e] */
void lvat_lua_notify(lua_State *L, const lvat_delivery *d);

/* ---- lfar.c ---- */
/* Sets Far and E in the vat's env at env (absolute).  [-0, +0, m] */
void lvat_lua_open_far(lua_State *L, int env);
/* Lets go of the E proxies kept for the delivery that ended.  [-0,+0,-] */
void lvat_lua_forget_proxies(lua_State *L);

/* ---- lvatenv.c ---- */
/* Adds Far, E, Promise and the vat's coroutine library to the vat's env
 * at `env`, and sets the runtime table's vatPowers and baggage
 * (lvat_lua_liveslots_open made it).  [-0, +0, e] */
void lvat_lua_install_vatenv(lua_State *L, int env);

#endif
