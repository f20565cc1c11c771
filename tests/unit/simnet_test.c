// SPDX-License-Identifier: MIT
/*
 * Unit tests for sim/simnet.c: link timing, drop-tail queues, multicast,
 * loss models, trains against single packets, faults, disks, timers,
 * determinism; and a micro-benchmark that prints events per second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "treecast/be.h"
#include "treecast/simnet.h"

/** Most packets a test node records by sequence number. */
#define SEQ_MAX 300000

/** A test node: records what it gets; as a sender, sends on its timer. */
struct tnode {
    uint32_t id;          /**< node number */
    uint64_t rx;          /**< single packets received */
    uint64_t rx_trains;   /**< trains received */
    uint64_t rx_blocks;   /**< blocks received in trains */
    uint64_t first_at;    /**< time of the first delivery */
    uint64_t last_at;     /**< time of the last delivery */
    uint32_t last_from;   /**< claimed source of the last delivery */
    uint8_t *got;         /**< got[seq] = 1 once received (SEQ_MAX) */
    uint64_t timer_at[8]; /**< times on_timer ran */
    uint32_t ntimers;     /**< on_timer calls */
    uint64_t disk_at[8];  /**< times on_disk_done ran */
    uint64_t disk_ck[8];  /**< their cookies */
    uint32_t ndisk;       /**< on_disk_done calls */
    uint32_t starts;      /**< on_start calls */
    uint32_t crashes;     /**< on_crash calls */
    uint32_t join_group;  /**< group to join at start (+1; 0 = none) */
    /* sender role */
    uint32_t to_send;     /**< packets (or trains) still to send */
    uint32_t seq;         /**< next sequence number */
    uint32_t dst;         /**< destination */
    uint32_t len;         /**< payload bytes */
    uint64_t interval_ns; /**< time between sends */
    uint32_t train;       /**< blocks per train, 0 = single packets */
};

static void t_start(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    struct tnode *t = ctx;

    (void)now;
    t->starts++;
    if (t->join_group)
        assert_int_equal(tc_sim_net_join(net, node, t->join_group - 1), 0);
    if (t->to_send)
        assert_int_equal(tc_sim_net_timer_set(net, node, now), 0);
}

static void t_crash(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    (void)net;
    (void)node;
    (void)now;
    ((struct tnode *)ctx)->crashes++;
}

static void note(struct tnode *t, uint64_t now, uint32_t from)
{
    if (!t->first_at)
        t->first_at = now;
    assert_true(now >= t->last_at);
    t->last_at = now;
    t->last_from = from;
}

static void t_packet(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now, uint32_t from,
                     const uint8_t *buf, size_t len)
{
    struct tnode *t = ctx;

    (void)net;
    (void)node;
    t->rx++;
    note(t, now, from);
    if (t->got && len >= 4) {
        uint32_t seq = tc_get_be32(buf);

        assert_true(seq < SEQ_MAX);
        assert_int_equal(t->got[seq], 0);
        t->got[seq] = 1;
    }
}

static void t_train(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now, uint32_t from,
                    const struct tc_sim_train_rx *rx)
{
    struct tnode *t = ctx;
    uint32_t base, j, n = 0;

    (void)net;
    (void)node;
    t->rx_trains++;
    t->rx_blocks += rx->received;
    note(t, now, from);
    assert_int_equal(rx->meta_len, 4);
    base = tc_get_be32(rx->meta);
    for (j = 0; j < rx->nblocks; j++) {
        if (!((rx->bitmap[j / 64] >> (j % 64)) & 1))
            continue;
        n++;
        if (t->got) {
            assert_true(base + j < SEQ_MAX);
            assert_int_equal(t->got[base + j], 0);
            t->got[base + j] = 1;
        }
    }
    assert_int_equal(n, rx->received);
    assert_true(rx->first_ns <= now);
}

/** Sender: one packet (or train) per interval until to_send runs out. */
static void t_timer(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now)
{
    struct tnode *t = ctx;

    if (t->ntimers < 8)
        t->timer_at[t->ntimers] = now;
    t->ntimers++;
    if (!t->to_send)
        return;
    if (t->train) {
        uint8_t meta[4];

        tc_put_be32(meta, t->seq);
        assert_int_equal(
            tc_sim_net_send_train(net, node, t->dst, meta, sizeof(meta), t->train, t->len), 0);
        t->seq += t->train;
    } else {
        uint8_t buf[9000] = {0};

        tc_put_be32(buf, t->seq++);
        assert_int_equal(tc_sim_net_send(net, node, t->dst, buf, t->len), 0);
    }
    if (--t->to_send)
        assert_int_equal(tc_sim_net_timer_set(net, node, now + t->interval_ns), 0);
}

static void t_disk(struct tc_sim_net *net, void *ctx, uint32_t node, uint64_t now, uint64_t cookie)
{
    struct tnode *t = ctx;

    (void)net;
    (void)node;
    if (t->ndisk < 8) {
        t->disk_at[t->ndisk] = now;
        t->disk_ck[t->ndisk] = cookie;
    }
    t->ndisk++;
}

static const struct tc_sim_node_ops t_ops = {
    .on_start = t_start,
    .on_crash = t_crash,
    .on_packet = t_packet,
    .on_train = t_train,
    .on_timer = t_timer,
    .on_disk_done = t_disk,
};

/** A net of n test nodes, all attached and started at 0, with seq tracking. */
struct world {
    struct tc_sim_net *net; /**< the network */
    struct tnode *nodes;    /**< n test nodes */
    uint32_t n;             /**< how many */
};

