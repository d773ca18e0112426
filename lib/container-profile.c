/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A session profile's mounts, devices, limits, capabilities and seccomp policy → LXC items. Pure but
 * for the path types it asks @ctx->path_type() for. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "config.h"
#include "container.h"

typedef struct ProfileItems {
        const ContainerProfileContext *ctx;
        char **items;
        char **dirs;
        char **skipped;
        char *missing;
        unsigned n_cow;
} ProfileItems;

static int stat_path_type(const char *path, void *userdata) {
        struct stat st;

        (void) userdata;
        if (stat(path, &st) < 0)
                return -errno;
        return (int) (st.st_mode & S_IFMT);
}

static int path_type(const ProfileItems *pi, const char *path) {
        if (pi->ctx->path_type)
                return pi->ctx->path_type(path, pi->ctx->userdata);
        return stat_path_type(path, NULL);
}

static int add_item(ProfileItems *pi, const char *key, const char *value) {
        int r = strv_extend(&pi->items, key);
        return r < 0 ? r : strv_extend(&pi->items, value);
}

/* "KEY = fmt..." */
static int add_itemf(ProfileItems *pi, const char *key, const char *fmt, ...) _printf_(3, 4);
static int add_itemf(ProfileItems *pi, const char *key, const char *fmt, ...) {
        va_list ap;
        char *v;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&v, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = add_item(pi, key, v);
        free(v);
        return r;
}

/* A mount's source and target with placeholders resolved; the target without its leading slashes. */
static int mount_paths(const ProfileItems *pi, const ProfileMount *m, char **ret_source, char **ret_target) {
        _cleanup_free_ char *source = NULL, *target = NULL;
        int r;

        if (m->source) {
                r = profile_expand_path(m->source, pi->ctx->home, &source);
                if (r < 0)
                        return r;
        }
        r = profile_expand_path(m->target, pi->ctx->home, &target);
        if (r < 0)
                return r;
        *ret_source = TAKE_PTR(source);
        *ret_target = TAKE_PTR(target);
        return 0;
}

static const char *relative(const char *path) {
        return path + strspn(path, "/");
}

/* @type: @source's (path_type()), a directory or anything else. */
static int bind_entry(ProfileItems *pi, const char *source, int type, const char *target, bool read_only,
                      bool optional) {
        return add_itemf(pi, "lxc.mount.entry", "%s %s none %s,create=%s%s%s 0 0", source, relative(target),
                         type == S_IFDIR ? "rbind" : "bind", type == S_IFDIR ? "dir" : "file",
                         read_only ? ",ro" : "", optional ? ",optional" : "");
}

static int cow_entry(ProfileItems *pi, const char *source, int type, const char *target) {
        _cleanup_free_ char *upper = NULL, *work = NULL;
        int r;

        if (!path_is_absolute(pi->ctx->cow_dir))
                return -EINVAL;
        if (type != S_IFDIR)
                return -ENOTDIR;
        upper = strdup_printf("%s/%u/upper", pi->ctx->cow_dir, pi->n_cow);
        work = strdup_printf("%s/%u/work", pi->ctx->cow_dir, pi->n_cow);
        if (!upper || !work)
                return -ENOMEM;
        pi->n_cow++;
        r = strv_extend(&pi->dirs, upper);
        if (r >= 0)
                r = strv_extend(&pi->dirs, work);
        if (r < 0)
                return r;
        return add_itemf(pi, "lxc.mount.entry",
                         "overlay %s overlay lowerdir=%s,upperdir=%s,workdir=%s,create=dir 0 0",
                         relative(target), source, upper, work);
}

static int tmpfs_entry(ProfileItems *pi, const char *target, uint64_t size) {
        char size_option[32] = "";

        if (size > 0)
                (void) snprintf(size_option, sizeof(size_option), "size=%llu,", (unsigned long long) size);
        return add_itemf(pi, "lxc.mount.entry", "tmpfs %s tmpfs rw,nosuid,nodev,mode=1777,%screate=dir 0 0",
                         relative(target), size_option);
}

