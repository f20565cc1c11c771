// SPDX-License-Identifier: MIT
/*
 * Unit tests for lib/stream.c: a sender driven over a tiny simulated link
 * (a FIFO with a rate, a drop-tail queue, random loss, a latency) to a
 * receiver that keeps a segment bitmap per object and answers every run that
 * arrives with an ACK built by tc_stream_ack_build() (and passed through the
 * wire codec), plus the ACK builder's edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/stream.h"
#include "treecast/wire.h"
#include "testutil.h"

/** Segment and block size of every simulated session, bytes. */
#define SEG 716u
#define BL (2u * SEG)
/** Bytes a block costs on the simulated wire beyond its payload. */
#define WIRE_OVH (TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN + TC_PROTO_WIRE_OVERHEAD)
/** Most objects in a test sequence. */
#define OBJ_MAX 64u
/** Blocks (and ACKs) in flight on the simulated link, at most. */
#define LINK_Q_MAX (1u << 15)
/** Nanoseconds per second. */
#define NS 1000000000ull
/** Receive window the simulated child advertises, bytes. */
#define RWND (4u * 1024 * 1024)

/** A block on the way to the receiver. */
struct blk {
    uint64_t at;  /**< arrival time, ns */
    uint32_t pos; /**< object position */
    uint32_t off; /**< first byte */
    uint32_t len; /**< bytes */
    int ack;      /**< the last block of its run to arrive: answer with an ACK */
};

/** An ACK on the way back. */
struct ackev {
    uint64_t at;            /**< arrival time at the sender, ns */
    uint32_t pos;           /**< position it names */
    struct tc_wire_ack ack; /**< the decoded ACK */
};

/** The whole simulation: sender, link, receiver, owner. */
struct sim {
    /* link */
    uint64_t link_bps;    /**< serialization rate, bits/s of wire bytes */
    uint64_t queue_bytes; /**< drop-tail queue, wire bytes */
    uint32_t loss_ppm;    /**< random loss, per million blocks */
    uint64_t latency_ns;  /**< one way */
    uint64_t link_free;   /**< when the link finishes what it holds */
    struct blk *q;        /**< data FIFO (LINK_Q_MAX) */
    uint32_t qh, qn;      /**< its head and count */
    struct ackev *aq;     /**< ACK FIFO (LINK_Q_MAX) */
    uint32_t ah, an;      /**< its head and count */
    uint64_t silent_from; /**< receiver drops everything in [from, to) */
    uint64_t silent_to;   /**< ... */
    /* objects */
    uint32_t nobj;           /**< positions in the sequence */
    uint32_t len[OBJ_MAX];   /**< lengths */
    uint64_t start[OBJ_MAX]; /**< byte of the sequence where each starts */
    uint64_t total;          /**< bytes of the whole sequence */
    uint8_t *data[OBJ_MAX];  /**< sender's bytes */
    uint8_t *rx[OBJ_MAX];    /**< receiver's bytes */
    uint64_t *have[OBJ_MAX]; /**< receiver's segment bitmaps */
    uint32_t nheld[OBJ_MAX]; /**< segments held per object */
    uint64_t dup_segs;       /**< segments received twice */
    /* owner (pipelining) */
    int pipelined;          /**< held() is limited by owner_bytes */
    uint64_t owner_bytes;   /**< prefix of the sequence the owner holds */
    uint64_t owner_step;    /**< bytes it receives per step */
    uint64_t owner_step_ns; /**< step interval */
    uint64_t owner_next;    /**< next step time */
    uint64_t eagain_until;  /**< object_at says -EAGAIN before this */
    uint64_t stalls;        /**< held() gave less than asked */
    uint32_t held_cap;      /**< held() gives at most this (0: no limit), bytes */
    /* measurements */
    uint64_t sent_pos[OBJ_MAX]; /**< payload bytes sent per position */
    uint64_t wire_sent;         /**< wire bytes sent */
    uint64_t last_send_ns;      /**< time of the last send */
    uint64_t lost_bytes;        /**< payload dropped (queue or random) */
    uint64_t qdrops;            /**< blocks dropped by the queue */
    uint64_t max_cwnd;          /**< largest cwnd seen */
    uint64_t max_cwnd_ca;       /**< largest cwnd seen after the first timeout or loss */
    uint32_t max_runs;          /**< most ring entries seen */
    uint64_t now;               /**< virtual clock */
    struct tu_prng rng;         /**< loss draws */
    struct tc_stream_tx tx;     /**< the sender under test */
};

