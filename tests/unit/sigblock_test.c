// SPDX-License-Identifier: MIT
/* Unit tests for lib/sigblock.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/sigblock.h"

/* From the spec: 8-byte header, entries of 35 bytes + signature. */
#define SB_HDR 8
#define SE_HDR 35

static uint8_t digest[32];

static void sign_into(struct tc_sigblock *sb, struct tc_key *k, uint64_t seed, int want)
{
    struct tu_prng p;
    struct tc_rng r;
    struct tc_err e = {0};

    tu_prng_seed(&p, seed);
    r = tu_rng(&p);
    assert_int_equal(tc_sigblock_add(sb, k, &r, digest, &e), want);
}

static void test_empty(void **state)
{
    struct tc_sigblock sb = {0}, back;
    uint8_t buf[16];
    struct tc_err e = {0};
    size_t n;

    (void)state;
    assert_int_equal(tc_sigblock_size(&sb), TC_SIGBLOCK_EMPTY_LEN);
    assert_int_equal(tc_sigblock_serialize(&sb, buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "TCSG\0\1\0\0", 8);
    assert_int_equal(tc_sigblock_parse(buf, n, &back, &e), 0);
    assert_int_equal(back.count, 0);
    assert_int_equal(tc_sigblock_serialize(&sb, buf, 7, &n), -ENOSPC);
}

static void test_roundtrip_and_idempotent(void **state)
{
    struct tc_key *ec = tu_ec_key(1), *rsa = tu_rsa_key();
    struct tc_sigblock sb = {0}, back;
    uint8_t id[32], *buf;
    struct tc_err e = {0};
    size_t n;

    (void)state;
    tc_sha256("m", 1, digest);
    sign_into(&sb, ec, 1, 0);
    sign_into(&sb, rsa, 2, 0);
    sign_into(&sb, ec, 3, 1); /* already signed by this key: nothing changes */
    assert_int_equal(sb.count, 2);
    assert_int_equal(sb.sigs[1].len, 384);
    assert_int_equal(sb.sigs[1].alg, TC_SIG_RSA_PSS_SHA256);
    tc_key_id(rsa, id);
    assert_int_equal(tc_sigblock_find(&sb, id), 1);
    assert_memory_equal(sb.sigs[1].key_id, id, 32);
    id[0] ^= 1;
    assert_int_equal(tc_sigblock_find(&sb, id), -1);
    n = tc_sigblock_size(&sb);
    assert_int_equal(n, SB_HDR + 2 * SE_HDR + sb.sigs[0].len + 384);
    buf = malloc(n);
    assert_int_equal(tc_sigblock_serialize(&sb, buf, n, &n), 0);
    assert_int_equal(tc_get_be16(buf + 6), 2);
    assert_int_equal(buf[SB_HDR], TC_SIG_ECDSA_P256_SHA256);
    assert_int_equal(tc_sigblock_parse(buf, n, &back, &e), 0);
    assert_int_equal(back.count, 2);
    assert_memory_equal(&back.sigs[0], &sb.sigs[0], sizeof(sb.sigs[0]));
    assert_int_equal(back.sigs[1].len, 384);
    assert_memory_equal(back.sigs[1].sig, sb.sigs[1].sig, 384);
    assert_int_equal(tc_key_verify(rsa, TC_SIG_RSA_PSS_SHA256, digest, back.sigs[1].sig, 384), 0);
    free(buf);
    tc_key_free(ec);
    tc_key_free(rsa);
}

static void test_full(void **state)
{
    struct tc_sigblock sb = {0};
    struct tc_key *k;
    struct tc_err e = {0};
    struct tu_prng p;
    struct tc_rng r;
    unsigned i;

    (void)state;
    for (i = 0; i < TC_SIGS_MAX; i++) {
        k = tu_ec_key(100 + i);
        sign_into(&sb, k, i, 0);
        tc_key_free(k);
    }
    k = tu_ec_key(999);
    tu_prng_seed(&p, 1);
    r = tu_rng(&p);
    TU_EXPECT_ERR(tc_sigblock_add(&sb, k, &r, digest, &e), -E2BIG, &e,
                  "already 16 signatures, limit 16");
    tc_key_free(k);
}

/* A serialized block with two EC signatures, for corruption tests. */
static uint8_t *two(size_t *len, size_t extra)
{
    struct tc_sigblock sb = {0};
    struct tc_key *a = tu_ec_key(1), *b = tu_ec_key(2);
    uint8_t *buf;

    sign_into(&sb, a, 1, 0);
    sign_into(&sb, b, 2, 0);
    *len = tc_sigblock_size(&sb);
    buf = calloc(1, *len + extra);
    assert_int_equal(tc_sigblock_serialize(&sb, buf, *len, len), 0);
    tc_key_free(a);
    tc_key_free(b);
    return buf;
}

static void bad(const uint8_t *buf, size_t len, int rc, const char *s1, const char *s2)
{
    struct tc_sigblock sb;
    struct tc_err e = {0};

    TU_EXPECT_ERR(tc_sigblock_parse(buf, len, &sb, &e), rc, &e, s1, s2);
}

static void test_malformed(void **state)
{
    size_t len, first;
    uint8_t *b = two(&len, 600), *orig = malloc(len);
    char hex[65];

    (void)state;
    memcpy(orig, b, len);
    first = SB_HDR + SE_HDR + tc_get_be16(b + SB_HDR + 33);
    bad(b, 7, -EBADMSG, "7 bytes, shorter than its 8-byte header", "");
    bad(b, TC_SIGBLOCK_LEN_MAX + 1, -E2BIG, "limit 65536", "");
    b[3] = 'X';
    bad(b, len, -EBADMSG, "magic is 54435358", "TCSG");
    b[3] = 'G';
    tc_put_be16(b + 4, 2);
    bad(b, len, -EPROTO, "version 2 not supported", "");
    tc_put_be16(b + 4, 1);
    tc_put_be16(b + 6, 17);
    bad(b, len, -E2BIG, "count 17, limit 16", "");
    tc_put_be16(b + 6, 3);
    bad(b, len, -EBADMSG, "signature 3 of 3 truncated", "");
    tc_put_be16(b + 6, 1);
    bad(b, len, -EBADMSG, "trailing bytes after 1 signatures", "");
    tc_put_be16(b + 6, 2);
    bad(b, len + 1, -EBADMSG, "1 trailing bytes after 2 signatures", "");
    bad(b, len - 1, -EBADMSG, "truncated: sig_len", "");
    b[SB_HDR] = 9;
    bad(b, len, -EBADMSG, "unknown algorithm 9", "signature by key ");
    b[SB_HDR] = 0;
    bad(b, len, -EBADMSG, "unknown algorithm 0", "");
    b[SB_HDR] = 1;
    tc_put_be16(b + SB_HDR + 33, 0);
    bad(b, len, -EBADMSG, "sig_len 0, expected 1..512", "");
    tc_put_be16(b + SB_HDR + 33, 513);
    bad(b, len, -EBADMSG, "sig_len 513", "");
    memcpy(b, orig, len);
    /* the second signature claims the first one's key id */
    memcpy(b + first + 1, b + SB_HDR + 1, 32);
    bad(b, len, -EBADMSG, "two signatures by key ", tc_hex(hex, b + SB_HDR + 1, 32));
    memcpy(b, orig, len);
    {
        struct tc_sigblock sb;

        assert_int_equal(tc_sigblock_parse(b, len, &sb, NULL), 0);
        assert_int_equal(sb.count, 2);
    }
    free(orig);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_roundtrip_and_idempotent),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
