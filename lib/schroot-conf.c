/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "base/util.h"
#include "config.h"
#include "schroot-conf.h"

void schroot_chroot_free(SchrootChroot *c) {
        if (!c)
                return;
        free(c->name);
        free(c->path);
        free(c->type);
        free(c->description);
        free(c->directory);
        free(c->file);
        free(c->union_type);
        free(c->profile);
        free(c->personality);
        strv_free(c->users);
        strv_free(c->groups);
        strv_free(c->root_users);
        strv_free(c->root_groups);
        strv_free(c->aliases);
        free(c);
}

void schroot_chroots_free(SchrootChroot **l) {
        for (SchrootChroot **c = l; c && *c; c++)
                schroot_chroot_free(*c);
        free(l);
}

typedef struct LoadState {
        FILE *file;
        const char *path;
        unsigned line;
        SchrootChroot ***list;
        size_t n;
        SchrootChroot *current;
        int error;
        unsigned error_line;
} LoadState;

/* schroot ends a line at '#' wherever it is (schroot.conf(5)); inih only knows ';'. */
static char *schroot_line_reader(char *str, int num, void *stream) {
        LoadState *st = stream;
        char *r = fgets(str, num, st->file), *hash;

        if (!r)
                return NULL;
        st->line++;
        hash = strchr(str, '#');
        if (hash) {
                hash[0] = '\n';
                hash[1] = '\0';
        }
        return r;
}

/* "a, b,,c" → {"a", "b", "c"} */
static int split_commas(const char *value, char ***ret) {
        _cleanup_strv_free_ char **parts = strv_split(value, ",");
        _cleanup_strv_free_ char **out = NULL;

        if (!parts)
                return -ENOMEM;
        for (char **p = parts; *p; p++) {
                char *s = strstrip(*p);
                if (!isempty(s) && !strv_contains(out, s) && strv_extend(&out, s) < 0)
                        return -ENOMEM;
        }
        strv_free(*ret);
        *ret = out ? TAKE_PTR(out) : calloc(1, sizeof(char *));
        return *ret ? 0 : -ENOMEM;
}

static int set_string(char **field, const char *value) {
        char *s = strdup(value);

        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static int load_fail(LoadState *st, int r) {
        st->error = r;
        st->error_line = st->line;
        return 0;
}

static int schroot_ini_handler(void *user, const char *section, const char *name, const char *value) {
        LoadState *st = user;
        SchrootChroot *c;
        int r = 0;

        if (st->error != 0)
                return 0;
        if (isempty(section))
                return load_fail(st, -EINVAL); /* a key before the first [chroot] */
        if (!st->current || !streq(st->current->name, section)) {
                SchrootChroot **l;

                for (size_t i = 0; i < st->n; i++)
                        if (streq((*st->list)[i]->name, section))
                                return load_fail(st, -EINVAL); /* defined twice */
                c = calloc(1, sizeof(*c));
                if (!c)
                        return load_fail(st, -ENOMEM);
                l = reallocarray(*st->list, st->n + 2, sizeof(SchrootChroot *));
                if (!l) {
                        free(c);
                        return load_fail(st, -ENOMEM);
                }
                *st->list = l;
                l[st->n++] = c;
                l[st->n] = NULL;
                st->current = c;
                if (set_string(&c->name, section) < 0 || set_string(&c->path, st->path) < 0)
                        return load_fail(st, -ENOMEM);
        }
        c = st->current;

        if (strchr(name, '['))
                return 1; /* localised: description[de_DE] */
        if (streq(name, "type"))
                r = set_string(&c->type, value);
        else if (streq(name, "description"))
                r = set_string(&c->description, value);
        else if (streq(name, "directory"))
                r = set_string(&c->directory, value);
        else if (streq(name, "file"))
                r = set_string(&c->file, value);
        else if (streq(name, "union-type"))
                r = set_string(&c->union_type, value);
        else if (streq(name, "profile"))
                r = set_string(&c->profile, value);
        else if (streq(name, "script-config")) {
                /* "sbuild/config" → "sbuild"; it takes precedence over profile (schroot.conf(5)). */
                _cleanup_free_ char *d = strdup(value);
                char *slash = d ? strrchr(d, '/') : NULL;

                if (!d)
                        r = -ENOMEM;
                else {
                        if (slash)
                                *slash = '\0';
                        r = set_string(&c->profile, d);
                }
        } else if (streq(name, "personality"))
                r = set_string(&c->personality, value);
        else if (streq(name, "users"))
                r = split_commas(value, &c->users);
        else if (streq(name, "groups"))
                r = split_commas(value, &c->groups);
        else if (streq(name, "root-users"))
                r = split_commas(value, &c->root_users);
        else if (streq(name, "root-groups"))
                r = split_commas(value, &c->root_groups);
        else if (streq(name, "aliases"))
                r = split_commas(value, &c->aliases);
        return r < 0 ? load_fail(st, r) : 1;
}

static int load_file(const char *path, SchrootChroot ***list, size_t *n, char **reterr_path, unsigned *reterr_line) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        LoadState st = { .path = path, .list = list, .n = *n };
        int r;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        st.file = f;
        r = ini_parse_stream(schroot_line_reader, &st, schroot_ini_handler, &st);
        *n = st.n;
        if (st.error != 0 || r != 0) {
                if (reterr_path)
                        *reterr_path = strdup(path);
                if (reterr_line)
                        *reterr_line = st.error != 0 ? st.error_line : (r > 0 ? (unsigned) r : 0);
                return st.error == -ENOMEM ? -ENOMEM : -EINVAL;
        }
        return 0;
}