static int mount_items(ProfileItems *pi, const Profile *p) {
        int r;

        for (ProfileMount **m = p->mounts; m && *m; m++) {
                _cleanup_free_ char *source = NULL, *target = NULL;
                int type;

                r = mount_paths(pi, *m, &source, &target);
                if (r < 0)
                        return r;
                if (pi->ctx->skip_home && pi->ctx->home && (*m)->type != PROFILE_MOUNT_TMPFS &&
                    streq(target, pi->ctx->home))
                        continue;
                type = source ? path_type(pi, source) : 0;
                if (type == -ENOENT) {
                        if (!(*m)->optional) {
                                pi->missing = TAKE_PTR(source);
                                return -ENOENT;
                        }
                        r = strv_extend(&pi->skipped, source);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (type < 0)
                        return type;
                switch ((*m)->type) {
                case PROFILE_MOUNT_BIND:
                        r = bind_entry(pi, source, type, target, (*m)->read_only, false);
                        break;
                case PROFILE_MOUNT_COW:
                        r = cow_entry(pi, source, type, target);
                        break;
                case PROFILE_MOUNT_TMPFS:
                        r = tmpfs_entry(pi, target, (*m)->size);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0)
                        return log_debug_errno(r, "Failed to plan %s mount on '%s': %m",
                                               profile_mount_type_to_string((*m)->type), target);
        }
        return 0;
}

/* Device nodes are bound from the host: the container's devices cgroup is not restricted (privileged
 * containers), and without mknod nothing else can be made. */
static int device_items(ProfileItems *pi, const Profile *p) {
        int r;

        for (ProfileDevice **d = p->devices; d && *d; d++) {
                bool read_only = !((*d)->access & PROFILE_DEVICE_WRITE);

                int type = path_type(pi, (*d)->path);

                if (type == -ENOENT) {
                        r = strv_extend(&pi->skipped, (*d)->path);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (type < 0)
                        return type;
                r = bind_entry(pi, (*d)->path, type, (*d)->path, read_only, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int limit_items(ProfileItems *pi, const Profile *p) {
        bool v2 = pi->ctx->cgroup2;
        int r = 0;

        if (p->memory_max > 0)
                r = add_itemf(pi, v2 ? "lxc.cgroup2.memory.max" : "lxc.cgroup.memory.limit_in_bytes", "%llu",
                              (unsigned long long) p->memory_max);
        if (r >= 0 && p->cpu_quota > 0) {
                /* Percent of one CPU over a 100 ms period. */
                if (v2)
                        r = add_itemf(pi, "lxc.cgroup2.cpu.max", "%u 100000", p->cpu_quota * 1000);
                else {
                        r = add_item(pi, "lxc.cgroup.cpu.cfs_period_us", "100000");
                        if (r >= 0)
                                r = add_itemf(pi, "lxc.cgroup.cpu.cfs_quota_us", "%u", p->cpu_quota * 1000);
                }
        }
        if (r >= 0 && p->pids_max > 0)
                r = add_itemf(pi, v2 ? "lxc.cgroup2.pids.max" : "lxc.cgroup.pids.max", "%u", p->pids_max);
        return r;
}

static int security_items(ProfileItems *pi, const Profile *p) {
        _cleanup_free_ char *caps = NULL;
        char **list = p->capabilities_keep ?: p->capabilities_drop;
        size_t len = 1;
        int r = 0;

        for (char **c = list; c && *c; c++)
                len += strlen(*c) + 1;
        caps = calloc(1, len);
        if (!caps)
                return -ENOMEM;
        for (char **c = list; c && *c; c++) {
                if (c != list)
                        strcat(caps, " ");
                strcat(caps, *c);
        }
        if (p->capabilities_keep)
                r = add_item(pi, "lxc.cap.keep", isempty(caps) ? "none" : caps);
        else if (!isempty(caps))
                r = add_item(pi, "lxc.cap.drop", caps);
        if (r < 0)
                return r;

        if (p->seccomp == PROFILE_SECCOMP_DEFAULT)
                r = add_item(pi, "lxc.seccomp.profile", CONTAINER_SECCOMP_DEFAULT);
        else if (p->seccomp == PROFILE_SECCOMP_FILE)
                r = add_item(pi, "lxc.seccomp.profile", p->seccomp_path);
        return r;
}

void container_profile_items_done(ContainerProfileItems *i) {
        i->items = strv_free(i->items);
        i->dirs = strv_free(i->dirs);
        i->skipped = strv_free(i->skipped);
        i->missing = mfree(i->missing);
}

int container_profile_config(const Profile *p, const ContainerProfileContext *ctx, ContainerProfileItems *ret) {
        ProfileItems pi = { .ctx = ctx };
        int r;

        if (!ret)
                return -EINVAL;
        *ret = (ContainerProfileItems) {};
        if (!p || !ctx)
                return -EINVAL;
        r = mount_items(&pi, p);
        if (r >= 0)
                r = device_items(&pi, p);
        if (r >= 0)
                r = limit_items(&pi, p);
        if (r >= 0)
                r = security_items(&pi, p);
        if (r >= 0 && !pi.items && !(pi.items = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r >= 0 && !pi.dirs && !(pi.dirs = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r >= 0 && !pi.skipped && !(pi.skipped = calloc(1, sizeof(char *))))
                r = -ENOMEM;
        if (r < 0) {
                strv_free(pi.items);
                strv_free(pi.dirs);
                strv_free(pi.skipped);
                ret->missing = pi.missing;
                return r;
        }
        *ret = (ContainerProfileItems) {
                .items = pi.items,
                .dirs = pi.dirs,
                .skipped = pi.skipped,
        };
        return 0;
}

bool container_profile_no_new_privs(const Profile *p, uid_t uid) {
        return p->no_new_privileges == PROFILE_NO_NEW_PRIVILEGES_YES ||
               (p->no_new_privileges == PROFILE_NO_NEW_PRIVILEGES_NON_ROOT && uid != 0);
}
