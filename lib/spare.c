/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spare: sessions made ahead for the next one-shot command (see spare.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "lock.h"
#include "runsock.h"
#include "session-internal.h"
#include "spare.h"

/* Bump when what a spare is changes in a way its key does not show. */
#define SPARE_KEY_FORMAT "arkose-spare 2\n"

/* The host files the shipped hooks copy into a session (hooks/10-users, 20-hostname, 30-resolv). */
static const char *const spare_host_inputs[] = {
        "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
};

/* A file's identity: what changes when it is replaced or written. */
static void hash_stat(Sha256 *h, const char *what, const char *path) {
        struct stat st;

        if (!path || stat(path, &st) < 0) {
                sha256_update_line(h, "%s %s missing", what, path ?: "-");
                return;
        }
        sha256_update_line(h, "%s %s %llu %llu %lld %lld.%09ld %lld.%09ld", what, path, (unsigned long long) st.st_dev,
                  (unsigned long long) st.st_ino, (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                  st.st_mtim.tv_nsec, (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* A directory's identity alone, not its modification times, which change with what is in it (a bind
 * source, the caller's working directory, which the session sees live): device, inode and birth time,
 * since a directory removed and made again may get the same inode number (its bind in a spare would be
 * the removed one). */
static void hash_dir_identity(Sha256 *h, const char *what, const char *path) {
        struct statx stx;

        if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME, &stx) < 0)
                sha256_update_line(h, "%s %s missing", what, path);
        else
                sha256_update_line(h, "%s %s %u:%u %llu %lld.%09u", what, path, stx.stx_dev_major, stx.stx_dev_minor,
                          (unsigned long long) stx.stx_ino,
                          (stx.stx_mask & STATX_BTIME) ? (long long) stx.stx_btime.tv_sec : -1LL,
                          (stx.stx_mask & STATX_BTIME) ? stx.stx_btime.tv_nsec : 0);
}

static void hash_strv(Sha256 *h, const char *what, char *const *l) {
        for (char *const *i = l; i && *i; i++)
                sha256_update_line(h, "%s %s", what, *i);
}

static void hash_hook_dir(Sha256 *h, const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;

        sha256_update_line(h, "hookdir %s", dir);
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) strv_extend(&names, de->d_name);
        strv_sort(names);
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *p = path_join(dir, *n);
                hash_stat(h, "hook", p);
        }
}

/* The host paths a profile's bind and cow mounts and devices come from, by identity: one that was missing
 * (left out of the spare, when optional) or was replaced gives another key. */
static void hash_profile_sources(Sha256 *h, const Profile *p, const char *home) {
        for (ProfileMount **m = p->mounts; m && *m; m++) {
                _cleanup_free_ char *source = NULL;

                if (!(*m)->source)
                        continue;
                if (profile_expand_path((*m)->source, home, &source) < 0)
                        sha256_update_line(h, "profile-source %s unexpanded", (*m)->source);
                else
                        hash_dir_identity(h, "profile-source", source);
        }
        for (ProfileDevice **d = p->devices; d && *d; d++)
                hash_dir_identity(h, "profile-device", (*d)->path);
}

int spare_key(const SessionPlan *plan, const char *profile_path, const char *config_path,
              char ret[static SHA256_HEX_SIZE]) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        Sha256 h;

        if (!plan || !plan->chroot || !plan->version)
                return -EINVAL;
        sha256_init(&h);
        sha256_update(&h, SPARE_KEY_FORMAT, strlen(SPARE_KEY_FORMAT));
        hash_stat(&h, "exe", "/proc/self/exe");
        hash_stat(&h, "config", config_path);
        sha256_update_line(&h, "chroot %s@%s", plan->chroot, plan->version);
        sha256_update_line(&h, "personality %s", plan->personality ?: "-");
        for (char *const *l = plan->lowers; l && *l; l++)
                hash_dir_identity(&h, "lower", *l); /* published layers never change */
        sha256_update_line(&h, "tmpfs %d network %d hook-timeout %u no-hooks %d", plan->tmpfs, (int) plan->network,
                  plan->hook_timeout, plan->no_hooks);
        sha256_update_line(&h, "shared %d idle %u", plan->shared, plan->shared ? plan->idle_timeout : 0);
        for (char *const *b = plan->binds; b && *b; b++)
                hash_dir_identity(&h, "bind", *b);
        sha256_update_line(&h, "cwd %s", plan->cwd ?: "/");
        sha256_update_line(&h, "user %s %u %u %s %s", plan->user ?: "-", (unsigned) plan->uid, (unsigned) plan->gid,
                  plan->home ?: "-", plan->shell ?: "-");
        sha256_update_line(&h, "groups %s", plan->groups ?: "");
        sha256_update_line(&h, "profile %s", plan->profile ? "yes" : "no");
        hash_stat(&h, "profile-file", profile_path);
        if (plan->profile) {
                sha256_update_line(&h, "profile-network %d", (int) plan->profile->network);
                hash_profile_sources(&h, plan->profile, plan->home);
        }
        hash_strv(&h, "profile-bind", plan->profile_binds);
        /* X cookies change with each X login: a spare holding old ones would be refused by the display. */
        sha256_update_line(&h, "xauthority %zu", plan->xauthority ? plan->xauthority_size : 0);
        if (plan->xauthority)
                sha256_update(&h, plan->xauthority, plan->xauthority_size);
        hash_stat(&h, "apparmor-template", plan->apparmor_template);
        for (char *const *d = plan->hook_dirs; d && *d; d++)
                hash_hook_dir(&h, *d);
        for (size_t i = 0; i < ELEMENTSOF(spare_host_inputs); i++)
                hash_stat(&h, "input", spare_host_inputs[i]);
        sha256_update_line(&h, "day %lld", (long long) (time(NULL) / 86400));
        sha256_final(&h, digest);
        sha256_to_hex(digest, ret);
        return 0;
}

