/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/dlopen-util.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "fetch.h"

/* The one place that knows libcurl (STYLE.md §2). */

/* libcurl is loaded on first use (base/dlopen-util.h): linked, it and the ~25 libraries it needs would
 * be mapped by every run of arkose-chroot, sessions included. */
static void *curl_dl = NULL;
DLSYM_PROTOTYPE(curl_easy_cleanup);
DLSYM_PROTOTYPE(curl_easy_getinfo);
DLSYM_PROTOTYPE(curl_easy_init);
DLSYM_PROTOTYPE(curl_easy_perform);
DLSYM_PROTOTYPE(curl_easy_setopt);
DLSYM_PROTOTYPE(curl_easy_strerror);
DLSYM_PROTOTYPE(curl_global_init);

static int dlopen_curl(void) {
        return dlopen_many_sym(&curl_dl, "libcurl.so.4",
                               DLSYM_ARG(curl_easy_cleanup),
                               DLSYM_ARG(curl_easy_getinfo),
                               DLSYM_ARG(curl_easy_init),
                               DLSYM_ARG(curl_easy_perform),
                               DLSYM_ARG(curl_easy_setopt),
                               DLSYM_ARG(curl_easy_strerror),
                               DLSYM_ARG(curl_global_init),
                               NULL);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CURL *, sym_curl_easy_cleanup);

/* CURLcode → -errno (STYLE.md §3), and whether another attempt may succeed. Codes not listed are -EIO. */
static const struct {
        CURLcode code;
        int error;
        bool transient;
} curl_errors[] = {
        { CURLE_UNSUPPORTED_PROTOCOL, -EPROTONOSUPPORT, false },
        { CURLE_URL_MALFORMAT, -EINVAL, false },
        { CURLE_NOT_BUILT_IN, -EOPNOTSUPP, false },
        { CURLE_COULDNT_RESOLVE_PROXY, -EHOSTUNREACH, true },
        { CURLE_COULDNT_RESOLVE_HOST, -EHOSTUNREACH, true },
        { CURLE_COULDNT_CONNECT, -ECONNREFUSED, true },
        { CURLE_WEIRD_SERVER_REPLY, -EPROTO, false },
        { CURLE_REMOTE_ACCESS_DENIED, -EACCES, false },
        { CURLE_HTTP2, -EPROTO, true },
        { CURLE_PARTIAL_FILE, -ECONNRESET, true },
        { CURLE_HTTP_RETURNED_ERROR, -EPROTO, false }, /* refined by the status: http_status_error() */
        { CURLE_WRITE_ERROR, -EIO, false },            /* refined by write_data() */
        { CURLE_OUT_OF_MEMORY, -ENOMEM, false },
        { CURLE_OPERATION_TIMEDOUT, -ETIMEDOUT, true }, /* also the low-speed limit: a stall */
        { CURLE_RANGE_ERROR, -ERANGE, false },          /* the server ignored our Range */
        { CURLE_SSL_CONNECT_ERROR, -EPROTO, true },
        { CURLE_BAD_DOWNLOAD_RESUME, -ERANGE, false },
        { CURLE_FILE_COULDNT_READ_FILE, -ENOENT, false },
        { CURLE_ABORTED_BY_CALLBACK, -ECANCELED, false },
        { CURLE_TOO_MANY_REDIRECTS, -ELOOP, false },
        { CURLE_GOT_NOTHING, -ECONNRESET, true },
        { CURLE_SEND_ERROR, -ECONNRESET, true },
        { CURLE_RECV_ERROR, -ECONNRESET, true },
        { CURLE_PEER_FAILED_VERIFICATION, -EACCES, false },
        { CURLE_SSL_CACERT_BADFILE, -EIO, false },
        { CURLE_BAD_CONTENT_ENCODING, -EBADMSG, false },
        { CURLE_FILESIZE_EXCEEDED, -EFBIG, false },
};

static int curl_to_errno(CURLcode code, bool *ret_transient) {
        for (size_t i = 0; i < ELEMENTSOF(curl_errors); i++)
                if (curl_errors[i].code == code) {
                        *ret_transient = curl_errors[i].transient;
                        return curl_errors[i].error;
                }
        *ret_transient = false;
        return -EIO;
}

