/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
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
#include "hooks.h"
#include "lock.h"
#include "mount.h"
#include "session.h"
#include "session-profile.h"
#include "state.h"

struct Session {
        SessionPlan plan;       /* borrowed strings: the plan outlives the session */
        char *id;
        char *dir;
        char *root;
        char *lxcpath;
        char *lxcdir;
        char *log_file;
        char **hooks;
        int lock_fd;
        bool mounted;
        bool hooks_started;
        Container *container;
        SessionProfileSetup prof;
};

char *session_id_new(const char *chroot) {
        uint32_t rnd = 0;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                rnd = (uint32_t) getpid() ^ (uint32_t) time(NULL);
        return strdup_printf("%s-%08x", chroot, rnd);
}

const char *session_id(Session *s) {
        return s->id;
}

static void session_hook_env(Session *s, const char *phase, HookEnv *ret) {
        const SessionPlan *p = &s->plan;

        *ret = (HookEnv) {
                .phase = phase,
                .chroot = p->chroot,
                .version = p->version,
                .rootfs = s->root,
                .session_id = s->id,
                .user = p->user,
                .uid = p->uid,
                .gid = p->gid,
                .home = p->home,
                .shell = p->shell,
                .groups = p->groups ?: "",
                .hostname = p->chroot,
                .network = container_network_to_string(p->network),
                .cwd = p->cwd,
        };
}

static int session_write_record(Session *s) {
        _cleanup_free_ char *path = path_join(s->dir, "session.json");
        char pid[32], uid[32], created[64];
        time_t now = time(NULL);

        if (!path)
                return -ENOMEM;
        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        snprintf(uid, sizeof(uid), "%u", (unsigned) s->plan.uid);
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        char *kv[] = {
                (char *) "id", s->id,
                (char *) "chroot", (char *) s->plan.chroot,
                (char *) "version", (char *) s->plan.version,
                (char *) "user", (char *) s->plan.user,
                (char *) "uid", uid,
                (char *) "owner_pid", pid,
                (char *) "created", created,
                (char *) "kind", (char *) "oneshot",
                NULL,
        };
        return state_write(path, kv);
}

/* Makes the session directory, taking its lock before anything else can see it as stale. */
static int session_make_dir(Session *s) {
        _cleanup_free_ char *sessions = path_join(s->plan.state_dir, "sessions");
        _cleanup_free_ char *lock = NULL;
        int r;

        if (!sessions)
                return -ENOMEM;
        r = mkdir_p(sessions, 0755);
        if (r < 0)
                return r;
        s->dir = path_join(sessions, s->id);
        s->root = path_join(s->dir, "root");
        s->log_file = path_join(s->dir, "lxc.log");
        s->lxcpath = path_join(s->plan.state_dir, "lxc");
        if (!s->dir || !s->root || !s->log_file || !s->lxcpath)
                return -ENOMEM;
        s->lxcdir = path_join(s->lxcpath, s->id);
        if (!s->lxcdir)
                return -ENOMEM;
        if (mkdir(s->dir, 0755) < 0)
                return -errno;
        lock = path_join(s->dir, "lock");
        if (!lock)
                return -ENOMEM;
        r = lock_file(lock, LOCK_MODE_EXCLUSIVE, false);
        if (r < 0)
                return r;
        s->lock_fd = r;

        r = session_write_record(s);
        if (r < 0)
                return r;
        if (mkdir(s->root, 0755) < 0)
                return -errno;
        r = mkdir_p(s->lxcdir, 0755);
        if (r < 0)
                return r;
        return 0;
}

