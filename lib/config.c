/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "base/log.h"
#include "base/util.h"
#include "config-internal.h"
#include "config.h"

static const char *const source_table[_CHROOT_SOURCE_MAX] = {
        [CHROOT_SOURCE_DEBOOTSTRAP] = "debootstrap",
        [CHROOT_SOURCE_DIRECTORY] = "directory",
        [CHROOT_SOURCE_TARBALL] = "tarball",
};

static const char *const distribution_table[_CHROOT_DISTRIBUTION_MAX] = {
        [CHROOT_DISTRIBUTION_DEBIAN] = "debian",
        [CHROOT_DISTRIBUTION_UBUNTU] = "ubuntu",
};

const char *chroot_source_to_string(ChrootSource s) {
        return s >= 0 && s < _CHROOT_SOURCE_MAX ? source_table[s] : NULL;
}

ChrootSource chroot_source_from_string(const char *s) {
        for (int i = 0; s && i < _CHROOT_SOURCE_MAX; i++)
                if (streq(source_table[i], s))
                        return i;
        return _CHROOT_SOURCE_INVALID;
}

const char *chroot_distribution_to_string(ChrootDistribution d) {
        return d >= 0 && d < _CHROOT_DISTRIBUTION_MAX ? distribution_table[d] : NULL;
}

ChrootDistribution chroot_distribution_from_string(const char *s) {
        for (int i = 0; s && i < _CHROOT_DISTRIBUTION_MAX; i++)
                if (streq(distribution_table[i], s))
                        return i;
        return _CHROOT_DISTRIBUTION_INVALID;
}

const char *chroot_personality(const char *arch, const char *host_machine) {
        static const struct {
                const char *machine;
                const char *arch;
        } linux32[] = {
                { "x86_64", "i386" },
                { "aarch64", "armhf" },
                { "aarch64", "armel" },
        };

        if (!arch || !host_machine)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(linux32); i++)
                if (streq(host_machine, linux32[i].machine) && streq(arch, linux32[i].arch))
                        return "linux32";
        return NULL;
}

bool chroot_name_is_valid(const char *name, const char **ret_reason) {
        const char *reason = NULL;
        size_t n;

        if (!name || name[0] == '\0')
                reason = "empty";
        else if ((n = strlen(name)) > CHROOT_NAME_MAX)
                reason = "longer than 64 characters";
        else if (streq(name, ".") || streq(name, ".."))
                reason = "'.' and '..' are not names";
        else if (strchr(name, '/'))
                reason = "contains a slash";
        else if (name[0] == '.' || name[0] == '-')
                reason = "starts with '.' or '-'";
        else
                for (const char *p = name; *p; p++) {
                        unsigned char c = (unsigned char) *p;
                        if (c < 0x20 || c == 0x7f) {
                                reason = "contains a control character";
                                break;
                        }
                        if (!isalnum(c) && !strchr("._+-", c)) {
                                reason = "contains a character other than letters, digits, '.', '_', '+' and '-'";
                                break;
                        }
                }
        if (reason && ret_reason)
                *ret_reason = reason;
        return !reason;
}

ChrootDef *chroot_def_free(ChrootDef *d) {
        if (!d)
                return NULL;
        free(d->name);
        free(d->path);
        free(d->description);
        free(d->suite);
        free(d->variant);
        free(d->architecture);
        strv_free(d->components);
        strv_free(d->packages);
        free(d->mirror);
        free(d->keyring);
        free(d->script);
        free(d->bootstrap);
        free(d->directory);
        free(d->url);
        free(d->sha256);
        free(d->profile);
        strv_free(d->aliases);
        strv_free(d->users);
        strv_free(d->groups);
        strv_free(d->root_users);
        strv_free(d->root_groups);
        free(d);
        return NULL;
}

/* ---- the key table ---- */

static int parse_string(const char *value, void *field) {
        char **s = field;
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*s);
        *s = v;
        return 0;
}

static int parse_word(const char *value, void *field) {
        if (isempty(value) || strpbrk(value, " \t,/") || value[0] == '-')
                return -EINVAL;
        return parse_string(value, field);
}

/* A program's options, split at white space, as sbuild splits --lintian-opts. */
static int parse_option_words(const char *value, void *field) {
        char ***l = field;
        char **n = strv_split(value, " \t");

        if (!n)
                return -ENOMEM;
        strv_free(*l);
        *l = n;
        return 0;
}

