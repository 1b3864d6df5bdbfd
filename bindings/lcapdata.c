/*
 * Lua values <-> smallcaps capdata (design §4).  Encoding writes JSON text
 * straight into the vat's scratch buffer with raw table access only, so no
 * vat metamethod runs inside it; record keys are sorted; the slots are vat
 * refs found through the identity tables (or allocated by the runtime's
 * exportVal).  Anything unpassable raises an error naming its path inside
 * the value ("args[2].pos.x: functions are not passable").  Decoding builds
 * Lua values straight from the JSON pull parser.  Scratch memory belongs to
 * the vat, so an error raised half-way leaks nothing.
 */
#include "lbind.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "alloc.h"
#include "json.h"
#include "smallcaps.h"

#define MAX_DEPTH 64
#define MAX_SAFE_INT 9007199254740992LL /* 2^53 */

typedef struct pathseg {
    const char *key; /* NULL for an index */
    size_t klen;
    lua_Integer index;
    const void *table; /* for cycle detection */
} pathseg;

typedef struct enc {
    lua_State *L;
    lvat_lvat *v;
    lvat_buf *b;
    lvat_enc_mode mode;
    const char *what;
    int depth;
    unsigned steps;
    uint64_t t0;
    uint32_t w; /* its timing weight (clock.h) */
    pathseg path[MAX_DEPTH + 1];
} enc;

typedef struct keyref {
    const char *p;
    size_t len;
} keyref;

/* ---- Errors ---- */

static int enc_fail(enc *e, const char *why) __attribute__((noreturn));

static int
enc_fail(enc *e, const char *why)
{
    lua_State *L = e->L;
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    luaL_addstring(&b, e->what);
    for (int i = 0; i < e->depth; i++) {
        const pathseg *s = &e->path[i];
        if (s->key != NULL) {
            luaL_addchar(&b, '.');
            luaL_addlstring(&b, s->key, s->klen);
        } else {
            lua_pushfstring(L, "[%I]", s->index);
            luaL_addvalue(&b);
        }
    }
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, why);
    luaL_pushresult(&b);
    lua_error(L);
    abort(); /* not reached */
}

/* ---- Slots ---- */

static size_t
add_slot(enc *e, lvat_vref vref)
{
    lvat_lvat *v = e->v;

    for (size_t i = 0; i < v->nencslots; i++)
        if (lvat_vref_eq(v->encslots[i], vref))
            return i;
    if (v->nencslots == v->capencslots) {
        size_t cap = v->capencslots ? v->capencslots * 2 : 8;
        lvat_vref *p = lvat_realloc(v->encslots, cap * sizeof *p);
        if (p == NULL)
            luaL_error(e->L, "not enough memory");
        v->encslots = p;
        v->capencslots = cap;
    }
    v->encslots[v->nencslots] = vref;
    return v->nencslots++;
}

/* The vref of a Far object or promise at idx (allocated if new): a
 * promise carries its own, an object's is in valToSlot. */
static lvat_vref
export_vref(enc *e, int idx, bool promise)
{
    lua_State *L = e->L;
    lvat_vref vref;

    if (promise) {
        if (lvat_lua_promise_vref(L, idx, &vref))
            return vref;
        lua_pushnil(L);
    } else {
        lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
        lua_pushvalue(L, idx);
        lua_rawget(L, -2);
        lua_remove(L, -2);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return lvat_lua_export_val(L, idx);
    }
    if (!lvat_lua_to_vref(L, -1, &vref))
        enc_fail(e, "the runtime gave no vref for an object");
    lua_pop(L, 1);
    return vref;
}

static void
put_slot(enc *e, char kind, lvat_vref vref, const char *iface, size_t ilen)
{
    char head[48];
    size_t i = add_slot(e, vref), at;
    int n = snprintf(head, sizeof head, "%c%zu%s", kind, i, ilen ? "." : "");
    lvat_buf *b = e->b;

    if (ilen == 0) {
        lvat_json_put_string(b, head, (size_t)n);
        return;
    }
    /* "$i.iface": the quoted interface goes straight into the vat's
     * buffer and loses its opening quote.  (Quoting it into a buffer of
     * its own read that buffer's length less one even when quoting had
     * failed for memory: a length of -1, and a crash.)  A failure leaves
     * b->oom, which enc_end raises. */
    lvat_buf_putc(b, '"');
    lvat_buf_append(b, head, (size_t)n);
    at = b->len;
    if (lvat_json_put_string(b, iface, ilen) != LVAT_OK)
        return;
    memmove(b->data + at, b->data + at + 1, b->len - at); /* and the NUL */
    b->len--;
}

