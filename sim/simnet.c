// SPDX-License-Identifier: MIT
/*
 * sim/ network model: links with drop-tail queues and loss, a switch that
 * replicates multicast, trains, disks, faults. See include/treecast/simnet.h
 * and docs/simulator.md.
 *
 * A link needs no event of its own: a FIFO served at a constant rate is
 * described by the time its transmitter becomes free (busy_until), so the
 * departure of a frame and the queue's backlog when it arrives are computed
 * at enqueue time. Events are only: a packet (or train) reaching the switch,
 * a packet (or train) reaching a receiver, timers, disk completions, faults.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/simnet.h"

/** Event kinds of this module (struct tc_sim_event.kind). */
enum {
    EV_TIMER = 1,  /**< a: node, b: timer generation */
    EV_DISK,       /**< a: node, b: incarnation, arg: cookie */
    EV_SW_PKT,     /**< ptr: packet reaching the switch */
    EV_DLV_PKT,    /**< a: receiver, ptr: packet reaching it */
    EV_SW_TRAIN,   /**< ptr: train whose first block reaches the switch */
    EV_DLV_TRAIN,  /**< a: receiver, b: delivery slot, ptr: train */
    EV_START,      /**< a: node */
    EV_CRASH,      /**< a: node, arg: restart after (ns) or TC_SIM_NEVER */
    EV_PAUSE,      /**< a: node, arg: duration */
    EV_RESUME,     /**< a: node */
    EV_PART,       /**< a: node, b: partition id (0 = none) */
    EV_SCRIPT,     /**< arg: the scenario's argument */
    EV_CORE_PKT,   /**< a: sender's rack, ptr: packet reaching the core switch */
    EV_TOR_PKT,    /**< b: rack, ptr: packet reaching that rack's switch from the core */
    EV_CORE_TRAIN, /**< a: sender's rack, ptr: train reaching the core switch */
    EV_TOR_TRAIN,  /**< b: rack, ptr: train (a branch copy) reaching that rack's switch */
};

/** Loss streams of rack links: RACK_STREAM + 2r (uplink), + 2r + 1 (downlink). */
#define RACK_STREAM (1ULL << 34)

/** One direction of a node's attachment, with its queue and loss state. */
struct link {
    uint64_t rate_bps;           /**< bits/s, 0 = infinite */
    uint64_t latency_ns;         /**< propagation, ns */
    uint64_t cap_ns;             /**< queue capacity as drain time at rate_bps */
    uint64_t busy_until;         /**< when the transmitter is free (end of the last frame) */
    uint64_t frac;               /**< carried remainder of bits*1e9/rate (units of 1/rate ns) */
    uint64_t thr_p;              /**< RANDOM: loss threshold (tc_sim_prob) */
    uint64_t thr_gb;             /**< GE: good -> bad */
    uint64_t thr_bg;             /**< GE: bad -> good */
    uint64_t thr_lg;             /**< GE: loss in good */
    uint64_t thr_lb;             /**< GE: loss in bad */
    uint8_t kind;                /**< enum tc_sim_loss_kind */
    uint8_t bad;                 /**< GE: in the bad state */
    struct tc_sim_rng rng;       /**< this link's loss draws: a stream of its own */
    struct tc_sim_link_stats st; /**< counters */
};

/** A node: its links, its glue, its timer and disk, its fault state. */
struct node {
    struct link up;                    /**< node -> switch */
    struct link down;                  /**< switch -> node */
    const struct tc_sim_node_ops *ops; /**< the glue (NULL = silent) */
    void *ctx;                         /**< the glue's context */
    struct tc_sim_rng rng;             /**< the core's random stream */
    struct tc_sim_node_stats st;       /**< counters */
    uint64_t timer_at;                 /**< wanted wake-up, TC_SIM_NEVER = disarmed */
    uint64_t timer_ev_at;              /**< time of the live timer event, or NEVER */
    uint64_t disk_rate_Bps;            /**< bytes/s, 0 = instant */
    uint64_t disk_busy_until;          /**< when the disk finishes what it has */
    uint64_t pause_until;              /**< end of the current pause */
    uint32_t disk_queue_max;           /**< writes in flight at most */
    uint32_t disk_inflight;            /**< writes in flight */
    uint32_t timer_gen;                /**< generation of the live timer event */
    uint32_t incarnation;              /**< bumped at each crash: stale disk events */
    uint32_t claim;                    /**< source written in packets it sends */
    uint32_t part;                     /**< partition id, 0 = none */
    uint8_t is_up;                     /**< started and not crashed */
    uint8_t paused;                    /**< frozen until pause_until */
};

/** A single packet in flight: shared by every receiver (refcounted). */
struct pkt {
    uint32_t src;   /**< sending node (its links were charged) */
    uint32_t claim; /**< source the receivers see */
    uint32_t dst;   /**< node or TC_SIM_GROUP(g) */
    uint32_t len;   /**< payload bytes */
    uint32_t refs;  /**< pending events that point here */
    uint32_t idx;   /**< own pool index (payload slot) */
};

/** A train in flight. Its per-block switch arrival times are in train_times. */
struct train {
    uint32_t src;                        /**< sending node */
    uint32_t claim;                      /**< source the receivers see */
    uint32_t dst;                        /**< node or group */
    uint32_t nblocks;                    /**< blocks sent */
    uint32_t block_len;                  /**< payload bytes per block */
    uint32_t arrived;                    /**< blocks that reached the switch */
    uint32_t refs;                       /**< pending events that point here */
    uint32_t idx;                        /**< own pool index */
    uint32_t meta_len;                   /**< bytes of meta */
    uint8_t meta[TC_SIM_TRAIN_META_MAX]; /**< the sender's description */
};

/** One pending train delivery: which blocks, and the first arrival. */
struct deliv {
    uint64_t first_ns; /**< arrival of the first surviving block */
    uint32_t got;      /**< surviving blocks */
};

/** A stack of free pool indices. */
struct freelist {
    uint32_t *v;  /**< indices */
    uint32_t top; /**< how many are free */
};

