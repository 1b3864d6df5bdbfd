/*
 * The vatstore functions of the runtime's `sys` table, and the stored form
 * of durable values ("slot slot\n#body": smallcaps plus its slots) that
 * baggage keeps there.  Baggage's reads and writes each make one call here,
 * with no Lua string made for the key or the stored text.
 */
#include "lbind.h"

#include <string.h>

#include <lauxlib.h>

#include "llibs.h"
#include "lsystime.h"

#define SYS   LVAT_LUA_SYS
#define check lvat_lua_sys_check

/* ---- Vatstore ---- */

static int
l_vs_get(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    lvat_val val;
    int rc = SYS(v, lvat_syscall_vatstore_get(v->sys, key, klen, &val));

    if (rc == LVAT_ENOTFOUND)
        return 0;
    check(L, rc);
    lua_pushlstring(L, val.p, val.len);
    return 1;
}

bool
lvat_lua_held_by_baggage(lua_State *L, int idx)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t klen;
    const char *key;
    lvat_val val;
    int rc;

    if (!lvat_lua_push_ref_key(L, idx))
        return false;
    key = lua_tolstring(L, -1, &klen);
    rc = SYS(v, lvat_syscall_vatstore_get(v->sys, key, klen, &val));
    lua_pop(L, 1);
    if (rc == LVAT_ENOTFOUND)
        return false;
    check(L, rc);
    return true;
}

static int
l_vs_set(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *val = luaL_checklstring(L, 2, &vlen);

    return check(L, SYS(v, lvat_syscall_vatstore_set(v->sys, key, klen, val,
                                                     vlen)));
}

static int
l_vs_delete(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);

    return check(L, SYS(v, lvat_syscall_vatstore_delete(v->sys, key, klen)));
}

/* vsNext(from, prefix, inclusive) -> the next key, or nothing. */
static int
l_vs_next(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t flen, plen;
    const char *from = luaL_checklstring(L, 1, &flen);
    const char *prefix = luaL_checklstring(L, 2, &plen);
    lvat_val key, val;
    int rc;

    if (lua_toboolean(L, 3)) {
        rc = SYS(v, lvat_syscall_vatstore_get(v->sys, from, flen, &val));
        if (rc == LVAT_OK && flen >= plen && memcmp(from, prefix, plen) == 0) {
            lua_pushvalue(L, 1);
            return 1;
        }
        if (rc != LVAT_ENOTFOUND && rc != LVAT_OK)
            check(L, rc);
    }
    rc = SYS(v, lvat_syscall_vatstore_next(v->sys, from, flen, prefix, plen,
                                           &key, &val));
    if (rc == LVAT_ENOTFOUND)
        return 0;
    check(L, rc);
    lua_pushlstring(L, key.p, key.len);
    return 1;
}

/* ---- Marshalling for the runtime ---- */

/* The stored form "slot slot\n#body" of the encoding scratch, in
 * v->stored. */
static void
build_stored(lua_State *L, lvat_lvat *v)
{
    lvat_buf *b = &v->stored;

    lvat_buf_reset(b);
    for (size_t i = 0; i < v->nencslots; i++) {
        char name[LVAT_REF_BUFSIZE];
        if (i)
            lvat_buf_putc(b, ' ');
        lvat_buf_append(b, name, lvat_vref_format(v->encslots[i], name));
    }
    lvat_buf_putc(b, '\n');
    lvat_buf_append(b, v->enc.data, v->enc.len);
    if (b->oom)
        luaL_error(L, "not enough memory");
}

static void
push_stored(lua_State *L, lvat_lvat *v)
{
    build_stored(L, v);
    lua_pushlstring(L, v->stored.data, v->stored.len);
}

