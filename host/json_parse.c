/*
 * The DOM parser: a document's tree is built in an arena of its own, a
 * few blocks that lvat_json_free of the root gives back at once.  Built
 * node by node (one allocation a node, key and item array, and one free
 * each), the trees of a launch's three records cost it 34,000
 * instructions, a tenth of it; the arena saves 9,600 of them.  The tree
 * is still an ordinary one to its users: a change to it (json_dom.c)
 * puts what it adds on the heap, and moves there an arena array it has
 * to grow; lvat_json_free frees what the heap holds and leaves the rest
 * to the arena.
 */
#include "json_int.h"

#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "lvat_err.h"

/* Blocks of SMALL_BLOCK bytes (the C library keeps freed blocks up to
 * 1 KB in a per-thread cache: blocks of 4 KB took ~750 instructions each
 * to allocate in a launch, those of 1 KB ~330), SMALL_BLOCKS of them,
 * then doubling up to BLOCK_MAX.  A record the kernel reads takes 3 KB
 * or so. */
#define SMALL_BLOCK  1008
#define SMALL_BLOCKS 8
#define BLOCK_MAX    (1u << 20)

/* A block of the arena.  The root node is the first thing in the first
 * block, so that freeing the root finds the blocks. */
typedef struct block {
    struct block *next;
    size_t used, cap; /* bytes of data */
    alignas(max_align_t) unsigned char data[];
} block;

typedef struct arena {
    block *first, *last;
    size_t nblocks, next_cap;
} arena;