/* ---- Values ---- */

static void enc_value(enc *e, int idx);

/*
 * A finite float as a JSON number that reads back as a float: the
 * decoder makes an integer of a number written without '.' or exponent,
 * so 3.0 is written "3.0" and -0.0 "-0.0", not "3" and "0" (which came
 * back as the integers 3 and 0).  Either is an ordinary JSON number, the
 * same number to a JavaScript reader (Endo's smallcaps has no other
 * encoding for -0; its own encoder writes 0).
 */
static void
enc_float(lvat_buf *b, double d)
{
    size_t at = b->len;

    if (lvat_json_put_double(b, d) != LVAT_OK)
        return;
    if (strcspn(b->data + at, ".e") == b->len - at)
        lvat_buf_append(b, ".0", 2);
}

static void
enc_number(enc *e, int idx)
{
    lua_State *L = e->L;

    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i > MAX_SAFE_INT || i < -MAX_SAFE_INT) {
            lvat_buf_putc(e->b, '"');
            if (i > 0)
                lvat_buf_putc(e->b, '+');
            lvat_buf_put_i64(e->b, i);
            lvat_buf_putc(e->b, '"');
        } else {
            lvat_buf_put_i64(e->b, i);
        }
        return;
    }
    {
        double d = lua_tonumber(L, idx);
        if (isnan(d))
            lvat_buf_puts(e->b, "\"#NaN\"");
        else if (isinf(d))
            lvat_buf_puts(e->b, d > 0 ? "\"#Infinity\"" : "\"#-Infinity\"");
        else
            enc_float(e->b, d);
    }
}

static int
cmp_key(const void *a, const void *b)
{
    const keyref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void
enc_record(enc *e, int idx, size_t nkeys)
{
    lua_State *L = e->L;
    keyref *keys = lua_newuserdatauv(L, nkeys * sizeof *keys, 0);
    size_t n = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[n].p = lua_tolstring(L, -1, &keys[n].len);
        n++;
    }
    qsort(keys, n, sizeof *keys, cmp_key);
    lvat_buf_putc(e->b, '{');
    for (size_t i = 0; i < n; i++) {
        pathseg *s = &e->path[e->depth - 1];
        if (i)
            lvat_buf_putc(e->b, ',');
        lvat_sc_put_string(e->b, keys[i].p, keys[i].len);
        lvat_buf_putc(e->b, ':');
        s->key = keys[i].p;
        s->klen = keys[i].len;
        lua_pushlstring(L, keys[i].p, keys[i].len);
        lua_rawget(L, idx);
        enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
    }
    lvat_buf_putc(e->b, '}');
    lua_pop(L, 1); /* keys */
}

static void
enc_array(enc *e, int idx, lua_Integer n)
{
    lua_State *L = e->L;

    lvat_buf_putc(e->b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            lvat_buf_putc(e->b, ',');
        e->path[e->depth - 1].key = NULL;
        e->path[e->depth - 1].index = i;
        lua_rawgeti(L, idx, i);
        enc_value(e, lua_gettop(L));
        lua_pop(L, 1);
    }
    lvat_buf_putc(e->b, ']');
}

/* Plain tables: sequences become arrays, string keys records. */
static void
enc_plain(enc *e, int idx)
{
    lua_State *L = e->L;
    const void *self = lua_topointer(L, idx);
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx), ints = 0;
    size_t strs = 0, total = 0;

    for (int i = 0; i < e->depth; i++)
        if (e->path[i].table == self)
            enc_fail(e, "cyclic tables are not passable");
    if (e->depth == MAX_DEPTH)
        enc_fail(e, "nested more than 64 tables deep");
    luaL_checkstack(L, 6, "marshalling"); /* key, value, keys, nested */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        total++;
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            strs++;
        else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
                 lua_tointeger(L, -1) <= len)
            ints++;
    }
    if (total != 0 && strs != total &&
        !(ints == len && strs == 0 && (size_t)ints == total))
        enc_fail(e, strs ? "tables mixing string keys with other keys are "
                           "not passable"
                         : "only sequences 1..n and string keys are "
                           "passable (this table has holes or other keys)");
    e->path[e->depth].table = self;
    e->path[e->depth].key = NULL;
    e->path[e->depth].index = 0;
    e->depth++;
    if (strs == total && total != 0)
        enc_record(e, idx, total);
    else
        enc_array(e, idx, len);
    e->depth--;
}

