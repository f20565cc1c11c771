/* SPDX-License-Identifier: MIT */
/*
 * The agent's protocol core (sans I/O): JOIN with backoff, the manifest and
 * chunks received by multicast and repaired from the tree parent, per-segment
 * integrity, a bounded block cache, serving its own children, reports,
 * FINISHING (first chunk last, durable), DONE until DONE_ACK, linger until
 * RELEASE. Behaviour: docs/protocol.md section 6. Time is ns on the caller's
 * monotonic clock; randomness comes from ops->random (the same inputs and
 * random values give the same outputs). The core never calls back into
 * itself from an op. It allocates in tc_agent_new() (cache slots, write
 * buffers, the chunk-0 and read-back buffers) and twice more per session,
 * never per packet: the manifest objects when the WELCOME gives their
 * lengths (up to TC_MANIFEST_LEN_MAX, too much to reserve up front), and the
 * per-chunk state arrays when the manifest is accepted. Dataless agents hold
 * no byte buffers at all.
 *
 * Completion ops (write, sync, read) must not complete from inside the op:
 * the caller reports each completion later with tc_agent_on_written(),
 * tc_agent_on_durable() or tc_agent_on_read() and the op's cookie.
 */
#ifndef TREECAST_AGENT_H
#define TREECAST_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/chunk.h"
#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"

/** Chunk slots of the block cache, at most (each holds one chunk's stored
 * bytes and segment bitmap: being received, or complete and kept to serve
 * children). */
#define TC_AGENT_CACHE_MAX 256u
/** Default cache slots. */
#define TC_AGENT_CACHE_DEFAULT 16u
/** Raw chunk buffers handed to the disk at once, at most. */
#define TC_AGENT_WRITES_MAX 64u
/** Default raw buffers in flight to the disk. */
#define TC_AGENT_WRITES_DEFAULT 4u

/** An object's unsent tail is asked for at the latest this many
 * repair_retry_ns (plus idle_repair_ns) after its first block (a forger's
 * blocks of it would otherwise keep its multicast looking alive). */
#define TC_AGENT_TAIL_WAIT_RETRIES 8u
/** ... plus this many times the time the objects take to multicast at the
 * session rate (at 50 Mbit/s a 1 MiB chunk takes 170 ms: a fixed wait would
 * ask for tails that are still on their way). */
#define TC_AGENT_TAIL_WAIT_SENDS 2u
/** A unit's multicast counts as quiet (its tail is asked for) after
 * idle_repair_ns or the time this many pacing buckets (pace_burst_bytes)
 * take at the session rate, whichever is longer: the seeder may send a
 * whole bucket back to back after a late wake-up, and its repairs and
 * re-multicasts share the same pacer. (A block of a later object asks for
 * the tail at once; the quiet only matters when the multicast stops.) */
#define TC_AGENT_TAIL_QUIET_BURSTS 2u
/** Before the first multicast block, idle means idle_repair_ns times this. */
#define TC_AGENT_IDLE_START_FACTOR 25u
/** Whole chunks the multicast has not passed are fetched only after
 * idle_repair_ns times this without multicast (the round is over, or our
 * join was lost): on a loaded host delivery can stall for 200 ms while the
 * seeder keeps sending, and fetching ahead of the multicast then sends
 * those chunks twice. Tails of the chunks being received are asked for
 * after idle_repair_ns already. */
#define TC_AGENT_IDLE_FETCH_FACTOR 5u

/** A parent asked for repairs and silent for this many repair_retry_ns is
 * quiet: every repair goes to the seeder until it speaks again. */
#define TC_AGENT_QUIET_RETRIES 3u
/** Children streamed to at once (stream.h: tree-only children, catching-up
 * stragglers); more STREAM children on a list are not served. */
#define TC_AGENT_STREAMS_MAX 4u
/** Multicast loss is measured per report interval over at least this many
 * expected blocks (fewer: no sample), blocks. */
#define TC_AGENT_LOSS_MIN_BLOCKS 32u
/** A node's loss baseline is the least loss of this many recent samples. */
#define TC_AGENT_BASELINE_SAMPLES 16u
/** Straggler: excess loss in this REPORT loss bucket or above (6 = 10 %) ... */
#define TC_AGENT_BEHIND_LOSS_BUCKET 6u
/** ... for this many consecutive samples: ask the seeder to make us a
 * catching-up leaf. */
#define TC_AGENT_BEHIND_SAMPLES 5u

struct tc_agent;

