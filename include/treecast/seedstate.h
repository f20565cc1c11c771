/* SPDX-License-Identifier: MIT */
/*
 * The seeder's durable session state (docs/protocol.md section 6.9): what a
 * restarted seeder needs to keep the session: session id, epoch, the image
 * it serves, and the node table (MAC, token, registered address, DONE /
 * RELEASED). The seeder core encodes it and hands it to its persist op
 * (the daemon writes it to its state directory, atomically, and fsyncs);
 * at start the daemon reads the file back and the core decodes it.
 *
 * Format (all integers big-endian, be.h):
 *
 *   off  size  field
 *     0     4  magic "TCSS" (0x54435353)
 *     4     2  version (1)
 *     6     2  reserved, 0
 *     8     8  session_id (non-zero)
 *    16     4  epoch (>= 1)
 *    20     4  nnodes (<= TC_SEEDSTATE_NODES_MAX)
 *    24    32  image digest (the manifest's image_digest)
 *    56  28 n  node records:
 *                0  4  index (< TC_SEEDSTATE_NODES_MAX, strictly increasing)
 *                4  6  MAC (unicast, not all zero)
 *               10  1  state (1 ACTIVE, 2 DONE, 3 RELEASED)
 *               11  1  reserved, 0
 *               12  8  token (non-zero)
 *               20  4  addr (IPv4, non-zero)
 *               24  2  port (non-zero)
 *               26  2  reserved, 0
 *  56+28n  32  SHA-256 of every byte before it (a torn or altered file is refused)
 *
 * The decoder is fuzzed (tests/fuzz/seedstate_fuzz.c): it refuses a wrong
 * magic, version, length, reserved bytes, out-of-range field, duplicate or
 * unsorted index, or a digest mismatch, with a message that names what.
 */
#ifndef TREECAST_SEEDSTATE_H
#define TREECAST_SEEDSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/err.h"

/** "TCSS". */
#define TC_SEEDSTATE_MAGIC 0x54435353u
/** Format version. */
#define TC_SEEDSTATE_VERSION 1u
/** Most node records (node indices are below this). */
#define TC_SEEDSTATE_NODES_MAX 65535u
/** Bytes before the records. */
#define TC_SEEDSTATE_HDR_LEN 56u
/** Bytes per node record. */
#define TC_SEEDSTATE_REC_LEN 28u
/** Length of a state with n records. */
#define TC_SEEDSTATE_LEN(n)                                                                        \
    (TC_SEEDSTATE_HDR_LEN + TC_SEEDSTATE_REC_LEN * (size_t)(n) + TC_SHA256_LEN)

/** Node states kept. */
enum tc_seedstate_node_state {
    TC_SEEDSTATE_ACTIVE = 1,   /**< proven, receiving (must re-JOIN after a restart) */
    TC_SEEDSTATE_DONE = 2,     /**< DONE acknowledged */
    TC_SEEDSTATE_RELEASED = 3, /**< released: finished */
};

/** One node record. */
struct tc_seedstate_node {
    uint32_t index; /**< node table index */
    uint8_t mac[6]; /**< node id */
    uint8_t state;  /**< enum tc_seedstate_node_state */
    uint64_t token; /**< the node's token */
    uint32_t addr;  /**< registered IPv4 address (host order) */
    uint16_t port;  /**< registered port */
};

/** A decoded or to-be-encoded state. nodes points to caller memory. */
struct tc_seedstate {
    uint64_t session_id;                 /**< non-zero */
    uint32_t epoch;                      /**< >= 1 */
    uint8_t image_digest[TC_SHA256_LEN]; /**< image served */
    uint32_t nnodes;                     /**< records */
    struct tc_seedstate_node *nodes;     /**< nnodes records, index strictly increasing */
};

/** Encode st into buf (cap bytes). Returns the length (TC_SEEDSTATE_LEN(nnodes)),
 * -ENOBUFS if cap is too small, -EINVAL if a field is out of range (the same
 * rules as the decoder). */
long tc_seedstate_encode(const struct tc_seedstate *st, uint8_t *buf, size_t cap);

/** Decode len bytes into st; st->nodes must hold nodes_cap records (more in
 * the file: -E2BIG). Returns 0 or -EBADMSG / -E2BIG / -EPROTO (version),
 * with err naming the field. */
int tc_seedstate_decode(const uint8_t *buf, size_t len, struct tc_seedstate *st,
                        struct tc_seedstate_node *nodes, uint32_t nodes_cap, struct tc_err *err);

#endif /* TREECAST_SEEDSTATE_H */
