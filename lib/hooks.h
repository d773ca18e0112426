/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"

/* hooks: session setup hooks, schroot's setup.d idea. Executables in the shipped directory
 * (/usr/lib/arkose/hooks) and the admin's (/etc/arkose/hooks.d) run on the host, in order, at session
 * start ("setup-start") and, in reverse order, at session end ("setup-stop"); in order, also when a dead
 * detached session is restarted ("setup-recover") and when a command is to run as a user a running
 * session does not know yet ("setup-user").
 *
 * Order: by file name (strcmp, so "10-users" runs before "20-hosts"); a file in a later-listed
 * directory with the same name as one in an earlier directory replaces it (the admin overrides a shipped
 * hook by name; an empty or non-executable override, or a symlink to /dev/null, disables it, as with
 * systemd drop-ins). Only regular executable files whose names match [A-Za-z0-9_-]+ count (run-parts'
 * rule, so "foo.dpkg-old" and "foo~" are ignored); symlinks are followed; directories, dangling symlinks
 * and other file types are ignored and override nothing.
 *
 * Each hook runs as: HOOK PHASE, with a clean environment holding exactly:
 *   ARKOSE_PHASE          setup-start | setup-stop | setup-recover | setup-user
 *   ARKOSE_CHROOT         chroot name
 *   ARKOSE_CHROOT_VERSION version number of the tree in use
 *   ARKOSE_ROOTFS         the session's mounted root on the host (overlay merged directory)
 *   ARKOSE_SESSION_ID     session id (also the container name)
 *   ARKOSE_USER, ARKOSE_UID, ARKOSE_GID, ARKOSE_HOME, ARKOSE_SHELL   the session user's host passwd entry
 *   ARKOSE_GROUPS         the user's supplementary groups as "name:gid name:gid ..."
 *   ARKOSE_HOSTNAME       the container's host name
 *   ARKOSE_NETWORK        none | host | filtered
 *   ARKOSE_CWD            the bind-mounted working directory
 *   PATH                  /usr/sbin:/usr/bin:/sbin:/bin
 * stdin is /dev/null; stdout and stderr are the caller's stderr. The working directory is "/", the umask
 * 0022, the signal mask empty and all dispositions default; no other file descriptors are inherited.
 * Each hook is the leader of its own process group, which is killed (SIGKILL) on timeout.
 *
 * A hook may declare the phases it acts in with a line "# arkose-hook-phases: PHASE..." among its first
 * 1 KiB (e.g. "# arkose-hook-phases: setup-start"); it is then not run in other phases. A hook without
 * the line runs in every phase.
 *
 * Caching. A hook may also declare that its result is a function of its inputs, with a line
 * "# arkose-hook-cache: yes [HOST-FILE...]" among its first 1 KiB: what it does is write below
 * ARKOSE_ROOTFS, and what it writes depends only on the tree, the variables above but ARKOSE_ROOTFS,
 * ARKOSE_SESSION_ID and ARKOSE_CWD, the date (the day), and the content of the host files it names
 * (e.g. /etc/resolv.conf). When every hook taking part in setup-start declares this, the session's root
 * is an overlay over an immutable store version (@lowers, a numeric @version) and @state_dir is set,
 * the first session records what the hooks wrote (the overlay's upper directory) in
 * STATE/hook-cache/KEY, KEY hashing all of those inputs and the hooks' own content; later sessions with
 * the same KEY get the recorded files written into their root instead of running the hooks (a few
 * system calls instead of a fork and an exec per hook). A result holding what cannot be replayed
 * faithfully (an opaque directory, a hard link, a device node, extended attributes, the removal of a
 * directory, more than 4 MiB) is not recorded; a replay that fails runs the hooks (they are idempotent).
 * Entries unused for two days are removed when a new one is recorded. */

typedef struct HookEnv {
        const char *phase;      /* "setup-start", "setup-stop", "setup-recover" or "setup-user" */
        const char *chroot;
        const char *version;
        const char *rootfs;
        const char *session_id;
        const char *user;
        uid_t uid;
        gid_t gid;
        const char *home;
        const char *shell;
        const char *groups;
        const char *hostname;
        const char *network;
        const char *cwd;
        const char *state_dir;  /* setup-start results are cached in STATE/hook-cache; NULL: no cache */
        char **lowers;          /* the tree @rootfs is an overlay of, topmost first (keys the cache) */
} HookEnv;

/* Collects the hooks from @dirs (earlier directories first; later ones override by name) into a sorted
 * list of absolute paths. Missing directories are skipped. Returns 0 and *ret (possibly empty, never
 * NULL), or -errno. */
int hooks_list(char *const *dirs, char ***ret);

/* Whether every hook of @dirs declares a cacheable result ("Caching" above): what it does at setup-start
 * is only to write below the root, the same for every session of the plan. */
bool hooks_all_cacheable(char *const *dirs);

/* Builds the environment block described above ("KEY=VALUE" strings). Returns NULL on OOM. */
char **hooks_env_build(const HookEnv *env);

/* Runs @hooks (forward for setup-start, reverse for setup-stop) with @env, skipping those whose
 * "arkose-hook-phases" line leaves out @env->phase; at setup-start, replays a cached result instead
 * when there is one ("Caching" above) and records one after a successful run. Each is killed after
 * @timeout_sec seconds (0: no limit). With @stop_on_failure, the first failing hook stops the run
 * and its error is returned; otherwise all run and the first error is returned.
 * Logs one error line naming the failing hook ("Hook '%s' failed with exit status %d").
 * Returns 0, -EPROTO for a hook exiting non-zero (or killed by a signal), -ETIME for a timeout, or
 * -errno (e.g. -ENOEXEC, -EACCES when execve() itself failed; "Failed to execute hook '%s': %m"). */
int hooks_run(char *const *hooks, const HookEnv *env, unsigned timeout_sec, bool stop_on_failure);
