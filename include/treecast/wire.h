/* SPDX-License-Identifier: MIT */
/*
 * The treecast UDP wire format, version 1: encode and decode of every
 * datagram of the protocol (docs/protocol.md is the spec).
 *
 * Every datagram is a fixed 28-byte header (magic, version, type, flags,
 * session id, epoch, token) and a per-type body. Fields are read and written
 * with the be.h helpers at named offsets, never by casting a buffer to a
 * struct. Every length and count is checked against its named limit before it
 * is used; reserved bytes and padding must be zero; nothing may follow the
 * body. So a datagram that decodes re-encodes to exactly the same bytes.
 *
 * This module makes no system call and keeps no state: the seeder and agent
 * state machines (issue 3) check what only they can know (the token matches,
 * the offset is inside the chunk the manifest describes, the sender is the
 * registered parent).
 */
#ifndef TREECAST_WIRE_H
#define TREECAST_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/manifest.h"

/** "TCWP": first four bytes of every datagram. */
#define TC_WIRE_MAGIC 0x54435750u
/** Wire format version written and accepted (another value: -EPROTO). */
#define TC_WIRE_VERSION 1
/** Common header, bytes. */
#define TC_WIRE_HDR_LEN 28

/** IPv4 header (no options) and UDP header, bytes. */
#define TC_WIRE_IPV4_HDR_LEN 20
#define TC_WIRE_UDP_HDR_LEN 8
/** Session MTUs accepted, bytes of IP datagram (1280 .. 9000). */
#define TC_WIRE_MTU_MIN 1280
#define TC_WIRE_MTU_MAX 9000
/** Largest datagram payload (UDP payload) we ever build: MTU 9000, bytes. */
#define TC_WIRE_DGRAM_MAX (TC_WIRE_MTU_MAX - TC_WIRE_IPV4_HDR_LEN - TC_WIRE_UDP_HDR_LEN)

/** Datagram types (values are on the wire: never renumber). */
enum tc_wire_type {
    TC_WIRE_JOIN = 1,          /**< node -> seeder: ask to join */
    TC_WIRE_WELCOME = 2,       /**< seeder -> node: admitted, here is the session */
    TC_WIRE_REJECT = 3,        /**< seeder -> node: not admitted (reason, retry after) */
    TC_WIRE_DATA = 4,          /**< one block of an object (multicast or unicast) */
    TC_WIRE_REPAIR_REQ = 5,    /**< child -> parent: byte ranges of one object it misses */
    TC_WIRE_REPORT = 6,        /**< child -> parent -> seeder: merged missing counts */
    TC_WIRE_DONE = 7,          /**< node -> seeder: image written, verified, fsynced */
    TC_WIRE_DONE_ACK = 8,      /**< seeder -> node: DONE is durable at the seeder */
    TC_WIRE_RELEASE = 9,       /**< seeder -> node: stop serving children, hand off */
    TC_WIRE_HEARTBEAT = 10,    /**< node <-> parent or seeder: liveness and progress */
    TC_WIRE_REPARENT_REQ = 11, /**< node -> seeder: my parent is silent, give me another */
    TC_WIRE_REPARENT = 12,     /**< seeder -> node: your parent is now ... */
    TC_WIRE_CHILDREN = 13,     /**< seeder -> parent: the children you serve */
    TC_WIRE_LOG = 14,          /**< node -> seeder: one agent log line */
    TC_WIRE_ACK = 15,          /**< child -> parent (tree-only): cumulative ack, window */
    TC_WIRE_EPOCH = 16,        /**< seeder -> group or node: the epoch changed, re-JOIN */
    TC_WIRE_TYPE_MAX = 16,
};

/* Header flags, per type (bits not listed for a type must be 0). */
/** JOIN: the pin field holds an exact image digest to insist on. */
#define TC_WIRE_JOIN_F_PIN 0x0001u
/** WELCOME: tree-only session (no multicast group; data comes from the parent). */
#define TC_WIRE_WELCOME_F_TREE_ONLY 0x0001u
/** DATA: unicast from the parent (repair or tree-only), token = the child's. */
#define TC_WIRE_DATA_F_UNICAST 0x0001u
/** REPARENT: you are (now) a leaf: expect no children (straggler demotion). */
#define TC_WIRE_REPARENT_F_LEAF 0x0001u

