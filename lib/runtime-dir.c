/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A session user's own runtime directory, its sockets and its filtered session bus (lib/runtime-dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mount.h"
#include "runtime-dir.h"
#include "state.h"

void runtime_plan_done(RuntimePlan *p) {
        for (size_t i = 0; i < p->n_sockets; i++) {
                free(p->sockets[i].name);
                free(p->sockets[i].path);
        }
        free(p->sockets);
        free(p->dbus_address);
        strv_free(p->dbus_talk);
        *p = (RuntimePlan){};
}

char *runtime_host_dir(const char *env_dir, uid_t uid) {
        struct stat st;

        if (path_is_absolute(env_dir) && stat(env_dir, &st) >= 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
                return strdup(env_dir);
        return strdup_printf("/run/user/%u", (unsigned) uid);
}

typedef struct SocketOpen {
        const char *path;
        uid_t uid;
} SocketOpen;

/* As the user: @path, O_PATH, no symlink followed at its end, a socket the user owns. */
static int open_user_socket(void *userdata) {
        const SocketOpen *o = userdata;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(o->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (st.st_uid != o->uid)
                return -EPERM;
        return TAKE_FD(fd);
}

/* Opens @path as the user: -ENOTSOCK, -EPERM (not the user's), or the fd. */
static int open_socket_as_user(const char *path, const char *user, uid_t uid, gid_t gid) {
        SocketOpen o = { .path = path, .uid = uid };

        return user_open_fd(user, uid, gid, open_user_socket, &o);
}

static int plan_socket(RuntimePlan *p, const char *name, const char *path) {
        RuntimeSocket *l = realloc(p->sockets, sizeof(RuntimeSocket) * (p->n_sockets + 1));

        if (!l)
                return -ENOMEM;
        p->sockets = l;
        l[p->n_sockets] = (RuntimeSocket){ .name = strdup(name), .path = strdup(path) };
        if (!l[p->n_sockets].name || !l[p->n_sockets].path) {
                free(l[p->n_sockets].name);
                free(l[p->n_sockets].path);
                return -ENOMEM;
        }
        p->n_sockets++;
        return 0;
}

/* The bus's socket path if @address is a plain "unix:path=PATH" address (the only kind checked here). */
static const char *dbus_unix_path(const char *address) {
        const char *p = startswith(address, "unix:path=") ? address + strlen("unix:path=") : NULL;

        return p && !strpbrk(p, ",;") ? p : NULL;
}

int runtime_plan_make(const Profile *profile, const char *user, uid_t uid, gid_t gid, const RuntimeCaller *caller,
                      RuntimePlan *ret) {
        _cleanup_(runtime_plan_done) RuntimePlan p = {};
        const char *host_dir = caller->host_dir, *wayland_display = caller->wayland_display;
        int r;

        for (char **s = profile->runtime_sockets; s && *s; s++) {
                _cleanup_free_ char *path = NULL;
                const char *name = *s;

                if (streq(*s, PROFILE_SOCKET_WAYLAND)) {
                        name = RUNTIME_WAYLAND_SOCKET;
                        if (path_is_absolute(wayland_display))
                                path = strdup(wayland_display);
                        else if (!isempty(wayland_display) && !strchr(wayland_display, '/'))
                                path = path_join(host_dir, wayland_display);
                        else
                                path = path_join(host_dir, RUNTIME_WAYLAND_SOCKET);
                } else if (streq(*s, PROFILE_SOCKET_SSH_AGENT)) {
                        /* The agent's socket is wherever ssh-agent or gpg-agent made it (/tmp/ssh-XXXX/):
                         * only the caller's variable names it. No agent, nothing to bind. A link to it
                         * (tmux users' ~/.ssh/agent.sock) is resolved here; the socket it leads to is then
                         * opened as the user, as every other. */
                        name = RUNTIME_SSH_AGENT_SOCKET;
                        if (!path_is_absolute(caller->ssh_auth_sock))
                                continue;
                        path = realpath(caller->ssh_auth_sock, NULL) ?: strdup(caller->ssh_auth_sock);
                } else
                        path = path_join(host_dir, *s);
                if (!path)
                        return -ENOMEM;
                r = plan_socket(&p, name, path);
                if (r < 0)
                        return r;
        }

        if (profile->dbus == PROFILE_DBUS_FILTERED) {
                _cleanup_free_ char *fallback = NULL;
                const char *a = caller->dbus_address, *path;
                int fd;

                if (isempty(a)) {
                        fallback = strdup_printf("unix:path=%s/" RUNTIME_DBUS_SOCKET, host_dir);
                        if (!fallback)
                                return -ENOMEM;
                        a = fallback;
                }
                /* A bus the user has no socket of: nothing to proxy, and nothing to say. */
                path = dbus_unix_path(a);
                fd = path ? open_socket_as_user(path, user, uid, gid) : 0;
                if (fd >= 0) {
                        safe_close(fd);
                        p.dbus_address = strdup(a);
                        if (!p.dbus_address || strv_extend_strv(&p.dbus_talk, profile->dbus_talk) < 0)
                                return -ENOMEM;
                } else
                        log_debug_errno(fd, "No session bus at '%s' for the session: %m", path);
        }
        *ret = p;
        p = (RuntimePlan){};
        return 0;
}

static char *runtime_dir_path(const char *session_dir) {
        return path_join(session_dir, RUNTIME_DIR_NAME);
}

static char *joiner_dir_path(const char *session_dir, uid_t uid) {
        return strdup_printf("%s/" RUNTIME_DIR_NAME "-%u", session_dir, (unsigned) uid);
}

char *runtime_dir_user_path(const char *session_dir, uid_t uid, uid_t session_uid) {
        return uid == session_uid ? runtime_dir_path(session_dir) : joiner_dir_path(session_dir, uid);
}

/* Makes the directories of @name's path below @dir, the user's, mode 700, and an empty file at @name to
 * bind onto. */
static int make_bind_target(int dir_fd, const char *name, uid_t uid, gid_t gid) {
        _cleanup_free_ char *copy = strdup(name);
        _cleanup_close_ int fd = -EBADF;
        char *slash;

        if (!copy)
                return -ENOMEM;
        for (char *c = copy; (slash = strchr(c, '/')); c = slash + 1) {
                *slash = '\0';
                if (mkdirat(dir_fd, copy, 0700) < 0 && errno != EEXIST)
                        return -errno;
                if (fchownat(dir_fd, copy, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                *slash = '/';
        }
        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : 0;
}

/* The bus proxy's record: "dbus-proxy" for the session's user, "dbus-proxy-UID" for a user who joins
 * (@joiner, the uid; -1 for the session's user). */
static char *proxy_record_path(const char *session_dir, uid_t joiner) {
        if (joiner == (uid_t) -1)
                return path_join(session_dir, "dbus-proxy");
        return strdup_printf("%s/dbus-proxy-%u", session_dir, (unsigned) joiner);
}

/* Starts xdg-dbus-proxy as the user, listening at @dir/bus, and waits until it is ready. Its stderr goes
 * to the session directory's dbus-proxy.log; its pid, start time and bus address to dbus-proxy (with -UID
 * for a @joiner, else -1). */
static int start_proxy(const char *session_dir, const char *dir, const char *user, uid_t uid, gid_t gid,
                       const RuntimePlan *plan, bool detached, uid_t joiner) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *socket = path_join(dir, RUNTIME_DBUS_SOCKET), *log = NULL, *record = NULL;
        _cleanup_close_ int log_fd = -EBADF, null_fd = -EBADF;
        unsigned long long start;
        int ready[2], r;
        char byte;
        pid_t pid;

        record = proxy_record_path(session_dir, joiner);
        log = record ? strdup_printf("%s.log", record) : NULL;
        if (!socket || !log || !record)
                return -ENOMEM;
        if (strv_extend(&argv, RUNTIME_DBUS_PROXY) < 0 || strv_extend(&argv, plan->dbus_address) < 0 ||
            strv_extend(&argv, socket) < 0 || strv_extend(&argv, "--filter") < 0 ||
            strv_extend(&argv, "--fd=3") < 0)
                return -ENOMEM;
        for (char **t = plan->dbus_talk; t && *t; t++)
                if (strv_extendf(&argv, "--talk=%s", *t) < 0)
                        return -ENOMEM;
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0)
                return -errno;
        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;

        /* Not our child: a one-shot session's start, when it fails in liblxc, waits for all of them. */
        pid = fork_detached(true);
        if (pid < 0) {
                safe_close(ready[0]);
                safe_close(ready[1]);
                return pid;
        }
        if (pid == 0) {
                if (setsid() < 0 || user_become(user, uid, gid) < 0)
                        _exit(127);
                /* One-shot: the proxy ends with this process, through --fd, when the read end (which
                 * only this process holds) is closed, however this process ends. */
                /* A detached session's proxy keeps the read end itself: it stops only when told to. */
                if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
                    dup2(ready[1], 3) < 0 || (detached && dup2(ready[0], 4) < 0))
                        _exit(127);
                (void) signal(SIGPIPE, SIG_DFL);
                execvp(argv[0], argv);
                _exit(127);
        }
        safe_close(ready[1]);

        /* Ready: it writes a byte. Gone: end of file. Five seconds at most. */
        {
                struct pollfd p = { .fd = ready[0], .events = POLLIN };
                ssize_t n = 0;

                r = poll(&p, 1, 5000);
                if (r > 0)
                        n = read(ready[0], &byte, 1);
                if (r <= 0 || n != 1) {
                        (void) kill(pid, SIGKILL);
                        safe_close(ready[0]);
                        return r == 0 ? -ETIMEDOUT : -ECHILD;
                }
        }
        /* One-shot: this process holds the read end until it ends (the fd is close-on-exec for the
         * container's processes); detached: the proxy holds its own copy. */
        if (detached)
                safe_close(ready[0]);

        if (pid_start_time(pid, &start) >= 0) {
                char pid_s[32], start_s[32];

                snprintf(pid_s, sizeof(pid_s), "%d", (int) pid);
                snprintf(start_s, sizeof(start_s), "%llu", start);
                char *kv[] = { (char *) "pid", pid_s, (char *) "start", start_s, (char *) "address",
                               plan->dbus_address, NULL };
                r = state_write(record, kv);
                if (r < 0)
                        log_debug_errno(r, "Failed to record the bus proxy: %m");
        }
        return 0;
}

/* Binds each of @plan's sockets into @dir (open as @dir_fd), with @recovering only those not bound any
 * more: opened here, in the mount namespace the bind is made in (a bind of a file opened in another one is
 * refused). One that is not there leaves no file behind (WAYLAND_DISPLAY and the bus follow the files). */
static int bind_sockets(const char *dir, int dir_fd, const RuntimePlan *plan, const char *user, uid_t uid,
                        gid_t gid, bool recovering) {
        int r;

        for (size_t i = 0; i < plan->n_sockets; i++) {
                _cleanup_free_ char *target = path_join(dir, plan->sockets[i].name);
                _cleanup_close_ int fd = -EBADF;
                const char *path = plan->sockets[i].path;

                if (!target)
                        return log_oom();
                /* (The mount table is read only then: a new directory has no bind yet.) */
                if (recovering && mount_any_below(target))
                        continue;
                fd = open_socket_as_user(path, user, uid, gid);
                if (fd == -ENOMEM)
                        return log_oom();
                if (fd < 0) {
                        if (fd == -ENOENT || fd == -ENOTDIR)
                                log_debug("No socket '%s' for the session's runtime directory", path);
                        else
                                log_notice("Not binding '%s' into the session: %s", path,
                                           fd == -ENOTSOCK ? "not a socket"
                                           : fd == -EPERM  ? "not the user's own"
                                                           : strerror(-fd));
                        (void) unlinkat(dir_fd, plan->sockets[i].name, 0);
                        continue;
                }
                r = make_bind_target(dir_fd, plan->sockets[i].name, uid, gid);
                if (r >= 0)
                        r = mount_bind_fd(fd, target);
                if (r < 0)
                        return log_error_errno(r, "Failed to bind the socket '%s' into the session: %m",
                                               plan->sockets[i].name);
        }
        return 0;
}

static char *plan_path(const char *session_dir) {
        return path_join(session_dir, "runtime-plan");
}

/* The plan, for --recover-session (after a reboot the binds and the proxy are gone): one line each,
 * "socket NAME PATH", "dbus ADDRESS", "talk NAME", fields separated by a tab. A path with a tab or a
 * newline is not recorded (nor recovered). */
static int plan_save(const char *session_dir, const RuntimePlan *plan) {
        _cleanup_free_ char *path = plan_path(session_dir), *text = strdup("");

        if (!path || !text)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n_sockets; i++) {
                char *n;

                if (strpbrk(plan->sockets[i].path, "\t\n"))
                        continue;
                n = strdup_printf("%ssocket\t%s\t%s\n", text, plan->sockets[i].name, plan->sockets[i].path);
                if (!n)
                        return -ENOMEM;
                free(text);
                text = n;
        }
        if (plan->dbus_address && !strpbrk(plan->dbus_address, "\t\n")) {
                char *n = strdup_printf("%sdbus\t%s\n", text, plan->dbus_address);

                if (!n)
                        return -ENOMEM;
                free(text);
                text = n;
                for (char **t = plan->dbus_talk; t && *t; t++) {
                        n = strdup_printf("%stalk\t%s\n", text, *t);
                        if (!n)
                                return -ENOMEM;
                        free(text);
                        text = n;
                }
        }
        return write_file_atomic(path, text, 0600);
}

