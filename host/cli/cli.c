/*
 * What every command shares: option parsing (options anywhere, --db
 * falling back to $LUAVAT_DB then ./.luavat), opening the kernel with the
 * Lua runtime, and printing values and errors.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lvat_lua.h"

static lvat_lua_runtime *runtime;
static cli_kconfig kconfig;

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("luavat: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int
option_value(int argc, char **argv, int *i, const char **out)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');

    if (eq != NULL) {
        *out = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", arg);
        return CLI_USAGE;
    }
    *out = argv[++*i];
    return 0;
}

static bool
is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);

    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int
cli_parse(int argc, char **argv, const char *command, cli_opts *o)
{
    const char *env = getenv("LUAVAT_DB");

    memset(o, 0, sizeof *o);
    o->db = env && *env ? env : "./.luavat";
    o->durability = "sync";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            o->help = true;
        else if (is_opt(a, "--db"))
            rc = option_value(argc, argv, &i, &o->db);
        else if (is_opt(a, "--durability"))
            rc = option_value(argc, argv, &i, &o->durability);
        else if (strcmp(a, "--json") == 0)
            o->json = true;
        /* --reset wipes the directory: only run, which starts afresh,
         * takes it; elsewhere a stray one must not cost the state. */
        else if (strcmp(a, "--reset") == 0 && strcmp(command, "run") == 0)
            o->reset = true;
        else if (strcmp(a, "--prune") == 0)
            o->prune = true;
        else if (strcmp(a, "--stats") == 0 && strcmp(command, "status") == 0)
            o->stats = true;
        else if (is_opt(a, "--kernel-config"))
            rc = option_value(argc, argv, &i, &o->kernel_config);
        else if (a[0] == '-' && a[1] != '\0') {
            cli_error("%s: unknown option %s (see luavat %s --help)", command,
                      a, command);
            return CLI_USAGE;
        } else if (o->nargs == CLI_MAX_ARGS) {
            cli_error("%s: too many arguments", command);
            return CLI_USAGE;
        } else {
            o->args[o->nargs++] = a;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
durability(const char *s, lvat_durability *out)
{
    if (strcmp(s, "sync") == 0)
        *out = LVAT_DURABILITY_SYNC;
    else if (strcmp(s, "nometasync") == 0)
        *out = LVAT_DURABILITY_NOMETASYNC;
    else if (strcmp(s, "nosync") == 0)
        *out = LVAT_DURABILITY_NOSYNC;
    else
        return -1;
    return 0;
}

/* Whether `dir` holds a store (LMDB's data file), as a read-only open
 * checks. */
static bool
has_store(const char *dir)
{
    char data[PATH_MAX + 16];

    snprintf(data, sizeof data, "%s/data.mdb", dir);
    return access(data, F_OK) == 0;
}

int
cli_open(const cli_opts *o, bool readonly, lvat_kernel **k)
{
    lvat_options opts;
    lvat_errbuf eb;
    char err[1200];
    int rc;

    lvat_options_init(&opts);
    if (getenv("LUAVAT_DEBUG") != NULL)
        opts.log_level = LVAT_LOG_DEBUG;
    opts.dir = o->db;
    /* Only run (or a kernel config's system subclusters) makes a new
     * store: elsewhere a missing one is a mistyped --db, which would
     * otherwise get an empty store and "ko1: no such object". */
    if (o->need_store && o->kernel_config == NULL && !has_store(o->db)) {
        cli_error("no luavat state in %s (luavat run makes it)", o->db);
        return CLI_SETUP;
    }
    opts.readonly = readonly;
    opts.reset = o->reset && !readonly;
    if (durability(o->durability, &opts.durability) != 0) {
        cli_error("--durability must be sync, nometasync or nosync, not %s",
                  o->durability);
        return CLI_USAGE;
    }
    if (o->must_read != NULL && access(o->must_read, R_OK) != 0) {
        cli_error("cannot read %s: %s", o->must_read, strerror(errno));
        return CLI_SETUP;
    }
    if (!readonly && runtime == NULL) {
        lvat_errbuf_clear(&eb);
        if (lvat_lua_runtime_new(NULL, &runtime, &eb) != LVAT_OK) {
            cli_error("%s", eb.msg);
            return CLI_SETUP;
        }
    }
    /* Checked even read-only, where the store's own list is what counts. */
    if (o->kernel_config &&
        (rc = cli_kconfig_load(o->kernel_config, &kconfig)) != 0)
        return rc;
    opts.system_subclusters = kconfig.subs;
    opts.nsystem_subclusters = kconfig.nsubs;
    opts.prune = o->prune;
    opts.vat_ops = lvat_lua_vat_ops();
    opts.vat_ops_ud = runtime;
    rc = lvat_kernel_open(&opts, k, err, sizeof err);
    if (rc != LVAT_OK) {
        cli_error("%s", err);
        cli_kconfig_free(&kconfig);
        return CLI_SETUP;
    }
    return 0;
}

size_t
cli_systems_down(lvat_kernel *k)
{
    char root[64];
    size_t down = 0;

    for (size_t i = 0; i < kconfig.nsubs; i++)
        if (lvat_kernel_system_root(k, kconfig.subs[i].name, root,
                                    sizeof root) != LVAT_OK)
            down++;
    return down;
}

void
cli_close(lvat_kernel *k)
{
    lvat_kernel_close(k);
    cli_kconfig_free(&kconfig);
    lvat_lua_runtime_free(runtime);
    runtime = NULL;
}

static void
print_json_string(const char *s, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

void
cli_print_value(lvat_kernel *k, const lvat_value *v, bool json)
{
    char *text;

    if (json) {
        fputs("{\"body\":", stdout);
        print_json_string(v->body, v->body_len);
        fputs(",\"slots\":[", stdout);
        for (size_t i = 0; i < v->nslots; i++)
            printf("%s\"%s\"", i ? "," : "", v->slots[i]);
        fputs("]}\n", stdout);
        return;
    }
    text = lvat_value_render(k, v);
    if (text == NULL) {
        cli_error("out of memory");
        return;
    }
    puts(text);
    free(text);
}
