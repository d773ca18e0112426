/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apparmor: profile text from the shipped template against golden files (tests/data/apparmor/), names,
 * off/auto/required decisions, plans and their LXC items, apparmor_parser command lines, stacking
 * detection from sample feature directories, and loading on a kernel without AppArmor. No root. The
 * golden profiles are compiled by apparmor_parser in tests/check/test-apparmor-compile.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apparmor.h"
#include "base/util.h"
#include "config.h"
#include "golden.h"

#define TEMPLATE    TEST_DATA_DIR "/../../confs/apparmor/arkose-session.template"
#define PROFILE(f)  TEST_DATA_DIR "/profiles/" f
#define SHIPPED(f)  TEST_DATA_DIR "/../../confs/profiles/" f
#define GOLDEN(f)   TEST_DATA_DIR "/apparmor/" f
#define FEATURES(f) TEST_DATA_DIR "/apparmor/features/" f

static char *read_template(void) {
        char *t = NULL;
        assert_int_equal(read_file(TEMPLATE, &t), 0);
        return t;
}

static Profile *load(const char *file, const char *name) {
        Profile *p = NULL;
        assert_int_equal(profile_parse_file(file, name, &p, NULL, NULL), 0);
        return p;
}

static const char *item(char **l, const char *key) {
        for (char **i = l; i && i[0]; i += 2)
                if (streq(i[0], key))
                        return i[1];
        return NULL;
}

static void test_names(void **state) {
        _cleanup_free_ char *p = NULL, *ns = NULL, *lp = NULL, *lns = NULL, *long_dir = NULL;
        char *x = NULL, *y = NULL;
        (void) state;

        assert_int_equal(apparmor_names("buildd", "/var/lib/arkose", &p, &ns), 0);
        assert_string_equal(p, "lxc-arkose-buildd_</var/lib/arkose>");
        assert_string_equal(ns, "lxc-arkose-buildd_<-var-lib-arkose>");

        long_dir = strdup_printf("/%0200d", 0);
        assert_int_equal(apparmor_names("dev", long_dir, &lp, &lns), 0);
        assert_true(strlen(lp) <= APPARMOR_NAME_MAX);
        assert_true(startswith(lp, "lxc-arkose-dev_<"));
        assert_int_equal(strlen(lp), strlen("lxc-arkose-dev_<>") + 16);
        assert_string_equal(lp, lns); /* no slash left to replace */

        assert_int_equal(apparmor_names("../x", "/var/lib/arkose", &x, &y), -EINVAL);
        assert_int_equal(apparmor_names("buildd", "relative", &x, &y), -EINVAL);
        assert_int_equal(apparmor_names("buildd", "/var/lib/\"quoted\"", &x, &y), -EINVAL);
        assert_null(x);
        assert_null(y);
}

/* Generates the profile of session profile @file (named @name) and compares it with GOLDEN(@golden). */
static void check_golden(const char *file, const char *name, const char *golden) {
        _cleanup_(profile_freep) Profile *p = load(file, name);
        _cleanup_free_ char *t = read_template(), *profile = NULL, *ns = NULL, *text = NULL;
        _cleanup_free_ char *path = strdup_printf("%s/apparmor/%s", TEST_DATA_DIR, golden);

        print_message("%s\n", golden);
        assert_int_equal(apparmor_names(name, "/var/lib/arkose", &profile, &ns), 0);
        assert_int_equal(apparmor_profile_text(t, p, profile, p->apparmor_namespace ? ns : NULL, &text), 0);
        assert_golden(path, text);
}

static void test_golden_shipped(void **state) {
        (void) state;
        check_golden(SHIPPED("buildd.conf"), "buildd", "buildd.profile");
        check_golden(SHIPPED("dev.conf"), "dev", "dev.profile");
        check_golden(SHIPPED("desktop.conf"), "desktop", "desktop.profile");
}

static void test_golden_variants(void **state) {
        (void) state;
        /* network none without inet = yes: no inet sockets at all. */
        check_golden(PROFILE("good-minimal.conf"), "minimal", "minimal.profile");
        /* nesting, no namespace, a capability drop list of its own. */
        check_golden(PROFILE("good-full.conf"), "full", "full.profile");
        /* capabilities-keep: only those are allowed. */
        check_golden(PROFILE("good-keep.conf"), "keep", "keep.profile");
}

