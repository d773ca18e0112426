/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include <libmount.h>

#include "base/log.h"
#include "base/util.h"
#include "mount.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_context *, mnt_free_context);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_unref_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter);

int mount_overlay_options(const OverlayPlan *plan, char **ret) {
        _cleanup_free_ char *lower = NULL;
        char *s;
        size_t len = 0;

        if (!plan || !plan->target || strv_length(plan->lowers) == 0)
                return -EINVAL;
        if (plan->upper && !plan->work)
                return -EINVAL;

        for (char **l = plan->lowers; *l; l++) {
                if (strpbrk(*l, ":,") || !path_is_absolute(*l))
                        return -EINVAL;
                len += strlen(*l) + 1;
        }
        if ((plan->upper && strpbrk(plan->upper, ",")) || (plan->work && strpbrk(plan->work, ",")))
                return -EINVAL;

        lower = calloc(1, len + 1);
        if (!lower)
                return -ENOMEM;
        for (char **l = plan->lowers; *l; l++) {
                if (l != plan->lowers)
                        strcat(lower, ":");
                strcat(lower, *l);
        }

        /* A single lower without an upper is not an overlay at all for the kernel: it needs two. */
        if (!plan->upper && strv_length(plan->lowers) < 2)
                return -EINVAL;

        if (plan->upper)
                s = strdup_printf("lowerdir=%s,upperdir=%s,workdir=%s%s", lower, plan->upper, plan->work,
                                  plan->volatile_upper ? ",volatile" : "");
        else
                s = strdup_printf("lowerdir=%s", lower);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Translates a failed mnt_context_mount()/umount() into -errno. libmount returns negative errnos for
 * its own failures, MNT_ERR_* (>= 5000) codes for helpers and policy, and records the syscall errno
 * when mount(2) itself failed. */
static int mount_context_errno(struct libmnt_context *cxt, int rc) {
        if (mnt_context_syscall_called(cxt)) {
                int e = mnt_context_get_syscall_errno(cxt);
                return e > 0 ? -e : -EIO;
        }
        if (rc < 0)
                return rc;
        switch (rc) {
        case MNT_ERR_NOFSTAB:
        case MNT_ERR_NOSOURCE:
                return -ENOENT;
        case MNT_ERR_NOFSTYPE:
                return -ENODEV;
        case MNT_ERR_MOUNTOPT:
                return -EINVAL;
        case MNT_ERR_NAMESPACE:
                return -EPERM;
        default:
                return -EIO;
        }
}

static int mount_do(const char *fstype, const char *source, const char *target, const char *options) {
        _cleanup_(mnt_free_contextp) struct libmnt_context *cxt = NULL;
        int rc;

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* No /etc/fstab lookups, no /sbin/mount.* helpers, no mtab: we describe the mount in full. */
        if (mnt_context_disable_helpers(cxt, true) < 0 || mnt_context_disable_mtab(cxt, true) < 0 ||
            mnt_context_disable_canonicalize(cxt, true) < 0 || mnt_context_set_fstype(cxt, fstype) < 0 ||
            mnt_context_set_source(cxt, source) < 0 || mnt_context_set_target(cxt, target) < 0 ||
            mnt_context_set_options(cxt, options) < 0)
                return -ENOMEM;

        rc = mnt_context_mount(cxt);
        if (rc != 0)
                return mount_context_errno(cxt, rc);
        return 0;
}

int mount_overlay(const OverlayPlan *plan) {
        _cleanup_free_ char *opts = NULL;
        int r;

        r = mount_overlay_options(plan, &opts);
        if (r < 0)
                return r;
        r = mount_do("overlay", "arkose", plan->target, opts);
        if (r == -EINVAL && plan->volatile_upper) {
                OverlayPlan p = *plan;

                log_debug("Overlay refused 'volatile', retrying without it");
                p.volatile_upper = false;
                free(opts);
                opts = NULL;
                r = mount_overlay_options(&p, &opts);
                if (r < 0)
                        return r;
                r = mount_do("overlay", "arkose", plan->target, opts);
        }
        if (r < 0)
                log_debug("mount overlay on %s (%s): %s", plan->target, opts, strerror(-r));
        return r;
}

int mount_overlay_upper(const char *target, char **ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
        struct libmnt_fs *fs;
        char *value = NULL;
        size_t len = 0;
        char *upper;

        tb = mnt_new_table_from_file("/proc/self/mountinfo");
        if (!tb)
                return negative_errno();
        fs = mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
        if (!fs || !streq(mnt_fs_get_fstype(fs) ?: "", "overlay"))
                return -ENOENT;
        if (mnt_optstr_get_option(mnt_fs_get_fs_options(fs), "upperdir", &value, &len) != 0 || len == 0)
                return -ENOENT;
        upper = strndup(value, len);
        if (!upper)
                return -ENOMEM;
        *ret = upper;
        return 0;
}

int mount_tmpfs(const char *target, const char *options) {
        return mount_do("tmpfs", "arkose-tmpfs", target, options ?: "mode=0755");
}

static bool path_below(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        while (n > 1 && prefix[n - 1] == '/')
                n--;
        return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Collects the targets at or below @prefix, in mountinfo order (parents before children). */
static int mount_targets_below(const char *prefix, char ***ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = NULL;
        _cleanup_strv_free_ char **l = NULL;
        struct libmnt_fs *fs;
        int r;

        tb = mnt_new_table_from_file("/proc/self/mountinfo");
        if (!tb)
                return negative_errno();
        it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (mnt_table_next_fs(tb, it, &fs) == 0) {
                const char *t = mnt_fs_get_target(fs);

                if (t && path_below(t, prefix)) {
                        r = strv_extend(&l, t);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

bool mount_any_below(const char *prefix) {
        _cleanup_strv_free_ char **l = NULL;

        return mount_targets_below(prefix, &l) >= 0 && strv_length(l) > 0;
}

int mount_umount_below(const char *prefix, unsigned *ret_count) {
        unsigned count = 0;
        int r = 0;

        /* Re-read after each pass: unmounting one point can take others (propagation) with it. */
        for (unsigned pass = 0; pass < 16; pass++) {
                _cleanup_strv_free_ char **l = NULL;
                size_t n;
                int q;

                q = mount_targets_below(prefix, &l);
                if (q < 0)
                        return q;
                n = strv_length(l);
                if (n == 0)
                        break;
                /* Deepest (latest mounted) first. */
                for (size_t i = n; i > 0; i--) {
                        if (umount2(l[i - 1], UMOUNT_NOFOLLOW) >= 0 ||
                            (errno == EBUSY && umount2(l[i - 1], MNT_DETACH | UMOUNT_NOFOLLOW) >= 0)) {
                                count++;
                                continue;
                        }
                        if (errno != EINVAL && errno != ENOENT && r == 0)
                                r = -errno;
                }
        }
        if (ret_count)
                *ret_count = count;
        if (r == 0 && mount_any_below(prefix))
                r = -EBUSY;
        return r;
}

int mount_make_rprivate(void) {
        return RET_NERRNO(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

int mount_hide_cgroupfs(void) {
        /* Covered, not unmounted: an unmount waits for an RCU grace period (2-3 ms per session on the
         * paravirtualised machines we measure on), a mount does not. */
        if (mount("arkose-nocgroup", "/sys/fs/cgroup", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4k,mode=0555") < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
