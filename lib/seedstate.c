// SPDX-License-Identifier: MIT
/*
 * The seeder's durable session state (include/treecast/seedstate.h has the
 * byte format). No I/O: the daemon writes and reads the bytes.
 *
 * One check function per part (header fields, node record) serves both the
 * encoder and the decoder, so that whatever encodes also decodes and whatever
 * decodes re-encodes to the same bytes. The decoder checks, in this order:
 * length, magic, version, reserved bytes, node count, exact length, digest,
 * then the fields: a torn or altered file is reported as such (digest)
 * before any field rule can give a misleading reason.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/seedstate.h"

/* Header offsets. */
#define SS_OFF_MAGIC 0    /* 4  TC_SEEDSTATE_MAGIC */
#define SS_OFF_VERSION 4  /* 2  TC_SEEDSTATE_VERSION */
#define SS_OFF_RESERVED 6 /* 2  0 */
#define SS_OFF_SESSION 8  /* 8  non-zero */
#define SS_OFF_EPOCH 16   /* 4  >= 1 */
#define SS_OFF_NNODES 20  /* 4  <= TC_SEEDSTATE_NODES_MAX */
#define SS_OFF_DIGEST 24  /* 32 image digest */
#define SS_OFF_RECORDS 56 /* TC_SEEDSTATE_HDR_LEN */

/* Node record offsets (from the record's start). */
#define REC_OFF_INDEX 0      /* 4  < TC_SEEDSTATE_NODES_MAX, strictly increasing */
#define REC_OFF_MAC 4        /* 6  unicast, not all zero */
#define REC_OFF_STATE 10     /* 1  enum tc_seedstate_node_state */
#define REC_OFF_RESERVED1 11 /* 1  0 */
#define REC_OFF_TOKEN 12     /* 8  non-zero */
#define REC_OFF_ADDR 20      /* 4  non-zero */
#define REC_OFF_PORT 24      /* 2  non-zero */
#define REC_OFF_RESERVED2 26 /* 2  0 */

static_assert(SS_OFF_RECORDS == TC_SEEDSTATE_HDR_LEN, "records follow the header");
static_assert(REC_OFF_RESERVED2 + 2 == TC_SEEDSTATE_REC_LEN, "record layout fills the record");

/** Bytes of a MAC address. */
#define MAC_LEN 6
/** Bit of a MAC's first byte that marks a group (multicast or broadcast) address. */
#define MAC_GROUP_BIT 0x01u
/** Bytes of "aa:bb:cc:dd:ee:ff" with its NUL. */
#define MAC_TEXT_LEN 18

/** Fixed prefix of every message, so a log line says which file it is about. */
#define WHAT "seeder state"

/** Format a MAC as colon-separated hex into out (MAC_TEXT_LEN bytes). */
static const char *mac_text(char out[MAC_TEXT_LEN], const uint8_t mac[MAC_LEN])
{
    snprintf(out, MAC_TEXT_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    return out;
}

/**
 * check_header - the header fields of st that both directions share:
 * session id, epoch and node count. Returns 0, -EBADMSG or -E2BIG (count).
 */
static int check_header(const struct tc_seedstate *st, struct tc_err *err)
{
    if (st->session_id == 0)
        return tc_err_set(err, -EBADMSG, WHAT ": session_id is 0, expected non-zero");
    if (st->epoch == 0)
        return tc_err_set(err, -EBADMSG, WHAT ": epoch is 0, expected >= 1");
    if (st->nnodes > TC_SEEDSTATE_NODES_MAX)
        return tc_err_set(err, -E2BIG, WHAT ": nnodes is %u, limit %u", st->nnodes,
                          TC_SEEDSTATE_NODES_MAX);
    return 0;
}

/**
 * check_node - node record i (n); prev is record i - 1 or NULL for the
 * first. Returns 0 or -EBADMSG with a message naming the record and field.
 */
static int check_node(const struct tc_seedstate_node *n, const struct tc_seedstate_node *prev,
                      uint32_t i, struct tc_err *err)
{
    static const uint8_t zero_mac[MAC_LEN];
    char mac[MAC_TEXT_LEN];

    if (n->index >= TC_SEEDSTATE_NODES_MAX)
        return tc_err_set(err, -EBADMSG, WHAT ": node record %u: index %u, expected below %u", i,
                          n->index, TC_SEEDSTATE_NODES_MAX);
    if (prev && n->index <= prev->index)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u: index %u after index %u, expected strictly "
                               "increasing (duplicate or unsorted)",
                          i, n->index, prev->index);
    if (memcmp(n->mac, zero_mac, MAC_LEN) == 0)
        return tc_err_set(err, -EBADMSG, WHAT ": node record %u (index %u): MAC is all zero", i,
                          n->index);
    if (n->mac[0] & MAC_GROUP_BIT)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u (index %u): MAC %s is multicast, expected a "
                               "unicast node id",
                          i, n->index, mac_text(mac, n->mac));
    if (n->state < TC_SEEDSTATE_ACTIVE || n->state > TC_SEEDSTATE_RELEASED)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u (index %u, MAC %s): state %u, expected 1 "
                               "(ACTIVE), 2 (DONE) or 3 (RELEASED)",
                          i, n->index, mac_text(mac, n->mac), n->state);
    if (n->token == 0)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u (index %u, MAC %s): token is 0, expected non-zero",
                          i, n->index, mac_text(mac, n->mac));
    if (n->addr == 0)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u (index %u, MAC %s): addr is 0.0.0.0, expected "
                               "the node's registered address",
                          i, n->index, mac_text(mac, n->mac));
    if (n->port == 0)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": node record %u (index %u, MAC %s): port is 0, expected non-zero",
                          i, n->index, mac_text(mac, n->mac));
    return 0;
}

