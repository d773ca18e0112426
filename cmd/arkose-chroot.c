/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* arkose-chroot: entry point, option parsing and dispatch to verbs. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "arch.h"
#include "arkose-chroot.h"
#include "base/log.h"
#include "base/util.h"
#include "buildplan.h"
#include "session.h"
#include "store.h"

/* Session options, read by arkose-chroot-session.c. */
char *arg_chroot = NULL;
char *arg_user = NULL;
char *arg_directory = NULL;
bool arg_preserve_env = false;
bool arg_usage_error = false;
bool arg_tmpfs = false;
char *arg_network = NULL;
char *arg_command = NULL;
int arg_keep = -1;
char *arg_sha256 = NULL;
char *arg_schroot_config = NULL;
bool arg_dry_run = false;
char *arg_profile = NULL;
char **arg_binds = NULL;
SessionAction arg_action = SESSION_ACTION_AUTOMATIC;
char *arg_session_name = NULL;
bool arg_all_chroots = false;
bool arg_all_source_chroots = false;
bool arg_all_sessions = false;
bool arg_json = false;
int arg_error_status = 1;
bool arg_autopkgtest = false;
bool arg_isolate_network = false;

static char *arg_state_dir = NULL;
static char *arg_config_dir = NULL;
static char *arg_mirror = NULL;
static char *arg_bootstrap = NULL;
static bool arg_list = false;
static bool arg_info = false;

static volatile sig_atomic_t forward_pid = 0;
static volatile sig_atomic_t forward_hangup = SIGHUP;
static volatile sig_atomic_t pending_signal = 0;
static volatile sig_atomic_t keep_hangup = 0;   /* keep SIGHUP out of every signal mask set */
static sigset_t forward_saved_mask;             /* while forwarding to ourselves (container_run()) */

/* While this process is a container's monitor (container_run(), signals forwarded to ourselves), liblxc
 * blocks every signal and takes them from a signalfd, passing them on to the container's init, but SIGHUP,
 * which it turns into SIGTERM. So that SIGHUP reaches the command as SIGHUP, it is then kept out of the
 * masks liblxc sets: signal_handler() takes it first and sends us CONTAINER_SIGNAL_HANGUP, which liblxc
 * passes on unchanged and arkose-init turns back into SIGHUP. These definitions take the place of libc's
 * for liblxc too (a shared library's references resolve to the executable's definitions first); they set
 * the mask with the system call, as libc does, and like libc never block its own two signals (32 and 33:
 * thread cancellation and setxid). Otherwise they do what libc's do. */
static int set_signal_mask(int how, const sigset_t *set, sigset_t *old) {
        sigset_t copy;

        if (set && how != SIG_UNBLOCK) {
                copy = *set;
                copy.__val[0] &= ~((1UL << (32 - 1)) | (1UL << (33 - 1)));
                if (keep_hangup)
                        (void) sigdelset(&copy, SIGHUP);
                set = &copy;
        }
        return syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8) < 0 ? errno : 0;
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
        return set_signal_mask(how, set, old);
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
        int r = set_signal_mask(how, set, old);

        if (r == 0)
                return 0;
        errno = r;
        return -1;
}

/* SIGPIPE's: nothing. The write that raised it fails with EPIPE. */
static void sigpipe_handler(_unused_ int sig) {
}

static void signal_handler(int sig) {
        pid_t pid = forward_pid;

        if (pending_signal == 0)
                pending_signal = sig;
        if (pid > 0)
                (void) kill(pid, sig == SIGHUP ? forward_hangup : sig);
}

/* The kernel's copy of the command line, which /proc/PID/cmdline (ps) reads: main()'s argument strings. */
static char *cmdline_start = NULL;
static size_t cmdline_size = 0;

void process_set_title(const char *title) {
        size_t n = strlen(title);

        if (!cmdline_start || cmdline_size == 0)
                return;
        if (n >= cmdline_size)
                n = cmdline_size - 1;
        memcpy(cmdline_start, title, n);
        memset(cmdline_start + n, 0, cmdline_size - n);
}

/* The signals passed on to the command: autopkgtest's execute command also takes SIGUSR1 and SIGUSR2. */
void signals_forwarded(sigset_t *ret) {
        (void) sigemptyset(ret);
        (void) sigaddset(ret, SIGINT);
        (void) sigaddset(ret, SIGTERM);
        (void) sigaddset(ret, SIGHUP);
        (void) sigaddset(ret, SIGQUIT);
        if (arg_autopkgtest) {
                (void) sigaddset(ret, SIGUSR1);
                (void) sigaddset(ret, SIGUSR2);
        }
}

void signals_install(void) {
        struct sigaction sa = { .sa_handler = signal_handler, .sa_flags = SA_RESTART };
        sigset_t set;

        sigemptyset(&sa.sa_mask);
        signals_forwarded(&set);
        for (int sig = 1; sig < NSIG; sig++)
                if (sigismember(&set, sig) == 1)
                        (void) sigaction(sig, &sa, NULL);
}

void signals_forward_to(pid_t pid) {
        /* liblxc's attach sets SIGINT and SIGQUIT to SIG_IGN in the caller (as system() does) while it
         * starts the command; ours must reach the command, so take them back. */
        if (pid > 0)
                signals_install();
        forward_pid = pid;
        /* A signal that came before the child existed still reaches it. */
        if (pid > 0 && pending_signal != 0)
                (void) kill(pid, pending_signal == SIGHUP ? forward_hangup : pending_signal);
}

void signals_forward_child(pid_t pid, int hangup_signal) {
        bool self = pid > 0 && pid == getpid();

        if (self) {
                /* The container's monitor, liblxc, takes them from here (see set_signal_mask()). */
                sigset_t forwarded;
                const int sigs[] = { SIGINT, SIGTERM, SIGQUIT, hangup_signal };

                /* What liblxc has not taken before it ends is dropped, not the end of us. */
                if (hangup_signal != SIGHUP)
                        (void) signal(hangup_signal, SIG_IGN);
                (void) sigemptyset(&forwarded);
                for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                        (void) sigaddset(&forwarded, sigs[i]);
                (void) sigprocmask(SIG_BLOCK, &forwarded, &forward_saved_mask);
                keep_hangup = 1;
        }
        if (pid == 0 && keep_hangup) {
                keep_hangup = 0;
                forward_pid = 0;
                (void) sigprocmask(SIG_SETMASK, &forward_saved_mask, NULL);
        }
        forward_hangup = pid > 0 && hangup_signal > 0 ? hangup_signal : SIGHUP;
        signals_forward_to(pid);
}

void test_pause_point(const char *point) {
        const char *want = secure_getenv("ARKOSE_TEST_PAUSE_AT");

        if (want && streq(want, point)) {
                fprintf(stderr, "arkose-chroot: pausing at '%s' (ARKOSE_TEST_PAUSE_AT)\n", point);
                (void) raise(SIGSTOP);
        }
}

int signals_pending(void) {
        return pending_signal;
}

