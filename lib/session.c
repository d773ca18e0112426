/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: creating, opening, running in and ending sessions. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "hooks.h"
#include "lock.h"
#include "mount.h"
#include "runsock-protocol.h"
#include "private-home.h"
#include "runsock.h"
#include "runtime-dir.h"
#include "session-internal.h"
#include "state.h"

static Session *session_new(void) {
        Session *s = calloc(1, sizeof(Session));

        if (s)
                s->lock_fd = -EBADF;
        return s;
}

Session *session_new_locked(int fd) {
        Session *s = session_new();

        if (!s) {
                (void) safe_close(fd);
                return NULL;
        }
        s->lock_fd = fd;
        return s;
}

const char *session_id(Session *s) {
        return s->info.id;
}

const SessionInfo *session_get_info(Session *s) {
        return &s->info;
}

static void session_hook_env(Session *s, const char *phase, HookEnv *ret) {
        const SessionInfo *i = &s->info;

        *ret = (HookEnv) {
                .phase = phase,
                .chroot = i->chroot,
                .version = i->version,
                .rootfs = i->root,
                .session_id = i->id,
                .user = i->user,
                .uid = i->uid,
                .gid = i->gid,
                .home = i->home,
                .shell = i->shell,
                .groups = i->groups ?: "",
                .hostname = i->chroot,
                .network = container_network_to_string(i->network),
                .cwd = i->cwd,
                .state_dir = s->state_dir,      /* setup-start results cached per tree (hooks.h) */
                .lowers = i->lowers,
        };
}

/* Runs the session's hooks for @phase; setup phases stop at the first failure. */
int session_run_hooks(Session *s, const char *phase, bool stop_on_failure) {
        HookEnv env;
        int r;

        if (!s->hooks) {
                r = hooks_list(s->no_hooks ? NULL : s->hook_dirs, &s->hooks);
                if (r < 0)
                        return log_error_errno(r, "Failed to list session hooks: %m");
        }
        session_hook_env(s, phase, &env);
        return hooks_run(s->hooks, &env, s->hook_timeout, stop_on_failure); /* logs which hook failed */
}

/* Publishes the session's directory: made as STATE/sessions/.new-ID-XXXXXX with its lock taken and its
 * record written, then renamed to ID without replacing anything, so that no sweep ever sees a session
 * directory without both. Returns 0, -EEXIST when the id is taken, or -errno. */
static int session_publish_dir(Session *s, const char *state_dir) {
        _cleanup_free_ char *sessions = session_sessions_dir(state_dir);
        _cleanup_free_ char *staging = NULL, *lock = NULL;
        int r;

        if (!sessions)
                return -ENOMEM;
        r = mkdir_p(sessions, 0755);
        if (r < 0)
                return r;
        staging = strdup_printf("%s/.new-%s-XXXXXX", sessions, s->info.id);
        if (!staging)
                return -ENOMEM;
        if (!mkdtemp(staging))
                return -errno;
        lock = path_join(staging, "lock");
        if (!lock)
                r = -ENOMEM;
        else if (chmod(staging, 0755) < 0)
                r = -errno;
        else
                r = s->lock_fd = lock_file(lock, LOCK_MODE_EXCLUSIVE, false);
        if (r >= 0)
                r = session_record_save_in(&s->info, staging);
        if (r >= 0)
                r = RET_NERRNO(renameat2(AT_FDCWD, staging, AT_FDCWD, s->info.dir, RENAME_NOREPLACE));
        if (r < 0) {
                s->lock_fd = safe_close(s->lock_fd);
                (void) rm_rf(staging);
                return r == -ENOTEMPTY ? -EEXIST : r;
        }
        s->published = true;
        return 0;
}

