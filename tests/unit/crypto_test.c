// SPDX-License-Identifier: MIT
/* Unit tests for lib/crypto.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/crypto.h"

static void hex_of(const uint8_t d[32], char out[65])
{
    tc_hex(out, d, 32);
}

static void check_vectors(void)
{
    static const char abc_hex[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty_hex[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static const char two_block_hex[] =
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    static const char million_a_hex[] =
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    const char *two_block = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct tc_sha256 h;
    uint8_t d[32], a[1000];
    char hex[65];
    int i;

    tc_sha256("abc", 3, d);
    hex_of(d, hex);
    assert_string_equal(hex, abc_hex);
    tc_sha256("", 0, d);
    hex_of(d, hex);
    assert_string_equal(hex, empty_hex);
    tc_sha256(two_block, strlen(two_block), d);
    hex_of(d, hex);
    assert_string_equal(hex, two_block_hex);
    memset(a, 'a', sizeof(a));
    tc_sha256_init(&h);
    for (i = 0; i < 1000; i++)
        tc_sha256_update(&h, a, sizeof(a));
    tc_sha256_final(&h, d);
    hex_of(d, hex);
    assert_string_equal(hex, million_a_hex);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    tc_sha256_use_accel(0);
    assert_string_equal(tc_sha256_impl(), "mbedtls");
    check_vectors();
    if (tc_sha256_use_accel(1)) {
        assert_string_equal(tc_sha256_impl(), "sha-ni");
        check_vectors();
    } else {
        print_message("SHA extensions not available: accelerated path not tested\n");
    }
}

/* Random lengths and random update splits agree between both implementations. */
static void test_sha256_accel_matches(void **state)
{
    struct tu_prng p;
    uint8_t buf[4096 + 7];
    int iter;

    (void)state;
    tu_prng_seed(&p, 7);
    tu_prng_fill(&p, buf, sizeof(buf));
    for (iter = 0; iter < 400; iter++) {
        size_t len = tu_prng_next(&p) % sizeof(buf);
        size_t off = 0;
        uint8_t want[32], got[32];
        struct tc_sha256 h;

        tc_sha256_use_accel(0);
        tc_sha256(buf, len, want);
        tc_sha256_use_accel(1);
        tc_sha256_init(&h);
        while (off < len) {
            size_t n = tu_prng_next(&p) % 150;

            if (n > len - off)
                n = len - off;
            tc_sha256_update(&h, buf + off, n);
            off += n;
        }
        tc_sha256_final(&h, got);
        assert_memory_equal(want, got, 32);
    }
    tc_sha256_use_accel(1);
}

static void test_sig_digest_domains(void **state)
{
    const uint8_t msg[] = "manifest bytes";
    uint8_t a[32], b[32], c[32];
    uint8_t cat[64];
    size_t n;

    (void)state;
    tc_sig_digest(TC_DOMAIN_MANIFEST, msg, sizeof(msg), a);
    tc_sig_digest(TC_DOMAIN_REVLIST, msg, sizeof(msg), b);
    assert_memory_not_equal(a, b, 32);
    n = strlen(TC_DOMAIN_MANIFEST);
    memcpy(cat, TC_DOMAIN_MANIFEST, n);
    cat[n] = 0;
    memcpy(cat + n + 1, msg, sizeof(msg));
    tc_sha256(cat, n + 1 + sizeof(msg), c);
    assert_memory_equal(a, c, 32);
}

