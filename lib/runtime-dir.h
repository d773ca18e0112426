/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

/* runtime-dir: a session user's own $XDG_RUNTIME_DIR for profiles with [runtime] (desktop). It is kept as
 * STATE/sessions/ID/runtime (the user's, mode 700) and bound in at /run/user/UID. The sockets the profile
 * names are bound into it from the user's runtime directory on the host, each the very socket the user
 * could open there (opened as the user, never followed through a link afterwards); the user's session bus
 * comes through xdg-dbus-proxy, run as the user, which lets the session talk to the profile's names only. */

#define RUNTIME_DIR_NAME       "runtime" /* in the session's directory */
#define RUNTIME_DBUS_SOCKET    "bus"     /* in the runtime directory, as systemd's user bus */
#define RUNTIME_WAYLAND_SOCKET "wayland-0"
#define RUNTIME_SSH_AGENT_SOCKET "ssh-agent" /* in the runtime directory; SSH_AUTH_SOCK names it */
#define RUNTIME_DBUS_PROXY     "xdg-dbus-proxy"

typedef struct RuntimeSocket {
        char *name; /* below the runtime directory: "wayland-0", "pulse/native" */
        char *path; /* the user's socket on the host, opened as the user when the directory is made */
} RuntimeSocket;

typedef struct RuntimePlan {
        RuntimeSocket *sockets;
        size_t n_sockets;
        char *dbus_address; /* the user's session bus to proxy, or NULL */
        char **dbus_talk;   /* the names the session may talk to (copied from the profile) */
} RuntimePlan;

void runtime_plan_done(RuntimePlan *p);

/* The user's runtime directory on the host: @env_dir ($XDG_RUNTIME_DIR) when it is an absolute path of a
 * directory @uid owns, else /run/user/UID. Newly allocated, or NULL (out of memory). */
char *runtime_host_dir(const char *env_dir, uid_t uid);

/* What of the caller's environment [runtime] takes its sockets from. */
typedef struct RuntimeCaller {
        const char *host_dir;        /* the user's runtime directory on the host (runtime_host_dir()) */
        const char *wayland_display; /* $WAYLAND_DISPLAY: absolute, or a name in host_dir; NULL: wayland-0 */
        const char *dbus_address;    /* $DBUS_SESSION_BUS_ADDRESS; NULL: unix:path=host_dir/bus */
        const char *ssh_auth_sock;   /* $SSH_AUTH_SOCK, absolute; NULL: no agent */
} RuntimeCaller;

/* Plans @profile's [runtime] for the user @uid (primary group @gid, supplementary groups of @user): the
 * path of each socket ("wayland" is @caller's display, bound as wayland-0; "ssh-agent" its agent, bound as
 * ssh-agent, none without one; others below its host_dir), and the bus when the user can open its socket,
 * for dbus = filtered. Returns 0 or -ENOMEM. */
int runtime_plan_make(const Profile *profile, const char *user, uid_t uid, gid_t gid, const RuntimeCaller *caller,
                      RuntimePlan *ret);

/* In session directory @session_dir: makes the runtime directory for @uid/@gid with @plan's sockets
 * bound in (mounts in the caller's namespace, removed with the session's directory): each opened as the
 * user, no symlink followed at its end, and only a socket the user owns; one that is not there is skipped
 * silently, one that is not usable with a notice. Then starts the bus
 * proxy as the user. @detached: the proxy outlives this process (until runtime_dir_stop()); else it
 * also stops when this process ends. Logs; a proxy that does not start is a notice, not a failure. */
int runtime_dir_create(const char *session_dir, const char *user, uid_t uid, gid_t gid,
                       const RuntimePlan *plan, bool detached);

/* The LXC item binding the runtime directory (if the session has one) at /run/user/@uid; appended. */
int runtime_dir_items(const char *session_dir, uid_t uid, char ***items);

/* The runtime directory on the host of user @uid in session directory @session_dir: its own, if @uid is
 * the session's user (@session_uid), else the one runtime_dir_join() makes. Newly allocated, or NULL. */
char *runtime_dir_user_path(const char *session_dir, uid_t uid, uid_t session_uid);

/* For a user who joins a running session (other than its own user, whose directory the session was made
 * with): a runtime directory of that user's own in @session_dir with @plan's sockets bound in, and for
 * dbus = filtered a bus proxy of the user's own bus (started once, as the user, and kept until the session
 * ends: runtime_dir_stop()), bound at /run/user/UID in the container of init @init_pid, in place of the one
 * an earlier command of the user's left there. Nothing is mounted on the host. Logs; 0 or a negative
 * errno. */
int runtime_dir_join(const char *session_dir, pid_t init_pid, const char *user, uid_t uid, gid_t gid,
                     const RuntimePlan *plan);

/* Sets XDG_RUNTIME_DIR, and WAYLAND_DISPLAY and DBUS_SESSION_BUS_ADDRESS when the session has them, in
 * @env, for user @uid whose runtime directory on the host is @dir (runtime_dir_user_path()); removes
 * what the session does not have (the caller's values would name nothing inside). Sets SSH_AUTH_SOCK when
 * the agent was bound, and leaves it as it is otherwise. */
int runtime_dir_env(const char *dir, uid_t uid, char ***env);

/* --recover-session: binds again the sockets the runtime directory had that are not bound any more (a reboot,
 * 'arkose-chroot stop') and are still there, and starts the bus proxy again if it does not run. Logs. */
int runtime_dir_recover(const char *session_dir, const char *user, uid_t uid, gid_t gid);

/* What a reboot takes from a session's runtime directory: its proxy and its binds. */
int runtime_dir_release(const char *session_dir);

/* Ends the session's bus proxy, and those of the users who joined it, that still run. */
void runtime_dir_stop(const char *session_dir);
