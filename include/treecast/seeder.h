/* SPDX-License-Identifier: MIT */
/*
 * The seeder's protocol core (sans I/O): admission, the repair tree, paced
 * multicast rounds, repair of its direct children, report aggregation,
 * re-multicast of correlated losses, DONE / DONE_ACK / RELEASE.
 * Behaviour: docs/protocol.md section 6. Time is ns on the caller's
 * monotonic clock; randomness comes from ops->random. The core never calls
 * back into itself from an op, and allocates only in tc_seeder_new().
 */
#ifndef TREECAST_SEEDER_H
#define TREECAST_SEEDER_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/chunk.h"
#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"

/** Most nodes one seeder serves (node indices 0..nodes_max-1). */
#define TC_SEEDER_NODES_MAX TC_WIRE_NODES_MAX

/** Share of the multicast rate that unicast repair may use, per mille: the
 * rest always goes to the rounds, so a repair storm cannot stall them. */
#define TC_SEEDER_REPAIR_SHARE_PERMILLE 250u
/** Depth of the repair budget, in pacing wake-ups of two wake sizes each
 * (TC_SEEDER_PACE_WAKE_BYTES; at most half of pace_burst_bytes). */
#define TC_SEEDER_REPAIR_BURSTS 4
/** The pacer wakes when this many wire bytes are affordable (or half the
 * bucket, if smaller) and sends what the bucket holds: batches of this size
 * at the rate. The bucket itself (pace_burst_bytes) is deeper, so that a
 * wake-up delayed by a busy machine is made up for, not lost: with a
 * 64 KiB bucket the seeder kept 45.6 of 49 Mbit/s next to 8 busy agents. */
#define TC_SEEDER_PACE_WAKE_BYTES (32u * 1024)

/** Fewest nodes missing an object for the seeder to put it back into the
 * round (and at least half of the nodes in the tree). */
#define TC_SEEDER_FORCE_NODES_MIN 2u

/** Pause after the manifest objects before the first chunk of a round, ns:
 * time for nodes to repair the manifest (a few repair delays and round trips
 * on a LAN); a node without the manifest drops the chunk blocks it gets. */
#define TC_SEEDER_MANIFEST_SETTLE_NS (100ull * 1000 * 1000)

/** Recently re-multicast ranges remembered for suppression, entries. */
#define TC_SEEDER_REMCAST_MAX 256u

/** Datagrams handed to ops->send in one call, at most (buffers allocated at
 * init), datagrams. */
#define TC_SEEDER_BATCH_MAX 64u

/** Repair requests gathered for re-multicast, at most, per unit of fan-out
 * (the table holds this x fanout requests; when it is full a request is
 * served at once, unicast), requests. */
#define TC_SEEDER_GATHER_PER_FANOUT 2u

/** Default number of the seeder's own children in the tree (the root fan-out,
 * capped at the fan-out), children: the seeder repairs its direct children by
 * unicast, so its repair load is this x the loss rate (docs/protocol-core.md
 * section 1). */
#define TC_SEEDER_ROOT_FANOUT_DEFAULT 2u

/** Every this many HEARTBEATs from a node in the tree the seeder sends it
 * its REPARENT again, and its CHILDREN list if it has children (current
 * generation: ignored by a node that has it), so that a lost tree message
 * does not leave a node without its parent or its children for the whole
 * session, heartbeats. */
#define TC_SEEDER_REFRESH_HEARTBEATS 4u
/** After a change, a node's next this many HEARTBEATs are answered with its
 * REPARENT (and CHILDREN list): one lost tree message costs a heartbeat
 * interval, not TC_SEEDER_REFRESH_HEARTBEATS of them. */
#define TC_SEEDER_TREE_RESEND_HEARTBEATS 3u
/** Copies of each REPARENT and CHILDREN sent at a tree change. */
#define TC_SEEDER_TREE_COPIES 2u

/** Report intervals after which an object that half the ACTIVE nodes still
 * miss goes back into the round (docs/protocol.md section 6.2), intervals. */
#define TC_SEEDER_REPORT_STALE_INTERVALS 4u

/*
 * Rate control (docs/protocol.md section 6.8, --rate auto): every
 * TC_SEEDER_RATE_INTERVAL_REPORTS report intervals the seeder sums its
 * direct children's merged loss histograms (REPORT.loss_hist: nodes by
 * multicast loss above their own baseline) over the nodes in the tree,
 * stragglers excluded, and takes the TC_SEEDER_RATE_PERCENTILE-th
 * percentile bucket. Above TC_SEEDER_RATE_DOWN_BUCKET the rate drops by
 * TC_SEEDER_RATE_DOWN_PERMILLE; at or below TC_SEEDER_RATE_UP_BUCKET, and
 * with no direct child's backlog_max above TC_SEEDER_RATE_BACKLOG_BYTES, it
 * rises by TC_SEEDER_RATE_STEP_PERMILLE of rate_max_bps; always within
 * [rate_min_bps, rate_max_bps].
 */