static void help(void) {
        printf("Usage:\n"
               "  arkose-chroot -c NAME[@VERSION] [-u USER] [-d DIR] [-p] [--tmpfs] [--isolate-network] [--]\n"
               "        [COMMAND [ARG...]]\n"
               "  arkose-chroot -c NAME[@VERSION] --begin-session [-n SESSION] [-d DIR] [--tmpfs]  prints the id\n"
               "  arkose-chroot -c SESSION --run-session [-u USER] [-d DIR] [-p] [--isolate-network] [--]\n"
               "        [COMMAND [ARG...]]\n"
               "  arkose-chroot -c SESSION --end-session | --recover-session\n"
               "  arkose-chroot sessions [--json]             sessions and their state\n"
               "  arkose-chroot recover                       remove what killed sessions and builds left behind\n"
               "  arkose-chroot create NAME [--mirror URL] [--bootstrap debootstrap|mmdebstrap]\n"
               "  arkose-chroot list              (also -l / --list)\n"
               "  arkose-chroot info NAME[@VERSION]  (also -i / --info [-c NAME])\n"
               "  arkose-chroot update NAME [--command CMD]   new version: apt upgrade, or CMD\n"
               "  arkose-chroot rollback NAME [VERSION]       make an earlier version current\n"
               "  arkose-chroot diff NAME@A NAME@B             packages added, removed, changed\n"
               "  arkose-chroot remove NAME[@VERSION]\n"
               "  arkose-chroot gc [--keep N] [NAME...]       remove versions nothing needs\n"
               "  arkose-chroot squash NAME[@VERSION]         flatten a layered version into a full tree\n"
               "  arkose-chroot apparmor-profile PROFILE      print the AppArmor profile generated for it\n"
               "  arkose-chroot start NAME | stop NAME          the shared container of a persistent chroot\n"
               "  arkose-chroot build [-c NAME | -d DIST] [--arch A] [--host A] [--output DIR] [-A] [--no-arch-all]\n"
               "        [--no-arch-any] [-s|--source] [--jobs N] [--profiles P] [--extra-package P]\n"
               "        [--extra-repository 'deb URI SUITE COMP'] [--extra-repository-key FILE] [--keep-session]\n"
               "        [--purge[-build|-session] always|never|successful]\n"
               "        [--make-binNMU TEXT [--binNMU N] | --append-to-version SUFFIX] [-m MAINTAINER]\n"
               "        [--debbuildopts OPTS] [-s --source-only-changes] [--json] [--NAME-commands CMD]\n"
               "        [PKG.dsc | URL | SOURCE_DIR | PKG[_VERSION]]...\n"
               "  arkose-chroot export NAME[@VERSION] FILE    .tar, .tar.gz, .tar.xz or .tar.zst\n"
               "  arkose-chroot import NAME FILE|DIR|URL [--sha256 HEX]   a new version, or a new chroot\n"
               "  arkose-chroot import-schroot [--schroot-config DIR] [--dry-run] [NAME...]\n"
               "                                              schroot's chroots as definitions\n"
               "\n"
               "Runs COMMAND (default: the user's login shell) in a throw-away session of a cached chroot\n"
               "tree: an LXC container over a copy-on-write overlay, with networking off.\n"
               "\n"
               "Options:\n"
               "  -c, --chroot NAME       chroot to use (NAME, an alias, or NAME@VERSION; chroot:NAME),\n"
               "                          or a session (ID or session:ID); without it: default-chroot\n"
               "                          in arkose.conf, else the chroot or alias 'default';\n"
               "                          source:NAME: the tree itself, as root: a command's (or a shell's,\n"
               "                          or a --begin-session's) changes become a new version of NAME\n"
               "  -b, --begin-session     start a session that lasts; print its id\n"
               "  -r, --run-session       run COMMAND in session -c ID\n"
               "  -e, --end-session       end session -c ID, discarding its changes (a source: session's\n"
               "                          become a new version)\n"
               "      --recover-session   restart session -c ID after its container died (e.g. a reboot)\n"
               "  -n, --session-name ID   the new session's id (default NAME-xxxxxxxx)\n"
               "      --all-sessions      -l/-i: sessions; --all-chroots: chroots; --all-source-chroots:\n"
               "                          source:NAME; -a/--all: all three (none: chroots and sources);\n"
               "                          -e --all-sessions: end every detached session\n"
               "      --json              sessions: JSON output\n"
               "      --error-status N    --run-session: exit status N for failures of arkose-chroot itself\n"
               "                          (default 1; autopkgtest's execute commands use 255)\n"
               "      --autopkgtest       --run-session: run COMMAND as autopkgtest's execute command (its own\n"
               "                          output pipes, drained for 1 s after it exits; 253 for 255; SIGUSR1/2)\n"
               "  -u, --user USER         run as USER (default: the invoking user, or SUDO_USER)\n"
               "  -d, --directory DIR     working directory (default: the current one), bind-mounted\n"
               "                          unless the chroot has files there (/etc, /usr, ...)\n"
               "  -p, --preserve-environment  keep the caller's environment\n"
               "      --tmpfs             keep the session's writable layer on a tmpfs\n"
               "      --profile NAME      session profile (default: the chroot's, else buildd)\n"
               "      --bind [-]HOST[:TARGET][:ro]  also bind-mount HOST (repeatable; -: skip if missing)\n"
               "      --network MODE      none, host or filtered (overrides the profile's)\n"
               "      --isolate-network   COMMAND gets no network but loopback, even in a session that has\n"
               "                          one (sbuild's build step; one-shot: the session gets none)\n"
               "      --mirror URL        mirror for create (default: definition, config, host apt)\n"
               "      --bootstrap TOOL    create with debootstrap or mmdebstrap (default: definition, config,\n"
               "                          debootstrap)\n"
               "      --schroot-config DIR  import-schroot: schroot's configuration (default /etc/schroot)\n"
               "      --dry-run           import-schroot: print the definitions, write nothing\n"
               "\n"
               "Build options (dependencies come through a proxy serving only the chroot's package sources;\n"
               "the build itself runs offline as an unprivileged user in /build/reproducible-path):\n"
               "  -c, --chroot NAME, -d DIST  the chroot (default: the changelog's distribution)\n"
               "      --arch A            build for A: in chroot NAME-A when NAME is not for A\n"
               "      --host A            cross-build for A (sbuild's --host; dpkg-buildpackage -aA, profiles\n"
               "                          cross,nocheck unless --profiles, crossbuild-essential-A); also --host=A\n"
               "  -A, --arch-all          also build Architecture: all packages (sbuild's; the default natively,\n"
               "                          not when cross); --no-arch-all: do not\n"
               "      --no-arch-any       no Architecture: any packages (with the default or -A: dpkg-buildpackage\n"
               "                          -A); --arch-any: the default\n"
               "      --source            also build the source package\n"
               "  -j, --jobs N            parallel=N in DEB_BUILD_OPTIONS (default: the caller's, else the CPUs)\n"
               "      --profiles P        build profiles (dpkg-buildpackage -P)\n"
               "      --extra-package P   also install package P (a name, or a .deb file) with the dependencies\n"
               "                          (repeatable)\n"
               "      --extra-repository 'deb URI SUITE [COMP...]'  another apt source for the dependencies\n"
               "                          (repeatable; http, https or file URIs, fetched by the host)\n"
               "      --extra-repository-key FILE  an OpenPGP key (armored or not) apt trusts for them\n"
               "      --add-depends DEPS  more build dependencies, as in debian/control (repeatable; sbuild's;\n"
               "                          --add-depends-arch, --add-depends-indep: when any, all packages are built)\n"
               "      --add-conflicts DEPS  more build conflicts (also --add-conflicts-arch, --add-conflicts-indep)\n"
               "      --resolve-alternatives  let apt take any alternative of a build dependency (default, as sbuild\n"
               "                          on a buildd: only the first; --no-resolve-alternatives)\n"
               "      --dpkg-source-opts OPTS, --dpkg-source-opt OPT  dpkg-source's options, with --source\n"
               "      --force-orig-source  with --source, the upstream tarball in the .changes (-sa)\n"
               "      --build-path PATH   the source's path in the build session (default\n"
               "                          /build/reproducible-path; below /build/ or /tmp/)\n"
               "      --bd-uninstallable-explainer apt|none  sbuild's; apt's reasons are always said\n"
               "      --clean-source, --no-clean-source  sbuild's; the source is cleaned in the chroot only\n"
               "      --no-apt-update, --no-apt-upgrade, --no-apt-distupgrade, --[no-]apt-clean  sbuild's; what a\n"
               "                          build does; --apt-update, --apt-upgrade, --apt-distupgrade: refused\n"
               "                          (arkose-chroot update NAME makes a new version)\n"
               "      --keep-session      keep the build session (detached) and say how to enter and end it\n"
               "      --purge[-build|-session] MODE  sbuild's: always (default), never (--keep-session), or\n"
               "                          successful (keep the session of a failed build)\n"
               "      --run-lintian       lintian on the results, in the chroot (sbuild's; --no-run-lintian: not)\n"
               "      --lintian-opts OPTS, --lintian-opt OPT  lintian's options\n"
               "      --run-autopkgtest   autopkgtest on the results, in sessions of the chroot (sbuild's;\n"
               "                          --no-run-autopkgtest: not)\n"
               "      --autopkgtest-opts OPTS, --autopkgtest-opt OPT  autopkgtest's options\n"
               "      --no-run-piuparts   sbuild's; build runs no piuparts\n"
               "      --run-piuparts      refused: run it on the results\n"
               "      --json              a JSON summary on stdout\n"
               "      --make-binNMU TEXT  a binNMU: a changelog entry saying TEXT, version +bN, no arch:all\n"
               "      --binNMU N          its number N (default 1)\n"
               "      --binNMU-timestamp T  its entry's date (seconds since 1970, or a date; default now)\n"
               "      --append-to-version SUFFIX  a changelog entry appending SUFFIX to the version\n"
               "      --binNMU-changelog ENTRY  that whole entry instead\n"
               "  -m, --maintainer NAME   the entry's maintainer (default $DEBFULLNAME <$DEBEMAIL>)\n"
               "      --debbuildopts OPTS, --debbuildopt OPT  more options of dpkg-buildpackage\n"
               "      --source-only-changes  with --source, also PKG_VERSION_source.changes, for a source-only upload\n"
               "      --pre-build-commands CMD       on the host, before the dependencies\n"
               "      --chroot-setup-commands CMD    as root in the dependency session, before apt\n"
               "      --build-deps-failed-commands CMD  as root in the dependency session, after apt failed\n"
               "      --starting-build-commands CMD  as root in the build session, before the build\n"
               "      --finished-build-commands CMD  as root in the build session, after a successful build\n"
               "      --build-failed-commands CMD    as root in the build session, after a failed build\n"
               "      --chroot-cleanup-commands CMD  as root in the build session, before it ends\n"
               "      --post-build-commands CMD      on the host in the output directory, after a successful build\n"
               "      --post-build-failed-commands CMD  on the host in the output directory, after a failed one\n"
               "      --anything-failed-commands CMD  the three --*-failed-commands of sbuild's\n"
               "      --chroot-update-failed-commands CMD  taken; never run: a build does not update its chroot\n"
               "                          (all repeatable; sbuild's escapes: %%%% %%a %%b %%p %%d %%c, %%SBUILD_*;\n"
               "                          %%s %%SBUILD_SHELL: an interactive shell there, on the terminal)\n"
               "      --state-dir DIR     state directory (default $ARKOSE_STATE_DIR or %s)\n"
               "      --config-dir DIR    configuration directory (default $ARKOSE_CONFIG_DIR or %s)\n"
               "  -v, --verbose           more messages\n"
               "  -q, --quiet             fewer messages\n"
               "  -h, --help              this text\n"
               "  -V, --version           the version\n",
               ARKOSE_STATEDIR, ARKOSE_SYSCONFDIR);
}

