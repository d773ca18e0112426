/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot build: a buildd-like build of a .dsc or a source tree.
 *
 *   STATE/builds/build-XXXXXX/
 *     lock                     held by the build while it runs: a directory whose lock nobody holds was
 *                              left by a killed build, and the next build (or 'recover') removes it
 *     session                  the id of its detached build session (--keep-session, --purge-*, hooks):
 *                              kept while that session is there (the user's to end, and to remove it)
 *     build/                   bound at /build in the build session; owned by the build user
 *       reproducible-path/     the unpacked source (sbuild's stable build path)
 *       deps.log build.log     the two stages' output
 *   STATE/cache/deps/KEY/upper the build dependencies installed as an overlay layer over the tree, kept
 *                              and reused by builds with the same tree version and Build-Depends*
 *   STATE/cache/apt/archives   the .debs downloaded, shared by builds
 *
 * Stage "dependencies": a root session over the tree with no hooks installs the build dependencies (and
 * build-essential); its upper directory is published as a layer (like an update's) keyed by the tree
 * version, the dependency fields and the options that change what is installed, so the next build of
 * the same package skips the installation. Its network reaches the package sources only: the session
 * has a filtered network (netpolicy.h) whose one destination is a proxy on the host's loopback
 * (proxy.h), started for this build, that serves only the hosts of the chroot's apt sources and of the
 * --extra-repository URIs, resolved on the host. apt downloads into a directory of the build's own,
 * hard-linked from and back into the shared cache STATE/cache/apt/archives, so that concurrent builds
 * share the .debs without ever contending for apt's archives lock.
 * Stage "build": a session over that layer and the tree,
 * network off, profile buildd, as the build user, runs dpkg-buildpackage in /build/reproducible-path
 * with SOURCE_DATE_EPOCH from the changelog. Results and the log are copied to --output.
 *
 * sbuild-like hooks (--pre-build-commands and friends) run at their points: on the host, or in a
 * session as root, output in the build log; a failing one fails the build at a stage named after it.
 * --keep-session makes the build session a detached one, left running for inspection. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "buildplan.h"
#include "fetch.h"
#include "lock.h"
#include "mount.h"
#include "proxy.h"
#include "session.h"
#include "store.h"

char *arg_output = NULL;
char *arg_jobs = NULL;
char *arg_build_profiles = NULL;
char **arg_extra_packages = NULL;
bool arg_arch_all = false;
bool arg_no_arch_all = false;
bool arg_no_arch_any = false;
int arg_resolve_alternatives = -1; /* -1: arkose.conf's [build] resolve-alternatives */
bool arg_source_too = false;
char **arg_extra_repositories = NULL;
char **arg_extra_repository_keys = NULL;
BuildPurge arg_purge = BUILD_PURGE_ALWAYS;
char *arg_make_binnmu = NULL;
unsigned arg_binnmu = 0;
char *arg_binnmu_timestamp = NULL;
char *arg_append_to_version = NULL;
char *arg_binnmu_changelog = NULL;
char *arg_maintainer = NULL;
char **arg_debbuildopts = NULL;
char **arg_dpkg_source_opts = NULL;
bool arg_force_orig_source = false;
char *arg_build_path = NULL;

/* The source's path in the build session (sbuild's --build-path; its default on the buildds now), and the
 * directory above it, where the build's directory is bound and dpkg-buildpackage writes the results. */
static const char *session_src(void) {
        return arg_build_path ?: "/build/reproducible-path";
}

static const char *session_dir(void) {
        static char dir[PATH_MAX];

        snprintf(dir, sizeof dir, "%.*s", (int) (strrchr(session_src(), '/') - session_src()), session_src());
        return dir;
}
bool arg_source_only_changes = false;
int arg_run_lintian = -1;
char **arg_lintian_opts = NULL;
int arg_run_autopkgtest = -1;
char **arg_autopkgtest_opts = NULL;

static const char *const build_purge_table[_BUILD_PURGE_MAX] = {
        [BUILD_PURGE_ALWAYS] = "always",
        [BUILD_PURGE_NEVER] = "never",
        [BUILD_PURGE_SUCCESSFUL] = "successful",
};

BuildPurge build_purge_from_string(const char *s) {
        for (int i = 0; i < _BUILD_PURGE_MAX; i++)
                if (s && streq(s, build_purge_table[i]))
                        return (BuildPurge) i;
        return _BUILD_PURGE_INVALID;
}
char *arg_arch = NULL;
char *arg_host = NULL;

/* sbuild's external commands, in the order they run. */
typedef enum BuildHook {
        BUILD_HOOK_PRE_BUILD,            /* host, before the dependencies */
        BUILD_HOOK_CHROOT_SETUP,         /* dependency session, root, before apt */
        BUILD_HOOK_CHROOT_UPDATE_FAILED, /* never: a build does not update its chroot (arkose-chroot update does) */
        BUILD_HOOK_BUILD_DEPS_FAILED,    /* dependency session, root, after apt failed, all as apt left it */
        BUILD_HOOK_STARTING_BUILD,       /* build session, root, before dpkg-buildpackage */
        BUILD_HOOK_FINISHED_BUILD,       /* build session, root, after a successful build */
        BUILD_HOOK_BUILD_FAILED,         /* build session, root, after a failed build */
        BUILD_HOOK_CHROOT_CLEANUP,       /* build session, root, before it ends, whatever the build did */
        BUILD_HOOK_POST_BUILD,           /* host, after a successful build, results in the output */
        BUILD_HOOK_POST_BUILD_FAILED,    /* host, after a failed build, in the output */
        _BUILD_HOOK_MAX,
        BUILD_HOOK_ANYTHING_FAILED = _BUILD_HOOK_MAX, /* an option only: the three *-failed ones sbuild's adds to */
} BuildHook;

static const char *const build_hook_table[_BUILD_HOOK_MAX + 1] = {
        [BUILD_HOOK_PRE_BUILD] = "pre-build-commands",
        [BUILD_HOOK_CHROOT_SETUP] = "chroot-setup-commands",
        [BUILD_HOOK_CHROOT_UPDATE_FAILED] = "chroot-update-failed-commands",
        [BUILD_HOOK_BUILD_DEPS_FAILED] = "build-deps-failed-commands",
        [BUILD_HOOK_STARTING_BUILD] = "starting-build-commands",
        [BUILD_HOOK_FINISHED_BUILD] = "finished-build-commands",
        [BUILD_HOOK_BUILD_FAILED] = "build-failed-commands",
        [BUILD_HOOK_CHROOT_CLEANUP] = "chroot-cleanup-commands",
        [BUILD_HOOK_POST_BUILD] = "post-build-commands",
        [BUILD_HOOK_POST_BUILD_FAILED] = "post-build-failed-commands",
        [BUILD_HOOK_ANYTHING_FAILED] = "anything-failed-commands",
};

static char **arg_hooks[_BUILD_HOOK_MAX] = {};

/* What sbuild's percent escapes stand for at a hook's point (NULL: not known there, expands to ""). */
typedef struct HookVars {
        const char *arch;         /* %a %SBUILD_HOST_ARCH */
        const char *build_arch;   /* %SBUILD_BUILD_ARCH */
        const char *build_dir;    /* %b %SBUILD_BUILD_DIR */
        const char *pkgbuild_dir; /* %p %SBUILD_PKGBUILD_DIR */
        const char *dsc;          /* %d %SBUILD_DSC */
        const char *changes;      /* %c %SBUILD_CHANGES */
        const char *session;      /* %SBUILD_SESSION (ours): the session id */
} HookVars;

/* %s %SBUILD_SHELL: sbuild's interactive shell, on the terminal whatever the hook's output (Build.pm). */
static const char hook_shell[] = "bash -i </dev/tty >/dev/tty 2>/dev/tty";

/* Expands sbuild's escapes in @cmd: %% and the long and short forms of HookVars, and %SBUILD_SHELL. Returns
 * 0 and *ret, and in *ret_shell (may be NULL) whether the shell was named; -EINVAL for an unknown escape (then
 * *ret is NULL), -ENOMEM. */
static int hook_expand(const char *cmd, const HookVars *v, char **ret, bool *ret_shell) {
        const struct {
                const char *name;
                const char *value;
        } esc[] = {
                /* Longer names first: each is matched as a prefix. */
                { "SBUILD_HOST_ARCH", v->arch },
                { "SBUILD_BUILD_ARCH", v->build_arch },
                { "SBUILD_BUILD_DIR", v->build_dir },
                { "SBUILD_PKGBUILD_DIR", v->pkgbuild_dir },
                { "SBUILD_DSC", v->dsc },
                { "SBUILD_CHANGES", v->changes },
                { "SBUILD_SESSION", v->session },
                { "SBUILD_SHELL", hook_shell },
                { "a", v->arch },
                { "b", v->build_dir },
                { "p", v->pkgbuild_dir },
                { "d", v->dsc },
                { "c", v->changes },
                { "s", hook_shell },
                { "%", "%" },
        };
        _cleanup_free_ char *out = strdup("");
        bool shell = false;

        *ret = NULL;
        if (!out)
                return -ENOMEM;
        for (const char *c = cmd; *c;) {
                const char *add = NULL;
                size_t skip = 1;
                char *n;

                if (*c == '%') {
                        for (size_t i = 0; i < ELEMENTSOF(esc) && !add; i++)
                                if (startswith(c + 1, esc[i].name)) {
                                        add = esc[i].value ?: "";
                                        skip = 1 + strlen(esc[i].name);
                                        shell = shell || add == hook_shell;
                                }
                        if (!add)
                                return -EINVAL;
                }
                n = add ? strdup_printf("%s%s", out, add) : strdup_printf("%s%c", out, *c);
                if (!n)
                        return -ENOMEM;
                free(out);
                out = n;
                c += skip;
        }
        *ret = TAKE_PTR(out);
        if (ret_shell)
                *ret_shell = shell;
        return 0;
}

const char *build_hook_option(int i) {
        return i >= 0 && i <= BUILD_HOOK_ANYTHING_FAILED ? build_hook_table[i] : NULL;
}

int build_hook_add(int i, const char *cmd) {
        _cleanup_free_ char *check = NULL;
        bool check_shell = false;
        int r;

        assert(i >= 0 && i <= BUILD_HOOK_ANYTHING_FAILED);
        r = hook_expand(cmd, &(HookVars){}, &check, &check_shell);
        if (r == -EINVAL)
                return log_error_errno(
                        r,
                        "Invalid --%s '%s': unknown %% escape (%%%%, %%a, %%b, %%p, %%d, %%c, %%s and "
                        "their %%SBUILD_* names are known)",
                        build_hook_table[i], cmd);
        if (r < 0)
                return log_oom();
        if (i == BUILD_HOOK_CHROOT_SETUP && check_shell)
                return log_error_errno(-EINVAL,
                                       "Invalid --%s '%s': %%SBUILD_SHELL there would be cached with the build "
                                       "dependencies; use --starting-build-commands or --build-deps-failed-commands",
                                       build_hook_table[i], cmd);
        if (i != BUILD_HOOK_ANYTHING_FAILED)
                return strv_extend(&arg_hooks[i], cmd) < 0 ? log_oom() : 0;
        /* sbuild's: all the *-failed commands it knows of, post-build-failed not among them. */
        static const BuildHook failed[] = { BUILD_HOOK_CHROOT_UPDATE_FAILED, BUILD_HOOK_BUILD_DEPS_FAILED,
                                            BUILD_HOOK_BUILD_FAILED };
        for (size_t k = 0; k < ELEMENTSOF(failed); k++)
                if (strv_extend(&arg_hooks[failed[k]], cmd) < 0)
                        return log_oom();
        return 0;
}

/* sbuild's --add-depends and --add-conflicts options, in BuildPlan's order. */
static const char *const build_add_table[] = {
        "add-depends", "add-depends-arch", "add-depends-indep", "add-conflicts", "add-conflicts-arch",
        "add-conflicts-indep",
};
static char **arg_add[ELEMENTSOF(build_add_table)] = {};

const char *build_add_option(int i) {
        return i >= 0 && (size_t) i < ELEMENTSOF(build_add_table) ? build_add_table[i] : NULL;
}

int build_add_add(int i, const char *value) {
        assert(build_add_option(i));
        /* One dependency field's text: no line breaks (it goes to apt-get satisfy as one argument). */
        if (isempty(value) || strpbrk(value, "\n\r"))
                return log_error_errno(-EINVAL, "Invalid --%s '%s': a dependency list as in debian/control, on one line",
                                       build_add_table[i], value);
        return strv_extend(&arg_add[i], value) < 0 ? log_oom() : 0;
}

typedef struct Build {
        char *dir;              /* STATE/builds/build-XXXXXX */
        char *build;            /* .../build, bound at /build */
        char *src;              /* .../build/reproducible-path */
        char *source, *version, *distribution, *timestamp;
        const char *stage;      /* the stage running or failed */
        int status;             /* the failed stage's exit status */
        char *deps_layer;       /* the build dependencies' layer, cached under STATE/cache/deps/KEY */
        char **files;           /* results copied to the output */
        char *log;              /* the log in the output: PKG_VERSION_ARCH.build, a symlink to log_file */
        char *log_file;         /* PKG_VERSION_ARCH-DATE.build in the output, as sbuild names its logs */
        char *dsc;              /* the .dsc built, NULL for a source directory */
        char *arch;             /* the chroot's architecture (dpkg's name): the build architecture */
        BuildPlan plan;         /* native or cross; its strings borrowed from here and the arg_* */
        char *kept_session;     /* the build session's id, when --keep-session or --purge-* kept it */
        int lock_fd;            /* the lock on dir/lock, held for the build's life */
        const char *lintian;    /* --run-lintian's result, sbuild's words: "pass", "info", "warn", "fail",
                                 * "error"; NULL when lintian did not run */
        const char *autopkgtest; /* --run-autopkgtest's: "pass", "no tests", "fail"; NULL when it did not run */
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
        free(b->log_file);
        free(b->deps_layer);
        free(b->dsc);
        free(b->arch);
        free(b->kept_session);
        b->lock_fd = safe_close(b->lock_fd);
}

/* Removes @name in @builds when a killed build left it: its lock file there, held by nobody, and no
 * session of its still there (one kept with it). Not one without a lock file (being made, or older than
 * locks). The lock file is never made anew here: its build may be removing the directory. Returns 1
 * when removed, else 0 or -errno. */
static int build_sweep_one(const char *state_dir, const char *builds, const char *name) {
        _cleanup_free_ char *dir = path_join(builds, name), *lock = NULL, *mark = NULL, *id = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!dir || !(lock = path_join(dir, "lock")) || !(mark = path_join(dir, "session")))
                return -ENOMEM;
        fd = lock_file_existing(lock, LOCK_MODE_EXCLUSIVE, false);
        if (fd == -EBUSY || fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        r = read_file(mark, &id);
        if (r >= 0) {
                _cleanup_free_ char *session = NULL;

                if (!session_id_is_valid(id, NULL))
                        return 0; /* not ours to judge */
                session = path_join(state_dir, "sessions", id);
                if (!session)
                        return -ENOMEM;
                if (access(session, F_OK) >= 0 || errno != ENOENT)
                        return 0;
        } else if (r != -ENOENT)
                return r;
        r = mount_umount_below(dir, NULL); /* none of ours, but rm_rf() never crosses one */
        if (r < 0)
                return r;
        r = rm_rf(dir);
        return r < 0 ? r : 1;
}

int build_sweep(const char *state_dir, unsigned *ret_removed) {
        _cleanup_free_ char *builds = path_join(state_dir, "builds");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        unsigned removed = 0;

        if (!builds)
                return -ENOMEM;
        d = opendir(builds);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                int r;

                if (!startswith(de->d_name, "build-"))
                        continue;
                r = build_sweep_one(state_dir, builds, de->d_name);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove build directory '%s/%s' of a killed build, "
                                          "ignoring: %m", builds, de->d_name);
                else if (r > 0) {
                        log_debug("Removed build directory '%s/%s' of a killed build", builds, de->d_name);
                        removed++;
                }
        }
        if (ret_removed)
                *ret_removed = removed;
        return 0;
}

/* Runs @argv and returns its first line of output in *ret; with @quiet, its stderr goes to /dev/null. */
static int capture_full(char *const argv[], bool quiet, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        int fds[2], status, r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (quiet) {
                        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (null < 0 || dup2(null, STDERR_FILENO) < 0)
                                _exit(127);
                }
                execvp(argv[0], argv);
                _exit(127);
        }
        (void) close(fds[1]);
        f = fdopen(fds[0], "re");
        if (!f || getline(&line, &cap, f) < 0)
                line = mfree(line);
        r = pid_wait(pid, &status);
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line)
                return -EPROTO;
        line[strcspn(line, "\n")] = '\0';
        *ret = TAKE_PTR(line);
        return 0;
}

