/*
 * luavat: the program.  This is the composition root: the only place that
 * picks the Lua runtime (bindings/lvat_lua.h) for the kernel.  Commands
 * live in cmd_*.c; shared option parsing and printing in cli.c.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: luavat <command> [options] [arguments]\n"
    "\n"
    "Commands:\n"
    "  run [CONFIG.json]         launch a subcluster (and the system ones),\n"
    "                            run until the queue is empty\n"
    "  send KREF METHOD [ARGS]   send one message and print its result\n"
    "  status                    list subclusters, vats, queue length "
    "(read-only)\n"
    "  inspect KREF              show an object or promise (read-only)\n"
    "  relaunch ID               reload a subcluster from its stored config\n"
    "                            (new vats, fresh state)\n"
    "  release KREF...           let go of krefs run or send printed\n"
    "\n"
    "Options every command accepts (before or after its arguments):\n"
    "  --db DIR                  kernel state directory (default "
    "$LUAVAT_DB,\n"
    "                            else ./.luavat)\n"
    "  --durability MODE         sync (default), nometasync or nosync\n"
    "  --json                    print results as raw capdata\n"
    "  --kernel-config FILE      system subclusters: {\"systemSubclusters\":\n"
    "                            [{\"name\": N, \"config\": CLUSTER}]}, CLUSTER\n"
    "                            a ClusterConfig or its file's path\n"
    "  --prune                   delete system subclusters the kernel config\n"
    "                            no longer lists (and all their state)\n"
    "  -h, --help                show help for a command\n"
    "\n"
    "Exit codes: 0 ok, 1 the message was rejected, 2 usage, 3 config, store\n"
    "or lock problem, 4 the result was still pending when the queue "
    "emptied.\n";

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;

    if (cmd == NULL || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage, cmd ? stdout : stderr);
        return cmd ? CLI_OK : CLI_USAGE;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "send") == 0)
        return cmd_send(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "relaunch") == 0)
        return cmd_relaunch(argc - 1, argv + 1);
    if (strcmp(cmd, "release") == 0)
        return cmd_release(argc - 1, argv + 1);
    cli_error("unknown command \"%s\" (try luavat --help)", cmd);
    return CLI_USAGE;
}
