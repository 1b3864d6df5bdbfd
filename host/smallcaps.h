/*
 * Endo "smallcaps" bodies as the kernel and the CLI need them: making the
 * kernel's own error records, turning plain JSON (CLI arguments) into a
 * body plus slots, recognising error records, and rendering a body for
 * people ("a string as its text, <ko7 Counter> for a presence").  The
 * kernel routes bodies without parsing them; only these helpers look in.
 *
 * A body is '#' followed by JSON.  Strings starting with one of the
 * characters ! " # $ % & ' ( ) * + , - are escaped with a leading '!';
 * "$<i>.<iface>" is a remotable in slot i, "&<i>" a promise in slot i,
 * "+N"/"-N" a bigint, "#NaN" "#Infinity" "#-Infinity" "#undefined"
 * constants; {"#error": msg, "name": n} an error; {"#tag": t, "payload": p}
 * a tagged value.  Record keys are sorted and escaped like strings.
 */
#ifndef LVAT_SMALLCAPS_H
#define LVAT_SMALLCAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "json.h"
#include "kref.h"

/* True when `s` needs the '!' escape in smallcaps. */
static inline bool
lvat_sc_starts_special(const char *s, size_t len)
{
    return len > 0 && (unsigned char)s[0] >= '!' && (unsigned char)s[0] <= '-';
}

/* Appends a smallcaps string (escape plus JSON quoting) to `b`. */
int lvat_sc_put_string(lvat_buf *b, const char *s, size_t len);

/*
 * Appends a complete body "#{"#error":<msg>,"name":"Error"}" to `b`.
 * Used for every kernel-made rejection ("[KERNEL:VAT_FAULT] ...").
 */
int lvat_sc_error_body(lvat_buf *b, const char *msg, size_t len);

/*
 * If `body` is an error record, appends its message to `msg` and returns
 * LVAT_OK; otherwise returns LVAT_ENOTFOUND and leaves `msg` alone.
 */
int lvat_sc_error_message(const char *body, size_t len, lvat_buf *msg);

/*
 * Converts plain JSON (as a user writes it on the command line) into a
 * smallcaps body.  {"@kref": "ko7"} (optionally with "@iface": "Name")
 * becomes a slot; every new kref is appended to `slots` (an array the
 * caller owns, grown with lvat_realloc; *nslots updated).  Integers stay
 * integers, other numbers are doubles.  Returns LVAT_OK, LVAT_EINVAL (with
 * a message in `err`) or LVAT_ENOMEM.
 */
int lvat_sc_from_json(const lvat_json *v, lvat_buf *body, lvat_kref **slots,
                      size_t *nslots, char *err, size_t errlen);
/* The same for plain data that holds no references: every string and key
 * is text, "@" forms included (names others chose may start with "@"). */
int lvat_sc_from_data(const lvat_json *v, lvat_buf *body, char *err,
                      size_t errlen);

/*
 * Converts a body to plain JSON: slots become {"@kref": "ko7", "@iface":
 * "Counter"} ("@iface" only for remotables with an interface), promises
 * {"@kref": "kp3"}, bigints {"@bigint": "123"}, errors {"@error": msg},
 * NaN/Infinity/undefined {"@special": "NaN"}.  On LVAT_ESYNTAX `err` says
 * why.  The caller frees *out with lvat_json_free.
 */
int lvat_sc_to_json(const char *body, size_t len, const lvat_kref *slots,
                    size_t nslots, lvat_json **out, char *err, size_t errlen);

/* Reports a promise's state for rendering: "pending", "fulfilled", ... */
typedef const char *(*lvat_sc_promise_state_fn)(void *ud, lvat_kref kp);

/*
 * Renders `body` for a person: a top-level string is its bare text;
 * everything else reads like JSON with ", " and ": " separators, presences
 * as <ko7 Counter> (or <ko7> without an interface), promises as
 * <kp3 pending> (the state from `state_fn`, or just <kp3> when NULL),
 * bigints as 12n, NaN / Infinity / -Infinity / undefined bare, errors as
 * Error("message"), tagged values as Tagged("tag", payload).  Returns
 * LVAT_OK, LVAT_ESYNTAX (malformed body or bad slot index; `b` then holds a
 * partial rendering) or LVAT_ENOMEM.
 */
int lvat_sc_render(lvat_buf *b, const char *body, size_t len,
                   const lvat_kref *slots, size_t nslots,
                   lvat_sc_promise_state_fn state_fn, void *ud);

#endif
