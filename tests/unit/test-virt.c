/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt (sbuild-integration/): autopkgtest-virt-arkose's request parser, URL coding, state machine, replies
 * and command lines. No root, no sessions; the execute command's wrapper (arkose-init) runs on the host. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "virt.h"

static char *decode(const char *s) {
        char *d = NULL;

        assert_int_equal(virt_url_decode(s, &d), 0);
        return d;
}

static void test_url_decode(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "plain", "plain" },
                { "a%20b", "a b" },
                { "%2C%2c", ",," }, /* either case */
                { "100%", "100%" }, /* as Python's unquote: a lone or short escape stays */
                { "%4", "%4" },
                { "%zz%", "%zz%" },
                { "%%41", "%A" },
                { "a+b", "a+b" }, /* no form decoding */
                { "%C3%A9t%C3%A9", "\xc3\xa9t\xc3\xa9" },
                { "/tmp/x%2Fy", "/tmp/x/y" },
                { "", "" },
        };
        char *d = (char *) 1;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = decode(cases[i].in);
                assert_string_equal(got, cases[i].out);
        }
        assert_int_equal(virt_url_decode("a%00b", &d), -EINVAL);
        assert_ptr_equal(d, (char *) 1); /* untouched on failure */
}

static void test_url_encode(void **state) {
        _cleanup_free_ char *e = NULL, *all = NULL, *back = NULL;
        char bytes[256];

        (void) state;
        /* urllib.parse.quote('a b,c%/~_.-é') */
        e = virt_url_encode("a b,c%/~_.-\xc3\xa9\n");
        assert_string_equal(e, "a%20b%2Cc%25/~_.-%C3%A9%0A");

        /* Every byte survives a round trip. */
        for (int i = 1; i < 256; i++)
                bytes[i - 1] = (char) i;
        bytes[255] = '\0';
        all = virt_url_encode(bytes);
        assert_non_null(all);
        assert_null(strchr(all, ','));
        assert_null(strchr(all, ' '));
        back = decode(all);
        assert_string_equal(back, bytes);
}

static void test_command_names(void **state) {
        (void) state;
        for (int c = 0; c < _VIRT_COMMAND_MAX; c++)
                assert_int_equal(virt_command_from_string(virt_command_to_string(c)), c);
        assert_int_equal(virt_command_from_string("print_execute_command"), VIRT_PRINT_EXECUTE_COMMAND);
        assert_int_equal(virt_command_from_string("auxverb_debug_fail"), VIRT_AUXVERB_DEBUG_FAIL);
        assert_int_equal(virt_command_from_string("cap"), _VIRT_COMMAND_INVALID);
        assert_int_equal(virt_command_from_string("capabilitiesx"), _VIRT_COMMAND_INVALID);
        assert_int_equal(virt_command_from_string("Open"), _VIRT_COMMAND_INVALID);
        assert_int_equal(virt_command_from_string(""), _VIRT_COMMAND_INVALID);
        assert_int_equal(virt_command_from_string(NULL), _VIRT_COMMAND_INVALID);
        assert_null(virt_command_to_string(_VIRT_COMMAND_MAX));
}

/* Parses @line expecting @r; on success the command and arguments. */
static void verify_parse(const char *line, int r, VirtCommand c, const char *reason, ...) {
        _cleanup_(virt_request_done) VirtRequest req = {};
        _cleanup_free_ char *why = NULL;
        va_list ap;
        size_t n = 0;

        assert_int_equal(virt_request_parse(line, &req, &why), r);
        if (r < 0) {
                if (reason)
                        assert_string_equal(why, reason);
                else
                        assert_null(why);
                return;
        }
        assert_null(why);
        assert_int_equal(req.command, c);
        assert_non_null(req.args);
        va_start(ap, reason);
        for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *), n++) {
                assert_non_null(req.args[n]);
                assert_string_equal(req.args[n], a);
        }
        va_end(ap);
        assert_null(req.args[n]);
}

