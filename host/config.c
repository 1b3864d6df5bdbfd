/*
 * ClusterConfig reading: checks a config (design §9), reads each vat's
 * code snapshot (config_snapshot.c) and prepares a launch plan, all before any crank runs, so a bad config fails
 * at once and changes nothing.  Errors name the config file, the vat and
 * the path involved.
 */
#include "config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "smallcaps.h"

/* ---- Keys ---- */

/* ECONFIG naming the first key of object `obj` not in `known` (a typo
 * like "timelimitMs" would otherwise be ignored, and its limit with it),
 * else LVAT_OK.  `where`, a format, says whose keys they are: it is
 * formatted only for the error (each launch checks its vats' keys). */
static int LVAT_PRINTF(4, 5)
check_keys(const lvat_json *obj, const char *const *known, lvat_errbuf *err,
           const char *where, ...)
{
    lvat_buf names = LVAT_BUF_INIT;
    char place[160];
    va_list ap;

    for (size_t i = 0; obj && i < obj->len; i++) {
        size_t k = 0;
        while (known[k] && (strlen(known[k]) != obj->keylens[i] ||
                            memcmp(known[k], obj->keys[i], obj->keylens[i])))
            k++;
        if (known[k] != NULL)
            continue;
        for (k = 0; known[k]; k++)
            lvat_buf_printf(&names, "%s%s", k ? ", " : "", known[k]);
        va_start(ap, where);
        vsnprintf(place, sizeof place, where, ap);
        va_end(ap);
        lvat_errbuf_set(err, LVAT_ECONFIG, "%s: unknown key \"%.40s\" "
                        "(known: %s)", place, obj->keys[i],
                        names.data ? names.data : "");
        lvat_buf_free(&names);
        return LVAT_ECONFIG;
    }
    return LVAT_OK;
}

/* ---- Vat entries ---- */

static int
vat_limits(lvat_plan_vat *pv, const lvat_json *opts, lvat_errbuf *err)
{
    const lvat_json *mem = lvat_json_get(opts, "memoryLimit");
    const lvat_json *time = lvat_json_get(opts, "timeLimitMs");
    const lvat_json *soo = lvat_json_get(opts, "startOnOpen");
    const lvat_json *seed = lvat_json_get(opts, "randomSeed");

    static const char *const known[] = {"memoryLimit", "timeLimitMs",
                                        "startOnOpen", "randomSeed", NULL};
    if (opts && !lvat_json_is_object(opts))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions must be an object",
                               pv->name);
    if (check_keys(opts, known, err, "vat %s: creationOptions", pv->name) !=
        LVAT_OK)
        return LVAT_ECONFIG;
    if (soo && soo->type != LVAT_JSON_TRUE && soo->type != LVAT_JSON_FALSE)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions.startOnOpen must be "
                               "true or false",
                               pv->name);
    if ((mem && (mem->type != LVAT_JSON_INT || mem->i <= 0)) ||
        (time && (time->type != LVAT_JSON_INT || time->i <= 0)))
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions.memoryLimit and "
                               "timeLimitMs must be positive integers",
                               pv->name);
    /* Kept as 32 bits: a larger value would wrap to a tiny budget. */
    if (time && time->i > (int64_t)UINT32_MAX)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat %s: creationOptions.timeLimitMs %lld is "
                               "more than %lu (about 49 days)",
                               pv->name, (long long)time->i,
                               (unsigned long)UINT32_MAX);
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
    static const char *const known[] = {"sourceSpec", "creationOptions",
                                        "globals", "parameters", "name",
                                        NULL};
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
    if ((rc = check_keys(vc, known, err, "vat %s", name)) ||
        (rc = vat_limits(pv, lvat_json_get(vc, "creationOptions"), err)) ||
        (rc = vat_globals(pv, lvat_json_get(vc, "globals"), err)) ||
        (rc = vat_params(pv, lvat_json_get(vc, "parameters"), err)))
        return rc;
    return lvat__plan_snapshot(pv, base_dir, spec, sources, err);
}

/* ---- Plans ---- */

static int
check_name(const char *name, size_t n, lvat_errbuf *err)
{
    /* n is the name's JSON length: a \u0000 would otherwise cut it short
     * into another, shorter name. */
    if (strlen(name) != n)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat name \"%s\\u0000...\" holds a \\u0000",
                               name);
    /* Which name: a config may list many vats. */
    if (n == 0)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "a vat name is empty: give it 1 to 100 "
                               "characters");
    if (n > 100)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "vat name \"%.40s...\" has %zu characters: "
                               "shorten it to 100 at most",
                               name, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] > '~')
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "vat name \"%s\" may hold only printable "
                                   "ASCII characters, no spaces",
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
        size_t len = !array ? vats->keylens[i]
                     : name ? lvat_json_get(vc, "name")->len
                            : 0;
        if (name == NULL)
            return lvat_errbuf_set(err, LVAT_ECONFIG,
                                   "vats[%zu] has no \"name\"", i + 1);
        if ((rc = check_name(name, len, err)) != LVAT_OK)
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

    /* No vat name holds a NUL (check_name): "a\u0000b" is not "a". */
    if (boot != NULL && strlen(boot) != lvat_json_get(cfg, "bootstrap")->len)
        return lvat_errbuf_set(err, LVAT_ECONFIG,
                               "\"bootstrap\" holds a \\u0000");
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

/* Whether item i of an array of strings is named before i. */
static bool
named_before(const lvat_json *names, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(names->items[j]->str, names->items[i]->str) == 0)
            return true;
    return false;
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
    /* Each name once: a kernelFacet named twice is still one object. */
    p->services = lvat_json_new(LVAT_JSON_ARRAY_BEGIN);
    for (size_t i = 0; i < s->len && p->services; i++)
        if (!named_before(s, i) &&
            lvat_json_append(p->services, lvat_json_clone(s->items[i])) !=
                LVAT_OK)
            return LVAT_ENOMEM;
    return p->services ? LVAT_OK : LVAT_ENOMEM;
}

static const char *const top_keys[] = {"bootstrap", "vats", "services",
                                       NULL};

static int
plan_parse(const char *json,
           size_t len,
           bool raw_bytes,
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
    rc = lvat_json_parse(json, len, raw_bytes, &p->config, why, sizeof why);
    if (rc == LVAT_ESYNTAX)
        rc = lvat_errbuf_set(&inner, LVAT_ECONFIG, "%s", why);
    else if (rc == LVAT_OK && !lvat_json_is_object(p->config))
        rc = lvat_errbuf_set(&inner, LVAT_ECONFIG,
                             "a ClusterConfig must be a JSON object");
    if (rc == LVAT_OK)
        rc = check_keys(p->config, top_keys, &inner, "the config");
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
lvat__plan_from_json(const char *json,
                     size_t len,
                     const char *base_dir,
                     const char *what,
                     lvat_srccache *sources,
                     lvat_launch_plan **out,
                     lvat_errbuf *err)
{
    return plan_parse(json, len, false, base_dir, what, sources, out, err);
}

int
lvat__plan_from_stored(const char *json,
                       size_t len,
                       const char *base_dir,
                       const char *what,
                       lvat_srccache *sources,
                       lvat_launch_plan **out,
                       lvat_errbuf *err)
{
    return plan_parse(json, len, true, base_dir, what, sources, out, err);
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
    if (lvat_read_file(path, &text, &len, &inner) != LVAT_OK)
        return lvat_errbuf_set(err, LVAT_ECONFIG, "%s", inner.msg);
    dir = lvat__dir_of(path);
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
