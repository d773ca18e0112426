/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/macro.h"

/* proxy: a forward HTTP proxy on the host's loopback that lets apt in a session reach the package sources
 * and nothing else. It is how `arkose-chroot build` gives its dependency stage "network only to the
 * package source": that session has a filtered network (netpolicy.h) whose only destination is this
 * proxy's loopback port, and apt is told to use it.
 *
 * The proxy serves only the listed "HOST:PORT" pairs (the hosts of the chroot's apt sources and of the
 * extra repositories, as written in their URIs; names are resolved on the host, by the proxy):
 *   - "GET http://HOST[:PORT]/PATH HTTP/1.1" (also HEAD): the request goes to HOST:PORT in origin form
 *     ("GET /PATH HTTP/1.1"); later requests on the same client connection must name the same HOST:PORT
 *     (apt opens one connection per server), else the connection is closed;
 *   - "CONNECT HOST:PORT HTTP/1.1" (https sources): a tunnel to HOST:PORT.
 * Anything else is answered "403 Forbidden" (an unlisted host) or "400 Bad Request", and the connection
 * closed. Requests with a body are refused (apt sends none). Each decision is logged, one line, to the
 * log file given to proxy_start().
 *
 * Processes: proxy_start() forks the server, which forks one handler per connection; both die with their
 * parent (PR_SET_PDEATHSIG), so a killed arkose-chroot leaves no proxy behind. */

typedef struct ProxyRequest {
        char *method; /* "GET", "HEAD", "CONNECT" */
        char *host;   /* lower case; an IPv6 address without its brackets */
        uint16_t port;
        char *path;    /* origin form ("/dists/..."); NULL for CONNECT */
        char *version; /* "HTTP/1.1" */
} ProxyRequest;

void proxy_request_done(ProxyRequest *r);

/* Parses the request line @line (without its CR LF) of a proxy request: absolute-form http URIs for GET
 * and HEAD, authority form for CONNECT. Pure. Returns 0 and *ret, -EINVAL for anything else (another
 * method, an https:// URI in a GET, origin form, a bad port, user info in the URI, control characters),
 * -ENOMEM. */
int proxy_parse_request_line(const char *line, ProxyRequest *ret);

/* The "HOST:PORT" an apt source URI is fetched from through the proxy ("http://h/debian" → "h:80",
 * "https://h:8443/x" → "h:8443"), lower case, for the allowed list. Pure. Returns 1 and *ret, 0 (and
 * *ret NULL) for a URI that needs no network (file:, copy:, cdrom:), -EINVAL for a URI the proxy cannot
 * serve (another scheme, no host, a bad port), -ENOMEM. */
int proxy_source_of_uri(const char *uri, char **ret);

/* Whether @allowed ("HOST:PORT" strings as proxy_source_of_uri() makes them) lists @host and @port. */
bool proxy_allows(char *const *allowed, const char *host, uint16_t port);

typedef struct Proxy Proxy;

/* Starts the proxy for @allowed on 127.0.0.1, on a port the kernel picks, logging to @log_path
 * (appended to; NULL: no log). Logs one error line on failure. Returns 0 and *ret, or -errno. */
int proxy_start(char *const *allowed, const char *log_path, Proxy **ret);

/* The port it listens on. */
uint16_t proxy_port(const Proxy *p);

/* Stops the server (SIGTERM to its pid, then waits for it; its handlers die with it) and frees @p.
 * Accepts NULL. Returns NULL. */
Proxy *proxy_stop(Proxy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Proxy *, proxy_stop);