static void test_parse(void **state) {
        (void) state;
        verify_parse("capabilities\n", 0, VIRT_CAPABILITIES, NULL, NULL);
        verify_parse("  open \t\r\n", 0, VIRT_OPEN, NULL, NULL);
        verify_parse("quit", 0, VIRT_QUIT, NULL, NULL);
        verify_parse("%6Fpen\n", 0, VIRT_OPEN, NULL, NULL); /* the command word is decoded too */
        verify_parse("auxverb_debug_fail\n", 0, VIRT_AUXVERB_DEBUG_FAIL, NULL, NULL);
        verify_parse("copydown /h/a%20b /tb/c%2Cd\n", 0, VIRT_COPYDOWN, NULL, "/h/a b", "/tb/c,d", NULL);
        verify_parse("copyup\t/tb/dir/ /h/dir/\n", 0, VIRT_COPYUP, NULL, "/tb/dir/", "/h/dir/", NULL);
        verify_parse("shell /tmp A=1 B=x%20y\n", 0, VIRT_SHELL, NULL, "/tmp", "A=1", "B=x y", NULL);
        verify_parse("reboot\n", 0, VIRT_REBOOT, NULL, NULL);
        verify_parse("reboot prepare-only\n", 0, VIRT_REBOOT, NULL, "prepare-only", NULL);

        /* Blank lines are skipped, not errors. */
        verify_parse("\n", -ENODATA, 0, NULL);
        verify_parse(" \t \r\n", -ENODATA, 0, NULL);
        verify_parse("", -ENODATA, 0, NULL);

        /* Bad requests, each with its one-line reason. */
        verify_parse("frobnicate now\n", -EBADRQC, 0, "unknown command `frobnicate'");
        verify_parse("ok\n", -EBADRQC, 0, "unknown command `ok'");
        verify_parse("open now\n", -EINVAL, 0, "too many arguments to command `open'");
        verify_parse("copydown /a\n", -EINVAL, 0, "too few arguments to command `copydown'");
        verify_parse("copyup a b c\n", -EINVAL, 0, "too many arguments to command `copyup'");
        verify_parse("shell\n", -EINVAL, 0, "too few arguments to command `shell'");
        verify_parse("copydown /a/ /b\n", -EINVAL, 0,
                     "copydown paths must agree about directoryness (presence or absence of trailing /)");
        verify_parse("copyup /a /b%2F\n", -EINVAL, 0,
                     "copyup paths must agree about directoryness (presence or absence of trailing /)");
        verify_parse("copydown /a%00 /b\n", -EINVAL, 0,
                     "argument '/a%00' of `copydown' decodes to a NUL byte");
        verify_parse("reboot now\n", -EINVAL, 0, "reboot takes no argument but `prepare-only'");
        verify_parse("open\x01junk\n", -EBADRQC, 0,
                     "unknown command `open?junk'"); /* one line, whatever came */
}

static void test_copy_directory(void **state) {
        _cleanup_(virt_request_done) VirtRequest d = {}, f = {};

        (void) state;
        assert_int_equal(virt_request_parse("copydown /h/ /t/", &d, NULL), 0);
        assert_true(virt_copy_is_directory(&d));
        assert_int_equal(virt_request_parse("copydown /h /t", &f, NULL), 0);
        assert_false(virt_copy_is_directory(&f));
}

/* Whether @c is allowed in @s with @caps; on refusal, @reason. */
static void verify_check(VirtState s, VirtCommand c, VirtCaps caps, const char *reason) {
        _cleanup_free_ char *why = NULL;
        char *none[] = { NULL }, *two[] = { (char *) "/a", (char *) "/b", NULL },
             *one[] = { (char *) "/", NULL };
        VirtRequest req = { .command = c, .args = none };

        if (c == VIRT_COPYDOWN || c == VIRT_COPYUP)
                req.args = two;
        else if (c == VIRT_SHELL)
                req.args = one;
        if (!reason) {
                assert_int_equal(virt_request_check(&req, s, caps, &why), 0);
                assert_null(why);
        } else {
                assert_int_equal(virt_request_check(&req, s, caps, &why), -EBADFD);
                assert_string_equal(why, reason);
        }
}

