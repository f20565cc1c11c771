// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the tree-only transport sender (lib/stream.c). The input is a
 * script of events for one sender over a fixed sequence of objects: ACKs
 * with arbitrary fields (any position, offsets, sacks, windows), ACKs built
 * by tc_stream_ack_build() from a model receiver that got the blocks the
 * input let through, timers, clock steps, and the owner holding more. After
 * every event the sender's bookkeeping must be consistent: bytes in flight
 * equal the live runs not declared lost and never exceed the bytes sent, the
 * per-position run counts match the ring, the window stays in its bounds,
 * and every send call keeps the block contract.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "treecast/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Segment and block size, bytes. */
#define SEG 512u
#define BL (3u * SEG)
/** Objects in the fixed sequence. */
#define NOBJ 12u
/** Largest object, bytes. */
#define OBJ_MAX_BYTES 70000u
/** Segments of the largest object. */
#define SEGS_MAX ((OBJ_MAX_BYTES + SEG - 1) / SEG)
/** Blocks remembered between sends and their delivery, blocks. */
#define PENDING_MAX 4096u

/** Lengths of the sequence: empty objects, short tails, one-byte objects. */
static const uint32_t lens[NOBJ] = {5000, 0,     70000,   1,       BL * 7, 0,
                                    0,    20000, SEG + 1, 64 * BL, 3,      9000};

/** One fuzz run's state. */
struct fz {
    struct tc_stream_tx tx;                 /**< the sender */
    uint64_t now;                           /**< clock, ns */
    uint64_t owner[NOBJ];                   /**< bytes of each object the owner holds */
    int eagain;                             /**< object_at says -EAGAIN */
    uint64_t have[NOBJ][SEGS_MAX / 64 + 1]; /**< model receiver's segments */
    uint32_t pend_pos[PENDING_MAX];         /**< blocks sent, not yet delivered or dropped */
    uint32_t pend_off[PENDING_MAX];         /**< ... */
    uint32_t pend_len[PENDING_MAX];         /**< ... */
    uint32_t npend;                         /**< ... */
};

static struct fz fz;

static int op_object_at(void *ctx, uint32_t pos, struct tc_stream_obj *o)
{
    struct fz *f = ctx;

    if (f->eagain)
        return -EAGAIN;
    if (pos >= NOBJ)
        return -ENOENT;
    o->object = TC_WIRE_OBJ_CHUNK;
    o->index = pos;
    o->len = lens[pos];
    return 0;
}

static uint32_t op_held(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct fz *f = ctx;
    uint64_t h;

    assert(o->index < NOBJ && o->len == lens[o->index] && off < o->len);
    assert(off % BL == 0);
    h = f->owner[o->index];
    if (h <= off)
        return 0;
    h -= off;
    return h < len ? (uint32_t)h : len;
}

static int op_send(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    struct fz *f = ctx;
    uint32_t b;

    assert(o->index < NOBJ && o->len == lens[o->index]);
    assert(len > 0 && len <= TC_STREAM_RUN_BLOCKS_MAX * BL);
    assert(off % BL == 0 && (uint64_t)off + len <= o->len);
    assert(len % BL == 0 || off + len == o->len);
    assert(off + len <= f->owner[o->index]); /* only what the owner held */
    for (b = off; b < off + len && f->npend < PENDING_MAX; b += BL) {
        f->pend_pos[f->npend] = o->index;
        f->pend_off[f->npend] = b;
        f->pend_len[f->npend] = off + len - b < BL ? off + len - b : BL;
        f->npend++;
    }
    return 0;
}

static const struct tc_stream_ops ops = {
    .object_at = op_object_at,
    .held = op_held,
    .send = op_send,
};

/** Check the sender's bookkeeping against its ring. */
static void check(const struct tc_stream_tx *tx)
{
    uint16_t cnt[NOBJ + 1];
    uint64_t flying = 0;
    uint32_t i, lost = 0, tomb = 0;

    memset(cnt, 0, sizeof(cnt));
    assert(tx->nruns <= TC_STREAM_RUNS_MAX);
    for (i = 0; i < tx->nruns; i++) {
        const struct tc_stream_run *r = &tx->runs[(tx->run_head + i) % TC_STREAM_RUNS_MAX];

        if (r->len == 0) {
            tomb++;
            continue;
        }
        assert(r->pos < NOBJ && r->pos >= tx->una_pos && r->pos <= tx->pos);
        assert(r->off % BL == 0 && (uint64_t)r->off + r->len <= lens[r->pos]);
        assert(r->len % BL == 0 || r->off + r->len == lens[r->pos]);
        assert(r->serial < tx->serial);
        cnt[r->pos]++;
        if (r->lost)
            lost++;
        else
            flying += r->len;
    }
    for (i = 0; i < NOBJ; i++)
        assert(cnt[i] == tx->pos_runs[i % TC_STREAM_POS_MAX]);
    assert(lost == tx->nlost && tomb == tx->ntomb);
    assert(flying == tx->inflight);
    assert(tx->inflight <= tx->st.sent_bytes);
    assert(tx->st.retx_bytes <= tx->st.sent_bytes);
    assert(tx->cwnd >= TC_STREAM_CWND_MIN_BLOCKS * BL && tx->cwnd <= TC_STREAM_CWND_MAX_BYTES);
    assert(tx->rto_ns >= TC_STREAM_RTO_MIN_NS && tx->rto_ns <= TC_STREAM_RTO_MAX_NS);
    assert(tx->una_pos <= tx->pos);
    assert(!tc_stream_tx_complete(tx) || tx->inflight == 0);
    assert(tc_stream_tx_deadline(tx) != TC_PROTO_NEVER || tx->inflight == 0);
}