/*
 * Limits (units in the names or the comments). Each one is enforced by both
 * tc_wire_encode() (-E2BIG or -EINVAL) and tc_wire_decode() (-E2BIG or
 * -EBADMSG).
 */
/** JOIN: most runs of held chunks (the longest JOIN is 188 + 8 x 128 = 1,212 bytes). */
#define TC_WIRE_JOIN_RUNS_MAX 128
/** JOIN: a JOIN shorter than this is zero-padded to it (WELCOME <= JOIN). */
#define TC_WIRE_JOIN_MIN_LEN 256
/** WELCOME: fixed length, bytes (header included). */
#define TC_WIRE_WELCOME_LEN 184
/** Image name and minimum version carried in a JOIN, bytes. */
#define TC_WIRE_NAME_MAX TC_NAME_MAX
#define TC_WIRE_VERSION_STR_MAX TC_VERSION_MAX
/** Integrity segment size, bytes (see docs/protocol.md, block integrity). */
#define TC_WIRE_SEG_SIZE_MIN 512
#define TC_WIRE_SEG_SIZE_MAX 8932
/** DATA body header, bytes, and the largest block payload (MTU 9000), bytes. */
#define TC_WIRE_DATA_HDR_LEN 12
#define TC_WIRE_DATA_PAYLOAD_MAX (TC_WIRE_DGRAM_MAX - TC_WIRE_HDR_LEN - TC_WIRE_DATA_HDR_LEN)
/** Block payload at MTU 1500 and 9000, bytes. */
#define TC_WIRE_DATA_PAYLOAD_1500 1432
#define TC_WIRE_DATA_PAYLOAD_9000 8932
/** REPAIR_REQ: most (offset, len) ranges of one object per request. */
#define TC_WIRE_RANGES_MAX 64
/** REPORT: most per-object entries per datagram. */
#define TC_WIRE_REPORT_ENTRIES_MAX 64
/** REPORT: buckets of the per-entry histogram and of the loss histogram. */
#define TC_WIRE_REPORT_HIST 3
#define TC_WIRE_LOSS_HIST 8
/** Most nodes in one session (node counts are 16-bit on the wire). */
#define TC_WIRE_NODES_MAX 65535
/** CHILDREN: most children of one parent (the tree's largest fan-out). */
#define TC_WIRE_CHILDREN_MAX 32
/** LOG: longest text of one log line, bytes. */
#define TC_WIRE_LOG_TEXT_MAX 512
/** LOG: syslog levels 0 (emerg) .. 7 (debug). */
#define TC_WIRE_LOG_LEVEL_MAX 7
/** ACK: most selective-ack ranges. */
#define TC_WIRE_SACK_MAX 8
/** Rates, bits per second (WELCOME). */
#define TC_WIRE_RATE_BPS_MAX 400000000000ull
/** Heartbeat and report intervals, milliseconds. */
#define TC_WIRE_INTERVAL_MS_MIN 10
#define TC_WIRE_INTERVAL_MS_MAX 600000
/** Retry-after (REJECT), silence (REPARENT_REQ), re-JOIN spread (EPOCH), ms. */
#define TC_WIRE_DELAY_MS_MAX 3600000
/** Largest object offset + length per object kind, bytes. */
#define TC_WIRE_CHUNK_HASHES_LEN_MAX                                                               \
    (((TC_CHUNK_SIZE_WIRE_MAX + TC_WIRE_SEG_SIZE_MIN - 1) / TC_WIRE_SEG_SIZE_MIN) *                \
     TC_WIRE_SEG_HASH_LEN)
#define TC_WIRE_MANIFEST_HASHES_LEN_MAX                                                            \
    (((TC_MANIFEST_LEN_MAX + TC_WIRE_SEG_SIZE_MIN - 1) / TC_WIRE_SEG_SIZE_MIN) *                   \
     TC_WIRE_SEG_HASH_LEN)
