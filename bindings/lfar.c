/*
 * luavat.far: Far objects and eventual sends.  Far(iface, methods) marks a
 * table as a remotable object other vats can hold.  E(x):method(...) sends
 * at once and returns a promise: to a presence through the kernel, to a
 * promise the kernel knows by pipelining, to a local object in a later
 * turn of this vat.  E.sendOnly(x):method(...) sends with no result.
 *
 * In C, like the promises (lpromise.c): every vat holds it, and a send
 * from Lua through the proxy, the argument pack and the routing cost
 * several calls in bytecode.  Liveslots keeps the rollback of a failed
 * marshal and methodOf.
 */
#include "lbind.h"

#include <lauxlib.h>

#include "lpromise_int.h"

static int
is_remotable(lua_State *L, int idx)
{
    int yes;

    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, idx);
    yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
}

/* Pushes the vref of the promise at idx when the kernel decides it (an
 * import, or the result of a send, which this vat awaits), and returns
 * whether it did.  A promise this vat exported is decided here: a send
 * through the kernel would reach its value after a later one sent here
 * once it settled, so those go the local way.  [-0,+(0|1),-] */
static bool
push_promise_vref(lua_State *L, int idx)
{
    lvat_vref vref;
    bool awaited;

    if (!lvat_lua_promise_vref(L, idx, &vref))
        return false;
    lvat_lua_push_vref(L, vref);
    if (!lvat_vref_is_export(vref))
        return true;
    lvat_lua_reg(L, LVAT_REG_AWAITED);
    lua_pushvalue(L, -2);
    awaited = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, awaited ? 2 : 3); /* the entry, awaited (and the vref) */
    return awaited;
}

/* Far(iface, methods) -> methods, marked remotable. */
static int
l_far(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_error(L, "Far(iface, methods): iface must be a string");
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    } else if (lua_type(L, 2) != LUA_TTABLE) {
        return luaL_error(L, "Far(iface, methods): methods must be a table");
    } else if (lvat__p_is(L, 2)) {
        return luaL_error(L, "Far(iface, methods): a promise cannot be a "
                             "Far object");
    }
    lua_settop(L, 2);
    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* ---- Routing ---- */

/*
 * A send to one of this vat's own objects runs in a later turn, as its
 * own job: runJob(methodOf(obj, method), obj, p, unpack(args, 1, args.n)),
 * where the job settles p (a promise, or nil for a one-way send).
 * Upvalues: obj, method, args, p.
 */
static int
run_local(lua_State *L)
{
    int n;

    lua_pushcfunction(L, lvat_lua_run_job);
    lvat_lua_push_method(L, lua_upvalueindex(1), lua_upvalueindex(2));
    lua_getfield(L, lua_upvalueindex(3), "n");
    n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(4));
    if (n > LVAT_STACK_ARGS) { /* spread(obj, fn, args, n) */
        lua_pushvalue(L, -3);
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushinteger(L, n);
        lua_pushcfunction(L, lvat_lua_spread);
        lua_replace(L, -7);
        lua_call(L, 6, 0);
        return 0;
    }
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, lua_upvalueindex(3), i);
    lua_call(L, 3 + n, 0);
    return 0;
}

/* Queues run_local for obj, or runs it `now`; p is the promise it
 * settles (0: none). */
static void
queue_local(lua_State *L, int obj, int method, int args, int p, int now)
{
    lua_pushvalue(L, obj);
    lua_pushvalue(L, method);
    lua_pushvalue(L, args);
    if (p)
        lua_pushvalue(L, p);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, run_local, 4);
    if (now) {
        lua_call(L, 0, 0);
        return;
    }
    lvat__p_enqueue(L, lua_gettop(L), 0, 0, 0);
    lua_pop(L, 1);
}

/* Calls t:next(fn) with the function on top, popping it; pushes next's
 * promise.  [-1,+1,e] */
static void
push_next(lua_State *L, int t)
{
    lua_pushcfunction(L, lvat__p_next);
    lua_pushvalue(L, t);
    lua_rotate(L, -3, -1); /* next, t, fn */
    lua_call(L, 2, 1);
}

static void route(lua_State *L, int target, int method, int args, int only,
                  int now);

/* A promise's handler that sends to the value it took.  Upvalues: method,
 * args, and whether the send is one-way.  Already a later turn: a local
 * object's method runs now, as in JavaScript, so that it comes before
 * one sent since the promise settled (queued at once, for the next
 * turn, behind this handler). */