static void test_text_rules(void **state) {
        _cleanup_(profile_freep) Profile *b = load(SHIPPED("buildd.conf"), "buildd");
        _cleanup_free_ char *t = read_template(), *text = NULL;
        (void) state;

        /* What the issue asks the buildd profile to deny, whatever the golden file says. */
        assert_int_equal(apparmor_profile_text(t, b, "P", "NS", &text), 0);
        static const char *const must[] = {
                "profile \"P\" flags=(attach_disconnected,mediate_deleted) {\n",
                "  deny capability sys_module,\n",
                "  deny network inet raw,\n",
                "  deny network packet,\n",
                "  deny mount,\n",
                "  deny umount,\n",
                "  deny pivot_root,\n",
                "  deny /proc/sysrq-trigger rwklx,\n",
                "  deny /proc/sys/** wklx,\n",
                "  deny /proc/sys/kernel/modprobe rwklx,\n",
                "  deny /sys/** wklx,\n",
                "  deny ptrace (trace, read) peer=unconfined,\n",
                "  change_profile -> \":NS:*\",\n",
                "  change_profile -> \":NS://*\",\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(must); i++) {
                if (!strstr(text, must[i]))
                        print_error("missing: %s", must[i]);
                assert_non_null(strstr(text, must[i]));
        }
        assert_null(strstr(text, "@"));
        /* Capabilities LXC's set-up still uses after the profile applies are not denied (LXC drops them
         * from the bounding set itself): denied, no session starts on a kernel with AppArmor. */
        assert_null(strstr(text, "deny capability sys_admin"));
        assert_null(strstr(text, "deny capability setpcap"));
        assert_null(strstr(text, "capability chown"));
}

/* The init profile of shared spares: what it may do that the session's profile denies, and where it
 * leads: only to the session's label (stacked with its namespace), which may receive its signals. */
static void test_text_spare_init(void **state) {
        _cleanup_(profile_freep) Profile *b = load(SHIPPED("buildd.conf"), "buildd");
        _cleanup_free_ char *t = read_template(), *text = NULL, *plain = NULL, *name = NULL;
        const char *init;
        (void) state;

        assert_int_equal(apparmor_profile_text(t, b, "P", "NS", &text), 0);
        init = strstr(text, "\nprofile \"P-spare-init\" flags=(attach_disconnected,mediate_deleted) {\n");
        assert_non_null(init);
        /* The session's profile comes first and keeps its denials; the init profile after it. */
        assert_non_null(strstr(text, "  deny mount,\n"));
        assert_true(strstr(text, "  deny mount,\n") < init);
        assert_non_null(strstr(text, "  signal (receive) peer=\"P-spare-init\",\n"));
        static const char *const must[] = {
                "  mount,\n", "  umount,\n", "  pivot_root,\n", "  deny capability sys_module,\n",
                "  change_profile -> \"P\",\n", "  change_profile -> \"P//&:NS:unconfined\",\n",
                "  change_profile -> \"P//&:NS://unconfined\",\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(must); i++) {
                if (!strstr(init, must[i]))
                        print_error("missing in the init profile: %s", must[i]);
                assert_non_null(strstr(init, must[i]));
        }
        assert_null(strstr(init, "deny mount"));
        assert_null(strstr(init, "@"));
        /* Without a namespace, only the session's profile. */
        assert_int_equal(apparmor_profile_text(t, b, "P", NULL, &plain), 0);
        assert_non_null(strstr(plain, "  change_profile -> \"P\",\n}\n"));
        assert_null(strstr(strstr(plain, "\"P-spare-init\""), "//&"));

        name = apparmor_spare_init_name("lxc-arkose-buildd_</var/lib/arkose>");
        assert_string_equal(name, "lxc-arkose-buildd_</var/lib/arkose>-spare-init");
}

