/*
 * The kernel's lifecycle and public entry points (luavat.h): opening and
 * closing, queueing host requests, running cranks in blocks, and the small
 * shared helpers (errors, log, counters) every kernel module uses.
 */
#include "kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "json.h"
#include "smallcaps.h"

#define DEFAULT_BLOCK_CRANKS 1000000
#define DEFAULT_BLOCK_MS 200
#define DEFAULT_BLOCK_QUIET_MS 5000
#define DEFAULT_BLOCK_BYTES ((size_t)64 << 20)
/* Vat sources kept between launches (srccache.h); two seconds cover the
 * coarsest file-system clocks (FAT's). */
#define SOURCES_KEPT_BYTES ((size_t)16 << 20)
#define SOURCES_RACY_NS    2000000000u
#define DEFAULT_VAT_MEMORY ((size_t)64 << 20)
#define DEFAULT_VAT_TIME_MS 2000
#define DEFAULT_REAP_INTERVAL 1000

/* ---- Shared helpers ---- */

int
lvat__fail(lvat_kernel *k, int code, const char *fmt, ...)
{
    va_list ap;

    k->err.code = code;
    va_start(ap, fmt);
    vsnprintf(k->err.msg, sizeof k->err.msg, fmt, ap);
    va_end(ap);
    return code;
}

static void
default_log(void *ud, lvat_log_level level, const char *line, size_t len)
{
    LVAT_UNUSED(ud);
    LVAT_UNUSED(level);
    fprintf(stderr, "%.*s\n", (int)len, line);
}

void
lvat__log(lvat_kernel *k, lvat_log_level level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n = 0;
    bool was = k->in_callback;

    if (level > k->opts.log_level)
        return;
    if (level == LVAT_LOG_WARN)
        n = snprintf(line, sizeof line, "luavat: warning: ");
    else if (level == LVAT_LOG_ERROR)
        n = snprintf(line, sizeof line, "luavat: error: ");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    /* Outside a crank too (a block's commit): no close or run under it. */
    k->in_callback = true;
    k->opts.log(k->opts.log_ud, level, line, (size_t)n);
    k->in_callback = was;
}

uint64_t
lvat__now_us(void)
{
    return lvat_clock_ns() / 1000u;
}

int
lvat__kv_get_fresh(lvat_kernel *k, bool fresh, const lvat_key *key,
                   lvat_val *v)
{
    return fresh ? lvat_kv_get_pending(k->kv, LVAT_DB_KERNEL, key->b, key->n, v)
                 : lvat_kv_get(k->kv, LVAT_DB_KERNEL, key->b, key->n, v);
}

int
lvat__kv_get_u64(lvat_kernel *k, const char *key, uint64_t *out)
{
    lvat_val v;
    int rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key, strlen(key), &v);

    if (rc != LVAT_OK)
        return rc;
    if (lvat_parse_u64(v.p, v.len, out) != LVAT_OK)
        return lvat__fail(k, LVAT_ECORRUPT, "%s: not a number: database may "
                          "be corrupted", key);
    return LVAT_OK;
}

int
lvat__counter_next(lvat_kernel *k, const char *key, uint64_t *out)
{
    char num[24];
    uint64_t n = 1;
    int rc = lvat__kv_get_u64(k, key, &n);

    if (rc == LVAT_ENOTFOUND)
        n = 1;
    else if (rc != LVAT_OK)
        return rc;
    lvat_fmt_u64(num, n + 1);
    rc = lvat_kv_put(k->kv, LVAT_DB_KERNEL, key, strlen(key), num,
                     strlen(num), 0);
    if (rc == LVAT_OK)
        *out = n;
    return rc;
}

const char *
lvat_kernel_errmsg(const lvat_kernel *k)
{
    return k->err.msg[0] ? k->err.msg : lvat_strerror(k->err.code);
}

/* ---- Options and lifecycle ---- */