static int http_status_error(long status, bool *ret_transient) {
        *ret_transient = status == 408 || status == 429 || status >= 500;
        switch (status) {
        case 404:
        case 410:
                return -ENOENT;
        case 401:
        case 403:
        case 407:
                return -EACCES;
        default:
                return status >= 500 ? -EREMOTEIO : -EPROTO;
        }
}

typedef struct Transfer {
        const FetchOptions *o;
        const char *url;
        const char *label;
        const char *part; /* DEST.part */
        int fd;           /* DEST.part, read-write */
        uint64_t max_size;
        bool max_size_is_free_space;
        uint64_t offset;   /* bytes in DEST.part when the attempt began */
        uint64_t received; /* bytes the attempt wrote */
        int write_error;   /* why write_data() stopped the transfer */
        bool restarted;    /* DEST.part was emptied to start afresh */
        bool keep_part;    /* the last failure was transient: DEST.part may be resumed */
        bool tty;
        uint64_t start_usec, shown_usec;
        char errbuf[CURL_ERROR_SIZE];
} Transfer;

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* ---- progress on stdout ---- */

static void progress_start(Transfer *t) {
        t->start_usec = now_usec();
        if (t->o->quiet || t->tty)
                return;
        printf("Downloading '%s'\n", t->label);
        fflush(stdout);
}

static int progress_bar(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                        curl_off_t ulnow) {
        Transfer *t = userdata;
        uint64_t now = now_usec(), done = t->offset + (uint64_t) dlnow,
                 total = t->offset + (uint64_t) dltotal;
        char a[16], b[16], speed[16], bar[31];
        size_t fill = 0;
        (void) ultotal;
        (void) ulnow;

        if (now - t->shown_usec < 200000)
                return 0;
        t->shown_usec = now;
        if (dltotal > 0 && done <= total)
                fill = (size_t) (30 * done / total);
        memset(bar, '=', fill);
        memset(bar + fill, ' ', 30 - fill);
        bar[30] = '\0';
        format_bytes(speed, sizeof(speed),
                     (unsigned long long) dlnow * 1000000ULL /
                             (now - t->start_usec > 0 ? now - t->start_usec : 1));
        printf("\r\033[K%.30s [%s] %s/%s %s/s", t->label, bar, format_bytes(a, sizeof(a), done),
               dltotal > 0 ? format_bytes(b, sizeof(b), total) : "?", speed);
        fflush(stdout);
        return 0;
}

static void progress_retry(Transfer *t, const char *reason, unsigned attempt) {
        if (t->o->quiet)
                return;
        printf("%sRetrying '%s' (attempt %u of %u): %s\n", t->tty ? "\r\033[K" : "", t->label, attempt + 1,
               t->o->retries + 1, reason ?: "transient failure");
        fflush(stdout);
}

static void progress_end(Transfer *t, bool ok, uint64_t size) {
        char s[16];

        if (t->o->quiet)
                return;
        if (t->tty)
                fputs("\r\033[K", stdout);
        else if (ok)
                printf("Downloaded '%s' (%s)\n", t->label, format_bytes(s, sizeof(s), size));
        fflush(stdout);
}

/* ---- one attempt ---- */

static size_t write_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nmemb;

        if (t->offset + t->received + len > t->max_size) {
                t->write_error = -EFBIG;
                return 0;
        }
        for (size_t done = 0; done < len;) {
                ssize_t n = write(t->fd, ptr + done, len - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        t->write_error = -errno;
                        return 0;
                }
                done += (size_t) n;
        }
        t->received += len;
        return len;
}

