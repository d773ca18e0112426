/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* unpack: filling a staging rootfs — by running debootstrap, or (later) by extracting a tarball with
 * libarchive. Sole includer of <archive.h>. */

typedef struct DebootstrapPlan {
        const char *suite;
        const char *variant;            /* "minbase", "buildd"; NULL: debootstrap's default */
        const char *architecture;       /* NULL: the host's */
        char **components;
        char **packages;
        const char *mirror;
        const char *keyring;
        const char *target;
        const char *program;            /* NULL: "debootstrap" */
} DebootstrapPlan;

/* Builds debootstrap's argv for @plan. Pure. Returns 0 and *ret, or -EINVAL/-ENOMEM. */
int unpack_debootstrap_argv(const DebootstrapPlan *plan, char ***ret);

/* Called with the pid of a child as soon as it runs, so that the caller can forward signals to it. */
typedef void (*UnpackChildNotify)(pid_t pid);

/* Runs debootstrap for @plan, writing its whole output to @log_path and showing its progress on
 * stderr (one updating line on a terminal, one line per stage otherwise). On failure, returns
 * -EPROTO (exit status) or -EINTR (killed by a signal) and sets *ret_reason to debootstrap's last
 * error line ("E: ..."), or NULL when it printed none. Logs nothing itself. */
int unpack_debootstrap_run(const DebootstrapPlan *plan, const char *log_path, UnpackChildNotify notify,
                           char **ret_reason);
