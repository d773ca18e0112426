/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot update / rollback / remove / gc / diff: the history of a chroot's versions. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "mount.h"
#include "session.h"
#include "spare.h"
#include "store.h"

/* "apt-get clean" also deletes apt's binary caches (srcpkgcache.bin, pkgcache.bin): the new version would
 * hide the tree's, and the next apt run in every session would write 36 MB of them into its upper. Only
 * the downloaded .debs are cleaned (an apt-get update that changed the lists rebuilt srcpkgcache.bin).
 * dpkg does not fsync() each file it unpacks (--force-unsafe-io): the new version is synced as a whole
 * before it is published (store_staging_publish()), and an update cut short is thrown away. */
#define UPDATE_COMMAND                                                                                  \
        "apt-get update && apt-get -y -o Dpkg::Options::=--force-confdef "                               \
        "-o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io dist-upgrade && "       \
        "apt-get -o Dir::Cache::srcpkgcache= -o Dir::Cache::pkgcache= clean"

/* Past this many layers, update squashes the new version into a full tree. */
#define UPDATE_MAX_LAYERS 8

static int need_root(const char *what) {
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "%s needs root: run it with sudo", what);
        return 0;
}

/* Takes NAME's store lock, waiting with a message when another create/update/remove holds it. */
static int lock_tree(Context *ctx, const char *name) {
        int fd = store_lock(ctx->state_dir, name, false);

        if (fd == -EBUSY) {
                log_notice("Waiting for another create, update or remove of '%s' to finish...", name);
                fd = store_lock(ctx->state_dir, name, true);
        }
        if (fd < 0)
                return log_error_errno(fd, "Failed to lock chroot '%s': %m", name);
        return fd;
}

/* Writes the manifest of the tree made of @lowers to @path, mounting a read-only overlay of them on
 * @mountpoint when there is more than one. The caller is in a private mount namespace. */
static int manifest_of_layers(char **lowers, const char *mountpoint, const char *path) {
        int r;

        if (strv_length(lowers) == 1)
                return write_manifest(lowers[0], path);
        if (mkdir(mountpoint, 0755) < 0 && errno != EEXIST)
                return -errno;
        OverlayPlan op = { .lowers = lowers, .target = mountpoint };
        r = mount_overlay(&op);
        if (r < 0)
                return r;
        r = write_manifest(mountpoint, path);
        (void) mount_umount_below(mountpoint, NULL);
        (void) rmdir(mountpoint);
        return r;
}

static int squash_one(Context *ctx, const char *spec);

/* Publishes the layer in @staging, made over version @parent of @name (whose layers are @parent_lowers),
 * as the chroot's new current version, with @info (alternating keys and values, as recorded), and squashes
 * it when it is one layer too many. The caller holds NAME's lock (@lock, closed first when squashing) and
 * is in a private mount namespace. Messages go to @out. Logs. */
static int publish_layer(Context *ctx, const char *name, unsigned parent, char **parent_lowers,
                         StoreStaging *staging, char **info, int *lock, FILE *out) {
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_free_ char *manifest = NULL, *merged = NULL;
        unsigned long long size = 0;
        unsigned version;
        char sizebuf[32] = "?";
        int r;

        if (strv_extend(&lowers, store_staging_layer(staging)) < 0 || strv_extend_strv(&lowers, parent_lowers) < 0)
                return log_oom();
        manifest = path_join(store_staging_dir(staging), "manifest");
        merged = path_join(store_staging_dir(staging), "merged");
        if (!manifest || !merged)
                return log_oom();
        r = manifest_of_layers(lowers, merged, manifest);
        if (r < 0)
                log_warning_errno(r, "Failed to write the package manifest: %m, ignoring.");
        if (signals_pending() != 0)
                return log_error_errno(-EINTR, "Updating '%s' was interrupted; version %u stays current", name, parent);

        test_pause_point("update-before-publish");
        r = store_staging_publish(staging, info, &version);
        if (r < 0)
                return log_error_errno(r, "Failed to publish the update of '%s': %m", name);
        {
                _cleanup_free_ char *dir = store_tree_dir(ctx->state_dir, name);
                _cleanup_free_ char *layer = dir ? strdup_printf("%s/%u/layer", dir, version) : NULL;

                if (layer && disk_usage(layer, &size) >= 0)
                        format_bytes(sizebuf, sizeof(sizebuf), size);
        }
        fprintf(out, "%s@%u\n", name, version);
        fprintf(out, "Updated chroot '%s': version %u (a %s layer on version %u) is current\n", name, version, sizebuf,
                parent);
        fflush(out);
        if (strv_length(lowers) > UPDATE_MAX_LAYERS) {
                _cleanup_free_ char *spec = strdup_printf("%s@%u", name, version);

                /* Each layer costs every session a lookup level: past a few, flatten once. */
                *lock = safe_close(*lock);
                return spec ? squash_one(ctx, spec) : log_oom();
        }
        return 0;
}

