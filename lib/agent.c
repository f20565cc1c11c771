// SPDX-License-Identifier: MIT
/*
 * The agent's protocol core (docs/protocol.md section 6.1, 6.3 to 6.6): JOIN
 * with jittered backoff, the manifest objects and the chunks received by
 * multicast, checked segment by segment against authenticated hash lists,
 * repaired from the tree parent (the seeder after repeated silence), a
 * bounded cache of chunk slots that also serves our own children, REPORTs,
 * FINISHING (chunk 0 last, between two syncs), DONE until DONE_ACK, LINGER
 * until RELEASE.
 *
 * Memory: the cache slots, the raw write buffers, the chunk-0 buffer and the
 * read-back buffers are allocated in tc_agent_new(). Two allocations happen
 * later, once per session and never per packet: the manifest objects when
 * the WELCOME gives their lengths (up to 80 MiB of manifest would be too
 * much to reserve up front), and the per-chunk state arrays once the
 * manifest is accepted. In dataless mode no byte buffer exists at all.
 */
#include "treecast/agent.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/crypto.h"
#include "treecast/stream.h"
#include "treecast/summary.h"
#include "treecast/wire.h"

/** JOIN nonces remembered: a WELCOME may answer any of the last ones sent. */
#define NONCES_KEPT 8u
/** Children's REPAIR_REQs waiting for a read-back of a chunk, requests. */
#define RB_QUEUE_MAX 16u
/** DATA datagrams encoded before one send call (real mode), datagrams. */
#define TX_BATCH_MAX 16u
/** Unanswered repair requests back off up to 2^this x repair_retry_ns. */
#define REPAIR_BACKOFF_SHIFT_MAX 3u
/** Longest log line built by the core, bytes. */
#define LOG_LINE_MAX 256u
/** Nanoseconds per millisecond. */
#define NS_PER_MS 1000000ull
/** Largest 16-bit counter on the wire. */
#define U16_MAX 0xffffu
/** Distinct objects whose ACK one call into the core can owe (a datagram
 * names one object; a batch one too): more are dropped, the next block
 * brings them, objects. */
#define ACK_DUE_MAX 4u
/** Slot index meaning "no slot" in the per-chunk slot table. */
#define SLOT_NONE 0xffffu

/** Cookie kinds (top byte of a cookie): what a disk completion answers. */
#define CK_WRITE (1ull << 56)
#define CK_SYNC (2ull << 56)
#define CK_READ (3ull << 56)
#define CK_WRITE0 (4ull << 56)
#define CK_KIND_MASK (0xffull << 56)

/** Per-chunk state after the manifest (chunk_st[]). */
enum chunk_state {
    CS_NEED = 0,    /**< needed, no slot holds it */
    CS_SLOT = 1,    /**< being received in a slot (or complete, waiting for a buffer) */
    CS_READY0 = 2,  /**< chunk 0 verified and kept in memory until FINISHING */
    CS_WRITING = 3, /**< write in flight */
    CS_DONE = 4,    /**< written */
    CS_HELD = 5,    /**< held on the target at start */
};

/** Per-chunk flags (chunk_fl[]): objects refetched from the parent only. */
#define CF_LIST_UNICAST 0x01u
#define CF_DATA_UNICAST 0x02u
/** The multicast moved past the chunk while we listened (so it will not come again soon). */
#define CF_PASSED 0x04u

/** Slot states. */
enum slot_state {
    SL_FREE = 0, /**< unused */
    SL_RECV = 1, /**< receiving (hash list and/or segments missing) */
    SL_FULL = 2, /**< every segment checked: waiting to be verified and written */
    SL_KEPT = 3, /**< verified (written or chunk 0): kept to serve children, evictable */
};

/** Finishing steps. */
enum fin_step {
    FIN_NONE = 0,   /**< not started */
    FIN_SYNC1 = 1,  /**< first sync in flight */
    FIN_WRITE0 = 2, /**< chunk 0 write in flight */
    FIN_SYNC2 = 3,  /**< second sync in flight */
};

/** Read-back states. */
enum rb_state {
    RB_IDLE = 0,    /**< nothing read back */
    RB_READING = 1, /**< read in flight for rb_chunk */
    RB_READY = 2,   /**< rb_chunk read back (rb_ok says if it can be served) */
};

/**
 * One object being received: its stored bytes cut into segments of the
 * session's seg_size, the segments held, and those held but not checked
 * yet (their hash list was incomplete when they arrived).
 */
struct rxobj {
    uint8_t object;      /**< enum tc_wire_obj */
    uint32_t len;        /**< bytes */
    uint32_t nsegs;      /**< segments */
    uint32_t nhave;      /**< segments held */
    uint32_t nunchecked; /**< held but not checked */
    uint32_t mc_hi;      /**< segments below the end of the highest multicast block */
    uint8_t *bytes;      /**< len bytes (NULL when dataless) */
    uint64_t *have;      /**< bit k: segment k held */
    uint64_t *unchecked; /**< bit k: held, not checked (NULL: whole-checked object) */
    struct rxobj *hl;    /**< the hash list checking our segments (NULL: whole-checked) */
    int ok;              /**< complete and verified */
    int unicast_only;    /**< a whole check failed: multicast blocks are ignored */
};

/** When to ask for what one repair unit (one or two objects) misses. */
struct unit {
    uint64_t key;       /**< position in the multicast order (see obj_key()) */
    uint64_t req_at;    /**< next REPAIR_REQ, or TC_PROTO_NEVER */
    uint32_t tries;     /**< requests without any unicast answer */
    uint64_t answer_ns; /**< last unicast block (an answer), 0 if none */
    uint64_t mcast_ns;  /**< last multicast block of the unit's objects, 0 if none */
    uint64_t open_ns;   /**< when the unit started (slot opened, WELCOME) */
    int passed;         /**< the multicast moved on (or went idle, or the objects are fetched
                             whole): ask for every missing segment, not only the gaps */
};

/** A chunk slot of the block cache. */
struct slot {
    uint8_t state;     /**< enum slot_state */
    uint32_t chunk;    /**< chunk index (not SL_FREE) */
    uint64_t used;     /**< use serial of the last block or verification (LRU) */
    struct rxobj list; /**< CHUNK_HASHES chunk */
    struct rxobj data; /**< CHUNK chunk */
    struct unit u;     /**< repair of both */
    int fetched;       /**< opened to fetch the whole chunk by repair (not by multicast) */
    int acked;         /**< streamed: an ACK told the parent what it holds (never evicted
                            incomplete: the parent would not send those bytes again) */
};

/** One raw buffer handed to the disk. */
struct wr {
    int busy;        /**< write in flight */
    uint32_t chunk;  /**< chunk written */
    uint64_t cookie; /**< its completion cookie */
    uint8_t *raw;    /**< chunk_size_max bytes (NULL when dataless) */
};

/** A stream to one child (tree-only, or a catching-up straggler). */
struct astream {
    struct tc_agent *a;      /**< back pointer for the ops */
    uint32_t node;           /**< child's node index, UINT32_MAX = unused */
    struct tc_proto_peer to; /**< its address */
    uint64_t token;          /**< its token */
    struct tc_stream_tx tx;  /**< the sender */
};

/** A child on our current CHILDREN list. */
struct child {
    struct tc_wire_child c;    /**< index, address, port, token */
    int have_report;           /**< rep holds its latest REPORT */
    struct tc_wire_report rep; /**< ... */
};

/** A child's REPAIR_REQ waiting for a read-back. */
struct rbreq {
    struct tc_proto_peer to;       /**< the child's address */
    uint64_t token;                /**< its token */
    struct tc_wire_repair_req req; /**< what it asked for */
};

struct tc_agent {
    struct tc_agent_cfg cfg;         /**< copy (pointers replaced by our copies) */
    const struct tc_agent_ops *ops;  /**< environment */
    void *ctx;                       /**< its context */
    const struct tc_chunk_ops *cops; /**< hashing and inflate */
    enum tc_agent_state state;       /**< where we are */
    struct tc_err err;               /**< why FAILED */
    struct tc_agent_stats st;        /**< counters */
    char image[TC_NAME_MAX + 1];     /**< wanted image */
    uint8_t *held;                   /**< our copy of cfg.held (cfg.held points to it) */
    /* join */
    struct tc_wire_msg join;      /**< the JOIN template (runs included) */
    uint64_t nonces[NONCES_KEPT]; /**< last nonces sent */
    uint32_t attempts;            /**< JOINs sent */
    uint64_t join_at;             /**< next JOIN */
    uint64_t backoff_ns;          /**< current retry delay */
    /* session (after WELCOME) */
    int welcomed;                /**< a WELCOME was accepted */
    uint64_t session_id;         /**< ... */
    uint32_t epoch;              /**< ... */
    uint64_t token;              /**< our token */
    struct tc_wire_welcome w;    /**< the WELCOME */
    uint32_t seg;                /**< seg_size */
    uint32_t block_len;          /**< full DATA block at the session MTU */
    struct tc_proto_peer group;  /**< multicast group */
    struct tc_proto_peer parent; /**< current parent (the seeder when parent_index is) */
    uint32_t parent_index;       /**< TC_WIRE_INDEX_SEEDER or a node index */
    int have_gen_parent;         /**< a REPARENT was accepted */
    uint32_t gen_parent;         /**< its generation */
    int have_gen_children;       /**< a CHILDREN was accepted */
    uint32_t gen_children;       /**< its generation */
    uint64_t hb_interval_ns;     /**< heartbeat period */
    uint64_t report_interval_ns; /**< report period */
    uint64_t hb_at;              /**< next HEARTBEAT */
    uint64_t report_at;          /**< next REPORT */
    uint32_t hb_seq;             /**< HEARTBEAT sequence */
    uint32_t report_seq;         /**< REPORT sequence */
    uint64_t echo_seeder_ns;     /**< time_ns of the seeder's last HEARTBEAT */
    uint64_t echo_parent_ns;     /**< time_ns of the parent's last HEARTBEAT */
    /* manifest objects */
    struct rxobj mobj[3];        /**< MANIFEST_HASHES, SIGBLOCK, MANIFEST */
    struct unit munit[3];        /**< their repair */
    const struct tc_manifest *m; /**< accepted manifest (shared) */
    /* chunks */
    uint8_t *chunk_st;      /**< enum chunk_state per chunk */
    uint8_t *chunk_fl;      /**< CF_* per chunk */
    uint16_t *slot_of;      /**< slot index per chunk or SLOT_NONE */
    uint32_t done_rest;     /**< chunks other than 0 written or held */
    uint32_t zero_next;     /**< next chunk to look at for a ZERO write */
    uint32_t fetch_next;    /**< whole-chunk fetch scan cursor */
    int mcast_seen;         /**< a multicast chunk block arrived (mcast_pos is valid) */
    uint32_t mcast_pos;     /**< chunk of the last multicast chunk block */
    uint32_t mcast_first;   /**< chunk of the first multicast chunk block (mcast_seen) */
    uint32_t passed_hi;     /**< no chunk at or above it is marked CF_PASSED */
    uint64_t idle_reset_ns; /**< last_mcast_ns + 1 of the idle period already rescanned */
    uint64_t mcast_key;     /**< key of the last multicast object */
    uint64_t last_mcast_ns; /**< last multicast block (or WELCOME) */
    int mcast_any;          /**< a multicast block arrived since the WELCOME */
    uint64_t now_ns;        /**< time of the latest call into the core */
    struct slot *slots;     /**< cfg.cache_slots */
    uint32_t nsegs_max;     /**< segments of the largest chunk at seg 512 */
    uint32_t list_segs_max; /**< segments of the largest hash list at seg 512 */
    uint64_t use_seq;       /**< slot use serials (the least recently used is evicted) */
    uint32_t nfull;         /**< slots in SL_FULL */
    struct wr *wrs;         /**< cfg.writes_max */
    uint64_t cookie_seq;    /**< cookie serials */
    uint8_t *chunk0;        /**< chunk 0's raw bytes until FINISHING */
    int fin;                /**< enum fin_step */
    uint64_t fin_cookie;    /**< cookie of the finishing step in flight */
    uint64_t done_at;       /**< next DONE */
    uint64_t linger_end;    /**< LINGER ends */
    /* children */
    struct child children[TC_WIRE_CHILDREN_MAX]; /**< current list */
    uint32_t nchildren;                          /**< entries */
    /* read-back */
    int rb;                         /**< enum rb_state */
    uint32_t rb_chunk;              /**< chunk read back */
    uint64_t rb_cookie;             /**< read in flight */
    int rb_ok;                      /**< READY: rb_stored / rb_list are the genuine bytes */
    uint8_t *rb_raw;                /**< raw bytes (chunk_size_max) */
    uint8_t *rb_enc;                /**< re-encoded stored bytes (chunk_size_max) */
    const uint8_t *rb_stored;       /**< rb_raw (RAW) or rb_enc (DEFLATE) */
    uint8_t *rb_list;               /**< hash list of the stored bytes */
    struct rbreq rbq[RB_QUEUE_MAX]; /**< waiting requests */
    uint32_t rbq_n;                 /**< entries */
    /* liveness, restarts */
    uint64_t last_seeder_ns; /**< last authenticated word from the seeder */
    uint64_t last_parent_ns; /**< last authenticated word from the parent */
    uint64_t reparent_at;    /**< next REPARENT_REQ while the parent is silent */
    uint64_t parent_ask_ns;  /**< first repair request to the parent since it last spoke */
    int rejoining;           /**< EPOCH seen: re-JOIN, keep everything else */
    uint32_t new_epoch;      /**< the EPOCH's epoch */
    uint32_t prev_epoch;     /**< the epoch before the last re-join (0: none) */
    uint64_t rejoin_at;      /**< when */
    uint8_t *held_now;       /**< bitmap of chunks done (re-JOIN summaries) */
    /* stragglers and streams */
    int tree_only;                 /**< WELCOME said tree-only */
    uint32_t nstreams;             /**< streams in use */
    int leaf;                      /**< REPARENT said LEAF: we are a catching-up straggler */
    int streamed;                  /**< our parent streams to us (tree-only or leaf) */
    uint64_t behind_at;            /**< next BEHIND request (0: none wanted) */
    uint32_t bad_samples;          /**< consecutive loss samples at or above the behind bucket */
    uint32_t ack_pos_hi;           /**< highest position announced in ACKs ahead */
    uint64_t ack_due[ACK_DUE_MAX]; /**< positions + 1 to ACK at the end of this call (0 = none) */
    struct astream *streams;       /**< TC_AGENT_STREAMS_MAX stream slots */
    /* multicast loss measurement */
    uint64_t lm_key;                                /**< object key of the last multicast block */
    uint32_t lm_end;                                /**< its end offset */
    uint64_t lm_expected;                           /**< blocks expected this interval */
    uint64_t lm_received;                           /**< blocks received this interval */
    uint32_t lm_samples[TC_AGENT_BASELINE_SAMPLES]; /**< recent loss samples, ppm */
    uint32_t lm_nsamples;                           /**< samples taken (ring position) */
    uint8_t loss_bucket; /**< our REPORT loss bucket (excess over the baseline) */
    int loss_valid;      /**< loss_bucket holds a sample */
    /* transmit */
    uint8_t *tx;     /**< TX_BATCH_MAX (1 when dataless) datagram buffers */
    uint32_t tx_max; /**< buffers */
    uint8_t *zeros;  /**< dataless: a zero payload to encode DATA from */
};

/* ---- small helpers --------------------------------------------------------- */

/** Bit k of a bitmap of 64-bit words. */
static int bm_get(const uint64_t *bm, uint32_t k)
{
    return (int)((bm[k / 64] >> (k % 64)) & 1u);
}

/** Set bit k. */
static void bm_set(uint64_t *bm, uint32_t k)
{
    bm[k / 64] |= 1ull << (k % 64);
}

/** Clear bit k. */
static void bm_clr(uint64_t *bm, uint32_t k)
{
    bm[k / 64] &= ~(1ull << (k % 64));
}

/** Words of a bitmap of n bits. */
static size_t bm_words(uint32_t n)
{
    return ((size_t)n + 63) / 64;
}

/** Same UDP endpoint. */
static int peer_eq(struct tc_proto_peer a, struct tc_proto_peer b)
{
    return a.addr == b.addr && a.port == b.port;
}

