/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include "apparmor.h"
#include "base/dlopen-util.h"
#include "base/log.h"
#include "base/util.h"
#include "config.h"
#include "container-internal.h"
#include "mount.h"
#include "runsock-protocol.h"

/* liblxc is loaded on first use (base/dlopen-util.h): linked, it and what it needs (libseccomp, libcap,
 * libapparmor, libselinux) are mapped by every run of arkose-chroot, a command in a session through its
 * socket (which never needs liblxc) included. Its other functions are reached through struct
 * lxc_container's methods. */
static void *lxc_dl = NULL;
DLSYM_PROTOTYPE(lxc_container_new);
DLSYM_PROTOTYPE(lxc_container_put);

static int dlopen_lxc(void) {
        int r = dlopen_many_sym(&lxc_dl, "liblxc.so.1", DLSYM_ARG(lxc_container_new),
                                DLSYM_ARG(lxc_container_put), NULL);
        return r < 0 ? log_error_errno(r, "Failed to load liblxc (liblxc.so.1): %m") : 0;
}

static void lxc_container_putp(struct lxc_container **p) {
        if (*p)
                (void) sym_lxc_container_put(*p);
}

/* Where arkose-init appears in a container: on its /dev tmpfs (autodev), next to liblxc's .lxc-boot-id, so
 * that nothing is written to the session's root. */
#define CONTAINER_INIT_TARGET "/dev/.arkose-init"

/* How long container_stop() waits for a killed container's monitor to finish. */
#define CONTAINER_STOP_TIMEOUT_SEC 30

struct Container {
        bool cgroups;           /* started with cgroups: attached commands join them */
        struct lxc_container *lxc;
        char *log_file;
        pid_t monitor;          /* our child running the container, or 0 when daemonized/opened */
        bool has_init;          /* arkose-init is bound in: PID 1 is arkose-init, else liblxc's init */
        bool listen;            /* idle arkose-init serves a command socket (ContainerPlan.run_dir) */
        bool listen_once;       /* ... for one command (ContainerPlan.listen_once) */
        char **fresh_args;      /* ... for many, in sub-sessions (container_fresh_init_args()) */
        bool deferred;          /* tied to the caller, not started yet: the first attach starts it */
        bool monitor_is_callers; /* the monitor was handed to the caller to wait for (container_attach()) */
        pid_t command_init;     /* then: arkose-init's pid on the host, which takes the command's signals */
        bool private_mounts;    /* ContainerPlan.private_mounts */
        char *sessions_dir;     /* ContainerPlan.sessions_dir and own_dir */
        char *own_dir;
        int pty;                /* the master of the last command's pty, until container_proxy_terminal() */
};

static const char *const network_table[_CONTAINER_NETWORK_MAX] = {
        [CONTAINER_NETWORK_NONE] = "none",
        [CONTAINER_NETWORK_HOST] = "host",
};

const char *container_network_to_string(ContainerNetwork n) {
        return n >= 0 && n < _CONTAINER_NETWORK_MAX ? network_table[n] : NULL;
}

ContainerNetwork container_network_from_string(const char *s) {
        for (int i = 0; s && i < _CONTAINER_NETWORK_MAX; i++)
                if (streq(network_table[i], s))
                        return i;
        return _CONTAINER_NETWORK_INVALID;
}

static int add_item(char ***l, const char *key, const char *value) {
        int r = strv_extend(l, key);
        return r < 0 ? r : strv_extend(l, value);
}

/* An lxc.mount.entry binding host path @source (absolute, nothing LXC's parser would split) at @target,
 * relative to the rootfs. */
static int add_bind_entry(char ***l, const char *source, const char *target, const char *options) {
        _cleanup_free_ char *entry = NULL;

        if (!path_is_absolute(source) || strpbrk(source, " \t\n\\"))
                return -EINVAL;
        entry = strdup_printf("%s %s none %s 0 0", source, target, options);
        if (!entry)
                return -ENOMEM;
        return add_item(l, "lxc.mount.entry", entry);
}

/* What a shared spare's init needs (fresh_caps_item()): mounts and namespaces, loopback up, device nodes;
 * setpcap, setuid and setgid, as a sub-session drops its bounding set, then takes the user's credentials. */
static const char *const fresh_init_caps[] = { "sys_admin", "net_admin", "mknod", "setpcap", "setuid", "setgid" };

static bool fresh_init_cap(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fresh_init_caps); i++)
                if (streq(name, fresh_init_caps[i]))
                        return true;
        return false;
}

/* lxc.cap.drop without what a shared spare's init needs, lxc.cap.keep with it. */
static int fresh_caps_item(const char *key, const char *value, char **ret) {
        _cleanup_strv_free_ char **names = strv_split(value, " ");
        _cleanup_strv_free_ char **out = NULL;
        bool keep = streq(key, "lxc.cap.keep");

        if (!names)
                return -ENOMEM;
        for (char **n = names; *n; n++)
                if (!isempty(*n) && !streq(*n, "none") && !fresh_init_cap(*n) && strv_extend(&out, *n) < 0)
                        return -ENOMEM;
        for (size_t i = 0; keep && i < ELEMENTSOF(fresh_init_caps); i++)
                if (strv_extend(&out, fresh_init_caps[i]) < 0)
                        return -ENOMEM;
        *ret = out ? strv_join(out, " ") : strdup(keep ? "none" : "");
        return *ret ? 0 : -ENOMEM;
}