/* apt's binary cache of the package lists (prebuild_apt_caches()), in the tree at its usual place. */
#define APT_SRCPKGCACHE "var/cache/apt/srcpkgcache.bin"

/* Whether the commands that wrote writable layer @upper deleted apt's cache of the package lists (an
 * "apt-get clean": sbuild-update --clean, an update command of the user's). Every session of the version
 * it becomes would then rebuild it into its own upper directory (36 MB): keep_apt_cache_argv rebuilds it
 * once, in the layer. */
static bool layer_deleted_apt_cache(const char *upper) {
        _cleanup_free_ char *p = path_join(upper, APT_SRCPKGCACHE);
        struct stat st;

        /* overlayfs's whiteout: a character device 0:0 in the upper directory. */
        return p && lstat(p, &st) >= 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static char *keep_apt_cache_argv[] = {
        (char *) "/bin/sh", (char *) "-c",
        (char *) "if command -v apt-cache >/dev/null 2>&1; then apt-cache gencaches >/dev/null 2>&1; fi; exit 0",
        NULL,
};

/* What update runs, and how: update's own command, or a source chroot's (-c source:NAME). */
typedef struct UpdateRun {
        char **argv;            /* NULL: root's login shell, on the caller's terminal */
        const char *command;    /* as recorded */
        const char *title;      /* as said */
        const char *method;     /* "update" or "source" */
        bool terminal;
        FILE *out;              /* messages: stdout, or stderr when stdout is the command's */
        int *ret_status;        /* NULL: a failed command is update's failure; else its status, and 0 */
} UpdateRun;

static int update_run(Context *ctx, const char *spec, const UpdateRun *u) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_(store_staging_freep) StoreStaging *staging = NULL;
        _cleanup_free_ char *parent = NULL;
        _cleanup_close_ int lock = -EBADF;
        int status = 0, r;

        if (strchr(spec, '@'))
                return log_error_errno(-EINVAL, "Update takes a chroot name, not a version: '%s'", spec);
        r = context_resolve(ctx, spec, false, &ref);
        if (r < 0)
                return r;
        if (ref.def->source == CHROOT_SOURCE_DIRECTORY)
                return log_error_errno(-EOPNOTSUPP, "Chroot '%s' is a directory chroot: it has no versions to update",
                                       ref.name);
        lock = lock_tree(ctx, ref.name);
        if (lock < 0)
                return lock;
        /* Resolve the current version only now: another update may have published one while we waited. */
        chroot_ref_done(&ref);
        r = context_resolve(ctx, spec, true, &ref);
        if (r < 0)
                return r;

        r = session_mount_namespace(ctx);
        if (r < 0)
                return r;
        signals_install();

        r = store_staging_new_layer(ctx->state_dir, ref.name, &staging);
        if (r < 0)
                return log_error_errno(r, "Failed to create a staging directory for '%s': %m", ref.name);
        test_pause_point("update-staging");

        fprintf(u->out, "Updating '%s' from version %u: %s\n", ref.name, ref.version, u->title);
        fflush(u->out);
        r = run_in_layer(ctx, &ref, ref.lowers, store_staging_layer(staging), store_staging_work(staging),
                         CONTAINER_NETWORK_HOST, NULL, u->argv, u->terminal, &status);
        if (signals_pending() != 0)
                return log_error_errno(-EINTR, "Updating '%s' was interrupted; version %u stays current", ref.name,
                                       ref.version);
        if (r < 0)
                return r;
        if (status != 0 && !u->ret_status)
                return log_error_errno(-EPROTO, "Updating '%s' failed: the command exited with status %d; version %u stays current",
                                       ref.name, status, ref.version);
        if (status != 0) {
                log_notice("The command exited with status %d: its changes are discarded, version %u of '%s' stays current",
                           status, ref.version, ref.name);
                *u->ret_status = status;
                return 0;
        }
        /* A second session over the same layer, only when the command cleaned apt's cache. Its work
         * directory is a fresh one: the first session's overlay ("volatile") marked its own as used up. */
        if (layer_deleted_apt_cache(store_staging_layer(staging))) {
                int st = 0;

                r = rm_rf(store_staging_work(staging));
                if (r >= 0 && mkdir(store_staging_work(staging), 0755) < 0)
                        r = -errno;
                if (r >= 0)
                        r = run_in_layer(ctx, &ref, ref.lowers, store_staging_layer(staging),
                                         store_staging_work(staging), CONTAINER_NETWORK_NONE, NULL,
                                         keep_apt_cache_argv, false, &st);
                if (r < 0 || st != 0)
                        log_warning("Failed to rebuild apt's package cache in the new version, ignoring.");
                if (signals_pending() != 0)
                        return log_error_errno(-EINTR, "Updating '%s' was interrupted; version %u stays current",
                                               ref.name, ref.version);
        }

        parent = strdup_printf("%u", ref.version);
        if (!parent)
                return log_oom();
        char *info[] = {
                (char *) "method", (char *) u->method,
                (char *) "command", (char *) u->command,
                (char *) "parent", parent,
                NULL,
        };
        r = publish_layer(ctx, ref.name, ref.version, ref.lowers, staging, info, &lock, u->out);
        if (r >= 0 && u->ret_status)
                *u->ret_status = 0;
        return r;
}

