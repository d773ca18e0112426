/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "container.h"
#include "runtime-dir.h"
#include "session.h"

/* schroot's session actions. */
typedef enum SessionAction {
        SESSION_ACTION_AUTOMATIC,       /* one-shot: begin, run, end (the default) */
        SESSION_ACTION_BEGIN,
        SESSION_ACTION_RUN,
        SESSION_ACTION_END,
        SESSION_ACTION_RECOVER,
} SessionAction;

/* Parsed options shared by the verbs (defined in arkose-chroot.c). */
extern char *arg_chroot;
extern char *arg_user;
extern char *arg_directory;
extern bool arg_preserve_env;
/* Set by log_usage(): main() then exits 2, as for a bad option, rather than 1. */
extern bool arg_usage_error;
/* Logs a verb's usage error (a missing or extra argument) and returns -EINVAL. */
#define log_usage(...) (arg_usage_error = true, log_error_errno(-EINVAL, __VA_ARGS__))
extern bool arg_tmpfs;
extern char *arg_network;
extern char *arg_command;
extern int arg_keep;
extern char *arg_sha256;
extern char *arg_schroot_config;
extern bool arg_dry_run;
extern char *arg_profile;
extern char **arg_binds;
/* build (defined in arkose-chroot-build.c) */
extern char *arg_output;
extern char *arg_jobs;
extern char *arg_build_profiles;
extern char **arg_extra_packages;
extern bool arg_arch_all;
extern bool arg_no_arch_all;
extern bool arg_no_arch_any;
extern int arg_resolve_alternatives;
extern bool arg_source_too;
extern char **arg_extra_repositories;
extern char **arg_extra_repository_keys;
/* sbuild's binNMU options: --make-binNMU TEXT, --binNMU N, --binNMU-timestamp T, --append-to-version SUFFIX,
 * --binNMU-changelog ENTRY, -m/--maintainer; and --debbuildopts/--debbuildopt for dpkg-buildpackage. */
extern char *arg_make_binnmu;
extern unsigned arg_binnmu;
extern char *arg_binnmu_timestamp;
extern char *arg_append_to_version;
extern char *arg_binnmu_changelog;
extern char *arg_maintainer;
extern char **arg_debbuildopts;
extern char **arg_dpkg_source_opts;
extern bool arg_force_orig_source;
extern char *arg_build_path;
/* sbuild's --source-only-changes: also PKG_VERSION_source.changes (needs --source). */
extern bool arg_source_only_changes;
/* sbuild's --run-lintian (and --no-run-lintian), --lintian-opts, --lintian-opt. */
extern int arg_run_lintian;         /* -1: arkose.conf's [build] run-lintian */
extern char **arg_lintian_opts;
/* sbuild's --run-autopkgtest (and --no-run-autopkgtest), --autopkgtest-opts, --autopkgtest-opt. */
extern int arg_run_autopkgtest;     /* -1: arkose.conf's [build] run-autopkgtest */
extern char **arg_autopkgtest_opts;
/* sbuild's --purge-build/--purge-session modes: when the build session and directory are removed. */
typedef enum BuildPurge {
        BUILD_PURGE_ALWAYS,     /* the default */
        BUILD_PURGE_NEVER,      /* kept (--keep-session) */
        BUILD_PURGE_SUCCESSFUL, /* kept when the build failed */
        _BUILD_PURGE_MAX,
        _BUILD_PURGE_INVALID = -EINVAL,
} BuildPurge;
extern BuildPurge arg_purge;
/* Checks an --extra-package argument, sbuild's: a package name (then *ret_debs is NULL), or a .deb file or a
 * directory of them (a path with a '/' or ending in ".deb"), installed from the files: their absolute paths
 * in *ret_debs, a directory's .deb files (not below it) in name order. Logs one line. Returns 0 or -errno. */
int build_extra_package_parse(const char *arg, char ***ret_debs);
/* "always", "never", "successful" (sbuild's words) to a BuildPurge; _BUILD_PURGE_INVALID for others. */
BuildPurge build_purge_from_string(const char *s);
extern char *arg_arch;
extern char *arg_host;
/* sbuild's --NAME-commands options of build: build_hook_option(i) is NAME-commands for i from 0 until it
 * returns NULL; build_hook_add() checks the % escapes of @cmd (one line on error) and adds it. */
