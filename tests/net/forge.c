// SPDX-License-Identifier: MIT
/*
 * forge: the rogue of tests/net/rogue.sh. It joins the session's multicast
 * group on its interface, learns the session id and epoch (and the chunk
 * count and block length) from the real DATA headers it sees, and then, until
 * SIGTERM or SIGINT (or --duration), sends at a fixed rate:
 *
 *   - forged DATA blocks (random payload, the real session id and epoch) for
 *     every chunk index and block offset it knows of, to the group and, with
 *     the unicast flag and guessed tokens, to every agent;
 *   - forged control messages to the agents: WELCOME, REJECT (guessed
 *     nonces), CHILDREN, REPARENT, EPOCH, DONE_ACK, RELEASE (guessed tokens);
 *   - forged JOIN (for an image nobody serves), REPORT and DONE (guessed
 *     tokens) to the seeder.
 *
 * Nothing here is meant to get through: the test checks that every node
 * still writes the right bytes and counts what it dropped. At exit it prints
 * what it sent, one line per kind.
 *
 * Before it has seen a DATA header it sends only control messages (with a
 * random session id); DATA needs the session id to pass the first check.
 * Forged JOINs name an image nobody serves: a JOIN for the real image is a
 * real node as far as the protocol can tell (docs/protocol.md, section 5),
 * and one that never finishes would keep the session open.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "treecast/err.h"
#include "treecast/proto.h"
#include "treecast/rng.h"
#include "treecast/udp.h"
#include "treecast/wire.h"

/** Default send rate, datagrams per second, and the most accepted. */
#define FORGE_RATE_DEFAULT 2000u
#define FORGE_RATE_MAX 100000u
/** Agents addressed at most (a range or repeated --agent). */
#define FORGE_AGENTS_MAX 256u
/** Chunks and block length assumed until real DATA shows them. */
#define FORGE_CHUNKS_DEFAULT 128u
#define FORGE_BLOCK_LEN_DEFAULT TC_WIRE_DATA_PAYLOAD_1500
/** Pacing tick, milliseconds: each tick sends rate x tick / 1000 datagrams. */
#define FORGE_TICK_MS 5
/** Datagrams built per tick at most (one sendmmsg batch each). */
#define FORGE_BATCH_MAX TC_UDP_TX_BATCH_MAX
/** Image name of the forged JOINs (nobody serves it). */
#define FORGE_JOIN_NAME "forged-image"

/** What forge sends, in its rotation order. */
enum forge_kind {
    FORGE_DATA_GROUP,
    FORGE_DATA_UNICAST,
    FORGE_WELCOME,
    FORGE_REJECT,
    FORGE_CHILDREN,
    FORGE_REPARENT,
    FORGE_EPOCH,
    FORGE_DONE_ACK,
    FORGE_RELEASE,
    FORGE_JOIN,
    FORGE_REPORT,
    FORGE_DONE,
    FORGE_KINDS,
};

/** Name of each kind in the exit report. */
static const char *const kind_name[FORGE_KINDS] = {
    "data",  "data-unicast", "welcome", "reject", "children", "reparent",
    "epoch", "done-ack",     "release", "join",   "report",   "done",
};

/** Share of each kind in the rotation: DATA dominates, every control kind
 * goes out too. */
