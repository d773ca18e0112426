/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot create / list / info: the cached trees. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "apparmor.h"
#include "lock.h"
#include "store.h"
#include "unpack.h"

/* The mirror for @def: --mirror, the definition's, the configured default, or (Debian only) the host's
 * apt sources. */
static int resolve_mirror(Context *ctx, const ChrootDef *def, char **ret) {
        const char *m = ctx->mirror ?: def->mirror;
        int r;

        if (!m && def->distribution == CHROOT_DISTRIBUTION_DEBIAN)
                m = ctx->config.mirror;
        if (m) {
                *ret = strdup(m);
                return *ret ? 0 : log_oom();
        }
        if (def->distribution != CHROOT_DISTRIBUTION_DEBIAN)
                return log_error_errno(-ENOENT,
                                       "Chroot '%s' needs a mirror: set mirror= in %s/chroots.d/%s.conf or pass --mirror",
                                       def->name, ctx->config_dir, def->name);
        r = config_find_host_mirror("/", ret);
        if (r < 0)
                return log_error_errno(r, "No Debian mirror found in the host's apt sources: pass --mirror or set mirror= in %s/arkose.conf",
                                       ctx->config_dir);
        return 0;
}

int write_manifest(const char *rootfs, const char *path) {
        _cleanup_free_ char *admindir = path_join(rootfs, "var/lib/dpkg");
        pid_t pid;
        int status;

        if (!admindir)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Not "e": stdout must survive the exec. */
                FILE *f = freopen(path, "w", stdout);
                if (!f)
                        _exit(127);
                execlp("dpkg-query", "dpkg-query", "--admindir", admindir, "-W", "-f",
                       "${Package}\t${Version}\t${Architecture}\n", (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

/* apt rebuilds pkgcache.bin (the package lists merged with dpkg's status, 36 MB for Debian main) whenever
 * the status changed, as after every install: 36 MB in a session's upper for one small package. With this
 * file apt merges the status into srcpkgcache.bin (the parsed lists, kept in the tree) in memory. */
static const char apt_pkgcache_conf[] =
        "// arkose-chroot: apt keeps the status-merged cache in memory, so that a session installing one\n"
        "// package does not write a 36 MB pkgcache.bin into its writable layer; srcpkgcache.bin stays.\n"
        "Dir::Cache::pkgcache \"\";\n";

/* In the chroot: writes the file above unless the tree has one, and removes a pkgcache.bin apt no longer
 * reads. Paths resolve inside the tree: an imported tree's symbolic links cannot point us at the host. */
static void apt_pkgcache_in_memory(void) {
        _cleanup_close_ int fd = -EBADF;

        if (access("/etc/apt/apt.conf.d", F_OK) < 0)
                return;
        fd = open("/etc/apt/apt.conf.d/00arkose-pkgcache", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 && (write(fd, apt_pkgcache_conf, sizeof(apt_pkgcache_conf) - 1) < 0 || fsync(fd) < 0))
                (void) unlink("/etc/apt/apt.conf.d/00arkose-pkgcache");
        (void) unlink("/var/cache/apt/pkgcache.bin");
}

/* Builds apt's binary cache of the package lists (srcpkgcache.bin) into the tree once, so that sessions
 * do not each rebuild it (70 MB in every upper layer that runs apt otherwise), and keeps pkgcache.bin in
 * memory (above). Failure is harmless. */
void prebuild_apt_caches(const char *rootfs) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return;
        if (pid == 0) {
                if (!freopen("/dev/null", "we", stdout) || !freopen("/dev/null", "we", stderr))
                        _exit(127);
                if (chroot(rootfs) < 0 || chdir("/") < 0)
                        _exit(127);
                apt_pkgcache_in_memory();
                execl("/usr/bin/apt-cache", "apt-cache", "gencaches", (char *) NULL);
                _exit(127);
        }
        (void) waitpid(pid, &status, 0);
}

/* The tool that makes @def's tree: --bootstrap, the definition's bootstrap=, arkose.conf's, else
 * debootstrap. */
static const char *bootstrap_tool(const Context *ctx, const ChrootDef *def) {
        return ctx->bootstrap ?: def->bootstrap ?: ctx->config.bootstrap ?: "debootstrap";
}

static int create_debootstrap(Context *ctx, const ChrootDef *def) {
        _cleanup_(store_staging_freep) StoreStaging *staging = NULL;
        const char *tool = bootstrap_tool(ctx, def);
        bool mm = streq(tool, "mmdebstrap");
        _cleanup_free_ char *mirror = NULL, *tree = NULL, *log_path = NULL, *reason = NULL, *manifest = NULL;
        _cleanup_close_ int lock = -EBADF;
        unsigned version;
        struct utsname u;
        int r;

        r = resolve_mirror(ctx, def, &mirror);
        if (r < 0)
                return r;

        lock = store_lock(ctx->state_dir, def->name, false);
        if (lock == -EBUSY) {
                log_notice("Waiting for another create or update of '%s' to finish...", def->name);
                lock = store_lock(ctx->state_dir, def->name, true);
        }
        if (lock < 0)
                return log_error_errno(lock, "Failed to lock chroot '%s' in '%s': %m", def->name, ctx->state_dir);

        if (store_current_version(ctx->state_dir, def->name, &version) >= 0)
                return log_error_errno(-EEXIST, "Chroot '%s' already exists (version %u): use 'arkose-chroot update %s'",
                                       def->name, version, def->name);

        r = store_staging_new(ctx->state_dir, def->name, &staging);
        if (r < 0)
                return log_error_errno(r, "Failed to create staging directory for '%s' in '%s': %m", def->name,
                                       ctx->state_dir);

        tree = store_tree_dir(ctx->state_dir, def->name);
        log_path = tree ? path_join(tree, "create.log") : NULL;
        if (!log_path)
                return log_oom();

        printf("Creating chroot '%s': %s %s (%s) from %s\n", def->name, tool, def->suite,
               def->variant ?: "buildd", mirror);
        fflush(stdout);

        signals_install();
        DebootstrapPlan plan = {
                .tool = tool,
                .suite = def->suite,
                .variant = def->variant ?: "buildd",
                .architecture = def->architecture,
                .components = def->components,
                .packages = def->packages,
                .mirror = mirror,
                .keyring = def->keyring,
                .script = def->script,
                .target = store_staging_rootfs(staging),
                /* Held while the tool runs, even after we are killed: no sweep removes its staging then. */
                .inherit_fd = lock,
        };
        r = unpack_debootstrap_run(&plan, log_path, signals_forward_to, &reason);
        signals_forward_to(0);
        if (signals_pending() != 0)
                return log_error_errno(-EINTR, "Creating '%s' was interrupted; nothing was kept", def->name);
        if (r == -ENOENT || r == -EACCES)
                return log_error_errno(r, "Failed to run %s: %m (is the %s package installed?)", tool, tool);
        if (r < 0 && reason && startswith(reason, "E: No such script") && !def->script && !mm)
                /* A suite newer than this debootstrap: its family's script does (debootstrap's own
                 * newer releases link it so). */
                return log_error_errno(r, "Failed to create '%s': debootstrap failed: %s; for a suite newer "
                                       "than this debootstrap, add 'script = %s' to %s (full log: %s)", def->name,
                                       reason, def->distribution == CHROOT_DISTRIBUTION_UBUNTU ? "gutsy" : "sid",
                                       def->path ?: "its definition", log_path);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %s failed: %s (full log: %s)", def->name, tool,
                                       reason ?: "see the log", log_path);

        prebuild_apt_caches(store_staging_rootfs(staging));

        manifest = path_join(store_staging_rootfs(staging), "..", "manifest");
        if (!manifest)
                return log_oom();
        r = write_manifest(store_staging_rootfs(staging), manifest);
        if (r < 0)
                log_warning_errno(r, "Failed to write the package manifest: %m, ignoring.");

        if (signals_pending() != 0)
                return log_error_errno(-EINTR, "Creating '%s' was interrupted; nothing was kept", def->name);

        if (uname(&u) < 0)
                return -errno;
        char *info[] = {
                (char *) "method", (char *) tool,
                (char *) "suite", def->suite,
                (char *) "variant", def->variant ?: (char *) "buildd",
                (char *) "architecture", def->architecture ?: (char *) "host",
                (char *) "mirror", mirror,
                (char *) "parent", (char *) "",
                NULL,
        };
        vsyscall_warn_tree(def->name, store_staging_rootfs(staging));
        r = store_staging_publish(staging, info, &version);
        if (r < 0)
                return log_error_errno(r, "Failed to publish '%s': %m", def->name);

        printf("%s@%u\n", def->name, version);
        printf("Created chroot '%s' version %u\n", def->name, version);
        return 0;
}

int verb_create(Context *ctx, int argc, char **argv) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot create NAME");
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "Creating a chroot needs root: run 'sudo arkose-chroot create %s'",
                                       argv[0]);
        if (strchr(argv[0], '@'))
                return log_error_errno(-EINVAL, "Create takes a chroot name, not a version: '%s'", argv[0]);

        {
                _cleanup_(chroot_def_freep) ChrootDef *def = NULL;
                unsigned current;

                /* No definition, no tree: say how to make one. */
                if (chroot_name_is_valid(argv[0], NULL) &&
                    chroot_def_find(ctx->def_dirs, argv[0], &def, NULL, NULL, NULL) == -ENOENT &&
                    store_current_version(ctx->state_dir, argv[0], &current) == -ENOENT)
                        return context_log_no_chroot(ctx, argv[0], true);
        }
        r = context_resolve(ctx, argv[0], false, &ref);
        if (r < 0)
                return r;

        switch (ref.def->source) {
        case CHROOT_SOURCE_DEBOOTSTRAP:
                /* debootstrap's second stage runs the tree's programs: say so before downloading it. */
                r = chroot_ref_check_runnable(&ref);
                if (r < 0)
                        return r;
                return create_debootstrap(ctx, ref.def);
        case CHROOT_SOURCE_DIRECTORY:
                log_notice("Chroot '%s' is the directory '%s', used as it is: nothing to create.", ref.name,
                           ref.def->directory);
                return 0;
        case CHROOT_SOURCE_TARBALL:
                if (!ref.def->url)
                        return log_error_errno(-EINVAL, "Chroot '%s' was imported and has no definition to create it from",
                                               ref.name);
                return import_tree(ctx, ref.name, ref.def->url, ref.def->sha256);
        default:
                return log_error_errno(-EOPNOTSUPP, "Chroot '%s': source '%s' cannot be created", ref.name,
                                       chroot_source_to_string(ref.def->source));
        }
}

