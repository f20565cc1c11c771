// SPDX-License-Identifier: MIT
/* Unit tests for lib/trust.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/revlist.h"
#include "treecast/trust.h"

#define NOW (TU_CREATED + 86400)

static struct tu_image img;
static struct tc_key *site, *endorser, *stranger, *rsa;

static int setup(void **state)
{
    struct tu_image_opts o = {.seed = 4, .version = "1.4"};

    (void)state;
    tu_image_make(&img, &o);
    site = tu_ec_key(1);
    endorser = tu_ec_key(2);
    stranger = tu_ec_key(3);
    rsa = tu_rsa_key();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_image_free(&img);
    tc_key_free(site);
    tc_key_free(endorser);
    tc_key_free(stranger);
    tc_key_free(rsa);
    return 0;
}

static void trust_key(struct tc_trust *t, const struct tc_key *k, const char *label)
{
    char pem[TC_PEM_MAX];
    size_t n = tu_pub_pem(k, pem, sizeof(pem));
    struct tc_err e = {0};

    assert_int_equal(tc_trust_add(t, (uint8_t *)pem, n, label, &e), 0);
}

static struct tc_policy policy(void)
{
    struct tc_policy p = {.min_signatures = 1, .now = NOW, .build_time = TU_CREATED - 86400};

    return p;
}

static char *id_hex(const struct tc_key *k, char out[65])
{
    uint8_t id[32];

    tc_key_id(k, id);
    return tc_hex(out, id, 32);
}

static void test_accept(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_verdict v;
    struct tc_err e = {0};

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "keys/site.pub");
    trust_key(&t, rsa, "keys/rsa.pub");
    tu_sign(&sb, stranger, img.m, 1);
    tu_sign(&sb, site, img.m, 2);
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, &v, &e), 0);
    assert_int_equal(v.trusted_valid, 1);
    assert_int_equal(v.untrusted, 1);
    assert_int_equal(v.total, 2);
    /* two distinct trusted signatures: ECDSA and RSA-PSS */
    p.min_signatures = 2;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, &v, &e), -EKEYREJECTED, &e,
                  "image demo 1.4: 2 distinct trusted signatures required, 1 found (trusted: ",
                  ".. from keys/site.pub");
    tc_err_clear(&e);
    tu_sign(&sb, rsa, img.m, 3);
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, &v, &e), 0);
    assert_int_equal(v.trusted_valid, 2);
    /* a second copy of the same key's signature does not count twice */
    sb.sigs[sb.count] = sb.sigs[2];
    sb.count++;
    p.min_signatures = 3;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, &v, &e), -EKEYREJECTED, &e,
                  "3 distinct trusted signatures required, 2 found");
    assert_int_equal(v.trusted_valid, 2);
    tc_trust_free(&t);
}

static void test_refusals(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_err e = {0};
    char hex[65];

    (void)state;
    tc_trust_init(&t);
    /* empty trust store */
    tu_sign(&sb, site, img.m, 1);
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -ENOKEY, &e,
                  "trust store is empty");
    tc_err_clear(&e);
    trust_key(&t, site, "keys/site.pub");
    /* unsigned */
    sb.count = 0;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "image demo 1.4 is unsigned; 1 distinct trusted signature required");
    tc_err_clear(&e);
    /* only untrusted signers */
    tu_sign(&sb, stranger, img.m, 1);
    id_hex(stranger, hex);
    hex[16] = '\0';
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -ENOKEY, &e,
                  "signed by 1 key, none of them trusted", hex);
    tc_err_clear(&e);
    p.min_signatures = 0;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EINVAL, &e, "min_signatures");
    tc_trust_free(&t);
}

