// SPDX-License-Identifier: MIT
/*
 * The seeder's protocol core (docs/protocol.md sections 6.1, 6.2, 6.4-6.6):
 * admission, address proof, the repair tree (lib/tree.c) and its REPARENT /
 * CHILDREN messages, paced multicast rounds over the objects some node still
 * needs, repair of REPAIR_REQs with re-multicast of correlated losses,
 * REPORT aggregation, DONE / DONE_ACK / RELEASE.
 *
 * Sans I/O: events come in through tc_seeder_on_packet() / on_timer(), work
 * goes out through the ops table. Every buffer is allocated in
 * tc_seeder_new(); the per-packet paths do not allocate.
 *
 * Needs: each node has a row of bits over the chunks (nodes_max x
 * chunk_count bits). At JOIN the row is filled with the non-ZERO chunks the
 * node did not list as held (so the JOIN's runs are remembered without
 * storing them); when the node is proven the row's bits are added to the
 * per-chunk counts of nodes that need the chunk and are not covered yet.
 * Starting to send an object covers every ACTIVE node that needs it (its bit
 * is cleared and the count drops to 0); what a covered node then misses it
 * repairs from its parent.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/crypto.h"
#include "treecast/seeder.h"
#include "treecast/seedstate.h"
#include "treecast/stream.h"
#include "treecast/tree.h"
#include "treecast/wire.h"

/** Nanoseconds per second and per millisecond. */
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
/** Pacing bucket units per byte: bit-nanoseconds, so that a refill of
 * dt_ns x rate_bps units is exact in integers (no drift over a session). */
#define PACE_UNITS_PER_BYTE (8 * (int64_t)NS_PER_S)
/** Admission bucket units per JOIN: JOIN-nanoseconds (refill dt_ns x admit_per_s). */
#define ADMIT_UNITS_PER_JOIN ((int64_t)NS_PER_S)
/** Bytes of a DATA datagram besides its payload (header + DATA header). */
#define DATA_HDR_BYTES (TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN)
/** Lowest pacing balance, bytes x PACE_UNITS_PER_BYTE: repairs charged past it
 * are forgotten (keeps the arithmetic far from overflow). */
#define PACE_FLOOR_UNITS (-((int64_t)1 << 60))
/** Round positions: the three manifest objects, then two per chunk. */
#define POS_MHASH 0u
#define POS_SIG 1u
#define POS_MAN 2u
#define POS_CHUNKS 3u
/** Draws of ops->random for a fresh token before giving up on uniqueness, draws. */
#define TOKEN_TRIES_MAX 16
/** DONE nodes examined for release in one operation, at most (more are
 * found at their next HEARTBEAT), nodes. */
#define RELEASE_STACK_MAX 256u
/** Re-multicast pieces of one object in one gather flush, at most (the rest
 * goes unicast), ranges. */
#define REMCAST_PIECES_MAX 128u
/** Node table flags for the change-log pass. */
#define DIRTY_REPARENT 1u
#define DIRTY_CHILDREN 2u
/** Nodes one change-log pass can flag: each change names a node and two parents, nodes. */
#define DIRTY_MAX (3u * TC_TREE_CHANGES_MAX)
/** Children of one parent, normal and slow (catch-up cap <= fan-out), at most. */
#define KIDS_MAX (2u * TC_TREE_FANOUT_MAX)
/** Hash table slot meaning "empty" (slots hold node index + 1). */
#define HT_EMPTY 0u
/** Multiplier of the Fibonacci hash used by both hash tables. */
#define HASH_MUL 0x9e3779b97f4a7c15ull

/** One node of the table. */
struct node {
    uint8_t state;             /**< enum tc_seeder_node_state */
    uint8_t mac[6];            /**< node_id of its JOIN */
    uint8_t dirty;             /**< DIRTY_* during a change-log pass */
    uint8_t need_man;          /**< needs the manifest objects, not yet covered */
    uint8_t hb_seen;           /**< hb_seq is valid */
    uint8_t log_seen;          /**< log_seq is valid */
    struct tc_proto_peer addr; /**< registered (JOIN source) address */
    uint64_t token;            /**< its token, non-zero; in the token table */
    uint32_t parent;           /**< last parent told (node index or TC_WIRE_INDEX_SEEDER) */
    uint32_t depth;            /**< last depth told */
    uint32_t chunks_done;      /**< from its last HEARTBEAT */
    uint32_t hb_seq;           /**< last HEARTBEAT seq accepted */
    uint32_t hb_count;         /**< HEARTBEATs accepted while in the tree */
    uint32_t tree_resend;      /**< HEARTBEATs still answered with the tree messages */
    uint32_t log_seq;          /**< last LOG seq accepted */
    uint64_t joined_ns;        /**< first WELCOME */
    uint64_t done_ns;          /**< DONE received, 0 if not */
    uint64_t release_ns;       /**< last RELEASE sent */
    uint16_t release_reason;   /**< enum tc_wire_release of the RELEASE */
    uint64_t last_heard_ns;    /**< last authenticated message from it */
    uint64_t reparent_ns;      /**< last REPARENT_REQ acted on */
    uint64_t epoch_ns;         /**< last EPOCH sent to it (old-epoch messages) */
    uint32_t done_snap;        /**< DONE recorded: acknowledged once this state is durable */
    uint8_t slow;              /**< a straggler: catching-up leaf */
    uint8_t dead_from;         /**< DEAD: the state it had (ACTIVE or DONE) */
    uint8_t rejoin;            /**< restored from the state: its re-JOIN sets its needs
                                    (TC_SEEDSTATE_ACTIVE or _DONE; 0 = not restored) */
    uint8_t done_acked;        /**< DONE_ACK sent (after its state became durable) */
    uint32_t covered;          /**< chunks multicast to it since it was proven (covered) */
    uint32_t done_at_proof;    /**< its chunks_done when proven (first HEARTBEAT) */
    uint64_t unicast_bytes;    /**< DATA payload bytes unicast to it (repairs, streams) */
    uint8_t loss_seen;         /**< loss_bucket is valid (a REPORT from it arrived) */
    uint8_t loss_bucket;       /**< highest non-empty loss_hist bucket of its last REPORT */
    uint8_t err_level;         /**< level of the line in the node's err_text slot */
};

/** A stream to one of the seeder's own children (tree-only, or a straggler). */
struct sstream {
    uint32_t node;          /**< node index, UINT32_MAX = unused */
    struct tc_seeder *s;    /**< back pointer for the ops */
    struct tc_stream_tx tx; /**< the sender */
};

/** A gathered repair request (clipped and segment-aligned ranges). */
struct gather_req {
    uint32_t node;                              /**< asker */
    uint8_t direct;                             /**< asker was a direct child */
    uint8_t object;                             /**< enum tc_wire_obj */
    uint32_t index;                             /**< chunk index or 0 */
    uint16_t nranges;                           /**< ranges used */
    struct tc_wire_range r[TC_WIRE_RANGES_MAX]; /**< sorted, disjoint */
};

/** A sweep event of the re-multicast count: +1 at a range start, -1 at its end. */
struct sweep_ev {
    uint32_t off;  /**< byte offset */
    int32_t delta; /**< +1 or -1 */
};

/** A recent re-multicast, for suppression. */
struct remcast {
    uint8_t object;   /**< enum tc_wire_obj (0 = unused) */
    uint32_t index;   /**< chunk index or 0 */
    uint32_t off;     /**< first byte */
    uint32_t end;     /**< end byte (exclusive) */
    uint64_t sent_ns; /**< when it was multicast */
};

/** A direct child's latest REPORT. */
struct child_report {
    uint32_t node;           /**< node index, UINT32_MAX = unused */
    uint64_t rx_ns;          /**< when it arrived */
    struct tc_wire_report r; /**< the report (seq is the latest accepted) */
};

/** An object resolved for sending: kind, length and bytes. */
struct objref {
    uint8_t object;       /**< enum tc_wire_obj */
    uint32_t index;       /**< chunk index or 0 */
    uint32_t len;         /**< bytes */
    const uint8_t *bytes; /**< len bytes, NULL when dataless */
};

struct tc_seeder {
    struct tc_seeder_cfg cfg;            /**< copy of the configuration */
    const struct tc_seeder_ops *ops;     /**< environment */
    void *ctx;                           /**< its context */
    const struct tc_manifest *m;         /**< the image (shared) */
    const struct tc_chunk_ops *cops;     /**< segment hashing */
    uint64_t session_id;                 /**< random, non-zero */
    uint32_t epoch;                      /**< 1 (restarts: issue 4) */
    uint32_t seg_size;                   /**< integrity segment, bytes */
    uint32_t block_len;                  /**< full block, bytes (whole segments) */
    uint8_t digest_man[TC_SHA256_LEN];   /**< WELCOME.manifest_digest */
    uint8_t digest_mhash[TC_SHA256_LEN]; /**< WELCOME.manifest_hashes_digest */
    uint8_t digest_sig[TC_SHA256_LEN];   /**< WELCOME.sigblock_digest */
    uint8_t *mhash;                      /**< manifest hash list (NULL when dataless) */
    uint32_t mhash_len;                  /**< its length, bytes */
    uint8_t *chash;                      /**< chunk hash lists, concatenated (NULL dataless) */
    uint64_t *chash_off;                 /**< chunk -> offset of its list in chash */
    uint64_t *chash_ok;                  /**< bitmap: list computed and checked */
    struct tc_tree *tree;                /**< the repair tree */
    struct node *nodes;                  /**< nodes_max entries */
    uint32_t nnodes;                     /**< entries used (indices 0..nnodes-1) */
    uint32_t *mac_ht;                    /**< MAC -> node + 1, linear probing */
    uint32_t *tok_ht;                    /**< token -> node + 1, linear probing */
    uint32_t ht_mask;                    /**< both tables: size - 1 (a power of two) */
    uint64_t hash_key;                   /**< random key of the MAC hash */
    uint64_t *needs;                     /**< nodes_max rows of row_words words */
    uint32_t row_words;                  /**< 64-bit words per row */
    uint32_t *need_count;                /**< chunk -> ACTIVE nodes needing it, not covered */
    uint64_t need_chunks;                /**< sum of need_count */
    uint32_t need_man;                   /**< ACTIVE nodes needing the manifest, not covered */
    uint64_t *forced;                    /**< bitmap: chunk put back into the round by reports */
    uint32_t nforced;                    /**< bits set in forced */
    int forced_man;                      /**< manifest put back into the round */
    uint64_t *last_sent;                 /**< chunk -> end of its last send, ns (0 never) */
    uint64_t last_sent_man;              /**< the manifest objects' last send, ns */
    uint32_t nactive;                    /**< nodes ACTIVE */
    uint32_t ndone;                      /**< nodes DONE (not released) */
    uint32_t nreleased;                  /**< nodes RELEASED */
    int started;                         /**< the first round has been allowed to start */
    uint64_t first_proof_ns;             /**< first address proof, 0 none yet */
    int in_round;                        /**< a round is being sent */
    uint32_t pos;                        /**< current round position (POS_*) */
    struct objref cur;                   /**< object being sent */
    uint32_t off;                        /**< next byte of cur to send */
    int man_round;                       /**< the manifest objects are in this round */
    int64_t pace;                        /**< pacing balance, PACE units */
    int64_t pace_max;                    /**< bucket depth, PACE units */
    int64_t pace_wake;                   /**< wake when this much is affordable, PACE units */
    uint64_t pace_ns;                    /**< time of the last refill */
    uint64_t hold_until;                 /**< no round block before this time */
    int64_t repair;                      /**< repair budget balance, PACE units */
    int64_t repair_max;                  /**< its depth, PACE units */
    uint64_t repair_rate_bps;            /**< its refill: rate_bps x REPAIR_SHARE_PERMILLE */
    int64_t admit;                       /**< admission balance, ADMIT units */
    int64_t admit_max;                   /**< bucket depth, ADMIT units */
    uint64_t admit_ns;                   /**< time of the last refill */
    uint32_t generation;                 /**< tree generation of REPARENT / CHILDREN */
    uint32_t hb_seq;                     /**< our HEARTBEAT seq */
    struct tc_proto_dgram batch[TC_SEEDER_BATCH_MAX]; /**< pending datagrams */
    uint8_t *bufs;                                    /**< TC_SEEDER_BATCH_MAX x buf_cap bytes */
    size_t buf_cap;                                   /**< bytes per datagram buffer */
    uint32_t nbatch;                                  /**< pending datagrams in batch */
    uint32_t *dirty;                                  /**< nodes flagged during a change-log pass */
    uint32_t ndirty;                                  /**< entries of dirty */
    uint32_t rel_stack[RELEASE_STACK_MAX];            /**< DONE nodes to examine for release */
    uint32_t nrel;                                    /**< entries of rel_stack */
    struct gather_req *gq;                            /**< gathered repair requests */
    uint32_t ngq;                                     /**< entries used */
    uint32_t gq_max;                                  /**< capacity */
    uint64_t gather_deadline;                         /**< flush time, TC_PROTO_NEVER if empty */
    struct sweep_ev *ev;                              /**< gq_max x TC_WIRE_RANGES_MAX x 2 events */
    struct remcast rcast[TC_SEEDER_REMCAST_MAX];      /**< recent re-multicasts (ring) */
    uint32_t rcast_next;                              /**< next ring slot */
    struct child_report *rep; /**< TC_TREE_FANOUT_MAX latest child reports */
    uint64_t rep_interval;    /**< current report interval number */
    uint64_t rep_count;       /**< REPORTs accepted in it */
    struct sstream *streams;  /**< nstreams_max stream slots */
    int streaming;            /**< send_range() runs for a stream (own pacing, no repair budget) */
    uint32_t nstreams_max;    /**< root fan-out + catch-up cap */
    uint64_t rate_at;         /**< next rate decision (rate_auto) */
    uint64_t congested_until; /**< rate cut for loss: BEHIND requests are congestion */
    uint64_t dead_scan_at;    /**< next scan for silent nodes */
    uint8_t *state_buf;       /**< persisted state encoding (NULL without ops->persist) */
    size_t state_cap;         /**< its size */
    struct tc_seedstate_node *state_nodes; /**< records being encoded or decoded */
    uint32_t snap_next;                    /**< serial of the next state snapshot */
    uint32_t snap_durable;                 /**< highest serial known durable */
    uint32_t snap_inflight;                /**< serial being persisted, 0 = none */
    int state_dirty;                       /**< the table changed since the last snapshot */
    int epoch_pending;                     /**< restored: EPOCH to send at the next timer */
    uint64_t restored_ns;                  /**< restored at this time (0: a new session) */
    uint32_t restored_active;              /**< nodes restored as receiving (ACTIVE) */
    uint64_t now_ns;                       /**< time of the current entry point call */
    int fatal;                             /**< 0, or the error that stopped the seeder */
    int addr_warned;                       /**< the unencodable-address warning was logged */
    char *err_text;                        /**< nodes_max x TC_SEEDER_NODE_ERROR_MAX: each
                                                node's last LOG line at TC_PROTO_LOG_WARN
                                                or worse, escaped, NUL-terminated */
    struct tc_seeder_stats st;             /**< counters */
};

