/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

static int max_level = LOG_NOTICE;
static const char *log_prefix = "arkose-chroot";

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

int log_internal(int level, int error, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                /* %m takes its value from errno in glibc's printf. */
                errno = error;
                flockfile(stderr);
                fprintf(stderr, "%s: ", log_prefix);
                va_start(ap, fmt);
                vfprintf(stderr, fmt, ap);
                va_end(ap);
                fputc('\n', stderr);
                funlockfile(stderr);
        }

        errno = saved;
        return -error;
}
