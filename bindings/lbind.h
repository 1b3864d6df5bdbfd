/*
 * Folder-internal declarations of bindings/: the per-vat C state, the
 * registry keys, and the lvat_lua_* helpers the binding files share.
 * Stack effects follow the Lua manual's notation: [-pop, +push, errors].
 */
#ifndef LVAT_LBIND_H
#define LVAT_LBIND_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "buf.h"
#include "clock.h"
#include "json.h"
#include "lvat_lua.h"
#include "vat_iface.h"

/* Why a vat was stopped in the middle of running. */
enum {
    LVAT_KILL_NONE,
    LVAT_KILL_TIME,
    LVAT_KILL_MEMORY,
    LVAT_KILL_ILLEGAL
};

#include "lreg.h"

typedef struct lvat_lvat {
    lua_State *L;
    lvat_lua_runtime *rt;
    struct lvat_slab *slab; /* rt's, for l_alloc */
    lvat_syscall *sys;
    uint32_t id;
    char *name;
    char *main;                   /* main module name */
    size_t mem_used, mem_limit, mem_peak;
    uint32_t time_limit_ms;
    uint64_t marshal_ns, syscall_ns; /* this delivery's, for stats */
    uint64_t next_prom;           /* the next p+N this vat exports */
    uint64_t next_obj;            /* the next o+N this vat exports */
    bool timing;                  /* this delivery is timed */
    size_t heap_after_gc;         /* heap after the last reap's collection */
    uint64_t sys_t0;              /* start of the running syscall */
    uint32_t sys_w;               /* its timing weight (clock.h) */
    uint32_t nsys, nmarshal;      /* this delivery's (lvat_time_weight) */
    bool has_random_seed;         /* the Random endowment's seed, if given */
    uint64_t random_seed;
    volatile sig_atomic_t killed; /* LVAT_KILL_* */
    char kill_where[LUA_IDSIZE + 16]; /* "file.lua:12" of a kill, or "" */
    lua_State *volatile running;  /* the thread running vat code */
    volatile uint64_t gen;        /* delivery generation (watchdog) */
    uint64_t deadline_us;         /* instruction-budget mode */
    bool closing, unhandled, e_kept, mem_refused; /* lvat.c, lfar.c */
    lvat_vref *dead;              /* presences collected since last reap */
    size_t ndead, capdead;
    lvat_buf enc;                 /* marshalling scratch, reused */
    lvat_buf stored;              /* a durable value's stored form */
    lvat_buf src, srcname;        /* require's scratch */
    lvat_json_parser *dec[8];     /* decoding, possibly nested */
    size_t ndec;
    lua_Integer mq_head, mq_tail; /* microtasks run and queued (lpromise.c) */
    lua_Integer npool;            /* idle delivery threads (ljobs.c) */
    int nclosing;                 /* coroutine.closes in progress, */
    const char *close_base;       /* from this C stack address (lvatenv.c) */
    lvat_vref *encslots;
    size_t nencslots, capencslots;
    lvat_vref *decslots;          /* slots of values the runtime decodes */
    size_t ndecslots, capdecslots;
} lvat_lvat;

/* The lvat_lvat of any thread of a vat's state. */
static inline lvat_lvat *
lvat_lua_vat(lua_State *L)
{
    return *(lvat_lvat **)lua_getextraspace(L);
}

/* Pushes registry slot LVAT_REG_*.  [-0, +1, -] */
static inline int
lvat_lua_reg(lua_State *L, int slot)
{
    return lua_rawgeti(L, LUA_REGISTRYINDEX, LVAT_REG_KEY(slot));
}

/* Sets registry slot LVAT_REG_* to the value on top.  [-1, +0, -] */
static inline void
lvat_lua_set_reg(lua_State *L, int slot)
{
    lua_rawseti(L, LUA_REGISTRYINDEX, LVAT_REG_KEY(slot));
}

/* Whether the value at idx has the very metatable in registry slot mt. */
static inline bool
lvat_lua_has_mt(lua_State *L, int idx, int mt)
{
    bool yes;

    if (!lua_getmetatable(L, idx))
        return false;
    lvat_lua_reg(L, mt);
    yes = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return yes;
}

