// SPDX-License-Identifier: MIT
/* Unit tests for lib/report.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treecast/report.h"

/** Blocks per chunk in these tests (a 1 MiB chunk stored as ~530 KB at MTU 1500). */
#define NBLOCKS 370u
/** Window used by these tests, chunks. */
#define WINDOW 8u
/** First chunk of the window. */
#define FIRST 1000u

static void check_ok(const struct tc_report *r)
{
    struct tc_err e = {0};

    if (tc_report_check(r, &e) != 0)
        fail_msg("tc_report_check: %s", e.msg);
}

/** A one-node report missing, of chunk FIRST + c, the blocks from..from+n-1. */
static void node_missing(struct tc_report *r, uint32_t c, uint32_t from, uint32_t n)
{
    uint8_t bm[(NBLOCKS + 7) / 8] = {0};
    uint32_t b;

    assert_int_equal(tc_report_init(r, FIRST, WINDOW, 1), 0);
    for (b = from; b < from + n; b++)
        bm[b / 8] |= (uint8_t)(1u << (b % 8));
    assert_int_equal(tc_report_set_missing(r, FIRST + c, bm, NBLOCKS), 0);
}

/** A one-node report with random losses (probability permille per block) in every chunk. */
static void node_random(struct tc_report *r, struct tu_prng *p, uint32_t permille)
{
    uint8_t bm[(NBLOCKS + 7) / 8];
    uint32_t c, b;

    assert_int_equal(tc_report_init(r, FIRST, WINDOW, 1), 0);
    for (c = 0; c < WINDOW; c++) {
        memset(bm, 0, sizeof(bm));
        for (b = 0; b < NBLOCKS; b++)
            if (tu_prng_next(p) % 1000 < permille)
                bm[b / 8] |= (uint8_t)(1u << (b % 8));
        if (c == 5 && tu_prng_next(p) % 10 == 0)
            assert_int_equal(tc_report_set_missing(r, FIRST + c, NULL, NBLOCKS), 0);
        else
            assert_int_equal(tc_report_set_missing(r, FIRST + c, bm, NBLOCKS), 0);
    }
}

static void test_buckets_and_spans(void **state)
{
    static const uint32_t sizes[] = {1, 5, 16, 17, 370, 731, TC_REPORT_BLOCKS_MAX};
    uint32_t si, s, b, first, count, total, n;

    (void)state;
    assert_int_equal(tc_report_bucket(0), 0);
    assert_int_equal(tc_report_bucket(1), 1);
    assert_int_equal(tc_report_bucket(2), 2);
    assert_int_equal(tc_report_bucket(3), 2);
    assert_int_equal(tc_report_bucket(4), 3);
    assert_int_equal(tc_report_bucket(7), 3);
    assert_int_equal(tc_report_bucket(63), 6);
    assert_int_equal(tc_report_bucket(64), 7);
    assert_int_equal(tc_report_bucket(100000), 7);
    /* spans partition the blocks, in order, and span_of agrees */
    for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        n = sizes[si];
        total = 0;
        for (s = 0; s < TC_REPORT_SPANS; s++) {
            tc_report_span_blocks(s, n, &first, &count);
            assert_int_equal(first, total);
            total += count;
            for (b = first; b < first + count; b++)
                assert_int_equal(tc_report_span_of(b, n), s);
        }
        assert_int_equal(total, n);
    }
}

static void test_node_report(void **state)
{
    struct tc_report r;

    (void)state;
    node_missing(&r, 1, 0, 3);
    check_ok(&r);
    assert_int_equal(r.nodes, 1);
    assert_int_equal(r.chunk[1].max_missing, 3);
    assert_int_equal(r.chunk[1].hist[2], 1);
    assert_int_equal(r.chunk[1].span_nodes[0], 1);
    assert_int_equal(r.chunk[1].span_nodes[1], 0);
    assert_int_equal(r.chunk[0].hist[0], 1);
    /* nothing received: all blocks missing, every span */
    assert_int_equal(tc_report_set_missing(&r, FIRST + 2, NULL, NBLOCKS), 0);
    assert_int_equal(r.chunk[2].max_missing, NBLOCKS);
    assert_int_equal(r.chunk[2].hist[TC_REPORT_HIST_BUCKETS - 1], 1);
    assert_int_equal(r.chunk[2].span_nodes[TC_REPORT_SPANS - 1], 1);
    check_ok(&r);
    /* errors */
    assert_int_equal(tc_report_set_missing(&r, FIRST - 1, NULL, 1), -EINVAL);
    assert_int_equal(tc_report_set_missing(&r, FIRST + WINDOW, NULL, 1), -EINVAL);
    assert_int_equal(tc_report_set_missing(&r, FIRST, NULL, TC_REPORT_BLOCKS_MAX + 1), -E2BIG);
    assert_int_equal(tc_report_init(&r, FIRST, 0, 0), -EINVAL);
    assert_int_equal(tc_report_init(&r, FIRST, TC_REPORT_WINDOW_MAX + 1, 0), -EINVAL);
    assert_int_equal(tc_report_init(&r, UINT32_MAX, 2, 0), -EINVAL);
    assert_int_equal(tc_report_init(&r, FIRST, WINDOW, 2), -EINVAL);
    assert_int_equal(tc_report_init(&r, FIRST, WINDOW, 0), 0);
    assert_int_equal(tc_report_set_missing(&r, FIRST, NULL, 1), -EINVAL); /* not one node */
}

