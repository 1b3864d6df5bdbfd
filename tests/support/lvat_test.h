/*
 * Shared test support: domain assertions that print the luavat error name
 * and message, temporary directories, and small file helpers.  Include
 * after cmocka's required headers (this header includes them itself).
 */
#ifndef LVAT_TEST_H
#define LVAT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lvat_err.h"

/* Fails the test with the code's name and description unless rc == 0. */
#define assert_lvat_ok(rc) lvat_test_check_ok((rc), #rc, __FILE__, __LINE__)
/* Fails unless rc equals the expected LVAT code. */
#define assert_lvat_rc(rc, want)                                           \
    lvat_test_check_rc((rc), (want), #rc, __FILE__, __LINE__)

void lvat_test_check_ok(int rc, const char *expr, const char *file, int line);
void lvat_test_check_rc(int rc, int want, const char *expr, const char *file,
                        int line);

/*
 * Makes a fresh directory under $TMPDIR (or /tmp) named luavat-test-XXXXXX;
 * returns an owned path.  lvat_test_rmdir removes it recursively and frees
 * the path.
 */
char *lvat_test_mkdtemp(void);
/* The next number in [0, n) from the xorshift64 generator whose state is
 * *state (fixed seeds make random tests repeatable). */
unsigned lvat_test_rnd(uint64_t *state, unsigned n);
void lvat_test_rmdir(char *path);

/* Writes `text` to dir/name (creating subdirectories); fails the test on error. */
void lvat_test_write_file(const char *dir, const char *name, const char *text);

/* Reads up to len - 1 bytes of path into buf, NUL-terminated ("" when it
 * cannot be read). */
void lvat_test_read_file(const char *path, char *buf, size_t len);

/* Returns an owned "dir/name" string. */
char *lvat_test_path(const char *dir, const char *name);

/* Source tree root ($LUAVAT_SRC or "."); build dir ($LUAVAT_BUILD or "build"). */
const char *lvat_test_srcdir(void);
const char *lvat_test_builddir(void);

/* A finished child process: its exit code (128 if it did not exit) and
 * what it printed (truncated to the buffers). */
typedef struct lvat_test_run {
    int code;
    char out[16384];
    char err[16384];
} lvat_test_run;

/*
 * Runs argv from the source tree and waits for it (argv[0] is looked up
 * on PATH unless it holds a '/').  env: NULL, or NULL-terminated strings
 * "NAME=value" to set and "NAME" to unset in the child.
 */
void lvat_test_spawn(lvat_test_run *r, const char *const *argv,
                     const char *const *env);

/* True when the test runs under valgrind (timing-sensitive tests relax). */
int lvat_test_under_valgrind(void);
/* True in a build with AddressSanitizer (everything runs ~3x slower). */
int lvat_test_under_sanitizer(void);

#endif
