/*
 * What the runtime adds to a vat's environment (Far, E, Promise and its
 * own coroutine library) and its vatPowers and baggage object.  Written
 * in C, not Lua: every vat holds these, and C
 * closures carry no prototypes, so an idle vat is ~8 KB smaller.
 *
 * The coroutine functions pass the runtime's await marker outward, so a
 * vat's own coroutines and await compose, and they refuse to touch the
 * runtime's threads (the pooled coroutines that run deliveries).
 */
#include "lbind.h"

#include <lauxlib.h>

/* Upvalues of the resume and wrap closures. */
enum { UP_RESUME = 1, UP_AWAIT, UP_THREADS, UP_THREAD };

static int
is_runtime_thread(lua_State *L, int idx, int threads)
{
    int yes;

    lua_pushvalue(L, idx);
    yes = lua_rawget(L, threads) != LUA_TNIL;
    lua_pop(L, 1);
    return yes;
}

static int
running_is_runtime(lua_State *L, int threads)
{
    int yes;

    lua_pushthread(L);
    yes = is_runtime_thread(L, -1, threads);
    lua_pop(L, 1);
    return yes;
}

/* Stack [co, ok, results...]: resume's results, or wrap's. */
static int
finish(lua_State *L, int wrap)
{
    if (!wrap)
        return lua_gettop(L) - 1;
    if (lua_toboolean(L, 2))
        return lua_gettop(L) - 2;
    lua_settop(L, 3);
    return lua_error(L); /* the coroutine's error, as raised */
}

/*
 * Stack [co, args...]: resumes co with args.  While co stops at an await
 * (it yielded the marker), this function awaits the same promise by
 * yielding the marker outward; the outcome it is resumed with comes back
 * here as a continuation and goes into co.  `wrap` says which caller.
 */
static int
drive(lua_State *L, int status, lua_KContext wrap)
{
    (void)status;
    lua_pushvalue(L, lua_upvalueindex(UP_RESUME));
    lua_insert(L, 2);
    lua_pushvalue(L, 1);
    lua_insert(L, 3);
    lua_call(L, lua_gettop(L) - 2, LUA_MULTRET);
    if (!lua_toboolean(L, 2) || lua_gettop(L) < 3 ||
        !lua_rawequal(L, 3, lua_upvalueindex(UP_AWAIT)) ||
        lua_status(lua_tothread(L, 1)) != LUA_YIELD)
        return finish(L, (int)wrap);
    luaL_checkstack(L, 2, NULL);
    if (!lua_isyieldable(L)) {
        lua_settop(L, 1);
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot await here");
        return finish(L, (int)wrap);
    }
    lua_settop(L, 4); /* co, true, marker, promise */
    lua_remove(L, 2);
    return lua_yieldk(L, 2, wrap, drive);
}

static int
co_resume(lua_State *L)
{
    if (is_runtime_thread(L, 1, lua_upvalueindex(UP_THREADS))) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot resume a thread of the runtime");
        return 2;
    }
    luaL_argexpected(L, lua_type(L, 1) == LUA_TTHREAD, 1, "coroutine");
    return drive(L, LUA_OK, 0);
}

static int
co_wrapped(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(UP_THREAD));
    lua_insert(L, 1);
    return drive(L, LUA_OK, 1);
}

static int
co_create(lua_State *L)
{
    lua_State *co;

    if (lua_type(L, 1) != LUA_TFUNCTION)
        return luaL_error(L, "coroutine.create: a function is needed");
    co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    return 1;
}

/* Upvalues 1-3 as resume's, then the thread. */
static int
co_wrap(lua_State *L)
{
    co_create(L);
    lua_pushvalue(L, lua_upvalueindex(UP_RESUME));
    lua_pushvalue(L, lua_upvalueindex(UP_AWAIT));
    lua_pushvalue(L, lua_upvalueindex(UP_THREADS));
    lua_rotate(L, -4, -1); /* the thread last */
    lua_pushcclosure(L, co_wrapped, 4);
    return 1;
}