/** A log line through the hook (if any). */
static void alog(struct tc_agent *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void alog(struct tc_agent *a, int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;

    if (!a->ops->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    a->ops->log(a->ctx, level, line);
}

/**
 * fail - stop the agent: FAILED with err already filled (rc kept), logged.
 * Returns the rc so that callers can `return fail(a, rc)`.
 */
static int fail(struct tc_agent *a, int rc)
{
    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if (a->err.rc == 0)
        a->err.rc = rc;
    if (a->err.msg[0] == '\0')
        snprintf(a->err.msg, sizeof(a->err.msg), "agent failed (%d)", rc);
    a->state = TC_AGENT_FAILED;
    alog(a, TC_PROTO_LOG_ERR, "%s", a->err.msg);
    return a->err.rc;
}

/** 64 random bits. */
static uint64_t rnd(struct tc_agent *a)
{
    return a->ops->random(a->ctx);
}

/** A uniform draw in [0, n) (0 when n is 0). */
static uint64_t rnd_below(struct tc_agent *a, uint64_t n)
{
    return n ? rnd(a) % n : 0;
}

/** d scaled by a uniform factor in [0.5, 1.5). */
static uint64_t jitter(struct tc_agent *a, uint64_t d)
{
    return d / 2 + rnd_below(a, d);
}

/**
 * How long without multicast counts as idle. Before the first multicast
 * block the session may simply not have started (the seeder waits for
 * min_nodes): the agent then waits TC_AGENT_IDLE_START_FACTOR times longer
 * before it fetches anything by unicast (a node whose group join was lost
 * still gets going).
 */
static uint64_t idle_ns(const struct tc_agent *a)
{
    return a->mcast_any ? a->cfg.limits.idle_repair_ns
                        : a->cfg.limits.idle_repair_ns * TC_AGENT_IDLE_START_FACTOR;
}

/**
 * How long without multicast before whole chunks it has not passed are
 * fetched (and every slot may fetch): TC_AGENT_IDLE_FETCH_FACTOR idle
 * periods once the multicast was seen, else the start idle.
 */
static uint64_t fetch_idle_ns(const struct tc_agent *a)
{
    return a->mcast_any ? a->cfg.limits.idle_repair_ns * TC_AGENT_IDLE_FETCH_FACTOR : idle_ns(a);
}

/** Position of an object in the seeder's multicast order (section 6.2), the
 * same as a stream's sequence (tc_proto_pos_of()). */
static uint64_t obj_key(uint8_t object, uint32_t index)
{
    return tc_proto_pos_of(object, index);
}

/** Length of segment k of o. */
static uint32_t seg_len(const struct tc_agent *a, const struct rxobj *o, uint32_t k)
{
    uint64_t off = (uint64_t)k * a->seg;

    return o->len - off < a->seg ? (uint32_t)(o->len - off) : a->seg;
}

/** Send one encoded datagram in the first tx buffer. */
static void send1(struct tc_agent *a, struct tc_proto_peer to, const struct tc_wire_msg *msg)
{
    struct tc_proto_dgram d;
    int n;

    n = tc_wire_encode(msg, a->tx, TC_WIRE_DGRAM_MAX);
    if (n < 0) {
        alog(a, TC_PROTO_LOG_WARN, "%s not sent: encode failed (%d)",
             tc_wire_type_name(msg->hdr.type), n);
        return;
    }
    d.to = to;
    d.buf = a->tx;
    d.len = (size_t)n;
    a->ops->send(a->ctx, &d, 1);
}

/** A header of our session carrying token. */
static void hdr_init(struct tc_agent *a, struct tc_wire_msg *msg, uint8_t type, uint64_t token)
{
    memset(&msg->hdr, 0, sizeof(msg->hdr));
    msg->hdr.type = type;
    msg->hdr.session_id = a->session_id;
    msg->hdr.epoch = a->epoch;
    msg->hdr.token = token;
}

/* ---- objects ------------------------------------------------------------------ */

/** Reset o for an object of len bytes (bitmaps cleared over its segments). */
static void rxobj_reset(struct tc_agent *a, struct rxobj *o, uint32_t len)
{
    o->len = len;
    o->nsegs = tc_proto_nsegs(len, a->seg);
    o->nhave = 0;
    o->nunchecked = 0;
    o->mc_hi = 0;
    o->ok = 0;
    memset(o->have, 0, bm_words(o->nsegs) * sizeof(uint64_t));
    if (o->unchecked)
        memset(o->unchecked, 0, bm_words(o->nsegs) * sizeof(uint64_t));
}

/** Drop every segment of o (a whole-object check failed). */
static void rxobj_drop(struct tc_agent *a, struct rxobj *o)
{
    rxobj_reset(a, o, o->len);
}

/** Segments o misses. */
static uint32_t rxobj_missing(const struct rxobj *o)
{
    return o->nsegs - o->nhave;
}

/** Segment k of o matches its entry in the (complete, verified) hash list. */
static int seg_check(struct tc_agent *a, const struct rxobj *o, uint32_t k, const uint8_t *p)
{
    uint8_t h[TC_SHA256_LEN];

    if (a->cfg.dataless)
        return 1;
    a->cops->hash(p, seg_len(a, o, k), h);
    return memcmp(h, o->hl->bytes + (size_t)k * TC_WIRE_SEG_HASH_LEN, TC_WIRE_SEG_HASH_LEN) == 0;
}

/** The hash list of o just became valid: check the segments kept unchecked. */
static void check_unchecked(struct tc_agent *a, struct rxobj *o)
{
    uint32_t k;

    if (!o->unchecked || o->nunchecked == 0)
        return;
    for (k = 0; k < o->nsegs && o->nunchecked; k++) {
        if (!bm_get(o->unchecked, k))
            continue;
        bm_clr(o->unchecked, k);
        o->nunchecked--;
        if (!seg_check(a, o, k, o->bytes + (size_t)k * a->seg)) {
            bm_clr(o->have, k);
            o->nhave--;
            a->st.segs_bad++;
        }
    }
}

/**
 * Store a block's segments in o. Blocks must start on a segment and end on
 * one or at the object's end, inside the object (section 6.1). Returns the
 * segments newly held, or -1 for a misplaced block.
 */
static int rxobj_put(struct tc_agent *a, struct rxobj *o, uint32_t off, uint32_t len,
                     const uint8_t *p, int mcast)
{
    uint64_t end = (uint64_t)off + len;
    uint32_t k, k0, k1;
    int added = 0, held = 0;

    if (len == 0 || off % a->seg != 0 || end > o->len || (end % a->seg != 0 && end != o->len))
        return -1;
    k0 = off / a->seg;
    k1 = tc_proto_nsegs(end, a->seg);
    for (k = k0; k < k1; k++) {
        const uint8_t *sp = p ? p + (size_t)(k - k0) * a->seg : NULL;

        if (bm_get(o->have, k)) {
            held++;
            continue;
        }
        if (!a->cfg.dataless && !sp)
            return -1;
        if (o->hl && o->hl->ok && !seg_check(a, o, k, sp)) {
            a->st.segs_bad++;
            continue;
        }
        if (o->bytes)
            memcpy(o->bytes + (size_t)k * a->seg, sp, seg_len(a, o, k));
        bm_set(o->have, k);
        o->nhave++;
        if (o->hl && !o->hl->ok && !a->cfg.dataless) {
            bm_set(o->unchecked, k);
            o->nunchecked++;
        }
        added++;
    }
    if (held == (int)(k1 - k0))
        a->st.blocks_dup++;
    if (mcast && k1 > o->mc_hi)
        o->mc_hi = k1;
    return added;
}

/* ---- sending -------------------------------------------------------------------- */

/** Where repair requests of a unit go: the parent, or the seeder after silence. */
static struct tc_proto_peer repair_target(struct tc_agent *a, const struct unit *u)
{
    if (u->tries >= a->cfg.limits.repair_fallback_tries)
        return a->cfg.seeder;
    /* A quiet parent (asked, and not a word from it for TC_AGENT_QUIET_RETRIES
     * retry intervals: dead or swamped): the seeder, for every unit, until
     * the parent speaks again. A healthy parent answers within a round trip;
     * waiting for each unit's own tries would fill the cache with chunks
     * that cannot complete, and every chunk dropped then is fetched whole. */
    if (a->parent_ask_ns != 0 && a->parent_ask_ns >= a->last_parent_ns &&
        a->now_ns >= a->parent_ask_ns + TC_AGENT_QUIET_RETRIES * a->cfg.limits.repair_retry_ns)
        return a->cfg.seeder;
    return a->parent;
}

/**
 * REPAIR_REQs for the missing segment ranges of o (several if > 64 ranges):
 * every one when passed, else only the gaps below the highest multicast
 * block (the rest has not been sent yet: asking for it would make the
 * parent send it twice).
 */
static uint32_t request_missing(struct tc_agent *a, const struct rxobj *o, uint32_t index,
                                struct tc_proto_peer to, int passed)
{
    struct tc_wire_msg msg;
    struct tc_wire_repair_req *r = &msg.u.repair_req;
    uint32_t k = 0, sent = 0, lim = passed ? o->nsegs : o->mc_hi;

    if (o->len == 0 || o->nhave == o->nsegs)
        return 0;
    hdr_init(a, &msg, TC_WIRE_REPAIR_REQ, a->token);
    memset(r, 0, sizeof(*r));
    r->object = o->object;
    r->index = index;
    while (k < lim) {
        uint32_t k1;
        uint64_t end;

        if (bm_get(o->have, k)) {
            k++;
            continue;
        }
        k1 = k;
        while (k1 < lim && !bm_get(o->have, k1))
            k1++;
        end = (uint64_t)k1 * a->seg;
        if (end > o->len)
            end = o->len;
        r->ranges[r->nranges].offset = k * a->seg;
        r->ranges[r->nranges].len = (uint32_t)(end - (uint64_t)k * a->seg);
        r->nranges++;
        if (r->nranges == TC_WIRE_RANGES_MAX) {
            send1(a, to, &msg);
            sent++;
            r->nranges = 0;
        }
        k = k1;
    }
    if (r->nranges) {
        send1(a, to, &msg);
        sent++;
    }
    return sent;
}

/** Time to multicast `bytes` at the session rate (0 when no rate is known). */
static uint64_t send_time_ns(const struct tc_agent *a, uint64_t bytes)
{
    if (a->tree_only || a->w.rate_bps == 0)
        return 0;
    return bytes * 8u * 1000000000ull / a->w.rate_bps;
}

/** Ask for what the objects of a unit miss; schedule the retry. */
static void unit_request(struct tc_agent *a, struct unit *u, struct rxobj *o1, struct rxobj *o2,
                         uint32_t index, uint64_t now)
{
    struct tc_proto_peer to;
    uint64_t retry = a->cfg.limits.repair_retry_ns;
    uint64_t idle = a->cfg.limits.idle_repair_ns;
    uint64_t quiet = TC_AGENT_TAIL_QUIET_BURSTS * send_time_ns(a, a->cfg.limits.pace_burst_bytes);
    uint64_t unit_len = (o1 ? o1->len : 0) + (o2 ? o2->len : 0);
    uint64_t tail_at = u->mcast_ns + (quiet > idle ? quiet : idle);
    uint64_t tail_max = u->open_ns + TC_AGENT_TAIL_WAIT_RETRIES * retry + idle +
                        TC_AGENT_TAIL_WAIT_SENDS * send_time_ns(a, unit_len);

    /* streamed: the stream's sender retransmits what our ACKs show missing */
    if (a->streamed) {
        u->req_at = TC_PROTO_NEVER;
        return;
    }
    to = repair_target(a, u);
    /* the tail too once the object's multicast has been quiet (an idle
     * period, or TC_AGENT_TAIL_QUIET_BURSTS pacing buckets at the session
     * rate if longer), or at the latest TC_AGENT_TAIL_WAIT_RETRIES intervals
     * plus an idle period plus twice the object's sending time after the
     * unit started: forged blocks of the object must not keep it "still
     * being sent" for ever */
    int all = u->passed || !u->mcast_ns || now >= tail_at || now >= tail_max;

    if (tail_at > tail_max)
        tail_at = tail_max;
    uint32_t n = 0;

    if (o1)
        n += request_missing(a, o1, index, to, all);
    if (o2)
        n += request_missing(a, o2, index, to, all);
    if (n == 0) {
        int tail = (o1 && o1->nhave < o1->nsegs) || (o2 && o2->nhave < o2->nsegs);

        u->req_at = tail && !all ? tail_at : TC_PROTO_NEVER;
        return;
    }
    a->st.repair_reqs += n;
    u->tries++;
    if (peer_eq(to, a->parent) && (a->parent_ask_ns == 0 || a->parent_ask_ns < a->last_parent_ns))
        a->parent_ask_ns = now; /* the first request since the parent last spoke */
    alog(a, TC_PROTO_LOG_DEBUG, "repair: %u request(s) for chunk %u (try %u) to %s", n, index,
         u->tries,
         to.addr == a->cfg.seeder.addr && to.port == a->cfg.seeder.port ? "the seeder"
                                                                        : "the parent");
    /* unanswered: back off (x2 per try, at most 2^REPAIR_BACKOFF_SHIFT_MAX x): a
     * parent that is slow because it is swamped must not be asked for
     * everything again every interval */
    u->req_at = now + (a->cfg.limits.repair_retry_ns
                       << (u->tries - 1 < REPAIR_BACKOFF_SHIFT_MAX ? u->tries - 1
                                                                   : REPAIR_BACKOFF_SHIFT_MAX));
}

/** A block arrived for a unit still missing segments: (re)arm the quiet delay. */
static void unit_arm(struct tc_agent *a, struct unit *u, int missing, uint64_t now)
{
    if (!missing) {
        u->req_at = TC_PROTO_NEVER;
        return;
    }
    if (u->tries != 0)
        return; /* a retry is scheduled */
    /* while answers arrive, wait for them to stop for repair_retry_ns: asking
     * again sooner would duplicate the blocks still on their way */
    if (u->answer_ns)
        u->req_at = u->answer_ns + a->cfg.limits.repair_retry_ns;
    else
        u->req_at = now + a->cfg.limits.repair_delay_ns;
}

/** The wire state of a HEARTBEAT. */
static uint8_t wire_state(const struct tc_agent *a)
{
    switch (a->state) {
    case TC_AGENT_MANIFEST:
        return TC_WIRE_STATE_MANIFEST;
    case TC_AGENT_RECEIVING:
        return TC_WIRE_STATE_RECEIVING;
    case TC_AGENT_FINISHING:
        return TC_WIRE_STATE_FINISHING;
    case TC_AGENT_DONE:
        return TC_WIRE_STATE_DONE;
    case TC_AGENT_LINGER:
        return TC_WIRE_STATE_LINGER;
    default:
        return TC_WIRE_STATE_NONE;
    }
}

/** A HEARTBEAT to `to` with `token`, echoing echo_ns. */
static void send_heartbeat(struct tc_agent *a, struct tc_proto_peer to, uint64_t token,
                           uint8_t state, uint64_t echo_ns, uint64_t now)
{
    struct tc_wire_msg msg;

    hdr_init(a, &msg, TC_WIRE_HEARTBEAT, token);
    memset(&msg.u.heartbeat, 0, sizeof(msg.u.heartbeat));
    msg.u.heartbeat.seq = ++a->hb_seq;
    msg.u.heartbeat.state = state;
    msg.u.heartbeat.chunks_done = a->st.chunks_done;
    msg.u.heartbeat.time_ns = now;
    msg.u.heartbeat.echo_ns = echo_ns;
    send1(a, to, &msg);
}

/** HEARTBEATs to the seeder and (if another node) to the parent. */
static void heartbeats(struct tc_agent *a, uint64_t now)
{
    send_heartbeat(a, a->cfg.seeder, a->token, wire_state(a), a->echo_seeder_ns, now);
    if (!peer_eq(a->parent, a->cfg.seeder))
        send_heartbeat(a, a->parent, a->token, wire_state(a), a->echo_parent_ns, now);
    a->hb_at = now + a->hb_interval_ns;
}

/** DONE to the seeder. */
static void send_done(struct tc_agent *a, uint64_t now)
{
    struct tc_wire_msg msg;

    hdr_init(a, &msg, TC_WIRE_DONE, a->token);
    memset(&msg.u.done, 0, sizeof(msg.u.done));
    memcpy(msg.u.done.image_digest, a->m->image_digest, TC_SHA256_LEN);
    msg.u.done.chunk_count = a->m->chunk_count;
    send1(a, a->cfg.seeder, &msg);
    a->done_at = now + a->cfg.limits.done_retry_ns;
}

/** The JOIN (attempt, nonce) and the next retry. */
static void send_join(struct tc_agent *a, uint64_t now)
{
    uint64_t nonce;

    do {
        nonce = rnd(a);
    } while (nonce == 0);
    memmove(a->nonces + 1, a->nonces, sizeof(a->nonces) - sizeof(a->nonces[0]));
    a->nonces[0] = nonce;
    a->join.u.join.nonce = nonce;
    a->join.u.join.attempt = a->attempts++;
    send1(a, a->cfg.seeder, &a->join);
    a->join_at = now + jitter(a, a->backoff_ns);
    a->backoff_ns *= 2;
    if (a->backoff_ns > a->cfg.limits.join_backoff_max_ns)
        a->backoff_ns = a->cfg.limits.join_backoff_max_ns;
}

/* defined with the straggler and stream code below */
static void loss_count(struct tc_agent *a, uint64_t key, uint32_t off, uint32_t len);
static void loss_sample(struct tc_agent *a);
static void streams_wake(struct tc_agent *a, uint64_t now);

/* ---- reports -------------------------------------------------------------------- */

/** Report key (object, index) for sorting. */
static uint64_t rep_key(const struct tc_wire_report_entry *e)
{
    return ((uint64_t)e->object << 32) | e->index;
}

/** Insert an own entry into the sorted list (at most TC_WIRE_REPORT_ENTRIES_MAX kept). */
static void own_add(struct tc_wire_report_entry *own, uint32_t *n, uint8_t object, uint32_t index,
                    uint32_t missing)
{
    struct tc_wire_report_entry e;
    uint32_t i;

    if (missing == 0)
        return;
    memset(&e, 0, sizeof(e));
    e.object = object;
    e.index = index;
    e.max_missing = (uint16_t)(missing > U16_MAX ? U16_MAX : missing);
    e.hist[tc_wire_report_bucket(missing)] = 1;
    i = *n;
    if (i == TC_WIRE_REPORT_ENTRIES_MAX) {
        if (rep_key(&own[i - 1]) <= rep_key(&e))
            return;
        i--;
    } else {
        (*n)++;
    }
    while (i > 0 && rep_key(&own[i - 1]) > rep_key(&e)) {
        own[i] = own[i - 1];
        i--;
    }
    own[i] = e;
}

/** Own entries: objects with a repair under way, and passed chunks no slot holds. */
static uint32_t own_entries(struct tc_agent *a, struct tc_wire_report_entry *own)
{
    uint32_t n = 0, i, found = 0;

    for (i = 0; i < 3; i++)
        if (a->munit[i].tries > 0 && !a->mobj[i].ok)
            own_add(own, &n, a->mobj[i].object, 0, rxobj_missing(&a->mobj[i]));
    if (!a->m || !a->chunk_st)
        return n;
    for (i = 0; i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state != SL_RECV || s->u.tries == 0)
            continue;
        own_add(own, &n, TC_WIRE_OBJ_CHUNK_HASHES, s->chunk, rxobj_missing(&s->list));
        own_add(own, &n, TC_WIRE_OBJ_CHUNK, s->chunk, rxobj_missing(&s->data));
    }
    /* passed chunks below fetch_next are never CS_NEED (see fetch_missing()) */
    for (i = a->fetch_next; i < a->passed_hi; i++) {
        if (a->chunk_st[i] != CS_NEED || a->m->chunks[i].enc == TC_ENC_ZERO ||
            !(a->chunk_fl[i] & CF_PASSED))
            continue;
        own_add(own, &n, TC_WIRE_OBJ_CHUNK, i, tc_proto_nsegs(a->m->chunks[i].stored_len, a->seg));
        if (++found == TC_WIRE_REPORT_ENTRIES_MAX)
            break;
    }
    return n;
}

/** Saturating 16-bit sum. */
static uint16_t sat16(uint32_t a, uint32_t b)
{
    return (uint16_t)(a + b > U16_MAX ? U16_MAX : a + b);
}

/** One REPORT to the parent: own entries merged with the children's latest. */
static void send_report(struct tc_agent *a, uint64_t now)
{
    struct tc_wire_report_entry own[TC_WIRE_REPORT_ENTRIES_MAX];
    uint32_t pos[TC_WIRE_CHILDREN_MAX];
    uint32_t nown, pown = 0, i;
    struct tc_wire_msg msg;
    struct tc_wire_report *r = &msg.u.report;
    uint32_t nodes = 1, done;

    a->report_at = now + a->report_interval_ns;
    loss_sample(a);
    /* a streamed node is not on the multicast: its losses are the stream's */
    nown = a->streamed ? 0 : own_entries(a, own);
    hdr_init(a, &msg, TC_WIRE_REPORT, a->token);
    memset(r, 0, sizeof(*r));
    r->seq = ++a->report_seq;
    done = a->state >= TC_AGENT_DONE ? 1 : 0;
    if (!a->streamed)
        r->loss_hist[a->loss_valid ? a->loss_bucket : 0] = 1;
    if (a->m)
        r->backlog_max = (uint32_t)((uint64_t)a->nfull * a->m->chunk_size > UINT32_MAX
                                        ? UINT32_MAX
                                        : (uint64_t)a->nfull * a->m->chunk_size);
    for (i = 0; i < a->nchildren; i++) {
        const struct tc_wire_report *c = &a->children[i].rep;
        unsigned b;

        pos[i] = 0;
        if (!a->children[i].have_report)
            continue;
        nodes += c->subtree_nodes;
        done += c->subtree_done;
        if (c->backlog_max > r->backlog_max)
            r->backlog_max = c->backlog_max;
        for (b = 0; b < TC_WIRE_LOSS_HIST; b++)
            r->loss_hist[b] = sat16(r->loss_hist[b], c->loss_hist[b]);
    }
    r->subtree_nodes = (uint16_t)(nodes > U16_MAX ? U16_MAX : nodes);
    r->subtree_done = (uint16_t)(done > r->subtree_nodes ? r->subtree_nodes : done);
    /* k-way merge of sorted lists, lowest (object, index) first */
    while (r->nentries < TC_WIRE_REPORT_ENTRIES_MAX) {
        const struct tc_wire_report_entry *best = NULL;
        struct tc_wire_report_entry *out;
        uint64_t key;

        if (pown < nown)
            best = &own[pown];
        for (i = 0; i < a->nchildren; i++) {
            const struct tc_wire_report *c = &a->children[i].rep;

            if (a->children[i].have_report && pos[i] < c->nentries &&
                (!best || rep_key(&c->entries[pos[i]]) < rep_key(best)))
                best = &c->entries[pos[i]];
        }
        if (!best)
            break;
        key = rep_key(best);
        out = &r->entries[r->nentries++];
        memset(out, 0, sizeof(*out));
        out->object = best->object;
        out->index = best->index;
        if (pown < nown && rep_key(&own[pown]) == key)
            tc_wire_report_merge(out, &own[pown++]);
        for (i = 0; i < a->nchildren; i++) {
            const struct tc_wire_report *c = &a->children[i].rep;

            if (a->children[i].have_report && pos[i] < c->nentries &&
                rep_key(&c->entries[pos[i]]) == key)
                tc_wire_report_merge(out, &c->entries[pos[i]++]);
        }
    }
    send1(a, a->parent, &msg);
    a->st.reports_tx++;
}

/* ---- the disk -------------------------------------------------------------------- */

/** A new cookie of a kind. */
static uint64_t cookie_new(struct tc_agent *a, uint64_t kind)
{
    a->cookie_seq = (a->cookie_seq + 1) & ~CK_KIND_MASK;
    return kind | a->cookie_seq;
}

/** Hand a write to the environment (buf NULL: zeros). */
static int issue_write(struct tc_agent *a, struct wr *w, uint32_t chunk, const uint8_t *buf)
{
    int rc;

    w->busy = 1;
    w->chunk = chunk;
    w->cookie = cookie_new(a, CK_WRITE);
    a->chunk_st[chunk] = CS_WRITING;
    rc = a->ops->write(a->ctx, chunk, (uint64_t)chunk * a->m->chunk_size, buf,
                       tc_manifest_chunk_raw_len(a->m, chunk), w->cookie);
    if (rc < 0) {
        tc_err_set(&a->err, rc, "write of chunk %u (image %s) could not be submitted: %s", chunk,
                   a->image, strerror(-rc));
        return fail(a, rc);
    }
    return 0;
}

/** A free write buffer, or NULL. */
static struct wr *wr_free(struct tc_agent *a)
{
    uint32_t i;

    for (i = 0; i < a->cfg.writes_max; i++)
        if (!a->wrs[i].busy)
            return &a->wrs[i];
    return NULL;
}

/** A slot's chunk failed a whole check: drop its bytes, fetch it from the parent. */
static void slot_refetch(struct tc_agent *a, struct slot *s, uint64_t now)
{
    a->st.objects_bad++;
    a->chunk_fl[s->chunk] |= CF_DATA_UNICAST;
    s->data.unicast_only = 1;
    s->u.passed = 1;
    rxobj_drop(a, &s->data);
    s->state = SL_RECV;
    s->u.tries = 0;
    s->u.req_at = now;
}

/**
 * Verify a complete chunk into raw (a write buffer or the chunk-0 buffer):
 * decode, then the raw hash. 0, or -EILSEQ after the slot was reset.
 *
 * A slot is complete only when its hash list matched the manifest's
 * list_hash and every segment matched its entry in that list: the stored
 * bytes are then the packer's, and SHA-256 over them again (stored_hash)
 * would repeat that check at the cost of a third hash pass. What reaches
 * the disk is still checked in full against raw_hash.
 */
static int verify_chunk(struct tc_agent *a, struct slot *s, uint8_t *raw, uint64_t now)
{
    const struct tc_manifest_chunk *c;
    struct tc_err e;
    uint8_t h[TC_SHA256_LEN];
    uint32_t idx = s->chunk;
    int rc;

    if (a->cfg.dataless)
        return 0;
    tc_err_clear(&e);
    c = &a->m->chunks[idx];
    /* slot_open() sized the data from the manifest; SL_FULL means checked */
    assert(s->data.len == c->stored_len && s->list.ok && s->data.nhave == s->data.nsegs &&
           s->data.nunchecked == 0);
    rc = a->cops->decode((enum tc_enc)c->enc, s->data.bytes, s->data.len, raw,
                         tc_manifest_chunk_raw_len(a->m, idx), &e);
    if (rc < 0)
        tc_err_prefix(&e, rc, "chunk %u: ", idx);
    if (rc == 0) {
        a->cops->hash(raw, tc_manifest_chunk_raw_len(a->m, idx), h);
        if (memcmp(h, a->m->chunks[idx].raw_hash, TC_SHA256_LEN) != 0)
            rc = tc_err_set(&e, -EILSEQ, "chunk %u: raw SHA-256 differs from the manifest", idx);
    }
    if (rc < 0) {
        alog(a, TC_PROTO_LOG_WARN, "%s: refetching from the parent", e.msg);
        slot_refetch(a, s, now);
        return -EILSEQ;
    }
    return 0;
}

static void check_finishing(struct tc_agent *a);
static void fetch_missing(struct tc_agent *a, uint64_t now);
static void mark_passed(struct tc_agent *a, uint32_t from, uint32_t to);

/** Verify complete slots into free buffers, write them; then ZERO chunks. */
static void pump(struct tc_agent *a, uint64_t now)
{
    uint32_t i;
    struct wr *w;

    if (a->state != TC_AGENT_RECEIVING)
        return;
    for (i = 0; i < a->cfg.cache_slots && a->nfull; i++) {
        struct slot *s = &a->slots[i];

        if (s->state != SL_FULL)
            continue;
        if (s->chunk == 0) {
            a->nfull--;
            if (verify_chunk(a, s, a->chunk0, now) < 0)
                continue;
            s->state = SL_KEPT;
            s->used = ++a->use_seq;
            a->chunk_st[0] = CS_READY0;
            continue;
        }
        w = wr_free(a);
        if (!w)
            break;
        a->nfull--;
        if (verify_chunk(a, s, w->raw, now) < 0)
            continue;
        s->state = SL_KEPT;
        s->used = ++a->use_seq;
        if (issue_write(a, w, s->chunk, w->raw) < 0)
            return;
    }
    while (a->zero_next < a->m->chunk_count) {
        uint32_t j = a->zero_next;

        if (j == 0 || a->chunk_st[j] != CS_NEED || a->m->chunks[j].enc != TC_ENC_ZERO) {
            a->zero_next++;
            continue;
        }
        w = wr_free(a);
        if (!w)
            break;
        a->zero_next++;
        if (issue_write(a, w, j, NULL) < 0)
            return;
    }
    check_finishing(a);
    fetch_missing(a, now);
}

/** Every chunk but 0 written and chunk 0 ready: sync, then chunk 0 (section 6.3). */
static void check_finishing(struct tc_agent *a)
{
    uint8_t c0;
    int rc;

    if (a->state != TC_AGENT_RECEIVING || a->done_rest != a->m->chunk_count - 1)
        return;
    c0 = a->chunk_st[0];
    if (c0 != CS_READY0 && c0 != CS_HELD && !(c0 == CS_NEED && a->m->chunks[0].enc == TC_ENC_ZERO))
        return;
    a->state = TC_AGENT_FINISHING;
    a->fin = FIN_SYNC1;
    a->fin_cookie = cookie_new(a, CK_SYNC);
    rc = a->ops->sync(a->ctx, a->fin_cookie);
    if (rc < 0) {
        tc_err_set(&a->err, rc, "sync before chunk 0 (image %s) could not be submitted: %s",
                   a->image, strerror(-rc));
        fail(a, rc);
    }
}

/* ---- slots ------------------------------------------------------------------------ */

/**
 * A receiving slot that may be given to another chunk: opened by multicast
 * (not a fetch), not one segment of it checked, no unicast answer, and no
 * block for it for repair_retry_ns. A forger's block for a made-up chunk
 * opens such a slot; a genuine chunk being received checks its segments as
 * soon as its hash list is complete.
 */
static int slot_idle(const struct tc_agent *a, const struct slot *s)
{
    return s->state == SL_RECV && !s->fetched && s->u.answer_ns == 0 &&
           s->data.nhave == s->data.nunchecked && !s->list.ok &&
           a->now_ns >= s->u.mcast_ns + a->cfg.limits.repair_retry_ns;
}

/**
 * Chunk 0 is written last (FINISHING): until then its slot is its only copy
 * in stored form, which children (and streams) are served from.
 */
static int keep0(const struct tc_agent *a, const struct slot *s)
{
    return s->chunk == 0 && a->chunk_st[0] == CS_READY0;
}

/** A slot for a new chunk: a free one, else the least recently used kept one. */
static struct slot *slot_take(struct tc_agent *a)
{
    struct slot *best = NULL, *idle = NULL, *oldest = NULL;
    uint32_t i;

    for (i = 0; i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state == SL_FREE)
            return s;
        if (s->state == SL_KEPT && !keep0(a, s) && (!best || s->used < best->used))
            best = s;
        if (slot_idle(a, s) && (!idle || s->used < idle->used))
            idle = s;
        if (s->state == SL_RECV && !s->acked && (!oldest || s->used < oldest->used))
            oldest = s;
    }
    /* Streamed: the parent sends the chunks in order, so the least recently
     * used incomplete chunk that no ACK described yet (left over from the
     * multicast, say) is not the one arriving; give its slot to the stream,
     * which brings it later. */
    if (!best && !idle && a->streamed && oldest)
        idle = oldest;
    if (best) {
        a->slot_of[best->chunk] = SLOT_NONE;
        return best;
    }
    if (idle) {
        /* Nothing in it was ever checked and nothing came for a while:
         * most likely opened by a forged block. Give it back. */
        a->slot_of[idle->chunk] = SLOT_NONE;
        a->chunk_st[idle->chunk] = CS_NEED;
        if (idle->chunk < a->fetch_next)
            a->fetch_next = idle->chunk; /* fetch_missing() looks at it again */
        a->st.slots_evicted++;
        return idle;
    }
    return NULL;
}

