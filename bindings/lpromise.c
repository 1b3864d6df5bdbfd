/*
 * luavat.promise: promises for vat code, settled in a per-delivery
 * microtask queue that the runtime drains before a delivery ends.  In C
 * because every vat holds it and every message settles promises: C
 * functions carry no per-state prototypes (an idle vat is ~8 KB smaller)
 * and run several times faster than the same logic in bytecode.
 *
 * A promise is a table with a private metatable (vats see only the string
 * "Promise" from getmetatable) whose integer keys hold its state (F_* in
 * lpromise_int.h): the state, the value, the first callback and its
 * argument, how many more there are, and, while it follows another
 * promise, that one and a lock.  resolve(p, q) with a promise q makes p
 * follow q.  p:await() suspends the running delivery until p settles;
 * p:next(ok, err) chains.  A settled state is visible at once to await,
 * so awaiting a settled promise never yields.
 *
 * A vat holds its promise tables and may scribble on them: every field
 * read here is type-checked, so that only ever misleads the vat itself.
 */
#include "lbind.h"

#include <stdio.h>

#include <lauxlib.h>

#include "lpromise_int.h"

const char *const lvat__p_state_names[] = {"pending", "fulfilled", "rejected"};
/* A promise's fields are its first integer keys (F_*; the first four in
 * the array part, and F_VREF too for a promise made as an import): no
 * name a vat could write by accident, and the fastest lookup Lua has.
 * Callbacks after the first follow the fields, two slots each. */
#define EXTRA(i) (F_COUNT + 2 * (i) - 2)

/* ---- Fields ---- */

static void
set_nil(lua_State *L, int t, int field)
{
    t = lua_absindex(L, t);
    lua_pushnil(L);
    lua_rawseti(L, t, field);
}

void
lvat__p_push_state(lua_State *L, int st)
{
    lvat_lua_reg(L, LVAT_REG_PENDING + st);
}

int
lvat__p_state(lua_State *L, int p)
{
    int isint;
    lua_Integer st;

    lua_rawgeti(L, p, F_STATE);
    st = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    return isint && st >= PENDING && st <= REJECTED ? (int)st : NOT_A_STATE;
}

int
lvat__p_is(lua_State *L, int v)
{
    return lua_type(L, v) == LUA_TTABLE &&
           lvat_lua_has_mt(L, v, LVAT_REG_PROMISE_MT) &&
           lvat__p_state(L, v) != NOT_A_STATE;
}

/* Pushes a new pending promise.  [-0,+1,m] */
void
lvat__p_push_new(lua_State *L)
{
    /* Sized for the fields nearly every promise gets. */
    lvat__p_push_new_sized(L, F_ARG);
}

void
lvat__p_push_new_sized(lua_State *L, int n)
{
    lua_createtable(L, n, 0);
    lua_pushinteger(L, PENDING);
    lua_rawseti(L, -2, F_STATE);
    lvat_lua_reg(L, LVAT_REG_PROMISE_MT);
    lua_setmetatable(L, -2);
}

/* ---- Microtasks ---- */

/* Queues fn(a, b, c) (stack indices; 0 for nil).  [-0,+0,m] */
void
lvat__p_enqueue(lua_State *L, int fn, int a, int b, int c)
{
    lvat_lvat *v = lvat_lua_vat(L);
    const int args[4] = {fn, a, b, c};
    lua_Integer at = v->mq_tail * 4;

    lvat_lua_reg(L, LVAT_REG_QUEUE);
    for (int i = 0; i < 4; i++) {
        if (args[i] == 0)
            lua_pushnil(L);
        else
            lua_pushvalue(L, args[i]);
        lua_rawseti(L, -2, at + i + 1);
    }
    lua_pop(L, 1);
    v->mq_tail++;
}

/* ---- Unhandled rejections ---- */

/* The promises rejected with nothing to take the rejection, in order,
 * since the microtasks last ran out: a list in the registry, made at the
 * first one.  Each carries F_UNHANDLED until something takes it. */
