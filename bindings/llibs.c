/*
 * Lua's standard libraries for every vat's state, from a recipe.
 *
 * Opened in each state (luaopen_*), every library function was named
 * with lua_setfield (the name looked up in the string cache, then in the
 * table, then inserted) and the vat's env then needed copies of four of
 * the libraries, walked with lua_next: a fifth of making a state.  Every
 * state holds the same C functions, numbers and strings, so a runtime
 * opens the libraries once, in a scratch state, and records them (Lua
 * gives a C function's address, lua_tocfunction).  A vat's state is then
 * filled with raw sets from the record, the tables at their final size.
 *
 * What a state holds is what opening the libraries gave: the same tables
 * in package.loaded (lauxlib's argument errors look there to name a
 * function), the same functions, numbers and strings, the string
 * metatable.  The vat's env holds the allowed base functions and string,
 * table, math and utf8 themselves, as plain Lua's globals do, and is
 * package.loaded._G.  The global table, which is the runtime's env and
 * no vat's, holds only what the runtime calls: a few base functions,
 * coroutine, and a string table of its own with the few string functions
 * the runtime calls, which no vat can reach (copying the four libraries
 * for the vat instead cost 3% of a launch and 2 KB of each vat's heap;
 * every base function in it, 1.5% and 0.8 KB).  Two things are made anew:
 * math.random and math.randomseed share a userdata of generator state,
 * which each state gets fresh and seeded as luaopen_math seeds it
 * (randomseed with no arguments: the time and the state's address); and
 * string.dump, which luavat removes, is never set (its dead key kept a
 * 32-slot table).
 */
#include "lbind.h"
#include "llibs.h"

#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "alloc.h"
#include "buf.h"

/* The tables, in the order a state makes them; the string metatable has
 * no name. */
enum { T_G, T_STRING, T_TABLE, T_MATH, T_UTF8, T_COROUTINE, T_STRMT, NT };

static const struct lib_spec {
    const char *name;
    lua_CFunction open;
    bool vat; /* in the vat's env (of _G, the allowed base functions) */
} specs[NT] = {{LUA_GNAME, luaopen_base, true},
               {LUA_STRLIBNAME, luaopen_string, true},
               {LUA_TABLIBNAME, luaopen_table, true},
               {LUA_MATHLIBNAME, luaopen_math, true},
               {LUA_UTF8LIBNAME, luaopen_utf8, true},
               {LUA_COLIBNAME, luaopen_coroutine, false},
               {NULL, NULL, false}};

/* The base functions a vat's env gets as they are. */
static const char *const base_allowed[] = {
    "assert", "error",    "ipairs",       "next",     "pairs",    "pcall",
    "select", "tonumber", "tostring",     "type",     "rawequal", "rawlen",
    "rawget", "rawset",   "getmetatable", "_VERSION", NULL};

/* The string functions the runtime's Lua code calls (lua/luavat/), in a
 * table of its own: the vat's string table is the one strings index, and
 * a vat may change it.  The runtime calls them as functions, never as a
 * string's methods. */
static const char *const runtime_string[] = {"find", "format", "sub", NULL};

/* The base functions the global table (the runtime's env) holds: what
 * baggage.lua calls, and what lenv.c wraps for the vat. */
static const char *const runtime_base[] = {
    "error",    "pcall", "select",       "tonumber",
    "tostring", "type",  "setmetatable", "xpcall", NULL};

/* The global table ends with those, string (the runtime's own),
 * coroutine, and the runtime's sys and import. */
#define GLOBALS_SIZE 16

enum {
    V_CFUNC,   /* a C function without upvalues */
    V_CLOSURE, /* a C function; its upvalues are values of ups[] */
    V_INT,
    V_FLOAT,
    V_STRING, /* bytes of text */
    V_TABLE,  /* one of the NT tables */
    V_STATE   /* the table's generator state (math.random's) */
};

typedef struct lib_value {
    int kind;
    union {
        lua_CFunction f;
        lua_Integer i;
        lua_Number n;
        size_t table;
    } u;
    size_t at, len; /* V_STRING: in text; V_CLOSURE: in ups[] */
} lib_value;

typedef struct lib_field {
    size_t name, len; /* in text */
    bool copied;      /* _G: a base function the vat's env gets */
    bool kept;        /* in its own table (of _G: what the runtime calls) */
    lib_value v;
} lib_field;

typedef struct lib_table {
    size_t first, n; /* its fields */
    size_t state;    /* bytes of its generator state, or 0 */
    size_t seed;     /* then the field that seeds it */
} lib_table;

