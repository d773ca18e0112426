/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proxy: the request-line parser, apt source URIs → allowed "HOST:PORT", and the allowed check. Pure;
 * the proxy itself is exercised by tests/integration/test-build-deps.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "proxy.h"

static void test_parse_get(void **state) {
        ProxyRequest r = {};

        (void) state;
        assert_int_equal(proxy_parse_request_line(
                                 "GET http://Deb.Debian.ORG/debian/dists/bookworm/InRelease HTTP/1.1", &r),
                         0);
        assert_string_equal(r.method, "GET");
        assert_string_equal(r.host, "deb.debian.org");
        assert_int_equal(r.port, 80);
        assert_string_equal(r.path, "/debian/dists/bookworm/InRelease");
        assert_string_equal(r.version, "HTTP/1.1");
        proxy_request_done(&r);

        assert_int_equal(proxy_parse_request_line("HEAD http://127.0.0.1:8080 HTTP/1.0", &r), 0);
        assert_string_equal(r.host, "127.0.0.1");
        assert_int_equal(r.port, 8080);
        assert_string_equal(r.path, "/");
        proxy_request_done(&r);

        assert_int_equal(proxy_parse_request_line("GET http://[::1]:3142/x HTTP/1.1", &r), 0);
        assert_string_equal(r.host, "::1");
        assert_int_equal(r.port, 3142);
        proxy_request_done(&r);
}

static void test_parse_connect(void **state) {
        ProxyRequest r = {};

        (void) state;
        assert_int_equal(proxy_parse_request_line("CONNECT mirror.example.org:443 HTTP/1.1", &r), 0);
        assert_string_equal(r.method, "CONNECT");
        assert_string_equal(r.host, "mirror.example.org");
        assert_int_equal(r.port, 443);
        assert_null(r.path);
        proxy_request_done(&r);
}

static void test_parse_bad(void **state) {
        static const char *const bad[] = {
                "",
                "GET /debian/dists HTTP/1.1", /* origin form: not a proxy request */
                "GET https://h/x HTTP/1.1",   /* https goes through CONNECT */
                "GET ftp://h/x HTTP/1.1",
                "POST http://h/x HTTP/1.1",
                "DELETE http://h/x HTTP/1.1",
                "CONNECT h HTTP/1.1", /* CONNECT needs a port */
                "CONNECT h:0 HTTP/1.1",
                "CONNECT h:65536 HTTP/1.1",
                "GET http://h:80x/ HTTP/1.1",
                "GET http://user@h/ HTTP/1.1",
                "GET http:///x HTTP/1.1",
                "GET http://h/x", /* no version */
                "GET http://h/x SPDY/3",
                "GET http://h/x HTTP/1.1 extra",
                "GET  http://h/x HTTP/1.1",
                "GET http://h/\tx HTTP/1.1",
                "GET http://h\r/x HTTP/1.1",
                "GET http://h;rm/x HTTP/1.1",
                "GET http://[::1/x HTTP/1.1",
                "GET http://[zz::1]/x HTTP/1.1",
        };

        (void) state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ProxyRequest r = {};
                int k = proxy_parse_request_line(bad[i], &r);
                if (k != -EINVAL)
                        fail_msg("'%s' gave %d", bad[i], k);
                assert_null(r.host);
        }
}

static void test_source_of_uri(void **state) {
        static const struct {
                const char *uri;
                int r;
                const char *want;
        } cases[] = {
                { "http://deb.debian.org/debian", 1, "deb.debian.org:80" },
                { "http://deb.debian.org/debian/", 1, "deb.debian.org:80" },
                { "HTTP://Deb.Debian.Org", 1, "deb.debian.org:80" },
                { "https://mirror.example.org:8443/ubuntu", 1, "mirror.example.org:8443" },
                { "https://security.debian.org/debian-security", 1, "security.debian.org:443" },
                { "http://127.0.0.1:8000/repo", 1, "127.0.0.1:8000" },
                { "http://[2001:db8::1]:81/x", 1, "[2001:db8::1]:81" },
                { "file:/srv/repo", 0, NULL },
                { "file:///srv/repo", 0, NULL },
                { "copy:/srv/repo", 0, NULL },
                { "cdrom:[Debian]/", 0, NULL },
                { "ftp://h/x", -EINVAL, NULL },
                { "mirror+http://h/list", -EINVAL, NULL },
                { "tor+http://h/x", -EINVAL, NULL },
                { "http://", -EINVAL, NULL },
                { "http://h:99999/", -EINVAL, NULL },
                { "http://u:p@h/", -EINVAL, NULL },
                { "debian", -EINVAL, NULL },
        };

        (void) state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = NULL;
                int k = proxy_source_of_uri(cases[i].uri, &got);
                if (k != cases[i].r)
                        fail_msg("'%s' gave %d, expected %d", cases[i].uri, k, cases[i].r);
                if (cases[i].want)
                        assert_string_equal(got, cases[i].want);
                else if (k >= 0)
                        assert_null(got);
                free(got);
        }
}

static void test_allows(void **state) {
        char *allowed[] = { (char *) "deb.debian.org:80", (char *) "[::1]:3142", (char *) "h:443", NULL };

        (void) state;
        assert_true(proxy_allows(allowed, "deb.debian.org", 80));
        assert_false(proxy_allows(allowed, "deb.debian.org", 443));
        assert_false(proxy_allows(allowed, "evil.example.org", 80));
        assert_false(proxy_allows(allowed, "deb.debian.org.evil.example.org", 80));
        assert_true(proxy_allows(allowed, "::1", 3142));
        assert_true(proxy_allows(allowed, "h", 443));
        assert_false(proxy_allows(NULL, "h", 443));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_get), cmocka_unit_test(test_parse_connect),
                cmocka_unit_test(test_parse_bad), cmocka_unit_test(test_source_of_uri),
                cmocka_unit_test(test_allows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
