/*
 * Lua's standard libraries for every vat's state, from a recipe
 * (llibs.c): a runtime opens them once, in a scratch state, and records
 * what they hold; each vat's state is then filled from the record.
 */
#ifndef LVAT_LLIBS_H
#define LVAT_LLIBS_H

#include <lauxlib.h>
#include <lua.h>

#include "lvat_err.h"
#include "lvat_lua.h"

typedef struct lvat_lua_libs lvat_lua_libs;

/* Opens the libraries in a scratch state and records them.  LVAT_ENOMEM,
 * or LVAT_EVAT when they hold a value the recipe cannot make again (a
 * Lua function, say: not Lua 5.4's libraries). */
int lvat_lua_libs_new(lvat_lua_libs **out, lvat_errbuf *err);
/* NULL is a no-op. */
void lvat_lua_libs_free(lvat_lua_libs *r);

/*
 * Makes the libraries in L as opening them would: the global table (the
 * runtime's env), package.loaded, base, string (with luavat's pattern
 * functions and format, no dump, its metatable protected), table, math,
 * utf8 and coroutine.  The vat's env at `venv` gets the allowed base
 * functions and string, table, math and utf8 themselves; the global table
 * gets coroutine and, as its string, a table of its own holding only the
 * string functions the runtime calls (llibs.c says why).
 * [-0, +0, m]
 */
void lvat_lua_libs_open(lua_State *L, const lvat_lua_libs *r, int venv);

/* Makes the string library on top what vats get: luavat's pattern
 * functions and format, no dump, and the string metatable protected
 * (getmetatable("") gives "string").  [-0, +0, e] */
void lvat_lua_patch_string(lua_State *L);

/* lbounded.c: replace string.rep (in the table at idx) and table.insert,
 * remove, move, concat and sort by versions whose loops a kill of the vat
 * stops (lvat_lua_vat(L), if not NULL).  [-0, +0, e] */
void lvat_lua_open_bounded_string(lua_State *L, int idx);
void lvat_lua_open_bounded_table(lua_State *L, int idx);

/* Sets the C functions of `l` in the table on top, as luaL_setfuncs(L,
 * l, 0) does in a table without metamethods, with raw sets of names
 * pushed with their length (lua_setfield looks each one up in Lua's
 * string cache first, comparing it twice).  [-0, +0, m] */
void lvat_lua_set_funcs(lua_State *L, const luaL_Reg *l);

/* The runtime's recipe (lwatchdog.c). */
const lvat_lua_libs *lvat_lua_runtime_libs(const lvat_lua_runtime *rt);

#endif
