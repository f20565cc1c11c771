// SPDX-License-Identifier: MIT
/*
 * The signature block: serialization, strict parsing, and adding a signature.
 */
#include <string.h>

#include "treecast/be.h"
#include "treecast/sigblock.h"

/* Block header (SB_LEN bytes), then count entries. */
#define SB_MAGIC 0   /* 4 "TCSG" */
#define SB_VERSION 4 /* 2 TC_SIGBLOCK_VERSION */
#define SB_COUNT 6   /* 2 */
#define SB_LEN 8

/* Entry header (SE_LEN bytes), then sig_len bytes of signature. */
#define SE_ALG 0      /* 1 enum tc_sig_alg */
#define SE_KEY_ID 1   /* 32 */
#define SE_SIG_LEN 33 /* 2 */
#define SE_LEN 35

static const uint8_t sigblock_magic[4] = {'T', 'C', 'S', 'G'};

/** True for the algorithms defined in format version 1. */
static int alg_known(unsigned alg)
{
    return alg == TC_SIG_ECDSA_P256_SHA256 || alg == TC_SIG_RSA_PSS_SHA256;
}

/** Strict parse; refuses unknown algorithms, bad lengths, duplicate key ids. */
int tc_sigblock_parse(const uint8_t *buf, size_t len, struct tc_sigblock *out, struct tc_err *err)
{
    char hex[2 * TC_KEY_ID_LEN + 1];
    size_t off = SB_LEN;
    unsigned count, version, i;

    memset(out, 0, sizeof(*out));
    if (len > TC_SIGBLOCK_LEN_MAX)
        return tc_err_set(err, -E2BIG, "signature block: %zu bytes, limit %u", len,
                          TC_SIGBLOCK_LEN_MAX);
    if (len < SB_LEN)
        return tc_err_set(err, -EBADMSG,
                          "signature block: %zu bytes, shorter than its %d-byte header", len,
                          SB_LEN);
    if (memcmp(buf + SB_MAGIC, sigblock_magic, sizeof(sigblock_magic)) != 0)
        return tc_err_set(err, -EBADMSG,
                          "signature block: magic is %s, expected 54435347 (\"TCSG\")",
                          tc_hex(hex, buf + SB_MAGIC, 4));
    version = tc_get_be16(buf + SB_VERSION);
    if (version != TC_SIGBLOCK_VERSION)
        return tc_err_set(err, -EPROTO,
                          "signature block: version %u not supported (this treecast reads "
                          "version %d)",
                          version, TC_SIGBLOCK_VERSION);
    count = tc_get_be16(buf + SB_COUNT);
    if (count > TC_SIGS_MAX)
        return tc_err_set(err, -E2BIG, "signature block: count %u, limit %d", count, TC_SIGS_MAX);
    for (i = 0; i < count; i++) {
        struct tc_sig *s = &out->sigs[i];

        if (len - off < SE_LEN)
            return tc_err_set(err, -EBADMSG,
                              "signature block: signature %u of %u truncated at byte %zu", i + 1,
                              count, off);
        s->alg = buf[off + SE_ALG];
        memcpy(s->key_id, buf + off + SE_KEY_ID, TC_KEY_ID_LEN);
        s->len = tc_get_be16(buf + off + SE_SIG_LEN);
        tc_hex(hex, s->key_id, TC_KEY_ID_LEN);
        if (!alg_known(s->alg))
            return tc_err_set(err, -EBADMSG,
                              "signature block: signature by key %.16s.. has unknown algorithm "
                              "%u",
                              hex, s->alg);
        if (s->len == 0 || s->len > TC_SIG_MAX)
            return tc_err_set(err, -EBADMSG,
                              "signature block: signature by key %.16s.. has sig_len %u, "
                              "expected 1..%d",
                              hex, s->len, TC_SIG_MAX);
        off += SE_LEN;
        if (len - off < s->len)
            return tc_err_set(err, -EBADMSG,
                              "signature block: signature by key %.16s.. truncated: sig_len %u, "
                              "%zu bytes left",
                              hex, s->len, len - off);
        memcpy(s->sig, buf + off, s->len);
        off += s->len;
        if (tc_sigblock_find(out, s->key_id) >= 0)
            return tc_err_set(err, -EBADMSG, "signature block: two signatures by key %s", hex);
        out->count = i + 1;
    }
    if (off != len)
        return tc_err_set(err, -EBADMSG, "signature block: %zu trailing bytes after %u signatures",
                          len - off, count);
    return 0;
}

