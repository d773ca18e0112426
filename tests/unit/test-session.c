/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: the record, ids, schroot's namespaces and the sweep's decisions. No root, no containers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "session-internal.h"
#include "session.h"
#include "state.h"

static char *lowers[] = { (char *) "/s/trees/bookworm/2/layer", (char *) "/s/trees/bookworm/1/rootfs", NULL };
static char *binds[] = { (char *) "/home/u/src", NULL };

static SessionPlan plan_for(const char *state_dir, bool detached, bool tmpfs) {
        return (SessionPlan) {
                .state_dir = state_dir,
                .detached = detached,
                .chroot = "bookworm",
                .version = "2",
                .lowers = lowers,
                .tmpfs = tmpfs,
                .network = CONTAINER_NETWORK_NONE,
                .binds = binds,
                .cwd = "/home/u/src",
                .user = "u",
                .uid = 1000,
                .gid = 1000,
                .home = "/home/u",
                .shell = "/bin/bash",
                .groups = "u:1000 sudo:27",
        };
}

static void test_plan_paths(void **state) {
        _cleanup_(session_info_done) SessionInfo i = {};
        SessionPlan p = plan_for("/s", true, false);

        (void) state;
        assert_int_equal(session_info_plan(&p, "bookworm-0123abcd", &i), 0);
        assert_int_equal(i.kind, SESSION_KIND_DETACHED);
        assert_int_equal(i.phase, SESSION_PHASE_STARTING);
        assert_string_equal(i.dir, "/s/sessions/bookworm-0123abcd");
        assert_string_equal(i.root, "/s/sessions/bookworm-0123abcd/root");
        assert_string_equal(i.upper, "/s/sessions/bookworm-0123abcd/upper");
        assert_string_equal(i.work, "/s/sessions/bookworm-0123abcd/work");
        assert_null(i.tmp);
        assert_string_equal(i.container, "bookworm-0123abcd");
        assert_string_equal(i.lxcpath, "/s/lxc");
        assert_string_equal(i.lxcdir, "/s/lxc/bookworm-0123abcd");
        assert_int_equal(i.owner_pid, getpid());
}

static void test_plan_tmpfs_and_kept_upper(void **state) {
        _cleanup_(session_info_done) SessionInfo t = {}, u = {};
        SessionPlan p = plan_for("/s", false, true);

        (void) state;
        assert_int_equal(session_info_plan(&p, "x", &t), 0);
        assert_string_equal(t.tmp, "/s/sessions/x/tmp");
        assert_string_equal(t.upper, "/s/sessions/x/tmp/upper");
        assert_string_equal(t.work, "/s/sessions/x/tmp/work");

        /* update: a kept upper directory elsewhere; --tmpfs is then ignored */
        p.upper = "/s/trees/bookworm/.staging-1/layer";
        p.work = "/s/trees/bookworm/.staging-1/work";
        assert_int_equal(session_info_plan(&p, "y", &u), 0);
        assert_null(u.tmp);
        assert_false(u.tmpfs);
        assert_string_equal(u.upper, "/s/trees/bookworm/.staging-1/layer");
}

static void test_plan_refuses(void **state) {
        SessionInfo i = {};
        SessionPlan p = plan_for("/s", false, false);

        (void) state;
        assert_int_equal(session_info_plan(&p, "../x", &i), -EINVAL);
        session_info_done(&i);
        assert_int_equal(session_info_plan(&p, ".new-x", &i), -EINVAL);
        session_info_done(&i);
        p.lowers = NULL;
        assert_int_equal(session_info_plan(&p, "ok", &i), -EINVAL);
        session_info_done(&i);
}

