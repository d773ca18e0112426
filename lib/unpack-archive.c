/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/dlopen-util.h"
#include "base/log.h"
#include "base/util.h"
#include "unpack.h"

/* The one place that knows libarchive (STYLE.md §2): its handles, flags and error numbers stay here. */

/* libarchive is loaded on first use (base/dlopen-util.h): linked, it and the libraries it needs (libxml2
 * and ICU, the compressors) would be mapped by every run of arkose-chroot, sessions included. */
static void *archive_dl = NULL;
DLSYM_PROTOTYPE(archive_entry_atime);
DLSYM_PROTOTYPE(archive_entry_atime_is_set);
DLSYM_PROTOTYPE(archive_entry_atime_nsec);
DLSYM_PROTOTYPE(archive_entry_clone);
DLSYM_PROTOTYPE(archive_entry_copy_pathname);
DLSYM_PROTOTYPE(archive_entry_dev);
DLSYM_PROTOTYPE(archive_entry_filetype);
DLSYM_PROTOTYPE(archive_entry_free);
DLSYM_PROTOTYPE(archive_entry_hardlink);
DLSYM_PROTOTYPE(archive_entry_ino64);
DLSYM_PROTOTYPE(archive_entry_linkify);
DLSYM_PROTOTYPE(archive_entry_linkresolver_free);
DLSYM_PROTOTYPE(archive_entry_linkresolver_new);
DLSYM_PROTOTYPE(archive_entry_linkresolver_set_strategy);
DLSYM_PROTOTYPE(archive_entry_mtime);
DLSYM_PROTOTYPE(archive_entry_mtime_is_set);
DLSYM_PROTOTYPE(archive_entry_mtime_nsec);
DLSYM_PROTOTYPE(archive_entry_new);
DLSYM_PROTOTYPE(archive_entry_pathname);
DLSYM_PROTOTYPE(archive_entry_size);
DLSYM_PROTOTYPE(archive_entry_xattr_add_entry);
DLSYM_PROTOTYPE(archive_entry_xattr_clear);
DLSYM_PROTOTYPE(archive_entry_xattr_next);
DLSYM_PROTOTYPE(archive_entry_xattr_reset);
DLSYM_PROTOTYPE(archive_errno);
DLSYM_PROTOTYPE(archive_error_string);
DLSYM_PROTOTYPE(archive_filter_code);
DLSYM_PROTOTYPE(archive_format);
DLSYM_PROTOTYPE(archive_read_data);
DLSYM_PROTOTYPE(archive_read_data_block);
DLSYM_PROTOTYPE(archive_read_data_into_fd);
DLSYM_PROTOTYPE(archive_read_disk_can_descend);
DLSYM_PROTOTYPE(archive_read_disk_descend);
DLSYM_PROTOTYPE(archive_read_disk_new);
DLSYM_PROTOTYPE(archive_read_disk_open);
DLSYM_PROTOTYPE(archive_read_disk_set_behavior);
DLSYM_PROTOTYPE(archive_read_disk_set_symlink_hybrid);
DLSYM_PROTOTYPE(archive_read_free);
DLSYM_PROTOTYPE(archive_read_new);
DLSYM_PROTOTYPE(archive_read_next_header);
DLSYM_PROTOTYPE(archive_read_next_header2);
DLSYM_PROTOTYPE(archive_read_open_fd);
DLSYM_PROTOTYPE(archive_read_support_filter_bzip2);
DLSYM_PROTOTYPE(archive_read_support_filter_gzip);
DLSYM_PROTOTYPE(archive_read_support_filter_lzma);
DLSYM_PROTOTYPE(archive_read_support_filter_xz);
DLSYM_PROTOTYPE(archive_read_support_filter_zstd);
DLSYM_PROTOTYPE(archive_read_support_format_tar);
DLSYM_PROTOTYPE(archive_write_close);
DLSYM_PROTOTYPE(archive_write_add_filter_none);
DLSYM_PROTOTYPE(archive_write_add_filter_zstd);
DLSYM_PROTOTYPE(archive_write_add_filter_xz);
DLSYM_PROTOTYPE(archive_write_add_filter_gzip);
DLSYM_PROTOTYPE(archive_write_data);
DLSYM_PROTOTYPE(archive_write_data_block);
DLSYM_PROTOTYPE(archive_write_disk_new);
DLSYM_PROTOTYPE(archive_write_disk_set_options);
DLSYM_PROTOTYPE(archive_write_finish_entry);
DLSYM_PROTOTYPE(archive_write_free);
DLSYM_PROTOTYPE(archive_write_header);
DLSYM_PROTOTYPE(archive_write_new);
DLSYM_PROTOTYPE(archive_write_open_fd);
DLSYM_PROTOTYPE(archive_write_set_format_option);
DLSYM_PROTOTYPE(archive_write_set_format_pax_restricted);