static void world_new(struct world *w, struct tc_sim_net_cfg *cfg, int track)
{
    uint32_t i;

    w->n = cfg->nodes;
    w->nodes = calloc(w->n, sizeof(*w->nodes));
    assert_non_null(w->nodes);
    assert_int_equal(tc_sim_net_new(cfg, &w->net), 0);
    for (i = 0; i < w->n; i++) {
        w->nodes[i].id = i;
        if (track) {
            w->nodes[i].got = calloc(SEQ_MAX, 1);
            assert_non_null(w->nodes[i].got);
        }
        assert_int_equal(tc_sim_net_attach(w->net, i, &t_ops, &w->nodes[i]), 0);
    }
}

static void world_start(struct world *w)
{
    uint32_t i;

    for (i = 0; i < w->n; i++)
        assert_int_equal(tc_sim_net_start(w->net, i, 0), 0);
}

static int world_run(struct world *w, uint64_t until)
{
    return tc_sim_run(tc_sim_net_sim(w->net), until, NULL, NULL);
}

static void world_free(struct world *w)
{
    uint32_t i;

    for (i = 0; i < w->n; i++)
        free(w->nodes[i].got);
    free(w->nodes);
    tc_sim_net_free(w->net);
}

/** A small net with lossless gigabit links. */
static void small_cfg(struct tc_sim_net_cfg *cfg, uint32_t nodes, uint64_t seed)
{
    tc_sim_net_cfg_default(cfg, nodes, seed);
    cfg->events_max = 1 << 16;
    cfg->pkts_max = 1 << 12;
    cfg->trains_max = 64;
    cfg->deliveries_max = 1 << 12;
}

static void test_wire_bytes(void **state)
{
    (void)state;
    assert_int_equal(tc_sim_wire_bytes(0), 84); /* padded to a 64-byte frame */
    assert_int_equal(tc_sim_wire_bytes(18), 84);
    assert_int_equal(tc_sim_wire_bytes(19), 85);
    assert_int_equal(tc_sim_wire_bytes(1472), 1538); /* full 1500-byte MTU frame */
    assert_int_equal(tc_sim_wire_bytes(8972), 9038);
}

/** Serialization on each link plus each latency, to the nanosecond. */
static void test_one_packet_timing(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct tc_sim_node_cfg slow;
    struct world w;
    uint8_t buf[1472] = {0};

    (void)state;
    small_cfg(&cfg, 3, 1);
    cfg.node.up.latency_ns = 10000;
    cfg.node.down.latency_ns = 20000;
    world_new(&w, &cfg, 0);
    slow = cfg.node;
    slow.down.rate_bps = 100000000; /* node 2: 100 Mbit/s downlink */
    assert_int_equal(tc_sim_net_node_set(w.net, 2, &slow), 0);
    world_start(&w);
    assert_int_equal(world_run(&w, 1000), 0);
    assert_int_equal(tc_sim_net_send(w.net, 0, 1, buf, sizeof(buf)), 0);
    assert_int_equal(tc_sim_net_send(w.net, 1, 2, buf, 100), 0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    /* 1538 B at 1 Gbit/s = 12304 ns, twice, + 10 us + 20 us, from t = 1000 */
    assert_int_equal(w.nodes[1].rx, 1);
    assert_int_equal(w.nodes[1].last_at, 1000 + 12304 + 10000 + 12304 + 20000);
    /* 166 B: 1328 ns up at 1 Gbit/s, 13280 ns down at 100 Mbit/s */
    assert_int_equal(w.nodes[2].last_at, 1000 + 1328 + 10000 + 13280 + 20000);
    assert_int_equal(tc_sim_net_link_stats(w.net, 0, 1)->tx_bytes, 1538);
    assert_int_equal(tc_sim_net_node_stats(w.net, 1)->rx_bytes, 1538);
    assert_int_equal(tc_sim_net_seeder_egress_bytes(w.net), 1538);
    /* errors */
    assert_int_equal(tc_sim_net_send(w.net, 0, 1, buf, 1473), -EMSGSIZE);
    assert_int_equal(tc_sim_net_send(w.net, 0, 3, buf, 10), -EINVAL);
    assert_int_equal(tc_sim_net_send(w.net, 0, TC_SIM_GROUP(4), buf, 10), -EINVAL);
    world_free(&w);
}

/** A burst beyond the queue: exactly the frames that fit are accepted. */
static void test_queue_overflow(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;
    uint8_t buf[1472] = {0};
    uint32_t i;

    (void)state;
    small_cfg(&cfg, 2, 1);
    cfg.node.up.queue_bytes = 10 * 1538 + 1537; /* room for 10 frames, not 11 */
    world_new(&w, &cfg, 1);
    world_start(&w);
    assert_int_equal(world_run(&w, 0), 0);
    for (i = 0; i < 20; i++) {
        tc_put_be32(buf, i);
        assert_int_equal(tc_sim_net_send(w.net, 0, 1, buf, sizeof(buf)), 0);
    }
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[1].rx, 10);
    for (i = 0; i < 20; i++)
        assert_int_equal(w.nodes[1].got[i], i < 10);
    assert_int_equal(tc_sim_net_link_stats(w.net, 0, 1)->drop_queue_pkts, 10);
    assert_int_equal(tc_sim_net_link_stats(w.net, 0, 1)->drop_queue_bytes, 10 * 1538);
    /* back to back: the 10th arrives 10 serializations after the start */
    assert_int_equal(w.nodes[1].last_at, 10 * 12304 + 50000 + 12304 + 50000);
    world_free(&w);
}

/** At the link rate a two-frame queue never overflows; 1% faster, it does
 * (the backlog grows by 124 ns a frame until a frame no longer fits). */
