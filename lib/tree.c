// SPDX-License-Identifier: MIT
/*
 * The seeder's repair tree: a complete F-ary tree of normal nodes kept in
 * breadth-first slot order, with slow nodes hanging as leaves under the
 * deepest normal nodes that have room. See include/treecast/tree.h and
 * docs/protocol-core.md for the policy.
 *
 * Work per operation is bounded by the fan-out: a normal join is O(1); a
 * removal, demotion or re-parenting moves one node and re-parents at most
 * 2F normal children and 2C slow ones (C = catchup_max); finding a parent
 * for a slow node is a search of a three-level bitmap (O(1) for up to 2^18
 * parents). Change-log bound, per operation (F, C <= TC_TREE_FANOUT_MAX,
 * drain <= TC_TREE_DRAIN_MAX): the worst is a normal re-parent, 2 moved
 * nodes + 2F children + 2C evicted slow children + drain <= 5 x 32 + 2.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/tree.h"

/** "No slot", "no node", "no list entry" in the internal arrays. */
#define NIL 0xffffffffu
/** Bits per bitmap word. */
#define WORD_BITS 64u

/** The tree. Arrays indexed by node have nodes_max entries, by parent id nodes_max + 1. */
struct tc_tree {
    struct tc_tree_params p; /**< parameters, validated; p.root_fanout is never 0 */
    uint32_t n;              /**< nodes_max; also the parent id of the root */
    uint8_t *cls;            /**< node -> enum tc_tree_class */
    uint32_t *slot_of;       /**< node -> slot (normal nodes), NIL otherwise */
    uint32_t *node_at;       /**< slot -> node, valid for slots < mn */
    uint32_t mn;             /**< normal nodes = slots in use, 0..n */
    uint32_t alive;          /**< normal + slow nodes */
    uint32_t *sparent;       /**< slow node -> parent id (node or n = root), NIL if none */
    uint32_t *snext;         /**< next in a slow-children list or in the waiting list */
    uint32_t *sprev;         /**< previous in the same list, NIL at the head */
    uint32_t *shead;         /**< parent id -> first slow child, NIL if none */
    uint32_t *nslow;         /**< parent id -> slow children */
    uint32_t whead;          /**< first waiting slow node (FIFO), NIL if none */
    uint32_t wtail;          /**< last waiting slow node, NIL if none */
    uint32_t nwait;          /**< waiting slow nodes */
    /**
     * Parents that can take a slow child, as bits: bit 0 = the root, bit
     * s + 1 = the node in slot s. Three levels so that the deepest eligible
     * parent (the highest bit) is found in three word reads.
     */
    uint64_t *bm0;                                      /**< one bit per parent */
    uint64_t *bm1;                                      /**< bit w: bm0[w] != 0 */
    uint64_t *bm2;                                      /**< bit w: bm1[w] != 0 */
    uint32_t words0;                                    /**< words of bm0 */
    uint32_t words1;                                    /**< words of bm1 */
    uint32_t words2;                                    /**< words of bm2 (1 here) */
    struct tc_tree_change changes[TC_TREE_CHANGES_MAX]; /**< the last operation's log */
    uint32_t nchanges;                                  /**< entries in changes */
};

/** Index of the highest set bit of a non-zero word. */
static uint32_t msb64(uint64_t w)
{
    return 63u - (uint32_t)__builtin_clzll(w);
}

/** A mask of bits 0..b. */
static uint64_t mask_upto(uint32_t b)
{
    return b >= 63u ? ~0ull : (2ull << b) - 1u;
}

/** Set or clear bit b of the three-level bitmap. */
static void bm_put(struct tc_tree *t, uint32_t b, int on)
{
    uint32_t w0 = b / WORD_BITS, w1 = w0 / WORD_BITS;

    if (on) {
        t->bm0[w0] |= 1ull << (b % WORD_BITS);
        t->bm1[w1] |= 1ull << (w0 % WORD_BITS);
        t->bm2[w1 / WORD_BITS] |= 1ull << (w1 % WORD_BITS);
        return;
    }
    t->bm0[w0] &= ~(1ull << (b % WORD_BITS));
    if (t->bm0[w0] == 0) {
        t->bm1[w1] &= ~(1ull << (w0 % WORD_BITS));
        if (t->bm1[w1] == 0)
            t->bm2[w1 / WORD_BITS] &= ~(1ull << (w1 % WORD_BITS));
    }
}

