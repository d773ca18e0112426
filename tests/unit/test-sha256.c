/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 against the FIPS 180-2 test vectors, streamed in odd pieces, and the file helper. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "base/util.h"

#define TWO_BLOCKS "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define TWO_BLOCKS_896                                                                                    \
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs" \
        "mnopqrstnopqrstu"

static void test_vectors(void **state) {
        char hex[SHA256_HEX_SIZE];
        (void) state;

        assert_string_equal(sha256_hex("abc", 3, hex),
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(sha256_hex("", 0, hex),
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_string_equal(sha256_hex(NULL, 0, hex),
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        /* 448 bits: the padding needs a second block. */
        assert_string_equal(sha256_hex(TWO_BLOCKS, strlen(TWO_BLOCKS), hex),
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        assert_string_equal(sha256_hex(TWO_BLOCKS_896, strlen(TWO_BLOCKS_896), hex),
                            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state) {
        uint8_t digest[SHA256_DIGEST_SIZE];
        char hex[SHA256_HEX_SIZE], chunk[1000];
        Sha256 s;
        (void) state;

        memset(chunk, 'a', sizeof(chunk));
        sha256_init(&s);
        for (unsigned i = 0; i < 1000; i++)
                sha256_update(&s, chunk, sizeof(chunk));
        sha256_final(&s, digest);
        assert_string_equal(sha256_to_hex(digest, hex),
                            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Feeding the same bytes in pieces of every size from 1 to 130 gives the one-shot digest. */
static void test_streaming(void **state) {
        uint8_t data[1000], digest[SHA256_DIGEST_SIZE];
        char want[SHA256_HEX_SIZE], got[SHA256_HEX_SIZE];
        (void) state;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 7 + 3);
        sha256_hex(data, sizeof(data), want);
        for (size_t piece = 1; piece <= 130; piece++) {
                Sha256 s;

                sha256_init(&s);
                for (size_t off = 0; off < sizeof(data); off += piece)
                        sha256_update(&s, data + off,
                                      off + piece > sizeof(data) ? sizeof(data) - off : piece);
                sha256_final(&s, digest);
                assert_string_equal(sha256_to_hex(digest, got), want);
        }
}

/* Lengths around the padding boundaries: 55 bytes leave room for the length in the last block, 56 do
 * not; 64 and 120 end exactly on or just before a block. Expected values from Python's hashlib. */
static void test_padding_boundaries(void **state) {
        static const struct {
                size_t n;
                const char *hex;
        } cases[] = {
                { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
                { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
                { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
                { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
                { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
                { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
        };
        char a[120], hex[SHA256_HEX_SIZE];
        (void) state;

        memset(a, 'a', sizeof(a));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(sha256_hex(a, cases[i].n, hex), cases[i].hex);
}

static void test_file_and_compare(void **state) {
        _cleanup_free_ char *dir = strdup("/tmp/arkose-unit-XXXXXX");
        _cleanup_free_ char *p = NULL;
        char hex[SHA256_HEX_SIZE];
        (void) state;

        assert_non_null(mkdtemp(dir));
        p = path_join(dir, "f");
        assert_int_equal(write_file_atomic(p, "abc", 0644), 0);
        assert_int_equal(sha256_file(p, hex), 0);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_true(
                sha256_hex_equal(hex, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
        assert_false(sha256_hex_equal(hex, "ba7816bf"));
        assert_false(
                sha256_hex_equal(hex, "za7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert_false(sha256_hex_is_valid(NULL));
        assert_int_equal(sha256_file(dir, hex), -EISDIR);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(sha256_file(p, hex), -ENOENT);
        assert_int_equal(rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors),
                cmocka_unit_test(test_million_a),
                cmocka_unit_test(test_streaming),
                cmocka_unit_test(test_padding_boundaries),
                cmocka_unit_test(test_file_and_compare),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
