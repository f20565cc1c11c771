// SPDX-License-Identifier: MIT
/*
 * The tree-only transport (docs/protocol.md section 6.8): one sender per
 * child, windowed, RACK-style loss detection, NewReno-like AIMD on bytes,
 * optional pacing, and the receiver's ACK builder.
 *
 * The runs in flight are a ring ordered by serial (a retransmission is a new
 * run at the tail, the old entry dies in place), so send time increases
 * along the ring too: loss detection and the retransmission timer scan from
 * the oldest run and stop at the first one too young. Dead entries
 * (tombstones, len 0) are popped at the head and the ring is compacted when
 * they outnumber the live runs, so scans stay proportional to live runs.
 * pos_runs[] counts the live runs of each position in flight: an ACK stops
 * scanning once it has seen every run of its position, and a position is
 * complete when it has been sent and its count is zero.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "treecast/stream.h"

/** Nanoseconds per second. */
#define NS_PER_S 1000000000ull
/** Smallest reordering window of the RACK loss detection, ns. */
#define REO_MIN_NS (1000ull * 1000)
/** Pacing bucket depth, wire bytes. */
#define PACE_DEPTH_BYTES (64u * 1024)
/** Bytes a DATA block costs on the wire beyond its payload: DATA header,
 * common header, then IP, UDP and Ethernet (TC_PROTO_WIRE_OVERHEAD). */
#define PACE_BLOCK_OVERHEAD_BYTES (TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN + TC_PROTO_WIRE_OVERHEAD)
/** A pacing-limited sender wakes when tokens cover this many full blocks
 * (or the whole bucket), blocks. */
#define PACE_WAKE_BLOCKS 8u
/** A run is at most 1/this of the congestion window (and at least a block). */
#define RUN_CWND_DIV 4u
/** Tombstones below this never trigger a compaction of the ring, runs. */
#define TOMB_COMPACT_MIN 32u

/** The run at ring index i (0 = oldest). */
static struct tc_stream_run *slot(struct tc_stream_tx *tx, uint32_t i)
{
    return &tx->runs[(tx->run_head + i) % TC_STREAM_RUNS_MAX];
}

/** The run at ring index i, read-only. */
static const struct tc_stream_run *cslot(const struct tc_stream_tx *tx, uint32_t i)
{
    return &tx->runs[(tx->run_head + i) % TC_STREAM_RUNS_MAX];
}

/** The live-run count of position pos. */
static uint16_t *pos_count(struct tc_stream_tx *tx, uint32_t pos)
{
    return &tx->pos_runs[pos % TC_STREAM_POS_MAX];
}

/** Blocks covering len bytes. */
static uint64_t nblocks(const struct tc_stream_tx *tx, uint64_t len)
{
    return (len + tx->block_len - 1) / tx->block_len;
}

/** Pacing: nano-bits (bits x 1e9) a block of len payload bytes costs. */
static int64_t pace_cost(uint64_t len)
{
    return (int64_t)((len + PACE_BLOCK_OVERHEAD_BYTES) * 8 * NS_PER_S);
}

/** Pacing: the bucket depth in nano-bits. */
static int64_t pace_depth(void)
{
    return (int64_t)((uint64_t)PACE_DEPTH_BYTES * 8 * NS_PER_S);
}

/** Pacing: add the tokens earned since the last refill (at most the depth). */
static void pace_refill(struct tc_stream_tx *tx, uint64_t now)
{
    uint64_t el;

    if (tx->rate_cap_bps == 0 || now <= tx->pace_ns)
        return;
    el = now - tx->pace_ns;
    tx->pace_ns = now;
    /* el * rate would overflow long before the bucket is full: check first */
    if (el >= (uint64_t)pace_depth() / tx->rate_cap_bps) {
        tx->pace = pace_depth();
        return;
    }
    tx->pace += (int64_t)(el * tx->rate_cap_bps);
    if (tx->pace > pace_depth())
        tx->pace = pace_depth();
}

/** Pacing: full blocks the tokens pay for now (UINT64_MAX without a cap). */
static uint64_t pace_blocks(const struct tc_stream_tx *tx)
{
    if (tx->rate_cap_bps == 0)
        return UINT64_MAX;
    if (tx->pace <= 0)
        return 0;
    return (uint64_t)tx->pace / (uint64_t)pace_cost(tx->block_len);
}

