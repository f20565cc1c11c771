// SPDX-License-Identifier: MIT
/*
 * The treecast UDP wire format, version 1 (docs/protocol.md, section 3).
 *
 * One check function per body type validates a decoded or to-be-encoded
 * struct against the same rules, so that whatever encodes also decodes and
 * whatever decodes re-encodes to the same bytes: the wire-only rules
 * (reserved and padding bytes zero, exact lengths) are in the decoders, the
 * field rules in the checks.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/sigblock.h"
#include "treecast/wire.h"

/* Common header offsets. */
#define HDR_OFF_MAGIC 0
#define HDR_OFF_VERSION 4
#define HDR_OFF_TYPE 5
#define HDR_OFF_FLAGS 6
#define HDR_OFF_SESSION 8
#define HDR_OFF_EPOCH 16
#define HDR_OFF_TOKEN 20

/* JOIN body offsets (from the end of the header). */
#define JOIN_OFF_NODE_ID 0
#define JOIN_OFF_MTU 6
#define JOIN_OFF_NONCE 8
#define JOIN_OFF_DISK_SIZE 16
#define JOIN_OFF_ATTEMPT 24
#define JOIN_OFF_NAME_LEN 28
#define JOIN_OFF_MINVER_LEN 29
#define JOIN_OFF_NRUNS 30
#define JOIN_OFF_NAME 32
#define JOIN_OFF_MINVER 96
#define JOIN_OFF_PIN 128
#define JOIN_OFF_RUNS 160
#define JOIN_RUN_LEN 8
#define JOIN_FIXED_LEN (TC_WIRE_HDR_LEN + JOIN_OFF_RUNS)

/* WELCOME body offsets. */
#define WEL_OFF_NONCE 0
#define WEL_OFF_NODE_INDEX 8
#define WEL_OFF_GROUP_ADDR 12
#define WEL_OFF_GROUP_PORT 16
#define WEL_OFF_MTU 18
#define WEL_OFF_PARENT_ADDR 20
#define WEL_OFF_PARENT_PORT 24
#define WEL_OFF_SEG_SIZE 26
#define WEL_OFF_PARENT_INDEX 28
#define WEL_OFF_RATE 32
#define WEL_OFF_MANIFEST_LEN 40
#define WEL_OFF_SIGBLOCK_LEN 44
#define WEL_OFF_HEARTBEAT_MS 48
#define WEL_OFF_REPORT_MS 52
#define WEL_OFF_DEPTH 56
#define WEL_OFF_RESERVED 58
#define WEL_OFF_MANIFEST_DIGEST 60
#define WEL_OFF_MHASHES_DIGEST 92
#define WEL_OFF_SIGBLOCK_DIGEST 124
#define WEL_BODY_LEN 156

/* REJECT body offsets. */
#define REJ_OFF_NONCE 0
#define REJ_OFF_REASON 8
#define REJ_OFF_RESERVED 10
#define REJ_OFF_RETRY_MS 12
#define REJ_BODY_LEN 16

/* DATA body offsets. */
#define DATA_OFF_OBJECT 0
#define DATA_OFF_RESERVED 1
#define DATA_OFF_LEN 2
#define DATA_OFF_INDEX 4
#define DATA_OFF_OFFSET 8
#define DATA_OFF_PAYLOAD 12

/* REPAIR_REQ body offsets; ranges are (offset u32, len u32). */
#define RREQ_OFF_OBJECT 0
#define RREQ_OFF_RESERVED 1
#define RREQ_OFF_NRANGES 2
#define RREQ_OFF_INDEX 4
#define RREQ_OFF_RANGES 8
#define RANGE_LEN 8

/* REPORT body offsets and entry offsets. */
#define REP_OFF_SEQ 0
#define REP_OFF_NODES 4
#define REP_OFF_DONE 6
#define REP_OFF_BACKLOG 8
#define REP_OFF_LOSS_HIST 12
#define REP_OFF_NENTRIES 28
#define REP_OFF_RESERVED 30
#define REP_OFF_ENTRIES 32
#define REPE_OFF_OBJECT 0
#define REPE_OFF_RESERVED 1
#define REPE_OFF_MAX_MISSING 2
#define REPE_OFF_INDEX 4
#define REPE_OFF_HIST 8
#define REPE_LEN 14

/* DONE, DONE_ACK, RELEASE body offsets. */
#define DONE_OFF_DIGEST 0
#define DONE_OFF_CHUNKS 32
#define DONE_OFF_RESERVED 36
#define DONE_BODY_LEN 40
#define DACK_OFF_DIGEST 0
#define DACK_BODY_LEN 32
#define REL_OFF_REASON 0
#define REL_OFF_RESERVED 2
#define REL_BODY_LEN 4

/* HEARTBEAT body offsets. */
#define HB_OFF_SEQ 0
#define HB_OFF_STATE 4
#define HB_OFF_RESERVED 5
#define HB_OFF_CHUNKS 8
#define HB_OFF_TIME 12
#define HB_OFF_ECHO 20
#define HB_BODY_LEN 28

/* REPARENT_REQ and REPARENT body offsets. */
#define RPQ_OFF_PARENT_INDEX 0
#define RPQ_OFF_REASON 4
#define RPQ_OFF_RESERVED 6
#define RPQ_OFF_SILENCE 8
#define RPQ_OFF_CHUNKS 12
#define RPQ_BODY_LEN 16
#define RP_OFF_GENERATION 0
#define RP_OFF_PARENT_INDEX 4
#define RP_OFF_PARENT_ADDR 8
#define RP_OFF_PARENT_PORT 12
#define RP_OFF_DEPTH 14
#define RP_BODY_LEN 16

/* CHILDREN body offsets and entry offsets. */
#define CH_OFF_GENERATION 0
#define CH_OFF_COUNT 4
#define CH_OFF_RESERVED 6
#define CH_OFF_ENTRIES 8
#define CHE_OFF_INDEX 0
#define CHE_OFF_ADDR 4
#define CHE_OFF_PORT 8
#define CHE_OFF_FLAGS 10
#define CHE_OFF_TOKEN 12
#define CHE_LEN 20

/* LOG body offsets. */
#define LOG_OFF_SEQ 0
#define LOG_OFF_LEVEL 4
#define LOG_OFF_RESERVED 5
#define LOG_OFF_TEXT_LEN 6
#define LOG_OFF_TEXT 8

/* ACK body offsets. */
#define ACK_OFF_OBJECT 0
#define ACK_OFF_NSACKS 1
#define ACK_OFF_RESERVED 2
#define ACK_OFF_INDEX 4
#define ACK_OFF_CUM 8
#define ACK_OFF_WINDOW 12
#define ACK_OFF_SACKS 16

/* EPOCH body offsets. */
#define EP_OFF_PREV 0
#define EP_OFF_SPREAD 4
#define EP_BODY_LEN 8

#define HDR TC_WIRE_HDR_LEN

/* Sizes the protocol's promises rest on, checked by the compiler. */
_Static_assert(HDR + WEL_BODY_LEN == TC_WIRE_WELCOME_LEN, "WELCOME length");
_Static_assert(TC_WIRE_WELCOME_LEN <= TC_WIRE_JOIN_MIN_LEN, "WELCOME <= JOIN");
_Static_assert(HDR + REJ_BODY_LEN <= TC_WIRE_JOIN_MIN_LEN, "REJECT <= JOIN");
_Static_assert(DACK_BODY_LEN <= DONE_BODY_LEN, "DONE_ACK <= DONE");
_Static_assert(RP_BODY_LEN <= RPQ_BODY_LEN, "REPARENT <= REPARENT_REQ");
_Static_assert(JOIN_FIXED_LEN + JOIN_RUN_LEN * TC_WIRE_JOIN_RUNS_MAX <=
                   TC_WIRE_MTU_MIN - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "the longest JOIN fits the smallest MTU");
