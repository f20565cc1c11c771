// SPDX-License-Identifier: MIT
/* Unit tests for lib/revlist.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/revlist.h"
#include "treecast/trust.h"

/* From the spec. */
#define RB_VERSION 4
#define RB_RESERVED1 6
#define RB_ISSUED 16
#define RB_RESERVED2 36
#define RB_MAX_AGE 40
#define RB_N_KEYS 48
#define RB_N_IMAGES 52
#define RB_LEN 56

static struct tc_key *site, *other;

static int setup(void **state)
{
    (void)state;
    site = tu_ec_key(1);
    other = tu_ec_key(2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tc_key_free(site);
    tc_key_free(other);
    return 0;
}

/* keys: 3 ids given out of order with a duplicate; images: 2. */
static struct tc_revlist *make(uint64_t seq)
{
    uint8_t keys[4][32], images[2][32];
    struct tc_revlist_params p = {.sequence = seq,
                                  .issued = TU_CREATED,
                                  .max_age = 7 * 86400,
                                  .n_keys = 4,
                                  .keys = (const uint8_t(*)[32])keys,
                                  .n_images = 2,
                                  .images = (const uint8_t(*)[32])images};
    struct tc_revlist *rl;
    struct tc_err e = {0};

    memset(keys, 0, sizeof(keys));
    keys[0][0] = 0x30;
    keys[1][0] = 0x10;
    keys[2][0] = 0x20;
    keys[3][0] = 0x10;
    memset(images, 0xee, sizeof(images));
    images[1][31] = 0;
    assert_int_equal(tc_revlist_build(&p, &rl, &e), 0);
    return rl;
}

static void sign(struct tc_revlist *rl, const struct tc_key *k)
{
    struct tu_prng p;
    struct tc_rng r;
    struct tc_err e = {0};

    tu_prng_seed(&p, 77);
    r = tu_rng(&p);
    assert_int_equal(tc_revlist_sign(rl, k, &r, &e), 0);
}

static void test_roundtrip(void **state)
{
    struct tc_revlist *rl = make(5), *back;
    struct tc_err e = {0};
    uint8_t *buf, probe[32] = {0};
    size_t len;

    (void)state;
    assert_int_equal(rl->n_keys, 3); /* duplicate dropped */
    assert_int_equal(rl->n_images, 2);
    assert_int_equal(rl->keys[0][0], 0x10);
    assert_int_equal(rl->keys[2][0], 0x30);
    assert_int_equal(rl->images[0][31], 0);
    assert_int_equal(rl->body_len, RB_LEN + 5 * 32);
    assert_memory_equal(rl->body, "TCRL\0\1", 6);
    assert_memory_equal(rl->body + RB_ISSUED, "2026-01-01T00:00:00Z", 20);
    sign(rl, site);
    assert_int_equal(tc_revlist_serialize(rl, &buf, &len, &e), 0);
    assert_int_equal(len, rl->body_len + tc_sigblock_size(&rl->sigs));
    assert_int_equal(tc_revlist_parse(buf, len, &back, &e), 0);
    assert_true(back->sequence == 5);
    assert_true(back->issued == TU_CREATED);
    assert_true(back->max_age == 7 * 86400);
    assert_int_equal(back->sigs.count, 1);
    assert_memory_equal(back->body, rl->body, rl->body_len);
    probe[0] = 0x20;
    assert_true(tc_revlist_has_key(back, probe));
    probe[0] = 0x21;
    assert_false(tc_revlist_has_key(back, probe));
    memset(probe, 0xee, 32);
    assert_true(tc_revlist_has_image(back, probe));
    assert_false(tc_revlist_has_key(back, probe));
    probe[31] = 0;
    assert_true(tc_revlist_has_image(back, probe));
    probe[31] = 1;
    assert_false(tc_revlist_has_image(back, probe));
    tc_revlist_free(back);
    free(buf);
    tc_revlist_free(rl);
}

static void bad(const uint8_t *b, size_t len, int rc, const char *s1, const char *s2)
{
    struct tc_revlist *rl = NULL;
    struct tc_err e = {0};

    TU_EXPECT_ERR(tc_revlist_parse(b, len, &rl, &e), rc, &e, s1, s2);
    assert_null(rl);
}

static void test_malformed(void **state)
{
    struct tc_revlist *rl = make(1);
    struct tc_err e = {0};
    uint8_t *buf, *orig;
    size_t len;

    (void)state;
    assert_int_equal(tc_revlist_serialize(rl, &buf, &len, &e), 0);
    orig = malloc(len);
    memcpy(orig, buf, len);
    bad(buf, 55, -EBADMSG, "55 bytes, shorter than its 56-byte header", "");
    bad(buf, TC_REVLIST_LEN_MAX + 1, -E2BIG, "limit 262144", "");
    buf[0] = 'X';
    bad(buf, len, -EBADMSG, "magic is 5843524c", "TCRL");
    buf[0] = 'T';
    tc_put_be16(buf + RB_VERSION, 3);
    bad(buf, len, -EPROTO, "version 3 not supported", "");
    tc_put_be16(buf + RB_VERSION, 1);
    buf[RB_RESERVED1 + 1] = 1;
    bad(buf, len, -EBADMSG, "reserved bytes are not zero", "");
    buf[RB_RESERVED1 + 1] = 0;
    buf[RB_RESERVED2] = 1;
    bad(buf, len, -EBADMSG, "reserved bytes are not zero", "");
    buf[RB_RESERVED2] = 0;
    memcpy(buf + RB_ISSUED, "2026-01-01T00:00:00+", 20);
    bad(buf, len, -EBADMSG, "issued is \"2026-01-01T00:00:00+\"", "");
    memcpy(buf, orig, len);
    tc_put_be64(buf + RB_MAX_AGE, 0);
    bad(buf, len, -EBADMSG, "max_age is 0 s", "");
    tc_put_be64(buf + RB_MAX_AGE, UINT64_MAX);
    bad(buf, len, -EBADMSG, "max_age is 18446744073709551615 s", "");
    memcpy(buf, orig, len);
    tc_put_be32(buf + RB_N_KEYS, 4097);
    bad(buf, len, -E2BIG, "4097 keys and 2 images, limit 4096", "");
    tc_put_be32(buf + RB_N_KEYS, 0xffffffff);
    bad(buf, len, -E2BIG, "limit 4096", "");
    tc_put_be32(buf + RB_N_KEYS, 4000);
    bad(buf, len, -EBADMSG, "too short for 4000 keys and 2 images", "");
    memcpy(buf, orig, len);
    /* keys out of order / duplicated */
    buf[RB_LEN] = 0x25;
    bad(buf, len, -EBADMSG, "key entry 2", "is out of order");
    buf[RB_LEN] = 0x20;
    bad(buf, len, -EBADMSG, "key entry 2", "is a duplicate");
    memcpy(buf, orig, len);
    buf[RB_LEN + 3 * 32 + 31] = 0xee;
    bad(buf, len, -EBADMSG, "image entry 2", "is a duplicate");
    memcpy(buf, orig, len);
    /* the signature block must end the file exactly */
    bad(buf, len - 1, -EBADMSG, "revocation list: signature block", "");
    {
        uint8_t *longer = calloc(1, len + 1);

        memcpy(longer, buf, len);
        bad(longer, len + 1, -EBADMSG, "1 trailing bytes", "");
        free(longer);
    }
    free(orig);
    free(buf);
    tc_revlist_free(rl);
}

static void test_check(void **state)
{
    struct tc_revlist *rl = make(9);
    struct tc_trust t;
    struct tc_err e = {0};
    char pem[TC_PEM_MAX], hex[65];
    uint8_t id[32];
    size_t n;

    (void)state;
    tc_trust_init(&t);
    n = tu_pub_pem(site, pem, sizeof(pem));
    assert_int_equal(tc_trust_add(&t, (uint8_t *)pem, n, "site.pub", &e), 0);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 1, TU_CREATED, 0, &e), -EKEYREJECTED, &e,
                  "revocation list sequence 9: 1 distinct trusted signature required, 0 found");
    tc_err_clear(&e);
    sign(rl, other);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 1, TU_CREATED, 0, &e), -ENOKEY, &e,
                  "1 by untrusted keys");
    tc_err_clear(&e);
    sign(rl, site);
    assert_int_equal(tc_revlist_check(rl, &t, 1, TU_CREATED + 7 * 86400, 9, &e), 0);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 2, TU_CREATED, 0, &e), -EKEYREJECTED, &e,
                  "2 distinct trusted signatures required, 1 found");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 1, TU_CREATED + 7 * 86400 + 1, 0, &e), -EKEYEXPIRED, &e,
                  "revocation list sequence 9 is stale: issued 2026-01-01T00:00:00Z",
                  "stale since 2026-01-08T00:00:00Z (now 2026-01-08T00:00:01Z)");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 1, TU_CREATED, 10, &e), -EKEYREJECTED, &e,
                  "sequence 9 is older than sequence 10 already seen (replay refused)");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 0, TU_CREATED, 0, &e), -EINVAL, &e, "min_signatures");
    tc_err_clear(&e);
    /* tampered body: the trusted signature no longer verifies */
    rl->body[RB_LEN + 5] ^= 1;
    tc_key_id(site, id);
    TU_EXPECT_ERR(tc_revlist_check(rl, &t, 1, TU_CREATED, 0, &e), -EKEYREJECTED, &e,
                  "revocation list sequence 9: the signature by trusted key ", tc_hex(hex, id, 32));
    tc_trust_free(&t);
    tc_revlist_free(rl);
}

static void test_build_limits(void **state)
{
    struct tc_revlist_params p = {.sequence = 1, .issued = TU_CREATED, .max_age = 0};
    struct tc_revlist *rl = NULL;
    struct tc_err e = {0};

    (void)state;
    TU_EXPECT_ERR(tc_revlist_build(&p, &rl, &e), -EINVAL, &e, "max_age 0 s");
    tc_err_clear(&e);
    p.max_age = 1;
    p.issued = -5;
    TU_EXPECT_ERR(tc_revlist_build(&p, &rl, &e), -EINVAL, &e, "issued time -5 out of range");
    tc_err_clear(&e);
    p.issued = TU_CREATED;
    p.n_keys = 4000;
    p.n_images = 97;
    TU_EXPECT_ERR(tc_revlist_build(&p, &rl, &e), -E2BIG, &e, "limit 4096 entries");
    p.n_keys = p.n_images = 0;
    assert_int_equal(tc_revlist_build(&p, &rl, &e), 0);
    assert_int_equal(rl->n_keys + rl->n_images, 0);
    tc_revlist_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_build_limits),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
