/* SPDX-License-Identifier: MIT */
/*
 * mbedTLS 2.28 configuration for treecast (MBEDTLS_CONFIG_FILE): only what
 * lib/crypto.c uses. SHA-256; ECDSA over P-256 (deterministic nonces, RFC
 * 6979, so that a weak RNG cannot leak the key); RSA with PKCS#1 v2.1 (PSS) and
 * key generation; public/private key parsing and writing in DER and PEM. No
 * TLS, no X.509, no entropy collector (randomness comes from the caller's
 * struct tc_rng), no file system access.
 */
#ifndef TREECAST_MBEDTLS_CONFIG_H
#define TREECAST_MBEDTLS_CONFIG_H

/* System support */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_DEPRECATED_REMOVED

/* Hashes and message digests */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_HMAC_DRBG_C

/* Big numbers, elliptic curves, ECDSA */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC

/* RSA: PSS signatures (PKCS#1 v2.1) and key generation */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_GENPRIME

/* Keys: generic pk layer, DER/PEM parsing and writing */
#define MBEDTLS_OID_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* Version string (mbedtls_version_get_string) for --version */
#define MBEDTLS_VERSION_C

#include "mbedtls/check_config.h"

#endif /* TREECAST_MBEDTLS_CONFIG_H */