/** Open slot s for chunk j (needed, not ZERO). */
static void slot_open(struct tc_agent *a, struct slot *s, uint32_t j)
{
    uint32_t stored = a->m->chunks[j].stored_len;

    s->state = SL_RECV;
    s->chunk = j;
    s->used = ++a->use_seq;
    rxobj_reset(a, &s->data, stored);
    rxobj_reset(a, &s->list, tc_proto_nsegs(stored, a->seg) * TC_WIRE_SEG_HASH_LEN);
    s->list.unicast_only = (a->chunk_fl[j] & CF_LIST_UNICAST) != 0;
    s->data.unicast_only = (a->chunk_fl[j] & CF_DATA_UNICAST) != 0;
    s->u.key = obj_key(TC_WIRE_OBJ_CHUNK, j);
    s->u.tries = 0;
    s->u.answer_ns = 0;
    s->u.mcast_ns = 0;
    s->u.open_ns = a->now_ns;
    s->u.req_at = TC_PROTO_NEVER;
    s->u.passed = s->list.unicast_only || s->data.unicast_only;
    s->fetched = 0;
    s->acked = 0;
    a->slot_of[j] = (uint16_t)(s - a->slots);
    a->chunk_st[j] = CS_SLOT;
}

/** Slot s may be complete: hash list verified and every segment checked. */
static void slot_progress(struct tc_agent *a, struct slot *s, uint64_t now)
{
    struct tc_err e;

    if (!s->list.ok && s->list.nhave == s->list.nsegs) {
        tc_err_clear(&e);
        if (a->cfg.dataless ||
            tc_manifest_check_list(a->m, s->chunk, s->list.bytes, s->list.len, &e) == 0) {
            s->list.ok = 1;
            check_unchecked(a, &s->data);
        } else {
            alog(a, TC_PROTO_LOG_WARN, "%s: refetching it from the parent", e.msg);
            a->st.objects_bad++;
            a->chunk_fl[s->chunk] |= CF_LIST_UNICAST;
            s->list.unicast_only = 1;
            s->u.passed = 1;
            rxobj_drop(a, &s->list);
            s->u.tries = 0;
            s->u.req_at = now;
        }
    }
    if (s->list.ok && s->data.nhave == s->data.nsegs && s->data.nunchecked == 0) {
        s->state = SL_FULL;
        s->u.req_at = TC_PROTO_NEVER;
        a->nfull++;
        return;
    }
    unit_arm(a, &s->u, 1, now);
}

/** Send what is due of one unit of a slot. */
static void slot_request(struct tc_agent *a, struct slot *s, uint64_t now)
{
    unit_request(a, &s->u, &s->list, &s->data, s->chunk, now);
}

/** Slots receiving a chunk fetched whole by repair. */
static uint32_t fetching(const struct tc_agent *a)
{
    uint32_t i, n = 0;

    for (i = 0; i < a->cfg.cache_slots; i++)
        n += a->slots[i].state == SL_RECV && a->slots[i].fetched;
    return n;
}

/**
 * Most whole-chunk fetches at once: half the slots (at least one), so that
 * the multicast always finds a slot for the chunk it is sending.
 */
static uint32_t fetch_max(const struct tc_agent *a)
{
    /* while the multicast runs, keep half the slots for it; once it is idle
     * (the round is over), every slot may catch up */
    if (a->now_ns >= a->last_mcast_ns + fetch_idle_ns(a))
        return a->cfg.cache_slots;
    return a->cfg.cache_slots / 2 ? a->cfg.cache_slots / 2 : 1;
}

/**
 * Whole chunks no slot holds: once the multicast passed them while we
 * listened, or any when it has been idle for fetch_idle_ns(); as many as
 * slots allow, lowest first. fetch_next only moves back when chunks are
 * newly marked passed or an idle period starts, so each chunk is looked at
 * a bounded number of times per round.
 */
static void fetch_missing(struct tc_agent *a, uint64_t now)
{
    uint32_t limit = a->passed_hi;
    int idle = now >= a->last_mcast_ns + fetch_idle_ns(a);
    struct slot *s;

    if (a->state != TC_AGENT_RECEIVING || a->streamed)
        return;
    if (idle) {
        if (a->idle_reset_ns != a->last_mcast_ns + 1) {
            a->idle_reset_ns = a->last_mcast_ns + 1;
            a->fetch_next = 0;
        }
        limit = a->m->chunk_count;
    }
    while (a->fetch_next < limit) {
        uint32_t j = a->fetch_next;

        if (a->chunk_st[j] != CS_NEED || a->m->chunks[j].enc == TC_ENC_ZERO ||
            (!idle && !(a->chunk_fl[j] & CF_PASSED))) {
            a->fetch_next++;
            continue;
        }
        if (fetching(a) >= fetch_max(a))
            return;
        s = slot_take(a);
        if (!s)
            return;
        slot_open(a, s, j);
        s->fetched = 1;
        s->u.passed = 1;
        a->fetch_next++;
        slot_request(a, s, now);
    }
}

/* ---- the manifest ----------------------------------------------------------------- */

/** Index in mobj[] of a manifest-level object. */
static int mobj_index(uint8_t object)
{
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        return 0;
    case TC_WIRE_OBJ_SIGBLOCK:
        return 1;
    case TC_WIRE_OBJ_MANIFEST:
        return 2;
    default:
        return -1;
    }
}

