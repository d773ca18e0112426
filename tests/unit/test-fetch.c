/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Downloads from a small HTTP server that this test forks on 127.0.0.1 (an ephemeral port, plain
 * sockets, canned behaviours chosen by the path), and from file:// URLs; no network, no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"
#include "fetch.h"

#define BODY_LEN 100000

typedef struct Server {
        pid_t pid;
        int port;
        char *dir;              /* a mkdtemp() directory for downloads */
        char body[BODY_LEN];
        char body_sha256[SHA256_HEX_SIZE];
} Server;

static void make_body(char *body) {
        for (size_t i = 0; i < BODY_LEN; i++)
                body[i] = (char) ('a' + (i * 31 + i / 7) % 26);
}

/* ---- the server (runs in the forked child) ---- */

static void send_all(int fd, const void *p, size_t len) {
        const char *s = p;

        while (len > 0) {
                ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
                if (n <= 0)
                        return;
                s += n;
                len -= (size_t) n;
        }
}

static void send_head(int fd, const char *status, const char *extra) {
        char head[512];
        int n;

        n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nConnection: close\r\n%s\r\n", status, extra ?: "");
        send_all(fd, head, (size_t) n);
}

/* Waits until the client goes away (or 10 s): a server that stalls. */
static void wait_for_close(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char buf[256];

        while (poll(&p, 1, 10000) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
                ;
}

/* Sends BODY from @from, as 206 when a range was asked for. */
static void send_body(int fd, const char *body, long from) {
        char extra[256];

        if (from >= BODY_LEN) {
                snprintf(extra, sizeof(extra), "Content-Range: bytes */%d\r\nContent-Length: 0\r\n",
                         BODY_LEN);
                send_head(fd, "416 Range Not Satisfiable", extra);
                return;
        }
        if (from > 0) {
                snprintf(extra, sizeof(extra), "Content-Range: bytes %ld-%d/%d\r\nContent-Length: %ld\r\n",
                         from, BODY_LEN - 1, BODY_LEN, BODY_LEN - from);
                send_head(fd, "206 Partial Content", extra);
        } else {
                snprintf(extra, sizeof(extra), "Content-Length: %d\r\n", BODY_LEN);
                send_head(fd, "200 OK", extra);
        }
        send_all(fd, body + from, (size_t) (BODY_LEN - from));
}

static void handle(int fd, const char *body) {
        char req[8192], path[256] = "", extra[256];
        const char *range;
        size_t len = 0;
        long from = -1;

        while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
                ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
                if (n <= 0)
                        return;
                len += (size_t) n;
        }
        req[len] = '\0';
        if (sscanf(req, "GET %255s HTTP/1.1", path) != 1)
                return;
        range = strcasestr(req, "\r\nRange: bytes=");
        if (range)
                from = strtol(range + strlen("\r\nRange: bytes="), NULL, 10);

        if (streq(path, "/ok"))
                send_body(fd, body, from > 0 ? from : 0);
        else if (streq(path, "/range-only")) {
                /* Only a resumed request succeeds: proves that the client sent a Range. */
                if (from > 0)
                        send_body(fd, body, from);
                else
                        send_head(fd, "403 Forbidden", "Content-Length: 0\r\n");
        } else if (streq(path, "/norange"))
                send_body(fd, body, 0);
        else if (streq(path, "/redirect"))
                send_head(fd, "302 Found", "Location: /ok\r\nContent-Length: 0\r\n");
        else if (streq(path, "/loop"))
                send_head(fd, "302 Found", "Location: /loop\r\nContent-Length: 0\r\n");
        else if (streq(path, "/error500"))
                send_head(fd, "500 Internal Server Error", "Content-Length: 0\r\n");
        else if (streq(path, "/stall")) {
                /* Headers, then nothing. */
                snprintf(extra, sizeof(extra), "Content-Length: %d\r\n", BODY_LEN);
                send_head(fd, "200 OK", extra);
                wait_for_close(fd);
        } else if (streq(path, "/big-length")) {
                send_head(fd, "200 OK", "Content-Length: 1000000000\r\n");
                wait_for_close(fd);
        } else if (streq(path, "/big-stream")) {
                /* No Content-Length: only counting the bytes can stop it. */
                send_head(fd, "200 OK", NULL);
                for (int i = 0; i < 5; i++)
                        send_all(fd, body, BODY_LEN);
        } else if (streq(path, "/flaky")) {
                /* Cuts a fresh request off half-way; serves a resumed one. */
                if (from > 0)
                        send_body(fd, body, from);
                else {
                        snprintf(extra, sizeof(extra), "Content-Length: %d\r\n", BODY_LEN);
                        send_head(fd, "200 OK", extra);
                        send_all(fd, body, BODY_LEN / 2);
                }
        } else
                send_head(fd, "404 Not Found", "Content-Length: 9\r\n\r\nnot found");
}