_Static_assert(HDR + REP_OFF_ENTRIES + REPE_LEN * TC_WIRE_REPORT_ENTRIES_MAX <=
                   TC_WIRE_MTU_MIN - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "the longest REPORT fits the smallest MTU");
_Static_assert(HDR + RREQ_OFF_RANGES + RANGE_LEN * TC_WIRE_RANGES_MAX <=
                   TC_WIRE_MTU_MIN - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "the longest REPAIR_REQ fits the smallest MTU");
_Static_assert(HDR + LOG_OFF_TEXT + TC_WIRE_LOG_TEXT_MAX <=
                   TC_WIRE_MTU_MIN - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "the longest LOG fits the smallest MTU");
_Static_assert(HDR + CH_OFF_ENTRIES + CHE_LEN * TC_WIRE_CHILDREN_MAX <=
                   TC_WIRE_MTU_MIN - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "the longest CHILDREN fits the smallest MTU");
_Static_assert(HDR + DATA_OFF_PAYLOAD + TC_WIRE_DATA_PAYLOAD_1500 ==
                   1500 - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN,
               "DATA payload at MTU 1500");
_Static_assert(TC_WIRE_DATA_PAYLOAD_9000 == TC_WIRE_DATA_PAYLOAD_MAX, "DATA payload at 9000");
_Static_assert(TC_WIRE_SEG_SIZE_MAX == TC_WIRE_DATA_PAYLOAD_MAX, "one segment fits a block");
_Static_assert(TC_WIRE_DATA_PAYLOAD_MAX <= UINT16_MAX, "DATA len is 16-bit");

/** Header flags each type accepts. */
static const uint16_t flags_allowed[TC_WIRE_TYPE_MAX + 1] = {
    [TC_WIRE_JOIN] = TC_WIRE_JOIN_F_PIN,
    [TC_WIRE_WELCOME] = TC_WIRE_WELCOME_F_TREE_ONLY,
    [TC_WIRE_DATA] = TC_WIRE_DATA_F_UNICAST,
    [TC_WIRE_REPARENT] = TC_WIRE_REPARENT_F_LEAF,
};

static const char *const type_names[TC_WIRE_TYPE_MAX + 1] = {
    [TC_WIRE_JOIN] = "JOIN",
    [TC_WIRE_WELCOME] = "WELCOME",
    [TC_WIRE_REJECT] = "REJECT",
    [TC_WIRE_DATA] = "DATA",
    [TC_WIRE_REPAIR_REQ] = "REPAIR_REQ",
    [TC_WIRE_REPORT] = "REPORT",
    [TC_WIRE_DONE] = "DONE",
    [TC_WIRE_DONE_ACK] = "DONE_ACK",
    [TC_WIRE_RELEASE] = "RELEASE",
    [TC_WIRE_HEARTBEAT] = "HEARTBEAT",
    [TC_WIRE_REPARENT_REQ] = "REPARENT_REQ",
    [TC_WIRE_REPARENT] = "REPARENT",
    [TC_WIRE_CHILDREN] = "CHILDREN",
    [TC_WIRE_LOG] = "LOG",
    [TC_WIRE_ACK] = "ACK",
    [TC_WIRE_EPOCH] = "EPOCH",
};

/**
 * tc_wire_type_name - the name of a datagram type, "?" if unknown.
 */
const char *tc_wire_type_name(unsigned type)
{
    if (type == 0 || type > TC_WIRE_TYPE_MAX)
        return "?";
    return type_names[type];
}

/** True if the len bytes at p are all zero (reserved fields, padding). */
static int all_zero(const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/** True for an IPv4 multicast address (224.0.0.0/4). */
static int ip_multicast(uint32_t a)
{
    return (a >> 28) == 0xe;
}

/** A unicast address a node may be sent to: not 0, multicast or broadcast. */
static int ip_unicast(uint32_t a)
{
    return a != 0 && !ip_multicast(a) && a != 0xffffffffu;
}

/**
 * obj_end_max - the largest (offset + length) an object can have, bytes;
 * 0 for an unknown object. The state machine checks the actual length.
 */
static uint64_t obj_end_max(uint8_t object)
{
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST:
        return TC_MANIFEST_LEN_MAX;
    case TC_WIRE_OBJ_SIGBLOCK:
        return TC_SIGBLOCK_LEN_MAX;
    case TC_WIRE_OBJ_CHUNK:
        return TC_CHUNK_SIZE_WIRE_MAX;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        return TC_WIRE_CHUNK_HASHES_LEN_MAX;
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        return TC_WIRE_MANIFEST_HASHES_LEN_MAX;
    default:
        return 0;
    }
}

/**
 * check_obj - a known object with a valid index: chunk objects take a chunk
 * index below TC_MANIFEST_CHUNKS_MAX, the others index 0. 0 or -EBADMSG.
 */
static int check_obj(uint8_t object, uint32_t index)
{
    if (object == 0 || object > TC_WIRE_OBJ_MAX)
        return -EBADMSG;
    if (object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES)
        return index < TC_MANIFEST_CHUNKS_MAX ? 0 : -EBADMSG;
    return index == 0 ? 0 : -EBADMSG;
}

/**
 * check_ranges - n ranges inside an object, each non-empty, sorted, disjoint
 * and not adjacent (so each set of bytes has exactly one encoding), all at or
 * above floor. 0 or -EBADMSG.
 */
static int check_ranges(const struct tc_wire_range *r, unsigned n, uint8_t object, uint64_t floor)
{
    uint64_t end_max = obj_end_max(object), next = floor;
    unsigned i;

    for (i = 0; i < n; i++) {
        uint64_t end = (uint64_t)r[i].offset + r[i].len;

        if (r[i].len == 0 || r[i].offset < next || end > end_max)
            return -EBADMSG;
        next = end + 1;
    }
    return 0;
}

/**
 * check_parent - a parent as WELCOME and REPARENT give it: the seeder (all
 * zero, TC_WIRE_INDEX_SEEDER, depth 1) or another node (unicast address,
 * port, index, depth 2..TC_WIRE_DEPTH_MAX). 0 or -EBADMSG.
 */
static int check_parent(uint32_t index, uint32_t addr, uint16_t port, uint16_t depth)
{
    if (index == TC_WIRE_INDEX_SEEDER)
        return addr == 0 && port == 0 && depth == 1 ? 0 : -EBADMSG;
    if (index >= TC_WIRE_NODES_MAX || !ip_unicast(addr) || port == 0 || depth < 2 ||
        depth > TC_WIRE_DEPTH_MAX)
        return -EBADMSG;
    return 0;
}

/**
 * check_hdr - the header rules that hold for every type: a known type, only
 * its flags, a session id and epoch (except in JOIN, where 0 means none
 * known), and the token rule of docs/protocol.md section 3.2. 0 or -EBADMSG.
 */
static int check_hdr(const struct tc_wire_hdr *h)
{
    int token_zero = 0, token_any = 0;

    if (h->type == 0 || h->type > TC_WIRE_TYPE_MAX)
        return -EBADMSG;
    if (h->flags & ~flags_allowed[h->type])
        return -EBADMSG;
    if (h->type != TC_WIRE_JOIN && (h->session_id == 0 || h->epoch == 0))
        return -EBADMSG;
    switch (h->type) {
    case TC_WIRE_JOIN:
    case TC_WIRE_REJECT:
    case TC_WIRE_EPOCH:
        token_any = 1;
        break;
    case TC_WIRE_DATA:
        token_zero = !(h->flags & TC_WIRE_DATA_F_UNICAST);
        break;
    default:
        break;
    }
    if (token_any)
        return 0;
    if (token_zero)
        return h->token == 0 ? 0 : -EBADMSG;
    return h->token != 0 ? 0 : -EBADMSG;
}

