// SPDX-License-Identifier: MIT
/*
 * Missing-block reports: built at a node from its missing-block bitmaps,
 * merged at each parent (maximum and sums: O(window), constant size), and
 * turned into re-multicast / local-repair / FEC decisions at the seeder.
 * See include/treecast/report.h and docs/protocol-core.md.
 */
#include <string.h>

#include "treecast/report.h"

/** Per-mille scale of the policy's shares. */
#define PERMILLE 1000u

/** The rule the seeder uses unless configured otherwise (docs/protocol-core.md). */
const struct tc_report_policy tc_report_policy_default = {
    .correlated_permille = TC_REPORT_CORRELATED_PERMILLE_DEFAULT,
    .correlated_nodes_min = TC_REPORT_CORRELATED_NODES_MIN_DEFAULT,
    .fec_coverage_permille = TC_REPORT_FEC_COVERAGE_PERMILLE_DEFAULT,
    .fec_margin_blocks = TC_REPORT_FEC_MARGIN_BLOCKS_DEFAULT,
    .fec_parity_max_blocks = TC_REPORT_FEC_PARITY_MAX_BLOCKS_DEFAULT,
};

/** Histogram bucket of a node missing `missing` blocks: 0, then floor(log2) + 1, capped. */
uint32_t tc_report_bucket(uint32_t missing)
{
    uint32_t k = 0;

    while (missing > 0 && k < TC_REPORT_HIST_BUCKETS - 1) {
        missing >>= 1;
        k++;
    }
    return k;
}

/** Span of block `block` in a chunk of nblocks blocks (nblocks >= 1). */
uint32_t tc_report_span_of(uint32_t block, uint32_t nblocks)
{
    return (uint32_t)((uint64_t)block * TC_REPORT_SPANS / nblocks);
}

/** Blocks of span `span` in a chunk of nblocks: [*first, *first + *count); may be empty. */
void tc_report_span_blocks(uint32_t span, uint32_t nblocks, uint32_t *first, uint32_t *count)
{
    uint64_t a = ((uint64_t)span * nblocks + TC_REPORT_SPANS - 1) / TC_REPORT_SPANS;
    uint64_t b = ((uint64_t)(span + 1) * nblocks + TC_REPORT_SPANS - 1) / TC_REPORT_SPANS;

    *first = (uint32_t)a;
    *count = (uint32_t)(b - a);
}

/**
 * Start a report for chunks first .. first + count - 1 summarizing `nodes`
 * nodes, 0 (an empty aggregate to merge children into) or 1 (a node's own
 * report, nothing missing yet: see tc_report_set_missing()). The whole
 * struct is written, so that equal reports compare equal with memcmp().
 * Returns 0 or -EINVAL (count outside 1..TC_REPORT_WINDOW_MAX, window past
 * chunk UINT32_MAX, nodes not 0 or 1).
 */
int tc_report_init(struct tc_report *r, uint32_t first, uint32_t count, uint32_t nodes)
{
    uint32_t i;

    memset(r, 0, sizeof(*r));
    if (count < 1 || count > TC_REPORT_WINDOW_MAX || first > UINT32_MAX - (count - 1) || nodes > 1)
        return -EINVAL;
    r->first = first;
    r->count = (uint16_t)count;
    r->nodes = (uint16_t)nodes;
    for (i = 0; i < count; i++)
        r->chunk[i].hist[0] = (uint16_t)nodes;
    return 0;
}

/**
 * In a one-node report, record which blocks the node misses of chunk:
 * missing is a bitmap of nblocks bits (bit b set = block b missing, least
 * significant bit first), or NULL when all nblocks are missing. Replaces
 * what was recorded for that chunk. Returns 0, -EINVAL (not a one-node
 * report, chunk outside the window) or -E2BIG (nblocks over
 * TC_REPORT_BLOCKS_MAX).
 */
int tc_report_set_missing(struct tc_report *r, uint32_t chunk, const uint8_t *missing,
                          uint32_t nblocks)
{
    struct tc_report_chunk *c;
    uint32_t b, n = 0;

    if (r->nodes != 1 || chunk < r->first || chunk - r->first >= r->count)
        return -EINVAL;
    if (nblocks > TC_REPORT_BLOCKS_MAX)
        return -E2BIG;
    c = &r->chunk[chunk - r->first];
    memset(c, 0, sizeof(*c));
    for (b = 0; b < nblocks; b++) {
        if (missing && !(missing[b / 8] >> (b % 8) & 1))
            continue;
        n++;
        c->span_nodes[tc_report_span_of(b, nblocks)] = 1;
    }
    c->max_missing = (uint16_t)n;
    c->hist[tc_report_bucket(n)] = 1;
    return 0;
}

/**
 * Merge src into dst (a child's report into its parent's aggregate): node
 * counts and histograms add, maxima take the larger. Both must cover the
 * same window. O(window); nothing grows. Returns 0, -EINVAL (windows differ;
 * dst unchanged) or -E2BIG (more than TC_REPORT_NODES_MAX nodes; dst
 * unchanged).
 */
int tc_report_merge(struct tc_report *dst, const struct tc_report *src)
{
    uint32_t i, k;
    struct tc_report_chunk *d;
    const struct tc_report_chunk *s;

    if (dst->first != src->first || dst->count != src->count || dst->count < 1 ||
        dst->count > TC_REPORT_WINDOW_MAX)
        return -EINVAL;
    if ((uint32_t)dst->nodes + src->nodes > TC_REPORT_NODES_MAX)
        return -E2BIG;
    dst->nodes = (uint16_t)(dst->nodes + src->nodes);
    for (i = 0; i < dst->count; i++) {
        d = &dst->chunk[i];
        s = &src->chunk[i];
        if (s->max_missing > d->max_missing)
            d->max_missing = s->max_missing;
        /* each count is <= its report's nodes, so the sums stay <= dst->nodes */
        for (k = 0; k < TC_REPORT_HIST_BUCKETS; k++)
            d->hist[k] = (uint16_t)(d->hist[k] + s->hist[k]);
        for (k = 0; k < TC_REPORT_SPANS; k++)
            d->span_nodes[k] = (uint16_t)(d->span_nodes[k] + s->span_nodes[k]);
    }
    return 0;
}

