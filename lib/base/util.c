/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

int strv_consume(char ***l, char *s) {
        size_t n;
        char **c;

        if (!s)
                return -ENOMEM;
        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(s);
                return -ENOMEM;
        }
        c[n] = s;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

bool strv_contains(char *const *l, const char *s) {
        for (char *const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

/* The optimal string alignment distance of @a and @b, both shorter than 64 bytes. */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), d[64][64];

        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

                        if (d[i - 1][j] + 1 < v)
                                v = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

const char *strv_find_closest(char *const *l, const char *s) {
        size_t len = strlen(s), limit = len / 3 < 1 ? 1 : len / 3 > 2 ? 2 : len / 3, best_d = SIZE_MAX;
        const char *best = NULL;

        if (len >= 64 || strv_contains(l, s))
                return NULL;
        for (char *const *i = l; i && *i; i++) {
                size_t d;

                if (strlen(*i) >= 64)
                        continue;
                d = edit_distance(s, *i);
                if (d <= limit && d < best_d) {
                        best = *i;
                        best_d = d;
                }
        }
        return best;
}

char **strv_split(const char *s, const char *sep) {
        _cleanup_strv_free_ char **l = NULL;

        l = calloc(1, sizeof(char *));
        if (!l)
                return NULL;
        while (*s) {
                size_t n;

                s += strspn(s, sep);
                n = strcspn(s, sep);
                if (n == 0)
                        break;
                if (strv_consume(&l, strndup(s, n)) < 0)
                        return NULL;
                s += n;
        }
        return TAKE_PTR(l);
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **l) {
        qsort(l, strv_length(l), sizeof(char *), str_cmp);
}

char *path_join_many(const char *first, ...) {
        va_list ap;
        size_t len = 0;
        char *r, *p;

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                len += strlen(s) + 1;
        va_end(ap);

        r = malloc(len + 1);
        if (!r)
                return NULL;
        p = r;
        *p = '\0';

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *)) {
                if (p != r) {
                        if (p[-1] != '/')
                                *p++ = '/';
                        while (*s == '/')
                                s++;
                }
                p = stpcpy(p, s);
        }
        va_end(ap);
        return r;
}

char *strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                memmove(s, s + 1, strlen(s));
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether @prefix is @path or a directory above it, component by component ("/a/b" is not above
 * "/a/bc"); both absolute, without "." or ".." components, trailing slashes ignored. */
