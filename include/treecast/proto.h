/* SPDX-License-Identifier: MIT */
/*
 * What the seeder core (seeder.h) and the agent core (agent.h) share: peer
 * addresses, outgoing datagrams, the batched block interface of the
 * simulator, object geometry (segments, blocks) and the named limits of the
 * protocol's timing. No system calls (lib/). The behaviour is specified in
 * docs/protocol.md section 6.
 */
#ifndef TREECAST_PROTO_H
#define TREECAST_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/chunk.h"
#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/wire.h"

/** Bytes a datagram costs on Ethernet beyond its UDP payload: IPv4 20 + UDP 8
 * + Ethernet header 14, FCS 4, preamble and inter-frame gap 20. Pacing and
 * the floor charge this (the simulator charges the same, simnet.h). */
#define TC_PROTO_WIRE_OVERHEAD 66u

/** The UDP port of a session when none is configured: the seeder's control
 * port, the multicast group's port and the agents' own port. */
#define TC_PROTO_PORT_DEFAULT 4711u
/** The multicast group when none is configured (239.77.0.1, in the
 * administratively scoped 239.0.0.0/8), host order. */
#define TC_PROTO_GROUP_DEFAULT 0xEF4D0001u

/** A time meaning "never" (no deadline), ns. */
#define TC_PROTO_NEVER UINT64_MAX

/** Log levels of the cores' log hook (syslog numbering). */
enum tc_proto_log {
    TC_PROTO_LOG_ERR = 3,
    TC_PROTO_LOG_WARN = 4,
    TC_PROTO_LOG_NOTICE = 5,
    TC_PROTO_LOG_INFO = 6,
    TC_PROTO_LOG_DEBUG = 7,
};

/** A UDP endpoint: IPv4 address and port, host byte order. In the simulator
 * the address is the node number (seeder 0) and the port is 0; a multicast
 * group is an address in 224.0.0.0/4. */
struct tc_proto_peer {
    uint32_t addr; /**< IPv4 address (host order) */
    uint16_t port; /**< UDP port */
};

/** One outgoing datagram. The core owns buf: it is valid during the send
 * call only (the sender copies or transmits it before returning). */
struct tc_proto_dgram {
    struct tc_proto_peer to; /**< destination (unicast or the group) */
    const uint8_t *buf;      /**< encoded datagram (tc_wire_encode()) */
    size_t len;              /**< its length, bytes */
};

/**
 * A run of DATA blocks of one object, as a batch (the simulator's trains).
 * Blocks j = 0..nblocks-1 cover [offset + j * block_len, ...), each
 * block_len bytes except that the last ends at offset + total_len. Used in
 * both directions: a core hands one to its send_blocks op instead of
 * encoding nblocks DATA datagrams; tc_agent_on_blocks() receives one with
 * the bitmap of the blocks that arrived.
 */
struct tc_proto_blocks {
    struct tc_proto_peer peer; /**< send: destination; receive: claimed source */
    uint64_t session_id;       /**< header fields the datagrams would carry */
    uint32_t epoch;            /**< ... */
    uint64_t token;            /**< 0 for multicast; the child's token when unicast */
    int unicast;               /**< TC_WIRE_DATA_F_UNICAST would be set */
    uint8_t object;            /**< enum tc_wire_obj */
    uint32_t index;            /**< chunk index (CHUNK, CHUNK_HASHES), else 0 */
    uint32_t offset;           /**< byte offset of block 0 in the object */
    uint32_t block_len;        /**< bytes per block (a multiple of seg_size) */
    uint32_t nblocks;          /**< blocks, 1..TC_PROTO_TRAIN_BLOCKS_MAX */
    uint32_t total_len;        /**< bytes covered by all nblocks blocks */
    const uint8_t *payload;    /**< total_len bytes (not owned; NULL when dataless) */
    const uint64_t *bitmap;    /**< receive only: bit j = block j arrived */
};

