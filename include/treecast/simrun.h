/* SPDX-License-Identifier: MIT */
/*
 * A whole simulated session: one seeder core and N agent cores (lib/) on
 * the simulated network (simnet.h), an image that is either real (bytes,
 * SHA-256, inflate, a signed manifest: small images) or dataless (a
 * manifest with stand-in hashes, no bytes: scale runs), scripted faults, and
 * the checks made on every node. Used by `treecast sim`, the scenario tests
 * (tests/unit/simrun_test.c) and `make soak`. No system calls.
 *
 * Nodes: 0 = the seeder, 1..nodes = the agents, nodes + 1 = the forger
 * (cfg.forge). A node's address (struct tc_proto_peer) is {node,
 * TC_SIMRUN_NODE_PORT} (the wire refuses port 0 for a node); the
 * multicast group {TC_SIMRUN_GROUP_ADDR, TC_SIMRUN_GROUP_PORT} is simnet
 * group 0. docs/simulator.md describes the glue and its checks.
 */
#ifndef TREECAST_SIMRUN_H
#define TREECAST_SIMRUN_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/agent.h"
#include "treecast/proto.h"
#include "treecast/seeder.h"

/** Most agents in one run. */
#define TC_SIMRUN_NODES_MAX 65000u
/** The session's multicast group: 239.0.0.1, port 7000 (simnet group 0). */
#define TC_SIMRUN_GROUP_ADDR 0xEF000001u
#define TC_SIMRUN_GROUP_PORT 7000u
/** Every node's unicast control port. */
#define TC_SIMRUN_NODE_PORT 7001u
/** Default multicast pace as a fraction of the link rate. */
#define TC_SIMRUN_RATE_FRACTION_DEFAULT 0.95
/** Largest multicast pace, a fraction of the link rate (above 1 the queues
 * overflow: what --rate auto must find out). */
#define TC_SIMRUN_RATE_FRACTION_MAX 2.0
/** Seeder: start the first round when every agent that starts at 0 is
 * proven, or this long plus the agents' admission time (nodes /
 * admit_per_s) after the first proof, ns. */
#define TC_SIMRUN_START_WAIT_NS 1000000000ull
/** Mean length of a loss burst with cfg.burst (Gilbert-Elliott bad state), packets. */
#define TC_SIMRUN_BURST_LEN 5u
/** The forger sends one forged DATA and one forged control datagram per period, ns. */
#define TC_SIMRUN_FORGE_PERIOD_NS 200000ull
/** Wall clock (seconds since the epoch) the real trust check runs at. */
#define TC_SIMRUN_NOW 1767312000LL

/** Crash specs in one run, at most. */
#define TC_SIMRUN_CRASHES_MAX 8u
/** Time a simulated persist (write + fsync of the seeder's state) takes, ns. */
#define TC_SIMRUN_PERSIST_NS 2000000ull
/** Default time the seeder stays down in a seeder restart, ns. */
#define TC_SIMRUN_SEEDER_DOWN_NS 1000000000ull

/** Which nodes a crash spec picks. */
enum tc_simrun_pick {
    TC_SIMRUN_PICK_ANY = 0,      /**< uniformly among the agents still up */
    TC_SIMRUN_PICK_INTERIOR = 1, /**< among agents that have children at that time */
    TC_SIMRUN_PICK_PAIR = 2,     /**< a parent and one of its children, together
                                      (count counts pairs) */
};

/** count agents crash at a time in [at_ns, at_hi_ns] (uniform per node;
 * at_hi_ns = at_ns: all at once), and restart restart_after_ns later
 * (TC_PROTO_NEVER: they stay down), resuming from what they had written. */
struct tc_simrun_crash {
    uint32_t count;            /**< agents (or pairs) */
    uint64_t at_ns;            /**< earliest crash time */
    uint64_t at_hi_ns;         /**< latest crash time (>= at_ns) */
    uint64_t restart_after_ns; /**< down time, or TC_PROTO_NEVER */
    enum tc_simrun_pick pick;  /**< which agents */
};