#define SETOPT(c, option, value, reason)                                                               \
        do {                                                                                           \
                if (sym_curl_easy_setopt((c), (option), (value)) != CURLE_OK)                              \
                        return set_reason((reason), -EOPNOTSUPP, "libcurl does not support " #option); \
        } while (0)

static int setup_handle(CURL *c, Transfer *t, char **reason) {
        const FetchOptions *o = t->o;

        SETOPT(c, CURLOPT_URL, t->url, reason);
        SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https,file", reason);
        SETOPT(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", reason);
        SETOPT(c, CURLOPT_FOLLOWLOCATION, 1L, reason);
        SETOPT(c, CURLOPT_MAXREDIRS, (long) o->max_redirects, reason);
        SETOPT(c, CURLOPT_FAILONERROR, 1L, reason);
        SETOPT(c, CURLOPT_NOSIGNAL, 1L, reason);
        SETOPT(c, CURLOPT_USERAGENT, "arkose-chroot/" ARKOSE_VERSION, reason);
        SETOPT(c, CURLOPT_ERRORBUFFER, t->errbuf, reason);
        SETOPT(c, CURLOPT_CONNECTTIMEOUT, (long) o->connect_timeout_sec, reason);
        SETOPT(c, CURLOPT_LOW_SPEED_LIMIT, (long) o->low_speed_limit, reason);
        SETOPT(c, CURLOPT_LOW_SPEED_TIME, (long) o->low_speed_time_sec, reason);
        SETOPT(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t) t->offset, reason);
        /* Refuses a Content-Length over the limit before any data; write_data() counts the rest. */
        SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) (t->max_size - t->offset), reason);
        SETOPT(c, CURLOPT_WRITEFUNCTION, write_data, reason);
        SETOPT(c, CURLOPT_WRITEDATA, t, reason);
        if (t->tty && !o->quiet) {
                SETOPT(c, CURLOPT_XFERINFOFUNCTION, progress_bar, reason);
                SETOPT(c, CURLOPT_XFERINFODATA, t, reason);
                SETOPT(c, CURLOPT_NOPROGRESS, 0L, reason);
        }
        return 0;
}

/* @announced: libcurl refused the Content-Length (CURLE_FILESIZE_EXCEEDED), before any data. */
static int too_big(Transfer *t, bool announced, char **reason) {
        const char *why = t->max_size_is_free_space ? " (the free space less a margin)" : "";
        char limit[16];

        format_bytes(limit, sizeof(limit), t->max_size);
        if (announced)
                return set_reason(reason, -EFBIG, "the server announced more than the limit of %s%s", limit,
                                  why);
        return set_reason(reason, -EFBIG, "the download exceeds the limit of %s%s", limit, why);
}

static int attempt_failure(Transfer *t, CURL *c, CURLcode code, char **reason, bool *ret_transient) {
        const char *message = t->errbuf[0] ? t->errbuf : sym_curl_easy_strerror(code);
        long status = 0;
        int r;

        (void) sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        r = curl_to_errno(code, ret_transient);

        if (code == CURLE_FILESIZE_EXCEEDED || (code == CURLE_WRITE_ERROR && t->write_error == -EFBIG))
                return too_big(t, code == CURLE_FILESIZE_EXCEEDED, reason);
        if (code == CURLE_WRITE_ERROR && t->write_error < 0)
                return set_reason(reason, t->write_error, "cannot write '%s': %s", t->part,
                                  strerror(-t->write_error));
        if (code == CURLE_HTTP_RETURNED_ERROR && status == 416 && t->offset > 0)
                return set_reason(reason, -ERANGE, "the server cannot resume at byte %llu",
                                  (unsigned long long) t->offset);
        if (code == CURLE_HTTP_RETURNED_ERROR && status >= 400)
                return set_reason(reason, http_status_error(status, ret_transient),
                                  "the server returned HTTP %ld", status);
        if (code == CURLE_OPERATION_TIMEDOUT)
                return set_reason(reason, r, "timed out: %s", message);
        if (code == CURLE_TOO_MANY_REDIRECTS)
                return set_reason(reason, r, "too many redirects: %s", message);
        return set_reason(reason, r, "%s", message);
}

/* Downloads once, appending to DEST.part from where it ends. On failure, *ret_transient says whether
 * another attempt may do better; -ERANGE means the server cannot resume there. */
