/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Session profiles: confs/profiles/NAME.conf → Profile, through the same key table as definitions. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "config-internal.h"
#include "config.h"

/* ---- string tables ---- */

static const char *const network_table[_PROFILE_NETWORK_MAX] = {
        [PROFILE_NETWORK_NONE] = "none",
        [PROFILE_NETWORK_HOST] = "host",
        [PROFILE_NETWORK_FILTERED] = "filtered",
};

static const char *const protocol_table[_PROFILE_PROTOCOL_MAX] = {
        [PROFILE_PROTOCOL_TCP] = "tcp",
        [PROFILE_PROTOCOL_UDP] = "udp",
};

static const char *const mount_type_table[_PROFILE_MOUNT_TYPE_MAX] = {
        [PROFILE_MOUNT_BIND] = "bind",
        [PROFILE_MOUNT_COW] = "cow",
        [PROFILE_MOUNT_TMPFS] = "tmpfs",
};

static const char *const seccomp_table[_PROFILE_SECCOMP_MAX] = {
        [PROFILE_SECCOMP_DEFAULT] = "default",
        [PROFILE_SECCOMP_NONE] = "none",
        [PROFILE_SECCOMP_FILE] = "file",
};

static const char *const no_new_privileges_table[_PROFILE_NO_NEW_PRIVILEGES_MAX] = {
        [PROFILE_NO_NEW_PRIVILEGES_NO] = "no",
        [PROFILE_NO_NEW_PRIVILEGES_YES] = "yes",
        [PROFILE_NO_NEW_PRIVILEGES_NON_ROOT] = "non-root",
};

static const char *const apparmor_table[_PROFILE_APPARMOR_MAX] = {
        [PROFILE_APPARMOR_OFF] = "off",
        [PROFILE_APPARMOR_AUTO] = "auto",
        [PROFILE_APPARMOR_REQUIRED] = "required",
};

/* Capability names by number. */
static const char *const capability_table[] = {
        [CAP_CHOWN] = "chown",
        [CAP_DAC_OVERRIDE] = "dac_override",
        [CAP_DAC_READ_SEARCH] = "dac_read_search",
        [CAP_FOWNER] = "fowner",
        [CAP_FSETID] = "fsetid",
        [CAP_KILL] = "kill",
        [CAP_SETGID] = "setgid",
        [CAP_SETUID] = "setuid",
        [CAP_SETPCAP] = "setpcap",
        [CAP_LINUX_IMMUTABLE] = "linux_immutable",
        [CAP_NET_BIND_SERVICE] = "net_bind_service",
        [CAP_NET_BROADCAST] = "net_broadcast",
        [CAP_NET_ADMIN] = "net_admin",
        [CAP_NET_RAW] = "net_raw",
        [CAP_IPC_LOCK] = "ipc_lock",
        [CAP_IPC_OWNER] = "ipc_owner",
        [CAP_SYS_MODULE] = "sys_module",
        [CAP_SYS_RAWIO] = "sys_rawio",
        [CAP_SYS_CHROOT] = "sys_chroot",
        [CAP_SYS_PTRACE] = "sys_ptrace",
        [CAP_SYS_PACCT] = "sys_pacct",
        [CAP_SYS_ADMIN] = "sys_admin",
        [CAP_SYS_BOOT] = "sys_boot",
        [CAP_SYS_NICE] = "sys_nice",
        [CAP_SYS_RESOURCE] = "sys_resource",
        [CAP_SYS_TIME] = "sys_time",
        [CAP_SYS_TTY_CONFIG] = "sys_tty_config",
        [CAP_MKNOD] = "mknod",
        [CAP_LEASE] = "lease",
        [CAP_AUDIT_WRITE] = "audit_write",
        [CAP_AUDIT_CONTROL] = "audit_control",
        [CAP_SETFCAP] = "setfcap",
        [CAP_MAC_OVERRIDE] = "mac_override",
        [CAP_MAC_ADMIN] = "mac_admin",
        [CAP_SYSLOG] = "syslog",
        [CAP_WAKE_ALARM] = "wake_alarm",
        [CAP_BLOCK_SUSPEND] = "block_suspend",
        [CAP_AUDIT_READ] = "audit_read",
        [CAP_PERFMON] = "perfmon",
        [CAP_BPF] = "bpf",
        [CAP_CHECKPOINT_RESTORE] = "checkpoint_restore",
};

static const char *table_to_string(const char *const *table, size_t n, int i) {
        return i >= 0 && (size_t) i < n ? table[i] : NULL;
}

