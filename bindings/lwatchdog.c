/*
 * The time budget.  Counting every instruction would double the cost of
 * tight loops (any active hook sends Lua 5.4 down its slow path), so a
 * watchdog thread waits for each delivery's deadline and, if it passes,
 * signals the thread running the kernel; the handler arms a count hook on
 * the Lua thread that is running vat code (lua_sethook is documented as
 * safe in a signal handler).  A generation number keeps a late signal from
 * hitting the next delivery.  The kill is sticky: the hook raises again on
 * every instruction, through pcall and __close.
 *
 * The handler can only find the running vat through a thread-local
 * pointer: the one piece of mutable static state in bindings/, forced by
 * how signals work.  With watchdog_signal 0 a per-instruction count hook
 * checks the clock instead (deterministic, about 2x slower).
 */
#include "lbind.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "alloc.h"
#include "lchunks.h"
#include "llibs.h"
#include "lspare.h"
#include "slab.h"

#define TICK_NS 5000000ull      /* how often an armed watchdog looks */
#define IDLE_WAIT_NS 1000000000ull
#define COUNT_STEP 10000        /* instructions between clock checks */
#define CHUNK_CACHE_BYTES ((size_t)8 << 20)

struct lvat_lua_runtime {
    int signo;
    bool raw_syscalls;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t armed_gen;   /* 0 = no delivery running */
    _Atomic uint64_t deadline_ns;
    _Atomic uint64_t fired_gen;
    _Atomic uint64_t waiting_until; /* when the thread next looks */
    _Atomic bool stop;
    pthread_t target;             /* the kernel's thread */
    uint64_t next_gen;
    uint64_t tick_ns; /* lvat_clock_coarse_tick_ns */
    struct sigaction old_action;
    lvat_slab *slab;     /* the vats' small Lua blocks */
    lvat_chunks *chunks; /* their compiled modules */
    lvat_spares *spares; /* states built ahead, or NULL */
    lvat_lua_libs *libs; /* Lua's libraries, recorded (llibs.h) */
};

static _Thread_local lvat_lvat *tl_vat;

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- The hook ---- */

