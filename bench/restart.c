/*
 * Restart cost: a store with V vats holding E baggage entries each is
 * closed and reopened; prints the time to open and the time from open to
 * the first answered message.  Not a test.
 *
 * usage: restart [VATS] [ENTRIES_PER_VAT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "luavat.h"
#include "lvat_lua.h"

typedef struct st {
    lvat_kernel *k;
    int done;
} st;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_done(void *ud, int status, const lvat_value *v)
{
    (void)v;
    ((st *)ud)->done = status == LVAT_OK ? 1 : -1;
}

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    (void)info;
    if (ev != LVAT_LAUNCH_STARTED)
        ((st *)ud)->done = ev == LVAT_LAUNCH_DONE ? 1 : -1;
}

static int
open_kernel(st *s, const char *dir, lvat_lua_runtime *rt)
{
    lvat_options o;
    char err[1024];

    lvat_options_init(&o);
    o.dir = dir;
    o.durability = LVAT_DURABILITY_NOSYNC;
    o.vat_ops = lvat_lua_vat_ops();
    o.vat_ops_ud = rt;
    o.vat_time_limit_ms = 600000;
    if (lvat_kernel_open(&o, &s->k, err, sizeof err) != LVAT_OK) {
        fprintf(stderr, "restart: %s\n", err);
        return 1;
    }
    return 0;
}

static int
call(st *s, const char *kref, const char *method, const char *args)
{
    s->done = 0;
    if (lvat_kernel_queue_message(s->k, kref, method, args, on_done, s) ||
        lvat_kernel_run(s->k) || s->done != 1) {
        fprintf(stderr, "restart: %s.%s failed\n", kref, method);
        return 1;
    }
    return 0;
}

/* One one-vat subcluster per vat, as caplets would be. */
static int
populate(st *s, int vats, int entries)
{
    const char *cfg = "{\"bootstrap\":\"f\",\"vats\":{\"f\":"
                      "{\"sourceSpec\":\"filler.lua\"}}}";
    char kref[32];

    for (int i = 1; i <= vats; i++) {
        s->done = 0;
        if (lvat_kernel_launch_json(s->k, cfg, strlen(cfg), "bench/vats",
                                    on_launch, s) != LVAT_OK) {
            fprintf(stderr, "restart: %s\n", lvat_kernel_errmsg(s->k));
            return 1;
        }
    }
    if (lvat_kernel_run(s->k) != LVAT_OK || s->done != 1) {
        fprintf(stderr, "restart: launch failed: %s\n",
                lvat_kernel_errmsg(s->k));
        return 1;
    }
    for (int i = 1; i <= vats; i++) {
        /* Roots are ko1..koV in launch order. */
        snprintf(kref, sizeof kref, "ko%d", i);
        for (int from = 0; from < entries; from += 10000) {
            char args[64];
            int chunk = entries - from < 10000 ? entries - from : 10000;
            snprintf(args, sizeof args, "[%d, %d]", from, chunk);
            if (call(s, kref, "fill", args))
                return 1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    int vats = argc > 1 ? atoi(argv[1]) : 100;
    int entries = argc > 2 ? atoi(argv[2]) : 1000;
    char dir[] = "/tmp/luavat-restart-XXXXXX", cmd[128], kref[32];
    lvat_lua_runtime *rt;
    lvat_errbuf eb;
    st s;
    double t0, t1, t2;

    memset(&s, 0, sizeof s);
    if (mkdtemp(dir) == NULL || lvat_lua_runtime_new(NULL, &rt, &eb))
        return 1;
    if (open_kernel(&s, dir, rt) || populate(&s, vats, entries))
        return 1;
    lvat_kernel_close(s.k);
    t0 = now();
    if (open_kernel(&s, dir, rt))
        return 1;
    t1 = now();
    snprintf(kref, sizeof kref, "ko%d", vats / 2 + 1);
    if (call(&s, kref, "ping", "[]"))
        return 1;
    t2 = now();
    printf("%-28s %12.2f ms open  %8.2f ms to first answer  (%d vats, %d "
           "baggage entries)\n",
           "restart", (t1 - t0) * 1e3, (t2 - t0) * 1e3, vats,
           vats * entries);
    lvat_kernel_close(s.k);
    lvat_lua_runtime_free(rt);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
