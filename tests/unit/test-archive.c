/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tarball export and extraction in mkdtemp() directories, no root: a round trip through every
 * compression, mmdebstrap-style and LXC image layouts, and hostile archives made here with libarchive's
 * write API (a ".." member, an absolute one, a write through a symlink, truncated data, garbage). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/sha256.h"
#include "base/util.h"
#include "unpack.h"

static char *make_tmp(void) {
        char *d = strdup("/tmp/arkose-unit-XXXXXX");

        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static char *make_subdir(const char *parent, const char *name) {
        char *p = path_join(parent, name);

        assert_non_null(p);
        assert_int_equal(mkdir(p, 0755), 0);
        return p;
}

/* ARK_TEST_VERBOSE=1 shows the reasons, to read them. */
static void assert_one_line(const char *reason) {
        if (getenv("ARK_TEST_VERBOSE"))
                print_message("reason: %s\n", reason ?: "(null)");
        assert_non_null(reason);
        assert_true(strlen(reason) > 0);
        assert_null(strchr(reason, '\n'));
}

static bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

/* The names in @dir, sorted, to show that nothing else appeared next to a target. */
static char **list_dir(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        char **l = NULL;
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        assert_int_equal(strv_extend(&l, de->d_name), 0);
        if (!l)
                l = calloc(1, sizeof(char *));
        strv_sort(l);
        return l;
}

static char *strv_join_lines(char **l) {
        size_t len = 1;
        char *s;

        for (char **i = l; i && *i; i++)
                len += strlen(*i) + 1;
        s = calloc(1, len);
        assert_non_null(s);
        for (char **i = l; i && *i; i++) {
                strcat(s, *i);
                strcat(s, "\n");
        }
        return s;
}

/* ---- a tree to export, and a description of a tree to compare ---- */

typedef struct TestTree {
        bool xattr;     /* the file system took a user.* xattr */
        bool device;    /* we could make a device node (root with CAP_MKNOD) */
} TestTree;

static void put_file(const char *root, const char *name, const char *content, mode_t mode) {
        _cleanup_free_ char *p = path_join(root, name);

        assert_int_equal(write_file_atomic(p, content, mode), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static void set_mtime(const char *root, const char *name, time_t t) {
        _cleanup_free_ char *p = path_join(root, name);
        struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };

        assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put_dir(const char *root, const char *name, mode_t mode) {
        _cleanup_free_ char *p = path_join(root, name);

        assert_int_equal(mkdir(p, mode), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static TestTree build_tree(const char *root) {
        _cleanup_free_ char *big = NULL, *p = NULL, *q = NULL;
        TestTree t = {};
        size_t big_len = 200 * 1024 + 17;

        put_dir(root, "etc", 0755);
        put_dir(root, "bin", 0755);
        put_dir(root, "run", 0755);
        put_dir(root, "private", 0700);
        put_dir(root, "empty", 0555);

        put_file(root, "etc/hostname", "arkose\n", 0644);
        put_file(root, "etc/shadow", "root:*:19000:0:99999:7:::\n", 0600);
        put_file(root, "bin/su", "#!/bin/true\n", 04755);
        put_file(root, "private/empty", "", 0640);
        put_file(root, "caf\xc3\xa9", "utf-8 name\n", 0644);
        put_file(root, "not-utf8-\xff", "a name in no character set\n", 0644);

        big = malloc(big_len + 1);
        assert_non_null(big);
        for (size_t i = 0; i < big_len; i++)
                big[i] = (char) ('a' + i * 7 % 26);
        big[big_len] = '\0';
        put_file(root, "bin/big", big, 0755);

        p = path_join(root, "bin/su");
        q = path_join(root, "bin/su-hardlink");
        assert_int_equal(link(p, q), 0);

        free(p);
        p = path_join(root, "bin/sh");
        assert_int_equal(symlink("dash", p), 0);
        free(p);
        p = path_join(root, "etc/localtime");
        assert_int_equal(symlink("/usr/share/zoneinfo/Etc/UTC", p), 0);
        free(p);
        p = path_join(root, "run/initctl");
        assert_int_equal(mkfifo(p, 0600), 0);

        free(p);
        p = path_join(root, "etc/hostname");
        t.xattr = setxattr(p, "user.arkose", "test-value", 10, 0) == 0;
        if (!t.xattr)
                print_message("user.* xattrs not supported here (%s): not testing them\n", strerror(errno));

        free(p);
        p = path_join(root, "null");
        t.device = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;

        set_mtime(root, "etc/hostname", 1000000000);
        set_mtime(root, "bin", 1100000000);
        set_mtime(root, "etc/localtime", 1200000000);
        set_mtime(root, ".", 1300000000); /* libarchive leaves the top's times alone: we set them */
        return t;
}

static void describe_xattrs(const char *path, char *buf, size_t len) {
        char names[1024], value[256];
        ssize_t n;

        buf[0] = '\0';
        n = llistxattr(path, names, sizeof(names));
        for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t) strlen(names + i) + 1) {
                ssize_t v;

                if (!startswith(names + i, "user."))
                        continue;
                v = lgetxattr(path, names + i, value, sizeof(value) - 1);
                assert_true(v >= 0);
                value[v] = '\0';
                snprintf(buf + strlen(buf), len - strlen(buf), " %s=%s", names + i, value);
        }
}

/* One line per file: name, type and mode, link count, owner, mtime, and the content's digest, a
 * symlink's target, a device number or user xattrs. */
static void describe_tree(const char *root, const char *rel, char ***lines) {
        _cleanup_free_ char *dir = streq(rel, ".") ? strdup(root) : path_join(root, rel);
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        assert_non_null(dir);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *full = NULL;
                char extra[SHA256_HEX_SIZE + 512] = "", xattrs[512];
                struct stat st;

                if (streq(de->d_name, "..") || (streq(de->d_name, ".") && !streq(rel, ".")))
                        continue;
                name = streq(de->d_name, ".") ? strdup(".") : strdup_printf("%s/%s", rel, de->d_name);
                full = streq(name, ".") ? strdup(root) : path_join(root, name);
                assert_int_equal(lstat(full, &st), 0);
                if (S_ISREG(st.st_mode))
                        assert_int_equal(sha256_file(full, extra), 0);
                else if (S_ISLNK(st.st_mode)) {
                        ssize_t n = readlink(full, extra, sizeof(extra) - 1);
                        assert_true(n > 0);
                        extra[n] = '\0';
                } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                        snprintf(extra, sizeof(extra), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
                describe_xattrs(full, xattrs, sizeof(xattrs));
                assert_int_equal(strv_extendf(lines, "%s %06o %lu %u:%u %lld %s%s", name,
                                              (unsigned) st.st_mode, (unsigned long) st.st_nlink,
                                              (unsigned) st.st_uid, (unsigned) st.st_gid,
                                              (long long) st.st_mtime, extra, xattrs),
                                 0);
                if (S_ISDIR(st.st_mode) && !streq(name, "."))
                        describe_tree(root, name, lines);
        }
}

/* Like assert_string_equal(), but shows the lines that differ (cmocka cuts long strings short). */
static void assert_same_tree(const char *got, const char *want) {
        _cleanup_strv_free_ char **g = strv_split(got, "\n"), **w = strv_split(want, "\n");
        bool same = strv_length(g) == strv_length(w);

        for (size_t i = 0; g && w && g[i] && w[i]; i++)
                if (!streq(g[i], w[i])) {
                        print_message("got:  %s\nwant: %s\n", g[i], w[i]);
                        same = false;
                }
        if (!same)
                fail_msg("the extracted tree differs from the exported one");
}

static char *describe(const char *root) {
        _cleanup_strv_free_ char **lines = NULL;

        describe_tree(root, ".", &lines);
        strv_sort(lines);
        return strv_join_lines(lines);
}

/* ---- writing test archives with libarchive ---- */

typedef struct Member {
        const char *name;
        mode_t mode;            /* type and permissions */
        const char *content;    /* regular files */
        const char *link;       /* symlink target */
        const char *hardlink;   /* makes the member a hard link to this name */
        const char *const *xattrs; /* name, value, name, value, ..., NULL */
} Member;

static void write_archive(const char *path, bool gzip, const Member *members, size_t n) {
        struct archive *a = archive_write_new();

        assert_non_null(a);
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        if (gzip)
                assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                size_t len = members[i].content ? strlen(members[i].content) : 0;

                archive_entry_set_pathname(e, members[i].name);
                archive_entry_set_mode(e, members[i].mode);
                archive_entry_set_uid(e, getuid());
                archive_entry_set_gid(e, getgid());
                archive_entry_set_mtime(e, 1500000000, 0);
                if (members[i].link)
                        archive_entry_set_symlink(e, members[i].link);
                if (members[i].hardlink)
                        archive_entry_set_hardlink(e, members[i].hardlink);
                for (const char *const *x = members[i].xattrs; x && *x; x += 2)
                        archive_entry_xattr_add_entry(e, x[0], x[1], strlen(x[1]));
                if (S_ISREG(members[i].mode) && !members[i].hardlink)
                        archive_entry_set_size(e, (la_int64_t) len);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (len > 0 && !members[i].hardlink)
                        assert_int_equal(archive_write_data(a, members[i].content, len), (la_ssize_t) len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

/* The member names of @path, in order. */
static char **archive_names(const char *path) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char **l = NULL;

        assert_non_null(a);
        archive_read_support_filter_all(a);
        archive_read_support_format_all(a);
        assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
                assert_int_equal(strv_extend(&l, archive_entry_pathname(e)), 0);
        archive_read_free(a);
        return l;
}

/* ---- round trip ---- */

static void test_export_roundtrip(void **state) {
        static const char *const suffixes[] = { ".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst" };
        _cleanup_free_ char *base = make_tmp(), *src = NULL, *want = NULL;
        TestTree t;
        (void) state;

        src = make_subdir(base, "src");
        t = build_tree(src);
        want = describe(src);
        if (t.xattr)
                assert_non_null(strstr(want, "user.arkose=test-value"));
        if (!t.device)
                print_message("Cannot make device nodes here: not testing them\n");

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *archive = strdup_printf("%s/out%s", base, suffixes[i]);
                _cleanup_free_ char *dst = strdup_printf("%s/dst%zu", base, i), *got = NULL, *reason = NULL;
                _cleanup_free_ char *a = NULL, *b = NULL;
                _cleanup_strv_free_ char **names = NULL, **in_base = NULL;
                struct stat sa, sb;

                assert_int_equal(unpack_archive_export(src, archive, &reason), 0);
                assert_null(reason);

                /* Names like mmdebstrap's, and no temporary file left over. */
                names = archive_names(archive);
                assert_string_equal(names[0], "./");
                for (char **n = names; *n; n++)
                        assert_true(startswith(*n, "./"));
                assert_true(strv_contains(names, "./etc/hostname"));
                in_base = list_dir(base);
                for (char **n = in_base; *n; n++)
                        assert_null(strstr(*n, ".tmp-"));

                assert_int_equal(mkdir(dst, 0755), 0);
                assert_int_equal(unpack_archive_extract(archive, dst, &reason), 0);
                assert_null(reason);
                got = describe(dst);
                assert_same_tree(got, want);

                /* The hard link is one inode again. */
                a = path_join(dst, "bin/su");
                b = path_join(dst, "bin/su-hardlink");
                assert_int_equal(stat(a, &sa), 0);
                assert_int_equal(stat(b, &sb), 0);
                assert_true(sa.st_ino == sb.st_ino);
                assert_int_equal(sa.st_mode & 07777, 04755);
        }
        assert_int_equal(rm_rf(base), 0);
}

static void test_export_errors(void **state) {
        _cleanup_free_ char *base = make_tmp(), *src = NULL, *file = NULL, *reason = NULL, *inside = NULL;
        _cleanup_free_ char *dst = NULL;
        _cleanup_strv_free_ char **names = NULL, **listed = NULL;
        (void) state;

        src = make_subdir(base, "src");
        put_file(src, "f", "x", 0644);

        assert_int_equal(unpack_archive_export(src, "/nonexistent/x.zip", &reason), -EINVAL);
        assert_one_line(reason);
        assert_non_null(strstr(reason, "x.zip"));
        free(reason);
        reason = NULL;

        file = path_join(src, "f");
        assert_int_equal(unpack_archive_export(file, "/tmp/never.tar", &reason), -ENOTDIR);
        assert_one_line(reason);
        assert_false(exists("/tmp/never.tar"));
        free(reason);
        reason = NULL;

        assert_int_equal(unpack_archive_export(src, "/nonexistent-dir/x.tar", &reason), -ENOENT);
        assert_one_line(reason);
        free(reason);
        reason = NULL;

        /* An archive written into the tree it archives does not contain itself. */
        inside = path_join(src, "self.tar");
        assert_int_equal(unpack_archive_export(src, inside, &reason), 0);
        names = archive_names(inside);
        assert_true(strv_contains(names, "./f"));
        for (char **n = names; *n; n++)
                assert_null(strstr(*n, "self.tar"));
        listed = list_dir(src);
        assert_int_equal(strv_length(listed), 2);

        /* Extraction into a directory that is not empty is refused. */
        dst = make_subdir(base, "dst");
        put_file(dst, "already", "x", 0644);
        assert_int_equal(unpack_archive_extract(inside, dst, &reason), -ENOTEMPTY);
        assert_one_line(reason);
        assert_int_equal(rm_rf(base), 0);
}

/* ---- layouts of other tools ---- */

static void test_extract_mmdebstrap_style(void **state) {
        _cleanup_free_ char *base = make_tmp(), *archive = NULL, *dst = NULL, *p = NULL, *s = NULL;
        _cleanup_free_ char *found = NULL, *reason = NULL;
        const Member members[] = {
                { "./", S_IFDIR | 0755 },
                { "./etc/", S_IFDIR | 0755 },
                { "./etc/os-release", S_IFREG | 0644, "ID=debian\n" },
                { "./usr/", S_IFDIR | 0755 },
                { "usr/bin/", S_IFDIR | 0755 },
                { "usr/bin/tool", S_IFREG | 0755, "#!/bin/sh\n" },
                { "./bin", S_IFLNK | 0777, NULL, "usr/bin" },
                { "./usr/bin/tool2", S_IFREG | 0755, NULL, NULL, "usr/bin/tool" },
        };
        struct stat st;
        (void) state;

        archive = path_join(base, "sbuild.tar.gz");
        write_archive(archive, true, members, ELEMENTSOF(members));
        dst = make_subdir(base, "rootfs");
        assert_int_equal(chmod(dst, 0700), 0);

        /* A plain tarball is its own rootfs. */
        assert_int_equal(unpack_archive_find_rootfs(archive, NULL, &found, &reason), 0);
        assert_string_equal(found, archive);

        assert_int_equal(unpack_archive_extract(archive, dst, &reason), 0);
        assert_null(reason);
        p = path_join(dst, "etc/os-release");
        assert_int_equal(read_file(p, &s), 0);
        assert_string_equal(s, "ID=debian\n");
        /* The "./" member sets the target's own mode and times. */
        assert_int_equal(stat(dst, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_mtime, 1500000000);
        free(p);
        p = path_join(dst, "bin/tool2");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_nlink, 2);
        assert_int_equal(rm_rf(base), 0);
}

/* overlayfs's own xattrs are not restored; others are. */
static void test_extract_drops_overlay_xattrs(void **state) {
        static const char *const xattrs[] = {
                "trusted.overlay.opaque", "y", "user.overlay.redirect", "/etc", "user.keep", "kept", NULL,
        };
        _cleanup_free_ char *base = make_tmp(), *archive = NULL, *dst = NULL, *dir = NULL, *probe = NULL;
        _cleanup_free_ char *reason = NULL;
        const Member members[] = {
                { "./", S_IFDIR | 0755 },
                { "./dir/", S_IFDIR | 0755, NULL, NULL, NULL, xattrs },
        };
        char value[64];
        bool user_xattrs;
        (void) state;

        probe = path_join(base, "probe");
        put_file(base, "probe", "", 0644);
        user_xattrs = setxattr(probe, "user.probe", "1", 1, 0) == 0;

        archive = path_join(base, "xattrs.tar");
        write_archive(archive, false, members, ELEMENTSOF(members));
        dst = make_subdir(base, "dst");
        if (!user_xattrs) {
                print_message("user.* xattrs not supported here: not testing them\n");
                assert_int_equal(rm_rf(base), 0);
                return;
        }
        assert_int_equal(unpack_archive_extract(archive, dst, &reason), 0);
        dir = path_join(dst, "dir");
        assert_int_equal(lgetxattr(dir, "user.keep", value, sizeof(value)), 4);
        assert_true(lgetxattr(dir, "user.overlay.redirect", value, sizeof(value)) < 0 && errno == ENODATA);
        assert_true(lgetxattr(dir, "trusted.overlay.opaque", value, sizeof(value)) < 0 && errno == ENODATA);
        assert_int_equal(rm_rf(base), 0);
}

static void test_find_rootfs_lxc(void **state) {
        _cleanup_free_ char *base = make_tmp(), *image = NULL, *tree = NULL, *rootfs = NULL, *meta = NULL;
        _cleanup_free_ char *found = NULL, *reason = NULL, *bundle = NULL, *scratch = NULL, *dst = NULL;
        _cleanup_free_ char *p = NULL, *s = NULL;
        (void) state;

        /* An image directory as the LXC image server lays it out. */
        tree = make_subdir(base, "tree");
        put_file(tree, "marker", "from rootfs.tar.xz\n", 0644);
        image = make_subdir(base, "image");
        rootfs = path_join(image, "rootfs.tar.xz");
        meta = path_join(image, "meta.tar.xz");
        assert_int_equal(unpack_archive_export(tree, rootfs, &reason), 0);
        put_file(tree, "metadata.yaml", "architecture: amd64\n", 0644);
        assert_int_equal(unpack_archive_export(tree, meta, &reason), 0);

        assert_int_equal(unpack_archive_find_rootfs(image, NULL, &found, &reason), 0);
        assert_string_equal(found, rootfs);
        free(found);
        found = NULL;

        /* A directory without one. */
        assert_int_equal(unpack_archive_find_rootfs(tree, NULL, &found, &reason), -ENOENT);
        assert_one_line(reason);
        assert_null(found);
        free(reason);
        reason = NULL;

        /* The same directory as a tarball: the rootfs member is copied out to the scratch directory. */
        bundle = path_join(base, "image.tar");
        {
                struct stat st;
                _cleanup_free_ char *rootfs_copy = NULL, *meta_copy = NULL;
                size_t rootfs_len, meta_len;
                struct archive *a = archive_write_new();
                struct archive_entry *e;
                int fd;

                /* Binary content: read it whole with its length. */
                assert_int_equal(stat(rootfs, &st), 0);
                rootfs_len = (size_t) st.st_size;
                rootfs_copy = malloc(rootfs_len);
                fd = open(rootfs, O_RDONLY | O_CLOEXEC);
                assert_int_equal(read(fd, rootfs_copy, rootfs_len), (ssize_t) rootfs_len);
                close(fd);
                assert_int_equal(stat(meta, &st), 0);
                meta_len = (size_t) st.st_size;
                meta_copy = malloc(meta_len);
                fd = open(meta, O_RDONLY | O_CLOEXEC);
                assert_int_equal(read(fd, meta_copy, meta_len), (ssize_t) meta_len);
                close(fd);

                assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
                assert_int_equal(archive_write_open_filename(a, bundle), ARCHIVE_OK);
                e = archive_entry_new();
                archive_entry_set_pathname(e, "meta.tar.xz");
                archive_entry_set_mode(e, S_IFREG | 0644);
                archive_entry_set_size(e, (la_int64_t) meta_len);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, meta_copy, meta_len), (la_ssize_t) meta_len);
                archive_entry_clear(e);
                archive_entry_set_pathname(e, "rootfs.tar.xz");
                archive_entry_set_mode(e, S_IFREG | 0644);
                archive_entry_set_size(e, (la_int64_t) rootfs_len);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, rootfs_copy, rootfs_len), (la_ssize_t) rootfs_len);
                archive_entry_free(e);
                assert_int_equal(archive_write_close(a), ARCHIVE_OK);
                archive_write_free(a);
        }
        assert_int_equal(unpack_archive_find_rootfs(bundle, NULL, &found, &reason), -EOPNOTSUPP);
        assert_one_line(reason);
        free(reason);
        reason = NULL;

        scratch = make_subdir(base, "scratch");
        assert_int_equal(unpack_archive_find_rootfs(bundle, scratch, &found, &reason), 0);
        assert_true(startswith(found, scratch));
        dst = make_subdir(base, "dst");
        assert_int_equal(unpack_archive_extract(found, dst, &reason), 0);
        p = path_join(dst, "marker");
        assert_int_equal(read_file(p, &s), 0);
        assert_string_equal(s, "from rootfs.tar.xz\n");

        /* A directory is not an archive. */
        free(reason);
        reason = NULL;
        assert_int_equal(rm_rf(dst), 0);
        assert_int_equal(mkdir(dst, 0755), 0);
        assert_int_equal(unpack_archive_extract(image, dst, &reason), -EISDIR);
        assert_one_line(reason);
        assert_int_equal(rm_rf(base), 0);
}

