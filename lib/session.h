/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "base/macro.h"
#include "container.h"

/* session: a session's life. Its directory STATE/sessions/ID holds
 *   lock           held (OFD, exclusive) by the process that owns the session: a one-shot session's
 *                  arkose-chroot for its whole life; for a detached session (--begin-session) whoever
 *                  starts, recovers or ends it, only while doing so
 *   session.json   the record: what the session is and every resource it owns (see SessionInfo)
 *   upper/ work/   the overlay's writable layer (on a tmpfs mounted at tmp/ with --tmpfs)
 *   root/          the overlay: the container's root
 *   lxc.log        liblxc's log
 * and STATE/lxc/ID is the container's directory in the state directory's lxcpath.
 *
 * Crash safety. A session directory is built as STATE/sessions/.new-ID-XXXXXX (lock taken, record
 * written) and renamed into place, so a visible session directory always has a record and, while its
 * owner lives, a held lock. Each resource is named in the record before it is made. A record's phase
 * says how far the session got: "starting" until its container runs, "ready" then, "ending" once an
 * end began. An end renames the directory out of sight (.ending-ID-XXXXXX) before deleting it.
 *
 * Which directories are stale (see session_sweep_decide()): one whose lock is free and which is a
 * one-shot session (its owner died), a detached session still "starting" or already "ending" (its
 * begin or end was killed), or a hidden .new-/.ending- directory. A "ready" detached session is never
 * stale: with its container running it is live, without it is dead, kept with its writable layer for
 * --recover-session until --end-session.
 *
 * Where the mounts live. A one-shot session's overlay is mounted in the caller's mount namespace, which
 * arkose-chroot makes private first, so that it vanishes with the process. A detached session's overlay
 * is mounted in the namespace of the caller, the host's: it must outlive the caller, and its root must
 * be a host directory for tools that write into it (sbuild's "Path"). */

typedef enum SessionKind {
        SESSION_KIND_ONESHOT,   /* one arkose-chroot process owns it from start to end */
        SESSION_KIND_DETACHED,  /* --begin-session: lives on its own until --end-session */
        SESSION_KIND_SPARE,     /* made ahead for the next one-shot command (lib/spare.h): one process,
                                 * its owner, holds its lock from start to end, as for a one-shot */
        _SESSION_KIND_MAX,
        _SESSION_KIND_INVALID = -EINVAL,
} SessionKind;

const char *session_kind_to_string(SessionKind k);
SessionKind session_kind_from_string(const char *s);

typedef enum SessionPhase {
        SESSION_PHASE_STARTING,
        SESSION_PHASE_READY,
        SESSION_PHASE_ENDING,
        _SESSION_PHASE_MAX,
        _SESSION_PHASE_INVALID = -EINVAL,
} SessionPhase;

const char *session_phase_to_string(SessionPhase p);
SessionPhase session_phase_from_string(const char *s);

/* What a session looks like from outside, as listed. */
typedef enum SessionState {
        SESSION_STATE_STARTING, /* being started (lock held) */
        SESSION_STATE_RUNNING,  /* its container runs */
        SESSION_STATE_DEAD,     /* detached, container gone (e.g. a reboot): --recover-session or
                                 * --end-session */
        SESSION_STATE_ENDING,   /* being ended (lock held) */
        SESSION_STATE_STALE,    /* left by a killed arkose-chroot; the next sweep removes it */
        _SESSION_STATE_MAX,
        _SESSION_STATE_INVALID = -EINVAL,
} SessionState;

const char *session_state_to_string(SessionState s);

