/* SPDX-License-Identifier: MIT */
/*
 * Trust store and policy: which keys are trusted, how many distinct trusted
 * signatures an image needs, and what else makes an image acceptable
 * (expiry, revocation, the wanted name / minimum version / pinned digest).
 * Everything is decided before the first byte of an image is written.
 */
#ifndef TREECAST_TRUST_H
#define TREECAST_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/sigblock.h"

struct tc_revlist;

/** Most keys in one trust store. */
#define TC_TRUST_KEYS_MAX 64
/** Longest label (file name the key came from). */
#define TC_TRUST_LABEL_MAX 128

/** One trusted public key. */
struct tc_trust_key {
    uint8_t id[TC_KEY_ID_LEN];      /**< key id */
    struct tc_key *key;             /**< parsed public key (owned) */
    char label[TC_TRUST_LABEL_MAX]; /**< where it came from, for messages */
};

/** A trust store. */
struct tc_trust {
    unsigned count;                              /**< keys held */
    struct tc_trust_key keys[TC_TRUST_KEYS_MAX]; /**< the first count are valid */
};

void tc_trust_init(struct tc_trust *t);
void tc_trust_free(struct tc_trust *t);

/*
 * Add a public key (PEM or DER). A key already present is not added again and
 * -EEXIST is returned (callers loading a directory may ignore it).
 */
int tc_trust_add(struct tc_trust *t, const uint8_t *buf, size_t len, const char *label,
                 struct tc_err *err);

/* The trusted key with this id, or NULL. */
const struct tc_trust_key *tc_trust_find(const struct tc_trust *t, const uint8_t id[TC_KEY_ID_LEN]);

/** What an image must satisfy. */
struct tc_policy {
    unsigned min_signatures;              /**< distinct trusted valid signatures, >= 1 */
    int64_t now;                          /**< the caller's clock, seconds since the epoch */
    int64_t build_time;                   /**< now earlier than this: the clock is wrong */
    const struct tc_revlist *revocations; /**< checked list, or NULL */
    const char *want_name;                /**< required image name, or NULL */
    const char *min_version;              /**< minimum version (tc_version_cmp), or NULL */
    const uint8_t *want_digest;           /**< pinned image digest (32 bytes), or NULL */
};

/** What the check found, for messages and inspect. */
struct tc_verdict {
    unsigned trusted_valid; /**< distinct trusted keys whose signature verifies */
    unsigned untrusted;     /**< signatures by keys not in the store */
    unsigned total;         /**< signatures in the block */
};

/*
 * Decide whether manifest m with signatures sb is acceptable. Order: clock
 * sane, wanted name / version / digest, every signature by a trusted key
 * verifies (one that does not is tampering: -EKEYREJECTED naming the key id),
 * enough distinct trusted signatures, no signer key or image revoked, not
 * expired. The message names the image, key ids, and expected and actual
 * values.
 */
int tc_trust_check(const struct tc_trust *t, const struct tc_policy *p, const struct tc_manifest *m,
                   const struct tc_sigblock *sb, struct tc_verdict *v, struct tc_err *err);

/*
 * Count the distinct trusted keys whose signature over the digest verifies;
 * a signature by a trusted key that does not verify fails with -EKEYREJECTED.
 * Shared by manifests and revocation lists.
 */
int tc_trust_count_valid(const struct tc_trust *t, const struct tc_sigblock *sb,
                         const uint8_t digest[TC_SHA256_LEN], const char *what,
                         struct tc_verdict *v, struct tc_err *err);

#endif /* TREECAST_TRUST_H */
