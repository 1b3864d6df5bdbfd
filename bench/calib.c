/*
 * The machine's speed, not luavat's: a fixed Lua loop (string formatting
 * and interning, table reads and writes, garbage) in a bare state with
 * the standard libraries, timed.  Nothing of luavat runs.  A virtual
 * machine's speed drifts with its neighbours, by as much as half between
 * one hour and the next here; this row, printed with every run's table,
 * says which of two runs had the faster machine, so that their other
 * figures can be compared.
 *
 * usage: calib [-n N] [-r REPS]
 * Defaults: $BENCH_CALIB_N or 500000 loops, $BENCH_REPS or 5.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

static const char loop[] =
    "local n = ...\n"
    "local fmt, t, acc = string.format, {}, 0\n"
    "for i = 1, n do\n"
    "    local k = fmt('k%d', i % 4096)\n"
    "    local v = t[k]\n"
    "    if v == nil then v = {i = i}; t[k] = v else v.i = v.i + i end\n"
    "    acc = acc + #k + v.i % 7\n"
    "    if i % 4096 == 0 then t = {} end\n"
    "end\n"
    "return acc\n";

static int
calib_rep(void *ud, int rep, double *figs)
{
    long n = *(const long *)ud;
    lua_State *L = luaL_newstate();
    double t0;
    int rc = -1;

    (void)rep;
    if (L == NULL) {
        fprintf(stderr, "calib: out of memory\n");
        return -1;
    }
    luaL_openlibs(L);
    if (luaL_loadbufferx(L, loop, sizeof loop - 1, "=calib", "t") != LUA_OK)
        goto done;
    lua_pushinteger(L, n);
    t0 = bench_now();
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        goto done;
    figs[0] = (double)n / (bench_now() - t0);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "calib: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc;
}

int
main(int argc, char **argv)
{
    long reps = bench_env_long("BENCH_REPS", 5);
    long n = bench_env_long("BENCH_CALIB_N", 500000);
    bench_fig fig;
    int opt;

    while ((opt = getopt(argc, argv, "n:r:")) != -1) {
        if (opt == 'n')
            n = bench_arg_long("calib", optarg);
        else if (opt == 'r')
            reps = bench_arg_long("calib", optarg);
        else {
            fprintf(stderr, "usage: calib [-n N] [-r REPS]\n");
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: calib [-n N] [-r REPS]\n");
        return 2;
    }
    if (bench_reps((int)reps, 1, calib_rep, &n, &fig) != 0)
        return 1;
    bench_emit("machine speed (bare Lua loop)", &fig, "loops/s",
               "n=%ld: not luavat; a fixed loop of string.format, table "
               "reads and writes and garbage in a plain Lua state, to "
               "compare one run's machine with another's; median of %ld",
               n, reps);
    return 0;
}
