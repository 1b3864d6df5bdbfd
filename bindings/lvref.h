/*
 * Vrefs on the Lua side of a vat.  The runtime keeps a vref as a Lua
 * integer of its bits (lvat_vref.v), never as its text: slot tables keyed
 * by integers need no string made, interned and collected per message.
 * Text is made only for people (errors) and store keys.  Included by
 * lbind.h.
 */
#ifndef LVAT_LVREF_H
#define LVAT_LVREF_H

#include <stdbool.h>

#include <lua.h>

#include "kref.h"

/* ---- lsyscall.c ---- */
/* Pushes the vref as its integer.  [-0, +1, -] */
void lvat_lua_push_vref(lua_State *L, lvat_vref v);
/* The vref at idx: such an integer, or a vref's text (what the tests' raw
 * syscalls pass).  False when it is neither.  [-0, +0, -] */
bool lvat_lua_to_vref(lua_State *L, int idx, lvat_vref *out);
/* Reads a vref argument or raises.  [-0, +0, v] */
lvat_vref lvat_lua_check_vref(lua_State *L, int idx);
/* Pushes a vref's text ("o-5").  [-0, +1, m] */
void lvat_lua_push_vref_text(lua_State *L, lvat_vref v);

/* ---- lvatstore.c ---- */
/* Pushes the vatstore key counting the baggage values that name the
 * imported object at idx ("rc.o-5"); false (nothing pushed) for any
 * other vref.  [-0, +(0|1), m] */
bool lvat_lua_push_ref_key(lua_State *L, int idx);
/* Whether baggage values name the vref at idx (its count, see
 * baggage.lua), read without loading the module.  [-0, +0, e] */
bool lvat_lua_held_by_baggage(lua_State *L, int idx);

#endif
