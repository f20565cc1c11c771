/* SPDX-License-Identifier: MIT */
/*
 * sim/ network model on top of the event core (treecast/sim.h): nodes with an
 * uplink and a downlink to one switch, multicast groups replicated by the
 * switch, unicast, drop-tail queues, random and Gilbert-Elliott loss, packet
 * trains, per-node disks, crashes, pauses, partitions and forged senders.
 * docs/simulator.md describes the model; this header is the contract.
 *
 * Node 0 is the seeder by convention; every node, injectors included, is the
 * same kind of object: what it does is its ops table (struct
 * tc_sim_node_ops), which the protocol cores' glue (sim/simrun.c) supplies.
 *
 * Topology: flat. Each node has an uplink (node -> switch) and a downlink
 * (switch -> node). A packet is serialized on the sender's uplink, crosses
 * its latency, reaches the switch whole (store and forward), is replicated
 * there (multicast) and serialized on each receiver's downlink, then crosses
 * that latency. With racks (tc_sim_net_racks()), a node's links lead to its
 * rack's switch (top of rack), and each rack has an uplink (ToR -> core) and
 * a downlink (core -> ToR) of its own: traffic between racks crosses them,
 * multicast once per rack; see docs/simulator.md, "Racks".
 *
 * Wire bytes: every packet is charged TC_SIM_WIRE_BYTES(payload) bytes on
 * every link (tc_sim_wire_bytes()): the UDP payload plus UDP (8) and IPv4
 * (20) headers, padded to Ethernet's 46-byte minimum, plus Ethernet header
 * (14), FCS (4), preamble and start delimiter (8) and the inter-frame gap
 * (12): the "bytes on the wire at the session MTU, headers included" of
 * DESIGN.md section 9. A payload larger than mtu - 28 is refused.
 *
 * Allocation: tc_sim_net_new() allocates everything (event pool, packet and
 * train pools, per-node state); sending, delivering and running never
 * allocate. A full pool makes the send fail with -ENOBUFS and is recorded as
 * the run's error (tc_sim_run() returns it).
 */
#ifndef TREECAST_SIMNET_H
#define TREECAST_SIMNET_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/sim.h"

/** IPv4 + UDP header bytes. */
#define TC_SIM_IP_UDP_BYTES 28
/** Ethernet bytes per frame beyond the IP packet: header 14 + FCS 4 +
 * preamble/SFD 8 + inter-frame gap 12. */
#define TC_SIM_ETH_BYTES 38
/** Smallest IP packet in an Ethernet frame (64-byte frame minus 18). */
#define TC_SIM_ETH_MIN_IP 46
/** Wire bytes of a UDP datagram with payload len (see above). */
#define TC_SIM_WIRE_BYTES(len)                                                                     \
    (((len) + TC_SIM_IP_UDP_BYTES < TC_SIM_ETH_MIN_IP ? TC_SIM_ETH_MIN_IP                          \
                                                      : (len) + TC_SIM_IP_UDP_BYTES) +             \
     TC_SIM_ETH_BYTES)

/** A destination that is multicast group g (g < groups_max). */
#define TC_SIM_GROUP(g) (0x80000000U | (uint32_t)(g))
#define TC_SIM_IS_GROUP(dst) (((dst)&0x80000000U) != 0)
/** A queue that never overflows. */
#define TC_SIM_QUEUE_UNBOUNDED UINT64_MAX
/** Largest opaque description a train carries (chunk, offsets...). */
#define TC_SIM_TRAIN_META_MAX 64
/** Most nodes, groups, blocks per train (named limits of the model). */
#define TC_SIM_NODES_MAX 65536
#define TC_SIM_GROUPS_MAX 1024
#define TC_SIM_TRAIN_BLOCKS_MAX 4096
/** Most racks (tc_sim_net_racks()). */
#define TC_SIM_RACKS_MAX 4096

/** Loss model of one link. */
enum tc_sim_loss_kind {
    TC_SIM_LOSS_NONE = 0, /**< no loss */
    TC_SIM_LOSS_RANDOM,   /**< each packet lost independently with probability p */
    TC_SIM_LOSS_GE,       /**< Gilbert-Elliott: two states, a loss rate in each */
};

/**
 * Loss parameters. Gilbert-Elliott: for each packet, the loss is drawn with
 * the current state's rate (loss_good or loss_bad), then the state moves
 * (good -> bad with p_gb, bad -> good with p_bg). Mean loss:
 * (p_bg * loss_good + p_gb * loss_bad) / (p_gb + p_bg); mean bad run
 * 1 / p_bg packets.
 */