static int dlopen_archive(void) {
        return dlopen_many_sym(&archive_dl, "libarchive.so.13",
                               DLSYM_ARG(archive_entry_atime),
                               DLSYM_ARG(archive_entry_atime_is_set),
                               DLSYM_ARG(archive_entry_atime_nsec),
                               DLSYM_ARG(archive_entry_clone),
                               DLSYM_ARG(archive_entry_copy_pathname),
                               DLSYM_ARG(archive_entry_dev),
                               DLSYM_ARG(archive_entry_filetype),
                               DLSYM_ARG(archive_entry_free),
                               DLSYM_ARG(archive_entry_hardlink),
                               DLSYM_ARG(archive_entry_ino64),
                               DLSYM_ARG(archive_entry_linkify),
                               DLSYM_ARG(archive_entry_linkresolver_free),
                               DLSYM_ARG(archive_entry_linkresolver_new),
                               DLSYM_ARG(archive_entry_linkresolver_set_strategy),
                               DLSYM_ARG(archive_entry_mtime),
                               DLSYM_ARG(archive_entry_mtime_is_set),
                               DLSYM_ARG(archive_entry_mtime_nsec),
                               DLSYM_ARG(archive_entry_new),
                               DLSYM_ARG(archive_entry_pathname),
                               DLSYM_ARG(archive_entry_size),
                               DLSYM_ARG(archive_entry_xattr_add_entry),
                               DLSYM_ARG(archive_entry_xattr_clear),
                               DLSYM_ARG(archive_entry_xattr_next),
                               DLSYM_ARG(archive_entry_xattr_reset),
                               DLSYM_ARG(archive_errno),
                               DLSYM_ARG(archive_error_string),
                               DLSYM_ARG(archive_filter_code),
                               DLSYM_ARG(archive_format),
                               DLSYM_ARG(archive_read_data),
                               DLSYM_ARG(archive_read_data_block),
                               DLSYM_ARG(archive_read_data_into_fd),
                               DLSYM_ARG(archive_read_disk_can_descend),
                               DLSYM_ARG(archive_read_disk_descend),
                               DLSYM_ARG(archive_read_disk_new),
                               DLSYM_ARG(archive_read_disk_open),
                               DLSYM_ARG(archive_read_disk_set_behavior),
                               DLSYM_ARG(archive_read_disk_set_symlink_hybrid),
                               DLSYM_ARG(archive_read_free),
                               DLSYM_ARG(archive_read_new),
                               DLSYM_ARG(archive_read_next_header),
                               DLSYM_ARG(archive_read_next_header2),
                               DLSYM_ARG(archive_read_open_fd),
                               DLSYM_ARG(archive_read_support_filter_bzip2),
                               DLSYM_ARG(archive_read_support_filter_gzip),
                               DLSYM_ARG(archive_read_support_filter_lzma),
                               DLSYM_ARG(archive_read_support_filter_xz),
                               DLSYM_ARG(archive_read_support_filter_zstd),
                               DLSYM_ARG(archive_read_support_format_tar),
                               DLSYM_ARG(archive_write_close),
                               DLSYM_ARG(archive_write_add_filter_none),
                               DLSYM_ARG(archive_write_add_filter_zstd),
                               DLSYM_ARG(archive_write_add_filter_xz),
                               DLSYM_ARG(archive_write_add_filter_gzip),
                               DLSYM_ARG(archive_write_data),
                               DLSYM_ARG(archive_write_data_block),
                               DLSYM_ARG(archive_write_disk_new),
                               DLSYM_ARG(archive_write_disk_set_options),
                               DLSYM_ARG(archive_write_finish_entry),
                               DLSYM_ARG(archive_write_free),
                               DLSYM_ARG(archive_write_header),
                               DLSYM_ARG(archive_write_new),
                               DLSYM_ARG(archive_write_open_fd),
                               DLSYM_ARG(archive_write_set_format_option),
                               DLSYM_ARG(archive_write_set_format_pax_restricted),
                               NULL);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, sym_archive_read_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, sym_archive_write_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry *, sym_archive_entry_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry_linkresolver *, sym_archive_entry_linkresolver_free);

/* Everything a rootfs needs restored exactly, and libarchive's own guards against members that leave the
 * target, always on (STYLE.md §2) behind our own checks in check_member(). No user or group lookup is
 * installed on the writer, so owners are restored by number. */
