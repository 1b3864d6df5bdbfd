/*
 * luavat run [--db DIR] CONFIG.json: launch a subcluster, run until the
 * run queue is empty, print "subcluster sN root koM" and then the
 * bootstrap result (or the reason the launch failed).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: luavat run [--db DIR] [--durability MODE] [--json] [--reset]\n"
    "                  CONFIG.json\n"
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
    "Exit codes: 0 ok, 1 the launch failed (a vat raised, the bootstrap\n"
    "was rejected), 2 usage, 3 config, store or lock problem, 4 bootstrap\n"
    "still pending when the queue emptied.\n";

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
    if (o.nargs != 1) {
        cli_error("run needs one CONFIG.json (see luavat run --help)");
        return CLI_USAGE;
    }
    memset(&s, 0, sizeof s);
    s.json = o.json;
    if ((rc = cli_open(&o, false, &s.k)) != 0)
        return rc;
    rc = lvat_kernel_launch_file(s.k, o.args[0], on_launch, &s);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s.k));
        cli_close(s.k);
        return CLI_SETUP;
    }
    rc = lvat_kernel_run(s.k);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s.k));
        s.exit_code = CLI_SETUP;
    } else if (!s.finished) {
        printf("<%s pending>\n", s.started ? s.kp : "bootstrap");
        s.exit_code = CLI_PENDING;
    }
    cli_close(s.k);
    return s.exit_code;
}
