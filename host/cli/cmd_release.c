/*
 * luavat release KREF...: a new process opens the directory, lets go of
 * each kref a result or a launch showed the host (lvat_kernel_release),
 * and runs until the run queue is empty, so what nothing else holds is
 * collected before it exits.
 */
#include "cli.h"

#include <stdio.h>

static const char help[] =
    "usage: luavat release [--db DIR] KREF...\n"
    "\n"
    "Lets go of krefs that run or send printed.  The kernel keeps every\n"
    "kref it shows the host alive, since the host may send to it later;\n"
    "released, an object nothing else holds is collected and its vat told\n"
    "so.  A kref the host does not hold (never shown, or released already)\n"
    "is an error (exit 1); the others are still released.\n";

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
    if (o.nargs == 0) {
        cli_error("release needs at least one KREF (see luavat release "
                  "--help)");
        return CLI_USAGE;
    }
    if ((rc = cli_open(&o, false, &k)) != 0)
        return rc;
    for (int i = 0; i < o.nargs; i++) {
        rc = lvat_kernel_release(k, o.args[i]);
        if (rc != LVAT_OK) {
            cli_error("%s", lvat_kernel_errmsg(k));
            if (code == CLI_OK)
                code = rc == LVAT_EINVAL ? CLI_USAGE : CLI_REJECTED;
        }
    }
    if (lvat_kernel_run(k) != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(k));
        code = CLI_SETUP;
    }
    cli_close(k);
    return code;
}
