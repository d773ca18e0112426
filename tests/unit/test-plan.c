/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Planners: LXC configuration, overlay options, debootstrap argv. Pure; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/util.h"
#include "container.h"
#include "mount.h"
#include "unpack.h"

static const char *item(char **l, const char *key) {
        for (char **i = l; i && i[0]; i += 2)
                if (streq(i[0], key))
                        return i[1];
        return NULL;
}

/* The value of the last item named @key. */
static const char *last(char **l, const char *key) {
        const char *v = NULL;

        for (char **i = l; i && i[0] && i[1]; i += 2)
                if (streq(i[0], key))
                        v = i[1];
        return v;
}

static size_t count(char **l, const char *key) {
        size_t n = 0;
        for (char **i = l; i && i[0]; i += 2)
                n += streq(i[0], key);
        return n;
}

static void test_container_plan_none(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        char *binds[] = { (char *) "/home/u/src", NULL };
        ContainerPlan p = {
                .name = "bookworm-1234", .lxcpath = "/var/lib/arkose/lxc", .rootfs = "/var/lib/arkose/sessions/x/root",
                .hostname = "bookworm", .log_file = "/tmp/l", .network = CONTAINER_NETWORK_NONE, .binds = binds,
        };
        (void) state;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.uts.name"), "bookworm");
        assert_string_equal(item(l, "lxc.rootfs.path"), "dir:/var/lib/arkose/sessions/x/root");
        assert_string_equal(item(l, "lxc.net.0.type"), "empty");
        assert_string_equal(item(l, "lxc.net.0.flags"), "up");
        assert_string_equal(item(l, "lxc.mount.auto"), "proc:mixed sys:ro cgroup:mixed");
        assert_string_equal(item(l, "lxc.autodev"), "1");
        assert_string_equal(item(l, "lxc.console.path"), "none");
        assert_string_equal(last(l, "lxc.apparmor.profile"), "unconfined");
        assert_string_equal(item(l, "lxc.log.file"), "/tmp/l");
        assert_string_equal(item(l, "lxc.mount.entry"), "/home/u/src home/u/src none rbind,create=dir 0 0");
        assert_int_equal(count(l, "lxc.mount.entry"), 2);
        assert_string_equal(last(l, "lxc.mount.entry"), "tmpfs dev/shm tmpfs rw,nosuid,nodev,mode=1777,create=dir 0 0");
        /* Debian's common.conf (lxcfs hook) is never pulled in; the host's personality unless asked. */
        assert_null(item(l, "lxc.include"));
        assert_null(item(l, "lxc.arch"));
        assert_null(item(l, "lxc.hook.post-stop"));
}

/* A 32-bit chroot's sessions run under the linux32 personality (lxc.arch). */
static void test_container_plan_personality(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        ContainerPlan p = { .name = "n", .rootfs = "/r", .hostname = "h", .personality = "linux32" };

        (void) state;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.arch"), "linux32");
        assert_int_equal(count(l, "lxc.arch"), 1);
}

static void test_container_plan_host_and_errors(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        char *bad_binds[] = { (char *) "relative/path", NULL };
        char *space_binds[] = { (char *) "/a b", NULL };
        ContainerPlan p = { .name = "n", .rootfs = "/r", .hostname = "h", .network = CONTAINER_NETWORK_HOST };
        (void) state;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.net.0.type"), "none");
        assert_null(item(l, "lxc.net.0.flags"));
        assert_int_equal(count(l, "lxc.mount.entry"), 1);
        assert_null(item(l, "lxc.log.file"));

        p.binds = bad_binds;
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
        p.binds = space_binds;
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
        p.binds = NULL;
        p.rootfs = "relative";
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
        p.rootfs = "/r";
        p.network = 42;
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);

        /* arkose-init, read-only on the container's /dev (no write to the session's root), first. */
        strv_free(l);
        l = NULL;
        p.network = CONTAINER_NETWORK_NONE;
        p.init = "/usr/lib/arkose/arkose-init";
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.mount.entry"),
                            "/usr/lib/arkose/arkose-init dev/.arkose-init none bind,ro,create=file 0 0");
        p.init = "relative/arkose-init";
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);

        assert_int_equal(container_network_from_string("none"), CONTAINER_NETWORK_NONE);
        assert_int_equal(container_network_from_string("host"), CONTAINER_NETWORK_HOST);
        assert_int_equal(container_network_from_string("bogus"), -EINVAL);
}

