/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --isolate-network's pure part: the bounding set read from /proc/PID/status text. No root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "container-internal.h"

static void test_capbnd(void **state) {
        uint64_t v = 0;

        (void) state;
        assert_int_equal(container_parse_capbnd("Name:\tsleep\nCapPrm:\t0000000000000000\n"
                                                "CapBnd:\t00000100a084cfff\nCapAmb:\t0000000000000000\n",
                                                &v),
                         0);
        assert_true(v == UINT64_C(0x00000100a084cfff));
        /* sys_admin (21) dropped, chown (0) kept: what container_isolated_exec() reads bit by bit. */
        assert_false(v & (UINT64_C(1) << 21));
        assert_true(v & 1);
        assert_int_equal(container_parse_capbnd("CapBnd:\t000001ffffffffff", &v), 0);
        assert_true(v == UINT64_C(0x000001ffffffffff));
}

static void test_capbnd_bad(void **state) {
        uint64_t v = 42;

        (void) state;
        assert_int_equal(container_parse_capbnd("", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("Name:\tx\nCapEff:\t0\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("XCapBnd:\t0\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("CapBnd:\t\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("CapBnd:\tzz\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("CapBnd:\t12 junk\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("CapBnd:\t-1\n", &v), -EBADMSG);
        assert_int_equal(container_parse_capbnd("CapBnd:\t1ffffffffffffffffff\n", &v), -EBADMSG);
        assert_true(v == 42); /* untouched on failure */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_capbnd),
                cmocka_unit_test(test_capbnd_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
