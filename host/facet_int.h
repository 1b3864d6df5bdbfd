/*
 * The kernel facet's files share this (facet.c: answers and simple
 * methods; facet_ops.c: methods that change subclusters or wait).
 */
#ifndef LVAT_FACET_INT_H
#define LVAT_FACET_INT_H

#include "kernel_int.h"

/* One call to a kernel facet: arguments as plain JSON (references as
 * {"@kref": ...}); `result` is the caller's promise (or none). */
typedef struct fcall {
    lvat_kernel *k;
    uint32_t sub; /* the system subcluster this facet serves */
    lvat_kref result;
    const lvat_json *args;
} fcall;

const lvat_json *lvat__fcall_arg(const fcall *c, size_t i);
const char *lvat__fcall_str(const fcall *c, size_t i);
/* Argument i for an error message: the string itself, or what it is
 * instead ("(none)", "(a number, not a string)"); written into buf. */
const char *lvat__fcall_show(const fcall *c, size_t i, char *buf,
                             size_t size);
int lvat__fcall_ok_str(fcall *c, const char *s);
int lvat__fcall_presence(fcall *c, const char *kref, const char *iface);

int lvat__facet_ping(fcall *c);
int lvat__facet_get_status(fcall *c);
int lvat__facet_get_subclusters(fcall *c);
int lvat__facet_get_subcluster(fcall *c);
int lvat__facet_get_system_root(fcall *c);
int lvat__facet_get_presence(fcall *c);
int lvat__facet_ping_vat(fcall *c);

#endif
