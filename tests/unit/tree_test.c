// SPDX-License-Identifier: MIT
/* Unit tests for lib/tree.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treecast/tree.h"

/** Seed of the random operation sequences (printed on failure). */
#define RANDOM_SEED 20260101u
/** Operations per random sequence. */
#define RANDOM_OPS 100000u

/** The optimal depth of n nodes in a complete tree of fan-out f, computed independently. */
static uint32_t d_opt(uint32_t f, uint32_t n)
{
    uint64_t cap = 0, width = 1;
    uint32_t d = 0;

    while (cap < n) {
        width *= f;
        cap += width;
        d++;
    }
    return d;
}

static struct tc_tree *make_root(uint32_t nodes_max, uint32_t root_fanout, uint32_t fanout,
                                 uint32_t catchup)
{
    struct tc_tree_params p = {.nodes_max = nodes_max,
                               .fanout = fanout,
                               .root_fanout = root_fanout,
                               .catchup_max = catchup};
    struct tc_tree *t = NULL;
    struct tc_err e = {0};

    assert_int_equal(tc_tree_new(&t, &p, &e), 0);
    assert_non_null(t);
    return t;
}

static struct tc_tree *make(uint32_t nodes_max, uint32_t fanout, uint32_t catchup)
{
    return make_root(nodes_max, 0, fanout, catchup);
}

static void check(const struct tc_tree *t)
{
    struct tc_err e = {0};
    int rc = tc_tree_check(t, &e);

    if (rc != 0)
        fail_msg("tc_tree_check: %s", e.msg);
}

/** Replays change logs: must always agree with tc_tree_parent(). */
struct shadow {
    uint32_t *parent; /**< node -> parent as told by the change logs */
    uint32_t n;       /**< nodes */
};

static void shadow_apply(struct shadow *sh, const struct tc_tree *t)
{
    const struct tc_tree_change *c;
    uint32_t n, i;

    c = tc_tree_changes(t, &n);
    assert_true(n <= TC_TREE_CHANGES_MAX);
    for (i = 0; i < n; i++) {
        assert_true(c[i].node < sh->n);
        if (sh->parent[c[i].node] != c[i].old_parent)
            fail_msg("change %u: node %u old parent %u, shadow says %u", i, c[i].node,
                     c[i].old_parent, sh->parent[c[i].node]);
        sh->parent[c[i].node] = c[i].new_parent;
    }
}

static void shadow_compare(const struct shadow *sh, const struct tc_tree *t, uint64_t seed,
                           uint32_t op)
{
    uint32_t i;

    for (i = 0; i < sh->n; i++)
        if (sh->parent[i] != tc_tree_parent(t, i))
            fail_msg("seed %llu op %u: node %u parent %u, change log says %u",
                     (unsigned long long)seed, op, i, tc_tree_parent(t, i), sh->parent[i]);
}

static void test_params(void **state)
{
    struct tc_tree_params p = {.nodes_max = 10, .fanout = 0, .catchup_max = 1};
    struct tc_tree *t = NULL;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_tree_new(&t, &p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "fan-out 0"));
    tc_err_clear(&e);
    /* a chain deeper than TC_TREE_DEPTH_MAX is refused, one that fits is not */
    p.fanout = 1;
    p.nodes_max = TC_TREE_DEPTH_MAX;
    assert_int_equal(tc_tree_new(&t, &p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "levels deep"));
    tc_err_clear(&e);
    p.nodes_max = TC_TREE_DEPTH_MAX - 1;
    assert_int_equal(tc_tree_new(&t, &p, &e), 0);
    tc_tree_free(t);
    t = NULL;
    /* the widest binary tree still fits */
    p.fanout = 2;
    p.nodes_max = TC_TREE_NODES_MAX;
    assert_int_equal(tc_tree_new(&t, &p, &e), 0);
    tc_tree_free(t);
    t = NULL;
    p.nodes_max = 10;
    p.fanout = TC_TREE_FANOUT_MAX + 1;
    assert_int_equal(tc_tree_new(&t, &p, &e), -EINVAL);
    p.fanout = 8;
    p.catchup_max = 0;
    assert_int_equal(tc_tree_new(&t, &p, NULL), -EINVAL);
    p.catchup_max = 9;
    assert_int_equal(tc_tree_new(&t, &p, NULL), -EINVAL);
    p.catchup_max = 2;
    p.nodes_max = TC_TREE_NODES_MAX + 1;
    assert_int_equal(tc_tree_new(&t, &p, NULL), -EINVAL);
    p.nodes_max = 0;
    assert_int_equal(tc_tree_new(&t, &p, NULL), -EINVAL);
    assert_null(t);
}

