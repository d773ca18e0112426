/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "hooks-internal.h"
#include "hooks.h"

/* ---- finding and ordering ---- */

typedef struct HookEntry {
        char *name;
        char *path; /* NULL: disabled by an override */
} HookEntry;

typedef struct HookTable {
        HookEntry *items;
        size_t n, cap;
} HookTable;

static void hook_table_done(HookTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->items[i].name);
                free(t->items[i].path);
        }
        free(t->items);
        *t = (HookTable){};
}

/* run-parts' rule: [A-Za-z0-9_-]+, so "foo.dpkg-old", "foo~" and dot files never count. */
static bool hook_name_valid(const char *name) {
        if (isempty(name))
                return false;
        return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
               strlen(name);
}

/* Puts @name → @path (owned, may be NULL for "disabled") into @t, replacing an earlier entry. */
static int hook_table_put(HookTable *t, const char *name, char *path) {
        _cleanup_free_ char *p = path;
        char *n;

        for (size_t i = 0; i < t->n; i++)
                if (streq(t->items[i].name, name)) {
                        free(t->items[i].path);
                        t->items[i].path = TAKE_PTR(p);
                        return 0;
                }
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                HookEntry *items = realloc(t->items, cap * sizeof(HookEntry));
                if (!items)
                        return -ENOMEM;
                t->items = items;
                t->cap = cap;
        }
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        t->items[t->n++] = (HookEntry){ .name = n, .path = TAKE_PTR(p) };
        return 0;
}

/* Classifies one directory entry. Returns 1 if it is an enabled hook, 0 if it overrides (disables) a
 * hook of the same name — an empty or non-executable regular file, or a symlink to /dev/null, as with
 * systemd drop-ins — and -ENOENT if it does not take part at all (directories, sockets, dangling
 * symlinks). Follows symlinks, as run-parts does. */
static int hook_classify(int dfd, const char *name) {
        struct stat st;

        if (fstatat(dfd, name, &st, 0) < 0)
                return -ENOENT;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return 0;
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        if (st.st_size == 0 || (st.st_mode & 0111) == 0 || faccessat(dfd, name, X_OK, AT_EACCESS) < 0)
                return 0;
        return 1;
}

static char *dir_make_absolute(const char *dir) {
        _cleanup_free_ char *cwd = NULL;

        if (path_is_absolute(dir))
                return strdup(dir);
        cwd = get_current_dir_name();
        if (!cwd)
                return NULL;
        return path_join(cwd, dir);
}

