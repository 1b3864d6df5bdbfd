/*
 * The notify delivery, on the vat side: the kernel says how promises this
 * vat imported settled.  In C: every round trip ends in one, and this way
 * the values are decoded straight from the delivery (no Lua copy of each
 * body and slot list) and the promises settle without a trip through
 * bytecode.
 */
#include "lbind.h"

#include <stdbool.h>

#include <lauxlib.h>

#include "lpromise_int.h"

/*
 * Where this vat keeps what it knows by vref (bindings/lreg.h):
 * - an import the kernel will notify this vat of is in `awaited` only
 *   (strong: an awaiting coroutine may be all that refers to it);
 * - any other promise, presence or export is in `slotToVal` (weak);
 * - a promise carries its own vref (F_VREF), an exported object is in
 *   `valToSlot`.
 * A round trip's result promise is thus one entry, made and dropped,
 * where it was three.
 */

/* Stack indices of the tables notify works on. */
typedef struct tables {
    int s2v, v2s, awaited;
} tables;

bool
lvat_lua_promise_vref(lua_State *L, int p, lvat_vref *out)
{
    bool ok;

    /* A vat can write a promise's fields (pairs), so this is checked. */
    ok = lvat__p_get(L, p, F_VREF) == LUA_TNUMBER && lua_isinteger(L, -1) &&
         lvat_lua_to_vref(L, -1, out) && lvat_vref_is_promise(*out);
    lua_pop(L, 1);
    return ok;
}

static bool
is_promise_vref(lua_State *L, int vref)
{
    lvat_vref r;

    return lvat_lua_to_vref(L, vref, &r) && lvat_vref_is_promise(r);
}

/* Pushes what the vref at idx names (nil for nothing), from the tables
 * at t; returns its type, and the table it is in when `where`.
 * [-0,+1,-] */
static int
push_named(lua_State *L, const tables *t, int vref, int *where)
{
    int in = t->s2v;

    if (is_promise_vref(L, vref)) {
        lua_pushvalue(L, vref);
        if (lua_rawget(L, t->awaited) != LUA_TNIL)
            in = t->awaited;
        else
            lua_pop(L, 1);
    }
    if (where)
        *where = in;
    if (in == t->awaited)
        return LUA_TTABLE;
    lua_pushvalue(L, vref);
    return lua_rawget(L, t->s2v);
}

/* Takes the vref off the promise at p when it is the one it carries. */
static void
drop_promise_vref(lua_State *L, int p, int vref)
{
    lvat__p_get(L, p, F_VREF);
    if (lua_rawequal(L, -1, vref)) {
        lua_pushnil(L);
        lvat__p_set(L, p, F_VREF);
    }
    lua_pop(L, 1);
}

/* Unlinks the value at val, which the vref at idx names from the table
 * at where; `promise` says whether val is a promise (the caller knows).
 * [-0,+0,-] */
static void
unlink_named(lua_State *L, const tables *t, int vref, int val, int where,
             bool promise)
{
    int top = lua_gettop(L);

    lua_pushvalue(L, vref);
    lua_pushnil(L);
    lua_rawset(L, where);
    if (promise) {
        drop_promise_vref(L, val, vref);
    } else {
        lua_pushvalue(L, val);
        if (lua_rawget(L, t->v2s) != LUA_TNIL && lua_rawequal(L, -1, vref)) {
            lua_pushvalue(L, val);
            lua_pushnil(L);
            lua_rawset(L, t->v2s);
        }
    }
    lua_settop(L, top);
}

/* The vref at idx is retired: whatever this vat knew by it forgets it.
 * [-0,+0,-] */
static void
forget(lua_State *L, const tables *t, int vref)
{
    int top = lua_gettop(L), where;

    if (push_named(L, t, vref, &where) != LUA_TNIL)
        unlink_named(L, t, vref, top + 1, where, lvat__p_is(L, top + 1));
    lua_settop(L, top);
}