static const unsigned kind_weight[FORGE_KINDS] = {
    8, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/** Command line. */
struct forge_opts {
    const char *iface;                 /**< interface to join the group on */
    uint32_t group;                    /**< multicast group, host order */
    uint16_t port;                     /**< session port (group and agents) */
    struct tc_proto_peer seeder;       /**< seeder's control address (addr 0: none) */
    uint32_t agents[FORGE_AGENTS_MAX]; /**< agents' addresses, host order */
    unsigned nagents;                  /**< entries of agents */
    unsigned rate;                     /**< datagrams per second */
    unsigned duration_s;               /**< 0: until a signal */
    uint32_t chunks;                   /**< chunk count to assume (0: learn) */
    uint32_t spoof;                    /**< forged source of the group's DATA (0: ours) */
};

/** What forge learnt from the real traffic, and what it sent. */
struct forge {
    struct forge_opts o;        /**< options */
    struct tc_udp *udp;         /**< the socket, bound to the session port */
    int spoof_fd;               /**< --spoof: a transparent socket bound to that address, or -1 */
    uint64_t session_id;        /**< learnt (0: not yet) */
    uint32_t epoch;             /**< learnt */
    uint32_t chunks;            /**< highest chunk index seen + 1 (or --chunks) */
    uint32_t block_len;         /**< longest DATA payload seen, bytes */
    uint32_t chunk_span;        /**< highest CHUNK offset + len seen, bytes */
    uint64_t data_seen;         /**< real multicast DATA headers seen */
    uint64_t sent[FORGE_KINDS]; /**< datagrams the kernel accepted, per kind */
    uint64_t not_sent;          /**< datagrams the kernel refused */
    uint64_t encode_errors;     /**< messages our own encoder refused (a bug here) */
    uint64_t next_chunk;        /**< rotation over chunk indexes */
    uint64_t next_block;        /**< rotation over block offsets */
    unsigned next_agent;        /**< rotation over agents */
    unsigned rot;               /**< position in the weighted rotation */
    uint8_t bufs[FORGE_BATCH_MAX][TC_WIRE_DGRAM_MAX]; /**< encoded datagrams of a tick */
};

/** Set by SIGTERM and SIGINT. */
static volatile sig_atomic_t stop;

/** on_signal - ask the main loop to print its report and exit. */
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/** now_ms - monotonic milliseconds. */
static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/** rnd64 - a random 64-bit value (never 0: tokens and nonces must not be). */
static uint64_t rnd64(void)
{
    uint64_t v = 0;

    while (v == 0)
        tc_rng_os_fill(NULL, (uint8_t *)&v, sizeof(v));
    return v;
}

/** rnd_fill - random bytes. */
static void rnd_fill(uint8_t *buf, size_t len)
{
    tc_rng_os_fill(NULL, buf, len);
}

/** usage - the help text. */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: forge --iface IF [--group A.B.C.D] [--port P] [--seeder A.B.C.D[:P]]\n"
            "             [--agents A.B.C.D-A.B.C.D | --agent A.B.C.D ...] [--rate N]\n"
            "             [--chunks N] [--duration S] [--spoof A.B.C.D]\n"
            "Send forged treecast datagrams (tests/net/rogue.sh) until SIGTERM.\n"
            "  --rate N   datagrams per second (default %u, at most %u)\n"
            "  --chunks N chunk indexes to forge before real DATA shows the count\n"
            "  --spoof A  send the group's forged DATA from source address A (the\n"
            "             seeder's: IP_TRANSPARENT, root)\n",
            FORGE_RATE_DEFAULT, FORGE_RATE_MAX);
}

/** parse_addr - "A.B.C.D" into host order; -EINVAL if malformed. */
static int parse_addr(const char *s, uint32_t *out)
{
    struct tc_proto_peer p = {0};
    int rc;

    if (strchr(s, ':'))
        return -EINVAL;
    rc = tc_udp_parse_peer(s, &p);
    if (rc < 0)
        return rc;
    *out = p.addr;
    return 0;
}

/** add_agents - "A" or "A-B" (inclusive range) appended to the agent list. */
static int add_agents(struct forge_opts *o, const char *arg)
{
    char first[32];
    const char *dash = strchr(arg, '-');
    uint32_t a, b;
    size_t n = dash ? (size_t)(dash - arg) : strlen(arg);

    if (n >= sizeof(first))
        return -EINVAL;
    memcpy(first, arg, n);
    first[n] = '\0';
    if (parse_addr(first, &a) < 0)
        return -EINVAL;
    b = a;
    if (dash && parse_addr(dash + 1, &b) < 0)
        return -EINVAL;
    if (b < a || b - a >= FORGE_AGENTS_MAX - o->nagents)
        return -E2BIG;
    for (uint32_t x = a; x <= b; x++)
        o->agents[o->nagents++] = x;
    return 0;
}

