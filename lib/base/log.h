/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "base/macro.h"

/* Logging to stderr. The level is process-wide configuration set once by cmd/ at start-up (the only
 * mutable state in lib/, as in systemd's log.c); nothing else in lib/ keeps globals. */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_prefix(const char *prefix); /* borrowed; must outlive all logging, e.g. a literal */

/* Logs at @level. When @error is non-zero, %m expands to strerror(-error or error). Returns @error
 * as a negative errno (so "return log_error_errno(r, ...)" works), or 0 when @error is 0. */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_internal(LOG_ERR, -ENOMEM, "Out of memory")
