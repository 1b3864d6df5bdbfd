/*
 * luavat status and luavat inspect KREF: read-only views.  Both open the
 * store read-only (no lock, no restore, no launch) and change nothing, so
 * they work beside a running kernel.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char status_help[] =
    "usage: luavat status [--db DIR] [--json] [--stats]\n"
    "\n"
    "Prints one line per subcluster (id, system name if any, root kref,\n"
    "its vats' ids and names), then the number of kernel objects and\n"
    "promises and the length of the run queue.  --stats prints where the\n"
    "kernel's time went instead, over every run of this store: Lua\n"
    "execution, marshalling, kernel routing and LMDB, in seconds, share\n"
    "and microseconds per crank.  Opens the store read-only.\n";

static const char inspect_help[] =
    "usage: luavat inspect [--db DIR] KREF\n"
    "\n"
    "Shows one kernel object (ko7) or promise (kp3): owner or decider,\n"
    "reference counts, promise state and value, and the c-list entry of\n"
    "every vat that holds it.  Opens the store read-only.\n";

static void
print_sub(const lvat_json *s)
{
    const lvat_json *vats = lvat_json_get(s, "vats");
    const char *id = lvat_json_get_str(s, "id");
    const char *name = lvat_json_get_str(s, "name");
    const char *root = lvat_json_get_str(s, "root");
    const char *state = lvat_json_get_str(s, "state");

    printf("%s", id ? id : "?");
    if (name)
        printf(" %s", name);
    printf(" root %s", root ? root : "-");
    if (state && strcmp(state, "ready") != 0)
        printf(" (%s)", state);
    printf(" vats");
    for (size_t i = 0; vats && i < vats->len; i++)
        printf("%s %s %s", i ? "," : "",
               vats->items[i]->type == LVAT_JSON_STRING ? vats->items[i]->str
                                                         : "?",
               vats->keys[i]);
    putchar('\n');
}

static int
print_status(const char *text)
{
    lvat_json *doc = NULL;
    const lvat_json *subs, *n;

    if (lvat_json_parse(text, strlen(text), false, &doc, NULL, 0) != LVAT_OK)
        return CLI_SETUP;
    subs = lvat_json_get(doc, "subclusters");
    for (size_t i = 0; subs && i < subs->len; i++)
        print_sub(subs->items[i]);
    if ((n = lvat_json_get(doc, "objects")))
        printf("objects: %lld\n", (long long)n->i);
    if ((n = lvat_json_get(doc, "promises")))
        printf("promises: %lld\n", (long long)n->i);
    if ((n = lvat_json_get(doc, "queue")))
        printf("queue: %lld\n", (long long)n->i);
    lvat_json_free(doc);
    return CLI_OK;
}

static double
num(const lvat_json *j)
{
    return j && (j->type == LVAT_JSON_INT || j->type == LVAT_JSON_FLOAT)
               ? j->d
               : 0.0;
}

static void
print_part(const lvat_json *parts, const char *name, const char *label)
{
    const lvat_json *p = lvat_json_get(parts, name);
    const lvat_json *s = lvat_json_get(p, "seconds");
    const lvat_json *us = lvat_json_get(p, "perCrankUs");
    const lvat_json *share = lvat_json_get(p, "share");

    if (s && us && share)
        printf("  %-16s %10.3f s %6.1f%% %9.2f us/crank\n", label,
               num(s), num(share),
               num(us));
}

static int
print_stats(const char *text)
{
    lvat_json *doc = NULL;
    const lvat_json *parts;

    if (lvat_json_parse(text, strlen(text), false, &doc, NULL, 0) != LVAT_OK)
        return CLI_SETUP;
    printf("cranks %lld (%lld timed), deliveries %lld, blocks %lld, %.3f s "
           "in all\n",
           (long long)num(lvat_json_get(doc, "cranks")),
           (long long)num(lvat_json_get(doc, "timedCranks")),
           (long long)num(lvat_json_get(doc, "deliveries")),
           (long long)num(lvat_json_get(doc, "blocks")),
           num(lvat_json_get(doc, "seconds")));
    parts = lvat_json_get(doc, "parts");
    print_part(parts, "lua", "Lua execution");
    print_part(parts, "marshal", "marshalling");
    print_part(parts, "routing", "kernel routing");
    print_part(parts, "lmdb", "LMDB");
    lvat_json_free(doc);
    return CLI_OK;
}

static int
readonly_command(int argc, char **argv, const char *name, const char *help,
                 int nargs, cli_opts *o, lvat_kernel **k)
{
    int rc = cli_parse(argc, argv, name, o);

    if (rc != 0)
        return rc;
    if (o->help) {
        fputs(help, stdout);
        return -1;
    }
    if (o->nargs != nargs) {
        cli_error("%s takes %d argument%s (see luavat %s --help)", name,
                  nargs, nargs == 1 ? "" : "s", name);
        return CLI_USAGE;
    }
    return cli_open(o, true, k);
}

int
cmd_status(int argc, char **argv)
{
    lvat_kernel *k;
    cli_opts o;
    char *text = NULL;
    int rc = readonly_command(argc, argv, "status", status_help, 0, &o, &k);

    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    rc = o.stats ? lvat_kernel_stats_json(k, &text)
                 : lvat_kernel_status_json(k, &text);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(k));
        rc = CLI_SETUP;
    } else if (o.json) {
        puts(text);
        rc = CLI_OK;
    } else {
        rc = o.stats ? print_stats(text) : print_status(text);
    }
    free(text);
    cli_close(k);
    return rc;
}

int
cmd_inspect(int argc, char **argv)
{
    lvat_kernel *k;
    lvat_json *doc = NULL;
    lvat_buf b = LVAT_BUF_INIT;
    cli_opts o;
    char *text = NULL;
    int rc = readonly_command(argc, argv, "inspect", inspect_help, 1, &o, &k);

    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    rc = lvat_kernel_inspect_json(k, o.args[0], &text);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(k));
        rc = rc == LVAT_EINVAL ? CLI_USAGE : CLI_REJECTED;
    } else if (o.json ||
               lvat_json_parse(text, strlen(text), false, &doc, NULL, 0)) {
        puts(text);
        rc = CLI_OK;
    } else {
        lvat_json_write_pretty(&b, doc);
        puts(b.data ? b.data : "");
        rc = CLI_OK;
    }
    lvat_buf_free(&b);
    lvat_json_free(doc);
    free(text);
    cli_close(k);
    return rc;
}