/** The highest set bit <= limit, or NIL. */
static uint32_t bm_last_le(const struct tc_tree *t, uint32_t limit)
{
    uint32_t w0 = limit / WORD_BITS, w1, w2;
    uint64_t m;

    m = t->bm0[w0] & mask_upto(limit % WORD_BITS);
    if (m)
        return w0 * WORD_BITS + msb64(m);
    if (w0 == 0)
        return NIL;
    w0--;
    w1 = w0 / WORD_BITS;
    m = t->bm1[w1] & mask_upto(w0 % WORD_BITS);
    if (m) {
        w0 = w1 * WORD_BITS + msb64(m);
        return w0 * WORD_BITS + msb64(t->bm0[w0]);
    }
    if (w1 == 0)
        return NIL;
    w1--;
    w2 = w1 / WORD_BITS;
    m = t->bm2[w2] & mask_upto(w1 % WORD_BITS);
    if (m) {
        w1 = w2 * WORD_BITS + msb64(m);
        w0 = w1 * WORD_BITS + msb64(t->bm1[w1]);
        return w0 * WORD_BITS + msb64(t->bm0[w0]);
    }
    /* tc_tree_new() makes bm2 a single word */
    return NIL;
}

/** First child slot of slot s (s == NIL: the root): R + s*F, 0 for the root. */
static uint64_t slot_first_child(const struct tc_tree *t, uint32_t s)
{
    return s == NIL ? 0 : t->p.root_fanout + (uint64_t)s * t->p.fanout;
}

/** Child places of slot s (s == NIL: the root, R places; F otherwise). */
static uint32_t slot_capacity(const struct tc_tree *t, uint32_t s)
{
    return s == NIL ? t->p.root_fanout : t->p.fanout;
}

/** Normal children of slot s (s == NIL: the root), given mn slots in use. */
static uint32_t slot_normal_children(const struct tc_tree *t, uint32_t s)
{
    uint64_t first = slot_first_child(t, s);
    uint32_t cap = slot_capacity(t, s);

    if (t->mn <= first)
        return 0;
    return t->mn - first < cap ? (uint32_t)(t->mn - first) : cap;
}

/** The slot of parent id pid (NIL for the root). */
static uint32_t pid_slot(const struct tc_tree *t, uint32_t pid)
{
    return pid == t->n ? NIL : t->slot_of[pid];
}

/** True if parent id pid may take one more slow child. */
static int pid_eligible(const struct tc_tree *t, uint32_t pid)
{
    uint32_t used;

    if (pid != t->n && (t->cls[pid] != TC_TREE_NORMAL || t->slot_of[pid] == NIL))
        return 0;
    used = slot_normal_children(t, pid_slot(t, pid)) + t->nslow[pid];
    return t->nslow[pid] < t->p.catchup_max && used < slot_capacity(t, pid_slot(t, pid));
}

/** Recompute the eligibility bit of parent id pid (which must hold a slot or be the root). */
static void pid_update(struct tc_tree *t, uint32_t pid)
{
    uint32_t s = pid_slot(t, pid);

    bm_put(t, s == NIL ? 0 : s + 1, pid_eligible(t, pid));
}

/** The public parent value of parent id pid. */
static uint32_t pid_public(const struct tc_tree *t, uint32_t pid)
{
    return pid == t->n ? TC_TREE_ROOT : pid;
}

/** The parent id of bit b of the eligibility bitmap. */
static uint32_t bit_pid(const struct tc_tree *t, uint32_t b)
{
    return b == 0 ? t->n : t->node_at[b - 1];
}

/** The parent id of the node in slot s. */
static uint32_t slot_parent_pid(const struct tc_tree *t, uint32_t s)
{
    return s < t->p.root_fanout ? t->n : t->node_at[(s - t->p.root_fanout) / t->p.fanout];
}

/** Append a change to the log (nothing if the parent did not change). */
static void log_change(struct tc_tree *t, uint32_t node, uint32_t old_parent, uint32_t new_parent)
{
    if (old_parent == new_parent)
        return;
    assert(t->nchanges < TC_TREE_CHANGES_MAX);
    t->changes[t->nchanges].node = node;
    t->changes[t->nchanges].old_parent = old_parent;
    t->changes[t->nchanges].new_parent = new_parent;
    t->nchanges++;
}

/** Put node x in slot s and refresh the slot's eligibility bit. */
static void slot_put(struct tc_tree *t, uint32_t x, uint32_t s)
{
    t->node_at[s] = x;
    t->slot_of[x] = s;
    pid_update(t, x);
}

