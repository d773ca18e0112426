/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* container: what lib/container.c shares with lib/container-netiso.c. */

#include <stdint.h>
#include <sys/types.h>

#include <lxc/attach_options.h>

#include "container.h"

/* A command attached with a network of its own (AttachPlan.isolate_network). liblxc attaches it as root
 * with all capabilities (it cannot unshare a network namespace otherwise: the profiles drop sys_admin and
 * net_admin); container_isolated_exec() then does in the container what liblxc would have done before the
 * command, after the unshare: it drops the bounding capabilities the container's init lacks and becomes
 * the command's user. */
typedef struct IsolatedCommand {
        lxc_attach_command_t command;
        uid_t uid;
        gid_t gid;              /* supplementary groups: set by liblxc (LXC_ATTACH_SETGROUPS) */
        uint64_t bounding;      /* the container init's bounding set (CapBnd) */
} IsolatedCommand;

/* The bounding set in the text of a /proc/PID/status file (its "CapBnd:" line, hexadecimal). Pure. Returns
 * 0 and *ret, or -EBADMSG when there is no such line or it does not parse. */
int container_parse_capbnd(const char *status, uint64_t *ret);

/* Fills @ret for @command run as @uid/@gid in the container whose init is @init (its bounding set read
 * from /proc on the host). Returns 0, or -errno (-EBADMSG: no CapBnd line). */
int container_isolated_prepare(pid_t init, const lxc_attach_command_t *command, uid_t uid, gid_t gid,
                               IsolatedCommand *ret);

/* liblxc's exec function for an lxc_attach_command_t, in place of lxc_attach_run_command(), which logs why a
 * program cannot be run to the container's log only (a command attached with a terminal then ends with 127
 * and nothing said). Runs in the attached child: execvp(), else one line on stderr and a shell's status, 127
 * for no such program, else 126. A login shell (argv[0] starting with '-') that is not in the session is
 * replaced by /bin/sh, with a warning, as schroot does. */
int container_exec_command(void *payload);

/* liblxc's exec function for an IsolatedCommand: unshares the network namespace, brings loopback up, drops
 * the capabilities, switches to the user, then runs the command as container_exec_command() does. Runs in
 * the attached child; on a failure of its own, one line on stderr and exit status 255 (as when liblxc
 * cannot attach). */
int container_isolated_exec(void *payload);

/* What liblxc's attach runs (container_attach_exec()): @exec with @payload, after putting @stdio on the
 * standard fds and, with @terminal, making stdin (a pty of the container's) the controlling terminal of a
 * session of the command's own. liblxc itself is given /dev/null for the standard fds, which it leaves
 * alone: any other file it chmods to 0700 (and chowns to a non-root command's uid) in
 * fix_stdio_permissions(), and those are the caller's own files (arkose-chroot -c NAME < script > log). */
typedef struct AttachExec {
        lxc_attach_exec_t exec;
        void *payload;
        bool terminal;
        int stdio[3];
} AttachExec;

/* liblxc's exec function for an AttachExec. Runs in the attached child; on a failure of its own, one line
 * on stderr and exit status 255 (as when liblxc cannot attach). */
int container_attach_exec(void *payload);

/* In the attached child: makes stdin, a pty, the controlling terminal of a session of the caller's own
 * (liblxc may have done both already). Returns 0 or -errno. */
int container_terminal_take(void);

/* Opens a pty in the devpts instance of the container whose init is @init, resolved inside its root, and
 * gives the slave to @uid (group tty, mode 0620) with the caller's terminal modes and size. Returns 0 with
 * both ends (close-on-exec), or -errno (-ENOTTY: the container has no devpts of its own). */
int container_terminal_open(pid_t init, uid_t uid, int *ret_master, int *ret_slave);

/* Proxies the caller's terminal to @master until @pid (a child of the caller, not reaped here) has ended or
 * every process has closed the slave, then copies what is left and restores the caller's terminal. The
 * caller's terminal is put in raw mode with TCSANOW, so that input typed ahead reaches the command; its
 * size follows SIGWINCH. Returns 0, or -errno (logged). */
int container_terminal_proxy(int master, pid_t pid);