static int
send_later(lua_State *L)
{
    int only = lua_toboolean(L, lua_upvalueindex(3));

    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    route(L, 1, 2, 3, only, 1);
    return !only;
}

/* Pushes t:next(send_later) for method and args.  [-0,+1,e] */
static void
send_when_fulfilled(lua_State *L, int t, int method, int args, int only)
{
    lua_pushvalue(L, method);
    lua_pushvalue(L, args);
    lua_pushboolean(L, only);
    lua_pushcclosure(L, send_later, 3);
    push_next(L, t);
}

/* The send syscall to the vref on top, popping it; pushes the result vref
 * when `alloc` asks for one.  A failed marshal gives back its export
 * numbers (lvat_lua_pcall_marshal) and the error goes on. */
static void
checked_send(lua_State *L, int method, int args, int alloc)
{
    lua_pushcfunction(L, lvat_lua_sys_send);
    lua_insert(L, -2);
    lua_pushvalue(L, method);
    lua_pushvalue(L, args);
    lua_getfield(L, args, "n");
    if (alloc)
        lua_pushboolean(L, 1);
    else
        lua_pushnil(L);
    if (lvat_lua_pcall_marshal(L, 5, alloc ? 1 : 0) != LUA_OK)
        lua_error(L);
}

/* Pushes the result promise of a send to the vref on top, popping it.
 * The promise is awaited: the kernel will notify this vat of it. */
static void
send_to_vref(lua_State *L, int method, int args)
{
    int rv;

    checked_send(L, method, args, 1);
    rv = lua_gettop(L);
    lvat_lua_new_import(L, rv, true);
    lua_remove(L, rv);
}

/* Whether a send to the pending promise at idx goes on to the promise it
 * follows: it follows one, and no send waits on it here (a later send
 * queues behind those; sent on, it would overtake them).  [-0,+0,-] */
static bool
passes_on(lua_State *L, int idx)
{
    int top = lua_gettop(L);
    bool yes = lvat__p_get(L, idx, F_SENDS) == LUA_TNIL &&
               lvat__p_get(L, idx, F_FOLLOWS) == LUA_TTABLE;

    lua_settop(L, top);
    return yes;
}

/*
 * Replaces the value at idx by where a send to it goes: along the
 * promises it follows (see passes_on) and the promises it was fulfilled
 * with, to the first that is pending or rejected, or to a value that is
 * no promise.  Brent's check (as in lvat__p_walk_follows) ends a loop a
 * vat scribbled into its promises.  [-0,+0,-]
 */
static void
final_target(lua_State *L, int idx)
{
    lua_Integer steps = 0, power = 1;
    int st;

    lua_pushvalue(L, idx); /* the checkpoint */
    while (lvat__p_is(L, idx)) {
        st = lvat__p_state(L, idx);
        if (st == REJECTED || (st == PENDING && !passes_on(L, idx)))
            break;
        lvat__p_get(L, idx, st == FULFILLED ? F_VALUE : F_FOLLOWS);
        lua_replace(L, idx);
        if (lvat__p_looped(L, idx, &steps, &power))
            break;
    }
    lua_pop(L, 1);
}

/* Pushes a promise rejected with the message on top, popping it. */
static void
push_rejected(lua_State *L)
{
    lvat__p_push_new(L);
    lvat__p_reject(L, lua_gettop(L), lua_gettop(L) - 1);
    lua_remove(L, -2);
}

/* Pushes the vref a send to the value at t goes to at once: a presence's,
 * or a pending promise's the kernel knows.  [-0,+(0|1),-] */
static bool
push_direct_vref(lua_State *L, int t)
{
    lvat_vref vref;

    if (lvat_lua_to_presence(L, t, &vref)) {
        lvat_lua_push_vref(L, vref);
        return true;
    }
    return lvat__p_is(L, t) && lvat__p_state(L, t) == PENDING &&
           push_promise_vref(L, t);
}

/* Sends to the promise at t (its final target), one the kernel does not
 * know (push_direct_vref sends to those): once it is fulfilled.  A
 * rejected (or looping) promise rejects the result; a one-way send to it
 * goes nowhere.  Pushes the result's promise unless `only`.
 * [-0,+(0|1),e] */
