/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A forward HTTP proxy for apt that serves only the package sources (see proxy.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "proxy.h"

#define PROXY_HEADER_MAX        16384
#define PROXY_IDLE_MS           (300 * 1000)
#define PROXY_CONNECT_TIMEOUT_S 30

struct Proxy {
        pid_t pid;
        uint16_t port;
};

void proxy_request_done(ProxyRequest *r) {
        free(r->method);
        free(r->host);
        free(r->path);
        free(r->version);
        *r = (ProxyRequest){};
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

static int parse_port(const char *s, size_t n, uint16_t *ret) {
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

/* "host[:port]" or "[v6]:port" (the first @n bytes of @s) → lower-case host and port (@default_port when
 * none is given; 0: a port is required). */
static int parse_authority(const char *s, size_t n, uint16_t default_port, char **ret_host,
                           uint16_t *ret_port) {
        _cleanup_free_ char *host = NULL;
        const char *h = s, *port = NULL;
        size_t hn;
        uint16_t p = default_port;
        int r;

        if (memchr(s, '@', n))
                return -EINVAL; /* user info: never sent by apt to a proxy */
        if (n > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close)
                        return -EINVAL;
                h = s + 1;
                hn = (size_t) (close - h);
                if (close + 1 < s + n) {
                        if (close[1] != ':')
                                return -EINVAL;
                        port = close + 2;
                }
                for (size_t i = 0; i < hn; i++)
                        if (!isxdigit((unsigned char) h[i]) && h[i] != ':' && h[i] != '.')
                                return -EINVAL;
        } else {
                const char *colon = memchr(s, ':', n);
                hn = colon ? (size_t) (colon - s) : n;
                if (colon)
                        port = colon + 1;
                for (size_t i = 0; i < hn; i++)
                        if (!isalnum((unsigned char) h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
                                return -EINVAL;
        }
        if (hn == 0)
                return -EINVAL;
        if (port) {
                r = parse_port(port, (size_t) (s + n - port), &p);
                if (r < 0)
                        return r;
        }
        if (p == 0)
                return -EINVAL;
        host = strndup(h, hn);
        if (!host)
                return -ENOMEM;
        for (char *c = host; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        *ret_host = TAKE_PTR(host);
        *ret_port = p;
        return 0;
}

int proxy_parse_request_line(const char *line, ProxyRequest *ret) {
        _cleanup_strv_free_ char **w = NULL;
        _cleanup_(proxy_request_done) ProxyRequest req = {};
        const char *uri, *slash;
        int r;

        if (has_control(line) || strstr(line, "  ") || line[0] == ' ')
                return -EINVAL;
        w = strv_split(line, " ");
        if (!w)
                return -ENOMEM;
        if (strv_length(w) != 3 || !startswith(w[2], "HTTP/1."))
                return -EINVAL;
        req.method = strdup(w[0]);
        req.version = strdup(w[2]);
        if (!req.method || !req.version)
                return -ENOMEM;
        uri = w[1];
        if (streq(w[0], "CONNECT")) {
                r = parse_authority(uri, strlen(uri), 0, &req.host, &req.port);
                if (r < 0)
                        return r;
        } else if (streq(w[0], "GET") || streq(w[0], "HEAD")) {
                if (strncasecmp(uri, "http://", 7) != 0)
                        return -EINVAL;
                uri += 7;
                slash = strchr(uri, '/');
                r = parse_authority(uri, slash ? (size_t) (slash - uri) : strlen(uri), 80, &req.host,
                                    &req.port);
                if (r < 0)
                        return r;
                req.path = strdup(slash ?: "/");
                if (!req.path)
                        return -ENOMEM;
        } else
                return -EINVAL;
        *ret = req;
        req = (ProxyRequest){};
        return 0;
}

int proxy_source_of_uri(const char *uri, char **ret) {
        _cleanup_free_ char *host = NULL;
        static const char *const local[] = { "file:", "copy:", "cdrom:" };
        uint16_t port, default_port;
        const char *end;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(local); i++)
                if (strncasecmp(uri, local[i], strlen(local[i])) == 0) {
                        *ret = NULL;
                        return 0;
                }
        if (has_control(uri))
                return -EINVAL;
        if (strncasecmp(uri, "http://", 7) == 0) {
                uri += 7;
                default_port = 80;
        } else if (strncasecmp(uri, "https://", 8) == 0) {
                uri += 8;
                default_port = 443;
        } else
                return -EINVAL;
        end = uri + strcspn(uri, "/?#");
        r = parse_authority(uri, (size_t) (end - uri), default_port, &host, &port);
        if (r < 0)
                return r;
        *ret = strchr(host, ':') ? strdup_printf("[%s]:%u", host, port) : strdup_printf("%s:%u", host, port);
        return *ret ? 1 : -ENOMEM;
}

bool proxy_allows(char *const *allowed, const char *host, uint16_t port) {
        _cleanup_free_ char *want = strchr(host, ':') ? strdup_printf("[%s]:%u", host, port)
                                                      : strdup_printf("%s:%u", host, port);

        return want && strv_contains(allowed, want);
}

uint16_t proxy_port(const Proxy *p) {
        return p->port;
}

/* ---- the server (forked) ---- */

static void log_line(int logfd, const char *fmt, ...) _printf_(2, 3);
static void log_line(int logfd, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        int n;

        if (logfd < 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n > sizeof(buf) - 2)
                n = sizeof(buf) - 2;
        buf[n++] = '\n';
        (void) write_all(logfd, buf, (size_t) n); /* O_APPEND: one line, one write */
}

static void reply(int fd, const char *status) {
        char buf[256];
        int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                         status);
        (void) write_all(fd, buf, (size_t) n);
}

static int connect_to(const char *host, uint16_t port) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res = NULL;
        struct timeval tv = { .tv_sec = PROXY_CONNECT_TIMEOUT_S };
        char service[8];
        int fd = -EHOSTUNREACH;

        snprintf(service, sizeof(service), "%u", port);
        if (getaddrinfo(host, service, &hints, &res) != 0)
                return -EHOSTUNREACH;
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
                if (fd < 0)
                        continue;
                /* Linux applies the send timeout to connect() too. */
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                if (connect(fd, a->ai_addr, a->ai_addrlen) >= 0)
                        break;
                (void) close(fd);
                fd = -errno;
        }
        freeaddrinfo(res);
        return fd;
}

typedef struct Conn {
        int client, upstream;
        char *const *allowed;
        int logfd;
        char *host; /* the upstream of this connection, once connected */
        uint16_t port;
        bool tunnel;
        char in[PROXY_HEADER_MAX];
        size_t n_in;
} Conn;

/* A request header block names a body: apt never sends one, and a proxy that does not parse bodies
 * must not pass one on as if it were the next request. */
static bool has_body(const char *head) {
        for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
                const char *h = l + 2;
                if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
                        return true;
                if (strncasecmp(h, "Content-Length:", 15) == 0 && atoi(h + 15) != 0)
                        return true;
        }
        return false;
}

