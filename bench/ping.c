/*
 * Two-vat ping loop: deliveries per second through the whole kernel (one
 * round trip = a message crank and a notify crank), sequential
 * (`run`: await each ping) and pipelined (`pipelined`: send all, then
 * await all).  Prints one line per workload; not a test.
 *
 * usage: ping [N] [sync|nometasync|nosync]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "luavat.h"
#include "lvat_lua.h"

typedef struct state {
    lvat_kernel *k;
    char root[32];
    int done;
} state;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    state *s = ud;

    if (ev == LVAT_LAUNCH_STARTED)
        snprintf(s->root, sizeof s->root, "%s", info->root);
    else
        s->done = ev == LVAT_LAUNCH_DONE ? 1 : -1;
}

static void
on_result(void *ud, int status, const lvat_value *v)
{
    state *s = ud;

    (void)v;
    s->done = status == LVAT_OK ? 1 : -1;
}

static int
measure(state *s, const char *method, long n, const char *label,
        const char *durability)
{
    char args[32];
    double t0, t1;

    snprintf(args, sizeof args, "[%ld]", n);
    s->done = 0;
    t0 = now();
    if (lvat_kernel_queue_message(s->k, s->root, method, args, on_result,
                                  s) != LVAT_OK ||
        lvat_kernel_run(s->k) != LVAT_OK || s->done != 1) {
        fprintf(stderr, "ping: %s failed: %s\n", method,
                lvat_kernel_errmsg(s->k));
        return 1;
    }
    t1 = now();
    printf("%-28s %12.0f deliveries/s  %10.0f round trips/s  (n=%ld, %s)\n",
           label, 2.0 * (double)n / (t1 - t0), (double)n / (t1 - t0), n,
           durability);
    return 0;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *dur = argc > 2 ? argv[2] : "nosync";
    char dir[] = "/tmp/luavat-bench-XXXXXX", err[1024];
    lvat_lua_runtime *rt;
    lvat_options o;
    lvat_errbuf eb;
    state s;
    int rc;

    memset(&s, 0, sizeof s);
    if (mkdtemp(dir) == NULL || lvat_lua_runtime_new(NULL, &rt, &eb)) {
        fprintf(stderr, "ping: setup failed\n");
        return 1;
    }
    lvat_options_init(&o);
    o.dir = dir;
    o.durability = strcmp(dur, "sync") == 0 ? LVAT_DURABILITY_SYNC
                   : strcmp(dur, "nometasync") == 0
                       ? LVAT_DURABILITY_NOMETASYNC
                       : LVAT_DURABILITY_NOSYNC;
    o.vat_ops = lvat_lua_vat_ops();
    o.vat_ops_ud = rt;
    if (lvat_kernel_open(&o, &s.k, err, sizeof err) != LVAT_OK) {
        fprintf(stderr, "ping: %s\n", err);
        return 1;
    }
    if (lvat_kernel_launch_file(s.k, "bench/vats/cluster.json", on_launch,
                                &s) != LVAT_OK ||
        lvat_kernel_run(s.k) != LVAT_OK || s.done != 1) {
        fprintf(stderr, "ping: launch failed: %s\n", lvat_kernel_errmsg(s.k));
        return 1;
    }
    rc = measure(&s, "run", n, "sequential round trips", dur);
    if (rc == 0)
        rc = measure(&s, "pipelined", n, "pipelined sends", dur);
    lvat_kernel_close(s.k);
    lvat_lua_runtime_free(rt);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "ping: could not remove %s\n", dir);
    }
    return rc;
}
