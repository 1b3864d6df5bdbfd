/*
 * Shared by lpromise.c (the core of luavat.promise) and lpromise_api.c
 * (what vat code calls, and the module's opening).  Stack indices passed
 * to these functions are absolute or relative as stated; none of them
 * leaves anything on the stack unless it says so.
 */
#ifndef LVAT_LPROMISE_INT_H
#define LVAT_LPROMISE_INT_H

#include <lauxlib.h>
#include <lua.h>

enum { FULFILLED = 1, PENDING = 0, REJECTED = 2, NOT_A_STATE = 3 };

/* "pending", "fulfilled", "rejected", by the enum above. */
extern const char *const lvat__p_state_names[];

/* Registry keys: the microtask queue, and the marker await yields. */
extern const char lvat__p_key_queue;
extern const char lvat__p_key_await;

/* Pushes t[k] (raw) and returns its type.  [-0,+1,-] */
int lvat__p_get(lua_State *L, int t, const char *k);
/* t[k] = the value on top (raw), popping it.  [-1,+0,m] */
void lvat__p_set(lua_State *L, int t, const char *k);

/* The state of the promise at p (NOT_A_STATE when _state is missing). */
int lvat__p_state(lua_State *L, int p);
/* Whether v is a promise: a table with the Promise metatable and a state. */
int lvat__p_is(lua_State *L, int v);
/* Pushes a new pending promise.  [-0,+1,m] */
void lvat__p_push_new(lua_State *L);

/* The following take absolute indices. */
/* Queues fn(a, b, c) as a microtask (0: nil).  [-0,+0,m] */
void lvat__p_enqueue(lua_State *L, int fn, int a, int b, int c);
/* Registers cb(state, value, arg) to run once p settles.  [-0,+0,m] */
void lvat__p_when_settled(lua_State *L, int p, int cb, int arg);
/* Settles p (if pending) with st and value; queues its callbacks. */
void lvat__p_settle(lua_State *L, int p, int st, int value);
/* Resolves p to v: follows v when it is a promise.  [-0,+0,e] */
void lvat__p_resolve(lua_State *L, int p, int v);
/* Rejects p unless it already follows another promise. */
void lvat__p_reject(lua_State *L, int p, int reason);

/* p:await(), a C function that yields. */
int lvat__p_await(lua_State *L);
/* The runtime's functions of the module (new, drain, resolve, ...). */
extern const luaL_Reg lvat__p_runtime_funcs[];

#endif
