/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* runsock: the client of arkose-init's command socket. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "runsock-protocol.h"
#include "runsock.h"

char *runsock_dir(const char *session_dir) {
        return path_join(session_dir, "run");
}

/* Opens @run_dir and its socket as O_PATH fds, checking owners and modes. Returns the socket's fd. */
static int runsock_open_path(const char *run_dir) {
        _cleanup_close_ int dfd = -EBADF, sfd = -EBADF;
        struct stat st;

        dfd = open(run_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fstat(dfd, &st) < 0)
                return -errno;
        if (st.st_uid != 0 || (st.st_mode & 0077))
                return -EPERM;
        sfd = openat(dfd, RUNSOCK_NAME, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0)
                return -errno;
        if (fstat(sfd, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
                return -EPERM;
        return TAKE_FD(sfd);
}

bool runsock_present(const char *run_dir) {
        _cleanup_close_ int fd = runsock_open_path(run_dir);

        return fd >= 0;
}

int runsock_connect(const char *run_dir, pid_t listener) {
        _cleanup_close_ int path_fd = -EBADF, fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct ucred cred;
        socklen_t len = sizeof(cred);

        path_fd = runsock_open_path(run_dir);
        if (path_fd < 0)
                return path_fd;
        /* Through the O_PATH fd: the socket checked, not whatever its name points to by now. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", path_fd);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        /* Root in the container can put a socket of its own in the directory (it is bound in writable):
         * only init, which made the real one, is talked to. */
        if (cred.uid != 0 || (listener > 0 && cred.pid != listener))
                return -EPERM;
        return TAKE_FD(fd);
}

static int send_all(int fd, const void *buf, size_t n) {
        for (size_t o = 0; o < n;) {
                size_t k = n - o > RUNSOCK_CHUNK ? RUNSOCK_CHUNK : n - o;
                ssize_t w = send(fd, (const char *) buf + o, k, MSG_NOSIGNAL);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                o += w;
        }
        return 0;
}

/* The payload: groups, cwd, argv, env. */
static int runsock_payload(const RunsockPlan *p, char **ret, size_t *ret_size) {
        char nice[16];
        size_t n, o;
        char *buf;

        (void) snprintf(nice, sizeof(nice), "%d", p->nice);
        n = p->n_groups * sizeof(uint32_t) + strlen(p->cwd) + 1 +
            (p->fresh ? strlen(p->fresh) + 1 + strlen(nice) + 1 : 0);

        for (char **a = p->argv; *a; a++)
                n += strlen(*a) + 1;
        for (char **e = p->env; e && *e; e++)
                n += strlen(*e) + 1;
        if (n > RUNSOCK_MAX_PAYLOAD)
                return -E2BIG;
        buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_groups; i++) {
                uint32_t g = p->groups[i];
                memcpy(buf + i * sizeof(uint32_t), &g, sizeof(g));
        }
        o = p->n_groups * sizeof(uint32_t);
        o = stpcpy(buf + o, p->cwd) + 1 - buf;
        if (p->fresh) {
                o = stpcpy(buf + o, p->fresh) + 1 - buf;
                o = stpcpy(buf + o, nice) + 1 - buf;
        }
        for (char **a = p->argv; *a; a++)
                o = stpcpy(buf + o, *a) + 1 - buf;
        for (char **e = p->env; e && *e; e++)
                o = stpcpy(buf + o, *e) + 1 - buf;
        *ret = buf;
        *ret_size = n;
        return 0;
}

static int recv_message(int fd, RunsockMessage *m) {
        ssize_t n;

        do
                n = recv(fd, m, sizeof(*m), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return n == sizeof(*m) ? 0 : -ECONNRESET;
}

int runsock_start(int fd, const RunsockPlan *p) {
        _cleanup_free_ char *payload = NULL;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 3)];
        } control = {};
        RunsockRequest q = {
                .magic = RUNSOCK_MAGIC,
                .flags = (p->no_new_privs ? RUNSOCK_FLAG_NO_NEW_PRIVS : 0) |
                         (p->autopkgtest ? RUNSOCK_FLAG_AUTOPKGTEST : 0) | RUNSOCK_FLAG_UMASK |
                         (p->fresh ? RUNSOCK_FLAG_FRESH : 0) |
                         ((uint32_t) (p->umask & 0777) << RUNSOCK_UMASK_SHIFT),
                .uid = p->uid,
                .gid = p->gid,
                .n_groups = p->n_groups,
                .argc = strv_length(p->argv),
                .envc = strv_length(p->env),
        };
        struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        size_t size;
        int r;

        if (q.argc == 0 || !p->cwd)
                return -EINVAL;
        r = runsock_payload(p, &payload, &size);
        if (r < 0)
                return r;
        q.payload_size = size;
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * 3);
        memcpy(CMSG_DATA(cm), p->fds, sizeof(int) * 3);
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return send_all(fd, payload, size);
}

int runsock_wait(int fd, bool fresh, const sigset_t *forward, int pending, int *ret_status, uint32_t *ret_stage) {
        _cleanup_close_ int sfd = -EBADF;
        RunsockMessage sig = { .type = RUNSOCK_SIGNAL };

        *ret_stage = 0;
        sfd = signalfd(-1, forward, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return -errno;
        if (pending > 0) {
                sig.value = pending;
                (void) send(fd, &sig, sizeof(sig), MSG_NOSIGNAL);
        }
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = fd, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                };
                struct signalfd_siginfo si;
                RunsockMessage m;
                int r;

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        sig.value = (int32_t) si.ssi_signo;
                        (void) send(fd, &sig, sizeof(sig), MSG_NOSIGNAL);
                }
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                r = recv_message(fd, &m);
                if (r < 0) {
                        if (fresh)
                                *ret_stage = RUNSOCK_STAGE_NOT_STARTED;
                        return r;
                }
                if (m.type == RUNSOCK_STARTED && fresh) {
                        fresh = false; /* from now on, a broken connection is a lost command */
                        continue;
                }
                if (m.type == RUNSOCK_ERROR) {
                        *ret_stage = m.stage ?: RUNSOCK_STAGE_REQUEST;
                        return m.value > 0 ? -m.value : -EIO;
                }
                if (m.type != RUNSOCK_EXIT)
                        return -EBADMSG;
                *ret_status = WIFEXITED(m.value) ? WEXITSTATUS(m.value) : 128 + WTERMSIG(m.value);
                return 0;
        }
}