static void test_record_round_trip(void **state) {
        _cleanup_(session_info_done) SessionInfo a = {}, b = {};
        _cleanup_strv_free_ char **kv = NULL;
        SessionPlan p = plan_for("/s", true, true);

        (void) state;
        assert_int_equal(session_info_plan(&p, "bookworm-1", &a), 0);
        a.phase = SESSION_PHASE_READY;
        a.init_pid = 4242;
        a.init_start = 123456789ULL;
        a.created = 1700000000;
        a.profile = strdup("buildd");
        a.profile_network = strdup("filtered");
        assert_int_equal(strv_extend(&a.profile_binds, "/srv/cache:/var/cache/apt:rw"), 0);
        assert_int_equal(session_info_to_kv(&a, &kv), 0);
        assert_string_equal(state_get(kv, "kind"), "detached");
        assert_string_equal(state_get(kv, "phase"), "ready");
        assert_string_equal(state_get(kv, "lowers"), "/s/trees/bookworm/2/layer\n/s/trees/bookworm/1/rootfs");
        assert_string_equal(state_get(kv, "created"), "2023-11-14T22:13:20Z");
        assert_string_equal(state_get(kv, "root"), "/s/sessions/bookworm-1/root");

        assert_int_equal(session_info_from_kv(kv, &b), 0);
        assert_string_equal(b.id, "bookworm-1");
        assert_int_equal(b.kind, SESSION_KIND_DETACHED);
        assert_int_equal(b.phase, SESSION_PHASE_READY);
        assert_string_equal(b.chroot, "bookworm");
        assert_string_equal(b.version, "2");
        assert_int_equal(strv_length(b.lowers), 2);
        assert_string_equal(b.lowers[1], "/s/trees/bookworm/1/rootfs");
        assert_string_equal(b.binds[0], "/home/u/src");
        assert_true(b.tmpfs);
        assert_int_equal(b.uid, 1000);
        assert_string_equal(b.groups, "u:1000 sudo:27");
        assert_int_equal(b.init_pid, 4242);
        assert_true(b.init_start == 123456789ULL);
        assert_int_equal(b.created, 1700000000);
        assert_string_equal(b.profile, "buildd");
        assert_string_equal(b.profile_network, "filtered");
        assert_string_equal(b.profile_binds[0], "/srv/cache:/var/cache/apt:rw");
        assert_null(b.profile_binds[1]);
        assert_false(b.source);
        assert_null(b.alias);
        assert_null(state_get(kv, "alias"));
}

/* A source session (-c source:NAME --begin-session) says so in its record: its end publishes its layer. */
static void test_record_source(void **state) {
        _cleanup_(session_info_done) SessionInfo a = {}, b = {}, c = {};
        _cleanup_strv_free_ char **kv = NULL;
        SessionPlan p = plan_for("/s", true, false);

        (void) state;
        p.source = true;
        p.alias = "stable";
        assert_int_equal(session_info_plan(&p, "bookworm-2", &a), 0);
        assert_true(a.source);
        assert_int_equal(session_info_to_kv(&a, &kv), 0);
        assert_string_equal(state_get(kv, "source"), "true");
        assert_int_equal(session_info_from_kv(kv, &b), 0);
        assert_true(b.source);
        /* ... and the name it was begun by (SCHROOT_ALIAS_NAME), when another. */
        assert_string_equal(b.alias, "stable");
        /* Only a detached one: a one-shot session's changes go with it. */
        p.detached = false;
        assert_int_equal(session_info_plan(&p, "bookworm-3", &c), 0);
        assert_false(c.source);
}

