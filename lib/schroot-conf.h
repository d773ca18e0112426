/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* schroot's configuration, read to carry its chroots over ("arkose-chroot import-schroot"): schroot.conf
 * and the files of chroot.d (schroot.conf(5)), and what each chroot becomes as an arkose-chroot
 * definition. Only the keys that matter here are kept; the others are ignored, as are localised ones
 * ("description[de]"). */

#include <stdbool.h>
#include <sys/types.h>

typedef struct SchrootChroot {
        char *name;             /* the [section] */
        char *path;             /* the file it came from */
        char *type;             /* "plain" when not given, as schroot defaults */
        char *description;
        char *directory;        /* plain, directory */
        char *file;             /* file: the tarball */
        char *union_type;       /* directory: "overlay", "aufs", "none" or NULL */
        char *profile;          /* profile=, or script-config='s directory; NULL: "default" */
        char *personality;
        char **users;           /* comma-separated in schroot.conf */
        char **groups;
        char **root_users;
        char **root_groups;
        char **aliases;
} SchrootChroot;

void schroot_chroot_free(SchrootChroot *c);
void schroot_chroots_free(SchrootChroot **l);
static inline void schroot_chroots_freep(SchrootChroot ***l) {
        schroot_chroots_free(*l);
}

/* Reads @dir/schroot.conf, then the files of @dir/chroot.d whose names schroot reads (run-parts':
 * [A-Za-z0-9_-]+), in name order. Comments start at '#' anywhere on a line, as in schroot. Returns 0 and
 * a NULL-terminated array (empty when there is no configuration); -EINVAL for a malformed line or a chroot
 * defined twice, with *reterr_path (newly allocated) and *reterr_line; -ENOMEM; other -errno for I/O. */
int schroot_config_load(const char *dir, SchrootChroot ***ret, char **reterr_path, unsigned *reterr_line);

/* The definition (NAME.conf for /etc/arkose/chroots.d) that makes @c an arkose-chroot chroot, as text,
 * with a comment naming where it came from. @tree_arch: the Debian architecture of the tree's dpkg, if
 * known; @host_arch: the host's; @sha256: a file chroot's tarball's checksum (create checks it). plain
 * and directory chroots become "source = directory" (sessions are throw-away overlays over it), file
 * chroots "source = tarball" (create unpacks it); schroot's profile
 * "sbuild" becomes the buildd profile, "desktop" desktop, any other dev (host network and $HOME, as
 * schroot's default fstab gives); the architecture is @tree_arch when it is not the host's, or the
 * 32-bit one of the host with personality=linux32. Pure. Returns 0 and *ret, -EOPNOTSUPP with
 * *ret_reason (static English) for types arkose-chroot cannot use (snapshots, loopback, block devices),
 * -EINVAL with *ret_reason for a bad name, path or missing checksum, or -ENOMEM. */
int schroot_chroot_definition(const SchrootChroot *c, const char *tree_arch, const char *host_arch,
                              const char *sha256, char **ret, const char **ret_reason);

/* The architecture of the dpkg installed below @root ("/" for the host): the Architecture of package
 * dpkg in @root/var/lib/dpkg/status. Returns 0 and *ret, -ENOENT when there is none, or -errno. */
int dpkg_status_arch(const char *root, char **ret);

/* What schroot tells a session's command of itself (schroot(1), ENVIRONMENT), for the scripts and shell
 * prompts of its users: the names of the chroot and of the session. */
typedef struct SchrootEnv {
        const char *chroot;             /* SCHROOT_CHROOT_NAME: the chroot's own name */
        const char *alias;              /* SCHROOT_ALIAS_NAME: the name it was chosen by (NULL: @chroot) */
        const char *session_id;         /* SCHROOT_SESSION_ID */
        char *const *argv;              /* SCHROOT_COMMAND, joined by spaces; NULL or empty: @shell */
        const char *shell;
        const char *user;               /* SCHROOT_USER and _UID: who ran it (as sudo's SUDO_USER), */
        uid_t uid;
        const char *group;              /* SCHROOT_GROUP and _GID: and their group */
        gid_t gid;
} SchrootEnv;

/* Past this, SCHROOT_COMMAND is left out: it would take as much again of the command's argument space, and
 * the kernel refuses one string over 128 KiB (E2BIG) where the command's own words were each smaller. */
#define SCHROOT_COMMAND_MAX 4096

/* Appends the SCHROOT_* variables of @e to @env (eight; seven for a command longer than
 * SCHROOT_COMMAND_MAX), after removing any it held (a caller's, kept by --preserve-environment from a
 * schroot session of its own). Pure. Returns 0 or -ENOMEM. */
int schroot_env_append(char ***env, const SchrootEnv *e);
