/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definition and main config parsing (good and malformed files), name validation, definition lookup
 * with overrides and aliases, and mirror discovery from sample apt sources. Data: tests/data/. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "config.h"

#define CONF(f) TEST_DATA_DIR "/config/" f

static void test_name_validation(void **state) {
        static const char *const good[] = { "bookworm", "sid-i386", "noble+ppa", "a", "x_1.2",
                                            /* exactly 64 */
                                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
        static const struct {
                const char *name;
                const char *reason;
        } bad[] = {
                { "", "empty" },
                { ".", "'.' and '..' are not names" },
                { "..", "'.' and '..' are not names" },
                { "a/b", "contains a slash" },
                { "/", "contains a slash" },
                { ".hidden", "starts with '.' or '-'" },
                { "-rf", "starts with '.' or '-'" },
                { "tab\there", "contains a control character" },
                { "nl\n", "contains a control character" },
                { "del\x7f", "contains a control character" },
                { "sp ace", "contains a character other than letters, digits, '.', '_', '+' and '-'" },
                { "at@1", "contains a character other than letters, digits, '.', '_', '+' and '-'" },
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer than 64 characters" },
        };
        (void) state;

        assert_int_equal(strlen(good[5]), CHROOT_NAME_MAX);
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                const char *reason = NULL;
                assert_true(chroot_name_is_valid(good[i], &reason));
                assert_null(reason);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *reason = NULL;
                assert_false(chroot_name_is_valid(bad[i].name, &reason));
                assert_string_equal(reason, bad[i].reason);
        }
        assert_false(chroot_name_is_valid(NULL, NULL));
}

static void test_parse_full(void **state) {
        _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
        unsigned line = 99;
        const char *key = "x";
        (void) state;

        assert_int_equal(chroot_def_parse_file(CONF("good-full.conf"), "full", &d, &line, &key), 0);
        assert_string_equal(d->name, "full");
        assert_string_equal(d->path, CONF("good-full.conf"));
        assert_int_equal(d->source, CHROOT_SOURCE_DEBOOTSTRAP);
        assert_int_equal(d->distribution, CHROOT_DISTRIBUTION_DEBIAN);
        assert_string_equal(d->description, "Test chroot");
        assert_string_equal(d->suite, "bookworm");
        assert_string_equal(d->variant, "minbase");
        assert_string_equal(d->architecture, "amd64");
        assert_int_equal(strv_length(d->components), 3);
        assert_string_equal(d->components[0], "main");
        assert_string_equal(d->components[1], "contrib");
        assert_string_equal(d->components[2], "non-free");
        assert_int_equal(strv_length(d->packages), 2);
        assert_string_equal(d->packages[1], "fakeroot");
        assert_string_equal(d->mirror, "http://mirror.invalid/debian/");
        assert_string_equal(d->keyring, "/usr/share/keyrings/debian-archive-keyring.gpg");
        assert_string_equal(d->profile, "buildd");
        assert_int_equal(strv_length(d->aliases), 2);
        assert_string_equal(d->aliases[0], "stable");
        assert_string_equal(d->aliases[1], "testing-alias");
        assert_string_equal(d->bootstrap, "mmdebstrap");
}

static void test_parse_defaults(void **state) {
        _cleanup_(chroot_def_freep) ChrootDef *d = NULL, *dir = NULL, *tar = NULL;
        (void) state;

        assert_int_equal(chroot_def_parse_file(CONF("good-minimal.conf"), "sid", &d, NULL, NULL), 0);
        assert_string_equal(d->suite, "sid");
        assert_string_equal(d->variant, "buildd");
        assert_int_equal(strv_length(d->components), 1);
        assert_string_equal(d->components[0], "main");
        assert_null(d->mirror);
        assert_null(d->architecture);
        assert_null(d->aliases);
        assert_null(d->packages);
        assert_null(d->bootstrap); /* arkose.conf's, else debootstrap: chosen by the caller */

        assert_int_equal(chroot_def_parse_file(CONF("good-directory.conf"), "fixture", &dir, NULL, NULL), 0);
        assert_int_equal(dir->source, CHROOT_SOURCE_DIRECTORY);
        assert_string_equal(dir->directory, "/srv/trees/fixture");
        assert_null(dir->suite);

        assert_int_equal(chroot_def_parse_file(CONF("good-tarball.conf"), "tar", &tar, NULL, NULL), 0);
        assert_int_equal(tar->source, CHROOT_SOURCE_TARBALL);
        assert_string_equal(tar->url, "http://127.0.0.1:8080/rootfs.tar.xz");
        assert_int_equal(strlen(tar->sha256), 64);
}