void
lvat_lua_kill_hook(lua_State *L, lua_Debug *ar)
{
    lvat_lvat *v = lvat_lua_vat(L);
    char msg[256];

    LVAT_UNUSED(ar);
    /* Keep firing on every instruction until the delivery is over. */
    lua_sethook(L, lvat_lua_kill_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    /* Raises the kill's message, naming where the vat was running; a
     * hook left on a thread by an earlier delivery's kill finds no kill
     * and says "stopped". */
    lvat_lua_check_stopped(L, v);
    lvat_lua_kill_message(v, msg, sizeof msg);
    luaL_error(L, "%s", msg);
}

static void
budget_hook(lua_State *L, lua_Debug *ar)
{
    lvat_lvat *v = lvat_lua_vat(L);
    struct timespec ts;
    uint64_t now;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    if (v->deadline_us != 0 && now > v->deadline_us) {
        if (v->killed == LVAT_KILL_NONE)
            v->killed = LVAT_KILL_TIME;
        lvat_lua_kill_hook(L, ar);
    }
}

static void
on_signal(int sig)
{
    lvat_lvat *v = tl_vat;
    int saved = errno;

    LVAT_UNUSED(sig);
    if (v != NULL && v->rt != NULL &&
        atomic_load(&v->rt->fired_gen) == v->gen) {
        lua_State *L = v->running;
        /* The first reason stands: a vat already stopped for its memory
         * cap (or an illegal syscall) that overruns while unwinding is
         * reported for what stopped it. */
        if (v->killed == LVAT_KILL_NONE)
            v->killed = LVAT_KILL_TIME;
        if (L != NULL)
            lua_sethook(L, lvat_lua_kill_hook,
                        LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    errno = saved;
}

/* ---- The watchdog thread ---- */

/* The condition variable runs on CLOCK_MONOTONIC (see runtime_new). */
static void
wait_until(lvat_lua_runtime *rt, uint64_t when_ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(when_ns / 1000000000ull);
    ts.tv_nsec = (long)(when_ns % 1000000000ull);
    pthread_cond_timedwait(&rt->cv, &rt->mu, &ts);
}

static void *
watch(void *arg)
{
    lvat_lua_runtime *rt = arg;

    pthread_mutex_lock(&rt->mu);
    while (!atomic_load(&rt->stop)) {
        uint64_t gen = atomic_load(&rt->armed_gen);
        uint64_t now = now_ns();
        uint64_t deadline = atomic_load(&rt->deadline_ns), until;
        if (gen != 0 && now >= deadline) {
            if (atomic_load(&rt->fired_gen) != gen) {
                atomic_store(&rt->fired_gen, gen);
                pthread_kill(rt->target, rt->signo);
            }
            until = now + TICK_NS;
        } else {
            until = gen != 0 ? deadline : now + IDLE_WAIT_NS;
        }
        /* Tell arm() when we will look again, then check nothing earlier
         * was armed meanwhile (arm stores, then reads waiting_until). */
        atomic_store(&rt->waiting_until, until);
        if (atomic_load(&rt->armed_gen) != gen ||
            (gen != 0 && atomic_load(&rt->deadline_ns) < until))
            continue;
        wait_until(rt, until);
    }
    pthread_mutex_unlock(&rt->mu);
    return NULL;
}

int
lvat_lua_watchdog_start(lvat_lua_runtime *rt, lvat_errbuf *err)
{
    struct sigaction sa;

    if (rt->signo == 0)
        return LVAT_OK;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(rt->signo, &sa, &rt->old_action) != 0)
        return lvat_errbuf_set(err, LVAT_EINVAL,
                               "cannot install the watchdog signal %d: %s",
                               rt->signo, strerror(errno));
    if (pthread_create(&rt->thread, NULL, watch, rt) != 0) {
        sigaction(rt->signo, &rt->old_action, NULL);
        return lvat_errbuf_set(err, LVAT_ENOMEM,
                               "cannot start the watchdog thread");
    }
    rt->started = true;
    return LVAT_OK;
}

void
lvat_lua_watchdog_stop(lvat_lua_runtime *rt)
{
    if (!rt->started)
        return;
    pthread_mutex_lock(&rt->mu);
    atomic_store(&rt->stop, true);
    pthread_cond_signal(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
    pthread_join(rt->thread, NULL);
    sigaction(rt->signo, &rt->old_action, NULL);
    rt->started = false;
}

/* ---- Per delivery ---- */

void
lvat_lua_watchdog_prepare(lvat_lua_runtime *rt, lvat_lvat *v)
{
    /* Hooks set now are copied into every coroutine made later. */
    if (rt->signo == 0 && v->time_limit_ms != 0)
        lua_sethook(v->L, budget_hook, LUA_MASKCOUNT, COUNT_STEP);
}

void
lvat_lua_watchdog_arm(lvat_lua_runtime *rt, lvat_lvat *v)
{
    uint64_t gen = ++rt->next_gen, deadline;

    tl_vat = v;
    v->gen = gen;
    if (v->time_limit_ms == 0)
        return;
    /* From the coarse clock, a tick later: never early, as late as the
     * watchdog's own look (TICK_NS) can be. */
    deadline = lvat_clock_coarse_ns() + rt->tick_ns +
               (uint64_t)v->time_limit_ms * 1000000ull;
    if (rt->signo == 0) {
        v->deadline_us = deadline / 1000u;
        return;
    }
    rt->target = pthread_self();
    atomic_store(&rt->deadline_ns, deadline);
    atomic_store(&rt->armed_gen, gen);
    /* Wake the watchdog only when it would look too late. */
    if (atomic_load(&rt->waiting_until) > atomic_load(&rt->deadline_ns)) {
        pthread_mutex_lock(&rt->mu);
        pthread_cond_signal(&rt->cv);
        pthread_mutex_unlock(&rt->mu);
    }
}

void
lvat_lua_watchdog_disarm(lvat_lua_runtime *rt, lvat_lvat *v)
{
    v->deadline_us = 0;
    atomic_store(&rt->armed_gen, 0);
    tl_vat = NULL;
}

/* ---- The runtime context ---- */

void
lvat_lua_options_init(lvat_lua_options *o)
{
    o->watchdog_signal = SIGVTALRM;
    o->test_raw_syscalls = false;
    o->spare_states = 0;
}

int
lvat_lua_runtime_new(const lvat_lua_options *o, lvat_lua_runtime **out,
                     lvat_errbuf *err)
{
    lvat_lua_options dflt;
    lvat_lua_runtime *rt;
    int rc;

    if (o == NULL) {
        lvat_lua_options_init(&dflt);
        o = &dflt;
    }
    rt = lvat_calloc(1, sizeof *rt);
    if (rt == NULL || (rt->slab = lvat_slab_new()) == NULL ||
        (rt->chunks = lvat_chunks_new(CHUNK_CACHE_BYTES)) == NULL) {
        if (rt != NULL)
            lvat_slab_free(rt->slab);
        lvat_free(rt);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    rc = lvat_lua_libs_new(&rt->libs, err);
    if (rc != LVAT_OK) {
        lvat_slab_free(rt->slab);
        lvat_chunks_free(rt->chunks);
        lvat_free(rt);
        return rc;
    }
    rt->signo = o->watchdog_signal;
    rt->tick_ns = lvat_clock_coarse_tick_ns();
    rt->raw_syscalls = o->test_raw_syscalls;
    pthread_mutex_init(&rt->mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&rt->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    rc = lvat_lua_watchdog_start(rt, err);
    if (rc == LVAT_OK && o->spare_states > 0)
        rc = lvat_spares_new(rt, o->spare_states, &rt->spares, err);
    if (rc != LVAT_OK) {
        lvat_lua_runtime_free(rt);
        return rc;
    }
    *out = rt;
    return LVAT_OK;
}

void
lvat_lua_runtime_free(lvat_lua_runtime *rt)
{
    if (rt == NULL)
        return;
    lvat_spares_free(rt->spares);
    lvat_lua_watchdog_stop(rt);
    pthread_mutex_destroy(&rt->mu);
    pthread_cond_destroy(&rt->cv);
    lvat_slab_free(rt->slab);
    lvat_chunks_free(rt->chunks);
    lvat_lua_libs_free(rt->libs);
    lvat_free(rt);
}

bool
lvat_lua_runtime_raw_syscalls(const lvat_lua_runtime *rt)
{
    return rt->raw_syscalls;
}

lvat_slab *
lvat_lua_runtime_slab(lvat_lua_runtime *rt)
{
    return rt->slab;
}

lvat_chunks *
lvat_lua_runtime_compiled(lvat_lua_runtime *rt)
{
    return rt->chunks;
}

const lvat_lua_libs *
lvat_lua_runtime_libs(const lvat_lua_runtime *rt)
{
    return rt->libs;
}

lvat_spares *
lvat_lua_runtime_spares(lvat_lua_runtime *rt)
{
    return rt->spares;
}
