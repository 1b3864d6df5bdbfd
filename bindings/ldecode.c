/*
 * Smallcaps capdata -> Lua values, straight from the JSON pull parser.
 * Slots become the values the vat already has for them (identity through
 * the slot-to-value table), new presences for new imports, and promises
 * made by the runtime for new promise refs.  Error records become their
 * message string; bigints that fit become integers.
 */
#include "lbind.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "alloc.h"
#include "json.h"
#include "ldecode_int.h"
#include "lsystime.h"
#include "smallcaps.h"

/* Parsers live in the vat (a raised error leaks no memory), one per
 * depth of decodes in progress. */
typedef struct dec {
    lua_State *L;
    lvat_json_parser *jp;
    int guard; /* the stack slot that gives jp back (dec_parse) */
    const lvat_vref *slots;
    size_t nslots;
    uint64_t t0;
    uint32_t w; /* its timing weight (clock.h); nested decodes are 0 */
} dec;

static int dec_fail(dec *d, const char *fmt, ...) __attribute__((noreturn));

static int
dec_fail(dec *d, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    luaL_error(d->L, "malformed capdata: %s", msg);
    abort();
}

static void
next_tok(dec *d, lvat_json_tok *t)
{
    int rc = lvat_json_next(d->jp, t);

    if (rc != LVAT_OK)
        dec_fail(d, "%s", rc == LVAT_ENOMEM ? "not enough memory"
                                            : d->jp->err);
}

/* ---- Slots ---- */

