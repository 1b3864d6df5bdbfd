/*
 * Liveslots: what of the vat side of the kernel protocol the other files
 * of the C runtime do not hold.  Exports and their rollback, exported
 * promises that settle or follow others, the method of an object, the
 * deliveries other than messages and notifies, reaping and start.
 *
 * It was Lua (lua/luavat/liveslots.lua), and every vat's state undumped
 * its bytecode and ran its main chunk at launch: 11.6 KB of a 42 KB idle
 * heap and about a fifth of a launch's instructions, for 267 lines.
 */
#include "lbind.h"

#include <ctype.h>
#include <string.h>

#include <lauxlib.h>

#include "lpromise_int.h"

void
lvat_lua_liveslots_open(lua_State *L)
{
    lua_createtable(L, 0, 2); /* vatPowers, baggage */
    lvat_lua_set_reg(L, LVAT_REG_RUNTIME);
    lua_newtable(L); /* vref -> exported object (strong) */
    lvat_lua_set_reg(L, LVAT_REG_EXPORTS);
}

/* Sets t[vref] = the value on top, popping it.  [-1,+0,m] */
static void
set_by_vref(lua_State *L, int slot, lvat_vref vref)
{
    lvat_lua_reg(L, slot);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)vref.v);
    lua_pop(L, 1);
}

/* Forgets vref (lnotify.c) and, for an export, drops it.  [-0,+0,-] */
static void
forget(lua_State *L, lvat_vref vref, bool drop_export)
{
    if (drop_export) {
        lua_pushnil(L);
        set_by_vref(L, LVAT_REG_EXPORTS, vref);
    }
    lvat_lua_push_vref(L, vref);
    lvat_lua_forget(L, lua_gettop(L));
    lua_pop(L, 1);
}

/* The vrefs of the array at idx, as the kernel says (dispatch's kind):
 * exports it dropped ('d') leave the exports, exports it retired ('r')
 * leave them and are forgotten, imports it retired ('i') are forgotten.
 * [-0,+0,e] */
static void
retire_all(lua_State *L, int idx, char kind)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);

    for (lua_Integer i = 1; i <= n; i++) {
        lvat_vref vref;
        lua_rawgeti(L, idx, i);
        vref = lvat_lua_check_vref(L, -1);
        lua_pop(L, 1);
        if (kind == 'd') {
            lua_pushnil(L);
            set_by_vref(L, LVAT_REG_EXPORTS, vref);
        } else {
            forget(L, vref, kind == 'r');
        }
    }
}

void
lvat_lua_rollback(lua_State *L, uint64_t o, uint64_t p)
{
    lvat_lvat *v = lvat_lua_vat(L);

    for (uint64_t i = o; i < v->next_obj; i++)
        forget(L, lvat_vref_make(false, true, i), true);
    for (uint64_t i = p; i < v->next_prom; i++)
        forget(L, lvat_vref_make(true, true, i), false);
    v->next_obj = o;
    v->next_prom = p;
}

/* ---- Words for a failure ---- */

static int
l_tostring(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

bool
lvat_lua_push_tostring(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, l_tostring);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        return true;
    lua_pop(L, 1);
    lua_pushnil(L);
    return false;
}

/* Whether s is tostring's default form of a table or userdata: a name of
 * letters, digits and dots, then ": 0x" and hex digits. */
