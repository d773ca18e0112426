/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* unpack: filling a staging rootfs — by running debootstrap or mmdebstrap (unpack-debootstrap.c), or by extracting a
 * tarball with libarchive (unpack-archive.c, the sole includer of <archive.h>) — and writing a tree back
 * out as a tarball. */

typedef struct DebootstrapPlan {
        const char *tool;               /* "debootstrap" (NULL) or "mmdebstrap" */
        const char *suite;
        const char *variant;            /* "minbase", "buildd", "default"; NULL: the tool's default */
        const char *architecture;       /* NULL: the host's */
        char **components;
        char **packages;
        const char *mirror;
        const char *keyring;
        const char *target;
        const char *script;             /* debootstrap's SCRIPT argument; NULL: the suite's. mmdebstrap needs
                                         * none (it reads any suite's Release) and ignores it. */
        int inherit_fd;                 /* > 2: a descriptor the tool inherits (the chroot's lock, so that it
                                         * stays held while the tool runs, even if we are killed); else none */
} DebootstrapPlan;

/* Builds the argv of @plan's tool. Pure. Returns 0 and *ret, or -EINVAL/-ENOMEM.
 * mmdebstrap runs as root into the directory (--mode=root --format=directory), and keeps apt's package
 * lists (--skip=cleanup/apt/lists), as debootstrap does, so that the tree's apt works offline at once;
 * "default" is its "debootstrap" variant (Priority: important, debootstrap's default). */
int unpack_debootstrap_argv(const DebootstrapPlan *plan, char ***ret);

/* Called with the pid of a child as soon as it runs, so that the caller can forward signals to it. */
typedef void (*UnpackChildNotify)(pid_t pid);

/* Runs @plan's tool, writing its whole output to @log_path and showing its progress on stdout (one
 * updating line on a terminal, one line per stage otherwise). The tool gets SIGTERM when we die. SOURCE_DATE_EPOCH, when set to digits in
 * our environment, is passed on (mmdebstrap then makes the same files from the same packages). On
 * failure, returns -ENOENT when the tool is not installed, -EPROTO (exit status) or -EINTR (killed by a
 * signal) and sets *ret_reason to the error line that names the cause ("E: ..."; debootstrap's last,
 * mmdebstrap's first, since mmdebstrap's later ones only say that a step failed), or NULL when it
 * printed none. Logs nothing itself. */
int unpack_debootstrap_run(const DebootstrapPlan *plan, const char *log_path, UnpackChildNotify notify,
                           char **ret_reason);

/* ---- tarballs (unpack-archive.c) ----
 *
 * The functions below log nothing. On failure they return -errno and, when @ret_reason is not NULL, set
 * *ret_reason to a newly allocated one-line English reason for the caller to print (member names are
 * quoted, control characters replaced by '?'); on success *ret_reason is left alone. libarchive's
 * failures become -archive_errno() when that is a positive errno, otherwise -EIO, except that data
 * which is not a sound archive is always -EBADMSG. */

