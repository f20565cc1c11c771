// SPDX-License-Identifier: MIT
/*
 * Trust store and policy: decides, before any byte is written, whether a
 * manifest with its signatures is acceptable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/revlist.h"
#include "treecast/tctime.h"
#include "treecast/trust.h"

/** Hex digits of a key id or digest shown in messages. */
#define ID_SHOWN_HEX 16

/** Start an empty trust store. */
void tc_trust_init(struct tc_trust *t)
{
    memset(t, 0, sizeof(*t));
}

/** Free every key held and empty the store. */
void tc_trust_free(struct tc_trust *t)
{
    unsigned i;

    for (i = 0; i < t->count; i++)
        tc_key_free(t->keys[i].key);
    memset(t, 0, sizeof(*t));
}

/** Add a public key; -EEXIST if already present, -E2BIG when full. */
int tc_trust_add(struct tc_trust *t, const uint8_t *buf, size_t len, const char *label,
                 struct tc_err *err)
{
    char hex[2 * TC_KEY_ID_LEN + 1];
    const struct tc_trust_key *dup;
    struct tc_trust_key *tk;
    struct tc_key *key;
    uint8_t id[TC_KEY_ID_LEN];
    int rc;

    if (!label)
        label = "(unnamed)";
    rc = tc_key_parse_public(&key, buf, len, err);
    if (rc)
        return tc_err_prefix(err, rc, "trust store: %s: ", label);
    tc_key_id(key, id);
    dup = tc_trust_find(t, id);
    if (dup) {
        tc_key_free(key);
        return tc_err_set(err, -EEXIST,
                          "trust store: key %.*s.. from %s is already trusted (from %s)",
                          ID_SHOWN_HEX, tc_hex(hex, id, TC_KEY_ID_LEN), label, dup->label);
    }
    if (t->count >= TC_TRUST_KEYS_MAX) {
        tc_key_free(key);
        return tc_err_set(err, -E2BIG, "trust store: %s: more than %d keys", label,
                          TC_TRUST_KEYS_MAX);
    }
    tk = &t->keys[t->count++];
    memcpy(tk->id, id, TC_KEY_ID_LEN);
    tk->key = key;
    snprintf(tk->label, sizeof(tk->label), "%s", label);
    return 0;
}

/** The trusted key with this id, or NULL. */
const struct tc_trust_key *tc_trust_find(const struct tc_trust *t, const uint8_t id[TC_KEY_ID_LEN])
{
    unsigned i;

    for (i = 0; i < t->count; i++)
        if (memcmp(t->keys[i].id, id, TC_KEY_ID_LEN) == 0)
            return &t->keys[i];
    return NULL;
}

/** What count_valid() saw beyond the verdict, for messages. */
struct tally {
    const struct tc_trust_key *valid[TC_SIGS_MAX];   /**< trusted keys that count */
    const struct tc_trust_key *revoked[TC_SIGS_MAX]; /**< valid but revoked */
    unsigned n_revoked;                              /**< entries in revoked */
    const uint8_t *first_untrusted;                  /**< a key id not in the store */
};

/**
 * Verify every signature by a trusted key over digest; count the distinct
 * ones that verify and are not revoked by rl (may be NULL).
 */
static int count_valid(const struct tc_trust *t, const struct tc_sigblock *sb,
                       const uint8_t digest[TC_SHA256_LEN], const char *what,
                       const struct tc_revlist *rl, struct tc_verdict *v, struct tally *ty,
                       struct tc_err *err)
{
    char hex[2 * TC_KEY_ID_LEN + 1];
    unsigned i, j;

