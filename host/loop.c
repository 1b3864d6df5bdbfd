/*
 * libuv glue: an idle handle pumps the kernel in bounded slices of a few
 * milliseconds while there is work, so I/O callbacks on the same loop are
 * never starved, and stops when the kernel is idle (an idle handle keeps
 * the loop spinning).  Queuing work restarts it.  A slice commits its
 * block when the block holds something for the host or the kernel is
 * idle; a quiet block stays open across slices, as in lvat_kernel_run,
 * until the block policy says (lvat_options), and detaching commits it.
 * A slice that fails (a store error: a full disk, say) is logged and
 * tried again after 0.1 s, then after twice as long each time up to 5 s:
 * nothing else would wake the pump until the host queued more work.
 */
#include "kernel_int.h"

#include <uv.h>

#include "alloc.h"

#define SLICE_US 5000
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

typedef struct lvat_pump {
    uv_idle_t idle;
    uv_timer_t retry;
    uint64_t retry_ms; /* the next retry's delay; 0 after a good slice */
    int open;          /* handles not yet closed */
    lvat_kernel *k; /* NULL once detached; the handles may still be closing */
} lvat_pump;

static void on_retry(uv_timer_t *t);

static void
on_idle(uv_idle_t *h)
{
    lvat_pump *p = h->data;
    lvat_kernel *k = p->k;
    int rc;

    if (k == NULL || k->in_callback)
        return;
    rc = lvat__kernel_slice(k, SLICE_US);
    if (rc != LVAT_OK) {
        p->retry_ms = p->retry_ms ? p->retry_ms * 2 : RETRY_FIRST_MS;
        if (p->retry_ms > RETRY_MAX_MS)
            p->retry_ms = RETRY_MAX_MS;
        lvat__log(k, LVAT_LOG_ERROR, "%s (trying again in %llu ms)",
                  lvat_kernel_errmsg(k), (unsigned long long)p->retry_ms);
        uv_idle_stop(h);
        uv_timer_start(&p->retry, on_retry, p->retry_ms, 0);
        return;
    }
    p->retry_ms = 0;
    if (lvat_kernel_pending(k) == 0)
        uv_idle_stop(h);
}

static void
on_retry(uv_timer_t *t)
{
    lvat_pump *p = t->data;

    if (p->k != NULL)
        uv_idle_start(&p->idle, on_idle);
}

static void
on_close(uv_handle_t *h)
{
    lvat_pump *p = h->data;

    if (--p->open == 0)
        lvat_free(p);
}

int
lvat_kernel_attach(lvat_kernel *k, struct uv_loop_s *loop)
{
    lvat_pump *p;

    if (k->pump != NULL)
        return lvat__fail(k, LVAT_EINVAL, "the kernel is already attached "
                          "to a loop");
    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    p = lvat_calloc(1, sizeof *p);
    if (p == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    if (uv_idle_init(loop, &p->idle) != 0) {
        lvat_free(p);
        return lvat__fail(k, LVAT_EINVAL, "uv_idle_init failed");
    }
    if (uv_timer_init(loop, &p->retry) != 0) {
        p->open = 1;
        p->idle.data = p;
        uv_close((uv_handle_t *)&p->idle, on_close);
        return lvat__fail(k, LVAT_EINVAL, "uv_timer_init failed");
    }
    p->open = 2;
    p->idle.data = p;
    p->retry.data = p;
    p->k = k;
    k->pump = p;
    lvat__pump_wake(k);
    return LVAT_OK;
}

void
lvat__pump_wake(lvat_kernel *k)
{
    if (k->pump != NULL)
        uv_idle_start(&k->pump->idle, on_idle);
}


void
lvat_kernel_detach(lvat_kernel *k)
{
    lvat_pump *p = k->pump;

    if (p == NULL)
        return;
    k->pump = NULL;
    p->k = NULL;
    /* Host requests a quiet block applied are durable only once it
     * commits. */
    if (lvat__kernel_flush(k) != LVAT_OK)
        lvat__log(k, LVAT_LOG_ERROR, "%s", lvat_kernel_errmsg(k));
    uv_idle_stop(&p->idle);
    uv_timer_stop(&p->retry);
    uv_close((uv_handle_t *)&p->idle, on_close);
    uv_close((uv_handle_t *)&p->retry, on_close);
}

void
lvat__pump_free(lvat_kernel *k)
{
    lvat_kernel_detach(k);
}
