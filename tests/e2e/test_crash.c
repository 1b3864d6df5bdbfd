/*
 * Crash safety with real processes: a worker increments a counter vat
 * (which reports each increment to a recorder vat) and prints an ack for
 * each increment once its block has committed.  It is killed with SIGKILL
 * at random moments, many times; after each kill the store must open, hold
 * every acknowledged increment, and, once the run queue drains, show every
 * increment recorded exactly once and in order (no message lost or
 * duplicated, no half crank).  Again from a tiny map, which grows many
 * times while the worker is being killed.
 */
#include "lvat_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_KILLS 60

static char *
worker_path(void)
{
    return lvat_test_path(lvat_test_builddir(), "tests/crash_worker");
}

/* Starts the worker with stdout on a pipe; returns its pid. */
static pid_t
spawn(const char *dir, const char *mode, const char *arg, int *out_fd)
{
    char *bin = worker_path();
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (chdir(lvat_test_srcdir()) != 0)
            _exit(99);
        execl(bin, bin, dir, mode, arg, (char *)NULL);
        _exit(98);
    }
    free(bin);
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

/* Reads everything the worker wrote (until EOF). */
static char *
drain(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    assert_non_null(buf);
    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static int
wait_exit(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static long
last_ack(const char *out)
{
    long last = 0;

    for (const char *p = out; (p = strstr(p, "ack ")) != NULL; p += 4) {
        long v = atol(p + 4);
        if (v <= last)
            fail_msg("acks out of order: %ld after %ld", v, last);
        last = v;
    }
    return last;
}

static void
check(const char *dir, const char *root, long acked, long *count)
{
    long c, l, d, g;
    int fd;
    pid_t pid = spawn(dir, "check", root, &fd);
    char *out = drain(fd);

    if (wait_exit(pid) != 0 ||
        sscanf(out, "count %ld last %ld dups %ld gaps %ld", &c, &l, &d, &g) !=
            4)
        fail_msg("check failed: %s", out);
    if (c < acked)
        fail_msg("lost acknowledged increments: count %ld < acked %ld", c,
                 acked);
    if (c < *count)
        fail_msg("count went backwards: %ld after %ld", c, *count);
    if (l != c || d != 0 || g != 0)
        fail_msg("recorder disagrees: count %ld last %ld dups %ld gaps %ld", c,
                 l, d, g);
    *count = c;
    free(out);
}

/* Bytes of the store's data file in `dir`. */
static long long
data_bytes(const char *dir)
{
    char *data = lvat_test_path(dir, "data.mdb");
    struct stat st;
    int rc = stat(data, &st);

    free(data);
    assert_int_equal(rc, 0);
    return (long long)st.st_size;
}

/* Launches the cluster in a fresh store, then kills the worker `kills`
 * times, and more while its data file is no larger than `grown` bytes
 * (up to ten times as many), checking the store after each; returns the
 * store's directory. */
static char *
kill_many_times(int kills, long long grown)
{
    char *dir = lvat_test_mkdtemp();
    int fd;
    char root[32];
    long count = 0, acked_total = 0;
    pid_t pid;
    char *out;

    if (lvat_test_under_valgrind())
        kills = 3; /* the worker itself is not under valgrind */
    srand((unsigned)time(NULL));
    pid = spawn(dir, "launch", "tests/e2e/crash/cluster.json", &fd);
    out = drain(fd);
    assert_int_equal(wait_exit(pid), 0);
    if (sscanf(out, "root %31s", root) != 1)
        fail_msg("launch failed: %s", out);
    free(out);
    for (int i = 0; i < kills || (data_bytes(dir) <= grown && i < 10 * kills);
         i++) {
        long acked;
        pid = spawn(dir, "run", root, &fd);
        /* Somewhere between just started and well into the work. */
        usleep((useconds_t)(2000 + rand() % 150000));
        kill(pid, SIGKILL);
        out = drain(fd);
        assert_int_equal(wait_exit(pid), -SIGKILL);
        acked = last_ack(out);
        free(out);
        if (acked > 0 && acked < count)
            fail_msg("acks restarted below the stored count");
        acked_total += acked ? acked - count : 0;
        check(dir, root, acked, &count);
    }
    print_message("final count %ld, %ld acks, %lld bytes\n", count,
                  acked_total, data_bytes(dir));
    assert_true(count > 0);
    return dir;
}

static void
test_crash_kill9_many_times(void **state)
{
    const char *env = getenv("LUAVAT_CRASH_KILLS");
    char *dir = kill_many_times(env ? atoi(env) : DEFAULT_KILLS, 0);

    (void)state;
    lvat_test_rmdir(dir);
}

/* From a 64 KiB map, the store grows many times (each growth between
 * blocks, no transaction open) while the worker is being killed, until
 * its data file is past 512 KiB (the map doubled at least four times);
 * every reopen, asking for the small map again, finds the grown one. */
static void
test_crash_kill9_while_the_map_grows(void **state)
{
    char *dir;

    (void)state;
    setenv("CRASH_MAP_SIZE", "65536", 1);
    dir = kill_many_times(DEFAULT_KILLS / 3, 8 * 65536);
    unsetenv("CRASH_MAP_SIZE");
    assert_true(data_bytes(dir) > 8 * 65536);
    lvat_test_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_kill9_many_times),
        cmocka_unit_test(test_crash_kill9_while_the_map_grows),
    };
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