static void list_one(Context *ctx, const char *name, int width, bool schroot_style) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ unsigned *versions = NULL;
        _cleanup_free_ char *rootfs = NULL;
        unsigned long long size = 0;
        unsigned current = 0;
        size_t n = 0;
        char sizebuf[32] = "-", vbuf[32] = "-", cbuf[32] = "-";
        int old = log_get_max_level();

        /* A broken definition must not hide the others: list it, say what is wrong on stderr. */
        log_set_max_level(LOG_CRIT);
        (void) context_resolve(ctx, name, false, &ref);
        log_set_max_level(old);

        if (schroot_style) {
                printf("chroot:%s\n", name);
                return;
        }

        if (ref.def && ref.def->source == CHROOT_SOURCE_DIRECTORY) {
                if (disk_usage(ref.def->directory, &size) >= 0)
                        format_bytes(sizebuf, sizeof(sizebuf), size);
                printf("%-*s %-12s %-8s %-10s %-8s %s\n", width, name, "directory", "-", "-", sizebuf,
                       ref.def->description ?: ref.def->directory);
                return;
        }

        (void) store_list_versions(ctx->state_dir, name, &versions, &n);
        if (store_current_version(ctx->state_dir, name, &current) >= 0) {
                snprintf(cbuf, sizeof(cbuf), "%u", current);
                if (store_version_rootfs(ctx->state_dir, name, current, &rootfs) >= 0 &&
                    disk_usage(rootfs, &size) >= 0)
                        format_bytes(sizebuf, sizeof(sizebuf), size);
        }
        if (n > 0)
                snprintf(vbuf, sizeof(vbuf), n == 1 ? "%u" : "%u-%u", versions[0], versions[n - 1]);
        printf("%-*s %-12s %-8s %-10s %-8s %s\n", width, name,
               !ref.def ? "(no definition)" :
               ref.def->source == CHROOT_SOURCE_TARBALL && !ref.def->url ? "imported" :
                                                                           chroot_source_to_string(ref.def->source),
               cbuf, vbuf, sizebuf,
               ref.def ? (ref.def->description ?: ref.def->suite ?: "") : "invalid or removed definition");
}