/* The vat's root (o+0) outlives every incarnation, so it is durable. */
static bool
is_root(lua_State *L, int idx)
{
    bool root;

    lvat_lua_reg(L, LVAT_REG_VAL2SLOT);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    root = lua_isinteger(L, -1) &&
           lua_tointeger(L, -1) ==
               (lua_Integer)lvat_vref_make(false, true, 0).v;
    lua_pop(L, 2); /* vref, val2slot */
    return root;
}

static void
enc_table(enc *e, int idx)
{
    lua_State *L = e->L;
    size_t ilen;
    const char *iface;

    if (lvat_lua_has_mt(L, idx, LVAT_REG_PROMISE_MT)) {
        if (e->mode == LVAT_ENC_DURABLE)
            enc_fail(e, "promises cannot be stored durably (store the value "
                        "once it settles)");
        put_slot(e, '&', export_vref(e, idx, true), NULL, 0);
        return;
    }
    lvat_lua_reg(L, LVAT_REG_REMOTABLES);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TSTRING) {
        if (e->mode == LVAT_ENC_DURABLE && !is_root(L, idx))
            enc_fail(e, "this vat's own objects are ephemeral and cannot be "
                        "stored durably (store plain data, presences of "
                        "other vats' objects, or the vat's root)");
        iface = lua_tolstring(L, -1, &ilen);
        put_slot(e, '$', export_vref(e, idx, false), iface, ilen);
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 2);
    if (lua_getmetatable(L, idx)) {
        lua_pop(L, 1);
        enc_fail(e, "tables with metatables are not passable (use plain "
                    "tables, Far objects, promises or presences)");
    }
    enc_plain(e, idx);
}

static void
enc_userdata(enc *e, int idx)
{
    lvat_vref vref;
    size_t ilen = 0;
    const char *iface;

    if (!lvat_lua_to_presence(e->L, idx, &vref))
        enc_fail(e, "this host object is not passable");
    lvat_lua_presence_iface(e->L, idx);
    iface = lua_tolstring(e->L, -1, &ilen);
    put_slot(e, '$', vref, iface, iface ? ilen : 0);
    lua_pop(e->L, 1);
}

/* The text against the vat's memory limit: it is not in the vat's heap,
 * which the limit counts (shared tables can make it far larger, and
 * escapes a string up to six times). */
static bool
within_limit(const enc *e)
{
    return e->v->mem_limit == 0 || e->b->len <= e->v->mem_limit;
}

static void
check_size(enc *e)
{
    char why[128];

    if (within_limit(e))
        return;
    snprintf(why, sizeof why, "marshalled, the value is larger than the "
             "vat's memory limit of %zu bytes", e->v->mem_limit);
    enc_fail(e, why);
}

/* Each value is a step of the vat's work that runs in C, where the kill
 * hook cannot stop it: a stopped vat's marshalling ends. */
static void
enc_step(enc *e)
{
    check_size(e);
    if (e->v->killed != LVAT_KILL_NONE || (++e->steps & 4095) == 0)
        lvat_lua_check_stopped(e->L, e->v);
}

/* Scalars: nil, booleans, numbers and strings.  Encoding one takes
 * no export number and raises nothing (a full buffer sets its oom). */
static bool
is_scalar(int type)
{
    return type == LUA_TNIL || type == LUA_TBOOLEAN || type == LUA_TNUMBER ||
           type == LUA_TSTRING;
}

static void
enc_scalar(enc *e, int idx, int type)
{
    lua_State *L = e->L;
    size_t len;
    const char *s;

    switch (type) {
    case LUA_TNIL:
        lvat_buf_puts(e->b, "null");
        break;
    case LUA_TBOOLEAN:
        lvat_buf_puts(e->b, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        enc_number(e, idx);
        break;
    default:
        s = lua_tolstring(L, idx, &len);
        lvat_sc_put_string(e->b, s, len);
    }
}

static void
enc_value(enc *e, int idx)
{
    lua_State *L = e->L;
    int type = lua_type(L, idx);

    enc_step(e);
    switch (type) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
        enc_scalar(e, idx, type);
        break;
    case LUA_TTABLE:
        enc_table(e, idx);
        break;
    case LUA_TUSERDATA:
        enc_userdata(e, idx);
        break;
    case LUA_TFUNCTION:
        enc_fail(e, "functions are not passable");
    case LUA_TTHREAD:
        enc_fail(e, "coroutines are not passable");
    default:
        enc_fail(e, "this value is not passable");
    }
}

