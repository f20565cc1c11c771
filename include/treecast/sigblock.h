/* SPDX-License-Identifier: MIT */
/*
 * The signature block: the signatures over one signed object (a manifest, or
 * a revocation list), each naming its key by key id. Kept at the end of a
 * .tcimg file so that signing rewrites only the tail.
 */
#ifndef TREECAST_SIGBLOCK_H
#define TREECAST_SIGBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/err.h"

/** Signature block format version written and accepted. */
#define TC_SIGBLOCK_VERSION 1
/** Size of an empty (unsigned) signature block. */
#define TC_SIGBLOCK_EMPTY_LEN 8
/** Most signatures on one object. */
#define TC_SIGS_MAX 16
/** Longest serialized signature block accepted. */
#define TC_SIGBLOCK_LEN_MAX (64u * 1024)

/** One signature. */
struct tc_sig {
    uint8_t alg;                   /**< enum tc_sig_alg */
    uint8_t key_id[TC_KEY_ID_LEN]; /**< SHA-256 of the signer's public key DER */
    uint16_t len;                  /**< bytes used in sig */
    uint8_t sig[TC_SIG_MAX];       /**< the signature */
};

/** All signatures on one object, in file order. */
struct tc_sigblock {
    unsigned count;                  /**< signatures held */
    struct tc_sig sigs[TC_SIGS_MAX]; /**< the first count are valid */
};

/*
 * Parse a serialized block. Refuses bad magic or version, counts or lengths
 * out of bounds, unknown algorithms, trailing bytes, and two signatures with
 * the same key id (-EBADMSG, naming the key id).
 */
int tc_sigblock_parse(const uint8_t *buf, size_t len, struct tc_sigblock *out, struct tc_err *err);

/* Serialize into buf (cap bytes); *len receives the size used. */
int tc_sigblock_serialize(const struct tc_sigblock *sb, uint8_t *buf, size_t cap, size_t *len);

/* Size tc_sigblock_serialize() needs. */
size_t tc_sigblock_size(const struct tc_sigblock *sb);

/* Index of the signature by key id, or -1. */
int tc_sigblock_find(const struct tc_sigblock *sb, const uint8_t key_id[TC_KEY_ID_LEN]);

/*
 * Sign digest with key and append the signature. If a signature by the same
 * key id is already present nothing changes and 1 is returned (signing is
 * idempotent); 0 when appended; -E2BIG when full.
 */
int tc_sigblock_add(struct tc_sigblock *sb, const struct tc_key *key, const struct tc_rng *rng,
                    const uint8_t digest[TC_SHA256_LEN], struct tc_err *err);

#endif /* TREECAST_SIGBLOCK_H */
