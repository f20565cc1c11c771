// SPDX-License-Identifier: MIT
/*
 * The simulator glue: the real seeder and agent cores (lib/seeder.c,
 * lib/agent.c) on the simulated network (sim/simnet.c), with a real or a
 * dataless image, an optional forger, and the checks made on every node.
 * See include/treecast/simrun.h and docs/simulator.md.
 *
 * The glue never calls a core from inside one of that core's ops: an op
 * only schedules (a send, a disk submission, a group change); the core is
 * called again from a simnet callback, and after every call its timer is
 * set to its next deadline.
 */
#include "treecast/simrun.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/agent.h"
#include "treecast/be.h"
#include "treecast/chunk.h"
#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/seeder.h"
#include "treecast/sigblock.h"
#include "treecast/simnet.h"
#include "treecast/tree.h"
#include "treecast/trust.h"
#include "treecast/wire.h"

/** Disk operations of one agent in flight at once (writes, syncs, reads). */
#define SR_DISK_RING 256u
/** Blocks per simnet train: at least (small objects), at most (longer runs are
 * split: memory is trains_max x this x 8 bytes). */
#define SR_TRAIN_BLOCKS_MIN 64u
#define SR_TRAIN_BLOCKS_MAX 256u
/** Pools are sized for simnet's default queue (256 KiB); a deeper --queue
 * multiplies them by queue / this, at most SR_QUEUE_POOL_FACTOR_MAX. */
#define SR_QUEUE_REF_BYTES (256u * 1024)
#define SR_QUEUE_POOL_FACTOR_MAX 16u
/** Random streams of the glue (beside simnet's: sim.h's stream table). */
#define SR_STREAM_IMAGE (3ull << 40)
#define SR_STREAM_KEY ((3ull << 40) + 1)
#define SR_STREAM_HELD ((3ull << 40) + 2)
#define SR_STREAM_FORGE ((3ull << 40) + 3)
#define SR_STREAM_FAULTS ((3ull << 40) + 4)
/** Seeder states handed to ops->persist and not yet durable, at most. */
#define SR_PERSIST_MAX 4u
/** Scenario events (simnet on_script): the kind in the low byte of arg, a
 * number (crash spec, persist generation) above it. */
#define SR_SCRIPT_CRASH 1u
#define SR_SCRIPT_PERSIST 2u
#define SR_SCRIPT_SHIFT 8u
/** Train description (meta) layout: offsets and total length, bytes. */
#define SR_META_SESSION 0
#define SR_META_TOKEN 8
#define SR_META_EPOCH 16
#define SR_META_INDEX 20
#define SR_META_OFFSET 24
#define SR_META_BLOCK_LEN 28
#define SR_META_TOTAL_LEN 32
#define SR_META_OBJECT 36
#define SR_META_UNICAST 37
#define SR_META_LEN 38
/** Image name and version of the simulated image. */
#define SR_IMAGE_NAME "simimage"
#define SR_IMAGE_VERSION "1.0"
/** created time of the manifest (2026-01-01T00:00:00Z), seconds. */
#define SR_CREATED 1767225600LL
/** Share of real chunks that are all zero, random, text-like (the rest), percent. */
#define SR_ZERO_PCT 20u
#define SR_RANDOM_PCT 40u
/** A core woken this many times in a row at the same virtual instant is
 * spinning (its next deadline does not move past now): the run stops with
 * -ELOOP instead of hanging, calls. */
#define SR_TIMER_SAME_NS_MAX 100000u
/** Longest trace line, bytes. */
#define SR_LINE_MAX 640

/** A chunk's state on one agent's target, as the glue records it. */
enum sr_chunk_state {
    SR_CH_NONE = 0,    /**< not on disk */
    SR_CH_HELD = 1,    /**< held at start (already on disk with the right bytes) */
    SR_CH_WRITING = 2, /**< write submitted, not completed */
    SR_CH_WRITTEN = 3, /**< written (completed) */
};

/** What a disk submission stands for. */
enum sr_disk_kind {
    SR_DISK_WRITE = 1, /**< completion: tc_agent_on_written */
    SR_DISK_SYNC = 2,  /**< completion: tc_agent_on_durable */
    SR_DISK_READ = 3,  /**< completion: copy the bytes, tc_agent_on_read */
};

/** One disk operation in flight (the disk completes them in order). */
struct sr_disk_op {
    uint8_t kind;    /**< enum sr_disk_kind */
    uint64_t cookie; /**< the core's cookie */
    uint64_t off;    /**< READ/WRITE: byte offset */
    size_t len;      /**< READ/WRITE: bytes */
    uint8_t *buf;    /**< READ: where the bytes go (core-owned) */
    uint32_t chunk;  /**< WRITE: chunk index */
};

struct simrun;

/** One simulated node (seeder, agent or forger): the context of its ops. */
struct sr_node {
    struct simrun *run;     /**< the run */
    uint32_t id;            /**< node number */
    struct tc_agent *agent; /**< agents: the core (NULL until started) */
    uint8_t *chunks;        /**< agents: enum sr_chunk_state per chunk */
    uint8_t *held;          /**< agents: held bitmap given to the core */
    uint32_t writes;        /**< agents: write ops */
    int wrote_chunk0;       /**< agents: chunk 0 written (must be last) */
    uint64_t done_ns;       /**< agents: DONE_ACK time seen, 0 if not */
    uint64_t lat_sum_ns;    /**< agents: sum of chunk latencies (first multicast block to write) */
    uint32_t lat_n;         /**< agents: chunks in lat_sum_ns */
    int finished;           /**< agents: RELEASED or FAILED (or down for good), counted */
    int bad;                /**< agents: a violation of its own (not done) */
    int slow;               /**< agents: slowed by cfg.slow_nodes */
    int crashed;            /**< crashed at least once */
    int crash_pending;      /**< a crash is scheduled and has not happened yet */
    int restart_pending;    /**< the crash scheduled (or last one) restarts the node */
    int gone;               /**< crashed for good: out of the completion count */
    uint32_t lives;         /**< times on_start ran */
    uint64_t timer_ns;      /**< virtual time of the last timer call */
    uint32_t timer_same;    /**< timer calls in a row at timer_ns */
    struct sr_disk_op disk[SR_DISK_RING]; /**< agents: disk ops in flight (a ring) */
    uint32_t disk_head;                   /**< first op in flight */
    uint32_t disk_count;                  /**< ops in flight */
};

/** The run. */
struct simrun {
    struct tc_simrun_cfg cfg;     /**< with defaults filled in */
    struct tc_simrun_result *res; /**< results being filled */
    struct tc_sim_net *net;       /**< the network */
    struct tc_sim *sim;           /**< its engine */
    uint32_t n;                   /**< agents */
    uint32_t forger;              /**< forger's node number, 0 if none */
    struct sr_node *nodes;        /**< n + 2 nodes */
    struct tc_seeder *seeder;     /**< the seeder core (NULL until started) */
    /* image */
    struct tc_manifest *manifest; /**< the shared parsed manifest */
    uint8_t *raw;                 /**< real: raw image bytes */
    uint8_t *stored;              /**< real: stored chunk bytes, at stored_off */
    uint8_t *sigblock;            /**< signature block bytes */
    size_t sigblock_len;          /**< its length */
    uint8_t *man_hashes;          /**< real: the manifest's segment hash list */
    size_t man_hashes_len;        /**< its length (also dataless) */
    uint8_t *chunk_hashes;        /**< real: every chunk's segment hash list */
    uint64_t *chunk_hashes_off;   /**< offset of chunk i's list in chunk_hashes */
    uint64_t *first_mcast_ns;     /**< per chunk: first multicast block sent, or NEVER */
    struct tc_trust trust;        /**< the trust store (real) */
    uint32_t seg_size;            /**< integrity segment */
    uint32_t block_len;           /**< full DATA block, bytes of object */
    uint32_t train_max;           /**< most blocks per simnet train */
    /* progress */
    uint32_t finished;               /**< agents RELEASED or FAILED */
    uint64_t sniff_session;          /**< forger: session id seen on the group, 0 = none */
    uint32_t sniff_epoch;            /**< forger: epoch seen */
    struct tc_sim_rng forge_rng;     /**< forger's draws */
    struct tc_sim_rng held_rng;      /**< held bitmaps */
    struct tc_sim_rng fault_rng;     /**< slow nodes, crash times and picks */
    uint32_t *scratch;               /**< n + 1 entries: candidates, the seeder's index map */
    uint32_t *parent_of;             /**< n + 1: agent's parent as the seeder sees it (0 = seeder
                                          or unknown), filled at each interior pick */
    uint32_t *kids;                  /**< n + 1: children of each agent in parent_of */
    uint32_t *rack_of;               /**< total nodes: rack of each node (racks only) */
    struct tc_seeder_ops seeder_ops; /**< the seeder's ops (persist with a seeder restart) */
    /* the seeder's persisted state */
    uint8_t *persist_buf[SR_PERSIST_MAX];    /**< states being written, a ring */
    size_t persist_len[SR_PERSIST_MAX];      /**< their lengths */
    size_t persist_cap[SR_PERSIST_MAX];      /**< their buffers' sizes */
    uint64_t persist_cookie[SR_PERSIST_MAX]; /**< the seeder's cookies */
    uint32_t persist_head;                   /**< oldest pending */
    uint32_t persist_count;                  /**< pending */
    uint32_t persist_gen;                    /**< bumped when the seeder crashes: stale events */
    uint64_t persist_busy_until;             /**< when the state disk is free */
    uint8_t *durable;                        /**< the last durable state (NULL: none) */
    size_t durable_len;                      /**< its length */
    size_t durable_cap;                      /**< its buffer's size */
};

/**
 * Record an invariant violation (the first one's text is kept).
 */
