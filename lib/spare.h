/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "base/sha256.h"
#include "session.h"

/* spare: a session made ahead for the next one-shot commands of the same plan.
 *
 * Starting a container is most of a one-shot session's cost (liblxc's start alone is about twice
 * the physical floor on a 2-core VM). So when a one-shot session ends, arkose-chroot leaves behind a
 * process that starts the next session of the same plan: a fresh overlay on the same tree version,
 * hooks run, container started with an init that serves commands on its command socket. The next
 * one-shots with the same plan send their commands there (as --run-session does), with their own
 * stdin, stdout, stderr, environment, niceness and working directory. There are two kinds:
 *
 * - Shared (SessionPlan.shared, when spare_can_share()): the init (arkose-init --listen-fresh) runs
 *   each command in a sub-session of its own, made inside the container: new mount, PID, IPC, UTS and
 *   network namespaces, an overlay over the container's root with its own upper directory (in
 *   SESSION_DIR/fresh), its own /proc, /dev and /dev/shm, the container's binds, the profile's
 *   capabilities dropped. Many commands run at once, none sees another's or the last one's files or
 *   processes; init removes a sub-session's directory before it answers, so the command returns with
 *   nothing of it left. A shared spare stays on offer (spare_find()): the commands of a burst do not
 *   start containers, and nothing is ended or remade per command. Its init retires after
 *   [main] spare-idle-timeout seconds without a command, or on SIGTERM (the owner's, asked to end it)
 *   once the commands running are done; its owner then ends the session.
 * - Single-use (AppArmor confines the session, or the profile has what a sub-session cannot give
 *   each its own: tmpfs or cow mounts, devices, cgroup limits, a filtered network): the init serves
 *   exactly one command (arkose-init --listen-once), claimed by renaming the index away; when that
 *   command exits the init exits, and the spare's owner ends the session (the container's mounts go
 *   with its private mount namespace, the directory is removed), which the command's caller waits
 *   for. One nobody claims ends after spare-idle-timeout seconds.
 *
 * The index STATE/spares/KEY is a symlink to the spare's session id; KEY hashes everything the
 * session's making depended on (spare_key()), so that a spare is only ever used for the session it
 * would have been. The session itself is an ordinary session directory of kind "spare", whose lock
 * its owner holds for its whole life (a sweep removes it once the owner is gone, as for a one-shot
 * session). */

/* The key of the session @plan makes, with @profile_path its profile's file (NULL: none). Hashes the
 * plan (tree layers with their identities, user, binds with their identities, network, profile and the
 * host paths its mounts and devices come from with their identities, hook timeout), the hook files and the host files the shipped hooks copy (names, sizes, times), this
 * program's and its configuration's identities, and the day (as the hook cache does). Returns 0 or
 * -errno. */
int spare_key(const SessionPlan *plan, const char *profile_path, const char *config_path,
              char ret[static SHA256_HEX_SIZE]);

/* Whether a one-shot command with profile @p and the session's @binds (its working directory) may run
 * in a shared spare (SessionPlan.shared): a sub-session made by the spare's init gives it what a
 * session of its own would. The caller also checks that every hook is cacheable (hooks_all_cacheable():
 * the spare's setup-start and setup-stop run once for all its commands). Not with a filtered network, tmpfs or cow mounts, a bind into /proc, /sys
 * or /dev (a sub-session's own), devices, cgroup limits, the user's runtime directory, a seccomp
 * policy file, or, when AppArmor confines (@apparmor_confines: the kernel has it), an AppArmor profile of
 * the administrator's ([apparmor] profile =): a generated one has an init profile beside it, which
 * allows what init does (apparmor_profile_text()). */
bool spare_can_share(const Profile *p, char *const *binds, bool apparmor_confines);

/* Marks @key as one whose shared spare could not make sub-sessions, or tells whether it is: its plan's
 * spares are then single-use (another key). The mark goes with the key (which changes daily) after two
 * days (spare_sweep()). */
int spare_mark_unshared(const char *state_dir, const char *key);
bool spare_unshared(const char *state_dir, const char *key);

/* The shared spare of @key, if there is one, left on offer. Returns 0 and its session id in *ret_id,
 * -ENOENT, or -errno. */
int spare_find(const char *state_dir, const char *key, char **ret_id);

/* Takes the spare of @key, if there is one: its index is gone then. Returns 0 and its session id in
 * *ret_id, -ENOENT when there is none, or -errno. */
int spare_claim(const char *state_dir, const char *key, char **ret_id);

/* Makes session @id the spare of @key. Returns 0, -EEXIST when @key already has one, or -errno. */
int spare_publish(const char *state_dir, const char *key, const char *id);

/* Takes back the index of spare @id of @key (its owner, about to end it). Returns 0, -ENOENT when
 * somebody claimed it meanwhile, or -errno. */
int spare_unpublish(const char *state_dir, const char *key, const char *id);

/* Removes what spares of no key in use leave in STATE/spares: the lock files of keys with no spare
 * being made nor offered, a minute old; a claim's or a publication's temporary link left by a killed
 * process. */
void spare_sweep(const char *state_dir);

/* Asks the owner of spare session @i to end it (SIGTERM; a shared one retires once its commands are done),
 * without waiting. Returns 1, 0 when its owner is gone, or -errno. */
int spare_retire(const char *state_dir, const SessionInfo *i);

/* Ends spare session @i: asks its owner to end it (SIGTERM) and waits until it has. Returns 0 or
 * -errno. */
int spare_end(const char *state_dir, const SessionInfo *i);

/* Ends the oldest offered spares (taking their index first, so that no caller claims one being ended)
 * until at most @keep are offered (a shared one retires once its running commands are done, unwaited): the cap on idle containers ([main] spare-sessions-max), kept by each
 * new spare's owner before it makes its session. Returns the number ended, or -errno. */
int spare_trim(const char *state_dir, unsigned keep);

/* Ends the unclaimed spares of chroot @chroot (NULL: all), so that nothing but real sessions holds a
 * version (remove, gc). A shared spare running commands is told to retire once they are done, and not
 * waited for: its record holds its version meanwhile. Returns the number ended, or -errno. */
int spare_end_all(const char *state_dir, const char *chroot);