/**
 * Encode st into buf (cap bytes), checked by the decoder's rules. Returns
 * the length written, -EINVAL for a field out of range (nothing written) or
 * -ENOBUFS when cap is too small (nothing written).
 */
long tc_seedstate_encode(const struct tc_seedstate *st, uint8_t *buf, size_t cap)
{
    const struct tc_seedstate_node *n;
    uint8_t *rec;
    size_t len;
    uint32_t i;

    if (check_header(st, NULL) != 0)
        return -EINVAL;
    if (st->nnodes > 0 && !st->nodes)
        return -EINVAL;
    for (i = 0; i < st->nnodes; i++) {
        if (check_node(&st->nodes[i], i ? &st->nodes[i - 1] : NULL, i, NULL) != 0)
            return -EINVAL;
    }
    len = TC_SEEDSTATE_LEN(st->nnodes);
    if (cap < len)
        return -ENOBUFS;

    memset(buf, 0, len);
    tc_put_be32(buf + SS_OFF_MAGIC, TC_SEEDSTATE_MAGIC);
    tc_put_be16(buf + SS_OFF_VERSION, TC_SEEDSTATE_VERSION);
    tc_put_be64(buf + SS_OFF_SESSION, st->session_id);
    tc_put_be32(buf + SS_OFF_EPOCH, st->epoch);
    tc_put_be32(buf + SS_OFF_NNODES, st->nnodes);
    memcpy(buf + SS_OFF_DIGEST, st->image_digest, TC_SHA256_LEN);
    for (i = 0; i < st->nnodes; i++) {
        n = &st->nodes[i];
        rec = buf + SS_OFF_RECORDS + (size_t)i * TC_SEEDSTATE_REC_LEN;
        tc_put_be32(rec + REC_OFF_INDEX, n->index);
        memcpy(rec + REC_OFF_MAC, n->mac, MAC_LEN);
        rec[REC_OFF_STATE] = n->state;
        tc_put_be64(rec + REC_OFF_TOKEN, n->token);
        tc_put_be32(rec + REC_OFF_ADDR, n->addr);
        tc_put_be16(rec + REC_OFF_PORT, n->port);
    }
    tc_sha256(buf, len - TC_SHA256_LEN, buf + len - TC_SHA256_LEN);
    return (long)len;
}

/**
 * check_frame - the parts of a file that say whether it is one at all:
 * length, magic, version, reserved bytes, node count against the limit and
 * nodes_cap, exact length, digest. Returns 0 or -EBADMSG / -EPROTO / -E2BIG.
 */