/** One segment hash in a hash list: the first 16 bytes of a SHA-256, bytes. */
#define TC_WIRE_SEG_HASH_LEN 16
/** Deepest node in the tree (the seeder's children are at depth 1). */
#define TC_WIRE_DEPTH_MAX 16
/** ACK: largest receive window, bytes. */
#define TC_WIRE_WINDOW_MAX (64u * 1024 * 1024)
/** parent_index meaning "the seeder". */
#define TC_WIRE_INDEX_SEEDER 0xffffffffu

/** Objects a DATA block belongs to (values are on the wire: never renumber). */
enum tc_wire_obj {
    TC_WIRE_OBJ_MANIFEST = 1,        /**< the serialized manifest (index 0) */
    TC_WIRE_OBJ_SIGBLOCK = 2,        /**< the signature block (index 0) */
    TC_WIRE_OBJ_CHUNK = 3,           /**< stored bytes of chunk `index` */
    TC_WIRE_OBJ_CHUNK_HASHES = 4,    /**< segment hash list of chunk `index` */
    TC_WIRE_OBJ_MANIFEST_HASHES = 5, /**< segment hash list of the manifest (index 0) */
    TC_WIRE_OBJ_MAX = 5,
};

/** REJECT reasons. */
enum tc_wire_reject {
    TC_WIRE_REJECT_BUSY = 1,       /**< admission rate reached: retry after retry_after_ms */
    TC_WIRE_REJECT_NO_IMAGE = 2,   /**< the wanted image (name, version, pin) is not served */
    TC_WIRE_REJECT_DISK_SMALL = 3, /**< disk_size below the image's raw size */
    TC_WIRE_REJECT_FULL = 4,       /**< the session holds TC_WIRE_NODES_MAX nodes */
    TC_WIRE_REJECT_ENDED = 5,      /**< the session is over */
    TC_WIRE_REJECT_MAX = 5,
};

/** Node states in a HEARTBEAT (TC_WIRE_STATE_NONE: sent by a parent or the seeder). */
enum tc_wire_state {
    TC_WIRE_STATE_NONE = 0,
    TC_WIRE_STATE_MANIFEST = 1,  /**< fetching and checking the manifest */
    TC_WIRE_STATE_RECEIVING = 2, /**< receiving chunks */
    TC_WIRE_STATE_FINISHING = 3, /**< all verified: first chunk, fsync */
    TC_WIRE_STATE_DONE = 4,      /**< DONE sent, waiting for DONE_ACK */
    TC_WIRE_STATE_LINGER = 5,    /**< DONE acknowledged, serving children */
    TC_WIRE_STATE_MAX = 5,
};

/** RELEASE reasons. */
enum tc_wire_release {
    TC_WIRE_RELEASE_COMPLETE = 1,    /**< every node is done */
    TC_WIRE_RELEASE_NO_CHILDREN = 2, /**< your children are all done or reparented */
    TC_WIRE_RELEASE_OPERATOR = 3,    /**< the operator ended the session */
    TC_WIRE_RELEASE_MAX = 3,
};

/** REPARENT_REQ reasons. */
enum tc_wire_reparent_why {
    TC_WIRE_REPARENT_SILENT = 1,  /**< no heartbeat within the dead-peer timeout */
    TC_WIRE_REPARENT_REFUSED = 2, /**< the parent refuses our requests */
    TC_WIRE_REPARENT_SLOW = 3,    /**< repairs arrive slower than the named limit */
    TC_WIRE_REPARENT_BEHIND = 4,  /**< this node cannot keep up with the multicast:
                                       make it a catching-up leaf (straggler) */
    TC_WIRE_REPARENT_WHY_MAX = 4,
};

/** The common header. */
struct tc_wire_hdr {
    uint8_t type;        /**< enum tc_wire_type */
    uint16_t flags;      /**< TC_WIRE_*_F_* of that type */
    uint64_t session_id; /**< random, non-zero (JOIN: 0 = any session) */
    uint32_t epoch;      /**< seeder epoch, >= 1 (JOIN: 0 = none known) */
    uint64_t token;      /**< the node's token (see docs/protocol.md), 0 where none */
};

/** A run of chunk indexes held: [first, first + count). */
struct tc_wire_run {
    uint32_t first; /**< first chunk index */
    uint32_t count; /**< chunks, >= 1 */
};

