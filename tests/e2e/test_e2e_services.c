/*
 * Host services with real Lua vats (issue 4): registered from C, given to
 * a launch by name, called with E(service):method(...), answered now or
 * later, kept across restarts with the same kref; system-only services
 * and the kernel facet are refused to ordinary launches.
 */
#include "lvat_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_kernel.h"

static const char *user_cfg =
    "{\"bootstrap\":\"u\",\"services\":[\"clock\",\"echo\"],\"vats\":{"
    "\"u\":{\"sourceSpec\":\"svcuser.lua\"}}}";

typedef struct host_state {
    int calls;
    lvat_call *held; /* a call answered later */
    char last_args[256];
} host_state;

/* A pure service: answers inside the crank. */
static void
clock_service(void *ud, lvat_call *call)
{
    host_state *h = ud;

    h->calls++;
    if (strcmp(lvat_call_method(call), "ghost") == 0)
        assert_lvat_ok(lvat_call_return(call, "[{\"@kref\":\"kp999\"}]"));
    else if (strcmp(lvat_call_method(call), "silent") == 0)
        return; /* never answers */
    else if (strcmp(lvat_call_method(call), "now") == 0)
        assert_lvat_ok(lvat_call_return(call, "{\"ticks\":42}"));
    else
        assert_lvat_ok(lvat_call_reject(call, "clock: no such method"));
}

/* An ordinary service: echoes, holds "later" calls, rejects "fail". */
static void
echo_service(void *ud, lvat_call *call)
{
    host_state *h = ud;
    const char *m = lvat_call_method(call);

    h->calls++;
    snprintf(h->last_args, sizeof h->last_args, "%s", lvat_call_args(call));
    if (strcmp(m, "later") == 0)
        h->held = call;
    else if (strcmp(m, "fail") == 0)
        assert_lvat_ok(lvat_call_reject(call, "echo refuses"));
    else if (strcmp(m, "ghost") == 0) /* a kref that does not exist */
        assert_lvat_ok(lvat_call_return(call, "{\"@kref\":\"ko999\"}"));
    else if (strcmp(m, "bad") == 0) {
        assert_int_equal(lvat_call_return(call, "{not json"), LVAT_EINVAL);
        assert_lvat_ok(lvat_call_return(call, "\"recovered\""));
    } else
        assert_lvat_ok(lvat_call_return(call, lvat_call_args(call)));
}

static void
register_all(lk *t, host_state *h)
{
    assert_lvat_ok(lvat_kernel_register_service(t->k, "clock", clock_service,
                                                h, LVAT_SERVICE_PURE));
    assert_lvat_ok(lvat_kernel_register_service(t->k, "echo", echo_service, h,
                                                0));
    assert_lvat_ok(lvat_kernel_register_service(
        t->k, "secret", echo_service, h, LVAT_SERVICE_SYSTEM_ONLY));
}

static void
test_services_called_from_lua(void **state)
{
    host_state h = {0};
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_int_equal(lvat_kernel_register_service(t.k, "echo", echo_service,
                                                  &h, 0),
                     LVAT_EEXISTS);
    assert_lvat_ok(lk_launch(&t, user_cfg));
    assert_non_null(strstr(t.launch_result, "[\"clock\", \"echo\"]"));
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"now\"]", LVAT_OK, "42");
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"later\"]", LVAT_EREJECTED,
                 "clock: no such method");
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"say\", \"hi\", 3]", LVAT_OK,
                 "[\"hi\", 3]");
    assert_string_equal(h.last_args, "[\"hi\",3]");
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"fail\"]", LVAT_EREJECTED,
                 "echo refuses");
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"bad\"]", LVAT_OK,
                 "recovered");
    assert_int_equal(h.calls, 5);

    lk_close(&t);
}

/* An answer naming a kref that does not exist (a host may return any
 * text, or a kref collected since it saw it) rejects the call, pure or
 * not; it failed its crank with a kernel error, and lvat_kernel_run
 * returned LVAT_ENOTFOUND from then on. */