static void test_queue_rate(void **state)
{
    static const uint64_t intervals[] = {12304, 12180};
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        struct tc_sim_net_cfg cfg;
        struct world w;
        uint64_t drops;

        small_cfg(&cfg, 2, 1);
        cfg.node.up.queue_bytes = 2 * 1538;
        world_new(&w, &cfg, 0);
        w.nodes[0].to_send = 2000;
        w.nodes[0].dst = 1;
        w.nodes[0].len = 1472;
        w.nodes[0].interval_ns = intervals[k];
        world_start(&w);
        assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
        drops = tc_sim_net_link_stats(w.net, 0, 1)->drop_queue_pkts;
        assert_int_equal(w.nodes[1].rx + drops, 2000);
        if (k == 0)
            assert_int_equal(drops, 0);
        else /* ~1% of the frames cannot fit */
            assert_true(drops >= 15 && drops <= 25);
        world_free(&w);
    }
}

static void test_multicast_replication(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;
    uint32_t i;

    (void)state;
    small_cfg(&cfg, 10, 1);
    world_new(&w, &cfg, 1);
    for (i = 0; i < 10; i++)
        w.nodes[i].join_group = i % 3 ? 2 : 0; /* group 1: nodes 1 2 4 5 7 8 */
    w.nodes[1].to_send = 5;
    w.nodes[1].dst = TC_SIM_GROUP(1);
    w.nodes[1].len = 1000;
    w.nodes[1].interval_ns = 1000;
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    for (i = 0; i < 10; i++) {
        uint64_t want = (i % 3 && i != 1) ? 5 : 0;

        assert_int_equal(w.nodes[i].rx, want);
        if (want) {
            assert_int_equal(w.nodes[i].last_from, 1);
            assert_memory_equal(w.nodes[i].got, "\1\1\1\1\1\0", 6);
        }
    }
    assert_true(tc_sim_net_is_member(w.net, 4, 1));
    assert_int_equal(tc_sim_net_leave(w.net, 4, 1), 0);
    assert_false(tc_sim_net_is_member(w.net, 4, 1));
    /* charged once on the sender's uplink, once per receiver downlink */
    assert_int_equal(tc_sim_net_link_stats(w.net, 1, 1)->tx_pkts, 5);
    assert_int_equal(tc_sim_net_link_stats(w.net, 2, 0)->tx_pkts, 5);
    world_free(&w);
}

/** A lossy world: sender 0 multicasts n packets (or trains) to nodes 1..N-1. */
static void lossy_world(struct world *w, uint32_t nodes, uint64_t seed, uint32_t n,
                        const struct tc_sim_loss_cfg *up, const struct tc_sim_loss_cfg *down)
{
    struct tc_sim_net_cfg cfg;
    uint32_t i;

    small_cfg(&cfg, nodes, seed);
    cfg.node.up.rate_bps = 0; /* instant links: loss only */
    cfg.node.down.rate_bps = 0;
    if (up)
        cfg.node.up.loss = *up;
    if (down)
        cfg.node.down.loss = *down;
    world_new(w, &cfg, 1);
    for (i = 1; i < nodes; i++)
        w->nodes[i].join_group = 1;
    w->nodes[0].to_send = n;
    w->nodes[0].dst = TC_SIM_GROUP(0);
    w->nodes[0].len = 100;
    w->nodes[0].interval_ns = 1000;
    world_start(w);
    assert_int_equal(world_run(w, TC_SIM_NEVER), 0);
}

static void test_random_loss(void **state)
{
    struct tc_sim_loss_cfg l = {.kind = TC_SIM_LOSS_RANDOM, .p = 0.01};
    struct world w;
    uint32_t i, k, differ = 0;

    (void)state;
    /* per receiver: 1e5 packets at 1%: mean 1000, sd 31.5; bounds at 5 sd */
    lossy_world(&w, 3, 11, 100000, NULL, &l);
    for (i = 1; i < 3; i++) {
        uint64_t lost = tc_sim_net_node_stats(w.net, i)->lost_random_pkts;

        assert_true(lost >= 842 && lost <= 1158);
        assert_int_equal(w.nodes[i].rx + lost, 100000);
    }
    for (k = 0; k < 100000; k++) /* independent per receiver */
        differ += w.nodes[1].got[k] != w.nodes[2].got[k];
    assert_true(differ > 1500);
    world_free(&w);
    /* shared (uplink) loss: every receiver misses the same packets */
    lossy_world(&w, 4, 12, 100000, &l, NULL);
    {
        uint64_t lost = tc_sim_net_link_stats(w.net, 0, 1)->drop_loss_pkts;

        assert_true(lost >= 842 && lost <= 1158);
        for (i = 1; i < 4; i++)
            assert_int_equal(w.nodes[i].rx, 100000 - lost);
        assert_memory_equal(w.nodes[1].got, w.nodes[2].got, 100000);
        assert_memory_equal(w.nodes[1].got, w.nodes[3].got, 100000);
    }
    world_free(&w);
}

/** Mean loss and mean length of loss runs over the first n sequence numbers. */
static void loss_runs(const uint8_t *got, uint32_t n, double *loss, double *run)
{
    uint32_t k, lost = 0, runs = 0;

    for (k = 0; k < n; k++) {
        if (got[k])
            continue;
        lost++;
        if (k == 0 || got[k - 1])
            runs++;
    }
    *loss = (double)lost / n;
    *run = runs ? (double)lost / runs : 0.0;
}

