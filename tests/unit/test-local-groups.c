/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* local-groups: NSS configuration, passwd and group file texts. Pure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "local-groups.h"

static void test_nsswitch(void **state) {
        (void) state;
        /* Debian 12's default, and files alone */
        assert_true(nss_groups_files_only("passwd:         files systemd\ngroup:          files systemd\n"));
        assert_true(nss_groups_files_only("# comment\ngroup: files\nhosts: files dns\n"));
        assert_true(nss_groups_files_only("group:\tfiles   systemd   # trailing comment\n"));
        /* other sources, actions, compat */
        assert_false(nss_groups_files_only("group: files sss\n"));
        assert_false(nss_groups_files_only("group: files ldap systemd\n"));
        assert_false(nss_groups_files_only("group: compat\n"));
        assert_false(nss_groups_files_only("group: files [NOTFOUND=return] systemd\n"));
        assert_false(nss_groups_files_only("group: winbind files\n"));
        /* without files, NSS does not read /etc/group */
        assert_false(nss_groups_files_only("group: systemd\n"));
        assert_false(nss_groups_files_only("group:\n"));
        /* initgroups, when present, is what getgrouplist() uses */
        assert_false(nss_groups_files_only("group: files\ninitgroups: files ldap\n"));
        assert_true(nss_groups_files_only("group: files ldap\ninitgroups: files\n"));
        /* no line: glibc's built-in default, not guessed */
        assert_false(nss_groups_files_only("passwd: files\n"));
        assert_false(nss_groups_files_only(""));
        assert_false(nss_groups_files_only(NULL));
        /* a line for another database that starts the same */
        assert_false(nss_groups_files_only("groupx: files\n"));
}

static void test_passwd(void **state) {
        const char *pw = "root:x:0:0:root:/root:/bin/bash\nbuilder:x:1000:1000::/home/builder:/bin/sh\nlast:x:2:2::/:/bin/sh";

        (void) state;
        assert_true(passwd_text_has_user(pw, "root"));
        assert_true(passwd_text_has_user(pw, "builder"));
        assert_true(passwd_text_has_user(pw, "last")); /* no final newline */
        assert_false(passwd_text_has_user(pw, "build"));
        assert_false(passwd_text_has_user(pw, "x"));
        assert_false(passwd_text_has_user("", "root"));
}

static void test_groups(void **state) {
        const char *gr = "root:x:0:\n"
                         "adm:x:4:syslog,builder\n"
                         "# a comment:x:5:builder\n"
                         "sudo:x:27:builder\n"
                         "builder:x:1000:\n"
                         "buildersx:x:1001:builders\n"
                         "broken:x:notanumber:builder\n"
                         "short:x:9\n"
                         "dup:x:27:builder\n"
                         "users:x:100:other,builder";
        gid_t *l = NULL;
        size_t n = 0;

        (void) state;
        assert_int_equal(group_text_list(gr, "builder", 1000, &l, &n), 0);
        /* primary first, then members in file order, each once; no partial-name match */
        assert_int_equal(n, 4);
        assert_int_equal(l[0], 1000);
        assert_int_equal(l[1], 4);
        assert_int_equal(l[2], 27);
        assert_int_equal(l[3], 100);
        free(l);

        assert_int_equal(group_text_list(gr, "nobody", 65534, &l, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(l[0], 65534);
        free(l);

        /* the primary group listed as a member too: once */
        assert_int_equal(group_text_list(gr, "builder", 27, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(l[0], 27);
        free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nsswitch),
                cmocka_unit_test(test_passwd),
                cmocka_unit_test(test_groups),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
