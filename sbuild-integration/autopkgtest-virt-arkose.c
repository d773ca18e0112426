/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* autopkgtest-virt-arkose: an autopkgtest virtualisation server whose testbeds are arkose-chroot sessions;
 * serves `autopkgtest PKG -- arkose CHROOT` and sbuild's `--chroot-mode=autopkgtest
 * --autopkgtest-virt-server=arkose`. The protocol is in virt.h; what each request does in virt-testbed.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "virt-testbed.h"
#include "virt.h"

static char *arg_arkose = NULL;
static char *arg_state_dir = NULL;
static char *arg_config_dir = NULL;
static char *arg_session_name = NULL;
static char *arg_user = NULL;
static char *arg_network = NULL;
static char *arg_arch = NULL;
static bool arg_tmpfs = false;
static bool arg_reboot = true;
static bool arg_debug = false;
static const char *arg_chroot = NULL;

static void help(void) {
        printf("Usage: autopkgtest-virt-arkose [OPTIONS] CHROOT\n"
               "\n"
               "autopkgtest virtualisation server: each testbed is an arkose-chroot session of CHROOT,\n"
               "commands run as root in its live container. For autopkgtest (autopkgtest PKG -- arkose\n"
               "CHROOT) and sbuild (--chroot-mode=autopkgtest --autopkgtest-virt-server=arkose\n"
               "--autopkgtest-virt-server-opts=%%r).\n"
               "\n"
               "CHROOT is looked up as sbuild looks chroots up for a distribution: CHROOT-ARCH-sbuild,\n"
               "CHROOT-sbuild, CHROOT-ARCH, CHROOT (the first that has a tree); chroot:NAME and "
               "NAME@VERSION\n"
               "are used as they are.\n"
               "\n"
               "Options:\n"
               "  -d, --debug             log requests and commands on stderr\n"
               "  -s, --session-id ID     the session's id (default CHROOT-xxxxxxxx)\n"
               "  -u, --user USER         advertise USER as suggested-normal-user; the session hooks add "
               "it\n"
               "      --network MODE      the session's network (arkose-chroot --network; default none)\n"
               "      --tmpfs             keep the session's writable layer on a tmpfs\n"
               "      --no-reboot         do not advertise reboot\n"
               "      --arch ARCH         architecture for the chroot lookup (default: dpkg's)\n"
               "      --arkose-chroot PATH  arkose-chroot to run (default: the one beside this program,\n"
               "                          else %s/arkose-chroot)\n"
               "      --state-dir DIR     arkose-chroot's state directory (default $ARKOSE_STATE_DIR)\n"
               "      --config-dir DIR    arkose-chroot's configuration directory (default "
               "$ARKOSE_CONFIG_DIR)\n"
               "  -h, --help              this text\n"
               "      --version           the version\n",
               ARKOSE_BINDIR);
}

enum {
        ARG_NETWORK = 0x100,
        ARG_TMPFS,
        ARG_NO_REBOOT,
        ARG_ARCH,
        ARG_ARKOSE,
        ARG_STATE_DIR,
        ARG_CONFIG_DIR,
        ARG_VERSION,
};

static int set_arg(char **arg, const char *value) {
        free(*arg);
        *arg = strdup(value);
        return *arg ? 0 : log_oom();
}

static int parse_options(int argc, char **argv) {
        static const struct option options[] = {
                { "debug", no_argument, NULL, 'd' },
                { "session-id", required_argument, NULL, 's' },
                { "user", required_argument, NULL, 'u' },
                { "network", required_argument, NULL, ARG_NETWORK },
                { "tmpfs", no_argument, NULL, ARG_TMPFS },
                { "no-reboot", no_argument, NULL, ARG_NO_REBOOT },
                { "arch", required_argument, NULL, ARG_ARCH },
                { "arkose-chroot", required_argument, NULL, ARG_ARKOSE },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "+ds:u:h", options, NULL)) >= 0) {
                switch (c) {
                case 'd':
                        arg_debug = true;
                        break;
                case 's':
                        r = set_arg(&arg_session_name, optarg);
                        break;
                case 'u':
                        r = set_arg(&arg_user, optarg);
                        break;
                case ARG_NETWORK:
                        r = set_arg(&arg_network, optarg);
                        break;
                case ARG_TMPFS:
                        arg_tmpfs = true;
                        break;
                case ARG_NO_REBOOT:
                        arg_reboot = false;
                        break;
                case ARG_ARCH:
                        r = set_arg(&arg_arch, optarg);
                        break;
                case ARG_ARKOSE:
                        r = set_arg(&arg_arkose, optarg);
                        break;
                case ARG_STATE_DIR:
                        r = set_arg(&arg_state_dir, optarg);
                        break;
                case ARG_CONFIG_DIR:
                        r = set_arg(&arg_config_dir, optarg);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("autopkgtest-virt-arkose %s\n", ARKOSE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind != argc - 1) {
                log_error("Expected one CHROOT argument (see --help)");
                return -EINVAL;
        }
        arg_chroot = argv[optind];
        return 1;
}

/* An absolute path: sbuild runs the execute command with PATH cleared, from another directory. */
static int absolutize(char **p) {
        _cleanup_free_ char *cwd = NULL;
        char *abs;

        if (!*p || path_is_absolute(*p))
                return 0;
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return log_error_errno(-errno, "Failed to get the current directory: %m");
        abs = path_join(cwd, *p);
        if (!abs)
                return log_oom();
        free(*p);
        *p = abs;
        return 0;
}

/* Completes the options from the environment: the directories arkose-chroot would take from
 * ARKOSE_STATE_DIR and ARKOSE_CONFIG_DIR (sbuild filters the environment of the execute command, so
 * they go on its command line), and arkose-chroot itself. */
static int resolve_paths(void) {
        const char *e;
        int r;

        if (!arg_state_dir && !isempty(e = secure_getenv("ARKOSE_STATE_DIR")) &&
            set_arg(&arg_state_dir, e) < 0)
                return -ENOMEM;
        if (!arg_config_dir && !isempty(e = secure_getenv("ARKOSE_CONFIG_DIR")) &&
            set_arg(&arg_config_dir, e) < 0)
                return -ENOMEM;
        if (!arg_arkose) {
                char self[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                char *slash;

                if (n > 0) {
                        self[n] = '\0';
                        slash = strrchr(self, '/');
                        if (slash) {
                                *slash = '\0';
                                arg_arkose = path_join(self, "arkose-chroot");
                                if (arg_arkose && access(arg_arkose, X_OK) < 0)
                                        arg_arkose = mfree(arg_arkose);
                        }
                }
                if (!arg_arkose && set_arg(&arg_arkose, ARKOSE_BINDIR "/arkose-chroot") < 0)
                        return -ENOMEM;
        }
        r = absolutize(&arg_arkose);
        if (r >= 0)
                r = absolutize(&arg_state_dir);
        if (r >= 0)
                r = absolutize(&arg_config_dir);
        return r;
}

static void signal_handler(int sig) {
        testbed_signal_received(sig);
}

/* SIGTERM, SIGINT and SIGHUP: close the testbed, then die of the signal. SIGPIPE is ignored: a client that
 * went away is seen as EOF or a failed write. */
static int signals_setup(void) {
        struct sigaction sa = { .sa_handler = signal_handler };
        const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
        int r;

        r = testbed_signals_init();
        if (r < 0)
                return log_error_errno(r, "Failed to set up signal handling: %m");
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                (void) sigaction(sigs[i], &sa, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
        return 0;
}

/* Request lines from stdin, read with read(2) rather than stdio, so that poll() sees what is buffered. */
typedef struct LineReader {
        char *buf;
        size_t len;
        size_t size;
        bool eof;
} LineReader;

static void line_reader_done(LineReader *lr) {
        lr->buf = mfree(lr->buf);
}

/* The next line (without its newline; the last one may lack it) in *ret. Returns 1, 0 at the end of input,
 * -EINTR when a terminating signal came, or -errno. */
static int read_line(LineReader *lr, char **ret) {
        for (;;) {
                struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
                                       { .fd = testbed_wake_fd(), .events = POLLIN } };
                char *nl = lr->len > 0 ? memchr(lr->buf, '\n', lr->len) : NULL;
                ssize_t k;

                if (testbed_signal_pending())
                        return -EINTR;
                if (nl || (lr->eof && lr->len > 0)) {
                        size_t n = nl ? (size_t) (nl - lr->buf) : lr->len;

                        *ret = strndup(lr->buf, n);
                        if (!*ret)
                                return -ENOMEM;
                        n = nl ? n + 1 : n;
                        memmove(lr->buf, lr->buf + n, lr->len - n);
                        lr->len -= n;
                        return 1;
                }
                if (lr->eof)
                        return 0;
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents) {
                        char buf[64];
                        while (read(p[1].fd, buf, sizeof(buf)) > 0)
                                ; /* a signal (checked at the top) or a child's end */
                        continue;
                }
                if (lr->size - lr->len < 4096) {
                        char *b = realloc(lr->buf, lr->size + 65536);
                        if (!b)
                                return -ENOMEM;
                        lr->buf = b;
                        lr->size += 65536;
                }
                k = read(STDIN_FILENO, lr->buf + lr->len, lr->size - lr->len);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        lr->eof = true;
                lr->len += (size_t) k;
        }
}

/* Writes one reply line. Returns 0 or -errno (-EPIPE when the client is gone). */
static int reply(const char *line) {
        _cleanup_free_ char *l = strdup_printf("%s\n", line);

        if (!l)
                return -ENOMEM;
        log_debug("Reply: %s", line);
        return write_all(STDOUT_FILENO, l, strlen(l));
}

static VirtCaps capabilities(void) {
        return VIRT_CAP_REVERT | VIRT_CAP_REVERT_FULL_SYSTEM | VIRT_CAP_ROOT_ON_TESTBED |
               (arg_reboot ? VIRT_CAP_REBOOT : 0);
}

/* Serves one checked request. Returns 0 and the reply line in *ret (NULL: none, for quit), or -errno for a
 * fatal failure (logged). Soft failures are replies that do not start with "ok". */
static int serve(Testbed *t, const VirtRequest *req, char **ret) {
        _cleanup_strv_free_ char **words = NULL;
        char *scratch[2] = {};
        int r;

        switch (req->command) {
        case VIRT_CAPABILITIES:
                if (virt_capabilities(capabilities(), arg_user, &words) < 0)
                        return log_oom();
                *ret = virt_reply_ok(words);
                break;
        case VIRT_OPEN:
        case VIRT_REVERT:
                r = req->command == VIRT_OPEN ? testbed_open(t) : testbed_revert(t);
                if (r < 0)
                        return r;
                scratch[0] = (char *) testbed_scratch(t);
                *ret = virt_reply_ok(scratch);
                break;
        case VIRT_REBOOT:
                r = testbed_reboot(t, strv_length(req->args) > 0);
                if (r < 0)
                        return r;
                *ret = virt_reply_ok(NULL);
                break;
        case VIRT_CLOSE:
                r = testbed_close(t);
                if (r < 0)
                        return r;
                *ret = virt_reply_ok(NULL);
                break;
        case VIRT_QUIT:
                (void) testbed_close(t);
                *ret = NULL;
                return 0;
        case VIRT_PRINT_EXECUTE_COMMAND:
                *ret = virt_reply_execute_command(testbed_execute_argv(t));
                break;
        case VIRT_COPYDOWN:
        case VIRT_COPYUP:
                r = testbed_copy(t, req->command == VIRT_COPYUP, virt_copy_is_directory(req), req->args[0],
                                 req->args[1]);
                if (r == -EINTR || r == -ENOMEM)
                        return r;
                *ret = strdup(r == -ETIME ? "timeout" : r < 0 ? "copy-failed" : "ok");
                break;
        case VIRT_SHELL:
                r = testbed_shell(t, req->args[0], req->args + 1);
                if (r == -EINTR || r == -ENOMEM)
                        return r;
                *ret = virt_reply_ok(NULL);
                break;
        case VIRT_AUXVERB_DEBUG_FAIL:
                (void) testbed_debug_fail(t);
                *ret = virt_reply_ok(NULL);
                break;
        default:
                return log_error_errno(-EBADRQC, "Unhandled request");
        }
        return *ret ? 0 : log_oom();
}

/* The request loop. Returns the exit status, or -EINTR for a terminating signal. */
static int run(Testbed *t) {
        _cleanup_(line_reader_done) LineReader lr = {};
        VirtState state = VIRT_STATE_CLOSED;
        int r;

        if (reply("ok") < 0)
                return VIRT_EXIT_FAILURE;
        while (state != VIRT_STATE_QUIT) {
                _cleanup_(virt_request_done) VirtRequest req = {};
                _cleanup_free_ char *line = NULL, *reason = NULL, *out = NULL;

                r = read_line(&lr, &line);
                if (r == -EINTR)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "Failed to read a request: %m"), VIRT_EXIT_FAILURE;
                if (r == 0) {
                        /* End of input: the client is gone (sbuild starts us under setsid(), so nothing else
                         * tells us). Close, then exit. */
                        log_debug("End of input");
                        return testbed_close(t) < 0 ? VIRT_EXIT_FAILURE : 0;
                }
                r = virt_request_parse(line, &req, &reason);
                if (r == -ENODATA)
                        continue;
                if (r == -ENOMEM)
                        return log_oom(), VIRT_EXIT_FAILURE;
                log_debug("Request: %s", strstrip(line));
                if (r >= 0)
                        r = virt_request_check(&req, state, capabilities(), &reason);
                if (r < 0) {
                        log_error("Failure: %s", reason ?: "bad request");
                        return VIRT_EXIT_FAILURE;
                }
                r = serve(t, &req, &out);
                if (r == -EINTR)
                        return r;
                if (r < 0)
                        return VIRT_EXIT_FAILURE;
                if (out && reply(out) < 0) {
                        log_error("Failed to reply: the client is gone");
                        return VIRT_EXIT_FAILURE;
                }
                if (out && !startswith(out, "ok"))
                        continue; /* a soft failure changes no state */
                state = virt_state_next(state, req.command);
        }
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(testbed_freep) Testbed *t = NULL;
        int r;

        log_set_prefix("autopkgtest-virt-arkose");
        r = parse_options(argc, argv);
        if (r <= 0)
                return r < 0 ? VIRT_EXIT_FAILURE : 0;
        if (arg_debug)
                log_set_max_level(LOG_DEBUG);
        if (resolve_paths() < 0)
                return VIRT_EXIT_FAILURE;

        VirtPlan plan = {
                .arkose = arg_arkose,
                .state_dir = arg_state_dir,
                .config_dir = arg_config_dir,
                .session_name = arg_session_name,
                .user = arg_user,
                .network = arg_network,
                .tmpfs = arg_tmpfs,
                .quiet = !arg_debug,
        };
        const char *timeout = secure_getenv("AUTOPKGTEST_VIRT_COPY_TIMEOUT");
        t = testbed_new(&plan, arg_chroot, arg_arch, timeout ? (unsigned) strtoul(timeout, NULL, 10) : 300);
        if (!t)
                return log_oom(), VIRT_EXIT_FAILURE;

        if (signals_setup() < 0)
                return VIRT_EXIT_FAILURE;
        r = run(t);
        if (r == -EINTR) {
                int sig = testbed_signal_take();

                /* Close the testbed, then die of the signal, as the client expects of a killed server. */
                t = testbed_free(t);
                (void) signal(sig, SIG_DFL);
                (void) raise(sig);
                return 128 + sig;
        }
        return r;
}
