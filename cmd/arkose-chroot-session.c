/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot -c NAME [--] CMD: a one-shot, throw-away session. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "apparmor.h"
#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "hooks.h"
#include "local-groups.h"
#include "lock.h"
#include "mount.h"
#include "runsock.h"
#include "schroot-conf.h"
#include "session.h"
#include "spare.h"
#include "store.h"
#include "xauth.h"

extern char **environ;

void user_info_done(UserInfo *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        free(u->groups);
        free(u->groups_str);
}

/* The environment of root's commands that prepare a tree (update, a build's dependencies). */
char *root_env[] = {
        (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        (char *) "HOME=/root",
        (char *) "USER=root",
        (char *) "LOGNAME=root",
        (char *) "SHELL=/bin/sh",
        (char *) "LANG=C.UTF-8",
        (char *) "DEBIAN_FRONTEND=noninteractive",
        NULL,
};

int user_resolve_passwd(UserInfo *ret) {
        const char *name = arg_user;
        struct passwd *pw;

        if (!name && caller_uid() == 0) {
                const char *sudo_user = secure_getenv("SUDO_USER");
                if (!isempty(sudo_user))
                        name = sudo_user;
        }
        errno = 0;
        pw = name ? getpwnam(name) : getpwuid(caller_uid());
        if (!pw)
                return log_error_errno(errno > 0 ? -errno : -ESRCH, "Unknown user '%s'", name ?: "(caller)");

        ret->name = strdup(pw->pw_name);
        ret->uid = pw->pw_uid;
        ret->gid = pw->pw_gid;
        ret->home = strdup(isempty(pw->pw_dir) ? "/" : pw->pw_dir);
        ret->shell = strdup(isempty(pw->pw_shell) ? "/bin/sh" : pw->pw_shell);
        if (!ret->name || !ret->home || !ret->shell)
                return log_oom();
        return 0;
}

/* The groups of a user of /etc/passwd, from /etc/group, when NSS would give no others (local-groups.h): no
 * group source but files and systemd, and no systemd userdb records (which could add memberships). Returns
 * 1 when done, 0 when NSS must be asked, or -errno. */
static int user_resolve_groups_local(UserInfo *u) {
        static const char *const userdb_dirs[] = {
                "/etc/userdb", "/run/userdb", "/run/host/userdb", "/usr/local/lib/userdb", "/usr/lib/userdb",
        };
        _cleanup_free_ char *nss = NULL, *passwd = NULL, *group = NULL;
        _cleanup_free_ gid_t *l = NULL;
        size_t n;

        if (read_file("/etc/nsswitch.conf", &nss) < 0 || !nss_groups_files_only(nss))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(userdb_dirs); i++)
                if (access(userdb_dirs[i], F_OK) >= 0)
                        return 0;
        if (read_file("/etc/passwd", &passwd) < 0 || !passwd_text_has_user(passwd, u->name) ||
            read_file("/etc/group", &group) < 0)
                return 0;
        if (group_text_list(group, u->name, u->gid, &l, &n) < 0 || n > INT_MAX)
                return -ENOMEM;
        free(u->groups);
        u->groups = TAKE_PTR(l);
        u->n_groups = (int) n;
        return 1;
}

int user_resolve_groups(UserInfo *ret) {
        int n = 16, r;

        r = user_resolve_groups_local(ret);
        if (r < 0)
                return log_oom();
        while (r == 0) {
                gid_t *g = realloc(ret->groups, sizeof(gid_t) * n);
                int k = n;

                if (!g)
                        return log_oom();
                ret->groups = g;
                if (getgrouplist(ret->name, ret->gid, ret->groups, &k) >= 0) {
                        ret->n_groups = k;
                        break;
                }
                n = k > n ? k : n * 2;
        }

        ret->groups_str = strdup("");
        for (int i = 0; ret->groups_str && i < ret->n_groups; i++) {
                struct group *gr = getgrgid(ret->groups[i]);
                char *s;

                if (!gr)
                        continue;
                s = strdup_printf("%s%s%s:%u", ret->groups_str, *ret->groups_str ? " " : "", gr->gr_name,
                                  (unsigned) gr->gr_gid);
                free(ret->groups_str);
                ret->groups_str = s;
        }
        if (!ret->groups_str)
                return log_oom();
        return 0;
}

int user_resolve(UserInfo *ret) {
        int r = user_resolve_passwd(ret);

        return r < 0 ? r : user_resolve_groups(ret);
}