static void test_merge_assoc_commut(void **state)
{
    struct tc_report a, b, c, x, y, z, empty;
    struct tu_prng p;
    int round;

    (void)state;
    tu_prng_seed(&p, 42);
    for (round = 0; round < 50; round++) {
        node_random(&a, &p, 10);
        node_random(&b, &p, 50);
        node_random(&c, &p, round);
        if (round % 3 == 0) /* aggregates as well as single nodes */
            assert_int_equal(tc_report_merge(&a, &c), 0);
        /* (a + b) + c */
        x = a;
        assert_int_equal(tc_report_merge(&x, &b), 0);
        assert_int_equal(tc_report_merge(&x, &c), 0);
        /* a + (b + c) */
        z = b;
        assert_int_equal(tc_report_merge(&z, &c), 0);
        y = a;
        assert_int_equal(tc_report_merge(&y, &z), 0);
        assert_memory_equal(&x, &y, sizeof(x));
        /* (c + a) + b */
        y = c;
        assert_int_equal(tc_report_merge(&y, &a), 0);
        assert_int_equal(tc_report_merge(&y, &b), 0);
        assert_memory_equal(&x, &y, sizeof(x));
        /* the empty report is the identity */
        assert_int_equal(tc_report_init(&empty, FIRST, WINDOW, 0), 0);
        y = x;
        assert_int_equal(tc_report_merge(&y, &empty), 0);
        assert_memory_equal(&x, &y, sizeof(x));
        assert_int_equal(tc_report_merge(&empty, &x), 0);
        assert_memory_equal(&x, &empty, sizeof(x));
        check_ok(&x);
    }
}

/**
 * k nodes aggregated as a tree of fan-out 16 (children into parents, parents
 * into the root) and flat; both must give the same bytes.
 */
static void aggregate(uint32_t k, struct tc_report *root)
{
    struct tc_report flat, group, one;
    struct tu_prng p;
    uint32_t i, max5 = 0;

    tu_prng_seed(&p, k);
    assert_int_equal(tc_report_init(root, FIRST, WINDOW, 0), 0);
    assert_int_equal(tc_report_init(&flat, FIRST, WINDOW, 0), 0);
    assert_int_equal(tc_report_init(&group, FIRST, WINDOW, 0), 0);
    for (i = 0; i < k; i++) {
        node_random(&one, &p, 10);
        if (one.chunk[5].max_missing > max5)
            max5 = one.chunk[5].max_missing;
        assert_int_equal(tc_report_merge(&flat, &one), 0);
        assert_int_equal(tc_report_merge(&group, &one), 0);
        if (i % 16 == 15 || i == k - 1) {
            assert_int_equal(tc_report_merge(root, &group), 0);
            assert_int_equal(tc_report_init(&group, FIRST, WINDOW, 0), 0);
        }
    }
    assert_memory_equal(root, &flat, sizeof(flat));
    assert_int_equal(root->nodes, k);
    assert_int_equal(root->chunk[5].max_missing, max5);
    check_ok(root);
}

