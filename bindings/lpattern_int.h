/*
 * The pattern matcher shared by lpattern.c (the matcher itself: items,
 * sets, captures, the step counter that lets a kill stop it) and
 * lpattern_lib.c (string.find, match, gmatch and gsub on top of it).
 * Internal to bindings/.
 */
#ifndef LVAT_LPATTERN_INT_H
#define LVAT_LPATTERN_INT_H

#include <stddef.h>

#include <lua.h>

#include "lbind.h"

#define LVAT_PAT_ESC         '%'
#define LVAT_PAT_MAXCAPTURES 32 /* LUA_MAXCAPTURES */
/* The length of a capture that is still open, or of a position capture. */
#define LVAT_PAT_CAP_OPEN     (-1)
#define LVAT_PAT_CAP_POSITION (-2)

typedef struct lvat_capture {
    const char *at;
    ptrdiff_t len; /* or LVAT_PAT_CAP_OPEN, LVAT_PAT_CAP_POSITION */
} lvat_capture;

/* One search of one pattern in one subject.  Borrows both strings, which
 * must be Lua strings (each is read up to its terminating NUL) and stay
 * alive as long as the matcher. */
typedef struct lvat_matcher {
    lua_State *L;              /* where errors are raised */
    lvat_lvat *vat;            /* NULL outside a vat: never stopped */
    const char *src, *src_end; /* the subject; *src_end is its NUL */
    const char *pat_end;       /* *pat_end is the pattern's NUL */
    int depth;                 /* nested match calls still allowed */
    int ncap;                  /* captures of the last match */
    long budget;               /* steps until the next look at the kill */
    lvat_capture cap[LVAT_PAT_MAXCAPTURES];
} lvat_matcher;

/* Prepares a search of pattern p[0..lp) in subject s[0..ls); reads the
 * vat from L's extra space (which may hold NULL). */
void lvat__pattern_init(lvat_matcher *m,
                        lua_State *L,
                        const char *s,
                        size_t ls,
                        const char *p,
                        size_t lp);
/*
 * Matches the pattern from p (inside the one given to init, after any
 * anchor) at subject position s: returns the end of the match, or NULL,
 * with m->ncap and m->cap describing the captures.  Raises Lua's errors
 * for malformed patterns and the kill's message when the vat is stopped.
 */
const char *lvat__pattern_match(lvat_matcher *m, const char *s, const char *p);
/* Counts `steps` units of work done outside the matcher; raises the
 * kill's message when the vat is stopped. */
void lvat__pattern_charge(lvat_matcher *m, long steps);

#endif