struct tc_sim_net {
    struct tc_sim sim;          /**< the engine (its handler is net_handle) */
    struct tc_sim_net_cfg cfg;  /**< sizes, as given */
    struct node *nodes;         /**< cfg.nodes nodes */
    uint64_t *members;          /**< groups x node_words: membership bitmaps */
    uint32_t node_words;        /**< 64-bit words per membership bitmap */
    uint32_t payload_max;       /**< bytes of a packet payload slot */
    struct pkt *pkts;           /**< packet pool */
    uint8_t *payloads;          /**< pkts_max x payload_max */
    struct freelist pkt_free;   /**< free packets */
    struct train *trains;       /**< train pool */
    uint64_t *train_times;      /**< trains_max x train_blocks_max: switch arrival, or NEVER */
    struct freelist train_free; /**< free trains */
    struct deliv *delivs;       /**< delivery pool */
    uint64_t *deliv_bits;       /**< deliveries_max x bitmap_words */
    uint32_t bitmap_words;      /**< words of a train bitmap */
    struct freelist deliv_free; /**< free deliveries */
    uint32_t next_part;         /**< next partition id */
    uint32_t racks;             /**< racks, 0 = flat (one switch) */
    uint32_t *rack_of;          /**< per node: 0 = on the core switch, 1..racks */
    uint32_t *rack_first;       /**< racks + 2: rack r's nodes are rack_nodes[rack_first[r]
                                     .. rack_first[r + 1]) */
    uint32_t *rack_nodes;       /**< node numbers grouped by rack, ascending in a rack */
    struct link *rack_up;       /**< racks + 1 (0 unused): ToR -> core */
    struct link *rack_down;     /**< racks + 1 (0 unused): core -> ToR */
};

/** Datagram bytes on the wire (see the header's comment). */
uint64_t tc_sim_wire_bytes(size_t len)
{
    return TC_SIM_WIRE_BYTES((uint64_t)len);
}

/** 1 Gbit/s, 50 us, 256 KiB, lossless; a 500 MB/s disk. */
void tc_sim_net_node_cfg_default(struct tc_sim_node_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->up.rate_bps = 1000000000ULL;
    cfg->up.latency_ns = 50 * TC_SIM_US;
    cfg->up.queue_bytes = 256 * 1024;
    cfg->down = cfg->up;
    cfg->disk_rate_Bps = 500000000ULL;
    cfg->disk_queue_max = 64;
}

/**
 * Pools scale with the node count: a multicast train makes one delivery per
 * receiver, so deliveries and events grow with N; singles and trains in
 * flight grow with the senders.
 */
void tc_sim_net_cfg_default(struct tc_sim_net_cfg *cfg, uint32_t nodes, uint64_t seed)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = seed;
    cfg->nodes = nodes;
    cfg->groups = 4;
    cfg->mtu = 1500;
    cfg->events_max = 65536 + nodes * 128;
    cfg->pkts_max = 4096 + nodes * 8;
    cfg->trains_max = 256 + nodes;
    cfg->train_blocks_max = 1024;
    cfg->deliveries_max = 65536 + nodes * 32;
    tc_sim_net_node_cfg_default(&cfg->node);
}

/** ceil(a * b / c) without overflow, saturating at TC_SIM_NEVER. */
static uint64_t muldiv_ceil(uint64_t a, uint64_t b, uint64_t c)
{
    unsigned __int128 x = ((unsigned __int128)a * b + c - 1) / c;

    return x > TC_SIM_NEVER ? TC_SIM_NEVER : (uint64_t)x;
}

/** Apply a link configuration; the queue and loss state carry on. */
static void link_configure(struct link *l, const struct tc_sim_link_cfg *c)
{
    l->rate_bps = c->rate_bps;
    l->latency_ns = c->latency_ns;
    if (c->rate_bps == 0 || c->queue_bytes == TC_SIM_QUEUE_UNBOUNDED) {
        l->cap_ns = TC_SIM_NEVER;
    } else {
        unsigned __int128 x = (unsigned __int128)c->queue_bytes * 8 * TC_SIM_S / c->rate_bps;

        l->cap_ns = x > TC_SIM_NEVER ? TC_SIM_NEVER : (uint64_t)x;
    }
    l->kind = (uint8_t)c->loss.kind;
    l->thr_p = tc_sim_prob(c->loss.p);
    l->thr_gb = tc_sim_prob(c->loss.p_gb);
    l->thr_bg = tc_sim_prob(c->loss.p_bg);
    l->thr_lg = tc_sim_prob(c->loss.loss_good);
    l->thr_lb = tc_sim_prob(c->loss.loss_bad);
}

/**
 * Offer a frame of `wire` bytes to the link's queue at time t (t may be later
 * than now for the blocks of a train). The backlog is the serialization time
 * still owed (busy_until - t); the frame is accepted when backlog plus its
 * own serialization fits in the queue's drain time. Serialization time is
 * exact on average: the remainder of bits*1e9/rate is carried to the next
 * frame of a busy period. Returns 0 and the departure time (last bit sent),
 * or -1 for a drop.
 */
static int link_xmit(struct link *l, uint64_t t, uint64_t wire, uint64_t *dep)
{
    uint64_t start, num, ser;

    if (l->rate_bps == 0) {
        *dep = t;
        l->st.tx_pkts++;
        l->st.tx_bytes += wire;
        return 0;
    }
    if (l->busy_until <= t) {
        start = t;
        l->frac = 0;
    } else {
        start = l->busy_until;
    }
    num = wire * 8 * TC_SIM_S + l->frac;
    ser = num / l->rate_bps;
    if (l->cap_ns != TC_SIM_NEVER && (start - t) + ser > l->cap_ns) {
        l->st.drop_queue_pkts++;
        l->st.drop_queue_bytes += wire;
        return -1;
    }
    l->frac = num % l->rate_bps;
    l->busy_until = start + ser;
    l->st.tx_pkts++;
    l->st.tx_bytes += wire;
    l->st.busy_ns += ser;
    *dep = l->busy_until;
    return 0;
}

/** Draw the loss of one frame that was serialized: 1 = lost. */
static int link_lose(struct link *l, uint64_t wire)
{
    int lost;

    switch (l->kind) {
    case TC_SIM_LOSS_RANDOM:
        lost = tc_sim_rng_chance(&l->rng, l->thr_p);
        break;
    case TC_SIM_LOSS_GE:
        lost = tc_sim_rng_chance(&l->rng, l->bad ? l->thr_lb : l->thr_lg);
        if (l->bad)
            l->bad = !tc_sim_rng_chance(&l->rng, l->thr_bg);
        else
            l->bad = (uint8_t)tc_sim_rng_chance(&l->rng, l->thr_gb);
        break;
    default:
        return 0;
    }
    if (lost) {
        l->st.drop_loss_pkts++;
        l->st.drop_loss_bytes += wire;
    }
    return lost;
}

/** Free lists are stacks filled so that index 0 comes out first. */
static int freelist_init(struct freelist *f, uint32_t n)
{
    uint32_t i;

    f->v = calloc(n ? n : 1, sizeof(*f->v));
    if (!f->v)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        f->v[i] = n - 1 - i;
    f->top = n;
    return 0;
}