static void test_constant_size(void **state)
{
    static const uint32_t ks[] = {64, 512, 4000};
    struct tc_report root;
    uint32_t i, c, sum, b;

    (void)state;
    /* a report is one fixed-size struct: the same bytes carry 64 or 4,000 nodes */
    assert_true(sizeof(struct tc_report) < 4096);
    for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        aggregate(ks[i], &root);
        for (c = 0; c < WINDOW; c++) {
            for (b = 0, sum = 0; b < TC_REPORT_HIST_BUCKETS; b++)
                sum += root.chunk[c].hist[b];
            assert_int_equal(sum, ks[i]);
            /* at 1% loss of 370 blocks (mean 3.7) nearly every node misses something */
            assert_true(root.chunk[c].hist[0] < ks[i] / 10 + 1);
        }
    }
}

static void test_merge_errors(void **state)
{
    struct tc_report a, b, saved;
    uint32_t i;

    (void)state;
    node_missing(&a, 0, 0, 1);
    assert_int_equal(tc_report_init(&b, FIRST + 1, WINDOW, 1), 0);
    saved = a;
    assert_int_equal(tc_report_merge(&a, &b), -EINVAL);
    assert_int_equal(tc_report_init(&b, FIRST, WINDOW - 1, 1), 0);
    assert_int_equal(tc_report_merge(&a, &b), -EINVAL);
    assert_memory_equal(&a, &saved, sizeof(a));
    /* the node count is bounded */
    assert_int_equal(tc_report_init(&b, FIRST, WINDOW, 1), 0);
    for (i = 1; i < TC_REPORT_NODES_MAX; i++)
        assert_int_equal(tc_report_merge(&a, &b), 0);
    assert_int_equal(a.nodes, TC_REPORT_NODES_MAX);
    saved = a;
    assert_int_equal(tc_report_merge(&a, &b), -E2BIG);
    assert_memory_equal(&a, &saved, sizeof(a));
    check_ok(&a);
}

static void expect_bad(const struct tc_report *r, const char *what)
{
    struct tc_err e = {0};

    assert_int_equal(tc_report_check(r, &e), -EBADMSG);
    if (!strstr(e.msg, what))
        fail_msg("expected \"%s\" in \"%s\"", what, e.msg);
}

static void test_check_rejects_forged(void **state)
{
    struct tc_report good, r;

    (void)state;
    node_missing(&good, 2, 10, 20);
    check_ok(&good);
    r = good;
    r.chunk[2].hist[0]++;
    expect_bad(&r, "histogram counts 2 nodes, not 1");
    r = good;
    r.chunk[2].max_missing = 2;
    expect_bad(&r, "maximum 2 is not in the top bucket 5");
    r = good;
    r.chunk[0].span_nodes[3] = 1;
    expect_bad(&r, "span 3 counts 1 nodes, only 0 miss blocks");
    r = good;
    r.chunk[WINDOW].hist[0] = 1;
    expect_bad(&r, "past the window");
    r = good;
    r.count = 0;
    expect_bad(&r, "out of bounds");
}

/** Set blocks b, b + step, ... (n of them, modulo NBLOCKS) in a missing bitmap. */
static void mark(uint8_t *bm, uint32_t b, uint32_t step, uint32_t n)
{
    uint32_t i, x;

    for (i = 0; i < n; i++) {
        x = (b + i * step) % NBLOCKS;
        bm[x / 8] |= (uint8_t)(1u << (x % 8));
    }
}