static void test_state_machine(void **state) {
        const VirtCaps all =
                VIRT_CAP_REVERT | VIRT_CAP_REVERT_FULL_SYSTEM | VIRT_CAP_ROOT_ON_TESTBED | VIRT_CAP_REBOOT;
        static const VirtCommand anytime[] = { VIRT_CAPABILITIES, VIRT_QUIT, VIRT_AUXVERB_DEBUG_FAIL };
        static const VirtCommand open_only[] = { VIRT_CLOSE,    VIRT_PRINT_EXECUTE_COMMAND,
                                                 VIRT_COPYDOWN, VIRT_COPYUP,
                                                 VIRT_REVERT,   VIRT_REBOOT,
                                                 VIRT_SHELL };
        static const VirtCommand must_show[] = { VIRT_CAPABILITIES, VIRT_OPEN, VIRT_PRINT_EXECUTE_COMMAND,
                                                 VIRT_CLOSE, VIRT_QUIT };
        VirtState s;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(anytime); i++) {
                verify_check(VIRT_STATE_CLOSED, anytime[i], all, NULL);
                verify_check(VIRT_STATE_OPEN, anytime[i], all, NULL);
        }
        for (size_t i = 0; i < ELEMENTSOF(open_only); i++) {
                _cleanup_free_ char *r =
                        strdup_printf("`%s' when not open", virt_command_to_string(open_only[i]));
                verify_check(VIRT_STATE_CLOSED, open_only[i], all, r);
                verify_check(VIRT_STATE_OPEN, open_only[i], all, NULL);
        }
        verify_check(VIRT_STATE_CLOSED, VIRT_OPEN, all, NULL);
        verify_check(VIRT_STATE_OPEN, VIRT_OPEN, all, "`open' when already open");
        verify_check(VIRT_STATE_OPEN, VIRT_REVERT, 0, "`revert' when `revert' not advertised");
        verify_check(VIRT_STATE_OPEN, VIRT_REBOOT, VIRT_CAP_REVERT, "`reboot' when `reboot' not advertised");
        verify_check(VIRT_STATE_QUIT, VIRT_CAPABILITIES, all, "`capabilities' after quit");

        assert_int_equal(virt_state_next(VIRT_STATE_CLOSED, VIRT_OPEN), VIRT_STATE_OPEN);
        assert_int_equal(virt_state_next(VIRT_STATE_OPEN, VIRT_REVERT), VIRT_STATE_OPEN);
        assert_int_equal(virt_state_next(VIRT_STATE_OPEN, VIRT_CLOSE), VIRT_STATE_CLOSED);
        assert_int_equal(virt_state_next(VIRT_STATE_OPEN, VIRT_QUIT), VIRT_STATE_QUIT);
        assert_int_equal(virt_state_next(VIRT_STATE_CLOSED, VIRT_CAPABILITIES), VIRT_STATE_CLOSED);

        /* The "must show" conversation is accepted from start to end. */
        s = VIRT_STATE_CLOSED;
        for (size_t i = 0; i < ELEMENTSOF(must_show); i++) {
                verify_check(s, must_show[i], all, NULL);
                s = virt_state_next(s, must_show[i]);
        }
        assert_int_equal(s, VIRT_STATE_QUIT);
        /* open after close is a new testbed. */
        assert_int_equal(virt_state_next(virt_state_next(VIRT_STATE_OPEN, VIRT_CLOSE), VIRT_OPEN),
                         VIRT_STATE_OPEN);
}

static void test_replies(void **state) {
        _cleanup_free_ char *ok = virt_reply_ok(NULL), *one = NULL, *ex = NULL;
        _cleanup_strv_free_ char **caps = NULL, **user_caps = NULL, **split = NULL;
        char *w[] = { (char *) "/tmp/autopkgtest.AbC123", NULL };
        char *argv[] = { (char *) "/usr/bin/arkose-chroot", (char *) "a b", (char *) "c,d", (char *) "50%",
                         NULL };

        (void) state;
        assert_string_equal(ok, "ok");
        one = virt_reply_ok(w);
        assert_string_equal(one, "ok /tmp/autopkgtest.AbC123");

        ex = virt_reply_execute_command(argv);
        assert_string_equal(ex, "ok /usr/bin/arkose-chroot,a%20b,c%2Cd,50%25");
        /* As sbuild reads it: split on ',', then decode each. */
        split = strv_split(ex + 3, ",");
        assert_int_equal(strv_length(split), 4);
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *d = decode(split[i]);
                assert_string_equal(d, argv[i]);
        }

        assert_int_equal(
                virt_capabilities(VIRT_CAP_REVERT | VIRT_CAP_REVERT_FULL_SYSTEM | VIRT_CAP_ROOT_ON_TESTBED,
                                  NULL, &caps),
                0);
        assert_int_equal(strv_length(caps), 3);
        assert_string_equal(caps[0], "revert");
        assert_string_equal(caps[1], "revert-full-system");
        assert_string_equal(caps[2], "root-on-testbed");
        assert_int_equal(
                virt_capabilities(VIRT_CAP_ROOT_ON_TESTBED | VIRT_CAP_REBOOT, "builder", &user_caps), 0);
        assert_int_equal(strv_length(user_caps), 3);
        assert_string_equal(user_caps[0], "root-on-testbed");
        assert_string_equal(user_caps[1], "reboot");
        assert_string_equal(user_caps[2], "suggested-normal-user=builder");
}

