/* Helpers of the GC tests: see gx_census.h. */
#include "lvat_test.h"

#include <stdio.h>
#include <string.h>

#include "gx_census.h"

void
gx_census(lk *t, census *c)
{
    c->ko = lk_count(t, "ko");
    c->kp = lk_count(t, "kp");
    c->c1 = lk_count(t, "v1.c.");
    c->c2 = lk_count(t, "v2.c.");
    c->gc = lk_count(t, "gc.");
    c->pins = lk_count(t, "pin.");
}

void
gx_expect_same(const census *a, const census *b, const char *what)
{
    if (memcmp(a, b, sizeof *a) != 0)
        fail_msg("%s: ko %zu->%zu kp %zu->%zu v1.c %zu->%zu v2.c %zu->%zu "
                 "gc %zu->%zu pin %zu->%zu",
                 what, a->ko, b->ko, a->kp, b->kp, a->c1, b->c1, a->c2,
                 b->c2, a->gc, b->gc, a->pins, b->pins);
}

void
gx_open(lk *t)
{
    lk_open(t);
    t->reap_interval = 1; /* every vat collects after each delivery */
    lk_restart(t);
    assert_lvat_ok(lk_launch(t, GX_CLUSTER));
}

void
gx_expect(lk *t, const char *vat, const char *method, const char *args,
          const char *want)
{
    char root[32];

    lk_root(t, vat, root);
    lk_expect_at(t, root, method, args, LVAT_OK, want);
}

const char *
gx_next_kref(const char *from, const char *prefix, char out[32])
{
    const char *at = strstr(from, prefix);

    assert_non_null(at);
    snprintf(out, 32, "%.*s", (int)strspn(at + 2, "0123456789") + 2, at);
    return at + 2;
}

void
gx_begin(lk *t, census *before)
{
    gx_open(t);
    gx_expect(t, "v1", "received", "[]", "0");
    gx_census(t, before);
}
