/*
 * The kernel object table: ko<N> -> "<owner> <reachable> <recognizable>".
 * Owners are vats or the kernel (services); "-" marks an orphan whose
 * owner is gone.  Counting rules live in refs.c.
 */
#include "kernel_int.h"

#include <stdio.h>
#include <string.h>

static int
parse_kobj(const char *p, size_t len, lvat_kobj *o)
{
    const char *end = p + len, *sp;
    uint64_t nums[2];

    sp = memchr(p, ' ', len);
    if (sp == NULL)
        return LVAT_ECORRUPT;
    o->orphaned = false;
    if (sp - p == 1 && p[0] == '-') {
        o->owner = 0;
        o->orphaned = true;
    } else if (sp - p == 6 && memcmp(p, "kernel", 6) == 0) {
        o->owner = LVAT_VATID_KERNEL;
    } else if (lvat_vatid_parse(p, (size_t)(sp - p), &o->owner) != LVAT_OK) {
        return LVAT_ECORRUPT;
    }
    if (lvat_parse_u64s(sp + 1, (size_t)(end - sp - 1), nums, 2) != LVAT_OK)
        return LVAT_ECORRUPT;
    o->reach = nums[0];
    o->recog = nums[1];
    return LVAT_OK;
}

int
lvat__ko_read(lvat_kernel *k, lvat_kref ko, lvat_kobj *o)
{
    lvat_key key;
    lvat_val v;
    int rc;

    lvat_key_kref(&key, ko);
    rc = lvat_kv_get(k->kv, LVAT_DB_KERNEL, key.b, key.n, &v);
    if (rc != LVAT_OK)
        return rc;
    if (parse_kobj(v.p, v.len, o) != LVAT_OK)
        return lvat__fail(k, LVAT_ECORRUPT,
                          "%s: bad object record: "
                          "database may be corrupted",
                          key.b);
    return LVAT_OK;
}

int
lvat__ko_write(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o,
               unsigned flags)
{
    uint64_t nums[2] = {o->reach, o->recog};
    char val[LVAT_REF_BUFSIZE + 2 * 21 + 1];
    lvat_key key;
    size_t n;

    if (o->orphaned)
        strcpy(val, "-");
    else
        lvat_vatid_format(o->owner, val);
    n = strlen(val);
    val[n++] = ' ';
    n += lvat_fmt_u64s(val + n, nums, 2);
    lvat_key_kref(&key, ko);
    return lvat_kv_put(k->kv, LVAT_DB_KERNEL, key.b, key.n, val, n, flags);
}

int
lvat__ko_erase(lvat_kernel *k, lvat_kref ko)
{
    lvat_key key;

    lvat_key_kref(&key, ko);
    return lvat_kv_del(k->kv, LVAT_DB_KERNEL, key.b, key.n);
}

/* The kernel's own access goes through the block's cache (counts.c); a
 * read-only view reads the store, which another process may change. */

int
lvat__ko_get(lvat_kernel *k, lvat_kref ko, lvat_kobj *o)
{
    if (k->opts.readonly)
        return lvat__ko_read(k, ko, o);
    return lvat__ko_cached_get(k, ko, o);
}

int
lvat__ko_put(lvat_kernel *k, lvat_kref ko, const lvat_kobj *o)
{
    if (k->opts.readonly)
        return lvat__ko_write(k, ko, o, 0);
    return lvat__ko_cached_set(k, ko, o, false);
}

int
lvat__ko_new(lvat_kernel *k, uint32_t owner, lvat_kref *out)
{
    lvat_kobj o = {owner, false, 0, 0};
    int rc = lvat__kref_alloc(k, false, out);

    if (rc != LVAT_OK)
        return rc;
    if (k->opts.readonly)
        return lvat__ko_write(k, *out, &o, LVAT_KV_NEW);
    return lvat__ko_cached_set(k, *out, &o, true);
}

int
lvat__ko_delete(lvat_kernel *k, lvat_kref ko)
{
    if (k->opts.readonly)
        return lvat__ko_erase(k, ko);
    return lvat__ko_cached_set(k, ko, NULL, false);
}