const char *build_hook_option(int i);
int build_hook_add(int i, const char *cmd);
/* sbuild's --add-depends[-arch|-indep] and --add-conflicts[-arch|-indep]: build_add_option(i) is the option's
 * name for i from 0 until it returns NULL; build_add_add() adds @value (one line on error). */
const char *build_add_option(int i);
int build_add_add(int i, const char *value);
/* Whether @s is a URL that fetch_download() takes (http://, https://, file://). */
bool is_url(const char *s);
/* Checks an --extra-repository line (one line on error). */
int build_check_extra_repository(const char *line);
extern SessionAction arg_action;
extern char *arg_session_name;
extern bool arg_all_chroots;
extern bool arg_all_source_chroots;
extern bool arg_all_sessions;
extern bool arg_json;
/* --error-status: --run-session's exit status for its own failures (autopkgtest reads 255 as "the
 * execute command failed", and the command's own status otherwise). */
extern int arg_error_status;
/* --autopkgtest: --run-session's command runs as autopkgtest's execute command (arkose-init
 * --autopkgtest-exec). */
extern bool arg_autopkgtest;
/* --isolate-network: the command runs in a network namespace of its own with only loopback (schroot's
 * option as sbuild >= 0.89 passes it for the build); a one-shot session gets no network at all. */
extern bool arg_isolate_network;

/* What every verb of arkose-chroot shares: resolved directories and the loaded configuration. */
typedef struct Context {
        char *state_dir;
        char *config_dir;
        char *data_dir;
        char *hooks_dir;
        char **def_dirs;        /* config_dir/chroots.d, data_dir/chroots */
        char **hook_dirs;       /* hooks_dir, config_dir/hooks.d */
        char **profile_dirs;    /* config_dir/profiles.d, data_dir/profiles, data_dir/confs/profiles */
        char *apparmor_template;
        char *mirror;           /* --mirror */
        char *bootstrap;        /* --bootstrap */
        ArkoseConfig config;
} Context;

/* Resolved "NAME[@VERSION]". */
typedef struct ChrootRef {
        ChrootDef *def;
        char *name;             /* the definition's name (an alias resolved) */
        unsigned version;       /* 0: current / not versioned */
        char *rootfs;           /* the tree to use: the bottom of @lowers */
        char **lowers;          /* overlay lower directories, topmost first */
        char *version_str;      /* "3" or "directory" */
} ChrootRef;

void chroot_ref_done(ChrootRef *r);

/* chroot_personality() of @r's architecture on this host's kernel. */
const char *chroot_ref_personality(const ChrootRef *r);
/* Whether this host runs the programs of @r's architecture (lib/arch.h: natively, or through qemu-user's
 * binfmt_misc handler with flag F): 0, or a one-line error logged and -ENOEXEC or -EPERM. Reads a file
 * only for a foreign architecture. */
int chroot_ref_check_runnable(const ChrootRef *r);

/* Whether the amd64 programs of the tree whose layers are @layers (topmost first; a full tree is one layer)
 * need the kernel's vsyscall page, which this kernel does not map (lib/arch.h: libc6 before 2.14 on an
 * x86_64 kernel booted vsyscall=none, Debian's default), judging by dpkg's status in the topmost layer that
 * has one: 1 and *ret_libc_version, 0, or -ENOMEM. vsyscall_warn() logs one warning line about it, starting
 * with @what, when it is so. Both read files only on an x86_64 host. */
int vsyscall_check(char *const *layers, char **ret_libc_version);
void vsyscall_warn(char *const *layers, const char *what);
/* The same for the new tree @rootfs of chroot @name ("Chroot 'NAME': ..."), made by create or import. */
void vsyscall_warn_tree(const char *name, const char *rootfs);

/* Logs that there is no chroot @name: with the name it is a typo of, if there is one (schroot says only
 * "Chroot not found"); else, for @create, where to write its definition; else, the session of that name, if
 * there is one (-c takes it as session:NAME). Returns -ENOENT. */
