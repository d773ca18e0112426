/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* state: small JSON records (version info, session records) as flat string maps, written to a
 * temporary file and renamed into place, so a reader sees the old record or the new one, never half.
 * Sole includer of <json-c/json.h>. */

/* Writes @kv (alternating keys and values, NULL-terminated) as a JSON object to @path atomically.
 * Returns 0 or -errno. */
int state_write(const char *path, char *const *kv);

/* As state_write(); with @sync false the record is not fsync()ed before the rename, for records that
 * lose their meaning at a reboot anyway (a power loss may then leave the file empty, never half). */
int state_write_full(const char *path, char *const *kv, bool sync);

/* Reads the JSON object at @path; string, number and boolean members come back as strings in *ret
 * (alternating keys and values). Returns 0, -ENOENT, or -EBADMSG for a malformed file. */
int state_read(const char *path, char ***ret);

/* Looks up @key in a map returned by state_read(). Returns a borrowed string or NULL. */
const char *state_get(char *const *kv, const char *key);

/* Returns @kv as pretty JSON text (newly allocated) for printing, or NULL on OOM. */
char *state_to_json(char *const *kv);