static void test_depth_bounds(void **state)
{
    static const uint32_t fanouts[] = {2, 3, 8, 16, 32};
    const uint32_t n_max = 5000;
    uint32_t fi, n, i, d, maxd;
    struct tc_tree *t;

    (void)state;
    for (fi = 0; fi < sizeof(fanouts) / sizeof(fanouts[0]); fi++) {
        uint32_t f = fanouts[fi];

        /* all normal: the newest node is the deepest, exactly at the optimum */
        t = make(n_max, f, 2);
        for (n = 1; n <= n_max; n++) {
            assert_int_equal(tc_tree_add(t, n - 1, TC_TREE_NORMAL), 0);
            d = tc_tree_depth(t, n - 1);
            if (d != d_opt(f, n))
                fail_msg("F=%u N=%u: depth %u, optimum %u", f, n, d, d_opt(f, n));
            assert_true(d + 1 == tc_tree_depth_bound(f, n));
            assert_true(d <= TC_TREE_DEPTH_MAX);
            if (n % 499 == 0 || n == n_max)
                check(t);
        }
        tc_tree_free(t);

        /* every fifth node slow: nobody deeper than the optimum + 1 */
        t = make(n_max, f, f < 4 ? 1 : 4);
        for (n = 1; n <= n_max; n++) {
            assert_int_equal(tc_tree_add(t, n - 1, n % 5 == 0 ? TC_TREE_SLOW : TC_TREE_NORMAL), 0);
            if (n % 250 == 0 || n < 40) {
                maxd = 0;
                for (i = 0; i < n; i++)
                    if (tc_tree_depth(t, i) > maxd)
                        maxd = tc_tree_depth(t, i);
                if (maxd > d_opt(f, n) + 1)
                    fail_msg("F=%u N=%u with slow nodes: depth %u > %u", f, n, maxd,
                             d_opt(f, n) + 1);
                check(t);
            }
        }
        tc_tree_free(t);
    }
    /* the design's figures: F=16 holds 16 + 256 + 4096 nodes in 3 levels */
    assert_int_equal(tc_tree_depth_bound(16, 4368), 4);
    assert_int_equal(tc_tree_depth_bound(16, 4369), 5);
    assert_int_equal(d_opt(16, 4368), 3);
    assert_true(tc_tree_depth_bound(2, TC_TREE_NODES_MAX) <= TC_TREE_DEPTH_MAX);
}

static void test_slow_never_parent(void **state)
{
    struct tu_prng p;
    struct tc_tree *t = make(3000, 8, 2);
    uint32_t i, k, x, kids[64];

    (void)state;
    tu_prng_seed(&p, RANDOM_SEED);
    for (i = 0; i < 3000; i++)
        assert_int_equal(
            tc_tree_add(t, i, tu_prng_next(&p) % 4 == 0 ? TC_TREE_SLOW : TC_TREE_NORMAL), 0);
    for (i = 0; i < 600; i++)
        (void)tc_tree_mark_slow(t, (uint32_t)(tu_prng_next(&p) % 3000));
    check(t);
    for (i = 0; i < 3000; i++) {
        x = tc_tree_parent(t, i);
        if (x != TC_TREE_ROOT && x != TC_TREE_NONE)
            assert_int_equal(tc_tree_class(t, x), TC_TREE_NORMAL);
        if (tc_tree_class(t, i) == TC_TREE_SLOW)
            assert_int_equal(tc_tree_children(t, i, kids, 64), 0);
        k = tc_tree_children(t, i, kids, 64);
        assert_true(k <= 8);
    }
    /* a slow node never appears as anybody's parent, even through the log */
    assert_int_equal(tc_tree_mark_slow(t, 0), 0);
    assert_int_equal(tc_tree_children(t, 0, kids, 64), 0);
    tc_tree_free(t);
}

