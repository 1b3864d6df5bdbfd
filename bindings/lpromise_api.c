/*
 * The promise methods and the Promise table vat code uses (p:next,
 * p:catch, p:finally, tostring(p); Promise.kit/resolve/reject/all/
 * allSettled/any/race), and
 * the opening of luavat.promise (lpromise.c has the core).
 */
#include "lbind.h"

#include <lauxlib.h>

#include "llibs.h"
#include "lpromise_int.h"
#include "lstack.h"

/* ---- Methods vats use ---- */

/* runHandler(state, value, job): job = {out, onOk, onErr}.  A vat can
 * reach these jobs (and this function) through a promise's fields, so
 * nothing here trusts them: a bad job is an error, not a crash. */
static int
l_run_handler(lua_State *L)
{
    int ok = lua_type(L, 1) == LUA_TSTRING && lua_tostring(L, 1)[0] == 'f';

    lua_settop(L, 3);
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_rawgeti(L, 3, 1) != LUA_TTABLE) /* 4: out */
        return luaL_error(L, "a promise handler's job has no promise");
    /* 5: the handler; one that is not a function passes the outcome on */
    if (lua_rawgeti(L, 3, ok ? 2 : 3) != LUA_TFUNCTION) {
        if (ok)
            lvat__p_resolve(L, 4, 2);
        else
            lvat__p_settle(L, 4, REJECTED, 2);
        return 0;
    }
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
        lvat__p_resolve(L, 4, 5);
    else
        lvat__p_settle(L, 4, REJECTED, 5);
    return 0;
}

/* p:next(onOk, onErr) -> a promise for what the handler returns. */
int
lvat__p_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 3);
    lvat__p_push_new(L);                 /* 4: out */
    lua_pushcfunction(L, l_run_handler); /* 5 */
    lua_createtable(L, 3, 0);            /* 6: the job {out, onOk, onErr} */
    lua_pushvalue(L, 4);
    lua_rawseti(L, 6, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, 6, 2);
    lua_pushvalue(L, 3);
    lua_rawseti(L, 6, 3);
    lvat__p_when_settled(L, 1, 5, 6);
    lua_settop(L, 4);
    return 1;
}

static int
l_catch(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushnil(L);
    lua_insert(L, 2);
    return lvat__p_next(L);
}

/* Passes finally's outcome on.  Upvalues: the value or reason, and
 * whether it is a rejection. */
static int
finally_pass(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    return lua_toboolean(L, lua_upvalueindex(2)) ? lua_error(L) : 1;
}

/* finally's handlers: run the function, then pass the outcome on, once
 * the promise the function returned (if any) is fulfilled; its rejection
 * wins, as in JavaScript.  Upvalues: the function, and whether this is
 * the rejection handler. */
static int
finally_then(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 1); /* 2 */
    if (!lvat__p_is(L, 2)) {
        lua_settop(L, 1);
        return lua_toboolean(L, lua_upvalueindex(2)) ? lua_error(L) : 1;
    }
    lua_pushcfunction(L, lvat__p_next);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, finally_pass, 2);
    lua_call(L, 2, 1); /* returned:next(pass) */
    return 1;
}

static int
l_finally(lua_State *L)
{
    lua_settop(L, 2);
    for (int rejected = 0; rejected <= 1; rejected++) {
        lua_pushvalue(L, 2);
        lua_pushboolean(L, rejected);
        lua_pushcclosure(L, finally_then, 2);
    }
    lua_remove(L, 2);
    return lvat__p_next(L);
}

static int
l_tostring(lua_State *L)
{
    int st;

    luaL_checktype(L, 1, LUA_TTABLE);
    st = lvat__p_state(L, 1);
    lua_pushfstring(L, "Promise<%s", st == NOT_A_STATE ? "?" : lvat__p_state_names[st]);
    if (st == FULFILLED || st == REJECTED) {
        lua_pushliteral(L, " ");
        lvat__p_get(L, 1, F_VALUE);
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
        lua_concat(L, 3);
    }
    lua_pushliteral(L, ">");
    lua_concat(L, 2);
    return 1;
}

/* ---- The vat's Promise table ---- */

/* A kit's resolve and reject.  Upvalues: the kit's promise, and whether
 * this is reject. */
static int
kit_settle(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_toboolean(L, lua_upvalueindex(2)))
        lvat__p_reject(L, 2, 1);
    else
        lvat__p_resolve(L, 2, 1);
    return 0;
}

static int
api_is_promise(lua_State *L)
{
    lua_pushboolean(L, lvat__p_is(L, 1));
    return 1;
}