/** Deliver or drop pending blocks (bit i of mask: deliver block i). */
static void deliver(struct fz *f, uint64_t mask)
{
    uint32_t i, g;

    for (i = 0; i < f->npend; i++) {
        uint32_t p = f->pend_pos[i];

        if (i < 64 && !((mask >> i) & 1))
            continue;
        for (g = f->pend_off[i] / SEG; g < tc_proto_nsegs(f->pend_off[i] + f->pend_len[i], SEG);
             g++)
            f->have[p][g / 64] |= 1ull << (g % 64);
    }
    f->npend = 0;
}

/** Read n bytes (big-endian) from the input, zero past its end. */
static uint64_t take(const uint8_t **d, size_t *left, unsigned n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8;
        if (*left > 0) {
            v |= **d;
            (*d)++;
            (*left)--;
        }
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz *f = &fz;
    struct tc_wire_ack a;
    uint64_t cap;
    uint32_t i, p;
    unsigned s;

    memset(f, 0, sizeof(*f));
    cap = take(&data, &size, 1) % 4 == 0 ? 0 : 100000000ull * (1 + take(&data, &size, 1) % 8);
    for (i = 0; i < NOBJ; i++)
        f->owner[i] = lens[i];
    if (tc_stream_tx_init(&f->tx, &ops, f, SEG, BL, 1u << 20, cap, 0) != 0)
        assert(0);
    assert(tc_stream_tx_init(&f->tx, &ops, f, SEG, BL + 1, 0, 0, 0) == -EINVAL);
    if (tc_stream_tx_init(&f->tx, &ops, f, SEG, BL, take(&data, &size, 3) << 4, cap, 0) != 0)
        assert(0);
    if (take(&data, &size, 1) & 1)
        for (i = 0; i < NOBJ; i++)
            f->owner[i] = 0; /* pipelined: the owner receives as the script says */
    tc_stream_tx_wake(&f->tx, f->now);
    check(&f->tx);
    while (size > 0) {
        unsigned op = (unsigned)take(&data, &size, 1);

        f->now += take(&data, &size, 2) * 1000;
        switch (op % 8) {
        case 0: /* an arbitrary ACK */
            memset(&a, 0, sizeof(a));
            p = (uint32_t)take(&data, &size, 1);
            p = p == 255 ? UINT32_MAX : p % (NOBJ + 4);
            a.cum_offset = (uint32_t)take(&data, &size, 3);
            a.window = (uint32_t)take(&data, &size, 3) << 4;
            a.nsacks = (uint8_t)(take(&data, &size, 1) % (TC_WIRE_SACK_MAX + 2));
            for (s = 0; s < a.nsacks && s < TC_WIRE_SACK_MAX; s++) {
                a.sacks[s].offset = (uint32_t)take(&data, &size, 3);
                a.sacks[s].len = (uint32_t)take(&data, &size, 2);
            }
            tc_stream_tx_on_ack(&f->tx, f->now, p, &a);
            break;
        case 1: /* the model receiver's ACK for one object */
        case 2:
            deliver(f, take(&data, &size, 8));
            p = (uint32_t)take(&data, &size, 1) % NOBJ;
            tc_stream_ack_build(&a, f->have[p], 0, lens[p], SEG, 1u << 20);
            a.object = TC_WIRE_OBJ_CHUNK;
            a.index = p;
            tc_stream_tx_on_ack(&f->tx, f->now, p, &a);
            break;
        case 3: /* the timer, when due */
            if (tc_stream_tx_deadline(&f->tx) <= f->now)
                tc_stream_tx_on_timer(&f->tx, f->now);
            break;
        case 4: /* jump to the deadline */
            if (tc_stream_tx_deadline(&f->tx) != TC_PROTO_NEVER &&
                tc_stream_tx_deadline(&f->tx) > f->now)
                f->now = tc_stream_tx_deadline(&f->tx);
            tc_stream_tx_on_timer(&f->tx, f->now);
            break;
        case 5: /* the owner receives more of one object */
            p = (uint32_t)take(&data, &size, 1) % NOBJ;
            f->owner[p] += take(&data, &size, 1) * SEG;
            if (f->owner[p] > lens[p])
                f->owner[p] = lens[p];
            tc_stream_tx_wake(&f->tx, f->now);
            break;
        case 6: /* the sequence is (not) known */
            f->eagain = (int)(take(&data, &size, 1) & 1);
            tc_stream_tx_wake(&f->tx, f->now);
            break;
        default:
            tc_stream_tx_pump(&f->tx, f->now);
            break;
        }
        check(&f->tx);
    }
    return 0;
}