static void test_tampering(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_manifest *m2;
    struct tc_err e = {0};
    uint8_t *b;
    char hex[65];

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "keys/site.pub");
    tu_sign(&sb, stranger, img.m, 1);
    tu_sign(&sb, site, img.m, 2);
    /* flip one byte of a chunk's stored hash: still a well-formed manifest */
    b = malloc(img.m->len);
    memcpy(b, img.m->bytes, img.m->len);
    b[256 + 69 + 5] ^= 1;
    assert_int_equal(tc_manifest_parse(b, img.m->len, &m2, &e), 0);
    TU_EXPECT_ERR(tc_trust_check(&t, &p, m2, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "image demo: the signature by trusted key ", id_hex(site, hex),
                  "(keys/site.pub, ecdsa-p256) does not verify");
    tc_err_clear(&e);
    tc_manifest_free(m2);
    /* a corrupt signature */
    sb.sigs[1].sig[5] ^= 1;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "does not verify", hex);
    tc_err_clear(&e);
    sb.sigs[1].sig[5] ^= 1;
    /* wrong algorithm claimed */
    sb.sigs[1].alg = TC_SIG_RSA_PSS_SHA256;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "does not verify");
    tc_err_clear(&e);
    sb.sigs[1].alg = TC_SIG_ECDSA_P256_SHA256;
    /* a revocation-list signature over the same bytes is not a manifest signature */
    {
        struct tc_sigblock other = {0};
        uint8_t d[32];
        struct tu_prng pr;
        struct tc_rng r;

        tu_prng_seed(&pr, 1);
        r = tu_rng(&pr);
        tc_sig_digest(TC_DOMAIN_REVLIST, img.m->bytes, img.m->len, d);
        assert_int_equal(tc_sigblock_add(&other, site, &r, d, &e), 0);
        TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &other, NULL, &e), -EKEYREJECTED, &e,
                      "does not verify");
        tc_err_clear(&e);
    }
    free(b);
    tc_trust_free(&t);
}

static void test_time(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_err e = {0};

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "keys/site.pub");
    tu_sign(&sb, site, img.m, 1);
    p.now = TU_NOT_AFTER;
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), 0);
    p.now = TU_NOT_AFTER + 1;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYEXPIRED, &e,
                  "image demo 1.4 expired at 2027-01-01T00:00:00Z (now 2027-01-01T00:00:01Z)");
    tc_err_clear(&e);
    p.now = TU_CREATED;
    p.build_time = TU_CREATED + 3600;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -ETIME, &e,
                  "clock reads 2026-01-01T00:00:00Z, earlier than this build "
                  "(2026-01-01T01:00:00Z): refusing to judge expiry; set the clock");
    tc_err_clear(&e);
    /* the clock is checked first, even before signatures */
    sb.count = 0;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -ETIME, &e, "set the clock");
    tc_trust_free(&t);
}

static void test_never_expires(void **state)
{
    struct tu_image b;
    struct tu_image_opts o = {.seed = 1, .not_after = TC_TIME_NEVER};
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_err e = {0};

    (void)state;
    tu_image_make(&b, &o);
    tc_trust_init(&t);
    trust_key(&t, site, "site");
    tu_sign(&sb, site, b.m, 1);
    p.now = 253402300799LL;
    assert_int_equal(tc_trust_check(&t, &p, b.m, &sb, NULL, &e), 0);
    tc_trust_free(&t);
    tu_image_free(&b);
}

static void test_wanted(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_err e = {0};
    uint8_t pin[32];

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "site");
    tu_sign(&sb, site, img.m, 1);
    p.want_name = "other";
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "image is demo 1.4, but other was asked for");
    tc_err_clear(&e);
    p.want_name = "demo";
    p.min_version = "1.10";
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "image demo version 1.4 is older than the minimum version 1.10 (rollback "
                  "refused)");
    tc_err_clear(&e);
    p.min_version = "1.4";
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), 0);
    p.min_version = "1.3.9";
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), 0);
    memcpy(pin, img.m->image_digest, 32);
    p.want_digest = pin;
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), 0);
    pin[31] ^= 1;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, NULL, &e), -EKEYREJECTED, &e,
                  "the pin asks for sha256:");
    tc_trust_free(&t);
}

