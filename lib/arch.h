/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

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
