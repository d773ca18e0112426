/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Session profiles: every key, defaults, one malformed file per class of error (file:line and key),
 * lookup with overrides, the shipped profiles, placeholders. Data: tests/data/profiles/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "config.h"

#define PROFILE(f) TEST_DATA_DIR "/profiles/" f
#define SHIPPED(f) TEST_DATA_DIR "/../../confs/profiles/" f

static Profile *parse(const char *path, const char *name) {
        Profile *p = NULL;
        unsigned line = 99;
        const char *key = "x";
        int r;

        r = profile_parse_file(path, name, &p, &line, &key);
        if (r < 0)
                print_error("%s:%u: key %s: %s\n", path, line, key ?: "-", strerror(-r));
        assert_int_equal(r, 0);
        assert_non_null(p);
        return p;
}

static void assert_destination(const ProfileDestination *d, const char *address, unsigned prefix,
                               unsigned first, unsigned last, ProfileProtocol protocol) {
        char buf[INET_ADDRSTRLEN];

        assert_non_null(d);
        assert_non_null(inet_ntop(AF_INET, &d->address, buf, sizeof(buf)));
        assert_string_equal(buf, address);
        assert_int_equal(d->prefix, prefix);
        assert_int_equal(d->port_first, first);
        assert_int_equal(d->port_last, last);
        assert_int_equal(d->protocol, protocol);
}

static void assert_mount(const ProfileMount *m, ProfileMountType type, const char *source,
                         const char *target, bool read_only, uint64_t size) {
        assert_non_null(m);
        assert_int_equal(m->type, type);
        if (source)
                assert_string_equal(m->source, source);
        else
                assert_null(m->source);
        assert_string_equal(m->target, target);
        assert_int_equal(m->read_only, read_only);
        assert_int_equal(m->size, size);
}

static void test_parse_full(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL;
        (void) state;

        p = parse(PROFILE("good-full.conf"), "full");
        assert_string_equal(p->name, "full");
        assert_string_equal(p->path, PROFILE("good-full.conf"));
        assert_string_equal(p->description, "Every key");

        assert_int_equal(p->network, PROFILE_NETWORK_FILTERED);
        assert_destination(p->allow[0], "127.0.0.1", 32, 3142, 3142, PROFILE_PROTOCOL_TCP);
        assert_true(profile_destination_is_loopback(p->allow[0]));
        assert_destination(p->allow[1], "10.0.0.1", 32, 80, 80, PROFILE_PROTOCOL_TCP);
        assert_false(profile_destination_is_loopback(p->allow[1]));
        assert_destination(p->allow[2], "192.168.0.0", 16, 8000, 8080, PROFILE_PROTOCOL_UDP);
        /* An indented line continues the key before it. */
        assert_destination(p->allow[3], "10.1.2.3", 32, 443, 443, PROFILE_PROTOCOL_TCP);
        assert_null(p->allow[4]);
        assert_true(p->dns);

        /* Mounts in file order, whatever their kind. */
        assert_mount(p->mounts[0], PROFILE_MOUNT_BIND, "/srv/data", "/data", true, 0);
        assert_mount(p->mounts[1], PROFILE_MOUNT_BIND, "~/src", "~/src", false, 0);
        assert_mount(p->mounts[2], PROFILE_MOUNT_BIND, "$HOME/.cache", "/cache", false, 0);
        assert_mount(p->mounts[3], PROFILE_MOUNT_COW, "/opt/tools", "/opt/tools", false, 0);
        assert_mount(p->mounts[4], PROFILE_MOUNT_COW, "~/work", "/work", false, 0);
        assert_mount(p->mounts[5], PROFILE_MOUNT_TMPFS, NULL, "/tmp", false, 512ULL << 20);
        assert_mount(p->mounts[6], PROFILE_MOUNT_TMPFS, NULL, "/var/cache/big", false, 0);
        assert_null(p->mounts[7]);

        assert_string_equal(p->devices[0]->path, "/dev/fuse");
        assert_int_equal(p->devices[0]->access, PROFILE_DEVICE_READ | PROFILE_DEVICE_WRITE);
        assert_string_equal(p->devices[1]->path, "/dev/kvm");
        assert_int_equal(p->devices[1]->access,
                         PROFILE_DEVICE_READ | PROFILE_DEVICE_WRITE | PROFILE_DEVICE_MKNOD);
        assert_string_equal(p->devices[2]->path, "/dev/dri");
        assert_int_equal(p->devices[2]->access, PROFILE_DEVICE_READ);
        assert_null(p->devices[3]);

        assert_int_equal(p->memory_max, 2ULL << 30);
        assert_int_equal(p->cpu_quota, 250);
        assert_int_equal(p->pids_max, 1024);

        /* Repeated list keys add; a name given twice counts once. */
        assert_int_equal(strv_length(p->capabilities_drop), 3);
        assert_string_equal(p->capabilities_drop[0], "sys_admin");
        assert_string_equal(p->capabilities_drop[1], "mknod");
        assert_string_equal(p->capabilities_drop[2], "net_raw");
        assert_null(p->capabilities_keep);
        assert_int_equal(p->seccomp, PROFILE_SECCOMP_FILE);
        assert_string_equal(p->seccomp_path, "/etc/arkose/seccomp/strict");
        assert_int_equal(p->no_new_privileges, PROFILE_NO_NEW_PRIVILEGES_YES);

        assert_int_equal(p->apparmor, PROFILE_APPARMOR_REQUIRED);
        assert_null(p->apparmor_profile);
        assert_false(p->apparmor_namespace);
        assert_true(p->apparmor_nesting);
        assert_false(p->apparmor_inet);

        /* A later NAME= replaces an earlier one, in place; the value keeps its blanks. */
        assert_int_equal(strv_length(p->environment_set), 2);
        assert_string_equal(p->environment_set[0], "LANG=en_GB.UTF-8");
        assert_string_equal(p->environment_set[1], "GREETING=hello world");
        assert_int_equal(strv_length(p->environment_keep), 3);
        assert_true(profile_environment_keeps(p, "TERM"));
        assert_true(profile_environment_keeps(p, "LC_ALL"));
        assert_true(profile_environment_keeps(p, "LC_"));
        assert_true(profile_environment_keeps(p, "http_proxy"));
        assert_false(profile_environment_keeps(p, "LC"));
        assert_false(profile_environment_keeps(p, "TERMINAL"));
        assert_false(profile_environment_keeps(p, "HTTP_PROXY"));
}

