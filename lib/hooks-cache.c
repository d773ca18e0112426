/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Results of setup-start hooks, kept per tree and input in STATE/hook-cache and written into a new
 * session's root instead of running the hooks again (hooks.h, "Caching").
 *
 * A session runs its hooks right after mounting its overlay, so what they wrote is exactly the overlay's
 * upper directory: regular files, directories, symbolic links, and whiteouts (character devices 0/0) for
 * what they removed. That is what a record keeps, with modes and owners. A replay writes the same through
 * the session's merged root, as the hooks would have: files rewritten in place, links replaced, removed
 * entries unlinked. It never follows a symbolic link of the root: every step is openat(O_NOFOLLOW) from the
 * directory above. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "hooks-internal.h"
#include "mount.h"

#define HOOK_CACHE_FORMAT "arkose-hook-cache 1\n"
#define HOOK_CACHE_MAX_BYTES (4u << 20)       /* a larger result is not recorded */
#define HOOK_CACHE_MAX_HOOK_SIZE (1u << 20)   /* nor are hooks this large hashed */
#define HOOK_CACHE_MAX_AGE_SEC (2 * 24 * 3600) /* unused entries are removed after this */

struct HookCacheRecord {
        char *upper;    /* the session's upper directory, empty when the hooks started */
        char *dir;      /* STATE/hook-cache */
        char *key;
        char **lowers;
};

HookCacheRecord *hook_cache_record_free(HookCacheRecord *rec) {
        if (!rec)
                return NULL;
        free(rec->upper);
        free(rec->dir);
        free(rec->key);
        strv_free(rec->lowers);
        free(rec);
        return NULL;
}

/* ---- inputs and key ---- */

/* Reads up to HOOK_CACHE_MAX_HOOK_SIZE bytes of @path. */
static int read_hook(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t done = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size > HOOK_CACHE_MAX_HOOK_SIZE)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        buf[done] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = done;
        return 0;
}

/* "yes FILE..." → 1 and the files; anything else (or no line) → 0. */
static int parse_declaration(const char *buf, size_t n, char ***ret_inputs) {
        _cleanup_strv_free_ char **words = NULL, **inputs = NULL;
        _cleanup_free_ char *value = NULL;
        const char *v;
        size_t len;

        v = hook_header_value(buf, n < 1024 ? n : 1024, "# arkose-hook-cache:", &len);
        if (!v)
                return 0;
        value = strndup(v, len);
        if (!value)
                return -ENOMEM;
        words = strv_split(value, " \t");
        if (!words)
                return -ENOMEM;
        if (!words[0] || !streq(words[0], "yes"))
                return 0;
        inputs = calloc(1, sizeof(char *));
        if (!inputs)
                return -ENOMEM;
        for (char **w = words + 1; *w; w++) {
                if (!path_is_absolute(*w))
                        return 0; /* not a declaration we understand: run the hook */
                if (strv_extend(&inputs, *w) < 0)
                        return -ENOMEM;
        }
        *ret_inputs = TAKE_PTR(inputs);
        return 1;
}

int hook_cache_declared(const char *path, char ***ret_inputs) {
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        r = read_hook(path, &buf, &n);
        if (r < 0)
                return r;
        return parse_declaration(buf, n, ret_inputs);
}

/* Whether the variable "K=V" is one a cacheable hook's result may not depend on. */
static bool env_is_per_session(const char *kv) {
        return startswith(kv, "ARKOSE_ROOTFS=") || startswith(kv, "ARKOSE_SESSION_ID=") ||
               startswith(kv, "ARKOSE_CWD=");
}

static bool is_version_number(const char *s) {
        return !isempty(s) && strspn(s, "0123456789") == strlen(s);
}

/* Computes the key of @hooks with @env into @ret. Returns 1, 0 if one of the hooks does not declare
 * itself cacheable, or -errno. */
