/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* base/util: "did you mean" for a mistyped chroot name. Pure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/util.h"

static char *names[] = { (char *) "bookworm",
                         (char *) "bookworm-i386",
                         (char *) "bullseye",
                         (char *) "sid",
                         (char *) "trixie",
                         (char *) "fx",
                         NULL };

static void test_closest_typos(void **state) {
        (void) state;
        assert_string_equal(strv_find_closest(names, "bookwrom"), "bookworm");  /* a swap */
        assert_string_equal(strv_find_closest(names, "bokworm"), "bookworm");   /* a letter missing */
        assert_string_equal(strv_find_closest(names, "bookworms"), "bookworm"); /* one too many */
        assert_string_equal(strv_find_closest(names, "trixe"), "trixie");
        /* Two, in a long name. */
        assert_string_equal(strv_find_closest(names, "bookwarm-i368"), "bookworm-i386");
        assert_string_equal(strv_find_closest(names, "sd"), "sid");
        assert_string_equal(strv_find_closest(names, "fz"), "fx");
        assert_string_equal(strv_find_closest(names, "bookworm-i368"), "bookworm-i386");
}

static void test_closest_none(void **state) {
        (void) state;
        assert_null(strv_find_closest(names, "bookworm"));  /* its own: nothing to suggest */
        assert_null(strv_find_closest(names, "noble"));     /* nothing close */
        assert_null(strv_find_closest(names, "foo"));       /* two away from "fx", but only three long */
        assert_null(strv_find_closest(names, "trixy"));     /* two away from "trixie", only five long */
        assert_null(strv_find_closest(names, "bookwxxxx")); /* too far */
        assert_null(strv_find_closest(NULL, "sid"));
        assert_null(strv_find_closest(names, ""));
        /* Names too long to compare are skipped, not overrun. */
        char long_name[80], long_typo[80];
        char *long_names[] = { long_name, NULL };
        memset(long_name, 'a', 79);
        long_name[79] = '\0';
        memcpy(long_typo, long_name, 80);
        long_typo[78] = '\0';
        assert_null(strv_find_closest(long_names, long_typo));
        assert_null(strv_find_closest(long_names, "aaa"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_closest_typos),
                cmocka_unit_test(test_closest_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
