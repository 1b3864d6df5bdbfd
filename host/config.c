/*
 * ClusterConfig reading: checks a config (design §9), reads each vat's
 * code snapshot (every *.lua file under the folder of its sourceSpec) and
 * prepares a launch plan, all before any crank runs, so a bad config fails
 * at once and changes nothing.  Errors name the config file, the vat and
 * the path involved.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "smallcaps.h"
#include "srccache.h"

#define MAX_FILES       256
#define MAX_FILE_BYTES  (1u << 20)
#define MAX_TOTAL_BYTES (8u << 20)
#define MAX_DEPTH       8

/* ---- Files ---- */

static int
read_file(const char *path, char **text, size_t *len, lvat_errbuf *err)
{
    FILE *f = fopen(path, "rb");
    lvat_buf b = LVAT_BUF_INIT;
    char chunk[8192];
    size_t n;

    if (f == NULL)
        return lvat_errbuf_set(err, LVAT_ECONFIG, "cannot read %s: %s", path,
                               strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE_BYTES) {
            fclose(f);
            lvat_buf_free(&b);
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "%s is larger than %u bytes", path,
                                   MAX_FILE_BYTES);
        }
        lvat_buf_append(&b, chunk, n);
    }
    fclose(f);
    *text = lvat_buf_take(&b, len);
    return *text ? LVAT_OK : lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
}

static char *
join(const char *dir, const char *name)
{
    lvat_buf b = LVAT_BUF_INIT;

    if (name[0] == '/' || dir == NULL || dir[0] == '\0') {
        lvat_buf_puts(&b, name);
    } else {
        lvat_buf_puts(&b, dir);
        if (b.len && b.data[b.len - 1] != '/')
            lvat_buf_putc(&b, '/');
        lvat_buf_puts(&b, name);
    }
    return lvat_buf_take(&b, NULL);
}

/* dirname of `path` as an owned string ("" for a bare file name). */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return lvat_strdup("");
    if (slash == path)
        return lvat_strdup("/");
    return lvat_memdup(path, (size_t)(slash - path));
}

/* "lib/util.lua" -> "lib.util"; "lib/init.lua" -> "lib". */
static char *
module_name(const char *rel)
{
    size_t n = strlen(rel) - 4;
    char *m = lvat_memdup(rel, n);

    if (m == NULL)
        return NULL;
    for (char *c = m; *c; c++)
        if (*c == '/')
            *c = '.';
    if (n > 5 && strcmp(m + n - 5, ".init") == 0)
        m[n - 5] = '\0';
    return m;
}

/* ---- Snapshot ---- */

typedef struct walker {
    lvat_plan_vat *pv;
    const char *root;      /* folder of the sourceSpec, from base_dir */
    const char *shown_dir; /* the folder as the config wrote it */
    size_t total;
    lvat_srcsnap *rec; /* what the walk read, for the cache; or NULL */
    lvat_errbuf *err;
} walker;

/* Adds the module at `rel`: its text as kept by the cache, or else read
 * (and recorded for the cache). */
