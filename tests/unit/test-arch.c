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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_runner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