static void
to_promise(lua_State *L, int t, int method, int args, int only)
{
    int st = lvat__p_state(L, t);

    if (st == PENDING) {
        lua_pushboolean(L, 1);
        lvat__p_set(L, t, F_SENDS); /* see final_target */
        send_when_fulfilled(L, t, method, args, only);
        if (only)
            lua_pop(L, 1);
    } else if (only) {
        /* nothing to send to, and nobody to tell */
        if (st == REJECTED)
            lvat__p_handled(L, t);
    } else if (st == REJECTED) {
        lvat__p_handled(L, t); /* the result's rejection now */
        lvat__p_get(L, t, F_VALUE);
        push_rejected(L);
    } else {
        lua_pushliteral(L, "E(x): x was fulfilled with a promise that leads "
                           "back to it");
        push_rejected(L);
    }
}

/*
 * Sends method(unpack(args)) to target: pushes a promise for the result,
 * or nothing for a one-way send (`only`), which also raises at once for a
 * target that cannot receive.  A local object's method runs in a later
 * turn, or `now`.  The indices are absolute or upvalues.
 * [-0,+(0|1),e]
 */
static void
route(lua_State *L, int target, int method, int args, int only, int now)
{
    int t;

    lua_pushvalue(L, target);
    t = lua_gettop(L);
    final_target(L, t);
    if (push_direct_vref(L, t)) {
        if (only)
            checked_send(L, method, args, 0);
        else
            send_to_vref(L, method, args);
    } else if (lvat__p_is(L, t)) {
        to_promise(L, t, method, args, only);
    } else if (lua_type(L, t) == LUA_TTABLE && is_remotable(L, t)) {
        if (!only)
            lvat__p_push_new(L);
        queue_local(L, t, method, args, only ? 0 : lua_gettop(L), now);
    } else if (only) {
        luaL_error(L, "E.sendOnly(x): x is %s, not a presence, Far object "
                      "or promise", luaL_typename(L, t));
    } else {
        lua_pushfstring(L, "E(x): x is %s, not a presence, Far object or "
                           "promise", luaL_typename(L, t));
        push_rejected(L);
    }
    if (only)
        lua_settop(L, t - 1);
    else
        lua_replace(L, t);
}

/* ---- E and its proxies ---- */

/* Packs the n values from index `from` on into a table with n.
 * [-0,+1,m] */
static void
pack(lua_State *L, int from, int n)
{
    lua_createtable(L, n, 1);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, from + i - 1);
        lua_rawseti(L, -2, i);
    }
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
}

/* The send syscall to the vref on top (popped) of the n arguments from
 * index `first` on, without a table; pushes the result's promise unless
 * `only`.  [-1,+(0|1),e] */
static void
send_args(lua_State *L, int method, int first, int n, int only)
{
    lvat_vref target;
    const char *m;
    size_t mlen;

    /* Scalar arguments cannot export: no protected call is needed. */
    if (lua_type(L, method) == LUA_TSTRING &&
        lvat_lua_to_vref(L, -1, &target) &&
        (m = lua_tolstring(L, method, &mlen)) != NULL &&
        lvat_lua_send_scalars(L, target, m, mlen, first, n, !only)) {
        if (!only) {
            lvat_lua_new_import(L, -1, true);
            lua_replace(L, -3);
        }
        lua_pop(L, 1);
        return;
    }
    luaL_checkstack(L, n + LUA_MINSTACK, "too many arguments");
    lua_pushcfunction(L, lvat_lua_sys_send_args);
    lua_insert(L, -2);
    lua_pushvalue(L, method);
    if (only)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 1);
    for (int i = 0; i < n; i++)
        lua_pushvalue(L, first + i);
    if (lvat_lua_pcall_marshal(L, 3 + n, only ? 0 : 1) != LUA_OK)
        lua_error(L);
    if (!only) {
        lvat_lua_new_import(L, -1, true);
        lua_remove(L, -2);
    }
}

/* E(x):method(...) and E.sendOnly(x):method(...).  Upvalues: the method
 * name, and whether the proxy is a sendOnly one.  A send that goes to
 * the kernel at once marshals the arguments where they are; the others
 * keep them in a table for later. */
