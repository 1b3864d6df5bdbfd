/*
 * Baggage throughput inside one vat (bench/vats/baggage.lua): one
 * delivery sets n keys "k%08d" to small tables, a second gets them all
 * back.  The host times each call from queueing it to its answer, which
 * includes the commit of its block.  Each repetition is a fresh process
 * with a fresh store; the launch is not timed.
 *
 * usage: baggage [-n N] [-r REPS] [-d sync|nometasync|nosync]
 * Defaults: $BENCH_BAGGAGE_N or 100000, $BENCH_REPS or 5, nosync.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cfg {
    long n;
    const char *durability;
} cfg;

/* Times root.method([n]); figs gets n per second. */
static int
timed(bench_kernel *b, const char *method, long n, double *fig)
{
    char args[32];
    double t0;

    snprintf(args, sizeof args, "[%ld]", n);
    t0 = bench_now();
    if (bench_call(b, b->root, method, args) != 0)
        return -1;
    *fig = (double)n / (bench_now() - t0);
    return 0;
}

static int
baggage_rep(void *ud, int rep, double *figs)
{
    const char *json = "{\"bootstrap\":\"b\",\"vats\":{\"b\":"
                       "{\"sourceSpec\":\"baggage.lua\"}}}";
    cfg *c = ud;
    char dir[256];
    bench_kernel b;
    lvat_options o;
    int rc = -1;

    (void)rep;
    if (bench_mkdtemp(dir, sizeof dir) != 0)
        return -1;
    if (bench_options(&b, &o, dir, bench_durability(c->durability), 0) != 0)
        goto done;
    o.vat_time_limit_ms = 600000;
    if (bench_open(&b, &o) != 0 ||
        lvat_kernel_launch_json(b.k, json, strlen(json), bench_vats_dir(),
                                bench_on_launch, &b) != LVAT_OK ||
        lvat_kernel_run(b.k) != LVAT_OK || b.done != 1) {
        fprintf(stderr, "baggage: launch failed\n");
        goto done;
    }
    if (timed(&b, "write", c->n, &figs[0]) == 0 &&
        timed(&b, "read", c->n, &figs[1]) == 0)
        rc = 0;
done:
    bench_close(&b);
    bench_rmdir(dir);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: baggage [-n N] [-r REPS] [-d sync|nometasync|"
                    "nosync]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long reps = bench_env_long("BENCH_REPS", 5);
    cfg c = {bench_env_long("BENCH_BAGGAGE_N", 100000), "nosync"};
    bench_fig figs[2];
    int opt;

    while ((opt = getopt(argc, argv, "n:r:d:")) != -1) {
        if (opt == 'n')
            c.n = bench_arg_long("baggage", optarg);
        else if (opt == 'r')
            reps = bench_arg_long("baggage", optarg);
        else if (opt == 'd')
            c.durability = optarg;
        else
            usage();
    }
    if (optind != argc || bench_durability(c.durability) < 0)
        usage();
    if (bench_reps((int)reps, 2, baggage_rep, &c, figs) != 0)
        return 1;
    bench_emit("baggage writes", &figs[0], "writes/s",
               "n=%ld baggage:set('k%%08d', {i=i, s='value'}) in one "
               "delivery, timed with its block commit, %s; median of %ld",
               c.n, c.durability, reps);
    bench_emit("baggage reads", &figs[1], "reads/s",
               "n=%ld baggage:get('k%%08d') of those keys in one delivery, "
               "%s; median of %ld",
               c.n, c.durability, reps);
    return 0;
}