/** Link slow node x as a child of parent id pid. */
static void slow_attach(struct tc_tree *t, uint32_t x, uint32_t pid)
{
    t->sparent[x] = pid;
    t->sprev[x] = NIL;
    t->snext[x] = t->shead[pid];
    if (t->shead[pid] != NIL)
        t->sprev[t->shead[pid]] = x;
    t->shead[pid] = x;
    t->nslow[pid]++;
    pid_update(t, pid);
}

/** Unlink slow node x from its parent's list. */
static void slow_detach(struct tc_tree *t, uint32_t x)
{
    uint32_t pid = t->sparent[x];

    assert(pid != NIL);
    if (t->sprev[x] != NIL)
        t->snext[t->sprev[x]] = t->snext[x];
    else
        t->shead[pid] = t->snext[x];
    if (t->snext[x] != NIL)
        t->sprev[t->snext[x]] = t->sprev[x];
    t->snext[x] = t->sprev[x] = NIL;
    t->sparent[x] = NIL;
    t->nslow[pid]--;
    if (pid == t->n || t->slot_of[pid] != NIL)
        pid_update(t, pid);
}

/** Append slow node x to the waiting FIFO. */
static void wait_push(struct tc_tree *t, uint32_t x)
{
    t->snext[x] = NIL;
    t->sprev[x] = t->wtail;
    if (t->wtail != NIL)
        t->snext[t->wtail] = x;
    else
        t->whead = x;
    t->wtail = x;
    t->nwait++;
}

/** Take slow node x out of the waiting FIFO. */
static void wait_unlink(struct tc_tree *t, uint32_t x)
{
    if (t->sprev[x] != NIL)
        t->snext[t->sprev[x]] = t->snext[x];
    else
        t->whead = t->snext[x];
    if (t->snext[x] != NIL)
        t->sprev[t->snext[x]] = t->sprev[x];
    else
        t->wtail = t->sprev[x];
    t->snext[x] = t->sprev[x] = NIL;
    t->nwait--;
}

/** The deepest parent id that can take a slow child, other than exclude; NIL if none. */
static uint32_t find_slow_parent(const struct tc_tree *t, uint32_t exclude)
{
    uint32_t b = bm_last_le(t, t->n);

    if (b != NIL && bit_pid(t, b) == exclude)
        b = b == 0 ? NIL : bm_last_le(t, b - 1);
    return b == NIL ? NIL : bit_pid(t, b);
}

/**
 * Give slow node x (attached nowhere) a parent other than exclude, or make
 * it wait. old is its public parent before the operation, for the log.
 */
static void place_slow(struct tc_tree *t, uint32_t x, uint32_t old, uint32_t exclude)
{
    uint32_t pid = find_slow_parent(t, exclude);

    if (pid == NIL) {
        wait_push(t, x);
        log_change(t, x, old, TC_TREE_NONE);
        return;
    }
    slow_attach(t, x, pid);
    log_change(t, x, old, pid_public(t, pid));
}

/** Move slow children off parent id pid until its children fit in its capacity. */
static void fix_overflow(struct tc_tree *t, uint32_t pid)
{
    uint32_t x, s = pid_slot(t, pid);

    while (t->nslow[pid] > 0 && slot_normal_children(t, s) + t->nslow[pid] > slot_capacity(t, s)) {
        x = t->shead[pid];
        slow_detach(t, x);
        place_slow(t, x, pid_public(t, pid), pid);
    }
}

/** Re-place every slow child of node x, which can no longer be a parent. */
static void evict_all_slow(struct tc_tree *t, uint32_t x)
{
    uint32_t c;

    while (t->shead[x] != NIL) {
        c = t->shead[x];
        slow_detach(t, c);
        place_slow(t, c, x, x);
    }
}

/** Give node x (no slot, class set to normal by the caller) the next slot. */
static void append_normal(struct tc_tree *t, uint32_t x, uint32_t old)
{
    uint32_t s = t->mn, qpid;

    t->mn++;
    slot_put(t, x, s);
    qpid = slot_parent_pid(t, s);
    log_change(t, x, old, pid_public(t, qpid));
    pid_update(t, qpid);
    fix_overflow(t, qpid);
}

/**
 * Take normal node x out of its slot by promotion: the node in the last slot
 * (a leaf of the normal tree) moves into x's slot and becomes the parent of
 * x's normal children. x's slow children are left for the caller.
 */