static void assert_argv(char **got, ...) {
        va_list ap;
        size_t n = 0;

        assert_non_null(got);
        va_start(ap, got);
        for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *), n++) {
                assert_non_null(got[n]);
                assert_string_equal(got[n], a);
        }
        va_end(ap);
        assert_null(got[n]);
        strv_free(got);
}

static void test_plans(void **state) {
        char **l = NULL;
        VirtPlan p = {
                .arkose = "/usr/bin/arkose-chroot",
                .state_dir = "/srv/arkose",
                .config_dir = "/etc/ark",
                .chroot = "bookworm",
                .quiet = true,
        };

        (void) state;
        assert_int_equal(virt_begin_argv(&p, &l), 0);
        assert_argv(l, "/usr/bin/arkose-chroot", "-q", "--state-dir", "/srv/arkose", "--config-dir",
                    "/etc/ark", "-c", "chroot:bookworm", "--begin-session", "-d", "/", NULL);

        p.session_name = "build-1";
        p.user = "builder";
        p.network = "host";
        p.tmpfs = true;
        p.state_dir = p.config_dir = NULL;
        p.quiet = false;
        assert_int_equal(virt_begin_argv(&p, &l), 0);
        assert_argv(l, "/usr/bin/arkose-chroot", "-c", "chroot:bookworm", "--begin-session", "-d", "/", "-n",
                    "build-1", "-u", "builder", "--network", "host", "--tmpfs", NULL);

        assert_int_equal(virt_end_argv(&p, "build-1", &l), 0);
        assert_argv(l, "/usr/bin/arkose-chroot", "-c", "session:build-1", "--end-session", NULL);
        assert_int_equal(virt_recover_argv(&p, "build-1", &l), 0);
        assert_argv(l, "/usr/bin/arkose-chroot", "-c", "session:build-1", "--recover-session", NULL);
        assert_int_equal(virt_info_argv(&p, "chroot:bookworm-sbuild", &l), 0);
        assert_argv(l, "/usr/bin/arkose-chroot", "-i", "-c", "chroot:bookworm-sbuild", NULL);

        assert_int_equal(virt_end_argv(&p, "", &l), -EINVAL);
        p.chroot = NULL;
        assert_int_equal(virt_begin_argv(&p, &l), -EINVAL);
        p.arkose = NULL;
        assert_int_equal(virt_end_argv(&p, "x", &l), -EINVAL);
}

