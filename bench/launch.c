/*
 * Vat launch: n one-vat subclusters of bench/vats/trivial/trivial.lua are
 * launched in batches: queue `batch` launches, lvat_kernel_run, repeat;
 * the host times that from the first queued launch to the last bootstrap
 * answered.  (Batches, because the kernel's host inbox is scanned
 * linearly per request: queueing all 10,000 at once measures that scan
 * more than the launches.  -b N with N >= n queues them all at once.)  All the
 * vats stay loaded afterwards, so the process's resident memory (statm)
 * after minus before, over n, is the cost of an idle vat; the Lua heap per
 * vat is the sum of the vat runtime's memory() over the live instances
 * (through a pass-through lvat_vat_ops), over n.  Each repetition is a
 * fresh process with a fresh store.
 *
 * With -s N the Lua runtime keeps N vat states built ahead on a thread of
 * its own (lvat_lua_options.spare_states), and the rows say so.
 *
 * usage: launch [-n VATS] [-b BATCH] [-s SPARES] [-r REPS]
 *               [-d sync|nometasync|nosync]
 * Defaults: $BENCH_LAUNCH_N or 10000, $BENCH_LAUNCH_BATCH or 100, no
 * spares, $BENCH_REPS or 5, nosync.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Pass-through vat ops that keep a list of live instances ---- */

typedef struct tracker tracker;

typedef struct tracked {
    void *inst;
    tracker *owner;
    struct tracked *prev, *next;
} tracked;

struct tracker {
    const lvat_vat_ops *base;
    void *base_ud;
    tracked head; /* circular list of live instances */
};