static int attempt(Transfer *t, char **reason, bool *ret_transient) {
        _cleanup_(sym_curl_easy_cleanupp) CURL *c = NULL;
        CURLcode code;
        long status = 0;
        off_t end;
        int r;

        *ret_transient = false;
        end = lseek(t->fd, 0, SEEK_END);
        if (end < 0)
                return set_reason(reason, -errno, "cannot read '%s': %s", t->part, strerror(errno));
        t->offset = (uint64_t) end;
        t->received = 0;
        t->write_error = 0;
        t->errbuf[0] = '\0';
        if (t->offset >= t->max_size)
                return set_reason(reason, -ERANGE, "'%s' is already as large as the limit", t->part);

        c = sym_curl_easy_init();
        if (!c)
                return set_reason(reason, -ENOMEM, "cannot start libcurl");
        r = setup_handle(c, t, reason);
        if (r < 0)
                return r;

        code = sym_curl_easy_perform(c);
        if (code != CURLE_OK)
                return attempt_failure(t, c, code, reason, ret_transient);

        (void) sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300)
                return set_reason(reason, -EPROTO, "the server returned HTTP %ld", status);
        return 0;
}

/* ---- attempts, retries, verification ---- */

static int sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static void clear_reason(char **reason) {
        free(*reason);
        *reason = NULL;
}

/* Makes up to 1 + o->retries attempts, starting afresh (once) when the server cannot resume. */
static int download(Transfer *t, char **reason) {
        _cleanup_free_ char *cause = NULL; /* the transient failure that made us retry */
        unsigned delay = t->o->retry_delay_ms;
        bool restarted = false;

        t->keep_part = false;
        for (unsigned n = 0;;) {
                bool transient;
                int r;

                r = attempt(t, reason, &transient);
                if (r >= 0)
                        return 0;
                if (r == -ERANGE && restarted && cause) {
                        /* The retry could not resume twice: what matters is why it had to retry. */
                        free(*reason);
                        *reason = strdup_printf("%s (the server cannot resume, after %u attempts)", cause, n + 1);
                        return r == -ERANGE ? -ETIMEDOUT : r;
                }
                if (r == -ERANGE && !restarted) {
                        restarted = t->restarted = true;
                        if (ftruncate(t->fd, 0) < 0)
                                return set_reason(reason, -errno, "cannot truncate '%s': %s", t->part,
                                                  strerror(errno));
                        clear_reason(reason);
                        continue;
                }
                if (!transient || n >= t->o->retries) {
                        t->keep_part = transient;
                        if (n > 0 && *reason) {
                                char *s = strdup_printf("%s (after %u attempts)", *reason, n + 1);
                                if (s) {
                                        free(*reason);
                                        *reason = s;
                                }
                        }
                        return r;
                }
                n++;
                free(cause);
                cause = *reason ? strdup(*reason) : NULL;
                progress_retry(t, *reason, n);
                clear_reason(reason);
                r = sleep_ms(delay);
                if (r < 0)
                        return r;
                delay = delay > UINT32_MAX / 2 ? delay : delay * 2;
        }
}

static int verify(Transfer *t, char **reason) {
        char got[SHA256_HEX_SIZE];
        int r;

        if (!t->o->sha256)
                return 0;
        if (lseek(t->fd, 0, SEEK_SET) < 0)
                return set_reason(reason, -errno, "cannot read '%s': %s", t->part, strerror(errno));
        r = sha256_fd(t->fd, got);
        if (r < 0)
                return set_reason(reason, r, "cannot read '%s': %s", t->part, strerror(-r));
        if (!sha256_hex_equal(got, t->o->sha256))
                return set_reason(reason, -EBADMSG, "checksum mismatch: expected %s, got %s", t->o->sha256,
                                  got);
        return 0;
}

/* The free space where @path will be written, plus what DEST.part already holds, less the margin. */
static int default_max_size(const char *path, uint64_t part_size, uint64_t *ret, char **reason) {
        _cleanup_free_ char *dir = strdup(path);
        struct statvfs sv;
        char *slash;
        uint64_t avail;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else
                slash[slash == dir ? 1 : 0] = '\0';
        if (statvfs(dir, &sv) < 0)
                return set_reason(reason, -errno, "cannot read the free space of '%s': %s", dir,
                                  strerror(errno));
        avail = (uint64_t) sv.f_bavail * sv.f_frsize + part_size;
        if (avail <= FETCH_SPACE_MARGIN)
                return set_reason(reason, -ENOSPC, "not enough free space in '%s'", dir);
        *ret = avail - FETCH_SPACE_MARGIN;
        return 0;
}

