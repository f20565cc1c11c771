// SPDX-License-Identifier: MIT
/*
 * The signed revocation list: [body][signature block]. The body is what is
 * signed (domain TC_DOMAIN_REVLIST); docs/image-format.md is the spec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/revlist.h"
#include "treecast/tctime.h"
#include "treecast/trust.h"

/* Body (RB_LEN bytes, then the key ids, then the image digests). */
#define RB_MAGIC 0      /* 4  "TCRL" */
#define RB_VERSION 4    /* 2  TC_REVLIST_VERSION */
#define RB_RESERVED1 6  /* 2  0 */
#define RB_SEQUENCE 8   /* 8 */
#define RB_ISSUED 16    /* 20 RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" */
#define RB_RESERVED2 36 /* 4  0 */
#define RB_MAX_AGE 40   /* 8  seconds */
#define RB_N_KEYS 48    /* 4 */
#define RB_N_IMAGES 52  /* 4 */
#define RB_LEN 56

#define DATE_LEN 20

static const uint8_t revlist_magic[4] = {'T', 'C', 'R', 'L'};

/** Free a list (NULL is allowed). */
void tc_revlist_free(struct tc_revlist *rl)
{
    if (!rl)
        return;
    free(rl->keys);
    free(rl->images);
    free(rl->body);
    free(rl);
}

/** qsort/bsearch order of 32-byte values: bytewise. */
static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/** Binary search a sorted list of 32-byte values. */
static int has32(const uint8_t (*list)[32], uint32_t n, const uint8_t v[32])
{
    return n && bsearch(v, list, n, 32, cmp32) != NULL;
}

/** True if the key id is revoked (binary search). */
int tc_revlist_has_key(const struct tc_revlist *rl, const uint8_t id[TC_KEY_ID_LEN])
{
    return has32((const uint8_t(*)[32])rl->keys, rl->n_keys, id);
}

/** True if the image digest is revoked (binary search). */
int tc_revlist_has_image(const struct tc_revlist *rl, const uint8_t digest[TC_SHA256_LEN])
{
    return has32((const uint8_t(*)[32])rl->images, rl->n_images, digest);
}

/** Check that n 32-byte entries are strictly ascending (sorted, no duplicates). */
static int check_sorted(const uint8_t *p, uint32_t n, const char *what, struct tc_err *err)
{
    char hex[65];
    uint32_t i;

    for (i = 1; i < n; i++) {
        int c = memcmp(p + 32 * (i - 1), p + 32 * i, 32);

        if (c >= 0)
            return tc_err_set(err, -EBADMSG,
                              "revocation list: %s entry %u (%.16s..) %s: entries must be "
                              "sorted, without duplicates",
                              what, i + 1, tc_hex(hex, p + 32 * i, 32),
                              c == 0 ? "is a duplicate" : "is out of order");
    }
    return 0;
}