struct tc_simrun_cfg {
    uint64_t seed;        /**< every random draw of the run comes from it */
    uint32_t nodes;       /**< agents (the seeder is extra), 1..TC_SIMRUN_NODES_MAX */
    uint64_t image_size;  /**< raw image bytes */
    double stored_ratio;  /**< stored / raw for non-zero chunks (dataless), 0 < r <= 1 */
    uint32_t chunk_size;  /**< raw bytes per chunk (0: TC_CHUNK_SIZE_DEFAULT) */
    int real;             /**< real bytes, hashes, inflate, signatures (else dataless) */
    int per_packet;       /**< every DATA block a datagram (else batched trains) */
    uint64_t link_bps;    /**< every node's link rate, both ways, bit/s */
    uint64_t latency_ns;  /**< one-way link latency */
    uint64_t disk_Bps;    /**< disk write rate, bytes/s (0: instant) */
    uint64_t queue_bytes; /**< every link's drop-tail queue, bytes (0: simnet's default, 256 KiB) */
    double loss;          /**< per receiver, after replication (0..1) */
    double shared_loss;   /**< on the seeder's uplink, before replication */
    int burst;            /**< loss is bursty (Gilbert-Elliott, same mean) */
    uint32_t fanout;      /**< tree fan-out (1 = a chain; 0: default) */
    uint32_t root_fanout; /**< the seeder's own children, 1..fanout (0: the seeder's default) */
    uint32_t mtu;         /**< 1500 or 9000 (0: 1500) */
    uint32_t seg_size;    /**< integrity segment (0: one full block at the MTU) */
    double rate_fraction; /**< multicast pace as a fraction of link_bps (0: default) */
    uint32_t late_nodes;  /**< this many agents (the highest numbers) start late ... */
    uint64_t late_ns;     /**< ... at this time */
    double held_fraction; /**< every agent starts holding this share of the chunks
                               (never chunk 0: it carries the in-progress marker) */
    int forge;            /**< an injector sends forged blocks and control all run */
    uint64_t time_limit_ns; /**< give up at this virtual time (0: 50 x floor + 60 s) */
    uint32_t slow_nodes;    /**< this many agents (picked at random) have links of ... */
    uint64_t slow_bps;      /**< ... this rate, both ways */
    struct tc_simrun_crash crash[TC_SIMRUN_CRASHES_MAX]; /**< crash specs */
    uint32_t ncrash;                                     /**< specs used */
    uint64_t seeder_restart_ns; /**< the seeder crashes at this time (0: never) ... */
    uint64_t seeder_down_ns;    /**< ... and restarts this much later from its persisted
                                     state (0: TC_SIMRUN_SEEDER_DOWN_NS) */
    int tree_only;              /**< tree-only session (no multicast) */
    int rate_auto;              /**< seeder adapts its rate, max = rate_fraction x link */
    uint32_t racks;             /**< agents in this many racks (0: flat) ... */
    uint64_t uplink_bps;        /**< ... each rack's uplink to the core, both ways */
    uint32_t partition_rack;    /**< rack cut off (1..racks; 0: none) ... */
    uint64_t partition_at_ns;   /**< ... at this time ... */
    uint64_t partition_ns;      /**< ... for this long */
    uint64_t join_spread_ns;    /**< agents' first JOIN spread (0: the protocol default) */
    int trace_log;              /**< pass core log lines to the log callback */
    void (*log)(void *ctx, const char *line); /**< optional sink for trace lines */
    void *log_ctx;                            /**< its context */
};