static void
push_slot_list(lua_State *L, const lvat_vref *s, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lvat_lua_push_vref(L, s[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* encodeDurable(value, what) -> stored, slots */
static int
l_encode_durable(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    const char *what = luaL_checkstring(L, 2);

    lvat_lua_encode(L, 1, LVAT_ENC_DURABLE, what);
    push_stored(L, v);
    push_slot_list(L, v->encslots, v->nencslots);
    return 2;
}

/* Parses the slot line of a stored value into v->decslots. */
static const char *
parse_stored(lua_State *L, lvat_lvat *v, const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len), *p = s;

    if (nl == NULL)
        luaL_error(L, "malformed stored value");
    v->ndecslots = 0;
    while (p < nl) {
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        const char *e = sp ? sp : nl;
        lvat_vref r;
        if (lvat_vref_parse(p, (size_t)(e - p), &r) != LVAT_OK)
            luaL_error(L, "malformed stored value");
        lvat_lua_append_vref(L, &v->decslots, &v->ndecslots, &v->capdecslots, r);
        p = sp ? sp + 1 : nl;
    }
    return nl + 1;
}

/* Pushes the value a stored text (slot line, then body) holds. */
static void
decode_stored(lua_State *L, lvat_lvat *v, const char *s, size_t len)
{
    const char *body = parse_stored(L, v, s, len);

    lvat_lua_decode(L, body, len - (size_t)(body - s), v->decslots,
                    v->ndecslots);
}


/* Joins arguments 1 and 2 (prefix, key) into out (512 bytes); returns the
 * length.  `fn` names the caller in the error for a key too long. */
static size_t
join_key(lua_State *L, char *out, const char *fn)
{
    size_t plen, klen;
    const char *prefix = luaL_checklstring(L, 1, &plen);
    const char *key = luaL_checklstring(L, 2, &klen);

    if (plen + klen > 512)
        luaL_error(L, "%s: key too long", fn);
    memcpy(out, prefix, plen);
    memcpy(out + plen, key, klen);
    return plen + klen;
}

/* Pushes the value stored under key[0..n), decoded, and returns 1; or
 * returns 0 (nothing pushed) when there is none.  key is a 512-byte
 * buffer the caller lends as scratch.  [-0, +(0|1), e] */
static int
push_decoded(lua_State *L, lvat_lvat *v, char *key, size_t n)
{
    const char *s;
    lvat_val val;
    int rc;

    rc = SYS(v, lvat_syscall_vatstore_get(v->sys, key, n, &val));
    if (rc == LVAT_ENOTFOUND)
        return 0;
    check(L, rc);
    /* Decoding may run runtime code; it must not see the store's memory
     * change under it. */
    if (val.len <= 512) {
        memcpy(key, val.p, val.len);
        s = key;
    } else {
        lua_pushlstring(L, val.p, val.len);
        s = lua_tostring(L, -1);
    }
    decode_stored(L, v, s, val.len);
    return 1;
}

/* Baggage's get(self, key), made by baggageGetter(prefix, maxKey)
 * (upvalues 1 and 2): the value stored under prefix..key, decoded, or
 * nil.  It is C, not a Lua wrapper around a C reader, because the wrapper's
 * frame was a twentieth of a read.  Its errors name the line that called
 * get, as checkKey's in baggage.lua do; a tail call
 * (return baggage:get(k)) is named too, where a Lua get could not.  */
static int
l_baggage_get(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t plen, klen;
    const char *prefix = lua_tolstring(L, lua_upvalueindex(1), &plen);
    lua_Integer max = lua_tointeger(L, lua_upvalueindex(2));
    const char *key;
    char full[512];

    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "baggage:get(key): the key must be a string, "
                             "not %s",
                          lua_isnone(L, 2) ? "nil" : luaL_typename(L, 2));
    key = lua_tolstring(L, 2, &klen);
    if (klen == 0 || klen > (size_t)max)
        return luaL_error(L, "baggage:get(key): keys must have 1 to %d bytes",
                          (int)max);
    memcpy(full, prefix, plen);
    memcpy(full + plen, key, klen);
    if (push_decoded(L, v, full, plen + klen) == 0)
        lua_pushnil(L);
    return 1;
}

/* baggageGetter(prefix, maxKey) -> the get above. */
static int
l_baggage_getter(lua_State *L)
{
    size_t plen;
    lua_Integer max;

    luaL_checklstring(L, 1, &plen);
    max = luaL_checkinteger(L, 2);
    if (max < 0 || plen + (size_t)max > 512)
        return luaL_error(L, "baggageGetter: the keys do not fit 512 bytes");
    lua_settop(L, 2);
    lua_pushcclosure(L, l_baggage_get, 2);
    return 1;
}

/* vsPutDurable(prefix, key, value) -> old slots, new slots: stores the
 * durable form of value under prefix..key.  Each list (the replaced
 * value's slots, the new one's) is nil when empty, so the common value
 * without references costs no table. */
static int
l_vs_put_durable(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    char full[512];
    size_t n = join_key(L, full, "vsPutDurable");
    lvat_val old;
    int rc;

    lvat_lua_encode(L, 3, LVAT_ENC_DURABLE, "");
    rc = SYS(v, lvat_syscall_vatstore_get(v->sys, full, n, &old));
    if (rc != LVAT_ENOTFOUND)
        check(L, rc);
    if (rc == LVAT_OK && old.len > 0 && old.p[0] != '\n') {
        parse_stored(L, v, old.p, old.len);
        push_slot_list(L, v->decslots, v->ndecslots);
    } else {
        lua_pushnil(L);
    }
    build_stored(L, v);
    check(L, SYS(v, lvat_syscall_vatstore_set(v->sys, full, n,
                                              v->stored.data,
                                              v->stored.len)));
    if (v->nencslots > 0)
        push_slot_list(L, v->encslots, v->nencslots);
    else
        lua_pushnil(L);
    return 2;
}

/* Looks up the key at index 1 in place (the value is not read into the
 * heap: it may be nearly as large as the memory cap); false when absent.
 * [-0,+0,e] */
static bool
stored_at(lua_State *L, lvat_val *val)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    int rc = SYS(v, lvat_syscall_vatstore_get(v->sys, key, klen, val));

    if (rc != LVAT_ENOTFOUND)
        check(L, rc);
    return rc == LVAT_OK;
}