int context_log_no_chroot(Context *ctx, const char *name, bool create);

/* Resolves @spec ("NAME", "ALIAS", "NAME@3") to its definition and tree. Logs one error line. */
int context_resolve(Context *ctx, const char *spec, bool need_tree, ChrootRef *ret);

/* Rewrites this process's command line as ps shows it (in place, cut to its length at start) to @title: a
 * spare session's owner must not look like the command it was forked from, still running minutes later.
 * The original arguments' strings are overwritten: only for a process that no longer reads them. */
void process_set_title(const char *title);

/* Signal forwarding: SIGINT, SIGTERM, SIGHUP and SIGQUIT go to the registered child; before one is
 * registered they are remembered. */
void signals_install(void);
void signals_forwarded(sigset_t *ret); /* the set signals_install() catches */
void signals_forward_to(pid_t pid);
/* The same, sending @hangup_signal instead of SIGHUP (SessionChildNotify). */
void signals_forward_child(pid_t pid, int hangup_signal);
int signals_pending(void); /* the first signal received, or 0 */

/* For crash tests: when $ARKOSE_TEST_PAUSE_AT names @point, stops this process (SIGSTOP) there, so that a
 * test can SIGKILL it at a known step. Does nothing otherwise. */
void test_pause_point(const char *point);

/* Access control (arkose-chroot-access.c). */
bool caller_is_root(void);
/* The real caller's uid (before a setuid run made itself root). */
uid_t caller_uid(void);
/* The caller's umask (a setuid run works with 022 itself): the command's. */
mode_t caller_umask(void);
/* First thing main() does: in a setuid run, closes inherited fds, reduces the environment, resets the
 * umask. */
int access_setup(void);
/* Refuses (one line, -EPERM) @what to callers who are not root. */
int access_require_root(const char *what);
/* Checks that the caller may run a session of @def as @target_uid (root-users/root-groups for another
 * user), with @wide_option ("--network", "--profile": only for root-users/root-groups; NULL: none), binding
 * @dir (NULL: none). Root may do anything. */
int access_check_session(const ChrootDef *def, uid_t target_uid, const char *target_user, const char *wide_option,
                         const char *dir);
/* Refuses a session (or anything else) owned by another user to callers who are not root. */
int access_check_owner(uid_t owner, const char *what);
/* Reads the file @path with the caller's own rights (opened by a child that takes the caller's identity,
 * when a setuid run is not root's), at most @max bytes. *ret is newly allocated, *ret_size bytes (binary;
 * a NUL follows). Returns 0, -errno of open() as the caller or of read(), -EBADMSG for what is not a
 * regular file (a FIFO is not waited for), -EFBIG above @max. Does not log. */
int access_read_file_as_caller(const char *path, size_t max, char **ret, size_t *ret_size);

/* Finds the session profile @name (logs one line). */
int context_find_profile(Context *ctx, const char *name, Profile **ret);

int verb_create(Context *ctx, int argc, char **argv);
int verb_update(Context *ctx, int argc, char **argv);
/* -c source:NAME: schroot's source chroot, the tree itself. A command (or a shell) runs as update's does,
 * and its changes become a new version when it succeeds; --begin-session starts a detached session like
 * it, whose changes --end-session publishes (source_session_end()). Returns the exit status. */
int source_action(Context *ctx, const char *spec, int argc, char **argv);
/* Creates the detached session of @plan and prints its id (--begin-session), ending it again when a
 * signal came meanwhile (-EINTR) or the id could not be written. Logs. */
int session_begin_detached(const SessionPlan *plan);
/* --end-session of source session @si: stops it, then publishes its writable layer as a new version on
 * the one it began over, if that is still current and the layer holds anything; ends it. Logs. */
int source_session_end(Context *ctx, const SessionInfo *si);
int verb_rollback(Context *ctx, int argc, char **argv);
int verb_remove(Context *ctx, int argc, char **argv);
int verb_gc(Context *ctx, int argc, char **argv);
int verb_diff(Context *ctx, int argc, char **argv);
int verb_squash(Context *ctx, int argc, char **argv);
int verb_apparmor_profile(Context *ctx, int argc, char **argv);