/** Report intervals per rate decision, intervals. */
#define TC_SEEDER_RATE_INTERVAL_REPORTS 3u
/** Percentile of nodes whose excess loss drives the rate, percent. */
#define TC_SEEDER_RATE_PERCENTILE 90u
/** loss_hist bucket above which the rate drops (bucket 3 = [0.3 %, 1 %)). */
#define TC_SEEDER_RATE_DOWN_BUCKET 3u
/** loss_hist bucket at or below which the rate may rise (bucket 2 = [0.1 %, 0.3 %):
 * random loss of 0.1 % makes a node's samples wander that far above its
 * least one). */
#define TC_SEEDER_RATE_UP_BUCKET 2u
/** Multiplicative decrease, per mille of the current rate ... */
#define TC_SEEDER_RATE_DOWN_PERMILLE 150u
/** ... and when the percentile is in this bucket or above (5 = 3 %) ... */
#define TC_SEEDER_RATE_STEEP_BUCKET 5u
/** ... this much (the rate is far too high), per mille. */
#define TC_SEEDER_RATE_STEEP_PERMILLE 300u
/** While the rate is being cut for loss, and this many rate intervals after,
 * BEHIND requests are congestion, not stragglers: ignored (the node asks
 * again if it stays behind), intervals. */
#define TC_SEEDER_RATE_CONGESTED_INTERVALS 3u
/** Additive increase, per mille of rate_max_bps. */
#define TC_SEEDER_RATE_STEP_PERMILLE 50u
/** Starting rate of --rate auto when rate_bps is 0, per mille of rate_max_bps. */
#define TC_SEEDER_RATE_START_PERMILLE 800u
/** A backlog (bytes waiting for a disk at one node) above this holds the rate, bytes. */
#define TC_SEEDER_RATE_BACKLOG_BYTES (64ull * 1024 * 1024)

/** Share of the rate a straggler's catch-up stream from the seeder may use
 * (the seeder is its parent), per mille. */
#define TC_SEEDER_CATCHUP_SHARE_PERMILLE 250u
/** A node whose chunks done lag the chunks multicast to it (covered) since
 * it was proven by more than this is a straggler (an outage: a dead parent,
 * a partition): it catches up from its parent, off the multicast, chunks. */
#define TC_SEEDER_BEHIND_CHUNKS 512u
/** Default cap on catching-up (slow) children per parent, children. */
#define TC_SEEDER_CATCHUP_DEFAULT 2u
/** After a restart the first round waits for every node restored as
 * receiving, at most this many rejoin_spread_ms, spreads. */
#define TC_SEEDER_RESTART_WAIT_SPREADS 2u
/** EPOCH messages sent per node after a restart (unicast, with its token),
 * and once to the group, copies. */
#define TC_SEEDER_EPOCH_COPIES 2u

/** Longest line kept per node as its last error (a LOG line it shipped at
 * TC_PROTO_LOG_WARN or worse, escaped), bytes with the NUL: the seeder keeps
 * nodes_max of them. */
#define TC_SEEDER_NODE_ERROR_MAX 160u

struct tc_seeder;

/** What the seeder needs from its environment. All ops are called from
 * within a tc_seeder_* call, never concurrently. */
struct tc_seeder_ops {
    /** Send n datagrams (a batch, sendmmsg-like). The core owns the
     * buffers; they are valid during the call only. Returns the number
     * accepted (0..n) or a negative errno; unsent ones are not retried
     * (the protocol repairs losses). */
    int (*send)(void *ctx, const struct tc_proto_dgram *d, size_t n);
    /** Optional (NULL: the core encodes DATA datagrams and uses send):
     * send a run of DATA blocks as one batch (the simulator's trains). */
    int (*send_blocks)(void *ctx, const struct tc_proto_blocks *b);
    /** The stored bytes of chunk index (manifest stored_len bytes), e.g.
     * from the mmapped .tcimg; valid for the seeder's life. NULL when the
     * seeder is dataless. */
    const uint8_t *(*chunk_bytes)(void *ctx, uint32_t index);
    /** 64 random bits (session id, tokens, jitter). */
    uint64_t (*random)(void *ctx);
    /** A log line (NUL-terminated; strings from nodes already escaped). */
    void (*log)(void *ctx, int level, const char *msg);
    /** Optional (NULL: DONE is acknowledged at once, nothing survives a
     * restart): write the session state (seedstate.h format, len bytes,
     * valid during the call only) durably, replacing the previous one, and
     * report completion later with tc_seeder_on_persisted(cookie). DONE is
     * acknowledged only once a state that holds it is durable. */
    int (*persist)(void *ctx, const uint8_t *state, size_t len, uint64_t cookie);
};

