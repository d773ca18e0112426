/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The caller's terminal, proxied to a pty of the container's own devpts instance, in place of liblxc's
 * LXC_ATTACH_TERMINAL: liblxc puts the caller's terminal in raw mode with TCSAFLUSH, which throws away
 * what the user typed while the session started (a command line typed ahead of the prompt, or input piped
 * through script(1)). Switching to raw mode with TCSANOW keeps it: what the line discipline holds becomes
 * readable, and is passed on to the command like everything typed after. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container-internal.h"

/* The gid of group "tty" in Debian and Ubuntu trees: fixed by base-passwd. */
#define TTY_GID 5

int container_terminal_open(pid_t init, uid_t uid, int *ret_master, int *ret_slave) {
        _cleanup_close_ int root = -EBADF, master = -EBADF, slave = -EBADF;
        _cleanup_free_ char *path = NULL;
        struct open_how how = {
                .flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        struct termios tios;
        struct winsize ws;
        struct statfs sfs;

        if (init <= 0)
                return -ESRCH;
        path = strdup_printf("/proc/%d/root", (int) init);
        if (!path)
                return -ENOMEM;
        root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        /* The container's own devpts, resolved inside its root (its /dev/ptmx may be a symlink). */
        master = (int) syscall(SYS_openat2, root, "dev/pts/ptmx", &how, sizeof(how));
        if (master < 0)
                return -errno;
        if (fstatfs(master, &sfs) < 0)
                return -errno;
        if (sfs.f_type != DEVPTS_SUPER_MAGIC)
                return -ENOTTY;
        if (unlockpt(master) < 0)
                return -errno;
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        /* As login(1) and sshd leave a user's terminal: theirs, group tty, mode 0620. */
        if (fchown(slave, uid, TTY_GID) < 0 || fchmod(slave, 0620) < 0)
                return -errno;
        /* The caller's modes (erase character, ...) and size. */
        if (tcgetattr(STDIN_FILENO, &tios) == 0)
                (void) tcsetattr(slave, TCSANOW, &tios);
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

int container_terminal_take(void) {
        if (getsid(0) != getpid() && setsid() < 0)
                return -errno;
        if (tcgetsid(STDIN_FILENO) != getpid() && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                return -errno;
        return 0;
}

/* Copies what @master has now to stdout, without waiting. Returns 0 when it has nothing more for now,
 * -EIO when the command's side is closed, or another -errno. */
static int drain_master(int master) {
        char buf[16384];

        for (;;) {
                ssize_t n = read(master, buf, sizeof(buf));
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (n == 0)
                        return -EIO;
                r = write_all(STDOUT_FILENO, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

/* Passes on the whole lines (and an end of file) typed ahead on the caller's terminal, still in canonical
 * mode (@tios): switched to raw mode, the line discipline would turn a typed ^D into a NUL byte. What
 * is left (a line not finished yet) becomes readable in raw mode. */
static int pass_typed_lines(int master, const struct termios *tios) {
        char buf[4096];

        if (!(tios->c_lflag & ICANON))
                return 0;
        for (;;) {
                struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                ssize_t n;
                int r;

                if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
                        return 0;
                n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n < 0)
                        return errno == EINTR || errno == EAGAIN ? 0 : -errno;
                if (n == 0) {
                        /* ^D on an empty line: the command's end-of-file character, once. */
                        struct termios t;
                        char eof = tcgetattr(master, &t) == 0 ? (char) t.c_cc[VEOF] : 4;

                        return write_all(master, &eof, 1);
                }
                r = write_all(master, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

int container_terminal_proxy(int master, pid_t pid) {
        _cleanup_close_ int pidfd = -EBADF, sigfd = -EBADF;
        struct termios saved, raw;
        bool restore = false, input_open = true;
        char in[4096];
        size_t in_len = 0, in_off = 0;
        sigset_t winch, old_mask;
        int r = 0, flags;

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return log_error_errno(-errno, "Failed to watch the command: %m");
        /* Whole lines typed ahead first, while the caller's terminal is still in canonical mode (the pty
         * still blocking: they fit in its buffer). */
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
                r = pass_typed_lines(master, &saved);
                if (r < 0)
                        return log_error_errno(r, "Failed to pass input on to the command: %m");
        }
        flags = fcntl(master, F_GETFL);
        if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0)
                return log_error_errno(-errno, "Failed to set up the pty: %m");
        (void) sigemptyset(&winch);
        (void) sigaddset(&winch, SIGWINCH);
        (void) sigprocmask(SIG_BLOCK, &winch, &old_mask);
        sigfd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);

        /* TCSANOW, not TCSAFLUSH: the rest of what was typed ahead is read below and reaches the
         * command. */
        if (tcgetattr(STDIN_FILENO, &saved) == 0) {
                raw = saved;
                cfmakeraw(&raw);
                restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }

        for (bool running = true; running;) {
                struct pollfd p[4] = {
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = master, .events = POLLIN | (in_len > in_off ? POLLOUT : 0) },
                        { .fd = sigfd, .events = POLLIN },
                        /* Read no more input while the pty has not taken the last. */
                        { .fd = input_open && in_len == in_off ? STDIN_FILENO : -1, .events = POLLIN },
                };

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR) /* a signal forwarded to the command by its handler */
                                continue;
                        r = log_error_errno(-errno, "Failed to wait for the terminal: %m");
                        break;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        r = drain_master(master);
                        if (r == -EIO) /* every process of the command has closed the pty */
                                r = 0, running = false;
                        else if (r < 0)
                                break;
                }
                if (running && (p[1].revents & POLLOUT) && in_len > in_off) {
                        ssize_t n = write(master, in + in_off, in_len - in_off);

                        if (n > 0)
                                in_off += (size_t) n;
                        else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                running = false;
                }
                if (p[3].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(STDIN_FILENO, in, sizeof(in));

                        if (n > 0)
                                in_len = (size_t) n, in_off = 0;
                        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                                input_open = false; /* end of input, or the terminal hung up */
                }
                if (p[2].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        struct winsize ws;

                        while (read(sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                ;
                        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                (void) ioctl(master, TIOCSWINSZ, &ws);
                }
                if (p[0].revents & POLLIN) {
                        /* The command has ended: what it wrote last is still in the pty. Background
                         * processes that keep it open do not keep the caller waiting. */
                        r = drain_master(master);
                        if (r == -EIO)
                                r = 0;
                        running = false;
                }
        }

        if (restore)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
        (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        return r;
}
