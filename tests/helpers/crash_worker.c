/*
 * The process the crash test kills.  Modes:
 *   crash_worker DIR launch CONFIG    launch, print "root koN", exit
 *   crash_worker DIR run KREF         increment forever; after each block
 *                                     commits, print "ack N" per increment
 *   crash_worker DIR check KREF       run to quiescence, print
 *                                     "count C last L dups D gaps G"
 * Durability comes from $CRASH_DURABILITY (default nosync: a killed
 * process must lose nothing committed whatever the mode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luavat.h"
#include "lvat_lua.h"

static lvat_kernel *k;

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    (void)ud;
    if (ev == LVAT_LAUNCH_DONE)
        printf("root %s\n", info->root);
    else if (ev == LVAT_LAUNCH_FAILED)
        printf("failed %s\n", info->errmsg);
    fflush(stdout);
}

static void
on_ack(void *ud, int status, const lvat_value *v)
{
    char *text = lvat_value_render(k, v);

    (void)ud;
    printf("%s %s\n", status == LVAT_OK ? "ack" : "rejected", text);
    fflush(stdout);
    free(text);
}

static void
on_report(void *ud, int status, const lvat_value *v)
{
    char *text = lvat_value_render(k, v);
    long c = -1, l = -1, d = -1, g = -1;
    const char *p;

    (void)ud;
    if (status == LVAT_OK && text) {
        if ((p = strstr(text, "\"count\": ")))
            c = atol(p + 9);
        if ((p = strstr(text, "\"last\": ")))
            l = atol(p + 8);
        if ((p = strstr(text, "\"dups\": ")))
            d = atol(p + 8);
        if ((p = strstr(text, "\"gaps\": ")))
            g = atol(p + 8);
    }
    printf("count %ld last %ld dups %ld gaps %ld\n", c, l, d, g);
    fflush(stdout);
    free(text);
}

static int
open_kernel(const char *dir, lvat_lua_runtime **rt)
{
    const char *dur = getenv("CRASH_DURABILITY");
    lvat_options o;
    lvat_errbuf eb;
    char err[1024];

    if (lvat_lua_runtime_new(NULL, rt, &eb) != LVAT_OK)
        return 1;
    lvat_options_init(&o);
    o.dir = dir;
    o.durability = dur && strcmp(dur, "sync") == 0 ? LVAT_DURABILITY_SYNC
                                                   : LVAT_DURABILITY_NOSYNC;
    o.vat_ops = lvat_lua_vat_ops();
    o.vat_ops_ud = *rt;
    o.block_max_cranks = 64;
    /* A tiny map grows many times while the worker is being killed. */
    if (getenv("CRASH_MAP_SIZE") != NULL)
        o.map_size = strtoul(getenv("CRASH_MAP_SIZE"), NULL, 10);
    if (lvat_kernel_open(&o, &k, err, sizeof err) != LVAT_OK) {
        fprintf(stderr, "crash_worker: %s\n", err);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    lvat_lua_runtime *rt;
    int rc = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: crash_worker DIR launch|run|check ARG\n");
        return 2;
    }
    if (open_kernel(argv[1], &rt) != 0)
        return 3;
    if (strcmp(argv[2], "launch") == 0) {
        rc = lvat_kernel_launch_file(k, argv[3], on_launch, NULL);
        if (rc == LVAT_OK)
            rc = lvat_kernel_run(k);
    } else if (strcmp(argv[2], "check") == 0) {
        rc = lvat_kernel_run(k);
        if (rc == LVAT_OK)
            rc = lvat_kernel_queue_message(k, argv[3], "report", "[]",
                                           on_report, NULL);
        if (rc == LVAT_OK)
            rc = lvat_kernel_run(k);
    } else {
        for (unsigned i = 0; rc == LVAT_OK; i++) {
            /* A few increments per step, so blocks hold several cranks. */
            for (unsigned j = 0; j < 1 + i % 7 && rc == LVAT_OK; j++)
                rc = lvat_kernel_queue_message(k, argv[3], "increment", "[]",
                                               on_ack, NULL);
            if (rc == LVAT_OK)
                rc = lvat_kernel_step(k, 0, 0, NULL);
        }
    }
    if (rc != LVAT_OK)
        fprintf(stderr, "crash_worker: %s\n", lvat_kernel_errmsg(k));
    lvat_kernel_close(k);
    lvat_lua_runtime_free(rt);
    return rc == LVAT_OK ? 0 : 1;
}
