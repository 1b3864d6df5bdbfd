/*
 * Tables generated from LVAT_ERR_MAP.  Nothing here allocates or keeps
 * state; per-kernel error messages live on the kernel (kernel.c).
 */
#include "lvat_err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define LVAT_ERR_STR(name, msg) msg,
#define LVAT_ERR_NAME(name, msg) "LVAT_E" #name,

static const char *const messages[] = {LVAT_ERR_MAP(LVAT_ERR_STR)};
static const char *const names[] = {LVAT_ERR_MAP(LVAT_ERR_NAME)};

static int
index_of(int code)
{
    int i = code - (LVAT_ERR_FIRST_ + 1);

    if (code >= 0 || i < 0 || i >= (int)(sizeof(names) / sizeof(names[0])))
        return -1;
    return i;
}

const char *
lvat_strerror(int code)
{
    int i;

    if (code == LVAT_OK)
        return "success";
    i = index_of(code);
    return i < 0 ? "unknown error" : messages[i];
}

const char *
lvat_err_name(int code)
{
    int i;

    if (code == LVAT_OK)
        return "LVAT_OK";
    i = index_of(code);
    return i < 0 ? "LVAT_E?" : names[i];
}

void
lvat_errbuf_clear(lvat_errbuf *e)
{
    if (e == NULL)
        return;
    e->code = LVAT_OK;
    e->msg[0] = '\0';
}

int
lvat_errbuf_set(lvat_errbuf *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}
