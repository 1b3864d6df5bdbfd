/*
 * The JSON DOM (a tree of owned lvat_json nodes, built from the pull
 * parser in json.c or by hand) and the writers, compact and pretty.  The
 * DOM is for configs, CLI arguments and status output; hot paths (bodies,
 * Lua values) use the pull parser and the string/number writers directly.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json_int.h"
#include "lvat_err.h"

/* ---- Tree ---- */

/*
 * Moves the item array (and an object's keys) of a parsed node out of its
 * arena to the heap, with room for one more item, for a change that adds
 * one.  Keys become owned one by one, as a hand-made object's are.
 */
static int
move_to_heap(lvat_json *c)
{
    size_t cap = 4, n = c->len;
    lvat_json **items;
    char **keys = NULL;
    size_t *lens = NULL;
    bool obj = c->type == LVAT_JSON_OBJECT_BEGIN;
    size_t slot = sizeof *items + (obj ? sizeof *keys + sizeof *lens : 0);

    while (cap < n + 1)
        cap *= 2;
    if (cap > SIZE_MAX / slot || (items = lvat_malloc(cap * slot)) == NULL)
        return LVAT_ENOMEM;
    if (obj) {
        keys = (char **)(items + cap);
        lens = (size_t *)(keys + cap);
        for (size_t k = 0; k < n; k++) {
            if ((keys[k] = lvat_memdup(c->keys[k], c->keylens[k])) == NULL) {
                while (k > 0)
                    lvat_free(keys[--k]);
                lvat_free(items);
                return LVAT_ENOMEM;
            }
            lens[k] = c->keylens[k];
        }
    }
    if (n)
        memcpy(items, c->items, n * sizeof *items);
    c->items = items;
    c->keys = keys;
    c->keylens = lens;
    c->mem &= (uint8_t)~LVAT_JSON_MEM_ITEMS;
    return LVAT_OK;
}

/*
 * Makes room for one more item.  An object's items, keys and key lengths
 * share one allocation (items first, so freeing items frees all three):
 * a grow is one allocation, not three.
 */
static int
grow(lvat_json *c)
{
    size_t cap = c->len == 0 ? 4 : c->len * 2;
    size_t slot = sizeof *c->items + sizeof *c->keys + sizeof *c->keylens;
    char *p;

    if (c->mem & LVAT_JSON_MEM_ITEMS)
        return move_to_heap(c);
    if (!lvat__json_full(c->len))
        return LVAT_OK;
    if (c->type != LVAT_JSON_OBJECT_BEGIN) {
        if (cap > SIZE_MAX / sizeof *c->items)
            return LVAT_ENOMEM;
        p = lvat_realloc(c->items, cap * sizeof *c->items);
        if (p == NULL)
            return LVAT_ENOMEM;
        c->items = (lvat_json **)p;
        return LVAT_OK;
    }
    if (cap > SIZE_MAX / slot || (p = lvat_malloc(cap * slot)) == NULL)
        return LVAT_ENOMEM;
    if (c->len) {
        memcpy(p, c->items, c->len * sizeof *c->items);
        memcpy(p + cap * sizeof *c->items, c->keys, c->len * sizeof *c->keys);
        memcpy(p + cap * (sizeof *c->items + sizeof *c->keys), c->keylens,
               c->len * sizeof *c->keylens);
    }
    lvat_free(c->items);
    c->items = (lvat_json **)p;
    c->keys = (char **)(p + cap * sizeof *c->items);
    c->keylens = (size_t *)(p + cap * (sizeof *c->items + sizeof *c->keys));
    return LVAT_OK;
}


lvat_json *
lvat_json_new(lvat_json_type type)
{
    lvat_json *j;

    if (type == LVAT_JSON_STRING)
        return lvat_json_new_str("", 0);
    j = lvat_calloc(1, sizeof *j);
    if (j != NULL)
        j->type = type;
    return j;
}

/* The bytes follow the node in the same allocation. */
lvat_json *
lvat_json_new_str(const char *s, size_t len)
{
    lvat_json *j;

    if (len > SIZE_MAX - sizeof *j - 1 ||
        (j = lvat_malloc(sizeof *j + len + 1)) == NULL)
        return NULL;
    memset(j, 0, sizeof *j);
    j->type = LVAT_JSON_STRING;
    j->str = (char *)(j + 1);
    if (len)
        memcpy(j->str, s, len);
    j->str[len] = '\0';
    j->len = len;
    return j;
}

lvat_json *
lvat_json_new_int(int64_t v)
{
    lvat_json *j = lvat_json_new(LVAT_JSON_INT);

    if (j != NULL) {
        j->i = v;
        j->d = (double)v;
    }
    return j;
}