static void sr_violation(struct simrun *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sr_violation(struct simrun *r, const char *fmt, ...)
{
    va_list ap;

    r->res->violations++;
    if (r->res->violations > 1)
        return;
    va_start(ap, fmt);
    vsnprintf(r->res->violation, sizeof(r->res->violation), fmt, ap);
    va_end(ap);
}

/**
 * A violation by one agent: recorded, and the agent does not count as done.
 */
static void sr_node_violation(struct sr_node *nd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sr_node_violation(struct sr_node *nd, const char *fmt, ...)
{
    struct tc_simrun_result *res = nd->run->res;
    va_list ap;

    nd->bad = 1;
    res->violations++;
    if (res->violations > 1)
        return;
    va_start(ap, fmt);
    vsnprintf(res->violation, sizeof(res->violation), fmt, ap);
    va_end(ap);
}

/**
 * Map a peer address to a simnet destination; -EINVAL for an unknown one.
 */
static int sr_dst(const struct simrun *r, struct tc_proto_peer to, uint32_t *dst)
{
    if (to.addr == TC_SIMRUN_GROUP_ADDR) {
        *dst = TC_SIM_GROUP(0);
        return 0;
    }
    if (to.addr > r->n + (r->forger ? 1u : 0u))
        return -EINVAL;
    *dst = to.addr;
    return 0;
}

/**
 * The genuine bytes of an object (real mode) and its length; -ENOENT if the
 * object does not exist. *bytes is NULL in dataless mode.
 */
static int sr_object(const struct simrun *r, uint8_t object, uint32_t index, const uint8_t **bytes,
                     uint64_t *len)
{
    const struct tc_manifest *m = r->manifest;
    int real = r->cfg.real;

    if (object != TC_WIRE_OBJ_CHUNK && object != TC_WIRE_OBJ_CHUNK_HASHES && index != 0)
        return -ENOENT;
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST:
        *bytes = m->bytes;
        *len = m->len;
        return 0;
    case TC_WIRE_OBJ_SIGBLOCK:
        *bytes = r->sigblock;
        *len = r->sigblock_len;
        return 0;
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        *bytes = real ? r->man_hashes : NULL;
        *len = r->man_hashes_len;
        return 0;
    case TC_WIRE_OBJ_CHUNK:
        if (index >= m->chunk_count)
            return -ENOENT;
        *bytes = real ? r->stored + m->chunks[index].stored_off : NULL;
        *len = m->chunks[index].stored_len;
        return 0;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        if (index >= m->chunk_count)
            return -ENOENT;
        *len = (uint64_t)tc_proto_nsegs(m->chunks[index].stored_len, r->seg_size) *
               TC_WIRE_SEG_HASH_LEN;
        *bytes = real ? r->chunk_hashes + r->chunk_hashes_off[index] : NULL;
        return 0;
    default:
        return -ENOENT;
    }
}

/**
 * Real mode: a DATA payload a core hands out must be the genuine bytes.
 */
static void sr_check_payload(struct simrun *r, uint32_t from, uint8_t object, uint32_t index,
                             uint32_t offset, const uint8_t *payload, uint64_t len)
{
    const uint8_t *g;
    uint64_t glen;

    if (!r->cfg.real)
        return;
    if (sr_object(r, object, index, &g, &glen) < 0 || offset > glen || len > glen - offset) {
        sr_violation(r, "node %u sent DATA outside object %u index %u: offset %u len %llu", from,
                     object, index, offset, (unsigned long long)len);
        return;
    }
    if (!payload || memcmp(payload, g + offset, len) != 0)
        sr_violation(r,
                     "node %u sent DATA of object %u index %u offset %u that is not "
                     "the genuine bytes",
                     from, object, index, offset);
}

/** The first multicast block of a chunk: the start of its latency. */
static void sr_mcast_seen(struct simrun *r, uint8_t object, uint32_t index)
{
    if (object == TC_WIRE_OBJ_CHUNK && index < r->manifest->chunk_count &&
        r->first_mcast_ns[index] == TC_SIM_NEVER)
        r->first_mcast_ns[index] = tc_sim_now(r->sim);
}

/** Log hook shared by the cores: prefixes the virtual time and the node. */
static void sr_log(struct sr_node *nd, int level, const char *msg)
{
    struct simrun *r = nd->run;
    char line[SR_LINE_MAX];
    uint64_t now = tc_sim_now(r->sim);

    if (!r->cfg.trace_log || !r->cfg.log)
        return;
    snprintf(line, sizeof(line), "%llu.%09llu node %u <%d> %s",
             (unsigned long long)(now / TC_SIM_S), (unsigned long long)(now % TC_SIM_S), nd->id,
             level, msg);
    r->cfg.log(r->cfg.log_ctx, line);
}

/** A scenario line (faults) to the log sink, whether or not trace_log is set. */
static void sr_fault_log(struct simrun *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sr_fault_log(struct simrun *r, const char *fmt, ...)
{
    char msg[SR_LINE_MAX / 2], line[SR_LINE_MAX];
    uint64_t now = tc_sim_now(r->sim);
    va_list ap;

    if (!r->cfg.log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(line, sizeof(line), "%llu.%09llu fault: %s", (unsigned long long)(now / TC_SIM_S),
             (unsigned long long)(now % TC_SIM_S), msg);
    r->cfg.log(r->cfg.log_ctx, line);
}

/* ---- ops shared by both cores ------------------------------------------------ */

/**
 * send: one tc_sim_net_send per datagram. Real mode checks the payload of
 * DATA datagrams against the genuine bytes.
 */
static int sr_op_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    size_t i;

    for (i = 0; i < n; i++) {
        struct tc_wire_hdr h;
        uint32_t dst;
        int rc = sr_dst(r, d[i].to, &dst);

        if (rc < 0) {
            sr_violation(r, "node %u sent to unknown address %u", nd->id, d[i].to.addr);
            continue;
        }
        if (tc_wire_decode_hdr(d[i].buf, d[i].len, &h) == 0 && h.type == TC_WIRE_DATA) {
            struct tc_wire_msg msg;

            if (tc_wire_decode(d[i].buf, d[i].len, &msg) == 0) {
                sr_check_payload(r, nd->id, msg.u.data.object, msg.u.data.index, msg.u.data.offset,
                                 msg.u.data.payload, msg.u.data.len);
                if (dst == TC_SIM_GROUP(0))
                    sr_mcast_seen(r, msg.u.data.object, msg.u.data.index);
            }
        }
        rc = tc_sim_net_send(r->net, nd->id, dst, d[i].buf, d[i].len);
        if (rc == -EMSGSIZE)
            sr_violation(r, "node %u sent a %zu-byte datagram: over the MTU", nd->id, d[i].len);
        if (rc < 0)
            return i ? (int)i : rc;
    }
    return (int)n;
}

/**
 * send_blocks: a run of DATA blocks as simnet trains of at most train_max
 * full blocks; a shorter last block goes in a train of its own, so that
 * every block is charged its real length. The meta carries the header
 * fields; the receiver gets the genuine bytes.
 */
static int sr_op_send_blocks(void *ctx, const struct tc_proto_blocks *b)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    uint8_t meta[SR_META_LEN];
    uint32_t dst, j = 0;
    int rc;

    if (b->nblocks == 0 || b->block_len == 0)
        return -EINVAL;
    if (sr_dst(r, b->peer, &dst) < 0) {
        sr_violation(r, "node %u sent blocks to unknown address %u", nd->id, b->peer.addr);
        return -EINVAL;
    }
    if (r->cfg.real)
        sr_check_payload(r, nd->id, b->object, b->index, b->offset, b->payload, b->total_len);
    if (dst == TC_SIM_GROUP(0))
        sr_mcast_seen(r, b->object, b->index);
    memset(meta, 0, sizeof(meta));
    tc_put_be64(meta + SR_META_SESSION, b->session_id);
    tc_put_be64(meta + SR_META_TOKEN, b->token);
    tc_put_be32(meta + SR_META_EPOCH, b->epoch);
    tc_put_be32(meta + SR_META_INDEX, b->index);
    meta[SR_META_OBJECT] = b->object;
    meta[SR_META_UNICAST] = b->unicast ? 1 : 0;
    while (j < b->nblocks) {
        uint64_t off = (uint64_t)j * b->block_len;
        uint64_t left;
        uint32_t k, len;

        if (off >= b->total_len) {
            sr_violation(r, "node %u sent %u blocks of %u bytes covering only %u bytes", nd->id,
                         b->nblocks, b->block_len, b->total_len);
            return -EINVAL;
        }
        left = b->total_len - off;

        if (left >= b->block_len) {
            k = (uint32_t)(left / b->block_len);
            if (k > r->train_max)
                k = r->train_max;
            len = b->block_len;
        } else {
            k = 1;
            len = (uint32_t)left;
        }
        tc_put_be32(meta + SR_META_OFFSET, b->offset + (uint32_t)off);
        tc_put_be32(meta + SR_META_BLOCK_LEN, b->block_len);
        tc_put_be32(meta + SR_META_TOTAL_LEN, (uint32_t)((uint64_t)k * len));
        rc = tc_sim_net_send_train(r->net, nd->id, dst, meta, sizeof(meta), k,
                                   len + TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN);
        if (rc < 0)
            return rc;
        j += k;
    }
    return 0;
}

/** random: the node's own stream. */
static uint64_t sr_op_random(void *ctx)
{
    struct sr_node *nd = ctx;

    return tc_sim_rng_next(tc_sim_net_node_rng(nd->run->net, nd->id));
}

/** log: to the trace sink. */
static void sr_op_log(void *ctx, int level, const char *msg)
{
    sr_log(ctx, level, msg);
}

/* ---- seeder ------------------------------------------------------------------ */

/** chunk_bytes: the genuine stored bytes. */
static const uint8_t *sr_op_chunk_bytes(void *ctx, uint32_t index)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;

    if (!r->cfg.real || index >= r->manifest->chunk_count)
        return NULL;
    return r->stored + r->manifest->chunks[index].stored_off;
}

/**
 * persist: the state is copied into a pending slot and becomes the durable
 * copy TC_SIMRUN_PERSIST_NS after the state disk is free (writes complete
 * in order); a seeder crash before then loses it. -EBUSY when
 * SR_PERSIST_MAX states are pending (the seeder retries later).
 */
static int sr_op_persist(void *ctx, const uint8_t *state, size_t len, uint64_t cookie)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    uint64_t now = tc_sim_now(r->sim), at;
    uint32_t slot;
    int rc;

    if (r->persist_count == SR_PERSIST_MAX)
        return -EBUSY;
    slot = (r->persist_head + r->persist_count) % SR_PERSIST_MAX;
    if (r->persist_cap[slot] < len) {
        uint8_t *b = realloc(r->persist_buf[slot], len);

        if (!b)
            return -ENOMEM;
        r->persist_buf[slot] = b;
        r->persist_cap[slot] = len;
    }
    at = (r->persist_busy_until > now ? r->persist_busy_until : now) + TC_SIMRUN_PERSIST_NS;
    rc = tc_sim_net_script_at(r->net, at,
                              SR_SCRIPT_PERSIST | (uint64_t)r->persist_gen << SR_SCRIPT_SHIFT);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(r->persist_buf[slot], state, len);
    r->persist_len[slot] = len;
    r->persist_cookie[slot] = cookie;
    r->persist_count++;
    r->persist_busy_until = at;
    return 0;
}

/**
 * After every call into the seeder: its timer, and a failing rc is an
 * error of the run (the seeder only fails for a broken environment).
 */
static void sr_seeder_after(struct simrun *r, int rc, const char *what)
{
    uint64_t at = tc_seeder_next_deadline(r->seeder);

    if (rc < 0)
        sr_violation(r, "seeder: %s returned %d", what, rc);
    tc_sim_net_timer_set(r->net, 0, at == TC_PROTO_NEVER ? TC_SIM_NEVER : at);
}

/* ---- agents ------------------------------------------------------------------ */

/** Queue a disk op behind the others; the disk completes them in order. */
static int sr_disk_push(struct sr_node *nd, const struct sr_disk_op *op, uint64_t bytes)
{
    struct simrun *r = nd->run;
    int rc;

    if (nd->disk_count == SR_DISK_RING)
        return -EAGAIN;
    rc = tc_sim_net_disk_submit(r->net, nd->id, bytes, 0);
    if (rc < 0)
        return rc;
    nd->disk[(nd->disk_head + nd->disk_count) % SR_DISK_RING] = *op;
    nd->disk_count++;
    return 0;
}

/** group: join or leave simnet group 0. */
static int sr_op_group(void *ctx, int join, struct tc_proto_peer group)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;

    if (group.addr != TC_SIMRUN_GROUP_ADDR) {
        sr_violation(r, "node %u joined unknown group %u", nd->id, group.addr);
        return -EINVAL;
    }
    return join ? tc_sim_net_join(r->net, nd->id, 0) : tc_sim_net_leave(r->net, nd->id, 0);
}

/**
 * write: check the write (chunk-aligned, whole chunk, once, chunk 0 last,
 * real bytes = genuine bytes) and submit it to the disk.
 */
