/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-testbed: the requests carried out, by running arkose-chroot and the session's execute command. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "virt-testbed.h"

extern char **environ;

struct Testbed {
        VirtPlan plan; /* chroot and session_name set at each begin */
        char *name;    /* the chroot as given */
        char *arch;
        char *chroot;       /* as looked up, at the first open */
        char *session;      /* the open session's id, or NULL */
        char *session_name; /* the id every session of this testbed gets */
        char *scratch;
        char **exec_argv;
        unsigned copy_timeout;
};

static volatile sig_atomic_t signal_pending = 0;
/* The self-pipe: signal handlers write a byte, so that poll() wakes for a signal that came at any time,
 * also just before it was called (a flag checked around a blocking call could miss it). */
static int wake_pipe[2] = { -EBADF, -EBADF };

static void wake(void) {
        int saved = errno;
        (void) !write(wake_pipe[1], "", 1);
        errno = saved;
}

static void drain_wake_pipe(void) {
        char buf[64];
        while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
                ;
}

static void sigchld_handler(int sig) {
        (void) sig;
        wake();
}

int testbed_signals_init(void) {
        struct sigaction sa = { .sa_handler = sigchld_handler, .sa_flags = SA_RESTART | SA_NOCLDSTOP };

        if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGCHLD, &sa, NULL) < 0)
                return -errno;
        return 0;
}

int testbed_wake_fd(void) {
        return wake_pipe[0];
}

int testbed_signal_pending(void) {
        return signal_pending;
}

void testbed_signal_received(int sig) {
        if (signal_pending == 0)
                signal_pending = sig;
        wake();
}

int testbed_signal_take(void) {
        int sig = signal_pending;

        signal_pending = 0;
        drain_wake_pipe();
        return sig;
}

/* ---- processes ---- */

/* Starts @argv (PATH searched) with the given stdin/stdout/stderr (-EBADF: /dev/null), default signal
 * dispositions and an empty mask. Returns 0 and *ret_pid, or -errno. */
