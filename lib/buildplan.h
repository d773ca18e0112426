/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <time.h>

/* buildplan: what `arkose-chroot build` runs, worked out without running anything (pure, for the unit
 * tests): dpkg-buildpackage's argv and environment, the apt commands of the dependency stage, and the
 * text whose hash keys the dependency layer. Native and cross builds, as sbuild 0.85 does them:
 *
 *   - the build architecture is the chroot's; the host architecture is --host (default: the same);
 *   - a cross build (host != build) adds the host architecture to dpkg (dpkg --add-architecture),
 *     updates apt's lists, installs sbuild's cross core dependencies (crossbuild-essential-HOST:native,
 *     libc-dev:HOST, libstdc++-dev:HOST; Build.pm, "bug #815172") with build-essential, then the build
 *     dependencies for HOST (apt-get build-dep -a HOST);
 *   - dpkg-buildpackage gets -aHOST; the build profiles default to "cross nocheck" (Conf.pm's
 *     BUILD_PROFILES default when cross; an explicit --profiles replaces them); DEB_BUILD_OPTIONS is
 *     "nocheck" when the caller's environment has none (Build.pm), and CONFIG_SITE is dpkg-cross's
 *     /etc/dpkg-cross/cross-config.HOST;
 *   - what is built follows sbuild's --arch-all/--no-arch-all, --arch-any/--no-arch-any and --source
 *     (BUILD_ARCH_ALL, BUILD_ARCH_ANY, BUILD_SOURCE, and the dpkgopt table of Build.pm): Architecture: any
 *     packages unless --no-arch-any; Architecture: all ones with --arch-all, not with --no-arch-all, and by
 *     default natively but not when cross. So a native build is -b, a cross one -B, --no-arch-any -A,
 *     and "-A" (sbuild's short --arch-all) adds the arch:all packages, never drops the others. */

typedef struct BuildPlan {
        const char *build_arch; /* the chroot's architecture, dpkg's name */
        const char *host_arch;  /* the architecture built for; NULL: build_arch */
        const char *profiles;   /* --profiles, comma-separated; NULL: the default */
        bool arch_all;          /* -A, --arch-all: build the Architecture: all packages */
        bool no_arch_all;       /* --no-arch-all: do not (the later of the two wins in cmd/) */
        bool no_arch_any;       /* --no-arch-any: no Architecture: any packages */
        bool source_too;        /* --source */
        bool binary_only;       /* --make-binNMU or --append-to-version: no Architecture: all packages
                                 * (sbuild sets BUILD_ARCH_ALL to 0 for them, and refuses --arch-all) */
        char **user_options;    /* --debbuildopts, --debbuildopt: added to dpkg-buildpackage's options */
        char **source_options;  /* --dpkg-source-opts, --dpkg-source-opt: dpkg-source's, when a source package is
                                 * built (--source-option=OPT each, before user_options) */
        bool force_orig_source; /* --force-orig-source: the upstream tarball in the .changes (-sa), when a source
                                 * package is built (sbuild's FORCE_ORIG_SOURCE) */
        /* sbuild's --add-depends, --add-depends-arch, --add-depends-indep and their --add-conflicts*: more
         * build dependencies and conflicts, as in a debian/control field each (MANUAL_DEPENDS & co. of
         * sbuild's Conf.pm); the -arch ones when Architecture: any packages are built, the -indep ones when
         * Architecture: all ones are (ResolverBase.pm). */
        char **add_depends, **add_depends_arch, **add_depends_indep;
        char **add_conflicts, **add_conflicts_arch, **add_conflicts_indep;
        bool resolve_alternatives; /* --resolve-alternatives: apt may take any alternative of a build
                                    * dependency (sbuild's RESOLVE_ALTERNATIVES; off by default, as on the
                                    * buildds, where only the first is tried) */
} BuildPlan;

/* Whether the build dependencies of @p are installed as sbuild's apt resolver installs them: Dpkg::Deps in
 * the chroot reduces them (architecture and profile restrictions, and, without --resolve-alternatives, only
 * the first alternative of each, as on a buildd), with the --add-depends and --add-conflicts, into the
 * Depends and Conflicts of a dummy package that apt-get installs (apt 1.1 or later: stretch and newer). For
 * a native build; a cross build uses apt-get build-dep -a HOST, which resolves alternatives, and apt-get
 * satisfy for the --add-* ones. */
bool buildplan_deps_dummy(const BuildPlan *p);

/* The dummy package's name. */
#define BUILDPLAN_DEPS_DUMMY "arkose-build-deps"

/* Whether @arch looks like a Debian architecture name (non-empty; a-z, 0-9 and '-'); it need not be a
 * known one. */
bool buildplan_arch_name_valid(const char *arch);