static void test_gilbert_elliott(void **state)
{
    /* mean loss 0.01 / 0.21 = 4.76%, bad runs of 1 / 0.2 = 5 packets */
    struct tc_sim_loss_cfg ge = {
        .kind = TC_SIM_LOSS_GE, .p_gb = 0.01, .p_bg = 0.2, .loss_good = 0.0, .loss_bad = 1.0};
    struct tc_sim_loss_cfg rnd = {.kind = TC_SIM_LOSS_RANDOM, .p = 0.0476};
    struct world w;
    double loss, run;

    (void)state;
    lossy_world(&w, 2, 21, 200000, NULL, &ge);
    loss_runs(w.nodes[1].got, 200000, &loss, &run);
    print_message("GE: loss %.4f (want 0.0476), mean run %.2f (want 5)\n", loss, run);
    assert_true(loss > 0.040 && loss < 0.056);
    assert_true(run > 4.5 && run < 5.5);
    world_free(&w);
    /* the same mean loss, independent: runs of ~1.05 */
    lossy_world(&w, 2, 21, 200000, NULL, &rnd);
    loss_runs(w.nodes[1].got, 200000, &loss, &run);
    assert_true(loss > 0.044 && loss < 0.052);
    assert_true(run > 1.0 && run < 1.1);
    world_free(&w);
}

/**
 * Trains against single packets: a 100 Mbit/s downlink behind a 1 Gbit/s
 * uplink, a queue that overflows mid-train, loss on both links. With the
 * same seed the two runs lose exactly the same blocks and deliver the last
 * block at the same nanosecond.
 */
static void train_vs_single(uint32_t train, uint8_t *got, uint64_t *last_at,
                            struct tc_sim_node_stats *st, struct tc_sim_link_stats *up)
{
    struct tc_sim_loss_cfg upl = {.kind = TC_SIM_LOSS_RANDOM, .p = 0.01};
    struct tc_sim_loss_cfg gel = {
        .kind = TC_SIM_LOSS_GE, .p_gb = 0.02, .p_bg = 0.3, .loss_good = 0.001, .loss_bad = 0.5};
    struct tc_sim_node_cfg nc;
    struct tc_sim_net_cfg cfg;
    struct world w;
    uint32_t i, k;

    small_cfg(&cfg, 3, 77);
    cfg.node.up.loss = upl;
    cfg.node.down.loss = gel;
    cfg.node.down.queue_bytes = 100 * 1538;
    world_new(&w, &cfg, 1);
    nc = cfg.node;
    nc.down.rate_bps = 100000000;
    assert_int_equal(tc_sim_net_node_set(w.net, 2, &nc), 0);
    for (i = 1; i < 3; i++)
        w.nodes[i].join_group = 1;
    /* 20 bursts of 256 blocks, one every 20 ms (the slow link drains ~1600 per
     * 20 ms: each burst overflows its 100-frame queue, then drains) */
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 1472;
    w.nodes[0].interval_ns = 20 * TC_SIM_MS;
    w.nodes[0].to_send = 20;
    w.nodes[0].train = 256;
    if (!train) {
        /* the same bursts as single packets: 256 sends at each instant */
        w.nodes[0].to_send = 0;
        world_start(&w);
        assert_int_equal(world_run(&w, 0), 0);
        for (k = 0; k < 20; k++) {
            uint8_t buf[1472] = {0};

            assert_int_equal(world_run(&w, k * 20 * TC_SIM_MS), 0);
            for (i = 0; i < 256; i++) {
                tc_put_be32(buf, k * 256 + i);
                assert_int_equal(tc_sim_net_send(w.net, 0, TC_SIM_GROUP(0), buf, 1472), 0);
            }
        }
    } else {
        world_start(&w);
    }
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    for (i = 1; i < 3; i++) {
        memcpy(got + (i - 1) * 5120, w.nodes[i].got, 5120);
        last_at[i - 1] = w.nodes[i].last_at;
        st[i - 1] = *tc_sim_net_node_stats(w.net, i);
    }
    *up = *tc_sim_net_link_stats(w.net, 0, 1);
    if (train)
        assert_int_equal(w.nodes[1].rx, 0);
    else
        assert_int_equal(w.nodes[1].rx_trains, 0);
    world_free(&w);
}

static void test_train_equivalence(void **state)
{
    static uint8_t got_s[2 * 5120], got_t[2 * 5120];
    uint64_t last_s[2], last_t[2];
    struct tc_sim_node_stats st_s[2], st_t[2];
    struct tc_sim_link_stats up_s, up_t;
    int i;

    (void)state;
    train_vs_single(0, got_s, last_s, st_s, &up_s);
    train_vs_single(1, got_t, last_t, st_t, &up_t);
    assert_memory_equal(got_s, got_t, sizeof(got_s));
    for (i = 0; i < 2; i++) {
        assert_int_equal(last_s[i], last_t[i]);
        assert_int_equal(st_s[i].rx_pkts, st_t[i].rx_pkts);
        assert_int_equal(st_s[i].rx_bytes, st_t[i].rx_bytes);
        assert_int_equal(st_s[i].lost_queue_pkts, st_t[i].lost_queue_pkts);
        assert_int_equal(st_s[i].lost_random_pkts, st_t[i].lost_random_pkts);
    }
    assert_memory_equal(&up_s, &up_t, sizeof(up_s));
    /* the scenario exercised what it claims to */
    assert_true(up_s.drop_loss_pkts > 0);
    assert_int_equal(st_s[0].lost_queue_pkts, 0);
    assert_true(st_s[1].lost_queue_pkts > 1000);
    assert_true(st_s[0].lost_random_pkts > 0 && st_s[1].lost_random_pkts > 0);
}