#define EXTRACT_FLAGS                                                                                \
        (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL | \
         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_FFLAGS | ARCHIVE_EXTRACT_SECURE_SYMLINKS |          \
         ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

#define READ_BLOCK_SIZE (64 * 1024)

/* libarchive's error numbers for bad data and for misuse, from its archive_private.h (not installed):
 * on Linux, which has no EFTYPE, they are these. Its third, ARCHIVE_ERRNO_MISC, is -1. */
#define LIBARCHIVE_ERRNO_FILE_FORMAT EILSEQ
#define LIBARCHIVE_ERRNO_PROGRAMMER  EINVAL

static const char *archive_message(struct archive *a) {
        return sym_archive_error_string(a) ?: "unknown error";
}

/* libarchive → -errno (STYLE.md §3): its errno when that is a real one, else -EIO. */
static int archive_to_errno(struct archive *a) {
        int e = sym_archive_errno(a);

        return e > 0 ? -e : -EIO;
}

/* A failure of the reading side. Format errors (libarchive's ARCHIVE_ERRNO_FILE_FORMAT, or its
 * ARCHIVE_ERRNO_MISC from the decompressors) mean bad data: -EBADMSG, whichever layer noticed, so that
 * callers see one code for one cause. A real errno from read(2) stays. */
static int read_failure(struct archive *a, unsigned n_entries, char **reason) {
        int e = sym_archive_errno(a);

        if (e > 0 && e != LIBARCHIVE_ERRNO_FILE_FORMAT && e != LIBARCHIVE_ERRNO_PROGRAMMER)
                return set_reason(reason, -e, "failed to read the archive: %s", archive_message(a));
        if (n_entries == 0 && sym_archive_format(a) == 0 && sym_archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE)
                return set_reason(reason, -EBADMSG, "not a tar archive: %s", archive_message(a));
        return set_reason(reason, -EBADMSG, "archive is truncated or corrupt: %s", archive_message(a));
}

static int write_failure(struct archive *a, const char *name, char **reason) {
        return set_reason(reason, archive_to_errno(a), "failed to extract '%s': %s", name,
                          archive_message(a));
}

/* Opens a tar reader on @fd (not taken). Only the decompressors built into libarchive that tarballs use
 * are enabled, so that the data's magic never makes libarchive run lrzip or another program. */
static int reader_new(int fd, struct archive **ret, char **reason) {
        _cleanup_(sym_archive_read_freep) struct archive *a = NULL;

        a = sym_archive_read_new();
        if (!a)
                return -ENOMEM;
        (void) sym_archive_read_support_filter_gzip(a);
        (void) sym_archive_read_support_filter_bzip2(a);
        (void) sym_archive_read_support_filter_xz(a);
        (void) sym_archive_read_support_filter_lzma(a);
        (void) sym_archive_read_support_filter_zstd(a);
        if (sym_archive_read_support_format_tar(a) != ARCHIVE_OK)
                return set_reason(reason, archive_to_errno(a), "libarchive cannot read tar: %s",
                                  archive_message(a));
        if (sym_archive_read_open_fd(a, fd, READ_BLOCK_SIZE) != ARCHIVE_OK)
                return read_failure(a, 0, reason);
        *ret = TAKE_PTR(a);
        return 0;
}

static int open_archive_file(const char *path, char **reason) {
        struct stat st;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return set_reason(reason, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                (void) close(fd);
                return set_reason(reason, r, "cannot stat '%s': %s", path, strerror(-r));
        }
        if (S_ISDIR(st.st_mode)) {
                (void) close(fd);
                return set_reason(reason, -EISDIR, "'%s' is a directory, not an archive", path);
        }
        if (S_ISREG(st.st_mode) && st.st_size == 0) {
                (void) close(fd);
                return set_reason(reason, -EBADMSG, "'%s' is empty", path);
        }
        return fd;
}

/* ---- member checks ---- */

typedef enum PathVerdict {
        PATH_SAFE,
        PATH_EMPTY,
        PATH_ABSOLUTE,
        PATH_DOTDOT,
        PATH_THROUGH_SYMLINK,
} PathVerdict;

/* Judges the member path @path against the tree being extracted below @dir_fd: it must be relative,
 * have no ".." component, and no directory on the way to it may be a symlink (an earlier member may
 * have made one; the last component may be one, which libarchive replaces rather than follows).
 * Returns a PathVerdict, with *ret_symlink (newly allocated) for PATH_THROUGH_SYMLINK, or -ENOMEM. */
static int judge_path(int dir_fd, const char *path, char **ret_symlink) {
        _cleanup_free_ char *norm = NULL;
        size_t len = 0;

        if (isempty(path))
                return PATH_EMPTY;
        if (path[0] == '/')
                return PATH_ABSOLUTE;

        /* Normalise to "a/b/c": drop empty and "." components. */
        norm = malloc(strlen(path) + 1);
        if (!norm)
                return -ENOMEM;
        for (const char *p = path; *p;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 2 && strneq(p, "..", 2))
                        return PATH_DOTDOT;
                if (n != 1 || p[0] != '.') {
                        if (len > 0)
                                norm[len++] = '/';
                        memcpy(norm + len, p, n);
                        len += n;
                }
                p += n;
        }
        norm[len] = '\0';

        for (char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
                struct stat st;

                *s = '\0';
                if (fstatat(dir_fd, norm, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        break; /* Not there yet (libarchive makes it) or not a directory (it fails). */
                if (S_ISLNK(st.st_mode)) {
                        *ret_symlink = TAKE_PTR(norm);
                        return PATH_THROUGH_SYMLINK;
                }
                *s = '/';
        }
        return PATH_SAFE;
}

static int check_member(int dir_fd, struct archive_entry *entry, char **reason) {
        _cleanup_free_ char *via = NULL;
        const char *name = sym_archive_entry_pathname(entry), *link = sym_archive_entry_hardlink(entry);
        int v;

        v = judge_path(dir_fd, name, &via);
        switch (v) {
        case PATH_SAFE:
                break;
        case PATH_EMPTY:
                return set_reason(reason, -EBADMSG, "archive is truncated or corrupt: a member has no name");
        case PATH_ABSOLUTE:
                return set_reason(reason, -EPERM, "member '%s' has an absolute path", name);
        case PATH_DOTDOT:
                return set_reason(reason, -EPERM, "member '%s' leaves the tree", name);
        case PATH_THROUGH_SYMLINK:
                return set_reason(reason, -EPERM, "member '%s' would be written through the symlink '%s'",
                                  name, via);
        default:
                return v;
        }
        if (!link)
                return 0;

        v = judge_path(dir_fd, link, &via);
        switch (v) {
        case PATH_SAFE:
                return 0;
        case PATH_EMPTY:
                return set_reason(reason, -EBADMSG,
                                  "archive is truncated or corrupt: member '%s' links to nothing", name);
        case PATH_ABSOLUTE:
                return set_reason(reason, -EPERM, "member '%s' is a hard link to the absolute path '%s'",
                                  name, link);
        case PATH_DOTDOT:
                return set_reason(reason, -EPERM,
                                  "member '%s' is a hard link to '%s', which leaves the tree", name, link);
        case PATH_THROUGH_SYMLINK:
                return set_reason(reason, -EPERM,
                                  "member '%s' is a hard link to '%s', behind the symlink '%s'", name, link,
                                  via);
        default:
                return v;
        }
}

/* overlayfs keeps its own state in trusted.overlay.* xattrs (user.overlay.* when mounted with
 * "userxattr"): whiteouts, opaque directories, redirects. In a tree that becomes a lower layer they
 * would change what sessions see, so an archive does not get to set them; they are dropped. */
static bool xattr_is_overlay_private(const char *name) {
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

static int drop_overlay_xattrs(struct archive_entry *entry) {
        _cleanup_(sym_archive_entry_freep) struct archive_entry *copy = NULL;
        const char *name;
        const void *value;
        size_t size;
        bool found = false;

        sym_archive_entry_xattr_reset(entry);
        while (sym_archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK)
                found = found || xattr_is_overlay_private(name);
        if (!found)
                return 0;

        copy = sym_archive_entry_clone(entry);
        if (!copy)
                return -ENOMEM;
        sym_archive_entry_xattr_clear(entry);
        sym_archive_entry_xattr_reset(copy);
        while (sym_archive_entry_xattr_next(copy, &name, &value, &size) == ARCHIVE_OK)
                if (!xattr_is_overlay_private(name))
                        sym_archive_entry_xattr_add_entry(entry, name, value, size);
        return 0;
}

/* ---- extraction ---- */

static int copy_member_data(struct archive *in, struct archive *out, const char *name, char **reason) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r;

                r = sym_archive_read_data_block(in, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_OK)
                        return read_failure(in, 1, reason);
                if (sym_archive_write_data_block(out, buf, size, offset) < ARCHIVE_OK)
                        return write_failure(out, name, reason);
        }
}

/* True for ".", "./" and the like: the member that describes the target directory itself (a name
 * of dots and slashes only, once judge_path() refused ".."). */
static bool member_is_root(const char *name) {
        return strspn(name, "./") == strlen(name);
}

/* libarchive restores the owner, mode and xattrs of a "./" member on the existing target directory,
 * but not its times: those are set here, after everything below was written. */
static void root_times_from(struct archive_entry *entry, struct timespec ret[static 2]) {
        ret[0] = (struct timespec){ .tv_nsec = UTIME_OMIT };
        if (sym_archive_entry_atime_is_set(entry))
                ret[0] = (struct timespec){ sym_archive_entry_atime(entry), sym_archive_entry_atime_nsec(entry) };
        ret[1] = (struct timespec){ .tv_nsec = UTIME_OMIT };
        if (sym_archive_entry_mtime_is_set(entry))
                ret[1] = (struct timespec){ sym_archive_entry_mtime(entry), sym_archive_entry_mtime_nsec(entry) };
}

static int extract_member(struct archive *in, struct archive *out, int dir_fd, struct archive_entry *entry,
                          char **reason) {
        const char *name = sym_archive_entry_pathname(entry) ?: "";
        int r;

        r = check_member(dir_fd, entry, reason);
        if (r < 0)
                return r;
        r = drop_overlay_xattrs(entry);
        if (r < 0)
                return r;
        if (sym_archive_write_header(out, entry) != ARCHIVE_OK)
                return write_failure(out, name, reason);
        if (sym_archive_entry_size(entry) > 0) {
                r = copy_member_data(in, out, name, reason);
                if (r < 0)
                        return r;
        }
        if (sym_archive_write_finish_entry(out) != ARCHIVE_OK)
                return write_failure(out, name, reason);
        return 0;
}

/* Extracts every member of @in below the working directory, which is @dir_fd. Any warning from the
 * writer (an owner, mode, xattr or ACL that could not be restored) is an error. */
static int extract_members(struct archive *in, int dir_fd, char **reason) {
        _cleanup_(sym_archive_write_freep) struct archive *out = NULL;
        struct archive_entry *entry;
        struct timespec root_times[2];
        bool root = false;
        unsigned n = 0;
        int r;

        out = sym_archive_write_disk_new();
        if (!out)
                return -ENOMEM;
        if (sym_archive_write_disk_set_options(out, EXTRACT_FLAGS) != ARCHIVE_OK)
                return set_reason(reason, archive_to_errno(out),
                                  "libarchive refused the extraction flags: %s", archive_message(out));

        for (;;) {
                r = sym_archive_read_next_header(in, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                /* ARCHIVE_WARN here is about reading, e.g. a name not valid in the locale's character set,
                 * which is then kept as raw bytes: that is what we want in a rootfs. */
                if (r < ARCHIVE_WARN)
                        return read_failure(in, n, reason);
                n++;
                r = extract_member(in, out, dir_fd, entry, reason);
                if (r < 0)
                        return r;
                if (member_is_root(sym_archive_entry_pathname(entry))) {
                        root_times_from(entry, root_times);
                        root = true;
                }
        }
        if (n == 0)
                return set_reason(reason, -EBADMSG, "archive is empty");

        /* Directory modes and times are set last, here, so that read-only directories could be filled. */
        if (sym_archive_write_close(out) != ARCHIVE_OK)
                return set_reason(reason, archive_to_errno(out), "failed to finish the extraction: %s",
                                  archive_message(out));
        if (root && futimens(dir_fd, root_times) < 0)
                return set_reason(reason, -errno, "failed to set the times of the tree's top: %s",
                                  strerror(errno));
        return 0;
}

static int dir_is_empty(int dir_fd) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -errno;
        }
        errno = 0;
        while ((de = readdir(d)))
                if (!dot_or_dot_dot(de->d_name))
                        return 0;
        return errno > 0 ? -errno : 1;
}