/* Sends one request (the header block @head, NUL-terminated, CR LF CR LF included) upstream in origin
 * form, without the headers meant for the proxy. */
static int forward_request(Conn *c, const ProxyRequest *req, const char *head) {
        _cleanup_free_ char *out = strdup_printf("%s %s %s\r\n", req->method, req->path, req->version);
        const char *l = strstr(head, "\r\n") + 2;

        if (!out)
                return -ENOMEM;
        while (*l) {
                const char *e = strstr(l, "\r\n");
                size_t n = (size_t) (e - l) + 2;
                if (strncasecmp(l, "Proxy-", 6) != 0) {
                        char *more = strdup_printf("%s%.*s", out, (int) n, l);
                        if (!more)
                                return -ENOMEM;
                        free(out);
                        out = more;
                }
                l += n;
        }
        return write_all(c->upstream, out, strlen(out));
}

/* Handles the complete header block at the start of c->in (@len bytes). Returns 0 to go on, < 0 to
 * close the connection. */
static int handle_request(Conn *c, size_t len) {
        _cleanup_(proxy_request_done) ProxyRequest req = {};
        _cleanup_free_ char *head = strndup(c->in, len);
        char *eol;
        int r;

        if (!head)
                return -ENOMEM;
        eol = strstr(head, "\r\n");
        *eol = '\0';
        r = proxy_parse_request_line(head, &req);
        *eol = '\r';
        if (r < 0 || has_body(head)) {
                log_line(c->logfd, "proxy: refused a bad request: %.*s", (int) (eol - head), head);
                if (c->upstream < 0)
                        reply(c->client, "400 Bad Request");
                return -EINVAL;
        }
        if (!proxy_allows(c->allowed, req.host, req.port)) {
                log_line(c->logfd, "proxy: denied %s %s:%u (not a package source)", req.method, req.host,
                         req.port);
                if (c->upstream < 0)
                        reply(c->client, "403 Forbidden");
                return -EPERM;
        }
        if (c->upstream >= 0 &&
            (!streq(req.host, c->host) || req.port != c->port || streq(req.method, "CONNECT"))) {
                log_line(c->logfd, "proxy: closing: a request for %s:%u on a connection to %s:%u", req.host,
                         req.port, c->host, c->port);
                return -EINVAL;
        }
        if (c->upstream < 0) {
                c->upstream = connect_to(req.host, req.port);
                if (c->upstream < 0) {
                        log_line(c->logfd, "proxy: cannot connect to %s:%u: %s", req.host, req.port,
                                 strerror(-c->upstream));
                        reply(c->client, "502 Bad Gateway");
                        return c->upstream;
                }
                c->host = TAKE_PTR(req.host);
                c->port = req.port;
        }
        log_line(c->logfd, "proxy: %s %s:%u%s", req.method, c->host, c->port, req.path ?: "");
        if (streq(req.method, "CONNECT")) {
                static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
                c->tunnel = true;
                return write_all(c->client, ok, sizeof(ok) - 1);
        }
        return forward_request(c, &req, head);
}