/** Determinism: one scenario with everything in it, as a trace hash. */
static uint64_t busy_run(uint64_t seed, struct tc_sim_node_stats *st1)
{
    struct tc_sim_loss_cfg l = {.kind = TC_SIM_LOSS_RANDOM, .p = 0.02};
    struct tc_sim_net_cfg cfg;
    struct world w;
    uint32_t i;
    uint64_t h;

    small_cfg(&cfg, 16, seed);
    cfg.node.down.loss = l;
    world_new(&w, &cfg, 0);
    for (i = 1; i < 16; i++) {
        w.nodes[i].join_group = 1;
        w.nodes[i].to_send = 50;
        w.nodes[i].dst = (i * 7) % 16;
        w.nodes[i].len = 200 + i;
        w.nodes[i].interval_ns = 3000 + 100 * i;
    }
    w.nodes[0].to_send = 40;
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 1472;
    w.nodes[0].interval_ns = 50000;
    w.nodes[0].train = 32;
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    *st1 = *tc_sim_net_node_stats(w.net, 1);
    h = tc_sim_trace_hash(tc_sim_net_sim(w.net));
    world_free(&w);
    return h;
}

static void test_determinism(void **state)
{
    struct tc_sim_node_stats a, b, c;
    uint64_t ha, hb, hc;

    (void)state;
    ha = busy_run(1234, &a);
    hb = busy_run(1234, &b);
    hc = busy_run(1235, &c);
    assert_true(ha == hb);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_true(ha != hc);
    assert_true(a.rx_pkts > 0);
}

static void test_crash_restart(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;

    (void)state;
    small_cfg(&cfg, 3, 1);
    world_new(&w, &cfg, 1);
    w.nodes[1].join_group = 1;
    w.nodes[2].join_group = 1;
    w.nodes[0].to_send = 100; /* one every 10 us from 0 to 990 us */
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 100;
    w.nodes[0].interval_ns = 10000;
    world_start(&w);
    assert_int_equal(world_run(&w, 0), 0);
    /* node 1 crashes at 300 us with a timer and a disk write pending, back at 600 us */
    assert_int_equal(tc_sim_net_timer_set(w.net, 1, 400 * TC_SIM_US), 0);
    assert_int_equal(tc_sim_net_disk_submit(w.net, 1, 1 << 20, 9), 0); /* done at ~2 ms */
    assert_int_equal(tc_sim_net_crash(w.net, 1, 300 * TC_SIM_US, 300 * TC_SIM_US), 0);
    assert_int_equal(world_run(&w, 500 * TC_SIM_US), 0);
    assert_false(tc_sim_net_is_up(w.net, 1));
    assert_int_equal(tc_sim_net_send(w.net, 1, 0, "x", 1), -EHOSTDOWN);
    assert_int_equal(tc_sim_net_disk_submit(w.net, 1, 1, 1), -EHOSTDOWN);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[1].crashes, 1);
    assert_int_equal(w.nodes[1].starts, 2);
    assert_int_equal(w.nodes[1].ntimers, 0);
    assert_int_equal(w.nodes[1].ndisk, 0);
    /* a packet reaches the switch 51.328 us after it is sent, the receiver
     * 102.656 us after: 0..19 arrive before the crash; 20..24 were replicated
     * before it and are lost at delivery; 25..54 reach the switch while the
     * crashed node is in no group; 55.. reach it after the rejoin at 600 us */
    assert_int_equal(w.nodes[2].rx, 100);
    assert_true(w.nodes[1].got[0] && w.nodes[1].got[19] && w.nodes[1].got[55]);
    assert_false(w.nodes[1].got[20] || w.nodes[1].got[24] || w.nodes[1].got[54]);
    assert_int_equal(tc_sim_net_node_stats(w.net, 1)->lost_down_pkts, 5);
    assert_int_equal(w.nodes[1].rx, 20 + 45);
    world_free(&w);
}

static void test_partition(void **state)
{
    static const uint32_t cut[] = {2, 3};
    struct tc_sim_net_cfg cfg;
    struct world w;
    uint32_t i;

    (void)state;
    small_cfg(&cfg, 4, 1);
    world_new(&w, &cfg, 1);
    for (i = 1; i < 4; i++)
        w.nodes[i].join_group = 1;
    w.nodes[0].to_send = 30; /* every 100 us from 0 */
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 100;
    w.nodes[0].interval_ns = 100 * TC_SIM_US;
    w.nodes[2].to_send = 2; /* 2 -> 3 at 0 and 1.5 ms: inside the cut, fine */
    w.nodes[2].seq = 1000;
    w.nodes[2].dst = 3;
    w.nodes[2].len = 10;
    w.nodes[2].interval_ns = 1500 * TC_SIM_US;
    world_start(&w);
    /* cut from 1 ms to 2 ms: the switch sees packets 50 us after sending */
    assert_int_equal(tc_sim_net_partition(w.net, cut, 2, TC_SIM_MS, TC_SIM_MS), 0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[1].rx, 30);
    for (i = 2; i < 4; i++) {
        /* packets 10..19 (switch at 1.05..1.95 ms) are cut */
        assert_int_equal(tc_sim_net_node_stats(w.net, i)->lost_partition_pkts, 10);
        assert_true(w.nodes[i].got[9] && !w.nodes[i].got[10] && !w.nodes[i].got[19] &&
                    w.nodes[i].got[20]);
    }
    assert_int_equal(w.nodes[3].rx, 20 + 2); /* + node 2's two packets */
    assert_true(w.nodes[3].got[1000] && w.nodes[3].got[1001]);
    world_free(&w);
}