static _noreturn_ void serve(int listen_fd, const char *body) {
        for (;;) {
                struct timeval tv = { .tv_sec = 5 };
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                handle(fd, body);
                (void) shutdown(fd, SHUT_WR);
                (void) close(fd);
        }
}

/* ---- fixtures ---- */

static int server_start(void **state) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        Server *s = calloc(1, sizeof(Server));
        int fd;

        assert_non_null(s);
        make_body(s->body);
        sha256_hex(s->body, BODY_LEN, s->body_sha256);
        s->dir = strdup("/tmp/arkose-unit-XXXXXX");
        assert_non_null(mkdtemp(s->dir));

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
        s->port = ntohs(a.sin_port);

        s->pid = fork();
        assert_true(s->pid >= 0);
        if (s->pid == 0)
                serve(fd, s->body);
        close(fd);
        *state = s;
        return 0;
}

static int server_stop(void **state) {
        Server *s = *state;

        /* Only the server this test started, by its PID. */
        (void) kill(s->pid, SIGKILL);
        (void) waitpid(s->pid, NULL, 0);
        (void) rm_rf(s->dir);
        free(s->dir);
        free(s);
        return 0;
}

/* Options for tests: quick retries and stall detection, no progress output. */
static FetchOptions test_options(void) {
        FetchOptions o = FETCH_OPTIONS_INIT;

        o.connect_timeout_sec = 2;
        o.low_speed_limit = 100;
        o.low_speed_time_sec = 1;
        o.retries = 0;
        o.retry_delay_ms = 0;
        o.quiet = true;
        return o;
}

static char *url(Server *s, const char *path) {
        char *u = strdup_printf("http://127.0.0.1:%d%s", s->port, path);

        assert_non_null(u);
        return u;
}

/* A fresh destination path in the test directory (nothing there yet, nor a .part). */
static char *dest(Server *s, const char *name) {
        char *p = path_join(s->dir, name);
        _cleanup_free_ char *part = strdup_printf("%s.part", p);

        (void) unlink(p);
        (void) unlink(part);
        return p;
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

static bool part_exists(const char *path) {
        _cleanup_free_ char *part = strdup_printf("%s.part", path);

        return exists(part);
}

/* ARK_TEST_VERBOSE=1 shows the reasons, to read them. */
static void assert_one_line(const char *reason) {
        if (getenv("ARK_TEST_VERBOSE"))
                print_message("reason: %s\n", reason ?: "(null)");
        assert_non_null(reason);
        assert_true(strlen(reason) > 0);
        assert_null(strchr(reason, '\n'));
}

static void assert_has(const char *reason, const char *what) {
        assert_one_line(reason);
        if (!strstr(reason, what))
                fail_msg("reason '%s' does not mention '%s'", reason, what);
}

static void assert_body(Server *s, const char *path) {
        char hex[SHA256_HEX_SIZE];
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, BODY_LEN);
        assert_int_equal(sha256_file(path, hex), 0);
        assert_string_equal(hex, s->body_sha256);
}

static void write_part(const char *path, const char *data, size_t len) {
        _cleanup_free_ char *part = strdup_printf("%s.part", path);
        int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

/* ---- tests ---- */

static void test_ok_and_checksum(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u = url(s, "/ok"), *p = dest(s, "ok.tar"), *reason = NULL;
        FetchOptions o = test_options();
        char upper[SHA256_HEX_SIZE];

        o.quiet = false; /* the start and end lines, on stdout */
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_null(reason);
        assert_body(s, p);
        assert_false(part_exists(p));

        /* The expected digest may be in upper case; and 0 for max_size means the free space. */
        for (size_t i = 0; i < SHA256_HEX_SIZE; i++)
                upper[i] = (char) toupper((unsigned char) s->body_sha256[i]);
        o = test_options();
        o.sha256 = upper;
        o.max_size = 0;
        free(p);
        p = dest(s, "ok2.tar");
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);
}

