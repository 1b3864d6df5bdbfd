/*
 * Messages between two vats (bench/vats/cluster.json): the pinger vat
 * sends its peer n pings and the host times the one call that makes it
 * do so, from queueing it to its answer (after its block commits).
 *   seq     await E(peer):ping(i) n times: round trips/s
 *   pipe    n E(peer):ping(i) without awaiting, then await all:
 *           deliveries/s, one per ping delivered to the peer
 *   oneway  n E.sendOnly(peer):ping(i), then one awaited E(peer):count():
 *           deliveries/s, one per ping delivered to the peer
 * Each repetition is a fresh process with a fresh store; the launch is
 * not timed.
 *
 * usage: ping [-n N] [-r REPS] [-d sync|nometasync|nosync]
 *             [-w seq,pipe,oneway]
 * Defaults: $BENCH_N or 100000, $BENCH_REPS or 5, nosync, all three.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct workload {
    const char *key;    /* -w name */
    const char *method; /* pinger method taking n */
    const char *label;  /* workload column */
    const char *unit;
    const char *counted; /* what the figure counts, for settings */
} workload;

static const workload workloads[] = {
    {"seq", "run", "sequential round trips", "round trips/s",
     "await each E(peer):ping(i)"},
    {"pipe", "pipelined", "pipelined sends", "deliveries/s",
     "n sends, then await all; counts one delivery per ping delivered to "
     "the peer"},
    {"oneway", "oneway", "one-way sends", "deliveries/s",
     "E.sendOnly(peer):ping(i) n times, then one awaited count(); counts "
     "one delivery per ping delivered to the peer"},
};

typedef struct cfg {
    long n;
    const char *durability;
    const workload *w;
} cfg;

static int
ping_rep(void *ud, int rep, double *figs)
{
    cfg *c = ud;
    char dir[256], path[512], args[32];
    bench_kernel b;
    lvat_options o;
    double t0;
    int rc = -1;

    (void)rep;
    snprintf(path, sizeof path, "%s/cluster.json", bench_vats_dir());
    snprintf(args, sizeof args, "[%ld]", c->n);
    if (bench_mkdtemp(dir, sizeof dir) != 0)
        return -1;
    if (bench_options(&b, &o, dir, bench_durability(c->durability), 0) != 0)
        goto done;
    if (bench_open(&b, &o) != 0 || bench_launch(&b, path) != 0)
        goto done;
    t0 = bench_now();
    if (bench_call(&b, b.root, c->w->method, args) != 0)
        goto done;
    figs[0] = (double)c->n / (bench_now() - t0);
    rc = 0;
done:
    bench_close(&b);
    bench_rmdir(dir);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: ping [-n N] [-r REPS] [-d sync|nometasync|"
                    "nosync] [-w seq,pipe,oneway]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long reps = bench_env_long("BENCH_REPS", 5);
    const char *only = "seq,pipe,oneway";
    cfg c = {bench_env_long("BENCH_N", 100000), "nosync", NULL};
    int opt, status = 0;

    while ((opt = getopt(argc, argv, "n:r:d:w:")) != -1) {
        if (opt == 'n')
            c.n = bench_arg_long("ping", optarg);
        else if (opt == 'r')
            reps = bench_arg_long("ping", optarg);
        else if (opt == 'd')
            c.durability = optarg;
        else if (opt == 'w')
            only = optarg;
        else
            usage();
    }
    if (optind != argc || bench_durability(c.durability) < 0)
        usage();
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        bench_fig fig;

        c.w = &workloads[i];
        if (strstr(only, c.w->key) == NULL)
            continue;
        if (bench_reps((int)reps, 1, ping_rep, &c, &fig) != 0) {
            fprintf(stderr, "ping: %s failed\n", c.w->label);
            status = 1;
            continue;
        }
        bench_emit(c.w->label, &fig, c.w->unit, "n=%ld, %s; %s; median of %ld",
                   c.n, c.durability, c.w->counted, reps);
    }
    return status;
}
