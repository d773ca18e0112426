/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

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
        char *script;           /* debootstrap's script (a name in its scripts directory, or a path), for a
                                 * suite newer than the host's debootstrap; NULL: the suite's own */
        char *bootstrap;        /* "debootstrap" or "mmdebstrap"; NULL: arkose.conf's, else debootstrap */
        char *directory;        /* source=directory: the tree, an absolute path */
        char *url;              /* source=tarball: the URL or local path */
        char *sha256;           /* source=tarball: 64 hex digits */
        char *profile;          /* default session profile name, optional */
        char **aliases;
        /* Access for callers who are not root (schroot's keys; arkose-chroot installed setuid root).
         * users/groups may enter as themselves; root-users/root-groups also as root or another user.
         * All empty: only root may use the chroot. */
        char **users;
        char **groups;
        char **root_users;
        char **root_groups;
        bool persistent;        /* "arkose-chroot start NAME" keeps one shared container of it running */
} ChrootDef;

/* Whether @tool names a program that makes a tree: "debootstrap" or "mmdebstrap". */
bool chroot_bootstrap_is_valid(const char *tool);

ChrootDef *chroot_def_free(ChrootDef *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ChrootDef *, chroot_def_free);

/* Returns true when @name can name a chroot (or a session, or a version-less store entry): 1 to
 * CHROOT_NAME_MAX bytes of [A-Za-z0-9._+-], not starting with '.' or '-', so never "." or "..", never a
 * slash or a control character. On false, *ret_reason (if given) is set to a static English phrase
 * such as "contains a slash". */
bool chroot_name_is_valid(const char *name, const char **ret_reason);

/* The execution domain a session of a chroot for Debian architecture @arch needs on a host whose
 * kernel reports machine @host_machine (uname -m): "linux32" for the 32-bit architectures a 64-bit
 * kernel runs natively (i386 on x86_64, armhf and armel on aarch64), so that uname -m says i686 or
 * armv8l as under schroot's personality=linux32 or sbuild; NULL otherwise (NULL @arch: the host's).
 * Pure. */
const char *chroot_personality(const char *arch, const char *host_machine);

/* Parses the definition file @path as chroot @name. Unknown sections or keys, bad values, a missing
 * required key for the source type, or syntax errors give -EINVAL (-ENOENT if the file is missing,
 * other -errno for I/O), with *reterr_line set to the offending line (0 when it is not about one
 * line) and *reterr_key to the key (borrowed static or NULL). Returns 0 and *ret on success. */
int chroot_def_parse_file(const char *path, const char *name, ChrootDef **ret, unsigned *reterr_line,
                          const char **reterr_key);

/* What is wrong at line @line of config file @path, for the message after "PATH:LINE: ", as a parse error
 * @error (-EINVAL, -ENOTUNIQ) of this file (chroot definitions, profiles, arkose.conf) left it in
 * *reterr_line and *reterr_key: "unknown key 'x' in [chroot]", "'suite' is given again (first on line 2):
 * it is given once in [chroot]", "invalid value 'huge' for 'variant'", "a section header without its
 * ']'". It reads the file again up to that line. Newly allocated; NULL when it cannot say more than the
 * key (line 0: a key missing or in conflict with another), or out of memory. */
char *config_error_describe(int error, const char *path, unsigned line, const char *key);

/* Finds the definition for @name_or_alias in @dirs (searched in order: earlier directories override
 * later ones for the same NAME.conf, e.g. {"/etc/arkose/chroots.d", "/usr/share/arkose/chroots"}).
 * An exact file name wins; otherwise every definition's aliases are searched.
 * Returns 0, -ENOENT when there is no such chroot, or a parse error as above (then *reterr_path,
 * *reterr_line and *reterr_key say where; *reterr_path is newly allocated and owned by the caller). */
int chroot_def_find(char *const *dirs, const char *name_or_alias, ChrootDef **ret, char **reterr_path,
                    unsigned *reterr_line, const char **reterr_key);

