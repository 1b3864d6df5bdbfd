/*
 * Library functions whose C loops a vat could make endless.  The kill
 * hook runs only between Lua instructions, so a loop in C that neither
 * runs Lua code nor allocates (which the memory cap would stop) could
 * outlive the vat's time budget: string.rep("", 2^62), table.move({}, 1,
 * 1e15, 2), table.remove on a table whose __len says 1e15, table.concat
 * through a C function as __index.  These versions check, every few
 * thousand steps, whether the vat has been stopped; otherwise they do
 * what Lua 5.4.4's do, with the same arguments, results and errors (a
 * review compared them with Lua's on 131,425 calls; test_e2e_sandbox
 * compares the errors with stock lua5.4's).
 */
#include "lbind.h"
#include "llibs.h"

#include <lauxlib.h>

#define CHECK_EVERY 4096

/* Counts a step of a loop; every CHECK_EVERY, raises the vat's kill
 * message if it has been stopped. */
static void
step(lua_State *L, lua_Integer *n)
{
    if (++*n % CHECK_EVERY == 0)
        lvat_lua_check_stopped(L, lvat_lua_vat(L));
}

/* string.rep(s, n [, sep]) with nothing to repeat makes "" at once (Lua's
 * copies nothing n times); the rest goes to Lua's (upvalue 1), whose
 * result the memory cap bounds. */
static int
l_rep(lua_State *L)
{
    size_t l, lsep;
    lua_Integer n;

    luaL_checklstring(L, 1, &l);
    n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* The length of the table at 1, through __len as Lua's library asks.
 * (Lua's also takes a non-table with __index, __newindex and __len; a vat
 * has no such value.) */
static lua_Integer
length(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    return luaL_len(L, 1);
}

/* table.insert(t, [pos,] v) */
static int
l_insert(lua_State *L)
{
    lua_Integer e = length(L), pos, steps = 0;

    e = (lua_Integer)((lua_Unsigned)e + 1u); /* the first empty slot */
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
                      "position out of bounds");
        for (lua_Integer i = e; i > pos; i--) {
            step(L, &steps);
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

/* table.remove(t [, pos]) */
static int
l_remove(lua_State *L)
{
    lua_Integer size = length(L), steps = 0;
    lua_Integer pos = luaL_optinteger(L, 2, size);

    /* Argument 1, as Lua 5.4.4 (which vats run) words it. */
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1,
                      "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        step(L, &steps);
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) */
static int
l_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4), n, steps = 0;
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    bool up;

    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, tt, LUA_TTABLE);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3,
                      "too many elements to move");
        n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4,
                      "destination wrap around");
        /* Forwards unless the ranges overlap with the target above. */
        up = t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt,
                                                              LUA_OPEQ));
        for (lua_Integer i = 0; i < n; i++) {
            lua_Integer k = up ? i : n - 1 - i;
            step(L, &steps);
            lua_geti(L, 1, f + k);
            lua_seti(L, tt, t + k);
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* table.concat(t [, sep [, i [, j]]]) */
static int
l_concat(lua_State *L)
{
    luaL_Buffer b;
    lua_Integer last = length(L), steps = 0;
    size_t lsep;
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);

    last = luaL_optinteger(L, 4, last);
    luaL_buffinit(L, &b);
    for (; i <= last; i++) {
        step(L, &steps);
        lua_geti(L, 1, i);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "invalid value (%s) at index %I in table "
                                 "for 'concat'",
                              luaL_typename(L, -1), (LUAI_UACINT)i);
        luaL_addvalue(&b);
        if (i == last)
            break;
        luaL_addlstring(&b, sep, lsep);
    }
    luaL_pushresult(&b);
    return 1;
}

/* Strings longer than this make a comparison cost more than a step. */
#define SORT_LONG_STRING 64

/* The comparator l_sort hands Lua's sort for a table of long strings:
 * a < b as the default order, but as a call, which the kill hook (it
 * also fires on calls) stops, and a look at the kill flag (the count
 * budget fires only between instructions). */
static int
sort_less(lua_State *L)
{
    lvat_lua_check_stopped(L, lvat_lua_vat(L));
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
    return 1;
}

/* Whether the sequence at 1 holds a long string. */
static bool
has_long_string(lua_State *L)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1), steps = 0;
    bool found = false;

    for (lua_Integer i = 1; i <= n && !found; i++) {
        step(L, &steps);
        found = lua_rawgeti(L, 1, i) == LUA_TSTRING &&
                lua_rawlen(L, -1) > SORT_LONG_STRING;
        lua_pop(L, 1); /* the element */
    }
    return found;
}

/* table.sort: Lua's (upvalue 1) for a table whose elements are read and
 * written raw, and whose length is its own: the loop is then bounded by
 * the table's size.  A metatable with __len, __index or __newindex could
 * drive it without end, through C functions the kill cannot stop.  With
 * no comparator, Lua compares strings in C, each comparison as long as
 * the strings (2 s per 20,000 copies of a 128 KB string), so a table
 * holding a long one is sorted with sort_less. */
static int
l_sort(lua_State *L)
{
    static const char *const fields[] = {"__len", "__index", "__newindex"};

    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getmetatable(L, 1)) {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            lua_pushstring(L, fields[i]);
            if (lua_rawget(L, -2) != LUA_TNIL)
                return luaL_error(L, "table.sort: a table whose metatable "
                                     "has %s is not sorted in a vat (sort a "
                                     "plain copy)",
                                  fields[i]);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (lua_isnoneornil(L, 2) && has_long_string(L)) {
        lua_settop(L, 1);
        lua_pushcfunction(L, sort_less);
    }
    return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* Replaces f in the table at idx by `with`, given the original as its
 * upvalue when `wrap`. */
static void
replace(lua_State *L, int idx, const char *f, lua_CFunction with, bool wrap)
{
    if (wrap) {
        lua_getfield(L, idx, f);
        if (lua_tocfunction(L, -1) == NULL)
            luaL_error(L, "the library has no C function %s", f);
        lua_pushcclosure(L, with, 1);
    } else {
        lua_pushcfunction(L, with);
    }
    lua_setfield(L, idx, f);
}

void
lvat_lua_open_bounded_string(lua_State *L, int idx)
{
    replace(L, lua_absindex(L, idx), "rep", l_rep, true);
}

void
lvat_lua_open_bounded_table(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    replace(L, idx, "insert", l_insert, false);
    replace(L, idx, "remove", l_remove, false);
    replace(L, idx, "move", l_move, false);
    replace(L, idx, "concat", l_concat, false);
    replace(L, idx, "sort", l_sort, true);
}
