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
#include "lock.h"
#include "mount.h"
#include "state.h"
#include "store.h"

struct StoreStaging {
        char *tree_dir;
        char *dir;
        char *rootfs;
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

                if (!startswith(de->d_name, ".staging-"))
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

int store_staging_new(const char *state_dir, const char *name, StoreStaging **ret) {
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
        s->rootfs = path_join(s->dir, "rootfs");
        if (!s->rootfs)
                return -ENOMEM;
        if (mkdir(s->rootfs, 0755) < 0)
                return -errno;
        *ret = TAKE_PTR(s);
        return 0;
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

static int store_set_current(const char *tree, unsigned version) {
        _cleanup_free_ char *link = path_join(tree, "current");
        _cleanup_free_ char *tmp = NULL;
        char target[32];

        if (!link)
                return -ENOMEM;
        tmp = strdup_printf("%s.tmp.%d", link, (int) getpid());
        if (!tmp)
                return -ENOMEM;
        snprintf(target, sizeof(target), "%u", version);
        (void) unlink(tmp);
        if (symlink(target, tmp) < 0)
                return -errno;
        if (rename(tmp, link) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
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

        r = store_set_current(s->tree_dir, version);
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
        }
        free(s->tree_dir);
        free(s->dir);
        free(s->rootfs);
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
