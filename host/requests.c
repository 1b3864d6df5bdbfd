/*
 * The host's requests (sends, launches, reloads, restarts, answers) in the
 * order they came, until each is applied and, if someone waits, answered.
 * Requests not yet applied always form the list's tail (they are applied
 * in order, and a block abort un-applies only the last ones), so a cursor
 * finds the next one in O(1); an index by id finds the request a launch or
 * a result belongs to.  Thousands of queued launches stay linear.
 */
#include "kernel_int.h"

#include "alloc.h"
#include "config.h"

/* ---- Index by id ---- */

static size_t
slot_of(const lvat_kernel *k, uint64_t id)
{
    return (size_t)(id * 0x9e3779b97f4a7c15ull >> 7) & (k->req_hcap - 1);
}

static int
index_grow(lvat_kernel *k)
{
    size_t cap = k->req_hcap ? k->req_hcap * 2 : 64;
    lvat_req **t = lvat_calloc(cap, sizeof *t);
    lvat_req **old = k->req_hash;
    size_t oldcap = k->req_hcap;

    if (t == NULL)
        return LVAT_ENOMEM;
    k->req_hash = t;
    k->req_hcap = cap;
    for (size_t i = 0; i < oldcap; i++)
        for (lvat_req *r = old[i], *next; r; r = next) {
            size_t s = slot_of(k, r->id);
            next = r->hnext;
            r->hnext = t[s];
            t[s] = r;
        }
    lvat_free(old);
    return LVAT_OK;
}

static void
index_remove(lvat_kernel *k, lvat_req *r)
{
    lvat_req **pp = &k->req_hash[slot_of(k, r->id)];

    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    k->req_count--;
}

lvat_req *
lvat__req_find(lvat_kernel *k, uint64_t id)
{
    if (k->req_hcap == 0)
        return NULL;
    for (lvat_req *r = k->req_hash[slot_of(k, id)]; r; r = r->hnext)
        if (r->id == id)
            return r;
    return NULL;
}

/* ---- The list ---- */

static void
req_free(lvat_req *r)
{
    lvat__call_free(r->call);
    lvat_free(r->system_name);
    lvat_free(r->method);
    lvat_buf_free(&r->body);
    lvat_free(r->slots);
    lvat__launch_plan_free(r->plan);
    lvat_free(r);
}

int
lvat__req_queue(lvat_kernel *k, lvat_req *r)
{
    size_t s;

    if (k->req_count >= k->req_hcap && index_grow(k) != LVAT_OK) {
        req_free(r);
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    }
    r->id = ++k->next_req_id;
    r->next = NULL;
    s = slot_of(k, r->id);
    r->hnext = k->req_hash[s];
    k->req_hash[s] = r;
    k->req_count++;
    *k->requests_tail = r;
    k->requests_tail = &r->next;
    if (k->req_next == NULL)
        k->req_next = r;
    lvat__pump_wake(k);
    return LVAT_OK;
}

lvat_req *
lvat__req_next(lvat_kernel *k)
{
    lvat_req *r = k->req_next;

    while (r != NULL && r->applied_epoch != 0)
        r = r->next;
    k->req_next = r;
    return r;
}

void
lvat__requests_committed(lvat_kernel *k)
{
    lvat_req **pp = &k->requests;

    /* Applied requests whose answer came (or never will) are finished. */
    while (*pp) {
        lvat_req *r = *pp;
        bool waits =
            r->type == LVAT_REQ_LAUNCH || r->type == LVAT_REQ_RELOAD
                ? r->lcb != NULL
                : r->cb != NULL;
        if (r->applied_epoch != 0 && (r->done || !waits)) {
            if (k->req_next == r) /* the cursor may rest on an applied one */
                k->req_next = r->next;
            *pp = r->next;
            index_remove(k, r);
            req_free(r);
        } else {
            pp = &r->next;
        }
    }
    k->requests_tail = pp;
}

void
lvat__requests_rewind(lvat_kernel *k)
{
    k->req_next = NULL;
    for (lvat_req *r = k->requests; r; r = r->next) {
        if (r->applied_epoch == k->block_epoch)
            r->applied_epoch = 0;
        if (r->applied_epoch == 0 && k->req_next == NULL)
            k->req_next = r;
    }
}

void
lvat__requests_free(lvat_kernel *k)
{
    while (k->requests) {
        lvat_req *r = k->requests;
        k->requests = r->next;
        req_free(r);
    }
    k->requests_tail = &k->requests;
    k->req_next = NULL;
    lvat_free(k->req_hash);
    k->req_hash = NULL;
    k->req_hcap = k->req_count = 0;
}
