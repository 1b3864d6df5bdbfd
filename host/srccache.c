/*
 * Folder snapshots kept between launches (see srccache.h): a list, most
 * recently found first, evicted from the end when over its byte budget.
 */
#include "srccache.h"

#include <stdbool.h>
#include <string.h>

#include "alloc.h"

#define MAX_SNAPSHOTS 64

typedef struct stamp {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    mode_t type; /* S_IFMT bits */
    int64_t mtime_ns, ctime_ns;
} stamp;

typedef struct file {
    char *rel;
    char *text;
    size_t len;
} file;

struct lvat_srcsnap {
    struct lvat_srcsnap *next;
    char *root;
    stamp *stamps;
    size_t nstamps, capstamps;
    file *files;
    size_t nfiles, capfiles;
    size_t bytes; /* what its stamps and files hold, roughly */
    bool failed;  /* out of memory, or refused: never kept */
};

struct lvat_srccache {
    lvat_srcsnap *head;
    size_t n, bytes, max_bytes;
    uint64_t racy_ns;
};

static int64_t
ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void
fill_stamp(stamp *s, const struct stat *st)
{
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->type = st->st_mode & S_IFMT;
    s->mtime_ns = ns_of(st->st_mtim);
    s->ctime_ns = ns_of(st->st_ctim);
}

/* ---- Snapshots ---- */

lvat_srcsnap *
lvat_srcsnap_new(const char *root)
{
    lvat_srcsnap *s = lvat_calloc(1, sizeof *s);

    if (s != NULL && (s->root = lvat_strdup(root)) == NULL) {
        lvat_free(s);
        return NULL;
    }
    return s;
}

void
lvat_srcsnap_free(lvat_srcsnap *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nstamps; i++)
        lvat_free(s->stamps[i].path);
    for (size_t i = 0; i < s->nfiles; i++) {
        lvat_free(s->files[i].rel);
        lvat_free(s->files[i].text);
    }
    lvat_free(s->stamps);
    lvat_free(s->files);
    lvat_free(s->root);
    lvat_free(s);
}

void
lvat_srcsnap_refuse(lvat_srcsnap *s)
{
    if (s != NULL)
        s->failed = true;
}

void
lvat_srcsnap_stamp(lvat_srcsnap *s, const char *path, const struct stat *st)
{
    stamp *t;

    if (s == NULL)
        return;
    if (s->failed || !lvat_reserve(&s->stamps, s->nstamps, &s->capstamps,
                                   sizeof *s->stamps, 4)) {
        s->failed = true;
        return;
    }
    t = &s->stamps[s->nstamps];
    if ((t->path = lvat_strdup(path)) == NULL) {
        s->failed = true;
        return;
    }
    fill_stamp(t, st);
    s->nstamps++;
    s->bytes += sizeof *t + strlen(path);
}

void
lvat_srcsnap_add(lvat_srcsnap *s, const char *rel, const char *text,
                 size_t len)
{
    file *f;

    if (s == NULL)
        return;
    if (s->failed || !lvat_reserve(&s->files, s->nfiles, &s->capfiles,
                                   sizeof *s->files, 4)) {
        s->failed = true;
        return;
    }
    f = &s->files[s->nfiles];
    f->rel = lvat_strdup(rel);
    f->text = lvat_memdup(text, len);
    f->len = len;
    if (f->rel == NULL || f->text == NULL) {
        lvat_free(f->rel);
        lvat_free(f->text);
        s->failed = true;
        return;
    }
    s->nfiles++;
    s->bytes += sizeof *f + strlen(rel) + len;
}

size_t
lvat_srcsnap_count(const lvat_srcsnap *s)
{
    return s->nfiles;
}

const char *
lvat_srcsnap_file(const lvat_srcsnap *s, size_t i, const char **text,
                  size_t *len)
{
    *text = s->files[i].text;
    *len = s->files[i].len;
    return s->files[i].rel;
}

/* Whether every stamped path stats as it did. */
static bool
current(const lvat_srcsnap *s)
{
    for (size_t i = 0; i < s->nstamps; i++) {
        struct stat st;
        stamp now;
        const stamp *was = &s->stamps[i];
        if (stat(was->path, &st) != 0)
            return false;
        fill_stamp(&now, &st);
        if (now.dev != was->dev || now.ino != was->ino ||
            now.size != was->size || now.type != was->type ||
            now.mtime_ns != was->mtime_ns || now.ctime_ns != was->ctime_ns)
            return false;
    }
    return true;
}

/* Changed too close to the walk for its stamps to tell a later edit. */
static bool
racy(const lvat_srcsnap *s, uint64_t started_ns, uint64_t racy_ns)
{
    int64_t limit = (int64_t)started_ns - (int64_t)racy_ns;

    for (size_t i = 0; i < s->nstamps; i++)
        if (s->stamps[i].mtime_ns >= limit || s->stamps[i].ctime_ns >= limit)
            return true;
    return false;
}

/* ---- The cache ---- */

lvat_srccache *
lvat_srccache_new(size_t max_bytes, uint64_t racy_ns)
{
    lvat_srccache *c = lvat_calloc(1, sizeof *c);

    if (c != NULL) {
        c->max_bytes = max_bytes;
        c->racy_ns = racy_ns;
    }
    return c;
}

void
lvat_srccache_free(lvat_srccache *c)
{
    if (c == NULL)
        return;
    while (c->head != NULL) {
        lvat_srcsnap *s = c->head;
        c->head = s->next;
        lvat_srcsnap_free(s);
    }
    lvat_free(c);
}

/* Unlinks *at and frees it. */
static void
drop(lvat_srccache *c, lvat_srcsnap **at)
{
    lvat_srcsnap *s = *at;

    *at = s->next;
    c->n--;
    c->bytes -= s->bytes;
    lvat_srcsnap_free(s);
}

const lvat_srcsnap *
lvat_srccache_find(lvat_srccache *c, const char *root)
{
    lvat_srcsnap **at;

    if (c == NULL)
        return NULL;
    for (at = &c->head; *at != NULL; at = &(*at)->next)
        if (strcmp((*at)->root, root) == 0)
            break;
    if (*at == NULL)
        return NULL;
    if (!current(*at)) {
        drop(c, at);
        return NULL;
    }
    if (at != &c->head) { /* most recently found first */
        lvat_srcsnap *s = *at;
        *at = s->next;
        s->next = c->head;
        c->head = s;
    }
    return c->head;
}

void
lvat_srccache_keep(lvat_srccache *c, lvat_srcsnap *s,
                   uint64_t walk_started_ns)
{
    lvat_srcsnap **at;

    if (c == NULL || s->failed || s->bytes > c->max_bytes ||
        racy(s, walk_started_ns, c->racy_ns)) {
        lvat_srcsnap_free(s);
        return;
    }
    for (at = &c->head; *at != NULL;)
        if (strcmp((*at)->root, s->root) == 0)
            drop(c, at);
        else
            at = &(*at)->next;
    while (c->head != NULL &&
           (c->n == MAX_SNAPSHOTS || c->bytes + s->bytes > c->max_bytes)) {
        for (at = &c->head; (*at)->next != NULL; at = &(*at)->next)
            ;
        drop(c, at); /* the least recently found */
    }
    s->next = c->head;
    c->head = s;
    c->n++;
    c->bytes += s->bytes;
}