struct lvat_lua_libs {
    lib_table tables[NT];
    lib_field *fields;
    size_t nfields, capfields;
    lib_value *ups;
    size_t nups, capups;
    lvat_buf text;
};

/* ---- Recording (in the scratch state) ---- */

/* Stack of the scratch state while recording: 1 the recorder, 2..NT+1
 * the tables, then the key and value being recorded. */
#define TABLE_SLOT(t) (2 + (int)(t))

typedef struct recorder {
    lvat_lua_libs *r;
    size_t t;          /* the table being recorded */
    const char *name;  /* the field */
    const void *state; /* the table's generator state, once seen */
    bool nomem;
} recorder;

static void
check_mem(lua_State *T, recorder *rec, bool ok)
{
    if (!ok) {
        rec->nomem = true;
        luaL_error(T, "out of memory");
    }
}

static size_t
add_text(lua_State *T, recorder *rec, const char *s, size_t len)
{
    size_t at = rec->r->text.len;

    check_mem(T, rec, lvat_buf_append(&rec->r->text, s, len) == 0);
    return at;
}

static int
unsupported(lua_State *T, const recorder *rec, const char *what)
{
    const char *lib = specs[rec->t].name;

    return luaL_error(T,
                      "%s.%s is %s, which luavat cannot make again in "
                      "each vat",
                      lib ? lib : "(string metatable)", rec->name, what);
}

/* The generator state upvalue at the top: one per table, a plain block. */
static void
record_state(lua_State *T, recorder *rec)
{
    if ((rec->state != NULL && rec->state != lua_touserdata(T, -1)) ||
        lua_getmetatable(T, -1) || lua_getiuservalue(T, -1, 1) != LUA_TNONE)
        unsupported(T, rec, "a closure over an unknown userdata");
    lua_pop(T, 1); /* lua_getiuservalue pushed nil */
    rec->state = lua_touserdata(T, -1);
    rec->r->tables[rec->t].state = lua_rawlen(T, -1);
}

/* Records the C function at the top and its upvalues. */
static void
record_closure(lua_State *T, recorder *rec, lib_value *v)
{
    lvat_lua_libs *r = rec->r;
    lua_CFunction f = lua_tocfunction(T, -1);

    v->at = r->nups;
    v->len = 0;
    for (int n = 1; lua_getupvalue(T, -1, n) != NULL; n++) {
        lib_value *up;

        check_mem(T, rec,
                  lvat_reserve(&r->ups, r->nups, &r->capups, sizeof *up, 16));
        up = &r->ups[r->nups++];
        v->len++;
        if (lua_type(T, -1) == LUA_TUSERDATA) {
            record_state(T, rec);
            up->kind = V_STATE;
        } else if (lua_tocfunction(T, -1) != NULL &&
                   lua_getupvalue(T, -1, 1) == NULL) {
            up->kind = V_CFUNC;
            up->u.f = lua_tocfunction(T, -1);
        } else {
            unsupported(T, rec, "a closure over an unknown value");
        }
        lua_pop(T, 1);
    }
    v->kind = v->len ? V_CLOSURE : V_CFUNC;
    v->u.f = f;
}

/* Records the value at the top. */
static void
record_value(lua_State *T, recorder *rec, lib_value *v)
{
    size_t len;
    const char *s;

    switch (lua_type(T, -1)) {
    case LUA_TFUNCTION:
        if (lua_tocfunction(T, -1) == NULL)
            unsupported(T, rec, "a Lua function");
        record_closure(T, rec, v);
        return;
    case LUA_TNUMBER:
        v->kind = lua_isinteger(T, -1) ? V_INT : V_FLOAT;
        if (v->kind == V_INT)
            v->u.i = lua_tointeger(T, -1);
        else
            v->u.n = lua_tonumber(T, -1);
        return;
    case LUA_TSTRING:
        s = lua_tolstring(T, -1, &len);
        v->kind = V_STRING;
        v->at = add_text(T, rec, s, len);
        v->len = len;
        return;
    case LUA_TTABLE:
        for (size_t t = 0; t < NT; t++)
            if (lua_rawequal(T, -1, TABLE_SLOT(t))) {
                v->kind = V_TABLE;
                v->u.table = t;
                return;
            }
        unsupported(T, rec, "another table");
        return;
    default:
        unsupported(T, rec, lua_typename(T, lua_type(T, -1)));
    }
}

static bool
listed(const char *const *names, const char *name)
{
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, name) == 0)
            return true;
    return false;
}