static int spawn(char *const *argv, int fd_in, int fd_out, int fd_err, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, def;
        int fds[3] = { fd_in, fd_out, fd_err }, r;

        if (log_get_max_level() >= LOG_DEBUG) {
                _cleanup_free_ char *line = strdup("");
                for (char *const *a = argv; line && *a; a++) {
                        char *n = strdup_printf("%s%s'%s'", line, a == argv ? "" : " ",
                                                strlen(*a) > 200 ? "(wrapper)" : *a);
                        free(line);
                        line = n;
                }
                log_debug("Running %s", line ?: argv[0]);
        }

        sigemptyset(&none);
        sigfillset(&def);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &def);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawn_file_actions_init(&fa);
        for (int i = 0; i < 3; i++) {
                if (fds[i] >= 0)
                        posix_spawn_file_actions_adddup2(&fa, fds[i], i);
                else
                        posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY,
                                                         0);
        }
        r = posix_spawnp(ret_pid, argv[0], &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

static void kill_all(const pid_t *pids, const bool *done, size_t n, int sig) {
        for (size_t i = 0; i < n; i++)
                if (!done[i])
                        (void) kill(pids[i], sig);
}

static long long now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for @n processes. @timeout > 0: after that many seconds they are stopped and -ETIME returned. A
 * terminating signal to us: they are stopped and -EINTR returned. Stopping is SIGTERM (arkose-chroot
 * forwards it into the testbed), then SIGKILL after a grace period. Returns 0 and each exit status
 * (128+N for signal N) in @ret_status, or -errno. */
static int wait_all(const pid_t *pids, size_t n, unsigned timeout, int *ret_status) {
        long long deadline = timeout > 0 ? now_ms() + timeout * 1000LL : -1, kill_at = -1;
        bool done[8] = {};
        int r = 0;

        assert(n <= ELEMENTSOF(done));
        for (;;) {
                struct pollfd p = { .fd = wake_pipe[0], .events = POLLIN };
                long long now, next;
                bool all = true;

                for (size_t i = 0; i < n; i++) {
                        int status = 0;
                        pid_t k;

                        if (done[i])
                                continue;
                        k = waitpid(pids[i], &status, WNOHANG);
                        if (k == 0 || (k < 0 && errno == EINTR)) {
                                all = false;
                                continue;
                        }
                        done[i] = true;
                        if (ret_status)
                                ret_status[i] = k < 0               ? 255
                                                : WIFEXITED(status) ? WEXITSTATUS(status)
                                                                    : 128 + WTERMSIG(status);
                }
                if (all)
                        return r;

                now = now_ms();
                if (r == 0 && (signal_pending || (deadline >= 0 && now >= deadline))) {
                        r = signal_pending ? -EINTR : -ETIME;
                        kill_all(pids, done, n, SIGTERM);
                        kill_at = now + 3000;
                } else if (r < 0 && kill_at >= 0 && now >= kill_at) {
                        kill_all(pids, done, n, SIGKILL);
                        kill_at = -1;
                }
                next = r == 0 ? deadline : kill_at;
                if (poll(&p, 1, next < 0 ? -1 : next > now ? (int) (next - now) : 0) > 0)
                        drain_wake_pipe();
        }
}

/* Runs @argv to completion with stdin /dev/null, stdout captured into *ret_out (if given, else our
 * stderr) and stderr @fd_err. Returns 0 and the exit status in *ret_status, or -errno. */
static int run_capture(char *const *argv, int fd_err, char **ret_out, int *ret_status) {
        _cleanup_free_ char *out = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        size_t len = 0, size = 0;
        pid_t pid;
        int pfd[2], r;

        if (!ret_out)
                r = spawn(argv, -EBADF, STDERR_FILENO, fd_err, &pid);
        else {
                if (pipe2(pfd, O_CLOEXEC) < 0)
                        return -errno;
                rfd = pfd[0];
                wfd = pfd[1];
                r = spawn(argv, -EBADF, wfd, fd_err, &pid);
                wfd = safe_close(wfd);
        }
        if (r < 0)
                return r;
        while (ret_out) {
                ssize_t k;

                if (size - len < 4096) {
                        char *n = realloc(out, size + 65536);
                        if (!n) {
                                (void) kill(pid, SIGKILL);
                                (void) wait_all(&pid, 1, 0, NULL);
                                return -ENOMEM;
                        }
                        out = n;
                        size += 65536;
                }
                k = read(rfd, out + len, size - len - 1);
                if (k < 0 && errno == EINTR && !signal_pending)
                        continue;
                if (k <= 0)
                        break;
                len += (size_t) k;
        }
        r = wait_all(&pid, 1, 0, ret_status);
        if (r < 0)
                return r;
        if (ret_out) {
                if (!out && !(out = strdup("")))
                        return -ENOMEM;
                out[len] = '\0';
                *ret_out = TAKE_PTR(out);
        }
        return 0;
}

/* The execute command with @cmd appended. */
static char **exec_with(Testbed *t, char **cmd) {
        _cleanup_strv_free_ char **l = NULL;

        if (!cmd)
                return NULL;
        if (strv_extend_strv(&l, t->exec_argv) < 0 || strv_extend_strv(&l, cmd) < 0)
                l = strv_free(l);
        strv_free(cmd);
        return TAKE_PTR(l);
}

/* Runs @cmd (consumed) in the testbed, its output on our stderr. Returns 0 and the status, or -errno. */
static int testbed_run(Testbed *t, char **cmd, int *ret_status) {
        _cleanup_strv_free_ char **argv = exec_with(t, cmd);

        if (!argv)
                return -ENOMEM;
        return run_capture(argv, STDERR_FILENO, NULL, ret_status);
}

/* Runs @cmd (consumed) in the testbed; a non-zero exit status is -EIO. */
static int testbed_check(Testbed *t, char **cmd) {
        int status = 0, r;

        r = testbed_run(t, cmd, &status);
        if (r >= 0 && status != 0) {
                log_debug("Exit status %d in the testbed", status);
                return -EIO;
        }
        return r;
}

/* Runs arkose-chroot's @argv (NULL: out of memory); a non-zero exit status is -EIO. */
static int arkose_check(char **argv) {
        _cleanup_strv_free_ char **a = argv;
        int status = 0, r;

        if (!a)
                return -ENOMEM;
        r = run_capture(a, STDERR_FILENO, NULL, &status);
        return r >= 0 && status != 0 ? -EIO : r;
}

/* ---- open, close, revert ---- */

Testbed *testbed_new(const VirtPlan *plan, const char *name, const char *arch, unsigned copy_timeout) {
        _cleanup_(testbed_freep) Testbed *t = calloc(1, sizeof(Testbed));

        if (!t)
                return NULL;
        t->plan = *plan;
        t->copy_timeout = copy_timeout;
        t->name = strdup(name);
        if (!t->name || (arch && !(t->arch = strdup(arch))) ||
            (plan->session_name && !(t->session_name = strdup(plan->session_name))))
                return NULL;
        return TAKE_PTR(t);
}

Testbed *testbed_free(Testbed *t) {
        if (!t)
                return NULL;
        if (t->session)
                (void) testbed_close(t);
        free(t->name);
        free(t->arch);
        free(t->chroot);
        free(t->session);
        free(t->session_name);
        free(t->scratch);
        strv_free(t->exec_argv);
        free(t);
        return NULL;
}

const char *testbed_scratch(Testbed *t) {
        return t->scratch;
}

char *const *testbed_execute_argv(Testbed *t) {
        return t->exec_argv;
}

static int host_arch(char **ret) {
        char *argv[] = { (char *) "dpkg", (char *) "--print-architecture", NULL };
        _cleanup_free_ char *out = NULL;
        int status = 0, r;

        r = run_capture(argv, -EBADF, &out, &status);
        if (r < 0)
                return r;
        if (status != 0 || isempty(strstrip(out)))
                return -ENOENT;
        *ret = TAKE_PTR(out);
        return 0;
}

/* The first candidate name (virt_chroot_candidates()) that is a chroot with a tree, else the name as
 * given, for --begin-session to say what is wrong with it. */
static int lookup_chroot(Testbed *t) {
        _cleanup_strv_free_ char **candidates = NULL;
        VirtPlan quiet = t->plan;
        int r;

        if (!t->arch && !strchr(t->name, '@') && !startswith(t->name, "chroot:") && host_arch(&t->arch) < 0)
                log_debug("No host architecture from dpkg; looking '%s' up without it", t->name);
        r = virt_chroot_candidates(t->name, t->arch, &candidates);
        if (r < 0)
                return r == -ENOMEM ? log_oom() : log_error_errno(r, "Invalid chroot name '%s'", t->name);

        quiet.quiet = true;
        for (char **c = candidates; *c; c++) {
                _cleanup_strv_free_ char **argv = NULL;
                _cleanup_free_ char *spec = strdup_printf("chroot:%s", *c), *out = NULL;
                int status = 1;

                if (!spec || virt_info_argv(&quiet, spec, &argv) < 0)
                        return log_oom();
                r = run_capture(argv, -EBADF, &out, &status);
                if (r == -EINTR)
                        return r;
                if (r >= 0 && status == 0 && virt_info_has_tree(out)) {
                        log_debug("Chroot '%s' is '%s'", t->name, *c);
                        t->chroot = strdup(*c);
                        return t->chroot ? 0 : log_oom();
                }
        }
        t->chroot = strdup(candidates[strv_length(candidates) - 1]);
        return t->chroot ? 0 : log_oom();
}

static int end_session(Testbed *t) {
        char **argv = NULL; /* arkose_check() takes it */
        int r;

        (void) virt_end_argv(&t->plan, t->session, &argv);
        r = arkose_check(argv);
        /* (%m only works in the format itself) */
        if (r == -EIO)
                return log_error_errno(r, "Failed to end session '%s' (arkose-chroot failed)", t->session);
        if (r < 0)
                return log_error_errno(r, "Failed to end session '%s': %m", t->session);
        t->session = mfree(t->session);
        t->exec_argv = strv_free(t->exec_argv);
        return 0;
}

static char *scratch_new(void) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char rnd[6];
        char suffix[7];

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return NULL;
        for (size_t i = 0; i < sizeof(rnd); i++)
                suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
        suffix[6] = '\0';
        return strdup_printf("/tmp/autopkgtest.%s", suffix);
}

