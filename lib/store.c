/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "config.h"
#include "lock.h"
#include "mount.h"
#include "state.h"
#include "store.h"

struct StoreStaging {
        char *tree_dir;
        char *dir;
        char *rootfs;   /* full staging: rootfs/ */
        char *layer;    /* layered staging: layer/ and work/ */
        char *work;
        bool published;
};

char *store_tree_dir(const char *state_dir, const char *name) {
        return path_join(state_dir, "trees", name);
}

int store_lock(const char *state_dir, const char *name, bool wait) {
        _cleanup_free_ char *trees = path_join(state_dir, "trees");
        _cleanup_free_ char *lock = NULL;
        int r;

        if (!trees)
                return -ENOMEM;
        r = mkdir_p(trees, 0755);
        if (r < 0)
                return r;
        lock = strdup_printf("%s/%s.lock", trees, name);
        if (!lock)
                return -ENOMEM;
        return lock_file(lock, LOCK_MODE_EXCLUSIVE, wait);
}

static int parse_version(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s || *s < '1' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > UINT_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int store_current_version(const char *state_dir, const char *name, unsigned *ret) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *link = NULL;
        char buf[32];
        ssize_t n;

        if (!tree)
                return -ENOMEM;
        link = path_join(tree, "current");
        if (!link)
                return -ENOMEM;
        n = readlink(link, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return parse_version(buf, ret) < 0 ? -EBADMSG : 0;
}

int store_version_rootfs(const char *state_dir, const char *name, unsigned version, char **ret) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        char *p;
        struct stat st;

        if (!tree)
                return -ENOMEM;
        p = strdup_printf("%s/%u/rootfs", tree, version);
        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
                free(p);
                return -ENOENT;
        }
        *ret = p;
        return 0;
}

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

int store_list_versions(const char *state_dir, const char *name, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ unsigned *l = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!tree)
                return -ENOMEM;
        d = opendir(tree);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((de = readdir(d))) {
                unsigned v;
                unsigned *nl;

                if (parse_version(de->d_name, &v) < 0)
                        continue;
                nl = realloc(l, (n + 1) * sizeof(unsigned));
                if (!nl)
                        return -ENOMEM;
                l = nl;
                l[n++] = v;
        }
        if (n > 0)
                qsort(l, n, sizeof(unsigned), cmp_unsigned);
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

int store_list_names(const char *state_dir, char ***ret) {
        _cleanup_free_ char *trees = path_join(state_dir, "trees");
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!trees || !l)
                return -ENOMEM;
        d = opendir(trees);
        if (!d && errno != ENOENT)
                return -errno;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        return r;
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

/* Removes staging directories that killed runs left behind. The caller holds NAME's lock, so no live
 * run owns any of them. */
static void store_sweep_staging(const char *tree) {
        _cleanup_closedir_ DIR *d = opendir(tree);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                int r;

                if (!startswith(de->d_name, ".staging-") && !startswith(de->d_name, ".removing-"))
                        continue;
                p = path_join(tree, de->d_name);
                if (!p)
                        return;
                (void) mount_umount_below(p, NULL);
                r = rm_rf(p);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove stale staging directory '%s': %m, ignoring.", p);
                else
                        log_debug("Removed stale staging directory %s", p);
        }
}