/** Set up the per-chunk state once the manifest is accepted; RECEIVING. */
static int manifest_ready(struct tc_agent *a, const struct tc_manifest *m, uint64_t now)
{
    uint32_t i, n;

    if (m->seg_size != a->seg)
        return tc_err_set(&a->err, -EPROTO,
                          "image %s: the manifest's segment size is %u, the WELCOME said %u",
                          m->name, m->seg_size, a->seg);
    if (strcmp(m->name, a->image) != 0)
        return tc_err_set(&a->err, -EPROTO, "asked for image %s, the seeder sent %s", a->image,
                          m->name);
    if (a->join.hdr.flags & TC_WIRE_JOIN_F_PIN &&
        memcmp(m->image_digest, a->join.u.join.pin, TC_SHA256_LEN) != 0)
        return tc_err_set(&a->err, -EPROTO, "image %s: digest differs from the pinned one",
                          m->name);
    if (m->raw_size > a->cfg.disk_size)
        return tc_err_set(
            &a->err, -ENOSPC, "image %s needs %llu bytes, the disk has %llu: use a larger disk",
            m->name, (unsigned long long)m->raw_size, (unsigned long long)a->cfg.disk_size);
    if (m->chunk_count == 0 || m->chunk_size > a->cfg.chunk_size_max)
        return tc_err_set(&a->err, -E2BIG,
                          "image %s: chunk size %u is larger than this agent's buffers (%u)",
                          m->name, m->chunk_size, a->cfg.chunk_size_max);
    for (i = 0; i < m->chunk_count; i++) {
        const struct tc_manifest_chunk *c = &m->chunks[i];

        if ((c->enc == TC_ENC_ZERO) != (c->stored_len == 0) ||
            c->stored_len > tc_manifest_chunk_raw_len(m, i))
            return tc_err_set(&a->err, -EBADMSG,
                              "image %s: chunk %u stores %u bytes as %s: not a valid chunk",
                              m->name, i, c->stored_len, tc_enc_name((enum tc_enc)c->enc));
    }
    n = m->chunk_count;
    a->chunk_st = calloc(n, 1);
    a->chunk_fl = calloc(n, 1);
    a->slot_of = malloc((size_t)n * sizeof(*a->slot_of));
    a->held_now = calloc(tc_summary_bitmap_len(n), 1);
    if (!a->chunk_st || !a->chunk_fl || !a->slot_of || !a->held_now)
        return tc_err_set(&a->err, -ENOMEM, "image %s: out of memory for %u chunks", m->name, n);
    a->m = m;
    a->st.chunk_count = n;
    for (i = 0; i < n; i++) {
        a->slot_of[i] = SLOT_NONE;
        if (a->cfg.held && i < a->cfg.held_chunks && (a->cfg.held[i / 8] >> (i % 8)) & 1u) {
            a->chunk_st[i] = CS_HELD;
            a->st.chunks_done++;
            if (i != 0)
                a->done_rest++;
        }
    }
    a->state = TC_AGENT_RECEIVING;
    alog(a, TC_PROTO_LOG_INFO, "manifest of %s %s accepted: %u chunks, %u held", m->name,
         m->version, n, a->st.chunks_done);
    /* Chunks the multicast moved past while we listened but had no manifest
     * yet: the seeder counts us covered for them, so no later round brings
     * them; fetch them now rather than at idle. */
    if (a->mcast_seen && a->mcast_pos > a->mcast_first)
        mark_passed(a, a->mcast_first, a->mcast_pos);
    pump(a, now);
    streams_wake(a, now);
    return 0;
}

/** All three manifest objects verified: accept the manifest. */
static int manifest_accept(struct tc_agent *a, uint64_t now)
{
    const struct tc_manifest *m = NULL;
    struct tc_err e;
    int rc;

    tc_err_clear(&e);
    rc = a->ops->manifest_accept(a->ctx, a->mobj[2].bytes, a->mobj[2].len, a->mobj[1].bytes,
                                 a->mobj[1].len, &m, &e);
    if (rc < 0 || !m) {
        a->err = e;
        if (a->err.msg[0] == '\0')
            tc_err_set(&a->err, rc < 0 ? rc : -EINVAL, "image %s: manifest refused", a->image);
        return fail(a, rc < 0 ? rc : -EINVAL);
    }
    rc = manifest_ready(a, m, now);
    if (rc < 0)
        return fail(a, rc);
    return 0;
}

/** A manifest-level object may have completed: whole checks, then acceptance. */
static int mobj_progress(struct tc_agent *a, int i, uint64_t now)
{
    static const char *const names[3] = {"manifest hash list", "signature block", "manifest"};
    const uint8_t *want[3] = {a->w.manifest_hashes_digest, a->w.sigblock_digest,
                              a->w.manifest_digest};
    struct rxobj *o = &a->mobj[i];
    uint8_t h[TC_SHA256_LEN];

    if (!o->ok && o->nhave == o->nsegs && o->nunchecked == 0) {
        int good = 1;

        if (!a->cfg.dataless) {
            tc_sha256(o->bytes, o->len, h);
            good = memcmp(h, want[i], TC_SHA256_LEN) == 0;
        }
        if (good) {
            o->ok = 1;
            a->munit[i].req_at = TC_PROTO_NEVER;
            if (i == 0)
                check_unchecked(a, &a->mobj[2]);
        } else {
            alog(a, TC_PROTO_LOG_WARN,
                 "%s of image %s: SHA-256 differs from the WELCOME: refetching it from the parent",
                 names[i], a->image);
            a->st.objects_bad++;
            o->unicast_only = 1;
            rxobj_drop(a, o);
            a->munit[i].tries = 0;
            a->munit[i].passed = 1;
            a->munit[i].req_at = now;
        }
    }
    if (i == 0 && a->mobj[0].ok)
        return mobj_progress(a, 2, now); /* the manifest's unchecked segments may complete it */
    if (!o->ok)
        unit_arm(a, &a->munit[i], 1, now);
    if (a->state == TC_AGENT_MANIFEST && a->mobj[0].ok && a->mobj[1].ok && a->mobj[2].ok)
        return manifest_accept(a, now);
    return 0;
}

/* ---- receiving DATA ------------------------------------------------------------------ */

/** A multicast block of a later object: ask at once for what earlier ones miss. */
static void mcast_moved(struct tc_agent *a, uint64_t key, uint64_t now)
{
    uint32_t i;

    for (i = 0; i < 3; i++) {
        struct unit *u = &a->munit[i];

        if (a->state != TC_AGENT_MANIFEST || a->mobj[i].ok || u->key >= key)
            continue;
        u->passed = 1;
        if (u->tries == 0)
            unit_request(a, u, &a->mobj[i], NULL, 0, now);
    }
    if (!a->m)
        return;
    for (i = 0; i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state != SL_RECV || s->u.key >= key)
            continue;
        s->u.passed = 1;
        if (s->u.tries == 0)
            slot_request(a, s, now);
    }
}

/**
 * No multicast for idle_repair_ns: every object being received asks for
 * all it misses (section 6.3), not only the gaps.
 */
static void went_idle(struct tc_agent *a, uint64_t now)
{
    uint32_t i;

    for (i = 0; i < 3 && a->state == TC_AGENT_MANIFEST; i++) {
        if (!a->mobj[i].ok && !a->munit[i].passed) {
            a->munit[i].passed = 1;
            a->munit[i].req_at = now;
        }
    }
    for (i = 0; a->m && i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state == SL_RECV && !s->u.passed) {
            s->u.passed = 1;
            s->u.req_at = now;
        }
    }
}

/** Mark chunks [from, to) passed by the multicast. */
static void mark_passed(struct tc_agent *a, uint32_t from, uint32_t to)
{
    uint32_t j;

    if (to > a->m->chunk_count)
        to = a->m->chunk_count;
    for (j = from; j < to; j++)
        a->chunk_fl[j] |= CF_PASSED;
    if (to > a->passed_hi)
        a->passed_hi = to;
    if (from < a->fetch_next)
        a->fetch_next = from;
}

/**
 * A multicast block of chunk k (or its hash list): the chunks the multicast
 * moved forward past since the previous one are passed. Chunks sent before
 * we listened are not: the next round brings them (section 6.2). A step
 * back (a re-multicast of an earlier chunk, or a new round) marks nothing:
 * taking it for the end of a round would fetch by repair the chunks the
 * multicast is about to send.
 */
static void mcast_chunk(struct tc_agent *a, uint32_t k, uint64_t now)
{
    int forward = a->mcast_seen && k > a->mcast_pos;
    uint32_t from = a->mcast_pos;

    if (!a->mcast_seen)
        a->mcast_first = k;
    a->mcast_seen = 1;
    a->mcast_pos = k;
    if (!forward || !a->m || !a->chunk_fl)
        return;
    mark_passed(a, from, k);
    fetch_missing(a, now);
}

/**
 * One DATA block (from a datagram or a batch): the one path both entry
 * points share. Header, token and source were checked by the caller.
 */
static int rx_block(struct tc_agent *a, uint64_t now, int unicast, uint8_t object, uint32_t index,
                    uint32_t off, uint32_t len, const uint8_t *p)
{
    int mi = mobj_index(object);
    struct slot *s;
    int added;

    a->st.blocks_rx++;
    if (unicast)
        a->st.repair_blocks_rx++;
    if (!unicast) {
        uint64_t key = obj_key(object, index);

        a->last_mcast_ns = now;
        a->mcast_any = 1;
        loss_count(a, key, off, len);
        if (key != a->mcast_key) {
            a->mcast_key = key;
            mcast_moved(a, key, now);
        }
        if ((object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES) &&
            (!a->m || index < a->m->chunk_count))
            mcast_chunk(a, index, now);
    }
    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if (mi >= 0) {
        struct rxobj *o = &a->mobj[mi];

        if (o->ok) {
            a->st.blocks_dup++;
            return 0;
        }
        if (!unicast && o->unicast_only) {
            a->st.blocks_dropped++;
            return 0;
        }
        if (unicast) {
            a->munit[mi].tries = 0;
            a->munit[mi].answer_ns = now;
        } else {
            a->munit[mi].mcast_ns = now;
        }
        added = rxobj_put(a, o, off, len, p, !unicast);
        if (added < 0) {
            a->st.rx_bad++;
            return 0;
        }
        added = mobj_progress(a, mi, now);
        if (a->nstreams)
            streams_wake(a, now);
        return added;
    }
    /* chunk objects need the manifest */
    if (!a->m || index >= a->m->chunk_count) {
        a->st.blocks_dropped++;
        return 0;
    }
    if (a->chunk_st[index] != CS_NEED && a->chunk_st[index] != CS_SLOT) {
        a->st.blocks_dup++;
        return 0;
    }
    if (a->m->chunks[index].enc == TC_ENC_ZERO) {
        a->st.rx_bad++; /* ZERO chunks are never sent */
        return 0;
    }
    if (a->chunk_st[index] == CS_NEED) {
        s = slot_take(a);
        if (!s) {
            a->st.blocks_dropped++;
            return 0;
        }
        slot_open(a, s, index);
    }
    s = &a->slots[a->slot_of[index]];
    if (s->state != SL_RECV) {
        a->st.blocks_dup++;
        return 0;
    }
    if (object == TC_WIRE_OBJ_CHUNK_HASHES) {
        if (s->list.ok) {
            a->st.blocks_dup++;
            return 0;
        }
        if (!unicast && s->list.unicast_only) {
            a->st.blocks_dropped++;
            return 0;
        }
        added = rxobj_put(a, &s->list, off, len, p, !unicast);
    } else {
        if (!unicast && s->data.unicast_only) {
            a->st.blocks_dropped++;
            return 0;
        }
        added = rxobj_put(a, &s->data, off, len, p, !unicast);
    }
    if (added < 0) {
        a->st.rx_bad++;
        return 0;
    }
    if (unicast) {
        s->u.tries = 0;
        s->u.answer_ns = now;
    } else {
        s->u.mcast_ns = now;
    }
    s->used = ++a->use_seq;
    slot_progress(a, s, now);
    if (s->state == SL_FULL)
        pump(a, now);
    if (a->nstreams)
        streams_wake(a, now);
    return a->state == TC_AGENT_FAILED ? a->err.rc : 0;
}

/**
 * The epochs we take: ours; while re-joining after an EPOCH, the new one
 * (multicast, the new tree's messages); after re-joining, the one before
 * (parents and children that have not re-joined yet). Tokens survive a
 * seeder restart, so they still authenticate; every segment is checked
 * against the manifest anyway.
 */
static int epoch_ok(const struct tc_agent *a, uint32_t epoch)
{
    return epoch == a->epoch || (a->rejoining && epoch == a->new_epoch) ||
           (a->prev_epoch != 0 && epoch == a->prev_epoch);
}

/**
 * Header checks of a DATA block: our session, and for unicast our token
 * from our parent or the seeder. 0 if acceptable (counted otherwise).
 */
static int data_ok(struct tc_agent *a, struct tc_proto_peer from, uint64_t session, uint32_t epoch,
                   uint64_t token, int unicast, uint32_t nblocks)
{
    /* While re-joining after an EPOCH, the new epoch's multicast is taken
     * too: every segment is checked against the manifest anyway, and a node
     * that dropped it until its WELCOME would fall far behind. */
    if (!a->welcomed || a->state > TC_AGENT_LINGER || session != a->session_id ||
        !epoch_ok(a, epoch)) {
        a->st.rx_forged += nblocks;
        return -1;
    }
    if (unicast &&
        (token != a->token || (!peer_eq(from, a->parent) && !peer_eq(from, a->cfg.seeder)))) {
        a->st.rx_forged += nblocks;
        return -1;
    }
    /* Only the seeder multicasts. A source address can be forged on a LAN,
     * so this is no defence by itself (every segment is still checked), but
     * it keeps a careless injector's blocks out of the cache slots. */
    if (!unicast && !peer_eq(from, a->cfg.seeder)) {
        a->st.rx_forged += nblocks;
        return -1;
    }
    /* A streamed node (a catching-up leaf, every node of a tree-only
     * session) takes DATA from its parent only. It left the group, but a
     * forger's blocks still reach its port with the seeder's address: kept
     * unchecked (or in a hash list checked only whole), such a segment was
     * described as held by our ACKs, so the parent never sent the genuine
     * one again, and once the check dropped it the chunk could never
     * complete (a streamed node asks for no repairs). */
    if (!unicast && a->streamed) {
        a->st.blocks_dropped += nblocks;
        return -1;
    }
    return 0;
}

/* ---- serving children --------------------------------------------------------------- */

/** Where the bytes of an object we serve are. */
struct src {
    const uint8_t *bytes;      /**< stored bytes (NULL when dataless) */
    uint32_t len;              /**< object length */
    const uint64_t *have;      /**< held segments (NULL: all) */
    const uint64_t *unchecked; /**< not yet checked (NULL: none) */
};

/** Flush the tx batch of encoded DATA datagrams. */
static void tx_flush(struct tc_agent *a, struct tc_proto_dgram *d, uint32_t *n)
{
    if (*n)
        a->ops->send(a->ctx, d, *n);
    *n = 0;
}

/** Send blocks covering segments [k0, k1) of src to a child. */
static void serve_run(struct tc_agent *a, const struct src *sr, uint8_t object, uint32_t index,
                      struct tc_proto_peer to, uint64_t token, uint32_t k0, uint32_t k1,
                      struct tc_proto_dgram *d, uint32_t *nd)
{
    uint64_t start = (uint64_t)k0 * a->seg, end = (uint64_t)k1 * a->seg;

    if (end > sr->len)
        end = sr->len;
    if (a->ops->send_blocks) {
        while (start < end) {
            struct tc_proto_blocks b;
            uint64_t n = (end - start + a->block_len - 1) / a->block_len;
            uint64_t total;

            if (n > TC_PROTO_TRAIN_BLOCKS_MAX)
                n = TC_PROTO_TRAIN_BLOCKS_MAX;
            total = n * a->block_len;
            if (total > end - start)
                total = end - start;
            memset(&b, 0, sizeof(b));
            b.peer = to;
            b.session_id = a->session_id;
            b.epoch = a->epoch;
            b.token = token;
            b.unicast = 1;
            b.object = object;
            b.index = index;
            b.offset = (uint32_t)start;
            b.block_len = a->block_len;
            b.nblocks = (uint32_t)n;
            b.total_len = (uint32_t)total;
            b.payload = sr->bytes ? sr->bytes + start : NULL;
            a->ops->send_blocks(a->ctx, &b);
            a->st.served_blocks += n;
            a->st.served_bytes += total;
            start += total;
        }
        return;
    }
    while (start < end) {
        struct tc_wire_msg msg;
        uint32_t len = end - start < a->block_len ? (uint32_t)(end - start) : a->block_len;
        uint8_t *buf = a->tx + (size_t)*nd * TC_WIRE_DGRAM_MAX;
        int n;

        hdr_init(a, &msg, TC_WIRE_DATA, token);
        msg.hdr.flags = TC_WIRE_DATA_F_UNICAST;
        msg.u.data.object = object;
        msg.u.data.index = index;
        msg.u.data.offset = (uint32_t)start;
        msg.u.data.len = (uint16_t)len;
        msg.u.data.payload = sr->bytes ? sr->bytes + start : a->zeros;
        n = tc_wire_encode(&msg, buf, TC_WIRE_DGRAM_MAX);
        if (n > 0) {
            d[*nd].to = to;
            d[*nd].buf = buf;
            d[*nd].len = (size_t)n;
            (*nd)++;
            a->st.served_blocks++;
            a->st.served_bytes += len;
            if (*nd == a->tx_max)
                tx_flush(a, d, nd);
        }
        start += len;
    }
}

/** Serve the ranges of req from src: whole segments, only those held and checked. */
static void serve(struct tc_agent *a, const struct src *sr, const struct tc_wire_repair_req *req,
                  struct tc_proto_peer to, uint64_t token)
{
    struct tc_proto_dgram d[TX_BATCH_MAX];
    uint32_t nd = 0, r, nsegs = tc_proto_nsegs(sr->len, a->seg);

    for (r = 0; r < req->nranges; r++) {
        uint64_t end = (uint64_t)req->ranges[r].offset + req->ranges[r].len;
        uint32_t k = req->ranges[r].offset / a->seg;
        uint32_t k1 = tc_proto_nsegs(end, a->seg);

        if (k1 > nsegs)
            k1 = nsegs;
        while (k < k1) {
            uint32_t k0;

            if ((sr->have && !bm_get(sr->have, k)) || (sr->unchecked && bm_get(sr->unchecked, k))) {
                k++;
                continue;
            }
            k0 = k;
            while (k < k1 && !(sr->have && !bm_get(sr->have, k)) &&
                   !(sr->unchecked && bm_get(sr->unchecked, k)))
                k++;
            serve_run(a, sr, req->object, req->index, to, token, k0, k, d, &nd);
        }
    }
    tx_flush(a, d, &nd);
}

/** Serve the queued requests of the chunk read back; start the next read. */
static void rb_next(struct tc_agent *a);

