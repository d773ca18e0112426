/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-init: PID 1 of an arkose-chroot container (lib/container.c bind-mounts it at /dev/.arkose-init).
 *
 *   arkose-init                   idle: reaps orphaned processes until the container is stopped; commands
 *                                 enter the container with attach
 *   arkose-init COMMAND [ARG...]  runs COMMAND as its child, forwards the signals it gets to it, reaps
 *                                 orphans, and when COMMAND exits, exits with COMMAND's status (128 + N
 *                                 when killed by signal N): the kernel then kills whatever is left in the
 *                                 container's PID namespace, whoever owns it
 *
 * It is statically linked and does nothing else, so that starting it costs an exec of a small file: the
 * alternative, liblxc's own init, is a fork of the (large) process that started the container and then
 * needs a second program to run ("sleep infinity") and an attach for the command. It runs with the
 * credentials, capabilities, seccomp filter, working directory and environment liblxc gave the
 * container's init, and passes them on unchanged; its command starts with no signal blocked and every
 * signal's default action. ARKOSE_INIT_SIGNAL_HANGUP from outside the container (arkose-chroot's SIGHUP,
 * through liblxc's monitor, which would turn SIGHUP into SIGTERM) reaches the command as SIGHUP. It
 * writes nothing but one line on stderr when COMMAND cannot be run (exit status 127 when it is missing,
 * 126 otherwise, as shells do). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* lib/container.h's CONTAINER_SIGNAL_HANGUP. */
#define ARKOSE_INIT_SIGNAL_HANGUP (SIGRTMIN + 2)

static int exit_code(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reaps every child that has exited. Returns true when @command (if > 0) was among them, its status in
 * *status. */
static bool reap(pid_t command, int *status) {
        bool found = false;

        for (;;) {
                int s;
                pid_t p = waitpid(-1, &s, WNOHANG);

                if (p <= 0)
                        return found;
                if (p == command) {
                        *status = s;
                        found = true;
                }
        }
}

static pid_t start_command(char **argv) {
        sigset_t none;
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        for (int sig = 1; sig < NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        /* liblxc starts us with the mask its monitor was given (which blocks the signals it forwards
         * until it handles them): none is blocked for the command. */
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        (void) fprintf(stderr, "arkose-init: failed to run '%s': %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
        sigset_t all;
        pid_t command = 0;
        bool stopping = false;
        int status = 0;

        /* Every signal is taken synchronously; none has its default (for PID 1: ignored) effect. */
        (void) sigfillset(&all);
        (void) sigprocmask(SIG_BLOCK, &all, NULL);

        if (argc > 1) {
                command = start_command(argv + 1);
                if (command < 0) {
                        (void) fprintf(stderr, "arkose-init: failed to fork: %s\n", strerror(errno));
                        return 126;
                }
        }

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);

                if (sig < 0)
                        continue;
                if (sig == SIGCHLD) {
                        if (reap(command, &status))
                                return exit_code(status); /* PID 1 exits: the rest is killed */
                        continue;
                }
                if (command > 0) {
                        if (sig == ARKOSE_INIT_SIGNAL_HANGUP && si.si_code == SI_USER && si.si_pid == 0)
                                sig = SIGHUP; /* from outside: arkose-chroot's SIGHUP */
                        (void) kill(command, sig); /* the command decides what a signal means */
                        continue;
                }
                /* Idle: a request to stop ends everything, gently first (as liblxc's init does). */
                if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR || sig == SIGHUP) {
                        if (!stopping)
                                (void) kill(-1, SIGTERM);
                        stopping = true;
                        (void) alarm(1);
                } else if (sig == SIGALRM && stopping)
                        return 0;
        }
}