static int update_one(Context *ctx, const char *spec) {
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", arg_command ?: (char *) UPDATE_COMMAND, NULL };

        return update_run(ctx, spec, &(UpdateRun) {
                .argv = argv,
                .command = arg_command ?: UPDATE_COMMAND,
                .title = arg_command ?: "apt-get dist-upgrade",
                .method = "update",
                .out = stdout,
        });
}

/* ---- Source chroots: schroot's source:NAME, the chroot's tree itself, changed into a new version ---- */

/* Whether directory @path has an entry but "." and "..": false for an empty or unreadable one. */
static bool dir_has_entries(const char *path) {
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return true;
        return false;
}

/* -c source:NAME --begin-session: a detached session over NAME's current version, as update's (root, the
 * host's network, no hooks), whose changes --end-session publishes (source_session_end()). */
static int source_begin(Context *ctx, const char *spec) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_strv_free_ char **binds = NULL;
        _cleanup_close_ int use_lock = -EBADF;
        const char *reason = NULL;
        int r;

        if (arg_session_name && !session_id_is_valid(arg_session_name, &reason))
                return log_error_errno(-EINVAL, "Invalid session name '%s': %s", arg_session_name, reason);
        r = context_resolve(ctx, spec, false, &ref);
        if (r < 0)
                return r;
        if (ref.def->source == CHROOT_SOURCE_DIRECTORY)
                return log_error_errno(-EOPNOTSUPP, "Chroot '%s' is a directory chroot: it has no versions to update",
                                       ref.name);
        /* As for any session: gc and remove, which take it exclusively, see this one once it is recorded. */
        use_lock = store_use_lock(ctx->state_dir, ref.name, false);
        chroot_ref_done(&ref);
        r = context_resolve(ctx, spec, true, &ref);
        if (r < 0)
                return r;
        r = chroot_ref_check_runnable(&ref);
        if (r < 0)
                return r;
        if (access("/etc/resolv.conf", R_OK) >= 0 && strv_extend(&binds, "/etc/resolv.conf") < 0)
                return log_oom();

        signals_install();
        SessionPlan plan = layer_session_plan(ctx, &ref, ref.lowers, NULL, NULL, CONTAINER_NETWORK_HOST, binds);
        plan.detached = true;
        plan.source = true;
        plan.id = arg_session_name;
        plan.record_lock = &use_lock;
        return session_begin_detached(&plan);
}