/* Begins a session; with @again (revert) under the previous id and with the previous scratch path. */
static int begin_session(Testbed *t, bool again) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL;
        int status = 0, r;

        t->plan.chroot = t->chroot;
        t->plan.session_name = t->session_name;
        r = virt_begin_argv(&t->plan, &argv);
        if (r < 0)
                return log_oom();
        r = run_capture(argv, STDERR_FILENO, &out, &status);
        if (r < 0)
                return log_error_errno(r, "Failed to begin a session of '%s': %m", t->chroot);
        if (status != 0 || isempty(strstrip(out)) || strchr(out, '\n'))
                return log_error_errno(-EIO,
                                       "Failed to begin a session of '%s' (arkose-chroot exit status %d)",
                                       t->chroot, status);
        t->session = TAKE_PTR(out);
        if (!t->session_name && !(t->session_name = strdup(t->session)))
                return log_oom();
        r = virt_execute_argv(&t->plan, t->session, &t->exec_argv);
        if (r < 0)
                return log_oom();

        if (!again && !(t->scratch = scratch_new()))
                return log_oom();
        r = testbed_check(t, virt_scratch_cmd(t->scratch, again));
        if (r == -EIO)
                return log_error_errno(r, "Failed to make the scratch directory '%s' in session '%s'", t->scratch,
                                       t->session);
        if (r < 0)
                return log_error_errno(r, "Failed to make the scratch directory '%s' in session '%s': %m",
                                       t->scratch, t->session);
        return 0;
}

