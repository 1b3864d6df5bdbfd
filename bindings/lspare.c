/*
 * The spare-state builder (lspare.h): one thread, one mutex, and a stack
 * of ready states.  Only the stack and the flags are shared; a state
 * being built is the builder's alone until it is pushed, and the
 * kernel's alone once popped (the mutex orders the two).
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
    bool filling; /* set when below half, until full again */
    bool stop;
    lvat_slab *slab; /* the builder's: a slab serves one thread */
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
    sigset_t all;

    /* Signals are for the host's and the kernel's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        lvat_lvat *v;

        if (!needs_spare(s)) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        v = lvat_lua_vat_new_spare(s->rt, s->slab);
        pthread_mutex_lock(&s->mu);
        if (v == NULL)
            s->filling = false; /* out of memory: wait for more takes */
        else {
            s->ready[s->nready++] = v;
            s->built++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int
lvat_spares_new(lvat_lua_runtime *rt, size_t target, lvat_spares **out,
                lvat_errbuf *err)
{
    lvat_spares *s = lvat_calloc(1, sizeof *s);

    if (s == NULL || (s->ready = lvat_calloc(target, sizeof *s->ready)) ==
                         NULL || (s->slab = lvat_slab_new()) == NULL) {
        if (s != NULL)
            lvat_free(s->ready);
        lvat_free(s);
        return lvat_errbuf_set(err, LVAT_ENOMEM, "out of memory");
    }
    s->rt = rt;
    s->target = target;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, build, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        lvat_slab_free(s->slab);
        lvat_free(s->ready);
        lvat_free(s);
        return lvat_errbuf_set(err, LVAT_ENOMEM,
                               "cannot start the spare-state thread");
    }
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
    while (s->nready > 0)
        lvat_lua_vat_free(s->ready[--s->nready]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    /* Vats that took spares are gone (the runtime outlives the kernel),
     * so no block of these arenas is in use. */
    lvat_slab_free(s->slab);
    lvat_free(s->ready);
    lvat_free(s);
}

lvat_lvat *
lvat_spares_take(lvat_spares *s)
{
    lvat_lvat *v = NULL;

    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&s->mu);
    if (s->nready > 0) {
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
    pthread_mutex_unlock(&s->mu);
}