#define N_ADD_DEPS 6
enum {
        ARG_STATE_DIR = 0x100,
        ARG_CONFIG_DIR,
        ARG_MIRROR,
        ARG_BOOTSTRAP,
        ARG_TMPFS,
        ARG_NETWORK,
        ARG_VERSION,
        ARG_COMMAND,
        ARG_KEEP,
        ARG_SHA256,
        ARG_SCHROOT_CONFIG,
        ARG_DRY_RUN,
        ARG_PROFILE,
        ARG_BIND,
        ARG_OUTPUT,
        ARG_BUILD_PROFILES,
        ARG_EXTRA_PACKAGE,
        ARG_NO_ARCH_ANY,
        ARG_MAKE_BINNMU,
        ARG_BINNMU,
        ARG_BINNMU_TIMESTAMP,
        ARG_APPEND_TO_VERSION,
        ARG_BINNMU_CHANGELOG,
        ARG_DEBBUILDOPTS,
        ARG_DEBBUILDOPT,
        ARG_SOURCE_ONLY_CHANGES,
        ARG_ARCH_ANY,
        ARG_NO_ARCH_ALL,
        ARG_NO_SOURCE,
        ARG_JSON,
        ARG_ARCH,
        ARG_HOST,
        ARG_RESOLVER,
        ARG_RESOLVE_ALTERNATIVES,
        ARG_DPKG_SOURCE_OPTS,
        ARG_DPKG_SOURCE_OPT,
        ARG_CLEAN_SOURCE,
        ARG_FORCE_ORIG_SOURCE,
        ARG_BUILD_PATH,
        ARG_EXPLAINER,
        ARG_NO_RESOLVE_ALTERNATIVES,
        ARG_RECOVER_SESSION,
        ARG_AUTOMATIC_SESSION,
        ARG_ALL_CHROOTS,
        ARG_ALL_SOURCE_CHROOTS,
        ARG_ALL_SESSIONS,
        ARG_ERROR_STATUS,
        ARG_ISOLATE_NETWORK,
        ARG_EXTRA_REPOSITORY,
        ARG_EXTRA_REPOSITORY_KEY,
        ARG_KEEP_SESSION,
        ARG_PURGE,
        ARG_NO_RUN,
        ARG_APT_TAKEN,
        ARG_APT_REFUSED,
        ARG_NO_RUN_LINTIAN,
        ARG_LINTIAN_OPTS,
        ARG_LINTIAN_OPT,
        ARG_NO_RUN_AUTOPKGTEST,
        ARG_AUTOPKGTEST_OPTS,
        ARG_AUTOPKGTEST_OPT,
        ARG_RUN_LINTIAN,
        ARG_RUN_PIUPARTS,
        ARG_RUN_AUTOPKGTEST,
        ARG_AUTOPKGTEST,
        ARG_ADD_DEP,    /* ARG_ADD_DEP + i: --build_add_option(i) */
        ARG_BUILD_HOOK = ARG_ADD_DEP + N_ADD_DEPS, /* ARG_BUILD_HOOK + i: --build_hook_option(i); keep it last */
};

#define N_BUILD_HOOKS 11

