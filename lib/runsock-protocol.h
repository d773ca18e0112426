/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* The command socket of a detached session's init (init/arkose-init.c, the server; lib/runsock.c, the
 * client): plain structs, shared by both, nothing else. A SOCK_SEQPACKET unix socket, so that each
 * message arrives whole.
 *
 * client -> init   RunsockRequest, with the command's stdin, stdout and stderr (SCM_RIGHTS, 3 fds);
 *                  then the payload in messages of at most RUNSOCK_CHUNK bytes: n_groups gid_t (uint32),
 *                  the working directory, argc arguments and envc "K=V" strings, each NUL-terminated
 * client -> init   RunsockMessage SIGNAL (value: the signal), any number, while the command runs
 * init -> client   RunsockMessage EXIT (value: the command's wait status), or ERROR (value: errno,
 *                  stage: where it failed before it could run: a bad request, fork, the working
 *                  directory, the credentials); then the connection closes. No message says that the
 *                  command started: init does not wait for its exec, and the client has nothing to do
 *                  until it ends.
 * The client closing the connection before EXIT (it died) makes init SIGKILL the command's process
 * group: nothing it started keeps the client's fds.
 *
 * A shared spare's init (arkose-init --listen-fresh) runs each command in a sub-session of its own
 * (RUNSOCK_FLAG_FRESH, and only those): the payload then has, after the working directory, the name of
 * the sub-session's directory, which the client made in the spare's fresh directory (SESSION_DIR/fresh,
 * bound at RUNSOCK_FRESH_TARGET), and the command's niceness (decimal), each NUL-terminated. Init answers STARTED once the sub-session's first process exists, and
 * removes the directory before it answers EXIT or ERROR. A connection that ends before STARTED ran
 * nothing (init was retiring, or full): the client may run the command elsewhere. */

#define RUNSOCK_DIR_TARGET "/dev/.arkose-run"        /* where the session's run directory appears */
#define RUNSOCK_NAME "init.sock"
#define RUNSOCK_FRESH_TARGET "/dev/.arkose-fresh"    /* where a shared spare's fresh directory appears */
#define RUNSOCK_MAGIC UINT32_C(0x41524b31)          /* "ARK1" */
#define RUNSOCK_CHUNK 32768
#define RUNSOCK_MAX_PAYLOAD (8u << 20)

enum {
        RUNSOCK_FLAG_NO_NEW_PRIVS = 1 << 0,
        RUNSOCK_FLAG_AUTOPKGTEST = 1 << 1,  /* run it as autopkgtest's execute command (see arkose-init.c) */
        RUNSOCK_FLAG_UMASK = 1 << 2,        /* the command's umask is in the bits RUNSOCK_UMASK_SHIFT and up
                                             * (an init older than this flag ignores both, and keeps its own) */
        RUNSOCK_FLAG_FRESH = 1 << 3,        /* in a sub-session of its own (--listen-fresh only) */
};
#define RUNSOCK_UMASK_SHIFT 20

typedef struct RunsockRequest {
        uint32_t magic;
        uint32_t flags;
        uint32_t uid;
        uint32_t gid;
        uint32_t n_groups;
        uint32_t argc;
        uint32_t envc;
        uint32_t payload_size;
} RunsockRequest;

enum {
        RUNSOCK_ERROR = 2,
        RUNSOCK_EXIT = 3,
        RUNSOCK_SIGNAL = 4,
        RUNSOCK_STARTED = 5,    /* RUNSOCK_FLAG_FRESH: the sub-session exists (value 0) */
};

enum {
        RUNSOCK_STAGE_REQUEST = 1,      /* a malformed request */
        RUNSOCK_STAGE_FORK = 2,
        RUNSOCK_STAGE_CWD = 3,          /* chdir() to the working directory */
        RUNSOCK_STAGE_CREDENTIALS = 4,  /* setgroups(), setresgid(), setresuid(), no_new_privs */
        RUNSOCK_STAGE_FRESH = 5,        /* the sub-session's namespaces, mounts or capabilities */
};

typedef struct RunsockMessage {
        uint32_t type;
        int32_t value;
        uint32_t stage;
        uint32_t reserved;
} RunsockMessage;
