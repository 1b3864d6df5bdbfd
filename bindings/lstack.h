/*
 * Stack-balance checks for Lua C functions (debug builds only: Debian's
 * liblua5.4 is built without LUA_USE_APICHECK, so nothing else would
 * notice an unbalanced stack).
 *
 *   LVAT_STACK_ENTER(L);
 *   ... push one value ...
 *   LVAT_STACK_LEAVE(L, +1);
 */
#ifndef LVAT_LSTACK_H
#define LVAT_LSTACK_H

#include <assert.h>

#include <lua.h>

#ifdef NDEBUG
#define LVAT_STACK_ENTER(L) ((void)0)
#define LVAT_STACK_LEAVE(L, n) ((void)0)
#else
#define LVAT_STACK_ENTER(L) int lvat_stack_top_ = lua_gettop(L)
#define LVAT_STACK_LEAVE(L, n) assert(lua_gettop(L) == lvat_stack_top_ + (n))
#endif

#endif