void
lvat_lua_new_import(lua_State *L, int vref, bool awaited)
{
    vref = lua_absindex(L, vref);
    lvat__p_push_new_sized(L, F_VREF);
    lua_pushvalue(L, vref);
    lvat__p_set(L, -2, F_VREF);
    lvat_lua_reg(L, awaited ? LVAT_REG_AWAITED : LVAT_REG_SLOT2VAL);
    lua_pushvalue(L, vref);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Pushes what this vat knows by the vref at idx; when `take`, it also
 * forgets the vref, in the same lookup.  [-0,+1,-] */
static int
slot_value(lua_State *L, int vref, bool take)
{
    int top = lua_gettop(L), type, where;
    tables t = {top + 1, top + 2, top + 3};

    vref = lua_absindex(L, vref);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    if (take)
        lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    else
        lua_pushnil(L); /* only forgetting needs valToSlot */
    lvat_lua_reg(L, LVAT_REG_AWAITED);
    type = push_named(L, &t, vref, &where);
    if (take && type != LUA_TNIL)
        unlink_named(L, &t, vref, top + 4, where, lvat__p_is(L, top + 4));
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return type;
}

int
lvat_lua_take_slot_value(lua_State *L, int vref)
{
    return slot_value(L, vref, true);
}

int
lvat_lua_push_slot_value(lua_State *L, int vref)
{
    return slot_value(L, vref, false);
}

/* Pushes the promise this vat knows as the vref at idx, making one (an
 * import nobody here awaits yet) if there is none; returns the table it
 * is in.  [-0,+1,m] */
static int
push_promise(lua_State *L, const tables *t, int vref)
{
    int where;

    if (push_named(L, t, vref, &where) != LUA_TNIL)
        return where;
    lua_pop(L, 1);
    lvat_lua_new_import(L, vref, false);
    return t->s2v;
}

/* What notify keeps of each resolution between its passes. */
typedef struct pending {
    int where; /* the table its promise is in */
    bool rejected;
} pending;

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
    pending small[64], *st = small;
    tables t;

    luaL_checkstack(L, (int)(3 * n) + LUA_MINSTACK, "too many resolutions");
    /* Most notifies fit the frame; a big batch's are collected. */
    if (n > LVAT_ARRAY_LEN(small))
        st = lua_newuserdatauv(L, n * sizeof *st, 0);
    else
        lua_pushnil(L);
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
        st[i].where = push_promise(L, &t, lua_gettop(L));
    }
    values = lua_gettop(L) + 1;
    for (size_t i = 0; i < n; i++) {
        const lvat_resolution *r = &d->resolutions[i];
        /* A value that cannot fail to decode needs no protected call. */
        if (lvat_lua_decode_immediate(L, r->data.body, r->data.body_len)) {
            st[i].rejected = r->rejected;
            continue;
        }
        lua_pushcfunction(L, decode_resolution);
        lua_pushlightuserdata(L, (void *)r);
        st[i].rejected = lua_pcall(L, 1, 1, 0) != LUA_OK || r->rejected;
    }
    /* Decoding adds imports but takes none away: each promise is still
     * where the first pass found it. */
    for (size_t i = 0; i < n; i++) {
        int vref = first + 2 * (int)i, p = vref + 1, value = values + (int)i;
        /* The awaited table holds only the promises new_import made. */
        bool promise = st[i].where == t.awaited || lvat__p_is(L, p);

        unlink_named(L, &t, vref, p, st[i].where, promise);
        if (promise && st[i].rejected)
            lvat__p_reject(L, p, value);
        else if (promise)
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

/* sys.vrefOf(v) -> the vref this vat knows v by, or nil: a promise's own
 * (F_VREF), an exported object's from valToSlot. */
int
lvat_lua_sys_vref_of(lua_State *L)
{
    lvat_vref r;

    lua_settop(L, 1);
    if (lvat__p_is(L, 1)) {
        if (lvat_lua_promise_vref(L, 1, &r))
            lvat_lua_push_vref(L, r);
        else
            lua_pushnil(L);
        return 1;
    }
    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    return 1;
}

void
lvat_lua_bind_promise(lua_State *L, int p, lvat_vref vref)
{
    p = lua_absindex(L, p);
    lvat_lua_push_vref(L, vref);
    lvat__p_set(L, p, F_VREF);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lua_pushvalue(L, p);
    lua_rawseti(L, -2, (lua_Integer)vref.v);
    lua_pop(L, 1);
}
