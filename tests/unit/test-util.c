/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* base/util: "did you mean" for a mistyped chroot name. Pure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

static char *names[] = { (char *) "bookworm",
                         (char *) "bookworm-i386",
                         (char *) "bullseye",
                         (char *) "sid",
                         (char *) "trixie",
                         (char *) "fx",
                         NULL };

/* More than a pipe holds at once (64 KiB): written in several short writes, read back whole. */
static void test_write_all(void **state) {
        static char out[200000], in[200000];
        int fds[2];
        pid_t pid;
        size_t got = 0;
        (void) state;

        for (size_t i = 0; i < sizeof(out); i++)
                out[i] = (char) (i * 7);
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(fds[0]);
                _exit(write_all(fds[1], out, sizeof(out)) == 0 ? 0 : 1);
        }
        close(fds[1]);
        for (ssize_t k; (k = read(fds[0], in + got, sizeof(in) - got)) > 0;)
                got += (size_t) k;
        close(fds[0]);
        assert_int_equal(got, sizeof(out));
        assert_memory_equal(in, out, sizeof(out));
        /* A closed reader: -EPIPE, not a signal's death. */
        signal(SIGPIPE, SIG_IGN);
        assert_int_equal(pipe(fds), 0);
        close(fds[0]);
        assert_int_equal(write_all(fds[1], out, 10), -EPIPE);
        close(fds[1]);
}

static pid_t child_exiting(int code, int sig) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                if (sig)
                        (void) raise(sig);
                _exit(code);
        }
        return pid;
}

/* pid_wait() gives the wait status; pid_wait_errno() reads an exit status as an errno, and a signal as
 * -EIO; wait_status_code() is a shell's $?. */
static void test_pid_wait(void **state) {
        int status = -1;
        (void) state;

        assert_int_equal(pid_wait(child_exiting(3, 0), &status), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(wait_status_code(status), 3);
        assert_int_equal(pid_wait(child_exiting(0, SIGKILL), &status), 0);
        assert_int_equal(wait_status_code(status), 128 + SIGKILL);
        assert_int_equal(pid_wait(child_exiting(0, 0), NULL), 0);

        assert_int_equal(pid_wait_errno(child_exiting(0, 0)), 0);
        assert_int_equal(pid_wait_errno(child_exiting(ENOENT, 0)), -ENOENT);
        assert_int_equal(pid_wait_errno(child_exiting(0, SIGKILL)), -EIO);
        /* Not a child (any more). */
        assert_int_equal(pid_wait(getpid(), &status), -ECHILD);
}

/* pid_start_time(): this process has one; a child that has ended, not reaped yet, has none. */
static void test_pid_start_time(void **state) {
        unsigned long long start = 0;
        pid_t pid;
        (void) state;

        assert_int_equal(pid_start_time(getpid(), &start), 0);
        assert_true(start > 0);
        pid = child_exiting(0, 0);
        for (unsigned k = 0; k < 500 && pid_start_time(pid, &start) == 0; k++)
                (void) usleep(2000);
        assert_int_equal(pid_start_time(pid, &start), -ESRCH);
        assert_int_equal(pid_wait(pid, NULL), 0);
        assert_int_equal(pid_start_time(pid, &start), -ESRCH);
        assert_int_equal(pid_start_time(0, &start), -ESRCH);
}

static void test_path_overlaps(void **state) {
        (void) state;
        assert_true(path_overlaps("/var/lib/arkose", "/var/lib/arkose"));
        assert_true(path_overlaps("/var/lib", "/var/lib/arkose"));           /* above */
        assert_true(path_overlaps("/var/lib/arkose/trees/x", "/var/lib/arkose")); /* below */
        assert_true(path_overlaps("/", "/var/lib/arkose"));
        assert_true(path_overlaps("/var/lib/arkose/", "/var/lib/arkose/trees"));
        assert_false(path_overlaps("/var/lib/arkosex", "/var/lib/arkose"));  /* a prefix, not a parent */
        assert_false(path_overlaps("/var/lib/arkose", "/var/lib/ark"));
        assert_false(path_overlaps("/home/me/src", "/var/lib/arkose"));
}

static void test_fork_detached(void **state) {
        int up[2], down[2];
        pid_t pid, parent = getpid(), seen = 0;

        (void) state;
        assert_int_equal(pipe(up), 0);
        assert_int_equal(pipe(down), 0);
        pid = fork_detached(true);
        if (pid == 0) {
                /* Our parent is not the caller; say who we are, then wait to be told to go. */
                pid_t me = getppid() == parent ? -1 : getpid();
                char c;

                (void) write(up[1], &me, sizeof(me));
                (void) read(down[0], &c, 1);
                _exit(0);
        }
        assert_true(pid > 0);
        assert_int_equal(read(up[0], &seen, sizeof(seen)), sizeof(seen));
        assert_int_equal(seen, pid);                           /* the new process's own pid */
        assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);     /* and not our child */
        assert_int_equal(errno, ECHILD);
        assert_int_equal(pid_wait_exit_timeout(pid, 50), -ETIMEDOUT);
        assert_int_equal(write(down[1], "x", 1), 1);
        assert_int_equal(pid_wait_exit_timeout(pid, 5000), 0); /* ended, though not ours to reap */
        for (int k = 0; k < 2; k++) {
                (void) close(up[k]);
                (void) close(down[k]);
        }
        /* Without the pid: the caller gets the intermediate's at once (a zombie to reap). */
        pid = fork_detached(false);
        if (pid == 0)
                _exit(0);
        assert_true(pid > 0);
        assert_int_equal(pid_wait(pid, NULL), 0);
}