/** Pacing: pay for a run of len bytes. */
static void pace_charge(struct tc_stream_tx *tx, uint32_t len)
{
    if (tx->rate_cap_bps == 0)
        return;
    tx->pace -= pace_cost(len) + (int64_t)(nblocks(tx, len) - 1) *
                                     (int64_t)(PACE_BLOCK_OVERHEAD_BYTES * 8 * NS_PER_S);
}

/** Mark run i dead (a tombstone until it is popped or compacted away). */
static void run_kill(struct tc_stream_tx *tx, uint32_t i)
{
    struct tc_stream_run *r = slot(tx, i);
    uint16_t *cnt = pos_count(tx, r->pos);

    assert(r->len > 0 && *cnt > 0);
    (*cnt)--;
    if (r->lost) {
        assert(tx->nlost > 0);
        tx->nlost--;
    }
    r->len = 0;
    r->lost = 0;
    tx->ntomb++;
}

/** Pop dead runs at the head. */
static void ring_pop(struct tc_stream_tx *tx)
{
    while (tx->nruns > 0 && slot(tx, 0)->len == 0) {
        tx->run_head = (tx->run_head + 1) % TC_STREAM_RUNS_MAX;
        tx->nruns--;
        tx->ntomb--;
    }
}

/** Squeeze the tombstones out of the ring, keeping the serial order. */
static void ring_compact(struct tc_stream_tx *tx)
{
    uint32_t i, j = 0;

    for (i = 0; i < tx->nruns; i++) {
        if (slot(tx, i)->len == 0)
            continue;
        if (i != j)
            *slot(tx, j) = *slot(tx, i);
        j++;
    }
    tx->nruns = j;
    tx->ntomb = 0;
}

/** After a batch of changes: pop the head, compact when tombstones dominate. */
static void ring_tidy(struct tc_stream_tx *tx)
{
    ring_pop(tx);
    if (tx->ntomb >= TOMB_COMPACT_MIN && tx->ntomb * 2 > tx->nruns)
        ring_compact(tx);
}

/**
 * A free slot at the tail for new bytes: 1 if there is one. A full ring is
 * compacted only when that frees TOMB_COMPACT_MIN slots (not once per send).
 */
static int ring_room(struct tc_stream_tx *tx)
{
    ring_pop(tx);
    if (tx->nruns < TC_STREAM_RUNS_MAX)
        return 1;
    if (tx->ntomb >= TOMB_COMPACT_MIN)
        ring_compact(tx);
    return tx->nruns < TC_STREAM_RUNS_MAX;
}

/**
 * Open a free slot right after ring index i (there must be room), moving
 * the shorter side of the ring: indexes 0..i keep theirs, the later runs
 * move up by one. Returns the new slot (index i + 1).
 */
static struct tc_stream_run *ring_insert_after(struct tc_stream_tx *tx, uint32_t i)
{
    uint32_t j;

    assert(tx->nruns < TC_STREAM_RUNS_MAX && i < tx->nruns);
    if (i + 1 <= tx->nruns - (i + 1)) {
        /* move runs 0..i down one slot, below the old head */
        tx->run_head = (tx->run_head + TC_STREAM_RUNS_MAX - 1) % TC_STREAM_RUNS_MAX;
        for (j = 0; j <= i; j++)
            *slot(tx, j) = *slot(tx, j + 1);
    } else {
        for (j = tx->nruns; j > i + 1; j--)
            *slot(tx, j) = *slot(tx, j - 1);
    }
    tx->nruns++;
    return slot(tx, i + 1);
}

/** Append a run at the tail (the caller made room). */
static void ring_push(struct tc_stream_tx *tx, const struct tc_stream_run *r)
{
    assert(tx->nruns < TC_STREAM_RUNS_MAX);
    *slot(tx, tx->nruns) = *r;
    tx->nruns++;
    (*pos_count(tx, r->pos))++;
}

/** The usable send window: min(cwnd, rwnd) minus the bytes in flight. */
static uint64_t window_room(const struct tc_stream_tx *tx)
{
    uint64_t wnd = tx->cwnd < tx->rwnd ? tx->cwnd : tx->rwnd;
    uint64_t room = wnd > tx->inflight ? wnd - tx->inflight : 0;

    /* nothing in flight: one block probes a closed receive window */
    if (tx->inflight == 0 && room < tx->block_len)
        room = tx->block_len;
    return room;
}

