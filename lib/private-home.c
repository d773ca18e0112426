/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session user's private home, per chroot (lib/private-home.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mount.h"
#include "private-home.h"

typedef struct HomeOpen {
        const char *path; /* home/PRIVATE_HOME_DIR/CHROOT */
        uid_t uid;
} HomeOpen;

/* As the user: makes the directories of @o->path that are missing (the last ones mode 700), and opens the
 * last one, no symlink followed at its end, a directory the user owns. */
static int open_user_home(void *userdata) {
        const HomeOpen *o = userdata;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = mkdir_p(o->path, 0700);
        if (r < 0)
                return r;
        fd = open(o->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != o->uid)
                return -EPERM;
        return TAKE_FD(fd);
}

static char *staged_path(const char *session_dir) {
        return path_join(session_dir, "home");
}

/* Makes (as the user) and binds the private home at the session directory's home. */
static int bind_home(const char *session_dir, const char *chroot, const char *user, uid_t uid, gid_t gid,
                     const char *home) {
        _cleanup_free_ char *dir = NULL, *staged = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        dir = path_join_many(home, PRIVATE_HOME_DIR, chroot, NULL);
        staged = staged_path(session_dir);
        if (!dir || !staged)
                return log_oom();
        HomeOpen o = { .path = dir, .uid = uid };
        fd = user_open_fd(user, uid, gid, open_user_home, &o);
        if (fd < 0)
                return log_error_errno(fd, "Failed to make the private home '%s' as %s: %m", dir, user);
        if (mkdir(staged, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create '%s': %m", staged);
        r = mount_bind_fd(fd, staged);
        if (r < 0)
                return log_error_errno(r, "Failed to bind the private home '%s': %m", dir);
        log_debug("The session's home '%s' is '%s'", home, dir);
        return 0;
}

int private_home_create(const char *session_dir, const char *chroot, const char *root, const char *user,
                        uid_t uid, gid_t gid, const char *home) {
        _cleanup_free_ char *inside = NULL;
        struct stat st;

        if (!path_is_absolute(home) || streq(home, "/") || stat(home, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_info("No private home in the session: the home directory '%s' is not on this host.",
                         home ?: "");
                return 0;
        }
        inside = path_join(root, home);
        if (!inside)
                return log_oom();
        if (dir_has_files(inside)) {
                log_info("No private home in the session: the chroot has files in '%s' (a system user's "
                         "home).",
                         home);
                return 0;
        }
        return bind_home(session_dir, chroot, user, uid, gid, home);
}

int private_home_recover(const char *session_dir, const char *chroot, const char *user, uid_t uid, gid_t gid,
                         const char *home) {
        _cleanup_free_ char *staged = staged_path(session_dir);

        if (!staged)
                return log_oom();
        if (access(staged, F_OK) < 0 || mount_any_below(staged))
                return 0;
        return bind_home(session_dir, chroot, user, uid, gid, home);
}

int private_home_release(const char *session_dir) {
        _cleanup_free_ char *staged = staged_path(session_dir);

        if (!staged)
                return -ENOMEM;
        return access(staged, F_OK) < 0 ? 0 : mount_umount_below(staged, NULL);
}

int private_home_items(const char *session_dir, const char *home, char ***items) {
        _cleanup_free_ char *staged = staged_path(session_dir);

        if (!staged)
                return -ENOMEM;
        if (access(staged, F_OK) < 0 || !path_is_absolute(home) || strpbrk(home, " \t\n\\"))
                return 0;
        if (strv_extend(items, "lxc.mount.entry") < 0 ||
            strv_extendf(items, "%s %s none rbind,create=dir 0 0", staged, home + 1) < 0)
                return -ENOMEM;
        return 0;
}