static int
proxy_method(lua_State *L)
{
    int only = lua_toboolean(L, lua_upvalueindex(2));
    int n = lua_gettop(L) - 1, t = n + 2;

    if (!lvat_lua_has_mt(L, 1, only ? LVAT_REG_ONLY_MT : LVAT_REG_PROXY_MT)) {
        lua_pushvalue(L, lua_upvalueindex(1));
        return luaL_error(L, "call E%s(x):%s(...) with a colon",
                          only ? ".sendOnly" : "",
                          luaL_tolstring(L, -1, NULL));
    }
    lua_rawgeti(L, 1, 1);
    final_target(L, t);
    if (n <= LVAT_STACK_ARGS && push_direct_vref(L, t)) {
        send_args(L, lua_upvalueindex(1), 2, n, only);
        return !only;
    }
    pack(L, 2, n);
    route(L, t, lua_upvalueindex(1), t + 1, only, 0);
    return !only;
}

/* __index of a proxy's method cache, which is the proxy's __index: makes
 * the method function for a name the first time it is asked for, shared
 * by all proxies from then on (a hit is a table lookup, no call).
 * Upvalue: whether the proxy is a sendOnly one. */
static int
make_method(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, proxy_method, 2);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* Pushes {x} with the proxy metatable in registry slot `mt`. */
static int
make_proxy(lua_State *L, int x, int mt)
{
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, x);
    lua_rawseti(L, -2, 1);
    lvat_lua_reg(L, mt);
    lua_setmetatable(L, -2);
    return 1;
}

/*
 * E(x) and E.sendOnly(x): the proxy for x, kept (in registry slots
 * `target` and `proxy`) until the delivery ends, so a loop that sends to
 * one target makes one proxy, not one per send.  A proxy is read-only,
 * so sharing it shows nowhere.  [-0,+1,m]
 */
static int
push_proxy(lua_State *L, int x, int mt, int target, int proxy)
{
    lvat_lvat *v = lvat_lua_vat(L);

    if (v->e_kept) {
        lvat_lua_reg(L, target);
        if (lua_rawequal(L, -1, x) && lvat_lua_reg(L, proxy) != LUA_TNIL)
            return 1;
        lua_settop(L, x);
    }
    make_proxy(L, x, mt);
    lua_pushvalue(L, x);
    lvat_lua_set_reg(L, target);
    lua_pushvalue(L, -1);
    lvat_lua_set_reg(L, proxy);
    v->e_kept = true;
    return 1;
}

void
lvat_lua_forget_proxies(lua_State *L)
{
    static const int slots[] = {LVAT_REG_E_TARGET, LVAT_REG_E_PROXY,
                                LVAT_REG_ONLY_TARGET, LVAT_REG_ONLY_PROXY};
    lvat_lvat *v = lvat_lua_vat(L);

    if (!v->e_kept)
        return;
    for (size_t i = 0; i < LVAT_ARRAY_LEN(slots); i++) {
        lua_pushnil(L);
        lvat_lua_set_reg(L, slots[i]);
    }
    v->e_kept = false;
}

static int
e_call(lua_State *L)
{
    lua_settop(L, 2);
    return push_proxy(L, 2, LVAT_REG_PROXY_MT, LVAT_REG_E_TARGET,
                      LVAT_REG_E_PROXY);
}

static int
e_send_only(lua_State *L)
{
    lua_settop(L, 1);
    return push_proxy(L, 1, LVAT_REG_ONLY_MT, LVAT_REG_ONLY_TARGET,
                      LVAT_REG_ONLY_PROXY);
}

static int
proxy_newindex(lua_State *L)
{
    return luaL_error(L, "E(x) proxies are read-only");
}

/* Registers a proxy metatable, whose __index is its method cache.
 * [-0,+0,m] */
static void
register_proxy(lua_State *L, int mt, int only, const char *name)
{
    lua_createtable(L, 0, 3);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, only);
    lua_pushcclosure(L, make_method, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, proxy_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lvat_lua_set_reg(L, mt);
}

void
lvat_lua_open_far(lua_State *L, int env)
{
    register_proxy(L, LVAT_REG_PROXY_MT, 0, "E proxy");
    register_proxy(L, LVAT_REG_ONLY_MT, 1, "E.sendOnly proxy");
    lua_pushcfunction(L, l_far);
    lua_setfield(L, env, "Far");
    /* E is callable (E(x)) and has E.sendOnly(x). */
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, e_send_only);
    lua_setfield(L, -2, "sendOnly");
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, e_call);
    lua_setfield(L, -2, "__call");
    lua_pushliteral(L, "E");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, env, "E");
}