static bool path_is_below_or_at(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        while (n > 0 && prefix[n - 1] == '/')
                n--;
        return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool path_overlaps(const char *a, const char *b) {
        return path_is_below_or_at(a, b) || path_is_below_or_at(b, a);
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_children(int dfd, dev_t dev) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r = 0;

        d = fdopendir(dfd);
        if (!d) {
                (void) close(dfd);
                return -errno;
        }

        while ((de = readdir(d))) {
                struct stat st;

                if (dot_or_dot_dot(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        int cfd;

                        if (st.st_dev != dev) {
                                /* A mount point: never descend into another file system. */
                                if (r == 0)
                                        r = -EBUSY;
                                continue;
                        }
                        cfd = openat(dirfd(d), de->d_name,
                                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
                        if (cfd < 0)
                                cfd = openat(dirfd(d), de->d_name,
                                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd < 0) {
                                if (r == 0)
                                        r = -errno;
                                continue;
                        }
                        int q = rm_rf_children(cfd, dev);
                        if (q < 0 && r == 0)
                                r = q;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && r == 0)
                                r = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        return r;
}

int rm_rf(const char *path) {
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return RET_NERRNO(unlink(path));

        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = rm_rf_children(fd, st.st_dev);
        if (r < 0)
                return r;
        return RET_NERRNO(rmdir(path));
}

int write_file_atomic(const char *path, const char *content, mode_t mode) {
        return write_file_atomic_full(path, content, mode, true);
}

int write_file_atomic_full(const char *path, const char *content, mode_t mode, bool sync) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(content);

        tmp = strdup_printf("%s.tmp.%d", path, (int) getpid());
        if (!tmp)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, content + done, len - done);
                if (n < 0) {
                        int r = -errno;
                        (void) unlink(tmp);
                        return r;
                }
                done += n;
        }
        if ((sync && fsync(fd) < 0) || rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int write_all(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int symlink_replace(const char *target, const char *link) {
        _cleanup_free_ char *tmp = strdup_printf("%s.tmp.%d", link, (int) getpid());

        if (!tmp)
                return -ENOMEM;
        (void) unlink(tmp);
        if (symlink(target, tmp) < 0)
                return -errno;
        if (rename(tmp, link) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int read_file(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                if (cap - len < 4096) {
                        char *n = realloc(buf, cap + 8192);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap += 8192;
                }
                size_t k = fread(buf + len, 1, cap - len - 1, f);
                len += k;
                if (k == 0)
                        break;
        }
        if (ferror(f))
                return -EIO;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

typedef struct InodeSet {
        struct {
                dev_t dev;
                ino_t ino;
        } *items;
        size_t n, cap;
} InodeSet;

static bool inode_set_add(InodeSet *s, dev_t dev, ino_t ino) {
        for (size_t i = 0; i < s->n; i++)
                if (s->items[i].ino == ino && s->items[i].dev == dev)
                        return false;
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                void *n = realloc(s->items, cap * sizeof(*s->items));
                if (!n)
                        return false;
                s->items = n;
                s->cap = cap;
        }
        s->items[s->n].dev = dev;
        s->items[s->n].ino = ino;
        s->n++;
        return true;
}

static int disk_usage_fd(int dfd, dev_t dev, InodeSet *seen, unsigned long long *sum) {
        _cleanup_closedir_ DIR *d = fdopendir(dfd);
        struct dirent *de;

        if (!d) {
                (void) close(dfd);
                return -errno;
        }
        while ((de = readdir(d))) {
                struct stat st;

                if (dot_or_dot_dot(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
                        continue;
                if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !inode_set_add(seen, st.st_dev, st.st_ino))
                        continue;
                *sum += (unsigned long long) st.st_blocks * 512ULL;
                if (S_ISDIR(st.st_mode)) {
                        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0)
                                (void) disk_usage_fd(cfd, dev, seen, sum);
                }
        }
        return 0;
}

int disk_usage(const char *path, unsigned long long *ret) {
        InodeSet seen = {};
        unsigned long long sum = 0;
        struct stat st;
        int fd, r;

        if (lstat(path, &st) < 0)
                return -errno;
        sum = (unsigned long long) st.st_blocks * 512ULL;
        if (S_ISDIR(st.st_mode)) {
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                r = disk_usage_fd(fd, st.st_dev, &seen, &sum);
                free(seen.items);
                if (r < 0)
                        return r;
        }
        *ret = sum;
        return 0;
}

const char *format_bytes(char *buf, size_t len, unsigned long long bytes) {
        static const char suffix[] = "BKMGTP";
        double v = (double) bytes;
        size_t i = 0;

        while (v >= 1024.0 && i < sizeof(suffix) - 2) {
                v /= 1024.0;
                i++;
        }
        if (i == 0)
                snprintf(buf, len, "%lluB", bytes);
        else
                snprintf(buf, len, "%.1f%c", v, suffix[i]);
        return buf;
}

int strv_extend_strv(char ***l, char *const *other) {
        for (char *const *o = other; o && *o; o++) {
                int r = strv_extend(l, *o);
                if (r < 0)
                        return r;
        }
        return 0;
}

int set_reason(char **reason, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!reason || *reason)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return r;
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
        *reason = s;
        return r;
}

int run_program(char *const argv[]) {
        int status, r;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        r = pid_wait(pid, &status);
        if (r < 0)
                return r;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

bool dir_has_files(const char *path) {
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        return true;
        return false;
}

int pid_wait(pid_t pid, int *ret_status) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_status)
                *ret_status = status;
        return 0;
}

int user_become(const char *name, uid_t uid, gid_t gid) {
        if (initgroups(name, gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                return -errno;
        return 0;
}

static int send_fd(int sock, int fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char byte = 0;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives one fd, or the sender's -errno (an int without one). */
static int receive_fd(int sock) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        int err = 0, fd;
        struct iovec iov = { .iov_base = &err, .iov_len = sizeof(err) };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)
        };
        ssize_t n;

        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
                        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
                        return fd;
                }
        return n == sizeof(err) && err < 0 ? err : -EIO;
}

int user_open_fd(const char *name, uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata) {
        int pair[2], r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) close(pair[0]);
                (void) close(pair[1]);
                return r;
        }
        if (pid == 0) {
                (void) close(pair[0]);
                r = user_become(name, uid, gid);
                if (r >= 0)
                        r = fn(userdata);
                if (r >= 0)
                        r = send_fd(pair[1], r);
                if (r < 0)
                        (void) send(pair[1], &r, sizeof(r), MSG_NOSIGNAL);
                _exit(r < 0 ? 1 : 0);
        }
        (void) close(pair[1]);
        r = receive_fd(pair[0]);
        (void) close(pair[0]);
        (void) pid_wait(pid, NULL);
        return r;
}