void
lvat_options_init(lvat_options *o)
{
    memset(o, 0, sizeof *o);
    o->dir = "./.luavat";
    o->durability = LVAT_DURABILITY_SYNC;
    o->log_level = LVAT_LOG_INFO;
}

static void
fill_defaults(lvat_options *o)
{
    if (o->block_max_cranks == 0)
        o->block_max_cranks = DEFAULT_BLOCK_CRANKS;
    if (o->block_max_ms == 0)
        o->block_max_ms = DEFAULT_BLOCK_MS;
    if (o->block_quiet_ms == 0)
        o->block_quiet_ms = DEFAULT_BLOCK_QUIET_MS;
    if (o->block_max_bytes == 0)
        o->block_max_bytes = DEFAULT_BLOCK_BYTES;
    if (o->vat_memory_limit == 0)
        o->vat_memory_limit = DEFAULT_VAT_MEMORY;
    if (o->vat_time_limit_ms == 0)
        o->vat_time_limit_ms = DEFAULT_VAT_TIME_MS;
    if (o->reap_interval == 0)
        o->reap_interval = DEFAULT_REAP_INTERVAL;
    if (o->log == NULL)
        o->log = default_log;
}

static int
open_store(lvat_kernel *k, lvat_errbuf *err)
{
    lvat_store_config cfg;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.dir = k->dir;
    cfg.map_size = k->opts.map_size;
    cfg.readonly = k->opts.readonly;
    cfg.reset = k->opts.reset;
    cfg.sync = k->opts.durability == LVAT_DURABILITY_NOSYNC
                   ? LVAT_STORE_NOSYNC
                   : k->opts.durability == LVAT_DURABILITY_NOMETASYNC
                         ? LVAT_STORE_NOMETASYNC
                         : LVAT_STORE_SYNC;
    rc = lvat_store_open(&cfg, &k->store, err);
    if (rc == LVAT_OK)
        rc = lvat_kv_new(k->store, &k->kv, err);
    return rc;
}

/* ---- What the kernel keeps for the block (kv.h's hooks) ---- */

static void
hook_crank_begin(void *ud)
{
    lvat__runq_crank_begin(ud);
    lvat__counts_crank_begin(ud);
    lvat__clb_crank_begin(ud);
    lvat__kpc_crank_begin(ud);
}

static void
hook_crank_end(void *ud, bool commit)
{
    lvat__runq_crank_end(ud, commit);
    lvat__counts_crank_end(ud, commit);
    lvat__clb_crank_end(ud, commit);
    lvat__kpc_crank_end(ud, commit);
}

static int
hook_block_writing(void *ud)
{
    /* Promise records, new c-list pairs and counters, in that order. */
    int rc = lvat__kpc_block_writing(ud);

    if (rc == LVAT_OK)
        rc = lvat__clb_flush(ud);
    if (rc == LVAT_OK)
        rc = lvat__runq_block_writing(ud);
    return rc == LVAT_OK ? lvat__counts_block_writing(ud) : rc;
}

void
lvat__block_state_forget(lvat_kernel *k)
{
    lvat__runq_forget(k);
    lvat__counts_forget(k);
    lvat__clb_forget(k);
    lvat__kpc_forget_all(k);
}

static void
hook_block_abort(void *ud)
{
    lvat__block_state_forget(ud);
}

int
lvat__block_flush(lvat_kernel *k)
{
    int rc = lvat__kpc_flush(k);

    if (rc == LVAT_OK)
        rc = lvat__clb_flush(k);
    return rc == LVAT_OK ? lvat__counts_flush(k) : rc;
}

/* New c-list pairs must be in the overlay before anything reads the
 * kernel's keys in order. */
static int
hook_scanning(void *ud, lvat_dbid db)
{
    return db == LVAT_DB_KERNEL ? lvat__clb_flush(ud) : LVAT_OK;
}

/* The run queue (runq_block.c), counters and object records (counts.c),
 * new c-list pairs (clist_block.c) and promise records (kpcache.c) live
 * in memory for the block and follow the overlay through these hooks. */