int container_plan_config(const ContainerPlan *plan, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *rootfs = NULL;
        int r;

        if (!plan || isempty(plan->name) || !path_is_absolute(plan->rootfs) || isempty(plan->hostname) ||
            !container_network_to_string(plan->network))
                return -EINVAL;

        rootfs = strdup_printf("dir:%s", plan->rootfs);
        if (!rootfs)
                return -ENOMEM;

        /* The table of what every session gets. Debian's common.conf is deliberately not included: its
         * lxcfs post-stop hook sleeps half a second per container. */
        const char *const fixed[] = {
                "lxc.uts.name", plan->hostname,
                "lxc.rootfs.path", rootfs,
                "lxc.mount.auto", "proc:mixed sys:ro cgroup:mixed",
                "lxc.autodev", "1",
                "lxc.pty.max", "1024",
                "lxc.tty.max", "0",
                "lxc.console.path", "none",
                "lxc.apparmor.profile", plan->apparmor_profile ?: "unconfined",
                "lxc.log.level", plan->log_level ?: "WARN",
                "lxc.signal.halt", "SIGKILL",
                "lxc.ephemeral", "0",
        };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i += 2) {
                r = add_item(&l, fixed[i], fixed[i + 1]);
                if (r < 0)
                        return r;
        }

        if (plan->personality) {
                r = add_item(&l, "lxc.arch", plan->personality);
                if (r < 0)
                        return r;
        }

        if (plan->log_file) {
                r = add_item(&l, "lxc.log.file", plan->log_file);
                if (r < 0)
                        return r;
        }

        /* "empty": a fresh network namespace holding only loopback; LXC brings loopback up only when
         * the "empty" device is flagged up. "none": no network namespace of its own, i.e. the host's. */
        if (plan->net_items)
                for (char **i = plan->net_items; i[0] && i[1]; i += 2) {
                        r = add_item(&l, i[0], i[1]);
                        if (r < 0)
                                return r;
                }
        else {
                r = add_item(&l, "lxc.net.0.type", plan->network == CONTAINER_NETWORK_NONE ? "empty" : "none");
                if (r >= 0 && plan->network == CONTAINER_NETWORK_NONE)
                        r = add_item(&l, "lxc.net.0.flags", "up");
                if (r < 0)
                        return r;
        }

        if (plan->init) {
                r = add_bind_entry(&l, plan->init, CONTAINER_INIT_TARGET + 1, "bind,ro,create=file");
                if (r < 0)
                        return r;
        }

        if (plan->init && plan->run_dir) {
                r = add_bind_entry(&l, plan->run_dir, RUNSOCK_DIR_TARGET + 1, "bind,create=dir");
                if (r < 0)
                        return r;
        }

        for (char **b = plan->binds; b && *b; b++) {
                _cleanup_free_ char *entry = NULL;
                struct stat st;

                if (!path_is_absolute(*b) || strpbrk(*b, " \t\n\\"))
                        return -EINVAL;
                /* The target is relative to the rootfs in lxc.mount.entry. A file (resolv.conf for
                 * update sessions) is bound read-only over the file of the same name. */
                if (stat(*b, &st) >= 0 && !S_ISDIR(st.st_mode))
                        entry = strdup_printf("%s %s none bind,ro,create=file 0 0", *b, *b + 1);
                else
                        entry = strdup_printf("%s %s none rbind,create=dir 0 0", *b, *b + 1);
                if (!entry)
                        return -ENOMEM;
                r = add_item(&l, "lxc.mount.entry", entry);
                if (r < 0)
                        return r;
        }

        if (plan->init && plan->run_dir && plan->fresh_dir) {
                r = add_bind_entry(&l, plan->fresh_dir, RUNSOCK_FRESH_TARGET + 1, "bind,create=dir");
                if (r < 0)
                        return r;
        }

        for (char **i = plan->extra_items; i && i[0] && i[1]; i += 2) {
                _cleanup_free_ char *caps = NULL, *label = NULL;

                /* A shared spare's init makes sub-sessions (mounts, namespaces, loopback up), and drops
                 * these for them itself; under AppArmor, it runs as the init profile, and changes to the
                 * session's label for each command (container_fresh_init_args()). */
                if (plan->fresh_dir && (streq(i[0], "lxc.cap.drop") || streq(i[0], "lxc.cap.keep"))) {
                        r = fresh_caps_item(i[0], i[1], &caps);
                        if (r < 0)
                                return r;
                }
                if (plan->fresh_dir && streq(i[0], "lxc.apparmor.profile")) {
                        r = apparmor_spare_init_label(i[1], &label);
                        if (r < 0)
                                return r;
                }
                r = add_item(&l, i[0], caps ?: label ?: i[1]);
                if (r < 0)
                        return r;
        }

        /* POSIX shared memory and semaphores (sem_open(), Python's multiprocessing) need /dev/shm, which
         * autodev's /dev lacks; as on a buildd (schroot's fstab), a tmpfs of the session's own. */
        r = add_item(&l, "lxc.mount.entry", "tmpfs dev/shm tmpfs rw,nosuid,nodev,mode=1777,create=dir 0 0");
        if (r < 0)
                return r;

        *ret = TAKE_PTR(l);
        return 0;
}

static bool cap_listed(int cap, char *const *names) {
        for (char *const *n = names; n && *n; n++)
                if (profile_capability_from_string(*n) == cap)
                        return true;
        return false;
}