static int table_from_string(const char *const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *profile_network_to_string(ProfileNetwork n) {
        return table_to_string(network_table, ELEMENTSOF(network_table), n);
}

ProfileNetwork profile_network_from_string(const char *s) {
        return table_from_string(network_table, ELEMENTSOF(network_table), s);
}

const char *profile_protocol_to_string(ProfileProtocol p) {
        return table_to_string(protocol_table, ELEMENTSOF(protocol_table), p);
}

ProfileProtocol profile_protocol_from_string(const char *s) {
        return table_from_string(protocol_table, ELEMENTSOF(protocol_table), s);
}

const char *profile_mount_type_to_string(ProfileMountType t) {
        return table_to_string(mount_type_table, ELEMENTSOF(mount_type_table), t);
}

ProfileMountType profile_mount_type_from_string(const char *s) {
        return table_from_string(mount_type_table, ELEMENTSOF(mount_type_table), s);
}

const char *profile_seccomp_to_string(ProfileSeccomp s) {
        return table_to_string(seccomp_table, ELEMENTSOF(seccomp_table), s);
}

const char *profile_no_new_privileges_to_string(ProfileNoNewPrivileges n) {
        return table_to_string(no_new_privileges_table, ELEMENTSOF(no_new_privileges_table), n);
}

ProfileNoNewPrivileges profile_no_new_privileges_from_string(const char *s) {
        return table_from_string(no_new_privileges_table, ELEMENTSOF(no_new_privileges_table), s);
}

const char *profile_apparmor_to_string(ProfileApparmor a) {
        return table_to_string(apparmor_table, ELEMENTSOF(apparmor_table), a);
}

ProfileApparmor profile_apparmor_from_string(const char *s) {
        return table_from_string(apparmor_table, ELEMENTSOF(apparmor_table), s);
}

const char *profile_capability_to_string(int cap) {
        return table_to_string(capability_table, ELEMENTSOF(capability_table), cap);
}

int profile_capability_from_string(const char *s) {
        return table_from_string(capability_table, ELEMENTSOF(capability_table), s);
}

bool profile_destination_is_loopback(const ProfileDestination *d) {
        return (ntohl(d->address.s_addr) >> 24) == 127;
}

/* ---- NULL-terminated arrays of owned pointers ---- */

#define DEFINE_PTRV_APPEND(type, name)                     \
        static int name(type ***l, type *p) {              \
                size_t n = 0;                              \
                type **c;                                  \
                                                           \
                while (*l && (*l)[n])                      \
                        n++;                               \
                c = realloc(*l, sizeof(type *) * (n + 2)); \
                if (!c)                                    \
                        return -ENOMEM;                    \
                c[n] = p;                                  \
                c[n + 1] = NULL;                           \
                *l = c;                                    \
                return 0;                                  \
        }

DEFINE_PTRV_APPEND(ProfileDestination, destinations_append);
DEFINE_PTRV_APPEND(ProfileMount, mounts_append);
DEFINE_PTRV_APPEND(ProfileDevice, devices_append);

static ProfileMount *profile_mount_free(ProfileMount *m) {
        if (!m)
                return NULL;
        free(m->source);
        free(m->target);
        free(m);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileMount *, profile_mount_free);

static ProfileDevice *profile_device_free(ProfileDevice *d) {
        if (!d)
                return NULL;
        free(d->path);
        free(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileDevice *, profile_device_free);

static void profile_done(Profile *p) {
        free(p->name);
        free(p->path);
        free(p->description);
        for (ProfileDestination **d = p->allow; d && *d; d++)
                free(*d);
        free(p->allow);
        for (ProfileMount **m = p->mounts; m && *m; m++)
                profile_mount_free(*m);
        free(p->mounts);
        for (ProfileDevice **d = p->devices; d && *d; d++)
                profile_device_free(*d);
        free(p->devices);
        strv_free(p->capabilities_drop);
        strv_free(p->capabilities_keep);
        free(p->seccomp_path);
        free(p->apparmor_profile);
        strv_free(p->environment_set);
        strv_free(p->environment_keep);
        strv_free(p->runtime_sockets);
        strv_free(p->dbus_talk);
        *p = (Profile){};
}

Profile *profile_free(Profile *p) {
        if (!p)
                return NULL;
        profile_done(p);
        free(p);
        return NULL;
}

/* ---- value syntax ---- */

static int parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                if (v > (max - (uint64_t) (*s - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* "512M", "2G", "1048576": bytes, with binary K, M, G, T suffixes. */
static int parse_size_value(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGT";
        _cleanup_free_ char *digits = NULL;
        const char *suffix;
        unsigned shift = 0;
        size_t n;
        uint64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        n = strlen(s);
        suffix = strchr(suffixes, toupper((unsigned char) s[n - 1]));
        if (suffix) {
                shift = 10 * (unsigned) (suffix - suffixes + 1);
                n--;
        }
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        r = parse_uint64(digits, UINT64_MAX >> shift, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        *ret = v << shift;
        return 0;
}

static bool char_is_path_safe(char c) {
        /* ':' separates the fields of a mount; blanks separate list entries; the rest would need quoting
         * in LXC mount entries or AppArmor rules. */
        return (unsigned char) c > 0x20 && c != 0x7f && !strchr(":,\\\"'$", c);
}

/* An absolute path, or one starting with the "~" or "$HOME" placeholder; never "." or ".." components. */
static bool profile_path_is_valid(const char *p) {
        const char *rest;

        if (startswith(p, "$HOME"))
                rest = p + 5;
        else if (p[0] == '~')
                rest = p + 1;
        else if (p[0] == '/')
                rest = p;
        else
                return false;
        if (rest[0] != '\0' && rest[0] != '/')
                return false;
        for (const char *c = rest; *c; c++)
                if (!char_is_path_safe(*c))
                        return false;
        for (const char *c = rest; (c = strchr(c, '/')); c++) {
                size_t n = strcspn(c + 1, "/");
                if ((n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
                        return false;
        }
        return true;
}

/* A mount target: not the root itself, nor the kernel's file systems LXC mounts. */
static bool profile_target_is_valid(const char *p) {
        static const char *const forbidden[] = { "/proc", "/sys" };

        if (!profile_path_is_valid(p))
                return false;
        if (strspn(p, "/") == strlen(p))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++) {
                size_t n = strlen(forbidden[i]);
                if (strneq(p, forbidden[i], n) && (p[n] == '\0' || p[n] == '/'))
                        return false;
        }
        return true;
}

static int parse_port_range(const char *s, ProfileDestination *d) {
        _cleanup_free_ char *first = NULL;
        const char *dash = strchr(s, '-');
        uint64_t a, b;
        int r;

        first = dash ? strndup(s, (size_t) (dash - s)) : strdup(s);
        if (!first)
                return -ENOMEM;
        r = parse_uint64(first, 65535, &a);
        if (r < 0)
                return r;
        b = a;
        if (dash) {
                r = parse_uint64(dash + 1, 65535, &b);
                if (r < 0)
                        return r;
        }
        if (a == 0 || b < a)
                return -EINVAL;
        d->port_first = (uint16_t) a;
        d->port_last = (uint16_t) b;
        return 0;
}

/* ADDRESS[/PREFIX]:PORT[-PORT][/tcp|/udp]; IPv4 only (a filtered session has an IPv4 link only). */
static int parse_destination(const char *s, ProfileDestination *ret) {
        _cleanup_free_ char *copy = strdup(s);
        ProfileDestination d = { .prefix = 32, .protocol = PROFILE_PROTOCOL_TCP };
        char *colon, *slash;
        uint64_t prefix;
        uint32_t mask;
        int r;

        if (!copy)
                return -ENOMEM;
        colon = strchr(copy, ':');
        if (!colon || strchr(colon + 1, ':'))
                return -EINVAL;
        *colon = '\0';

        slash = strchr(colon + 1, '/');
        if (slash) {
                *slash = '\0';
                d.protocol = profile_protocol_from_string(slash + 1);
                if (d.protocol < 0)
                        return -EINVAL;
        }
        r = parse_port_range(colon + 1, &d);
        if (r < 0)
                return r;

        slash = strchr(copy, '/');
        if (slash) {
                *slash = '\0';
                r = parse_uint64(slash + 1, 32, &prefix);
                if (r < 0)
                        return r;
                d.prefix = (unsigned) prefix;
        }
        if (inet_pton(AF_INET, copy, &d.address) != 1)
                return -EINVAL;
        mask = d.prefix == 0 ? 0 : UINT32_MAX << (32 - d.prefix);
        if ((ntohl(d.address.s_addr) & ~mask) != 0)
                return -EINVAL;
        /* A loopback service is reached by translating one address: a range cannot be. */
        if (profile_destination_is_loopback(&d) && d.prefix != 32)
                return -EINVAL;
        *ret = d;
        return 0;
}

/* Two loopback destinations that differ in address but share a protocol and port cannot both be
 * translated from the one host-side address of the session's link. */
static bool destinations_conflict(const ProfileDestination *a, const ProfileDestination *b) {
        return profile_destination_is_loopback(a) && profile_destination_is_loopback(b) &&
               a->protocol == b->protocol && a->address.s_addr != b->address.s_addr &&
               a->port_first <= b->port_last && b->port_first <= a->port_last;
}

/* ---- the key table's parsers ---- */

static int parse_text(const char *value, void *field) {
        char **s = field;
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*s);
        *s = v;
        return 0;
}

static int parse_bool(const char *value, void *field) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(value, yes[i])) {
                        *(bool *) field = true;
                        return 0;
                }
                if (streq(value, no[i])) {
                        *(bool *) field = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* A bool that remembers whether it was given: -1 (not given), 0, 1. */
static int parse_tristate(const char *value, void *field) {
        bool b;
        int r = parse_bool(value, &b);

        if (r < 0)
                return r;
        *(int *) field = b;
        return 0;
}

static int parse_network_mode(const char *value, void *field) {
        ProfileNetwork n = profile_network_from_string(value);

        if (n < 0)
                return -EINVAL;
        *(ProfileNetwork *) field = n;
        return 0;
}

static int parse_allow(const char *value, void *field) {
        ProfileDestination ***l = field;
        _cleanup_strv_free_ char **words = strv_split(value, " \t");
        int r;

        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -EINVAL;
        for (char **w = words; *w; w++) {
                _cleanup_free_ ProfileDestination *d = calloc(1, sizeof(ProfileDestination));

                if (!d)
                        return -ENOMEM;
                r = parse_destination(*w, d);
                if (r < 0)
                        return r;
                for (ProfileDestination **e = *l; e && *e; e++)
                        if (destinations_conflict(*e, d))
                                return -EINVAL;
                r = destinations_append(l, d);
                if (r < 0)
                        return r;
                TAKE_PTR(d);
        }
        return 0;
}

static int mounts_add(ProfileMount ***l, ProfileMountType type, const char *source, const char *target,
                      bool read_only, bool optional, uint64_t size) {
        _cleanup_(profile_mount_freep) ProfileMount *m = calloc(1, sizeof(ProfileMount));
        int r;

        if (!m)
                return -ENOMEM;
        *m = (ProfileMount){ .type = type, .read_only = read_only, .optional = optional, .size = size };
        if (source && !(m->source = strdup(source)))
                return -ENOMEM;
        if (!(m->target = strdup(target)))
                return -ENOMEM;
        r = mounts_append(l, m);
        if (r < 0)
                return r;
        TAKE_PTR(m);
        return 0;
}

/* [-]HOST[:TARGET][:ro|:rw] for bind, [-]HOST[:TARGET] for cow ("-": optional). */
static int parse_host_mounts(const char *value, ProfileMount ***l, ProfileMountType type) {
        _cleanup_strv_free_ char **words = strv_split(value, " \t");
        int r;

        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -EINVAL;
        for (char **w = words; *w; w++) {
                _cleanup_strv_free_ char **parts = NULL;
                const char *target = NULL, *spec = *w;
                bool read_only = false, optional = false;
                size_t n;

                if (spec[0] == '-') {
                        optional = true;
                        spec++;
                }
                if (isempty(spec) || strstr(spec, "::") || spec[strlen(spec) - 1] == ':')
                        return -EINVAL;
                parts = strv_split(spec, ":");
                if (!parts)
                        return -ENOMEM;
                n = strv_length(parts);
                if (type == PROFILE_MOUNT_BIND && n >= 2 &&
                    (streq(parts[n - 1], "ro") || streq(parts[n - 1], "rw"))) {
                        read_only = streq(parts[n - 1], "ro");
                        n--;
                }
                if (n < 1 || n > 2)
                        return -EINVAL;
                target = n == 2 ? parts[1] : parts[0];
                if (!profile_path_is_valid(parts[0]) || !profile_target_is_valid(target))
                        return -EINVAL;
                r = mounts_add(l, type, parts[0], target, read_only, optional, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_bind(const char *value, void *field) {
        return parse_host_mounts(value, field, PROFILE_MOUNT_BIND);
}

int profile_add_bind(Profile *p, const char *spec) {
        return parse_host_mounts(spec, &p->mounts, PROFILE_MOUNT_BIND);
}

static int parse_cow(const char *value, void *field) {
        return parse_host_mounts(value, field, PROFILE_MOUNT_COW);
}

/* TARGET[:SIZE] */
static int parse_tmpfs(const char *value, void *field) {
        _cleanup_strv_free_ char **words = strv_split(value, " \t");
        int r;

        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -EINVAL;
        for (char **w = words; *w; w++) {
                _cleanup_free_ char *target = NULL;
                char *colon = strchr(*w, ':');
                uint64_t size = 0;

                target = colon ? strndup(*w, (size_t) (colon - *w)) : strdup(*w);
                if (!target)
                        return -ENOMEM;
                if (!profile_target_is_valid(target))
                        return -EINVAL;
                if (colon) {
                        r = parse_size_value(colon + 1, &size);
                        if (r < 0)
                                return r;
                }
                r = mounts_add(field, PROFILE_MOUNT_TMPFS, NULL, target, false, false, size);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* /dev/PATH[:r|rw|rwm] */
static int parse_devices(const char *value, void *field) {
        _cleanup_strv_free_ char **words = strv_split(value, " \t");
        int r;

        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -EINVAL;
        for (char **w = words; *w; w++) {
                _cleanup_(profile_device_freep) ProfileDevice *d = calloc(1, sizeof(ProfileDevice));
                char *colon = strchr(*w, ':');

                if (!d)
                        return -ENOMEM;
                d->path = colon ? strndup(*w, (size_t) (colon - *w)) : strdup(*w);
                if (!d->path)
                        return -ENOMEM;
                if (!startswith(d->path, "/dev/") || !profile_target_is_valid(d->path) ||
                    streq(d->path, "/dev/"))
                        return -EINVAL;
                if (!colon)
                        d->access = PROFILE_DEVICE_READ | PROFILE_DEVICE_WRITE;
                else if (streq(colon + 1, "r"))
                        d->access = PROFILE_DEVICE_READ;
                else if (streq(colon + 1, "rw"))
                        d->access = PROFILE_DEVICE_READ | PROFILE_DEVICE_WRITE;
                else if (streq(colon + 1, "rwm"))
                        d->access = PROFILE_DEVICE_READ | PROFILE_DEVICE_WRITE | PROFILE_DEVICE_MKNOD;
                else
                        return -EINVAL;
                r = devices_append(field, d);
                if (r < 0)
                        return r;
                TAKE_PTR(d);
        }
        return 0;
}

static int parse_size(const char *value, void *field) {
        return parse_size_value(value, field);
}

static int parse_cpu_quota(const char *value, void *field) {
        _cleanup_free_ char *digits = NULL;
        size_t n = strlen(value);
        uint64_t v;
        int r;

        if (n < 2 || value[n - 1] != '%')
                return -EINVAL;
        digits = strndup(value, n - 1);
        if (!digits)
                return -ENOMEM;
        r = parse_uint64(digits, 100000, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        *(unsigned *) field = (unsigned) v;
        return 0;
}

static int parse_pids(const char *value, void *field) {
        uint64_t v;
        int r = parse_uint64(value, 4194304, &v); /* the kernel's PID_MAX_LIMIT */

        if (r < 0)
                return r;
        if (v == 0)
                return -EINVAL;
        *(unsigned *) field = (unsigned) v;
        return 0;
}

/* A list key's blank-separated words (at least one), each given by @word as the word to keep (a static
 * string or @w itself) or NULL when it is not valid, added to the list @field once each: repeated keys add
 * to the list. */
static int parse_words(const char *value, void *field, const char *(*word)(const char *w)) {
        char ***l = field;
        _cleanup_strv_free_ char **words = strv_split(value, " \t");
        int r;

        if (!words)
                return -ENOMEM;
        if (!words[0])
                return -EINVAL;
        for (char **w = words; *w; w++) {
                const char *k = word(*w);

                if (!k)
                        return -EINVAL;
                if (strv_contains(*l, k))
                        continue;
                r = strv_extend(l, k);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *capability_word(const char *w) {
        return profile_capability_from_string(w) >= 0 ? w : NULL;
}

/* CAP ... or "none"; repeated keys add to the list, each name once. */
static int parse_capabilities(const char *value, void *field) {
        char ***l = field;

        if (streq(value, "none")) {
                if (!*l && !(*l = calloc(1, sizeof(char *))))
                        return -ENOMEM;
                return 0;
        }
        return parse_words(value, field, capability_word);
}

/* "default", "none", or an absolute path (no placeholder: the policy file is the host's). */
static int parse_seccomp(const char *value, void *field) {
        if (!streq(value, "default") && !streq(value, "none") &&
            !(value[0] == '/' && profile_path_is_valid(value)))
                return -EINVAL;
        return parse_text(value, field);
}

static int parse_no_new_privileges(const char *value, void *field) {
        ProfileNoNewPrivileges n = profile_no_new_privileges_from_string(value);

        if (n < 0)
                return -EINVAL;
        *(ProfileNoNewPrivileges *) field = n;
        return 0;
}

static int parse_apparmor_mode(const char *value, void *field) {
        ProfileApparmor a = profile_apparmor_from_string(value);

        if (a < 0)
                return -EINVAL;
        *(ProfileApparmor *) field = a;
        return 0;
}

/* "generated", or the name of a profile loaded by the administrator. */
static int parse_apparmor_profile(const char *value, void *field) {
        char **s = field;

        if (streq(value, "generated")) {
                free(*s);
                *s = NULL;
                return 0;
        }
        if (isempty(value) || strlen(value) > 255)
                return -EINVAL;
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c <= 0x20 || *c == 0x7f || strchr("\"'\\,{}", *c))
                        return -EINVAL;
        return parse_text(value, field);
}

static bool env_name_is_valid(const char *s, size_t n) {
        if (n == 0 || isdigit((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

/* NAME=VALUE, one per line; the value is everything after the first '='. */
static int parse_environment_set(const char *value, void *field) {
        char ***l = field;
        const char *eq = strchr(value, '=');
        size_t n;

        if (!eq || !env_name_is_valid(value, (size_t) (eq - value)))
                return -EINVAL;
        for (const char *c = eq + 1; *c; c++)
                if ((unsigned char) *c < 0x20 && *c != '\t')
                        return -EINVAL;
        n = (size_t) (eq - value) + 1;
        for (char **i = *l; i && *i; i++)
                if (strneq(*i, value, n)) {
                        char *v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(*i);
                        *i = v;
                        return 0;
                }
        return strv_extend(l, value);
}

static const char *environment_keep_word(const char *w) {
        size_t n = strlen(w);

        if (w[n - 1] == '*')
                n--;
        return n == 0 || env_name_is_valid(w, n) ? w : NULL;
}

static int parse_environment_keep(const char *value, void *field) {
        return parse_words(value, field, environment_keep_word);
}

static const char *const profile_dbus_table[_PROFILE_DBUS_MAX] = {
        [PROFILE_DBUS_NONE] = "none",
        [PROFILE_DBUS_FILTERED] = "filtered",
};

const char *profile_dbus_to_string(ProfileDbus d) {
        return d >= 0 && d < _PROFILE_DBUS_MAX ? profile_dbus_table[d] : NULL;
}

ProfileDbus profile_dbus_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(profile_dbus_table); i++)
                if (streq(s, profile_dbus_table[i]))
                        return (ProfileDbus) i;
        return _PROFILE_DBUS_INVALID;
}

static int parse_home(const char *value, void *field) {
        if (streq(value, "private"))
                *(bool *) field = true;
        else if (streq(value, "none"))
                *(bool *) field = false;
        else
                return -EINVAL;
        return 0;
}

static int parse_dbus(const char *value, void *field) {
        ProfileDbus d = profile_dbus_from_string(value);

        if (d < 0)
                return -EINVAL;
        *(ProfileDbus *) field = d;
        return 0;
}

/* A socket's path below a runtime directory: relative, no "." or ".." component, no empty one, only
 * [A-Za-z0-9._-] in names. */
static bool runtime_path_is_valid(const char *s) {
        const char *c = s;

        if (isempty(s) || strlen(s) > 200)
                return false;
        for (;;) {
                size_t n = strcspn(c, "/");

                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char) c[i]) && !strchr("._-", c[i]))
                                return false;
                if (!c[n])
                        return true;
                c += n + 1;
        }
}

static const char *socket_word(const char *w) {
        const char *p = streq(w, "pulse") ? "pulse/native" : streq(w, "pipewire") ? "pipewire-0" : w;

        return runtime_path_is_valid(p) ? p : NULL;
}

static int parse_sockets(const char *value, void *field) {
        return parse_words(value, field, socket_word);
}

/* D-Bus names as xdg-dbus-proxy's --talk takes them: a well-known name (two or more elements of
 * [A-Za-z0-9_-], not starting with a digit) or such a prefix followed by ".*". */
static bool dbus_name_is_valid(const char *s) {
        size_t n = strlen(s), elements = 0;
        bool prefix = n >= 2 && streq(s + n - 2, ".*");

        if (prefix)
                n -= 2;
        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i < n; elements++) {
                size_t k = 0;

                if (isdigit((unsigned char) s[i]))
                        return false;
                while (i + k < n && s[i + k] != '.') {
                        if (!isalnum((unsigned char) s[i + k]) && s[i + k] != '_' && s[i + k] != '-')
                                return false;
                        k++;
                }
                if (k == 0 || (i + k < n && i + k + 1 == n))
                        return false; /* an empty element, or a trailing '.' */
                i += k + 1;
        }
        return elements >= (prefix ? 1u : 2u);
}

static const char *dbus_name_word(const char *w) {
        return dbus_name_is_valid(w) ? w : NULL;
}

static int parse_dbus_names(const char *value, void *field) {
        return parse_words(value, field, dbus_name_word);
}

/* The profile being parsed, and what is resolved only once the whole file is read. */
typedef struct ProfileParse {
        Profile profile;
        int runtime_dir;   /* -1: not given; yes when sockets or dbus are */
        int apparmor_inet; /* -1: not given; the default depends on the network mode */
        char *seccomp;     /* "default", "none" or a path */
} ProfileParse;

#define PKEY(s, k, p, f) \
        { s, k, p, offsetof(ProfileParse, profile.f), 0 }
#define PLIST(s, k, p, f) \
        { s, k, p, offsetof(ProfileParse, profile.f), CONFIG_KEY_REPEATABLE }
static const ConfigKey profile_keys[] = {
        PKEY("profile", "description", parse_text, description),
        PKEY("network", "mode", parse_network_mode, network),
        PLIST("network", "allow", parse_allow, allow),
        PKEY("network", "dns", parse_bool, dns),
        PLIST("mounts", "bind", parse_bind, mounts),
        PLIST("mounts", "cow", parse_cow, mounts),
        PLIST("mounts", "tmpfs", parse_tmpfs, mounts),
        PKEY("mounts", "home", parse_home, private_home),
        PLIST("devices", "allow", parse_devices, devices),
        PKEY("limits", "memory", parse_size, memory_max),
        PKEY("limits", "cpu-quota", parse_cpu_quota, cpu_quota),
        PKEY("limits", "pids", parse_pids, pids_max),
        PLIST("security", "capabilities-drop", parse_capabilities, capabilities_drop),
        PLIST("security", "capabilities-keep", parse_capabilities, capabilities_keep),
        { "security", "seccomp", parse_seccomp, offsetof(ProfileParse, seccomp), 0 },
        PKEY("security", "no-new-privileges", parse_no_new_privileges, no_new_privileges),
        PKEY("apparmor", "mode", parse_apparmor_mode, apparmor),
        PKEY("apparmor", "profile", parse_apparmor_profile, apparmor_profile),
        PKEY("apparmor", "namespace", parse_bool, apparmor_namespace),
        PKEY("apparmor", "nesting", parse_bool, apparmor_nesting),
        { "apparmor", "inet", parse_tristate, offsetof(ProfileParse, apparmor_inet), 0 },
        PLIST("environment", "set", parse_environment_set, environment_set),
        PLIST("environment", "keep", parse_environment_keep, environment_keep),
        { "runtime", "directory", parse_tristate, offsetof(ProfileParse, runtime_dir), 0 },
        PLIST("runtime", "sockets", parse_sockets, runtime_sockets),
        PKEY("runtime", "dbus", parse_dbus, dbus),
        PLIST("runtime", "dbus-talk", parse_dbus_names, dbus_talk),
};

/* Checks between keys, and the defaults that depend on other keys. On -EINVAL, *reterr_key is the key
 * that contradicts another. */
static int profile_resolve(ProfileParse *pp, const char **reterr_key) {
        Profile *p = &pp->profile;
        const char *bad = NULL;

        if (p->allow && p->network != PROFILE_NETWORK_FILTERED)
                bad = "allow";
        else if (p->dns && p->network != PROFILE_NETWORK_FILTERED)
                bad = "dns";
        else if (p->capabilities_keep && p->capabilities_drop)
                bad = "capabilities-keep";
        else if (pp->runtime_dir == 0 && (p->runtime_sockets || p->dbus != PROFILE_DBUS_NONE))
                bad = "directory";
        else if (p->dbus_talk && p->dbus != PROFILE_DBUS_FILTERED)
                bad = "dbus-talk";
        if (bad) {
                if (reterr_key)
                        *reterr_key = bad;
                return -EINVAL;
        }

        if (!p->capabilities_keep && !p->capabilities_drop &&
            !(p->capabilities_drop = strv_split(PROFILE_CAPABILITIES_DROP_DEFAULT, " ")))
                return -ENOMEM;
        p->apparmor_inet = pp->apparmor_inet >= 0 ? pp->apparmor_inet : p->network != PROFILE_NETWORK_NONE;
        p->runtime_dir = pp->runtime_dir >= 0 ? pp->runtime_dir : p->runtime_sockets || p->dbus != PROFILE_DBUS_NONE;
        if (!pp->seccomp || streq(pp->seccomp, "default"))
                p->seccomp = PROFILE_SECCOMP_DEFAULT;
        else if (streq(pp->seccomp, "none"))
                p->seccomp = PROFILE_SECCOMP_NONE;
        else {
                p->seccomp = PROFILE_SECCOMP_FILE;
                p->seccomp_path = TAKE_PTR(pp->seccomp);
        }
        return 0;
}

int profile_parse_file(const char *path, const char *name, Profile **ret, unsigned *reterr_line,
                       const char **reterr_key) {
        ProfileParse pp = {
                .profile = {
                        .network = PROFILE_NETWORK_NONE,
                        .seccomp = PROFILE_SECCOMP_DEFAULT,
                        .no_new_privileges = PROFILE_NO_NEW_PRIVILEGES_NON_ROOT,
                        .apparmor = PROFILE_APPARMOR_AUTO,
                        .apparmor_namespace = true,
                },
                .runtime_dir = -1,
                .apparmor_inet = -1,
        };
        Profile *p = NULL;
        int r;

        if (reterr_line)
                *reterr_line = 0;
        if (reterr_key)
                *reterr_key = NULL;
        if (!chroot_name_is_valid(name, NULL))
                return -EINVAL;

        r = config_parse(path, profile_keys, ELEMENTSOF(profile_keys), &pp, reterr_line, reterr_key);
        if (r >= 0)
                r = profile_resolve(&pp, reterr_key);
        if (r >= 0 && (!(pp.profile.name = strdup(name)) || !(pp.profile.path = strdup(path))))
                r = -ENOMEM;
        if (r >= 0 && !(p = malloc(sizeof(Profile))))
                r = -ENOMEM;
        free(pp.seccomp);
        if (r < 0) {
                log_debug_errno(r, "%s:%u: Failed to parse profile: %m", path,
                                reterr_line ? *reterr_line : 0);
                profile_done(&pp.profile);
                return r;
        }
        *p = pp.profile;
        *ret = p;
        return 0;
}

int profile_find(char *const *dirs, const char *name, Profile **ret, char **reterr_path,
                 unsigned *reterr_line, const char **reterr_key) {
        int r;

        if (!chroot_name_is_valid(name, NULL))
                return -EINVAL;
        /* The first directory that has NAME.conf wins, broken or not: an override is never skipped. */
        for (char *const *d = dirs; d && *d; d++) {
                _cleanup_free_ char *p = strdup_printf("%s/%s.conf", *d, name);

                if (!p)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        continue;
                r = profile_parse_file(p, name, ret, reterr_line, reterr_key);
                if (r < 0 && reterr_path)
                        *reterr_path = TAKE_PTR(p);
                return r;
        }
        return -ENOENT;
}

int profile_list_names(char *const *dirs, char ***ret) {
        /* Same layout as chroot definitions: NAME.conf files, earlier directories first. */
        return chroot_def_list_names(dirs, ret);
}

int profile_expand_path(const char *path, const char *home, char **ret) {
        const char *rest = NULL;
        char *s;

        if (startswith(path, "$HOME"))
                rest = path + 5;
        else if (path[0] == '~')
                rest = path + 1;
        if (rest) {
                if (!path_is_absolute(home))
                        return -EINVAL;
                s = isempty(rest) ? strdup(home) : path_join(home, rest);
        } else
                s = strdup(path);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool profile_environment_keeps(const Profile *p, const char *name) {
        for (char **k = p->environment_keep; k && *k; k++) {
                size_t n = strlen(*k);

                if ((*k)[n - 1] == '*' ? strneq(name, *k, n - 1) : streq(name, *k))
                        return true;
        }
        return false;
}
