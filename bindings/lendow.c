/*
 * Endowments: the extra globals a vat config's "globals" may ask for
 * (design §8).  Each call builds a fresh value for one vat, so no host
 * table is ever shared between vats.
 *
 *   Date.now()          wall clock, integer milliseconds since the epoch
 *   monotonicNow()      monotonic clock, milliseconds (float)
 *   Random.int(m, n)    uniform integer in [m, n] (Random.int(n): [1, n])
 *   Random.float()      uniform float in [0, 1)
 *   Random.bytes(n)     n random bytes as a string
 *
 * Random is xoshiro256** seeded per incarnation: from the vat's
 * creationOptions.randomSeed when given (the same sequence every
 * incarnation: reproducible runs), else from the OS's entropy.
 */
#include "lbind.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <lauxlib.h>

#define RANDOM_BYTES_MAX (1u << 20)

/* ---- Clocks ---- */

static int
l_date_now(lua_State *L)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    return 1;
}

static int
l_monotonic(lua_State *L)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000.0 +
                          (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

/* ---- Random ---- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* splitmix64 spreads one 64-bit seed over the whole state. */
static void
rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}

/* A uniform value in [0, n] (n + 1 values), without modulo bias. */
static uint64_t
rng_upto(rng *r, uint64_t n)
{
    uint64_t x;

    if (n == UINT64_MAX)
        return rng_next(r);
    /* Reject the top partial bucket: at most half the draws, usually none. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % (n + 1) + 1) % (n + 1);
    do
        x = rng_next(r);
    while (x > limit);
    return x % (n + 1);
}

static rng *
self_rng(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int
l_random_int(lua_State *L)
{
    lua_Integer lo = 1, hi;

    if (lua_gettop(L) >= 2) {
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
    } else {
        hi = luaL_checkinteger(L, 1);
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L) >= 2 ? 2 : 1,
                  "Random.int: the interval is empty");
    lua_pushinteger(L, (lua_Integer)((lua_Unsigned)lo +
                                     rng_upto(self_rng(L),
                                              (lua_Unsigned)hi -
                                                  (lua_Unsigned)lo)));
    return 1;
}

static int
l_random_float(lua_State *L)
{
    /* The top 53 bits: every double in [0, 1) on a 2^-53 grid. */
    lua_pushnumber(L, (lua_Number)(rng_next(self_rng(L)) >> 11) *
                          0x1.0p-53);
    return 1;
}

static int
l_random_bytes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    rng *r = self_rng(L);
    luaL_Buffer b;

    luaL_argcheck(L, n >= 0 && n <= RANDOM_BYTES_MAX, 1,
                  "Random.bytes: n must be in [0, 1048576]");
    luaL_buffinit(L, &b);
    for (lua_Integer i = 0; i < n; i += 8) {
        uint64_t x = rng_next(r);
        size_t k = n - i < 8 ? (size_t)(n - i) : 8;
        char c[8];
        memcpy(c, &x, sizeof c);
        luaL_addlstring(&b, c, k);
    }
    luaL_pushresult(&b);
    return 1;
}

/* The Random table, with the generator as the functions' upvalue.
 * [-0, +1, m] */
static void
push_random(lua_State *L)
{
    static const luaL_Reg fns[] = {{"int", l_random_int},
                                   {"float", l_random_float},
                                   {"bytes", l_random_bytes},
                                   {NULL, NULL}};
    const lvat_lvat *v = lvat_lua_vat(L);
    rng *r;
    uint64_t seed;

    lua_createtable(L, 0, 3);
    r = lua_newuserdatauv(L, sizeof *r, 0);
    if (v->has_random_seed)
        seed = v->random_seed;
    else if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
    rng_seed(r, seed);
    luaL_setfuncs(L, fns, 1); /* pops the generator */
}

/* ---- Lookup ---- */

const char *const lvat_lua_endowment_names = "Date, monotonicNow, Random";

bool
lvat_lua_push_endowment(lua_State *L, const char *name)
{
    if (strcmp(name, "Date") == 0) {
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, l_date_now);
        lua_setfield(L, -2, "now");
        return true;
    }
    if (strcmp(name, "monotonicNow") == 0) {
        lua_pushcfunction(L, l_monotonic);
        return true;
    }
    if (strcmp(name, "Random") == 0) {
        push_random(L);
        return true;
    }
    if (strcmp(name, "rawSyscalls") == 0 &&
        lvat_lua_runtime_raw_syscalls(lvat_lua_vat(L)->rt)) {
        lvat_lua_open_raw_syscalls(L);
        return true;
    }
    return false;
}