/* vsHas(key) -> whether a value is stored under key. */
static int
l_vs_has(lua_State *L)
{
    lvat_val val;

    lua_pushboolean(L, stored_at(L, &val));
    return 1;
}

/* vsSlots(key) -> the slots of the durable value stored under key (a
 * list, maybe empty), or nothing when there is none. */
static int
l_vs_slots(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lvat_val val;

    if (!stored_at(L, &val))
        return 0;
    parse_stored(L, v, val.p, val.len);
    push_slot_list(L, v->decslots, v->ndecslots);
    return 1;
}

bool
lvat_lua_push_ref_key(lua_State *L, int idx)
{
    char key[3 + LVAT_REF_BUFSIZE] = "rc.";
    lvat_vref r;

    if (!lvat_lua_to_vref(L, idx, &r) || lvat_vref_is_promise(r) ||
        lvat_vref_is_export(r))
        return false;
    lua_pushlstring(L, key, 3 + lvat_vref_format(r, key + 3));
    return true;
}

/* refKey(vref) -> the key of an import's baggage count, or nil. */
static int
l_ref_key(lua_State *L)
{
    if (!lvat_lua_push_ref_key(L, 1))
        lua_pushnil(L);
    return 1;
}

/* decode(body, slots|nil) */
void
lvat_lua_vatstore_sys(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"vsGet", l_vs_get},
                                     {"baggageGetter", l_baggage_getter},
                                     {"vsSet", l_vs_set},
                                     {"vsPutDurable", l_vs_put_durable},
                                     {"vsDelete", l_vs_delete},
                                     {"vsNext", l_vs_next},
                                     {"encodeDurable", l_encode_durable},
                                     {"vsHas", l_vs_has},
                                     {"vsSlots", l_vs_slots},
                                     {"refKey", l_ref_key},
                                     {NULL, NULL}};

    lvat_lua_set_funcs(L, funcs);
}
