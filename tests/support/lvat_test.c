/*
 * Test support implementation: assertions with luavat error names, and
 * temporary directory and file helpers used by every test binary.
 */
#define _XOPEN_SOURCE 700
#include "lvat_test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void
lvat_test_check_ok(int rc, const char *expr, const char *file, int line)
{
    if (rc != LVAT_OK) {
        print_error("%s returned %s (%s)\n", expr, lvat_err_name(rc),
                    lvat_strerror(rc));
        _fail(file, line);
    }
}

void
lvat_test_check_rc(int rc, int want, const char *expr, const char *file,
                   int line)
{
    if (rc != want) {
        print_error("%s returned %s, expected %s\n", expr, lvat_err_name(rc),
                    lvat_err_name(want));
        _fail(file, line);
    }
}

char *
lvat_test_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *path;
    size_t n;

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    n = strlen(tmp) + 32;
    path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/luavat-test-XXXXXX", tmp);
    assert_non_null(mkdtemp(path));
    return path;
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void
lvat_test_rmdir(char *path)
{
    if (path == NULL)
        return;
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

char *
lvat_test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void
mkdirs_for(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", path, strerror(errno));
        *s = '/';
    }
}

void
lvat_test_write_file(const char *dir, const char *name, const char *text)
{
    char *path = lvat_test_path(dir, name);
    FILE *f;

    mkdirs_for(path);
    f = fopen(path, "w");
    if (f == NULL)
        fail_msg("open %s: %s", path, strerror(errno));
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(path);
}

const char *
lvat_test_srcdir(void)
{
    const char *s = getenv("LUAVAT_SRC");
    return s && *s ? s : ".";
}

const char *
lvat_test_builddir(void)
{
    const char *s = getenv("LUAVAT_BUILD");
    return s && *s ? s : "build";
}

int
lvat_test_under_valgrind(void)
{
    const char *s = getenv("LUAVAT_UNDER_VALGRIND");
    return s && *s == '1';
}

int
lvat_test_under_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}

void
lvat_test_read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;

    buf[n] = '\0';
    if (f)
        fclose(f);
}

static void
child_env(const char *const *env)
{
    for (; env && *env; env++) {
        const char *eq = strchr(*env, '=');
        if (eq == NULL)
            unsetenv(*env);
        else
            putenv((char *)*env);
    }
}

void
lvat_test_spawn(lvat_test_run *r, const char *const *argv,
                const char *const *env)
{
    char *dir = lvat_test_mkdtemp();
    char *out = lvat_test_path(dir, "out"), *err = lvat_test_path(dir, "err");
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        if (chdir(lvat_test_srcdir()) != 0)
            _exit(99);
        child_env(env);
        execvp(argv[0], (char *const *)argv);
        _exit(98);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    lvat_test_read_file(out, r->out, sizeof r->out);
    lvat_test_read_file(err, r->err, sizeof r->err);
    free(out);
    free(err);
    lvat_test_rmdir(dir);
}

unsigned
lvat_test_rnd(uint64_t *state, unsigned n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (unsigned)(*state % n);
}