/* What the message says after "PATH:LINE: ": config_error_describe() of the parser's line and key. */
static void test_error_describe(void **state) {
        static const struct {
                const char *file, *says; /* NULL: nothing more than the key */
                int error;
        } cases[] = {
                { "bad-syntax.conf", "not a 'key = value' line: 'this line has no equals sign'", -EINVAL },
                { "bad-unclosed-section.conf", "a section header without its ']'", -EINVAL },
                { "bad-unknown-key.conf", "unknown key 'varient' in [chroot]", -EINVAL },
                { "bad-unknown-section.conf", "unknown key 'suite' in [main]", -EINVAL },
                { "bad-variant.conf", "invalid value 'fat' for 'variant'", -EINVAL },
                { "bad-source.conf", "invalid value 'nfs' for 'source'", -EINVAL },
                { "bad-bootstrap.conf", "invalid value 'cdebootstrap' for 'bootstrap'", -EINVAL },
                { "bad-duplicate.conf", "'suite' is given again (first on line 2); it is given once in [chroot]",
                  -ENOTUNIQ },
                { "bad-tarball-no-sha256.conf", "'sha256' is missing, or does not fit with the other keys", -EINVAL },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/config/%s", TEST_DATA_DIR, cases[i].file), *why = NULL;
                ChrootDef *d = NULL;
                const char *key = NULL;
                unsigned line = 0;

                print_message("%s\n", cases[i].file);
                assert_int_equal(chroot_def_parse_file(p, "x", &d, &line, &key), cases[i].error);
                why = config_error_describe(cases[i].error, p, line, key);
                assert_non_null(why);
                assert_string_equal(why, cases[i].says);
        }
        /* Not readable (any more): nothing to say. */
        assert_null(config_error_describe(-EINVAL, "/nonexistent/x.conf", 3, "suite"));
        assert_null(config_error_describe(-EINVAL, "/nonexistent/x.conf", 3, NULL));
}

static void test_parse_malformed(void **state) {
        static const struct {
                const char *file;
                unsigned line;   /* expected reterr_line */
                const char *key; /* expected reterr_key, NULL for none */
        } cases[] = {
                { "bad-syntax.conf", 3, NULL },
                /* The broken header's line, not the first key's below it. */
                { "bad-unclosed-section.conf", 2, NULL },
                { "bad-unknown-key.conf", 3, NULL },
                { "bad-unknown-section.conf", 4, NULL },
                { "bad-source.conf", 2, "source" },
                { "bad-variant.conf", 3, "variant" },
                { "bad-bootstrap.conf", 3, "bootstrap" },
                { "bad-relative-directory.conf", 3, "directory" },
                { "bad-tarball-no-sha256.conf", 0, "sha256" },
                { "bad-sha256.conf", 4, "sha256" },
                { "bad-alias.conf", 3, "aliases" },
                { "bad-duplicate.conf", 3, "suite" },
                { "bad-missing-suite.conf", 0, "suite" },
                { "bad-mirror.conf", 3, "mirror" },
                { "bad-option-suite.conf", 2, "suite" },
        };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/config/%s", TEST_DATA_DIR, cases[i].file);
                ChrootDef *d = NULL;
                unsigned line = 12345;
                const char *key = "unset";

                print_message("%s\n", cases[i].file);
                /* A key given again is told from a bad value. */
                assert_int_equal(chroot_def_parse_file(p, "x", &d, &line, &key),
                                 streq(cases[i].file, "bad-duplicate.conf") ? -ENOTUNIQ : -EINVAL);
                assert_null(d);
                assert_int_equal(line, cases[i].line);
                if (cases[i].key)
                        assert_string_equal(key, cases[i].key);
                else
                        assert_null(key);
        }
}