static void *
arena_take(arena *a, size_t n)
{
    block *b = a->last;
    void *p;

    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = a->next_cap > n ? a->next_cap : n;
        if (cap > SIZE_MAX - sizeof *b ||
            (b = lvat_malloc(sizeof *b + cap)) == NULL)
            return NULL;
        b->next = NULL;
        b->used = 0;
        b->cap = cap;
        if (a->last)
            a->last->next = b;
        else
            a->first = b;
        a->last = b;
        if (++a->nblocks >= SMALL_BLOCKS && a->next_cap < BLOCK_MAX)
            a->next_cap *= 2;
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

static void
arena_free(block *b)
{
    while (b != NULL) {
        block *next = b->next;
        lvat_free(b);
        b = next;
    }
}

void
lvat__json_arena_free(lvat_json *root)
{
    arena_free((block *)((unsigned char *)root - offsetof(block, data)));
}

/* ---- Building ---- */

typedef struct builder {
    lvat_json_parser jp;
    arena a;
} builder;

static lvat_json *
new_node(builder *b, lvat_json_type type, size_t str_bytes)
{
    lvat_json *j = arena_take(&b->a, sizeof *j + str_bytes);

    if (j != NULL) {
        memset(j, 0, sizeof *j);
        j->type = type;
        j->mem = LVAT_JSON_MEM_NODE;
        if (type == LVAT_JSON_ARRAY_BEGIN || type == LVAT_JSON_OBJECT_BEGIN)
            j->mem |= LVAT_JSON_MEM_ITEMS;
    }
    return j;
}

/* Makes room for one more item, in the arena: the array's capacity
 * follows json_dom.c's rule (lvat__json_full), and a grown array leaves
 * the old one behind, as it is small beside the arena. */
static int
grow(builder *b, lvat_json *c)
{
    size_t cap = c->len == 0 ? 4 : c->len * 2;
    bool obj = c->type == LVAT_JSON_OBJECT_BEGIN;
    size_t slot =
        sizeof *c->items + (obj ? sizeof *c->keys + sizeof *c->keylens : 0);
    unsigned char *p;

    if (!lvat__json_full(c->len))
        return LVAT_OK;
    if (cap > SIZE_MAX / slot || (p = arena_take(&b->a, cap * slot)) == NULL)
        return LVAT_ENOMEM;
    if (c->len)
        memcpy(p, c->items, c->len * sizeof *c->items);
    c->items = (lvat_json **)p;
    if (obj) {
        char **keys = (char **)(p + cap * sizeof *c->items);
        size_t *lens = (size_t *)(keys + cap);
        if (c->len) {
            memcpy(keys, c->keys, c->len * sizeof *keys);
            memcpy(lens, c->keylens, c->len * sizeof *lens);
        }
        c->keys = keys;
        c->keylens = lens;
    }
    return LVAT_OK;
}

static int build(builder *b, const lvat_json_tok *tok, lvat_json **out);

static int
build_array(builder *b, lvat_json *arr)
{
    lvat_json_tok tok;
    lvat_json *child;
    int rc;

    for (;;) {
        rc = lvat_json_next(&b->jp, &tok);
        if (rc != LVAT_OK || tok.type == LVAT_JSON_ARRAY_END)
            return rc;
        if ((rc = build(b, &tok, &child)) != LVAT_OK)
            return rc;
        if (grow(b, arr) != LVAT_OK) {
            lvat_json_free(child);
            return LVAT_ENOMEM;
        }
        arr->items[arr->len++] = child;
    }
}

/* Copies the key just read (tok) into the arena: the next token reuses
 * tok->str. */
static int
take_key(builder *b,
         lvat_json *obj,
         const char *before,
         const lvat_json_tok *tok,
         char **key)
{
    size_t dup;

    if (lvat__json_find_key(obj, tok->str, tok->len, &dup)) {
        /* Only space and ',' lie between `before` and the key. */
        return lvat_json_fail(&b->jp,
                              memchr(before, '"', (size_t)(b->jp.end - before)),
                              "duplicate key \"%.*s\"",
                              tok->len > 40 ? 40 : (int)tok->len, tok->str);
    }
    if ((*key = arena_take(&b->a, tok->len + 1)) == NULL)
        return LVAT_ENOMEM;
    memcpy(*key, tok->str, tok->len);
    (*key)[tok->len] = '\0';
    return LVAT_OK;
}

static int
build_object(builder *b, lvat_json *obj)
{
    lvat_json_tok tok;
    lvat_json *child;
    const char *before;
    char *key = NULL;
    size_t klen;
    int rc;

    for (;;) {
        before = b->jp.p;
        rc = lvat_json_next(&b->jp, &tok);
        if (rc != LVAT_OK || tok.type == LVAT_JSON_OBJECT_END)
            return rc;
        klen = tok.len;
        if ((rc = take_key(b, obj, before, &tok, &key)) != LVAT_OK ||
            (rc = lvat_json_next(&b->jp, &tok)) != LVAT_OK ||
            (rc = build(b, &tok, &child)) != LVAT_OK)
            return rc;
        if (grow(b, obj) != LVAT_OK) {
            lvat_json_free(child);
            return LVAT_ENOMEM;
        }
        lvat__json_put_member(obj, key, klen, child);
    }
}

/* On failure the node is freed as far as the heap holds any of it (a big
 * object's index); the arena goes with the parse. */
static int
build(builder *b, const lvat_json_tok *tok, lvat_json **out)
{
    bool str = tok->type == LVAT_JSON_STRING;
    lvat_json *j = new_node(b, tok->type, str ? tok->len + 1 : 0);
    int rc = LVAT_OK;

    if (j == NULL)
        return LVAT_ENOMEM;
    j->i = tok->i;
    j->d = tok->d;
    if (str) {
        j->str = (char *)(j + 1);
        memcpy(j->str, tok->str, tok->len);
        j->str[tok->len] = '\0';
        j->len = tok->len;
    } else if (tok->type == LVAT_JSON_ARRAY_BEGIN) {
        rc = build_array(b, j);
    } else if (tok->type == LVAT_JSON_OBJECT_BEGIN) {
        rc = build_object(b, j);
    }
    if (rc != LVAT_OK) {
        lvat_json_free(j);
        return rc;
    }
    *out = j;
    return LVAT_OK;
}

int
lvat_json_parse(const char *text,
                size_t len,
                bool raw_bytes,
                lvat_json **out,
                char *err,
                size_t errlen)
{
    builder b;
    lvat_json_tok tok;
    lvat_json *root = NULL;
    int rc;

    memset(&b.a, 0, sizeof b.a);
    b.a.next_cap = SMALL_BLOCK - sizeof(block);
    lvat_json_parser_init(&b.jp, text, len, raw_bytes);
    rc = lvat_json_next(&b.jp, &tok);
    if (rc == LVAT_OK)
        rc = build(&b, &tok, &root);
    if (rc == LVAT_OK)
        rc = lvat_json_next(&b.jp, &tok); /* EOF, or trailing garbage */
    if (rc == LVAT_ESYNTAX && err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", b.jp.err);
    lvat_json_parser_free(&b.jp);
    if (rc != LVAT_OK) {
        lvat_json_free(root); /* what the heap holds of it */
        arena_free(b.a.first);
        return rc;
    }
    /* The root was the arena's first allocation. */
    root->mem |= LVAT_JSON_MEM_ROOT;
    *out = root;
    return LVAT_OK;
}