int testbed_open(Testbed *t) {
        int r;

        if (!t->chroot) {
                r = lookup_chroot(t);
                if (r < 0)
                        return r;
        }
        r = begin_session(t, false);
        if (r < 0 && t->session)
                (void) end_session(t);
        return r;
}

int testbed_close(Testbed *t) {
        if (!t->session)
                return 0;
        return end_session(t);
}

int testbed_revert(Testbed *t) {
        int r;

        r = testbed_close(t);
        if (r < 0)
                return r;
        r = begin_session(t, true);
        if (r < 0 && t->session)
                (void) end_session(t);
        return r;
}

/* ---- reboot ---- */

/* The session's "Session State" (running, dead, ...) from arkose-chroot -i. */
static int session_state(Testbed *t, char **ret) {
        _cleanup_free_ char *spec = strdup_printf("session:%s", t->session), *out = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        int status = 0, r;

        if (!spec)
                return -ENOMEM;
        r = virt_info_argv(&t->plan, spec, &argv);
        if (r < 0)
                return r;
        r = run_capture(argv, -EBADF, &out, &status);
        if (r < 0)
                return r;
        if (status != 0)
                return -ENOENT;
        *ret = virt_info_field(out, "Session State");
        return *ret ? 0 : -EBADMSG;
}

/* Waits up to @timeout seconds for the session's container to be gone. */
static int wait_dead(Testbed *t, unsigned timeout) {
        struct timespec tick = { 0, 100 * 1000 * 1000 };

        for (unsigned i = 0; i < timeout * 10; i++) {
                _cleanup_free_ char *state = NULL;
                int r;

                r = session_state(t, &state);
                if (r == -EINTR || signal_pending)
                        return -EINTR;
                if (r >= 0 && streq(state, "dead"))
                        return 0;
                (void) nanosleep(&tick, NULL);
        }
        return -ETIME;
}

int testbed_reboot(Testbed *t, bool prepare_only) {
        char **recover = NULL;
        int r;

        r = testbed_check(t, virt_reboot_save_cmd(t->scratch, prepare_only));
        if (r < 0)
                return log_error_errno(
                        r, "Failed to save the scratch directory before rebooting session '%s'", t->session);
        /* The trigger's own status does not matter: its container is gone under it. */
        if (!prepare_only && testbed_check(t, virt_reboot_trigger_cmd()) == -EINTR)
                return -EINTR;
        r = wait_dead(t, prepare_only ? 300 : 60);
        if (r < 0)
                return log_error_errno(r, "Session '%s' did not go down for the reboot%s", t->session,
                                       r == -ETIME ? " in time" : "");
        (void) virt_recover_argv(&t->plan, t->session, &recover);
        r = arkose_check(recover);
        if (r < 0)
                return log_error_errno(r, "Failed to start session '%s' again after the reboot", t->session);
        r = testbed_check(t, virt_reboot_restore_cmd());
        if (r < 0)
                return log_error_errno(
                        r, "Failed to restore the scratch directory after rebooting session '%s'",
                        t->session);
        return 0;
}

/* ---- copies ---- */