static int plan_load(const char *session_dir, RuntimePlan *ret) {
        _cleanup_(runtime_plan_done) RuntimePlan p = {};
        _cleanup_free_ char *path = plan_path(session_dir), *text = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file(path, &text);
        if (r < 0)
                return r;
        lines = strv_split(text, "\n");
        if (!lines)
                return -ENOMEM;
        for (char **l = lines; *l; l++) {
                _cleanup_strv_free_ char **f = strv_split(*l, "\t");

                if (!f)
                        return -ENOMEM;
                if ((f[0] && streq(f[0], "socket")) && strv_length(f) == 3)
                        r = plan_socket(&p, f[1], f[2]);
                else if ((f[0] && streq(f[0], "dbus")) && strv_length(f) == 2)
                        r = (p.dbus_address = strdup(f[1])) ? 0 : -ENOMEM;
                else if ((f[0] && streq(f[0], "talk")) && strv_length(f) == 2)
                        r = strv_extend(&p.dbus_talk, f[1]);
                else
                        r = -EBADMSG;
                if (r < 0)
                        return r;
        }
        *ret = p;
        p = (RuntimePlan) {};
        return 0;
}

int runtime_dir_create(const char *session_dir, const char *user, uid_t uid, gid_t gid,
                       const RuntimePlan *plan, bool detached) {
        _cleanup_free_ char *dir = runtime_dir_path(session_dir);
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!dir)
                return log_oom();
        if (mkdir(dir, 0700) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", dir);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0 || fchown(dir_fd, uid, gid) < 0)
                return log_error_errno(-errno, "Failed to give '%s' to its user: %m", dir);

        r = bind_sockets(dir, dir_fd, plan, user, uid, gid, false);
        if (r < 0)
                return r;
        r = plan_save(session_dir, plan);
        if (r < 0)
                log_debug_errno(r, "Failed to record the runtime directory's plan: %m");

        if (plan->dbus_address) {
                r = start_proxy(session_dir, dir, user, uid, gid, plan, detached, (uid_t) -1);
                if (r == -ECHILD)
                        log_notice("The session gets no session bus: %s did not start (is it installed? see "
                                   "%s/dbus-proxy.log)",
                                   RUNTIME_DBUS_PROXY, session_dir);
                else if (r < 0)
                        log_notice("The session gets no session bus: %s: %s", RUNTIME_DBUS_PROXY,
                                   strerror(-r));
        }
        return 0;
}

