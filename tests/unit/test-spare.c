/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Spare sessions' keys and index (lib/spare.h), in a mkdtemp() state directory; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "config.h"
#include "spare.h"

static char *make_tmp(void) {
        char *d = strdup("/tmp/arkose-unit-XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

typedef struct Fixture {
        char *dir;
        char *lower;
        char *lower2;
        char *cwd;
        char *hooks;
        char *lowers[2];
        char *binds[2];
        char *hook_dirs[2];
        SessionPlan plan;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        f->dir = make_tmp();
        f->lower = path_join(f->dir, "lower");
        f->lower2 = path_join(f->dir, "lower2");
        f->cwd = path_join(f->dir, "cwd");
        f->hooks = path_join(f->dir, "hooks");
        assert_int_equal(mkdir(f->lower, 0755), 0);
        assert_int_equal(mkdir(f->lower2, 0755), 0);
        assert_int_equal(mkdir(f->cwd, 0755), 0);
        assert_int_equal(mkdir(f->hooks, 0755), 0);
        f->lowers[0] = f->lower;
        f->binds[0] = f->cwd;
        f->hook_dirs[0] = f->hooks;
        f->plan = (SessionPlan) {
                .state_dir = f->dir,
                .chroot = "fx",
                .version = "1",
                .lowers = f->lowers,
                .binds = f->binds,
                .cwd = f->cwd,
                .user = "root",
                .home = "/root",
                .shell = "/bin/sh",
                .groups = "root:0",
                .hook_dirs = f->hook_dirs,
                .hook_timeout = 60,
        };
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        assert_int_equal(rm_rf(f->dir), 0);
        free(f->dir);
        free(f->lower);
        free(f->lower2);
        free(f->cwd);
        free(f->hooks);
        free(f);
        return 0;
}

static void key_of(const SessionPlan *p, char ret[static SHA256_HEX_SIZE]) {
        assert_int_equal(spare_key(p, NULL, NULL, ret), 0);
        assert_true(sha256_hex_is_valid(ret));
}

static void test_key_stable(void **state) {
        Fixture *f = *state;
        char a[SHA256_HEX_SIZE], b[SHA256_HEX_SIZE];
        _cleanup_free_ char *file = path_join(f->cwd, "output.txt");

        key_of(&f->plan, a);
        key_of(&f->plan, b);
        assert_string_equal(a, b);
        /* What the caller's directory holds changes all the time (a build writes there): same key. */
        assert_int_equal(write_file_atomic(file, "x\n", 0644), 0);
        key_of(&f->plan, b);
        assert_string_equal(a, b);
}

/* Each thing a session is made from gives another key. */
static void test_key_differs(void **state) {
        Fixture *f = *state;
        char base[SHA256_HEX_SIZE], k[SHA256_HEX_SIZE];
        SessionPlan p;

        key_of(&f->plan, base);
#define DIFFERS(change)                                   \
        do {                                              \
                p = f->plan;                              \
                change;                                   \
                key_of(&p, k);                            \
                assert_string_not_equal(base, k);         \
        } while (0)
        DIFFERS(p.chroot = "other");
        DIFFERS(p.version = "2");
        DIFFERS(p.user = "nobody");
        DIFFERS(p.uid = 1000);
        DIFFERS(p.gid = 1000);
        DIFFERS(p.home = "/home/x");
        DIFFERS(p.groups = "root:0 sudo:27");
        DIFFERS(p.cwd = "/");
        DIFFERS(p.tmpfs = true);
        DIFFERS(p.network = CONTAINER_NETWORK_HOST);
        DIFFERS(p.hook_timeout = 5);
        DIFFERS(p.shared = true);
        {
                char *l2[] = { f->lower2, NULL };
                DIFFERS(p.lowers = l2);
        }
        {
                char *pb[] = { (char *) "/srv:/srv:ro", NULL };
                DIFFERS(p.profile_binds = pb);
        }
#undef DIFFERS

        /* The caller's directory replaced by another of the same name (a fresh checkout). */
        assert_int_equal(rm_rf(f->cwd), 0);
        assert_int_equal(mkdir(f->cwd, 0755), 0);
        key_of(&f->plan, k);
        assert_string_not_equal(base, k);

        /* A hook added. */
        key_of(&f->plan, base);
        {
                _cleanup_free_ char *hook = path_join(f->hooks, "50-mine");
                assert_int_equal(write_file_atomic(hook, "#!/bin/sh\n", 0755), 0);
        }
        key_of(&f->plan, k);
        assert_string_not_equal(base, k);

        /* A profile's optional bind source that appears (a spare made without it would lack the mount). */
        {
                _cleanup_free_ char *conf = path_join(f->dir, "opt.conf"), *src = path_join(f->dir, "x11"),
                                    *text = strdup_printf("[mounts]\nbind = -%s:/srv/x\n", src);
                _cleanup_(profile_freep) Profile *prof = NULL;

                assert_int_equal(write_file_atomic(conf, text, 0644), 0);
                assert_int_equal(profile_parse_file(conf, "opt", &prof, NULL, NULL), 0);
                p = f->plan;
                p.profile = prof;
                key_of(&p, base);
                key_of(&p, k);
                assert_string_equal(base, k);
                assert_int_equal(mkdir(src, 0755), 0);
                key_of(&p, k);
                assert_string_not_equal(base, k);
        }
}

/* Which profiles a shared spare can serve (sub-sessions made by its init). */
static void test_can_share(void **state) {
        static const struct {
                const char *text;
                bool apparmor_confines;
                bool shared;
        } cases[] = {
                { "[network]\nmode = none\n", false, true },
                { "[network]\nmode = host\n", false, true },
                { "[network]\nmode = filtered\nallow = 192.0.2.1:80\n", false, false },
                { "[mounts]\nbind = /srv\n", false, true },
                { "[mounts]\nbind = /srv:/dev/srv\n", false, false },
                { "[mounts]\ntmpfs = /scratch\n", false, false },
                { "[mounts]\ncow = /srv\n", false, false },
                { "[devices]\nallow = /dev/fuse\n", false, false },
                { "[limits]\npids = 100\n", false, false },
                { "[security]\nseccomp = none\n", false, true },
                { "[security]\nseccomp = /etc/my.seccomp\n", false, false },
                { "[apparmor]\nmode = auto\n", false, true },
                /* With AppArmor, init runs as the generated init profile (apparmor_profile_text()). */
                { "[apparmor]\nmode = auto\n", true, true },
                { "[apparmor]\nmode = required\n", true, true },
                { "[apparmor]\nmode = off\n", true, true },
                /* An administrator's own AppArmor profile has no init profile beside it. */
                { "[apparmor]\nmode = required\nprofile = my-profile\n", true, false },
                { "[apparmor]\nmode = required\nprofile = my-profile\n", false, true },
                { "[apparmor]\nmode = off\nprofile = my-profile\n", true, true },
        };
        Fixture *f = *state;

        assert_false(spare_can_share(NULL, NULL, false));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *conf = path_join(f->dir, "p.conf");
                _cleanup_(profile_freep) Profile *prof = NULL;

                assert_int_equal(write_file_atomic(conf, cases[i].text, 0644), 0);
                if (profile_parse_file(conf, "p", &prof, NULL, NULL) < 0)
                        fail_msg("case %zu (%s) does not parse", i, cases[i].text);
                if (spare_can_share(prof, NULL, cases[i].apparmor_confines) != cases[i].shared)
                        fail_msg("case %zu (%s, apparmor %d): expected %d", i, cases[i].text,
                                 cases[i].apparmor_confines, cases[i].shared);
                /* The caller's directory bound below /dev (or /proc, /sys): not in a sub-session's. */
                if (cases[i].shared) {
                        char *binds[] = { (char *) "/home/u/src", (char *) "/dev/shm/build", NULL };

                        assert_false(spare_can_share(prof, binds, false));
                        binds[1] = NULL;
                        assert_true(spare_can_share(prof, binds, cases[i].apparmor_confines));
                }
        }
}

/* The mark of a key whose shared spare could not make sub-sessions, and its sweep. */
static void test_unshared(void **state) {
        Fixture *f = *state;
        char key[SHA256_HEX_SIZE], other[SHA256_HEX_SIZE];
        SessionPlan p = f->plan;
        _cleanup_free_ char *mark = NULL;
        struct timespec old[2];

        key_of(&p, key);
        p.cwd = "/";
        key_of(&p, other);
        assert_false(spare_unshared(f->dir, key));
        assert_int_equal(spare_mark_unshared(f->dir, key), 0);
        assert_true(spare_unshared(f->dir, key));
        assert_false(spare_unshared(f->dir, other));
        spare_sweep(f->dir);
        assert_true(spare_unshared(f->dir, key)); /* a fresh mark stays */
        mark = strdup_printf("%s/spares/%s.unshared", f->dir, key);
        assert_non_null(mark);
        old[0] = old[1] = (struct timespec) { .tv_sec = time(NULL) - 3 * 86400 };
        assert_int_equal(utimensat(AT_FDCWD, mark, old, AT_SYMLINK_NOFOLLOW), 0);
        spare_sweep(f->dir);
        assert_false(spare_unshared(f->dir, key)); /* a mark older than its key is gone */
}

static void test_index(void **state) {
        Fixture *f = *state;
        char key[SHA256_HEX_SIZE];
        _cleanup_free_ char *id = NULL, *id2 = NULL;

        key_of(&f->plan, key);
        assert_int_equal(spare_claim(f->dir, key, &id), -ENOENT);

        assert_int_equal(spare_publish(f->dir, key, "fx-0123abcd"), 0);
        assert_int_equal(spare_publish(f->dir, key, "fx-4567cdef"), -EEXIST);
        /* One claim gets it; the next finds none. */
        assert_int_equal(spare_claim(f->dir, key, &id), 0);
        assert_string_equal(id, "fx-0123abcd");
        assert_int_equal(spare_claim(f->dir, key, &id2), -ENOENT);

        /* Its owner takes back its own index; not another's. */
        assert_int_equal(spare_publish(f->dir, key, "fx-0123abcd"), 0);
        assert_int_equal(spare_unpublish(f->dir, key, "fx-89abcdef"), -ENOENT);
        assert_int_equal(spare_claim(f->dir, key, &id2), 0); /* put back */
        assert_string_equal(id2, "fx-0123abcd");
        assert_int_equal(spare_publish(f->dir, key, "fx-0123abcd"), 0);
        assert_int_equal(spare_unpublish(f->dir, key, "fx-0123abcd"), 0);
        assert_int_equal(spare_unpublish(f->dir, key, "fx-0123abcd"), -ENOENT);

        /* An index naming no valid session id is no spare. */
        {
                _cleanup_free_ char *bad = strdup_printf("%s/spares/%s", f->dir, key);
                assert_int_equal(symlink("../../etc", bad), 0);
        }
        id = mfree(id);
        assert_int_equal(spare_claim(f->dir, key, &id), -ENOENT);
        assert_int_equal(spare_end_all(f->dir, NULL), 0); /* no sessions: nothing to end */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_key_stable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_differs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_can_share, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unshared, setup, teardown),
                cmocka_unit_test_setup_teardown(test_index, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