/** Serve a request from the read-back chunk (which must be READY and rb_chunk). */
static void serve_rb(struct tc_agent *a, const struct rbreq *q)
{
    struct src sr;

    if (!a->rb_ok)
        return;
    memset(&sr, 0, sizeof(sr));
    if (q->req.object == TC_WIRE_OBJ_CHUNK) {
        sr.bytes = a->rb_stored;
        sr.len = a->m->chunks[a->rb_chunk].stored_len;
    } else {
        sr.bytes = a->cfg.dataless ? NULL : a->rb_list;
        sr.len =
            tc_proto_nsegs(a->m->chunks[a->rb_chunk].stored_len, a->seg) * TC_WIRE_SEG_HASH_LEN;
    }
    serve(a, &sr, &q->req, q->to, q->token);
}

/** Start reading back the chunk of the oldest queued request. */
static void rb_next(struct tc_agent *a)
{
    uint32_t j;
    int rc;

    if (a->rb == RB_READING || a->rbq_n == 0 || !a->ops->read)
        return;
    j = a->rbq[0].req.index;
    a->rb = RB_READING;
    a->rb_chunk = j;
    a->rb_ok = 0;
    a->rb_cookie = cookie_new(a, CK_READ);
    rc = a->ops->read(a->ctx, (uint64_t)j * a->m->chunk_size, a->rb_raw,
                      tc_manifest_chunk_raw_len(a->m, j), a->rb_cookie);
    if (rc == 0)
        a->st.readbacks++;
    if (rc < 0) {
        /* Not fatal: our own image is not at stake. The queued requests
         * are dropped; the children ask again and then go to the seeder. */
        alog(a, TC_PROTO_LOG_WARN,
             "read-back of chunk %u (image %s) could not be submitted: %s; %u child "
             "request(s) dropped",
             j, a->image, strerror(-rc), a->rbq_n);
        a->rb = RB_IDLE;
        a->rbq_n = 0;
    }
}

/** A child's request for a chunk object no slot holds: read it back from the target. */
static void serve_readback(struct tc_agent *a, const struct tc_wire_repair_req *req,
                           struct tc_proto_peer to, uint64_t token)
{
    struct rbreq q;

    q.to = to;
    q.token = token;
    q.req = *req;
    if (a->rb == RB_READY && a->rb_chunk == req->index) {
        serve_rb(a, &q);
        return;
    }
    if (!a->ops->read || a->rbq_n == RB_QUEUE_MAX)
        return;
    a->rbq[a->rbq_n++] = q;
    rb_next(a);
}

static int src_cached(const struct tc_agent *a, uint8_t object, uint32_t index, struct src *sr);

/** A child's REPAIR_REQ: serve what we hold and have checked (a chunk no
 * longer cached is read back first). */
static void on_repair_req(struct tc_agent *a, const struct tc_wire_repair_req *req,
                          struct tc_proto_peer to, uint64_t token)
{
    struct src sr;

    if (src_cached(a, req->object, req->index, &sr) == 0)
        serve(a, &sr, req, to, token);
    else if (mobj_index(req->object) < 0 && a->m && req->index < a->m->chunk_count &&
             (a->chunk_st[req->index] == CS_DONE || a->chunk_st[req->index] == CS_HELD))
        serve_readback(a, req, to, token);
}

/** The child on our list with this address and token, or NULL. */
static struct child *child_find(struct tc_agent *a, struct tc_proto_peer from, uint64_t token)
{
    uint32_t i;

    for (i = 0; i < a->nchildren; i++) {
        struct child *c = &a->children[i];

        if (c->c.addr == from.addr && c->c.port == from.port && c->c.token == token)
            return c;
    }
    return NULL;
}

/**
 * Count a message of our session from a peer that is not one of our
 * children with that token: forged when a child of ours has that address
 * (its token is wrong), else unknown (a node the seeder just placed under
 * us, before our CHILDREN list names it).
 */
static void count_not_child(struct tc_agent *a, struct tc_proto_peer from)
{
    uint32_t i;

    for (i = 0; i < a->nchildren; i++) {
        if (a->children[i].c.addr == from.addr && a->children[i].c.port == from.port) {
            a->st.rx_forged++;
            return;
        }
    }
    a->st.rx_unknown++;
}

/* ---- control messages ------------------------------------------------------------------ */

static void streams_sync(struct tc_agent *a, uint64_t now);

/** A nonce we sent recently. */
static int nonce_ours(const struct tc_agent *a, uint64_t nonce)
{
    uint32_t i;

    for (i = 0; i < NONCES_KEPT; i++)
        if (nonce != 0 && a->nonces[i] == nonce)
            return 1;
    return 0;
}

/** Allocate one manifest-level object of len bytes (at WELCOME). */
static int mobj_alloc(struct tc_agent *a, struct rxobj *o, uint8_t object, uint32_t len,
                      int per_seg)
{
    uint32_t nsegs = tc_proto_nsegs(len, a->seg);

    o->object = object;
    o->have = calloc(bm_words(nsegs) ? bm_words(nsegs) : 1, sizeof(uint64_t));
    if (per_seg)
        o->unchecked = calloc(bm_words(nsegs) ? bm_words(nsegs) : 1, sizeof(uint64_t));
    if (!a->cfg.dataless)
        o->bytes = malloc(len ? len : 1);
    if (!o->have || (per_seg && !o->unchecked) || (!a->cfg.dataless && !o->bytes))
        return -ENOMEM;
    rxobj_reset(a, o, len);
    return 0;
}

/** WELCOME: keep the session, join the group, prove our address. */
static int on_welcome(struct tc_agent *a, const struct tc_wire_msg *msg, uint64_t now)
{
    const struct tc_wire_welcome *w = &msg->u.welcome;
    uint32_t i;
    int rc;

    a->welcomed = 1;
    a->session_id = msg->hdr.session_id;
    a->epoch = msg->hdr.epoch;
    a->token = msg->hdr.token;
    a->w = *w;
    a->seg = w->seg_size;
    a->block_len = tc_proto_block_len(w->mtu, w->seg_size);
    a->group.addr = w->group_addr;
    a->group.port = w->group_port;
    a->parent_index = w->parent_index;
    if (w->parent_index == TC_WIRE_INDEX_SEEDER) {
        a->parent = a->cfg.seeder;
    } else {
        a->parent.addr = w->parent_addr;
        a->parent.port = w->parent_port;
    }
    a->hb_interval_ns = (uint64_t)w->heartbeat_ms * NS_PER_MS;
    a->report_interval_ns = (uint64_t)w->report_ms * NS_PER_MS;
    a->tree_only = (msg->hdr.flags & TC_WIRE_WELCOME_F_TREE_ONLY) != 0;
    a->streamed = a->tree_only;
    a->last_seeder_ns = now;
    a->last_parent_ns = now;
    a->state = TC_AGENT_MANIFEST;
    rc = mobj_alloc(a, &a->mobj[0], TC_WIRE_OBJ_MANIFEST_HASHES,
                    tc_proto_nsegs(w->manifest_len, a->seg) * TC_WIRE_SEG_HASH_LEN, 0);
    if (rc == 0)
        rc = mobj_alloc(a, &a->mobj[1], TC_WIRE_OBJ_SIGBLOCK, w->sigblock_len, 0);
    if (rc == 0)
        rc = mobj_alloc(a, &a->mobj[2], TC_WIRE_OBJ_MANIFEST, w->manifest_len, 1);
    if (rc < 0) {
        tc_err_set(&a->err, rc, "image %s: out of memory for a %u-byte manifest", a->image,
                   w->manifest_len);
        return fail(a, rc);
    }
    a->mobj[2].hl = &a->mobj[0];
    for (i = 0; i < 3; i++) {
        a->munit[i].key = obj_key(a->mobj[i].object, 0);
        a->munit[i].tries = 0;
        a->munit[i].passed = 0;
        a->munit[i].answer_ns = 0;
        a->munit[i].mcast_ns = 0;
        a->munit[i].open_ns = now;
        a->munit[i].req_at = TC_PROTO_NEVER; /* went_idle() or the first block arms it */
    }
    a->last_mcast_ns = now;
    a->mcast_key = UINT64_MAX;
    alog(a, TC_PROTO_LOG_INFO, "welcomed to session %016llx as node %u (parent %d, depth %u)",
         (unsigned long long)a->session_id, w->node_index,
         w->parent_index == TC_WIRE_INDEX_SEEDER ? -1 : (int)w->parent_index, w->depth);
    if (!(msg->hdr.flags & TC_WIRE_WELCOME_F_TREE_ONLY) && a->ops->group) {
        rc = a->ops->group(a->ctx, 1, a->group);
        if (rc < 0) {
            tc_err_set(&a->err, rc, "could not join multicast group %u.%u.%u.%u:%u: %s",
                       a->group.addr >> 24, (a->group.addr >> 16) & 0xff,
                       (a->group.addr >> 8) & 0xff, a->group.addr & 0xff, a->group.port,
                       strerror(-rc));
            return fail(a, rc);
        }
    }
    heartbeats(a, now);
    a->report_at = now + rnd_below(a, a->report_interval_ns);
    return 0;
}

/** REJECT: BUSY retries later; anything else stops the agent. */
static int on_reject(struct tc_agent *a, const struct tc_wire_reject_msg *r, uint64_t now)
{
    static const char *const why[] = {"?",
                                      "busy",
                                      "no such image (name, minimum version or pin)",
                                      "disk too small",
                                      "session full",
                                      "session ended"};
    const char *reason = r->reason <= TC_WIRE_REJECT_MAX ? why[r->reason] : "?";

    if (r->reason == TC_WIRE_REJECT_BUSY) {
        /* An answer: the path works, so a lost reply later starts the
         * backoff from the bottom again instead of where BUSYs pushed it. */
        a->backoff_ns = a->cfg.limits.join_backoff_min_ns;
        a->join_at = now + jitter(a, (uint64_t)r->retry_after_ms * NS_PER_MS);
        alog(a, TC_PROTO_LOG_INFO, "seeder busy: JOIN again in %u ms", r->retry_after_ms);
        return 0;
    }
    tc_err_set(&a->err, r->reason == TC_WIRE_REJECT_DISK_SMALL ? -ENOSPC : -ENOENT,
               "the seeder refused image %s: %s (REJECT reason %u)", a->image, reason, r->reason);
    return fail(a, a->err.rc);
}

/** CHILDREN (newer generation): our new child list. */
static void on_children(struct tc_agent *a, const struct tc_wire_children *c, uint64_t now)
{
    uint32_t i;

    if (a->have_gen_children && c->generation <= a->gen_children)
        return;
    a->have_gen_children = 1;
    a->gen_children = c->generation;
    a->nchildren = c->count;
    for (i = 0; i < c->count; i++) {
        memset(&a->children[i], 0, sizeof(a->children[i]));
        a->children[i].c = c->children[i];
    }
    alog(a, TC_PROTO_LOG_DEBUG, "tree: %u children (generation %u)", c->count, c->generation);
    streams_sync(a, now);
}

/**
 * Drop what o holds unless it is verified: checked whole, or no segment held
 * unchecked. While o's hash list is not valid every segment it holds is
 * unchecked (rxobj_put()), so then all of it goes.
 */
static void rxobj_drop_unverified(struct tc_agent *a, struct rxobj *o)
{
    if (o->ok || o->len == 0 || (o->hl && o->nunchecked == 0))
        return;
    rxobj_drop(a, o);
}

/**
 * We are streamed from now on: forget the bytes the multicast brought that
 * are not verified yet. A forger's segments may be among them, and our
 * ACKs would describe them as held: the parent never sends a segment
 * again once it is acknowledged, so one dropped later by its check would
 * be missing for good. The stream brings them again.
 */
static void drop_unverified(struct tc_agent *a)
{
    uint32_t i;

    for (i = 0; i < 3; i++)
        rxobj_drop_unverified(a, &a->mobj[i]);
    for (i = 0; a->m && i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state != SL_RECV)
            continue;
        rxobj_drop_unverified(a, &s->list);
        rxobj_drop_unverified(a, &s->data);
    }
}

/** REPARENT (newer generation): our new parent. */
static void on_reparent(struct tc_agent *a, const struct tc_wire_reparent *r, uint16_t flags,
                        uint64_t now)
{
    if ((flags & TC_WIRE_REPARENT_F_LEAF) && !a->leaf && !a->tree_only) {
        /* a straggler now: off the multicast, our parent streams to us */
        a->leaf = 1;
        a->streamed = 1;
        a->st.behind = 1;
        drop_unverified(a);
        if (a->ops->group && a->group.addr)
            a->ops->group(a->ctx, 0, a->group);
        alog(a, TC_PROTO_LOG_NOTICE, "a catching-up leaf now: left the multicast group");
    }
    if (a->have_gen_parent && r->generation <= a->gen_parent)
        return;
    a->last_parent_ns = now;
    a->reparent_at = 0;
    a->ack_pos_hi = 0;
    a->have_gen_parent = 1;
    a->gen_parent = r->generation;
    a->parent_index = r->parent_index;
    if (r->parent_index == TC_WIRE_INDEX_SEEDER) {
        a->parent = a->cfg.seeder;
    } else {
        a->parent.addr = r->parent_addr;
        a->parent.port = r->parent_port;
    }
    a->echo_parent_ns = 0;
    alog(a, TC_PROTO_LOG_DEBUG, "tree: parent %d at depth %u (generation %u)",
         r->parent_index == TC_WIRE_INDEX_SEEDER ? -1 : (int)r->parent_index, r->depth,
         r->generation);
}

/** A message from the seeder (our session, our token, its address). */
static int on_seeder_msg(struct tc_agent *a, const struct tc_wire_msg *msg, uint64_t now)
{
    a->last_seeder_ns = now;
    if (a->parent_index == TC_WIRE_INDEX_SEEDER)
        a->last_parent_ns = now;
    switch (msg->hdr.type) {
    case TC_WIRE_DONE_ACK:
        if (a->state == TC_AGENT_DONE &&
            memcmp(msg->u.done_ack.image_digest, a->m->image_digest, TC_SHA256_LEN) == 0) {
            a->state = TC_AGENT_LINGER;
            a->st.done_ns = now;
            a->linger_end = now + a->cfg.limits.linger_max_ns;
            alog(a, TC_PROTO_LOG_INFO, "DONE acknowledged: lingering for our children");
        }
        return 0;
    case TC_WIRE_RELEASE:
        if (a->state == TC_AGENT_LINGER) {
            a->state = TC_AGENT_RELEASED;
            if (a->ops->group && a->group.addr)
                a->ops->group(a->ctx, 0, a->group);
            alog(a, TC_PROTO_LOG_INFO, "released (reason %u)", msg->u.release.reason);
        }
        return 0;
    case TC_WIRE_REPARENT:
        on_reparent(a, &msg->u.reparent, msg->hdr.flags, now);
        return 0;
    case TC_WIRE_CHILDREN:
        on_children(a, &msg->u.children, now);
        return 0;
    case TC_WIRE_HEARTBEAT:
        a->echo_seeder_ns = msg->u.heartbeat.time_ns;
        if (peer_eq(a->parent, a->cfg.seeder))
            a->echo_parent_ns = msg->u.heartbeat.time_ns;
        return 0;
    default:
        return 0;
    }
}

/* ---- multicast loss, stragglers ------------------------------------------------------ */

/** Blocks of the object at position key, 0 if its length is not known yet. */
static uint64_t key_blocks(const struct tc_agent *a, uint64_t key)
{
    uint8_t object;
    uint32_t index, len;

    if (key < TC_PROTO_POS_CHUNKS) {
        len = a->mobj[key].len;
    } else {
        tc_proto_obj_at((uint32_t)key, &object, &index);
        if (!a->m || index >= a->m->chunk_count)
            return 0;
        len = a->m->chunks[index].stored_len;
        if (object == TC_WIRE_OBJ_CHUNK_HASHES)
            len = tc_proto_nsegs(len, a->seg) * TC_WIRE_SEG_HASH_LEN;
    }
    return (len + a->block_len - 1) / a->block_len;
}

/**
 * Count a multicast block of position key at [off, off + len) for the loss
 * measurement: the blocks the seeder must have sent since the previous one
 * are expected (this object's earlier blocks; when the multicast moved to
 * the next chunk object, the rest of the previous one too), this one is
 * received. Objects further on may have been skipped (nobody needed them),
 * so a jump counts only this object's head; a step back (a new round, a
 * re-multicast) expects just this block.
 */
static void loss_count(struct tc_agent *a, uint64_t key, uint32_t off, uint32_t len)
{
    uint64_t exp = 1, b;

    if (a->lm_key != UINT64_MAX && key == a->lm_key && off >= a->lm_end) {
        exp += (off - a->lm_end) / a->block_len;
    } else if (a->lm_key != UINT64_MAX && key > a->lm_key) {
        /* CHUNK_HASHES i follows CHUNK i - 1 and precedes CHUNK i: the
         * objects next in line are sent unless the chunk is skipped whole */
        if (key - a->lm_key <= 2) {
            b = key_blocks(a, a->lm_key);
            if (b * a->block_len > a->lm_end)
                exp += (b * a->block_len - a->lm_end) / a->block_len;
        }
        exp += off / a->block_len;
    }
    a->lm_key = key;
    a->lm_end = off + len;
    a->lm_expected += exp;
    a->lm_received++;
}

/** REPORT loss bucket of an excess loss in ppm (docs/protocol.md section 3.8). */
static uint8_t loss_bucket_of(uint32_t ppm)
{
    static const uint32_t upper[TC_WIRE_LOSS_HIST - 1] = {0,     1000,   3000,  10000,
                                                          30000, 100000, 300000};
    uint8_t b;

    for (b = 0; b < TC_WIRE_LOSS_HIST - 1; b++)
        if (b == 0 ? ppm == 0 : ppm < upper[b])
            return b;
    return TC_WIRE_LOSS_HIST - 1;
}

/** Close a loss interval: a sample, the baseline (least recent sample), the bucket. */
static void loss_sample(struct tc_agent *a)
{
    uint32_t ppm, base = UINT32_MAX, i, n;

    if (a->lm_expected < TC_AGENT_LOSS_MIN_BLOCKS) {
        if (a->lm_expected == 0)
            a->bad_samples = 0; /* no multicast: nothing to judge */
        return;
    }
    if (a->lm_received > a->lm_expected)
        a->lm_received = a->lm_expected;
    ppm = (uint32_t)((a->lm_expected - a->lm_received) * 1000000 / a->lm_expected);
    a->lm_expected = 0;
    a->lm_received = 0;
    a->st.loss_ppm = ppm;
    a->lm_samples[a->lm_nsamples++ % TC_AGENT_BASELINE_SAMPLES] = ppm;
    n = a->lm_nsamples < TC_AGENT_BASELINE_SAMPLES ? a->lm_nsamples : TC_AGENT_BASELINE_SAMPLES;
    for (i = 0; i < n; i++)
        if (a->lm_samples[i] < base)
            base = a->lm_samples[i];
    a->loss_bucket = loss_bucket_of(ppm - base);
    a->loss_valid = 1;
    /* Against the absolute loss: a node that loses this much of the
     * multicast cannot keep up, whatever its baseline says. */
    if (loss_bucket_of(ppm) >= TC_AGENT_BEHIND_LOSS_BUCKET)
        a->bad_samples++;
    else
        a->bad_samples = 0;
}