static void assert_defaults(const Profile *p) {
        assert_int_equal(p->network, PROFILE_NETWORK_NONE);
        assert_null(p->allow);
        assert_false(p->dns);
        assert_null(p->mounts);
        assert_null(p->devices);
        assert_int_equal(p->memory_max, 0);
        assert_int_equal(p->cpu_quota, 0);
        assert_int_equal(p->pids_max, 0);
        /* LXC's own default drop list. */
        assert_int_equal(strv_length(p->capabilities_drop), 5);
        assert_true(strv_contains(p->capabilities_drop, "mac_admin"));
        assert_true(strv_contains(p->capabilities_drop, "mac_override"));
        assert_true(strv_contains(p->capabilities_drop, "sys_module"));
        assert_true(strv_contains(p->capabilities_drop, "sys_rawio"));
        assert_true(strv_contains(p->capabilities_drop, "sys_time"));
        assert_null(p->capabilities_keep);
        assert_int_equal(p->seccomp, PROFILE_SECCOMP_DEFAULT);
        assert_null(p->seccomp_path);
        assert_int_equal(p->no_new_privileges, PROFILE_NO_NEW_PRIVILEGES_NON_ROOT);
        assert_int_equal(p->apparmor, PROFILE_APPARMOR_AUTO);
        assert_null(p->apparmor_profile);
        assert_true(p->apparmor_namespace);
        assert_false(p->apparmor_nesting);
        /* network none: no inet sockets unless the profile says so. */
        assert_false(p->apparmor_inet);
        assert_null(p->environment_set);
        assert_null(p->environment_keep);
        assert_false(profile_environment_keeps(p, "TERM"));
        assert_false(p->private_home);
        assert_false(p->runtime_dir);
        assert_null(p->runtime_sockets);
        assert_int_equal(p->dbus, PROFILE_DBUS_NONE);
        assert_null(p->dbus_talk);
}

