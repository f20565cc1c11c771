/* SPDX-License-Identifier: MIT */
/*
 * Crypto wrapper: SHA-256, keys and signatures.
 *
 * The only module that includes mbedTLS headers is lib/crypto.c, so that a
 * newer mbedTLS (3.x) can replace 2.28 without touching any caller. lib/ makes
 * no system call: randomness comes in through struct tc_rng (os/ supplies one
 * backed by getrandom(2); tests supply deterministic ones).
 */
#ifndef TREECAST_CRYPTO_H
#define TREECAST_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

#define TC_SHA256_LEN 32
/** Key id = SHA-256 of the DER SubjectPublicKeyInfo of the public key. */
#define TC_KEY_ID_LEN 32
/** Longest signature we produce or accept (RSA-4096 = 512 bytes). */
#define TC_SIG_MAX 512
/** Longest PEM text we read or write (an RSA-4096 private key is ~3.3 KiB). */
#define TC_PEM_MAX 8192
/** Smallest RSA modulus accepted, in bits. */
#define TC_RSA_BITS_MIN 3072

/** Incremental SHA-256. Opaque storage large enough for mbedTLS's context. */
struct tc_sha256 {
    uint64_t opaque[32]; /**< mbedtls_sha256_context lives here */
};

void tc_sha256_init(struct tc_sha256 *h);
void tc_sha256_update(struct tc_sha256 *h, const void *buf, size_t len);
void tc_sha256_final(struct tc_sha256 *h, uint8_t out[TC_SHA256_LEN]);
/* One-shot SHA-256 of buf. */
void tc_sha256(const void *buf, size_t len, uint8_t out[TC_SHA256_LEN]);

/*
 * SHA-256 implementation: the x86 SHA extensions when the CPU has them, else
 * mbedTLS. tc_sha256_impl() names the one in use ("sha-ni" or "mbedtls");
 * tc_sha256_use_accel(0) forces mbedTLS for contexts initialized afterwards
 * (tests, benchmarks) and returns 1 if the accelerated path is now active.
 */
const char *tc_sha256_impl(void);
int tc_sha256_use_accel(int enable);

/** A source of random bytes, supplied by the caller. */
struct tc_rng {
    /** Fill buf with len random bytes; 0 or a negative errno. */
    int (*fill)(void *ctx, uint8_t *buf, size_t len);
    void *ctx; /**< passed to fill */
};

/** Signature algorithms (values are on the wire and in files: never renumber). */
enum tc_sig_alg {
    TC_SIG_ECDSA_P256_SHA256 = 1, /**< ECDSA over P-256, SHA-256, DER signature */
    TC_SIG_RSA_PSS_SHA256 = 2,    /**< RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 */
};

/** Kinds of key that keygen makes. */
enum tc_key_type {
    TC_KEY_ECDSA_P256 = 1,
    TC_KEY_RSA_3072 = 2,
};

/** A public or private key (opaque). */
struct tc_key;

/* Generate a new private key. */
int tc_key_generate(struct tc_key **out, enum tc_key_type type, const struct tc_rng *rng,
                    struct tc_err *err);
/* Parse a PEM (or DER) public key (SubjectPublicKeyInfo). Refuses RSA < 3072 bits
 * and curves other than P-256. */
int tc_key_parse_public(struct tc_key **out, const uint8_t *buf, size_t len, struct tc_err *err);
/* Parse a PEM (or DER) private key, unencrypted. Same restrictions. */
int tc_key_parse_private(struct tc_key **out, const uint8_t *buf, size_t len, struct tc_err *err);
void tc_key_free(struct tc_key *key);

/* Write the key as NUL-terminated PEM into buf; *len excludes the NUL. */
int tc_key_write_public_pem(const struct tc_key *key, char *buf, size_t cap, size_t *len);
int tc_key_write_private_pem(const struct tc_key *key, char *buf, size_t cap, size_t *len);

/* The key's id (SHA-256 of its public DER) and its signature algorithm. */
void tc_key_id(const struct tc_key *key, uint8_t id[TC_KEY_ID_LEN]);
enum tc_sig_alg tc_key_alg(const struct tc_key *key);
/* True if the key holds a private part. */
int tc_key_is_private(const struct tc_key *key);

/*
 * Sign / verify a 32-byte digest (already domain-separated by the caller, see
 * tc_sig_digest()). sig receives at most TC_SIG_MAX bytes.
 * tc_key_verify returns 0 if the signature is valid, -EKEYREJECTED if not.
 */
int tc_key_sign(const struct tc_key *key, const struct tc_rng *rng,
                const uint8_t digest[TC_SHA256_LEN], uint8_t *sig, size_t *sig_len,
                struct tc_err *err);
int tc_key_verify(const struct tc_key *key, enum tc_sig_alg alg,
                  const uint8_t digest[TC_SHA256_LEN], const uint8_t *sig, size_t sig_len);

/*
 * Domain separation: the digest that is signed is
 *   SHA-256(domain || 0x00 || message)
 * with domain one of the strings below, so that a manifest signature can never
 * be taken for a revocation-list signature.
 */
#define TC_DOMAIN_MANIFEST "treecast manifest v1"
#define TC_DOMAIN_REVLIST "treecast revocation list v1"
void tc_sig_digest(const char *domain, const uint8_t *msg, size_t len, uint8_t out[TC_SHA256_LEN]);

/* Human-readable names ("ecdsa-p256", "rsa-pss-3072"), never NULL. */
const char *tc_sig_alg_name(enum tc_sig_alg alg);

/* Version string of the crypto backend ("mbed TLS 2.28.3"). */
const char *tc_crypto_backend_version(void);

#endif /* TREECAST_CRYPTO_H */
