/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Golden files (util-linux tests/expected/ style): generated text is compared with a file under
 * tests/data/. With ARK_UPDATE_GOLDEN=1 in the environment the file is rewritten instead, to be reviewed
 * with git diff. Include after <cmocka.h>. */

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static inline void assert_golden(const char *path, const char *actual) {
        _cleanup_free_ char *expected = NULL;
        const char *update = getenv("ARK_UPDATE_GOLDEN");
        int r;

        if (update && streq(update, "1")) {
                assert_int_equal(write_file_atomic(path, actual, 0644), 0);
                return;
        }
        r = read_file(path, &expected);
        if (r < 0)
                print_error("Cannot read golden file %s: %s\n", path, strerror(-r));
        assert_int_equal(r, 0);
        if (!streq(expected, actual)) {
                const char *e = expected, *a = actual;
                unsigned line = 1;

                for (; *e && *e == *a; e++, a++)
                        line += *e == '\n';
                print_error("%s differs from the generated text from line %u; generated:\n%s\n", path, line,
                            actual);
        }
        assert_string_equal(actual, expected);
}
