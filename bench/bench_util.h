/*
 * What every benchmark program shares: the clock, settings from the
 * command line and the environment, one fresh process per repetition (so
 * no run inherits another's heap, caches or RSS), medians, the JSON result
 * line, temporary stores, and a kernel with the Lua runtime that can
 * launch a config and call a method synchronously.
 *
 * A result line is one JSON object on stdout:
 *   {"workload":"...","figure":123,"unit":"...","settings":"..."}
 * bench/run.sh collects them; everything else goes to stderr.
 */
#ifndef LVAT_BENCH_UTIL_H
#define LVAT_BENCH_UTIL_H

#include <stddef.h>

#include "luavat.h"
#include "lvat_lua.h"

/* Monotonic seconds. */
double bench_now(void);

/* The integer in environment variable `name`, or `dflt` when it is unset,
 * empty or not a positive integer. */
long bench_env_long(const char *name, long dflt);

/* A positive integer from an option argument; exits with a message on a
 * malformed one. */
long bench_arg_long(const char *prog, const char *arg);

/* Resident set size of this process in KiB (/proc/self/statm), or -1. */
long bench_rss_kb(void);

/* A figure over the repetitions: their median, least and greatest. */
typedef struct bench_fig {
    double median, min, max;
} bench_fig;

/*
 * Runs fn `reps` times, each in a child process of its own; fn fills
 * figs[0..nfig-1] and returns 0.  Writes each figure over the repetitions
 * to out[].  Returns 0, or -1 when any repetition failed (it has said why
 * on stderr).  Call it before this process makes any thread (the Lua
 * runtime starts one): the children make their own.
 */
typedef int (*bench_rep_fn)(void *ud, int rep, double *figs);
int bench_reps(int reps, size_t nfig, bench_rep_fn fn, void *ud,
               bench_fig *out);

/* Prints one result line: the median as "figure", with the runs' "min"
 * and "max"; `settings` is a printf format. */
void bench_emit(const char *workload,
                const bench_fig *fig,
                const char *unit,
                const char *settings,
                ...) __attribute__((format(printf, 4, 5)));

/* Makes a fresh directory $TMPDIR/luavat-bench-XXXXXX into buf (len bytes
 * or more); 0 or -1.  bench_rmdir removes it and everything in it. */
int bench_mkdtemp(char *buf, size_t len);
void bench_rmdir(const char *dir);

/* Where the bench vats are: $BENCH_VATS or "bench/vats". */
const char *bench_vats_dir(void);

/* "sync", "nometasync" or "nosync" to a durability (-1 if none). */
int bench_durability(const char *name);

/* ---- A kernel to measure ---- */

typedef struct bench_kernel {
    lvat_lua_runtime *rt;
    lvat_kernel *k;
    int done;      /* 0 waiting, 1 done, -1 failed */
    long launched; /* LVAT_LAUNCH_DONE events seen */
    char root[32]; /* root kref of the last launch that started */
} bench_kernel;

/*
 * Makes the Lua runtime (keeping `spare_states` states built ahead,
 * lvat_lua.h) and fills `o` for a store in `dir` with `durability` and
 * the runtime's vat ops; the caller may change `o` before bench_open.
 * Returns 0 or -1.
 */
int bench_options(bench_kernel *b,
                  lvat_options *o,
                  const char *dir,
                  lvat_durability durability,
                  unsigned spare_states);
int bench_open(bench_kernel *b, const lvat_options *o);
/* Closes the kernel and frees the runtime. */
void bench_close(bench_kernel *b);

/* The launch callback bench_launch uses: counts DONE, records roots. */
void
bench_on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info);

/* Launches config file `path` and runs until its bootstrap is done. */
int bench_launch(bench_kernel *b, const char *path);

/* Sends target.method(args_json) and runs until its result settles;
 * 0 when it was fulfilled, -1 otherwise. */
int bench_call(bench_kernel *b,
               const char *target,
               const char *method,
               const char *args_json);

#endif