static int
install_block_state(lvat_kernel *k)
{
    lvat_kv_hooks h = {hook_crank_begin, hook_crank_end, hook_block_writing,
                       hook_block_abort, hook_scanning, k};

    if (lvat__runq_open(k) != LVAT_OK || lvat__counts_open(k) != LVAT_OK ||
        lvat__clb_open(k) != LVAT_OK || lvat__kpc_open(k) != LVAT_OK)
        return LVAT_ENOMEM;
    lvat_kv_set_hooks(k->kv, &h);
    return LVAT_OK;
}

int
lvat_kernel_open(const lvat_options *o, lvat_kernel **out, char *err,
                 size_t errlen)
{
    lvat_errbuf eb;
    lvat_kernel *k;
    int rc;

    lvat_errbuf_clear(&eb);
    if (o == NULL || (!o->readonly && o->vat_ops == NULL)) {
        rc = lvat_errbuf_set(&eb, LVAT_EINVAL, "no vat runtime given");
        goto report;
    }
    k = lvat_calloc(1, sizeof *k);
    if (k == NULL || (k->dir = lvat_strdup(o->dir ? o->dir : "./.luavat")) ==
                         NULL) {
        lvat_free(k);
        rc = lvat_errbuf_set(&eb, LVAT_ENOMEM, "out of memory");
        goto report;
    }
    k->opts = *o;
    k->opts.dir = k->dir;
    fill_defaults(&k->opts);
    k->ops = o->vat_ops;
    k->ops_ud = o->vat_ops_ud;
    k->requests_tail = &k->requests;
    k->block_epoch = 1;
    k->block_start_ns = lvat_clock_coarse_ns();
    /* Without it (asked, or out of memory) launches read every file. */
    if (!o->reread_sources)
        k->sources = lvat_srccache_new(SOURCES_KEPT_BYTES, SOURCES_RACY_NS);
    rc = open_store(k, &eb);
    if (rc == LVAT_OK && install_block_state(k) != LVAT_OK)
        rc = lvat_errbuf_set(&eb, LVAT_ENOMEM, "out of memory");
    if (rc == LVAT_OK)
        lvat__stats_load(k);
    if (rc == LVAT_OK && !o->readonly)
        rc = lvat__kernel_startup(k, &eb);
    if (rc == LVAT_OK && !o->readonly)
        rc = lvat__system_open(k, &eb);
    if (rc != LVAT_OK) {
        lvat_kernel_close(k);
        goto report;
    }
    *out = k;
    return LVAT_OK;
report:
    if (err && errlen)
        snprintf(err, errlen, "%s", eb.msg[0] ? eb.msg : lvat_strerror(rc));
    return rc;
}

void
lvat_kernel_close(lvat_kernel *k)
{
    if (k == NULL)
        return;
    /* The kernel is firing callbacks, or in a crank calling a pure service
     * or the log, from its own frames, which would go on with it freed. */
    if (k->in_callback || k->crank.active) {
        lvat__log(k, LVAT_LOG_ERROR, "lvat_kernel_close called from a "
                  "callback: ignored (close after lvat_kernel_run or "
                  "lvat_kernel_step returns)");
        return;
    }
    /* A block the pump left open holds applied host requests. */
    if (lvat__kernel_flush(k) != LVAT_OK)
        lvat__log(k, LVAT_LOG_ERROR, "%s", lvat_kernel_errmsg(k));
    lvat__pump_free(k);
    lvat__vats_free(k);
    lvat__srcnames_free(k);
    lvat_srccache_free(k->sources);
    lvat__kpc_free(k);
    lvat__outputs_truncate(k, 0);
    lvat_free(k->outputs);
    lvat__requests_free(k);
    for (size_t i = 0; i < k->nopen_calls; i++)
        lvat__call_free(k->open_calls[i]);
    lvat_free(k->open_calls);
    lvat__services_free(k);
    lvat_free(k->eager);
    lvat_free(k->reap_due);
    if (k->kv != NULL)
        lvat_kv_set_hooks(k->kv, &(lvat_kv_hooks){0});
    lvat__runq_free(k);
    lvat__counts_free(k);
    lvat__clb_free(k);
    lvat_kv_free(k->kv);
    lvat_store_close(k->store);
    lvat_buf_free(&k->crank.why);
    lvat_buf_free(&k->crank.exit_info);
    lvat__followup_free(k);
    lvat_free(k->crank.maybe_free);
    lvat_free(k->dir);
    lvat_free(k);
}