static int hooks_scan_dir(HookTable *t, const char *dir) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *abs = NULL;
        struct dirent *de;
        int fd, r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_debug_errno(-errno, "Failed to open hook directory '%s': %m", dir);
        }
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        abs = dir_make_absolute(dir);
        if (!abs)
                return -ENOMEM;

        while ((errno = 0, de = readdir(d))) {
                char *path = NULL;

                if (!hook_name_valid(de->d_name))
                        continue;
                r = hook_classify(dirfd(d), de->d_name);
                if (r == -ENOENT) {
                        log_debug("Ignoring '%s/%s': not a regular file", dir, de->d_name);
                        continue;
                }
                if (r > 0) {
                        path = path_join(abs, de->d_name);
                        if (!path)
                                return -ENOMEM;
                } else
                        log_debug("Hook '%s/%s' is empty, not executable or masked: disabled", dir,
                                  de->d_name);
                r = hook_table_put(t, de->d_name, path);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

static int hook_entry_cmp(const void *a, const void *b) {
        return strcmp(((const HookEntry *) a)->name, ((const HookEntry *) b)->name);
}

int hooks_list(char *const *dirs, char ***ret) {
        _cleanup_(hook_table_done) HookTable t = {};
        _cleanup_strv_free_ char **l = NULL;
        int r;

        assert(ret);

        for (char *const *d = dirs; d && *d; d++) {
                r = hooks_scan_dir(&t, *d);
                if (r < 0)
                        return r;
        }
        if (t.n > 0)
                qsort(t.items, t.n, sizeof(HookEntry), hook_entry_cmp);

        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < t.n; i++) {
                if (!t.items[i].path)
                        continue;
                r = strv_consume(&l, TAKE_PTR(t.items[i].path));
                if (r < 0)
                        return r;
                log_debug("Found hook '%s'", l[strv_length(l) - 1]);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- environment ---- */

char **hooks_env_build(const HookEnv *env) {
        _cleanup_strv_free_ char **l = NULL;
        const struct {
                const char *key;
                const char *value;
        } table[] = {
                { "ARKOSE_PHASE", env->phase },
                { "ARKOSE_CHROOT", env->chroot },
                { "ARKOSE_CHROOT_VERSION", env->version },
                { "ARKOSE_ROOTFS", env->rootfs },
                { "ARKOSE_SESSION_ID", env->session_id },
                { "ARKOSE_USER", env->user },
                { "ARKOSE_HOME", env->home },
                { "ARKOSE_SHELL", env->shell },
                { "ARKOSE_GROUPS", env->groups },
                { "ARKOSE_HOSTNAME", env->hostname },
                { "ARKOSE_NETWORK", env->network },
                { "ARKOSE_CWD", env->cwd },
                { "PATH", "/usr/sbin:/usr/bin:/sbin:/bin" },
        };

        assert(env);

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strv_extendf(&l, "%s=%s", table[i].key, table[i].value ?: "") < 0)
                        return NULL;
        if (strv_extendf(&l, "ARKOSE_UID=%u", (unsigned) env->uid) < 0 ||
            strv_extendf(&l, "ARKOSE_GID=%u", (unsigned) env->gid) < 0)
                return NULL;
        return TAKE_PTR(l);
}

/* ---- running ---- */

static int64_t now_msec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until @pid has exited or @deadline (CLOCK_MONOTONIC msec) has passed, without reaping it.
 * Returns 1 if it exited, 0 on timeout, or -errno. Polls a pidfd; without one (kernels < 5.3) falls back
 * to waitid(WNOWAIT|WNOHANG) and short sleeps. */
static int wait_exit_until(pid_t pid, int64_t deadline) {
        _cleanup_close_ int pidfd = -EBADF;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        for (;;) {
                int64_t left = deadline - now_msec();
                siginfo_t si = {};

                if (pidfd >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };
                        int n = poll(&p, 1, left > 0 ? (int) left : 0);
                        if (n < 0 && errno != EINTR)
                                return -errno;
                        if (n > 0)
                                return 1;
                } else {
                        if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
                                return -errno;
                        if (si.si_pid == pid)
                                return 1;
                        if (left > 0)
                                (void) nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
                }
                if (left <= 0)
                        return 0;
        }
}

static int reap(pid_t pid, int *ret_status) {
        return pid_wait(pid, ret_status);
}

/* Waits for the hook, killing its process group after @timeout_sec. Returns 0 and the wait status, or
 * -ETIME after killing it, or -errno. */
static int hook_wait(pid_t pid, unsigned timeout_sec, int *ret_status) {
        int status, r;

        if (timeout_sec > 0) {
                r = wait_exit_until(pid, now_msec() + (int64_t) timeout_sec * 1000);
                if (r <= 0) {
                        (void) kill(-pid, SIGKILL);
                        (void) kill(pid, SIGKILL);
                        (void) reap(pid, &status);
                        return r < 0 ? r : -ETIME;
                }
        }
        r = reap(pid, &status);
        if (r < 0)
                return r;
        *ret_status = status;
        return 0;
}

/* Starts one hook with the environment of hooks.h. posix_spawn() rather than fork(): glibc spawns with
 * CLONE_VM|CLONE_VFORK, so the caller's page tables (liblxc and all) are neither copied nor faulted back
 * in copy-on-write; on a paravirtualised VM that is about 3 ms per hook. There is no spawn attribute for
 * the umask, so it is set around the call (no threads: STYLE.md). Returns 0 and the pid, or -errno when
 * the hook could not be started (execve() failures included). Does not log. */
static int hook_start(const char *path, const char *phase, char **envp, pid_t *ret_pid) {
        char *argv[] = { (char *) path, (char *) phase, NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        mode_t saved_umask;
        pid_t pid;
        int r;

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                (void) posix_spawn_file_actions_destroy(&fa);
                return -r;
        }
        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setpgroup(&attr, 0); /* its own process group, killed on timeout */
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addchdir_np(&fa, "/");
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (r == 0) {
                saved_umask = umask(0022);
                r = posix_spawn(&pid, path, &fa, &attr, argv, envp);
                (void) umask(saved_umask);
        }
        (void) posix_spawnattr_destroy(&attr);
        (void) posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        *ret_pid = pid;
        return 0;
}

/* Runs one hook. Returns the wait status via @ret_status, or -errno if it could not be started, or
 * -ETIME. Does not log. */
static int hook_spawn(const char *path, const char *phase, char **envp, unsigned timeout_sec,
                      int *ret_status) {
        pid_t pid;
        int r;

        r = hook_start(path, phase, envp, &pid);
        if (r < 0)
                return r;
        return hook_wait(pid, timeout_sec, ret_status);
}