static void test_decide_thresholds(void **state)
{
    struct tc_report agg, one;
    struct tc_report_decision d[WINDOW];
    struct tc_report_policy pol = tc_report_policy_default;
    uint8_t bm[(NBLOCKS + 7) / 8];
    uint32_t i, first, count;

    (void)state;
    assert_int_equal(tc_report_init(&agg, FIRST, WINDOW, 0), 0);
    for (i = 0; i < 100; i++) {
        assert_int_equal(tc_report_init(&one, FIRST, WINDOW, 1), 0);
        /* chunk 0: nobody misses anything */
        /* chunk 1: 10 nodes each miss one block, all in different places */
        if (i < 10) {
            memset(bm, 0, sizeof(bm));
            mark(bm, i * 37, 1, 1);
            assert_int_equal(tc_report_set_missing(&one, FIRST + 1, bm, NBLOCKS), 0);
        }
        /* chunk 2: 60 nodes miss all of span 3 (a burst at the seeder), 49 one block of span 5 */
        memset(bm, 0, sizeof(bm));
        if (i >= 40) {
            tc_report_span_blocks(3, NBLOCKS, &first, &count);
            mark(bm, first, 1, count);
        }
        if (i < 49) {
            tc_report_span_blocks(5, NBLOCKS, &first, &count);
            mark(bm, first, 1, 1);
        }
        assert_int_equal(tc_report_set_missing(&one, FIRST + 2, bm, NBLOCKS), 0);
        /* chunk 3: exactly half the nodes miss block 0 (the threshold is inclusive) */
        memset(bm, 0, sizeof(bm));
        if (i % 2 == 0)
            mark(bm, 0, 1, 1);
        assert_int_equal(tc_report_set_missing(&one, FIRST + 3, bm, NBLOCKS), 0);
        /* chunk 4: 95 nodes miss 3 scattered blocks, 5 miss 200: FEC sized for the 95 */
        memset(bm, 0, sizeof(bm));
        mark(bm, i, 7, i < 95 ? 3 : 200);
        assert_int_equal(tc_report_set_missing(&one, FIRST + 4, bm, NBLOCKS), 0);
        /* chunk 5: 94 miss 3, 6 miss 200: 95% needs the top bucket, parity capped */
        memset(bm, 0, sizeof(bm));
        mark(bm, i, 7, i < 94 ? 3 : 200);
        assert_int_equal(tc_report_set_missing(&one, FIRST + 5, bm, NBLOCKS), 0);
        /* chunk 6: only one node of 100 misses everything (a late joiner): local */
        if (i == 7)
            assert_int_equal(tc_report_set_missing(&one, FIRST + 6, NULL, NBLOCKS), 0);
        assert_int_equal(tc_report_merge(&agg, &one), 0);
    }
    check_ok(&agg);
    assert_int_equal(tc_report_decide(&agg, &pol, d), 0);
    assert_int_equal(d[0].chunk, FIRST);
    assert_int_equal(d[0].action, TC_REPORT_NONE);
    assert_int_equal(d[0].parity, 0);
    assert_int_equal(d[1].action, TC_REPORT_LOCAL);
    assert_int_equal(d[1].nodes_missing, 10);
    assert_int_equal(d[1].parity, 1 + TC_REPORT_FEC_MARGIN_BLOCKS_DEFAULT);
    assert_int_equal(d[2].action, TC_REPORT_REMULTICAST);
    assert_int_equal(d[2].span_mask, 1u << 3);
    assert_int_equal(d[2].nodes_missing, 100); /* 0..48 and 40..99 */
    assert_int_equal(d[3].action, TC_REPORT_REMULTICAST);
    assert_int_equal(d[3].span_mask, 1u << 0);
    assert_int_equal(d[3].nodes_missing, 50);
    assert_int_equal(d[4].parity, 3 + TC_REPORT_FEC_MARGIN_BLOCKS_DEFAULT);
    assert_int_equal(d[5].parity, TC_REPORT_FEC_PARITY_MAX_BLOCKS_DEFAULT);
    assert_int_equal(d[6].action, TC_REPORT_LOCAL);
    assert_int_equal(d[6].nodes_missing, 1);
    assert_int_equal(d[6].parity, TC_REPORT_FEC_PARITY_MAX_BLOCKS_DEFAULT);
    assert_int_equal(d[7].action, TC_REPORT_NONE);

    /* raising the threshold by one node turns chunk 3 into local repair */
    pol.correlated_permille = 510;
    assert_int_equal(tc_report_decide(&agg, &pol, d), 0);
    assert_int_equal(d[3].action, TC_REPORT_LOCAL);
    assert_int_equal(d[2].action, TC_REPORT_REMULTICAST);
    /* a bigger parity cap shows the maximum itself (200 + margin) */
    pol.fec_parity_max_blocks = 1000;
    assert_int_equal(tc_report_decide(&agg, &pol, d), 0);
    assert_int_equal(d[5].parity, 200 + TC_REPORT_FEC_MARGIN_BLOCKS_DEFAULT);
    /* one node alone never triggers a re-multicast (correlated_nodes_min) */
    assert_int_equal(tc_report_init(&one, FIRST, WINDOW, 1), 0);
    assert_int_equal(tc_report_set_missing(&one, FIRST, NULL, NBLOCKS), 0);
    assert_int_equal(tc_report_decide(&one, &tc_report_policy_default, d), 0);
    assert_int_equal(d[0].action, TC_REPORT_LOCAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_and_spans),  cmocka_unit_test(test_node_report),
        cmocka_unit_test(test_merge_assoc_commut), cmocka_unit_test(test_constant_size),
        cmocka_unit_test(test_merge_errors),       cmocka_unit_test(test_check_rejects_forged),
        cmocka_unit_test(test_decide_thresholds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
