/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"
#include "container.h"

/* session: a throw-away session's life. Its directory STATE/sessions/ID holds
 *   lock           held (OFD, exclusive) by the process that owns the session, for its whole life
 *   session.json   the record: chroot, version, user, owner pid, creation time
 *   upper/ work/   the overlay's writable layer (on a tmpfs mounted at tmp/ with --tmpfs)
 *   root/          the overlay: the container's root
 *   lxc.log        liblxc's log
 * and STATE/lxc/ID is the container's directory in the state directory's lxcpath.
 *
 * session_create() builds in this order, and session_free() undoes whatever part was done, in reverse:
 * directory + lock, overlay, setup-start hooks, container. A session directory whose lock nobody holds
 * is stale (its owner died) and session_sweep_stale() removes it. */

typedef struct SessionPlan {
        const char *state_dir;
        const char *chroot;
        const char *version;            /* "3", or "directory" for source=directory chroots */
        char **lowers;                  /* the tree's layers, topmost first */
        bool tmpfs;                     /* upper and work directories on a tmpfs */
        const char *upper;              /* NULL, or an upper directory to keep (update: a store staging */
        const char *work;               /*   layer), with its work directory; then @tmpfs is ignored */
        int *record_lock;               /* if set, a lock fd closed (and set to -EBADF) as soon as the
                                         * session's record names its version, before anything forks */
        bool no_hooks;
        const struct Profile *profile;  /* NULL: no profile (update sessions); else its mounts, limits,
                                         * capabilities, network (replacing @network) and AppArmor */
        const char *apparmor_template;                  /* update sessions: nothing but the command may write the layer */
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
} SessionPlan;

typedef struct Session Session;

/* Creates and starts a session for @plan, with its container tied to the calling process. Logs one
 * error line on failure and leaves nothing behind. Returns 0 and *ret, or -errno. */
int session_create(const SessionPlan *plan, Session **ret);

/* The session id (borrowed while @s lives). */
const char *session_id(Session *s);

/* Called with the pid of the command once it runs, to forward signals to it. */
typedef void (*SessionChildNotify)(pid_t pid);

/* Runs @attach in the session and waits for it. Returns 0 and the command's exit status in
 * *ret_status (128+N when killed by signal N), or -errno (logged). */
int session_run(Session *s, const AttachPlan *attach, SessionChildNotify notify, int *ret_status);

/* Ends the session: setup-stop hooks, container stopped, mounts undone, directories removed.
 * Returns 0 or the first -errno (logged); always frees @s. */
int session_end(Session *s);

/* Frees @s, first ending it if it was not ended. Returns NULL. */
Session *session_free(Session *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Session *, session_free);

/* Removes stale session directories under @state_dir (owner died: lock not held): their mounts, their
 * container if it still runs, their directories. Live sessions are never touched. Returns the number
 * removed, or -errno. */
int session_sweep_stale(const char *state_dir);

/* Lists the versions of @chroot that live sessions (lock held) use, from their records. Returns 0 and
 * *ret (*ret_n entries), or -errno. */
int session_versions_in_use(const char *state_dir, const char *chroot, unsigned **ret, size_t *ret_n);

/* Makes a new session id "CHROOT-xxxxxxxx" (8 random hex digits). Returns NULL on OOM. */
char *session_id_new(const char *chroot);
