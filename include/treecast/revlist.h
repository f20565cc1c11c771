/* SPDX-License-Identifier: MIT */
/*
 * The signed revocation list: revoked key ids and revoked image digests, a
 * monotonic sequence number, the time it was issued and how long it stays
 * fresh. A list older than its maximum age is stale and refused (an attacker
 * replaying an old list cannot un-revoke anything for longer than that).
 */
#ifndef TREECAST_REVLIST_H
#define TREECAST_REVLIST_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/err.h"
#include "treecast/sigblock.h"

struct tc_trust;

#define TC_REVLIST_VERSION 1
/** Most entries (keys + images) in one list. */
#define TC_REVLIST_ENTRIES_MAX 4096
/** Longest serialized list accepted. */
#define TC_REVLIST_LEN_MAX (256u * 1024)

/** Longest max_age accepted: 10 years, seconds. */
#define TC_REVLIST_MAX_AGE_MAX (3660LL * 86400)

/** A parsed revocation list. */
struct tc_revlist {
    uint64_t sequence;                /**< monotonic, higher is newer */
    int64_t issued;                   /**< seconds since the epoch */
    int64_t max_age;                  /**< seconds; stale after issued + max_age */
    uint32_t n_keys;                  /**< revoked key ids */
    uint8_t (*keys)[TC_KEY_ID_LEN];   /**< n_keys entries (owned) */
    uint32_t n_images;                /**< revoked image digests */
    uint8_t (*images)[TC_SHA256_LEN]; /**< n_images entries (owned) */
    uint8_t *body;                    /**< the signed body bytes (owned) */
    size_t body_len;                  /**< its length */
    struct tc_sigblock sigs;          /**< signatures over the body */
};

/** What `treecast revoke` supplies. */
struct tc_revlist_params {
    uint64_t sequence;
    int64_t issued;
    int64_t max_age;
    uint32_t n_keys;
    const uint8_t (*keys)[TC_KEY_ID_LEN];
    uint32_t n_images;
    const uint8_t (*images)[TC_SHA256_LEN];
};

/* Build an unsigned list (empty signature block). Key ids and image digests
 * are sorted and duplicates dropped. */
int tc_revlist_build(const struct tc_revlist_params *p, struct tc_revlist **out,
                     struct tc_err *err);

/* Sign the body with key (idempotent per key id, as tc_sigblock_add). */
int tc_revlist_sign(struct tc_revlist *rl, const struct tc_key *key, const struct tc_rng *rng,
                    struct tc_err *err);

/* Serialize to a file image (malloc'd into *out). */
int tc_revlist_serialize(const struct tc_revlist *rl, uint8_t **out, size_t *len,
                         struct tc_err *err);

/* Parse a file image. Strict, bounded, fuzzed. */
int tc_revlist_parse(const uint8_t *buf, size_t len, struct tc_revlist **out, struct tc_err *err);

void tc_revlist_free(struct tc_revlist *rl);

/*
 * Check a list before using it: at least min_signatures distinct trusted
 * valid signatures, not stale at now, sequence >= min_sequence (0 = any).
 */
int tc_revlist_check(const struct tc_revlist *rl, const struct tc_trust *t, unsigned min_signatures,
                     int64_t now, uint64_t min_sequence, struct tc_err *err);

/* True if the key id / image digest is revoked. */
int tc_revlist_has_key(const struct tc_revlist *rl, const uint8_t id[TC_KEY_ID_LEN]);
int tc_revlist_has_image(const struct tc_revlist *rl, const uint8_t digest[TC_SHA256_LEN]);

#endif /* TREECAST_REVLIST_H */