/**
 * Bytes of a run from off towards end (a block boundary or the object's
 * end) that fit in room bytes and max_blocks blocks: whole blocks, the last
 * one short only where end is. 0 if not even one block fits.
 */
static uint32_t run_fit(const struct tc_stream_tx *tx, uint32_t off, uint32_t end, uint64_t room,
                        uint64_t max_blocks)
{
    uint64_t rem = end - off;
    uint64_t k = rem <= room ? nblocks(tx, rem) : room / tx->block_len;
    uint64_t cap = tx->cwnd / tx->block_len / RUN_CWND_DIV;

    /* several runs per window: one ACK per run keeps the ACK clock fine */
    if (cap < 1)
        cap = 1;
    if (cap > TC_STREAM_RUN_BLOCKS_MAX)
        cap = TC_STREAM_RUN_BLOCKS_MAX;
    if (k > cap)
        k = cap;
    if (k > max_blocks)
        k = max_blocks;
    return (uint32_t)(k * tx->block_len < rem ? k * tx->block_len : rem);
}

/** The reordering window of the RACK loss detection: max(min_rtt / 4, 1 ms). */
static uint64_t reo_window(const struct tc_stream_tx *tx)
{
    uint64_t reo = tx->min_rtt_ns / 4;

    return reo < REO_MIN_NS ? REO_MIN_NS : reo;
}

/** A new RTT sample: RFC 6298 smoothing, then the timeout. */
static void rtt_sample(struct tc_stream_tx *tx, uint64_t rtt)
{
    uint64_t d, var;

    if (rtt == 0)
        rtt = 1; /* srtt 0 means "no sample" */
    if (tx->min_rtt_ns == 0 || rtt < tx->min_rtt_ns)
        tx->min_rtt_ns = rtt;
    if (tx->srtt_ns == 0) {
        tx->srtt_ns = rtt;
        tx->rttvar_ns = rtt / 2;
    } else {
        d = tx->srtt_ns > rtt ? tx->srtt_ns - rtt : rtt - tx->srtt_ns;
        tx->rttvar_ns = (3 * tx->rttvar_ns + d) / 4;
        tx->srtt_ns = (7 * tx->srtt_ns + rtt) / 8;
    }
    /* RFC 6298's clock granularity G is the reordering window here: on a
     * path with a steady RTT (rttvar near 0) the timer must not race the
     * ACKs that RACK waits for */
    var = 4 * tx->rttvar_ns;
    if (var < reo_window(tx))
        var = reo_window(tx);
    tx->rto_ns = tx->srtt_ns + var;
    if (tx->rto_ns < TC_STREAM_RTO_MIN_NS)
        tx->rto_ns = TC_STREAM_RTO_MIN_NS;
    if (tx->rto_ns > TC_STREAM_RTO_MAX_NS)
        tx->rto_ns = TC_STREAM_RTO_MAX_NS;
}

/** Smallest congestion window, bytes. */
static uint64_t cwnd_min(const struct tc_stream_tx *tx)
{
    return (uint64_t)TC_STREAM_CWND_MIN_BLOCKS * tx->block_len;
}

/** A loss of the block with this serial: halve the window once per round trip. */
static void on_loss(struct tc_stream_tx *tx, uint64_t serial)
{
    if (serial <= tx->recover_serial)
        return;
    tx->ssthresh = tx->cwnd / 2;
    if (tx->ssthresh < cwnd_min(tx))
        tx->ssthresh = cwnd_min(tx);
    tx->cwnd = tx->ssthresh;
    tx->ca_acc = 0;
    tx->recover_serial = tx->serial - 1; /* everything sent so far */
    tx->st.losses++;
}

/** Declare run i lost: its bytes leave the flight, it waits for retransmission. */
static void run_lose(struct tc_stream_tx *tx, struct tc_stream_run *r)
{
    assert(!r->lost && r->len > 0 && tx->inflight >= r->len);
    r->lost = 1;
    tx->nlost++;
    tx->inflight -= r->len;
}

/** Advance una_pos over positions sent whole and wholly acknowledged. */
static void una_advance(struct tc_stream_tx *tx)
{
    while (tx->una_pos < tx->pos && *pos_count(tx, tx->una_pos) == 0)
        tx->una_pos++;
}

