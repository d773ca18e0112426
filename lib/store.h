/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/macro.h"

/* store: the cached chroot trees under the state directory.
 *
 *   STATE/trees/NAME.lock          exclusive while a create/update/remove of NAME runs
 *   STATE/trees/NAME/current       symlink to "N", replaced atomically (symlink + rename)
 *   STATE/trees/NAME/N/rootfs/     the tree of version N, never written once published
 *   STATE/trees/NAME/N/info.json   how and when N was made
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
 * directory as the next version, then makes it current. Returns 0 and the version in *ret_version. */
int store_staging_publish(StoreStaging *s, char *const *info, unsigned *ret_version);

/* Frees @s; an unpublished staging directory is unmounted (debootstrap mounts /proc inside it) and
 * removed. */
StoreStaging *store_staging_free(StoreStaging *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreStaging *, store_staging_free);

/* Reads NAME@version's info.json into *ret (alternating keys/values). */
int store_version_info(const char *state_dir, const char *name, unsigned version, char ***ret);