/* ---- hostile archives ---- */

/* Extracts @members into a fresh BASE/target and expects @error with a reason containing @what, and
 * nothing in BASE but the archive and the target afterwards. */
static void expect_refused(const Member *members, size_t n, int error, const char *what) {
        _cleanup_free_ char *base = make_tmp(), *archive = NULL, *target = NULL, *reason = NULL;
        _cleanup_free_ char *outside = NULL, *listing = NULL;
        _cleanup_strv_free_ char **names = NULL;

        archive = path_join(base, "hostile.tar");
        target = make_subdir(base, "target");
        outside = make_subdir(base, "outside"); /* where the symlink member points */
        write_archive(archive, false, members, n);

        assert_int_equal(unpack_archive_extract(archive, target, &reason), error);
        assert_one_line(reason);
        if (!strstr(reason, what))
                fail_msg("reason '%s' does not mention '%s'", reason, what);

        names = list_dir(base);
        listing = strv_join_lines(names);
        assert_string_equal(listing, "hostile.tar\noutside\ntarget\n");
        strv_free(names);
        names = list_dir(outside);
        assert_int_equal(strv_length(names), 0);
        assert_int_equal(rm_rf(base), 0);
}

static void test_refuse_dotdot(void **state) {
        const Member dotdot[] = {
                { "./ok", S_IFREG | 0644, "fine\n" },
                { "../escape", S_IFREG | 0644, "owned\n" },
        };
        const Member nested[] = {
                { "./a/", S_IFDIR | 0755 },
                { "./a/../../escape", S_IFREG | 0644, "owned\n" },
        };
        const Member hardlink[] = {
                { "./ok", S_IFREG | 0644, "fine\n" },
                { "./link", S_IFREG | 0644, NULL, NULL, "../outside/x" },
        };
        (void) state;

        expect_refused(dotdot, ELEMENTSOF(dotdot), -EPERM, "member '../escape' leaves the tree");
        expect_refused(nested, ELEMENTSOF(nested), -EPERM, "member './a/../../escape' leaves the tree");
        expect_refused(hardlink, ELEMENTSOF(hardlink), -EPERM, "which leaves the tree");
}