/** Stream op: object at pos (CHUNK index = pos). */
static int op_object_at(void *ctx, uint32_t pos, struct tc_stream_obj *o)
{
    struct sim *s = ctx;

    if (s->now < s->eagain_until)
        return -EAGAIN;
    if (pos >= s->nobj)
        return -ENOENT;
    o->object = TC_WIRE_OBJ_CHUNK;
    o->index = pos;
    o->len = s->len[pos];
    return 0;
}

/** Bytes of position p the owner holds (a prefix of the sequence). */
static uint32_t owner_has(const struct sim *s, uint32_t p)
{
    if (!s->pipelined || s->owner_bytes >= s->start[p] + s->len[p])
        return s->len[p];
    if (s->owner_bytes <= s->start[p])
        return 0;
    return (uint32_t)(s->owner_bytes - s->start[p]);
}

/** Stream op: held bytes from off. */
static uint32_t op_held(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct sim *s = ctx;
    uint32_t h = owner_has(s, o->index), n;

    assert_int_equal(o->len, s->len[o->index]);
    assert_int_equal(off % SEG, 0);
    n = h > off ? h - off : 0;
    if (s->held_cap && n > s->held_cap)
        n = s->held_cap;
    if (n < len)
        s->stalls++;
    return n < len ? n : len;
}

/** Stream op: put the blocks of [off, off + len) on the link. */
static int op_send(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct sim *s = ctx;
    uint32_t p = o->index, b, blen;
    int queued = 0;

    assert_true(p < s->nobj);
    assert_int_equal(o->len, s->len[p]);
    assert_true(len > 0 && len <= TC_STREAM_RUN_BLOCKS_MAX * BL);
    assert_int_equal(off % BL, 0);
    assert_true((uint64_t)off + len <= s->len[p]);
    assert_true(len % BL == 0 || off + len == s->len[p]);
    assert_true(off + len <= owner_has(s, p)); /* never ahead of the owner */
    s->sent_pos[p] += len;
    s->last_send_ns = s->now;
    for (b = off; b < off + len; b += blen) {
        uint64_t wire, backlog;

        blen = off + len - b < BL ? off + len - b : BL;
        wire = blen + WIRE_OVH;
        s->wire_sent += wire;
        if (s->link_free < s->now)
            s->link_free = s->now;
        backlog = (s->link_free - s->now) * s->link_bps / (8 * NS);
        if (backlog + wire > s->queue_bytes) {
            s->qdrops++;
            s->lost_bytes += blen;
            continue;
        }
        s->link_free += (wire * 8 * NS + s->link_bps - 1) / s->link_bps;
        if (tu_prng_next(&s->rng) % 1000000 < s->loss_ppm) {
            s->lost_bytes += blen;
            continue;
        }
        assert_true(s->qn < LINK_Q_MAX);
        s->q[(s->qh + s->qn) % LINK_Q_MAX] =
            (struct blk){.at = s->link_free + s->latency_ns, .pos = p, .off = b, .len = blen};
        s->qn++;
        queued = 1;
    }
    if (queued)
        s->q[(s->qh + s->qn - 1) % LINK_Q_MAX].ack = 1;
    return 0;
}

static const struct tc_stream_ops sim_ops = {
    .object_at = op_object_at,
    .held = op_held,
    .send = op_send,
};

