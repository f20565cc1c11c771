// SPDX-License-Identifier: MIT
/*
 * Resume by content. An interrupted agent leaves the in-progress marker on
 * the target, and after it a copy of the manifest and its signatures. A new
 * run that finds them (and trusts them: the same checks as a manifest from
 * the network) reads every chunk but chunk 0 back and keeps those whose
 * SHA-256 is the manifest's raw hash; the JOIN then names them as held runs
 * and pins the image digest, so the seeder does not send them again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "treecast/be.h"
#include "treecast/crypto.h"
#include "treecast/sigblock.h"
#include "version.h"

/** Length prefix of each part of the extra bytes, bytes. */
#define EXTRA_LEN_BYTES 4u

/**
 * Manifest and signature block, each with its length.
 */
uint8_t *tc_ag_extra_pack(const uint8_t *man, size_t man_len, const uint8_t *sig, size_t sig_len,
                          size_t *len)
{
    uint8_t *b;

    *len = 2 * EXTRA_LEN_BYTES + man_len + sig_len;
    if (man_len > UINT32_MAX || sig_len > UINT32_MAX)
        return NULL;
    b = malloc(*len);
    if (!b)
        return NULL;
    tc_put_be32(b, (uint32_t)man_len);
    memcpy(b + EXTRA_LEN_BYTES, man, man_len);
    tc_put_be32(b + EXTRA_LEN_BYTES + man_len, (uint32_t)sig_len);
    memcpy(b + 2 * EXTRA_LEN_BYTES + man_len, sig, sig_len);
    return b;
}

/**
 * Split the extra bytes; every length is checked against what is left.
 */
int tc_ag_extra_split(const uint8_t *buf, size_t len, const uint8_t **man, size_t *man_len,
                      const uint8_t **sig, size_t *sig_len)
{
    size_t ml, sl;

    if (len < 2 * EXTRA_LEN_BYTES)
        return -EBADMSG;
    ml = tc_get_be32(buf);
    if (ml > len - 2 * EXTRA_LEN_BYTES)
        return -EBADMSG;
    sl = tc_get_be32(buf + EXTRA_LEN_BYTES + ml);
    if (sl != len - 2 * EXTRA_LEN_BYTES - ml)
        return -EBADMSG;
    *man = buf + EXTRA_LEN_BYTES;
    *man_len = ml;
    *sig = buf + 2 * EXTRA_LEN_BYTES + ml;
    *sig_len = sl;
    return 0;
}

/**
 * The trust decision for a manifest, from the network or from the target:
 * one trusted signature, the wanted name and minimum version, the clock
 * against the build time.
 */
int tc_ag_manifest_check(struct ag *g, const uint8_t *man, size_t man_len, const uint8_t *sig,
                         size_t sig_len, struct tc_manifest **out, struct tc_err *err)
{
    struct tc_manifest *m = NULL;
    struct tc_sigblock sb;
    struct tc_policy pol;
    struct tc_verdict v;
    int rc;

    *out = NULL;
    rc = tc_manifest_parse(man, man_len, &m, err);
    if (rc < 0)
        return rc;
    rc = tc_sigblock_parse(sig, sig_len, &sb, err);
    if (rc < 0)
        goto err_free;
    memset(&pol, 0, sizeof(pol));
    pol.min_signatures = 1;
    pol.now = (int64_t)time(NULL);
    pol.build_time = (int64_t)tc_build_time_unix;
    pol.want_name = g->cfg.image;
    pol.min_version = g->cfg.min_version[0] ? g->cfg.min_version : NULL;
    rc = tc_trust_check(&g->trust, &pol, m, &sb, &v, err);
    if (rc < 0)
        goto err_free;
    *out = m;
    return 0;

err_free:
    tc_manifest_free(m);
    return rc;
}

/**
 * Look for a resumable target and check its chunks.
 */
