/*
 * A vat's code snapshot for its launch plan (config_int.h): every *.lua
 * file under the folder of its sourceSpec, read once (or taken from the
 * source cache), each made a module named by its path.
 */
#include "config_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "srccache.h"

#define MAX_FILES       256
#define MAX_TOTAL_BYTES (8u << 20)
#define MAX_DEPTH       8
/* Folders listed per vat: links (to a shared folder, or back up the
 * tree) can make the walk fork at every level, 6 links to "." listing
 * 6^8 folders, all in the kernel's thread. */
#define MAX_DIRS 1024


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
char *
lvat__dir_of(const char *path)
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
    size_t ndirs; /* folders listed so far */
    lvat_srcsnap *rec; /* what the walk read, for the cache; or NULL */
    lvat_errbuf *err;
} walker;

/* How surely `rel` is the file require finds for module `name`: 0 for
 * the name's path + ".lua", 1 for + "/init.lua" (Lua's searchers try them
 * in that order), 2 for any other ("a.b.lua" is module a.b too). */
static int
module_rank(const char *name, const char *rel)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < n; i++)
        if (rel[i] != (name[i] == '.' ? '/' : name[i]))
            return 2;
    if (strcmp(rel + n, ".lua") == 0)
        return 0;
    return strcmp(rel + n, "/init.lua") == 0 ? 1 : 2;
}

/* Files that make the same module name (lib.lua and lib/init.lua): the
 * vat keeps the one require would find (the earlier on a tie), so that
 * the sourceSpec is the main module, each module is one file and only
 * the files kept are counted as its sources.  The new module is last. */
static void
drop_shadowed(lvat_plan_vat *pv)
{
    lvat_plan_module *m = &pv->mods[pv->nmods - 1], t;

    for (size_t i = 0; i + 1 < pv->nmods; i++) {
        if (strcmp(pv->mods[i].name, m->name) != 0)
            continue;
        if (m->rank < pv->mods[i].rank) {
            t = pv->mods[i];
            pv->mods[i] = *m;
            *m = t;
        }
        lvat_free(m->name);
        lvat_free(m->path);
        lvat_free(m->text);
        pv->nmods--;
        return;
    }
}

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
        rc = lvat_read_file(abs, &m->text, &m->len, w->err);
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
    m->rank = module_rank(m->name, rel);
    drop_shadowed(pv);
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
    if (++w->ndirs > MAX_DIRS) {
        if (d != NULL)
            closedir(d);
        lvat_free(dirpath);
        return lvat_errbuf_set(w->err, LVAT_ECONFIG,
                               "vat %s: more than %d folders under %s (a "
                               "link to a folder above it?); put the vat in "
                               "a folder of its own",
                               w->pv->name, MAX_DIRS, w->root);
    }
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

/* The folder's modules: as the cache kept them (`kept`: nothing under the
 * folder changed), else walked (and kept for the next launch). */
static int
read_folder(walker *w, lvat_srccache *cache, const lvat_srcsnap *kept)
{
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

/* Whether the snapshot holds the folder's file `name` (a module). */
static bool
kept_has(const lvat_srcsnap *kept, const char *name)
{
    for (size_t i = 0; kept && i < lvat_srcsnap_count(kept); i++) {
        const char *text;
        size_t len;
        if (strcmp(lvat_srcsnap_file(kept, i, &text, &len), name) == 0)
            return true;
    }
    return false;
}

int
lvat__plan_snapshot(lvat_plan_vat *pv,
         const char *base_dir,
         const char *spec,
         lvat_srccache *cache,
         lvat_errbuf *err)
{
    char *abs = join(base_dir, spec), *root = abs ? lvat__dir_of(abs) : NULL;
    char *shown = lvat__dir_of(spec), *base = strrchr(spec, '/');
    const lvat_srcsnap *kept = root ? lvat_srccache_find(cache, root) : NULL;
    struct stat st;
    walker w = {pv, root, shown, 0, 0, NULL, err};
    int rc;

    base = base ? base + 1 : (char *)spec;
    /* A kept snapshot that holds the main file has just statted it. */
    st.st_mode = kept_has(kept, base) ? S_IFREG : 0;
    if (abs == NULL || root == NULL || shown == NULL)
        rc = lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    else if (st.st_mode == 0 && stat(abs, &st) != 0)
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: source file %s does not exist", pv->name,
                             abs);
    else if (!S_ISREG(st.st_mode))
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: sourceSpec %s is not a file (name its "
                             "main .lua file)",
                             pv->name, abs);
    else if (strlen(base) < 5 || strcmp(base + strlen(base) - 4, ".lua"))
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: sourceSpec %s is not a .lua file",
                             pv->name, spec);
    else if (base[0] == '.') /* the walk skips it: no main module */
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "vat %s: sourceSpec %s is a hidden file (files "
                             "whose names start with '.' are not read); "
                             "rename it",
                             pv->name, spec);
    else
        rc = read_folder(&w, cache, kept);
    if (rc == LVAT_OK && (pv->main = module_name(base)) == NULL)
        rc = lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    lvat_free(abs);
    lvat_free(root);
    lvat_free(shown);
    return rc;
}