static void test_parse_errors_other(void **state) {
        ChrootDef *d = NULL;
        (void) state;

        assert_int_equal(chroot_def_parse_file(CONF("does-not-exist.conf"), "x", &d, NULL, NULL), -ENOENT);
        /* The name is checked before the file is opened. */
        assert_int_equal(chroot_def_parse_file(CONF("good-minimal.conf"), "../x", &d, NULL, NULL), -EINVAL);
        assert_null(d);
}

static void test_find(void **state) {
        char *dirs[] = { (char *) TEST_DATA_DIR "/defs/etc", (char *) TEST_DATA_DIR "/defs/usr", NULL };
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *errpath = NULL;
        unsigned line = 0;
        const char *key = NULL;
        (void) state;

        {
                /* /etc overrides /usr for the same name, so variant comes from the etc file. */
                _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
                assert_int_equal(chroot_def_find(dirs, "bookworm", &d, NULL, NULL, NULL), 0);
                assert_string_equal(d->variant, "minbase");
                assert_null(d->aliases); /* the overridden file's alias is gone with it */
        }
        {
                _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
                assert_int_equal(chroot_def_find(dirs, "testing", &d, NULL, NULL, NULL), 0);
                assert_string_equal(d->name, "trixie");
        }
        {
                /* "stable" was an alias only in the overridden /usr/bookworm.conf. */
                ChrootDef *d = NULL;
                assert_int_equal(chroot_def_find(dirs, "stable", &d, NULL, NULL, NULL), -ENOENT);
                assert_int_equal(chroot_def_find(dirs, "nosuch", &d, NULL, NULL, NULL), -ENOENT);
                assert_int_equal(chroot_def_find(dirs, "a/b", &d, NULL, NULL, NULL), -EINVAL);
                assert_null(d);
        }
        {
                ChrootDef *d = NULL;
                assert_int_equal(chroot_def_find(dirs, "broken", &d, &errpath, &line, &key), -EINVAL);
                assert_string_equal(errpath, TEST_DATA_DIR "/defs/usr/broken.conf");
                assert_int_equal(line, 3);
        }

        assert_int_equal(chroot_def_list_names(dirs, &names), 0);
        assert_int_equal(strv_length(names), 3);
        assert_string_equal(names[0], "bookworm");
        assert_string_equal(names[1], "broken");
        assert_string_equal(names[2], "trixie");
}

static void test_shipped_definitions(void **state) {
        static const char *const shipped[] = { "bookworm", "bookworm-i386", "trixie", "sid",
                                               "bullseye", "forky", "noble",   "precise" };
        const char *scripts = "/usr/share/debootstrap/scripts";
        bool have_scripts = access(scripts, F_OK) >= 0;
        (void) state;

        if (!have_scripts)
                print_message("%s is not there (no debootstrap): which suites need 'script =' is not checked\n",
                              scripts);

        for (size_t i = 0; i < ELEMENTSOF(shipped); i++) {
                _cleanup_free_ char *p = strdup_printf("%s/../../chroots/%s.conf", TEST_DATA_DIR, shipped[i]);
                _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
                unsigned line = 0;
                const char *key = NULL;

                print_message("%s\n", shipped[i]);
                assert_int_equal(chroot_def_parse_file(p, shipped[i], &d, &line, &key), 0);
                assert_non_null(d->suite);
                /* No mirror host names in what we ship. */
                assert_null(d->mirror);
                /* sbuild's DIST-ARCH: what build --arch i386 picks for bookworm. */
                if (streq(shipped[i], "bookworm-i386"))
                        assert_string_equal(d->architecture, "i386");
                /* Every one can be made by this host's debootstrap: a suite it has no script for names one
                 * it has (noble's was missing, and creating it failed). */
                if (have_scripts) {
                        _cleanup_free_ char *own = strdup_printf("%s/%s", scripts, d->suite);
                        _cleanup_free_ char *named = d->script ? strdup_printf("%s/%s", scripts, d->script) : NULL;

                        assert_true(access(own, F_OK) >= 0 || (named && access(named, F_OK) >= 0));
                }
        }
}

