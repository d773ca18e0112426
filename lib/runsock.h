/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* runsock: the host side of a detached session's command socket, through which the container's
 * arkose-init runs commands as its own children (protocol: lib/runsock-protocol.h; server:
 * init/arkose-init.c). A command started this way costs a connect and a fork in the container, where
 * liblxc's attach costs the library, its configuration, a round trip to the monitor and two forks of the
 * caller. The socket lives in the session's run directory (STATE/sessions/ID/run, root's, mode 0700),
 * which is bound into the container; only root on the host (and root in the container, who may run
 * anything there anyway) can reach it. */

/* The run directory of the session in @session_dir (newly allocated), NULL on OOM. */
char *runsock_dir(const char *session_dir);

/* Whether @run_dir holds a socket that looks like init's (root's, in a root-only directory): no
 * connection is made. */
bool runsock_present(const char *run_dir);

/* Connects to the socket in @run_dir without following symlinks in it (the container's root can write
 * there), checking that the directory and the socket are root's and private, and that the listener
 * runs as root and is process @listener (the container's init, a host pid; 0: any). Returns the
 * connected fd, -ENOENT (no socket), -ECONNREFUSED (nobody listens: the container is gone), -EPERM
 * (wrong owner or mode, or another listener), or -errno. Logs nothing. */
int runsock_connect(const char *run_dir, pid_t listener);

typedef struct RunsockPlan {
        char **argv;            /* at least one element */
        char **env;             /* the complete environment */
        const char *cwd;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
        bool no_new_privs;
        bool autopkgtest;       /* run as autopkgtest's execute command (arkose-init --autopkgtest-exec) */
        mode_t umask;           /* the command's umask */
        int fds[3];             /* the command's stdin, stdout and stderr */
        const char *fresh;      /* a shared spare's: the name of the sub-session's directory, made by the
                                 * caller in the spare's fresh directory (RUNSOCK_FLAG_FRESH); NULL: none */
        int nice;               /* with @fresh: the command's niceness (a command started otherwise has
                                 * init's, which the caller sets) */
} RunsockPlan;

/* Sends @plan on the connection @fd: init starts the command at once. Returns 0, or -errno when the
 * request could not be sent (then nothing runs). Logs nothing. */
int runsock_start(int fd, const RunsockPlan *plan);

/* Waits for the command started on @fd to exit, passing on the signals of @forward, which the caller has
 * blocked (and a signal @pending, unless 0, at once). Returns 0 and the command's exit status (128 + N
 * when killed by signal N); -errno from init when the command could not run, with *ret_stage its
 * RUNSOCK_STAGE_* (RUNSOCK_STAGE_CWD: the working directory is missing); or -errno with *ret_stage 0 when
 * the connection broke (init died: the container is gone). With @fresh (a sub-session was asked for), a
 * connection that ends before init said STARTED gives *ret_stage RUNSOCK_STAGE_NOT_STARTED: nothing ran.
 * Closing @fd (e.g. by dying) kills the command's process group. Logs nothing. */
#define RUNSOCK_STAGE_NOT_STARTED 0x100u
int runsock_wait(int fd, bool fresh, const sigset_t *forward, int pending, int *ret_status, uint32_t *ret_stage);