static void test_checksum_mismatch(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u = url(s, "/ok"), *p = dest(s, "bad.tar"), *reason = NULL;
        FetchOptions o = test_options();

        o.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
        assert_int_equal(fetch_download(&o, u, p, &reason), -EBADMSG);
        assert_has(reason, "checksum mismatch");
        assert_has(reason, s->body_sha256);
        assert_false(exists(p));
        assert_false(part_exists(p));

        free(reason);
        reason = NULL;
        o.sha256 = "not-a-digest";
        assert_int_equal(fetch_download(&o, u, p, &reason), -EINVAL);
        assert_one_line(reason);
}

static void test_http_errors(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u404 = url(s, "/missing"), *u500 = url(s, "/error500");
        _cleanup_free_ char *uloop = url(s, "/loop");
        _cleanup_free_ char *uredir = url(s, "/redirect"), *p = dest(s, "err.tar"), *reason = NULL;
        FetchOptions o = test_options();

        assert_int_equal(fetch_download(&o, u404, p, &reason), -ENOENT);
        assert_has(reason, "HTTP 404");
        assert_false(exists(p));
        assert_false(part_exists(p));

        /* 5xx is transient: retried, then given up. */
        free(reason);
        reason = NULL;
        o.retries = 2;
        assert_int_equal(fetch_download(&o, u500, p, &reason), -EREMOTEIO);
        assert_has(reason, "HTTP 500");
        assert_has(reason, "after 3 attempts");
        assert_false(part_exists(p));

        /* A redirect is followed; a loop of them is not. */
        o = test_options();
        assert_int_equal(fetch_download(&o, uredir, p, &reason), 0);
        assert_body(s, p);
        free(reason);
        reason = NULL;
        free(p);
        p = dest(s, "loop.tar");
        assert_int_equal(fetch_download(&o, uloop, p, &reason), -ELOOP);
        assert_one_line(reason);
        assert_false(exists(p));
        assert_false(part_exists(p));
}

static void test_stall(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u = url(s, "/stall"), *p = dest(s, "stall.tar"), *reason = NULL;
        FetchOptions o = test_options();
        struct timespec a, b;

        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(fetch_download(&o, u, p, &reason), -ETIMEDOUT);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_one_line(reason);
        assert_true(b.tv_sec - a.tv_sec < 5);
        assert_false(exists(p));
        /* Nothing arrived, so there is nothing to resume. */
        assert_false(part_exists(p));
}

static void test_too_big(void **state) {
        Server *s = *state;
        _cleanup_free_ char *ulen = url(s, "/big-length"), *ustream = url(s, "/big-stream");
        _cleanup_free_ char *p = dest(s, "big.tar"), *reason = NULL;
        FetchOptions o = test_options();

        o.max_size = 2 * BODY_LEN;
        /* Refused from the Content-Length, before any data. */
        assert_int_equal(fetch_download(&o, ulen, p, &reason), -EFBIG);
        assert_has(reason, "announced more than the limit");
        assert_false(exists(p));
        assert_false(part_exists(p));

        /* No Content-Length: stopped when the bytes received pass the limit. */
        free(reason);
        reason = NULL;
        assert_int_equal(fetch_download(&o, ustream, p, &reason), -EFBIG);
        assert_has(reason, "exceeds the limit");
        assert_false(exists(p));
        assert_false(part_exists(p));
}

static void test_resume(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u = url(s, "/range-only"), *uok = url(s, "/ok"), *unorange = url(s, "/norange");
        _cleanup_free_ char *p = dest(s, "resume.tar"), *reason = NULL;
        FetchOptions o = test_options();
        char junk[40000];

        /* The server answers only a Range request, so success means that the part was resumed. */
        o.sha256 = s->body_sha256;
        write_part(p, s->body, 40000);
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);
        assert_false(part_exists(p));

        /* A complete part: the server says 416, and the download starts afresh. */
        free(p);
        p = dest(s, "complete.tar");
        write_part(p, s->body, BODY_LEN);
        assert_int_equal(fetch_download(&o, uok, p, &reason), 0);
        assert_body(s, p);

        /* A server that ignores Range: the junk in the part is dropped. */
        memset(junk, 'X', sizeof(junk));
        free(p);
        p = dest(s, "norange.tar");
        write_part(p, junk, sizeof(junk));
        o.sha256 = NULL;
        assert_int_equal(fetch_download(&o, unorange, p, &reason), 0);
        assert_body(s, p);

        /* A stale part of other data that the server does resume: the checksum fails, then one fresh try. */
        free(p);
        p = dest(s, "stale.tar");
        write_part(p, junk, sizeof(junk));
        o.sha256 = s->body_sha256;
        assert_int_equal(fetch_download(&o, uok, p, &reason), 0);
        assert_body(s, p);
}

