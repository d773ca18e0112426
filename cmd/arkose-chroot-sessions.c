/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sessions that last: --begin-session, --run-session, --end-session, --recover-session (schroot's command
 * line), 'sessions', 'recover', and their -l / -i output. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "session.h"
#include "spare.h"
#include "state.h"
#include "store.h"

static int begin_session(Context *ctx, const char *chroot, int argc) {
        _cleanup_(session_setup_done) SessionSetup setup = {};
        _cleanup_free_ char *alias = strndup(chroot, strcspn(chroot, "@"));
        const char *reason = NULL;
        SessionPlan plan;
        int r;

        if (!alias)
                return log_oom();
        if (argc > 0)
                return log_error_errno(-EINVAL, "--begin-session takes no command");
        if (arg_session_name && !session_id_is_valid(arg_session_name, &reason))
                return log_error_errno(-EINVAL, "Invalid session name '%s': %s", arg_session_name, reason);
        r = session_setup_prepare(ctx, chroot, &setup);
        if (r < 0)
                return r;

        signals_install();
        plan = session_setup_plan(ctx, &setup);
        plan.detached = true;
        plan.id = arg_session_name;
        /* The name it was begun by, for its commands' SCHROOT_ALIAS_NAME (schroot keeps it too). */
        if (!streq(alias, setup.ref.name))
                plan.alias = alias;
        return session_begin_detached(&plan);
}

int session_begin_detached(const SessionPlan *plan) {
        _cleanup_(session_freep) Session *session = NULL;
        int r;

        r = session_create(plan, &session);
        if (r < 0)
                return r;
        if (signals_pending() != 0) {
                (void) session_end(session);
                return -EINTR;
        }
        /* A reader gone (sbuild killed) does not kill us by SIGPIPE (main()): the session is ended. */
        printf("%s\n", session_id(session));
        if (fflush(stdout) != 0) {
                (void) session_end(session);
                return log_error_errno(-EIO, "Failed to print the session id, ending session '%s'", session_id(session));
        }
        session = session_leave(session);
        return 0;
}

/* The profile a session was begun with, rebuilt from its record: the named profile as it is now, with
 * the network mode and --bind mounts the session was begun with. *ret is NULL for a session without a
 * profile. Logs one error line. */
static int session_profile_rebuild(Context *ctx, const SessionInfo *i, Profile **ret) {
        _cleanup_(profile_freep) Profile *p = NULL;
        int r;

        *ret = NULL;
        if (!i->profile)
                return 0;
        r = context_find_profile(ctx, i->profile, &p);
        if (r < 0)
                return r;
        if (i->profile_network) {
                ProfileNetwork n = profile_network_from_string(i->profile_network);
                if (n < 0)
                        return log_error_errno(-EBADMSG, "Session '%s' records an unknown network mode '%s'", i->id,
                                               i->profile_network);
                p->network = n;
        }
        for (char **b = i->profile_binds; b && *b; b++)
                if (profile_add_bind(p, *b) < 0)
                        return log_error_errno(-EBADMSG, "Session '%s' records an invalid --bind '%s'", i->id, *b);
        *ret = TAKE_PTR(p);
        return 0;
}