/** parse_uint - a decimal in [min, max]; -EINVAL otherwise. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

/** parse_opts - the command line into o; 2 on a usage error (message printed). */
static int parse_opts(int argc, char **argv, struct forge_opts *o)
{
    static const struct option longopts[] = {
        {"iface", required_argument, NULL, 'i'},    {"group", required_argument, NULL, 'g'},
        {"port", required_argument, NULL, 'p'},     {"seeder", required_argument, NULL, 's'},
        {"agents", required_argument, NULL, 'a'},   {"agent", required_argument, NULL, 'a'},
        {"rate", required_argument, NULL, 'r'},     {"chunks", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'}, {"spoof", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    unsigned v;
    int c;

    memset(o, 0, sizeof(*o));
    o->group = TC_PROTO_GROUP_DEFAULT;
    o->port = TC_PROTO_PORT_DEFAULT;
    o->rate = FORGE_RATE_DEFAULT;
    for (;;) {
        c = getopt_long(argc, argv, "", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'i':
            o->iface = optarg;
            break;
        case 'g':
            if (parse_addr(optarg, &o->group) < 0 || (o->group >> 24) < 224 ||
                (o->group >> 24) > 239) {
                fprintf(stderr, "forge: --group '%s' is not an IPv4 multicast address\n", optarg);
                return 2;
            }
            break;
        case 'p':
            if (parse_uint(optarg, 1, 65535, &v) < 0) {
                fprintf(stderr, "forge: --port '%s' must be 1..65535\n", optarg);
                return 2;
            }
            o->port = (uint16_t)v;
            break;
        case 's':
            o->seeder.port = TC_PROTO_PORT_DEFAULT;
            if (tc_udp_parse_peer(optarg, &o->seeder) < 0) {
                fprintf(stderr, "forge: --seeder '%s' is not A.B.C.D[:PORT]\n", optarg);
                return 2;
            }
            break;
        case 'a':
            if (add_agents(o, optarg) < 0) {
                fprintf(stderr,
                        "forge: --agents '%s' is not A.B.C.D or A.B.C.D-A.B.C.D "
                        "(at most %u agents in all)\n",
                        optarg, FORGE_AGENTS_MAX);
                return 2;
            }
            break;
        case 'r':
            if (parse_uint(optarg, 1, FORGE_RATE_MAX, &o->rate) < 0) {
                fprintf(stderr, "forge: --rate '%s' must be 1..%u datagrams/s\n", optarg,
                        FORGE_RATE_MAX);
                return 2;
            }
            break;
        case 'c':
            if (parse_uint(optarg, 1, TC_MANIFEST_CHUNKS_MAX, &v) < 0) {
                fprintf(stderr, "forge: --chunks '%s' must be 1..%u\n", optarg,
                        (unsigned)TC_MANIFEST_CHUNKS_MAX);
                return 2;
            }
            o->chunks = v;
            break;
        case 'd':
            if (parse_uint(optarg, 1, 86400, &o->duration_s) < 0) {
                fprintf(stderr, "forge: --duration '%s' must be 1..86400 s\n", optarg);
                return 2;
            }
            break;
        case 'S':
            if (parse_addr(optarg, &o->spoof) < 0) {
                fprintf(stderr, "forge: --spoof '%s' is not A.B.C.D\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !o->iface) {
        fprintf(stderr, "forge: %s\n", o->iface ? "unexpected argument" : "--iface is required");
        usage(stderr);
        return 2;
    }
    return 0;
}

/** learn - take the session id, epoch and object layout from a real datagram. */
static void learn(struct forge *f, const struct tc_udp_rx *rx)
{
    struct tc_wire_msg msg;

    if (rx->to_addr != f->o.group)
        return;
    if (tc_wire_decode(rx->buf, rx->len, &msg) < 0)
        return;
    if (msg.hdr.type == TC_WIRE_EPOCH) {
        f->session_id = msg.hdr.session_id;
        f->epoch = msg.hdr.epoch;
        return;
    }
    if (msg.hdr.type != TC_WIRE_DATA || (msg.hdr.flags & TC_WIRE_DATA_F_UNICAST))
        return;
    if (f->session_id != msg.hdr.session_id || f->epoch < msg.hdr.epoch) {
        if (f->session_id != msg.hdr.session_id)
            printf("forge: session %016llx epoch %u seen on the group\n",
                   (unsigned long long)msg.hdr.session_id, (unsigned)msg.hdr.epoch);
        f->session_id = msg.hdr.session_id;
        f->epoch = msg.hdr.epoch;
        fflush(stdout);
    }
    f->data_seen++;
    if (msg.u.data.len > f->block_len)
        f->block_len = msg.u.data.len;
    if (msg.u.data.object != TC_WIRE_OBJ_CHUNK)
        return;
    if (msg.u.data.index >= f->chunks)
        f->chunks = msg.u.data.index + 1;
    if (msg.u.data.offset + (uint32_t)msg.u.data.len > f->chunk_span)
        f->chunk_span = msg.u.data.offset + msg.u.data.len;
}

/** next_kind - the next kind of the weighted rotation that can be sent now. */
static int next_kind(struct forge *f)
{
    unsigned total = 0, k, pos;

    for (k = 0; k < FORGE_KINDS; k++)
        total += kind_weight[k];
    for (unsigned tries = 0; tries < total; tries++) {
        pos = f->rot++ % total;
        for (k = 0; pos >= kind_weight[k]; k++)
            pos -= kind_weight[k];
        if ((k == FORGE_DATA_GROUP || k == FORGE_DATA_UNICAST) && f->session_id == 0)
            continue;
        if (k >= FORGE_WELCOME && k <= FORGE_RELEASE && f->o.nagents == 0)
            continue;
        if (k == FORGE_DATA_UNICAST && f->o.nagents == 0)
            continue;
        if (k >= FORGE_JOIN && f->o.seeder.addr == 0)
            continue;
        return (int)k;
    }
    return -1;
}

/** fill_data - a forged block of the next chunk and offset in the rotation. */
static void fill_data(struct forge *f, struct tc_wire_msg *m, uint8_t *payload)
{
    uint32_t span = f->chunk_span ? f->chunk_span : f->block_len;
    uint32_t blocks = (span + f->block_len - 1) / f->block_len;
    uint64_t n = f->next_block++;

    m->hdr.type = TC_WIRE_DATA;
    m->u.data.object = TC_WIRE_OBJ_CHUNK;
    /* Every 16th block goes to the other objects (manifest, hash lists). */
    if (n % 16 == 15) {
        m->u.data.object = (uint8_t)(TC_WIRE_OBJ_MANIFEST + (n / 16) % 5);
        if (m->u.data.object != TC_WIRE_OBJ_CHUNK_HASHES && m->u.data.object != TC_WIRE_OBJ_CHUNK)
            m->u.data.index = 0;
        else
            m->u.data.index = (uint32_t)(f->next_chunk % f->chunks);
        m->u.data.offset = 0;
    } else {
        m->u.data.index = (uint32_t)(f->next_chunk % f->chunks);
        m->u.data.offset = (uint32_t)((n % blocks) * f->block_len);
        if (n % blocks == blocks - 1)
            f->next_chunk++;
    }
    m->u.data.len = (uint16_t)f->block_len;
    rnd_fill(payload, f->block_len);
    m->u.data.payload = payload;
}

/** fill - message of kind k and its destination; 0, or -1 if none. */
static int fill(struct forge *f, int k, struct tc_wire_msg *m, uint8_t *payload,
                struct tc_proto_peer *to)
{
    uint32_t agent = f->o.nagents ? f->o.agents[f->next_agent++ % f->o.nagents] : 0;
    /* A parent or child address nobody has (the forged messages name it). */
    struct tc_proto_peer self = {.addr = agent ^ 0x7f, .port = f->o.port};

    memset(m, 0, sizeof(*m));
    m->hdr.session_id = f->session_id ? f->session_id : rnd64();
    m->hdr.epoch = f->epoch ? f->epoch : 1;
    m->hdr.token = rnd64();
    to->addr = agent;
    to->port = f->o.port;
    switch (k) {
    case FORGE_DATA_GROUP:
        fill_data(f, m, payload);
        m->hdr.token = 0;
        to->addr = f->o.group;
        break;
    case FORGE_DATA_UNICAST:
        fill_data(f, m, payload);
        m->hdr.flags = TC_WIRE_DATA_F_UNICAST;
        break;
    case FORGE_WELCOME:
        m->hdr.type = TC_WIRE_WELCOME;
        m->u.welcome.nonce = rnd64();
        /* parent_index is 1: the node index must differ from it. */
        m->u.welcome.node_index = 2 + (uint32_t)(rnd64() % 1000);
        m->u.welcome.group_addr = f->o.group;
        m->u.welcome.group_port = f->o.port;
        m->u.welcome.mtu = 1500;
        m->u.welcome.parent_addr = self.addr;
        m->u.welcome.parent_port = self.port;
        m->u.welcome.seg_size = TC_WIRE_DATA_PAYLOAD_1500;
        m->u.welcome.parent_index = 1;
        m->u.welcome.rate_bps = 1000000;
        m->u.welcome.manifest_len = 4096;
        m->u.welcome.sigblock_len = 512;
        m->u.welcome.heartbeat_ms = 1000;
        m->u.welcome.report_ms = 1000;
        m->u.welcome.depth = 2;
        rnd_fill(m->u.welcome.manifest_digest, TC_SHA256_LEN);
        rnd_fill(m->u.welcome.manifest_hashes_digest, TC_SHA256_LEN);
        rnd_fill(m->u.welcome.sigblock_digest, TC_SHA256_LEN);
        m->hdr.token = rnd64();
        break;
    case FORGE_REJECT:
        m->hdr.type = TC_WIRE_REJECT;
        m->hdr.token = 0;
        m->u.reject.nonce = rnd64();
        m->u.reject.reason = TC_WIRE_REJECT_ENDED;
        m->u.reject.retry_after_ms = 0;
        break;
    case FORGE_CHILDREN:
        m->hdr.type = TC_WIRE_CHILDREN;
        m->u.children.generation = (uint32_t)rnd64();
        m->u.children.count = 1;
        m->u.children.children[0].node_index = 999;
        m->u.children.children[0].addr = self.addr;
        m->u.children.children[0].port = self.port;
        m->u.children.children[0].token = rnd64();
        break;
    case FORGE_REPARENT:
        m->hdr.type = TC_WIRE_REPARENT;
        m->u.reparent.generation = (uint32_t)rnd64();
        m->u.reparent.parent_index = 999;
        m->u.reparent.parent_addr = self.addr;
        m->u.reparent.parent_port = self.port;
        m->u.reparent.depth = 3;
        break;
    case FORGE_EPOCH:
        m->hdr.type = TC_WIRE_EPOCH;
        m->hdr.token = 0;
        m->hdr.epoch = m->hdr.epoch + 1;
        m->u.epoch.prev_epoch = m->hdr.epoch - 1;
        m->u.epoch.rejoin_spread_ms = 1000;
        break;
    case FORGE_DONE_ACK:
        m->hdr.type = TC_WIRE_DONE_ACK;
        rnd_fill(m->u.done_ack.image_digest, TC_SHA256_LEN);
        break;
    case FORGE_RELEASE:
        m->hdr.type = TC_WIRE_RELEASE;
        m->u.release.reason = TC_WIRE_RELEASE_COMPLETE;
        break;
    case FORGE_JOIN:
        m->hdr.type = TC_WIRE_JOIN;
        m->hdr.session_id = 0;
        m->hdr.epoch = 0;
        m->hdr.token = 0;
        rnd_fill(m->u.join.node_id, sizeof(m->u.join.node_id));
        m->u.join.node_id[0] = (uint8_t)((m->u.join.node_id[0] & 0xfe) | 0x02);
        m->u.join.mtu = 1500;
        m->u.join.nonce = rnd64();
        m->u.join.disk_size = 1ull << 40;
        m->u.join.name_len = (uint8_t)strlen(FORGE_JOIN_NAME);
        memcpy(m->u.join.name, FORGE_JOIN_NAME, m->u.join.name_len);
        *to = f->o.seeder;
        break;
    case FORGE_REPORT:
        m->hdr.type = TC_WIRE_REPORT;
        m->u.report.seq = (uint32_t)rnd64();
        m->u.report.subtree_nodes = 1;
        m->u.report.nentries = 1;
        m->u.report.entries[0].object = TC_WIRE_OBJ_CHUNK;
        m->u.report.entries[0].index = (uint32_t)(f->next_chunk % f->chunks);
        m->u.report.entries[0].max_missing = 40;
        m->u.report.entries[0].hist[2] = 1;
        *to = f->o.seeder;
        break;
    case FORGE_DONE:
        m->hdr.type = TC_WIRE_DONE;
        rnd_fill(m->u.done.image_digest, TC_SHA256_LEN);
        m->u.done.chunk_count = f->chunks;
        *to = f->o.seeder;
        break;
    default:
        return -1;
    }
    return 0;
}

/** send_tick - build and send n forged datagrams. */
static void send_tick(struct forge *f, unsigned n)
{
    struct tc_proto_dgram d[FORGE_BATCH_MAX];
    int kinds[FORGE_BATCH_MAX];
    uint8_t payload[TC_WIRE_DATA_PAYLOAD_MAX];
    struct tc_wire_msg m;
    unsigned nd = 0;
    int k, len, sent;

    if (n > FORGE_BATCH_MAX)
        n = FORGE_BATCH_MAX;
    for (unsigned i = 0; i < n; i++) {
        k = next_kind(f);
        if (k < 0 || fill(f, k, &m, payload, &d[nd].to) < 0)
            break;
        len = tc_wire_encode(&m, f->bufs[nd], sizeof(f->bufs[nd]));
        if (len < 0) {
            if (f->encode_errors++ == 0)
                fprintf(stderr, "forge: encoding a forged %s failed (%d)\n", kind_name[k], len);
            continue;
        }
        d[nd].buf = f->bufs[nd];
        d[nd].len = (size_t)len;
        kinds[nd] = k;
        nd++;
    }
    /* --spoof: what goes to the group leaves from the forged source */
    if (f->spoof_fd >= 0) {
        unsigned keep = 0;

        for (unsigned i = 0; i < nd; i++) {
            if (d[i].to.addr == f->o.group) {
                struct sockaddr_in sa = {.sin_family = AF_INET,
                                         .sin_port = htons(d[i].to.port),
                                         .sin_addr.s_addr = htonl(d[i].to.addr)};

                if (sendto(f->spoof_fd, d[i].buf, d[i].len, MSG_DONTWAIT, (struct sockaddr *)&sa,
                           sizeof(sa)) == (ssize_t)d[i].len)
                    f->sent[kinds[i]]++;
                else
                    f->not_sent++;
                continue;
            }
            d[keep] = d[i];
            kinds[keep++] = kinds[i];
        }
        nd = keep;
    }
    sent = tc_udp_send(f->udp, d, nd);
    if (sent < 0)
        sent = 0;
    for (int i = 0; i < sent; i++)
        f->sent[kinds[i]]++;
    f->not_sent += nd - (unsigned)sent;
}

/**
 * open_spoof - a UDP socket bound to a foreign address (IP_TRANSPARENT, root
 * in the rogue's namespace), so that the forged multicast carries the
 * seeder's source address, as an attacker on the LAN can do. -1 on failure
 * (message printed).
 */
static int open_spoof(const struct forge_opts *o)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(o->port), .sin_addr.s_addr = htonl(o->spoof)};
    struct ip_mreqn mr = {.imr_ifindex = (int)if_nametoindex(o->iface)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "forge: --spoof: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/** report - what was sent, on stdout. */
static void report(const struct forge *f)
{
    uint64_t total = 0;

    for (unsigned k = 0; k < FORGE_KINDS; k++)
        total += f->sent[k];
    printf("forge: sent %llu datagrams (%llu refused by the kernel, %llu not encoded)\n",
           (unsigned long long)total, (unsigned long long)f->not_sent,
           (unsigned long long)f->encode_errors);
    printf("forge: session %016llx epoch %u, %llu real DATA headers seen, %u chunks, "
           "blocks of %u bytes\n",
           (unsigned long long)f->session_id, (unsigned)f->epoch, (unsigned long long)f->data_seen,
           (unsigned)f->chunks, (unsigned)f->block_len);
    for (unsigned k = 0; k < FORGE_KINDS; k++)
        printf("forge: %s %llu\n", kind_name[k], (unsigned long long)f->sent[k]);
    fflush(stdout);
}

/** run - receive, learn and send until told to stop. */
static int run(struct forge *f)
{
    struct tc_udp_rx rx[TC_UDP_RX_BATCH_MAX];
    struct pollfd pfd = {.fd = tc_udp_fd(f->udp), .events = POLLIN};
    uint64_t start = now_ms(), last = start, now;
    uint64_t budget_milli = 0; /* datagrams owed, thousandths */
    int n;

    while (!stop) {
        now = now_ms();
        if (f->o.duration_s && now - start >= (uint64_t)f->o.duration_s * 1000u)
            break;
        budget_milli += (now - last) * f->o.rate;
        last = now;
        while (budget_milli >= 1000) {
            unsigned want = (unsigned)(budget_milli / 1000);

            if (want > FORGE_BATCH_MAX)
                want = FORGE_BATCH_MAX;
            send_tick(f, want);
            budget_milli -= (uint64_t)want * 1000;
            /* Never owe more than a second: a stopped forger does not burst. */
            if (budget_milli > (uint64_t)f->o.rate * 1000)
                budget_milli = (uint64_t)f->o.rate * 1000;
        }
        if (poll(&pfd, 1, FORGE_TICK_MS) < 0 && errno != EINTR) {
            perror("forge: poll");
            return 1;
        }
        for (;;) {
            n = tc_udp_recv(f->udp, rx, TC_UDP_RX_BATCH_MAX);
            if (n <= 0)
                break;
            for (int i = 0; i < n; i++)
                learn(f, &rx[i]);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct forge f; /* large (the send buffers): not on the stack */
    struct tc_udp_opts uo = {0};
    struct tc_err err = {0};
    struct sigaction sa = {0};
    int rc;

    rc = parse_opts(argc, argv, &f.o);
    if (rc)
        return rc;
    f.chunks = f.o.chunks ? f.o.chunks : FORGE_CHUNKS_DEFAULT;
    f.block_len = FORGE_BLOCK_LEN_DEFAULT;
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    uo.iface = f.o.iface;
    uo.port = f.o.port;
    /* with --spoof the forged source owns ADDR:port: our socket takes the
     * group's address instead (it still sees the group, and sends unicast
     * from our own address) */
    if (f.o.spoof)
        uo.bind_addr = f.o.group;
    rc = tc_udp_open(&f.udp, &uo, &err);
    if (rc < 0) {
        fprintf(stderr, "forge: %s\n", err.msg);
        return 3;
    }
    f.spoof_fd = -1;
    if (f.o.spoof) {
        f.spoof_fd = open_spoof(&f.o);
        if (f.spoof_fd < 0) {
            tc_udp_close(f.udp);
            return 3;
        }
    }
    rc = tc_udp_group(f.udp, 1, f.o.group, &err);
    if (rc < 0) {
        fprintf(stderr, "forge: %s\n", err.msg);
        tc_udp_close(f.udp);
        return 3;
    }
    printf("forge: on %s, port %u, %u agents, %u datagrams/s\n", f.o.iface, (unsigned)f.o.port,
           f.o.nagents, f.o.rate);
    fflush(stdout);
    rc = run(&f);
    report(&f);
    if (f.spoof_fd >= 0)
        close(f.spoof_fd);
    tc_udp_close(f.udp);
    return rc;
}
