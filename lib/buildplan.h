/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

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
 *   - with neither -A nor --source, a cross build is -B (architecture-dependent packages only: sbuild's
 *     BUILD_ARCH_ALL is off by default when cross), a native one -b. */

typedef struct BuildPlan {
        const char *build_arch; /* the chroot's architecture, dpkg's name */
        const char *host_arch;  /* the architecture built for; NULL: build_arch */
        const char *profiles;   /* --profiles, comma-separated; NULL: the default */
        bool arch_all_only;     /* -A */
        bool no_arch_any;       /* --no-arch-any */
        bool source_too;        /* --source */
} BuildPlan;

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

/* dpkg-buildpackage's argv (NULL-terminated, "dpkg-buildpackage" first) in *ret. Returns 0, or -ENOMEM. */
int buildplan_dpkg_buildpackage_argv(const BuildPlan *p, char ***ret);

/* DEB_BUILD_OPTIONS for the build: @env (the caller's DEB_BUILD_OPTIONS, NULL if unset; for a cross
 * build NULL means "nocheck") followed by "parallel=@jobs". Returns 0 and *ret, or -ENOMEM. */
int buildplan_deb_build_options(const BuildPlan *p, const char *env, const char *jobs, char **ret);

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
 * "-a HOST" for a cross build, "-P PROFILES" when there are profiles, "--indep-only" with -A, then @src.
 * Returns 0 and *ret, or -ENOMEM. */
int buildplan_build_dep_argv(const BuildPlan *p, const char *src, char ***ret);

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
 * profiles (both change what is installed), -A. Returns 0 and *ret, or -ENOMEM. */
int buildplan_key_text(const BuildPlan *p, const BuildKeyInputs *in, char **ret);

/* @argv as one line of POSIX shell, each word single-quoted ('\'' for a quote in it). NULL on OOM. */
char *buildplan_shell_join(char *const *argv);