static int
tr_create(void *ud, const lvat_vat_spec *spec, void **vat, lvat_errbuf *err)
{
    tracker *t = ud;
    tracked *v = malloc(sizeof *v);
    int rc;

    if (v == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    rc = t->base->create(t->base_ud, spec, &v->inst, err);
    if (rc != LVAT_OK) {
        free(v);
        return rc;
    }
    v->owner = t;
    v->next = t->head.next;
    v->prev = &t->head;
    t->head.next->prev = v;
    t->head.next = v;
    *vat = v;
    return LVAT_OK;
}

static int
tr_deliver(void *vat, const lvat_delivery *d, lvat_errbuf *err)
{
    tracked *v = vat;

    return v->owner->base->deliver(v->inst, d, err);
}

static void
tr_destroy(void *vat)
{
    tracked *v = vat;

    v->owner->base->destroy(v->inst);
    v->prev->next = v->next;
    v->next->prev = v->prev;
    free(v);
}

static size_t
tr_memory(void *vat)
{
    tracked *v = vat;

    return v->owner->base->memory(v->inst);
}

/* Designated, so a field added to lvat_vat_ops later stays NULL here. */
static const lvat_vat_ops tracking_ops = {
    .create = tr_create,
    .deliver = tr_deliver,
    .destroy = tr_destroy,
    .memory = tr_memory,
};

static size_t
heap_total(const tracker *t)
{
    size_t sum = 0;

    for (const tracked *v = t->head.next; v != &t->head; v = v->next)
        sum += t->base->memory(v->inst);
    return sum;
}

/* ---- The measurement ---- */

typedef struct cfg {
    long n, batch, spares;
    const char *durability;
} cfg;

/* Launches n vats, `batch` queued per run; 0 when every bootstrap
 * answered. */
static int
launch_all(bench_kernel *b, long n, long batch)
{
    const char *json = "{\"bootstrap\":\"t\",\"vats\":{\"t\":"
                       "{\"sourceSpec\":\"trivial/trivial.lua\"}}}";

    for (long i = 0; i < n; i++) {
        if (lvat_kernel_launch_json(b->k, json, strlen(json), bench_vats_dir(),
                                    bench_on_launch, b) != LVAT_OK) {
            fprintf(stderr, "launch: %s\n", lvat_kernel_errmsg(b->k));
            return -1;
        }
        if ((i + 1) % batch != 0 && i + 1 != n)
            continue;
        if (lvat_kernel_run(b->k) != LVAT_OK || b->launched != i + 1) {
            fprintf(stderr, "launch: %ld of %ld launched: %s\n", b->launched,
                    i + 1, lvat_kernel_errmsg(b->k));
            return -1;
        }
    }
    return 0;
}

static int
launch_rep(void *ud, int rep, double *figs)
{
    cfg *c = ud;
    char dir[256];
    bench_kernel b;
    lvat_options o;
    tracker t;
    double t0, t1;
    long rss0, rss1;
    int rc = -1;

    (void)rep;
    if (bench_mkdtemp(dir, sizeof dir) != 0)
        return -1;
    if (bench_options(&b, &o, dir, bench_durability(c->durability),
                      (unsigned)c->spares) != 0)
        goto done;
    t.base = o.vat_ops;
    t.base_ud = o.vat_ops_ud;
    t.head.next = t.head.prev = &t.head;
    o.vat_ops = &tracking_ops;
    o.vat_ops_ud = &t;
    if (bench_open(&b, &o) != 0)
        goto done;
    rss0 = bench_rss_kb();
    t0 = bench_now();
    if (launch_all(&b, c->n, c->batch) != 0)
        goto done;
    t1 = bench_now();
    rss1 = bench_rss_kb();
    figs[0] = (double)c->n / (t1 - t0);
    figs[1] = (double)(rss1 - rss0) / (double)c->n;
    figs[2] = (double)heap_total(&t) / 1024.0 / (double)c->n;
    rc = rss0 < 0 || rss1 < 0 ? -1 : 0;
done:
    bench_close(&b);
    bench_rmdir(dir);
    return rc;
}

static void
usage(void)
{
    fprintf(stderr, "usage: launch [-n VATS] [-b BATCH] [-s SPARES] "
                    "[-r REPS] [-d sync|nometasync|nosync]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long reps = bench_env_long("BENCH_REPS", 5);
    cfg c = {bench_env_long("BENCH_LAUNCH_N", 10000),
             bench_env_long("BENCH_LAUNCH_BATCH", 100), 0, "nosync"};
    bench_fig figs[3];
    int opt;

    while ((opt = getopt(argc, argv, "n:b:s:r:d:")) != -1) {
        if (opt == 'n')
            c.n = bench_arg_long("launch", optarg);
        else if (opt == 'b')
            c.batch = bench_arg_long("launch", optarg);
        else if (opt == 's')
            c.spares = bench_arg_long("launch", optarg);
        else if (opt == 'r')
            reps = bench_arg_long("launch", optarg);
        else if (opt == 'd')
            c.durability = optarg;
        else
            usage();
    }
    if (optind != argc || bench_durability(c.durability) < 0)
        usage();
    if (bench_reps((int)reps, 3, launch_rep, &c, figs) != 0)
        return 1;
    if (c.batch > c.n)
        c.batch = c.n;
    if (c.spares > 0) {
        bench_emit("vat launch, spare states", &figs[0], "vats/s",
                   "as vat launch, with %ld spare vat states built ahead on "
                   "a second thread (lvat_lua_options.spare_states); median "
                   "of %ld",
                   c.spares, reps);
        bench_emit("idle vat memory (RSS), spare states", &figs[1], "KB/vat",
                   "as idle vat memory (RSS), with %ld spare states; median "
                   "of %ld",
                   c.spares, reps);
        return 0;
    }
    bench_emit("vat launch", &figs[0], "vats/s",
               "%ld one-vat subclusters (trivial/trivial.lua), %ld queued per "
               "lvat_kernel_run, %s; median of %ld",
               c.n, c.batch, c.durability, reps);
    bench_emit("idle vat memory (RSS)", &figs[1], "KB/vat",
               "process RSS (statm) after minus before launching %ld vats, "
               "all still loaded, / %ld; median of %ld",
               c.n, c.n, reps);
    bench_emit("idle vat memory (Lua heap)", &figs[2], "KB/vat",
               "sum of the Lua runtime's memory() over the %ld loaded vats, "
               "/ %ld; median of %ld",
               c.n, c.n, reps);
    return 0;
}
