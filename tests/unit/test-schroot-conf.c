/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* schroot's configuration read back (schroot.conf and chroot.d), and the definitions made from it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "schroot-conf.h"

static char *tmpdir(void) {
        char *d = strdup("/tmp/arktest-schroot-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void put(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = path_join(dir, name);

        assert_non_null(p);
        assert_int_equal(write_file_atomic(p, content, 0644), 0);
}

static const SchrootChroot *find(SchrootChroot **l, const char *name) {
        for (SchrootChroot **c = l; c && *c; c++)
                if (streq((*c)->name, name))
                        return *c;
        return NULL;
}

static void test_load(void **state) {
        _cleanup_free_ char *d = tmpdir(), *cd = NULL, *err = NULL;
        SchrootChroot **l = NULL;
        const SchrootChroot *c;
        unsigned line = 0;

        (void) state;
        cd = path_join(d, "chroot.d");
        assert_int_equal(mkdir_p(cd, 0755), 0);
        put(d, "schroot.conf",
            "# comment\n"
            "[sid]\n"
            "description=Debian sid   # a trailing comment\n"
            "description[de_DE]=Debian Sid\n"
            "type=directory\n"
            "directory=/srv/chroot/sid\n"
            "users=alice, bob,,alice\n"
            "aliases=unstable,default\n"
            "unknown-key=ignored\n");
        put(cd, "bookworm-i386-sbuild-AbC123",
            "[bookworm-i386-sbuild]\n"
            "type=file\n"
            "file=/srv/chroot/b.tar.gz\n"
            "script-config=sbuild/config\n"
            "personality=linux32\n"
            "root-groups=root,sbuild\n");
        put(cd, "old.dpkg-old", "this is not read [\n");

        assert_int_equal(schroot_config_load(d, &l, &err, &line), 0);
        assert_non_null((c = find(l, "sid")));
        assert_string_equal(c->description, "Debian sid");
        assert_string_equal(c->type, "directory");
        assert_string_equal(c->directory, "/srv/chroot/sid");
        assert_int_equal(strv_length(c->users), 2);
        assert_string_equal(c->users[0], "alice");
        assert_string_equal(c->users[1], "bob");
        assert_int_equal(strv_length(c->aliases), 2);
        assert_null(c->profile);
        assert_non_null((c = find(l, "bookworm-i386-sbuild")));
        assert_string_equal(c->file, "/srv/chroot/b.tar.gz");
        assert_string_equal(c->profile, "sbuild");
        assert_string_equal(c->personality, "linux32");
        assert_true(strv_contains(c->root_groups, "sbuild"));
        assert_int_equal(l[0] && l[1] && !l[2], true); /* two chroots, the .dpkg-old file unread */
        schroot_chroots_free(l);

        /* A chroot defined twice (here in two files) and a key before any [chroot] are errors with a line. */
        put(cd, "again", "# x\n[sid]\ntype=plain\ndirectory=/x\n");
        assert_int_equal(schroot_config_load(d, &l, &err, &line), -EINVAL);
        assert_true(strstr(err, "chroot.d/again") != NULL);
        assert_int_equal(line, 3);
        free(err);
        err = NULL;
        put(cd, "again", "type=plain\n");
        assert_int_equal(schroot_config_load(d, &l, &err, &line), -EINVAL);
        assert_int_equal(line, 1);
        free(err);
        err = NULL;
        assert_int_equal(rm_rf(d), 0);

        /* No configuration at all: no chroots. */
        assert_int_equal(schroot_config_load("/nonexistent-arkose-test", &l, &err, &line), 0);
        assert_null(l[0]);
        schroot_chroots_free(l);
}

#define SUM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_definition(void **state) {
        char *users[] = { (char *) "alice", (char *) "bob", NULL };
        char *aliases[] = { (char *) "unstable", (char *) "sid", (char *) "bad/alias", NULL };
        SchrootChroot c = { .name = (char *) "sid", .path = (char *) "/etc/schroot/schroot.conf",
                            .type = (char *) "directory", .directory = (char *) "/srv/chroot/sid",
                            .description = (char *) "Debian sid", .users = users, .aliases = aliases };
        _cleanup_free_ char *t = NULL;
        const char *reason = NULL;

        (void) state;
        assert_int_equal(schroot_chroot_definition(&c, "amd64", "amd64", NULL, &t, &reason), 0);
        assert_non_null(strstr(t, "[chroot]\ndescription = Debian sid\nsource = directory\ndirectory = /srv/chroot/sid\n"));
        assert_non_null(strstr(t, "profile = dev\n"));        /* schroot's default profile: host network, home */
        assert_non_null(strstr(t, "aliases = unstable\n"));  /* its own name and an invalid alias dropped */
        assert_non_null(strstr(t, "users = alice bob\n"));
        assert_non_null(strstr(t, "no union-type"));         /* said: sessions no longer write the tree */
        assert_null(strstr(t, "architecture"));
        free(t);
        t = NULL;

        /* sbuild's profile, an overlay union, an i386 tree on amd64. */
        c.profile = (char *) "sbuild";
        c.union_type = (char *) "overlay";
        assert_int_equal(schroot_chroot_definition(&c, "i386", "amd64", NULL, &t, &reason), 0);
        assert_non_null(strstr(t, "profile = buildd\n"));
        assert_non_null(strstr(t, "architecture = i386\n"));
        assert_null(strstr(t, "union-type"));
        free(t);
        t = NULL;

        /* personality=linux32 when the tree's architecture is not known (a tarball). */
        c.type = (char *) "file";
        c.file = (char *) "/srv/chroot/sid.tar.gz";
        c.personality = (char *) "linux32";
        c.profile = (char *) "desktop";
        assert_int_equal(schroot_chroot_definition(&c, NULL, "amd64", NULL, &t, &reason), -EINVAL); /* no sum */
        assert_int_equal(schroot_chroot_definition(&c, NULL, "amd64", SUM, &t, &reason), 0);
        assert_non_null(strstr(t, "source = tarball\nurl = /srv/chroot/sid.tar.gz\nsha256 = " SUM "\n"));
        assert_non_null(strstr(t, "architecture = i386\n"));
        assert_non_null(strstr(t, "profile = desktop\n"));
        free(t);
        t = NULL;

        /* What cannot be carried over, with a reason. */
        c.type = (char *) "lvm-snapshot";
        assert_int_equal(schroot_chroot_definition(&c, NULL, "amd64", SUM, &t, &reason), -EOPNOTSUPP);
        assert_non_null(strstr(reason, "not supported"));
        c.type = (char *) "directory";
        c.directory = (char *) "relative";
        assert_int_equal(schroot_chroot_definition(&c, NULL, "amd64", SUM, &t, &reason), -EINVAL);
        c.directory = (char *) "/srv/x";
        c.name = (char *) "-bad";
        assert_int_equal(schroot_chroot_definition(&c, NULL, "amd64", SUM, &t, &reason), -EINVAL);
        assert_null(t);
}