int source_action(Context *ctx, const char *spec, int argc, char **argv) {
        _cleanup_free_ char *command = NULL;
        int status = 0, r;

        if (arg_action != SESSION_ACTION_AUTOMATIC && arg_action != SESSION_ACTION_BEGIN)
                return log_error("'source:%s' is a chroot: --run-session and --end-session take the session id that -c source:%s --begin-session printed",
                                 spec, spec), 2;
        if (arg_user && !streq(arg_user, "root"))
                return log_error("A source chroot is changed as root: drop '-u %s'", arg_user), 2;
        if (arg_tmpfs || arg_isolate_network || arg_profile || arg_network || arg_binds || arg_directory)
                return log_error("'source:%s' runs as update does (root, the host's network, in '/'): --tmpfs, --isolate-network, --profile, --network, --bind and -d do not go with it",
                                 spec), 2;
        if (strchr(spec, '@'))
                return log_error("'source:%s': a source chroot is the current version, without '@' ('rollback' makes another one current)",
                                 spec), 2;
        /* A setuid run's caller is not root, whatever the definition grants it: the tree is root's, as
         * update is (schroot's source-root-users have no counterpart). */
        if (access_require_root("Changing a source chroot") < 0 || need_root("Changing a source chroot") < 0)
                return 1;
        if (arg_action == SESSION_ACTION_BEGIN) {
                if (argc > 0)
                        return log_error("--begin-session takes no command"), 2;
                r = source_begin(ctx, spec);
                return r == -EINTR ? 128 + signals_pending() : r < 0;
        }

        command = argc > 0 ? strv_join(argv, " ") : strdup("(a shell)");
        if (!command)
                return log_oom(), 1;
        r = update_run(ctx, spec, &(UpdateRun) {
                .argv = argc > 0 ? argv : NULL,
                .command = command,
                .title = command,
                .method = "source",
                .terminal = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO),
                .out = stderr,
                .ret_status = &status,
        });
        return r < 0 ? 1 : status;
}

int source_session_end(Context *ctx, const SessionInfo *si) {
        _cleanup_(store_staging_freep) StoreStaging *staging = NULL;
        _cleanup_strv_free_ char **parent_lowers = NULL;
        _cleanup_close_ int lock = -EBADF;
        unsigned long v = 0;
        unsigned parent, current = 0;
        char *end = NULL;
        int r;

        if (si->version)
                v = strtoul(si->version, &end, 10);
        parent = v <= UINT_MAX ? (unsigned) v : 0;
        if (parent == 0 || *end != '\0')
                return log_error_errno(-EBADMSG, "Session '%s' records no version of '%s' ('%s')", si->id, si->chroot,
                                       si->version);
        /* apt's cache, if its commands cleaned it, while its container still runs (a dead one's is left). */
        if (layer_deleted_apt_cache(si->upper) && session_info_state(si) == SESSION_STATE_RUNNING) {
                _cleanup_(session_leavep) Session *s = NULL;
                AttachPlan attach = { .argv = keep_apt_cache_argv, .shell = "/bin/sh", .cwd = "/", .env = root_env };
                int status = 0;

                if (session_open(ctx->state_dir, si->id, &s) >= 0 &&
                    session_run(s, &attach, signals_forward_child, &status) >= 0 && status != 0)
                        log_warning("Failed to rebuild apt's package cache in the new version, ignoring.");
        }
        /* Its container and mounts go; its record and its writable layer stay until it is published. */
        r = session_stop_detached(ctx->state_dir, si->id, ctx->hook_dirs, ctx->config.hook_timeout);
        if (r < 0)
                return r;
        r = session_mount_namespace(ctx);
        if (r < 0)
                return r;
        lock = lock_tree(ctx, si->chroot);
        if (lock < 0)
                return lock;

        if (store_current_version(ctx->state_dir, si->chroot, &current) < 0 || current != parent) {
                (void) session_end_detached(ctx->state_dir, si->id, ctx->hook_dirs, ctx->config.hook_timeout);
                return log_error_errno(-ESTALE, "Chroot '%s' is at version %u now, not %u as when source session '%s' began: its changes are discarded",
                                       si->chroot, current, parent, si->id);
        }
        if (!dir_has_entries(si->upper)) {
                log_notice("Source session '%s' changed nothing: version %u of '%s' stays current", si->id, parent,
                         si->chroot);
                return session_end_detached(ctx->state_dir, si->id, ctx->hook_dirs, ctx->config.hook_timeout);
        }
        r = store_version_lowers(ctx->state_dir, si->chroot, parent, &parent_lowers);
        if (r < 0)
                return log_error_errno(r, "Version %u of '%s' is not usable: %m", parent, si->chroot);
        r = store_staging_new_layer(ctx->state_dir, si->chroot, &staging);
        if (r < 0)
                return log_error_errno(r, "Failed to create a staging directory for '%s': %m", si->chroot);
        /* The session's layer becomes the version's: on the same file system, the state directory. A
         * failure leaves the session as a dead one, whose changes --recover-session gives back. */
        if (rmdir(store_staging_layer(staging)) < 0 || rename(si->upper, store_staging_layer(staging)) < 0)
                return log_error_errno(-errno, "Failed to move the changes of session '%s' into a new version of '%s': %m",
                                       si->id, si->chroot);

        char *info[] = {
                (char *) "method", (char *) "source",
                (char *) "session", si->id,
                (char *) "parent", si->version,
                NULL,
        };
        r = publish_layer(ctx, si->chroot, parent, parent_lowers, staging, info, &lock, stderr);
        (void) session_end_detached(ctx->state_dir, si->id, ctx->hook_dirs, ctx->config.hook_timeout);
        return r;
}

