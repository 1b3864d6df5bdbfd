/*
 * The one JSON codec of luavat: a pull parser (tokens, no allocation per
 * value), a small DOM built on it for configs and CLI arguments, and
 * writers.  Smallcaps bodies, ClusterConfig files, facet arguments and the
 * CLI all go through here; bindings/ builds Lua values straight from the
 * pull parser.
 *
 * Strings are byte strings.  Valid UTF-8 is written as is; a byte that is
 * not part of valid UTF-8 is written as \u00XX, and with `raw_bytes` set the
 * parser turns \u0080..\u00ff back into that single byte, so every Lua
 * string survives a round trip.  Without `raw_bytes` (config files) \uXXXX
 * always decodes to UTF-8.
 */
#ifndef LVAT_JSON_H
#define LVAT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define LVAT_JSON_MAX_DEPTH 128

/* ---- Pull parser ---- */

typedef enum lvat_json_type {
    LVAT_JSON_NULL,
    LVAT_JSON_FALSE,
    LVAT_JSON_TRUE,
    LVAT_JSON_INT,   /* integer literal that fits int64 (no '.', no 'e') */
    LVAT_JSON_FLOAT, /* any other number */
    LVAT_JSON_STRING,
    LVAT_JSON_KEY, /* a string in key position of an object */
    LVAT_JSON_ARRAY_BEGIN,
    LVAT_JSON_ARRAY_END,
    LVAT_JSON_OBJECT_BEGIN,
    LVAT_JSON_OBJECT_END,
    LVAT_JSON_EOF /* the single top-level value is complete */
} lvat_json_type;

typedef struct lvat_json_tok {
    lvat_json_type type;
    const char *str; /* STRING/KEY: decoded bytes, valid until next call */
    size_t len;
    int64_t i; /* INT */
    double d;  /* INT and FLOAT */
} lvat_json_tok;

typedef struct lvat_json_parser {
    const char *text, *p, *end;
    lvat_buf scratch;
    bool raw_bytes;
    int depth;
    /* per level: 'a' array, 'o' object; plus what the level expects next */
    char kind[LVAT_JSON_MAX_DEPTH];
    char expect[LVAT_JSON_MAX_DEPTH + 1];
    char err[160]; /* "line 3, column 7: expected ':'" after LVAT_ESYNTAX */
} lvat_json_parser;

/* Borrows `text` (not NUL-terminated necessarily) for the parser's life. */
void lvat_json_parser_init(lvat_json_parser *jp, const char *text, size_t len,
                           bool raw_bytes);
void lvat_json_parser_free(lvat_json_parser *jp);

/*
 * Reads the next token.  Returns LVAT_OK, LVAT_ESYNTAX (jp->err says where
 * and why; also for trailing garbage, depth over LVAT_JSON_MAX_DEPTH and
 * invalid escapes) or LVAT_ENOMEM.
 */
int lvat_json_next(lvat_json_parser *jp, lvat_json_tok *tok);

/*
 * Skips the value whose first token `tok` was just read (a scalar is already
 * complete; an ARRAY_BEGIN/OBJECT_BEGIN is skipped to its end).
 */
int lvat_json_skip(lvat_json_parser *jp, const lvat_json_tok *tok);

/*
 * Reports an error the grammar cannot see (a duplicate key, a value the
 * caller refuses): puts "line L, column C: <what>" for position `at` (a
 * pointer into the text) in jp->err, makes every later lvat_json_next fail,
 * and returns LVAT_ESYNTAX.
 */
int lvat_json_fail(lvat_json_parser *jp, const char *at, const char *fmt, ...)
    LVAT_PRINTF(3, 4);

/* ---- DOM ---- */

typedef struct lvat_json lvat_json;
struct lvat_json {
    lvat_json_type type; /* NULL FALSE TRUE INT FLOAT STRING ARRAY_BEGIN
                            (an array) or OBJECT_BEGIN (an object) */
    uint8_t mem; /* LVAT_JSON_MEM_* bits: which parts a parse's arena holds
                    (json_parse.c); 0 for a node made by hand */
    int64_t i;
    double d;
    char *str; /* STRING: owned, NUL-terminated, may contain NULs */
    size_t len; /* STRING: bytes; ARRAY/OBJECT: number of items */
    lvat_json **items; /* ARRAY/OBJECT: owned values, document order */
    char **keys;       /* OBJECT: owned keys, NUL-terminated */
    size_t *keylens;
    uint32_t *index;   /* OBJECT of 16 keys or more: open-addressing table
                          of item positions + 1 (json_dom.c) */
    size_t index_cap;
};