int verb_list(Context *ctx, int argc, char **argv, bool schroot_style) {
        _cleanup_strv_free_ char **names = NULL, **stored = NULL;
        int r;

        (void) argv;
        if (argc > 0)
                return log_usage("Usage: arkose-chroot list");

        r = chroot_def_list_names(ctx->def_dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to list chroot definitions: %m");
        r = store_list_names(ctx->state_dir, &stored);
        if (r < 0 && r != -EACCES)
                return log_error_errno(r, "Failed to list '%s': %m", ctx->state_dir);
        for (char **s = stored; s && *s; s++)
                if (!strv_contains(names, *s) && strv_extend(&names, *s) < 0)
                        return log_oom();
        strv_sort(names);

        int width = 16; /* the names column fits the longest (sbuild's DIST-ARCH-sbuild names are long) */
        for (char **n = names; n && *n; n++)
                if ((int) strlen(*n) > width)
                        width = (int) strlen(*n);
        if (!schroot_style)
                printf("%-*s %-12s %-8s %-10s %-8s %s\n", width, "NAME", "SOURCE", "CURRENT", "VERSIONS", "SIZE",
                       "DESCRIPTION");
        for (char **n = names; n && *n; n++)
                list_one(ctx, *n, width, schroot_style);
        return 0;
}

/* Whether chroot @name can be a source chroot (source:NAME): one with versions, created. */
static bool chroot_has_source(Context *ctx, const char *name) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        int old = log_get_max_level(), r;

        log_set_max_level(LOG_CRIT);
        r = context_resolve(ctx, name, true, &ref);
        log_set_max_level(old);
        return r >= 0 && ref.def->source != CHROOT_SOURCE_DIRECTORY && ref.version > 0;
}

