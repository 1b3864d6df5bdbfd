/*
 * What config.c (checking a ClusterConfig into a launch plan) takes from
 * config_snapshot.c (reading each vat's files).
 */
#ifndef LVAT_CONFIG_INT_H
#define LVAT_CONFIG_INT_H

#include <stddef.h>

#include "config.h"

/* The folder part of `path` ("." when it has none); owned, NULL if out of
 * memory. */
char *lvat__dir_of(const char *path);
/* Fills pv->mods and pv->main from the folder of `spec` (relative to
 * `base_dir`), through `cache` (which may be NULL). */
int lvat__plan_snapshot(lvat_plan_vat *pv, const char *base_dir,
                        const char *spec, lvat_srccache *cache,
                        lvat_errbuf *err);

#endif
