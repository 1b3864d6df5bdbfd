/*
 * Restart cost: a store with VATS one-vat subclusters (bench/vats/
 * filler.lua) holding ENTRIES baggage entries in all is populated once
 * (not timed), then each repetition, in a fresh process, times from
 * lvat_kernel_open to the answer of a first message to one vat's root.
 * Every repetition reopens the same store, so the OS page cache is warm
 * after the first; nothing else carries over between them.
 *
 * usage: restart [-v VATS] [-e ENTRIES] [-r REPS]
 * Defaults: $BENCH_RESTART_VATS or 1000, $BENCH_RESTART_ENTRIES or
 * 1000000, $BENCH_REPS or 5.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_CHUNK 10000 /* entries per fill() delivery */

typedef struct cfg {
    long vats, entries;
    char dir[256];
    long target; /* N of the root koN the timed message goes to */
} cfg;

typedef struct roots {
    bench_kernel *b;
    char (*kref)[32];
    long n;
} roots;

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    roots *r = ud;

    if (ev == LVAT_LAUNCH_STARTED)
        snprintf(r->kref[r->n++], sizeof r->kref[0], "%s", info->root);
    else
        bench_on_launch(r->b, ev, info);
}

static int
open_store(bench_kernel *b, const char *dir)
{
    lvat_options o;

    if (bench_options(b, &o, dir, LVAT_DURABILITY_NOSYNC, 0) != 0)
        return -1;
    o.vat_time_limit_ms = 600000;
    return bench_open(b, &o);
}

/* Fills vat `kref` with entries [from, from + n). */
static int
fill(bench_kernel *b, const char *kref, long from, long n)
{
    char args[64];

    for (long at = from; at < from + n; at += FILL_CHUNK) {
        long chunk = from + n - at < FILL_CHUNK ? from + n - at : FILL_CHUNK;
        snprintf(args, sizeof args, "[%ld, %ld]", at, chunk);
        if (bench_call(b, kref, "fill", args) != 0)
            return -1;
    }
    return 0;
}

/* The untimed setup, in a child: figs[0] is the target's N. */
static int
populate(void *ud, int rep, double *figs)
{
    const char *json = "{\"bootstrap\":\"f\",\"vats\":{\"f\":"
                       "{\"sourceSpec\":\"filler.lua\"}}}";
    cfg *c = ud;
    bench_kernel b;
    roots r = {&b, calloc((size_t)c->vats, sizeof *r.kref), 0};
    int rc = -1;

    (void)rep;
    memset(&b, 0, sizeof b);
    if (r.kref == NULL || open_store(&b, c->dir) != 0)
        goto done;
    for (long i = 0; i < c->vats; i++)
        if (lvat_kernel_launch_json(b.k, json, strlen(json), bench_vats_dir(),
                                    on_launch, &r) != LVAT_OK)
            goto done;
    if (lvat_kernel_run(b.k) != LVAT_OK || b.launched != c->vats) {
        fprintf(stderr, "restart: launch failed: %s\n",
                lvat_kernel_errmsg(b.k));
        goto done;
    }
    for (long i = 0; i < c->vats; i++) {
        long from = c->entries * i / c->vats;
        if (fill(&b, r.kref[i], from, c->entries * (i + 1) / c->vats - from))
            goto done;
    }
    rc = sscanf(r.kref[c->vats / 2], "ko%lf", &figs[0]) == 1 ? 0 : -1;
done:
    bench_close(&b);
    free(r.kref);
    return rc;
}

static int
restart_rep(void *ud, int rep, double *figs)
{
    cfg *c = ud;
    char kref[32];
    bench_kernel b;
    lvat_options o;
    double t0;
    int rc = -1;

    (void)rep;
    snprintf(kref, sizeof kref, "ko%ld", c->target);
    if (bench_options(&b, &o, c->dir, LVAT_DURABILITY_NOSYNC, 0) != 0)
        return -1;
    o.vat_time_limit_ms = 600000;
    t0 = bench_now();
    if (bench_open(&b, &o) == 0 && bench_call(&b, kref, "ping", "[]") == 0) {
        figs[0] = (bench_now() - t0) * 1e3;
        rc = 0;
    }
    bench_close(&b);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: restart [-v VATS] [-e ENTRIES] [-r REPS]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long reps = bench_env_long("BENCH_REPS", 5);
    cfg c = {bench_env_long("BENCH_RESTART_VATS", 1000),
             bench_env_long("BENCH_RESTART_ENTRIES", 1000000), "", 0};
    bench_fig fig = {0, 0, 0};
    int opt, rc;

    while ((opt = getopt(argc, argv, "v:e:r:")) != -1) {
        if (opt == 'v')
            c.vats = bench_arg_long("restart", optarg);
        else if (opt == 'e')
            c.entries = bench_arg_long("restart", optarg);
        else if (opt == 'r')
            reps = bench_arg_long("restart", optarg);
        else
            usage();
    }
    if (optind != argc)
        usage();
    if (bench_mkdtemp(c.dir, sizeof c.dir) != 0)
        return 1;
    rc = bench_reps(1, 1, populate, &c, &fig);
    c.target = (long)fig.median;
    if (rc == 0)
        rc = bench_reps((int)reps, 1, restart_rep, &c, &fig);
    if (rc == 0)
        bench_emit("restart to first answer", &fig, "ms",
                   "%ld vats, %ld baggage entries, nosync; lvat_kernel_open "
                   "to the first message answered; one store populated once "
                   "(untimed), reopened in a fresh process per run, page "
                   "cache warm; median of %ld",
                   c.vats, c.entries, reps);
    bench_rmdir(c.dir);
    return rc == 0 ? 0 : 1;
}
