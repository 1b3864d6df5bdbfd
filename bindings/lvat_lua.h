/*
 * The Lua vat runtime, as the kernel sees it: an lvat_vat_ops table and
 * the runtime context it needs.  This header includes no Lua header, so
 * the CLI (the composition root) can pick the runtime without knowing Lua.
 *
 *   lvat_lua_runtime *rt;
 *   lvat_lua_runtime_new(NULL, &rt, &err);
 *   opts.vat_ops = lvat_lua_vat_ops();
 *   opts.vat_ops_ud = rt;
 *   ... lvat_kernel_open(&opts, ...) ... lvat_kernel_close(k);
 *   lvat_lua_runtime_free(rt);
 */
#ifndef LVAT_LUA_H
#define LVAT_LUA_H

#include "lvat_err.h"
#include "vat_iface.h"

typedef struct lvat_lua_options {
    /*
     * Signal the watchdog uses to interrupt a vat that overruns its time
     * budget (default SIGVTALRM).  0 turns the watchdog off in favour of a
     * per-instruction budget: deterministic, but about twice as slow on
     * tight loops.  The signal's handler is installed process-wide.
     */
    int watchdog_signal;
    /*
     * Tests only: lets a vat config ask for the global "rawSyscalls", a
     * table of the runtime's own syscall functions (send, resolve,
     * subscribe, exit, dropImports, ...), so a test can make the illegal
     * syscalls a correct runtime never makes.  Never set in production.
     */
    bool test_raw_syscalls;
    /*
     * Vat states to keep built ahead of need, on a thread of the
     * runtime's own (lspare.h): a vat creation then takes a ready state
     * and adds only what is the vat's own.  With a core to spare, that
     * about doubles the rate of vat launches (bench/launch -s 64).  Each
     * spare holds an idle vat's memory (~42 KB) until taken.  The pool
     * fills once the first vat is created.  0 (the default): each state
     * is made when its vat is, on the kernel's thread.
     */
    unsigned spare_states;
} lvat_lua_options;

typedef struct lvat_lua_runtime lvat_lua_runtime;

/* Fills `o` with the defaults. */
void lvat_lua_options_init(lvat_lua_options *o);

/*
 * Makes a runtime context (and starts its watchdog thread, and its
 * spare-state builder when asked).  `o` may be
 * NULL for the defaults.  One context can serve any number of vats of one
 * kernel; it must outlive the kernel.  *out is written only on success.
 * The vats' small Lua blocks come from an allocator the context owns
 * (slab.h): memory a terminated vat freed serves later vats, and goes
 * back to the system when the context is freed.
 */
int lvat_lua_runtime_new(const lvat_lua_options *o, lvat_lua_runtime **out,
                         lvat_errbuf *err);

/* Stops the threads and frees the context; NULL is a no-op. */
void lvat_lua_runtime_free(lvat_lua_runtime *rt);

/* The vat operations; their `ud` is an lvat_lua_runtime. */
const lvat_vat_ops *lvat_lua_vat_ops(void);

#endif