int container_fresh_init_args(const ContainerPlan *plan, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL, **drop = NULL;
        _cleanup_free_ char *caps = NULL, *idle = NULL, *aa = NULL;
        const char *label = NULL;

        if (!plan || !plan->fresh_dir)
                return -EINVAL;
        for (char **i = plan->extra_items; i && i[0] && i[1]; i += 2) {
                _cleanup_strv_free_ char **names = NULL;
                bool keep = streq(i[0], "lxc.cap.keep");

                if (!keep && !streq(i[0], "lxc.cap.drop"))
                        continue;
                names = strv_split(i[1], " ");
                if (!names)
                        return -ENOMEM;
                for (char **n = names; !keep && *n; n++)
                        if (!isempty(*n) && !streq(*n, "none") && profile_capability_from_string(*n) < 0)
                                return -EINVAL;
                /* Every capability this build knows that keep does not name, or each one drop names. */
                for (int cap = 0; cap < 64; cap++) {
                        const char *name = profile_capability_to_string(cap);

                        if (name && (keep ? !cap_listed(cap, names) : cap_listed(cap, names)) &&
                            strv_extendf(&drop, "%d", cap) < 0)
                                return -ENOMEM;
                }
        }
        if (strv_extend(&argv, "--listen-fresh=" RUNSOCK_DIR_TARGET "/" RUNSOCK_NAME) < 0)
                return -ENOMEM;
        if (plan->network == CONTAINER_NETWORK_HOST && strv_extend(&argv, "--fresh-net=host") < 0)
                return -ENOMEM;
        if (drop) {
                _cleanup_free_ char *list = strv_join(drop, ",");

                caps = list ? strdup_printf("--fresh-drop-caps=%s", list) : NULL;
                if (!caps || strv_extend(&argv, caps) < 0)
                        return -ENOMEM;
        }
        /* The label of the session's AppArmor profile (the last item wins, as in LXC), which the
         * container's is not: the command's. */
        for (char **i = plan->extra_items; i && i[0] && i[1]; i += 2)
                if (streq(i[0], "lxc.apparmor.profile"))
                        label = streq(i[1], "unconfined") ? NULL : i[1];
        if (label) {
                aa = strdup_printf("--fresh-apparmor=%s", label);
                if (!aa || strv_extend(&argv, aa) < 0)
                        return -ENOMEM;
        }
        if (plan->idle_exit > 0) {
                idle = strdup_printf("--idle-exit=%u", plan->idle_exit);
                if (!idle || strv_extend(&argv, idle) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

static Container *container_new(struct lxc_container *lxc, const char *log_file) {
        Container *c = calloc(1, sizeof(Container));

        if (!c)
                return NULL;
        if (log_file && !(c->log_file = strdup(log_file))) {
                free(c);
                return NULL;
        }
        c->lxc = lxc;
        c->pty = -EBADF;
        return c;
}

Container *container_free(Container *c) {
        if (!c)
                return NULL;
        if (c->lxc)
                (void) sym_lxc_container_put(c->lxc);
        free(c->log_file);
        strv_free(c->fresh_args);
        free(c->sessions_dir);
        free(c->own_dir);
        safe_close(c->pty);
        free(c);
        return NULL;
}

/* Gives the calling process (about to start a container) a mount namespace of its own without the cgroup
 * file systems, so that liblxc finds no cgroup hierarchy and makes the container none: on a host with the
 * ten cgroup-v1 hierarchies of a hybrid layout it would otherwise create and remove a monitor and a
 * payload cgroup in each of them for every session (several ms), for nothing we use: no cgroup limits are
 * set, and killing the container's init ends everything in its PID namespace. The container's processes
 * stay in the caller's cgroups. The container's mount namespace is a copy of this one, so it sees the
 * session's overlay and bind sources as the caller does. */
static int container_unshare_without_cgroups(void) {
        int r;

        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        r = mount_make_rprivate();
        if (r < 0)
                return r;
        return mount_hide_cgroupfs();
}

/* For a monitor that outlives the caller (a detached session's, or a build stage's), in that mount
 * namespace: it lives as long as its container, and its copy of other sessions' overlays would outlive
 * their end; a --recover-session of one would then mount a new overlay on an upper directory still in
 * use (dmesg: "upperdir is in-use"). */
static int container_unshare_for_monitor(Container *c) {
        int r = container_unshare_without_cgroups();

        if (r >= 0 && c->sessions_dir && c->own_dir)
                r = mount_detach_others_below(c->sessions_dir, c->own_dir);
        return r;
}

/* Finds arkose-init: next to the running program (a build tree), else where it is installed. Returns a
 * newly allocated path, or NULL when there is none (then liblxc's own init is used). */
static char *container_find_init(void) {
        char exe[PATH_MAX];
        ssize_t n;

        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                char *slash, *p;

                exe[n] = '\0';
                slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        p = path_join(exe, "arkose-init");
                        if (p && access(p, X_OK) >= 0)
                                return p;
                        free(p);
                }
        }
#ifdef ARKOSE_INIT_PATH
        if (access(ARKOSE_INIT_PATH, X_OK) >= 0)
                return strdup(ARKOSE_INIT_PATH);
#endif
        log_debug("No arkose-init found, containers run liblxc's init");
        return NULL;
}

/* Whether arkose-init at @path serves a command socket (--listen=): an older one (a stale install found
 * at ARKOSE_INIT_PATH by a newer arkose-chroot) would take the option for a command and end at once. */
static bool container_init_can_listen(const char *path, const char *option) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        bool found;
        void *m;

        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
                return false;
        m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return false;
        found = memmem(m, st.st_size, option, strlen(option)) != NULL;
        (void) munmap(m, st.st_size);
        return found;
}

