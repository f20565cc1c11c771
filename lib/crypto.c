// SPDX-License-Identifier: MIT
/*
 * Crypto wrapper over mbedTLS 2.28: SHA-256, keys and signatures.
 *
 * The only file that includes mbedTLS headers. SHA-256 uses the x86 SHA
 * extensions when the CPU has them (mbedTLS 2.28 does not, and hashing the
 * stored bytes of every chunk is on the unpack hot path), else mbedTLS.
 */
#include <assert.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TC_HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "treecast/be.h"
#include "treecast/crypto.h"

/** PSS salt length: the hash length, as FIPS 186-4 recommends. */
#define PSS_SALT_LEN 32
/** Largest RSA modulus accepted: a signature must fit in TC_SIG_MAX bytes. */
#define RSA_BITS_MAX (TC_SIG_MAX * 8)
/** Room for a public key's DER SubjectPublicKeyInfo (RSA-4096 is ~550 bytes). */
#define PUBKEY_DER_MAX 1024

/* ------------------------------------------------------------------------ */
/* SHA-256                                                                   */
/* ------------------------------------------------------------------------ */

/** Our own SHA-256 state, used with the SHA extensions. */
struct sha_ni_ctx {
    uint32_t state[8]; /**< a..h */
    uint64_t total;    /**< bytes hashed so far */
    uint8_t buf[64];   /**< partial block */
    uint32_t buf_len;  /**< bytes in buf */
};

/** What lives inside struct tc_sha256. */
struct sha_impl {
    uint32_t accel; /**< 1: sha_ni_ctx, 0: mbedTLS */
    union {
        mbedtls_sha256_context mb; /**< portable path */
        struct sha_ni_ctx ni;      /**< accelerated path */
    } u;
};

static_assert(sizeof(struct sha_impl) <= sizeof(struct tc_sha256),
              "struct tc_sha256 too small for the SHA-256 context");
static_assert(alignof(struct sha_impl) <= alignof(struct tc_sha256),
              "struct tc_sha256 under-aligned for the SHA-256 context");

/** -1 not probed yet, 0 portable, 1 SHA extensions. */
static atomic_int sha_accel = -1;

#ifdef TC_HAVE_SHA_NI
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/** True if the CPU has the SHA extensions and SSSE3 / SSE4.1 (which they need). */
static int cpu_has_sha_ni(void)
{
    unsigned a, b, c, d;

    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & (1u << 9)) || !(c & (1u << 19))) /* SSSE3, SSE4.1 */
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* SHA */
}

/**
 * Compress n 64-byte blocks with the SHA extensions. The state is kept as
 * ABEF / CDGH pairs, the layout sha256rnds2 works on; each iteration of the
 * inner loop does four rounds and extends the message schedule by four words.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha_ni_blocks(uint32_t state[8],
                                                                      const uint8_t *data, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i s0, s1, tmp, abef, cdgh, msg, w[4];
    int i;

    tmp = _mm_loadu_si128((const __m128i *)&state[0]); /* DCBA */
    s1 = _mm_loadu_si128((const __m128i *)&state[4]);  /* HGFE */
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);                  /* EFGH */
    s0 = _mm_alignr_epi8(tmp, s1, 8);                  /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);               /* CDGH */

    while (n--) {
        abef = s0;
        cdgh = s1;
        for (i = 0; i < 16; i++) {
            __m128i cur;

            if (i < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), bswap);
            } else {
                cur = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
                cur = _mm_add_epi32(cur, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
                cur = _mm_sha256msg2_epu32(cur, w[(i + 3) & 3]);
            }
            w[i & 3] = cur;
            msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&sha_k[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
            msg = _mm_shuffle_epi32(msg, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        data += 64;
    }

    tmp = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);    /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0); /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], s0);
    _mm_storeu_si128((__m128i *)&state[4], s1);
}
#endif /* TC_HAVE_SHA_NI */

/** Whether to use the SHA extensions (probed once; threads may race benignly). */
static int sha_use_accel(void)
{
    int v = atomic_load_explicit(&sha_accel, memory_order_relaxed);

    if (v < 0) {
#ifdef TC_HAVE_SHA_NI
        v = cpu_has_sha_ni();
#else
        v = 0;
#endif
        atomic_store_explicit(&sha_accel, v, memory_order_relaxed);
    }
    return v;
}

