/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hooks.h"

/* Shared by lib/hooks.c and lib/hooks-cache.c (and the unit tests); not for cmd/. */

/* Finds the line "# KEY: VALUE" (@key includes "# " and ":") starting a line of @buf[0..n). Returns a
 * pointer to VALUE and its length up to the end of the line in *ret_len, or NULL. */
const char *hook_header_value(const char *buf, size_t n, const char *key, size_t *ret_len);

/* Whether the white-space separated list @s[0..n) holds @word. */
bool hook_word_in(const char *s, size_t n, const char *word);

/* Whether the hook at @path takes part in @phase ("arkose-hook-phases"). */
bool hook_wants_phase(const char *path, const char *phase);

/* Caching of setup-start results (lib/hooks-cache.c). hook_cache_lookup() decides whether @hooks (those
 * taking part, in order) with @env can use the cache and computes the key; on a hit it replays the
 * recorded result into @env->rootfs and returns 1. On a miss it returns 0 and, when the result may be
 * recorded after the hooks ran, a HookCacheRecord in *ret_record (else NULL). Returns 0 also when the
 * cache does not apply; never fails the session (problems are logged at debug level). */
typedef struct HookCacheRecord HookCacheRecord;
int hook_cache_lookup(char *const *hooks, const HookEnv *env, char *const *envp, HookCacheRecord **ret_record);

/* After the hooks succeeded: records what they wrote. Frees @rec. */
void hook_cache_record(HookCacheRecord *rec);
HookCacheRecord *hook_cache_record_free(HookCacheRecord *rec);
DEFINE_TRIVIAL_CLEANUP_FUNC(HookCacheRecord *, hook_cache_record_free);

/* The parts, for the unit tests: the declaration of @path (1: cacheable, its host files in *ret_inputs;
 * 0: not; -errno), copying a recorded result out of an upper directory into an empty directory, and
 * replaying it into a root. @lowers is used to refuse whiteouts that hide a directory. */
int hook_cache_declared(const char *path, char ***ret_inputs);
int hook_cache_copy_upper(const char *upper, char *const *lowers, const char *dest);
int hook_cache_replay(const char *entry, const char *rootfs);
