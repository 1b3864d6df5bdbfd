/*
 * The benchmark programs' shared room: clock, settings, one child process
 * per repetition with medians over them, result lines, temporary stores
 * and a synchronous kernel wrapper.  It measures nothing by itself and
 * never decides what is fast enough: there are no thresholds anywhere.
 */
#define _XOPEN_SOURCE 700
#include "bench_util.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- Clock and settings ---- */

double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
parse_long(const char *s)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno || *end != '\0' || v <= 0 ? -1 : v;
}

long
bench_env_long(const char *name, long dflt)
{
    long v = parse_long(getenv(name));

    return v > 0 ? v : dflt;
}

long
bench_arg_long(const char *prog, const char *arg)
{
    long v = parse_long(arg);

    if (v <= 0) {
        fprintf(stderr, "%s: '%s' is not a positive integer\n", prog, arg);
        exit(2);
    }
    return v;
}

long
bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size, resident;
    int n;

    if (f == NULL)
        return -1;
    n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return n == 2 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

const char *
bench_vats_dir(void)
{
    const char *d = getenv("BENCH_VATS");

    return d && *d ? d : "bench/vats";
}

int
bench_durability(const char *name)
{
    if (strcmp(name, "sync") == 0)
        return LVAT_DURABILITY_SYNC;
    if (strcmp(name, "nometasync") == 0)
        return LVAT_DURABILITY_NOMETASYNC;
    if (strcmp(name, "nosync") == 0)
        return LVAT_DURABILITY_NOSYNC;
    return -1;
}

/* ---- Repetitions ---- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v). */
static double
median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Runs one repetition in a child; its figures come back through a pipe. */
static int
one_rep(size_t nfig, bench_rep_fn fn, void *ud, int rep, double *figs)
{
    size_t want = nfig * sizeof *figs, got = 0;
    int fd[2], status;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    if (pipe(fd) != 0 || (pid = fork()) < 0) {
        perror("bench: fork");
        return -1;
    }
    if (pid == 0) {
        int rc;

        close(fd[0]);
        rc = fn(ud, rep, figs);
        if (rc == 0 && write(fd[1], figs, want) != (ssize_t)want)
            rc = -1;
        close(fd[1]);
        /* exit(), not _exit(): a sanitizer build checks for leaks here. */
        exit(rc == 0 ? 0 : 1);
    }
    close(fd[1]);
    while (got < want) {
        ssize_t n = read(fd[0], (char *)figs + got, want - got);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != want) {
        fprintf(stderr, "bench: repetition %d failed\n", rep + 1);
        return -1;
    }
    return 0;
}

int
bench_reps(int reps, size_t nfig, bench_rep_fn fn, void *ud, bench_fig *out)
{
    /* reps rows of nfig figures, then one column of reps */
    double *all = calloc((size_t)reps * (nfig + 1), sizeof *all);
    double *col = all + (size_t)reps * nfig;
    int rc = 0;

    if (all == NULL || reps <= 0)
        rc = -1;
    for (int r = 0; rc == 0 && r < reps; r++)
        rc = one_rep(nfig, fn, ud, r, all + (size_t)r * nfig);
    for (size_t i = 0; rc == 0 && i < nfig; i++) {
        for (int r = 0; r < reps; r++)
            col[r] = all[(size_t)r * nfig + i];
        out[i].median = median(col, (size_t)reps); /* sorts col */
        out[i].min = col[0];
        out[i].max = col[reps - 1];
    }
    free(all);
    return rc;
}

/* ---- Output ---- */

static void
put_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

/* Whole numbers for rates; a decimal where the figure is small. */
static void
put_number(const char *name, double v)
{
    printf(v >= 1000 ? ",\"%s\":%.0f" : ",\"%s\":%.2f", name, v);
}

void
bench_emit(const char *workload,
           const bench_fig *fig,
           const char *unit,
           const char *settings,
           ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, settings);
    vsnprintf(buf, sizeof buf, settings, ap);
    va_end(ap);
    printf("{\"workload\":");
    put_json_string(workload);
    put_number("figure", fig->median);
    put_number("min", fig->min);
    put_number("max", fig->max);
    printf(",\"unit\":");
    put_json_string(unit);
    printf(",\"settings\":");
    put_json_string(buf);
    printf("}\n");
    fflush(stdout);
}

/* ---- Temporary stores ---- */

int
bench_mkdtemp(char *buf, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    n = snprintf(buf, len, "%s/luavat-bench-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= len || mkdtemp(buf) == NULL) {
        perror("bench: mkdtemp");
        return -1;
    }
    return 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
bench_rmdir(const char *dir)
{
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "bench: could not remove %s\n", dir);
}

/* ---- A kernel to measure ---- */

int
bench_options(bench_kernel *b,
              lvat_options *o,
              const char *dir,
              lvat_durability durability,
              unsigned spare_states)
{
    lvat_lua_options lo;
    lvat_errbuf eb;

    memset(b, 0, sizeof *b);
    lvat_lua_options_init(&lo);
    lo.spare_states = spare_states;
    if (lvat_lua_runtime_new(&lo, &b->rt, &eb) != LVAT_OK) {
        fprintf(stderr, "bench: Lua runtime: %s\n", eb.msg);
        return -1;
    }
    lvat_options_init(o);
    o->dir = dir;
    o->durability = durability;
    o->vat_ops = lvat_lua_vat_ops();
    o->vat_ops_ud = b->rt;
    return 0;
}

int
bench_open(bench_kernel *b, const lvat_options *o)
{
    char err[1024];

    if (lvat_kernel_open(o, &b->k, err, sizeof err) != LVAT_OK) {
        fprintf(stderr, "bench: open %s: %s\n", o->dir, err);
        return -1;
    }
    return 0;
}

void
bench_close(bench_kernel *b)
{
    lvat_kernel_close(b->k);
    b->k = NULL;
    lvat_lua_runtime_free(b->rt);
    b->rt = NULL;
}

void
bench_on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    bench_kernel *b = ud;

    if (ev == LVAT_LAUNCH_STARTED) {
        snprintf(b->root, sizeof b->root, "%s", info->root);
    } else if (ev == LVAT_LAUNCH_DONE) {
        b->launched++;
        b->done = 1;
    } else {
        fprintf(stderr, "bench: launch failed: %s\n", info->errmsg);
        b->done = -1;
    }
}

int
bench_launch(bench_kernel *b, const char *path)
{
    b->done = 0;
    if (lvat_kernel_launch_file(b->k, path, bench_on_launch, b) != LVAT_OK ||
        lvat_kernel_run(b->k) != LVAT_OK || b->done != 1) {
        fprintf(stderr, "bench: launch %s: %s\n", path,
                lvat_kernel_errmsg(b->k));
        return -1;
    }
    return 0;
}

static void
on_result(void *ud, int status, const lvat_value *v)
{
    bench_kernel *b = ud;

    if (status != LVAT_OK)
        fprintf(stderr, "bench: rejected: %.*s\n", (int)v->body_len, v->body);
    b->done = status == LVAT_OK ? 1 : -1;
}

int
bench_call(bench_kernel *b,
           const char *target,
           const char *method,
           const char *args_json)
{
    b->done = 0;
    if (lvat_kernel_queue_message(b->k, target, method, args_json, on_result,
                                  b) != LVAT_OK ||
        lvat_kernel_run(b->k) != LVAT_OK || b->done != 1) {
        fprintf(stderr, "bench: %s.%s(%s) failed: %s\n", target, method,
                args_json, lvat_kernel_errmsg(b->k));
        return -1;
    }
    return 0;
}