/** Characters of an image name ([A-Za-z0-9._+-]) or version (also '~'). */
static int name_char(uint8_t c, int version)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c == '.' || c == '_' || c == '+' || c == '-' || (version && c == '~');
}

/**
 * check_text - len characters of a name or version, the first alphanumeric
 * (names only), the rest of the cap-byte field zero. 0 or -EBADMSG.
 */
static int check_text(const char *s, size_t len, size_t cap, int version)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i;

    for (i = 0; i < len; i++)
        if (!name_char(u[i], version))
            return -EBADMSG;
    if (!version && len > 0 && (u[0] == '.' || u[0] == '_' || u[0] == '+' || u[0] == '-'))
        return -EBADMSG;
    return all_zero(u + len, cap - len) ? 0 : -EBADMSG;
}

/** Length of a JOIN with nruns runs: the fixed part and runs, padded to the minimum. */
static size_t join_len(unsigned nruns)
{
    size_t n = JOIN_FIXED_LEN + (size_t)JOIN_RUN_LEN * nruns;

    return n < TC_WIRE_JOIN_MIN_LEN ? TC_WIRE_JOIN_MIN_LEN : n;
}

static int check_join(const struct tc_wire_hdr *h, const struct tc_wire_join *j)
{
    static const uint8_t zero_mac[6];
    uint64_t next = 0;
    unsigned i;
    int rc;

    if (j->nruns > TC_WIRE_JOIN_RUNS_MAX || j->name_len > TC_WIRE_NAME_MAX ||
        j->min_version_len > TC_WIRE_VERSION_STR_MAX)
        return -E2BIG;
    if (memcmp(j->node_id, zero_mac, 6) == 0 || (j->node_id[0] & 1))
        return -EBADMSG;
    if (j->mtu < TC_WIRE_MTU_MIN || j->mtu > TC_WIRE_MTU_MAX || j->nonce == 0 ||
        j->disk_size == 0 || j->name_len == 0)
        return -EBADMSG;
    rc = check_text(j->name, j->name_len, TC_WIRE_NAME_MAX, 0);
    if (rc == 0)
        rc = check_text(j->min_version, j->min_version_len, TC_WIRE_VERSION_STR_MAX, 1);
    if (rc != 0)
        return rc;
    if (!(h->flags & TC_WIRE_JOIN_F_PIN) && !all_zero(j->pin, TC_SHA256_LEN))
        return -EBADMSG;
    for (i = 0; i < j->nruns; i++) {
        uint64_t end = (uint64_t)j->runs[i].first + j->runs[i].count;

        if (j->runs[i].count == 0 || j->runs[i].first < next || end > TC_MANIFEST_CHUNKS_MAX)
            return -EBADMSG;
        next = end + 1;
    }
    return 0;
}

static int decode_join(const uint8_t *b, size_t blen, struct tc_wire_msg *m)
{
    struct tc_wire_join *j = &m->u.join;
    size_t natural;
    unsigned i;

    if (blen < JOIN_OFF_RUNS)
        return -EBADMSG;
    j->nruns = tc_get_be16(b + JOIN_OFF_NRUNS);
    if (j->nruns > TC_WIRE_JOIN_RUNS_MAX)
        return -E2BIG;
    if (HDR + blen != join_len(j->nruns))
        return -EBADMSG;
    natural = JOIN_OFF_RUNS + (size_t)JOIN_RUN_LEN * j->nruns;
    if (!all_zero(b + natural, blen - natural))
        return -EBADMSG;
    memcpy(j->node_id, b + JOIN_OFF_NODE_ID, 6);
    j->mtu = tc_get_be16(b + JOIN_OFF_MTU);
    j->nonce = tc_get_be64(b + JOIN_OFF_NONCE);
    j->disk_size = tc_get_be64(b + JOIN_OFF_DISK_SIZE);
    j->attempt = tc_get_be32(b + JOIN_OFF_ATTEMPT);
    j->name_len = b[JOIN_OFF_NAME_LEN];
    j->min_version_len = b[JOIN_OFF_MINVER_LEN];
    memcpy(j->name, b + JOIN_OFF_NAME, TC_WIRE_NAME_MAX);
    memcpy(j->min_version, b + JOIN_OFF_MINVER, TC_WIRE_VERSION_STR_MAX);
    memcpy(j->pin, b + JOIN_OFF_PIN, TC_SHA256_LEN);
    for (i = 0; i < j->nruns; i++) {
        const uint8_t *r = b + JOIN_OFF_RUNS + JOIN_RUN_LEN * i;

        j->runs[i].first = tc_get_be32(r);
        j->runs[i].count = tc_get_be32(r + 4);
    }
    return check_join(&m->hdr, j);
}

static void encode_join(const struct tc_wire_join *j, uint8_t *b, size_t blen)
{
    unsigned i;

    memset(b, 0, blen);
    memcpy(b + JOIN_OFF_NODE_ID, j->node_id, 6);
    tc_put_be16(b + JOIN_OFF_MTU, j->mtu);
    tc_put_be64(b + JOIN_OFF_NONCE, j->nonce);
    tc_put_be64(b + JOIN_OFF_DISK_SIZE, j->disk_size);
    tc_put_be32(b + JOIN_OFF_ATTEMPT, j->attempt);
    b[JOIN_OFF_NAME_LEN] = j->name_len;
    b[JOIN_OFF_MINVER_LEN] = j->min_version_len;
    tc_put_be16(b + JOIN_OFF_NRUNS, j->nruns);
    memcpy(b + JOIN_OFF_NAME, j->name, TC_WIRE_NAME_MAX);
    memcpy(b + JOIN_OFF_MINVER, j->min_version, TC_WIRE_VERSION_STR_MAX);
    memcpy(b + JOIN_OFF_PIN, j->pin, TC_SHA256_LEN);
    for (i = 0; i < j->nruns; i++) {
        uint8_t *r = b + JOIN_OFF_RUNS + JOIN_RUN_LEN * i;

        tc_put_be32(r, j->runs[i].first);
        tc_put_be32(r + 4, j->runs[i].count);
    }
}

static int check_welcome(const struct tc_wire_hdr *h, const struct tc_wire_welcome *w)
{
    int tree_only = (h->flags & TC_WIRE_WELCOME_F_TREE_ONLY) != 0;

    if (w->nonce == 0 || w->node_index >= TC_WIRE_NODES_MAX)
        return -EBADMSG;
    if (tree_only ? (w->group_addr != 0 || w->group_port != 0)
                  : (!ip_multicast(w->group_addr) || w->group_port == 0))
        return -EBADMSG;
    if (w->mtu < TC_WIRE_MTU_MIN || w->mtu > TC_WIRE_MTU_MAX)
        return -EBADMSG;
    if (check_parent(w->parent_index, w->parent_addr, w->parent_port, w->depth) != 0 ||
        w->parent_index == w->node_index)
        return -EBADMSG;
    if (w->seg_size < TC_WIRE_SEG_SIZE_MIN || w->seg_size > tc_wire_data_payload_max(w->mtu))
        return -EBADMSG;
    if (w->rate_bps > TC_WIRE_RATE_BPS_MAX || (!tree_only && w->rate_bps == 0))
        return -EBADMSG;
    if (w->manifest_len == 0 || w->manifest_len > TC_MANIFEST_LEN_MAX ||
        w->sigblock_len < TC_SIGBLOCK_EMPTY_LEN || w->sigblock_len > TC_SIGBLOCK_LEN_MAX)
        return -EBADMSG;
    if (w->heartbeat_ms < TC_WIRE_INTERVAL_MS_MIN || w->heartbeat_ms > TC_WIRE_INTERVAL_MS_MAX ||
        w->report_ms < TC_WIRE_INTERVAL_MS_MIN || w->report_ms > TC_WIRE_INTERVAL_MS_MAX)
        return -EBADMSG;
    return 0;
}

