/*
 * Reading and replacing members of a JSON object's text with the pull
 * parser: no tree is built, so a record's fields cost a scan rather than
 * a parse into nodes and a write back out of them.
 */
#include "json.h"

#include <string.h>

#include "lvat_err.h"

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Moves jp past the value of the member whose key it has just read, and
 * says where that value is. */
static int
take_value(lvat_json_parser *jp, lvat_json_span *span)
{
    const char *start = skip_ws(jp->p, jp->end);
    lvat_json_tok tok;
    int rc;

    if (start < jp->end && *start == ':')
        start = skip_ws(start + 1, jp->end);
    if ((rc = lvat_json_next(jp, &tok)) != LVAT_OK ||
        (rc = lvat_json_skip(jp, &tok)) != LVAT_OK)
        return rc;
    span->at = (size_t)(start - jp->text);
    span->len = (size_t)(jp->p - start);
    span->found = true;
    return LVAT_OK;
}

/* The scan behind both calls; *close is where the object's '}' is. */
static int
scan(const char *text, size_t len, const char *const *keys, size_t n,
     lvat_json_span *spans, size_t *close)
{
    lvat_json_parser jp;
    lvat_json_tok tok;
    int rc;

    memset(spans, 0, n * sizeof *spans);
    lvat_json_parser_init(&jp, text, len, true);
    rc = lvat_json_next(&jp, &tok);
    if (rc == LVAT_OK && tok.type != LVAT_JSON_OBJECT_BEGIN)
        rc = LVAT_ESYNTAX;
    while (rc == LVAT_OK) {
        lvat_json_span skipped = {0, 0, false}, *span = &skipped;
        if ((rc = lvat_json_next(&jp, &tok)) != LVAT_OK)
            break;
        if (tok.type == LVAT_JSON_OBJECT_END) {
            *close = (size_t)(jp.p - 1 - text);
            rc = lvat_json_next(&jp, &tok); /* nothing after it */
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (strlen(keys[i]) == tok.len &&
                memcmp(keys[i], tok.str, tok.len) == 0)
                span = &spans[i];
        if (span->found) /* twice: which one is meant? */
            rc = lvat_json_fail(&jp, jp.p, "duplicate key");
        else
            rc = take_value(&jp, span);
    }
    lvat_json_parser_free(&jp);
    return rc;
}

int
lvat_json_members(const char *text, size_t len, const char *const *keys,
                  size_t n, lvat_json_span *spans)
{
    size_t close;

    return scan(text, len, keys, n, spans, &close);
}

int
lvat_json_span_set(lvat_buf *out, const char *text, size_t len,
                   const lvat_json_span *s, const char *value, size_t vlen)
{
    lvat_buf_append(out, text, s->at);
    lvat_buf_append(out, value, vlen);
    lvat_buf_append(out, text + s->at + s->len, len - s->at - s->len);
    return out->oom ? LVAT_ENOMEM : LVAT_OK;
}

/* Appends text with member key added before its '}' at `close`, after
 * a comma unless the object is empty. */
static int
add_member(lvat_buf *out, const char *text, size_t len, size_t close,
           const char *key, const char *value, size_t vlen)
{
    const char *p;

    for (p = text + close; p > text && skip_ws(p - 1, p) == p; p--)
        ;
    lvat_buf_append(out, text, close);
    if (p > text && p[-1] != '{')
        lvat_buf_putc(out, ',');
    lvat_json_put_string(out, key, strlen(key));
    lvat_buf_putc(out, ':');
    lvat_buf_append(out, value, vlen);
    lvat_buf_append(out, text + close, len - close);
    return out->oom ? LVAT_ENOMEM : LVAT_OK;
}

int
lvat_json_member_set(lvat_buf *out, const char *text, size_t len,
                     const char *key, const char *value, size_t vlen)
{
    size_t close = 0;
    lvat_json_span s;
    int rc = scan(text, len, &key, 1, &s, &close);

    if (rc != LVAT_OK)
        return rc;
    if (s.found)
        return lvat_json_span_set(out, text, len, &s, value, vlen);
    return add_member(out, text, len, close, key, value, vlen);
}

int
lvat_json_member_add(lvat_buf *out, const char *text, size_t len,
                     const char *key, const char *value, size_t vlen)
{
    size_t close = len;

    while (close > 0 && skip_ws(text + close - 1, text + close) ==
                            text + close)
        close--;
    if (close == 0 || text[close - 1] != '}')
        return LVAT_ESYNTAX;
    return add_member(out, text, len, close - 1, key, value, vlen);
}
