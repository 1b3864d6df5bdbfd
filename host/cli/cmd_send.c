/*
 * luavat send KREF METHOD [ARGS_JSON]: a new process opens the directory,
 * queues one message, runs until the run queue is empty (vats restart from
 * the store as needed) and prints the result as `run` does.
 */
#include "cli.h"

#include "kref.h"
#include "smallcaps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: luavat send [--db DIR] [--json] [--kernel-config FILE]\n"
    "                   KREF|NAME METHOD [ARGS_JSON]\n"
    "\n"
    "Sends KREF~.METHOD(...ARGS) and prints the result once the run queue\n"
    "is empty.  NAME (not a kref) is a system subcluster's root object.  ARGS_JSON is a JSON array; {\"@kref\": \"ko7\"} passes a\n"
    "reference.  A rejection prints its error on stderr and exits 1; a\n"
    "result still pending when the queue empties prints <pending> and exits\n"
    "4.\n";

typedef struct send_state {
    lvat_kernel *k;
    const char *target;
    bool json, done;
    int exit_code;
    char why[256]; /* what queue() found wrong, when the kernel did not */
} send_state;

static void
on_result(void *ud, int status, const lvat_value *v)
{
    send_state *s = ud;
    lvat_buf msg;
    char *text;

    s->done = true;
    if (status == LVAT_OK) {
        cli_print_value(s->k, v, s->json);
        return;
    }
    s->exit_code = CLI_REJECTED;
    /* An error record prints as its message, anything else rendered. */
    lvat_buf_init(&msg);
    if (lvat_sc_error_message(v->body, v->body_len, &msg) == LVAT_OK) {
        cli_error("%s: %s", s->target, msg.data ? msg.data : "");
        lvat_buf_free(&msg);
        return;
    }
    text = lvat_value_render(s->k, v);
    cli_error("%s: rejected with %s", s->target, text ? text : "?");
    free(text);
}

/* Queues the message; a target that is not a kref names a system
 * subcluster (brought up first when it is new). */
static int
queue(send_state *s, const char *method, const char *args)
{
    char root[64];
    lvat_kref kref;
    int rc = lvat_kernel_queue_message(s->k, s->target, method, args,
                                       on_result, s);

    if (rc != LVAT_EINVAL ||
        lvat_kref_parse(s->target, strlen(s->target), &kref) == LVAT_OK)
        return rc;
    if (lvat_kernel_system_root(s->k, s->target, root, sizeof root) !=
        LVAT_OK) {
        int run = lvat_kernel_run(s->k);
        if (run != LVAT_OK)
            return run; /* the store failed bringing one up */
        if (lvat_kernel_system_root(s->k, s->target, root, sizeof root) !=
            LVAT_OK) {
            snprintf(s->why, sizeof s->why, "%.100s is neither a kref "
                     "(ko3, kp7) nor the name of a system subcluster "
                     "(luavat status lists them)", s->target);
            return rc;
        }
    }
    return lvat_kernel_queue_message(s->k, root, method, args, on_result, s);
}

int
cmd_send(int argc, char **argv)
{
    send_state s;
    cli_opts o;
    int rc = cli_parse(argc, argv, "send", &o);

    if (rc != 0)
        return rc;
    if (o.help) {
        fputs(help, stdout);
        return CLI_OK;
    }
    o.need_store = true;
    if (o.nargs < 2 || o.nargs > 3) {
        cli_error("send needs KREF METHOD [ARGS_JSON] (see luavat send "
                  "--help)");
        return CLI_USAGE;
    }
    memset(&s, 0, sizeof s);
    s.target = o.args[0];
    s.json = o.json;
    if ((rc = cli_open(&o, false, &s.k)) != 0)
        return rc;
    rc = queue(&s, o.args[1], o.nargs == 3 ? o.args[2] : NULL);
    if (rc != LVAT_OK) {
        cli_error("%s", s.why[0] ? s.why : lvat_kernel_errmsg(s.k));
        cli_close(s.k);
        /* A bad kref or arguments is the user's; a store error is not. */
        return rc == LVAT_ENOTFOUND                        ? CLI_REJECTED
               : rc == LVAT_EINVAL || rc == LVAT_ESYNTAX ? CLI_USAGE
                                                           : CLI_SETUP;
    }
    rc = lvat_kernel_run(s.k);
    if (rc != LVAT_OK) {
        cli_error("%s", lvat_kernel_errmsg(s.k));
        s.exit_code = CLI_SETUP;
    } else if (!s.done) {
        puts("<pending>");
        s.exit_code = CLI_PENDING;
    }
    cli_close(s.k);
    return s.exit_code;
}