static int
api_kit(lua_State *L)
{
    lvat__p_push_new(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "promise");
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, kit_settle, 2);
    lua_setfield(L, -2, "resolve");
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, kit_settle, 2);
    lua_setfield(L, -2, "reject");
    return 1;
}

static int
api_resolve(lua_State *L)
{
    lua_settop(L, 1);
    if (lvat__p_is(L, 1))
        return 1;
    lvat__p_push_new(L);
    lvat__p_resolve(L, 2, 1);
    return 1;
}

static int
api_reject(lua_State *L)
{
    lua_settop(L, 1);
    lvat__p_push_new(L);
    lvat__p_settle(L, 2, REJECTED, 1);
    return 1;
}

/* The aggregate of a Promise.all, allSettled, any or race, an array. */
enum { AGG_OUT = 1, AGG_VALUES, AGG_LEFT, AGG_DONE, AGG_MODE };
enum { MODE_ALL, MODE_SETTLED, MODE_ANY, MODE_RACE };
static const char *const mode_names[] = {"all", "allSettled", "any", "race"};

/* Settles the aggregate's promise (at 6) with the value at `value` once. */
static void
agg_settle(lua_State *L, int st, int value)
{
    lua_pushboolean(L, 1);
    lua_rawseti(L, 4, AGG_DONE);
    lvat__p_settle(L, 6, st, value);
}

/* Records what item job[2] came to (at `value`) in the values list,
 * which it leaves on top; true when that item was the last one left. */
static bool
agg_record(lua_State *L, int value)
{
    lua_Integer left;
    int list;

    if (lua_rawgeti(L, 4, AGG_VALUES) != LUA_TTABLE)
        luaL_error(L, "a Promise aggregate step has no list");
    list = lua_gettop(L);
    lua_rawgeti(L, 3, 2);
    lua_pushvalue(L, value);
    lua_rawset(L, list);
    lua_rawgeti(L, 4, AGG_LEFT);
    left = lua_tointeger(L, -1) - 1;
    lua_pop(L, 1);
    lua_pushinteger(L, left);
    lua_rawseti(L, 4, AGG_LEFT);
    return left == 0;
}

/* Pushes Promise.any's rejection: {message=, errors=} with the list of
 * reasons at `errors`.  [-0,+1,m] */
static void
push_any_error(lua_State *L, int errors)
{
    errors = lua_absindex(L, errors);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "Promise.any: every promise was rejected");
    lua_setfield(L, -2, "message");
    lua_pushvalue(L, errors);
    lua_setfield(L, -2, "errors");
}

/* step(state, value, job): job = {agg, i}.  all: the values, or the
 * first rejection; allSettled: {status=, value= or reason=} for each;
 * any: the first value, or {message=, errors=} when all reject; race: the
 * first to settle, either way. */
static int
agg_step(lua_State *L)
{
    bool ok;
    int mode;

    lua_settop(L, 3);
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_rawgeti(L, 3, 1) != LUA_TTABLE) /* 4: agg (see l_run_handler) */
        return luaL_error(L, "a Promise aggregate step has no aggregate");
    if (lua_rawgeti(L, 4, AGG_DONE) != LUA_TNIL)
        return 0;
    if (lua_rawgeti(L, 4, AGG_OUT) != LUA_TTABLE) /* 6 */
        return luaL_error(L, "a Promise aggregate step has no promise");
    ok = lua_type(L, 1) == LUA_TSTRING && lua_tostring(L, 1)[0] == 'f';
    lua_rawgeti(L, 4, AGG_MODE);
    mode = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (mode == MODE_RACE || (mode == MODE_ALL && !ok) ||
        (mode == MODE_ANY && ok)) {
        agg_settle(L, ok ? FULFILLED : REJECTED, 2);
    } else if (mode == MODE_SETTLED) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, ok ? "fulfilled" : "rejected");
        lua_setfield(L, -2, "status");
        lua_pushvalue(L, 2);
        lua_setfield(L, -2, ok ? "value" : "reason");
        if (agg_record(L, lua_gettop(L)))
            agg_settle(L, FULFILLED, lua_gettop(L));
    } else if (agg_record(L, 2)) {
        /* A plain list (as in JavaScript), so a method can return it. */
        int list = lua_gettop(L);
        if (mode == MODE_ALL)
            agg_settle(L, FULFILLED, list);
        else {
            push_any_error(L, list);
            agg_settle(L, REJECTED, lua_gettop(L));
        }
    }
    return 0;
}

/* How many items list holds (list.n, when set, counts nil holes), or
 * raises naming the call. */