struct tc_wire_join {
    uint8_t node_id[6];                        /**< MAC, unicast, not all zero */
    uint16_t mtu;                              /**< node's link MTU */
    uint64_t nonce;                            /**< random, non-zero; echoed in WELCOME/REJECT */
    uint64_t disk_size;                        /**< target size, bytes */
    uint32_t attempt;                          /**< JOINs sent before this one */
    uint8_t name_len;                          /**< 1..TC_WIRE_NAME_MAX */
    uint8_t min_version_len;                   /**< 0..TC_WIRE_VERSION_STR_MAX */
    char name[TC_WIRE_NAME_MAX];               /**< wanted image name (no NUL) */
    char min_version[TC_WIRE_VERSION_STR_MAX]; /**< minimum version (no NUL) */
    uint8_t pin[TC_SHA256_LEN];                /**< image digest if F_PIN, else 0 */
    uint16_t nruns;                            /**< 0..TC_WIRE_JOIN_RUNS_MAX */
    struct tc_wire_run runs[TC_WIRE_JOIN_RUNS_MAX]; /**< sorted, disjoint, not adjacent */
};

struct tc_wire_welcome {
    uint64_t nonce;                                /**< the JOIN's nonce */
    uint32_t node_index;                           /**< < TC_WIRE_NODES_MAX */
    uint32_t group_addr;                           /**< IPv4 multicast (0 if tree-only) */
    uint16_t group_port;                           /**< UDP port (0 if tree-only) */
    uint16_t mtu;                                  /**< session MTU */
    uint32_t parent_addr;                          /**< IPv4; 0 = the seeder */
    uint16_t parent_port;                          /**< UDP port; 0 = the seeder */
    uint16_t seg_size;                             /**< integrity segment, bytes */
    uint32_t parent_index;                         /**< node index or TC_WIRE_INDEX_SEEDER */
    uint64_t rate_bps;                             /**< current multicast rate */
    uint32_t manifest_len;                         /**< bytes */
    uint32_t sigblock_len;                         /**< bytes */
    uint32_t heartbeat_ms;                         /**< heartbeat interval */
    uint32_t report_ms;                            /**< report interval */
    uint16_t depth;                                /**< 1 = child of the seeder */
    uint8_t manifest_digest[TC_SHA256_LEN];        /**< SHA-256 of the manifest bytes */
    uint8_t manifest_hashes_digest[TC_SHA256_LEN]; /**< SHA-256 of its segment hash list */
    uint8_t sigblock_digest[TC_SHA256_LEN];        /**< SHA-256 of the signature block */
};

struct tc_wire_reject_msg {
    uint64_t nonce;          /**< the JOIN's nonce */
    uint16_t reason;         /**< enum tc_wire_reject */
    uint32_t retry_after_ms; /**< <= TC_WIRE_DELAY_MS_MAX; 0 = do not retry */
};

/**
 * One block. payload points into the buffer given to tc_wire_decode(): it is
 * valid only as long as that buffer is, and the caller must copy it (after
 * checking it against its segment hashes) to keep it.
 */
struct tc_wire_data {
    uint8_t object;         /**< enum tc_wire_obj */
    uint32_t index;         /**< chunk index (CHUNK, CHUNK_HASHES), else 0 */
    uint32_t offset;        /**< byte offset in the object's stored bytes */
    uint16_t len;           /**< 1..TC_WIRE_DATA_PAYLOAD_MAX */
    const uint8_t *payload; /**< len bytes (not owned) */
};

/** A byte range of an object. */
struct tc_wire_range {
    uint32_t offset; /**< bytes */
    uint32_t len;    /**< bytes, >= 1 */
};

struct tc_wire_repair_req {
    uint8_t object;                                  /**< enum tc_wire_obj */
    uint32_t index;                                  /**< as in DATA */
    uint16_t nranges;                                /**< 1..TC_WIRE_RANGES_MAX */
    struct tc_wire_range ranges[TC_WIRE_RANGES_MAX]; /**< sorted, disjoint, not adjacent */
};

/**
 * Missing segments of one object below a node. Merged in constant space:
 * max_missing is the maximum, hist[] the sum (saturating) of the children's.
 */
