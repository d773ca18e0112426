/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* buildplan: dpkg-buildpackage's and apt's argv, the build environment and the dependency layer's key, for
 * native and cross builds (sbuild 0.85's choices). Pure; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "buildplan.h"

static const BuildPlan native = { .build_arch = "amd64" };
static const BuildPlan cross = { .build_arch = "amd64", .host_arch = "arm64" };

/* @argv joined with spaces, for comparing whole command lines. */
static char *joined(char **argv) {
        char *s = strv_join(argv, " ");
        assert_non_null(s);
        return s;
}

static void check_dpkg(const BuildPlan *p, const char *expected) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(buildplan_dpkg_buildpackage_argv(p, &argv), 0);
        s = joined(argv);
        assert_string_equal(s, expected);
}

static void test_arch_names(void **state) {
        (void) state;
        assert_true(buildplan_arch_name_valid("arm64"));
        assert_true(buildplan_arch_name_valid("musl-linux-mips"));
        assert_false(buildplan_arch_name_valid(""));
        assert_false(buildplan_arch_name_valid(NULL));
        assert_false(buildplan_arch_name_valid("arm64;rm"));
        assert_false(buildplan_arch_name_valid("ARM64"));
        assert_false(buildplan_arch_name_valid("arm 64"));
        assert_false(buildplan_arch_name_valid("i386'x"));
}

static void test_cross_or_native(void **state) {
        BuildPlan same = { .build_arch = "amd64", .host_arch = "amd64" };

        (void) state;
        assert_false(buildplan_is_cross(&native));
        assert_true(buildplan_is_cross(&cross));
        /* --host equal to the build architecture is a native build. */
        assert_false(buildplan_is_cross(&same));
        assert_string_equal(buildplan_host_arch(&native), "amd64");
        assert_string_equal(buildplan_host_arch(&cross), "arm64");
}