static int recover_session(Context *ctx, const char *id) {
        _cleanup_(session_info_freep) SessionInfo *info = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        int r;

        r = session_info_load(ctx->state_dir, id, &info);
        if (r == -ENOENT || r == -EINVAL)
                return log_error_errno(-ENOENT, "No session '%s' (see 'arkose-chroot sessions')", id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the record of session '%s': %m", id);
        /* Its confinement comes back with it, or it does not come back. */
        r = session_profile_rebuild(ctx, info, &profile);
        if (r < 0)
                return r;
        SessionRecoverPlan plan = {
                .hook_dirs = ctx->hook_dirs,
                .hook_timeout = ctx->config.hook_timeout,
                .profile = profile,
                .apparmor_template = ctx->apparmor_template,
        };
        return session_recover(ctx->state_dir, id, &plan);
}

/* The command's working directory in a session: -d DIR (a path in the session), else the caller's
 * when the session has it (it is bound in when the session began there), else "/", saying so. Logs. */
static int run_session_cwd(Session *session, char **ret) {
        _cleanup_free_ char *cwd = NULL;

        if (arg_directory) {
                if (!path_is_absolute(arg_directory) || !session_has_directory(session, arg_directory))
                        return log_error_errno(-ENOENT, "Directory '%s' does not exist in session '%s'", arg_directory,
                                               session_id(session));
                *ret = strdup(arg_directory);
                return *ret ? 0 : log_oom();
        }
        cwd = getcwd(NULL, 0);
        if (!cwd || !session_has_directory(session, cwd)) {
                /* schroot says so too ("The directory does not exist inside the chroot"). */
                if (cwd)
                        log_notice("Directory '%s' is not in session '%s', running in '/' (see -d DIR)", cwd,
                                   session_id(session));
                free(cwd);
                cwd = strdup("/");
        }
        if (!cwd)
                return log_oom();
        *ret = TAKE_PTR(cwd);
        return 0;
}

/* Who may run commands in a session: root; the user who began it; and, in a persistent chroot's shared
 * container, whoever the chroot's definition grants (as themselves, or as others with root-users=). */
static int run_in_session_allowed(Context *ctx, const SessionInfo *i, const UserInfo *user) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ char *live = NULL;
        int r;

        if (caller_is_root())
                return 0;
        live = strdup_printf("%s-live", i->chroot);
        if (!live)
                return log_oom();
        if (!streq(i->id, live)) {
                _cleanup_free_ char *what = strdup_printf("session '%s'", i->id);

                r = access_check_owner(i->uid, what ?: "this session");
                if (r < 0)
                        return r;
        }
        r = context_resolve(ctx, i->chroot, false, &ref);
        if (r < 0)
                return r;
        return access_check_session(ref.def, user->uid, user->name, NULL, NULL);
}

/* The user a command in session @s runs as. Resolving supplementary groups goes through every NSS module
 * (libnss_systemd and what it loads, and its varlink connections: a third of a command's own cost), so
 * for root callers (the sbuild and autopkgtest route: hundreds of commands) a user's groups, once
 * resolved in a session, are kept in the session's directory (root's alone, out of the container's
 * reach) as STATE/sessions/ID/groups.UID and reused: the user keeps the groups it had when the session
 * first met it, as it keeps the session's /etc/group entries the users hook wrote then. Other callers
 * resolve them every time (access control reads them too). Returns 1 when they came from the host's NSS
 * (for run_in_session_user_keep()), 0 when kept ones were used. */
static int run_in_session_user(Session *s, UserInfo *user) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const SessionInfo *i = session_get_info(s);
        int r;

        r = user_resolve_passwd(user);
        if (r < 0)
                return r;
        if (!caller_is_root()) {
                r = user_resolve_groups(user);
                return r < 0 ? r : 0;
        }

        path = strdup_printf("%s/groups.%u", i->dir, (unsigned) user->uid);
        if (!path)
                return log_oom();
        if (read_file(path, &text) >= 0) {
                _cleanup_strv_free_ char **l = strv_split(strstrip(text), " ");
                size_t n = strv_length(l);
                bool ok = n > 0;

                user->groups = ok ? calloc(n, sizeof(gid_t)) : NULL;
                for (size_t k = 0; ok && user->groups && k < n; k++) {
                        char *end;
                        unsigned long g = strtoul(l[k], &end, 10);

                        ok = *end == '\0' && end != l[k] && g < (gid_t) -1;
                        user->groups[k] = (gid_t) g;
                }
                if (ok && user->groups) {
                        user->n_groups = (int) n;
                        user->groups_str = strdup("");
                        return user->groups_str ? 0 : log_oom();
                }
                free(user->groups);
                user->groups = NULL; /* damaged: resolved again below, and left as it is */
                r = user_resolve_groups(user);
                return r < 0 ? r : 0;
        }

        r = user_resolve_groups(user);
        return r < 0 ? r : 1;
}

