/*
 * Compiled vat modules, kept by the runtime (lchunks.h).  Launching many
 * vats from the same files compiled the same text again in every
 * lua_State: for a small vat that was a twentieth of its launch.  So the
 * first compile of a (chunk name, text) pair keeps the function's
 * bytecode, and later loads undump it.  The bytecode is lua_dump's own
 * output for text this process compiled, with its debug information: the
 * same chunk name, line numbers and errors.  Two things differ, and a vat
 * can see them: compiling counts the text's nesting against Lua's limit
 * of nested C calls and needs more memory at its peak than undumping, so
 * a require made very deep in C calls, or a vat a few KB from its memory
 * limit, can succeed from the cache where compiling would fail (and the
 * collector runs at other times).  So a vat can learn whether a module it
 * shares with another vat (same path, same text) was loaded before in
 * this process: one bit per module, like the timing and memory signals a
 * shared process already carries (design §8: one process is not a
 * hostile-code boundary).  Vat code itself still loads only text (lenv.c).
 */
#include "lchunks.h"

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "alloc.h"
#include "buf.h"
#include "lbind.h"
#include "lvat_util.h"

#define NBUCKETS 64
/* Bytes of text the compiler gets at a time.  A chain of "or"s compiles
 * in quadratic time (200 KB: 3 s, 400 KB: 11 s), so the kill is looked at
 * often: each piece costs a call, a lexer refill and a flag read. */
#define PIECE 512

typedef struct chunk {
    struct chunk *next;
    uint64_t hash;
    char *name, *text, *code;
    size_t name_len, text_len, code_len;
} chunk;

struct lvat_chunks {
    chunk *buckets[NBUCKETS];
    size_t bytes, max_bytes;
    uint64_t hits, misses;
};

lvat_chunks *
lvat_chunks_new(size_t max_bytes)
{
    lvat_chunks *c = lvat_calloc(1, sizeof *c);

    if (c != NULL)
        c->max_bytes = max_bytes;
    return c;
}

static void
drop_all(lvat_chunks *c)
{
    for (size_t i = 0; i < NBUCKETS; i++) {
        while (c->buckets[i] != NULL) {
            chunk *e = c->buckets[i];
            c->buckets[i] = e->next;
            lvat_free(e);
        }
    }
    c->bytes = 0;
}

void
lvat_chunks_free(lvat_chunks *c)
{
    if (c == NULL)
        return;
    drop_all(c);
    lvat_free(c);
}

/* FNV-1a over the name, a separator, then the text. */
static uint64_t
hash_of(const char *name, size_t nlen, const char *text, size_t tlen)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < nlen; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (size_t i = 0; i < tlen; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
    return h;
}

static chunk *
find(lvat_chunks *c, uint64_t h, const char *name, size_t nlen,
     const char *text, size_t tlen)
{
    for (chunk *e = c->buckets[h % NBUCKETS]; e; e = e->next)
        if (e->hash == h && e->name_len == nlen && e->text_len == tlen &&
            memcmp(e->name, name, nlen) == 0 &&
            memcmp(e->text, text, tlen) == 0)
            return e;
    return NULL;
}

static int
write_code(lua_State *L, const void *p, size_t n, void *ud)
{
    LVAT_UNUSED(L);
    lvat_buf_append(ud, p, n);
    return ((lvat_buf *)ud)->oom;
}

/* Keeps the bytecode of the function on top; a copy that does not fit or
 * cannot be made is simply not kept.  [-0,+0,-] */
static void
keep(lvat_chunks *c, uint64_t h, const char *name, size_t nlen,
     const char *text, size_t tlen, lua_State *L)
{
    lvat_buf code = LVAT_BUF_INIT;
    chunk *e = NULL;
    size_t size = 0;

    /* Lua 5.4's lua_dump neither allocates in L nor raises. */
    if (lua_dump(L, write_code, &code, 0) == 0 && !code.oom) {
        size = sizeof *e + nlen + 1 + tlen + code.len;
        if (size <= c->max_bytes)
            e = lvat_malloc(size);
    }
    if (e != NULL) {
        if (size > c->max_bytes - c->bytes)
            drop_all(c); /* simpler than LRU, and a launch wave refills */
        e->hash = h;
        e->name = (char *)(e + 1);
        e->text = e->name + nlen + 1;
        e->code = e->text + tlen;
        memcpy(e->name, name, nlen + 1);
        memcpy(e->text, text, tlen);
        memcpy(e->code, code.data, code.len);
        e->name_len = nlen;
        e->text_len = tlen;
        e->code_len = code.len;
        e->next = c->buckets[h % NBUCKETS];
        c->buckets[h % NBUCKETS] = e;
        c->bytes += size;
    }
    lvat_buf_free(&code);
}

/* ---- Compiling text ---- */

typedef struct pieces {
    const char *next;
    size_t left;
} pieces;

static const char *
read_piece(lua_State *L, void *ud, size_t *size)
{
    pieces *r = ud;
    const char *p = r->next;

    lvat_lua_check_stopped(L, lvat_lua_vat(L));
    *size = r->left < PIECE ? r->left : PIECE;
    r->next += *size;
    r->left -= *size;
    return *size ? p : NULL;
}

int
lvat_chunks_compile(lua_State *L, const char *text, size_t len,
                    const char *name)
{
    pieces r = {text, len};

    return lua_load(L, read_piece, &r, name, "t");
}

/* ---- The cache ---- */

int
lvat_chunks_load(lvat_chunks *c, lua_State *L, const char *text, size_t len,
                 const char *name)
{
    size_t nlen = strlen(name);
    uint64_t h = hash_of(name, nlen, text, len);
    chunk *e = find(c, h, name, nlen, text, len);
    int rc;

    if (e != NULL) {
        c->hits++;
        return luaL_loadbufferx(L, e->code, e->code_len, name, "b");
    }
    c->misses++;
    rc = lvat_chunks_compile(L, text, len, name);
    if (rc == LUA_OK)
        keep(c, h, name, nlen, text, len, L);
    return rc;
}

void
lvat_chunks_stats(const lvat_chunks *c, uint64_t *hits, uint64_t *misses,
                  size_t *bytes)
{
    *hits = c->hits;
    *misses = c->misses;
    *bytes = c->bytes;
}