/* Copies the tree of @lowers (mounted read-only at @mountpoint when layered) into @target, a staging
 * rootfs: cp -a of what a session sees, on one file system, owners, modes, xattrs and hard links kept. */
int tree_copy(const char *source_dir, const char *target) {
        _cleanup_free_ char *src = path_join(source_dir, ".");
        char *argv[] = { (char *) "cp", (char *) "-a", (char *) "--one-file-system", src, (char *) target, NULL };

        if (!src)
                return -ENOMEM;
        return run_program(argv);
}

static int flatten_layers(char **lowers, const char *mountpoint, const char *target) {
        bool mounted = false;
        int r;

        if (strv_length(lowers) > 1) {
                if (mkdir(mountpoint, 0755) < 0 && errno != EEXIST)
                        return -errno;
                OverlayPlan op = { .lowers = lowers, .target = mountpoint };
                r = mount_overlay(&op);
                if (r < 0)
                        return r;
                mounted = true;
        }
        r = tree_copy(mounted ? mountpoint : lowers[0], target);
        if (mounted) {
                (void) mount_umount_below(mountpoint, NULL);
                (void) rmdir(mountpoint);
        }
        return r;
}

static int squash_one(Context *ctx, const char *spec) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_(store_staging_freep) StoreStaging *staging = NULL;
        _cleanup_free_ char *merged = NULL, *manifest = NULL, *from = NULL, *tree = NULL;
        _cleanup_close_ int lock = -EBADF;
        unsigned version;
        int r;

        r = context_resolve(ctx, spec, false, &ref);
        if (r < 0)
                return r;
        if (ref.def->source == CHROOT_SOURCE_DIRECTORY)
                return log_error_errno(-EOPNOTSUPP, "Chroot '%s' is a directory chroot: it has no layers", ref.name);
        lock = lock_tree(ctx, ref.name);
        if (lock < 0)
                return lock;
        chroot_ref_done(&ref);
        r = context_resolve(ctx, spec, true, &ref);
        if (r < 0)
                return r;
        if (strv_length(ref.lowers) == 1) {
                printf("'%s@%u' is already a full tree\n", ref.name, ref.version);
                return 0;
        }
        r = session_mount_namespace(ctx);
        if (r < 0)
                return r;
        r = store_staging_new(ctx->state_dir, ref.name, &staging);
        if (r < 0)
                return log_error_errno(r, "Failed to create a staging directory for '%s': %m", ref.name);
        merged = path_join(store_staging_dir(staging), "merged");
        tree = store_tree_dir(ctx->state_dir, ref.name);
        manifest = path_join(store_staging_dir(staging), "manifest");
        from = tree ? strdup_printf("%s/%u/manifest", tree, ref.version) : NULL;
        if (!merged || !manifest || !from)
                return log_oom();
        printf("Squashing '%s@%u' (%zu layers) into a full tree\n", ref.name, ref.version, strv_length(ref.lowers));
        fflush(stdout);
        r = flatten_layers(ref.lowers, merged, store_staging_rootfs(staging));
        if (r < 0)
                return log_error_errno(r, "Failed to copy the layers of '%s@%u': %m", ref.name, ref.version);
        r = write_manifest(store_staging_rootfs(staging), manifest);
        if (r < 0)
                log_warning_errno(r, "Failed to write the package manifest: %m, ignoring.");

        char vbuf[32];
        snprintf(vbuf, sizeof(vbuf), "%u", ref.version);
        char *info[] = {
                (char *) "method", (char *) "squash",
                (char *) "squashed", vbuf,
                (char *) "parent", (char *) "",
                NULL,
        };
        r = store_staging_publish(staging, info, &version);
        if (r < 0)
                return log_error_errno(r, "Failed to publish the squashed '%s': %m", ref.name);
        printf("%s@%u\n", ref.name, version);
        printf("Squashed '%s@%u' into version %u, a full tree; 'arkose-chroot gc %s' frees the layers\n", ref.name,
               ref.version, version, ref.name);
        return 0;
}

