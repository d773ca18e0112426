/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/macro.h"
#include "lock.h"

int lock_file(const char *path, LockMode mode, bool wait) {
        struct flock fl = {
                .l_type = mode == LOCK_MODE_EXCLUSIVE ? F_WRLCK : F_RDLCK,
                .l_whence = SEEK_SET,
        };
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        while (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) < 0) {
                if (errno == EINTR && wait)
                        continue;
                return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
        }
        return TAKE_FD(fd);
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