struct tc_sim_loss_cfg {
    enum tc_sim_loss_kind kind; /**< which model */
    double p;                   /**< RANDOM: loss probability per packet */
    double p_gb;                /**< GE: P(good -> bad) per packet */
    double p_bg;                /**< GE: P(bad -> good) per packet */
    double loss_good;           /**< GE: loss probability in the good state */
    double loss_bad;            /**< GE: loss probability in the bad state */
};

/** One direction of a node's attachment. */
struct tc_sim_link_cfg {
    uint64_t rate_bps;           /**< bits per second; 0 = infinitely fast (no queue) */
    uint64_t latency_ns;         /**< one-way propagation delay, ns */
    uint64_t queue_bytes;        /**< drop-tail capacity: wire bytes not yet serialized,
                                      the frame being sent included; TC_SIM_QUEUE_UNBOUNDED */
    struct tc_sim_loss_cfg loss; /**< loss on this link (after the queue) */
};

/** A node's hardware. */
struct tc_sim_node_cfg {
    struct tc_sim_link_cfg up;   /**< node -> switch; its loss is shared by every receiver */
    struct tc_sim_link_cfg down; /**< switch -> node; its loss is this node's alone */
    uint64_t disk_rate_Bps;      /**< disk write rate, bytes/s; 0 = instant */
    uint32_t disk_queue_max;     /**< most writes submitted and not completed */
};

struct tc_sim_net;

/** Sizes of everything, fixed at tc_sim_net_new(). */
struct tc_sim_net_cfg {
    uint64_t seed;             /**< the run's seed: every random draw comes from it */
    uint32_t nodes;            /**< nodes, seeder (0) and injectors included, 1..TC_SIM_NODES_MAX */
    uint32_t groups;           /**< multicast groups, 1..TC_SIM_GROUPS_MAX */
    uint32_t mtu;              /**< session IP MTU (1500, 9000): payload <= mtu - 28 */
    uint32_t payload_max;      /**< bytes a single packet may carry (<= mtu - 28);
                                    0 = mtu - 28. Pool memory is pkts_max * payload_max */
    uint32_t events_max;       /**< pending events at once */
    uint32_t pkts_max;         /**< single packets in flight at once */
    uint32_t trains_max;       /**< trains in flight at once */
    uint32_t train_blocks_max; /**< blocks per train, 1..TC_SIM_TRAIN_BLOCKS_MAX */
    uint32_t deliveries_max;   /**< train deliveries (one per receiver) pending at once */
    struct tc_sim_node_cfg node; /**< every node's hardware (tc_sim_net_node_set() changes one) */
    /** Scenario hook run by tc_sim_net_script_at() events (may be NULL). */
    void (*on_script)(void *ctx, struct tc_sim_net *net, uint64_t now, uint64_t arg);
    void *script_ctx; /**< its context */
};

/** What a receiver gets for one train: valid during the on_train call only. */
struct tc_sim_train_rx {
    const uint8_t *meta;    /**< the sender's description (copied at send) */
    size_t meta_len;        /**< bytes of meta */
    uint32_t nblocks;       /**< blocks sent */
    uint32_t block_len;     /**< payload bytes of each block */
    uint32_t received;      /**< blocks that arrived (bits set in bitmap) */
    const uint64_t *bitmap; /**< bit j (word j / 64, bit j % 64) = block j arrived */
    uint64_t first_ns;      /**< arrival time of the first block that arrived */
};

/**
 * What a node is: the protocol core's glue. Every member may be NULL. The
 * callbacks run inside tc_sim_run() at the virtual time `now`; they may call
 * the send, timer, disk and group functions below (which only schedule
 * events: the engine never calls a node back from inside one of those).
 */
struct tc_sim_node_ops {
    /** The node boots (tc_sim_net_start()) or restarts after a crash. */
    void (*on_start)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now);
    /** The node crashed: its timer, pending disk writes and group
     * memberships are gone; the glue drops the core's state. */
    void (*on_crash)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now);
    /** A packet arrived. buf belongs to the engine and is valid during the
     * call only (copy what must outlive it). from is the claimed source. */
    void (*on_packet)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now, uint32_t from,
                      const uint8_t *buf, size_t len);
    /** A train arrived: now is the arrival of its last surviving block; rx
     * (and what it points to) is valid during the call only. */
    void (*on_train)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now, uint32_t from,
                     const struct tc_sim_train_rx *rx);
    /** The time set with tc_sim_net_timer_set() has come (the timer is
     * disarmed before the call). */
    void (*on_timer)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now);
    /** A write submitted with tc_sim_net_disk_submit() is on the disk. */
    void (*on_disk_done)(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now,
                         uint64_t cookie);
};

