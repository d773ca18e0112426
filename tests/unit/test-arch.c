/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which architectures the host runs: natively, or through qemu-user's binfmt_misc handlers (read from a
 * directory of the test's own, laid out as /proc/sys/fs/binfmt_misc). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "base/util.h"

static void test_names(void **state) {
        (void) state;
        assert_string_equal(arch_from_machine("x86_64"), "amd64");
        assert_string_equal(arch_from_machine("aarch64"), "arm64");
        assert_string_equal(arch_from_machine("ppc64le"), "ppc64el");
        assert_null(arch_from_machine("vax"));
        assert_null(arch_from_machine(NULL));
        assert_string_equal(arch_qemu_name("arm64"), "aarch64");
        assert_string_equal(arch_qemu_name("armhf"), "arm");
        assert_string_equal(arch_qemu_name("armel"), "arm");
        assert_string_equal(arch_qemu_name("ppc64el"), "ppc64le");
        assert_string_equal(arch_qemu_name("i386"), "i386");
        assert_null(arch_qemu_name("hurd-i386"));
}

static void put(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = path_join(dir, name);

        assert_non_null(p);
        assert_int_equal(write_file_atomic(p, content, 0644), 0);
}

static void test_runner(void **state) {
        char dir[] = "/tmp/arktest-binfmt-XXXXXX";
        char *handler = NULL;

        (void) state;
        assert_non_null(mkdtemp(dir));
        /* Native: the host's own, none given, and the 32-bit ones of a 64-bit kernel. */
        assert_int_equal(arch_runner("amd64", "x86_64", dir, NULL), ARCH_RUNNER_NATIVE);
        assert_int_equal(arch_runner(NULL, "x86_64", dir, NULL), ARCH_RUNNER_NATIVE);
        assert_int_equal(arch_runner("i386", "x86_64", dir, NULL), ARCH_RUNNER_NATIVE);
        assert_int_equal(arch_runner("armhf", "aarch64", dir, NULL), ARCH_RUNNER_NATIVE);
        /* No handler (or binfmt_misc not mounted: an empty directory), no qemu for it. */
        assert_int_equal(arch_runner("arm64", "x86_64", dir, &handler), -ENOEXEC);
        assert_null(handler);
        assert_int_equal(arch_runner("hurd-i386", "x86_64", dir, NULL), -ENOEXEC);

        /* As Debian's qemu-user-static registers it: enabled, flags with F. */
        put(dir, "qemu-aarch64",
            "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\noffset 0\n"
            "magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n");
        assert_int_equal(arch_runner("arm64", "x86_64", dir, &handler), ARCH_RUNNER_QEMU);
        assert_string_equal(handler, "qemu-aarch64");
        free(handler);
        handler = NULL;
        /* armhf on x86_64 is qemu-arm's; amd64 on aarch64 is qemu-x86_64's, not there. */
        put(dir, "qemu-arm", "enabled\ninterpreter /usr/bin/qemu-arm-static\nflags: OCF\noffset 0\n");
        assert_int_equal(arch_runner("armhf", "x86_64", dir, NULL), ARCH_RUNNER_QEMU);
        assert_int_equal(arch_runner("amd64", "aarch64", dir, NULL), -ENOEXEC);

        /* Disabled, and without F (its interpreter would have to be inside the tree). */
        put(dir, "qemu-aarch64", "disabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\n");
        assert_int_equal(arch_runner("arm64", "x86_64", dir, &handler), -ENOEXEC);
        put(dir, "qemu-aarch64", "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OC\noffset 0\n");
        assert_int_equal(arch_runner("arm64", "x86_64", dir, &handler), -EPERM);
        assert_null(handler);

        assert_int_equal(rm_rf(dir), 0);
}