static void test_refuse_absolute(void **state) {
        _cleanup_free_ char *victim = strdup_printf("/tmp/arkose-unit-abs-%d", (int) getpid());
        const Member absolute[] = {
                { victim, S_IFREG | 0644, "owned\n" },
        };
        const Member hardlink[] = {
                { "./passwd", S_IFREG | 0644, NULL, NULL, "/etc/passwd" },
        };
        (void) state;

        expect_refused(absolute, ELEMENTSOF(absolute), -EPERM, "has an absolute path");
        assert_false(exists(victim));
        expect_refused(hardlink, ELEMENTSOF(hardlink), -EPERM,
                       "hard link to the absolute path '/etc/passwd'");
}

static void test_refuse_symlink_escape(void **state) {
        _cleanup_free_ char *base = make_tmp(), *archive = NULL, *target = NULL, *outside = NULL;
        _cleanup_free_ char *reason = NULL, *planted = NULL;
        _cleanup_strv_free_ char **names = NULL;
        (void) state;

        /* evil -> BASE/outside (absolute, as a rootfs may have), then evil/file. */
        outside = make_subdir(base, "outside");
        target = make_subdir(base, "target");
        archive = path_join(base, "hostile.tar.gz");
        {
                const Member members[] = {
                        { "./", S_IFDIR | 0755 },
                        { "./evil", S_IFLNK | 0777, NULL, outside },
                        { "./evil/file", S_IFREG | 0644, "owned\n" },
                };
                write_archive(archive, true, members, ELEMENTSOF(members));
        }
        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EPERM);
        assert_one_line(reason);
        assert_string_equal(reason, "member './evil/file' would be written through the symlink 'evil'");
        planted = path_join(outside, "file");
        assert_false(exists(planted));
        names = list_dir(outside);
        assert_int_equal(strv_length(names), 0);

        /* A relative symlink that climbs out, and a hard link through it. */
        free(reason);
        reason = NULL;
        assert_int_equal(rm_rf(target), 0);
        assert_int_equal(mkdir(target, 0755), 0);
        {
                const Member members[] = {
                        { "up", S_IFLNK | 0777, NULL, "../outside" },
                        { "up/file", S_IFREG | 0644, "owned\n" },
                };
                write_archive(archive, true, members, ELEMENTSOF(members));
        }
        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EPERM);
        assert_string_equal(reason, "member 'up/file' would be written through the symlink 'up'");
        assert_false(exists(planted));
        assert_int_equal(rm_rf(base), 0);

        {
                const Member members[] = {
                        { "./real", S_IFREG | 0644, "x\n" },
                        { "./dir", S_IFLNK | 0777, NULL, "/etc" },
                        { "./link", S_IFREG | 0644, NULL, NULL, "./dir/passwd" },
                };
                expect_refused(members, ELEMENTSOF(members), -EPERM, "behind the symlink 'dir'");
        }
}