/* liblxc's start gives the container's init the standard fds of the process that calls it, and first
 * fchown()s each that is not /dev/null to the init's uid and fchmod()s it 0700 (fix_stdio_permissions()):
 * the caller's log file, pipe or terminal. So the init gets /dev/null there, and the caller's standard
 * fds as copies above them (not close-on-exec: they are inherited), which arkose-init moves back for the
 * command ("--stdio=IN,OUT,ERR", -1 for one that was closed). stdio_restore() undoes it in the caller. */
static void stdio_close(const int saved[static 3]) {
        for (int fd = 0; fd < 3; fd++)
                if (saved[fd] >= 0)
                        (void) close(saved[fd]);
}

static void stdio_restore(const int saved[static 3]) {
        for (int fd = 0; fd < 3; fd++)
                if (saved[fd] >= 0) {
                        (void) dup2(saved[fd], fd);
                        (void) close(saved[fd]);
                }
}

/* @fd, or when it is one of the (closed) standard fds, a close-on-exec copy of it above them; a negative
 * errno when @fd is negative or the copy fails. */
static int fcntl_dupfd_above_stdio(int fd) {
        int copy;

        if (fd < 0)
                return -errno;
        if (fd > 2)
                return fd;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                copy = -errno;
        (void) close(fd);
        return copy;
}

/* Copies the standard fds above 2, inheritable; -1 for one that is closed. */
static int stdio_save(int saved[static 3]) {
        for (int fd = 0; fd < 3; fd++)
                saved[fd] = -1;
        for (int fd = 0; fd < 3; fd++) {
                saved[fd] = fcntl(fd, F_DUPFD, 3);
                if (saved[fd] < 0 && errno != EBADF) {
                        int r = -errno;

                        stdio_close(saved);
                        return r;
                }
        }
        return 0;
}

/* Puts /dev/null on the standard fds. */
static int stdio_null(void) {
        _cleanup_close_ int null_fd = fcntl_dupfd_above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));

        if (null_fd < 0)
                return null_fd;
        for (int fd = 0; fd < 3; fd++)
                if (dup2(null_fd, fd) < 0)
                        return -errno;
        return 0;
}

static int stdio_divert(int saved[static 3]) {
        int r = stdio_save(saved);

        if (r < 0)
                return r;
        r = stdio_null();
        if (r < 0)
                stdio_restore(saved);
        return r;
}

/* What PID 1 runs: arkose-init (idle, or @command under it), else liblxc's init with "sleep infinity".
 * Returns the argv (newly allocated) and whether liblxc's init is wanted in *ret_useinit. */
static char **container_init_argv(Container *c, char *const *command, const int *stdio, int *ret_useinit) {
        _cleanup_strv_free_ char **argv = NULL;

        *ret_useinit = !c->has_init;
        if (!c->has_init) {
                char *idle[] = { (char *) "sleep", (char *) "infinity", NULL };
                return strv_extend_strv(&argv, idle) < 0 ? NULL : TAKE_PTR(argv);
        }
        if (strv_extend(&argv, CONTAINER_INIT_TARGET) < 0)
                return NULL;
        if (stdio) {
                _cleanup_free_ char *o = strdup_printf("--stdio=%d,%d,%d", stdio[0], stdio[1], stdio[2]);

                if (!o || strv_consume(&argv, TAKE_PTR(o)) < 0)
                        return NULL;
        }
        if (strv_extend_strv(&argv, command) < 0)
                return NULL;
        if (!command && c->listen && c->fresh_args)
                return strv_extend_strv(&argv, c->fresh_args) < 0 ? NULL : TAKE_PTR(argv);
        if (!command && c->listen &&
            strv_extend(&argv, c->listen_once ? "--listen-once=" RUNSOCK_DIR_TARGET "/" RUNSOCK_NAME
                                              : "--listen=" RUNSOCK_DIR_TARGET "/" RUNSOCK_NAME) < 0)
                return NULL;
        return TAKE_PTR(argv);
}

/* The exit status of a container's init (liblxc's error_num: its wait status) as an exit code. */
static int container_exit_code(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_FAILURE;
}

typedef struct MonitorArgs {
        pid_t parent;
        bool keep_cgroups;
        int useinit;
        char **argv;
        bool run_once;          /* the container runs one command: keep stdio, exit with its status */
        int failed_fd;          /* run_once: written to when the container did not start */
} MonitorArgs;

/* The monitor child: becomes liblxc's monitor for a foreground container and exits with it. */
static _noreturn_ void container_monitor_child(Container *c, const MonitorArgs *m) {
        struct lxc_container *lxc = c->lxc;

        /* Die with the caller, and take the container with us: liblxc sets the same death signal on the
         * container's init, tied to this monitor. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != m->parent)
                _exit(EXIT_FAILURE);
        /* Leave the caller's process group, so that a terminal's ^C does not reach the container's
         * init through the monitor (the caller forwards signals itself). */
        (void) setpgid(0, 0);

        /* An idle container must not hold the caller's standard fds (a pipe's reader would wait for it),
         * nor have liblxc chown them (stdio_divert()); a one-command container's init got them as copies
         * for its command (m->argv says where). */
        if (stdio_null() < 0 && m->run_once)
                _exit(EXIT_FAILURE);

        if (!m->keep_cgroups && container_unshare_for_monitor(c) < 0)
                _exit(EXIT_FAILURE);
        lxc->want_daemonize(lxc, false);
        if (!lxc->start(lxc, m->useinit, m->argv)) {
                if (m->failed_fd >= 0)
                        (void) write(m->failed_fd, "F", 1);
                _exit(EXIT_FAILURE);
        }
        _exit(m->run_once ? container_exit_code(lxc->error_num) : EXIT_SUCCESS);
}

