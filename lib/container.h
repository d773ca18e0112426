/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "base/macro.h"

/* container: LXC containers through the liblxc C API (never the lxc-* programs). Sole includer of
 * <lxc/lxccontainer.h>. One lxcpath per state directory; a container's name is its session id.
 *
 * PID 1 of a container is arkose-init (init/arkose-init.c), a small static program bind-mounted read-only at
 * /dev/.arkose-init: it reaps orphans and forwards signals. Idle, it waits for commands entering with attach
 * or, in a daemonized container given a run directory (ContainerPlan.run_dir), through its command socket
 * (live sessions, terminals). A container tied to the caller (a one-shot session) is not started by
 * container_start() but by its first container_attach(), which for a command without a terminal runs it as
 * arkose-init's child instead of attaching: no idle program, no attach processes; the container ends when
 * the command does (arkose-init exits with its status; the kernel kills what is left). When the caller's
 * mount namespace is its own, container_run() does the same with the caller itself as liblxc's monitor
 * instead of a forked one. Exceptions, started
 * at once and used through attach: a network with a host side (veth), which the caller configures between
 * container_start() and the command, and a host without arkose-init (then liblxc's own init runs "sleep
 * infinity", as before).
 *
 * Containers get no cgroups of their own: liblxc is started in a mount namespace whose /sys/fs/cgroup is
 * covered by an empty tmpfs (mount_hide_cgroupfs())
 * (creating and removing cgroups in every hierarchy costs each session milliseconds, and no limits are
 * set). Everything in a container dies with its init (PID namespace); its processes are accounted to the
 * caller's cgroups. */

typedef enum ContainerNetwork {
        CONTAINER_NETWORK_NONE,         /* new network namespace with only loopback, up */
        CONTAINER_NETWORK_HOST,         /* the host's network namespace */
        _CONTAINER_NETWORK_MAX,
        _CONTAINER_NETWORK_INVALID = -EINVAL,
} ContainerNetwork;

const char *container_network_to_string(ContainerNetwork n);
ContainerNetwork container_network_from_string(const char *s);

typedef struct ContainerPlan {
        const char *name;
        const char *lxcpath;
        const char *rootfs;             /* mounted root (the session's overlay) */
        const char *hostname;
        const char *personality;        /* lxc.arch ("linux32" for a 32-bit chroot), NULL: the host's */
        const char *log_file;           /* liblxc's log; never our stderr */
        const char *log_level;          /* NULL: "WARN" */
        ContainerNetwork network;
        char **binds;                   /* host directories bind-mounted at the same path, read-write */
        const char *apparmor_profile;   /* NULL: "unconfined" */
        char **net_items;               /* alternating keys and values replacing the lxc.net.0.* items
                                         * @network implies (netpolicy_plan()); NULL: from @network */
        char **extra_items;             /* alternating keys and values added last (profile mounts,
                                         * devices, limits, capabilities, seccomp, AppArmor) */
        bool keep_cgroups;              /* give the container cgroups (profile limits need them);
                                         * otherwise it gets none, which starts faster */
        bool private_mounts;            /* the caller's mount namespace is its own and goes with it (one-shot
                                         * sessions): container_run() may then be used */
        const char *init;               /* arkose-init on the host, bound at /dev/.arkose-init; NULL: none
                                         * (container_start() fills it in) */
        const char *run_dir;            /* a daemonized container's: a root-only host directory bound at
                                         * /dev/.arkose-run, where its idle arkose-init makes its command
                                         * socket (lib/runsock.h); NULL: none */
        bool listen_once;               /* with @run_dir, for a container tied to the caller (a spare
                                         * session): its init serves one command and then exits */
        const char *fresh_dir;          /* with @run_dir, instead of @listen_once: a shared spare's
                                         * directory for its sub-sessions, bound at /dev/.arkose-fresh;
                                         * its init runs each command in a sub-session of its own
                                         * (arkose-init --listen-fresh), and so keeps sys_admin,
                                         * net_admin, mknod, setpcap, setuid and setgid, which it drops for them as @extra_items say */
        unsigned idle_exit;             /* with @fresh_dir: seconds without a command before init exits */
        const char *sessions_dir;       /* where other sessions' mounts are (STATE/sessions), which a
                                         * monitor of ours in a mount namespace of its own drops from its
                                         * copy, all but those below @own_dir; NULL: none dropped */
        const char *own_dir;
} ContainerPlan;

/* Describes @plan as liblxc configuration: a NULL-terminated list of alternating keys and values.
 * Pure (no I/O); unit-tested. Returns 0 and *ret, or -EINVAL/-ENOMEM. */
