/*
 * Shared by ldecode.c (smallcaps bodies through the JSON pull parser) and
 * ldecode_fast.c (the same values, for the plain bodies most messages and
 * baggage values are, straight from the text).
 */
#ifndef LVAT_LDECODE_INT_H
#define LVAT_LDECODE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

/*
 * Up to this many elements (or fields) wait on the stack so the table is
 * made at its final size: growing one from empty costs a rehash per
 * doubling, more than the rest of decoding a small value.
 */
#define PENDING 16

/* Makes the table for the n values (keyed: n key/value pairs) on top of
 * the stack and moves them into it, in order.  [-n*(1|2), +1, m] */
void lvat_lua_collect(lua_State *L, int n, bool keyed);
/* Takes the n-th element (keyed: key and value) of a table being decoded
 * from the top of the stack: the first PENDING wait there, the PENDING-th
 * makes the table, later ones go into it.  Then, after the last,
 * lvat_lua_end_items makes the table of fewer than PENDING.  The table
 * ends up where the first element was. */
void lvat_lua_add_item(lua_State *L, lua_Integer n, bool keyed);
void lvat_lua_end_items(lua_State *L, lua_Integer n, bool keyed);

/*
 * Pushes the value of text[0..len) (a body without its '#') exactly as
 * the pull parser's decoding would build it, and returns true, when it is
 * one the fast decoder takes: plain strings (no escape, no control byte,
 * no special first byte but '!'), integers of at most 18 digits, true,
 * false, null, and arrays and records of those, no deeper than 32
 * levels, with no white space.  Else returns false and leaves the stack
 * as it was: anything else (slots, bigints, floats, special records,
 * malformed text) is for the pull parser.  [-0, +(1|0), m]
 */
bool lvat_lua_fast_decode(lua_State *L, const char *text, size_t len);

/* When text[0..len) is ["method", [args]] with a plain method name and
 * arguments the fast decoder takes, pushes what lvat_lua_decode_methargs
 * would (the method name, then the n arguments or, past LVAT_STACK_ARGS,
 * a table of them) and returns n; else -1, leaving the stack as it was.
 * [-0, +(1+n|2|0), m] */
int lvat_lua_fast_methargs(lua_State *L, const char *text, size_t len);

#endif
