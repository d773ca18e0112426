/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* local-groups: a user's supplementary groups read from /etc/group itself, when the host's NSS would give
 * nothing else, instead of getgrouplist(). With "group: files systemd" (Debian's default), glibc's
 * getgrouplist() loads nss-systemd and asks systemd's userdb too: about 2.5 ms of CPU and 42 page faults
 * on every session start on a 2-core VM, for nothing when the user is in /etc/passwd and no userdb record
 * exists. Pure: the file names are parameters. */

/* Whether the NSS configuration @nsswitch_conf (the text of /etc/nsswitch.conf) takes a user's groups only
 * from files and systemd: its "initgroups:" line, else its "group:" line, names files, no source but
 * files and systemd, and no [action]. False without either line (glibc's built-in default then applies). */
bool nss_groups_files_only(const char *nsswitch_conf);

/* Whether @user has a line in the passwd file text @passwd. */
bool passwd_text_has_user(const char *passwd, const char *user);

/* The groups of @user as getgrouplist() builds them from the group file text @group: @primary first, then
 * every group listing @user as a member, in file order, each once. *ret (newly allocated) holds *ret_n
 * ids. Returns 0 or -ENOMEM. Lines that do not parse are skipped, as glibc's files module does. */
int group_text_list(const char *group, const char *user, gid_t primary, gid_t **ret, size_t *ret_n);