/* Starts a daemonized container from a short-lived child, so that the mount namespace without cgroups
 * becomes the daemonized monitor's and never the caller's. */
static int container_start_daemonized(Container *c, bool keep_cgroups) {
        _cleanup_strv_free_ char **argv = NULL;
        int status, useinit, r;
        pid_t pid;

        argv = container_init_argv(c, NULL, NULL, &useinit);
        if (!argv)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (!keep_cgroups && container_unshare_for_monitor(c) < 0)
                        _exit(EXIT_FAILURE);
                c->lxc->want_daemonize(c->lxc, true);
                _exit(c->lxc->start(c->lxc, useinit, argv) ? EXIT_SUCCESS : EXIT_FAILURE);
        }
        r = pid_wait(pid, &status);
        if (r < 0)
                return r;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Whether our monitor child has exited (without reaping it). */
static bool container_monitor_exited(Container *c) {
        siginfo_t si = {};

        return c->monitor > 0 && waitid(P_PID, c->monitor, &si, WEXITED | WNOHANG | WNOWAIT) >= 0 &&
               si.si_pid == c->monitor;
}

static int container_wait_running(Container *c) {
        const struct timespec tick = { .tv_nsec = 500 * 1000 };

        /* About 10 s at most; starting takes ~20 ms. Watch our monitor child too, which exits when the
         * start fails, so that a failure is not reported as a time-out. */
        for (unsigned i = 0; i < 20000; i++) {
                const char *state;

                if (container_monitor_exited(c)) {
                        int status;

                        (void) waitpid(c->monitor, &status, 0);
                        c->monitor = 0;
                        return -EIO;
                }
                state = c->lxc->state(c->lxc);
                if (state && streq(state, "RUNNING"))
                        return 0;
                (void) nanosleep(&tick, NULL);
        }
        return -ETIMEDOUT;
}

bool container_exited(Container *c) {
        return c && container_monitor_exited(c);
}

int container_set_scheduler(Container *c, int policy) {
        const struct sched_param sp = {};
        pid_t init = container_init_pid(c);

        if (init <= 0)
                return -ESRCH;
        if (c->monitor > 0 && sched_setscheduler(c->monitor, policy, &sp) < 0)
                return -errno;
        return RET_NERRNO(sched_setscheduler(init, policy, &sp));
}

/* Forks the monitor of a container tied to the caller. */
static int container_fork_monitor(Container *c, const MonitorArgs *m) {
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0)
                container_monitor_child(c, m);
        c->monitor = pid;
        return 0;
}

/* Starts the container with an idle init and waits until it runs. Logs. */
static int container_launch(Container *c, bool tie_to_caller) {
        _cleanup_strv_free_ char **argv = NULL;
        int useinit, r;

        argv = container_init_argv(c, NULL, NULL, &useinit);
        if (!argv)
                return log_oom();
        if (tie_to_caller) {
                MonitorArgs m = {
                        .parent = getpid(),
                        .keep_cgroups = c->cgroups,
                        .useinit = useinit,
                        .argv = argv,
                        .failed_fd = -EBADF,
                };
                r = container_fork_monitor(c, &m);
                if (r < 0)
                        return log_error_errno(r, "Failed to fork container monitor: %m");
        } else {
                r = container_start_daemonized(c, c->cgroups);
                if (r < 0)
                        return log_error_errno(r, "Failed to start container '%s' (see %s)", c->lxc->name,
                                               c->log_file ?: "the LXC log");
        }

        r = container_wait_running(c);
        if (r < 0) {
                (void) container_stop(c);
                return log_error_errno(-EIO, "Container '%s' did not start (see %s)", c->lxc->name,
                                       c->log_file ?: "the LXC log");
        }
        return 0;
}

/* Whether the container may wait for its command: only its network's host side, which the caller sets
 * up between container_start() and the command (session_profile_started()), needs it running before. */
static bool container_plan_deferrable(const ContainerPlan *plan) {
        for (char **i = plan->net_items; i && i[0] && i[1]; i += 2)
                if (startswith(i[0], "lxc.net.") && strlen(i[0]) > 5 && streq(i[0] + strlen(i[0]) - 5, ".type") &&
                    !streq(i[1], "empty") && !streq(i[1], "none"))
                        return false;
        return true;
}

