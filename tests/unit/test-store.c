/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Store bookkeeping and locks, in a mkdtemp() directory; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "lock.h"
#include "state.h"
#include "store.h"

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static char *make_tmp(void) {
        char *d = strdup("/tmp/arkose-unit-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static void test_publish_versions(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_free_ unsigned *versions = NULL;
        _cleanup_free_ char *rootfs = NULL, *marker = NULL;
        _cleanup_strv_free_ char **info = NULL, **names = NULL;
        StoreStaging *s = NULL;
        unsigned v = 0, cur = 0;
        size_t n = 0;
        (void) state;

        assert_int_equal(store_current_version(dir, "bookworm", &cur), -ENOENT);

        /* An abandoned staging leaves nothing behind and publishes nothing. */
        assert_int_equal(store_staging_new(dir, "bookworm", &s), 0);
        marker = path_join(store_staging_rootfs(s), "half");
        assert_int_equal(write_file_atomic(marker, "x", 0644), 0);
        s = store_staging_free(s);
        assert_int_equal(store_list_versions(dir, "bookworm", &versions, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(store_current_version(dir, "bookworm", &cur), -ENOENT);

        for (unsigned i = 1; i <= 3; i++) {
                char *kv[] = { (char *) "method", (char *) "test", NULL };
                assert_int_equal(store_staging_new(dir, "bookworm", &s), 0);
                assert_int_equal(store_staging_publish(s, kv, &v), 0);
                s = store_staging_free(s);
                assert_int_equal(v, i);
                assert_int_equal(store_current_version(dir, "bookworm", &cur), 0);
                assert_int_equal(cur, i);
        }
        free(versions);
        versions = NULL;
        assert_int_equal(store_list_versions(dir, "bookworm", &versions, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(versions[0], 1);
        assert_int_equal(versions[2], 3);
        assert_int_equal(store_version_rootfs(dir, "bookworm", 2, &rootfs), 0);
        assert_int_equal(store_version_rootfs(dir, "bookworm", 9, &rootfs), -ENOENT);
        assert_int_equal(store_version_info(dir, "bookworm", 2, &info), 0);
        assert_string_equal(state_get(info, "version"), "2");
        assert_string_equal(state_get(info, "method"), "test");
        assert_non_null(state_get(info, "created"));

        assert_int_equal(store_list_names(dir, &names), 0);
        assert_int_equal(strv_length(names), 1);
        assert_string_equal(names[0], "bookworm");

        /* A staging directory left by a killed run is swept by the next one. */
        {
                _cleanup_free_ char *stale = strdup_printf("%s/trees/bookworm/.staging-dead", dir);
                struct stat st;
                assert_int_equal(mkdir(stale, 0755), 0);
                assert_int_equal(store_staging_new(dir, "bookworm", &s), 0);
                assert_int_equal(stat(stale, &st), -1);
                s = store_staging_free(s);
        }
        assert_int_equal(rm_rf(dir), 0);
}

static void test_lock_contention(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        int fd, status, pipefd[2];
        char c;
        pid_t pid;
        (void) state;

        fd = store_lock(dir, "sid", false);
        assert_true(fd >= 0);

        /* Another process cannot take it without waiting; it can once we let go. */
        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int r;

                /* OFD locks belong to the open file description, which fork() shares: drop our copy. */
                close(fd);
                r = store_lock(dir, "sid", false);
                if (r != -EBUSY)
                        _exit(1);
                (void) write(pipefd[1], "x", 1);
                r = store_lock(dir, "sid", true);
                _exit(r >= 0 ? 0 : 2);
        }
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        {
                _cleanup_free_ char *p = strdup_printf("%s/trees/sid.lock", dir);
                assert_true(lock_is_held(p, LOCK_MODE_EXCLUSIVE));
        }
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        close(pipefd[0]);
        close(pipefd[1]);
        assert_int_equal(rm_rf(dir), 0);
}

/* Whether a process waits in /proc/locks for a lock on inode @ino (a line "N: -> OFDLCK ..."). */
static bool lock_waiter_on(ino_t ino) {
        _cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
        char line[256], suffix[64];

        snprintf(suffix, sizeof(suffix), ":%llu ", (unsigned long long) ino);
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, "->") && strstr(line, suffix))
                        return true;
        return false;
}

/* A lock file removed by its holder while another process waits for it: the waiter does not take
 * the dead file's lock but the new file's at the same path. */
static void test_lock_removed_while_waiting(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_free_ char *p = path_join(dir, "x.lock");
        struct stat old, now;
        int fd, status;
        pid_t pid;
        (void) state;

        fd = lock_file(p, LOCK_MODE_EXCLUSIVE, false);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &old), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct stat a, b;
                int r;

                close(fd);
                r = lock_file(p, LOCK_MODE_EXCLUSIVE, true);
                if (r < 0 || fstat(r, &a) < 0 || stat(p, &b) < 0)
                        _exit(2);
                _exit(a.st_ino == b.st_ino && a.st_nlink > 0 ? 0 : 1);
        }
        /* Until the child blocks on the file we hold (its lock request shows in /proc/locks). */
        for (int i = 0; i < 500 && !lock_waiter_on(old.st_ino); i++)
                usleep(10000);
        assert_true(lock_waiter_on(old.st_ino));
        assert_int_equal(lock_file_remove(p, fd), 0);
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        /* The child's file (the inode number may be the freed one's again). */
        assert_int_equal(stat(p, &now), 0);
        assert_true(now.st_nlink == 1);

        /* A descriptor whose file is no longer at the path removes nothing. */
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(lock_file_remove(p, fd), -ESTALE);
        close(fd);
        assert_int_equal(rm_rf(dir), 0);
}