static bool run_parts_name(const char *name) {
        if (isempty(name))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-'))
                        return false;
        return true;
}

int schroot_config_load(const char *dir, SchrootChroot ***ret, char **reterr_path, unsigned *reterr_line) {
        _cleanup_free_ char *conf = path_join(dir, "schroot.conf"), *d = path_join(dir, "chroot.d");
        _cleanup_strv_free_ char **names = NULL;
        SchrootChroot **list = calloc(1, sizeof(SchrootChroot *));
        size_t n = 0;
        int r;

        if (reterr_path)
                *reterr_path = NULL;
        if (reterr_line)
                *reterr_line = 0;
        if (!conf || !d || !list) {
                free(list);
                return -ENOMEM;
        }
        r = load_file(conf, &list, &n, reterr_path, reterr_line);
        if (r < 0)
                goto fail;

        DIR *dh = opendir(d);
        if (!dh && errno != ENOENT) {
                r = -errno;
                goto fail;
        }
        if (dh) {
                struct dirent *de;

                while ((de = readdir(dh)))
                        if (run_parts_name(de->d_name) && strv_extend(&names, de->d_name) < 0) {
                                closedir(dh);
                                r = -ENOMEM;
                                goto fail;
                        }
                closedir(dh);
        }
        strv_sort(names);
        for (char **name = names; name && *name; name++) {
                _cleanup_free_ char *p = path_join(d, *name);

                r = p ? load_file(p, &list, &n, reterr_path, reterr_line) : -ENOMEM;
                if (r < 0)
                        goto fail;
        }
        *ret = list;
        return 0;
fail:
        schroot_chroots_free(list);
        return r;
}

static const char *schroot_profile_to_arkose(const char *profile) {
        if (profile && streq(profile, "sbuild"))
                return "buildd";
        if (profile && streq(profile, "desktop"))
                return "desktop";
        return "dev";
}

/* The 32-bit architecture a personality=linux32 chroot has on a host of @host_arch. */
static const char *linux32_arch(const char *host_arch) {
        if (streq(host_arch, "amd64"))
                return "i386";
        if (streq(host_arch, "arm64"))
                return "armhf";
        return NULL;
}

/* The lines of the definition: "KEY = A B C", or nothing for an empty list. */
static int append_list(char ***lines, const char *key, char *const *l) {
        _cleanup_free_ char *joined = NULL;

        if (strv_length(l) == 0)
                return 0;
        joined = strv_join(l, " ");
        return joined ? strv_extendf(lines, "%s = %s\n", key, joined) : -ENOMEM;
}