static int sr_op_write(void *ctx, uint32_t chunk, uint64_t off, const uint8_t *buf, size_t len,
                       uint64_t cookie)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    const struct tc_manifest *m = r->manifest;
    struct sr_disk_op op;

    nd->writes++;
    if (chunk >= m->chunk_count || off != (uint64_t)chunk * m->chunk_size ||
        len != tc_manifest_chunk_raw_len(m, chunk)) {
        sr_node_violation(nd, "node %u wrote %zu bytes at offset %llu as chunk %u: not that chunk",
                          nd->id, len, (unsigned long long)off, chunk);
    } else {
        if (nd->chunks[chunk] != SR_CH_NONE)
            sr_node_violation(nd, "node %u wrote chunk %u twice (state %u)", nd->id, chunk,
                              nd->chunks[chunk]);
        if (nd->wrote_chunk0)
            sr_node_violation(nd, "node %u wrote chunk %u after chunk 0", nd->id, chunk);
        if (r->cfg.real) {
            if (buf ? memcmp(buf, r->raw + off, len) != 0 : !tc_chunk_is_zero(r->raw + off, len))
                sr_node_violation(nd, "node %u wrote chunk %u with bytes that are not the image's",
                                  nd->id, chunk);
        } else if (buf) {
            sr_node_violation(nd, "node %u wrote chunk %u with a buffer in dataless mode", nd->id,
                              chunk);
        }
        nd->chunks[chunk] = SR_CH_WRITING;
        if (r->first_mcast_ns[chunk] != TC_SIM_NEVER) {
            nd->lat_sum_ns += tc_sim_now(r->sim) - r->first_mcast_ns[chunk];
            nd->lat_n++;
        }
        if (chunk == 0)
            nd->wrote_chunk0 = 1;
    }
    memset(&op, 0, sizeof(op));
    op.kind = SR_DISK_WRITE;
    op.cookie = cookie;
    op.off = off;
    op.len = len;
    op.chunk = chunk;
    return sr_disk_push(nd, &op, len);
}

/** sync: a 0-byte submission behind the writes. */
static int sr_op_sync(void *ctx, uint64_t cookie)
{
    struct sr_disk_op op;

    memset(&op, 0, sizeof(op));
    op.kind = SR_DISK_SYNC;
    op.cookie = cookie;
    return sr_disk_push(ctx, &op, 0);
}

/** read: a 0-byte submission; the bytes are copied at completion. */
static int sr_op_read(void *ctx, uint64_t off, uint8_t *buf, size_t len, uint64_t cookie)
{
    struct sr_disk_op op;

    memset(&op, 0, sizeof(op));
    op.kind = SR_DISK_READ;
    op.cookie = cookie;
    op.off = off;
    op.len = len;
    op.buf = buf;
    return sr_disk_push(ctx, &op, 0);
}

/**
 * manifest_accept. Real: parse the bytes given and run the real trust
 * check at a fixed wall time; the accepted manifest must then be the
 * genuine one, and the shared parsed copy is returned. Dataless: the shared
 * manifest, unchecked.
 */
static int sr_op_manifest_accept(void *ctx, const uint8_t *man, size_t man_len, const uint8_t *sig,
                                 size_t sig_len, const struct tc_manifest **out, struct tc_err *err)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    struct tc_manifest *m = NULL;
    struct tc_sigblock sb;
    struct tc_policy pol;
    struct tc_verdict v;
    int rc;

    if (!r->cfg.real) {
        *out = r->manifest;
        return 0;
    }
    rc = tc_manifest_parse(man, man_len, &m, err);
    if (rc < 0)
        return rc;
    rc = tc_sigblock_parse(sig, sig_len, &sb, err);
    if (rc < 0)
        goto out;
    memset(&pol, 0, sizeof(pol));
    pol.min_signatures = 1;
    pol.now = TC_SIMRUN_NOW;
    pol.build_time = SR_CREATED;
    pol.want_name = SR_IMAGE_NAME;
    rc = tc_trust_check(&r->trust, &pol, m, &sb, &v, err);
    if (rc < 0)
        goto out;
    if (m->len != r->manifest->len || memcmp(m->bytes, r->manifest->bytes, m->len) != 0)
        sr_node_violation(nd, "node %u accepted a manifest that is not the genuine one", nd->id);
    *out = r->manifest;
out:
    tc_manifest_free(m);
    return rc;
}

static const struct tc_agent_ops sr_agent_ops = {
    .send = sr_op_send,
    .send_blocks = sr_op_send_blocks,
    .group = sr_op_group,
    .write = sr_op_write,
    .sync = sr_op_sync,
    .read = sr_op_read,
    .manifest_accept = sr_op_manifest_accept,
    .random = sr_op_random,
    .log = sr_op_log,
};

static const struct tc_agent_ops sr_agent_ops_pp = {
    .send = sr_op_send,
    .send_blocks = NULL,
    .group = sr_op_group,
    .write = sr_op_write,
    .sync = sr_op_sync,
    .read = sr_op_read,
    .manifest_accept = sr_op_manifest_accept,
    .random = sr_op_random,
    .log = sr_op_log,
};

/**
 * An agent reached RELEASED: it must have had its DONE acknowledged and
 * hold every chunk (written or held), chunk 0 written.
 */
static void sr_agent_released(struct simrun *r, struct sr_node *nd)
{
    const struct tc_manifest *m = r->manifest;
    uint32_t i;
    int exact = 1;

    if (tc_agent_stats(nd->agent)->done_ns == 0) {
        sr_violation(r, "node %u reached RELEASED without a DONE_ACK", nd->id);
        exact = 0;
    }
    for (i = 0; i < m->chunk_count; i++) {
        if (nd->chunks[i] != SR_CH_HELD && nd->chunks[i] != SR_CH_WRITTEN) {
            sr_violation(r, "node %u reached RELEASED without chunk %u on disk (state %u)", nd->id,
                         i, nd->chunks[i]);
            exact = 0;
            break;
        }
    }
    if (!nd->wrote_chunk0 && nd->chunks[0] != SR_CH_HELD) {
        sr_violation(r, "node %u reached RELEASED without writing chunk 0", nd->id);
        exact = 0;
    }
    if (exact && !nd->bad)
        r->res->nodes_done++;
}

/**
 * After every call into an agent: record DONE_ACK, RELEASED or FAILED, and
 * set its timer to the core's next deadline.
 */
static void sr_agent_after(struct simrun *r, struct sr_node *nd)
{
    const struct tc_agent_stats *st = tc_agent_stats(nd->agent);
    enum tc_agent_state s = tc_agent_state(nd->agent);
    uint64_t at;

    if (st->done_ns != 0 && nd->done_ns == 0) {
        nd->done_ns = tc_sim_now(r->sim);
        r->res->done_ns[nd->id - 1] = nd->done_ns;
        r->res->done_order[r->res->nodes_acked++] = nd->id;
    }
    if (!nd->finished && (s == TC_AGENT_RELEASED || s == TC_AGENT_FAILED)) {
        nd->finished = 1;
        r->finished++;
        if (s == TC_AGENT_RELEASED) {
            sr_agent_released(r, nd);
        } else {
            const struct tc_err *e = tc_agent_error(nd->agent);

            r->res->nodes_failed++;
            if (r->res->failure[0] == '\0')
                snprintf(r->res->failure, sizeof(r->res->failure), "node %u failed: %s (%d)",
                         nd->id, e && e->msg[0] ? e->msg : "no message", e ? e->rc : 0);
        }
    }
    at = tc_agent_next_deadline(nd->agent);
    tc_sim_net_timer_set(r->net, nd->id, at == TC_PROTO_NEVER ? TC_SIM_NEVER : at);
}

/** Start an agent core: its held chunks are on disk already. */
static void sr_agent_start(struct simrun *r, struct sr_node *nd, uint64_t now)
{
    const struct tc_manifest *m = r->manifest;
    struct tc_agent_cfg ac;
    struct tc_err err;
    int rc;

    memset(&ac, 0, sizeof(ac));
    ac.node_id[0] = 0x02;
    ac.node_id[3] = (uint8_t)(nd->id >> 16);
    ac.node_id[4] = (uint8_t)(nd->id >> 8);
    ac.node_id[5] = (uint8_t)nd->id;
    ac.image = m->name;
    ac.disk_size = m->raw_size;
    ac.mtu = (uint16_t)r->cfg.mtu;
    ac.seeder.addr = 0;
    ac.seeder.port = TC_SIMRUN_NODE_PORT;
    ac.self.addr = nd->id;
    ac.self.port = TC_SIMRUN_NODE_PORT;
    ac.held = nd->held;
    ac.held_chunks = nd->held ? m->chunk_count : 0;
    ac.chunk_size_max = m->chunk_size;
    ac.dataless = !r->cfg.real;
    tc_proto_limits_default(&ac.limits);
    if (r->cfg.join_spread_ns)
        ac.limits.join_spread_ns = r->cfg.join_spread_ns;
    tc_err_clear(&err);
    rc = tc_agent_new(&nd->agent, &ac, r->cfg.per_packet ? &sr_agent_ops_pp : &sr_agent_ops, nd,
                      now, &err);
    if (rc < 0) {
        nd->agent = NULL;
        if (r->res->failure[0] == '\0')
            snprintf(r->res->failure, sizeof(r->res->failure), "node %u: %s", nd->id, err.msg);
        tc_sim_fail(r->sim, rc);
        return;
    }
    sr_agent_after(r, nd);
}

/**
 * An agent restarts after a crash: what it had written before the crash is
 * on its disk and becomes its held bitmap (never chunk 0, which on a real
 * target carries the in-progress marker and is written again last).
 */
static int sr_agent_restart_held(struct simrun *r, struct sr_node *nd)
{
    const struct tc_manifest *m = r->manifest;
    size_t bytes = (m->chunk_count + 7) / 8;
    uint32_t k, held = 0;

    if (!nd->held) {
        nd->held = calloc(bytes ? bytes : 1, 1);
        if (!nd->held)
            return -ENOMEM;
    }
    memset(nd->held, 0, bytes);
    if (nd->chunks[0] != SR_CH_HELD)
        nd->chunks[0] = SR_CH_NONE;
    nd->wrote_chunk0 = 0;
    for (k = 1; k < m->chunk_count; k++) {
        if (nd->chunks[k] == SR_CH_HELD || nd->chunks[k] == SR_CH_WRITTEN) {
            nd->held[k / 8] |= (uint8_t)(1u << (k % 8));
            held++;
        }
    }
    sr_fault_log(r, "node %u restarts holding %u of %u chunks", nd->id, held, m->chunk_count);
    return 0;
}

static void sr_stats_add(struct tc_agent_stats *sum, const struct tc_agent_stats *a);

/**
 * An agent crashed: its counters join the sums, the core is dropped, writes
 * in flight are lost (their chunks are not on disk), and without a restart
 * it leaves the completion count.
 */
static void sr_agent_crash(struct simrun *r, struct sr_node *nd)
{
    const struct tc_agent_stats *st;
    uint32_t k, done = 0, lost = 0;

    nd->crashed = 1;
    nd->crash_pending = 0;
    r->res->crashed[nd->id - 1] = 1;
    if (nd->agent) {
        st = tc_agent_stats(nd->agent);
        done = st->chunks_done;
        sr_stats_add(&r->res->agents, st);
        r->res->segs_bad += st->segs_bad;
        r->res->repair_bytes += st->served_bytes;
        tc_agent_free(nd->agent);
        nd->agent = NULL;
    }
    for (k = 0; k < r->manifest->chunk_count; k++)
        if (nd->chunks[k] == SR_CH_WRITING) {
            nd->chunks[k] = SR_CH_NONE;
            lost++;
        }
    if (nd->chunks[0] == SR_CH_NONE)
        nd->wrote_chunk0 = 0;
    nd->disk_head = 0;
    nd->disk_count = 0;
    if (!nd->restart_pending) {
        nd->gone = 1;
        if (!nd->finished) {
            nd->finished = 1;
            r->finished++;
        }
    }
    sr_fault_log(r, "node %u crashed%s: its core had %u chunks done, %u writes in flight lost",
                 nd->id, nd->restart_pending ? "" : " for good", done, lost);
}