static int parse_words(const char *value, void *field) {
        char ***l = field;
        char **n = strv_split(value, " \t,");

        if (!n)
                return -ENOMEM;
        for (char **i = n; *i; i++)
                if ((*i)[0] == '-') {
                        strv_free(n);
                        return -EINVAL;
                }
        strv_free(*l);
        *l = n;
        return 0;
}

static int parse_aliases(const char *value, void *field) {
        char ***l = field;
        char **n = strv_split(value, " \t,");

        if (!n)
                return -ENOMEM;
        for (char **i = n; *i; i++)
                if (!chroot_name_is_valid(*i, NULL)) {
                        strv_free(n);
                        return -EINVAL;
                }
        strv_free(*l);
        *l = n;
        return 0;
}

static int parse_abs_path(const char *value, void *field) {
        if (!path_is_absolute(value) || strstr(value, "/../") || strpbrk(value, ":,\n"))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_mirror(const char *value, void *field) {
        if (!startswith(value, "http://") && !startswith(value, "https://") && !startswith(value, "file:/") &&
            !startswith(value, "ftp://"))
                return -EINVAL;
        if (strpbrk(value, " \t\n"))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_variant(const char *value, void *field) {
        if (!streq(value, "minbase") && !streq(value, "buildd") && !streq(value, "default"))
                return -EINVAL;
        return parse_string(value, field);
}

bool chroot_bootstrap_is_valid(const char *tool) {
        return tool && (streq(tool, "debootstrap") || streq(tool, "mmdebstrap"));
}

static int parse_bootstrap(const char *value, void *field) {
        if (!chroot_bootstrap_is_valid(value))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_sha256(const char *value, void *field) {
        if (strlen(value) != 64 || strspn(value, "0123456789abcdefABCDEF") != 64)
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_boolean(const char *value, void *field) {
        if (streq(value, "yes") || streq(value, "true") || streq(value, "1"))
                *(bool *) field = true;
        else if (streq(value, "no") || streq(value, "false") || streq(value, "0"))
                *(bool *) field = false;
        else
                return -EINVAL;
        return 0;
}

static int parse_source(const char *value, void *field) {
        ChrootSource s = chroot_source_from_string(value);

        if (s < 0)
                return -EINVAL;
        *(ChrootSource *) field = s;
        return 0;
}

static int parse_distribution(const char *value, void *field) {
        ChrootDistribution d = chroot_distribution_from_string(value);

        if (d < 0)
                return -EINVAL;
        *(ChrootDistribution *) field = d;
        return 0;
}

static int parse_unsigned(const char *value, void *field) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v > 86400 || value[0] == '-')
                return -EINVAL;
        *(unsigned *) field = (unsigned) v;
        return 0;
}

#define DEF_KEY(k, p, f) { "chroot", k, p, offsetof(ChrootDef, f) }
static const ConfigKey chroot_keys[] = {
        DEF_KEY("description", parse_string, description),
        DEF_KEY("source", parse_source, source),
        DEF_KEY("distribution", parse_distribution, distribution),
        DEF_KEY("suite", parse_word, suite),
        DEF_KEY("variant", parse_variant, variant),
        DEF_KEY("architecture", parse_word, architecture),
        DEF_KEY("components", parse_words, components),
        DEF_KEY("packages", parse_words, packages),
        DEF_KEY("mirror", parse_mirror, mirror),
        DEF_KEY("keyring", parse_abs_path, keyring),
        DEF_KEY("script", parse_word, script),
        DEF_KEY("bootstrap", parse_bootstrap, bootstrap),
        DEF_KEY("directory", parse_abs_path, directory),
        DEF_KEY("url", parse_string, url),
        DEF_KEY("sha256", parse_sha256, sha256),
        DEF_KEY("profile", parse_word, profile),
        DEF_KEY("aliases", parse_aliases, aliases),
        DEF_KEY("users", parse_words, users),
        DEF_KEY("groups", parse_words, groups),
        DEF_KEY("root-users", parse_words, root_users),
        DEF_KEY("root-groups", parse_words, root_groups),
        DEF_KEY("persistent", parse_boolean, persistent),
};

#define MAIN_KEY(k, p, f) { "main", k, p, offsetof(ArkoseConfig, f) }
static const ConfigKey main_keys[] = {
        MAIN_KEY("state-dir", parse_abs_path, state_dir),
        MAIN_KEY("mirror", parse_mirror, mirror),
        MAIN_KEY("default-chroot", parse_word, default_chroot),
        MAIN_KEY("bootstrap", parse_bootstrap, bootstrap),
        MAIN_KEY("hook-timeout", parse_unsigned, hook_timeout),
        MAIN_KEY("spare-sessions", parse_boolean, spare_sessions),
        MAIN_KEY("spare-idle-timeout", parse_unsigned, spare_idle_timeout),
        MAIN_KEY("spare-sessions-max", parse_unsigned, spare_sessions_max),
        { "build", "run-lintian", parse_boolean, offsetof(ArkoseConfig, run_lintian) },
        { "build", "resolve-alternatives", parse_boolean, offsetof(ArkoseConfig, resolve_alternatives) },
        { "build", "lintian-opts", parse_option_words, offsetof(ArkoseConfig, lintian_opts) },
        { "build", "run-autopkgtest", parse_boolean, offsetof(ArkoseConfig, run_autopkgtest) },
        { "build", "autopkgtest-opts", parse_option_words, offsetof(ArkoseConfig, autopkgtest_opts) },
};

typedef struct ParseState {
        FILE *file;
        unsigned line;          /* counted by line_reader(): Debian's inih passes no line numbers */
        const ConfigKey *keys;
        size_t n_keys;
        void *target;
        char **seen;            /* keys already set, to refuse duplicates */
        int error;
        unsigned error_line;
        const char *error_key;
} ParseState;

static char *line_reader(char *str, int num, void *stream) {
        ParseState *st = stream;
        char *r = fgets(str, num, st->file);

        if (r)
                st->line++;
        return r;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value) {
        _cleanup_free_ char *seen = NULL;
        ParseState *st = user;
        unsigned lineno = st->line;
        const ConfigKey *k = NULL;
        int r;

        if (st->error != 0)
                return 0;
        /* The same key name may live in several sections; one in another section is still reported. */
        for (size_t i = 0; i < st->n_keys; i++)
                if (streq(st->keys[i].key, name)) {
                        k = &st->keys[i];
                        if (streq(k->section, section))
                                break;
                }
        if (!k || !streq(k->section, section)) {
                st->error = -EINVAL;
                st->error_line = lineno;
                st->error_key = NULL; /* not a key of this section (config_error_describe() says which) */
                log_debug("line %u: unknown %s '%s' in section '%s'", lineno, k ? "section for key" : "key", name,
                          section);
                return 0;
        }
        seen = strdup_printf("%s/%s", section, name);
        if (!seen)
                r = -ENOMEM;
        else if (!(k->flags & CONFIG_KEY_REPEATABLE) && strv_contains(st->seen, seen)) {
                st->error = -ENOTUNIQ;
                st->error_line = lineno;
                st->error_key = k->key;
                return 0;
        } else
                r = strv_consume(&st->seen, TAKE_PTR(seen));
        if (r >= 0)
                r = k->parse(value, (char *) st->target + k->offset);
        if (r < 0) {
                st->error = r;
                st->error_line = lineno;
                st->error_key = k->key;
                return 0;
        }
        return 1;
}

/* @s without blanks at either end, in place. */
static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

/* @s cut to 60 characters, anything unprintable shown as '?', in place. */
static char *printable(char *s) {
        if (strlen(s) > 60)
                strcpy(s + 57, "...");
        for (char *c = s; *c; c++)
                if (!isprint((unsigned char) *c))
                        *c = '?';
        return s;
}

char *config_error_describe(int error, const char *path, unsigned line, const char *key) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL, *section = NULL;
        size_t n = 0;
        char *text = NULL, *eq, *name, *value;
        unsigned first = 0; /* where @key was given first in the section */

        if (line == 0)
                return key ? strdup_printf("'%s' is missing, or does not fit with the other keys", key) : NULL;
        f = fopen(path, "re");
        if (!f)
                return NULL;
        /* The section, and where in it @key was given first, up to the line. */
        for (unsigned i = 1; i <= line; i++) {
                if (getline(&buf, &n, f) < 0)
                        return NULL;
                text = strip(buf);
                if (i == line)
                        break;
                if (text[0] == '[' && strchr(text, ']')) {
                        free(section);
                        section = strndup(text + 1, strcspn(text + 1, "]"));
                        if (!section)
                                return NULL;
                        first = 0;
                } else if ((eq = strpbrk(text, "=:")) && text[0] != '#' && text[0] != ';') {
                        *eq = '\0';
                        if (first == 0 && key && streq(strip(text), key))
                                first = i;
                }
        }
        if (text[0] == '[')
                return strchr(text, ']') ? NULL : strdup("a section header without its ']'");
        eq = strpbrk(text, "=:");
        if (!eq)
                return strdup_printf("not a 'key = value' line: '%s'", printable(text));
        *eq = '\0';
        name = printable(strip(text));
        value = printable(strip(eq + 1));
        if (!key)
                return section ? strdup_printf("unknown key '%s' in [%s]", name, printable(section))
                               : strdup_printf("'%s' is outside of any [section]", name);
        /* (A key that may be repeated, such as bind, was refused for its value: -EINVAL.) */
        if (error == -ENOTUNIQ && first > 0)
                return strdup_printf("'%s' is given again (first on line %u); it is given once in [%s]", key,
                                     first, printable(section ?: (char *) "?"));
        if (error == -ENOTUNIQ)
                return strdup_printf("'%s' is given again; it is given once", key);
        return strdup_printf("invalid value '%s' for '%s'", value, key);
}

int config_parse(const char *path, const ConfigKey *keys, size_t n_keys, void *target, unsigned *reterr_line,
                 const char **reterr_key) {
        _cleanup_fclose_ FILE *f = NULL;
        ParseState st = { .keys = keys, .n_keys = n_keys, .target = target };
        int r;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        st.file = f;
        r = ini_parse_stream(line_reader, &st, config_ini_handler, &st);
        strv_free(st.seen);
        /* A line inih could not read at all comes first when it is earlier: after "[chroot" (no ']') the
         * keys below are in no section, but the broken line is what to fix. */
        if (st.error != 0 && r > 0 && (unsigned) r < st.error_line)
                st.error = 0;
        if (st.error != 0) {
                if (reterr_line)
                        *reterr_line = st.error_line;
                if (reterr_key)
                        *reterr_key = st.error_key;
                return st.error == -ENOMEM || st.error == -ENOTUNIQ ? st.error : -EINVAL;
        }
        if (r != 0) {
                /* inih: the first line with a syntax error, or -1 for I/O. */
                if (reterr_line)
                        *reterr_line = r > 0 ? (unsigned) r : 0;
                if (reterr_key)
                        *reterr_key = NULL;
                return r > 0 ? -EINVAL : -EIO;
        }
        return 0;
}

int chroot_def_parse_file(const char *path, const char *name, ChrootDef **ret, unsigned *reterr_line,
                          const char **reterr_key) {
        _cleanup_(chroot_def_freep) ChrootDef *d = NULL;
        const char *missing = NULL;
        int r;

        if (reterr_line)
                *reterr_line = 0;
        if (reterr_key)
                *reterr_key = NULL;
        if (!chroot_name_is_valid(name, NULL))
                return -EINVAL;

        d = calloc(1, sizeof(ChrootDef));
        if (!d)
                return -ENOMEM;
        d->source = CHROOT_SOURCE_DEBOOTSTRAP;
        d->distribution = CHROOT_DISTRIBUTION_DEBIAN;
        d->name = strdup(name);
        d->path = strdup(path);
        if (!d->name || !d->path)
                return -ENOMEM;

        r = config_parse(path, chroot_keys, ELEMENTSOF(chroot_keys), d, reterr_line, reterr_key);
        if (r < 0)
                return r;

        switch (d->source) {
        case CHROOT_SOURCE_DEBOOTSTRAP:
                if (!d->suite)
                        missing = "suite";
                break;
        case CHROOT_SOURCE_DIRECTORY:
                if (!d->directory)
                        missing = "directory";
                break;
        case CHROOT_SOURCE_TARBALL:
                if (!d->url)
                        missing = "url";
                else if (!d->sha256)
                        missing = "sha256";
                break;
        default:
                return -EINVAL;
        }
        if (missing) {
                if (reterr_key)
                        *reterr_key = missing;
                return -EINVAL;
        }
        if (!d->variant && !(d->variant = strdup("buildd")))
                return -ENOMEM;
        if (!d->components && !(d->components = strv_split("main", " ")))
                return -ENOMEM;

        *ret = TAKE_PTR(d);
        return 0;
}

static int def_path(const char *dir, const char *name, char **ret) {
        char *p = strdup_printf("%s/%s.conf", dir, name);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int chroot_def_list_names(char *const *dirs, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (char *const *d = dirs; d && *d; d++) {
                _cleanup_closedir_ DIR *dir = opendir(*d);
                struct dirent *de;

                while (dir && (de = readdir(dir))) {
                        size_t n = strlen(de->d_name);
                        _cleanup_free_ char *name = NULL;

                        if (n <= 5 || !streq(de->d_name + n - 5, ".conf"))
                                continue;
                        name = strndup(de->d_name, n - 5);
                        if (!name)
                                return -ENOMEM;
                        if (!chroot_name_is_valid(name, NULL) || strv_contains(l, name))
                                continue;
                        if (strv_consume(&l, TAKE_PTR(name)) < 0)
                                return -ENOMEM;
                }
        }
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

int chroot_def_find(char *const *dirs, const char *name_or_alias, ChrootDef **ret, char **reterr_path,
                    unsigned *reterr_line, const char **reterr_key) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (!chroot_name_is_valid(name_or_alias, NULL))
                return -EINVAL;

        /* An exact name: the first directory that has NAME.conf wins. */
        for (char *const *d = dirs; d && *d; d++) {
                _cleanup_free_ char *p = NULL;

                r = def_path(*d, name_or_alias, &p);
                if (r < 0)
                        return r;
                if (access(p, F_OK) < 0)
                        continue;
                r = chroot_def_parse_file(p, name_or_alias, ret, reterr_line, reterr_key);
                if (r < 0 && reterr_path)
                        *reterr_path = TAKE_PTR(p);
                return r;
        }

        /* Otherwise an alias; definitions that do not parse are skipped here. */
        r = chroot_def_list_names(dirs, &names);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++)
                for (char *const *d = dirs; d && *d; d++) {
                        _cleanup_(chroot_def_freep) ChrootDef *def = NULL;
                        _cleanup_free_ char *p = NULL;

                        r = def_path(*d, *n, &p);
                        if (r < 0)
                                return r;
                        if (access(p, F_OK) < 0)
                                continue;
                        if (chroot_def_parse_file(p, *n, &def, NULL, NULL) >= 0 &&
                            strv_contains(def->aliases, name_or_alias)) {
                                *ret = TAKE_PTR(def);
                                return 0;
                        }
                        break; /* only the winning file of each name counts */
                }
        return -ENOENT;
}

void arkose_config_done(ArkoseConfig *c) {
        free(c->state_dir);
        free(c->mirror);
        free(c->default_chroot);
        free(c->bootstrap);
        strv_free(c->lintian_opts);
        strv_free(c->autopkgtest_opts);
        *c = (ArkoseConfig) {};
}

int arkose_config_parse_file(const char *path, ArkoseConfig *ret, unsigned *reterr_line,
                             const char **reterr_key) {
        ArkoseConfig c = { .hook_timeout = 60, .spare_sessions = true, .spare_idle_timeout = 900,
                           .spare_sessions_max = 4 };
        int r;

        r = config_parse(path, main_keys, ELEMENTSOF(main_keys), &c, reterr_line, reterr_key);
        if (r == -ENOENT)
                r = 0;
        if (r < 0) {
                arkose_config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

static bool any_in(char *const *list, char *const *names) {
        for (char *const *n = names; n && *n; n++)
                if (strv_contains(list, *n))
                        return true;
        return false;
}

ChrootAccess chroot_def_access(const ChrootDef *d, const char *user, char *const *groups) {
        if (!d || !user)
                return CHROOT_ACCESS_NONE;
        if (strv_contains(d->root_users, user) || any_in(d->root_groups, groups))
                return CHROOT_ACCESS_ROOT;
        if (strv_contains(d->users, user) || any_in(d->groups, groups))
                return CHROOT_ACCESS_SELF;
        return CHROOT_ACCESS_NONE;
}