typedef struct UserInfo {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
        gid_t *groups;
        int n_groups;
        char *groups_str;       /* "name:gid ..." */
} UserInfo;

/* The session user: -u USER, else the user sudo was run by, else the caller. Logs. */
int user_resolve(UserInfo *ret);
/* user_resolve()'s two halves: the passwd entry (name, uid, gid, home, shell), then the supplementary
 * groups from the host's NSS (groups, n_groups, groups_str). Log. */
int user_resolve_passwd(UserInfo *ret);
int user_resolve_groups(UserInfo *ret);
/* The environment of root's commands that prepare a tree (update, a build's dependencies). */
extern char *root_env[];
void user_info_done(UserInfo *u);

int verb_build(Context *ctx, int argc, char **argv);
/* Removes the build directories killed builds left in STATE/builds (not a running build's, nor one whose
 * kept session is still there); their number in *@ret_removed. Returns 0 or -errno. */
int build_sweep(const char *state_dir, unsigned *ret_removed);
int verb_start(Context *ctx, int argc, char **argv);
int verb_stop(Context *ctx, int argc, char **argv);

/* Writes the dpkg manifest of @rootfs to @path ("package\tversion\tarch" lines). */
int write_manifest(const char *rootfs, const char *path);
/* Copies the tree @source_dir to @target (cp -a --one-file-system): owners, modes, links, xattrs. */
int tree_copy(const char *source_dir, const char *target);

/* Builds apt's binary caches in @rootfs once (harmless on failure). */
void prebuild_apt_caches(const char *rootfs);

/* Unpacks @source (a file, a directory in LXC image layout, or an http(s)/file URL) as the next version
 * of NAME, verified against @sha256 when given. Logs one error line. */
int import_tree(Context *ctx, const char *name, const char *source, const char *sha256);
int verb_import_schroot(Context *ctx, int argc, char **argv);

int verb_export(Context *ctx, int argc, char **argv);
int verb_import(Context *ctx, int argc, char **argv);

/* Gives this process a mount namespace of its own whose mounts vanish with it. Logs. */
int private_mount_namespace(void);

/* The same, without the other sessions' mounts (below STATE/sessions): for a process that makes its own
 * mounts there and lives as long as they do, whose copies of the others' would keep their overlays alive
 * after they ended. Logs. */
int session_mount_namespace(Context *ctx);

/* The plan of a root session over @lowers that writes into @upper (kept: a layer being made) with
 * @work, @network and host directories @binds, no hooks, in "/": update's (run_in_layer()) and the
 * dependency stage of build. */
SessionPlan layer_session_plan(const Context *ctx, const ChrootRef *ref, char **lowers, const char *upper,
                               const char *work, ContainerNetwork network, char **binds);

/* Runs @argv (NULL: root's login shell) in a session of layer_session_plan(), with @extra_binds and,
 * with the host's network, its resolv.conf bound, on a pseudo-terminal of its own with @terminal: how
 * update makes a new layer. The caller is in a private mount namespace. Returns 0 and the command's
 * status, or -errno (logged). */
int run_in_layer(Context *ctx, const ChrootRef *ref, char **lowers, const char *upper, const char *work,
                 ContainerNetwork network, char **extra_binds, char **argv, bool terminal, int *ret_status);

/* The command's environment: schroot-like clean defaults, or the caller's with -p; plus ARKOSE_CHROOT,
 * ARKOSE_CHROOT_VERSION and ARKOSE_SESSION_ID. Returns 0 or -ENOMEM. */
int build_env(const UserInfo *u, const Profile *profile, const char *chroot, const char *version,
              const char *session, bool terminal, char ***ret);

/* The directories to bind-mount for working directory @cwd: itself, or its parent when it is a Debian
 * source tree, so that dpkg-buildpackage's results (written to "..") land on the host too; none when that
 * directory is "/" or holds files (not only dotfiles) in the tree of layers @lowers, such as /etc, /usr or
 * /var/lib (the command then starts in the chroot's own), is not on the host (-d DIR in the chroot only),
 * or is, holds or is in @state_dir or a layer of @lowers, as a directory chroot's directory is (a session
 * never reaches the cached trees: *@cwd is then "/", unless the chroot has that directory). Returns 0 or
 * -ENOMEM. */
