/*
 * luavat release KREF...: a new process opens the directory, lets go of
 * each kref a result or a launch showed the host (lvat_kernel_release),
 * and runs until the run queue is empty, so what nothing else holds is
 * collected before it exits.
 */
#include "cli.h"

#include <stdio.h>

static const char help[] =
    "usage: luavat release [--db DIR] KREF... (up to 16)\n"
    "\n"
    "Lets go of krefs that a result of run or send printed.  The kernel\n"
    "keeps every kref it shows the host alive (one hold per kref, however\n"
    "often it was shown), since the host may send to it later; released,\n"
    "an object nothing else holds is collected and its vat told so.  The\n"
    "others are still released when one fails.  Exit codes: 1 a kref the\n"
    "host does not hold (never shown, released already, or a subcluster's\n"
    "root, which needs no release), 2 a malformed kref, 3 a store problem.\n";

int
cmd_release(int argc, char **argv)
{
    lvat_kernel *k;
    cli_opts o;
    int rc = cli_parse(argc, argv, "release", &o), code = CLI_OK;

    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(help, stdout);
        return CLI_OK;
    }
    o.need_store = true;
    if (o.nargs == 0) {
        cli_error("release needs at least one KREF (see luavat release "
                  "--help)");
        return CLI_USAGE;
    }
    if ((rc = cli_open(&o, false, &k)) != 0)
        return rc;
    for (int i = 0; i < o.nargs; i++) {
        int c = CLI_OK;
        rc = lvat_kernel_release(k, o.args[i]);
        if (rc == LVAT_OK)
            continue;
        cli_error("%s", lvat_kernel_errmsg(k));
        c = rc == LVAT_EINVAL      ? CLI_USAGE
            : rc == LVAT_ENOTFOUND ? CLI_REJECTED
                                   : CLI_SETUP;
        if (c > code) /* the worst: 3 over 2 over 1 */
            code = c;
    }
    if (lvat_kernel_run(k) != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(k));
        code = CLI_SETUP;
    }
    cli_close(k);
    return code;
}