/** Queue an ACK for position p, through the wire codec. */
static void ack_queue(struct sim *s, uint32_t p, const struct tc_wire_ack *a)
{
    struct tc_wire_msg m, d;
    uint8_t buf[TC_WIRE_DGRAM_MAX];
    int n;

    memset(&m, 0, sizeof(m));
    m.hdr.type = TC_WIRE_ACK;
    m.hdr.session_id = 77;
    m.hdr.epoch = 1;
    m.hdr.token = 5;
    m.u.ack = *a;
    m.u.ack.object = TC_WIRE_OBJ_CHUNK;
    m.u.ack.index = p;
    n = tc_wire_encode(&m, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(tc_wire_decode(buf, (size_t)n, &d), 0);
    assert_true(s->an < LINK_Q_MAX);
    s->aq[(s->ah + s->an) % LINK_Q_MAX] =
        (struct ackev){.at = s->now + s->latency_ns, .pos = p, .ack = d.u.ack};
    s->an++;
}

/** Is the receiver silent now? */
static int silent(const struct sim *s)
{
    return s->now >= s->silent_from && s->now < s->silent_to;
}

/** A block arrives at the receiver. */
static void rx_block(struct sim *s, const struct blk *b)
{
    uint32_t g, q;
    struct tc_wire_ack a;

    if (silent(s))
        return;
    memcpy(s->rx[b->pos] + b->off, s->data[b->pos] + b->off, b->len);
    for (g = b->off / SEG; g < tc_proto_nsegs(b->off + b->len, SEG); g++) {
        if (s->have[b->pos][g / 64] & (1ull << (g % 64))) {
            s->dup_segs++;
            continue;
        }
        s->have[b->pos][g / 64] |= 1ull << (g % 64);
        s->nheld[b->pos]++;
    }
    if (!b->ack)
        return;
    tc_stream_ack_build(&a, s->have[b->pos], 0, s->len[b->pos], SEG, RWND);
    ack_queue(s, b->pos, &a);
    for (q = b->pos + 1; q < s->nobj && q <= b->pos + TC_STREAM_ACK_AHEAD; q++) {
        if (s->len[q] == 0 || s->nheld[q] != tc_proto_nsegs(s->len[q], SEG))
            continue;
        tc_stream_ack_build(&a, NULL, 1, s->len[q], SEG, RWND);
        ack_queue(s, q, &a);
    }
}

/** Set up a simulation of the objects of lens[n] on the given link. */
static struct sim *sim_new(const uint32_t *lens, uint32_t n, uint64_t bps, uint64_t queue,
                           uint32_t loss_ppm, uint64_t latency, uint64_t cap_bps)
{
    struct sim *s = calloc(1, sizeof(*s));
    uint32_t i, j;

    assert_non_null(s);
    assert_true(n <= OBJ_MAX);
    s->q = calloc(LINK_Q_MAX, sizeof(*s->q));
    s->aq = calloc(LINK_Q_MAX, sizeof(*s->aq));
    assert_non_null(s->q);
    assert_non_null(s->aq);
    s->link_bps = bps;
    s->queue_bytes = queue;
    s->loss_ppm = loss_ppm;
    s->latency_ns = latency;
    s->nobj = n;
    tu_prng_seed(&s->rng, 12345);
    for (i = 0; i < n; i++) {
        s->len[i] = lens[i];
        s->start[i] = s->total;
        s->total += lens[i];
        s->data[i] = malloc(lens[i] + 1);
        s->rx[i] = calloc(1, lens[i] + 1);
        s->have[i] = calloc(tc_proto_nsegs(lens[i], SEG) / 64 + 1, sizeof(uint64_t));
        assert_non_null(s->data[i]);
        assert_non_null(s->rx[i]);
        assert_non_null(s->have[i]);
        for (j = 0; j < lens[i]; j++)
            s->data[i][j] = (uint8_t)(tu_prng_next(&s->rng) >> 24);
    }
    assert_int_equal(tc_stream_tx_init(&s->tx, &sim_ops, s, SEG, BL, RWND, cap_bps, 0), 0);
    return s;
}

/** The receiver already holds position p whole. */
static void sim_prehold(struct sim *s, uint32_t p)
{
    uint32_t g, n = tc_proto_nsegs(s->len[p], SEG);

    memcpy(s->rx[p], s->data[p], s->len[p]);
    for (g = 0; g < n; g++)
        s->have[p][g / 64] |= 1ull << (g % 64);
    s->nheld[p] = n;
}

static void sim_free(struct sim *s)
{
    uint32_t i;

    for (i = 0; i < s->nobj; i++) {
        free(s->data[i]);
        free(s->rx[i]);
        free(s->have[i]);
    }
    free(s->q);
    free(s->aq);
    free(s);
}

/** Earliest of a and b. */
static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/**
 * Run until the stream completes (0), nothing more can happen (-EDEADLK) or
 * the clock passes limit_ns (-ETIMEDOUT). at_ns/hook: call hook once when
 * the clock first reaches at_ns (before the events of that time).
 */
static int sim_run(struct sim *s, uint64_t limit_ns, uint64_t at_ns, void (*hook)(struct sim *))
{
    tc_stream_tx_wake(&s->tx, s->now);
    while (!tc_stream_tx_complete(&s->tx)) {
        uint64_t t = tc_stream_tx_deadline(&s->tx);

        if (s->qn > 0)
            t = earliest(t, s->q[s->qh].at);
        if (s->an > 0)
            t = earliest(t, s->aq[s->ah].at);
        if (s->pipelined && s->owner_bytes < s->total)
            t = earliest(t, s->owner_next);
        if (s->eagain_until > s->now)
            t = earliest(t, s->eagain_until);
        if (hook && at_ns > s->now)
            t = earliest(t, at_ns);
        if (t == TC_PROTO_NEVER)
            return -EDEADLK;
        if (t > limit_ns)
            return -ETIMEDOUT;
        assert_true(t >= s->now);
        s->now = t;
        if (hook && s->now == at_ns)
            hook(s);
        if (s->pipelined && s->owner_bytes < s->total && s->owner_next <= s->now) {
            s->owner_bytes += s->owner_step;
            if (s->owner_bytes > s->total)
                s->owner_bytes = s->total;
            s->owner_next += s->owner_step_ns;
            tc_stream_tx_wake(&s->tx, s->now);
        }
        if (s->eagain_until == s->now)
            tc_stream_tx_wake(&s->tx, s->now);
        while (s->qn > 0 && s->q[s->qh].at <= s->now) {
            struct blk b = s->q[s->qh];

            s->qh = (s->qh + 1) % LINK_Q_MAX;
            s->qn--;
            rx_block(s, &b);
        }
        while (s->an > 0 && s->aq[s->ah].at <= s->now) {
            struct ackev e = s->aq[s->ah];

            s->ah = (s->ah + 1) % LINK_Q_MAX;
            s->an--;
            if (!silent(s))
                tc_stream_tx_on_ack(&s->tx, s->now, e.pos, &e.ack);
        }
        if (tc_stream_tx_deadline(&s->tx) <= s->now)
            tc_stream_tx_on_timer(&s->tx, s->now);
        if (s->tx.cwnd > s->max_cwnd)
            s->max_cwnd = s->tx.cwnd;
        if (s->tx.nruns > s->max_runs)
            s->max_runs = s->tx.nruns;
        if (s->tx.st.losses + s->tx.st.timeouts > 0 && s->tx.cwnd > s->max_cwnd_ca)
            s->max_cwnd_ca = s->tx.cwnd;
        /* invariants after every step */
        assert_true(s->tx.inflight <= s->tx.st.sent_bytes);
        assert_true(s->tx.cwnd >= TC_STREAM_CWND_MIN_BLOCKS * BL);
        assert_true(s->tx.cwnd <= TC_STREAM_CWND_MAX_BYTES);
    }
    return 0;
}

/** Every object arrived byte for byte. */
static void assert_delivered(const struct sim *s)
{
    uint32_t i;

    for (i = 0; i < s->nobj; i++) {
        assert_int_equal(s->nheld[i], tc_proto_nsegs(s->len[i], SEG));
        assert_memory_equal(s->rx[i], s->data[i], s->len[i]);
    }
}

/** (1) Lossless: every byte once, nothing retransmitted, len 0 skipped. */
static void test_lossless(void **state)
{
    static const uint32_t lens[] = {100000, 0, BL * 10, 1, 0, 0, 250000, SEG + 1, 30000, 0};
    struct sim *s = sim_new(lens, 10, 1000000000ull, 1u << 20, 0, 100000, 0);

    (void)state;
    assert_int_equal(sim_run(s, NS, 0, NULL), 0);
    assert_delivered(s);
    assert_int_equal(s->tx.st.sent_bytes, s->total);
    assert_int_equal(s->tx.st.acked_bytes, s->total);
    assert_int_equal(s->tx.st.retx_bytes, 0);
    assert_int_equal(s->tx.st.timeouts, 0);
    assert_int_equal(s->tx.st.losses, 0);
    assert_int_equal(s->tx.st.acks_bad, 0);
    assert_int_equal(s->tx.st.skipped_pos, 0);
    assert_int_equal(s->dup_segs, 0);
    assert_int_equal(s->tx.inflight, 0);
    assert_int_equal(s->tx.una_pos, 10);
    assert_true(s->tx.srtt_ns >= 2 * 100000);
    /* about the link's speed: 5 RTTs of slow start at most beyond it */
    assert_true(s->now < s->total * 8 * NS / 1000000000ull * 3 / 2 + 10 * 200000);
    sim_free(s);
}

/** (2) 2% random loss: byte-exact, retransmissions near the loss, no stall. */
static void test_random_loss(void **state)
{
    uint32_t lens[20], i;
    struct sim *s;
    uint64_t ideal;

    (void)state;
    for (i = 0; i < 20; i++)
        lens[i] = 200000 + i * 1000;
    s = sim_new(lens, 20, 1000000000ull, 1u << 20, 20000, 100000, 0);
    assert_int_equal(sim_run(s, 5 * NS, 0, NULL), 0);
    assert_delivered(s);
    print_message("2%% loss: lost %llu, retransmitted %llu of %llu bytes, %llu losses, "
                  "%llu timeouts, %.1f ms\n",
                  (unsigned long long)s->lost_bytes, (unsigned long long)s->tx.st.retx_bytes,
                  (unsigned long long)s->total, (unsigned long long)s->tx.st.losses,
                  (unsigned long long)s->tx.st.timeouts, s->now / 1e6);
    assert_true(s->lost_bytes > 0);
    assert_true(s->tx.st.retx_bytes >= s->lost_bytes / 2);
    assert_true(s->tx.st.retx_bytes <= 3 * s->total * 2 / 100);
    assert_true(s->tx.st.losses > 0);
    assert_int_equal(s->tx.st.sent_bytes, s->total + s->tx.st.retx_bytes);
    /* no stall: within 6x the lossless time */
    ideal = (s->total + s->total / BL * WIRE_OVH) * 8 * NS / 1000000000ull + 200000;
    assert_true(s->now < 6 * ideal);
    sim_free(s);
}

/** (3) Bottleneck with a small queue: AIMD keeps it busy and the window bounded. */
static void test_bottleneck(void **state)
{
    uint32_t lens[40], i;
    struct sim *s;
    uint64_t queue = 32 * 1024, rate = 100000000ull, lat = 1000000, goodput;

    (void)state;
    for (i = 0; i < 40; i++)
        lens[i] = 150000;
    s = sim_new(lens, 40, rate, queue, 0, lat, 0);
    assert_int_equal(sim_run(s, 10 * NS, 0, NULL), 0);
    assert_delivered(s);
    assert_true(s->qdrops > 0);
    assert_true(s->tx.st.losses > 0);
    goodput = s->total * 8 * NS / s->now;
    print_message("bottleneck: goodput %llu bit/s, max cwnd %llu (%llu after the first loss), "
                  "losses %llu, timeouts %llu, retransmitted %llu\n",
                  (unsigned long long)goodput, (unsigned long long)s->max_cwnd,
                  (unsigned long long)s->max_cwnd_ca, (unsigned long long)s->tx.st.losses,
                  (unsigned long long)s->tx.st.timeouts, (unsigned long long)s->tx.st.retx_bytes);
    /* bounded: slow start overshoots once, then AIMD stays near queue + BDP */
    assert_true(s->max_cwnd <= 4 * (queue + rate * 2 * lat / (8 * NS)));
    assert_true(s->max_cwnd_ca <= 3 * (queue + rate * 2 * lat / (8 * NS)) / 2);
    assert_true(s->tx.st.timeouts <= 3);
    assert_true(s->tx.st.retx_bytes < s->total / 50);
    /* within 20% of what the link carries of payload */
    assert_true(goodput >= rate * BL / (BL + WIRE_OVH) * 8 / 10);
    sim_free(s);
}

/** (4) Pipelining: the owner receives over time; the stream stalls and resumes. */
static void test_pipelining(void **state)
{
    uint32_t lens[10], i;
    struct sim *s;
    uint64_t owner_done;

    (void)state;
    for (i = 0; i < 10; i++)
        lens[i] = 100000 + i;
    s = sim_new(lens, 10, 1000000000ull, 1u << 20, 0, 100000, 0);
    s->pipelined = 1;
    s->owner_step = 20 * BL;
    s->owner_step_ns = 1000000;
    s->owner_next = 3000000;
    s->eagain_until = 2000000; /* no sequence yet (manifest not accepted) */
    assert_int_equal(sim_run(s, NS, 0, NULL), 0);
    assert_delivered(s);
    owner_done = 3000000 + (s->total / s->owner_step) * s->owner_step_ns;
    assert_true(s->stalls > 10);
    assert_int_equal(s->tx.st.sent_bytes, s->total);
    assert_int_equal(s->tx.st.timeouts, 0);
    /* finishes right after the owner */
    assert_true(s->now >= owner_done);
    assert_true(s->now < owner_done + 2000000);
    sim_free(s);
}

/** (5) Ahead skipping: positions the child holds whole are not sent. */
static void test_ahead_skip(void **state)
{
    uint32_t lens[14], i;
    struct sim *s;
    uint64_t sent = 0;

    (void)state;
    for (i = 0; i < 14; i++)
        lens[i] = 64 * 1024;
    s = sim_new(lens, 14, 1000000000ull, 1u << 20, 0, 100000, 0);
    sim_prehold(s, 0);
    for (i = 3; i <= 10; i++)
        sim_prehold(s, i);
    assert_int_equal(sim_run(s, NS, 0, NULL), 0);
    assert_delivered(s);
    /* position 0 (being sent when its ACK came) and 3..10 */
    assert_int_equal(s->tx.st.skipped_pos, 9);
    assert_true(s->sent_pos[0] <= TC_STREAM_CWND_INIT_BLOCKS * BL);
    for (i = 3; i <= 10; i++)
        assert_int_equal(s->sent_pos[i], 0);
    for (i = 0; i < 14; i++)
        sent += s->sent_pos[i];
    assert_int_equal(sent, s->tx.st.sent_bytes);
    assert_int_equal(sent, s->sent_pos[0] + 5ull * 64 * 1024);
    sim_free(s);
}

/** cwnd and timeouts when the receiver comes back (test 6). */
static uint64_t back_cwnd, back_timeouts;

/** Hook: the receiver is about to come back. */
static void note_back(struct sim *s)
{
    back_cwnd = s->tx.cwnd;
    back_timeouts = s->tx.st.timeouts;
}

/** (6) The receiver goes silent: timeouts, minimum window, then recovery. */
static void test_rto(void **state)
{
    uint32_t lens[10], i;
    struct sim *s;

    (void)state;
    for (i = 0; i < 10; i++)
        lens[i] = 200000;
    s = sim_new(lens, 10, 1000000000ull, 1u << 20, 0, 100000, 0);
    s->silent_from = 3000000;
    s->silent_to = 50000000;
    assert_int_equal(sim_run(s, 2 * NS, s->silent_to, note_back), 0);
    assert_true(back_timeouts >= 2);
    assert_int_equal(back_cwnd, TC_STREAM_CWND_MIN_BLOCKS * BL);
    assert_delivered(s);
    assert_true(s->tx.st.retx_bytes > 0);
    assert_true(s->now > s->silent_to);
    assert_true(s->now < s->silent_to + 300000000ull);
    /* a new sample brought the timeout back down */
    assert_true(s->tx.rto_ns < 4 * TC_STREAM_RTO_MIN_NS);
    sim_free(s);
}

/** (7) Pacing: the send rate keeps to rate_cap_bps. */
static void test_pacing(void **state)
{
    uint32_t lens[20], i;
    struct sim *s;
    uint64_t cap = 200000000ull, rate;

    (void)state;
    for (i = 0; i < 20; i++)
        lens[i] = 200000;
    s = sim_new(lens, 20, 1000000000ull, 1u << 20, 0, 100000, cap);
    assert_int_equal(sim_run(s, 2 * NS, 0, NULL), 0);
    assert_delivered(s);
    rate = s->wire_sent * 8 * NS / s->last_send_ns;
    print_message("pacing: %llu bit/s for a cap of %llu\n", (unsigned long long)rate,
                  (unsigned long long)cap);
    assert_true(rate >= cap * 95 / 100);
    assert_true(rate <= cap * 105 / 100);
    sim_free(s);
}

/**
 * A long fat path with short runs and loss: the ring of runs fills (the
 * sender waits for free entries, splits fall back to whole spans) and the
 * transfer still completes byte for byte.
 */
static void test_ring_full(void **state)
{
    uint32_t lens[40], i;
    struct sim *s;

    (void)state;
    for (i = 0; i < 40; i++)
        lens[i] = 200000;
    /* 1 Gbit/s, 20 ms RTT: 2.5 MB in flight would fill the path; the ring
     * holds 512 runs of 3 blocks (2.2 MB) */
    s = sim_new(lens, 40, 1000000000ull, 8u << 20, 500, 10000000, 0);
    s->held_cap = 3 * BL;
    assert_int_equal(sim_run(s, 20 * NS, 0, NULL), 0);
    assert_delivered(s);
    print_message("ring: %u entries at most, %llu retransmitted, %llu timeouts, %.1f ms\n",
                  s->max_runs, (unsigned long long)s->tx.st.retx_bytes,
                  (unsigned long long)s->tx.st.timeouts, s->now / 1e6);
    assert_int_equal(s->max_runs, TC_STREAM_RUNS_MAX);
    assert_true(s->tx.st.retx_bytes > 0);
    assert_true(s->tx.st.retx_bytes < 3 * s->total * 2 / 1000);
    sim_free(s);
}

/** An ACK survives the wire codec unchanged. */
static void assert_ack_codec(const struct tc_wire_ack *a)
{
    struct tc_wire_msg m, d;
    uint8_t buf[TC_WIRE_DGRAM_MAX];
    int n;

    memset(&m, 0, sizeof(m));
    m.hdr.type = TC_WIRE_ACK;
    m.hdr.session_id = 9;
    m.hdr.epoch = 2;
    m.hdr.token = 3;
    m.u.ack = *a;
    m.u.ack.object = TC_WIRE_OBJ_CHUNK;
    m.u.ack.index = 4;
    n = tc_wire_encode(&m, buf, sizeof(buf));
    assert_int_equal(n, TC_WIRE_HDR_LEN + 16 + 8 * a->nsacks);
    assert_int_equal(tc_wire_decode(buf, (size_t)n, &d), 0);
    assert_int_equal(d.u.ack.cum_offset, a->cum_offset);
    assert_int_equal(d.u.ack.window, a->window);
    assert_int_equal(d.u.ack.nsacks, a->nsacks);
    assert_memory_equal(d.u.ack.sacks, a->sacks, a->nsacks * sizeof(a->sacks[0]));
}

/** (8) tc_stream_ack_build edge cases. */
static void test_ack_build(void **state)
{
    uint64_t have[200];
    struct tc_wire_ack a;
    uint32_t len = 40 * SEG - 100, i, g;
    struct tu_prng p;

    (void)state;
    /* nothing held */
    tc_stream_ack_build(&a, NULL, 0, len, SEG, 1ull << 40);
    assert_int_equal(a.cum_offset, 0);
    assert_int_equal(a.nsacks, 0);
    assert_int_equal(a.window, TC_WIRE_WINDOW_MAX);
    assert_ack_codec(&a);
    memset(have, 0, sizeof(have));
    tc_stream_ack_build(&a, have, 0, len, SEG, 1000);
    assert_int_equal(a.cum_offset, 0);
    assert_int_equal(a.nsacks, 0);
    assert_int_equal(a.window, 1000);
    /* everything held: by the flag, or by the bits (bits past the end ignored) */
    tc_stream_ack_build(&a, NULL, 1, len, SEG, 1000);
    assert_int_equal(a.cum_offset, len);
    assert_int_equal(a.nsacks, 0);
    assert_ack_codec(&a);
    have[0] = ~0ull;
    tc_stream_ack_build(&a, have, 0, len, SEG, 1000);
    assert_int_equal(a.cum_offset, len);
    assert_int_equal(a.nsacks, 0);
    /* an empty object */
    tc_stream_ack_build(&a, have, 0, 0, SEG, 1000);
    assert_int_equal(a.cum_offset, 0);
    assert_int_equal(a.nsacks, 0);
    /* more than 8 holes: 0,1 held, then every odd segment */
    memset(have, 0, sizeof(have));
    have[0] = 3;
    for (g = 3; g < 40; g += 2)
        have[0] |= 1ull << g;
    tc_stream_ack_build(&a, have, 0, len, SEG, 1000);
    assert_int_equal(a.cum_offset, 2 * SEG);
    assert_int_equal(a.nsacks, TC_WIRE_SACK_MAX);
    for (i = 0; i < TC_WIRE_SACK_MAX; i++) {
        assert_int_equal(a.sacks[i].offset, (3 + 2 * i) * SEG);
        assert_int_equal(a.sacks[i].len, SEG);
    }
    assert_ack_codec(&a);
    /* a run of held segments ending in the short last one */
    memset(have, 0, sizeof(have));
    for (g = 36; g < 40; g++)
        have[0] |= 1ull << g;
    have[0] |= 1ull << 10;
    tc_stream_ack_build(&a, have, 0, len, SEG, 1000);
    assert_int_equal(a.cum_offset, 0);
    assert_int_equal(a.nsacks, 2);
    assert_int_equal(a.sacks[0].offset, 10 * SEG);
    assert_int_equal(a.sacks[0].len, SEG);
    assert_int_equal(a.sacks[1].offset, 36 * SEG);
    assert_int_equal(a.sacks[1].len, len - 36 * SEG);
    assert_ack_codec(&a);
    /* a big object with random holes against a plain bit-by-bit reading */
    tu_prng_seed(&p, 7);
    for (i = 0; i < 20; i++) {
        uint32_t n = 8192, blen = n * 512 - (uint32_t)i, cum, k = 0, j;

        for (g = 0; g < n / 64; g++)
            have[g] = tu_prng_next(&p) | (i < 10 ? tu_prng_next(&p) : 0);
        for (g = 0; g < i * 300 && g < n; g++)
            have[g / 64] |= 1ull << (g % 64);
        tc_stream_ack_build(&a, have, 0, blen, 512, RWND);
        for (g = 0; g < n && (have[g / 64] >> (g % 64) & 1); g++)
            ;
        cum = g == n ? blen : g * 512;
        assert_int_equal(a.cum_offset, cum);
        for (j = g; j < n && k < TC_WIRE_SACK_MAX; j++) {
            if (!(have[j / 64] >> (j % 64) & 1))
                continue;
            assert_int_equal(a.sacks[k].offset, j * 512);
            while (j < n && (have[j / 64] >> (j % 64) & 1))
                j++;
            assert_int_equal(a.sacks[k].len, (j == n ? blen : j * 512) - a.sacks[k].offset);
            k++;
        }
        assert_int_equal(a.nsacks, k);
        assert_ack_codec(&a);
    }
}

/** Bad ACKs are counted and change nothing. */
static void test_bad_acks(void **state)
{
    static const uint32_t lens[] = {50000, 50000};
    struct sim *s = sim_new(lens, 2, 1000000000ull, 1u << 20, 0, 100000, 0);
    struct tc_wire_ack a;
    uint64_t inflight, cwnd;

    (void)state;
    tc_stream_tx_wake(&s->tx, 0);
    inflight = s->tx.inflight;
    cwnd = s->tx.cwnd;
    assert_int_equal(inflight, TC_STREAM_CWND_INIT_BLOCKS * BL);
    memset(&a, 0, sizeof(a));
    a.cum_offset = 50001; /* beyond the object */
    a.window = RWND;
    tc_stream_tx_on_ack(&s->tx, 10, 0, &a);
    a.cum_offset = 10;
    tc_stream_tx_on_ack(&s->tx, 10, UINT32_MAX, &a);          /* unknown object */
    tc_stream_tx_on_ack(&s->tx, 10, 5, &a);                   /* past the end */
    tc_stream_tx_on_ack(&s->tx, 10, TC_STREAM_AHEAD_MAX, &a); /* too far ahead */
    a.cum_offset = 0;
    a.nsacks = 2;
    a.sacks[0] = (struct tc_wire_range){.offset = 5000, .len = 100};
    a.sacks[1] = (struct tc_wire_range){.offset = 4000, .len = 100}; /* not sorted */
    tc_stream_tx_on_ack(&s->tx, 10, 0, &a);
    assert_int_equal(s->tx.st.acks_bad, 5);
    assert_int_equal(s->tx.st.acks, 0);
    assert_int_equal(s->tx.inflight, inflight);
    assert_int_equal(s->tx.cwnd, cwnd);
    assert_int_equal(s->tx.st.acked_bytes, 0);
    /* a sack of part of the first block acknowledges nothing (block granularity) */
    a.nsacks = 1;
    a.sacks[0] = (struct tc_wire_range){.offset = 100, .len = 1000};
    tc_stream_tx_on_ack(&s->tx, 10, 0, &a);
    assert_int_equal(s->tx.st.acks, 1);
    assert_int_equal(s->tx.st.acked_bytes, 0);
    sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossless),   cmocka_unit_test(test_random_loss),
        cmocka_unit_test(test_bottleneck), cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_ahead_skip), cmocka_unit_test(test_rto),
        cmocka_unit_test(test_pacing),     cmocka_unit_test(test_ack_build),
        cmocka_unit_test(test_bad_acks),   cmocka_unit_test(test_ring_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
