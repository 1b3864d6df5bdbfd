/*
 * Where the kernel's time goes (`luavat status --stats`): counters of
 * cranks, deliveries and blocks, and nanoseconds spent in whole cranks,
 * inside vat runtimes (of which the runtime reports its marshalling and
 * its syscalls), reading LMDB and committing blocks.  Kept in the store
 * ("stats", summed over every open) so a read-only status can show them.
 *
 * Clocks cost, so a busy kernel times one crank in LVAT_STATS_EVERY,
 * picked by a hash of its number so that no regular pattern of cranks is
 * missed, and counts its figures that many times.  Each open times its
 * first LVAT_STATS_ALL cranks all: a short run (a demo, a launch) is then
 * measured, not guessed from one or two samples.  Inside a timed crank,
 * syscalls, marshalling and LMDB reads are timed each for the first few,
 * then one in eight (clock.h): timed around every read, a crank of
 * 100,000 baggage reads ran 11% slower; now 1%.
 *
 * A block's commit time is known only once it has committed, so it is
 * stored with the next block: a read-only status of a store lacks its
 * last commit's.  Storing that at close was tried: one more flush (a
 * commit that may be lost, but may not damage the store, syncs its pages)
 * made a CLI send 6.3 -> 7.7 ms, for one figure.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "clock.h"

/* Stored in this order; stores from before `measured` have the first
 * ten, when every timed crank stood for itself. */
#define NFIELDS 11

static void
to_array(const lvat_kstats *s, uint64_t *a)
{
    uint64_t v[NFIELDS] = {s->cranks,     s->deliveries, s->blocks,
                           s->timed,      s->ns_crank,   s->ns_vat,
                           s->ns_syscall, s->ns_marshal, s->ns_lmdb,
                           s->ns_commit,  s->measured};

    memcpy(a, v, sizeof v);
}

static void
from_array(lvat_kstats *s, const uint64_t *a)
{
    s->cranks = a[0];
    s->deliveries = a[1];
    s->blocks = a[2];
    s->timed = a[3];
    s->ns_crank = a[4];
    s->ns_vat = a[5];
    s->ns_syscall = a[6];
    s->ns_marshal = a[7];
    s->ns_lmdb = a[8];
    s->ns_commit = a[9];
    s->measured = a[10];
}

/* This open's figures added to what the store had. */
static void
total(lvat_kernel *k, lvat_kstats *t)
{
    uint64_t a[NFIELDS], b[NFIELDS];

    k->stats.ns_lmdb = k->kv ? lvat_kv_lmdb_ns(k->kv) : 0;
    to_array(&k->stats_base, a);
    to_array(&k->stats, b);
    for (int i = 0; i < NFIELDS; i++)
        a[i] += b[i];
    from_array(t, a);
}

void
lvat__stats_load(lvat_kernel *k)
{
    uint64_t a[NFIELDS];
    lvat_val v;

    memset(&k->stats_base, 0, sizeof k->stats_base);
    if (lvat_kv_get(k->kv, LVAT_DB_KERNEL, "stats", 5, &v) != LVAT_OK)
        return;
    if (lvat_parse_u64s(v.p, v.len, a, NFIELDS) == LVAT_OK) {
        from_array(&k->stats_base, a);
    } else if (lvat_parse_u64s(v.p, v.len, a, NFIELDS - 1) == LVAT_OK) {
        a[NFIELDS - 1] = a[3];
        from_array(&k->stats_base, a);
    }
}

int
lvat__stats_save(lvat_kernel *k)
{
    char text[NFIELDS * 21];
    uint64_t a[NFIELDS];
    lvat_kstats t;
    int rc;

    if (lvat_kv_block_entries(k->kv) == 0 && !lvat__runq_changed(k) &&
        !lvat__counts_changed(k) && !lvat__clb_changed(k) &&
        !lvat__kpc_changed(k))
        return LVAT_OK; /* an idle block stays empty */
    k->stats.blocks++; /* the block this goes into (undone if it fails) */
    total(k, &t);
    to_array(&t, a);
    lvat_kv_crank_begin(k->kv);
    rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, "stats", 5, text,
                     lvat_fmt_u64s(text, a, NFIELDS), 0);
    if (rc == LVAT_OK)
        lvat_kv_crank_commit(k->kv);
    else
        lvat_kv_crank_abort(k->kv);
    return rc;
}