#define LVAT_PRESENCE_MT "luavat.Presence"

/* ---- lvat.c ---- */
/* Stops the running vat code at its next instruction (sticky). */
void lvat_lua_kill(lvat_lvat *v, int why);
/* The message a kill leaves ("time budget of 100 ms exceeded"). */
void lvat_lua_kill_message(lvat_lvat *v, char *out, size_t len);
/* For C loops: raises the kill's message if v (or NULL) is stopped. */
void lvat_lua_check_stopped(lua_State *L, lvat_lvat *v);

/* ---- lsyscall.c: helpers of the sys functions ---- */
/* sys.resume(co, ...): coroutine.resume that keeps the watchdog told. */
int lvat_lua_sys_resume(lua_State *L);
/* Its resume itself, of a thread that can be resumed, with the nargs
 * values on top of L (popped): pushes true and what co yielded or
 * returned, or false and its error; returns how many.  [-nargs,+n,e] */
int lvat_lua_resume(lua_State *L, lua_State *co, int nargs);
/* A syscall's result as the Lua outcome: nothing, or an error raised (an
 * illegal one also stops the vat). */
int lvat_lua_sys_check(lua_State *L, int rc);
/* Appends to a vref array the vat owns (so a raised error leaks nothing). */
void lvat_lua_append_vref(lua_State *L, lvat_vref **arr, size_t *n,
                          size_t *cap, lvat_vref r);

/* ---- lvatstore.c ---- */
/* Adds the vatstore and durable-value functions to the table on top. */
void lvat_lua_vatstore_sys(lua_State *L);

/* ---- lwatchdog.c ---- */
int lvat_lua_watchdog_start(lvat_lua_runtime *rt, lvat_errbuf *err);
void lvat_lua_watchdog_stop(lvat_lua_runtime *rt);
/* Around each delivery: arms the time budget of `v` on this thread. */
void lvat_lua_watchdog_arm(lvat_lua_runtime *rt, lvat_lvat *v);
void lvat_lua_watchdog_disarm(lvat_lua_runtime *rt, lvat_lvat *v);
/* Installs the per-thread hook for a new state (instruction-budget mode). */
void lvat_lua_watchdog_prepare(lvat_lua_runtime *rt, lvat_lvat *v);
void lvat_lua_kill_hook(lua_State *L, lua_Debug *ar);
/* Whether tests allowed the "rawSyscalls" endowment. */
bool lvat_lua_runtime_raw_syscalls(const lvat_lua_runtime *rt);
/* The allocator of the runtime's vats' small blocks (slab.h). */
struct lvat_slab *lvat_lua_runtime_slab(lvat_lua_runtime *rt);
/* The vats' compiled modules (lchunks.h). */
struct lvat_chunks *lvat_lua_runtime_compiled(lvat_lua_runtime *rt);

/* ---- lenv.c ---- */
/* Builds the runtime's private env and the vat's curated _ENV and loads
 * the runtime modules: all a vat needs but its endowments.  [-0, +0, e] */
int lvat_lua_open_env(lua_State *L);
/* Adds the config's "globals" to the vat's _ENV.  [-0, +0, e] */
void lvat_lua_add_endowments(lua_State *L, const lvat_vat_spec *spec);
/* Copies every field of the table at `from` into the table at `to`
 * (raw).  [-0, +0, m] */
void lvat_lua_copy_fields(lua_State *L, int from, int to);
/* require(name) in the vat's environment.  [-0, +1, e] */
int lvat_lua_require(lua_State *L);
/* print(...) and vatPowers.log(...): the arguments as tostring gives
 * them, tab-separated, to the kernel's log. */
int lvat_lua_print(lua_State *L);

/* ---- lendow.c ---- */
/* Pushes the endowment `name` for this vat (a fresh value), or nothing
 * when there is none by that name.  [-0, +(0|1), m] */
bool lvat_lua_push_endowment(lua_State *L, const char *name);
/* The names a config's "globals" may use, for error messages. */
extern const char *const lvat_lua_endowment_names;

