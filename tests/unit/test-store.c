/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Store bookkeeping and locks, in a mkdtemp() directory; no root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "lock.h"
#include "state.h"
#include "store.h"

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_publish_versions),
                cmocka_unit_test(test_lock_contention),
                cmocka_unit_test(test_state_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