/* A parsed tree's nodes are walked for what a change put on the heap;
 * the arena itself goes with the root. */
void
lvat_json_free(lvat_json *j)
{
    bool heap_items;

    if (j == NULL)
        return;
    heap_items = !(j->mem & LVAT_JSON_MEM_ITEMS);
    if (j->type == LVAT_JSON_ARRAY_BEGIN || j->type == LVAT_JSON_OBJECT_BEGIN) {
        for (size_t k = 0; k < j->len; k++) {
            lvat_json_free(j->items[k]);
            if (j->keys != NULL && heap_items)
                lvat_free(j->keys[k]);
        }
    }
    if (heap_items)
        lvat_free(j->items); /* and an object's keys and keylens with it */
    lvat_free(j->index);
    if (j->mem & LVAT_JSON_MEM_ROOT)
        lvat__json_arena_free(j);
    else if (!(j->mem & LVAT_JSON_MEM_NODE))
        lvat_free(j);
}

int
lvat_json_append(lvat_json *arr, lvat_json *value)
{
    if (!lvat_json_is_array(arr)) {
        lvat_json_free(value);
        return LVAT_EINVAL;
    }
    if (value == NULL || grow(arr) != LVAT_OK) {
        lvat_json_free(value);
        return LVAT_ENOMEM;
    }
    arr->items[arr->len++] = value;
    return LVAT_OK;
}

/* Appends a member whose key is not in obj yet, taking `key` and `value`
 * (either NULL after a failed allocation; both freed on failure). */
static int
add_member(lvat_json *obj, char *key, size_t klen, lvat_json *value)
{
    if (key == NULL || value == NULL || grow(obj) != LVAT_OK) {
        lvat_free(key);
        lvat_json_free(value);
        return LVAT_ENOMEM;
    }
    lvat__json_put_member(obj, key, klen, value);
    return LVAT_OK;
}

int
lvat_json_set_len(lvat_json *obj,
                  const char *key,
                  size_t klen,
                  lvat_json *value)
{
    size_t k;

    if (!lvat_json_is_object(obj)) {
        lvat_json_free(value);
        return LVAT_EINVAL;
    }
    if (value == NULL) /* a builder that failed inline */
        return LVAT_ENOMEM;
    if (lvat__json_find_key(obj, key, klen, &k)) {
        lvat_json_free(obj->items[k]);
        obj->items[k] = value;
        return LVAT_OK;
    }
    return add_member(obj, lvat_memdup(key, klen), klen, value);
}

int
lvat_json_set(lvat_json *obj, const char *key, lvat_json *value)
{
    return lvat_json_set_len(obj, key, strlen(key), value);
}

const lvat_json *
lvat_json_get_len(const lvat_json *obj, const char *key, size_t klen)
{
    size_t k;

    if (!lvat_json_is_object(obj) || !lvat__json_find_key(obj, key, klen, &k))
        return NULL;
    return obj->items[k];
}

const lvat_json *
lvat_json_get(const lvat_json *obj, const char *key)
{
    return lvat_json_get_len(obj, key, strlen(key));
}

const char *
lvat_json_get_str(const lvat_json *obj, const char *key)
{
    const lvat_json *v = lvat_json_get(obj, key);

    return v != NULL && v->type == LVAT_JSON_STRING ? v->str : NULL;
}

bool
lvat_json_is_array(const lvat_json *j)
{
    return j != NULL && j->type == LVAT_JSON_ARRAY_BEGIN;
}

bool
lvat_json_is_object(const lvat_json *j)
{
    return j != NULL && j->type == LVAT_JSON_OBJECT_BEGIN;
}

lvat_json *
lvat_json_clone(const lvat_json *j)
{
    lvat_json *c;
    size_t k;
    int rc = LVAT_OK;

    if (j->type == LVAT_JSON_STRING)
        return lvat_json_new_str(j->str, j->len);
    c = lvat_json_new(j->type);
    if (c == NULL)
        return NULL;
    c->i = j->i;
    c->d = j->d;
    for (k = 0; rc == LVAT_OK && k < j->len; k++) {
        if (j->type == LVAT_JSON_OBJECT_BEGIN)
            rc = add_member(c, lvat_memdup(j->keys[k], j->keylens[k]),
                            j->keylens[k], lvat_json_clone(j->items[k]));
        else
            rc = lvat_json_append(c, lvat_json_clone(j->items[k]));
    }
    if (rc != LVAT_OK) {
        lvat_json_free(c);
        return NULL;
    }
    return c;
}

/* ---- Writers ---- */