typedef struct SessionPlan {
        const char *state_dir;
        const char *id;                 /* NULL: a new "CHROOT-xxxxxxxx" */
        bool detached;                  /* --begin-session: container daemonized, overlay mounted in the
                                         * caller's (host) namespace and kept across reboots (no "volatile") */
        bool spare;                     /* a spare session (lib/spare.h): as a one-shot session, but its
                                         * container starts at once, with an init serving one command */
        bool shared;                    /* with @spare: a shared one, whose init runs each command in a
                                         * sub-session of its own, many at once, and retires after
                                         * @idle_timeout seconds without one (arkose-init --listen-fresh) */
        unsigned idle_timeout;
        const char *chroot;
        const char *alias;              /* the name the chroot was chosen by, if another (-c stable), for
                                         * the commands' SCHROOT_ALIAS_NAME; NULL: @chroot */
        const char *version;            /* "3", or "directory" for source=directory chroots */
        const char *personality;        /* chroot_personality() of its architecture: the container's */
        char **lowers;                  /* the tree's layers, topmost first */
        bool tmpfs;                     /* upper and work directories on a tmpfs */
        const char *upper;              /* NULL, or an upper directory to keep (update: a store staging */
        const char *work;               /*   layer), with its work directory; then @tmpfs is ignored */
        int *record_lock;               /* if set, a lock fd closed (and set to -EBADF) as soon as the
                                         * session's record names its version, before anything forks */
        bool no_hooks;
        bool source;                    /* with @detached: a source session (-c source:NAME), whose upper
                                         * directory --end-session publishes as a new version of the
                                         * chroot; no hooks run in it, at its start or its end */
        bool private_mounts;            /* the caller has a mount namespace of its own, which goes with it
                                         * (private_mount_namespace()): a one-shot session's command then
                                         * runs with the caller as the container's monitor (container_run()) */
        const struct Profile *profile;  /* NULL: no profile (update sessions); else its mounts, limits,
                                         * capabilities, network (replacing @network) and AppArmor */
        const char *apparmor_template;  /* confs/apparmor/arkose-session.template, installed */
        char **profile_binds;           /* the --bind specs added to @profile: recorded with its name and
                                         * network, so that the profile can be rebuilt for the session's
                                         * later commands and its recovery */
        ContainerNetwork network;
        char **binds;                   /* host directories bind-mounted at the same path */
        const char *cwd;

        const char *user;
        uid_t uid;
        gid_t gid;
        const char *home;
        const char *shell;
        const char *groups;             /* "name:gid ..." for hooks */

        char **hook_dirs;
        unsigned hook_timeout;

        const struct RuntimePlan *runtime; /* NULL, or the user's own runtime directory (runtime-dir.h) */
        const char *xauthority;         /* NULL, or X authority file content for the user (xauth.h), */
        size_t xauthority_size;         /*   kept as STATE/sessions/ID/xauthority (the user's, 0600) and
                                         *   bound read-only at SESSION_XAUTHORITY_PATH */
} SessionPlan;

/* A session's record (STATE/sessions/ID/session.json), as read back. Filled in by session_info_plan()
 * or session_info_load(); callers only read it. */
typedef struct SessionInfo {
        char *id;
        SessionKind kind;
        SessionPhase phase;
        char *chroot;
        char *alias;                    /* SessionPlan's, or NULL */
        char *version;
        char *personality;              /* "linux32" or NULL (SessionPlan) */
        char **lowers;                  /* topmost first */
        bool tmpfs;
        ContainerNetwork network;
        bool shared;                    /* a shared spare (SessionPlan) */
        bool source;                    /* a source session (SessionPlan) */
        char **binds;
        char *cwd;
        char *user;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
        char *groups;
        time_t created;
        pid_t owner_pid;                /* the process that made it */
        pid_t init_pid;                 /* the container's init on the host, 0 until it runs */
        unsigned long long init_start;  /* its start time (pid_start_time()), telling it from a reused pid */
        char *profile;                  /* the profile's name, NULL for none (update sessions) */
        char *profile_network;          /* its network mode as used ("none", "host", "filtered") */
        char **profile_binds;           /* --bind specs added to it */
        /* Resources, all recorded before they are made: */
        char *dir;                      /* STATE/sessions/ID */
        char *root;                     /* the overlay mount point */
        char *tmp;                      /* the tmpfs mount point (--tmpfs), else NULL */
        char *upper;
        char *work;
        char *container;                /* the container's name (the id) ... */
        char *lxcpath;                  /* ... in this lxcpath */
        char *lxcdir;                   /* lxcpath/ID */
        char *log_file;
} SessionInfo;

