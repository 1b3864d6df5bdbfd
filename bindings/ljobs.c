/*
 * Jobs: every method a delivery (or a local send) runs gets a pooled
 * delivery thread, whose body is the worker (it calls the method under
 * pcall, hands the outcome to finish, then yields DONE).  A
 * method that awaits yields the await marker and a promise; the job goes
 * on when that promise settles.  The result settles the message's result
 * promise: a vpid through the resolve syscall, or a local promise.
 *
 * In C because every message runs one: the pool, the steps and finish
 * were a good part of a round trip's bytecode.
 */
#include "lbind.h"

#include <lauxlib.h>

#include "lpromise_int.h"

static int on_awaited(lua_State *L);
static int worker(lua_State *L);

/*
 * Stack from base: the thread, then what resuming it returned (ok, a, b).
 * Pools a finished thread; makes an awaiting one go on once its promise
 * settles.  A thread that died (killed, out of memory) raises its error.
 */
static void
step(lua_State *L, int base)
{
    lvat_lvat *v = lvat_lua_vat(L);
    int a = base + 2;

    if (!lua_toboolean(L, base + 1)) {
        lua_pushvalue(L, a);
        lua_error(L);
    }
    lvat_lua_reg(L, LVAT_REG_DONE);
    if (lua_rawequal(L, -1, a)) {
        lvat_lua_reg(L, LVAT_REG_POOL);
        lua_pushvalue(L, base);
        lua_rawseti(L, -2, ++v->npool);
        lua_settop(L, base - 1);
        return;
    }
    lvat_lua_reg(L, LVAT_REG_AWAIT);
    if (!lua_rawequal(L, -1, a) || lua_type(L, base + 3) != LUA_TTABLE) {
        lua_pushliteral(L, "a vat method yielded without awaiting");
        lua_error(L);
    }
    /* The promise it awaits, in its entry of the runtime's threads:
     * on_awaited resumes it once, for that promise settled. */
    lvat_lua_reg(L, LVAT_REG_THREADS);
    lua_pushvalue(L, base);
    lua_pushvalue(L, base + 3);
    lua_rawset(L, -3);
    lua_pushcfunction(L, on_awaited);
    lvat__p_when_settled(L, base + 3, lua_gettop(L), base);
    lua_settop(L, base - 1);
}

/* Resumes the thread at idx with the n values on top (popping them) and
 * steps it.  [-n,+0,e] */
static void
resume_and_step(lua_State *L, int idx, int n)
{
    int base;

    lua_pushvalue(L, idx);
    base = lua_gettop(L);
    for (int i = 0; i < n; i++)
        lua_pushvalue(L, base - n + i);
    lvat_lua_resume(L, lua_tothread(L, idx), n);
    lua_settop(L, base + 3); /* ok, a, b */
    step(L, base);
    lua_pop(L, n);
}

/*
 * whenSettled's callback for an awaited promise: (state, value, thread).
 * A vat reaches it and the thread through the promise's fields (pairs),
 * and called it to resume a delivery thread at will: an await returned
 * what the vat chose before its promise settled, and an idle thread
 * resumed so went into the pool a second time, where two jobs then
 * shared it.  So it resumes only a thread of the runtime awaiting a
 * promise that has settled, once, with that promise's own outcome.
 */
static int
on_awaited(lua_State *L)
{
    int st;

    lua_settop(L, 3);
    lvat_lua_reg(L, LVAT_REG_THREADS); /* 4 */
    lua_pushvalue(L, 3);
    if (lua_rawget(L, 4) != LUA_TTABLE) /* 5: the promise it awaits */
        return 0;
    st = lvat__p_state(L, 5);
    if (st == PENDING)
        return 0;
    lua_pushvalue(L, 3);
    lua_pushboolean(L, 1);
    lua_rawset(L, 4);
    lvat__p_push_state(L, st == FULFILLED ? FULFILLED : REJECTED);
    lvat__p_get(L, 5, F_VALUE);
    resume_and_step(L, 3, 2);
    return 0;
}