/** A REPARENT_REQ to the seeder. */
static void send_reparent_req(struct tc_agent *a, uint16_t reason, uint64_t now)
{
    struct tc_wire_msg msg;
    uint64_t silence = (now - a->last_parent_ns) / NS_PER_MS;

    hdr_init(a, &msg, TC_WIRE_REPARENT_REQ, a->token);
    memset(&msg.u.reparent_req, 0, sizeof(msg.u.reparent_req));
    msg.u.reparent_req.parent_index = a->parent_index;
    msg.u.reparent_req.reason = reason;
    msg.u.reparent_req.silence_ms =
        (uint32_t)(silence > TC_WIRE_DELAY_MS_MAX ? TC_WIRE_DELAY_MS_MAX : silence);
    msg.u.reparent_req.chunks_done = a->st.chunks_done;
    send1(a, a->cfg.seeder, &msg);
    a->st.reparent_reqs++;
}

/**
 * Are we a straggler? Sustained heavy multicast loss (we cannot absorb the
 * rate): ask to become a leaf that catches up from its parent (repeated
 * each heartbeat until the LEAF REPARENT comes). A node left behind by an
 * outage is found by the seeder, which knows what it was sent (section 6.9).
 */
static void behind_check(struct tc_agent *a, uint64_t now)
{
    if (a->leaf || a->tree_only || a->state != TC_AGENT_RECEIVING)
        return;
    if (a->bad_samples < TC_AGENT_BEHIND_SAMPLES)
        return;
    if (now < a->behind_at)
        return;
    if (a->behind_at == 0)
        alog(a, TC_PROTO_LOG_NOTICE,
             "cannot keep up with the multicast (loss %u ppm): asking to catch up from our parent",
             a->st.loss_ppm);
    a->behind_at = now + a->hb_interval_ns;
    send_reparent_req(a, TC_WIRE_REPARENT_BEHIND, now);
}

/* ---- streams: the child side ---------------------------------------------------------- */

/** Bytes we can still take beyond what we acknowledged: free and evictable slots. */
static uint64_t stream_window(const struct tc_agent *a)
{
    uint64_t per = a->m ? a->m->chunk_size : a->block_len * 64ull;
    uint32_t i, n = 0;

    if (!a->m)
        return TC_STREAM_CWND_MAX_BYTES;
    uint64_t holes = 0;

    for (i = 0; i < a->cfg.cache_slots; i++) {
        const struct slot *s = &a->slots[i];

        n += s->state == SL_FREE || s->state == SL_KEPT || (s->state == SL_RECV && !s->acked);
        /* room for what the described ones still miss (retransmissions) */
        if (s->state == SL_RECV && s->acked)
            holes +=
                (uint64_t)(s->data.nsegs - s->data.nhave + s->list.nsegs - s->list.nhave) * a->seg;
    }
    return (uint64_t)n * per + holes;
}

/** Build the ACK of position pos; 0, or -ENOENT if we cannot describe it. */
static int ack_of(struct tc_agent *a, uint32_t pos, struct tc_wire_ack *ack)
{
    const struct rxobj *o = NULL;
    uint8_t object;
    uint32_t index, len;
    int full = 0;

    memset(ack, 0, sizeof(*ack));
    tc_proto_obj_at(pos, &object, &index);
    ack->object = object;
    ack->index = index;
    if (pos < TC_PROTO_POS_CHUNKS) {
        o = &a->mobj[pos];
        len = o->len;
        full = o->ok;
    } else {
        if (!a->m || index >= a->m->chunk_count)
            return -ENOENT;
        len = a->m->chunks[index].stored_len;
        if (object == TC_WIRE_OBJ_CHUNK_HASHES)
            len = tc_proto_nsegs(len, a->seg) * TC_WIRE_SEG_HASH_LEN;
        switch (a->chunk_st[index]) {
        case CS_SLOT: {
            struct slot *s = &a->slots[a->slot_of[index]];

            o = object == TC_WIRE_OBJ_CHUNK ? &s->data : &s->list;
            full = s->state != SL_RECV || o->ok;
            s->acked = 1;
            break;
        }
        case CS_NEED:
            break;
        default:
            full = 1;
            break;
        }
    }
    if (len == 0)
        return -ENOENT;
    tc_stream_ack_build(ack, o && !full ? o->have : NULL, full, len, a->seg, stream_window(a));
    return 0;
}

/** True if we hold position pos whole. */
static int pos_whole(const struct tc_agent *a, uint32_t pos)
{
    uint8_t object;
    uint32_t index;

    if (pos < TC_PROTO_POS_CHUNKS)
        return a->mobj[pos].ok;
    tc_proto_obj_at(pos, &object, &index);
    if (!a->m || index >= a->m->chunk_count)
        return 0;
    return a->chunk_st[index] >= CS_READY0 ||
           (a->chunk_st[index] == CS_SLOT && a->slots[a->slot_of[index]].state != SL_RECV);
}

/** A streamed block of (object, index) arrived: its ACK is due at the end of this call. */
static void ack_note(struct tc_agent *a, uint8_t object, uint32_t index)
{
    uint32_t pos = tc_proto_pos_of(object, index), i;

    if (pos == UINT32_MAX)
        return;
    for (i = 0; i < ACK_DUE_MAX; i++) {
        if (a->ack_due[i] == pos + 1ull)
            return;
        if (a->ack_due[i] == 0) {
            a->ack_due[i] = pos + 1ull;
            return;
        }
    }
}

/** Send the due ACKs to our parent, and the whole objects just ahead of them. */
static void ack_flush(struct tc_agent *a)
{
    struct tc_wire_msg msg;
    uint32_t i, p, hi;

    for (i = 0; i < ACK_DUE_MAX && a->ack_due[i]; i++) {
        uint32_t pos = (uint32_t)(a->ack_due[i] - 1);

        a->ack_due[i] = 0;
        hdr_init(a, &msg, TC_WIRE_ACK, a->token);
        if (ack_of(a, pos, &msg.u.ack) == 0) {
            send1(a, a->parent, &msg);
            a->st.acks_tx++;
        }
        /* the sender skips what we hold whole just ahead (resume, reparent) */
        hi = pos + TC_STREAM_ACK_AHEAD;
        p = a->ack_pos_hi > pos ? a->ack_pos_hi + 1 : pos + 1;
        for (; p <= hi; p++) {
            if (!pos_whole(a, p))
                continue;
            hdr_init(a, &msg, TC_WIRE_ACK, a->token);
            if (ack_of(a, p, &msg.u.ack) == 0) {
                send1(a, a->parent, &msg);
                a->st.acks_tx++;
            }
        }
        if (hi > a->ack_pos_hi)
            a->ack_pos_hi = hi;
    }
}

/* ---- streams: the parent side --------------------------------------------------------- */

/**
 * Where the bytes of (object, index) are for serving, without reading
 * anything back: a manifest object, a cache slot (checked segments only),
 * or the chunk read back last. 0 and *sr, or -ENOENT.
 */
static int src_cached(const struct tc_agent *a, uint8_t object, uint32_t index, struct src *sr)
{
    int mi = mobj_index(object);

    memset(sr, 0, sizeof(*sr));
    if (mi >= 0) {
        const struct rxobj *o = &a->mobj[mi];

        if (!o->len || (!o->ok && !o->unchecked))
            return -ENOENT; /* whole-checked objects only once verified */
        sr->bytes = o->bytes;
        sr->len = o->len;
        sr->have = o->ok ? NULL : o->have;
        sr->unchecked = o->ok ? NULL : o->unchecked;
        return 0;
    }
    if (!a->m || index >= a->m->chunk_count || a->m->chunks[index].enc == TC_ENC_ZERO)
        return -ENOENT;
    if (a->slot_of[index] != SLOT_NONE) {
        const struct slot *s = &a->slots[a->slot_of[index]];
        const struct rxobj *o = object == TC_WIRE_OBJ_CHUNK ? &s->data : &s->list;

        if (object == TC_WIRE_OBJ_CHUNK_HASHES && !o->ok)
            return -ENOENT;
        sr->bytes = o->bytes;
        sr->len = o->len;
        sr->have = o->have;
        sr->unchecked = o->unchecked;
        return 0;
    }
    if (a->rb == RB_READY && a->rb_chunk == index && a->rb_ok &&
        (a->chunk_st[index] == CS_DONE || a->chunk_st[index] == CS_HELD)) {
        sr->len = a->m->chunks[index].stored_len;
        if (object == TC_WIRE_OBJ_CHUNK) {
            sr->bytes = a->rb_stored;
        } else {
            sr->bytes = a->cfg.dataless ? NULL : a->rb_list;
            sr->len = tc_proto_nsegs(sr->len, a->seg) * TC_WIRE_SEG_HASH_LEN;
        }
        return 0;
    }
    return -ENOENT;
}

/** src_cached(), else start reading a written chunk back: -EAGAIN (its
 * completion wakes the streams), or -ENOENT (we do not have it). */
static int src_for(struct tc_agent *a, uint8_t object, uint32_t index, struct src *sr)
{
    if (src_cached(a, object, index, sr) == 0)
        return 0;
    if (mobj_index(object) >= 0 || !a->m || index >= a->m->chunk_count ||
        (a->chunk_st[index] != CS_DONE && a->chunk_st[index] != CS_HELD))
        return -ENOENT;
    if (a->rb == RB_READY && a->rb_chunk == index)
        return -ENOENT; /* read back and refused (logged): not served from here */
    if (a->rb != RB_READING && a->ops->read) {
        a->rb = RB_READING;
        a->rb_chunk = index;
        a->rb_ok = 0;
        a->rb_cookie = cookie_new(a, CK_READ);
        a->st.readbacks++;
        if (a->ops->read(a->ctx, (uint64_t)index * a->m->chunk_size, a->rb_raw,
                         tc_manifest_chunk_raw_len(a->m, index), a->rb_cookie) < 0)
            a->rb = RB_IDLE;
    }
    return -EAGAIN;
}

/** Stream op: the object at position pos (stream.h). */
static int as_object_at(void *ctx, uint32_t pos, struct tc_stream_obj *o)
{
    struct astream *as = ctx;
    struct tc_agent *a = as->a;
    uint8_t object;
    uint32_t index;

    tc_proto_obj_at(pos, &object, &index);
    o->object = object;
    o->index = index;
    if (pos < TC_PROTO_POS_CHUNKS) {
        o->len = a->mobj[pos].len;
        return 0;
    }
    if (!a->m)
        return -EAGAIN;
    if (index >= a->m->chunk_count)
        return -ENOENT;
    o->len = a->m->chunks[index].stored_len;
    if (object == TC_WIRE_OBJ_CHUNK_HASHES)
        o->len = tc_proto_nsegs(o->len, a->seg) * TC_WIRE_SEG_HASH_LEN;
    return 0;
}

/** Stream op: checked bytes we hold contiguously from off. */
static uint32_t as_held(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct astream *as = ctx;
    struct tc_agent *a = as->a;
    struct src sr;
    uint32_t k, k1, end;

    if (src_for(a, o->object, o->index, &sr) != 0 || off >= sr.len)
        return 0;
    end = sr.len - off < len ? sr.len : off + len;
    k = off / a->seg;
    k1 = tc_proto_nsegs(end, a->seg);
    while (k < k1 && !(sr.have && !bm_get(sr.have, k)) &&
           !(sr.unchecked && bm_get(sr.unchecked, k)))
        k++;
    if ((uint64_t)k * a->seg >= end)
        return end - off;
    return k * a->seg > off ? k * a->seg - off : 0;
}

/** Stream op: send [off, off + len) of o to the child as unicast DATA. */
static int as_send(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct astream *as = ctx;
    struct tc_agent *a = as->a;
    struct tc_proto_dgram d[TX_BATCH_MAX];
    struct src sr;
    uint32_t nd = 0;

    if (src_for(a, o->object, o->index, &sr) != 0)
        return -EAGAIN;
    serve_run(a, &sr, o->object, o->index, as->to, as->token, off / a->seg,
              tc_proto_nsegs((uint64_t)off + len, a->seg), d, &nd);
    tx_flush(a, d, &nd);
    a->st.stream_bytes += len;
    return 0;
}

static const struct tc_stream_ops as_ops = {
    .object_at = as_object_at,
    .held = as_held,
    .send = as_send,
};

/** Our list changed: a stream for each STREAM child, none for the others. */
static void streams_sync(struct tc_agent *a, uint64_t now)
{
    uint32_t i, k;

    for (k = 0; k < TC_AGENT_STREAMS_MAX; k++) {
        struct astream *as = &a->streams[k];
        int keep = 0;

        for (i = 0; i < a->nchildren && as->node != UINT32_MAX; i++)
            keep |= a->children[i].c.node_index == as->node &&
                    (a->children[i].c.flags & TC_WIRE_CHILD_F_STREAM) &&
                    a->children[i].c.token == as->token;
        if (!keep)
            as->node = UINT32_MAX;
    }
    for (i = 0; i < a->nchildren; i++) {
        const struct tc_wire_child *c = &a->children[i].c;
        struct astream *as = NULL;

        if (!(c->flags & TC_WIRE_CHILD_F_STREAM))
            continue;
        for (k = 0; k < TC_AGENT_STREAMS_MAX; k++)
            if (a->streams[k].node == c->node_index)
                break;
        if (k < TC_AGENT_STREAMS_MAX)
            continue;
        for (k = 0; k < TC_AGENT_STREAMS_MAX && !as; k++)
            if (a->streams[k].node == UINT32_MAX)
                as = &a->streams[k];
        if (!as) {
            alog(a, TC_PROTO_LOG_WARN, "more than %u children to stream to: node %u not served",
                 TC_AGENT_STREAMS_MAX, c->node_index);
            continue;
        }
        as->a = a;
        as->node = c->node_index;
        as->to.addr = c->addr;
        as->to.port = c->port;
        as->token = c->token;
        /* tree-only: as fast as the path allows; a straggler: at most the
         * session rate (it left the multicast: its link is free for us) */
        tc_stream_tx_init(&as->tx, &as_ops, as, a->seg, a->block_len, TC_STREAM_CWND_MAX_BYTES,
                          a->tree_only ? 0 : a->w.rate_bps, 0);
        tc_stream_tx_wake(&as->tx, now);
    }
    a->nstreams = 0;
    for (k = 0; k < TC_AGENT_STREAMS_MAX; k++)
        a->nstreams += a->streams[k].node != UINT32_MAX;
}

/** More bytes (or the manifest, or a read-back): every stream may send. */
static void streams_wake(struct tc_agent *a, uint64_t now)
{
    uint32_t k;

    if (!a->streams)
        return;
    for (k = 0; k < TC_AGENT_STREAMS_MAX; k++)
        if (a->streams[k].node != UINT32_MAX)
            tc_stream_tx_wake(&a->streams[k].tx, now);
}

/** An ACK from a child we stream to. */
static void on_ack(struct tc_agent *a, const struct child *c, const struct tc_wire_ack *ack,
                   uint64_t now)
{
    uint32_t k;

    for (k = 0; k < TC_AGENT_STREAMS_MAX; k++) {
        struct astream *as = &a->streams[k];

        if (as->node == c->c.node_index && as->token == c->c.token) {
            tc_stream_tx_on_ack(&as->tx, now, tc_proto_pos_of(ack->object, ack->index), ack);
            return;
        }
    }
    a->st.rx_forged++;
}

/* ---- seeder restarts ------------------------------------------------------------------ */

/** EPOCH from the seeder: re-JOIN (with our summary) within rejoin_spread_ms. */
static void on_epoch(struct tc_agent *a, const struct tc_wire_msg *msg, uint64_t now)
{
    if (!a->welcomed || msg->hdr.session_id != a->session_id || msg->hdr.epoch <= a->epoch ||
        a->state == TC_AGENT_RELEASED || a->state == TC_AGENT_JOINING)
        return;
    if (msg->hdr.token != 0 && msg->hdr.token != a->token)
        return;
    a->last_seeder_ns = now;
    if (a->rejoining)
        return;
    a->rejoining = 1;
    a->new_epoch = msg->hdr.epoch;
    /* the new seeder numbers its tree generations afresh */
    a->have_gen_parent = 0;
    a->have_gen_children = 0;
    a->rejoin_at = now + rnd_below(a, (uint64_t)msg->u.epoch.rejoin_spread_ms * NS_PER_MS + 1);
    a->backoff_ns = a->cfg.limits.join_backoff_min_ns;
    alog(a, TC_PROTO_LOG_NOTICE, "the seeder restarted (epoch %u -> %u): joining again", a->epoch,
         msg->hdr.epoch);
}

/** The re-JOIN: our session, token and the chunks we hold. */
static void send_rejoin(struct tc_agent *a, uint64_t now)
{
    struct tc_summary_run runs[TC_WIRE_JOIN_RUNS_MAX];
    struct tc_wire_join *j = &a->join.u.join;
    uint32_t nruns = 0, i;

    a->join.hdr.session_id = a->session_id;
    a->join.hdr.epoch = a->epoch;
    a->join.hdr.token = a->token;
    j->nruns = 0;
    if (a->m && a->held_now) {
        memset(a->held_now, 0, tc_summary_bitmap_len(a->m->chunk_count));
        for (i = 0; i < a->m->chunk_count; i++)
            if (a->chunk_st[i] == CS_DONE || a->chunk_st[i] == CS_HELD ||
                (a->chunk_st[i] == CS_NEED && a->m->chunks[i].enc == TC_ENC_ZERO && i != 0))
                a->held_now[i / 8] |= (uint8_t)(1u << (i % 8));
        if (tc_summary_runs(a->held_now, a->m->chunk_count, runs, TC_WIRE_JOIN_RUNS_MAX, &nruns,
                            NULL, NULL) == 0) {
            for (i = 0; i < nruns; i++) {
                j->runs[i].first = runs[i].first;
                j->runs[i].count = runs[i].count;
            }
            j->nruns = (uint16_t)nruns;
        }
    }
    a->st.rejoins++;
    send_join(a, now);
    a->rejoin_at = a->join_at;
}

