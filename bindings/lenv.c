/*
 * The curated environment, built by allow list (design §8): a vat's _ENV
 * holds the safe libraries and a few wrapped functions; io, os, debug,
 * package, dofile, loadfile, collectgarbage and string.dump are never
 * reachable, code loads only as text, and require reads only the vat's
 * own code snapshot.  The runtime (lua/) runs in a separate private
 * environment with the original base functions and string functions of
 * its own (llibs.c), which no vat code can reach or change.
 */
#include "lbind.h"

#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lchunks.h"
#include "llibs.h"
#include "lruntime.h"
#include "lstack.h"

/* ---- Vat globals written in C ---- */

int
lvat_lua_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        lvat_syscall_log(lvat_lua_vat(L)->sys, s, len);
    }
    return 0;
}

static int
l_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    /* Raw, as Lua looks for it: a metatable's own __index could add one
     * while a getfield asks, and finalizers run with hooks off, where the
     * kill hook cannot stop them. */
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not "
                                 "allowed in vats");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/*
 * xpcall with a guarded message handler.  When the kill hook raises its
 * error, Lua calls the message handler from inside the hook, where hooks
 * are off (allowhook is 0 until the hook returns, and it never does): a
 * vat handler that loops there could never be stopped.  So the vat's
 * handler runs only while the vat is not being killed.
 */
static int
msgh_guard(lua_State *L)
{
    if (lvat_lua_vat(L)->killed != LVAT_KILL_NONE)
        return 1; /* the error as it is */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int
xpcall_done(lua_State *L, int status, lua_KContext ctx)
{
    LVAT_UNUSED(status);
    LVAT_UNUSED(ctx);
    return lua_gettop(L);
}

static int
l_xpcall(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, msgh_guard, 1);
    lua_replace(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the real xpcall */
    lua_insert(L, 1);
    /* With a continuation, so code under xpcall may still await. */
    lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, xpcall_done);
    return xpcall_done(L, LUA_OK, 0);
}

static int
l_load(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int status;

    if (!lua_isnoneornil(L, 4))
        return luaL_error(L, "load: chunks always run in the vat's own "
                             "environment (no env argument)");
    status = lvat_chunks_compile(L, text, len, name);
    if (status != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    lvat_lua_reg(L, LVAT_REG_VATENV);
    lua_setupvalue(L, -2, 1);
    return 1;
}

/* ---- Endowments (config "globals"; lendow.c) ---- */

void
lvat_lua_add_endowments(lua_State *L, const lvat_vat_spec *spec)
{
    lvat_lua_reg(L, LVAT_REG_VATENV);
    for (size_t i = 0; i < spec->nglobals; i++) {
        if (!lvat_lua_push_endowment(L, spec->globals[i]))
            luaL_error(L, "config asks for unknown global \"%s\" (known: %s)",
                       spec->globals[i], lvat_lua_endowment_names);
        lua_setfield(L, -2, spec->globals[i]);
    }
    lua_pop(L, 1);
}

/* ---- The runtime's own modules ---- */

static int
l_import(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);

    lua_settop(L, 1);
    if (lua_getfield(L, lua_upvalueindex(2), name) != LUA_TNIL)
        return 1;
    for (size_t i = 0; i < lvat_lua_runtime_nchunks; i++) {
        const lvat_lua_chunk *c = &lvat_lua_runtime_chunks[i];
        if (strcmp(c->name, name) != 0)
            continue;
        if (luaL_loadbufferx(L, (const char *)c->code, c->len, name, "b"))
            return lua_error(L);
        lua_pushvalue(L, lua_upvalueindex(1)); /* the runtime env */
        lua_setupvalue(L, -2, 1);
        lua_call(L, 0, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, lua_upvalueindex(2), name);
        return 1;
    }
    return luaL_error(L, "no runtime module %s", name);
}

/* The runtime env: the state's own global table, which no vat code can
 * reach (a vat's _ENV is a table of its own), plus sys and import.
 * [-0,+1,m] */
static void
push_runtime_env(lua_State *L)
{
    lua_pushglobaltable(L);
    lvat_lua_open_sys(L);
    lua_setfield(L, -2, "sys");
    lua_pushvalue(L, -1);
    lua_createtable(L, 0, 1); /* loaded runtime modules: baggage */
    lua_pushcclosure(L, l_import, 2);
    lua_setfield(L, -2, "import");
}

/* ---- The vat env ---- */

void
lvat_lua_copy_fields(lua_State *L, int from, int to)
{
    from = lua_absindex(L, from);
    to = lua_absindex(L, to);
    lua_pushnil(L);
    while (lua_next(L, from)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, to);
    }
}