/** Is position q marked as held whole by the child? */
static int ahead_test(const struct tc_stream_tx *tx, uint32_t q)
{
    uint32_t k;

    if (q < tx->ahead_base || q - tx->ahead_base >= TC_STREAM_AHEAD_MAX)
        return 0;
    k = q - tx->ahead_base;
    return (int)((tx->ahead[k / 64] >> (k % 64)) & 1);
}

/** Mark position q (pos <= q < pos + TC_STREAM_AHEAD_MAX) as held by the child. */
static void ahead_set(struct tc_stream_tx *tx, uint32_t q)
{
    uint32_t k = q - tx->ahead_base;

    assert(q >= tx->ahead_base && k < TC_STREAM_AHEAD_MAX);
    tx->ahead[k / 64] |= 1ull << (k % 64);
}

/** The send position moves on by one: shift the ahead bitmap with it. */
static void pos_next(struct tc_stream_tx *tx)
{
    uint32_t w, nw = TC_STREAM_AHEAD_MAX / 64;

    for (w = 0; w < nw; w++)
        tx->ahead[w] = (tx->ahead[w] >> 1) | (w + 1 < nw ? tx->ahead[w + 1] << 63 : 0);
    tx->pos++;
    tx->ahead_base = tx->pos;
    tx->off = 0;
    tx->have_cur = 0;
    una_advance(tx);
}

/**
 * tc_stream_tx_init - start a stream at start_pos: empty ring, the initial
 * windows, a full pacing bucket.
 */
int tc_stream_tx_init(struct tc_stream_tx *tx, const struct tc_stream_ops *ops, void *ctx,
                      uint32_t seg_size, uint32_t block_len, uint64_t rwnd_bytes,
                      uint64_t rate_cap_bps, uint32_t start_pos)
{
    if (!tx || !ops || !ops->object_at || !ops->held || !ops->send || seg_size == 0 ||
        block_len == 0 || block_len % seg_size != 0 || start_pos == UINT32_MAX)
        return -EINVAL;
    memset(tx, 0, sizeof(*tx));
    tx->ops = ops;
    tx->ctx = ctx;
    tx->seg_size = seg_size;
    tx->block_len = block_len;
    tx->rate_cap_bps = rate_cap_bps;
    tx->pos = start_pos;
    tx->una_pos = start_pos;
    tx->ahead_base = start_pos;
    tx->cwnd = (uint64_t)TC_STREAM_CWND_INIT_BLOCKS * block_len;
    tx->ssthresh = TC_STREAM_CWND_MAX_BYTES;
    tx->rwnd = rwnd_bytes;
    tx->serial = 1; /* 0 = none acknowledged yet */
    tx->rto_ns = TC_STREAM_RTO_INIT_NS;
    tx->pace = pace_depth();
    return 0;
}

/**
 * Retransmit lost runs, lowest serial first, as far as the window, the
 * pacing tokens and the ring allow; each retransmission is a new run at the
 * tail with a new serial. Returns 1 when every lost run went out.
 */
static int pump_retx(struct tc_stream_tx *tx, uint64_t now)
{
    struct tc_stream_run old, nr;
    struct tc_stream_obj o;
    uint32_t i = 0, k;
    int whole;

    while (tx->nlost > 0) {
        while (i < tx->nruns && !(slot(tx, i)->len > 0 && slot(tx, i)->lost))
            i++;
        assert(i < tx->nruns);
        old = *slot(tx, i);
        if (pace_blocks(tx) == 0) {
            tx->pace_blocked = 1;
            return 0;
        }
        k = run_fit(tx, old.off, old.off + old.len, window_room(tx), pace_blocks(tx));
        if (k == 0)
            return 0;
        if (tx->nruns == TC_STREAM_RUNS_MAX && tx->ntomb == 0)
            k = old.len; /* no slot for a part: the run's own slot makes the room */
        /* the bytes must be at hand (an agent may have to read them back
         * from its disk first): else wait for the owner's wake */
        if (tx->have_cur && old.pos == tx->pos)
            o = tx->cur;
        else if (tx->ops->object_at(tx->ctx, old.pos, &o) != 0)
            return 0;
        if (tx->ops->held(tx->ctx, &o, old.off, k) < k)
            return 0;
        whole = k == old.len;
        if (whole) {
            run_kill(tx, i);
        } else {
            struct tc_stream_run *r = slot(tx, i);

            r->off += k;
            r->len -= k;
            r->serial += nblocks(tx, k);
        }
        if (tx->nruns == TC_STREAM_RUNS_MAX) {
            ring_compact(tx); /* there is a tombstone: see above */
            i = 0;
        }
        nr = old;
        nr.len = k;
        nr.serial = tx->serial;
        nr.sent_ns = now;
        nr.lost = 0;
        nr.retx = 1;
        tx->serial += nblocks(tx, k);
        ring_push(tx, &nr);
        tx->inflight += k;
        tx->st.sent_bytes += k;
        tx->st.retx_bytes += k;
        pace_charge(tx, k);
        (void)tx->ops->send(tx->ctx, &o, old.off, k);
    }
    return 1;
}

