/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/macro.h"

/* ---- strv: NULL-terminated arrays of owned strings ---- */

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
/* Appends a copy of @s. Returns: 0, or -ENOMEM (then *l is unchanged). */
int strv_extend(char ***l, const char *s);
/* Appends @s, taking ownership of it even on failure. */
int strv_consume(char ***l, char *s);
/* Appends copies of every string of @other (may be NULL). Returns 0 or -ENOMEM. */
int strv_extend_strv(char ***l, char *const *other);
/* Appends a formatted string. */
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
bool strv_contains(char *const *l, const char *s);
/* Splits @s on any of @sep, dropping empty words. Returns NULL on OOM. */
char **strv_split(const char *s, const char *sep);
/* Sorts in place with strcmp(). */
void strv_sort(char **l);
/* The string of @l a typo away from @s (for "did you mean"): the first at the least edit distance
 * (insertions, deletions, substitutions and swaps of neighbours count one each), when that distance is at
 * most 2 and at most a third of @s's length (at least 1). Pure. Returns it (borrowed from @l), or NULL when
 * none is that close or @s is @l's own. */
const char *strv_find_closest(char *const *l, const char *s);

/* ---- strings and paths ---- */

/* Returns a newly allocated "a/b/c", with one '/' between the parts; NULL on OOM. Last argument NULL. */
char *path_join_many(const char *first, ...) __attribute__((sentinel));
#define path_join(...) path_join_many(__VA_ARGS__, NULL)
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
bool path_is_absolute(const char *p);
/* Strips leading and trailing white space in place; returns @s. */
char *strstrip(char *s);
bool startswith(const char *s, const char *prefix);
/* Whether one of the absolute, normalized paths @a and @b is the other or a directory above it. */
bool path_overlaps(const char *a, const char *b);

/* ---- files ---- */

/* mkdir -p with @mode for each missing component. Returns 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
/* Removes the tree at @path, never crossing into another file system (so a mount left below is an
 * error, -EBUSY, rather than a deleted host tree) and never following symlinks.
 * Returns 0 (also when @path does not exist) or -errno. */
int rm_rf(const char *path);
/* Writes @content to @path via a temporary file and rename(), so readers see old or new content only. */
int write_file_atomic(const char *path, const char *content, mode_t mode);
/* As write_file_atomic(); with @sync false the temporary file is not fsync()ed first, for records that
 * need not survive a power loss (after one the reader may find the file empty, never half-written). */
int write_file_atomic_full(const char *path, const char *content, mode_t mode, bool sync);
/* Reads a whole small file. Returns 0 and sets *ret (NUL-terminated), or -errno. */
int read_file(const char *path, char **ret);

/* Writes all @n bytes of @buf to the blocking @fd, again after EINTR and short writes. Returns 0 or -errno. */
int write_all(int fd, const void *buf, size_t n);

/* Points symlink @link at @target atomically: a temporary symlink next to it, then rename(). Returns 0 or
 * -errno (the temporary link removed). */
int symlink_replace(const char *target, const char *link);
/* Total bytes allocated below @path (st_blocks * 512), hard links counted once, same file system
 * only. Returns 0 or -errno. */
int disk_usage(const char *path, unsigned long long *ret);
/* Formats @bytes as "1.2G" and similar into @buf. */
const char *format_bytes(char *buf, size_t len, unsigned long long bytes);

/* ---- processes ---- */

/* The start time of process @pid (field 22 of /proc/PID/stat, clock ticks since boot): with the pid, it
 * names one process even after the pid is reused. Returns 0 and *ret, -ESRCH if there is no such process
 * or it has ended (a zombie its parent has not reaped yet), or -errno. */
int pid_start_time(pid_t pid, unsigned long long *ret);

/* Test aid: when $ARKOSE_TEST_PAUSE_AT equals @point, the calling process stops itself with
 * raise(SIGSTOP), so that a test can kill it with SIGKILL at exactly that point. Does nothing otherwise. */
void debug_pause_point(const char *point);

/* ---- one-line reasons ---- */

/* For functions that hand back an English reason with their -errno: when *reason is NULL, sets it to
 * the formatted text (newly allocated) with every control character, newlines included, replaced by
 * '?', so that it prints as one line whatever a server or an archive member name contained. Leaves an
 * earlier reason alone (the innermost failure says most). Returns @r, so "return set_reason(...)" works. */
int set_reason(char **reason, int r, const char *fmt, ...) _printf_(3, 4);

/* Runs argv[0] (searched in PATH) with @argv and waits for it. Returns 0 when it exits with 0, -EPROTO
 * when it fails or is killed, -errno when it cannot be started. */
int run_program(char *const argv[]);

/* Waits for child @pid to end, through EINTR. Returns 0 and its wait status in *ret_status (if given),
 * or -errno. */
int pid_wait(pid_t pid, int *ret_status);

/* Whether directory @path has an entry other than dotfiles (false when it cannot be read): a home
 * directory such as the chroot's /root holds only dotfiles, a system user's home files of its own. */
bool dir_has_files(const char *path);

/* Takes the identity of @name (@uid, primary group @gid, and its groups) for good: in a forked child
 * about to do something as that user. Returns 0 or -errno. */
int user_become(const char *name, uid_t uid, gid_t gid);

/* Runs @fn(@userdata) in a forked child that has become @name (user_become()), and returns the fd it
 * returns, passed back over a socket, or the -errno it returns. For opening what the user can open, as
 * the user: its permissions and symlinks, not root's. */
int user_open_fd(const char *name, uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata);

/* The same for a child that reports a failure as an errno in its exit status (_exit(errno)): 0, the
 * status as -errno, or -EIO when it did not exit (a signal). */
int pid_wait_errno(pid_t pid);

/* Forks a process that is not this one's child: its parent, an intermediate child, exits at once (init, or
 * the nearest subreaper, adopts it), so that nothing that waits for any of this process's children
 * waits for it; liblxc's start does that when it fails (its abort path reaps every child), and would wait
 * for a long-lived helper for as long as it lives. Returns 0 in the new process; in the caller, with
 * @want_pid its pid (once the intermediate is reaped), else at once the intermediate's (a zombie of the
 * caller's until something reaps it: on a hot path, one fork()'s cost rather than two); or -errno. */
pid_t fork_detached(bool want_pid);

/* Waits, @timeout_ms at most, until process @pid (a child or not) has ended. Returns 0 (also when there
 * is no such process), -ETIMEDOUT, or -errno. */
int pid_wait_exit_timeout(pid_t pid, int timeout_ms);

/* The exit status of a wait status the way shells give it: the exit code, or 128 + the signal. */
int wait_status_code(int status);

/* Joins @l with @sep between the strings. Returns a new string ("" for an empty list) or NULL on OOM. */
char *strv_join(char *const *l, const char *sep);
