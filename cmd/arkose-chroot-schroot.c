/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot import-schroot: schroot's chroots (/etc/schroot) carried over as chroot definitions, so
 * that "-c NAME" (and sbuild's schroot mode with arkose-chroot as its schroot) keeps working. */
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
#include "config.h"
#include "schroot-conf.h"
#include "store.h"

#define SCHROOT_CONFIG_DIR "/etc/schroot"

/* Whether @path holds exactly @text. */
static bool file_has(const char *path, const char *text) {
        _cleanup_free_ char *content = NULL;

        return read_file(path, &content) >= 0 && streq(content, text);
}

/* Writes @text as definition @name in @dir, atomically, after checking that arkose-chroot reads it back. */
static int write_definition(const char *dir, const char *name, const char *text, const char *path) {
        _cleanup_(chroot_def_freep) ChrootDef *def = NULL;
        _cleanup_free_ char *tmp = NULL;
        const char *key = NULL;
        unsigned line = 0;
        int r;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", dir);
        tmp = strdup_printf("%s/.%s.conf.new", dir, name);
        if (!tmp)
                return log_oom();
        r = write_file_atomic(tmp, text, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s': %m", tmp);
        r = chroot_def_parse_file(tmp, name, &def, &line, &key);
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "The definition made for '%s' does not read back (line %u%s%s): %m", name, line,
                                       key ? ", key " : "", key ?: "");
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to write '%s': %m", path);
        }
        return 0;
}

/* One chroot: 0 when it is carried over (or already was, identically), -1 when it was skipped (said on
 * one line), or a negative errno for a failure (logged). */
static int import_one(Context *ctx, const SchrootChroot *c, const char *host_arch, const char *defs_dir) {
        _cleanup_free_ char *tree_arch = NULL, *text = NULL, *path = NULL;
        const char *reason = NULL, *source;
        char sum[SHA256_HEX_SIZE] = "";
        unsigned version;
        bool tarball;
        int r;

        tarball = c->type && streq(c->type, "file");
        source = tarball ? c->file : c->directory;
        if (source && path_is_absolute(source) && access(source, tarball ? R_OK : X_OK) < 0) {
                printf("%s: skipped: its %s %s is not usable: %s\n", c->name, tarball ? "file" : "directory", source,
                       strerror(errno));
                return -1;
        }
        /* The tarball's checksum now: create checks that the file is still the one carried over. */
        if (tarball && source && path_is_absolute(source)) {
                r = sha256_file(source, sum);
                if (r < 0)
                        return log_error_errno(r, "%s: failed to read %s: %m", c->name, source);
        }
        if (!tarball && source)
                (void) dpkg_status_arch(source, &tree_arch); /* unknown: from personality= if anything */
        r = schroot_chroot_definition(c, tree_arch, host_arch, sum, &text, &reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                printf("%s: skipped: %s\n", c->name, reason);
                return -1;
        }

        path = strdup_printf("%s/%s.conf", defs_dir, c->name);
        if (!path)
                return log_oom();
        if (arg_dry_run) {
                printf("# %s\n%s\n", path, text);
                return 0;
        }
        if (access(path, F_OK) >= 0) {
                if (file_has(path, text)) {
                        printf("%s: unchanged (%s)\n", c->name, path);
                        return 0;
                }
                printf("%s: skipped: %s exists and says something else (left alone)\n", c->name, path);
                return -1;
        }
        if (store_current_version(ctx->state_dir, c->name, &version) >= 0) {
                printf("%s: skipped: arkose-chroot already has a chroot '%s' (version %u)\n", c->name, c->name, version);
                return -1;
        }
        r = write_definition(defs_dir, c->name, text, path);
        if (r < 0)
                return r;
        if (tarball)
                printf("%s: wrote %s; 'arkose-chroot create %s' unpacks %s\n", c->name, path, c->name, c->file);
        else
                printf("%s: wrote %s (sessions over %s)\n", c->name, path, c->directory);
        return 0;
}

int verb_import_schroot(Context *ctx, int argc, char **argv) {
        const char *dir = arg_schroot_config ?: SCHROOT_CONFIG_DIR;
        _cleanup_free_ char *err_path = NULL, *host_arch = NULL, *defs_dir = NULL;
        _cleanup_(schroot_chroots_freep) SchrootChroot **chroots = NULL;
        unsigned line = 0, done = 0, skipped = 0, total = 0;
        int r, failed = 0;

        r = schroot_config_load(dir, &chroots, &err_path, &line);
        if (r == -ENOMEM)
                return log_oom();
        if (r == -EINVAL)
                return log_error_errno(r, "%s:%u: Invalid schroot configuration (a key before any [chroot], a chroot "
                                       "defined twice, or a malformed line)", err_path ?: dir, line);
        if (r < 0)
                return log_error_errno(r, "Failed to read schroot's configuration in '%s': %m", dir);

        for (int i = 0; i < argc; i++) {
                bool found = false;

                for (SchrootChroot **c = chroots; *c; c++)
                        found = found || streq((*c)->name, argv[i]);
                if (!found)
                        return log_error_errno(-ENOENT, "No schroot chroot named '%s' in %s/schroot.conf or %s/chroot.d",
                                               argv[i], dir, dir);
        }
        (void) dpkg_status_arch("/", &host_arch);
        defs_dir = path_join(ctx->config_dir, "chroots.d");
        if (!defs_dir)
                return log_oom();

        for (SchrootChroot **c = chroots; *c; c++) {
                bool wanted = argc == 0;

                for (int i = 0; i < argc; i++)
                        wanted = wanted || streq((*c)->name, argv[i]);
                if (!wanted)
                        continue;
                total++;
                r = import_one(ctx, *c, host_arch, defs_dir);
                if (r == -1)
                        skipped++;
                else if (r < 0)
                        failed = r;
                else
                        done++;
        }
        if (total == 0) {
                printf("No schroot chroots in %s/schroot.conf or %s/chroot.d\n", dir, dir);
                return 0;
        }
        if (failed < 0)
                return failed;
        if (skipped)
                return log_error_errno(-EAGAIN, "%u of %u schroot chroot(s) %s over, %u skipped (see above)", done,
                                       total, arg_dry_run ? "would be carried" : "carried", skipped);
        if (!arg_dry_run)
                printf("%u of %u schroot chroot(s) carried over\n", done, total);
        return 0;
}
