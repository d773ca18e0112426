/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "config.h"
#include "unpack.h"

static int join_words(char *const *l, char **ret) {
        size_t len = 0;
        char *s;

        for (char *const *i = l; i && *i; i++) {
                if (strpbrk(*i, ", \t\n"))
                        return -EINVAL;
                len += strlen(*i) + 1;
        }
        s = calloc(1, len + 1);
        if (!s)
                return -ENOMEM;
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        strcat(s, ",");
                strcat(s, *i);
        }
        *ret = s;
        return 0;
}

static bool tool_is_mmdebstrap(const DebootstrapPlan *plan) {
        return plan->tool && streq(plan->tool, "mmdebstrap");
}

int unpack_debootstrap_argv(const DebootstrapPlan *plan, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        bool mm;
        int r;

        if (!plan || isempty(plan->suite) || isempty(plan->mirror) || !path_is_absolute(plan->target) ||
            plan->suite[0] == '-' || plan->mirror[0] == '-' || (plan->script && (isempty(plan->script) ||
            plan->script[0] == '-')))
                return -EINVAL;
        if (plan->tool && !chroot_bootstrap_is_valid(plan->tool))
                return -EINVAL;
        mm = tool_is_mmdebstrap(plan);

        r = strv_extend(&argv, mm ? "mmdebstrap" : "debootstrap");
        if (r < 0)
                return r;
        if (mm && (strv_extend(&argv, "--mode=root") < 0 || strv_extend(&argv, "--format=directory") < 0 ||
                   strv_extend(&argv, "--skip=cleanup/apt/lists") < 0))
                return -ENOMEM;
        if (plan->variant && (mm || !streq(plan->variant, "default"))) {
                r = strv_extendf(&argv, "--variant=%s",
                                 mm && streq(plan->variant, "default") ? "debootstrap" : plan->variant);
                if (r < 0)
                        return r;
        }
        if (plan->architecture) {
                r = strv_extendf(&argv, mm ? "--architectures=%s" : "--arch=%s", plan->architecture);
                if (r < 0)
                        return r;
        }
        if (strv_length(plan->components) > 0) {
                _cleanup_free_ char *c = NULL;
                r = join_words(plan->components, &c);
                if (r < 0)
                        return r;
                r = strv_extendf(&argv, "--components=%s", c);
                if (r < 0)
                        return r;
        }
        if (strv_length(plan->packages) > 0) {
                _cleanup_free_ char *p = NULL;
                r = join_words(plan->packages, &p);
                if (r < 0)
                        return r;
                r = strv_extendf(&argv, "--include=%s", p);
                if (r < 0)
                        return r;
        }
        if (plan->keyring) {
                r = strv_extendf(&argv, "--keyring=%s", plan->keyring);
                if (r < 0)
                        return r;
        }
        /* debootstrap takes no "--" (mmdebstrap does): the suite and mirror were checked not to look like
         * options. */
        if ((mm && strv_extend(&argv, "--") < 0) || strv_extend(&argv, plan->suite) < 0 ||
            strv_extend(&argv, plan->target) < 0 || strv_extend(&argv, plan->mirror) < 0 ||
            (!mm && plan->script && strv_extend(&argv, plan->script) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

static _noreturn_ void debootstrap_child(char **argv, int out_fd, int inherit_fd, pid_t parent) {
        sigset_t all;
        int null_fd;

        /* It must not outlive us: a create killed (SIGKILL) would leave it writing into a staging directory
         * that the next command sweeps. SIGTERM, which both tools clean up after (mmdebstrap unmounts what
         * it mounted in the tree); what they leave, the sweep removes. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(127);
        /* And while it (or a child of its that keeps it) runs, the caller's lock stays held. */
        if (inherit_fd > STDERR_FILENO && fcntl(inherit_fd, F_SETFD, 0) < 0)
                _exit(127);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                (void) signal(sig, SIG_DFL);

        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(out_fd, STDERR_FILENO) < 0)
                _exit(127);
        /* A sane environment: the tool runs maintainer scripts with it. */
        const char *epoch = getenv("SOURCE_DATE_EPOCH");
        _cleanup_free_ char *epoch_env = NULL;
        if (!isempty(epoch) && strspn(epoch, "0123456789") == strlen(epoch) && strlen(epoch) < 20)
                epoch_env = strdup_printf("SOURCE_DATE_EPOCH=%s", epoch);
        char *envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         (char *) "LC_ALL=C.UTF-8", (char *) "DEBIAN_FRONTEND=noninteractive", (char *) "HOME=/root",
                         epoch_env, NULL };
        execvpe(argv[0], argv, envp);
        int e = errno;
        fprintf(stderr, "E: Failed to execute %s: %s\n", argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126); /* as a shell says "not found" and "cannot execute" */
}

/* Progress goes to stdout, so that stderr carries only the one-line error of a failure.
 * Shows debootstrap's "I: Verb ..." lines: on a terminal as one line rewritten in place, otherwise only
 * when the verb (the stage) changes, so that logs stay short. */
static void show_progress(const char *line, bool tty, char *last_stage, size_t stage_len) {
        const char *msg = line + 3;
        size_t verb = strcspn(msg, " ");

        if (tty) {
                printf("\r\033[K%.*s", 100, msg);
                fflush(stdout);
                return;
        }
        if (verb < stage_len && strncmp(last_stage, msg, verb) == 0 && last_stage[verb] == '\0')
                return;
        snprintf(last_stage, stage_len, "%.*s", (int) verb, msg);
        printf("  %s\n", msg);
        fflush(stdout);
}

int unpack_debootstrap_run(const DebootstrapPlan *plan, const char *log_path, UnpackChildNotify notify,
                           char **ret_reason) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_fclose_ FILE *log = NULL, *out = NULL;
        _cleanup_free_ char *line = NULL, *reason = NULL;
        char stage[64] = "";
        size_t cap = 0;
        bool tty = isatty(STDOUT_FILENO);
        int pipefd[2], status, r;
        pid_t pid, parent;

        r = unpack_debootstrap_argv(plan, &argv);
        if (r < 0)
                return r;

        log = fopen(log_path, "we");
        if (!log)
                return -errno;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) close(pipefd[0]);
                (void) close(pipefd[1]);
                return r;
        }
        if (pid == 0)
                debootstrap_child(argv, pipefd[1], plan->inherit_fd, parent);
        (void) close(pipefd[1]);
        if (notify)
                notify(pid);

        out = fdopen(pipefd[0], "re");
        if (!out) {
                (void) close(pipefd[0]);
                (void) kill(pid, SIGTERM);
        }
        while (out) {
                ssize_t n = getline(&line, &cap, out);
                if (n < 0) {
                        if (errno == EINTR) {
                                clearerr(out);
                                continue;
                        }
                        break;
                }
                fputs(line, log);
                if (n > 0 && line[n - 1] == '\n')
                        line[n - 1] = '\0';
                if (startswith(line, "I: "))
                        show_progress(line, tty, stage, sizeof(stage));
                else if (startswith(line, "E: ") && (!reason || !tool_is_mmdebstrap(plan))) {
                        free(reason);
                        reason = strdup(line);
                }
        }
        if (tty) {
                fputs("\r\033[K", stdout);
                fflush(stdout);
        }

        r = pid_wait(pid, &status);
        if (r < 0)
                return r;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && (WEXITSTATUS(status) == 127 || WEXITSTATUS(status) == 126) && reason &&
            startswith(reason, "E: Failed to execute "))
                return WEXITSTATUS(status) == 127 ? -ENOENT : -EACCES;
        if (ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return WIFSIGNALED(status) ? -EINTR : -EPROTO;
}