static lua_Integer
agg_count(lua_State *L, const char *name)
{
    lua_Integer n;
    int isint;

    /* Raised here, the error names the vat's line; indexing a nil in C
     * said only "attempt to index a nil value". */
    if (!lua_istable(L, 1))
        luaL_error(L, "Promise.%s(list): list must be a table, not %s", name,
                   luaL_typename(L, 1));
    if (lua_getfield(L, 1, "n") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_len(L, 1);
    }
    n = lua_tointegerx(L, -1, &isint);
    if (!isint)
        luaL_error(L, "Promise.%s(list): list.n (or #list) must be an "
                      "integer", name);
    lua_pop(L, 1);
    return n;
}

/* An empty list: all and allSettled fulfil with {}, any rejects, race
 * stays pending (as in JavaScript).  Stack: list, out. */
static void
agg_empty(lua_State *L, int mode)
{
    lua_newtable(L); /* 3: the values, or any's reasons */
    if (mode == MODE_ANY)
        push_any_error(L, 3);
    if (mode != MODE_RACE)
        lvat__p_settle(L, 2, mode == MODE_ANY ? REJECTED : FULFILLED,
                       lua_gettop(L));
    lua_settop(L, 2);
}

static int
aggregate(lua_State *L, int mode)
{
    lua_Integer n;

    lua_settop(L, 1);
    n = agg_count(L, mode_names[mode]);
    lvat__p_push_new(L); /* 2: out */
    if (n <= 0) {
        agg_empty(L, mode);
        return 1;
    }
    lua_createtable(L, 5, 0); /* 3: agg */
    lua_pushvalue(L, 2);
    lua_rawseti(L, 3, AGG_OUT);
    lua_createtable(L, (int)(n < 1024 ? n : 1024), 0);
    lua_rawseti(L, 3, AGG_VALUES);
    lua_pushinteger(L, n);
    lua_rawseti(L, 3, AGG_LEFT);
    lua_pushinteger(L, mode);
    lua_rawseti(L, 3, AGG_MODE);
    lua_pushcfunction(L, agg_step); /* 4 */
    lvat__p_push_state(L, FULFILLED); /* 5 */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i); /* 6 */
        lua_createtable(L, 2, 0); /* 7: the job */
        lua_pushvalue(L, 3);
        lua_rawseti(L, 7, 1);
        lua_pushinteger(L, i);
        lua_rawseti(L, 7, 2);
        if (lvat__p_is(L, 6))
            lvat__p_when_settled(L, 6, 4, 7);
        else
            lvat__p_enqueue(L, 4, 5, 6, 7);
        lua_settop(L, 5);
    }
    lua_settop(L, 2);
    return 1;
}

/* Promise.all(list): a promise for the list of their values, rejected by
 * the first rejection.  list.n, when set, counts nil holes. */
static int
api_all(lua_State *L)
{
    return aggregate(L, MODE_ALL);
}

static int
api_all_settled(lua_State *L)
{
    return aggregate(L, MODE_SETTLED);
}

static int
api_any(lua_State *L)
{
    return aggregate(L, MODE_ANY);
}

static int
api_race(lua_State *L)
{
    return aggregate(L, MODE_RACE);
}

/* ---- Opening ---- */

/* The Promise metatable.  Its methods are a table of their own: were the
 * metatable its own __index, p.__index would hand a vat the metatable
 * (to forge promises, or add a __gc).  [-0,+1,m] */
static void
push_metatable(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"next", lvat__p_next}, {"catch", l_catch}, {"finally", l_finally},
        {"await", lvat__p_await}, {NULL, NULL}};

    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_createtable(L, 0, 4);
    lvat_lua_set_funcs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "Promise");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "Promise");
    lua_setfield(L, -2, "__name");
}

void
lvat_lua_open_promise(lua_State *L)
{
    static const luaL_Reg api[] = {
        {"kit", api_kit},
        {"resolve", api_resolve},
        {"reject", api_reject},
        {"all", api_all},
        {"allSettled", api_all_settled},
        {"any", api_any},
        {"race", api_race},
        {"isPromise", api_is_promise},
        {NULL, NULL}};

    LVAT_STACK_ENTER(L);
    lvat__p_register(L);
    push_metatable(L);
    lvat_lua_set_reg(L, LVAT_REG_PROMISE_MT);
    lua_newtable(L); /* the marker await yields to the runtime */
    lvat_lua_set_reg(L, LVAT_REG_AWAIT);
    lua_createtable(L, 0, 8);
    lvat_lua_set_funcs(L, api);
    LVAT_STACK_LEAVE(L, 1);
}
