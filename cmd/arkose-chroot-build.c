/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot build: a buildd-like build of a .dsc or a source tree.
 *
 *   STATE/builds/build-XXXXXX/
 *     build/                   bound at /build in the build session; owned by the build user
 *       reproducible-path/     the unpacked source (sbuild's stable build path)
 *       deps.log build.log     the two stages' output
 *   STATE/cache/deps/KEY/upper the build dependencies installed as an overlay layer over the tree, kept
 *                              and reused by builds with the same tree version and Build-Depends*
 *   STATE/cache/apt/archives   the .debs downloaded, shared by builds
 *
 * Stage "dependencies": a root session over the tree with the host's network and no hooks installs the
 * build dependencies (and build-essential); its upper directory is published as a layer (like an
 * update's) keyed by the tree version and the dependency fields, so the next build of the same
 * package skips the installation. Stage "build": a session over that layer and the tree,
 * network off, profile buildd, as the build user, runs dpkg-buildpackage in /build/reproducible-path
 * with SOURCE_DATE_EPOCH from the changelog. Results and the log are copied to --output. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "session.h"
#include "store.h"

char *arg_output = NULL;
char *arg_jobs = NULL;
char *arg_build_profiles = NULL;
char **arg_extra_packages = NULL;
bool arg_arch_all_only = false;
bool arg_no_arch_any = false;
bool arg_source_too = false;

typedef struct Build {
        char *dir;              /* STATE/builds/build-XXXXXX */
        char *build;            /* .../build, bound at /build */
        char *src;              /* .../build/reproducible-path */
        char *source, *version, *distribution, *timestamp;
        const char *stage;      /* the stage running or failed */
        int status;             /* the failed stage's exit status */
        char *deps_layer;       /* the build dependencies' layer, cached under STATE/cache/deps/KEY */
        char **files;           /* results copied to the output */
        char *log;              /* the log in the output */
} Build;

static void build_done(Build *b) {
        free(b->dir);
        free(b->build);
        free(b->src);
        free(b->source);
        free(b->version);
        free(b->distribution);
        free(b->timestamp);
        strv_free(b->files);
        free(b->log);
        free(b->deps_layer);
}

/* Runs @argv and returns its first line of output in *ret. */
static int capture(char *const argv[], char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        int fds[2], status;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                _exit(127);
        }
        (void) close(fds[1]);
        f = fdopen(fds[0], "re");
        if (!f || getline(&line, &cap, f) < 0)
                line = mfree(line);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line)
                return -EPROTO;
        line[strcspn(line, "\n")] = '\0';
        *ret = TAKE_PTR(line);
        return 0;
}

static int changelog_field(const char *src, const char *field, char **ret) {
        _cleanup_free_ char *changelog = path_join(src, "debian/changelog");
        char *argv[] = { (char *) "dpkg-parsechangelog", (char *) "-l", changelog, (char *) "-S", (char *) field, NULL };

        return changelog ? capture(argv, ret) : -ENOMEM;
}

/* Unpacks a .dsc (dpkg-source -x) or copies a source tree into b->src. */
static int build_unpack(Build *b, const char *what) {
        size_t n = strlen(what);
        int r;

        if (n > 4 && streq(what + n - 4, ".dsc")) {
                char *argv[] = { (char *) "dpkg-source", (char *) "--no-check", (char *) "-x", (char *) what, b->src, NULL };
                r = run_program(argv);
                if (r < 0)
                        return log_error_errno(r, "Build failed at stage 'unpack': dpkg-source -x '%s' failed", what);
                return 0;
        }
        {
                _cleanup_free_ char *changelog = path_join(what, "debian/changelog");
                _cleanup_free_ char *from = path_join(what, ".");
                char *argv[] = { (char *) "cp", (char *) "-a", from, b->src, NULL };

                if (!changelog || !from)
                        return log_oom();
                if (access(changelog, R_OK) < 0)
                        return log_error_errno(-EINVAL, "'%s' is neither a .dsc nor a Debian source tree (no debian/changelog)",
                                               what);
                if (mkdir(b->src, 0755) < 0)
                        return log_error_errno(-errno, "Failed to create '%s': %m", b->src);
                r = run_program(argv);
                if (r < 0)
                        return log_error_errno(r, "Build failed at stage 'unpack': cannot copy '%s'", what);
        }
        return 0;
}

