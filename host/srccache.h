/*
 * Vat sources kept between launches (config.c).  A vat's code is every
 * Lua file under its sourceSpec's folder, read at each launch; launching
 * many vats from one folder listed and read the same files over and over,
 * a dozen system calls for a one-file vat (a fifth of its launch).
 *
 * So a folder's files are kept with the stat of the folder, of each
 * subfolder and of each file, and served again while every one of those
 * paths stats the same: an edit, a replacement, an addition, a removal or
 * a rename changes an inode, a size, or a modification or change time.
 * File systems stamp times in ticks of their own clock, and a second
 * edit within the tick of the first could leave every stamp as it was;
 * so a snapshot in which anything changed less than `racy_ns` before it
 * was read is not kept (git's "racily clean" rule).
 */
#ifndef LVAT_SRCCACHE_H
#define LVAT_SRCCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct lvat_srccache lvat_srccache;
typedef struct lvat_srcsnap lvat_srcsnap;

/* A cache keeping snapshots of up to max_bytes in all (texts, paths and
 * stamps); NULL when out of memory. */
lvat_srccache *lvat_srccache_new(size_t max_bytes, uint64_t racy_ns);
/* NULL is a no-op. */
void lvat_srccache_free(lvat_srccache *c);

/*
 * The kept snapshot of the folder `root` (the path it was walked from, as
 * given: a relative one stats the same only from the same folder) when
 * every path it stamped still stats the same; NULL
 * otherwise, and a stale one is dropped.  Valid until the next call on
 * `c`.  NULL `c` finds nothing.
 */
const lvat_srcsnap *lvat_srccache_find(lvat_srccache *c, const char *root);

/* A snapshot's files, in the order they were added. */
size_t lvat_srcsnap_count(const lvat_srcsnap *s);
/* The i-th file's path under the folder; its text in *text, *len. */
const char *lvat_srcsnap_file(const lvat_srcsnap *s, size_t i,
                              const char **text, size_t *len);

/* ---- Recording a walk (a NULL snapshot records nothing) ---- */

/* An empty snapshot of `root`; NULL when out of memory. */
lvat_srcsnap *lvat_srcsnap_new(const char *root);
/* Stamps a folder or a file (its path, as stat(2) gave it). */
void lvat_srcsnap_stamp(lvat_srcsnap *s, const char *path,
                        const struct stat *st);
/* Marks `s` as not to be kept: something in the folder has no stamp that
 * would show a change (a dangling link may come to name anything). */
void lvat_srcsnap_refuse(lvat_srcsnap *s);
/* Adds a file's text (copied) under its path in the folder. */
void lvat_srcsnap_add(lvat_srcsnap *s, const char *rel, const char *text,
                      size_t len);
/*
 * Keeps `s` for later finds, replacing any snapshot of its folder, unless
 * a stamp or an add failed (out of memory), it is larger than the cache,
 * or it is racy: something in it changed less than racy_ns before
 * `walk_started_ns` (CLOCK_REALTIME, taken before the first stamp).
 * Takes `s` in any case.  NULL `c` frees it.
 */
void lvat_srccache_keep(lvat_srccache *c, lvat_srcsnap *s,
                        uint64_t walk_started_ns);
/* NULL is a no-op. */
void lvat_srcsnap_free(lvat_srcsnap *s);

#endif
