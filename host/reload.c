/*
 * Reloading a subcluster: its stored config is launched again (sources
 * read afresh from its config directory) with new ids, fresh state and a
 * fresh bootstrap.  The old vats are terminated only once the new ones
 * have started (launch.c's take_over), just before the new bootstrap: a
 * reload that cannot work changes nothing, whether its config cannot be
 * loaded (a source file gone, a service no longer registered) or its
 * vats cannot start (a syntax error, a module not found, a
 * buildRootObject that throws or exits).  A system subcluster keeps its
 * name, which then maps to the new id.  Reached from the kernel facet
 * (reloadSubcluster) and from the host (lvat_kernel_reload_subcluster,
 * `luavat relaunch`).
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "config_int.h"
#include "json.h"

/* Loads the stored config of `rec` into a plan. */
static int
stored_plan(lvat_kernel *k, const lvat_json *rec, uint32_t sub,
            lvat_launch_plan **plan, lvat_errbuf *err)
{
    const lvat_json *config = lvat_json_get(rec, "config");
    const char *dir = lvat_json_get_str(rec, "configDir");
    lvat_buf text = LVAT_BUF_INIT;
    char what[64];
    int rc;

    if (!lvat_json_is_object(config))
        return lvat_errbuf_set(err, LVAT_ECORRUPT,
                               "subcluster s%u has no stored config: "
                               "database may be corrupted",
                               sub);
    if ((rc = lvat_json_write(&text, config)) != LVAT_OK)
        return rc;
    snprintf(what, sizeof what, "reload of s%u", sub);
    rc = lvat__plan_from_stored(text.data, text.len, dir ? dir : ".", what,
                                k->sources, plan, err);
    lvat_buf_free(&text);
    return rc;
}

int
lvat__sub_reload(lvat_kernel *k, uint32_t sub, lvat_launch_ctx *ctx,
                 lvat_errbuf *err)
{
    lvat_launch_plan *plan = NULL;
    lvat_json *rec = NULL;
    const char *bad;
    char *name = NULL;
    int rc = lvat__sub_read(k, sub, &rec);

    if (rc == LVAT_ENOTFOUND)
        return lvat_errbuf_set(err, rc, "subcluster s%u does not exist", sub);
    if (rc == LVAT_OK && lvat_json_get_str(rec, "name") &&
        (name = lvat_strdup(lvat_json_get_str(rec, "name"))) == NULL)
        rc = LVAT_ENOMEM;
    if (rc == LVAT_OK)
        rc = stored_plan(k, rec, sub, &plan, err);
    lvat_json_free(rec);
    if (rc == LVAT_OK &&
        (bad = lvat__plan_missing_service(k, plan, name != NULL)) != NULL)
        rc = lvat_errbuf_set(err, LVAT_ECONFIG,
                             "reload of s%u: no registered kernel service "
                             "'%s'",
                             sub, bad);
    ctx->system_name = name;
    ctx->replaces = sub;
    if (rc == LVAT_OK)
        rc = lvat__launch_plan_apply(k, plan, ctx, NULL);
    ctx->system_name = NULL;
    ctx->replaces = 0;
    lvat__launch_plan_free(plan);
    lvat_free(name);
    return rc;
}

/* ---- From the host ---- */

int
lvat__reload_apply(lvat_kernel *k, lvat_req *r)
{
    lvat_launch_ctx ctx;
    lvat_errbuf err;
    char sid[32];
    int rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.request = r->id;
    lvat_errbuf_clear(&err);
    rc = lvat__sub_reload(k, r->sub, &ctx, &err);
    if (rc == LVAT_ENOMEM || err.msg[0] == '\0')
        return rc;
    /* The reload could not happen: say why, keep the kernel going. */
    lvat__log(k, LVAT_LOG_WARN, "%s", err.msg);
    snprintf(sid, sizeof sid, "s%u", r->sub);
    return lvat__output_launch(k, r, LVAT_LAUNCH_FAILED, sid, (lvat_kref){0},
                               (lvat_kref){0}, NULL, rc, err.msg);
}

int
lvat_kernel_reload_subcluster(lvat_kernel *k, const char *sub,
                              lvat_launch_cb cb, void *ud)
{
    lvat_json *rec = NULL;
    lvat_req *r;
    uint32_t id;
    int rc;

    if (k->opts.readonly)
        return lvat__fail(k, LVAT_EREADONLY, "the kernel is open read-only");
    if (sub == NULL || lvat_subid_parse(sub, strlen(sub), &id) != LVAT_OK)
        return lvat__fail(k, LVAT_EINVAL,
                          "%s is not a subcluster id (like s3)",
                          sub ? sub : "(null)");
    if ((rc = lvat__sub_read(k, id, &rec)) != LVAT_OK)
        return rc == LVAT_ENOTFOUND
                   ? lvat__fail(k, rc, "%s: no such subcluster", sub)
                   : lvat__fail(k, rc, "reading %s: %s", sub,
                                lvat_strerror(rc));
    lvat_json_free(rec);
    if ((r = lvat_calloc(1, sizeof *r)) == NULL)
        return lvat__fail(k, LVAT_ENOMEM, "out of memory");
    r->type = LVAT_REQ_RELOAD;
    r->sub = id;
    r->lcb = cb;
    r->ud = ud;
    return lvat__req_queue(k, r);
}
