/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* local-groups: a user's groups from /etc/group (see local-groups.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "local-groups.h"

static const char *next_line(const char *l) {
        const char *n = strchr(l, '\n');

        return n ? n + 1 : NULL;
}

/* The line of database @db ("group") in @conf, after its colon, or NULL. */
static const char *nss_line(const char *conf, const char *db, size_t *ret_len) {
        size_t n = strlen(db);

        for (const char *l = conf; l && *l; l = next_line(l)) {
                const char *p = l + strspn(l, " \t");

                if (strncmp(p, db, n) != 0)
                        continue;
                p += n;
                p += strspn(p, " \t");
                if (*p != ':')
                        continue;
                p++;
                *ret_len = strcspn(p, "\n#");
                return p;
        }
        return NULL;
}

bool nss_groups_files_only(const char *conf) {
        const char *line;
        bool files = false;
        size_t len;

        if (!conf)
                return false;
        line = nss_line(conf, "initgroups", &len);
        if (!line)
                line = nss_line(conf, "group", &len);
        if (!line)
                return false; /* glibc's built-in default: not ours to guess */
        for (size_t i = 0; i < len;) {
                size_t w;

                i += strspn(line + i, " \t");
                if (i >= len)
                        break;
                w = strcspn(line + i, " \t\n#");
                if (w > len - i)
                        w = len - i;
                if (w == 5 && strncmp(line + i, "files", 5) == 0)
                        files = true;
                else if (!(w == 7 && strncmp(line + i, "systemd", 7) == 0))
                        return false; /* another source, or an [action] */
                i += w;
        }
        return files; /* without files, /etc/group is not what NSS reads */
}

/* Field @k (from 0) of the colon-separated line @l (up to its end or a newline), as a pointer and length. */
static bool line_field(const char *l, unsigned k, const char **ret, size_t *ret_len) {
        size_t end = strcspn(l, "\n");

        for (unsigned f = 0; f < k; f++) {
                const char *c = memchr(l, ':', end);

                if (!c)
                        return false;
                end -= (size_t) (c + 1 - l);
                l = c + 1;
        }
        *ret = l;
        *ret_len = strcspn(l, ":\n");
        if (*ret_len > end)
                *ret_len = end;
        return true;
}

static bool field_is(const char *f, size_t n, const char *s) {
        return strlen(s) == n && strncmp(f, s, n) == 0;
}

bool passwd_text_has_user(const char *passwd, const char *user) {
        for (const char *l = passwd; l && *l; l = next_line(l)) {
                const char *f;
                size_t n;

                if (line_field(l, 0, &f, &n) && field_is(f, n, user))
                        return true;
        }
        return false;
}

static int gid_add(gid_t **l, size_t *n, gid_t g) {
        gid_t *t;

        for (size_t i = 0; i < *n; i++)
                if ((*l)[i] == g)
                        return 0;
        t = reallocarray(*l, *n + 1, sizeof(gid_t));
        if (!t)
                return -ENOMEM;
        t[(*n)++] = g;
        *l = t;
        return 0;
}

int group_text_list(const char *group, const char *user, gid_t primary, gid_t **ret, size_t *ret_n) {
        gid_t *l = NULL;
        size_t n = 0;

        if (gid_add(&l, &n, primary) < 0)
                return -ENOMEM;
        for (const char *line = group; line && *line; line = next_line(line)) {
                const char *name, *gid, *members;
                size_t name_n, gid_n, members_n;
                char buf[16], *end;
                unsigned long v;

                if (*line == '#' ||
                    !line_field(line, 0, &name, &name_n) || name_n == 0 ||
                    !line_field(line, 2, &gid, &gid_n) || gid_n == 0 || gid_n >= sizeof(buf) ||
                    !line_field(line, 3, &members, &members_n))
                        continue;
                memcpy(buf, gid, gid_n);
                buf[gid_n] = '\0';
                errno = 0;
                v = strtoul(buf, &end, 10);
                if (errno != 0 || *end != '\0' || buf[0] == '-' || v >= (gid_t) -1)
                        continue;
                for (size_t i = 0; i < members_n;) {
                        size_t w = strcspn(members + i, ",");

                        if (w > members_n - i)
                                w = members_n - i;
                        if (field_is(members + i, w, user) && gid_add(&l, &n, (gid_t) v) < 0) {
                                free(l);
                                return -ENOMEM;
                        }
                        i += w + 1;
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}