static void test_catchup_cap_and_waiting(void **state)
{
    struct tc_tree *t = make(100, 8, 2);
    uint32_t i, w, kids[64], k, c, slow;

    (void)state;
    for (i = 0; i < 10; i++)
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
    /* root: 8 normal children, no room; slot 0: 2 normal + 2 slow; 9 leaves x 2 slow */
    for (i = 10; i < 40; i++)
        assert_int_equal(tc_tree_add(t, i, TC_TREE_SLOW), 0);
    check(t);
    assert_int_equal(tc_tree_waiting(t), 10);
    assert_int_equal(tc_tree_parent(t, 39), TC_TREE_NONE);
    for (i = 0; i < 10; i++) {
        k = tc_tree_children(t, i, kids, 64);
        for (c = 0, slow = 0; c < k; c++)
            slow += tc_tree_class(t, kids[c]) == TC_TREE_SLOW;
        assert_int_equal(slow, 2);
    }
    /* new normal nodes bring room: the waiting nodes get parents, oldest first */
    w = tc_tree_waiting(t);
    for (i = 40; i < 50 && tc_tree_waiting(t) > 0; i++) {
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
        assert_true(tc_tree_waiting(t) < w);
        w = tc_tree_waiting(t);
        check(t);
    }
    assert_int_equal(tc_tree_waiting(t), 0);
    assert_int_not_equal(tc_tree_parent(t, 39), TC_TREE_NONE);
    tc_tree_free(t);
}

static void test_dead_parent_orphans(void **state)
{
    const uint32_t n = 1000, f = 16;
    struct tc_tree *t = make(n, f, 2);
    struct shadow sh = {.parent = malloc(n * sizeof(uint32_t)), .n = n};
    uint32_t kids[64], k, i, j, dead, np, round, bound;
    struct tu_prng p;

    (void)state;
    for (i = 0; i < n; i++)
        sh.parent[i] = TC_TREE_NONE;
    tu_prng_seed(&p, RANDOM_SEED + 1);
    for (i = 0; i < n; i++) {
        assert_int_equal(tc_tree_add(t, i, i % 7 == 3 ? TC_TREE_SLOW : TC_TREE_NORMAL), 0);
        shadow_apply(&sh, t);
    }
    for (round = 0; round < 200; round++) {
        /* an interior node: one with children */
        do {
            dead = (uint32_t)(tu_prng_next(&p) % n);
        } while (tc_tree_class(t, dead) != TC_TREE_NORMAL ||
                 tc_tree_children(t, dead, kids, 64) == 0);
        k = tc_tree_children(t, dead, kids, 64);
        assert_true(k <= f);
        assert_int_equal(tc_tree_remove(t, dead), 0);
        shadow_apply(&sh, t);
        assert_int_equal(tc_tree_class(t, dead), TC_TREE_DEAD);
        assert_int_equal(tc_tree_parent(t, dead), TC_TREE_NONE);
        assert_int_equal(tc_tree_children(t, dead, NULL, 0), 0);
        bound = tc_tree_depth_bound(f, tc_tree_nodes(t));
        for (j = 0; j < k; j++) {
            np = tc_tree_parent(t, kids[j]);
            assert_int_not_equal(np, dead);
            /* a live parent: the seeder or a normal node (slow orphans may wait) */
            if (np == TC_TREE_NONE)
                assert_int_equal(tc_tree_class(t, kids[j]), TC_TREE_SLOW);
            else if (np != TC_TREE_ROOT)
                assert_int_equal(tc_tree_class(t, np), TC_TREE_NORMAL);
            assert_true(tc_tree_depth(t, kids[j]) <= bound);
        }
        shadow_compare(&sh, t, RANDOM_SEED + 1, round);
        check(t);
        /* it comes back (restarted) as a new joiner */
        assert_int_equal(tc_tree_add(t, dead, TC_TREE_NORMAL), 0);
        shadow_apply(&sh, t);
    }
    assert_int_equal(tc_tree_waiting(t), 0);
    free(sh.parent);
    tc_tree_free(t);
}

static void test_reparent(void **state)
{
    struct tc_tree *t = make(200, 4, 1);
    uint32_t i, x, old, d;

    (void)state;
    for (i = 0; i < 100; i++)
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
    /* a child of the seeder has nowhere else to go */
    assert_int_equal(tc_tree_reparent(t, 0), -ENOENT);
    for (x = 4; x < 100; x += 7) {
        old = tc_tree_parent(t, x);
        d = tc_tree_depth(t, x);
        assert_int_equal(tc_tree_reparent(t, x), 0);
        assert_int_not_equal(tc_tree_parent(t, x), old);
        assert_int_equal(tc_tree_depth(t, x), d);
        check(t);
    }
    /* a slow child moves to another parent with room */
    assert_int_equal(tc_tree_add(t, 150, TC_TREE_SLOW), 0);
    old = tc_tree_parent(t, 150);
    assert_int_not_equal(old, TC_TREE_NONE);
    assert_int_equal(tc_tree_reparent(t, 150), 0);
    assert_int_not_equal(tc_tree_parent(t, 150), old);
    assert_int_not_equal(tc_tree_parent(t, 150), TC_TREE_NONE);
    assert_int_equal(tc_tree_reparent(t, 199), -ENOENT);
    assert_int_equal(tc_tree_reparent(t, 200), -EINVAL);
    check(t);
    tc_tree_free(t);
}

