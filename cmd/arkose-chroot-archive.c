/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot export / import (and create of a chroot whose definition names a tarball). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "fetch.h"
#include "mount.h"
#include "store.h"
#include "unpack.h"

bool is_url(const char *s) {
        return startswith(s, "http://") || startswith(s, "https://") || startswith(s, "file://");
}

/* A tree a session can use has a shell. In a merged-/usr tree /bin is a relative symlink to usr/bin:
 * look at both without ever following a link out of the tree. */
static bool looks_like_rootfs(const char *rootfs) {
        static const char *const shells[] = { "usr/bin/sh", "bin/sh" };
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(shells); i++) {
                _cleanup_free_ char *p = path_join(rootfs, shells[i]);
                _cleanup_free_ char *bin = path_join(rootfs, "bin");

                if (!p || !bin)
                        return false;
                if (i == 1 && lstat(bin, &st) >= 0 && S_ISLNK(st.st_mode))
                        continue; /* usr/bin/sh was the one to have */
                if (lstat(p, &st) >= 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
                        return true;
        }
        return false;
}

int import_tree(Context *ctx, const char *name, const char *source, const char *sha256) {
        _cleanup_(store_staging_freep) StoreStaging *staging = NULL;
        _cleanup_free_ char *download = NULL, *archive = NULL, *reason = NULL, *manifest = NULL;
        _cleanup_free_ char *abs_source = NULL;
        _cleanup_close_ int lock = -EBADF;
        char digest[SHA256_HEX_SIZE] = "";
        const char *reason_or;
        bool plain_dir = false, is_dir = false;
        unsigned version;
        int r;

        if (sha256 && !sha256_hex_is_valid(sha256))
                return log_error_errno(-EINVAL, "Invalid --sha256 '%s': expected 64 hexadecimal digits", sha256);
        if (!is_url(source)) {
                abs_source = realpath(source, NULL);
                if (!abs_source)
                        return log_error_errno(-errno, "Cannot import '%s': %m", source);
        }

        lock = store_lock(ctx->state_dir, name, false);
        if (lock == -EBUSY) {
                log_notice("Waiting for another create, update or remove of '%s' to finish...", name);
                lock = store_lock(ctx->state_dir, name, true);
        }
        if (lock < 0)
                return log_error_errno(lock, "Failed to lock chroot '%s': %m", name);
        r = store_staging_new(ctx->state_dir, name, &staging);
        if (r < 0)
                return log_error_errno(r, "Failed to create a staging directory for '%s': %m", name);

        if (is_url(source)) {
                FetchOptions o = FETCH_OPTIONS_INIT;

                o.sha256 = sha256;
                /* Seconds a download may stall before it is given up (tests use a short one). */
                {
                        const char *t = secure_getenv("ARKOSE_DOWNLOAD_STALL_TIMEOUT");
                        char *end;
                        unsigned long v = t ? strtoul(t, &end, 10) : 0;

                        if (t && *end == '\0' && v > 0 && v < 3600)
                                o.low_speed_time_sec = (unsigned) v;
                }
                download = path_join(store_staging_dir(staging), "download");
                if (!download)
                        return log_oom();
                r = fetch_download(&o, source, download, &reason);
                if (r < 0)
                        return log_error_errno(r, "Failed to download '%s': %s", source, reason ?: strerror(-r));
                r = sha256_file(download, digest);
                if (r < 0)
                        return log_error_errno(r, "Failed to read '%s': %m", download);
        } else {
                struct stat st;

                if (stat(abs_source, &st) < 0)
                        return log_error_errno(-errno, "Cannot import '%s': %m", source);
                if (S_ISREG(st.st_mode)) {
                        r = sha256_file(abs_source, digest);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read '%s': %m", source);
                        if (sha256 && !sha256_hex_equal(sha256, digest))
                                return log_error_errno(-EBADMSG, "Checksum mismatch for '%s': expected %s, got %s",
                                                       source, sha256, digest);
                } else if (sha256)
                        return log_error_errno(-EINVAL, "--sha256 needs a file, and '%s' is a directory", source);
                /* A root file system as it is (a schroot or debootstrap directory), not an LXC image. */
                is_dir = S_ISDIR(st.st_mode);
                plain_dir = is_dir && looks_like_rootfs(abs_source);
        }

        if (plain_dir) {
                printf("Copying %s into a new version of '%s'\n", abs_source, name);
                fflush(stdout);
                r = tree_copy(abs_source, store_staging_rootfs(staging));
                if (r < 0)
                        return log_error_errno(r, "Failed to copy '%s': %m", source);
        } else {
                r = unpack_archive_find_rootfs(download ?: abs_source, store_staging_dir(staging), &archive, &reason);
                if (r == -ENOENT && is_dir)
                        return log_error_errno(r, "Cannot import '%s': a directory must hold a root file system "
                                               "(bin/sh) or an LXC image (rootfs.tar.xz and meta.tar.xz)", source);
                if (r < 0)
                        return log_error_errno(r, "Cannot import '%s': %s", source, reason ?: strerror(-r));
                printf("Unpacking %s into a new version of '%s'\n", archive, name);
                fflush(stdout);
                r = unpack_archive_extract(archive, store_staging_rootfs(staging), &reason);
                if (r < 0)
                        return log_error_errno(r, "Failed to import '%s': %s", source, reason ?: strerror(-r));
        }
        if (download)
                (void) unlink(download);
        if (archive && !streq(archive, download ?: "") && !streq(archive, abs_source ?: "") &&
            startswith(archive, store_staging_dir(staging)))
                (void) unlink(archive); /* a rootfs.tar.* copied out of an LXC image tarball */
        if (!looks_like_rootfs(store_staging_rootfs(staging)))
                return log_error_errno(-EINVAL, "Failed to import '%s': it does not hold a root file system (no /bin/sh)",
                                       source);

        prebuild_apt_caches(store_staging_rootfs(staging));
        manifest = path_join(store_staging_dir(staging), "manifest");
        if (!manifest)
                return log_oom();
        r = write_manifest(store_staging_rootfs(staging), manifest);
        if (r < 0)
                log_notice("No package list for this tree (dpkg-query failed): 'diff' will not know it.");

        reason_or = abs_source ?: source;
        char *info[] = {
                (char *) "method", (char *) "import",
                (char *) "source", (char *) reason_or,
                (char *) "sha256", digest[0] ? digest : (char *) "",
                (char *) "parent", (char *) "",
                NULL,
        };
        vsyscall_warn_tree(name, store_staging_rootfs(staging));
        r = store_staging_publish(staging, info, &version);
        if (r < 0)
                return log_error_errno(r, "Failed to publish '%s': %m", name);
        printf("%s@%u\n", name, version);
        printf("Imported '%s' as version %u of '%s'\n", source, version, name);
        return 0;
}