/* Going back to the saved working directory can only fail if it was removed meanwhile; then there is
 * nothing better to go back to. */
static void restore_cwd(int *fd) {
        if (*fd >= 0)
                (void) fchdir(*fd);
        *fd = safe_close(*fd);
}

static int extract_into(const char *archive_path, const char *target_dir, char **reason) {
        _cleanup_(sym_archive_read_freep) struct archive *in = NULL;
        _cleanup_close_ int archive_fd = -EBADF, dir_fd = -EBADF;
        _cleanup_(restore_cwd) int cwd_fd = -EBADF;
        int r;

        dir_fd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return set_reason(reason, -errno, "cannot open '%s': %s", target_dir, strerror(errno));
        r = dir_is_empty(dir_fd);
        if (r < 0)
                return set_reason(reason, r, "cannot read '%s': %s", target_dir, strerror(-r));
        if (r == 0)
                return set_reason(reason, -ENOTEMPTY, "'%s' is not empty", target_dir);

        archive_fd = open_archive_file(archive_path, reason);
        if (archive_fd < 0)
                return archive_fd;
        r = reader_new(archive_fd, &in, reason);
        if (r < 0)
                return r;

        /* libarchive writes relative to the working directory; no threads here (STYLE.md §2). */
        cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cwd_fd < 0)
                return set_reason(reason, -errno, "cannot open the working directory: %s", strerror(errno));
        if (fchdir(dir_fd) < 0)
                return set_reason(reason, -errno, "cannot enter '%s': %s", target_dir, strerror(errno));

        /* The writer is freed (its fix-ups applied) before restore_cwd() runs, as it is declared later. */
        return extract_members(in, dir_fd, reason);
}