/* A detached session's run directory: bound read-write at /dev/.arkose-run, after arkose-init, only with it. */
static void test_container_plan_run_dir(void **state) {
        _cleanup_strv_free_ char **l = NULL;
        ContainerPlan p = {
                .name = "n", .rootfs = "/r", .hostname = "h", .network = CONTAINER_NETWORK_NONE,
                .init = "/usr/lib/arkose/arkose-init", .run_dir = "/var/lib/arkose/sessions/n/run",
        };
        size_t k = 0;
        (void) state;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_int_equal(count(l, "lxc.mount.entry"), 3); /* and /dev/shm, last */
        for (char **i = l; i[0]; i += 2)
                if (streq(i[0], "lxc.mount.entry") && k < 2)
                        assert_string_equal(i[1], k++ == 0 ? "/usr/lib/arkose/arkose-init dev/.arkose-init none bind,ro,create=file 0 0"
                                                           : "/var/lib/arkose/sessions/n/run dev/.arkose-run none bind,create=dir 0 0");
        strv_free(l);
        l = NULL;
        p.init = NULL; /* no arkose-init: nobody to listen, nothing bound (but /dev/shm) */
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_int_equal(count(l, "lxc.mount.entry"), 1);
        strv_free(l);
        l = NULL;
        p.init = "/usr/lib/arkose/arkose-init";
        p.run_dir = "/a dir";
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
        p.run_dir = "relative";
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
}

/* A shared spare (ContainerPlan.fresh_dir): its fresh directory bound in, its init keeping what it
 * needs (sys_admin, net_admin, mknod, setpcap, setuid, setgid) (and no other capability it would not have had), and told which to drop for sub-sessions. */