static void test_spare_init_label(void **state) {
        char *l = NULL;
        (void) state;

        assert_int_equal(apparmor_spare_init_label("P//&:NS:", &l), 1);
        assert_string_equal(l, "P-spare-init");
        l = mfree(l);
        assert_int_equal(apparmor_spare_init_label("lxc-arkose-dev_</x>", &l), 1);
        assert_string_equal(l, "lxc-arkose-dev_</x>-spare-init");
        l = mfree(l);
        assert_int_equal(apparmor_spare_init_label("unconfined", &l), 0);
        assert_null(l);
        assert_int_equal(apparmor_spare_init_label("", &l), -EINVAL);
        assert_int_equal(apparmor_spare_init_label(NULL, &l), -EINVAL);
}

static void test_template_errors(void **state) {
        _cleanup_(profile_freep) Profile *p = load(PROFILE("good-minimal.conf"), "minimal");
        _cleanup_free_ char *ok = NULL, *vars = NULL;
        char *text = NULL;
        (void) state;

        assert_int_equal(apparmor_profile_text("profile \"@NOPE@\" {}\n", p, "P", NULL, &text), -EINVAL);
        /* A block placeholder must be alone on its line. */
        assert_int_equal(apparmor_profile_text("  file, @NETWORK_RULES@\n", p, "P", NULL, &text), -EINVAL);
        assert_int_equal(apparmor_profile_text("x\n", p, "bad\"name", NULL, &text), -EINVAL);
        assert_int_equal(apparmor_profile_text("x\n", p, "P", "bad\nns", &text), -EINVAL);
        assert_null(text);

        /* AppArmor's own variables and mail-like text are not placeholders; a missing final newline is
         * added; blocks keep their indentation. */
        assert_int_equal(apparmor_profile_text("@{PROC}/x r, a@b @@\n\t@MOUNT_RULES@\n@SESSION_PROFILE@", p,
                                               "P", NULL, &vars),
                         0);
        assert_true(startswith(
                vars, "@{PROC}/x r, a@b @@\n\tdeny mount,\n\tdeny umount,\n\tdeny pivot_root,\nminimal\n\n"
                      "# The init of shared spare sessions of profile 'minimal'"));
        /* The init profile of shared spares follows whatever the template says. */
        assert_int_equal(apparmor_profile_text("", p, "P", NULL, &ok), 0);
        assert_true(startswith(ok, "\n# The init of shared spare sessions"));
        assert_non_null(strstr(ok, "\nprofile \"P-spare-init\" flags=(attach_disconnected,mediate_deleted) {\n"));
}

static void test_decide(void **state) {
        const char *reason = NULL;
        (void) state;

        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_OFF, 0, &reason), APPARMOR_ACTION_NONE);
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_OFF, -EOPNOTSUPP, &reason), APPARMOR_ACTION_NONE);
        assert_null(reason);
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_AUTO, 0, &reason), APPARMOR_ACTION_CONFINE);
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_REQUIRED, 0, &reason), APPARMOR_ACTION_CONFINE);
        assert_null(reason);

        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_AUTO, -EOPNOTSUPP, &reason),
                         APPARMOR_ACTION_NOTICE);
        assert_string_equal(reason, "the kernel has no AppArmor, or it is disabled");
        reason = NULL;
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_REQUIRED, -EOPNOTSUPP, &reason),
                         APPARMOR_ACTION_REFUSE);
        assert_string_equal(reason, "the kernel has no AppArmor, or it is disabled");
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_REQUIRED, -ENOENT, &reason),
                         APPARMOR_ACTION_REFUSE);
        assert_string_equal(reason, "AppArmor's file system (securityfs) is not mounted");
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_AUTO, -EACCES, &reason), APPARMOR_ACTION_NOTICE);
        assert_string_equal(reason, "AppArmor's interface in securityfs is not accessible");
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_AUTO, -EBUSY, NULL), APPARMOR_ACTION_NOTICE);
        assert_int_equal(apparmor_decide(_PROFILE_APPARMOR_INVALID, 0, NULL), _APPARMOR_ACTION_INVALID);
}