static int info_one(Context *ctx, const char *spec, bool source);

/* The source chroots, as -l's "source:NAME" lines or (@info) as --info's blocks. */
static int list_sources(Context *ctx, bool info) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = chroot_def_list_names(ctx->def_dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to list chroot definitions: %m");
        for (char **n = names; *n; n++) {
                if (!chroot_has_source(ctx, *n))
                        continue;
                if (info)
                        (void) info_one(ctx, *n, true);
                else
                        printf("source:%s\n", *n);
        }
        return 0;
}

int verb_list_sources(Context *ctx) {
        return list_sources(ctx, false);
}

int verb_info_sources(Context *ctx) {
        return list_sources(ctx, true);
}

int verb_info_source(Context *ctx, const char *spec) {
        if (strchr(spec, '@'))
                return log_error_errno(-EINVAL, "'source:%s': a source chroot is the current version, without '@' ('rollback' makes another one current)",
                                       spec);
        return info_one(ctx, spec, true);
}

int verb_info(Context *ctx, int argc, char **argv) {
        const char *spec = argc > 0 ? argv[0] : arg_chroot;
        int r;

        if (!spec) {
                /* schroot --info without -c: every chroot. */
                _cleanup_strv_free_ char **names = NULL;

                r = chroot_def_list_names(ctx->def_dirs, &names);
                if (r < 0)
                        return log_error_errno(r, "Failed to list chroot definitions: %m");
                for (char **n = names; *n; n++)
                        (void) info_one(ctx, *n, false);
                return 0;
        }
        return info_one(ctx, spec, false);
}

/* The --info block of chroot @spec, or of its source chroot (@source; schroot's "Source" block, which
 * sbuild-update looks for). */
