/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt: the arkose-chroot and testbed command lines the server runs (pure). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "virt.h"

/* A new strv of the given strings (NULL-terminated list); NULL on OOM. */
static char **strv_new(const char *first, ...) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        va_list ap;
        bool oom = false;

        if (!l)
                return NULL;
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                if (strv_extend(&l, s) < 0) {
                        oom = true;
                        break;
                }
        va_end(ap);
        return oom ? NULL : TAKE_PTR(l);
}

/* "arkose-chroot [-q] [--state-dir D] [--config-dir D]": what every command line starts with. */
static int arkose_prefix(const VirtPlan *p, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        if (isempty(p->arkose))
                return -EINVAL;
        l = strv_new(p->arkose, NULL);
        if (!l)
                return -ENOMEM;
        if (p->quiet && strv_extend(&l, "-q") < 0)
                return -ENOMEM;
        if (p->state_dir && (strv_extend(&l, "--state-dir") < 0 || strv_extend(&l, p->state_dir) < 0))
                return -ENOMEM;
        if (p->config_dir && (strv_extend(&l, "--config-dir") < 0 || strv_extend(&l, p->config_dir) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int virt_begin_argv(const VirtPlan *p, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (isempty(p->chroot))
                return -EINVAL;
        r = arkose_prefix(p, &l);
        if (r < 0)
                return r;
        /* -d /: no directory of ours is bound into the session. */
        if (strv_extend(&l, "-c") < 0 || strv_extendf(&l, "chroot:%s", p->chroot) < 0 ||
            strv_extend(&l, "--begin-session") < 0 || strv_extend(&l, "-d") < 0 || strv_extend(&l, "/") < 0)
                return -ENOMEM;
        if (p->session_name && (strv_extend(&l, "-n") < 0 || strv_extend(&l, p->session_name) < 0))
                return -ENOMEM;
        if (p->user && (strv_extend(&l, "-u") < 0 || strv_extend(&l, p->user) < 0))
                return -ENOMEM;
        if (p->network && (strv_extend(&l, "--network") < 0 || strv_extend(&l, p->network) < 0))
                return -ENOMEM;
        if (p->tmpfs && strv_extend(&l, "--tmpfs") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int session_argv(const VirtPlan *p, const char *session, const char *action, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (isempty(session))
                return -EINVAL;
        r = arkose_prefix(p, &l);
        if (r < 0)
                return r;
        if (strv_extend(&l, "-c") < 0 || strv_extendf(&l, "session:%s", session) < 0 ||
            strv_extend(&l, action) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int virt_end_argv(const VirtPlan *p, const char *session, char ***ret) {
        return session_argv(p, session, "--end-session", ret);
}

int virt_recover_argv(const VirtPlan *p, const char *session, char ***ret) {
        return session_argv(p, session, "--recover-session", ret);
}

int virt_info_argv(const VirtPlan *p, const char *spec, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (isempty(spec))
                return -EINVAL;
        r = arkose_prefix(p, &l);
        if (r < 0)
                return r;
        if (strv_extend(&l, "-i") < 0 || strv_extend(&l, "-c") < 0 || strv_extend(&l, spec) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int virt_execute_argv(const VirtPlan *p, const char *session, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *script = NULL;
        int r;

        r = session_argv(p, session, "--run-session", &l);
        if (r < 0)
                return r;
        /* -d /: commands start in the testbed's root, whatever the client's current directory is. */
        /* 255 when arkose-chroot itself fails: autopkgtest's "the execute command failed". */
        /* --autopkgtest: the wrapper's contract (virt.h), carried out in the testbed by its init (arkose-init),
         * without starting perl for each command. */
        if (strv_extend(&l, "--error-status") < 0 || strv_extend(&l, "255") < 0 ||
            strv_extend(&l, "--autopkgtest") < 0 || strv_extend(&l, "-u") < 0 || strv_extend(&l, "root") < 0 ||
            strv_extend(&l, "-d") < 0 || strv_extend(&l, "/") < 0 || strv_extend(&l, "--") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

char **virt_copydown_file_cmd(const char *tb_path, bool executable) {
        return strv_new("sh", "-ec", executable ? "cat >\"$1\"; chmod +x -- \"$1\"" : "cat >\"$1\"", "sh",
                        tb_path, NULL);
}

char **virt_copydown_dir_cmd(const char *tb_path) {
        return strv_new("sh", "-ec",
                        "if ! test -d \"$1\"; then mkdir -- \"$1\"; fi; cd -- \"$1\"; "
                        "tar --warning=none --preserve-permissions --extract --no-same-owner -f -",
                        "sh", tb_path, NULL);
}

char **virt_copyup_file_cmd(const char *tb_path) {
        return strv_new("cat", "--", tb_path, NULL);
}

char **virt_copyup_dir_cmd(const char *tb_path) {
        return strv_new("sh", "-ec", "cd -- \"$1\"; tar --warning=none -c . -f -", "sh", tb_path, NULL);
}

char **virt_scratch_cmd(const char *scratch, bool parents) {
        return parents ? strv_new("mkdir", "-p", "-m", "1777", "--", scratch, NULL)
                       : strv_new("mkdir", "-m", "1777", "--", scratch, NULL);
}

/* The shim a test's own "reboot" finds first in PATH after "reboot prepare-only": the testbed has no init
 * system to ask, but its init.lxc ends on SIGTERM. Marked, so that the restore removes only our own. */
#define REBOOT_SHIM "/usr/local/sbin/reboot"
#define REBOOT_SHIM_TEXT \
        "#!/bin/sh\n# autopkgtest-virt-arkose: a reboot ends the init of the container\nkill -TERM 1\n"

#define REBOOT_SHIM_INSTALL                                                                     \
        "if [ ! -e " REBOOT_SHIM " ]; then mkdir -p /usr/local/sbin; printf '" REBOOT_SHIM_TEXT \
        "' > " REBOOT_SHIM "; chmod 755 " REBOOT_SHIM "; fi; "
#define REBOOT_SAVE                                                                          \
        "for d in /var/cache /home; do if [ -w $d ]; then "                                  \
        "tar --warning=none --create --absolute-names -f $d/autopkgtest-tmpdir.tar \"$1\"; " \
        "rm -f /run/autopkgtest-reboot-prepare-mark; exit 0; fi; done; exit 1"

char **virt_reboot_save_cmd(const char *scratch, bool prepare_only) {
        return strv_new("sh", "-ec", prepare_only ? REBOOT_SHIM_INSTALL REBOOT_SAVE : REBOOT_SAVE, "sh",
                        scratch, NULL);
}

char **virt_reboot_trigger_cmd(void) {
        return strv_new("sh", "-c", "rm -f /run/autopkgtest-reboot-mark; kill -TERM 1", NULL);
}

char **virt_reboot_restore_cmd(void) {
        return strv_new("sh", "-ec",
                        "if grep -qs '^# autopkgtest-virt-arkose' " REBOOT_SHIM "; then rm -f " REBOOT_SHIM
                        "; fi; "
                        "for d in /var/cache /home; do if [ -e $d/autopkgtest-tmpdir.tar ]; then "
                        "tar --warning=none --extract --absolute-names -f $d/autopkgtest-tmpdir.tar; "
                        "rm $d/autopkgtest-tmpdir.tar; exit 0; fi; done; exit 1",
                        NULL);
}

char **virt_host_tar_create_cmd(const char *host_dir) {
        return strv_new("tar", "--directory", host_dir, "--warning=none", "-c", ".", "-f", "-", NULL);
}

char **virt_host_tar_extract_cmd(const char *host_dir) {
        return strv_new("tar", "--directory", host_dir, "--warning=none", "--preserve-permissions",
                        "--extract", "--no-same-owner", "-f", "-", NULL);
}

char **virt_shell_cmd(const char *dir, char *const *vars, const char *term) {
        _cleanup_strv_free_ char **l = NULL;

        /* "$1" is the directory, the rest VAR=VAL words: nothing of them is parsed by the shell. */
        l = strv_new("sh", "-c",
                     "cd \"$1\" || exit; shift; for e in \"$@\"; do export \"$e\"; done; "
                     "exec bash -i",
                     "sh", dir, NULL);
        if (!l || strv_extend_strv(&l, vars) < 0)
                return NULL;
        if (!isempty(term) && strv_extendf(&l, "TERM=%s", term) < 0)
                return NULL;
        return TAKE_PTR(l);
}

int virt_chroot_candidates(const char *name, const char *arch, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        bool exact = false;

        if (!l)
                return -ENOMEM;
        if (startswith(name, "chroot:")) {
                name += strlen("chroot:");
                exact = true;
        }
        if (isempty(name))
                return -EINVAL;
        /* sbuild's order for a native build (Sbuild::ChrootInfo::find); a version names one tree. */
        if (!exact && !strchr(name, '@') && !isempty(arch))
                if (strv_extendf(&l, "%s-%s-sbuild", name, arch) < 0 ||
                    strv_extendf(&l, "%s-sbuild", name) < 0 || strv_extendf(&l, "%s-%s", name, arch) < 0)
                        return -ENOMEM;
        if (strv_extend(&l, name) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

char *virt_info_field(const char *info, const char *key) {
        size_t klen = strlen(key);

        for (const char *line = info; line && *line;) {
                const char *end = strchrnul(line, '\n'), *p = line;

                p += strspn(p, " \t");
                /* The key, then its column's padding (two spaces at least, or a tab), or nothing: a field
                 * name may hold spaces ("Session Purged"), so one space would match a longer key. */
                if (strneq(p, key, klen) && (startswith(p + klen, "  ") || p[klen] == '\t' ||
                                             p[klen] == '\n' || !p[klen] || streq(p + klen, " "))) {
                        const char *v = p + klen, *e = end;

                        v += strspn(v, " \t");
                        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                                e--;
                        return strndup(v, e > v ? (size_t) (e - v) : 0);
                }
                line = *end ? end + 1 : end;
        }
        return NULL;
}

bool virt_info_has_tree(const char *info) {
        _cleanup_free_ char *path = virt_info_field(info, "Path");
        return !isempty(path);
}
