/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what. arkose-chroot is run by root (directly or through sudo), or, installed setuid root,
 * by a user a chroot definition grants access to (schroot's users=, groups=, root-users=,
 * root-groups=). In the setuid case, everything the caller controls is distrusted from the start: the
 * environment is reduced to a short list of harmless variables, inherited file descriptors above
 * stderr are closed, the umask is reset, ARKOSE_* variables are ignored (secure_getenv()), and options
 * that name directories or widen a session are refused. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"

extern char **environ;

/* The caller, as it was before a setuid run became root through and through (libmount, like other
 * libraries, restricts what a setuid program may do while the real uid is not root). */
static uid_t the_caller_uid = (uid_t) -1;
/* ... and its umask, which a setuid run replaces with 022 for what it makes itself. */
static mode_t the_caller_umask = (mode_t) -1;

mode_t caller_umask(void) {
        mode_t m;

        if (the_caller_umask != (mode_t) -1)
                return the_caller_umask;
        m = umask(022);
        (void) umask(m);
        return m;
}

uid_t caller_uid(void) {
        return the_caller_uid == (uid_t) -1 ? getuid() : the_caller_uid;
}

bool caller_is_root(void) {
        return caller_uid() == 0;
}

/* Variables a user may pass through a setuid arkose-chroot: they describe the terminal, the locale and
 * a Debian build, and none of them changes what arkose-chroot itself does. */
static bool env_is_harmless(const char *entry) {
        static const char *const names[] = {
                "TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "DEB_BUILD_OPTIONS", "DEB_BUILD_PROFILES",
                "DEBEMAIL", "DEBFULLNAME", "SOURCE_DATE_EPOCH", "DISPLAY", "WAYLAND_DISPLAY",
                "XAUTHORITY", /* only ever read with the caller's own rights */
        };
        size_t n = strcspn(entry, "=");

        if (entry[n] != '=')
                return false;
        if (n > 3 && strncmp(entry, "LC_", 3) == 0)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == n && strncmp(entry, names[i], n) == 0)
                        return !strpbrk(entry + n + 1, "\n");
        return false;
}

int access_setup(void) {
        _cleanup_strv_free_ char **keep = NULL;

        if (geteuid() != 0 || getuid() == 0)
                return 0; /* root, or an unprivileged run that will be refused where root is needed */

        /* Setuid root: trust nothing inherited. */
        if (close_range(3, ~0U, 0) < 0)
                for (int fd = 3; fd < 1024; fd++)
                        (void) close(fd);
        the_caller_umask = umask(022);
        for (char **e = environ; e && *e; e++)
                if (env_is_harmless(*e) && strv_extend(&keep, *e) < 0)
                        return log_oom();
        if (clearenv() != 0)
                return log_error_errno(-ENOMEM, "Failed to clear the environment");
        for (char **e = keep; e && *e; e++)
                if (putenv(strdup(*e) ?: (char *) "") != 0)
                        return log_oom();
        if (setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) < 0)
                return log_oom();
        /* Become root entirely, remembering who called: files we create belong to root, and libraries
         * stop treating us as a restricted setuid program. */
        the_caller_uid = getuid();
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return log_error_errno(-errno, "Failed to become root: %m");
        return 0;
}

int access_require_root(const char *what) {
        struct passwd *pw;

        if (caller_is_root())
                return 0;
        pw = getpwuid(caller_uid());
        return log_error_errno(-EPERM, "%s is for root only (you are '%s'): run it with sudo", what,
                               pw ? pw->pw_name : "?");
}