/* Control characters in a member name do not break the reason's single line. */
static void test_refuse_newline_name(void **state) {
        const Member members[] = {
                { "../evil\nname", S_IFREG | 0644, "x" },
        };
        (void) state;

        expect_refused(members, ELEMENTSOF(members), -EPERM, "member '../evil?name' leaves the tree");
}

static void test_refuse_truncated(void **state) {
        _cleanup_free_ char *base = make_tmp(), *src = NULL, *archive = NULL, *target = NULL;
        _cleanup_free_ char *reason = NULL;
        struct stat st;
        (void) state;

        /* Enough incompressible-ish data that half the gzip stream ends inside a member. */
        src = make_subdir(base, "src");
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *name = strdup_printf("file%02d", i), *data = malloc(8193);
                uint32_t x = 2463534242u + (uint32_t) i;

                for (size_t k = 0; k < 8192; k++) {
                        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                        data[k] = (char) ('!' + x % 90);
                }
                data[8192] = '\0';
                put_file(src, name, data, 0644);
        }
        archive = path_join(base, "cut.tar.gz");
        assert_int_equal(unpack_archive_export(src, archive, &reason), 0);
        assert_int_equal(stat(archive, &st), 0);
        assert_int_equal(truncate(archive, st.st_size / 2), 0);

        target = make_subdir(base, "target");
        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EBADMSG);
        assert_one_line(reason);
        if (!startswith(reason, "archive is truncated or corrupt: "))
                fail_msg("unexpected reason '%s'", reason);
        assert_int_equal(rm_rf(base), 0);
}