static const struct option options[] = {
        { "chroot", required_argument, NULL, 'c' },
        { "user", required_argument, NULL, 'u' },
        { "directory", required_argument, NULL, 'd' },
        { "preserve-environment", no_argument, NULL, 'p' },
        { "list", no_argument, NULL, 'l' },
        { "info", no_argument, NULL, 'i' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "tmpfs", no_argument, NULL, ARG_TMPFS },
        { "network", required_argument, NULL, ARG_NETWORK },
        { "mirror", required_argument, NULL, ARG_MIRROR },
        { "bootstrap", required_argument, NULL, ARG_BOOTSTRAP },
        { "state-dir", required_argument, NULL, ARG_STATE_DIR },
        { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
        { "version", no_argument, NULL, ARG_VERSION },
        { "command", required_argument, NULL, ARG_COMMAND },
        { "keep", required_argument, NULL, ARG_KEEP },
        { "sha256", required_argument, NULL, ARG_SHA256 },
        { "schroot-config", required_argument, NULL, ARG_SCHROOT_CONFIG },
        { "dry-run", no_argument, NULL, ARG_DRY_RUN },
        { "profile", required_argument, NULL, ARG_PROFILE },
        { "bind", required_argument, NULL, ARG_BIND },
        { "output", required_argument, NULL, ARG_OUTPUT },
        { "jobs", required_argument, NULL, 'j' },
        { "profiles", required_argument, NULL, ARG_BUILD_PROFILES },
        { "extra-package", required_argument, NULL, ARG_EXTRA_PACKAGE },
        { "arch-all", no_argument, NULL, 'A' },
        { "no-arch-all", no_argument, NULL, ARG_NO_ARCH_ALL },
        { "arch-any", no_argument, NULL, ARG_ARCH_ANY },
        { "no-arch-any", no_argument, NULL, ARG_NO_ARCH_ANY },
        { "make-binNMU", required_argument, NULL, ARG_MAKE_BINNMU },
        { "binNMU", required_argument, NULL, ARG_BINNMU },
        { "binNMU-timestamp", required_argument, NULL, ARG_BINNMU_TIMESTAMP },
        { "append-to-version", required_argument, NULL, ARG_APPEND_TO_VERSION },
        { "binNMU-changelog", required_argument, NULL, ARG_BINNMU_CHANGELOG },
        { "maintainer", required_argument, NULL, 'm' },
        { "debbuildopts", required_argument, NULL, ARG_DEBBUILDOPTS },
        { "debbuildopt", required_argument, NULL, ARG_DEBBUILDOPT },
        { "source-only-changes", no_argument, NULL, ARG_SOURCE_ONLY_CHANGES },
        { "source", no_argument, NULL, 's' },
        { "no-source", no_argument, NULL, ARG_NO_SOURCE },
        { "json", no_argument, NULL, ARG_JSON },
        { "arch", required_argument, NULL, ARG_ARCH },
        { "host", required_argument, NULL, ARG_HOST },
        { "build-dep-resolver", required_argument, NULL, ARG_RESOLVER },
        { "resolve-alternatives", no_argument, NULL, ARG_RESOLVE_ALTERNATIVES },
        { "dpkg-source-opts", required_argument, NULL, ARG_DPKG_SOURCE_OPTS },
        { "dpkg-source-opt", required_argument, NULL, ARG_DPKG_SOURCE_OPT },
        { "clean-source", no_argument, NULL, ARG_CLEAN_SOURCE },
        { "force-orig-source", no_argument, NULL, ARG_FORCE_ORIG_SOURCE },
        { "build-path", required_argument, NULL, ARG_BUILD_PATH },
        { "no-clean-source", no_argument, NULL, ARG_CLEAN_SOURCE },
        { "bd-uninstallable-explainer", required_argument, NULL, ARG_EXPLAINER },
        { "no-resolve-alternatives", no_argument, NULL, ARG_NO_RESOLVE_ALTERNATIVES },
        { "extra-repository", required_argument, NULL, ARG_EXTRA_REPOSITORY },
        { "extra-repository-key", required_argument, NULL, ARG_EXTRA_REPOSITORY_KEY },
        { "keep-session", no_argument, NULL, ARG_KEEP_SESSION },
        { "purge", required_argument, NULL, ARG_PURGE },
        { "purge-build", required_argument, NULL, ARG_PURGE },
        { "purge-session", required_argument, NULL, ARG_PURGE },
        { "no-run-lintian", no_argument, NULL, ARG_NO_RUN_LINTIAN },
        { "lintian-opts", required_argument, NULL, ARG_LINTIAN_OPTS },
        { "lintian-opt", required_argument, NULL, ARG_LINTIAN_OPT },
        { "no-run-piuparts", no_argument, NULL, ARG_NO_RUN },
        { "no-apt-update", no_argument, NULL, ARG_APT_TAKEN },
        { "no-apt-upgrade", no_argument, NULL, ARG_APT_TAKEN },
        { "no-apt-distupgrade", no_argument, NULL, ARG_APT_TAKEN },
        { "apt-clean", no_argument, NULL, ARG_APT_TAKEN },
        { "no-apt-clean", no_argument, NULL, ARG_APT_TAKEN },
        { "apt-update", no_argument, NULL, ARG_APT_REFUSED },
        { "apt-upgrade", no_argument, NULL, ARG_APT_REFUSED },
        { "apt-distupgrade", no_argument, NULL, ARG_APT_REFUSED },
        { "no-run-autopkgtest", no_argument, NULL, ARG_NO_RUN_AUTOPKGTEST },
        { "autopkgtest-opts", required_argument, NULL, ARG_AUTOPKGTEST_OPTS },
        { "autopkgtest-opt", required_argument, NULL, ARG_AUTOPKGTEST_OPT },
        { "run-lintian", no_argument, NULL, ARG_RUN_LINTIAN },
        { "run-piuparts", no_argument, NULL, ARG_RUN_PIUPARTS },
        { "run-autopkgtest", no_argument, NULL, ARG_RUN_AUTOPKGTEST },
        /* In the order of build_add_option() (cmd/arkose-chroot-build.c), checked when used. */
        { "add-depends", required_argument, NULL, ARG_ADD_DEP + 0 },
        { "add-depends-arch", required_argument, NULL, ARG_ADD_DEP + 1 },
        { "add-depends-indep", required_argument, NULL, ARG_ADD_DEP + 2 },
        { "add-conflicts", required_argument, NULL, ARG_ADD_DEP + 3 },
        { "add-conflicts-arch", required_argument, NULL, ARG_ADD_DEP + 4 },
        { "add-conflicts-indep", required_argument, NULL, ARG_ADD_DEP + 5 },
        /* In the order of build_hook_option() (cmd/arkose-chroot-build.c), checked when used. */
        { "pre-build-commands", required_argument, NULL, ARG_BUILD_HOOK + 0 },
        { "chroot-setup-commands", required_argument, NULL, ARG_BUILD_HOOK + 1 },
        { "chroot-update-failed-commands", required_argument, NULL, ARG_BUILD_HOOK + 2 },
        { "build-deps-failed-commands", required_argument, NULL, ARG_BUILD_HOOK + 3 },
        { "starting-build-commands", required_argument, NULL, ARG_BUILD_HOOK + 4 },
        { "finished-build-commands", required_argument, NULL, ARG_BUILD_HOOK + 5 },
        { "build-failed-commands", required_argument, NULL, ARG_BUILD_HOOK + 6 },
        { "chroot-cleanup-commands", required_argument, NULL, ARG_BUILD_HOOK + 7 },
        { "post-build-commands", required_argument, NULL, ARG_BUILD_HOOK + 8 },
        { "post-build-failed-commands", required_argument, NULL, ARG_BUILD_HOOK + 9 },
        { "anything-failed-commands", required_argument, NULL, ARG_BUILD_HOOK + 10 },
        { "begin-session", no_argument, NULL, 'b' },
        { "run-session", no_argument, NULL, 'r' },
        { "end-session", no_argument, NULL, 'e' },
        { "recover-session", no_argument, NULL, ARG_RECOVER_SESSION },
        { "error-status", required_argument, NULL, ARG_ERROR_STATUS },
        { "autopkgtest", no_argument, NULL, ARG_AUTOPKGTEST },
        { "isolate-network", no_argument, NULL, ARG_ISOLATE_NETWORK },
        { "automatic-session", no_argument, NULL, ARG_AUTOMATIC_SESSION },
        { "session-name", required_argument, NULL, 'n' },
        { "all", no_argument, NULL, 'a' },
        { "all-chroots", no_argument, NULL, ARG_ALL_CHROOTS },
        { "all-source-chroots", no_argument, NULL, ARG_ALL_SOURCE_CHROOTS },
        { "all-sessions", no_argument, NULL, ARG_ALL_SESSIONS },
        {},
};

/* Parses options up to the first non-option argument (or "--"). Returns 1 to go on, 0 to exit
 * successfully (help, version), -EINVAL for a bad option. */
static int parse_options(int argc, char **argv) {
        int c, longindex = -1;

        opterr = 0; /* one line of ours instead of getopt's, which names argv[0] as typed and no way on */

        while ((c = getopt_long(argc, argv, "+:c:u:d:pliqvVhbren:aj:Asm:", options, &longindex)) >= 0) {
                switch (c) {
                case 'c':
                        free(arg_chroot);
                        arg_chroot = strdup(optarg);
                        break;
                case 'u':
                        free(arg_user);
                        arg_user = strdup(optarg);
                        break;
                case 'd':
                        free(arg_directory);
                        arg_directory = strdup(optarg);
                        break;
                case 'p':
                        arg_preserve_env = true;
                        break;
                case 'l':
                        arg_list = true;
                        break;
                case 'i':
                        arg_info = true;
                        break;
                case 'v':
                        log_set_max_level(log_get_max_level() < LOG_INFO ? LOG_INFO : LOG_DEBUG);
                        break;
                case 'q':
                        log_set_max_level(LOG_WARNING);
                        break;
                case 'h':
                        help();
                        return 0;
                case '?':
                        if (optopt > 0 && optopt < 256 && !startswith(argv[optind - 1], "--"))
                                log_error("Unknown option '-%c' (see 'arkose-chroot --help')", optopt);
                        else
                                log_error("Unknown option '%s' (see 'arkose-chroot --help')",
                                          argv[optind - 1]);
                        return -EINVAL;
                case ':':
                        log_error("Option '%s' needs an argument (see 'arkose-chroot --help')",
                                  argv[optind - 1]);
                        return -EINVAL;
                case 'V': /* schroot's */
                case ARG_VERSION:
                        printf("arkose-chroot %s\n", ARKOSE_VERSION);
                        return 0;
                case ARG_TMPFS:
                        arg_tmpfs = true;
                        break;
                case ARG_NETWORK:
                        free(arg_network);
                        arg_network = strdup(optarg);
                        break;
                case ARG_MIRROR:
                        free(arg_mirror);
                        arg_mirror = strdup(optarg);
                        break;
                case ARG_BOOTSTRAP:
                        if (!chroot_bootstrap_is_valid(optarg))
                                return log_usage("--bootstrap takes debootstrap or mmdebstrap, not '%s'", optarg);
                        free(arg_bootstrap);
                        arg_bootstrap = strdup(optarg);
                        break;
                case ARG_STATE_DIR:
                        free(arg_state_dir);
                        arg_state_dir = strdup(optarg);
                        break;
                case ARG_CONFIG_DIR:
                        free(arg_config_dir);
                        arg_config_dir = strdup(optarg);
                        break;
                case ARG_COMMAND:
                        free(arg_command);
                        arg_command = strdup(optarg);
                        break;
                case ARG_KEEP: {
                        char *end;
                        long k = strtol(optarg, &end, 10);
                        if (*end != '\0' || end == optarg || k < 0 || k > 100000) {
                                log_error("Invalid --keep '%s': expected a number of versions", optarg);
                                return -EINVAL;
                        }
                        arg_keep = (int) k;
                        break;
                }
                case ARG_OUTPUT:
                        free(arg_output);
                        arg_output = strdup(optarg);
                        break;
                case 'j':
                        if (strspn(optarg, "0123456789") != strlen(optarg) || !*optarg) {
                                log_error("Invalid --jobs '%s': expected a number", optarg);
                                return -EINVAL;
                        }
                        free(arg_jobs);
                        arg_jobs = strdup(optarg);
                        break;
                case ARG_BUILD_PROFILES:
                        if (strpbrk(optarg, " '\"\\;$`")) {
                                log_error("Invalid --profiles '%s': expected PROFILE[,PROFILE...]", optarg);
                                return -EINVAL;
                        }
                        free(arg_build_profiles);
                        arg_build_profiles = strdup(optarg);
                        break;
                case ARG_EXTRA_PACKAGE: {
                        _cleanup_strv_free_ char **debs = NULL;
                        int r;

                        r = build_extra_package_parse(optarg, &debs);
                        if (r < 0)
                                return r;
                        if (debs ? strv_extend_strv(&arg_extra_packages, debs) < 0 : strv_extend(&arg_extra_packages, optarg) < 0)
                                return -ENOMEM;
                        break;
                }
                case 'A':
                case ARG_NO_ARCH_ALL:
                        /* sbuild's: the later of --arch-all and --no-arch-all wins. */
                        arg_arch_all = c == 'A';
                        arg_no_arch_all = c != 'A';
                        break;
                case ARG_ARCH_ANY:
                case ARG_NO_ARCH_ANY:
                        arg_no_arch_any = c == ARG_NO_ARCH_ANY;
                        break;
                case ARG_MAKE_BINNMU:
                case ARG_BINNMU_TIMESTAMP:
                case ARG_BINNMU_CHANGELOG:
                case 'm': {
                        char **dest = c == ARG_MAKE_BINNMU ? &arg_make_binnmu :
                                      c == ARG_BINNMU_TIMESTAMP ? &arg_binnmu_timestamp :
                                      c == ARG_BINNMU_CHANGELOG ? &arg_binnmu_changelog : &arg_maintainer;
                        const char *name = c == ARG_MAKE_BINNMU ? "--make-binNMU" :
                                           c == ARG_BINNMU_TIMESTAMP ? "--binNMU-timestamp" :
                                           c == ARG_BINNMU_CHANGELOG ? "--binNMU-changelog" : "--maintainer";

                        if (isempty(optarg))
                                return log_usage("%s takes a value, not an empty one", name);
                        free(*dest);
                        *dest = strdup(optarg);
                        if (!*dest)
                                return -ENOMEM;
                        break;
                }
                case ARG_BINNMU: {
                        char *end;
                        unsigned long k;

                        errno = 0;
                        k = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end != '\0' || k < 1 || k > 9999 || optarg[0] == '-' || optarg[0] == '+')
                                return log_usage("Invalid --binNMU '%s': expected a number from 1", optarg);
                        arg_binnmu = (unsigned) k;
                        break;
                }
                case ARG_APPEND_TO_VERSION:
                        if (!buildplan_version_suffix_valid(optarg))
                                return log_usage("Invalid --append-to-version '%s': letters, digits, '.', '+' and '~' only", optarg);
                        free(arg_append_to_version);
                        arg_append_to_version = strdup(optarg);
                        if (!arg_append_to_version)
                                return -ENOMEM;
                        break;
                case ARG_DEBBUILDOPTS:
                case ARG_DPKG_SOURCE_OPTS: {
                        /* sbuild's: split on white space. */
                        _cleanup_strv_free_ char **words = strv_split(optarg, " \t\n");
                        char ***list = c == ARG_DEBBUILDOPTS ? &arg_debbuildopts : &arg_dpkg_source_opts;

                        if (!words || strv_extend_strv(list, words) < 0)
                                return -ENOMEM;
                        break;
                }
                case ARG_DEBBUILDOPT:
                case ARG_DPKG_SOURCE_OPT:
                        if (strv_extend(c == ARG_DEBBUILDOPT ? &arg_debbuildopts : &arg_dpkg_source_opts, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_FORCE_ORIG_SOURCE:
                        arg_force_orig_source = true;
                        break;
                case ARG_BUILD_PATH:
                        free(arg_build_path);
                        arg_build_path = strdup(optarg);
                        if (!arg_build_path)
                                return -ENOMEM;
                        break;
                case ARG_CLEAN_SOURCE:
                        /* Taken: the source is never cleaned on the host (sbuild's --clean-source runs
                         * debian/rules clean there); dpkg-buildpackage cleans it in the chroot either way. */
                        break;
                case ARG_EXPLAINER:
                        /* sbuild's: "apt" is what a dependency failure says here (apt's reasons, in one line
                         * and in the log); "dose3" would need dose-distcheck in the chroot. */
                        if (!streq(optarg, "apt") && !streq(optarg, "none") && !streq(optarg, ""))
                                return log_error_errno(-EINVAL,
                                                       "--bd-uninstallable-explainer %s: only 'apt' (what a dependency "
                                                       "failure says here) and 'none' are taken",
                                                       optarg);
                        break;
                case ARG_SOURCE_ONLY_CHANGES:
                        arg_source_only_changes = true;
                        break;
                case 's':
                case ARG_NO_SOURCE:
                        /* sbuild's -s/--source and --no-source: the later wins. */
                        arg_source_too = c == 's';
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_ERROR_STATUS: {
                        char *end;
                        long k = strtol(optarg, &end, 10);
                        if (*end != '\0' || end == optarg || k < 1 || k > 255) {
                                log_error("Invalid --error-status '%s': expected 1 to 255", optarg);
                                return -EINVAL;
                        }
                        arg_error_status = (int) k;
                        break;
                }
                case ARG_AUTOPKGTEST:
                        arg_autopkgtest = true;
                        break;
                case ARG_ISOLATE_NETWORK:
                        arg_isolate_network = true;
                        break;
                case ARG_ARCH:
                case ARG_HOST:
                        if (!buildplan_arch_name_valid(optarg)) {
                                log_error("Invalid --%s '%s': expected a Debian architecture name",
                                          c == ARG_ARCH ? "arch" : "host", optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_ARCH) {
                                free(arg_arch);
                                arg_arch = strdup(optarg);
                        } else {
                                free(arg_host);
                                arg_host = strdup(optarg);
                        }
                        break;
                case ARG_EXTRA_REPOSITORY:
                        if (build_check_extra_repository(optarg) < 0)
                                return -EINVAL;
                        if (strv_extend(&arg_extra_repositories, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_EXTRA_REPOSITORY_KEY:
                        if (strv_extend(&arg_extra_repository_keys, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_KEEP_SESSION:
                        arg_purge = BUILD_PURGE_NEVER;
                        break;
                case ARG_NO_RUN:
                        /* sbuild's --no-run-piuparts and --no-run-autopkgtest: build runs neither anyway. */
                        break;
                case ARG_APT_TAKEN:
                        /* sbuild's --no-apt-update, --no-apt-upgrade, --no-apt-distupgrade: what a build does (it
                         * takes the chroot version's packages as they are); --[no-]apt-clean: its session is
                         * thrown away. */
                        break;
                case ARG_APT_REFUSED:
                        log_error("build does not update its chroot (sbuild's --apt-update, --apt-upgrade, "
                                  "--apt-distupgrade): run 'arkose-chroot update NAME' for a new version, which builds "
                                  "then use");
                        return -EINVAL;
                case ARG_RUN_LINTIAN:
                case ARG_NO_RUN_LINTIAN:
                        /* sbuild's: the later wins. */
                        arg_run_lintian = c == ARG_RUN_LINTIAN;
                        break;
                case ARG_RUN_AUTOPKGTEST:
                case ARG_NO_RUN_AUTOPKGTEST:
                        arg_run_autopkgtest = c == ARG_RUN_AUTOPKGTEST;
                        break;
                case ARG_RESOLVE_ALTERNATIVES:
                case ARG_NO_RESOLVE_ALTERNATIVES:
                        arg_resolve_alternatives = c == ARG_RESOLVE_ALTERNATIVES;
                        break;
                case ARG_LINTIAN_OPTS:
                case ARG_AUTOPKGTEST_OPTS: {
                        /* sbuild's: split on white space. */
                        _cleanup_strv_free_ char **words = strv_split(optarg, " \t\n");

                        if (!words || strv_extend_strv(c == ARG_LINTIAN_OPTS ? &arg_lintian_opts : &arg_autopkgtest_opts,
                                                       words) < 0)
                                return -ENOMEM;
                        break;
                }
                case ARG_LINTIAN_OPT:
                case ARG_AUTOPKGTEST_OPT:
                        if (strv_extend(c == ARG_LINTIAN_OPT ? &arg_lintian_opts : &arg_autopkgtest_opts, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_RUN_PIUPARTS:
                        log_error("build does not run piuparts: run it on the .changes the build writes (piuparts PKG.changes)");
                        return -EINVAL;
                case ARG_PURGE: {
                        BuildPurge m = build_purge_from_string(optarg);
                        if (m < 0) {
                                log_error("Invalid --purge '%s': expected always, never or successful", optarg);
                                return -EINVAL;
                        }
                        arg_purge = m;
                        break;
                }
                case ARG_RESOLVER:
                        if (!streq(optarg, "apt")) {
                                log_error("--build-dep-resolver %s: only 'apt' is supported", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_BIND:
                        if (strv_extend(&arg_binds, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_PROFILE:
                        free(arg_profile);
                        arg_profile = strdup(optarg);
                        break;
                case ARG_SCHROOT_CONFIG:
                        free(arg_schroot_config);
                        arg_schroot_config = strdup(optarg);
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_SHA256:
                        free(arg_sha256);
                        arg_sha256 = strdup(optarg);
                        break;
                case 'b':
                        arg_action = SESSION_ACTION_BEGIN;
                        break;
                case 'r':
                        arg_action = SESSION_ACTION_RUN;
                        break;
                case 'e':
                        arg_action = SESSION_ACTION_END;
                        break;
                case ARG_RECOVER_SESSION:
                        arg_action = SESSION_ACTION_RECOVER;
                        break;
                case ARG_AUTOMATIC_SESSION:
                        arg_action = SESSION_ACTION_AUTOMATIC;
                        break;
                case 'n':
                        free(arg_session_name);
                        arg_session_name = strdup(optarg);
                        break;
                case 'a':
                        arg_all_chroots = arg_all_sessions = arg_all_source_chroots = true;
                        break;
                case ARG_ALL_CHROOTS:
                        arg_all_chroots = true;
                        break;
                case ARG_ALL_SOURCE_CHROOTS:
                        arg_all_source_chroots = true;
                        break;
                case ARG_ALL_SESSIONS:
                        arg_all_sessions = true;
                        break;
                default:
                        if (c >= ARG_ADD_DEP && c < ARG_ADD_DEP + N_ADD_DEPS) {
                                assert(longindex >= 0 && build_add_option(c - ARG_ADD_DEP) &&
                                       streq(build_add_option(c - ARG_ADD_DEP), options[longindex].name));
                                if (build_add_add(c - ARG_ADD_DEP, optarg) < 0)
                                        return -EINVAL;
                                break;
                        }
                        if (c >= ARG_BUILD_HOOK && c < ARG_BUILD_HOOK + N_BUILD_HOOKS) {
                                assert(longindex >= 0 && build_hook_option(c - ARG_BUILD_HOOK) &&
                                       streq(build_hook_option(c - ARG_BUILD_HOOK), options[longindex].name));
                                if (build_hook_add(c - ARG_BUILD_HOOK, optarg) < 0)
                                        return -EINVAL;
                                break;
                        }
                        return -EINVAL; /* not reached: every option is handled above */
                }
        }
        return 1;
}

static const char *env_or(const char *name, const char *fallback) {
        const char *v = secure_getenv(name);
        return isempty(v) ? fallback : v;
}

static int context_init(Context *ctx) {
        _cleanup_free_ char *conf = NULL;
        unsigned line = 0;
        const char *key = NULL;
        int r;

        if ((arg_state_dir || arg_config_dir) && !caller_is_root())
                return access_require_root(arg_state_dir ? "--state-dir" : "--config-dir");
        ctx->config_dir = strdup(arg_config_dir ?: env_or("ARKOSE_CONFIG_DIR", ARKOSE_SYSCONFDIR));
        ctx->data_dir = strdup(env_or("ARKOSE_DATA_DIR", ARKOSE_DATADIR));
        ctx->hooks_dir = strdup(env_or("ARKOSE_HOOKS_DIR", ARKOSE_HOOKSDIR));
        if (!ctx->config_dir || !ctx->data_dir || !ctx->hooks_dir)
                return log_oom();

        conf = path_join(ctx->config_dir, "arkose.conf");
        if (!conf)
                return log_oom();
        r = arkose_config_parse_file(conf, &ctx->config, &line, &key);
        if (r < 0)
                return log_config_error(r, conf, line, key, "configuration");

        ctx->state_dir = strdup(arg_state_dir ?: env_or("ARKOSE_STATE_DIR", ctx->config.state_dir ?: ARKOSE_STATEDIR));
        if (!ctx->state_dir)
                return log_oom();
        if (!path_is_absolute(ctx->state_dir)) {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                char *abs = cwd ? path_join(cwd, ctx->state_dir) : NULL;
                if (!abs)
                        return log_oom();
                free(ctx->state_dir);
                ctx->state_dir = abs;
        }

        if (strv_consume(&ctx->def_dirs, path_join(ctx->config_dir, "chroots.d")) < 0 ||
            strv_consume(&ctx->def_dirs, path_join(ctx->data_dir, "chroots")) < 0 ||
            strv_extend(&ctx->hook_dirs, ctx->hooks_dir) < 0 ||
            strv_consume(&ctx->hook_dirs, path_join(ctx->config_dir, "hooks.d")) < 0 ||
            strv_consume(&ctx->profile_dirs, path_join(ctx->config_dir, "profiles.d")) < 0 ||
            strv_consume(&ctx->profile_dirs, path_join(ctx->data_dir, "profiles")) < 0 ||
            strv_consume(&ctx->profile_dirs, path_join(ctx->data_dir, "confs", "profiles")) < 0)
                return log_oom();
        /* Installed, or in a source tree (ARKOSE_DATA_DIR pointing at it). */
        ctx->apparmor_template = path_join(ctx->data_dir, "apparmor", "arkose-session.template");
        if (ctx->apparmor_template && access(ctx->apparmor_template, R_OK) < 0) {
                free(ctx->apparmor_template);
                ctx->apparmor_template = path_join(ctx->data_dir, "confs", "apparmor", "arkose-session.template");
        }
        if (!ctx->apparmor_template)
                return log_oom();
        if (arg_mirror && !(ctx->mirror = strdup(arg_mirror)))
                return log_oom();
        if (arg_bootstrap && !(ctx->bootstrap = strdup(arg_bootstrap)))
                return log_oom();
        return 0;
}

static void context_done(Context *ctx) {
        free(ctx->state_dir);
        free(ctx->config_dir);
        free(ctx->data_dir);
        free(ctx->hooks_dir);
        strv_free(ctx->def_dirs);
        strv_free(ctx->hook_dirs);
        strv_free(ctx->profile_dirs);
        free(ctx->apparmor_template);
        free(ctx->mirror);
        free(ctx->bootstrap);
        arkose_config_done(&ctx->config);
}

void chroot_ref_done(ChrootRef *r) {
        chroot_def_free(r->def);
        free(r->name);
        free(r->rootfs);
        strv_free(r->lowers);
        free(r->version_str);
        *r = (ChrootRef) {};
}

int log_config_error(int r, const char *path, unsigned line, const char *key, const char *what) {
        _cleanup_free_ char *why = r == -EINVAL || r == -ENOTUNIQ ? config_error_describe(r, path, line, key) : NULL;
        char at[16] = "";

        if (line > 0)
                (void) snprintf(at, sizeof(at), ":%u", line);
        if (why)
                return log_error_errno(r, "%s%s: %s", path, at, why);
        return log_error_errno(r, "%s%s: Invalid %s%s%s%s: %m", path, at, what, key ? " (key '" : "", key ?: "",
                               key ? "')" : "");
}

int context_find_profile(Context *ctx, const char *name, Profile **ret) {
        _cleanup_free_ char *err_path = NULL;
        const char *key = NULL, *reason = NULL;
        unsigned line = 0;
        int r;

        if (!chroot_name_is_valid(name, &reason))
                return log_error_errno(-EINVAL, "Invalid profile name '%s': %s", name, reason);
        r = profile_find(ctx->profile_dirs, name, ret, &err_path, &line, &key);
        if (r == -ENOENT)
                return log_error_errno(r, "No session profile named '%s' (in %s/profiles.d or %s/profiles)", name,
                                       ctx->config_dir, ctx->data_dir);
        if (r < 0)
                return log_config_error(r, err_path ?: name, line, key, "profile");
        return 0;
}

/* A chroot with versions in the store but no definition (imported from a tarball) is described by its
 * store alone. */
static int def_from_store(Context *ctx, const char *name, ChrootDef **ret) {
        _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
        unsigned current;

        if (store_current_version(ctx->state_dir, name, &current) < 0)
                return -ENOENT;
        d = calloc(1, sizeof(ChrootDef));
        if (!d)
                return -ENOMEM;
        d->name = strdup(name);
        d->description = strdup("imported, no definition");
        if (!d->name || !d->description)
                return -ENOMEM;
        d->source = CHROOT_SOURCE_TARBALL;
        *ret = TAKE_PTR(d);
        return 0;
}

const char *chroot_ref_personality(const ChrootRef *r) {
        struct utsname u;

        if (!r->def || !r->def->architecture || uname(&u) < 0)
                return NULL;
        return chroot_personality(r->def->architecture, u.machine);
}

int chroot_ref_check_runnable(const ChrootRef *r) {
        _cleanup_free_ char *handler = NULL;
        const char *arch = r->def ? r->def->architecture : NULL;
        struct utsname u;
        int k;

        if (!arch || uname(&u) < 0)
                return 0;
        k = arch_runner(arch, u.machine, BINFMT_MISC_DIR, &handler);
        if (k == -ENOEXEC && !arch_qemu_name(arch))
                return log_error_errno(k, "Chroot '%s' is for %s, whose programs this %s host does not run (qemu-user has no emulator for it)",
                                       r->name, arch, u.machine);
        if (k == -ENOEXEC)
                return log_error_errno(k, "Chroot '%s' is for %s, whose programs this %s host does not run: install qemu-user-static and binfmt-support (binfmt_misc handler 'qemu-%s')",
                                       r->name, arch, u.machine, arch_qemu_name(arch));
        if (k == -EPERM)
                return log_error_errno(k, "Chroot '%s' is for %s, and binfmt_misc handler 'qemu-%s' lacks flag F: its interpreter would have to be in the tree (Debian's qemu-user-static registers it with F)",
                                       r->name, arch, arch_qemu_name(arch));
        if (k < 0)
                return log_oom();
        return 0;
}

int vsyscall_check(char *const *layers, char **ret_libc_version) {
        struct utsname u;

        if (uname(&u) < 0 || !streq(u.machine, "x86_64"))
                return 0;
        /* dpkg's status is in the topmost layer that changed it. */
        for (char *const *l = layers; l && *l; l++) {
                _cleanup_free_ char *status = path_join(*l, "var/lib/dpkg/status");

                if (!status)
                        return -ENOMEM;
                if (access(status, F_OK) < 0)
                        continue;
                return arch_vsyscall_missing(status, u.machine, "/proc/self/maps", ret_libc_version);
        }
        return 0;
}

void vsyscall_warn(char *const *layers, const char *what) {
        _cleanup_free_ char *version = NULL;

        if (vsyscall_check(layers, &version) > 0)
                log_warning("%s: its C library, libc6 %s, calls the kernel's vsyscall page, which this kernel does "
                            "not map (vsyscall=none, Debian's default): its programs die of SIGSEGV until the host "
                            "boots with vsyscall=emulate", what, version);
}

void vsyscall_warn_tree(const char *name, const char *rootfs) {
        _cleanup_free_ char *what = strdup_printf("Chroot '%s'", name);
        char *const layers[] = { (char *) rootfs, NULL };

        if (what)
                vsyscall_warn(layers, what);
}

int context_log_no_chroot(Context *ctx, const char *name, bool create) {
        _cleanup_strv_free_ char **names = NULL, **trees = NULL;
        SessionInfo *si = NULL;
        const char *closest;

        if (!create && session_id_is_valid(name, NULL) &&
            session_info_load(ctx->state_dir, name, &si) >= 0) {
                session_info_free(si);
                return log_error_errno(-ENOENT, "No chroot named '%s', but a session: use -c session:%s",
                                       name, name);
        }
        (void) chroot_def_list_names(ctx->def_dirs, &names);
        if (store_list_names(ctx->state_dir, &trees) >= 0)
                (void) strv_extend_strv(&names, trees);
        closest = strv_find_closest(names, name);
        if (closest)
                return log_error_errno(-ENOENT,
                                       "No chroot named '%s': did you mean '%s'? (see 'arkose-chroot list')",
                                       name, closest);
        if (create)
                return log_error_errno(
                        -ENOENT,
                        "No definition of chroot '%s': write %s/chroots.d/%s.conf, e.g. '[chroot]' and "
                        "'suite = %s' (as in %s/chroots/bookworm.conf)",
                        name, ctx->config_dir, name, name, ctx->data_dir);
        return log_error_errno(-ENOENT, "No chroot named '%s' (see 'arkose-chroot list')", name);
}

int context_resolve(Context *ctx, const char *spec, bool need_tree, ChrootRef *ret) {
        _cleanup_(chroot_def_freep) ChrootDef *def = NULL;
        _cleanup_free_ char *name = NULL, *err_path = NULL;
        const char *at, *reason = NULL, *key = NULL;
        unsigned version = 0, line = 0;
        int r;

        r = store_parse_ref(spec, &name, &version, &reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                at = strchr(spec, '@');
                if (at && !name) {
                        _cleanup_free_ char *n = strndup(spec, at - spec);
                        if (n && chroot_name_is_valid(n, NULL))
                                return log_error_errno(-EINVAL, "Invalid version '%s' in '%s': expected NAME@NUMBER",
                                                       at + 1, spec);
                        return log_error_errno(-EINVAL, "Invalid chroot name '%s': %s", n ?: spec,
                                               reason ?: "not allowed");
                }
                return log_error_errno(-EINVAL, "Invalid chroot name '%s': %s", spec, reason ?: "not allowed");
        }

        r = chroot_def_find(ctx->def_dirs, name, &def, &err_path, &line, &key);
        if (r == -ENOENT)
                r = def_from_store(ctx, name, &def);
        if (r == -ENOENT)
                return context_log_no_chroot(ctx, name, false);
        if (r < 0)
                return log_config_error(r, err_path ?: name, line, key, "chroot definition");

        ret->name = strdup(def->name);
        if (!ret->name)
                return log_oom();

        if (def->source == CHROOT_SOURCE_DIRECTORY) {
                if (version > 0)
                        return log_error_errno(-EINVAL, "Chroot '%s' is a directory chroot and has no versions",
                                               def->name);
                ret->rootfs = strdup(def->directory);
                ret->version_str = strdup("directory");
                if (!ret->rootfs || !ret->version_str || strv_extend(&ret->lowers, def->directory) < 0)
                        return log_oom();
                if (need_tree && access(ret->rootfs, X_OK) < 0)
                        return log_error_errno(-errno, "Directory '%s' of chroot '%s' is not usable: %m",
                                               ret->rootfs, def->name);
        } else if (need_tree) {
                if (version == 0) {
                        r = store_current_version(ctx->state_dir, def->name, &version);
                        if (r == -ENOENT)
                                return log_error_errno(r, "Chroot '%s' has not been created yet: run 'arkose-chroot create %s'",
                                                       def->name, def->name);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read the current version of '%s': %m", def->name);
                }
                r = store_version_lowers(ctx->state_dir, def->name, version, &ret->lowers);
                if (r == -ENOENT)
                        return log_error_errno(r, "Chroot '%s' has no version %u", def->name, version);
                if (r < 0)
                        return log_error_errno(r, "Failed to find the layers of '%s@%u': %m", def->name, version);
                ret->rootfs = strdup(ret->lowers[strv_length(ret->lowers) - 1]);
                ret->version_str = strdup_printf("%u", version);
                if (!ret->rootfs || !ret->version_str)
                        return log_oom();
        }
        ret->version = version;
        ret->def = TAKE_PTR(def);
        return 0;
}

/* No -c, and yet a session is asked for: --begin-session, a command after "--", or nothing at all
 * (schroot's login shell in the default chroot). */
static bool wants_default_chroot(int argc, char **argv) {
        if (arg_list || arg_info)
                return false;
        if (arg_action == SESSION_ACTION_BEGIN)
                return true;
        if (arg_action != SESSION_ACTION_AUTOMATIC)
                return false;
        return optind >= argc || streq(argv[optind - 1], "--");
}

/* schroot's default: [main] default-chroot, else a chroot or alias named "default". -ENOENT (logged
 * only when a command was given) when there is neither. */
static int default_chroot(Context *ctx, bool quiet, char **ret) {
        _cleanup_(chroot_def_freep) ChrootDef *def = NULL;
        unsigned version;
        char *name;

        if (ctx->config.default_chroot)
                name = strdup(ctx->config.default_chroot);
        else if (chroot_def_find(ctx->def_dirs, "default", &def, NULL, NULL, NULL) >= 0 ||
                 store_current_version(ctx->state_dir, "default", &version) >= 0)
                name = strdup("default");
        else {
                if (!quiet)
                        log_error("No chroot given: use -c NAME, or set default-chroot in %s/arkose.conf",
                                  ctx->config_dir);
                return -ENOENT;
        }
        if (!name)
                return log_oom();
        *ret = name;
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(context_done) Context ctx = {};
        const char *verb;
        int r;

        log_set_prefix("arkose-chroot");
        /* Contiguous, as the kernel lays them out. */
        if (argc > 0 && argv[argc - 1] >= argv[0]) {
                cmdline_start = argv[0];
                cmdline_size = (size_t) (argv[argc - 1] - argv[0]) + strlen(argv[argc - 1]) + 1;
        }
        r = access_setup();
        if (r < 0)
                return 1;
        /* A reader gone (`arkose-chroot build ... | head`) must not kill us half way, with a session up, a
         * build directory or a tree half made: our writes to it fail instead, and we clean up as after any
         * failure. A handler rather than SIG_IGN, which the commands we start would inherit. */
        (void) sigaction(SIGPIPE, &(struct sigaction) { .sa_handler = sigpipe_handler, .sa_flags = SA_RESTART }, NULL);
        r = parse_options(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        r = context_init(&ctx);
        if (r < 0)
                return 1;

        if (arg_isolate_network && !arg_chroot) {
                log_error("--isolate-network goes with a command in a session (-c CHROOT or --run-session)");
                return 2;
        }
        if (arg_list)
                return verb_list_all(&ctx, argc - optind, argv + optind) < 0 ? (arg_usage_error ? 2 : 1) : 0;
        if (arg_info)
                return verb_info_all(&ctx, argc - optind, argv + optind) < 0 ? (arg_usage_error ? 2 : 1) : 0;
        if (!arg_chroot && wants_default_chroot(argc, argv)) {
                bool nothing = optind >= argc && arg_action == SESSION_ACTION_AUTOMATIC;

                /* Nothing at all and no default: the one-line usage error below. */
                r = default_chroot(&ctx, nothing, &arg_chroot);
                if (r < 0 && !(r == -ENOENT && nothing))
                        return r == -ENOENT ? 2 : 1;
        }
        if (arg_chroot)
                return session_action(&ctx, argc - optind, argv + optind);
        if (arg_action == SESSION_ACTION_END && arg_all_sessions) {
                if (optind < argc) {
                        log_error("--end-session takes no command");
                        return 2;
                }
                return end_all_sessions(&ctx) < 0;
        }
        if (arg_action != SESSION_ACTION_AUTOMATIC) {
                log_error("Session actions need -c (a chroot for --begin-session, else a session)");
                return 2;
        }

        if (optind >= argc) {
                /* Bad usage: one line on stderr, not the help on stdout, which carries results only. */
                log_error("Nothing to do: give -c NAME [COMMAND] or a command such as 'list' (see "
                          "'arkose-chroot --help')");
                return 2;
        }
        verb = argv[optind];
        /* Options may also follow the verb: arkose-chroot create bookworm --mirror URL. */
        argv[optind] = argv[0];
        argc -= optind;
        argv += optind;
        optind = 0;
        {
                _cleanup_strv_free_ char **rest = NULL;

                for (;;) {
                        r = parse_options(argc, argv);
                        if (r <= 0)
                                return r < 0 ? 2 : 0;
                        if (optind >= argc)
                                break;
                        if (streq(argv[optind - 1], "--")) {
                                for (int i = optind; i < argc; i++)
                                        if (strv_extend(&rest, argv[i]) < 0)
                                                return log_oom(), 1;
                                break;
                        }
                        if (strv_extend(&rest, argv[optind]) < 0)
                                return log_oom(), 1;
                        argv[optind] = argv[0];
                        argc -= optind;
                        argv += optind;
                        optind = 0;
                }
                if (arg_isolate_network) {
                        log_error("--isolate-network goes with a command in a session (-c CHROOT or --run-session)");
                        return 2;
                }
                /* Options after the verb may change directories too. */
                context_done(&ctx);
                ctx = (Context) {};
                r = context_init(&ctx);
                if (r < 0)
                        return 1;

                int n = (int) strv_length(rest);
                if (!caller_is_root() && !streq(verb, "list") && !streq(verb, "info") && !streq(verb, "sessions") &&
                    !streq(verb, "start") && !streq(verb, "stop") &&
                    !streq(verb, "apparmor-profile"))
                        return access_require_root(verb) < 0 ? 1 : 0;
                if (streq(verb, "create"))
                        r = verb_create(&ctx, n, rest);
                else if (streq(verb, "list"))
                        r = verb_list(&ctx, n, rest, false);
                else if (streq(verb, "info"))
                        r = verb_info(&ctx, n, rest);
                else if (streq(verb, "update"))
                        r = verb_update(&ctx, n, rest);
                else if (streq(verb, "rollback"))
                        r = verb_rollback(&ctx, n, rest);
                else if (streq(verb, "remove"))
                        r = verb_remove(&ctx, n, rest);
                else if (streq(verb, "gc"))
                        r = verb_gc(&ctx, n, rest);
                else if (streq(verb, "start"))
                        r = verb_start(&ctx, n, rest);
                else if (streq(verb, "stop"))
                        r = verb_stop(&ctx, n, rest);
                else if (streq(verb, "build"))
                        r = verb_build(&ctx, n, rest);
                else if (streq(verb, "apparmor-profile"))
                        r = verb_apparmor_profile(&ctx, n, rest);
                else if (streq(verb, "squash"))
                        r = verb_squash(&ctx, n, rest);
                else if (streq(verb, "diff"))
                        r = verb_diff(&ctx, n, rest);
                else if (streq(verb, "export"))
                        r = verb_export(&ctx, n, rest);
                else if (streq(verb, "import"))
                        r = verb_import(&ctx, n, rest);
                else if (streq(verb, "import-schroot"))
                        r = verb_import_schroot(&ctx, n, rest);
                else if (streq(verb, "sessions"))
                        r = verb_sessions(&ctx, n, rest);
                else if (streq(verb, "recover"))
                        r = verb_recover(&ctx, n, rest);
                else {
                        log_error("Unknown command '%s' (see 'arkose-chroot --help')", verb);
                        return 2;
                }
        }
        return r < 0 ? (arg_usage_error ? 2 : 1) : 0;
}