/**
 * Choose the SHA-256 implementation for contexts initialized from now on:
 * enable = 0 forces mbedTLS, 1 uses the SHA extensions when the CPU has them.
 * Returns 1 if the accelerated path is now in use. For tests and benchmarks.
 */
int tc_sha256_use_accel(int enable)
{
    int v = 0;

#ifdef TC_HAVE_SHA_NI
    if (enable)
        v = cpu_has_sha_ni();
#endif
    (void)enable;
    atomic_store_explicit(&sha_accel, v, memory_order_relaxed);
    return v;
}

/** "sha-ni" or "mbedtls": the SHA-256 implementation in use. */
const char *tc_sha256_impl(void)
{
    return sha_use_accel() ? "sha-ni" : "mbedtls";
}

/** Start a SHA-256 computation in h. */
void tc_sha256_init(struct tc_sha256 *h)
{
    struct sha_impl *s = (struct sha_impl *)h;
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    memset(h, 0, sizeof(*h));
    s->accel = (uint32_t)sha_use_accel();
    if (s->accel) {
        memcpy(s->u.ni.state, iv, sizeof(iv));
        return;
    }
    mbedtls_sha256_init(&s->u.mb);
    mbedtls_sha256_starts_ret(&s->u.mb, 0);
}

/** Hash len more bytes at buf. */
void tc_sha256_update(struct tc_sha256 *h, const void *buf, size_t len)
{
    struct sha_impl *s = (struct sha_impl *)h;
    const uint8_t *p = buf;

    if (!s->accel) {
        mbedtls_sha256_update_ret(&s->u.mb, p, len);
        return;
    }
#ifdef TC_HAVE_SHA_NI
    {
        struct sha_ni_ctx *c = &s->u.ni;

        c->total += len;
        if (c->buf_len) {
            size_t take = 64 - c->buf_len < len ? 64 - c->buf_len : len;

            memcpy(c->buf + c->buf_len, p, take);
            c->buf_len += (uint32_t)take;
            p += take;
            len -= take;
            if (c->buf_len < 64)
                return;
            sha_ni_blocks(c->state, c->buf, 1);
            c->buf_len = 0;
        }
        if (len >= 64) {
            sha_ni_blocks(c->state, p, len / 64);
            p += len & ~(size_t)63;
            len &= 63;
        }
        memcpy(c->buf, p, len);
        c->buf_len = (uint32_t)len;
    }
#endif
}

/** Finish the computation and write the digest to out. */
void tc_sha256_final(struct tc_sha256 *h, uint8_t out[TC_SHA256_LEN])
{
    struct sha_impl *s = (struct sha_impl *)h;

    if (!s->accel) {
        mbedtls_sha256_finish_ret(&s->u.mb, out);
        mbedtls_sha256_free(&s->u.mb);
        return;
    }
#ifdef TC_HAVE_SHA_NI
    {
        struct sha_ni_ctx *c = &s->u.ni;
        uint64_t bits = c->total * 8;
        int i;

        c->buf[c->buf_len++] = 0x80;
        if (c->buf_len > 56) {
            memset(c->buf + c->buf_len, 0, 64 - c->buf_len);
            sha_ni_blocks(c->state, c->buf, 1);
            c->buf_len = 0;
        }
        memset(c->buf + c->buf_len, 0, 56 - c->buf_len);
        tc_put_be64(c->buf + 56, bits);
        sha_ni_blocks(c->state, c->buf, 1);
        for (i = 0; i < 8; i++)
            tc_put_be32(out + 4 * i, c->state[i]);
        memset(c, 0, sizeof(*c));
    }
#endif
}

/** One-shot SHA-256. */
void tc_sha256(const void *buf, size_t len, uint8_t out[TC_SHA256_LEN])
{
    struct tc_sha256 h;

    tc_sha256_init(&h);
    tc_sha256_update(&h, buf, len);
    tc_sha256_final(&h, out);
}

