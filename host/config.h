/*
 * Launch plans: a ClusterConfig checked and read into memory (sources
 * included) before the kernel changes anything.  subcluster.c turns a plan
 * into records and cranks.
 */
#ifndef LVAT_CONFIG_H
#define LVAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "lvat_err.h"
#include "sha256.h"
#include "srccache.h"

typedef struct lvat_plan_module {
    char *name; /* "greeter", "lib.util" */
    char *path; /* as the config wrote it: "vats/hello/greeter.lua" */
    char hash[LVAT_SHA256_HEX_LEN + 1]; /* set when applied (srcname.c) */
    char *text;
    size_t len;
    int rank; /* of the files that make its name, the one require finds
                 ranks lowest (config.c's module_rank) */
} lvat_plan_module;

typedef struct lvat_plan_vat {
    char *name;
    char *main;        /* module name of the sourceSpec file */
    char *params_body; /* smallcaps of `parameters` */
    lvat_json *globals;
    size_t memory_limit;    /* 0 = kernel default */
    uint32_t time_limit_ms; /* 0 = kernel default */
    bool start_on_open;
    bool has_random_seed;   /* creationOptions.randomSeed was given */
    int64_t random_seed;
    lvat_plan_module *mods;
    size_t nmods, capmods;
} lvat_plan_vat;

typedef struct lvat_launch_plan {
    lvat_json *config; /* the config as given (kept in the record) */
    char *config_dir;
    lvat_json *services; /* array of names, or NULL */
    size_t bootstrap;    /* index into vats */
    lvat_plan_vat *vats; /* launch order */
    size_t nvats;
} lvat_launch_plan;

/*
 * Checks a ClusterConfig and reads its vats' sources (through `sources`,
 * which may be NULL).  `base_dir` resolves relative sourceSpecs; `what`
 * names the config in messages.  On failure (LVAT_ECONFIG, LVAT_ENOMEM)
 * `err` says what is wrong; *out is untouched.
 */
int lvat__plan_from_json(const char *json, size_t len, const char *base_dir,
                         const char *what, lvat_srccache *sources,
                         lvat_launch_plan **out, lvat_errbuf *err);
/* The same for a file; relative sourceSpecs are relative to its folder. */
int lvat__plan_from_file(const char *path, lvat_srccache *sources,
                         lvat_launch_plan **out, lvat_errbuf *err);
void lvat__launch_plan_free(lvat_launch_plan *p);

#endif
