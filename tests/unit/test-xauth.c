/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* X authority files for sessions: host-name cookies made to match any host name, others kept, malformed
 * files refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xauth.h"

/* Appends an entry as xauth writes it. */
static size_t entry(unsigned char *p, unsigned family, const char *addr, size_t addr_len, const char *number,
                    const char *name, const char *data, size_t data_len) {
        const char *f[4] = { addr, number, name, data };
        size_t l[4] = { addr_len, strlen(number), strlen(name), data_len }, n = 0;

        p[n++] = family >> 8;
        p[n++] = family & 0xff;
        for (int k = 0; k < 4; k++) {
                p[n++] = l[k] >> 8;
                p[n++] = l[k] & 0xff;
                memcpy(p + n, f[k], l[k]);
                n += l[k];
        }
        return n;
}

static void test_make_wild(void **state) {
        unsigned char in[512], want[512];
        char *out = NULL;
        size_t n = 0, w = 0, size = 0;
        const char cookie[16] = "\x32\xcc\x6f\x3c\x00\x5b\xf4\x06\xc5\x08\x6f\x6e\x6f\xef\xc2\x1f";
        (void) state;

        /* "vm/unix:57" (FamilyLocal), then "127.0.0.1:10" (FamilyInternet, 0). */
        n += entry(in + n, 256, "vm", 2, "57", "MIT-MAGIC-COOKIE-1", cookie, sizeof(cookie));
        n += entry(in + n, 0, "\x7f\x00\x00\x01", 4, "10", "MIT-MAGIC-COOKIE-1", cookie, sizeof(cookie));
        w += entry(want + w, 65535, "vm", 2, "57", "MIT-MAGIC-COOKIE-1", cookie, sizeof(cookie));
        w += entry(want + w, 0, "\x7f\x00\x00\x01", 4, "10", "MIT-MAGIC-COOKIE-1", cookie, sizeof(cookie));
        assert_int_equal(xauth_make_wild((const char *) in, n, &out, &size), 0);
        assert_int_equal(size, w);
        assert_memory_equal(out, want, w);
        free(out);

        /* Already wild: unchanged. */
        assert_int_equal(xauth_make_wild((const char *) want, w, &out, &size), 0);
        assert_memory_equal(out, want, w);
        free(out);
}

static void test_malformed(void **state) {
        unsigned char in[256];
        char *out = NULL;
        size_t n, size = 0;
        (void) state;

        n = entry(in, 256, "vm", 2, "57", "MIT-MAGIC-COOKIE-1", "0123456789abcdef", 16);
        /* Truncated anywhere: in the family, a length, or a string. */
        for (size_t cut = 1; cut < n; cut++)
                assert_int_equal(xauth_make_wild((const char *) in, cut, &out, &size), -EBADMSG);
        assert_int_equal(xauth_make_wild("#!/bin/sh\nrm -rf /\n", 19, &out, &size), -EBADMSG);
        assert_int_equal(xauth_make_wild((const char *) in, 0, &out, &size), -ENODATA);
        assert_int_equal(xauth_make_wild((const char *) in, XAUTH_MAX_SIZE + 1, &out, &size), -E2BIG);
        assert_null(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_make_wild),
                cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