    memset(v, 0, sizeof(*v));
    memset(ty, 0, sizeof(*ty));
    for (i = 0; i < sb->count && i < TC_SIGS_MAX; i++) {
        const struct tc_sig *s = &sb->sigs[i];
        const struct tc_trust_key *tk;
        int seen = 0;

        v->total++;
        for (j = 0; j < i; j++)
            seen |= memcmp(sb->sigs[j].key_id, s->key_id, TC_KEY_ID_LEN) == 0;
        if (seen)
            continue; /* distinct keys only */
        tk = tc_trust_find(t, s->key_id);
        if (!tk) {
            v->untrusted++;
            if (!ty->first_untrusted)
                ty->first_untrusted = s->key_id;
            continue;
        }
        if (tc_key_verify(tk->key, (enum tc_sig_alg)s->alg, digest, s->sig, s->len) != 0)
            return tc_err_set(err, -EKEYREJECTED,
                              "%s: the signature by trusted key %s (%s, %s) does not verify: "
                              "the signed bytes were modified or the signature is corrupt",
                              what, tc_hex(hex, tk->id, TC_KEY_ID_LEN), tk->label,
                              tc_sig_alg_name((enum tc_sig_alg)s->alg));
        if (rl && tc_revlist_has_key(rl, tk->id)) {
            ty->revoked[ty->n_revoked++] = tk;
            continue;
        }
        ty->valid[v->trusted_valid++] = tk;
    }
    return 0;
}

/** Count distinct trusted valid signatures; a trusted one that fails is -EKEYREJECTED. */
int tc_trust_count_valid(const struct tc_trust *t, const struct tc_sigblock *sb,
                         const uint8_t digest[TC_SHA256_LEN], const char *what,
                         struct tc_verdict *v, struct tc_err *err)
{
    struct tc_verdict local;
    struct tally ty;

    return count_valid(t, sb, digest, what, NULL, v ? v : &local, &ty, err);
}