int
lvat_lua_run_job(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    int n = lua_gettop(L);

    luaL_checkstack(L, n + LUA_MINSTACK, "too many arguments");
    if (v->npool > 0) {
        lvat_lua_reg(L, LVAT_REG_POOL);
        lua_rawgeti(L, -1, v->npool);
        lua_pushnil(L);
        lua_rawseti(L, -3, v->npool--);
        lua_remove(L, -2);
    } else {
        lua_State *co = lua_newthread(L);
        lua_pushcfunction(co, worker);
        lvat_lua_reg(L, LVAT_REG_THREADS);
        lua_pushvalue(L, -2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_insert(L, 1); /* thread, fn, obj, result, args... */
    resume_and_step(L, 1, n);
    return 0;
}

static int
spread_done(lua_State *L, int status, lua_KContext base)
{
    (void)status;
    return lua_gettop(L) - (int)base;
}

int
lvat_lua_spread(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 4);

    lua_settop(L, 4);
    /* Raised here, in the job's pcall: a rejection, not a fault. */
    luaL_checkstack(L, (int)n + LUA_MINSTACK, "too many arguments");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    for (lua_Integer i = 1; i <= n; i++)
        lua_rawgeti(L, 3, i);
    lua_callk(L, (int)n + 1, LUA_MULTRET, 4, spread_done);
    return spread_done(L, LUA_OK, 4);
}

/* ---- Results ---- */

/* resolveVpid(vref, rejected, value) with the vref at idx, in the
 * caller's frame, which ends with it (it becomes the arguments).
 * Returns 0, what the caller returns. */
static int
resolve_vpid(lua_State *L, int vref, int rejected, int value)
{
    lua_pushvalue(L, vref);
    lua_pushboolean(L, rejected);
    lua_pushvalue(L, value);
    lua_replace(L, 3);
    lua_replace(L, 2);
    lua_replace(L, 1);
    lua_settop(L, 3);
    return lvat_lua_resolve_vpid(L);
}

/* A one-way message's method raised: nobody hears but the log. */
static void
log_one_way_error(lua_State *L, int r)
{
    size_t len;
    const char *text;

    lua_pushliteral(L, "error in a one-way message: ");
    if (!lvat_lua_push_tostring(L, r)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "(unprintable)");
    }
    lua_concat(L, 2);
    text = lua_tolstring(L, -1, &len);
    lvat_syscall_log(lvat_lua_vat(L)->sys, text, len);
    lua_pop(L, 1);
}

/* finish(result, ok, r): a job's outcome.  `result` is the vpid to
 * resolve, nil for a one-way message, or a local promise (an eventual
 * send to one of this vat's own objects). */
static int
l_finish(lua_State *L)
{
    int ok = lua_toboolean(L, 2), st;

    lua_settop(L, 3);
    if (lua_type(L, 1) == LUA_TTABLE) {
        if (ok)
            lvat__p_resolve(L, 1, 3);
        else
            lvat__p_reject(L, 1, 3);
        return 0;
    }
    if (lua_isnil(L, 1)) {
        if (!ok)
            log_one_way_error(L, 3);
        return 0;
    }
    if (ok && lvat__p_is(L, 3)) {
        lua_pushvalue(L, 3);
        lvat__p_walk_follows(L, 4, 0);
        st = lvat__p_state(L, 4);
        if (st == PENDING) /* the kernel forwards to it */
            return resolve_vpid(L, 1, 0, 4);
        ok = st == FULFILLED;
        lvat__p_get(L, 4, F_VALUE);
        lua_replace(L, 3);
    }
    return resolve_vpid(L, 1, !ok, 3);
}

/* ---- The worker: the body of every delivery thread ---- */

static int worker_next(lua_State *L, int status, lua_KContext ctx);

/* The method returned or raised (status): finish(result, ok, r), in this
 * frame, then wait for the next job with nothing of this one on the
 * stack, so an idle thread keeps none of it alive.  Stack: result, r. */
static int
worker_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)ctx;
    lua_settop(L, 2);
    lua_pushboolean(L, status == LUA_OK || status == LUA_YIELD);
    lua_insert(L, 2);
    l_finish(L);
    lua_settop(L, 0);
    lvat_lua_reg(L, LVAT_REG_DONE);
    return lua_yieldk(L, 1, 0, worker_next);
}

/* worker(fn, obj, result, ...): fn(obj, ...) under a pcall the method may
 * await in (a call with a continuation). */
static int
worker(lua_State *L)
{
    if (lua_gettop(L) < 3) /* none is resumed so; but never call a stale slot */
        lua_settop(L, 3);
    lua_pushvalue(L, 3);
    lua_remove(L, 3);
    lua_insert(L, 1); /* result, fn, obj, ... */
    return worker_done(L,
                       lua_pcallk(L, lua_gettop(L) - 2, 1, 0, 0,
                                  worker_done),
                       0);
}

/* Resumed with the next job's (fn, obj, result, ...). */
static int
worker_next(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return worker(L);
}

void
lvat_lua_jobs_open(lua_State *L)
{
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_POOL);
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_DONE);
}