/** A WELCOME answering our re-JOIN: the new epoch (and token), the seeder as parent. */
static int on_rewelcome(struct tc_agent *a, const struct tc_wire_msg *msg, uint64_t now)
{
    const struct tc_wire_welcome *w = &msg->u.welcome;

    if (memcmp(w->manifest_digest, a->w.manifest_digest, TC_SHA256_LEN) != 0) {
        tc_err_set(&a->err, -EPROTO,
                   "the seeder restarted with a different manifest for image %s: stopping "
                   "(nothing more is written)",
                   a->image);
        return fail(a, a->err.rc);
    }
    a->rejoining = 0;
    a->session_id = msg->hdr.session_id;
    a->prev_epoch = a->epoch != msg->hdr.epoch ? a->epoch : a->prev_epoch;
    a->epoch = msg->hdr.epoch;
    a->token = msg->hdr.token;
    a->w.rate_bps = w->rate_bps;
    if (!a->have_gen_parent) {
        a->parent_index = TC_WIRE_INDEX_SEEDER;
        a->parent = a->cfg.seeder;
    }
    a->last_seeder_ns = now;
    a->last_parent_ns = now;
    /* The restarted seeder knows only what our re-JOIN listed (chunks
     * done): its next round brings every other chunk to us again. Give
     * back the slots of incomplete chunks (they would wait for that round
     * and starve the multicast of slots) and forget what the old rounds
     * passed. */
    if (a->m) {
        uint32_t i;

        for (i = 0; i < a->cfg.cache_slots; i++) {
            struct slot *sl = &a->slots[i];

            if (sl->state != SL_RECV)
                continue;
            a->chunk_st[sl->chunk] = CS_NEED;
            a->slot_of[sl->chunk] = SLOT_NONE;
            sl->state = SL_FREE;
        }
        for (i = 0; i < a->m->chunk_count; i++)
            a->chunk_fl[i] &= (uint8_t)~CF_PASSED;
        a->passed_hi = 0;
        a->fetch_next = 0;
        a->mcast_seen = 0;
        a->bad_samples = 0;
    }
    alog(a, TC_PROTO_LOG_INFO, "welcomed again in epoch %u as node %u", a->epoch, w->node_index);
    heartbeats(a, now);
    return 0;
}

/** Liveness: the parent silent past parent_timeout_ns asks the seeder for another; the
 * seeder silent past seeder_timeout_ns fails the agent (never hands off). */
static int liveness(struct tc_agent *a, uint64_t now)
{
    if (a->state < TC_AGENT_LINGER && now > a->last_seeder_ns + a->cfg.limits.seeder_timeout_ns) {
        tc_err_set(&a->err, -ETIMEDOUT,
                   "lost the seeder at %u.%u.%u.%u:%u: nothing heard for %llu s (limit %llu s); "
                   "image %s is not complete and will not be booted",
                   a->cfg.seeder.addr >> 24, (a->cfg.seeder.addr >> 16) & 0xff,
                   (a->cfg.seeder.addr >> 8) & 0xff, a->cfg.seeder.addr & 0xff, a->cfg.seeder.port,
                   (unsigned long long)((now - a->last_seeder_ns) / 1000000000ull),
                   (unsigned long long)(a->cfg.limits.seeder_timeout_ns / 1000000000ull), a->image);
        return fail(a, -ETIMEDOUT);
    }
    if (a->welcomed && a->parent_index != TC_WIRE_INDEX_SEEDER && a->state < TC_AGENT_RELEASED &&
        now > a->last_parent_ns + a->cfg.limits.parent_timeout_ns && now >= a->reparent_at) {
        if (a->reparent_at == 0 || now >= a->reparent_at + a->cfg.limits.parent_timeout_ns)
            alog(a, TC_PROTO_LOG_NOTICE, "parent %u silent for %llu ms: asking for another",
                 a->parent_index, (unsigned long long)((now - a->last_parent_ns) / NS_PER_MS));
        send_reparent_req(a, TC_WIRE_REPARENT_SILENT, now);
        a->reparent_at = now + a->hb_interval_ns;
    }
    return 0;
}

/* ---- public entry points ---------------------------------------------------------------- */

/** Free everything (NULL allowed). The manifest belongs to the caller. */
void tc_agent_free(struct tc_agent *a)
{
    uint32_t i;

    if (!a)
        return;
    if (a->slots) {
        for (i = 0; i < a->cfg.cache_slots; i++) {
            struct slot *s = &a->slots[i];

            free(s->data.bytes);
            free(s->data.have);
            free(s->data.unchecked);
            free(s->list.bytes);
            free(s->list.have);
        }
        free(a->slots);
    }
    if (a->wrs) {
        for (i = 0; i < a->cfg.writes_max; i++)
            free(a->wrs[i].raw);
        free(a->wrs);
    }
    for (i = 0; i < 3; i++) {
        free(a->mobj[i].bytes);
        free(a->mobj[i].have);
        free(a->mobj[i].unchecked);
    }
    free(a->held);
    free(a->chunk_st);
    free(a->chunk_fl);
    free(a->slot_of);
    free(a->chunk0);
    free(a->rb_raw);
    free(a->rb_enc);
    free(a->rb_list);
    free(a->tx);
    free(a->zeros);
    free(a->streams);
    free(a->held_now);
    free(a);
}

/** Check the configuration; fill defaults into c. */
static int cfg_check(struct tc_agent_cfg *c, const struct tc_agent_ops *ops, struct tc_err *err)
{
    static const uint8_t zero_mac[6];

    if (!ops || !ops->send || !ops->write || !ops->sync || !ops->manifest_accept || !ops->random)
        return tc_err_set(err, -EINVAL,
                          "agent: send, write, sync, manifest_accept and random "
                          "ops are required");
    if (!c->image || tc_manifest_check_name(c->image, err) < 0)
        return tc_err_set(err, -EINVAL, "agent: invalid image name");
    if (c->min_version && tc_manifest_check_version(c->min_version, err) < 0)
        return tc_err_set(err, -EINVAL, "agent: invalid minimum version");
    if (memcmp(c->node_id, zero_mac, 6) == 0 || (c->node_id[0] & 1u))
        return tc_err_set(err, -EINVAL, "agent: node id must be a unicast MAC, not zero");
    if (c->mtu < TC_WIRE_MTU_MIN || c->mtu > TC_WIRE_MTU_MAX)
        return tc_err_set(err, -EINVAL, "agent: MTU %u out of range %u..%u", c->mtu,
                          TC_WIRE_MTU_MIN, TC_WIRE_MTU_MAX);
    if (c->disk_size == 0)
        return tc_err_set(err, -EINVAL, "agent: disk size 0");
    if (c->cache_slots == 0)
        c->cache_slots = TC_AGENT_CACHE_DEFAULT;
    if (c->writes_max == 0)
        c->writes_max = TC_AGENT_WRITES_DEFAULT;
    if (c->cache_slots < 2 || c->cache_slots > TC_AGENT_CACHE_MAX)
        return tc_err_set(err, -EINVAL, "agent: %u cache slots, out of range 2..%u", c->cache_slots,
                          TC_AGENT_CACHE_MAX);
    if (c->writes_max > TC_AGENT_WRITES_MAX)
        return tc_err_set(err, -EINVAL, "agent: %u writes in flight, out of range 1..%u",
                          c->writes_max, TC_AGENT_WRITES_MAX);
    if (c->chunk_size_max < 1 || c->chunk_size_max > TC_CHUNK_SIZE_WIRE_MAX)
        return tc_err_set(err, -EINVAL, "agent: chunk_size_max %u out of range 1..%u",
                          c->chunk_size_max, TC_CHUNK_SIZE_WIRE_MAX);
    if (c->held_chunks > TC_MANIFEST_CHUNKS_MAX)
        return tc_err_set(err, -EINVAL, "agent: held bitmap of %u chunks, more than %u",
                          c->held_chunks, TC_MANIFEST_CHUNKS_MAX);
    if (c->limits.join_backoff_min_ns == 0 || c->limits.repair_retry_ns == 0 ||
        c->limits.done_retry_ns == 0)
        return tc_err_set(err, -EINVAL, "agent: limits not set (tc_proto_limits_default())");
    return 0;
}

/** Allocate a chunk slot's buffers. */
static int slot_alloc(struct tc_agent *a, struct slot *s)
{
    size_t dw = bm_words(a->nsegs_max), lw = bm_words(a->list_segs_max);

    s->data.object = TC_WIRE_OBJ_CHUNK;
    s->list.object = TC_WIRE_OBJ_CHUNK_HASHES;
    s->data.have = calloc(dw, sizeof(uint64_t));
    s->data.unchecked = calloc(dw, sizeof(uint64_t));
    s->list.have = calloc(lw, sizeof(uint64_t));
    if (!s->data.have || !s->data.unchecked || !s->list.have)
        return -ENOMEM;
    if (!a->cfg.dataless) {
        s->data.bytes = malloc(a->cfg.chunk_size_max);
        s->list.bytes = malloc((size_t)a->nsegs_max * TC_WIRE_SEG_HASH_LEN);
        if (!s->data.bytes || !s->list.bytes)
            return -ENOMEM;
    }
    s->data.hl = &s->list;
    return 0;
}

/** Build the JOIN template: identity, wanted image, held runs. */
static int join_build(struct tc_agent *a, struct tc_err *err)
{
    struct tc_summary_run runs[TC_WIRE_JOIN_RUNS_MAX];
    struct tc_wire_join *j = &a->join.u.join;
    uint32_t nruns = 0, i;
    int rc;

    memset(&a->join, 0, sizeof(a->join));
    a->join.hdr.type = TC_WIRE_JOIN;
    memcpy(j->node_id, a->cfg.node_id, 6);
    j->mtu = a->cfg.mtu;
    j->disk_size = a->cfg.disk_size;
    j->name_len = (uint8_t)strlen(a->image);
    memcpy(j->name, a->image, j->name_len);
    if (a->cfg.min_version) {
        j->min_version_len = (uint8_t)strlen(a->cfg.min_version);
        memcpy(j->min_version, a->cfg.min_version, j->min_version_len);
    }
    if (a->cfg.pin) {
        a->join.hdr.flags = TC_WIRE_JOIN_F_PIN;
        memcpy(j->pin, a->cfg.pin, TC_SHA256_LEN);
    }
    if (a->cfg.held && a->cfg.held_chunks) {
        rc = tc_summary_runs(a->cfg.held, a->cfg.held_chunks, runs, TC_WIRE_JOIN_RUNS_MAX, &nruns,
                             NULL, err);
        if (rc < 0)
            return rc;
        for (i = 0; i < nruns; i++) {
            j->runs[i].first = runs[i].first;
            j->runs[i].count = runs[i].count;
        }
        j->nruns = (uint16_t)nruns;
    }
    return 0;
}

/** Create an agent; everything but the manifest objects is allocated here. */
int tc_agent_new(struct tc_agent **out, const struct tc_agent_cfg *cfg,
                 const struct tc_agent_ops *ops, void *ctx, uint64_t now, struct tc_err *err)
{
    struct tc_agent *a;
    uint8_t *held = NULL;
    uint32_t i;
    int rc;

    *out = NULL;
    a = calloc(1, sizeof(*a));
    if (!a)
        return tc_err_set(err, -ENOMEM, "agent: out of memory");
    a->cfg = *cfg;
    rc = cfg_check(&a->cfg, ops, err);
    if (rc < 0)
        goto err_free;
    a->ops = ops;
    a->ctx = ctx;
    a->cops = cfg->chunk_ops ? cfg->chunk_ops : &tc_chunk_ops_no_adler;
    snprintf(a->image, sizeof(a->image), "%s", cfg->image);
    a->cfg.image = a->image;
    if (cfg->held && cfg->held_chunks) {
        held = malloc(tc_summary_bitmap_len(cfg->held_chunks));
        if (!held) {
            rc = tc_err_set(err, -ENOMEM, "agent: out of memory");
            goto err_free;
        }
        memcpy(held, cfg->held, tc_summary_bitmap_len(cfg->held_chunks));
    }
    rc = join_build(a, err); /* uses the caller's min_version, pin and held */
    a->cfg.min_version = NULL;
    a->cfg.pin = NULL;
    a->cfg.held = held;
    a->held = held;
    if (rc < 0)
        goto err_free;
    a->nsegs_max = tc_proto_nsegs(a->cfg.chunk_size_max, TC_WIRE_SEG_SIZE_MIN);
    a->list_segs_max =
        tc_proto_nsegs((uint64_t)a->nsegs_max * TC_WIRE_SEG_HASH_LEN, TC_WIRE_SEG_SIZE_MIN);
    rc = -ENOMEM;
    a->slots = calloc(a->cfg.cache_slots, sizeof(*a->slots));
    a->wrs = calloc(a->cfg.writes_max, sizeof(*a->wrs));
    a->tx_max = a->cfg.dataless ? 1 : TX_BATCH_MAX;
    a->tx = malloc((size_t)a->tx_max * TC_WIRE_DGRAM_MAX);
    a->streams = calloc(TC_AGENT_STREAMS_MAX, sizeof(*a->streams));
    if (!a->slots || !a->wrs || !a->tx || !a->streams)
        goto err_oom;
    for (i = 0; i < TC_AGENT_STREAMS_MAX; i++)
        a->streams[i].node = UINT32_MAX;
    for (i = 0; i < a->cfg.cache_slots; i++)
        if (slot_alloc(a, &a->slots[i]) < 0)
            goto err_oom;
    if (a->cfg.dataless) {
        a->zeros = calloc(1, TC_WIRE_DATA_PAYLOAD_MAX);
        if (!a->zeros)
            goto err_oom;
    } else {
        for (i = 0; i < a->cfg.writes_max; i++) {
            a->wrs[i].raw = malloc(a->cfg.chunk_size_max);
            if (!a->wrs[i].raw)
                goto err_oom;
        }
        a->chunk0 = malloc(a->cfg.chunk_size_max);
        a->rb_raw = malloc(a->cfg.chunk_size_max);
        a->rb_enc = malloc(a->cfg.chunk_size_max);
        a->rb_list = malloc((size_t)a->nsegs_max * TC_WIRE_SEG_HASH_LEN);
        if (!a->chunk0 || !a->rb_raw || !a->rb_enc || !a->rb_list)
            goto err_oom;
    }
    a->state = TC_AGENT_JOINING;
    a->lm_key = UINT64_MAX;
    a->last_seeder_ns = now;
    a->last_parent_ns = now;
    a->backoff_ns = a->cfg.limits.join_backoff_min_ns;
    a->join_at = now + rnd_below(a, a->cfg.limits.join_spread_ns);
    *out = a;
    return 0;

err_oom:
    rc = tc_err_set(err, -ENOMEM, "agent: out of memory for %u cache slots of %u bytes",
                    a->cfg.cache_slots, a->cfg.chunk_size_max);
err_free:
    tc_agent_free(a);
    return rc;
}

/** A datagram from `from`: decode, check, dispatch. */
int tc_agent_on_packet(struct tc_agent *a, uint64_t now, struct tc_proto_peer from,
                       const uint8_t *buf, size_t len)
{
    struct tc_wire_msg msg;
    struct child *c;

    a->now_ns = now;

    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    a->st.rx_dgrams++;
    if (a->state == TC_AGENT_RELEASED)
        return 0;
    if (tc_wire_decode(buf, len, &msg) < 0) {
        a->st.rx_bad++;
        return 0;
    }
    switch (msg.hdr.type) {
    case TC_WIRE_WELCOME:
    case TC_WIRE_REJECT: {
        uint64_t nonce = msg.hdr.type == TC_WIRE_WELCOME ? msg.u.welcome.nonce : msg.u.reject.nonce;

        if (!peer_eq(from, a->cfg.seeder) || !nonce_ours(a, nonce)) {
            a->st.rx_forged++;
            return 0;
        }
        a->last_seeder_ns = now;
        if (a->rejoining && msg.hdr.type == TC_WIRE_WELCOME)
            return on_rewelcome(a, &msg, now);
        if (a->state != TC_AGENT_JOINING)
            return 0; /* a retransmitted answer */
        if (msg.hdr.type == TC_WIRE_WELCOME)
            return on_welcome(a, &msg, now);
        return on_reject(a, &msg.u.reject, now);
    }
    case TC_WIRE_DATA: {
        int uc = (msg.hdr.flags & TC_WIRE_DATA_F_UNICAST) != 0;

        int rc;

        if (data_ok(a, from, msg.hdr.session_id, msg.hdr.epoch, msg.hdr.token, uc, 1) < 0)
            return 0;
        if (uc && peer_eq(from, a->parent))
            a->last_parent_ns = now;
        rc = rx_block(a, now, uc, msg.u.data.object, msg.u.data.index, msg.u.data.offset,
                      msg.u.data.len, msg.u.data.payload);
        if (rc == 0 && uc && a->streamed && peer_eq(from, a->parent)) {
            ack_note(a, msg.u.data.object, msg.u.data.index);
            ack_flush(a);
        }
        return rc;
    }
    case TC_WIRE_EPOCH:
        if (peer_eq(from, a->cfg.seeder))
            on_epoch(a, &msg, now);
        else
            a->st.rx_forged++;
        return 0;
    default:
        break;
    }
    if (!a->welcomed || msg.hdr.session_id != a->session_id || !epoch_ok(a, msg.hdr.epoch)) {
        a->st.rx_forged++;
        return 0;
    }
    switch (msg.hdr.type) {
    case TC_WIRE_DONE_ACK:
    case TC_WIRE_RELEASE:
    case TC_WIRE_REPARENT:
    case TC_WIRE_CHILDREN:
        if (msg.hdr.token != a->token || !peer_eq(from, a->cfg.seeder)) {
            a->st.rx_forged++;
            return 0;
        }
        return on_seeder_msg(a, &msg, now);
    case TC_WIRE_HEARTBEAT:
        if (msg.hdr.token == a->token && peer_eq(from, a->cfg.seeder))
            return on_seeder_msg(a, &msg, now);
        if (msg.hdr.token == a->token && peer_eq(from, a->parent)) {
            a->echo_parent_ns = msg.u.heartbeat.time_ns;
            a->last_parent_ns = now;
            return 0;
        }
        c = child_find(a, from, msg.hdr.token);
        if (!c) {
            count_not_child(a, from);
            return 0;
        }
        send_heartbeat(a, from, c->c.token, TC_WIRE_STATE_NONE, msg.u.heartbeat.time_ns, now);
        return 0;
    case TC_WIRE_REPAIR_REQ:
    case TC_WIRE_REPORT:
    case TC_WIRE_ACK:
        c = child_find(a, from, msg.hdr.token);
        if (!c) {
            count_not_child(a, from);
            return 0;
        }
        if (msg.hdr.type == TC_WIRE_ACK) {
            on_ack(a, c, &msg.u.ack, now);
        } else if (msg.hdr.type == TC_WIRE_REPAIR_REQ) {
            on_repair_req(a, &msg.u.repair_req, from, c->c.token);
        } else if (!c->have_report || msg.u.report.seq > c->rep.seq) {
            c->rep = msg.u.report;
            c->have_report = 1;
        }
        return a->state == TC_AGENT_FAILED ? a->err.rc : 0;
    default:
        a->st.rx_bad++; /* not a message an agent receives */
        return 0;
    }
}