static void release_slot(struct tc_tree *t, uint32_t x)
{
    uint32_t s = t->slot_of[x], last = t->mn - 1, y, old_y, c, end;

    bm_put(t, last + 1, 0);
    t->slot_of[x] = NIL;
    if (s == last) {
        t->mn--;
        pid_update(t, slot_parent_pid(t, last));
        return;
    }
    y = t->node_at[last];
    old_y = pid_public(t, slot_parent_pid(t, last));
    t->mn--;
    slot_put(t, y, s);
    log_change(t, y, old_y, pid_public(t, slot_parent_pid(t, s)));
    c = (uint32_t)slot_first_child(t, s);
    end = c + slot_normal_children(t, s);
    for (; c < end; c++)
        log_change(t, t->node_at[c], x, y);
    pid_update(t, slot_parent_pid(t, last));
    fix_overflow(t, y);
}

/** Exchange the nodes in slots a and b (same level): each takes the other's parent and children. */
static void swap_slots(struct tc_tree *t, uint32_t a, uint32_t b)
{
    uint32_t x = t->node_at[a], y = t->node_at[b], c, end;
    uint32_t pa = pid_public(t, slot_parent_pid(t, a)), pb = pid_public(t, slot_parent_pid(t, b));

    slot_put(t, y, a);
    slot_put(t, x, b);
    log_change(t, x, pa, pb);
    log_change(t, y, pb, pa);
    c = (uint32_t)slot_first_child(t, a);
    for (end = c + slot_normal_children(t, a); c < end; c++)
        log_change(t, t->node_at[c], x, y);
    c = (uint32_t)slot_first_child(t, b);
    for (end = c + slot_normal_children(t, b); c < end; c++)
        log_change(t, t->node_at[c], y, x);
    fix_overflow(t, x);
    fix_overflow(t, y);
}

/** Place up to TC_TREE_DRAIN_MAX waiting slow nodes where room has appeared. */
static void drain(struct tc_tree *t)
{
    uint32_t i, x, pid;

    for (i = 0; i < TC_TREE_DRAIN_MAX && t->whead != NIL; i++) {
        pid = find_slow_parent(t, NIL);
        if (pid == NIL)
            return;
        x = t->whead;
        wait_unlink(t, x);
        slow_attach(t, x, pid);
        log_change(t, x, TC_TREE_NONE, pid_public(t, pid));
    }
}

/** First slot of depth d (d >= 1) for root fan-out r and fan-out f, saturated at UINT64_MAX / 2. */
static uint64_t level_start(uint64_t r, uint64_t f, uint32_t d)
{
    uint64_t lo = 0, width = r;

    while (--d > 0 && lo < UINT64_MAX / 4) {
        lo += width;
        width = width < UINT64_MAX / 64 ? width * f : UINT64_MAX / 4;
    }
    return lo;
}

/** Depth of slot s for root fan-out r and fan-out f: 1 for slots 0..r-1. */
static uint32_t slot_depth(uint64_t r, uint64_t f, uint64_t s)
{
    uint64_t lo = 0, width = r;
    uint32_t d = 1;

    while (s >= lo + width) {
        lo += width;
        width *= f;
        d++;
    }
    return d;
}

/**
 * Create a tree for nodes 0..p->nodes_max-1. All memory is allocated here.
 * Returns 0, -EINVAL (a parameter out of its bounds, named in err) or -ENOMEM.
 */