static int check_frame(const uint8_t *buf, size_t len, uint32_t nodes_cap, struct tc_err *err)
{
    char want_hex[2 * TC_SHA256_LEN + 1], got_hex[2 * TC_SHA256_LEN + 1];
    uint8_t digest[TC_SHA256_LEN];
    uint32_t magic, nnodes;
    uint16_t version;
    size_t want;

    if (len < TC_SEEDSTATE_LEN(0))
        return tc_err_set(err, -EBADMSG,
                          WHAT ": %zu bytes, shorter than the smallest state (%zu bytes): the "
                               "file is truncated",
                          len, TC_SEEDSTATE_LEN(0));
    magic = tc_get_be32(buf + SS_OFF_MAGIC);
    if (magic != TC_SEEDSTATE_MAGIC)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": magic is 0x%08x, expected 0x%08x (\"TCSS\"): not a seeder "
                               "state file",
                          magic, TC_SEEDSTATE_MAGIC);
    version = tc_get_be16(buf + SS_OFF_VERSION);
    if (version != TC_SEEDSTATE_VERSION)
        return tc_err_set(err, -EPROTO,
                          WHAT ": version %u, this seeder reads version %u (written by another "
                               "treecast release?)",
                          version, TC_SEEDSTATE_VERSION);
    if (tc_get_be16(buf + SS_OFF_RESERVED) != 0)
        return tc_err_set(err, -EBADMSG, WHAT ": header reserved bytes are 0x%04x, expected 0",
                          tc_get_be16(buf + SS_OFF_RESERVED));
    nnodes = tc_get_be32(buf + SS_OFF_NNODES);
    if (nnodes > TC_SEEDSTATE_NODES_MAX)
        return tc_err_set(err, -E2BIG, WHAT ": nnodes is %u, limit %u", nnodes,
                          TC_SEEDSTATE_NODES_MAX);
    if (nnodes > nodes_cap)
        return tc_err_set(err, -E2BIG, WHAT ": nnodes is %u, the node table holds %u", nnodes,
                          nodes_cap);
    want = TC_SEEDSTATE_LEN(nnodes);
    if (len < want)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": %zu bytes, expected %zu for nnodes %u: the file is truncated",
                          len, want, nnodes);
    if (len > want)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": %zu bytes, expected %zu for nnodes %u: %zu trailing bytes", len,
                          want, nnodes, len - want);
    tc_sha256(buf, want - TC_SHA256_LEN, digest);
    if (memcmp(digest, buf + want - TC_SHA256_LEN, TC_SHA256_LEN) != 0)
        return tc_err_set(err, -EBADMSG,
                          WHAT ": digest is %s, the content hashes to %s: the file is torn or "
                               "altered",
                          tc_hex(want_hex, buf + want - TC_SHA256_LEN, TC_SHA256_LEN),
                          tc_hex(got_hex, digest, TC_SHA256_LEN));
    return 0;
}

/**
 * Decode len bytes of buf into st, its node records into nodes (nodes_cap of
 * them, caller memory; st->nodes points there). Returns 0, or -EBADMSG
 * (malformed, field out of range, digest mismatch), -EPROTO (version) or
 * -E2BIG (more records than the limit or than nodes_cap), with err naming
 * the field. st and nodes are undefined after a failure.
 */
int tc_seedstate_decode(const uint8_t *buf, size_t len, struct tc_seedstate *st,
                        struct tc_seedstate_node *nodes, uint32_t nodes_cap, struct tc_err *err)
{
    struct tc_seedstate_node *n;
    const uint8_t *rec;
    uint32_t i;
    int rc;

    rc = check_frame(buf, len, nodes_cap, err);
    if (rc != 0)
        return rc;
    memset(st, 0, sizeof(*st));
    st->session_id = tc_get_be64(buf + SS_OFF_SESSION);
    st->epoch = tc_get_be32(buf + SS_OFF_EPOCH);
    st->nnodes = tc_get_be32(buf + SS_OFF_NNODES);
    memcpy(st->image_digest, buf + SS_OFF_DIGEST, TC_SHA256_LEN);
    st->nodes = nodes;
    rc = check_header(st, err);
    if (rc != 0)
        return rc;
    for (i = 0; i < st->nnodes; i++) {
        rec = buf + SS_OFF_RECORDS + (size_t)i * TC_SEEDSTATE_REC_LEN;
        n = &nodes[i];
        memset(n, 0, sizeof(*n));
        n->index = tc_get_be32(rec + REC_OFF_INDEX);
        memcpy(n->mac, rec + REC_OFF_MAC, MAC_LEN);
        n->state = rec[REC_OFF_STATE];
        n->token = tc_get_be64(rec + REC_OFF_TOKEN);
        n->addr = tc_get_be32(rec + REC_OFF_ADDR);
        n->port = tc_get_be16(rec + REC_OFF_PORT);
        if (rec[REC_OFF_RESERVED1] != 0 || tc_get_be16(rec + REC_OFF_RESERVED2) != 0)
            return tc_err_set(err, -EBADMSG,
                              WHAT ": node record %u (index %u): reserved bytes 0x%02x/0x%04x, "
                                   "expected 0",
                              i, n->index, rec[REC_OFF_RESERVED1],
                              tc_get_be16(rec + REC_OFF_RESERVED2));
        rc = check_node(n, i ? &nodes[i - 1] : NULL, i, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