int build_env(const UserInfo *u, const Profile *profile, const char *chroot, const char *version,
              const char *session, bool terminal, char ***ret) {
        static const char *const keep[] = {
                "TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "DEB_BUILD_OPTIONS", "DEB_BUILD_PROFILES",
                "DEBEMAIL", "DEBFULLNAME", "SOURCE_DATE_EPOCH",
        };
        _cleanup_strv_free_ char **env = NULL;
        int r;

        if (arg_preserve_env) {
                for (char **e = environ; *e; e++)
                        if (!startswith(*e, "ARKOSE_") && strv_extend(&env, *e) < 0)
                                return -ENOMEM;
        } else {
                r = strv_extendf(&env, "PATH=%s",
                                 u->uid == 0 ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                             : "/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games");
                if (r < 0 || strv_extendf(&env, "HOME=%s", u->home) < 0 ||
                    strv_extendf(&env, "USER=%s", u->name) < 0 || strv_extendf(&env, "LOGNAME=%s", u->name) < 0 ||
                    strv_extendf(&env, "SHELL=%s", u->shell) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                        const char *v = getenv(keep[i]);
                        if (v && strv_extendf(&env, "%s=%s", keep[i], v) < 0)
                                return -ENOMEM;
                }
                for (char **e = environ; *e; e++)
                        if (startswith(*e, "LC_") && strv_extend(&env, *e) < 0)
                                return -ENOMEM;
                if (terminal && !getenv("TERM") && strv_extend(&env, "TERM=xterm") < 0)
                        return -ENOMEM;
                for (char **e = environ; profile && *e; e++) {
                        _cleanup_free_ char *name = strndup(*e, strcspn(*e, "="));
                        if (!name)
                                return -ENOMEM;
                        if (profile_environment_keeps(profile, name) && !strv_contains(env, *e) &&
                            strv_extend(&env, *e) < 0)
                                return -ENOMEM;
                }
        }
        if (profile && strv_extend_strv(&env, profile->environment_set) < 0)
                return -ENOMEM;
        if (strv_extendf(&env, "ARKOSE_CHROOT=%s", chroot) < 0 ||
            strv_extendf(&env, "ARKOSE_CHROOT_VERSION=%s", version) < 0 ||
            strv_extendf(&env, "ARKOSE_SESSION_ID=%s", session) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

/* schroot's SCHROOT_* variables (schroot_env_append()) for @argv in session @info: the alias is the name
 * the caller chose a one-shot's chroot by (an alias such as "default", without an @VERSION), or the one a
 * session was begun by (its record's); the user is the caller, as for sudo's SUDO_USER. */
static int schroot_env(char ***env, const SessionInfo *info, char **argv, const char *shell) {
        _cleanup_free_ char *alias = NULL;
        struct passwd *pw = getpwuid(getuid());
        _cleanup_free_ char *user = pw ? strdup(pw->pw_name) : strdup_printf("%u", (unsigned) getuid());
        struct group *gr = getgrgid(getgid());
        _cleanup_free_ char *group = gr ? strdup(gr->gr_name) : strdup_printf("%u", (unsigned) getgid());

        if (arg_action == SESSION_ACTION_AUTOMATIC && arg_chroot) {
                const char *a = arg_chroot + (startswith(arg_chroot, "chroot:") ? strlen("chroot:") : 0);
                alias = strndup(a, strcspn(a, "@"));
        }
        if (!user || !group || (arg_action == SESSION_ACTION_AUTOMATIC && arg_chroot && !alias))
                return -ENOMEM;
        return schroot_env_append(env, &(SchrootEnv) {
                .chroot = info->chroot,
                .alias = alias ?: info->alias,
                .session_id = info->id,
                .argv = argv,
                .shell = shell,
                .user = user,
                .uid = getuid(),
                .group = group,
                .gid = getgid(),
        });
}

/* Sets the variable of @entry ("NAME=value") in @env, replacing any value it had. */
static int env_replace(char ***env, const char *entry) {
        size_t n = strcspn(entry, "=") + 1;

        for (char **e = *env; e && *e; e++)
                if (strneq(*e, entry, n)) {
                        char *v = strdup(entry);

                        if (!v)
                                return -ENOMEM;
                        free(*e);
                        *e = v;
                        return 0;
                }
        return strv_extend(env, entry);
}

/* Whether directory @path holds files of the tree made of @lowers (in any layer): entries other than
 * dotfiles, which a home directory such as /root holds and a bind of the caller's home has always hidden. */
static bool tree_has_files(char **lowers, const char *path) {
        for (char **l = lowers; l && *l; l++) {
                _cleanup_free_ char *p = path_join(*l, path);

                if (p && dir_has_files(p))
                        return true;
        }
        return false;
}

/* private_mount_namespace() for a process that makes a session of its own there and lives as long as it
 * (a one-shot command's, for as long as the command runs; a spare's owner, minutes): without its copies of
 * the other sessions' mounts, which would keep their overlays alive after they ended, and on which a
 * --recover-session would then mount a new overlay while the old one still used its upper directory
 * (dmesg: "upperdir is in-use"). One mountinfo read when there are none. */
int session_mount_namespace(Context *ctx) {
        _cleanup_free_ char *sessions = path_join(ctx->state_dir, "sessions");
        int r;

        if (!sessions)
                return log_oom();
        r = private_mount_namespace();
        if (r < 0)
                return r;
        r = mount_detach_others_below(sessions, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to leave other sessions' mounts out of this one's: %m");
        return 0;
}

/* Whether @path is a directory in one of the layers @lowers. */
static bool tree_has_directory(char **lowers, const char *path) {
        struct stat st;

        for (char **l = lowers; l && *l; l++) {
                _cleanup_free_ char *p = path_join(*l, path);

                if (p && stat(p, &st) >= 0 && S_ISDIR(st.st_mode))
                        return true;
        }
        return false;
}

/* The first of @state_dir and the layers @lowers (a directory chroot's own directory among them) that @dir is,
 * holds or is in, canonical, in *@ret. @dir is canonical (getcwd(), realpath()). Returns 1 for the state
 * directory, 2 for a layer, 0 for none (*@ret NULL), or -ENOMEM. */
static int cached_overlap(const char *dir, char **lowers, const char *state_dir, char **ret) {
        *ret = NULL;
        for (size_t i = 0; i == 0 || (lowers && lowers[i - 1]); i++) {
                const char *p = i == 0 ? state_dir : lowers[i - 1];
                char *canonical = realpath(p, NULL);

                if (!canonical && errno == ENOMEM)
                        return -ENOMEM;
                if (path_overlaps(dir, canonical ?: p)) {
                        *ret = canonical ?: strdup(p);
                        return !*ret ? -ENOMEM : i == 0 ? 1 : 2;
                }
                free(canonical);
        }
        return 0;
}

int plan_binds(char **cwd, char **lowers, const char *state_dir, char ***ret) {
        _cleanup_strv_free_ char **binds = NULL;
        _cleanup_free_ char *changelog = path_join(*cwd, "debian/changelog");
        _cleanup_free_ char *parent = strdup(*cwd), *cached = NULL;
        const char *dir = parent;
        char *slash;
        int r;

        if (!changelog || !parent)
                return -ENOMEM;
        binds = calloc(1, sizeof(char *));
        if (!binds)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash)
                *slash = '\0';
        if (access(changelog, F_OK) < 0 || isempty(parent))
                dir = *cwd;
        /* The host's /etc, /usr or /var/lib over the chroot's would make the session the host's, writable: a
         * directory the chroot has files in is its own, and the command starts there, as with schroot. */
        if (access(dir, F_OK) < 0) {
                /* Only in the chroot (-d DIR): nothing of the host's to bind. */
        } else if (streq(dir, "/")) {
                /* The chroot's root itself. */
        } else if (tree_has_files(lowers, dir))
                log_info("Not binding '%s' into the session: the chroot has its own", dir);
        else if ((r = cached_overlap(dir, lowers, state_dir, &cached)) < 0)
                return r;
        else if (r > 0) {
                /* Writable in the session, it would let the command change the cached trees (and
                 * reach other sessions' mounts): nothing a session does touches them. */
                bool own = tree_has_directory(lowers, *cwd);

                log_notice("Not binding '%s' into the session: it %s %s '%s'; the command starts in %s", dir,
                           streq(dir, cached) ? "is" : strlen(dir) > strlen(cached) ? "is in" : "holds",
                           r == 1 ? "arkose-chroot's state directory" : "the chroot's tree", cached,
                           own ? "the chroot's own" : "/");
                if (!own) {
                        char *root = strdup("/");

                        if (!root)
                                return -ENOMEM;
                        free(*cwd);
                        *cwd = root;
                }
        } else if (strv_extend(&binds, dir) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(binds);
        return 0;
}

/* Gives this process a mount namespace of its own, receiving the host's mounts but sending none back:
 * the session's overlay then vanishes with the process, whatever kills it. */
int private_mount_namespace(void) {
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(-errno, "Failed to create a mount namespace: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(-errno, "Failed to make mounts private: %m");
        return 0;
}

int session_cwd(char **lowers, char **ret) {
        char *cwd;

        if (arg_directory) {
                cwd = realpath(arg_directory, NULL);
                /* schroot's -d is a directory in the chroot: one only the chroot has is used there. */
                if (!cwd && errno == ENOENT && path_is_absolute(arg_directory) &&
                    tree_has_directory(lowers, arg_directory))
                        cwd = strdup(arg_directory);
                if (!cwd)
                        return log_error_errno(-errno, "Directory '%s' is not usable: %m", arg_directory);
        } else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return log_error_errno(-errno, "Failed to get the current directory: %m");
        }
        *ret = cwd;
        return 0;
}

/* The X cookies for a session whose profile keeps XAUTHORITY (desktop): the file $XAUTHORITY names, else
 * the user's ~/.Xauthority, as libXau finds it, read with the caller's own rights, its entries for this
 * host's name made to match any name (the session has a host name of its own). Without them every X
 * server started with authentication (a display manager, startx, ssh -X) refuses the session's programs.
 * Nothing when there is no such file; a notice when it cannot be used. */
static void session_setup_xauthority(SessionSetup *s) {
        _cleanup_free_ char *fallback = NULL, *data = NULL;
        const char *path = getenv("XAUTHORITY");
        size_t size = 0;
        int r;

        if (!s->profile || !profile_environment_keeps(s->profile, "XAUTHORITY"))
                return;
        if (isempty(path)) {
                fallback = path_join(s->user.home, ".Xauthority");
                if (!fallback)
                        return (void) log_oom();
                path = fallback;
        }
        r = access_read_file_as_caller(path, XAUTH_MAX_SIZE, &data, &size);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = xauth_make_wild(data, size, &s->xauthority, &s->xauthority_size);
        if (r < 0)
                log_notice("Cannot use the X authority file '%s' (%s): X servers that check it will refuse the session's programs, ignoring.",
                           path, r == -EBADMSG ? "not an X authority file" : strerror(-r));
}

/* @profile's [runtime] plan for @user, from the caller's environment: the sockets it names from the
 * user's runtime directory on the host (and the agent), and its session bus. Only the user's own, or
 * root's doing: else an empty plan and a notice. Logs. */
static int runtime_plan_for(const Profile *profile, const UserInfo *user, RuntimePlan *ret) {
        _cleanup_free_ char *host_dir = NULL;

        if (!caller_is_root() && caller_uid() != user->uid) {
                log_notice("The session's runtime directory gets none of %s's sockets: only they or root may pass them on.",
                           user->name);
                return 0;
        }
        /* $XDG_RUNTIME_DIR is the caller's: sudo drops it, and root's is not the user's. */
        host_dir = runtime_host_dir(getenv("XDG_RUNTIME_DIR"), user->uid);
        if (!host_dir)
                return log_oom();
        RuntimeCaller caller = {
                .host_dir = host_dir,
                .wayland_display = getenv("WAYLAND_DISPLAY"),
                .dbus_address = getenv("DBUS_SESSION_BUS_ADDRESS"),
                .ssh_auth_sock = getenv("SSH_AUTH_SOCK"),
        };
        if (runtime_plan_make(profile, user->name, user->uid, user->gid, &caller, ret) < 0)
                return log_oom();
        return 0;
}

/* The user's own runtime directory for a profile with [runtime] (desktop, dev). */
static int session_setup_runtime(SessionSetup *s) {
        if (!s->profile || !s->profile->runtime_dir)
                return 0;
        return runtime_plan_for(s->profile, &s->user, &s->runtime);
}

int session_join_runtime(Session *session, const Profile *profile, const UserInfo *user) {
        _cleanup_(runtime_plan_done) RuntimePlan plan = {};
        const SessionInfo *info = session_get_info(session);
        int r;

        /* The session's own user has the directory the session was made with; root's commands are an
         * administrator's, as for the binds of homes. */
        if (!profile || !profile->runtime_dir || user->uid == 0 || user->uid == info->uid)
                return 0;
        r = runtime_plan_for(profile, user, &plan);
        if (r < 0)
                return r;
        r = runtime_dir_join(info->dir, info->init_pid, user->name, user->uid, user->gid, &plan);
        if (r < 0)
                log_notice("%s's commands in session '%s' run without a runtime directory of their own.", user->name,
                           info->id);
        return 0;
}

void session_setup_done(SessionSetup *s) {
        runtime_plan_done(&s->runtime);
        free(s->xauthority);
        chroot_ref_done(&s->ref);
        user_info_done(&s->user);
        strv_free(s->binds);
        free(s->cwd);
        s->profile = profile_free(s->profile);
        s->use_lock = safe_close(s->use_lock);
}

int session_setup_prepare(Context *ctx, const char *chroot, SessionSetup *ret) {
        int r;

        ret->use_lock = -EBADF;
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Sessions need root: run 'sudo arkose-chroot ...'");

        /* Hold NAME's use lock (shared) from picking the version until the session's record names it,
         * so that gc and remove, which take it exclusively, see this session. */
        {
                _cleanup_free_ char *name = NULL;
                unsigned v;

                if (store_parse_ref(chroot, &name, &v, NULL) >= 0)
                        ret->use_lock = store_use_lock(ctx->state_dir, name, false);
        }
        r = context_resolve(ctx, chroot, true, &ret->ref);
        if (r < 0)
                return r;
        r = chroot_ref_check_runnable(&ret->ref);
        if (r < 0)
                return r;

        r = context_find_profile(ctx, arg_profile ?: ret->ref.def->profile ?: "buildd", &ret->profile);
        if (r < 0)
                return r;
        if (arg_network) {
                ProfileNetwork n = profile_network_from_string(arg_network);
                if (n < 0)
                        return log_error_errno(-EINVAL, "Unknown network mode '%s' (expected none, host or filtered)",
                                               arg_network);
                ret->profile->network = n;
        }
        /* One-shot: the session's network would be the command's alone. */
        if (arg_isolate_network)
                ret->profile->network = PROFILE_NETWORK_NONE;
        for (char **b = arg_binds; b && *b; b++) {
                bool optional = (*b)[0] == '-'; /* left out when missing (the profile's notice says so) */
                _cleanup_free_ char *host = strndup(*b + optional, strcspn(*b + optional, ":"));

                if (!host)
                        return log_oom();
                if (profile_add_bind(ret->profile, *b) < 0)
                        return log_error_errno(-EINVAL, "Invalid --bind '%s': expected [-]HOST[:TARGET][:ro|:rw] with absolute paths",
                                               *b);
                if (!optional && access(host, F_OK) < 0)
                        return log_error_errno(-errno, "Invalid --bind '%s': '%s' is not there on the host: %m", *b, host);
        }
        ret->network = ret->profile->network == PROFILE_NETWORK_HOST ? CONTAINER_NETWORK_HOST : CONTAINER_NETWORK_NONE;

        r = user_resolve(&ret->user);
        if (r < 0)
                return r;
        r = session_cwd(ret->ref.lowers, &ret->cwd);
        if (r < 0)
                return r;
        r = plan_binds(&ret->cwd, ret->ref.lowers, ctx->state_dir, &ret->binds);
        if (r < 0)
                return log_oom();
        r = access_check_session(ret->ref.def, ret->user.uid, ret->user.name,
                                 arg_network ? "--network" : arg_profile ? "--profile" : arg_binds ? "--bind" : NULL,
                                 ret->binds && ret->binds[0] ? ret->binds[0] : ret->cwd);
        if (r < 0)
                return r;

        session_setup_xauthority(ret);
        r = session_setup_runtime(ret);
        if (r < 0)
                return r;

        (void) session_sweep_stale(ctx->state_dir);
        if (ret->ref.version > 0)
                (void) store_sweep(ctx->state_dir, ret->ref.name);
        return 0;
}

SessionPlan session_setup_plan(Context *ctx, SessionSetup *s) {
        return (SessionPlan) {
                .state_dir = ctx->state_dir,
                .chroot = s->ref.name,
                .version = s->ref.version_str,
                .personality = chroot_ref_personality(&s->ref),
                .lowers = s->ref.lowers,
                .tmpfs = arg_tmpfs,
                .network = s->network,
                .binds = s->binds,
                .cwd = s->cwd,
                .user = s->user.name,
                .uid = s->user.uid,
                .gid = s->user.gid,
                .home = s->user.home,
                .shell = s->user.shell,
                .groups = s->user.groups_str,
                .hook_dirs = ctx->hook_dirs,
                .hook_timeout = ctx->config.hook_timeout,
                .record_lock = &s->use_lock,
                .profile = s->profile,
                .profile_binds = arg_binds,
                .apparmor_template = ctx->apparmor_template,
                .xauthority = s->xauthority,
                .xauthority_size = s->xauthority_size,
                .runtime = s->profile && s->profile->runtime_dir ? &s->runtime : NULL,
        };
}

int session_run_command(Session *session, const UserInfo *user, const Profile *profile, const char *cwd, int argc,
                        char **argv, int *ret_status) {
        return session_run_command_full(session, user, profile, cwd, argc, argv, false, ret_status);
}

/* ... with @socket_only: -EOPNOTSUPP (nothing ran) rather than attach when the socket cannot be used. */
int session_run_command_full(Session *session, const UserInfo *user, const Profile *profile, const char *cwd,
                             int argc, char **argv, bool socket_only, int *ret_status) {
        _cleanup_strv_free_ char **env = NULL;
        const SessionInfo *info = session_get_info(session);
        bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        mode_t old_umask;
        int r;

        r = build_env(user, profile, info->chroot, info->version, info->id, terminal, &env);
        if (r >= 0)
                r = schroot_env(&env, info, argc > 0 ? argv : NULL, user->shell);
        if (r >= 0 && user->uid == info->uid && session_has_xauthority(session))
                r = env_replace(&env, "XAUTHORITY=" SESSION_XAUTHORITY_PATH);
        if (r >= 0) {
                _cleanup_free_ char *rt = runtime_dir_user_path(info->dir, user->uid, info->uid);

                if (!rt)
                        return log_oom();
                if (access(rt, F_OK) >= 0)
                        r = runtime_dir_env(rt, user->uid, &env);
        }
        if (r < 0)
                return log_oom();

        AttachPlan attach = {
                .argv = argc > 0 ? argv : NULL,
                .shell = user->shell,
                .cwd = cwd,
                .uid = user->uid,
                .gid = user->gid,
                .groups = user->groups,
                .n_groups = user->n_groups,
                .env = env,
                .terminal = terminal,
                .no_new_privs = profile ? container_profile_no_new_privs(profile, user->uid) : user->uid != 0,
                .autopkgtest = arg_autopkgtest,
                .isolate_network = arg_isolate_network,
        };
        /* The command's umask is the caller's (a setuid run made its own 022), as it is inherited or sent. */
        old_umask = umask(caller_umask());
        /* A detached session's init runs the command itself when it can (no terminal); else attach. */
        if (session_has_socket(session)) {
                sigset_t forward, old;

                signals_forwarded(&forward);
                (void) sigprocmask(SIG_BLOCK, &forward, &old);
                r = session_run_socket(session, &attach, &forward, signals_pending(), ret_status);
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                if (r != -EOPNOTSUPP || socket_only)
                        goto done;
        } else if (socket_only) {
                r = -EOPNOTSUPP;
                goto done;
        }
        r = session_run(session, &attach, signals_forward_child, ret_status);
done:
        (void) umask(old_umask);
        /* autopkgtest reads 254 and 255 as a failure of the execute command itself (arkose-init's wrapper
         * does the same; a command it exec'd directly, without output pipes to copy, comes here). */
        if (r >= 0 && arg_autopkgtest && *ret_status == 255)
                *ret_status = 253;
        /* An old C library on a kernel without the vsyscall page: its programs die of SIGSEGV, which says
         * nothing of why. (The session's tree: a one-shot session's container is gone by now.) */
        if (r >= 0 && *ret_status == 128 + SIGSEGV)
                vsyscall_warn(info->lowers, "The command died of SIGSEGV");
        return r;
}

/* ---- Spare sessions (lib/spare.h) ---- */

/* Whether this one-shot command may run in a spare session, and leave one: a command (no login
 * shell), no terminal (the socket passes no pty), no network namespace of the command's own. */
static bool spare_eligible(Context *ctx, int argc) {
        const char *e = secure_getenv("ARKOSE_SPARE_SESSIONS");
        bool on = ctx->config.spare_sessions;

        if (e && (streq(e, "0") || streq(e, "no")))
                on = false;
        else if (e && (streq(e, "1") || streq(e, "yes")))
                on = true;
        return on && argc > 0 && !arg_isolate_network && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
}

/* The plan of the spare session for this command, @shared or single-use (lib/spare.h). */
static SessionPlan spare_plan(Context *ctx, SessionSetup *setup, bool shared) {
        SessionPlan plan = session_setup_plan(ctx, setup);

        plan.private_mounts = true;
        plan.spare = true;
        plan.shared = shared;
        plan.idle_timeout = ctx->config.spare_idle_timeout ?: 1;
        return plan;
}

/* The key of this command's spare, shared when its profile and hooks allow, unless a shared spare of
 * that key could not make sub-sessions (spare_mark_unshared()). */
static int spare_plan_key(Context *ctx, SessionSetup *setup, char key[static SHA256_HEX_SIZE], bool *ret_shared) {
        _cleanup_free_ char *conf = path_join(ctx->config_dir, "arkose.conf");
        bool shared = spare_can_share(setup->profile, setup->binds, apparmor_kernel_enabled()) &&
                      hooks_all_cacheable(ctx->hook_dirs);
        SessionPlan plan = spare_plan(ctx, setup, shared);
        int r;

        if (!conf)
                return -ENOMEM;
        r = spare_key(&plan, setup->profile ? setup->profile->path : NULL, conf, key);
        if (r >= 0 && shared && spare_unshared(ctx->state_dir, key)) {
                plan.shared = shared = false;
                r = spare_key(&plan, setup->profile ? setup->profile->path : NULL, conf, key);
        }
        *ret_shared = shared;
        return r;
}

/* The spare's owner, in a child of its own: makes the session, offers it under @key, and ends it when
 * its one command is done, when it waited spare-idle-timeout seconds for nobody, or on SIGTERM; a
 * @shared one when its init retires (idle for as long, or told to by a SIGTERM of ours, once its commands
 * are done). @refill_fd is the key's lock (spare_refill()), released once the spare is offered. */
static int spare_owner(Context *ctx, SessionSetup *setup, const char *key, bool shared, int refill_fd) {
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_free_ char *run_dir = NULL;
        _cleanup_close_ int use_lock = -EBADF;
        struct timespec idle = { .tv_sec = ctx->config.spare_idle_timeout ?: 1 };
        const struct sched_param sp = {};
        bool claimed = false;
        SessionPlan plan;
        sigset_t mask;
        int fd;

        /* Out of the caller's session and process group, off its terminal and pipes (a reader of the
         * caller's output must see EOF when the caller exits); nothing of the caller's but the lock. */
        (void) setsid();
        {
                _cleanup_free_ char *title =
                        strdup_printf("arkose-chroot: spare session of '%s'", setup->ref.name);
                if (title)
                        process_set_title(title);
        }
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
            (refill_fd != 3 && dup3(refill_fd, 3, O_CLOEXEC) < 0))
                return EXIT_FAILURE;
        refill_fd = 3;
        (void) close_range(4, ~0U, 0);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGCHLD);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        (void) sigaddset(&mask, SIGHUP);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);

        /* Made when the machine has nothing better to do: a spare must not slow down what runs now (the
         * caller's next command, a benchmark's other contenders). */
        (void) sched_setscheduler(0, SCHED_IDLE, &sp);

        spare_sweep(ctx->state_dir);
        /* At most spare-sessions-max idle containers: the oldest offered ones make room for this one. */
        if (ctx->config.spare_sessions_max > 0)
                (void) spare_trim(ctx->state_dir, ctx->config.spare_sessions_max - 1);

        /* The version must still be there once the session's record names it (gc, remove). */
        use_lock = store_use_lock(ctx->state_dir, setup->ref.name, false);
        for (char **l = setup->ref.lowers; l && *l; l++)
                if (access(*l, F_OK) < 0)
                        return EXIT_FAILURE;
        /* We live as long as the spare (minutes). */
        if (session_mount_namespace(ctx) < 0)
                return EXIT_FAILURE;

        plan = spare_plan(ctx, setup, shared);
        plan.record_lock = &use_lock;
        if (session_create(&plan, &session) < 0)
                return EXIT_FAILURE;
        /* Ready: its commands (children of its init) and its end are to run as normal work. */
        if (session_set_scheduler(session, SCHED_OTHER) < 0 || sched_setscheduler(0, SCHED_OTHER, &sp) < 0)
                return EXIT_FAILURE; /* session_free() ends it */
        run_dir = runsock_dir(session_get_info(session)->dir);
        if (!run_dir || spare_publish(ctx->state_dir, key, session_id(session)) < 0)
                return EXIT_FAILURE;
        /* The lock is the open file description's, which the container's monitor (forked from us) shares:
         * unlock it explicitly, for all of them. */
        (void) fcntl(refill_fd, F_OFD_SETLK, &(struct flock) { .l_type = F_UNLCK, .l_whence = SEEK_SET });
        refill_fd = safe_close(refill_fd);

        if (plan.shared) {
                /* Its init retires by itself after spare-idle-timeout seconds without a command. */
                for (;;) {
                        int sig = sigtimedwait(&mask, NULL, NULL);

                        if (sig == SIGCHLD) {
                                if (session_exited(session))
                                        break; /* init retired (or died) */
                                continue;
                        }
                        if (sig < 0)
                                continue;
                        /* Asked to end: offered no more, no new command; those running finish first. */
                        (void) spare_unpublish(ctx->state_dir, key, session_id(session));
                        (void) kill(session_get_info(session)->init_pid, SIGTERM);
                }
                (void) spare_unpublish(ctx->state_dir, key, session_id(session));
                return session_end(session) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        for (;;) {
                int sig = sigtimedwait(&mask, NULL, claimed ? NULL : &idle);

                if (sig == SIGCHLD) {
                        if (session_exited(session))
                                break; /* its command is done (or its init died) */
                        continue;
                }
                if (sig < 0 && errno == EAGAIN) {
                        if (spare_unpublish(ctx->state_dir, key, session_id(session)) == 0)
                                break; /* nobody wanted it */
                        if (access(session_get_info(session)->dir, F_OK) < 0)
                                break; /* its directory is gone (the state directory removed) */
                        if (runsock_present(run_dir))
                                break; /* claimed by a caller that never came */
                        claimed = true; /* its command runs: wait for it, however long */
                        continue;
                }
                if (sig < 0)
                        continue;
                (void) spare_unpublish(ctx->state_dir, key, session_id(session));
                break;
        }
        return session_end(session) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Leaves a spare for the next one-shot command of @key, unless there is one or one is being made: the
 * key's lock is taken here, so that of many callers ending at once only one forks. Returns the pid of
 * the child forked (with @detached, the intermediate's: reap_forked()), or -1. */
static pid_t spare_refill(Context *ctx, SessionSetup *setup, const char *key, bool shared, bool detached) {
        _cleanup_free_ char *dir = path_join(ctx->state_dir, "spares"), *lock = NULL, *index = NULL;
        _cleanup_close_ int fd = -EBADF;
        pid_t pid;

        if (!dir || mkdir_p(dir, 0700) < 0)
                return -1;
        lock = strdup_printf("%s/%s.lock", dir, key);
        index = path_join(dir, key);
        if (!lock || !index)
                return -1;
        fd = lock_file(lock, LOCK_MODE_EXCLUSIVE, false);
        if (fd < 0 || faccessat(AT_FDCWD, index, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return -1;
        /* @detached: not our child, for a caller that starts a container of its own next: if that start
         * failed, liblxc would wait for every child of ours, a spare's owner included, which lives for
         * minutes. (A caller that ran its command in a spare starts none: one fork is cheaper.) */
        pid = detached ? fork_detached(false) : fork();
        if (pid == 0) {
                /* Our version lock is ours to keep until our session's record names the version: the owner
                 * forgets its copy (spare_owner() closes it with the rest) and takes one of its own. */
                setup->use_lock = -EBADF;
                _exit(spare_owner(ctx, setup, key, shared, fd));
        }
        if (pid < 0)
                log_debug_errno(pid, "Failed to fork a spare session's owner: %m");
        return pid > 0 ? pid : -1;
}

/* Reaps fork_detached(false)'s intermediate process, which exits right after its fork: else it stays our
 * zombie for as long as the command runs, and then an orphan one until PID 1 reaps it. Not blocking: it
 * may still be running, or liblxc may have reaped it (a failed start waits for every child). */
static void reap_forked(pid_t *pid) {
        if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) != 0)
                *pid = -1;
}

/* Runs the command in the spare session of @key, if there is one. A single-use spare: waits until
 * everything in that session is dead (its init: the kernel kills the rest of its PID namespace first, and
 * its mounts go with its mount namespace); its owner removes its directory right after. A @shared one: in
 * a sub-session, whose directory init removes before it answers. Returns 0 and the command's status,
 * -ENOENT (nothing ran) when there is no usable spare, or -errno (logged). */
static int spare_run(Context *ctx, SessionSetup *setup, const char *key, bool shared, int argc, char **argv,
                     int *ret_status) {
        _cleanup_(session_leavep) Session *session = NULL;
        _cleanup_free_ char *id = NULL;
        _cleanup_close_ int init_fd = -EBADF;
        int nice, r;

        /* A shared spare stays on offer: the command runs in a sub-session of its own there, whose end
         * (its directory removed) init reports with the command's status. The version stays in use for as
         * long: the spare retires only once its commands are done. */
        if (shared) {
                if (spare_find(ctx->state_dir, key, &id) < 0 || session_open_spare(ctx->state_dir, id, &session) < 0)
                        return -ENOENT;
                setup->use_lock = safe_close(setup->use_lock);
                r = session_run_command_full(session, &setup->user, setup->profile, setup->cwd, argc, argv, true,
                                             ret_status);
                if (r == -EOPNOTSUPP)
                        return -ENOENT; /* nothing ran: retiring, or full */
                if (r == -ENOTRECOVERABLE) {
                        /* Its init cannot make sub-sessions (a policy of the host's denies it): this plan's
                         * spares are single-use from now on, this command runs in a session of its own. */
                        log_warning("Spare session '%s' cannot make sub-sessions (see 'arkose-chroot -v'): single-use spares for this plan from now on",
                                    session_id(session));
                        (void) spare_mark_unshared(ctx->state_dir, key);
                        (void) spare_retire(ctx->state_dir, session_get_info(session));
                        return -ENOENT;
                }
                return r < 0 ? r : 0;
        }

        for (;;) {
                id = mfree(id);
                r = spare_claim(ctx->state_dir, key, &id);
                if (r < 0)
                        return -ENOENT;
                if (session_open_spare(ctx->state_dir, id, &session) >= 0) {
                        init_fd = (int) syscall(SYS_pidfd_open, session_get_info(session)->init_pid, 0);
                        if (init_fd >= 0)
                                break;
                        session = session_leave(session);
                }
                /* A spare whose init died: its owner ends it; look for another. */
        }
        /* The spare's record names the version now. The next command's spare is made while this one
         * runs (at SCHED_IDLE: on another CPU, or when this one waits). */
        setup->use_lock = safe_close(setup->use_lock);
        (void) spare_refill(ctx, setup, key, false, false);

        /* Its init has the normal policy (spare_owner()); its command gets our niceness too. */
        errno = 0;
        nice = getpriority(PRIO_PROCESS, 0);
        if (errno == 0 && nice != 0)
                (void) setpriority(PRIO_PROCESS, session_get_info(session)->init_pid, nice);

        r = session_run_command_full(session, &setup->user, setup->profile, setup->cwd, argc, argv, true, ret_status);
        if (r == -EOPNOTSUPP) {
                /* Nothing ran (its socket refused the command): the caller starts a session of its own. */
                (void) spare_end(ctx->state_dir, session_get_info(session));
                return -ENOENT;
        }
        /* Its init exits once the command is done (or the connection broke): wait for that, so that
         * nothing the command left behind outlives us (10 s at most: it is a matter of milliseconds). */
        {
                struct pollfd p = { .fd = init_fd, .events = POLLIN };
                while (poll(&p, 1, 10 * 1000) < 0 && errno == EINTR)
                        ;
        }
        return r < 0 ? r : 0;
}

int run_session(Context *ctx, int argc, char **argv) {
        _cleanup_(session_setup_done) SessionSetup setup = {};
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_(reap_forked) pid_t refill = -1;
        char key[SHA256_HEX_SIZE];
        bool spare, shared = false;
        SessionPlan plan;
        int status = 0, r;

        r = session_setup_prepare(ctx, arg_chroot, &setup);
        if (r < 0)
                return 1;
        /* The user's live sockets and bus proxy are this command's: never a spare's. */
        spare = !setup.profile->runtime_dir && spare_eligible(ctx, argc) &&
                spare_plan_key(ctx, &setup, key, &shared) >= 0;
        if (spare) {
                signals_install();
                r = spare_run(ctx, &setup, key, shared, argc, argv, &status);
                if (r >= 0)
                        return status;
                if (r != -ENOENT)
                        return 1;
                /* None was ready: the next command's is made from now on, beside this one's session (at
                 * SCHED_IDLE), rather than after it, when a command that follows at once would find none
                 * ready again. Before our mounts, which its process would otherwise hold too. */
                refill = spare_refill(ctx, &setup, key, shared, true);
        }

        r = session_mount_namespace(ctx);
        if (r < 0)
                return 1;

        signals_install();
        plan = session_setup_plan(ctx, &setup);
        plan.private_mounts = true;
        r = session_create(&plan, &session);
        if (r < 0)
                return 1;
        reap_forked(&refill); /* by now it has long ended */

        if (signals_pending() != 0) {
                (void) session_end(session);
                return 128 + signals_pending();
        }

        r = session_run_command(session, &setup.user, setup.profile, setup.cwd, argc, argv, &status);
        if (r < 0)
                status = 1;

        r = session_end(session);
        if (r < 0 && status == 0)
                status = 1;
        return status;
}

SessionPlan layer_session_plan(const Context *ctx, const ChrootRef *ref, char **lowers, const char *upper,
                               const char *work, ContainerNetwork network, char **binds) {
        return (SessionPlan) {
                .state_dir = ctx->state_dir,
                .chroot = ref->name,
                .version = ref->version_str,
                .personality = chroot_ref_personality(ref),
                .lowers = lowers,
                .upper = upper,
                .work = work,
                .no_hooks = true,
                .network = network,
                .binds = binds,
                .cwd = "/",
                .user = "root",
                .uid = 0,
                .gid = 0,
                .home = "/root",
                .shell = "/bin/sh",
                .groups = "",
                .hook_timeout = ctx->config.hook_timeout,
        };
}

int run_in_layer(Context *ctx, const ChrootRef *ref, char **lowers, const char *upper, const char *work,
                 ContainerNetwork network, char **extra_binds, char **argv, bool terminal, int *ret_status) {
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_strv_free_ char **binds = NULL, **env = NULL;
        int r;

        r = chroot_ref_check_runnable(ref);
        if (r < 0)
                return r;
        if (strv_extend_strv(&binds, extra_binds) < 0)
                return log_oom();
        /* On a terminal, someone types: no DEBIAN_FRONTEND=noninteractive, and their TERM. */
        for (char **e = root_env; terminal && *e; e++)
                if (!startswith(*e, "DEBIAN_FRONTEND=") && strv_extend(&env, *e) < 0)
                        return log_oom();
        if (terminal && strv_extendf(&env, "TERM=%s", getenv("TERM") ?: "xterm") < 0)
                return log_oom();
        /* The host's resolver configuration for apt, bind-mounted so that it never lands in the layer. */
        if (network == CONTAINER_NETWORK_HOST && access("/etc/resolv.conf", R_OK) >= 0)
                if (strv_extend(&binds, "/etc/resolv.conf") < 0)
                        return log_oom();

        SessionPlan plan = layer_session_plan(ctx, ref, lowers, upper, work, network, binds);
        r = session_create(&plan, &session);
        if (r < 0)
                return r;

        AttachPlan attach = {
                .argv = argv,
                .shell = "/bin/bash", /* root's login shell in Debian ('/bin/sh' when the tree lacks it) */
                .cwd = "/",
                .env = terminal ? env : root_env,
                .terminal = terminal,
        };
        r = session_run(session, &attach, signals_forward_child, ret_status);
        if (r < 0)
                return r;
        return session_end(session);
}