static int staging_new(const char *state_dir, const char *name, bool layered, StoreStaging **ret) {
        _cleanup_(store_staging_freep) StoreStaging *s = NULL;
        int r;

        s = calloc(1, sizeof(StoreStaging));
        if (!s)
                return -ENOMEM;
        s->tree_dir = store_tree_dir(state_dir, name);
        if (!s->tree_dir)
                return -ENOMEM;
        r = mkdir_p(s->tree_dir, 0755);
        if (r < 0)
                return r;
        store_sweep_staging(s->tree_dir);

        s->dir = path_join(s->tree_dir, ".staging-XXXXXX");
        if (!s->dir)
                return -ENOMEM;
        if (!mkdtemp(s->dir)) {
                r = -errno;
                free(s->dir);
                s->dir = NULL;
                return r;
        }
        if (chmod(s->dir, 0755) < 0)
                return -errno;
        if (layered) {
                s->layer = path_join(s->dir, "layer");
                s->work = path_join(s->dir, "work");
                if (!s->layer || !s->work)
                        return -ENOMEM;
                if (mkdir(s->layer, 0755) < 0 || mkdir(s->work, 0700) < 0)
                        return -errno;
        } else {
                s->rootfs = path_join(s->dir, "rootfs");
                if (!s->rootfs)
                        return -ENOMEM;
                if (mkdir(s->rootfs, 0755) < 0)
                        return -errno;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int store_staging_new(const char *state_dir, const char *name, StoreStaging **ret) {
        return staging_new(state_dir, name, false, ret);
}

int store_staging_new_layer(const char *state_dir, const char *name, StoreStaging **ret) {
        return staging_new(state_dir, name, true, ret);
}

const char *store_staging_dir(StoreStaging *s) {
        return s->dir;
}

const char *store_staging_layer(StoreStaging *s) {
        return s->layer;
}

const char *store_staging_work(StoreStaging *s) {
        return s->work;
}

const char *store_staging_rootfs(StoreStaging *s) {
        return s->rootfs;
}

static unsigned store_max_version(const char *tree) {
        _cleanup_closedir_ DIR *d = opendir(tree);
        struct dirent *de;
        unsigned max = 0;

        while (d && (de = readdir(d))) {
                unsigned v;

                if (parse_version(de->d_name, &v) >= 0 && v > max)
                        max = v;
        }
        return max;
}

static int set_current(const char *tree, unsigned version) {
        _cleanup_free_ char *link = path_join(tree, "current");
        char target[32];

        if (!link)
                return -ENOMEM;
        snprintf(target, sizeof(target), "%u", version);
        return symlink_replace(target, link);
}

int store_staging_publish(StoreStaging *s, char *const *info, unsigned *ret_version) {
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *info_path = NULL, *final = NULL;
        unsigned version;
        char created[64], vbuf[32];
        time_t now = time(NULL);
        int r;

        version = store_max_version(s->tree_dir) + 1;

        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        snprintf(vbuf, sizeof(vbuf), "%u", version);
        if (strv_extend(&kv, "version") < 0 || strv_extend(&kv, vbuf) < 0 || strv_extend(&kv, "created") < 0 ||
            strv_extend(&kv, created) < 0)
                return -ENOMEM;
        for (char *const *i = info; i && i[0] && i[1]; i += 2)
                if (strv_extend(&kv, i[0]) < 0 || strv_extend(&kv, i[1]) < 0)
                        return -ENOMEM;

        if (s->work) {
                /* overlayfs's work directory is scratch space, and not part of a version. */
                r = rm_rf(s->work);
                if (r < 0)
                        return r;
        }
        /* The version must be on disk before it is visible: a power loss after the rename must not
         * leave a published version with missing data. */
        {
                _cleanup_close_ int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0 || syncfs(fd) < 0)
                        return -errno;
        }

        info_path = path_join(s->dir, "info.json");
        if (!info_path)
                return -ENOMEM;
        r = state_write(info_path, kv);
        if (r < 0)
                return r;

        final = strdup_printf("%s/%u", s->tree_dir, version);
        if (!final)
                return -ENOMEM;
        if (rename(s->dir, final) < 0)
                return -errno;
        s->published = true;

        r = set_current(s->tree_dir, version);
        if (r < 0)
                return r;
        *ret_version = version;
        return 0;
}

StoreStaging *store_staging_free(StoreStaging *s) {
        if (!s)
                return NULL;
        if (s->dir && !s->published) {
                int r;

                (void) mount_umount_below(s->dir, NULL);
                r = rm_rf(s->dir);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove staging directory '%s': %m, ignoring.", s->dir);
                /* A first version that failed leaves no chroot behind: the tree directory goes too when
                 * nothing else is in it (rmdir() refuses otherwise). */
                (void) rmdir(s->tree_dir);
        }
        free(s->tree_dir);
        free(s->dir);
        free(s->rootfs);
        free(s->layer);
        free(s->work);
        free(s);
        return NULL;
}

int store_version_info(const char *state_dir, const char *name, unsigned version, char ***ret) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *p = NULL;

        if (!tree)
                return -ENOMEM;
        p = strdup_printf("%s/%u/info.json", tree, version);
        if (!p)
                return -ENOMEM;
        return state_read(p, ret);
}

