/*
 * Resolving a vpid this vat decides.  The value may name promises this
 * vat exports (p+N) and has already settled; each of those is resolved
 * in the same syscall, and so are the ones their values name.  Resolved
 * one syscall each, two settled promises whose values name each other
 * would re-export each other for ever (a resolved vpid is retired, so
 * the next value names it by a fresh p+N); in one batch, every value
 * names the others by the vpids the batch resolves.
 */
#include "lbind.h"

#include <string.h>

#include <lauxlib.h>

#include "lpromise_int.h"
#include "lsystime.h"
#include "smallcaps.h"

/* One resolution of the batch, with its capdata copied out of the
 * marshalling scratch: the slots follow the header, then the body. */
typedef struct entry {
    lvat_vref vpid;
    size_t nslots, body_len;
    bool rejected;
} entry;

static const lvat_vref *
entry_slots(const entry *e)
{
    return (const lvat_vref *)(e + 1);
}

static const char *
entry_body(const entry *e)
{
    return (const char *)(entry_slots(e) + e->nslots);
}

/* encode(value, rejected, what): the value, into the marshalling scratch;
 * `what` names it in errors. */
static int
l_encode(lua_State *L)
{
    bool rejected = lua_toboolean(L, 2);

    lvat_lua_encode(L, 1, rejected ? LVAT_ENC_REASON : LVAT_ENC_PASS,
                    lua_tostring(L, 3));
    return 0;
}

/* Encodes the string at idx, the words for a value that could not be
 * marshalled, as the error record of a rejection; cut to an eighth of
 * the vat's memory limit, which marshalled (six bytes a byte at most)
 * they then fit, so only the C library's memory can fail.  [-0,+0,e] */
static void
encode_words(lua_State *L, int idx)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);

    if (v->mem_limit != 0 && len > v->mem_limit / 8)
        len = v->mem_limit / 8;
    lvat_buf_reset(&v->enc);
    v->nencslots = 0;
    lvat_sc_error_body(&v->enc, s, len);
    if (v->enc.oom)
        luaL_error(L, "not enough memory");
}

/*
 * Encodes the value at idx into the scratch, as the resolution of vpid
 * (`first`: the first of the batch): a scalar directly (it takes no
 * export number), any other in a protected call.  One that cannot be
 * marshalled gives back the export numbers it took
 * (lvat_lua_pcall_marshal) and becomes a rejection, which
 * lvat_lua_push_failed_reason words.  Returns whether the outcome is a
 * rejection.
 */
static bool
encode(lua_State *L, int idx, bool rejected, lvat_vref vpid, bool first)
{
    if (!rejected && lvat_lua_encode_scalar(L, idx))
        return false;
    lua_pushcfunction(L, l_encode);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, rejected);
    if (first)
        lua_pushstring(L, rejected ? "rejection" : "result");
    else
        lvat_lua_push_vref_text(L, vpid);
    if (lvat_lua_pcall_marshal(L, 3, 0) == LUA_OK)
        return rejected;
    /* After the first, earlier entries hold export numbers the kernel has
     * not seen: vat code (a reason's __tostring) must not run, for a
     * syscall it made would show the kernel a higher one.  A string
     * reason can fail only by its size: the error says so. */
    lvat_lua_push_failed_reason(
        L, rejected && first && lua_type(L, idx) != LUA_TSTRING, idx, -1);
    encode_words(L, -1);
    lua_pop(L, 2);
    return true;
}

/* Pushes an entry for vpid with a copy of the scratch.  [-0,+1,m] */
static void
push_copy(lua_State *L, lvat_vref vpid, bool rejected)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t slots = v->nencslots * sizeof(lvat_vref);
    entry *e = lua_newuserdatauv(L, sizeof *e + slots + v->enc.len, 0);

    e->vpid = vpid;
    e->nslots = v->nencslots;
    e->body_len = v->enc.len;
    e->rejected = rejected;
    if (slots > 0)
        memcpy(e + 1, v->encslots, slots);
    memcpy((char *)(e + 1) + slots, v->enc.data, v->enc.len);
}

/* Pushes the promise this vat knows as the vref on top, in its place,
 * and returns its state, or PENDING when it names no promise.  [-1,+1,-] */
static int
swap_for_promise(lua_State *L)
{
    lvat_lua_push_slot_value(L, -1);
    lua_remove(L, -2);
    return lvat__p_is(L, -1) ? lvat__p_state(L, -1) : PENDING;
}

static bool
settled(int st)
{
    return st == FULFILLED || st == REJECTED;
}

/* Whether a slot of the scratch names a settled promise this vat
 * exports (one this batch must resolve too). */