static int capture(char *const argv[], char **ret) {
        return capture_full(argv, false, ret);
}

static int changelog_field(const char *src, const char *field, char **ret) {
        _cleanup_free_ char *changelog = path_join(src, "debian/changelog");
        char *argv[] = { (char *) "dpkg-parsechangelog", (char *) "-l", changelog, (char *) "-S", (char *) field, NULL };

        return changelog ? capture(argv, ret) : -ENOMEM;
}

/* Whether @s ends in '/'. */
static bool endswith_slash(const char *s) {
        return !isempty(s) && s[strlen(s) - 1] == '/';
}

/* Whether @s names a .dsc file (by its name). */
static bool endswith_dsc(const char *s) {
        size_t n = strlen(s);

        return n > 4 && streq(s + n - 4, ".dsc");
}

/* Unpacks a .dsc (dpkg-source -x) or copies a source tree into b->src. */
static int build_unpack(Build *b, const char *what) {
        int r;

        if (endswith_dsc(what)) {
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

/* Makes the build's directory, locked, with build/ in it. */
static int build_prepare(Context *ctx, Build *b) {
        _cleanup_free_ char *builds = path_join(ctx->state_dir, "builds"), *lock = NULL;
        int r;

        if (!builds)
                return log_oom();
        r = mkdir_p(builds, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", builds);
        (void) build_sweep(ctx->state_dir, NULL);
        b->dir = path_join(builds, "build-XXXXXX");
        if (!b->dir || !mkdtemp(b->dir))
                return log_error_errno(b->dir ? -errno : -ENOMEM, "Failed to create a build directory: %m");
        (void) chmod(b->dir, 0755);
        lock = path_join(b->dir, "lock");
        if (!lock)
                return log_oom();
        /* In place already locked: a concurrent build's sweep takes a lock file it can lock for a killed
         * build's, and removes its directory. */
        b->lock_fd = lock_file_new(lock, LOCK_MODE_EXCLUSIVE);
        if (b->lock_fd < 0)
                return log_error_errno(b->lock_fd, "Failed to lock '%s': %m", lock);
        b->build = path_join(b->dir, "build");
        b->src = path_join(b->build, strrchr(session_src(), '/') + 1);
        if (!b->build || !b->src)
                return log_oom();
        if (mkdir(b->build, 0755) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", b->build);
        return 0;
}

/* Unpacks or copies the source @what into b->src, and reads its changelog. */
static int build_source_read(Build *b, const char *what) {
        int r;

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

static int build_fail_hook(Build *b, BuildHook h, int status, const char *cmd) {
        b->stage = build_hook_table[h];
        b->status = status;
        return log_error_errno(-EPROTO, "Build failed at stage '%s' (status %d): %s", b->stage, status, cmd);
}

/* Whether a hook command that opens sbuild's shell (@shell) can: it needs a terminal on stdin. Says so in one
 * line when not: such a command is skipped, the others of @h run. */
static bool hook_shell_possible(BuildHook h, bool shell, const char *cmd) {
        if (!shell || isatty(STDIN_FILENO))
                return true;
        log_warning("--%s '%s': %%SBUILD_SHELL needs a terminal, and stdin is not one: not run", build_hook_table[h],
                    cmd);
        return false;
}

/* A command of @h exited with @status: with @decides, the build fails at @h's stage; else (the build has
 * failed already) one line says so, and the rest of @h's commands are not run, as in sbuild. */
static int build_hook_failed(Build *b, BuildHook h, int status, const char *cmd, bool decides) {
        if (decides)
                return build_fail_hook(b, h, status, cmd);
        log_warning("--%s '%s' exited with status %d", build_hook_table[h], cmd, status);
        return 0;
}

/* Runs the --NAME-commands of @h on the host in @cwd, their output on stdout (stderr with --json). With
 * @decides, a failing one fails the build. */
static int build_host_hooks(Build *b, BuildHook h, const HookVars *v, const char *cwd, bool decides) {
        for (char **c = arg_hooks[h]; c && *c; c++) {
                _cleanup_free_ char *cmd = NULL;
                int status = 0, r;
                bool shell;
                pid_t pid;

                if (hook_expand(*c, v, &cmd, &shell) < 0)
                        return log_oom();
                if (!hook_shell_possible(h, shell, *c))
                        continue;
                fflush(NULL);
                pid = fork();
                if (pid < 0)
                        return log_error_errno(-errno, "Failed to run --%s: %m", build_hook_table[h]);
                if (pid == 0) {
                        if (arg_json && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                                _exit(127);
                        if (cwd && chdir(cwd) < 0)
                                _exit(127);
                        execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
                        _exit(127);
                }
                r = pid_wait(pid, &status);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait for --%s: %m", build_hook_table[h]);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        return build_hook_failed(b, h, wait_status_code(status), cmd, decides);
        }
        return 0;
}

/* Runs the --NAME-commands of @h in @s as root in @cwd (sbuild's build directory), their output appended to
 * @log (a path in the session), after the shell code @prelude (NULL: none). One that opens sbuild's shell
 * gets the caller's terminal, as a pty of the session's own. With @decides, a failing one fails the build. */
static int build_session_hooks(Session *s, Build *b, BuildHook h, const HookVars *v, const char *cwd,
                               const char *log, const char *prelude, bool decides) {
        for (char **c = arg_hooks[h]; c && *c; c++) {
                _cleanup_free_ char *cmd = NULL, *script = NULL;
                int status = 0, r;
                bool shell;

                if (hook_expand(*c, v, &cmd, &shell) < 0)
                        return log_oom();
                if (!hook_shell_possible(h, shell, *c))
                        continue;
                script = strdup_printf("exec >> '%s' 2>&1\necho '--- %s'\n%s%s", log, build_hook_table[h],
                                       prelude ?: "", cmd);
                if (!script)
                        return log_oom();
                if (shell)
                        log_notice("--%s: a shell in the session '%s', as root in %s; exit it to go on",
                                   build_hook_table[h], session_id(s), cwd);
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
                AttachPlan attach = {
                        .argv = argv, .shell = "/bin/sh", .cwd = cwd, .env = root_env, .terminal = shell
                };
                r = session_run(s, &attach, signals_forward_child, &status);
                if (r < 0)
                        return r;
                if (status != 0)
                        return build_hook_failed(b, h, status, cmd, decides);
        }
        return 0;
}

/* The file @rel (relative to the root) of a tree whose layers are @lowers (topmost first), as the
 * overlay shows it: NULL when no layer has it or the topmost that does deleted it (a whiteout). */
static char *layered_path(char *const *lowers, const char *rel) {
        for (char *const *l = lowers; l && *l; l++) {
                char *p = path_join(*l, rel);
                struct stat st;

                if (!p || lstat(p, &st) < 0) {
                        free(p);
                        continue;
                }
                if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
                        free(p);
                        return NULL;
                }
                return p;
        }
        return NULL;
}

/* The URIs of the tree's apt sources: sources.list, then sources.list.d/ *.list and *.sources. */
static int tree_source_uris(char *const *lowers, char ***uris) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *list = layered_path(lowers, "etc/apt/sources.list");
        int r;

        if (list) {
                r = config_apt_source_uris(list, uris);
                if (r < 0)
                        return r;
        }
        for (char *const *l = lowers; l && *l; l++) {
                _cleanup_free_ char *dir = path_join(*l, "etc/apt/sources.list.d");
                _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        size_t n = strlen(de->d_name);
                        if (((n > 5 && streq(de->d_name + n - 5, ".list")) ||
                             (n > 8 && streq(de->d_name + n - 8, ".sources"))) &&
                            !strv_contains(names, de->d_name))
                                if (strv_extend(&names, de->d_name) < 0)
                                        return -ENOMEM;
                }
        }
        strv_sort(names);
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *rel = path_join("etc/apt/sources.list.d", *n);
                _cleanup_free_ char *p = rel ? layered_path(lowers, rel) : NULL;
                if (p) {
                        r = config_apt_source_uris(p, uris);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The URI of a "deb [OPTIONS] URI SUITE [COMPONENT...]" line, or NULL. */
static char *repository_uri(const char *line) {
        _cleanup_strv_free_ char **w = NULL;
        const char *s = line;

        if (startswith(s, "deb-src"))
                s += 7;
        else if (startswith(s, "deb"))
                s += 3;
        else
                return NULL;
        s += strspn(s, " \t");
        if (*s == '[') {
                s = strchr(s, ']');
                if (!s)
                        return NULL;
                s++;
        }
        w = strv_split(s, " \t");
        return w && strv_length(w) >= 2 ? strdup(w[0]) : NULL;
}

int build_check_extra_repository(const char *line) {
        _cleanup_free_ char *uri = NULL, *source = NULL;

        for (const char *c = line; *c; c++)
                if ((unsigned char) *c < 0x20 && *c != '\t')
                        return log_error_errno(-EINVAL,
                                               "Invalid --extra-repository: a control character in it");
        if ((!startswith(line, "deb ") && !startswith(line, "deb-src ") && !startswith(line, "deb\t") &&
             !startswith(line, "deb-src\t")) ||
            !(uri = repository_uri(line)))
                return log_error_errno(
                        -EINVAL, "Invalid --extra-repository '%s': expected 'deb URI SUITE [COMPONENT...]'",
                        line);
        if (proxy_source_of_uri(uri, &source) < 0)
                return log_error_errno(
                        -EINVAL, "Invalid --extra-repository '%s': '%s' is not an http, https or file URI",
                        line, uri);
        return 0;
}

/* Where the dependency stage may fetch from: "HOST:PORT" of every http(s) source of the tree and of the
 * extra repositories (*ret_allowed), and the host directories of file: extra repositories (*ret_dirs),
 * bound into the session. */
static int deps_sources(const ChrootRef *ref, char ***ret_allowed, char ***ret_dirs) {
        _cleanup_strv_free_ char **uris = NULL, **allowed = NULL, **dirs = NULL;
        int r;

        r = tree_source_uris(ref->lowers, &uris);
        if (r < 0)
                return log_error_errno(r, "Failed to read the apt sources of '%s@%u': %m", ref->name,
                                       ref->version);
        for (char **e = arg_extra_repositories; e && *e; e++) {
                _cleanup_free_ char *uri = repository_uri(*e);
                if (!uri || strv_extend(&uris, uri) < 0)
                        return log_oom();
                if (startswith(uri, "file:")) {
                        const char *p = uri + 5;
                        while (p[0] == '/' && p[1] == '/')
                                p++;
                        if (!path_is_absolute(p) || access(p, R_OK | X_OK) < 0)
                                return log_error_errno(-ENOENT, "Extra repository '%s': no directory '%s'",
                                                       *e, p);
                        if (strv_extend(&dirs, p) < 0)
                                return log_oom();
                }
        }
        for (char **u = uris; u && *u; u++) {
                _cleanup_free_ char *source = NULL;
                r = proxy_source_of_uri(*u, &source);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        log_warning(
                                "Package source '%s' of '%s' cannot be reached through the proxy, ignoring.",
                                *u, ref->name);
                if (r > 0 && !strv_contains(allowed, source) && strv_extend(&allowed, source) < 0)
                        return log_oom();
        }
        *ret_allowed = TAKE_PTR(allowed);
        *ret_dirs = TAKE_PTR(dirs);
        return 0;
}

/* Hard-links every .deb of directory @from that @to lacks into @to (both on the state directory's file
 * system). A file another build linked first is left: apt only ever moves complete, verified files
 * into an archives directory, so two files of the same name are the same package. */
static void link_debs(const char *from, const char *to) {
        _cleanup_closedir_ DIR *d = opendir(from);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *a = NULL, *z = NULL;

                if (n < 5 || !streq(de->d_name + n - 4, ".deb") || de->d_type != DT_REG)
                        continue;
                a = path_join(from, de->d_name);
                z = path_join(to, de->d_name);
                if (a && z && link(a, z) < 0 && errno != EEXIST)
                        log_debug("Failed to link '%s' to '%s': %m", a, z);
        }
}

/* An --extra-package that is a .deb file (build_extra_package_parse() made it an absolute path). */
static bool extra_is_deb(const char *e) {
        return e[0] == '/';
}

static bool is_deb_name(const char *s) {
        size_t n = strlen(s);

        return n > 4 && streq(s + n - 4, ".deb");
}

static int extra_deb_checked(const char *arg, const char *path, char ***debs) {
        if (strpbrk(path, " '\"\\;$`\t\n"))
                return log_error_errno(-EINVAL, "Invalid --extra-package '%s': the path '%s' has a blank or a quote", arg, path);
        return strv_extend(debs, path) < 0 ? log_oom() : 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int build_extra_package_parse(const char *arg, char ***ret_debs) {
        _cleanup_strv_free_ char **debs = NULL;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        size_t n = strlen(arg);
        int r;

        *ret_debs = NULL;
        if (!strchr(arg, '/') && !is_deb_name(arg)) {
                if (strpbrk(arg, " '\"\\;$`") || arg[0] == '-' || n == 0)
                        return log_error_errno(-EINVAL, "Invalid --extra-package '%s': expected a package name, a .deb file or a directory of them", arg);
                return 0;
        }
        path = realpath(arg, NULL);
        if (!path || stat(path, &st) < 0)
                return log_error_errno(-errno, "Invalid --extra-package '%s': %m", arg);
        if (S_ISDIR(st.st_mode)) {
                /* sbuild's: every .deb file of the directory (not below it), in name order. */
                _cleanup_closedir_ DIR *d = opendir(path);
                struct dirent *de;

                if (!d)
                        return log_error_errno(-errno, "Invalid --extra-package '%s': %m", arg);
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL;
                        struct stat fst;

                        if (!is_deb_name(de->d_name))
                                continue;
                        p = path_join(path, de->d_name);
                        if (!p)
                                return log_oom();
                        if (stat(p, &fst) < 0 || !S_ISREG(fst.st_mode))
                                continue;
                        r = extra_deb_checked(arg, p, &debs);
                        if (r < 0)
                                return r;
                }
                if (!debs)
                        return log_error_errno(-ENOENT, "Invalid --extra-package '%s': the directory has no .deb file", arg);
                qsort(debs, strv_length(debs), sizeof(char *), compare_strings);
        } else if (S_ISREG(st.st_mode) && is_deb_name(path)) {
                r = extra_deb_checked(arg, path, &debs);
                if (r < 0)
                        return r;
        } else
                return log_error_errno(-EINVAL, "Invalid --extra-package '%s': not a .deb file or a directory of them", arg);
        *ret_debs = TAKE_PTR(debs);
        return 0;
}

/* sbuild's reduction of the build dependencies for its apt resolver (Build.pm, ResolverBase.pm), run with
 * perl and Dpkg::Deps in the dependency session once build-essential (dpkg-dev) is there. Arguments:
 * debian/control, the host and build architectures, the profiles (comma-separated), whether Architecture:
 * any and Architecture: all packages are built, whether to keep the alternatives, then --add-depends,
 * -arch, -indep, --add-conflicts, -arch, -indep (each joined by ", "). It prints two lines, the merged build
 * dependencies and build conflicts, as sbuild's dummy package has them: the architecture and profile
 * restrictions applied, :native dropped (a native build), and unless told to keep them, of each dependency
 * only its first alternative and those of the same package after it ("foo (>= 2) | foo (<< 1)"), as on a
 * buildd. It says them in the log as sbuild does; a field it cannot parse is an "E: " line there, which
 * buildplan_apt_failure() reports as apt's own. */
static const char build_deps_pl[] =
        "use strict; use warnings; use Dpkg::Control::Info; use Dpkg::Deps;\n"
        "my ($control, $host, $build, $profiles, $any, $all, $keep, @add) = @ARGV;\n"
        "my $src = Dpkg::Control::Info->new($control)->get_source();\n"
        "sub field { my $v = $src->{$_[0]}; return defined $v ? $v : ''; }\n"
        "my @pos = (field('Build-Depends'), $add[0]); my @neg = (field('Build-Conflicts'), $add[3]);\n"
        "push @pos, field('Build-Depends-Arch'), $add[1] if $any; push @neg, field('Build-Conflicts-Arch'), $add[4] if $any;\n"
        "push @pos, field('Build-Depends-Indep'), $add[2] if $all; push @neg, field('Build-Conflicts-Indep'), $add[5] if $all;\n"
        "my %o = (reduce_arch => 1, host_arch => $host, build_arch => $build, build_dep => 1, reduce_profiles => 1,\n"
        "         build_profiles => [ grep { length } split /[ ,]/, $profiles ]);\n"
        "sub merged { return join(', ', grep { defined && /\\S/ } @_); }\n"
        "my $p = deps_parse(merged(@pos), %o);\n"
        "defined $p or die \"E: Cannot parse the build dependencies (debian/control's and --add-depends')\\n\";\n"
        "my $n = deps_parse(merged(@neg), %o, union => 1);\n"
        "defined $n or die \"E: Cannot parse the build conflicts (debian/control's and --add-conflicts')\\n\";\n"
        "my $native = sub { $_[0]->{archqual} = undef if ($_[0]->{archqual} // '') eq 'native'; 1 };\n"
        "deps_iterate($p, $native); deps_iterate($n, $native);\n"
        "print STDERR \"Merged Build-Depends: $p\\n\" if \"$p\"; print STDERR \"Merged Build-Conflicts: $n\\n\" if \"$n\";\n"
        "if (!$keep) {\n"
        "        my $f = Dpkg::Deps::AND->new();\n"
        "        for my $item ($p->get_deps()) {\n"
        "                my @alt = $item->isa('Dpkg::Deps::OR') ? $item->get_deps() : ($item);\n"
        "                my $first = shift @alt; my $or = Dpkg::Deps::OR->new(); $or->add($first);\n"
        "                for my $a (@alt) { last if $a->{package} ne $first->{package}; $or->add($a); }\n"
        "                $f->add($or);\n"
        "        }\n"
        "        print STDERR \"Filtered Build-Depends: $f\\n\" if \"$f\" ne \"$p\";\n"
        "        $p = $f;\n"
        "}\n"
        "print \"$p\\n$n\\n\";\n";

/* The --extra-package words for apt-get install in the dependency session: package names as they are, a
 * .deb as its copy in @dir (bound into the session), "./" paths for apt. "" for none; NULL on OOM. */
static char *extra_install_words(const char *dir) {
        _cleanup_free_ char *out = strdup("");

        for (char **e = arg_extra_packages; out && e && *e; e++) {
                _cleanup_free_ char *copy = NULL;
                char *n;

                if (extra_is_deb(*e))
                        copy = path_join(dir, strrchr(*e, '/') + 1);
                n = strdup_printf("%s%s%s", out, isempty(out) ? "" : " ", copy ?: *e);
                if (!n)
                        return NULL;
                free(out);
                out = n;
        }
        return TAKE_PTR(out);
}

/* The --extra-package part of the dependency layer's key: names, and a .deb's name and SHA-256 (a rebuilt
 * .deb of the same name makes a new layer). Returns 0 and *ret, or a negative errno (logged). */
static int extra_key_text(char **ret) {
        _cleanup_free_ char *out = strdup("");

        if (!out)
                return log_oom();
        for (char **e = arg_extra_packages; e && *e; e++) {
                char hex[SHA256_HEX_SIZE] = "";
                char *n;

                if (extra_is_deb(*e)) {
                        int r = sha256_file(*e, hex);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read --extra-package '%s': %m", *e);
                }
                n = strdup_printf("%s%s%s%s%s", out, isempty(out) ? "" : " ", extra_is_deb(*e) ? strrchr(*e, '/') + 1 : *e,
                                  *hex ? ":" : "", hex);
                if (!n)
                        return log_oom();
                free(out);
                out = n;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* The cache key text of the dependency layer: what the layer depends on (buildplan_key_text()). */
/* The tree a cached layer is made over, for its key: NAME@VERSION and that version's creation time, since a
 * chroot removed and made again starts at version 1 again, with other contents. NULL on OOM. */
static char *tree_identity(const Context *ctx, const ChrootRef *ref) {
        _cleanup_strv_free_ char **info = NULL;
        const char *created = "";

        if (ref->version > 0 && store_version_info(ctx->state_dir, ref->name, ref->version, &info) >= 0)
                for (char **i = info; i[0] && i[1]; i += 2)
                        if (streq(i[0], "created"))
                                created = i[1];
        return strdup_printf("%s@%u created %s", ref->name, ref->version, created);
}

static int deps_key_text(const Context *ctx, Build *b, const ChrootRef *ref, const char *fields, char **ret) {
        _cleanup_free_ char *extra = NULL;
        _cleanup_free_ char *repos =
                arg_extra_repositories ? strv_join(arg_extra_repositories, "\n") : strdup("");
        _cleanup_free_ char *setup = arg_hooks[BUILD_HOOK_CHROOT_SETUP]
                                             ? strv_join(arg_hooks[BUILD_HOOK_CHROOT_SETUP], "\n")
                                             : strdup("");
        _cleanup_free_ char *keys = strdup(""), *tree = tree_identity(ctx, ref);

        int r;

        if (!repos || !setup || !keys || !tree)
                return -ENOMEM;
        r = extra_key_text(&extra);
        if (r < 0)
                return r;
        for (char **k = arg_extra_repository_keys; k && *k; k++) {
                _cleanup_free_ char *text = NULL, *n = NULL;
                char hex[SHA256_HEX_SIZE];

                r = read_file(*k, &text);
                if (r < 0)
                        return log_error_errno(r, "Failed to read --extra-repository-key '%s': %m", *k);
                sha256_hex(text, strlen(text), hex);
                n = strdup_printf("%s%s\n", keys, hex);
                if (!n)
                        return -ENOMEM;
                free(keys);
                keys = TAKE_PTR(n);
        }
        return buildplan_key_text(&b->plan,
                                  &(BuildKeyInputs){ .tree = tree,
                                                     .extra = extra,
                                                     .repositories = repos,
                                                     .keys = keys,
                                                     .setup = setup,
                                                     .fields = fields },
                                  ret);
}

/* The files the dependency session's script installs for --extra-repository and --extra-repository-key,
 * in @dir (bound in the session at the same path). Returns the shell lines that put them in place. */
static int deps_extra_files(const char *dir, char **ret_install) {
        _cleanup_free_ char *list = NULL, *text = NULL, *install = strdup("");
        int r;

        if (!install)
                return log_oom();
        /* --extra-package .deb files, copied where the session sees them (extra_install_words()). */
        for (char **e = arg_extra_packages; e && *e; e++) {
                char *argv[] = { (char *) "cp", *e, (char *) dir, NULL };

                if (!extra_is_deb(*e))
                        continue;
                r = run_program(argv);
                if (r < 0)
                        return log_error_errno(r, "Failed to copy --extra-package '%s'", *e);
        }
        if (arg_extra_repositories) {
                _cleanup_free_ char *lines = strv_join(arg_extra_repositories, "\n");
                list = path_join(dir, "extra.list");
                text = lines ? strdup_printf("%s\n", lines) : NULL;
                if (!list || !text)
                        return log_oom();
                r = write_file_atomic(list, text, 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s': %m", list);
                free(install);
                install = strdup_printf("cp '%s' /etc/apt/sources.list.d/arkose-build-extra.list\n", list);
                if (!install)
                        return log_oom();
        }
        for (size_t i = 0; arg_extra_repository_keys && arg_extra_repository_keys[i]; i++) {
                _cleanup_free_ char *key = NULL, *copy = NULL, *n = NULL;
                bool armored;

                r = read_file(arg_extra_repository_keys[i], &key);
                if (r < 0)
                        return log_error_errno(r, "Failed to read --extra-repository-key '%s': %m",
                                               arg_extra_repository_keys[i]);
                armored = strstr(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----") != NULL;
                copy = strdup_printf("%s/key%zu.%s", dir, i, armored ? "asc" : "gpg");
                if (!copy)
                        return log_oom();
                {
                        char *argv[] = { (char *) "cp", arg_extra_repository_keys[i], copy, NULL };
                        r = run_program(argv);
                        if (r < 0)
                                return log_error_errno(r, "Failed to copy '%s'",
                                                       arg_extra_repository_keys[i]);
                }
                (void) chmod(copy, 0644);
                n = strdup_printf("%scp '%s' /etc/apt/trusted.gpg.d/arkose-build-extra-%zu.%s\n", install,
                                  copy, i, armored ? "asc" : "gpg");
                if (!n)
                        return log_oom();
                free(install);
                install = TAKE_PTR(n);
        }
        *ret_install = TAKE_PTR(install);
        return 0;
}

/* The profile of the dependency session: root with LXC's default capabilities, and a filtered network
 * whose only destination is the proxy's loopback port. */
static int deps_profile(const char *dir, uint16_t port, Profile **ret) {
        _cleanup_free_ char *path = path_join(dir, "build-deps.conf");
        _cleanup_free_ char *text = NULL;
        unsigned line = 0;
        const char *key = NULL;
        int r;

        text = strdup_printf(
                "[profile]\n"
                "description = arkose-chroot build: dependencies, network to the package sources only\n"
                "[network]\n"
                "mode = filtered\n"
                "allow = 127.0.0.1:%u\n"
                "[apparmor]\n"
                "mode = auto\n"
                "inet = yes\n",
                port);
        if (!path || !text)
                return log_oom();
        r = write_file_atomic(path, text, 0644);
        if (r >= 0)
                r = profile_parse_file(path, "build-deps", ret, &line, &key);
        if (r < 0)
                return log_error_errno(r, "%s:%u: Failed to make the dependency session's profile: %m", path,
                                       line);
        return 0;
}

/* Starts the package-source proxy for the hosts @allowed, logging to @aux/proxy.log, and makes the profile of a
 * session that reaches it only (in @aux). Logs one line on failure. */
static int layer_proxy_start(const char *aux, char **allowed, Proxy **ret_proxy, Profile **ret_profile) {
        _cleanup_free_ char *proxy_log = path_join(aux, "proxy.log");
        _cleanup_(proxy_stopp) Proxy *proxy = NULL;
        int r;

        if (!proxy_log)
                return log_oom();
        r = proxy_start(allowed, proxy_log, &proxy);
        if (r >= 0)
                r = deps_profile(aux, proxy_port(proxy), ret_profile);
        if (r < 0)
                return r;
        *ret_proxy = TAKE_PTR(proxy);
        return 0;
}

/* Runs the dependency session: over the tree with @upper as its writable layer, --chroot-setup-commands
 * then apt through the proxy at @port. */
static int deps_session(Context *ctx, Build *b, const ChrootRef *ref, const char *upper, const char *work,
                        const Profile *profile, char **binds, const char *prelude, const char *script,
                        const char *log) {
        _cleanup_(session_freep) Session *session = NULL;
        HookVars v = { .arch = buildplan_host_arch(&b->plan),
                       .build_arch = b->arch,
                       .build_dir = b->build,
                       .pkgbuild_dir = b->src,
                       .dsc = b->dsc };
        int status = 0, r;

        SessionPlan plan = layer_session_plan(ctx, ref, ref->lowers, upper, work, CONTAINER_NETWORK_NONE, binds);
        plan.profile = profile;
        plan.apparmor_template = ctx->apparmor_template;
        r = session_create(&plan, &session);
        if (r < 0)
                return r;
        b->stage = build_hook_table[BUILD_HOOK_CHROOT_SETUP];
        r = build_session_hooks(session, b, BUILD_HOOK_CHROOT_SETUP, &v, b->build, log, prelude, true);
        if (r >= 0) {
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) script, NULL };
                AttachPlan attach = { .argv = argv, .shell = "/bin/sh", .cwd = "/", .env = root_env };
                b->stage = "dependencies";
                r = session_run(session, &attach, signals_forward_child, &status);
                if (r >= 0 && status != 0) {
                        _cleanup_free_ char *text = NULL, *why = NULL;

                        if (read_file(log, &text) >= 0)
                                (void) buildplan_apt_failure(text, &why); /* on OOM, "see the log" */
                        b->status = status;
                        r = log_error_errno(-EPROTO, "Build failed at stage 'dependencies' (status %d): %s; log: '%s'",
                                            status, why ?: "see the log", b->log);
                        /* Said first; then the failure hooks, in the session as apt left it, the proxy still
                         * there (@prelude). The build failed at 'dependencies' whatever they do. */
                        if (signals_pending() == 0)
                                (void) build_session_hooks(session, b, BUILD_HOOK_BUILD_DEPS_FAILED, &v, b->build,
                                                           log, prelude, false);
                }
        }
        if (session_end(session) < 0 && r >= 0)
                r = -EIO;
        return r;
}

/* The shell words of @argv (buildplan_shell_join()), "" for NULL; NULL on OOM. */
static char *shell_words(char **argv) {
        return argv ? buildplan_shell_join(argv) : strdup("");
}

/* Prepares the making of a cached layer in @dir: the build's own apt archives directory @archives (with
 * partial/), filled with hard links from the shared @cache, so that no two builds share apt's lock on it;
 * then a staging directory in @dir with upper/ and work/. On failure, logs one line and leaves no staging
 * directory. */
static int layer_staging_prepare(const char *cache, const char *archives, const char *dir, char **ret_staging,
                                 char **ret_upper, char **ret_work) {
        _cleanup_free_ char *partial = path_join(archives, "partial"), *staging = NULL, *upper = NULL, *work = NULL;
        int r;

        r = partial ? mkdir_p(partial, 0755) : -ENOMEM;
        if (r >= 0)
                r = mkdir_p(cache, 0755);
        if (r >= 0)
                r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create '%s': %m", dir);
        link_debs(cache, archives);
        staging = path_join(dir, ".staging-XXXXXX");
        if (!staging || !mkdtemp(staging))
                return log_error_errno(staging ? -errno : -ENOMEM, "Failed to create a staging directory: %m");
        (void) chmod(staging, 0755);
        upper = path_join(staging, "upper");
        work = path_join(staging, "work");
        if (!upper || !work || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
                r = log_error_errno(upper && work ? -errno : -ENOMEM, "Failed to create '%s': %m", staging);
                (void) rm_rf(staging);
                return r;
        }
        *ret_staging = TAKE_PTR(staging);
        *ret_upper = TAKE_PTR(upper);
        *ret_work = TAKE_PTR(work);
        return 0;
}

/* Shell code that sets $proxy to the package-source proxy at the session's gateway (the host end of its
 * link) and @port, and exports it as $http_proxy and $https_proxy. NULL on OOM. */
static char *proxy_prelude(uint16_t port) {
        return strdup_printf("gw=$(awk '$2 == \"00000000\" { print $3 }' /proc/net/route | head -n 1)\n"
                             "set -- $(echo \"$gw\" | sed 's/../& /g')\n"
                             "proxy=http://$(printf '%%d.%%d.%%d.%%d' 0x$4 0x$3 0x$2 0x$1):%u/\n"
                             "set --\n"
                             "export http_proxy=$proxy https_proxy=$proxy\n",
                             port);
}

/* The dependency session's shell code: *ret_prelude finds the proxy (at the session's gateway, the host
 * end of its link, @port) for apt and, as $http_proxy, for the --chroot-setup-commands; *ret_script
 * installs build-essential as sbuild does and the build dependencies, with the tree's package lists when
 * they suffice (never with extra repositories, whose lists it lacks, nor for a cross build, which adds
 * an architecture first: buildplan.h), output appended to @log. */
static int deps_scripts(Build *b, uint16_t port, const char *log, const char *archives, const char *install,
                        const char *aux, char **ret_prelude, char **ret_script) {
        _cleanup_free_ char *extra = extra_install_words(aux);
        _cleanup_free_ char *prelude = NULL, *setup = NULL, *core = NULL, *builddep = NULL, *add = NULL;
        _cleanup_strv_free_ char **setup_argv = NULL, **core_argv = NULL, **builddep_argv = NULL, **add_argv = NULL;
        bool cross = buildplan_is_cross(&b->plan);

        if (buildplan_deps_setup_argv(&b->plan, &setup_argv) < 0 ||
            buildplan_core_deps_argv(&b->plan, &core_argv) < 0 ||
            buildplan_build_dep_argv(&b->plan, b->src, &builddep_argv) < 0 ||
            buildplan_add_deps_argv(&b->plan, &add_argv) < 0)
                return log_oom();
        setup = shell_words(setup_argv);
        core = shell_words(core_argv);
        builddep = shell_words(builddep_argv);
        {
                _cleanup_free_ char *words = add_argv ? shell_words(add_argv) : NULL;

                /* --add-depends and --add-conflicts, after the build dependencies as in sbuild's dummy. */
                add = !add_argv ? strdup("") : words ? strdup_printf(" && apt-get $opts %s", words) : NULL;
        }
        if (builddep && buildplan_deps_dummy(&b->plan)) {
                /* As sbuild's apt resolver: a dummy package depending on the reduced build dependencies. */
                _cleanup_free_ char *pl = path_join(aux, "build-deps.pl"), *control = path_join(b->src, "debian/control");
                _cleanup_free_ char *dummy = path_join(aux, "dummy"), *words = NULL;
                _cleanup_strv_free_ char **a = NULL; /* the --add-* lists, each joined */
                char **lists[] = { b->plan.add_depends,   b->plan.add_depends_arch,   b->plan.add_depends_indep,
                                   b->plan.add_conflicts, b->plan.add_conflicts_arch, b->plan.add_conflicts_indep };
                int r;

                if (!pl || !control || !dummy)
                        return log_oom();
                for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
                        _cleanup_free_ char *joined = lists[i] ? strv_join(lists[i], ", ") : strdup("");

                        if (!joined || strv_extend(&a, joined) < 0)
                                return log_oom();
                }
                r = write_file_atomic(pl, build_deps_pl, 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s': %m", pl);
                {
                        char *argv[] = { (char *) "perl", pl, control, (char *) buildplan_host_arch(&b->plan), b->arch,
                                         (char *) (buildplan_profiles(&b->plan) ?: ""),
                                         (char *) (b->plan.no_arch_any ? "0" : "1"),
                                         (char *) (buildplan_builds_arch_all(&b->plan) ? "1" : "0"),
                                         (char *) (b->plan.resolve_alternatives ? "1" : "0"),
                                         a[0], a[1], a[2], a[3], a[4], a[5], NULL };
                        words = buildplan_shell_join(argv);
                }
                free(builddep);
                builddep = words ? strdup_printf(
                        "{ %s > '%s.out' && { IFS= read -r pos; IFS= read -r neg; } < '%s.out' && "
                        "mkdir -p '%s/DEBIAN' && "
                        "{ echo 'Package: " BUILDPLAN_DEPS_DUMMY "'; echo 'Version: 0.invalid.0'; echo 'Architecture: all'; "
                        "echo 'Maintainer: arkose-chroot <arkose-chroot@localhost>'; "
                        "[ -z \"$pos\" ] || echo \"Depends: $pos\"; [ -z \"$neg\" ] || echo \"Conflicts: $neg\"; "
                        "echo 'Description: the build dependencies, as sbuild'\\''s dummy package has them'; "
                        "} > '%s/DEBIAN/control' && dpkg-deb --build '%s' '%s.deb' > /dev/null && "
                        "apt-get $opts install '%s.deb'; }",
                        words, pl, pl, dummy, dummy, dummy, dummy, dummy) : NULL;
                free(add);
                add = strdup(""); /* in the dummy */
        } else if (builddep) {
                char *n = strdup_printf("apt-get $opts %s", builddep);

                free(builddep);
                builddep = n;
        }
        prelude = proxy_prelude(port);
        if (!extra || !prelude || !setup || !core || !builddep || !add)
                return log_oom();
        *ret_script =
                strdup_printf("exec >> '%s' 2>&1\n"
                              "%s"
                              "echo \"--- dependencies: package sources through the host's proxy $proxy\"\n"
                              "opts=\"-y -o Dir::Cache::Archives=%s/ -o APT::Keep-Downloaded-Packages=true "
                              "-o Dpkg::Options::=--force-unsafe-io -o APT::Install-Recommends=false "
                              "-o Acquire::http::Proxy=$proxy -o Acquire::https::Proxy=$proxy\"\n"
                              "%s"
                              "setup() { %s; }\n"
                              "deps() { apt-get $opts %s && %s%s &&"
                              " { [ -z '%s' ] || apt-get $opts install %s; }; }\n"
                              "setup && { { [ %d = 0 ] && deps; } || { apt-get $opts update && deps; }; }\n"
                              "rc=$?\n"
                              "rm -f /etc/apt/sources.list.d/arkose-build-extra.list "
                              "/etc/apt/trusted.gpg.d/arkose-build-extra-*\n"
                              "exit $rc\n",
                              log, prelude, archives, install, cross ? setup : ":", core, builddep, add, extra,
                              extra, arg_extra_repositories || cross ? 1 : 0);
        if (!*ret_script)
                return log_oom();
        *ret_prelude = TAKE_PTR(prelude);
        return 0;
}

/* Removes from the layer @upper the empty directories the session made as mount points for @binds (host
 * paths bound at the same path), up to the first that is not empty: they are no part of the dependencies. */
static void remove_mount_points(const char *upper, char *const *binds) {
        size_t n = strlen(upper);

        for (char *const *p = binds; p && *p; p++) {
                _cleanup_free_ char *d = path_join(upper, *p);
                char *slash;

                while (d && strlen(d) > n && rmdir(d) >= 0 && (slash = strrchr(d, '/')))
                        *slash = '\0';
        }
}

static int build_dependencies(Context *ctx, Build *b, const ChrootRef *ref) {
        _cleanup_free_ char *cache = path_join(ctx->state_dir, "cache", "apt", "archives");
        _cleanup_free_ char *depsdir = path_join(ctx->state_dir, "cache", "deps");
        _cleanup_free_ char *aux = path_join(b->dir, "deps");
        _cleanup_free_ char *archives = path_join(b->dir, "deps", "archives");
        _cleanup_free_ char *fields = NULL, *keytext = NULL, *final = NULL, *staging = NULL, *install = NULL;
        _cleanup_free_ char *upper = NULL, *work = NULL, *script = NULL;
        _cleanup_free_ char *log = NULL, *prelude = NULL;
        _cleanup_strv_free_ char **allowed = NULL, **binds = NULL;
        _cleanup_(proxy_stopp) Proxy *proxy = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        char key[SHA256_HEX_SIZE];
        int r;

        if (!cache || !depsdir || !aux || !archives)
                return log_oom();
        b->stage = "dependencies";
        r = build_dep_fields(b->src, &fields);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'dependencies': cannot read debian/control: %m");
        r = deps_key_text(ctx, b, ref, fields, &keytext);
        if (r < 0)
                return r == -ENOMEM ? log_oom() : r;
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

        r = layer_staging_prepare(cache, archives, depsdir, &staging, &upper, &work);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *keyfile = path_join(staging, "key");
                if (keyfile)
                        (void) write_file_atomic(keyfile, keytext, 0644);
        }

        r = deps_sources(ref, &allowed, &binds);
        if (r >= 0)
                r = deps_extra_files(aux, &install);
        if (r < 0)
                goto finish;
        log = path_join(b->build, "deps.log");
        if (!log || strv_extend(&binds, b->build) < 0 || strv_extend(&binds, aux) < 0) {
                r = log_oom();
                goto finish;
        }
        r = layer_proxy_start(aux, allowed, &proxy, &profile);
        if (r < 0)
                goto finish;

        r = deps_scripts(b, proxy_port(proxy), log, archives, install, aux, &prelude, &script);
        if (r < 0)
                goto finish;
        {
                _cleanup_free_ char *list = strv_join(allowed, " ");
                printf("Installing the build dependencies of %s %s in '%s@%u', network to %s only\n",
                       b->source, b->version, ref->name, ref->version, isempty(list) ? "(none)" : list);
                fflush(stdout);
        }
        r = deps_session(ctx, b, ref, upper, work, profile, binds, prelude, script, log);
        /* The .debs this build downloaded, for the next builds (also after a failure). */
        link_debs(archives, cache);
        remove_mount_points(upper, binds);
        if (r >= 0)
                r = rm_rf(work);
        /* Publish the layer for later builds; a concurrent build may have published the same one. */
        if (r >= 0 && rename(staging, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
                r = log_error_errno(-errno, "Failed to publish '%s': %m", final);
finish:
        if (access(staging, F_OK) >= 0)
                (void) rm_rf(staging);
        return r;
}

/* The build's .changes: not the NAME_source.changes of --source-only-changes, unless it is the only one
 * (a build of the source package alone). */
static char *find_changes(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ char *source_only = NULL;
        struct dirent *de;

        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (n > 15 && streq(de->d_name + n - 15, "_source.changes")) {
                        if (!source_only)
                                source_only = strdup(de->d_name);
                } else if (n > 8 && streq(de->d_name + n - 8, ".changes"))
                        return strdup(de->d_name);
        }
        return TAKE_PTR(source_only);
}

/* --source-only-changes' file, sbuild's PKG_VERSION_source.changes (no epoch). NULL on OOM. */
static char *source_only_changes_name(const Build *b) {
        const char *colon = strchr(b->version, ':');

        return strdup_printf("%s_%s_source.changes", b->source, colon ? colon + 1 : b->version);
}

/* The CPUs this process may run on (as nproc counts them): the default of parallel=, as
 * dpkg-buildpackage -J auto would have it. */
static unsigned cpus_usable(void) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return 1;
        return (unsigned) CPU_COUNT(&set);
}

/* The build command's environment: DEB_BUILD_OPTIONS and the cross build's additions (buildplan.h).
 * Returns 0 or -ENOMEM. */
static int build_user_env(const Build *b, const UserInfo *u, char ***env) {
        _cleanup_free_ char *options = NULL;
        _cleanup_strv_free_ char **more = NULL;
        const char *caller = getenv("DEB_BUILD_OPTIONS");

        if (buildplan_deb_build_options(&b->plan, caller, arg_jobs, cpus_usable(), &options) < 0 ||
            buildplan_build_env(&b->plan, &more) < 0)
                return -ENOMEM;
        if (strv_extendf(env, "PATH=/usr/local/bin:/usr/bin:/bin") < 0 ||
            strv_extendf(env, "HOME=/build") < 0 || strv_extendf(env, "USER=%s", u->name) < 0 ||
            strv_extendf(env, "LOGNAME=%s", u->name) < 0 || strv_extendf(env, "LANG=C.UTF-8") < 0 ||
            strv_extendf(env, "SOURCE_DATE_EPOCH=%s", b->timestamp) < 0 ||
            strv_extendf(env, "DEB_BUILD_OPTIONS=%s", options) < 0 || strv_extend_strv(env, more) < 0)
                return -ENOMEM;
        return 0;
}

/* build.log, which the build user appends to, and root hooks too. */
static int build_log_create(const Build *b, const UserInfo *u) {
        _cleanup_free_ char *log = path_join(b->build, "build.log");
        _cleanup_close_ int fd = -EBADF;

        if (!log)
                return log_oom();
        fd = open(log, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || fchown(fd, u->uid, u->gid) < 0)
                return log_error_errno(-errno, "Failed to create the build log '%s': %m", log);
        return 0;
}

/* Stage "build": the build session's whole life in order (profile, session, starting hooks, build, the
 * hooks for its outcome, end or keep), one function so that each exit path ends or keeps the session. */
static int build_run(Context *ctx, Build *b, const ChrootRef *ref, const UserInfo *u) {
        _cleanup_(session_freep) Session *session = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        _cleanup_strv_free_ char **lowers = NULL, **env = NULL, **profile_binds = NULL, **dpkg = NULL;
        _cleanup_free_ char *bind = NULL, *cmd = NULL, *status_path = NULL, *status_text = NULL,
                            *changes = NULL, *words = NULL, *soc = NULL, *soc_step = NULL;
        _cleanup_free_ char *log = path_join(session_dir(), "build.log");
        HookVars v = { .arch = buildplan_host_arch(&b->plan),
                       .build_arch = b->arch,
                       .build_dir = session_dir(),
                       .pkgbuild_dir = session_src() };
        bool detached;
        int status = 0, r;

        if (strv_extend(&lowers, b->deps_layer) < 0 || strv_extend_strv(&lowers, ref->lowers) < 0)
                return log_oom();
        r = context_find_profile(ctx, "buildd", &profile);
        if (r < 0)
                return r;
        profile->network = PROFILE_NETWORK_NONE;
        bind = strdup_printf("%s:%s:rw", b->build, session_dir());
        if (!log || !bind || profile_add_bind(profile, bind) < 0 || strv_extend(&profile_binds, bind) < 0)
                return log_oom();
        if (buildplan_dpkg_buildpackage_argv(&b->plan, &dpkg) < 0 || !(words = buildplan_shell_join(dpkg)))
                return log_oom();
        if (arg_source_only_changes) {
                /* sbuild's: dpkg-genchanges --build=source after a successful build, as the build's user; its
                 * status apart. */
                _cleanup_free_ char *so = source_only_changes_name(b), *out_opt = so ? strdup_printf("-O../%s", so) : NULL;
                char *gen[] = { (char *) "dpkg-genchanges", (char *) "--build=source", out_opt, NULL };

                soc = out_opt ? buildplan_shell_join(gen) : NULL;
                if (!soc)
                        return log_oom();
                soc_step = strdup_printf("if [ \"$(cat %s/.status)\" = 0 ]; then echo --- source-only-changes: %s; "
                                         "%s; echo $? > %s/.soc-status; fi; ", session_dir(), soc, soc, session_dir());
                if (!soc_step)
                        return log_oom();
        }
        /* The command and DEB_BUILD_OPTIONS head the stage's log, as in sbuild's. */
        cmd = strdup_printf("{ echo Command: %s; echo \"DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS\"; %s; "
                            "echo $? > %s/.status; %s} 2>&1 | tee -a %s",
                            words, words, session_dir(), soc_step ?: "", log);
        if (!cmd)
                return log_oom();
        if (build_user_env(b, u, &env) < 0)
                return log_oom();

        /* A one-shot session's container runs one command (container.h); hooks in the session need a
         * detached one, as does --keep-session. Its mounts live in the host's namespace. */
        detached = arg_purge != BUILD_PURGE_ALWAYS || arg_hooks[BUILD_HOOK_STARTING_BUILD] ||
                   arg_hooks[BUILD_HOOK_FINISHED_BUILD] || arg_hooks[BUILD_HOOK_BUILD_FAILED] ||
                   arg_hooks[BUILD_HOOK_CHROOT_CLEANUP];
        if (!detached) {
                r = session_mount_namespace(ctx);
                if (r < 0)
                        return r;
        }
        SessionPlan plan = {
                .state_dir = ctx->state_dir,
                .detached = detached,
                .chroot = ref->name,
                .version = ref->version_str,
                .personality = chroot_ref_personality(ref),
                .lowers = lowers,
                .network = CONTAINER_NETWORK_NONE,
                .cwd = "/",
                .user = u->name,
                .uid = u->uid,
                .gid = u->gid,
                .home = session_dir(),
                .shell = "/bin/sh",
                .groups = u->groups_str,
                .hook_dirs = ctx->hook_dirs,
                .hook_timeout = ctx->config.hook_timeout,
                .profile = profile,
                .profile_binds = profile_binds,
                .apparmor_template = ctx->apparmor_template,
        };
        r = build_log_create(b, u);
        if (r < 0)
                return r;
        b->stage = "build";
        if (buildplan_is_cross(&b->plan))
                printf("Cross-building %s %s for %s in '%s@%u' (%s) as '%s', network off\n", b->source,
                       b->version, buildplan_host_arch(&b->plan), ref->name, ref->version, b->arch, u->name);
        else
                printf("Building %s %s in '%s@%u' as '%s', network off\n", b->source, b->version, ref->name,
                       ref->version, u->name);
        fflush(stdout);
        r = session_create(&plan, &session);
        if (r < 0)
                return r;
        v.session = session_id(session);
        if (detached) {
                /* A detached session outlives a killed build: while it is there, so is the directory. */
                _cleanup_free_ char *mark = path_join(b->dir, "session");

                r = mark ? write_file_atomic(mark, session_id(session), 0644) : -ENOMEM;
                if (r < 0) {
                        (void) session_end(session);
                        return log_error_errno(r, "Failed to write '%s/session': %m", b->dir);
                }
        }
        b->stage = build_hook_table[BUILD_HOOK_STARTING_BUILD];
        r = build_session_hooks(session, b, BUILD_HOOK_STARTING_BUILD, &v, session_dir(), log, NULL, true);
        if (r >= 0) {
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", cmd, NULL };
                AttachPlan attach = {
                        .argv = argv,
                        .cwd = session_src(),
                        .uid = u->uid,
                        .gid = u->gid,
                        .groups = u->groups,
                        .n_groups = u->n_groups,
                        .env = env,
                        .no_new_privs = u->uid != 0,
                };
                b->stage = "build";
                r = session_run(session, &attach, signals_forward_child, &status);
        }
        if (r >= 0) {
                status_path = path_join(b->build, ".status");
                if (!status_path || read_file(status_path, &status_text) < 0)
                        r = log_error_errno(
                                -EPROTO, "Build failed at stage 'build': no exit status (see %s/build.log)",
                                b->build);
                else
                        b->status = atoi(status_text);
        }
        if (r >= 0 && b->status == 0 && soc) {
                _cleanup_free_ char *p = path_join(b->build, ".soc-status"), *t = NULL;

                if (!p || read_file(p, &t) < 0 || atoi(t) != 0) {
                        b->stage = "source-only-changes";
                        r = log_error_errno(-EPROTO, "Build failed at stage 'source-only-changes': %s failed; log: '%s'",
                                            soc, b->log);
                }
        }
        if (r >= 0 && b->status != 0) {
                /* Said first: the failure hooks run (a shell there is the user's), but the build failed at
                 * stage 'build' whatever they do. */
                r = log_error_errno(-EPROTO,
                                    "Build failed at stage 'build' (dpkg-buildpackage exited with status %d); log: '%s'",
                                    b->status, b->log);
                if (signals_pending() == 0)
                        (void) build_session_hooks(session, b, BUILD_HOOK_BUILD_FAILED, &v, session_dir(),
                                                   log, NULL, false);
        } else if (r >= 0) {
                _cleanup_free_ char *name = find_changes(b->build);
                changes = name ? path_join(session_dir(), name) : NULL;
                v.changes = changes;
                r = build_session_hooks(session, b, BUILD_HOOK_FINISHED_BUILD, &v, session_dir(), log,
                                        NULL, true);
        }
        /* sbuild's cleanup commands, whatever the build did (not after ^C); a failing one fails a build that
         * had not failed. */
        if (signals_pending() == 0) {
                int k = build_session_hooks(session, b, BUILD_HOOK_CHROOT_CLEANUP, &v, session_dir(), log,
                                            NULL, r >= 0);
                if (r >= 0)
                        r = k;
        }
        if (arg_purge == BUILD_PURGE_NEVER || (arg_purge == BUILD_PURGE_SUCCESSFUL && r < 0)) {
                b->kept_session = strdup(session_id(session));
                session = session_leave(session);
                return b->kept_session ? r : log_oom();
        }
        {
                int k = session_end(session);
                return r < 0 ? r : k;
        }
}

/* The build log's names in @out, as sbuild's (Build.pm, open_build_log()): PKG_VERSION_ARCH-DATE.build,
 * the version without its epoch, ARCH the host architecture, DATE the build's start in UTC; and the
 * symlink PKG_VERSION_ARCH.build to it, so an earlier log stays. */
static int build_log_paths(Build *b, const char *out, time_t started) {
        const char *colon = strchr(b->version, ':');
        _cleanup_free_ char *name = strdup_printf("%s_%s_%s", b->source, colon ? colon + 1 : b->version,
                                                  buildplan_host_arch(&b->plan));
        char date[32];
        struct tm tm;

        if (!name || !gmtime_r(&started, &tm) || strftime(date, sizeof date, "%FT%TZ", &tm) == 0)
                return log_oom();
        b->log = strdup_printf("%s/%s.build", out, name);
        b->log_file = strdup_printf("%s/%s-%s.build", out, name, date);
        return b->log && b->log_file ? 0 : log_oom();
}

/* The results: the .changes and the files it names (sbuild copies the same), those that are regular files in
 * b->build. A failed build has no .changes, hence no results: no .orig tarball that dpkg-source -x put beside
 * the source, no .deb of half a build. */
static int build_results(Build *b) {
        _cleanup_free_ char *name = find_changes(b->build), *path = NULL, *text = NULL;
        _cleanup_strv_free_ char **listed = NULL;
        int r;

        if (!name)
                return 0;
        path = path_join(b->build, name);
        if (!path)
                return log_oom();
        r = read_file(path, &text);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s': %m", path);
        if (buildplan_changes_files(text, &listed) < 0 || strv_extend(&b->files, name) < 0)
                return log_oom();
        if (arg_source_only_changes) {
                _cleanup_free_ char *so = source_only_changes_name(b), *so_path = so ? path_join(b->build, so) : NULL;

                if (!so_path)
                        return log_oom();
                if (access(so_path, F_OK) >= 0 && !strv_contains(b->files, so) && strv_extend(&b->files, so) < 0)
                        return log_oom();
        }
        for (char **f = listed; f && *f; f++) {
                _cleanup_free_ char *p = path_join(b->build, *f);
                struct stat st;

                if (!p)
                        return log_oom();
                if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) || strv_contains(b->files, *f))
                        continue;
                if (strv_extend(&b->files, *f) < 0)
                        return log_oom();
        }
        strv_sort(b->files);
        return 0;
}

/* The log's last lines, as sbuild's summary: Status "successful", "attempted" (the build stage failed) or
 * "failed" (an earlier one), Fail-Stage. */
static char *build_summary(const Build *b, const ChrootRef *ref, int r, time_t started) {
        return strdup_printf("=== summary ===\nPackage: %s\nVersion: %s\nChroot: %s@%u\nBuild Architecture: %s\n"
                             "Host Architecture: %s\nBuild-Time: %lld\n%s%s%s%s%s%s%s%s%sStatus: %s\n",
                             b->source, b->version, ref->name ?: "", ref->version, b->arch ?: "",
                             buildplan_host_arch(&b->plan) ?: "", (long long) (time(NULL) - started),
                             b->lintian ? "Lintian: " : "", b->lintian ?: "", b->lintian ? "\n" : "",
                             b->autopkgtest ? "Autopkgtest: " : "", b->autopkgtest ?: "", b->autopkgtest ? "\n" : "",
                             r < 0 ? "Fail-Stage: " : "", r < 0 ? b->stage ?: "setup" : "", r < 0 ? "\n" : "",
                             r >= 0 ? "successful" : (b->stage && streq(b->stage, "build")) ? "attempted" : "failed");
}

/* Copies the results and the log (ending with @summary) to @out, owned by @u. */
static int build_collect(Build *b, const char *out, const UserInfo *u, const char *summary) {
        int r;

        r = build_results(b);
        if (r < 0)
                return r;
        if (!b->log)
                return 0; /* no log: the build stopped before its name was known */
        {
                _cleanup_free_ char *deps = path_join(b->build, "deps.log");
                _cleanup_free_ char *build = path_join(b->build, "build.log");
                _cleanup_free_ char *proxy = path_join(b->dir, "deps", "proxy.log");
                _cleanup_free_ char *lintian = path_join(b->build, "lintian.log");
                _cleanup_free_ char *autopkgtest = path_join(b->build, "autopkgtest.log");
                _cleanup_free_ char *a = NULL, *c = NULL, *p = NULL, *l = NULL, *t = NULL, *text = NULL;

                (void) read_file(deps, &a);
                (void) read_file(build, &c);
                (void) read_file(proxy, &p);
                (void) read_file(lintian, &l);
                (void) read_file(autopkgtest, &t);
                text = strdup_printf("=== stage: dependencies ===\n%s%s%s\n=== stage: build ===\n%s\n%s%s%s%s%s%s%s",
                                     a ?: "", p ? "=== the package source proxy's decisions ===\n" : "",
                                     p ?: "", c ?: "", l ? "=== stage: lintian ===\n" : "", l ?: "", l ? "\n" : "",
                                     t ? "=== stage: autopkgtest ===\n" : "", t ?: "", t ? "\n" : "", summary ?: "");
                if (!text)
                        return log_oom();
                r = write_file_atomic(b->log_file, text, 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s': %m", b->log_file);
                (void) chown(b->log_file, u->uid, u->gid);
                r = symlink_replace(strrchr(b->log_file, '/') + 1, b->log);
                if (r < 0)
                        return log_error_errno(r, "Failed to link '%s' to '%s': %m", b->log, b->log_file);
                (void) lchown(b->log, u->uid, u->gid);
        }
        for (char **f = b->files; f && *f; f++) {
                _cleanup_free_ char *from = path_join(b->build, *f);
                /* --remove-destination: a file of that name in the output is replaced, never written
                 * through (it may be a symlink). */
                char *argv[] = { (char *) "cp", (char *) "--no-preserve=ownership", (char *) "--remove-destination",
                                 from, (char *) out, NULL };
                _cleanup_free_ char *to = path_join(out, *f);

                if (!from || !to)
                        return log_oom();
                r = run_program(argv);
                if (r < 0)
                        return log_error_errno(r, "Failed to copy '%s' to '%s'", *f, out);
                (void) lchown(to, u->uid, u->gid);
        }
        return 0;
}

static void json_add_string(json_object *o, const char *key, const char *value) {
        (void) json_object_object_add(o, key, json_object_new_string(value ?: ""));
}

/* The --json summary, one line, its strings escaped by json-c (a path may hold '"' or '\\'). */
static void build_print_json(const Build *b, const ChrootRef *ref, const char *out, int r) {
        json_object *o = json_object_new_object(), *files = json_object_new_array();

        if (!o || !files) {
                json_object_put(o);
                json_object_put(files);
                (void) log_oom();
                return;
        }
        json_add_string(o, "source", b->source);
        json_add_string(o, "version", b->version);
        json_add_string(o, "chroot", ref->name);
        (void) json_object_object_add(o, "chroot_version", json_object_new_int64(ref->version));
        json_add_string(o, "arch", b->arch);
        json_add_string(o, "result", r < 0 ? "failed" : "ok");
        json_add_string(o, "stage", r < 0 ? (b->stage ?: "setup") : "done");
        (void) json_object_object_add(o, "exit_status", json_object_new_int(b->status));
        json_add_string(o, "output", out);
        json_add_string(o, "log", b->log);
        json_add_string(o, "host_arch", buildplan_host_arch(&b->plan) ?: arg_host);
        if (b->lintian)
                json_add_string(o, "lintian", b->lintian);
        if (b->autopkgtest)
                json_add_string(o, "autopkgtest", b->autopkgtest);
        if (b->kept_session) {
                json_add_string(o, "session", b->kept_session);
                json_add_string(o, "build_dir", b->build);
        }
        for (char **f = b->files; f && *f; f++)
                (void) json_object_array_add(files, json_object_new_string(*f));
        (void) json_object_object_add(o, "files", files);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static int host_arch(char **ret) {
        char *argv[] = { (char *) "dpkg", (char *) "--print-architecture", NULL };
        return capture(argv, ret);
}

/* The chroot to build in: @spec ("NAME" or "NAME@VERSION"), or with --arch A whose architecture is not
 * NAME's, "NAME-A" (sbuild's DIST-ARCH) when that is a chroot for A. Sets b->arch. Logs one line. */
static int build_pick_chroot(Context *ctx, Build *b, const char *spec, ChrootRef *ret) {
        _cleanup_free_ char *host = NULL, *name = NULL, *other = NULL, *other_spec = NULL;
        _cleanup_(chroot_def_freep) ChrootDef *def = NULL, *def_other = NULL;
        const char *at = strchr(spec, '@');
        int r;

        r = host_arch(&host);
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to get the host's architecture (dpkg --print-architecture)");
        name = at ? strndup(spec, (size_t) (at - spec)) : strdup(spec);
        if (!name)
                return log_oom();
        if (chroot_def_find(ctx->def_dirs, name, &def, NULL, NULL, NULL) < 0)
                def = NULL;
        b->arch = strdup(def && def->architecture ? def->architecture : host);
        if (!b->arch)
                return log_oom();
        if (!arg_arch || streq(arg_arch, b->arch)) {
                r = context_resolve(ctx, spec, true, ret);
                return r < 0 ? r : chroot_ref_check_runnable(ret);
        }

        other = strdup_printf("%s-%s", def ? def->name : name, arg_arch);
        other_spec = other ? strdup_printf("%s%s", other, at ?: "") : NULL;
        if (!other_spec)
                return log_oom();
        if (chroot_def_find(ctx->def_dirs, other, &def_other, NULL, NULL, NULL) < 0 ||
            !streq(def_other->architecture ?: host, arg_arch))
                return log_error_errno(
                        -ENOENT, "No chroot for architecture '%s': '%s' is %s, and '%s' is %s", arg_arch,
                        name, b->arch, other, def_other ? "not for it" : "no chroot");
        free(b->arch);
        b->arch = strdup(arg_arch);
        if (!b->arch)
                return log_oom();
        r = context_resolve(ctx, other_spec, true, ret);
        return r < 0 ? r : chroot_ref_check_runnable(ret);
}

/* Checks that --host is an architecture dpkg knows (dpkg-architecture, on the host). Logs one line. */
static int check_host_arch(void) {
        _cleanup_free_ char *known = NULL;
        char *argv[] = { (char *) "dpkg-architecture", (char *) "-a", arg_host, (char *) "-qDEB_HOST_ARCH",
                         NULL };

        if (!arg_host)
                return 0;
        if (capture_full(argv, true, &known) < 0 || !streq(known, arg_host))
                return log_error_errno(
                        -EINVAL,
                        "Invalid --host '%s': not an architecture dpkg knows (dpkg-architecture -L)",
                        arg_host);
        return 0;
}

/* A build of a source with no package for the host architecture (cross, or a package of other
 * architectures), or only Architecture: all ones where none are built (a binNMU, --no-arch-all), would fail
 * only at its end (dpkg-buildpackage finds nothing to build, after the dependencies are installed): sbuild's
 * arch-check stage says so first. Wildcards (linux-any, any-arm64) are dpkg-architecture's to match. */
static int build_check_arch(Build *b) {
        _cleanup_free_ char *control = path_join(b->src, "debian/control"), *text = NULL, *list = NULL;
        _cleanup_strv_free_ char **archs = NULL;
        const char *host = buildplan_host_arch(&b->plan);
        bool all_built = buildplan_builds_arch_all(&b->plan);
        int r;

        if (!control)
                return log_oom();
        r = read_file(control, &text);
        if (r >= 0)
                r = buildplan_control_archs(text, &archs);
        if (r < 0)
                return log_error_errno(r, "Failed to read the architectures of '%s': %m", control);
        for (char **a = archs; *a; a++) {
                if (streq(*a, "any") || streq(*a, host) || (streq(*a, "all") && all_built))
                        return 0;
        }
        for (char **a = archs; *a; a++) {
                char *argv[] = { (char *) "dpkg-architecture", (char *) "-a", (char *) host, (char *) "-i", *a, NULL };

                if (!streq(*a, "all") && run_program(argv) >= 0)
                        return 0;
        }
        list = strv_join(archs, " ");
        b->stage = "arch-check";
        return log_error_errno(-EINVAL, "Build failed at stage 'arch-check': '%s' has no package for %s (Architecture: %s)%s",
                               b->source, host, list ?: "?",
                               strv_contains(archs, "all") ? (b->plan.binary_only ? "; a binNMU builds no Architecture: all ones"
                                                                                  : "; no Architecture: all ones are built")
                                                           : "");
}

/* b->plan from the options, once b->arch, the build architecture, is known. */
static void build_plan_set(Build *b) {
        b->plan = (BuildPlan){
                .build_arch = b->arch,
                .host_arch = arg_host,
                .profiles = arg_build_profiles,
                .arch_all = arg_arch_all,
                .no_arch_all = arg_no_arch_all,
                .no_arch_any = arg_no_arch_any,
                .resolve_alternatives = arg_resolve_alternatives > 0,
                .source_too = arg_source_too,
                .binary_only = arg_make_binnmu || arg_append_to_version,
                .user_options = arg_debbuildopts,
                .source_options = arg_dpkg_source_opts,
                .force_orig_source = arg_force_orig_source,
                .add_depends = arg_add[0],
                .add_depends_arch = arg_add[1],
                .add_depends_indep = arg_add[2],
                .add_conflicts = arg_add[3],
                .add_conflicts_arch = arg_add[4],
                .add_conflicts_indep = arg_add[5],
        };
}

/* ---- --run-lintian: lintian on the results, in the build's chroot, as sbuild runs it ---- */

/* Runs @attach in a session over @lowers with @upper as its writable layer, @binds bound, confined by
 * @profile; ends it. Returns 0 and the command's status, or -errno. */
static int layer_session_run(Context *ctx, const ChrootRef *ref, char **lowers, const char *upper, const char *work,
                             char **binds, const Profile *profile, AttachPlan *attach, int *ret_status) {
        _cleanup_(session_freep) Session *session = NULL;
        SessionPlan plan = layer_session_plan(ctx, ref, lowers, upper, work, CONTAINER_NETWORK_NONE, binds);
        int r;

        plan.profile = profile;
        plan.apparmor_template = ctx->apparmor_template;
        r = session_create(&plan, &session);
        if (r >= 0)
                r = session_run(session, attach, signals_forward_child, ret_status);
        if (session && session_end(session) < 0 && r >= 0)
                r = -EIO;
        return r;
}

/* The layer with lintian installed over @ref's tree, cached under STATE/cache/lintian/KEY (KEY: the tree
 * version): made once, through the package-source proxy as the dependency layer is. Sets *ret_layer to its
 * upper directory. Logs one line on failure; the output of apt is appended to @log. */
static int lintian_layer(Context *ctx, Build *b, const ChrootRef *ref, const char *log, char **ret_layer) {
        _cleanup_free_ char *dir = path_join(ctx->state_dir, "cache", "lintian");
        _cleanup_free_ char *cache = path_join(ctx->state_dir, "cache", "apt", "archives");
        _cleanup_free_ char *aux = path_join(b->dir, "lintian");
        _cleanup_free_ char *archives = path_join(b->dir, "lintian", "archives");
        _cleanup_free_ char *keytext = NULL, *final = NULL, *layer = NULL, *staging = NULL, *upper = NULL;
        _cleanup_free_ char *work = NULL, *prelude = NULL, *script = NULL;
        _cleanup_strv_free_ char **allowed = NULL, **binds = NULL;
        _cleanup_(proxy_stopp) Proxy *proxy = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        char key[SHA256_HEX_SIZE];
        int status = 0, r;

        if (!dir || !cache || !aux || !archives)
                return log_oom();
        {
                _cleanup_free_ char *tree = tree_identity(ctx, ref);

                keytext = tree ? strdup_printf("lintian\ntree %s\narch %s\n", tree, b->arch ?: "") : NULL;
        }
        if (!keytext)
                return log_oom();
        sha256_hex(keytext, strlen(keytext), key);
        final = strdup_printf("%s/%.32s", dir, key);
        layer = final ? path_join(final, "upper") : NULL;
        if (!layer)
                return log_oom();
        if (access(layer, F_OK) >= 0) {
                printf("Reusing lintian installed in '%s@%u' before (%s)\n", ref->name, ref->version, final);
                *ret_layer = TAKE_PTR(layer);
                return 0;
        }
        r = layer_staging_prepare(cache, archives, dir, &staging, &upper, &work);
        if (r < 0)
                return r;
        r = deps_sources(ref, &allowed, &binds);
        if (r < 0)
                goto finish;
        if (strv_extend(&binds, aux) < 0 || strv_extend(&binds, b->build) < 0) {
                r = log_oom();
                goto finish;
        }
        r = layer_proxy_start(aux, allowed, &proxy, &profile);
        if (r < 0)
                goto finish;
        prelude = proxy_prelude(proxy_port(proxy));
        script = prelude ? strdup_printf("exec >> '%s' 2>&1\n%s"
                                         "echo \"--- lintian: installing it through the host's proxy $proxy\"\n"
                                         "opts=\"-y -o Dir::Cache::Archives=%s/ -o APT::Keep-Downloaded-Packages=true "
                                         "-o Dpkg::Options::=--force-unsafe-io -o APT::Install-Recommends=false "
                                         "-o Acquire::http::Proxy=$proxy -o Acquire::https::Proxy=$proxy\"\n"
                                         "apt-get $opts install lintian || { apt-get $opts update && apt-get $opts install lintian; }\n",
                                         log, prelude, archives)
                         : NULL;
        if (!script) {
                r = log_oom();
                goto finish;
        }
        printf("Installing lintian in '%s@%u' (once for this version), network to the package sources only\n",
               ref->name, ref->version);
        fflush(stdout);
        {
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
                AttachPlan attach = { .argv = argv, .shell = "/bin/sh", .cwd = "/", .env = root_env };

                r = layer_session_run(ctx, ref, ref->lowers, upper, work, binds, profile, &attach, &status);
        }
        link_debs(archives, cache);
        remove_mount_points(upper, binds);
        if (r >= 0 && status != 0)
                r = log_error_errno(-EPROTO, "lintian could not be installed in '%s@%u' (apt's status %d): see the log",
                                    ref->name, ref->version, status);
        if (r >= 0)
                r = rm_rf(work);
        if (r >= 0 && rename(staging, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
                r = log_error_errno(-errno, "Failed to publish '%s': %m", final);
        if (r >= 0)
                *ret_layer = TAKE_PTR(layer);
finish:
        if (access(staging, F_OK) >= 0)
                (void) rm_rf(staging);
        return r;
}

/* sbuild's run_lintian(): lintian [--lintian-opts] PKG.changes in the build directory, as the build's user,
 * network off, over the tree and the lintian layer (not the build dependencies: lintian needs none of them),
 * its output in the log. Its result (b->lintian) never fails the build, as in sbuild. */
static void build_lintian(Context *ctx, Build *b, const ChrootRef *ref, const UserInfo *u) {
        _cleanup_free_ char *log = path_join(b->build, "lintian.log"), *layer = NULL, *name = find_changes(b->build);
        _cleanup_free_ char *upper = NULL, *work = NULL, *words = NULL, *cmd = NULL, *output = NULL;
        _cleanup_strv_free_ char **lowers = NULL, **binds = NULL, **argv_l = NULL, **env = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        int status = 0, r;

        b->lintian = "error";
        if (!log || !name)
                return;
        b->stage = "lintian";
        /* The build's user's, who appends lintian's output to what the installation (as root) wrote. */
        {
                _cleanup_close_ int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);

                if (fd < 0 || fchown(fd, u->uid, u->gid) < 0) {
                        log_warning_errno(-errno, "Failed to make '%s': %m", log);
                        goto done;
                }
        }
        r = lintian_layer(ctx, b, ref, log, &layer);
        if (r < 0)
                goto done;
        upper = path_join(b->dir, "lintian", "upper");
        work = path_join(b->dir, "lintian", "work");
        if (!upper || !work || mkdir_p(upper, 0755) < 0 || mkdir_p(work, 0700) < 0 ||
            strv_extend(&lowers, layer) < 0 || strv_extend_strv(&lowers, ref->lowers) < 0 ||
            strv_extend(&binds, b->build) < 0 || strv_extend(&argv_l, "lintian") < 0 ||
            strv_extend_strv(&argv_l, arg_lintian_opts) < 0 || strv_extend(&argv_l, name) < 0 ||
            !(words = buildplan_shell_join(argv_l)) || build_user_env(b, u, &env) < 0) {
                (void) log_oom();
                goto done;
        }
        cmd = strdup_printf("{ echo Command: %s; %s; echo $? > .lintian-status; } >> '%s' 2>&1", words, words, log);
        if (!cmd) {
                (void) log_oom();
                goto done;
        }
        r = context_find_profile(ctx, "buildd", &profile);
        if (r < 0)
                goto done;
        profile->network = PROFILE_NETWORK_NONE;
        printf("Running lintian on %s in '%s@%u', network off\n", name, ref->name, ref->version);
        fflush(stdout);
        {
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", cmd, NULL };
                AttachPlan attach = { .argv = argv, .shell = "/bin/sh", .cwd = b->build, .uid = u->uid, .gid = u->gid,
                                      .groups = u->groups, .n_groups = u->n_groups, .env = env,
                                      .no_new_privs = u->uid != 0 };

                r = layer_session_run(ctx, ref, lowers, upper, work, binds, profile, &attach, &status);
        }
        if (r < 0 || status != 0) {
                log_debug("lintian's session: %d, status %d", r, status);
                goto done;
        }
        {
                _cleanup_free_ char *sp = path_join(b->build, ".lintian-status"), *st = NULL;
                const char *tags;
                int rc;

                r = sp ? read_file(sp, &st) : -ENOMEM;
                if (r < 0) {
                        log_debug_errno(r, "lintian's status, %s: %m", sp);
                        goto done;
                }
                rc = atoi(st);
                (void) read_file(log, &output);
                /* lintian's own output: after its Command: line (apt's, installing it, comes before). */
                tags = !output ? NULL : startswith(output, "Command: lintian") ? output : strstr(output, "\nCommand: lintian");
                /* lintian 2.116 (bookworm's) exits 2 for a --fail-on condition (by default an error tag) and 1
                 * for an error of its own; sbuild 0.85 reads them the other way round. Else the worst tag
                 * seen, as sbuild does. */
                b->lintian = rc == 2 ? "fail" : rc != 0 ? "error" :
                             tags && strstr(tags, "\nW: ") ? "warn" : tags && strstr(tags, "\nI: ") ? "info" : "pass";
        }
done:
        b->stage = "build";
        if (streq(b->lintian, "error"))
                log_warning("lintian did not run to its end (Lintian: error); the build stands (see the log)");
        else
                printf("Lintian: %s\n", b->lintian);
}

/* ---- --run-autopkgtest: the package's tests on the results, as sbuild runs them ---- */

/* sbuild's run_autopkgtest(): autopkgtest [--autopkgtest-opts] [SOURCE] PKG.changes on the host, the
 * source being the .dsc (or source tree) when the build made no source package. Its testbed is a session
 * of the build's chroot version through autopkgtest-virt-arkose (beside this program, else from PATH),
 * with the host's network, since autopkgtest installs the tests' dependencies with apt; unless the options
 * name a virtualisation server of their own after "--", as sbuild's may. Its output goes to the log;
 * b->autopkgtest gets sbuild's reading of its status (0 and 2 pass, 8 "no tests", else fail), which never
 * fails the build, as in sbuild. */
static void build_autopkgtest(Context *ctx, Build *b, const ChrootRef *ref, const char *what) {
        _cleanup_free_ char *log = path_join(b->build, "autopkgtest.log"), *name = find_changes(b->build);
        _cleanup_free_ char *changes = NULL, *self = NULL, *virt = NULL, *beside = NULL, *spec = NULL;
        _cleanup_free_ char *words = NULL, *source = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int fd = -EBADF;
        int status, r;
        pid_t pid;

        b->autopkgtest = "fail";
        if (!log || !name)
                return;
        b->stage = "autopkgtest";
        changes = path_join(b->build, name);
        self = realpath("/proc/self/exe", NULL);
        spec = strdup_printf("%s@%u", ref->name, ref->version);
        if (!changes || !self || !spec || strv_extend(&argv, "autopkgtest") < 0 ||
            strv_extend_strv(&argv, arg_autopkgtest_opts) < 0)
                goto oom;
        if (!arg_source_too) {
                source = b->dsc ? strdup(b->dsc) : strdup_printf("%s/", what);
                if (!source || strv_extend(&argv, source) < 0)
                        goto oom;
        }
        if (strv_extend(&argv, changes) < 0)
                goto oom;
        if (!strv_contains(arg_autopkgtest_opts, "--")) {
                _cleanup_free_ char *dir = strdup(self);
                char *slash = dir ? strrchr(dir, '/') : NULL;

                if (!slash)
                        goto oom;
                *slash = '\0';
                beside = path_join(dir, "autopkgtest-virt-arkose");
                if (!beside)
                        goto oom;
                virt = access(beside, X_OK) >= 0 ? TAKE_PTR(beside) : strdup("arkose");
                if (!virt || strv_extend(&argv, "--") < 0 || strv_extend(&argv, virt) < 0 ||
                    strv_extend(&argv, "--network") < 0 || strv_extend(&argv, "host") < 0 ||
                    strv_extend(&argv, "--arkose-chroot") < 0 || strv_extend(&argv, self) < 0 ||
                    strv_extend(&argv, "--state-dir") < 0 || strv_extend(&argv, ctx->state_dir) < 0 ||
                    strv_extend(&argv, "--config-dir") < 0 || strv_extend(&argv, ctx->config_dir) < 0 ||
                    strv_extend(&argv, spec) < 0)
                        goto oom;
        }
        words = strv_join(argv, " "); /* as the build's and lintian's Command: lines show theirs */
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (!words || fd < 0 || dprintf(fd, "Command: %s\n", words) < 0) {
                log_warning_errno(fd < 0 ? -errno : -ENOMEM, "Failed to start autopkgtest's log '%s': %m", log);
                return;
        }
        printf("Running autopkgtest on %s in '%s' (testbed: %s)\n", name, spec,
               virt ? "arkose-chroot sessions, with the host's network" : "from --autopkgtest-opts");
        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                log_warning_errno(-errno, "Failed to run autopkgtest: %m");
                return;
        }
        if (pid == 0) {
                if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                fprintf(stderr, "Failed to execute autopkgtest: %m (is the autopkgtest package installed?)\n");
                _exit(127);
        }
        signals_forward_to(pid);
        r = pid_wait(pid, &status);
        signals_forward_to(0);
        if (r < 0 || !WIFEXITED(status)) {
                if (signals_pending() == 0)
                        log_warning("autopkgtest did not run to its end (Autopkgtest: fail); the build stands (see the log)");
                return;
        }
        r = WEXITSTATUS(status);
        (void) dprintf(fd, "autopkgtest exited with status %d\n", r);
        b->autopkgtest = r == 0 || r == 2 ? "pass" : r == 8 ? "no tests" : "fail";
        b->stage = "build";
        printf("Autopkgtest: %s (autopkgtest's status %d)\n", b->autopkgtest, r);
        return;
oom:
        (void) log_oom();
}

/* sbuild's rules for its binNMU options, and --source-only-changes's need of --source, whatever their order: one
 * line, status 2. */
/* Whether @p is a --build-path build can take: absolute, under /build/ or /tmp/ (sbuild's "common writable
 * locations"; the directory above it is bound over whatever the tree has there), of plain components of
 * letters, digits and "._+~-", not ".", "..", nor ending in '/'. */
static bool build_path_valid(const char *p) {
        const char *rest = startswith(p, "/build/") ? p + 7 : startswith(p, "/tmp/") ? p + 5 : NULL;

        if (!rest || isempty(rest) || strlen(p) >= PATH_MAX / 2 ||
            p[strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+~-/")] != '\0' ||
            endswith_slash(p) || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
            strcmp(strrchr(p, '/'), "/.") == 0 || strcmp(strrchr(p, '/'), "/..") == 0)
                return false;
        /* The directory above it is bound: not /tmp itself, which the session has of its own. */
        return !(startswith(p, "/tmp/") && !strchr(rest, '/'));
}

static int build_check_options(void) {
        if (arg_build_path && !build_path_valid(arg_build_path))
                return log_usage("Invalid --build-path '%s': an absolute path below /build/ or /tmp/ (then at least two "
                                 "levels down), of letters, digits and '._+~-'", arg_build_path);
        if (arg_arch_all && (arg_make_binnmu || arg_append_to_version))
                return log_usage("--arch-all cannot be used together with %s",
                                 arg_make_binnmu ? "--make-binNMU" : "--append-to-version");
        if (arg_binnmu_changelog && (arg_make_binnmu || arg_binnmu || arg_binnmu_timestamp || arg_append_to_version))
                return log_usage("--binNMU-changelog cannot be used together with %s",
                                 arg_make_binnmu ? "--make-binNMU" : arg_binnmu ? "--binNMU" :
                                 arg_binnmu_timestamp ? "--binNMU-timestamp" : "--append-to-version");
        if (arg_source_only_changes && !arg_source_too)
                return log_usage("--source-only-changes needs --source (-s): the source package it lists is built with it");
        /* sbuild ignores these alone; say so rather than build something else than asked. */
        if ((arg_binnmu || arg_binnmu_timestamp) && !arg_make_binnmu && !arg_append_to_version)
                return log_usage("%s needs --make-binNMU TEXT (or --append-to-version SUFFIX)",
                                 arg_binnmu ? "--binNMU" : "--binNMU-timestamp");
        return 0;
}

/* The maintainer of a binNMU's changelog entry: --maintainer, else DEBEMAIL ("Name <address>") or
 * DEBFULLNAME <DEBEMAIL>, as dch takes them. NULL when none. */
static char *build_maintainer(void) {
        const char *email = getenv("DEBEMAIL"), *name = getenv("DEBFULLNAME");

        if (arg_maintainer)
                return strdup(arg_maintainer);
        if (!isempty(email) && strchr(email, '<'))
                return strdup(email);
        if (!isempty(email) && !isempty(name))
                return strdup_printf("%s <%s>", name, email);
        return NULL;
}

/* sbuild's "hack-binNMU": with --make-binNMU, --append-to-version or --binNMU-changelog, a changelog entry
 * above the source's own, so that dpkg-buildpackage builds the binNMU's version; b->version and
 * b->timestamp are then the new entry's (SOURCE_DATE_EPOCH, the results' names). */
static int build_hack_binnmu(Build *b) {
        _cleanup_free_ char *changelog = path_join(b->src, "debian/changelog"), *old = NULL, *entry = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!arg_make_binnmu && !arg_append_to_version && !arg_binnmu_changelog)
                return 0;
        b->stage = "hack-binNMU";
        if (!changelog)
                return log_oom();
        r = read_file(changelog, &old);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'hack-binNMU': cannot read '%s': %m", changelog);
        if (arg_binnmu_changelog) {
                _cleanup_free_ char *trimmed = strdup(arg_binnmu_changelog);

                if (!trimmed)
                        return log_oom();
                entry = strdup_printf("%s\n\n", strstrip(trimmed));
        } else {
                _cleanup_free_ char *maintainer = build_maintainer(), *version = NULL, *date = NULL;

                if (!maintainer)
                        return log_error_errno(-EINVAL, "Build failed at stage 'hack-binNMU': its changelog entry needs a "
                                               "maintainer: pass --maintainer 'Name <address>' (or set DEBEMAIL and "
                                               "DEBFULLNAME)");
                r = buildplan_binnmu_version(b->version, arg_make_binnmu ? (arg_binnmu ?: 1) : arg_binnmu,
                                             arg_append_to_version, &version);
                if (r >= 0)
                        r = buildplan_changelog_date(arg_binnmu_timestamp, time(NULL), &date);
                if (r == -EINVAL)
                        return log_usage("Invalid --binNMU-timestamp '%s'", arg_binnmu_timestamp);
                if (r >= 0) {
                        BinnmuEntry e = {
                                .source = b->source,
                                .version = version,
                                .distribution = arg_directory ?: b->distribution,
                                .host_arch = buildplan_host_arch(&b->plan),
                                .append = arg_append_to_version,
                                .text = arg_make_binnmu,
                                .maintainer = maintainer,
                                .date = date,
                        };
                        r = buildplan_binnmu_entry(&e, &entry);
                }
                if (r == -EINVAL)
                        return log_usage("A line break in --maintainer or -d for a binNMU's changelog entry");
                if (r < 0)
                        return log_oom();
        }
        if (!entry)
                return log_oom();
        text = strdup_printf("%s%s", entry, old);
        if (!text)
                return log_oom();
        r = write_file_atomic(changelog, text, 0644);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'hack-binNMU': cannot write '%s': %m", changelog);
        b->version = mfree(b->version);
        b->timestamp = mfree(b->timestamp);
        if (changelog_field(b->src, "Version", &b->version) < 0 || changelog_field(b->src, "Timestamp", &b->timestamp) < 0)
                return log_error_errno(-EINVAL, "Build failed at stage 'hack-binNMU': dpkg-parsechangelog cannot read "
                                       "the new entry (--binNMU-changelog?)");
        printf("Created changelog entry for binNMU version %s\n", b->version);
        return 0;
}

/* *l = @first, then *l. Returns 0 or -ENOMEM. */
static int prepend_strv(char ***l, char *const *first) {
        _cleanup_strv_free_ char **n = NULL;

        if (!first)
                return 0;
        if (strv_extend_strv(&n, first) < 0 || strv_extend_strv(&n, *l) < 0)
                return -ENOMEM;
        strv_free(*l);
        *l = TAKE_PTR(n);
        return 0;
}

/* ---- a source package by name (sbuild's PKG[_VERSION]): apt-get source in a session of the chroot ---- */

/* Fetches the source package @name (version @version, NULL: the newest) with apt-get source in a session of
 * @ref, whose network reaches the tree's package sources through the proxy only, with deb-src lines made from
 * its deb ones (its own apt sources are left as they are); the files land in b->build. Sets *ret_dsc to the
 * .dsc's path. Logs one line on failure (apt's reason). */
static int build_fetch_source(Context *ctx, Build *b, const ChrootRef *ref, const char *name, const char *version,
                              char **ret_dsc) {
        _cleanup_free_ char *aux = path_join(b->dir, "fetch"), *upper = NULL, *work = NULL, *log = NULL;
        _cleanup_free_ char *prelude = NULL, *script = NULL, *spec = NULL, *quoted = NULL, *dsc = NULL;
        _cleanup_strv_free_ char **allowed = NULL, **binds = NULL;
        _cleanup_(proxy_stopp) Proxy *proxy = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        int status = 0, r;

        b->stage = "fetch";
        if (!aux || !(upper = path_join(aux, "upper")) || !(work = path_join(aux, "work")) ||
            !(log = path_join(aux, "fetch.log")))
                return log_oom();
        if (mkdir(aux, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0)
                return log_error_errno(-errno, "Failed to create '%s': %m", aux);
        r = deps_sources(ref, &allowed, &binds);
        if (r < 0)
                return r;
        if (strv_extend(&binds, b->build) < 0 || strv_extend(&binds, aux) < 0)
                return log_oom();
        r = layer_proxy_start(aux, allowed, &proxy, &profile);
        if (r < 0)
                return r;
        spec = version ? strdup_printf("%s=%s", name, version) : strdup(name);
        if (!spec || !(quoted = buildplan_shell_join((char *[]){ spec, NULL })) ||
            !(prelude = proxy_prelude(proxy_port(proxy))))
                return log_oom();
        /* deb-src lines from the deb ones of sources.list(.d) (one-line and deb822), apt's lists of them in
         * the session's own /tmp: the tree's apt state is not touched, nor kept. */
        script = strdup_printf(
                "exec >> '%s' 2>&1\n%s"
                "d=/tmp/arkose-source; mkdir -p $d/lists/partial $d/parts\n"
                "cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | "
                "sed -n 's/^[[:space:]]*deb\\([[:space:]]\\)/deb-src\\1/p' > $d/sources.list\n"
                "for f in /etc/apt/sources.list.d/*.sources; do [ -f \"$f\" ] && "
                "sed 's/^Types:.*/Types: deb-src/' \"$f\" > $d/parts/${f##*/}; done\n"
                "opts=\"-q -o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=$d/parts "
                "-o Dir::State::Lists=$d/lists -o APT::Sandbox::User=root "
                "-o Acquire::http::Proxy=$proxy -o Acquire::https::Proxy=$proxy\"\n"
                "apt-get $opts update && cd '%s' && apt-get $opts source --download-only --only-source %s\n",
                log, prelude, b->build, quoted);
        if (!script)
                return log_oom();
        printf("Fetching the source package %s from the package sources of '%s@%u'\n", spec, ref->name,
               ref->version);
        fflush(stdout);
        {
                char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
                AttachPlan attach = { .argv = argv, .shell = "/bin/sh", .cwd = "/", .env = root_env };

                r = layer_session_run(ctx, ref, ref->lowers, upper, work, binds, profile, &attach, &status);
        }
        if (r < 0)
                return r;
        if (status != 0) {
                _cleanup_free_ char *text = NULL;
                const char *why = NULL;

                b->status = status;
                /* For the JSON summary; the changelog's never came. */
                b->source = strdup(name);
                b->version = version ? strdup(version) : NULL;
                /* apt-get source's first error names the cause ("Can not find version '9' of package
                 * 'hello'"), its last only that it failed ("Unable to find a source package for hello"). */
                if (read_file(log, &text) >= 0)
                        for (char *line = strtok(text, "\n"); line && !why; line = strtok(NULL, "\n"))
                                why = startswith(line, "E: ") ? line + 3 : NULL;
                return log_error_errno(-EPROTO, "Build failed at stage 'fetch' (status %d): %s", status,
                                       why ?: "apt-get source failed, or apt-get update before it");
        }
        {
                _cleanup_closedir_ DIR *d = opendir(b->build);
                _cleanup_free_ char *prefix = strdup_printf("%s_", name);
                struct dirent *de;

                if (!d || !prefix)
                        return log_error_errno(d ? -ENOMEM : -errno, "Failed to read '%s': %m", b->build);
                while ((de = readdir(d)))
                        if (startswith(de->d_name, prefix) && endswith_dsc(de->d_name)) {
                                free(dsc);
                                dsc = path_join(b->build, de->d_name);
                                if (!dsc)
                                        return log_oom();
                        }
        }
        if (!dsc)
                return log_error_errno(-ENOENT, "Build failed at stage 'fetch': apt-get source %s left no .dsc", spec);
        *ret_dsc = TAKE_PTR(dsc);
        return 0;
}

/* ---- a .dsc by URL (sbuild's DSC-URL, which it fetches with dget) ---- */

/* Downloads the .dsc at @url into b->build, then each file its Checksums-Sha256 lists from the same directory,
 * each checked against its digest; sets *ret_dsc to the .dsc's path. Logs one line on failure. */
static int build_fetch_dsc(Build *b, const char *url, char **ret_dsc) {
        _cleanup_strv_free_ char **names = NULL, **sums = NULL;
        _cleanup_free_ char *base = NULL, *dsc = NULL, *text = NULL, *reason = NULL;
        const char *slash = strrchr(url, '/'), *file = slash ? slash + 1 : "";
        FetchOptions o = FETCH_OPTIONS_INIT;
        int r;

        b->stage = "fetch";
        if (!endswith_dsc(file) || file[0] == '.' ||
            file[strspn(file, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~_-")] != '\0')
                return log_error_errno(-EINVAL, "Cannot build '%s': a URL must name a .dsc file", url);
        base = strndup(url, (size_t) (file - url));
        dsc = path_join(b->build, file);
        if (!base || !dsc)
                return log_oom();
        r = fetch_download(&o, url, dsc, &reason);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'fetch': %s: %s", url, reason ?: "download failed");
        r = read_file(dsc, &text);
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'fetch': cannot read '%s': %m", dsc);
        r = buildplan_dsc_files(text, &names, &sums);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Build failed at stage 'fetch': %s has no valid Checksums-Sha256 field "
                                       "(a file there with a path, or no files at all)", url);
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *from = strdup_printf("%s%s", base, names[i]), *to = path_join(b->build, names[i]);

                if (!from || !to)
                        return log_oom();
                o.sha256 = sums[i];
                free(reason);
                reason = NULL;
                r = fetch_download(&o, from, to, &reason);
                if (r < 0)
                        return log_error_errno(r, "Build failed at stage 'fetch': %s: %s", from,
                                               reason ?: "download failed");
        }
        *ret_dsc = TAKE_PTR(dsc);
        return 0;
}

/* Builds one source: @arg, a .dsc, a URL of one, a source directory or sbuild's PKG[_VERSION]. */
static int build_one(Context *ctx, const char *arg, const UserInfo *u, const UserInfo *owner, bool run_lintian,
                     bool run_autopkgtest) {
        _cleanup_(build_done) Build b = { .lock_fd = -EBADF };
        _cleanup_(chroot_ref_done) ChrootRef ref = {};
        _cleanup_free_ char *what = NULL, *out = NULL, *fetch_name = NULL, *fetch_version = NULL;
        _cleanup_close_ int json_fd = -EBADF;
        /* sbuild's -d DIST: a build has no working directory to take, and sbuild's users type it. */
        const char *chroot_spec = arg_chroot ?: arg_directory;
        time_t started = time(NULL);
        bool picked = false;
        int r;

        /* A URL is a .dsc's; an existing file or directory is one; else sbuild's PKG[_VERSION], fetched from the
         * chroot's sources. */
        r = is_url(arg) ? 0 : access(arg, F_OK) < 0 ? buildplan_source_spec(arg, &fetch_name, &fetch_version) : 0;
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(-ENOENT, "Cannot build '%s': no such file or directory, nor a source package "
                                       "name (PKG or PKG_VERSION)", arg);
        if (r > 0 && !chroot_spec)
                return log_error_errno(-EINVAL, "Building the source package '%s' by name needs --chroot NAME or -d DIST",
                                       arg);
        if (r == 0 && !is_url(arg) && !(what = realpath(arg, NULL)))
                return log_error_errno(-errno, "Cannot build '%s': %m", arg);
        out = realpath(arg_output ?: ".", NULL);
        if (!out)
                return log_error_errno(-errno, "Output directory '%s' is not usable: %m", arg_output ?: ".");
        for (char **k = arg_extra_repository_keys; k && *k; k++)
                if (access(*k, R_OK) < 0)
                        return log_error_errno(-errno, "Cannot read --extra-repository-key '%s': %m", *k);
        if (what && endswith_dsc(what) && !(b.dsc = strdup(what)))
                return log_oom();

        /* With --json, stdout carries the summary only: what the build prints, and its sessions' and hooks'
         * output (they inherit our descriptors), go to stderr until then. */
        if (arg_json) {
                fflush(stdout);
                json_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                if (json_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
                        return log_error_errno(-errno, "Failed to set stdout aside for --json: %m");
        }
        signals_install();
        r = build_prepare(ctx, &b);
        if (r >= 0 && is_url(arg)) {
                r = build_fetch_dsc(&b, arg, &what);
                if (r >= 0 && !(b.dsc = strdup(what)))
                        r = log_oom();
        }
        if (r >= 0 && fetch_name) {
                r = build_pick_chroot(ctx, &b, chroot_spec, &ref);
                picked = r >= 0;
                if (r >= 0)
                        r = build_fetch_source(ctx, &b, &ref, fetch_name, fetch_version, &what);
                if (r >= 0 && !(b.dsc = strdup(what)))
                        r = log_oom();
        }
        if (r >= 0)
                r = build_source_read(&b, what);
        test_pause_point("build-prepared");
        if (r >= 0) {
                /* A fetched source is built in the chroot it came from. */
                if (!picked && !chroot_spec && streq(b.distribution, "UNRELEASED"))
                        r = log_error_errno(
                                -EINVAL,
                                "debian/changelog says UNRELEASED: pass --chroot NAME (or -d DIST)");
                else if (!picked)
                        r = build_pick_chroot(ctx, &b, chroot_spec ?: b.distribution, &ref);
                if (r >= 0) {
                        build_plan_set(&b);
                        if (!buildplan_builds_something(&b.plan))
                                r = log_error_errno(-EINVAL,
                                                    "Nothing to build: no Architecture: any packages "
                                                    "(--no-arch-any), no Architecture: all ones (%s) and no "
                                                    "--source",
                                                    arg_no_arch_all ? "--no-arch-all" :
                                                    b.plan.binary_only ? "none in a binNMU" : "cross without --arch-all");
                }
                if (r >= 0)
                        r = build_check_arch(&b);
                if (r >= 0)
                        r = build_hack_binnmu(&b);
        }
        if (r >= 0) {
                char *argv_chown[] = { (char *) "chown", (char *) "-R", NULL, b.build, NULL };
                _cleanup_free_ char *ids = strdup_printf("%u:%u", (unsigned) u->uid, (unsigned) u->gid);
                argv_chown[2] = ids;
                r = ids ? run_program(argv_chown) : log_oom();
        }
        if (r >= 0) {
                HookVars v = { .arch = buildplan_host_arch(&b.plan),
                               .build_arch = b.arch,
                               .build_dir = b.build,
                               .pkgbuild_dir = b.src,
                               .dsc = b.dsc };
                b.stage = build_hook_table[BUILD_HOOK_PRE_BUILD];
                r = build_host_hooks(&b, BUILD_HOOK_PRE_BUILD, &v, out, true);
        }
        /* The log is named, and will be written, once the dependency stage starts: a build refused before
         * (bad input, a chroot not created) leaves the output as it was, an earlier log included. */
        if (r >= 0)
                r = build_log_paths(&b, out, started);
        if (r >= 0)
                r = build_dependencies(ctx, &b, &ref);
        if (r >= 0)
                r = build_run(ctx, &b, &ref, u);
        if (r >= 0 && run_lintian)
                build_lintian(ctx, &b, &ref, u);
        if (r >= 0 && run_autopkgtest && signals_pending() == 0)
                build_autopkgtest(ctx, &b, &ref, what);
        /* ^C during lintian or autopkgtest stops the build there, as sbuild's check_abort() does. */
        if (r >= 0 && (run_lintian || run_autopkgtest) && signals_pending() != 0) {
                b.stage = b.autopkgtest ? "autopkgtest" : "lintian";
                r = log_error_errno(-EINTR, "Build interrupted at stage '%s'", b.stage);
        }
        if (b.build && access(b.build, F_OK) >= 0) {
                _cleanup_free_ char *summary = b.log ? build_summary(&b, &ref, r, started) : NULL;
                (void) build_collect(&b, out, owner, summary);
        }
        /* After a success, or a failure once the build had started (its log named): not after ^C. */
        if ((r >= 0 || b.log) && arg_hooks[r >= 0 ? BUILD_HOOK_POST_BUILD : BUILD_HOOK_POST_BUILD_FAILED] &&
            signals_pending() == 0) {
                BuildHook h = r >= 0 ? BUILD_HOOK_POST_BUILD : BUILD_HOOK_POST_BUILD_FAILED;
                _cleanup_free_ char *name = r >= 0 ? find_changes(b.build) : NULL;
                _cleanup_free_ char *changes = name ? path_join(out, name) : NULL;
                HookVars v = { .arch = buildplan_host_arch(&b.plan),
                               .build_arch = b.arch,
                               .build_dir = b.build,
                               .pkgbuild_dir = b.src,
                               .dsc = b.dsc,
                               .changes = changes,
                               .session = b.kept_session };
                int k;

                if (r >= 0)
                        b.stage = build_hook_table[h];
                /* After a failure: the build failed where it did, whatever they do. */
                k = build_host_hooks(&b, h, &v, out, r >= 0);
                if (r >= 0)
                        r = k;
        }
        if (arg_json) {
                fflush(stdout);
                if (dup2(json_fd, STDOUT_FILENO) < 0)
                        return log_error_errno(-errno, "Failed to restore stdout for --json: %m");
                build_print_json(&b, &ref, out, r);
        }
        else if (r >= 0) {
                for (char **f = b.files; f && *f; f++)
                        printf("%s/%s\n", out, *f);
                printf("Built %s %s: %zu file(s) and the log %s\n", b.source, b.version, strv_length(b.files), b.log);
        }
        if (b.kept_session) {
                /* On stderr with --json, whose stdout is the summary only. */
                FILE *f = arg_json ? stderr : stdout;
                fprintf(f,
                        "The build session '%s' is kept, with the build directory at %s (%s on the "
                        "host).\n"
                        "Enter it:  arkose-chroot -c session:%s --run-session -u root -d / -- bash\n"
                        "      or:  arkose-chroot -c session:%s --run-session -u %s -d "
                        "%s -- bash\n"
                        "End it:    arkose-chroot -c session:%s --end-session && rm -rf '%s'\n",
                        b.kept_session, session_dir(), b.build, b.kept_session, b.kept_session, u->name,
                        session_src(), b.kept_session, b.dir);
                _cleanup_free_ char *deps = path_join(b.dir, "deps");
                if (deps)
                        (void) rm_rf(deps);
        } else if (b.dir)
                (void) rm_rf(b.dir);
        return r;
}

int verb_build(Context *ctx, int argc, char **argv) {
        _cleanup_(user_info_done) UserInfo u = {}, owner = {};
        bool run_lintian, run_autopkgtest;
        unsigned failed = 0;
        int r;

        /* Without an argument outside a source tree, sbuild says there is nothing to build: a usage error. */
        if (argc == 0 && access("debian/changelog", F_OK) < 0)
                return log_usage("Usage: arkose-chroot build [--chroot NAME | -d DIST] [OPTIONS] "
                                 "[PKG.dsc | URL | SOURCE_DIR | PKG[_VERSION]]... (none: the source tree here)");
        r = build_check_options();
        if (r < 0)
                return r;
        /* arkose.conf's [build] defaults, which the options override (their opts come after its). */
        run_lintian = arg_run_lintian >= 0 ? arg_run_lintian : ctx->config.run_lintian;
        run_autopkgtest = arg_run_autopkgtest >= 0 ? arg_run_autopkgtest : ctx->config.run_autopkgtest;
        if (arg_resolve_alternatives < 0)
                arg_resolve_alternatives = ctx->config.resolve_alternatives;
        if (prepend_strv(&arg_lintian_opts, ctx->config.lintian_opts) < 0 ||
            prepend_strv(&arg_autopkgtest_opts, ctx->config.autopkgtest_opts) < 0)
                return log_oom();
        r = access_require_root("build");
        if (r < 0)
                return r;
        r = check_host_arch();
        if (r < 0)
                return r;
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
        if (argc == 0)
                return build_one(ctx, ".", &u, &owner, run_lintian, run_autopkgtest);
        /* As sbuild: each in turn, the status a failure's if any failed; ^C stops at the build it hit. */
        r = 0;
        for (int i = 0; i < argc; i++) {
                int k = build_one(ctx, argv[i], &u, &owner, run_lintian, run_autopkgtest);

                if (k < 0) {
                        failed++;
                        if (r >= 0)
                                r = k;
                }
                if (signals_pending() != 0)
                        break;
        }
        if (argc > 1 && failed > 0)
                log_error("%u of %d builds failed", failed, argc);
        return r;
}
