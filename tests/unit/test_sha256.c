/*
 * SHA-256 against the FIPS 180-4 / NIST example vectors, padding
 * boundaries (55, 56, 63, 64 bytes...), and incremental updates in odd
 * chunk sizes agreeing with one call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvat_test.h"
#include "sha256.h"

static void
check_hex(const char *data, size_t len, const char *want)
{
    char hex[65];

    lvat_sha256_hex(data, len, hex);
    assert_string_equal(hex, want);
}

static void
to_hex(const unsigned char digest[32], char hex[65])
{
    int k;

    for (k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", digest[k]);
}

static void
test_sha256_empty(void **state)
{
    (void)state;
    check_hex(
        "", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_sha256_abc(void **state)
{
    (void)state;
    check_hex(
        "abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_sha256_448_bits(void **state)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

    (void)state;
    check_hex(
        m, strlen(m),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_sha256_896_bits(void **state)
{
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

    (void)state;
    check_hex(
        m, strlen(m),
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_sha256_million_a(void **state)
{
    char chunk[1000];
    unsigned char digest[32];
    char hex[65];
    lvat_sha256 s;
    int k;

    (void)state;
    memset(chunk, 'a', sizeof chunk);
    lvat_sha256_init(&s);
    for (k = 0; k < 1000; k++)
        lvat_sha256_update(&s, chunk, sizeof chunk);
    lvat_sha256_final(&s, digest);
    to_hex(digest, hex);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void
test_sha256_padding_boundaries(void **state)
{
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55,
         "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56,
         "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63,
         "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64,
         "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65,
         "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119,
         "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120,
         "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char buf[128];
    size_t k;

    (void)state;
    memset(buf, 'a', sizeof buf);
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_hex(buf, cases[k].n, cases[k].hex);
}

static void
test_sha256_incremental_matches_one_shot(void **state)
{
    static const size_t chunks[] = {1, 3, 7, 63, 64, 65, 100};
    unsigned char data[1280], digest[32];
    char hex[65];
    lvat_sha256 s;
    size_t k, at, n;

    (void)state;
    for (k = 0; k < sizeof data; k++)
        data[k] = (unsigned char)k;
    for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        lvat_sha256_init(&s);
        for (at = 0; at < sizeof data; at += n) {
            n = sizeof data - at < chunks[k] ? sizeof data - at : chunks[k];
            lvat_sha256_update(&s, data + at, n);
        }
        lvat_sha256_final(&s, digest);
        to_hex(digest, hex);
        assert_string_equal(hex, "d414b085826eb06778483ba35564dc849e643359f69"
                                 "ed9747878ba6e54985bed");
    }
}

static void
test_sha256_final_resets_context(void **state)
{
    unsigned char first[32], second[32];
    lvat_sha256 s;

    (void)state;
    lvat_sha256_init(&s);
    lvat_sha256_update(&s, "abc", 3);
    lvat_sha256_final(&s, first);
    lvat_sha256_update(&s, "abc", 3);
    lvat_sha256_final(&s, second);
    assert_memory_equal(first, second, 32);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_empty),
        cmocka_unit_test(test_sha256_abc),
        cmocka_unit_test(test_sha256_448_bits),
        cmocka_unit_test(test_sha256_896_bits),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_sha256_padding_boundaries),
        cmocka_unit_test(test_sha256_incremental_matches_one_shot),
        cmocka_unit_test(test_sha256_final_resets_context),
    };

    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
