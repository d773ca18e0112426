/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: ending and recovering detached sessions (--end-session, --recover-session). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mount.h"
#include "private-home.h"
#include "runtime-dir.h"
#include "session-internal.h"

/* Opens detached session @id for ending or recovering: waits for its lock (a begin, end or recover in
 * progress finishes first), then reads its record, which may have changed meanwhile. Logs. */
static int session_take(const char *state_dir, const char *id, char *const *hook_dirs, unsigned hook_timeout,
                        Session **ret) {
        _cleanup_(session_freep) Session *s = NULL;
        SessionInfo *i = NULL;
        int fd, r;

        if (!session_id_is_valid(id, NULL))
                return log_error_errno(-ENOENT, "No session '%s' (see 'arkose-chroot sessions')", id);
        fd = session_lock_take(state_dir, id, true);
        if (fd == -ENOENT)
                return log_error_errno(fd, "No session '%s' (see 'arkose-chroot sessions')", id);
        if (fd < 0)
                return log_error_errno(fd, "Failed to lock session '%s': %m", id);
        s = session_new_locked(fd);
        if (!s)
                return log_oom();
        r = session_info_load(state_dir, id, &i);
        if (r == -ENOENT)
                return log_error_errno(r, "No session '%s' (see 'arkose-chroot sessions')", id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the record of session '%s': %m", id);
        s->info = *i;
        free(i);
        if (s->info.kind != SESSION_KIND_DETACHED)
                return log_error_errno(-EPERM, "Session '%s' is a one-shot session of process %d: it ends with its command",
                                       id, (int) s->info.owner_pid);
        s->hook_dirs = hook_dirs;
        s->hook_timeout = hook_timeout;
        s->no_hooks = s->info.source;   /* as it began (SessionPlan.no_hooks) */
        *ret = TAKE_PTR(s);
        return 0;
}

int session_end_detached(const char *state_dir, const char *id, char *const *hook_dirs, unsigned hook_timeout) {
        _cleanup_(session_freep) Session *s = NULL;
        bool was_ready;
        int r;

        r = session_take(state_dir, id, hook_dirs, hook_timeout, &s);
        if (r < 0)
                return r;
        was_ready = s->info.phase == SESSION_PHASE_READY;
        s->info.phase = SESSION_PHASE_ENDING;
        r = session_record_save(&s->info);
        if (r < 0)
                return log_error_errno(r, "Failed to write the record of session '%s': %m", id);
        debug_pause_point("end-after-record");

        r = session_kill_container(&s->info);
        if (r < 0)
                return log_error_errno(r, "Failed to stop container '%s' (see %s)", id, s->info.log_file);
        debug_pause_point("end-after-stop");

        /* Setup-stop hooks see the root still mounted, unless the session was dead. */
        s->owned = true;
        s->published = true;
        s->hooks_started = was_ready && mount_any_below(s->info.root);
        return session_end(TAKE_PTR(s));
}

int session_stop_detached(const char *state_dir, const char *id, char *const *hook_dirs, unsigned hook_timeout) {
        _cleanup_(session_freep) Session *s = NULL;
        int r;

        r = session_take(state_dir, id, hook_dirs, hook_timeout, &s);
        if (r < 0)
                return r;
        /* What a reboot does: the container and the mounts go, the record and the layer stay. The
         * record still says "ready", so the session counts as dead, and --recover-session (start)
         * brings it back with its changes. */
        r = session_kill_container(&s->info);
        if (r < 0)
                return log_error_errno(r, "Failed to stop container '%s' (see %s)", id, s->info.log_file);
        (void) session_run_hooks(s, "setup-stop", false);
        r = mount_umount_below(s->info.root, NULL);
        if (r >= 0)
                r = runtime_dir_release(s->info.dir);
        if (r >= 0)
                r = private_home_release(s->info.dir);
        if (r < 0)
                return log_error_errno(r, "Failed to unmount session '%s': %m", id);
        return 0;
}

/* Checks that the dead session's writable layer is still there: on a tmpfs, it does not survive a
 * reboot. */
static int session_check_layer(const SessionInfo *i) {
        struct stat st;

        if (i->tmp && !mount_any_below(i->tmp))
                return log_error_errno(-ENODATA, "Session '%s' kept its changes in memory (--tmpfs) and they are gone: end it with --end-session",
                                       i->id);
        if (stat(i->upper, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error_errno(-ENODATA, "Session '%s' has lost its writable layer '%s': end it with --end-session",
                                       i->id, i->upper);
        return 0;
}

int session_recover(const char *state_dir, const char *id, const SessionRecoverPlan *plan) {
        _cleanup_(session_leavep) Session *s = NULL;
        int r;

        r = session_take(state_dir, id, plan->hook_dirs, plan->hook_timeout, &s);
        if (r < 0)
                return r;
        s->profile = plan->profile;
        s->apparmor_template = plan->apparmor_template;
        s->state_dir = state_dir;
        if (s->info.phase != SESSION_PHASE_READY)
                return log_error_errno(-EAGAIN, "Session '%s' never finished %s; 'arkose-chroot recover' removes it",
                                       id, s->info.phase == SESSION_PHASE_STARTING ? "starting" : "ending");
        if (session_container_running(&s->info)) {
                log_info("Session '%s' is running: nothing to recover", id);
                return 0;
        }
        r = session_check_layer(&s->info);
        if (r < 0)
                return r;

        /* Whatever is left of the old overlay goes; the layer below it stays. */
        r = mount_umount_below(s->info.root, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to unmount '%s': %m", s->info.root);
        r = mkdir_p(s->info.lxcdir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", s->info.lxcdir);
        r = session_mount(s, true);
        if (r < 0)
                return r;
        debug_pause_point("recover-after-mount");
        /* What a reboot took of the user's own places: the private home's and the sockets' binds, the proxy. */
        r = private_home_recover(s->info.dir, s->info.chroot, s->info.user, s->info.uid, s->info.gid, s->info.home);
        if (r >= 0)
                r = runtime_dir_recover(s->info.dir, s->info.user, s->info.uid, s->info.gid);
        if (r >= 0)
                r = session_run_hooks(s, "setup-recover", true);
        if (r >= 0)
                r = session_start_container(s);
        if (r < 0) {
                /* Dead again, as it was: nothing of it is lost. */
                (void) session_kill_container(&s->info);
                session_profile_teardown(s->info.dir);
                (void) mount_umount_below(s->info.root, NULL);
                return r;
        }
        return 0;
}