static int decode_welcome(const uint8_t *b, size_t blen, struct tc_wire_msg *m)
{
    struct tc_wire_welcome *w = &m->u.welcome;

    if (blen != WEL_BODY_LEN || tc_get_be16(b + WEL_OFF_RESERVED) != 0)
        return -EBADMSG;
    w->nonce = tc_get_be64(b + WEL_OFF_NONCE);
    w->node_index = tc_get_be32(b + WEL_OFF_NODE_INDEX);
    w->group_addr = tc_get_be32(b + WEL_OFF_GROUP_ADDR);
    w->group_port = tc_get_be16(b + WEL_OFF_GROUP_PORT);
    w->mtu = tc_get_be16(b + WEL_OFF_MTU);
    w->parent_addr = tc_get_be32(b + WEL_OFF_PARENT_ADDR);
    w->parent_port = tc_get_be16(b + WEL_OFF_PARENT_PORT);
    w->seg_size = tc_get_be16(b + WEL_OFF_SEG_SIZE);
    w->parent_index = tc_get_be32(b + WEL_OFF_PARENT_INDEX);
    w->rate_bps = tc_get_be64(b + WEL_OFF_RATE);
    w->manifest_len = tc_get_be32(b + WEL_OFF_MANIFEST_LEN);
    w->sigblock_len = tc_get_be32(b + WEL_OFF_SIGBLOCK_LEN);
    w->heartbeat_ms = tc_get_be32(b + WEL_OFF_HEARTBEAT_MS);
    w->report_ms = tc_get_be32(b + WEL_OFF_REPORT_MS);
    w->depth = tc_get_be16(b + WEL_OFF_DEPTH);
    memcpy(w->manifest_digest, b + WEL_OFF_MANIFEST_DIGEST, TC_SHA256_LEN);
    memcpy(w->manifest_hashes_digest, b + WEL_OFF_MHASHES_DIGEST, TC_SHA256_LEN);
    memcpy(w->sigblock_digest, b + WEL_OFF_SIGBLOCK_DIGEST, TC_SHA256_LEN);
    return check_welcome(&m->hdr, w);
}

static void encode_welcome(const struct tc_wire_welcome *w, uint8_t *b)
{
    tc_put_be64(b + WEL_OFF_NONCE, w->nonce);
    tc_put_be32(b + WEL_OFF_NODE_INDEX, w->node_index);
    tc_put_be32(b + WEL_OFF_GROUP_ADDR, w->group_addr);
    tc_put_be16(b + WEL_OFF_GROUP_PORT, w->group_port);
    tc_put_be16(b + WEL_OFF_MTU, w->mtu);
    tc_put_be32(b + WEL_OFF_PARENT_ADDR, w->parent_addr);
    tc_put_be16(b + WEL_OFF_PARENT_PORT, w->parent_port);
    tc_put_be16(b + WEL_OFF_SEG_SIZE, w->seg_size);
    tc_put_be32(b + WEL_OFF_PARENT_INDEX, w->parent_index);
    tc_put_be64(b + WEL_OFF_RATE, w->rate_bps);
    tc_put_be32(b + WEL_OFF_MANIFEST_LEN, w->manifest_len);
    tc_put_be32(b + WEL_OFF_SIGBLOCK_LEN, w->sigblock_len);
    tc_put_be32(b + WEL_OFF_HEARTBEAT_MS, w->heartbeat_ms);
    tc_put_be32(b + WEL_OFF_REPORT_MS, w->report_ms);
    tc_put_be16(b + WEL_OFF_DEPTH, w->depth);
    tc_put_be16(b + WEL_OFF_RESERVED, 0);
    memcpy(b + WEL_OFF_MANIFEST_DIGEST, w->manifest_digest, TC_SHA256_LEN);
    memcpy(b + WEL_OFF_MHASHES_DIGEST, w->manifest_hashes_digest, TC_SHA256_LEN);
    memcpy(b + WEL_OFF_SIGBLOCK_DIGEST, w->sigblock_digest, TC_SHA256_LEN);
}

static int check_reject(const struct tc_wire_reject_msg *r)
{
    if (r->nonce == 0 || r->reason == 0 || r->reason > TC_WIRE_REJECT_MAX ||
        r->retry_after_ms > TC_WIRE_DELAY_MS_MAX)
        return -EBADMSG;
    return 0;
}

static int check_data(const struct tc_wire_data *d)
{
    if (d->len > TC_WIRE_DATA_PAYLOAD_MAX)
        return -E2BIG;
    if (d->len == 0 || check_obj(d->object, d->index) != 0 ||
        (uint64_t)d->offset + d->len > obj_end_max(d->object))
        return -EBADMSG;
    return 0;
}

static int decode_data(const uint8_t *b, size_t blen, struct tc_wire_data *d)
{
    if (blen < DATA_OFF_PAYLOAD || b[DATA_OFF_RESERVED] != 0)
        return -EBADMSG;
    d->object = b[DATA_OFF_OBJECT];
    d->len = tc_get_be16(b + DATA_OFF_LEN);
    d->index = tc_get_be32(b + DATA_OFF_INDEX);
    d->offset = tc_get_be32(b + DATA_OFF_OFFSET);
    if (d->len > TC_WIRE_DATA_PAYLOAD_MAX)
        return -E2BIG;
    if (blen != (size_t)DATA_OFF_PAYLOAD + d->len)
        return -EBADMSG;
    d->payload = b + DATA_OFF_PAYLOAD;
    return check_data(d);
}

static int check_repair_req(const struct tc_wire_repair_req *r)
{
    if (r->nranges > TC_WIRE_RANGES_MAX)
        return -E2BIG;
    if (r->nranges == 0 || check_obj(r->object, r->index) != 0)
        return -EBADMSG;
    return check_ranges(r->ranges, r->nranges, r->object, 0);
}

static int decode_repair_req(const uint8_t *b, size_t blen, struct tc_wire_repair_req *r)
{
    unsigned i;

    if (blen < RREQ_OFF_RANGES || b[RREQ_OFF_RESERVED] != 0)
        return -EBADMSG;
    r->nranges = tc_get_be16(b + RREQ_OFF_NRANGES);
    if (r->nranges > TC_WIRE_RANGES_MAX)
        return -E2BIG;
    if (blen != RREQ_OFF_RANGES + (size_t)RANGE_LEN * r->nranges)
        return -EBADMSG;
    r->object = b[RREQ_OFF_OBJECT];
    r->index = tc_get_be32(b + RREQ_OFF_INDEX);
    for (i = 0; i < r->nranges; i++) {
        r->ranges[i].offset = tc_get_be32(b + RREQ_OFF_RANGES + RANGE_LEN * i);
        r->ranges[i].len = tc_get_be32(b + RREQ_OFF_RANGES + RANGE_LEN * i + 4);
    }
    return check_repair_req(r);
}

/**
 * tc_wire_report_bucket - the histogram bucket of a count of missing
 * segments: 0 for 1..3, 1 for 4..31, 2 for 32 and more (0 for 0, which no
 * entry carries).
 */
unsigned tc_wire_report_bucket(uint32_t missing)
{
    if (missing < 4)
        return 0;
    if (missing < 32)
        return 1;
    return 2;
}

