/* SPDX-License-Identifier: MIT */
/*
 * Missing-block reports, aggregated up the tree in constant space
 * (docs/protocol-core.md).
 *
 * A report covers a window of consecutive chunks and summarizes any number
 * of nodes: per chunk, the most blocks missing at one node, a log2 histogram
 * of nodes by blocks missing, and, per span (1/TC_REPORT_SPANS of the
 * chunk's blocks), how many nodes miss at least one block in it. Merging is
 * a maximum and sums, so it is associative and commutative, costs
 * O(window), and the report's size does not depend on the number of nodes.
 * The seeder decides from the merged report which spans to re-multicast
 * (many nodes miss them: correlated loss) and which chunks to leave to local
 * repair, and how many FEC parity blocks would repair nearly everyone.
 */
#ifndef TREECAST_REPORT_H
#define TREECAST_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

/** Most chunks in one report window, chunks. */
#define TC_REPORT_WINDOW_MAX 64u
/**
 * Histogram buckets of blocks missing at a node: 0, 1, 2-3, 4-7, 8-15,
 * 16-31, 32-63, 64 or more (bucket k >= 1 holds 2^(k-1) .. 2^k - 1).
 */
#define TC_REPORT_HIST_BUCKETS 8u
/** Spans per chunk (one bit each in a decision's span mask). */
#define TC_REPORT_SPANS 16u
/** Most nodes one report summarizes (16-bit counts), nodes. */
#define TC_REPORT_NODES_MAX 65535u
/** Most blocks per chunk (16-bit counts), blocks. */
#define TC_REPORT_BLOCKS_MAX 65535u

/** Defaults of struct tc_report_policy (chosen by simulator runs later). */
#define TC_REPORT_CORRELATED_PERMILLE_DEFAULT 500u
#define TC_REPORT_CORRELATED_NODES_MIN_DEFAULT 2u
#define TC_REPORT_FEC_COVERAGE_PERMILLE_DEFAULT 950u
#define TC_REPORT_FEC_MARGIN_BLOCKS_DEFAULT 1u
#define TC_REPORT_FEC_PARITY_MAX_BLOCKS_DEFAULT 64u

/** What the nodes below miss of one chunk. */
struct tc_report_chunk {
    uint16_t max_missing;                  /**< most blocks missing at one node */
    uint16_t hist[TC_REPORT_HIST_BUCKETS]; /**< nodes per bucket of blocks missing */
    uint16_t span_nodes[TC_REPORT_SPANS];  /**< nodes missing >= 1 block in span s */
};

/** A report: fixed size whatever the number of nodes it summarizes. */
struct tc_report {
    uint32_t first;                                     /**< first chunk of the window */
    uint16_t count;                                     /**< chunks in the window, 1..WINDOW_MAX */
    uint16_t nodes;                                     /**< nodes summarized, 0..NODES_MAX */
    struct tc_report_chunk chunk[TC_REPORT_WINDOW_MAX]; /**< chunk first + i; unused ones zero */
};

/** The seeder's decision rule parameters. */
struct tc_report_policy {
    uint32_t correlated_permille;   /**< re-multicast a span missed by >= this share of nodes */
    uint32_t correlated_nodes_min;  /**< ... and by at least this many nodes */
    uint32_t fec_coverage_permille; /**< size parity to cover this share of the nodes missing */
    uint32_t fec_margin_blocks;     /**< parity blocks added to that size */
    uint32_t fec_parity_max_blocks; /**< most parity blocks suggested per chunk */
};

/** What to do about one chunk. */
enum tc_report_action {
    TC_REPORT_NONE = 0,        /**< no node misses a block */
    TC_REPORT_LOCAL = 1,       /**< uncorrelated loss: leave it to repair from parents */
    TC_REPORT_REMULTICAST = 2, /**< re-multicast the blocks of the spans in span_mask */
};

/** The decision for one chunk of a report's window. */
struct tc_report_decision {
    uint32_t chunk;               /**< chunk index */
    enum tc_report_action action; /**< what to do */
    uint32_t span_mask;           /**< spans to re-multicast (bit s = span s) */
    uint32_t nodes_missing;       /**< nodes missing at least one block */
    uint32_t parity;              /**< suggested FEC parity blocks (0: nothing missing) */
};

extern const struct tc_report_policy tc_report_policy_default;

int tc_report_init(struct tc_report *r, uint32_t first, uint32_t count, uint32_t nodes);
int tc_report_set_missing(struct tc_report *r, uint32_t chunk, const uint8_t *missing,
                          uint32_t nblocks);
int tc_report_merge(struct tc_report *dst, const struct tc_report *src);
int tc_report_check(const struct tc_report *r, struct tc_err *err);
int tc_report_decide(const struct tc_report *r, const struct tc_report_policy *p,
                     struct tc_report_decision *out);
uint32_t tc_report_bucket(uint32_t missing);
uint32_t tc_report_span_of(uint32_t block, uint32_t nblocks);
void tc_report_span_blocks(uint32_t span, uint32_t nblocks, uint32_t *first, uint32_t *count);

#endif /* TREECAST_REPORT_H */