int pid_wait_errno(pid_t pid) {
        int status, r = pid_wait(pid, &status);

        if (r < 0)
                return r;
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}

pid_t fork_detached(bool want_pid) {
        int p[2] = { -EBADF, -EBADF }, r;
        pid_t pid, grandchild = -ECHILD;
        ssize_t n;

        if (want_pid && pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                if (want_pid) {
                        (void) close(p[0]);
                        (void) close(p[1]);
                }
                return r;
        }
        if (pid == 0) {
                pid_t g = fork();

                if (g == 0) {
                        if (want_pid) {
                                (void) close(p[0]);
                                (void) close(p[1]);
                        }
                        return 0;
                }
                if (g < 0)
                        g = -errno;
                if (want_pid)
                        (void) write(p[1], &g, sizeof(g));
                _exit(0);
        }
        if (!want_pid)
                return pid; /* the intermediate's, which ends at once: a zombie of ours until reaped */
        (void) close(p[1]);
        do
                n = read(p[0], &grandchild, sizeof(grandchild));
        while (n < 0 && errno == EINTR);
        (void) close(p[0]);
        (void) pid_wait(pid, NULL);
        return n == (ssize_t) sizeof(grandchild) ? grandchild : -ECHILD;
}

int pid_wait_exit_timeout(pid_t pid, int timeout_ms) {
        struct pollfd pfd = { .events = POLLIN };
        int r;

        pfd.fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pfd.fd < 0)
                return errno == ESRCH ? 0 : -errno;
        do
                r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        (void) close(pfd.fd);
        if (r < 0)
                return -errno;
        /* A child of ours stays a zombie for its parent to reap: it has ended all the same. */
        return r > 0 ? 0 : -ETIMEDOUT;
}

int wait_status_code(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 1, k = strlen(sep);
        char *s, *p;

        for (char *const *i = l; i && *i; i++)
                n += strlen(*i) + k;
        s = p = malloc(n);
        if (!s)
                return NULL;
        *s = '\0';
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return s;
}

int pid_start_time(pid_t pid, unsigned long long *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        unsigned long long start;
        const char *p;
        int r;

        if (pid <= 0)
                return -ESRCH;
        path = strdup_printf("/proc/%d/stat", (int) pid);
        if (!path)
                return -ENOMEM;
        r = read_file(path, &text);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        /* "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so count from the last ')'.
         * The start time is field 22, the 20th after it. */
        p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2])
                return -EBADMSG;
        /* Field 3, the state: an ended process waiting to be reaped runs no more. */
        if (p[2] == 'Z' || p[2] == 'X')
                return -ESRCH;
        for (unsigned field = 2; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        if (sscanf(p + 1, "%llu", &start) != 1)
                return -EBADMSG;
        *ret = start;
        return 0;
}

void debug_pause_point(const char *point) {
        const char *want = secure_getenv("ARKOSE_TEST_PAUSE_AT");

        if (isempty(want) || !streq(want, point))
                return;
        (void) raise(SIGSTOP);
}