/** A disk op of an agent completed (in submission order). */
static void sr_agent_disk_done(struct simrun *r, struct sr_node *nd, uint64_t now)
{
    struct sr_disk_op op;
    int rc = 0;

    assert(nd->disk_count > 0);
    op = nd->disk[nd->disk_head];
    nd->disk_head = (nd->disk_head + 1) % SR_DISK_RING;
    nd->disk_count--;
    switch (op.kind) {
    case SR_DISK_WRITE:
        if (op.chunk < r->manifest->chunk_count && nd->chunks[op.chunk] == SR_CH_WRITING)
            nd->chunks[op.chunk] = SR_CH_WRITTEN;
        rc = tc_agent_on_written(nd->agent, now, op.cookie, 0);
        break;
    case SR_DISK_SYNC:
        rc = tc_agent_on_durable(nd->agent, now, op.cookie, 0);
        break;
    case SR_DISK_READ: {
        const struct tc_manifest *m = r->manifest;
        uint64_t c, first = op.off / m->chunk_size;
        uint64_t last = op.len ? (op.off + op.len - 1) / m->chunk_size : first;
        int ok = op.off + op.len <= m->raw_size;

        for (c = first; ok && c <= last; c++)
            if (nd->chunks[c] != SR_CH_HELD && nd->chunks[c] != SR_CH_WRITTEN)
                ok = 0;
        if (ok && r->cfg.real && op.buf)
            memcpy(op.buf, r->raw + op.off, op.len);
        rc = tc_agent_on_read(nd->agent, now, op.cookie, ok ? 0 : -EIO);
        break;
    }
    default:
        assert(0);
    }
    (void)rc;
    sr_agent_after(r, nd);
}

/* ---- forger ------------------------------------------------------------------ */

/** Send one datagram from the forger, claiming to come from `claim`. */
static void sr_forge_send(struct simrun *r, uint32_t claim, uint32_t dst, const uint8_t *buf,
                          int len)
{
    if (len <= 0)
        return;
    tc_sim_net_spoof(r->net, r->forger, claim);
    if (tc_sim_net_send(r->net, r->forger, dst, buf, (size_t)len) == 0)
        r->res->forged_sent++;
    tc_sim_net_spoof(r->net, r->forger, r->forger);
}

/** JOINs the seeder admits per second (the protocol default). */
static uint64_t sr_admit_per_s(void)
{
    struct tc_proto_limits l;

    tc_proto_limits_default(&l);
    return l.admit_per_s;
}

/**
 * One period of the forger: a forged DATA block of a random chunk (aligned
 * to segments, random payload) to the group once the session is known, and
 * one forged control datagram (REPAIR_REQ, HEARTBEAT, DONE or REPORT with a
 * random token) from a spoofed agent to the seeder or an agent.
 */
static void sr_forge_tick(struct simrun *r)
{
    const struct tc_manifest *m = r->manifest;
    struct tc_sim_rng *g = &r->forge_rng;
    uint8_t buf[TC_WIRE_DGRAM_MAX], payload[TC_WIRE_DATA_PAYLOAD_MAX];
    struct tc_wire_msg msg;
    uint32_t idx = (uint32_t)tc_sim_rng_below(g, m->chunk_count);
    uint32_t claim = 1 + (uint32_t)tc_sim_rng_below(g, r->n);
    uint32_t dst;

    if (r->sniff_session != 0 && m->chunks[idx].stored_len > 0) {
        uint32_t len = m->chunks[idx].stored_len;
        uint32_t segs = tc_proto_nsegs(len, r->seg_size);
        uint32_t off = (uint32_t)tc_sim_rng_below(g, segs) * r->seg_size;
        uint32_t n = len - off < r->block_len ? len - off : r->block_len;
        uint32_t i;

        for (i = 0; i < n; i++)
            payload[i] = (uint8_t)tc_sim_rng_next(g);
        memset(&msg, 0, sizeof(msg));
        msg.hdr.type = TC_WIRE_DATA;
        msg.hdr.session_id = r->sniff_session;
        msg.hdr.epoch = r->sniff_epoch;
        msg.u.data.object = TC_WIRE_OBJ_CHUNK;
        msg.u.data.index = idx;
        msg.u.data.offset = off;
        msg.u.data.len = (uint16_t)n;
        msg.u.data.payload = payload;
        sr_forge_send(r, 0, TC_SIM_GROUP(0), buf, tc_wire_encode(&msg, buf, sizeof(buf)));
    }
    memset(&msg, 0, sizeof(msg));
    msg.hdr.session_id = r->sniff_session ? r->sniff_session : tc_sim_rng_next(g) | 1;
    msg.hdr.epoch = r->sniff_epoch ? r->sniff_epoch : 1;
    msg.hdr.token = tc_sim_rng_next(g) | 1;
    switch (tc_sim_rng_below(g, 4)) {
    case 0:
        msg.hdr.type = TC_WIRE_REPAIR_REQ;
        msg.u.repair_req.object = TC_WIRE_OBJ_CHUNK;
        msg.u.repair_req.index = idx;
        msg.u.repair_req.nranges = 1;
        msg.u.repair_req.ranges[0].offset = 0;
        msg.u.repair_req.ranges[0].len = r->seg_size;
        break;
    case 1:
        msg.hdr.type = TC_WIRE_HEARTBEAT;
        msg.u.heartbeat.seq = (uint32_t)tc_sim_rng_next(g);
        msg.u.heartbeat.state = TC_WIRE_STATE_RECEIVING;
        msg.u.heartbeat.chunks_done = idx;
        msg.u.heartbeat.time_ns = tc_sim_now(r->sim);
        break;
    case 2:
        msg.hdr.type = TC_WIRE_DONE;
        memcpy(msg.u.done.image_digest, m->image_digest, TC_SHA256_LEN);
        msg.u.done.chunk_count = m->chunk_count;
        break;
    default:
        msg.hdr.type = TC_WIRE_REPORT;
        msg.u.report.seq = (uint32_t)tc_sim_rng_next(g);
        msg.u.report.subtree_nodes = 1;
        msg.u.report.nentries = 1;
        msg.u.report.entries[0].object = TC_WIRE_OBJ_CHUNK;
        msg.u.report.entries[0].index = idx;
        msg.u.report.entries[0].max_missing = 1;
        msg.u.report.entries[0].hist[0] = 1;
        break;
    }
    dst = tc_sim_rng_below(g, 2) ? 0 : 1 + (uint32_t)tc_sim_rng_below(g, r->n);
    if (dst == claim)
        dst = 0;
    sr_forge_send(r, claim, dst, buf, tc_wire_encode(&msg, buf, sizeof(buf)));
}

/* ---- simnet callbacks -------------------------------------------------------- */

static void sr_on_start(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;

    (void)net;
    if (node == 0) {
        struct tc_seeder_cfg sc;
        struct tc_err err;
        int rc;

        memset(&sc, 0, sizeof(sc));
        sc.manifest = r->manifest;
        sc.sigblock = r->sigblock;
        sc.sigblock_len = r->sigblock_len;
        sc.group.addr = TC_SIMRUN_GROUP_ADDR;
        sc.group.port = TC_SIMRUN_GROUP_PORT;
        sc.mtu = (uint16_t)r->cfg.mtu;
        sc.rate_bps = (uint64_t)(r->cfg.rate_fraction * (double)r->cfg.link_bps);
        if (r->cfg.rate_auto) {
            sc.rate_auto = 1;
            sc.rate_max_bps = sc.rate_bps;
            sc.rate_bps = 0;
        }
        sc.tree_only = r->cfg.tree_only;
        if (nd->lives > 0 && r->durable_len > 0) {
            sc.restore = r->durable;
            sc.restore_len = r->durable_len;
        }
        if (nd->lives > 0)
            sr_fault_log(r, "seeder restarts from %zu bytes of persisted state", r->durable_len);
        nd->lives++;
        sc.fanout = r->cfg.fanout;
        sc.root_fanout = r->cfg.root_fanout;
        sc.nodes_max = r->n;
        sc.min_nodes = r->n - r->cfg.late_nodes;
        /* all the agents at once, as an operator's --min-nodes would: the
         * wait covers their admission (admit_per_s JOINs a second) */
        sc.start_wait_ns =
            TC_SIMRUN_START_WAIT_NS + (uint64_t)r->n * 1000000000ull / sr_admit_per_s();
        sc.dataless = !r->cfg.real;
        tc_proto_limits_default(&sc.limits);
        tc_err_clear(&err);
        rc = tc_seeder_new(&r->seeder, &sc, &r->seeder_ops, nd, now, &err);
        if (rc < 0) {
            r->seeder = NULL;
            snprintf(r->res->failure, sizeof(r->res->failure), "%s", err.msg);
            tc_sim_fail(r->sim, rc);
            return;
        }
        sr_seeder_after(r, 0, "start");
    } else if (node == r->forger) {
        tc_sim_net_join(r->net, node, 0);
        tc_sim_net_timer_set(r->net, node, now + TC_SIMRUN_FORGE_PERIOD_NS);
    } else {
        if (nd->lives++ > 0 && sr_agent_restart_held(r, nd) < 0) {
            tc_sim_fail(r->sim, -ENOMEM);
            return;
        }
        sr_agent_start(r, nd, now);
    }
}

/** A node crashed (simnet has dropped its timer, disk writes and groups). */
static void sr_on_crash(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;

    (void)net;
    (void)now;
    if (node == 0) {
        if (r->seeder) {
            r->res->repair_bytes += tc_seeder_stats(r->seeder)->repair_bytes;
            tc_seeder_free(r->seeder);
            r->seeder = NULL;
        }
        /* states not yet durable are lost with the machine */
        r->persist_count = 0;
        r->persist_gen++;
        r->persist_busy_until = 0;
        sr_fault_log(r, "seeder crashed (%zu bytes of state durable)", r->durable_len);
    } else if (node != r->forger) {
        sr_agent_crash(r, nd);
    }
}

/** An agent a crash spec may pick: running, not finished, no crash pending. */
static int sr_crashable(const struct simrun *r, uint32_t a)
{
    const struct sr_node *nd = &r->nodes[a];
    enum tc_agent_state st;

    if (!nd->agent || nd->finished || nd->crash_pending || !tc_sim_net_is_up(r->net, a))
        return 0;
    st = tc_agent_state(nd->agent);
    return st != TC_AGENT_RELEASED && st != TC_AGENT_FAILED;
}

/**
 * The tree as the seeder sees it now: parent_of[a] = agent a's parent (0:
 * the seeder, or not in the tree) and kids[a] = its crashable children.
 * 0, or -ENOENT when the seeder is down.
 */
static int sr_tree_view(struct simrun *r)
{
    struct tc_seeder_node_info info;
    uint32_t i, a;

    if (!r->seeder)
        return -ENOENT;
    memset(r->parent_of, 0, (r->n + 1) * sizeof(*r->parent_of));
    memset(r->kids, 0, (r->n + 1) * sizeof(*r->kids));
    /* scratch: seeder index -> agent number */
    for (i = 0; i < r->n; i++) {
        r->scratch[i] = 0;
        if (tc_seeder_node(r->seeder, i, &info) == 0 && info.state != TC_SEEDER_NODE_FREE &&
            info.addr.addr >= 1 && info.addr.addr <= r->n)
            r->scratch[i] = info.addr.addr;
    }
    for (i = 0; i < r->n; i++) {
        a = r->scratch[i];
        if (!a || tc_seeder_node(r->seeder, i, &info) < 0 || info.parent == TC_WIRE_INDEX_SEEDER ||
            info.parent >= r->n)
            continue;
        r->parent_of[a] = r->scratch[info.parent];
        if (r->parent_of[a] && sr_crashable(r, a))
            r->kids[r->parent_of[a]]++;
    }
    return 0;
}