static void
note_unhandled(lua_State *L, int p)
{
    lua_pushboolean(L, 1);
    lvat__p_set(L, p, F_UNHANDLED);
    lvat_lua_vat(L)->unhandled = true;
    if (lvat_lua_reg(L, LVAT_REG_UNHANDLED) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lvat_lua_set_reg(L, LVAT_REG_UNHANDLED);
    }
    lua_pushvalue(L, p);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

void
lvat__p_handled(lua_State *L, int p)
{
    int unhandled = lvat__p_get(L, p, F_UNHANDLED) != LUA_TNIL;

    lua_pop(L, 1);
    if (unhandled)
        set_nil(L, p, F_UNHANDLED);
}

/* Logs the rejection reason on top, without running vat code (no
 * metamethod): a string, an error record's message, or its type.
 * [-1,+0,-] */
static void
log_unhandled(lua_State *L, lvat_lvat *v)
{
    int top = lua_gettop(L), type = lua_type(L, top), n;
    const char *why = NULL;
    char line[300];

    if (type == LUA_TSTRING || type == LUA_TNUMBER)
        why = lua_tostring(L, top);
    else if (type == LUA_TTABLE &&
             (lua_pushliteral(L, "message"), lua_rawget(L, top)) ==
                 LUA_TSTRING) /* raw: a getfield ran the vat's __index */
        why = lua_tostring(L, -1);
    n = snprintf(line, sizeof line, "unhandled rejection: %s%s",
                 why ? why : "a ", why ? "" : lua_typename(L, type));
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    if (v->sys != NULL)
        lvat_syscall_log(v->sys, line, (size_t)n);
    lua_settop(L, top - 1);
}

/* When the microtasks run out, says which rejections nothing took (as a
 * JavaScript host does then) and forgets them.  [-0,+0,m] */
static void
report_unhandled(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    int list;

    if (!v->unhandled)
        return;
    v->unhandled = false;
    lvat_lua_reg(L, LVAT_REG_UNHANDLED);
    list = lua_gettop(L);
    lua_pushboolean(L, 0);
    lvat_lua_set_reg(L, LVAT_REG_UNHANDLED);
    for (lua_Integer i = 1; lua_rawgeti(L, list, i) != LUA_TNIL; i++) {
        int p = lua_gettop(L);
        if (lvat__p_get(L, p, F_UNHANDLED) != LUA_TNIL) {
            set_nil(L, p, F_UNHANDLED);
            lvat__p_get(L, p, F_VALUE);
            log_unhandled(L, v);
        }
        lua_settop(L, list);
    }
    lua_settop(L, list - 1);
}

/* drain(): runs queued callbacks (and any they queue) until none are
 * left, then reports unhandled rejections.  A callback's error leaves
 * the rest queued. */
int
lvat_lua_drain(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);

    lua_settop(L, 0);
    lvat_lua_reg(L, LVAT_REG_QUEUE);
    while (v->mq_head < v->mq_tail) {
        lua_Integer at = v->mq_head++ * 4;
        for (int i = 1; i <= 4; i++) {
            lua_rawgeti(L, 1, at + i);
            lua_pushnil(L);
            lua_rawseti(L, 1, at + i);
        }
        lua_call(L, 3, 0);
    }
    v->mq_head = v->mq_tail = 0;
    report_unhandled(L);
    return 0;
}

/* ---- Core ---- */

/* The callback count of the promise at p, within 0 .. 2^30 (a vat may
 * have written anything there). */
static lua_Integer
extra_count(lua_State *L, int p)
{
    lua_Integer n;

    lvat__p_get(L, p, F_N);
    n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return n >= 0 && n <= ((lua_Integer)1 << 30) ? n : 0;
}