static int session_mount(Session *s) {
        _cleanup_free_ char *base = NULL, *upper = NULL, *work = NULL;
        int r;

        if (s->plan.upper) {
                OverlayPlan op = {
                        .lowers = s->plan.lowers,
                        .upper = s->plan.upper,
                        .work = s->plan.work,
                        .target = s->root,
                };
                r = mount_overlay(&op);
                if (r < 0)
                        return log_error_errno(r, "Failed to mount overlay of '%s' on '%s': %m",
                                               s->plan.lowers[0], s->root);
                s->mounted = true;
                return 0;
        }
        if (s->plan.tmpfs) {
                base = path_join(s->dir, "tmp");
                if (!base)
                        return -ENOMEM;
                if (mkdir(base, 0700) < 0)
                        return -errno;
                r = mount_tmpfs(base, "mode=0700");
                if (r < 0)
                        return log_error_errno(r, "Failed to mount tmpfs on '%s': %m", base);
        } else
                base = strdup(s->dir);
        if (!base)
                return -ENOMEM;

        upper = path_join(base, "upper");
        work = path_join(base, "work");
        if (!upper || !work)
                return -ENOMEM;
        if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0)
                return -errno;

        OverlayPlan op = {
                .lowers = s->plan.lowers,
                .upper = upper,
                .work = work,
                .target = s->root,
                .volatile_upper = true,
        };
        r = mount_overlay(&op);
        if (r < 0)
                return log_error_errno(r, "Failed to mount overlay of '%s' on '%s': %m", s->plan.lowers[0],
                                       s->root);
        s->mounted = true;
        return 0;
}

int session_create(const SessionPlan *plan, Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        HookEnv env;
        int r;

        if (!plan || strv_length(plan->lowers) == 0)
                return -EINVAL;
        s = calloc(1, sizeof(Session));
        if (!s)
                return log_oom();
        s->plan = *plan;
        s->lock_fd = -EBADF;
        s->id = session_id_new(plan->chroot);
        if (!s->id)
                return log_oom();

        r = session_make_dir(s);
        if (r < 0)
                return log_error_errno(r, "Failed to create session directory for '%s': %m", plan->chroot);
        /* The container's monitor is a forked child: a lock still open then would stay held for the
         * session's whole life. */
        if (plan->record_lock)
                *plan->record_lock = safe_close(*plan->record_lock);

        r = session_mount(s);
        if (r < 0)
                return r;

        r = hooks_list(plan->no_hooks ? NULL : plan->hook_dirs, &s->hooks);
        if (r < 0)
                return log_error_errno(r, "Failed to list session hooks: %m");
        session_hook_env(s, "setup-start", &env);
        s->hooks_started = true;
        r = hooks_run(s->hooks, &env, plan->hook_timeout, true);
        if (r < 0)
                return r; /* hooks_run() logged which hook failed */

        if (plan->profile) {
                SessionProfileInput in = {
                        .profile = plan->profile,
                        .state_dir = plan->state_dir,
                        .session_dir = s->dir,
                        .session_id = s->id,
                        .home = plan->home,
                        .apparmor_template = plan->apparmor_template,
                };
                r = session_profile_prepare(&in, &s->prof);
                if (r < 0)
                        return r;
        }

        ContainerPlan cp = {
                .name = s->id,
                .lxcpath = s->lxcpath,
                .rootfs = s->root,
                .hostname = plan->chroot,
                .log_file = s->log_file,
                .network = plan->network,
                .binds = plan->binds,
                .net_items = s->prof.net_items,
                .extra_items = s->prof.extra_items,
                .keep_cgroups = s->prof.keep_cgroups,
        };
        r = container_start(&cp, true, &s->container);
        if (r < 0)
                return r;
        r = session_profile_started(&s->prof);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int session_run(Session *s, const AttachPlan *attach, SessionChildNotify notify, int *ret_status) {
        pid_t pid;
        int status, r;

        r = container_attach(s->container, attach, &pid);
        if (r < 0)
                return r;
        if (notify)
                notify(pid);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "Failed to wait for the command: %m");
        if (notify)
                notify(0);
        *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 0;
}

int session_end(Session *s) {
        int r = 0, q;

        if (!s)
                return 0;

        if (s->container) {
                q = container_stop(s->container);
                if (q < 0 && r == 0)
                        r = log_error_errno(q, "Failed to stop container '%s' (see %s)", s->id, s->log_file);
                s->container = container_free(s->container);
        }
        if (s->hooks_started) {
                HookEnv env;

                session_hook_env(s, "setup-stop", &env);
                q = hooks_run(s->hooks, &env, s->plan.hook_timeout, false);
                if (q < 0 && r == 0)
                        r = q;
                s->hooks_started = false;
        }
        if (s->dir) {
                session_profile_teardown(s->dir);
                q = mount_umount_below(s->dir, NULL);
                if (q < 0 && r == 0)
                        r = log_error_errno(q, "Failed to unmount session '%s': %m", s->id);
                /* Never remove what might still be mounted: rm_rf() does not cross mount points, and
                 * on failure the directory stays for 'arkose-chroot recover'. */
                if (q >= 0) {
                        q = rm_rf(s->dir);
                        if (q < 0 && r == 0)
                                r = log_error_errno(q, "Failed to remove session directory '%s': %m", s->dir);
                }
                free(s->dir);
                s->dir = NULL;
        }
        if (s->lxcdir)
                (void) rm_rf(s->lxcdir);
        return r;
}