static bool url_is_supported(const char *url) {
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0 ||
               strncasecmp(url, "file://", 7) == 0;
}

/* Downloads and verifies; a part left by an earlier run that fails the checksum may hold other data, so
 * then the download is made once more from the start. */
static int download_verified(Transfer *t, bool stale, char **reason) {
        int r;

        r = download(t, reason);
        if (r >= 0)
                r = verify(t, reason);
        if (r != -EBADMSG || !stale || t->restarted)
                return r;
        clear_reason(reason);
        if (ftruncate(t->fd, 0) < 0)
                return set_reason(reason, -errno, "cannot truncate '%s': %s", t->part, strerror(errno));
        t->restarted = true;
        r = download(t, reason);
        if (r >= 0)
                r = verify(t, reason);
        return r;
}

static int publish(Transfer *t, const char *dest, uint64_t *ret_size, char **reason) {
        struct stat st;

        if (fsync(t->fd) < 0 || fstat(t->fd, &st) < 0)
                return set_reason(reason, -errno, "cannot write '%s': %s", t->part, strerror(errno));
        if (rename(t->part, dest) < 0)
                return set_reason(reason, -errno, "cannot rename '%s': %s", t->part, strerror(errno));
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

static int fetch(const FetchOptions *o, const char *url, const char *dest, char **reason) {
        _cleanup_free_ char *part = NULL;
        _cleanup_close_ int fd = -EBADF;
        Transfer t = { .o = o, .url = url, .label = o->label ?: url, .tty = isatty(STDOUT_FILENO) };
        uint64_t size = 0;
        struct stat st;
        int r;

        if (!url_is_supported(url))
                return set_reason(reason, -EPROTONOSUPPORT,
                                  "unsupported URL '%s': only http://, https:// and file:// are", url);
        if (o->sha256 && !sha256_hex_is_valid(o->sha256))
                return set_reason(reason, -EINVAL, "'%s' is not a SHA-256 digest", o->sha256);

        /* libcurl counts its initialisations and does the work on the first only; we never clean up
         * (the process exits), so this initialises it once without a global of ours. */
        if (dlopen_curl() < 0)
                return set_reason(reason, -EOPNOTSUPP, "cannot load libcurl (libcurl.so.4)");
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return set_reason(reason, -EIO, "cannot initialise libcurl");

        part = strdup_printf("%s.part", dest);
        if (!part)
                return -ENOMEM;
        if (stat(part, &st) < 0) {
                if (errno != ENOENT)
                        return set_reason(reason, -errno, "cannot access '%s': %s", part, strerror(errno));
                st.st_size = 0;
        }
        t.max_size = o->max_size;
        if (t.max_size == 0) {
                r = default_max_size(dest, (uint64_t) st.st_size, &t.max_size, reason);
                if (r < 0)
                        return r;
                t.max_size_is_free_space = true;
        }

        fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                return set_reason(reason, -errno, "cannot create '%s': %s", part, strerror(errno));
        t.fd = fd;
        t.part = part;

        progress_start(&t);
        r = download_verified(&t, st.st_size > 0, reason);
        if (r >= 0)
                r = publish(&t, dest, &size, reason);
        /* Keep what a transient failure left, for the next run to resume; nothing else. */
        if (r < 0 && !(t.keep_part && lseek(fd, 0, SEEK_END) > 0))
                (void) unlink(part);
        progress_end(&t, r >= 0, size);
        return r;
}

int fetch_download(const FetchOptions *o, const char *url, const char *dest_path, char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        static const FetchOptions defaults = FETCH_OPTIONS_INIT;
        int r;

        r = fetch(o ?: &defaults, url, dest_path, &reason);
        if (r < 0 && ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}