static int cache_key(char *const *hooks, const HookEnv *env, char *const *envp, char ret[SHA256_HEX_SIZE]) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        Sha256 h;
        int r;

        sha256_init(&h);
        sha256_update(&h, HOOK_CACHE_FORMAT, strlen(HOOK_CACHE_FORMAT));
        sha256_update_line(&h, "phase %s", env->phase);
        /* The tree: store versions never change once published; a version removed and made again is
         * another directory (inode, change time). */
        for (char **l = env->lowers; *l; l++) {
                struct stat st;

                if (lstat(*l, &st) < 0)
                        return -errno;
                sha256_update_line(&h, "lower %s %llu %llu %lld.%09ld", *l, (unsigned long long) st.st_dev,
                          (unsigned long long) st.st_ino, (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
        }
        sha256_update_line(&h, "day %lld", (long long) (time(NULL) / 86400));
        for (char *const *e = envp; *e; e++)
                if (!env_is_per_session(*e))
                        sha256_update_line(&h, "env %s", *e);

        for (char *const *hook = hooks; *hook; hook++) {
                _cleanup_strv_free_ char **inputs = NULL;
                _cleanup_free_ char *buf = NULL;
                char hex[SHA256_HEX_SIZE];
                size_t n;

                r = read_hook(*hook, &buf, &n);
                if (r < 0)
                        return r;
                r = parse_declaration(buf, n, &inputs);
                if (r <= 0) {
                        if (r == 0)
                                log_debug("Hook '%s' does not declare a cacheable result", *hook);
                        return r;
                }
                sha256_update_line(&h, "hook %s %s", *hook, sha256_hex(buf, n, hex));
                for (char **i = inputs; *i; i++) {
                        r = sha256_file(*i, hex);
                        sha256_update_line(&h, "input %s %s", *i, r >= 0 ? hex : "missing");
                }
        }
        sha256_final(&h, digest);
        sha256_to_hex(digest, ret);
        return 1;
}

/* ---- copying, both ways ---- */

static int copy_data(int from, int to, uint64_t *budget) {
        char buf[16384];

        for (;;) {
                ssize_t n = read(from, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                if (budget) {
                        if ((uint64_t) n > *budget)
                                return -EFBIG;
                        *budget -= (uint64_t) n;
                }
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(to, buf + done, (size_t) (n - done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        }
}

static int open_dir_at(int dfd, const char *name) {
        return RET_NERRNO(openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

static bool is_whiteout(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

/* Whether the extended attributes on @fd are only overlayfs's own bookkeeping (and no opaque marker):
 * anything else (capabilities, ACLs, user attributes) would not survive a replay through open(2). */
static int only_overlay_xattrs(int fd) {
        char names[4096], value[8];
        ssize_t n;

        n = flistxattr(fd, names, sizeof(names));
        if (n < 0)
                return errno == ENOTSUP ? 0 : -errno;
        for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1) {
                if (!startswith(names + i, "trusted.overlay."))
                        return -EOPNOTSUPP;
        }
        n = fgetxattr(fd, "trusted.overlay.opaque", value, sizeof(value));
        if (n > 0)
                return -EOPNOTSUPP; /* a directory made anew over one of the tree: not replayable */
        return 0;
}

/* Whether a lower layer has a directory at @rel: a whiteout over it stands for a removed directory. */
static bool lowers_have_dir(char *const *lowers, const char *rel) {
        for (char *const *l = lowers; l && *l; l++) {
                _cleanup_free_ char *p = path_join(*l, rel);
                struct stat st;

                if (!p)
                        return true;
                if (lstat(p, &st) >= 0)
                        return S_ISDIR(st.st_mode);
        }
        return false;
}

typedef struct CopyUpper {
        char *const *lowers;
        uint64_t budget;
} CopyUpper;

static int copy_upper_dir(CopyUpper *cu, int from, int to, const char *rel);

static int copy_upper_entry(CopyUpper *cu, int from, int to, const char *rel, const char *name) {
        _cleanup_free_ char *sub = isempty(rel) ? strdup(name) : path_join(rel, name);
        _cleanup_close_ int src = -EBADF, dst = -EBADF;
        struct stat st;
        int r;

        if (!sub)
                return -ENOMEM;
        if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;

        if (S_ISLNK(st.st_mode)) {
                char target[4097];
                ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (symlinkat(target, to, name) < 0 ||
                    fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                return 0;
        }
        if (is_whiteout(&st)) {
                if (lowers_have_dir(cu->lowers, sub))
                        return -EOPNOTSUPP; /* a removed directory */
                return RET_NERRNO(mknodat(to, name, S_IFCHR | 0000, 0));
        }
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return -EOPNOTSUPP;
        if (S_ISREG(st.st_mode) && st.st_nlink > 1)
                return -EOPNOTSUPP;

        src = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (src < 0)
                return -errno;
        r = only_overlay_xattrs(src);
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(to, name, 0700) < 0)
                        return -errno;
                dst = open_dir_at(to, name);
                if (dst < 0)
                        return dst;
                r = copy_upper_dir(cu, TAKE_FD(src), dst, sub);
                if (r < 0)
                        return r;
        } else {
                dst = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (dst < 0)
                        return -errno;
                r = copy_data(src, dst, &cu->budget);
                if (r < 0)
                        return r;
        }
        /* Owner first: chown clears set-user-ID bits that chmod then restores. */
        if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
                return -errno;
        return 0;
}

/* Calls @fn for each entry of the directory @from (taken), stopping at the first error. */
static int walk_dir(int from, int (*fn)(int from, const char *name, void *userdata), void *userdata) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        d = fdopendir(from);
        if (!d) {
                (void) close(from);
                return -errno;
        }
        while ((errno = 0, de = readdir(d))) {
                if (dot_or_dot_dot(de->d_name))
                        continue;
                r = fn(dirfd(d), de->d_name, userdata);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

typedef struct CopyUpperDir {
        CopyUpper *cu;
        int to;
        const char *rel;
} CopyUpperDir;

static int copy_upper_dir_entry(int from, const char *name, void *userdata) {
        CopyUpperDir *c = userdata;

        return copy_upper_entry(c->cu, from, c->to, c->rel, name);
}

/* Copies the directory @from (taken) into @to (borrowed). */
static int copy_upper_dir(CopyUpper *cu, int from, int to, const char *rel) {
        CopyUpperDir c = { .cu = cu, .to = to, .rel = rel };

        return walk_dir(from, copy_upper_dir_entry, &c);
}

int hook_cache_copy_upper(const char *upper, char *const *lowers, const char *dest) {
        _cleanup_close_ int from = -EBADF, to = -EBADF;
        CopyUpper cu = { .lowers = lowers, .budget = HOOK_CACHE_MAX_BYTES };

        from = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (from < 0)
                return -errno;
        to = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (to < 0)
                return -errno;
        return copy_upper_dir(&cu, TAKE_FD(from), to, "");
}

static int replay_dir(int from, int to);

/* Removes what is at @name in @dfd unless it is a directory (-EISDIR: not ours to remove). */
static int replay_remove(int dfd, const char *name, const struct stat *st) {
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int replay_entry(int from, int to, const char *name) {
        _cleanup_close_ int src = -EBADF, dst = -EBADF;
        struct stat st, cur;
        bool exists;
        int r;

        if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        exists = fstatat(to, name, &cur, AT_SYMLINK_NOFOLLOW) >= 0;
        if (!exists && errno != ENOENT)
                return -errno;

        if (is_whiteout(&st))
                return exists ? replay_remove(to, name, &cur) : 0;
        if (S_ISLNK(st.st_mode)) {
                char target[4097];
                ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
                if (n < 0)
                        return -errno;
                target[n] = '\0';
                if (exists) {
                        r = replay_remove(to, name, &cur);
                        if (r < 0)
                                return r;
                }
                if (symlinkat(target, to, name) < 0 ||
                    fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                return 0;
        }

        src = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (src < 0)
                return -errno;
        if (S_ISDIR(st.st_mode)) {
                if (exists && !S_ISDIR(cur.st_mode))
                        return -ENOTDIR;
                if (!exists && mkdirat(to, name, 0700) < 0)
                        return -errno;
                dst = open_dir_at(to, name);
                if (dst < 0)
                        return dst;
                r = replay_dir(TAKE_FD(src), dst);
                if (r < 0)
                        return r;
        } else {
                /* In place, as a shell redirection writes: an existing file keeps its inode. */
                if (exists && !S_ISREG(cur.st_mode)) {
                        r = replay_remove(to, name, &cur);
                        if (r < 0)
                                return r;
                }
                dst = openat(to, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (dst < 0)
                        return -errno;
                r = copy_data(src, dst, NULL);
                if (r < 0)
                        return r;
        }
        /* A directory of the tree that only holds what the hooks wrote keeps its own change time. */
        if (exists && S_ISDIR(cur.st_mode) && cur.st_uid == st.st_uid && cur.st_gid == st.st_gid &&
            (cur.st_mode & 07777) == (st.st_mode & 07777))
                return 0;
        if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
                return -errno;
        return 0;
}

static int replay_dir_entry(int from, const char *name, void *userdata) {
        int r = replay_entry(from, *(int *) userdata, name);

        if (r < 0)
                return log_debug_errno(r, "Failed to replay '%s': %m", name);
        return 0;
}

/* Replays the recorded directory @from (taken) into @to (borrowed). */
static int replay_dir(int from, int to) {
        return walk_dir(from, replay_dir_entry, &to);
}

int hook_cache_replay(const char *entry, const char *rootfs) {
        _cleanup_close_ int from = -EBADF, to = -EBADF;

        from = open(entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (from < 0)
                return -errno;
        to = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (to < 0)
                return -errno;
        return replay_dir(TAKE_FD(from), to);
}

/* ---- lookup and record ---- */

static bool dir_is_empty(const char *path) {
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return false;
        while ((de = readdir(d)))
                if (!dot_or_dot_dot(de->d_name))
                        return false;
        return true;
}

int hook_cache_lookup(char *const *hooks, const HookEnv *env, char *const *envp, HookCacheRecord **ret_record) {
        _cleanup_(hook_cache_record_freep) HookCacheRecord *rec = NULL;
        _cleanup_free_ char *dir = NULL, *entry = NULL, *upper = NULL;
        char key[SHA256_HEX_SIZE];
        int r;

        *ret_record = NULL;
        if (!streq(env->phase, "setup-start") || isempty(env->state_dir) || strv_length(env->lowers) == 0 ||
            !is_version_number(env->version) || isempty(env->rootfs))
                return 0;
        r = cache_key(hooks, env, envp, key);
        if (r <= 0) {
                if (r < 0)
                        log_debug_errno(r, "Failed to compute the hook cache key, running the hooks: %m");
                return 0;
        }
        dir = path_join(env->state_dir, "hook-cache");
        entry = dir ? path_join(dir, key) : NULL;
        if (!entry)
                return 0;

        r = hook_cache_replay(entry, env->rootfs);
        if (r >= 0) {
                log_debug("Replayed the recorded result of the setup-start hooks (%s)", key);
                (void) utimensat(AT_FDCWD, entry, NULL, 0); /* in use: keep it */
                return 1;
        }
        if (r != -ENOENT)
                /* What was replayed so far is what the hooks write again: they are idempotent. */
                log_debug_errno(r, "Failed to replay hook cache entry %s, running the hooks: %m", key);

        /* The overlay's upper directory holds what the hooks write only if it is empty now. */
        r = mount_overlay_upper(env->rootfs, &upper);
        if (r < 0 || !dir_is_empty(upper))
                return 0;
        rec = calloc(1, sizeof(HookCacheRecord));
        if (!rec || !(rec->key = strdup(key)) || strv_extend_strv(&rec->lowers, env->lowers) < 0)
                return 0;
        rec->upper = TAKE_PTR(upper);
        rec->dir = TAKE_PTR(dir);
        *ret_record = TAKE_PTR(rec);
        return 0;
}

/* Removes entries not used for HOOK_CACHE_MAX_AGE_SEC, and staging directories of killed runs. */
static void prune(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        time_t now = time(NULL);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (dot_or_dot_dot(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    now - st.st_mtime < (de->d_name[0] == '.' ? 3600 : HOOK_CACHE_MAX_AGE_SEC))
                        continue;
                p = path_join(dir, de->d_name);
                if (p && rm_rf(p) < 0)
                        log_debug("Failed to remove old hook cache entry '%s', ignoring.", p);
        }
}

void hook_cache_record(HookCacheRecord *rec) {
        _cleanup_(hook_cache_record_freep) HookCacheRecord *r_ = rec;
        _cleanup_free_ char *staging = NULL, *entry = NULL;
        int r;

        if (mkdir_p(rec->dir, 0700) < 0)
                return;
        prune(rec->dir);
        staging = strdup_printf("%s/.new-%s-%d", rec->dir, rec->key, (int) getpid());
        entry = path_join(rec->dir, rec->key);
        if (!staging || !entry || mkdir(staging, 0700) < 0)
                return;
        r = hook_cache_copy_upper(rec->upper, rec->lowers, staging);
        if (r >= 0 && rename(staging, entry) < 0)
                r = -errno; /* another session recorded it first (-EEXIST, -ENOTEMPTY) */
        if (r < 0) {
                log_debug_errno(r, "Not recording the result of the setup-start hooks: %m");
                (void) rm_rf(staging);
                return;
        }
        log_debug("Recorded the result of the setup-start hooks (%s)", rec->key);
}

bool hooks_all_cacheable(char *const *dirs) {
        _cleanup_strv_free_ char **hooks = NULL;

        if (hooks_list(dirs, &hooks) < 0)
                return false;
        for (char **h = hooks; *h; h++) {
                _cleanup_strv_free_ char **inputs = NULL;

                if (hook_cache_declared(*h, &inputs) <= 0)
                        return false;
        }
        return true;
}