/** Send new bytes in sequence order as far as everything allows. */
static void pump_new(struct tc_stream_tx *tx, uint64_t now)
{
    struct tc_stream_run nr;
    uint32_t want, h;
    int rc;

    for (;;) {
        if (!tx->have_cur) {
            if (tx->ended)
                return;
            rc = tx->ops->object_at(tx->ctx, tx->pos, &tx->cur);
            if (rc == -ENOENT) {
                tx->ended = 1;
                return;
            }
            if (rc != 0)
                return; /* -EAGAIN: wait for tc_stream_tx_wake() */
            tx->have_cur = 1;
            tx->off = 0;
        }
        if (tx->off < tx->cur.len && ahead_test(tx, tx->pos)) {
            tx->st.skipped_pos++;
            pos_next(tx);
            continue;
        }
        if (tx->off >= tx->cur.len) {
            pos_next(tx);
            continue;
        }
        if (tx->pos - tx->una_pos >= TC_STREAM_POS_MAX)
            return;
        if (pace_blocks(tx) == 0) {
            tx->pace_blocked = 1;
            return;
        }
        want = run_fit(tx, tx->off, tx->cur.len, window_room(tx), pace_blocks(tx));
        if (want == 0 || !ring_room(tx))
            return;
        h = tx->ops->held(tx->ctx, &tx->cur, tx->off, want);
        if (h > want)
            h = want;
        if (tx->off + h < tx->cur.len)
            h -= h % tx->block_len; /* whole blocks only, short at the end */
        if (h == 0)
            return; /* stall at the first byte not held: wait for a wake */
        nr.pos = tx->pos;
        nr.off = tx->off;
        nr.len = h;
        nr.serial = tx->serial;
        nr.sent_ns = now;
        nr.lost = 0;
        nr.retx = 0;
        tx->serial += nblocks(tx, h);
        ring_push(tx, &nr);
        tx->off += h;
        tx->inflight += h;
        tx->st.sent_bytes += h;
        pace_charge(tx, h);
        (void)tx->ops->send(tx->ctx, &tx->cur, nr.off, h);
    }
}

/**
 * tc_stream_tx_pump - send what the window, the pacing cap and the owner's
 * held bytes allow: retransmissions first, then new bytes.
 */
void tc_stream_tx_pump(struct tc_stream_tx *tx, uint64_t now)
{
    pace_refill(tx, now);
    tx->pace_blocked = 0;
    if (pump_retx(tx, now))
        pump_new(tx, now);
    ring_tidy(tx);
}

/** tc_stream_tx_wake - the owner holds more: pump. */
void tc_stream_tx_wake(struct tc_stream_tx *tx, uint64_t now)
{
    tc_stream_tx_pump(tx, now);
}

/**
 * An ACK is consistent with an object of len bytes: cum_offset inside it,
 * sacks non-empty, inside it, above cum_offset, sorted and disjoint.
 */
static int ack_consistent(const struct tc_wire_ack *ack, uint32_t len)
{
    uint64_t prev_end;
    unsigned s;

    if (ack->cum_offset > len || ack->nsacks > TC_WIRE_SACK_MAX)
        return 0;
    prev_end = ack->cum_offset;
    for (s = 0; s < ack->nsacks; s++) {
        const struct tc_wire_range *g = &ack->sacks[s];

        if (g->len == 0 || g->offset < prev_end || (uint64_t)g->offset + g->len > len)
            return 0;
        prev_end = (uint64_t)g->offset + g->len;
    }
    return 1;
}

/** A byte range [off, end). */
struct span {
    uint32_t off; /**< first byte */
    uint32_t end; /**< one past the last byte */
};

/**
 * The parts of [off, end) (a run: block-aligned start, end block-aligned or
 * the object's end) that ack leaves unacknowledged, at block granularity (a
 * block counts as acknowledged only when all its bytes are). Writes up to
 * TC_WIRE_SACK_MAX + 1 spans to out and returns how many; *top_end gets the
 * end of the highest acknowledged block (0 if none).
 */