static void test_execute_argv(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *reply = NULL, *once = NULL;
        _cleanup_strv_free_ char **split = NULL;
        VirtPlan p = { .arkose = "/usr/bin/arkose-chroot", .state_dir = "/srv/arkose", .quiet = true };
        size_t n;

        (void) state;
        assert_int_equal(virt_execute_argv(&p, "bookworm-0123abcd", &l), 0);
        n = strv_length(l);
        assert_int_equal(n, 15);
        assert_string_equal(l[0], "/usr/bin/arkose-chroot"); /* absolute: sbuild empties PATH */
        assert_string_equal(l[1], "-q");
        assert_string_equal(l[2], "--state-dir");
        assert_string_equal(l[3], "/srv/arkose"); /* sbuild filters ARKOSE_STATE_DIR out */
        assert_string_equal(l[4], "-c");
        assert_string_equal(l[5], "session:bookworm-0123abcd");
        assert_string_equal(l[6], "--run-session");
        assert_string_equal(l[7], "--error-status");
        assert_string_equal(l[8], "255");
        assert_string_equal(l[9], "--autopkgtest"); /* the wrapper, run by the testbed's init */
        assert_string_equal(l[10], "-u");
        assert_string_equal(l[11], "root");
        assert_string_equal(l[12], "-d");
        assert_string_equal(l[13], "/");
        assert_string_equal(l[14], "--");

        /* autopkgtest's client URL-decodes the whole reply before splitting it on ',' (and each part
         * again): no element may hold a ',' or a '%'. */
        for (char **a = l; *a; a++) {
                assert_null(strchr(*a, ','));
                assert_null(strchr(*a, '%'));
        }
        reply = virt_reply_execute_command(l);
        once = decode(reply + 3);
        split = strv_split(once, ",");
        assert_int_equal(strv_length(split), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(split[i], l[i]);
}

/* argv to run @cmd through the execute command's wrapper on the host: arkose-init --autopkgtest-exec, what
 * "--run-session --autopkgtest" has the testbed's init run. */
static char **wrapper_argv(const char *const *cmd) {
        char **l = NULL;

        assert_int_equal(strv_extend(&l, TEST_ARKOSE_INIT), 0);
        assert_int_equal(strv_extend(&l, "--autopkgtest-exec"), 0);
        for (; *cmd; cmd++)
                assert_int_equal(strv_extend(&l, *cmd), 0);
        return l;
}

static char *run_wrapper_piped(const char *const *cmd, bool both, int *ret_status);

/* Runs @cmd through the wrapper with stdout a pipe (so that it copies, as for autopkgtest's client) and
 * stderr /dev/null. Returns its exit status. */
static int run_wrapper(const char *const *cmd) {
        int status;

        free(run_wrapper_piped(cmd, false, &status));
        return status;
}

/* Runs @cmd through the wrapper with stdout (and stderr, if @both) a pipe; returns what came through it
 * until EOF, and the exit status in *ret_status. */
static char *run_wrapper_piped(const char *const *cmd, bool both, int *ret_status) {
        _cleanup_strv_free_ char **argv = wrapper_argv(cmd);
        char *out = calloc(1, 65536);
        size_t len = 0;
        ssize_t k;
        int p[2], status;
        pid_t pid;

        assert_non_null(out);
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null < 0 || dup2(p[1], 1) < 0 || dup2(both ? p[1] : null, 2) < 0)
                        _exit(99);
                close(p[0]);
                close(p[1]);
                execvp(argv[0], argv);
                _exit(98);
        }
        close(p[1]);
        while ((k = read(p[0], out + len, 65535 - len)) > 0)
                len += (size_t) k;
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        *ret_status = WEXITSTATUS(status);
        return out;
}

static void test_wrapper_exit_codes(void **state) {
        (void) state;
        assert_int_equal(run_wrapper((const char *[]){ "true", NULL }), 0);
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "exit 7", NULL }), 7);
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "exit 125", NULL }), 125);
        /* 255 and 254 mean "the execute command failed" to autopkgtest: a command's own 255 becomes 253. */
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "exit 255", NULL }), 253);
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "kill -TERM $$", NULL }), 128 + 15);
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "kill -KILL $$", NULL }), 128 + 9);
        assert_int_equal(run_wrapper((const char *[]){ "/nonexistent/command", NULL }), 127);
        assert_int_equal(run_wrapper((const char *[]){ "/dev/null", NULL }), 126);
        /* Arguments reach the command as they are. */
        assert_int_equal(run_wrapper((const char *[]){ "sh", "-c", "test \"$1\" = 'a, b%20c' && test $# = 1",
                                                       "sh", "a, b%20c", NULL }),
                         0);
}

static void test_wrapper_pipes(void **state) {
        _cleanup_free_ char *mixed = NULL, *leak = NULL;
        time_t start;
        int status;

        (void) state;
        /* stdout and stderr the same pipe: one pipe inside too, so their order is kept. */
        mixed = run_wrapper_piped(
                (const char *[]){ "sh", "-c", "for i in 1 2 3; do echo o$i; echo e$i >&2; done; exit 4",
                                  NULL },
                true, &status);
        assert_string_equal(mixed, "o1\ne1\no2\ne2\no3\ne3\n");
        assert_int_equal(status, 4);
        /* A leaked background process holds the wrapper's pipe, not ours: EOF comes with the command's end.
         */
        start = time(NULL);
        leak = run_wrapper_piped((const char *[]){ "sh", "-c", "sleep 30 & echo started", NULL }, false,
                                 &status);
        assert_string_equal(leak, "started\n");
        assert_int_equal(status, 0);
        assert_true(time(NULL) - start < 15);
}

