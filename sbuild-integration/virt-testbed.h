/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"
#include "virt.h"

/* virt-testbed: what autopkgtest-virt-arkose does for each request, by running arkose-chroot (the
 * session's begin, end and info) and the session's execute command (everything in the testbed, copies
 * included). A testbed is one detached arkose-chroot session at a time; revert ends it and begins a new
 * one under the same id, with the same scratch directory.
 *
 * Every function that runs processes returns -EINTR when one of the signals the server handles arrived
 * meanwhile (see testbed_signal_pending()); the processes it started have been told to stop by then. */

typedef struct Testbed Testbed;

/* A testbed for the chroot @name (looked up with virt_chroot_candidates() at the first open) that runs
 * arkose-chroot as @plan says (borrowed, with its strings, for the testbed's life); @arch for the lookup,
 * NULL to ask dpkg. @copy_timeout: seconds a copy may take. Returns NULL on OOM. */
Testbed *testbed_new(const VirtPlan *plan, const char *name, const char *arch, unsigned copy_timeout);

/* Ends the session if one is open (errors logged) and frees. Returns NULL. */
Testbed *testbed_free(Testbed *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Testbed *, testbed_free);

/* open: begins a session and makes the scratch directory (mode 1777) in it. Logs one error line.
 * Returns 0, or -errno with no session left behind. */
int testbed_open(Testbed *t);

/* close: ends the session. Logs one error line. Returns 0 or -errno. */
int testbed_close(Testbed *t);

/* revert: ends the session and begins a new one with the same id and scratch path. Logs. */
int testbed_revert(Testbed *t);

/* reboot: stops the session's container (with @prepare_only, waits for the test to have done so) and
 * starts it again over the same writable layer (--recover-session); the scratch directory is kept in
 * a tar file over the reboot, as autopkgtest's own servers do. Logs one error line. */
int testbed_reboot(Testbed *t, bool prepare_only);

/* The scratch directory (in the testbed) and the execute command, valid while the testbed is open. */
const char *testbed_scratch(Testbed *t);
char *const *testbed_execute_argv(Testbed *t);

/* copydown (@up false: host @src → testbed @dst) or copyup (@up true: testbed @src → host @dst), files or,
 * with @directory, directory trees through tar. Returns 0; -EIO when a side failed (logged); -ETIME after
 * the copy timeout (both sides killed); -EINTR. */
int testbed_copy(Testbed *t, bool up, bool directory, const char *src, const char *dst);

/* shell: an interactive shell in the testbed on /dev/tty, in @dir with @vars exported. Logs and returns
 * 0 without one when there is no terminal. */
int testbed_shell(Testbed *t, const char *dir, char *const *vars);

/* auxverb_debug_fail: the session's description on stderr. */
int testbed_debug_fail(Testbed *t);

/* Signals. testbed_signals_init() makes the self-pipe that signal handlers write to and handles SIGCHLD
 * with it (waits for children poll it). The server's handler for SIGTERM, SIGINT and SIGHUP calls
 * testbed_signal_received(), which records the first signal and writes to the pipe; the server polls
 * testbed_wake_fd() beside stdin. testbed_signal_pending() is that signal, or 0; testbed_signal_take()
 * returns and forgets it, so that the cleanup after it can run processes again. */
int testbed_signals_init(void);
int testbed_wake_fd(void);
void testbed_signal_received(int sig);
int testbed_signal_pending(void);
int testbed_signal_take(void);