static void test_main_config(void **state) {
        ArkoseConfig c = {};
        unsigned line = 0;
        const char *key = NULL;
        (void) state;

        assert_int_equal(arkose_config_parse_file(CONF("main-good.conf"), &c, &line, &key), 0);
        assert_string_equal(c.state_dir, "/srv/arkose");
        assert_string_equal(c.mirror, "http://mirror.invalid/debian");
        assert_int_equal(c.hook_timeout, 5);
        assert_string_equal(c.bootstrap, "mmdebstrap");
        /* [build]: sbuild's ~/.sbuildrc defaults; option lists keep their dashes. */
        assert_true(c.run_lintian);
        assert_false(c.run_autopkgtest);
        assert_true(c.resolve_alternatives);
        assert_int_equal(strv_length(c.lintian_opts), 3);
        assert_string_equal(c.lintian_opts[0], "--fail-on");
        assert_string_equal(c.lintian_opts[2], "-i");
        assert_null(c.autopkgtest_opts);
        arkose_config_done(&c);

        /* A missing file gives the defaults. */
        assert_int_equal(arkose_config_parse_file(CONF("nonexistent.conf"), &c, NULL, NULL), 0);
        assert_null(c.state_dir);
        assert_null(c.bootstrap);
        assert_false(c.run_lintian);
        assert_false(c.resolve_alternatives);
        assert_int_equal(c.hook_timeout, 60);
        arkose_config_done(&c);

        assert_int_equal(arkose_config_parse_file(CONF("main-bad-timeout.conf"), &c, &line, &key), -EINVAL);
        assert_int_equal(line, 3);
        assert_string_equal(key, "hook-timeout");

        /* A definition is not a main config: its section is refused. */
        assert_int_equal(arkose_config_parse_file(CONF("good-minimal.conf"), &c, &line, &key), -EINVAL);
        assert_int_equal(line, 2);

        /* The shipped one parses. */
        assert_int_equal(arkose_config_parse_file(TEST_DATA_DIR "/../../confs/arkose.conf", &c, &line, &key), 0);
        arkose_config_done(&c);
}

static void check_mirror(const char *root, const char *expected) {
        _cleanup_free_ char *p = strdup_printf("%s/apt/%s", TEST_DATA_DIR, root);
        char *m = NULL;

        print_message("%s\n", root);
        if (!expected) {
                assert_int_equal(config_find_host_mirror(p, &m), -ENOENT);
                assert_null(m);
                return;
        }
        assert_int_equal(config_find_host_mirror(p, &m), 0);
        assert_string_equal(m, expected);
        free(m);
}

static void test_apt_source_uris(void **state) {
        _cleanup_strv_free_ char **uris = NULL;
        _cleanup_free_ char *joined = NULL;

        (void) state;
        /* deb822: every enabled stanza, security included, the disabled one not. */
        assert_int_equal(config_apt_source_uris(
                                 TEST_DATA_DIR "/apt/deb822/etc/apt/sources.list.d/debian.sources", &uris),
                         0);
        joined = strv_join(uris, " ");
        assert_string_equal(
                joined, "http://deb822.mirror.invalid/debian/ http://deb.debian.invalid/debian-security");
        uris = strv_free(uris);
        free(joined);
        /* One-line: deb and deb-src, security included, options skipped. */
        assert_int_equal(config_apt_source_uris(TEST_DATA_DIR "/apt/one-line/etc/apt/sources.list", &uris),
                         0);
        joined = strv_join(uris, " ");
        assert_string_equal(
                joined, "http://security.mirror.invalid/debian-security http://src.mirror.invalid/debian "
                        "http://one.mirror.invalid/debian/ http://two.mirror.invalid/debian");
        free(joined);
        joined = NULL;
        uris = strv_free(uris);
        /* A missing file adds nothing. */
        assert_int_equal(config_apt_source_uris(TEST_DATA_DIR "/apt/nonexistent/sources.list", &uris), 0);
        assert_null(uris);
}

