/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "base/macro.h"
#include "config.h"

/* apparmor: confining sessions with AppArmor. Sole includer of <sys/apparmor.h>.
 *
 *   describe: apparmor_names(), apparmor_profile_text() (the profile for a session profile, from the
 *             template confs/apparmor/arkose-session.template), apparmor_decide() (what a profile's
 *             mode means on this kernel), apparmor_plan() and apparmor_plan_config() (the LXC items),
 *             apparmor_parser_argv();  all pure.
 *   detect:   apparmor_detect(): -EOPNOTSUPP when the kernel has no AppArmor.
 *   apply:    apparmor_load(), apparmor_unload(), through apparmor_parser.
 *
 * One AppArmor profile per session profile and state directory, named like LXC's generated ones:
 * "lxc-arkose-NAME_</var/lib/arkose>". With stacking (namespace = yes and a kernel whose domain/stack
 * is version 1.2 or later), LXC's pattern: a policy namespace "lxc-arkose-NAME_<-var-lib-arkose>" is
 * created, and the session runs as "PROFILE//&:NAMESPACE:" — confined by PROFILE from outside, while
 * profiles loaded into NAMESPACE (e.g. the tree's own /etc/apparmor.d) apply to the programs inside.
 *
 * Logs at debug level only; the caller logs, with the phrase apparmor_decide() returns. */

/* The state directory's part of names is hashed when a profile name would be longer than this. */
#define APPARMOR_NAME_MAX 200

typedef struct ApparmorSupport {
        bool stacking; /* domain/stack with domain/version >= 1.2: policy namespaces stack */
} ApparmorSupport;

/* Whether the kernel confines with AppArmor (libapparmor's aa_is_enabled(), loaded at run time; without
 * the library, /sys/module/apparmor/parameters/enabled), and its features from securityfs.
 * Returns 0 and *ret; -EOPNOTSUPP when the kernel has no AppArmor or it is disabled; -ENOENT when
 * AppArmor is on but securityfs is not mounted; other -errno (-EACCES, -EPERM, -EBUSY) from libapparmor. */
int apparmor_detect(ApparmorSupport *ret);

/* Whether the kernel has AppArmor enabled (sysfs only: cheaper than apparmor_detect(), no library). */
bool apparmor_kernel_enabled(void);

/* Reads stacking support from a features directory (normally
 * /sys/kernel/security/apparmor/features; tests pass a copy): domain/stack present and domain/version
 * at least 1.2. */
bool apparmor_features_have_stacking(const char *features_dir);

typedef enum ApparmorAction {
        APPARMOR_ACTION_NONE,    /* mode off: unconfined, nothing to say */
        APPARMOR_ACTION_CONFINE, /* load the profile and confine the session */
        APPARMOR_ACTION_NOTICE,  /* mode auto without AppArmor: say so once, run unconfined */
        APPARMOR_ACTION_REFUSE,  /* mode required without AppArmor: do not start the session */
        _APPARMOR_ACTION_MAX,
        _APPARMOR_ACTION_INVALID = -EINVAL,
} ApparmorAction;

/* What @mode means given @detected, the result of apparmor_detect() (0 or -errno). For NOTICE and
 * REFUSE, *ret_reason (if given) is a static phrase saying why, such as "the kernel has no AppArmor, or
 * it is disabled", for messages like
 *     log_notice("Running session unconfined: %s.", reason);                          (auto)
 *     log_error("Profile '%s' requires AppArmor, but %s", name, reason); return -EOPNOTSUPP;  (required)
 * Returns _APPARMOR_ACTION_INVALID for a bad @mode. */
ApparmorAction apparmor_decide(ProfileApparmor mode, int detected, const char **ret_reason);

/* The AppArmor profile and policy namespace names for session profile @session_profile (a valid
 * profile name) in @state_dir (absolute): "lxc-arkose-NAME_<STATE_DIR>" and the same with every '/' of
 * STATE_DIR as '-' (namespace names are directory names). When the profile name would exceed
 * APPARMOR_NAME_MAX, STATE_DIR is replaced by 16 hex digits of its hash in both. Returns 0, *ret_profile
 * and *ret_namespace (newly allocated), or -EINVAL/-ENOMEM. */
int apparmor_names(const char *session_profile, const char *state_dir, char **ret_profile,
                   char **ret_namespace);

/* Generates the AppArmor profile text for @p from @template_text (the contents of
 * arkose-session.template), named @profile_name, with change_profile rules into @namespace (NULL: no
 * namespace rules). Placeholders: @PROFILE_NAME@, @INIT_PROFILE_NAME@ (apparmor_spare_init_name()),
 * @SESSION_PROFILE@, and, alone on their lines, @CAPABILITY_RULES@, @NETWORK_RULES@, @MOUNT_RULES@ and
 * @NAMESPACE_RULES@; lines starting with "##" are the template's own comments and are dropped. The
 * profile of a shared spare's init follows, not from the template: files, capabilities but module
 * loading, network, the mounts that make a command's sub-session, signals to send, and a change to
 * @profile_name (stacked with @namespace) for the command. Returns 0 and
 * *ret (newly allocated), or -EINVAL for an unknown placeholder or a name that cannot be quoted,
 * -ENOMEM. */
