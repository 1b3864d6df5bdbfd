/*
 * The luavat command-line program: a thin client of luavat.h.  Each
 * command is a function taking the parsed common options; exit codes and
 * output conventions follow design.md §10.
 */
#ifndef LVAT_CLI_H
#define LVAT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "luavat.h"

/* Exit codes. */
enum {
    CLI_OK = 0,
    CLI_REJECTED = 1, /* the message (or launch) was rejected */
    CLI_USAGE = 2,
    CLI_SETUP = 3,    /* config, store or lock problem */
    CLI_PENDING = 4   /* the result was still pending at quiescence */
};

#define CLI_MAX_ARGS 16

typedef struct cli_opts {
    const char *db;
    const char *durability;
    bool json;
    bool help;
    bool reset;
    bool prune;
    bool stats; /* status --stats */
    bool need_store; /* set by a command that works on existing state */
    const char *kernel_config; /* --kernel-config FILE, or NULL */
    const char *must_read; /* run's config: unreadable, no store is made */
    const char *args[CLI_MAX_ARGS]; /* positional arguments */
    int nargs;
} cli_opts;

/*
 * Parses argv (options may stand before or after arguments) into `o`.
 * Returns 0, or CLI_USAGE after printing what is wrong.
 */
int cli_parse(int argc, char **argv, const char *command, cli_opts *o);

/* A loaded --kernel-config file (kconfig.c). */
typedef struct cli_kconfig {
    lvat_system_subcluster *subs;
    size_t nsubs;
    char **strs; /* what subs point into */
    size_t nstrs;
} cli_kconfig;

/* Reads a kernel config file; prints what is wrong.  0 or CLI_SETUP. */
int cli_kconfig_load(const char *file, cli_kconfig *c);
void cli_kconfig_free(cli_kconfig *c);

/* Opens the kernel for o (with the Lua runtime); prints errors.  Returns
 * 0 or CLI_SETUP. */
int cli_open(const cli_opts *o, bool readonly, lvat_kernel **k);
void cli_close(lvat_kernel *k);
/* How many of --kernel-config's system subclusters have no root after a
 * run: their launch failed (the kernel logged why). */
size_t cli_systems_down(lvat_kernel *k);

/* Prints "luavat: <message>" to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints a value as `run` and `send` do (--json: raw capdata). */
void cli_print_value(lvat_kernel *k, const lvat_value *v, bool json);

int cmd_run(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_relaunch(int argc, char **argv);
int cmd_release(int argc, char **argv);

#endif