/** Strict parse of a revocation list file: body, then a signature block to the end. */
int tc_revlist_parse(const uint8_t *buf, size_t len, struct tc_revlist **out, struct tc_err *err)
{
    struct tc_revlist *rl;
    char date[DATE_LEN + 1], canon[TC_RFC3339_LEN], hex[9];
    uint32_t n_keys, n_images;
    size_t body_len;
    unsigned v;
    int rc;

    if (len > TC_REVLIST_LEN_MAX)
        return tc_err_set(err, -E2BIG, "revocation list: %zu bytes, limit %u", len,
                          TC_REVLIST_LEN_MAX);
    if (len < RB_LEN)
        return tc_err_set(err, -EBADMSG,
                          "revocation list: %zu bytes, shorter than its %d-byte header", len,
                          RB_LEN);
    if (memcmp(buf + RB_MAGIC, revlist_magic, sizeof(revlist_magic)) != 0)
        return tc_err_set(err, -EBADMSG,
                          "revocation list: magic is %s, expected 5443524c (\"TCRL\")",
                          tc_hex(hex, buf + RB_MAGIC, 4));
    v = tc_get_be16(buf + RB_VERSION);
    if (v != TC_REVLIST_VERSION)
        return tc_err_set(err, -EPROTO,
                          "revocation list: version %u not supported (this treecast reads "
                          "version %d)",
                          v, TC_REVLIST_VERSION);
    if (tc_get_be16(buf + RB_RESERVED1) || tc_get_be32(buf + RB_RESERVED2))
        return tc_err_set(err, -EBADMSG, "revocation list: reserved bytes are not zero");
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return tc_err_set(err, -ENOMEM, "revocation list: out of memory");
    rl->sequence = tc_get_be64(buf + RB_SEQUENCE);
    memcpy(date, buf + RB_ISSUED, DATE_LEN);
    date[DATE_LEN] = '\0';
    if (strlen(date) != DATE_LEN || tc_time_parse(date, &rl->issued, NULL) != 0 ||
        tc_time_format(rl->issued, canon) != 0 || strcmp(canon, date) != 0) {
        size_t i;

        for (i = 0; i < DATE_LEN; i++)
            if (date[i] < 0x20 || date[i] > 0x7e)
                date[i] = '?';
        rc = tc_err_set(err, -EBADMSG,
                        "revocation list: issued is \"%s\", expected a UTC date "
                        "YYYY-MM-DDTHH:MM:SSZ",
                        date);
        goto err_free;
    }
    rl->max_age = (int64_t)tc_get_be64(buf + RB_MAX_AGE);
    if (tc_get_be64(buf + RB_MAX_AGE) == 0 ||
        tc_get_be64(buf + RB_MAX_AGE) > (uint64_t)TC_REVLIST_MAX_AGE_MAX) {
        rc = tc_err_set(err, -EBADMSG, "revocation list: max_age is %llu s, expected 1..%lld",
                        (unsigned long long)tc_get_be64(buf + RB_MAX_AGE),
                        (long long)TC_REVLIST_MAX_AGE_MAX);
        goto err_free;
    }
    n_keys = tc_get_be32(buf + RB_N_KEYS);
    n_images = tc_get_be32(buf + RB_N_IMAGES);
    if (n_keys > TC_REVLIST_ENTRIES_MAX || n_images > TC_REVLIST_ENTRIES_MAX ||
        n_keys + n_images > TC_REVLIST_ENTRIES_MAX) {
        rc = tc_err_set(err, -E2BIG,
                        "revocation list: %u keys and %u images, limit %d entries in all", n_keys,
                        n_images, TC_REVLIST_ENTRIES_MAX);
        goto err_free;
    }
    body_len = RB_LEN + (size_t)32 * (n_keys + n_images);
    if (len < body_len) {
        rc = tc_err_set(err, -EBADMSG,
                        "revocation list: %zu bytes, too short for %u keys and %u images "
                        "(needs %zu)",
                        len, n_keys, n_images, body_len);
        goto err_free;
    }
    rc = check_sorted(buf + RB_LEN, n_keys, "key", err);
    if (!rc)
        rc = check_sorted(buf + RB_LEN + 32 * (size_t)n_keys, n_images, "image", err);
    if (rc)
        goto err_free;
    rc = tc_sigblock_parse(buf + body_len, len - body_len, &rl->sigs, err);
    if (rc) {
        tc_err_prefix(err, rc, "revocation list: ");
        goto err_free;
    }
    rl->n_keys = n_keys;
    rl->n_images = n_images;
    rl->body_len = body_len;
    rl->body = malloc(body_len);
    rl->keys = malloc(n_keys ? 32 * (size_t)n_keys : 1);
    rl->images = malloc(n_images ? 32 * (size_t)n_images : 1);
    if (!rl->body || !rl->keys || !rl->images) {
        rc = tc_err_set(err, -ENOMEM, "revocation list: out of memory");
        goto err_free;
    }
    memcpy(rl->body, buf, body_len);
    memcpy(rl->keys, buf + RB_LEN, 32 * (size_t)n_keys);
    memcpy(rl->images, buf + RB_LEN + 32 * (size_t)n_keys, 32 * (size_t)n_images);
    *out = rl;
    return 0;

err_free:
    tc_revlist_free(rl);
    return rc;
}

/** Sort n 32-byte entries and drop duplicates; returns the new count. */
static uint32_t sort_unique(uint8_t *p, uint32_t n)
{
    uint32_t i, k = 0;

    qsort(p, n, 32, cmp32);
    for (i = 0; i < n; i++)
        if (k == 0 || memcmp(p + 32 * (k - 1), p + 32 * i, 32) != 0)
            memmove(p + 32 * k++, p + 32 * i, 32);
    return k;
}