Session *session_free(Session *s) {
        if (!s)
                return NULL;
        (void) session_end(s);
        s->lock_fd = safe_close(s->lock_fd);
        strv_free(s->hooks);
        session_profile_setup_done(&s->prof);
        free(s->id);
        free(s->dir);
        free(s->root);
        free(s->lxcpath);
        free(s->lxcdir);
        free(s->log_file);
        free(s);
        return NULL;
}

static int session_sweep_one(const char *state_dir, const char *sessions, const char *name) {
        _cleanup_free_ char *dir = path_join(sessions, name);
        _cleanup_free_ char *lock = NULL, *lxcdir = NULL, *lxcpath = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!dir)
                return -ENOMEM;
        lock = path_join(dir, "lock");
        lxcpath = path_join(state_dir, "lxc");
        lxcdir = path_join(state_dir, "lxc", name);
        if (!lock || !lxcdir || !lxcpath)
                return -ENOMEM;
        if (access(lock, F_OK) < 0) {
                struct stat st;

                /* A directory without a lock is either being made right now or a leftover of a run killed
                 * in that instant: give it a minute. */
                if (stat(dir, &st) < 0 || time(NULL) - st.st_mtime < 60)
                        return 0;
        } else {
                fd = lock_file(lock, LOCK_MODE_EXCLUSIVE, false);
                if (fd == -EBUSY)
                        return 0; /* alive */
                if (fd < 0)
                        return fd;
        }

        log_debug("Removing stale session %s", name);
        if (lxcpath) {
                _cleanup_(container_freep) Container *c = NULL;

                if (container_open(name, lxcpath, &c) >= 0)
                        (void) container_stop(c);
        }
        session_profile_teardown(dir);
        r = mount_umount_below(dir, NULL);
        if (r < 0)
                return r;
        r = rm_rf(dir);
        if (r < 0)
                return r;
        (void) rm_rf(lxcdir);
        return 1;
}

int session_sweep_stale(const char *state_dir) {
        _cleanup_free_ char *sessions = path_join(state_dir, "sessions");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int n = 0;

        if (!sessions)
                return -ENOMEM;
        d = opendir(sessions);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                int r;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = session_sweep_one(state_dir, sessions, de->d_name);
                if (r < 0)
                        log_warning_errno(r, "Failed to clean up stale session '%s': %m, ignoring.", de->d_name);
                else
                        n += r;
        }
        return n;
}

int session_versions_in_use(const char *state_dir, const char *chroot, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ char *sessions = path_join(state_dir, "sessions");
        _cleanup_free_ unsigned *l = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;

        if (!sessions)
                return -ENOMEM;
        d = opendir(sessions);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *lock = NULL, *record = NULL;
                _cleanup_strv_free_ char **kv = NULL;
                const char *c, *v;
                unsigned long version;
                unsigned *nl;
                char *end;

                if (de->d_name[0] == '.')
                        continue;
                lock = path_join(sessions, de->d_name, "lock");
                record = path_join(sessions, de->d_name, "session.json");
                if (!lock || !record)
                        return -ENOMEM;
                /* A session being made has its lock before its record; one whose owner died is stale. */
                if (!lock_is_held(lock, LOCK_MODE_EXCLUSIVE) || state_read(record, &kv) < 0)
                        continue;
                c = state_get(kv, "chroot");
                v = state_get(kv, "version");
                if (!c || !v || !streq(c, chroot))
                        continue;
                version = strtoul(v, &end, 10);
                if (*end != '\0' || version == 0)
                        continue;
                nl = realloc(l, (n + 1) * sizeof(unsigned));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = (unsigned) version;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}
