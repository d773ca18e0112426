/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-init: PID 1 of an arkose-chroot container (lib/container.c bind-mounts it at /dev/.arkose-init).
 *
 *   arkose-init                   idle: reaps orphaned processes until the container is stopped; commands
 *                                 enter the container with attach
 *   arkose-init --listen=PATH     idle, and runs the commands a client on the host asks for on the unix
 *                                 socket it makes at PATH (a detached session's command socket: see
 *                                 lib/runsock-protocol.h; the host reaches it through the session's run
 *                                 directory, bind-mounted at /dev/.arkose-run, root's only)
 *   arkose-init --listen-once=PATH
 *                                 the same for one command only (a spare session, lib/spare.h): the
 *                                 first connection takes the socket (PATH is unlinked, no other client
 *                                 gets in), and when it is done with (its command's status sent, or
 *                                 its client gone), the init exits, status 0: as below, the kernel
 *                                 then kills whatever is left in the container's PID namespace
 *   arkose-init --listen-fresh=PATH [--fresh-net=host] [--fresh-drop-caps=N,...] [--fresh-apparmor=LABEL]
 *               [--idle-exit=S]
 *                                 a shared spare session (lib/spare.h): serves many clients at once, and
 *                                 runs each command in a sub-session of its own (below); exits once no
 *                                 command has run for S seconds, or, on SIGTERM, once the commands
 *                                 running are done
 *   arkose-init --stdio=I,O,E ... first moves fds I, O and E (the caller's standard fds) to 0, 1 and 2
 *   arkose-init COMMAND [ARG...]  runs COMMAND as its child, forwards the signals it gets to it, reaps
 *                                 orphans, and when COMMAND exits, exits with COMMAND's status (128 + N
 *                                 when killed by signal N): the kernel then kills whatever is left in the
 *                                 container's PID namespace, whoever owns it
 *   arkose-init --autopkgtest-exec COMMAND [ARG...]
 *                                 not as PID 1: autopkgtest's execute command (below), for a command
 *                                 entering with attach
 *
 * It is statically linked and does nothing else, so that starting it costs an exec of a small file: the
 * alternative, liblxc's own init, is a fork of the (large) process that started the container and then
 * needs a second program to run ("sleep infinity") and an attach for the command. It runs with the
 * credentials, capabilities, seccomp filter, working directory and environment liblxc gave the
 * container's init, and passes them on unchanged; its commands start with no signal blocked and every
 * signal's default action. ARKOSE_INIT_SIGNAL_HANGUP from outside the container (arkose-chroot's SIGHUP,
 * through liblxc's monitor, which would turn SIGHUP into SIGTERM) reaches the command as SIGHUP. It
 * writes nothing but one line on stderr when COMMAND cannot be run (exit status 127 when it is missing,
 * 126 otherwise, as shells do).
 *
 * A command run through the socket is a child of this init: it has the container's namespaces, cgroup,
 * capability bounding set, seccomp filter and no_new_privs as PID 1 has them (liblxc's attach gives an
 * attached command the same, copied from PID 1 and the container's configuration), with the uid, gid,
 * groups, working directory, environment and stdio the client sent. It leads a session of its own
 * (setsid()), so that no terminal of the container's reaches it and its process group can be killed
 * whole.
 *
 * A sub-session (--listen-fresh) is what a one-shot session of its own would be, made inside the spare's
 * container instead of by starting another: a child of init in new mount, PID, IPC and UTS namespaces
 * (and network, unless --fresh-net=host), which mounts an overlay whose lower layer is the container's
 * root and whose upper layer is in the directory the client made for it, gives it the container's /proc
 * (/proc/sys and /proc/sysrq-trigger read-only), a read-only /sys, a /dev of its own (the container's
 * device nodes made again, its own devpts, /dev/shm), the container's other mounts (the caller's directory, binds)
 * at the same places, pivots into it, brings loopback up, drops the capabilities the session's profile
 * drops (--fresh-drop-caps; the container keeps sys_admin, net_admin, mknod, setpcap, setuid and setgid
 * for this), changes to the session's AppArmor label (--fresh-apparmor=LABEL: init runs as the profile
 * allowed to do the above, which the session's denies), and then is the PID 1
 * of the command, as init is for COMMAND. Init removes the sub-session's directory once it has exited.
 * Nothing of one sub-session is seen by another, nor by the next command. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runsock-protocol.h"

#define MAX_CONNECTIONS 256

/* lib/container.h's CONTAINER_SIGNAL_HANGUP. */
#define ARKOSE_INIT_SIGNAL_HANGUP (SIGRTMIN + 2)

static int exit_code(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Every disposition back to the default, once at start (an ignored signal would never reach the
 * signalfd, and would stay ignored in the commands): children then only need the mask back. */
static void default_dispositions(void) {
        for (int sig = 1; sig < NSIG; sig++)
                (void) signal(sig, SIG_DFL);
}

/* liblxc starts init with the mask its monitor was given (which blocks the signals it forwards until it
 * handles them): none is blocked for a command. */
static void reset_signals(void) {
        sigset_t none;

        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void exec_command(char **argv) {
        execvp(argv[0], argv);
        (void) fprintf(stderr, "arkose-init: failed to run '%s': %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

/* ---- autopkgtest's execute command ----
 *
 * What sbuild-integration's wrapper does, in C: COMMAND runs as a child; TERM, INT, HUP, QUIT, USR1 and
 * USR2 are passed on to it; when stdout or stderr is a pipe or a socket, COMMAND writes to a pipe of ours
 * instead (one for both when they are the same), which we copy through; once COMMAND has exited, what it
 * wrote is drained for a second at most and we exit, so that a process it leaked in the background holds
 * our pipe, never the client's (whose reader would otherwise wait for an EOF that never comes). COMMAND
 * leads a process group of its own; when our pipe is still held open after that second, the group is
 * SIGKILLed (what it leaked without detaching: a daemon that made a session of its own and let go of
 * the output survives, as autopkgtest tests expect). When neither is a pipe or a socket, COMMAND is simply
 * exec'd (no copies, nothing to drain). The exit
 * status is COMMAND's (128 + N when killed by signal N), but 253 for a real 255: 254 and 255 tell
 * autopkgtest that the execute command itself failed. */

typedef struct Copy {
        int in;         /* our pipe's read end, or -1 once at EOF */
        int out;        /* the real stdout or stderr */
} Copy;

static bool fd_is_stream(int fd, struct stat *st) {
        return fstat(fd, st) >= 0 && (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode));
}

/* Copies what is readable; returns false when nothing was. */
static bool copy_some(Copy *copies, size_t n, int sfd, int timeout_ms, pid_t child, int *status) {
        struct pollfd p[3];
        size_t k = 0;
        char buf[65536];

        for (size_t i = 0; i < n; i++)
                if (copies[i].in >= 0)
                        p[k++] = (struct pollfd) { .fd = copies[i].in, .events = POLLIN };
        p[k++] = (struct pollfd) { .fd = sfd, .events = POLLIN };
        if (poll(p, k, timeout_ms) <= 0)
                return false;
        if (p[k - 1].revents & POLLIN) {
                struct signalfd_siginfo si;

                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                        if (si.ssi_signo != SIGCHLD && child > 0)
                                (void) kill(child, (int) si.ssi_signo);
                if (child > 0 && *status < 0) {
                        int s;
                        if (waitpid(child, &s, WNOHANG) == child)
                                *status = s;
                }
        }
        for (size_t i = 0, j = 0; i < n; i++) {
                ssize_t m;

                if (copies[i].in < 0)
                        continue;
                if (!(p[j++].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                m = read(copies[i].in, buf, sizeof(buf));
                if (m <= 0) {
                        if (m < 0 && errno == EINTR)
                                continue;
                        (void) close(copies[i].in);
                        copies[i].in = -1;
                        continue;
                }
                for (ssize_t o = 0; o < m;) {
                        ssize_t w = write(copies[i].out, buf + o, m - o);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break; /* the reader is gone: drop it */
                        o += w;
                }
        }
        return true;
}

static bool copies_open(const Copy *copies, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (copies[i].in >= 0)
                        return true;
        return false;
}

static _Noreturn void autopkgtest_exec(char **argv) {
        static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD };
        Copy copies[2];
        struct stat st[2];
        int inner[3] = { -1, -1, -1 }; /* inner[fd]: the pipe write end fd 1 and 2 get */
        size_t n = 0;
        sigset_t fwd;
        int sfd, status = -1;
        pid_t child;
        struct timespec end, now;

        for (int fd = 1; fd <= 2; fd++) {
                int p[2];

                if (!fd_is_stream(fd, &st[fd - 1]))
                        continue;
                if (fd == 2 && inner[1] >= 0 && st[0].st_dev == st[1].st_dev && st[0].st_ino == st[1].st_ino) {
                        inner[2] = inner[1]; /* the same pipe: one copy keeps their order */
                        continue;
                }
                if (pipe2(p, O_CLOEXEC) < 0) {
                        (void) fprintf(stderr, "arkose-init: pipe: %s\n", strerror(errno));
                        _exit(126);
                }
                copies[n++] = (Copy) { .in = p[0], .out = fd };
                inner[fd] = p[1];
        }

        /* Neither is a pipe or a socket: nothing to copy, nothing a leaked process could hold. The
         * command is exec'd in our place (arkose-chroot --autopkgtest turns its 255 into 253 too). */
        if (n == 0 && inner[2] < 0)
                exec_command(argv);

        (void) sigemptyset(&fwd);
        for (size_t s = 0; s < sizeof(forwarded) / sizeof(forwarded[0]); s++)
                (void) sigaddset(&fwd, forwarded[s]);
        (void) sigprocmask(SIG_BLOCK, &fwd, NULL);
        sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                (void) fprintf(stderr, "arkose-init: signalfd: %s\n", strerror(errno));
                _exit(126);
        }

        /* The child only makes system calls until its exec: vfork() (see connection_start()). */
        child = vfork();
        if (child < 0) {
                (void) fprintf(stderr, "arkose-init: fork: %s\n", strerror(errno));
                _exit(126);
        }
        if (child == 0) {
                (void) setpgid(0, 0);
                for (int fd = 1; fd <= 2; fd++)
                        if (inner[fd] >= 0 && dup2(inner[fd], fd) < 0)
                                _exit(126);
                (void) sigprocmask(SIG_UNBLOCK, &fwd, NULL);
                exec_command(argv);
        }
        (void) setpgid(child, child);
        for (int fd = 1; fd <= 2; fd++)
                if (inner[fd] >= 0 && (fd == 1 || inner[2] != inner[1]))
                        (void) close(inner[fd]);

        /* Until the command exits (SIGCHLD), copying and passing signals on. */
        while (status < 0)
                (void) copy_some(copies, n, sfd, -1, child, &status);
        /* Drain for a second at most: what is still open then was leaked by the command. */
        (void) clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += 1;
        while (copies_open(copies, n)) {
                long ms;

                (void) clock_gettime(CLOCK_MONOTONIC, &now);
                ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
                if (ms <= 0 || !copy_some(copies, n, sfd, (int) ms, 0, &status))
                        break;
        }
        if (copies_open(copies, n))
                (void) kill(-child, SIGKILL); /* a leaked process still holds our pipe */
        status = exit_code(status);
        _exit(status == 255 ? 253 : status);
}

/* ---- The command socket ---- */

/* An autopkgtest command's output, copied by init itself (connection_start()): the read end of the pipe
 * the command writes to, spliced into the client's pipe without blocking. */
typedef struct Relay {
        int in;                 /* our pipe's read end, or -1 once at EOF (or its reader gone) */
        int out;                /* the client's pipe (a c->fds[] entry) */
        bool full;              /* the client's pipe was full: wait until it takes more */
} Relay;

typedef struct Connection {
        int fd;
        pid_t pid;              /* the command, once started */
        RunsockRequest req;
        bool have_req;
        int fds[3];
        int err_fd;             /* the command's error pipe (read end), once started */
        char *payload;
        size_t got;
        Relay relays[2];        /* autopkgtest: its stdout's and stderr's copies (n_relays of them) */
        size_t n_relays;
        bool exited;            /* its command has exited (status), its output is being drained */
        int status;
        struct timespec drain_end;
        const char *fresh;      /* a sub-session's directory name (in payload, or fresh_name) */
        char fresh_name[NAME_MAX + 1];
        int fresh_nice;         /* its command's niceness */
        pid_t remover;          /* the child removing that directory, once the sub-session has exited */
        bool gone;              /* its client went away first (fd closed): no answer, but the removal */
} Connection;

static Connection *conns[MAX_CONNECTIONS];
static size_t n_conns;

static void send_message(int fd, uint32_t type, int32_t value, uint32_t stage) {
        RunsockMessage m = { .type = type, .value = value, .stage = stage };

        (void) send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void connection_free(size_t i) {
        Connection *c = conns[i];

        (void) close(c->fd);
        if (c->err_fd >= 0)
                (void) close(c->err_fd);
        for (size_t k = 0; k < c->n_relays; k++)
                if (c->relays[k].in >= 0)
                        (void) close(c->relays[k].in);
        for (int k = 0; k < 3; k++)
                if (c->fds[k] >= 0)
                        (void) close(c->fds[k]);
        free(c->payload);
        free(c);
        conns[i] = conns[--n_conns];
}

static int make_listener(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        mode_t old;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        (void) unlink(path); /* an earlier init's (a recovered session) */
        old = umask(0077);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        (void) umask(old);
        if (r < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
                (void) close(fd);
                return -1;
        }
        return fd;
}

/* Splits @n NUL-terminated strings off *@p (bounded by @end) into a new NULL-terminated vector. */
static char **split_strings(char **p, const char *end, uint32_t n) {
        char **v = calloc((size_t) n + 1, sizeof(char *));

        if (!v)
                return NULL;
        for (uint32_t i = 0; i < n; i++) {
                char *z = memchr(*p, '\0', end - *p);
                if (!z) {
                        free(v);
                        return NULL;
                }
                v[i] = *p;
                *p = z + 1;
        }
        return v;
}

/* The request's parts, pointing into its payload: made before the child exists, which (vfork()) must not
 * allocate. */
typedef struct CommandParts {
        const gid_t *groups;
        const char *cwd;
        char **argv;
        char **env;
        int stdio[3];           /* the command's stdin, stdout and stderr */
        bool relayed;           /* autopkgtest: init copies its output (stdout and stderr are our pipes) */
} CommandParts;

/* In a child: stdin, stdout and stderr are the client's, or our relays' pipes (fds above 2, all
 * close-on-exec, so dup2 never clobbers); @err_fd becomes 3, close-on-exec; nothing of init's or of other
 * connections' stays open (the autopkgtest wrapper does not exec). Returns false (errno) on failure. */
static bool child_fds(const CommandParts *parts, int err_fd) {
        for (int k = 0; k < 3; k++)
                if (dup2(parts->stdio[k], k) < 0)
                        return false;
        if (dup2(err_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
                _exit(126);
        (void) close_range(4, ~0U, 0);
        return true;
}

/* In a child: the request's groups, gid, uid, no_new_privs and umask. Returns false (errno) on failure. */
static bool child_credentials(const RunsockRequest *q, const CommandParts *parts) {
        if (setgroups(q->n_groups, parts->groups) < 0 || setresgid(q->gid, q->gid, q->gid) < 0 ||
            setresuid(q->uid, q->uid, q->uid) < 0)
                return false;
        if ((q->flags & RUNSOCK_FLAG_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return false;
        if (q->flags & RUNSOCK_FLAG_UMASK)
                (void) umask((q->flags >> RUNSOCK_UMASK_SHIFT) & 0777);
        return true;
}

/* In the child (of vfork(), or of fork() for the autopkgtest wrapper, which does not exec): becomes the
 * command. Only system calls until the exec: a vforked child shares our memory and must neither allocate
 * nor change what we use. Reports a failure before exec on @err_fd. */
static _Noreturn void command_child(const Connection *c, const CommandParts *parts, int err_fd) {
        const RunsockRequest *q = &c->req;
        int e[2];

        reset_signals();
        (void) setsid();
        if (!child_fds(parts, err_fd))
                goto fail_creds;
        err_fd = 3;
        if (chdir(parts->cwd) < 0) {
                e[0] = RUNSOCK_STAGE_CWD;
                goto fail;
        }
        if (!child_credentials(q, parts))
                goto fail_creds;
        /* (execvp() finds the command in this environment's PATH; connection_start() restores its own.) */
        environ = parts->env;
        if ((q->flags & RUNSOCK_FLAG_AUTOPKGTEST) && !parts->relayed) {
                (void) close(err_fd); /* set up (the wrapper does not exec) */
                autopkgtest_exec(parts->argv);
        }
        exec_command(parts->argv);

fail_creds:
        e[0] = RUNSOCK_STAGE_CREDENTIALS;
fail:
        e[1] = errno;
        (void) write(err_fd, e, sizeof(e));
        _exit(126);
}

/* autopkgtest's execute command, when its stdout or stderr is a pipe (all that is a stream is, as
 * autopkgtest gives it): COMMAND writes to a pipe of ours instead (one for both when they are the same),
 * which init splices into the client's (relay_pump()), never blocking on it, while it goes on serving
 * everything else. Once COMMAND has exited, the connection's answer waits until that output is drained,
 * for a second at most; what still holds our pipe then was leaked by COMMAND and is SIGKILLed with its
 * process group (connections_finish()). This is the wrapper's work (autopkgtest_exec()) without a process
 * of its own; the wrapper still serves a socket among them, and commands entering with attach. Makes
 * the pipes, their write ends in @inner[1] and @inner[2]: returns 1, or 0 when there is nothing for
 * init to relay, or -errno. */
static int relays_open(Connection *c, int inner[3]) {
        struct stat st[2];
        bool stream[2];

        for (int fd = 1; fd <= 2; fd++) {
                stream[fd - 1] = fd_is_stream(c->fds[fd], &st[fd - 1]);
                if (stream[fd - 1] && !S_ISFIFO(st[fd - 1].st_mode))
                        return 0;
        }
        if (!stream[0] && !stream[1])
                return 0;
        for (int fd = 1; fd <= 2; fd++) {
                int p[2];

                if (!stream[fd - 1])
                        continue;
                if (fd == 2 && inner[1] >= 0 && st[0].st_dev == st[1].st_dev && st[0].st_ino == st[1].st_ino) {
                        inner[2] = inner[1]; /* the same pipe: one copy keeps their order */
                        continue;
                }
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno; /* the ones made are closed by the caller */
                c->relays[c->n_relays++] = (Relay) { .in = p[0], .out = c->fds[fd] };
                inner[fd] = p[1];
        }
        return 1;
}

static bool relays_busy(const Connection *c) {
        for (size_t k = 0; k < c->n_relays; k++)
                if (c->relays[k].in >= 0)
                        return true;
        return false;
}

static void relay_close(Relay *r) {
        (void) close(r->in);
        r->in = -1;
}

/* Our pipe is readable (or the client's writable again, when it was full): moves what fits. */
static void relay_pump(Relay *r, short revents) {
        ssize_t n;

        if (r->full) {
                /* Room again (or its reader gone: the splice then says EPIPE). A splice now could not
                 * tell a full pipe from an empty one of ours, so ours is polled first. */
                r->full = !(revents & (POLLOUT | POLLERR | POLLHUP));
                return;
        }
        do
                n = splice(r->in, NULL, r->out, NULL, 1 << 20, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        while (n < 0 && errno == EINTR);
        if (n > 0)
                return;
        if (n < 0 && errno == EAGAIN)
                r->full = true; /* ours was readable: the client's is full */
        else
                relay_close(r); /* EOF; or the client's reader is gone: COMMAND's next write fails, as there */
}

static pid_t start_command(char **argv);
/* ---- Sub-sessions of a shared spare (--listen-fresh) ---- */

static const char *fresh_dir;           /* RUNSOCK_FRESH_TARGET with --listen-fresh, else NULL */
static bool fresh_new_net = true;       /* --fresh-net=host: the container's network namespace (the host's) */
static int fresh_drop[CAP_LAST_CAP + 32];
static size_t n_fresh_drop;
static const char *fresh_apparmor;      /* --fresh-apparmor: the commands' AppArmor label, else NULL */

/* What the client names a sub-session's directory: one component of its own making (mkdtemp()). */
static bool fresh_name_valid(const char *n) {
        size_t len = strlen(n);

        if (len == 0 || len > NAME_MAX || n[0] == '.')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) n[i]) && n[i] != '-' && n[i] != '_' && n[i] != '.')
                        return false;
        return true;
}

static bool path_is_below(const char *p, const char *dir) {
        size_t n = strlen(dir);

        return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* mountinfo's escapes (\040 for a space, ...) decoded in place. */
static void unescape_octal(char *s) {
        char *o = s;

        for (; *s; s++, o++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *o = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 3;
                } else
                        *o = *s;
        }
        *o = '\0';
}

/* Remounts the bind mount at @path read-only, keeping its other flags. */
static int remount_ro(const char *path) {
        static const struct { unsigned long st, ms; } map[] = {
                { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
                { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
        struct statvfs sv;

        if (statvfs(path, &sv) < 0)
                return -errno;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (sv.f_flag & map[i].st)
                        flags |= map[i].ms;
        return mount(NULL, path, NULL, flags, NULL) < 0 ? -errno : 0;
}

/* Binds @source on @target (which exists), read-only with @ro. */
static int bind_at(const char *source, const char *target, bool ro) {
        if (mount(source, target, NULL, MS_BIND, NULL) < 0)
                return -errno;
        return ro ? remount_ro(target) : 0;
}

/* Binds file @source on @target, which is made (empty). */
static int bind_file_at(const char *source, const char *target) {
        int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        (void) close(fd);
        return bind_at(source, target, false);
}

static int join(char *buf, size_t size, const char *a, const char *b) {
        int n = snprintf(buf, size, "%s%s", a, b);

        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* The container's own mounts but its root, /proc, /sys and /dev (the caller's directory, the profile's
 * binds, resolv.conf ...), bound at the same places below @root, in mount order, read-only when they are. */
static int fresh_copy_mounts(const char *root, char *mountinfo) {
        char *line, *save = NULL;

        for (line = strtok_r(mountinfo, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *field[6] = {}, *f, *fsave = NULL, target[PATH_MAX];
                size_t n = 0;
                int r;

                for (f = strtok_r(line, " ", &fsave); f && n < 6; f = strtok_r(NULL, " ", &fsave))
                        field[n++] = f;
                if (n < 6)
                        continue;
                unescape_octal(field[4]);
                if (strcmp(field[4], "/") == 0 || path_is_below(field[4], "/proc") ||
                    path_is_below(field[4], "/sys") || path_is_below(field[4], "/dev"))
                        continue;
                r = join(target, sizeof(target), root, field[4]);
                if (r >= 0)
                        r = bind_at(field[4], target, strncmp(field[5], "ro", 2) == 0 && (field[5][2] == ',' || field[5][2] == '\0'));
                if (r < 0)
                        return r;
        }
        return 0;
}

static char *read_file(const char *path) {
        size_t size = 0, cap = 8192;
        char *buf = malloc(cap);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (!buf || fd < 0)
                goto fail;
        while ((n = read(fd, buf + size, cap - size - 1)) > 0) {
                size += n;
                if (cap - size < 2) {
                        char *b = realloc(buf, cap *= 2);
                        if (!b)
                                goto fail;
                        buf = b;
                }
        }
        if (n < 0)
                goto fail;
        buf[size] = '\0';
        (void) close(fd);
        return buf;
fail:
        free(buf);
        if (fd >= 0)
                (void) close(fd);
        return NULL;
}

/* /dev of the sub-session, as LXC's autodev makes the container's: a tmpfs with the container's device
 * nodes made again (bound in when that is refused), a devpts instance of its own, whose ptmx is bound on
 * /dev/ptmx, and a /dev/shm of its own. */
static int fresh_dev(const char *root) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
        };
        char dev[PATH_MAX], p[PATH_MAX + 16], src[32];
        int r = join(dev, sizeof(dev), root, "/dev");

        if (r < 0)
                return r;
        if (mount("none", dev, "tmpfs", 0, "size=492k,mode=755") < 0)
                return -errno;
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
                struct stat st;

                (void) snprintf(p, sizeof(p), "%s/%s", dev, nodes[i]);
                (void) snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
                if (stat(src, &st) < 0)
                        continue;
                if (mknod(p, st.st_mode, st.st_rdev) >= 0) {
                        (void) chmod(p, st.st_mode & 07777);
                        continue;
                }
                r = bind_file_at(src, p);
                if (r < 0)
                        return r;
        }
        (void) snprintf(p, sizeof(p), "%s/pts", dev);
        if (mkdir(p, 0755) < 0 ||
            mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5,max=1024") < 0)
                return -errno;
        {
                char ptmx[PATH_MAX + 16];

                (void) snprintf(ptmx, sizeof(ptmx), "%s/ptmx", dev);
                (void) snprintf(p, sizeof(p), "%s/pts/ptmx", dev);
                r = bind_file_at(p, ptmx);
                if (r < 0)
                        return r;
        }
        (void) snprintf(p, sizeof(p), "%s/shm", dev);
        if (mkdir(p, 01777) < 0 || mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                return -errno;
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                (void) snprintf(p, sizeof(p), "%s/%s", dev, links[i][1]);
                if (symlink(links[i][0], p) < 0)
                        return -errno;
        }
        return 0;
}

/* /proc as LXC's proc:mixed: writable, but /proc/sys and /proc/sysrq-trigger read-only; and the
 * container's boot id. */
static int fresh_proc(const char *root) {
        char proc[PATH_MAX], p[PATH_MAX + 32];
        int r = join(proc, sizeof(proc), root, "/proc");

        if (r < 0)
                return r;
        if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        (void) snprintf(p, sizeof(p), "%s/sys/kernel/random/boot_id", proc);
        if (access("/dev/.lxc-boot-id", F_OK) >= 0) {
                r = bind_at("/dev/.lxc-boot-id", p, true);
                if (r < 0)
                        return r;
        }
        (void) snprintf(p, sizeof(p), "%s/sys", proc);
        r = bind_at(p, p, true);
        if (r < 0)
                return r;
        (void) snprintf(p, sizeof(p), "%s/sysrq-trigger", proc);
        if (access(p, F_OK) < 0)
                return 0; /* a kernel without magic SysRq */
        return bind_at(p, p, true);
}

static int loopback_up(void) {
        struct ifreq ifr = {};
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

        if (fd < 0)
                return -errno;
        (void) strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                r = -errno;
        else if (!(ifr.ifr_flags & IFF_UP)) {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                        r = -errno;
        }
        (void) close(fd);
        return r;
}

/* The profile's capabilities out of the bounding set (what a setuid program may gain), and no ambient
 * ones. Before the credentials change, which needs setuid and setgid, and after which only root keeps
 * capabilities (drop_capabilities()). */
static int drop_bounding_set(void) {
        for (size_t i = 0; i < n_fresh_drop; i++)
                if (prctl(PR_CAPBSET_DROP, fresh_drop[i], 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        return 0;
}

/* The profile's capabilities out of the permitted, effective and inheritable sets (root's command). */
static int drop_capabilities(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2];

        if (n_fresh_drop == 0)
                return 0;
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        for (size_t i = 0; i < n_fresh_drop; i++) {
                uint32_t bit = UINT32_C(1) << (fresh_drop[i] % 32);

                d[fresh_drop[i] / 32].effective &= ~bit;
                d[fresh_drop[i] / 32].permitted &= ~bit;
                d[fresh_drop[i] / 32].inheritable &= ~bit;
        }
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* In the sub-session's first process (PID 1 of its PID namespace, in its new mount namespace): makes its
 * root in fresh_dir/@name and pivots into it. */
static int fresh_setup(const char *name) {
        char dir[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX], opts[3 * PATH_MAX + 64];
        struct stat st;
        char *mountinfo;
        int r;

        if (snprintf(dir, sizeof(dir), "%s/%s", fresh_dir, name) >= (int) sizeof(dir) ||
            join(upper, sizeof(upper), dir, "/upper") < 0 || join(work, sizeof(work), dir, "/work") < 0 ||
            join(root, sizeof(root), dir, "/root") < 0)
                return -ENAMETOOLONG;
        /* Read before our own mounts are added to it. */
        mountinfo = read_file("/proc/self/mountinfo");
        if (!mountinfo)
                return -errno ?: -ENOMEM;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                goto fail_errno;
        /* The overlay's root takes the upper directory's mode: the container root's. */
        if (stat("/", &st) < 0 || mkdir(upper, st.st_mode & 07777) < 0 || chmod(upper, st.st_mode & 07777) < 0 ||
            mkdir(work, 0700) < 0 || mkdir(root, 0755) < 0)
                goto fail_errno;
        (void) snprintf(opts, sizeof(opts), "lowerdir=/,upperdir=%s,workdir=%s,volatile", upper, work);
        if (mount("arkose", root, "overlay", 0, opts) < 0)
                goto fail_errno;
        r = fresh_proc(root);
        if (r >= 0) {
                char sys[PATH_MAX];

                r = join(sys, sizeof(sys), root, "/sys");
                if (r >= 0 && mount("sysfs", sys, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        r = -errno;
        }
        if (r >= 0)
                r = fresh_dev(root);
        if (r >= 0)
                r = fresh_copy_mounts(root, mountinfo);
        free(mountinfo);
        mountinfo = NULL;
        if (r >= 0 && fresh_new_net)
                r = loopback_up();
        if (r < 0)
                return r;
        /* Nothing of the container's root (the other sub-sessions' directories) stays reachable. */
        if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
            chdir("/") < 0)
                return -errno;
        return drop_bounding_set();

fail_errno:
        r = -errno;
        free(mountinfo);
        return r;
}

/* The sub-session's process, set up: changes to the commands' AppArmor label (fresh_apparmor), as
 * aa_change_profile() does, before no_new_privs (which allows no such change). */
static int fresh_change_profile(void) {
        char cmd[4096];
        int fd, n;

        if (!fresh_apparmor)
                return 0;
        n = snprintf(cmd, sizeof(cmd), "changeprofile %s", fresh_apparmor);
        if (n < 0 || n >= (int) sizeof(cmd))
                return -ENAMETOOLONG;
        fd = open("/proc/self/attr/apparmor/current", O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                fd = open("/proc/self/attr/current", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, cmd, (size_t) n) != n) {
                int r = -errno;
                (void) close(fd);
                return r ?: -EIO;
        }
        (void) close(fd);
        return 0;
}

/* The sub-session's first process: sets it up, then runs the command as its init does in COMMAND mode
 * (passes signals on, reaps, exits with the command's status; the kernel then kills what is left in
 * its PID namespace). Reports a failure before the command runs on @err_fd. */
static _Noreturn void fresh_child(const Connection *c, const CommandParts *parts, int err_fd) {
        const RunsockRequest *q = &c->req;
        struct signalfd_siginfo si;
        sigset_t all;
        pid_t command;
        int e[2], sfd, r;

        (void) setsid();
        if (!child_fds(parts, err_fd))
                goto fail_fresh;
        err_fd = 3;
        r = fresh_setup(c->fresh);
        if (r >= 0)
                r = fresh_change_profile();
        if (r < 0) {
                errno = -r;
                goto fail_fresh;
        }
        if (chdir(parts->cwd) < 0) {
                e[0] = RUNSOCK_STAGE_CWD;
                goto fail;
        }
        /* The caller's niceness (a command in a session of its own inherits it). */
        (void) setpriority(PRIO_PROCESS, 0, c->fresh_nice);
        if (!child_credentials(q, parts))
                goto fail_creds;
        r = drop_capabilities();
        if (r < 0) {
                errno = -r;
                goto fail_fresh;
        }
        environ = parts->env;
        (void) sigfillset(&all);
        sfd = signalfd(-1, &all, SFD_CLOEXEC);
        if (sfd < 0)
                goto fail_fresh;
        command = start_command(parts->argv);
        if (command < 0)
                goto fail_fresh;
        for (;;) {
                if (read(sfd, &si, sizeof(si)) != sizeof(si))
                        continue;
                if (si.ssi_signo != SIGCHLD) {
                        (void) kill(command, (int) si.ssi_signo);
                        continue;
                }
                for (;;) {
                        int s;
                        pid_t p = waitpid(-1, &s, WNOHANG);

                        if (p <= 0)
                                break;
                        if (p == command)
                                _exit(exit_code(s));
                }
        }

fail_fresh:
        e[0] = RUNSOCK_STAGE_FRESH;
        goto fail_errno;
fail_creds:
        e[0] = RUNSOCK_STAGE_CREDENTIALS;
        goto fail_errno;
fail:
fail_errno:
        e[1] = errno;
        (void) write(err_fd, e, sizeof(e));
        _exit(126);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st, (void) ftw;
        (void) (type == FTW_DP ? rmdir(path) : unlink(path));
        return 0;
}

/* Removes the directory of the sub-session of @c, which has exited (with it its mount namespace, and its
 * overlay), in a child of ours: what a command left there may be large. */
static void fresh_remove(Connection *c) {
        pid_t pid = fork();

        if (pid == 0) {
                char dir[PATH_MAX];

                reset_signals();
                if (snprintf(dir, sizeof(dir), "%s/%s", fresh_dir, c->fresh) < (int) sizeof(dir))
                        (void) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
                _exit(0);
        }
        c->remover = pid > 0 ? pid : 0;
}

/* Starts the command of a complete request, without waiting for it: whether its set-up failed is read
 * from its error pipe once it has exited (reap()). Returns false when the connection is done with.
 *
 * vfork(): we wait, without copying our page tables or taking copy-on-write faults afterwards, until the
 * child has exec'd (or exited); on this kind of paravirtualised VM that is about 1 ms of each command. The
 * autopkgtest wrapper, when it copies output to a socket, runs as long as its command, so it gets a
 * fork() of its own. */
static bool connection_start(Connection *c) {
        const RunsockRequest *q = &c->req;
        size_t need = (size_t) q->n_groups * sizeof(uint32_t);
        bool autopkgtest = q->flags & RUNSOCK_FLAG_AUTOPKGTEST;
        struct stat ignored;
        CommandParts parts = { .groups = (const gid_t *) c->payload };
        char *p, *end, **saved_environ = environ;
        int pipe_fds[2], inner[3] = { -1, -1, -1 }, fork_errno, r;
        bool wrapper;
        pid_t pid;

        /* A shared spare runs every command in a sub-session, and nothing else does. */
        if (q->argc < 1 || need >= q->payload_size || c->payload[q->payload_size - 1] != '\0' ||
            !(q->flags & RUNSOCK_FLAG_FRESH) != !fresh_dir || (fresh_dir && autopkgtest)) {
                send_message(c->fd, RUNSOCK_ERROR, EINVAL, RUNSOCK_STAGE_REQUEST);
                return false;
        }
        /* autopkgtest's output: relayed by us when it goes to pipes; else copied by the wrapper, which then
         * outlives its exec, when one is a socket (autopkgtest_exec()); else nothing to copy. */
        r = autopkgtest ? relays_open(c, inner) : 0;
        if (r < 0) {
                fork_errno = -r;
                goto fail_fork;
        }
        parts.relayed = r > 0;
        wrapper = autopkgtest && !parts.relayed &&
                  (fd_is_stream(c->fds[1], &ignored) || fd_is_stream(c->fds[2], &ignored));
        for (int k = 0; k < 3; k++)
                parts.stdio[k] = inner[k] >= 0 ? inner[k] : c->fds[k];
        p = c->payload + need;
        end = c->payload + q->payload_size;
        parts.cwd = p;
        p += strlen(p) + 1;
        if (fresh_dir) {
                if (p >= end || !fresh_name_valid(p) || strlen(p) >= sizeof(c->fresh_name)) {
                        fork_errno = EINVAL;
                        goto fail_request;
                }
                strcpy(c->fresh_name, p);
                p += strlen(p) + 1;
                if (p >= end || sscanf(p, "%d", &c->fresh_nice) != 1 || c->fresh_nice < -20 || c->fresh_nice > 19) {
                        fork_errno = EINVAL;
                        goto fail_request;
                }
                p += strlen(p) + 1;
        }
        parts.argv = split_strings(&p, end, q->argc);
        parts.env = parts.argv ? split_strings(&p, end, q->envc) : NULL;
        if (!parts.argv || !parts.env) {
                fork_errno = EINVAL;
                goto fail_request;
        }
        if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                fork_errno = errno;
                goto fail_fork;
        }
        if (fresh_dir)
                /* A fork (its setup allocates), as PID 1 of new namespaces. */
                pid = (pid_t) syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                                                         (fresh_new_net ? CLONE_NEWNET : 0) | SIGCHLD,
                                      NULL, NULL, NULL, 0);
        else
                pid = wrapper ? fork() : vfork();
        if (pid == 0) {
                (void) close(pipe_fds[0]);
                if (fresh_dir) {
                        c->fresh = c->fresh_name;
                        fresh_child(c, &parts, pipe_fds[1]);
                }
                command_child(c, &parts, pipe_fds[1]);
        }
        fork_errno = errno;
        environ = saved_environ; /* what a vforked child set */
        (void) close(pipe_fds[1]);
        if (pid < 0) {
                (void) close(pipe_fds[0]);
                goto fail_fork;
        }
        free(parts.argv);
        free(parts.env);
        for (int k = 1; k <= 2; k++)
                if (inner[k] >= 0 && (k == 1 || inner[2] != inner[1]))
                        (void) close(inner[k]);
        /* The client's fds are the command's now, but those our relays write to. */
        for (int k = 0; k < 3; k++)
                if (k == 0 || inner[k] < 0) {
                        (void) close(c->fds[k]);
                        c->fds[k] = -1;
                }
        free(c->payload);
        c->payload = NULL;
        c->err_fd = pipe_fds[0];
        c->pid = pid;
        if (fresh_dir) {
                c->fresh = c->fresh_name;
                send_message(c->fd, RUNSOCK_STARTED, 0, 0);
        }
        return true;

fail_request:
        send_message(c->fd, RUNSOCK_ERROR, fork_errno, RUNSOCK_STAGE_REQUEST);
        goto fail;
fail_fork:
        send_message(c->fd, RUNSOCK_ERROR, fork_errno, RUNSOCK_STAGE_FORK);
fail:
        free(parts.argv);
        free(parts.env);
        for (int k = 1; k <= 2; k++)
                if (inner[k] >= 0 && (k == 1 || inner[2] != inner[1]))
                        (void) close(inner[k]);
        return false; /* (the relays' ends: connection_free()) */
}

/* The command of @c has exited with wait status @status: ERROR when it never got to run, else EXIT. */
static void connection_exited(Connection *c, int status) {
        int e[2];

        if (c->gone)
                return;
        if (c->err_fd >= 0 && read(c->err_fd, e, sizeof(e)) == sizeof(e))
                send_message(c->fd, RUNSOCK_ERROR, e[1], (uint32_t) e[0]);
        else
                send_message(c->fd, RUNSOCK_EXIT, status, 0);
}

/* Reads the request header (with its fds). */
static bool connection_read_request(Connection *c) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 3)];
        } control;
        struct iovec iov = { .iov_base = &c->req, .iov_len = sizeof(c->req) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cm;
        ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        int nfds = 0;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                        int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *fds = (int *) CMSG_DATA(cm);
                        for (int i = 0; i < k; i++) {
                                if (nfds < 3)
                                        c->fds[nfds++] = fds[i];
                                else
                                        (void) close(fds[i]);
                        }
                }
        if (n != sizeof(c->req) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds != 3 ||
            c->req.magic != RUNSOCK_MAGIC || c->req.payload_size == 0 ||
            c->req.payload_size > RUNSOCK_MAX_PAYLOAD || c->req.n_groups > 65536) {
                if (n > 0)
                        send_message(c->fd, RUNSOCK_ERROR, EINVAL, RUNSOCK_STAGE_REQUEST);
                return false;
        }
        c->payload = malloc(c->req.payload_size);
        if (!c->payload) {
                send_message(c->fd, RUNSOCK_ERROR, ENOMEM, RUNSOCK_STAGE_REQUEST);
                return false;
        }
        c->have_req = true;
        return true;
}

/* The connection is readable. Returns false when it is to be dropped. */
static bool connection_input(Connection *c) {
        if (!c->have_req)
                return connection_read_request(c);
        if (c->pid == 0) {
                ssize_t n = recv(c->fd, c->payload + c->got, c->req.payload_size - c->got, MSG_DONTWAIT);

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return true;
                if (n <= 0)
                        return false;
                c->got += n;
                return c->got < c->req.payload_size || connection_start(c);
        }
        for (;;) {
                RunsockMessage m;
                ssize_t n = recv(c->fd, &m, sizeof(m), MSG_DONTWAIT);

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return true;
                if (n <= 0) {
                        /* The client is gone: so is its command, with everything in its process group (a
                         * sub-session's: its PID namespace, once its first process is dead). */
                        if (!c->fresh || !c->exited)
                                (void) kill(-c->pid, SIGKILL);
                        if (!c->exited)
                                (void) kill(c->pid, SIGKILL);
                        if (!c->fresh)
                                return false;
                        /* (A sub-session's PID namespace dies with its first process.) Its directory is
                         * still to be removed once it has exited: no answer, nobody to read it. */
                        (void) close(c->fd);
                        c->fd = -1;
                        c->gone = true;
                        return true;
                }
                if (n == sizeof(m) && m.type == RUNSOCK_SIGNAL && m.value > 0 && m.value < NSIG && !c->exited)
                        (void) kill(c->pid, m.value); /* (once reaped, its pid may be another's) */
        }
}

static void accept_all(int listener, size_t max) {
        while (n_conns < max) {
                Connection *c;
                int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

                if (fd < 0)
                        return;
                c = calloc(1, sizeof(Connection));
                if (!c || n_conns >= MAX_CONNECTIONS) {
                        free(c);
                        (void) close(fd);
                        continue;
                }
                c->fd = fd;
                c->err_fd = -1;
                c->fds[0] = c->fds[1] = c->fds[2] = -1;
                conns[n_conns++] = c;
        }
}

static long ms_until(const struct timespec *t) {
        struct timespec now;

        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec + 999999) / 1000000;
}

/* Answers the connections whose command has exited and whose output is drained, or whose second to drain
 * it is over (what still holds our pipe then was leaked: it is killed with the command's process group).
 * Returns the poll() timeout until the next such second ends, or -1. */
static int connections_finish(void) {
        long timeout = -1;

        for (size_t i = n_conns; i-- > 0;) {
                Connection *c = conns[i];
                long ms;

                if (!c->exited || c->fresh) /* (a sub-session's: reap(), once its directory is gone) */
                        continue;
                ms = relays_busy(c) ? ms_until(&c->drain_end) : 0;
                if (ms > 0) {
                        timeout = timeout < 0 || ms < timeout ? ms : timeout;
                        continue;
                }
                if (relays_busy(c))
                        (void) kill(-c->pid, SIGKILL);
                connection_exited(c, c->status);
                connection_free(i);
        }
        return (int) timeout;
}

/* Reaps every child that has exited; answers EXIT for commands of connections. Returns true when
 * @command (if > 0) was among them, its status in *status. */
static bool reap(pid_t command, int *status) {
        bool found = false;

        for (;;) {
                int s;
                pid_t p = waitpid(-1, &s, WNOHANG);

                if (p <= 0)
                        return found;
                if (p == command) {
                        *status = s;
                        found = true;
                }
                for (size_t i = 0; i < n_conns; i++) {
                        Connection *c = conns[i];

                        if (c->fresh && c->remover == p) {
                                connection_exited(c, c->status); /* its directory is gone */
                                connection_free(i);
                                break;
                        }
                        if (c->pid != p || c->exited)
                                continue;
                        if (c->fresh) {
                                c->exited = true;
                                c->status = s;
                                fresh_remove(c);
                                if (c->remover > 0)
                                        break;
                                connection_exited(c, s);
                                connection_free(i);
                                break;
                        }
                        if (relays_busy(c)) {
                                /* Its output is drained first, for a second at most. */
                                c->exited = true;
                                c->status = s;
                                (void) clock_gettime(CLOCK_MONOTONIC, &c->drain_end);
                                c->drain_end.tv_sec += 1;
                        } else {
                                connection_exited(c, s);
                                connection_free(i);
                        }
                        break;
                }
        }
}

static pid_t start_command(char **argv) {
        /* The child only resets its signal mask and execs: vfork() (see connection_start()). */
        pid_t pid = vfork();

        if (pid != 0)
                return pid;
        reset_signals();
        exec_command(argv);
}

/* Makes sure fds 0-2 are open, so that received fds never land there. */
static void open_stdio(void) {
        for (int fd = 0; fd <= 2; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                        return;
}

/* --fresh-net=host, --fresh-drop-caps=N,N,..., --fresh-apparmor=LABEL, --idle-exit=S. */
static bool fresh_option(const char *o, unsigned *idle_exit) {
        char *end;

        if (strcmp(o, "--fresh-net=host") == 0) {
                fresh_new_net = false;
                return true;
        }
        if (strncmp(o, "--fresh-apparmor=", 17) == 0) {
                fresh_apparmor = o + 17;
                return *fresh_apparmor != '\0';
        }
        if (strncmp(o, "--idle-exit=", 12) == 0) {
                unsigned long v = strtoul(o + 12, &end, 10);

                *idle_exit = (unsigned) v;
                return end != o + 12 && *end == '\0' && v <= 24 * 3600;
        }
        if (strncmp(o, "--fresh-drop-caps=", 18) != 0)
                return false;
        for (const char *c = o + 18; *c; c = end + (*end == ',')) {
                long cap = strtol(c, &end, 10);

                if (end == c || (*end != ',' && *end != '\0') || cap < 0 || cap > 63 ||
                    n_fresh_drop >= sizeof(fresh_drop) / sizeof(fresh_drop[0]))
                        return false;
                fresh_drop[n_fresh_drop++] = (int) cap;
        }
        return true;
}

int main(int argc, char **argv) {
        sigset_t all;
        pid_t command = 0;
        bool stopping = false;
        int status = 0, sfd, listener = -1;
        const char *once_path = NULL;   /* --listen-once: the socket, until its one client connects */
        bool served = false;            /* --listen-once: that client connected */
        const char *fresh_path = NULL;  /* --listen-fresh: the socket, until we retire */
        unsigned idle_exit = 0;         /* --idle-exit: seconds */
        struct timespec idle_end = {};  /* --idle-exit: when we retire if nothing runs until then */
        bool retiring = false;          /* --listen-fresh: SIGTERM came, the last command's end is ours */

        /* --stdio=IN,OUT,ERR: where the caller's standard fds are (lib/container.c's stdio_divert(): liblxc
         * would have chown()ed them, had they been ours); -1 for one it had closed. */
        if (argc > 1 && strncmp(argv[1], "--stdio=", 8) == 0) {
                int fds[3];

                if (sscanf(argv[1] + 8, "%d,%d,%d", &fds[0], &fds[1], &fds[2]) != 3) {
                        (void) fprintf(stderr, "arkose-init: bad option '%s'\n", argv[1]);
                        return 126;
                }
                for (int fd = 0; fd < 3; fd++)
                        if (fds[fd] > 2 && dup2(fds[fd], fd) < 0) {
                                (void) fprintf(stderr, "arkose-init: fd %d: %s\n", fds[fd], strerror(errno));
                                return 126;
                        }
                for (int fd = 0; fd < 3; fd++)
                        if (fds[fd] > 2)
                                (void) close(fds[fd]);
                argc--;
                argv++;
        }

        if (argc > 1 && strcmp(argv[1], "--autopkgtest-exec") == 0) {
                if (argc < 3) {
                        (void) fprintf(stderr, "arkose-init: --autopkgtest-exec needs a command\n");
                        return 126;
                }
                autopkgtest_exec(argv + 2);
        }

        /* Every signal is taken synchronously; none has its default (for PID 1: ignored) effect. */
        default_dispositions();
        (void) sigfillset(&all);
        (void) sigprocmask(SIG_BLOCK, &all, NULL);
        sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                (void) fprintf(stderr, "arkose-init: signalfd: %s\n", strerror(errno));
                return 126;
        }

        if (argc > 1 && strncmp(argv[1], "--listen-once=", 14) == 0) {
                open_stdio();
                once_path = argv[1] + 14;
                listener = make_listener(once_path);
                if (listener < 0) {
                        (void) fprintf(stderr, "arkose-init: cannot listen on '%s': %s\n", once_path, strerror(errno));
                        return 126;
                }
        } else if (argc > 1 && strncmp(argv[1], "--listen-fresh=", 15) == 0) {
                open_stdio();
                fresh_path = argv[1] + 15;
                for (int i = 2; i < argc; i++)
                        if (!fresh_option(argv[i], &idle_exit)) {
                                (void) fprintf(stderr, "arkose-init: bad option '%s'\n", argv[i]);
                                return 126;
                        }
                fresh_dir = RUNSOCK_FRESH_TARGET;
                listener = make_listener(fresh_path);
                if (listener < 0) {
                        (void) fprintf(stderr, "arkose-init: cannot listen on '%s': %s\n", fresh_path, strerror(errno));
                        return 126;
                }
        } else if (argc > 1 && strncmp(argv[1], "--listen=", 9) == 0) {
                open_stdio();
                listener = make_listener(argv[1] + 9);
                if (listener < 0) /* commands still enter with attach */
                        (void) fprintf(stderr, "arkose-init: cannot listen on '%s': %s\n", argv[1] + 9, strerror(errno));
        } else if (argc > 1) {
                command = start_command(argv + 1);
                if (command < 0) {
                        (void) fprintf(stderr, "arkose-init: failed to fork: %s\n", strerror(errno));
                        return 126;
                }
        }

        for (;;) {
                struct pollfd p[3 * MAX_CONNECTIONS + 2];
                Relay *relay_of[2 * MAX_CONNECTIONS];
                struct signalfd_siginfo si;
                size_t n = 0, n_relays = 0, base;
                int timeout = connections_finish();

                if (served && n_conns == 0)
                        return 0; /* its command is done, or its client went away: the rest is killed */
                if (retiring && n_conns == 0)
                        return 0; /* the last command running when SIGTERM came is done */
                if (fresh_path && idle_exit > 0) {
                        long ms;

                        if (n_conns > 0)
                                idle_end = (struct timespec) {};
                        else if (idle_end.tv_sec == 0) {
                                (void) clock_gettime(CLOCK_MONOTONIC, &idle_end);
                                idle_end.tv_sec += idle_exit;
                        }
                        ms = idle_end.tv_sec != 0 ? ms_until(&idle_end) : -1;
                        if (ms >= 0 && (timeout < 0 || ms < timeout))
                                timeout = (int) ms;
                        if (idle_end.tv_sec != 0 && ms <= 0) {
                                /* Idle for long enough: the last look at who connected meanwhile. */
                                accept_all(listener, SIZE_MAX);
                                if (n_conns == 0) {
                                        (void) unlink(fresh_path);
                                        return 0;
                                }
                                continue;
                        }
                }
                p[n++] = (struct pollfd) { .fd = sfd, .events = POLLIN };
                if (listener >= 0)
                        p[n++] = (struct pollfd) { .fd = listener, .events = POLLIN };
                base = n;
                for (size_t i = 0; i < n_conns; i++)
                        p[n++] = (struct pollfd) { .fd = conns[i]->fd, .events = POLLIN };
                /* The relays: our pipe when there is room in the client's, else the client's. */
                for (size_t i = 0; i < n_conns; i++)
                        for (size_t k = 0; k < conns[i]->n_relays; k++) {
                                Relay *r = &conns[i]->relays[k];

                                if (r->in < 0)
                                        continue;
                                relay_of[n_relays++] = r;
                                p[n++] = r->full ? (struct pollfd) { .fd = r->out, .events = POLLOUT }
                                                 : (struct pollfd) { .fd = r->in, .events = POLLIN };
                        }
                if (poll(p, n, timeout) < 0)
                        continue;

                /* Relays first (which free nothing), then connections, from the last (one freed is
                 * replaced by the last, already seen), then the listener, then signals. */
                for (size_t k = 0; k < n_relays; k++)
                        if (p[base + n_conns + k].revents)
                                relay_pump(relay_of[k], p[base + n_conns + k].revents);
                for (size_t i = n_conns; i-- > 0;)
                        if (p[base + i].revents && !connection_input(conns[i]))
                                connection_free(i);
                if (listener >= 0 && (p[1].revents & POLLIN)) {
                        accept_all(listener, once_path ? 1 : SIZE_MAX);
                        if (once_path && n_conns > 0) {
                                /* Ours now: nobody else connects (the second of a race gets nothing, and
                                 * its client falls back to a session of its own). */
                                (void) unlink(once_path);
                                (void) close(listener);
                                listener = -1;
                                served = true;
                        }
                }
                if (!(p[0].revents & POLLIN))
                        continue;

                while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        int sig = (int) si.ssi_signo;

                        if (sig == SIGCHLD) {
                                if (reap(command, &status))
                                        return exit_code(status); /* PID 1 exits: the rest is killed */
                                continue;
                        }
                        if (fresh_path && (sig == SIGTERM || sig == SIGINT || sig == SIGPWR || sig == SIGHUP)) {
                                /* Retire: no new command; those running finish (their sub-sessions are
                                 * killed only with the container). */
                                if (listener >= 0) {
                                        (void) unlink(fresh_path);
                                        (void) close(listener);
                                        listener = -1;
                                }
                                retiring = true;
                                continue;
                        }
                        if (command > 0) {
                                if (sig == ARKOSE_INIT_SIGNAL_HANGUP && si.ssi_code == SI_USER && si.ssi_pid == 0)
                                        sig = SIGHUP; /* from outside: arkose-chroot's SIGHUP */
                                (void) kill(command, sig); /* the command decides what a signal means */
                                continue;
                        }
                        /* Idle: a request to stop ends everything, gently first (as liblxc's init does). */
                        if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR || sig == SIGHUP) {
                                if (!stopping)
                                        (void) kill(-1, SIGTERM);
                                stopping = true;
                                (void) alarm(1);
                        } else if (sig == SIGALRM && stopping)
                                return 0;
                }
        }
}