static pid_t proxy_pid(const char *session_dir, uid_t joiner);
static void proxy_stop(const char *session_dir, uid_t joiner);

/* Whether the recorded proxy of @joiner serves the bus at @address. */
static bool proxy_serves(const char *session_dir, uid_t joiner, const char *address) {
        _cleanup_free_ char *record = proxy_record_path(session_dir, joiner);
        _cleanup_strv_free_ char **kv = NULL;
        const char *a;

        if (!record || state_read(record, &kv) < 0)
                return false;
        a = state_get(kv, "address");
        return a && streq(a, address);
}

/* The bus of a user who joins: a proxy of their own bus, as the session's user has, listening in
 * SESSION/dbus-UID/bus (join_bus_socket()), which is bound into each of their runtime directories. That
 * directory outlives the runtime directory, which each later command of theirs makes anew: their programs
 * still running keep their bus, and the proxy is started once (again only when it is gone, or their bus
 * is another one now: a new login's). Started from
 * the host's mount namespace, not the joiner's own: a copy of it would keep every mount it had (other
 * sessions' overlays) alive as long as the proxy runs. Returns 0 or -errno. */
static char *join_bus_socket(const char *session_dir, uid_t uid) {
        return strdup_printf("%s/dbus-%u/" RUNTIME_DBUS_SOCKET, session_dir, (unsigned) uid);
}