enum tc_agent_state {
    TC_AGENT_JOINING = 1,   /**< sending JOIN, waiting for WELCOME */
    TC_AGENT_MANIFEST = 2,  /**< receiving and checking the manifest */
    TC_AGENT_RECEIVING = 3, /**< receiving, verifying, writing chunks */
    TC_AGENT_FINISHING = 4, /**< all chunks verified: first chunk written last, syncs */
    TC_AGENT_DONE = 5,      /**< DONE sent, waiting for DONE_ACK */
    TC_AGENT_LINGER = 6,    /**< DONE acknowledged: serving children until RELEASE */
    TC_AGENT_RELEASED = 7,  /**< finished: the caller may hand off */
    TC_AGENT_FAILED = 8,    /**< stopped with an error (tc_agent_error()); never hand off */
};

/** What the agent needs from its environment. Buffers passed to write and
 * read stay owned by the core, which does not touch them until the
 * matching tc_agent_on_written() / tc_agent_on_read() call. */
struct tc_agent_ops {
    /** Send n datagrams (core-owned buffers, valid during the call).
     * Returns the number accepted or a negative errno. */
    int (*send)(void *ctx, const struct tc_proto_dgram *d, size_t n);
    /** Optional (NULL: encode and send): a run of unicast DATA blocks to a
     * child as one batch. */
    int (*send_blocks)(void *ctx, const struct tc_proto_blocks *b);
    /** Join (join = 1) or leave the multicast group. */
    int (*group)(void *ctx, int join, struct tc_proto_peer group);
    /** Write len verified raw bytes at byte offset off of the target
     * (chunk index for the caller's bookkeeping). buf NULL: zeros (a ZERO
     * chunk, or any chunk when dataless). Completion: tc_agent_on_written()
     * with the cookie. */
    int (*write)(void *ctx, uint32_t chunk, uint64_t off, const uint8_t *buf, size_t len,
                 uint64_t cookie);
    /** Make everything written so far durable; tc_agent_on_durable(). */
    int (*sync)(void *ctx, uint64_t cookie);
    /** Read len bytes at off back from the target into buf (repairs of
     * chunks no longer cached); tc_agent_on_read(). May be NULL. */
    int (*read)(void *ctx, uint64_t off, uint8_t *buf, size_t len, uint64_t cookie);
    /** Accept the manifest: parse it and check its signature block against
     * the trust policy and the clock. The core has already checked the
     * bytes against the WELCOME digests and segment hashes. On success
     * *out is a parsed manifest that outlives the agent (shared, read-only;
     * the caller frees it). On failure fill err (it names key id, expiry...). */
    int (*manifest_accept)(void *ctx, const uint8_t *man, size_t man_len, const uint8_t *sig,
                           size_t sig_len, const struct tc_manifest **out, struct tc_err *err);
    /** 64 random bits (nonces, jitter). */
    uint64_t (*random)(void *ctx);
    /** A log line (NUL-terminated). */
    void (*log)(void *ctx, int level, const char *msg);
};

/** Agent configuration (copied; pointers must outlive tc_agent_new()). */
struct tc_agent_cfg {
    uint8_t node_id[6];                   /**< MAC */
    const char *image;                    /**< wanted image name */
    const char *min_version;              /**< or NULL */
    const uint8_t *pin;                   /**< image digest to insist on, or NULL */
    uint64_t disk_size;                   /**< target size, bytes */
    uint16_t mtu;                         /**< link MTU */
    struct tc_proto_peer seeder;          /**< the seeder's control address */
    struct tc_proto_peer self;            /**< our own address (CHILDREN lists name it) */
    const uint8_t *held;                  /**< resume: bitmap of chunks verified on the target,
                                               or NULL */
    uint32_t held_chunks;                 /**< chunks the bitmap covers */
    uint32_t cache_slots;                 /**< 2..TC_AGENT_CACHE_MAX (0: default) */
    uint32_t writes_max;                  /**< 1..TC_AGENT_WRITES_MAX (0: default) */
    uint32_t chunk_size_max;              /**< largest chunk accepted, raw bytes (buffers
                                               are sized at init), <= TC_CHUNK_SIZE_WIRE_MAX */
    int dataless;                         /**< simulator at scale: no bytes, no checks */
    const struct tc_chunk_ops *chunk_ops; /**< hashing and inflate (NULL:
                                             tc_chunk_ops_no_adler) */
    struct tc_proto_limits limits;        /**< named limits (tc_proto_limits_default()) */
};

