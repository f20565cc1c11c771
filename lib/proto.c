// SPDX-License-Identifier: MIT
/*
 * What the seeder and agent cores share: the default named limits and the
 * object geometry of docs/protocol.md sections 2 and 6.
 */
#include "treecast/proto.h"

#include <string.h>

#include "treecast/crypto.h"

/**
 * tc_proto_limits_default - the defaults of docs/protocol.md section 6.6.
 * They assume a LAN (round trips well under a millisecond); every one is a
 * named field so that a WAN deployment can stretch them.
 */
void tc_proto_limits_default(struct tc_proto_limits *l)
{
    memset(l, 0, sizeof(*l));
    l->join_backoff_min_ns = 100ull * 1000 * 1000;
    l->join_backoff_max_ns = 5ull * 1000 * 1000 * 1000;
    l->join_spread_ns = 50ull * 1000 * 1000;
    l->repair_delay_ns = 2ull * 1000 * 1000;
    l->repair_retry_ns = 20ull * 1000 * 1000;
    l->repair_fallback_tries = 4;
    l->idle_repair_ns = 200ull * 1000 * 1000;
    l->done_retry_ns = 20ull * 1000 * 1000;
    l->linger_max_ns = 60ull * 1000 * 1000 * 1000;
    l->heartbeat_ms = 250;
    l->report_ms = 100;
    l->remcast_gather_ns = 500ull * 1000;
    l->remcast_suppress_ns = 5ull * 1000 * 1000;
    l->admit_per_s = 2000;
    l->admit_burst = 1024;
    l->pace_burst_bytes = 256ull * 1024;
    l->parent_timeout_ns = 1000ull * 1000 * 1000;
    l->node_timeout_ns = 2000ull * 1000 * 1000;
    l->seeder_timeout_ns = 120ull * 1000 * 1000 * 1000;
    l->rejoin_spread_ms = 500;
}

/** tc_proto_pos_of - sequence position of (object, index) (proto.h). */
uint32_t tc_proto_pos_of(uint8_t object, uint32_t index)
{
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        return 0;
    case TC_WIRE_OBJ_SIGBLOCK:
        return 1;
    case TC_WIRE_OBJ_MANIFEST:
        return 2;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        return index < TC_MANIFEST_CHUNKS_MAX ? TC_PROTO_POS_CHUNKS + 2 * index : UINT32_MAX;
    case TC_WIRE_OBJ_CHUNK:
        return index < TC_MANIFEST_CHUNKS_MAX ? TC_PROTO_POS_CHUNKS + 2 * index + 1 : UINT32_MAX;
    default:
        return UINT32_MAX;
    }
}

/** tc_proto_obj_at - object and index at sequence position pos (proto.h). */
void tc_proto_obj_at(uint32_t pos, uint8_t *object, uint32_t *index)
{
    static const uint8_t first[TC_PROTO_POS_CHUNKS] = {TC_WIRE_OBJ_MANIFEST_HASHES,
                                                       TC_WIRE_OBJ_SIGBLOCK, TC_WIRE_OBJ_MANIFEST};

    if (pos < TC_PROTO_POS_CHUNKS) {
        *object = first[pos];
        *index = 0;
        return;
    }
    *index = (pos - TC_PROTO_POS_CHUNKS) / 2;
    *object = (pos - TC_PROTO_POS_CHUNKS) % 2 ? TC_WIRE_OBJ_CHUNK : TC_WIRE_OBJ_CHUNK_HASHES;
}

/** tc_proto_nsegs - segments of an object of len bytes (0 when len is 0). */
uint32_t tc_proto_nsegs(uint64_t len, uint32_t seg_size)
{
    if (seg_size == 0)
        return 0;
    return (uint32_t)((len + seg_size - 1) / seg_size);
}

/**
 * tc_proto_hash_list - the segment hash list of buf: the first
 * TC_WIRE_SEG_HASH_LEN bytes of each segment's SHA-256, in order.
 */
void tc_proto_hash_list(const struct tc_chunk_ops *ops, const uint8_t *buf, size_t len,
                        uint32_t seg_size, uint8_t *out)
{
    uint8_t h[TC_SHA256_LEN];
    size_t off;

    if (ops == NULL)
        ops = &tc_chunk_ops_default;
    for (off = 0; off < len; off += seg_size) {
        size_t n = len - off < seg_size ? len - off : seg_size;

        ops->hash(buf + off, n, h);
        memcpy(out, h, TC_WIRE_SEG_HASH_LEN);
        out += TC_WIRE_SEG_HASH_LEN;
    }
}

/** tc_proto_block_len - a full block: whole segments filling one DATA datagram. */
uint32_t tc_proto_block_len(unsigned mtu, unsigned seg_size)
{
    return (uint32_t)tc_wire_block_len(mtu, seg_size);
}