static bool
default_form(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '.'))
        i++;
    if (i == 0 || len - i < 5 || memcmp(s + i, ": 0x", 4) != 0)
        return false;
    for (i += 4; i < len; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

void
lvat_lua_push_failed_reason(lua_State *L, bool rejected, int value, int err)
{
    err = lua_absindex(L, err);
    if (rejected) {
        size_t len;
        if (lvat_lua_push_tostring(L, value)) {
            const char *s = lua_tolstring(L, -1, &len);
            if (!default_form(s, len))
                return;
        }
        lua_pop(L, 1);
    }
    luaL_tolstring(L, err, NULL);
}

/* ---- Exports ---- */

/* whenSettled's callback for an exported promise: (state, value, p).  Its
 * vref is looked up now: a promise the kernel already forwards elsewhere
 * (see lvat_lua_on_follow), or whose export was rolled back, has none
 * and needs no resolve. */
static int
on_export_settled(lua_State *L)
{
    lvat_vref vref;

    lua_settop(L, 3);
    if (!lvat_lua_promise_vref(L, 3, &vref))
        return 0;
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lua_rawgeti(L, -1, (lua_Integer)vref.v);
    if (!lua_rawequal(L, -1, 3))
        return 0;
    lua_pushcfunction(L, lvat_lua_resolve_vpid);
    lvat_lua_push_vref(L, vref);
    lvat_lua_reg(L, LVAT_REG_REJECTED);
    lua_pushboolean(L, lua_rawequal(L, -1, 1));
    lua_replace(L, -2);
    lua_pushvalue(L, 2);
    lua_call(L, 3, 0);
    return 0;
}

/* A new export of the promise at p (absolute), as vref.  [-0,+0,m] */
static void
export_promise(lua_State *L, int p, lvat_vref vref)
{
    lvat_lua_bind_promise(L, p, vref);
    lua_pushcfunction(L, on_export_settled);
    lvat__p_when_settled(L, p, lua_gettop(L), p);
    lua_pop(L, 1);
}

/* The Far object at idx (absolute) is exported as vref: known by it both
 * ways and held until the kernel drops it.  [-0,+0,m] */
static void
bind_export(lua_State *L, int idx, lvat_vref vref)
{
    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lua_pushvalue(L, idx);
    lvat_lua_push_vref(L, vref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    set_by_vref(L, LVAT_REG_SLOT2VAL, vref);
    lua_pushvalue(L, idx);
    set_by_vref(L, LVAT_REG_EXPORTS, vref);
}

lvat_vref
lvat_lua_export_val(lua_State *L, int idx)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lvat_vref vref;
    bool far;

    idx = lua_absindex(L, idx);
    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, idx);
    far = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (far) {
        vref = lvat_vref_make(false, true, v->next_obj++);
        bind_export(L, idx, vref);
        return vref;
    }
    if (!lvat__p_is(L, idx))
        luaL_error(L, "cannot export a %s: only Far objects and promises "
                      "leave a vat", luaL_typename(L, idx));
    /* A promise that already follows another one is sent as the end of
     * its chain. */
    lua_pushvalue(L, idx);
    lvat__p_walk_follows(L, lua_gettop(L), 0);
    if (!lua_rawequal(L, -1, idx)) {
        if (!lvat_lua_promise_vref(L, -1, &vref))
            vref = lvat_lua_export_val(L, -1);
        lua_pop(L, 1);
        return vref;
    }
    lua_pop(L, 1);
    vref = lvat_vref_make(true, true, v->next_prom++);
    export_promise(L, idx, vref);
    return vref;
}

void
lvat_lua_on_follow(lua_State *L, int p)
{
    lvat_vref vref, tail;
    bool mine;

    p = lua_absindex(L, p);
    if (!lvat_lua_promise_vref(L, p, &vref) ||
        !lvat_vref_is_promise(vref) || !lvat_vref_is_export(vref))
        return;
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lua_rawgeti(L, -1, (lua_Integer)vref.v);
    mine = lua_rawequal(L, -1, p);
    lua_pop(L, 2);
    if (!mine)
        return;
    /* When the end of the chain is a promise the kernel knows (an import
     * or a send's result), the export is resolved to it at once, so the
     * kernel forwards: messages queued on the export move there, a cycle
     * through other vats is seen by the kernel, and this vat stops
     * deciding it.  A purely local chain is left to settle here. */
    lua_pushvalue(L, p);
    lvat__p_walk_follows(L, lua_gettop(L), 0);
    if (!lua_rawequal(L, -1, p) && lvat__p_state(L, -1) == PENDING &&
        lvat_lua_promise_vref(L, -1, &tail)) {
        lua_pushcfunction(L, lvat_lua_sys_resolve);
        lvat_lua_push_vref(L, vref);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -4);
        lua_call(L, 3, 0);
        forget(L, vref, false);
    }
    lua_pop(L, 1);
}

/* ---- Methods ---- */

/* The function a method without a method raises with.  Upvalues: the
 * object and the method's name. */
static int
no_method(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_getfield(L, -1, "string"); /* the runtime's own (llibs.c) */
    lua_getfield(L, -1, "format");
    lua_pushliteral(L, "%s has no method %q");
    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushliteral(L, "object");
    }
    lua_remove(L, -2);
    luaL_tolstring(L, lua_upvalueindex(2), NULL);
    lua_call(L, 3, 1);
    return lua_error(L);
}

/* The function a method raises with when looking it up raised: the
 * error is the vat's, and rejects the result.  Upvalue: the error. */
static int
raise_upvalue(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    return lua_error(L);
}

static int
index_of(lua_State *L)
{
    lua_gettable(L, 1);
    return 1;
}

void
lvat_lua_push_method(lua_State *L, int obj, int method)
{
    obj = lua_absindex(L, obj);
    method = lua_absindex(L, method);
    if (lua_type(L, method) == LUA_TSTRING) {
        bool found = false;
        if (lua_type(L, obj) == LUA_TTABLE) {
            lua_pushvalue(L, method);
            found = lua_rawget(L, obj) != LUA_TNIL;
            if (!found)
                lua_pop(L, 1);
        }
        if (!found) {
            lua_pushcfunction(L, index_of);
            lua_pushvalue(L, obj);
            lua_pushvalue(L, method);
            if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
                lua_pushcclosure(L, raise_upvalue, 1);
                return;
            }
        }
        if (lua_type(L, -1) == LUA_TFUNCTION)
            return;
        lua_pop(L, 1);
    }
    lua_pushvalue(L, obj);
    lua_pushvalue(L, method);
    lua_pushcclosure(L, no_method, 2);
}