/* After the session knows the user (session_ensure_user()): keeps the groups NSS gave it for the next
 * command (root callers only: see run_in_session_user()). */
static void run_in_session_user_keep(Session *s, const UserInfo *user) {
        _cleanup_free_ char *path = NULL, *out = NULL;

        if (user->n_groups <= 0)
                return;
        path = strdup_printf("%s/groups.%u", session_get_info(s)->dir, (unsigned) user->uid);
        if (!path)
                return;
        out = strdup("");
        for (int k = 0; out && k < user->n_groups; k++) {
                char *t = strdup_printf("%s%s%u", out, k ? " " : "", (unsigned) user->groups[k]);

                free(out);
                out = t;
        }
        if (out)
                (void) write_file_atomic_full(path, out, 0600, false); /* a cache: without it, NSS again */
}

/* The binds of session profile @p that name the user's home ("$HOME", "~": the dev profile's), for @user,
 * a user other than the one session @s began with (whose binds were made then), as "HOST:TARGET:ro|rw":
 * each member of a shared development session gets their own home directory, not an empty one. */
static int user_home_binds(Profile *p, const UserInfo *user, Session *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const SessionInfo *i = session_get_info(s);
        size_t n;

        *ret = NULL;
        if (!p || user->uid == 0 || user->uid == i->uid)
                return 0;
        n = 0;
        while (p && p->mounts && p->mounts[n])
                n++;
        /* By index: profile_add_bind() below may move p->mounts. */
        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ char *src = NULL, *dst = NULL, *spec = NULL;
                const ProfileMount *m = p->mounts[k];
                bool home = m->source && (m->source[0] == '~' || startswith(m->source, "$HOME"));

                if (m->type != PROFILE_MOUNT_BIND || !home)
                        continue;
                if (profile_expand_path(m->source, user->home, &src) < 0 ||
                    profile_expand_path(m->target, user->home, &dst) < 0)
                        continue; /* a home that is no absolute path: nothing to bind */
                spec = strdup_printf("%s%s:%s:%s", m->optional ? "-" : "", src, dst, m->read_only ? "ro" : "rw");
                if (!spec)
                        return -ENOMEM;
                /* Recorded, it must read back as a --bind (no blanks, quotes or '$' in the path). */
                if (profile_add_bind(p, spec) < 0) {
                        log_debug("Not binding home directory '%s': not a valid bind path", src);
                        continue;
                }
                if (strv_consume(&l, TAKE_PTR(spec)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int run_in_session(Context *ctx, const char *id, int argc, char **argv) {
        _cleanup_(session_leavep) Session *session = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        _cleanup_(user_info_done) UserInfo user = {};
        _cleanup_strv_free_ char **home_binds = NULL;
        _cleanup_free_ char *cwd = NULL;
        bool resolved;
        int status = 0, r;

        if (geteuid() != 0)
                return log_error("Sessions need root: run 'sudo arkose-chroot ...'"), arg_error_status;
        r = session_open(ctx->state_dir, id, &session);
        if (r < 0)
                return arg_error_status;
        /* What runs in a spare's container itself would be in the root of every command it takes later. */
        if (session_get_info(session)->kind == SESSION_KIND_SPARE)
                return log_error("Session '%s' is a spare session, made for one-shot commands: run 'arkose-chroot -c %s -- COMMAND'",
                                 id, session_get_info(session)->chroot),
                       arg_error_status;
        r = run_in_session_user(session, &user);
        if (r < 0)
                return arg_error_status;
        resolved = r > 0;
        r = run_in_session_allowed(ctx, session_get_info(session), &user);
        if (r < 0)
                return arg_error_status;
        /* The profile's environment and no_new_privs rule apply to each command as to a one-shot
         * session's, and its binds of $HOME to each user's own. */
        r = session_profile_rebuild(ctx, session_get_info(session), &profile);
        if (r < 0)
                return arg_error_status;
        r = user_home_binds(profile, &user, session, &home_binds);
        if (r < 0)
                return log_oom(), arg_error_status;
        SessionUser su = {
                .name = user.name,
                .uid = user.uid,
                .gid = user.gid,
                .home = user.home,
                .shell = user.shell,
                .groups = user.groups_str,
                .binds = home_binds,
        };
        r = session_ensure_user(session, &su, ctx->hook_dirs, ctx->config.hook_timeout);
        if (r < 0)
                return arg_error_status;
        if (resolved)
                run_in_session_user_keep(session, &user);
        r = session_join_runtime(session, profile, &user);
        if (r < 0)
                return arg_error_status;
        r = run_session_cwd(session, &cwd);
        if (r < 0)
                return arg_error_status;

        signals_install();
        r = session_run_command(session, &user, profile, cwd, argc, argv, &status);
        return r < 0 ? arg_error_status : status;
}

/* A caller who is not root may end or recover only a session of their own. Logs. */
static int check_session_owner(Context *ctx, const char *name) {
        _cleanup_free_ char *what = NULL;
        SessionInfo *oi = NULL;
        int q;

        if (session_info_load(ctx->state_dir, name, &oi) < 0)
                return log_error_errno(-ENOENT, "No session '%s' (see 'arkose-chroot sessions')", name);
        what = strdup_printf("session '%s'", name);
        q = access_check_owner(oi->uid, what ?: "this session");
        session_info_free(oi);
        return q;
}

/* --end-session of session @name. Logs. */
static int end_session(Context *ctx, const char *name) {
        SessionInfo *si = NULL;
        int r;

        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Sessions need root: run 'sudo arkose-chroot ...'");
        if (!caller_is_root() && check_session_owner(ctx, name) < 0)
                return -EPERM;
        /* A spare session ends through its owner, which holds its lock all along. */
        if (session_info_load(ctx->state_dir, name, &si) >= 0 && si->kind == SESSION_KIND_SPARE) {
                r = spare_end(ctx->state_dir, si);
                if (r < 0)
                        log_error_errno(r, "Failed to end spare session '%s': %m", name);
        } else if (si && si->source && si->phase == SESSION_PHASE_READY)
                /* Its changes become a version (a session that never got ready is only removed). */
                r = source_session_end(ctx, si);
        else
                r = session_end_detached(ctx->state_dir, name, ctx->hook_dirs, ctx->config.hook_timeout);
        session_info_free(si);
        return r;
}

/* schroot's namespaces: "chroot:" for chroots, "session:" for sessions, "source:" for the tree itself;
 * without one, the action's. */
int session_action(Context *ctx, int argc, char **argv) {
        SessionNamespace ns;
        const char *name;
        bool takes_chroot;
        int r;

        if (session_ref_parse(arg_chroot, &ns, &name) < 0)
                return log_error("Unsupported namespace in '%s': use chroot:NAME, source:NAME or session:ID", arg_chroot), 2;
        if (ns == SESSION_NAMESPACE_SOURCE)
                return source_action(ctx, name, argc, argv);
        if (ns == SESSION_NAMESPACE_SESSION && arg_action == SESSION_ACTION_AUTOMATIC)
                arg_action = SESSION_ACTION_RUN;
        takes_chroot = arg_action == SESSION_ACTION_AUTOMATIC || arg_action == SESSION_ACTION_BEGIN;
        if (ns != SESSION_NAMESPACE_NONE && (ns == SESSION_NAMESPACE_CHROOT) != takes_chroot)
                return log_error("'%s' is not a %s", arg_chroot,
                                 ns == SESSION_NAMESPACE_CHROOT ? "session" : "chroot"), 2;
        if (arg_action != SESSION_ACTION_BEGIN && arg_session_name)
                return log_error("--session-name goes with --begin-session"), 2;
        if (arg_autopkgtest && arg_action != SESSION_ACTION_RUN)
                return log_error("--autopkgtest goes with --run-session"), 2;
        if (arg_isolate_network && arg_action != SESSION_ACTION_AUTOMATIC && arg_action != SESSION_ACTION_RUN)
                return log_error("--isolate-network goes with a command (one-shot or --run-session)"), 2;

        switch (arg_action) {
        case SESSION_ACTION_AUTOMATIC: {
                char *bare = strdup(name); /* @name points into arg_chroot */
                _cleanup_free_ char *live = NULL;
                SessionInfo *li = NULL;

                if (!bare)
                        return log_oom(), 1;
                /* A persistent chroot's shared container, when it runs, takes the command. */
                live = strdup_printf("%s-live", bare);
                if (live && !strchr(bare, '@') && session_id_is_valid(live, NULL) &&
                    session_info_load(ctx->state_dir, live, &li) >= 0) {
                        bool running = session_info_state(li) == SESSION_STATE_RUNNING;
                        session_info_free(li);
                        if (running) {
                                free(bare);
                                return run_in_session(ctx, live, argc, argv);
                        }
                }
                free(arg_chroot);
                arg_chroot = bare;
                return run_session(ctx, argc, argv);
        }
        case SESSION_ACTION_BEGIN:
                r = begin_session(ctx, name, argc);
                return r == -EINTR ? 128 + signals_pending() : r < 0;
        case SESSION_ACTION_RUN:
                return run_in_session(ctx, name, argc, argv);
        case SESSION_ACTION_END:
        case SESSION_ACTION_RECOVER:
                if (argc > 0)
                        return log_error("--end-session and --recover-session take no command"), 2;
                if (arg_action == SESSION_ACTION_END)
                        return end_session(ctx, name) < 0;
                if (geteuid() != 0)
                        return log_error("Sessions need root: run 'sudo arkose-chroot ...'"), 1;
                if (!caller_is_root() && check_session_owner(ctx, name) < 0)
                        return 1;
                return recover_session(ctx, name) < 0;
        }
        return 1;
}

/* Every session, with its state; stale ones (left for the next sweep) only when @with_stale. */
typedef struct SessionEntry {
        SessionInfo *info;
        SessionState state;
} SessionEntry;

static void session_entries_free(SessionEntry *l) {
        for (SessionEntry *e = l; e && e->info; e++)
                session_info_free(e->info);
        free(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SessionEntry *, session_entries_free);

static int session_entries(Context *ctx, bool with_stale, SessionEntry **ret) {
        _cleanup_(session_entries_freep) SessionEntry *l = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0;
        int r;

        r = session_list_ids(ctx->state_dir, &ids);
        if (r < 0)
                return log_error_errno(r, "Failed to list sessions in '%s': %m", ctx->state_dir);
        l = calloc(strv_length(ids) + 1, sizeof(SessionEntry));
        if (!l)
                return log_oom();
        for (char **id = ids; *id; id++) {
                SessionInfo *info = NULL;
                SessionState state;

                if (session_info_load(ctx->state_dir, *id, &info) < 0)
                        continue; /* gone meanwhile, or damaged: 'recover' removes it */
                state = session_info_state(info);
                if (state == SESSION_STATE_STALE && !with_stale) {
                        session_info_free(info);
                        continue;
                }
                l[n++] = (SessionEntry) { .info = info, .state = state };
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static void format_age(char *buf, size_t len, time_t created) {
        long long age = (long long) (time(NULL) - created);

        if (age < 0)
                age = 0;
        if (age < 120)
                snprintf(buf, len, "%llds", age);
        else if (age < 2 * 3600)
                snprintf(buf, len, "%lldm", age / 60);
        else if (age < 2 * 86400)
                snprintf(buf, len, "%lldh", age / 3600);
        else
                snprintf(buf, len, "%lldd", age / 86400);
}

static int print_sessions_json(const SessionEntry *l) {
        printf("[");
        for (const SessionEntry *e = l; e->info; e++) {
                _cleanup_strv_free_ char **kv = NULL;
                _cleanup_free_ char *text = NULL;

                if (session_info_to_kv(e->info, &kv) < 0 ||
                    strv_extend(&kv, "state") < 0 || strv_extend(&kv, session_state_to_string(e->state)) < 0 ||
                    strv_extend(&kv, "age_seconds") < 0 ||
                    strv_extendf(&kv, "%lld", (long long) (time(NULL) - e->info->created)) < 0)
                        return log_oom();
                text = state_to_json(kv);
                if (!text)
                        return log_oom();
                printf("%s\n%s", e == l ? "" : ",", text);
        }
        printf("%s]\n", l->info ? "\n" : "");
        return 0;
}

int verb_sessions(Context *ctx, int argc, char **argv) {
        _cleanup_(session_entries_freep) SessionEntry *l = NULL;
        int r;

        (void) argv;
        if (argc > 0)
                return log_usage("Usage: arkose-chroot sessions [--json]");
        (void) session_sweep_stale(ctx->state_dir);
        r = session_entries(ctx, false, &l);
        if (r < 0)
                return r;
        if (arg_json)
                return print_sessions_json(l);
        /* Columns as wide as their longest entry, at least as wide as they used to be. */
        int wid = 32, wchroot = 16;
        for (SessionEntry *e = l; e->info; e++) {
                if ((int) strlen(e->info->id) > wid)
                        wid = (int) strlen(e->info->id);
                if ((int) strlen(e->info->chroot) > wchroot)
                        wchroot = (int) strlen(e->info->chroot);
        }
        printf("%-*s %-*s %-9s %-12s %-8s %-6s %s\n", wid, "ID", wchroot, "CHROOT", "VERSION", "USER", "KIND", "AGE",
               "STATE");
        for (SessionEntry *e = l; e->info; e++) {
                char age[32];

                format_age(age, sizeof(age), e->info->created);
                printf("%-*s %-*s %-9s %-12s %-8s %-6s %s\n", wid, e->info->id, wchroot, e->info->chroot, e->info->version,
                       e->info->user ?: "-", e->info->source ? "source" : session_kind_to_string(e->info->kind), age,
                       session_state_to_string(e->state));
        }
        return 0;
}

int verb_recover(Context *ctx, int argc, char **argv) {
        _cleanup_strv_free_ char **names = NULL;
        unsigned removed = 0, dead = 0, builds = 0;
        int r;

        (void) argv;
        if (argc > 0)
                return log_usage("Usage: arkose-chroot recover");
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Recovering needs root: run 'sudo arkose-chroot recover'");
        r = session_recover_all(ctx->state_dir, &removed, &dead);
        if (r < 0)
                return log_error_errno(r, "Failed to look for stale sessions in '%s': %m", ctx->state_dir);
        /* Killed creates and updates leave staging directories in the store. */
        if (store_list_names(ctx->state_dir, &names) >= 0)
                for (char **n = names; *n; n++)
                        (void) store_sweep(ctx->state_dir, *n);
        /* And killed builds their build directories. */
        r = build_sweep(ctx->state_dir, &builds);
        if (r < 0)
                log_warning_errno(r, "Failed to look for build directories of killed builds, ignoring: %m");
        printf("Removed %u stale session%s", removed, removed == 1 ? "" : "s");
        if (builds > 0)
                printf(" and %u build director%s of killed builds", builds, builds == 1 ? "y" : "ies");
        if (dead > 0)
                printf("; %u dead session%s kept (--recover-session or --end-session)", dead,
                       dead == 1 ? "" : "s");
        printf("\n");
        return 0;
}

/* schroot's --info block for a session; sbuild reads Name and Path (the session's root on the host,
 * which exists while the session runs) and Session Purged. */
static void print_session_info(const SessionInfo *i, SessionState state) {
        char created[64];
        struct tm tm;

        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&i->created, &tm));
        printf("  --- Session ---\n");
        printf("  %-22s %s\n", "Name", i->id);
        printf("  %-22s %s\n", "Description", i->chroot);
        printf("  %-22s %s\n", "Type", "overlay");
        printf("  %-22s %s\n", "Aliases", "");
        printf("  %-22s %s\n", "Session ID", i->id);
        printf("  %-22s %s\n", "Session Managed", "true");
        printf("  %-22s %s\n", "Session Cloned", "true");
        printf("  %-22s %s\n", "Session Purged", "true");
        printf("  %-22s %s\n", "Original Chroot Name", i->chroot);
        printf("  %-22s %s\n", "Chroot Version", i->version);
        printf("  %-22s %s\n", "Session Kind", i->source ? "source" : session_kind_to_string(i->kind));
        printf("  %-22s %s\n", "Session State", session_state_to_string(state));
        printf("  %-22s %s\n", "Session User", i->user ?: "");
        printf("  %-22s %s\n", "Session Created", created);
        printf("  %-22s %s\n", "Path", i->root);
        printf("  %-22s %s\n", "Mount Location", i->root);
        printf("\n");
}

static int info_sessions(Context *ctx) {
        _cleanup_(session_entries_freep) SessionEntry *l = NULL;
        int r;

        r = session_entries(ctx, false, &l);
        if (r < 0)
                return r;
        for (SessionEntry *e = l; e->info; e++)
                print_session_info(e->info, e->state);
        return 0;
}

static int info_session(Context *ctx, const char *id) {
        _cleanup_(session_info_freep) SessionInfo *i = NULL;
        int r;

        r = session_info_load(ctx->state_dir, id, &i);
        if (r == -ENOENT || r == -EINVAL)
                return log_error_errno(-ENOENT, "No session '%s' (see 'arkose-chroot sessions')", id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the record of session '%s': %m", id);
        print_session_info(i, session_info_state(i));
        return 0;
}

/* Without a namespace, -i -c NAME means the chroot (schroot's default), unless only a session has
 * that name. */
static bool name_is_session_only(Context *ctx, const char *name) {
        _cleanup_(session_info_freep) SessionInfo *i = NULL;
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        int old = log_get_max_level(), r;

        if (session_info_load(ctx->state_dir, name, &i) < 0)
                return false;
        log_set_max_level(LOG_CRIT);
        r = context_resolve(ctx, name, false, &ref);
        log_set_max_level(old);
        return r < 0;
}

/* Whether -l or -i was given one of schroot's --all-* selections. */
static bool all_selected(void) {
        return arg_all_chroots || arg_all_source_chroots || arg_all_sessions;
}

int verb_info_all(Context *ctx, int argc, char **argv) {
        const char *spec = argc > 0 ? argv[0] : arg_chroot;
        SessionNamespace ns = SESSION_NAMESPACE_NONE;
        const char *name = NULL;
        int r;

        if (spec) {
                if (session_ref_parse(spec, &ns, &name) < 0)
                        return log_error_errno(-EINVAL, "Unsupported namespace in '%s': use chroot:NAME, source:NAME or session:ID",
                                               spec);
                if (ns == SESSION_NAMESPACE_SOURCE)
                        return verb_info_source(ctx, name);
                if (ns == SESSION_NAMESPACE_SESSION ||
                    (ns == SESSION_NAMESPACE_NONE && name_is_session_only(ctx, name)))
                        return info_session(ctx, name);
                char *one[] = { (char *) name, NULL };
                return verb_info(ctx, 1, one);
        }
        /* schroot's: no selection is --all-chroots --all-source-chroots. */
        if (!all_selected() || arg_all_chroots) {
                r = verb_info(ctx, 0, argv);
                if (r < 0)
                        return r;
        }
        if (!all_selected() || arg_all_source_chroots) {
                r = verb_info_sources(ctx);
                if (r < 0)
                        return r;
        }
        return arg_all_sessions ? info_sessions(ctx) : 0;
}

int end_all_sessions(Context *ctx) {
        _cleanup_(session_entries_freep) SessionEntry *l = NULL;
        int r, ret = 0;

        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Sessions need root: run 'sudo arkose-chroot ...'");
        r = session_entries(ctx, false, &l);
        if (r < 0)
                return r;
        for (SessionEntry *e = l; e->info; e++) {
                _cleanup_free_ char *live = strdup_printf("%s-live", e->info->chroot);

                if (e->info->kind != SESSION_KIND_DETACHED ||
                    (!caller_is_root() && e->info->uid != caller_uid()))
                        continue;
                /* A persistent chroot's shared container: ending it would discard what its users keep
                 * there ('stop NAME' keeps it). */
                if (!live)
                        return log_oom();
                if (streq(e->info->id, live))
                        continue;
                r = end_session(ctx, e->info->id);
                if (r < 0 && ret >= 0)
                        ret = r;
        }
        return ret;
}

int verb_list_all(Context *ctx, int argc, char **argv) {
        _cleanup_(session_entries_freep) SessionEntry *l = NULL;
        int r;

        if (!all_selected() || arg_all_chroots) {
                r = verb_list(ctx, argc, argv, true);
                if (r < 0)
                        return r;
        }
        if (!all_selected() || arg_all_source_chroots) {
                r = verb_list_sources(ctx);
                if (r < 0)
                        return r;
        }
        if (!arg_all_sessions)
                return 0;
        r = session_entries(ctx, false, &l);
        if (r < 0)
                return r;
        for (SessionEntry *e = l; e->info; e++)
                if (e->info->kind != SESSION_KIND_SPARE) /* nobody's session to enter */
                        printf("session:%s\n", e->info->id);
        return 0;
}

/* arkose-chroot start / stop NAME: the shared, long-lived container of a persistent chroot, session
 * "NAME-live". Its changes live in its own upper directory and survive stop/start (start recovers a
 * stopped one); --end-session discards them. */
int verb_start(Context *ctx, int argc, char **argv) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ char *id = NULL;
        SessionInfo *i = NULL;
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot start NAME");
        r = context_resolve(ctx, argv[0], false, &ref);
        if (r < 0)
                return r;
        if (!ref.def->persistent)
                return log_error_errno(-EINVAL, "Chroot '%s' is not persistent: add 'persistent = yes' to its definition, or use --begin-session",
                                       ref.name);
        id = strdup_printf("%s-live", ref.name);
        if (!id)
                return log_oom();
        if (session_info_load(ctx->state_dir, id, &i) >= 0) {
                SessionState st = session_info_state(i);
                session_info_free(i);
                if (st == SESSION_STATE_RUNNING) {
                        printf("%s\n", id);
                        fprintf(stderr, "The shared container of '%s' already runs (session %s)\n", ref.name, id);
                        return 0;
                }
                if (st == SESSION_STATE_DEAD) {
                        r = recover_session(ctx, id);
                        if (r >= 0)
                                printf("%s\n", id);
                        return r;
                }
                if (st != SESSION_STATE_STALE)
                        return log_error_errno(-EBUSY, "Session '%s' is %s; try again", id, session_state_to_string(st));
        }
        free(arg_session_name);
        arg_session_name = TAKE_PTR(id);
        r = begin_session(ctx, ref.name, 0);
        return r < 0 ? r : 0;
}

int verb_stop(Context *ctx, int argc, char **argv) {
        _cleanup_free_ char *id = NULL;
        const char *reason = NULL;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot stop NAME");
        if (!chroot_name_is_valid(argv[0], &reason))
                return log_error_errno(-EINVAL, "Invalid chroot name '%s': %s", argv[0], reason);
        id = strdup_printf("%s-live", argv[0]);
        if (!id)
                return log_oom();
        return session_stop_detached(ctx->state_dir, id, ctx->hook_dirs, ctx->config.hook_timeout);
}