/* Runs one hook and logs one line if it fails. Returns 0, -EPROTO, -ETIME or -errno. */
static int hook_run_one(const char *path, const char *phase, char **envp, unsigned timeout_sec) {
        int status = 0, r;

        log_debug("Running hook '%s' %s", path, phase);
        r = hook_spawn(path, phase, envp, timeout_sec, &status);
        if (r == -ETIME)
                return log_error_errno(r, "Hook '%s' timed out after %u s and was killed", path,
                                       timeout_sec);
        if (r < 0)
                return log_error_errno(r, "Failed to execute hook '%s': %m", path);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                log_error("Hook '%s' failed with exit status %d", path, WEXITSTATUS(status));
        else
                log_error("Hook '%s' was killed by signal %s", path, strsignal(WTERMSIG(status)));
        return -EPROTO;
}

bool hook_word_in(const char *s, size_t n, const char *word) {
        size_t w = strlen(word);

        for (size_t i = 0; i < n;) {
                size_t j;

                while (i < n && strchr(" \t", s[i]))
                        i++;
                for (j = i; j < n && !strchr(" \t", s[j]); j++)
                        ;
                if (j - i == w && memcmp(s + i, word, w) == 0)
                        return true;
                i = j;
        }
        return false;
}

const char *hook_header_value(const char *buf, size_t n, const char *key, size_t *ret_len) {
        size_t k = strlen(key);

        for (const char *p = buf; p < buf + n; p++) {
                const char *end;

                p = memmem(p, (size_t) (buf + n - p), key, k);
                if (!p)
                        return NULL;
                if (p != buf && p[-1] != '\n')
                        continue;
                p += k;
                end = memchr(p, '\n', (size_t) (buf + n - p));
                *ret_len = (size_t) ((end ?: buf + n) - p);
                return p;
        }
        return NULL;
}

/* Whether the hook at @path takes part in @phase. A hook may declare the phases it acts in with a line
 * "# arkose-hook-phases: PHASE..." among its first 1 KiB; one without it runs in every phase. Each hook
 * run costs a session a fork and an exec (milliseconds), so hooks with nothing to undo say so and are not
 * run at setup-stop at all. */
bool hook_wants_phase(const char *path, const char *phase) {
        const char *v;
        char buf[1024];
        size_t len;
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return true; /* let the exec report the problem */
        n = read(fd, buf, sizeof(buf));
        (void) close(fd);
        if (n <= 0)
                return true;
        v = hook_header_value(buf, (size_t) n, "# arkose-hook-phases:", &len);
        return !v || hook_word_in(v, len, phase);
}

/* Runs @hooks in order; returns the first error. */
static int hooks_run_list(char *const *hooks, const char *phase, char **envp, unsigned timeout_sec,
                          bool stop_on_failure) {
        int r = 0;

        for (char *const *h = hooks; h && *h; h++) {
                int q = hook_run_one(*h, phase, envp, timeout_sec);

                if (q < 0) {
                        if (r == 0)
                                r = q;
                        if (stop_on_failure)
                                break;
                }
        }
        return r;
}

int hooks_run(char *const *hooks, const HookEnv *env, unsigned timeout_sec, bool stop_on_failure) {
        _cleanup_(hook_cache_record_freep) HookCacheRecord *rec = NULL;
        _cleanup_strv_free_ char **envp = NULL, **taking_part = NULL;
        size_t n = strv_length(hooks);
        bool reverse;
        int r;

        if (!env || isempty(env->phase))
                return -EINVAL;
        envp = hooks_env_build(env);
        if (!envp)
                return log_oom();
        reverse = streq(env->phase, "setup-stop");

        taking_part = calloc(n + 1, sizeof(char *));
        if (!taking_part)
                return log_oom();
        for (size_t i = 0, k = 0; i < n; i++) {
                const char *h = hooks[reverse ? n - 1 - i : i];

                if (!hook_wants_phase(h, env->phase)) {
                        log_debug("Hook '%s' does not take part in %s, skipping", h, env->phase);
                        continue;
                }
                taking_part[k] = strdup(h);
                if (!taking_part[k++])
                        return log_oom();
        }
        if (!taking_part[0])
                return 0;

        if (hook_cache_lookup(taking_part, env, envp, &rec) > 0)
                return 0;
        r = hooks_run_list(taking_part, env->phase, envp, timeout_sec, stop_on_failure);
        if (r >= 0 && rec)
                hook_cache_record(TAKE_PTR(rec));
        return r;
}
