/*
 * What config.c (checking a ClusterConfig into a launch plan) takes from
 * config_snapshot.c (reading each vat's files), and what reload.c takes
 * from config.c.
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

/* lvat__plan_from_json for a config the kernel stored (lvat_json_write
 * wrote bytes that are not UTF-8, say of a Latin-1 path, as \u00XX):
 * read back as those bytes, not as the characters U+0080..U+00FF, so a
 * reload finds the same files. */
int lvat__plan_from_stored(const char *json, size_t len, const char *base_dir,
                           const char *what, lvat_srccache *sources,
                           lvat_launch_plan **out, lvat_errbuf *err);

#endif