/** Crash agent a now; restart_after ns later (TC_PROTO_NEVER: never). */
static void sr_crash_agent(struct simrun *r, uint32_t a, uint64_t now, uint64_t restart_after)
{
    struct sr_node *nd = &r->nodes[a];

    nd->crash_pending = 1;
    nd->restart_pending = restart_after != TC_PROTO_NEVER;
    if (tc_sim_net_crash(r->net, a, now, nd->restart_pending ? restart_after : TC_SIM_NEVER) < 0)
        nd->crash_pending = 0;
}

/**
 * One crash of spec `spec` (an agent, or a pair), picked now among the
 * agents still running: any of them; one the seeder lists as a parent; or
 * such a parent and one of its children. Interior picks fall back to any
 * agent when the seeder is down or no agent has children.
 */
static void sr_crash_event(struct simrun *r, uint32_t spec, uint64_t now)
{
    const struct tc_simrun_crash *c = &r->cfg.crash[spec];
    uint32_t a, k = 0, p, child = 0;

    if (c->pick != TC_SIMRUN_PICK_ANY && sr_tree_view(r) == 0) {
        for (a = 1; a <= r->n; a++)
            if (sr_crashable(r, a) && r->kids[a] > 0)
                r->scratch[k++] = a;
    }
    if (k == 0) {
        if (c->pick != TC_SIMRUN_PICK_ANY)
            sr_fault_log(r, "crash spec %u: no interior agent, picking any", spec);
        for (a = 1; a <= r->n; a++)
            if (sr_crashable(r, a))
                r->scratch[k++] = a;
        if (k == 0) {
            sr_fault_log(r, "crash spec %u: no agent left to crash", spec);
            return;
        }
        a = r->scratch[tc_sim_rng_below(&r->fault_rng, k)];
        sr_fault_log(r, "crash spec %u: node %u", spec, a);
        sr_crash_agent(r, a, now, c->restart_after_ns);
        return;
    }
    p = r->scratch[tc_sim_rng_below(&r->fault_rng, k)];
    if (c->pick == TC_SIMRUN_PICK_PAIR) {
        k = 0;
        for (a = 1; a <= r->n; a++)
            if (r->parent_of[a] == p && sr_crashable(r, a))
                r->scratch[k++] = a;
        assert(k > 0);
        child = r->scratch[tc_sim_rng_below(&r->fault_rng, k)];
        sr_fault_log(r, "crash spec %u: pair parent %u child %u (seeder: parent of %u is %u)", spec,
                     p, child, child, r->parent_of[child]);
        sr_crash_agent(r, child, now, c->restart_after_ns);
    } else {
        sr_fault_log(r, "crash spec %u: interior node %u (%u children)", spec, p, r->kids[p]);
    }
    sr_crash_agent(r, p, now, c->restart_after_ns);
}

/** The oldest pending persist is on disk: it becomes the durable state. */
static void sr_persist_done(struct simrun *r, uint32_t gen, uint64_t now)
{
    uint32_t slot = r->persist_head;
    size_t len;

    if (gen != r->persist_gen || r->persist_count == 0)
        return; /* the seeder crashed since: lost */
    len = r->persist_len[slot];
    if (r->durable_cap < len) {
        uint8_t *b = realloc(r->durable, len);

        if (!b) {
            tc_sim_fail(r->sim, -ENOMEM);
            return;
        }
        r->durable = b;
        r->durable_cap = len;
    }
    if (len)
        memcpy(r->durable, r->persist_buf[slot], len);
    r->durable_len = len;
    r->persist_head = (slot + 1) % SR_PERSIST_MAX;
    r->persist_count--;
    if (r->seeder)
        sr_seeder_after(r, tc_seeder_on_persisted(r->seeder, now, r->persist_cookie[slot], 0),
                        "on_persisted");
}

/** Scenario events: crashes and persist completions. */
static void sr_on_script(void *ctx, struct tc_sim_net *net, uint64_t now, uint64_t arg)
{
    struct simrun *r = ctx;
    uint32_t num = (uint32_t)(arg >> SR_SCRIPT_SHIFT);

    (void)net;
    switch (arg & ((1u << SR_SCRIPT_SHIFT) - 1)) {
    case SR_SCRIPT_CRASH:
        sr_crash_event(r, num, now);
        break;
    case SR_SCRIPT_PERSIST:
        sr_persist_done(r, num, now);
        break;
    default:
        assert(!"unknown scenario event");
    }
}

static void sr_on_packet(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now,
                         uint32_t from, const uint8_t *buf, size_t len)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    struct tc_proto_peer peer = {.addr = from, .port = TC_SIMRUN_NODE_PORT};

    (void)net;
    if (node == 0) {
        if (r->seeder)
            sr_seeder_after(r, tc_seeder_on_packet(r->seeder, now, peer, buf, len), "on_packet");
    } else if (node == r->forger) {
        struct tc_wire_hdr h;

        if (r->sniff_session == 0 && tc_wire_decode_hdr(buf, len, &h) == 0 && h.session_id) {
            r->sniff_session = h.session_id;
            r->sniff_epoch = h.epoch;
        }
    } else if (nd->agent) {
        tc_agent_on_packet(nd->agent, now, peer, buf, len);
        sr_agent_after(r, nd);
    }
}

static void sr_on_train(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now,
                        uint32_t from, const struct tc_sim_train_rx *rx)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;
    struct tc_proto_blocks b;
    const uint8_t *g = NULL;
    uint64_t glen = 0;

    (void)net;
    if (rx->meta_len != SR_META_LEN)
        return;
    memset(&b, 0, sizeof(b));
    b.peer.addr = from;
    b.peer.port = TC_SIMRUN_NODE_PORT;
    b.session_id = tc_get_be64(rx->meta + SR_META_SESSION);
    b.token = tc_get_be64(rx->meta + SR_META_TOKEN);
    b.epoch = tc_get_be32(rx->meta + SR_META_EPOCH);
    b.index = tc_get_be32(rx->meta + SR_META_INDEX);
    b.offset = tc_get_be32(rx->meta + SR_META_OFFSET);
    b.block_len = tc_get_be32(rx->meta + SR_META_BLOCK_LEN);
    b.total_len = tc_get_be32(rx->meta + SR_META_TOTAL_LEN);
    b.object = rx->meta[SR_META_OBJECT];
    b.unicast = rx->meta[SR_META_UNICAST];
    b.nblocks = rx->nblocks;
    b.bitmap = rx->bitmap;
    if (node == r->forger) {
        if (r->sniff_session == 0) {
            r->sniff_session = b.session_id;
            r->sniff_epoch = b.epoch;
        }
        return;
    }
    if (node == 0 || !nd->agent)
        return;
    if (sr_object(r, b.object, b.index, &g, &glen) < 0 || b.offset > glen ||
        b.total_len > glen - b.offset)
        return; /* checked when it was sent */
    b.payload = g ? g + b.offset : NULL;
    tc_agent_on_blocks(nd->agent, now, &b);
    sr_agent_after(r, nd);
}

static void sr_on_timer(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    struct sr_node *nd = ctx;
    struct simrun *r = nd->run;

    if (now != nd->timer_ns) {
        nd->timer_ns = now;
        nd->timer_same = 0;
    } else if (++nd->timer_same == SR_TIMER_SAME_NS_MAX) {
        if (r->res->failure[0] == '\0')
            snprintf(r->res->failure, sizeof(r->res->failure),
                     "node %u: its core asked for its timer %u times in a row at %.9f s "
                     "(a next deadline that does not move past now)",
                     node, SR_TIMER_SAME_NS_MAX, (double)now / 1e9);
        tc_sim_fail(r->sim, -ELOOP);
        return;
    }
    if (node == 0) {
        if (r->seeder)
            sr_seeder_after(r, tc_seeder_on_timer(r->seeder, now), "on_timer");
    } else if (node == r->forger) {
        sr_forge_tick(r);
        tc_sim_net_timer_set(net, node, now + TC_SIMRUN_FORGE_PERIOD_NS);
    } else if (nd->agent) {
        tc_agent_on_timer(nd->agent, now);
        sr_agent_after(r, nd);
    }
}

static void sr_on_disk_done(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now,
                            uint64_t cookie)
{
    struct sr_node *nd = ctx;

    (void)net;
    (void)cookie;
    if (node != 0 && nd->agent)
        sr_agent_disk_done(nd->run, nd, now);
}

static const struct tc_sim_node_ops sr_node_ops = {
    .on_start = sr_on_start,
    .on_crash = sr_on_crash,
    .on_packet = sr_on_packet,
    .on_train = sr_on_train,
    .on_timer = sr_on_timer,
    .on_disk_done = sr_on_disk_done,
};

/** Stop condition: every agent RELEASED or FAILED. */
static int sr_all_finished(void *ctx, const struct tc_sim *sim)
{
    const struct simrun *r = ctx;

    (void)sim;
    return r->finished == r->n;
}

/* ---- the image --------------------------------------------------------------- */

/** struct tc_rng drawing from a simulator stream (deterministic keys). */
static int sr_rng_fill(void *ctx, uint8_t *buf, size_t len)
{
    struct tc_sim_rng *g = ctx;
    size_t i;

    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(tc_sim_rng_next(g) >> 56);
    return 0;
}

/**
 * Deterministic raw bytes of one chunk: SR_ZERO_PCT % all zero, SR_RANDOM_PCT %
 * random (incompressible), the rest text-like (words from a small
 * vocabulary: compressible).
 */
static void sr_gen_chunk(struct tc_sim_rng *g, uint8_t *p, size_t len)
{
    static const char *const words[] = {
        "block ",  "chunk ",   "seeder ", "agent ", "tree ", "the ",  "of ",     "multicast ",
        "repair ", "segment ", "image ",  "\n",     "disk ", "node ", "verify ", "and ",
    };
    uint64_t kind = tc_sim_rng_below(g, 100);
    size_t i = 0;

    if (kind < SR_ZERO_PCT) {
        memset(p, 0, len);
        return;
    }
    if (kind < SR_ZERO_PCT + SR_RANDOM_PCT) {
        for (i = 0; i + 8 <= len; i += 8)
            tc_put_be64(p + i, tc_sim_rng_next(g));
        for (; i < len; i++)
            p[i] = (uint8_t)tc_sim_rng_next(g);
        return;
    }
    while (i < len) {
        const char *w = words[tc_sim_rng_below(g, sizeof(words) / sizeof(words[0]))];
        size_t n = strlen(w);

        if (n > len - i)
            n = len - i;
        memcpy(p + i, w, n);
        i += n;
    }
}

/**
 * The session's manifest from its chunk entries and list hashes (both
 * image kinds), and the length of its segment hash list.
 */
static int sr_manifest_build(struct simrun *r, const struct tc_manifest_chunk *ch, uint32_t count,
                             const uint8_t *list_hash, struct tc_err *err)
{
    struct tc_manifest_params mp;
    int rc;

    memset(&mp, 0, sizeof(mp));
    mp.name = SR_IMAGE_NAME;
    mp.version = SR_IMAGE_VERSION;
    mp.raw_size = r->cfg.image_size;
    mp.chunk_size = r->cfg.chunk_size;
    mp.created = SR_CREATED;
    mp.not_after = TC_TIME_NEVER;
    mp.seg_size = r->seg_size;
    mp.list_hash = list_hash;
    rc = tc_manifest_build(&mp, ch, count, NULL, &r->manifest, err);
    if (rc < 0)
        return rc;
    r->man_hashes_len =
        (size_t)tc_proto_nsegs(r->manifest->len, r->seg_size) * TC_WIRE_SEG_HASH_LEN;
    return 0;
}

