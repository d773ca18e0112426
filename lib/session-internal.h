/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by lib/session*.c only. */

#include <stdbool.h>

#include "session-profile.h"
#include "session.h"

struct Session {
        SessionInfo info;
        char *const *hook_dirs;         /* borrowed from the caller, who outlives the handle */
        unsigned hook_timeout;
        bool no_hooks;
        bool private_mounts;            /* SessionPlan.private_mounts */
        char **hooks;
        int lock_fd;
        bool owned;                     /* made by this handle: session_free() ends it */
        bool published;                 /* its directory is in place (and ours to remove) */
        bool mounted;
        bool hooks_started;
        Container *container;           /* NULL for an opened session reached through its socket, until
                                         * an attach needs it */
        char *run_dir;                  /* an opened session's run directory, when its init serves commands */
        const struct Profile *profile;  /* borrowed from the plan; NULL for update sessions and recovery */
        const char *apparmor_template;
        const char *state_dir;          /* borrowed from the plan, for the profile's files */
        unsigned idle_timeout;          /* SessionPlan.idle_timeout (a shared spare's) */
        SessionProfileSetup prof;
};

/* STATE/sessions/ID/fresh: a shared spare's sub-sessions' directories (newly allocated), NULL on OOM. */
char *session_fresh_dir(const SessionInfo *i);

/* A handle holding lock @fd (taken over), or NULL on OOM (then @fd is closed). */
Session *session_new_locked(int fd);

/* Runs the session's hooks for @phase ("setup-start", "setup-recover", "setup-stop"); the setup phases
 * stop at the first failure. Logs. */
int session_run_hooks(Session *s, const char *phase, bool stop_on_failure);

/* Mounts the session's overlay (and its tmpfs first, unless already there); with @keep_upper without
 * "volatile", so that the layer survives a reboot. Logs. */
int session_mount(Session *s, bool keep_upper);

/* Starts the session's container, records its init and phase "ready". Logs. */
int session_start_container(Session *s);

/* STATE/sessions, and STATE/sessions/ID/lock. NULL on OOM. */
char *session_sessions_dir(const char *state_dir);
char *session_lock_path(const char *state_dir, const char *id);

/* Writes @i as its session's record (fsync()ed for a detached session, which must survive a reboot).
 * Returns 0 or -errno. */
int session_record_save(const SessionInfo *i);

/* Writes @i as its session's record into directory @dir (the session's own, or its staging directory). */
int session_record_save_in(const SessionInfo *i, const char *dir);

/* A record of session @id holding nothing but its resource paths (derived from the id), for sweeping a
 * directory whose record is missing or damaged. Returns 0 or -ENOMEM; *ret is left for
 * session_info_done() either way. */
int session_info_minimal(const char *state_dir, const char *id, SessionInfo *ret);

/* Takes the lock of session @id (exclusive; with @wait, waiting for it), making sure that the file
 * locked is still the session's and not that of an earlier session of the same id, removed meanwhile.
 * Returns the fd, -ENOENT when the session does not exist, -EBUSY (without @wait), or -errno. */
int session_lock_take(const char *state_dir, const char *id, bool wait);

/* The same, for the lock file at @path. */
int session_lock_take_path(const char *path, bool wait);

/* Whether session @id still claims what its record names beyond its own directory (a tree version, a
 * filtered-network slot): a one-shot session while its lock is held, a detached session until it ends
 * (a dead one too: it may be recovered). */
bool session_holds_resources(const char *state_dir, const char *id, SessionInfo **ret_info);

/* Whether the container @i records is running (asked through liblxc, by name). */
bool session_container_running(const SessionInfo *i);

/* Stops the container @i records, if it runs; failing that, kills the recorded init if it is still the
 * same process (pid and start time). Returns 0 or -errno. */
int session_kill_container(const SessionInfo *i);

/* Unmounts everything below the session's directory, removes its container directory, then renames its
 * directory out of sight (".ending-ID-XXXXXX") and removes it. Logs nothing. Returns 0 or -errno. */
int session_remove_dir(const SessionInfo *i);