static int freelist_get(struct freelist *f, uint32_t *idx)
{
    if (f->top == 0)
        return -ENOBUFS;
    *idx = f->v[--f->top];
    return 0;
}

static void freelist_put(struct freelist *f, uint32_t idx)
{
    f->v[f->top++] = idx;
}

static void net_handle(void *ctx, struct tc_sim *sim, const struct tc_sim_event *ev);

/** Check sizes, then allocate every pool once. */
int tc_sim_net_new(const struct tc_sim_net_cfg *cfg, struct tc_sim_net **out)
{
    struct tc_sim_net *net;
    uint32_t i, pmax;
    int rc;

    *out = NULL;
    if (cfg->nodes == 0 || cfg->nodes > TC_SIM_NODES_MAX || cfg->groups == 0 ||
        cfg->groups > TC_SIM_GROUPS_MAX || cfg->mtu < 576 || cfg->mtu > 65535 ||
        cfg->train_blocks_max == 0 || cfg->train_blocks_max > TC_SIM_TRAIN_BLOCKS_MAX ||
        cfg->pkts_max == 0 || cfg->trains_max == 0 || cfg->deliveries_max == 0 ||
        cfg->payload_max > cfg->mtu - TC_SIM_IP_UDP_BYTES)
        return -EINVAL;
    pmax = cfg->payload_max ? cfg->payload_max : cfg->mtu - TC_SIM_IP_UDP_BYTES;
    net = calloc(1, sizeof(*net));
    if (!net)
        return -ENOMEM;
    net->cfg = *cfg;
    net->payload_max = pmax;
    net->node_words = (cfg->nodes + 63) / 64;
    net->bitmap_words = (cfg->train_blocks_max + 63) / 64;
    net->next_part = 1;
    rc = tc_sim_init(&net->sim, cfg->events_max, cfg->seed, net_handle, net);
    if (rc < 0)
        goto err;
    rc = -ENOMEM;
    net->nodes = calloc(cfg->nodes, sizeof(*net->nodes));
    net->members = calloc((size_t)cfg->groups * net->node_words, sizeof(*net->members));
    net->pkts = calloc(cfg->pkts_max, sizeof(*net->pkts));
    net->payloads = malloc((size_t)cfg->pkts_max * pmax);
    net->trains = calloc(cfg->trains_max, sizeof(*net->trains));
    net->train_times =
        malloc((size_t)cfg->trains_max * cfg->train_blocks_max * sizeof(*net->train_times));
    net->delivs = calloc(cfg->deliveries_max, sizeof(*net->delivs));
    net->deliv_bits =
        malloc((size_t)cfg->deliveries_max * net->bitmap_words * sizeof(*net->deliv_bits));
    if (!net->nodes || !net->members || !net->pkts || !net->payloads || !net->trains ||
        !net->train_times || !net->delivs || !net->deliv_bits)
        goto err;
    if (freelist_init(&net->pkt_free, cfg->pkts_max) < 0 ||
        freelist_init(&net->train_free, cfg->trains_max) < 0 ||
        freelist_init(&net->deliv_free, cfg->deliveries_max) < 0)
        goto err;
    for (i = 0; i < cfg->nodes; i++) {
        struct node *n = &net->nodes[i];

        /* Streams: 2i+1 uplink, 2i+2 downlink, 2^32+i the node's core. */
        tc_sim_rng_seed(&n->up.rng, cfg->seed, 2 * (uint64_t)i + 1);
        tc_sim_rng_seed(&n->down.rng, cfg->seed, 2 * (uint64_t)i + 2);
        tc_sim_rng_seed(&n->rng, cfg->seed, (1ULL << 32) + i);
        n->timer_at = TC_SIM_NEVER;
        n->timer_ev_at = TC_SIM_NEVER;
        n->claim = i;
        tc_sim_net_node_set(net, i, &cfg->node);
    }
    *out = net;
    return 0;

err:
    tc_sim_net_free(net);
    return rc;
}

void tc_sim_net_free(struct tc_sim_net *net)
{
    if (!net)
        return;
    tc_sim_free(&net->sim);
    free(net->nodes);
    free(net->members);
    free(net->pkts);
    free(net->payloads);
    free(net->trains);
    free(net->train_times);
    free(net->delivs);
    free(net->deliv_bits);
    free(net->pkt_free.v);
    free(net->train_free.v);
    free(net->deliv_free.v);
    free(net->rack_of);
    free(net->rack_first);
    free(net->rack_nodes);
    free(net->rack_up);
    free(net->rack_down);
    free(net);
}

struct tc_sim *tc_sim_net_sim(struct tc_sim_net *net)
{
    return &net->sim;
}

size_t tc_sim_net_payload_max(const struct tc_sim_net *net)
{
    return net->payload_max;
}

int tc_sim_net_attach(struct tc_sim_net *net, uint32_t node, const struct tc_sim_node_ops *ops,
                      void *ctx)
{
    if (node >= net->cfg.nodes)
        return -EINVAL;
    net->nodes[node].ops = ops;
    net->nodes[node].ctx = ctx;
    return 0;
}

int tc_sim_net_node_set(struct tc_sim_net *net, uint32_t node, const struct tc_sim_node_cfg *cfg)
{
    struct node *n;

    if (node >= net->cfg.nodes)
        return -EINVAL;
    n = &net->nodes[node];
    link_configure(&n->up, &cfg->up);
    link_configure(&n->down, &cfg->down);
    n->disk_rate_Bps = cfg->disk_rate_Bps;
    n->disk_queue_max = cfg->disk_queue_max;
    return 0;
}

struct tc_sim_rng *tc_sim_net_node_rng(struct tc_sim_net *net, uint32_t node)
{
    assert(node < net->cfg.nodes);
    return &net->nodes[node].rng;
}

/** Checks shared by both send paths: node, destination, size, state. */
static int send_check(const struct tc_sim_net *net, uint32_t from, uint32_t dst, size_t len)
{
    if (from >= net->cfg.nodes)
        return -EINVAL;
    if (TC_SIM_IS_GROUP(dst) ? (dst & 0x7fffffffU) >= net->cfg.groups : dst >= net->cfg.nodes)
        return -EINVAL;
    if (len > net->payload_max)
        return -EMSGSIZE;
    if (!net->nodes[from].is_up)
        return -EHOSTDOWN;
    return 0;
}

