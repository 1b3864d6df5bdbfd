/*
 * Internals shared by fake_vat.c (world, instances, deliveries) and
 * fake_vat_calls.c (arguments and syscall helpers).  Tests use fake_vat.h.
 */
#ifndef LVAT_FAKE_VAT_INT_H
#define LVAT_FAKE_VAT_INT_H

#include "fake_vat.h"

#define MAX_KEPT 64

typedef struct fv_handler {
    char *method; /* NULL: START; "" : NOTIFY */
    fv_fn fn;
    void *ud;
} fv_handler;

typedef struct fv_script {
    char *name;
    fv_handler *h;
    size_t nh;
    fv_stats st;
} fv_script;

struct fv_world {
    fv_script **s; /* stable addresses: instances point at their script */
    size_t ns;
    char **log;
    size_t nlog;
    unsigned live;
};

typedef struct fv_kept_ref {
    char *name;
    lvat_vref r;
} fv_kept_ref;

struct fv_vat {
    fv_world *w;
    fv_script *s;
    uint32_t id;
    lvat_syscall *sys;
    uint64_t next_o, next_p;
    fv_kept_ref kept[MAX_KEPT];
    size_t nkept;
    char **scratch; /* fv_fmt results of the running delivery */
    size_t nscratch;
};

/* Argument i of a MESSAGE, or NULL. */
const lvat_json *fv__arg(const fv_call *c, size_t i);
/* "$3.Alleged: x" or "&3" -> slot 3 of the message; none otherwise. */
lvat_vref fv__slot_of(const fv_call *c, const char *s);

#endif