int verb_squash(Context *ctx, int argc, char **argv) {
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot squash NAME[@VERSION]");
        r = need_root("Squashing a chroot");
        if (r < 0)
                return r;
        return squash_one(ctx, argv[0]);
}

int verb_update(Context *ctx, int argc, char **argv) {
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot update NAME [--command CMD]");
        r = need_root("Updating a chroot");
        if (r < 0)
                return r;
        return update_one(ctx, argv[0]);
}

int verb_rollback(Context *ctx, int argc, char **argv) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ unsigned *versions = NULL;
        _cleanup_close_ int lock = -EBADF;
        unsigned current = 0, target = 0;
        size_t n = 0;
        int r;

        if (argc < 1 || argc > 2)
                return log_usage("Usage: arkose-chroot rollback NAME [VERSION]");
        r = need_root("Rolling back a chroot");
        if (r < 0)
                return r;
        r = context_resolve(ctx, argv[0], false, &ref);
        if (r < 0)
                return r;
        if (ref.version > 0 && argc == 2)
                return log_error_errno(-EINVAL, "Give the version once: 'rollback %s %s' or 'rollback %s@%u'",
                                       ref.name, argv[1], ref.name, ref.version);
        lock = lock_tree(ctx, ref.name);
        if (lock < 0)
                return lock;
        r = store_current_version(ctx->state_dir, ref.name, &current);
        if (r < 0)
                return log_error_errno(r, "Chroot '%s' has no current version", ref.name);
        r = store_list_versions(ctx->state_dir, ref.name, &versions, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list the versions of '%s': %m", ref.name);

        if (ref.version > 0)
                target = ref.version;
        else if (argc == 2) {
                char *end;
                unsigned long v = strtoul(argv[1], &end, 10);

                if (*end != '\0' || v == 0 || v > 1000000 || argv[1][0] < '1' || argv[1][0] > '9')
                        return log_error_errno(-EINVAL, "Invalid version '%s'", argv[1]);
                target = (unsigned) v;
        } else
                /* The newest version older than the current one. */
                for (size_t i = 0; i < n; i++)
                        if (versions[i] < current)
                                target = versions[i];
        if (target == 0)
                return log_error_errno(-ENOENT, "Chroot '%s' has no version older than %u to roll back to", ref.name,
                                       current);
        {
                _cleanup_strv_free_ char **lowers = NULL;

                r = store_version_lowers(ctx->state_dir, ref.name, target, &lowers);
                if (r == -ENOENT)
                        return log_error_errno(r, "Chroot '%s' has no version %u", ref.name, target);
                if (r < 0)
                        return log_error_errno(r, "Version %u of '%s' is not usable: %m", target, ref.name);
        }
        r = store_set_current_version(ctx->state_dir, ref.name, target);
        if (r < 0)
                return log_error_errno(r, "Failed to make '%s@%u' current: %m", ref.name, target);
        printf("Chroot '%s': version %u is current (was %u)\n", ref.name, target, current);
        return 0;
}

/* Removes one version or the whole chroot; under the store lock and the use lock, so that no session
 * takes what is being removed. */