/* Consumes what the client sent: requests, or tunnelled bytes. Returns 0 or < 0 to close. */
static int client_data(Conn *c) {
        int r;

        while (c->n_in > 0) {
                char *end;
                size_t len;

                if (c->tunnel) {
                        r = write_all(c->upstream, c->in, c->n_in);
                        c->n_in = 0;
                        return r;
                }
                end = memmem(c->in, c->n_in, "\r\n\r\n", 4);
                if (!end) {
                        if (c->n_in == sizeof(c->in)) {
                                if (c->upstream < 0)
                                        reply(c->client, "431 Request Header Fields Too Large");
                                return -E2BIG;
                        }
                        return 0;
                }
                len = (size_t) (end - c->in) + 4;
                if (memchr(c->in, '\0', len))
                        return -EINVAL;
                r = handle_request(c, len);
                if (r < 0)
                        return r;
                memmove(c->in, c->in + len, c->n_in - len);
                c->n_in -= len;
        }
        return 0;
}

static void handle_connection(int client, char *const *allowed, int logfd) {
        Conn c = { .client = client, .upstream = -EBADF, .allowed = allowed, .logfd = logfd };
        bool client_open = true;
        char buf[65536];

        for (;;) {
                struct pollfd p[2] = {
                        { .fd = client_open ? c.client : -1, .events = POLLIN },
                        { .fd = c.upstream, .events = POLLIN },
                };
                int n = poll(p, 2, PROXY_IDLE_MS);
                ssize_t k;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (p[1].revents) {
                        k = read(c.upstream, buf, sizeof(buf));
                        if (k <= 0 || write_all(c.client, buf, (size_t) k) < 0)
                                break;
                }
                if (p[0].revents) {
                        k = read(c.client, c.in + c.n_in, sizeof(c.in) - c.n_in);
                        if (k <= 0) {
                                /* The client is done sending: let the answers still come. */
                                if (c.upstream < 0)
                                        break;
                                (void) shutdown(c.upstream, SHUT_WR);
                                client_open = false;
                                continue;
                        }
                        c.n_in += (size_t) k;
                        if (client_data(&c) < 0)
                                break;
                }
        }
        free(c.host);
}

/* Closes every fd above stderr but @a and @b (-1: none): the server must not keep arkose-chroot's locks
 * or its session's files open. */
static void close_other_fds(int a, int b) {
        int keep[2] = { a < b ? a : b, a < b ? b : a };
        unsigned from = 3;

        for (size_t i = 0; i < 2; i++) {
                if (keep[i] < 3)
                        continue;
                if ((unsigned) keep[i] > from)
                        (void) close_range(from, (unsigned) keep[i] - 1, 0);
                from = (unsigned) keep[i] + 1;
        }
        (void) close_range(from, ~0U, 0);
}

static _noreturn_ void server_main(int listen_fd, char *const *allowed, int logfd, pid_t parent) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

        /* Die with arkose-chroot, whatever kills it. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(0);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void) signal(sigs[i], SIG_DFL);
        (void) signal(SIGPIPE, SIG_IGN);
        (void) signal(SIGCHLD, SIG_IGN); /* handlers are reaped by the kernel */
        close_other_fds(listen_fd, logfd);
        for (;;) {
                int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                pid_t pid;

                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                                continue;
                        _exit(1);
                }
                pid = fork();
                if (pid == 0) {
                        pid_t server = getppid();
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != server)
                                _exit(0);
                        (void) close(listen_fd);
                        (void) signal(SIGCHLD, SIG_DFL);
                        handle_connection(c, allowed, logfd);
                        _exit(0);
                }
                (void) close(c);
        }
}

int proxy_start(char *const *allowed, const char *log_path, Proxy **ret) {
        _cleanup_free_ Proxy *p = calloc(1, sizeof(Proxy));
        _cleanup_close_ int fd = -EBADF, logfd = -EBADF;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        pid_t parent = getpid();

        if (!p)
                return log_oom();
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &alen) < 0)
                return log_error_errno(-errno,
                                       "Failed to listen on the host's loopback for the package proxy: %m");
        if (log_path) {
                logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (logfd < 0)
                        return log_error_errno(-errno, "Failed to open '%s': %m", log_path);
        }
        p->port = ntohs(a.sin_port);
        fflush(NULL);
        p->pid = fork();
        if (p->pid < 0)
                return log_error_errno(-errno, "Failed to start the package proxy: %m");
        if (p->pid == 0)
                server_main(fd, allowed, logfd, parent);
        *ret = TAKE_PTR(p);
        return 0;
}

Proxy *proxy_stop(Proxy *p) {
        if (!p)
                return NULL;
        if (p->pid > 0) {
                (void) kill(p->pid, SIGTERM);
                (void) pid_wait(p->pid, NULL);
        }
        free(p);
        return NULL;
}