static void
enc_begin(enc *e, lua_State *L, lvat_enc_mode mode, const char *what)
{
    e->L = L;
    e->v = lvat_lua_vat(L);
    e->b = &e->v->enc;
    e->mode = mode;
    e->what = what;
    e->depth = 0;
    e->steps = 0;
    e->w = e->v->timing ? lvat_time_weight(&e->v->nmarshal) : 0;
    e->t0 = e->w ? lvat_clock_ns() : 0;
    lvat_buf_reset(e->b);
    e->v->nencslots = 0;
    lvat_buf_putc(e->b, '#');
}

static void
enc_time(enc *e)
{
    if (e->w)
        e->v->marshal_ns += e->w * (lvat_clock_ns() - e->t0);
}

/* The whole text is held to the limit too (one string may pass it), its
 * error under no value's path: methargs ends at depth 1, its last arg. */
static void
enc_end(enc *e)
{
    enc_time(e);
    if (e->b->oom)
        luaL_error(e->L, "not enough memory");
    e->depth = 0;
    check_size(e);
}

/* An error record for a rejection: strings, or tables with a message. */
static bool
enc_reason(enc *e, int idx)
{
    lua_State *L = e->L;
    const char *msg = NULL;
    size_t len = 0;

    if (lua_type(L, idx) == LUA_TSTRING) {
        msg = lua_tolstring(L, idx, &len);
        lvat_sc_error_body(e->b, msg, len);
        return true;
    }
    /* Raw access: a vat's __index must not run inside the marshaller. */
    if (lua_type(L, idx) != LUA_TTABLE ||
        lvat_lua_has_mt(L, idx, LVAT_REG_PROMISE_MT))
        return false;
    lua_pushliteral(L, "message");
    if (lua_rawget(L, idx) != LUA_TSTRING) {
        lua_pop(L, 1); /* message */
        return false;
    }
    msg = lua_tolstring(L, -1, &len);
    lvat_buf_reset(e->b);
    lvat_sc_error_body(e->b, msg, len);
    lua_pop(L, 1); /* message */
    return true;
}

void
lvat_lua_encode(lua_State *L, int idx, lvat_enc_mode mode, const char *what)
{
    enc e;

    idx = lua_absindex(L, idx);
    enc_begin(&e, L, mode, what);
    if (mode == LVAT_ENC_REASON) {
        lvat_buf_reset(e.b);
        if (enc_reason(&e, idx)) {
            enc_end(&e);
            return;
        }
        lvat_buf_putc(e.b, '#');
    }
    enc_value(&e, idx);
    enc_end(&e);
}

void
lvat_lua_encode_methargs(lua_State *L, const char *method, size_t mlen,
                         int args_idx, lua_Integer n, bool on_stack)
{
    enc e;

    args_idx = lua_absindex(L, args_idx);
    enc_begin(&e, L, LVAT_ENC_PASS, "args");
    lvat_buf_putc(e.b, '[');
    lvat_sc_put_string(e.b, method, mlen);
    lvat_buf_puts(e.b, ",[");
    e.path[0].table = NULL;
    e.depth = 1;
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            lvat_buf_putc(e.b, ',');
        e.path[0].key = NULL;
        e.path[0].index = i;
        if (on_stack)
            lua_pushvalue(L, args_idx + (int)i - 1);
        else
            lua_rawgeti(L, args_idx, i);
        enc_value(&e, lua_gettop(L));
        lua_pop(L, 1);
    }
    lvat_buf_puts(e.b, "]]");
    enc_end(&e);
}

bool
lvat_lua_is_scalar(lua_State *L, int idx)
{
    return is_scalar(lua_type(L, idx));
}

bool
lvat_lua_encode_scalar(lua_State *L, int idx)
{
    int type = lua_type(L, idx);
    enc e;

    if (!is_scalar(type) || lvat_lua_vat(L)->killed != LVAT_KILL_NONE)
        return false;
    enc_begin(&e, L, LVAT_ENC_PASS, "");
    enc_scalar(&e, idx, type);
    enc_time(&e);
    return !e.b->oom && within_limit(&e); /* where enc_end raises */
}