int tc_tree_new(struct tc_tree **out, const struct tc_tree_params *p, struct tc_err *err)
{
    struct tc_tree *t;
    uint32_t n, i, r, bound;

    *out = NULL;
    if (p->nodes_max < 1 || p->nodes_max > TC_TREE_NODES_MAX)
        return tc_err_set(err, -EINVAL, "tree: nodes_max %u is outside 1..%u", p->nodes_max,
                          TC_TREE_NODES_MAX);
    if (p->fanout < TC_TREE_FANOUT_MIN || p->fanout > TC_TREE_FANOUT_MAX)
        return tc_err_set(err, -EINVAL, "tree: fan-out %u is outside %u..%u", p->fanout,
                          TC_TREE_FANOUT_MIN, TC_TREE_FANOUT_MAX);
    r = p->root_fanout == 0 ? p->fanout : p->root_fanout;
    if (r > p->fanout)
        return tc_err_set(err, -EINVAL, "tree: root fan-out %u is outside 1..%u (the fan-out)", r,
                          p->fanout);
    bound = tc_tree_depth_bound_root(r, p->fanout, p->nodes_max);
    if (bound > TC_TREE_DEPTH_MAX)
        return tc_err_set(
            err, -EINVAL,
            "tree: fan-out %u (root fan-out %u) with %u nodes is %u levels deep, more than %u",
            p->fanout, r, p->nodes_max, bound, TC_TREE_DEPTH_MAX);
    if (p->catchup_max < 1 || p->catchup_max > p->fanout)
        return tc_err_set(err, -EINVAL, "tree: catch-up cap %u is outside 1..%u (the fan-out)",
                          p->catchup_max, p->fanout);
    t = calloc(1, sizeof(*t));
    if (!t)
        return tc_err_set(err, -ENOMEM, "tree: out of memory for %u nodes", p->nodes_max);
    n = p->nodes_max;
    t->p = *p;
    t->p.root_fanout = r;
    t->n = n;
    t->words0 = (n + 1 + WORD_BITS - 1) / WORD_BITS;
    t->words1 = (t->words0 + WORD_BITS - 1) / WORD_BITS;
    t->words2 = (t->words1 + WORD_BITS - 1) / WORD_BITS;
    assert(t->words2 == 1);
    t->cls = calloc(n, 1);
    t->slot_of = malloc(n * sizeof(uint32_t));
    t->node_at = malloc(n * sizeof(uint32_t));
    t->sparent = malloc(n * sizeof(uint32_t));
    t->snext = malloc(n * sizeof(uint32_t));
    t->sprev = malloc(n * sizeof(uint32_t));
    t->shead = malloc((n + 1) * sizeof(uint32_t));
    t->nslow = calloc(n + 1, sizeof(uint32_t));
    t->bm0 = calloc(t->words0, sizeof(uint64_t));
    t->bm1 = calloc(t->words1, sizeof(uint64_t));
    t->bm2 = calloc(t->words2, sizeof(uint64_t));
    if (!t->cls || !t->slot_of || !t->node_at || !t->sparent || !t->snext || !t->sprev ||
        !t->shead || !t->nslow || !t->bm0 || !t->bm1 || !t->bm2) {
        tc_tree_free(t);
        return tc_err_set(err, -ENOMEM, "tree: out of memory for %u nodes", n);
    }
    for (i = 0; i < n; i++) {
        t->slot_of[i] = t->node_at[i] = t->sparent[i] = NIL;
        t->snext[i] = t->sprev[i] = t->shead[i] = NIL;
    }
    t->shead[n] = NIL;
    t->whead = t->wtail = NIL;
    pid_update(t, n);
    *out = t;
    return 0;
}

/** Free a tree (NULL is fine). */
void tc_tree_free(struct tc_tree *t)
{
    if (!t)
        return;
    free(t->cls);
    free(t->slot_of);
    free(t->node_at);
    free(t->sparent);
    free(t->snext);
    free(t->sprev);
    free(t->shead);
    free(t->nslow);
    free(t->bm0);
    free(t->bm1);
    free(t->bm2);
    free(t);
}

/**
 * Add node (absent or dead) as cls (TC_TREE_NORMAL or TC_TREE_SLOW). A
 * normal node takes the next breadth-first slot (O(1)); a slow node becomes a
 * leaf of the deepest parent with room, or waits. Returns 0, -EINVAL (index
 * or class) or -EEXIST (already in the tree). The change log holds the result.
 */
int tc_tree_add(struct tc_tree *t, uint32_t node, enum tc_tree_class cls)
{
    t->nchanges = 0;
    if (node >= t->n || (cls != TC_TREE_NORMAL && cls != TC_TREE_SLOW))
        return -EINVAL;
    if (t->cls[node] == TC_TREE_NORMAL || t->cls[node] == TC_TREE_SLOW)
        return -EEXIST;
    t->cls[node] = (uint8_t)cls;
    t->alive++;
    if (cls == TC_TREE_NORMAL)
        append_normal(t, node, TC_TREE_NONE);
    else
        place_slow(t, node, TC_TREE_NONE, NIL);
    drain(t);
    return 0;
}

/** Take slow node x off its parent or out of the waiting list; returns its old public parent. */
static uint32_t slow_unplace(struct tc_tree *t, uint32_t x)
{
    uint32_t old;

    if (t->sparent[x] == NIL) {
        wait_unlink(t, x);
        return TC_TREE_NONE;
    }
    old = pid_public(t, t->sparent[x]);
    slow_detach(t, x);
    return old;
}

/**
 * Mark node dead (it crashed or timed out). A normal node's slot goes to the
 * node in the last slot (promotion), which becomes the parent of its normal
 * children; its slow children move to other parents. Returns 0, -EINVAL or
 * -ENOENT (not in the tree).
 */
int tc_tree_remove(struct tc_tree *t, uint32_t node)
{
    uint32_t old;

    t->nchanges = 0;
    if (node >= t->n)
        return -EINVAL;
    if (t->cls[node] == TC_TREE_NORMAL) {
        old = pid_public(t, slot_parent_pid(t, t->slot_of[node]));
        log_change(t, node, old, TC_TREE_NONE);
        release_slot(t, node);
        evict_all_slow(t, node);
    } else if (t->cls[node] == TC_TREE_SLOW) {
        old = slow_unplace(t, node);
        log_change(t, node, old, TC_TREE_NONE);
    } else {
        return -ENOENT;
    }
    t->cls[node] = TC_TREE_DEAD;
    t->alive--;
    drain(t);
    return 0;
}

