/*
 * The whole key schema of the store, as builder functions.  Every module
 * builds keys here and nowhere else.  Keys are text so `mdb_dump` and
 * `luavat inspect` read like the kernel's own notes.
 *
 * kernel database:
 *   schemaVersion                 "1"
 *   nextVatId nextSubclusterId nextObjectId nextPromiseId   decimal counters
 *   kernelOpens                   opens so far; host request ids of one open
 *                                 are (opens << 32) + n
 *   queue.run                     "<next read> <next write>" run-queue indexes
 *   queue.run.<N>                 a run-queue item (runq.c has the format)
 *   ko<N>                         "<owner> <reachable> <recognizable>"
 *   kp<N>                         promise record (kpromise.c has the format)
 *   kp<N>.v                       a settled promise's value (capdata)
 *   kp<N>.q.<N>                   a message parked on an unresolved promise
 *   v<N>.c.<kref>                 c-list: "R <vref>" or "_ <vref>"
 *   v<N>.c.<vref>                 c-list: "<kref>"
 *   v<N>.n                        "<next o-N> <next p-N> <next o+N> <next p+N>"
 *   v<N>.d.<kp>                   "" while v<N> decides kp (decider index)
 *   vat.v<N>                      vat record (JSON)
 *   sub.s<N>                      subcluster record (JSON)
 *   watch.<kp>                    the kernel waits for kp: "host <id>" or
 *                                 "launch s<N>"
 *   gc.v<N>.<kref>                pending GC action for a vat
 *   pin.<kref>                    "" from when the host is shown the kref
 *                                 until it releases it
 *   v<N>.s                        "<state> <incarnation> <opened> <faults>"
 *   startOnOpen.v<N>              "" for vats built when the kernel opens
 *   kernelOpens                   how many times the store was opened
 * vatstore database:  "v<N>" NUL <vat key>  -> value
 * sources database:   <sha256 hex>          -> Lua text
 */
#ifndef LVAT_STORE_KEYS_H
#define LVAT_STORE_KEYS_H

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "kref.h"

#define LVAT_KEY_MAX 511

typedef struct lvat_key {
    char b[LVAT_KEY_MAX + 1];
    size_t n;
} lvat_key;

static inline void
lvat_key_lit(lvat_key *k, const char *s)
{
    k->n = strlen(s);
    memcpy(k->b, s, k->n + 1);
}

static inline void
lvat_key_add(lvat_key *k, const char *s, size_t len)
{
    /* Callers keep keys short (vatstore keys are checked first); an
     * overlong key becomes the empty key, which the store refuses. */
    if (len > LVAT_KEY_MAX - k->n) {
        k->n = 0;
        k->b[0] = '\0';
        return;
    }
    if (len)
        memcpy(k->b + k->n, s, len);
    k->n += len;
    k->b[k->n] = '\0';
}

static inline void
lvat_key_add_str(lvat_key *k, const char *s)
{
    lvat_key_add(k, s, strlen(s));
}

static inline void
lvat_key_add_u64(lvat_key *k, uint64_t v)
{
    char tmp[21];
    lvat_key_add(k, tmp, lvat_fmt_u64(tmp, v));
}

static inline void
lvat_key_add_kref(lvat_key *k, lvat_kref r)
{
    char tmp[LVAT_REF_BUFSIZE];
    lvat_key_add(k, tmp, lvat_kref_format(r, tmp));
}

static inline void
lvat_key_add_vref(lvat_key *k, lvat_vref r)
{
    char tmp[LVAT_REF_BUFSIZE];
    lvat_key_add(k, tmp, lvat_vref_format(r, tmp));
}

static inline void
lvat_key_add_vat(lvat_key *k, uint32_t vat)
{
    char tmp[LVAT_REF_BUFSIZE];
    lvat_key_add(k, tmp, lvat_vatid_format(vat, tmp));
}