int container_start(const ContainerPlan *plan, bool tie_to_caller, Container **ret) {
        _cleanup_(lxc_container_putp) struct lxc_container *lxc = NULL;
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_strv_free_ char **items = NULL;
        _cleanup_free_ char *init = NULL;
        ContainerPlan p;
        int r;

        if (!plan)
                return -EINVAL;
        init = container_find_init();
        p = *plan;
        p.init = init;
        if (!init || (tie_to_caller && !plan->listen_once && !plan->fresh_dir) ||
            (p.run_dir && !container_init_can_listen(init, plan->fresh_dir ? "--listen-fresh=" :
                                                           plan->listen_once ? "--listen-once=" : "--listen=")))
                p.run_dir = NULL;
        if ((plan->listen_once || plan->fresh_dir) && !p.run_dir)
                return -EOPNOTSUPP; /* a spare session is only worth it with a socket */
        r = container_plan_config(&p, &items);
        if (r < 0)
                return log_error_errno(r, "Failed to plan container '%s': %m", plan->name);

        r = dlopen_lxc();
        if (r < 0)
                return r;
        lxc = sym_lxc_container_new(plan->name, plan->lxcpath);
        if (!lxc)
                return log_error_errno(-EIO, "Failed to create container object '%s' in '%s'", plan->name,
                                       plan->lxcpath);
        for (char **i = items; *i; i += 2)
                if (!lxc->set_config_item(lxc, i[0], i[1]))
                        return log_error_errno(-EIO, "Failed to set LXC item %s = '%s'", i[0], i[1]);

        c = container_new(TAKE_PTR(lxc), plan->log_file);
        if (!c)
                return log_oom();
        c->cgroups = plan->keep_cgroups;
        c->has_init = init != NULL;
        c->private_mounts = plan->private_mounts;
        if (plan->sessions_dir && plan->own_dir) {
                c->sessions_dir = strdup(plan->sessions_dir);
                c->own_dir = strdup(plan->own_dir);
                if (!c->sessions_dir || !c->own_dir)
                        return log_oom();
        }
        c->listen = p.run_dir != NULL;
        c->listen_once = plan->listen_once;
        if (plan->fresh_dir) {
                r = container_fresh_init_args(&p, &c->fresh_args);
                if (r < 0)
                        return log_error_errno(r, "Failed to plan the init of container '%s': %m", plan->name);
        }

        if (tie_to_caller && c->has_init && !c->listen && container_plan_deferrable(plan))
                c->deferred = true; /* container_attach() starts it, with the command */
        else {
                r = container_launch(c, tie_to_caller);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/* The attach plan as configuration of the container's init, for a container that runs one command. */
static int container_init_items(Container *c, const AttachPlan *plan) {
        _cleanup_free_ char *groups = NULL;
        char buf[32];

        snprintf(buf, sizeof(buf), "%u", (unsigned) plan->uid);
        if (!c->lxc->set_config_item(c->lxc, "lxc.init.uid", buf))
                return -EIO;
        snprintf(buf, sizeof(buf), "%u", (unsigned) plan->gid);
        if (!c->lxc->set_config_item(c->lxc, "lxc.init.gid", buf))
                return -EIO;
        for (size_t i = 0; i < plan->n_groups; i++) {
                char *g = strdup_printf("%s%s%u", groups ?: "", groups ? "," : "", (unsigned) plan->groups[i]);
                if (!g)
                        return -ENOMEM;
                free(groups);
                groups = g;
        }
        if (groups && !c->lxc->set_config_item(c->lxc, "lxc.init.groups", groups))
                return -EIO;
        if (plan->cwd && !c->lxc->set_config_item(c->lxc, "lxc.init.cwd", plan->cwd))
                return -EIO;
        for (char **e = plan->env; e && *e; e++)
                if (!c->lxc->set_config_item(c->lxc, "lxc.environment", *e))
                        return -EIO;
        if (plan->no_new_privs && !c->lxc->set_config_item(c->lxc, "lxc.no_new_privs", "1"))
                return -EIO;
        return 0;
}

/* Starts a deferred container with @plan's command under arkose-init (instead of attaching it) and waits
 * until it runs, or has already ended. Returns its monitor, whose exit status is the command's. Logs. */
static int container_run_once(Container *c, const AttachPlan *plan, pid_t *ret_pid) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int failed_read = -EBADF;
        int fds[2], stdio[3], useinit, r;
        char byte;

        r = container_init_items(c, plan);
        if (r < 0)
                return log_error_errno(r, "Failed to configure the init of container '%s': %m", c->lxc->name);
        /* The monitor child puts /dev/null on its standard fds: the init finds ours here (stdio_divert()). */
        r = stdio_save(stdio);
        if (r < 0)
                return log_error_errno(r, "Failed to duplicate the standard fds: %m");
        argv = container_init_argv(c, plan->argv, stdio, &useinit);
        if (!argv) {
                stdio_close(stdio);
                return log_oom();
        }
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = log_error_errno(-errno, "Failed to create a pipe: %m");
                stdio_close(stdio);
                return r;
        }
        failed_read = fds[0];

        MonitorArgs m = {
                .parent = getpid(),
                .keep_cgroups = c->cgroups,
                .useinit = useinit,
                .argv = argv,
                .run_once = true,
                .failed_fd = fds[1],
        };
        r = container_fork_monitor(c, &m);
        (void) close(fds[1]);
        stdio_close(stdio);
        if (r < 0)
                return log_error_errno(r, "Failed to fork container monitor: %m");

        /* Running, or already over (a short command): the monitor has exited, and says whether the
         * container ever started. */
        for (unsigned i = 0; i < 20000; i++) {
                const char *state;

                if (container_monitor_exited(c)) {
                        if (read(failed_read, &byte, 1) == 1)
                                break;
                        c->monitor_is_callers = true;
                        *ret_pid = c->monitor;
                        return 0;
                }
                state = c->lxc->state(c->lxc);
                if (state && streq(state, "RUNNING")) {
                        pid_t init = c->lxc->init_pid(c->lxc);

                        c->command_init = init > 0 ? init : 0;
                        c->monitor_is_callers = true;
                        *ret_pid = c->monitor;
                        return 0;
                }
                (void) nanosleep(&(const struct timespec){ .tv_nsec = 500 * 1000 }, NULL);
        }
        (void) container_stop(c);
        return log_error_errno(-EIO, "Container '%s' did not start (see %s)", c->lxc->name,
                               c->log_file ?: "the LXC log");
}

bool container_runs_in_caller(Container *c, const AttachPlan *plan) {
        return c && c->deferred && c->private_mounts && c->has_init && !plan->terminal && strv_length(plan->argv) > 0;
}

