/*
 * The `sys` table of the runtime (never given to vat code): each function
 * checks and copies its Lua arguments, marshals values into the vat's
 * scratch, then calls the kernel's syscall.  Expected failures come back
 * as nil plus a message; a vat bug raises an error; an illegal syscall
 * also stops the vat at its next instruction (the kernel has already
 * decided to terminate it).
 */
#include "lbind.h"

#include <string.h>

#include <lauxlib.h>

#include "alloc.h"
#include "llibs.h"
#include "lstack.h"
#include "lsystime.h"

/* ---- Helpers ---- */

void
lvat_lua_push_vref(lua_State *L, lvat_vref v)
{
    lua_pushinteger(L, (lua_Integer)v.v);
}

bool
lvat_lua_to_vref(lua_State *L, int idx, lvat_vref *out)
{
    size_t len;
    const char *s;

    if (lua_isinteger(L, idx)) {
        out->v = (uint64_t)lua_tointeger(L, idx);
        return lvat_vref_valid(*out);
    }
    if (lua_type(L, idx) != LUA_TSTRING)
        return false;
    s = lua_tolstring(L, idx, &len);
    return lvat_vref_parse(s, len, out) == LVAT_OK;
}

lvat_vref
lvat_lua_check_vref(lua_State *L, int idx)
{
    lvat_vref v;

    if (!lvat_lua_to_vref(L, idx, &v))
        luaL_error(L, "%s is not a vat ref", luaL_tolstring(L, idx, NULL));
    return v;
}

void
lvat_lua_push_vref_text(lua_State *L, lvat_vref v)
{
    char name[LVAT_REF_BUFSIZE];

    lua_pushlstring(L, name, lvat_vref_format(v, name));
}

#define SYS LVAT_LUA_SYS
#define check lvat_lua_sys_check

/* Turns a syscall's return code into the Lua outcome. */
int
lvat_lua_sys_check(lua_State *L, int rc)
{
    lvat_lvat *v = lvat_lua_vat(L);

    if (rc == LVAT_OK)
        return 0;
    if (rc == LVAT_EILLEGAL) {
        lvat_lua_kill(v, LVAT_KILL_ILLEGAL);
        return luaL_error(L, "%s", lvat_syscall_errmsg(v->sys));
    }
    return luaL_error(L, "%s", lvat_syscall_errmsg(v->sys));
}

static lvat_vcapdata
scratch_capdata(lvat_lvat *v)
{
    lvat_vcapdata cd = {v->enc.data, v->enc.len, v->encslots, v->nencslots};
    return cd;
}

/* ---- Messages ---- */

/* Sends the methargs in the scratch to target, with result, or a fresh
 * p+N for it (`alloc`); pushes the result vref when there is one and
 * returns how many it pushed.  A p+N the kernel refused is given back
 * here, so a send needs no protected call to roll back what it took. */
static int
send_encoded(lua_State *L, lvat_vref target, lvat_vref result, bool alloc)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lvat_vcapdata cd = scratch_capdata(v);
    uint64_t next = v->next_prom;
    int rc;

    if (alloc)
        result = lvat_vref_make(true, true, v->next_prom++);
    rc = SYS(v, lvat_syscall_send(v->sys, target, &cd, result));
    if (rc != LVAT_OK)
        v->next_prom = next;
    check(L, rc);
    if (lvat_vref_is_none(result))
        return 0;
    lvat_lua_push_vref(L, result);
    return 1;
}

/*
 * send(target, method, args, n, result|true|nil) -> result vref or nil.
 * `true` makes a fresh p+N for the result, after the arguments are
 * marshalled: marshalling may export promises (p+N) of its own, and the
 * kernel requires a vat to name its export numbers in increasing order.
 */
/* The send of sys.send and sendArgs: the target vref at 1, the method at
 * 2, the result (nil, a vref, or true for a fresh p+N) at `res`, the
 * arguments at `args` (a table, or n stack values).  Returns how many
 * results (the result vref, pushed when there is one). */
static int
send(lua_State *L, int res, int args, lua_Integer n, bool on_stack)
{
    lvat_vref target = lvat_lua_check_vref(L, 1), result = {0};
    size_t mlen;
    const char *method = luaL_checklstring(L, 2, &mlen);
    bool alloc = lua_isboolean(L, res) && lua_toboolean(L, res);

    if (!lua_isnil(L, res) && !alloc)
        result = lvat_lua_check_vref(L, res);
    lvat_lua_encode_methargs(L, method, mlen, args, n, on_stack);
    return send_encoded(L, target, result, alloc);
}

bool
lvat_lua_send_scalars(lua_State *L, lvat_vref target, const char *method,
                      size_t mlen, int first, int n, bool result)
{
    lvat_vref none = {0};

    for (int i = 0; i < n; i++)
        if (!lvat_lua_is_scalar(L, first + i))
            return false;
    /* What raises here took no number: nothing to give back. */
    lvat_lua_encode_methargs(L, method, mlen, first, n, true);
    send_encoded(L, target, none, result);
    return true;
}

int
lvat_lua_sys_send(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 4);

    luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 5);
    return send(L, 5, 3, n, false);
}

int
lvat_lua_sys_send_args(lua_State *L)
{
    return send(L, 3, 4, lua_gettop(L) - 3, true);
}

int
lvat_lua_pcall_marshal(lua_State *L, int nargs, int nresults)
{
    lvat_lvat *v = lvat_lua_vat(L);
    uint64_t o = v->next_obj, p = v->next_prom;
    int status = lua_pcall(L, nargs, nresults, 0);

    if (status == LUA_OK)
        return status;
    lvat_lua_rollback(L, o, p);
    return status;
}