static void test_container_plan_fresh(void **state) {
        _cleanup_strv_free_ char **l = NULL, **args = NULL;
        char *drop[] = { (char *) "lxc.cap.drop", (char *) "mknod sys_admin net_raw net_admin", NULL };
        char *keep[] = { (char *) "lxc.cap.keep", (char *) "chown setgid setuid", NULL };
        char *none[] = { (char *) "lxc.cap.keep", (char *) "none", NULL };
        char *bad[] = { (char *) "lxc.cap.drop", (char *) "sys_admin no_such_cap", NULL };
        ContainerPlan p = {
                .name = "n", .rootfs = "/r", .hostname = "h", .network = CONTAINER_NETWORK_NONE,
                .init = "/usr/lib/arkose/arkose-init", .run_dir = "/s/n/run", .fresh_dir = "/s/n/fresh",
                .extra_items = drop, .idle_exit = 900,
        };
        bool found = false;
        (void) state;

        assert_int_equal(container_plan_config(&p, &l), 0);
        for (char **i = l; i[0]; i += 2)
                found |= streq(i[0], "lxc.mount.entry") && streq(i[1], "/s/n/fresh dev/.arkose-fresh none bind,create=dir 0 0");
        assert_true(found);
        assert_string_equal(item(l, "lxc.cap.drop"), "net_raw");
        assert_int_equal(container_fresh_init_args(&p, &args), 0);
        /* mknod 27, sys_admin 21, net_raw 13, net_admin 12: in capability order. */
        assert_int_equal(strv_length(args), 3);
        assert_string_equal(args[0], "--listen-fresh=/dev/.arkose-run/init.sock");
        assert_string_equal(args[1], "--fresh-drop-caps=12,13,21,27");
        assert_string_equal(args[2], "--idle-exit=900");
        strv_free(l);
        strv_free(args);
        l = args = NULL;

        /* keep: the init also keeps what it needs; sub-sessions lose all but the profile's list. */
        p.extra_items = keep;
        p.network = CONTAINER_NETWORK_HOST;
        p.idle_exit = 0;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.cap.keep"), "chown sys_admin net_admin mknod setpcap setuid setgid");
        assert_int_equal(container_fresh_init_args(&p, &args), 0);
        assert_int_equal(strv_length(args), 3);
        assert_string_equal(args[1], "--fresh-net=host");
        assert_true(startswith(args[2], "--fresh-drop-caps=1,2,3,4,5,8,"));    /* not 0 (chown), 6, 7 (setgid, setuid) */
        assert_null(strstr(args[2], ",6,"));
        assert_non_null(strstr(args[2], ",12,13,"));                         /* net_admin, net_raw */
        assert_non_null(strstr(args[2], ",21,"));                            /* sys_admin */
        strv_free(l);
        strv_free(args);
        l = args = NULL;

        p.extra_items = none;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(item(l, "lxc.cap.keep"), "sys_admin net_admin mknod setpcap setuid setgid");
        strv_free(l);
        l = NULL;

        /* Without capability items: nothing to drop but what LXC drops (nothing). */
        p.extra_items = NULL;
        assert_int_equal(container_fresh_init_args(&p, &args), 0);
        assert_int_equal(strv_length(args), 2);
        strv_free(args);
        args = NULL;

        /* Under AppArmor: the container (init) runs as the init profile, unstacked; init is told the
         * session's label, which it changes to for each command. Unconfined: nothing to tell. */
        char *aa[] = { (char *) "lxc.apparmor.profile", (char *) "P//&:NS:", NULL };
        char *unconfined[] = { (char *) "lxc.apparmor.profile", (char *) "unconfined", NULL };
        p.extra_items = aa;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(last(l, "lxc.apparmor.profile"), "P-spare-init");
        assert_int_equal(container_fresh_init_args(&p, &args), 0);
        assert_int_equal(strv_length(args), 3);
        assert_string_equal(args[2], "--fresh-apparmor=P//&:NS:");
        strv_free(l);
        strv_free(args);
        l = args = NULL;
        p.extra_items = unconfined;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(last(l, "lxc.apparmor.profile"), "unconfined");
        assert_int_equal(container_fresh_init_args(&p, &args), 0);
        assert_int_equal(strv_length(args), 2);
        strv_free(l);
        strv_free(args);
        l = args = NULL;
        /* A session of its own keeps the session's label. */
        p.extra_items = aa;
        p.fresh_dir = NULL;
        assert_int_equal(container_plan_config(&p, &l), 0);
        assert_string_equal(last(l, "lxc.apparmor.profile"), "P//&:NS:");
        strv_free(l);
        l = NULL;
        p.fresh_dir = "/s/n/fresh";

        p.extra_items = bad;
        assert_int_equal(container_fresh_init_args(&p, &args), -EINVAL);
        p.fresh_dir = "/a dir";
        assert_int_equal(container_plan_config(&p, &l), -EINVAL);
        p.fresh_dir = NULL;
        assert_int_equal(container_fresh_init_args(&p, &args), -EINVAL);
}

static void test_overlay_options(void **state) {
        _cleanup_free_ char *o = NULL, *o2 = NULL;
        char *lowers[] = { (char *) "/l/2", (char *) "/l/1", NULL };
        char *bad[] = { (char *) "/l:x", NULL };
        char *one[] = { (char *) "/l", NULL };
        OverlayPlan p = { .lowers = lowers, .upper = "/u", .work = "/w", .target = "/t", .volatile_upper = true };
        (void) state;
        assert_int_equal(mount_overlay_options(&p, &o), 0);
        assert_string_equal(o, "lowerdir=/l/2:/l/1,upperdir=/u,workdir=/w,volatile");
        p.volatile_upper = false;
        p.upper = NULL;
        assert_int_equal(mount_overlay_options(&p, &o2), 0);
        assert_string_equal(o2, "lowerdir=/l/2:/l/1");
        p.lowers = one; /* read-only overlay of one layer is not an overlay */
        assert_int_equal(mount_overlay_options(&p, &o2), -EINVAL);
        p.lowers = bad;
        p.upper = "/u";
        assert_int_equal(mount_overlay_options(&p, &o2), -EINVAL);
        p.lowers = lowers;
        p.work = NULL;
        assert_int_equal(mount_overlay_options(&p, &o2), -EINVAL);
}