static int
add_module(walker *w, const char *rel, const char *kept, size_t kept_len)
{
    lvat_plan_vat *pv = w->pv;
    lvat_plan_module *m;
    char *abs = join(w->root, rel);
    int rc;

    if (pv->nmods == MAX_FILES) {
        lvat_free(abs);
        return lvat_errbuf_set(w->err, LVAT_ECONFIG,
                               "vat %s: more than %d Lua files under %s; "
                               "put the vat in a folder of its own",
                               pv->name, MAX_FILES, w->root);
    }
    if (!lvat_reserve(&pv->mods, pv->nmods, &pv->capmods, sizeof *pv->mods,
                      4)) {
        lvat_free(abs);
        return lvat_errbuf_set(w->err, LVAT_ENOMEM, "out of memory");
    }
    m = &pv->mods[pv->nmods];
    memset(m, 0, sizeof *m);
    if (abs == NULL)
        rc = LVAT_ENOMEM;
    else if (kept == NULL)
        rc = read_file(abs, &m->text, &m->len, w->err);
    else if ((m->text = lvat_memdup(kept, kept_len)) == NULL)
        rc = lvat_errbuf_set(w->err, LVAT_ENOMEM, "out of memory");
    else
        rc = (m->len = kept_len, LVAT_OK);
    lvat_free(abs);
    if (rc != LVAT_OK)
        return rc;
    if (kept == NULL)
        lvat_srcsnap_add(w->rec, rel, m->text, m->len);
    pv->nmods++;
    w->total += m->len;
    if (w->total > MAX_TOTAL_BYTES)
        return lvat_errbuf_set(w->err, LVAT_ECONFIG,
                               "vat %s: the Lua files under %s add up to more "
                               "than %u bytes",
                               pv->name, w->root, MAX_TOTAL_BYTES);
    m->name = module_name(rel);
    m->path = join(w->shown_dir, rel);
    if (m->name == NULL || m->path == NULL)
        return lvat_errbuf_set(w->err, LVAT_ENOMEM, "out of memory");
    return LVAT_OK; /* hashed when applied (srcname.c) */
}

static int walk(walker *w, const char *rel, int depth);

/* One entry of a folder (`sub` under the root): walked, read, or only
 * stamped. */
static int
visit(walker *w, const char *sub, const char *abs, int depth)
{
    size_t n = strlen(sub);
    struct stat st;

    if (stat(abs, &st) != 0) {
        lvat_srcsnap_refuse(w->rec); /* a dangling link: not to be kept */
        return LVAT_OK;
    }
    /* Stamped even when not read: it may be later (a link whose target
     * turns into a folder) with its name and its folder unchanged. */
    lvat_srcsnap_stamp(w->rec, abs, &st);
    if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
        return walk(w, sub, depth + 1);
    if (S_ISREG(st.st_mode) && n > 4 && strcmp(sub + n - 4, ".lua") == 0)
        return add_module(w, sub, NULL, 0);
    return LVAT_OK;
}

static int
walk(walker *w, const char *rel, int depth)
{
    char *dirpath = rel[0] ? join(w->root, rel) : lvat_strdup(w->root);
    DIR *d = dirpath ? opendir(dirpath) : NULL;
    struct dirent *e;
    int rc = LVAT_OK;

    if (dirpath == NULL)
        return lvat_errbuf_set(w->err, LVAT_ENOMEM, "out of memory");
    if (d == NULL) {
        rc = lvat_errbuf_set(w->err, LVAT_ECONFIG, "cannot list %s: %s",
                             dirpath, strerror(errno));
        lvat_free(dirpath);
        return rc;
    }
    while (rc == LVAT_OK && (e = readdir(d)) != NULL) {
        char *sub, *abs;
        if (e->d_name[0] == '.')
            continue;
        sub = rel[0] ? join(rel, e->d_name) : lvat_strdup(e->d_name);
        abs = sub ? join(w->root, sub) : NULL;
        rc = sub && abs ? visit(w, sub, abs, depth)
                        : lvat_errbuf_set(w->err, LVAT_ENOMEM,
                                          "out of memory");
        lvat_free(sub);
        lvat_free(abs);
    }
    closedir(d);
    lvat_free(dirpath);
    return rc;
}

/* The folder's modules: as the cache kept them while nothing under the
 * folder changed, else walked (and kept for the next launch). */
static int
read_folder(walker *w, lvat_srccache *cache)
{
    const lvat_srcsnap *kept = lvat_srccache_find(cache, w->root);
    struct timespec started;
    struct stat st;
    int rc = LVAT_OK;

    for (size_t i = 0; kept && i < lvat_srcsnap_count(kept); i++) {
        size_t len;
        const char *text, *rel = lvat_srcsnap_file(kept, i, &text, &len);
        if ((rc = add_module(w, rel, text, len)) != LVAT_OK)
            return rc;
    }
    if (kept != NULL)
        return LVAT_OK;
    clock_gettime(CLOCK_REALTIME, &started);
    if (cache != NULL && stat(w->root, &st) == 0 &&
        (w->rec = lvat_srcsnap_new(w->root)) != NULL)
        lvat_srcsnap_stamp(w->rec, w->root, &st);
    rc = walk(w, "", 0);
    if (rc == LVAT_OK && w->rec != NULL)
        lvat_srccache_keep(cache, w->rec,
                           (uint64_t)started.tv_sec * 1000000000u +
                               (uint64_t)started.tv_nsec);
    else
        lvat_srcsnap_free(w->rec);
    w->rec = NULL;
    return rc;
}