static int copy_file(Testbed *t, bool up, const char *src, const char *dst) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        pid_t pid;
        int status = 0, r;

        if (up) {
                fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
                if (fd < 0)
                        return log_error_errno(-errno, "Failed to open '%s' for copyup: %m", dst);
                argv = exec_with(t, virt_copyup_file_cmd(src));
        } else {
                fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return log_error_errno(-errno, "Failed to open '%s' for copydown: %m", src);
                argv = exec_with(t, virt_copydown_file_cmd(dst, st.st_mode & 0111));
        }
        if (!argv)
                return log_oom();
        r = spawn(argv, up ? -EBADF : fd, up ? fd : STDERR_FILENO, STDERR_FILENO, &pid);
        if (r < 0)
                return log_error_errno(r, "Failed to run '%s': %m", argv[0]);
        fd = safe_close(fd);
        r = wait_all(&pid, 1, t->copy_timeout, &status);
        if (r >= 0 && status != 0)
                r = log_error_errno(-EIO, "%s of '%s' to '%s' failed in the testbed (exit status %d)",
                                    up ? "copyup" : "copydown", src, dst, status);
        if (r < 0 && up)
                (void) unlink(dst); /* no half a file */
        return r;
}

static int copy_dir(Testbed *t, bool up, const char *src, const char *dst) {
        _cleanup_strv_free_ char **from = NULL, **to = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        pid_t pids[2];
        int status[2] = {}, pfd[2], r;

        if (up) {
                if (mkdir(dst, 0777) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to make directory '%s' for copyup: %m", dst);
                from = exec_with(t, virt_copyup_dir_cmd(src));
                to = virt_host_tar_extract_cmd(dst);
        } else {
                from = virt_host_tar_create_cmd(src);
                to = exec_with(t, virt_copydown_dir_cmd(dst));
        }
        if (!from || !to)
                return log_oom();
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "Failed to make a pipe: %m");
        rfd = pfd[0];
        wfd = pfd[1];
        r = spawn(from, -EBADF, wfd, STDERR_FILENO, &pids[0]);
        if (r < 0)
                return log_error_errno(r, "Failed to run '%s': %m", from[0]);
        wfd = safe_close(wfd);
        r = spawn(to, rfd, STDERR_FILENO, STDERR_FILENO, &pids[1]);
        rfd = safe_close(rfd);
        if (r < 0) {
                (void) kill(pids[0], SIGTERM);
                (void) wait_all(pids, 1, 0, NULL);
                return log_error_errno(r, "Failed to run '%s': %m", to[0]);
        }
        r = wait_all(pids, 2, t->copy_timeout, status);
        if (r < 0)
                return r;
        /* The source may die of SIGPIPE (141 through the execute command) once the destination has all. */
        if (status[1] != 0 || (status[0] != 0 && status[0] != 128 + SIGPIPE))
                return log_error_errno(
                        -EIO,
                        "%s of '%s' to '%s' failed (exit status %d of the source, %d of the destination)",
                        up ? "copyup" : "copydown", src, dst, status[0], status[1]);
        return 0;
}

int testbed_copy(Testbed *t, bool up, bool directory, const char *src, const char *dst) {
        int r;

        r = directory ? copy_dir(t, up, src, dst) : copy_file(t, up, src, dst);
        if (r == -ETIME)
                log_error("%s of '%s' to '%s' timed out after %u s", up ? "copyup" : "copydown", src, dst,
                          t->copy_timeout);
        return r;
}

/* ---- shell, debug ---- */

int testbed_shell(Testbed *t, const char *dir, char *const *vars) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int tty = -EBADF;
        pid_t pid;
        int r;

        tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (tty < 0)
                return log_error_errno(-errno, "Cannot run shell: /dev/tty: %m"), 0;
        argv = exec_with(t, virt_shell_cmd(dir, vars, getenv("TERM")));
        if (!argv)
                return log_oom();
        r = spawn(argv, tty, tty, tty, &pid);
        if (r < 0)
                return log_error_errno(r, "Cannot run shell: %m"), 0;
        return wait_all(&pid, 1, 0, NULL);
}

int testbed_debug_fail(Testbed *t) {
        _cleanup_strv_free_ char **argv = NULL;
        int status = 0;

        if (!t->session) {
                log_info("No testbed open");
                return 0;
        }
        _cleanup_free_ char *spec = strdup_printf("session:%s", t->session);
        if (!spec || virt_info_argv(&t->plan, spec, &argv) < 0)
                return log_oom();
        return run_capture(argv, STDERR_FILENO, NULL, &status);
}