void
lvat__stats_crank_begin(lvat_kernel *k, lvat_stats_mark *m)
{
    uint64_t n = k->stats.cranks;

    if (n < LVAT_STATS_ALL)
        m->weight = 1;
    else if ((n * 0x9e3779b97f4a7c15ull >> 40) % LVAT_STATS_EVERY == 0)
        m->weight = LVAT_STATS_EVERY;
    else
        m->weight = 0;
    k->timing = m->weight > 0;
    /* LMDB reads count as many times over as the crank does */
    lvat_kv_set_timing(k->kv, (uint32_t)m->weight);
    if (!k->timing)
        return;
    m->vat = k->stats.ns_vat;
    m->syscall = k->stats.ns_syscall;
    m->marshal = k->stats.ns_marshal;
    m->t0 = lvat_clock_ns();
}

void
lvat__stats_crank_end(lvat_kernel *k, const lvat_stats_mark *m, bool did)
{
    lvat_kstats *s = &k->stats;

    if (did)
        s->cranks++;
    if (did && m->weight > 0) {
        uint64_t more = m->weight - 1; /* times over, for a sampled crank */

        s->timed += m->weight;
        s->measured++;
        s->ns_crank += m->weight * (lvat_clock_ns() - m->t0);
        s->ns_vat += more * (s->ns_vat - m->vat);
        s->ns_syscall += more * (s->ns_syscall - m->syscall);
        s->ns_marshal += more * (s->ns_marshal - m->marshal);
    }
    k->timing = false;
    lvat_kv_set_timing(k->kv, 0);
}

void
lvat_syscall_account(lvat_syscall *sc, uint64_t marshal_ns,
                     uint64_t syscall_ns)
{
    sc->k->stats.ns_marshal += marshal_ns;
    sc->k->stats.ns_syscall += syscall_ns;
}

/* {"total": s, "perCrankUs": us, "share": %} for one category. */
static void
put_part(lvat_buf *b, const char *name, uint64_t ns, uint64_t all,
         uint64_t cranks, bool last)
{
    lvat_buf_printf(b, "\"%s\":{\"seconds\":%.6f,\"perCrankUs\":%.3f,"
                    "\"share\":%.1f}%s",
                    name, (double)ns / 1e9,
                    cranks ? (double)ns / 1e3 / (double)cranks : 0.0,
                    all ? 100.0 * (double)ns / (double)all : 0.0,
                    last ? "" : ",");
}

int
lvat_kernel_stats_json(lvat_kernel *k, char **out)
{
    lvat_buf b = LVAT_BUF_INIT;
    lvat_kstats t;
    uint64_t lua, marshal, routing, lmdb, all;

    lvat__readonly_refresh(k);
    total(k, &t);
    /* Sampled cranks stand for about as many as ran: scale to those. */
    if (t.timed > 0) {
        double f = (double)t.cranks / (double)t.timed;
        t.ns_crank = (uint64_t)((double)t.ns_crank * f);
        t.ns_vat = (uint64_t)((double)t.ns_vat * f);
        t.ns_syscall = (uint64_t)((double)t.ns_syscall * f);
        t.ns_marshal = (uint64_t)((double)t.ns_marshal * f);
        t.ns_lmdb = (uint64_t)((double)t.ns_lmdb * f);
    }
    /* Runtime figures can only be part of the time inside the runtime. */
    marshal = t.ns_marshal < t.ns_vat ? t.ns_marshal : t.ns_vat;
    lua = t.ns_vat - marshal > t.ns_syscall ? t.ns_vat - marshal - t.ns_syscall
                                            : 0;
    lmdb = t.ns_lmdb + t.ns_commit;
    all = t.ns_crank + t.ns_commit;
    routing = all > lua + marshal + lmdb ? all - lua - marshal - lmdb : 0;
    lvat_buf_printf(&b, "{\"cranks\":%llu,\"deliveries\":%llu,\"blocks\":%llu,"
                    "\"seconds\":%.6f,\"parts\":{",
                    (unsigned long long)t.cranks,
                    (unsigned long long)t.deliveries,
                    (unsigned long long)t.blocks, (double)all / 1e9);
    put_part(&b, "lua", lua, all, t.cranks, false);
    put_part(&b, "marshal", marshal, all, t.cranks, false);
    put_part(&b, "routing", routing, all, t.cranks, false);
    put_part(&b, "lmdb", lmdb, all, t.cranks, true);
    lvat_buf_printf(&b, "},\"timedCranks\":%llu,\"lmdbReadSeconds\":%.6f,"
                    "\"commitSeconds\":%.6f}",
                    (unsigned long long)t.measured, (double)t.ns_lmdb / 1e9,
                    (double)t.ns_commit / 1e9);
    /* The caller frees with free(). */
    *out = b.oom ? NULL : malloc(b.len + 1);
    if (*out != NULL)
        memcpy(*out, b.data, b.len + 1);
    lvat_buf_free(&b);
    return *out ? LVAT_OK : lvat__fail(k, LVAT_ENOMEM, "out of memory");
}