static int
snapshot(lvat_plan_vat *pv,
         const char *base_dir,
         const char *spec,
         lvat_srccache *cache,
         lvat_errbuf *err)
{
    char *abs = join(base_dir, spec), *root = abs ? dir_of(abs) : NULL;
    char *shown = dir_of(spec), *base = strrchr(spec, '/');
    struct stat st;
    walker w = {pv, root, shown, 0, NULL, err};
    int rc;

    base = base ? base + 1 : (char *)spec;
    if (abs == NULL || root == NULL || shown == NULL)
        rc = lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    else if (stat(abs, &st) != 0 || !S_ISREG(st.st_mode))
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: source file %s does not exist", pv->name,
                             abs);
    else if (strlen(base) < 5 || strcmp(base + strlen(base) - 4, ".lua"))
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: sourceSpec %s is not a .lua file",
                             pv->name, spec);
    else
        rc = read_folder(&w, cache);
    if (rc == LVAT_OK && (pv->main = module_name(base)) == NULL)
        rc = lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    lvat_free(abs);
    lvat_free(root);
    lvat_free(shown);
    return rc;
}

/* ---- Vat entries ---- */

static int
vat_limits(lvat_plan_vat *pv, const lvat_json *opts, lvat_errbuf *err)
{
    const lvat_json *mem = lvat_json_get(opts, "memoryLimit");
    const lvat_json *time = lvat_json_get(opts, "timeLimitMs");
    const lvat_json *soo = lvat_json_get(opts, "startOnOpen");
    const lvat_json *seed = lvat_json_get(opts, "randomSeed");

    if (opts && !lvat_json_is_object(opts))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions must be an object",
                               pv->name);
    if ((mem && (mem->type != LVAT_JSON_INT || mem->i <= 0)) ||
        (time && (time->type != LVAT_JSON_INT || time->i <= 0)))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions.memoryLimit and "
                               "timeLimitMs must be positive integers",
                               pv->name);
    if (seed && seed->type != LVAT_JSON_INT)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions.randomSeed must be "
                               "an integer",
                               pv->name);
    pv->has_random_seed = seed != NULL;
    pv->random_seed = seed ? seed->i : 0;
    pv->memory_limit = mem ? (size_t)mem->i : 0;
    pv->time_limit_ms = time ? (uint32_t)time->i : 0;
    pv->start_on_open = soo && soo->type == LVAT_JSON_TRUE;
    return LVAT_OK;
}

static int
vat_globals(lvat_plan_vat *pv, const lvat_json *g, lvat_errbuf *err)
{
    if (g == NULL)
        return LVAT_OK;
    if (!lvat_json_is_array(g))
        goto bad;
    for (size_t i = 0; i < g->len; i++)
        if (g->items[i]->type != LVAT_JSON_STRING)
            goto bad;
    pv->globals = lvat_json_clone(g);
    return pv->globals ? LVAT_OK
                       : lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
bad:
    return lvat_errbuf_set(err, LVAT_ECONFIG,
                           "vat %s: globals must be an array of names",
                           pv->name);
}

