/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* X authority files (libXau's format: entries of a big-endian 16-bit family, then address, display
 * number, protocol name and data, each a big-endian 16-bit length and its bytes). Pure. */

#define XAUTH_MAX_SIZE (64u << 10) /* more than any real file: thousands of entries */

/* Rewrites the X authority file content @data (@size bytes) for a session: every FamilyLocal entry
 * (cookies for "HOST/unix:N", the host's name) becomes FamilyWild, which matches any host name, because
 * a session has a host name of its own (its UTS namespace) and libXau would find no cookie for it.
 * Other entries are kept as they are. *ret (newly allocated, *ret_size bytes) is the rewritten file.
 * Returns 0, -EBADMSG if @data is not an X authority file (a truncated entry), -E2BIG above
 * XAUTH_MAX_SIZE, -ENODATA for an empty one, -ENOMEM. */
int xauth_make_wild(const char *data, size_t size, char **ret, size_t *ret_size);