/* ---- Blocks ---- */

void
lvat__block_abort(lvat_kernel *k)
{
    lvat_kv_block_abort(k->kv);
    /* Every vat this block delivered to remembers what the store lost. */
    for (size_t i = 0; i < k->nvatbuckets; i++)
        for (lvat_kvat *v = k->vats[i]; v; v = v->next)
            if (v->block_epoch == k->block_epoch)
                lvat__vat_unload(k, v);
    lvat__requests_rewind(k);
    lvat__outputs_truncate(k, 0);
    lvat__followup_block_abort(k);
    k->reset_pending = false; /* its crank asks again when run again */
    k->gc_pending = true; /* GC actions the block consumed are back */
    k->block_epoch++;
    k->block_cranks = 0;
    k->block_start_ns = lvat_clock_coarse_ns();
}

int
lvat__block_commit(lvat_kernel *k)
{
    uint64_t blocks = k->stats.blocks;
    lvat_errbuf err;
    uint64_t t0;
    int rc;

    lvat_errbuf_clear(&err);
    t0 = lvat_clock_ns();
    rc = lvat__stats_save(k);
    if (rc == LVAT_OK)
        rc = lvat_kv_block_commit(k->kv, &err);
    k->stats.ns_commit += lvat_clock_ns() - t0;
    if (rc != LVAT_OK)
        k->stats.blocks = blocks; /* counted by lvat__stats_save */
    if (rc == LVAT_ETXNFULL) {
        /* Too much for one LMDB transaction: redo the work (the inbox
         * still holds its requests) in blocks of half as many cranks. */
        uint32_t cranks = k->block_cranks;
        lvat__block_abort(k);
        if (cranks <= 1) /* cannot be split: a retry would loop for ever */
            return lvat__fail(k, LVAT_ETXNFULL, "committing to %s: one "
                              "crank's changes do not fit one LMDB "
                              "transaction (nothing committed was lost)",
                              k->dir);
        if (cranks < k->opts.block_max_cranks)
            k->opts.block_max_cranks = cranks;
        k->opts.block_max_cranks /= 2; /* at least 1: cranks >= 2 */
        lvat__log(k, LVAT_LOG_WARN, "block too large for the store; "
                  "retrying with blocks of %u cranks",
                  k->opts.block_max_cranks);
        return LVAT_OK;
    }
    if (rc != LVAT_OK) {
        lvat__block_abort(k);
        return lvat__fail(k, rc, "committing to %s failed: %s (no committed "
                          "work was lost)", k->dir, err.msg);
    }
    lvat__followup_committed(k);
    k->block_epoch++;
    k->block_cranks = 0;
    k->block_start_ns = lvat_clock_coarse_ns();
    lvat__outputs_fire(k);
    lvat__requests_committed(k);
    return k->reset_pending ? lvat__kernel_reset(k) : LVAT_OK;
}

/* Whether the host waits on this block's commit: for what it holds (a
 * result, a launch's outcome, a host-service call) or for a reset. */
static bool
block_awaited(const lvat_kernel *k)
{
    return k->noutputs > 0 || k->reset_pending;
}

/* A block the host waits on commits once it is block_max_ms old; one it
 * does not may run block_quiet_ms: committing it sooner would only write
 * out the promises, c-list and queue entries of work in flight, for the
 * next blocks to delete again. */
