/*
 * Internals shared by json_dom.c (the DOM) and json_index.c (finding an
 * object's keys) only.
 */
#ifndef LVAT_JSON_INT_H
#define LVAT_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "json.h"

/* Whether obj (an object) has `key`; its position in *at when it does. */
bool lvat__json_find_key(const lvat_json *obj, const char *key, size_t klen,
                         size_t *at);
/* Indexes the member just stored at obj->keys[obj->len] (before len grows).
 * Never fails: without memory the object is searched linearly. */
void lvat__json_index_added(lvat_json *obj);

#endif