int container_run(Container *c, const AttachPlan *plan, int *ret_status) {
        _cleanup_strv_free_ char **argv = NULL;
        int stdio[3], useinit, r;
        bool ok;

        if (!container_runs_in_caller(c, plan))
                return -EINVAL;
        c->deferred = false;
        r = container_init_items(c, plan);
        if (r < 0)
                return log_error_errno(r, "Failed to configure the init of container '%s': %m", c->lxc->name);
        /* The caller's mount namespace is its own: without the cgroup file systems in it, liblxc makes no
         * cgroups (container_unshare_without_cgroups()). */
        if (!c->cgroups) {
                r = mount_hide_cgroupfs();
                if (r < 0)
                        return log_error_errno(r, "Failed to hide the cgroup file systems: %m");
        }

        r = stdio_divert(stdio);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the standard fds of container '%s': %m", c->lxc->name);
        argv = container_init_argv(c, plan->argv, stdio, &useinit);
        if (!argv) {
                stdio_restore(stdio);
                return log_oom();
        }
        c->lxc->want_daemonize(c->lxc, false);
        ok = c->lxc->start(c->lxc, useinit, argv);
        stdio_restore(stdio);
        if (!ok)
                return log_error_errno(-EIO, "Container '%s' did not start (see %s)", c->lxc->name,
                                       c->log_file ?: "the LXC log");
        *ret_status = container_exit_code(c->lxc->error_num);
        return 0;
}

int container_open(const char *name, const char *lxcpath, Container **ret) {
        _cleanup_(lxc_container_putp) struct lxc_container *lxc = NULL;
        Container *c;

        if (dlopen_lxc() < 0)
                return -EOPNOTSUPP;
        lxc = sym_lxc_container_new(name, lxcpath);
        if (!lxc)
                return -ENOMEM;
        if (!lxc->is_running(lxc))
                return -ENOENT;
        c = container_new(TAKE_PTR(lxc), NULL);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

pid_t container_signal_target(Container *c, pid_t attached) {
        /* liblxc's monitor passes signals on to init, but for SIGHUP, which it turns into SIGTERM ("the
         * terminal hung up"): arkose-init gets them directly and passes them on unchanged. */
        if (c && c->monitor_is_callers && attached == c->monitor && c->command_init > 0)
                return c->command_init;
        return attached;
}

bool container_serves_commands(Container *c) {
        return c && c->listen;
}

pid_t container_init_pid(Container *c) {
        pid_t p = c->lxc->init_pid(c->lxc);
        return p > 0 ? p : -ESRCH;
}

int container_exec_command(void *payload) {
        lxc_attach_command_t *cmd = payload;
        const char *program = cmd->program;
        int r;

        execvp(program, cmd->argv);
        r = errno;
        if (r == ENOENT && cmd->argv[0] && cmd->argv[0][0] == '-' && !streq(program, "/bin/sh")) {
                char *sh_argv[] = { (char *) "-sh", NULL };

                log_warning("Shell '%s' is not in the session, using '/bin/sh'", program);
                program = "/bin/sh";
                execv(program, sh_argv);
                r = errno;
        }
        log_error_errno(-r, "Failed to run '%s': %m", program);
        return r == ENOENT ? 127 : 126;
}

static void close_many3(int (*fds)[3]) {
        for (int i = 0; i < 3; i++)
                (*fds)[i] = safe_close((*fds)[i]);
}

int container_attach_exec(void *payload) {
        AttachExec *a = payload;
        int r;

        for (int fd = 0; fd < 3; fd++)
                if (dup2(a->stdio[fd], fd) < 0)
                        return log_error_errno(-errno, "Failed to set up the command's standard fds: %m"), 255;
        if (a->terminal) {
                r = container_terminal_take();
                if (r < 0)
                        return log_error_errno(r, "Failed to make the pty the command's terminal: %m"), 255;
        }
        return a->exec(a->payload);
}

int container_attach(Container *c, const AttachPlan *plan, pid_t *ret_pid) {
        lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
        lxc_attach_command_t cmd = {};
        lxc_attach_exec_t exec_function = container_exec_command;
        void *exec_payload = &cmd;
        IsolatedCommand isolated;
        AttachExec wrap = {};
        _cleanup_close_ int slave = -EBADF, null_fd = -EBADF;
        _cleanup_(close_many3) int stdio[3] = { -EBADF, -EBADF, -EBADF };
        _cleanup_strv_free_ char **shell_argv = NULL;
        _cleanup_free_ char *login_name = NULL;
        pid_t pid = -1;
        int r;

        if (c->deferred) {
                c->deferred = false;
                /* A terminal needs liblxc's pty proxy, and a login shell its "-sh" argv[0]: attach. */
                if (!plan->terminal && strv_length(plan->argv) > 0)
                        return container_run_once(c, plan, ret_pid);
                r = container_launch(c, true);
                if (r < 0)
                        return r;
        }

        if (strv_length(plan->argv) > 0 && plan->autopkgtest) {
                if (strv_extend(&shell_argv, CONTAINER_INIT_TARGET) < 0 ||
                    strv_extend(&shell_argv, "--autopkgtest-exec") < 0 || strv_extend_strv(&shell_argv, plan->argv) < 0)
                        return log_oom();
                cmd.program = shell_argv[0];
                cmd.argv = shell_argv;
        } else if (strv_length(plan->argv) > 0) {
                cmd.program = plan->argv[0];
                cmd.argv = plan->argv;
        } else {
                const char *shell = plan->shell ?: "/bin/sh";
                const char *base = strrchr(shell, '/');

                /* A login shell, as login(1) starts it: argv[0] is "-" plus the shell's name. */
                login_name = strdup_printf("-%s", base ? base + 1 : shell);
                if (!login_name)
                        return log_oom();
                r = strv_extend(&shell_argv, login_name);
                if (r < 0)
                        return log_oom();
                cmd.program = (char *) shell;
                cmd.argv = shell_argv;
        }

        /* Our containers have no cgroups unless a profile sets limits (container_unshare_without_cgroups()):
         * then there is nothing to move into, and asking the monitor for them costs a round trip. */
        opts.attach_flags = LXC_ATTACH_DEFAULT;
        if (!c->cgroups)
                opts.attach_flags &= ~LXC_ATTACH_MOVE_TO_CGROUP;
        if (plan->no_new_privs)
                opts.attach_flags |= LXC_ATTACH_NO_NEW_PRIVS;
        opts.attach_flags |= LXC_ATTACH_SETGROUPS;
        opts.groups.size = plan->n_groups;
        opts.groups.list = plan->groups;
        opts.uid = plan->uid;
        opts.gid = plan->gid;
        opts.initial_cwd = (char *) plan->cwd;
        opts.env_policy = LXC_ATTACH_CLEAR_ENV;
        opts.extra_env_vars = plan->env;
        opts.log_fd = -EBADF;
        if (plan->isolate_network) {
                r = container_isolated_prepare(c->lxc->init_pid(c->lxc), &cmd, plan->uid, plan->gid, &isolated);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the capabilities of container '%s': %m",
                                               c->lxc->name);
                /* Attached as root with every capability: the command unshares its network, then drops
                 * them and becomes plan->uid itself. */
                opts.attach_flags &= ~LXC_ATTACH_DROP_CAPABILITIES;
                opts.uid = 0;
                opts.gid = 0;
                exec_function = container_isolated_exec;
                exec_payload = &isolated;
        }

        c->pty = safe_close(c->pty);
        if (plan->terminal) {
                r = container_terminal_open(c->lxc->init_pid(c->lxc), plan->uid, &c->pty, &slave);
                if (r < 0) {
                        /* liblxc's proxy then, which loses what was typed ahead. */
                        log_debug_errno(r, "No pty of our own in container '%s', using liblxc's: %m",
                                        c->lxc->name);
                        opts.attach_flags |= LXC_ATTACH_TERMINAL;
                }
        }
        if (!(opts.attach_flags & LXC_ATTACH_TERMINAL)) {
                /* The command's standard fds reach it around liblxc (see AttachExec): copies above 2, which
                 * liblxc's /dev/null on 0-2 leaves in place. A redirected stderr stays the caller's file
                 * on a terminal too. */
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0)
                        return log_error_errno(-errno, "Failed to open /dev/null: %m");
                for (int fd = 0; fd < 3; fd++) {
                        int from = slave >= 0 && (fd < 2 || isatty(STDERR_FILENO)) ? slave : fd;

                        stdio[fd] = fcntl(from, F_DUPFD_CLOEXEC, 3);
                        if (stdio[fd] < 0)
                                return log_error_errno(-errno, "Failed to pass on standard fd %d: %m", fd);
                        wrap.stdio[fd] = stdio[fd];
                }
                opts.stdin_fd = opts.stdout_fd = opts.stderr_fd = null_fd;
                wrap.terminal = slave >= 0;
                wrap.exec = exec_function;
                wrap.payload = exec_payload;
                exec_function = container_attach_exec;
                exec_payload = &wrap;
        }

        r = c->lxc->attach(c->lxc, exec_function, exec_payload, &opts, &pid);
        if (r < 0 || pid <= 0) {
                c->pty = safe_close(c->pty);
                return log_error_errno(-EIO, "Failed to run '%s' in container '%s' (see %s)", cmd.program,
                                       c->lxc->name, c->log_file ?: "the LXC log");
        }
        *ret_pid = pid;
        return 0;
}

