/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
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

bool arch_glibc_needs_vsyscall(const char *version) {
        const char *colon;
        unsigned long major, minor;
        char *end;

        if (isempty(version))
                return false;
        colon = strchr(version, ':'); /* an epoch */
        if (colon)
                version = colon + 1;
        if (!isdigit((unsigned char) version[0]))
                return false;
        errno = 0;
        major = strtoul(version, &end, 10);
        if (errno != 0 || *end != '.' || !isdigit((unsigned char) end[1]))
                return false;
        minor = strtoul(end + 1, &end, 10);
        if (errno != 0)
                return false;
        return major < 2 || (major == 2 && minor < 14);
}

int arch_vsyscall_mapped(const char *maps_path) {
        _cleanup_fclose_ FILE *f = fopen(maps_path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!f)
                return -errno;
        while ((n = getline(&line, &cap, f)) > 0) {
                if (line[n - 1] == '\n')
                        line[--n] = '\0';
                if (n >= 11 && streq(line + n - 10, "[vsyscall]") && line[n - 11] == ' ')
                        return 1;
        }
        return ferror(f) ? -EIO : 0;
}

/* One stanza of dpkg's status file, the fields this needs. */
typedef struct StatusStanza {
        char *package, *arch, *version;
        bool installed;
} StatusStanza;

static void status_stanza_done(StatusStanza *s) {
        free(s->package);
        free(s->arch);
        free(s->version);
        *s = (StatusStanza) {};
}

static int status_field(const char *line, const char *name, char **field) {
        size_t l = strlen(name);
        const char *v;

        if (strncmp(line, name, l) != 0 || line[l] != ':')
                return 0;
        v = line + l + 1;
        v += strspn(v, " \t");
        free(*field);
        *field = strdup(v);
        return *field ? 1 : -ENOMEM;
}

int arch_dpkg_installed_version(const char *status_path, const char *package, const char *arch, char **ret) {
        _cleanup_fclose_ FILE *f = fopen(status_path, "re");
        _cleanup_free_ char *line = NULL, *status = NULL;
        _cleanup_(status_stanza_done) StatusStanza s = {};
        size_t cap = 0;
        bool eof = false;
        int r;

        if (!f)
                return -errno;
        while (!eof) {
                ssize_t n = getline(&line, &cap, f);

                if (n < 0) {
                        if (ferror(f))
                                return -EIO;
                        eof = true;
                } else if (n > 0 && line[n - 1] == '\n')
                        line[--n] = '\0';
                if (!eof && n > 0) {
                        r = status_field(line, "Package", &s.package);
                        if (r == 0)
                                r = status_field(line, "Architecture", &s.arch);
                        if (r == 0)
                                r = status_field(line, "Version", &s.version);
                        if (r == 0)
                                r = status_field(line, "Status", &status);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* The end of a stanza: a blank line or the end of the file. */
                s.installed = status && strlen(status) > 10 && streq(status + strlen(status) - 10, " installed");
                if (s.installed && s.version && s.package && streq(s.package, package) && s.arch &&
                    (streq(s.arch, arch) || streq(s.arch, "all"))) {
                        *ret = TAKE_PTR(s.version);
                        return 0;
                }
                status_stanza_done(&s);
                status = mfree(status);
        }
        return -ENOENT;
}

int arch_vsyscall_missing(const char *status_path, const char *host_machine, const char *maps_path,
                          char **ret_libc_version) {
        _cleanup_free_ char *version = NULL;
        int r;

        if (!host_machine || !streq(host_machine, "x86_64"))
                return 0;
        r = arch_dpkg_installed_version(status_path, "libc6", "amd64", &version);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !arch_glibc_needs_vsyscall(version))
                return 0;
        if (arch_vsyscall_mapped(maps_path) != 0)
                return 0; /* mapped, or not known: say nothing */
        *ret_libc_version = TAKE_PTR(version);
        return 1;
}
