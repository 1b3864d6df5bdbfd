/*
 * One vat's lua_State: created with a counting allocator (the memory cap),
 * its lvat_lvat in the extra space, a curated environment, and the vat
 * runtime loaded; then driven one delivery at a time under protection,
 * with the watchdog armed.  C, not the vat, decides whether a delivery
 * failed: a kill or a memory fault counts whatever the vat's code did with
 * the error.
 */
#include "lbind.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "alloc.h"
#include "clock.h"
#include "slab.h"
#include "lspare.h"
#include "lstack.h"

/* Room the allocator still grants after a memory fault, so unwinding and
 * closing the state never fail half-way. */
#define UNWIND_SLACK (64u << 10)

/* ---- Allocator ---- */

/* A growth by `grow` bytes past the vat's cap.  The first refusal is
 * Lua's cue to collect and try again (lmem.c's emergency collection), so
 * that the cap bounds what the vat keeps, not its garbage; refused again
 * with nothing granted in between, the vat is killed, and the allocator
 * says whether to grant the growth all the same (within the slack,
 * unless the kill is for memory).  Out of line, so that the allocator's
 * common path saves no registers for it. */
static __attribute__((noinline)) bool
over_limit(lvat_lvat *v, size_t grow)
{
    if (v->killed == LVAT_KILL_NONE && !v->mem_refused) {
        v->mem_refused = true;
        return false;
    }
    if (v->killed == LVAT_KILL_NONE)
        lvat_lua_kill(v, LVAT_KILL_MEMORY);
    return v->mem_used + grow <= v->mem_limit + UNWIND_SLACK &&
           v->killed != LVAT_KILL_MEMORY;
}

/* A block granted: the vat's heap grew from `old` to `nsize` bytes. */
static inline void *
granted(lvat_lvat *v, void *p, size_t old, size_t nsize)
{
    v->mem_refused = false;
    v->mem_used = v->mem_used - old + nsize;
    if (v->mem_used > v->mem_peak)
        v->mem_peak = v->mem_used;
    return p;
}

/* What l_alloc does not do inline: resizes, new blocks carved afresh or
 * too big for the slab's free lists, and growth past the cap. */
static __attribute__((noinline)) void *
alloc_slow(lvat_lvat *v, void *ptr, size_t old, size_t nsize)
{
    void *p;

    if (nsize > old && v->mem_limit && !v->closing &&
        v->mem_used + (nsize - old) > v->mem_limit &&
        !over_limit(v, nsize - old))
        return NULL;
    p = ptr == NULL ? lvat_slab_alloc(v->slab, nsize)
                    : lvat_slab_realloc(v->slab, ptr, old, nsize);
    return p == NULL ? NULL : granted(v, p, old, nsize);
}

/* Most calls free a block or make a small one: those two are done here,
 * where they need no registers saved (launching a vat makes ~550
 * blocks). */
static void *
l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    lvat_lvat *v = ud;
    void *p;

    if (nsize == 0) {
        if (ptr != NULL) {
            v->mem_used -= osize;
            lvat_slab_release(v->slab, ptr, osize);
        }
        return NULL;
    }
    if (ptr != NULL)
        return alloc_slow(v, ptr, osize, nsize);
    if ((v->mem_limit && !v->closing && v->mem_used + nsize > v->mem_limit) ||
        (p = lvat_slab_take(v->slab, nsize)) == NULL)
        return alloc_slow(v, NULL, 0, nsize);
    return granted(v, p, 0, nsize);
}

/* ---- Kills ---- */