/*
 * Parses one JSON document into an owned tree (*out, freed with
 * lvat_json_free).  Duplicate object keys are a syntax error.  On
 * LVAT_ESYNTAX the message is copied to `err` (may be NULL).
 */
int lvat_json_parse(const char *text, size_t len, bool raw_bytes,
                    lvat_json **out, char *err, size_t errlen);
void lvat_json_free(lvat_json *j);

/* Object member by key, or NULL (also when `obj` is not an object). */
const lvat_json *lvat_json_get(const lvat_json *obj, const char *key);
/* The same for a key of klen bytes (it may contain NULs). */
const lvat_json *lvat_json_get_len(const lvat_json *obj, const char *key,
                                   size_t klen);
/* NUL-terminated string value of member `key`, or NULL if absent/not a string. */
const char *lvat_json_get_str(const lvat_json *obj, const char *key);
bool lvat_json_is_array(const lvat_json *j);
bool lvat_json_is_object(const lvat_json *j);

/*
 * Builders for code that makes documents (status output, records).  Each
 * returns a new owned node or NULL on OOM; add functions take ownership of
 * `value` even when they fail.  lvat_json_set replaces an existing member.
 * append/set return LVAT_OK, LVAT_EINVAL (not an array / an object) or
 * LVAT_ENOMEM, also for a NULL `value`, so a builder can be passed inline.
 */
lvat_json *lvat_json_new(lvat_json_type type);
lvat_json *lvat_json_new_str(const char *s, size_t len);
lvat_json *lvat_json_new_int(int64_t v);
int lvat_json_append(lvat_json *arr, lvat_json *value);
int lvat_json_set(lvat_json *obj, const char *key, lvat_json *value);
/* lvat_json_set for a key of `klen` bytes that may contain NULs. */
int lvat_json_set_len(lvat_json *obj, const char *key, size_t klen,
                      lvat_json *value);
/* Deep copy, or NULL on OOM. */
lvat_json *lvat_json_clone(const lvat_json *j);

/* ---- Writers ---- */

/* Appends `s` as a quoted JSON string (see the byte rule above). */
int lvat_json_put_string(lvat_buf *b, const char *s, size_t len);
/* Appends a finite double in the shortest form that reads back exactly. */
int lvat_json_put_double(lvat_buf *b, double d);
/* Appends the compact text of `j` (keys in document order). */
int lvat_json_write(lvat_buf *b, const lvat_json *j);
/* Appends `j` indented by two spaces per level (for humans). */
int lvat_json_write_pretty(lvat_buf *b, const lvat_json *j);

/* ---- Members of an object's text, without a tree (json_member.c) ---- */

/* Where a member's value is in the text: text[at .. at + len). */
typedef struct lvat_json_span {
    size_t at, len;
    bool found;
} lvat_json_span;

/*
 * Finds the values of the top-level members keys[0..n) of the JSON object
 * `text` in one pass: spans[i] for keys[i].  LVAT_OK (a key not there is
 * not found); LVAT_ESYNTAX when `text` is not a well-formed object or
 * has one of `keys` twice; LVAT_ENOMEM (escaped strings need a buffer).
 * For records read back often, where a tree costs a parse.
 */
int lvat_json_members(const char *text, size_t len, const char *const *keys,
                      size_t n, lvat_json_span *spans);
/*
 * Appends `text` to `out` with member `key` set to the JSON value `value`
 * (its text): in place when the object has it, else added at the end.
 * LVAT_OK, LVAT_ESYNTAX (also when `key` is there twice) or LVAT_ENOMEM.
 */
int lvat_json_member_set(lvat_buf *out, const char *text, size_t len,
                         const char *key, const char *value, size_t vlen);
/* lvat_json_member_set for a member the caller knows `text` (a JSON
 * object) does not have: no scan; added before its final '}'.  LVAT_OK,
 * LVAT_ESYNTAX (text does not end with '}') or LVAT_ENOMEM. */
int lvat_json_member_add(lvat_buf *out, const char *text, size_t len,
                         const char *key, const char *value, size_t vlen);
/* Appends `text` to `out` with the value at span `s` (found by
 * lvat_json_members in that text) replaced by `value`.  LVAT_OK or
 * LVAT_ENOMEM. */
int lvat_json_span_set(lvat_buf *out, const char *text, size_t len,
                       const lvat_json_span *s, const char *value,
                       size_t vlen);

#endif