static bool
block_due(lvat_kernel *k)
{
    uint32_t max_ms =
        block_awaited(k) ? k->opts.block_max_ms : k->opts.block_quiet_ms;

    return k->block_cranks >= k->opts.block_max_cranks ||
           lvat_kv_block_bytes(k->kv) + lvat__runq_bytes(k) +
                   lvat__kpc_bytes(k) + lvat__clb_bytes(k) >=
               k->opts.block_max_bytes ||
           lvat_clock_coarse_ns() - k->block_start_ns >=
               (uint64_t)max_ms * 1000000u;
}

/* One crank, timed or not as stats.c decides. */
static int
timed_crank(lvat_kernel *k, bool *did)
{
    lvat_stats_mark m;
    int rc;

    lvat__stats_crank_begin(k, &m);
    rc = lvat__crank_run(k, did);
    lvat__stats_crank_end(k, &m, *did);
    return rc;
}

/* Runs cranks as lvat_kernel_step does, committing the blocks that come
 * due, and leaves the last block open. */
static int
run_cranks(lvat_kernel *k, uint32_t max_cranks, uint64_t max_us,
           uint32_t *ran)
{
    uint64_t start = lvat__now_us();
    int rc;

    *ran = 0;
    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    /* In a crank (a pure service, the log), a second would begin in it. */
    if (k->in_callback || k->crank.active)
        return lvat__fail(k, LVAT_ESTATE, "cannot run the kernel from one of "
                          "its callbacks");
    while ((max_cranks == 0 || *ran < max_cranks) &&
           (max_us == 0 || lvat__now_us() - start < max_us)) {
        bool did;
        rc = timed_crank(k, &did);
        if (rc != LVAT_OK) {
            lvat__block_abort(k);
            if (k->err.code != rc) /* a failure that did not say why */
                lvat__fail(k, rc, "a crank failed (%s); its block in %s "
                           "was rolled back", lvat_strerror(rc), k->dir);
            return rc;
        }
        if (!did)
            break;
        (*ran)++;
        k->block_cranks++;
        if (block_due(k) && (rc = lvat__block_commit(k)) != LVAT_OK)
            return rc;
    }
    return LVAT_OK;
}

int
lvat_kernel_step(lvat_kernel *k, uint32_t max_cranks, uint64_t max_us,
                 uint32_t *ran)
{
    uint32_t n;
    int rc = run_cranks(k, max_cranks, max_us, &n);

    if (rc == LVAT_OK)
        rc = lvat__block_commit(k);
    if (ran)
        *ran = rc == LVAT_OK ? n : 0;
    return rc;
}

int
lvat__kernel_slice(lvat_kernel *k, uint64_t max_us)
{
    uint32_t n;
    int rc = run_cranks(k, 0, max_us, &n);

    if (rc == LVAT_OK && (block_awaited(k) || lvat_kernel_pending(k) == 0))
        rc = lvat__block_commit(k);
    return rc;
}

int
lvat__kernel_flush(lvat_kernel *k)
{
    /* Not from inside a crank (a pure service, a log callback): its
     * block ends with it, at the next slice, step or close. */
    if (k->block_cranks == 0 || k->in_callback || k->crank.active)
        return LVAT_OK;
    return lvat__block_commit(k);
}

size_t
lvat_kernel_pending(lvat_kernel *k)
{
    uint64_t n = 0;
    size_t reqs = 0;

    for (lvat_req *r = k->requests; r; r = r->next)
        reqs += r->applied_epoch == 0;
    if (k->opts.readonly || lvat__runq_length(k, &n) != LVAT_OK)
        n = 0;
    return reqs + (size_t)n + (lvat__followup_due(k) ? 1 : 0) +
           (k->gc_pending ? 1 : 0) + k->neager + k->nreap;
}

int
lvat_kernel_run(lvat_kernel *k)
{
    int rc;
    uint32_t ran;

    do {
        rc = lvat_kernel_step(k, 0, 0, &ran);
    } while (rc == LVAT_OK && (ran > 0 || lvat_kernel_pending(k) > 0));
    return rc;
}
