/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Session profiles → LXC items (mounts, devices, limits, capabilities, seccomp), against golden files
 * in tests/data/container-profile/ ("key = value" lines). Host paths come from a fake. Pure; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "config.h"
#include "container.h"
#include "golden.h"

#define PROFILE(f) TEST_DATA_DIR "/profiles/" f
#define SHIPPED(f) TEST_DATA_DIR "/../../confs/profiles/" f
#define GOLDEN(f)  TEST_DATA_DIR "/container-profile/" f

static int fake_path_type(const char *path, void *userdata) {
        static const struct {
                const char *path;
                int type;
        } host[] = {
                { "/srv/data", S_IFDIR },      { "/home/u/src", S_IFDIR },
                { "/home/u/.cache", S_IFDIR }, { "/opt/tools", S_IFDIR },
                { "/home/u/work", S_IFDIR },   { "/home/u", S_IFDIR },
                { "/tmp/.X11-unix", S_IFDIR }, { "/dev/fuse", S_IFCHR },
                { "/dev/dri", S_IFDIR },       { "/home/u/.Xauthority", S_IFREG },
        };
        (void) userdata;

        for (size_t i = 0; i < ELEMENTSOF(host); i++)
                if (streq(host[i].path, path))
                        return host[i].type;
        return -ENOENT;
}

static Profile *load(const char *file, const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_parse_file(file, name, &p, NULL, NULL), 0);
        return p;
}