/** Most blocks in one batch, blocks (= the simulator's train limit). */
#define TC_PROTO_TRAIN_BLOCKS_MAX 4096u

/**
 * Named timing limits shared by both cores. Every field has a unit in its
 * name; tc_proto_limits_default() fills the defaults documented in
 * docs/protocol.md section 6.6.
 */
struct tc_proto_limits {
    uint64_t join_backoff_min_ns;   /**< first JOIN retry delay */
    uint64_t join_backoff_max_ns;   /**< cap of the doubling JOIN retry delay */
    uint64_t join_spread_ns;        /**< first JOIN at a uniform time in [0, this) */
    uint64_t repair_delay_ns;       /**< quiet time after a chunk's last block before asking */
    uint64_t repair_retry_ns;       /**< re-ask for blocks still missing after this */
    uint32_t repair_fallback_tries; /**< unanswered requests before asking the seeder */
    uint64_t idle_repair_ns;        /**< no multicast for this long: fetch all that is missing */
    uint64_t done_retry_ns;         /**< re-send DONE until DONE_ACK */
    uint64_t linger_max_ns;         /**< after DONE_ACK, serve children at most this long */
    uint32_t heartbeat_ms;          /**< HEARTBEAT interval (WELCOME.heartbeat_ms) */
    uint32_t report_ms;             /**< REPORT interval (WELCOME.report_ms) */
    uint64_t remcast_gather_ns;     /**< seeder gathers repair requests this long */
    uint64_t remcast_suppress_ns;   /**< the seeder re-multicasts one segment once per this */
    uint32_t admit_per_s;           /**< seeder: JOINs admitted per second */
    uint32_t admit_burst;           /**< seeder: admission bucket depth, JOINs */
    uint64_t pace_burst_bytes;      /**< seeder: most wire bytes sent back to back */
    uint64_t parent_timeout_ns;     /**< agent: parent silent this long: REPARENT_REQ */
    uint64_t node_timeout_ns;       /**< seeder: node silent this long: dead, out of the tree */
    uint64_t seeder_timeout_ns;     /**< agent: nothing from the seeder this long: FAILED */
    uint32_t rejoin_spread_ms;      /**< EPOCH: re-JOIN at a uniform time within this */
};

void tc_proto_limits_default(struct tc_proto_limits *l);

/*
 * The order of the objects of a session (a stream's sequence positions,
 * stream.h): 0 MANIFEST_HASHES, 1 SIGBLOCK, 2 MANIFEST, then for each chunk
 * i: 3 + 2i its CHUNK_HASHES, 4 + 2i the CHUNK.
 */
#define TC_PROTO_POS_CHUNKS 3u

/** The sequence position of (object, index); UINT32_MAX for an unknown object. */
uint32_t tc_proto_pos_of(uint8_t object, uint32_t index);
/** The object and index at sequence position pos (any pos). */
void tc_proto_obj_at(uint32_t pos, uint8_t *object, uint32_t *index);

/** Segments of an object of len bytes: ceil(len / seg_size) (0 for len 0). */
uint32_t tc_proto_nsegs(uint64_t len, uint32_t seg_size);

/**
 * The segment hash list of buf (docs/protocol.md section 2): for each
 * seg_size piece, the first TC_WIRE_SEG_HASH_LEN bytes of its SHA-256,
 * computed with ops->hash (NULL: tc_chunk_ops_default). out holds
 * tc_proto_nsegs(len) * 16 bytes.
 */
void tc_proto_hash_list(const struct tc_chunk_ops *ops, const uint8_t *buf, size_t len,
                        uint32_t seg_size, uint8_t *out);

/** Largest DATA block of an object at this MTU and seg_size: a whole number
 * of segments (tc_wire_block_len()). */
uint32_t tc_proto_block_len(unsigned mtu, unsigned seg_size);

#endif /* TREECAST_PROTO_H */