/** Counters of one link (direction). */
struct tc_sim_link_stats {
    uint64_t tx_pkts;          /**< frames serialized */
    uint64_t tx_bytes;         /**< wire bytes serialized */
    uint64_t busy_ns;          /**< serialization time committed */
    uint64_t drop_queue_pkts;  /**< frames refused by the full drop-tail queue */
    uint64_t drop_queue_bytes; /**< their wire bytes */
    uint64_t drop_loss_pkts;   /**< frames lost by the loss model (after serialization) */
    uint64_t drop_loss_bytes;  /**< their wire bytes */
};

/** Counters of one node as a receiver (packets = single packets + train blocks). */
struct tc_sim_node_stats {
    uint64_t rx_pkts;             /**< packets handed to the node */
    uint64_t rx_bytes;            /**< their wire bytes */
    uint64_t lost_queue_pkts;     /**< dropped by this node's downlink queue */
    uint64_t lost_random_pkts;    /**< lost by this node's downlink loss model */
    uint64_t lost_partition_pkts; /**< not forwarded: sender on the other side of a partition */
    uint64_t lost_down_pkts;      /**< arrived while the node was down or paused */
    uint64_t timers_fired;        /**< on_timer calls */
    uint64_t disk_ops;            /**< writes completed */
    uint64_t disk_bytes;          /**< bytes submitted to the disk */
};

/* The default hardware: 1 Gbit/s both ways, 50 us latency, 256 KiB queues,
 * no loss, 500 MB/s disk with 64 writes in flight. */
void tc_sim_net_node_cfg_default(struct tc_sim_node_cfg *cfg);
/* Defaults for a net of `nodes` nodes: the node cfg above, 4 groups, MTU
 * 1500, pools that grow with N (events 65536 + 128 N, packets 4096 + 8 N,
 * trains 256 + N of up to 1024 blocks, train deliveries 65536 + 32 N). */
void tc_sim_net_cfg_default(struct tc_sim_net_cfg *cfg, uint32_t nodes, uint64_t seed);

/* Allocate a net (all nodes down, no ops, no group members). 0, -EINVAL, -ENOMEM. */
int tc_sim_net_new(const struct tc_sim_net_cfg *cfg, struct tc_sim_net **out);
/* Free it (NULL is fine). */
void tc_sim_net_free(struct tc_sim_net *net);
/* Its event engine: tc_sim_run(), tc_sim_now(), tc_sim_trace_hash()... */
struct tc_sim *tc_sim_net_sim(struct tc_sim_net *net);
/* Wire bytes of a datagram with a payload of len bytes (TC_SIM_WIRE_BYTES). */
uint64_t tc_sim_wire_bytes(size_t len);
/* The largest payload a single packet or block may have: mtu - 28 (or payload_max). */
size_t tc_sim_net_payload_max(const struct tc_sim_net *net);

/* Give node its ops and context (not owned). Any time; NULL ops = a silent node. */
int tc_sim_net_attach(struct tc_sim_net *net, uint32_t node, const struct tc_sim_node_ops *ops,
                      void *ctx);
/* Change a node's hardware from now on (queues in progress keep their state). */
int tc_sim_net_node_set(struct tc_sim_net *net, uint32_t node, const struct tc_sim_node_cfg *cfg);
/* A random stream for the node's core (its own: independent of the network's draws). */
struct tc_sim_rng *tc_sim_net_node_rng(struct tc_sim_net *net, uint32_t node);

/*
 * Send a datagram of len payload bytes from `from` to a node or to
 * TC_SIM_GROUP(g) (every member but the sender). buf is copied: the caller
 * keeps it. Returns 0 when the packet was handed to the uplink, even if the
 * queue or the loss model then drops it (as UDP does); -EMSGSIZE (too big),
 * -EINVAL (bad node or group), -EHOSTDOWN (sender down), -ENOBUFS (pool full).
 */
int tc_sim_net_send(struct tc_sim_net *net, uint32_t from, uint32_t dst, const void *buf,
                    size_t len);
/*
 * Send a train: nblocks datagrams of block_len payload bytes each, back to
 * back, as if tc_sim_net_send() had been called nblocks times at this
 * instant. Each receiver gets one on_train with a bitmap of the blocks that
 * arrived. meta (<= TC_SIM_TRAIN_META_MAX bytes) is copied. Same returns as
 * tc_sim_net_send(), and -E2BIG for more than train_blocks_max blocks.
 */
int tc_sim_net_send_train(struct tc_sim_net *net, uint32_t from, uint32_t dst, const void *meta,
                          size_t meta_len, uint32_t nblocks, uint32_t block_len);
