/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/* SHA-256 (FIPS 180-4), self-contained: checksums of downloads and imports, without a crypto library. */

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE    (SHA256_DIGEST_SIZE * 2 + 1) /* 64 lower-case hex digits and a NUL */

/* A running hash. Callers keep it on the stack and touch it only through the functions below. */
typedef struct Sha256 {
        uint32_t state[8];
        uint64_t length;    /* bytes hashed so far */
        uint8_t buffer[64]; /* a partial block */
        size_t buffer_len;
} Sha256;

/* Starts a new hash in @s. */
void sha256_init(Sha256 *s);
/* Adds @len bytes at @data (NULL allowed when @len is 0). */
void sha256_update(Sha256 *s, const void *data, size_t len);
/* Finishes the hash and writes the digest to @ret; @s must be initialised again before reuse. */
void sha256_final(Sha256 *s, uint8_t ret[static SHA256_DIGEST_SIZE]);

/* Adds a line: @fmt formatted (at most 4 KiB of it) and a newline. For hashing a description of
 * something, one fact a line. */
void sha256_update_line(Sha256 *s, const char *fmt, ...) _printf_(2, 3);

/* Writes @digest as 64 lower-case hex digits and a NUL to @ret, and returns @ret. */
char *sha256_to_hex(const uint8_t digest[static SHA256_DIGEST_SIZE], char ret[static SHA256_HEX_SIZE]);

/* Hashes @len bytes at @data in one go; @ret as for sha256_to_hex(). Returns @ret. */
char *sha256_hex(const void *data, size_t len, char ret[static SHA256_HEX_SIZE]);

/* Hashes what is left to read from @fd (not closed). Returns 0 and the hex digest in @ret, or -errno
 * from read(2). */
int sha256_fd(int fd, char ret[static SHA256_HEX_SIZE]);

/* Hashes the file at @path (symlinks followed). Returns 0 and the hex digest in @ret, or -errno
 * (-ENOENT, -EISDIR, read errors). */
int sha256_file(const char *path, char ret[static SHA256_HEX_SIZE]);

/* True when @s is 64 hex digits (either case). */
bool sha256_hex_is_valid(const char *s);

/* Compares two hex digests ignoring case (a checksum in a definition may be written in upper case).
 * False when either is not a valid digest. */
bool sha256_hex_equal(const char *a, const char *b);