int verb_import(Context *ctx, int argc, char **argv) {
        const char *reason = NULL;

        if (argc != 2)
                return log_usage("Usage: arkose-chroot import NAME FILE|URL [--sha256 HEX]");
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Importing a chroot needs root: run it with sudo");
        if (!chroot_name_is_valid(argv[0], &reason))
                return log_error_errno(-EINVAL, "Invalid chroot name '%s': %s", argv[0], reason);
        return import_tree(ctx, argv[0], argv[1], arg_sha256);
}

int verb_export(Context *ctx, int argc, char **argv) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ char *reason = NULL, *tmp = NULL, *name = NULL;
        _cleanup_close_ int use = -EBADF;
        const char *source;
        unsigned v;
        int r;

        if (argc != 2)
                return log_usage("Usage: arkose-chroot export NAME[@VERSION] FILE");
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Exporting a chroot needs root (its files keep their owners): run it with sudo");

        /* Like a session, hold the use lock so that gc and remove leave the layers alone meanwhile. */
        if (store_parse_ref(argv[0], &name, &v, NULL) >= 0)
                use = store_use_lock(ctx->state_dir, name, false);
        r = context_resolve(ctx, argv[0], true, &ref);
        if (r < 0)
                return r;

        source = ref.lowers[0];
        if (strv_length(ref.lowers) > 1) {
                /* A layered version: export what a session sees, the read-only overlay of its layers. */
                r = session_mount_namespace(ctx);
                if (r < 0)
                        return r;
                tmp = path_join(ctx->state_dir, "tmp", "export-XXXXXX");
                if (!tmp)
                        return log_oom();
                r = mkdir_p(ctx->state_dir, 0755);
                if (r >= 0) {
                        _cleanup_free_ char *parent = path_join(ctx->state_dir, "tmp");
                        r = parent ? mkdir_p(parent, 0700) : -ENOMEM;
                }
                if (r < 0 || !mkdtemp(tmp))
                        return log_error_errno(r < 0 ? r : -errno, "Failed to create a directory in '%s': %m",
                                               ctx->state_dir);
                OverlayPlan op = { .lowers = ref.lowers, .target = tmp };
                r = mount_overlay(&op);
                if (r < 0) {
                        (void) rmdir(tmp);
                        return log_error_errno(r, "Failed to mount the layers of '%s@%u': %m", ref.name, ref.version);
                }
                source = tmp;
        }
        printf("Exporting '%s@%s' to %s\n", ref.name, ref.version_str, argv[1]);
        fflush(stdout);
        r = unpack_archive_export(source, argv[1], &reason);
        if (tmp) {
                (void) mount_umount_below(tmp, NULL);
                (void) rmdir(tmp);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to export '%s@%s': %s", ref.name, ref.version_str,
                                       reason ?: strerror(-r));
        printf("Exported '%s@%s' to %s\n", ref.name, ref.version_str, argv[1]);
        return 0;
}