struct tc_wire_report_entry {
    uint8_t object;                     /**< enum tc_wire_obj */
    uint32_t index;                     /**< as in DATA */
    uint16_t max_missing;               /**< most segments missing at one node (>= 1) */
    uint16_t hist[TC_WIRE_REPORT_HIST]; /**< nodes missing 1-3, 4-31, >= 32 segments */
};

struct tc_wire_report {
    uint32_t seq;                          /**< per sender, increasing */
    uint16_t subtree_nodes;                /**< nodes summarized (>= 1) */
    uint16_t subtree_done;                 /**< of which done, <= subtree_nodes */
    uint32_t backlog_max;                  /**< most bytes waiting for a disk below */
    uint16_t loss_hist[TC_WIRE_LOSS_HIST]; /**< nodes per loss bucket (docs/protocol.md) */
    uint16_t nentries;                     /**< 0..TC_WIRE_REPORT_ENTRIES_MAX */
    struct tc_wire_report_entry
        entries[TC_WIRE_REPORT_ENTRIES_MAX]; /**< sorted by (object, index) */
};

struct tc_wire_done {
    uint8_t image_digest[TC_SHA256_LEN]; /**< digest of the image written */
    uint32_t chunk_count;                /**< chunks written and verified */
};

struct tc_wire_done_ack {
    uint8_t image_digest[TC_SHA256_LEN]; /**< the DONE's digest */
};

struct tc_wire_release_msg {
    uint16_t reason; /**< enum tc_wire_release */
};

struct tc_wire_heartbeat {
    uint32_t seq;         /**< per sender, increasing */
    uint8_t state;        /**< enum tc_wire_state */
    uint32_t chunks_done; /**< chunks verified so far */
    uint64_t time_ns;     /**< sender's clock */
    uint64_t echo_ns;     /**< time_ns of the last heartbeat received from the peer */
};

struct tc_wire_reparent_req {
    uint32_t parent_index; /**< the parent being given up */
    uint16_t reason;       /**< enum tc_wire_reparent_why */
    uint32_t silence_ms;   /**< time since the parent was last heard */
    uint32_t chunks_done;  /**< chunks verified so far */
};

struct tc_wire_reparent {
    uint32_t generation;   /**< tree generation: older ones are ignored */
    uint32_t parent_index; /**< node index or TC_WIRE_INDEX_SEEDER */
    uint32_t parent_addr;  /**< IPv4; 0 = the seeder */
    uint16_t parent_port;  /**< UDP port; 0 = the seeder */
    uint16_t depth;        /**< new depth, >= 1 */
};

/** A child a parent serves (the only addresses and tokens it answers). */
struct tc_wire_child {
    uint32_t node_index; /**< < TC_WIRE_NODES_MAX */
    uint32_t addr;       /**< IPv4 unicast, non-zero */
    uint16_t port;       /**< non-zero */
    uint16_t flags;      /**< TC_WIRE_CHILD_F_* */
    uint64_t token;      /**< the child's token, non-zero */
};

/** CHILDREN entry flag: stream to this child (stream.h): a tree-only
 * session, or a straggler catching up off the multicast group. */
#define TC_WIRE_CHILD_F_STREAM 0x0001u
/** Every defined child flag. */
#define TC_WIRE_CHILD_F_ALL 0x0001u

struct tc_wire_children {
    uint32_t generation;                                 /**< replaces older lists */
    uint16_t count;                                      /**< 0..TC_WIRE_CHILDREN_MAX */
    struct tc_wire_child children[TC_WIRE_CHILDREN_MAX]; /**< distinct node indexes */
};

/** One log line: arbitrary bytes, escaped (tc_wire_escape) wherever shown. */
struct tc_wire_log {
    uint32_t seq;                       /**< per sender, increasing */
    uint8_t level;                      /**< 0..TC_WIRE_LOG_LEVEL_MAX */
    uint16_t text_len;                  /**< 1..TC_WIRE_LOG_TEXT_MAX */
    uint8_t text[TC_WIRE_LOG_TEXT_MAX]; /**< copied, not NUL-terminated */
};

struct tc_wire_ack {
    uint8_t object;                               /**< enum tc_wire_obj */
    uint32_t index;                               /**< as in DATA */
    uint32_t cum_offset;                          /**< every byte below is held */
    uint32_t window;                              /**< bytes the receiver accepts beyond it */
    uint8_t nsacks;                               /**< 0..TC_WIRE_SACK_MAX */
    struct tc_wire_range sacks[TC_WIRE_SACK_MAX]; /**< above cum_offset, sorted, disjoint */
};