void tc_ag_resume(struct ag *g)
{
    const uint8_t *man, *sig;
    struct tc_manifest *m = NULL;
    struct tc_err err;
    uint8_t *extra = NULL, *buf = NULL, hash[TC_SHA256_LEN];
    size_t len, man_len, sig_len;
    uint64_t t0 = tc_ag_now_ns();
    uint32_t i, held = 0;
    char pin[TC_NAME_MAX + 8 + 2 * TC_SHA256_LEN + 1];
    int rc;

    tc_err_clear(&err);
    rc = tc_disk_read_extra(g->disk, AG_EXTRA_MAX, &extra, &len);
    if (rc <= 0) {
        if (rc < 0)
            tc_ag_log(g, TC_PROTO_LOG_WARN, "resume: cannot read the marker of %s: %s",
                      g->disk_path, strerror(-rc));
        else if (tc_disk_read_marker(g->disk, pin, sizeof(pin)) == 1)
            tc_ag_log(g, TC_PROTO_LOG_INFO,
                      "resume unavailable: %s holds the in-progress marker of %s but no manifest "
                      "copy: starting from scratch",
                      g->disk_path, pin);
        return;
    }
    if (tc_ag_extra_split(extra, len, &man, &man_len, &sig, &sig_len) < 0) {
        tc_ag_log(g, TC_PROTO_LOG_INFO, "resume unavailable: the manifest copy on %s is malformed",
                  g->disk_path);
        goto out;
    }
    rc = tc_ag_manifest_check(g, man, man_len, sig, sig_len, &m, &err);
    if (rc < 0) {
        tc_ag_log(g, TC_PROTO_LOG_INFO, "resume unavailable: the manifest copy on %s: %s",
                  g->disk_path, err.msg);
        goto out;
    }
    if (m->raw_size > tc_disk_size(g->disk) || m->chunk_size > TC_CHUNK_SIZE_WIRE_MAX) {
        tc_ag_log(g, TC_PROTO_LOG_INFO,
                  "resume unavailable: image %s (%llu bytes, %u-byte chunks) does not fit %s as it "
                  "is (%llu bytes)",
                  m->name, (unsigned long long)m->raw_size, m->chunk_size, g->disk_path,
                  (unsigned long long)tc_disk_size(g->disk));
        goto out;
    }
    g->held = calloc((m->chunk_count + 7) / 8, 1);
    buf = malloc(m->chunk_size);
    if (!g->held || !buf) {
        tc_ag_log(g, TC_PROTO_LOG_WARN, "resume: out of memory for %u chunks", m->chunk_count);
        free(g->held);
        g->held = NULL;
        goto out;
    }
    for (i = 1; i < m->chunk_count && !tc_ag_interrupted; i++) {
        uint32_t clen = tc_manifest_chunk_raw_len(m, i);

        if (tc_disk_read(g->disk, (uint64_t)i * m->chunk_size, buf, clen) < 0)
            continue;
        tc_sha256(buf, clen, hash);
        if (memcmp(hash, m->chunks[i].raw_hash, TC_SHA256_LEN) == 0) {
            g->held[i / 8] |= (uint8_t)(1u << (i % 8));
            held++;
        }
    }
    g->held_chunks = m->chunk_count;
    g->chunks_held = held;
    memcpy(g->pin, m->image_digest, TC_SHA256_LEN);
    g->have_pin = 1;
    g->chunk_size_max = m->chunk_size;
    g->resume_s = (double)(tc_ag_now_ns() - t0) / 1e9;
    tc_ag_log(
        g, TC_PROTO_LOG_INFO,
        "resume: %s holds %u of %u chunks of %s already (checked in %.2f s); asking the seeder "
        "for the rest of %s",
        g->disk_path, held, m->chunk_count, m->name, g->resume_s,
        tc_manifest_pin(m, pin, sizeof(pin)));
out:
    free(buf);
    tc_manifest_free(m);
    free(extra);
}