int apparmor_profile_text(const char *template_text, const Profile *p, const char *profile_name,
                          const char *namespace, char **ret);

/* The name of the profile of a shared spare's init, for sessions of profile @profile_name:
 * "PROFILE_NAME-spare-init" (NULL on OOM). */
char *apparmor_spare_init_name(const char *profile_name);

/* For a shared spare whose sessions run as @label (ApparmorPlan.label of a generated profile): *ret, the
 * label its init starts with (the init profile, in the root namespace; init changes to @label for each
 * command). Returns 1 and *ret, 0 and NULL for "unconfined", -EINVAL, -ENOMEM. */
int apparmor_spare_init_label(const char *label, char **ret);

typedef struct ApparmorPlan {
        ApparmorAction action;
        char *label;     /* lxc.apparmor.profile: "unconfined", a profile, or PROFILE//&:NAMESPACE: */
        char *profile;   /* CONFINE: the AppArmor profile's name */
        char *namespace; /* CONFINE with stacking: the policy namespace to create; else NULL */
        char *text;      /* CONFINE with a generated profile: its text to load; else NULL */
        bool nesting;    /* lxc.apparmor.allow_nesting */
} ApparmorPlan;

/* Plans @p's confinement: @action from apparmor_decide(), @support from apparmor_detect() (NULL when it
 * failed). A profile naming its own AppArmor profile ([apparmor] profile = NAME) is used as it is,
 * without generating or namespacing. Returns 0 and *ret, -EINVAL for @action REFUSE or bad arguments,
 * -ENOMEM, or an error of apparmor_names()/apparmor_profile_text(). */
int apparmor_plan(const Profile *p, const char *template_text, const char *state_dir, ApparmorAction action,
                  const ApparmorSupport *support, ApparmorPlan **ret);

ApparmorPlan *apparmor_plan_free(ApparmorPlan *plan);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApparmorPlan *, apparmor_plan_free);

/* The LXC items for @plan: lxc.apparmor.profile, lxc.apparmor.allow_nesting and
 * lxc.apparmor.allow_incomplete (always 0: a kernel without mount mediation must not run a
 * half-confined session). Returns 0 and *ret (alternating keys and values), or -ENOMEM. */
int apparmor_plan_config(const ApparmorPlan *plan, char ***ret);

typedef enum ApparmorParserOp {
        APPARMOR_PARSER_REPLACE, /* -r: load, or replace a loaded profile of the same name */
        APPARMOR_PARSER_REMOVE,  /* -R */
        APPARMOR_PARSER_CHECK,   /* -QK -M FEATURES: compile only, against a features file */
        _APPARMOR_PARSER_OP_MAX,
        _APPARMOR_PARSER_OP_INVALID = -EINVAL,
} ApparmorParserOp;

/* The path of the features file Debian's apparmor package ships, for APPARMOR_PARSER_CHECK. */
#define APPARMOR_FEATURES_FILE "/usr/share/apparmor-features/features"

/* The apparmor_parser command line for @op on @file: REPLACE and REMOVE use the cache directory
 * @cache_dir ("-W -L DIR"; NULL: no cache, "-K") and put profiles into policy namespace @namespace
 * ("-n NS"; NULL: the root namespace); CHECK is exactly "apparmor_parser -QK -M @features FILE"
 * (@features NULL: APPARMOR_FEATURES_FILE). Returns 0 and *ret, or -EINVAL/-ENOMEM. */
int apparmor_parser_argv(ApparmorParserOp op, const char *file, const char *namespace, const char *cache_dir,
                         const char *features, char ***ret);

/* Loads @plan (CONFINE only): creates its policy namespace if it has one, writes its text (if any) to
 * @dir/apparmor/PROFILE-FILE-NAME and runs apparmor_parser -r with the cache in @dir/apparmor/cache,
 * the parser's output going to @dir/apparmor/parser.log. Profiles are shared by all sessions of the
 * session profile: loading replaces; nothing is unloaded at a session's end. Returns 0; -EOPNOTSUPP when
 * the kernel has no AppArmor (nothing is run); -ENOENT without apparmor_parser; -EIO when it failed (see
 * parser.log); other -errno. */
int apparmor_load(const ApparmorPlan *plan, const char *dir);

/* Removes @plan's profile and namespace (for garbage collection when no session uses them). Returns 0,
 * -EOPNOTSUPP, -ENOENT, -EIO or -errno as apparmor_load(). */
int apparmor_unload(const ApparmorPlan *plan, const char *dir);