/* The field of the table being recorded named `name` (there is one). */
static size_t
field_named(lua_State *T, const recorder *rec, const char *name)
{
    const lvat_lua_libs *r = rec->r;
    const lib_table *lt = &r->tables[rec->t];

    for (size_t i = lt->first; i < lt->first + lt->n; i++)
        if (r->fields[i].len == strlen(name) &&
            memcmp(r->text.data + r->fields[i].name, name, r->fields[i].len) ==
                0)
            return i;
    return (size_t)luaL_error(T, "%s.%s is missing", specs[rec->t].name, name);
}

/* Whether field f (named `name`) of table t is kept in its own table: of
 * the global table (the runtime's env), only what the runtime calls and
 * the libraries the vat's env does not hold. */
static bool
kept(size_t t, const lib_field *f, const char *name)
{
    if (t != T_G)
        return true;
    if (f->v.kind == V_TABLE)
        return f->v.u.table != T_G && !specs[f->v.u.table].vat;
    return listed(runtime_base, name);
}

/* Records table t's fields, but of the global table only those it keeps
 * or the vat's env gets. */
static void
record_table(lua_State *T, recorder *rec, size_t t)
{
    lvat_lua_libs *r = rec->r;

    rec->t = t;
    rec->state = NULL;
    r->tables[t].first = r->nfields;
    lua_pushnil(T);
    while (lua_next(T, TABLE_SLOT(t))) {
        lib_field *f;

        rec->name = "?";
        if (lua_type(T, -2) != LUA_TSTRING)
            unsupported(T, rec, "under a key that is not a string");
        rec->name = lua_tostring(T, -2);
        check_mem(
            T, rec,
            lvat_reserve(&r->fields, r->nfields, &r->capfields, sizeof *f, 64));
        f = &r->fields[r->nfields];
        record_value(T, rec, &f->v);
        f->kept = kept(t, f, rec->name);
        f->copied = t == T_G && listed(base_allowed, rec->name);
        if (!f->kept && !f->copied) {
            lua_pop(T, 1);
            continue;
        }
        f->len = strlen(rec->name);
        f->name = add_text(T, rec, rec->name, f->len);
        r->nfields++;
        lua_pop(T, 1);
    }
    r->tables[t].n = r->nfields - r->tables[t].first;
    if (r->tables[t].state)
        r->tables[t].seed = field_named(T, rec, "randomseed");
}

void
lvat_lua_patch_string(lua_State *T)
{
    lvat_lua_open_patterns(T, -1);
    lvat_lua_open_format(T, -1);
    lvat_lua_open_bounded_string(T, -1);
    lua_pushnil(T);
    lua_setfield(T, -2, "dump");
    lua_pushliteral(T, "");
    lua_getmetatable(T, -1);
    lua_pushliteral(T, "string");
    lua_setfield(T, -2, "__metatable");
    lua_pop(T, 2);
}

/* lua_CFunction record(recorder): opens the libraries as luaL_requiref
 * does, patches string, and records every table. */
static int
record(lua_State *T)
{
    recorder *rec = lua_touserdata(T, 1);

    luaL_checkstack(T, NT + 8, "recording the libraries");
    for (size_t t = 0; t < T_STRMT; t++) {
        luaL_requiref(T, specs[t].name, specs[t].open, 1);
        if (t == T_STRING)
            lvat_lua_patch_string(T);
        else if (t == T_TABLE)
            lvat_lua_open_bounded_table(T, -1);
    }
    lua_pushliteral(T, "");
    lua_getmetatable(T, -1);
    lua_remove(T, -2);
    for (size_t t = 0; t < NT; t++)
        record_table(T, rec, t);
    rec->t = T_STRING;
    for (const char *const *name = runtime_string; *name; name++)
        field_named(T, rec, *name);
    return 0;
}

void
lvat_lua_libs_free(lvat_lua_libs *r)
{
    if (r == NULL)
        return;
    lvat_free(r->fields);
    lvat_free(r->ups);
    lvat_buf_free(&r->text);
    lvat_free(r);
}