static void test_plan(void **state) {
        _cleanup_(profile_freep) Profile *b = load(SHIPPED("buildd.conf"), "buildd");
        _cleanup_(profile_freep) Profile *own = load(PROFILE("good-keep.conf"), "keep");
        _cleanup_(profile_freep) Profile *full = load(PROFILE("good-full.conf"), "full");
        _cleanup_(apparmor_plan_freep) ApparmorPlan *s = NULL, *n = NULL, *o = NULL, *u = NULL, *f = NULL;
        _cleanup_strv_free_ char **si = NULL, **ui = NULL, **fi = NULL;
        _cleanup_free_ char *t = read_template(), *golden = NULL;
        ApparmorSupport stacking = { .stacking = true }, flat = { .stacking = false };
        ApparmorPlan *x = NULL;
        (void) state;

        /* Stacking kernel: the session runs in the profile stacked with the namespace's. */
        assert_int_equal(apparmor_plan(b, t, "/var/lib/arkose", APPARMOR_ACTION_CONFINE, &stacking, &s), 0);
        assert_string_equal(s->profile, "lxc-arkose-buildd_</var/lib/arkose>");
        assert_string_equal(s->namespace, "lxc-arkose-buildd_<-var-lib-arkose>");
        assert_string_equal(s->label,
                            "lxc-arkose-buildd_</var/lib/arkose>//&:lxc-arkose-buildd_<-var-lib-arkose>:");
        assert_int_equal(read_file(GOLDEN("buildd.profile"), &golden), 0);
        assert_string_equal(s->text, golden);
        assert_int_equal(apparmor_plan_config(s, &si), 0);
        assert_int_equal(strv_length(si), 6);
        assert_string_equal(item(si, "lxc.apparmor.profile"), s->label);
        assert_string_equal(item(si, "lxc.apparmor.allow_nesting"), "0");
        assert_string_equal(item(si, "lxc.apparmor.allow_incomplete"), "0");

        /* No stacking: the profile alone, no namespace to create; the text is the same. */
        assert_int_equal(apparmor_plan(b, t, "/var/lib/arkose", APPARMOR_ACTION_CONFINE, &flat, &n), 0);
        assert_string_equal(n->label, "lxc-arkose-buildd_</var/lib/arkose>");
        assert_null(n->namespace);
        assert_string_equal(n->text, golden);

        /* namespace = no, nesting = yes. */
        assert_int_equal(apparmor_plan(full, t, "/var/lib/arkose", APPARMOR_ACTION_CONFINE, &stacking, &f),
                         0);
        assert_string_equal(f->label, "lxc-arkose-full_</var/lib/arkose>");
        assert_null(f->namespace);
        assert_int_equal(apparmor_plan_config(f, &fi), 0);
        assert_string_equal(item(fi, "lxc.apparmor.allow_nesting"), "1");

        /* The administrator's own profile: used by name, nothing generated. */
        assert_int_equal(apparmor_plan(own, t, "/var/lib/arkose", APPARMOR_ACTION_CONFINE, &stacking, &o),
                         0);
        assert_string_equal(o->label, "my-own-profile");
        assert_null(o->text);
        assert_null(o->namespace);

        /* Unconfined: auto without AppArmor, or off. */
        assert_int_equal(apparmor_plan(b, t, "/var/lib/arkose", APPARMOR_ACTION_NOTICE, NULL, &u), 0);
        assert_string_equal(u->label, "unconfined");
        assert_null(u->profile);
        assert_null(u->text);
        assert_int_equal(apparmor_plan_config(u, &ui), 0);
        assert_string_equal(item(ui, "lxc.apparmor.profile"), "unconfined");

        assert_int_equal(apparmor_plan(b, t, "/var/lib/arkose", APPARMOR_ACTION_REFUSE, NULL, &x), -EINVAL);
        assert_int_equal(apparmor_plan(b, t, "relative", APPARMOR_ACTION_CONFINE, &flat, &x), -EINVAL);
        assert_null(x);
}