static unsigned run_unacked(const struct tc_stream_tx *tx, uint32_t off, uint32_t end,
                            const struct tc_wire_ack *ack, struct span *out, uint32_t *top_end)
{
    uint32_t bl = tx->block_len, cur = off, a, b;
    unsigned n = 0, s;

    *top_end = 0;
    for (s = 0; s <= ack->nsacks; s++) {
        uint64_t x = s == 0 ? 0 : ack->sacks[s - 1].offset;
        uint64_t y = s == 0 ? ack->cum_offset : x + ack->sacks[s - 1].len;

        if (x < off)
            x = off;
        if (y > end)
            y = end;
        if (x >= y)
            continue;
        /* round inwards to whole blocks (the run starts on a boundary) */
        a = (uint32_t)((x + bl - 1) / bl * bl);
        b = y == end ? end : (uint32_t)(y / bl * bl);
        if (a >= b)
            continue;
        if (a > cur) {
            out[n].off = cur;
            out[n].end = a;
            n++;
        }
        cur = b;
        *top_end = b;
    }
    if (cur < end) {
        out[n].off = cur;
        out[n].end = end;
        n++;
    }
    return n;
}

/**
 * Apply ack to the runs of position p: trim, split or retire them. Returns
 * the bytes newly acknowledged; updates acked_serial and takes an RTT
 * sample from the most recently sent original run acknowledged.
 */
static uint64_t ack_apply(struct tc_stream_tx *tx, uint64_t now, uint32_t p,
                          const struct tc_wire_ack *ack)
{
    struct span parts[TC_WIRE_SACK_MAX + 2];
    uint32_t left = *pos_count(tx, p), i, top_end, keep;
    uint64_t newly = 0, sample_sent = 0, gain, top;
    int have_sample = 0;
    unsigned n, j;

    for (i = 0; i < tx->nruns && left > 0; i++) {
        struct tc_stream_run *r = slot(tx, i);
        uint32_t end;

        if (r->len == 0 || r->pos != p)
            continue;
        left--;
        end = r->off + r->len;
        n = run_unacked(tx, r->off, end, ack, parts, &top_end);
        if (top_end == 0)
            continue; /* nothing of this run acknowledged */
        top = r->serial + (top_end - 1 - r->off) / tx->block_len;
        if (top > tx->acked_serial)
            tx->acked_serial = top;
        if (!r->retx && (!have_sample || r->sent_ns > sample_sent)) {
            sample_sent = r->sent_ns;
            have_sample = 1;
        }
        keep = 0;
        for (j = 0; j < n; j++)
            keep += parts[j].end - parts[j].off;
        if (n > 1 && tx->nruns + (n - 1) > TC_STREAM_RUNS_MAX) {
            /* no room to split: keep the whole unacknowledged span */
            parts[0].end = parts[n - 1].end;
            n = 1;
            keep = parts[0].end - parts[0].off;
        }
        gain = r->len - keep;
        if (!r->lost) {
            assert(tx->inflight >= gain);
            tx->inflight -= gain;
        }
        newly += gain;
        if (n == 0) {
            run_kill(tx, i);
            continue;
        }
        for (j = n - 1; j >= 1; j--) {
            /* the later parts go right after the run, in offset (serial) order */
            struct tc_stream_run *q;

            q = ring_insert_after(tx, i);
            r = slot(tx, i); /* the insert may have moved it */
            *q = *r;
            q->serial = r->serial + (parts[j].off - r->off) / tx->block_len;
            q->off = parts[j].off;
            q->len = parts[j].end - parts[j].off;
            (*pos_count(tx, p))++;
            if (q->lost)
                tx->nlost++;
        }
        r = slot(tx, i);
        r->serial += (parts[0].off - r->off) / tx->block_len;
        r->off = parts[0].off;
        r->len = parts[0].end - parts[0].off;
        i += n - 1;
    }
    tx->st.acked_bytes += newly;
    if (have_sample)
        rtt_sample(tx, now - sample_sent);
    return newly;
}

/**
 * RACK: runs at position p or earlier sent before the highest acknowledged
 * serial, and at least the reordering window ago, are lost. Runs at later
 * positions are left alone (this ACK says nothing about them).
 */