struct tc_wire_epoch {
    uint32_t prev_epoch;       /**< the epoch before (!= header epoch) */
    uint32_t rejoin_spread_ms; /**< spread re-JOINs uniformly over this */
};

/** A decoded datagram: hdr.type says which member of u is filled. */
struct tc_wire_msg {
    struct tc_wire_hdr hdr; /**< common header */
    union {
        struct tc_wire_join join;
        struct tc_wire_welcome welcome;
        struct tc_wire_reject_msg reject;
        struct tc_wire_data data;
        struct tc_wire_repair_req repair_req;
        struct tc_wire_report report;
        struct tc_wire_done done;
        struct tc_wire_done_ack done_ack;
        struct tc_wire_release_msg release;
        struct tc_wire_heartbeat heartbeat;
        struct tc_wire_reparent_req reparent_req;
        struct tc_wire_reparent reparent;
        struct tc_wire_children children;
        struct tc_wire_log log;
        struct tc_wire_ack ack;
        struct tc_wire_epoch epoch;
    } u; /**< per-type body */
};

/*
 * Decode only the common header (magic, version, type, flags, session id,
 * epoch, token), for a cheap early drop. Returns 0, -EBADMSG (short, bad
 * magic, unknown type, unknown flag) or -EPROTO (other version).
 */
int tc_wire_decode_hdr(const uint8_t *buf, size_t len, struct tc_wire_hdr *hdr);

/*
 * Decode one datagram of len bytes into msg. Returns 0; -EBADMSG for a
 * truncated or malformed datagram (bad magic, unknown type or flag, reserved
 * or padding bytes not zero, field out of range, trailing bytes); -E2BIG for a
 * count or length over its limit; -EPROTO for another version. On failure msg
 * is unspecified. Only DATA keeps a pointer into buf (tc_wire_data.payload).
 */
int tc_wire_decode(const uint8_t *buf, size_t len, struct tc_wire_msg *msg);

/*
 * Encode msg into buf (cap bytes). Returns the datagram's length, -ENOBUFS if
 * cap is too small, or the code tc_wire_decode() would give for the same
 * out-of-range field (-EBADMSG, -E2BIG). What encodes decodes to msg.
 */
int tc_wire_encode(const struct tc_wire_msg *msg, uint8_t *buf, size_t cap);

/*
 * Largest DATA payload in a datagram at this MTU (IPv4 20 + UDP 8 + header
 * 28 + DATA header 12 = 68 bytes of overhead): 1432 at 1500, 8932 at 9000.
 * 0 if mtu is outside [TC_WIRE_MTU_MIN, TC_WIRE_MTU_MAX].
 */
size_t tc_wire_data_payload_max(unsigned mtu);

/*
 * Bytes of a full DATA block at this MTU for this segment size: the most
 * whole segments that fit (blocks carry whole segments so that each can be
 * checked on its own). 0 if not even one segment fits.
 */
size_t tc_wire_block_len(unsigned mtu, unsigned seg_size);

/* The bucket of TC_WIRE_REPORT_HIST a count of missing segments (>= 1) falls in. */
unsigned tc_wire_report_bucket(uint32_t missing);

/*
 * Merge src into dst (same object and index): maximum of max_missing,
 * saturating sum of the histograms. Constant space whatever the subtree size.
 */
void tc_wire_report_merge(struct tc_wire_report_entry *dst, const struct tc_wire_report_entry *src);

/*
 * Escape len bytes of untrusted text (LOG lines, names from JOINs) for
 * display: printable ASCII except '\\' and '"' is copied, everything else
 * becomes \xHH (\\ and \" for those two). Writes at most cap bytes including
 * the NUL (cap >= 1), never cuts an escape in half, and returns the length
 * written (excluding the NUL).
 */
size_t tc_wire_escape(char *out, size_t cap, const uint8_t *text, size_t len);

/* "JOIN", "WELCOME", ... or "?" (never NULL). */
const char *tc_wire_type_name(unsigned type);

#endif /* TREECAST_WIRE_H */