static void test_wrapper_forwards_sigterm(void **state) {
        _cleanup_strv_free_ char **argv = wrapper_argv((const char *[]){
                "sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done", NULL });
        char buf[16] = {};
        int status, p[2];
        pid_t pid;

        (void) state;
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (dup2(p[1], 1) < 0)
                        _exit(99);
                close(p[0]);
                close(p[1]);
                execvp(argv[0], argv);
                _exit(98);
        }
        close(p[1]);
        assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
        assert_string_equal(buf, "ready\n");
        assert_int_equal(kill(pid, SIGTERM), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(p[0]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 42); /* the command got the signal and chose its status */
}

static void test_copy_and_shell_commands(void **state) {
        char *vars[] = { (char *) "A=1", (char *) "B=two words", NULL };

        (void) state;
        assert_argv(virt_copydown_file_cmd("/tmp/x y", false), "sh", "-ec", "cat >\"$1\"", "sh", "/tmp/x y",
                    NULL);
        assert_argv(virt_copydown_file_cmd("/tmp/run", true), "sh", "-ec", "cat >\"$1\"; chmod +x -- \"$1\"",
                    "sh", "/tmp/run", NULL);
        assert_argv(virt_copyup_file_cmd("-x"), "cat", "--", "-x", NULL);
        assert_argv(virt_copydown_dir_cmd("/tmp/d/"), "sh", "-ec",
                    "if ! test -d \"$1\"; then mkdir -- \"$1\"; fi; cd -- \"$1\"; "
                    "tar --warning=none --preserve-permissions --extract --no-same-owner -f -",
                    "sh", "/tmp/d/", NULL);
        assert_argv(virt_copyup_dir_cmd("/tmp/d/"), "sh", "-ec",
                    "cd -- \"$1\"; tar --warning=none -c . -f -", "sh", "/tmp/d/", NULL);
        assert_argv(virt_host_tar_create_cmd("/h/d/"), "tar", "--directory", "/h/d/", "--warning=none", "-c",
                    ".", "-f", "-", NULL);
        assert_argv(virt_host_tar_extract_cmd("/h/d/"), "tar", "--directory", "/h/d/", "--warning=none",
                    "--preserve-permissions", "--extract", "--no-same-owner", "-f", "-", NULL);
        assert_argv(virt_scratch_cmd("/tmp/autopkgtest.x", false), "mkdir", "-m", "1777", "--",
                    "/tmp/autopkgtest.x", NULL);
        assert_argv(virt_scratch_cmd("/tmp/autopkgtest.x", true), "mkdir", "-p", "-m", "1777", "--",
                    "/tmp/autopkgtest.x", NULL);
        assert_argv(virt_shell_cmd("/build", vars, "xterm"), "sh", "-c",
                    "cd \"$1\" || exit; shift; for e in \"$@\"; do export \"$e\"; done; exec bash -i", "sh",
                    "/build", "A=1", "B=two words", "TERM=xterm", NULL);
        assert_argv(virt_shell_cmd("/", NULL, NULL), "sh", "-c",
                    "cd \"$1\" || exit; shift; for e in \"$@\"; do export \"$e\"; done; exec bash -i", "sh",
                    "/", NULL);
}

/* The shell scripts the server runs in the testbed parse (sh -n). */
static void assert_script_parses(char **cmd) {
        char *argv[] = { (char *) "sh", (char *) "-n", (char *) "-c", NULL, NULL };
        int status;
        pid_t pid;

        assert_non_null(cmd);
        assert_string_equal(cmd[0], "sh");
        argv[3] = cmd[2]; /* sh -c SCRIPT or sh -ec SCRIPT */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execvp("sh", argv);
                _exit(98);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        strv_free(cmd);
}