int store_version_parent(const char *state_dir, const char *name, unsigned version, unsigned *ret) {
        _cleanup_strv_free_ char **info = NULL;
        const char *p;
        int r;

        r = store_version_info(state_dir, name, version, &info);
        if (r < 0)
                return r;
        p = state_get(info, "parent");
        if (isempty(p)) {
                *ret = 0;
                return 0;
        }
        return parse_version(p, ret) < 0 || *ret >= version ? -EBADMSG : 0;
}

int store_version_lowers(const char *state_dir, const char *name, unsigned version, char ***ret) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_strv_free_ char **l = NULL;
        struct stat st;
        int r;

        if (!tree)
                return -ENOMEM;
        for (unsigned depth = 0; depth < STORE_MAX_CHAIN; depth++) {
                _cleanup_free_ char *rootfs = strdup_printf("%s/%u/rootfs", tree, version);
                _cleanup_free_ char *layer = strdup_printf("%s/%u/layer", tree, version);
                unsigned parent;

                if (!rootfs || !layer)
                        return -ENOMEM;
                if (stat(rootfs, &st) >= 0 && S_ISDIR(st.st_mode)) {
                        r = strv_consume(&l, TAKE_PTR(rootfs));
                        if (r < 0)
                                return r;
                        *ret = TAKE_PTR(l);
                        return 0;
                }
                if (stat(layer, &st) < 0 || !S_ISDIR(st.st_mode))
                        return -ENOENT;
                r = store_version_parent(state_dir, name, version, &parent);
                if (r < 0)
                        return r;
                if (parent == 0)
                        return -EBADMSG; /* a layer needs a parent */
                r = strv_consume(&l, TAKE_PTR(layer));
                if (r < 0)
                        return r;
                version = parent;
        }
        return -ELOOP;
}

int store_set_current_version(const char *state_dir, const char *name, unsigned version) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        if (!tree)
                return -ENOMEM;
        dir = strdup_printf("%s/%u", tree, version);
        if (!dir)
                return -ENOMEM;
        if (stat(dir, &st) < 0)
                return -errno;
        return set_current(tree, version);
}

int store_use_lock(const char *state_dir, const char *name, bool exclusive) {
        _cleanup_free_ char *trees = path_join(state_dir, "trees");
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *lock = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!trees || !tree)
                return -ENOMEM;
        /* No tree, nothing to use: and no lock file left behind for a name that does not exist. */
        if (access(tree, F_OK) < 0)
                return -errno;
        r = mkdir_p(trees, 0755);
        if (r < 0)
                return r;
        lock = strdup_printf("%s/%s.use", trees, name);
        if (!lock)
                return -ENOMEM;
        fd = lock_file(lock, exclusive ? LOCK_MODE_EXCLUSIVE : LOCK_MODE_SHARED, true);
        if (fd < 0)
                return fd;
        /* Removed while we waited for the lock (store_remove_tree()). */
        if (access(tree, F_OK) < 0) {
                r = -errno;
                if (exclusive)
                        (void) lock_file_remove(lock, fd);
                return r;
        }
        return TAKE_FD(fd);
}

/* Renames @dir out of sight (".removing-..." in @tree, swept like staging) and deletes it. */
static int remove_out_of_sight(const char *tree, const char *dir) {
        _cleanup_free_ char *tmp = path_join(tree, ".removing-XXXXXX");
        int r;

        if (!tmp)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        (void) rmdir(tmp);
        if (rename(dir, tmp) < 0)
                return -errno;
        (void) mount_umount_below(tmp, NULL);
        r = rm_rf(tmp);
        return r;
}

int store_remove_version(const char *state_dir, const char *name, unsigned version) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *dir = NULL;

        if (!tree)
                return -ENOMEM;
        dir = strdup_printf("%s/%u", tree, version);
        if (!dir)
                return -ENOMEM;
        if (access(dir, F_OK) < 0)
                return -errno;
        return remove_out_of_sight(tree, dir);
}