/**
 * Check a report received from the network before merging or deciding on
 * it: window in bounds, every chunk's histogram adds up to the node count,
 * span counts at most the nodes missing something, the maximum in the
 * highest non-empty bucket, unused chunks zero. Returns 0 or -EBADMSG with
 * the chunk and values in err.
 */
int tc_report_check(const struct tc_report *r, struct tc_err *err)
{
    static const struct tc_report_chunk zero;
    const struct tc_report_chunk *c;
    uint32_t i, k, sum, top;

    if (r->count < 1 || r->count > TC_REPORT_WINDOW_MAX || r->first > UINT32_MAX - (r->count - 1u))
        return tc_err_set(err, -EBADMSG, "report: window of %u chunks from %u is out of bounds",
                          r->count, r->first);
    for (i = 0; i < TC_REPORT_WINDOW_MAX; i++) {
        c = &r->chunk[i];
        if (i >= r->count) {
            if (memcmp(c, &zero, sizeof(zero)) != 0)
                return tc_err_set(err, -EBADMSG, "report: entry %u past the window is not empty",
                                  i);
            continue;
        }
        sum = 0;
        top = 0;
        for (k = 0; k < TC_REPORT_HIST_BUCKETS; k++) {
            sum += c->hist[k];
            if (c->hist[k])
                top = k;
        }
        if (sum != r->nodes)
            return tc_err_set(err, -EBADMSG, "report: chunk %u histogram counts %u nodes, not %u",
                              r->first + i, sum, r->nodes);
        if (r->nodes > 0 && tc_report_bucket(c->max_missing) != top)
            return tc_err_set(err, -EBADMSG,
                              "report: chunk %u maximum %u is not in the top bucket %u",
                              r->first + i, c->max_missing, top);
        if (r->nodes == 0 && c->max_missing != 0)
            return tc_err_set(err, -EBADMSG, "report: chunk %u has a maximum but no nodes",
                              r->first + i);
        for (k = 0; k < TC_REPORT_SPANS; k++)
            if (c->span_nodes[k] > r->nodes - c->hist[0])
                return tc_err_set(err, -EBADMSG,
                                  "report: chunk %u span %u counts %u nodes, only %u miss blocks",
                                  r->first + i, k, c->span_nodes[k], r->nodes - c->hist[0]);
    }
    return 0;
}

/** Largest blocks-missing value in bucket k (the last bucket has none: UINT32_MAX). */
static uint32_t bucket_top(uint32_t k)
{
    return k == 0 ? 0 : k >= TC_REPORT_HIST_BUCKETS - 1 ? UINT32_MAX : (1u << k) - 1;
}

/**
 * Parity blocks that would let fec_coverage_permille of the nodes missing
 * blocks of c recover without repair: the top of the least bucket reaching
 * that share, at most the maximum, plus the margin, capped.
 */
static uint32_t parity_for(const struct tc_report_chunk *c, uint32_t missing,
                           const struct tc_report_policy *p)
{
    uint32_t k, acc = 0, need = c->max_missing;
    uint64_t parity;

    for (k = 1; k < TC_REPORT_HIST_BUCKETS; k++) {
        acc += c->hist[k];
        if ((uint64_t)acc * PERMILLE >= (uint64_t)p->fec_coverage_permille * missing) {
            if (bucket_top(k) < need)
                need = bucket_top(k);
            break;
        }
    }
    parity = (uint64_t)need + p->fec_margin_blocks;
    return parity > p->fec_parity_max_blocks ? p->fec_parity_max_blocks : (uint32_t)parity;
}

/**
 * Decide for every chunk of r's window (out has r->count entries): NONE if
 * no node misses a block; REMULTICAST with the spans missed by at least
 * correlated_permille of the nodes and correlated_nodes_min nodes (loss
 * before replication, or a burst, hit them all); LOCAL otherwise. The
 * parity suggestion is given for every chunk with something missing.
 * Check a report from the network with tc_report_check() first. Returns 0
 * or -EINVAL (bad window).
 */
int tc_report_decide(const struct tc_report *r, const struct tc_report_policy *p,
                     struct tc_report_decision *out)
{
    const struct tc_report_chunk *c;
    struct tc_report_decision *d;
    uint32_t i, s, missing;

    if (r->count < 1 || r->count > TC_REPORT_WINDOW_MAX)
        return -EINVAL;
    for (i = 0; i < r->count; i++) {
        c = &r->chunk[i];
        d = &out[i];
        memset(d, 0, sizeof(*d));
        d->chunk = r->first + i;
        missing = r->nodes >= c->hist[0] ? r->nodes - c->hist[0] : 0;
        d->nodes_missing = missing;
        if (missing == 0) {
            d->action = TC_REPORT_NONE;
            continue;
        }
        for (s = 0; s < TC_REPORT_SPANS; s++)
            if (c->span_nodes[s] > 0 && c->span_nodes[s] >= p->correlated_nodes_min &&
                (uint64_t)c->span_nodes[s] * PERMILLE >=
                    (uint64_t)p->correlated_permille * r->nodes)
                d->span_mask |= 1u << s;
        d->action = d->span_mask ? TC_REPORT_REMULTICAST : TC_REPORT_LOCAL;
        d->parity = parity_for(c, missing, p);
    }
    return 0;
}
