/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests: a seeded deterministic random source,
 * fixed test keys, and small images built in memory with the real codec.
 */
#ifndef TREECAST_TESTUTIL_H
#define TREECAST_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/sigblock.h"
#include "treecast/tcimg.h"

/** Deterministic PRNG (xorshift64*): the same seed gives the same bytes. */
struct tu_prng {
    uint64_t s; /**< state, never 0 */
};

void tu_prng_seed(struct tu_prng *p, uint64_t seed);
uint64_t tu_prng_next(struct tu_prng *p);
void tu_prng_fill(struct tu_prng *p, uint8_t *buf, size_t len);
/* A struct tc_rng drawing from p. */
struct tc_rng tu_rng(struct tu_prng *p);

/* Fixed keys generated once (tests must not spend seconds on RSA keygen). */
extern const char tu_rsa3072_key_pem[];
extern const char tu_rsa2048_key_pem[];
extern const char tu_rsa2048_pub_pem[];
extern const char tu_p384_pub_pem[];
extern const char tu_p384_key_pem[];

/* A P-256 key generated from seed, or the fixed RSA-3072 key. Abort on failure. */
struct tc_key *tu_ec_key(uint64_t seed);
struct tc_key *tu_rsa_key(void);
/* The key's public PEM into buf (cap bytes); returns its length. */
size_t tu_pub_pem(const struct tc_key *k, char *buf, size_t cap);

/** Times used by the default test image. */
#define TU_CREATED 1767225600LL   /* 2026-01-01T00:00:00Z */
#define TU_NOT_AFTER 1798761600LL /* 2027-01-01T00:00:00Z */

/** A small image built in memory: raw bytes, stored payload, manifest. */
struct tu_image {
    uint8_t *raw;          /**< raw_size bytes */
    uint64_t raw_size;     /**< bytes of raw */
    uint8_t *payload;      /**< stored chunks then boot blobs */
    size_t payload_len;    /**< bytes of payload */
    struct tc_manifest *m; /**< the parsed manifest */
};

/** What tu_image_make() builds; zero fields take defaults. */
struct tu_image_opts {
    const char *name;    /**< default "demo" */
    const char *version; /**< default "1.0" */
    uint64_t raw_size;   /**< default 5 chunks and a half */
    uint32_t chunk_size; /**< default TC_CHUNK_SIZE_MIN */
    int64_t created;     /**< default TU_CREATED */
    int64_t not_after;   /**< default TU_NOT_AFTER (use TC_TIME_NEVER for none) */
    int boot;            /**< add a boot section */
    uint64_t seed;       /**< content seed */
};

/*
 * Build an image: chunk i is all zero when i % 3 == 0, random when i % 3 == 1,
 * repetitive text otherwise, so that ZERO, RAW and DEFLATE all occur.
 */
void tu_image_make(struct tu_image *img, const struct tu_image_opts *o);
void tu_image_free(struct tu_image *img);

/* Serialize a whole .tcimg (malloc'd) with the given signatures (NULL = none). */
uint8_t *tu_tcimg(const struct tu_image *img, const struct tc_sigblock *sb, size_t *len);

/* Sign img's manifest with key into sb. */
void tu_sign(struct tc_sigblock *sb, const struct tc_key *key, const struct tc_manifest *m,
             uint64_t seed);

/*
 * Assert that a call failed with want_rc and that its message (err) contains
 * every one of the given substrings; print the message when it does not.
 * Include <cmocka.h> before this header to use it.
 */
#ifdef cmocka_unit_test
#include <stdio.h>
#include <string.h>
#define TU_EXPECT_ERR(rc, want_rc, err, ...)                                                       \
    do {                                                                                           \
        const char *tu_subs_[] = {__VA_ARGS__};                                                    \
        size_t tu_i_;                                                                              \
        int tu_rc_ = (rc);                                                                         \
        if (tu_rc_ != (want_rc))                                                                   \
            fail_msg("rc %d, expected %d (%s); message: %s", tu_rc_, (want_rc), #want_rc,          \
                     (err)->msg);                                                                  \
        for (tu_i_ = 0; tu_i_ < sizeof(tu_subs_) / sizeof(tu_subs_[0]); tu_i_++)                   \
            if (!strstr((err)->msg, tu_subs_[tu_i_]))                                              \
                fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, tu_subs_[tu_i_]);              \
    } while (0)
#endif

#endif /* TREECAST_TESTUTIL_H */
