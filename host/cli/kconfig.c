/*
 * --kernel-config FILE: the kernel's own configuration, for now its system
 * subclusters:
 *
 *   {"systemSubclusters": [{"name": "admin", "config": CLUSTER}, ...]}
 *
 * where CLUSTER is a ClusterConfig object (its sourceSpecs relative to
 * FILE) or the path of a ClusterConfig file (relative to FILE; its
 * sourceSpecs relative to itself).  Directories are made absolute, since
 * the kernel keeps them to reload subclusters from any working directory.
 */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

/* The absolute directory of `path`, owned. */
static char *
abs_dir(const char *path)
{
    char *copy = strdup(path), *dir, *out = NULL;

    if (copy == NULL)
        return NULL;
    dir = dirname(copy);
    out = realpath(dir, NULL);
    free(copy);
    return out;
}

/* `rel` resolved against directory `dir` (owned). */
static char *
join(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", rel[0] == '/' ? "" : dir, rel);
    return p;
}

static int
bad(const char *file, const char *what)
{
    cli_error("%s: %s", file, what);
    return CLI_SETUP;
}

/* The ClusterConfig file `path` as compact JSON text (owned) into *out,
 * or what is wrong into `why`.  Not its raw text: the kernel compares a
 * system subcluster's config with the one it remembers, which it writes
 * back compactly when opened without --kernel-config, so spacing alone
 * would read as a changed config (and warn) on that open. */
static int
read_cluster(const char *path, char **out, char *why, size_t whylen)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_json *doc = NULL;
    lvat_errbuf err;
    char *text, msg[160];
    size_t len;

    if (lvat_read_file(path, &text, &len, &err) != LVAT_OK) {
        snprintf(why, whylen, "%s", err.msg);
        return CLI_SETUP;
    }
    if (lvat_json_parse(text, len, false, &doc, msg, sizeof msg) !=
        LVAT_OK) {
        snprintf(why, whylen, "%s: %s", path, msg);
        free(text);
        return CLI_SETUP;
    }
    free(text);
    lvat_json_write(&b, doc);
    lvat_buf_putc(&b, '\0');
    lvat_json_free(doc);
    if (b.oom) {
        lvat_buf_free(&b);
        snprintf(why, whylen, "out of memory");
        return CLI_SETUP;
    }
    *out = b.data;
    return 0;
}

/* One {"name", "config"} entry into slot `s`. */
static int
load_entry(cli_kconfig *c, const char *file, const char *dir,
           const lvat_json *e, lvat_system_subcluster *s)
{
    const lvat_json *cfg = lvat_json_get(e, "config");
    const char *name = lvat_json_get_str(e, "name");
    lvat_buf text = LVAT_BUF_INIT;
    char *path, why[1200];

    if (!lvat_json_is_object(e) || name == NULL || cfg == NULL ||
        e->len != 2)
        return bad(file, "each systemSubclusters entry must be "
                         "{\"name\": NAME, \"config\": CLUSTER}");
    s->name = c->strs[c->nstrs++] = strdup(name);
    if (cfg->type == LVAT_JSON_STRING) {
        path = join(dir, cfg->str);
        if (read_cluster(path, &c->strs[c->nstrs], why, sizeof why) != 0) {
            cli_error("%s: system subcluster \"%s\": %s", file, name, why);
            free(path);
            return CLI_SETUP;
        }
        s->config_json = c->strs[c->nstrs++];
        s->base_dir = c->strs[c->nstrs++] = abs_dir(path);
        if (s->base_dir == NULL) {
            cli_error("%s: system subcluster \"%s\": cannot read %s: %s",
                      file, name, path, strerror(errno));
            free(path);
            return CLI_SETUP;
        }
        free(path);
        return 0;
    }
    if (!lvat_json_is_object(cfg))
        return bad(file, "a system subcluster's config must be a "
                         "ClusterConfig object or the path of one");
    lvat_json_write(&text, cfg);
    lvat_buf_putc(&text, '\0');
    s->config_json = c->strs[c->nstrs++] = text.data;
    s->base_dir = c->strs[c->nstrs++] = strdup(dir);
    return text.oom || s->base_dir == NULL ? bad(file, "out of memory") : 0;
}

static int
load_doc(cli_kconfig *c, const char *file, const char *dir,
         const lvat_json *doc)
{
    const lvat_json *list = lvat_json_get(doc, "systemSubclusters");
    int rc = 0;

    if (!lvat_json_is_object(doc) || doc->len != 1 ||
        !lvat_json_is_array(list))
        return bad(file, "a kernel config is {\"systemSubclusters\": "
                         "[{\"name\": ..., \"config\": ...}, ...]}");
    c->subs = calloc(list->len + 1, sizeof *c->subs);
    c->strs = calloc(3 * list->len + 1, sizeof *c->strs);
    if (c->subs == NULL || c->strs == NULL)
        return bad(file, "out of memory");
    for (size_t i = 0; i < list->len && rc == 0; i++)
        rc = load_entry(c, file, dir, list->items[i], &c->subs[c->nsubs++]);
    return rc;
}

int
cli_kconfig_load(const char *file, cli_kconfig *c)
{
    lvat_json *doc = NULL;
    lvat_errbuf err;
    char why[256], *text, *dir;
    size_t len;
    int rc;

    memset(c, 0, sizeof *c);
    if (lvat_read_file(file, &text, &len, &err) != LVAT_OK) {
        cli_error("--kernel-config: %s", err.msg);
        return CLI_SETUP;
    }
    dir = abs_dir(file);
    if (lvat_json_parse(text, len, false, &doc, why, sizeof why) != LVAT_OK)
        rc = bad(file, why);
    else if (dir == NULL)
        rc = bad(file, strerror(errno));
    else
        rc = load_doc(c, file, dir, doc);
    lvat_json_free(doc);
    free(text);
    free(dir);
    if (rc != 0)
        cli_kconfig_free(c);
    return rc;
}

void
cli_kconfig_free(cli_kconfig *c)
{
    for (size_t i = 0; i < c->nstrs; i++)
        free(c->strs[i]);
    free(c->strs);
    free(c->subs);
    memset(c, 0, sizeof *c);
}