int schroot_chroot_definition(const SchrootChroot *c, const char *tree_arch, const char *host_arch,
                              const char *sha256, char **ret, const char **ret_reason) {
        _cleanup_strv_free_ char **aliases = NULL, **lines = NULL;
        const char *type = c->type ?: "plain", *arch = NULL;
        bool tarball;

        if (!chroot_name_is_valid(c->name, NULL)) {
                *ret_reason = "its name is not one arkose-chroot takes (letters, digits, '.', '_', '+', '-')";
                return -EINVAL;
        }
        if (streq(type, "plain") || streq(type, "directory"))
                tarball = false;
        else if (streq(type, "file"))
                tarball = true;
        else {
                *ret_reason = "its type is not supported (only directory, plain and file): copy its tree with "
                              "'arkose-chroot import NAME DIR' instead";
                return -EOPNOTSUPP;
        }
        if (!tarball && (isempty(c->directory) || !path_is_absolute(c->directory))) {
                *ret_reason = "it has no absolute directory=";
                return -EINVAL;
        }
        if (tarball && (isempty(c->file) || !path_is_absolute(c->file))) {
                *ret_reason = "it has no absolute file=";
                return -EINVAL;
        }
        if (tarball && isempty(sha256)) {
                *ret_reason = "its tarball's checksum is not known";
                return -EINVAL;
        }
        for (char *const *a = c->aliases; a && *a; a++)
                if (chroot_name_is_valid(*a, NULL) && !streq(*a, c->name) && strv_extend(&aliases, *a) < 0)
                        return -ENOMEM;

        if (tree_arch && host_arch && !streq(tree_arch, host_arch))
                arch = tree_arch;
        else if (!tree_arch && host_arch && c->personality &&
                 (streq(c->personality, "linux32") || streq(c->personality, "linux_32bit")))
                arch = linux32_arch(host_arch);

        const char *description = !isempty(c->description) ? c->description : c->name;
        bool overlaid = tarball || (c->union_type && !streq(c->union_type, "none"));

        if (strv_extendf(&lines, "# schroot's chroot [%s] of %s, carried over by arkose-chroot import-schroot.\n",
                         c->name, c->path ?: "?") < 0 ||
            (!overlaid && strv_extend(&lines, "# schroot wrote its sessions' changes into the tree (no union-type); "
                                              "arkose-chroot's sessions are\n# throw-away overlays over it, as with "
                                              "union-type=overlay.\n") < 0) ||
            strv_extendf(&lines, "[chroot]\ndescription = %s\n", description) < 0 ||
            (tarball ? strv_extendf(&lines, "source = tarball\nurl = %s\nsha256 = %s\n", c->file, sha256)
                     : strv_extendf(&lines, "source = directory\ndirectory = %s\n", c->directory)) < 0 ||
            strv_extendf(&lines, "profile = %s\n", schroot_profile_to_arkose(c->profile)) < 0 ||
            (arch && strv_extendf(&lines, "architecture = %s\n", arch) < 0) ||
            append_list(&lines, "aliases", aliases) < 0 || append_list(&lines, "users", c->users) < 0 ||
            append_list(&lines, "groups", c->groups) < 0 || append_list(&lines, "root-users", c->root_users) < 0 ||
            append_list(&lines, "root-groups", c->root_groups) < 0)
                return -ENOMEM;
        *ret = strv_join(lines, "");
        return *ret ? 0 : -ENOMEM;
}

int dpkg_status_arch(const char *root, char **ret) {
        _cleanup_free_ char *path = path_join(root, "var/lib/dpkg/status"), *content = NULL;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file(path, &content);
        if (r < 0)
                return r;
        /* Stanzas are separated by blank lines; find "Package: dpkg" and its "Architecture:". */
        for (char *stanza = content; stanza && *stanza;) {
                char *end = strstr(stanza, "\n\n");

                if (end)
                        *end = '\0';
                if (startswith(stanza, "Package: dpkg\n") || strstr(stanza, "\nPackage: dpkg\n")) {
                        char *a = startswith(stanza, "Architecture: ") ? stanza : strstr(stanza, "\nArchitecture: ");
                        if (!a)
                                return -ENOENT;
                        a += a == stanza ? strlen("Architecture: ") : strlen("\nArchitecture: ");
                        *ret = strndup(a, strcspn(a, "\n"));
                        return *ret ? 0 : -ENOMEM;
                }
                stanza = end ? end + 2 : NULL;
        }
        return -ENOENT;
}

int schroot_env_append(char ***env, const SchrootEnv *e) {
        _cleanup_free_ char *command = e->argv && e->argv[0] ? strv_join(e->argv, " ") : strdup(e->shell ?: "");
        size_t j = 0;

        if (!command)
                return -ENOMEM;
        for (size_t i = 0; *env && (*env)[i]; i++) {
                if (startswith((*env)[i], "SCHROOT_"))
                        free((*env)[i]);
                else
                        (*env)[j++] = (*env)[i];
        }
        if (*env)
                (*env)[j] = NULL;

        if ((strlen(command) <= SCHROOT_COMMAND_MAX && strv_extendf(env, "SCHROOT_COMMAND=%s", command) < 0) ||
            strv_extendf(env, "SCHROOT_USER=%s", e->user) < 0 ||
            strv_extendf(env, "SCHROOT_GROUP=%s", e->group) < 0 ||
            strv_extendf(env, "SCHROOT_UID=%u", (unsigned) e->uid) < 0 ||
            strv_extendf(env, "SCHROOT_GID=%u", (unsigned) e->gid) < 0 ||
            strv_extendf(env, "SCHROOT_CHROOT_NAME=%s", e->chroot) < 0 ||
            strv_extendf(env, "SCHROOT_ALIAS_NAME=%s", e->alias ?: e->chroot) < 0 ||
            strv_extendf(env, "SCHROOT_SESSION_ID=%s", e->session_id) < 0)
                return -ENOMEM;
        return 0;
}