static void test_closest_typos(void **state) {
        (void) state;
        assert_string_equal(strv_find_closest(names, "bookwrom"), "bookworm");  /* a swap */
        assert_string_equal(strv_find_closest(names, "bokworm"), "bookworm");   /* a letter missing */
        assert_string_equal(strv_find_closest(names, "bookworms"), "bookworm"); /* one too many */
        assert_string_equal(strv_find_closest(names, "trixe"), "trixie");
        /* Two, in a long name. */
        assert_string_equal(strv_find_closest(names, "bookwarm-i368"), "bookworm-i386");
        assert_string_equal(strv_find_closest(names, "sd"), "sid");
        assert_string_equal(strv_find_closest(names, "fz"), "fx");
        assert_string_equal(strv_find_closest(names, "bookworm-i368"), "bookworm-i386");
}

static void test_closest_none(void **state) {
        (void) state;
        assert_null(strv_find_closest(names, "bookworm"));  /* its own: nothing to suggest */
        assert_null(strv_find_closest(names, "noble"));     /* nothing close */
        assert_null(strv_find_closest(names, "foo"));       /* two away from "fx", but only three long */
        assert_null(strv_find_closest(names, "trixy"));     /* two away from "trixie", only five long */
        assert_null(strv_find_closest(names, "bookwxxxx")); /* too far */
        assert_null(strv_find_closest(NULL, "sid"));
        assert_null(strv_find_closest(names, ""));
        /* Names too long to compare are skipped, not overrun. */
        char long_name[80], long_typo[80];
        char *long_names[] = { long_name, NULL };
        memset(long_name, 'a', 79);
        long_name[79] = '\0';
        memcpy(long_typo, long_name, 80);
        long_typo[78] = '\0';
        assert_null(strv_find_closest(long_names, long_typo));
        assert_null(strv_find_closest(long_names, "aaa"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write_all),
                cmocka_unit_test(test_pid_wait),
                cmocka_unit_test(test_pid_start_time),
                cmocka_unit_test(test_path_overlaps),
                cmocka_unit_test(test_fork_detached),
                cmocka_unit_test(test_closest_typos),
                cmocka_unit_test(test_closest_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