int container_plan_config(const ContainerPlan *plan, char ***ret);

/* The options of a shared spare's arkose-init (@plan->fresh_dir set): --listen-fresh=, the capabilities
 * its sub-sessions lose (those @plan->extra_items' lxc.cap.drop names, or all but lxc.cap.keep's, as
 * numbers), --fresh-net=host with the host's network, --idle-exit=. Pure; unit-tested. Returns 0 and
 * *ret, -EINVAL for an unknown capability name, or -ENOMEM. */
int container_fresh_init_args(const ContainerPlan *plan, char ***ret);

typedef struct Container Container;

/* Creates the container from @plan and starts it. With @tie_to_caller, the container's monitor is a
 * child of the caller that dies with it (PR_SET_PDEATHSIG), taking the container with it: a killed
 * arkose-chroot leaves no container behind; and the start waits for the first container_attach() (see
 * above), unless the network has a host side. Otherwise the container is daemonized and outlives the
 * caller. Returns 0 and *ret once the container is RUNNING (or ready to start); -EIO (one error line
 * logged, pointing at the liblxc log) if it did not start. */
int container_start(const ContainerPlan *plan, bool tie_to_caller, Container **ret);

/* Opens an existing (running) container by name. Returns -ENOENT when it does not run. */
int container_open(const char *name, const char *lxcpath, Container **ret);

typedef struct AttachPlan {
        char **argv;            /* NULL or empty: the user's shell as a login shell */
        const char *shell;      /* used when argv is empty */
        const char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        char **env;             /* the complete environment ("K=V") */
        bool terminal;          /* allocate a pty and proxy the caller's terminal to it */
        bool no_new_privs;
        bool autopkgtest;       /* run @argv under "arkose-init --autopkgtest-exec" (autopkgtest's
                                 * execute command, see init/arkose-init.c) */
        bool isolate_network;   /* a network namespace of the command's own, with only loopback (up),
                                 * whatever the container's network (lib/container-netiso.c). Not for the
                                 * command that starts a container tied to the caller: that container's
                                 * network is the command's, so the caller plans none for it */
} AttachPlan;

/* Runs @plan's command in the container. Returns in *ret_pid a child of the caller whose exit status is the
 * command's (128 + N when killed by signal N), and which takes the signals meant for the command: the
 * command itself (attach), or, when this call starts a container tied to the caller, its monitor (which
 * passes signals on to arkose-init and so to the command, and exits with its status once the container
 * has ended). With @plan->terminal, the command runs on a pty of the container's own devpts, which the
 * caller proxies with container_proxy_terminal() before it waits for the pid (or, when the container has
 * none, liblxc proxies it within this call, and the pid is left for the caller to wait for). Returns 0, or -EIO
 * (logged) when the command could not be started (or the container, for the first call). A container
 * started by this call runs that one command. */
int container_attach(Container *c, const AttachPlan *plan, pid_t *ret_pid);

/* Proxies the caller's terminal to the pty of the command container_attach() has just started with a
 * terminal, until @pid (that command, not reaped here) ends; then restores the terminal. Input typed while
 * the session started is kept and passed on. Returns 0 at once when there is no such pty, or -errno
 * (logged). */
int container_proxy_terminal(Container *c, pid_t pid);

/* Whether container_run() can run @plan: a container tied to the caller, not started yet, with arkose-init,
 * whose caller's mount namespace is its own (ContainerPlan.private_mounts), for a command without a
 * terminal. */
bool container_runs_in_caller(Container *c, const AttachPlan *plan);

/* Starts the container with @plan's command under arkose-init, the calling process being liblxc's
 * foreground monitor, and returns when it has ended, with the command's status in *ret_status (128 + N
 * when killed by signal N). Nothing is forked but the container's init: no monitor of our own, no polling
 * for its state. liblxc's death signal (SIGKILL) on the init ties the container to the caller. Meanwhile
 * liblxc handles the caller's signals itself: it blocks them all and passes them on to arkose-init, which
 * passes them on to the command; all but SIGHUP, which it turns into SIGTERM: the caller sends itself
 * CONTAINER_SIGNAL_HANGUP instead, which arkose-init turns back into SIGHUP. The cgroup file systems are
 * hidden in the caller's mount namespace (unless the container keeps cgroups). Returns 0, or -EIO
 * (logged) when the container did not start. */
int container_run(Container *c, const AttachPlan *plan, int *ret_status);