static void test_refuse_garbage(void **state) {
        _cleanup_free_ char *base = make_tmp(), *archive = NULL, *target = NULL, *reason = NULL;
        char garbage[4096];
        uint32_t x = 88172645u;
        int fd;
        (void) state;

        for (size_t i = 0; i < sizeof(garbage); i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                garbage[i] = (char) x;
        }
        archive = path_join(base, "garbage.tar.gz");
        fd = open(archive, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, garbage, sizeof(garbage)), (ssize_t) sizeof(garbage));
        close(fd);
        target = make_subdir(base, "target");

        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EBADMSG);
        assert_one_line(reason);
        if (!startswith(reason, "not a tar archive: "))
                fail_msg("unexpected reason '%s'", reason);

        /* Garbage after a valid gzip header is corrupt data. */
        free(reason);
        reason = NULL;
        garbage[0] = (char) 0x1f, garbage[1] = (char) 0x8b, garbage[2] = 8, garbage[3] = 0;
        fd = open(archive, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_int_equal(write(fd, garbage, sizeof(garbage)), (ssize_t) sizeof(garbage));
        close(fd);
        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EBADMSG);
        assert_one_line(reason);

        /* And an empty file holds no tree. */
        free(reason);
        reason = NULL;
        assert_int_equal(truncate(archive, 0), 0);
        assert_int_equal(unpack_archive_extract(archive, target, &reason), -EBADMSG);
        assert_one_line(reason);

        free(reason);
        reason = NULL;
        assert_int_equal(unpack_archive_extract("/nonexistent.tar", target, &reason), -ENOENT);
        assert_one_line(reason);
        assert_int_equal(rm_rf(base), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_export_roundtrip),
                cmocka_unit_test(test_export_errors),
                cmocka_unit_test(test_extract_mmdebstrap_style),
                cmocka_unit_test(test_extract_drops_overlay_xattrs),
                cmocka_unit_test(test_find_rootfs_lxc),
                cmocka_unit_test(test_refuse_dotdot),
                cmocka_unit_test(test_refuse_absolute),
                cmocka_unit_test(test_refuse_symlink_escape),
                cmocka_unit_test(test_refuse_newline_name),
                cmocka_unit_test(test_refuse_truncated),
                cmocka_unit_test(test_refuse_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
