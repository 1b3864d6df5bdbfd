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

/* A promise's state, as stored in its F_STATE field. */
enum { PENDING, FULFILLED, REJECTED, NOT_A_STATE };

/* A promise's fields: _state, _value, the first callback and its
 * argument, the vref the kernel knows it by (an integer, lvref.h; set
 * while it is imported or exported), how many more callbacks there are,
 * while it follows another promise, that one and a lock, whether
 * eventual sends wait for it in this vat (lfar.c; later ones must queue
 * behind them), while nothing took its rejection, that it is unhandled
 * (lvat__p_handled), and whether a promise ever followed it. */
enum {
    F_STATE = 1,
    F_VALUE,
    F_CB,
    F_ARG,
    F_VREF,
    F_N,
    F_FOLLOWS,
    F_LOCKED,
    F_SENDS,
    F_UNHANDLED,
    F_FOLLOWED,
    F_COUNT
};

/* "pending", "fulfilled", "rejected", by the state enum. */
extern const char *const lvat__p_state_names[];

/* Pushes field F_* of the promise at t and returns its type.  [-0,+1,-] */
static inline int
lvat__p_get(lua_State *L, int t, int field)
{
    return lua_rawgeti(L, t, field);
}

/* Sets field F_* of the promise at t to the value on top, popping it.
 * [-1,+0,m] */
static inline void
lvat__p_set(lua_State *L, int t, int field)
{
    lua_rawseti(L, t, field);
}
/* Pushes the name of state st (a string callbacks receive).  [-0,+1,-] */
void lvat__p_push_state(lua_State *L, int st);
/* Registers the microtask queue and the state names.  [-0,+0,m] */
void lvat__p_register(lua_State *L);

/* The state of the promise at p (NOT_A_STATE when _state is missing). */
int lvat__p_state(lua_State *L, int p);
/* Whether v is a promise: a table with the Promise metatable and a state. */
int lvat__p_is(lua_State *L, int v);
/* Pushes a new pending promise.  [-0,+1,m] */
void lvat__p_push_new(lua_State *L);
/* The same, with room for n fields in the array part.  [-0,+1,m] */
void lvat__p_push_new_sized(lua_State *L, int n);

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
/* Something took the rejection of p (a handler, an await, a send): it is
 * not reported as unhandled when the microtasks end.  [-0,+0,-] */
void lvat__p_handled(lua_State *L, int p);

/* Replaces the promise at idx (absolute) by the one it follows, while
 * it follows a pending promise; stops at `stop` (0: none).  [-0,+0,-] */
void lvat__p_walk_follows(lua_State *L, int idx, int stop);

/* Brent's cycle check, one step of a walk whose value is at idx and whose
 * checkpoint is on top (start both at the walk's first value, and the
 * counters at 0 and 1): true when the walk came back to the checkpoint.
 * The checkpoint moves at powers of two, so any loop is found within a
 * few rounds of its length.  [-0,+0,-] */
int lvat__p_looped(lua_State *L, int idx, lua_Integer *steps,
                   lua_Integer *power);

/* p:next(onOk, onErr) -> a promise for what the handler returns. */
int lvat__p_next(lua_State *L);
/* p:await(), a C function that yields. */
int lvat__p_await(lua_State *L);

#endif