/* lock_file_existing() takes a lock file that is there as lock_file() does, but makes none: a sweep
 * locking a directory its owner is removing made a new lock file in it, and the owner's rmdir failed
 * ("Directory not empty"). */
static void test_lock_existing(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_free_ char *p = path_join(dir, "x.lock");
        int fd, other;
        (void) state;

        assert_int_equal(lock_file_existing(p, LOCK_MODE_EXCLUSIVE, false), -ENOENT);
        assert_int_equal(lock_file_existing(p, LOCK_MODE_SHARED, true), -ENOENT);
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(errno, ENOENT);

        fd = lock_file(p, LOCK_MODE_EXCLUSIVE, false);
        assert_true(fd >= 0);
        assert_int_equal(lock_file_existing(p, LOCK_MODE_EXCLUSIVE, false), -EBUSY);
        close(fd);
        other = lock_file_existing(p, LOCK_MODE_EXCLUSIVE, false);
        assert_true(other >= 0);
        assert_true(lock_is_held(p, LOCK_MODE_EXCLUSIVE));
        close(other);
        assert_int_equal(rm_rf(dir), 0);
}

/* lock_file_new() puts a lock file in place already locked: a sweep (lock_file_existing()) never finds it
 * unlocked, as it could between a lock_file()'s creation of a new file and its lock, and then removed a
 * concurrent build's directory ("Failed to lock ...: No such file or directory"). */
static void test_lock_new(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_free_ char *p = path_join(dir, "lock");
        struct dirent *de;
        DIR *d;
        int fd, other, entries = 0;
        (void) state;

        fd = lock_file_new(p, LOCK_MODE_EXCLUSIVE);
        assert_true(fd >= 0);
        assert_int_equal(lock_file_existing(p, LOCK_MODE_EXCLUSIVE, false), -EBUSY);
        assert_true(lock_is_held(p, LOCK_MODE_SHARED));
        /* Never over an existing one, and no temporary file left either way. */
        assert_int_equal(lock_file_new(p, LOCK_MODE_EXCLUSIVE), -EEXIST);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (!dot_or_dot_dot(de->d_name)) {
                        assert_string_equal(de->d_name, "lock");
                        entries++;
                }
        closedir(d);
        assert_int_equal(entries, 1);
        close(fd);
        other = lock_file_existing(p, LOCK_MODE_EXCLUSIVE, false);
        assert_true(other >= 0);
        close(other);
        assert_int_equal(lock_file_new("/nonexistent-dir/lock", LOCK_MODE_EXCLUSIVE), -ENOENT);
        assert_int_equal(rm_rf(dir), 0);
}

