/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot -c NAME [--] CMD: a one-shot, throw-away session. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "session.h"
#include "store.h"

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

int user_resolve_groups(UserInfo *ret) {
        int n = 16;

        for (;;) {
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

int plan_binds(const char *cwd, char ***ret) {
        _cleanup_strv_free_ char **binds = NULL;
        _cleanup_free_ char *changelog = path_join(cwd, "debian/changelog");
        _cleanup_free_ char *parent = strdup(cwd);
        char *slash;

        if (!changelog || !parent)
                return -ENOMEM;
        binds = calloc(1, sizeof(char *));
        if (!binds)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash)
                *slash = '\0';
        if (access(changelog, F_OK) >= 0 && !isempty(parent)) {
                if (strv_extend(&binds, parent) < 0)
                        return -ENOMEM;
        } else if (!streq(cwd, "/") && strv_extend(&binds, cwd) < 0)
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

int session_cwd(char **ret) {
        char *cwd;

        if (arg_directory) {
                cwd = realpath(arg_directory, NULL);
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

void session_setup_done(SessionSetup *s) {
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
        for (char **b = arg_binds; b && *b; b++)
                if (profile_add_bind(ret->profile, *b) < 0)
                        return log_error_errno(-EINVAL, "Invalid --bind '%s': expected HOST[:TARGET][:ro|:rw] with absolute paths",
                                               *b);
        ret->network = ret->profile->network == PROFILE_NETWORK_HOST ? CONTAINER_NETWORK_HOST : CONTAINER_NETWORK_NONE;

        r = user_resolve(&ret->user);
        if (r < 0)
                return r;
        r = session_cwd(&ret->cwd);
        if (r < 0)
                return r;
        r = plan_binds(ret->cwd, &ret->binds);
        if (r < 0)
                return log_oom();
        r = access_check_session(ret->ref.def, ret->user.uid, ret->user.name,
                                 arg_network ? "--network" : arg_profile ? "--profile" : arg_binds ? "--bind" : NULL,
                                 ret->binds && ret->binds[0] ? ret->binds[0] : ret->cwd);
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
        };
}

int session_run_command(Session *session, const UserInfo *user, const Profile *profile, const char *cwd, int argc,
                        char **argv, int *ret_status) {
        _cleanup_strv_free_ char **env = NULL;
        const SessionInfo *info = session_get_info(session);
        bool terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        int r;

        r = build_env(user, profile, info->chroot, info->version, info->id, terminal, &env);
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
        /* A detached session's init runs the command itself when it can (no terminal); else attach. */
        if (session_has_socket(session)) {
                sigset_t forward, old;

                signals_forwarded(&forward);
                (void) sigprocmask(SIG_BLOCK, &forward, &old);
                r = session_run_socket(session, &attach, &forward, signals_pending(), ret_status);
                (void) sigprocmask(SIG_SETMASK, &old, NULL);
                if (r != -EOPNOTSUPP)
                        goto done;
        }
        r = session_run(session, &attach, signals_forward_child, ret_status);
done:
        /* autopkgtest reads 254 and 255 as a failure of the execute command itself (arkose-init's wrapper
         * does the same; a command it exec'd directly, without output pipes to copy, comes here). */
        if (r >= 0 && arg_autopkgtest && *ret_status == 255)
                *ret_status = 253;
        return r;
}

int run_session(Context *ctx, int argc, char **argv) {
        _cleanup_(session_setup_done) SessionSetup setup = {};
        _cleanup_(session_freep) Session *session = NULL;
        SessionPlan plan;
        int status = 0, r;

        r = session_setup_prepare(ctx, arg_chroot, &setup);
        if (r < 0)
                return 1;

        r = private_mount_namespace();
        if (r < 0)
                return 1;

        signals_install();
        plan = session_setup_plan(ctx, &setup);
        plan.private_mounts = true;
        r = session_create(&plan, &session);
        if (r < 0)
                return 1;

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

int run_in_layer(Context *ctx, const ChrootRef *ref, char **lowers, const char *upper, const char *work,
                 ContainerNetwork network, char **extra_binds, char **argv, int *ret_status) {
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_strv_free_ char **binds = NULL;
        int r;

        if (strv_extend_strv(&binds, extra_binds) < 0)
                return log_oom();
        /* The host's resolver configuration for apt, bind-mounted so that it never lands in the layer. */
        if (network == CONTAINER_NETWORK_HOST && access("/etc/resolv.conf", R_OK) >= 0)
                if (strv_extend(&binds, "/etc/resolv.conf") < 0)
                        return log_oom();

        SessionPlan plan = {
                .state_dir = ctx->state_dir,
                .chroot = ref->name,
                .version = ref->version_str,
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
        r = session_create(&plan, &session);
        if (r < 0)
                return r;

        AttachPlan attach = {
                .argv = argv,
                .shell = "/bin/sh",
                .cwd = "/",
                .env = root_env,
        };
        r = session_run(session, &attach, signals_forward_child, ret_status);
        if (r < 0)
                return r;
        return session_end(session);
}