/* The host architecture: p->host_arch, else p->build_arch. Borrowed from @p. */
const char *buildplan_host_arch(const BuildPlan *p);

/* The words of the Architecture fields of the binary packages in debian/control text @control (every
 * paragraph after the first, the source's), each once, in *ret. Pure. Returns 0, or -ENOMEM. */
int buildplan_control_archs(const char *control, char ***ret);

/* Whether @p is a cross build (its host architecture differs from its build architecture). */
bool buildplan_is_cross(const BuildPlan *p);

/* The build profiles, comma-separated as dpkg-buildpackage -P takes them: p->profiles, else "cross,nocheck"
 * for a cross build, else NULL (none). Borrowed from @p or static. */
const char *buildplan_profiles(const BuildPlan *p);

/* Whether @p builds the Architecture: all packages: not for a binNMU (binary_only), else --arch-all,
 * --no-arch-all, else natively yes and cross no (sbuild's BUILD_ARCH_ALL default). */
bool buildplan_builds_arch_all(const BuildPlan *p);

/* Whether @p builds anything: a source package, Architecture: all or Architecture: any packages (sbuild
 * refuses "--no-arch-any" alone when cross, and "--no-arch-all --no-arch-any"). */
bool buildplan_builds_something(const BuildPlan *p);

/* dpkg-buildpackage's argv (NULL-terminated, "dpkg-buildpackage" first; p->user_options last, as sbuild
 * puts them) in *ret. Returns 0, -EINVAL when @p builds nothing (buildplan_builds_something()), or
 * -ENOMEM. */
int buildplan_dpkg_buildpackage_argv(const BuildPlan *p, char ***ret);

/* DEB_BUILD_OPTIONS for the build: @env (the caller's DEB_BUILD_OPTIONS, NULL if unset; for a cross
 * build NULL means "nocheck") followed by "parallel=@jobs", which replaces a parallel= of @env's; with
 * @jobs NULL, @env's parallel= stays, else "parallel=@default_jobs" is added. Returns 0 and *ret, or
 * -ENOMEM. */
int buildplan_deb_build_options(const BuildPlan *p, const char *env, const char *jobs, unsigned default_jobs,
                                char **ret);

/* The extra environment of the build ("NAME=VALUE" items; none for a native build): CONFIG_SITE of a cross
 * build. Returns 0 and *ret (NULL when empty), or -ENOMEM. */
int buildplan_build_env(const BuildPlan *p, char ***ret);

/* The command run as root before apt in the dependency session: for a cross build "dpkg
 * --add-architecture HOST" in *ret; NULL for a native build. Returns 0, or -ENOMEM. */
int buildplan_deps_setup_argv(const BuildPlan *p, char ***ret);

/* The arguments of apt-get (after its options) that install the core build dependencies: "install
 * build-essential" natively; for a cross build "satisfy" with the dependency list "build-essential:native,
 * crossbuild-essential-HOST:native, libc-dev:HOST, libstdc++-dev:HOST" (a dependency, so that the
 * virtual packages resolve as in sbuild's dummy package). Returns 0 and *ret, or -ENOMEM. */
int buildplan_core_deps_argv(const BuildPlan *p, char ***ret);

/* The arguments of apt-get that install the build dependencies of the source tree @src: "build-dep", with
 * "-a HOST" for a cross build, "-P PROFILES" when there are profiles, "--indep-only" when only Architecture: all
 * packages are built, then @src.
 * Returns 0 and *ret, or -ENOMEM. */
int buildplan_build_dep_argv(const BuildPlan *p, const char *src, char ***ret);

/* The arguments of apt-get that install p->add_depends* and remove p->add_conflicts* (those that apply to
 * what @p builds) for a cross build (natively they go into the dummy package, buildplan_deps_dummy()):
 * "satisfy", "-a HOST", "-P PROFILES" when there are profiles, the dependencies joined by ", ", then
 * "Conflicts: " and the conflicts joined so. Returns 0 and *ret, NULL when none apply; or -ENOMEM. */
int buildplan_add_deps_argv(const BuildPlan *p, char ***ret);

/* What the dependency layer depends on, hashed into its key. */
typedef struct BuildKeyInputs {
        const char *tree;         /* the tree: "NAME@VERSION" */
        const char *extra;        /* --extra-package, space-separated ("" for none) */
        const char *repositories; /* --extra-repository lines, "\n"-separated */
        const char *keys;         /* the SHA-256 of each --extra-repository-key, one a line */
        const char *setup;        /* --chroot-setup-commands, "\n"-separated */
        const char *fields;       /* the Build-Depends* and Build-Conflicts* fields of debian/control */
} BuildKeyInputs;