static int build_prepare(Context *ctx, Build *b, const char *what) {
        _cleanup_free_ char *builds = path_join(ctx->state_dir, "builds");
        int r;

        if (!builds)
                return log_oom();
        r = mkdir_p(builds, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", builds);
        b->dir = path_join(builds, "build-XXXXXX");
        if (!b->dir || !mkdtemp(b->dir))
                return log_error_errno(b->dir ? -errno : -ENOMEM, "Failed to create a build directory: %m");
        (void) chmod(b->dir, 0755);
        b->build = path_join(b->dir, "build");
        b->src = path_join(b->build, "reproducible-path");
        if (!b->build || !b->src)
                return log_oom();
        if (mkdir(b->build, 0755) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", b->build);
        b->stage = "unpack";
        r = build_unpack(b, what);
        if (r < 0)
                return r;
        if (changelog_field(b->src, "Source", &b->source) < 0 || changelog_field(b->src, "Version", &b->version) < 0 ||
            changelog_field(b->src, "Distribution", &b->distribution) < 0 ||
            changelog_field(b->src, "Timestamp", &b->timestamp) < 0)
                return log_error_errno(-EINVAL, "Build failed at stage 'unpack': cannot read debian/changelog of '%s'", what);
        return 0;
}

/* The build dependencies as debian/control states them (all Build-Depends* and Build-Conflicts*
 * fields, continuation lines included; only the source paragraph has them), for the cache key. */
static int build_dep_fields(const char *src, char **ret) {
        _cleanup_free_ char *control = path_join(src, "debian/control");
        _cleanup_free_ char *text = NULL, *out = strdup("");
        bool in = false;
        int r;

        if (!control || !out)
                return -ENOMEM;
        r = read_file(control, &text);
        if (r < 0)
                return r;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char *n;

                if (line[0] == ' ' || line[0] == '\t') {
                        if (!in)
                                continue;
                } else
                        in = startswith(line, "Build-Depends") || startswith(line, "Build-Conflicts");
                if (!in)
                        continue;
                n = strdup_printf("%s%s\n", out, line);
                if (!n)
                        return -ENOMEM;
                free(out);
                out = n;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

static int build_dependencies(Context *ctx, Build *b, const ChrootRef *ref) {
        _cleanup_free_ char *cache = path_join(ctx->state_dir, "cache", "apt", "archives");
        _cleanup_free_ char *depsdir = path_join(ctx->state_dir, "cache", "deps");
        _cleanup_free_ char *fields = NULL, *keytext = NULL, *final = NULL, *staging = NULL;
        _cleanup_free_ char *upper = NULL, *work = NULL, *partial = NULL, *cmd = NULL, *extra = NULL;
        char key[SHA256_HEX_SIZE];
        int status = 0, r;

        if (!cache || !depsdir)
                return log_oom();
        r = build_dep_fields(b->src, &fields);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'dependencies': cannot read debian/control: %m");
        extra = arg_extra_packages ? strv_join(arg_extra_packages, " ") : strdup("");
        if (!extra)
                return log_oom();
        /* The layer depends on the tree it was installed on and on what was asked for. */
        keytext = strdup_printf("tree=%s@%u\nindep-only=%d\nextra=%s\n%s", ref->name, ref->version, arg_arch_all_only,
                                extra, fields);
        if (!keytext)
                return log_oom();
        sha256_hex(keytext, strlen(keytext), key);
        final = strdup_printf("%s/%.32s", depsdir, key);
        if (!final)
                return log_oom();
        b->deps_layer = path_join(final, "upper");
        if (!b->deps_layer)
                return log_oom();
        if (access(b->deps_layer, F_OK) >= 0) {
                printf("Reusing the build dependencies of %s %s installed in '%s@%u' before (%s)\n", b->source,
                       b->version, ref->name, ref->version, final);
                return 0;
        }

        partial = path_join(cache, "partial");
        r = partial ? mkdir_p(partial, 0755) : -ENOMEM;
        if (r >= 0)
                r = mkdir_p(depsdir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", depsdir);
        staging = path_join(depsdir, ".staging-XXXXXX");
        if (!staging || !mkdtemp(staging))
                return log_error_errno(staging ? -errno : -ENOMEM, "Failed to create a staging directory: %m");
        (void) chmod(staging, 0755);
        upper = path_join(staging, "upper");
        work = path_join(staging, "work");
        if (!upper || !work || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", staging);
        {
                FILE *f;
                _cleanup_free_ char *keyfile = path_join(staging, "key");
                if (keyfile && (f = fopen(keyfile, "we"))) {
                        fputs(keytext, f);
                        fclose(f);
                }
        }

        /* build-essential as sbuild installs it; the tree's package lists when they suffice. */
        cmd = strdup_printf("{ opts='-y -o Dir::Cache::Archives=%s/ -o APT::Keep-Downloaded-Packages=true "
                            "-o Dpkg::Options::=--force-unsafe-io -o APT::Install-Recommends=false'; "
                            "{ apt-get $opts install build-essential && apt-get $opts build-dep %s %s; } || "
                            "{ apt-get $opts update && apt-get $opts install build-essential && apt-get $opts build-dep %s %s; } && "
                            "{ [ -z '%s' ] || apt-get $opts install %s; }; } > %s/deps.log 2>&1",
                            cache, b->src, arg_arch_all_only ? "--indep-only" : "", b->src,
                            arg_arch_all_only ? "--indep-only" : "", extra, extra, b->build);
        if (!cmd)
                return log_oom();
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", cmd, NULL };
        char *binds[] = { b->build, cache, NULL };
        b->stage = "dependencies";
        printf("Installing the build dependencies of %s %s in '%s@%u'\n", b->source, b->version, ref->name, ref->version);
        fflush(stdout);
        r = run_in_layer(ctx, ref, ref->lowers, upper, work, CONTAINER_NETWORK_HOST, binds, argv, &status);
        if (r >= 0 && status != 0) {
                b->status = status;
                r = log_error_errno(-EPROTO, "Build failed at stage 'dependencies' (status %d): see the log", status);
        }
        if (r >= 0)
                r = rm_rf(work);
        /* Publish the layer for later builds; a concurrent build may have published the same one. */
        if (r >= 0 && rename(staging, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
                r = log_error_errno(-errno, "Failed to publish '%s': %m", final);
        if (access(staging, F_OK) >= 0)
                (void) rm_rf(staging);
        return r;
}

static int build_run(Context *ctx, Build *b, const ChrootRef *ref, const UserInfo *u) {
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        _cleanup_strv_free_ char **lowers = NULL, **env = NULL;
        _cleanup_free_ char *bind = NULL, *cmd = NULL, *status_path = NULL, *status_text = NULL;
        const char *what = arg_source_too ? (arg_arch_all_only ? "-A -S" : arg_no_arch_any ? "-A -S" : "")
                           : arg_arch_all_only || arg_no_arch_any ? "-A" : "-b";
        int status = 0, r;

        if (strv_extend(&lowers, b->deps_layer) < 0 || strv_extend_strv(&lowers, ref->lowers) < 0)
                return log_oom();
        r = context_find_profile(ctx, "buildd", &profile);
        if (r < 0)
                return r;
        profile->network = PROFILE_NETWORK_NONE;
        bind = strdup_printf("%s:/build:rw", b->build);
        if (!bind || profile_add_bind(profile, bind) < 0)
                return log_oom();
        cmd = strdup_printf("{ dpkg-buildpackage -us -uc %s %s%s; echo $? > /build/.status; } 2>&1 | tee /build/build.log",
                            what, arg_build_profiles ? "-P" : "", arg_build_profiles ?: "");
        if (!cmd)
                return log_oom();
        if (strv_extendf(&env, "PATH=/usr/local/bin:/usr/bin:/bin") < 0 || strv_extendf(&env, "HOME=/build") < 0 ||
            strv_extendf(&env, "USER=%s", u->name) < 0 || strv_extendf(&env, "LOGNAME=%s", u->name) < 0 ||
            strv_extendf(&env, "LANG=C.UTF-8") < 0 || strv_extendf(&env, "SOURCE_DATE_EPOCH=%s", b->timestamp) < 0 ||
            strv_extendf(&env, "DEB_BUILD_OPTIONS=%s%sparallel=%s", getenv("DEB_BUILD_OPTIONS") ?: "",
                         getenv("DEB_BUILD_OPTIONS") ? " " : "", arg_jobs ?: "2") < 0)
                return log_oom();

        r = private_mount_namespace();
        if (r < 0)
                return r;
        SessionPlan plan = {
                .state_dir = ctx->state_dir,
                .chroot = ref->name,
                .version = ref->version_str,
                .lowers = lowers,
                .network = CONTAINER_NETWORK_NONE,
                .cwd = "/",
                .user = u->name,
                .uid = u->uid,
                .gid = u->gid,
                .home = "/build",
                .shell = "/bin/sh",
                .groups = u->groups_str,
                .hook_dirs = ctx->hook_dirs,
                .hook_timeout = ctx->config.hook_timeout,
                .profile = profile,
                .apparmor_template = ctx->apparmor_template,
        };
        b->stage = "build";
        printf("Building %s %s in '%s@%u' as '%s', network off\n", b->source, b->version, ref->name, ref->version,
               u->name);
        fflush(stdout);
        r = session_create(&plan, &session);
        if (r < 0)
                return r;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", cmd, NULL };
        AttachPlan attach = {
                .argv = argv,
                .cwd = "/build/reproducible-path",
                .uid = u->uid,
                .gid = u->gid,
                .groups = u->groups,
                .n_groups = u->n_groups,
                .env = env,
                .no_new_privs = u->uid != 0,
        };
        r = session_run(session, &attach, signals_forward_to, &status);
        if (r >= 0)
                r = session_end(session);
        if (r < 0)
                return r;
        status_path = path_join(b->build, ".status");
        if (!status_path || read_file(status_path, &status_text) < 0)
                return log_error_errno(-EPROTO, "Build failed at stage 'build': no exit status (see %s/build.log)", b->build);
        b->status = atoi(status_text);
        if (b->status != 0)
                return log_error_errno(-EPROTO, "Build failed at stage 'build' (dpkg-buildpackage exited with status %d)",
                                       b->status);
        return 0;
}

/* Copies the results and the log to @out, owned by @u. */
static int build_collect(Build *b, const char *out, const UserInfo *u) {
        _cleanup_closedir_ DIR *d = opendir(b->build);
        static const char *const suffixes[] = { ".deb", ".udeb", ".changes", ".buildinfo", ".dsc", ".tar.xz",
                                                 ".tar.gz", ".tar.bz2" };
        struct dirent *de;
        int r;

        if (!d)
                return log_error_errno(-errno, "Failed to read '%s': %m", b->build);
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                bool wanted = false;

                for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                        size_t k = strlen(suffixes[i]);
                        wanted = wanted || (n > k && streq(de->d_name + n - k, suffixes[i]));
                }
                if (!wanted || de->d_type != DT_REG)
                        continue;
                if (strv_extend(&b->files, de->d_name) < 0)
                        return log_oom();
        }
        strv_sort(b->files);
        b->log = strdup_printf("%s/%s_%s.build", out, b->source, b->version);
        if (!b->log)
                return log_oom();
        {
                _cleanup_free_ char *deps = path_join(b->build, "deps.log");
                _cleanup_free_ char *build = path_join(b->build, "build.log");
                _cleanup_free_ char *a = NULL, *c = NULL, *text = NULL;

                (void) read_file(deps, &a);
                (void) read_file(build, &c);
                text = strdup_printf("=== stage: dependencies ===\n%s\n=== stage: build ===\n%s", a ?: "", c ?: "");
                if (!text)
                        return log_oom();
                r = write_file_atomic(b->log, text, 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s': %m", b->log);
                (void) chown(b->log, u->uid, u->gid);
        }
        for (char **f = b->files; f && *f; f++) {
                _cleanup_free_ char *from = path_join(b->build, *f);
                char *argv[] = { (char *) "cp", (char *) "--no-preserve=ownership", from, (char *) out, NULL };
                _cleanup_free_ char *to = path_join(out, *f);

                if (!from || !to)
                        return log_oom();
                r = run_program(argv);
                if (r < 0)
                        return log_error_errno(r, "Failed to copy '%s' to '%s'", *f, out);
                (void) chown(to, u->uid, u->gid);
        }
        return 0;
}

static void build_print_json(const Build *b, const ChrootRef *ref, const char *out, int r) {
        printf("{\"source\": \"%s\", \"version\": \"%s\", \"chroot\": \"%s\", \"chroot_version\": %u, "
               "\"result\": \"%s\", \"stage\": \"%s\", \"exit_status\": %d, \"output\": \"%s\", \"log\": \"%s\", \"files\": [",
               b->source ?: "", b->version ?: "", ref->name ?: "", ref->version, r < 0 ? "failed" : "ok",
               r < 0 ? (b->stage ?: "setup") : "done", b->status, out, b->log ?: "");
        for (char **f = b->files; f && *f; f++)
                printf("%s\"%s\"", f == b->files ? "" : ", ", *f);
        printf("]}\n");
}

int verb_build(Context *ctx, int argc, char **argv) {
        _cleanup_(build_done) Build b = {};
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_(user_info_done) UserInfo u = {}, owner = {};
        _cleanup_free_ char *what = NULL, *out = NULL, *chroot = NULL;
        int r;

        if (argc != 1)
                return log_error_errno(-EINVAL, "Usage: arkose-chroot build [--chroot NAME] [OPTIONS] PKG.dsc|SOURCE_DIR");
        r = access_require_root("build");
        if (r < 0)
                return r;
        what = realpath(argv[0], NULL);
        if (!what)
                return log_error_errno(-errno, "Cannot build '%s': %m", argv[0]);
        out = realpath(arg_output ?: ".", NULL);
        if (!out)
                return log_error_errno(-errno, "Output directory '%s' is not usable: %m", arg_output ?: ".");
        r = user_resolve(&u);
        if (r < 0)
                return r;
        /* The results belong to whoever asked for the build (SUDO_USER under sudo). */
        r = user_resolve(&owner);
        if (r < 0)
                return r;
        if (u.uid == 0) {
                /* Never build as root: as on a buildd, an unprivileged user. */
                user_info_done(&u);
                u = (UserInfo) {};
                free(arg_user);
                arg_user = strdup("nobody");
                r = user_resolve(&u);
                if (r < 0)
                        return r;
        }

        signals_install();
        r = build_prepare(ctx, &b, what);
        if (r >= 0) {
                if (!arg_chroot && streq(b.distribution, "UNRELEASED"))
                        r = log_error_errno(-EINVAL, "debian/changelog says UNRELEASED: pass --chroot NAME");
                else
                        r = context_resolve(ctx, arg_chroot ?: b.distribution, true, &ref);
        }
        if (r >= 0) {
                char *argv_chown[] = { (char *) "chown", (char *) "-R", NULL, b.build, NULL };
                _cleanup_free_ char *owner = strdup_printf("%u:%u", (unsigned) u.uid, (unsigned) u.gid);
                argv_chown[2] = owner;
                r = owner ? run_program(argv_chown) : log_oom();
        }
        if (r >= 0)
                r = build_dependencies(ctx, &b, &ref);
        if (r >= 0)
                r = build_run(ctx, &b, &ref, &u);
        if (b.build && access(b.build, F_OK) >= 0)
                (void) build_collect(&b, out, &owner);
        if (arg_json)
                build_print_json(&b, &ref, out, r);
        else if (r >= 0) {
                for (char **f = b.files; f && *f; f++)
                        printf("%s/%s\n", out, *f);
                printf("Built %s %s: %zu file(s) and the log %s\n", b.source, b.version, strv_length(b.files), b.log);
        }
        if (b.dir)
                (void) rm_rf(b.dir);
        return r;
}