static void test_debootstrap_argv(void **state) {
        _cleanup_strv_free_ char **a = NULL, **b = NULL;
        char *components[] = { (char *) "main", (char *) "contrib", NULL };
        char *packages[] = { (char *) "debhelper", (char *) "fakeroot", NULL };
        char *evil[] = { (char *) "a,b", NULL };
        DebootstrapPlan p = {
                .suite = "bookworm", .variant = "buildd", .architecture = "amd64", .components = components,
                .packages = packages, .mirror = "http://mirror.invalid/debian", .target = "/s/rootfs",
        };
        (void) state;
        assert_int_equal(unpack_debootstrap_argv(&p, &a), 0);
        assert_int_equal(strv_length(a), 8);
        assert_string_equal(a[0], "debootstrap");
        assert_string_equal(a[1], "--variant=buildd");
        assert_string_equal(a[2], "--arch=amd64");
        assert_string_equal(a[3], "--components=main,contrib");
        assert_string_equal(a[4], "--include=debhelper,fakeroot");
        assert_string_equal(a[5], "bookworm");
        assert_string_equal(a[6], "/s/rootfs");
        assert_string_equal(a[7], "http://mirror.invalid/debian");

        /* A script for a suite newer than debootstrap: its fourth argument. */
        p.script = "sid";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), 0);
        assert_int_equal(strv_length(b), 9);
        assert_string_equal(b[7], "http://mirror.invalid/debian");
        assert_string_equal(b[8], "sid");
        b = strv_free(b);
        p.script = "-x";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
        p.script = NULL;

        p.packages = evil;
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
        p.packages = NULL;
        p.suite = "--foreign";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
        p.suite = "bookworm";
        p.mirror = NULL;
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
        p.mirror = "http://m/";
        p.target = "relative";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
        p.target = "/s/rootfs";
        p.tool = "cdebootstrap";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
}

static void test_mmdebstrap_argv(void **state) {
        _cleanup_strv_free_ char **a = NULL, **b = NULL;
        char *components[] = { (char *) "main", (char *) "contrib", NULL };
        char *packages[] = { (char *) "debhelper", NULL };
        DebootstrapPlan p = {
                .tool = "mmdebstrap", .suite = "bookworm", .variant = "buildd", .architecture = "arm64",
                .components = components, .packages = packages, .mirror = "http://mirror.invalid/debian",
                .keyring = "/usr/share/keyrings/debian-archive-keyring.gpg", .target = "/s/rootfs",
                .script = "sid",
        };
        (void) state;

        assert_int_equal(unpack_debootstrap_argv(&p, &a), 0);
        assert_int_equal(strv_length(a), 13);
        assert_string_equal(a[0], "mmdebstrap");
        /* As root into the directory, keeping apt's lists as debootstrap does. */
        assert_string_equal(a[1], "--mode=root");
        assert_string_equal(a[2], "--format=directory");
        assert_string_equal(a[3], "--skip=cleanup/apt/lists");
        assert_string_equal(a[4], "--variant=buildd");
        assert_string_equal(a[5], "--architectures=arm64");
        assert_string_equal(a[6], "--components=main,contrib");
        assert_string_equal(a[7], "--include=debhelper");
        assert_string_equal(a[8], "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg");
        assert_string_equal(a[9], "--");
        assert_string_equal(a[10], "bookworm");
        assert_string_equal(a[11], "/s/rootfs");
        /* No script: mmdebstrap needs none, whatever the suite. */
        assert_string_equal(a[12], "http://mirror.invalid/debian");
        assert_null(a[13]);

        /* debootstrap's default variant is mmdebstrap's "debootstrap" (debootstrap drops "default"). */
        p.variant = "default";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), 0);
        assert_string_equal(b[4], "--variant=debootstrap");
        b = strv_free(b);
        p.tool = "debootstrap";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), 0);
        assert_string_equal(b[1], "--arch=arm64");
        b = strv_free(b);

        p.tool = "mmdebstrap";
        p.suite = "--help";
        assert_int_equal(unpack_debootstrap_argv(&p, &b), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_container_plan_none),
                cmocka_unit_test(test_container_plan_personality),
                cmocka_unit_test(test_container_plan_host_and_errors),
                cmocka_unit_test(test_container_plan_run_dir),
                cmocka_unit_test(test_container_plan_fresh),
                cmocka_unit_test(test_overlay_options),
                cmocka_unit_test(test_debootstrap_argv),
                cmocka_unit_test(test_mmdebstrap_argv),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