static void test_pause(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;

    (void)state;
    small_cfg(&cfg, 2, 1);
    world_new(&w, &cfg, 1);
    w.nodes[0].to_send = 10;
    w.nodes[0].dst = 1;
    w.nodes[0].len = 100;
    w.nodes[0].interval_ns = 100 * TC_SIM_US;
    world_start(&w);
    assert_int_equal(tc_sim_net_pause(w.net, 1, 250 * TC_SIM_US, 400 * TC_SIM_US), 0);
    assert_int_equal(tc_sim_net_timer_set(w.net, 1, 300 * TC_SIM_US), 0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    /* sent at 200..500 us arrive at 330..630 us: inside the pause */
    assert_int_equal(w.nodes[1].rx, 6);
    assert_int_equal(tc_sim_net_node_stats(w.net, 1)->lost_down_pkts, 4);
    assert_int_equal(w.nodes[1].ntimers, 1);
    assert_int_equal(w.nodes[1].timer_at[0], 650 * TC_SIM_US);
    world_free(&w);
}

static void test_spoof(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;

    (void)state;
    small_cfg(&cfg, 3, 1);
    world_new(&w, &cfg, 0);
    w.nodes[1].join_group = 1;
    w.nodes[2].to_send = 3; /* the injector */
    w.nodes[2].dst = TC_SIM_GROUP(0);
    w.nodes[2].len = 64;
    w.nodes[2].interval_ns = 1000;
    assert_int_equal(tc_sim_net_spoof(w.net, 2, 0), 0);
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[1].rx, 3);
    assert_int_equal(w.nodes[1].last_from, 0);
    /* but the injector's own link paid for it */
    assert_int_equal(tc_sim_net_link_stats(w.net, 2, 1)->tx_pkts, 3);
    assert_int_equal(tc_sim_net_seeder_egress_bytes(w.net), 0);
    world_free(&w);
}

static void test_disk(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;

    (void)state;
    small_cfg(&cfg, 1, 1);
    cfg.node.disk_rate_Bps = 100000000; /* 100 MB/s: 1 MB = 10 ms */
    cfg.node.disk_queue_max = 2;
    world_new(&w, &cfg, 0);
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_MS), 0);
    assert_int_equal(tc_sim_net_disk_submit(w.net, 0, 1000000, 1), 0);
    assert_int_equal(tc_sim_net_disk_submit(w.net, 0, 1000001, 2), 0);
    assert_int_equal(tc_sim_net_disk_submit(w.net, 0, 1, 3), -EAGAIN);
    assert_int_equal(world_run(&w, 50 * TC_SIM_MS), 0);
    assert_int_equal(w.nodes[0].ndisk, 2);
    assert_int_equal(w.nodes[0].disk_ck[0], 1);
    assert_int_equal(w.nodes[0].disk_at[0], 11 * TC_SIM_MS);
    assert_int_equal(w.nodes[0].disk_ck[1], 2);
    assert_int_equal(w.nodes[0].disk_at[1], 21 * TC_SIM_MS + 10); /* 1 byte = 10 ns */
    /* idle disk: starts at submit time */
    assert_int_equal(tc_sim_net_disk_submit(w.net, 0, 500000, 4), 0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[0].disk_at[2], 55 * TC_SIM_MS);
    assert_int_equal(tc_sim_net_node_stats(w.net, 0)->disk_ops, 3);
    world_free(&w);
}

static void test_timers(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct world w;
    struct tc_sim_counters c;

    (void)state;
    small_cfg(&cfg, 3, 1);
    world_new(&w, &cfg, 0);
    world_start(&w);
    assert_int_equal(world_run(&w, 0), 0);
    /* later then earlier then in between: one call, at the last time set */
    assert_int_equal(tc_sim_net_timer_set(w.net, 0, 5000), 0);
    assert_int_equal(tc_sim_net_timer_set(w.net, 0, 3000), 0);
    assert_int_equal(tc_sim_net_timer_set(w.net, 0, 4000), 0);
    /* same time on two nodes: in the order set */
    assert_int_equal(tc_sim_net_timer_set(w.net, 2, 4000), 0);
    assert_int_equal(tc_sim_net_timer_set(w.net, 1, 4000), 0);
    /* many pushes later cost no event each */
    c = tc_sim_counters(tc_sim_net_sim(w.net));
    assert_int_equal(c.pending, 4);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[0].ntimers, 1);
    assert_int_equal(w.nodes[0].timer_at[0], 4000);
    assert_int_equal(w.nodes[1].ntimers, 1);
    assert_int_equal(w.nodes[2].ntimers, 1);
    /* disarm */
    assert_int_equal(tc_sim_net_timer_set(w.net, 1, 9000), 0);
    assert_int_equal(tc_sim_net_timer_set(w.net, 1, TC_SIM_NEVER), 0);
    /* in the past: now (5000: the superseded event at 5000 ran, doing nothing) */
    assert_true(tc_sim_now(tc_sim_net_sim(w.net)) == 5000);
    assert_int_equal(tc_sim_net_timer_set(w.net, 2, 1), 0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[1].ntimers, 1);
    assert_int_equal(w.nodes[2].ntimers, 2);
    assert_int_equal(w.nodes[2].timer_at[1], 5000);
    assert_int_equal(tc_sim_net_node_stats(w.net, 0)->timers_fired, 1);
    world_free(&w);
}