/**
 * Real image: raw bytes, encoded chunks, hash lists, the manifest, a
 * deterministic P-256 key, the signature block and the trust store.
 */
static int sr_image_real(struct simrun *r, struct tc_err *err)
{
    const struct tc_simrun_cfg *c = &r->cfg;
    uint32_t count = (uint32_t)((c->image_size + c->chunk_size - 1) / c->chunk_size);
    struct tc_manifest_chunk *ch = NULL;
    struct tc_sim_rng g, kg;
    struct tc_rng rng = {.fill = sr_rng_fill, .ctx = &kg};
    struct tc_key *key = NULL;
    struct tc_sigblock sb;
    uint8_t *list_hash = NULL, digest[TC_SHA256_LEN];
    char pem[TC_PEM_MAX];
    uint64_t soff = 0, hoff = 0;
    size_t pem_len, sl;
    uint32_t i;
    int rc;

    tc_sim_rng_seed(&g, c->seed, SR_STREAM_IMAGE);
    tc_sim_rng_seed(&kg, c->seed, SR_STREAM_KEY);
    r->raw = malloc(c->image_size ? c->image_size : 1);
    r->stored = malloc(c->image_size ? c->image_size : 1);
    ch = calloc(count, sizeof(*ch));
    list_hash = calloc(count, TC_SHA256_LEN);
    r->chunk_hashes_off = calloc(count, sizeof(*r->chunk_hashes_off));
    r->chunk_hashes =
        malloc((size_t)tc_proto_nsegs(c->image_size, r->seg_size) * TC_WIRE_SEG_HASH_LEN +
               (size_t)count * TC_WIRE_SEG_HASH_LEN + 1);
    if (!r->raw || !r->stored || !ch || !list_hash || !r->chunk_hashes_off || !r->chunk_hashes) {
        rc = tc_err_set(err, -ENOMEM, "simulated image of %llu bytes: out of memory",
                        (unsigned long long)c->image_size);
        goto out;
    }
    for (i = 0; i < count; i++) {
        uint64_t off = (uint64_t)i * c->chunk_size;
        size_t len = c->image_size - off < c->chunk_size ? c->image_size - off : c->chunk_size;
        enum tc_enc enc;

        sr_gen_chunk(&g, r->raw + off, len);
        rc = tc_chunk_encode(r->raw + off, len, TC_CHUNK_LEVEL_DEFAULT, r->stored + soff, &enc, &sl,
                             err);
        if (rc < 0)
            goto out;
        ch[i].enc = (uint8_t)enc;
        ch[i].stored_len = (uint32_t)sl;
        tc_sha256(r->stored + soff, sl, ch[i].stored_hash);
        tc_sha256(r->raw + off, len, ch[i].raw_hash);
        r->chunk_hashes_off[i] = hoff;
        tc_proto_hash_list(NULL, r->stored + soff, sl, r->seg_size, r->chunk_hashes + hoff);
        tc_sha256(r->chunk_hashes + hoff,
                  (size_t)tc_proto_nsegs(sl, r->seg_size) * TC_WIRE_SEG_HASH_LEN,
                  list_hash + (size_t)i * TC_SHA256_LEN);
        hoff += (uint64_t)tc_proto_nsegs(sl, r->seg_size) * TC_WIRE_SEG_HASH_LEN;
        soff += sl;
    }
    rc = sr_manifest_build(r, ch, count, list_hash, err);
    if (rc < 0)
        goto out;
    r->man_hashes = malloc(r->man_hashes_len + 1);
    if (!r->man_hashes) {
        rc = tc_err_set(err, -ENOMEM, "manifest hash list: out of memory");
        goto out;
    }
    tc_proto_hash_list(NULL, r->manifest->bytes, r->manifest->len, r->seg_size, r->man_hashes);
    rc = tc_key_generate(&key, TC_KEY_ECDSA_P256, &rng, err);
    if (rc < 0)
        goto out;
    memset(&sb, 0, sizeof(sb));
    tc_sig_digest(TC_DOMAIN_MANIFEST, r->manifest->bytes, r->manifest->len, digest);
    rc = tc_sigblock_add(&sb, key, &rng, digest, err);
    if (rc < 0)
        goto out;
    r->sigblock_len = tc_sigblock_size(&sb);
    r->sigblock = malloc(r->sigblock_len);
    if (!r->sigblock) {
        rc = tc_err_set(err, -ENOMEM, "signature block: out of memory");
        goto out;
    }
    rc = tc_sigblock_serialize(&sb, r->sigblock, r->sigblock_len, &r->sigblock_len);
    if (rc < 0)
        goto out;
    rc = tc_key_write_public_pem(key, pem, sizeof(pem), &pem_len);
    if (rc < 0)
        goto out;
    rc = tc_trust_add(&r->trust, (const uint8_t *)pem, pem_len, "simrun.pub", err);
out:
    tc_key_free(key);
    free(ch);
    free(list_hash);
    return rc;
}

/**
 * Dataless image: every chunk DEFLATE (RAW at ratio 1) with stored_len =
 * raw_len x stored_ratio, stand-in hashes derived from the index, an empty
 * signature block, zero list hashes.
 */
static int sr_image_dataless(struct simrun *r, struct tc_err *err)
{
    const struct tc_simrun_cfg *c = &r->cfg;
    uint32_t count = (uint32_t)((c->image_size + c->chunk_size - 1) / c->chunk_size);
    struct tc_manifest_chunk *ch = calloc(count, sizeof(*ch));
    uint8_t *list_hash = calloc(count, TC_SHA256_LEN);
    struct tc_sigblock sb;
    uint32_t i;
    int rc;

    if (!ch || !list_hash) {
        rc = tc_err_set(err, -ENOMEM, "manifest of %u chunks: out of memory", count);
        goto out;
    }
    for (i = 0; i < count; i++) {
        uint64_t off = (uint64_t)i * c->chunk_size;
        uint64_t len = c->image_size - off < c->chunk_size ? c->image_size - off : c->chunk_size;
        uint64_t sl = (uint64_t)((double)len * c->stored_ratio + 0.5);

        if (sl < 1)
            sl = 1;
        if (sl >= len) {
            sl = len;
            ch[i].enc = TC_ENC_RAW;
        } else {
            ch[i].enc = TC_ENC_DEFLATE;
        }
        ch[i].stored_len = (uint32_t)sl;
        tc_put_be32(ch[i].stored_hash, i);
        tc_put_be32(ch[i].raw_hash, i);
        ch[i].raw_hash[31] = 1;
    }
    rc = sr_manifest_build(r, ch, count, list_hash, err);
    if (rc < 0)
        goto out;
    memset(&sb, 0, sizeof(sb));
    r->sigblock_len = tc_sigblock_size(&sb);
    r->sigblock = malloc(r->sigblock_len);
    if (!r->sigblock) {
        rc = tc_err_set(err, -ENOMEM, "signature block: out of memory");
        goto out;
    }
    rc = tc_sigblock_serialize(&sb, r->sigblock, r->sigblock_len, &r->sigblock_len);
out:
    free(ch);
    free(list_hash);
    return rc;
}

/* ---- configuration and the run ------------------------------------------------ */

/** Defaults (see the header). */
void tc_simrun_cfg_default(struct tc_simrun_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->nodes = 1;
    cfg->image_size = 64ull * 1024 * 1024;
    cfg->stored_ratio = 0.5;
    cfg->link_bps = 1000000000ull;
    cfg->latency_ns = 50 * TC_SIM_US;
    cfg->disk_Bps = 500000000ull;
}

/** Check the fault options (slow nodes, crashes, seeder restart, racks,
 * partition); err names the option. */
static int sr_check_faults(struct tc_simrun_cfg *c, struct tc_err *err)
{
    uint32_t i, crashed = 0;

    if (c->slow_nodes > c->nodes)
        return tc_err_set(err, -EINVAL, "--slow %u: more slow agents than --nodes %u",
                          c->slow_nodes, c->nodes);
    if (c->slow_nodes && c->slow_bps == 0)
        return tc_err_set(err, -EINVAL, "--slow %u:RATE: the rate must be above 0 bit/s",
                          c->slow_nodes);
    if (c->ncrash > TC_SIMRUN_CRASHES_MAX)
        return tc_err_set(err, -EINVAL, "--crash: at most %u crash specs, got %u",
                          TC_SIMRUN_CRASHES_MAX, c->ncrash);
    for (i = 0; i < c->ncrash; i++) {
        struct tc_simrun_crash *k = &c->crash[i];

        if (k->at_hi_ns < k->at_ns)
            k->at_hi_ns = k->at_ns;
        if (k->count == 0 || k->pick > TC_SIMRUN_PICK_PAIR || k->restart_after_ns == 0)
            return tc_err_set(err, -EINVAL,
                              "--crash spec %u: needs a count >= 1, a known pick and a "
                              "restart delay above 0 (or none)",
                              i + 1);
        crashed += k->pick == TC_SIMRUN_PICK_PAIR ? 2 * k->count : k->count;
    }
    if (crashed > c->nodes)
        return tc_err_set(err, -EINVAL, "--crash: %u agents to crash, more than --nodes %u",
                          crashed, c->nodes);
    if (c->seeder_restart_ns && c->seeder_down_ns == 0)
        c->seeder_down_ns = TC_SIMRUN_SEEDER_DOWN_NS;
    if (c->racks > c->nodes || c->racks > TC_SIM_RACKS_MAX)
        return tc_err_set(err, -EINVAL, "--racks %u: must be 1..%u and at most --nodes %u",
                          c->racks, TC_SIM_RACKS_MAX, c->nodes);
    if (c->racks && c->uplink_bps == 0)
        c->uplink_bps = c->link_bps;
    if (c->partition_rack > c->racks)
        return tc_err_set(err, -EINVAL, "--partition %u: no such rack (--racks %u)",
                          c->partition_rack, c->racks);
    if (c->partition_rack && c->partition_ns == 0)
        return tc_err_set(err, -EINVAL, "--partition %u: needs a duration above 0",
                          c->partition_rack);
    return 0;
}

