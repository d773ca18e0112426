/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "base/sha256.h"

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n) {
        return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[static 8], const uint8_t p[static 64]) {
        uint32_t w[64], a, b, c, d, e, f, g, hh;

        for (unsigned i = 0; i < 16; i++)
                w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
                       (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
        for (unsigned i = 16; i < 64; i++) {
                uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }

        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (unsigned i = 0; i < 64; i++) {
                uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                              K[i] + w[i];
                uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void sha256_init(Sha256 *s) {
        static const uint32_t initial[8] = {
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        };

        memcpy(s->state, initial, sizeof(initial));
        s->length = 0;
        s->buffer_len = 0;
}

void sha256_update(Sha256 *s, const void *data, size_t len) {
        const uint8_t *p = data;

        s->length += len;
        if (s->buffer_len > 0) {
                size_t n = sizeof(s->buffer) - s->buffer_len;

                if (n > len)
                        n = len;
                memcpy(s->buffer + s->buffer_len, p, n);
                s->buffer_len += n;
                p += n;
                len -= n;
                if (s->buffer_len < sizeof(s->buffer))
                        return;
                sha256_block(s->state, s->buffer);
                s->buffer_len = 0;
        }
        for (; len >= 64; p += 64, len -= 64)
                sha256_block(s->state, p);
        if (len > 0) {
                memcpy(s->buffer, p, len);
                s->buffer_len = len;
        }
}

void sha256_final(Sha256 *s, uint8_t ret[static SHA256_DIGEST_SIZE]) {
        uint64_t bits = s->length * 8;
        uint8_t pad[72] = { 0x80 };
        size_t n;

        /* A 1 bit, zeros up to 56 mod 64, then the length in bits as a big-endian 64-bit number. */
        n = (s->buffer_len < 56 ? 56 : 120) - s->buffer_len;
        for (unsigned i = 0; i < 8; i++)
                pad[n + i] = (uint8_t) (bits >> (56 - 8 * i));
        sha256_update(s, pad, n + 8);

        for (unsigned i = 0; i < 8; i++) {
                ret[4 * i] = (uint8_t) (s->state[i] >> 24);
                ret[4 * i + 1] = (uint8_t) (s->state[i] >> 16);
                ret[4 * i + 2] = (uint8_t) (s->state[i] >> 8);
                ret[4 * i + 3] = (uint8_t) s->state[i];
        }
}

char *sha256_to_hex(const uint8_t digest[static SHA256_DIGEST_SIZE], char ret[static SHA256_HEX_SIZE]) {
        static const char hex[] = "0123456789abcdef";

        for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 0xf];
        }
        ret[SHA256_HEX_SIZE - 1] = '\0';
        return ret;
}

char *sha256_hex(const void *data, size_t len, char ret[static SHA256_HEX_SIZE]) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        Sha256 s;

        sha256_init(&s);
        sha256_update(&s, data, len);
        sha256_final(&s, digest);
        return sha256_to_hex(digest, ret);
}

int sha256_fd(int fd, char ret[static SHA256_HEX_SIZE]) {
        uint8_t buf[64 * 1024], digest[SHA256_DIGEST_SIZE];
        Sha256 s;

        sha256_init(&s);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                sha256_update(&s, buf, (size_t) n);
        }
        sha256_final(&s, digest);
        sha256_to_hex(digest, ret);
        return 0;
}

int sha256_file(const char *path, char ret[static SHA256_HEX_SIZE]) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        return sha256_fd(fd, ret);
}

bool sha256_hex_is_valid(const char *s) {
        return s && strlen(s) == SHA256_HEX_SIZE - 1 &&
               strspn(s, "0123456789abcdefABCDEF") == SHA256_HEX_SIZE - 1;
}

bool sha256_hex_equal(const char *a, const char *b) {
        return sha256_hex_is_valid(a) && sha256_hex_is_valid(b) && strcasecmp(a, b) == 0;
}

void sha256_update_line(Sha256 *s, const char *fmt, ...) {
        char buf[4200];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                sha256_update(s, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
        sha256_update(s, "\n", 1);
}