static void
test_services_answer_naming_a_gone_kref(void **state)
{
    host_state h = {0};
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_lvat_ok(lk_launch(&t, user_cfg));
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"ghost\"]", LVAT_EREJECTED,
                 "[KERNEL:OBJECT_DELETED] ko999 no longer exists");
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"ghost\"]", LVAT_EREJECTED,
                 "[KERNEL:OBJECT_DELETED] kp999 no longer exists");
    assert_true(lk_log_has(&t, "a host service's answer was refused"));
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"say\", \"on\"]", LVAT_OK,
                 "[\"on\"]");
    lk_close(&t);
}

/* A service's name may hold any byte: a quote and a backslash reach the
 * bootstrap (escaped in its message) and the service answers. */
static void
test_services_named_with_quotes(void **state)
{
    host_state h = {0};
    lk t;

    (void)state;
    lk_open(&t);
    assert_lvat_ok(lvat_kernel_register_service(t.k, "e\"c\\ho", echo_service,
                                                &h, 0));
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"u\",\"services\":"
                                 "[\"e\\\"c\\\\ho\"],\"vats\":{\"u\":"
                                 "{\"sourceSpec\":\"svcuser.lua\"}}}"));
    assert_non_null(strstr(t.launch_result, "e\\\"c\\\\ho"));
    lk_expect_at(&t, t.root, "call", "[\"e\\\"c\\\\ho\", \"say\", 7]", LVAT_OK,
                 "[7]");
    assert_int_equal(h.calls, 1);
    lk_close(&t);
}

static void
test_services_answer_later_and_across_restart(void **state)
{
    host_state h = {0};
    int st;
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_lvat_ok(lk_launch(&t, user_cfg));
    /* Answered after the run went idle. */
    char *r = lk_call(&t, t.root, "call", "[\"echo\", \"later\", 1]", &st);
    assert_int_equal(st, LVAT_EPENDING);
    free(r);
    assert_non_null(h.held);
    assert_lvat_ok(lvat_call_return(h.held, "\"late answer\""));
    assert_int_equal(lvat_call_return(h.held, "1"), LVAT_ESTATE);
    h.held = NULL;
    assert_lvat_ok(lvat_kernel_run(t.k));
    /* Never answered before a restart: rejected at the next open. */
    r = lk_call(&t, t.root, "call", "[\"echo\", \"later\", 2]", &st);
    assert_int_equal(st, LVAT_EPENDING);
    free(r);
    h.held = NULL; /* the kernel frees it when it closes */
    lk_restart(&t);
    register_all(&t, &h);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_int_equal(lk_count(&t, "svccall."), 0);
    /* Same krefs after the restart: the baggage-kept presences work. */
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"again\"]", LVAT_OK, "[]");
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"now\"]", LVAT_OK, "42");
    lk_close(&t);
}

static void
test_services_unregistered_after_restart(void **state)
{
    host_state h = {0};
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_lvat_ok(lk_launch(&t, user_cfg));
    lk_restart(&t); /* nobody registers this time */
    lk_expect_at(&t, t.root, "call", "[\"echo\", \"x\"]", LVAT_EREJECTED,
                 "echo");
    /* The store knows the name, but a new launch cannot have it. */
    assert_int_equal(lk_launch(&t, user_cfg), LVAT_ECONFIG);
    assert_non_null(strstr(t.launch_err,
                           "no registered kernel service 'clock'"));
    lk_close(&t);
}

static void
test_services_refused_to_ordinary_launches(void **state)
{
    host_state h = {0};
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_int_equal(
        lk_launch(&t, "{\"bootstrap\":\"u\",\"services\":[\"secret\"],"
                      "\"vats\":{\"u\":{\"sourceSpec\":\"svcuser.lua\"}}}"),
        LVAT_ECONFIG);
    assert_non_null(strstr(t.launch_err,
                           "no registered kernel service 'secret'"));
    assert_int_equal(
        lk_launch(&t, "{\"bootstrap\":\"u\",\"services\":[\"nosuch\"],"
                      "\"vats\":{\"u\":{\"sourceSpec\":\"svcuser.lua\"}}}"),
        LVAT_ECONFIG);
    assert_non_null(strstr(t.launch_err,
                           "no registered kernel service 'nosuch'"));
    assert_int_equal(lk_count(&t, "sub."), 0);
    assert_int_equal(lk_count(&t, "vat."), 0);
    /* A system subcluster may have the system-only service. */
    lk_add_system(&t, "admin",
                  "{\"bootstrap\":\"u\",\"services\":[\"secret\","
                  "\"kernelFacet\"],\"vats\":{\"u\":{\"sourceSpec\":"
                  "\"svcuser.lua\"}}}");
    lk_restart(&t);
    register_all(&t, &h);
    assert_lvat_ok(lvat_kernel_run(t.k));
    assert_lvat_ok(lvat_kernel_system_root(t.k, "admin", t.root,
                                           sizeof t.root));
    lk_expect_at(&t, t.root, "call", "[\"secret\", \"tell\", \"x\"]", LVAT_OK,
                 "x");
    lk_expect_at(&t, t.root, "call", "[\"kernelFacet\", \"ping\"]", LVAT_OK,
                 "pong");
    lk_close(&t);
}

