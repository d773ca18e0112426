/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [runtime]'s plan of sockets and the environment it gives a session's commands (lib/runtime-dir.h), in a
 * mkdtemp() session directory; no root, no socket opened. */
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
#include <unistd.h>

#include "base/util.h"
#include "runtime-dir.h"

static const RuntimeSocket *find_socket(const RuntimePlan *p, const char *name) {
        for (size_t i = 0; i < p->n_sockets; i++)
                if (streq(p->sockets[i].name, name))
                        return &p->sockets[i];
        return NULL;
}

static void plan(char **sockets, const RuntimeCaller *caller, RuntimePlan *ret) {
        Profile profile = { .runtime_sockets = sockets, .runtime_dir = true, .dbus = PROFILE_DBUS_NONE };

        assert_int_equal(runtime_plan_make(&profile, "u", 1000, 1000, caller, ret), 0);
}

static void test_plan_sockets(void **state) {
        char *sockets[] = { (char *) PROFILE_SOCKET_WAYLAND, (char *) "pulse/native", (char *) PROFILE_SOCKET_SSH_AGENT,
                            NULL };
        RuntimeCaller caller = {
                .host_dir = "/run/user/1000",
                .wayland_display = "wayland-1",
                .ssh_auth_sock = "/nonexistent/ssh-XXXX/agent.42",
        };
        _cleanup_(runtime_plan_done) RuntimePlan p = {};
        const RuntimeSocket *s;
        (void) state;

        plan(sockets, &caller, &p);
        assert_int_equal(p.n_sockets, 3);
        /* Wayland: the caller's display, bound under the name programs look for by default. */
        s = find_socket(&p, RUNTIME_WAYLAND_SOCKET);
        assert_non_null(s);
        assert_string_equal(s->path, "/run/user/1000/wayland-1");
        s = find_socket(&p, "pulse/native");
        assert_non_null(s);
        assert_string_equal(s->path, "/run/user/1000/pulse/native");
        /* The agent: wherever $SSH_AUTH_SOCK is (not below the runtime directory); a path that does not
         * resolve is kept as it is (it is skipped, silently, when the directory is made). */
        s = find_socket(&p, RUNTIME_SSH_AGENT_SOCKET);
        assert_non_null(s);
        assert_string_equal(s->path, "/nonexistent/ssh-XXXX/agent.42");
        assert_null(p.dbus_address);
}

static void test_plan_no_agent(void **state) {
        char *sockets[] = { (char *) PROFILE_SOCKET_SSH_AGENT, (char *) PROFILE_SOCKET_WAYLAND, NULL };
        const char *bad[] = { NULL, "", "relative/agent.sock" };
        (void) state;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                RuntimeCaller caller = { .host_dir = "/run/user/1000", .ssh_auth_sock = bad[i] };
                _cleanup_(runtime_plan_done) RuntimePlan p = {};

                plan(sockets, &caller, &p);
                /* No agent: nothing planned for it; Wayland falls back to wayland-0. */
                assert_int_equal(p.n_sockets, 1);
                assert_string_equal(p.sockets[0].name, RUNTIME_WAYLAND_SOCKET);
                assert_string_equal(p.sockets[0].path, "/run/user/1000/wayland-0");
        }
}

static void test_plan_agent_link(void **state) {
        char d[] = "/tmp/arkose-unit-XXXXXX", *sockets[] = { (char *) PROFILE_SOCKET_SSH_AGENT, NULL };
        _cleanup_free_ char *target = NULL, *link = NULL;
        _cleanup_(runtime_plan_done) RuntimePlan p = {};
        RuntimeCaller caller = { .host_dir = "/run/user/1000" };
        int fd;
        (void) state;

        assert_non_null(mkdtemp(d));
        target = path_join(d, "agent.sock");
        link = path_join(d, "link");
        fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(symlink(target, link), 0);
        caller.ssh_auth_sock = link;

        plan(sockets, &caller, &p);
        assert_int_equal(p.n_sockets, 1);
        /* A link (tmux's ~/.ssh/agent.sock) is planned as what it leads to. */
        assert_string_equal(p.sockets[0].path, target);

        assert_int_equal(unlink(link), 0);
        assert_int_equal(unlink(target), 0);
        assert_int_equal(rmdir(d), 0);
}

