/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: removing what killed processes left behind, without touching live sessions. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime-dir.h"
#include "base/log.h"
#include "base/util.h"
#include "lock.h"
#include "mount.h"
#include "session-internal.h"

/* A hidden directory being made right now (or left by a process killed in that instant) is left alone
 * for this long. */
#define SESSION_STAGING_GRACE_SEC 60

SessionSweepAction session_sweep_decide(const SessionInfo *info, bool lock_free, bool container_running) {
        if (!lock_free)
                return SESSION_SWEEP_KEEP;      /* its owner, or whoever starts, recovers or ends it, lives */
        if (!info)
                return SESSION_SWEEP_REMOVE;    /* published directories always have a record: damaged */
        if (info->kind == SESSION_KIND_ONESHOT || info->kind == SESSION_KIND_SPARE)
                return SESSION_SWEEP_REMOVE;    /* its owner died */
        if (info->phase != SESSION_PHASE_READY)
                return SESSION_SWEEP_REMOVE;    /* its begin or end was killed half-way */
        return container_running ? SESSION_SWEEP_KEEP : SESSION_SWEEP_DEAD;
}

bool session_container_running(const SessionInfo *i) {
        _cleanup_(container_freep) Container *c = NULL;

        return container_open(i->container, i->lxcpath, &c) >= 0;
}

int session_kill_container(const SessionInfo *i) {
        _cleanup_(container_freep) Container *c = NULL;
        unsigned long long start;

        if (container_open(i->container, i->lxcpath, &c) >= 0)
                return container_stop(c);
        /* No monitor answers: an init left without it (it should have died with it) is killed by pid,
         * if that pid still names the same process. */
        if (i->init_pid > 0 && pid_start_time(i->init_pid, &start) >= 0 && start == i->init_start)
                return RET_NERRNO(kill(i->init_pid, SIGKILL));
        return 0;
}

/* Renames @dir to a hidden ".ending-ID-XXXXXX" next to it and returns the new name. */
static int session_hide_dir(const SessionInfo *i, char **ret) {
        _cleanup_free_ char *parent = strdup(i->dir), *hidden = NULL;
        char *slash;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        hidden = strdup_printf("%s/.ending-%s-XXXXXX", parent, i->id);
        if (!hidden)
                return -ENOMEM;
        if (!mkdtemp(hidden))
                return -errno;
        (void) rmdir(hidden);
        if (rename(i->dir, hidden) < 0)
                return -errno;
        *ret = TAKE_PTR(hidden);
        return 0;
}

int session_remove_dir(const SessionInfo *i) {
        _cleanup_free_ char *hidden = NULL;
        int r;

        session_profile_teardown(i->dir);
        runtime_dir_stop(i->dir);
        /* Never remove what might still be mounted: rm_rf() does not cross mount points, and on failure
         * the directory stays for 'arkose-chroot recover'. */
        r = mount_umount_below(i->dir, NULL);
        if (r < 0)
                return r;
        debug_pause_point("end-after-umount");
        r = rm_rf(i->lxcdir);
        if (r < 0)
                return r;
        /* Out of sight first: the id is free at once, and a removal cut short is a hidden directory that
         * the next sweep finishes. */
        r = session_hide_dir(i, &hidden);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return rm_rf(hidden);
}

/* A hidden .new- or .ending- directory: removed once nobody holds its lock. A .new- directory gets its
 * lock file an instant before its lock, so a sweep could take the lock in between: it is left alone
 * until it is old, which no session being made ever is (it is renamed into place at once). */
