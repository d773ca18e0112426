/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* mount: overlay and bind mounts through libmount, and their undoing. Sole includer of <libmount.h>.
 * It only ever unmounts what lies below a directory the caller names (its own session or test
 * directory), deepest first. */

typedef struct OverlayPlan {
        char **lowers;          /* lower layers, topmost first; at least one */
        const char *upper;      /* NULL: a read-only overlay of the lowers */
        const char *work;       /* required with upper */
        const char *target;
        bool volatile_upper;    /* "volatile": skip syncs; for throw-away upper directories */
} OverlayPlan;

/* Builds the overlay option string for @plan ("lowerdir=a:b,upperdir=u,workdir=w[,volatile]"). Lower
 * paths containing ':' or ',' are refused (-EINVAL), as overlayfs cannot take them unescaped.
 * Returns 0 and *ret, or -errno. Pure. */
int mount_overlay_options(const OverlayPlan *plan, char **ret);

/* Mounts the overlay described by @plan. Falls back to no "volatile" on kernels without it.
 * Returns 0 or -errno (the mount(2) errno when the kernel refused). Logs nothing. */
int mount_overlay(const OverlayPlan *plan);

/* The upper directory of the overlay mounted at @target (the topmost mount there, per
 * /proc/self/mountinfo). Returns 0 and *ret (newly allocated), -ENOENT when no overlay with an upper
 * directory is mounted at @target, or -errno. Logs nothing. */
int mount_overlay_upper(const char *target, char **ret);

/* Mounts a tmpfs on @target with @options (e.g. "mode=0755,size=50%"). */
int mount_tmpfs(const char *target, const char *options);

/* Binds the file or directory open as @fd (an O_PATH fd will do) at @target, which exists: the very inode
 * @fd is, whatever its path now leads to. */
int mount_bind_fd(int fd, const char *target);

/* Unmounts every mount point at or below @prefix (per /proc/self/mountinfo), deepest first; busy
 * mounts are detached lazily. Never touches anything outside @prefix. Returns 0 or the first -errno;
 * *ret_count (if given) is the number of mount points removed. */
int mount_umount_below(const char *prefix, unsigned *ret_count);

/* In a mount namespace of this process's own (changes not propagated to the host's): detaches every mount
 * point at or below @prefix except those at or below @keep (NULL: none kept). For a long-lived process
 * whose copy of the host's mounts would keep other sessions' overlays alive after they ended. Returns 0 or
 * -errno. */
int mount_detach_others_below(const char *prefix, const char *keep);

/* Returns true when some mount point lies at or below @prefix. */
bool mount_any_below(const char *prefix);

/* Makes the calling process's mount namespace private (mount --make-rprivate / after unshare). */
int mount_make_rprivate(void);

/* Hides the cgroup file systems at /sys/fs/cgroup in the calling process's mount namespace, which must be
 * one of its own (private, or a slave of the host's): an empty read-only tmpfs is mounted over them, so that
 * liblxc finds no cgroup hierarchy (v1, hybrid or unified). The host's mounts are untouched. Returns 0
 * (also when there is no /sys/fs/cgroup) or -errno. */
int mount_hide_cgroupfs(void);

typedef enum MountIntoFlags {
        MOUNT_INTO_READ_ONLY = 1 << 0, /* the new mount is read-only */
        MOUNT_INTO_MKDIR     = 1 << 1, /* makes @target and its parents (mode 755) when missing */
        MOUNT_INTO_REPLACE   = 1 << 2, /* detaches what is mounted at @target first */
} MountIntoFlags;

/* Binds host directory @source at @target (a directory) in the mount namespace of process @ns_pid (a
 * running container's init): a copy of @source's mount tree is taken here, then attached there from a
 * child that joins that namespace, so that @target resolves inside the container. Returns 0 or -errno
 * (-ENOENT: @source or @target missing). Logs nothing. */
int mount_bind_into(int ns_pid, const char *source, const char *target, MountIntoFlags flags);