/**
 * Demote node to a slow leaf (straggler, lossy link). Its slot goes to the
 * last-slot node as in tc_tree_remove(); its slow children move; it becomes
 * a leaf of the deepest parent with room, or waits. Slow already: no change.
 * Returns 0, -EINVAL or -ENOENT.
 */
int tc_tree_mark_slow(struct tc_tree *t, uint32_t node)
{
    uint32_t old;

    t->nchanges = 0;
    if (node >= t->n)
        return -EINVAL;
    if (t->cls[node] == TC_TREE_SLOW)
        return 0;
    if (t->cls[node] != TC_TREE_NORMAL)
        return -ENOENT;
    old = pid_public(t, slot_parent_pid(t, t->slot_of[node]));
    release_slot(t, node);
    evict_all_slow(t, node);
    t->cls[node] = TC_TREE_SLOW;
    place_slow(t, node, old, NIL);
    drain(t);
    return 0;
}

/**
 * Promote a slow node back to normal (it caught up): it takes the next slot.
 * Normal already: no change. Returns 0, -EINVAL or -ENOENT.
 */
int tc_tree_mark_normal(struct tc_tree *t, uint32_t node)
{
    uint32_t old;

    t->nchanges = 0;
    if (node >= t->n)
        return -EINVAL;
    if (t->cls[node] == TC_TREE_NORMAL)
        return 0;
    if (t->cls[node] != TC_TREE_SLOW)
        return -ENOENT;
    old = slow_unplace(t, node);
    t->cls[node] = TC_TREE_NORMAL;
    append_normal(t, node, old);
    drain(t);
    return 0;
}

/**
 * A child says its parent is silent: give it another parent at the same
 * depth. A normal child swaps slots with a node of its level under another
 * parent (the last of the level, else the one just before its siblings):
 * subtrees follow the slots, so depths do not change; the other node gets
 * the silent parent, and the seeder decides separately (heartbeats, other
 * complaints) whether to tc_tree_remove() that parent. A slow child moves to
 * another parent with room. Returns 0, -EINVAL, -ENOENT (not placed, or no
 * other parent at that depth: the seeder's children, or a single sibling
 * group) with nothing changed.
 */
int tc_tree_reparent(struct tc_tree *t, uint32_t node)
{
    uint32_t s, d, p, lo, hi, bstart, bend, other, pid;
    uint64_t hi64;

    t->nchanges = 0;
    if (node >= t->n)
        return -EINVAL;
    if (t->cls[node] == TC_TREE_SLOW) {
        pid = t->sparent[node];
        if (pid == NIL)
            return -ENOENT;
        other = find_slow_parent(t, pid);
        if (other == NIL)
            return -ENOENT;
        slow_detach(t, node);
        slow_attach(t, node, other);
        log_change(t, node, pid_public(t, pid), pid_public(t, other));
        return 0;
    }
    if (t->cls[node] != TC_TREE_NORMAL)
        return -ENOENT;
    s = t->slot_of[node];
    if (s < t->p.root_fanout)
        return -ENOENT;
    d = slot_depth(t->p.root_fanout, t->p.fanout, s);
    lo = (uint32_t)level_start(t->p.root_fanout, t->p.fanout, d);
    hi64 = level_start(t->p.root_fanout, t->p.fanout, d + 1);
    hi = hi64 < t->mn ? (uint32_t)hi64 : t->mn;
    p = (s - t->p.root_fanout) / t->p.fanout;
    bstart = (uint32_t)slot_first_child(t, p);
    bend = bstart + t->p.fanout;
    if (hi - 1 >= bend)
        other = hi - 1;
    else if (bstart > lo)
        other = bstart - 1;
    else
        return -ENOENT;
    swap_slots(t, s, other);
    drain(t);
    return 0;
}

/** The class of node (TC_TREE_ABSENT for an index out of range). */
enum tc_tree_class tc_tree_class(const struct tc_tree *t, uint32_t node)
{
    return node < t->n ? (enum tc_tree_class)t->cls[node] : TC_TREE_ABSENT;
}