int unpack_archive_extract(const char *archive_path, const char *target_dir, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int r;

        r = dlopen_archive();
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = strdup("cannot load libarchive (libarchive.so.13)");
                return r;
        }
        r = extract_into(archive_path, target_dir, &reason);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

/* ---- finding the rootfs in an LXC image ---- */

static const char *const lxc_rootfs_names[] = {
        "rootfs.tar.xz",
        "rootfs.tar.gz",
        "rootfs.tar.zst",
        "rootfs.tar",
};

/* Files that sit next to rootfs.tar.xz in an image server directory, and never at the top of a rootfs. */
static const char *const lxc_image_names[] = {
        "rootfs.tar.xz", "rootfs.tar.gz", "rootfs.tar.zst", "rootfs.tar",      "meta.tar.xz",
        "meta.tar.gz",   "lxd.tar.xz",    "incus.tar.xz",   "rootfs.squashfs",
};

static bool name_in(const char *name, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(name, names[i]))
                        return true;
        return false;
}

/* "./rootfs.tar.xz" → "rootfs.tar.xz"; NULL for members below the top level, "." and "./". */
static const char *top_level_name(const char *path) {
        while (startswith(path, "./"))
                path += 2;
        if (isempty(path) || streq(path, ".") || strchr(path, '/'))
                return NULL;
        return path;
}