/* The caller's name and the names of all its groups. */
static int caller_identity(char **ret_name, char ***ret_groups) {
        _cleanup_free_ gid_t *gids = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        struct passwd *pw = getpwuid(caller_uid());
        int n = 64;

        if (!pw)
                return -ESRCH;
        for (;;) {
                gid_t *g = realloc(gids, sizeof(gid_t) * n);
                int k = n;

                if (!g)
                        return -ENOMEM;
                gids = g;
                if (getgrouplist(pw->pw_name, pw->pw_gid, gids, &k) >= 0) {
                        n = k;
                        break;
                }
                n = k > n ? k : n * 2;
        }
        for (int i = 0; i < n; i++) {
                struct group *gr = getgrgid(gids[i]);
                if (gr && strv_extend(&groups, gr->gr_name) < 0)
                        return -ENOMEM;
        }
        *ret_name = strdup(pw->pw_name);
        if (!*ret_name)
                return -ENOMEM;
        *ret_groups = TAKE_PTR(groups);
        return 0;
}

/* access(@path, R_OK|X_OK) as the caller, in a child that takes the caller's identity. */
static int access_as_caller(const char *path) {
        struct passwd *pw = getpwuid(caller_uid());
        pid_t pid;

        if (!pw)
                return -ESRCH;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (user_become(pw->pw_name, pw->pw_uid, pw->pw_gid) < 0)
                        _exit(EPERM);
                _exit(access(path, R_OK | X_OK) < 0 ? (errno & 0xff) : 0);
        }
        return pid_wait_errno(pid);
}

int access_check_session(const ChrootDef *def, uid_t target_uid, const char *target_user, const char *wide_option,
                         const char *dir) {
        _cleanup_free_ char *name = NULL;
        _cleanup_strv_free_ char **groups = NULL;
        ChrootAccess a;
        int r;

        if (caller_is_root())
                return 0;
        r = caller_identity(&name, &groups);
        if (r < 0)
                return log_error_errno(r, "Failed to find out who you are: %m");
        a = chroot_def_access(def, name, groups);
        if (a == CHROOT_ACCESS_NONE)
                return log_error_errno(-EPERM, "You ('%s') may not use chroot '%s': its definition grants you no access (users=, groups=)",
                                       name, def->name);
        if (target_uid != caller_uid() && a != CHROOT_ACCESS_ROOT)
                return log_error_errno(-EPERM, "You ('%s') may not run commands as '%s' in chroot '%s': that needs root-users= or root-groups=",
                                       name, target_user, def->name);
        if (wide_option && a != CHROOT_ACCESS_ROOT)
                return log_error_errno(-EPERM, "You ('%s') may not use %s in chroot '%s': that needs root-users= or root-groups=",
                                       name, wide_option, def->name);
        /* The directory bound into the session: the caller must be able to use it itself. */
        if (dir) {
                r = access_as_caller(dir);
                if (r < 0)
                        return log_error_errno(r, "You ('%s') cannot use directory '%s': %m", name, dir);
        }
        return 0;
}

int access_check_owner(uid_t owner, const char *what) {
        struct passwd *pw;

        if (caller_is_root() || owner == caller_uid())
                return 0;
        pw = getpwuid(caller_uid());
        return log_error_errno(-EPERM, "You ('%s') may not use %s: it belongs to another user", pw ? pw->pw_name : "?",
                               what);
}

/* Reads up to @max + 1 bytes of @fd into a new buffer. */
static int read_fd_max(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = malloc(max + 2);
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        while (n <= max) {
                ssize_t k = read(fd, buf + n, max + 1 - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > max)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* Opens @userdata (a path) for reading, without blocking on a FIFO: as the caller, in user_open_fd()'s child. */
static int open_for_reading(void *userdata) {
        int fd = open(userdata, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        return fd < 0 ? -errno : fd;
}

int access_read_file_as_caller(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct passwd *pw;
        struct stat st;

        /* The caller opens the file, as the caller: its permissions and symlinks are the caller's business.
         * What is read here is what that open gave. */
        if (caller_is_root())
                fd = open_for_reading((void *) path);
        else {
                pw = getpwuid(caller_uid());
                if (!pw)
                        return -ESRCH;
                fd = user_open_fd(pw->pw_name, pw->pw_uid, pw->pw_gid, open_for_reading, (void *) path);
        }
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        return read_fd_max(fd, max, ret, ret_size);
}