/** Trains at 400 receivers: prints engine events and block deliveries per second. */
static void test_bench(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct tc_sim_counters c;
    struct timespec t0, t1;
    struct world w;
    double s;
    uint32_t i, trains = 200, singles = 2000;
    uint64_t blocks = 0;
    const char *env = getenv("TC_SIM_BENCH_SCALE");
    uint32_t scale = env ? (uint32_t)atoi(env) : 1;

    (void)state;
    tc_sim_net_cfg_default(&cfg, 401, 3);
    cfg.node.down.loss.kind = TC_SIM_LOSS_RANDOM;
    cfg.node.down.loss.p = 0.01;
    world_new(&w, &cfg, 0);
    for (i = 1; i < 401; i++)
        w.nodes[i].join_group = 1;
    /* singles: 1472-byte packets at line rate to 400 receivers */
    w.nodes[0].to_send = singles * scale;
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 1472;
    w.nodes[0].interval_ns = 12304;
    world_start(&w);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    c = tc_sim_counters(tc_sim_net_sim(w.net));
    for (i = 1; i < 401; i++)
        blocks += w.nodes[i].rx;
    print_message("bench singles: %llu events in %.3f s: %.0f events/s (%llu deliveries)\n",
                  (unsigned long long)c.dispatched, s, (double)c.dispatched / s,
                  (unsigned long long)blocks);
    assert_true(blocks > 400ULL * singles * scale * 98 / 100);
    world_free(&w);

    /* trains of 128 blocks (256 would overflow the 256 KiB uplink queue) */
    world_new(&w, &cfg, 0);
    for (i = 1; i < 401; i++)
        w.nodes[i].join_group = 1;
    w.nodes[0].to_send = trains * scale;
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 1472;
    w.nodes[0].train = 128;
    w.nodes[0].interval_ns = 128 * 12304;
    world_start(&w);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    c = tc_sim_counters(tc_sim_net_sim(w.net));
    blocks = 0;
    for (i = 1; i < 401; i++)
        blocks += w.nodes[i].rx_blocks;
    print_message("bench trains: %llu events, %llu block deliveries in %.3f s: "
                  "%.0f block deliveries/s\n",
                  (unsigned long long)c.dispatched, (unsigned long long)blocks, s,
                  (double)blocks / s);
    assert_true(blocks > 400ULL * 128 * trains * scale * 98 / 100);
    world_free(&w);
}

/** Wire bytes of a full 1500-byte MTU frame, and its time at 1 Gbit/s, ns. */
#define RACK_FRAME_WIRE 1538u
#define RACK_FRAME_NS 12304u
/** Packets each sender bursts through the shared rack uplink. */
#define RACK_BURST 100u

/**
 * A world of 1 + 2 x racks nodes: node 0 on the core, nodes 2r-1 and 2r in
 * rack r; rack links of `up` (both directions).
 */
static void rack_world(struct world *w, uint32_t racks, const struct tc_sim_link_cfg *up, int track)
{
    struct tc_sim_net_cfg cfg;
    uint32_t i, *rack_of;

    small_cfg(&cfg, 1 + 2 * racks, 7);
    world_new(w, &cfg, track);
    rack_of = calloc(cfg.nodes, sizeof(*rack_of));
    assert_non_null(rack_of);
    for (i = 1; i < cfg.nodes; i++)
        rack_of[i] = (i + 1) / 2;
    assert_int_equal(tc_sim_net_racks(w->net, racks, rack_of, up), 0);
    assert_int_equal(tc_sim_net_racks(w->net, racks, rack_of, up), -EALREADY);
    free(rack_of);
}

/** Bad rack configurations are refused. */
static void test_rack_config(void **state)
{
    struct tc_sim_net_cfg cfg;
    struct tc_sim_link_cfg up;
    struct tc_sim_net *net;
    uint32_t rack_of[3] = {0, 1, 3};

    (void)state;
    small_cfg(&cfg, 3, 1);
    assert_int_equal(tc_sim_net_new(&cfg, &net), 0);
    up = cfg.node.up;
    assert_int_equal(tc_sim_net_racks(net, 0, rack_of, &up), -EINVAL);
    assert_int_equal(tc_sim_net_racks(net, TC_SIM_RACKS_MAX + 1, rack_of, &up), -EINVAL);
    assert_int_equal(tc_sim_net_racks(net, 2, rack_of, &up), -EINVAL); /* rack 3 of 2 */
    assert_null(tc_sim_net_rack_link_stats(net, 1, 1));
    assert_int_equal(tc_sim_net_racks(net, 3, rack_of, &up), 0);
    assert_non_null(tc_sim_net_rack_link_stats(net, 3, 0));
    assert_null(tc_sim_net_rack_link_stats(net, 4, 0));
    assert_null(tc_sim_net_rack_link_stats(net, 0, 1));
    tc_sim_net_free(net);
}

/**
 * Nodes 1 and 2 (rack 1) each burst RACK_BURST full frames at once to
 * nodes 3 and 4 (rack 2): the rack uplink, as fast as one node link, is
 * shared, so the last frame arrives after 2 x RACK_BURST frame times (plus
 * three more serializations and four latencies: node uplink, rack uplink,
 * rack downlink, node downlink), not RACK_BURST.
 */
static void test_rack_uplink_shared(void **state)
{
    struct tc_sim_link_cfg up;
    struct world w;
    uint64_t lat = 50 * TC_SIM_US, last;
    uint32_t i;

    (void)state;
    memset(&up, 0, sizeof(up));
    up.rate_bps = 1000000000ULL;
    up.latency_ns = lat;
    up.queue_bytes = TC_SIM_QUEUE_UNBOUNDED;
    rack_world(&w, 2, &up, 1);
    for (i = 1; i <= 2; i++) {
        w.nodes[i].to_send = RACK_BURST;
        w.nodes[i].dst = i + 2;
        w.nodes[i].len = 1472;
        w.nodes[i].interval_ns = 0;
    }
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    assert_int_equal(w.nodes[3].rx, RACK_BURST);
    assert_int_equal(w.nodes[4].rx, RACK_BURST);
    last = w.nodes[3].last_at > w.nodes[4].last_at ? w.nodes[3].last_at : w.nodes[4].last_at;
    assert_int_equal(last, (2ULL * RACK_BURST + 3) * RACK_FRAME_NS + 4 * lat);
    /* the uplink of rack 1 carried both bursts; rack 2's downlink too */
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 1, 1)->tx_pkts, 2 * RACK_BURST);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 1, 1)->tx_bytes,
                     2ULL * RACK_BURST * RACK_FRAME_WIRE);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 1, 1)->busy_ns,
                     2ULL * RACK_BURST * RACK_FRAME_NS);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 0)->tx_pkts, 2 * RACK_BURST);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 1)->tx_pkts, 0);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 1, 0)->tx_pkts, 0);
    world_free(&w);
}