static int copy_member_to(struct archive *in, const char *dir, const char *name, char **ret_path,
                          char **reason) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        p = path_join(dir, name);
        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return set_reason(reason, -errno, "cannot create '%s': %s", p, strerror(errno));
        r = sym_archive_read_data_into_fd(in, fd);
        if (r != ARCHIVE_OK) {
                (void) unlink(p);
                return read_failure(in, 1, reason);
        }
        *ret_path = TAKE_PTR(p);
        return 0;
}

/* Returns 0 when @path is an ordinary tarball, 1 and *ret_path when it bundles an LXC image whose
 * rootfs tarball was copied into @scratch_dir. Reads only up to the first real member of a rootfs. */
static int peek_bundle(const char *path, const char *scratch_dir, char **ret_path, char **reason) {
        _cleanup_(sym_archive_read_freep) struct archive *in = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct archive_entry *entry;
        unsigned n = 0;
        int r;

        fd = open_archive_file(path, reason);
        if (fd < 0)
                return fd;
        r = reader_new(fd, &in, reason);
        if (r < 0)
                return r;

        for (;;) {
                const char *name, *top;

                r = sym_archive_read_next_header(in, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return read_failure(in, n, reason);
                n++;
                name = sym_archive_entry_pathname(entry) ?: "";
                top = top_level_name(name);
                if (n == 1 && (streq(name, ".") || streq(name, "./")))
                        continue;
                if (!top || sym_archive_entry_filetype(entry) != AE_IFREG ||
                    !name_in(top, lxc_image_names, ELEMENTSOF(lxc_image_names))) {
                        if (n <= 2)
                                return 0; /* A tree: the archive is the rootfs. */
                        continue;
                }
                if (!name_in(top, lxc_rootfs_names, ELEMENTSOF(lxc_rootfs_names)))
                        continue;
                if (!scratch_dir)
                        return set_reason(reason, -EOPNOTSUPP,
                                          "'%s' holds an LXC image; unpack its rootfs.tar.xz first", path);
                r = copy_member_to(in, scratch_dir, top, ret_path, reason);
                return r < 0 ? r : 1;
        }
        if (n == 0)
                return 0; /* Empty: unpack_archive_extract() says so. */
        return set_reason(reason, -ENOENT, "'%s' holds an LXC image without rootfs.tar.xz", path);
}

static int find_rootfs(const char *path, const char *scratch_dir, char **ret_archive, char **reason) {
        _cleanup_free_ char *bundled = NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return set_reason(reason, -errno, "cannot access '%s': %s", path, strerror(errno));

        if (S_ISDIR(st.st_mode)) {
                for (size_t i = 0; i < ELEMENTSOF(lxc_rootfs_names); i++) {
                        _cleanup_free_ char *p = path_join(path, lxc_rootfs_names[i]);

                        if (!p)
                                return -ENOMEM;
                        if (stat(p, &st) >= 0 && S_ISREG(st.st_mode)) {
                                *ret_archive = TAKE_PTR(p);
                                return 0;
                        }
                }
                return set_reason(reason, -ENOENT,
                                  "'%s' has no rootfs.tar.xz (an LXC image directory holds "
                                  "rootfs.tar.xz and meta.tar.xz)",
                                  path);
        }
        if (!S_ISREG(st.st_mode))
                return set_reason(reason, -EINVAL, "'%s' is neither a file nor a directory", path);

        r = peek_bundle(path, scratch_dir, &bundled, reason);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret_archive = TAKE_PTR(bundled);
                return 0;
        }
        *ret_archive = strdup(path);
        return *ret_archive ? 0 : -ENOMEM;
}

int unpack_archive_find_rootfs(const char *path, const char *scratch_dir, char **ret_archive,
                               char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int r;

        r = dlopen_archive();
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = strdup("cannot load libarchive (libarchive.so.13)");
                return r;
        }
        r = find_rootfs(path, scratch_dir, ret_archive, &reason);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

/* ---- export ---- */