/**
 * tc_wire_report_merge - fold a child's entry for the same object into dst.
 * Sums saturate at UINT16_MAX (node counts cannot exceed TC_WIRE_NODES_MAX,
 * which is UINT16_MAX, so saturation only guards against lying children).
 */
void tc_wire_report_merge(struct tc_wire_report_entry *dst, const struct tc_wire_report_entry *src)
{
    unsigned i;

    assert(dst->object == src->object && dst->index == src->index);
    if (src->max_missing > dst->max_missing)
        dst->max_missing = src->max_missing;
    for (i = 0; i < TC_WIRE_REPORT_HIST; i++) {
        uint32_t s = (uint32_t)dst->hist[i] + src->hist[i];

        dst->hist[i] = s > UINT16_MAX ? UINT16_MAX : (uint16_t)s;
    }
}

static int check_report(const struct tc_wire_report *r)
{
    uint32_t sum = 0;
    unsigned i, k;

    if (r->nentries > TC_WIRE_REPORT_ENTRIES_MAX)
        return -E2BIG;
    if (r->subtree_nodes == 0 || r->subtree_done > r->subtree_nodes)
        return -EBADMSG;
    for (i = 0; i < TC_WIRE_LOSS_HIST; i++)
        sum += r->loss_hist[i];
    if (sum > r->subtree_nodes)
        return -EBADMSG;
    for (i = 0; i < r->nentries; i++) {
        const struct tc_wire_report_entry *e = &r->entries[i];
        unsigned top = tc_wire_report_bucket(e->max_missing);

        if (check_obj(e->object, e->index) != 0 || e->max_missing == 0 || e->hist[top] == 0)
            return -EBADMSG;
        sum = 0;
        for (k = 0; k < TC_WIRE_REPORT_HIST; k++) {
            if (k > top && e->hist[k] != 0)
                return -EBADMSG;
            sum += e->hist[k];
        }
        if (sum > r->subtree_nodes)
            return -EBADMSG;
        if (i > 0) {
            const struct tc_wire_report_entry *p = &r->entries[i - 1];

            if (e->object < p->object || (e->object == p->object && e->index <= p->index))
                return -EBADMSG;
        }
    }
    return 0;
}

static int decode_report(const uint8_t *b, size_t blen, struct tc_wire_report *r)
{
    unsigned i, k;

    if (blen < REP_OFF_ENTRIES || tc_get_be16(b + REP_OFF_RESERVED) != 0)
        return -EBADMSG;
    r->nentries = tc_get_be16(b + REP_OFF_NENTRIES);
    if (r->nentries > TC_WIRE_REPORT_ENTRIES_MAX)
        return -E2BIG;
    if (blen != REP_OFF_ENTRIES + (size_t)REPE_LEN * r->nentries)
        return -EBADMSG;
    r->seq = tc_get_be32(b + REP_OFF_SEQ);
    r->subtree_nodes = tc_get_be16(b + REP_OFF_NODES);
    r->subtree_done = tc_get_be16(b + REP_OFF_DONE);
    r->backlog_max = tc_get_be32(b + REP_OFF_BACKLOG);
    for (i = 0; i < TC_WIRE_LOSS_HIST; i++)
        r->loss_hist[i] = tc_get_be16(b + REP_OFF_LOSS_HIST + 2 * i);
    for (i = 0; i < r->nentries; i++) {
        const uint8_t *e = b + REP_OFF_ENTRIES + REPE_LEN * i;

        if (e[REPE_OFF_RESERVED] != 0)
            return -EBADMSG;
        r->entries[i].object = e[REPE_OFF_OBJECT];
        r->entries[i].max_missing = tc_get_be16(e + REPE_OFF_MAX_MISSING);
        r->entries[i].index = tc_get_be32(e + REPE_OFF_INDEX);
        for (k = 0; k < TC_WIRE_REPORT_HIST; k++)
            r->entries[i].hist[k] = tc_get_be16(e + REPE_OFF_HIST + 2 * k);
    }
    return check_report(r);
}

static int check_heartbeat(const struct tc_wire_heartbeat *h)
{
    if (h->state > TC_WIRE_STATE_MAX || h->chunks_done > TC_MANIFEST_CHUNKS_MAX)
        return -EBADMSG;
    return 0;
}

static int check_reparent_req(const struct tc_wire_reparent_req *r)
{
    if ((r->parent_index >= TC_WIRE_NODES_MAX && r->parent_index != TC_WIRE_INDEX_SEEDER) ||
        r->reason == 0 || r->reason > TC_WIRE_REPARENT_WHY_MAX ||
        r->silence_ms > TC_WIRE_DELAY_MS_MAX || r->chunks_done > TC_MANIFEST_CHUNKS_MAX)
        return -EBADMSG;
    return 0;
}

static int check_children(const struct tc_wire_children *c)
{
    unsigned i;

    if (c->count > TC_WIRE_CHILDREN_MAX)
        return -E2BIG;
    for (i = 0; i < c->count; i++) {
        const struct tc_wire_child *e = &c->children[i];

        if (e->node_index >= TC_WIRE_NODES_MAX || !ip_unicast(e->addr) || e->port == 0 ||
            e->token == 0 || (e->flags & ~TC_WIRE_CHILD_F_ALL) != 0)
            return -EBADMSG;
        if (i > 0 && e->node_index <= c->children[i - 1].node_index)
            return -EBADMSG;
    }
    return 0;
}

static int decode_children(const uint8_t *b, size_t blen, struct tc_wire_children *c)
{
    unsigned i;

    if (blen < CH_OFF_ENTRIES || tc_get_be16(b + CH_OFF_RESERVED) != 0)
        return -EBADMSG;
    c->count = tc_get_be16(b + CH_OFF_COUNT);
    if (c->count > TC_WIRE_CHILDREN_MAX)
        return -E2BIG;
    if (blen != CH_OFF_ENTRIES + (size_t)CHE_LEN * c->count)
        return -EBADMSG;
    c->generation = tc_get_be32(b + CH_OFF_GENERATION);
    for (i = 0; i < c->count; i++) {
        const uint8_t *e = b + CH_OFF_ENTRIES + CHE_LEN * i;

        c->children[i].flags = tc_get_be16(e + CHE_OFF_FLAGS);
        c->children[i].node_index = tc_get_be32(e + CHE_OFF_INDEX);
        c->children[i].addr = tc_get_be32(e + CHE_OFF_ADDR);
        c->children[i].port = tc_get_be16(e + CHE_OFF_PORT);
        c->children[i].token = tc_get_be64(e + CHE_OFF_TOKEN);
    }
    return check_children(c);
}

static int check_log(const struct tc_wire_log *l)
{
    if (l->text_len > TC_WIRE_LOG_TEXT_MAX)
        return -E2BIG;
    if (l->text_len == 0 || l->level > TC_WIRE_LOG_LEVEL_MAX)
        return -EBADMSG;
    return 0;
}

static int decode_log(const uint8_t *b, size_t blen, struct tc_wire_log *l)
{
    if (blen < LOG_OFF_TEXT || b[LOG_OFF_RESERVED] != 0)
        return -EBADMSG;
    l->text_len = tc_get_be16(b + LOG_OFF_TEXT_LEN);
    if (l->text_len > TC_WIRE_LOG_TEXT_MAX)
        return -E2BIG;
    if (blen != (size_t)LOG_OFF_TEXT + l->text_len)
        return -EBADMSG;
    l->seq = tc_get_be32(b + LOG_OFF_SEQ);
    l->level = b[LOG_OFF_LEVEL];
    memcpy(l->text, b + LOG_OFF_TEXT, l->text_len);
    return check_log(l);
}

