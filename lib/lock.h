/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* lock: whole-file OFD locks (fcntl F_OFD_SETLK), which belong to the open file description, so they
 * are neither lost when another fd of the same file is closed nor shared with forked children that
 * close their copy. The lock ends when the returned fd is closed, including when the process dies. */

typedef enum LockMode {
        LOCK_MODE_SHARED,
        LOCK_MODE_EXCLUSIVE,
} LockMode;

/* Opens (creating it, mode 0644) @path and locks it. With @wait, blocks until the lock is had;
 * otherwise returns -EBUSY at once when someone else holds a conflicting lock. A file removed by
 * lock_file_remove() while we waited is not the lock any more: it opens and locks @path again.
 * Returns the locked fd (O_CLOEXEC) or -errno. */
int lock_file(const char *path, LockMode mode, bool wait);

/* The same, but never creates @path: -ENOENT when it is not there. For a lock file inside a directory
 * that its holder may be removing, where a file made anew would be in the way of its removal. */
int lock_file_existing(const char *path, LockMode mode, bool wait);

/* Makes the new lock file @path, already locked: created under a temporary name beside it, locked, then
 * renamed into place (never over an existing file), so that nobody ever finds @path unlocked. For a lock that
 * a sweep takes as abandoned when it can lock it (lock_file_existing()): a lock_file() of a new file gives
 * the sweep an instant between the file's creation and its lock. Returns the locked fd (O_CLOEXEC), or
 * -EEXIST when @path is there, or -errno. */
int lock_file_new(const char *path, LockMode mode);

/* Removes the lock file @path, whose exclusive lock the caller holds as @fd (from lock_file()), for
 * when what it guards is gone: whoever waits for it locks a new file at @path. Keep @fd open until
 * done. Returns 0, -ESTALE when @fd is no longer @path's file, or -errno. */
int lock_file_remove(const char *path, int fd);

/* Returns true when someone holds a lock on @path that conflicts with @mode (false if it is missing). */
bool lock_is_held(const char *path, LockMode mode);