static const struct {
        const char *suffix;
        int (**add_filter)(struct archive *a); /* set by dlopen_archive() */
} export_compressions[] = {
        { ".tar.gz", &sym_archive_write_add_filter_gzip }, { ".tgz", &sym_archive_write_add_filter_gzip },
        { ".tar.xz", &sym_archive_write_add_filter_xz },   { ".tar.zst", &sym_archive_write_add_filter_zstd },
        { ".tar", &sym_archive_write_add_filter_none },
};

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a > b && streq(s + a - b, suffix);
}

typedef struct ExportWalk {
        struct archive *disk;
        struct archive *out;
        struct archive_entry_linkresolver *links;
        const char *source; /* as opened, without trailing slashes */
        size_t source_len;
        struct stat self; /* the archive being written, in case it lies inside the tree */
} ExportWalk;

static int disk_failure(struct archive *disk, const char *name, char **reason) {
        return set_reason(reason, archive_to_errno(disk), "failed to read '%s': %s", name,
                          archive_message(disk));
}

static int export_failure(struct archive *out, const char *name, char **reason) {
        return set_reason(reason, archive_to_errno(out), "failed to archive '%s': %s", name,
                          archive_message(out));
}

/* "SOURCE" → ".", "SOURCE/etc" → "./etc", as mmdebstrap names members. */
static int member_name(const ExportWalk *w, struct archive_entry *entry) {
        _cleanup_free_ char *name = NULL;
        const char *p = sym_archive_entry_pathname(entry);

        if (!p || !strneq(p, w->source, w->source_len) ||
            (p[w->source_len] != '\0' && p[w->source_len] != '/'))
                return -EINVAL;
        name = strdup_printf(".%s", p + w->source_len);
        if (!name)
                return -ENOMEM;
        sym_archive_entry_copy_pathname(entry, name);
        return 0;
}

static int export_data(ExportWalk *w, struct archive_entry *entry, char **reason) {
        const char *name = sym_archive_entry_pathname(entry);
        la_int64_t size = sym_archive_entry_size(entry), done = 0;
        char buf[READ_BLOCK_SIZE];

        for (;;) {
                la_ssize_t n = sym_archive_read_data(w->disk, buf, sizeof(buf));

                if (n == 0)
                        break;
                if (n < 0)
                        return disk_failure(w->disk, name, reason);
                if (done + n > size || sym_archive_write_data(w->out, buf, (size_t) n) != n)
                        return set_reason(reason, -EBUSY, "'%s' changed while it was archived", name);
                done += n;
        }
        /* A file that shrank would be padded with zeros by libarchive: refuse that too. */
        if (done != size)
                return set_reason(reason, -EBUSY, "'%s' changed while it was archived", name);
        return 0;
}

static int export_entry(ExportWalk *w, struct archive_entry *entry, char **reason) {
        struct archive_entry *sparse = NULL;
        int r;

        r = member_name(w, entry);
        if (r < 0)
                return set_reason(reason, r, "unexpected path '%s' below '%s'",
                                  sym_archive_entry_pathname(entry), w->source);

        /* The tar strategy (pax) hands back the same entry at once: the first of a set of hard links with
         * its data, the others as links to it, so reading the data from w->disk below stays right. */
        sym_archive_entry_linkify(w->links, &entry, &sparse);
        assert(entry && !sparse);

        /* For the file types that reach here, the pax writer warns only when a name is not valid in the
         * locale's character set; it then stores the name as raw bytes (hdrcharset=BINARY), as wanted. */
        if (sym_archive_write_header(w->out, entry) < ARCHIVE_WARN)
                return export_failure(w->out, sym_archive_entry_pathname(entry), reason);
        if (sym_archive_entry_filetype(entry) == AE_IFREG && !sym_archive_entry_hardlink(entry) &&
            sym_archive_entry_size(entry) > 0) {
                r = export_data(w, entry, reason);
                if (r < 0)
                        return r;
        }
        if (sym_archive_write_finish_entry(w->out) != ARCHIVE_OK)
                return export_failure(w->out, sym_archive_entry_pathname(entry), reason);
        return 0;
}

static int export_walk(ExportWalk *w, char **reason) {
        for (;;) {
                _cleanup_(sym_archive_entry_freep) struct archive_entry *entry = NULL;
                int r;

                entry = sym_archive_entry_new();
                if (!entry)
                        return -ENOMEM;
                r = sym_archive_read_next_header2(w->disk, entry);
                if (r == ARCHIVE_EOF)
                        return 0;
                /* A warning means lost metadata (an unreadable xattr or ACL): not a faithful copy. */
                if (r != ARCHIVE_OK)
                        return disk_failure(w->disk, sym_archive_entry_pathname(entry) ?: w->source, reason);

                /* Does not descend into other file systems (ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS). */
                if (sym_archive_read_disk_can_descend(w->disk) &&
                    sym_archive_read_disk_descend(w->disk) != ARCHIVE_OK)
                        return disk_failure(w->disk, sym_archive_entry_pathname(entry), reason);

                switch (sym_archive_entry_filetype(entry)) {
                case AE_IFREG:
                case AE_IFDIR:
                case AE_IFLNK:
                case AE_IFCHR:
                case AE_IFBLK:
                case AE_IFIFO:
                        break;
                default:
                        log_debug("Skipping '%s', a socket or other file that tar cannot hold",
                                  sym_archive_entry_pathname(entry));
                        continue;
                }
                if (sym_archive_entry_dev(entry) == w->self.st_dev &&
                    sym_archive_entry_ino64(entry) == (la_int64_t) w->self.st_ino)
                        continue;

                r = export_entry(w, entry, reason);
                if (r < 0)
                        return r;
        }
}