/* Extracts the tarball @archive_path into @target_dir, an existing empty directory (a staging rootfs).
 * Any compression libarchive recognises by content works (gzip, bzip2, xz, lzma, zstd, or none); the
 * format must be tar (ustar, pax or GNU). Restores numeric owners (names in the archive are never
 * looked up in the host's passwd or group), modes including set-id bits, ACLs, extended attributes
 * (security.capability too), file flags, hard links, device nodes, FIFOs and times. Entries may be
 * written "./etc/passwd" (mmdebstrap, sbuild-createchroot --make-sbuild-tarball, our own export) or
 * "etc/passwd"; a "./" entry describes @target_dir itself.
 *
 * A member is refused, and the whole extraction fails, rather than skipped:
 *   -EPERM    "member '../x' leaves the tree": a ".." component, in its name or its hard-link target;
 *             "member '/x' has an absolute path" (likewise for an absolute hard-link target);
 *             "member 'a/b' would be written through the symlink 'a'": a member below a symlink that
 *             an earlier member created. Symlinks themselves may point anywhere (/etc/localtime is
 *             absolute); nothing is ever written through one. libarchive's SECURE_SYMLINKS,
 *             SECURE_NODOTDOT and SECURE_NOABSOLUTEPATHS guards are always set as a second line.
 *   -EBADMSG  "not a tar archive: ...", "archive is truncated or corrupt: ...", "archive is empty",
 *             "'FILE' is empty".
 * Extended attributes private to overlayfs (trusted.overlay.*, user.overlay.*) are dropped: in a lower
 * layer they would act as whiteouts or redirects. Anything else that cannot be restored exactly (an
 * owner, a mode, an xattr) is an error, with the errno libarchive saw: a rootfs without its file
 * capabilities or owners is broken. Without root, only archives owned by the caller extract. Also
 * -ENOTDIR, -ENOTEMPTY (@target_dir not an empty directory), -EISDIR (@archive_path is a directory:
 * see unpack_archive_find_rootfs()), -ENOENT, -ENOSPC and other -errno. After a failure @target_dir
 * holds a partial tree, which the caller removes with its staging directory. Changes the working
 * directory while it runs and restores it (libarchive extracts relative to it); not for programs with
 * threads. */
int unpack_archive_extract(const char *archive_path, const char *target_dir, char **ret_reason);

/* Finds the tarball that holds the root file system in what a user gave to import:
 *   - a tarball: @path itself (a copy in *ret_archive);
 *   - an LXC image directory, as the image server (images.linuxcontainers.org) and lxc-create's
 *     "download" template keep them: a directory holding rootfs.tar.xz next to meta.tar.xz (the
 *     metadata and templates, which are not needed here): @path/rootfs.tar.xz; rootfs.tar.gz,
 *     rootfs.tar.zst and rootfs.tar are accepted too;
 *   - a tarball of such a directory, i.e. one whose top-level members are rootfs.tar.xz, meta.tar.xz
 *     and their kin rather than a tree: its rootfs.tar.* member is extracted into @scratch_dir (a
 *     directory the caller owns and removes, e.g. its staging directory; may be NULL when the caller
 *     has no use for this case, which then fails with -EOPNOTSUPP) and that file is returned.
 * Only the first members of a tarball are read to tell the cases apart. Returns 0 and *ret_archive
 * (newly allocated), or -ENOENT ("'DIR' has no rootfs.tar.xz", or a bundle without one), -EBADMSG as
 * for unpack_archive_extract(), -EINVAL (neither a file nor a directory), other -errno. */
int unpack_archive_find_rootfs(const char *path, const char *scratch_dir, char **ret_archive,
                               char **ret_reason);

/* Writes the tree @source_dir to the tarball @archive_path, compressed as its name says: ".tar",
 * ".tar.gz" or ".tgz", ".tar.xz", ".tar.zst" (anything else: -EINVAL, "unsupported archive name ...").
 * The format is pax (libarchive's "restricted pax": plain ustar headers, pax extensions only where
 * needed), with extended attributes and ACLs, file flags, hard links (each inode's data stored once),
 * device nodes and FIFOs, numeric owners only (no user or group names), and names stored as raw bytes.
 * Members are named "./", "./etc", "./etc/passwd" like mmdebstrap's, so unpack_archive_extract()
 * reads the result back unchanged. Symlinks are stored as symlinks, never followed (only @source_dir
 * itself is resolved), and the walk stays on @source_dir's file system: a mount point below it is
 * stored as an empty directory, like tar --one-file-system. Sockets are skipped (tar cannot hold
 * them). The archive is written to ARCHIVE.tmp-XXXXXX in the same directory, created with mode 0600
 * (a rootfs holds /etc/shadow), and renamed over @archive_path only when complete; on failure it is
 * removed. Returns 0, -EINVAL as above, -ENOTDIR, -ENOENT, -EACCES (an unreadable file), -ENOSPC and
 * other -errno. */
int unpack_archive_export(const char *source_dir, const char *archive_path, char **ret_reason);