/* The key text of the dependency layer of @p with @in: every input above, the host architecture and the
 * profiles (both change what is installed), whether only Architecture: all packages are built, the
 * --add-depends and --add-conflicts that apply when there are any (a line of its own then), and with
 * buildplan_deps_dummy() a line saying so and whether alternatives are resolved (the layers apt-get
 * build-dep made keep their keys). Returns 0 and *ret, or -ENOMEM. */
int buildplan_key_text(const BuildPlan *p, const BuildKeyInputs *in, char **ret);

/* Whether @arg names a source package as sbuild takes one, PKG or PKG_VERSION (to be fetched from the chroot's
 * package sources), rather than a .dsc or a source directory: no '/', not ending in ".dsc". The caller checks
 * first that no such file exists. Returns 1 with *ret_name and *ret_version (NULL without "_VERSION"), 0 when
 * @arg is a path, -EINVAL when it is neither a path nor a valid PKG[_VERSION] (Debian's rules: PKG of a-z,
 * 0-9, '+', '-', '.', at least two, starting alphanumeric; VERSION starting with a digit, of alphanumerics and
 * ".+~:-"), or -ENOMEM. */
int buildplan_source_spec(const char *arg, char **ret_name, char **ret_version);

/* The files a .dsc lists, from its text @dsc (clear-signed or not): the names and SHA-256 digests of its
 * Checksums-Sha256 field, in *ret_names and *ret_sha256 (same order, lower-case hex). Returns 0; -EBADMSG when
 * the field is missing, empty or malformed, or names a file that is no plain name in the .dsc's directory (a
 * '/', a leading '.', or other than letters, digits and ".+~_-"); -ENOMEM. Pure. */
int buildplan_dsc_files(const char *dsc, char ***ret_names, char ***ret_sha256);

/* The file names of the Files field of .changes text @changes (the last word of each of its lines), in
 * *ret (NULL when there are none). Names with a '/' are left out. Pure. Returns 0, or -ENOMEM. */
int buildplan_changes_files(const char *changes, char ***ret);

/* Why apt failed, from its output @log (the dependency stage's): the problems it listed under "The following
 * packages have unmet dependencies:" ("Depends: foo (>= 2) but it is not installable"; apt-get build-dep's
 * "builddeps:DIR :", apt-get satisfy's "satisfy:command-line :" and the dummy package's "arkose-build-deps :"
 * prefixes dropped, another package's kept
 * as "PKG : ..."), each once, joined by "; "; else its last "E: " line without the "E: ". Pure. Returns 0
 * and *ret (NULL when the output says neither), or -ENOMEM. */
int buildplan_apt_failure(const char *log, char **ret);

/* ---- binNMUs and version suffixes (sbuild's --make-binNMU, --binNMU, --append-to-version) ---- */

/* The version of a binNMU: @version, then @append (may be NULL), then "+bN" for @binnmu > 0 (sbuild's
 * binNMU_version()). Returns 0 and *ret, or -ENOMEM. */
int buildplan_binnmu_version(const char *version, unsigned binnmu, const char *append, char **ret);

/* Whether @s can be appended to a Debian version (--append-to-version): non-empty, of [A-Za-z0-9.+~]. */
bool buildplan_version_suffix_valid(const char *s);

/* The date of the changelog entry as Debian Policy §4.4 writes it ("Tue, 14 Nov 2023 22:13:20 +0000", UTC),
 * from --binNMU-timestamp @stamp as sbuild reads it: seconds since the epoch (digits, an optional '+', no
 * leading zero), else the text as it is; NULL: @now. Returns 0 and *ret, -EINVAL for a text with a
 * newline, or -ENOMEM. */
int buildplan_changelog_date(const char *stamp, time_t now, char **ret);

/* The changelog entry sbuild writes above the source's own for a binNMU or a version suffix:
 *
 *   SOURCE (VERSION) DISTRIBUTION; urgency=low, binary-only=yes
 *
 *     * Append APPEND to version number; no source changes          (with @append)
 *     * Binary-only non-maintainer upload for ARCH; no source changes.   (with @text)
 *     * TEXT                                                         (its lines joined by 4 spaces)
 *
 *    -- MAINTAINER  DATE
 *
 * Returns 0 and *ret, -EINVAL when a field other than @text has a newline, or -ENOMEM. */
typedef struct BinnmuEntry {
        const char *source, *version, *distribution, *host_arch;
        const char *append;     /* --append-to-version, or NULL */
        const char *text;       /* --make-binNMU, or NULL */
        const char *maintainer; /* "Name <address>" */
        const char *date;       /* buildplan_changelog_date() */
} BinnmuEntry;
int buildplan_binnmu_entry(const BinnmuEntry *e, char **ret);

/* @argv as one line of POSIX shell, each word single-quoted ('\'' for a quote in it). NULL on OOM. */
char *buildplan_shell_join(char *const *argv);