static int export_to_fd(const char *source, int fd, int (*add_filter)(struct archive *a), char **reason) {
        _cleanup_(sym_archive_read_freep) struct archive *disk = NULL;
        _cleanup_(sym_archive_write_freep) struct archive *out = NULL;
        _cleanup_(sym_archive_entry_linkresolver_freep) struct archive_entry_linkresolver *links = NULL;
        /* For "/", member names are "./" and "./bin": cut nothing. */
        ExportWalk w = { .source = source, .source_len = streq(source, "/") ? 0 : strlen(source) };
        int r;

        if (fstat(fd, &w.self) < 0)
                return -errno;

        disk = sym_archive_read_disk_new();
        out = sym_archive_write_new();
        links = sym_archive_entry_linkresolver_new();
        if (!disk || !out || !links)
                return -ENOMEM;

        /* No sym_archive_write_set_format_option() lookup functions for names: numeric owners only. Names are
         * stored as the bytes on disk (hdrcharset=BINARY), so no locale can make one fail to convert. */
        if (sym_archive_write_set_format_pax_restricted(out) != ARCHIVE_OK || add_filter(out) != ARCHIVE_OK)
                return set_reason(reason, archive_to_errno(out), "libarchive cannot write this format: %s",
                                  archive_message(out));
        sym_archive_entry_linkresolver_set_strategy(links, sym_archive_format(out));
        if (sym_archive_write_open_fd(out, fd) != ARCHIVE_OK)
                return export_failure(out, source, reason);

        /* Symlinks below @source are stored, not followed ("hybrid": only @source itself is resolved);
         * one file system only; sparse files are read as plain data. */
        if (sym_archive_read_disk_set_symlink_hybrid(disk) != ARCHIVE_OK ||
            sym_archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS |
                                                         ARCHIVE_READDISK_NO_SPARSE) != ARCHIVE_OK)
                return disk_failure(disk, source, reason);
        if (sym_archive_read_disk_open(disk, source) != ARCHIVE_OK)
                return disk_failure(disk, source, reason);

        w.disk = disk;
        w.out = out;
        w.links = links;
        r = export_walk(&w, reason);
        if (r < 0)
                return r;

        if (sym_archive_write_close(out) != ARCHIVE_OK)
                return export_failure(out, source, reason);
        return 0;
}

static int export_tree(const char *source_dir, const char *archive_path, char **reason) {
        _cleanup_free_ char *source = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int (*add_filter)(struct archive * a) = NULL;
        struct stat st;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(export_compressions) && !add_filter; i++)
                if (endswith(archive_path, export_compressions[i].suffix))
                        add_filter = *export_compressions[i].add_filter;
        if (!add_filter)
                return set_reason(
                        reason, -EINVAL,
                        "unsupported archive name '%s': use .tar, .tar.gz, .tgz, .tar.xz or .tar.zst",
                        archive_path);

        if (stat(source_dir, &st) < 0)
                return set_reason(reason, -errno, "cannot access '%s': %s", source_dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return set_reason(reason, -ENOTDIR, "'%s' is not a directory", source_dir);

        /* Without trailing slashes, so that member names can be cut from libarchive's paths; "/" stays. */
        source = strdup(source_dir);
        if (!source)
                return -ENOMEM;
        for (size_t n = strlen(source); n > 1 && source[n - 1] == '/'; n--)
                source[n - 1] = '\0';

        tmp = strdup_printf("%s.tmp-XXXXXX", archive_path);
        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return set_reason(reason, -errno, "cannot create '%s': %s", tmp, strerror(errno));

        r = export_to_fd(source, fd, add_filter, reason);
        if (r >= 0 && fsync(fd) < 0)
                r = set_reason(reason, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        if (r >= 0 && rename(tmp, archive_path) < 0)
                r = set_reason(reason, -errno, "cannot rename '%s' to '%s': %s", tmp, archive_path,
                               strerror(errno));
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int unpack_archive_export(const char *source_dir, const char *archive_path, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        int r;

        r = dlopen_archive();
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = strdup("cannot load libarchive (libarchive.so.13)");
                return r;
        }
        r = export_tree(source_dir, archive_path, &reason);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}