/** Fill defaults and check the configuration; err names the option. */
static int sr_check_cfg(struct tc_simrun_cfg *c, struct tc_err *err)
{
    if (c->nodes < 1 || c->nodes > TC_SIMRUN_NODES_MAX)
        return tc_err_set(err, -EINVAL, "--nodes %u: must be 1..%u", c->nodes, TC_SIMRUN_NODES_MAX);
    if (c->chunk_size == 0)
        c->chunk_size = TC_CHUNK_SIZE_DEFAULT;
    if (c->chunk_size < TC_CHUNK_SIZE_MIN || c->chunk_size > TC_CHUNK_SIZE_WIRE_MAX ||
        (c->chunk_size & (c->chunk_size - 1)))
        return tc_err_set(err, -EINVAL, "--chunk-size %u: must be a power of two in %u..%u bytes",
                          c->chunk_size, TC_CHUNK_SIZE_MIN, TC_CHUNK_SIZE_WIRE_MAX);
    if (c->image_size == 0 ||
        (c->image_size + c->chunk_size - 1) / c->chunk_size > TC_MANIFEST_CHUNKS_MAX)
        return tc_err_set(err, -EINVAL,
                          "--image-size %llu: must be 1 byte to %u chunks of %u bytes",
                          (unsigned long long)c->image_size, TC_MANIFEST_CHUNKS_MAX, c->chunk_size);
    if (!c->real && !(c->stored_ratio > 0 && c->stored_ratio <= 1))
        return tc_err_set(err, -EINVAL, "--stored-ratio %g: must be in (0, 1]", c->stored_ratio);
    if (c->link_bps == 0)
        return tc_err_set(err, -EINVAL, "--link: must be above 0 bit/s");
    if (!(c->loss >= 0 && c->loss < 1) || !(c->shared_loss >= 0 && c->shared_loss < 1))
        return tc_err_set(err, -EINVAL, "--loss / --shared-loss: must be in [0, 1)");
    if (c->fanout == 0)
        c->fanout = c->tree_only ? TC_TREE_FANOUT_TREE_ONLY : TC_TREE_FANOUT_DEFAULT;
    if (c->fanout > TC_WIRE_CHILDREN_MAX)
        return tc_err_set(err, -EINVAL, "--fanout %u: must be 1..%u", c->fanout,
                          TC_WIRE_CHILDREN_MAX);
    if (c->root_fanout > c->fanout)
        return tc_err_set(err, -EINVAL, "--root-fanout %u: must be 1..%u (the fan-out)",
                          c->root_fanout, c->fanout);
    if (c->mtu == 0)
        c->mtu = 1500;
    if (tc_wire_data_payload_max(c->mtu) == 0)
        return tc_err_set(err, -EINVAL, "--mtu %u: must be %u..%u", c->mtu, TC_WIRE_MTU_MIN,
                          TC_WIRE_MTU_MAX);
    if (c->seg_size == 0)
        c->seg_size = (uint32_t)tc_wire_data_payload_max(c->mtu);
    if (c->seg_size < TC_WIRE_SEG_SIZE_MIN || c->seg_size > TC_WIRE_SEG_SIZE_MAX ||
        tc_wire_block_len(c->mtu, c->seg_size) == 0)
        return tc_err_set(err, -EINVAL,
                          "--seg-size %u: must be %u..%u and fit a DATA block at MTU %u",
                          c->seg_size, TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX, c->mtu);
    if (c->rate_fraction == 0)
        c->rate_fraction = TC_SIMRUN_RATE_FRACTION_DEFAULT;
    if (!(c->rate_fraction > 0 && c->rate_fraction <= TC_SIMRUN_RATE_FRACTION_MAX))
        return tc_err_set(err, -EINVAL, "--rate-fraction %g: must be in (0, %g]", c->rate_fraction,
                          TC_SIMRUN_RATE_FRACTION_MAX);
    if (c->late_nodes >= c->nodes && c->late_nodes > 0)
        return tc_err_set(err, -EINVAL, "--late %u: must leave at least one agent on time",
                          c->late_nodes);
    if (!(c->held_fraction >= 0 && c->held_fraction < 1))
        return tc_err_set(err, -EINVAL, "--held %g: must be in [0, 1)", c->held_fraction);
    if (c->forge && !c->real)
        return tc_err_set(err, -EINVAL, "--forge needs --real (forged blocks need real hashes)");
    return sr_check_faults(c, err);
}

/** A link's loss model with mean p: independent, or bursts of mean SR_BURST_LEN. */
static void sr_loss(struct tc_sim_loss_cfg *l, double p, int burst)
{
    memset(l, 0, sizeof(*l));
    if (p <= 0)
        return;
    if (!burst) {
        l->kind = TC_SIM_LOSS_RANDOM;
        l->p = p;
        return;
    }
    /* bad state loses everything; mean loss p_gb / (p_gb + p_bg) = p */
    l->kind = TC_SIM_LOSS_GE;
    l->p_bg = 1.0 / TC_SIMRUN_BURST_LEN;
    l->p_gb = p * l->p_bg / (1 - p);
    l->loss_good = 0;
    l->loss_bad = 1;
}

/** The floor: the chunk data's wire bytes at the MTU over the link, or the disk. */
static uint64_t sr_floor(const struct simrun *r)
{
    const struct tc_manifest *m = r->manifest;
    uint64_t pmax = tc_wire_data_payload_max(r->cfg.mtu), wire = 0, raw = 0, net_ns, disk_ns = 0;
    uint32_t i;

    for (i = 0; i < m->chunk_count; i++) {
        uint64_t sl = m->chunks[i].stored_len;

        if (m->chunks[i].enc == TC_ENC_ZERO)
            continue;
        wire += sl + (sl + pmax - 1) / pmax *
                         (TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN + TC_PROTO_WIRE_OVERHEAD);
        raw += tc_manifest_chunk_raw_len(m, i);
    }
    net_ns = (uint64_t)((double)wire * 8 * 1e9 / (double)r->cfg.link_bps);
    if (r->cfg.disk_Bps)
        disk_ns = (uint64_t)((double)raw * 1e9 / (double)r->cfg.disk_Bps);
    return net_ns > disk_ns ? net_ns : disk_ns;
}

/** Compare two uint64 (qsort). */
static int sr_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/**
 * Hardware faults and topology: slow agents (picked at random: their links
 * run at slow_bps both ways), racks (agents in contiguous blocks: 1..N/R in
 * rack 1...; the seeder and the forger on the core switch).
 */
static int sr_faults(struct simrun *r, const struct tc_sim_node_cfg *agent_hw, uint32_t total,
                     struct tc_err *err)
{
    const struct tc_simrun_cfg *c = &r->cfg;
    struct tc_sim_node_cfg hw = *agent_hw;
    struct tc_sim_link_cfg up;
    uint32_t i;
    int rc;

    tc_sim_rng_seed(&r->fault_rng, c->seed, SR_STREAM_FAULTS);
    for (i = 0; i < r->n; i++)
        r->scratch[i] = i + 1;
    hw.up.rate_bps = c->slow_bps;
    hw.down.rate_bps = c->slow_bps;
    for (i = 0; i < c->slow_nodes; i++) {
        uint32_t j = i + (uint32_t)tc_sim_rng_below(&r->fault_rng, r->n - i), a = r->scratch[j];

        r->scratch[j] = r->scratch[i];
        r->scratch[i] = a;
        r->nodes[a].slow = 1;
        r->res->slow[a - 1] = 1;
        tc_sim_net_node_set(r->net, a, &hw);
        sr_fault_log(r, "node %u is slow: links of %llu bit/s", a, (unsigned long long)c->slow_bps);
    }
    if (c->racks == 0)
        return 0;
    r->rack_of = calloc(total, sizeof(*r->rack_of));
    if (!r->rack_of)
        return tc_err_set(err, -ENOMEM, "racks: out of memory");
    for (i = 1; i <= r->n; i++)
        r->rack_of[i] = 1 + (uint32_t)((uint64_t)(i - 1) * c->racks / r->n);
    memset(&up, 0, sizeof(up));
    up.rate_bps = c->uplink_bps;
    up.latency_ns = c->latency_ns;
    up.queue_bytes = agent_hw->up.queue_bytes;
    rc = tc_sim_net_racks(r->net, c->racks, r->rack_of, &up);
    if (rc < 0)
        return tc_err_set(err, rc, "--racks %u: cannot set up the racks (%d)", c->racks, rc);
    return 0;
}

/**
 * Scripted faults: one scenario event per crash (each at a uniform time in
 * its spec's window: the agents are picked then), the seeder's crash, the
 * rack partition.
 */
