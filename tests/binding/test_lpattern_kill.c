/*
 * What the rewrite of the pattern functions is for: a kill stops them.  A
 * fake vat sits in a plain lua_State's extra space and a SIGALRM handler
 * sets its `killed` flag, as the watchdog's signal does in the runtime;
 * pathological searches (exponential backtracking, and the quadratic
 * plain find, literal, %b and back-reference cases) must then fail with
 * the kill's message within a second.  Also: the instruction-budget mode
 * (a deadline, no signal), vats that are not killed, and gmatch's
 * recursion limit after an error.  Results are compared with Lua's own
 * in test_lpattern.c.
 */
#include "lvat_test.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>

#include "lbind.h"

/* ---- Fixture ---- */

/* A plain state with Lua's libraries and ours as the global M. */
static int
setup(void **state)
{
    lua_State *L = luaL_newstate();

    assert_non_null(L);
    /* No vat yet: luaL_newstate leaves the extra space uninitialised. */
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
    luaL_openlibs(L);
    lua_newtable(L);
    lvat_lua_open_patterns(L, -1);
    lua_setglobal(L, "M");
    *state = L;
    return 0;
}

static int
teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* Runs `code` (Lua, in the global environment); fails on an error. */
static void
run_lua(lua_State *L, const char *code)
{
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("%s\n  %s", code, lua_tostring(L, -1));
    lua_settop(L, 0);
}

/* ---- Kills ---- */

static lvat_lvat *volatile alarm_vat; /* the SIGALRM handler kills it */