/* Registers cb(state, value, arg) to run as a microtask once p settles. */
void
lvat__p_when_settled(lua_State *L, int p, int cb, int arg)
{
    int st = lvat__p_state(L, p);
    lua_Integer n;

    if (st != PENDING) {
        if (st != FULFILLED)
            lvat__p_handled(L, p);
        lvat__p_push_state(L, st == NOT_A_STATE ? REJECTED : st);
        lvat__p_get(L, p, F_VALUE);
        lvat__p_enqueue(L, cb, lua_gettop(L) - 1, lua_gettop(L), arg);
        lua_pop(L, 2);
        return;
    }
    if (lvat__p_get(L, p, F_CB) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, cb);
        lvat__p_set(L, p, F_CB);
        lua_pushvalue(L, arg);
        lvat__p_set(L, p, F_ARG);
        return;
    }
    lua_pop(L, 1);
    n = extra_count(L, p) + 1;
    lua_pushinteger(L, n);
    lvat__p_set(L, p, F_N);
    lua_pushvalue(L, cb);
    lua_rawseti(L, p, EXTRA(n));
    lua_pushvalue(L, arg);
    lua_rawseti(L, p, EXTRA(n) + 1);
}

/* Settles p (if pending) and queues its callbacks.  [-0,+0,m] */
void
lvat__p_settle(lua_State *L, int p, int st, int value)
{
    int top = lua_gettop(L), s, val;
    lua_Integer n;

    if (lvat__p_state(L, p) != PENDING)
        return;
    lvat__p_push_state(L, st);
    s = lua_gettop(L);
    lua_pushvalue(L, value);
    val = s + 1;
    lua_pushinteger(L, st);
    lvat__p_set(L, p, F_STATE);
    lua_pushvalue(L, val);
    lvat__p_set(L, p, F_VALUE);
    /* Only a pending promise's link is followed: a settled one that kept
     * it would keep the whole chain behind it alive. */
    set_nil(L, p, F_FOLLOWS);
    if (lvat__p_get(L, p, F_CB) != LUA_TNIL) {
        lvat__p_get(L, p, F_ARG);
        lvat__p_enqueue(L, val + 1, s, val, val + 2);
        set_nil(L, p, F_CB);
        set_nil(L, p, F_ARG);
    } else if (st == REJECTED) {
        note_unhandled(L, p); /* no callback: the first is in F_CB */
    }
    lua_settop(L, val);
    n = extra_count(L, p);
    /* A count a vat inflated ends at the first missing callback. */
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, p, EXTRA(i)) == LUA_TNIL) {
            lua_pop(L, 1);
            break;
        }
        lua_rawgeti(L, p, EXTRA(i) + 1);
        lvat__p_enqueue(L, val + 1, s, val, val + 2);
        lua_pop(L, 2);
        lua_pushnil(L);
        lua_rawseti(L, p, EXTRA(i));
        lua_pushnil(L);
        lua_rawseti(L, p, EXTRA(i) + 1);
    }
    if (n > 0)
        set_nil(L, p, F_N);
    lua_settop(L, top);
}

/* Replaces the promise at idx by the one it follows, while it follows a
 * pending promise; stops at `stop` (0: none).  Chains the runtime makes
 * never loop, but a vat can scribble one: Brent's cycle check (a
 * checkpoint that moves at powers of two) ends the walk there instead of
 * spinning where no hook can stop it.  [-0,+0,-] */
void
lvat__p_walk_follows(lua_State *L, int idx, int stop)
{
    lua_Integer steps = 0, power = 1;

    lua_pushvalue(L, idx); /* the checkpoint */
    while (!(stop && lua_rawequal(L, idx, stop)) &&
           lvat__p_state(L, idx) == PENDING) {
        if (lvat__p_get(L, idx, F_FOLLOWS) != LUA_TTABLE) {
            lua_pop(L, 1);
            break;
        }
        lua_replace(L, idx);
        if (lvat__p_looped(L, idx, &steps, &power))
            break;
    }
    lua_pop(L, 1);
}

int
lvat__p_looped(lua_State *L, int idx, lua_Integer *steps, lua_Integer *power)
{
    if (lua_rawequal(L, idx, -1))
        return 1;
    if (++*steps == *power) {
        lua_pushvalue(L, idx);
        lua_replace(L, -2);
        *power *= 2;
        *steps = 0;
    }
    return 0;
}

static int l_follow(lua_State *L);

/* Whether p following the promise v would close a loop: v's chain leads
 * back to p.  Only a promise something follows can be on a chain, so
 * the walk is skipped for the others: walking at every link made a
 * chain built from its tail (each new promise following the last)
 * quadratic.  [-0,+0,-] */
