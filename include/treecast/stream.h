/* SPDX-License-Identifier: MIT */
/*
 * The tree-only transport (docs/protocol.md section 6.8): a parent (an
 * agent, or the seeder) forwards the objects of the session to one child
 * over unicast DATA, windowed, acknowledged by the child's ACKs and
 * congestion-controlled (AIMD on a window of bytes in flight), pipelined
 * (a parent forwards the segments it holds and has checked while it is
 * still receiving the rest). Used for every child in tree-only sessions and
 * for a straggler (a node demoted to a leaf that left the multicast group
 * and catches up from its parent at its own pace).
 *
 * Sans I/O, no allocation after tc_stream_tx_init(). The sender walks a
 * sequence of objects given by its owner (object_at: position p -> object)
 * in order, sends the bytes the owner holds (held), and retransmits what the
 * child's ACKs show missing. The receiver side is one function that builds
 * an ACK from a segment bitmap.
 *
 * Sequence numbers: every block sent gets a serial (increasing); loss is
 * detected the RACK way (a block is lost when a block sent after it was
 * acknowledged and it was sent at least reo_ns ago) or by the
 * retransmission timeout. Congestion control is NewReno-like on bytes: slow
 * start from TC_STREAM_CWND_INIT_BLOCKS blocks, additive increase of one
 * block per window, the window halved at most once per round trip on loss,
 * never below TC_STREAM_CWND_MIN_BLOCKS blocks; bytes in flight never exceed
 * min(cwnd, the child's advertised window).
 */
#ifndef TREECAST_STREAM_H
#define TREECAST_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/proto.h"
#include "treecast/wire.h"

/** Runs of blocks in flight per stream, at most (a run = one send call),
 * runs. */
#define TC_STREAM_RUNS_MAX 512u
/** Initial congestion window, blocks. */
#define TC_STREAM_CWND_INIT_BLOCKS 8u
/** Smallest congestion window, blocks. */
#define TC_STREAM_CWND_MIN_BLOCKS 2u
/** Largest congestion window, bytes (also bounded by the child's window). */
#define TC_STREAM_CWND_MAX_BYTES (8u * 1024 * 1024)
/** Most blocks in one send call (a run), blocks. */
#define TC_STREAM_RUN_BLOCKS_MAX 64u
/** Retransmission timeout before any RTT sample, ns. */
#define TC_STREAM_RTO_INIT_NS (200ull * 1000 * 1000)
/** Bounds of the retransmission timeout, ns. */
#define TC_STREAM_RTO_MIN_NS (5ull * 1000 * 1000)
#define TC_STREAM_RTO_MAX_NS (2000ull * 1000 * 1000)
/** Positions ahead of the send position the sender remembers as already
 * held by the child (ACKs with cum_offset = length for objects it has not
 * reached: the child holds them, skip them), positions. */
#define TC_STREAM_AHEAD_MAX 64u
/** The receiver acknowledges, with each block of position p, the objects it
 * holds whole among positions p + 1 .. p + this (so that the sender skips
 * them), positions. */
#define TC_STREAM_ACK_AHEAD 16u
/** Positions from the lowest unacknowledged one (una_pos) within which new
 * bytes are sent (the per-position run counts are a ring of this size),
 * positions. */
#define TC_STREAM_POS_MAX 1024u

/** One object of a stream's sequence. */
struct tc_stream_obj {
    uint8_t object; /**< enum tc_wire_obj */
    uint32_t index; /**< chunk index (CHUNK, CHUNK_HASHES), else 0 */
    uint32_t len;   /**< stored bytes; 0 = nothing to send (a ZERO chunk): skipped */
};

/** What the sender needs from its owner (all called from inside tc_stream_tx_* calls). */
struct tc_stream_ops {
    /** The object at sequence position pos: 0 and *o filled; -ENOENT past
     * the last position (the stream is complete once everything before is
     * acknowledged); -EAGAIN not known yet (e.g. the owner has not accepted
     * the manifest): the sender waits for tc_stream_tx_wake(). */
    int (*object_at)(void *ctx, uint32_t pos, struct tc_stream_obj *o);
    /** Bytes of o the owner holds, checked, and can send now, contiguous
     * from off (a multiple of the segment size), at most len: a multiple
     * of the segment size or up to the object's end; 0 = not now (the owner
     * calls tc_stream_tx_wake() when more arrives or a read-back completes). */
    uint32_t (*held)(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len);
    /** Send bytes [off, off + len) of o to the child as unicast DATA blocks
     * of block_len (the last one may be shorter only at the object's end).
     * 0, or a negative errno (counted as sent: the protocol repairs). */
    int (*send)(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len);
};

/** A run of blocks in flight. */
struct tc_stream_run {
    uint32_t pos;     /**< sequence position */
    uint32_t off;     /**< first byte */
    uint32_t len;     /**< bytes, not yet acknowledged */
    uint64_t serial;  /**< send serial of its first block */
    uint64_t sent_ns; /**< when it was (last) sent */
    uint8_t lost;     /**< declared lost, waiting for retransmission */
    uint8_t retx;     /**< a retransmission: gives no RTT sample (Karn) */
};

/** Sender counters. */
struct tc_stream_stats {
    uint64_t sent_bytes;  /**< payload bytes sent, retransmissions included */
    uint64_t retx_bytes;  /**< of which retransmitted */
    uint64_t acked_bytes; /**< payload bytes acknowledged (first time) */
    uint64_t skipped_pos; /**< positions skipped: the child already held them */
    uint64_t losses;      /**< loss events (window reductions) */
    uint64_t timeouts;    /**< retransmission timeouts */
    uint64_t acks;        /**< ACKs accepted */
    uint64_t acks_bad;    /**< ACKs that name no position in flight or are inconsistent */
};