/* A sub-session's /proc, /sys and /dev are its own: what a session binds there is not copied in. */
static bool below_kernel_dirs(const char *path) {
        static const char *const dirs[] = { "/proc", "/sys", "/dev" };

        for (size_t i = 0; path && i < ELEMENTSOF(dirs); i++) {
                size_t n = strlen(dirs[i]);

                if (strncmp(path, dirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
                        return true;
        }
        return false;
}

bool spare_can_share(const Profile *p, char *const *binds, bool apparmor_confines) {
        if (!p)
                return false;
        for (char *const *b = binds; b && *b; b++)
                if (below_kernel_dirs(*b))
                        return false;
        /* A sub-session gets its own network namespace, or the host's; never a veth of the spare's. */
        if (p->network != PROFILE_NETWORK_NONE && p->network != PROFILE_NETWORK_HOST)
                return false;
        /* It copies the spare's bind mounts: a tmpfs or cow layer would be shared between sub-sessions. */
        for (ProfileMount **m = p->mounts; m && *m; m++)
                if ((*m)->type != PROFILE_MOUNT_BIND || below_kernel_dirs((*m)->target))
                        return false;
        /* Its /dev is made by init from the standard nodes; cgroup limits would be for all at once. */
        if (p->devices || p->memory_max > 0 || p->cpu_quota > 0 || p->pids_max > 0 || p->runtime_dir)
                return false;
        /* Init mounts and makes namespaces: a policy file of the user's may deny it. Under AppArmor, init
         * runs as the init profile generated beside the session's (apparmor_profile_text()); there is
         * none for an AppArmor profile of the administrator's. */
        if (p->seccomp == PROFILE_SECCOMP_FILE)
                return false;
        return p->apparmor == PROFILE_APPARMOR_OFF || !apparmor_confines || !p->apparmor_profile;
}

static char *spare_dir(const char *state_dir) {
        return path_join(state_dir, "spares");
}

/* Reads index link @path: the session id it names (valid), -ENOENT, or -errno. */
static int spare_read_index(const char *path, char **ret_id) {
        char target[256];
        ssize_t n = readlink(path, target, sizeof(target) - 1);

        if (n < 0)
                return -errno;
        target[n] = '\0';
        if (n == 0 || !session_id_is_valid(target, NULL))
                return -ENOENT;
        *ret_id = strdup(target);
        return *ret_id ? 0 : -ENOMEM;
}

/* Moves the index of @key out of sight (to a name of this process's own) and reads it: of two callers,
 * one gets it. Returns 0 and the id, -ENOENT when there was none, or -errno. */
static int spare_take_index(const char *state_dir, const char *key, char **ret_id) {
        _cleanup_free_ char *dir = spare_dir(state_dir), *index = NULL, *taken = NULL;
        int r;

        if (!dir)
                return -ENOMEM;
        index = path_join(dir, key);
        taken = strdup_printf("%s/.taken-%s-%d", dir, key, (int) getpid());
        if (!index || !taken)
                return -ENOMEM;
        if (rename(index, taken) < 0)
                return -errno;
        r = spare_read_index(taken, ret_id);
        (void) unlink(taken);
        return r == -ENOMEM ? r : r < 0 ? -ENOENT : 0;
}

int spare_claim(const char *state_dir, const char *key, char **ret_id) {
        return spare_take_index(state_dir, key, ret_id);
}

static char *spare_unshared_path(const char *state_dir, const char *key) {
        _cleanup_free_ char *dir = spare_dir(state_dir);

        return dir ? strdup_printf("%s/%s.unshared", dir, key) : NULL;
}

int spare_mark_unshared(const char *state_dir, const char *key) {
        _cleanup_free_ char *dir = spare_dir(state_dir), *path = spare_unshared_path(state_dir, key);
        int r;

        if (!dir || !path)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        return write_file_atomic(path, "", 0644);
}

bool spare_unshared(const char *state_dir, const char *key) {
        _cleanup_free_ char *path = spare_unshared_path(state_dir, key);

        return path && access(path, F_OK) >= 0;
}

int spare_find(const char *state_dir, const char *key, char **ret_id) {
        _cleanup_free_ char *dir = spare_dir(state_dir), *index = NULL;

        if (!dir)
                return -ENOMEM;
        index = path_join(dir, key);
        if (!index)
                return -ENOMEM;
        return spare_read_index(index, ret_id);
}

int spare_publish(const char *state_dir, const char *key, const char *id) {
        _cleanup_free_ char *dir = spare_dir(state_dir), *index = NULL, *tmp = NULL;
        int r;

        if (!dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        index = path_join(dir, key);
        tmp = strdup_printf("%s/.new-%s-%d", dir, key, (int) getpid());
        if (!index || !tmp)
                return -ENOMEM;
        (void) unlink(tmp);
        if (symlink(id, tmp) < 0)
                return -errno;
        r = RET_NERRNO(renameat2(AT_FDCWD, tmp, AT_FDCWD, index, RENAME_NOREPLACE));
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int spare_unpublish(const char *state_dir, const char *key, const char *id) {
        _cleanup_free_ char *got = NULL;
        int r;

        r = spare_take_index(state_dir, key, &got);
        if (r < 0)
                return r;
        if (streq(got, id))
                return 0;
        /* Ours was claimed and another spare published since: put it back. */
        (void) spare_publish(state_dir, key, got);
        return -ENOENT;
}

int spare_retire(const char *state_dir, const SessionInfo *i) {
        _cleanup_free_ char *lock = session_lock_path(state_dir, i->id);

        if (!lock)
                return -ENOMEM;
        if (i->kind != SESSION_KIND_SPARE || i->owner_pid <= 1)
                return -EINVAL;
        if (!lock_is_held(lock, LOCK_MODE_EXCLUSIVE))
                return 0; /* its owner is gone: a sweep removes it */
        if (kill(i->owner_pid, SIGTERM) < 0 && errno != ESRCH)
                return -errno;
        return 1;
}

int spare_end(const char *state_dir, const SessionInfo *i) {
        _cleanup_free_ char *lock = session_lock_path(state_dir, i->id);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!lock)
                return -ENOMEM;
        r = spare_retire(state_dir, i);
        if (r <= 0)
                return r;
        fd = lock_file(lock, LOCK_MODE_SHARED, true);
        return fd == -ENOENT ? 0 : fd < 0 ? fd : 0;
}

void spare_sweep(const char *state_dir) {
        _cleanup_free_ char *dir = spare_dir(state_dir);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        time_t now = time(NULL);

        d = dir ? opendir(dir) : NULL;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *index = NULL;
                const char *dot = strrchr(de->d_name, '.');
                struct stat st;

                if (dot_or_dot_dot(de->d_name))
                        continue;
                path = path_join(dir, de->d_name);
                if (!path || lstat(path, &st) < 0)
                        continue;
                if (de->d_name[0] == '.') {
                        /* A .new-/.taken- link left by a process killed in that instant. */
                        if (now - st.st_mtime > 60)
                                (void) unlink(path);
                        continue;
                }
                if (dot && streq(dot, ".unshared")) {
                        if (now - st.st_mtime > 2 * 86400)
                                (void) unlink(path);
                        continue;
                }
                if (!dot || !streq(dot, ".lock"))
                        continue;
                index = strndup(path, strlen(path) - strlen(".lock"));
                if (!index || faccessat(AT_FDCWD, index, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 ||
                    lock_is_held(path, LOCK_MODE_SHARED) || now - st.st_mtime < 60)
                        continue;
                /* Nobody makes a spare of that key now. Should one open it just before this, the worst is
                 * a second spare of the key, which finds the first published and ends. */
                (void) unlink(path);
        }
}

/* The key of the index that offers spare @id, if one does. Returns 0 and *ret_key, or -ENOENT. */
static int spare_find_index(const char *state_dir, const char *id, char **ret_key) {
        _cleanup_free_ char *dir = spare_dir(state_dir);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        d = dir ? opendir(dir) : NULL;
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                char target[256];
                ssize_t k;

                if (!sha256_hex_is_valid(de->d_name))
                        continue;
                path = path_join(dir, de->d_name);
                k = path ? readlink(path, target, sizeof(target) - 1) : -1;
                if (k <= 0)
                        continue;
                target[k] = '\0';
                if (!streq(target, id))
                        continue;
                *ret_key = strdup(de->d_name);
                return *ret_key ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/* Takes the index that offers spare @id, if one does. Returns 0, or -ENOENT when none does. */
static int spare_take_index_of(const char *state_dir, const char *id) {
        _cleanup_free_ char *key = NULL, *got = NULL;

        if (spare_find_index(state_dir, id, &key) < 0)
                return -ENOENT;
        if (spare_take_index(state_dir, key, &got) < 0)
                return -ENOENT;
        if (streq(got, id))
                return 0;
        (void) spare_publish(state_dir, key, got); /* replaced meanwhile: put it back */
        return -ENOENT;
}

int spare_trim(const char *state_dir, unsigned keep) {
        _cleanup_strv_free_ char **ids = NULL;
        SessionInfo **offered = NULL;
        size_t n = 0;
        int ended = 0, r;

        r = session_list_ids(state_dir, &ids);
        if (r < 0)
                return r;
        /* The offered spares: ready, and named by an index. */
        for (char **id = ids; *id; id++) {
                _cleanup_free_ char *key = NULL;
                SessionInfo *i = NULL, **l;

                if (session_info_load(state_dir, *id, &i) < 0)
                        continue;
                if (i->kind != SESSION_KIND_SPARE || i->phase != SESSION_PHASE_READY ||
                    spare_find_index(state_dir, *id, &key) < 0 ||
                    !(l = reallocarray(offered, n + 1, sizeof(SessionInfo *)))) {
                        session_info_free(i);
                        continue;
                }
                offered = l;
                offered[n++] = i;
        }
        /* Oldest first: by creation, to the second, then by their inits' start (in clock ticks). */
        for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0 && (offered[b]->created < offered[b - 1]->created ||
                                             (offered[b]->created == offered[b - 1]->created &&
                                              offered[b]->init_start < offered[b - 1]->init_start));
                     b--) {
                        SessionInfo *t = offered[b];
                        offered[b] = offered[b - 1];
                        offered[b - 1] = t;
                }
        for (size_t k = 0; k < n; k++) {
                /* A shared spare may be running commands (a build, for an hour): offered no more, it is
                 * told to retire once they are done, and not waited for. */
                if (n - k > keep && spare_take_index_of(state_dir, offered[k]->id) >= 0 &&
                    (offered[k]->shared ? spare_retire(state_dir, offered[k]) : spare_end(state_dir, offered[k])) >= 0)
                        ended++;
                session_info_free(offered[k]);
        }
        free(offered);
        return ended;
}

/* Whether shared spare @i runs commands: its fresh directory holds a sub-session's. */
static bool spare_busy(const SessionInfo *i) {
        _cleanup_free_ char *dir = session_fresh_dir(i);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return true;
        return false;
}

int spare_end_all(const char *state_dir, const char *chroot) {
        _cleanup_strv_free_ char **ids = NULL;
        int n = 0, r;

        r = session_list_ids(state_dir, &ids);
        if (r < 0)
                return r;
        for (char **id = ids; *id; id++) {
                _cleanup_(session_info_freep) SessionInfo *i = NULL;
                _cleanup_free_ char *lock = NULL;
                unsigned long long start;
                bool init_alive;

                if (session_info_load(state_dir, *id, &i) < 0 || i->kind != SESSION_KIND_SPARE ||
                    (chroot && !streq(i->chroot, chroot)))
                        continue;
                lock = session_lock_path(state_dir, *id);
                if (!lock)
                        return -ENOMEM;
                if (!lock_is_held(lock, LOCK_MODE_EXCLUSIVE))
                        continue; /* its owner is gone: a sweep removes it */
                init_alive = i->init_pid > 0 && pid_start_time(i->init_pid, &start) >= 0 && start == i->init_start;
                if (i->phase == SESSION_PHASE_READY && init_alive && spare_take_index_of(state_dir, *id) < 0 &&
                    !i->shared) {
                        _cleanup_free_ char *run_dir = runsock_dir(i->dir);

                        /* Claimed. Its init unlinks its socket when its caller connects: then its command
                         * runs, and it is that caller's session now. Else its caller never came. */
                        if (!run_dir || !runsock_present(run_dir))
                                continue;
                }
                /* A shared one running commands is theirs: told to retire once they are done, not waited
                 * for (its record keeps the version in use meanwhile, as a one-shot session's does). */
                if (i->shared && init_alive && spare_busy(i)) {
                        (void) spare_retire(state_dir, i);
                        continue;
                }
                /* Offered (now taken back), being made (its owner ends it once made), or ending (a SIGTERM
                 * changes nothing then). */
                r = spare_end(state_dir, i);
                if (r < 0)
                        return r;
                n++;
        }
        return n;
}