static void test_parse_runtime(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL, *d = NULL, *h = NULL;
        (void) state;

        p = parse(PROFILE("good-runtime.conf"), "runtime");
        assert_true(p->runtime_dir);
        /* "pulse" and "pipewire" are their sockets' paths; a path given twice is kept once. */
        assert_int_equal(strv_length(p->runtime_sockets), 4);
        assert_string_equal(p->runtime_sockets[0], PROFILE_SOCKET_WAYLAND);
        assert_string_equal(p->runtime_sockets[1], "pulse/native");
        assert_string_equal(p->runtime_sockets[2], "pipewire-0");
        assert_string_equal(p->runtime_sockets[3], "speech-dispatcher/speechd.sock");
        assert_int_equal(p->dbus, PROFILE_DBUS_FILTERED);
        assert_int_equal(strv_length(p->dbus_talk), 3);
        assert_string_equal(p->dbus_talk[1], "org.freedesktop.portal.*");
        assert_string_equal(p->dbus_talk[2], "org.a11y.Bus");
        assert_string_equal(profile_dbus_to_string(p->dbus), "filtered");
        assert_int_equal(profile_dbus_from_string("none"), PROFILE_DBUS_NONE);
        assert_int_equal(profile_dbus_from_string("open"), _PROFILE_DBUS_INVALID);

        h = parse(PROFILE("good-home-private.conf"), "home-private");
        assert_true(h->private_home);
        assert_false(h->runtime_dir);

        d = parse(PROFILE("good-runtime-dir.conf"), "runtime-dir");
        assert_true(d->runtime_dir);
        assert_null(d->runtime_sockets);
        assert_int_equal(d->dbus, PROFILE_DBUS_NONE);
}

static void test_parse_defaults(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL, *e = NULL;
        (void) state;

        p = parse(PROFILE("good-minimal.conf"), "minimal");
        assert_string_equal(p->description, "Nothing but defaults");
        assert_defaults(p);

        e = parse(PROFILE("good-empty.conf"), "empty");
        assert_null(e->description);
        assert_defaults(e);
}

static void test_parse_keep_and_off(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL, *n = NULL, *f = NULL;
        (void) state;

        p = parse(PROFILE("good-keep.conf"), "keep");
        assert_int_equal(p->network, PROFILE_NETWORK_HOST);
        assert_null(p->capabilities_drop);
        assert_int_equal(strv_length(p->capabilities_keep), 5);
        assert_string_equal(p->capabilities_keep[0], "chown");
        assert_int_equal(p->seccomp, PROFILE_SECCOMP_NONE);
        assert_null(p->seccomp_path);
        assert_int_equal(p->no_new_privileges, PROFILE_NO_NEW_PRIVILEGES_NO);
        assert_int_equal(p->apparmor, PROFILE_APPARMOR_OFF);
        assert_string_equal(p->apparmor_profile, "my-own-profile");
        /* Any network but none: inet sockets by default. */
        assert_true(p->apparmor_inet);

        /* "none" drops nothing, which is not the same as not saying. */
        n = parse(PROFILE("good-drop-none.conf"), "drop-none");
        assert_non_null(n->capabilities_drop);
        assert_int_equal(strv_length(n->capabilities_drop), 0);

        f = parse(PROFILE("good-filtered.conf"), "filtered");
        assert_int_equal(f->network, PROFILE_NETWORK_FILTERED);
        assert_true(f->apparmor_inet);
        assert_destination(f->allow[2], "10.20.0.0", 16, 5000, 5010, PROFILE_PROTOCOL_UDP);
}