int plan_binds(char **cwd, char **lowers, const char *state_dir, char ***ret);

/* The working directory for a session: -d DIR (resolved on the host; an absolute path the host lacks but the
 * tree of layers @lowers has, as it is), else the current one. Logs. */
int session_cwd(char **lowers, char **ret);

/* What a new session (one-shot or --begin-session) is made from: the options resolved. */
typedef struct SessionSetup {
        ChrootRef ref;
        UserInfo user;
        ContainerNetwork network;
        char *cwd;
        char **binds;
        int use_lock;           /* NAME's use lock (shared), until the record names the version */
        Profile *profile;       /* --profile, else the chroot's, else buildd; --network, --bind applied */
        RuntimePlan runtime;    /* the profile's [runtime]: the user's sockets, its bus */
        char *xauthority;       /* NULL, or the caller's X cookies for the session (xauth_make_wild()), */
        size_t xauthority_size; /*   when the profile keeps XAUTHORITY */
} SessionSetup;

void session_setup_done(SessionSetup *s);

/* Resolves -c CHROOT and the session options (-u, -d, --network), and sweeps what killed sessions
 * left. Needs root. Logs one error line. Returns 0 or -errno. */
int session_setup_prepare(Context *ctx, const char *chroot, SessionSetup *ret);

/* The SessionPlan for @s (borrowing from it and @ctx). */
SessionPlan session_setup_plan(Context *ctx, SessionSetup *s);

/* A user who joins running session @session (not its own user, not root) gets a runtime directory of their
 * own at /run/user/UID, with the sockets @profile's [runtime] names (theirs: the caller must be the user
 * or root), made again at each command. Not having one is a notice. Returns 0 or -ENOMEM (logged). */
int session_join_runtime(Session *session, const Profile *profile, const UserInfo *user);

/* Runs @argv (none: the login shell) in @session as @user in @cwd, with the caller's stdio (a pty when
 * both stdin and stdout are terminals) and signals forwarded. Returns 0 and the command's exit status,
 * or -errno (logged). */
int session_run_command(Session *session, const UserInfo *user, const Profile *profile, const char *cwd, int argc,
                        char **argv, int *ret_status);
int session_run_command_full(Session *session, const UserInfo *user, const Profile *profile, const char *cwd,
                             int argc, char **argv, bool socket_only, int *ret_status);

/* Logs parse error @r of config file @path ("PATH:LINE: what is wrong there", @what naming the kind of file
 * when nothing more can be said) and returns @r. */
int log_config_error(int r, const char *path, unsigned line, const char *key, const char *what);

int verb_list(Context *ctx, int argc, char **argv, bool schroot_style);
int verb_info(Context *ctx, int argc, char **argv);
/* schroot's source chroots (source:NAME, the chroots with versions): -l's lines, --info's blocks, and
 * --info of one. */
int verb_list_sources(Context *ctx);
int verb_info_sources(Context *ctx);
int verb_info_source(Context *ctx, const char *spec);
int run_session(Context *ctx, int argc, char **argv);

/* -c SPEC with a session action (or none: one-shot), after schroot's namespaces: --begin-session and
 * one-shot sessions take a chroot, the other actions a session; "session:ID" without an action runs in
 * the session. Returns the exit status. */
int session_action(Context *ctx, int argc, char **argv);

/* -l and -i with schroot's selections (--all-chroots, --all-sessions, --all; -c). */
int verb_list_all(Context *ctx, int argc, char **argv);
/* --end-session --all-sessions, schroot's way to end every session: ends the detached sessions (of the
 * caller, unless root) but a persistent chroot's shared NAME-live, whose changes that would discard (stop
 * NAME keeps them); one-shot sessions end with their command, spares are nobody's. Logs. Returns 0, or the
 * first failure's -errno after trying them all. */
int end_all_sessions(Context *ctx);
int verb_info_all(Context *ctx, int argc, char **argv);

int verb_sessions(Context *ctx, int argc, char **argv);
int verb_recover(Context *ctx, int argc, char **argv);