static void
on_alarm(int sig)
{
    (void)sig;
    if (alarm_vat != NULL)
        alarm_vat->killed = LVAT_KILL_TIME;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fake vat in L's extra space, as the runtime would have. */
static void
fake_vat(lua_State *L, lvat_lvat *v)
{
    static char name[] = "pat";

    memset(v, 0, sizeof *v);
    v->name = name;
    v->id = 7;
    v->time_limit_ms = 100;
    *(lvat_lvat **)lua_getextraspace(L) = v;
}

/* Kills v in ms milliseconds (SIGALRM, on this thread). */
static void
kill_in(lvat_lvat *v, long ms)
{
    struct sigaction sa;
    struct itimerval it;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    memset(&it, 0, sizeof it);
    it.it_value.tv_usec = ms * 1000;
    alarm_vat = v;
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* Whether s ends with suffix. */
static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Runs code (one line), which must fail within `limit` seconds with an
 * error that holds `want` and ends with where the code was stopped, its
 * line 1 (luaL_error puts the caller's position first, too). */
static void
expect_stopped(lua_State *L, const char *code, const char *want, double limit)
{
    double t0 = now_s(), took;
    int st = luaL_dostring(L, code);
    char at[256];

    took = now_s() - t0;
    snprintf(at, sizeof at, "%s at [string \"", want);
    if (st == LUA_OK || strstr(lua_tostring(L, -1), at) == NULL ||
        !ends_with(lua_tostring(L, -1), "\"]:1"))
        fail_msg("%s: status %d, %s (want \"%s\")", code, st,
                 lua_tostring(L, -1), want);
    if (took > limit)
        fail_msg("%s: stopped only after %.2f s", code, took);
    lua_settop(L, 0);
}

#define KILLED "pat (v7) time budget of 100 ms exceeded"

static double
stop_limit(void)
{
    return lvat_test_under_valgrind() ? 20.0 : 1.0;
}

static void
test_lpattern_kill_stops_matching(void **state)
{
    static const char *const codes[] = {
        "return M.find(string.rep('a', 20000), '.-.-.-b')",
        "return M.match(string.rep('a', 20000), '.-.-.-b')",
        "for _ in M.gmatch(string.rep('a', 20000), '.-.-.-b') do end",
        "return M.gsub(string.rep('a', 20000), '.-.-.-b', 'x')",
        "return M.gsub(string.rep('a', 20000), '.-.-.-b', function() end)",
        /* The quadratic ones: a plain needle, a literal pattern, %b and
         * a back-reference. */
        "return M.find(string.rep('a', 1 << 20), "
        "string.rep('a', 1 << 19) .. 'b', 1, true)",
        "return M.gsub(string.rep('a', 100000), "
        "string.rep('a', 50000) .. 'b', '')",
        "return M.gsub(string.rep('(', 200000), '%b()', '')",
        "return M.find(string.rep('a', 200000), '(a*)%1b')",
    };
    lua_State *L = *state;
    lvat_lvat v;

    fake_vat(L, &v);
    for (size_t i = 0; i < LVAT_ARRAY_LEN(codes); i++) {
        v.killed = LVAT_KILL_NONE;
        v.kill_where[0] = '\0';
        kill_in(&v, 50);
        expect_stopped(L, codes[i], KILLED, stop_limit());
        assert_int_equal(v.killed, LVAT_KILL_TIME);
    }
    alarm_vat = NULL;
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
}

/* Once killed, every later search fails too, even under pcall (in a vat
 * the kill hook also fires on the Lua side). */
static void
test_lpattern_kill_is_sticky(void **state)
{
    lua_State *L = *state;
    lvat_lvat v;

    fake_vat(L, &v);
    kill_in(&v, 50);
    run_lua(L, "local s = string.rep('a', 20000)\n"
               "local n = 0\n"
               "for i = 1, 3 do\n"
               "  local ok, e = pcall(M.find, s, '.-.-.-b')\n"
               "  if not ok and e:find('time budget', 1, true) then\n"
               "    n = n + 1\n"
               "  end\n"
               "end\n"
               "assert(n == 3, n)");
    alarm_vat = NULL;
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
}

/* With the instruction-budget watchdog (no signal) the matcher itself
 * notices the deadline and kills the vat. */
static void
test_lpattern_deadline_stops_matching(void **state)
{
    lua_State *L = *state;
    lvat_lvat v;
    struct timespec ts;

    fake_vat(L, &v);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    v.deadline_us =
        (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u + 50000u;
    expect_stopped(L, "return M.find(string.rep('a', 20000), '.-.-.-b')",
                   KILLED, stop_limit());
    assert_int_equal(v.killed, LVAT_KILL_TIME);
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
}

/* A vat that is not killed, or no vat at all, runs to the end. */
static void
test_lpattern_unkilled_runs_to_completion(void **state)
{
    lua_State *L = *state;
    lvat_lvat v;
    const char *code = "assert(M.find(string.rep('a', 300), '.-.-b') == nil)\n"
                       "assert(M.gsub(string.rep('ab', 1 << 18), 'b', '')\n"
                       "       == string.rep('a', 1 << 18))";

    run_lua(L, code);
    fake_vat(L, &v);
    run_lua(L, code);
    assert_int_equal(v.killed, LVAT_KILL_NONE);
    *(lvat_lvat **)lua_getextraspace(L) = NULL;
}

/*
 * The one deliberate difference from Lua 5.4.4: its gmatch iterator does
 * not restore the recursion limit when a match raises, so calling it
 * again recurses without bound (with a long enough pattern, until the C
 * stack overflows).  Ours raises "pattern too complex" every time.
 */
static void
test_lpattern_gmatch_keeps_limit_after_error(void **state)
{
    lua_State *L = *state;

    run_lua(L, "local it = M.gmatch(string.rep('a', 1e5),\n"
               "                    string.rep('a?', 1e5))\n"
               "for i = 1, 3 do\n"
               "  local ok, e = pcall(it)\n"
               "  assert(not ok and e == 'pattern too complex', e)\n"
               "end");
}

int
main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_lpattern_kill_stops_matching),
        T(test_lpattern_kill_is_sticky),
        T(test_lpattern_deadline_stops_matching),
        T(test_lpattern_unkilled_runs_to_completion),
        T(test_lpattern_gmatch_keeps_limit_after_error),
    };
#undef T
    return cmocka_run_group_tests_name("lpattern_kill", tests, NULL, NULL);
}