static void test_ec_sign_verify(void **state)
{
    struct tc_key *k = tu_ec_key(1), *k2 = tu_ec_key(1), *k3 = tu_ec_key(2), *pub;
    uint8_t id[32], id2[32], id3[32], idp[32], digest[32], sig[TC_SIG_MAX];
    char pem[TC_PEM_MAX];
    struct tu_prng p;
    struct tc_rng r;
    struct tc_err e = {0};
    size_t n, pem_len;

    (void)state;
    assert_true(tc_key_is_private(k));
    assert_int_equal(tc_key_alg(k), TC_SIG_ECDSA_P256_SHA256);
    tc_key_id(k, id);
    tc_key_id(k2, id2);
    tc_key_id(k3, id3);
    assert_memory_equal(id, id2, 32); /* same seed, same key */
    assert_memory_not_equal(id, id3, 32);

    pem_len = tu_pub_pem(k, pem, sizeof(pem));
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    assert_int_equal(tc_key_parse_public(&pub, (uint8_t *)pem, pem_len, &e), 0);
    assert_false(tc_key_is_private(pub));
    tc_key_id(pub, idp);
    assert_memory_equal(id, idp, 32);

    tu_prng_seed(&p, 3);
    r = tu_rng(&p);
    tc_sha256("x", 1, digest);
    assert_int_equal(tc_key_sign(k, &r, digest, sig, &n, &e), 0);
    assert_in_range(n, 8, 72);
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, n), 0);
    assert_int_equal(tc_key_verify(k3, TC_SIG_ECDSA_P256_SHA256, digest, sig, n), -EKEYREJECTED);
    assert_int_equal(tc_key_verify(pub, TC_SIG_RSA_PSS_SHA256, digest, sig, n), -EKEYREJECTED);
    sig[n / 2] ^= 1;
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, n), -EKEYREJECTED);
    sig[n / 2] ^= 1;
    digest[0] ^= 1;
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, n), -EKEYREJECTED);
    digest[0] ^= 1;
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, n + 1),
                     -EKEYREJECTED);
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, 0), -EKEYREJECTED);

    /* a public key cannot sign */
    TU_EXPECT_ERR(tc_key_sign(pub, &r, digest, sig, &n, &e), -EINVAL, &e, "public key");
    tc_key_free(pub);
    tc_key_free(k);
    tc_key_free(k2);
    tc_key_free(k3);
}

static void test_private_pem_roundtrip(void **state)
{
    struct tc_key *k = tu_ec_key(9), *k2, *k3 = NULL, *pub;
    uint8_t id[32], id2[32];
    char pem[TC_PEM_MAX], small[40];
    struct tc_err e = {0};
    size_t n;

    (void)state;
    assert_int_equal(tc_key_write_private_pem(k, pem, sizeof(pem), &n), 0);
    assert_int_equal(strlen(pem), n);
    assert_non_null(strstr(pem, "PRIVATE KEY-----"));
    assert_int_equal(tc_key_parse_private(&k2, (uint8_t *)pem, n, &e), 0);
    tc_key_id(k, id);
    tc_key_id(k2, id2);
    assert_memory_equal(id, id2, 32);
    assert_int_equal(tc_key_write_public_pem(k, small, sizeof(small), &n), -ENOSPC);
    n = tu_pub_pem(k, pem, sizeof(pem));
    assert_int_equal(tc_key_parse_public(&pub, (uint8_t *)pem, n, &e), 0);
    assert_int_equal(tc_key_write_private_pem(pub, pem, sizeof(pem), &n), -EINVAL);
    /* a public key file is not a private key */
    n = tu_pub_pem(k, pem, sizeof(pem));
    TU_EXPECT_ERR(tc_key_parse_private(&k3, (uint8_t *)pem, n, &e), -EINVAL, &e, "private key");
    assert_null(k3);
    tc_key_free(pub);
    tc_key_free(k2);
    tc_key_free(k);
}

static void test_rsa3072_pss(void **state)
{
    struct tc_key *k = tu_rsa_key(), *pub;
    uint8_t digest[32], sig[TC_SIG_MAX], id[32], idp[32];
    char pem[TC_PEM_MAX];
    struct tu_prng p;
    struct tc_rng r;
    struct tc_err e = {0};
    size_t n, pem_len;

    (void)state;
    assert_int_equal(tc_key_alg(k), TC_SIG_RSA_PSS_SHA256);
    assert_string_equal(tc_sig_alg_name(tc_key_alg(k)), "rsa-pss");
    pem_len = tu_pub_pem(k, pem, sizeof(pem));
    assert_int_equal(tc_key_parse_public(&pub, (uint8_t *)pem, pem_len, &e), 0);
    tc_key_id(k, id);
    tc_key_id(pub, idp);
    assert_memory_equal(id, idp, 32);
    tu_prng_seed(&p, 5);
    r = tu_rng(&p);
    tc_sha256("rsa", 3, digest);
    assert_int_equal(tc_key_sign(k, &r, digest, sig, &n, &e), 0);
    assert_int_equal(n, 384);
    assert_int_equal(tc_key_verify(pub, TC_SIG_RSA_PSS_SHA256, digest, sig, n), 0);
    assert_int_equal(tc_key_verify(pub, TC_SIG_ECDSA_P256_SHA256, digest, sig, n), -EKEYREJECTED);
    assert_int_equal(tc_key_verify(pub, TC_SIG_RSA_PSS_SHA256, digest, sig, n - 1), -EKEYREJECTED);
    sig[100] ^= 0x40;
    assert_int_equal(tc_key_verify(pub, TC_SIG_RSA_PSS_SHA256, digest, sig, n), -EKEYREJECTED);
    tc_key_free(pub);
    tc_key_free(k);
}