/* ko<N> or kp<N> */
static inline void
lvat_key_kref(lvat_key *k, lvat_kref r)
{
    k->n = 0;
    lvat_key_add_kref(k, r);
}

/* kp<N>.v */
static inline void
lvat_key_kp_value(lvat_key *k, lvat_kref kp)
{
    lvat_key_kref(k, kp);
    lvat_key_add(k, ".v", 2);
}

/* kp<N>.q.<i> */
static inline void
lvat_key_kp_queue(lvat_key *k, lvat_kref kp, uint64_t i)
{
    lvat_key_kref(k, kp);
    lvat_key_add(k, ".q.", 3);
    lvat_key_add_u64(k, i);
}

/* queue.run.<i> */
static inline void
lvat_key_runq_item(lvat_key *k, uint64_t i)
{
    lvat_key_lit(k, "queue.run.");
    lvat_key_add_u64(k, i);
}

/* v<N>. (every kernel key of one vat) */
static inline void
lvat_key_vat_prefix(lvat_key *k, uint32_t vat)
{
    k->n = 0;
    lvat_key_add_vat(k, vat);
    lvat_key_add(k, ".", 1);
}

/* v<N>.c.<kref> */
static inline void
lvat_key_clist_k(lvat_key *k, uint32_t vat, lvat_kref r)
{
    lvat_key_vat_prefix(k, vat);
    lvat_key_add(k, "c.", 2);
    lvat_key_add_kref(k, r);
}

/* v<N>.c.<vref> */
static inline void
lvat_key_clist_v(lvat_key *k, uint32_t vat, lvat_vref r)
{
    lvat_key_vat_prefix(k, vat);
    lvat_key_add(k, "c.", 2);
    lvat_key_add_vref(k, r);
}

/* v<N>.n */
static inline void
lvat_key_vat_counters(lvat_key *k, uint32_t vat)
{
    lvat_key_vat_prefix(k, vat);
    lvat_key_add(k, "n", 1);
}

/* v<N>.d.<kp>; with kp none, the prefix "v<N>.d." */
static inline void
lvat_key_vat_decider(lvat_key *k, uint32_t vat, lvat_kref kp)
{
    lvat_key_vat_prefix(k, vat);
    lvat_key_add(k, "d.", 2);
    if (!lvat_kref_is_none(kp))
        lvat_key_add_kref(k, kp);
}

/* vat.v<N> */
static inline void
lvat_key_vat_record(lvat_key *k, uint32_t vat)
{
    lvat_key_lit(k, "vat.");
    lvat_key_add_vat(k, vat);
}

/* sub.s<N> */
static inline void
lvat_key_sub(lvat_key *k, uint32_t sub)
{
    lvat_key_lit(k, "sub.s");
    lvat_key_add_u64(k, sub);
}

/* watch.<kp> */
static inline void
lvat_key_watch(lvat_key *k, lvat_kref kp)
{
    lvat_key_lit(k, "watch.");
    lvat_key_add_kref(k, kp);
}

/* startOnOpen.v<N>: the vat starts when the kernel opens */
static inline void
lvat_key_start_on_open(lvat_key *k, uint32_t vat)
{
    lvat_key_lit(k, "startOnOpen.");
    lvat_key_add_vat(k, vat);
}

/* gc.v<N>. and gc.v<N>.<kref> */
static inline void
lvat_key_gc(lvat_key *k, uint32_t vat, lvat_kref r)
{
    lvat_key_lit(k, "gc.");
    lvat_key_add_vat(k, vat);
    lvat_key_add(k, ".", 1);
    if (!lvat_kref_is_none(r))
        lvat_key_add_kref(k, r);
}

/* vatstore: v<N> NUL <key> (key up to 402 bytes, so it always fits) */
static inline void
lvat_key_vatstore(lvat_key *k, uint32_t vat, const char *key, size_t klen)
{
    k->n = 0;
    lvat_key_add_vat(k, vat);
    lvat_key_add(k, "", 1);
    lvat_key_add(k, key, klen);
}

#endif