static int join_bus_proxy(const char *session_dir, const char *user, uid_t uid, gid_t gid, const RuntimePlan *plan) {
        _cleanup_free_ char *socket = join_bus_socket(session_dir, uid);
        char *slash;
        int r;

        if (!socket)
                return -ENOMEM;
        /* Theirs still runs, for the same bus (not one of a login since ended). */
        if (proxy_pid(session_dir, uid) > 0 && access(socket, F_OK) >= 0 &&
            proxy_serves(session_dir, uid, plan->dbus_address))
                return 0;
        proxy_stop(session_dir, uid);
        slash = strrchr(socket, '/');
        *slash = '\0';
        r = rm_rf(socket);
        if (r < 0)
                return r;
        if (mkdir(socket, 0700) < 0 || chown(socket, uid, gid) < 0)
                return -errno;
        return start_proxy(session_dir, socket, user, uid, gid, plan, true, uid);
}

/* In the joiner's namespace: binds the proxy's socket into their runtime directory @dir (open as @dir_fd). */
static int join_bus_bind(const char *session_dir, const char *dir, int dir_fd, uid_t uid, gid_t gid) {
        _cleanup_free_ char *socket = join_bus_socket(session_dir, uid), *target = path_join(dir, RUNTIME_DBUS_SOCKET);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!socket || !target)
                return -ENOMEM;
        fd = open(socket, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = make_bind_target(dir_fd, RUNTIME_DBUS_SOCKET, uid, gid);
        if (r < 0)
                return r;
        return mount_bind_fd(fd, target);
}