/** Append "1a2b3c4d5e6f7a8b.. from LABEL" for each key to buf. */
static void list_keys(char *buf, size_t cap, const struct tc_trust_key *const *keys, unsigned n)
{
    char hex[2 * TC_KEY_ID_LEN + 1];
    size_t used = 0;
    unsigned i;

    buf[0] = '\0';
    for (i = 0; i < n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%.*s.. from %s", i ? ", " : "", ID_SHOWN_HEX,
                         tc_hex(hex, keys[i]->id, TC_KEY_ID_LEN), keys[i]->label);

        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/** The "too few signatures" error, with the most useful code and sentence. */
static int too_few(const struct tc_trust *t, const struct tc_policy *p, const struct tc_manifest *m,
                   const struct tc_sigblock *sb, const struct tc_verdict *v, const struct tally *ty,
                   struct tc_err *err)
{
    char list[256], hex[2 * TC_KEY_ID_LEN + 1];
    const char *s = p->min_signatures == 1 ? "" : "s";

    if (ty->n_revoked) {
        const struct tc_trust_key *k = ty->revoked[0];
        const struct tc_revlist *rl = p->revocations;

        return tc_err_set(err, -EKEYREVOKED,
                          "image %s %s: the signature by key %.*s.. (%s) does not count, the "
                          "key is revoked (revocation list sequence %llu); %u distinct trusted "
                          "signature%s required, %u left",
                          m->name, m->version, ID_SHOWN_HEX, tc_hex(hex, k->id, TC_KEY_ID_LEN),
                          k->label, (unsigned long long)rl->sequence, p->min_signatures, s,
                          v->trusted_valid);
    }
    if (t->count == 0)
        return tc_err_set(err, -ENOKEY,
                          "image %s %s: the trust store is empty, no key to check its "
                          "signatures against",
                          m->name, m->version);
    if (sb->count == 0)
        return tc_err_set(err, -EKEYREJECTED,
                          "image %s %s is unsigned; %u distinct trusted signature%s required",
                          m->name, m->version, p->min_signatures, s);
    if (v->trusted_valid == 0)
        return tc_err_set(err, -ENOKEY,
                          "image %s %s: signed by %u key%s, none of them trusted (first: "
                          "%.*s..); %u distinct trusted signature%s required",
                          m->name, m->version, v->untrusted, v->untrusted == 1 ? "" : "s",
                          ID_SHOWN_HEX, tc_hex(hex, ty->first_untrusted, TC_KEY_ID_LEN),
                          p->min_signatures, s);
    list_keys(list, sizeof(list), ty->valid, v->trusted_valid);
    return tc_err_set(err, -EKEYREJECTED,
                      "image %s %s: %u distinct trusted signature%s required, %u found "
                      "(trusted: %s; %u by untrusted keys)",
                      m->name, m->version, p->min_signatures, s, v->trusted_valid, list,
                      v->untrusted);
}

/** The whole policy decision for one manifest, in the order trust.h gives. */
int tc_trust_check(const struct tc_trust *t, const struct tc_policy *p, const struct tc_manifest *m,
                   const struct tc_sigblock *sb, struct tc_verdict *v, struct tc_err *err)
{
    char a[TC_RFC3339_LEN], b[TC_RFC3339_LEN];
    char h1[2 * TC_SHA256_LEN + 1], h2[2 * TC_SHA256_LEN + 1];
    uint8_t digest[TC_SHA256_LEN];
    struct tc_verdict local;
    struct tally ty;
    int rc;

    if (!v)
        v = &local;
    memset(v, 0, sizeof(*v));
    if (p->min_signatures < 1)
        return tc_err_set(err, -EINVAL, "policy: min_signatures is 0, at least 1 required");
    /* 1. A clock earlier than this build cannot judge expiry. */
    if (p->now < p->build_time) {
        tc_time_format(p->now, a);
        tc_time_format(p->build_time, b);
        return tc_err_set(err, -ETIME,
                          "clock reads %s, earlier than this build (%s): refusing to judge "
                          "expiry; set the clock",
                          a, b);
    }
    /* 2. The image asked for: name, minimum version, pinned digest. */
    if (p->want_name && strcmp(p->want_name, m->name) != 0)
        return tc_err_set(err, -EKEYREJECTED, "image is %s %s, but %s was asked for", m->name,
                          m->version, p->want_name);
    if (p->min_version && tc_version_cmp(m->version, p->min_version) < 0)
        return tc_err_set(err, -EKEYREJECTED,
                          "image %s version %s is older than the minimum version %s (rollback "
                          "refused)",
                          m->name, m->version, p->min_version);
    if (p->want_digest && memcmp(p->want_digest, m->image_digest, TC_SHA256_LEN) != 0)
        return tc_err_set(err, -EKEYREJECTED,
                          "image %s %s has digest sha256:%s, the pin asks for sha256:%s", m->name,
                          m->version, tc_hex(h1, m->image_digest, TC_SHA256_LEN),
                          tc_hex(h2, p->want_digest, TC_SHA256_LEN));
    /* 3, 4. Every trusted signature verifies; enough of them count. */
    tc_sig_digest(TC_DOMAIN_MANIFEST, m->bytes, m->len, digest);
    snprintf(h1, sizeof(h1), "image %.40s", m->name);
    rc = count_valid(t, sb, digest, h1, p->revocations, v, &ty, err);
    if (rc)
        return rc;
    if (v->trusted_valid < p->min_signatures)
        return too_few(t, p, m, sb, v, &ty, err);
    /* 5. The image itself revoked. */
    if (p->revocations && tc_revlist_has_image(p->revocations, m->image_digest))
        return tc_err_set(err, -EKEYREVOKED,
                          "image %s %s (sha256:%.*s..) is revoked by revocation list sequence "
                          "%llu",
                          m->name, m->version, ID_SHOWN_HEX,
                          tc_hex(h1, m->image_digest, TC_SHA256_LEN),
                          (unsigned long long)p->revocations->sequence);
    /* 6. Expiry. */
    if (m->not_after != TC_TIME_NEVER && p->now > m->not_after) {
        tc_time_format(m->not_after, a);
        tc_time_format(p->now, b);
        return tc_err_set(err, -EKEYEXPIRED, "image %s %s expired at %s (now %s)", m->name,
                          m->version, a, b);
    }
    return 0;
}