static void test_parser_argv(void **state) {
        _cleanup_strv_free_ char **check = NULL, **load_ns = NULL, **remove = NULL, **custom = NULL;
        char **x = NULL;
        (void) state;

        assert_int_equal(
                apparmor_parser_argv(APPARMOR_PARSER_CHECK, "/tmp/p", "ignored", "ignored", NULL, &check),
                0);
        assert_int_equal(strv_length(check), 5);
        assert_string_equal(check[0], "apparmor_parser");
        assert_string_equal(check[1], "-QK");
        assert_string_equal(check[2], "-M");
        assert_string_equal(check[3], "/usr/share/apparmor-features/features");
        assert_string_equal(check[4], "/tmp/p");

        assert_int_equal(apparmor_parser_argv(APPARMOR_PARSER_CHECK, "/tmp/p", NULL, NULL, "/f", &custom),
                         0);
        assert_string_equal(custom[3], "/f");

        assert_int_equal(
                apparmor_parser_argv(APPARMOR_PARSER_REPLACE, "/s/p", "NS", "/s/cache", NULL, &load_ns), 0);
        assert_int_equal(strv_length(load_ns), 8);
        static const char *const want[] = { "apparmor_parser", "-r", "-W", "-L",
                                            "/s/cache",        "-n", "NS", "/s/p" };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(load_ns[i], want[i]);

        assert_int_equal(apparmor_parser_argv(APPARMOR_PARSER_REMOVE, "/s/p", NULL, NULL, NULL, &remove), 0);
        assert_int_equal(strv_length(remove), 4);
        assert_string_equal(remove[1], "-R");
        assert_string_equal(remove[2], "-K");
        assert_string_equal(remove[3], "/s/p");

        assert_int_equal(apparmor_parser_argv(APPARMOR_PARSER_CHECK, "", NULL, NULL, NULL, &x), -EINVAL);
        assert_int_equal(apparmor_parser_argv(_APPARMOR_PARSER_OP_INVALID, "/p", NULL, NULL, NULL, &x),
                         -EINVAL);
        assert_null(x);
}

static void test_features(void **state) {
        (void) state;
        assert_true(apparmor_features_have_stacking(FEATURES("stacking")));
        assert_false(apparmor_features_have_stacking(FEATURES("old-version")));
        assert_false(apparmor_features_have_stacking(FEATURES("no-stack")));
        assert_false(apparmor_features_have_stacking(FEATURES("does-not-exist")));
}

/* On a kernel without AppArmor (this project's test machines), detection says so and loading does
 * nothing at all; on one with AppArmor, detection succeeds (loading needs root and is not tried here). */
static void test_detect_and_load(void **state) {
        _cleanup_(profile_freep) Profile *b = load(SHIPPED("buildd.conf"), "buildd");
        _cleanup_(apparmor_plan_freep) ApparmorPlan *plan = NULL;
        _cleanup_free_ char *t = read_template(), *sub = NULL;
        ApparmorSupport support = {}, flat = {};
        char dir[] = "/tmp/test-apparmor-XXXXXX";
        int r;
        (void) state;

        r = apparmor_detect(&support);
        print_message("apparmor_detect(): %s\n", r < 0 ? strerror(-r) : "AppArmor enabled");
        if (access("/sys/module/apparmor", F_OK) < 0)
                assert_int_equal(r, -EOPNOTSUPP);
        if (r != -EOPNOTSUPP)
                return;

        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_AUTO, r, NULL), APPARMOR_ACTION_NOTICE);
        assert_int_equal(apparmor_decide(PROFILE_APPARMOR_REQUIRED, r, NULL), APPARMOR_ACTION_REFUSE);

        assert_non_null(mkdtemp(dir));
        assert_int_equal(apparmor_plan(b, t, "/var/lib/arkose", APPARMOR_ACTION_CONFINE, &flat, &plan), 0);
        assert_int_equal(apparmor_load(plan, dir), -EOPNOTSUPP);
        assert_int_equal(apparmor_unload(plan, dir), -EOPNOTSUPP);
        /* Nothing was written. */
        sub = path_join(dir, "apparmor");
        assert_int_equal(access(sub, F_OK), -1);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_golden_shipped),
                cmocka_unit_test(test_golden_variants),
                cmocka_unit_test(test_text_rules),
                cmocka_unit_test(test_text_spare_init),
                cmocka_unit_test(test_spare_init_label),
                cmocka_unit_test(test_template_errors),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_parser_argv),
                cmocka_unit_test(test_features),
                cmocka_unit_test(test_detect_and_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