static int remove_one(Context *ctx, const char *spec) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ StoreVersion *versions = NULL;
        _cleanup_free_ unsigned *in_use = NULL;
        _cleanup_close_ int lock = -EBADF, use = -EBADF;
        size_t n = 0, n_in_use = 0;
        unsigned current = 0;
        const char *why;
        int r;

        r = context_resolve(ctx, spec, false, &ref);
        if (r < 0)
                return r;
        if (ref.def->source == CHROOT_SOURCE_DIRECTORY)
                return log_error_errno(-EOPNOTSUPP, "Chroot '%s' is a directory chroot: remove its definition instead",
                                       ref.name);
        lock = lock_tree(ctx, ref.name);
        if (lock < 0)
                return lock;
        use = store_use_lock(ctx->state_dir, ref.name, true);
        if (use < 0)
                return log_error_errno(use, "Failed to lock chroot '%s': %m", ref.name);
        /* Spare sessions are nobody's: end them rather than refuse. */
        r = spare_end_all(ctx->state_dir, ref.name);
        if (r < 0)
                return log_error_errno(r, "Failed to end the spare sessions of '%s': %m", ref.name);

        r = store_list_version_records(ctx->state_dir, ref.name, &versions, &n);
        if (r >= 0)
                r = session_versions_in_use(ctx->state_dir, ref.name, &in_use, &n_in_use);
        if (r < 0)
                return log_error_errno(r, "Failed to read the versions of '%s': %m", ref.name);
        if (n == 0)
                return log_error_errno(-ENOENT, "Chroot '%s' has no versions to remove", ref.name);
        (void) store_current_version(ctx->state_dir, ref.name, &current);

        if (ref.version > 0) {
                why = store_remove_refusal(versions, n, current, in_use, n_in_use, ref.version);
                if (why)
                        return log_error_errno(-EBUSY, "Cannot remove '%s@%u': %s", ref.name, ref.version, why);
                r = store_remove_version(ctx->state_dir, ref.name, ref.version);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove '%s@%u': %m", ref.name, ref.version);
                printf("Removed '%s@%u'\n", ref.name, ref.version);
                return 0;
        }
        if (n_in_use > 0)
                return log_error_errno(-EBUSY, "Cannot remove '%s': %zu running session(s) use it (version %u%s)",
                                       ref.name, n_in_use, in_use[0], n_in_use > 1 ? ", ..." : "");
        r = store_remove_tree(ctx->state_dir, ref.name, lock, use);
        if (r < 0)
                return log_error_errno(r, "Failed to remove '%s': %m", ref.name);
        printf("Removed chroot '%s' (%zu version%s)\n", ref.name, n, n == 1 ? "" : "s");
        return 0;
}

int verb_remove(Context *ctx, int argc, char **argv) {
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot remove NAME[@VERSION]");
        r = need_root("Removing a chroot");
        if (r < 0)
                return r;
        return remove_one(ctx, argv[0]);
}