static void test_refused_keys(void **state)
{
    struct tc_key *k = NULL;
    struct tc_err e = {0};

    (void)state;
    TU_EXPECT_ERR(tc_key_parse_private(&k, (const uint8_t *)tu_rsa2048_key_pem,
                                       strlen(tu_rsa2048_key_pem), &e),
                  -EINVAL, &e, "RSA key of 2048 bits refused", "3072");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_key_parse_public(&k, (const uint8_t *)tu_rsa2048_pub_pem,
                                      strlen(tu_rsa2048_pub_pem), &e),
                  -EINVAL, &e, "2048 bits");
    tc_err_clear(&e);
    TU_EXPECT_ERR(
        tc_key_parse_public(&k, (const uint8_t *)tu_p384_pub_pem, strlen(tu_p384_pub_pem), &e),
        -EINVAL, &e, "P-256");
    tc_err_clear(&e);
    TU_EXPECT_ERR(
        tc_key_parse_private(&k, (const uint8_t *)tu_p384_key_pem, strlen(tu_p384_key_pem), &e),
        -EINVAL, &e, "P-256");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_key_parse_public(&k, (const uint8_t *)"garbage", 7, &e), -EINVAL, &e,
                  "public key: not a valid");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_key_parse_public(&k, (const uint8_t *)"", 0, &e), -EINVAL, &e, "0 bytes");
    tc_err_clear(&e);
    {
        uint8_t *big = calloc(1, TC_PEM_MAX + 1);

        TU_EXPECT_ERR(tc_key_parse_public(&k, big, TC_PEM_MAX + 1, &e), -EINVAL, &e, "8193 bytes");
        free(big);
    }
    assert_null(k);
}

static void test_der_public(void **state)
{
    /* The DER form parses too and gives the same id (base64 body of the PEM). */
    struct tc_key *k = tu_ec_key(11), *pub;
    char pem[TC_PEM_MAX];
    uint8_t id[32], idp[32];
    struct tc_err e = {0};
    size_t n = tu_pub_pem(k, pem, sizeof(pem));
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t der[512];
    size_t dl = 0, i;
    unsigned acc = 0, bits = 0;
    char *body = strchr(pem, '\n') + 1;

    (void)state;
    (void)n;
    for (i = 0; body[i] && body[i] != '-'; i++) {
        const char *pos = strchr(b64, body[i]);

        if (!pos || body[i] == '\0')
            continue;
        acc = acc << 6 | (unsigned)(pos - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            der[dl++] = (uint8_t)(acc >> bits);
        }
    }
    assert_int_equal(tc_key_parse_public(&pub, der, dl, &e), 0);
    tc_key_id(k, id);
    tc_key_id(pub, idp);
    assert_memory_equal(id, idp, 32);
    /* and the key id is SHA-256 of exactly that DER */
    tc_sha256(der, dl, idp);
    assert_memory_equal(id, idp, 32);
    tc_key_free(pub);
    tc_key_free(k);
}

static int failing_fill(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return -EIO;
}

static void test_rng_failure(void **state)
{
    struct tc_rng r = {.fill = failing_fill};
    struct tc_key *k = NULL;
    struct tc_err e = {0};

    (void)state;
    TU_EXPECT_ERR(tc_key_generate(&k, TC_KEY_ECDSA_P256, &r, &e), -EIO, &e,
                  "key generation failed");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_key_generate(&k, (enum tc_key_type)9, &r, &e), -EINVAL, &e,
                  "unknown key type");
    assert_null(k);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tc_sig_alg_name(TC_SIG_ECDSA_P256_SHA256), "ecdsa-p256");
    assert_string_equal(tc_sig_alg_name((enum tc_sig_alg)77), "unknown");
    assert_non_null(strstr(tc_crypto_backend_version(), "2.28"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),        cmocka_unit_test(test_sha256_accel_matches),
        cmocka_unit_test(test_sig_digest_domains),    cmocka_unit_test(test_ec_sign_verify),
        cmocka_unit_test(test_private_pem_roundtrip), cmocka_unit_test(test_rsa3072_pss),
        cmocka_unit_test(test_refused_keys),          cmocka_unit_test(test_der_public),
        cmocka_unit_test(test_rng_failure),           cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