/** Seeder configuration (copied by tc_seeder_new(); pointers must outlive
 * the seeder). */
struct tc_seeder_cfg {
    const struct tc_manifest *manifest;   /**< parsed, with a block-hash section; shared */
    const uint8_t *sigblock;              /**< the signature block bytes */
    size_t sigblock_len;                  /**< its length */
    struct tc_proto_peer group;           /**< multicast group and port */
    uint16_t mtu;                         /**< session MTU, 1280..9000 */
    uint64_t rate_bps;                    /**< multicast pace, bit/s of wire bytes
                                               (TC_PROTO_WIRE_OVERHEAD included); with
                                               rate_auto the starting rate (0: the
                                               TC_SEEDER_RATE_START_PERMILLE default) */
    int rate_auto;                        /**< adapt the rate (see above) */
    uint64_t rate_min_bps;                /**< rate_auto: lowest rate (0: max / 100) */
    uint64_t rate_max_bps;                /**< rate_auto: highest rate (required) */
    int tree_only;                        /**< no multicast: every parent streams
                                               (stream.h) to its children */
    uint32_t catchup_max;                 /**< slow children per parent (0: default) */
    const uint8_t *restore;               /**< a persisted state to resume (seedstate.h),
                                               or NULL for a new session */
    size_t restore_len;                   /**< its length */
    uint32_t fanout;                      /**< tree fan-out (children per parent), 1..32
                                               (1 = a chain); with nodes_max the tree
                                               must fit TC_WIRE_DEPTH_MAX levels */
    uint32_t root_fanout;                 /**< the seeder's own children, 1..fanout; 0 =
                                               TC_SEEDER_ROOT_FANOUT_DEFAULT, capped at
                                               fanout */
    uint32_t nodes_max;                   /**< node table size, 1..TC_SEEDER_NODES_MAX;
                                               the per-node needs bitmap costs
                                               nodes_max x chunk_count bits */
    uint32_t min_nodes;                   /**< start the first round when this many are proven */
    uint64_t start_wait_ns;               /**< ... or this long after the first is proven */
    int dataless;                         /**< simulator at scale: no bytes, no hashing;
                                               WELCOME digests are zero; a manifest
                                               without seg_size gets one full block at
                                               the MTU as segment */
    const struct tc_chunk_ops *chunk_ops; /**< hashing (NULL: tc_chunk_ops_default) */
    struct tc_proto_limits limits;        /**< named limits (tc_proto_limits_default()) */
};

/** Per-node state as the seeder sees it. */
enum tc_seeder_node_state {
    TC_SEEDER_NODE_FREE = 0,     /**< unused slot */
    TC_SEEDER_NODE_WELCOMED = 1, /**< WELCOME sent, address not proven yet */
    TC_SEEDER_NODE_ACTIVE = 2,   /**< proven, in the tree, receiving */
    TC_SEEDER_NODE_DONE = 3,     /**< DONE acknowledged, lingering for its children */
    TC_SEEDER_NODE_RELEASED = 4, /**< RELEASE sent */
    TC_SEEDER_NODE_DEAD = 5,     /**< silent past node_timeout_ns: out of the tree and the
                                      counts; back in when it is heard again */
};

/** One node (tc_seeder_node()). */
struct tc_seeder_node_info {
    enum tc_seeder_node_state state; /**< as above */
    uint8_t node_id[6];              /**< MAC */
    struct tc_proto_peer addr;       /**< registered address */
    uint32_t parent;                 /**< node index or TC_WIRE_INDEX_SEEDER */
    uint32_t depth;                  /**< 1 = child of the seeder */
    uint32_t chunks_done;            /**< from its last HEARTBEAT */
    uint64_t joined_ns;              /**< first WELCOME */
    uint64_t done_ns;                /**< DONE received (0 if not) */
    int slow;                        /**< a straggler (catching-up leaf) */
    uint32_t covered;                /**< chunks multicast to it since it was proven (reset
                                          while it reports that it is not receiving yet) */
    uint64_t unicast_bytes;          /**< DATA payload bytes the seeder unicast to it
                                          (repairs, tree-only and catch-up streams) */
    int loss_known;                  /**< loss_bucket is valid: it is (was) a direct child
                                          and its REPORT arrived */
    unsigned loss_bucket;            /**< highest non-empty REPORT.loss_hist bucket of its
                                          subtree (0 = no loss above baseline .. 7 = >= 30 %) */
    int error_level;                 /**< level of last_error (0: none) */
    char last_error[TC_SEEDER_NODE_ERROR_MAX]; /**< last LOG line it shipped at
                                                    TC_PROTO_LOG_WARN or worse ("" none) */
};