/**
 * Copy into a pooled packet, pass it through the sender's uplink (queue, then
 * loss: the loss before replication, which every receiver shares), and
 * schedule its arrival at the switch.
 */
int tc_sim_net_send(struct tc_sim_net *net, uint32_t from, uint32_t dst, const void *buf,
                    size_t len)
{
    struct node *n;
    struct pkt *p;
    uint64_t wire, dep;
    uint32_t idx;
    int rc;

    rc = send_check(net, from, dst, len);
    if (rc < 0)
        return rc;
    n = &net->nodes[from];
    wire = tc_sim_wire_bytes(len);
    if (link_xmit(&n->up, net->sim.now, wire, &dep) < 0 || link_lose(&n->up, wire))
        return 0;
    rc = freelist_get(&net->pkt_free, &idx);
    if (rc < 0) {
        tc_sim_fail(&net->sim, rc);
        return rc;
    }
    p = &net->pkts[idx];
    p->src = from;
    p->claim = n->claim;
    p->dst = dst;
    p->len = (uint32_t)len;
    p->refs = 1;
    p->idx = idx;
    if (len)
        memcpy(net->payloads + (size_t)idx * net->payload_max, buf, len);
    rc = tc_sim_schedule(&net->sim, dep + n->up.latency_ns, EV_SW_PKT, from, 0, 0, p);
    if (rc < 0) {
        freelist_put(&net->pkt_free, idx);
        return rc;
    }
    return 0;
}

/**
 * The uplink part of a train, block by block exactly as nblocks calls of
 * tc_sim_net_send() at this instant would do it (same queue arithmetic, same
 * loss draws in the same order); the switch arrival of each block is kept.
 */
int tc_sim_net_send_train(struct tc_sim_net *net, uint32_t from, uint32_t dst, const void *meta,
                          size_t meta_len, uint32_t nblocks, uint32_t block_len)
{
    struct node *n;
    struct train *tr;
    uint64_t *times, wire, first = TC_SIM_NEVER;
    uint32_t idx, j, arrived = 0;
    int rc;

    rc = send_check(net, from, dst, block_len);
    if (rc < 0)
        return rc;
    if (nblocks == 0 || nblocks > net->cfg.train_blocks_max || meta_len > TC_SIM_TRAIN_META_MAX)
        return nblocks == 0 || meta_len > TC_SIM_TRAIN_META_MAX ? -EINVAL : -E2BIG;
    rc = freelist_get(&net->train_free, &idx);
    if (rc < 0) {
        tc_sim_fail(&net->sim, rc);
        return rc;
    }
    n = &net->nodes[from];
    tr = &net->trains[idx];
    times = net->train_times + (size_t)idx * net->cfg.train_blocks_max;
    wire = tc_sim_wire_bytes(block_len);
    for (j = 0; j < nblocks; j++) {
        uint64_t dep;

        if (link_xmit(&n->up, net->sim.now, wire, &dep) < 0 || link_lose(&n->up, wire)) {
            times[j] = TC_SIM_NEVER;
            continue;
        }
        times[j] = dep + n->up.latency_ns;
        if (first == TC_SIM_NEVER)
            first = times[j];
        arrived++;
    }
    if (!arrived) {
        freelist_put(&net->train_free, idx);
        return 0;
    }
    tr->src = from;
    tr->claim = n->claim;
    tr->dst = dst;
    tr->nblocks = nblocks;
    tr->block_len = block_len;
    tr->arrived = arrived;
    tr->refs = 1;
    tr->idx = idx;
    tr->meta_len = (uint32_t)meta_len;
    if (meta_len)
        memcpy(tr->meta, meta, meta_len);
    rc = tc_sim_schedule(&net->sim, first, EV_SW_TRAIN, from, 0, 0, tr);
    if (rc < 0) {
        freelist_put(&net->train_free, idx);
        return rc;
    }
    return 0;
}

int tc_sim_net_spoof(struct tc_sim_net *net, uint32_t node, uint32_t claimed)
{
    if (node >= net->cfg.nodes)
        return -EINVAL;
    net->nodes[node].claim = claimed;
    return 0;
}

static uint64_t *group_bits(const struct tc_sim_net *net, uint32_t group)
{
    return net->members + (size_t)group * net->node_words;
}

int tc_sim_net_join(struct tc_sim_net *net, uint32_t node, uint32_t group)
{
    if (node >= net->cfg.nodes || group >= net->cfg.groups)
        return -EINVAL;
    group_bits(net, group)[node / 64] |= 1ULL << (node % 64);
    return 0;
}

int tc_sim_net_leave(struct tc_sim_net *net, uint32_t node, uint32_t group)
{
    if (node >= net->cfg.nodes || group >= net->cfg.groups)
        return -EINVAL;
    group_bits(net, group)[node / 64] &= ~(1ULL << (node % 64));
    return 0;
}

int tc_sim_net_is_member(const struct tc_sim_net *net, uint32_t node, uint32_t group)
{
    if (node >= net->cfg.nodes || group >= net->cfg.groups)
        return 0;
    return (group_bits(net, group)[node / 64] >> (node % 64)) & 1;
}

/**
 * One live timer event per node at most "ahead" of the wanted time: a later
 * time reuses the pending event (which re-arms itself when it finds the
 * wanted time later than now); an earlier one supersedes it (new generation:
 * the old event is ignored when it comes).
 */
int tc_sim_net_timer_set(struct tc_sim_net *net, uint32_t node, uint64_t at)
{
    struct node *n;
    int rc;

    if (node >= net->cfg.nodes)
        return -EINVAL;
    n = &net->nodes[node];
    if (at < net->sim.now)
        at = net->sim.now;
    n->timer_at = at;
    if (at == TC_SIM_NEVER || at >= n->timer_ev_at)
        return 0;
    n->timer_gen++;
    rc = tc_sim_schedule(&net->sim, at, EV_TIMER, node, n->timer_gen, 0, NULL);
    if (rc < 0)
        return rc;
    n->timer_ev_at = at;
    return 0;
}

/** Writes are served in order at the disk's rate (no seek model). */
int tc_sim_net_disk_submit(struct tc_sim_net *net, uint32_t node, uint64_t bytes, uint64_t cookie)
{
    struct node *n;
    uint64_t start, done;
    int rc;

    if (node >= net->cfg.nodes)
        return -EINVAL;
    n = &net->nodes[node];
    if (!n->is_up)
        return -EHOSTDOWN;
    if (n->disk_inflight >= n->disk_queue_max)
        return -EAGAIN;
    start = n->disk_busy_until > net->sim.now ? n->disk_busy_until : net->sim.now;
    done = n->disk_rate_Bps ? start + muldiv_ceil(bytes, TC_SIM_S, n->disk_rate_Bps) : start;
    rc = tc_sim_schedule(&net->sim, done, EV_DISK, node, n->incarnation, cookie, NULL);
    if (rc < 0)
        return rc;
    n->disk_busy_until = done;
    n->disk_inflight++;
    n->st.disk_bytes += bytes;
    return 0;
}

