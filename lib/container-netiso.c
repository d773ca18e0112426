/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* container: a command attached with no network but loopback, in a session that has one (--isolate-network,
 * sbuild's build step). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container-internal.h"

int container_parse_capbnd(const char *status, uint64_t *ret) {
        const char *p;
        char *end;
        uint64_t v;

        for (p = status; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (startswith(p, "CapBnd:"))
                        break;
        if (!p)
                return -EBADMSG;
        p += strlen("CapBnd:");
        p += strspn(p, " \t");
        if (!isxdigit((unsigned char) *p))
                return -EBADMSG;
        errno = 0;
        v = strtoull(p, &end, 16);
        if (errno != 0 || (*end != '\n' && *end != '\0'))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int container_isolated_prepare(pid_t init, const lxc_attach_command_t *command, uid_t uid, gid_t gid,
                               IsolatedCommand *ret) {
        _cleanup_free_ char *path = NULL, *status = NULL;
        uint64_t bounding;
        int r;

        if (init <= 0)
                return -ESRCH;
        path = strdup_printf("/proc/%d/status", (int) init);
        if (!path)
                return -ENOMEM;
        r = read_file(path, &status);
        if (r < 0)
                return r;
        r = container_parse_capbnd(status, &bounding);
        if (r < 0)
                return r;
        *ret = (IsolatedCommand){
                .command = *command,
                .uid = uid,
                .gid = gid,
                .bounding = bounding,
        };
        return 0;
}

/* Brings "lo" up in the current network namespace: the kernel gives it 127.0.0.1 and ::1. */
static int loopback_up(void) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

int container_isolated_exec(void *payload) {
        IsolatedCommand *p = payload;
        int r;

        if (unshare(CLONE_NEWNET) < 0)
                return log_error_errno(-errno,
                                       "--isolate-network: Failed to create a network namespace: %m"),
                       255;
        r = loopback_up();
        if (r < 0)
                return log_error_errno(r, "--isolate-network: Failed to bring loopback up: %m"), 255;
        /* What liblxc's LXC_ATTACH_DROP_CAPABILITIES does: the bounding set of the container's init. Numbers
         * past the kernel's last capability fail with EINVAL, and there is nothing to drop there. */
        for (int cap = 0; cap < 64; cap++)
                if (!(p->bounding & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
                    errno != EINVAL)
                        return log_error_errno(-errno, "--isolate-network: Failed to drop capability %d: %m",
                                               cap),
                               255;
        /* Groups are set already; a non-root uid loses the remaining capabilities here. */
        if (setresgid(p->gid, p->gid, p->gid) < 0 || setresuid(p->uid, p->uid, p->uid) < 0)
                return log_error_errno(-errno, "--isolate-network: Failed to switch to uid %u: %m",
                                       (unsigned) p->uid),
                       255;
        return container_exec_command(&p->command);
}