static void detect_losses(struct tc_stream_tx *tx, uint64_t now, uint32_t p)
{
    uint64_t reo = reo_window(tx);
    uint32_t i;

    for (i = 0; i < tx->nruns; i++) {
        struct tc_stream_run *r = slot(tx, i);

        if (r->len == 0 || r->lost)
            continue;
        if (r->serial >= tx->acked_serial || r->sent_ns + reo > now)
            break;
        if (r->pos > p)
            continue;
        run_lose(tx, r);
        on_loss(tx, r->serial);
    }
}

/** Window growth for newly acknowledged bytes (not during recovery). */
static void cwnd_grow(struct tc_stream_tx *tx, uint64_t newly, uint64_t flight_before)
{
    if (newly == 0 || tx->acked_serial <= tx->recover_serial)
        return;
    if (flight_before * 2 < tx->cwnd)
        return; /* application- or receiver-limited: the window is not being tested */
    if (tx->cwnd < tx->ssthresh) {
        tx->cwnd += newly;
    } else {
        tx->ca_acc += newly;
        if (tx->ca_acc >= tx->cwnd) {
            tx->ca_acc -= tx->cwnd;
            tx->cwnd += tx->block_len;
        }
    }
    if (tx->cwnd > TC_STREAM_CWND_MAX_BYTES)
        tx->cwnd = TC_STREAM_CWND_MAX_BYTES;
}

/**
 * tc_stream_tx_on_ack - an ACK for position pos: check it, apply it to the
 * runs of pos, detect losses, grow the window, then pump.
 */
void tc_stream_tx_on_ack(struct tc_stream_tx *tx, uint64_t now, uint32_t pos,
                         const struct tc_wire_ack *ack)
{
    struct tc_stream_obj o;
    uint64_t newly = 0, flight = tx->inflight;
    int cur = 0;

    if (!ack || pos == UINT32_MAX) {
        tx->st.acks_bad++;
        return;
    }
    if (pos < tx->una_pos) {
        tx->st.acks++; /* a late ACK of a finished position: nothing left to do */
        return;
    }
    if ((uint64_t)pos >= (uint64_t)tx->pos + TC_STREAM_AHEAD_MAX) {
        tx->st.acks_bad++;
        return;
    }
    if (pos == tx->pos && tx->have_cur) {
        o = tx->cur;
        cur = 1;
    } else if (tx->ops->object_at(tx->ctx, pos, &o) != 0) {
        tx->st.acks_bad++;
        return;
    }
    if (!ack_consistent(ack, o.len)) {
        tx->st.acks_bad++;
        return;
    }
    tx->st.acks++;
    tx->rwnd = ack->window;
    if (pos > tx->pos || (pos == tx->pos && !cur)) {
        /* not reached yet: remember that the child holds it whole */
        if (o.len > 0 && ack->cum_offset == o.len)
            ahead_set(tx, pos);
        tc_stream_tx_pump(tx, now);
        return;
    }
    if (pos - tx->una_pos < TC_STREAM_POS_MAX)
        newly = ack_apply(tx, now, pos, ack);
    if (cur && ack->cum_offset == o.len && tx->off < o.len) {
        /* the child holds the object being sent: drop the rest of it */
        tx->off = o.len;
        tx->st.skipped_pos++;
    }
    detect_losses(tx, now, pos);
    cwnd_grow(tx, newly, flight);
    una_advance(tx);
    tc_stream_tx_pump(tx, now);
}

/** The oldest run in flight that is not declared lost, or NULL. */
static const struct tc_stream_run *oldest_flying(const struct tc_stream_tx *tx)
{
    uint32_t i;

    for (i = 0; i < tx->nruns; i++) {
        const struct tc_stream_run *r = cslot(tx, i);

        if (r->len > 0 && !r->lost)
            return r;
    }
    return NULL;
}

/**
 * tc_stream_tx_on_timer - the retransmission timeout: the oldest run in
 * flight, and every run sent at least srtt + the reordering window ago, is lost; the window drops
 * to its minimum and the timeout doubles; then pump (which also serves the pacing deadline).
 */