/** A zero-filled payload for dataless DATA datagrams. */
static const uint8_t zero_payload[TC_WIRE_DATA_PAYLOAD_MAX];

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/** Log a formatted line through ops->log (if any). */
static void slog(struct tc_seeder *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(struct tc_seeder *s, int level, const char *fmt, ...)
{
    char line[TC_ERR_MSG_MAX + 4 * TC_WIRE_LOG_TEXT_MAX];
    va_list ap;

    if (!s->ops->log)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->ops->log(s->ctx, level, line);
}

/** True if bit i of bitmap b is set. */
static int bit_get(const uint64_t *b, uint64_t i)
{
    return (int)(b[i / 64] >> (i % 64) & 1u);
}

/** Set bit i of b. */
static void bit_set(uint64_t *b, uint64_t i)
{
    b[i / 64] |= 1ull << (i % 64);
}

/** Clear bit i of b. */
static void bit_clr(uint64_t *b, uint64_t i)
{
    b[i / 64] &= ~(1ull << (i % 64));
}

/** Node n's needs row. */
static uint64_t *row(struct tc_seeder *s, uint32_t n)
{
    return s->needs + (size_t)n * s->row_words;
}

/** True if the node has proven its address and is in the tree. */
static int in_tree(const struct node *nd)
{
    return nd->state == TC_SEEDER_NODE_ACTIVE || nd->state == TC_SEEDER_NODE_DONE;
}

/** True if peers a and b are the same endpoint. */
static int peer_eq(struct tc_proto_peer a, struct tc_proto_peer b)
{
    return a.addr == b.addr && a.port == b.port;
}

/** Home slot of a 64-bit key in the hash tables. */
static uint32_t ht_home(const struct tc_seeder *s, uint64_t key)
{
    return (uint32_t)(((key ^ s->hash_key) * HASH_MUL) >> 32) & s->ht_mask;
}

/** A MAC as a 48-bit key. */
static uint64_t mac_key(const uint8_t mac[6])
{
    uint64_t k = 0;
    int i;

    for (i = 0; i < 6; i++)
        k = k << 8 | mac[i];
    return k;
}

/** The node with this MAC, or UINT32_MAX. */
static uint32_t mac_find(const struct tc_seeder *s, const uint8_t mac[6])
{
    uint32_t h = ht_home(s, mac_key(mac)), v;

    while ((v = s->mac_ht[h]) != HT_EMPTY) {
        if (memcmp(s->nodes[v - 1].mac, mac, 6) == 0)
            return v - 1;
        h = (h + 1) & s->ht_mask;
    }
    return UINT32_MAX;
}

/** Insert node n under its MAC (not present yet; nodes are never removed). */
static void mac_insert(struct tc_seeder *s, uint32_t n)
{
    uint32_t h = ht_home(s, mac_key(s->nodes[n].mac));

    while (s->mac_ht[h] != HT_EMPTY)
        h = (h + 1) & s->ht_mask;
    s->mac_ht[h] = n + 1;
}

/** The node holding token tok, or UINT32_MAX. */
static uint32_t tok_find(const struct tc_seeder *s, uint64_t tok)
{
    uint32_t h = ht_home(s, tok), v;

    if (tok == 0)
        return UINT32_MAX;
    while ((v = s->tok_ht[h]) != HT_EMPTY) {
        if (s->nodes[v - 1].token == tok)
            return v - 1;
        h = (h + 1) & s->ht_mask;
    }
    return UINT32_MAX;
}

/** Insert node n under its token. */
static void tok_insert(struct tc_seeder *s, uint32_t n)
{
    uint32_t h = ht_home(s, s->nodes[n].token);

    while (s->tok_ht[h] != HT_EMPTY)
        h = (h + 1) & s->ht_mask;
    s->tok_ht[h] = n + 1;
}

/** Remove node n's token (backward-shift deletion keeps probe chains intact). */
static void tok_remove(struct tc_seeder *s, uint32_t n)
{
    uint32_t i = ht_home(s, s->nodes[n].token), j, k;

    while (s->tok_ht[i] != n + 1) {
        assert(s->tok_ht[i] != HT_EMPTY);
        i = (i + 1) & s->ht_mask;
    }
    j = i;
    for (;;) {
        j = (j + 1) & s->ht_mask;
        if (s->tok_ht[j] == HT_EMPTY)
            break;
        k = ht_home(s, s->nodes[s->tok_ht[j] - 1].token);
        /* move j back to i unless its home lies cyclically in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            s->tok_ht[i] = s->tok_ht[j];
            i = j;
        }
    }
    s->tok_ht[i] = HT_EMPTY;
}

/** A fresh non-zero token not held by any node. */
static uint64_t new_token(struct tc_seeder *s)
{
    uint64_t t = 0;
    int i;

    for (i = 0; i < TOKEN_TRIES_MAX; i++) {
        t = s->ops->random(s->ctx);
        if (t != 0 && tok_find(s, t) == UINT32_MAX)
            return t;
    }
    /* a broken random source: make one unique by construction */
    do
        t = (t + HASH_MUL) | 1u;
    while (tok_find(s, t) != UINT32_MAX);
    return t;
}

/* ------------------------------------------------------------------ */
/* Output: the datagram batch                                          */

/** Hand the pending datagrams to ops->send. */
static void flush(struct tc_seeder *s)
{
    int rc;

    if (s->nbatch == 0)
        return;
    rc = s->ops->send(s->ctx, s->batch, s->nbatch);
    if (rc < 0)
        s->st.tx_errors += s->nbatch;
    else if ((uint32_t)rc < s->nbatch)
        s->st.tx_errors += s->nbatch - (uint32_t)rc;
    s->st.tx_dgrams += s->nbatch;
    s->nbatch = 0;
}

/** The buffer of the next datagram of the batch (flushing a full batch). */
static uint8_t *next_buf(struct tc_seeder *s)
{
    if (s->nbatch == TC_SEEDER_BATCH_MAX)
        flush(s);
    return s->bufs + (size_t)s->nbatch * s->buf_cap;
}

/** Encode msg into the next buffer and queue it for `to`. 0 or the encoder's error. */
static int queue_msg(struct tc_seeder *s, const struct tc_wire_msg *msg, struct tc_proto_peer to)
{
    uint8_t *buf = next_buf(s);
    int n = tc_wire_encode(msg, buf, s->buf_cap);

    if (n < 0) {
        s->st.tx_errors++;
        return n;
    }
    s->batch[s->nbatch].to = to;
    s->batch[s->nbatch].buf = buf;
    s->batch[s->nbatch].len = (size_t)n;
    s->nbatch++;
    return 0;
}

/** The common header of a message we send: our session and epoch, the recipient's token. */
static void hdr_init(const struct tc_seeder *s, struct tc_wire_msg *msg, uint8_t type,
                     uint64_t token)
{
    memset(&msg->hdr, 0, sizeof(msg->hdr));
    msg->hdr.type = type;
    msg->hdr.session_id = s->session_id;
    msg->hdr.epoch = s->epoch;
    msg->hdr.token = token;
}

/* ------------------------------------------------------------------ */
/* Pacing                                                              */

/** Add the tokens earned since the last refill (capped at the depth). */
static void pace_refill(struct tc_seeder *s, uint64_t now)
{
    uint64_t dt, cap_dt;

    if (now <= s->pace_ns)
        return;
    dt = now - s->pace_ns;
    s->pace_ns = now;
    if (s->repair < s->repair_max) {
        uint64_t rdt = dt;

        cap_dt = (uint64_t)(s->repair_max - s->repair) / s->repair_rate_bps + 1;
        if (rdt > cap_dt)
            rdt = cap_dt;
        s->repair += (int64_t)(rdt * s->repair_rate_bps);
        if (s->repair > s->repair_max)
            s->repair = s->repair_max;
    }
    if (s->pace >= s->pace_max)
        return;
    cap_dt = (uint64_t)(s->pace_max - s->pace) / s->cfg.rate_bps + 1;
    if (dt > cap_dt)
        dt = cap_dt;
    s->pace += (int64_t)(dt * s->cfg.rate_bps);
    if (s->pace > s->pace_max)
        s->pace = s->pace_max;
}

/** Charge bytes of wire cost (may go negative: repairs are never held back). */
static void pace_charge(struct tc_seeder *s, uint64_t bytes)
{
    s->pace -= (int64_t)bytes * PACE_UNITS_PER_BYTE;
    if (s->pace < PACE_FLOOR_UNITS)
        s->pace = PACE_FLOOR_UNITS;
}

/** Wire cost of one DATA block of len payload bytes. */
static uint64_t block_cost(uint32_t len)
{
    return (uint64_t)DATA_HDR_BYTES + len + TC_PROTO_WIRE_OVERHEAD;
}

/** Add admission tokens earned since the last refill. */
static void admit_refill(struct tc_seeder *s, uint64_t now)
{
    uint64_t dt, cap_dt;

    if (now <= s->admit_ns)
        return;
    dt = now - s->admit_ns;
    s->admit_ns = now;
    if (s->admit >= s->admit_max)
        return;
    cap_dt = (uint64_t)(s->admit_max - s->admit) / s->cfg.limits.admit_per_s + 1;
    if (dt > cap_dt)
        dt = cap_dt;
    s->admit += (int64_t)(dt * s->cfg.limits.admit_per_s);
    if (s->admit > s->admit_max)
        s->admit = s->admit_max;
}

/* ------------------------------------------------------------------ */
/* Objects                                                             */

/**
 * Compute chunk i's segment hash list on first use and check it against the
 * manifest's block-hash section. 0, or -EILSEQ (a broken image: the seeder
 * stops, logged).
 */
static int chunk_list(struct tc_seeder *s, uint32_t i)
{
    const struct tc_manifest_chunk *c = &s->m->chunks[i];
    uint8_t *out = s->chash + s->chash_off[i];
    uint64_t len = s->chash_off[i + 1] - s->chash_off[i];
    const uint8_t *bytes;
    struct tc_err e = {0};
    int rc;

    if (bit_get(s->chash_ok, i))
        return 0;
    bytes = s->ops->chunk_bytes(s->ctx, i);
    if (!bytes) {
        s->fatal = -EIO;
        slog(s, TC_PROTO_LOG_ERR, "seeder: image %s: chunk %u: no stored bytes (chunk_bytes)",
             s->m->name, i);
        return s->fatal;
    }
    tc_proto_hash_list(s->cops, bytes, c->stored_len, s->seg_size, out);
    rc = tc_manifest_check_list(s->m, i, out, (size_t)len, &e);
    if (rc != 0) {
        s->fatal = rc;
        slog(s, TC_PROTO_LOG_ERR, "seeder: image %s is broken, stopping: %s", s->m->name, e.msg);
        return rc;
    }
    bit_set(s->chash_ok, i);
    return 0;
}

/**
 * Resolve (object, index) of this image: length and bytes (hash lists are
 * computed on first use). 0; -ENOENT for an object the image does not have
 * (a ZERO chunk, an index out of range); a fatal error from chunk_list().
 */
static int obj_get(struct tc_seeder *s, uint8_t object, uint32_t index, struct objref *o)
{
    int dl = s->cfg.dataless, rc;

    o->object = object;
    o->index = index;
    o->bytes = NULL;
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        o->len = s->mhash_len;
        o->bytes = s->mhash;
        return index == 0 ? 0 : -ENOENT;
    case TC_WIRE_OBJ_SIGBLOCK:
        o->len = (uint32_t)s->cfg.sigblock_len;
        o->bytes = dl ? NULL : s->cfg.sigblock;
        return index == 0 ? 0 : -ENOENT;
    case TC_WIRE_OBJ_MANIFEST:
        o->len = (uint32_t)s->m->len;
        o->bytes = dl ? NULL : s->m->bytes;
        return index == 0 ? 0 : -ENOENT;
    case TC_WIRE_OBJ_CHUNK:
    case TC_WIRE_OBJ_CHUNK_HASHES:
        if (index >= s->m->chunk_count || s->m->chunks[index].stored_len == 0)
            return -ENOENT;
        if (object == TC_WIRE_OBJ_CHUNK) {
            o->len = s->m->chunks[index].stored_len;
            if (!dl) {
                o->bytes = s->ops->chunk_bytes(s->ctx, index);
                if (!o->bytes)
                    return -ENOENT;
            }
            return 0;
        }
        o->len = tc_proto_nsegs(s->m->chunks[index].stored_len, s->seg_size) * TC_WIRE_SEG_HASH_LEN;
        if (dl)
            return 0;
        rc = chunk_list(s, index);
        if (rc != 0)
            return rc;
        o->bytes = s->chash + s->chash_off[index];
        return 0;
    default:
        return -ENOENT;
    }
}

/**
 * Send the blocks of o covering [off, end) to `to` (multicast: token 0,
 * else unicast with the node's token), charging each to the pacing bucket.
 * off is segment-aligned; end is a segment boundary or o->len. Uses
 * send_blocks when set (runs of at most TC_PROTO_TRAIN_BLOCKS_MAX blocks),
 * else encoded DATA datagrams. Returns the blocks sent.
 */
static uint64_t send_range(struct tc_seeder *s, const struct objref *o, uint32_t off, uint32_t end,
                           struct tc_proto_peer to, uint64_t token)
{
    uint64_t blocks = 0;

    while (off < end) {
        uint32_t nb = 0, total = 0, p = off, len;

        while (p < end && nb < TC_PROTO_TRAIN_BLOCKS_MAX) {
            len = end - p < s->block_len ? end - p : s->block_len;
            if (token != 0 && !s->streaming) {
                /* Unicast repair has its own budget, a share of the rate,
                 * so that rounds always progress; what does not fit is
                 * left to the node's retry. */
                if (s->repair < (int64_t)block_cost(len) * PACE_UNITS_PER_BYTE) {
                    s->st.repair_capped_blocks += tc_proto_nsegs(end - p, s->block_len);
                    end = p;
                    break;
                }
                s->repair -= (int64_t)block_cost(len) * PACE_UNITS_PER_BYTE;
            }
            pace_charge(s, block_cost(len));
            p += len;
            total += len;
            nb++;
        }
        if (s->ops->send_blocks) {
            struct tc_proto_blocks b;
            int rc;

            flush(s);
            memset(&b, 0, sizeof(b));
            b.peer = to;
            b.session_id = s->session_id;
            b.epoch = s->epoch;
            b.token = token;
            b.unicast = token != 0;
            b.object = o->object;
            b.index = o->index;
            b.offset = off;
            b.block_len = s->block_len;
            b.nblocks = nb;
            b.total_len = total;
            b.payload = o->bytes ? o->bytes + off : NULL;
            rc = s->ops->send_blocks(s->ctx, &b);
            s->st.tx_dgrams += nb;
            if (rc < 0)
                s->st.tx_errors += nb;
        } else {
            struct tc_wire_msg msg;

            for (p = off; p < off + total; p += len) {
                len = off + total - p < s->block_len ? off + total - p : s->block_len;
                hdr_init(s, &msg, TC_WIRE_DATA, token);
                msg.hdr.flags = token != 0 ? TC_WIRE_DATA_F_UNICAST : 0;
                msg.u.data.object = o->object;
                msg.u.data.index = o->index;
                msg.u.data.offset = p;
                msg.u.data.len = (uint16_t)len;
                msg.u.data.payload = o->bytes ? o->bytes + p : zero_payload;
                queue_msg(s, &msg, to);
            }
        }
        blocks += nb;
        if (token != 0) {
            uint32_t to_node = tok_find(s, token);

            if (to_node != UINT32_MAX)
                s->nodes[to_node].unicast_bytes += total;
            s->st.repair_blocks += nb;
            s->st.repair_bytes += total;
        } else {
            s->st.mcast_blocks += nb;
            s->st.mcast_bytes += total;
        }
        off += total;
    }
    return blocks;
}

/* ------------------------------------------------------------------ */
/* Needs and rounds                                                    */

/** Count node n's needs (its row and the manifest) as uncovered: it was just proven. */
static void needs_add(struct tc_seeder *s, uint32_t n)
{
    uint64_t *r = row(s, n), w;
    uint32_t k, b;

    for (k = 0; k < s->row_words; k++) {
        for (w = r[k]; w; w &= w - 1) {
            b = k * 64u + (uint32_t)__builtin_ctzll(w);
            s->need_count[b]++;
            s->need_chunks++;
        }
    }
    s->nodes[n].need_man = 1;
    s->need_man++;
}

/** Drop ACTIVE node n's uncovered needs (DONE, restart). */
static void needs_drop(struct tc_seeder *s, uint32_t n)
{
    uint64_t *r = row(s, n), w;
    uint32_t k, b;

    for (k = 0; k < s->row_words; k++) {
        for (w = r[k]; w; w &= w - 1) {
            b = k * 64u + (uint32_t)__builtin_ctzll(w);
            assert(s->need_count[b] > 0);
            s->need_count[b]--;
            s->need_chunks--;
        }
        r[k] = 0;
    }
    if (s->nodes[n].need_man) {
        s->nodes[n].need_man = 0;
        s->need_man--;
    }
}

/** Fill node n's row from its JOIN: every non-ZERO chunk not in a held run. */
static void needs_init_row(struct tc_seeder *s, uint32_t n, const struct tc_wire_join *j)
{
    uint64_t *r = row(s, n);
    uint32_t i, k, end, cc = s->m->chunk_count;

    memset(r, 0, (size_t)s->row_words * sizeof(uint64_t));
    for (i = 0; i < cc; i++)
        if (s->m->chunks[i].stored_len > 0)
            bit_set(r, i);
    for (k = 0; k < j->nruns; k++) {
        if (j->runs[k].first >= cc)
            break;
        end = j->runs[k].count > cc - j->runs[k].first ? cc : j->runs[k].first + j->runs[k].count;
        for (i = j->runs[k].first; i < end; i++)
            bit_clr(r, i);
    }
}

/** Cover every ACTIVE node needing chunk i: they repair what they then miss. */
static void cover_chunk(struct tc_seeder *s, uint32_t i)
{
    uint32_t n;

    if (s->need_count[i] > 0) {
        for (n = 0; n < s->nnodes; n++) {
            if (s->nodes[n].state == TC_SEEDER_NODE_ACTIVE && bit_get(row(s, n), i)) {
                bit_clr(row(s, n), i);
                s->nodes[n].covered++;
            }
        }
        s->need_chunks -= s->need_count[i];
        s->need_count[i] = 0;
    }
    if (bit_get(s->forced, i)) {
        bit_clr(s->forced, i);
        s->nforced--;
    }
}

/** Cover every ACTIVE node needing the manifest objects. */
static void cover_manifest(struct tc_seeder *s)
{
    uint32_t n;

    if (s->need_man > 0)
        for (n = 0; n < s->nnodes; n++)
            if (s->nodes[n].state == TC_SEEDER_NODE_ACTIVE)
                s->nodes[n].need_man = 0;
    s->need_man = 0;
    s->forced_man = 0;
}

/**
 * Node n was just proven during a round: if no block of the current object
 * has left yet, it is covered for it like the nodes counted when the object
 * was started (else the next round brings it).
 */
static void cover_late(struct tc_seeder *s, uint32_t n)
{
    struct node *nd = &s->nodes[n];
    uint32_t i = s->cur.index;

    if (!s->in_round || s->off != 0)
        return;
    if (s->pos == POS_MHASH && nd->need_man) {
        nd->need_man = 0;
        s->need_man--;
    } else if (s->cur.object == TC_WIRE_OBJ_CHUNK_HASHES && bit_get(row(s, n), i)) {
        bit_clr(row(s, n), i);
        nd->covered++;
        s->need_count[i]--;
        s->need_chunks--;
    }
}

/** True if a round would have something to send. */
static int round_wanted(const struct tc_seeder *s)
{
    return s->need_chunks > 0 || s->need_man > 0 || s->nforced > 0 || s->forced_man;
}

/** Point the cursor at (object, index) from its first byte. 0 or a fatal error. */
static int cursor_set(struct tc_seeder *s, uint32_t pos, uint8_t object, uint32_t index)
{
    int rc = obj_get(s, object, index, &s->cur);

    s->pos = pos;
    s->off = 0;
    if (rc == -ENOENT) {
        /* no stored bytes for a chunk the manifest lists: nothing to send */
        s->cur.len = 0;
        return 0;
    }
    return rc;
}

/**
 * Move the cursor to the first object at or after position pos that the
 * round sends, covering its nodes; past the last chunk the round ends and,
 * if a node still needs something, the next one starts. 0 or a fatal error.
 */
static int round_seek(struct tc_seeder *s, uint32_t pos)
{
    uint32_t i, cc = s->m->chunk_count;
    int restarted = 0;

    for (;;) {
        if (pos == POS_MHASH) {
            if (s->need_man > 0 || s->forced_man) {
                cover_manifest(s);
                s->man_round = 1;
                return cursor_set(s, POS_MHASH, TC_WIRE_OBJ_MANIFEST_HASHES, 0);
            }
            s->man_round = 0;
            pos = POS_CHUNKS;
        }
        if (pos == POS_SIG)
            return cursor_set(s, pos, TC_WIRE_OBJ_SIGBLOCK, 0);
        if (pos == POS_MAN)
            return cursor_set(s, pos, TC_WIRE_OBJ_MANIFEST, 0);
        i = (pos - POS_CHUNKS) / 2;
        if ((pos - POS_CHUNKS) % 2 == 1 && i < cc)
            return cursor_set(s, pos, TC_WIRE_OBJ_CHUNK, i);
        for (; i < cc; i++)
            if (s->m->chunks[i].stored_len > 0 && (s->need_count[i] > 0 || bit_get(s->forced, i)))
                break;
        if (i < cc) {
            cover_chunk(s, i);
            return cursor_set(s, POS_CHUNKS + 2 * i, TC_WIRE_OBJ_CHUNK_HASHES, i);
        }
        /* end of the round */
        s->in_round = 0;
        if (restarted || !round_wanted(s))
            return 0;
        restarted = 1;
        s->in_round = 1;
        s->st.rounds++;
        pos = POS_MHASH;
    }
}

/** The current object is finished: note when, move on. */
static int round_next(struct tc_seeder *s, uint64_t now)
{
    if (s->cur.object == TC_WIRE_OBJ_CHUNK || s->cur.object == TC_WIRE_OBJ_CHUNK_HASHES)
        s->last_sent[s->cur.index] = now;
    else
        s->last_sent_man = now;
    /* After the manifest, pause so that nodes repair what they missed of it
     * before the chunks come: a node without the manifest drops chunk blocks,
     * and its parent, as likely late, cannot serve them either. */
    if (s->cur.object == TC_WIRE_OBJ_MANIFEST)
        s->hold_until = now + TC_SEEDER_MANIFEST_SETTLE_NS;
    return round_seek(s, s->pos + 1);
}

/** Start a round if the seeder may and some node needs something. */
static int maybe_start(struct tc_seeder *s, uint64_t now)
{
    uint32_t min_nodes = s->cfg.min_nodes ? s->cfg.min_nodes : 1;

    if (s->cfg.tree_only)
        s->started = 1; /* no rounds: parents stream as soon as they have children */
    if (s->in_round || s->fatal || s->cfg.tree_only)
        return s->fatal;
    if (!s->started) {
        if (s->first_proof_ns == 0)
            return 0;
        /* after a restart: until the nodes that were receiving are back
         * (their re-JOINs are spread over rejoin_spread_ms), at most twice
         * that; a node back after the round started is not covered for
         * what it missed */
        if (s->restored_ns) {
            if (s->nactive < s->restored_active &&
                now < s->restored_ns + (uint64_t)TC_SEEDER_RESTART_WAIT_SPREADS *
                                           s->cfg.limits.rejoin_spread_ms * NS_PER_MS)
                return 0;
        } else if (s->nactive < min_nodes && now < s->first_proof_ns + s->cfg.start_wait_ns) {
            return 0;
        }
        s->started = 1;
    }
    if (!round_wanted(s))
        return 0;
    s->in_round = 1;
    s->st.rounds++;
    return round_seek(s, POS_MHASH);
}

/** Send round blocks while the bucket covers them. 0 or a fatal error. */
static int pump(struct tc_seeder *s, uint64_t now)
{
    int rc;

    while (s->in_round && !s->fatal) {
        uint32_t p = s->off, len, n = 0;
        uint64_t cost = 0;

        if (now < s->hold_until)
            break;

        if (s->off >= s->cur.len) {
            rc = round_next(s, now);
            if (rc)
                return rc;
            continue;
        }
        /* how many whole blocks the bucket covers now */
        while (p < s->cur.len && n < TC_PROTO_TRAIN_BLOCKS_MAX) {
            len = s->cur.len - p < s->block_len ? s->cur.len - p : s->block_len;
            if ((int64_t)(cost + block_cost(len)) * PACE_UNITS_PER_BYTE > s->pace)
                break;
            cost += block_cost(len);
            p += len;
            n++;
            if (!s->ops->send_blocks && n == TC_SEEDER_BATCH_MAX)
                break;
        }
        if (n == 0)
            break;
        send_range(s, &s->cur, s->off, p, s->cfg.group, 0);
        s->off = p;
    }
    return s->fatal;
}

/* ------------------------------------------------------------------ */
/* The tree: REPARENT and CHILDREN                                     */

/** Flag node x (a node index, not the root) for this change-log pass. */
static void mark_dirty(struct tc_seeder *s, uint32_t x, uint8_t what)
{
    if (x >= s->nnodes)
        return;
    if (s->nodes[x].dirty == 0) {
        assert(s->ndirty < DIRTY_MAX);
        s->dirty[s->ndirty++] = x;
    }
    s->nodes[x].dirty |= what;
}

/** Push DONE node x for a release check. */
static void rel_push(struct tc_seeder *s, uint32_t x)
{
    if (x < s->nnodes && s->nodes[x].state == TC_SEEDER_NODE_DONE && s->nrel < RELEASE_STACK_MAX)
        s->rel_stack[s->nrel++] = x;
}

/** Send node x its parent and depth as the tree has them now. */
static void send_reparent(struct tc_seeder *s, uint32_t x)
{
    struct node *nd = &s->nodes[x];
    uint32_t p = tc_tree_parent(s->tree, x);
    struct tc_wire_msg msg;

    if (p == TC_TREE_NONE)
        return;
    hdr_init(s, &msg, TC_WIRE_REPARENT, nd->token);
    if (nd->slow)
        msg.hdr.flags = TC_WIRE_REPARENT_F_LEAF;
    memset(&msg.u.reparent, 0, sizeof(msg.u.reparent));
    msg.u.reparent.generation = s->generation;
    msg.u.reparent.depth = (uint16_t)tc_tree_depth(s->tree, x);
    if (p == TC_TREE_ROOT) {
        msg.u.reparent.parent_index = TC_WIRE_INDEX_SEEDER;
    } else {
        msg.u.reparent.parent_index = p;
        msg.u.reparent.parent_addr = s->nodes[p].addr.addr;
        msg.u.reparent.parent_port = s->nodes[p].addr.port;
    }
    nd->parent = msg.u.reparent.parent_index;
    nd->depth = msg.u.reparent.depth;
    if (queue_msg(s, &msg, nd->addr) != 0 && !s->addr_warned) {
        s->addr_warned = 1;
        slog(s, TC_PROTO_LOG_WARN,
             "seeder: REPARENT of node %u cannot name parent %u at %08x port %u (the wire "
             "needs a unicast address and a non-zero port)",
             x, p, msg.u.reparent.parent_addr, msg.u.reparent.parent_port);
    }
}

/** Send parent x its list of children (index, address, token), sorted by index. */
static void send_children(struct tc_seeder *s, uint32_t x)
{
    uint32_t kids[TC_TREE_FANOUT_MAX], n, i, j, k = 0;
    struct tc_wire_msg msg;
    struct tc_wire_child tmp;

    n = tc_tree_children(s->tree, x, kids, TC_TREE_FANOUT_MAX);
    if (n > TC_TREE_FANOUT_MAX)
        n = TC_TREE_FANOUT_MAX;
    hdr_init(s, &msg, TC_WIRE_CHILDREN, s->nodes[x].token);
    memset(&msg.u.children, 0, sizeof(msg.u.children));
    msg.u.children.generation = s->generation;
    for (i = 0; i < n && k < TC_WIRE_CHILDREN_MAX; i++) {
        const struct node *c = &s->nodes[kids[i]];

        if (!in_tree(c))
            continue;
        msg.u.children.children[k].node_index = kids[i];
        msg.u.children.children[k].addr = c->addr.addr;
        msg.u.children.children[k].port = c->addr.port;
        msg.u.children.children[k].token = c->token;
        if (s->cfg.tree_only || c->slow)
            msg.u.children.children[k].flags = TC_WIRE_CHILD_F_STREAM;
        k++;
    }
    /* strictly increasing node indexes (insertion sort of at most 32) */
    for (i = 1; i < k; i++) {
        tmp = msg.u.children.children[i];
        for (j = i; j > 0 && msg.u.children.children[j - 1].node_index > tmp.node_index; j--)
            msg.u.children.children[j] = msg.u.children.children[j - 1];
        msg.u.children.children[j] = tmp;
    }
    msg.u.children.count = (uint16_t)k;
    if (queue_msg(s, &msg, s->nodes[x].addr) != 0 && !s->addr_warned) {
        s->addr_warned = 1;
        slog(s, TC_PROTO_LOG_WARN,
             "seeder: CHILDREN of node %u cannot be encoded: a child's address lacks a unicast "
             "address or a non-zero port",
             x);
    }
}

/**
 * Turn the tree's change log into messages: one REPARENT per node whose
 * parent changed (its final parent), one CHILDREN per parent whose list
 * changed, all with a new generation. Old parents become release candidates.
 */
static void streams_sync(struct tc_seeder *s, uint64_t now);

static void apply_changes(struct tc_seeder *s)
{
    const struct tc_tree_change *c;
    uint32_t n, i, x;

    c = tc_tree_changes(s->tree, &n);
    if (n == 0)
        return;
    s->generation++;
    s->ndirty = 0;
    for (i = 0; i < n; i++) {
        mark_dirty(s, c[i].node, DIRTY_REPARENT);
        mark_dirty(s, c[i].old_parent, DIRTY_CHILDREN);
        mark_dirty(s, c[i].new_parent, DIRTY_CHILDREN);
        rel_push(s, c[i].old_parent);
    }
    for (i = 0; i < s->ndirty; i++) {
        x = s->dirty[i];
        if (in_tree(&s->nodes[x])) {
            uint32_t copy;

            /* Twice: a child whose parent lost its CHILDREN list is not
             * served until the next heartbeat, and a node that falls that
             * far behind catches up only with the link's spare capacity. */
            for (copy = 0; copy < TC_SEEDER_TREE_COPIES; copy++) {
                if (s->nodes[x].dirty & DIRTY_REPARENT)
                    send_reparent(s, x);
                if (s->nodes[x].dirty & DIRTY_CHILDREN)
                    send_children(s, x);
            }
            /* a lost tree message would cut a child off its parent until the
             * next refresh: repeat them on the node's next heartbeats */
            s->nodes[x].tree_resend = TC_SEEDER_TREE_RESEND_HEARTBEATS;
        }
        s->nodes[x].dirty = 0;
    }
    s->ndirty = 0;
    streams_sync(s, s->now_ns);
}

/** Send node n a RELEASE with its reason. */
static void send_release(struct tc_seeder *s, uint32_t n, uint64_t now)
{
    struct tc_wire_msg msg;

    hdr_init(s, &msg, TC_WIRE_RELEASE, s->nodes[n].token);
    msg.u.release.reason = s->nodes[n].release_reason;
    queue_msg(s, &msg, s->nodes[n].addr);
    s->nodes[n].release_ns = now;
}

/**
 * Release the DONE nodes on the candidate stack that have no children left,
 * and in turn their parents (their removal from the tree logs them).
 */
static void release_pending(struct tc_seeder *s, uint64_t now)
{
    uint32_t x;
    struct node *nd;

    while (s->nrel > 0) {
        x = s->rel_stack[--s->nrel];
        nd = &s->nodes[x];
        /* not before its DONE_ACK (its DONE durable): an agent takes RELEASE
         * only once acknowledged */
        if (nd->state != TC_SEEDER_NODE_DONE || tc_tree_children(s->tree, x, NULL, 0) != 0 ||
            !nd->done_acked)
            continue;
        nd->state = TC_SEEDER_NODE_RELEASED;
        s->ndone--;
        s->nreleased++;
        nd->release_reason =
            s->nactive == 0 ? TC_WIRE_RELEASE_COMPLETE : TC_WIRE_RELEASE_NO_CHILDREN;
        send_release(s, x, now);
        if (tc_tree_remove(s->tree, x) == 0)
            apply_changes(s);
    }
}

/* ------------------------------------------------------------------ */
/* Incoming messages                                                   */

/** REJECT a JOIN. */
static void send_reject(struct tc_seeder *s, const struct tc_wire_msg *in, struct tc_proto_peer to,
                        uint16_t reason, uint32_t retry_ms)
{
    struct tc_wire_msg msg;

    hdr_init(s, &msg, TC_WIRE_REJECT, in->hdr.token);
    msg.u.reject.nonce = in->u.join.nonce;
    msg.u.reject.reason = reason;
    msg.u.reject.retry_after_ms = retry_ms;
    if (queue_msg(s, &msg, to) == 0)
        s->st.rejects++;
}

/** WELCOME node n, echoing nonce. */
static void send_welcome(struct tc_seeder *s, uint32_t n, uint64_t nonce)
{
    struct tc_wire_msg msg;
    struct tc_wire_welcome *w = &msg.u.welcome;

    hdr_init(s, &msg, TC_WIRE_WELCOME, s->nodes[n].token);
    memset(w, 0, sizeof(*w));
    w->nonce = nonce;
    w->node_index = n;
    if (s->cfg.tree_only) {
        msg.hdr.flags = TC_WIRE_WELCOME_F_TREE_ONLY;
    } else {
        w->group_addr = s->cfg.group.addr;
        w->group_port = s->cfg.group.port;
    }
    w->mtu = s->cfg.mtu;
    w->parent_index = TC_WIRE_INDEX_SEEDER;
    w->seg_size = (uint16_t)s->seg_size;
    w->rate_bps = s->cfg.rate_bps;
    w->manifest_len = (uint32_t)s->m->len;
    w->sigblock_len = (uint32_t)s->cfg.sigblock_len;
    w->heartbeat_ms = s->cfg.limits.heartbeat_ms;
    w->report_ms = s->cfg.limits.report_ms;
    w->depth = 1;
    memcpy(w->manifest_digest, s->digest_man, TC_SHA256_LEN);
    memcpy(w->manifest_hashes_digest, s->digest_mhash, TC_SHA256_LEN);
    memcpy(w->sigblock_digest, s->digest_sig, TC_SHA256_LEN);
    queue_msg(s, &msg, s->nodes[n].addr);
}

/** Take node n out of the tree and its needs out of the counts (restart). */
static void node_reset(struct tc_seeder *s, uint32_t n)
{
    struct node *nd = &s->nodes[n];
    uint32_t i;

    if (nd->state == TC_SEEDER_NODE_ACTIVE) {
        needs_drop(s, n);
        s->nactive--;
    } else if (nd->state == TC_SEEDER_NODE_DONE) {
        s->ndone--;
        s->st.nodes_done--;
    } else if (nd->state == TC_SEEDER_NODE_RELEASED) {
        s->nreleased--;
        s->st.nodes_done--;
    } else if (nd->state == TC_SEEDER_NODE_DEAD && nd->dead_from == TC_SEEDER_NODE_DONE) {
        s->st.nodes_done--;
    }
    s->state_dirty = 1;
    for (i = 0; i < TC_TREE_FANOUT_MAX; i++)
        if (s->rep[i].node == n)
            s->rep[i].node = UINT32_MAX;
    if (tc_tree_remove(s->tree, n) == 0)
        apply_changes(s);
    tok_remove(s, n);
}

/** True if the JOIN asks for this image (name, minimum version, pin). */
static int join_wants_image(const struct tc_seeder *s, const struct tc_wire_msg *in)
{
    const struct tc_wire_join *j = &in->u.join;
    char v[TC_WIRE_VERSION_STR_MAX + 1];

    if (j->name_len != strlen(s->m->name) || memcmp(j->name, s->m->name, j->name_len) != 0)
        return 0;
    if (j->min_version_len > 0) {
        memcpy(v, j->min_version, j->min_version_len);
        v[j->min_version_len] = '\0';
        if (tc_version_cmp(v, s->m->version) > 0)
            return 0;
    }
    if ((in->hdr.flags & TC_WIRE_JOIN_F_PIN) &&
        memcmp(j->pin, s->m->image_digest, TC_SHA256_LEN) != 0)
        return 0;
    return 1;
}

/** JOIN: retransmission, restart or a new node; admission, REJECT reasons. */
static void on_join(struct tc_seeder *s, uint64_t now, struct tc_proto_peer from,
                    const struct tc_wire_msg *in)
{
    const struct tc_wire_join *j = &in->u.join;
    uint32_t n = mac_find(s, j->node_id), retry_ms;
    struct node *nd;
    uint64_t wait_ns;

    /* A retransmission: the node echoes its token, or it never saw the
     * WELCOME (token 0) and has not proven its address yet. Only a node
     * that was proven and JOINs without its token restarted. */
    if (n != UINT32_MAX && ((in->hdr.token != 0 && in->hdr.token == s->nodes[n].token) ||
                            (in->hdr.token == 0 && s->nodes[n].state == TC_SEEDER_NODE_WELCOMED))) {
        nd = &s->nodes[n];
        /* a restored node's re-JOIN after an EPOCH: its summary is its needs */
        if (nd->rejoin != 0 && nd->state == TC_SEEDER_NODE_WELCOMED)
            needs_init_row(s, n, j);
        /* a retransmission: the same WELCOME (a proven node keeps its address) */
        if (!peer_eq(nd->addr, from)) {
            if (nd->state != TC_SEEDER_NODE_WELCOMED) {
                s->st.rx_forged++;
                return;
            }
            nd->addr = from;
        }
        send_welcome(s, n, j->nonce);
        return;
    }
    if (!join_wants_image(s, in)) {
        send_reject(s, in, from, TC_WIRE_REJECT_NO_IMAGE, 0);
        return;
    }
    if (j->disk_size < s->m->raw_size) {
        send_reject(s, in, from, TC_WIRE_REJECT_DISK_SMALL, 0);
        return;
    }
    admit_refill(s, now);
    if (s->admit < ADMIT_UNITS_PER_JOIN) {
        wait_ns = (uint64_t)(ADMIT_UNITS_PER_JOIN - s->admit + s->cfg.limits.admit_per_s - 1) /
                  s->cfg.limits.admit_per_s;
        retry_ms = (uint32_t)((wait_ns + NS_PER_MS - 1) / NS_PER_MS);
        if (retry_ms < 1)
            retry_ms = 1;
        if (retry_ms > TC_WIRE_DELAY_MS_MAX)
            retry_ms = TC_WIRE_DELAY_MS_MAX;
        send_reject(s, in, from, TC_WIRE_REJECT_BUSY, retry_ms);
        return;
    }
    if (n == UINT32_MAX && s->nnodes == s->cfg.nodes_max) {
        send_reject(s, in, from, TC_WIRE_REJECT_FULL, 0);
        return;
    }
    s->admit -= ADMIT_UNITS_PER_JOIN;
    if (n == UINT32_MAX) {
        n = s->nnodes++;
        nd = &s->nodes[n];
        memset(nd, 0, sizeof(*nd));
        memcpy(nd->mac, j->node_id, 6);
        mac_insert(s, n);
        nd->joined_ns = now;
        s->st.nodes++;
    } else {
        /* the node restarted: a new token, out of the tree, start over */
        node_reset(s, n);
        nd = &s->nodes[n];
        nd->done_ns = 0;
        nd->slow = 0;
        nd->rejoin = 0;
        nd->done_snap = 0;
        nd->done_acked = 0;
        nd->hb_seen = 0;
        nd->log_seen = 0;
        nd->loss_seen = 0;
        nd->chunks_done = 0;
        slog(s, TC_PROTO_LOG_INFO, "seeder: node %u restarted: new token, rejoins the tree", n);
        release_pending(s, now);
    }
    nd->state = TC_SEEDER_NODE_WELCOMED;
    nd->addr = from;
    nd->token = new_token(s);
    tok_insert(s, n);
    nd->parent = TC_WIRE_INDEX_SEEDER;
    nd->depth = 1;
    needs_init_row(s, n, j);
    s->st.joins++;
    send_welcome(s, n, j->nonce);
}

/**
 * The node a control message comes from: session, epoch, token and the
 * registered source address must match; else rx_forged and UINT32_MAX.
 */
static void send_epoch(struct tc_seeder *s, uint32_t n);

static struct sstream *stream_of(struct tc_seeder *s, uint32_t x);

static uint32_t auth(struct tc_seeder *s, struct tc_proto_peer from, const struct tc_wire_hdr *h)
{
    uint32_t n;

    if (h->session_id == s->session_id && h->epoch < s->epoch && h->token != 0) {
        /* a node that missed the EPOCH: tell it (once per heartbeat interval) */
        n = tok_find(s, h->token);
        if (n != UINT32_MAX && peer_eq(s->nodes[n].addr, from) &&
            s->now_ns >= s->nodes[n].epoch_ns + (uint64_t)s->cfg.limits.heartbeat_ms * NS_PER_MS) {
            s->nodes[n].epoch_ns = s->now_ns;
            send_epoch(s, n);
        }
        s->st.rx_forged++;
        return UINT32_MAX;
    }
    if (h->session_id != s->session_id || h->epoch != s->epoch) {
        s->st.rx_forged++;
        return UINT32_MAX;
    }
    n = tok_find(s, h->token);
    if (n == UINT32_MAX || !peer_eq(s->nodes[n].addr, from)) {
        s->st.rx_forged++;
        return UINT32_MAX;
    }
    return n;
}

/** Node n proved its address: ACTIVE, into the tree, its needs counted. */
static void prove(struct tc_seeder *s, uint64_t now, uint32_t n)
{
    struct node *nd = &s->nodes[n];

    s->state_dirty = 1;
    nd->last_heard_ns = now;
    if (s->dead_scan_at == TC_PROTO_NEVER)
        s->dead_scan_at = now + s->cfg.limits.node_timeout_ns + 1;
    if (s->first_proof_ns == 0)
        s->first_proof_ns = now ? now : 1;
    if (nd->rejoin == TC_SEEDSTATE_DONE) {
        /* done before the restart: back in the tree to serve its children */
        nd->rejoin = 0;
        nd->state = TC_SEEDER_NODE_DONE;
        s->ndone++;
        if (tc_tree_add(s->tree, n, TC_TREE_NORMAL) == 0)
            apply_changes(s);
        return;
    }
    nd->rejoin = 0;
    nd->state = TC_SEEDER_NODE_ACTIVE;
    nd->covered = 0;
    nd->done_at_proof = nd->chunks_done;
    s->nactive++;
    needs_add(s, n);
    cover_late(s, n);
    if (tc_tree_add(s->tree, n, nd->slow ? TC_TREE_SLOW : TC_TREE_NORMAL) == 0)
        apply_changes(s);
}

/** HEARTBEAT: address proof, liveness, our answer to direct children, RELEASE repeats. */
static void demote(struct tc_seeder *s, uint64_t now, uint32_t n, const char *why);

static void on_heartbeat(struct tc_seeder *s, uint64_t now, uint32_t n,
                         const struct tc_wire_heartbeat *hb)
{
    struct node *nd = &s->nodes[n];
    struct tc_wire_msg msg;

    if (nd->state == TC_SEEDER_NODE_RELEASED) {
        if (now - nd->release_ns >= (uint64_t)s->cfg.limits.heartbeat_ms * NS_PER_MS)
            send_release(s, n, now);
        return;
    }
    if (nd->state != TC_SEEDER_NODE_WELCOMED && nd->hb_seen && hb->seq <= nd->hb_seq)
        return; /* old or replayed */
    nd->hb_seen = 1;
    nd->hb_seq = hb->seq;
    /* what was sent before it had the manifest it could not take: its lag
     * counts from when it says RECEIVING */
    if (nd->state == TC_SEEDER_NODE_ACTIVE && hb->state < TC_WIRE_STATE_RECEIVING) {
        nd->covered = 0;
        nd->done_at_proof = hb->chunks_done;
    }
    nd->chunks_done = hb->chunks_done;
    /* an outage (dead parent, partition) left it far behind what it was
     * sent: it catches up faster off the multicast (section 6.9) */
    if (nd->state == TC_SEEDER_NODE_ACTIVE && !nd->slow &&
        nd->covered >
            TC_SEEDER_BEHIND_CHUNKS +
                (hb->chunks_done > nd->done_at_proof ? hb->chunks_done - nd->done_at_proof : 0))
        demote(s, now, n, "fell behind what it was sent");
    if (nd->state == TC_SEEDER_NODE_WELCOMED) {
        nd->hb_count = 0;
        prove(s, now, n);
    } else if (++nd->hb_count % TC_SEEDER_REFRESH_HEARTBEATS == 0 || nd->tree_resend > 0) {
        if (nd->tree_resend > 0)
            nd->tree_resend--;
        send_reparent(s, n);
        if (tc_tree_children(s->tree, n, NULL, 0) > 0)
            send_children(s, n);
    }
    if (tc_tree_parent(s->tree, n) == TC_TREE_ROOT) {
        const struct sstream *ss = stream_of(s, n);

        if (ss)
            slog(s, TC_PROTO_LOG_DEBUG,
                 "seeder: stream to node %u: position %u (acked below %u), %llu bytes in flight, "
                 "window %llu, %llu sent, %llu retransmitted, %llu timeouts",
                 n, ss->tx.pos, ss->tx.una_pos, (unsigned long long)ss->tx.inflight,
                 (unsigned long long)ss->tx.cwnd, (unsigned long long)ss->tx.st.sent_bytes,
                 (unsigned long long)ss->tx.st.retx_bytes, (unsigned long long)ss->tx.st.timeouts);
        hdr_init(s, &msg, TC_WIRE_HEARTBEAT, nd->token);
        memset(&msg.u.heartbeat, 0, sizeof(msg.u.heartbeat));
        msg.u.heartbeat.seq = ++s->hb_seq;
        msg.u.heartbeat.state = TC_WIRE_STATE_NONE;
        msg.u.heartbeat.chunks_done = s->m->chunk_count;
        msg.u.heartbeat.time_ns = now;
        msg.u.heartbeat.echo_ns = hb->time_ns;
        queue_msg(s, &msg, nd->addr);
    }
    if (nd->state == TC_SEEDER_NODE_DONE) {
        rel_push(s, n);
        release_pending(s, now);
    }
}

/** DONE: the node finished; DONE_ACK, then release when it has no children. */
static void send_done_ack(struct tc_seeder *s, uint32_t n);
static int done_durable(const struct tc_seeder *s, const struct node *nd);
static void persist_maybe(struct tc_seeder *s);

static void on_done(struct tc_seeder *s, uint64_t now, uint32_t n, const struct tc_wire_done *d)
{
    struct node *nd = &s->nodes[n];
    char a[2 * TC_SHA256_LEN + 1], b[2 * TC_SHA256_LEN + 1];

    if (nd->state == TC_SEEDER_NODE_WELCOMED) {
        s->st.rx_forged++;
        return;
    }
    if (memcmp(d->image_digest, s->m->image_digest, TC_SHA256_LEN) != 0 ||
        d->chunk_count != s->m->chunk_count) {
        slog(s, TC_PROTO_LOG_ERR,
             "seeder: node %u says DONE with image digest %s and %u chunks; image %s is %s with "
             "%u chunks: not acknowledged",
             n, tc_hex(a, d->image_digest, TC_SHA256_LEN), d->chunk_count, s->m->name,
             tc_hex(b, s->m->image_digest, TC_SHA256_LEN), s->m->chunk_count);
        return;
    }
    if (nd->state == TC_SEEDER_NODE_ACTIVE) {
        needs_drop(s, n);
        nd->state = TC_SEEDER_NODE_DONE;
        nd->done_ns = now;
        nd->done_snap = s->snap_next;
        s->nactive--;
        s->ndone++;
        s->st.nodes_done++;
        s->state_dirty = 1;
    }
    /* acknowledged only once a state that holds the DONE is durable
     * (tc_seeder_on_persisted() sends the ack then) */
    if (done_durable(s, nd)) {
        send_done_ack(s, n);
        nd->done_acked = 1;
    } else {
        persist_maybe(s);
    }
    if (nd->state == TC_SEEDER_NODE_DONE) {
        rel_push(s, n);
        release_pending(s, now);
    }
}

/** The stored latest report of direct child n (or a free slot for it). */
static struct child_report *report_slot(struct tc_seeder *s, uint32_t n)
{
    struct child_report *free_slot = NULL;
    uint32_t i, x;

    for (i = 0; i < TC_TREE_FANOUT_MAX; i++) {
        x = s->rep[i].node;
        if (x == n)
            return &s->rep[i];
        if (!free_slot && (x == UINT32_MAX || tc_tree_parent(s->tree, x) != TC_TREE_ROOT ||
                           !in_tree(&s->nodes[x])))
            free_slot = &s->rep[i];
    }
    return free_slot;
}

/** Nodes missing segments of (object, index) according to every direct child's latest report. */
static uint64_t report_missing(const struct tc_seeder *s, uint8_t object, uint32_t index)
{
    uint64_t sum = 0;
    uint32_t i, k, x;

    for (i = 0; i < TC_TREE_FANOUT_MAX; i++) {
        x = s->rep[i].node;
        if (x == UINT32_MAX || tc_tree_parent(s->tree, x) != TC_TREE_ROOT || !in_tree(&s->nodes[x]))
            continue;
        for (k = 0; k < s->rep[i].r.nentries; k++) {
            const struct tc_wire_report_entry *e = &s->rep[i].r.entries[k];

            if (e->object == object && e->index == index) {
                sum += (uint64_t)e->hist[0] + e->hist[1] + e->hist[2];
                break;
            }
        }
    }
    return sum;
}

/**
 * True if (object, index) may be put back into the round: an object of this
 * image, sent more than TC_SEEDER_REPORT_STALE_INTERVALS report intervals
 * ago, not being sent and not already put back. Cheap: it filters report
 * entries before their counts are summed.
 */
static int force_candidate(const struct tc_seeder *s, uint64_t now, uint8_t object, uint32_t index)
{
    uint64_t stale =
        (uint64_t)TC_SEEDER_REPORT_STALE_INTERVALS * s->cfg.limits.report_ms * NS_PER_MS;
    uint64_t last;

    if (object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES) {
        if (index >= s->m->chunk_count || s->m->chunks[index].stored_len == 0 ||
            bit_get(s->forced, index))
            return 0;
        if (s->in_round && s->pos >= POS_CHUNKS && (s->pos - POS_CHUNKS) / 2 == index)
            return 0;
        last = s->last_sent[index];
    } else {
        if (s->forced_man || (s->in_round && s->man_round && s->pos <= POS_MAN))
            return 0;
        last = s->last_sent_man;
    }
    return last != 0 && now > last && now - last > stale;
}

/** Put (object, index) back into the round (force_candidate() said it may). */
static void force(struct tc_seeder *s, uint8_t object, uint32_t index)
{
    if (object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES) {
        bit_set(s->forced, index);
        s->nforced++;
    } else {
        s->forced_man = 1;
    }
}

/** REPORT: direct children only; the latest by seq; objects back into the round. */
static void on_report(struct tc_seeder *s, uint64_t now, uint32_t n, const struct tc_wire_report *r)
{
    struct child_report *slot;
    uint64_t interval;
    uint32_t k;

    if (!in_tree(&s->nodes[n]) || tc_tree_parent(s->tree, n) != TC_TREE_ROOT) {
        s->st.reports_dropped++;
        return;
    }
    slot = report_slot(s, n);
    if (!slot) {
        s->st.reports_dropped++;
        return;
    }
    if (slot->node == n && r->seq <= slot->r.seq)
        return; /* older */
    slot->node = n;
    slot->rx_ns = now;
    slot->r = *r;
    s->st.reports_rx++;
    s->nodes[n].loss_seen = 1;
    s->nodes[n].loss_bucket = 0;
    for (k = 0; k < TC_WIRE_LOSS_HIST; k++)
        if (r->loss_hist[k] > 0)
            s->nodes[n].loss_bucket = (uint8_t)k;
    /* Counted per report interval of the seeder's clock: queueing delays
     * can put two of a child's reports into one interval. */
    interval = now / ((uint64_t)s->cfg.limits.report_ms * NS_PER_MS);
    if (interval != s->rep_interval) {
        s->rep_interval = interval;
        s->rep_count = 0;
    }
    s->rep_count++;
    if (s->rep_count > s->st.reports_interval_max)
        s->st.reports_interval_max = s->rep_count;
    if (s->nactive == 0)
        return;
    for (k = 0; k < r->nentries; k++) {
        const struct tc_wire_report_entry *e = &r->entries[k];

        uint64_t missing;

        if (!force_candidate(s, now, e->object, e->index))
            continue;
        missing = report_missing(s, e->object, e->index);
        /* Half of the nodes in the tree (done ones included: they hold the
         * object and serve it): a few stragglers at the end are repaired
         * by their parents, not by a multicast to everyone. */
        if (missing >= TC_SEEDER_FORCE_NODES_MIN && 2 * missing >= s->nactive + s->ndone) {
            force(s, e->object, e->index);
            slog(s, TC_PROTO_LOG_INFO,
                 "seeder: object %u index %u back into the round: %llu of %u nodes miss it",
                 e->object, e->index, (unsigned long long)missing, s->nactive + s->ndone);
        }
    }
}

/** LOG: an escaped line into ops->log, tagged with the node. */
static void on_log(struct tc_seeder *s, uint32_t n, const struct tc_wire_log *l)
{
    struct node *nd = &s->nodes[n];
    char text[4 * TC_WIRE_LOG_TEXT_MAX + 1];
    int level = l->level < TC_PROTO_LOG_ERR ? TC_PROTO_LOG_ERR : l->level;

    if (nd->log_seen && l->seq <= nd->log_seq)
        return;
    nd->log_seen = 1;
    nd->log_seq = l->seq;
    tc_wire_escape(text, sizeof(text), l->text, l->text_len);
    if (level <= TC_PROTO_LOG_WARN) {
        /* escaped text is ASCII: cutting it anywhere keeps it valid */
        char *slot = s->err_text + (size_t)n * TC_SEEDER_NODE_ERROR_MAX;
        size_t len = strnlen(text, TC_SEEDER_NODE_ERROR_MAX - 1);

        memcpy(slot, text, len);
        slot[len] = '\0';
        nd->err_level = (uint8_t)level;
    }
    slog(s, level, "node %u (%02x:%02x:%02x:%02x:%02x:%02x): %s", n, nd->mac[0], nd->mac[1],
         nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5], text);
}

/* ------------------------------------------------------------------ */
/* Repair and re-multicast                                             */

/**
 * Clip req's ranges to the object's length and widen them to whole
 * segments (the end to the object's end at most); merge what then touches.
 * Returns the ranges left in out.
 */
static uint16_t clip_ranges(const struct tc_seeder *s, const struct tc_wire_repair_req *req,
                            uint32_t objlen, struct tc_wire_range *out)
{
    uint16_t i, k = 0;
    uint64_t a, b, seg = s->seg_size;

    for (i = 0; i < req->nranges; i++) {
        a = req->ranges[i].offset;
        b = a + req->ranges[i].len;
        if (a >= objlen)
            break;
        if (b > objlen)
            b = objlen;
        a = a / seg * seg;
        b = (b + seg - 1) / seg * seg;
        if (b > objlen)
            b = objlen;
        if (k > 0 && a <= (uint64_t)out[k - 1].offset + out[k - 1].len) {
            out[k - 1].len = (uint32_t)(b - out[k - 1].offset);
            continue;
        }
        out[k].offset = (uint32_t)a;
        out[k].len = (uint32_t)(b - a);
        k++;
    }
    return k;
}

/** Unicast [a, b) of o to node n minus the pieces in mc (sorted, disjoint). */
static void unicast_minus(struct tc_seeder *s, const struct objref *o, uint32_t n, uint32_t a,
                          uint32_t b, const struct tc_wire_range *mc, uint32_t nmc)
{
    uint32_t i, pa, pb;

    for (i = 0; i < nmc && a < b; i++) {
        pa = mc[i].offset;
        pb = pa + mc[i].len;
        if (pb <= a)
            continue;
        if (pa >= b)
            break;
        if (pa > a)
            send_range(s, o, a, pa, s->nodes[n].addr, s->nodes[n].token);
        a = pb;
    }
    if (a < b)
        send_range(s, o, a, b, s->nodes[n].addr, s->nodes[n].token);
}

/** Serve one request now, unicast. */
static void serve_now(struct tc_seeder *s, const struct gather_req *g)
{
    struct objref o;
    uint16_t i;

    if (obj_get(s, g->object, g->index, &o) != 0)
        return;
    for (i = 0; i < g->nranges; i++)
        send_range(s, &o, g->r[i].offset, g->r[i].offset + g->r[i].len, s->nodes[g->node].addr,
                   s->nodes[g->node].token);
}

/** Order of sweep events: by offset (the delta order does not matter). */
static int ev_cmp(const void *pa, const void *pb)
{
    const struct sweep_ev *a = pa, *b = pb;

    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    return a->delta < b->delta ? -1 : a->delta > b->delta;
}

/** Remove [a, b) from the sorted pieces (n of them, at most cap); returns the new count. */
static uint32_t pieces_minus(struct tc_wire_range *p, uint32_t n, uint32_t cap, uint32_t a,
                             uint32_t b)
{
    uint32_t i, pa, pb;

    for (i = 0; i < n; i++) {
        pa = p[i].offset;
        pb = pa + p[i].len;
        if (pb <= a || pa >= b)
            continue;
        if (pa < a && pb > b) {
            /* split in two */
            if (n == cap) {
                p[i].len = a - pa; /* keep the left part, the rest goes unicast */
                continue;
            }
            memmove(&p[i + 2], &p[i + 1], (n - i - 1) * sizeof(*p));
            p[i].len = a - pa;
            p[i + 1].offset = b;
            p[i + 1].len = pb - b;
            n++;
            i++;
        } else if (pa < a) {
            p[i].len = a - pa;
        } else if (pb > b) {
            p[i].offset = b;
            p[i].len = pb - b;
        } else {
            memmove(&p[i], &p[i + 1], (n - i - 1) * sizeof(*p));
            n--;
            i--;
        }
    }
    return n;
}

/**
 * Serve every gathered request: per object, the segments that at least
 * max(2, direct children / 2) direct children asked for are multicast once
 * (unless multicast within remcast_suppress_ns), the rest is unicast.
 */
static void gather_flush(struct tc_seeder *s, uint64_t now)
{
    struct tc_wire_range mc[REMCAST_PIECES_MAX];
    uint32_t dc = tc_tree_children(s->tree, TC_TREE_ROOT, NULL, 0);
    uint32_t thr = dc / 2 > 2 ? dc / 2 : 2, i, j, k, nev, nmc, cnt;
    uint8_t done[TC_SEEDER_GATHER_PER_FANOUT * TC_TREE_FANOUT_MAX];
    struct objref o;

    memset(done, 0, sizeof(done));
    for (i = 0; i < s->ngq; i++) {
        const struct gather_req *g = &s->gq[i];

        if (done[i])
            continue;
        nev = 0;
        for (j = i; j < s->ngq; j++) {
            const struct gather_req *h = &s->gq[j];

            if (done[j] || h->object != g->object || h->index != g->index || !h->direct)
                continue;
            for (k = 0; k < h->nranges; k++) {
                s->ev[nev].off = h->r[k].offset;
                s->ev[nev++].delta = 1;
                s->ev[nev].off = h->r[k].offset + h->r[k].len;
                s->ev[nev++].delta = -1;
            }
        }
        nmc = 0;
        if (nev > 0 && obj_get(s, g->object, g->index, &o) == 0) {
            qsort(s->ev, nev, sizeof(s->ev[0]), ev_cmp);
            cnt = 0;
            for (k = 0; k < nev;) {
                uint32_t at = s->ev[k].off;

                while (k < nev && s->ev[k].off == at)
                    cnt = (uint32_t)((int32_t)cnt + s->ev[k++].delta);
                if (k == nev || cnt < thr)
                    continue;
                /* [at, next event) is asked for by cnt direct children */
                if (nmc > 0 && mc[nmc - 1].offset + mc[nmc - 1].len == at) {
                    mc[nmc - 1].len += s->ev[k].off - at;
                } else if (nmc < REMCAST_PIECES_MAX) {
                    mc[nmc].offset = at;
                    mc[nmc].len = s->ev[k].off - at;
                    nmc++;
                }
            }
            /* suppression: what was re-multicast recently is not again */
            for (k = 0; k < TC_SEEDER_REMCAST_MAX && nmc > 0; k++) {
                const struct remcast *r = &s->rcast[k];

                if (r->object == g->object && r->index == g->index &&
                    now - r->sent_ns < s->cfg.limits.remcast_suppress_ns)
                    nmc = pieces_minus(mc, nmc, REMCAST_PIECES_MAX, r->off, r->end);
            }
            for (k = 0; k < nmc; k++) {
                struct remcast *r = &s->rcast[s->rcast_next];

                s->st.remcast_blocks +=
                    send_range(s, &o, mc[k].offset, mc[k].offset + mc[k].len, s->cfg.group, 0);
                r->object = g->object;
                r->index = g->index;
                r->off = mc[k].offset;
                r->end = mc[k].offset + mc[k].len;
                r->sent_ns = now;
                s->rcast_next = (s->rcast_next + 1) % TC_SEEDER_REMCAST_MAX;
            }
        }
        /* unicast the rest to each asker of this object */
        for (j = i; j < s->ngq; j++) {
            const struct gather_req *h = &s->gq[j];

            if (done[j] || h->object != g->object || h->index != g->index)
                continue;
            done[j] = 1;
            if (!in_tree(&s->nodes[h->node]) || obj_get(s, h->object, h->index, &o) != 0)
                continue;
            for (k = 0; k < h->nranges; k++)
                unicast_minus(s, &o, h->node, h->r[k].offset, h->r[k].offset + h->r[k].len, mc,
                              nmc);
        }
    }
    s->ngq = 0;
    s->gather_deadline = TC_PROTO_NEVER;
}

/** Merge the sorted ranges b into a (both sorted and disjoint); -E2BIG if over the limit. */
static int ranges_union(struct tc_wire_range *a, uint16_t *na, const struct tc_wire_range *b,
                        uint16_t nb)
{
    struct tc_wire_range out[2 * TC_WIRE_RANGES_MAX];
    uint32_t i = 0, j = 0, k = 0;

    while (i < *na || j < nb) {
        const struct tc_wire_range *r;

        if (j >= nb || (i < *na && a[i].offset <= b[j].offset))
            r = &a[i++];
        else
            r = &b[j++];
        if (k > 0 && r->offset <= out[k - 1].offset + out[k - 1].len) {
            uint32_t end = r->offset + r->len;

            if (end > out[k - 1].offset + out[k - 1].len)
                out[k - 1].len = end - out[k - 1].offset;
        } else {
            out[k++] = *r;
        }
    }
    if (k > TC_WIRE_RANGES_MAX)
        return -E2BIG;
    memcpy(a, out, k * sizeof(*out));
    *na = (uint16_t)k;
    return 0;
}

/** REPAIR_REQ from a proven node: gather it, or serve it at once. */
static void on_repair(struct tc_seeder *s, uint64_t now, uint32_t n,
                      const struct tc_wire_repair_req *req)
{
    struct gather_req g, *e;
    struct objref o;
    uint32_t i;

    if (!in_tree(&s->nodes[n])) {
        s->st.rx_forged++;
        return;
    }
    if (obj_get(s, req->object, req->index, &o) != 0)
        return;
    /* Not covered yet: the round brings it by multicast (section 6.2);
     * serving it now would race the round with unicast copies. */
    if ((req->object == TC_WIRE_OBJ_CHUNK || req->object == TC_WIRE_OBJ_CHUNK_HASHES)
            ? bit_get(row(s, n), req->index)
            : s->nodes[n].need_man) {
        s->st.repair_early++;
        return;
    }
    g.node = n;
    g.direct = tc_tree_parent(s->tree, n) == TC_TREE_ROOT;
    g.object = req->object;
    g.index = req->index;
    g.nranges = clip_ranges(s, req, o.len, g.r);
    if (g.nranges == 0)
        return;
    s->st.repair_reqs++;
    if (s->cfg.limits.remcast_gather_ns == 0) {
        serve_now(s, &g);
        return;
    }
    for (i = 0; i < s->ngq; i++) {
        e = &s->gq[i];
        if (e->node == n && e->object == g.object && e->index == g.index) {
            if (ranges_union(e->r, &e->nranges, g.r, g.nranges) != 0)
                serve_now(s, &g);
            return;
        }
    }
    if (s->ngq == s->gq_max) {
        serve_now(s, &g);
        return;
    }
    s->gq[s->ngq++] = g;
    if (s->ngq == 1)
        s->gather_deadline = now + s->cfg.limits.remcast_gather_ns;
}

/* ------------------------------------------------------------------ */
/* Streams to the seeder's own children (tree-only, stragglers)        */

/** Stream op: the object at sequence position pos (stream.h). */
static int ss_object_at(void *ctx, uint32_t pos, struct tc_stream_obj *o)
{
    struct sstream *ss = ctx;
    struct tc_seeder *s = ss->s;
    struct objref r;
    uint8_t object;
    uint32_t index;

    tc_proto_obj_at(pos, &object, &index);
    if ((object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES) &&
        index >= s->m->chunk_count)
        return -ENOENT;
    o->object = object;
    o->index = index;
    o->len = 0; /* a ZERO chunk: nothing to send */
    if (obj_get(s, object, index, &r) == 0)
        o->len = r.len;
    return 0;
}

/** Stream op: the seeder holds every byte. */
static uint32_t ss_held(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    (void)ctx;
    if (off >= o->len)
        return 0;
    return o->len - off < len ? o->len - off : len;
}

/** Stream op: unicast DATA blocks of [off, off + len) of o to the child. */
static int ss_send(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct sstream *ss = ctx;
    struct tc_seeder *s = ss->s;
    struct node *nd = &s->nodes[ss->node];
    struct objref r;
    int rc;

    rc = obj_get(s, o->object, o->index, &r);
    if (rc != 0)
        return rc;
    s->streaming = 1;
    send_range(s, &r, off, off + len, nd->addr, nd->token);
    s->streaming = 0;
    s->st.stream_bytes += len;
    return 0;
}

static const struct tc_stream_ops ss_ops = {
    .object_at = ss_object_at,
    .held = ss_held,
    .send = ss_send,
};

/** True if the seeder streams to node x: its own child, tree-only or a straggler. */
static int wants_stream(const struct tc_seeder *s, uint32_t x)
{
    return in_tree(&s->nodes[x]) && tc_tree_parent(s->tree, x) == TC_TREE_ROOT &&
           (s->cfg.tree_only || s->nodes[x].slow);
}

/** The stream slot of node x, or NULL. */
static struct sstream *stream_of(struct tc_seeder *s, uint32_t x)
{
    uint32_t i;

    for (i = 0; i < s->nstreams_max; i++)
        if (s->streams[i].node == x)
            return &s->streams[i];
    return NULL;
}

/**
 * After a tree change: drop streams to nodes that are no longer the
 * seeder's streamed children, start one for each new one (from the
 * beginning of the sequence: the child's ACKs skip what it holds).
 */
static void streams_sync(struct tc_seeder *s, uint64_t now)
{
    uint32_t kids[KIDS_MAX], n, i;
    uint64_t cap;

    for (i = 0; i < s->nstreams_max; i++)
        if (s->streams[i].node != UINT32_MAX && !wants_stream(s, s->streams[i].node))
            s->streams[i].node = UINT32_MAX;
    n = tc_tree_children(s->tree, TC_TREE_ROOT, kids, KIDS_MAX);
    if (n > KIDS_MAX)
        n = KIDS_MAX;
    for (i = 0; i < n; i++) {
        struct sstream *ss;
        uint32_t k;

        if (!wants_stream(s, kids[i]) || stream_of(s, kids[i]))
            continue;
        for (k = 0; k < s->nstreams_max && s->streams[k].node != UINT32_MAX; k++)
            ;
        if (k == s->nstreams_max)
            break; /* cannot happen: slots = root fan-out + catch-up cap */
        ss = &s->streams[k];
        ss->node = kids[i];
        ss->s = s;
        /* tree-only: the session rate shared by the root's streams (the
         * seeder's link); a straggler: a share of it */
        cap = s->cfg.tree_only ? s->cfg.rate_bps / s->cfg.root_fanout
                               : s->cfg.rate_bps * TC_SEEDER_CATCHUP_SHARE_PERMILLE / 1000;
        tc_stream_tx_init(&ss->tx, &ss_ops, ss, s->seg_size, s->block_len, TC_STREAM_CWND_MAX_BYTES,
                          cap, 0);
        slog(s, TC_PROTO_LOG_DEBUG, "seeder: streaming to node %u (%s)", kids[i],
             s->cfg.tree_only ? "tree-only" : "catching up");
        tc_stream_tx_wake(&ss->tx, now);
    }
}

/** An ACK from node n for its stream. */
static void on_ack(struct tc_seeder *s, uint64_t now, uint32_t n, const struct tc_wire_ack *a)
{
    struct sstream *ss = stream_of(s, n);

    if (!ss) {
        s->st.rx_forged++; /* not a streamed child of ours */
        return;
    }
    tc_stream_tx_on_ack(&ss->tx, now, tc_proto_pos_of(a->object, a->index), a);
}

/* ------------------------------------------------------------------ */
/* Liveness, dead nodes, REPARENT_REQ                                   */

/** Node n is silent past node_timeout_ns: out of the tree and the counts. */
static void node_dead(struct tc_seeder *s, uint64_t now, uint32_t n)
{
    struct node *nd = &s->nodes[n];

    if (!in_tree(nd))
        return;
    nd->dead_from = nd->state;
    if (nd->state == TC_SEEDER_NODE_ACTIVE) {
        needs_drop(s, n);
        s->nactive--;
    } else {
        s->ndone--;
    }
    nd->state = TC_SEEDER_NODE_DEAD;
    s->st.nodes_dead++;
    s->state_dirty = 1;
    slog(s, TC_PROTO_LOG_NOTICE, "seeder: node %u silent for %llu ms: out of the tree", n,
         (unsigned long long)((now - nd->last_heard_ns) / NS_PER_MS));
    if (tc_tree_remove(s->tree, n) == 0)
        apply_changes(s);
    release_pending(s, now);
}

/** A DEAD node was heard again: back into the tree with its old state. */
static void node_revive(struct tc_seeder *s, uint64_t now, uint32_t n)
{
    struct node *nd = &s->nodes[n];

    nd->state = nd->dead_from;
    if (nd->state == TC_SEEDER_NODE_ACTIVE)
        s->nactive++;
    else
        s->ndone++;
    s->state_dirty = 1;
    slog(s, TC_PROTO_LOG_NOTICE, "seeder: node %u heard again: back into the tree", n);
    if (s->dead_scan_at == TC_PROTO_NEVER)
        s->dead_scan_at = now + s->cfg.limits.node_timeout_ns + 1;
    if (tc_tree_add(s->tree, n, nd->slow ? TC_TREE_SLOW : TC_TREE_NORMAL) == 0)
        apply_changes(s);
}

/**
 * Nodes silent past node_timeout_ns are dead. The scan runs when the
 * quietest node in the tree could have timed out (dead_scan_at), but not
 * more often than once per heartbeat interval.
 */
static void dead_scan(struct tc_seeder *s, uint64_t now)
{
    uint64_t quiet = TC_PROTO_NEVER, hb = (uint64_t)s->cfg.limits.heartbeat_ms * NS_PER_MS;
    uint32_t n;

    if (now < s->dead_scan_at)
        return;
    for (n = 0; n < s->nnodes; n++) {
        struct node *nd = &s->nodes[n];

        if (!in_tree(nd))
            continue;
        if (now > nd->last_heard_ns + s->cfg.limits.node_timeout_ns)
            node_dead(s, now, n);
        else if (nd->last_heard_ns < quiet)
            quiet = nd->last_heard_ns;
    }
    if (quiet == TC_PROTO_NEVER)
        s->dead_scan_at = TC_PROTO_NEVER; /* set again when a node enters the tree */
    else
        s->dead_scan_at = quiet + s->cfg.limits.node_timeout_ns + 1 > now + hb
                              ? quiet + s->cfg.limits.node_timeout_ns + 1
                              : now + hb;
}

/**
 * Node n becomes a straggler: a catching-up leaf off the multicast, streamed
 * to by its parent (section 6.9). Not in tree-only sessions (everyone is
 * streamed there), and not while the rate is being cut for loss (everyone
 * losing is the rate's business).
 */
static void demote(struct tc_seeder *s, uint64_t now, uint32_t n, const char *why)
{
    struct node *nd = &s->nodes[n];
    uint32_t p;

    if (nd->slow || s->cfg.tree_only || nd->state != TC_SEEDER_NODE_ACTIVE ||
        now < s->congested_until)
        return;
    nd->slow = 1;
    s->st.stragglers++;
    slog(s, TC_PROTO_LOG_NOTICE, "seeder: node %u %s (%u chunks done): a catching-up leaf now", n,
         why, nd->chunks_done);
    if (tc_tree_mark_slow(s->tree, n) == 0)
        apply_changes(s);
    send_reparent(s, n); /* the LEAF flag, even if the parent stayed */
    /* the parent may not have changed (no change logged): its CHILDREN list
     * must now say STREAM, and if it is us, we stream */
    p = tc_tree_parent(s->tree, n);
    if (p < s->nnodes)
        send_children(s, p);
    streams_sync(s, now);
}

/**
 * REPARENT_REQ: a silent parent is declared dead if we do not hear it
 * either, else the node moves to another parent; BEHIND makes the node a
 * catching-up leaf (straggler). At most one action per node per
 * parent_timeout_ns; a request about a parent the node no longer has gets
 * its current REPARENT again.
 */
static void on_reparent_req(struct tc_seeder *s, uint64_t now, uint32_t n,
                            const struct tc_wire_reparent_req *r)
{
    struct node *nd = &s->nodes[n];
    uint32_t p = tc_tree_parent(s->tree, n), want;

    if (!in_tree(nd))
        return;
    s->st.reparent_reqs++;
    want = p == TC_TREE_ROOT ? TC_WIRE_INDEX_SEEDER : p;
    if (r->reason == TC_WIRE_REPARENT_BEHIND) {
        demote(s, now, n, "cannot keep up with the multicast");
        return;
    }
    if (r->parent_index != want || p == TC_TREE_NONE) {
        send_reparent(s, n);
        return;
    }
    if (nd->reparent_ns != 0 && now < nd->reparent_ns + s->cfg.limits.parent_timeout_ns)
        return;
    nd->reparent_ns = now;
    if (p == TC_TREE_ROOT) {
        send_reparent(s, n);
        return;
    }
    if (now > s->nodes[p].last_heard_ns + s->cfg.limits.node_timeout_ns / 2) {
        node_dead(s, now, p);
        return;
    }
    slog(s, TC_PROTO_LOG_INFO, "seeder: node %u cannot reach its parent %u (reason %u): moved", n,
         p, r->reason);
    if (tc_tree_reparent(s->tree, n) == 0)
        apply_changes(s);
}

/* ------------------------------------------------------------------ */
/* Durable state, restart, EPOCH                                        */

/** Hand a snapshot of the session state to ops->persist if one is due. */
static void persist_maybe(struct tc_seeder *s)
{
    struct tc_seedstate st;
    uint32_t n, k = 0;
    long len;
    int rc;

    if (!s->ops->persist || !s->state_dirty || s->snap_inflight != 0)
        return;
    for (n = 0; n < s->nnodes; n++) {
        const struct node *nd = &s->nodes[n];
        uint8_t state = nd->state == TC_SEEDER_NODE_DEAD ? nd->dead_from : nd->state;
        struct tc_seedstate_node *r = &s->state_nodes[k];

        if (state == TC_SEEDER_NODE_ACTIVE)
            r->state = TC_SEEDSTATE_ACTIVE;
        else if (state == TC_SEEDER_NODE_DONE)
            r->state = TC_SEEDSTATE_DONE;
        else if (state == TC_SEEDER_NODE_RELEASED)
            r->state = TC_SEEDSTATE_RELEASED;
        else
            continue;
        r->index = n;
        memcpy(r->mac, nd->mac, 6);
        r->token = nd->token;
        r->addr = nd->addr.addr;
        r->port = nd->addr.port;
        k++;
    }
    memset(&st, 0, sizeof(st));
    st.session_id = s->session_id;
    st.epoch = s->epoch;
    memcpy(st.image_digest, s->m->image_digest, TC_SHA256_LEN);
    st.nnodes = k;
    st.nodes = s->state_nodes;
    len = tc_seedstate_encode(&st, s->state_buf, s->state_cap);
    if (len < 0) {
        slog(s, TC_PROTO_LOG_ERR, "seeder: cannot encode the session state (%ld)", len);
        return;
    }
    s->state_dirty = 0;
    s->snap_inflight = s->snap_next++;
    s->st.persists++;
    rc = s->ops->persist(s->ctx, s->state_buf, (size_t)len, s->snap_inflight);
    if (rc < 0) {
        slog(s, TC_PROTO_LOG_ERR, "seeder: persisting the session state failed (%d)", rc);
        s->snap_inflight = 0;
        s->state_dirty = 1;
    }
}

/** DONE_ACK to node n. */
static void send_done_ack(struct tc_seeder *s, uint32_t n)
{
    struct tc_wire_msg msg;

    hdr_init(s, &msg, TC_WIRE_DONE_ACK, s->nodes[n].token);
    memcpy(msg.u.done_ack.image_digest, s->m->image_digest, TC_SHA256_LEN);
    queue_msg(s, &msg, s->nodes[n].addr);
}

/** True if node n's DONE is in a durable state (or nothing is persisted). */
static int done_durable(const struct tc_seeder *s, const struct node *nd)
{
    return !s->ops->persist || (nd->done_snap != 0 && nd->done_snap <= s->snap_durable);
}

/** EPOCH to node n (unicast with its token), or to the group (n = UINT32_MAX). */
static void send_epoch(struct tc_seeder *s, uint32_t n)
{
    struct tc_wire_msg msg;

    hdr_init(s, &msg, TC_WIRE_EPOCH, n == UINT32_MAX ? 0 : s->nodes[n].token);
    msg.u.epoch.prev_epoch = s->epoch - 1;
    msg.u.epoch.rejoin_spread_ms = s->cfg.limits.rejoin_spread_ms;
    if (queue_msg(s, &msg, n == UINT32_MAX ? s->cfg.group : s->nodes[n].addr) == 0)
        s->st.epochs_sent++;
}

/** After a restart: EPOCH to every restored node and the group. */
static void epoch_announce(struct tc_seeder *s, uint64_t now)
{
    uint32_t n, copy;

    s->epoch_pending = 0;
    for (copy = 0; copy < TC_SEEDER_EPOCH_COPIES; copy++) {
        if (!s->cfg.tree_only)
            send_epoch(s, UINT32_MAX);
        for (n = 0; n < s->nnodes; n++) {
            if (s->nodes[n].rejoin) {
                send_epoch(s, n);
                s->nodes[n].epoch_ns = now;
            }
        }
    }
}

/**
 * Restore the node table of a persisted state (cfg.restore): same session,
 * epoch + 1; ACTIVE and DONE nodes wait for their re-JOIN (which brings
 * their chunk summary), RELEASED ones stay released.
 */
static int restore_state(struct tc_seeder *s, uint64_t now, struct tc_err *err)
{
    struct tc_seedstate st;
    struct tc_err e = {0};
    char a[2 * TC_SHA256_LEN + 1];
    uint32_t i;
    int rc;

    rc = tc_seedstate_decode(s->cfg.restore, s->cfg.restore_len, &st, s->state_nodes,
                             s->cfg.nodes_max, &e);
    if (rc)
        return tc_err_set(err, rc, "seeder: the saved session state is unusable: %s", e.msg);
    if (memcmp(st.image_digest, s->m->image_digest, TC_SHA256_LEN) != 0)
        return tc_err_set(err, -EINVAL,
                          "seeder: the saved session state is for image %s, not %s: remove it "
                          "to start a new session",
                          tc_hex(a, st.image_digest, TC_SHA256_LEN), s->m->name);
    if (st.epoch == UINT32_MAX)
        return tc_err_set(err, -EINVAL, "seeder: the saved session state has the last epoch");
    s->session_id = st.session_id;
    s->epoch = st.epoch + 1;
    for (i = 0; i < st.nnodes; i++) {
        const struct tc_seedstate_node *r = &st.nodes[i];
        struct node *nd;
        uint32_t n = r->index;

        if (n >= s->cfg.nodes_max)
            return tc_err_set(err, -EINVAL,
                              "seeder: the saved session state names node %u; this seeder "
                              "holds %u nodes",
                              n, s->cfg.nodes_max);
        if (mac_find(s, r->mac) != UINT32_MAX || tok_find(s, r->token) != UINT32_MAX)
            return tc_err_set(err, -EINVAL,
                              "seeder: the saved session state repeats a MAC or token (node %u)",
                              n);
        while (s->nnodes <= n)
            s->nodes[s->nnodes++].state = TC_SEEDER_NODE_FREE;
        nd = &s->nodes[n];
        memset(nd, 0, sizeof(*nd));
        memcpy(nd->mac, r->mac, 6);
        nd->token = r->token;
        nd->addr.addr = r->addr;
        nd->addr.port = r->port;
        nd->parent = TC_WIRE_INDEX_SEEDER;
        nd->depth = 1;
        nd->joined_ns = now;
        nd->last_heard_ns = now;
        mac_insert(s, n);
        tok_insert(s, n);
        s->st.nodes++;
        if (r->state == TC_SEEDSTATE_RELEASED) {
            nd->state = TC_SEEDER_NODE_RELEASED;
            nd->release_reason = TC_WIRE_RELEASE_COMPLETE;
            s->nreleased++;
            s->st.nodes_done++;
            continue;
        }
        /* waits for its re-JOIN: WELCOMED, its address already known */
        nd->state = TC_SEEDER_NODE_WELCOMED;
        nd->rejoin = r->state;
        if (r->state == TC_SEEDSTATE_ACTIVE)
            s->restored_active++;
        if (r->state == TC_SEEDSTATE_DONE) {
            nd->done_snap = 1;  /* durable: it is in the state we read */
            nd->done_acked = 1; /* acknowledged before the restart */
            s->st.nodes_done++;
        }
    }
    s->snap_next = 2;
    s->snap_durable = 1;
    s->state_dirty = 1; /* the new epoch */
    s->epoch_pending = 1;
    s->restored_ns = now ? now : 1;
    slog(s, TC_PROTO_LOG_NOTICE,
         "seeder: session %016llx resumed at epoch %u with %u nodes from the saved state",
         (unsigned long long)s->session_id, s->epoch, st.nnodes);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Rate control                                                        */

/**
 * Every TC_SEEDER_RATE_INTERVAL_REPORTS report intervals (rate_auto): the
 * TC_SEEDER_RATE_PERCENTILE-th percentile of the nodes' excess multicast
 * loss (the direct children's merged loss histograms) moves the rate down
 * by TC_SEEDER_RATE_DOWN_PERMILLE, or up by TC_SEEDER_RATE_STEP_PERMILLE
 * of the maximum while the loss is low and no disk backlog is building.
 */
static void rate_update(struct tc_seeder *s, uint64_t now)
{
    uint64_t hist[TC_WIRE_LOSS_HIST] = {0}, total = 0, want, acc = 0, backlog = 0;
    uint64_t fresh =
        2 * (uint64_t)TC_SEEDER_RATE_INTERVAL_REPORTS * s->cfg.limits.report_ms * NS_PER_MS;
    uint64_t rate = s->cfg.rate_bps, old = rate;
    uint32_t i, b;

    if (!s->cfg.rate_auto || now < s->rate_at)
        return;
    s->rate_at =
        now + (uint64_t)TC_SEEDER_RATE_INTERVAL_REPORTS * s->cfg.limits.report_ms * NS_PER_MS;
    if (!s->in_round)
        return;
    for (i = 0; i < TC_TREE_FANOUT_MAX; i++) {
        const struct child_report *c = &s->rep[i];

        if (c->node == UINT32_MAX || c->rx_ns + fresh < now)
            continue;
        for (b = 0; b < TC_WIRE_LOSS_HIST; b++) {
            hist[b] += c->r.loss_hist[b];
            total += c->r.loss_hist[b];
        }
        if (c->r.backlog_max > backlog)
            backlog = c->r.backlog_max;
    }
    if (total == 0)
        return;
    want = (total * TC_SEEDER_RATE_PERCENTILE + 99) / 100;
    for (b = 0; b < TC_WIRE_LOSS_HIST; b++) {
        acc += hist[b];
        if (acc >= want)
            break;
    }
    if (b > TC_SEEDER_RATE_DOWN_BUCKET) {
        rate -= rate *
                (b >= TC_SEEDER_RATE_STEEP_BUCKET ? TC_SEEDER_RATE_STEEP_PERMILLE
                                                  : TC_SEEDER_RATE_DOWN_PERMILLE) /
                1000;
        if (rate < s->cfg.rate_min_bps)
            rate = s->cfg.rate_min_bps;
        s->congested_until = now + (uint64_t)(TC_SEEDER_RATE_CONGESTED_INTERVALS + 1) *
                                       TC_SEEDER_RATE_INTERVAL_REPORTS * s->cfg.limits.report_ms *
                                       NS_PER_MS;
    } else if (b <= TC_SEEDER_RATE_UP_BUCKET && backlog <= TC_SEEDER_RATE_BACKLOG_BYTES) {
        rate += s->cfg.rate_max_bps * TC_SEEDER_RATE_STEP_PERMILLE / 1000;
        if (rate > s->cfg.rate_max_bps)
            rate = s->cfg.rate_max_bps;
    }
    if (rate == old)
        return;
    pace_refill(s, now);
    s->cfg.rate_bps = rate;
    s->repair_rate_bps = rate * TC_SEEDER_REPAIR_SHARE_PERMILLE / 1000;
    if (s->repair_rate_bps == 0)
        s->repair_rate_bps = 1;
    s->st.rate_bps = rate;
    s->st.rate_changes++;
    if (rate < s->st.rate_min_seen_bps)
        s->st.rate_min_seen_bps = rate;
    slog(s, TC_PROTO_LOG_DEBUG,
         "seeder: rate %llu -> %llu bit/s (p%u excess loss bucket %u of %llu nodes, backlog %llu)",
         (unsigned long long)old, (unsigned long long)rate, TC_SEEDER_RATE_PERCENTILE, b,
         (unsigned long long)total, (unsigned long long)backlog);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */

/** The seeder's own children: cfg root_fanout, or the default capped at the fan-out. */
static uint32_t root_fanout_of(const struct tc_seeder_cfg *c)
{
    if (c->root_fanout != 0)
        return c->root_fanout;
    return c->fanout < TC_SEEDER_ROOT_FANOUT_DEFAULT ? c->fanout : TC_SEEDER_ROOT_FANOUT_DEFAULT;
}

/** Check the configuration; 0 or -EINVAL naming the field. */
static int check_cfg(const struct tc_seeder_cfg *c, const struct tc_seeder_ops *ops,
                     struct tc_err *err)
{
    const struct tc_manifest *m = c->manifest;
    size_t pmax;
    uint32_t rf;

    if (!m || !ops || !ops->send || !ops->random)
        return tc_err_set(err, -EINVAL, "seeder: manifest, send and random are required");
    if (!c->dataless && !ops->chunk_bytes)
        return tc_err_set(err, -EINVAL, "seeder: chunk_bytes is required unless dataless");
    if (!c->dataless && (!c->sigblock || !m->bytes))
        return tc_err_set(err, -EINVAL, "seeder: signature block and manifest bytes required");
    if (c->mtu < TC_WIRE_MTU_MIN || c->mtu > TC_WIRE_MTU_MAX)
        return tc_err_set(err, -EINVAL, "seeder: MTU %u is outside %u..%u", c->mtu, TC_WIRE_MTU_MIN,
                          TC_WIRE_MTU_MAX);
    pmax = tc_wire_data_payload_max(c->mtu);
    if (m->seg_size == 0 && !c->dataless)
        return tc_err_set(err, -EINVAL,
                          "seeder: image %s has no block-hash section (repack it with "
                          "treecast pack --seg-size)",
                          m->name);
    if (m->seg_size != 0 && (m->seg_size < TC_WIRE_SEG_SIZE_MIN || m->seg_size > pmax))
        return tc_err_set(err, -EINVAL,
                          "seeder: image %s: segment size %u does not fit one DATA datagram at "
                          "MTU %u (%u..%zu)",
                          m->name, m->seg_size, c->mtu, TC_WIRE_SEG_SIZE_MIN, pmax);
    if (m->len < 1 || m->len > TC_MANIFEST_LEN_MAX)
        return tc_err_set(err, -EINVAL, "seeder: manifest of %zu bytes", m->len);
    if (c->sigblock_len < 8 || c->sigblock_len > 65536)
        return tc_err_set(err, -EINVAL, "seeder: signature block of %zu bytes is outside 8..65536",
                          c->sigblock_len);
    if (c->rate_auto && (c->rate_max_bps < 1 || c->rate_max_bps > TC_WIRE_RATE_BPS_MAX ||
                         c->rate_min_bps > c->rate_max_bps || c->rate_bps > c->rate_max_bps))
        return tc_err_set(err, -EINVAL,
                          "seeder: --rate auto needs 0 < min (%llu) <= start (%llu) <= max "
                          "(%llu) <= %llu bit/s",
                          (unsigned long long)c->rate_min_bps, (unsigned long long)c->rate_bps,
                          (unsigned long long)c->rate_max_bps, TC_WIRE_RATE_BPS_MAX);
    if (!c->rate_auto && (c->rate_bps < 1 || c->rate_bps > TC_WIRE_RATE_BPS_MAX))
        return tc_err_set(err, -EINVAL, "seeder: rate %llu bit/s is outside 1..%llu",
                          (unsigned long long)c->rate_bps, TC_WIRE_RATE_BPS_MAX);
    if (c->fanout < TC_TREE_FANOUT_MIN || c->fanout > TC_TREE_FANOUT_MAX ||
        c->fanout > TC_WIRE_CHILDREN_MAX)
        return tc_err_set(err, -EINVAL, "seeder: fan-out %u is outside %u..%u", c->fanout,
                          TC_TREE_FANOUT_MIN, TC_TREE_FANOUT_MAX);
    if (c->nodes_max < 1 || c->nodes_max > TC_SEEDER_NODES_MAX)
        return tc_err_set(err, -EINVAL, "seeder: nodes_max %u is outside 1..%u", c->nodes_max,
                          TC_SEEDER_NODES_MAX);
    if (c->root_fanout > c->fanout)
        return tc_err_set(err, -EINVAL, "seeder: root fan-out %u is outside 1..%u (the fan-out)",
                          c->root_fanout, c->fanout);
    rf = root_fanout_of(c);
    if (tc_tree_depth_bound_root(rf, c->fanout, c->nodes_max) > TC_WIRE_DEPTH_MAX)
        return tc_err_set(err, -EINVAL,
                          "seeder: fan-out %u (root fan-out %u) with %u nodes makes a tree %u "
                          "levels deep; the wire allows %u (raise the fan-outs or lower "
                          "nodes_max)",
                          c->fanout, rf, c->nodes_max,
                          tc_tree_depth_bound_root(rf, c->fanout, c->nodes_max), TC_WIRE_DEPTH_MAX);
    if (!c->tree_only && (!(c->group.addr >> 28 == 0xe) || c->group.port == 0))
        return tc_err_set(err, -EINVAL, "seeder: group %08x port %u is not a multicast group",
                          c->group.addr, c->group.port);
    if (c->limits.heartbeat_ms < TC_WIRE_INTERVAL_MS_MIN ||
        c->limits.heartbeat_ms > TC_WIRE_INTERVAL_MS_MAX ||
        c->limits.report_ms < TC_WIRE_INTERVAL_MS_MIN ||
        c->limits.report_ms > TC_WIRE_INTERVAL_MS_MAX)
        return tc_err_set(err, -EINVAL, "seeder: heartbeat %u ms / report %u ms outside %u..%u",
                          c->limits.heartbeat_ms, c->limits.report_ms, TC_WIRE_INTERVAL_MS_MIN,
                          TC_WIRE_INTERVAL_MS_MAX);
    if (c->limits.admit_per_s < 1 || c->limits.admit_burst < 1)
        return tc_err_set(err, -EINVAL, "seeder: admission %u/s burst %u must be >= 1",
                          c->limits.admit_per_s, c->limits.admit_burst);
    return 0;
}

/**
 * Create a seeder: validate cfg, draw the session id, compute the manifest
 * hash list and the WELCOME digests, allocate every table. Returns 0,
 * -EINVAL (named in err) or -ENOMEM.
 */
int tc_seeder_new(struct tc_seeder **out, const struct tc_seeder_cfg *cfg,
                  const struct tc_seeder_ops *ops, void *ctx, uint64_t now, struct tc_err *err)
{
    const struct tc_manifest *m = cfg->manifest;
    struct tc_tree_params tp;
    struct tc_seeder *s;
    uint64_t chash_len = 0, words;
    uint32_t i, cc, ht_size;
    int rc;

    *out = NULL;
    rc = check_cfg(cfg, ops, err);
    if (rc)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s)
        return tc_err_set(err, -ENOMEM, "seeder: out of memory");
    s->cfg = *cfg;
    s->cfg.root_fanout = root_fanout_of(cfg);
    if (cfg->rate_auto) {
        if (s->cfg.rate_bps == 0)
            s->cfg.rate_bps = cfg->rate_max_bps * TC_SEEDER_RATE_START_PERMILLE / 1000;
        if (s->cfg.rate_min_bps == 0)
            s->cfg.rate_min_bps = cfg->rate_max_bps / 100;
        if (s->cfg.rate_min_bps == 0)
            s->cfg.rate_min_bps = 1;
        if (s->cfg.rate_bps < s->cfg.rate_min_bps)
            s->cfg.rate_bps = s->cfg.rate_min_bps;
    }
    s->ops = ops;
    s->ctx = ctx;
    s->m = m;
    s->cops = cfg->chunk_ops ? cfg->chunk_ops : &tc_chunk_ops_default;
    cc = m->chunk_count;
    s->seg_size = m->seg_size ? m->seg_size : (uint32_t)tc_wire_data_payload_max(cfg->mtu);
    s->block_len = tc_proto_block_len(cfg->mtu, s->seg_size);
    assert(s->block_len >= s->seg_size);
    s->epoch = 1;
    do
        s->session_id = ops->random(ctx);
    while (s->session_id == 0);
    s->hash_key = ops->random(ctx);
    s->mhash_len = tc_proto_nsegs(m->len, s->seg_size) * TC_WIRE_SEG_HASH_LEN;
    if (s->mhash_len > TC_WIRE_MANIFEST_HASHES_LEN_MAX) {
        rc = tc_err_set(err, -EINVAL, "seeder: manifest hash list of %u bytes is too long",
                        s->mhash_len);
        goto err_free;
    }
    tp.nodes_max = cfg->nodes_max;
    tp.fanout = cfg->fanout;
    tp.root_fanout = s->cfg.root_fanout;
    tp.catchup_max = cfg->catchup_max ? cfg->catchup_max : TC_SEEDER_CATCHUP_DEFAULT;
    if (tp.catchup_max > cfg->fanout)
        tp.catchup_max = cfg->fanout;
    rc = tc_tree_new(&s->tree, &tp, err);
    if (rc)
        goto err_free;
    for (ht_size = 1; ht_size < 2 * cfg->nodes_max; ht_size *= 2)
        ;
    s->ht_mask = ht_size - 1;
    s->row_words = (cc + 63) / 64;
    words = (uint64_t)cfg->nodes_max * s->row_words;
    s->nodes = calloc(cfg->nodes_max, sizeof(*s->nodes));
    s->mac_ht = calloc(ht_size, sizeof(uint32_t));
    s->tok_ht = calloc(ht_size, sizeof(uint32_t));
    s->needs = calloc(words ? words : 1, sizeof(uint64_t));
    s->need_count = calloc(cc ? cc : 1, sizeof(uint32_t));
    s->forced = calloc(s->row_words ? s->row_words : 1, sizeof(uint64_t));
    s->last_sent = calloc(cc ? cc : 1, sizeof(uint64_t));
    s->dirty = calloc(DIRTY_MAX, sizeof(uint32_t));
    s->gq_max = TC_SEEDER_GATHER_PER_FANOUT * s->cfg.root_fanout;
    s->gq = calloc(s->gq_max, sizeof(*s->gq));
    s->ev = calloc((size_t)s->gq_max * TC_WIRE_RANGES_MAX * 2, sizeof(*s->ev));
    s->rep = calloc(TC_TREE_FANOUT_MAX, sizeof(*s->rep));
    s->nstreams_max = s->cfg.root_fanout + tp.catchup_max;
    s->streams = calloc(s->nstreams_max, sizeof(*s->streams));
    s->err_text = calloc(cfg->nodes_max, TC_SEEDER_NODE_ERROR_MAX);
    if (ops->persist || cfg->restore) {
        s->state_cap = TC_SEEDSTATE_LEN(cfg->nodes_max);
        s->state_buf = malloc(s->state_cap);
        s->state_nodes = calloc(cfg->nodes_max, sizeof(*s->state_nodes));
        if (!s->state_buf || !s->state_nodes) {
            rc = tc_err_set(err, -ENOMEM, "seeder: out of memory for the session state");
            goto err_free;
        }
    }
    s->buf_cap = (size_t)cfg->mtu - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN;
    s->bufs = malloc(TC_SEEDER_BATCH_MAX * s->buf_cap);
    if (!s->nodes || !s->mac_ht || !s->tok_ht || !s->needs || !s->need_count || !s->forced ||
        !s->last_sent || !s->dirty || !s->gq || !s->ev || !s->rep || !s->bufs || !s->streams ||
        !s->err_text) {
        rc = tc_err_set(err, -ENOMEM, "seeder: out of memory for %u nodes x %u chunks",
                        cfg->nodes_max, cc);
        goto err_free;
    }
    for (i = 0; i < TC_TREE_FANOUT_MAX; i++)
        s->rep[i].node = UINT32_MAX;
    for (i = 0; i < s->nstreams_max; i++)
        s->streams[i].node = UINT32_MAX;
    if (!cfg->dataless) {
        s->chash_off = calloc((size_t)cc + 1, sizeof(uint64_t));
        s->chash_ok = calloc(s->row_words ? s->row_words : 1, sizeof(uint64_t));
        if (!s->chash_off || !s->chash_ok) {
            rc = tc_err_set(err, -ENOMEM, "seeder: out of memory for %u chunk hash lists", cc);
            goto err_free;
        }
        for (i = 0; i < cc; i++) {
            s->chash_off[i] = chash_len;
            chash_len += (uint64_t)tc_proto_nsegs(m->chunks[i].stored_len, s->seg_size) *
                         TC_WIRE_SEG_HASH_LEN;
        }
        s->chash_off[cc] = chash_len;
        s->chash = malloc(chash_len ? chash_len : 1);
        s->mhash = malloc(s->mhash_len);
        if (!s->chash || !s->mhash) {
            rc = tc_err_set(err, -ENOMEM, "seeder: out of memory for %llu bytes of hash lists",
                            (unsigned long long)chash_len);
            goto err_free;
        }
        tc_proto_hash_list(s->cops, m->bytes, m->len, s->seg_size, s->mhash);
        tc_sha256(m->bytes, m->len, s->digest_man);
        tc_sha256(s->mhash, s->mhash_len, s->digest_mhash);
        tc_sha256(cfg->sigblock, cfg->sigblock_len, s->digest_sig);
    }
    /* a datagram must always fit the bucket, whatever pace_burst_bytes says */
    s->pace_max = (int64_t)(cfg->limits.pace_burst_bytes > block_cost(s->block_len)
                                ? cfg->limits.pace_burst_bytes
                                : block_cost(s->block_len)) *
                  PACE_UNITS_PER_BYTE;
    s->pace_wake = (int64_t)TC_SEEDER_PACE_WAKE_BYTES * PACE_UNITS_PER_BYTE;
    if (s->pace_wake > s->pace_max / 2)
        s->pace_wake = s->pace_max / 2;
    s->pace = s->pace_max;
    s->pace_ns = now;
    s->repair_rate_bps = s->cfg.rate_bps * TC_SEEDER_REPAIR_SHARE_PERMILLE / 1000;
    if (s->repair_rate_bps == 0)
        s->repair_rate_bps = 1;
    s->repair_max = 2 * s->pace_wake * TC_SEEDER_REPAIR_BURSTS;
    s->repair = s->repair_max;
    s->admit_max = (int64_t)cfg->limits.admit_burst * ADMIT_UNITS_PER_JOIN;
    s->admit = s->admit_max;
    s->admit_ns = now;
    s->gather_deadline = TC_PROTO_NEVER;
    s->snap_next = 1;
    s->now_ns = now;
    s->dead_scan_at = TC_PROTO_NEVER;
    s->rate_at = now;
    s->st.rate_bps = s->cfg.rate_bps;
    s->st.rate_min_seen_bps = s->cfg.rate_bps;
    if (cfg->restore) {
        rc = restore_state(s, now, err);
        if (rc)
            goto err_free;
    }
    *out = s;
    return 0;

err_free:
    tc_seeder_free(s);
    return rc;
}

/** Free a seeder (NULL is fine). */
void tc_seeder_free(struct tc_seeder *s)
{
    if (!s)
        return;
    tc_tree_free(s->tree);
    free(s->nodes);
    free(s->mac_ht);
    free(s->tok_ht);
    free(s->needs);
    free(s->need_count);
    free(s->forced);
    free(s->last_sent);
    free(s->dirty);
    free(s->gq);
    free(s->ev);
    free(s->rep);
    free(s->streams);
    free(s->err_text);
    free(s->state_buf);
    free(s->state_nodes);
    free(s->bufs);
    free(s->chash_off);
    free(s->chash_ok);
    free(s->chash);
    free(s->mhash);
    free(s);
}

/**
 * A datagram from `from`. Decoding errors count rx_bad; a wrong session,
 * epoch, token or address counts rx_forged; neither is answered. JOIN is
 * answered by WELCOME or REJECT (never larger). Returns 0 or the fatal
 * error that stopped the seeder.
 */
int tc_seeder_on_packet(struct tc_seeder *s, uint64_t now, struct tc_proto_peer from,
                        const uint8_t *buf, size_t len)
{
    struct tc_wire_msg msg;
    uint32_t n;

    s->st.rx_dgrams++;
    s->now_ns = now;
    if (s->fatal)
        return s->fatal;
    if (tc_wire_decode(buf, len, &msg) != 0) {
        s->st.rx_bad++;
        return 0;
    }
    if (msg.hdr.type == TC_WIRE_JOIN) {
        on_join(s, now, from, &msg);
        flush(s);
        return 0;
    }
    switch (msg.hdr.type) {
    case TC_WIRE_HEARTBEAT:
    case TC_WIRE_REPAIR_REQ:
    case TC_WIRE_REPORT:
    case TC_WIRE_DONE:
    case TC_WIRE_LOG:
    case TC_WIRE_REPARENT_REQ:
    case TC_WIRE_ACK:
        break;
    default:
        /* what only the seeder or a parent sends */
        s->st.rx_forged++;
        return 0;
    }
    n = auth(s, from, &msg.hdr);
    if (n == UINT32_MAX) {
        flush(s);
        return 0;
    }
    s->nodes[n].last_heard_ns = now;
    if (s->nodes[n].state == TC_SEEDER_NODE_DEAD)
        node_revive(s, now, n);
    if (s->nodes[n].state == TC_SEEDER_NODE_WELCOMED && msg.hdr.type != TC_WIRE_HEARTBEAT) {
        /* nothing but the proof from an unproven address */
        s->st.rx_forged++;
        return 0;
    }
    switch (msg.hdr.type) {
    case TC_WIRE_HEARTBEAT:
        on_heartbeat(s, now, n, &msg.u.heartbeat);
        break;
    case TC_WIRE_REPAIR_REQ:
        on_repair(s, now, n, &msg.u.repair_req);
        break;
    case TC_WIRE_REPORT:
        on_report(s, now, n, &msg.u.report);
        break;
    case TC_WIRE_DONE:
        on_done(s, now, n, &msg.u.done);
        break;
    case TC_WIRE_LOG:
        on_log(s, n, &msg.u.log);
        break;
    case TC_WIRE_REPARENT_REQ:
        on_reparent_req(s, now, n, &msg.u.reparent_req);
        break;
    case TC_WIRE_ACK:
        on_ack(s, now, n, &msg.u.ack);
        break;
    default:
        break;
    }
    persist_maybe(s);
    maybe_start(s, now);
    flush(s);
    return s->fatal;
}

/** Run what is due at now: gathered repairs, the first round's start, paced round blocks. */
int tc_seeder_on_timer(struct tc_seeder *s, uint64_t now)
{
    uint32_t i;

    s->now_ns = now;
    if (s->fatal)
        return s->fatal;
    pace_refill(s, now);
    if (s->epoch_pending)
        epoch_announce(s, now);
    dead_scan(s, now);
    rate_update(s, now);
    if (s->ngq > 0 && now >= s->gather_deadline)
        gather_flush(s, now);
    for (i = 0; i < s->nstreams_max; i++)
        if (s->streams[i].node != UINT32_MAX && tc_stream_tx_deadline(&s->streams[i].tx) <= now)
            tc_stream_tx_on_timer(&s->streams[i].tx, now);
    persist_maybe(s);
    maybe_start(s, now);
    pump(s, now);
    flush(s);
    return s->fatal;
}

/** A persist completed: DONEs it holds are acknowledged now. */
int tc_seeder_on_persisted(struct tc_seeder *s, uint64_t now, uint64_t cookie, int rc)
{
    uint32_t n;

    s->now_ns = now;
    if (s->fatal)
        return s->fatal;
    if (cookie == 0 || cookie != s->snap_inflight)
        return 0;
    s->snap_inflight = 0;
    if (rc < 0) {
        slog(s, TC_PROTO_LOG_ERR, "seeder: saving the session state failed (%d): DONEs wait", rc);
        s->state_dirty = 1;
    } else {
        s->snap_durable = (uint32_t)cookie;
        for (n = 0; n < s->nnodes; n++) {
            struct node *nd = &s->nodes[n];

            if (nd->state == TC_SEEDER_NODE_DONE && !nd->done_acked && done_durable(s, nd)) {
                send_done_ack(s, n);
                nd->done_acked = 1;
                rel_push(s, n);
                if (s->nrel == RELEASE_STACK_MAX)
                    release_pending(s, now);
            }
        }
        release_pending(s, now);
    }
    persist_maybe(s);
    flush(s);
    return s->fatal;
}

/** When on_timer wants to run next: the next affordable round block, gather, start. */
uint64_t tc_seeder_next_deadline(const struct tc_seeder *s)
{
    uint64_t d = TC_PROTO_NEVER, t;
    int64_t need;
    uint32_t len;

    if (s->fatal)
        return TC_PROTO_NEVER;
    if (s->ngq > 0)
        d = s->gather_deadline;
    if (s->epoch_pending)
        return s->now_ns;
    if (s->dead_scan_at < d)
        d = s->dead_scan_at;
    if (s->cfg.rate_auto && s->in_round && s->rate_at < d)
        d = s->rate_at;
    if (s->state_dirty && s->ops->persist && s->snap_inflight == 0)
        return s->now_ns;
    for (uint32_t i = 0; i < s->nstreams_max; i++) {
        if (s->streams[i].node == UINT32_MAX)
            continue;
        t = tc_stream_tx_deadline(&s->streams[i].tx);
        if (t < d)
            d = t;
    }
    if (s->in_round) {
        if (s->off >= s->cur.len) {
            t = s->pace_ns;
        } else {
            /* Wake when a wake size (or the rest of the object) is
             * affordable, not at every block: the datagrams then leave in
             * batches (sendmmsg, the simulator's trains) at the same rate. */
            uint64_t rest = s->cur.len - s->off, want;
            uint32_t nblk = (uint32_t)((rest + s->block_len - 1) / s->block_len);

            len = rest < s->block_len ? (uint32_t)rest : s->block_len;
            want = rest + (uint64_t)nblk * (DATA_HDR_BYTES + TC_PROTO_WIRE_OVERHEAD);
            if (want > (uint64_t)(s->pace_wake / PACE_UNITS_PER_BYTE))
                want = (uint64_t)(s->pace_wake / PACE_UNITS_PER_BYTE);
            if (want < block_cost(len))
                want = block_cost(len);
            need = (int64_t)want * PACE_UNITS_PER_BYTE - s->pace;
            t = s->pace_ns;
            if (need > 0)
                t += ((uint64_t)need + s->cfg.rate_bps - 1) / s->cfg.rate_bps;
        }
        if (t < s->hold_until)
            t = s->hold_until;
        if (t < d)
            d = t;
    } else if (!s->started && s->first_proof_ns != 0 && !s->cfg.tree_only) {
        t = s->restored_ns ? s->restored_ns + (uint64_t)TC_SEEDER_RESTART_WAIT_SPREADS *
                                                  s->cfg.limits.rejoin_spread_ms * NS_PER_MS
                           : s->first_proof_ns + s->cfg.start_wait_ns;
        if (t < d)
            d = t;
    }
    return d;
}

/** The counters. */
const struct tc_seeder_stats *tc_seeder_stats(const struct tc_seeder *s)
{
    return &s->st;
}

/** Node index's state as the seeder sees it; -ENOENT if no such node. */
int tc_seeder_node(const struct tc_seeder *s, uint32_t index, struct tc_seeder_node_info *out)
{
    const struct node *nd;

    if (index >= s->nnodes)
        return -ENOENT;
    nd = &s->nodes[index];
    memset(out, 0, sizeof(*out));
    out->state = (enum tc_seeder_node_state)nd->state;
    memcpy(out->node_id, nd->mac, 6);
    out->addr = nd->addr;
    out->parent = nd->parent;
    out->depth = nd->depth;
    out->chunks_done = nd->chunks_done;
    out->joined_ns = nd->joined_ns;
    out->done_ns = nd->done_ns;
    out->slow = nd->slow;
    out->covered = nd->covered;
    out->unicast_bytes = nd->unicast_bytes;
    out->loss_known = nd->loss_seen;
    out->loss_bucket = nd->loss_bucket;
    out->error_level = nd->err_level;
    memcpy(out->last_error, s->err_text + (size_t)index * TC_SEEDER_NODE_ERROR_MAX,
           sizeof(out->last_error));
    return 0;
}

/** The session id. */
uint64_t tc_seeder_session_id(const struct tc_seeder *s)
{
    return s->session_id;
}

/** The epoch. */
uint32_t tc_seeder_epoch(const struct tc_seeder *s)
{
    return s->epoch;
}

/** True when every proven node has been released (and there was one). */
int tc_seeder_finished(const struct tc_seeder *s)
{
    return s->nreleased > 0 && s->nactive == 0 && s->ndone == 0;
}