static void test_dpkg_status_arch(void **state) {
        _cleanup_free_ char *d = tmpdir(), *dpkg = NULL, *arch = NULL;

        (void) state;
        dpkg = path_join(d, "var/lib/dpkg");
        assert_int_equal(mkdir_p(dpkg, 0755), 0);
        put(dpkg, "status",
            "Package: dpkg-dev\nStatus: install ok installed\nArchitecture: all\n\n"
            "Package: dpkg\nStatus: install ok installed\nPriority: required\nArchitecture: i386\nVersion: 1.21\n\n"
            "Package: zlib1g\nArchitecture: i386\n");
        assert_int_equal(dpkg_status_arch(d, &arch), 0);
        assert_string_equal(arch, "i386");
        put(dpkg, "status", "Package: dpkg-dev\nArchitecture: all\n");
        assert_int_equal(dpkg_status_arch(d, &arch), -ENOENT);
        assert_int_equal(rm_rf(d), 0);
        assert_true(dpkg_status_arch(d, &arch) < 0);
}

static void test_env(void **state) {
        char *argv[] = { "dpkg-buildpackage", "-us", "-uc", NULL };
        _cleanup_strv_free_ char **env = NULL;
        SchrootEnv e = {
                .chroot = "bookworm", .alias = "default", .session_id = "bookworm-1a2b3c4d", .argv = argv,
                .shell = "/bin/bash", .user = "alice", .uid = 1000, .group = "users", .gid = 100,
        };
        const char *want[] = {
                "PATH=/usr/bin:/bin", "HOME=/home/alice", "SCHROOT_COMMAND=dpkg-buildpackage -us -uc",
                "SCHROOT_USER=alice", "SCHROOT_GROUP=users", "SCHROOT_UID=1000", "SCHROOT_GID=100",
                "SCHROOT_CHROOT_NAME=bookworm", "SCHROOT_ALIAS_NAME=default", "SCHROOT_SESSION_ID=bookworm-1a2b3c4d",
        };

        (void) state;
        /* A caller's own (kept by -p inside a schroot session) are replaced, the rest kept in order. */
        assert_int_equal(strv_extend(&env, "PATH=/usr/bin:/bin"), 0);
        assert_int_equal(strv_extend(&env, "SCHROOT_CHROOT_NAME=sid"), 0);
        assert_int_equal(strv_extend(&env, "HOME=/home/alice"), 0);
        assert_int_equal(strv_extend(&env, "SCHROOT_SESSION_ID=sid-old"), 0);
        assert_int_equal(schroot_env_append(&env, &e), 0);
        assert_int_equal(strv_length(env), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(env[i], want[i]);

        /* No command: the login shell; no alias: the chroot's name; an empty environment to start. */
        strv_free(env);
        env = NULL;
        e.argv = NULL;
        e.alias = NULL;
        assert_int_equal(schroot_env_append(&env, &e), 0);
        assert_int_equal(strv_length(env), 8);
        assert_string_equal(env[0], "SCHROOT_COMMAND=/bin/bash");
        assert_string_equal(env[6], "SCHROOT_ALIAS_NAME=bookworm");

        /* A command longer than SCHROOT_COMMAND_MAX: no SCHROOT_COMMAND (a 200 KB one got E2BIG from execve()). */
        {
                _cleanup_free_ char *big = malloc(SCHROOT_COMMAND_MAX);
                char *long_argv[] = { (char *) "sh", big, NULL };

                assert_non_null(big);
                memset(big, 'x', SCHROOT_COMMAND_MAX - 3);
                big[SCHROOT_COMMAND_MAX - 3] = '\0';
                e.argv = long_argv;     /* "sh " + 4093 bytes: 4096, kept */
                assert_int_equal(schroot_env_append(&env, &e), 0);
                assert_int_equal(strv_length(env), 8);
                assert_int_equal(strlen(env[0]), strlen("SCHROOT_COMMAND=") + SCHROOT_COMMAND_MAX);
                big[SCHROOT_COMMAND_MAX - 3] = 'x';
                big[SCHROOT_COMMAND_MAX - 2] = '\0';
                assert_int_equal(schroot_env_append(&env, &e), 0);
                assert_int_equal(strv_length(env), 7);
                for (char **v = env; *v; v++)
                        assert_false(startswith(*v, "SCHROOT_COMMAND="));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load),
                cmocka_unit_test(test_definition),
                cmocka_unit_test(test_dpkg_status_arch),
                cmocka_unit_test(test_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
