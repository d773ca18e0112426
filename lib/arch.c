/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "base/util.h"
#include "config.h"

/* Debian architecture, kernel machine (uname -m), qemu-user's name. */
static const struct {
        const char *arch;
        const char *machine;
        const char *qemu;
} arch_table[] = {
        { "amd64", "x86_64", "x86_64" },
        { "i386", "i686", "i386" },
        { "arm64", "aarch64", "aarch64" },
        { "armhf", "armv7l", "arm" },
        { "armel", "armv5tel", "arm" },
        { "ppc64el", "ppc64le", "ppc64le" },
        { "s390x", "s390x", "s390x" },
        { "riscv64", "riscv64", "riscv64" },
        { "mips64el", "mips64", "mips64el" },
        { "mipsel", "mips", "mipsel" },
        { "loong64", "loongarch64", "loongarch64" },
        { "powerpc", "ppc", "ppc" },
        { "ppc64", "ppc64", "ppc64" },
        { "sparc64", "sparc64", "sparc64" },
        { "alpha", "alpha", "alpha" },
        { "hppa", "parisc", "hppa" },
        { "m68k", "m68k", "m68k" },
        { "sh4", "sh4", "sh4" },
};

const char *arch_from_machine(const char *machine) {
        for (size_t i = 0; machine && i < ELEMENTSOF(arch_table); i++)
                if (streq(arch_table[i].machine, machine))
                        return arch_table[i].arch;
        return NULL;
}

const char *arch_qemu_name(const char *arch) {
        for (size_t i = 0; arch && i < ELEMENTSOF(arch_table); i++)
                if (streq(arch_table[i].arch, arch))
                        return arch_table[i].qemu;
        return NULL;
}

int arch_runner(const char *arch, const char *host_machine, const char *binfmt_dir, char **ret_handler) {
        _cleanup_free_ char *name = NULL, *path = NULL, *text = NULL;
        const char *qemu, *host = arch_from_machine(host_machine);
        bool enabled = false, fix_binary = false;

        if (!arch || (host && streq(arch, host)) || chroot_personality(arch, host_machine))
                return ARCH_RUNNER_NATIVE;
        qemu = arch_qemu_name(arch);
        if (!qemu)
                return -ENOEXEC;
        name = strdup_printf("qemu-%s", qemu);
        path = name ? path_join(binfmt_dir, name) : NULL;
        if (!path)
                return -ENOMEM;
        /* "enabled", "interpreter PATH", "flags: POCF", "offset 0", "magic ...", "mask ...". */
        if (read_file(path, &text) < 0)
                return -ENOEXEC;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (streq(line, "enabled"))
                        enabled = true;
                else if (startswith(line, "flags:"))
                        fix_binary = strchr(line + strlen("flags:"), 'F') != NULL;
        }
        if (!enabled)
                return -ENOEXEC;
        if (!fix_binary)
                return -EPERM;
        if (ret_handler)
                *ret_handler = TAKE_PTR(name);
        return ARCH_RUNNER_QEMU;
}