static void test_retry_after_cut(void **state) {
        Server *s = *state;
        _cleanup_free_ char *u = url(s, "/flaky"), *p = dest(s, "flaky.tar"), *reason = NULL;
        FetchOptions o = test_options();
        struct stat st;

        /* Without retries the cut is the error, and half the data stays for later. */
        assert_int_equal(fetch_download(&o, u, p, &reason), -ECONNRESET);
        assert_one_line(reason);
        assert_false(exists(p));
        {
                _cleanup_free_ char *part = strdup_printf("%s.part", p);
                assert_int_equal(stat(part, &st), 0);
                assert_int_equal(st.st_size, BODY_LEN / 2);
        }

        /* The next run resumes it. */
        o.sha256 = s->body_sha256;
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);

        /* With a retry, one run does both. */
        free(p);
        p = dest(s, "flaky2.tar");
        o.retries = 1;
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);
}

static void test_refused_and_unsupported(void **state) {
        Server *s = *state;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        _cleanup_free_ char *p = dest(s, "x.tar"), *reason = NULL, *u = NULL;
        FetchOptions o = test_options();
        int fd;

        /* A port that was free a moment ago: nobody listens there. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
        close(fd);
        u = strdup_printf("http://127.0.0.1:%d/ok", ntohs(a.sin_port));
        assert_int_equal(fetch_download(&o, u, p, &reason), -ECONNREFUSED);
        assert_one_line(reason);
        assert_false(exists(p));

        free(reason);
        reason = NULL;
        assert_int_equal(fetch_download(&o, "ftp://127.0.0.1/x.tar", p, &reason), -EPROTONOSUPPORT);
        assert_has(reason, "ftp://");
        free(reason);
        reason = NULL;
        assert_int_equal(fetch_download(&o, "/just/a/path", p, &reason), -EPROTONOSUPPORT);
        assert_one_line(reason);
        assert_false(part_exists(p));
}

static void test_file_url(void **state) {
        Server *s = *state;
        _cleanup_free_ char *src = path_join(s->dir, "source.bin"), *u = NULL, *p = dest(s, "file.tar");
        _cleanup_free_ char *reason = NULL, *missing = NULL;
        FetchOptions o = test_options();
        int fd;

        fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_int_equal(write(fd, s->body, BODY_LEN), BODY_LEN);
        close(fd);
        u = strdup_printf("file://%s", src);
        o.sha256 = s->body_sha256;
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);

        /* Resumed from a part, too. */
        free(p);
        p = dest(s, "file2.tar");
        write_part(p, s->body, 12345);
        assert_int_equal(fetch_download(&o, u, p, &reason), 0);
        assert_body(s, p);

        /* Larger than the limit. */
        free(p);
        p = dest(s, "file3.tar");
        o.max_size = BODY_LEN - 1;
        assert_int_equal(fetch_download(&o, u, p, &reason), -EFBIG);
        assert_one_line(reason);
        assert_false(exists(p));
        assert_false(part_exists(p));

        free(reason);
        reason = NULL;
        o.max_size = 0;
        missing = strdup_printf("file://%s/nonexistent.tar", s->dir);
        assert_int_equal(fetch_download(&o, missing, p, &reason), -ENOENT);
        assert_one_line(reason);
        assert_false(exists(p));
        assert_false(part_exists(p));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ok_and_checksum),
                cmocka_unit_test(test_checksum_mismatch),
                cmocka_unit_test(test_http_errors),
                cmocka_unit_test(test_stall),
                cmocka_unit_test(test_too_big),
                cmocka_unit_test(test_resume),
                cmocka_unit_test(test_retry_after_cut),
                cmocka_unit_test(test_refused_and_unsupported),
                cmocka_unit_test(test_file_url),
        };
        return cmocka_run_group_tests(tests, server_start, server_stop);
}