/* Sent by a caller running a container (container_run()) to itself in place of a SIGHUP it receives:
 * liblxc's monitor passes it on unchanged, and arkose-init, receiving it from outside its PID namespace,
 * sends its command SIGHUP. The same value as in init/arkose-init.c. */
#define CONTAINER_SIGNAL_HANGUP (SIGRTMIN + 2)

/* Where signals for the command started by container_attach() (which returned @attached) go: the command
 * itself after an attach, arkose-init for a command it runs (its monitor, the pid to wait for, would turn
 * SIGHUP into SIGTERM). */
pid_t container_signal_target(Container *c, pid_t attached);

/* Whether the monitor of a container tied to the caller has exited: the container is gone. */
bool container_exited(Container *c);

/* Sets the scheduling policy (SCHED_OTHER, SCHED_IDLE, ..., priority 0) of the container's monitor (ours)
 * and init: a spare session is made at SCHED_IDLE, and its processes go back to SCHED_OTHER once it is
 * ready, so that its commands inherit the normal policy. Returns 0 or -errno. */
int container_set_scheduler(Container *c, int policy);

/* Whether the container's idle init serves a command socket (ContainerPlan.run_dir, arkose-init). */
bool container_serves_commands(Container *c);

/* The pid of the container's init on the host, or -ESRCH. */
pid_t container_init_pid(Container *c);

/* Stops the container (SIGKILL to its init, so everything in it dies) and, for a container tied to the
 * caller, reaps its monitor. Returns 0 or -EIO. Idempotent. */
int container_stop(Container *c);

Container *container_free(Container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

/* ---- Session profiles → LXC items (lib/container-profile.c) ---- */

typedef struct Profile Profile;

/* LXC's seccomp deny list as Debian ships it (kexec_load, open_by_handle_at, init_module,
 * finit_module, delete_module), for seccomp = default. */
#define CONTAINER_SECCOMP_DEFAULT "/usr/share/lxc/config/common.seccomp"

typedef struct ContainerProfileContext {
        const char *home;    /* the session user's home on the host, for "~" and "$HOME" in mount paths */
        const char *cow_dir; /* a directory of the session's own, on a file system that can hold an
                              * overlay's upper layer (not overlayfs): cow mounts' layers go below it */
        bool cgroup2;        /* limits for the unified hierarchy (lxc.cgroup2.*), else cgroup v1 */
        bool skip_home;      /* bind and cow mounts onto @home itself are left out: it is missing on the
                              * host, or the chroot's own (a system user's, such as daemon's /usr/sbin) */
        /* The type of a host path (S_IFDIR, S_IFREG, S_IFCHR, ...) or -errno; NULL: stat() (following
         * symlinks). Bind sources and devices: a directory is rbind-mounted with create=dir, anything else
         * bound with create=file. Tests pass a fake. */
        int (*path_type)(const char *path, void *userdata);
        void *userdata;
} ContainerProfileContext;

typedef struct ContainerProfileItems {
        char **items;   /* key, value, key, value, ... */
        char **dirs;    /* to create (mode 0755) before the container starts */
        char **skipped; /* host paths missing and left out: devices, optional bind and cow sources */
        char *missing;  /* after -ENOENT: the source of a bind or cow mount, not optional, that is missing */
} ContainerProfileItems;

void container_profile_items_done(ContainerProfileItems *i);

/* Describes @p's mounts (bind, cow, tmpfs, in profile order), devices, cgroup limits, capabilities and
 * seccomp policy as LXC items to add after container_plan_config()'s (its lxc.net.0.* and
 * lxc.apparmor.profile come from netpolicy_plan() and apparmor_plan_config() instead). Targets are
 * relative to the rootfs, as lxc.mount.entry wants. @ret->dirs lists each cow mount's upper and work
 * directory below @ctx->cow_dir. A device missing on the host, or the source of an optional bind or cow
 * mount ("-HOST"), is left out and listed in @ret->skipped, for a notice; any other missing source is
 * -ENOENT, named in @ret->missing. Mounts made by LXC live in the container's mount namespace and go with
 * it. Returns 0 and the three lists (newly allocated, free with container_profile_items_done()), or
 * -EINVAL (a placeholder without an absolute @ctx->home, cow mounts without @ctx->cow_dir), -ENOENT,
 * -ENOMEM: then only @ret->missing may be set. */
int container_profile_config(const Profile *p, const ContainerProfileContext *ctx, ContainerProfileItems *ret);

/* Whether a command run as @uid in a session of @p gets PR_SET_NO_NEW_PRIVS (AttachPlan.no_new_privs). */
bool container_profile_no_new_privs(const Profile *p, uid_t uid);
