/*
 * luavat run [--kernel-config FILE] [CONFIG.json]: bring the system
 * subclusters up and launch a subcluster, run until the run queue is
 * empty, print "subcluster sN root koM" and then the bootstrap result (or
 * the reason the launch failed).  luavat relaunch ID does the same for a
 * subcluster reloaded from its stored config.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char help[] =
    "usage: luavat run [--db DIR] [--durability MODE] [--json] [--reset]\n"
    "                  [--kernel-config FILE [--prune]] [CONFIG.json]\n"
    "\n"
    "Launches the subcluster described by the ClusterConfig file (its\n"
    "sourceSpecs are relative to the file), runs the kernel until its run\n"
    "queue is empty, and prints\n"
    "  subcluster sN root koM\n"
    "then the bootstrap result: a string as its text, tables as JSON-like\n"
    "text, presences as <ko7 Name>.  An existing --db directory keeps its\n"
    "state; the new subcluster is added beside what it holds, unless\n"
    "--reset wipes the directory's state first.\n"
    "\n"
    "With --kernel-config, the system subclusters it lists are brought up\n"
    "first (launched once, restored on later opens; --prune deletes those\n"
    "no longer listed) and each is printed as\n"
    "  system NAME sN root koM\n"
    "CONFIG.json is then optional.\n"
    "\n"
    "Exit codes: 0 ok, 1 the launch failed (a vat raised, the bootstrap\n"
    "was rejected; a system subcluster's too), 2 usage, 3 config, store\n"
    "or lock problem, 4 bootstrap still pending when the queue emptied.\n";

typedef struct run_state {
    lvat_kernel *k;
    bool json;
    bool started, finished;
    int exit_code;
    char kp[32], root[32];
} run_state;

static void
on_launch(void *ud, lvat_launch_event ev, const lvat_launch_info *info)
{
    run_state *s = ud;

    switch (ev) {
    case LVAT_LAUNCH_STARTED:
        s->started = true;
        snprintf(s->kp, sizeof s->kp, "%s", info->bootstrap_kp);
        snprintf(s->root, sizeof s->root, "%s", info->root);
        printf("subcluster %s root %s\n", info->subcluster, info->root);
        fflush(stdout);
        break;
    case LVAT_LAUNCH_DONE:
        s->finished = true;
        cli_print_value(s->k, &info->result, s->json);
        break;
    case LVAT_LAUNCH_FAILED:
        s->finished = true;
        s->exit_code = CLI_REJECTED;
        if (info->status == LVAT_EREJECTED)
            cli_error("%s: bootstrap of %s was rejected: %s",
                      info->root ? info->root : "?", info->subcluster,
                      info->errmsg);
        else
            cli_error("%s", info->errmsg);
        break;
    }
}

/* "system NAME sN root koM" for each system subcluster. */
static void
print_systems(lvat_kernel *k)
{
    lvat_json *doc = NULL;
    const lvat_json *subs;
    char *text = NULL;

    if (lvat_kernel_status_json(k, &text) != LVAT_OK ||
        lvat_json_parse(text, strlen(text), false, &doc, NULL, 0) != LVAT_OK) {
        free(text);
        return;
    }
    subs = lvat_json_get(doc, "subclusters");
    for (size_t i = 0; subs && i < subs->len; i++) {
        const lvat_json *sub = subs->items[i];
        const char *name = lvat_json_get_str(sub, "name");
        const char *root = lvat_json_get_str(sub, "root");
        if (name != NULL)
            printf("system %s %s root %s\n", name,
                   lvat_json_get_str(sub, "id"), root ? root : "-");
    }
    lvat_json_free(doc);
    free(text);
}

/* Runs until idle, prints what is left to say; the exit code. */
static int
run_to_end(run_state *s, bool launched)
{
    int rc = lvat_kernel_run(s->k);

    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s->k));
        s->exit_code = CLI_SETUP;
    } else if (launched && !s->finished) {
        printf("<%s pending>\n", s->started ? s->kp : "bootstrap");
        s->exit_code = CLI_PENDING;
    }
    cli_close(s->k);
    return s->exit_code;
}

int
cmd_run(int argc, char **argv)
{
    run_state s;
    cli_opts o;
    int rc = cli_parse(argc, argv, "run", &o);

    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(help, stdout);
        return CLI_OK;
    }
    if (o.nargs > 1 || (o.nargs == 0 && o.kernel_config == NULL)) {
        cli_error("run needs one CONFIG.json, or --kernel-config FILE (see "
                  "luavat run --help)");
        return CLI_USAGE;
    }
    o.must_read = o.nargs == 1 ? o.args[0] : NULL;
    memset(&s, 0, sizeof s);
    s.json = o.json;
    if ((rc = cli_open(&o, false, &s.k)) != 0)
        return rc;
    if (o.kernel_config != NULL) {
        /* System subclusters first, so their lines come before the rest. */
        if ((rc = lvat_kernel_run(s.k)) == LVAT_OK)
            print_systems(s.k);
        if (rc == LVAT_OK && cli_systems_down(s.k) > 0)
            s.exit_code = CLI_REJECTED;
        if (rc != LVAT_OK || o.nargs == 0)
            return run_to_end(&s, false);
    }
    rc = lvat_kernel_launch_file(s.k, o.args[0], on_launch, &s);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s.k));
        cli_close(s.k);
        return CLI_SETUP;
    }
    return run_to_end(&s, true);
}

static const char relaunch_help[] =
    "usage: luavat relaunch [--db DIR] [--json] [--kernel-config FILE] ID\n"
    "\n"
    "Reloads subcluster ID (s3) from its stored config, reading its source\n"
    "files again: its vats are terminated and their state deleted, new vats\n"
    "with new ids get a fresh bootstrap.  A system subcluster keeps its\n"
    "name.  Prints what run prints.  When the config no longer loads (a\n"
    "source file is gone) nothing changes and it exits 1.\n";

int
cmd_relaunch(int argc, char **argv)
{
    run_state s;
    cli_opts o;
    int rc = cli_parse(argc, argv, "relaunch", &o);

    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(relaunch_help, stdout);
        return CLI_OK;
    }
    o.need_store = true;
    if (o.nargs != 1) {
        cli_error("relaunch needs one subcluster ID (see luavat relaunch "
                  "--help)");
        return CLI_USAGE;
    }
    memset(&s, 0, sizeof s);
    s.json = o.json;
    if ((rc = cli_open(&o, false, &s.k)) != 0)
        return rc;
    rc = lvat_kernel_reload_subcluster(s.k, o.args[0], on_launch, &s);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s.k));
        cli_close(s.k);
        return rc == LVAT_EINVAL ? CLI_USAGE : CLI_REJECTED;
    }
    return run_to_end(&s, true);
}