/** The sender of one stream (one child). Plain struct: embed it. */
struct tc_stream_tx {
    const struct tc_stream_ops *ops;          /**< owner */
    void *ctx;                                /**< its context */
    uint32_t seg_size;                        /**< integrity segment, bytes */
    uint32_t block_len;                       /**< full DATA block, bytes (whole segments) */
    uint64_t rate_cap_bps;                    /**< pacing cap of this stream (0: none), bits/s of
                                                   wire bytes (TC_PROTO_WIRE_OVERHEAD per block) */
    uint32_t pos;                             /**< position being sent */
    uint32_t off;                             /**< next new byte of pos to send */
    struct tc_stream_obj cur;                 /**< object at pos (valid when have_cur) */
    int have_cur;                             /**< cur is filled */
    int ended;                                /**< object_at() said -ENOENT at pos */
    uint32_t una_pos;                         /**< lowest position not wholly acknowledged */
    uint64_t ahead[TC_STREAM_AHEAD_MAX / 64]; /**< bit k: pos + k is held by the child */
    uint32_t ahead_base;                      /**< position of bit 0 of ahead */
    struct tc_stream_run runs[TC_STREAM_RUNS_MAX]; /**< runs in flight (a ring) */
    uint32_t run_head;                             /**< oldest run */
    uint32_t nruns;                                /**< runs in the ring */
    uint64_t inflight;         /**< bytes sent, not acknowledged, not declared lost */
    uint64_t cwnd;             /**< congestion window, bytes */
    uint64_t ssthresh;         /**< slow-start threshold, bytes */
    uint64_t rwnd;             /**< the child's last advertised window beyond its
                                    acknowledged bytes, bytes */
    uint64_t serial;           /**< next send serial */
    uint64_t acked_serial;     /**< highest serial acknowledged */
    uint64_t recover_serial;   /**< no new reduction until a block sent after this is acked */
    uint64_t srtt_ns;          /**< smoothed RTT (0: no sample) */
    uint64_t rttvar_ns;        /**< RTT variation */
    uint64_t min_rtt_ns;       /**< smallest RTT sample */
    uint64_t rto_ns;           /**< retransmission timeout */
    int64_t pace;              /**< pacing balance, bit-ns (rate_cap_bps) */
    uint64_t pace_ns;          /**< last refill */
    struct tc_stream_stats st; /**< counters */
    /* private */
    uint16_t pos_runs[TC_STREAM_POS_MAX]; /**< live runs at position p (index p % size):
                                               every live run is within una_pos + size */
    uint32_t ntomb;                       /**< ring slots of dead runs (len 0) not yet reclaimed */
    uint32_t nlost;                       /**< live runs with lost set */
    uint64_t ca_acc;  /**< bytes acknowledged towards the next additive increase */
    int pace_blocked; /**< the last pump stopped for want of pacing tokens */
};

/**
 * Start a stream at sequence position start_pos (0: from the beginning).
 * seg_size and block_len as in the session; rwnd_bytes the window assumed
 * before the first ACK. Returns 0 or -EINVAL.
 */
int tc_stream_tx_init(struct tc_stream_tx *tx, const struct tc_stream_ops *ops, void *ctx,
                      uint32_t seg_size, uint32_t block_len, uint64_t rwnd_bytes,
                      uint64_t rate_cap_bps, uint32_t start_pos);

/**
 * Send what the window, the pacing cap and the owner's held bytes allow:
 * retransmissions first (lowest serial first), then new bytes in sequence
 * order. Call it after tc_stream_tx_on_ack(), at tc_stream_tx_deadline(),
 * and when the owner has more bytes (tc_stream_tx_wake() does).
 */
void tc_stream_tx_pump(struct tc_stream_tx *tx, uint64_t now);

/** The owner holds more (or the manifest): pump. */
void tc_stream_tx_wake(struct tc_stream_tx *tx, uint64_t now);

/**
 * An ACK from the child (already authenticated by the owner). pos is the
 * sequence position of ack->object / ack->index as the owner maps it
 * (UINT32_MAX: unknown, the ACK is counted bad and ignored). Updates RTT,
 * acknowledged runs, loss detection, the window, then pumps.
 */
void tc_stream_tx_on_ack(struct tc_stream_tx *tx, uint64_t now, uint32_t pos,
                         const struct tc_wire_ack *ack);

/** Run timeouts (retransmission timer, pacing) due at now, then pump. */
void tc_stream_tx_on_timer(struct tc_stream_tx *tx, uint64_t now);

/** When tc_stream_tx_on_timer() is next wanted, or TC_PROTO_NEVER. */
uint64_t tc_stream_tx_deadline(const struct tc_stream_tx *tx);

/** True when every position before the end has been acknowledged. */
int tc_stream_tx_complete(const struct tc_stream_tx *tx);

/**
 * Receiver: the ACK for an object of len bytes whose segments of seg_size
 * held are the bits of have (nsegs = tc_proto_nsegs(len, seg_size); have
 * NULL = nothing held, full = every segment held): cum_offset = bytes below
 * the first missing segment (len if none), up to TC_WIRE_SACK_MAX sack
 * ranges of held segments above it (the lowest ones), window = window_bytes
 * (clamped to TC_WIRE_WINDOW_MAX). ack->object and ->index are left to the
 * caller.
 */
void tc_stream_ack_build(struct tc_wire_ack *ack, const uint64_t *have, int full, uint32_t len,
                         uint32_t seg_size, uint64_t window_bytes);

#endif /* TREECAST_STREAM_H */
