/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "base/macro.h"

/* virt: the pure half of autopkgtest-virt-arkose, the autopkgtest virtualisation server over arkose-chroot
 * sessions (autopkgtest's doc/README.virtualisation-server.rst; sbuild's autopkgtest chroot mode speaks the
 * same protocol). Nothing here does I/O: it parses request lines, decides what the state machine allows,
 * encodes replies and plans the arkose-chroot command lines that virt-testbed.c runs. Unit-tested in
 * tests/unit/test-virt.c.
 *
 * The protocol: one request per line on stdin, words split on white space, each word URL-decoded
 * (%XX); one reply line per request on stdout, "ok [WORDS...]" on success, anything else a soft failure.
 * A request that is unknown, malformed or not allowed in the current state is fatal: a message on
 * stderr, the testbed closed, exit status 12 (VIRT_EXIT_FAILURE). */

#define VIRT_EXIT_FAILURE 12

typedef enum VirtCommand {
        VIRT_CAPABILITIES,
        VIRT_OPEN,
        VIRT_CLOSE,
        VIRT_QUIT,
        VIRT_PRINT_EXECUTE_COMMAND,
        VIRT_COPYDOWN,
        VIRT_COPYUP,
        VIRT_REVERT,
        VIRT_REBOOT,
        VIRT_SHELL,
        VIRT_AUXVERB_DEBUG_FAIL,
        _VIRT_COMMAND_MAX,
        _VIRT_COMMAND_INVALID = -EINVAL,
} VirtCommand;

/* The request word ("print-execute-command"). from_string also takes '_' for '-', as autopkgtest's own
 * servers do ("auxverb_debug_fail" is how clients spell that one). */
const char *virt_command_to_string(VirtCommand c);
VirtCommand virt_command_from_string(const char *s);

typedef enum VirtState {
        VIRT_STATE_CLOSED, /* no testbed (at start, after close) */
        VIRT_STATE_OPEN,   /* a testbed: an arkose-chroot session */
        VIRT_STATE_QUIT,   /* after quit: exit */
        _VIRT_STATE_MAX,
        _VIRT_STATE_INVALID = -EINVAL,
} VirtState;

/* What the testbed can do, as advertised by "capabilities". */
typedef enum VirtCaps {
        VIRT_CAP_REVERT = 1 << 0,             /* revert: throw the session away, begin a new one */
        VIRT_CAP_REVERT_FULL_SYSTEM = 1 << 1, /* revert undoes everything, not just the scratch dir */
        VIRT_CAP_ROOT_ON_TESTBED = 1 << 2,    /* the execute command runs as root (sbuild requires it) */
        VIRT_CAP_REBOOT = 1 << 3,             /* reboot: restart the container over the same layer */
} VirtCaps;

/* ---- URL coding ---- */

/* Decodes %XX escapes as Python's urllib.parse.unquote() does, which autopkgtest's clients and servers
 * use: a '%' not followed by two hex digits stays as it is; '+' is not a space. Returns 0 and *ret, -EINVAL
 * when the result would contain a NUL byte (%00), or -ENOMEM. */
int virt_url_decode(const char *s, char **ret);

/* Encodes as urllib.parse.quote(s) (safe "/"): letters, digits, "_.-~/" stay, every other byte becomes
 * %XX (upper-case hex). Returns NULL on OOM. */
char *virt_url_encode(const char *s);

/* ---- requests ---- */

typedef struct VirtRequest {
        VirtCommand command;
        char **args; /* the decoded words after the command word; never NULL after parsing */
} VirtRequest;

void virt_request_done(VirtRequest *r);

/* Parses one request line (its trailing newline optional). Words are split on ASCII white space and
 * URL-decoded; the argument count is checked against the command. Returns 0 and *ret; -ENODATA for a
 * blank line (to be ignored, as autopkgtest's servers do); -EBADRQC for an unknown command; -EINVAL for
 * a malformed request (wrong argument count, %00, copy paths that disagree about directoryness), with
 * *ret_reason (newly allocated, one line) saying why; or -ENOMEM. *ret is left for virt_request_done()
 * either way. */
int virt_request_parse(const char *line, VirtRequest *ret, char **ret_reason);

/* Whether @req may be served in @state by a testbed with @caps. Pure. Returns 0, or -EBADFD with
 * *ret_reason ("`close' when not open", "`revert' when `revert' not advertised", ...). */
int virt_request_check(const VirtRequest *req, VirtState state, VirtCaps caps, char **ret_reason);

/* The state after @c was served successfully in @s. */
VirtState virt_state_next(VirtState s, VirtCommand c);

/* Whether copydown/copyup paths name directories (both end in '/'). Only meaningful after a
 * successful parse, which checked that both agree. */
bool virt_copy_is_directory(const VirtRequest *req);

/* ---- replies (without the trailing newline) ---- */

/* "ok", then each of @words (may be NULL) after a space. Returns NULL on OOM. */
char *virt_reply_ok(char *const *words);

/* The print-execute-command reply: "ok " and @argv, each element URL-encoded, joined by ','. */
char *virt_reply_execute_command(char *const *argv);

/* The capability words for @caps, with "suggested-normal-user=USER" when @normal_user is set. Returns 0
 * and *ret, or -ENOMEM. */
int virt_capabilities(VirtCaps caps, const char *normal_user, char ***ret);

/* ---- plans: the arkose-chroot command lines ---- */