void
lvat_lua_slot_value(lua_State *L, lvat_vref vref, const char *iface,
                    size_t ilen)
{
    char name[LVAT_REF_BUFSIZE];

    luaL_checkstack(L, 5, "decoding a slot");
    lvat_lua_push_vref(L, vref);
    if (lvat_lua_push_slot_value(L, -1) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    if (lvat_vref_is_promise(vref)) {
        /* A new import: the kernel will notify this vat of it. */
        lvat_lvat *v = lvat_lua_vat(L);
        lvat_lua_new_import(L, -1, true);
        lua_remove(L, -2);
        lvat_lua_sys_check(L, LVAT_LUA_SYS(v, lvat_syscall_subscribe(v->sys,
                                                                     vref)));
        return;
    }
    if (lvat_vref_is_export(vref)) {
        lvat_vref_format(vref, name);
        luaL_error(L, "the vat has no object %s (it was made by an earlier "
                      "incarnation or already retired)", name);
    }
    lvat_lua_push_presence(L, vref, iface, ilen);
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_remove(L, -2); /* the vref */
}

static void
push_slot(dec *d, const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    size_t ilen = dot ? (size_t)(dot - s) - 1 : len - 1;
    uint64_t i;

    if (lvat_parse_u64(s + 1, ilen, &i) != LVAT_OK || i >= d->nslots)
        dec_fail(d, "bad slot reference \"%.*s\"", (int)(len > 40 ? 40 : len),
                 s);
    if ((s[0] == '&') != lvat_vref_is_promise(d->slots[i]))
        dec_fail(d, "slot %u is not a %s", (unsigned)i,
                 s[0] == '&' ? "promise" : "object");
    lvat_lua_slot_value(d->L, d->slots[i], dot ? dot + 1 : NULL,
                        dot ? len - (size_t)(dot - s) - 1 : 0);
}

/* ---- Strings ---- */

static void
push_bigint(dec *d, const char *s, size_t len)
{
    char buf[32];
    char *end;
    long long v;

    /* Hosts' bigints are checked where they enter (smallcaps_json.c);
     * strtoll would clamp one that got here to math.maxinteger. */
    if (len >= sizeof buf)
        dec_fail(d, "bigint %.40s does not fit a Lua integer", s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* A sign and digits only: strtoll would also take "+", "+-5" and
     * "+ 5" (as 0, -5 and 5). */
    if (len < 2 || strspn(buf + 1, "0123456789") != len - 1)
        dec_fail(d, "bad bigint \"%s\"", buf);
    errno = 0;
    v = strtoll(buf[0] == '+' ? buf + 1 : buf, &end, 10);
    if (errno == ERANGE)
        dec_fail(d, "bigint %s does not fit a Lua integer", buf);
    lua_pushinteger(d->L, (lua_Integer)v);
}

static void
push_string(dec *d, const char *s, size_t len)
{
    lua_State *L = d->L;

    if (!lvat_sc_starts_special(s, len)) {
        lua_pushlstring(L, s, len);
        return;
    }
    switch (s[0]) {
    case '!':
        lua_pushlstring(L, s + 1, len - 1);
        return;
    case '$':
    case '&':
        push_slot(d, s, len);
        return;
    case '+':
    case '-':
        push_bigint(d, s, len);
        return;
    case '#':
        if (len == 10 && memcmp(s, "#undefined", 10) == 0)
            lua_pushnil(L);
        else if (len == 4 && memcmp(s, "#NaN", 4) == 0)
            lua_pushnumber(L, (lua_Number)NAN);
        else if (len == 9 && memcmp(s, "#Infinity", 9) == 0)
            lua_pushnumber(L, (lua_Number)HUGE_VAL);
        else if (len == 10 && memcmp(s, "#-Infinity", 10) == 0)
            lua_pushnumber(L, -(lua_Number)HUGE_VAL);
        else if (len == 3 && memcmp(s, "#-0", 3) == 0)
            lua_pushnumber(L, -0.0);
        else
            dec_fail(d, "unknown constant \"%.*s\"",
                     (int)(len > 20 ? 20 : len), s);
        return;
    default:
        dec_fail(d, "strings starting with '%c' are reserved", s[0]);
    }
}

/* ---- Values ---- */

static void dec_value(dec *d, const lvat_json_tok *t);

void
lvat_lua_collect(lua_State *L, int n, bool keyed)
{
    int w = keyed ? 2 : 1, base = lua_gettop(L) - n * w;

    if (keyed)
        lua_createtable(L, 0, n);
    else
        lua_createtable(L, n, 0);
    if (n == 0)
        return;
    for (int i = 0; i < n; i++) {
        if (keyed) {
            lua_pushvalue(L, base + 1 + 2 * i);
            lua_pushvalue(L, base + 2 + 2 * i);
            lua_rawset(L, -3);
        } else {
            lua_pushvalue(L, base + 1 + i);
            lua_rawseti(L, -2, i + 1);
        }
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
}

void
lvat_lua_add_item(lua_State *L, lua_Integer n, bool keyed)
{
    if (n > PENDING) {
        if (keyed)
            lua_rawset(L, -3);
        else
            lua_rawseti(L, -2, n);
    } else if (n == PENDING) {
        lvat_lua_collect(L, PENDING, keyed);
    }
}

void
lvat_lua_end_items(lua_State *L, lua_Integer n, bool keyed)
{
    if (n < PENDING)
        lvat_lua_collect(L, (int)n, keyed);
}

/* Decodes the rest of an array into a table; returns its length. */
static lua_Integer
dec_array(dec *d)
{
    lua_State *L = d->L;
    lua_Integer n = 0;
    lvat_json_tok t;

    luaL_checkstack(L, PENDING + 4, "decoding");
    for (;;) {
        next_tok(d, &t);
        if (t.type == LVAT_JSON_ARRAY_END)
            break;
        dec_value(d, &t);
        lvat_lua_add_item(L, ++n, false);
    }
    lvat_lua_end_items(L, n, false);
    return n;
}

/* {"#error": msg, ...} becomes the message; {"#tag": ..} a table. */
static void
dec_special_record(dec *d, const char *key, size_t klen)
{
    lua_State *L = d->L;
    bool error = klen == 6 && memcmp(key, "#error", 6) == 0;
    lvat_json_tok t;

    if (!error && !(klen == 4 && memcmp(key, "#tag", 4) == 0))
        dec_fail(d, "unknown record type \"%.*s\"", (int)klen, key);
    lua_newtable(L);
    lua_pushstring(L, error ? "message" : "tag");
    for (;;) {
        next_tok(d, &t);
        dec_value(d, &t);
        lua_rawset(L, -3);
        next_tok(d, &t);
        if (t.type == LVAT_JSON_OBJECT_END)
            break;
        lua_pushlstring(L, t.str, t.len);
    }
    if (error) {
        lua_getfield(L, -1, "message");
        lua_remove(L, -2);
    }
}

static void
dec_record(dec *d)
{
    lua_State *L = d->L;
    lvat_json_tok t;
    int n = 0;

    luaL_checkstack(L, 2 * PENDING + 4, "decoding");
    for (;;) {
        next_tok(d, &t);
        if (t.type == LVAT_JSON_OBJECT_END)
            break;
        if (n == 0 && t.len > 0 && t.str[0] == '#') {
            dec_special_record(d, t.str, t.len);
            return;
        }
        push_string(d, t.str, t.len);
        if (lua_type(L, -1) != LUA_TSTRING)
            dec_fail(d, "a record key must be a string");
        next_tok(d, &t);
        dec_value(d, &t);
        lvat_lua_add_item(L, ++n, true);
    }
    lvat_lua_end_items(L, n, true);
}

static void
dec_value(dec *d, const lvat_json_tok *t)
{
    lua_State *L = d->L;

    switch (t->type) {
    case LVAT_JSON_NULL:
        lua_pushnil(L);
        break;
    case LVAT_JSON_TRUE:
    case LVAT_JSON_FALSE:
        lua_pushboolean(L, t->type == LVAT_JSON_TRUE);
        break;
    case LVAT_JSON_INT:
        lua_pushinteger(L, (lua_Integer)t->i);
        break;
    case LVAT_JSON_FLOAT:
        lua_pushnumber(L, (lua_Number)t->d);
        break;
    case LVAT_JSON_STRING:
        push_string(d, t->str, t->len);
        break;
    case LVAT_JSON_ARRAY_BEGIN:
        dec_array(d);
        break;
    case LVAT_JSON_OBJECT_BEGIN:
        dec_record(d);
        break;
    default:
        dec_fail(d, "unexpected token");
    }
}

/* Starts a decode: checks the '#' and notes the clock. */
static void
dec_start(dec *d, lua_State *L, const char *body, size_t len,
          const lvat_vref *slots, size_t nslots)
{
    lvat_lvat *v = lvat_lua_vat(L);

    d->L = L;
    d->jp = NULL;
    d->slots = slots;
    d->nslots = nslots;
    d->w = v->timing && v->ndec == 0 ? lvat_time_weight(&v->nmarshal) : 0;
    d->t0 = d->w ? lvat_clock_ns() : 0;
    if (len == 0 || body[0] != '#')
        luaL_error(L, "malformed capdata: the body does not start with '#'");
}

/* __close of the guard: the newest parser taken is free again. */
static int
give_back_parser(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);

    if (v->ndec > 0)
        v->ndec--;
    return 0;
}

/*
 * Pushes the guard and marks its slot to-be-closed: a parser taken
 * comes back however the decode ends, at dec_done or when an error
 * unwinds the slot.  Errors do not all pass dec_fail (a slot naming an
 * object the vat lacks, a refused subscribe, memory), and a vat catching
 * eight of them used to leave every later decode of its delivery failing
 * as "nested too deeply".  The guard is the runtime's slot-to-value
 * table, which no vat code can reach: its metatable (that table's own)
 * gains the __close at the first decode, 32 bytes where a guard table of
 * its own was 180 a vat.  A bare state (the tests') gets one of its own.
 * [-0,+1,m]
 */
static void
push_guard(lua_State *L)
{
    luaL_checkstack(L, 4, "decoding capdata");
    if (lvat_lua_reg(L, LVAT_REG_SLOT2VAL) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    if (!lua_getmetatable(L, -1)) {
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setmetatable(L, -3);
    }
    lua_pushliteral(L, "__close");
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pushliteral(L, "__close");
        lua_pushcfunction(L, give_back_parser);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2); /* the field and the metatable */
    lua_toclose(L, -1);
}

/* Takes a parser of the vat's for the rest of the body. */
static void
dec_parse(dec *d, const char *body, size_t len)
{
    lvat_lvat *v = lvat_lua_vat(d->L);
    lvat_buf keep;

    if (v->ndec == LVAT_ARRAY_LEN(v->dec))
        luaL_error(d->L, "capdata decoding nested too deeply");
    /* Parsers are made on first use at each depth (most vats need one). */
    if (v->dec[v->ndec] == NULL &&
        (v->dec[v->ndec] = lvat_calloc(1, sizeof *v->dec[0])) == NULL)
        luaL_error(d->L, "not enough memory");
    push_guard(d->L);
    d->guard = lua_gettop(d->L);
    d->jp = v->dec[v->ndec++];
    keep = d->jp->scratch;
    lvat_json_parser_init(d->jp, body + 1, len - 1, true);
    d->jp->scratch = keep;
    lvat_buf_reset(&d->jp->scratch);
}

static void
dec_done(dec *d)
{
    lvat_lvat *v = lvat_lua_vat(d->L);

    if (d->jp != NULL) {
        lua_closeslot(d->L, d->guard); /* the parser back */
        lua_remove(d->L, d->guard);
    }
    /* Nested decodes (a callback decoding again) count once. */
    if (v->ndec == 0 && d->w)
        v->marshal_ns += d->w * (lvat_clock_ns() - d->t0);
}

static void
dec_finish(dec *d)
{
    lvat_json_tok t;

    next_tok(d, &t);
    if (t.type != LVAT_JSON_EOF)
        dec_fail(d, "trailing data");
    dec_done(d);
}

void
lvat_lua_decode(lua_State *L, const char *body, size_t len,
                const lvat_vref *slots, size_t nslots)
{
    lvat_json_tok t;
    dec d;

    dec_start(&d, L, body, len, slots, nslots);
    if (lvat_lua_fast_decode(L, body + 1, len - 1)) {
        dec_done(&d);
        return;
    }
    dec_parse(&d, body, len);
    next_tok(&d, &t);
    dec_value(&d, &t);
    dec_finish(&d);
}

int
lvat_lua_decode_methargs(lua_State *L, const char *body, size_t len,
                         const lvat_vref *slots, size_t nslots)
{
    int n = -1;
    lvat_json_tok t;
    dec d;

    dec_start(&d, L, body, len, slots, nslots);
    if ((n = lvat_lua_fast_methargs(L, body + 1, len - 1)) >= 0) {
        dec_done(&d);
        return n;
    }
    n = 0;
    dec_parse(&d, body, len);
    next_tok(&d, &t);
    if (t.type != LVAT_JSON_ARRAY_BEGIN)
        dec_fail(&d, "methargs must be [method, args]");
    next_tok(&d, &t);
    if (t.type != LVAT_JSON_STRING)
        dec_fail(&d, "the method name must be a string");
    push_string(&d, t.str, t.len);
    next_tok(&d, &t);
    if (t.type != LVAT_JSON_ARRAY_BEGIN)
        dec_fail(&d, "the arguments must be an array");
    /* The arguments stay on the stack (no table per message), unless
     * there are more than LVAT_STACK_ARGS: then they are one table. */
    luaL_checkstack(L, LVAT_STACK_ARGS + LUA_MINSTACK, "decoding");
    for (next_tok(&d, &t); t.type != LVAT_JSON_ARRAY_END; next_tok(&d, &t)) {
        dec_value(&d, &t);
        if (++n > LVAT_STACK_ARGS + 1)
            lua_rawseti(L, -2, n);
        else if (n == LVAT_STACK_ARGS + 1)
            lvat_lua_collect(L, n, false);
    }
    next_tok(&d, &t);
    if (t.type != LVAT_JSON_ARRAY_END)
        dec_fail(&d, "methargs must be [method, args]");
    dec_finish(&d);
    return n;
}