static void test_record_malformed(void **state) {
        char *no_id[] = { (char *) "kind", (char *) "oneshot", (char *) "chroot", (char *) "c",
                          (char *) "version", (char *) "1", NULL };
        char *bad_kind[] = { (char *) "id", (char *) "x", (char *) "kind", (char *) "forever",
                             (char *) "chroot", (char *) "c", (char *) "version", (char *) "1", NULL };
        char *bad_uid[] = { (char *) "id", (char *) "x", (char *) "kind", (char *) "oneshot", (char *) "chroot",
                            (char *) "c", (char *) "version", (char *) "1", (char *) "uid", (char *) "-1", NULL };
        char *bad_id[] = { (char *) "id", (char *) "../x", (char *) "kind", (char *) "oneshot",
                           (char *) "chroot", (char *) "c", (char *) "version", (char *) "1", NULL };
        char *bad_date[] = { (char *) "id", (char *) "x", (char *) "kind", (char *) "oneshot", (char *) "chroot",
                             (char *) "c", (char *) "version", (char *) "1", (char *) "created", (char *) "soon",
                             NULL };
        char **cases[] = { no_id, bad_kind, bad_uid, bad_id, bad_date };

        (void) state;
        for (size_t n = 0; n < ELEMENTSOF(cases); n++) {
                SessionInfo i = {};
                assert_int_equal(session_info_from_kv(cases[n], &i), -EBADMSG);
                session_info_done(&i);
        }
}

static void test_sweep_decide(void **state) {
        SessionInfo oneshot = { .kind = SESSION_KIND_ONESHOT, .phase = SESSION_PHASE_READY };
        SessionInfo starting = { .kind = SESSION_KIND_DETACHED, .phase = SESSION_PHASE_STARTING };
        SessionInfo ready = { .kind = SESSION_KIND_DETACHED, .phase = SESSION_PHASE_READY };
        SessionInfo ending = { .kind = SESSION_KIND_DETACHED, .phase = SESSION_PHASE_ENDING };

        (void) state;
        /* A held lock always means live. */
        assert_int_equal(session_sweep_decide(&oneshot, false, false), SESSION_SWEEP_KEEP);
        assert_int_equal(session_sweep_decide(&starting, false, false), SESSION_SWEEP_KEEP);
        assert_int_equal(session_sweep_decide(&ending, false, true), SESSION_SWEEP_KEEP);
        assert_int_equal(session_sweep_decide(NULL, false, false), SESSION_SWEEP_KEEP);
        /* Lock free: the owner died. */
        assert_int_equal(session_sweep_decide(&oneshot, true, true), SESSION_SWEEP_REMOVE);
        assert_int_equal(session_sweep_decide(&starting, true, true), SESSION_SWEEP_REMOVE);
        assert_int_equal(session_sweep_decide(&ending, true, true), SESSION_SWEEP_REMOVE);
        assert_int_equal(session_sweep_decide(NULL, true, false), SESSION_SWEEP_REMOVE);
        /* A ready detached session is live with its container, dead without, never removed. */
        assert_int_equal(session_sweep_decide(&ready, true, true), SESSION_SWEEP_KEEP);
        assert_int_equal(session_sweep_decide(&ready, true, false), SESSION_SWEEP_DEAD);
}

static void test_ref_parse(void **state) {
        SessionNamespace ns;
        const char *name;

        (void) state;
        assert_int_equal(session_ref_parse("bookworm", &ns, &name), 0);
        assert_int_equal(ns, SESSION_NAMESPACE_NONE);
        assert_string_equal(name, "bookworm");
        assert_int_equal(session_ref_parse("chroot:bookworm@3", &ns, &name), 0);
        assert_int_equal(ns, SESSION_NAMESPACE_CHROOT);
        assert_string_equal(name, "bookworm@3");
        assert_int_equal(session_ref_parse("session:bookworm-0123abcd", &ns, &name), 0);
        assert_int_equal(ns, SESSION_NAMESPACE_SESSION);
        assert_string_equal(name, "bookworm-0123abcd");
        assert_int_equal(session_ref_parse("source:bookworm", &ns, &name), 0);
        assert_int_equal(ns, SESSION_NAMESPACE_SOURCE);
        assert_string_equal(name, "bookworm");
        assert_int_equal(session_ref_parse("snapshot:bookworm", &ns, &name), -EOPNOTSUPP);
}

