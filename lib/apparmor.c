/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/apparmor.h>

#include "apparmor.h"
#include "base/log.h"
#include "base/util.h"

#define SECURITYFS_APPARMOR "/sys/kernel/security/apparmor"

/* ---- detection ---- */

/* libapparmor is loaded at run time, as systemd does with optional libraries: the program does not
 * need it to start, and a host without it simply has no AppArmor to offer. */
static int aa_enabled_dlopen(void) {
        __typeof__(aa_is_enabled) *is_enabled;
        void *dl;
        int r;

        dl = dlopen("libapparmor.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!dl)
                return -ENOPKG;
        is_enabled = (__typeof__(aa_is_enabled) *) dlsym(dl, "aa_is_enabled");
        if (!is_enabled) {
                (void) dlclose(dl);
                return -ENOPKG;
        }
        errno = 0;
        r = is_enabled() ? 0 : negative_errno();
        (void) dlclose(dl);
        return r;
}

/* What LXC reads: the module parameter, 'Y' when AppArmor is on. */
static int aa_enabled_sysfs(void) {
        _cleanup_free_ char *s = NULL;
        int r = read_file("/sys/module/apparmor/parameters/enabled", &s);

        if (r == -ENOENT)
                return -ENOSYS;
        if (r < 0)
                return r;
        if (s[0] != 'Y')
                return -ECANCELED;
        return access(SECURITYFS_APPARMOR "/profiles", F_OK) < 0 ? -ENOENT : 0;
}

bool apparmor_features_have_stacking(const char *features_dir) {
        _cleanup_free_ char *stack = NULL, *version_path = NULL, *version = NULL;
        unsigned major = 0, minor = 0;

        stack = path_join(features_dir, "domain/stack");
        version_path = path_join(features_dir, "domain/version");
        if (!stack || !version_path || access(stack, F_OK) < 0 || read_file(version_path, &version) < 0)
                return false;
        if (sscanf(version, "%u.%u", &major, &minor) < 1)
                return false;
        return major > 1 || (major == 1 && minor >= 2);
}

int apparmor_detect(ApparmorSupport *ret) {
        int r;

        r = aa_enabled_dlopen();
        if (r == -ENOPKG)
                r = aa_enabled_sysfs();
        if (r == -ENOSYS || r == -ECANCELED) {
                log_debug_errno(r, "AppArmor is not available: %m");
                return -EOPNOTSUPP;
        }
        if (r < 0)
                return log_debug_errno(r, "Failed to detect AppArmor: %m");
        *ret = (ApparmorSupport){ .stacking =
                                          apparmor_features_have_stacking(SECURITYFS_APPARMOR "/features") };
        return 0;
}

bool apparmor_kernel_enabled(void) {
        int r = aa_enabled_sysfs();

        return r != -ENOSYS && r != -ECANCELED;
}

ApparmorAction apparmor_decide(ProfileApparmor mode, int detected, const char **ret_reason) {
        const char *reason;

        if (mode == PROFILE_APPARMOR_OFF)
                return APPARMOR_ACTION_NONE;
        if (mode != PROFILE_APPARMOR_AUTO && mode != PROFILE_APPARMOR_REQUIRED)
                return _APPARMOR_ACTION_INVALID;
        if (detected >= 0)
                return APPARMOR_ACTION_CONFINE;

        switch (detected) {
        case -EOPNOTSUPP:
                reason = "the kernel has no AppArmor, or it is disabled";
                break;
        case -ENOENT:
                reason = "AppArmor's file system (securityfs) is not mounted";
                break;
        case -EACCES:
        case -EPERM:
                reason = "AppArmor's interface in securityfs is not accessible";
                break;
        default:
                reason = "AppArmor could not be detected";
        }
        if (ret_reason)
                *ret_reason = reason;
        return mode == PROFILE_APPARMOR_AUTO ? APPARMOR_ACTION_NOTICE : APPARMOR_ACTION_REFUSE;
}

/* ---- names ---- */

/* Names go between double quotes in profiles and into securityfs paths. */
static bool name_is_quotable(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\')
                        return false;
        return true;
}

int apparmor_names(const char *session_profile, const char *state_dir, char **ret_profile,
                   char **ret_namespace) {
        _cleanup_free_ char *profile = NULL, *ns = NULL, *hashed = NULL;
        const char *dir = state_dir;

        if (!chroot_name_is_valid(session_profile, NULL) || !path_is_absolute(state_dir) ||
            !name_is_quotable(state_dir))
                return -EINVAL;
        if (strlen("lxc-arkose-_<>") + strlen(session_profile) + strlen(state_dir) > APPARMOR_NAME_MAX) {
                uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64 bits */

                for (const char *c = state_dir; *c; c++)
                        h = (h ^ (uint8_t) *c) * 1099511628211ULL;
                hashed = strdup_printf("%016llx", (unsigned long long) h);
                if (!hashed)
                        return -ENOMEM;
                dir = hashed;
        }
        profile = strdup_printf("lxc-arkose-%s_<%s>", session_profile, dir);
        ns = strdup(profile ?: "");
        if (!profile || !ns)
                return -ENOMEM;
        for (char *c = ns; *c; c++)
                if (*c == '/')
                        *c = '-';
        *ret_profile = TAKE_PTR(profile);
        *ret_namespace = TAKE_PTR(ns);
        return 0;
}

/* ---- profile text ---- */

/* Capabilities are not the profile's to take: LXC applies it before the rest of its own set-up, which
 * still needs some of those the session loses (sys_admin to load the seccomp filter of a process
 * without no_new_privs, setpcap to drop the others, setuid and setgid), and then takes them out of the
 * bounding set itself (lxc.cap.drop, lxc.cap.keep: the profile's [security] capabilities). Denied here,
 * they made every session fail to start ("Error loading the seccomp policy") on a kernel with AppArmor.
 * Only module loading, which nothing in a session needs, is denied in the profile too. */
static int capability_rules(const Profile *p, char ***l) {
        int r;

        (void) p;
        r = strv_extend(l, "capability,");
        if (r < 0)
                return r;
        return strv_extend(l, "deny capability sys_module,");
}

static int network_rules(const Profile *p, char ***l) {
        static const char *const inet[] = {
                "network,",
                "deny network inet raw,",
                "deny network inet6 raw,",
                "deny network packet,",
        };
        static const char *const no_inet[] = {
                "network,",
                "deny network inet,",
                "deny network inet6,",
                "deny network packet,",
        };
        const char *const *rules = p->apparmor_inet ? inet : no_inet;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(inet); i++) {
                r = strv_extend(l, rules[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mount_rules(const Profile *p, char ***l) {
        static const char *const denied[] = { "deny mount,", "deny umount,", "deny pivot_root," };
        static const char *const nesting[] = {
                "# nesting = yes: containers inside need these (the path rules below still hold).",
                "mount,",
                "umount,",
                "pivot_root,",
        };
        const char *const *rules = p->apparmor_nesting ? nesting : denied;
        size_t n = p->apparmor_nesting ? ELEMENTSOF(nesting) : ELEMENTSOF(denied);
        int r;

        for (size_t i = 0; i < n; i++) {
                r = strv_extend(l, rules[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int namespace_rules(const char *ns, char ***l) {
        int r;

        if (!ns)
                return strv_extend(l, "# None: namespace = no.");
        r = strv_extend(l,
                        "# Programs inside may enter the profiles of the session's own policy namespace.");
        if (r >= 0)
                r = strv_extendf(l, "change_profile -> \":%s:*\",", ns);
        if (r >= 0)
                r = strv_extendf(l, "change_profile -> \":%s://*\",", ns);
        return r;
}

typedef struct TemplateValues {
        const char *profile_name;
        const char *init_profile_name;
        const char *session_profile;
        char **blocks[4]; /* in the order of block_names[] */
} TemplateValues;

static const char *const block_names[] = { "CAPABILITY_RULES", "NETWORK_RULES", "MOUNT_RULES",
                                           "NAMESPACE_RULES" };

/* The length of a placeholder "@[A-Z_]+@" at @s, or 0. */
static size_t placeholder_length(const char *s) {
        size_t n;

        if (s[0] != '@')
                return 0;
        n = strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        return n > 0 && s[1 + n] == '@' ? n + 2 : 0;
}

static bool placeholder_is(const char *s, size_t n, const char *name) {
        return n == strlen(name) + 2 && strneq(s + 1, name, n - 2);
}

/* A line that is only a block placeholder: its block's lines at the line's indentation. */
static int expand_block_line(FILE *f, const char *line, size_t len, const TemplateValues *v,
                             bool *ret_done) {
        size_t indent = strspn(line, " \t"), n = placeholder_length(line + indent);

        *ret_done = false;
        if (n == 0 || indent + n != len)
                return 0;
        for (size_t b = 0; b < ELEMENTSOF(block_names); b++) {
                if (!placeholder_is(line + indent, n, block_names[b]))
                        continue;
                for (char **i = v->blocks[b]; i && *i; i++)
                        fprintf(f, "%.*s%s\n", (int) indent, line, *i);
                *ret_done = true;
                return 0;
        }
        return 0;
}

static int expand_inline(FILE *f, const char *line, size_t len, const TemplateValues *v) {
        for (size_t i = 0; i < len;) {
                size_t n = placeholder_length(line + i);

                if (n == 0 || i + n > len) {
                        fputc(line[i++], f);
                        continue;
                }
                if (placeholder_is(line + i, n, "PROFILE_NAME"))
                        fputs(v->profile_name, f);
                else if (placeholder_is(line + i, n, "INIT_PROFILE_NAME"))
                        fputs(v->init_profile_name, f);
                else if (placeholder_is(line + i, n, "SESSION_PROFILE"))
                        fputs(v->session_profile, f);
                else {
                        log_debug("Unknown or misplaced placeholder '%.*s' in AppArmor template.", (int) n,
                                  line + i);
                        return -EINVAL;
                }
                i += n;
        }
        fputc('\n', f);
        return 0;
}

static int expand_template(const char *template_text, const TemplateValues *v, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (const char *line = template_text; r >= 0 && *line;) {
                size_t len = strcspn(line, "\n");
                bool done = startswith(line, "##"); /* the template's own comments */

                if (!done)
                        r = expand_block_line(f, line, len, v, &done);
                if (r >= 0 && !done)
                        r = expand_inline(f, line, len, v);
                line += len + (line[len] == '\n');
        }
        if (ferror(f) && r >= 0)
                r = -ENOMEM;
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

char *apparmor_spare_init_name(const char *profile_name) {
        return strdup_printf("%s-spare-init", profile_name);
}

/* The profile of a shared spare's init (arkose-init --listen-fresh), which makes each command's
 * sub-session (an overlay, proc, sysfs, devpts, tmpfs and bind mounts, device nodes, pivot_root, new
 * namespaces, loopback up) and then changes to the session's label for the command: what the session's
 * profile denies its commands, it must do. Only init and its children before that change run under it:
 * nothing a command runs can reach it (no change_profile rule leads to it; the session's profile may not
 * signal or trace it). */
static int init_profile_text(const char *profile_name, const char *init_name, const char *namespace,
                             const char *session_profile, char **ret) {
        _cleanup_free_ char *ns_rules = NULL;

        if (namespace) {
                /* The label the command gets, PROFILE//&:NS: (the namespace's unconfined stacked on),
                 * is matched whole, as "PROFILE//&:NS:unconfined" (or with "://"). */
                ns_rules = strdup_printf("  change_profile -> \"%s//&:%s:unconfined\",\n"
                                         "  change_profile -> \"%s//&:%s://unconfined\",\n",
                                         profile_name, namespace, profile_name, namespace);
                if (!ns_rules)
                        return -ENOMEM;
        }
        *ret = strdup_printf(
                "\n"
                "# The init of shared spare sessions of profile '%s': it makes each command's sub-session,\n"
                "# then changes to \"%s\" for the command. Generated by arkose-chroot.\n"
                "profile \"%s\" flags=(attach_disconnected,mediate_deleted) {\n"
                "  file,\n"
                "  capability,\n"
                "  deny capability sys_module,\n"
                "  network,\n"
                "  mount,\n"
                "  umount,\n"
                "  pivot_root,\n"
                "  signal (send),\n"
                "  signal (receive) peer=unconfined,\n"
                "  change_profile -> \"%s\",\n"
                "%s"
                "}\n",
                session_profile, profile_name, init_name, profile_name, ns_rules ?: "");
        return *ret ? 0 : -ENOMEM;
}

int apparmor_profile_text(const char *template_text, const Profile *p, const char *profile_name,
                          const char *namespace, char **ret) {
        _cleanup_free_ char *init_name = NULL, *text = NULL, *init_text = NULL;
        TemplateValues v = { .profile_name = profile_name };
        int r;

        if (!template_text || !p || !name_is_quotable(profile_name) ||
            (namespace && !name_is_quotable(namespace)) || !chroot_name_is_valid(p->name, NULL))
                return -EINVAL;
        v.session_profile = p->name;
        init_name = apparmor_spare_init_name(profile_name);
        if (!init_name)
                return -ENOMEM;
        v.init_profile_name = init_name;

        r = capability_rules(p, &v.blocks[0]);
        if (r >= 0)
                r = network_rules(p, &v.blocks[1]);
        if (r >= 0)
                r = mount_rules(p, &v.blocks[2]);
        if (r >= 0)
                r = namespace_rules(namespace, &v.blocks[3]);
        if (r >= 0)
                r = expand_template(template_text, &v, &text);
        if (r >= 0)
                r = init_profile_text(profile_name, init_name, namespace, p->name, &init_text);
        for (size_t b = 0; b < ELEMENTSOF(v.blocks); b++)
                strv_free(v.blocks[b]);
        if (r < 0)
                return r;
        *ret = strdup_printf("%s%s", text, init_text);
        return *ret ? 0 : -ENOMEM;
}

int apparmor_spare_init_label(const char *label, char **ret) {
        _cleanup_free_ char *profile = NULL;
        const char *stack;

        if (isempty(label))
                return -EINVAL;
        if (streq(label, "unconfined")) {
                *ret = NULL;
                return 0;
        }
        /* PROFILE or PROFILE//&:NAMESPACE: (apparmor_plan()): init runs as PROFILE's init profile, in the
         * root namespace, and stacks the namespace on for the command (its change_profile rules). */
        stack = strstr(label, "//&");
        profile = strndup(label, stack ? (size_t) (stack - label) : strlen(label));
        *ret = profile ? apparmor_spare_init_name(profile) : NULL;
        return *ret ? 1 : -ENOMEM;
}

/* ---- plan ---- */

ApparmorPlan *apparmor_plan_free(ApparmorPlan *plan) {
        if (!plan)
                return NULL;
        free(plan->label);
        free(plan->profile);
        free(plan->namespace);
        free(plan->text);
        free(plan);
        return NULL;
}

static int plan_confine(const Profile *p, const char *template_text, const char *state_dir,
                        const ApparmorSupport *support, ApparmorPlan *plan) {
        _cleanup_free_ char *ns = NULL;
        int r;

        if (p->apparmor_profile) {
                /* The administrator's own profile, loaded by them. */
                plan->profile = strdup(p->apparmor_profile);
                plan->label = strdup(p->apparmor_profile);
                return plan->profile && plan->label ? 0 : -ENOMEM;
        }

        r = apparmor_names(p->name, state_dir, &plan->profile, &ns);
        if (r < 0)
                return r;
        r = apparmor_profile_text(template_text, p, plan->profile, p->apparmor_namespace ? ns : NULL,
                                  &plan->text);
        if (r < 0)
                return r;
        if (p->apparmor_namespace && support && support->stacking) {
                plan->label = strdup_printf("%s//&:%s:", plan->profile, ns);
                plan->namespace = TAKE_PTR(ns);
        } else
                plan->label = strdup(plan->profile);
        return plan->label ? 0 : -ENOMEM;
}

int apparmor_plan(const Profile *p, const char *template_text, const char *state_dir, ApparmorAction action,
                  const ApparmorSupport *support, ApparmorPlan **ret) {
        _cleanup_(apparmor_plan_freep) ApparmorPlan *plan = NULL;
        int r;

        if (!p || action < 0 || action >= _APPARMOR_ACTION_MAX || action == APPARMOR_ACTION_REFUSE)
                return -EINVAL;
        plan = calloc(1, sizeof(ApparmorPlan));
        if (!plan)
                return -ENOMEM;
        plan->action = action;
        plan->nesting = p->apparmor_nesting;

        if (action == APPARMOR_ACTION_CONFINE)
                r = plan_confine(p, template_text, state_dir, support, plan);
        else
                r = (plan->label = strdup("unconfined")) ? 0 : -ENOMEM;
        if (r < 0)
                return log_debug_errno(r, "Failed to plan AppArmor confinement for profile '%s': %m",
                                       p->name);
        *ret = TAKE_PTR(plan);
        return 0;
}

int apparmor_plan_config(const ApparmorPlan *plan, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *const items[] = {
                "lxc.apparmor.profile",          plan->label,
                "lxc.apparmor.allow_nesting",    plan->nesting ? "1" : "0",
                "lxc.apparmor.allow_incomplete", "0",
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                r = strv_extend(&l, items[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- apparmor_parser ---- */

int apparmor_parser_argv(ApparmorParserOp op, const char *file, const char *namespace, const char *cache_dir,
                         const char *features, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (isempty(file) || op < 0 || op >= _APPARMOR_PARSER_OP_MAX)
                return -EINVAL;
        r = strv_extend(&l, "apparmor_parser");
        if (r < 0)
                return r;
        if (op == APPARMOR_PARSER_CHECK) {
                const char *const check[] = { "-QK", "-M", features ?: APPARMOR_FEATURES_FILE };
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(check); i++)
                        r = strv_extend(&l, check[i]);
        } else {
                r = strv_extend(&l, op == APPARMOR_PARSER_REPLACE ? "-r" : "-R");
                if (r >= 0 && cache_dir) {
                        r = strv_extend(&l, "-W");
                        if (r >= 0)
                                r = strv_extend(&l, "-L");
                        if (r >= 0)
                                r = strv_extend(&l, cache_dir);
                } else if (r >= 0)
                        r = strv_extend(&l, "-K");
                if (r >= 0 && namespace) {
                        r = strv_extend(&l, "-n");
                        if (r >= 0)
                                r = strv_extend(&l, namespace);
                }
        }
        if (r >= 0)
                r = strv_extend(&l, file);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static const char *parser_path(void) {
        static const char *const candidates[] = { "/usr/sbin/apparmor_parser", "/sbin/apparmor_parser" };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) >= 0)
                        return candidates[i];
        return NULL;
}

/* Runs @argv (argv[0] "apparmor_parser") with its output appended to @log. */
static int run_parser(char **argv, const char *log) {
        _cleanup_close_ int log_fd = -EBADF, null_fd = -EBADF;
        const char *path = parser_path();
        int status, r;
        pid_t pid;

        if (!path)
                return -ENOENT;
        log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd < 0)
                return -errno;
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
                    dup2(log_fd, STDERR_FILENO) < 0)
                        _exit(127);
                execv(path, argv);
                _exit(127);
        }
        r = pid_wait(pid, &status);
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_debug("%s failed (status %d), see '%s'.", path, status, log);
                return -EIO;
        }
        return 0;
}

typedef struct LoadPaths {
        char *dir;   /* DIR/apparmor */
        char *cache; /* DIR/apparmor/cache */
        char *file;  /* DIR/apparmor/NAME: the profile text */
        char *log;   /* DIR/apparmor/parser.log */
} LoadPaths;

static void load_paths_done(LoadPaths *p) {
        free(p->dir);
        free(p->cache);
        free(p->file);
        free(p->log);
}

static int load_paths(const ApparmorPlan *plan, const char *dir, LoadPaths *ret) {
        _cleanup_free_ char *base = strdup(plan->profile);
        LoadPaths p = {};

        if (!base)
                return -ENOMEM;
        for (char *c = base; *c; c++)
                if (*c == '/')
                        *c = '-';
        p.dir = path_join(dir, "apparmor");
        p.cache = p.dir ? path_join(p.dir, "cache") : NULL;
        p.file = p.dir ? path_join(p.dir, base) : NULL;
        p.log = p.dir ? path_join(p.dir, "parser.log") : NULL;
        if (!p.cache || !p.file || !p.log) {
                load_paths_done(&p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

/* Checks that @plan is a generated profile to load and that the kernel can take it. */
static int load_check(const ApparmorPlan *plan) {
        ApparmorSupport support;

        if (!plan || plan->action != APPARMOR_ACTION_CONFINE || !plan->profile)
                return -EINVAL;
        return apparmor_detect(&support);
}

int apparmor_load(const ApparmorPlan *plan, const char *dir) {
        _cleanup_(load_paths_done) LoadPaths paths = {};
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = load_check(plan);
        if (r < 0 || !plan->text) /* an administrator's profile is theirs to load */
                return r;
        r = load_paths(plan, dir, &paths);
        if (r >= 0)
                r = mkdir_p(paths.cache, 0700);
        if (r >= 0)
                r = write_file_atomic(paths.file, plan->text, 0644);
        if (r < 0)
                return r;
        if (plan->namespace) {
                _cleanup_free_ char *ns =
                        path_join(SECURITYFS_APPARMOR "/policy/namespaces", plan->namespace);

                if (!ns)
                        return -ENOMEM;
                if (mkdir(ns, 0755) < 0 && errno != EEXIST)
                        return log_debug_errno(-errno, "Failed to create AppArmor namespace '%s': %m", ns);
        }
        r = apparmor_parser_argv(APPARMOR_PARSER_REPLACE, paths.file, NULL, paths.cache, NULL, &argv);
        if (r < 0)
                return r;
        return run_parser(argv, paths.log);
}

int apparmor_unload(const ApparmorPlan *plan, const char *dir) {
        _cleanup_(load_paths_done) LoadPaths paths = {};
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = load_check(plan);
        if (r < 0 || !plan->text)
                return r;
        r = load_paths(plan, dir, &paths);
        if (r >= 0)
                r = apparmor_parser_argv(APPARMOR_PARSER_REMOVE, paths.file, NULL, NULL, NULL, &argv);
        if (r >= 0)
                r = run_parser(argv, paths.log);
        if (r < 0)
                return r;
        if (plan->namespace) {
                _cleanup_free_ char *ns =
                        path_join(SECURITYFS_APPARMOR "/policy/namespaces", plan->namespace);

                if (!ns)
                        return -ENOMEM;
                if (rmdir(ns) < 0 && errno != ENOENT)
                        return log_debug_errno(-errno, "Failed to remove AppArmor namespace '%s': %m", ns);
        }
        return 0;
}