/** Build an unsigned list; entries are sorted and duplicates dropped. */
int tc_revlist_build(const struct tc_revlist_params *p, struct tc_revlist **out, struct tc_err *err)
{
    char date[TC_RFC3339_LEN];
    uint32_t nk, ni;
    uint8_t *buf, *keys;
    size_t len;
    int rc;

    if (p->n_keys > TC_REVLIST_ENTRIES_MAX || p->n_images > TC_REVLIST_ENTRIES_MAX ||
        p->n_keys + p->n_images > TC_REVLIST_ENTRIES_MAX)
        return tc_err_set(err, -E2BIG,
                          "revocation list: %u keys and %u images, limit %d entries in all",
                          p->n_keys, p->n_images, TC_REVLIST_ENTRIES_MAX);
    if (tc_time_format(p->issued, date) != 0)
        return tc_err_set(err, -EINVAL, "revocation list: issued time %lld out of range",
                          (long long)p->issued);
    if (p->max_age <= 0 || p->max_age > TC_REVLIST_MAX_AGE_MAX)
        return tc_err_set(err, -EINVAL, "revocation list: max_age %lld s, expected 1..%lld",
                          (long long)p->max_age, (long long)TC_REVLIST_MAX_AGE_MAX);
    len = RB_LEN + (size_t)32 * (p->n_keys + p->n_images) + TC_SIGBLOCK_EMPTY_LEN;
    buf = calloc(1, len);
    if (!buf)
        return tc_err_set(err, -ENOMEM, "revocation list: out of memory");
    keys = buf + RB_LEN;
    if (p->n_keys)
        memcpy(keys, p->keys, 32 * (size_t)p->n_keys);
    nk = sort_unique(keys, p->n_keys);
    if (p->n_images)
        memcpy(keys + 32 * (size_t)nk, p->images, 32 * (size_t)p->n_images);
    ni = sort_unique(keys + 32 * (size_t)nk, p->n_images);
    memcpy(buf + RB_MAGIC, revlist_magic, sizeof(revlist_magic));
    tc_put_be16(buf + RB_VERSION, TC_REVLIST_VERSION);
    tc_put_be64(buf + RB_SEQUENCE, p->sequence);
    memcpy(buf + RB_ISSUED, date, DATE_LEN);
    tc_put_be64(buf + RB_MAX_AGE, (uint64_t)p->max_age);
    tc_put_be32(buf + RB_N_KEYS, nk);
    tc_put_be32(buf + RB_N_IMAGES, ni);
    len = RB_LEN + (size_t)32 * (nk + ni);
    {
        struct tc_sigblock empty = {0};
        size_t n;

        tc_sigblock_serialize(&empty, buf + len, TC_SIGBLOCK_EMPTY_LEN, &n);
        len += n;
    }
    rc = tc_revlist_parse(buf, len, out, err);
    free(buf);
    return rc;
}

/** Sign the body (domain TC_DOMAIN_REVLIST); idempotent per key id. */
int tc_revlist_sign(struct tc_revlist *rl, const struct tc_key *key, const struct tc_rng *rng,
                    struct tc_err *err)
{
    uint8_t digest[TC_SHA256_LEN];

    tc_sig_digest(TC_DOMAIN_REVLIST, rl->body, rl->body_len, digest);
    return tc_sigblock_add(&rl->sigs, key, rng, digest, err);
}

/** Body and signature block into one malloc'd buffer. */
int tc_revlist_serialize(const struct tc_revlist *rl, uint8_t **out, size_t *len,
                         struct tc_err *err)
{
    size_t sb_len = tc_sigblock_size(&rl->sigs), n;
    uint8_t *buf = malloc(rl->body_len + sb_len);
    int rc;

    if (!buf)
        return tc_err_set(err, -ENOMEM, "revocation list: out of memory");
    memcpy(buf, rl->body, rl->body_len);
    rc = tc_sigblock_serialize(&rl->sigs, buf + rl->body_len, sb_len, &n);
    if (rc) {
        free(buf);
        return tc_err_set(err, rc, "revocation list: cannot serialize its signatures");
    }
    *out = buf;
    *len = rl->body_len + n;
    return 0;
}

/** Signatures, replay (sequence) and freshness checks before a list is used. */
int tc_revlist_check(const struct tc_revlist *rl, const struct tc_trust *t, unsigned min_signatures,
                     int64_t now, uint64_t min_sequence, struct tc_err *err)
{
    char what[64], a[TC_RFC3339_LEN], b[TC_RFC3339_LEN], c[TC_RFC3339_LEN];
    uint8_t digest[TC_SHA256_LEN];
    struct tc_verdict v;
    int rc;

    if (min_signatures < 1)
        return tc_err_set(err, -EINVAL, "policy: min_signatures is 0, at least 1 required");
    snprintf(what, sizeof(what), "revocation list sequence %llu", (unsigned long long)rl->sequence);
    tc_sig_digest(TC_DOMAIN_REVLIST, rl->body, rl->body_len, digest);
    rc = tc_trust_count_valid(t, &rl->sigs, digest, what, &v, err);
    if (rc)
        return rc;
    if (v.trusted_valid < min_signatures)
        return tc_err_set(err, v.trusted_valid == 0 && v.untrusted ? -ENOKEY : -EKEYREJECTED,
                          "%s: %u distinct trusted signature%s required, %u found (%u "
                          "signatures, %u by untrusted keys)",
                          what, min_signatures, min_signatures == 1 ? "" : "s", v.trusted_valid,
                          v.total, v.untrusted);
    if (min_sequence && rl->sequence < min_sequence)
        return tc_err_set(err, -EKEYREJECTED,
                          "%s is older than sequence %llu already seen (replay refused)", what,
                          (unsigned long long)min_sequence);
    if (now > rl->issued + rl->max_age) {
        tc_time_format(rl->issued, a);
        tc_time_format(rl->issued + rl->max_age, b);
        tc_time_format(now, c);
        return tc_err_set(err, -EKEYEXPIRED,
                          "%s is stale: issued %s with a maximum age of %lld s, stale since %s "
                          "(now %s); publish a fresh list with treecast revoke",
                          what, a, (long long)rl->max_age, b, c);
    }
    return 0;
}
