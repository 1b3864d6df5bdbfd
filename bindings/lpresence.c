/*
 * Presences: a vat's handle on another vat's object (or a kernel service),
 * a full userdata holding the import's vref, its interface name as a user
 * value, and nothing else.  Calling one directly raises "use E(p):m()";
 * the same vref always yields the same userdata (the identity table lives
 * in lcapdata.c), so == works, and __gc means the vat really let go: it
 * records the vref for the next reap.  There is deliberately no __close.
 */
#include "lbind.h"

#include <lauxlib.h>

#include "alloc.h"
#include "llibs.h"
#include "lstack.h"

typedef struct presence {
    lvat_vref vref;
} presence;

static presence *
check(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, LVAT_PRESENCE_MT);
}

/* Any field of a presence: the vat meant to send.  (The strings are read
 * one after the other: luaL_error's arguments would be evaluated in no
 * fixed order, and luaL_tolstring pushes.) */
static int
p_index(lua_State *L)
{
    presence *p = check(L, 1);
    char name[LVAT_REF_BUFSIZE];
    const char *iface, *key;

    lvat_vref_format(p->vref, name);
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1); /* 3: interface or nil */
    iface = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : "object";
    key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "method";
    return luaL_error(L,
                      "p.%s: p is a presence (%s %s), not a local object: "
                      "send to it with E(p):%s(...)",
                      key, name, iface, key);
}

/* Calling one: the vat meant to send too ("__call" is one of Lua's own
 * strings, so this costs a state no new name). */
static int
p_call(lua_State *L)
{
    presence *p = check(L, 1);
    char name[LVAT_REF_BUFSIZE];

    lvat_vref_format(p->vref, name);
    return luaL_error(L, "a presence (%s) cannot be called: send to it "
                         "with E(p):method(...)", name);
}

static int
p_newindex(lua_State *L)
{
    check(L, 1);
    return luaL_error(L, "presences cannot be modified");
}

static int
p_tostring(lua_State *L)
{
    presence *p = check(L, 1);
    char name[LVAT_REF_BUFSIZE];

    lvat_vref_format(p->vref, name);
    if (lua_getiuservalue(L, 1, 1) == LUA_TSTRING)
        lua_pushfstring(L, "Presence<%s %s>", name, lua_tostring(L, -1));
    else
        lua_pushfstring(L, "Presence<%s>", name);
    return 1;
}

/* Remembers an import the next reap should consider dropping. */
static bool
note_dead(lvat_lvat *v, lvat_vref vref)
{
    if (!lvat_reserve(&v->dead, v->ndead, &v->capdead, sizeof *v->dead, 16))
        return false;
    v->dead[v->ndead++] = vref;
    return true;
}

static int
p_gc(lua_State *L)
{
    presence *p = luaL_testudata(L, 1, LVAT_PRESENCE_MT);
    lvat_lvat *v = lvat_lua_vat(L);

    if (p == NULL || v->closing)
        return 0;
    /* Only remember it; the reap decides (the allocator never fails a
     * shrink, and growth here is tiny and bounded by the presences). */
    note_dead(v, p->vref);
    return 0;
}

void
lvat_lua_presence_open(lua_State *L)
{
    static const luaL_Reg meta[] = {{"__index", p_index},
                                    {"__newindex", p_newindex},
                                    {"__tostring", p_tostring},
                                    {"__gc", p_gc},
                                    {"__call", p_call},
                                    {NULL, NULL}};

    LVAT_STACK_ENTER(L);
    /* What luaL_newmetatable makes, at its final size (grown from its
     * two fields, it was rehashed twice). */
    lua_createtable(L, 0, 7);
    lua_pushliteral(L, LVAT_PRESENCE_MT);
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LVAT_PRESENCE_MT);
    lvat_lua_set_funcs(L, meta);
    lua_pushliteral(L, "Presence");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1); /* metatable */
    LVAT_STACK_LEAVE(L, 0);
}

void
lvat_lua_push_presence(lua_State *L, lvat_vref vref, const char *iface,
                       size_t ilen)
{
    presence *p = lua_newuserdatauv(L, sizeof *p, 1);

    p->vref = vref;
    if (iface != NULL && ilen > 0) {
        lua_pushlstring(L, iface, ilen);
        lua_setiuservalue(L, -2, 1);
    }
    luaL_setmetatable(L, LVAT_PRESENCE_MT);
}

bool
lvat_lua_to_presence(lua_State *L, int idx, lvat_vref *vref)
{
    presence *p = luaL_testudata(L, idx, LVAT_PRESENCE_MT);

    if (p == NULL)
        return false;
    if (vref)
        *vref = p->vref;
    return true;
}

void
lvat_lua_presence_iface(lua_State *L, int idx)
{
    if (lua_getiuservalue(L, idx, 1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* ---- The runtime's sys functions about presences ---- */

/* noteUnheld(vref): baggage no longer names this import.  Its presence
 * may have been collected while baggage held it (that reap skipped it and
 * none will report it again), so the next reap must look at it. */
static int
l_note_unheld(lua_State *L)
{
    lvat_vref vref;

    if (!lvat_lua_to_vref(L, 1, &vref))
        return luaL_error(L, "noteUnheld: not a vref");
    if (!note_dead(lvat_lua_vat(L), vref))
        return luaL_error(L, "not enough memory");
    return 0;
}


static int
host_newindex(lua_State *L)
{
    return luaL_error(L, "host objects cannot be modified");
}

/* newHostObject(methods, name): a userdata whose methods are `methods`
 * and whose metatable stays hidden. */
static int
l_new_host_object(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, host_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    return 1;
}

void
lvat_lua_presence_sys(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"newHostObject", l_new_host_object},
                                     {"noteUnheld", l_note_unheld},
                                     {NULL, NULL}};

    lvat_lua_set_funcs(L, funcs);
}