void
lvat_lua_kill(lvat_lvat *v, int why)
{
    lua_State *L = v->running;

    if (v->killed == LVAT_KILL_NONE)
        v->killed = why;
    if (L != NULL)
        lua_sethook(L, lvat_lua_kill_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* Notes where the vat was when its kill is first seen (the kill hook, a
 * C loop's check): the nearest function on L's stack that has lines,
 * which is vat code, as the runtime's bytecode is stripped. */
static void
note_where(lua_State *L, lvat_lvat *v)
{
    lua_Debug ar;

    for (int level = 0; v->kill_where[0] == '\0' && level < 16 &&
                        lua_getstack(L, level, &ar);
         level++)
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
            snprintf(v->kill_where, sizeof v->kill_where, "%s:%d",
                     ar.short_src, ar.currentline);
}

void
lvat_lua_check_stopped(lua_State *L, lvat_lvat *v)
{
    char msg[256];

    if (v == NULL)
        return;
    if (v->killed == LVAT_KILL_NONE && v->deadline_us != 0 &&
        lvat_clock_ns() / 1000u > v->deadline_us)
        lvat_lua_kill(v, LVAT_KILL_TIME);
    if (v->killed == LVAT_KILL_NONE)
        return;
    note_where(L, v);
    lvat_lua_kill_message(v, msg, sizeof msg);
    luaL_error(L, "%s", msg);
}

void
lvat_lua_kill_message(lvat_lvat *v, char *out, size_t len)
{
    size_t n;

    switch (v->killed) {
    case LVAT_KILL_TIME:
        snprintf(out, len, "%s (v%u) time budget of %u ms exceeded", v->name,
                 v->id, v->time_limit_ms);
        break;
    case LVAT_KILL_MEMORY:
        snprintf(out, len, "%s (v%u) memory limit of %zu bytes exceeded",
                 v->name, v->id, v->mem_limit);
        break;
    case LVAT_KILL_ILLEGAL:
        snprintf(out, len, "%s (v%u) %s", v->name, v->id,
                 lvat_syscall_errmsg(v->sys));
        break;
    default:
        snprintf(out, len, "%s (v%u) stopped", v->name, v->id);
    }
    n = strlen(out);
    if (v->kill_where[0] != '\0' && n < len)
        snprintf(out + n, len - n, " at %s", v->kill_where);
}

/* ---- Warnings (Lua 5.4 turns errors in finalizers into these) ---- */

static void
warnf(void *ud, const char *msg, int tocont)
{
    lvat_lvat *v = ud;

    LVAT_UNUSED(tocont);
    if (msg[0] == '@' || v->sys == NULL)
        return; /* control messages ("@on", "@off"); a spare's making */
    lvat_syscall_log(v->sys, msg, strlen(msg));
}

/* ---- Errors ---- */

/* Message handler: the error as text (tables by their raw `message`, so
 * no vat metamethod runs here). */
static int
msgh(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE &&
        (lua_pushliteral(L, "message"), lua_rawget(L, 1)) == LUA_TSTRING)
        return 1;
    if (lua_type(L, 1) == LUA_TSTRING)
        lua_pushvalue(L, 1);
    else
        luaL_tolstring(L, 1, NULL);
    return 1;
}

/* ---- Lifecycle ---- */

/* What any vat's state needs before it knows which vat it is: presences,
 * the curated environment, the vat runtime. */
static int
setup(lua_State *L)
{
    lvat_lua_presence_open(L);
    return lvat_lua_open_env(L);
}

static int
endow(lua_State *L)
{
    lvat_lua_add_endowments(L, lua_touserdata(L, 1));
    return 0;
}

void
lvat_lua_vat_free(lvat_lvat *v)
{
    if (v->L != NULL) {
        v->closing = true;
        lua_close(v->L);
    }
    lvat_buf_free(&v->enc);
    lvat_buf_free(&v->stored);
    lvat_buf_free(&v->src);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(v->dec) && v->dec[i]; i++) {
        lvat_buf_free(&v->dec[i]->scratch);
        lvat_free(v->dec[i]);
    }
    lvat_buf_free(&v->srcname);
    lvat_free(v->encslots);
    lvat_free(v->decslots);
    lvat_free(v->dead);
    lvat_free(v->name);
    lvat_free(v->main);
    lvat_free(v);
}

/* Runs one step of a state's making under protection; on failure the
 * error is on top.  Setup (`quiet`) runs with the collector stopped: it
 * makes only what the vat keeps (a few dozen KB, under any sane cap), so
 * collecting meanwhile is wasted work.  Restarted, the collector would
 * owe a step at the next allocation, and the vat's start would mark the
 * whole new state in steps only for the collection after it to mark it
 * again (a tenth of a launch): it is credited the heap made instead, as
 * a collection with the default pause (200) would leave it.  A step of
 * negative size is that credit: lua_gc adds it to the debt (5.4.0-5.4.7),
 * and the collector runs again once as much has been allocated. */
static int
run_step(lvat_lvat *v, lua_CFunction step, const void *arg, bool quiet)
{
    int base = lua_gettop(v->L) + 1, status;

    v->running = v->L;
    lua_pushcfunction(v->L, msgh);
    lua_pushcfunction(v->L, step);
    lua_pushlightuserdata(v->L, (void *)arg);
    if (quiet)
        lua_gc(v->L, LUA_GCSTOP);
    status = lua_pcall(v->L, 1, 0, base);
    if (quiet) {
        lua_gc(v->L, LUA_GCRESTART);
        lua_gc(v->L, LUA_GCSTEP, -(int)(v->mem_used / 1024));
    }
    v->running = NULL;
    if (status == LUA_OK)
        lua_settop(v->L, base - 1);
    return status;
}

/* A new vat state with its small blocks from `slab`: NULL if out of
 * memory (the state itself, under v->mem_limit once set). */
static lvat_lvat *
vat_new(lvat_lua_runtime *rt, lvat_slab *slab)
{
    lvat_lvat *v = lvat_calloc(1, sizeof *v);

    if (v == NULL)
        return NULL;
    v->rt = rt;
    v->next_prom = 1;
    v->next_obj = 1;
    v->slab = slab;
    return v;
}

static int
vat_open_state(lvat_lvat *v)
{
    v->L = lua_newstate(l_alloc, v);
    if (v->L == NULL)
        return LUA_ERRMEM;
    *(lvat_lvat **)lua_getextraspace(v->L) = v;
    lua_setwarnf(v->L, warnf, v);
    return run_step(v, setup, NULL, true);
}

/* A spare is made as a state is made on the spot, with the collector
 * credited the heap it was made with (run_step), and is not collected
 * either: its start decides (collect_after_start), as for a state made
 * now. */
lvat_lvat *
lvat_lua_vat_new_spare(lvat_lua_runtime *rt, lvat_slab *slab)
{
    lvat_lvat *v = vat_new(rt, slab);

    if (v == NULL)
        return NULL;
    if (vat_open_state(v) != LUA_OK) {
        lvat_lua_vat_free(v);
        return NULL;
    }
    return v;
}

/* Tells the vat which one it is. */
static int
vat_identify(lvat_lvat *v, const lvat_vat_spec *spec)
{
    if ((v->name = lvat_strdup(spec->name)) == NULL ||
        (v->main = lvat_strdup(spec->main ? spec->main : "")) == NULL)
        return LVAT_ENOMEM;
    v->sys = spec->sys;
    v->id = spec->id;
    v->mem_limit = spec->memory_limit;
    v->time_limit_ms = spec->time_limit_ms;
    v->has_random_seed = spec->has_random_seed;
    v->random_seed = spec->random_seed;
    return LVAT_OK;
}

/* A spare state (lspare.h) whose making peaked within the vat's memory
 * cap (so it is used exactly where making one now would succeed), or the
 * state made now.  On failure err says why. */
static int
vat_state(lvat_lua_runtime *rt, const lvat_vat_spec *spec, lvat_lvat **out,
          lvat_errbuf *err)
{
    lvat_lvat *v =
        lvat_spares_take(lvat_lua_runtime_spares(rt), spec->memory_limit);
    bool spare = v != NULL;
    int status;

    if (spare)
        v->slab = lvat_lua_runtime_slab(rt); /* the builder keeps its own */
    else
        v = vat_new(rt, lvat_lua_runtime_slab(rt));
    *out = v;
    if (v == NULL || vat_identify(v, spec) != LVAT_OK)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    if (spare)
        return LVAT_OK;
    /* Named first, so a memory kill while it is made names the vat. */
    status = vat_open_state(v);
    if (v->L == NULL)
        return lvat_errbuf_set(err, LVAT_EFAULT,
                               "%s (v%u) cannot create a Lua state within "
                               "its memory limit", spec->name, spec->id);
    return status == LUA_OK ? LVAT_OK : LVAT_EVAT;
}

static int
vat_create(void *ud, const lvat_vat_spec *spec, void **out, lvat_errbuf *err)
{
    lvat_lvat *v;
    int rc = vat_state(ud, spec, &v, err);

    if (rc == LVAT_OK && run_step(v, endow, spec, false) != LUA_OK)
        rc = LVAT_EVAT;
    if (rc == LVAT_EVAT) {
        int code = v->killed == LVAT_KILL_MEMORY ? LVAT_EFAULT : LVAT_EVAT;
        if (v->killed)
            lvat_lua_kill_message(v, err->msg, sizeof err->msg);
        else
            lvat_errbuf_set(err, code, "%s (v%u) %s", spec->name, spec->id,
                            lua_tostring(v->L, -1));
        err->code = rc = code;
    }
    if (rc != LVAT_OK) {
        if (v != NULL)
            lvat_lua_vat_free(v);
        return rc;
    }
    lvat_lua_watchdog_prepare(v->rt, v);
    *out = v;
    return LVAT_OK;
}

static void
vat_destroy(void *inst)
{
    if (inst != NULL)
        lvat_lua_vat_free(inst);
}

static size_t
vat_memory(void *inst)
{
    return ((lvat_lvat *)inst)->mem_used;
}

/* ---- Deliveries ---- */

static void
push_vref_list(lua_State *L, const lvat_vref *v, size_t n)
{
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lvat_lua_push_vref(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Pushes dispatch's arguments for `d`; returns how many. */
static int
push_args(lua_State *L, const lvat_delivery *d)
{
    static const char kinds[] = "mndrigsxu";
    lua_pushlstring(L, &kinds[d->kind], 1);
    switch (d->kind) {
    case LVAT_DELIVER_DROP_EXPORTS:
    case LVAT_DELIVER_RETIRE_EXPORTS:
    case LVAT_DELIVER_RETIRE_IMPORTS:
        push_vref_list(L, d->vrefs, d->nvrefs);
        return 2;
    case LVAT_DELIVER_START:
    case LVAT_DELIVER_UPGRADE:
        lvat_lua_decode(L, d->parameters.body, d->parameters.body_len,
                        d->parameters.slots, d->parameters.nslots);
        lua_pushinteger(L, (lua_Integer)d->next_export_object);
        lua_pushinteger(L, (lua_Integer)d->next_export_promise);
        lua_pushinteger(L, (lua_Integer)d->incarnation);
        if (d->nvrefs == 0)
            return 5;
        push_vref_list(L, d->vrefs, d->nvrefs); /* earlier imports */
        return 6;
    default:
        return 1;
    }
}

/* Pushes the object the message's target names, or raises.  [-0,+1,e] */
static void
push_target(lua_State *L, const lvat_delivery *d)
{
    lvat_lua_reg(L, LVAT_REG_SLOT2VAL);
    lvat_lua_push_vref(L, d->target);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lvat_lvat *v = lvat_lua_vat(L);
        lvat_lua_push_vref_text(L, d->target);
        lua_pushfstring(L, "%s (v%d) has no object %s", v->name, (int)v->id,
                        lua_tostring(L, -1));
        lua_error(L);
    }
    lua_remove(L, -2);
}

/* A message: runJob(fn, obj, result, args...) (ljobs.c) with the target's
 * method, found here when it is a plain function field (else by
 * lvat_lua_push_method, which also words why there is none). */
static void
deliver_message(lua_State *L, const lvat_delivery *d)
{
    int base = lua_gettop(L), fn = base + 2, obj = base + 3, n;

    lua_pushcfunction(L, lvat_lua_run_job); /* +1 */
    lua_pushnil(L);                         /* +2 fn, below */
    lua_pushnil(L);                         /* +3 obj, below */
    if (lvat_vref_is_none(d->result))       /* +4 result */
        lua_pushnil(L);
    else
        lvat_lua_push_vref(L, d->result);
    n = lvat_lua_decode_methargs(L, d->methargs.body, d->methargs.body_len,
                                 d->methargs.slots, d->methargs.nslots);
    push_target(L, d); /* +5 method, +6.. args, then obj */
    lua_replace(L, obj);
    lua_pushvalue(L, base + 5);
    if (lua_type(L, obj) != LUA_TTABLE || lua_type(L, base + 5) != LUA_TSTRING ||
        lua_rawget(L, obj) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        lvat_lua_push_method(L, obj, base + 5);
    }
    lua_replace(L, fn);
    lua_remove(L, base + 5); /* the method's name */
    if (n > LVAT_STACK_ARGS) { /* spread(obj, fn, args, n) */
        lua_pushvalue(L, fn);
        lua_insert(L, base + 5);
        lua_pushinteger(L, n);
        lua_pushcfunction(L, lvat_lua_spread);
        lua_replace(L, fn);
        n = 3;
    }
    lua_call(L, 3 + n, 0);
    lua_settop(L, base);
}

static int
protected_deliver(lua_State *L)
{
    const lvat_delivery *d = lua_touserdata(L, 1);
    int n;

    if (d->kind == LVAT_DELIVER_NOTIFY || d->kind == LVAT_DELIVER_MESSAGE) {
        if (d->kind == LVAT_DELIVER_NOTIFY)
            lvat_lua_notify(L, d);
        else
            deliver_message(L, d);
        return lvat_lua_drain(L); /* in this frame: it ends with it */
    }
    lua_pushcfunction(L, lvat_lua_dispatch);
    n = push_args(L, d);
    lua_call(L, n, 0);
    return 0;
}

/* Loading the vat's modules and building its root leave garbage (≈3 KB
 * for a trivial vat, on a ≈41 KB heap), and a vat may then sit idle for
 * long with nothing to run the collector.  Collecting it all at once is a
 * full mark of the new state, 6% of a launch, so the start's garbage is
 * left to the collector's own pace unless the start more than doubled
 * the heap: the state was made with the collector credited its heap
 * (run_step), which is where a collection with the default pause would
 * have begun anyway.  A vat's idle garbage is so bounded by its state's
 * size, as Lua's pacing bounds it. */
static void
collect_after_start(lvat_lvat *v, size_t heap_before)
{
    if (v->mem_used > 2 * heap_before)
        lua_gc(v->L, LUA_GCCOLLECT);
    v->heap_after_gc = v->mem_used;
}

static int
vat_deliver(void *inst, const lvat_delivery *d, lvat_errbuf *err)
{
    lvat_lvat *v = inst;
    lua_State *L = v->L;
    size_t heap_before = v->mem_used;
    int status, code;

    v->killed = LVAT_KILL_NONE;
    v->kill_where[0] = '\0';
    v->ndec = v->nsys = v->nmarshal = 0;
    v->marshal_ns = v->syscall_ns = 0;
    v->timing = d->timed;
    v->running = L;
    lvat_lua_watchdog_arm(v->rt, v);
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, protected_deliver);
    lua_pushlightuserdata(L, (void *)d);
    status = lua_pcall(L, 1, 0, 1);
    lvat_lua_watchdog_disarm(v->rt, v);
    lvat_lua_forget_proxies(L);
    v->running = NULL;
    if (v->timing)
        lvat_syscall_account(v->sys, v->marshal_ns, v->syscall_ns);
    v->timing = false;
    if (v->killed != LVAT_KILL_NONE) {
        lvat_lua_kill_message(v, err->msg, sizeof err->msg);
        lua_settop(L, 0);
        return err->code = LVAT_EFAULT;
    }
    if (status == LUA_OK) {
        lua_settop(L, 0);
        if (d->kind == LVAT_DELIVER_START || d->kind == LVAT_DELIVER_UPGRADE)
            collect_after_start(v, heap_before);
        return LVAT_OK;
    }
    code = d->kind == LVAT_DELIVER_START || d->kind == LVAT_DELIVER_UPGRADE
               ? LVAT_EVAT
               : LVAT_EFAULT;
    /* Memory refused under the vat's limit: the process ran out. */
    if (code == LVAT_EFAULT && status == LUA_ERRMEM)
        code = LVAT_ENOMEM;
    lvat_errbuf_set(err, code, "%s (v%u) %s%s", v->name, v->id,
                    code == LVAT_EFAULT ? "runtime error: " : "",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_settop(L, 0);
    return code;
}

static const lvat_vat_ops ops = {vat_create, vat_deliver, vat_destroy,
                                 vat_memory};

const lvat_vat_ops *
lvat_lua_vat_ops(void)
{
    return &ops;
}