static void test_user_path(void **state) {
        _cleanup_free_ char *own = runtime_dir_user_path("/s/ID", 1000, 1000);
        _cleanup_free_ char *joiner = runtime_dir_user_path("/s/ID", 1001, 1000);
        (void) state;

        /* The session's user's directory, and one per user who joins. */
        assert_string_equal(own, "/s/ID/" RUNTIME_DIR_NAME);
        assert_string_equal(joiner, "/s/ID/" RUNTIME_DIR_NAME "-1001");
}

static const char *env_get(char **env, const char *name) {
        size_t n = strlen(name);

        for (char **e = env; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static void test_env(void **state) {
        char d[] = "/tmp/arkose-unit-XXXXXX";
        _cleanup_free_ char *rt = NULL, *agent = NULL, *wayland = NULL;
        _cleanup_strv_free_ char **env = NULL;
        int fd;
        (void) state;

        assert_non_null(mkdtemp(d));
        rt = runtime_dir_user_path(d, 1000, 1000);
        assert_string_equal(rt + strlen(d), "/" RUNTIME_DIR_NAME);
        agent = path_join(rt, RUNTIME_SSH_AGENT_SOCKET);
        wayland = path_join(rt, RUNTIME_WAYLAND_SOCKET);

        /* No runtime directory: the caller's values go (they would name nothing inside), but the agent a
         * profile keeps (a socket below a bound home still works) stays. */
        assert_int_equal(strv_extend(&env, "WAYLAND_DISPLAY=wayland-1"), 0);
        assert_int_equal(strv_extend(&env, "SSH_AUTH_SOCK=/home/u/.ssh/agent"), 0);
        assert_int_equal(strv_extend(&env, "XDG_RUNTIME_DIR=/run/user/1000"), 0);
        assert_int_equal(runtime_dir_env(rt, 1000, &env), 0);
        assert_null(env_get(env, "XDG_RUNTIME_DIR"));
        assert_null(env_get(env, "WAYLAND_DISPLAY"));
        assert_string_equal(env_get(env, "SSH_AUTH_SOCK"), "/home/u/.ssh/agent");

        /* A runtime directory with the agent bound (here a file stands for the bind): SSH_AUTH_SOCK names
         * it, once. */
        assert_int_equal(mkdir(rt, 0700), 0);
        fd = open(agent, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(runtime_dir_env(rt, 1000, &env), 0);
        assert_string_equal(env_get(env, "XDG_RUNTIME_DIR"), "/run/user/1000");
        assert_string_equal(env_get(env, "SSH_AUTH_SOCK"), "/run/user/1000/" RUNTIME_SSH_AGENT_SOCKET);
        assert_null(env_get(env, "WAYLAND_DISPLAY"));
        assert_null(env_get(env, "DBUS_SESSION_BUS_ADDRESS"));
        assert_int_equal(strv_length(env), 2);

        fd = open(wayland, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(runtime_dir_env(rt, 1000, &env), 0);
        assert_string_equal(env_get(env, "WAYLAND_DISPLAY"), RUNTIME_WAYLAND_SOCKET);

        assert_int_equal(unlink(wayland), 0);
        assert_int_equal(unlink(agent), 0);
        assert_int_equal(rmdir(rt), 0);
        assert_int_equal(rmdir(d), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_sockets),
                cmocka_unit_test(test_plan_no_agent),
                cmocka_unit_test(test_plan_agent_link),
                cmocka_unit_test(test_user_path),
                cmocka_unit_test(test_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