static int
vat_params(lvat_plan_vat *pv, const lvat_json *params, lvat_errbuf *err)
{
    lvat_buf body = LVAT_BUF_INIT;
    lvat_kref *slots = NULL;
    size_t nslots = 0;
    char why[200];
    int rc;

    if (params == NULL) {
        pv->params_body = lvat_strdup("#{}");
        return pv->params_body ? LVAT_OK : LVAT_ENOMEM;
    }
    rc = lvat_sc_from_json(params, &body, &slots, &nslots, why, sizeof why);
    lvat_free(slots);
    if (rc == LVAT_OK && nslots)
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: parameters cannot hold references",
                             pv->name);
    else if (rc != LVAT_OK)
        rc = lvat_errbuf_set(err, LVAT_ECONFIG, "vat %s: parameters: %s",
                             pv->name, why);
    if (rc == LVAT_OK && (pv->params_body = lvat_buf_take(&body, NULL)) == NULL)
        rc = LVAT_ENOMEM;
    lvat_buf_free(&body);
    return rc;
}

static int
plan_vat(lvat_plan_vat *pv,
         const char *name,
         const lvat_json *vc,
         const char *base_dir,
         lvat_srccache *sources,
         lvat_errbuf *err)
{
    const char *spec = lvat_json_get_str(vc, "sourceSpec");
    int rc;

    if ((pv->name = lvat_strdup(name)) == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    if (!lvat_json_is_object(vc))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: its entry must be an object", name);
    if (spec == NULL) {
        bool bundle =
            lvat_json_get(vc, "bundleSpec") || lvat_json_get(vc, "bundleName");
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: no \"sourceSpec\" (the path of its "
                               "main .lua file)%s",
                               name,
                               bundle ? "; luavat runs Lua sources, not "
                                        "JavaScript bundles"
                                      : "");
    }
    if ((rc = vat_limits(pv, lvat_json_get(vc, "creationOptions"), err)) ||
        (rc = vat_globals(pv, lvat_json_get(vc, "globals"), err)) ||
        (rc = vat_params(pv, lvat_json_get(vc, "parameters"), err)))
        return rc;
    return snapshot(pv, base_dir, spec, sources, err);
}

/* ---- Plans ---- */

static int
check_name(const char *name, lvat_errbuf *err)
{
    size_t n = strlen(name);

    if (n == 0 || n > 100)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "a vat name must have 1 to 100 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] > '~')
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "vat name \"%s\" may not contain spaces or "
                                   "control characters",
                                   name);
    return LVAT_OK;
}

static int
plan_vats(lvat_launch_plan *p,
          const lvat_json *vats,
          const char *base_dir,
          lvat_srccache *sources,
          lvat_errbuf *err)
{
    bool array = lvat_json_is_array(vats);
    int rc = LVAT_OK;

    if (vats == NULL || (!array && !lvat_json_is_object(vats)) ||
        vats->len == 0)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "\"vats\" must name at least one vat");
    p->vats = lvat_calloc(vats->len, sizeof *p->vats);
    if (p->vats == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    for (size_t i = 0; i < vats->len && rc == LVAT_OK; i++) {
        const lvat_json *vc = vats->items[i];
        const char *name =
            array ? lvat_json_get_str(vc, "name") : vats->keys[i];
        if (name == NULL)
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "vats[%zu] has no \"name\"", i + 1);
        if ((rc = check_name(name, err)) != LVAT_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->vats[j].name, name) == 0)
                return lvat_errbuf_set(err, LVAT_ECONFIG,
                                       "vat name \"%s\" is used twice", name);
        p->nvats++;
        rc = plan_vat(&p->vats[i], name, vc, base_dir, sources, err);
    }
    return rc;
}

static int
check_bootstrap(lvat_launch_plan *p, const lvat_json *cfg, lvat_errbuf *err)
{
    const char *boot = lvat_json_get_str(cfg, "bootstrap");
    lvat_buf names = LVAT_BUF_INIT;

    if (boot == NULL)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "no \"bootstrap\": name the vat that receives "
                               "bootstrap(vats, services)");
    for (size_t i = 0; i < p->nvats; i++) {
        if (strcmp(p->vats[i].name, boot) == 0) {
            p->bootstrap = i;
            lvat_buf_free(&names);
            return LVAT_OK;
        }
        lvat_buf_printf(&names, "%s%s", i ? ", " : "", p->vats[i].name);
    }
    lvat_errbuf_set(err, LVAT_ECONFIG,
                    "bootstrap \"%s\" is not one of its vats (%s)", boot,
                    names.data ? names.data : "");
    lvat_buf_free(&names);
    return LVAT_ECONFIG;
}