static void test_state_roundtrip(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_free_ char *p = path_join(dir, "x.json");
        _cleanup_strv_free_ char **kv = NULL;
        char *in[] = { (char *) "a", (char *) "1", (char *) "quote", (char *) "say \"hi\"", NULL };
        (void) state;

        assert_int_equal(state_write(p, in), 0);
        assert_int_equal(state_read(p, &kv), 0);
        assert_string_equal(state_get(kv, "a"), "1");
        assert_string_equal(state_get(kv, "quote"), "say \"hi\"");
        assert_null(state_get(kv, "missing"));
        assert_int_equal(write_file_atomic(p, "{ not json", 0644), 0);
        assert_int_equal(state_read(p, &kv), -EBADMSG);
        assert_int_equal(rm_rf(dir), 0);
}

static void test_gc_select(void **state) {
        /* 1 full; 2 on 1; 3 on 2; 4 full (an import); 5 on 4; 6 on 1. */
        const StoreVersion v[] = { { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 0 }, { 5, 4 }, { 6, 1 } };
        _cleanup_free_ unsigned *out = NULL;
        size_t n = 0;
        (void) state;

        /* Current 5, nothing else kept: 6 (leaf), 3, 2, 1 go; 4 stays as 5's parent. Newest first. */
        assert_int_equal(store_gc_select(v, 6, 5, NULL, 0, 0, &out, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(out[0], 6);
        assert_int_equal(out[1], 3);
        assert_int_equal(out[2], 2);
        assert_int_equal(out[3], 1);
        out = mfree(out);

        /* A session holds 3: 3, 2 and 1 stay (its chain); 6 goes. */
        const unsigned in_use[] = { 3 };
        assert_int_equal(store_gc_select(v, 6, 5, in_use, 1, 0, &out, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(out[0], 6);
        out = mfree(out);

        /* --keep 2 keeps 5 and 6, and 6 needs 1. */
        assert_int_equal(store_gc_select(v, 6, 5, NULL, 0, 2, &out, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(out[0], 3);
        assert_int_equal(out[1], 2);
        out = mfree(out);

        /* Rolled back to 1: the newer ones go, 1 stays. */
        assert_int_equal(store_gc_select(v, 6, 1, NULL, 0, 0, &out, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(out[4], 2);
        out = mfree(out);

        assert_int_equal(store_gc_select(v, 0, 0, NULL, 0, 0, &out, &n), 0);
        assert_int_equal(n, 0);
}

static void test_remove_refusal(void **state) {
        const StoreVersion v[] = { { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 0 } };
        const unsigned in_use[] = { 4 };
        (void) state;

        assert_string_equal(store_remove_refusal(v, 4, 3, in_use, 1, 9), "no such version");
        assert_string_equal(store_remove_refusal(v, 4, 3, in_use, 1, 3),
                            "it is the current version (roll back to another one first)");
        assert_string_equal(store_remove_refusal(v, 4, 3, in_use, 1, 4), "a running session uses it");
        assert_string_equal(store_remove_refusal(v, 4, 3, in_use, 1, 2), "a newer version is a layer on it");
        assert_string_equal(store_remove_refusal(v, 4, 3, in_use, 1, 1), "a newer version is a layer on it");
        assert_null(store_remove_refusal(v, 4, 1, NULL, 0, 3));
}

static void test_parse_ref(void **state) {
        _cleanup_free_ char *name = NULL;
        const char *reason = NULL;
        unsigned v = 99;
        (void) state;

        assert_int_equal(store_parse_ref("bookworm", &name, &v, NULL), 0);
        assert_string_equal(name, "bookworm");
        assert_int_equal(v, 0);
        name = mfree(name);
        assert_int_equal(store_parse_ref("bookworm@12", &name, &v, NULL), 0);
        assert_string_equal(name, "bookworm");
        assert_int_equal(v, 12);
        name = mfree(name);
        static const char *const bad[] = { "bookworm@", "bookworm@0", "bookworm@01", "bookworm@x", "bookworm@1x",
                                           "bookworm@-1", "@3", "a/b@1", "..", "bookworm@99999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                reason = NULL;
                assert_int_equal(store_parse_ref(bad[i], &name, &v, &reason), -EINVAL);
                assert_non_null(reason);
                assert_null(name);
        }
}

static void write_info(const char *dir, const char *name, unsigned v, const char *parent, bool layer) {
        _cleanup_free_ char *d = strdup_printf("%s/trees/%s/%u/%s", dir, name, v, layer ? "layer" : "rootfs");
        _cleanup_free_ char *info = strdup_printf("%s/trees/%s/%u/info.json", dir, name, v);
        char *kv[] = { (char *) "parent", (char *) parent, NULL };

        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(state_write(info, kv), 0);
}

static void test_layer_chain(void **state) {
        _cleanup_free_ char *dir = make_tmp();
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ StoreVersion *recs = NULL;
        size_t n = 0;
        unsigned p = 99;
        (void) state;

        write_info(dir, "c", 1, "", false);
        write_info(dir, "c", 2, "1", true);
        write_info(dir, "c", 3, "2", true);
        write_info(dir, "c", 4, "", false);
        write_info(dir, "c", 5, "9", true); /* a parent newer than itself */
        write_info(dir, "c", 8, "7", true); /* a missing parent */
        write_info(dir, "c", 6, "6", true); /* itself: refused, parents are older */

        assert_int_equal(store_version_lowers(dir, "c", 3, &l), 0);
        assert_int_equal(strv_length(l), 3);
        assert_true(endswith(l[0], "/trees/c/3/layer"));
        assert_true(endswith(l[1], "/trees/c/2/layer"));
        assert_true(endswith(l[2], "/trees/c/1/rootfs"));
        l = strv_free(l);
        assert_int_equal(store_version_lowers(dir, "c", 4, &l), 0);
        assert_int_equal(strv_length(l), 1);
        l = strv_free(l);
        assert_int_equal(store_version_lowers(dir, "c", 5, &l), -EBADMSG);
        assert_int_equal(store_version_lowers(dir, "c", 8, &l), -ENOENT);
        assert_int_equal(store_version_lowers(dir, "c", 6, &l), -EBADMSG);
        assert_int_equal(store_version_lowers(dir, "c", 7, &l), -ENOENT);

        assert_int_equal(store_version_parent(dir, "c", 3, &p), 0);
        assert_int_equal(p, 2);
        assert_int_equal(store_version_parent(dir, "c", 1, &p), 0);
        assert_int_equal(p, 0);

        assert_int_equal(store_list_version_records(dir, "c", &recs, &n), 0);
        assert_int_equal(n, 7);
        assert_int_equal(recs[2].version, 3);
        assert_int_equal(recs[2].parent, 2);

        /* Current, rollback, removal out of sight. */
        assert_int_equal(store_set_current_version(dir, "c", 3), 0);
        assert_int_equal(store_set_current_version(dir, "c", 9), -ENOENT);
        assert_int_equal(store_remove_version(dir, "c", 4), 0);
        assert_int_equal(store_version_lowers(dir, "c", 4, &l), -ENOENT);
        {
                _cleanup_close_ int lock = store_lock(dir, "c", false);
                _cleanup_close_ int use = store_use_lock(dir, "c", true);
                _cleanup_free_ char *lock_path = strdup_printf("%s/trees/c.lock", dir);
                _cleanup_free_ char *use_path = strdup_printf("%s/trees/c.use", dir);

                assert_true(lock >= 0 && use >= 0);
                assert_int_equal(store_remove_tree(dir, "c", lock, use), 0);
                /* Nothing of "c" stays in trees/, its lock files neither. */
                assert_true(access(lock_path, F_OK) < 0 && errno == ENOENT);
                assert_true(access(use_path, F_OK) < 0 && errno == ENOENT);
                assert_int_equal(store_use_lock(dir, "c", false), -ENOENT);
        }
        assert_int_equal(store_current_version(dir, "c", &p), -ENOENT);
        assert_int_equal(rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_publish_versions),
                cmocka_unit_test(test_lock_contention),
                cmocka_unit_test(test_lock_removed_while_waiting),
                cmocka_unit_test(test_lock_existing),
                cmocka_unit_test(test_lock_new),
                cmocka_unit_test(test_state_roundtrip),
                cmocka_unit_test(test_gc_select),
                cmocka_unit_test(test_remove_refusal),
                cmocka_unit_test(test_parse_ref),
                cmocka_unit_test(test_layer_chain),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
