/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Shared by the config module's files (config.c, config-profile.c); nothing outside lib/config*.c
 * includes this. */

/* Parses @value into the field at @field. Returns 0, -EINVAL for a bad value, or -ENOMEM. */
typedef int (*ConfigParser)(const char *value, void *field);

typedef enum ConfigKeyFlags {
        /* The key may appear more than once (also as an indented continuation line); each occurrence is
         * handed to the parser, which appends. Other keys given twice are an error. */
        CONFIG_KEY_REPEATABLE = 1 << 0,
} ConfigKeyFlags;

/* One row of a key table: "[section] key" → parser → field at @offset in the target struct. */
typedef struct ConfigKey {
        const char *section;
        const char *key;
        ConfigParser parse;
        size_t offset;
        ConfigKeyFlags flags;
} ConfigKey;

/* Parses the INI file @path with the key table @keys into @target. A key unknown in its section, a bad
 * value or a syntax error give -EINVAL, a key given again (unless CONFIG_KEY_REPEATABLE) -ENOTUNIQ, with
 * *reterr_line set to the line (0 when not known) and *reterr_key to the table's key name (NULL for an
 * unknown key or a syntax error). Returns 0, -EINVAL, -ENOTUNIQ, -ENOMEM, -ENOENT if @path is missing,
 * or other -errno for I/O. */
int config_parse(const char *path, const ConfigKey *keys, size_t n_keys, void *target, unsigned *reterr_line,
                 const char **reterr_key);