void session_info_done(SessionInfo *i);
SessionInfo *session_info_free(SessionInfo *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(SessionInfo *, session_info_free);

/* Describes the session @plan makes, as its record: all its resource paths, phase "starting", owner
 * the calling process. Pure but for getpid() and time(). Returns 0, -EINVAL (bad id, no lowers) or
 * -ENOMEM; *ret is left for session_info_done() either way. */
int session_info_plan(const SessionPlan *plan, const char *id, SessionInfo *ret);

/* The record as a NULL-terminated list of alternating keys and values (for state_write()), and back.
 * Lists are joined with newlines. Pure. from_kv returns -EBADMSG for a record missing a required key
 * or holding a bad value. */
int session_info_to_kv(const SessionInfo *i, char ***ret);
int session_info_from_kv(char *const *kv, SessionInfo *ret);

/* Reads the record of session @id under @state_dir. Returns 0 and *ret, -EINVAL for an invalid id,
 * -ENOENT for no such session, -EBADMSG for a damaged record. Logs nothing. */
int session_info_load(const char *state_dir, const char *id, SessionInfo **ret);

/* The session's state as listed: looks at its lock and, for a ready session, at its container. */
SessionState session_info_state(const SessionInfo *i);

/* The ids of all sessions under @state_dir (hidden staging directories left out), sorted. Returns 0
 * and *ret (never NULL), or -errno. */
int session_list_ids(const char *state_dir, char ***ret);

typedef struct Session Session;

/* Creates and starts a session for @plan. A one-shot session's container is tied to the calling
 * process (and its overlay lives in the caller's mount namespace); a detached one outlives it: free its
 * handle with session_leave(). Logs one error line on failure and leaves nothing behind. Returns 0 and
 * *ret, -EEXIST (logged) when @plan->id is taken, or -errno. */
int session_create(const SessionPlan *plan, Session **ret);

/* Opens the running session @id to run commands in it. Logs one error line on failure. Returns 0 and
 * *ret (free it with session_leave()), -ENOENT for no such session, -EAGAIN when it is still starting
 * or already ending, -ESRCH when its container is not running (dead: see session_recover()). */
int session_open(const char *state_dir, const char *id, Session **ret);

/* Opens spare session @id (lib/spare.h), claimed by the caller, to run its one command through its
 * socket. Logs nothing. Returns 0 and *ret (free it with session_leave()), -ENOENT when it is no usable
 * spare (gone, its init dead, no socket), or -ENOMEM. */
int session_open_spare(const char *state_dir, const char *id, Session **ret);

/* Whether the container of session @s, which this handle made and tied to the caller, has gone. */
bool session_exited(Session *s);

/* container_set_scheduler() for the container of @s. */
int session_set_scheduler(Session *s, int policy);

/* The session id and its record (borrowed while @s lives). */
const char *session_id(Session *s);
const SessionInfo *session_get_info(Session *s);

/* Called with the pid to forward the command's signals to, SIGHUP as @hangup_signal, once it runs; then
 * with 0 once it has ended. The pid is the caller's own while it runs the container itself
 * (container_run()): the signals it forwards are then to be blocked, so that liblxc's monitor takes them,
 * and SIGHUP sent on as CONTAINER_SIGNAL_HANGUP. */
typedef void (*SessionChildNotify)(pid_t pid, int hangup_signal);

/* Runs @attach in the session and waits for it. Returns 0 and the command's exit status in
 * *ret_status (128+N when killed by signal N), or -errno (logged). */
int session_run(Session *s, const AttachPlan *attach, SessionChildNotify notify, int *ret_status);

/* Whether session @s (opened) has a command socket (lib/runsock.h) that session_run_socket() may use. */
bool session_has_socket(Session *s);

/* Where a session's X authority file (SessionPlan.xauthority) appears inside it. */
#define SESSION_XAUTHORITY_PATH "/run/arkose/Xauthority"

/* Whether session @s has an X authority file for its user (SessionPlan.xauthority). */
bool session_has_xauthority(Session *s);

/* Runs @attach in opened session @s through its init's command socket, with the caller's stdin, stdout and
 * stderr, and waits for it, passing on the signals of @forward, which the caller has blocked (and
 * @pending, unless 0, as soon as the command runs). Returns 0 and the command's exit status in
 * *ret_status; -EOPNOTSUPP, logging nothing, when the command must go through session_run() instead (no
 * socket, a terminal, a login shell, or a socket nobody answers on: nothing ran); -ENOTRECOVERABLE,
 * logged at debug level, when a shared spare's init could not make the command's sub-session (nothing
 * ran); or -errno, logged (e.g. -ENOENT for a working directory missing in the session). */
int session_run_socket(Session *s, const AttachPlan *attach, const sigset_t *forward, int pending, int *ret_status);

/* Whether @dir (absolute) is a directory inside the running session's root, as its commands see it
 * (bind mounts included, symlinks resolved inside). */
bool session_has_directory(Session *s, const char *dir);

/* A user to run commands as, from the host's passwd (all borrowed). */
typedef struct SessionUser {
        const char *name;
        uid_t uid;
        gid_t gid;
        const char *home;
        const char *shell;
        const char *groups;             /* "name:gid ..." */
        char **binds;                   /* "HOST:TARGET:ro|rw" (profile_add_bind() specs): the session's
                                         * profile binds of the user's home ($HOME), for this user */
} SessionUser;

/* Makes @u known in running detached session @s if it is not yet (no line for its name in the session's
 * /etc/passwd): runs the hooks for phase "setup-user" with @u as the hooks' user, holding the session's
 * lock so that two at once do not edit the same files; then binds @u->binds into the running container
 * (a missing host directory is skipped with a notice, a target the session already has, as a
 * system user's home, with an info line) and adds them to the record's profile binds, so
 * that --recover-session binds them again. Root, a known user, and one-shot sessions (whose root is not
 * in reach) need nothing. Logs one error line. Returns 0 or -errno. */
int session_ensure_user(Session *s, const SessionUser *u, char *const *hook_dirs, unsigned hook_timeout);

/* Ends a session this handle made: container stopped, setup-stop hooks, mounts undone, directories
 * removed. Returns 0 or the first -errno (logged); the handle is still to be freed. */
int session_end(Session *s);

/* Frees the handle of a detached or opened session, leaving the session as it is. Returns NULL. */
Session *session_leave(Session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Session *, session_leave);

/* Frees @s, first ending it if it is a session this handle made and did not leave. Returns NULL. */
Session *session_free(Session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Session *, session_free);

/* Ends detached session @id (--end-session): waits for its lock, records phase "ending", stops its
 * container, runs the setup-stop hooks, undoes its mounts and removes its directories, so that its
 * changes are gone. A dead session ends the same way. Logs one error line. Returns 0, -ENOENT for no
 * such session, or -errno. */
int session_end_detached(const char *state_dir, const char *id, char *const *hook_dirs, unsigned hook_timeout);

/* Stops detached session @id but keeps it: its container stops and its overlay is unmounted, its
 * record and writable layer stay, as after a reboot; session_recover() starts it again with its
 * changes (arkose-chroot stop / start of a persistent container). Logs. */
int session_stop_detached(const char *state_dir, const char *id, char *const *hook_dirs, unsigned hook_timeout);

/* What --recover-session needs besides the record: the hooks, and the session's profile rebuilt from
 * the record's profile fields (NULL when it has none). */
typedef struct SessionRecoverPlan {
        char *const *hook_dirs;
        unsigned hook_timeout;
        const struct Profile *profile;
        const char *apparmor_template;
} SessionRecoverPlan;

/* Restarts dead detached session @id (--recover-session): mounts its overlay again over its kept
 * writable layer, runs the hooks for phase "setup-recover", starts its container under its profile. A
 * running session is left alone (returns 0). Logs one error line. Returns 0, -ENOENT for no such
 * session, -EAGAIN when it is being started or ended, -ENODATA when its writable layer was on a tmpfs
 * that is gone, or -errno. */
int session_recover(const char *state_dir, const char *id, const SessionRecoverPlan *plan);

typedef enum SessionSweepAction {
        SESSION_SWEEP_KEEP,     /* live, or not ours to decide */
        SESSION_SWEEP_REMOVE,   /* stale: stop its container, undo its mounts, remove its directories */
        SESSION_SWEEP_DEAD,     /* a dead detached session: undo leftover mounts, keep record and layer */
} SessionSweepAction;

/* The sweep's decision for one session directory: @info is its record (NULL when missing or damaged),
 * @lock_free whether its lock could be taken, @container_running whether its container runs (only
 * asked for a ready detached session). Pure; unit-tested. */
SessionSweepAction session_sweep_decide(const SessionInfo *info, bool lock_free, bool container_running);

/* Removes stale sessions under @state_dir (see above): their containers, mounts and directories, and
 * hidden staging or ending directories whose owner died. Live sessions are never touched; dead ones
 * neither (only session_recover_all() looks at them). Cheap enough to run at every session start.
 * Returns the number removed, or -errno. */
int session_sweep_stale(const char *state_dir);

/* 'arkose-chroot recover': session_sweep_stale(), and also container directories without a session,
 * and the leftover mounts of dead detached sessions (their records and writable layers are kept).
 * Returns 0 and the counts (either may be NULL), or -errno. Logs a warning per session it could not
 * clean. */
int session_recover_all(const char *state_dir, unsigned *ret_removed, unsigned *ret_dead);

/* Lists the versions of @chroot that sessions use, from their records: live one-shot sessions (lock
 * held) and detached sessions that are not ending (dead ones too: they may be recovered). Returns 0 and
 * *ret (*ret_n entries), or -errno. */
int session_versions_in_use(const char *state_dir, const char *chroot, unsigned **ret, size_t *ret_n);

/* Makes a new session id "CHROOT-xxxxxxxx" (8 random hex digits). Returns NULL on OOM. */
char *session_id_new(const char *chroot);

/* Whether @id may name a session (-n): the rules of chroot names. On false, *ret_reason (if given) is a
 * static English phrase. */
bool session_id_is_valid(const char *id, const char **ret_reason);

typedef enum SessionNamespace {
        SESSION_NAMESPACE_NONE,         /* no prefix: the action's default */
        SESSION_NAMESPACE_CHROOT,       /* "chroot:NAME" */
        SESSION_NAMESPACE_SESSION,      /* "session:ID" */
        SESSION_NAMESPACE_SOURCE,       /* "source:NAME": the chroot's tree itself, changed into a new version */
} SessionNamespace;

/* Splits schroot's "chroot:NAME", "session:ID" and "source:NAME" (-c). Returns 0, *ret_ns and *ret_name
 * (borrowed from @spec), or -EOPNOTSUPP for another namespace. Pure. */
int session_ref_parse(const char *spec, SessionNamespace *ret_ns, const char **ret_name);
