/* SPDX-License-Identifier: MIT */
/*
 * A whole simulated session: one seeder core and N agent cores (lib/) on
 * the simulated network (simnet.h), an image that is either real (bytes,
 * SHA-256, inflate, a signed manifest: small images) or dataless (a
 * manifest with stand-in hashes, no bytes: scale runs), scripted faults, and
 * the checks made on every node. Used by `treecast sim`, the scenario tests
 * (tests/unit/simrun_test.c) and `make soak`. No system calls.
 */
#ifndef TREECAST_SIMRUN_H
#define TREECAST_SIMRUN_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/proto.h"

/** Most agents in one run. */
#define TC_SIMRUN_NODES_MAX 65000u

struct tc_simrun_cfg {
    uint64_t seed;         /**< every random draw of the run comes from it */
    uint32_t nodes;        /**< agents (the seeder is extra), 1..TC_SIMRUN_NODES_MAX */
    uint64_t image_size;   /**< raw image bytes */
    double stored_ratio;   /**< stored / raw for non-zero chunks (dataless), 0 < r <= 1 */
    uint32_t chunk_size;   /**< raw bytes per chunk (0: TC_CHUNK_SIZE_DEFAULT) */
    int real;              /**< real bytes, hashes, inflate, signatures (else dataless) */
    int per_packet;        /**< every DATA block a datagram (else batched trains) */
    uint64_t link_bps;     /**< every node's link rate, both ways, bit/s */
    uint64_t latency_ns;   /**< one-way link latency */
    uint64_t disk_Bps;     /**< disk write rate, bytes/s (0: instant) */
    double loss;           /**< per receiver, after replication (0..1) */
    double shared_loss;    /**< on the seeder's uplink, before replication */
    int burst;             /**< loss is bursty (Gilbert-Elliott, same mean) */
    uint32_t fanout;       /**< tree fan-out (1 = a chain; 0: default) */
    uint32_t mtu;          /**< 1500 or 9000 (0: 1500) */
    uint32_t seg_size;     /**< integrity segment (0: one full block at the MTU) */
    double rate_fraction;  /**< multicast pace as a fraction of link_bps (0: default) */
    uint32_t late_nodes;   /**< this many agents start late ... */
    uint64_t late_ns;      /**< ... at this time */
    double held_fraction;  /**< every agent starts holding this share of the chunks */
    int forge;             /**< an injector sends forged blocks and control all run */
    uint64_t time_limit_ns; /**< give up at this virtual time (0: a generous default) */
    int trace_log;         /**< pass core log lines to the log callback */
    void (*log)(void *ctx, const char *line); /**< optional sink for trace lines */
    void *log_ctx;                            /**< its context */
};

struct tc_simrun_result {
    uint32_t nodes;              /**< agents */
    uint32_t nodes_done;         /**< agents that reached RELEASED with byte-exact targets */
    uint64_t first_done_ns;      /**< first agent's DONE acknowledged */
    uint64_t median_done_ns;     /**< median */
    uint64_t last_done_ns;       /**< last */
    uint64_t floor_ns;           /**< wire bytes at the MTU / link, or disk bytes / disk rate */
    double ratio;                /**< last_done / floor */
    uint64_t stored_bytes;       /**< stored bytes of the image (chunks) */
    uint64_t seeder_egress_bytes; /**< wire bytes on the seeder's uplink */
    double seeder_egress_ratio;  /**< egress / stored */
    uint64_t repair_bytes;       /**< payload bytes of unicast repair DATA (all parents) */
    uint64_t reports_interval_max; /**< most REPORTs reaching the seeder in one interval */
    uint64_t forged_sent;        /**< datagrams the injector sent */
    uint64_t segs_bad;           /**< segments refused by their hash (all agents) */
    uint64_t violations;         /**< invariant violations (must be 0): written unverified,
                                      written twice, wrong bytes, handoff without DONE_ACK */
    char violation[256];         /**< the first one, described */
    uint32_t *done_order;        /**< agent numbers in completion order (nodes entries,
                                      owned: tc_simrun_result_free()) */
    uint64_t *done_ns;           /**< per agent, DONE_ACK time (0 if never) */
    uint64_t events;             /**< simulator events run */
    uint64_t trace_hash;         /**< tc_sim_trace_hash() at the end */
    double sim_wall_s;           /**< wall time of the run (filled by the caller) */
};

void tc_simrun_cfg_default(struct tc_simrun_cfg *cfg);

/** Run. 0 when the run completed (every agent done; violations may still
 * be non-zero: check them), -ETIMEDOUT when time_limit_ns passed first
 * (result filled with what happened), other negative errnos for bad
 * configuration (err names the option). */
int tc_simrun(const struct tc_simrun_cfg *cfg, struct tc_simrun_result *res, struct tc_err *err);
void tc_simrun_result_free(struct tc_simrun_result *res);

#endif /* TREECAST_SIMRUN_H */