static int
check_services(lvat_launch_plan *p, const lvat_json *cfg, lvat_errbuf *err)
{
    const lvat_json *s = lvat_json_get(cfg, "services");

    if (s == NULL)
        return LVAT_OK;
    if (!lvat_json_is_array(s))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "\"services\" must be an array of names");
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i]->type != LVAT_JSON_STRING)
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "\"services\" must be an array of names");
    p->services = lvat_json_clone(s);
    return p->services ? LVAT_OK : LVAT_ENOMEM;
}

int
lvat__plan_from_json(const char *json,
                     size_t len,
                     const char *base_dir,
                     const char *what,
                     lvat_srccache *sources,
                     lvat_launch_plan **out,
                     lvat_errbuf *err)
{
    lvat_launch_plan *p = lvat_calloc(1, sizeof *p);
    lvat_errbuf inner;
    char why[200];
    int rc;

    lvat_errbuf_clear(&inner);
    if (p == NULL)
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    rc = lvat_json_parse(json, len, false, &p->config, why, sizeof why);
    if (rc == LVAT_ESYNTAX)
        rc = lvat_errbuf_set(&inner, LVAT_ECONFIG, "%s", why);
    else if (rc == LVAT_OK && !lvat_json_is_object(p->config))
        rc = lvat_errbuf_set(&inner, LVAT_ECONFIG,
                             "a ClusterConfig must be a JSON object");
    if (rc == LVAT_OK)
        rc = plan_vats(p, lvat_json_get(p->config, "vats"), base_dir, sources,
                       &inner);
    if (rc == LVAT_OK)
        rc = check_bootstrap(p, p->config, &inner);
    if (rc == LVAT_OK)
        rc = check_services(p, p->config, &inner);
    if (rc == LVAT_OK && (p->config_dir = lvat_strdup(base_dir)) == NULL)
        rc = LVAT_ENOMEM;
    if (rc != LVAT_OK) {
        lvat_errbuf_set(err, rc == LVAT_ENOMEM ? rc : LVAT_ECONFIG,
                        "config %s: %s", what,
                        inner.msg[0] ? inner.msg : lvat_strerror(rc));
        lvat__launch_plan_free(p);
        return rc == LVAT_ENOMEM ? rc : LVAT_ECONFIG;
    }
    *out = p;
    return LVAT_OK;
}

int
lvat__plan_from_file(const char *path, lvat_srccache *sources,
                     lvat_launch_plan **out, lvat_errbuf *err)
{
    char *text = NULL, *dir;
    size_t len;
    lvat_errbuf inner;
    int rc;

    lvat_errbuf_clear(&inner);
    if (read_file(path, &text, &len, &inner) != LVAT_OK)
        return lvat_errbuf_set(err, LVAT_ECONFIG, "%s", inner.msg);
    dir = dir_of(path);
    rc = dir ? lvat__plan_from_json(text, len, dir[0] ? dir : ".", path,
                                    sources, out, err)
             : LVAT_ENOMEM;
    lvat_free(dir);
    lvat_free(text);
    return rc;
}

void
lvat__launch_plan_free(lvat_launch_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nvats; i++) {
        lvat_plan_vat *pv = &p->vats[i];
        for (size_t j = 0; j < pv->nmods; j++) {
            lvat_free(pv->mods[j].name);
            lvat_free(pv->mods[j].path);
            lvat_free(pv->mods[j].text);
        }
        lvat_free(pv->mods);
        lvat_free(pv->name);
        lvat_free(pv->main);
        lvat_free(pv->params_body);
        lvat_json_free(pv->globals);
    }
    lvat_free(p->vats);
    lvat_json_free(p->config);
    lvat_json_free(p->services);
    lvat_free(p->config_dir);
    lvat_free(p);
}