int tc_sim_net_start(struct tc_sim_net *net, uint32_t node, uint64_t at)
{
    if (node >= net->cfg.nodes || at < net->sim.now)
        return -EINVAL;
    return tc_sim_schedule(&net->sim, at, EV_START, node, 0, 0, NULL);
}

int tc_sim_net_crash(struct tc_sim_net *net, uint32_t node, uint64_t at, uint64_t restart_after)
{
    if (node >= net->cfg.nodes || at < net->sim.now)
        return -EINVAL;
    return tc_sim_schedule(&net->sim, at, EV_CRASH, node, 0, restart_after, NULL);
}

int tc_sim_net_pause(struct tc_sim_net *net, uint32_t node, uint64_t at, uint64_t duration)
{
    if (node >= net->cfg.nodes || at < net->sim.now || duration == TC_SIM_NEVER)
        return -EINVAL;
    return tc_sim_schedule(&net->sim, at, EV_PAUSE, node, 0, duration, NULL);
}

int tc_sim_net_partition(struct tc_sim_net *net, const uint32_t *nodes, uint32_t n, uint64_t at,
                         uint64_t duration)
{
    uint32_t i, id;
    int rc;

    if (at < net->sim.now)
        return -EINVAL;
    for (i = 0; i < n; i++)
        if (nodes[i] >= net->cfg.nodes)
            return -EINVAL;
    id = net->next_part++;
    for (i = 0; i < n; i++) {
        rc = tc_sim_schedule(&net->sim, at, EV_PART, nodes[i], id, 0, NULL);
        if (rc < 0)
            return rc;
        if (duration != TC_SIM_NEVER) {
            rc = tc_sim_schedule(&net->sim, at + duration, EV_PART, nodes[i], 0, 0, NULL);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int tc_sim_net_script_at(struct tc_sim_net *net, uint64_t at, uint64_t arg)
{
    if (at < net->sim.now || !net->cfg.on_script)
        return -EINVAL;
    return tc_sim_schedule(&net->sim, at, EV_SCRIPT, 0, 0, arg, NULL);
}

/**
 * Racks: a counting sort of the nodes by rack (so that a rack switch walks
 * its own nodes only, in node order), and two links per rack, each with a
 * loss stream of its own.
 */
int tc_sim_net_racks(struct tc_sim_net *net, uint32_t racks, const uint32_t *rack_of,
                     const struct tc_sim_link_cfg *uplink)
{
    uint32_t i, r, *fill = NULL;
    int rc = -ENOMEM;

    if (net->racks)
        return -EALREADY;
    if (racks == 0 || racks > TC_SIM_RACKS_MAX || !rack_of || !uplink)
        return -EINVAL;
    for (i = 0; i < net->cfg.nodes; i++)
        if (rack_of[i] > racks)
            return -EINVAL;
    net->rack_of = malloc(net->cfg.nodes * sizeof(*net->rack_of));
    net->rack_first = calloc(racks + 2, sizeof(*net->rack_first));
    net->rack_nodes = malloc(net->cfg.nodes * sizeof(*net->rack_nodes));
    net->rack_up = calloc(racks + 1, sizeof(*net->rack_up));
    net->rack_down = calloc(racks + 1, sizeof(*net->rack_down));
    fill = calloc(racks + 1, sizeof(*fill));
    if (!net->rack_of || !net->rack_first || !net->rack_nodes || !net->rack_up || !net->rack_down ||
        !fill)
        goto err_alloc;
    memcpy(net->rack_of, rack_of, net->cfg.nodes * sizeof(*net->rack_of));
    for (i = 0; i < net->cfg.nodes; i++)
        net->rack_first[rack_of[i] + 1]++;
    for (r = 1; r <= racks + 1; r++)
        net->rack_first[r] += net->rack_first[r - 1];
    for (i = 0; i < net->cfg.nodes; i++)
        net->rack_nodes[net->rack_first[rack_of[i]] + fill[rack_of[i]]++] = i;
    for (r = 1; r <= racks; r++) {
        tc_sim_rng_seed(&net->rack_up[r].rng, net->cfg.seed, RACK_STREAM + 2 * (uint64_t)r);
        tc_sim_rng_seed(&net->rack_down[r].rng, net->cfg.seed, RACK_STREAM + 2 * (uint64_t)r + 1);
        link_configure(&net->rack_up[r], uplink);
        link_configure(&net->rack_down[r], uplink);
    }
    free(fill);
    net->racks = racks;
    return 0;

err_alloc:
    free(fill);
    free(net->rack_of);
    free(net->rack_first);
    free(net->rack_nodes);
    free(net->rack_up);
    free(net->rack_down);
    net->rack_of = NULL;
    net->rack_first = NULL;
    net->rack_nodes = NULL;
    net->rack_up = NULL;
    net->rack_down = NULL;
    return rc;
}

/** Counters of a rack link; NULL for rack 0 (the core) or beyond the racks. */
const struct tc_sim_link_stats *tc_sim_net_rack_link_stats(const struct tc_sim_net *net,
                                                           uint32_t rack, int up)
{
    if (rack == 0 || rack > net->racks)
        return NULL;
    return up ? &net->rack_up[rack].st : &net->rack_down[rack].st;
}

int tc_sim_net_is_up(const struct tc_sim_net *net, uint32_t node)
{
    return node < net->cfg.nodes && net->nodes[node].is_up;
}

const struct tc_sim_node_stats *tc_sim_net_node_stats(const struct tc_sim_net *net, uint32_t node)
{
    assert(node < net->cfg.nodes);
    return &net->nodes[node].st;
}

const struct tc_sim_link_stats *tc_sim_net_link_stats(const struct tc_sim_net *net, uint32_t node,
                                                      int up)
{
    assert(node < net->cfg.nodes);
    return up ? &net->nodes[node].up.st : &net->nodes[node].down.st;
}

double tc_sim_net_link_util(const struct tc_sim_net *net, uint32_t node, int up)
{
    const struct tc_sim_link_stats *st = tc_sim_net_link_stats(net, node, up);

    if (net->sim.now == 0)
        return 0.0;
    return (double)st->busy_ns / (double)net->sim.now;
}

uint64_t tc_sim_net_seeder_egress_bytes(const struct tc_sim_net *net)
{
    return net->nodes[0].up.st.tx_bytes;
}

/* --- events ---------------------------------------------------------------------- */

static void pkt_put(struct tc_sim_net *net, struct pkt *p)
{
    assert(p->refs > 0);
    if (--p->refs == 0)
        freelist_put(&net->pkt_free, p->idx);
}

static void train_put(struct tc_sim_net *net, struct train *tr)
{
    assert(tr->refs > 0);
    if (--tr->refs == 0)
        freelist_put(&net->train_free, tr->idx);
}

/** The switch hands a packet to receiver r's downlink. */
static void forward_pkt(struct tc_sim_net *net, struct pkt *p, uint32_t r)
{
    struct node *n = &net->nodes[r];
    uint64_t wire = tc_sim_wire_bytes(p->len), dep;

    if (n->part != net->nodes[p->src].part) {
        n->st.lost_partition_pkts++;
        return;
    }
    if (link_xmit(&n->down, net->sim.now, wire, &dep) < 0) {
        n->st.lost_queue_pkts++;
        return;
    }
    if (link_lose(&n->down, wire)) {
        n->st.lost_random_pkts++;
        return;
    }
    if (tc_sim_schedule(&net->sim, dep + n->down.latency_ns, EV_DLV_PKT, r, 0, 0, p) == 0)
        p->refs++;
}

/**
 * The switch hands a train to receiver r's downlink: every block at its own
 * switch arrival time, through the same queue and loss arithmetic as single
 * packets. The train is atomic at the switch: traffic from others reaching
 * this downlink during the train's span queues behind all of it.
 */
static void forward_train(struct tc_sim_net *net, struct train *tr, uint32_t r)
{
    struct node *n = &net->nodes[r];
    const uint64_t *times = net->train_times + (size_t)tr->idx * net->cfg.train_blocks_max;
    uint64_t wire = tc_sim_wire_bytes(tr->block_len), first = TC_SIM_NEVER, last = 0;
    uint64_t *bits;
    uint32_t d, j, got = 0;

    if (n->part != net->nodes[tr->src].part) {
        n->st.lost_partition_pkts += tr->arrived;
        return;
    }
    if (freelist_get(&net->deliv_free, &d) < 0) {
        tc_sim_fail(&net->sim, -ENOBUFS);
        return;
    }
    bits = net->deliv_bits + (size_t)d * net->bitmap_words;
    memset(bits, 0, net->bitmap_words * sizeof(*bits));
    for (j = 0; j < tr->nblocks; j++) {
        uint64_t dep;

        if (times[j] == TC_SIM_NEVER)
            continue;
        if (link_xmit(&n->down, times[j], wire, &dep) < 0) {
            n->st.lost_queue_pkts++;
            continue;
        }
        if (link_lose(&n->down, wire)) {
            n->st.lost_random_pkts++;
            continue;
        }
        bits[j / 64] |= 1ULL << (j % 64);
        got++;
        last = dep + n->down.latency_ns;
        if (first == TC_SIM_NEVER)
            first = last;
    }
    if (!got || tc_sim_schedule(&net->sim, last, EV_DLV_TRAIN, r, d, 0, tr) < 0) {
        freelist_put(&net->deliv_free, d);
        return;
    }
    net->delivs[d].first_ns = first;
    net->delivs[d].got = got;
    tr->refs++;
}

/** Every member of the group but the sender, in node order (deterministic). */
#define FOR_EACH_MEMBER(net, group, src, r, body)                                                  \
    do {                                                                                           \
        const uint64_t *bits_ = group_bits((net), (group));                                        \
        uint32_t w_;                                                                               \
        for (w_ = 0; w_ < (net)->node_words; w_++) {                                               \
            uint64_t m_ = bits_[w_];                                                               \
            while (m_) {                                                                           \
                (r) = w_ * 64 + (uint32_t)__builtin_ctzll(m_);                                     \
                m_ &= m_ - 1;                                                                      \
                if ((r) != (src))                                                                  \
                    body;                                                                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* --- racks ----------------------------------------------------------------------- */

/**
 * One frame of `wire` bytes offered at t to a rack link: 0 and its arrival
 * at the far switch, or -1 (queue drop or loss, counted on the link).
 */
static int rack_hop(struct link *l, uint64_t t, uint64_t wire, uint64_t *arr)
{
    uint64_t dep;

    if (link_xmit(l, t, wire, &dep) < 0 || link_lose(l, wire))
        return -1;
    *arr = dep + l->latency_ns;
    return 0;
}

/** Node r is a member of group g (no range checks: the hot path). */
static int member_of(const struct tc_sim_net *net, uint32_t g, uint32_t r)
{
    return (int)((net->members[(size_t)g * net->node_words + r / 64] >> (r % 64)) & 1);
}

/** Rack b has a member of group g other than src. */
static int rack_has_member(const struct tc_sim_net *net, uint32_t b, uint32_t g, uint32_t src)
{
    uint32_t k;

    for (k = net->rack_first[b]; k < net->rack_first[b + 1]; k++)
        if (net->rack_nodes[k] != src && member_of(net, g, net->rack_nodes[k]))
            return 1;
    return 0;
}

/** A switch (rack b's, or the core's for b = 0) hands a packet to the
 * downlinks of its own nodes: the destination, or the group's members. */
static void local_pkt(struct tc_sim_net *net, struct pkt *p, uint32_t b)
{
    uint32_t k, r;

    if (!TC_SIM_IS_GROUP(p->dst)) {
        if (net->rack_of[p->dst] == b)
            forward_pkt(net, p, p->dst);
        return;
    }
    for (k = net->rack_first[b]; k < net->rack_first[b + 1]; k++) {
        r = net->rack_nodes[k];
        if (r != p->src && member_of(net, p->dst & 0x7fffffffU, r))
            forward_pkt(net, p, r);
    }
}

/** As local_pkt() for a train (each block at its arrival time). */
static void local_train(struct tc_sim_net *net, struct train *tr, uint32_t b)
{
    uint32_t k, r;

    if (!TC_SIM_IS_GROUP(tr->dst)) {
        if (net->rack_of[tr->dst] == b)
            forward_train(net, tr, tr->dst);
        return;
    }
    for (k = net->rack_first[b]; k < net->rack_first[b + 1]; k++) {
        r = net->rack_nodes[k];
        if (r != tr->src && member_of(net, tr->dst & 0x7fffffffU, r))
            forward_train(net, tr, r);
    }
}

/** The core sends a packet down rack b's downlink. */
static void core_down_pkt(struct tc_sim_net *net, struct pkt *p, uint32_t b)
{
    uint64_t arr;

    if (rack_hop(&net->rack_down[b], net->sim.now, tc_sim_wire_bytes(p->len), &arr) < 0)
        return;
    if (tc_sim_schedule(&net->sim, arr, EV_TOR_PKT, p->src, b, 0, p) == 0)
        p->refs++;
}

/** A packet at the core switch, come from rack a (0: sent by a core node):
 * core nodes, then every other rack that wants it, once. */
static void core_pkt(struct tc_sim_net *net, struct pkt *p, uint32_t a)
{
    uint32_t b;

    local_pkt(net, p, 0);
    if (!TC_SIM_IS_GROUP(p->dst)) {
        b = net->rack_of[p->dst];
        if (b != 0 && b != a)
            core_down_pkt(net, p, b);
        return;
    }
    for (b = 1; b <= net->racks; b++)
        if (b != a && rack_has_member(net, b, p->dst & 0x7fffffffU, p->src))
            core_down_pkt(net, p, b);
}

/** A packet at its sender's first switch: the rack's own nodes, then (other
 * racks or multicast) the rack uplink to the core. */
static void rack_switch_pkt(struct tc_sim_net *net, struct pkt *p)
{
    uint32_t a = net->rack_of[p->src];
    uint64_t arr;

    if (a == 0) {
        core_pkt(net, p, 0);
        return;
    }
    local_pkt(net, p, a);
    if (!TC_SIM_IS_GROUP(p->dst) && net->rack_of[p->dst] == a)
        return;
    if (rack_hop(&net->rack_up[a], net->sim.now, tc_sim_wire_bytes(p->len), &arr) < 0)
        return;
    if (tc_sim_schedule(&net->sim, arr, EV_CORE_PKT, a, 0, 0, p) == 0)
        p->refs++;
}

/**
 * Pass every block of a train through a rack link, block j offered at
 * in[j] (NEVER: lost before), arrival at the far switch in out[j] (in and
 * out may be the same array). Returns the blocks that got through and the
 * first arrival.
 */
static uint32_t rack_hop_train(struct link *l, const uint64_t *in, uint64_t *out, uint32_t nblocks,
                               uint64_t wire, uint64_t *first)
{
    uint32_t j, got = 0;

    *first = TC_SIM_NEVER;
    for (j = 0; j < nblocks; j++) {
        uint64_t arr;

        if (in[j] == TC_SIM_NEVER || rack_hop(l, in[j], wire, &arr) < 0) {
            out[j] = TC_SIM_NEVER;
            continue;
        }
        out[j] = arr;
        if (*first == TC_SIM_NEVER)
            *first = arr;
        got++;
    }
    return got;
}

/** The core sends a train down rack b's downlink: a copy of its own (the
 * branches' block times differ), the same description. */
static void core_down_train(struct tc_sim_net *net, struct train *tr, uint32_t b)
{
    size_t bm = net->cfg.train_blocks_max;
    struct train *c;
    uint64_t first;
    uint32_t idx, got;

    if (freelist_get(&net->train_free, &idx) < 0) {
        tc_sim_fail(&net->sim, -ENOBUFS);
        return;
    }
    c = &net->trains[idx];
    *c = *tr;
    c->idx = idx;
    got = rack_hop_train(&net->rack_down[b], net->train_times + (size_t)tr->idx * bm,
                         net->train_times + (size_t)idx * bm, tr->nblocks,
                         tc_sim_wire_bytes(tr->block_len), &first);
    c->arrived = got;
    c->refs = 1;
    if (!got || tc_sim_schedule(&net->sim, first, EV_TOR_TRAIN, tr->src, b, 0, c) < 0)
        freelist_put(&net->train_free, idx);
}

/** A train at the core switch, come from rack a (see core_pkt()). */
static void core_train(struct tc_sim_net *net, struct train *tr, uint32_t a)
{
    uint32_t b;

    local_train(net, tr, 0);
    if (!TC_SIM_IS_GROUP(tr->dst)) {
        b = net->rack_of[tr->dst];
        if (b != 0 && b != a)
            core_down_train(net, tr, b);
        return;
    }
    for (b = 1; b <= net->racks; b++)
        if (b != a && rack_has_member(net, b, tr->dst & 0x7fffffffU, tr->src))
            core_down_train(net, tr, b);
}

/** A train at its sender's first switch (see rack_switch_pkt()). Its
 * block times are replaced by their arrivals at the core: the rack's own
 * deliveries have been computed by then. */
static void rack_switch_train(struct tc_sim_net *net, struct train *tr)
{
    uint64_t *times = net->train_times + (size_t)tr->idx * net->cfg.train_blocks_max;
    uint32_t a = net->rack_of[tr->src], got;
    uint64_t first;

    if (a == 0) {
        core_train(net, tr, 0);
        return;
    }
    local_train(net, tr, a);
    if (!TC_SIM_IS_GROUP(tr->dst) && net->rack_of[tr->dst] == a)
        return;
    got = rack_hop_train(&net->rack_up[a], times, times, tr->nblocks,
                         tc_sim_wire_bytes(tr->block_len), &first);
    if (!got)
        return;
    tr->arrived = got;
    if (tc_sim_schedule(&net->sim, first, EV_CORE_TRAIN, a, 0, 0, tr) == 0)
        tr->refs++;
}

static void switch_pkt(struct tc_sim_net *net, struct pkt *p)
{
    uint32_t r;

    if (net->racks)
        rack_switch_pkt(net, p);
    else if (TC_SIM_IS_GROUP(p->dst))
        FOR_EACH_MEMBER(net, p->dst & 0x7fffffffU, p->src, r, forward_pkt(net, p, r));
    else
        forward_pkt(net, p, p->dst);
    pkt_put(net, p);
}

static void switch_train(struct tc_sim_net *net, struct train *tr)
{
    uint32_t r;

    if (net->racks)
        rack_switch_train(net, tr);
    else if (TC_SIM_IS_GROUP(tr->dst))
        FOR_EACH_MEMBER(net, tr->dst & 0x7fffffffU, tr->src, r, forward_train(net, tr, r));
    else
        forward_train(net, tr, tr->dst);
    train_put(net, tr);
}

/** A node can take a delivery: up and not frozen. */
static int node_receives(const struct node *n)
{
    return n->is_up && !n->paused;
}

static void deliver_pkt(struct tc_sim_net *net, uint32_t r, struct pkt *p)
{
    struct node *n = &net->nodes[r];

    if (!node_receives(n)) {
        n->st.lost_down_pkts++;
    } else {
        n->st.rx_pkts++;
        n->st.rx_bytes += tc_sim_wire_bytes(p->len);
        if (n->ops && n->ops->on_packet)
            n->ops->on_packet(net, n->ctx, r, net->sim.now, p->claim,
                              net->payloads + (size_t)p->idx * net->payload_max, p->len);
    }
    pkt_put(net, p);
}

static void deliver_train(struct tc_sim_net *net, uint32_t r, uint32_t d, struct train *tr)
{
    struct node *n = &net->nodes[r];
    struct deliv *dv = &net->delivs[d];

    if (!node_receives(n)) {
        n->st.lost_down_pkts += dv->got;
    } else {
        struct tc_sim_train_rx rx;

        n->st.rx_pkts += dv->got;
        n->st.rx_bytes += dv->got * tc_sim_wire_bytes(tr->block_len);
        rx.meta = tr->meta;
        rx.meta_len = tr->meta_len;
        rx.nblocks = tr->nblocks;
        rx.block_len = tr->block_len;
        rx.received = dv->got;
        rx.bitmap = net->deliv_bits + (size_t)d * net->bitmap_words;
        rx.first_ns = dv->first_ns;
        if (n->ops && n->ops->on_train)
            n->ops->on_train(net, n->ctx, r, net->sim.now, tr->claim, &rx);
    }
    freelist_put(&net->deliv_free, d);
    train_put(net, tr);
}

/** Timer event: stale generations are ignored, early ones re-arm. */
static void timer_event(struct tc_sim_net *net, uint32_t node, uint32_t gen)
{
    struct node *n = &net->nodes[node];
    uint64_t now = net->sim.now;

    if (gen != n->timer_gen)
        return;
    n->timer_ev_at = TC_SIM_NEVER;
    if (!n->is_up || n->timer_at == TC_SIM_NEVER)
        return;
    if (n->paused || n->timer_at > now) {
        uint64_t at = n->paused && n->pause_until > n->timer_at ? n->pause_until : n->timer_at;

        if (at < now)
            at = now;
        if (tc_sim_schedule(&net->sim, at, EV_TIMER, node, gen, 0, NULL) == 0)
            n->timer_ev_at = at;
        return;
    }
    n->timer_at = TC_SIM_NEVER;
    n->st.timers_fired++;
    if (n->ops && n->ops->on_timer)
        n->ops->on_timer(net, n->ctx, node, now);
}

static void disk_event(struct tc_sim_net *net, const struct tc_sim_event *ev)
{
    struct node *n = &net->nodes[ev->a];

    if (ev->b != n->incarnation)
        return;
    if (n->paused) {
        tc_sim_schedule(&net->sim, n->pause_until, EV_DISK, ev->a, ev->b, ev->arg, NULL);
        return;
    }
    n->disk_inflight--;
    n->st.disk_ops++;
    if (n->ops && n->ops->on_disk_done)
        n->ops->on_disk_done(net, n->ctx, ev->a, net->sim.now, ev->arg);
}

/** Everything a crash takes away: timer, disk writes, groups, pause. */
static void crash_event(struct tc_sim_net *net, uint32_t node, uint64_t restart_after)
{
    struct node *n = &net->nodes[node];
    uint32_t g;

    if (n->is_up) {
        n->is_up = 0;
        n->paused = 0;
        n->incarnation++;
        n->timer_gen++;
        n->timer_at = TC_SIM_NEVER;
        n->timer_ev_at = TC_SIM_NEVER;
        n->disk_inflight = 0;
        n->disk_busy_until = net->sim.now;
        for (g = 0; g < net->cfg.groups; g++)
            tc_sim_net_leave(net, node, g);
        if (n->ops && n->ops->on_crash)
            n->ops->on_crash(net, n->ctx, node, net->sim.now);
    }
    if (restart_after != TC_SIM_NEVER)
        tc_sim_schedule(&net->sim, net->sim.now + restart_after, EV_START, node, 0, 0, NULL);
}

static void net_handle(void *ctx, struct tc_sim *sim, const struct tc_sim_event *ev)
{
    struct tc_sim_net *net = ctx;
    struct node *n;

    (void)sim;
    switch (ev->kind) {
    case EV_TIMER:
        timer_event(net, ev->a, ev->b);
        break;
    case EV_DISK:
        disk_event(net, ev);
        break;
    case EV_SW_PKT:
        switch_pkt(net, ev->ptr);
        break;
    case EV_DLV_PKT:
        deliver_pkt(net, ev->a, ev->ptr);
        break;
    case EV_SW_TRAIN:
        switch_train(net, ev->ptr);
        break;
    case EV_DLV_TRAIN:
        deliver_train(net, ev->a, ev->b, ev->ptr);
        break;
    case EV_START:
        n = &net->nodes[ev->a];
        if (n->is_up)
            break;
        n->is_up = 1;
        n->paused = 0;
        if (n->ops && n->ops->on_start)
            n->ops->on_start(net, n->ctx, ev->a, net->sim.now);
        break;
    case EV_CRASH:
        crash_event(net, ev->a, ev->arg);
        break;
    case EV_PAUSE:
        n = &net->nodes[ev->a];
        if (!n->paused || n->pause_until < net->sim.now + ev->arg)
            n->pause_until = net->sim.now + ev->arg;
        n->paused = 1;
        tc_sim_schedule(&net->sim, n->pause_until, EV_RESUME, ev->a, 0, 0, NULL);
        break;
    case EV_RESUME:
        n = &net->nodes[ev->a];
        if (n->paused && net->sim.now >= n->pause_until)
            n->paused = 0;
        break;
    case EV_PART:
        net->nodes[ev->a].part = ev->b;
        break;
    case EV_SCRIPT:
        net->cfg.on_script(net->cfg.script_ctx, net, net->sim.now, ev->arg);
        break;
    case EV_CORE_PKT:
        core_pkt(net, ev->ptr, ev->a);
        pkt_put(net, ev->ptr);
        break;
    case EV_TOR_PKT:
        local_pkt(net, ev->ptr, ev->b);
        pkt_put(net, ev->ptr);
        break;
    case EV_CORE_TRAIN:
        core_train(net, ev->ptr, ev->a);
        train_put(net, ev->ptr);
        break;
    case EV_TOR_TRAIN:
        local_train(net, ev->ptr, ev->b);
        train_put(net, ev->ptr);
        break;
    default:
        assert(!"unknown simnet event");
    }
}
