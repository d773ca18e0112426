/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmount.h>

#include "base/dlopen-util.h"
#include "base/log.h"
#include "base/util.h"
#include "mount.h"

/* libmount is loaded on first use (base/dlopen-util.h): linked, it and what it needs (libblkid,
 * libselinux, libpcre2) are mapped by every run of arkose-chroot, a command in a running session
 * included, which mounts nothing. */
static void *mount_dl = NULL;
DLSYM_PROTOTYPE(mnt_context_disable_canonicalize);
DLSYM_PROTOTYPE(mnt_context_disable_helpers);
DLSYM_PROTOTYPE(mnt_context_disable_mtab);
DLSYM_PROTOTYPE(mnt_context_get_syscall_errno);
DLSYM_PROTOTYPE(mnt_context_mount);
DLSYM_PROTOTYPE(mnt_context_set_fstype);
DLSYM_PROTOTYPE(mnt_context_set_options);
DLSYM_PROTOTYPE(mnt_context_set_source);
DLSYM_PROTOTYPE(mnt_context_set_target);
DLSYM_PROTOTYPE(mnt_context_syscall_called);
DLSYM_PROTOTYPE(mnt_free_context);
DLSYM_PROTOTYPE(mnt_free_iter);
DLSYM_PROTOTYPE(mnt_unref_table);
DLSYM_PROTOTYPE(mnt_fs_get_fs_options);
DLSYM_PROTOTYPE(mnt_fs_get_fstype);
DLSYM_PROTOTYPE(mnt_fs_get_target);
DLSYM_PROTOTYPE(mnt_new_context);
DLSYM_PROTOTYPE(mnt_new_iter);
DLSYM_PROTOTYPE(mnt_new_table_from_file);
DLSYM_PROTOTYPE(mnt_optstr_get_option);
DLSYM_PROTOTYPE(mnt_table_find_target);
DLSYM_PROTOTYPE(mnt_table_next_fs);

static int dlopen_mount(void) {
        return dlopen_many_sym(&mount_dl, "libmount.so.1",
                               DLSYM_ARG(mnt_context_disable_canonicalize),
                               DLSYM_ARG(mnt_context_disable_helpers),
                               DLSYM_ARG(mnt_context_disable_mtab),
                               DLSYM_ARG(mnt_context_get_syscall_errno),
                               DLSYM_ARG(mnt_context_mount),
                               DLSYM_ARG(mnt_context_set_fstype),
                               DLSYM_ARG(mnt_context_set_options),
                               DLSYM_ARG(mnt_context_set_source),
                               DLSYM_ARG(mnt_context_set_target),
                               DLSYM_ARG(mnt_context_syscall_called),
                               DLSYM_ARG(mnt_free_context),
                               DLSYM_ARG(mnt_free_iter),
                               DLSYM_ARG(mnt_unref_table),
                               DLSYM_ARG(mnt_fs_get_fs_options),
                               DLSYM_ARG(mnt_fs_get_fstype),
                               DLSYM_ARG(mnt_fs_get_target),
                               DLSYM_ARG(mnt_new_context),
                               DLSYM_ARG(mnt_new_iter),
                               DLSYM_ARG(mnt_new_table_from_file),
                               DLSYM_ARG(mnt_optstr_get_option),
                               DLSYM_ARG(mnt_table_find_target),
                               DLSYM_ARG(mnt_table_next_fs),
                               NULL);
}

static void mnt_free_contextp(struct libmnt_context **p) {
        if (*p)
                sym_mnt_free_context(*p);
}

static void mnt_unref_tablep(struct libmnt_table **p) {
        if (*p)
                sym_mnt_unref_table(*p);
}

static void mnt_free_iterp(struct libmnt_iter **p) {
        if (*p)
                sym_mnt_free_iter(*p);
}

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

/* Translates a failed sym_mnt_context_mount()/umount() into -errno. libmount returns negative errnos for
 * its own failures, MNT_ERR_* (>= 5000) codes for helpers and policy, and records the syscall errno
 * when mount(2) itself failed. */
