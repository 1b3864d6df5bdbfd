/*
 * Internals shared by json_dom.c (the DOM), json_parse.c (building it
 * from text) and json_index.c (finding an object's keys) only.
 */
#ifndef LVAT_JSON_INT_H
#define LVAT_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* lvat_json.mem: what of a node a parse's arena holds (json_parse.c).
 * NODE: the node itself (a string's bytes follow it); ITEMS: an array's
 * or object's item array and an object's keys; ROOT: the node heads the
 * arena, which freeing it gives back. */
#define LVAT_JSON_MEM_NODE  1u
#define LVAT_JSON_MEM_ITEMS 2u
#define LVAT_JSON_MEM_ROOT  4u

/* Frees the arena whose root (LVAT_JSON_MEM_ROOT) is `root`. */
void lvat__json_arena_free(lvat_json *root);

/* Whether an item array of n items is full: arrays hold 4 slots, then
 * the next power of two, so that an append grows one only when n is 0 or
 * a power of two >= 4. */
static inline bool
lvat__json_full(size_t n)
{
    return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

/* Stores a member at the end of obj, whose arrays have room for it, and
 * indexes it. */
void lvat__json_put_member(lvat_json *obj, char *key, size_t klen,
                           lvat_json *value);

/* Whether obj (an object) has `key`; its position in *at when it does. */
bool lvat__json_find_key(const lvat_json *obj, const char *key, size_t klen,
                         size_t *at);

#endif