/**
 * Multicast crosses each rack downlink once whatever the members in the
 * rack, the sender's rack uplink once, and reaches every member but the
 * sender; traffic within a rack stays off the rack links; trains too.
 */
static void test_rack_multicast(void **state)
{
    const struct tc_sim_link_stats *st;
    struct tc_sim_link_cfg up;
    struct world w;
    uint8_t meta[4] = {0};
    uint32_t i, r;

    (void)state;
    memset(&up, 0, sizeof(up));
    up.rate_bps = 10000000000ULL;
    up.latency_ns = 10 * TC_SIM_US;
    up.queue_bytes = TC_SIM_QUEUE_UNBOUNDED;
    rack_world(&w, 3, &up, 0);
    for (i = 1; i <= 6; i++)
        w.nodes[i].join_group = 1;
    /* the core node multicasts 5 packets */
    w.nodes[0].to_send = 5;
    w.nodes[0].dst = TC_SIM_GROUP(0);
    w.nodes[0].len = 1000;
    w.nodes[0].interval_ns = 1000;
    world_start(&w);
    assert_int_equal(world_run(&w, 10 * TC_SIM_MS), 0);
    for (i = 1; i <= 6; i++)
        assert_int_equal(w.nodes[i].rx, 5);
    for (r = 1; r <= 3; r++) {
        assert_int_equal(tc_sim_net_rack_link_stats(w.net, r, 0)->tx_pkts, 5);
        assert_int_equal(tc_sim_net_rack_link_stats(w.net, r, 1)->tx_pkts, 0);
    }
    /* node 1 (rack 1) multicasts a packet and a train of 10 blocks */
    assert_int_equal(tc_sim_net_send(w.net, 1, TC_SIM_GROUP(0), "x", 1), 0);
    assert_int_equal(tc_sim_net_send_train(w.net, 1, TC_SIM_GROUP(0), meta, 4, 10, 1400), 0);
    assert_int_equal(world_run(&w, 20 * TC_SIM_MS), 0);
    assert_int_equal(w.nodes[1].rx, 5);
    assert_int_equal(w.nodes[0].rx, 0);
    for (i = 2; i <= 6; i++) {
        assert_int_equal(w.nodes[i].rx, 6);
        assert_int_equal(w.nodes[i].rx_trains, 1);
        assert_int_equal(w.nodes[i].rx_blocks, 10);
        assert_int_equal(w.nodes[i].last_from, 1);
    }
    st = tc_sim_net_rack_link_stats(w.net, 1, 1);
    assert_int_equal(st->tx_pkts, 11);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 1, 0)->tx_pkts, 5);
    for (r = 2; r <= 3; r++)
        assert_int_equal(tc_sim_net_rack_link_stats(w.net, r, 0)->tx_pkts, 5 + 11);
    /* unicast within rack 2: no rack link; to the core node: rack 2 uplink */
    assert_int_equal(tc_sim_net_send(w.net, 3, 4, "y", 1), 0);
    assert_int_equal(tc_sim_net_send(w.net, 3, 0, "z", 1), 0);
    assert_int_equal(world_run(&w, 30 * TC_SIM_MS), 0);
    assert_int_equal(w.nodes[4].rx, 7);
    assert_int_equal(w.nodes[0].rx, 1);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 1)->tx_pkts, 1);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 0)->tx_pkts, 16);
    world_free(&w);
}

/**
 * The rack uplink's drop-tail queue: 2 x 20 frames at once into a 100
 * Mbit/s uplink whose queue holds 10 frames: what is refused is counted on
 * the rack link, and what it sent is exactly what the receiver got.
 */
static void test_rack_droptail(void **state)
{
    const struct tc_sim_link_stats *st;
    struct tc_sim_link_cfg up;
    struct world w;
    uint32_t i;

    (void)state;
    memset(&up, 0, sizeof(up));
    up.rate_bps = 100000000ULL;
    up.latency_ns = 10 * TC_SIM_US;
    up.queue_bytes = 10 * RACK_FRAME_WIRE;
    rack_world(&w, 2, &up, 0);
    for (i = 1; i <= 2; i++) {
        w.nodes[i].to_send = 20;
        w.nodes[i].dst = 3;
        w.nodes[i].len = 1472;
        w.nodes[i].interval_ns = 0;
    }
    world_start(&w);
    assert_int_equal(world_run(&w, TC_SIM_NEVER), 0);
    st = tc_sim_net_rack_link_stats(w.net, 1, 1);
    assert_true(st->drop_queue_pkts >= 20);
    assert_int_equal(st->tx_pkts + st->drop_queue_pkts, 40);
    assert_int_equal(st->drop_queue_bytes, st->drop_queue_pkts * RACK_FRAME_WIRE);
    assert_int_equal(w.nodes[3].rx, st->tx_pkts);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 0)->tx_pkts, st->tx_pkts);
    assert_int_equal(tc_sim_net_rack_link_stats(w.net, 2, 0)->drop_queue_pkts, 0);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_bytes),
        cmocka_unit_test(test_one_packet_timing),
        cmocka_unit_test(test_queue_overflow),
        cmocka_unit_test(test_queue_rate),
        cmocka_unit_test(test_multicast_replication),
        cmocka_unit_test(test_random_loss),
        cmocka_unit_test(test_gilbert_elliott),
        cmocka_unit_test(test_train_equivalence),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_crash_restart),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_spoof),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_bench),
        cmocka_unit_test(test_rack_config),
        cmocka_unit_test(test_rack_uplink_shared),
        cmocka_unit_test(test_rack_multicast),
        cmocka_unit_test(test_rack_droptail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
