/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* fetch: downloading a tarball into a staging directory, with a checksum. Sole includer of
 * <curl/curl.h>, whose CURLcode it turns into -errno through one table. */

/* Start from FETCH_OPTIONS_INIT and change what differs. */
typedef struct FetchOptions {
        unsigned connect_timeout_sec; /* to resolve and connect (and TLS); 0: libcurl's 300 s */
        unsigned low_speed_limit;     /* bytes/s: slower than this ... */
        unsigned low_speed_time_sec;  /* ... for this long, and the attempt is abandoned (a stalled
                                       * server); 0: never */
        unsigned max_redirects;       /* 0: follow none */
        unsigned retries;             /* further attempts after a transient failure, each resuming */
        unsigned retry_delay_ms;      /* before the first retry, doubled for each further one */
        uint64_t max_size;            /* 0: the free space of the destination's file system, less
                                       * FETCH_SPACE_MARGIN (the tarball is unpacked there next) */
        const char *sha256;           /* expected digest, 64 hex digits in either case; NULL: none */
        const char *label;            /* what the progress output calls the download; NULL: the URL */
        bool quiet;                   /* no progress output at all */
} FetchOptions;

#define FETCH_SPACE_MARGIN (64ULL * 1024 * 1024)

/* The defaults, for "FetchOptions o = FETCH_OPTIONS_INIT; o.sha256 = ...;". */
#define FETCH_OPTIONS_INIT                                                                    \
        {                                                                                     \
                .connect_timeout_sec = 30, .low_speed_limit = 1024, .low_speed_time_sec = 60, \
                .max_redirects = 5, .retries = 3, .retry_delay_ms = 1000,                     \
        }

/* Downloads @url (http://, https:// or file://; redirects only to http:// or https://) to @dest_path,
 * a file in a staging directory. The data goes to DEST.part, which is renamed to @dest_path only when
 * complete and, with o->sha256, verified; a DEST.part left by an earlier, interrupted run is resumed
 * (an HTTP Range request), and started afresh when the server ignores the range or when a resumed file
 * fails its checksum. Transient failures (connection cut or refused, timeouts, a stall, HTTP 408, 429
 * and 5xx) are retried o->retries times, each attempt resuming; DEST.part is kept after them for a
 * later run, and removed after any other failure. Content is stored as sent (no Content-Encoding is
 * requested). Progress goes to stdout: a bar rewritten in place when stdout is a terminal, otherwise
 * one line when the download starts and one when it ends; each retry adds a line saying why. @o may
 * be NULL for the defaults. Logs
 * nothing; on failure sets *ret_reason (if not NULL) to a newly allocated one-line English reason.
 *
 * Returns 0, or:
 *   -EPROTONOSUPPORT  not an http://, https:// or file:// URL;
 *   -EINVAL           a malformed URL or o->sha256;
 *   -ENOENT           HTTP 404 or 410, or a file:// file that cannot be opened;
 *   -EACCES           HTTP 401, 403 or 407, or a TLS certificate that does not verify;
 *   -EREMOTEIO        HTTP 5xx (after the retries); -EPROTO: another HTTP status >= 400;
 *   -ELOOP            more than o->max_redirects redirects;
 *   -ETIMEDOUT        connecting took too long, or the transfer stalled (after the retries);
 *   -ECONNREFUSED, -EHOSTUNREACH (no such host), -ECONNRESET (the connection was cut; after the retries);
 *   -EFBIG            the size announced (Content-Length) or the bytes received exceed the limit;
 *   -EBADMSG          the data does not match o->sha256 (nothing is kept);
 *   -ENOSPC and other -errno from writing; -EIO for other libcurl failures. */
int fetch_download(const FetchOptions *o, const char *url, const char *dest_path, char **ret_reason);