static int gc_one(Context *ctx, const char *name, unsigned keep) {
        _cleanup_free_ StoreVersion *versions = NULL;
        _cleanup_free_ unsigned *in_use = NULL, *doomed = NULL;
        _cleanup_close_ int lock = -EBADF, use = -EBADF;
        size_t n = 0, n_in_use = 0, n_doomed = 0;
        unsigned current = 0;
        int r;

        lock = lock_tree(ctx, name);
        if (lock < 0)
                return lock;
        use = store_use_lock(ctx->state_dir, name, true);
        if (use < 0)
                return log_error_errno(use, "Failed to lock chroot '%s': %m", name);
        /* Spare sessions are nobody's: end them rather than refuse. */
        r = spare_end_all(ctx->state_dir, name);
        if (r < 0)
                return log_error_errno(r, "Failed to end the spare sessions of '%s': %m", name);
        r = store_list_version_records(ctx->state_dir, name, &versions, &n);
        if (r >= 0)
                r = session_versions_in_use(ctx->state_dir, name, &in_use, &n_in_use);
        if (r < 0)
                return log_error_errno(r, "Failed to read the versions of '%s': %m", name);
        if (store_current_version(ctx->state_dir, name, &current) < 0)
                return 0; /* nothing published: nothing to collect */

        r = store_gc_select(versions, n, current, in_use, n_in_use, keep, &doomed, &n_doomed);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < n_in_use; i++)
                if (in_use[i] != current)
                        printf("Keeping '%s@%u': a running session uses it\n", name, in_use[i]);
        for (size_t i = 0; i < n_doomed; i++) {
                r = store_remove_version(ctx->state_dir, name, doomed[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove '%s@%u': %m", name, doomed[i]);
                printf("Removed '%s@%u'\n", name, doomed[i]);
        }
        return 0;
}

int verb_gc(Context *ctx, int argc, char **argv) {
        _cleanup_strv_free_ char **names = NULL;
        unsigned keep = arg_keep >= 0 ? (unsigned) arg_keep : 1;
        int r, ret = 0;

        r = need_root("Collecting garbage");
        if (r < 0)
                return r;
        if (argc > 0) {
                for (int i = 0; i < argc; i++) {
                        const char *reason = NULL;

                        if (!chroot_name_is_valid(argv[i], &reason))
                                return log_error_errno(-EINVAL, "Invalid chroot name '%s': %s", argv[i], reason);
                        if (strv_extend(&names, argv[i]) < 0)
                                return log_oom();
                }
        } else {
                r = store_list_names(ctx->state_dir, &names);
                if (r < 0)
                        return log_error_errno(r, "Failed to list '%s': %m", ctx->state_dir);
        }
        for (char **n = names; n && *n; n++) {
                r = gc_one(ctx, *n, keep);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

/* ---- diff ---- */

typedef struct Manifest {
        char **names;           /* sorted with their "version arch" in the same order */
        char **values;
        size_t n;
} Manifest;

static void manifest_done(Manifest *m) {
        strv_free(m->names);
        strv_free(m->values);
        *m = (Manifest) {};
}

static int manifest_read(Context *ctx, const ChrootRef *ref, Manifest *ret) {
        _cleanup_free_ char *tree = store_tree_dir(ctx->state_dir, ref->name);
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        size_t cap = 0;

        if (!tree)
                return log_oom();
        path = strdup_printf("%s/%u/manifest", tree, ref->version);
        if (!path)
                return log_oom();
        f = fopen(path, "re");
        if (!f)
                return log_error_errno(-errno, "No package list for '%s@%u' (%s): %m", ref->name, ref->version, path);
        while (getline(&line, &cap, f) >= 0) {
                line[strcspn(line, "\n")] = '\0';
                if (*line && strv_extend(&lines, line) < 0)
                        return log_oom();
        }
        strv_sort(lines);
        for (char **l = lines; l && *l; l++) {
                char *tab = strchr(*l, '\t');
                if (!tab)
                        continue;
                *tab = '\0';
                for (char *t = tab + 1; *t; t++)
                        if (*t == '\t')
                                *t = ' ';
                if (strv_extend(&ret->names, *l) < 0 || strv_extend(&ret->values, tab + 1) < 0)
                        return log_oom();
                ret->n++;
        }
        return 0;
}

int verb_diff(Context *ctx, int argc, char **argv) {
        _cleanup_(chroot_ref_done) ChrootRef a = {}, b = {};
        _cleanup_(manifest_done) Manifest ma = {}, mb = {};
        size_t i = 0, j = 0;
        unsigned added = 0, removed = 0, changed = 0;
        int r;

        if (argc != 2)
                return log_usage("Usage: arkose-chroot diff NAME@A NAME@B");
        r = context_resolve(ctx, argv[0], true, &a);
        if (r >= 0)
                r = context_resolve(ctx, argv[1], true, &b);
        if (r < 0)
                return r;
        if (a.version == 0 || b.version == 0)
                return log_error_errno(-EINVAL, "Directory chroots have no package history to compare");
        r = manifest_read(ctx, &a, &ma);
        if (r >= 0)
                r = manifest_read(ctx, &b, &mb);
        if (r < 0)
                return r;

        /* Both lists are sorted by package name (strv_sort: strcmp order, as the merge needs). */
        while (i < ma.n || j < mb.n) {
                int c = i >= ma.n ? 1 : j >= mb.n ? -1 : strcmp(ma.names[i], mb.names[j]);

                if (c < 0) {
                        printf("- %s %s\n", ma.names[i], ma.values[i]);
                        removed++, i++;
                } else if (c > 0) {
                        printf("+ %s %s\n", mb.names[j], mb.values[j]);
                        added++, j++;
                } else {
                        if (!streq(ma.values[i], mb.values[j])) {
                                printf("~ %s %s -> %s\n", ma.names[i], ma.values[i], mb.values[j]);
                                changed++;
                        }
                        i++, j++;
                }
        }
        fprintf(stderr, "%s@%u -> %s@%u: %u added, %u removed, %u changed\n", a.name, a.version, b.name, b.version,
                added, removed, changed);
        return 0;
}
