/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

/* store: the cached chroot trees under the state directory.
 *
 *   STATE/trees/NAME.lock          exclusive while a create/update/remove of NAME runs
 *   STATE/trees/NAME/current       symlink to "N", replaced atomically (symlink + rename)
 *   STATE/trees/NAME/N/rootfs/     a full version: the whole tree (create, import, squash)
 *   STATE/trees/NAME/N/layer/      or a layered version: an overlayfs upper directory holding only
 *                                  what changed from its parent (update), whiteouts included
 *   STATE/trees/NAME/N/info.json   how and when N was made, and its "parent" (empty for full ones)
 *   STATE/trees/NAME/N/manifest    its packages, "name\tversion\tarch" lines (dpkg-query)
 *   STATE/trees/NAME.use           shared by sessions while they pick and record a version; exclusive
 *                                  for gc and remove, so neither removes a version a session is taking
 *   STATE/trees/NAME/.staging-XXXXXX/   a version being built; never visible as a version
 *
 * A version appears only by rename() of a complete staging directory, so a crash at any point leaves
 * either no new version or a complete one; leftover staging directories are swept under the lock. */

typedef struct StoreStaging StoreStaging;

/* Returns STATE/trees/NAME (newly allocated) or NULL on OOM. */
char *store_tree_dir(const char *state_dir, const char *name);

/* Takes NAME's exclusive store lock. With @wait, blocks; otherwise -EBUSY when another create/update
 * holds it. Returns the lock fd (close it to release) or -errno. */
int store_lock(const char *state_dir, const char *name, bool wait);

/* Reads NAME's current version. Returns 0, or -ENOENT when NAME has no published version. */
int store_current_version(const char *state_dir, const char *name, unsigned *ret);

/* Returns the rootfs of NAME@version in *ret (newly allocated). -ENOENT if that version does not exist. */
int store_version_rootfs(const char *state_dir, const char *name, unsigned version, char **ret);

/* Lists NAME's published versions in ascending order. Returns 0 (with *ret_n possibly 0) or -errno. */
int store_list_versions(const char *state_dir, const char *name, unsigned **ret, size_t *ret_n);

/* Lists the names that have a tree directory, sorted. */
int store_list_names(const char *state_dir, char ***ret);

/* Creates a staging directory for a new version of NAME (the caller holds NAME's lock), after removing
 * staging directories that earlier, killed runs left. Returns 0 and *ret, or -errno. */
int store_staging_new(const char *state_dir, const char *name, StoreStaging **ret);

/* The staging rootfs directory to fill (borrowed, valid while @s lives). */
const char *store_staging_rootfs(StoreStaging *s);

/* Records @info (alternating keys/values; "version", "created" are added) and publishes the staging
 * directory as the next version, then makes it current; its file system is synced (syncfs()) first, so
 * that what filled it need not fsync() each file. Returns 0 and the version in *ret_version. */
int store_staging_publish(StoreStaging *s, char *const *info, unsigned *ret_version);

/* Frees @s; an unpublished staging directory is unmounted (debootstrap mounts /proc inside it) and
 * removed. */
StoreStaging *store_staging_free(StoreStaging *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreStaging *, store_staging_free);

/* Creates a staging directory for a layered version of NAME: layer/ (to be an overlay upper directory)
 * and work/ (its work directory, removed at publish). The caller holds NAME's lock. */
int store_staging_new_layer(const char *state_dir, const char *name, StoreStaging **ret);

/* The staging directory itself, and its layer/ and work/ (borrowed; NULL for a full staging). */
const char *store_staging_dir(StoreStaging *s);
const char *store_staging_layer(StoreStaging *s);
const char *store_staging_work(StoreStaging *s);

/* Reads NAME@version's parent: 0 for a full version. Returns 0, -ENOENT (no such version) or -EBADMSG. */
int store_version_parent(const char *state_dir, const char *name, unsigned version, unsigned *ret);

/* Returns the overlay lower directories of NAME@version, topmost first: its layer, its parent's, ...,
 * ending with the full rootfs the chain starts from. -ENOENT if a version of the chain is missing,
 * -ELOOP for a chain longer than STORE_MAX_CHAIN. */
#define STORE_MAX_CHAIN 64
int store_version_lowers(const char *state_dir, const char *name, unsigned version, char ***ret);

/* Makes @version NAME's current version (atomic symlink replacement). -ENOENT if it does not exist. */
int store_set_current_version(const char *state_dir, const char *name, unsigned version);

/* Removes NAME@version: renamed out of sight first (a crash leaves no half version), then deleted.
 * The caller holds NAME's lock and NAME's use lock, and has checked nothing needs the version. */
int store_remove_version(const char *state_dir, const char *name, unsigned version);

/* Removes NAME altogether: every version, the tree directory, and then the files of its two locks,
 * which the caller holds as @lock_fd (store_lock()) and @use_fd (store_use_lock(), exclusive), having
 * checked that no session uses NAME. */
int store_remove_tree(const char *state_dir, const char *name, int lock_fd, int use_fd);

/* Removes NAME's staging and half-removed directories left by killed runs, if no create, update or remove
 * of NAME runs now (its lock is free); otherwise does nothing. Returns 0 or -errno. */
int store_sweep(const char *state_dir, const char *name);

/* Takes NAME's use lock (see above), waiting. Returns the fd, -ENOENT when NAME has no tree, or -errno. */
int store_use_lock(const char *state_dir, const char *name, bool exclusive);

/* A version and its parent (0: full), for the pure selection below. */
typedef struct StoreVersion {
        unsigned version;
        unsigned parent;
} StoreVersion;

/* Reads NAME's versions with their parents, ascending. */
int store_list_version_records(const char *state_dir, const char *name, StoreVersion **ret, size_t *ret_n);

/* Garbage collection, pure: from @versions (ascending), keeps @current, the @keep newest versions,
 * every version in @in_use, and every ancestor of a kept version; returns the others in *ret (newest
 * first, so that children go before parents), *ret_n of them. Returns 0 or -ENOMEM. */
int store_gc_select(const StoreVersion *versions, size_t n, unsigned current, const unsigned *in_use,
                    size_t n_in_use, unsigned keep, unsigned **ret, size_t *ret_n);

/* Says why NAME@version may not be removed, pure: the current version, in use, or the parent of
 * another version. Returns NULL when it may, or a static English phrase. */
const char *store_remove_refusal(const StoreVersion *versions, size_t n, unsigned current,
                                 const unsigned *in_use, size_t n_in_use, unsigned version);

/* Parses "NAME" or "NAME@VERSION": *ret_name newly allocated, *ret_version 0 when absent.
 * Returns 0, or -EINVAL (a bad name or version, *ret_reason set to a static phrase). Pure. */
int store_parse_ref(const char *spec, char **ret_name, unsigned *ret_version, const char **ret_reason);

/* Reads NAME@version's info.json into *ret (alternating keys/values). */
int store_version_info(const char *state_dir, const char *name, unsigned version, char ***ret);