static bool
makes_cycle(lua_State *L, int p, int v)
{
    bool loop;

    if (lua_rawequal(L, p, v))
        return true;
    if (lvat__p_get(L, p, F_FOLLOWED) == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, v);
    lvat__p_walk_follows(L, lua_gettop(L), p);
    loop = lua_rawequal(L, -1, p);
    lua_pop(L, 1);
    return loop;
}

/* lvat__p_resolve(p, v): p takes v's outcome when v is a promise, else v. */
void
lvat__p_resolve(lua_State *L, int p, int v)
{
    lvat__p_get(L, p, F_LOCKED);
    if (lvat__p_state(L, p) != PENDING || lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (!lvat__p_is(L, v)) {
        lvat__p_settle(L, p, FULFILLED, v);
        return;
    }
    if (makes_cycle(L, p, v)) {
        lua_pushliteral(L, "promise cycle: a promise was resolved to a "
                           "promise that follows it");
        lvat__p_settle(L, p, REJECTED, lua_gettop(L));
        lua_pop(L, 1);
        return;
    }
    lua_pushboolean(L, 1);
    lvat__p_set(L, p, F_LOCKED);
    lua_pushvalue(L, v);
    lvat__p_set(L, p, F_FOLLOWS);
    lua_pushboolean(L, 1);
    lvat__p_set(L, v, F_FOLLOWED);
    lua_pushcfunction(L, l_follow);
    lvat__p_when_settled(L, v, lua_gettop(L), p);
    lua_pop(L, 1);
    /* Liveslots hears when a promise starts following another, to let
     * the kernel forward exported promises. */
    lvat_lua_on_follow(L, p);
}

void
lvat__p_reject(lua_State *L, int p, int reason)
{
    int locked;

    lvat__p_get(L, p, F_LOCKED);
    locked = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!locked)
        lvat__p_settle(L, p, REJECTED, reason);
}

/* follow(state, value, p): a followed promise settled. */
static int
l_follow(lua_State *L)
{
    luaL_checktype(L, 3, LUA_TTABLE);
    set_nil(L, 3, F_LOCKED);
    if (lua_type(L, 1) == LUA_TSTRING && lua_tostring(L, 1)[0] == 'f')
        lvat__p_resolve(L, 3, 2);
    else
        lvat__p_settle(L, 3, REJECTED, 2);
    return 0;
}

/* ---- Await ---- */

/* Resumed with (state, value): the promise is at 1. */
static int
await_done(lua_State *L, int status, lua_KContext ctx)
{
    int ok;

    (void)status;
    (void)ctx;
    lua_settop(L, 3);
    lvat__p_push_state(L, FULFILLED);
    ok = lua_rawequal(L, 2, 4);
    lua_pop(L, 1);
    return ok ? 1 : lua_error(L);
}

int
lvat__p_await(lua_State *L)
{
    int st;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    st = lvat__p_state(L, 1);
    if (st == FULFILLED || st == REJECTED) {
        if (st == REJECTED)
            lvat__p_handled(L, 1);
        lvat__p_get(L, 1, F_VALUE);
        return st == FULFILLED ? 1 : lua_error(L);
    }
    if (!lua_isyieldable(L))
        return luaL_error(L, "cannot await here: only a method's own code "
                             "(and coroutines it runs) can wait, not a "
                             ":next/:catch/:finally handler, metamethod, "
                             "sort comparator, required chunk or "
                             "buildRootObject; await in the method, or "
                             "return the promise (a handler's is waited "
                             "for)");
    lvat_lua_reg(L, LVAT_REG_AWAIT);
    lua_pushvalue(L, 1);
    return lua_yieldk(L, 2, 0, await_done);
}

void
lvat__p_register(lua_State *L)
{
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_QUEUE);
    for (int st = PENDING; st <= REJECTED; st++) {
        lua_pushstring(L, lvat__p_state_names[st]);
        lvat_lua_set_reg(L, LVAT_REG_PENDING + st);
    }
}
