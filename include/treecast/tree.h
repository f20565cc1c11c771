/* SPDX-License-Identifier: MIT */
/*
 * The seeder's repair tree (sans I/O, deterministic, no randomness).
 *
 * Nodes are the seeder's node-table indices 0..nodes_max-1; the seeder is the
 * root (TC_TREE_ROOT) and is not a node. Policy (docs/protocol-core.md):
 *
 * - Normal nodes fill a complete tree in breadth-first "slot" order, the root
 *   having R children (the root fan-out, R <= F) and every other parent F:
 *   slots 0..R-1 are the root's children, slot s >= R has the parent slot
 *   (s - R)/F, and the children of slot s are slots R + s*F .. R + s*F + F-1.
 *   The depth of every normal node is the least d with
 *   R + R*F + ... + R*F^(d-1) >= slots used. Joining takes the next slot: O(1).
 * - Slow (lossy, straggler) nodes hold no slot: they hang as leaves under
 *   the deepest normal node (or the root) that has a free child place and
 *   fewer than catchup_max slow children; they never have children. When no
 *   such parent exists they wait (parent TC_TREE_NONE) until one appears.
 * - A normal node that dies or is demoted is replaced by promotion: the node
 *   in the last slot (always a leaf of the normal tree) moves into its slot
 *   and so becomes the parent of its children. The shape, and with it the
 *   depth bound, is kept exactly, and the work is bounded by the fan-out.
 *
 * Every operation appends the parent changes it made to a change log (at most
 * TC_TREE_CHANGES_MAX entries) that the caller turns into REPARENT and
 * CHILDREN messages.
 */
#ifndef TREECAST_TREE_H
#define TREECAST_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

/** Smallest fan-out (children per parent): 1 is a chain (each node serves the
 * next), which tc_tree_new() allows only while it fits TC_TREE_DEPTH_MAX. */
#define TC_TREE_FANOUT_MIN 1u
/** Largest fan-out (children per parent). */
#define TC_TREE_FANOUT_MAX 32u
/** Fan-out for tree-only mode (pipelined unicast forwarding), children:
 * 2 measured faster than 3 (docs/protocol.md section 7). */
#define TC_TREE_FANOUT_TREE_ONLY 2u
/** Default multicast fan-out, children: chosen by simulator runs (docs/protocol.md section 7). */
#define TC_TREE_FANOUT_DEFAULT 16u
/** Default cap on slow (catching-up) children per parent, children. */
#define TC_TREE_CATCHUP_DEFAULT 2u
/** Most nodes in one tree (node counts are 16-bit on the wire). */
#define TC_TREE_NODES_MAX 65535u
/**
 * Deepest node, levels below the seeder (its children are at depth 1): the
 * worst case is F = 2 with TC_TREE_NODES_MAX nodes, 16 levels of normal
 * nodes and one of slow leaves. tc_tree_depth_bound() gives the bound for a
 * given F and node count (3 for F = 16 up to 4,368 normal nodes);
 * tc_tree_new() refuses a fan-out and nodes_max whose bound exceeds this
 * (a chain, F = 1, holds at most 16 nodes).
 */
#define TC_TREE_DEPTH_MAX 17u
/** Waiting slow nodes placed at the end of one operation, at most, nodes. */
#define TC_TREE_DRAIN_MAX TC_TREE_FANOUT_MAX
/** Parent changes one operation can log, at most (see lib/tree.c), entries. */
#define TC_TREE_CHANGES_MAX (3u * TC_TREE_FANOUT_MAX + 2u * TC_TREE_FANOUT_MAX + 8u)

/** Parent value meaning "the seeder" (the same value as on the wire). */
#define TC_TREE_ROOT 0xffffffffu
/** Parent value meaning "none": absent, dead or waiting for a place. */
#define TC_TREE_NONE 0xfffffffeu

/** Node classes. */
enum tc_tree_class {
    TC_TREE_ABSENT = 0, /**< never added */
    TC_TREE_NORMAL = 1, /**< may be a parent */
    TC_TREE_SLOW = 2,   /**< slow, lossy or straggler: a leaf, never a parent */
    TC_TREE_DEAD = 3,   /**< removed; may be added again (node restarted) */
};

/** One parent change made by an operation. Apply in order: the last entry for a node wins. */
struct tc_tree_change {
    uint32_t node;       /**< the node whose parent changed */
    uint32_t old_parent; /**< node index, TC_TREE_ROOT or TC_TREE_NONE */
    uint32_t new_parent; /**< node index, TC_TREE_ROOT or TC_TREE_NONE */
};

/** Tree parameters, fixed at init. */
struct tc_tree_params {
    uint32_t nodes_max;   /**< node indices 0..nodes_max-1, 1..TC_TREE_NODES_MAX */
    uint32_t fanout;      /**< children per parent (seeder included), FANOUT_MIN..MAX */
    uint32_t root_fanout; /**< children of the root (the seeder), 1..fanout; 0 = fanout */
    uint32_t catchup_max; /**< slow children per parent, 1..fanout */
};

struct tc_tree;

/* Allocation is at init only; every other function makes no allocation. */
int tc_tree_new(struct tc_tree **out, const struct tc_tree_params *p, struct tc_err *err);
void tc_tree_free(struct tc_tree *t);

int tc_tree_add(struct tc_tree *t, uint32_t node, enum tc_tree_class cls);
int tc_tree_remove(struct tc_tree *t, uint32_t node);
int tc_tree_mark_slow(struct tc_tree *t, uint32_t node);
int tc_tree_mark_normal(struct tc_tree *t, uint32_t node);
int tc_tree_reparent(struct tc_tree *t, uint32_t node);

enum tc_tree_class tc_tree_class(const struct tc_tree *t, uint32_t node);
uint32_t tc_tree_parent(const struct tc_tree *t, uint32_t node);
uint32_t tc_tree_depth(const struct tc_tree *t, uint32_t node);
uint32_t tc_tree_children(const struct tc_tree *t, uint32_t node, uint32_t *out, uint32_t out_max);
uint32_t tc_tree_nodes(const struct tc_tree *t);
uint32_t tc_tree_waiting(const struct tc_tree *t);
const struct tc_tree_change *tc_tree_changes(const struct tc_tree *t, uint32_t *count);
uint32_t tc_tree_depth_bound(uint32_t fanout, uint32_t nodes);
uint32_t tc_tree_depth_bound_root(uint32_t root_fanout, uint32_t fanout, uint32_t nodes);
int tc_tree_check(const struct tc_tree *t, struct tc_err *err);

#endif /* TREECAST_TREE_H */