static int mount_context_errno(struct libmnt_context *cxt, int rc) {
        if (sym_mnt_context_syscall_called(cxt)) {
                int e = sym_mnt_context_get_syscall_errno(cxt);
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

        rc = dlopen_mount();
        if (rc < 0)
                return rc;
        cxt = sym_mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* No /etc/fstab lookups, no /sbin/mount.* helpers, no mtab: we describe the mount in full. */
        if (sym_mnt_context_disable_helpers(cxt, true) < 0 || sym_mnt_context_disable_mtab(cxt, true) < 0 ||
            sym_mnt_context_disable_canonicalize(cxt, true) < 0 || sym_mnt_context_set_fstype(cxt, fstype) < 0 ||
            sym_mnt_context_set_source(cxt, source) < 0 || sym_mnt_context_set_target(cxt, target) < 0 ||
            sym_mnt_context_set_options(cxt, options) < 0)
                return -ENOMEM;

        rc = sym_mnt_context_mount(cxt);
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

/* This process's mount table (/proc/self/mountinfo), through libmount. */
static int mount_table_read(struct libmnt_table **ret) {
        int r = dlopen_mount();

        if (r < 0)
                return r;
        *ret = sym_mnt_new_table_from_file("/proc/self/mountinfo");
        return *ret ? 0 : negative_errno();
}

int mount_overlay_upper(const char *target, char **ret) {
        _cleanup_(mnt_unref_tablep) struct libmnt_table *tb = NULL;
        struct libmnt_fs *fs;
        char *value = NULL;
        size_t len = 0;
        char *upper;
        int r;

        r = mount_table_read(&tb);
        if (r < 0)
                return r;
        fs = sym_mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
        if (!fs || !streq(sym_mnt_fs_get_fstype(fs) ?: "", "overlay"))
                return -ENOENT;
        if (sym_mnt_optstr_get_option(sym_mnt_fs_get_fs_options(fs), "upperdir", &value, &len) != 0 || len == 0)
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

int mount_bind_fd(int fd, const char *target) {
        char source[32];

        if (fd < 0)
                return -EBADF;
        snprintf(source, sizeof(source), "/proc/self/fd/%d", fd);
        /* mount(2) itself: the kernel follows the magic link to the open file, which libmount, looking
         * at the source as a path, does not allow for. */
        return RET_NERRNO(mount(source, target, NULL, MS_BIND, NULL));
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

        r = mount_table_read(&tb);
        if (r < 0)
                return r;
        it = sym_mnt_new_iter(MNT_ITER_FORWARD);
        if (!it)
                return -ENOMEM;
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        while (sym_mnt_table_next_fs(tb, it, &fs) == 0) {
                const char *t = sym_mnt_fs_get_target(fs);

                if (t && path_below(t, prefix)) {
                        r = strv_extend(&l, t);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int mount_detach_others_below(const char *prefix, const char *keep) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = mount_targets_below(prefix, &l);
        if (r < 0)
                return r;
        /* Deepest first; a detached parent takes its children along (EINVAL for them then). */
        for (size_t i = strv_length(l); i > 0; i--)
                if (!(keep && path_below(l[i - 1], keep)) && umount2(l[i - 1], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 &&
                    errno != EINVAL && errno != ENOENT)
                        return -errno;
        return 0;
}

bool mount_any_below(const char *prefix) {
        _cleanup_strv_free_ char **l = NULL;

        return mount_targets_below(prefix, &l) >= 0 && strv_length(l) > 0;
}

int mount_umount_below(const char *prefix, unsigned *ret_count) {
        unsigned count = 0;
        bool clear = false;
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
                if (n == 0) {
                        clear = true;
                        break;
                }
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
        /* A pass that found nothing has just read the table: only sixteen passes that never got there
         * need another look. */
        if (r == 0 && !clear && mount_any_below(prefix))
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

int mount_bind_into(int ns_pid, const char *source, const char *target, MountIntoFlags flags) {
        _cleanup_close_ int tree = -EBADF, ns = -EBADF;
        char ns_path[64];
        pid_t pid;

        tree = (int) syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0)
                return -errno;
        if (flags & MOUNT_INTO_READ_ONLY) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

                if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return -errno;
        }
        (void) snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/mnt", ns_pid);
        ns = open(ns_path, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Joining the namespace moves root and working directory to its root: @target is the
                 * container's path, resolved there, symlinks and all. */
                if (setns(ns, CLONE_NEWNS) < 0)
                        _exit(errno & 0xff);
                if (flags & MOUNT_INTO_MKDIR) {
                        int r = mkdir_p(target, 0755);
                        if (r < 0)
                                _exit(-r & 0xff);
                }
                /* Each earlier mount there, the newest first (a command that still uses one keeps it). */
                for (int i = 0; (flags & MOUNT_INTO_REPLACE) && i < 16; i++)
                        if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                                break;
                if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        _exit(errno & 0xff);
                _exit(0);
        }
        return pid_wait_errno(pid);
}