/* What a caller who is not root may do with a chroot, pure: @user is the caller's name, @groups the
 * names of all its groups. */
typedef enum ChrootAccess {
        CHROOT_ACCESS_NONE,
        CHROOT_ACCESS_SELF,     /* sessions as the caller only */
        CHROOT_ACCESS_ROOT,     /* also as root or as any other user, and root-only options */
} ChrootAccess;
ChrootAccess chroot_def_access(const ChrootDef *d, const char *user, char *const *groups);

/* Lists the names of all definitions in @dirs (each once, sorted). Unparsable files are listed too. */
int chroot_def_list_names(char *const *dirs, char ***ret);

/* Main configuration (confs/arkose.conf, installed as /etc/arkose/arkose.conf). Every key optional. */
typedef struct ArkoseConfig {
        char *state_dir;        /* [main] state-dir */
        char *mirror;           /* [main] mirror: default mirror for Debian definitions */
        char *default_chroot;   /* [main] default-chroot */
        char *bootstrap;        /* [main] bootstrap: "debootstrap" or "mmdebstrap" for definitions that name
                                 * none; NULL: debootstrap */
        unsigned hook_timeout;  /* [main] hook-timeout, seconds, default 60 */
        bool spare_sessions;    /* [main] spare-sessions, default yes: a one-shot session leaves a spare
                                 * for the next one of the same plan (lib/spare.h) */
        unsigned spare_idle_timeout; /* [main] spare-idle-timeout, seconds a spare waits, default 900 */
        unsigned spare_sessions_max; /* [main] spare-sessions-max, spares offered at once, default 4; 0: no cap */
        /* [build]: defaults of arkose-chroot build, as sbuild's ~/.sbuildrc holds them; its options win. */
        bool run_lintian;       /* [build] run-lintian, default no (--run-lintian, --no-run-lintian) */
        char **lintian_opts;    /* [build] lintian-opts, before --lintian-opts' */
        bool run_autopkgtest;   /* [build] run-autopkgtest, default no */
        char **autopkgtest_opts; /* [build] autopkgtest-opts, before --autopkgtest-opts' */
        bool resolve_alternatives; /* [build] resolve-alternatives, default no (sbuild's $resolve_alternatives) */
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

/* Appends to *uris the URI of every enabled deb and deb-src entry of the apt sources file @path, deb822
 * when its name ends in ".sources", one-line otherwise, whatever the suite. A missing file adds nothing.
 * Returns 0, -ENOMEM or another -errno for I/O. */
int config_apt_source_uris(const char *path, char ***uris);

/* ---- Session profiles ----
 *
 * A profile (confs/profiles/NAME.conf, overridden by /etc/arkose/profiles.d/NAME.conf) says what a
 * session may reach and use: network, mounts, devices, resource limits, capabilities, seccomp, AppArmor
 * and environment. Sections and keys (every key optional; lists are separated by blanks, and list keys
 * may be repeated, each occurrence adding to the list):
 *
 *   [profile]     description = TEXT
 *   [network]     mode = none|host|filtered                     (none)
 *                 allow = ADDRESS[/PREFIX]:PORT[-PORT][/tcp|/udp] ...   filtered only; tcp if not said
 *                 dns = yes|no                                  (no; filtered only)
 *   [mounts]      bind = [-]HOST[:TARGET][:ro|:rw] ...          (rw; TARGET defaults to HOST; a leading
 *                                                                "-": skipped when HOST is missing, as
 *                                                                systemd's BindPaths=)
 *                 cow = [-]HOST[:TARGET] ...                    (writable overlay, changes discarded)
 *                 tmpfs = TARGET[:SIZE] ...                     (mode 1777; SIZE like 512M)
 *                 home = none|private                           (none; private: the user's home in the
 *                                                                session is ~/.local/share/arkose/homes/
 *                                                                CHROOT of its host home, kept)
 *   [devices]     allow = /dev/PATH[:r|rw|rwm] ...              (rw)
 *   [limits]      memory = SIZE      cpu-quota = PERCENT%      pids = N        (unlimited)
 *   [security]    capabilities-drop = CAP ... | none            (mac_admin mac_override sys_module
 *                                                                sys_rawio sys_time: LXC's defaults)
 *                 capabilities-keep = CAP ...                   (instead of -drop: keep only these)
 *                 seccomp = default|none|/ABSOLUTE/PATH         (default: LXC's deny list)
 *                 no-new-privileges = yes|no|non-root           (non-root)
 *   [apparmor]    mode = off|auto|required                      (auto)
 *                 profile = generated|NAME                      (generated from the template)
 *                 namespace = yes|no                            (yes: stacked policy namespace)
 *                 nesting = yes|no                              (no)
 *                 inet = yes|no                                 (no with network none, else yes)
 *   [environment] set = NAME=VALUE                              (one per line; the value may hold blanks)
 *                 keep = NAME|PREFIX* ...                       (taken from the caller's environment)
 *   [runtime]     directory = yes|no                            (yes when sockets or dbus are given: the
 *                                                                session user's own /run/user/UID)
 *                 sockets = wayland|pulse|pipewire|RELPATH ...  (the user's sockets in its host runtime
 *                                                                directory, bound in when there)
 *                 dbus = none|filtered                          (none: the session bus, through
 *                                                                xdg-dbus-proxy)
 *                 dbus-talk = NAME|PREFIX.* ...                 (filtered: the names it may talk to)
 *
 * HOST and TARGET are absolute, or start with "~" or "$HOME", which the caller resolves with
 * profile_expand_path(). CAP names are Linux capability names in lower case without "cap_". */

#define PROFILE_CAPABILITIES_DROP_DEFAULT "mac_admin mac_override sys_module sys_rawio sys_time"

typedef enum ProfileNetwork {
        PROFILE_NETWORK_NONE,     /* own network namespace with loopback only */
        PROFILE_NETWORK_HOST,     /* the host's network namespace */
        PROFILE_NETWORK_FILTERED, /* a veth pair; the host lets only the listed destinations through */
        _PROFILE_NETWORK_MAX,
        _PROFILE_NETWORK_INVALID = -EINVAL,
} ProfileNetwork;

const char *profile_network_to_string(ProfileNetwork n);
ProfileNetwork profile_network_from_string(const char *s);

typedef enum ProfileProtocol {
        PROFILE_PROTOCOL_TCP,
        PROFILE_PROTOCOL_UDP,
        _PROFILE_PROTOCOL_MAX,
        _PROFILE_PROTOCOL_INVALID = -EINVAL,
} ProfileProtocol;

const char *profile_protocol_to_string(ProfileProtocol p);
ProfileProtocol profile_protocol_from_string(const char *s);

/* One "allow" entry of a filtered network. */
typedef struct ProfileDestination {
        struct in_addr address; /* network byte order; the bits below @prefix are zero */
        unsigned prefix;        /* 0 to 32; 32 for loopback addresses (127.0.0.0/8) */
        uint16_t port_first;    /* 1 to 65535 */
        uint16_t port_last;     /* >= port_first */
        ProfileProtocol protocol;
} ProfileDestination;

/* A loopback destination is a service on the host's own loopback, reached from a filtered session
 * through the host side of its veth (see netpolicy.h). */
bool profile_destination_is_loopback(const ProfileDestination *d);

typedef enum ProfileMountType {
        PROFILE_MOUNT_BIND, /* a host directory or file */
        PROFILE_MOUNT_COW,  /* a host directory through an overlay; changes are thrown away */
        PROFILE_MOUNT_TMPFS,
        _PROFILE_MOUNT_TYPE_MAX,
        _PROFILE_MOUNT_TYPE_INVALID = -EINVAL,
} ProfileMountType;

const char *profile_mount_type_to_string(ProfileMountType t);
ProfileMountType profile_mount_type_from_string(const char *s);

typedef struct ProfileMount {
        ProfileMountType type;
        char *source;   /* bind, cow: host path (may start with "~" or "$HOME"); tmpfs: NULL */
        char *target;   /* path in the session (same placeholders) */
        bool read_only; /* bind only */
        bool optional;  /* bind, cow: skipped (with a notice) when the source is missing on the host */
        uint64_t size;  /* tmpfs only: bytes, 0 for the kernel's default */
} ProfileMount;

typedef enum ProfileDeviceAccess {
        PROFILE_DEVICE_READ = 1 << 0,
        PROFILE_DEVICE_WRITE = 1 << 1,
        PROFILE_DEVICE_MKNOD = 1 << 2,
} ProfileDeviceAccess;

typedef struct ProfileDevice {
        char *path; /* "/dev/..." on the host, made at the same path in the session */
        ProfileDeviceAccess access;
} ProfileDevice;

typedef enum ProfileSeccomp {
        PROFILE_SECCOMP_DEFAULT, /* LXC's deny list (kexec_load, open_by_handle_at, modules, ...) */
        PROFILE_SECCOMP_NONE,
        PROFILE_SECCOMP_FILE, /* an LXC seccomp policy file: Profile.seccomp_path */
        _PROFILE_SECCOMP_MAX,
        _PROFILE_SECCOMP_INVALID = -EINVAL,
} ProfileSeccomp;

const char *profile_seccomp_to_string(ProfileSeccomp s); /* "file" for PROFILE_SECCOMP_FILE */

typedef enum ProfileNoNewPrivileges {
        PROFILE_NO_NEW_PRIVILEGES_NO,
        PROFILE_NO_NEW_PRIVILEGES_YES,
        PROFILE_NO_NEW_PRIVILEGES_NON_ROOT, /* only when the session user is not root */
        _PROFILE_NO_NEW_PRIVILEGES_MAX,
        _PROFILE_NO_NEW_PRIVILEGES_INVALID = -EINVAL,
} ProfileNoNewPrivileges;

const char *profile_no_new_privileges_to_string(ProfileNoNewPrivileges n);
ProfileNoNewPrivileges profile_no_new_privileges_from_string(const char *s);

typedef enum ProfileApparmor {
        PROFILE_APPARMOR_OFF,      /* never confine */
        PROFILE_APPARMOR_AUTO,     /* confine when the kernel has AppArmor; say once when it has not */
        PROFILE_APPARMOR_REQUIRED, /* refuse to start without AppArmor */
        _PROFILE_APPARMOR_MAX,
        _PROFILE_APPARMOR_INVALID = -EINVAL,
} ProfileApparmor;

const char *profile_apparmor_to_string(ProfileApparmor a);
ProfileApparmor profile_apparmor_from_string(const char *s);

typedef enum ProfileDbus {
        PROFILE_DBUS_NONE,     /* no session bus */
        PROFILE_DBUS_FILTERED, /* the user's session bus through xdg-dbus-proxy --filter */
        _PROFILE_DBUS_MAX,
        _PROFILE_DBUS_INVALID = -EINVAL,
} ProfileDbus;

const char *profile_dbus_to_string(ProfileDbus d);
ProfileDbus profile_dbus_from_string(const char *s);

/* The socket "wayland" of [runtime] sockets: $WAYLAND_DISPLAY of the caller, else wayland-0; "ssh-agent":
 * $SSH_AUTH_SOCK of the caller, wherever it is. Others are paths relative to the user's runtime directory
 * ("pulse" and "pipewire" are read as pulse/native and pipewire-0). */
#define PROFILE_SOCKET_WAYLAND   "wayland"
#define PROFILE_SOCKET_SSH_AGENT "ssh-agent"

/* Arrays of pointers below are NULL-terminated, and NULL when empty. */
typedef struct Profile {
        char *name; /* the file name without .conf */
        char *path; /* the file it was read from */
        char *description;

        ProfileNetwork network;
        ProfileDestination **allow; /* filtered only */
        bool dns;                   /* filtered only: the host's resolvers on port 53 */

        ProfileMount **mounts; /* in file order, which is mount order */
        bool private_home;     /* the user's home in the session is a directory of its own per chroot */
        ProfileDevice **devices;

        uint64_t memory_max; /* bytes; 0: no limit */
        unsigned cpu_quota;  /* percent of one CPU (250 = two and a half CPUs); 0: no limit */
        unsigned pids_max;   /* 0: no limit */

        char **capabilities_drop; /* set unless capabilities_keep is; may be empty ("none") */
        char **capabilities_keep; /* NULL unless given */
        ProfileSeccomp seccomp;
        char *seccomp_path; /* PROFILE_SECCOMP_FILE only */
        ProfileNoNewPrivileges no_new_privileges;

        ProfileApparmor apparmor;
        char *apparmor_profile;  /* NULL: generated from the template; else a loaded profile's name */
        bool apparmor_namespace; /* stack a policy namespace so that profiles inside still apply */
        bool apparmor_nesting;   /* allow containers inside (mount, pivot_root; weaker) */
        bool apparmor_inet;      /* allow inet/inet6 sockets (raw ones are always denied) */

        char **environment_set;  /* "NAME=VALUE", each NAME once (a later one replaces) */
        char **environment_keep; /* names, or prefixes ending in '*' */

        bool runtime_dir;        /* the session user's own $XDG_RUNTIME_DIR, /run/user/UID */
        char **runtime_sockets;  /* PROFILE_SOCKET_WAYLAND, or relative paths ("pulse/native") */
        ProfileDbus dbus;
        char **dbus_talk;        /* bus names, or prefixes "NAME.*" */
} Profile;

/* Adds bind mounts given as the [mounts] bind key takes them ("[-]HOST[:TARGET][:ro|:rw]", space-separated),
 * after the profile's own: the --bind option. Returns 0, -EINVAL for a bad spec, or -ENOMEM. */
int profile_add_bind(Profile *p, const char *spec);

Profile *profile_free(Profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Profile *, profile_free);

/* Parses the profile file @path as profile @name (which must pass chroot_name_is_valid()). Unknown
 * sections or keys, bad values, a key given twice (other than list keys), contradicting keys (allow or
 * dns=yes without mode=filtered; capabilities-keep with capabilities-drop) and syntax errors give
 * -EINVAL with *reterr_line (0 when the error is about two keys) and *reterr_key (borrowed static or
 * NULL) as for chroot_def_parse_file(). Returns 0 and *ret, -ENOENT if the file is missing, -ENOMEM, or
 * other -errno for I/O. */
int profile_parse_file(const char *path, const char *name, Profile **ret, unsigned *reterr_line,
                       const char **reterr_key);

/* Finds profile @name in @dirs, earlier directories overriding later ones for the same NAME.conf
 * (e.g. {"/etc/arkose/profiles.d", "/usr/share/arkose/profiles"}). Returns 0, -ENOENT when no directory
 * has it, or a parse error as for chroot_def_find() (*reterr_path newly allocated, owned by the caller). */
int profile_find(char *const *dirs, const char *name, Profile **ret, char **reterr_path,
                 unsigned *reterr_line, const char **reterr_key);

/* Lists the names of all profiles in @dirs (each once, sorted). */
int profile_list_names(char *const *dirs, char ***ret);

/* Resolves a leading "~" or "$HOME" in @path (a profile mount source or target) with @home, which must
 * then be absolute. Paths without a placeholder are copied. Returns 0 and *ret (newly allocated), or
 * -EINVAL when @home is needed but NULL or relative, -ENOMEM. */
int profile_expand_path(const char *path, const char *home, char **ret);

/* Whether @p keeps the caller's environment variable @name (environment keep: exact names, or prefixes
 * written "LC_*"). */
bool profile_environment_keeps(const Profile *p, const char *name);

/* Linux capability numbers and names ("sys_admin" ↔ 21), for names known to this build (0 to
 * CAP_CHECKPOINT_RESTORE). from_string returns -EINVAL for an unknown name. */
const char *profile_capability_to_string(int cap);
int profile_capability_from_string(const char *s);
