/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's Debian mirror, from apt's one-line and deb822 sources. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "config.h"

static bool uri_usable(const char *uri) {
        return (startswith(uri, "http://") || startswith(uri, "https://") || startswith(uri, "file:/")) &&
               !strstr(uri, "security");
}

/* A suite that is only an overlay on a release (security, updates, backports) cannot be bootstrapped
 * from alone; an entry listing only such suites is skipped. */
static bool suite_is_main(const char *suite) {
        static const char *const suffixes[] = { "-security", "-updates", "-backports", "-proposed-updates" };
        size_t n = strlen(suite);

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (n > k && streq(suite + n - k, suffixes[i]))
                        return false;
        }
        return true;
}

static char *uri_normalize(const char *uri) {
        char *u = strdup(uri);
        size_t n;

        if (!u)
                return NULL;
        n = strlen(u);
        while (n > 0 && u[n - 1] == '/')
                u[--n] = '\0';
        return u;
}

/* "deb [opts] URI SUITE [COMPONENT...]". With @collect, appends the URI of every deb and deb-src line to
 * *collect instead of picking the mirror. */
static int parse_one_line_file(const char *path, char **ret, char ***collect) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (getline(&line, &cap, f) >= 0) {
                _cleanup_strv_free_ char **w = NULL;
                char *hash = strchr(line, '#'), *s;
                size_t i = 1;

                if (hash)
                        *hash = '\0';
                s = strstrip(line);
                if (collect && (startswith(s, "deb-src ") || startswith(s, "deb-src\t")))
                        s += 4;
                else if (!startswith(s, "deb ") && !startswith(s, "deb\t"))
                        continue;
                /* Options in brackets may contain spaces: skip them as a unit. */
                s += 3;
                s += strspn(s, " \t");
                if (*s == '[') {
                        char *end = strchr(s, ']');
                        if (!end)
                                continue;
                        s = end + 1;
                }
                w = strv_split(s, " \t");
                if (!w)
                        return -ENOMEM;
                i = 0;
                if (collect) {
                        if (strv_length(w) >= 1 && strv_extend(collect, w[0]) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (strv_length(w) < 2 || !uri_usable(w[i]) || !suite_is_main(w[i + 1]))
                        continue;
                *ret = uri_normalize(w[i]);
                return *ret ? 1 : -ENOMEM;
        }
        return 0;
}

typedef struct Stanza {
        char **types, **uris, **suites;
        bool disabled;
} Stanza;

static void stanza_done(Stanza *s) {
        s->types = strv_free(s->types);
        s->uris = strv_free(s->uris);
        s->suites = strv_free(s->suites);
        s->disabled = false;
}

static int stanza_pick(Stanza *s, char **ret, char ***collect) {
        bool main_suite = false;

        if (collect) {
                if (!s->disabled && (strv_contains(s->types, "deb") || strv_contains(s->types, "deb-src")))
                        return strv_extend_strv(collect, s->uris);
                return 0;
        }
        if (s->disabled || !strv_contains(s->types, "deb"))
                return 0;
        for (char **x = s->suites; x && *x; x++)
                main_suite = main_suite || suite_is_main(*x);
        if (!main_suite)
                return 0;
        for (char **u = s->uris; u && *u; u++)
                if (uri_usable(*u)) {
                        *ret = uri_normalize(*u);
                        return *ret ? 1 : -ENOMEM;
                }
        return 0;
}

static int parse_deb822_file(const char *path, char **ret, char ***collect) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        _cleanup_(stanza_done) Stanza st = {};
        char ***last = NULL;
        size_t cap = 0;
        int r;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (getline(&line, &cap, f) >= 0) {
                char *s, *colon;

                if (line[0] == '#')
                        continue;
                if (line[0] == ' ' || line[0] == '\t') {
                        /* Continuation of a multi-line field. */
                        s = strstrip(line);
                        if (last && *s && !streq(s, ".")) {
                                char **more = strv_split(s, " \t");
                                if (!more)
                                        return -ENOMEM;
                                for (char **m = more; *m; m++)
                                        if (strv_extend(last, *m) < 0) {
                                                strv_free(more);
                                                return -ENOMEM;
                                        }
                                strv_free(more);
                        }
                        continue;
                }
                s = strstrip(line);
                if (*s == '\0') {
                        r = stanza_pick(&st, ret, collect);
                        if (r != 0)
                                return r;
                        stanza_done(&st);
                        last = NULL;
                        continue;
                }
                colon = strchr(s, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                last = NULL;
                if (strcasecmp(s, "Types") == 0)
                        last = &st.types;
                else if (strcasecmp(s, "URIs") == 0)
                        last = &st.uris;
                else if (strcasecmp(s, "Suites") == 0)
                        last = &st.suites;
                else if (strcasecmp(s, "Enabled") == 0) {
                        char *v = strstrip(colon + 1);
                        st.disabled = strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0;
                        continue;
                } else
                        continue;
                strv_free(*last);
                *last = strv_split(colon + 1, " \t");
                if (!*last)
                        return -ENOMEM;
        }
        return stanza_pick(&st, ret, collect);
}

int config_find_host_mirror(const char *root, char **ret) {
        _cleanup_free_ char *list = path_join(root, "etc/apt/sources.list");
        _cleanup_free_ char *dir = path_join(root, "etc/apt/sources.list.d");
        _cleanup_strv_free_ char **files = calloc(1, sizeof(char *));
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (!list || !dir || !files)
                return -ENOMEM;
        r = parse_one_line_file(list, ret, NULL);
        if (r != 0)
                return r < 0 ? r : 0;

        d = opendir(dir);
        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if ((n > 5 && streq(de->d_name + n - 5, ".list")) || (n > 8 && streq(de->d_name + n - 8, ".sources")))
                        if (strv_extend(&files, de->d_name) < 0)
                                return -ENOMEM;
        }
        strv_sort(files);
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *p = path_join(dir, *f);
                size_t n = strlen(*f);

                if (!p)
                        return -ENOMEM;
                r = streq(*f + n - 5, ".list") ? parse_one_line_file(p, ret, NULL)
                                               : parse_deb822_file(p, ret, NULL);
                if (r < 0)
                        log_debug("Failed to read %s: %s, ignoring", p, strerror(-r));
                if (r > 0)
                        return 0;
        }
        return -ENOENT;
}

int config_apt_source_uris(const char *path, char ***uris) {
        size_t n = strlen(path);

        if (n > 8 && streq(path + n - 8, ".sources"))
                return parse_deb822_file(path, NULL, uris);
        return parse_one_line_file(path, NULL, uris);
}
