/*
 * The notify delivery, on the vat side: the kernel says how promises this
 * vat imported settled.  In C rather than in liveslots.lua: every round
 * trip ends in one, and this way the values are decoded straight from the
 * delivery (no Lua copy of each body and slot list) and the promises
 * settle without a trip through bytecode.
 */
#include "lbind.h"

#include <stdbool.h>

#include <lauxlib.h>

#include "lpromise_int.h"

/* Stack indices of the tables notify works on. */
typedef struct tables {
    int s2v, v2s, awaited;
} tables;

/* slotToVal[vref] = nil (and valToSlot back), awaited[vref] = nil: the
 * vref at idx is retired.  [-0,+0,-] */
static void
forget(lua_State *L, const tables *t, int vref)
{
    lua_pushvalue(L, vref);
    lua_pushnil(L);
    lua_rawset(L, t->awaited);
    lua_pushvalue(L, vref);
    if (lua_rawget(L, t->s2v) != LUA_TNIL) {
        lua_pushvalue(L, vref);
        lua_pushnil(L);
        lua_rawset(L, t->s2v);
        lua_pushvalue(L, -1);
        lua_rawget(L, t->v2s);
        if (lua_rawequal(L, -1, vref)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            lua_rawset(L, t->v2s);
            return;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

void
lvat_lua_new_import(lua_State *L, int vref, bool awaited)
{
    vref = lua_absindex(L, vref);
    lvat__p_push_new(L);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lua_pushvalue(L, vref);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    if (awaited) {
        lvat_lua_reg(L, LVAT_REG_AWAITED);
        lua_replace(L, -2);
        lua_pushvalue(L, vref);
        lua_pushvalue(L, -3);
        lua_rawset(L, -3);
    }
    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lua_replace(L, -2);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, vref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Pushes the promise this vat knows as the vref at idx, making one (an
 * import nobody here awaits yet) if there is none.  [-0,+1,m] */
static void
push_promise(lua_State *L, const tables *t, int vref)
{
    lua_pushvalue(L, vref);
    if (lua_rawget(L, t->s2v) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lvat_lua_new_import(L, vref, false);
}

static int
decode_resolution(lua_State *L)
{
    const lvat_resolution *r = lua_touserdata(L, 1);

    lvat_lua_decode(L, r->data.body, r->data.body_len, r->data.slots,
                    r->data.nslots);
    return 1;
}

void
lvat_lua_notify(lua_State *L, const lvat_delivery *d)
{
    int top = lua_gettop(L), first, values;
    size_t n = d->nresolutions;
    bool *rejected;
    tables t;

    luaL_checkstack(L, (int)(3 * n) + LUA_MINSTACK, "too many resolutions");
    rejected = lua_newuserdatauv(L, n ? n : 1, 0); /* freed with the frame */
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lvat_lua_reg(L, LVAT_REG_AWAITED);
    t.s2v = top + 2, t.v2s = top + 3, t.awaited = top + 4;
    /* A promise for every vpid, then every value, and only then are they
     * forgotten and settled: the values may name each other's vpids, in
     * either order. */
    first = top + 5;
    for (size_t i = 0; i < n; i++) {
        lvat_lua_push_vref(L, d->resolutions[i].vpid);
        push_promise(L, &t, lua_gettop(L));
    }
    values = lua_gettop(L) + 1;
    for (size_t i = 0; i < n; i++) {
        lua_pushcfunction(L, decode_resolution);
        lua_pushlightuserdata(L, (void *)&d->resolutions[i]);
        rejected[i] = lua_pcall(L, 1, 1, 0) != LUA_OK ||
                      d->resolutions[i].rejected;
    }
    for (size_t i = 0; i < n; i++) {
        int vref = first + 2 * (int)i, p = vref + 1, value = values + (int)i;

        forget(L, &t, vref);
        if (lvat__p_is(L, p) && rejected[i])
            lvat__p_reject(L, p, value);
        else if (lvat__p_is(L, p))
            lvat__p_resolve(L, p, value);
    }
    lua_settop(L, top);
}

void
lvat_lua_forget(lua_State *L, int vref)
{
    int top = lua_gettop(L);
    tables t = {top + 1, top + 2, top + 3};

    vref = lua_absindex(L, vref);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lvat_lua_reg(L, LVAT_REG_AWAITED);
    forget(L, &t, vref);
    lua_settop(L, top);
}

/* sys.forget(vref) */
int
lvat_lua_sys_forget(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    lvat_lua_forget(L, 1);
    return 0;
}