static void test_glibc_versions(void **state) {
        (void) state;
        /* (e)glibc 2.13 and earlier call the vsyscall page: wheezy's, squeeze's, etch's. */
        assert_true(arch_glibc_needs_vsyscall("2.13-38+deb7u10"));
        assert_true(arch_glibc_needs_vsyscall("2.11.3-4+deb6u11"));
        assert_true(arch_glibc_needs_vsyscall("2.3.6.ds1-13etch10")); /* minor 3, not 30 */
        assert_true(arch_glibc_needs_vsyscall("1:2.13-1"));           /* an epoch */
        /* 2.14 and later do not: precise's eglibc 2.15, bookworm's 2.36. */
        assert_false(arch_glibc_needs_vsyscall("2.14-1"));
        assert_false(arch_glibc_needs_vsyscall("2.15-0ubuntu10.18"));
        assert_false(arch_glibc_needs_vsyscall("2.36-9+deb12u4"));
        assert_false(arch_glibc_needs_vsyscall("3.0-1"));
        /* Not a version: nothing said. */
        assert_false(arch_glibc_needs_vsyscall(""));
        assert_false(arch_glibc_needs_vsyscall(NULL));
        assert_false(arch_glibc_needs_vsyscall("two.13"));
        assert_false(arch_glibc_needs_vsyscall("2"));
        assert_false(arch_glibc_needs_vsyscall("2."));
}

/* A dpkg status file: libc6 for i386 (multiarch) first, a removed libc6-dev, then amd64's libc6. */
static const char status_old[] =
        "Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36-9\n\n"
        "Package: libc6-dev\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 2.13-1\n\n"
        "Package: libc6\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\n"
        "Multi-Arch: same\nVersion: 2.13-38+deb7u10\nDescription: Embedded GNU C Library\n continued\n";

static void test_vsyscall(void **state) {
        char dir[] = "/tmp/arktest-vsyscall-XXXXXX";
        _cleanup_free_ char *st = NULL, *none = NULL, *mapped = NULL, *v = NULL;

        (void) state;
        assert_non_null(mkdtemp(dir));
        st = path_join(dir, "status");
        none = path_join(dir, "maps-none");
        mapped = path_join(dir, "maps-mapped");
        put(dir, "status", status_old);
        put(dir, "maps-none", "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 12 /usr/bin/cat\n"
                              "7ffd3a1f9000-7ffd3a1fb000 r-xp 00000000 00:00 0                          [vdso]\n");
        put(dir, "maps-mapped", "7ffd3a1f9000-7ffd3a1fb000 r-xp 00000000 00:00 0 [vdso]\n"
                                "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");

        assert_int_equal(arch_vsyscall_mapped(none), 0);
        assert_int_equal(arch_vsyscall_mapped(mapped), 1);
        assert_int_equal(arch_vsyscall_mapped("/nonexistent/maps"), -ENOENT);

        assert_int_equal(arch_dpkg_installed_version(st, "libc6", "amd64", &v), 0);
        assert_string_equal(v, "2.13-38+deb7u10");
        v = mfree(v);
        assert_int_equal(arch_dpkg_installed_version(st, "libc6", "i386", &v), 0);
        assert_string_equal(v, "2.36-9");
        v = mfree(v);
        assert_int_equal(arch_dpkg_installed_version(st, "libc6-dev", "amd64", &v), -ENOENT); /* not installed */
        assert_int_equal(arch_dpkg_installed_version(st, "libc6", "arm64", &v), -ENOENT);
        assert_null(v);

        /* Old libc6 for amd64, no page on an x86_64 kernel: the trap. */
        assert_int_equal(arch_vsyscall_missing(st, "x86_64", none, &v), 1);
        assert_string_equal(v, "2.13-38+deb7u10");
        v = mfree(v);
        /* The page mapped (emulate, xonly), another machine, maps unreadable: nothing to say. */
        assert_int_equal(arch_vsyscall_missing(st, "x86_64", mapped, &v), 0);
        assert_int_equal(arch_vsyscall_missing(st, "aarch64", none, &v), 0);
        assert_int_equal(arch_vsyscall_missing(st, "x86_64", "/nonexistent/maps", &v), 0);
        /* A new libc6, or none at all. */
        put(dir, "status", "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n");
        assert_int_equal(arch_vsyscall_missing(st, "x86_64", none, &v), 0);
        put(dir, "status", "");
        assert_int_equal(arch_vsyscall_missing(st, "x86_64", none, &v), 0);
        assert_int_equal(arch_vsyscall_missing("/nonexistent/status", "x86_64", none, &v), 0);
        assert_null(v);

        assert_int_equal(rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_runner),
                cmocka_unit_test(test_glibc_versions),
                cmocka_unit_test(test_vsyscall),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
