/*
 * The spare-state builder (lspare.h): one thread, one mutex, and a stack
 * of ready states.  Only what the mutex guards is shared; a state being
 * built is the builder's alone until it is pushed, and the kernel's alone
 * once popped.
 *
 * Memory goes home: a taken spare's blocks were carved by the builder's
 * slab, and the kernel's thread frees them into the runtime's slab as
 * foreign blocks (slab.h).  At each take the kernel hands those to a
 * go-between slab, and the builder adopts them before its next build, so
 * vats made and destroyed over and over cost each slab only its
 * high-water mark.
 */
#include "lspare.h"

#include <pthread.h>
#include <signal.h>

#include "alloc.h"
#include "slab.h"

struct lvat_spares {
    lvat_lua_runtime *rt;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lvat_lvat **ready;
    size_t nready, target;
    unsigned long built, taken, missed;
    size_t arena_bytes;  /* the builder's slab, after its last build */
    bool filling;        /* set when below half, until full again */
    bool stop;
    lvat_slab *slab;     /* the builder's: a slab serves one thread */
    lvat_slab *returned; /* its blocks the kernel's thread freed */
};

/* Whether the builder has work; called with the mutex held.  It fills
 * the pool from half empty, so that it is woken once per target/2 takes,
 * not at every take. */
static bool
needs_spare(lvat_spares *s)
{
    if (s->nready >= s->target)
        s->filling = false;
    return s->filling;
}

static void *
build(void *arg)
{
    lvat_spares *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        lvat_lvat *v;

        if (!needs_spare(s)) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        lvat_slab_adopt(s->slab, s->returned);
        pthread_mutex_unlock(&s->mu);
        v = lvat_lua_vat_new_spare(s->rt, s->slab);
        pthread_mutex_lock(&s->mu);
        s->arena_bytes = lvat_slab_arena_bytes(s->slab);
        if (v == NULL) {
            s->filling = false; /* out of memory: wait for more takes */
            continue;
        }
        s->ready[s->nready++] = v;
        s->built++;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Starts the builder with every asynchronous signal blocked (they are
 * for the host's and the kernel's threads); faults stay deliverable. */
static int
start(lvat_spares *s)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    sigset_t mask, old;
    int rc;

    sigfillset(&mask);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&mask, faults[i]);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    rc = pthread_create(&s->thread, NULL, build, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Frees what lvat_spares_new made; the builder has stopped or never ran.
 * Vats that took spares are gone (the runtime outlives the kernel), so no
 * block of the builder's arenas is in use; the runtime's slab may still
 * list some as foreign, but it only ever frees its own arenas. */
static void
release(lvat_spares *s)
{
    while (s->nready > 0)
        lvat_lua_vat_free(s->ready[--s->nready]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    lvat_slab_free(s->returned);
    lvat_slab_free(s->slab);
    lvat_free(s->ready);
    lvat_free(s);
}

int
lvat_spares_new(lvat_lua_runtime *rt, size_t target, lvat_spares **out,
                lvat_errbuf *err)
{
    lvat_spares *s;

    if (target > LVAT_SPARES_MAX)
        return lvat_errbuf_set(err, LVAT_EINVAL,
                               "spare_states is %zu; at most %d are kept "
                               "(each holds an idle vat's memory)",
                               target, LVAT_SPARES_MAX);
    s = lvat_calloc(1, sizeof *s);
    if (s == NULL || (s->ready = lvat_calloc(target, sizeof *s->ready)) ==
                         NULL || (s->slab = lvat_slab_new()) == NULL ||
        (s->returned = lvat_slab_new()) == NULL) {
        if (s != NULL) {
            lvat_slab_free(s->slab);
            lvat_free(s->ready);
        }
        lvat_free(s);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    s->rt = rt;
    s->target = target;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (start(s) != 0) {
        release(s);
        return lvat_errbuf_set(err, LVAT_ENOMEM,
                               "cannot start the spare-state thread");
    }
    lvat_slab_expect_foreign(lvat_lua_runtime_slab(rt));
    *out = s;
    return LVAT_OK;
}

void
lvat_spares_free(lvat_spares *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    release(s);
}

lvat_lvat *
lvat_spares_take(lvat_spares *s, size_t mem_limit)
{
    lvat_lvat *v = NULL;

    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&s->mu);
    lvat_slab_give_back(lvat_lua_runtime_slab(s->rt), s->slab, s->returned);
    /* A vat whose cap no spare fits is made on the spot, as without. */
    if (s->nready > 0 && (mem_limit == 0 ||
                          s->ready[s->nready - 1]->mem_peak <= mem_limit)) {
        v = s->ready[--s->nready];
        s->taken++;
    } else {
        s->missed++;
    }
    if (!s->filling && s->nready <= s->target / 2) {
        s->filling = true;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return v;
}

void
lvat_spares_get_stats(lvat_spares *s, lvat_spares_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->ready = s->nready;
    out->built = s->built;
    out->taken = s->taken;
    out->missed = s->missed;
    out->arena_bytes = s->arena_bytes;
    pthread_mutex_unlock(&s->mu);
}