static void test_ids(void **state) {
        _cleanup_free_ char *id = session_id_new("bookworm");
        const char *reason = NULL;
        char long_id[120];

        (void) state;
        assert_non_null(id);
        assert_int_equal(strlen(id), strlen("bookworm-") + 8);
        assert_true(session_id_is_valid(id, NULL));
        assert_true(session_id_is_valid("my.session_1+x", NULL));
        assert_false(session_id_is_valid("", &reason));
        assert_false(session_id_is_valid("a/b", &reason));
        assert_string_equal(reason, "contains a character other than letters, digits, '.', '_', '+' and '-'");
        assert_false(session_id_is_valid(".new-x", NULL));
        assert_false(session_id_is_valid("-x", NULL));
        assert_false(session_id_is_valid("a b", NULL));
        assert_false(session_id_is_valid("session:x", NULL));
        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        assert_false(session_id_is_valid(long_id, NULL));
}

static void test_strings(void **state) {
        (void) state;
        for (int k = 0; k < _SESSION_KIND_MAX; k++)
                assert_int_equal(session_kind_from_string(session_kind_to_string(k)), k);
        for (int p = 0; p < _SESSION_PHASE_MAX; p++)
                assert_int_equal(session_phase_from_string(session_phase_to_string(p)), p);
        assert_int_equal(session_kind_from_string("nope"), _SESSION_KIND_INVALID);
        assert_string_equal(session_state_to_string(SESSION_STATE_DEAD), "dead");
        assert_null(session_state_to_string(_SESSION_STATE_MAX));
}

/* Saving and loading in a scratch state directory: the paths come from the id, not from the file. */
static void test_save_load_list(void **state) {
        char tmpl[] = "/tmp/test-session-XXXXXX";
        _cleanup_(session_info_done) SessionInfo a = {};
        _cleanup_(session_info_freep) SessionInfo *b = NULL;
        _cleanup_strv_free_ char **ids = NULL, **kv = NULL;
        _cleanup_free_ char *dir = NULL, *hidden = NULL, *record = NULL;
        SessionPlan p;

        (void) state;
        assert_non_null(mkdtemp(tmpl));
        p = plan_for(tmpl, true, false);
        assert_int_equal(session_info_plan(&p, "bk-1", &a), 0);
        assert_int_equal(mkdir_p(a.dir, 0755), 0);
        assert_int_equal(session_record_save(&a), 0);

        /* A record claiming other paths: ignored for everything a sweep would remove. */
        record = path_join(a.dir, "session.json");
        assert_int_equal(state_read(record, &kv), 0);
        for (char **i = kv; i[0]; i += 2)
                if (streq(i[0], "dir") || streq(i[0], "root")) {
                        free(i[1]);
                        i[1] = strdup("/etc");
                }
        assert_int_equal(state_write(record, kv), 0);
        assert_int_equal(session_info_load(tmpl, "bk-1", &b), 0);
        assert_string_equal(b->dir, a.dir);
        assert_string_equal(b->root, a.root);
        assert_int_equal(session_info_load(tmpl, "bk-2", &b), -ENOENT);
        assert_int_equal(session_info_load(tmpl, "../bk-1", &b), -EINVAL);

        hidden = path_join(tmpl, "sessions", ".new-bk-3-abcdef");
        assert_int_equal(mkdir_p(hidden, 0755), 0);
        assert_int_equal(session_list_ids(tmpl, &ids), 0);
        assert_int_equal(strv_length(ids), 1);
        assert_string_equal(ids[0], "bk-1");

        assert_int_equal(rm_rf(tmpl), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_paths),
                cmocka_unit_test(test_plan_tmpfs_and_kept_upper),
                cmocka_unit_test(test_plan_refuses),
                cmocka_unit_test(test_record_round_trip),
                cmocka_unit_test(test_record_source),
                cmocka_unit_test(test_record_malformed),
                cmocka_unit_test(test_sweep_decide),
                cmocka_unit_test(test_ref_parse),
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_save_load_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