/** Counters. */
struct tc_agent_stats {
    uint64_t rx_dgrams;        /**< datagrams handed in */
    uint64_t rx_bad;           /**< refused by the codec */
    uint64_t rx_forged;        /**< wrong session, epoch, token or address: dropped */
    uint64_t rx_unknown;       /**< of our session, from an address that is not (yet) a
                                    child's: dropped (the seeder's WELCOME or REPARENT can
                                    name us as a node's parent before our CHILDREN list
                                    arrives); a child's address with a wrong token is
                                    forged */
    uint64_t blocks_rx;        /**< DATA blocks received (multicast and unicast) */
    uint64_t blocks_dup;       /**< ... of which held already */
    uint64_t segs_bad;         /**< segments refused by their hash */
    uint64_t objects_bad;      /**< whole objects refused (hash list, sigblock, stored or
                                    raw hash): dropped and fetched again from the parent */
    uint64_t blocks_dropped;   /**< blocks dropped for want of a cache slot or manifest, or
                                    multicast DATA reaching a streamed node */
    uint64_t slots_evicted;    /**< receiving slots given back unchecked (forged blocks) */
    uint64_t repair_reqs;      /**< REPAIR_REQs sent */
    uint64_t repair_blocks_rx; /**< unicast DATA blocks received */
    uint64_t served_blocks;    /**< DATA blocks unicast to our children */
    uint64_t served_bytes;     /**< their payload bytes */
    uint64_t readbacks;        /**< chunks read back from the target to serve a child */
    uint64_t reports_tx;       /**< REPORTs sent */
    uint64_t chunks_written;   /**< chunk writes completed */
    uint32_t chunks_done;      /**< chunks verified and written (or held at start) */
    uint32_t chunk_count;      /**< chunks in the image (0 until the manifest) */
    uint64_t done_ns;          /**< DONE_ACK received, 0 if not */
    uint64_t reparent_reqs;    /**< REPARENT_REQs sent (silent parent, behind) */
    uint64_t rejoins;          /**< re-JOINs after an EPOCH (seeder restart) */
    uint64_t acks_tx;          /**< stream ACKs sent */
    uint64_t stream_bytes;     /**< payload bytes streamed to children */
    uint32_t behind;           /**< 1 once demoted to a catching-up leaf */
    uint32_t loss_ppm;         /**< last multicast loss sample, parts per million */
};

/** Create an agent in JOINING (first JOIN at a random time within
 * join_spread_ns). cfg is checked (err names the bad field) and copied,
 * held bitmap included; ops and ctx must outlive the agent. */
int tc_agent_new(struct tc_agent **out, const struct tc_agent_cfg *cfg,
                 const struct tc_agent_ops *ops, void *ctx, uint64_t now, struct tc_err *err);
/** Free the agent (NULL allowed). The manifest from manifest_accept is the
 * caller's. */
void tc_agent_free(struct tc_agent *a);

/** A datagram arrived from `from` (unicast or the group). buf is borrowed.
 * Bad or forged input is counted and dropped: returns 0, or a negative
 * errno only when the agent failed (state FAILED). */
int tc_agent_on_packet(struct tc_agent *a, uint64_t now, struct tc_proto_peer from,
                       const uint8_t *buf, size_t len);

/** A batch of DATA blocks arrived (the simulator's batched entry point):
 * exactly as if each block with its bit set had arrived as a DATA datagram
 * with rx's header fields. */
int tc_agent_on_blocks(struct tc_agent *a, uint64_t now, const struct tc_proto_blocks *rx);

/** Run what is due at now (JOIN, heartbeats, reports, repair requests,
 * whole-chunk fetches, DONE, the linger limit). 0, or the error once
 * FAILED. */
int tc_agent_on_timer(struct tc_agent *a, uint64_t now);
/** The write with this cookie completed; rc < 0 fails the agent (the
 * message names the chunk and the error). Unknown cookies are ignored. */
int tc_agent_on_written(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc);
/** The sync with this cookie completed (FINISHING: write chunk 0, or DONE). */
int tc_agent_on_durable(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc);
/** The read-back with this cookie completed: the core checks the bytes
 * against the manifest before serving them to its children. */
int tc_agent_on_read(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc);

/** Absolute time of the next tc_agent_on_timer() call wanted, or
 * TC_PROTO_NEVER (always after FAILED and RELEASED). */
uint64_t tc_agent_next_deadline(const struct tc_agent *a);
enum tc_agent_state tc_agent_state(const struct tc_agent *a);
/** The error that stopped the agent (rc 0 unless FAILED). */
const struct tc_err *tc_agent_error(const struct tc_agent *a);
const struct tc_agent_stats *tc_agent_stats(const struct tc_agent *a);
/** Name of a state ("receiving"). */
const char *tc_agent_state_name(enum tc_agent_state st);

#endif /* TREECAST_AGENT_H */
