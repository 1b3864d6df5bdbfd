/*
 * The crank's cache of promise records (kpcache.c): more promises than it
 * holds in one crank, a write-back that fails on the way, and an abort
 * all leave the store exactly as the crank's outcome says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernel_fixture.h"
#include "kernel_int.h"
#include "lvat_test.h"

#define MANY 40 /* more than the cache's slots */

static void
crank_begin(kf *f)
{
    lvat_kv_crank_begin(f->k->kv);
    lvat__kpc_begin(f->k);
}

static void
assert_promises(kf *f, const lvat_kref *kps, size_t n, bool present)
{
    for (size_t i = 0; i < n; i++) {
        lvat_kprom p;
        int rc = lvat__kp_get(f->k, kps[i], &p);
        if (rc == LVAT_OK)
            lvat__kp_release(&p);
        assert_int_equal(rc, present ? LVAT_OK : LVAT_ENOTFOUND);
    }
}

/* An eviction whose write fails keeps the record dirty: nothing is lost
 * when the crank later commits. */
static void
test_kpcache_failed_write_back_loses_nothing(void **state)
{
    kf *f = *state;
    lvat_kref kps[MANY + 1];
    lvat_kprom p;

    assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[MANY]));
    crank_begin(f);
    for (int i = 0; i < MANY - 8; i++) /* exactly fills the cache */
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[i]));
    lvat_alloc_fail_after(1, 0);
    /* Loading one more evicts the oldest, whose write fails. */
    assert_lvat_ok(lvat__kp_get(f->k, kps[MANY], &p));
    lvat_alloc_fail_after(0, 0);
    lvat__kp_release(&p);
    for (int i = MANY - 8; i < MANY; i++)
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[i]));
    assert_lvat_ok(lvat__kpc_end(f->k, true));
    lvat_kv_crank_commit(f->k->kv);
    assert_promises(f, kps, MANY + 1, true);
}

/* An aborted crank leaves no trace of promises it made, even those
 * written back early. */
static void
test_kpcache_abort_forgets_everything(void **state)
{
    kf *f = *state;
    lvat_kref kps[MANY];
    size_t before = kf_count_promises(f);

    crank_begin(f);
    for (int i = 0; i < MANY; i++)
        assert_lvat_ok(lvat__kp_new(f->k, LVAT_NO_DECIDER, &kps[i]));
    lvat__kpc_end(f->k, false);
    lvat_kv_crank_abort(f->k->kv);
    assert_int_equal(kf_count_promises(f), before);
    assert_promises(f, kps, MANY, false);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_kpcache_failed_write_back_loses_nothing, kf_test_setup,
            kf_test_teardown),
        cmocka_unit_test_setup_teardown(test_kpcache_abort_forgets_everything,
                                        kf_test_setup, kf_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