/* resolve(vpid, rejected, value) */
int
lvat_lua_sys_resolve(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lvat_resolution r;

    r.vpid = lvat_lua_check_vref(L, 1);
    r.rejected = lua_toboolean(L, 2);
    lua_settop(L, 3);
    lvat_lua_encode(L, 3, r.rejected ? LVAT_ENC_REASON : LVAT_ENC_PASS,
                    r.rejected ? "rejection" : "result");
    r.data = scratch_capdata(v);
    check(L, SYS(v, lvat_syscall_resolve(v->sys, &r, 1)));
    return 0;
}

/* exit(failure, info) */
static int
l_exit(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    bool failure = lua_toboolean(L, 1);
    lvat_vcapdata cd;

    lua_settop(L, 2);
    lvat_lua_encode(L, 2, failure ? LVAT_ENC_REASON : LVAT_ENC_PASS, "info");
    cd = scratch_capdata(v);
    check(L, lvat_syscall_exit(v->sys, failure, &cd));
    return 0;
}

void
lvat_lua_append_vref(lua_State *L, lvat_vref **arr, size_t *n, size_t *cap,
                     lvat_vref r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        lvat_vref *p = lvat_realloc(*arr, c * sizeof *p);
        if (p == NULL)
            luaL_error(L, "not enough memory");
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = r;
}

/* Reads an array of vref strings into v->encslots. */
static void
read_vrefs(lua_State *L, int idx, lvat_lvat *v)
{
    lua_Integer n;

    luaL_checktype(L, idx, LUA_TTABLE);
    n = luaL_len(L, idx);
    v->nencslots = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lvat_vref r;
        lua_rawgeti(L, idx, i);
        r = lvat_lua_check_vref(L, -1);
        lua_pop(L, 1);
        lvat_lua_append_vref(L, &v->encslots, &v->nencslots, &v->capencslots, r);
    }
}

static int
gc_list(lua_State *L, int (*fn)(lvat_syscall *, const lvat_vref *, size_t))
{
    lvat_lvat *v = lvat_lua_vat(L);

    read_vrefs(L, 1, v);
    return check(L, SYS(v, fn(v->sys, v->encslots, v->nencslots)));
}

int
lvat_lua_sys_drop_imports(lua_State *L)
{
    return gc_list(L, lvat_syscall_drop_imports);
}

int
lvat_lua_sys_retire_imports(lua_State *L)
{
    return gc_list(L, lvat_syscall_retire_imports);
}

/* ---- Coroutines ---- */

/*
 * resume(co, ...) like coroutine.resume, but every resume of vat code goes
 * through here so the watchdog knows which thread is running and a kill
 * follows execution into and out of coroutines.
 */
int
lvat_lua_sys_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    int nargs = lua_gettop(L) - 1;

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    if (lua_status(co) == LUA_OK && lua_gettop(co) == 0) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot resume dead coroutine");
        return 2;
    }
    if (co == L || (lua_status(co) != LUA_YIELD && lua_status(co) != LUA_OK)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot resume non-suspended coroutine");
        return 2;
    }
    return lvat_lua_resume(L, co, nargs);
}

int
lvat_lua_resume(lua_State *L, lua_State *co, int nargs)
{
    lvat_lvat *v = lvat_lua_vat(L);
    lua_State *prev;
    int nres, status;

    if (!lua_checkstack(co, nargs + 1))
        return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, nargs);
    if (v->killed)
        lvat_lua_kill(v, v->killed);
    prev = v->running;
    v->running = co;
    if (v->killed)
        lua_sethook(co, lvat_lua_kill_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    status = lua_resume(co, L, nargs, &nres);
    v->running = prev;
    if (v->killed)
        lua_sethook(L, lvat_lua_kill_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        lua_pushboolean(L, 1);
        lua_xmove(co, L, nres);
        return nres + 1;
    }
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1); /* error object */
    return 2;
}

/* ---- Garbage collection ---- */

/* Below this a full collection is cheap enough to run at every reap. */
#define GC_FULL_ALWAYS ((size_t)2 << 20)

/* A reap's collection.  It costs time in proportion to the heap, so on a
 * big heap it runs only once the heap has doubled since the last one (the
 * incremental collector finds garbage meanwhile, and its finds are
 * reported too): otherwise a vat holding many promises would spend most
 * of its time re-marking them. */
void
lvat_lua_gc_full(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);

    if (v->mem_used < GC_FULL_ALWAYS || v->mem_used >= 2 * v->heap_after_gc) {
        lua_gc(L, LUA_GCCOLLECT);
        v->heap_after_gc = v->mem_used;
    }
}

void
lvat_lua_push_dead_imports(lua_State *L)
{
    lvat_lvat *v = lvat_lua_vat(L);
    size_t n = v->ndead;

    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lvat_lua_push_vref(L, v->dead[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    v->ndead = 0;
}

int
lvat_lua_open_sys(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"exit", l_exit},
                                     {"resume", lvat_lua_sys_resume},
                                     {NULL, NULL}};

    LVAT_STACK_ENTER(L);
    /* These, presences' and vatstore's: 14, where 17 took twice the room
     * (a table's hash part is a power of two). */
    lua_createtable(L, 0, 16);
    lvat_lua_set_funcs(L, funcs);
    lvat_lua_presence_sys(L);
    lvat_lua_vatstore_sys(L);
    LVAT_STACK_LEAVE(L, 1);
    return 1;
}

int
lvat_lua_open_raw_syscalls(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"send", lvat_lua_sys_send},
                                     {"resolve", lvat_lua_sys_resolve},
                                     {"vrefOf", lvat_lua_sys_vref_of},
                                     {NULL, NULL}};

    lvat_lua_open_sys(L);
    lvat_lua_set_funcs(L, funcs);
    return 1;
}
