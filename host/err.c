/*
 * Tables generated from LVAT_ERR_MAP.  Nothing here allocates or keeps
 * state; per-kernel error messages live on the kernel (kernel.c).
 */
#include "lvat_err.h"

#include <stddef.h>

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