void tc_stream_tx_on_timer(struct tc_stream_tx *tx, uint64_t now)
{
    const struct tc_stream_run *old = oldest_flying(tx);
    uint32_t i;

    if (old && old->sent_ns + tx->rto_ns <= now) {
        /* the oldest is lost; so is everything sent a round trip (and the
         * reordering window) ago: its ACK would be here (RFC 8985 6.3) */
        uint64_t age = tx->srtt_ns + reo_window(tx);

        for (i = 0; i < tx->nruns; i++) {
            struct tc_stream_run *r = slot(tx, i);

            if (r->len == 0 || r->lost)
                continue;
            if (r != old && r->sent_ns + age > now)
                break;
            run_lose(tx, r);
        }
        tx->st.timeouts++;
        tx->ssthresh = tx->cwnd / 2;
        if (tx->ssthresh < cwnd_min(tx))
            tx->ssthresh = cwnd_min(tx);
        tx->cwnd = cwnd_min(tx);
        tx->ca_acc = 0;
        tx->recover_serial = tx->serial - 1;
        tx->rto_ns *= 2;
        if (tx->rto_ns > TC_STREAM_RTO_MAX_NS)
            tx->rto_ns = TC_STREAM_RTO_MAX_NS;
    }
    tc_stream_tx_pump(tx, now);
}

/**
 * tc_stream_tx_deadline - the earlier of the retransmission timeout of the
 * oldest run in flight and, when the last pump ran out of pacing tokens,
 * the time the bucket holds PACE_WAKE_BLOCKS blocks' worth.
 */
uint64_t tc_stream_tx_deadline(const struct tc_stream_tx *tx)
{
    const struct tc_stream_run *old = oldest_flying(tx);
    uint64_t d = TC_PROTO_NEVER, t;
    int64_t want;

    if (old)
        d = old->sent_ns + tx->rto_ns;
    if (tx->pace_blocked && tx->rate_cap_bps > 0) {
        want = pace_cost(tx->block_len) * PACE_WAKE_BLOCKS;
        if (want > pace_depth())
            want = pace_depth();
        t = tx->pace_ns;
        if (tx->pace < want)
            t += ((uint64_t)(want - tx->pace) + tx->rate_cap_bps - 1) / tx->rate_cap_bps;
        if (t < d)
            d = t;
    }
    return d;
}

/** tc_stream_tx_complete - the end was reached and everything before is acknowledged. */
int tc_stream_tx_complete(const struct tc_stream_tx *tx)
{
    return tx->ended && tx->una_pos == tx->pos;
}

/**
 * The first segment at or after i (below n) whose bit equals want, or n.
 * Skips whole 64-bit words at a time.
 */
static uint32_t seg_find(const uint64_t *have, uint32_t i, uint32_t n, int want)
{
    while (i < n) {
        uint64_t w = want ? have[i / 64] : ~have[i / 64];

        w >>= i % 64; /* invert first: the zeros shifted in never match */
        if (w == 0) {
            i += 64 - i % 64;
            continue;
        }
        i += (uint32_t)__builtin_ctzll(w);
        return i < n ? i : n;
    }
    return n;
}

/**
 * tc_stream_ack_build - the receiver's ACK for an object from its segment
 * bitmap: cumulative offset, the lowest TC_WIRE_SACK_MAX held runs above
 * it, the window clamped to TC_WIRE_WINDOW_MAX.
 */
void tc_stream_ack_build(struct tc_wire_ack *ack, const uint64_t *have, int full, uint32_t len,
                         uint32_t seg_size, uint64_t window_bytes)
{
    uint32_t n = tc_proto_nsegs(len, seg_size), first, a, b;
    uint64_t end;

    ack->cum_offset = 0;
    ack->nsacks = 0;
    ack->window = (uint32_t)(window_bytes < TC_WIRE_WINDOW_MAX ? window_bytes : TC_WIRE_WINDOW_MAX);
    if (full) {
        ack->cum_offset = len;
        return;
    }
    if (!have || n == 0)
        return;
    first = seg_find(have, 0, n, 0);
    if (first == n) {
        ack->cum_offset = len;
        return;
    }
    ack->cum_offset = first * seg_size;
    a = first;
    while (ack->nsacks < TC_WIRE_SACK_MAX) {
        a = seg_find(have, a, n, 1);
        if (a == n)
            break;
        b = seg_find(have, a, n, 0);
        end = (uint64_t)b * seg_size;
        if (end > len)
            end = len;
        ack->sacks[ack->nsacks].offset = a * seg_size;
        ack->sacks[ack->nsacks].len = (uint32_t)(end - (uint64_t)a * seg_size);
        ack->nsacks++;
        a = b;
    }
}