/** SHA-256(domain || 0x00 || msg): the digest that is signed. */
void tc_sig_digest(const char *domain, const uint8_t *msg, size_t len, uint8_t out[TC_SHA256_LEN])
{
    struct tc_sha256 h;
    static const uint8_t zero = 0;

    tc_sha256_init(&h);
    tc_sha256_update(&h, domain, strlen(domain));
    tc_sha256_update(&h, &zero, 1);
    tc_sha256_update(&h, msg, len);
    tc_sha256_final(&h, out);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

/** A key: the mbedTLS context plus what we derive from it once. */
struct tc_key {
    mbedtls_pk_context pk;     /**< the key */
    int is_private;            /**< holds the private part */
    enum tc_sig_alg alg;       /**< what it signs with */
    uint8_t id[TC_KEY_ID_LEN]; /**< SHA-256 of the public DER */
};

/** mbedTLS f_rng over a struct tc_rng. */
static int rng_fill(void *ctx, unsigned char *buf, size_t len)
{
    const struct tc_rng *rng = ctx;

    return rng->fill(rng->ctx, buf, len) ? MBEDTLS_ERR_ECP_RANDOM_FAILED : 0;
}

/** Allocate an empty key. */
static struct tc_key *key_alloc(void)
{
    struct tc_key *k = calloc(1, sizeof(*k));

    if (k)
        mbedtls_pk_init(&k->pk);
    return k;
}

/** Free a key (NULL is allowed). */
void tc_key_free(struct tc_key *key)
{
    if (!key)
        return;
    mbedtls_pk_free(&key->pk);
    free(key);
}

/**
 * Check the parsed key against what treecast accepts (P-256, RSA 3072..4096),
 * set the RSA padding to PSS with SHA-256, and compute the key id.
 */
static int key_finish(struct tc_key *k, struct tc_err *err)
{
    uint8_t der[PUBKEY_DER_MAX];
    int n;

    switch (mbedtls_pk_get_type(&k->pk)) {
    case MBEDTLS_PK_ECKEY: {
        const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(k->pk);

        if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
            const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_grp_id(ec->grp.id);

            return tc_err_set(err, -EINVAL, "key: curve %s refused: only P-256 (secp256r1)",
                              ci ? ci->name : "unknown");
        }
        k->alg = TC_SIG_ECDSA_P256_SHA256;
        break;
    }
    case MBEDTLS_PK_RSA: {
        size_t bits = mbedtls_pk_get_bitlen(&k->pk);

        if (bits < TC_RSA_BITS_MIN)
            return tc_err_set(err, -EINVAL,
                              "key: RSA key of %zu bits refused: at least %d bits required", bits,
                              TC_RSA_BITS_MIN);
        if (bits > RSA_BITS_MAX)
            return tc_err_set(err, -EINVAL,
                              "key: RSA key of %zu bits refused: at most %d bits (signatures "
                              "up to %d bytes)",
                              bits, RSA_BITS_MAX, TC_SIG_MAX);
        mbedtls_rsa_set_padding(mbedtls_pk_rsa(k->pk), MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
        k->alg = TC_SIG_RSA_PSS_SHA256;
        break;
    }
    default:
        return tc_err_set(err, -EINVAL, "key: type %s refused: only ECDSA P-256 and RSA",
                          mbedtls_pk_get_name(&k->pk));
    }
    n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der));
    if (n <= 0)
        return tc_err_set(err, -EINVAL, "key: cannot encode the public key (mbedTLS -0x%04x)",
                          (unsigned)-n);
    tc_sha256(der + sizeof(der) - (size_t)n, (size_t)n, k->id);
    return 0;
}

/** Generate a private key of the given type with randomness from rng. */
int tc_key_generate(struct tc_key **out, enum tc_key_type type, const struct tc_rng *rng,
                    struct tc_err *err)
{
    struct tc_key *k;
    int ret, rc;

