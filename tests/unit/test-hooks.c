/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hook discovery, order, environment, failure and timeout, with shell scripts in a mkdtemp() directory;
 * no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "hooks-internal.h"
#include "hooks.h"

static char *make_tmp(void) {
        char *d = strdup("/tmp/arkose-unit-XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

/* Creates @dir/@name with @content and exactly @mode; returns the path. */
static char *make_file(const char *dir, const char *name, const char *content, mode_t mode) {
        char *p = path_join(dir, name);

        assert_non_null(p);
        assert_int_equal(write_file_atomic(p, content, mode), 0);
        assert_int_equal(chmod(p, mode), 0);
        return p;
}

static char *make_dir(const char *parent, const char *name) {
        char *p = path_join(parent, name);

        assert_non_null(p);
        assert_int_equal(mkdir(p, 0755), 0);
        return p;
}

static char *slurp(const char *path) {
        char *s = NULL;

        assert_int_equal(read_file(path, &s), 0);
        return s;
}

/* A hook that appends "NAME $1 $ARKOSE_PHASE" to @log. */
static char *make_logging_hook(const char *dir, const char *name, const char *log, const char *extra) {
        _cleanup_free_ char *script = strdup_printf("#!/bin/sh\n"
                                                    "echo \"%s $1 $ARKOSE_PHASE\" >> '%s'\n"
                                                    "%s\n",
                                                    name, log, extra ?: "");
        assert_non_null(script);
        return make_file(dir, name, script, 0755);
}

static HookEnv test_env(const char *phase) {
        return (HookEnv){
                .phase = phase,
                .chroot = "bookworm",
                .version = "3",
                .rootfs = "/srv/sessions/x/root",
                .session_id = "bookworm-1234",
                .user = "alice",
                .uid = 4242,
                .gid = 4343,
                .home = "/home/alice",
                .shell = "/bin/bash",
                .groups = "sudo:27 users:100",
                .hostname = "bookworm",
                .network = "none",
                .cwd = "/home/alice/src",
        };
}

static void assert_strv_equal(char **got, const char *const *want, size_t n) {
        assert_int_equal(strv_length(got), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(got[i], want[i]);
}

static void test_list(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *a = NULL, *b = NULL, *missing = NULL;
        _cleanup_strv_free_ char **l = NULL;
        char *p[20] = {};
        size_t k = 0;
        (void) state;

        a = make_dir(tmp, "shipped");
        b = make_dir(tmp, "admin");
        missing = path_join(tmp, "does-not-exist");

        p[k++] = make_file(a, "30-c", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "10-a", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "20-b", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "40-disabled", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "45-masked", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "foo.dpkg-old", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "foo~", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, ".hidden", "#!/bin/sh\n", 0755);
        p[k++] = make_file(a, "50-noexec", "#!/bin/sh\n", 0644);
        p[k++] = make_file(a, "55-empty", "", 0755);
        p[k++] = make_file(a, "70-kept", "#!/bin/sh\n", 0755);
        p[k++] = make_dir(a, "60-subdir");
        p[k++] = make_file(b, "20-b", "#!/bin/sh\n", 0755);        /* override */
        p[k++] = make_file(b, "40-disabled", "#!/bin/sh\n", 0644); /* non-executable: disables */
        p[k++] = make_file(b, "15-admin", "#!/bin/sh\n", 0755);
        p[k++] = make_file(b, "30-c.dpkg-dist", "#!/bin/sh\n", 0755); /* no effect on 30-c */
        p[k++] = make_dir(b, "70-kept");                              /* a directory overrides nothing */
        p[k] = path_join(b, "45-masked");
        assert_int_equal(symlink("/dev/null", p[k++]), 0);

        char *dirs[] = { a, missing, b, NULL };
        assert_int_equal(hooks_list(dirs, &l), 0);

        _cleanup_free_ char *e1 = path_join(a, "10-a"), *e2 = path_join(b, "15-admin"),
                            *e3 = path_join(b, "20-b"), *e4 = path_join(a, "30-c"),
                            *e5 = path_join(a, "70-kept");
        const char *want[] = { e1, e2, e3, e4, e5 };
        assert_strv_equal(l, want, ELEMENTSOF(want));

        /* Only missing directories: an empty list, never NULL. */
        l = strv_free(l);
        char *none[] = { missing, NULL };
        assert_int_equal(hooks_list(none, &l), 0);
        assert_non_null(l);
        assert_int_equal(strv_length(l), 0);

        /* A relative directory still yields absolute paths. */
        l = strv_free(l);
        _cleanup_free_ char *cwd = get_current_dir_name();
        assert_int_equal(chdir(tmp), 0);
        char *reldirs[] = { (char *) "admin", NULL };
        assert_int_equal(hooks_list(reldirs, &l), 0);
        assert_int_equal(chdir(cwd), 0);
        _cleanup_free_ char *r1 = path_join(b, "15-admin"), *r2 = path_join(b, "20-b");
        const char *relwant[] = { r1, r2 };
        assert_strv_equal(l, relwant, ELEMENTSOF(relwant));

        /* A directory that is not one is an error. */
        l = strv_free(l);
        char *bad[] = { e1, NULL };
        assert_int_equal(hooks_list(bad, &l), -ENOTDIR);
        assert_null(l);

        for (size_t i = 0; i < k; i++)
                free(p[i]);
        assert_int_equal(rm_rf(tmp), 0);
}

static void test_run_order(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *log = NULL, *content = NULL;
        _cleanup_free_ char *h1 = NULL, *h2 = NULL, *h3 = NULL;
        _cleanup_strv_free_ char **l = NULL;
        HookEnv start = test_env("setup-start"), stop = test_env("setup-stop");
        (void) state;

        d = make_dir(tmp, "hooks");
        log = path_join(tmp, "log");
        h2 = make_logging_hook(d, "20-second", log, NULL);
        h3 = make_logging_hook(d, "30-third", log, NULL);
        h1 = make_logging_hook(d, "10-first", log, NULL);

        char *dirs[] = { d, NULL };
        assert_int_equal(hooks_list(dirs, &l), 0);
        assert_int_equal(strv_length(l), 3);

        assert_int_equal(hooks_run(l, &start, 5, true), 0);
        assert_int_equal(hooks_run(l, &stop, 5, false), 0);
        content = slurp(log);
        assert_string_equal(content, "10-first setup-start setup-start\n"
                                     "20-second setup-start setup-start\n"
                                     "30-third setup-start setup-start\n"
                                     "30-third setup-stop setup-stop\n"
                                     "20-second setup-stop setup-stop\n"
                                     "10-first setup-stop setup-stop\n");

        /* No hooks at all: nothing to do. */
        char *empty[] = { NULL };
        assert_int_equal(hooks_run(empty, &start, 5, true), 0);
        assert_int_equal(hooks_run(NULL, &start, 5, true), 0);

        assert_int_equal(rm_rf(tmp), 0);
}

/* "# arkose-hook-phases:" leaves a hook out of the phases it does not name; no line: every phase. */
static void test_phases(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *log = NULL, *content = NULL;
        _cleanup_free_ char *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
        _cleanup_strv_free_ char **l = NULL;
        HookEnv start = test_env("setup-start"), stop = test_env("setup-stop");
        (void) state;

        d = make_dir(tmp, "hooks");
        log = path_join(tmp, "log");
        h1 = make_logging_hook(d, "10-start-only", log, "# arkose-hook-phases: setup-start");
        h2 = make_logging_hook(d, "20-both", log, "# arkose-hook-phases:\tsetup-stop  setup-start ");
        h3 = make_logging_hook(d, "30-none", log, "# arkose-hook-phases:");
        /* Only a line of its own counts, and a phase must match whole: 40-neither runs in no phase. */
        h4 = make_logging_hook(d, "40-neither", log, "echo '# arkose-hook-phases: setup-start' >/dev/null\n"
                                                 "# arkose-hook-phases: setup-sto setup-stopx");

        char *dirs[] = { d, NULL };
        assert_int_equal(hooks_list(dirs, &l), 0);
        assert_int_equal(strv_length(l), 4);
        assert_int_equal(hooks_run(l, &start, 5, true), 0);
        assert_int_equal(hooks_run(l, &stop, 5, false), 0);
        content = slurp(log);
        assert_string_equal(content, "10-start-only setup-start setup-start\n"
                                     "20-both setup-start setup-start\n"
                                     "20-both setup-stop setup-stop\n");

        assert_int_equal(rm_rf(tmp), 0);
}

static void test_env_contents(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *out = NULL, *script = NULL, *hook = NULL;
        _cleanup_free_ char *content = NULL, *fds = NULL, *fdout = NULL;
        _cleanup_strv_free_ char **envp = NULL;
        HookEnv env = test_env("setup-start");
        int leak;
        (void) state;

        d = make_dir(tmp, "hooks");
        out = path_join(tmp, "env");
        fdout = path_join(tmp, "fds");
        /* /proc/$$/environ is exactly what execve() passed, before the shell adds PWD and friends. */
        script = strdup_printf("#!/bin/sh\n"
                               "tr '\\0' '\\n' < /proc/$$/environ | sort > '%s'\n"
                               "out=$(readlink /proc/$$/fd/1) err=$(readlink /proc/$$/fd/2)\n"
                               "{ readlink /proc/$$/fd/0; pwd; umask;\n"
                               "  [ \"$out\" = \"$err\" ] && echo same;\n"
                               "  [ -e /proc/$$/fd/42 ] && echo leaked; } > '%s'\nexit 0\n",
                               out, fdout);
        assert_non_null(script);
        hook = make_file(d, "10-env", script, 0755);

        /* The caller's environment and a non-CLOEXEC fd must not reach the hook. */
        assert_int_equal(setenv("HOME", "/root/should-not-leak", 1), 0);
        assert_int_equal(setenv("ARKOSE_LEAK", "1", 1), 0);
        leak = dup2(STDERR_FILENO, 42);
        assert_int_equal(leak, 42);

        char *hooks[] = { hook, NULL };
        assert_int_equal(hooks_run(hooks, &env, 5, true), 0);
        (void) close(leak);
        (void) unsetenv("ARKOSE_LEAK");

        content = slurp(out);
        assert_string_equal(content, "ARKOSE_CHROOT=bookworm\n"
                                     "ARKOSE_CHROOT_VERSION=3\n"
                                     "ARKOSE_CWD=/home/alice/src\n"
                                     "ARKOSE_GID=4343\n"
                                     "ARKOSE_GROUPS=sudo:27 users:100\n"
                                     "ARKOSE_HOME=/home/alice\n"
                                     "ARKOSE_HOSTNAME=bookworm\n"
                                     "ARKOSE_NETWORK=none\n"
                                     "ARKOSE_PHASE=setup-start\n"
                                     "ARKOSE_ROOTFS=/srv/sessions/x/root\n"
                                     "ARKOSE_SESSION_ID=bookworm-1234\n"
                                     "ARKOSE_SHELL=/bin/bash\n"
                                     "ARKOSE_UID=4242\n"
                                     "ARKOSE_USER=alice\n"
                                     "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
        assert_null(strstr(content, "HOME=/root"));

        fds = slurp(fdout);
        assert_string_equal(fds, "/dev/null\n/\n0022\nsame\n");

        /* The block itself: 15 entries, NULL fields become empty values. */
        env.groups = NULL;
        envp = hooks_env_build(&env);
        assert_non_null(envp);
        assert_int_equal(strv_length(envp), 15);
        assert_true(strv_contains(envp, "ARKOSE_GROUPS="));
        assert_true(strv_contains(envp, "ARKOSE_UID=4242"));

        assert_int_equal(rm_rf(tmp), 0);
}

static void test_failure(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *log = NULL, *content = NULL;
        _cleanup_free_ char *h1 = NULL, *h2 = NULL, *h3 = NULL;
        _cleanup_strv_free_ char **l = NULL;
        HookEnv start = test_env("setup-start"), stop = test_env("setup-stop");
        (void) state;

        d = make_dir(tmp, "hooks");
        log = path_join(tmp, "log");
        h1 = make_logging_hook(d, "10-ok", log, NULL);
        h2 = make_logging_hook(d, "20-fail", log, "exit 3");
        h3 = make_logging_hook(d, "30-after", log, NULL);
        char *dirs[] = { d, NULL };
        assert_int_equal(hooks_list(dirs, &l), 0);

        /* stop_on_failure: 30-after never runs. */
        assert_int_equal(hooks_run(l, &start, 5, true), -EPROTO);
        content = slurp(log);
        assert_string_equal(content, "10-ok setup-start setup-start\n20-fail setup-start setup-start\n");

        /* Without it, all run (in reverse for setup-stop) and the first error is returned. */
        assert_int_equal(unlink(log), 0);
        assert_int_equal(hooks_run(l, &stop, 5, false), -EPROTO);
        free(content);
        content = slurp(log);
        assert_string_equal(content, "30-after setup-stop setup-stop\n"
                                     "20-fail setup-stop setup-stop\n"
                                     "10-ok setup-stop setup-stop\n");

        assert_int_equal(rm_rf(tmp), 0);
}

static void test_bad_hooks(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *noexec = NULL, *sig = NULL;
        HookEnv start = test_env("setup-start");
        (void) state;

        d = make_dir(tmp, "hooks");
        /* Executable, but not a format the kernel can run: execve() fails in the child. */
        noexec = make_file(d, "10-garbage", "not a script\n", 0755);
        sig = make_file(d, "20-signal", "#!/bin/sh\nkill -TERM $$\n", 0755);

        char *h1[] = { noexec, NULL };
        assert_int_equal(hooks_run(h1, &start, 5, true), -ENOEXEC);
        char *h2[] = { sig, NULL };
        assert_int_equal(hooks_run(h2, &start, 5, true), -EPROTO);
        assert_int_equal(hooks_run(h2, NULL, 5, true), -EINVAL);

        assert_int_equal(rm_rf(tmp), 0);
}

static double now_sec(void) {
        struct timespec ts;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static bool process_gone(pid_t pid) {
        _cleanup_free_ char *path = strdup_printf("/proc/%d/stat", (int) pid), *stat = NULL;
        const char *s;

        if (read_file(path, &stat) < 0)
                return true;
        s = strrchr(stat, ')');
        return s && s[1] == ' ' && (s[2] == 'Z' || s[2] == 'X'); /* a zombie awaiting its new parent */
}

static void test_timeout(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *d = NULL, *pidfile = NULL, *script = NULL, *hook = NULL;
        _cleanup_free_ char *pid = NULL;
        HookEnv start = test_env("setup-start");
        double t0, elapsed;
        bool gone = false;
        (void) state;

        d = make_dir(tmp, "hooks");
        pidfile = path_join(tmp, "pid");
        /* The background sleep is in the hook's process group and must die with it. */
        script = strdup_printf("#!/bin/sh\nsleep 30 &\necho $! > '%s'\nsleep 30\n", pidfile);
        assert_non_null(script);
        hook = make_file(d, "10-slow", script, 0755);

        char *hooks[] = { hook, NULL };
        t0 = now_sec();
        assert_int_equal(hooks_run(hooks, &start, 1, true), -ETIME);
        elapsed = now_sec() - t0;
        assert_true(elapsed >= 0.9);
        assert_true(elapsed < 2.0);

        pid = slurp(pidfile);
        for (int i = 0; i < 100 && !gone; i++) {
                gone = process_gone((pid_t) atoi(pid));
                if (!gone)
                        (void) nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
        }
        assert_true(gone);

        assert_int_equal(rm_rf(tmp), 0);
}

/* The cache declaration: "yes" and absolute host files; anything else is not a declaration. */
static void test_cache_declared(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char **inputs = NULL;

        (void) state;
        a = make_file(tmp, "a", "#!/bin/sh\n# arkose-hook-phases: setup-start\n# arkose-hook-cache: yes /etc/group  /etc/x\n", 0755);
        b = make_file(tmp, "b", "#!/bin/sh\n# arkose-hook-cache: yes\nexit 0\n", 0755);
        c = make_file(tmp, "c", "#!/bin/sh\n# arkose-hook-cache: no\n", 0755);
        d = make_file(tmp, "d", "#!/bin/sh\n# arkose-hook-cache: yes etc/relative\n#  arkose-hook-cache: yes\n", 0755);

        assert_int_equal(hook_cache_declared(a, &inputs), 1);
        assert_strv_equal(inputs, (const char *const[]){ "/etc/group", "/etc/x" }, 2);
        inputs = strv_free(inputs);
        assert_int_equal(hook_cache_declared(b, &inputs), 1);
        assert_int_equal(strv_length(inputs), 0);
        inputs = strv_free(inputs);
        assert_int_equal(hook_cache_declared(c, &inputs), 0);
        assert_int_equal(hook_cache_declared(d, &inputs), 0);
        assert_null(inputs);

        /* All of a directory's hooks (a shared spare's condition): only when each declares it. */
        {
                _cleanup_free_ char *only = path_join(tmp, "only"), *e = NULL, *f = NULL;
                char *dirs[] = { only, NULL }, *none[] = { (char *) "/nonexistent-arkose-dir", NULL };

                assert_int_equal(mkdir(only, 0755), 0);
                e = make_file(only, "10-e", "#!/bin/sh\n# arkose-hook-cache: yes\n", 0755);
                assert_true(hooks_all_cacheable(dirs));
                assert_true(hooks_all_cacheable(none)); /* no hooks at all */
                f = make_file(only, "20-f", "#!/bin/sh\nexit 0\n", 0755);
                assert_false(hooks_all_cacheable(dirs));
        }

        assert_int_equal(rm_rf(tmp), 0);
}

static void assert_file(const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *got = NULL;
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, mode);
        assert_int_equal(st.st_uid, getuid());
        got = slurp(path);
        assert_string_equal(got, content);
}

/* A result copied out of an "upper directory" and replayed into a root: files rewritten in place with
 * their modes, new directories, links replaced, and never a write through a link of the root. */
static void test_cache_copy_replay(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *upper = NULL, *entry = NULL, *root = NULL, *outside = NULL;
        char p[4096], target[64];
        struct stat st;
        ssize_t n;

#define AT(dir, rel) (snprintf(p, sizeof(p), "%s/%s", (dir), (rel)), p)
        (void) state;
        upper = make_dir(tmp, "upper");
        assert_int_equal(mkdir(AT(upper, "etc"), 0755), 0);
        assert_int_equal(write_file_atomic(AT(upper, "etc/hostname"), "bookworm\n", 0644), 0);
        assert_int_equal(write_file_atomic(AT(upper, "etc/hosts"), "127.0.0.1 localhost\n", 0640), 0);
        assert_int_equal(write_file_atomic(AT(upper, "etc/shadow"), "alice:*:1::::::\n", 0600), 0);
        assert_int_equal(symlink("../run/x", AT(upper, "etc/link")), 0);
        assert_int_equal(mkdir(AT(upper, "home"), 0755), 0);
        assert_int_equal(mkdir(AT(upper, "home/alice"), 0750), 0);
        assert_int_equal(chmod(AT(upper, "home/alice"), 0750), 0);
        entry = make_dir(tmp, "entry");
        assert_int_equal(hook_cache_copy_upper(upper, NULL, entry), 0);

        /* The root: an etc/hostname of other content and mode, etc/hosts a link out of the root. */
        root = make_dir(tmp, "root");
        assert_int_equal(mkdir(AT(root, "etc"), 0755), 0);
        assert_int_equal(write_file_atomic(AT(root, "etc/hostname"), "old-name-longer-than-the-new\n", 0600), 0);
        outside = make_file(tmp, "outside", "host file\n", 0644);
        assert_int_equal(symlink(outside, AT(root, "etc/hosts")), 0);
        assert_int_equal(write_file_atomic(AT(root, "etc/link"), "was a file\n", 0644), 0);

        for (int i = 0; i < 2; i++) { /* twice gives the same */
                assert_int_equal(hook_cache_replay(entry, root), 0);
                assert_file(AT(root, "etc/hostname"), "bookworm\n", 0644);
                assert_file(AT(root, "etc/hosts"), "127.0.0.1 localhost\n", 0640);
                assert_file(AT(root, "etc/shadow"), "alice:*:1::::::\n", 0600);
                assert_file(outside, "host file\n", 0644);
                n = readlink(AT(root, "etc/link"), target, sizeof(target) - 1);
                assert_true(n > 0);
                target[n] = '\0';
                assert_string_equal(target, "../run/x");
                assert_int_equal(lstat(AT(root, "home/alice"), &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 07777, 0750);
        }
        /* A copy never merges into an existing result. */
        assert_int_not_equal(hook_cache_copy_upper(upper, NULL, entry), 0);
#undef AT

        assert_int_equal(rm_rf(tmp), 0);
}

/* Without an overlay at the root (here a plain directory) nothing is recorded and the hooks always run;
 * without a numeric version (a directory chroot) the cache is not used at all. */
static void test_cache_not_applicable(void **state) {
        _cleanup_free_ char *tmp = make_tmp(), *hooks_dir = NULL, *root = NULL, *log = NULL, *cache = NULL;
        _cleanup_strv_free_ char **hooks = NULL;
        char *lowers[] = { NULL, NULL };
        HookEnv env = test_env("setup-start");

        (void) state;
        hooks_dir = make_dir(tmp, "hooks");
        root = make_dir(tmp, "root");
        log = path_join(tmp, "log");
        free(make_logging_hook(hooks_dir, "10-a", log, "# arkose-hook-cache: yes"));
        char *dirs[] = { hooks_dir, NULL };
        assert_int_equal(hooks_list(dirs, &hooks), 0);
        lowers[0] = tmp;
        env.rootfs = root;
        env.state_dir = tmp;
        env.lowers = lowers;
        for (int i = 0; i < 2; i++)
                assert_int_equal(hooks_run(hooks, &env, 10, true), 0);
        env.version = "directory";
        assert_int_equal(hooks_run(hooks, &env, 10, true), 0);
        _cleanup_free_ char *got = slurp(log);
        assert_string_equal(got, "10-a setup-start setup-start\n10-a setup-start setup-start\n"
                                 "10-a setup-start setup-start\n");
        cache = path_join(tmp, "hook-cache");
        assert_int_equal(access(cache, F_OK), -1);

        assert_int_equal(rm_rf(tmp), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list),         cmocka_unit_test(test_run_order),
                cmocka_unit_test(test_env_contents), cmocka_unit_test(test_failure),
                cmocka_unit_test(test_bad_hooks),    cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_phases),       cmocka_unit_test(test_cache_declared),
                cmocka_unit_test(test_cache_copy_replay), cmocka_unit_test(test_cache_not_applicable),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