static int sr_schedule_faults(struct simrun *r)
{
    const struct tc_simrun_cfg *c = &r->cfg;
    uint32_t i, k, n = 0;
    int rc;

    for (i = 0; i < c->ncrash; i++) {
        const struct tc_simrun_crash *s = &c->crash[i];

        for (k = 0; k < s->count; k++) {
            uint64_t at = s->at_ns;

            if (s->at_hi_ns > s->at_ns)
                at += tc_sim_rng_below(&r->fault_rng, s->at_hi_ns - s->at_ns + 1);
            rc = tc_sim_net_script_at(r->net, at, SR_SCRIPT_CRASH | (uint64_t)i << SR_SCRIPT_SHIFT);
            if (rc < 0)
                return rc;
        }
    }
    if (c->seeder_restart_ns) {
        r->nodes[0].restart_pending = 1;
        rc = tc_sim_net_crash(r->net, 0, c->seeder_restart_ns, c->seeder_down_ns);
        if (rc < 0)
            return rc;
    }
    if (c->partition_rack) {
        for (i = 1; i <= r->n; i++)
            if (r->rack_of[i] == c->partition_rack)
                r->scratch[n++] = i;
        rc = tc_sim_net_partition(r->net, r->scratch, n, c->partition_at_ns, c->partition_ns);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/** Build the network: hardware, pools, ops, start times, held chunks. */
static int sr_net(struct simrun *r, struct tc_err *err)
{
    const struct tc_simrun_cfg *c = &r->cfg;
    const struct tc_manifest *m = r->manifest;
    uint32_t total = r->n + 1 + (c->forge ? 1u : 0u), i, largest = 0, blocks;
    struct tc_sim_net_cfg nc;
    struct tc_sim_node_cfg hw;
    uint64_t qf;
    int rc;

    for (i = 0; i < m->chunk_count; i++)
        if (m->chunks[i].stored_len > largest)
            largest = m->chunks[i].stored_len;
    if (m->len > largest)
        largest = (uint32_t)m->len;
    blocks = (largest + r->block_len - 1) / r->block_len;
    r->train_max = blocks < SR_TRAIN_BLOCKS_MIN   ? SR_TRAIN_BLOCKS_MIN
                   : blocks > SR_TRAIN_BLOCKS_MAX ? SR_TRAIN_BLOCKS_MAX
                                                  : blocks;
    tc_sim_net_cfg_default(&nc, total, c->seed);
    nc.groups = 1;
    nc.mtu = c->mtu;
    /* deeper queues hold more packets and trains in flight */
    qf = c->queue_bytes > SR_QUEUE_REF_BYTES ? c->queue_bytes / SR_QUEUE_REF_BYTES : 1;
    if (qf > SR_QUEUE_POOL_FACTOR_MAX)
        qf = SR_QUEUE_POOL_FACTOR_MAX;
    /* Sized for the worst moments measured (the start of a 10 GiB session
     * at 1% loss, when every node asks for the manifest's repairs at once)
     * with room to spare; a pool that still runs out fails the run. */
    nc.events_max = (uint32_t)(262144 + 1024 * total * qf);
    nc.pkts_max = (uint32_t)(16384 + (c->per_packet ? 64u : 32u) * total * qf);
    nc.trains_max = (uint32_t)(4096 + 16 * total * qf);
    nc.train_blocks_max = r->train_max;
    nc.deliveries_max = 262144 + 256 * total;
    tc_sim_net_node_cfg_default(&hw);
    hw.up.rate_bps = c->link_bps;
    hw.up.latency_ns = c->latency_ns;
    if (c->queue_bytes)
        hw.up.queue_bytes = c->queue_bytes;
    hw.down = hw.up;
    hw.disk_rate_Bps = c->disk_Bps;
    hw.disk_queue_max = SR_DISK_RING;
    nc.node = hw;
    nc.on_script = sr_on_script;
    nc.script_ctx = r;
    rc = tc_sim_net_new(&nc, &r->net);
    if (rc < 0)
        return tc_err_set(err, rc, "simulated network of %u nodes: cannot allocate (%d)", total,
                          rc);
    r->sim = tc_sim_net_sim(r->net);
    /* seeder: shared loss on its uplink; agents: their own loss downstream */
    hw.up.rate_bps = c->link_bps;
    sr_loss(&hw.up.loss, c->shared_loss, c->burst);
    tc_sim_net_node_set(r->net, 0, &hw);
    memset(&hw.up.loss, 0, sizeof(hw.up.loss));
    sr_loss(&hw.down.loss, c->loss, c->burst);
    for (i = 1; i <= r->n; i++)
        tc_sim_net_node_set(r->net, i, &hw);
    rc = sr_faults(r, &hw, total, err);
    if (rc < 0)
        return rc;
    for (i = 0; i < total; i++) {
        struct sr_node *nd = &r->nodes[i];

        nd->run = r;
        nd->id = i;
        tc_sim_net_attach(r->net, i, &sr_node_ops, nd);
    }
    if (c->forge)
        r->forger = r->n + 1;
    tc_sim_rng_seed(&r->held_rng, c->seed, SR_STREAM_HELD);
    tc_sim_rng_seed(&r->forge_rng, c->seed, SR_STREAM_FORGE);
    for (i = 1; i <= r->n; i++) {
        struct sr_node *nd = &r->nodes[i];
        uint32_t k;

        nd->chunks = calloc(m->chunk_count, 1);
        if (!nd->chunks)
            return tc_err_set(err, -ENOMEM, "agent %u: out of memory", i);
        if (c->held_fraction > 0) {
            uint64_t thr = tc_sim_prob(c->held_fraction);

            nd->held = calloc((m->chunk_count + 7) / 8, 1);
            if (!nd->held)
                return tc_err_set(err, -ENOMEM, "agent %u: out of memory", i);
            for (k = 1; k < m->chunk_count; k++) {
                if (tc_sim_rng_chance(&r->held_rng, thr)) {
                    nd->held[k / 8] |= (uint8_t)(1u << (k % 8));
                    nd->chunks[k] = SR_CH_HELD;
                }
            }
        }
    }
    rc = sr_schedule_faults(r);
    if (rc < 0)
        return tc_err_set(err, rc, "scheduling the faults: %d", rc);
    rc = tc_sim_net_start(r->net, 0, 0);
    for (i = 1; rc == 0 && i <= r->n; i++)
        rc = tc_sim_net_start(r->net, i, i > r->n - c->late_nodes ? c->late_ns : 0);
    if (rc == 0 && r->forger)
        rc = tc_sim_net_start(r->net, r->forger, 0);
    if (rc < 0)
        return tc_err_set(err, rc, "starting the simulated nodes: %d", rc);
    return 0;
}

/** Add one agent's counters to the sums of the result. */
static void sr_stats_add(struct tc_agent_stats *sum, const struct tc_agent_stats *a)
{
    sum->rx_dgrams += a->rx_dgrams;
    sum->rx_bad += a->rx_bad;
    sum->rx_forged += a->rx_forged;
    sum->blocks_rx += a->blocks_rx;
    sum->blocks_dup += a->blocks_dup;
    sum->segs_bad += a->segs_bad;
    sum->objects_bad += a->objects_bad;
    sum->blocks_dropped += a->blocks_dropped;
    sum->slots_evicted += a->slots_evicted;
    sum->repair_reqs += a->repair_reqs;
    sum->repair_blocks_rx += a->repair_blocks_rx;
    sum->served_blocks += a->served_blocks;
    sum->served_bytes += a->served_bytes;
    sum->readbacks += a->readbacks;
    sum->reports_tx += a->reports_tx;
    sum->chunks_written += a->chunks_written;
    sum->chunks_done += a->chunks_done;
    sum->chunk_count += a->chunk_count;
    sum->done_ns += a->done_ns;
    sum->reparent_reqs += a->reparent_reqs;
    sum->rejoins += a->rejoins;
    sum->acks_tx += a->acks_tx;
    sum->stream_bytes += a->stream_bytes;
    sum->behind += a->behind;
}

/** Fill the result from the final state. */
static void sr_results(struct simrun *r)
{
    struct tc_simrun_result *res = r->res;
    struct tc_sim_counters sc = tc_sim_counters(r->sim);
    uint64_t *t = NULL;
    uint32_t i, k = 0;

    res->stored_bytes = r->manifest->stored_chunk_bytes;
    res->floor_ns = sr_floor(r);
    for (i = 1; i <= r->n; i++) {
        struct sr_node *nd = &r->nodes[i];

        if (!nd->agent)
            continue;
        if (nd->lat_n)
            res->chunk_lat_ns[i - 1] = nd->lat_sum_ns / nd->lat_n;
        res->segs_bad += tc_agent_stats(nd->agent)->segs_bad;
        res->repair_bytes += tc_agent_stats(nd->agent)->served_bytes;
        sr_stats_add(&res->agents, tc_agent_stats(nd->agent));
    }
    if (r->seeder) {
        struct tc_seeder_node_info info;

        for (i = 0; i < r->n; i++)
            if (tc_seeder_node(r->seeder, i, &info) == 0 && info.state != TC_SEEDER_NODE_FREE &&
                info.addr.addr >= 1 && info.addr.addr <= r->n)
                res->depth[info.addr.addr - 1] = info.depth;
        res->repair_bytes += tc_seeder_stats(r->seeder)->repair_bytes;
        res->reports_interval_max = tc_seeder_stats(r->seeder)->reports_interval_max;
        res->seeder = *tc_seeder_stats(r->seeder);
    }
    t = malloc(sizeof(*t) * (r->n ? r->n : 1));
    for (i = 0; t && i < r->n; i++)
        if (res->done_ns[i])
            t[k++] = res->done_ns[i];
    if (t && k) {
        qsort(t, k, sizeof(*t), sr_cmp_u64);
        res->first_done_ns = t[0];
        res->median_done_ns = t[k / 2];
        res->last_done_ns = t[k - 1];
    }
    free(t);
    for (i = 0; i < r->n; i++) {
        res->nodes_slow += res->slow[i] ? 1u : 0u;
        res->nodes_crashed += res->crashed[i] ? 1u : 0u;
        if (res->slow[i] || res->crashed[i])
            continue;
        res->nodes_healthy++;
        if (res->done_ns[i] > res->healthy_last_done_ns)
            res->healthy_last_done_ns = res->done_ns[i];
    }
    res->healthy_ratio =
        res->floor_ns ? (double)res->healthy_last_done_ns / (double)res->floor_ns : 0;
    res->ratio = res->floor_ns ? (double)res->last_done_ns / (double)res->floor_ns : 0;
    res->seeder_egress_bytes = tc_sim_net_seeder_egress_bytes(r->net);
    res->seeder_egress_ratio =
        res->stored_bytes ? (double)res->seeder_egress_bytes / (double)res->stored_bytes : 0;
    res->events = sc.dispatched;
    for (i = 0; i <= r->n; i++)
        res->timers_fired += tc_sim_net_node_stats(r->net, i)->timers_fired;
    res->trace_hash = tc_sim_trace_hash(r->sim);
    res->end_ns = tc_sim_now(r->sim);
}

/** Free everything the run holds (not the result). */
static void sr_free(struct simrun *r)
{
    uint32_t i;

    if (r->nodes) {
        for (i = 1; i <= r->n; i++) {
            tc_agent_free(r->nodes[i].agent);
            free(r->nodes[i].chunks);
            free(r->nodes[i].held);
        }
    }
    tc_seeder_free(r->seeder);
    tc_sim_net_free(r->net);
    free(r->nodes);
    free(r->scratch);
    free(r->parent_of);
    free(r->kids);
    free(r->rack_of);
    for (i = 0; i < SR_PERSIST_MAX; i++)
        free(r->persist_buf[i]);
    free(r->durable);
    tc_manifest_free(r->manifest);
    free(r->raw);
    free(r->stored);
    free(r->sigblock);
    free(r->man_hashes);
    free(r->chunk_hashes);
    free(r->chunk_hashes_off);
    free(r->first_mcast_ns);
    tc_trust_free(&r->trust);
}

/** Run a whole session (see the header). */
int tc_simrun(const struct tc_simrun_cfg *cfg, struct tc_simrun_result *res, struct tc_err *err)
{
    struct simrun *r = calloc(1, sizeof(*r));
    uint64_t limit;
    uint32_t i;
    int rc;

    memset(res, 0, sizeof(*res));
    if (!r)
        return tc_err_set(err, -ENOMEM, "simulation: out of memory");
    r->cfg = *cfg;
    r->res = res;
    tc_trust_init(&r->trust);
    rc = sr_check_cfg(&r->cfg, err);
    if (rc < 0)
        goto out;
    r->n = r->cfg.nodes;
    r->seg_size = r->cfg.seg_size;
    r->seeder_ops.send = sr_op_send;
    r->seeder_ops.send_blocks = r->cfg.per_packet ? NULL : sr_op_send_blocks;
    r->seeder_ops.chunk_bytes = sr_op_chunk_bytes;
    r->seeder_ops.random = sr_op_random;
    r->seeder_ops.log = sr_op_log;
    /* the session state is persisted only when it can matter: a seeder restart */
    r->seeder_ops.persist = r->cfg.seeder_restart_ns ? sr_op_persist : NULL;
    r->block_len = tc_proto_block_len(r->cfg.mtu, r->seg_size);
    res->nodes = r->n;
    res->done_order = calloc(r->n, sizeof(*res->done_order));
    res->done_ns = calloc(r->n, sizeof(*res->done_ns));
    res->depth = calloc(r->n, sizeof(*res->depth));
    res->chunk_lat_ns = calloc(r->n, sizeof(*res->chunk_lat_ns));
    res->slow = calloc(r->n, sizeof(*res->slow));
    res->crashed = calloc(r->n, sizeof(*res->crashed));
    r->nodes = calloc((size_t)r->n + 2, sizeof(*r->nodes));
    r->scratch = calloc((size_t)r->n + 1, sizeof(*r->scratch));
    r->parent_of = calloc((size_t)r->n + 1, sizeof(*r->parent_of));
    r->kids = calloc((size_t)r->n + 1, sizeof(*r->kids));
    if (!res->done_order || !res->done_ns || !res->depth || !res->chunk_lat_ns || !res->slow ||
        !res->crashed || !r->nodes || !r->scratch || !r->parent_of || !r->kids) {
        rc = tc_err_set(err, -ENOMEM, "simulation of %u agents: out of memory", r->n);
        goto out;
    }
    rc = r->cfg.real ? sr_image_real(r, err) : sr_image_dataless(r, err);
    if (rc < 0)
        goto out;
    r->first_mcast_ns = malloc(sizeof(*r->first_mcast_ns) * r->manifest->chunk_count);
    if (!r->first_mcast_ns) {
        rc = tc_err_set(err, -ENOMEM, "simulation: out of memory");
        goto out;
    }
    for (i = 0; i < r->manifest->chunk_count; i++)
        r->first_mcast_ns[i] = TC_SIM_NEVER;
    rc = sr_net(r, err);
    if (rc < 0)
        goto out;
    limit = r->cfg.time_limit_ns ? r->cfg.time_limit_ns : 50 * sr_floor(r) + 60 * TC_SIM_S;
    rc = tc_sim_run(r->sim, limit, sr_all_finished, r);
    sr_results(r);
    if (rc < 0 && res->failure[0] != '\0') {
        /* a core refused its configuration: -EINVAL for the caller's usage message */
        tc_err_set(err, rc, "%s", res->failure);
    } else if (rc < 0) {
        tc_err_set(err, rc, "simulation error %d at %.6f s: a simulator pool ran out", rc,
                   (double)tc_sim_now(r->sim) / 1e9);
        if (res->failure[0] == '\0')
            snprintf(res->failure, sizeof(res->failure), "simulator error %d", rc);
    } else if (r->finished < r->n) {
        rc = tc_err_set(err, -ETIMEDOUT, "%u of %u agents finished by the time limit %.3f s",
                        r->finished, r->n, (double)limit / 1e9);
    }
out:
    sr_free(r);
    free(r);
    return rc;
}

/** Free what a result owns. */
void tc_simrun_result_free(struct tc_simrun_result *res)
{
    free(res->done_order);
    free(res->done_ns);
    free(res->depth);
    free(res->chunk_lat_ns);
    free(res->slow);
    free(res->crashed);
    res->slow = NULL;
    res->crashed = NULL;
    res->done_order = NULL;
    res->done_ns = NULL;
    res->depth = NULL;
    res->chunk_lat_ns = NULL;
}