static void test_scripts_parse(void **state) {
        char **save = NULL;

        (void) state;
        assert_script_parses(virt_copydown_file_cmd("/x", true));
        assert_script_parses(virt_copydown_dir_cmd("/x/"));
        assert_script_parses(virt_copyup_dir_cmd("/x/"));
        assert_script_parses(virt_shell_cmd("/", NULL, NULL));
        assert_script_parses(virt_reboot_save_cmd("/tmp/autopkgtest.x", false));
        assert_script_parses(virt_reboot_trigger_cmd());
        assert_script_parses(virt_reboot_restore_cmd());
        save = virt_reboot_save_cmd("/tmp/autopkgtest.x", true);
        assert_non_null(strstr(save[2], "/usr/local/sbin/reboot")); /* the shim for a test's own reboot */
        assert_non_null(strstr(save[2], "rm -f /run/autopkgtest-reboot-prepare-mark"));
        assert_true(strstr(save[2], "/usr/local/sbin/reboot") < strstr(save[2], "reboot-prepare-mark"));
        assert_script_parses(save);
}

static void test_chroot_candidates(void **state) {
        char **l = NULL;

        (void) state;
        assert_int_equal(virt_chroot_candidates("bookworm", "amd64", &l), 0);
        assert_argv(l, "bookworm-amd64-sbuild", "bookworm-sbuild", "bookworm-amd64", "bookworm", NULL);
        assert_int_equal(virt_chroot_candidates("chroot:bookworm", "amd64", &l), 0);
        assert_argv(l, "bookworm", NULL);
        assert_int_equal(virt_chroot_candidates("bookworm@3", "amd64", &l), 0);
        assert_argv(l, "bookworm@3", NULL);
        assert_int_equal(virt_chroot_candidates("sid", NULL, &l), 0);
        assert_argv(l, "sid", NULL);
        assert_int_equal(virt_chroot_candidates("", "amd64", &l), -EINVAL);
        assert_int_equal(virt_chroot_candidates("chroot:", "amd64", &l), -EINVAL);
}

static void test_info(void **state) {
        static const char chroot[] = "  --- Chroot ---\n"
                                     "  Name                   bookworm\n"
                                     "  Aliases                stable\n"
                                     "  Version                2\n"
                                     "  Path                   /var/lib/arkose/trees/bookworm/1/rootfs\n"
                                     "  Packages               120 (list: /x)\n\n";
        /* arkose-chroot info of a chroot not created: no Path (older ones printed it empty). */
        static const char uncreated[] = "  --- Chroot ---\n"
                                        "  Name                   trixie\n"
                                        "  Version                (not created: arkose-chroot create trixie)\n\n";
        static const char uncreated_old[] = "  --- Chroot ---\n"
                                            "  Name                   trixie\n"
                                            "  Version                (not created)\n"
                                            "  Path                   \n\n";
        static const char session[] = "  --- Session ---\n"
                                      "  Name                   bookworm-0123abcd\n"
                                      "  Session Purged         true\n"
                                      "  Session State          dead\n"
                                      "  Path                   /s/sessions/bookworm-0123abcd/root\n";
        _cleanup_free_ char *name = virt_info_field(chroot, "Name"), *path = virt_info_field(chroot, "Path"),
                            *st = virt_info_field(session, "Session State"),
                            *none = virt_info_field(session, "Session"),
                            *empty = virt_info_field(uncreated_old, "Path"),
                            *missing = virt_info_field(chroot, "Type");

        (void) state;
        assert_string_equal(name, "bookworm");
        assert_string_equal(path, "/var/lib/arkose/trees/bookworm/1/rootfs");
        assert_string_equal(st, "dead");
        assert_null(none); /* "Session" is no field of its own: "Session Purged" must not match it */
        assert_string_equal(empty, "");
        assert_null(missing);
        assert_true(virt_info_has_tree(chroot));
        assert_false(virt_info_has_tree(uncreated));
        assert_false(virt_info_has_tree(uncreated_old));
        assert_false(virt_info_has_tree(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_decode),
                cmocka_unit_test(test_url_encode),
                cmocka_unit_test(test_command_names),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_copy_directory),
                cmocka_unit_test(test_state_machine),
                cmocka_unit_test(test_replies),
                cmocka_unit_test(test_plans),
                cmocka_unit_test(test_execute_argv),
                cmocka_unit_test(test_wrapper_exit_codes),
                cmocka_unit_test(test_wrapper_pipes),
                cmocka_unit_test(test_wrapper_forwards_sigterm),
                cmocka_unit_test(test_copy_and_shell_commands),
                cmocka_unit_test(test_scripts_parse),
                cmocka_unit_test(test_chroot_candidates),
                cmocka_unit_test(test_info),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