/* The joiner's child: in a mount namespace of its own (nothing is bound on the host), the directory with
 * the sockets (and the bus proxy's) bound in, then moved into the container as one tree. Logs. */
static int join_child(const char *session_dir, const char *dir, pid_t init_pid, const char *user, uid_t uid,
                      gid_t gid, const RuntimePlan *plan) {
        _cleanup_free_ char *target = strdup_printf("/run/user/%u", (unsigned) uid);
        _cleanup_close_ int dir_fd = -EBADF;
        bool bus = false;
        int r;

        if (!target)
                return log_oom();
        if (plan->dbus_address) {
                r = join_bus_proxy(session_dir, user, uid, gid, plan);
                if (r == -ECHILD)
                        log_notice("%s gets no session bus in the session: %s did not start (is it installed? see "
                                   "%s/dbus-proxy-%u.log)", user, RUNTIME_DBUS_PROXY, session_dir, (unsigned) uid);
                else if (r < 0)
                        log_notice("%s gets no session bus in the session: %s: %s", user, RUNTIME_DBUS_PROXY,
                                   strerror(-r));
                bus = r >= 0;
        }
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(-errno, "Failed to make a mount namespace: %m");
        r = mount_make_rprivate();
        if (r < 0)
                return log_error_errno(r, "Failed to make the mounts private: %m");
        /* An earlier command's directory goes (what it had may not be there any more: a new login's agent);
         * the container keeps it for the commands that still use it, until it is replaced below. Nothing
         * is mounted in it here. */
        r = rm_rf(dir);
        if (r < 0)
                return log_error_errno(r, "Failed to remove '%s': %m", dir);
        if (mkdir(dir, 0700) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", dir);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0 || fchown(dir_fd, uid, gid) < 0 || fchmod(dir_fd, 0700) < 0)
                return log_error_errno(-errno, "Failed to give '%s' to its user: %m", dir);
        r = bind_sockets(dir, dir_fd, plan, user, uid, gid, false);
        if (r < 0)
                return r;
        if (bus) {
                r = join_bus_bind(session_dir, dir, dir_fd, uid, gid);
                if (r < 0)
                        log_notice("%s gets no session bus in the session: %s", user, strerror(-r));
        }
        r = mount_bind_into(init_pid, dir, target, MOUNT_INTO_MKDIR | MOUNT_INTO_REPLACE);
        if (r < 0)
                return log_error_errno(r, "Failed to bind the runtime directory of %s into the session: %m", user);
        return 0;
}

int runtime_dir_join(const char *session_dir, pid_t init_pid, const char *user, uid_t uid, gid_t gid,
                     const RuntimePlan *plan) {
        _cleanup_free_ char *dir = joiner_dir_path(session_dir, uid);
        pid_t pid;

        if (!dir)
                return log_oom();
        if (init_pid <= 0)
                return log_error_errno(-ESRCH, "The session does not run");
        pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "Failed to fork: %m");
        if (pid == 0)
                _exit(join_child(session_dir, dir, init_pid, user, uid, gid, plan) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        if (pid_wait_errno(pid) == 0)
                return 0;
        /* Half made (the child's binds went with its namespace): no directory, so that the user's commands
         * are not told of sockets the container does not have. */
        (void) rm_rf(dir);
        return -EIO;
}

int runtime_dir_items(const char *session_dir, uid_t uid, char ***items) {
        _cleanup_free_ char *dir = runtime_dir_path(session_dir);

        if (!dir)
                return -ENOMEM;
        if (access(dir, F_OK) < 0)
                return 0;
        if (strv_extend(items, "lxc.mount.entry") < 0 ||
            strv_extendf(items, "%s run/user/%u none rbind,create=dir 0 0", dir, (unsigned) uid) < 0)
                return -ENOMEM;
        return 0;
}

static int env_set(char ***env, const char *name, const char *value) {
        size_t n = strlen(name);
        char **w = *env;

        /* Drop every entry of @name, then add the new one. */
        for (char **e = *env; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=')
                        free(*e);
                else
                        *w++ = *e;
        if (w)
                *w = NULL;
        return value ? strv_extendf(env, "%s=%s", name, value) : 0;
}

int runtime_dir_env(const char *dir, uid_t uid, char ***env) {
        _cleanup_free_ char *inside = NULL, *bus = NULL;
        _cleanup_free_ char *wayland = NULL, *bus_socket = NULL, *agent = NULL, *agent_inside = NULL;
        bool have = access(dir, F_OK) >= 0;
        int r;

        inside = strdup_printf("/run/user/%u", (unsigned) uid);
        wayland = path_join(dir, RUNTIME_WAYLAND_SOCKET);
        bus_socket = path_join(dir, RUNTIME_DBUS_SOCKET);
        agent = path_join(dir, RUNTIME_SSH_AGENT_SOCKET);
        bus = strdup_printf("unix:path=%s/" RUNTIME_DBUS_SOCKET, inside ?: "");
        agent_inside = strdup_printf("%s/" RUNTIME_SSH_AGENT_SOCKET, inside ?: "");
        if (!inside || !wayland || !bus_socket || !bus || !agent || !agent_inside)
                return -ENOMEM;
        /* The agent only when it was bound: else what the profile keeps of the caller's (a socket below a
         * bound home still works). */
        if (have && access(agent, F_OK) >= 0) {
                r = env_set(env, "SSH_AUTH_SOCK", agent_inside);
                if (r < 0)
                        return r;
        }
        r = env_set(env, "XDG_RUNTIME_DIR", have ? inside : NULL);
        if (r >= 0)
                r = env_set(env, "WAYLAND_DISPLAY",
                            have && access(wayland, F_OK) >= 0 ? RUNTIME_WAYLAND_SOCKET : NULL);
        if (r >= 0)
                r = env_set(env, "DBUS_SESSION_BUS_ADDRESS",
                            have && access(bus_socket, F_OK) >= 0 ? bus : NULL);
        return r;
}

/* The session's bus proxy if it still runs (the recorded pid with the recorded start time, so not a pid
 * used again since), else 0. */
static pid_t proxy_pid(const char *session_dir, uid_t joiner) {
        _cleanup_free_ char *record = proxy_record_path(session_dir, joiner);
        _cleanup_strv_free_ char **kv = NULL;
        unsigned long long start, now;
        const char *p, *st;
        int pid;

        if (!record || state_read(record, &kv) < 0)
                return 0;
        p = state_get(kv, "pid");
        st = state_get(kv, "start");
        if (!p || !st || sscanf(p, "%d", &pid) != 1 || pid <= 1 || sscanf(st, "%llu", &start) != 1)
                return 0;
        return pid_start_time(pid, &now) >= 0 && now == start ? pid : 0;
}

static void proxy_stop(const char *session_dir, uid_t joiner) {
        _cleanup_free_ char *record = proxy_record_path(session_dir, joiner);
        pid_t pid = proxy_pid(session_dir, joiner);

        if (pid > 0) {
                (void) kill(pid, SIGTERM);
                /* Gone within a second, or killed (it is never our child: fork_detached()). */
                if (pid_wait_exit_timeout(pid, 1000) == -ETIMEDOUT)
                        (void) kill(pid, SIGKILL);
        }
        if (record)
                (void) unlink(record);
}

void runtime_dir_stop(const char *session_dir) {
        _cleanup_free_ char *dir = runtime_dir_path(session_dir);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        proxy_stop(session_dir, (uid_t) -1);
        /* And those of the users who joined: dbus-proxy-UID. Only a session with a runtime directory has
         * any (every one-shot session's end comes here: no directory read for the others). */
        if (!dir || access(dir, F_OK) < 0)
                return;
        d = opendir(session_dir);
        while (d && (de = readdir(d))) {
                unsigned uid;
                char end;

                if (startswith(de->d_name, "dbus-proxy-") &&
                    sscanf(de->d_name + strlen("dbus-proxy-"), "%u%c", &uid, &end) == 1)
                        proxy_stop(session_dir, (uid_t) uid);
        }
}

int runtime_dir_recover(const char *session_dir, const char *user, uid_t uid, gid_t gid) {
        _cleanup_(runtime_plan_done) RuntimePlan plan = {};
        _cleanup_free_ char *dir = runtime_dir_path(session_dir);
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!dir)
                return log_oom();
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir_fd < 0)
                return errno == ENOENT ? 0 : log_error_errno(-errno, "Failed to open '%s': %m", dir);
        r = plan_load(session_dir, &plan);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to read the runtime directory's plan of '%s': %m", session_dir);
        r = bind_sockets(dir, dir_fd, &plan, user, uid, gid, true);
        if (r < 0)
                return r;
        if (plan.dbus_address && proxy_pid(session_dir, (uid_t) -1) == 0) {
                _cleanup_free_ char *bus = path_join(dir, RUNTIME_DBUS_SOCKET);

                if (!bus)
                        return log_oom();
                (void) unlink(bus);
                r = start_proxy(session_dir, dir, user, uid, gid, &plan, true, (uid_t) -1);
                if (r < 0)
                        log_notice("The session gets no session bus: %s: %s", RUNTIME_DBUS_PROXY, strerror(-r));
        }
        return 0;
}

int runtime_dir_release(const char *session_dir) {
        _cleanup_free_ char *dir = runtime_dir_path(session_dir);

        if (!dir)
                return -ENOMEM;
        runtime_dir_stop(session_dir);
        return access(dir, F_OK) < 0 ? 0 : mount_umount_below(dir, NULL);
}