/** The parent of node: a node index, TC_TREE_ROOT, or TC_TREE_NONE (absent, dead, waiting). */
uint32_t tc_tree_parent(const struct tc_tree *t, uint32_t node)
{
    if (node >= t->n)
        return TC_TREE_NONE;
    if (t->cls[node] == TC_TREE_NORMAL)
        return pid_public(t, slot_parent_pid(t, t->slot_of[node]));
    if (t->cls[node] == TC_TREE_SLOW && t->sparent[node] != NIL)
        return pid_public(t, t->sparent[node]);
    return TC_TREE_NONE;
}

/** Depth of node (1 = a child of the seeder; 0 = the root, or not placed). */
uint32_t tc_tree_depth(const struct tc_tree *t, uint32_t node)
{
    uint32_t pid;

    if (node >= t->n)
        return 0;
    if (t->cls[node] == TC_TREE_NORMAL)
        return slot_depth(t->p.root_fanout, t->p.fanout, t->slot_of[node]);
    if (t->cls[node] != TC_TREE_SLOW || t->sparent[node] == NIL)
        return 0;
    pid = t->sparent[node];
    return pid == t->n ? 1 : slot_depth(t->p.root_fanout, t->p.fanout, t->slot_of[pid]) + 1;
}

/**
 * Children of node (or of TC_TREE_ROOT): normal children in slot order, then
 * slow ones. Writes at most out_max indices to out and returns the total
 * number of children (which may be larger than out_max).
 */
uint32_t tc_tree_children(const struct tc_tree *t, uint32_t node, uint32_t *out, uint32_t out_max)
{
    uint32_t pid, s, c, end, k = 0, x;

    if (node == TC_TREE_ROOT)
        pid = t->n;
    else if (node < t->n && t->cls[node] == TC_TREE_NORMAL)
        pid = node;
    else
        return 0;
    s = pid_slot(t, pid);
    c = (uint32_t)slot_first_child(t, s);
    for (end = c + slot_normal_children(t, s); c < end; c++, k++)
        if (k < out_max)
            out[k] = t->node_at[c];
    for (x = t->shead[pid]; x != NIL; x = t->snext[x], k++)
        if (k < out_max)
            out[k] = x;
    return k;
}

/** Nodes in the tree (normal and slow, waiting included). */
uint32_t tc_tree_nodes(const struct tc_tree *t)
{
    return t->alive;
}

/** Slow nodes waiting for a parent with room. */
uint32_t tc_tree_waiting(const struct tc_tree *t)
{
    return t->nwait;
}

/** The parent changes made by the last operation; *count gets their number. */
const struct tc_tree_change *tc_tree_changes(const struct tc_tree *t, uint32_t *count)
{
    *count = t->nchanges;
    return t->changes;
}

/**
 * The depth bound for nodes live nodes at fan-out fanout, the root included
 * (R = F): see tc_tree_depth_bound_root(). Fan-out 1 (a chain) gives nodes + 1.
 */
uint32_t tc_tree_depth_bound(uint32_t fanout, uint32_t nodes)
{
    return tc_tree_depth_bound_root(fanout, fanout, nodes);
}

/**
 * The depth bound for nodes live nodes with root fan-out root_fanout (R) and
 * fan-out fanout (F): normal nodes are at most at the least d with
 * R + R*F + ... + R*F^(d-1) >= nodes, slow leaves one level below. 0 for no
 * nodes or a zero fan-out.
 */
uint32_t tc_tree_depth_bound_root(uint32_t root_fanout, uint32_t fanout, uint32_t nodes)
{
    if (nodes == 0 || fanout == 0 || root_fanout == 0)
        return 0;
    return slot_depth(root_fanout, fanout, nodes - 1) + 1;
}

/**
 * Check every invariant (O(nodes)): slots and nodes agree, fan-out and
 * catch-up caps hold, slow nodes have no children, depths are within
 * tc_tree_depth_bound() and TC_TREE_DEPTH_MAX, lists and counts agree, the
 * eligibility bitmap is exact. Returns 0 or -EBADMSG with the first broken
 * invariant in err.
 */