static void test_parse_malformed(void **state) {
        static const struct {
                const char *file;
                unsigned line;   /* expected reterr_line */
                const char *key; /* expected reterr_key, NULL for none */
        } cases[] = {
                { "bad-syntax.conf", 3, NULL },
                { "bad-unknown-key.conf", 3, NULL },
                /* A key of another section: not a key of this one (config_error_describe() says so). */
                { "bad-unknown-section.conf", 4, NULL },
                { "bad-wrong-section.conf", 3, NULL },
                { "bad-network-mode.conf", 2, "mode" },
                { "bad-duplicate.conf", 3, "mode" },
                { "bad-allow-no-port.conf", 3, "allow" },
                { "bad-allow-port-zero.conf", 3, "allow" },
                { "bad-allow-port-range.conf", 3, "allow" },
                { "bad-allow-port-big.conf", 3, "allow" },
                { "bad-allow-protocol.conf", 3, "allow" },
                { "bad-allow-address.conf", 3, "allow" },
                { "bad-allow-hostname.conf", 3, "allow" },
                { "bad-allow-ipv6.conf", 3, "allow" },
                { "bad-allow-host-bits.conf", 3, "allow" },
                { "bad-allow-loopback-prefix.conf", 3, "allow" },
                { "bad-allow-loopback-conflict.conf", 4, "allow" },
                { "bad-allow-empty.conf", 3, "allow" },
                { "bad-allow-not-filtered.conf", 0, "allow" },
                { "bad-dns-not-filtered.conf", 0, "dns" },
                { "bad-dns-value.conf", 3, "dns" },
                { "bad-bind-relative.conf", 2, "bind" },
                { "bad-bind-dotdot.conf", 2, "bind" },
                { "bad-bind-mode.conf", 2, "bind" },
                { "bad-bind-dash-alone.conf", 2, "bind" },
                { "bad-bind-dash-relative.conf", 2, "bind" },
                { "bad-bind-target-proc.conf", 2, "bind" },
                { "bad-bind-target-root.conf", 2, "bind" },
                { "bad-bind-user-placeholder.conf", 2, "bind" },
                { "bad-bind-tilde-user.conf", 2, "bind" },
                { "bad-cow-mode.conf", 2, "cow" },
                { "bad-tmpfs-size.conf", 2, "tmpfs" },
                { "bad-tmpfs-zero.conf", 2, "tmpfs" },
                { "bad-device-path.conf", 2, "allow" },
                { "bad-device-access.conf", 2, "allow" },
                { "bad-memory.conf", 2, "memory" },
                { "bad-memory-overflow.conf", 2, "memory" },
                { "bad-cpu-quota.conf", 2, "cpu-quota" },
                { "bad-pids.conf", 2, "pids" },
                { "bad-capability.conf", 2, "capabilities-drop" },
                { "bad-capabilities-both.conf", 0, "capabilities-keep" },
                { "bad-seccomp.conf", 2, "seccomp" },
                { "bad-no-new-privileges.conf", 2, "no-new-privileges" },
                { "bad-apparmor-mode.conf", 2, "mode" },
                { "bad-apparmor-profile.conf", 2, "profile" },
                { "bad-apparmor-inet.conf", 2, "inet" },
                { "bad-environment-set.conf", 2, "set" },
                { "bad-environment-set-noeq.conf", 2, "set" },
                { "bad-environment-keep.conf", 2, "keep" },
                { "bad-home.conf", 2, "home" },
                { "bad-runtime-socket-dotdot.conf", 2, "sockets" },
                { "bad-runtime-socket-absolute.conf", 2, "sockets" },
                { "bad-runtime-socket-empty.conf", 2, "sockets" },
                { "bad-runtime-dbus.conf", 2, "dbus" },
                { "bad-runtime-dbus-name.conf", 3, "dbus-talk" },
                { "bad-runtime-dbus-one-element.conf", 3, "dbus-talk" },
                { "bad-runtime-talk-no-dbus.conf", 0, "dbus-talk" },
                { "bad-runtime-no-directory.conf", 0, "directory" },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = strdup_printf("%s/profiles/%s", TEST_DATA_DIR, cases[i].file);
                Profile *p = NULL;
                unsigned line = 12345;
                const char *key = "unset";

                print_message("%s\n", cases[i].file);
                /* A key given again is told from a bad value. */
                assert_int_equal(profile_parse_file(path, "x", &p, &line, &key),
                                 streq(cases[i].file, "bad-duplicate.conf") ? -ENOTUNIQ : -EINVAL);
                assert_null(p);
                assert_int_equal(line, cases[i].line);
                if (cases[i].key)
                        assert_string_equal(key, cases[i].key);
                else
                        assert_null(key);
        }
}