/* ---- Garbage collection of imports ---- */

/* Drops and retires the imports of the vref array at idx that nothing
 * here holds: no presence in the heap, no baggage value naming them.  A
 * vref may come twice (its presence collected and baggage letting go of
 * it, or two presences in turn): a second drop would be an illegal
 * syscall.  [-0,+0,e] */
static void
drop_unheld(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), ndrops = 0;
    int drops, seen;

    lua_newtable(L);
    drops = lua_gettop(L);
    lua_newtable(L);
    seen = lua_gettop(L);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    for (lua_Integer i = 1; i <= n; i++) {
        int vref = lua_gettop(L) + 1;
        lua_rawgeti(L, idx, i);
        lua_pushvalue(L, vref);
        if (lua_rawget(L, seen + 1) == LUA_TNIL) {
            lua_pushvalue(L, vref);
            if (lua_rawget(L, seen) == LUA_TNIL &&
                !lvat_lua_held_by_baggage(L, vref)) {
                lua_pushvalue(L, vref);
                lua_rawseti(L, drops, ++ndrops);
                lua_pushvalue(L, vref);
                lua_pushboolean(L, 1);
                lua_rawset(L, seen);
            }
            lua_pop(L, 1);
        }
        lua_settop(L, vref - 1);
    }
    if (ndrops > 0) {
        lua_pushcfunction(L, lvat_lua_sys_drop_imports);
        lua_pushvalue(L, drops);
        lua_call(L, 1, 0);
        lua_pushcfunction(L, lvat_lua_sys_retire_imports);
        lua_pushvalue(L, drops);
        lua_call(L, 1, 0);
    }
    lua_settop(L, drops - 1);
}

static void
reap(lua_State *L)
{
    lvat_lua_gc_full(L);
    lvat_lua_push_dead_imports(L);
    drop_unheld(L, lua_gettop(L));
    lua_pop(L, 1);
}

/* ---- Start ---- */

/* Stack: params, nObj, nProm, incarnation, and after a restart the objects
 * earlier heaps imported.  This heap can reach only those its baggage
 * holds; the kernel would keep the others alive for ever unless they are
 * dropped now. */
static void
start(lua_State *L, int base)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lua_Integer nobj = luaL_checkinteger(L, base + 1);
    lua_Integer nprom = luaL_checkinteger(L, base + 2);
    int root;

    lua_settop(L, base + 4); /* no earlier imports: nil, not what follows */
    luaL_argcheck(L, nobj >= 1 && nprom >= 1, base + 1,
                  "export numbers start at 1");
    v->next_obj = (uint64_t)nobj;
    v->next_prom = (uint64_t)nprom;
    lua_pushcfunction(L, lvat_lua_require);
    lua_pushstring(L, v->main);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TTABLE ||
        lua_getfield(L, -1, "buildRootObject") != LUA_TFUNCTION)
        luaL_error(L, "%s: the main chunk must return a table with a "
                      "buildRootObject function", v->main);
    lvat_lua_reg(L, LVAT_REG_RUNTIME);
    lua_getfield(L, -1, "vatPowers");
    lua_pushvalue(L, base);
    lua_getfield(L, -3, "baggage");
    lua_pushvalue(L, base + 3);
    lua_remove(L, -5); /* the runtime table */
    lua_call(L, 4, 1);
    root = lua_gettop(L);
    if (lua_type(L, root) != LUA_TTABLE)
        luaL_error(L, "%s: buildRootObject returned %s, not an object "
                      "(return Far(\"Name\", {...}))",
                   v->main, luaL_typename(L, root));
    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, root);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pushvalue(L, root);
        lua_pushfstring(L, "%s (v%d)", v->name, (int)v->id);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
    bind_export(L, root, lvat_vref_make(false, true, 0));
    if (lua_type(L, base + 4) == LUA_TTABLE)
        drop_unheld(L, base + 4);
}

/* ---- Deliveries other than messages and notifies ---- */

int
lvat_lua_dispatch(lua_State *L)
{
    const char *kind = luaL_checkstring(L, 1);

    switch (kind[0]) {
    case 's': /* start */
        start(L, 2);
        break;
    case 'd':
    case 'r':
    case 'i':
        retire_all(L, 2, kind[0]);
        break;
    case 'g':
        reap(L);
        break;
    default:
        break;
    }
    return lvat_lua_drain(L); /* in this frame: it ends with it */
}