/* The kernel's rejections of service calls name the service: a pure one
 * that returned without answering, and a call lost to a restart, were
 * rejected with no word of which service it was. */
static void
test_services_rejections_name_the_service(void **state)
{
    host_state h = {0};
    lk_dump d;
    char *r, *v, key[64] = "";
    int st;
    lk t;

    (void)state;
    lk_open(&t);
    register_all(&t, &h);
    assert_lvat_ok(lk_launch(&t, user_cfg));
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"silent\"]",
                 LVAT_EREJECTED,
                 "kernel service \\\"clock\\\" returned from silent() "
                 "without answering");
    r = lk_call(&t, t.root, "call", "[\"echo\", \"later\"]", &st);
    assert_int_equal(st, LVAT_EPENDING);
    free(r);
    lk_dump_db(&t, LVAT_DB_KERNEL, &d);
    for (size_t i = 0; i < d.n; i++)
        if (strncmp(d.e[i].key, "svccall.", 8) == 0)
            snprintf(key, sizeof key, "%s.v", d.e[i].key + 8);
    lk_dump_free(&d);
    assert_true(key[0] != '\0');
    h.held = NULL; /* the kernel frees it when it closes */
    lk_restart(&t);
    v = lk_get(&t, LVAT_DB_KERNEL, key);
    assert_non_null(v);
    assert_non_null(strstr(v, "[KERNEL:SERVICE_LOST] the kernel stopped "
                              "before the host service \\\"echo\\\" "
                              "answered"));
    free(v);
    lk_close(&t);
}

/* A pure service is called inside a crank: running or closing the
 * kernel from it must be refused as from any callback.  Stepping hit the
 * assertion that no crank is open (an abort), and closing freed the
 * kernel under the crank (a crash). */
typedef struct reentry {
    lk *t;
    int step_rc;
} reentry;

static void
reentering_service(void *ud, lvat_call *call)
{
    reentry *r = ud;
    uint32_t ran = 7;

    r->step_rc = lvat_kernel_step(r->t->k, 1, 0, &ran);
    assert_int_equal(ran, 0);
    lvat_kernel_close(r->t->k); /* ignored */
    assert_lvat_ok(lvat_call_return(call, "\"still here\""));
}

static void
test_services_pure_cannot_run_or_close(void **state)
{
    reentry r = {0};
    lk t;

    (void)state;
    lk_open(&t);
    r.t = &t;
    assert_lvat_ok(lvat_kernel_register_service(
        t.k, "clock", reentering_service, &r, LVAT_SERVICE_PURE));
    assert_lvat_ok(lk_launch(&t, "{\"bootstrap\":\"u\",\"services\":"
                                 "[\"clock\"],\"vats\":{\"u\":"
                                 "{\"sourceSpec\":\"svcuser.lua\"}}}"));
    lk_expect_at(&t, t.root, "call", "[\"clock\", \"now\"]", LVAT_OK,
                 "still here");
    assert_int_equal(r.step_rc, LVAT_ESTATE);
    assert_true(lk_log_has(&t, "lvat_kernel_close called from a callback"));
    lk_close(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_services_called_from_lua),
        cmocka_unit_test(test_services_answer_naming_a_gone_kref),
        cmocka_unit_test(test_services_named_with_quotes),
        cmocka_unit_test(test_services_answer_later_and_across_restart),
        cmocka_unit_test(test_services_unregistered_after_restart),
        cmocka_unit_test(test_services_refused_to_ordinary_launches),
        cmocka_unit_test(test_services_pure_cannot_run_or_close),
        cmocka_unit_test(test_services_rejections_name_the_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