int session_mount(Session *s, bool keep_upper) {
        const SessionInfo *i = &s->info;
        int r;

        if (i->tmp && !mount_any_below(i->tmp)) {
                if (mkdir(i->tmp, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create '%s': %m", i->tmp);
                r = mount_tmpfs(i->tmp, "mode=0700");
                if (r < 0)
                        return log_error_errno(r, "Failed to mount tmpfs on '%s': %m", i->tmp);
        }
        if (mkdir(i->upper, 0755) >= 0) {
                /* The overlay's root takes the upper directory's mode: the caller's umask (root's 027 or
                 * 077) must not make the session's "/" unreadable to its other users. */
                if (chmod(i->upper, 0755) < 0)
                        return log_error_errno(-errno, "Failed to create the writable layer of session '%s': %m", i->id);
        } else if (errno != EEXIST)
                return log_error_errno(-errno, "Failed to create the writable layer of session '%s': %m", i->id);
        if (mkdir(i->work, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create the writable layer of session '%s': %m", i->id);

        OverlayPlan op = {
                .lowers = i->lowers,
                .upper = i->upper,
                .work = i->work,
                .target = i->root,
                /* A detached session's layer must survive a reboot for --recover-session. */
                .volatile_upper = !keep_upper,
        };
        r = mount_overlay(&op);
        if (r < 0)
                return log_error_errno(r, "Failed to mount overlay of '%s' on '%s': %m", i->lowers[0], i->root);
        s->mounted = true;
        return 0;
}

/* A detached session's run directory, root's only: its init's command socket goes there. */
static int session_make_run_dir(const SessionInfo *i, char **ret) {
        _cleanup_free_ char *dir = runsock_dir(i->dir);

        if (!dir)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (chown(dir, 0, 0) < 0 || chmod(dir, 0700) < 0)
                return -errno;
        *ret = TAKE_PTR(dir);
        return 0;
}

/* Waits (a second at most) until the container's init listens: a command right after --begin-session
 * then goes through the socket, not attach. */
static void session_wait_socket(const char *run_dir, pid_t init) {
        for (unsigned k = 0; k < 1000; k++) {
                _cleanup_close_ int fd = runsock_connect(run_dir, init);

                if (fd >= 0 || (fd != -ENOENT && fd != -ECONNREFUSED))
                        return;
                (void) usleep(1000);
        }
        log_debug("The init of the container in '%s' does not listen, commands will attach", run_dir);
}

static void session_wait_socket_file(const char *run_dir) {
        for (unsigned k = 0; k < 10000 && !runsock_present(run_dir); k++)
                (void) usleep(100);
}

char *session_fresh_dir(const SessionInfo *i) {
        return path_join(i->dir, "fresh");
}

static char *session_xauthority_file(const SessionInfo *i) {
        return path_join(i->dir, "xauthority");
}

bool session_has_xauthority(Session *s) {
        _cleanup_free_ char *p = session_xauthority_file(&s->info);

        return p && access(p, F_OK) >= 0;
}

/* Keeps @plan's X authority content in the session's directory, the user's alone. */
static int session_write_xauthority(const SessionInfo *i, const SessionPlan *plan) {
        _cleanup_free_ char *p = session_xauthority_file(i);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (fchown(fd, plan->uid, plan->gid) < 0 || fchmod(fd, 0600) < 0)
                return -errno;
        return write_all(fd, plan->xauthority, plan->xauthority_size);
}

/* The LXC item binding the session's X authority file (if it has one) read-only into it; appended to
 * @items. */
static int session_xauthority_items(const SessionInfo *i, char ***items) {
        _cleanup_free_ char *p = session_xauthority_file(i);

        if (!p)
                return -ENOMEM;
        if (access(p, F_OK) < 0)
                return 0;
        if (strv_extend(items, "lxc.mount.entry") < 0 ||
            strv_extendf(items, "%s %s none bind,ro,create=file 0 0", p, SESSION_XAUTHORITY_PATH + 1) < 0)
                return -ENOMEM;
        return 0;
}

/* Starts the container and records its init, making the session ready. */
int session_start_container(Session *s) {
        _cleanup_strv_free_ char **extra = NULL;
        _cleanup_free_ char *run_dir = NULL, *sessions_dir = NULL, *fresh_dir = NULL;
        SessionInfo *i = &s->info;
        int r;

        /* Where the other sessions' mounts are (ContainerPlan.sessions_dir): set on creation and recovery. */
        if (s->state_dir) {
                sessions_dir = session_sessions_dir(s->state_dir);
                if (!sessions_dir)
                        return log_oom();
        }

        if (i->kind == SESSION_KIND_DETACHED || i->kind == SESSION_KIND_SPARE) {
                r = session_make_run_dir(i, &run_dir);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the run directory of session '%s': %m", i->id);
        }
        /* A shared spare's sub-sessions' directories (their upper layers): on the disk of the session's. */
        if (i->kind == SESSION_KIND_SPARE && i->shared) {
                fresh_dir = session_fresh_dir(i);
                if (!fresh_dir)
                        return log_oom();
                if (mkdir(fresh_dir, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Failed to create '%s': %m", fresh_dir);
        }

        if (s->profile) {
                SessionProfileInput in = {
                        .profile = s->profile,
                        .state_dir = s->state_dir,
                        .session_dir = i->dir,
                        .session_id = i->id,
                        .home = i->home,
                        .root = i->root,
                        .apparmor_template = s->apparmor_template,
                };
                r = session_profile_prepare(&in, &s->prof);
                if (r < 0)
                        return r;
        }

        r = strv_extend_strv(&extra, s->prof.extra_items);
        if (r >= 0)
                r = session_xauthority_items(i, &extra);
        if (r >= 0)
                r = runtime_dir_items(i->dir, i->uid, &extra);
        if (r >= 0)
                r = private_home_items(i->dir, i->home, &extra);
        if (r < 0)
                return log_oom();

        ContainerPlan cp = {
                .name = i->container,
                .lxcpath = i->lxcpath,
                .rootfs = i->root,
                .hostname = i->chroot,
                .personality = i->personality,
                .log_file = i->log_file,
                .network = i->network,
                .binds = i->binds,
                .net_items = s->prof.net_items,
                .extra_items = extra,
                .keep_cgroups = s->prof.keep_cgroups,
                .private_mounts = s->private_mounts,
                .run_dir = run_dir,
                .listen_once = i->kind == SESSION_KIND_SPARE && !i->shared,
                .fresh_dir = fresh_dir,
                .idle_exit = s->idle_timeout,
                .sessions_dir = sessions_dir,
                .own_dir = i->dir,
        };
        r = container_start(&cp, i->kind != SESSION_KIND_DETACHED, &s->container);
        if (r < 0)
                return r;
        /* A spare's init: wait for its socket without connecting (a single-use one serves one
         * connection only). */
        if (i->kind == SESSION_KIND_SPARE)
                session_wait_socket_file(run_dir);
        else if (run_dir && container_serves_commands(s->container))
                session_wait_socket(run_dir, container_init_pid(s->container));
        r = session_profile_started(&s->prof);
        if (r < 0)
                return r;
        i->init_pid = container_init_pid(s->container);
        if (i->init_pid < 0 || pid_start_time(i->init_pid, &i->init_start) < 0)
                i->init_pid = 0, i->init_start = 0;
        debug_pause_point("after-start");

        i->phase = SESSION_PHASE_READY;
        r = session_record_save(i);
        if (r < 0)
                return log_error_errno(r, "Failed to write the record of session '%s': %m", i->id);
        return 0;
}

static int session_setup(Session *s) {
        SessionInfo *i = &s->info;
        int r;

        if (mkdir(i->root, 0755) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", i->root);
        r = mkdir_p(i->lxcdir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", i->lxcdir);

        r = session_mount(s, i->kind == SESSION_KIND_DETACHED);
        if (r < 0)
                return r;
        debug_pause_point("after-mount");
        /* After the mount: a home the chroot has files in is a system user's, and stays the chroot's. */
        if (s->profile && s->profile->private_home) {
                r = private_home_create(i->dir, i->chroot, i->root, i->user, i->uid, i->gid, i->home);
                if (r < 0)
                        return r;
        }

        s->hooks_started = true;
        r = session_run_hooks(s, "setup-start", true);
        if (r < 0)
                return r;
        debug_pause_point("after-hooks");

        return session_start_container(s);
}

int session_create(const SessionPlan *plan, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        _cleanup_free_ char *id = NULL;
        int r;

        if (!plan || strv_length(plan->lowers) == 0)
                return -EINVAL;
        s = session_new();
        id = plan->id ? strdup(plan->id) : session_id_new(plan->chroot);
        if (!s || !id)
                return log_oom();
        r = session_info_plan(plan, id, &s->info);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid session name '%s'", id);
        s->owned = true;
        s->profile = plan->profile;
        s->apparmor_template = plan->apparmor_template;
        s->state_dir = plan->state_dir;
        s->hook_dirs = plan->hook_dirs;
        s->hook_timeout = plan->hook_timeout;
        s->no_hooks = plan->no_hooks;
        s->private_mounts = plan->private_mounts;
        s->idle_timeout = plan->idle_timeout;

        r = session_publish_dir(s, plan->state_dir);
        if (r == -EEXIST)
                return log_error_errno(r, "Session '%s' already exists", id);
        if (r < 0)
                return log_error_errno(r, "Failed to create session directory for '%s': %m", plan->chroot);
        /* The container's monitor is a forked child: a lock still open then would stay held for the
         * session's whole life. */
        if (plan->record_lock)
                *plan->record_lock = safe_close(*plan->record_lock);
        debug_pause_point("after-record");

        if (plan->xauthority) {
                r = session_write_xauthority(&s->info, plan);
                if (r < 0)
                        return log_error_errno(r, "Failed to keep the X authority of session '%s': %m", id);
        }
        if (plan->runtime) {
                r = runtime_dir_create(s->info.dir, plan->user, plan->uid, plan->gid, plan->runtime, plan->detached);
                if (r < 0)
                        return r;
        }
        r = session_setup(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Whether the init the record names still runs (same pid, same start time). */
static bool session_init_alive(const SessionInfo *i) {
        unsigned long long start;

        return i->init_pid > 0 && i->init_start > 0 && pid_start_time(i->init_pid, &start) >= 0 &&
               start == i->init_start;
}

/* Opens the session's container through liblxc. Logs. */
static int session_open_container(Session *s) {
        int r;

        if (s->container)
                return 0;
        r = container_open(s->info.container, s->info.lxcpath, &s->container);
        if (r == -ENOENT)
                return log_error_errno(-ESRCH, "Session '%s' is not running (its container is gone): use --recover-session or --end-session",
                                       s->info.id);
        if (r < 0)
                return log_error_errno(r, "Failed to open the container of session '%s': %m", s->info.id);
        return 0;
}

int session_open(const char *state_dir, const char *id, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        SessionInfo *i = NULL;
        int r;

        r = session_info_load(state_dir, id, &i);
        if (r == -ENOENT || r == -EINVAL)
                return log_error_errno(-ENOENT, "No session '%s' (see 'arkose-chroot sessions')", id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the record of session '%s': %m", id);
        s = session_new();
        if (!s) {
                session_info_free(i);
                return log_oom();
        }
        s->info = *i;
        free(i);

        if (s->info.phase != SESSION_PHASE_READY)
                return log_error_errno(-EAGAIN, "Session '%s' is %s", id, session_phase_to_string(s->info.phase));
        /* A command socket, and the init the record names still alive: no need for liblxc (until a
         * command needs attach). */
        if ((s->info.kind == SESSION_KIND_DETACHED || s->info.kind == SESSION_KIND_SPARE) &&
            session_init_alive(&s->info)) {
                s->run_dir = runsock_dir(s->info.dir);
                if (!s->run_dir)
                        return log_oom();
                if (runsock_present(s->run_dir)) {
                        *ret = TAKE_PTR(s);
                        return 0;
                }
                s->run_dir = mfree(s->run_dir);
        }
        r = session_open_container(s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int session_open_spare(const char *state_dir, const char *id, Session **ret) {
        _cleanup_(session_leavep) Session *s = NULL;
        SessionInfo *i = NULL;
        int r;

        r = session_info_load(state_dir, id, &i);
        if (r < 0)
                return r == -ENOMEM ? r : -ENOENT;
        s = session_new();
        if (!s) {
                session_info_free(i);
                return -ENOMEM;
        }
        s->info = *i;
        free(i);
        if (s->info.kind != SESSION_KIND_SPARE || s->info.phase != SESSION_PHASE_READY ||
            !session_init_alive(&s->info))
                return -ENOENT;
        s->run_dir = runsock_dir(s->info.dir);
        if (!s->run_dir)
                return -ENOMEM;
        if (!runsock_present(s->run_dir))
                return -ENOENT;
        *ret = TAKE_PTR(s);
        return 0;
}

bool session_exited(Session *s) {
        return s && s->container && container_exited(s->container);
}

int session_set_scheduler(Session *s, int policy) {
        return s && s->container ? container_set_scheduler(s->container, policy) : -ESRCH;
}

/* Whether session @i is being ended, or is gone: its record says "ending", or is no more. */
static bool session_is_ending(const SessionInfo *i) {
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *path = path_join(i->dir, "session.json");
        const char *phase;
        int r;

        if (!path)
                return false;
        r = state_read(path, &kv);
        if (r == -ENOENT)
                return true;
        if (r < 0)
                return false;
        phase = state_get(kv, "phase");
        return phase && streq(phase, session_phase_to_string(SESSION_PHASE_ENDING));
}

/* Whether the init of session @i is gone or going: the kernel kills what runs in the container while its
 * init exits, so a command can be reaped before init is; a quarter of a second tells. */
static bool session_init_dying(const SessionInfo *i) {
        for (unsigned k = 0; k < 50; k++) {
                _cleanup_free_ char *path = strdup_printf("/proc/%d/stat", (int) i->init_pid), *text = NULL;
                const char *p;

                if (!session_init_alive(i))
                        return true;
                if (path && read_file(path, &text) >= 0 && (p = strrchr(text, ')')) && (p[2] == 'Z' || p[2] == 'X'))
                        return true;
                (void) usleep(5000);
        }
        return false;
}

/* The one line for a command of session @i that its container took with it. Returns -ECONNRESET. */
static int session_lost_error(const SessionInfo *i, const char *what) {
        if (session_is_ending(i))
                return log_error_errno(-ECONNRESET, "Session '%s' was ended while '%s' ran", i->id, what);
        return log_error_errno(-ECONNRESET, "Session '%s' stopped while '%s' ran: its container is gone (--recover-session brings it back)",
                               i->id, what);
}

int session_run(Session *s, const AttachPlan *attach, SessionChildNotify notify, int *ret_status) {
        pid_t pid;
        int status, r;

        if (container_runs_in_caller(s->container, attach)) {
                /* This process is the container's monitor: signals for the command go to itself. */
                if (notify)
                        notify(getpid(), CONTAINER_SIGNAL_HANGUP);
                r = container_run(s->container, attach, ret_status);
                if (notify)
                        notify(0, SIGHUP);
                return r;
        }

        r = session_open_container(s);
        if (r < 0)
                return r;
        r = container_attach(s->container, attach, &pid);
        if (r < 0)
                return r;
        if (notify)
                notify(container_signal_target(s->container, pid), SIGHUP);
        if (attach->terminal)
                (void) container_proxy_terminal(s->container, pid);
        r = pid_wait(pid, &status);
        if (r < 0)
                return log_error_errno(r, "Failed to wait for the command: %m");
        if (notify)
                notify(0, SIGHUP);
        *ret_status = wait_status_code(status);
        /* Killed with its container (the session was ended, or died): say so, as a socket command does. (With
         * a terminal, what is waited for is liblxc's helper, which exits with 128+9 for it.) */
        if (*ret_status == 128 + SIGKILL && s->info.kind == SESSION_KIND_DETACHED && session_init_dying(&s->info))
                return session_lost_error(&s->info, attach->argv ? attach->argv[0] : attach->shell ?: "the login shell");
        return 0;
}

/* Appends @entry to @env unless a variable starting with @prefix ("NAME=") is there. */
static int session_env_default(char ***env, const char *prefix, const char *entry) {
        for (char **e = *env; e && *e; e++)
                if (startswith(*e, prefix))
                        return 0;
        return strv_extend(env, entry);
}

bool session_has_socket(Session *s) {
        return s->run_dir != NULL;
}

int session_run_socket(Session *s, const AttachPlan *attach, const sigset_t *forward, int pending, int *ret_status) {
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *fresh = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool shared = s->info.kind == SESSION_KIND_SPARE && s->info.shared;
        mode_t caller_umask;
        uint32_t stage;
        int r;

        if (!s->run_dir || attach->terminal || attach->isolate_network || strv_length(attach->argv) == 0)
                return -EOPNOTSUPP;
        /* What liblxc's attach adds to a cleared environment, so that both paths give the same one:
         * container=lxc, and a PATH when there is none (sbuild's commands come with an empty
         * environment). */
        if (strv_extend_strv(&env, attach->env) < 0)
                return log_oom();
        r = session_env_default(&env, "container=", "container=lxc");
        if (r >= 0)
                r = session_env_default(&env, "PATH=", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        if (r < 0)
                return log_oom();
        /* The caller's umask, as an attached command inherits it (init's is the one the session began with). */
        caller_umask = umask(0);
        (void) umask(caller_umask);
        fd = runsock_connect(s->run_dir, s->info.init_pid);
        if (fd < 0) {
                log_debug("Cannot connect to the command socket of session '%s' (%s), attaching", s->info.id,
                          strerror(-fd));
                return -EOPNOTSUPP;
        }
        /* A shared spare's sub-session: its directory is ours to make, init's to remove once it is over. */
        if (shared) {
                _cleanup_free_ char *dir = session_fresh_dir(&s->info);

                fresh = dir ? strdup_printf("%s/c-XXXXXX", dir) : NULL;
                if (!fresh)
                        return log_oom();
                if (!mkdtemp(fresh)) {
                        log_debug("Cannot make a sub-session directory in session '%s': %m", s->info.id);
                        fresh = mfree(fresh);
                        return -EOPNOTSUPP;
                }
        }
        RunsockPlan p = {
                .argv = attach->argv,
                .env = env,
                .cwd = attach->cwd ?: "/",
                .uid = attach->uid,
                .gid = attach->gid,
                .groups = attach->groups,
                .n_groups = attach->n_groups,
                .no_new_privs = attach->no_new_privs,
                .autopkgtest = attach->autopkgtest,
                .umask = caller_umask,
                .fds = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO },
                .fresh = fresh ? strrchr(fresh, '/') + 1 : NULL,
        };
        if (fresh) {
                errno = 0;
                p.nice = getpriority(PRIO_PROCESS, 0);
                if (errno != 0)
                        p.nice = 0;
        }
        r = runsock_start(fd, &p);
        if (r >= 0)
                r = runsock_wait(fd, shared, forward, pending, ret_status, &stage);
        else
                stage = RUNSOCK_STAGE_NOT_STARTED;
        /* Init removes a sub-session's directory once the sub-session existed; one it refused before (not
         * started, a bad request, a failed fork) is still empty here, and ours. */
        if (fresh)
                (void) rmdir(fresh);
        if (r < 0 && stage == RUNSOCK_STAGE_NOT_STARTED) {
                /* Nothing ran (init retiring, or full). */
                log_debug_errno(r, "The command socket of session '%s' ran nothing: %m", s->info.id);
                return -EOPNOTSUPP;
        }
        if (r < 0 && stage == RUNSOCK_STAGE_FRESH) {
                log_debug_errno(r, "Session '%s' could not make a sub-session: %m", s->info.id);
                return -ENOTRECOVERABLE; /* nothing ran */
        }
        if (r < 0 && stage == 0) {
                /* Init went away, the container with it, and the command, which had started: attaching
                 * now would run it a second time. Say why it stopped. */
                log_debug("Lost the connection to session '%s' (%s)", s->info.id, strerror(-r));
                if (s->info.kind == SESSION_KIND_SPARE)
                        return log_error_errno(-ECONNRESET, "Lost the init of session '%s' while '%s' ran",
                                               s->info.id, p.argv[0]);
                return session_lost_error(&s->info, p.argv[0]);
        }
        if (r < 0 && stage == RUNSOCK_STAGE_CWD)
                return log_error_errno(r, "Directory '%s' does not exist in session '%s'", p.cwd, s->info.id);
        if (r < 0 && stage == RUNSOCK_STAGE_CREDENTIALS)
                return log_error_errno(r, "Failed to take the credentials of uid %u in session '%s': %m",
                                       (unsigned) p.uid, s->info.id);
        if (r < 0)
                return log_error_errno(r, "Failed to run '%s' in session '%s': %m", p.argv[0], s->info.id);
        return 0;
}

/* Opens @path as the session's commands see it: below its init's root, with the container's own mounts
 * (binds), symlinks resolved inside that root. Returns the fd or -errno. */
static int session_open_inside(Session *s, const char *path, uint64_t flags) {
        _cleanup_free_ char *proc_root = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        pid_t init = s->container ? container_init_pid(s->container) : s->info.init_pid;

        if (init <= 0)
                return -ESRCH;
        if (!path_is_absolute(path))
                return -EINVAL;
        proc_root = strdup_printf("/proc/%d/root", (int) init);
        if (!proc_root)
                return -ENOMEM;
        root_fd = open(proc_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return -errno;
        return RET_NERRNO((int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how)));
}

bool session_has_directory(Session *s, const char *dir) {
        _cleanup_close_ int fd = session_open_inside(s, dir, O_PATH | O_DIRECTORY);

        return fd >= 0;
}

/* Whether the session's /etc/passwd has a line for @name. */
static bool session_knows_user(Session *s, const char *name) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0, len = strlen(name);
        int fd;

        fd = session_open_inside(s, "/etc/passwd", O_RDONLY);
        if (fd < 0)
                return false;
        f = fdopen(fd, "r");
        if (!f) {
                (void) close(fd);
                return false;
        }
        while (getline(&line, &n, f) > 0)
                if (strneq(line, name, len) && line[len] == ':')
                        return true;
        return false;
}

/* Binds each "HOST:TARGET:ro|rw" of @specs into running session @s, and records it among the profile
 * binds. The session's lock is held. Logs. */
static int session_bind_user_dirs(Session *s, char *const *specs) {
        _cleanup_(session_info_freep) SessionInfo *now = NULL;
        _cleanup_strv_free_ char **added = NULL;
        _cleanup_free_ char *state_dir = NULL;
        int r;

        for (char *const *b = specs; b && *b; b++) {
                _cleanup_strv_free_ char **f = strv_split(*b, ":");

                if (!f)
                        return log_oom();
                if (strv_length(f) != 3 || !path_is_absolute(f[0]) || !path_is_absolute(f[1]))
                        return log_error_errno(-EINVAL, "Invalid bind '%s'", *b);
                r = mount_bind_into(s->info.init_pid, f[0], f[1], streq(f[2], "ro") ? MOUNT_INTO_READ_ONLY : 0);
                if (r == -ENOENT) {
                        log_notice("'%s' is missing, not bound into session '%s', ignoring.", f[0], s->info.id);
                        continue;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to bind '%s' into session '%s': %m", f[0], s->info.id);
                if (strv_extend(&added, *b) < 0)
                        return log_oom();
        }
        if (!added)
                return 0;
        /* The record as it is now (another user's command may have added binds meanwhile, under the lock). */
        state_dir = strdup(s->info.dir); /* STATE/sessions/ID */
        if (!state_dir)
                return log_oom();
        for (int k = 0; k < 2; k++) {
                char *slash = strrchr(state_dir, '/');

                if (!slash || slash == state_dir)
                        return log_error_errno(-EINVAL, "Unexpected session directory '%s'", s->info.dir);
                *slash = '\0';
        }
        r = session_info_load(state_dir, s->info.id, &now);
        if (r < 0)
                return log_error_errno(r, "Failed to read the record of session '%s': %m", s->info.id);
        if (strv_extend_strv(&now->profile_binds, added) < 0)
                return log_oom();
        r = session_record_save(now);
        if (r < 0)
                return log_error_errno(r, "Failed to write the record of session '%s': %m", s->info.id);
        return 0;
}

int session_ensure_user(Session *s, const SessionUser *u, char *const *hook_dirs, unsigned hook_timeout) {
        _cleanup_strv_free_ char **binds = NULL;
        _cleanup_free_ char *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        HookEnv env;
        int r;

        if (u->uid == 0 || s->info.kind != SESSION_KIND_DETACHED || session_knows_user(s, u->name))
                return 0;
        lock = path_join(s->info.dir, "lock");
        if (!lock)
                return log_oom();
        fd = session_lock_take_path(lock, true);
        if (fd < 0)
                return log_error_errno(fd, "Failed to lock session '%s': %m", s->info.id);
        if (session_knows_user(s, u->name))
                return 0; /* another command added it meanwhile */

        s->hook_dirs = hook_dirs;
        s->hook_timeout = hook_timeout;
        if (!s->hooks) {
                r = hooks_list(hook_dirs, &s->hooks);
                if (r < 0)
                        return log_error_errno(r, "Failed to list session hooks: %m");
        }
        session_hook_env(s, "setup-user", &env);
        env.user = u->name;
        env.uid = u->uid;
        env.gid = u->gid;
        env.home = u->home;
        env.shell = u->shell;
        env.groups = u->groups ?: "";
        /* Before the hooks make the home directory: one the session has already (a system user's, such
         * as /usr/sbin, or one the tree ships) is the chroot's own, never covered. */
        for (char **b = u->binds; b && *b; b++) {
                _cleanup_free_ char *target = NULL;
                const char *colon = strchr(*b, ':');

                target = colon ? strndup(colon + 1, strcspn(colon + 1, ":")) : NULL;
                if (!target)
                        return log_oom();
                if (session_has_directory(s, target))
                        log_info("Not binding '%s' into session '%s': it has its own", target, s->info.id);
                else if (strv_extend(&binds, *b) < 0)
                        return log_oom();
        }
        r = hooks_run(s->hooks, &env, hook_timeout, true); /* logs which hook failed */
        if (r < 0)
                return r;
        return session_bind_user_dirs(s, binds);
}

int session_end(Session *s) {
        int r = 0, q;

        if (!s || !s->published)
                return 0;

        if (s->container) {
                q = container_stop(s->container);
                if (q < 0)
                        r = log_error_errno(q, "Failed to stop container '%s' (see %s)", s->info.id,
                                            s->info.log_file);
                s->container = container_free(s->container);
        }
        if (s->hooks_started) {
                q = session_run_hooks(s, "setup-stop", false);
                if (q < 0 && r == 0)
                        r = q;
                s->hooks_started = false;
        }
        q = session_remove_dir(&s->info);
        if (q < 0 && r == 0)
                r = log_error_errno(q, "Failed to remove session '%s' (left for 'arkose-chroot recover'): %m",
                                    s->info.id);
        s->published = false;
        return r;
}

Session *session_leave(Session *s) {
        if (!s)
                return NULL;
        s->lock_fd = safe_close(s->lock_fd);
        s->container = container_free(s->container);
        free(s->run_dir);
        strv_free(s->hooks);
        session_profile_setup_done(&s->prof);
        session_info_done(&s->info);
        free(s);
        return NULL;
}

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        if (s->owned)
                (void) session_end(s);
        return session_leave(s);
}