/** Bytes tc_sigblock_serialize() writes. */
size_t tc_sigblock_size(const struct tc_sigblock *sb)
{
    size_t n = SB_LEN;
    unsigned i;

    for (i = 0; i < sb->count; i++)
        n += SE_LEN + sb->sigs[i].len;
    return n;
}

/** Write the block; -ENOSPC if cap is too small. */
int tc_sigblock_serialize(const struct tc_sigblock *sb, uint8_t *buf, size_t cap, size_t *len)
{
    size_t off = SB_LEN, need = tc_sigblock_size(sb);
    unsigned i;

    if (sb->count > TC_SIGS_MAX)
        return -E2BIG;
    if (cap < need)
        return -ENOSPC;
    memcpy(buf + SB_MAGIC, sigblock_magic, sizeof(sigblock_magic));
    tc_put_be16(buf + SB_VERSION, TC_SIGBLOCK_VERSION);
    tc_put_be16(buf + SB_COUNT, (uint16_t)sb->count);
    for (i = 0; i < sb->count; i++) {
        const struct tc_sig *s = &sb->sigs[i];

        if (s->len > TC_SIG_MAX)
            return -E2BIG;
        buf[off + SE_ALG] = s->alg;
        memcpy(buf + off + SE_KEY_ID, s->key_id, TC_KEY_ID_LEN);
        tc_put_be16(buf + off + SE_SIG_LEN, s->len);
        memcpy(buf + off + SE_LEN, s->sig, s->len);
        off += SE_LEN + s->len;
    }
    *len = off;
    return 0;
}

/** Index of the signature by key_id, or -1. */
int tc_sigblock_find(const struct tc_sigblock *sb, const uint8_t key_id[TC_KEY_ID_LEN])
{
    unsigned i;

    for (i = 0; i < sb->count; i++)
        if (memcmp(sb->sigs[i].key_id, key_id, TC_KEY_ID_LEN) == 0)
            return (int)i;
    return -1;
}

/** Sign digest and append; 1 (unchanged) if the key already signed. */
int tc_sigblock_add(struct tc_sigblock *sb, const struct tc_key *key, const struct tc_rng *rng,
                    const uint8_t digest[TC_SHA256_LEN], struct tc_err *err)
{
    char hex[2 * TC_KEY_ID_LEN + 1];
    uint8_t id[TC_KEY_ID_LEN];
    struct tc_sig *s;
    size_t n;
    int rc;

    tc_key_id(key, id);
    if (tc_sigblock_find(sb, id) >= 0)
        return 1;
    if (sb->count >= TC_SIGS_MAX)
        return tc_err_set(err, -E2BIG,
                          "signature block: already %u signatures, limit %d; key %.16s.. not "
                          "added",
                          sb->count, TC_SIGS_MAX, tc_hex(hex, id, TC_KEY_ID_LEN));
    s = &sb->sigs[sb->count];
    memset(s, 0, sizeof(*s));
    rc = tc_key_sign(key, rng, digest, s->sig, &n, err);
    if (rc)
        return rc;
    s->alg = (uint8_t)tc_key_alg(key);
    memcpy(s->key_id, id, TC_KEY_ID_LEN);
    s->len = (uint16_t)n;
    sb->count++;
    return 0;
}