static void test_host_mirror(void **state) {
        (void) state;

        /* One-line: security and deb-src skipped, trailing slash and comment dropped, first wins. */
        check_mirror("one-line", "http://one.mirror.invalid/debian");
        /* deb822: disabled stanza skipped, "deb deb-src" types accepted. */
        check_mirror("deb822", "http://deb822.mirror.invalid/debian");
        /* deb822: security-only stanza skipped; URIs on a continuation line. */
        check_mirror("deb822-security-first", "http://multi.mirror.invalid/debian");
        /* sources.list with only comments, then sources.list.d in order; [options] skipped. */
        check_mirror("both", "http://bracket.mirror.invalid/debian");
        /* Nothing usable: only -security/-updates, deb-src, cdrom. */
        check_mirror("only-security", NULL);
        check_mirror("empty", NULL);
        check_mirror("no-such-root", NULL);
}

static void test_personality(void **state) {
        (void) state;
        assert_string_equal(chroot_personality("i386", "x86_64"), "linux32");
        assert_string_equal(chroot_personality("armhf", "aarch64"), "linux32");
        assert_string_equal(chroot_personality("armel", "aarch64"), "linux32");
        /* Native, foreign (binfmt) and unknown combinations keep the host's. */
        assert_null(chroot_personality("amd64", "x86_64"));
        assert_null(chroot_personality("arm64", "aarch64"));
        assert_null(chroot_personality("armhf", "x86_64"));
        assert_null(chroot_personality("i386", "aarch64"));
        assert_null(chroot_personality(NULL, "x86_64"));
        assert_null(chroot_personality("i386", NULL));
}

static void test_access(void **state) {
        _cleanup_(chroot_def_freep) ChrootDef *d = NULL, *closed = NULL;
        char *none[] = { NULL };
        char *sbuild[] = { (char *) "users", (char *) "sbuild", NULL };
        char *admins[] = { (char *) "admins", NULL };
        (void) state;

        assert_int_equal(chroot_def_parse_file(CONF("good-access.conf"), "acc", &d, NULL, NULL), 0);
        assert_int_equal(chroot_def_access(d, "alice", none), CHROOT_ACCESS_SELF);
        assert_int_equal(chroot_def_access(d, "bob", admins), CHROOT_ACCESS_ROOT);
        assert_int_equal(chroot_def_access(d, "carol", none), CHROOT_ACCESS_ROOT);
        assert_int_equal(chroot_def_access(d, "dave", sbuild), CHROOT_ACCESS_SELF);
        assert_int_equal(chroot_def_access(d, "dave", none), CHROOT_ACCESS_NONE);
        assert_int_equal(chroot_def_access(d, "dave", NULL), CHROOT_ACCESS_NONE);
        /* No keys: nobody but root. */
        assert_int_equal(chroot_def_parse_file(CONF("good-minimal.conf"), "sid", &closed, NULL, NULL), 0);
        assert_int_equal(chroot_def_access(closed, "alice", sbuild), CHROOT_ACCESS_NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_name_validation),
                cmocka_unit_test(test_parse_full),
                cmocka_unit_test(test_parse_defaults),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_error_describe),
                cmocka_unit_test(test_parse_errors_other),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_shipped_definitions),
                cmocka_unit_test(test_main_config),
                cmocka_unit_test(test_host_mirror),
                cmocka_unit_test(test_apt_source_uris),
                cmocka_unit_test(test_personality),
                cmocka_unit_test(test_access),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