static int check_ack(const struct tc_wire_ack *a)
{
    if (a->nsacks > TC_WIRE_SACK_MAX)
        return -E2BIG;
    if (check_obj(a->object, a->index) != 0 || a->cum_offset > obj_end_max(a->object) ||
        a->window > TC_WIRE_WINDOW_MAX)
        return -EBADMSG;
    return check_ranges(a->sacks, a->nsacks, a->object, (uint64_t)a->cum_offset + 1);
}

static int decode_ack(const uint8_t *b, size_t blen, struct tc_wire_ack *a)
{
    unsigned i;

    if (blen < ACK_OFF_SACKS || tc_get_be16(b + ACK_OFF_RESERVED) != 0)
        return -EBADMSG;
    a->nsacks = b[ACK_OFF_NSACKS];
    if (a->nsacks > TC_WIRE_SACK_MAX)
        return -E2BIG;
    if (blen != ACK_OFF_SACKS + (size_t)RANGE_LEN * a->nsacks)
        return -EBADMSG;
    a->object = b[ACK_OFF_OBJECT];
    a->index = tc_get_be32(b + ACK_OFF_INDEX);
    a->cum_offset = tc_get_be32(b + ACK_OFF_CUM);
    a->window = tc_get_be32(b + ACK_OFF_WINDOW);
    for (i = 0; i < a->nsacks; i++) {
        a->sacks[i].offset = tc_get_be32(b + ACK_OFF_SACKS + RANGE_LEN * i);
        a->sacks[i].len = tc_get_be32(b + ACK_OFF_SACKS + RANGE_LEN * i + 4);
    }
    return check_ack(a);
}

static int check_epoch(const struct tc_wire_hdr *h, const struct tc_wire_epoch *e)
{
    if (e->prev_epoch == 0 || e->prev_epoch == h->epoch ||
        e->rejoin_spread_ms > TC_WIRE_DELAY_MS_MAX)
        return -EBADMSG;
    return 0;
}

/**
 * tc_wire_decode_hdr - decode and check the common header only. A datagram
 * that passes may still fail tc_wire_decode() on its body.
 */
int tc_wire_decode_hdr(const uint8_t *buf, size_t len, struct tc_wire_hdr *hdr)
{
    if (len < TC_WIRE_HDR_LEN || tc_get_be32(buf + HDR_OFF_MAGIC) != TC_WIRE_MAGIC)
        return -EBADMSG;
    if (buf[HDR_OFF_VERSION] != TC_WIRE_VERSION)
        return -EPROTO;
    hdr->type = buf[HDR_OFF_TYPE];
    hdr->flags = tc_get_be16(buf + HDR_OFF_FLAGS);
    hdr->session_id = tc_get_be64(buf + HDR_OFF_SESSION);
    hdr->epoch = tc_get_be32(buf + HDR_OFF_EPOCH);
    hdr->token = tc_get_be64(buf + HDR_OFF_TOKEN);
    return check_hdr(hdr);
}

/**
 * tc_wire_decode - decode one datagram: header, then the body of its type,
 * with every count checked against its limit before the length it implies,
 * then the exact length, then the field rules.
 */
int tc_wire_decode(const uint8_t *buf, size_t len, struct tc_wire_msg *msg)
{
    const uint8_t *b = buf + HDR;
    size_t blen;
    int rc;

    rc = tc_wire_decode_hdr(buf, len, &msg->hdr);
    if (rc != 0)
        return rc;
    blen = len - HDR;
    switch (msg->hdr.type) {
    case TC_WIRE_JOIN:
        return decode_join(b, blen, msg);
    case TC_WIRE_WELCOME:
        return decode_welcome(b, blen, msg);
    case TC_WIRE_REJECT: {
        struct tc_wire_reject_msg *r = &msg->u.reject;

        if (blen != REJ_BODY_LEN || tc_get_be16(b + REJ_OFF_RESERVED) != 0)
            return -EBADMSG;
        r->nonce = tc_get_be64(b + REJ_OFF_NONCE);
        r->reason = tc_get_be16(b + REJ_OFF_REASON);
        r->retry_after_ms = tc_get_be32(b + REJ_OFF_RETRY_MS);
        return check_reject(r);
    }
    case TC_WIRE_DATA:
        return decode_data(b, blen, &msg->u.data);
    case TC_WIRE_REPAIR_REQ:
        return decode_repair_req(b, blen, &msg->u.repair_req);
    case TC_WIRE_REPORT:
        return decode_report(b, blen, &msg->u.report);
    case TC_WIRE_DONE: {
        struct tc_wire_done *d = &msg->u.done;

        if (blen != DONE_BODY_LEN || tc_get_be32(b + DONE_OFF_RESERVED) != 0)
            return -EBADMSG;
        memcpy(d->image_digest, b + DONE_OFF_DIGEST, TC_SHA256_LEN);
        d->chunk_count = tc_get_be32(b + DONE_OFF_CHUNKS);
        if (d->chunk_count == 0 || d->chunk_count > TC_MANIFEST_CHUNKS_MAX)
            return -EBADMSG;
        return 0;
    }
    case TC_WIRE_DONE_ACK:
        if (blen != DACK_BODY_LEN)
            return -EBADMSG;
        memcpy(msg->u.done_ack.image_digest, b + DACK_OFF_DIGEST, TC_SHA256_LEN);
        return 0;
    case TC_WIRE_RELEASE:
        if (blen != REL_BODY_LEN || tc_get_be16(b + REL_OFF_RESERVED) != 0)
            return -EBADMSG;
        msg->u.release.reason = tc_get_be16(b + REL_OFF_REASON);
        if (msg->u.release.reason == 0 || msg->u.release.reason > TC_WIRE_RELEASE_MAX)
            return -EBADMSG;
        return 0;
    case TC_WIRE_HEARTBEAT: {
        struct tc_wire_heartbeat *h = &msg->u.heartbeat;

        if (blen != HB_BODY_LEN || !all_zero(b + HB_OFF_RESERVED, HB_OFF_CHUNKS - HB_OFF_RESERVED))
            return -EBADMSG;
        h->seq = tc_get_be32(b + HB_OFF_SEQ);
        h->state = b[HB_OFF_STATE];
        h->chunks_done = tc_get_be32(b + HB_OFF_CHUNKS);
        h->time_ns = tc_get_be64(b + HB_OFF_TIME);
        h->echo_ns = tc_get_be64(b + HB_OFF_ECHO);
        return check_heartbeat(h);
    }
    case TC_WIRE_REPARENT_REQ: {
        struct tc_wire_reparent_req *r = &msg->u.reparent_req;

        if (blen != RPQ_BODY_LEN || tc_get_be16(b + RPQ_OFF_RESERVED) != 0)
            return -EBADMSG;
        r->parent_index = tc_get_be32(b + RPQ_OFF_PARENT_INDEX);
        r->reason = tc_get_be16(b + RPQ_OFF_REASON);
        r->silence_ms = tc_get_be32(b + RPQ_OFF_SILENCE);
        r->chunks_done = tc_get_be32(b + RPQ_OFF_CHUNKS);
        return check_reparent_req(r);
    }
    case TC_WIRE_REPARENT: {
        struct tc_wire_reparent *r = &msg->u.reparent;

        if (blen != RP_BODY_LEN)
            return -EBADMSG;
        r->generation = tc_get_be32(b + RP_OFF_GENERATION);
        r->parent_index = tc_get_be32(b + RP_OFF_PARENT_INDEX);
        r->parent_addr = tc_get_be32(b + RP_OFF_PARENT_ADDR);
        r->parent_port = tc_get_be16(b + RP_OFF_PARENT_PORT);
        r->depth = tc_get_be16(b + RP_OFF_DEPTH);
        return check_parent(r->parent_index, r->parent_addr, r->parent_port, r->depth);
    }
    case TC_WIRE_CHILDREN:
        return decode_children(b, blen, &msg->u.children);
    case TC_WIRE_LOG:
        return decode_log(b, blen, &msg->u.log);
    case TC_WIRE_ACK:
        return decode_ack(b, blen, &msg->u.ack);
    case TC_WIRE_EPOCH:
        if (blen != EP_BODY_LEN)
            return -EBADMSG;
        msg->u.epoch.prev_epoch = tc_get_be32(b + EP_OFF_PREV);
        msg->u.epoch.rejoin_spread_ms = tc_get_be32(b + EP_OFF_SPREAD);
        return check_epoch(&msg->hdr, &msg->u.epoch);
    default:
        /* check_hdr() refused unknown types */
        assert(0);
        return -EBADMSG;
    }
}