    if (!rng || !rng->fill)
        return tc_err_set(err, -EINVAL, "keygen: no random number source");
    k = key_alloc();
    if (!k)
        return tc_err_set(err, -ENOMEM, "keygen: out of memory");
    switch (type) {
    case TC_KEY_ECDSA_P256:
        ret = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
        if (!ret)
            ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), rng_fill,
                                      (void *)rng);
        break;
    case TC_KEY_RSA_3072:
        ret = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
        if (!ret)
            ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(k->pk), rng_fill, (void *)rng, 3072, 65537);
        break;
    default:
        tc_key_free(k);
        return tc_err_set(err, -EINVAL, "keygen: unknown key type %d", (int)type);
    }
    if (ret) {
        tc_key_free(k);
        return tc_err_set(err, -EIO, "keygen: key generation failed (mbedTLS -0x%04x)",
                          (unsigned)-ret);
    }
    k->is_private = 1;
    rc = key_finish(k, err);
    if (rc) {
        tc_key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/** True if buf holds PEM text rather than DER. */
static int is_pem(const uint8_t *buf, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    size_t i;

    for (i = 0; i + sizeof(tag) - 1 <= len; i++)
        if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0)
            return 1;
    return 0;
}

/** Parse a public (priv = 0) or private (priv = 1) key in PEM or DER. */
static int key_parse(struct tc_key **out, const uint8_t *buf, size_t len, int priv,
                     struct tc_err *err)
{
    const char *what = priv ? "private key" : "public key";
    struct tc_key *k;
    uint8_t *copy;
    size_t n = len;
    int ret, rc;