/* What the message says after "PATH:LINE: ", for the errors above as the parser reported them. */
static void test_error_describe(void **state) {
        static const struct {
                const char *file, *says;
        } cases[] = {
                { "bad-wrong-section.conf", "unknown key 'mode' in [profile]" },
                { "bad-unknown-section.conf", "unknown key 'dns' in [netwerk]" },
                { "bad-bind-relative.conf", "invalid value '" },
                /* bind may be repeated: its second one is refused for its value, not for being there. */
                { "bad-bind-repeated-relative.conf", "invalid value 'srv/data' for 'bind'" },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *path = strdup_printf("%s/profiles/%s", TEST_DATA_DIR, cases[i].file), *why = NULL;
                const char *key = NULL;
                unsigned line = 0;
                Profile *p = NULL;

                print_message("%s\n", cases[i].file);
                assert_int_equal(profile_parse_file(path, "x", &p, &line, &key), -EINVAL);
                why = config_error_describe(-EINVAL, path, line, key);
                assert_non_null(why);
                assert_non_null(strstr(why, cases[i].says));
        }
}

static void test_parse_errors_other(void **state) {
        Profile *p = NULL;
        (void) state;

        assert_int_equal(profile_parse_file(PROFILE("does-not-exist.conf"), "x", &p, NULL, NULL), -ENOENT);
        assert_int_equal(profile_parse_file(PROFILE("good-minimal.conf"), "../x", &p, NULL, NULL), -EINVAL);
        assert_null(p);
}