/**
 * body_check_len - check msg's body against the rules of its type and
 * compute the body's length on the wire. Returns the length or a negative
 * errno.
 */
static long body_check_len(const struct tc_wire_msg *m)
{
    const struct tc_wire_hdr *h = &m->hdr;
    int rc;

    switch (h->type) {
    case TC_WIRE_JOIN:
        rc = check_join(h, &m->u.join);
        return rc ? rc : (long)(join_len(m->u.join.nruns) - HDR);
    case TC_WIRE_WELCOME:
        rc = check_welcome(h, &m->u.welcome);
        return rc ? rc : WEL_BODY_LEN;
    case TC_WIRE_REJECT:
        rc = check_reject(&m->u.reject);
        return rc ? rc : REJ_BODY_LEN;
    case TC_WIRE_DATA:
        rc = check_data(&m->u.data);
        if (rc == 0 && m->u.data.payload == NULL)
            rc = -EINVAL;
        return rc ? rc : DATA_OFF_PAYLOAD + m->u.data.len;
    case TC_WIRE_REPAIR_REQ:
        rc = check_repair_req(&m->u.repair_req);
        return rc ? rc : RREQ_OFF_RANGES + RANGE_LEN * (long)m->u.repair_req.nranges;
    case TC_WIRE_REPORT:
        rc = check_report(&m->u.report);
        return rc ? rc : REP_OFF_ENTRIES + REPE_LEN * (long)m->u.report.nentries;
    case TC_WIRE_DONE:
        if (m->u.done.chunk_count == 0 || m->u.done.chunk_count > TC_MANIFEST_CHUNKS_MAX)
            return -EBADMSG;
        return DONE_BODY_LEN;
    case TC_WIRE_DONE_ACK:
        return DACK_BODY_LEN;
    case TC_WIRE_RELEASE:
        if (m->u.release.reason == 0 || m->u.release.reason > TC_WIRE_RELEASE_MAX)
            return -EBADMSG;
        return REL_BODY_LEN;
    case TC_WIRE_HEARTBEAT:
        rc = check_heartbeat(&m->u.heartbeat);
        return rc ? rc : HB_BODY_LEN;
    case TC_WIRE_REPARENT_REQ:
        rc = check_reparent_req(&m->u.reparent_req);
        return rc ? rc : RPQ_BODY_LEN;
    case TC_WIRE_REPARENT:
        rc = check_parent(m->u.reparent.parent_index, m->u.reparent.parent_addr,
                          m->u.reparent.parent_port, m->u.reparent.depth);
        return rc ? rc : RP_BODY_LEN;
    case TC_WIRE_CHILDREN:
        rc = check_children(&m->u.children);
        return rc ? rc : CH_OFF_ENTRIES + CHE_LEN * (long)m->u.children.count;
    case TC_WIRE_LOG:
        rc = check_log(&m->u.log);
        return rc ? rc : LOG_OFF_TEXT + (long)m->u.log.text_len;
    case TC_WIRE_ACK:
        rc = check_ack(&m->u.ack);
        return rc ? rc : ACK_OFF_SACKS + RANGE_LEN * (long)m->u.ack.nsacks;
    case TC_WIRE_EPOCH:
        rc = check_epoch(h, &m->u.epoch);
        return rc ? rc : EP_BODY_LEN;
    default:
        return -EBADMSG;
    }
}

