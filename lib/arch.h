/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Which Debian architectures this host runs: its own, the 32-bit ones its kernel runs (chroot_personality()),
 * and the others through qemu-user's binfmt_misc handlers. A handler must have flag F ("fix binary": the
 * kernel opens the interpreter when it is registered), so that it works in a session, whose tree has no
 * /usr/libexec/qemu-binfmt of its own; Debian's qemu-user-static registers its handlers so. */

/* Where the kernel's binfmt_misc handlers are listed. */
#define BINFMT_MISC_DIR "/proc/sys/fs/binfmt_misc"

/* The Debian architecture of machine @machine (uname -m: "x86_64" -> "amd64"), or NULL if unknown. Pure. */
const char *arch_from_machine(const char *machine);

/* qemu's name for Debian architecture @arch ("arm64" -> "aarch64", "armhf" -> "arm"), which names its
 * binfmt_misc handler "qemu-NAME"; NULL if qemu has none. Pure. */
const char *arch_qemu_name(const char *arch);

typedef enum ArchRunner {
        ARCH_RUNNER_NATIVE,     /* the kernel runs it */
        ARCH_RUNNER_QEMU,       /* qemu-user, through its handler */
} ArchRunner;

/* How this host (kernel machine @host_machine) runs programs of Debian architecture @arch, looking for a
 * handler in @binfmt_dir (BINFMT_MISC_DIR). Returns ARCH_RUNNER_NATIVE or ARCH_RUNNER_QEMU (with
 * *ret_handler, if given, the handler's name, "qemu-aarch64", newly allocated); -ENOEXEC when nothing runs
 * it (no handler, a disabled one, binfmt_misc not mounted, no qemu for @arch), -EPERM for a handler
 * without flag F; -ENOMEM. */
int arch_runner(const char *arch, const char *host_machine, const char *binfmt_dir, char **ret_handler);

/* x86-64's legacy vsyscall page, at a fixed address: (e)glibc 2.13 and earlier call it for time() and
 * gettimeofday() (Debian wheezy and older, Ubuntu before 12.04). Debian's kernels do not map it since
 * Linux 4.8 (vsyscall=none), and such programs die of SIGSEGV; vsyscall=emulate on the kernel's command line
 * (or xonly, upstream's default) brings it back. */

/* Whether the C library of Debian version @version (libc6's: "2.13-38+deb7u10", "2.36-9+deb12u4") calls
 * the vsyscall page: before 2.14. An unparsable version: false. Pure. */
bool arch_glibc_needs_vsyscall(const char *version);

/* Whether the kernel maps the vsyscall page, read from @maps_path (/proc/self/maps): 1, 0, or -errno. */
int arch_vsyscall_mapped(const char *maps_path);

/* The Version of @package, installed, for Debian architecture @arch (or "all"), in the dpkg status file
 * @status_path: 0 and *ret (newly allocated), -ENOENT when it is not installed, or -errno. */
int arch_dpkg_installed_version(const char *status_path, const char *package, const char *arch, char **ret);

/* Whether the amd64 programs of a tree whose dpkg status file is @status_path die on this host for want of
 * the vsyscall page: an x86_64 kernel (@host_machine) that does not map it (@maps_path) and the tree's
 * amd64 libc6 older than 2.14. Returns 1 and *ret_libc_version (newly allocated), 0 (including any other
 * host, or no libc6 for amd64), or -ENOMEM. Reads nothing on another machine. */
int arch_vsyscall_missing(const char *status_path, const char *host_machine, const char *maps_path,
                          char **ret_libc_version);