typedef struct VirtPlan {
        const char *arkose;       /* absolute path of arkose-chroot */
        const char *state_dir;    /* NULL: arkose-chroot's default; else passed as --state-dir */
        const char *config_dir;   /* NULL: default; else --config-dir */
        const char *chroot;       /* the chroot to begin sessions of (as resolved) */
        const char *session_name; /* -n for --begin-session, or NULL for a generated id */
        const char *user;         /* -u for --begin-session (the session user the hooks add), or NULL */
        const char *network;      /* --network for --begin-session, or NULL */
        bool tmpfs;               /* --tmpfs */
        bool quiet;               /* -q */
} VirtPlan;

/* argv of "arkose-chroot ... -c chroot:CHROOT --begin-session -d / ...", which prints the session id.
 * Returns 0 and *ret, -EINVAL (no arkose or chroot), or -ENOMEM. */
int virt_begin_argv(const VirtPlan *p, char ***ret);

/* argv of "arkose-chroot ... -c session:ID --end-session" and "... --recover-session". */
int virt_end_argv(const VirtPlan *p, const char *session, char ***ret);
int virt_recover_argv(const VirtPlan *p, const char *session, char ***ret);

/* argv of "arkose-chroot ... -i -c SPEC": the info block of "session:ID" or "chroot:NAME". */
int virt_info_argv(const VirtPlan *p, const char *spec, char ***ret);

/* The execute command of session @session: "arkose-chroot ... -c session:ID --run-session --error-status
 * 255 --autopkgtest -u root -d / --", to which a client appends a command's argv (255: a failure of
 * arkose-chroot itself, which autopkgtest reads as "the execute command failed"). Absolute paths only and
 * every directory on the command line, because sbuild runs it with a filtered environment and no PATH.
 * With --autopkgtest the testbed's init (arkose-init, in C: no perl started per command) runs the
 * command as its child and:
 *   - forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it (arkose-chroot passes them on);
 *   - exits with the command's status, 128+N when signal N killed it, and 253 for a real 255, since
 *     254 and 255 tell autopkgtest that the execute command itself failed;
 *   - gives it pipes of its own for stdout and stderr when those are pipes or sockets, copies them
 *     through, and once the command is gone drains them for a second at most, then SIGKILLs the
 *     command's process group if they are still held: a leaked background process can neither keep the
 *     client waiting for EOF nor write to it later (see init/arkose-init.c).
 * Returns 0 and *ret, or -EINVAL/-ENOMEM. */
int virt_execute_argv(const VirtPlan *p, const char *session, char ***ret);

/* Shell command lines run in the testbed through the execute command for the copies; each takes the
 * testbed path as "$1" ("sh -ec SCRIPT sh PATH"), so no path is ever quoted into a script.
 *   copydown file:  stdin → "$1" (then chmod +x when @executable)
 *   copydown dir:   a tar stream on stdin → extracted into "$1" (made if missing)
 *   copyup dir:     "$1" → a tar stream on stdout
 * copyup of a file needs no shell: "cat -- PATH". Returns NULL on OOM (argv ready to append to the
 * execute command). */
char **virt_copydown_file_cmd(const char *tb_path, bool executable);
char **virt_copydown_dir_cmd(const char *tb_path);
char **virt_copyup_file_cmd(const char *tb_path);
char **virt_copyup_dir_cmd(const char *tb_path);

/* The scratch directory made at open (mode 1777; with @parents after a revert, when the path is known to
 * be free, "mkdir -p"). */
char **virt_scratch_cmd(const char *scratch, bool parents);

/* A reboot, as autopkgtest's own servers do it: the scratch directory saved to a tar file in /var/cache (or
 * /home) and the prepare-mark removed (which lets a test waiting in autopkgtest-reboot-prepare go on); the
 * container's init told to end (init.lxc ends on SIGTERM, and the session is then "dead"), after removing
 * the reboot mark that a real reboot's empty /run would lose; after the session was recovered, the
 * scratch directory restored. With @prepare_only the test reboots by itself: there being no init system to
 * ask, its "reboot" finds a shim in /usr/local/sbin first that does the same (and that the restore removes).
 */
char **virt_reboot_save_cmd(const char *scratch, bool prepare_only);
char **virt_reboot_trigger_cmd(void);
char **virt_reboot_restore_cmd(void);

/* The host side of directory copies: tar creating a stream from @host_dir, or extracting one into it. */
char **virt_host_tar_create_cmd(const char *host_dir);
char **virt_host_tar_extract_cmd(const char *host_dir);

/* The "shell DIR [VAR=VAL...]" request's command in the testbed: an interactive bash in DIR with the
 * variables exported (and TERM when @term is set). */
char **virt_shell_cmd(const char *dir, char *const *vars, const char *term);

/* ---- chroot names ---- */

/* The chroot names to try for @name, in sbuild's order for a distribution: NAME-ARCH-sbuild, NAME-sbuild,
 * NAME-ARCH, NAME. "chroot:NAME" and "NAME@VERSION" are taken as they are (one candidate, the prefix
 * removed). Returns 0 and *ret, -EINVAL for an empty name, or -ENOMEM. */
int virt_chroot_candidates(const char *name, const char *arch, char ***ret);

/* Whether @info, the output of "arkose-chroot -i -c chroot:NAME", describes a chroot with a tree (its
 * "Path" field is not empty). */
bool virt_info_has_tree(const char *info);

/* The value of field @key in an arkose-chroot/schroot --info block ("  Session State    running": the key,
 * padding of two spaces at least or a tab, the value), or NULL. Newly allocated. */
char *virt_info_field(const char *info, const char *key);