/** Counters (monotonic since tc_seeder_new()). */
struct tc_seeder_stats {
    uint64_t rx_dgrams;            /**< datagrams handed in */
    uint64_t rx_bad;               /**< refused by the codec */
    uint64_t rx_forged;            /**< wrong session, epoch, token or address: dropped */
    uint64_t joins;                /**< JOINs accepted (WELCOME sent) */
    uint64_t rejects;              /**< REJECTs sent */
    uint64_t reports_rx;           /**< REPORTs accepted */
    uint64_t reports_interval_max; /**< most REPORTs accepted in one report interval */
    uint64_t mcast_blocks;         /**< DATA blocks multicast (rounds + re-multicast) */
    uint64_t mcast_bytes;          /**< their payload bytes */
    uint64_t remcast_blocks;       /**< of which re-multicast for correlated loss */
    uint64_t repair_blocks;        /**< DATA blocks unicast (repairs) */
    uint64_t repair_bytes;         /**< their payload bytes */
    uint64_t repair_capped_blocks; /**< blocks asked for and not sent: repair budget spent */
    uint64_t repair_early;         /**< requests for objects not multicast to the node yet */
    uint64_t rounds;               /**< rounds started */
    uint64_t reports_dropped;      /**< REPORTs from nodes that are not direct children */
    uint64_t repair_reqs;          /**< REPAIR_REQs accepted */
    uint64_t tx_dgrams;            /**< datagrams handed to send (blocks via send_blocks
                                        counted one per block) */
    uint64_t tx_errors;            /**< datagrams refused by send or the encoder (a node
                                        address the wire cannot carry): not retried */
    uint32_t nodes;                /**< nodes in the table (not FREE) */
    uint32_t nodes_done;           /**< nodes that sent DONE (DONE or RELEASED) */
    uint64_t rate_bps;             /**< current multicast rate */
    uint64_t rate_min_seen_bps;    /**< lowest rate used */
    uint64_t rate_changes;         /**< rate decisions that changed it */
    uint64_t stragglers;           /**< nodes demoted to catching-up leaves */
    uint64_t reparent_reqs;        /**< REPARENT_REQs accepted */
    uint64_t nodes_dead;           /**< nodes declared dead (silent past node_timeout_ns) */
    uint64_t persists;             /**< states handed to the persist op */
    uint64_t epochs_sent;          /**< EPOCH datagrams sent */
    uint64_t stream_bytes;         /**< payload bytes streamed to tree-only/catching-up children */
};

int tc_seeder_new(struct tc_seeder **out, const struct tc_seeder_cfg *cfg,
                  const struct tc_seeder_ops *ops, void *ctx, uint64_t now, struct tc_err *err);
void tc_seeder_free(struct tc_seeder *s);

/** A datagram arrived from `from`. buf is borrowed (not kept after the
 * call). Bad or forged input is counted and dropped: the return is 0, or a
 * negative errno only for a broken environment (an op failing fatally). */
int tc_seeder_on_packet(struct tc_seeder *s, uint64_t now, struct tc_proto_peer from,
                        const uint8_t *buf, size_t len);

/** Run what is due at now (pacing, the first round's start, gathered
 * repairs). Returns 0, or the fatal error that stopped the seeder (a chunk
 * hash list that does not match the manifest: -EILSEQ, logged). */
int tc_seeder_on_timer(struct tc_seeder *s, uint64_t now);

/** Absolute time of the next tc_seeder_on_timer() call wanted, or
 * TC_PROTO_NEVER. */
uint64_t tc_seeder_next_deadline(const struct tc_seeder *s);

const struct tc_seeder_stats *tc_seeder_stats(const struct tc_seeder *s);

/** Node index's state; -ENOENT if out of range. */
int tc_seeder_node(const struct tc_seeder *s, uint32_t index, struct tc_seeder_node_info *out);

/** The persist with this cookie completed (rc < 0: it failed; the DONEs
 * it held stay unacknowledged and a new persist is tried). */
int tc_seeder_on_persisted(struct tc_seeder *s, uint64_t now, uint64_t cookie, int rc);

/** Session id and epoch (for logs and the status endpoint). */
uint64_t tc_seeder_session_id(const struct tc_seeder *s);
uint32_t tc_seeder_epoch(const struct tc_seeder *s);

/** True when at least one node was released and every proven node has been
 * released (nodes still WELCOMED, never proven, do not hold the session). */
int tc_seeder_finished(const struct tc_seeder *s);

#endif /* TREECAST_SEEDER_H */
