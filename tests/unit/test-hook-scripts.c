/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shipped hooks in hooks/, run through hooks_run() against a fake root file system in a mkdtemp()
 * directory. No root needed: as non-root, 10-users skips the chown of the home directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "hooks.h"

/* hooks/ in the source tree, without relying on tests/data existing (git keeps no empty directory). */
static char *hook_path(const char *name) {
        const char *data = TEST_DATA_DIR;
        size_t n = strlen(data);

        assert_true(n > strlen("/tests/data"));
        assert_string_equal(data + n - strlen("/tests/data"), "/tests/data");
        return strdup_printf("%.*s/hooks/%s", (int) (n - strlen("/tests/data")), data, name);
}

typedef struct Fixture {
        char *tmp;
        char *root;
} Fixture;

static void put(const char *root, const char *rel, const char *content, mode_t mode) {
        _cleanup_free_ char *p = path_join(root, rel);

        assert_non_null(p);
        assert_int_equal(write_file_atomic(p, content, mode), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static char *get(const char *root, const char *rel) {
        _cleanup_free_ char *p = path_join(root, rel);
        char *s = NULL;

        assert_non_null(p);
        assert_int_equal(read_file(p, &s), 0);
        return s;
}

static void assert_file(const char *root, const char *rel, const char *want) {
        _cleanup_free_ char *got = get(root, rel);

        assert_string_equal(got, want);
}

static bool is_symlink(const char *root, const char *rel) {
        _cleanup_free_ char *p = path_join(root, rel);
        struct stat st;

        return lstat(p, &st) >= 0 && S_ISLNK(st.st_mode);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *etc = NULL, *bin = NULL;

        assert_non_null(f);
        f->tmp = strdup("/tmp/arkose-unit-XXXXXX");
        assert_non_null(mkdtemp(f->tmp));
        f->root = path_join(f->tmp, "rootfs");
        etc = path_join(f->root, "etc");
        bin = path_join(f->root, "bin");
        assert_int_equal(mkdir_p(etc, 0755), 0);
        assert_int_equal(mkdir_p(bin, 0755), 0);

        put(f->root, "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\n"
            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            "alice:x:1000:1000:Old Alice:/home/old:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            0644);
        put(f->root, "etc/group",
            "root:x:0:\n"
            "adm:x:4:\n"
            "sudo:x:27:\n"
            "users:x:100:bob\n",
            0644);
        put(f->root, "etc/gshadow",
            "root:*::\n"
            "sudo:*::\n"
            "users:*::bob\n",
            0640);
        put(f->root, "etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
        put(f->root, "bin/bash", "", 0755);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        assert_int_equal(rm_rf(f->tmp), 0);
        free(f->root);
        free(f->tmp);
        free(f);
        return 0;
}

static HookEnv fake_env(const Fixture *f, const char *phase) {
        return (HookEnv){
                .phase = phase,
                .chroot = "bookworm",
                .version = "1",
                .rootfs = f->root,
                .session_id = "bookworm-test",
                .user = "alice",
                .uid = 4242,
                .gid = 4343,
                .home = "/home/alice",
                .shell = "/bin/zsh", /* not in the rootfs: becomes /bin/sh */
                .groups = "alice:4343 sudo:27 users:100 not-in-chroot:999 gid-taken:4",
                .hostname = "arkose-test",
                .network = "host",
                .cwd = "/home/alice/src",
        };
}

static int run_hook(const char *name, const HookEnv *env) {
        _cleanup_free_ char *path = hook_path(name);
        char *hooks[] = { path, NULL };

        assert_non_null(path);
        return hooks_run(hooks, env, 10, true);
}

/* The primary group's name, as 10-users picks it: the host's name for the gid, else the user's. */
static const char *primary_group_name(gid_t gid, const char *user) {
        struct group *g = getgrgid(gid);

        return g ? g->gr_name : user;
}

static void test_users(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-start");
        _cleanup_free_ char *group = NULL, *gshadow = NULL, *shadow = NULL, *home = NULL;
        _cleanup_free_ char *shadow1 = NULL, *shadow2 = NULL;
        const char *gname = primary_group_name(4343, "alice");
        long day0, day1;
        struct stat st;

        /* A host group the chroot lacks comes with its host name and gid, unless the chroot has that gid
         * under another name (adm is 4). */
        group = strdup_printf("root:x:0:\nadm:x:4:\nsudo:x:27:alice\nusers:x:100:bob,alice\n%s:x:4343:\n"
                              "not-in-chroot:x:999:alice\n",
                              gname);
        gshadow = strdup_printf("root:*::\nsudo:*::alice\nusers:*::bob,alice\n%s:!::\nnot-in-chroot:!::alice\n",
                                gname);
        home = path_join(f->root, "home/alice");

        /* Twice: the second run must change nothing. */
        for (int i = 0; i < 2; i++) {
                day0 = (long) (time(NULL) / 86400);
                assert_int_equal(run_hook("10-users", &env), 0);
                day1 = (long) (time(NULL) / 86400);

                assert_file(f->root, "etc/passwd",
                            "root:x:0:0:root:/root:/bin/bash\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "alice:x:4242:4343::/home/alice:/bin/sh\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
                assert_file(f->root, "etc/group", group);
                assert_file(f->root, "etc/gshadow", gshadow);
                free(shadow1);
                free(shadow2);
                shadow1 = strdup_printf("root:*:19000:0:99999:7:::\nalice:*:%ld:0:99999:7:::\n", day0);
                shadow2 = strdup_printf("root:*:19000:0:99999:7:::\nalice:*:%ld:0:99999:7:::\n", day1);
                free(shadow);
                shadow = get(f->root, "etc/shadow");
                assert_true(streq(shadow, shadow1) || streq(shadow, shadow2));

                assert_int_equal(stat(home, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 07777, 0755);
                if (geteuid() == 0) {
                        assert_int_equal(st.st_uid, 4242);
                        assert_int_equal(st.st_gid, 4343);
                }
        }

        /* Modes survive the rewrite. */
        _cleanup_free_ char *sp = path_join(f->root, "etc/shadow");
        assert_int_equal(stat(sp, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);

        /* A shell the chroot has is kept. */
        env.shell = "/bin/bash";
        assert_int_equal(run_hook("10-users", &env), 0);
        _cleanup_free_ char *passwd = get(f->root, "etc/passwd");
        assert_non_null(strstr(passwd, "\nalice:x:4242:4343::/home/alice:/bin/bash\n"));
}

/* --run-session -u USER for a user the running session does not know yet: 10-users acts at "setup-user"
 * as at "setup-start"; the other shipped hooks do not take part (they would undo the session's edits). */
static void test_setup_user(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-user");
        _cleanup_free_ char *passwd = NULL, *home = path_join(f->root, "home/alice");
        struct stat st;

        put(f->root, "etc/hostname", "edited-in-session\n", 0644);
        assert_int_equal(run_hook("10-users", &env), 0);
        passwd = get(f->root, "etc/passwd");
        assert_non_null(strstr(passwd, "\nalice:x:4242:4343::/home/alice:/bin/sh\n"));
        assert_int_equal(stat(home, &st), 0);
        assert_int_equal(run_hook("20-hostname", &env), 0);
        assert_file(f->root, "etc/hostname", "edited-in-session\n");
}

static void test_users_root(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-start");
        _cleanup_free_ char *root_home = path_join(f->root, "root");
        struct stat st;

        env.user = "root";
        env.uid = 0;
        env.gid = 0;
        env.home = "/root";
        env.shell = "/bin/bash";
        assert_int_equal(run_hook("10-users", &env), 0);
        assert_int_equal(stat(root_home, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_file(f->root, "etc/passwd",
                    "root:x:0:0:root:/root:/bin/bash\n"
                    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                    "alice:x:1000:1000:Old Alice:/home/old:/bin/bash\n"
                    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        assert_file(f->root, "etc/group", "root:x:0:\nadm:x:4:\nsudo:x:27:\nusers:x:100:bob\n");
}

static void test_users_symlink(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-start");
        _cleanup_free_ char *outside = path_join(f->tmp, "outside-passwd"), *link = NULL;
        _cleanup_free_ char *outdir = path_join(f->tmp, "outside-home"), *home = NULL, *leaked = NULL;
        struct stat st;

        /* etc/passwd pointing out of the rootfs: refused, the target untouched. */
        put(f->tmp, "outside-passwd", "precious:x:1:1::/:/bin/sh\n", 0644);
        link = path_join(f->root, "etc/passwd");
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink(outside, link), 0);
        assert_int_equal(run_hook("10-users", &env), -EPROTO);
        assert_file(f->tmp, "outside-passwd", "precious:x:1:1::/:/bin/sh\n");
        assert_true(is_symlink(f->root, "etc/passwd"));

        /* A symlinked /home must not get the home directory created outside. */
        assert_int_equal(unlink(link), 0);
        put(f->root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
        assert_int_equal(mkdir(outdir, 0755), 0);
        home = path_join(f->root, "home");
        assert_int_equal(symlink(outdir, home), 0);
        assert_int_equal(run_hook("10-users", &env), -EPROTO);
        leaked = path_join(outdir, "alice");
        assert_int_equal(lstat(leaked, &st), -1);
}

static void test_hostname(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-start");
        static const char hosts_tail[] = "\n"
                                         "# The following lines are desirable for IPv6 capable hosts\n"
                                         "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                         "ff02::1\tip6-allnodes\n"
                                         "ff02::2\tip6-allrouters\n";
        _cleanup_free_ char *hosts = NULL, *fqdn_hosts = NULL;

        hosts = strdup_printf("127.0.0.1\tlocalhost\n127.0.1.1\tarkose-test\n%s", hosts_tail);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(run_hook("20-hostname", &env), 0);
                assert_file(f->root, "etc/hostname", "arkose-test\n");
                assert_file(f->root, "etc/hosts", hosts);
        }

        env.hostname = "build.example.org";
        fqdn_hosts =
                strdup_printf("127.0.0.1\tlocalhost\n127.0.1.1\tbuild.example.org build\n%s", hosts_tail);
        assert_int_equal(run_hook("20-hostname", &env), 0);
        assert_file(f->root, "etc/hostname", "build.example.org\n");
        assert_file(f->root, "etc/hosts", fqdn_hosts);

        /* Injection through the name is refused; nothing changes. */
        env.hostname = "evil\n10.0.0.1 example.org";
        assert_int_equal(run_hook("20-hostname", &env), -EPROTO);
        assert_file(f->root, "etc/hostname", "build.example.org\n");

        /* A symlinked etc/hostname is refused, its target untouched. */
        _cleanup_free_ char *outside = path_join(f->tmp, "outside-hostname"), *link = NULL;
        put(f->tmp, "outside-hostname", "host\n", 0644);
        link = path_join(f->root, "etc/hostname");
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink(outside, link), 0);
        env.hostname = "arkose-test";
        assert_int_equal(run_hook("20-hostname", &env), -EPROTO);
        assert_file(f->tmp, "outside-hostname", "host\n");
}

static void test_resolv(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-start");
        _cleanup_free_ char *outside = path_join(f->tmp, "outside-resolv"), *link = NULL, *host = NULL;
        struct stat st;

        /* none: an empty regular file replaces the symlink; the symlink's target is untouched. */
        put(f->tmp, "outside-resolv", "nameserver 192.0.2.1\n", 0644);
        link = path_join(f->root, "etc/resolv.conf");
        assert_int_equal(symlink(outside, link), 0);
        env.network = "none";
        for (int i = 0; i < 2; i++) {
                assert_int_equal(run_hook("30-resolv", &env), 0);
                assert_int_equal(lstat(link, &st), 0);
                assert_true(S_ISREG(st.st_mode));
                assert_int_equal(st.st_size, 0);
                assert_int_equal(st.st_mode & 07777, 0644);
        }
        assert_file(f->tmp, "outside-resolv", "nameserver 192.0.2.1\n");

        /* host: the host's content, byte for byte, again through a symlink that must be replaced. */
        assert_int_equal(unlink(link), 0);
        assert_int_equal(symlink(outside, link), 0);
        env.network = "host";
        if (read_file("/etc/resolv.conf", &host) < 0)
                host = strdup(""); /* no host file: the hook leaves the session without servers */
        for (int i = 0; i < 2; i++) {
                assert_int_equal(run_hook("30-resolv", &env), 0);
                assert_false(is_symlink(f->root, "etc/resolv.conf"));
                assert_file(f->root, "etc/resolv.conf", host);
        }
        assert_file(f->tmp, "outside-resolv", "nameserver 192.0.2.1\n");

        /* A symlinked etc/ is refused outright. */
        _cleanup_free_ char *etc = path_join(f->root, "etc"), *moved = path_join(f->tmp, "etc-moved");
        _cleanup_free_ char *outdir = path_join(f->tmp, "outside-etc"), *leak = NULL;
        assert_int_equal(rename(etc, moved), 0);
        assert_int_equal(mkdir(outdir, 0755), 0);
        assert_int_equal(symlink(outdir, etc), 0);
        assert_int_equal(run_hook("30-resolv", &env), -EPROTO);
        leak = path_join(outdir, "resolv.conf");
        assert_int_equal(lstat(leak, &st), -1);
        assert_int_equal(unlink(etc), 0);
        assert_int_equal(rename(moved, etc), 0);
}

static void test_setup_stop(void **state) {
        Fixture *f = *state;
        HookEnv env = fake_env(f, "setup-stop");
        _cleanup_free_ char *empty = path_join(f->tmp, "empty-root");
        _cleanup_free_ char *h1 = hook_path("10-users"), *h2 = hook_path("20-hostname"),
                            *h3 = hook_path("30-resolv");
        char *hooks[] = { h1, h2, h3, NULL };
        DIR *d;
        struct dirent *de;
        int n = 0;

        /* Nothing to undo: every hook succeeds and writes nothing, even in an empty root. */
        assert_int_equal(mkdir(empty, 0755), 0);
        env.rootfs = empty;
        assert_int_equal(hooks_run(hooks, &env, 10, false), 0);
        d = opendir(empty);
        assert_non_null(d);
        while ((de = readdir(d)))
                n++;
        closedir(d);
        assert_int_equal(n, 2); /* "." and ".." */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_users, setup, teardown),
                cmocka_unit_test_setup_teardown(test_users_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_setup_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_users_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostname, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolv, setup, teardown),
                cmocka_unit_test_setup_teardown(test_setup_stop, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
