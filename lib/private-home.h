/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* private-home: the session user's home for profiles with [mounts] home = private (desktop). Programs of an
 * old release keep their settings from one session to the next without touching the user's own dotfiles:
 * the home in the session is PRIVATE_HOME_DIR/CHROOT below the user's home on the host, made as the user
 * (mode 700), opened as the user and bound by fd (through STATE/sessions/ID/home), at the user's home. */

#define PRIVATE_HOME_DIR ".local/share/arkose/homes"

/* For user @user (@uid, @gid), whose home is @home, in session directory @session_dir of chroot @chroot
 * whose tree is mounted at @root: makes the directory if it is missing, and binds it at the session
 * directory's home. Nothing (an info line) when @home is "/", not a directory on the host, or has files of
 * the chroot's own (a system user's home). Logs; returns 0 or -errno. */
int private_home_create(const char *session_dir, const char *chroot, const char *root, const char *user,
                        uid_t uid, gid_t gid, const char *home);

/* --recover-session: binds the private home again if the session had one and it is not bound any more (a
 * reboot, 'arkose-chroot stop'). */
int private_home_recover(const char *session_dir, const char *chroot, const char *user, uid_t uid, gid_t gid,
                         const char *home);

/* What a reboot takes: the bind of the private home (the directory itself stays). */
int private_home_release(const char *session_dir);

/* The LXC item binding the session's private home (if it has one) at @home; appended to @items. */
int private_home_items(const char *session_dir, const char *home, char ***items);