static void test_dpkg_buildpackage(void **state) {
        BuildPlan p;

        (void) state;
        check_dpkg(&native, "dpkg-buildpackage -us -uc -b");
        /* sbuild: -aHOST, -B (no arch:all by default when cross), -P with "cross nocheck". */
        check_dpkg(&cross, "dpkg-buildpackage -us -uc -aarm64 -B -Pcross,nocheck");
        p = (BuildPlan){ .build_arch = "amd64", .host_arch = "amd64" };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b");
        /* An explicit --profiles replaces the default, as sbuild's --profiles does. */
        p = (BuildPlan){ .build_arch = "amd64", .host_arch = "arm64", .profiles = "nodoc" };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -aarm64 -B -Pnodoc");
        p = (BuildPlan){ .build_arch = "amd64", .profiles = "nocheck,nodoc" };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b -Pnocheck,nodoc");
        /* sbuild's -A/--arch-all adds the arch:all packages (natively there already): -b, not -A. */
        p = (BuildPlan){ .build_arch = "amd64", .arch_all = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b");
        p = (BuildPlan){ .build_arch = "amd64", .no_arch_all = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -B");
        p = (BuildPlan){ .build_arch = "amd64", .no_arch_any = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -A");
        p = (BuildPlan){ .build_arch = "amd64", .arch_all = true, .no_arch_any = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -A");
        p = (BuildPlan){ .build_arch = "amd64", .source_too = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc");
        /* Source and arch:all only: -g (dpkg-buildpackage refuses "-A -S": "cannot combine"). */
        p = (BuildPlan){ .build_arch = "amd64", .source_too = true, .no_arch_any = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -g");
        p = (BuildPlan){ .build_arch = "amd64", .source_too = true, .no_arch_all = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -G");
        p = (BuildPlan){ .build_arch = "amd64", .source_too = true, .no_arch_all = true, .no_arch_any = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -S");
        p = (BuildPlan){ .build_arch = "amd64", .host_arch = "arm64", .source_too = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -aarm64 -G -Pcross,nocheck");
        /* Cross, --arch-all adds the arch:all packages (sbuild: -b); with --no-arch-any they alone (-A). */
        p = (BuildPlan){ .build_arch = "amd64", .host_arch = "arm64", .arch_all = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -aarm64 -b -Pcross,nocheck");
        p = (BuildPlan){ .build_arch = "i386", .host_arch = "armhf", .arch_all = true, .no_arch_any = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -aarmhf -A -Pcross,nocheck");
        /* A binNMU builds no arch:all packages (sbuild's BUILD_ARCH_ALL 0); --debbuildopts come last. */
        p = (BuildPlan){ .build_arch = "amd64", .binary_only = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -B");
        p = (BuildPlan){ .build_arch = "amd64", .binary_only = true, .source_too = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -G");
        char *opts[] = { (char *) "-v1.0-1", (char *) "--changes-option=-DX-Test=yes", NULL };
        p = (BuildPlan){ .build_arch = "amd64", .user_options = opts };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b -v1.0-1 --changes-option=-DX-Test=yes");
        /* --dpkg-source-opts: dpkg-source's, when the source package is built only. */
        char *sopts[] = { (char *) "-Zgzip", (char *) "--compression-level=1", NULL };
        p = (BuildPlan){ .build_arch = "amd64", .source_options = sopts, .user_options = opts };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b -v1.0-1 --changes-option=-DX-Test=yes");
        p.source_too = true;
        check_dpkg(&p, "dpkg-buildpackage -us -uc --source-option=-Zgzip --source-option=--compression-level=1 "
                       "-v1.0-1 --changes-option=-DX-Test=yes");
        /* --force-orig-source: -sa, with --source only (sbuild's). */
        p = (BuildPlan){ .build_arch = "amd64", .force_orig_source = true };
        check_dpkg(&p, "dpkg-buildpackage -us -uc -b");
        p.source_too = true;
        check_dpkg(&p, "dpkg-buildpackage -us -uc -sa");
        /* A binNMU of a source with arch:all packages only builds nothing (refused by the caller). */
        p = (BuildPlan){ .build_arch = "amd64", .binary_only = true, .no_arch_any = true };
        assert_false(buildplan_builds_something(&p));
}

static void test_binnmu(void **state) {
        _cleanup_free_ char *v = NULL, *d = NULL, *e = NULL, *e2 = NULL;
        (void) state;

        /* sbuild's binNMU_version(): the suffix, then +bN. */
        assert_int_equal(buildplan_binnmu_version("2.10-3", 1, NULL, &v), 0);
        assert_string_equal(v, "2.10-3+b1");
        v = mfree(v);
        assert_int_equal(buildplan_binnmu_version("1:2.10-3", 2, "~bpo12+1", &v), 0);
        assert_string_equal(v, "1:2.10-3~bpo12+1+b2");
        v = mfree(v);
        assert_int_equal(buildplan_binnmu_version("1.0", 0, "+local1", &v), 0);
        assert_string_equal(v, "1.0+local1");
        assert_true(buildplan_version_suffix_valid("~bpo12+1"));
        assert_true(buildplan_version_suffix_valid("+local.1"));
        assert_false(buildplan_version_suffix_valid(""));
        assert_false(buildplan_version_suffix_valid("-1"));
        assert_false(buildplan_version_suffix_valid("1:2"));
        assert_false(buildplan_version_suffix_valid("a b"));

        /* Dates as Policy writes them, in UTC, whatever the locale. */
        assert_int_equal(buildplan_changelog_date("1700000000", 0, &d), 0);
        assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 +0000");
        d = mfree(d);
        assert_int_equal(buildplan_changelog_date("+86400", 0, &d), 0);
        assert_string_equal(d, "Fri, 02 Jan 1970 00:00:00 +0000");
        d = mfree(d);
        assert_int_equal(buildplan_changelog_date(NULL, 1700000000, &d), 0);
        assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 +0000");
        d = mfree(d);
        /* Not seconds (a leading zero, a date): the text as it is, as sbuild takes it. */
        assert_int_equal(buildplan_changelog_date("Mon, 01 Jan 2024 10:00:00 +0100", 0, &d), 0);
        assert_string_equal(d, "Mon, 01 Jan 2024 10:00:00 +0100");
        d = mfree(d);
        assert_int_equal(buildplan_changelog_date("0123", 0, &d), 0);
        assert_string_equal(d, "0123");
        d = mfree(d);
        assert_int_equal(buildplan_changelog_date("a\nb", 0, &d), -EINVAL);

        BinnmuEntry en = {
                .source = "hello", .version = "2.10-3+b1", .distribution = "bookworm", .host_arch = "amd64",
                .text = "Rebuild against libfoo2.\nSecond line.", .maintainer = "Jane Doe <jane@example.org>",
                .date = "Tue, 14 Nov 2023 22:13:20 +0000",
        };
        assert_int_equal(buildplan_binnmu_entry(&en, &e), 0);
        assert_string_equal(e, "hello (2.10-3+b1) bookworm; urgency=low, binary-only=yes\n\n"
                               "  * Binary-only non-maintainer upload for amd64; no source changes.\n"
                               "  * Rebuild against libfoo2.    Second line.\n\n"
                               " -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n\n");
        en.text = NULL;
        en.append = "~bpo12+1";
        en.version = "2.10-3~bpo12+1";
        assert_int_equal(buildplan_binnmu_entry(&en, &e2), 0);
        assert_string_equal(e2, "hello (2.10-3~bpo12+1) bookworm; urgency=low, binary-only=yes\n\n"
                                "  * Append ~bpo12+1 to version number; no source changes\n\n"
                                " -- Jane Doe <jane@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n\n");
        e2 = mfree(e2);
        en.maintainer = "Jane\nDoe";
        assert_int_equal(buildplan_binnmu_entry(&en, &e2), -EINVAL);
}

/* What sbuild refuses ("Neither architecture specific nor architecture independent or source package
 * specified to be built"): nothing to build. */
static void test_nothing_to_build(void **state) {
        _cleanup_strv_free_ char **argv = NULL;
        BuildPlan cross_no_any = { .build_arch = "amd64", .host_arch = "arm64", .no_arch_any = true };
        BuildPlan neither = { .build_arch = "amd64", .no_arch_all = true, .no_arch_any = true };
        BuildPlan source = { .build_arch = "amd64", .host_arch = "arm64", .no_arch_any = true, .source_too = true };

        (void) state;
        assert_false(buildplan_builds_something(&cross_no_any));
        assert_false(buildplan_builds_something(&neither));
        assert_true(buildplan_builds_something(&source));
        assert_int_equal(buildplan_dpkg_buildpackage_argv(&neither, &argv), -EINVAL);
        assert_null(argv);
        assert_true(buildplan_builds_arch_all(&native));
        assert_false(buildplan_builds_arch_all(&cross));
}

static void test_environment(void **state) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        _cleanup_strv_free_ char **env = NULL, **none = NULL;

        (void) state;
        assert_int_equal(buildplan_deb_build_options(&native, NULL, "2", 8, &a), 0);
        assert_string_equal(a, "parallel=2");
        /* Cross: "nocheck" when the caller set no DEB_BUILD_OPTIONS, theirs otherwise (sbuild). */
        assert_int_equal(buildplan_deb_build_options(&cross, NULL, "4", 8, &b), 0);
        assert_string_equal(b, "nocheck parallel=4");
        assert_int_equal(buildplan_deb_build_options(&cross, "noopt", "2", 8, &c), 0);
        assert_string_equal(c, "noopt parallel=2");
        assert_int_equal(buildplan_deb_build_options(&native, "nocheck", "3", 8, &d), 0);
        assert_string_equal(d, "nocheck parallel=3");
        /* No --jobs: the caller's parallel= stays, else the default (the CPUs we may use). --jobs replaces
         * the caller's, never a second one beside it. */
        _cleanup_free_ char *e = NULL, *f = NULL, *g = NULL;
        assert_int_equal(buildplan_deb_build_options(&native, "nocheck parallel=6", NULL, 8, &e), 0);
        assert_string_equal(e, "nocheck parallel=6");
        assert_int_equal(buildplan_deb_build_options(&native, "nodoc", NULL, 8, &f), 0);
        assert_string_equal(f, "nodoc parallel=8");
        assert_int_equal(buildplan_deb_build_options(&native, "parallel=6  nocheck", "3", 8, &g), 0);
        assert_string_equal(g, "nocheck parallel=3");

        assert_int_equal(buildplan_build_env(&native, &none), 0);
        assert_null(none);
        assert_int_equal(buildplan_build_env(&cross, &env), 0);
        assert_int_equal(strv_length(env), 1);
        assert_string_equal(env[0], "CONFIG_SITE=/etc/dpkg-cross/cross-config.arm64");
}

static void test_apt(void **state) {
        _cleanup_strv_free_ char **setup_native = NULL, **setup = NULL, **core_native = NULL, **core = NULL,
                                 **bd_native = NULL, **bd = NULL, **bd_indep = NULL, **bd_both = NULL;
        _cleanup_free_ char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL, *s5 = NULL, *s6 = NULL;
        BuildPlan indep = { .build_arch = "amd64", .no_arch_any = true, .profiles = "nodoc" };
        BuildPlan both = { .build_arch = "amd64", .arch_all = true, .profiles = "nodoc" };

        (void) state;
        assert_int_equal(buildplan_deps_setup_argv(&native, &setup_native), 0);
        assert_null(setup_native);
        assert_int_equal(buildplan_deps_setup_argv(&cross, &setup), 0);
        s1 = joined(setup);
        assert_string_equal(s1, "dpkg --add-architecture arm64");

        assert_int_equal(buildplan_core_deps_argv(&native, &core_native), 0);
        s2 = joined(core_native);
        assert_string_equal(s2, "install build-essential");
        assert_int_equal(buildplan_core_deps_argv(&cross, &core), 0);
        assert_int_equal(strv_length(core), 2);
        assert_string_equal(core[0], "satisfy");
        assert_string_equal(core[1],
                            "build-essential:native, crossbuild-essential-arm64:native, libc-dev:arm64, "
                            "libstdc++-dev:arm64");

        assert_int_equal(buildplan_build_dep_argv(&native, "/b/src", &bd_native), 0);
        s3 = joined(bd_native);
        assert_string_equal(s3, "build-dep /b/src");
        assert_int_equal(buildplan_build_dep_argv(&cross, "/b/src", &bd), 0);
        s4 = joined(bd);
        assert_string_equal(s4, "build-dep -a arm64 -P cross,nocheck /b/src");
        assert_int_equal(buildplan_build_dep_argv(&indep, "/b/src", &bd_indep), 0);
        s5 = joined(bd_indep);
        assert_string_equal(s5, "build-dep -P nodoc --indep-only /b/src");
        /* -A natively builds the arch:any packages too: all the build dependencies. */
        assert_int_equal(buildplan_build_dep_argv(&both, "/b/src", &bd_both), 0);
        s6 = joined(bd_both);
        assert_string_equal(s6, "build-dep -P nodoc /b/src");
}

/* sbuild's --add-depends and --add-conflicts: the -arch ones with Architecture: any packages, the -indep ones
 * with Architecture: all ones (ResolverBase.pm), through apt-get satisfy; and in the layer's key. */
static void test_add_deps(void **state) {
        char *d[] = { (char *) "libfoo-dev (>= 2)", (char *) "bar | baz", NULL };
        char *da[] = { (char *) "gcc-12", NULL }, *di[] = { (char *) "doxygen <!nodoc>", NULL };
        char *c[] = { (char *) "libold-dev", NULL }, *ci[] = { (char *) "texlive", NULL };
        BuildPlan all = { .build_arch = "amd64", .add_depends = d, .add_depends_arch = da, .add_depends_indep = di,
                          .add_conflicts = c, .add_conflicts_indep = ci };
        BuildPlan indep = all, crossed = all, conflicts_only = { .build_arch = "amd64", .add_conflicts = c };
        BuildPlan none = { .build_arch = "amd64", .add_depends_indep = di, .no_arch_all = true };
        _cleanup_strv_free_ char **a1 = NULL, **a2 = NULL, **a3 = NULL, **a4 = NULL, **a5 = NULL, **a6 = NULL;
        _cleanup_free_ char *k_plain = NULL, *k_none = NULL, *k_add = NULL;
        BuildKeyInputs in = { .tree = "bookworm@1", .fields = "Build-Depends: zlib1g-dev\n" };

        (void) state;
        indep.no_arch_any = true;
        crossed.host_arch = "arm64";
        assert_int_equal(buildplan_add_deps_argv(&all, &a1), 0);
        assert_int_equal(strv_length(a1), 3);
        assert_string_equal(a1[0], "satisfy");
        assert_string_equal(a1[1], "libfoo-dev (>= 2), bar | baz, gcc-12, doxygen <!nodoc>");
        assert_string_equal(a1[2], "Conflicts: libold-dev, texlive");
        /* --no-arch-any: no -arch ones. */
        assert_int_equal(buildplan_add_deps_argv(&indep, &a2), 0);
        assert_string_equal(a2[1], "libfoo-dev (>= 2), bar | baz, doxygen <!nodoc>");
        /* Cross: for the host architecture, with the cross profiles; no arch:all packages, no -indep ones. */
        assert_int_equal(buildplan_add_deps_argv(&crossed, &a3), 0);
        assert_int_equal(strv_length(a3), 7);
        assert_string_equal(a3[1], "-a");
        assert_string_equal(a3[2], "arm64");
        assert_string_equal(a3[3], "-P");
        assert_string_equal(a3[4], "cross,nocheck");
        assert_string_equal(a3[5], "libfoo-dev (>= 2), bar | baz, gcc-12");
        assert_string_equal(a3[6], "Conflicts: libold-dev");
        assert_int_equal(buildplan_add_deps_argv(&conflicts_only, &a4), 0);
        assert_int_equal(strv_length(a4), 2);
        assert_string_equal(a4[1], "Conflicts: libold-dev");
        /* Nothing that applies, or nothing at all: no command. */
        assert_int_equal(buildplan_add_deps_argv(&none, &a5), 0);
        assert_null(a5);
        assert_int_equal(buildplan_add_deps_argv(&native, &a6), 0);
        assert_null(a6);

        /* The key: unchanged without them (the layers made before stay valid), another with them. */
        assert_int_equal(buildplan_key_text(&native, &in, &k_plain), 0);
        assert_int_equal(buildplan_key_text(&none, &in, &k_none), 0);
        assert_int_equal(buildplan_key_text(&all, &in, &k_add), 0);
        assert_null(strstr(k_plain, "add="));
        assert_string_equal(k_plain, k_none);
        assert_non_null(strstr(k_add, "add=satisfy\tlibfoo-dev (>= 2), bar | baz, gcc-12, doxygen <!nodoc>\t"
                                      "Conflicts: libold-dev, texlive\n"));
}

static void test_source_spec(void **state) {
        char *name = NULL, *version = NULL;

        (void) state;
        assert_int_equal(buildplan_source_spec("hello", &name, &version), 1);
        assert_string_equal(name, "hello");
        assert_null(version);
        free(name);
        assert_int_equal(buildplan_source_spec("libfoo++1.2-dev_1:2.10-3+b1~bpo12", &name, &version), 1);
        assert_string_equal(name, "libfoo++1.2-dev");
        assert_string_equal(version, "1:2.10-3+b1~bpo12");
        free(name);
        free(version);
        /* Paths. */
        assert_int_equal(buildplan_source_spec("./hello", &name, &version), 0);
        assert_int_equal(buildplan_source_spec("hello_2.10-3.dsc", &name, &version), 0);
        assert_int_equal(buildplan_source_spec(".", &name, &version), 0);
        assert_null(name);
        /* Neither. */
        assert_int_equal(buildplan_source_spec("Hello", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("h", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("-hello", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("hello_", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("hello_v2", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("hello_2;rm", &name, &version), -EINVAL);
        assert_int_equal(buildplan_source_spec("hel lo", &name, &version), -EINVAL);
        assert_null(name);
        assert_null(version);
}

static void test_dsc_files(void **state) {
        const char *ok = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nFormat: 3.0 (quilt)\nSource: hello\n"
                         "Checksums-Sha1:\n 0000000000000000000000000000000000000000 1 hello_2.10.orig.tar.gz\n"
                         "Checksums-Sha256:\n"
                         " 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 725946 hello_2.10.orig.tar.gz\r\n"
                         " 5F8DE1C5ED1D2D4E33BE0A9E3E6F4A0AB6B0FCE5E3D6B5A3B0C6E9C2D1A0B9C8 12688 hello_2.10-3.debian.tar.xz\n"
                         "Files:\n d41d8cd98f00b204e9800998ecf8427e 1 hello_2.10.orig.tar.gz\n\n"
                         "-----BEGIN PGP SIGNATURE-----\n";
        _cleanup_strv_free_ char **names = NULL, **sums = NULL;
        char **n = NULL, **h = NULL;

        (void) state;
        assert_int_equal(buildplan_dsc_files(ok, &names, &sums), 0);
        assert_int_equal(strv_length(names), 2);
        assert_string_equal(names[0], "hello_2.10.orig.tar.gz");
        assert_string_equal(names[1], "hello_2.10-3.debian.tar.xz");
        assert_string_equal(sums[0], "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b");
        assert_string_equal(sums[1], "5f8de1c5ed1d2d4e33be0a9e3e6f4a0ab6b0fce5e3d6b5a3b0c6e9c2d1a0b9c8");
        /* Hostile or broken ones. */
        assert_int_equal(buildplan_dsc_files("Source: x\nFiles:\n d41d8cd98f00b204e9800998ecf8427e 1 x.tar\n", &n, &h),
                         -EBADMSG);
        assert_int_equal(buildplan_dsc_files("Checksums-Sha256:\n"
                                             " 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 1 ../etc/passwd\n",
                                             &n, &h),
                         -EBADMSG);
        assert_int_equal(buildplan_dsc_files("Checksums-Sha256:\n"
                                             " 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 1 .hidden\n",
                                             &n, &h),
                         -EBADMSG);
        assert_int_equal(buildplan_dsc_files("Checksums-Sha256:\n 31e0 1 x.tar.gz\n", &n, &h), -EBADMSG);
        assert_int_equal(buildplan_dsc_files("Checksums-Sha256:\n"
                                             " 31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b 1 x.tar y\n",
                                             &n, &h),
                         -EBADMSG);
        assert_int_equal(buildplan_dsc_files("Checksums-Sha256:\nFiles:\n", &n, &h), -EBADMSG);
        assert_null(n);
        assert_null(h);
}

static void test_key(void **state) {
        BuildKeyInputs in = { .tree = "bookworm@1",
                              .extra = "",
                              .repositories = "",
                              .keys = "",
                              .setup = "",
                              .fields = "Build-Depends: zlib1g-dev\n" };
        BuildPlan same = { .build_arch = "amd64", .host_arch = "amd64" };
        BuildPlan armhf = { .build_arch = "amd64", .host_arch = "armhf" };
        BuildPlan nodoc = { .build_arch = "amd64", .host_arch = "arm64", .profiles = "nodoc" };
        _cleanup_free_ char *k_native = NULL, *k_same = NULL, *k_cross = NULL, *k_armhf = NULL,
                            *k_nodoc = NULL;

        (void) state;
        assert_int_equal(buildplan_key_text(&native, &in, &k_native), 0);
        assert_int_equal(buildplan_key_text(&same, &in, &k_same), 0);
        assert_int_equal(buildplan_key_text(&cross, &in, &k_cross), 0);
        assert_int_equal(buildplan_key_text(&armhf, &in, &k_armhf), 0);
        assert_int_equal(buildplan_key_text(&nodoc, &in, &k_nodoc), 0);
        assert_non_null(strstr(k_native, "tree=bookworm@1\nhost=amd64\nprofiles=\n"));
        assert_non_null(strstr(k_cross, "host=arm64\nprofiles=cross,nocheck\n"));
        assert_non_null(strstr(k_cross, "Build-Depends: zlib1g-dev\n"));
        /* The host architecture and the profiles are in the key; --host = the build architecture is native.
         */
        assert_string_equal(k_native, k_same);
        assert_string_not_equal(k_native, k_cross);
        assert_string_not_equal(k_cross, k_armhf);
        assert_string_not_equal(k_cross, k_nodoc);
        /* Natively the dummy package, first alternatives unless --resolve-alternatives; cross: apt-get
         * build-dep, the key as before. */
        assert_true(buildplan_deps_dummy(&native));
        assert_false(buildplan_deps_dummy(&cross));
        assert_non_null(strstr(k_native, "dummy=first-alternatives\n"));
        assert_null(strstr(k_cross, "dummy="));
        {
                BuildPlan resolve = { .build_arch = "amd64", .resolve_alternatives = true };
                _cleanup_free_ char *k_resolve = NULL;

                assert_int_equal(buildplan_key_text(&resolve, &in, &k_resolve), 0);
                assert_non_null(strstr(k_resolve, "dummy=alternatives\n"));
                assert_string_not_equal(k_native, k_resolve);
        }
}

static void test_control_archs(void **state) {
        _cleanup_strv_free_ char **l = NULL;

        (void) state;
        assert_int_equal(buildplan_control_archs("Source: x\nArchitecture: sourcearch\nBuild-Depends: a\n\n"
                                                 "Package: x\narchitecture: any-amd64  linux-any\n\n \n"
                                                 "# a comment\nPackage: x-doc\nArchitecture: all\n\n"
                                                 "Package: x-dup\nArchitecture: linux-any\n",
                                                 &l),
                         0);
        assert_int_equal(strv_length(l), 3); /* the source paragraph's is no package's; duplicates once */
        assert_string_equal(l[0], "any-amd64");
        assert_string_equal(l[1], "linux-any");
        assert_string_equal(l[2], "all");
        l = strv_free(l);
        assert_int_equal(buildplan_control_archs("Source: x\n", &l), 0);
        assert_null(l[0]);
}

static void test_shell_join(void **state) {
        char *plain[] = { (char *) "dpkg-buildpackage", (char *) "-aarm64", NULL };
        char *quote[] = { (char *) "it's", (char *) "$x `y`", NULL };
        char *empty[] = { NULL };
        _cleanup_free_ char *a = buildplan_shell_join(plain), *b = buildplan_shell_join(quote),
                            *c = buildplan_shell_join(empty);

        (void) state;
        assert_string_equal(a, "'dpkg-buildpackage' '-aarm64'");
        assert_string_equal(b, "'it'\\''s' '$x `y`'");
        assert_string_equal(c, "");
}

/* apt's own words, as the dependency stage logged them (apt 2.6, twice: before and after its update). */
static void test_apt_failure(void **state) {
        static const char unmet[] =
                "Reading package lists...\n"
                "Some packages could not be installed. This may mean that you have\n"
                "The following information may help to resolve the situation:\n"
                "\n"
                "The following packages have unmet dependencies:\n"
                " builddeps:/var/lib/arkose/builds/build-AhjaSK/build/reproducible-path : Depends: libnone-dev (>= 2) but it is not installable\n"
                "                                                                         Depends: debhelper-compat (= 99)\n"
                " libfoo-dev : Depends: libbar1 (= 3) but 2 is to be installed\n"
                "E: Unable to correct problems, you have held broken packages.\n"
                "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\n"
                "The following packages have unmet dependencies:\n"
                " builddeps:/var/lib/arkose/builds/build-AhjaSK/build/reproducible-path : Depends: libnone-dev (>= 2) but it is not installable\n"
                "E: Unable to correct problems, you have held broken packages.\n";
        static const char cross[] =
                "The following packages have unmet dependencies:\n"
                " satisfy:command-line : Depends: crossbuild-essential-mips:native but it is not installable\n"
                "E: Unable to satisfy dependencies. Reached two conflicting assignments:\n";
        static const char missing[] =
                "Reading package lists...\n"
                "E: Unable to locate package arkose-nothing\n";
        static const char dummy[] =
                "The following packages have unmet dependencies:\n"
                " arkose-build-deps : Depends: arkose-no-such-package (>= 2) but it is not installable\n"
                "E: Unable to correct problems, you have held broken packages.\n";
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

        (void) state;
        assert_int_equal(buildplan_apt_failure(dummy, &e), 0);
        assert_string_equal(e, "Depends: arkose-no-such-package (>= 2) but it is not installable");
        assert_int_equal(buildplan_apt_failure(unmet, &a), 0);
        assert_string_equal(a, "Depends: libnone-dev (>= 2) but it is not installable; Depends: debhelper-compat (= 99); "
                               "libfoo-dev : Depends: libbar1 (= 3) but 2 is to be installed");
        assert_int_equal(buildplan_apt_failure(cross, &b), 0);
        assert_string_equal(b, "Depends: crossbuild-essential-mips:native but it is not installable");
        assert_int_equal(buildplan_apt_failure(missing, &c), 0);
        assert_string_equal(c, "Unable to locate package arkose-nothing");
        assert_int_equal(buildplan_apt_failure("Reading package lists...\nKilled\n", &d), 0);
        assert_null(d);
}

/* A .changes of dpkg-genchanges: the Files field's names, not Checksums-Sha256's (the same names). */
static void test_changes_files(void **state) {
        static const char changes[] =
                "Format: 1.8\n"
                "Source: hello\n"
                "Files:\n"
                " 0a1b 53076 devel optional hello_2.10-3_amd64.deb\n"
                " 9f8e 5606 devel optional hello_2.10-3_amd64.buildinfo\n"
                " 1234 1 devel optional ../evil\n"
                "Checksums-Sha256:\n"
                " abcd 53076 hello_2.10-3_amd64.deb\n"
                "Description:\n"
                " hello - example package\n";
        _cleanup_strv_free_ char **files = NULL, **none = NULL;

        (void) state;
        assert_int_equal(buildplan_changes_files(changes, &files), 0);
        assert_int_equal(strv_length(files), 2);
        assert_string_equal(files[0], "hello_2.10-3_amd64.deb");
        assert_string_equal(files[1], "hello_2.10-3_amd64.buildinfo");
        assert_int_equal(buildplan_changes_files("Format: 1.8\n", &none), 0);
        assert_null(none);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_arch_names),
                cmocka_unit_test(test_control_archs),
                cmocka_unit_test(test_cross_or_native),
                cmocka_unit_test(test_dpkg_buildpackage),
                cmocka_unit_test(test_nothing_to_build),
                cmocka_unit_test(test_environment),
                cmocka_unit_test(test_apt),
                cmocka_unit_test(test_key),
                cmocka_unit_test(test_add_deps),
                cmocka_unit_test(test_source_spec),
                cmocka_unit_test(test_dsc_files),
                cmocka_unit_test(test_shell_join),
                cmocka_unit_test(test_apt_failure),
                cmocka_unit_test(test_changes_files),
                cmocka_unit_test(test_binnmu),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