/* ---- lpattern.c, lpattern_lib.c ---- */
/* Sets find, match, gmatch and gsub in the table at idx to Lua 5.4's
 * pattern functions, rewritten so a kill of the vat (lvat_lua_vat(L), if
 * not NULL) stops them.  [-0, +0, m] */
void lvat_lua_open_patterns(lua_State *L, int idx);

/* ---- lformat.c ---- */
/* Replaces format in the table at idx (Lua's string.format) by one that
 * formats the common calls (%s of strings, %d of integers) itself and
 * hands every other call to it.  [-0, +0, e] */
void lvat_lua_open_format(lua_State *L, int idx);

/* ---- lcapdata.c ---- */
typedef enum lvat_enc_mode {
    LVAT_ENC_PASS,    /* anything passable; exports allocated as needed */
    LVAT_ENC_DURABLE, /* baggage: only data and presences */
    LVAT_ENC_REASON   /* a rejection: strings become error records */
} lvat_enc_mode;
/* Encodes the value at idx into v->enc (body) and v->encslots.  `what`
 * names the value in errors ("args", "result").  [-0, +0, e] */
void lvat_lua_encode(lua_State *L, int idx, lvat_enc_mode mode,
                     const char *what);
/* Encodes #["method",[args 1..n]]: of the table at idx, or `on_stack`
 * the n values from idx on.  [-0, +0, e] */
void lvat_lua_encode_methargs(lua_State *L, const char *method, size_t mlen,
                              int args_idx, lua_Integer n, bool on_stack);
/* Whether the value at idx is a scalar: nil, a boolean, a number or a
 * string.  Encoding scalars takes no export number.  [-0, +0, -] */
bool lvat_lua_is_scalar(lua_State *L, int idx);
/* lvat_lua_encode's PASS of a scalar, raising nothing: returns false,
 * leaving the scratch unusable, for any other value or where
 * lvat_lua_encode would raise.  A caller that must turn a failure into
 * a rejection can so skip the protected call (lvat_lua_pcall_marshal)
 * an encoding able to export needs.  [-0, +0, -] */
bool lvat_lua_encode_scalar(lua_State *L, int idx);
/* Decodes a body whose slots are vrefs.  [-0, +1, e] */
void lvat_lua_decode(lua_State *L, const char *body, size_t len,
                     const lvat_vref *slots, size_t nslots);
/* Decodes a body that is an integer of at most 18 digits, a boolean or
 * null, values that take no memory, so nothing can raise: returns false,
 * having pushed nothing, for any other.  [-0, +(1|0), -] */
bool lvat_lua_decode_immediate(lua_State *L, const char *body, size_t len);
/* Decodes methargs: pushes the method name and the n arguments, or, when
 * n > LVAT_STACK_ARGS, a table of them; returns n.  [-0, +(1+n|2), e] */
int lvat_lua_decode_methargs(lua_State *L, const char *body, size_t len,
                             const lvat_vref *slots, size_t nslots);
/* Pushes the value of a vref (presence, promise, export). [-0, +1, e] */
void lvat_lua_slot_value(lua_State *L, lvat_vref vref, const char *iface,
                         size_t ilen);

/* ---- lpresence.c ---- */
void lvat_lua_presence_open(lua_State *L);
/* Adds newHostObject to the sys table on top.  [-0, +0, m] */
void lvat_lua_presence_sys(lua_State *L);
/* Pushes a new presence (no identity lookup). [-0, +1, m] */
void lvat_lua_push_presence(lua_State *L, lvat_vref vref, const char *iface,
                            size_t ilen);
/* True (and *vref set) when idx holds a presence. */
bool lvat_lua_to_presence(lua_State *L, int idx, lvat_vref *vref);
/* Pushes the presence's interface name or nil. [-0, +1, -] */
void lvat_lua_presence_iface(lua_State *L, int idx);

/* ---- lsyscall.c ---- */
/* Pushes the `sys` table the runtime's Lua (baggage) and lvatenv.c use.
 * [-0, +1, m] */
int lvat_lua_open_sys(lua_State *L);
/* Pushes the tests' rawSyscalls: sys plus send, resolve and vrefOf.
 * [-0, +1, m] */
int lvat_lua_open_raw_syscalls(lua_State *L);

#include "lrt.h"
#include "lvref.h"

#endif