/* Upvalue 1: the runtime's threads. */
static int
co_yield(lua_State *L)
{
    if (running_is_runtime(L, lua_upvalueindex(1)))
        return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

static int
co_isyieldable(lua_State *L)
{
    lua_pushboolean(L, !running_is_runtime(L, lua_upvalueindex(1)) &&
                           lua_isyieldable(L));
    return 1;
}

/* Closes nested in closes (a __close that closes another coroutine):
 * Lua 5.4.4 starts its count of C calls again in each (fixed in 5.4.5),
 * so each level may take ~200 C frames.  Past this much C stack, used
 * from the outermost close, or this many levels, the vat gets an error,
 * not a crash. */
#define MAX_CLOSE_STACK (256 * 1024)
#define MAX_NESTED_CLOSES 100

/* Makes co the thread the watchdog and the allocator stop on a kill,
 * armed at once if the vat is stopped already; returns the one it was.
 * Lua's close runs co's __close handlers on co itself: with the kill hook
 * armed on the caller only, a handler that loops was never stopped (the
 * process spun for ever).  [-0,+0,-] */
static lua_State *
enter_thread(lvat_lvat *v, lua_State *co)
{
    lua_State *prev = v->running;

    if (co == NULL)
        return prev;
    v->running = co;
    if (v->killed)
        lua_sethook(co, lvat_lua_kill_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    return prev;
}

/* Back on L, which then stops too if the vat was killed meanwhile. */
static void
leave_thread(lvat_lvat *v, lua_State *L, lua_State *prev)
{
    v->running = prev;
    if (v->killed)
        lua_sethook(L, lvat_lua_kill_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* Upvalues: the runtime's threads, Lua's coroutine.close. */
static int
co_close(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lua_State *prev;
    char here;
    uintptr_t used;
    int status;

    if (is_runtime_thread(L, 1, lua_upvalueindex(1)))
        return luaL_error(L, "cannot close a thread of the runtime");
    if (v->nclosing == 0)
        v->close_base = &here;
    used = (uintptr_t)v->close_base > (uintptr_t)&here
               ? (uintptr_t)v->close_base - (uintptr_t)&here
               : (uintptr_t)&here - (uintptr_t)v->close_base;
    if (v->nclosing >= MAX_NESTED_CLOSES || used > MAX_CLOSE_STACK)
        return luaL_error(L, "coroutine.close: closes nested in one another "
                             "too deeply (%d)",
                          v->nclosing);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    v->nclosing++;
    prev = enter_thread(v, lua_tothread(L, 2));
    status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    leave_thread(v, L, prev);
    v->nclosing--;
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* Stack: sys, AWAIT.  Leaves the vat's coroutine table.  [-0,+1,m] */
static void
push_coroutine_lib(lua_State *L, int sys, int await)
{
    int threads, lib;

    lvat_lua_reg(L, LVAT_REG_THREADS);
    threads = lua_gettop(L);
    lua_getglobal(L, "coroutine"); /* Lua's own, in the runtime env */
    lib = lua_gettop(L);
    lua_createtable(L, 0, 8);
    lua_pushcfunction(L, co_create);
    lua_setfield(L, -2, "create");
    lua_getfield(L, sys, "resume");
    lua_pushvalue(L, await);
    lua_pushvalue(L, threads);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, co_resume, 3);
    lua_setfield(L, -5, "resume");
    lua_pushcclosure(L, co_wrap, 3);
    lua_setfield(L, -2, "wrap");
    lua_pushvalue(L, threads);
    lua_pushcclosure(L, co_yield, 1);
    lua_setfield(L, -2, "yield");
    lua_pushvalue(L, threads);
    lua_pushcclosure(L, co_isyieldable, 1);
    lua_setfield(L, -2, "isyieldable");
    lua_pushvalue(L, threads);
    lua_getfield(L, lib, "close");
    lua_pushcclosure(L, co_close, 2);
    lua_setfield(L, -2, "close");
    lua_getfield(L, lib, "status");
    lua_setfield(L, -2, "status");
    lua_getfield(L, lib, "running");
    lua_setfield(L, -2, "running");
    lua_replace(L, threads);
    lua_settop(L, threads);
}

/* ---- vatPowers ---- */

/* exit(failure, info).  Upvalue: sys.exit.  An info that cannot be
 * marshalled gives back the export numbers it took (as a failed send
 * does), so a vat that catches the error can go on. */
static int
vp_exit(lua_State *L)
{
    int failure = lua_toboolean(L, 1);

    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushboolean(L, failure);
    lua_pushvalue(L, 2);
    if (lvat_lua_pcall_marshal(L, 2, 0) != LUA_OK)
        return lua_error(L);
    return 0;
}

/* ---- Baggage ---- */

/* __index of the baggage's method table until its first use: loads
 * luavat.baggage, copies its methods in and drops the metatable, so a
 * vat that never touches its baggage never holds them.  Upvalue: import. */
static int
baggage_first_use(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushliteral(L, "luavat.baggage");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "methods");
    lvat_lua_copy_fields(L, -1, 1);
    lua_pushnil(L);
    lua_setmetatable(L, 1); /* only once the copy is whole */
    lua_settop(L, 2);
    lua_rawget(L, 1);
    return 1;
}

/* Stack: sys, import.  Sets the runtime table's vatPowers and baggage.
 * [-0,+0,m] */
static void
set_powers(lua_State *L, int sys, int import)
{
    lvat_lua_reg(L, LVAT_REG_RUNTIME);
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, lvat_lua_print);
    lua_setfield(L, -2, "log");
    lua_getfield(L, sys, "exit");
    lua_pushcclosure(L, vp_exit, 1);
    lua_setfield(L, -2, "exit");
    lua_setfield(L, -2, "vatPowers");
    lua_getfield(L, sys, "newHostObject");
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, import);
    lua_pushcclosure(L, baggage_first_use, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushliteral(L, "baggage");
    lua_call(L, 2, 1);
    lua_setfield(L, -2, "baggage");
    lua_pop(L, 1);
}

/* ---- Install ---- */

void
lvat_lua_install_vatenv(lua_State *L, int env)
{
    int top = lua_gettop(L), sys, imp;

    env = lua_absindex(L, env);
    lua_getglobal(L, "sys");
    sys = lua_gettop(L);
    lua_getglobal(L, "import");
    imp = lua_gettop(L);
    lvat_lua_open_far(L, env);
    /* The vat's own: the runtime never reads it. */
    lvat_lua_open_promise(L);
    lua_setfield(L, env, "Promise");
    lvat_lua_reg(L, LVAT_REG_AWAIT);
    push_coroutine_lib(L, sys, lua_gettop(L));
    lua_setfield(L, env, "coroutine");
    set_powers(L, sys, imp);
    lua_settop(L, top);
}