/** A batch of DATA blocks: each set bit as one DATA datagram would be. */
int tc_agent_on_blocks(struct tc_agent *a, uint64_t now, const struct tc_proto_blocks *rx)
{
    uint32_t j, nset = 0;
    int rc;

    a->now_ns = now;

    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if (!rx->bitmap || rx->nblocks == 0 || rx->nblocks > TC_PROTO_TRAIN_BLOCKS_MAX)
        return 0;
    for (j = 0; j < rx->nblocks; j++)
        nset += bm_get(rx->bitmap, j);
    a->st.rx_dgrams += nset;
    if (a->state == TC_AGENT_RELEASED || nset == 0)
        return 0;
    /* what the codec would refuse in each datagram */
    if (rx->block_len == 0 || rx->block_len > TC_WIRE_DATA_PAYLOAD_MAX ||
        (uint64_t)(rx->nblocks - 1) * rx->block_len >= rx->total_len ||
        (uint64_t)rx->nblocks * rx->block_len < rx->total_len || rx->object == 0 ||
        rx->object > TC_WIRE_OBJ_MAX || (rx->unicast ? rx->token == 0 : rx->token != 0) ||
        (!a->cfg.dataless && !rx->payload)) {
        a->st.rx_bad += nset;
        return 0;
    }
    if ((rx->object == TC_WIRE_OBJ_CHUNK || rx->object == TC_WIRE_OBJ_CHUNK_HASHES)
            ? rx->index >= TC_MANIFEST_CHUNKS_MAX
            : rx->index != 0) {
        a->st.rx_bad += nset;
        return 0;
    }
    if (data_ok(a, rx->peer, rx->session_id, rx->epoch, rx->token, rx->unicast, nset) < 0)
        return 0;
    if (rx->unicast && peer_eq(rx->peer, a->parent)) {
        a->last_parent_ns = now;
        if (a->streamed)
            ack_note(a, rx->object, rx->index);
    }
    for (j = 0; j < rx->nblocks; j++) {
        uint64_t boff = (uint64_t)j * rx->block_len;
        uint32_t blen;

        if (!bm_get(rx->bitmap, j))
            continue;
        blen =
            (uint32_t)(rx->total_len - boff < rx->block_len ? rx->total_len - boff : rx->block_len);
        if ((uint64_t)rx->offset + boff + blen > UINT32_MAX) {
            a->st.rx_bad++;
            continue;
        }
        rc = rx_block(a, now, rx->unicast != 0, rx->object, rx->index, rx->offset + (uint32_t)boff,
                      blen, rx->payload ? rx->payload + boff : NULL);
        if (rc < 0)
            return rc;
        if (a->state == TC_AGENT_RELEASED)
            return 0;
    }
    ack_flush(a);
    return 0;
}

/** Run everything due at now. */
int tc_agent_on_timer(struct tc_agent *a, uint64_t now)
{
    uint32_t i;

    a->now_ns = now;

    switch (a->state) {
    case TC_AGENT_FAILED:
        return a->err.rc;
    case TC_AGENT_RELEASED:
        return 0;
    case TC_AGENT_JOINING:
        if (now >= a->join_at)
            send_join(a, now);
        return liveness(a, now);
    default:
        break;
    }
    if (liveness(a, now) < 0)
        return a->err.rc;
    if (a->rejoining && now >= a->rejoin_at)
        send_rejoin(a, now);
    for (i = 0; i < TC_AGENT_STREAMS_MAX; i++)
        if (a->streams[i].node != UINT32_MAX && tc_stream_tx_deadline(&a->streams[i].tx) <= now)
            tc_stream_tx_on_timer(&a->streams[i].tx, now);
    if (now >= a->hb_at) {
        heartbeats(a, now);
        behind_check(a, now);
        /* a stream waiting for bytes is woken when they come; this bounds
         * what a missed wake-up could cost */
        streams_wake(a, now);
        for (i = 0; i < TC_AGENT_STREAMS_MAX; i++) {
            const struct tc_stream_tx *tx = &a->streams[i].tx;

            if (a->streams[i].node != UINT32_MAX)
                alog(a, TC_PROTO_LOG_DEBUG,
                     "stream to node %u: position %u (acked below %u), %llu bytes in flight, "
                     "window %llu, %llu sent, %llu retransmitted, %llu timeouts",
                     a->streams[i].node, tx->pos, tx->una_pos, (unsigned long long)tx->inflight,
                     (unsigned long long)tx->cwnd, (unsigned long long)tx->st.sent_bytes,
                     (unsigned long long)tx->st.retx_bytes, (unsigned long long)tx->st.timeouts);
        }
    }
    if (now >= a->report_at)
        send_report(a, now);
    if (now >= a->last_mcast_ns + idle_ns(a))
        went_idle(a, now);
    for (i = 0; i < 3 && a->state == TC_AGENT_MANIFEST; i++)
        if (!a->mobj[i].ok && now >= a->munit[i].req_at)
            unit_request(a, &a->munit[i], &a->mobj[i], NULL, 0, now);
    if (a->m) {
        for (i = 0; i < a->cfg.cache_slots; i++) {
            struct slot *s = &a->slots[i];

            if (s->state == SL_RECV && now >= s->u.req_at)
                slot_request(a, s, now);
        }
        fetch_missing(a, now);
    }
    if (a->state == TC_AGENT_DONE && now >= a->done_at)
        send_done(a, now);
    if (a->state == TC_AGENT_LINGER && now >= a->linger_end) {
        a->state = TC_AGENT_RELEASED;
        if (a->ops->group && a->group.addr)
            a->ops->group(a->ctx, 0, a->group);
        alog(a, TC_PROTO_LOG_NOTICE, "no RELEASE within the linger limit: released");
    }
    return a->state == TC_AGENT_FAILED ? a->err.rc : 0;
}

/** A write completed. */
int tc_agent_on_written(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc)
{
    uint32_t i;

    a->now_ns = now;

    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if ((cookie & CK_KIND_MASK) == CK_WRITE0 && a->fin == FIN_WRITE0 && cookie == a->fin_cookie) {
        if (rc < 0) {
            tc_err_set(&a->err, rc, "write of chunk 0 (image %s) failed: %s", a->image,
                       strerror(-rc));
            return fail(a, rc);
        }
        a->chunk_st[0] = CS_DONE;
        a->st.chunks_done++;
        a->st.chunks_written++;
        a->fin = FIN_SYNC2;
        a->fin_cookie = cookie_new(a, CK_SYNC);
        rc = a->ops->sync(a->ctx, a->fin_cookie);
        if (rc < 0) {
            tc_err_set(&a->err, rc, "sync after chunk 0 (image %s) could not be submitted: %s",
                       a->image, strerror(-rc));
            return fail(a, rc);
        }
        return 0;
    }
    for (i = 0; i < a->cfg.writes_max; i++) {
        struct wr *w = &a->wrs[i];

        if (!w->busy || w->cookie != cookie)
            continue;
        if (rc < 0) {
            tc_err_set(&a->err, rc, "write of chunk %u (image %s) failed: %s", w->chunk, a->image,
                       strerror(-rc));
            return fail(a, rc);
        }
        w->busy = 0;
        a->chunk_st[w->chunk] = CS_DONE;
        a->st.chunks_done++;
        a->st.chunks_written++;
        if (w->chunk != 0)
            a->done_rest++;
        pump(a, now);
        if (a->nstreams)
            streams_wake(a, now);
        return a->state == TC_AGENT_FAILED ? a->err.rc : 0;
    }
    alog(a, TC_PROTO_LOG_WARN, "completion of an unknown write (cookie %llx) ignored",
         (unsigned long long)cookie);
    return 0;
}

/** A sync completed: the next finishing step. */
int tc_agent_on_durable(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc)
{
    a->now_ns = now;
    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if (a->state != TC_AGENT_FINISHING || cookie != a->fin_cookie ||
        (a->fin != FIN_SYNC1 && a->fin != FIN_SYNC2))
        return 0;
    if (rc < 0) {
        tc_err_set(&a->err, rc, "sync of the target (image %s, %s chunk 0) failed: %s", a->image,
                   a->fin == FIN_SYNC1 ? "before" : "after", strerror(-rc));
        return fail(a, rc);
    }
    if (a->fin == FIN_SYNC1 && a->chunk_st[0] != CS_HELD) {
        const uint8_t *buf = NULL;

        if (!a->cfg.dataless && a->chunk_st[0] == CS_READY0)
            buf = a->chunk0;
        a->fin = FIN_WRITE0;
        a->fin_cookie = cookie_new(a, CK_WRITE0);
        a->chunk_st[0] = CS_WRITING;
        rc = a->ops->write(a->ctx, 0, 0, buf, tc_manifest_chunk_raw_len(a->m, 0), a->fin_cookie);
        if (rc < 0) {
            tc_err_set(&a->err, rc, "write of chunk 0 (image %s) could not be submitted: %s",
                       a->image, strerror(-rc));
            return fail(a, rc);
        }
        return 0;
    }
    /* after the second sync, or after the first when chunk 0 was held at start */
    a->fin = FIN_NONE;
    a->state = TC_AGENT_DONE;
    alog(a, TC_PROTO_LOG_INFO, "image %s written and durable: DONE", a->image);
    send_done(a, now);
    return 0;
}

/** A read-back completed: check it, serve the waiting requests, read the next. */
/**
 * A chunk read back and checked goes into the cache too (a free slot or the
 * least recently used kept one, never one being received): the children
 * that asked for it, or a stream that is one run into it, find it there for
 * their next requests instead of reading it back again for each.
 */
static void readback_cache(struct tc_agent *a, uint32_t j)
{
    struct slot *best = NULL;
    uint32_t i, k;

    if (a->slot_of[j] != SLOT_NONE)
        return;
    for (i = 0; i < a->cfg.cache_slots; i++) {
        struct slot *s = &a->slots[i];

        if (s->state == SL_FREE) {
            best = s;
            break;
        }
        if (s->state == SL_KEPT && !keep0(a, s) && (!best || s->used < best->used))
            best = s;
    }
    if (!best)
        return;
    if (best->state == SL_KEPT)
        a->slot_of[best->chunk] = SLOT_NONE;
    best->state = SL_KEPT;
    best->chunk = j;
    best->used = ++a->use_seq;
    best->fetched = 0;
    best->acked = 0;
    best->u.req_at = TC_PROTO_NEVER;
    rxobj_reset(a, &best->data, a->m->chunks[j].stored_len);
    rxobj_reset(a, &best->list,
                tc_proto_nsegs(a->m->chunks[j].stored_len, a->seg) * TC_WIRE_SEG_HASH_LEN);
    if (!a->cfg.dataless) {
        memcpy(best->data.bytes, a->rb_stored, best->data.len);
        memcpy(best->list.bytes, a->rb_list, best->list.len);
    }
    for (k = 0; k < best->data.nsegs; k++)
        bm_set(best->data.have, k);
    for (k = 0; k < best->list.nsegs; k++)
        bm_set(best->list.have, k);
    best->data.nhave = best->data.nsegs;
    best->list.nhave = best->list.nsegs;
    best->list.ok = 1;
    best->data.ok = 1;
    a->slot_of[j] = (uint16_t)(best - a->slots);
}

int tc_agent_on_read(struct tc_agent *a, uint64_t now, uint64_t cookie, int rc)
{
    uint32_t j, i, k;

    a->now_ns = now;
    if (a->state == TC_AGENT_FAILED)
        return a->err.rc;
    if (a->rb != RB_READING || cookie != a->rb_cookie)
        return 0;
    j = a->rb_chunk;
    if (rc < 0) {
        tc_err_set(&a->err, rc, "read-back of chunk %u (image %s) failed: %s", j, a->image,
                   strerror(-rc));
        return fail(a, rc);
    }
    a->rb = RB_READY;
    a->rb_ok = 1;
    if (!a->cfg.dataless) {
        const struct tc_manifest_chunk *c = &a->m->chunks[j];
        uint32_t raw_len = tc_manifest_chunk_raw_len(a->m, j);
        uint8_t h[TC_SHA256_LEN];

        a->cops->hash(a->rb_raw, raw_len, h);
        a->rb_ok = memcmp(h, c->raw_hash, TC_SHA256_LEN) == 0;
        a->rb_stored = a->rb_raw;
        if (a->rb_ok && c->enc == TC_ENC_DEFLATE) {
            enum tc_enc enc;
            size_t slen = 0;

            a->rb_stored = a->rb_enc;
            a->rb_ok = tc_chunk_encode(a->rb_raw, raw_len, TC_CHUNK_LEVEL_DEFAULT, a->rb_enc, &enc,
                                       &slen, NULL) == 0 &&
                       enc == TC_ENC_DEFLATE && slen == c->stored_len;
            if (a->rb_ok) {
                a->cops->hash(a->rb_enc, slen, h);
                a->rb_ok = memcmp(h, c->stored_hash, TC_SHA256_LEN) == 0;
            }
        }
        if (a->rb_ok)
            tc_proto_hash_list(a->cops, a->rb_stored, c->stored_len, a->seg, a->rb_list);
        else
            alog(a, TC_PROTO_LOG_WARN,
                 "chunk %u read back from the target does not reproduce the manifest's hashes: "
                 "not served (children fall back to the seeder)",
                 j);
    }
    if (a->rb_ok)
        readback_cache(a, j);
    for (i = 0, k = 0; i < a->rbq_n; i++) {
        if (a->rbq[i].req.index == j)
            serve_rb(a, &a->rbq[i]);
        else
            a->rbq[k++] = a->rbq[i];
    }
    a->rbq_n = k;
    streams_wake(a, now);
    rb_next(a);
    return a->state == TC_AGENT_FAILED ? a->err.rc : 0;
}

/** The earliest time anything is due, or TC_PROTO_NEVER. */
uint64_t tc_agent_next_deadline(const struct tc_agent *a)
{
    uint64_t t = TC_PROTO_NEVER;
    uint32_t i;

    switch (a->state) {
    case TC_AGENT_FAILED:
    case TC_AGENT_RELEASED:
        return TC_PROTO_NEVER;
    case TC_AGENT_JOINING:
        return a->join_at < a->last_seeder_ns + a->cfg.limits.seeder_timeout_ns + 1
                   ? a->join_at
                   : a->last_seeder_ns + a->cfg.limits.seeder_timeout_ns + 1;
    default:
        break;
    }
#define AT(x)                                                                                      \
    do {                                                                                           \
        if ((x) < t)                                                                               \
            t = (x);                                                                               \
    } while (0)
    AT(a->hb_at);
    AT(a->report_at);
    if (a->rejoining)
        AT(a->rejoin_at);
    if (a->state < TC_AGENT_LINGER)
        AT(a->last_seeder_ns + a->cfg.limits.seeder_timeout_ns + 1);
    for (i = 0; i < TC_AGENT_STREAMS_MAX; i++)
        if (a->streams[i].node != UINT32_MAX)
            AT(tc_stream_tx_deadline(&a->streams[i].tx));
    for (i = 0; i < 3 && a->state == TC_AGENT_MANIFEST; i++)
        if (!a->mobj[i].ok)
            AT(a->munit[i].req_at);
    if (a->m) {
        for (i = 0; i < a->cfg.cache_slots; i++)
            if (a->slots[i].state == SL_RECV)
                AT(a->slots[i].u.req_at);
    }
    /* the idle repair and the idle fetch, unless already idle (then slots
     * freeing drive it) */
    if ((a->state == TC_AGENT_MANIFEST || a->state == TC_AGENT_RECEIVING) &&
        a->last_mcast_ns + idle_ns(a) > a->now_ns)
        AT(a->last_mcast_ns + idle_ns(a));
    if (a->state == TC_AGENT_RECEIVING && a->last_mcast_ns + fetch_idle_ns(a) > a->now_ns)
        AT(a->last_mcast_ns + fetch_idle_ns(a));
    if (a->state == TC_AGENT_DONE)
        AT(a->done_at);
    if (a->state == TC_AGENT_LINGER)
        AT(a->linger_end);
#undef AT
    return t;
}

/** The current state. */
enum tc_agent_state tc_agent_state(const struct tc_agent *a)
{
    return a->state;
}

/** Why the agent FAILED (rc 0 and "" otherwise). */
const struct tc_err *tc_agent_error(const struct tc_agent *a)
{
    return &a->err;
}

/** The counters. */
const struct tc_agent_stats *tc_agent_stats(const struct tc_agent *a)
{
    return &a->st;
}

/** A state's name for logs and status ("receiving"). */
const char *tc_agent_state_name(enum tc_agent_state st)
{
    switch (st) {
    case TC_AGENT_JOINING:
        return "joining";
    case TC_AGENT_MANIFEST:
        return "manifest";
    case TC_AGENT_RECEIVING:
        return "receiving";
    case TC_AGENT_FINISHING:
        return "finishing";
    case TC_AGENT_DONE:
        return "done";
    case TC_AGENT_LINGER:
        return "linger";
    case TC_AGENT_RELEASED:
        return "released";
    case TC_AGENT_FAILED:
        return "failed";
    }
    return "?";
}