/* What the vat env holds besides the libraries (llibs.c) and the
 * runtime's additions (lvatenv.c). */
static void
build_vat_env(lua_State *L, int env)
{
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, l_setmetatable, 1);
    lua_setfield(L, env, "setmetatable");
    lua_getglobal(L, "xpcall");
    lua_pushcclosure(L, l_xpcall, 1);
    lua_setfield(L, env, "xpcall");
    lua_pushcfunction(L, lvat_lua_print);
    lua_setfield(L, env, "print");
    lua_pushcfunction(L, l_load);
    lua_setfield(L, env, "load");
    lua_pushcfunction(L, lvat_lua_require);
    lua_setfield(L, env, "require");
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
}

/* The runtime's weak tables.  Those of one mode share their metatable
 * (nothing changes it): two tables fewer to make, hold and traverse. */
static void
weak_tables(lua_State *L)
{
    static const struct {
        int slot;
        const char *mode;
    } weak[] = {{LVAT_REG_SLOT2VAL, "v"},
                {LVAT_REG_VAL2SLOT, "k"},
                {LVAT_REG_REMOTABLES, "k"},
                {LVAT_REG_THREADS, "k"}};

    for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
        if (i == 0 || strcmp(weak[i].mode, weak[i - 1].mode) != 0) {
            if (i > 0)
                lua_pop(L, 1);
            lua_createtable(L, 0, 1);
            lua_pushstring(L, weak[i].mode);
            lua_setfield(L, -2, "__mode");
        }
        lua_newtable(L);
        lua_pushvalue(L, -2);
        lua_setmetatable(L, -2);
        lvat_lua_set_reg(L, weak[i].slot);
    }
    lua_pop(L, 1); /* the last metatable */
}

int
lvat_lua_open_env(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    int venv;

    /* Placeholders, in order, so that the slots fill the registry's
     * array part. */
    for (int i = 0; i < LVAT_REG_COUNT; i++) {
        lua_pushboolean(L, 0);
        lua_rawseti(L, LUA_REGISTRYINDEX, LVAT_REG_KEY(i));
    }
    /* base functions, libraries, the runtime's globals, endowments */
    lua_createtable(L, 0, 32);
    venv = lua_gettop(L);
    lvat_lua_libs_open(L, lvat_lua_runtime_libs(v->rt), venv);
    weak_tables(L);
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_AWAITED);
    lua_newtable(L);
    lvat_lua_set_reg(L, LVAT_REG_LOADED);
    push_runtime_env(L);
    build_vat_env(L, venv);
    lua_pushvalue(L, venv);
    lvat_lua_set_reg(L, LVAT_REG_VATENV);
    /* The runtime, then Far, E, Promise and coroutine. */
    lvat_lua_liveslots_open(L);
    lvat_lua_jobs_open(L);
    lvat_lua_install_vatenv(L, venv);
    lua_settop(L, 0);
    return 0;
}

/* ---- require ---- */

int
lvat_lua_require(lua_State *L)
{
    static const char loading = 0;
    lvat_lvat *v = lvat_lua_vat(L);
    const char *name = luaL_checkstring(L, 1);
    int rc;

    lua_settop(L, 1);
    lvat_lua_reg(L, LVAT_REG_LOADED); /* 2 */
    lua_getfield(L, 2, name);
    if (lua_touserdata(L, -1) == &loading)
        return luaL_error(L, "require \"%s\": a loop of modules requiring "
                             "each other", name);
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);
    lvat_buf_reset(&v->src);
    lvat_buf_reset(&v->srcname);
    rc = lvat_syscall_read_module(v->sys, name, &v->src, &v->srcname);
    if (rc == LVAT_ENOTFOUND)
        return luaL_error(L, "module \"%s\" not found: require looks for "
                             "%s.lua among the vat's own files", name, name);
    if (rc != LVAT_OK)
        return luaL_error(L, "require \"%s\": %s", name, lvat_strerror(rc));
    rc = lvat_chunks_load(lvat_lua_runtime_compiled(v->rt), L, v->src.data,
                          v->src.len, v->srcname.data);
    /* The text is compiled now: an idle vat need not keep its sources. */
    lvat_buf_free(&v->src);
    lvat_buf_free(&v->srcname);
    if (rc != LUA_OK)
        return lua_error(L);
    lvat_lua_reg(L, LVAT_REG_VATENV);
    lua_setupvalue(L, -2, 1);
    lua_pushlightuserdata(L, (void *)&loading);
    lua_setfield(L, 2, name);
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        /* Forget the attempt so a later require tries again. */
        lua_pushnil(L);
        lua_setfield(L, 2, name);
        return lua_error(L);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}
