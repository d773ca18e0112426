/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "base/macro.h"
#include "base/util.h"
#include "buildplan.h"

bool buildplan_arch_name_valid(const char *arch) {
        return arch && *arch && strspn(arch, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(arch);
}

const char *buildplan_host_arch(const BuildPlan *p) {
        return p->host_arch ?: p->build_arch;
}

bool buildplan_is_cross(const BuildPlan *p) {
        return p->host_arch && p->build_arch && !streq(p->host_arch, p->build_arch);
}

const char *buildplan_profiles(const BuildPlan *p) {
        if (p->profiles)
                return p->profiles;
        return buildplan_is_cross(p) ? "cross,nocheck" : NULL;
}

bool buildplan_builds_arch_all(const BuildPlan *p) {
        if (p->binary_only)
                return false;
        if (p->arch_all || p->no_arch_all)
                return p->arch_all;
        return !buildplan_is_cross(p);
}

static bool buildplan_indep_only(const BuildPlan *p) {
        return p->no_arch_any && buildplan_builds_arch_all(p);
}

bool buildplan_builds_something(const BuildPlan *p) {
        return p->source_too || !p->no_arch_any || buildplan_builds_arch_all(p);
}

/* dpkg-buildpackage's option saying what to build: sbuild's dpkgopt table (Build.pm), indexed by source,
 * arch:all and arch:any. NULL for a full build ("" in sbuild) and for nothing, which callers refuse. */
static const char *buildplan_what(const BuildPlan *p) {
        static const char *const table[2][2][2] = {
                { { NULL, "-B" }, { "-A", "-b" } },
                { { "-S", "-G" }, { "-g", NULL } },
        };
        return table[p->source_too][buildplan_builds_arch_all(p)][!p->no_arch_any];
}

int buildplan_dpkg_buildpackage_argv(const BuildPlan *p, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        const char *what = buildplan_what(p), *profiles = buildplan_profiles(p);

        if (!buildplan_builds_something(p))
                return -EINVAL;
        if (strv_extend(&argv, "dpkg-buildpackage") < 0 || strv_extend(&argv, "-us") < 0 ||
            strv_extend(&argv, "-uc") < 0)
                return -ENOMEM;
        if (buildplan_is_cross(p) && strv_extendf(&argv, "-a%s", p->host_arch) < 0)
                return -ENOMEM;
        if (what && strv_extend(&argv, what) < 0)
                return -ENOMEM;
        if (profiles && strv_extendf(&argv, "-P%s", profiles) < 0)
                return -ENOMEM;
        if (p->source_too && p->force_orig_source && strv_extend(&argv, "-sa") < 0)
                return -ENOMEM;
        for (char **o = p->source_options; p->source_too && o && *o; o++)
                if (strv_extendf(&argv, "--source-option=%s", *o) < 0)
                        return -ENOMEM;
        if (strv_extend_strv(&argv, p->user_options) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

int buildplan_deb_build_options(const BuildPlan *p, const char *env, const char *jobs, unsigned default_jobs,
                                char **ret) {
        const char *base = env ?: buildplan_is_cross(p) ? "nocheck" : NULL;
        _cleanup_strv_free_ char **words = strv_split(base ?: "", " \t\n"), **kept = NULL;
        bool has_parallel = false;
        char *s;

        if (!words)
                return -ENOMEM;
        for (char **w = words; *w; w++) {
                if (startswith(*w, "parallel=")) {
                        has_parallel = true;
                        if (jobs)
                                continue; /* --jobs replaces the caller's */
                }
                if (strv_extend(&kept, *w) < 0)
                        return -ENOMEM;
        }
        if (jobs ? strv_extendf(&kept, "parallel=%s", jobs) < 0
                 : !has_parallel && strv_extendf(&kept, "parallel=%u", default_jobs ?: 1) < 0)
                return -ENOMEM;
        s = kept ? strv_join(kept, " ") : strdup("");
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int buildplan_build_env(const BuildPlan *p, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;

        if (buildplan_is_cross(p) &&
            strv_extendf(&env, "CONFIG_SITE=/etc/dpkg-cross/cross-config.%s", p->host_arch) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(env);
        return 0;
}

int buildplan_deps_setup_argv(const BuildPlan *p, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;

        if (buildplan_is_cross(p) &&
            (strv_extend(&argv, "dpkg") < 0 || strv_extend(&argv, "--add-architecture") < 0 ||
             strv_extend(&argv, p->host_arch) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

int buildplan_core_deps_argv(const BuildPlan *p, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;

        if (!buildplan_is_cross(p)) {
                if (strv_extend(&argv, "install") < 0 || strv_extend(&argv, "build-essential") < 0)
                        return -ENOMEM;
        } else if (strv_extend(&argv, "satisfy") < 0 ||
                   strv_extendf(&argv,
                                "build-essential:native, crossbuild-essential-%s:native, libc-dev:%s, "
                                "libstdc++-dev:%s",
                                p->host_arch, p->host_arch, p->host_arch) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* Appends apt-get's @command, with "-a HOST" for a cross build and "-P PROFILES" when there are profiles, to
 * *argv. */
static int apt_command_for(const BuildPlan *p, const char *command, char ***argv) {
        const char *profiles = buildplan_profiles(p);

        if (strv_extend(argv, command) < 0)
                return -ENOMEM;
        if (buildplan_is_cross(p) && (strv_extend(argv, "-a") < 0 || strv_extend(argv, p->host_arch) < 0))
                return -ENOMEM;
        if (profiles && (strv_extend(argv, "-P") < 0 || strv_extend(argv, profiles) < 0))
                return -ENOMEM;
        return 0;
}

int buildplan_build_dep_argv(const BuildPlan *p, const char *src, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;

        if (apt_command_for(p, "build-dep", &argv) < 0)
                return -ENOMEM;
        if (buildplan_indep_only(p) && strv_extend(&argv, "--indep-only") < 0)
                return -ENOMEM;
        if (strv_extend(&argv, src) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* Appends to *@out (a string, "" at first) the items of @l, each after ", " but the first. */
static int join_into(char **out, char **l) {
        for (char **i = l; i && *i; i++) {
                char *n = strdup_printf("%s%s%s", *out, isempty(*out) ? "" : ", ", *i);

                if (!n)
                        return -ENOMEM;
                free(*out);
                *out = n;
        }
        return 0;
}

int buildplan_add_deps_argv(const BuildPlan *p, char ***ret) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *deps = strdup(""), *conflicts = strdup("");
        bool any = !p->no_arch_any, all = buildplan_builds_arch_all(p);

        *ret = NULL;
        if (!deps || !conflicts || join_into(&deps, p->add_depends) < 0 ||
            (any && join_into(&deps, p->add_depends_arch) < 0) || (all && join_into(&deps, p->add_depends_indep) < 0) ||
            join_into(&conflicts, p->add_conflicts) < 0 || (any && join_into(&conflicts, p->add_conflicts_arch) < 0) ||
            (all && join_into(&conflicts, p->add_conflicts_indep) < 0))
                return -ENOMEM;
        if (isempty(deps) && isempty(conflicts))
                return 0;
        if (apt_command_for(p, "satisfy", &argv) < 0)
                return -ENOMEM;
        if (!isempty(deps) && strv_extend(&argv, deps) < 0)
                return -ENOMEM;
        if (!isempty(conflicts) && strv_extendf(&argv, "Conflicts: %s", conflicts) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

bool buildplan_deps_dummy(const BuildPlan *p) {
        return !buildplan_is_cross(p);
}

int buildplan_key_text(const BuildPlan *p, const BuildKeyInputs *in, char **ret) {
        _cleanup_strv_free_ char **add = NULL;
        _cleanup_free_ char *add_line = NULL;
        char *s;

        if (buildplan_add_deps_argv(p, &add) < 0)
                return -ENOMEM;
        if (add) {
                _cleanup_free_ char *words = strv_join(add, "\t");

                add_line = words ? strdup_printf("add=%s\n", words) : NULL;
                if (!add_line)
                        return -ENOMEM;
        }
        s = strdup_printf("tree=%s\nhost=%s\nprofiles=%s\nindep-only=%d\nextra=%s\nrepositories=%s\n"
                          "keys=%s\nsetup=%s\n%s%s%s",
                          in->tree, buildplan_host_arch(p) ?: "", buildplan_profiles(p) ?: "",
                          buildplan_indep_only(p), in->extra ?: "", in->repositories ?: "", in->keys ?: "",
                          in->setup ?: "", add_line ?: "",
                          !buildplan_deps_dummy(p)     ? ""
                          : p->resolve_alternatives ? "dummy=alternatives\n"
                                                    : "dummy=first-alternatives\n",
                          in->fields ?: "");
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

char *buildplan_shell_join(char *const *argv) {
        _cleanup_free_ char *out = strdup("");

        if (!out)
                return NULL;
        for (char *const *a = argv; a && *a; a++) {
                size_t n = strlen(out);
                char *grown = realloc(out, n + 4 * strlen(*a) + 4);
                char *w;

                if (!grown)
                        return NULL;
                out = grown;
                w = out + n;
                if (a != argv)
                        *w++ = ' ';
                *w++ = '\'';
                for (const char *c = *a; *c; c++)
                        if (*c == '\'') {
                                memcpy(w, "'\\''", 4);
                                w += 4;
                        } else
                                *w++ = *c;
                *w++ = '\'';
                *w = '\0';
        }
        return TAKE_PTR(out);
}

int buildplan_control_archs(const char *control, char ***ret) {
        _cleanup_strv_free_ char **out = NULL;
        unsigned paragraph = 0;
        bool blank = true;

        for (const char *v = control ?: ""; *v;) {
                size_t n = strcspn(v, "\n");
                _cleanup_free_ char *line = strndup(v, n);
                _cleanup_strv_free_ char **words = NULL;

                v += n + (v[n] == '\n');
                if (!line)
                        return -ENOMEM;
                if (strspn(line, " \t") == n) {
                        blank = true; /* paragraphs are separated by blank lines */
                        continue;
                }
                if (blank && line[0] != '#')
                        paragraph++;
                blank = false;
                if (paragraph < 2 || strncasecmp(line, "Architecture:", strlen("Architecture:")) != 0)
                        continue;
                words = strv_split(line + strlen("Architecture:"), " \t");
                if (!words)
                        return -ENOMEM;
                for (char **w = words; *w; w++)
                        if (!isempty(*w) && !strv_contains(out, *w) && strv_extend(&out, *w) < 0)
                                return -ENOMEM;
        }
        *ret = out ? TAKE_PTR(out) : calloc(1, sizeof(char *));
        return *ret ? 0 : -ENOMEM;
}

/* One problem line of apt's unmet dependencies list, @line with its indentation, as the user reads it. */
static const char *apt_problem(const char *line) {
        const char *sep;

        line += strspn(line, " \t");
        sep = strstr(line, " : ");
        if (sep && (startswith(line, "builddeps:") || startswith(line, "satisfy:") ||
                    startswith(line, BUILDPLAN_DEPS_DUMMY " : ")))
                return sep + 3;
        return line;
}

int buildplan_apt_failure(const char *log, char **ret) {
        _cleanup_free_ char *copy = strdup(log ?: ""), *last_error = NULL;
        _cleanup_strv_free_ char **problems = NULL;
        bool in_list = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (streq(line, "The following packages have unmet dependencies:")) {
                        in_list = true;
                        continue;
                }
                if (in_list && (line[0] == ' ' || line[0] == '\t')) {
                        const char *p = apt_problem(line);
                        if (!isempty(p) && !strv_contains(problems, p) && strv_extend(&problems, p) < 0)
                                return -ENOMEM;
                        continue;
                }
                in_list = false;
                if (startswith(line, "E: ")) {
                        free(last_error);
                        last_error = strdup(line + 3);
                        if (!last_error)
                                return -ENOMEM;
                }
        }
        if (problems) {
                *ret = strv_join(problems, "; ");
                return *ret ? 0 : -ENOMEM;
        }
        *ret = TAKE_PTR(last_error);
        return 0;
}

int buildplan_changes_files(const char *changes, char ***ret) {
        _cleanup_free_ char *copy = strdup(changes ?: "");
        _cleanup_strv_free_ char **files = NULL;
        bool in_files = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *name;

                if (line[0] != ' ' && line[0] != '\t') {
                        in_files = startswith(line, "Files:");
                        continue;
                }
                if (!in_files)
                        continue;
                name = strrchr(line, ' ');
                name = name ? name + 1 : line + 1;
                if (isempty(name) || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                        continue;
                if (strv_extend(&files, name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(files);
        return 0;
}

int buildplan_binnmu_version(const char *version, unsigned binnmu, const char *append, char **ret) {
        char nmu[16] = "";
        char *v;

        if (binnmu > 0)
                snprintf(nmu, sizeof(nmu), "+b%u", binnmu);
        v = strdup_printf("%s%s%s", version, append ?: "", nmu);
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

bool buildplan_version_suffix_valid(const char *s) {
        return !isempty(s) &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~") == strlen(s);
}

int buildplan_changelog_date(const char *stamp, time_t now, char **ret) {
        static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        const char *digits = stamp && stamp[0] == '+' ? stamp + 1 : stamp;
        time_t t = now;
        struct tm tm;
        char *d;

        if (stamp && strchr(stamp, '\n'))
                return -EINVAL;
        if (stamp && !(digits[0] >= '1' && digits[0] <= '9' && strspn(digits, "0123456789") == strlen(digits))) {
                d = strdup(stamp);
                if (!d)
                        return -ENOMEM;
                *ret = d;
                return 0;
        }
        if (stamp) {
                char *end;
                unsigned long long v;

                errno = 0;
                v = strtoull(digits, &end, 10);
                if (errno != 0 || *end != '\0' || v > (unsigned long long) INT64_MAX)
                        return -EINVAL;
                t = (time_t) v;
        }
        /* Names of the C locale, whatever ours is (sbuild's strftime_c). */
        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        d = strdup_printf("%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

int buildplan_binnmu_entry(const BinnmuEntry *e, char **ret) {
        const char *fields[] = { e->source, e->version, e->distribution, e->host_arch, e->append, e->maintainer, e->date };
        _cleanup_free_ char *append = NULL, *text = NULL;
        char *s;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i] && strchr(fields[i], '\n'))
                        return -EINVAL;
        if (e->append) {
                append = strdup_printf("  * Append %s to version number; no source changes\n", e->append);
                if (!append)
                        return -ENOMEM;
        }
        if (e->text) {
                _cleanup_strv_free_ char **lines = strv_split(e->text, "\n");
                _cleanup_free_ char *joined = lines ? strv_join(lines, "    ") : NULL;

                if (!joined)
                        return -ENOMEM;
                text = strdup_printf("  * Binary-only non-maintainer upload for %s; no source changes.\n  * %s\n",
                                     e->host_arch, joined);
                if (!text)
                        return -ENOMEM;
        }
        s = strdup_printf("%s (%s) %s; urgency=low, binary-only=yes\n\n%s%s\n -- %s  %s\n\n", e->source, e->version,
                          e->distribution, append ?: "", text ?: "", e->maintainer, e->date);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int buildplan_source_spec(const char *arg, char **ret_name, char **ret_version) {
        _cleanup_free_ char *name = NULL, *version = NULL;
        const char *us;
        size_t n = strlen(arg);

        *ret_name = *ret_version = NULL;
        if (strchr(arg, '/') || (n > 4 && streq(arg + n - 4, ".dsc")) || streq(arg, ".") || streq(arg, ".."))
                return 0;
        us = strchr(arg, '_');
        name = us ? strndup(arg, (size_t) (us - arg)) : strdup(arg);
        if (!name)
                return -ENOMEM;
        if (strlen(name) < 2 || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", name[0]) ||
            name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789+-.")] != '\0')
                return -EINVAL;
        if (us) {
                const char *v = us + 1;

                if (!(v[0] >= '0' && v[0] <= '9') ||
                    v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~:-")] != '\0')
                        return -EINVAL;
                version = strdup(v);
                if (!version)
                        return -ENOMEM;
        }
        *ret_name = TAKE_PTR(name);
        *ret_version = TAKE_PTR(version);
        return 1;
}

int buildplan_dsc_files(const char *dsc, char ***ret_names, char ***ret_sha256) {
        _cleanup_strv_free_ char **names = NULL, **sums = NULL;
        _cleanup_free_ char *text = strdup(dsc);
        bool in = false;

        if (!text)
                return -ENOMEM;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char sum[65], name[256];
                unsigned long long size;
                int end = 0;

                line[strcspn(line, "\r")] = '\0';
                if (line[0] != ' ' && line[0] != '\t') {
                        if (in)
                                break; /* the next field */
                        in = strncasecmp(line, "Checksums-Sha256:", 17) == 0;
                        if (in && line[17 + strspn(line + 17, " \t")] != '\0')
                                return -EBADMSG; /* its value is on the lines below */
                        continue;
                }
                if (!in)
                        continue;
                if (sscanf(line, " %64s %llu %255s %n", sum, &size, name, &end) != 3 || line[end] != '\0' ||
                    strlen(sum) != 64 || sum[strspn(sum, "0123456789abcdefABCDEF")] != '\0' || name[0] == '.' ||
                    name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.+~_-")] != '\0')
                        return -EBADMSG;
                for (char *c = sum; *c; c++)
                        if (*c >= 'A' && *c <= 'F')
                                *c = (char) (*c - 'A' + 'a');
                if (strv_extend(&names, name) < 0 || strv_extend(&sums, sum) < 0)
                        return -ENOMEM;
        }
        if (!names)
                return -EBADMSG;
        *ret_names = TAKE_PTR(names);
        *ret_sha256 = TAKE_PTR(sums);
        return 0;
}