struct tc_simrun_result {
    uint32_t nodes;                /**< agents */
    uint32_t nodes_done;           /**< agents that reached RELEASED with byte-exact targets */
    uint32_t nodes_failed;         /**< agents that stopped in FAILED */
    uint32_t nodes_healthy;        /**< agents neither slowed nor crashed */
    uint32_t nodes_crashed;        /**< agents that crashed at least once */
    uint32_t nodes_slow;           /**< agents slowed by cfg.slow_nodes */
    uint64_t healthy_last_done_ns; /**< last healthy agent's DONE acknowledged */
    double healthy_ratio;          /**< healthy_last_done_ns / floor */
    uint32_t *slow;                /**< slow[i - 1]: agent i was slowed (owned) */
    uint32_t *crashed;             /**< crashed[i - 1]: agent i crashed (owned) */
    uint64_t first_done_ns;        /**< first agent's DONE acknowledged */
    uint64_t median_done_ns;       /**< median (of the agents acknowledged) */
    uint64_t last_done_ns;         /**< last */
    uint64_t floor_ns;             /**< wire bytes at the MTU / link, or disk bytes / disk rate */
    double ratio;                  /**< last_done / floor */
    uint64_t stored_bytes;         /**< stored bytes of the image (chunks) */
    uint64_t seeder_egress_bytes;  /**< wire bytes on the seeder's uplink */
    double seeder_egress_ratio;    /**< egress / stored */
    uint64_t repair_bytes;         /**< payload bytes of unicast repair DATA (all parents) */
    uint64_t reports_interval_max; /**< most REPORTs reaching the seeder in one interval */
    uint64_t forged_sent;          /**< datagrams the injector sent */
    uint64_t segs_bad;             /**< segments refused by their hash (all agents) */
    uint64_t violations;           /**< invariant violations (must be 0): written unverified,
                                        written twice, wrong bytes, handoff without DONE_ACK */
    char violation[256];           /**< the first one, described */
    char failure[TC_ERR_MSG_MAX + 64]; /**< the first FAILED agent's error, or the run's error */
    uint32_t *done_order;              /**< agent numbers (1..nodes) in completion order
                                            (nodes_acked entries, owned: tc_simrun_result_free()) */
    uint32_t nodes_acked;              /**< entries of done_order: agents whose DONE was acked */
    uint64_t *done_ns;                 /**< done_ns[i - 1]: agent i's DONE_ACK time (0 if never) */
    uint32_t *depth;                   /**< depth[i - 1]: agent i's depth in the tree at the end,
                                            as the seeder sees it (1 = its child; 0 = unknown) */
    uint64_t *chunk_lat_ns;            /**< chunk_lat_ns[i - 1]: agent i's mean time from a chunk's
                                            first multicast block to the write of that chunk (the
                                            chunks it wrote; 0 if none) */
    uint64_t end_ns;                   /**< virtual time when the run stopped */
    struct tc_seeder_stats seeder;     /**< the seeder's counters at the end */
    struct tc_agent_stats agents;      /**< every agent's counters, summed (chunks_done,
                                            chunk_count and done_ns: sums too) */
    uint64_t timers_fired; /**< core timer wake-ups, all nodes (simnet's timers_fired) */
    uint64_t events;       /**< simulator events run */
    uint64_t trace_hash;   /**< tc_sim_trace_hash() at the end */
    double sim_wall_s;     /**< wall time of the run (filled by the caller) */
};

/* Defaults: 1 agent, 64 MiB dataless image at ratio 0.5, 1 Gbit/s links,
 * 50 us latency, 500 MB/s disks, no loss, seed 1. */
void tc_simrun_cfg_default(struct tc_simrun_cfg *cfg);

/** Run. 0 when the run completed (every agent RELEASED or FAILED; check
 * nodes_done and violations), -ETIMEDOUT when time_limit_ns passed first
 * (result filled with what happened), -ENOBUFS when a simulator pool ran
 * out (a run that lost an event proves nothing), other negative errnos for
 * bad configuration (err names the option). res must be freed with
 * tc_simrun_result_free() whatever the return. */
int tc_simrun(const struct tc_simrun_cfg *cfg, struct tc_simrun_result *res, struct tc_err *err);
void tc_simrun_result_free(struct tc_simrun_result *res);

#endif /* TREECAST_SIMRUN_H */