static int info_one(Context *ctx, const char *spec, bool source) {
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ char *aliases = NULL;
        bool have_tree;
        int old_level, r;

        /* Quietly first: a chroot without a tree yet is shown as "(not created)", and a bad name or
         * definition is reported once, by the second attempt. */
        old_level = log_get_max_level();
        log_set_max_level(LOG_CRIT);
        r = context_resolve(ctx, spec, true, &ref);
        log_set_max_level(old_level);
        have_tree = r >= 0;
        if (!have_tree) {
                chroot_ref_done(&ref);
                r = context_resolve(ctx, spec, false, &ref);
                if (r < 0)
                        return r;
        }
        if (source && (!have_tree || ref.def->source == CHROOT_SOURCE_DIRECTORY || ref.version == 0))
                return log_error_errno(-ENOENT, "Chroot '%s' has no version to change as source:%s%s", ref.name,
                                       ref.name, have_tree ? " (a directory chroot)" : " (arkose-chroot create first)");

        aliases = strdup("");
        for (char **a = ref.def->aliases; aliases && a && *a; a++) {
                char *s = strdup_printf("%s%s%s", aliases, *aliases ? " " : "", *a);
                free(aliases);
                aliases = s;
        }
        if (!aliases)
                return log_oom();

        printf("  --- %s ---\n", source ? "Source" : "Chroot");
        printf("  %-22s %s\n", "Name", ref.name);
        printf("  %-22s %s\n", "Description", ref.def->description ?: "");
        printf("  %-22s %s\n", "Type", chroot_source_to_string(ref.def->source));
        printf("  %-22s %s\n", "Aliases", aliases);
        printf("  %-22s %s\n", "Definition", ref.def->path ?: "");
        if (ref.def->source == CHROOT_SOURCE_DEBOOTSTRAP) {
                printf("  %-22s %s\n", "Suite", ref.def->suite);
                printf("  %-22s %s\n", "Variant", ref.def->variant ?: "buildd");
                printf("  %-22s %s\n", "Bootstrap", bootstrap_tool(ctx, ref.def));
                printf("  %-22s %s\n", "Mirror", ctx->mirror ?: ref.def->mirror ?:
                       (ref.def->distribution == CHROOT_DISTRIBUTION_DEBIAN ? ctx->config.mirror ?: "(host apt sources)"
                                                                            : "(none: set mirror= or pass --mirror)"));
        }
        if (have_tree) {
                printf("  %-22s %s\n", "Version", ref.version_str);
                printf("  %-22s %s\n", "Path", ref.rootfs);
        } else
                printf("  %-22s (not created: arkose-chroot create %s)\n", "Version", ref.name);
        /* A layered version: the overlay layers a session stacks, topmost first, ending with Path. */
        if (have_tree && strv_length(ref.lowers) > 1)
                for (char **l = ref.lowers; *l; l++)
                        printf("  %-22s %s\n", l == ref.lowers ? "Layers" : "", *l);
        if (have_tree && ref.version > 0) {
                _cleanup_strv_free_ char **info = NULL;

                _cleanup_free_ char *tree = store_tree_dir(ctx->state_dir, ref.name);
                _cleanup_free_ char *manifest = tree ? strdup_printf("%s/%u/manifest", tree, ref.version) : NULL;
                _cleanup_free_ char *text = NULL;
                unsigned packages = 0;

                /* The version's history (info.json), its keys as the other lines are ("parent" ->
                 * "Parent"), empty ones (a full version's parent) left out. */
                if (store_version_info(ctx->state_dir, ref.name, ref.version, &info) >= 0)
                        for (char **i = info; i[0] && i[1]; i += 2) {
                                char key[32];

                                if (streq(i[0], "version") || isempty(i[1]))
                                        continue;
                                snprintf(key, sizeof(key), "%s", i[0]);
                                key[0] = (char) toupper((unsigned char) key[0]);
                                printf("  %-22s %s\n", key, i[1]);
                        }
                if (manifest && read_file(manifest, &text) >= 0) {
                        for (const char *c = text; *c; c++)
                                packages += *c == '\n';
                        printf("  %-22s %u (list: %s)\n", "Packages", packages, manifest);
                }
        }
        if (have_tree) {
                _cleanup_free_ char *libc = NULL;
                char *const single[] = { ref.rootfs, NULL };

                if (vsyscall_check(ref.lowers ?: single, &libc) > 0)
                        printf("  %-22s needed by libc6 %s, and not mapped by this kernel: its programs die of "
                               "SIGSEGV (boot with vsyscall=emulate)\n", "Vsyscall", libc);
        }
        printf("\n");
        return 0;
}

int verb_apparmor_profile(Context *ctx, int argc, char **argv) {
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_free_ char *template = NULL, *name = NULL, *ns = NULL, *text = NULL;
        int r;

        if (argc != 1)
                return log_usage("Usage: arkose-chroot apparmor-profile PROFILE");
        r = context_find_profile(ctx, argv[0], &p);
        if (r < 0)
                return r;
        r = read_file(ctx->apparmor_template, &template);
        if (r < 0)
                return log_error_errno(r, "Failed to read the AppArmor template '%s': %m", ctx->apparmor_template);
        r = apparmor_names(p->name, ctx->state_dir, &name, &ns);
        if (r >= 0)
                r = apparmor_profile_text(template, p, name, ns, &text);
        if (r < 0)
                return log_error_errno(r, "Failed to generate the AppArmor profile of '%s': %m", p->name);
        fputs(text, stdout);
        return 0;
}
