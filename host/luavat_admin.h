/*
 * luavat public API, part two: host services (design §5), vat
 * administration and inspection.  Included by luavat.h.
 */
#ifndef LUAVAT_ADMIN_H
#define LUAVAT_ADMIN_H

#include <stddef.h>

#include "luavat.h"

/* ---- Kernel services ---- */

/*
 * A host service is an object the kernel owns and the host implements in
 * C: vats that were given it (a config's "services", or a kernel facet's
 * getPresence) call it with E(service):method(...).  Each call reaches the
 * host as an lvat_call; the host answers it exactly once, during the
 * callback or later, with lvat_call_return (plain JSON, where
 * {"@kref": "ko7"} passes a reference) or lvat_call_reject.  A call whose
 * answer never comes before the kernel closes is rejected at the next
 * open.  The call object stays valid until it is answered, and no longer
 * than the kernel: lvat_kernel_close frees the unanswered ones, and a
 * pure service's call (LVAT_SERVICE_PURE) is freed when its callback
 * returns.
 */
typedef struct lvat_call lvat_call;
typedef void (*lvat_service_fn)(void *ud, lvat_call *call);

/* Only system subclusters may be given the service. */
#define LVAT_SERVICE_SYSTEM_ONLY 1u
/* The service has no side effects outside the kernel: it is called inside
 * the crank (and must answer before returning) instead of after its block
 * commits.  Use it for clocks and lookups, never for I/O. */
#define LVAT_SERVICE_PURE 2u

/*
 * Registers service `name` (its kernel object is made once and keeps its
 * kref across restarts).  Register before running the kernel, on every
 * open: messages to a service nobody registered are rejected.
 * LVAT_EEXISTS for a name registered twice, LVAT_EINVAL for a bad name.
 */
int lvat_kernel_register_service(lvat_kernel *k, const char *name,
                                 lvat_service_fn fn, void *ud,
                                 unsigned flags);

/* The method name, and the arguments as JSON array text (borrowed). */
const char *lvat_call_method(const lvat_call *call);
const char *lvat_call_args(const lvat_call *call);
/* Fulfils the caller's promise with `json` (NULL = null).  LVAT_EINVAL for
 * malformed JSON, LVAT_ESTATE when already answered. */
int lvat_call_return(lvat_call *call, const char *json);
/* Rejects the caller's promise with an error carrying `message`. */
int lvat_call_reject(lvat_call *call, const char *message);

/* ---- Vats ---- */

/*
 * Restarts vat `vat` ("v3"): its current incarnation ends (promises it
 * decided are rejected, its ephemeral objects orphaned) and it is built
 * again from its baggage at its next delivery.  This also revives a
 * suspended vat.  Queued like a message: it happens when the kernel next
 * runs.  LVAT_EINVAL for a malformed id, LVAT_ENOTFOUND for an unknown
 * vat.
 */
int lvat_kernel_restart_vat(lvat_kernel *k, const char *vat);

/*
 * Relaunches subcluster `sub` ("s3") from its stored config, reading its
 * sources again: the old vats are terminated (their promises rejected,
 * baggage deleted) and new ones with new ids get a fresh bootstrap.  A
 * system subcluster keeps its name.  The old vats are terminated only
 * once the new ones have started, just before the new bootstrap.  Queued
 * like a launch; `cb` hears STARTED and DONE for the new subcluster, or
 * FAILED: nothing changed when the config could not be loaded (a source
 * file gone, a service no longer registered) or a new vat could not start
 * (a syntax error, a module not found, buildRootObject throwing); a
 * bootstrap rejected after that ends the new subcluster, the old one being
 * gone already.
 * LVAT_EINVAL for a malformed id, LVAT_ENOTFOUND for an unknown one.
 */
int lvat_kernel_reload_subcluster(lvat_kernel *k, const char *sub,
                                  lvat_launch_cb cb, void *ud);

/*
 * The root kref ("ko4") of system subcluster `name` into `out` (`len`
 * bytes; 32 always fit).  LVAT_ENOTFOUND when there is
 * none (yet: a new one is launched by the first run); LVAT_EINVAL for a
 * NULL name or buffer, or a buffer too small.
 */
int lvat_kernel_system_root(lvat_kernel *k, const char *name, char *out,
                            size_t len);

/* ---- Inspection (work on a read-only kernel too) ---- */

/*
 * The kernel's state as JSON text (owned; free()): {"subclusters": [...
 * records: id, bootstrap, root, state, vats {name: id}, order],
 * "vats": [{id, name, subcluster, state}], "objects": N, "promises": N,
 * "queue": N}.
 */
int lvat_kernel_status_json(lvat_kernel *k, char **out);

/*
 * Where the kernel's time went, summed over every open of the store, as
 * JSON text (owned; free()): {"cranks", "deliveries", "blocks",
 * "seconds", "parts": {"lua", "marshal", "routing", "lmdb"}}, each part
 * {"seconds", "perCrankUs", "share" (percent)}; "lmdbReadSeconds" and
 * "commitSeconds" split "lmdb".  "lua" is time inside vat
 * runtimes less their marshalling and syscalls; "routing" is the rest of
 * the kernel's own work; "lmdb" is reading the store and committing
 * blocks.
 */
int lvat_kernel_stats_json(lvat_kernel *k, char **out);

/*
 * One kref as JSON text (owned; free()): an object's owner and counts, a
 * promise's state, decider, subscribers, references, parked messages and
 * value; for both, the c-list entries of every vat that holds it.
 * LVAT_EINVAL for a malformed kref, LVAT_ENOTFOUND for an unknown one.
 */
int lvat_kernel_inspect_json(lvat_kernel *k, const char *kref, char **out);

#endif