static char *items_text(char **items) {
        _cleanup_free_ char *s = strdup("");

        for (char **i = items; i && i[0]; i += 2) {
                char *n = strdup_printf("%s%s = %s\n", s, i[0], i[1]);
                assert_non_null(n);
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

static void check(const char *file, const char *name, bool cgroup2, const char *golden, size_t n_dirs,
                  size_t n_skipped) {
        _cleanup_(profile_freep) Profile *p = load(file, name);
        _cleanup_(container_profile_items_done) ContainerProfileItems out = {};
        _cleanup_free_ char *text = NULL,
                            *path = strdup_printf("%s/container-profile/%s", TEST_DATA_DIR, golden);
        ContainerProfileContext ctx = {
                .home = "/home/u",
                .cow_dir = "/var/lib/arkose/sessions/bookworm-1a2b3c4d/cow",
                .cgroup2 = cgroup2,
                .path_type = fake_path_type,
        };

        print_message("%s\n", golden);
        assert_int_equal(container_profile_config(p, &ctx, &out), 0);
        text = items_text(out.items);
        assert_golden(path, text);
        assert_int_equal(strv_length(out.dirs), n_dirs);
        assert_int_equal(strv_length(out.skipped), n_skipped);
        assert_null(out.missing);
}

static void test_full(void **state) {
        (void) state;
        /* /dev/kvm is missing on the "host": skipped, not an error. */
        check(PROFILE("good-full.conf"), "full", true, "full-cgroup2.items", 4, 1);
        check(PROFILE("good-full.conf"), "full", false, "full-cgroup1.items", 4, 1);
}

static void test_shipped(void **state) {
        (void) state;
        check(SHIPPED("buildd.conf"), "buildd", true, "buildd.items", 0, 0);
        check(SHIPPED("dev.conf"), "dev", true, "dev.items", 0, 0);
        check(SHIPPED("desktop.conf"), "desktop", true, "desktop.items", 0, 0);
        check(PROFILE("good-keep.conf"), "keep", true, "keep.items", 0, 0);
}

static void test_cow_layout(void **state) {
        _cleanup_(profile_freep) Profile *p = load(PROFILE("good-full.conf"), "full");
        _cleanup_(container_profile_items_done) ContainerProfileItems out = {};
        ContainerProfileContext ctx = { .home = "/home/u", .cow_dir = "/c", .path_type = fake_path_type };
        (void) state;

        assert_int_equal(container_profile_config(p, &ctx, &out), 0);
        assert_string_equal(out.dirs[0], "/c/0/upper");
        assert_string_equal(out.dirs[1], "/c/0/work");
        assert_string_equal(out.dirs[2], "/c/1/upper");
        assert_string_equal(out.dirs[3], "/c/1/work");
        assert_string_equal(out.skipped[0], "/dev/kvm");
}

static void test_errors(void **state) {
        _cleanup_(profile_freep) Profile *full = load(PROFILE("good-full.conf"), "full");
        _cleanup_(profile_freep) Profile *dev = load(SHIPPED("dev.conf"), "dev");
        _cleanup_(container_profile_items_done) ContainerProfileItems out = {};
        ContainerProfileContext ctx = { .home = "/home/u", .path_type = fake_path_type };
        (void) state;

        /* cow mounts need a directory for their layers. */
        assert_int_equal(container_profile_config(full, &ctx, &out), -EINVAL);
        /* $HOME needs a home. */
        ctx.home = NULL;
        assert_int_equal(container_profile_config(dev, &ctx, &out), -EINVAL);
        assert_null(out.missing);
        /* A bind source missing on the host: named. */
        ctx.home = "/home/nobody";
        assert_int_equal(container_profile_config(dev, &ctx, &out), -ENOENT);
        assert_string_equal(out.missing, "/home/nobody");
        assert_null(out.items);
        assert_null(out.dirs);
        assert_null(out.skipped);
        container_profile_items_done(&out);
        assert_int_equal(container_profile_config(NULL, &ctx, &out), -EINVAL);
        assert_null(out.items);
        assert_null(out.dirs);
        assert_null(out.skipped);
        assert_null(out.missing);
}

static void test_skip_home(void **state) {
        _cleanup_(profile_freep) Profile *dev = load(SHIPPED("dev.conf"), "dev");
        _cleanup_(container_profile_items_done) ContainerProfileItems out = {}, all = {};
        _cleanup_free_ char *text = NULL, *all_text = NULL;
        ContainerProfileContext ctx = { .home = "/home/nobody", .path_type = fake_path_type, .skip_home = true };
        (void) state;

        /* A home not to bind over itself (missing on the host here): the dev profile's $HOME bind is left
         * out, and its absence is no error. */
        assert_int_equal(container_profile_config(dev, &ctx, &out), 0);
        text = items_text(out.items);
        assert_null(strstr(text, "home/nobody"));
        assert_null(strstr(text, "lxc.mount.entry"));
        /* The same home bound when it is to be. */
        ctx.home = "/home/u";
        ctx.skip_home = false;
        assert_int_equal(container_profile_config(dev, &ctx, &all), 0);
        all_text = items_text(all.items);
        assert_non_null(strstr(all_text, "lxc.mount.entry = /home/u home/u none rbind,create=dir 0 0"));
}

static void test_optional(void **state) {
        _cleanup_(profile_freep) Profile *p = load(PROFILE("good-optional.conf"), "optional");
        _cleanup_(container_profile_items_done) ContainerProfileItems out = {};
        _cleanup_free_ char *text = NULL;
        ContainerProfileContext ctx = { .home = "/home/u", .cow_dir = "/c", .path_type = fake_path_type };
        (void) state;

        /* The desktop profile's X11 socket directory is one: a machine where no X server ran has none. */
        {
                _cleanup_(profile_freep) Profile *d = load(SHIPPED("desktop.conf"), "desktop");
                assert_string_equal(d->mounts[0]->source, "/tmp/.X11-unix");
                assert_true(d->mounts[0]->optional);
        }
        /* "-HOST": there, it is bound as any other; missing, it is left out and named, and is no error. */
        assert_true(p->mounts[0]->optional);
        assert_false(p->mounts[2]->optional);
        assert_int_equal(container_profile_config(p, &ctx, &out), 0);
        text = items_text(out.items);
        assert_non_null(strstr(text, "lxc.mount.entry = /tmp/.X11-unix tmp/.X11-unix none rbind,create=dir,ro 0 0"));
        assert_non_null(strstr(text, "lxc.mount.entry = /srv/data srv/data none rbind,create=dir,ro 0 0"));
        assert_null(strstr(text, "missing"));
        assert_int_equal(strv_length(out.skipped), 2);
        assert_string_equal(out.skipped[0], "/run/missing-socket-dir");
        assert_string_equal(out.skipped[1], "/opt/missing-tools");
        /* The missing cow mount makes no layer directories. */
        assert_int_equal(strv_length(out.dirs), 0);
        assert_null(out.missing);
}

static void test_no_new_privs(void **state) {
        _cleanup_(profile_freep) Profile *b = load(SHIPPED("buildd.conf"), "buildd");
        _cleanup_(profile_freep) Profile *d = load(SHIPPED("desktop.conf"), "desktop");
        _cleanup_(profile_freep) Profile *k = load(PROFILE("good-keep.conf"), "keep");
        (void) state;

        assert_true(container_profile_no_new_privs(b, 1000));
        assert_false(container_profile_no_new_privs(b, 0));
        assert_true(container_profile_no_new_privs(d, 0));
        assert_false(container_profile_no_new_privs(k, 1000));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full),         cmocka_unit_test(test_shipped),
                cmocka_unit_test(test_cow_layout),   cmocka_unit_test(test_errors),
                cmocka_unit_test(test_skip_home),    cmocka_unit_test(test_no_new_privs),
                cmocka_unit_test(test_optional),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