static void test_find(void **state) {
        char *dirs[] = { (char *) PROFILE("find/etc"), (char *) PROFILE("find/usr"), NULL };
        _cleanup_(profile_freep) Profile *b = NULL, *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *errpath = NULL;
        Profile *x = NULL;
        unsigned line = 0;
        const char *key = NULL;
        (void) state;

        /* /etc/arkose/profiles.d wins over the shipped one. */
        assert_int_equal(profile_find(dirs, "buildd", &b, NULL, NULL, NULL), 0);
        assert_string_equal(b->description, "local buildd");
        assert_string_equal(b->path, PROFILE("find/etc/buildd.conf"));
        assert_int_equal(profile_find(dirs, "dev", &d, NULL, NULL, NULL), 0);
        assert_string_equal(d->description, "shipped dev");

        assert_int_equal(profile_find(dirs, "nosuch", &x, NULL, NULL, NULL), -ENOENT);
        assert_int_equal(profile_find(dirs, "../find/usr/dev", &x, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(profile_find(dirs, "broken", &x, &errpath, &line, &key), -EINVAL);
        assert_null(x);
        assert_string_equal(errpath, PROFILE("find/usr/broken.conf"));
        assert_int_equal(line, 2);
        assert_string_equal(key, "mode");

        assert_int_equal(profile_list_names(dirs, &names), 0);
        assert_int_equal(strv_length(names), 3);
        assert_string_equal(names[0], "broken");
        assert_string_equal(names[1], "buildd");
        assert_string_equal(names[2], "dev");
}

static void test_shipped_profiles(void **state) {
        _cleanup_(profile_freep) Profile *b = NULL, *d = NULL, *g = NULL;
        static const char *const buildd_drops[] = { "sys_admin",  "mknod",        "net_raw",
                                                    "sys_module", "sys_rawio",    "sys_time",
                                                    "mac_admin",  "mac_override", "sys_boot" };
        (void) state;

        b = parse(SHIPPED("buildd.conf"), "buildd");
        assert_int_equal(b->network, PROFILE_NETWORK_NONE);
        assert_null(b->mounts);
        for (size_t i = 0; i < ELEMENTSOF(buildd_drops); i++)
                assert_true(strv_contains(b->capabilities_drop, buildd_drops[i]));
        /* What a build does need stays. */
        assert_false(strv_contains(b->capabilities_drop, "chown"));
        assert_false(strv_contains(b->capabilities_drop, "dac_override"));
        assert_false(strv_contains(b->capabilities_drop, "fowner"));
        assert_false(strv_contains(b->capabilities_drop, "setuid"));
        assert_int_equal(b->seccomp, PROFILE_SECCOMP_DEFAULT);
        assert_int_equal(b->apparmor, PROFILE_APPARMOR_AUTO);
        assert_true(b->apparmor_namespace);
        assert_true(b->apparmor_inet);

        d = parse(SHIPPED("dev.conf"), "dev");
        assert_int_equal(d->network, PROFILE_NETWORK_HOST);
        assert_mount(d->mounts[0], PROFILE_MOUNT_BIND, "$HOME", "$HOME", false, 0);
        assert_null(d->mounts[1]);
        assert_true(strv_contains(d->capabilities_drop, "net_admin"));
        /* The agent is the session's own ([runtime]): the caller's path would name nothing inside. */
        assert_true(d->runtime_dir);
        assert_true(strv_contains(d->runtime_sockets, PROFILE_SOCKET_SSH_AGENT));
        assert_false(profile_environment_keeps(d, "SSH_AUTH_SOCK"));
        assert_int_equal(d->dbus, PROFILE_DBUS_NONE);

        g = parse(SHIPPED("desktop.conf"), "desktop");
        assert_int_equal(g->network, PROFILE_NETWORK_HOST);
        assert_mount(g->mounts[0], PROFILE_MOUNT_BIND, "/tmp/.X11-unix", "/tmp/.X11-unix", true, 0);
        assert_string_equal(g->devices[0]->path, "/dev/dri");
        assert_true(profile_environment_keeps(g, "DISPLAY"));
        /* The user's runtime directory is the session's own: the caller's path would name nothing. */
        assert_false(profile_environment_keeps(g, "XDG_RUNTIME_DIR"));
        assert_false(profile_environment_keeps(g, "WAYLAND_DISPLAY"));
        assert_true(g->runtime_dir);
        assert_true(strv_contains(g->runtime_sockets, PROFILE_SOCKET_WAYLAND));
        assert_true(strv_contains(g->runtime_sockets, "pulse/native"));
        assert_true(strv_contains(g->runtime_sockets, "pipewire-0"));
        assert_int_equal(g->dbus, PROFILE_DBUS_FILTERED);
        assert_true(g->private_home);
        assert_false(d->private_home);
        assert_false(b->runtime_dir);
}

static void test_expand_path(void **state) {
        static const struct {
                const char *in, *home, *out;
        } good[] = {
                { "~", "/home/u", "/home/u" },      { "~/src", "/home/u", "/home/u/src" },
                { "$HOME", "/home/u", "/home/u" },  { "$HOME/.cache", "/home/u/", "/home/u/.cache" },
                { "/srv/data", NULL, "/srv/data" },
        };
        char *s = NULL;
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *r = NULL;
                assert_int_equal(profile_expand_path(good[i].in, good[i].home, &r), 0);
                assert_string_equal(r, good[i].out);
        }
        assert_int_equal(profile_expand_path("~/x", NULL, &s), -EINVAL);
        assert_int_equal(profile_expand_path("$HOME", "relative", &s), -EINVAL);
        assert_null(s);
}

static void test_names(void **state) {
        (void) state;

        assert_int_equal(profile_capability_from_string("chown"), 0);
        assert_int_equal(profile_capability_from_string("sys_admin"), 21);
        assert_int_equal(profile_capability_from_string("checkpoint_restore"), 40);
        assert_int_equal(profile_capability_from_string("CAP_SYS_ADMIN"), -EINVAL);
        assert_string_equal(profile_capability_to_string(16), "sys_module");
        assert_null(profile_capability_to_string(41));
        assert_null(profile_capability_to_string(-1));

        for (int i = 0; i < _PROFILE_NETWORK_MAX; i++)
                assert_int_equal(profile_network_from_string(profile_network_to_string(i)), i);
        assert_int_equal(profile_network_from_string("direct"), _PROFILE_NETWORK_INVALID);
        for (int i = 0; i < _PROFILE_APPARMOR_MAX; i++)
                assert_int_equal(profile_apparmor_from_string(profile_apparmor_to_string(i)), i);
        for (int i = 0; i < _PROFILE_MOUNT_TYPE_MAX; i++)
                assert_int_equal(profile_mount_type_from_string(profile_mount_type_to_string(i)), i);
        for (int i = 0; i < _PROFILE_NO_NEW_PRIVILEGES_MAX; i++)
                assert_int_equal(
                        profile_no_new_privileges_from_string(profile_no_new_privileges_to_string(i)), i);
        assert_string_equal(profile_protocol_to_string(PROFILE_PROTOCOL_UDP), "udp");
        assert_string_equal(profile_seccomp_to_string(PROFILE_SECCOMP_DEFAULT), "default");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_full),
                cmocka_unit_test(test_parse_defaults),
                cmocka_unit_test(test_parse_keep_and_off),
                cmocka_unit_test(test_parse_runtime),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_error_describe),
                cmocka_unit_test(test_parse_errors_other),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_shipped_profiles),
                cmocka_unit_test(test_expand_path),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
