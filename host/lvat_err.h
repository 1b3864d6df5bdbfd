/*
 * luavat error codes.  Every function that can fail returns LVAT_OK (0) or
 * one of the negative LVAT_E* codes below; the list is one X-macro so the
 * enum, lvat_strerror() and lvat_err_name() can never drift apart.
 */
#ifndef LVAT_ERR_H
#define LVAT_ERR_H

#define LVAT_ERR_MAP(XX)                                                   \
    XX(NOMEM, "out of memory")                                             \
    XX(INVAL, "invalid argument")                                          \
    XX(NOTFOUND, "not found")                                              \
    XX(EXISTS, "already exists")                                           \
    XX(STORE, "store error")                                               \
    XX(MAPFULL, "store map is full")                                       \
    XX(TXNFULL, "store transaction is full")                               \
    XX(LOCKED, "kernel directory is in use by another process")            \
    XX(SCHEMA, "store schema version is not supported")                    \
    XX(CORRUPT, "database may be corrupted")                               \
    XX(CONFIG, "bad configuration")                                        \
    XX(IO, "input/output error")                                           \
    XX(SYNTAX, "syntax error")                                             \
    XX(VAT, "vat error")                                                   \
    XX(FAULT, "vat fault")                                                 \
    XX(ILLEGAL, "illegal syscall")                                         \
    XX(MARSHAL, "value cannot be marshalled")                              \
    XX(STATE, "operation not valid in the current state")                  \
    XX(LIMIT, "limit exceeded")                                            \
    XX(REJECTED, "message rejected")                                       \
    XX(PENDING, "result still pending")                                    \
    XX(CLOSED, "kernel is closed")                                         \
    XX(READONLY, "store is open read-only")

enum {
    LVAT_OK = 0,
#define LVAT_ERR_ENUM(name, msg) LVAT_E##name,
    LVAT_ERR_FIRST_ = -100,
    LVAT_ERR_MAP(LVAT_ERR_ENUM)
#undef LVAT_ERR_ENUM
    LVAT_ERR_LAST_
};

/*
 * Returns a static English description of `code` ("out of memory"), or
 * "unknown error" for a value that is not an LVAT code.
 */
const char *lvat_strerror(int code);

/* Returns the code's symbolic name ("LVAT_ENOMEM"), or "LVAT_E?". */
const char *lvat_err_name(int code);

/*
 * An error code plus the sentence that explains it to a person, filled in
 * where the failure is understood ("vat greeter (v2) greeter.lua:4: boom").
 * Modules below the kernel take an `lvat_errbuf *` (which may be NULL).
 */
typedef struct lvat_errbuf {
    int code;
    char msg[1024];
} lvat_errbuf;

/* Clears `e` (code LVAT_OK, empty message); NULL is ignored. */
void lvat_errbuf_clear(lvat_errbuf *e);

/*
 * Records `code` and the formatted message in `e` (if not NULL) and returns
 * `code`, so callers can write `return lvat_errbuf_set(err, LVAT_EIO, ...)`.
 */
int lvat_errbuf_set(lvat_errbuf *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