int tc_tree_check(const struct tc_tree *t, struct tc_err *err)
{
    uint32_t i, x, s, k, normal = 0, slow = 0, waiting = 0, depth, bound, b, pid;
    int on;

    for (s = 0; s < t->mn; s++) {
        x = t->node_at[s];
        if (x >= t->n || t->cls[x] != TC_TREE_NORMAL || t->slot_of[x] != s)
            return tc_err_set(err, -EBADMSG, "tree: slot %u holds node %u (class %u)", s, x,
                              x < t->n ? t->cls[x] : 0);
    }
    bound = tc_tree_depth_bound_root(t->p.root_fanout, t->p.fanout, t->alive);
    for (i = 0; i < t->n; i++) {
        if (t->cls[i] == TC_TREE_NORMAL) {
            normal++;
            if (t->slot_of[i] >= t->mn || t->sparent[i] != NIL)
                return tc_err_set(err, -EBADMSG, "tree: normal node %u has slot %u of %u", i,
                                  t->slot_of[i], t->mn);
        } else if (t->cls[i] == TC_TREE_SLOW) {
            slow++;
            if (t->slot_of[i] != NIL || t->nslow[i] != 0 || t->shead[i] != NIL)
                return tc_err_set(err, -EBADMSG, "tree: slow node %u has a slot or children", i);
            pid = t->sparent[i];
            if (pid == NIL) {
                waiting++;
            } else if (pid != t->n && (t->cls[pid] != TC_TREE_NORMAL)) {
                return tc_err_set(err, -EBADMSG,
                                  "tree: slow node %u hangs under node %u (class %u)", i, pid,
                                  t->cls[pid]);
            }
        } else if (t->slot_of[i] != NIL || t->sparent[i] != NIL || t->nslow[i] != 0) {
            return tc_err_set(err, -EBADMSG, "tree: node %u (class %u) is still placed", i,
                              t->cls[i]);
        }
        depth = tc_tree_depth(t, i);
        if (depth > bound || depth > TC_TREE_DEPTH_MAX)
            return tc_err_set(err, -EBADMSG,
                              "tree: node %u at depth %u, bound %u (R=%u, F=%u, %u nodes)", i,
                              depth, bound, t->p.root_fanout, t->p.fanout, t->alive);
    }
    if (normal != t->mn || normal + slow != t->alive || waiting != t->nwait)
        return tc_err_set(err, -EBADMSG,
                          "tree: counts normal %u/%u, alive %u/%u, waiting %u/%u disagree", normal,
                          t->mn, normal + slow, t->alive, waiting, t->nwait);
    /* slow-children lists and caps, per parent id */
    for (pid = 0; pid <= t->n; pid++) {
        k = 0;
        for (x = t->shead[pid]; x != NIL; x = t->snext[x]) {
            if (k++ > t->n || t->sparent[x] != pid || t->cls[x] != TC_TREE_SLOW)
                return tc_err_set(err, -EBADMSG, "tree: slow list of parent %u is corrupt", pid);
        }
        if (k != t->nslow[pid] || k > t->p.catchup_max)
            return tc_err_set(err, -EBADMSG,
                              "tree: parent %u has %u slow children (count %u, cap %u)", pid, k,
                              t->nslow[pid], t->p.catchup_max);
        if (pid != t->n && t->cls[pid] != TC_TREE_NORMAL)
            continue;
        if (pid != t->n && t->slot_of[pid] == NIL)
            return tc_err_set(err, -EBADMSG, "tree: normal node %u has no slot", pid);
        if (slot_normal_children(t, pid_slot(t, pid)) + k > slot_capacity(t, pid_slot(t, pid)))
            return tc_err_set(err, -EBADMSG, "tree: parent %u has more than %u children", pid,
                              slot_capacity(t, pid_slot(t, pid)));
    }
    k = 0;
    for (x = t->whead; x != NIL; x = t->snext[x])
        if (k++ > t->n || t->cls[x] != TC_TREE_SLOW || t->sparent[x] != NIL)
            return tc_err_set(err, -EBADMSG, "tree: waiting list is corrupt at node %u", x);
    if (k != t->nwait)
        return tc_err_set(err, -EBADMSG, "tree: waiting list holds %u, count %u", k, t->nwait);
    /* eligibility bitmap, all three levels */
    for (b = 0; b < t->words0 * WORD_BITS; b++) {
        on = b <= t->mn && pid_eligible(t, bit_pid(t, b));
        if (on != (int)(t->bm0[b / WORD_BITS] >> (b % WORD_BITS) & 1))
            return tc_err_set(err, -EBADMSG, "tree: eligibility bit %u is %d, expected %d", b, !on,
                              on);
    }
    for (i = 0; i < t->words0; i++)
        if ((t->bm0[i] != 0) != (int)(t->bm1[i / WORD_BITS] >> (i % WORD_BITS) & 1))
            return tc_err_set(err, -EBADMSG, "tree: bitmap summary word %u is stale", i);
    for (i = 0; i < t->words1; i++)
        if ((t->bm1[i] != 0) != (int)(t->bm2[i / WORD_BITS] >> (i % WORD_BITS) & 1))
            return tc_err_set(err, -EBADMSG, "tree: bitmap top word %u is stale", i);
    return 0;
}