static bool
names_settled_export(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);

    for (size_t i = 0; i < v->nencslots; i++) {
        bool yes;
        if (!lvat_vref_is_promise(v->encslots[i]) ||
            !lvat_vref_is_export(v->encslots[i]))
            continue;
        lvat_lua_push_vref(L, v->encslots[i]);
        yes = settled(swap_for_promise(L));
        lua_pop(L, 1);
        if (yes)
            return true;
    }
    return false;
}

/*
 * Appends to the list at `list` an entry for each settled promise this
 * vat exports that the slots of entry e name and the batch does not hold
 * yet (`seen`: the set of their vrefs).
 */
static void
add_named(lua_State *L, int list, int seen, const entry *e)
{
    const lvat_vref *slots = entry_slots(e);

    for (size_t i = 0; i < e->nslots; i++) {
        int st, top = lua_gettop(L);
        if (!lvat_vref_is_promise(slots[i]) || !lvat_vref_is_export(slots[i]))
            continue;
        lvat_lua_push_vref(L, slots[i]);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, seen) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            st = swap_for_promise(L);
            if (settled(st)) {
                lua_pushvalue(L, -2);
                lua_pushboolean(L, 1);
                lua_rawset(L, seen);
                lvat__p_get(L, lua_gettop(L), F_VALUE);
                push_copy(L, slots[i], encode(L, lua_gettop(L),
                                              st == REJECTED, slots[i],
                                              false));
                lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
            }
        }
        lua_settop(L, top);
    }
}

/* The list at `list` starts with the first entry: adds the rest, each
 * named by an entry before it. */
static void
add_rest(lua_State *L, int list)
{
    int seen;

    lua_newtable(L);
    seen = lua_gettop(L);
    lua_rawgeti(L, list, 1);
    lvat_lua_push_vref(L, ((entry *)lua_touserdata(L, -1))->vpid);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
    lua_pop(L, 1);
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, list); i++) {
        lua_rawgeti(L, list, i);
        add_named(L, list, seen, lua_touserdata(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Forgets the vpids of the entries after the first. */
static void
forget_rest(lua_State *L, int list)
{
    size_t n = lua_rawlen(L, list);

    for (size_t i = 2; i <= n; i++) {
        lua_rawgeti(L, list, (lua_Integer)i);
        lvat_lua_push_vref(L, ((entry *)lua_touserdata(L, -1))->vpid);
        lvat_lua_forget(L, lua_gettop(L));
        lua_pop(L, 2);
    }
}

/* The resolve syscall for every entry of the list at `list`. */
static void
resolve_all(lua_State *L, int list)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t n = lua_rawlen(L, list);
    lvat_resolution *res = lua_newuserdatauv(L, n * sizeof *res, 0);

    for (size_t i = 0; i < n; i++) {
        const entry *e;
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        e = lua_touserdata(L, -1);
        lua_pop(L, 1); /* the list keeps it */
        res[i].vpid = e->vpid;
        res[i].rejected = e->rejected;
        res[i].data.body = entry_body(e);
        res[i].data.body_len = e->body_len;
        res[i].data.slots = entry_slots(e);
        res[i].data.nslots = e->nslots;
    }
    lvat_lua_sys_check(L, LVAT_LUA_SYS(v, lvat_syscall_resolve(v->sys, res,
                                                                n)));
    lua_pop(L, 1);
}

/*
 * resolveVpid(vref, rejected, value): the resolve syscall (with the
 * settled promises the value names), then this vat forgets the vpids
 * and settles its own promise for vref, if any.
 */
int
lvat_lua_resolve_vpid(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lvat_vref vpid = lvat_lua_check_vref(L, 1);
    bool rejected = lua_toboolean(L, 2);

    lua_settop(L, 3);
    rejected = encode(L, 3, rejected, vpid, true);
    if (names_settled_export(L)) {
        lua_newtable(L); /* 4: the entries */
        push_copy(L, vpid, rejected);
        lua_rawseti(L, 4, 1);
        add_rest(L, 4);
        resolve_all(L, 4);
        forget_rest(L, 4);
        lua_settop(L, 3);
    } else {
        lvat_resolution r = {vpid, rejected,
                             {v->enc.data, v->enc.len, v->encslots,
                              v->nencslots}};
        lvat_lua_sys_check(L, LVAT_LUA_SYS(v, lvat_syscall_resolve(v->sys,
                                                                    &r, 1)));
    }
    lvat_lua_take_slot_value(L, 1); /* 4: this vat's own value for vpid */
    /* Resolved, not settled: the value may be a promise (a result the
     * kernel forwards), whose outcome this vat's own promise then takes.
     * Its own outcome, even when the kernel was told a rejection. */
    if (lvat__p_is(L, 4) && lua_toboolean(L, 2))
        lvat__p_reject(L, 4, 3);
    else if (lvat__p_is(L, 4))
        lvat__p_resolve(L, 4, 3);
    return 0;
}