    if (len == 0 || len > TC_PEM_MAX)
        return tc_err_set(err, -EINVAL, "%s: %zu bytes, expected 1..%d", what, len, TC_PEM_MAX);
    /* mbedTLS wants PEM text NUL-terminated, with the NUL counted. */
    copy = malloc(len + 1);
    if (!copy)
        return tc_err_set(err, -ENOMEM, "%s: out of memory", what);
    memcpy(copy, buf, len);
    copy[len] = '\0';
    if (is_pem(buf, len))
        n = len + 1;
    k = key_alloc();
    if (!k) {
        free(copy);
        return tc_err_set(err, -ENOMEM, "%s: out of memory", what);
    }
    if (priv)
        ret = mbedtls_pk_parse_key(&k->pk, copy, n, NULL, 0);
    else
        ret = mbedtls_pk_parse_public_key(&k->pk, copy, n);
    memset(copy, 0, len + 1);
    free(copy);
    if (ret) {
        tc_key_free(k);
        if (ret == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE)
            return tc_err_set(err, -EINVAL, "%s: curve refused: only P-256 (secp256r1)", what);
        if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
            return tc_err_set(err, -EINVAL, "%s: encrypted keys are not supported", what);
        return tc_err_set(err, -EINVAL, "%s: not a valid %s key in PEM or DER (mbedTLS -0x%04x)",
                          what, priv ? "unencrypted private" : "SubjectPublicKeyInfo public",
                          (unsigned)-ret);
    }
    k->is_private = priv;
    rc = key_finish(k, err);
    if (rc) {
        tc_key_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/** Parse a PEM or DER SubjectPublicKeyInfo; see crypto.h for what is refused. */
int tc_key_parse_public(struct tc_key **out, const uint8_t *buf, size_t len, struct tc_err *err)
{
    return key_parse(out, buf, len, 0, err);
}

/** Parse an unencrypted PEM or DER private key; see crypto.h. */
int tc_key_parse_private(struct tc_key **out, const uint8_t *buf, size_t len, struct tc_err *err)
{
    return key_parse(out, buf, len, 1, err);
}

/** Map an mbedTLS write result to an rc and the PEM length. */
static int pem_result(int ret, const char *buf, size_t cap, size_t *len)
{
    if (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
        return -ENOSPC;
    if (ret)
        return -EINVAL;
    *len = strnlen(buf, cap);
    return 0;
}

/** Write the public key as PEM ("-----BEGIN PUBLIC KEY-----"). */
int tc_key_write_public_pem(const struct tc_key *key, char *buf, size_t cap, size_t *len)
{
    int ret =
        mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&key->pk, (unsigned char *)buf, cap);

    return pem_result(ret, buf, cap, len);
}

/** Write the private key as PEM (SEC1 or PKCS#1); -EINVAL for a public key. */
int tc_key_write_private_pem(const struct tc_key *key, char *buf, size_t cap, size_t *len)
{
    int ret;

    if (!key->is_private)
        return -EINVAL;
    ret = mbedtls_pk_write_key_pem((mbedtls_pk_context *)&key->pk, (unsigned char *)buf, cap);
    return pem_result(ret, buf, cap, len);
}

/** Copy out the key id (SHA-256 of the public DER). */
void tc_key_id(const struct tc_key *key, uint8_t id[TC_KEY_ID_LEN])
{
    memcpy(id, key->id, TC_KEY_ID_LEN);
}

/** The signature algorithm the key signs and verifies with. */
enum tc_sig_alg tc_key_alg(const struct tc_key *key)
{
    return key->alg;
}

/** True if the key holds its private part. */
int tc_key_is_private(const struct tc_key *key)
{
    return key->is_private;
}

/** Sign a 32-byte digest; see crypto.h. */
int tc_key_sign(const struct tc_key *key, const struct tc_rng *rng,
                const uint8_t digest[TC_SHA256_LEN], uint8_t *sig, size_t *sig_len,
                struct tc_err *err)
{
    unsigned char out[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    char hex[2 * TC_KEY_ID_LEN + 1];
    size_t n = 0;
    int ret;

    tc_hex(hex, key->id, TC_KEY_ID_LEN);
    if (!key->is_private)
        return tc_err_set(err, -EINVAL, "sign: key %.16s.. is a public key", hex);
    if (!rng || !rng->fill)
        return tc_err_set(err, -EINVAL, "sign: no random number source");
    if (key->alg == TC_SIG_RSA_PSS_SHA256) {
        mbedtls_rsa_context *rsa = mbedtls_pk_rsa(key->pk);

        n = mbedtls_rsa_get_len(rsa);
        ret = mbedtls_rsa_rsassa_pss_sign_ext(rsa, rng_fill, (void *)rng, MBEDTLS_MD_SHA256,
                                              TC_SHA256_LEN, digest, PSS_SALT_LEN, out);
    } else {
        ret = mbedtls_pk_sign((mbedtls_pk_context *)&key->pk, MBEDTLS_MD_SHA256, digest,
                              TC_SHA256_LEN, out, &n, rng_fill, (void *)rng);
    }
    if (ret)
        return tc_err_set(err, -EIO, "sign: key %.16s.. failed to sign (mbedTLS -0x%04x)", hex,
                          (unsigned)-ret);
    if (n == 0 || n > TC_SIG_MAX)
        return tc_err_set(err, -E2BIG, "sign: key %.16s.. made a %zu-byte signature, limit %d", hex,
                          n, TC_SIG_MAX);
    memcpy(sig, out, n);
    *sig_len = n;
    return 0;
}

/** Verify a signature over a 32-byte digest: 0 or -EKEYREJECTED. */
int tc_key_verify(const struct tc_key *key, enum tc_sig_alg alg,
                  const uint8_t digest[TC_SHA256_LEN], const uint8_t *sig, size_t sig_len)
{
    int ret;

    if (alg != key->alg || sig_len == 0 || sig_len > TC_SIG_MAX)
        return -EKEYREJECTED;
    if (alg == TC_SIG_RSA_PSS_SHA256) {
        mbedtls_pk_rsassa_pss_options opt = {
            .mgf1_hash_id = MBEDTLS_MD_SHA256,
            .expected_salt_len = PSS_SALT_LEN,
        };

        if (sig_len != mbedtls_pk_get_len(&key->pk))
            return -EKEYREJECTED;
        ret = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &opt, (mbedtls_pk_context *)&key->pk,
                                    MBEDTLS_MD_SHA256, digest, TC_SHA256_LEN, sig, sig_len);
    } else {
        ret = mbedtls_pk_verify((mbedtls_pk_context *)&key->pk, MBEDTLS_MD_SHA256, digest,
                                TC_SHA256_LEN, sig, sig_len);
    }
    return ret ? -EKEYREJECTED : 0;
}

/** Short algorithm name for messages. */
const char *tc_sig_alg_name(enum tc_sig_alg alg)
{
    switch (alg) {
    case TC_SIG_ECDSA_P256_SHA256:
        return "ecdsa-p256";
    case TC_SIG_RSA_PSS_SHA256:
        return "rsa-pss";
    }
    return "unknown";
}

/** The mbedTLS version compiled in, for --version. */
const char *tc_crypto_backend_version(void)
{
    return "mbed TLS " MBEDTLS_VERSION_STRING;
}
