/*
 * A fake vat runtime written in C, for kernel tests: an lvat_vat_ops whose
 * behaviour each test scripts from C.  A *world* holds, per vat name, a
 * table of handlers keyed by method name (plus optional START and NOTIFY
 * handlers); every instance the kernel creates for a vat of that name runs
 * them.  Handlers make real syscalls through the helpers below.
 *
 * What the fake vat does by itself: on START it takes o+0 as its root and
 * allocates exports from the counters the kernel gives it; a MESSAGE has
 * its methargs ("#[\"method\",[args]]") parsed and dispatched; a method
 * without a handler is rejected with "no method <m>" (like a Lua method
 * that raised), except "bootstrap", which records the vat roots it is
 * given and returns null.  Every delivery is written to the world's log,
 * one line each:
 *   "start <name> v<N> <incarnation>"   "msg <name> <method>"
 *   "notify <name> <vpid> <f|r> <body>" (one line per resolution)
 *   "drop <name> <vref>"  "retire <name> <vref>"  "rimport <name> <vref>"
 *   "destroy <name>"
 * A handler registered for "@drop", "@retire" or "@rimport" runs after
 * the log line of those deliveries (c->d->vrefs holds the refs).
 * Per-instance memory ("kept" vrefs, export counters) dies with the
 * instance, as a Lua heap would; per-name statistics survive restarts.
 */
#ifndef LVAT_FAKE_VAT_H
#define LVAT_FAKE_VAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "kref.h"
#include "vat_iface.h"

typedef struct fv_world fv_world;
typedef struct fv_vat fv_vat;

/* One delivery as a handler sees it (all pointers borrowed). */
typedef struct fv_call {
    fv_vat *vat;
    const lvat_delivery *d;
    lvat_errbuf *err;
    /* MESSAGE */
    const char *method;
    const lvat_json *args; /* the argument array */
    lvat_vref target, result;
    const lvat_vref *slots;
    size_t nslots;
} fv_call;

/*
 * A handler returns LVAT_OK, or LVAT_EVAT / LVAT_EFAULT (see fv_fail) to
 * make the delivery fail.  A syscall's LVAT_EILLEGAL may be returned as
 * is: the fake vat then stops and reports success, as a runtime that has
 * unwound the vat's code would.
 */
typedef int (*fv_fn)(fv_call *c, void *ud);

/* Per vat name, across instances. */
typedef struct fv_stats {
    uint32_t id;          /* v<N> of the latest instance (0: never made) */
    unsigned creates;     /* instances made */
    unsigned destroys;    /* instances destroyed */
    unsigned starts;      /* START deliveries */
    uint32_t incarnation; /* of the latest START */
    unsigned messages;    /* MESSAGE deliveries */
    unsigned notifies;    /* NOTIFY deliveries */
    unsigned resolutions; /* resolutions in all NOTIFY deliveries */
    unsigned drops, retires, retire_imports;
    uint64_t first_object; /* next_export_object of the latest START */
} fv_stats;

/* ---- World ---- */

fv_world *fv_world_new(void);
void fv_world_free(fv_world *w);
/* The ops table; pass the world as the ops' ud. */
const lvat_vat_ops *fv_ops(void);

void
fv_on(fv_world *w, const char *vat, const char *method, fv_fn fn, void *ud);
void fv_on_start(fv_world *w, const char *vat, fv_fn fn, void *ud);
void fv_on_notify(fv_world *w, const char *vat, fv_fn fn, void *ud);
/* Statistics of a vat name (zeroes for a name never seen). */
const fv_stats *fv_stats_of(fv_world *w, const char *vat);
/* Number of live instances, all names together. */
unsigned fv_live(const fv_world *w);

/* ---- The log ---- */

size_t fv_log_len(const fv_world *w);
const char *fv_log_at(const fv_world *w, size_t i);
/* Index of the first line at or after `from` that starts with `prefix`,
 * or -1. */
long fv_log_find(const fv_world *w, const char *prefix, size_t from);
size_t fv_log_count(const fv_world *w, const char *prefix);
void fv_log_clear(fv_world *w);
/* Prints the log to stderr (for debugging a failing test). */
void fv_log_dump(const fv_world *w);

/* ---- Instances ---- */

const char *fv_name(const fv_vat *v);
uint32_t fv_id(const fv_vat *v);
lvat_syscall *fv_sys(const fv_vat *v);
/* A new export o+N / p+N of this instance. */
lvat_vref fv_new_object(fv_vat *v);
lvat_vref fv_new_promise(fv_vat *v);
/* Named vrefs kept in the instance's memory (lost when it is destroyed);
 * fv_kept returns the none vref for an unknown name.  The default
 * bootstrap keeps each vat root under "vats.<name>". */
void fv_keep(fv_vat *v, const char *name, lvat_vref r);
lvat_vref fv_kept(const fv_vat *v, const char *name);
bool fv_has(const fv_vat *v, const char *name);

/* ---- Arguments of a MESSAGE ---- */

size_t fv_nargs(const fv_call *c);
/* String argument i without its smallcaps '!' escape, or NULL. */
const char *fv_arg_str(const fv_call *c, size_t i);
int64_t fv_arg_int(const fv_call *c, size_t i);
/* The vref of argument i when it is "$<s>..." or "&<s>"; none otherwise. */
lvat_vref fv_arg_ref(const fv_call *c, size_t i);

/* ---- Syscalls ---- */

/* Formats into memory owned by the current delivery. */
const char *fv_fmt(fv_call *c, const char *fmt, ...) LVAT_PRINTF(2, 3);
/* Sends methargs `body` to `target`; with `result` non-NULL a new p+N is
 * the result (written there). */
int fv_send(fv_call *c,
            lvat_vref target,
            const char *body,
            const lvat_vref *slots,
            size_t nslots,
            lvat_vref *result);
int fv_resolve(fv_call *c,
               lvat_vref vpid,
               bool rejected,
               const char *body,
               const lvat_vref *slots,
               size_t nslots);
/* Resolves `vpid` with capdata as it came (a NOTIFY's, say). */
int fv_resolve_cd(fv_call *c,
                  lvat_vref vpid,
                  bool rejected,
                  const lvat_vcapdata *data);
/* Fulfils the message's result with `body` (no slots). */
int fv_return(fv_call *c, const char *body);
/* Fulfils the message's result with one object: "#\"$0.Alleged: x\"". */
int fv_return_ref(fv_call *c, lvat_vref r);
/* Rejects the message's result with an error record holding `msg`. */
int fv_raise(fv_call *c, const char *msg);
int fv_subscribe(fv_call *c, lvat_vref vpid);
/* Records `code` and the message in the delivery's error buffer and
 * returns `code` (LVAT_EVAT or LVAT_EFAULT). */
int fv_fail(fv_call *c, int code, const char *fmt, ...) LVAT_PRINTF(3, 4);

/* True when capdata's body (not NUL-terminated) is exactly `text`. */
bool fv_body_is(const lvat_vcapdata *d, const char *text);
/* Parses "o+1" etc.; fails the test on a bad spelling. */
lvat_vref fv_vref(const char *text);
/* Formats a vref into a static rotating buffer (for messages and logs). */
const char *fv_vstr(lvat_vref r);

#endif