/* From now on, packets sent by node claim to come from `claimed` (forged
 * traffic: an injector posing as the seeder). claimed = node undoes it. */
int tc_sim_net_spoof(struct tc_sim_net *net, uint32_t node, uint32_t claimed);

/* Group membership (as IGMP join/leave, effective at once). */
int tc_sim_net_join(struct tc_sim_net *net, uint32_t node, uint32_t group);
int tc_sim_net_leave(struct tc_sim_net *net, uint32_t node, uint32_t group);
int tc_sim_net_is_member(const struct tc_sim_net *net, uint32_t node, uint32_t group);

/*
 * Wake the node at `at` (absolute ns; before now means now). One timer per
 * node: a new time replaces the old; TC_SIM_NEVER disarms it. Earlier and
 * later times cost no more than one pending event each way.
 */
int tc_sim_net_timer_set(struct tc_sim_net *net, uint32_t node, uint64_t at);

/*
 * Write `bytes` to the node's disk: writes are served one after the other at
 * disk_rate_Bps; on_disk_done(cookie) runs when this one is done. 0,
 * -EAGAIN (disk_queue_max writes in flight), -EHOSTDOWN, -EINVAL.
 */
int tc_sim_net_disk_submit(struct tc_sim_net *net, uint32_t node, uint64_t bytes, uint64_t cookie);

/* Boot the node at `at` (late join = a later time): it is up, then on_start. */
int tc_sim_net_start(struct tc_sim_net *net, uint32_t node, uint64_t at);
/* Crash the node at `at`; restart it restart_after ns later (TC_SIM_NEVER: never). */
int tc_sim_net_crash(struct tc_sim_net *net, uint32_t node, uint64_t at, uint64_t restart_after);
/* Freeze the node from `at` for `duration` ns: packets reaching it are lost,
 * its timer and disk completions wait for the end of the pause. */
int tc_sim_net_pause(struct tc_sim_net *net, uint32_t node, uint64_t at, uint64_t duration);
/* Cut nodes[0..n-1] off from the others from `at` for `duration` ns: the
 * switch forwards nothing between the two sides (both directions). */
int tc_sim_net_partition(struct tc_sim_net *net, const uint32_t *nodes, uint32_t n, uint64_t at,
                         uint64_t duration);
/* Run the cfg's on_script(arg) at `at`. */
int tc_sim_net_script_at(struct tc_sim_net *net, uint64_t at, uint64_t arg);

/*
 * Put the nodes into racks: rack_of[i] (one entry per node) is 0 for a node
 * on the core switch (the seeder) or 1..racks; every rack's uplink (ToR ->
 * core) and downlink (core -> ToR) get the link configuration `uplink`
 * (rate, latency, queue, loss; each with a loss stream of its own). A
 * packet between two racks crosses the sender's uplink, its rack's uplink,
 * the receiver's rack downlink and the receiver's downlink; within a rack,
 * the sender's uplink and the receiver's downlink only; a node on the core
 * skips its side's rack link. Multicast goes up the sender's rack uplink
 * once (as to a multicast router port: whether or not other racks have
 * members) and down each other rack's downlink once if that rack has a
 * member. Call once, before tc_sim_run(). 0, -EINVAL (racks 0 or above
 * TC_SIM_RACKS_MAX, rack_of out of range), -EALREADY, -ENOMEM.
 */
int tc_sim_net_racks(struct tc_sim_net *net, uint32_t racks, const uint32_t *rack_of,
                     const struct tc_sim_link_cfg *uplink);
/* Counters of rack r's (1..racks) uplink (up = 1: ToR -> core) or downlink
 * (up = 0: core -> ToR); NULL for a rack that does not exist. */
const struct tc_sim_link_stats *tc_sim_net_rack_link_stats(const struct tc_sim_net *net,
                                                           uint32_t rack, int up);

/* Node state. */
int tc_sim_net_is_up(const struct tc_sim_net *net, uint32_t node);
/* Counters of a node; of its uplink (up = 1) or downlink (up = 0). */
const struct tc_sim_node_stats *tc_sim_net_node_stats(const struct tc_sim_net *net, uint32_t node);
const struct tc_sim_link_stats *tc_sim_net_link_stats(const struct tc_sim_net *net, uint32_t node,
                                                      int up);
/* Fraction of the time since 0 that the link spent serializing (0..1). */
double tc_sim_net_link_util(const struct tc_sim_net *net, uint32_t node, int up);
/* Wire bytes the seeder (node 0) put on its uplink. */
uint64_t tc_sim_net_seeder_egress_bytes(const struct tc_sim_net *net);

#endif /* TREECAST_SIMNET_H */