static int session_sweep_hidden(const char *sessions, const char *name) {
        _cleanup_free_ char *dir = path_join(sessions, name), *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        bool young;
        int r;

        if (!dir || !(lock = path_join(dir, "lock")))
                return -ENOMEM;
        if (stat(dir, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        young = time(NULL) - st.st_mtime < SESSION_STAGING_GRACE_SEC;
        if (young && startswith(name, ".new-"))
                return 0;
        /* Never made anew here: its owner may be removing the directory, lock file and all, and a new
         * lock file would both be in the way of that (ENOTEMPTY) and let us remove it beside them. */
        fd = lock_file_existing(lock, LOCK_MODE_EXCLUSIVE, false);
        if (fd == -EBUSY || (fd == -ENOENT && young))
                return 0;
        if (fd < 0 && fd != -ENOENT)
                return fd;
        log_debug("Removing stale session directory %s", name);
        r = mount_umount_below(dir, NULL);
        if (r < 0)
                return r;
        r = rm_rf(dir);
        return r < 0 ? r : 1;
}

/* Looks at session @id: removes it when stale; with @full, also undoes a dead session's leftover mounts
 * (its tmpfs, holding the writable layer, stays). Returns 1 when removed, 2 when dead, 0, or -errno. */
static int session_sweep_one(const char *state_dir, const char *id, bool full) {
        _cleanup_(session_info_freep) SessionInfo *info = NULL;
        _cleanup_(session_info_done) SessionInfo minimal = {};
        _cleanup_close_ int fd = -EBADF;
        const SessionInfo *i;
        bool running = false;
        int r;

        fd = session_lock_take(state_dir, id, false);
        if (fd == -EBUSY || fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        if (session_info_load(state_dir, id, &info) < 0)
                info = NULL;
        /* A ready detached session is never stale; whether it is dead matters only to 'recover', which
         * alone pays for asking liblxc. */
        if (info && info->kind == SESSION_KIND_DETACHED && info->phase == SESSION_PHASE_READY) {
                if (!full)
                        return 0;
                running = session_container_running(info);
        }

        switch (session_sweep_decide(info, true, running)) {
        case SESSION_SWEEP_KEEP:
                return 0;
        case SESSION_SWEEP_DEAD:
                r = mount_umount_below(info->root, NULL);
                return r < 0 ? r : 2;
        case SESSION_SWEEP_REMOVE:
                break;
        }
        r = info ? 0 : session_info_minimal(state_dir, id, &minimal);
        if (r < 0)
                return r;
        i = info ?: &minimal;
        log_debug("Removing stale session %s", id);
        r = session_kill_container(i);
        if (r < 0)
                return r;
        r = session_remove_dir(i);
        return r < 0 ? r : 1;
}

static int session_sweep(const char *state_dir, bool full, unsigned *ret_removed, unsigned *ret_dead) {
        _cleanup_free_ char *sessions = session_sessions_dir(state_dir);
        _cleanup_closedir_ DIR *d = NULL;
        unsigned removed = 0, dead = 0;
        struct dirent *de;

        if (!sessions)
                return -ENOMEM;
        d = opendir(sessions);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d))) {
                int r = 0;

                if (startswith(de->d_name, ".new-") || startswith(de->d_name, ".ending-"))
                        r = session_sweep_hidden(sessions, de->d_name);
                else if (session_id_is_valid(de->d_name, NULL))
                        r = session_sweep_one(state_dir, de->d_name, full);
                if (r < 0)
                        log_warning_errno(r, "Failed to clean up stale session '%s': %m, ignoring.", de->d_name);
                removed += r == 1;
                dead += r == 2;
        }
        if (ret_removed)
                *ret_removed = removed;
        if (ret_dead)
                *ret_dead = dead;
        return 0;
}

int session_sweep_stale(const char *state_dir) {
        unsigned removed = 0;
        int r;

        r = session_sweep(state_dir, false, &removed, NULL);
        return r < 0 ? r : (int) removed;
}

/* Container directories STATE/lxc/ID whose session directory is gone and whose container is stopped. */
static unsigned session_sweep_lxc_dirs(const char *state_dir) {
        _cleanup_free_ char *lxcpath = path_join(state_dir, "lxc");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned n = 0;

        d = lxcpath ? opendir(lxcpath) : NULL;
        while (d && (de = readdir(d))) {
                _cleanup_(session_info_done) SessionInfo i = {};
                struct stat st;

                if (!session_id_is_valid(de->d_name, NULL) ||
                    session_info_minimal(state_dir, de->d_name, &i) < 0)
                        continue;
                if (stat(i.dir, &st) >= 0 || errno != ENOENT || session_container_running(&i))
                        continue;
                if (rm_rf(i.lxcdir) >= 0)
                        n++;
        }
        return n;
}

int session_recover_all(const char *state_dir, unsigned *ret_removed, unsigned *ret_dead) {
        unsigned removed = 0, dead = 0;
        int r;

        r = session_sweep(state_dir, true, &removed, &dead);
        if (r < 0)
                return r;
        (void) session_sweep_lxc_dirs(state_dir);
        if (ret_removed)
                *ret_removed = removed;
        if (ret_dead)
                *ret_dead = dead;
        return 0;
}

bool session_holds_resources(const char *state_dir, const char *id, SessionInfo **ret_info) {
        _cleanup_(session_info_freep) SessionInfo *i = NULL;
        _cleanup_free_ char *lock = session_lock_path(state_dir, id);
        bool holds;

        if (!lock || session_info_load(state_dir, id, &i) < 0)
                return false;
        holds = i->kind == SESSION_KIND_DETACHED ? i->phase != SESSION_PHASE_ENDING
                                                 : lock_is_held(lock, LOCK_MODE_EXCLUSIVE);
        if (holds && ret_info)
                *ret_info = TAKE_PTR(i);
        return holds;
}

/* Whether session @id holds a version of @chroot against gc, and which. */
static bool session_uses_version(const char *state_dir, const char *id, const char *chroot, unsigned *ret) {
        _cleanup_(session_info_freep) SessionInfo *i = NULL;
        unsigned long version;
        char *end;

        if (!session_holds_resources(state_dir, id, &i) || !streq(i->chroot, chroot))
                return false;
        version = strtoul(i->version, &end, 10);
        if (*end != '\0' || version == 0 || version > UINT32_MAX)
                return false;
        *ret = (unsigned) version;
        return true;
}

int session_versions_in_use(const char *state_dir, const char *chroot, unsigned **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ unsigned *l = NULL;
        size_t n = 0;
        int r;

        r = session_list_ids(state_dir, &ids);
        if (r < 0)
                return r;
        for (char **id = ids; *id; id++) {
                unsigned version, *nl;

                if (!session_uses_version(state_dir, *id, chroot, &version))
                        continue;
                nl = realloc(l, (n + 1) * sizeof(unsigned));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = version;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}
