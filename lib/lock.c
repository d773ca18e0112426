/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "lock.h"

/* Whether @fd is still the file at @path: the holder of the lock before us may have removed it
 * (lock_file_remove()), and a lock on a file nobody can open any more excludes nobody. */
static bool lock_fd_is_path(int fd, const char *path) {
        struct stat a, b;

        return fstat(fd, &a) >= 0 && a.st_nlink > 0 && stat(path, &b) >= 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

static int lock_file_internal(const char *path, LockMode mode, bool wait, bool create) {
        struct flock fl = {
                .l_type = mode == LOCK_MODE_EXCLUSIVE ? F_WRLCK : F_RDLCK,
                .l_whence = SEEK_SET,
        };

        for (;;) {
                _cleanup_close_ int fd = -EBADF;

                fd = open(path, O_RDWR | (create ? O_CREAT : 0) | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
                if (fd < 0)
                        return -errno;
                while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
                        if (errno == EINTR && wait)
                                continue;
                        return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
                }
                if (lock_fd_is_path(fd, path))
                        return TAKE_FD(fd);
                /* Removed while we waited: lock the file that is there now (or a new one). */
        }
}

int lock_file(const char *path, LockMode mode, bool wait) {
        return lock_file_internal(path, mode, wait, true);
}

int lock_file_existing(const char *path, LockMode mode, bool wait) {
        return lock_file_internal(path, mode, wait, false);
}

int lock_file_new(const char *path, LockMode mode) {
        struct flock fl = {
                .l_type = mode == LOCK_MODE_EXCLUSIVE ? F_WRLCK : F_RDLCK,
                .l_whence = SEEK_SET,
        };
        size_t n = strlen(path);
        _cleanup_free_ char *tmp = malloc(n + sizeof(".new-XXXXXX"));
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!tmp)
                return -ENOMEM;
        memcpy(tmp, path, n);
        memcpy(tmp + n, ".new-XXXXXX", sizeof(".new-XXXXXX"));
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0 ||
            renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return TAKE_FD(fd);
}

int lock_file_remove(const char *path, int fd) {
        if (!lock_fd_is_path(fd, path))
                return -ESTALE;
        if (unlink(path) < 0)
                return -errno;
        return 0;
}

bool lock_is_held(const char *path, LockMode mode) {
        struct flock fl = {
                .l_type = mode == LOCK_MODE_EXCLUSIVE ? F_WRLCK : F_RDLCK,
                .l_whence = SEEK_SET,
        };
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return false;
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return false;
        return fl.l_type != F_UNLCK;
}
