/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "base/macro.h"

/* config: chroot definitions (chroots/NAME.conf, /etc/arkose/chroots.d/NAME.conf), the main
 * configuration file (confs/arkose.conf) and the host's apt sources, turned into plain structs.
 * Sole includer of <ini.h>. Logs at debug level only; errors come back as -errno with the file
 * line and key in reterr_* out-parameters so that the caller can print "file:line: message". */

#define CHROOT_NAME_MAX 64

typedef enum ChrootSource {
        CHROOT_SOURCE_DEBOOTSTRAP,
        CHROOT_SOURCE_DIRECTORY,
        CHROOT_SOURCE_TARBALL,
        _CHROOT_SOURCE_MAX,
        _CHROOT_SOURCE_INVALID = -EINVAL,
} ChrootSource;

const char *chroot_source_to_string(ChrootSource s);
ChrootSource chroot_source_from_string(const char *s);

typedef enum ChrootDistribution {
        CHROOT_DISTRIBUTION_DEBIAN,
        CHROOT_DISTRIBUTION_UBUNTU,
        _CHROOT_DISTRIBUTION_MAX,
        _CHROOT_DISTRIBUTION_INVALID = -EINVAL,
} ChrootDistribution;

const char *chroot_distribution_to_string(ChrootDistribution d);
ChrootDistribution chroot_distribution_from_string(const char *s);

typedef struct ChrootDef {
        char *name;             /* the definition's own name (file name without .conf) */
        char *path;             /* the file it was read from */
        char *description;
        ChrootSource source;
        ChrootDistribution distribution;
        char *suite;            /* debootstrap suite; required for source=debootstrap */
        char *variant;          /* "minbase" or "buildd"; default "buildd" */
        char *architecture;     /* NULL: the host's */
        char **components;      /* default {"main"} */
        char **packages;        /* extra packages (debootstrap --include) */
        char *mirror;           /* NULL: from --mirror, arkose.conf or the host's apt sources */
        char *keyring;          /* debootstrap --keyring, optional */
        char *directory;        /* source=directory: the tree, an absolute path */
        char *url;              /* source=tarball: the URL or local path */
        char *sha256;           /* source=tarball: 64 hex digits */
        char *profile;          /* default session profile name, optional */
        char **aliases;
} ChrootDef;

ChrootDef *chroot_def_free(ChrootDef *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChrootDef *, chroot_def_free);

/* Returns true when @name can name a chroot (or a session, or a version-less store entry): 1 to
 * CHROOT_NAME_MAX bytes of [A-Za-z0-9._+-], not starting with '.' or '-', so never "." or "..", never a
 * slash or a control character. On false, *ret_reason (if given) is set to a static English phrase
 * such as "contains a slash". */
bool chroot_name_is_valid(const char *name, const char **ret_reason);

/* Parses the definition file @path as chroot @name. Unknown sections or keys, bad values, a missing
 * required key for the source type, or syntax errors give -EINVAL (-ENOENT if the file is missing,
 * other -errno for I/O), with *reterr_line set to the offending line (0 when it is not about one
 * line) and *reterr_key to the key (borrowed static or NULL). Returns 0 and *ret on success. */
int chroot_def_parse_file(const char *path, const char *name, ChrootDef **ret, unsigned *reterr_line,
                          const char **reterr_key);

/* Finds the definition for @name_or_alias in @dirs (searched in order: earlier directories override
 * later ones for the same NAME.conf, e.g. {"/etc/arkose/chroots.d", "/usr/share/arkose/chroots"}).
 * An exact file name wins; otherwise every definition's aliases are searched.
 * Returns 0, -ENOENT when there is no such chroot, or a parse error as above (then *reterr_path,
 * *reterr_line and *reterr_key say where; *reterr_path is newly allocated and owned by the caller). */
int chroot_def_find(char *const *dirs, const char *name_or_alias, ChrootDef **ret, char **reterr_path,
                    unsigned *reterr_line, const char **reterr_key);

/* Lists the names of all definitions in @dirs (each once, sorted). Unparsable files are listed too. */
int chroot_def_list_names(char *const *dirs, char ***ret);

/* Main configuration (confs/arkose.conf, installed as /etc/arkose/arkose.conf). Every key optional. */
typedef struct ArkoseConfig {
        char *state_dir;        /* [main] state-dir */
        char *mirror;           /* [main] mirror: default mirror for Debian definitions */
        char *default_chroot;   /* [main] default-chroot */
        unsigned hook_timeout;  /* [main] hook-timeout, seconds, default 60 */
} ArkoseConfig;

void arkose_config_done(ArkoseConfig *c);
/* Parses @path. A missing file is not an error (defaults are filled in). Errors as above. */
int arkose_config_parse_file(const char *path, ArkoseConfig *ret, unsigned *reterr_line,
                             const char **reterr_key);

/* Finds the host's Debian mirror from apt's sources below @root ("/" normally; tests pass a fixture
 * directory): @root/etc/apt/sources.list (one-line form), @root/etc/apt/sources.list.d/ *.list
 * (one-line form) and *.sources (deb822). Only "deb" (binary) entries with an http, https or file
 * URI count; entries whose suites all end in "-security" or "-updates"/"-backports" are skipped, as
 * are URIs containing "security"; disabled deb822 stanzas (Enabled: no) and comments are ignored.
 * Files are read in the order apt reads them (sources.list first, then sources.list.d sorted).
 * Returns 0 and the URI without a trailing slash, or -ENOENT when none was found. */
int config_find_host_mirror(const char *root, char **ret);