static void test_errors(void **state)
{
    struct tc_tree *t = make(10, 2, 1);

    (void)state;
    assert_int_equal(tc_tree_add(t, 10, TC_TREE_NORMAL), -EINVAL);
    assert_int_equal(tc_tree_add(t, 1, TC_TREE_DEAD), -EINVAL);
    assert_int_equal(tc_tree_add(t, 1, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_add(t, 1, TC_TREE_SLOW), -EEXIST);
    assert_int_equal(tc_tree_remove(t, 2), -ENOENT);
    assert_int_equal(tc_tree_mark_slow(t, 2), -ENOENT);
    assert_int_equal(tc_tree_mark_normal(t, 2), -ENOENT);
    assert_int_equal(tc_tree_remove(t, 1), 0);
    assert_int_equal(tc_tree_remove(t, 1), -ENOENT);
    assert_int_equal(tc_tree_parent(t, 1), TC_TREE_NONE);
    assert_int_equal(tc_tree_nodes(t), 0);
    check(t);
    tc_tree_free(t);
}

static void random_run(uint64_t seed, uint32_t n, uint32_t f, uint32_t c, uint32_t ops,
                       uint32_t check_every);
static void random_run_root(uint64_t seed, uint32_t n, uint32_t rf, uint32_t f, uint32_t c,
                            uint32_t ops, uint32_t check_every);

/** Fan-out 1: a chain, each node the parent of the next; promotion keeps it a chain. */
static void test_chain(void **state)
{
    const uint32_t n = TC_TREE_DEPTH_MAX - 1;
    uint32_t i, kids[4], cnt;
    const struct tc_tree_change *c;
    struct tc_tree *t = make(n, 1, 1);

    (void)state;
    assert_int_equal(tc_tree_depth_bound(1, 8), 9);
    assert_int_equal(tc_tree_depth_bound(1, 0), 0);
    for (i = 0; i < 8; i++) {
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
        assert_int_equal(tc_tree_parent(t, i), i == 0 ? TC_TREE_ROOT : i - 1);
        assert_int_equal(tc_tree_depth(t, i), i + 1);
        c = tc_tree_changes(t, &cnt);
        assert_int_equal(cnt, 1);
        assert_int_equal(c[0].node, i);
        assert_int_equal(c[0].new_parent, i == 0 ? TC_TREE_ROOT : i - 1);
    }
    check(t);
    assert_int_equal(tc_tree_children(t, TC_TREE_ROOT, kids, 4), 1);
    assert_int_equal(kids[0], 0);
    assert_int_equal(tc_tree_children(t, 3, kids, 4), 1);
    assert_int_equal(kids[0], 4);
    assert_int_equal(tc_tree_children(t, 7, kids, 4), 0);
    /* no other parent at any depth of a chain */
    assert_int_equal(tc_tree_reparent(t, 5), -ENOENT);
    /* node 3 dies: the last node (7) takes its place, between 2 and 4 */
    assert_int_equal(tc_tree_remove(t, 3), 0);
    check(t);
    assert_int_equal(tc_tree_parent(t, 7), 2);
    assert_int_equal(tc_tree_parent(t, 4), 7);
    assert_int_equal(tc_tree_depth(t, 7), 4);
    assert_int_equal(tc_tree_depth(t, 6), 7);
    /* a slow node hangs under the end of the chain, the only place with room */
    assert_int_equal(tc_tree_add(t, 9, TC_TREE_SLOW), 0);
    assert_int_equal(tc_tree_parent(t, 9), 6);
    assert_int_equal(tc_tree_depth(t, 9), 8);
    check(t);
    tc_tree_free(t);
    random_run(RANDOM_SEED + 7, n, 1, 1, RANDOM_OPS / 4, 1);
}

/** One seeded random sequence of ops operations, checked after every check_every. */
static void random_run(uint64_t seed, uint32_t n, uint32_t f, uint32_t c, uint32_t ops,
                       uint32_t check_every)
{
    random_run_root(seed, n, 0, f, c, ops, check_every);
}

/**
 * Children counts checked without tc_tree_check(): the root has at most rf
 * (rf = 0: f), every normal node at most f, slow nodes none.
 */
static void check_caps(const struct tc_tree *t, uint32_t n, uint32_t rf, uint32_t f)
{
    uint32_t kids[TC_TREE_FANOUT_MAX + 1], i, k;

    k = tc_tree_children(t, TC_TREE_ROOT, kids, TC_TREE_FANOUT_MAX + 1);
    if (k > (rf == 0 ? f : rf))
        fail_msg("the root has %u children, root fan-out %u", k, rf);
    for (i = 0; i < n; i++) {
        k = tc_tree_children(t, i, kids, TC_TREE_FANOUT_MAX + 1);
        if (k > f || (k > 0 && tc_tree_class(t, i) != TC_TREE_NORMAL))
            fail_msg("node %u (class %u) has %u children, fan-out %u", i, tc_tree_class(t, i), k,
                     f);
    }
}

/** random_run() with a root fan-out rf (0: f); also checks caps independently. */
static void random_run_root(uint64_t seed, uint32_t n, uint32_t rf, uint32_t f, uint32_t c,
                            uint32_t ops, uint32_t check_every)
{
    struct tc_tree *t = make_root(n, rf, f, c);
    struct shadow sh = {.parent = malloc(n * sizeof(uint32_t)), .n = n};
    struct tc_err e = {0};
    struct tu_prng p;
    uint32_t op, x, r, i;
    enum tc_tree_class cls;
    int rc;

    for (i = 0; i < n; i++)
        sh.parent[i] = TC_TREE_NONE;
    tu_prng_seed(&p, seed);
    for (op = 0; op < ops; op++) {
        x = (uint32_t)(tu_prng_next(&p) % n);
        r = (uint32_t)(tu_prng_next(&p) % 100);
        cls = tc_tree_class(t, x);
        if (r < 40) {
            rc = tc_tree_add(t, x, r < 32 ? TC_TREE_NORMAL : TC_TREE_SLOW);
            assert_int_equal(rc, cls == TC_TREE_NORMAL || cls == TC_TREE_SLOW ? -EEXIST : 0);
        } else if (r < 60) {
            rc = tc_tree_remove(t, x);
            assert_int_equal(rc, cls == TC_TREE_NORMAL || cls == TC_TREE_SLOW ? 0 : -ENOENT);
        } else if (r < 70) {
            rc = tc_tree_mark_slow(t, x);
            assert_int_equal(rc, cls == TC_TREE_NORMAL || cls == TC_TREE_SLOW ? 0 : -ENOENT);
        } else if (r < 80) {
            rc = tc_tree_mark_normal(t, x);
            assert_int_equal(rc, cls == TC_TREE_NORMAL || cls == TC_TREE_SLOW ? 0 : -ENOENT);
        } else {
            rc = tc_tree_reparent(t, x);
            assert_true(rc == 0 || rc == -ENOENT);
        }
        shadow_apply(&sh, t);
        if (op % check_every == 0 || op == ops - 1) {
            if (tc_tree_check(t, &e) != 0)
                fail_msg("seed %llu R=%u F=%u op %u: %s", (unsigned long long)seed, rf, f, op,
                         e.msg);
            shadow_compare(&sh, t, seed, op);
            if (rf != 0)
                check_caps(t, n, rf, f);
        }
    }
    free(sh.parent);
    tc_tree_free(t);
}

static void test_random_ops(void **state)
{
    (void)state;
    random_run(RANDOM_SEED, 400, 16, 2, RANDOM_OPS, 1);
    random_run(RANDOM_SEED + 2, 300, 2, 1, RANDOM_OPS, 1);
    random_run(RANDOM_SEED + 3, 300, 3, 2, RANDOM_OPS / 2, 1);
    random_run(RANDOM_SEED + 4, 300, 8, 3, RANDOM_OPS / 2, 1);
    random_run(RANDOM_SEED + 5, 5000, 32, 4, RANDOM_OPS, 997);
}

/** R = 4, F = 16, 400 normal nodes: 4 children of the root, 16 of every other full parent. */
static void test_root_fanout_shape(void **state)
{
    const uint32_t n = 400;
    uint32_t kids[TC_TREE_FANOUT_MAX + 1], i, k, depth_count[5] = {0}, parents = 0, full = 0;
    struct tc_tree *t = make_root(n, 4, 16, 2);

    (void)state;
    for (i = 0; i < n; i++)
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
    check(t);
    assert_int_equal(tc_tree_children(t, TC_TREE_ROOT, kids, TC_TREE_FANOUT_MAX + 1), 4);
    for (i = 0; i < 4; i++) {
        assert_int_equal(kids[i], i);
        assert_int_equal(tc_tree_parent(t, i), TC_TREE_ROOT);
    }
    /* slot s >= 4 hangs under slot (s - 4) / 16 */
    assert_int_equal(tc_tree_parent(t, 4), 0);
    assert_int_equal(tc_tree_parent(t, 19), 0);
    assert_int_equal(tc_tree_parent(t, 20), 1);
    assert_int_equal(tc_tree_parent(t, 68), 4);
    assert_int_equal(tc_tree_parent(t, 399), (399 - 4) / 16);
    for (i = 0; i < n; i++) {
        k = tc_tree_children(t, i, kids, TC_TREE_FANOUT_MAX + 1);
        assert_true(k <= 16);
        parents += k > 0;
        full += k == 16;
        assert_in_range(tc_tree_depth(t, i), 1, 3);
        depth_count[tc_tree_depth(t, i)]++;
    }
    /* levels of 4, 64, then the remaining 332 */
    assert_int_equal(depth_count[1], 4);
    assert_int_equal(depth_count[2], 64);
    assert_int_equal(depth_count[3], 332);
    /* 396 non-root children in full groups of 16 but the last (396 = 24 x 16 + 12) */
    assert_int_equal(parents, 25);
    assert_int_equal(full, 24);
    /* a slow node cannot go under the full root: it goes under the deepest parent with room */
    tc_tree_free(t);
    t = make_root(n, 4, 16, 2);
    assert_int_equal(tc_tree_add(t, 0, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_add(t, 1, TC_TREE_SLOW), 0);
    assert_int_equal(tc_tree_parent(t, 1), 0);
    assert_int_equal(tc_tree_add(t, 2, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_add(t, 3, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_add(t, 4, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_parent(t, 4), TC_TREE_ROOT);
    /* the root is full (4 normal children): the next normal node goes under node 0 */
    assert_int_equal(tc_tree_add(t, 5, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_parent(t, 5), 0);
    assert_int_equal(tc_tree_children(t, TC_TREE_ROOT, kids, TC_TREE_FANOUT_MAX + 1), 4);
    check(t);
    tc_tree_free(t);
}

/** Root fan-out 1: a single child of the root, which then has F children. */
static void test_root_fanout_one(void **state)
{
    uint32_t kids[TC_TREE_FANOUT_MAX + 1], i;
    struct tc_tree *t = make_root(40, 1, 8, 2);

    (void)state;
    for (i = 0; i < 10; i++)
        assert_int_equal(tc_tree_add(t, i, TC_TREE_NORMAL), 0);
    check(t);
    assert_int_equal(tc_tree_children(t, TC_TREE_ROOT, kids, TC_TREE_FANOUT_MAX + 1), 1);
    assert_int_equal(kids[0], 0);
    assert_int_equal(tc_tree_children(t, 0, kids, TC_TREE_FANOUT_MAX + 1), 8);
    assert_int_equal(tc_tree_parent(t, 9), 1);
    assert_int_equal(tc_tree_depth(t, 9), 3);
    /* a slow node finds no room at the root: it goes under the deepest parent, node 9 */
    assert_int_equal(tc_tree_add(t, 20, TC_TREE_SLOW), 0);
    assert_int_equal(tc_tree_parent(t, 20), 9);
    assert_int_equal(tc_tree_depth(t, 20), 4);
    assert_int_equal(tc_tree_remove(t, 20), 0);
    /* the root's only child dies: the last node is promoted into its slot */
    assert_int_equal(tc_tree_remove(t, 0), 0);
    check(t);
    assert_int_equal(tc_tree_children(t, TC_TREE_ROOT, kids, TC_TREE_FANOUT_MAX + 1), 1);
    assert_int_equal(kids[0], 9);
    assert_int_equal(tc_tree_parent(t, 1), 9);
    /* the root's child has no other parent at its depth */
    assert_int_equal(tc_tree_reparent(t, 9), -ENOENT);
    /* an empty tree with a lone slow node: it goes under the root */
    tc_tree_free(t);
    t = make_root(40, 1, 8, 2);
    assert_int_equal(tc_tree_add(t, 5, TC_TREE_SLOW), 0);
    assert_int_equal(tc_tree_parent(t, 5), TC_TREE_ROOT);
    /* the root is full: a normal node takes the place, the slow one moves under it */
    assert_int_equal(tc_tree_add(t, 6, TC_TREE_NORMAL), 0);
    assert_int_equal(tc_tree_parent(t, 6), TC_TREE_ROOT);
    assert_int_equal(tc_tree_parent(t, 5), 6);
    check(t);
    tc_tree_free(t);
    random_run_root(RANDOM_SEED + 11, 200, 1, 8, 2, 4000, 1);
}

/** Depth bounds with a root fan-out, and parameter checks. */
static void test_root_fanout_bounds(void **state)
{
    struct tc_tree_params p = {.nodes_max = 400, .fanout = 16, .root_fanout = 17, .catchup_max = 2};
    struct tc_tree *t = NULL;
    struct tc_err e = {0};

    (void)state;
    /* 4 + 64 = 68 < 400 <= 4 + 64 + 1024: normal depth 3, slow leaves 4 */
    assert_int_equal(tc_tree_depth_bound_root(4, 16, 400), 4);
    assert_int_equal(tc_tree_depth_bound_root(4, 16, 68), 3);
    assert_int_equal(tc_tree_depth_bound_root(4, 16, 69), 4);
    /* 4 + 32 + 256 + 2048 = 2340 < 4000 <= 2340 + 16384: normal depth 5, slow 6 */
    assert_int_equal(tc_tree_depth_bound_root(4, 8, 4000), 6);
    assert_int_equal(tc_tree_depth_bound_root(4, 8, 2340), 5);
    assert_int_equal(tc_tree_depth_bound_root(4, 8, 2341), 6);
    /* R = F is the old bound */
    assert_int_equal(tc_tree_depth_bound_root(16, 16, 400), tc_tree_depth_bound(16, 400));
    assert_int_equal(tc_tree_depth_bound_root(1, 1, 8), 9);
    assert_int_equal(tc_tree_depth_bound_root(4, 16, 0), 0);
    assert_int_equal(tc_tree_depth_bound_root(0, 16, 10), 0);
    /* R > F is refused; R = 1 with F = 2 and the most nodes still fits the depth cap */
    assert_int_equal(tc_tree_new(&t, &p, &e), -EINVAL);
    assert_null(t);
    assert_non_null(strstr(e.msg, "root fan-out 17"));
    p.root_fanout = 1;
    p.fanout = 2;
    p.catchup_max = 1;
    p.nodes_max = TC_TREE_NODES_MAX;
    assert_int_equal(tc_tree_depth_bound_root(1, 2, TC_TREE_NODES_MAX), TC_TREE_DEPTH_MAX);
    assert_int_equal(tc_tree_new(&t, &p, &e), 0);
    tc_tree_free(t);
    t = NULL;
    /* R = 1, F = 1 is a chain: 16 nodes at most */
    p.fanout = 1;
    p.nodes_max = TC_TREE_DEPTH_MAX;
    assert_int_equal(tc_tree_new(&t, &p, &e), -EINVAL);
    assert_null(t);
}

/** Random add/remove/mark_slow/mark_normal/reparent with R < F keep every invariant. */
static void test_root_fanout_random(void **state)
{
    (void)state;
    random_run_root(RANDOM_SEED + 12, 400, 4, 16, 2, 5000, 1);
    random_run_root(RANDOM_SEED + 13, 300, 2, 8, 3, 5000, 1);
    random_run_root(RANDOM_SEED + 14, 120, 3, 4, 1, 5000, 1);
    random_run_root(RANDOM_SEED + 15, 2000, 4, 32, 4, 5000, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_depth_bounds),
        cmocka_unit_test(test_slow_never_parent),
        cmocka_unit_test(test_catchup_cap_and_waiting),
        cmocka_unit_test(test_dead_parent_orphans),
        cmocka_unit_test(test_reparent),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_root_fanout_shape),
        cmocka_unit_test(test_root_fanout_one),
        cmocka_unit_test(test_root_fanout_bounds),
        cmocka_unit_test(test_root_fanout_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