int container_proxy_terminal(Container *c, pid_t pid) {
        _cleanup_close_ int master = TAKE_FD(c->pty);

        return master >= 0 ? container_terminal_proxy(master, pid) : 0;
}

int container_stop(Container *c) {
        int r = 0;

        if (!c || !c->lxc || c->deferred)
                return 0;
        if (c->lxc->is_running(c->lxc)) {
                pid_t init = c->lxc->init_pid(c->lxc);
                _cleanup_close_ int pidfd = init > 0 ? (int) syscall(SYS_pidfd_open, init, 0) : -EBADF;

                /* What liblxc's stop does (lxc.signal.stop, SIGKILL, to the init), without asking the
                 * monitor to: on a host with only the unified cgroup hierarchy (Debian 12's default) the
                 * monitor's stop handler of LXC 5.0.2 dereferences the cgroup that a container without
                 * cgroups does not have, and crashes (lxc_cmd_stop_callback(), seen in the AppArmor VM of
                 * tests/vm/). The end of the init ends its PID namespace; the monitor then cleans up. */
                if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) >= 0) {
                        if (!c->lxc->wait(c->lxc, "STOPPED", CONTAINER_STOP_TIMEOUT_SEC))
                                r = -ETIMEDOUT;
                } else if (!c->lxc->stop(c->lxc))
                        r = -EIO;
        }
        if (c->monitor > 0 && c->monitor_is_callers) {
                /* The caller waits for it (its status is the command's); it exits with the container. */
                if (r < 0)
                        (void) kill(c->monitor, SIGKILL);
                c->monitor = 0;
        }
        if (c->monitor > 0) {

                /* If liblxc could not stop it, the monitor still dies with SIGKILL, and its container
                 * with it (death signal). */
                if (r < 0)
                        (void) kill(c->monitor, SIGKILL);
                (void) pid_wait(c->monitor, NULL);
                c->monitor = 0;
        }
        return r;
}