/* Length of the valid UTF-8 sequence at `u` (lead byte >= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *u, size_t avail)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, k;

    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        lo = u[0] == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = u[0] == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        lo = u[0] == 0xf0 ? 0x90 : 0x80;
        hi = u[0] == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || u[1] < lo || u[1] > hi)
        return 0;
    for (k = 2; k < n; k++) {
        if ((u[k] & 0xc0) != 0x80)
            return 0;
    }
    return n;
}

/* Written by hand: a string of control or stray high bytes escapes every
 * byte, and snprintf took ~500 instructions each. */
static void
put_escape(lvat_buf *b, unsigned char c)
{
    static const char from[] = "\"\\\n\t\r\b\f", to[] = "\"\\ntrbf";
    static const char hex[] = "0123456789abcdef";
    const char *hit = c != 0 ? strchr(from, c) : NULL;
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

    if (hit != NULL) {
        esc[1] = to[hit - from];
        lvat_buf_append(b, esc, 2);
    } else {
        lvat_buf_append(b, esc, 6);
    }
}

int
lvat_json_put_string(lvat_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0, n;

    lvat_buf_putc(b, '"');
    while (i < len) {
        if (u[i] >= 0x20 && u[i] < 0x80 && u[i] != '"' && u[i] != '\\') {
            i++;
            continue;
        }
        if (u[i] >= 0x80 && (n = utf8_len(u + i, len - i)) > 0) {
            i += n;
            continue;
        }
        lvat_buf_append(b, s + run, i - run);
        put_escape(b, u[i]);
        run = ++i;
    }
    lvat_buf_append(b, s + run, len - run);
    lvat_buf_putc(b, '"');
    return b->oom ? LVAT_ENOMEM : LVAT_OK;
}

int
lvat_json_put_double(lvat_buf *b, double d)
{
    char tmp[40];
    int prec;

    if (!isfinite(d))
        return LVAT_EINVAL;
    for (prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    return lvat_buf_puts(b, tmp);
}

/*
 * A float node as a number that reads back as a float: the parser makes
 * an integer of a number without '.' or exponent, so 3.0 and -0.0 were
 * written "3" and "-0" and came back as the integers 3 and 0.
 */
static int
put_float(lvat_buf *b, double d)
{
    size_t at = b->len;
    int rc = lvat_json_put_double(b, d);

    if (rc == LVAT_OK && strcspn(b->data + at, ".e") == b->len - at)
        rc = lvat_buf_append(b, ".0", 2);
    return rc;
}

static void
newline(lvat_buf *b, int level)
{
    lvat_buf_putc(b, '\n');
    while (level-- > 0)
        lvat_buf_append(b, "  ", 2);
}

static int write_value(lvat_buf *b, const lvat_json *j, int level, bool pretty);

static int
write_container(lvat_buf *b, const lvat_json *j, int level, bool pretty)
{
    bool obj = j->type == LVAT_JSON_OBJECT_BEGIN;
    size_t k;
    int rc;

    lvat_buf_putc(b, obj ? '{' : '[');
    for (k = 0; k < j->len; k++) {
        if (k > 0)
            lvat_buf_putc(b, ',');
        if (pretty)
            newline(b, level + 1);
        if (obj) {
            lvat_json_put_string(b, j->keys[k], j->keylens[k]);
            lvat_buf_puts(b, pretty ? ": " : ":");
        }
        rc = write_value(b, j->items[k], level + 1, pretty);
        if (rc != LVAT_OK)
            return rc;
    }
    if (pretty && j->len > 0)
        newline(b, level);
    lvat_buf_putc(b, obj ? '}' : ']');
    return b->oom ? LVAT_ENOMEM : LVAT_OK;
}

static int
write_value(lvat_buf *b, const lvat_json *j, int level, bool pretty)
{
    switch (j->type) {
    case LVAT_JSON_NULL:
        return lvat_buf_puts(b, "null");
    case LVAT_JSON_FALSE:
        return lvat_buf_puts(b, "false");
    case LVAT_JSON_TRUE:
        return lvat_buf_puts(b, "true");
    case LVAT_JSON_INT:
        return lvat_buf_put_i64(b, j->i);
    case LVAT_JSON_FLOAT:
        return put_float(b, j->d);
    case LVAT_JSON_STRING:
        return lvat_json_put_string(b, j->str, j->len);
    case LVAT_JSON_ARRAY_BEGIN:
    case LVAT_JSON_OBJECT_BEGIN:
        return write_container(b, j, level, pretty);
    default:
        return LVAT_EINVAL;
    }
}

int
lvat_json_write(lvat_buf *b, const lvat_json *j)
{
    return write_value(b, j, 0, false);
}

int
lvat_json_write_pretty(lvat_buf *b, const lvat_json *j)
{
    return write_value(b, j, 0, true);
}