int
lvat_lua_libs_new(lvat_lua_libs **out, lvat_errbuf *err)
{
    /* The C library's allocator (luaL_newstate): the scratch state lives
     * for this call only, and its blocks would sit in no vat's slab. */
    lua_State *T = luaL_newstate();
    recorder rec = {lvat_calloc(1, sizeof *rec.r), 0, "", NULL, false};
    lvat_lua_libs *r = rec.r;
    int status = LUA_ERRMEM, rc = LVAT_OK;

    if (T != NULL && r != NULL) {
        lvat_buf_init(&r->text);
        lua_pushcfunction(T, record);
        lua_pushlightuserdata(T, &rec);
        status = lua_pcall(T, 1, 0, 0);
    }
    if (status == LUA_ERRMEM || rec.nomem)
        rc = lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    else if (status != LUA_OK)
        rc = lvat_errbuf_set(err, LVAT_EVAT, "Lua's libraries: %s",
                             lua_tostring(T, -1));
    if (T != NULL)
        lua_close(T);
    if (rc != LVAT_OK) {
        lvat_lua_libs_free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

/* ---- Making them in a vat's state ---- */

void
lvat_lua_set_funcs(lua_State *L, const luaL_Reg *l)
{
    for (; l->name != NULL; l++) {
        lua_pushlstring(L, l->name, strlen(l->name));
        lua_pushcfunction(L, l->func);
        lua_rawset(L, -3);
    }
}

/* Stack of the state while making: base + t the table t, base + NT the
 * vat's env, base + NT + 1 the generator state. */
#define VENV_SLOT  NT
#define STATE_SLOT (NT + 1)
static void
push_value(lua_State *L, const lvat_lua_libs *r, const lib_value *v, int base)
{
    switch (v->kind) {
    case V_CFUNC:
        lua_pushcfunction(L, v->u.f);
        break;
    case V_CLOSURE:
        for (size_t i = 0; i < v->len; i++)
            push_value(L, r, &r->ups[v->at + i], base);
        lua_pushcclosure(L, v->u.f, (int)v->len);
        break;
    case V_INT:
        lua_pushinteger(L, v->u.i);
        break;
    case V_FLOAT:
        lua_pushnumber(L, v->u.n);
        break;
    case V_STRING:
        lua_pushlstring(L, r->text.data + v->at, v->len);
        break;
    case V_TABLE:
        lua_pushvalue(L, base + (int)v->u.table);
        break;
    default: /* V_STATE */
        lua_pushvalue(L, base + STATE_SLOT);
    }
}

static void
fill_table(lua_State *L, const lvat_lua_libs *r, size_t t, int base)
{
    const lib_table *lt = &r->tables[t];
    int table = base + (int)t;

    if (lt->state) {
        lua_newuserdatauv(L, lt->state, 0);
        lua_replace(L, base + STATE_SLOT);
    }
    for (size_t i = lt->first; i < lt->first + lt->n; i++) {
        const lib_field *f = &r->fields[i];

        lua_pushlstring(L, r->text.data + f->name, f->len);
        push_value(L, r, &f->v, base);
        if (f->copied && f->kept) {
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, base + VENV_SLOT);
        }
        lua_rawset(L, f->kept ? table : base + VENV_SLOT);
    }
    if (lt->state) {
        const lib_field *f = &r->fields[lt->seed];

        lua_pushlstring(L, r->text.data + f->name, f->len);
        lua_rawget(L, table);
        lua_call(L, 0, 0);
    }
}

/* The global table's string: the runtime's string functions. */
static void
set_runtime_string(lua_State *L, int base)
{
    int n = (int)(sizeof runtime_string / sizeof *runtime_string) - 1;

    lua_createtable(L, 0, n);
    for (const char *const *name = runtime_string; *name; name++) {
        lua_pushstring(L, *name);
        lua_pushvalue(L, -1);
        lua_rawget(L, base + T_STRING);
        lua_rawset(L, -3);
    }
    lua_setfield(L, base + T_G, LUA_STRLIBNAME);
}

/* Pushes the NT tables at their final size, the vat's env and a slot for
 * a generator state. */
static void
make_tables(lua_State *L, const lvat_lua_libs *r, int venv)
{
    lua_createtable(L, 0, GLOBALS_SIZE);
    for (size_t t = 1; t < NT; t++)
        lua_createtable(L, 0, (int)r->tables[t].n);
    lua_pushvalue(L, venv);
    lua_pushnil(L);
}

void
lvat_lua_libs_open(lua_State *L, const lvat_lua_libs *r, int venv)
{
    int base = lua_gettop(L) + 1;

    venv = lua_absindex(L, venv);
    luaL_checkstack(L, NT + 8, "opening the libraries");
    make_tables(L, r, venv);
    lua_pushvalue(L, base + T_G);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    for (size_t t = 0; t < NT; t++)
        fill_table(L, r, t, base);
    set_runtime_string(L, base);
    lua_createtable(L, 0, T_STRMT);
    for (size_t t = 0; t < T_STRMT; t++) {
        lua_pushvalue(L, t == T_G ? venv : base + (int)t);
        lua_setfield(L, -2, specs[t].name);
        if (t != T_G && specs[t].vat) {
            lua_pushvalue(L, base + (int)t);
            lua_setfield(L, venv, specs[t].name);
        }
    }
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushliteral(L, "");
    lua_pushvalue(L, base + T_STRMT);
    lua_setmetatable(L, -2);
    lua_settop(L, base - 1);
}