static struct tc_revlist *revlist(const struct tc_key *key, const uint8_t *image)
{
    struct tc_revlist_params rp = {.sequence = 7, .issued = TU_CREATED, .max_age = 30 * 86400};
    uint8_t kid[1][32];
    uint8_t img_d[1][32];
    struct tc_revlist *rl;
    struct tc_err e = {0};

    if (key) {
        tc_key_id(key, kid[0]);
        rp.keys = (const uint8_t(*)[32])kid;
        rp.n_keys = 1;
    }
    if (image) {
        memcpy(img_d[0], image, 32);
        rp.images = (const uint8_t(*)[32])img_d;
        rp.n_images = 1;
    }
    assert_int_equal(tc_revlist_build(&rp, &rl, &e), 0);
    return rl;
}

static void test_revoked(void **state)
{
    struct tc_trust t;
    struct tc_sigblock sb = {0};
    struct tc_policy p = policy();
    struct tc_verdict v;
    struct tc_err e = {0};
    struct tc_revlist *rl;
    char hex[65];

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "keys/site.pub");
    trust_key(&t, endorser, "keys/endorser.pub");
    tu_sign(&sb, site, img.m, 1);
    rl = revlist(site, NULL);
    p.revocations = rl;
    id_hex(site, hex);
    hex[16] = '\0';
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, &v, &e), -EKEYREVOKED, &e,
                  "the signature by key ", hex,
                  "(keys/site.pub) does not count, the key is "
                  "revoked (revocation list sequence 7); 1 distinct trusted signature "
                  "required, 0 left");
    tc_err_clear(&e);
    /* another trusted signature still makes it */
    tu_sign(&sb, endorser, img.m, 2);
    assert_int_equal(tc_trust_check(&t, &p, img.m, &sb, &v, &e), 0);
    assert_int_equal(v.trusted_valid, 1);
    tc_revlist_free(rl);
    /* the image itself revoked */
    rl = revlist(NULL, img.m->image_digest);
    p.revocations = rl;
    TU_EXPECT_ERR(tc_trust_check(&t, &p, img.m, &sb, &v, &e), -EKEYREVOKED, &e,
                  "image demo 1.4 (sha256:", "is revoked by revocation list sequence 7");
    tc_revlist_free(rl);
    tc_trust_free(&t);
}

static void test_store(void **state)
{
    struct tc_trust t;
    struct tc_err e = {0};
    char pem[TC_PEM_MAX], hex[65];
    size_t n;
    unsigned i;

    (void)state;
    tc_trust_init(&t);
    trust_key(&t, site, "a.pub");
    n = tu_pub_pem(site, pem, sizeof(pem));
    id_hex(site, hex);
    hex[16] = '\0';
    TU_EXPECT_ERR(tc_trust_add(&t, (uint8_t *)pem, n, "b.pub", &e), -EEXIST, &e, hex,
                  "from b.pub is already trusted (from a.pub)");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_trust_add(&t, (const uint8_t *)tu_rsa2048_pub_pem, strlen(tu_rsa2048_pub_pem),
                               "weak.pub", &e),
                  -EINVAL, &e, "trust store: weak.pub: ", "2048 bits");
    tc_err_clear(&e);
    assert_int_equal(t.count, 1);
    assert_non_null(tc_trust_find(&t, t.keys[0].id));
    assert_string_equal(tc_trust_find(&t, t.keys[0].id)->label, "a.pub");
    for (i = 1; i < TC_TRUST_KEYS_MAX; i++) {
        struct tc_key *k = tu_ec_key(1000 + i);

        trust_key(&t, k, "k");
        tc_key_free(k);
    }
    n = tu_pub_pem(stranger, pem, sizeof(pem));
    TU_EXPECT_ERR(tc_trust_add(&t, (uint8_t *)pem, n, "last.pub", &e), -E2BIG, &e,
                  "more than 64 keys");
    tc_trust_free(&t);
    assert_int_equal(t.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept),        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_tampering),     cmocka_unit_test(test_time),
        cmocka_unit_test(test_never_expires), cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_revoked),       cmocka_unit_test(test_store),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