int store_remove_tree(const char *state_dir, const char *name, int lock_fd, int use_fd) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_free_ char *trees = path_join(state_dir, "trees");
        _cleanup_free_ char *tmp = NULL, *lock = NULL, *use = NULL;
        int r;

        if (!tree || !trees)
                return -ENOMEM;
        tmp = strdup_printf("%s/.removing-%s-XXXXXX", trees, name);
        lock = strdup_printf("%s/%s.lock", trees, name);
        use = strdup_printf("%s/%s.use", trees, name);
        if (!tmp || !lock || !use)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        (void) rmdir(tmp);
        if (rename(tree, tmp) < 0)
                return -errno;
        (void) mount_umount_below(tmp, NULL);
        r = rm_rf(tmp);
        if (r < 0)
                return r;
        /* The name is free again: nothing of it stays in trees/. Whoever waits for one of these locks
         * takes a new file's (lock_file()), and finds no tree. */
        r = lock_file_remove(use, use_fd);
        if (r >= 0)
                r = lock_file_remove(lock, lock_fd);
        return r;
}

int store_list_version_records(const char *state_dir, const char *name, StoreVersion **ret, size_t *ret_n) {
        _cleanup_free_ unsigned *versions = NULL;
        _cleanup_free_ StoreVersion *l = NULL;
        size_t n = 0;
        int r;

        r = store_list_versions(state_dir, name, &versions, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(StoreVersion));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i].version = versions[i];
                r = store_version_parent(state_dir, name, versions[i], &l[i].parent);
                if (r < 0)
                        l[i].parent = 0; /* unreadable record: treat as a root, never as garbage of others */
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

static bool contains_unsigned(const unsigned *l, size_t n, unsigned v) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

static const StoreVersion *find_version(const StoreVersion *versions, size_t n, unsigned v) {
        for (size_t i = 0; i < n; i++)
                if (versions[i].version == v)
                        return &versions[i];
        return NULL;
}

int store_gc_select(const StoreVersion *versions, size_t n, unsigned current, const unsigned *in_use,
                    size_t n_in_use, unsigned keep, unsigned **ret, size_t *ret_n) {
        _cleanup_free_ bool *kept = calloc(n + 1, sizeof(bool));
        _cleanup_free_ unsigned *out = calloc(n + 1, sizeof(unsigned));
        size_t n_out = 0;

        if (!kept || !out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                kept[i] = versions[i].version == current || i + keep >= n ||
                          contains_unsigned(in_use, n_in_use, versions[i].version);
        /* Ancestors of kept versions are kept: walk down from the newest, so one pass suffices
         * (a parent is always older than its child). */
        for (size_t i = n; i-- > 0;) {
                const StoreVersion *p;

                if (!kept[i] || versions[i].parent == 0)
                        continue;
                p = find_version(versions, n, versions[i].parent);
                if (p)
                        kept[p - versions] = true;
        }
        for (size_t i = n; i-- > 0;)
                if (!kept[i])
                        out[n_out++] = versions[i].version;
        *ret = TAKE_PTR(out);
        *ret_n = n_out;
        return 0;
}

const char *store_remove_refusal(const StoreVersion *versions, size_t n, unsigned current,
                                 const unsigned *in_use, size_t n_in_use, unsigned version) {
        if (!find_version(versions, n, version))
                return "no such version";
        if (version == current)
                return "it is the current version (roll back to another one first)";
        if (contains_unsigned(in_use, n_in_use, version))
                return "a running session uses it";
        for (size_t i = 0; i < n; i++)
                if (versions[i].parent == version)
                        return "a newer version is a layer on it";
        return NULL;
}

int store_parse_ref(const char *spec, char **ret_name, unsigned *ret_version, const char **ret_reason) {
        _cleanup_free_ char *name = NULL;
        const char *at = spec ? strchr(spec, '@') : NULL;
        unsigned version = 0;

        if (!spec)
                return -EINVAL;
        name = at ? strndup(spec, at - spec) : strdup(spec);
        if (!name)
                return -ENOMEM;
        if (!chroot_name_is_valid(name, ret_reason))
                return -EINVAL;
        if (at && parse_version(at + 1, &version) < 0) {
                if (ret_reason)
                        *ret_reason = "expected NAME@NUMBER";
                return -EINVAL;
        }
        *ret_name = TAKE_PTR(name);
        *ret_version = version;
        return 0;
}

int store_sweep(const char *state_dir, const char *name) {
        _cleanup_free_ char *tree = store_tree_dir(state_dir, name);
        _cleanup_close_ int fd = -EBADF;

        if (!tree)
                return -ENOMEM;
        if (access(tree, F_OK) < 0)
                return 0;
        fd = store_lock(state_dir, name, false);
        if (fd == -EBUSY)
                return 0;
        if (fd < 0)
                return fd;
        store_sweep_staging(tree);
        return 0;
}