/** encode_body - write msg's body (already checked) into the blen bytes at b. */
static void encode_body(const struct tc_wire_msg *m, uint8_t *b, size_t blen)
{
    unsigned i, k;

    /* every reserved byte and all padding is zero (DATA: not the payload, in place) */
    memset(b, 0, m->hdr.type == TC_WIRE_DATA ? DATA_OFF_PAYLOAD : blen);
    switch (m->hdr.type) {
    case TC_WIRE_JOIN:
        encode_join(&m->u.join, b, blen);
        break;
    case TC_WIRE_WELCOME:
        encode_welcome(&m->u.welcome, b);
        break;
    case TC_WIRE_REJECT:
        tc_put_be64(b + REJ_OFF_NONCE, m->u.reject.nonce);
        tc_put_be16(b + REJ_OFF_REASON, m->u.reject.reason);
        tc_put_be32(b + REJ_OFF_RETRY_MS, m->u.reject.retry_after_ms);
        break;
    case TC_WIRE_DATA: {
        const struct tc_wire_data *d = &m->u.data;

        b[DATA_OFF_OBJECT] = d->object;
        tc_put_be16(b + DATA_OFF_LEN, d->len);
        tc_put_be32(b + DATA_OFF_INDEX, d->index);
        tc_put_be32(b + DATA_OFF_OFFSET, d->offset);
        break;
    }
    case TC_WIRE_REPAIR_REQ: {
        const struct tc_wire_repair_req *r = &m->u.repair_req;

        b[RREQ_OFF_OBJECT] = r->object;
        tc_put_be16(b + RREQ_OFF_NRANGES, r->nranges);
        tc_put_be32(b + RREQ_OFF_INDEX, r->index);
        for (i = 0; i < r->nranges; i++) {
            tc_put_be32(b + RREQ_OFF_RANGES + RANGE_LEN * i, r->ranges[i].offset);
            tc_put_be32(b + RREQ_OFF_RANGES + RANGE_LEN * i + 4, r->ranges[i].len);
        }
        break;
    }
    case TC_WIRE_REPORT: {
        const struct tc_wire_report *r = &m->u.report;

        tc_put_be32(b + REP_OFF_SEQ, r->seq);
        tc_put_be16(b + REP_OFF_NODES, r->subtree_nodes);
        tc_put_be16(b + REP_OFF_DONE, r->subtree_done);
        tc_put_be32(b + REP_OFF_BACKLOG, r->backlog_max);
        for (i = 0; i < TC_WIRE_LOSS_HIST; i++)
            tc_put_be16(b + REP_OFF_LOSS_HIST + 2 * i, r->loss_hist[i]);
        tc_put_be16(b + REP_OFF_NENTRIES, r->nentries);
        for (i = 0; i < r->nentries; i++) {
            uint8_t *e = b + REP_OFF_ENTRIES + REPE_LEN * i;

            e[REPE_OFF_OBJECT] = r->entries[i].object;
            tc_put_be16(e + REPE_OFF_MAX_MISSING, r->entries[i].max_missing);
            tc_put_be32(e + REPE_OFF_INDEX, r->entries[i].index);
            for (k = 0; k < TC_WIRE_REPORT_HIST; k++)
                tc_put_be16(e + REPE_OFF_HIST + 2 * k, r->entries[i].hist[k]);
        }
        break;
    }
    case TC_WIRE_DONE:
        memcpy(b + DONE_OFF_DIGEST, m->u.done.image_digest, TC_SHA256_LEN);
        tc_put_be32(b + DONE_OFF_CHUNKS, m->u.done.chunk_count);
        break;
    case TC_WIRE_DONE_ACK:
        memcpy(b + DACK_OFF_DIGEST, m->u.done_ack.image_digest, TC_SHA256_LEN);
        break;
    case TC_WIRE_RELEASE:
        tc_put_be16(b + REL_OFF_REASON, m->u.release.reason);
        break;
    case TC_WIRE_HEARTBEAT:
        tc_put_be32(b + HB_OFF_SEQ, m->u.heartbeat.seq);
        b[HB_OFF_STATE] = m->u.heartbeat.state;
        tc_put_be32(b + HB_OFF_CHUNKS, m->u.heartbeat.chunks_done);
        tc_put_be64(b + HB_OFF_TIME, m->u.heartbeat.time_ns);
        tc_put_be64(b + HB_OFF_ECHO, m->u.heartbeat.echo_ns);
        break;
    case TC_WIRE_REPARENT_REQ:
        tc_put_be32(b + RPQ_OFF_PARENT_INDEX, m->u.reparent_req.parent_index);
        tc_put_be16(b + RPQ_OFF_REASON, m->u.reparent_req.reason);
        tc_put_be32(b + RPQ_OFF_SILENCE, m->u.reparent_req.silence_ms);
        tc_put_be32(b + RPQ_OFF_CHUNKS, m->u.reparent_req.chunks_done);
        break;
    case TC_WIRE_REPARENT:
        tc_put_be32(b + RP_OFF_GENERATION, m->u.reparent.generation);
        tc_put_be32(b + RP_OFF_PARENT_INDEX, m->u.reparent.parent_index);
        tc_put_be32(b + RP_OFF_PARENT_ADDR, m->u.reparent.parent_addr);
        tc_put_be16(b + RP_OFF_PARENT_PORT, m->u.reparent.parent_port);
        tc_put_be16(b + RP_OFF_DEPTH, m->u.reparent.depth);
        break;
    case TC_WIRE_CHILDREN: {
        const struct tc_wire_children *c = &m->u.children;

        tc_put_be32(b + CH_OFF_GENERATION, c->generation);
        tc_put_be16(b + CH_OFF_COUNT, c->count);
        for (i = 0; i < c->count; i++) {
            uint8_t *e = b + CH_OFF_ENTRIES + CHE_LEN * i;

            tc_put_be32(e + CHE_OFF_INDEX, c->children[i].node_index);
            tc_put_be32(e + CHE_OFF_ADDR, c->children[i].addr);
            tc_put_be16(e + CHE_OFF_PORT, c->children[i].port);
            tc_put_be16(e + CHE_OFF_FLAGS, c->children[i].flags);
            tc_put_be64(e + CHE_OFF_TOKEN, c->children[i].token);
        }
        break;
    }
    case TC_WIRE_LOG:
        tc_put_be32(b + LOG_OFF_SEQ, m->u.log.seq);
        b[LOG_OFF_LEVEL] = m->u.log.level;
        tc_put_be16(b + LOG_OFF_TEXT_LEN, m->u.log.text_len);
        memcpy(b + LOG_OFF_TEXT, m->u.log.text, m->u.log.text_len);
        break;
    case TC_WIRE_ACK: {
        const struct tc_wire_ack *a = &m->u.ack;

        b[ACK_OFF_OBJECT] = a->object;
        b[ACK_OFF_NSACKS] = a->nsacks;
        tc_put_be32(b + ACK_OFF_INDEX, a->index);
        tc_put_be32(b + ACK_OFF_CUM, a->cum_offset);
        tc_put_be32(b + ACK_OFF_WINDOW, a->window);
        for (i = 0; i < a->nsacks; i++) {
            tc_put_be32(b + ACK_OFF_SACKS + RANGE_LEN * i, a->sacks[i].offset);
            tc_put_be32(b + ACK_OFF_SACKS + RANGE_LEN * i + 4, a->sacks[i].len);
        }
        break;
    }
    case TC_WIRE_EPOCH:
        tc_put_be32(b + EP_OFF_PREV, m->u.epoch.prev_epoch);
        tc_put_be32(b + EP_OFF_SPREAD, m->u.epoch.rejoin_spread_ms);
        break;
    default:
        assert(0);
    }
}

/**
 * tc_wire_encode - check msg with the decoder's rules, then write header and
 * body. Nothing is written unless the whole datagram fits in cap. For DATA,
 * the payload is moved (memmove) to buf + 40 before anything else is
 * written, so a caller may read a block straight into buf + 40 and encode
 * in place.
 */
int tc_wire_encode(const struct tc_wire_msg *msg, uint8_t *buf, size_t cap)
{
    long blen;
    int rc;

    rc = check_hdr(&msg->hdr);
    if (rc != 0)
        return rc;
    blen = body_check_len(msg);
    if (blen < 0)
        return (int)blen;
    if ((size_t)blen + HDR > cap)
        return -ENOBUFS;
    /* the payload first: it may already sit in buf, even where the header goes */
    if (msg->hdr.type == TC_WIRE_DATA)
        memmove(buf + HDR + DATA_OFF_PAYLOAD, msg->u.data.payload, msg->u.data.len);
    tc_put_be32(buf + HDR_OFF_MAGIC, TC_WIRE_MAGIC);
    buf[HDR_OFF_VERSION] = TC_WIRE_VERSION;
    buf[HDR_OFF_TYPE] = msg->hdr.type;
    tc_put_be16(buf + HDR_OFF_FLAGS, msg->hdr.flags);
    tc_put_be64(buf + HDR_OFF_SESSION, msg->hdr.session_id);
    tc_put_be32(buf + HDR_OFF_EPOCH, msg->hdr.epoch);
    tc_put_be64(buf + HDR_OFF_TOKEN, msg->hdr.token);
    encode_body(msg, buf + HDR, (size_t)blen);
    return (int)(HDR + blen);
}

/**
 * tc_wire_data_payload_max - bytes of block payload one datagram carries at
 * this MTU: mtu - 20 (IPv4) - 8 (UDP) - 28 (header) - 12 (DATA header).
 */
size_t tc_wire_data_payload_max(unsigned mtu)
{
    if (mtu < TC_WIRE_MTU_MIN || mtu > TC_WIRE_MTU_MAX)
        return 0;
    return mtu - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN - HDR - DATA_OFF_PAYLOAD;
}

/**
 * tc_wire_block_len - a full block at this MTU: as many whole segments as
 * fit, so that every segment of a block can be checked on arrival.
 */
size_t tc_wire_block_len(unsigned mtu, unsigned seg_size)
{
    size_t max = tc_wire_data_payload_max(mtu);

    if (seg_size < TC_WIRE_SEG_SIZE_MIN || seg_size > TC_WIRE_SEG_SIZE_MAX)
        return 0;
    return max / seg_size * seg_size;
}

/**
 * tc_wire_escape - make untrusted bytes safe to show on a terminal, in a log
 * file, a JSON string or an HTML page (after the usual HTML escaping of
 * '<', '>' and '&', which the output may still contain).
 */
size_t tc_wire_escape(char *out, size_t cap, const uint8_t *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    assert(cap >= 1);
    for (i = 0; i < len; i++) {
        uint8_t c = text[i];
        char esc[4];
        size_t n;

        if (c == '\\' || c == '"') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
        } else if (c >= 0x20 && c < 0x7f) {
            esc[0] = (char)c;
            n = 1;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 15];
            n = 4;
        }
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = '\0';
    return o;
}
