// SPDX-License-Identifier: MIT
/*
 * `treecast serve`: the seeder core (lib/seeder.c) on a kernel UDP socket
 * (os/udp.c), serving a .tcimg mapped read-only. One process, one thread: a
 * ppoll() loop over the socket, the HTTP endpoint's epoll descriptor and the
 * core's next deadline (ns). SIGINT and SIGTERM are blocked except inside
 * ppoll(), so a signal ends the wait and the loop stops cleanly between two
 * core calls. The session state is persisted atomically to --state; a
 * restarted seeder resumes it. Documented in docs/serve.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"
#include "treecast/progress.h"
#include "treecast/rng.h"
#include "treecast/seedstate.h"
#include "treecast/wire.h"

/** Default tree fan-out, children per parent. */
#define SERVE_FANOUT_DEFAULT 16u
/** Default node table size, nodes. */
#define SERVE_NODES_MAX_DEFAULT 1024u
/** Default wait for --min-nodes after the first node is proven, seconds. */
#define SERVE_WAIT_S_DEFAULT 5u
/** Longest --wait, seconds. */
#define SERVE_WAIT_S_MAX 86400u
/** Share of the link speed used when no rate is given, per mille. */
#define SERVE_LINK_SHARE_PERMILLE 950u
/** Batches of datagrams drained per wakeup before timers get their turn, batches. */
#define SERVE_RX_BATCHES_MAX 16u
/** Progress redraw, rate sampling and the --once check, ns apart. */
#define SERVE_TICK_NS (200ull * 1000 * 1000)
/** --once: after the last release, the seeder stays this long to answer
 * retransmitted DONEs and heartbeats (a lost DONE_ACK or RELEASE would
 * otherwise leave a node waiting for a seeder that is gone), ns. */
#define SERVE_ONCE_LINGER_NS (3ull * 1000 * 1000 * 1000)
/** A plain status line (not on a TTY) at most this often, ns. */
#define SERVE_STATUS_NS (10ull * 1000 * 1000 * 1000)
/** A failed state write is reported to the core after this delay, so that a
 * full disk is not retried in a tight loop, ns. */
#define SERVE_PERSIST_RETRY_NS (1000ull * 1000 * 1000)
/** Largest state file read, bytes. */
#define SERVE_STATE_FILE_MAX TC_SEEDSTATE_LEN(TC_SEEDSTATE_NODES_MAX)
/** Suffix of the default state file. */
#define SERVE_STATE_SUFFIX ".state"

static const char serve_help[] =
    "Usage: treecast serve IMAGE.tcimg --iface IF --trust DIR [OPTIONS]\n"
    "\n"
    "Serve IMAGE.tcimg to treecast-agent nodes: paced UDP multicast to a group on\n"
    "interface IF, repairs through a tree of the nodes, per-node state. The image's\n"
    "signatures and policy are checked first, as by `treecast verify` (agents with\n"
    "the same trust store would refuse an image that fails them).\n"
    "\n"
    "Options:\n"
    "  --iface IF             interface to serve on (required)\n"
    "  --addr A.B.C.D         control address to bind (default: IF's IPv4 address)\n"
    "  --group A.B.C.D        multicast group, 224.0.0.0/4 (default 239.77.0.1)\n"
    "  --port P               UDP port of control, group and agents (default 4711)\n"
    "  --rate RATE|auto       multicast pace, bit/s of wire bytes, suffix k, M, G\n"
    "                         (powers of 1000); auto adapts to the nodes' loss up to\n"
    "                         --rate-max. Default: 95% of IF's speed when it is known\n"
    "  --rate-max RATE        highest rate of --rate auto (default: 95% of IF's speed)\n"
    "  --mtu M                session MTU, 1280..9000 (default: IF's MTU, at most 9000)\n"
    "  --fanout F             repair tree fan-out, 1..32 (default 16)\n"
    "  --nodes-max N          most nodes in the session (default 1024)\n"
    "  --min-nodes N          start when N nodes have joined (default 1) ...\n"
    "  --wait SECONDS         ... or this long after the first joined (default 5)\n"
    "  --tree-only            no multicast: every parent streams to its children\n"
    "  --http ADDR:PORT       status endpoint: /api/v1/session, /api/v1/nodes, /metrics\n"
    "  --state FILE           session state (default: IMAGE.tcimg.state); resumed\n"
    "                         when it names this image\n"
    "  --once                 exit 0 when every node is released (at least --min-nodes),\n"
    "                         after 3 s answering retransmissions\n"
    "  --stats FILE           at exit, write the session and node JSON to FILE\n"
    "  --log-level LEVEL      err, warn, info (default) or debug\n" TC_CLI_POLICY_HELP
    "  --help                 this text\n"
    "\n"
    "Exit codes: 0 done (or stopped by SIGINT/SIGTERM, state kept), 2 usage, 3 network\n"
    "(no such interface, port in use, no multicast route), 4 trust, 6 image.\n";

/** Long-option codes (above the policy options). */
enum serve_opt {
    SERVE_IFACE = 0x200,
    SERVE_ADDR,
    SERVE_GROUP,
    SERVE_PORT,
    SERVE_RATE,
    SERVE_RATE_MAX,
    SERVE_MTU,
    SERVE_FANOUT,
    SERVE_NODES_MAX,
    SERVE_MIN_NODES,
    SERVE_WAIT,
    SERVE_TREE_ONLY,
    SERVE_HTTP,
    SERVE_STATE,
    SERVE_ONCE,
    SERVE_STATS,
    SERVE_LOG_LEVEL,
};

/** The command line. */
struct serve_opts {
    const char *image;            /**< IMAGE.tcimg */
    const char *iface;            /**< --iface */
    uint32_t addr;                /**< --addr, 0 = the interface's */
    uint32_t group;               /**< --group */
    uint16_t port;                /**< --port */
    uint64_t rate_bps;            /**< --rate, 0 = not given */
    int rate_auto;                /**< --rate auto */
    uint64_t rate_max_bps;        /**< --rate-max, 0 = not given */
    uint32_t mtu;                 /**< --mtu, 0 = the interface's */
    uint32_t fanout;              /**< --fanout */
    uint32_t nodes_max;           /**< --nodes-max */
    uint32_t min_nodes;           /**< --min-nodes */
    uint32_t wait_s;              /**< --wait */
    int tree_only;                /**< --tree-only */
    int http;                     /**< --http given */
    struct tc_proto_peer http_at; /**< its address */
    const char *state;            /**< --state, NULL = default */
    int once;                     /**< --once */
    const char *stats;            /**< --stats */
    int log_level;                /**< enum tc_proto_log threshold */
    struct tc_cli_policy pol;     /**< --trust and the rest */
};

/** The environment of the seeder core (its ops' context). */
struct serve_run {
    struct tc_serve sv;               /**< what the status renderers read */
    const struct serve_opts *o;       /**< options */
    char state_path[TC_CLI_PATH_MAX]; /**< --state or the default */
    struct tc_progress prog;          /**< TTY progress line */
    int persist_pending;              /**< a state write awaits tc_seeder_on_persisted() */
    uint64_t persist_cookie;          /**< its cookie */
    int persist_rc;                   /**< its result */
    uint64_t persist_due_ns;          /**< when to report it */
    int persist_warned;               /**< a failed write was logged (until one succeeds) */
    uint64_t status_ns;               /**< next plain status line */
    uint64_t finished_ns;             /**< --once: when the session finished (0: not yet) */
};

/** The signal that stopped the loop, 0 while running. */
static volatile sig_atomic_t serve_stop_signal;

/**
 * SIGINT / SIGTERM: note it; the loop stops after ppoll() returns.
 */
static void serve_on_signal(int sig)
{
    serve_stop_signal = sig;
}

/**
 * A log line on stderr, "treecast serve: ...", below the progress line.
 */
static void serve_log(struct serve_run *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void serve_log(struct serve_run *r, int level, const char *fmt, ...)
{
    va_list ap;

    if (level > r->o->log_level)
        return;
    tc_progress_clear(&r->prog);
    fputs("treecast serve: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* Seeder ops                                                          */

/**
 * Op send: sendmmsg through the socket.
 */
static int op_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    struct serve_run *r = ctx;

    return tc_udp_send(r->sv.udp, d, n);
}

/**
 * Op chunk_bytes: a pointer into the mapped image.
 */
static const uint8_t *op_chunk_bytes(void *ctx, uint32_t index)
{
    struct serve_run *r = ctx;
    size_t len;

    return tc_imgfile_chunk(r->sv.img, index, &len);
}

/**
 * Op random: getrandom(2).
 */
static uint64_t op_random(void *ctx)
{
    uint64_t v = 0;

    (void)ctx;
    if (tc_rng_os_fill(NULL, (uint8_t *)&v, sizeof(v)) < 0)
        abort(); /* no entropy: tokens would be guessable */
    return v;
}

/**
 * Op log: the core's lines, with the level filter (NOTICE shows as info).
 */
static void op_log(void *ctx, int level, const char *msg)
{
    struct serve_run *r = ctx;

    serve_log(r, level == TC_PROTO_LOG_NOTICE ? TC_PROTO_LOG_INFO : level, "%s", msg);
}

/**
 * Op persist: write the state atomically now (tmp, fsync, rename, fsync of
 * the directory); the main loop reports completion after the core returns.
 */
static int op_persist(void *ctx, const uint8_t *state, size_t len, uint64_t cookie)
{
    struct serve_run *r = ctx;
    struct tc_err err;
    int rc;

    tc_err_clear(&err);
    rc = tc_cli_write_file(r->state_path, state, len, 0600, 1, &err);
    r->persist_pending = 1;
    r->persist_cookie = cookie;
    r->persist_rc = rc;
    r->persist_due_ns = tc_serve_now_ns() + (rc < 0 ? SERVE_PERSIST_RETRY_NS : 0);
    if (rc < 0 && !r->persist_warned) {
        serve_log(r, TC_PROTO_LOG_ERR,
                  "cannot write the session state: %s (nodes' DONE stay unacknowledged "
                  "until it can be written)",
                  err.msg);
        r->persist_warned = 1;
    } else if (rc == 0) {
        r->persist_warned = 0;
    }
    return 0;
}

static const struct tc_seeder_ops serve_ops = {
    .send = op_send,
    .send_blocks = NULL,
    .chunk_bytes = op_chunk_bytes,
    .random = op_random,
    .log = op_log,
    .persist = op_persist,
};

/* ------------------------------------------------------------------ */
/* Options                                                             */

/**
 * RATE: a positive number of bit/s with an optional k, M or G suffix
 * (powers of 1000), at most TC_WIRE_RATE_BPS_MAX. 0 or -EINVAL.
 */
static int parse_rate(const char *s, uint64_t *out)
{
    double v, mul = 1.0;
    char *end;

    if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s)
        return -EINVAL;
    if (*end == 'k' || *end == 'K')
        mul = 1e3;
    else if (*end == 'M')
        mul = 1e6;
    else if (*end == 'G')
        mul = 1e9;
    if (mul != 1.0)
        end++;
    if (*end != '\0' || !isfinite(v))
        return -EINVAL;
    v *= mul;
    if (v < 1.0 || v > (double)TC_WIRE_RATE_BPS_MAX)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

/**
 * "A.B.C.D" (no port) into host order; 0 or -EINVAL.
 */
static int parse_addr(const char *s, uint32_t *out)
{
    struct tc_proto_peer p = {0, 0};

    if (strchr(s, ':') || tc_udp_parse_peer(s, &p) < 0)
        return -EINVAL;
    *out = p.addr;
    return 0;
}

/**
 * The log levels by name.
 */
static int parse_level(const char *s, int *out)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
        {"err", TC_PROTO_LOG_ERR},
        {"warn", TC_PROTO_LOG_WARN},
        {"info", TC_PROTO_LOG_INFO},
        {"debug", TC_PROTO_LOG_DEBUG},
    };
    size_t i;

    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

/**
 * Parse argv into o; 0 to go on, or an exit code (help printed: -1 for 0).
 */
static int serve_parse(int argc, char **argv, struct serve_opts *o)
{
    static const struct option longopts[] = {
        TC_CLI_POLICY_LONGOPTS,
        {"iface", required_argument, NULL, SERVE_IFACE},
        {"addr", required_argument, NULL, SERVE_ADDR},
        {"group", required_argument, NULL, SERVE_GROUP},
        {"port", required_argument, NULL, SERVE_PORT},
        {"rate", required_argument, NULL, SERVE_RATE},
        {"rate-max", required_argument, NULL, SERVE_RATE_MAX},
        {"mtu", required_argument, NULL, SERVE_MTU},
        {"fanout", required_argument, NULL, SERVE_FANOUT},
        {"nodes-max", required_argument, NULL, SERVE_NODES_MAX},
        {"min-nodes", required_argument, NULL, SERVE_MIN_NODES},
        {"wait", required_argument, NULL, SERVE_WAIT},
        {"tree-only", no_argument, NULL, SERVE_TREE_ONLY},
        {"http", required_argument, NULL, SERVE_HTTP},
        {"state", required_argument, NULL, SERVE_STATE},
        {"once", no_argument, NULL, SERVE_ONCE},
        {"stats", required_argument, NULL, SERVE_STATS},
        {"log-level", required_argument, NULL, SERVE_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "serve";
    uint64_t u;
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->group = TC_PROTO_GROUP_DEFAULT;
    o->port = TC_PROTO_PORT_DEFAULT;
    o->fanout = SERVE_FANOUT_DEFAULT;
    o->nodes_max = SERVE_NODES_MAX_DEFAULT;
    o->min_nodes = 1;
    o->wait_s = SERVE_WAIT_S_DEFAULT;
    o->log_level = TC_PROTO_LOG_INFO;
    tc_cli_policy_init(&o->pol);
    opterr = 0;
    optind = 1;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        rc = tc_cli_policy_option(&o->pol, cmd, c, optarg);
        if (rc < 0)
            return -rc;
        if (rc > 0)
            continue;
        switch (c) {
        case SERVE_IFACE:
            o->iface = optarg;
            break;
        case SERVE_ADDR:
            if (parse_addr(optarg, &o->addr) < 0)
                return tc_cli_usage(cmd, "--addr '%s': expected an IPv4 address A.B.C.D", optarg);
            break;
        case SERVE_GROUP:
            if (parse_addr(optarg, &o->group) < 0)
                return tc_cli_usage(cmd, "--group '%s': expected an IPv4 address A.B.C.D", optarg);
            if (o->group >> 28 != 0xEu)
                return tc_cli_usage(cmd,
                                    "--group %s is not a multicast address (224.0.0.0/4; use "
                                    "239.0.0.0/8 on a site network)",
                                    optarg);
            break;
        case SERVE_PORT:
            if (tc_opts_uint(optarg, 1, 65535, &u) < 0)
                return tc_cli_usage(cmd, "--port '%s': expected 1..65535", optarg);
            o->port = (uint16_t)u;
            break;
        case SERVE_RATE:
            if (strcmp(optarg, "auto") == 0) {
                o->rate_auto = 1;
                o->rate_bps = 0;
            } else if (parse_rate(optarg, &o->rate_bps) < 0) {
                return tc_cli_usage(cmd,
                                    "--rate '%s': expected auto or bit/s such as 800M, 1G, "
                                    "500000k (1 .. 400G)",
                                    optarg);
            } else {
                o->rate_auto = 0;
            }
            break;
        case SERVE_RATE_MAX:
            if (parse_rate(optarg, &o->rate_max_bps) < 0)
                return tc_cli_usage(cmd, "--rate-max '%s': expected bit/s such as 800M, 1G",
                                    optarg);
            break;
        case SERVE_MTU:
            if (tc_opts_uint(optarg, TC_WIRE_MTU_MIN, TC_WIRE_MTU_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--mtu '%s': expected %u..%u", optarg, TC_WIRE_MTU_MIN,
                                    TC_WIRE_MTU_MAX);
            o->mtu = (uint32_t)u;
            break;
        case SERVE_FANOUT:
            if (tc_opts_uint(optarg, 1, TC_WIRE_CHILDREN_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--fanout '%s': expected 1..%u", optarg,
                                    TC_WIRE_CHILDREN_MAX);
            o->fanout = (uint32_t)u;
            break;
        case SERVE_NODES_MAX:
            if (tc_opts_uint(optarg, 1, TC_SEEDER_NODES_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--nodes-max '%s': expected 1..%u", optarg,
                                    TC_SEEDER_NODES_MAX);
            o->nodes_max = (uint32_t)u;
            break;
        case SERVE_MIN_NODES:
            if (tc_opts_uint(optarg, 1, TC_SEEDER_NODES_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--min-nodes '%s': expected 1..%u", optarg,
                                    TC_SEEDER_NODES_MAX);
            o->min_nodes = (uint32_t)u;
            break;
        case SERVE_WAIT:
            if (tc_opts_uint(optarg, 0, SERVE_WAIT_S_MAX, &u) < 0)
                return tc_cli_usage(cmd, "--wait '%s': expected 0..%u seconds", optarg,
                                    SERVE_WAIT_S_MAX);
            o->wait_s = (uint32_t)u;
            break;
        case SERVE_TREE_ONLY:
            o->tree_only = 1;
            break;
        case SERVE_HTTP:
            if (!strchr(optarg, ':') || tc_udp_parse_peer(optarg, &o->http_at) < 0 ||
                o->http_at.port == 0)
                return tc_cli_usage(cmd, "--http '%s': expected ADDR:PORT such as 0.0.0.0:8080",
                                    optarg);
            o->http = 1;
            break;
        case SERVE_STATE:
            o->state = optarg;
            break;
        case SERVE_ONCE:
            o->once = 1;
            break;
        case SERVE_STATS:
            o->stats = optarg;
            break;
        case SERVE_LOG_LEVEL:
            if (parse_level(optarg, &o->log_level) < 0)
                return tc_cli_usage(cmd, "--log-level '%s': expected err, warn, info or debug",
                                    optarg);
            break;
        case 'h':
            fputs(serve_help, stdout);
            return -1;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (argc - optind != 1)
        return tc_cli_usage(cmd, "expected one IMAGE.tcimg, got %d arguments", argc - optind);
    o->image = argv[optind];
    if (!o->iface)
        return tc_cli_usage(cmd, "--iface IF is required (the interface the nodes are on)");
    if (o->min_nodes > o->nodes_max)
        return tc_cli_usage(cmd, "--min-nodes %u is more than --nodes-max %u", o->min_nodes,
                            o->nodes_max);
    if (o->rate_max_bps && !o->rate_auto)
        return tc_cli_usage(cmd, "--rate-max goes with --rate auto");
    return tc_cli_policy_ready(&o->pol, cmd);
}

/**
 * The interface's speed from sysfs, bit/s; 0 when unknown (loopback,
 * virtual links without a speed, a link that is down).
 */
static uint64_t iface_speed_bps(const char *iface)
{
    char path[128];
    long long mbps = -1;
    FILE *f;

    if ((size_t)snprintf(path, sizeof(path), "/sys/class/net/%s/speed", iface) >= sizeof(path))
        return 0;
    f = fopen(path, "re");
    if (!f)
        return 0;
    if (fscanf(f, "%lld", &mbps) != 1)
        mbps = -1;
    fclose(f);
    return mbps > 0 ? (uint64_t)mbps * 1000000ull : 0;
}

/**
 * Decide the rate from the options and the link speed: 0, or a usage exit.
 */
static int serve_rate(struct serve_opts *o, const struct tc_udp_iface *ifc)
{
    uint64_t link = iface_speed_bps(ifc->name), share = link / 1000 * SERVE_LINK_SHARE_PERMILLE;

    if (o->rate_auto) {
        if (!o->rate_max_bps && !share)
            return tc_cli_usage("serve",
                                "--rate auto needs --rate-max: the speed of %s is unknown "
                                "(say how fast the link is, e.g. --rate-max 1G)",
                                ifc->name);
        if (!o->rate_max_bps)
            o->rate_max_bps = share;
        return 0;
    }
    if (o->rate_bps)
        return 0;
    if (!share)
        return tc_cli_usage("serve",
                            "--rate is required: the speed of %s is unknown (say how fast the "
                            "link is, e.g. --rate 1G, or --rate auto --rate-max 1G)",
                            ifc->name);
    o->rate_bps = share;
    return 0;
}

/* ------------------------------------------------------------------ */
/* State file                                                          */

/**
 * Read the state file if there is one that belongs to this image. *buf is
 * NULL for a new session. 0, or an exit code after a message.
 */
static int serve_load_state(struct serve_run *r, uint8_t **buf, size_t *len)
{
    const struct tc_manifest *m = r->sv.img->manifest;
    struct tc_seedstate st;
    struct tc_seedstate_node *nodes;
    struct tc_err err;
    int rc;

    *buf = NULL;
    *len = 0;
    if (access(r->state_path, F_OK) != 0)
        return 0;
    tc_err_clear(&err);
    rc = tc_cli_read_file(r->state_path, SERVE_STATE_FILE_MAX, buf, len, &err);
    if (rc < 0)
        return tc_cli_fail("serve", rc, TC_PHASE_OTHER, &err);
    nodes = calloc(TC_SEEDSTATE_NODES_MAX, sizeof(*nodes));
    if (!nodes) {
        rc = -ENOMEM;
        goto err_free;
    }
    rc = tc_seedstate_decode(*buf, *len, &st, nodes, TC_SEEDSTATE_NODES_MAX, &err);
    free(nodes);
    if (rc < 0) {
        tc_cli_error("serve",
                     "state file %s is not a session state (%s); remove it to start a new "
                     "session, or give another --state",
                     r->state_path, err.msg);
        rc = TC_EXIT_USAGE;
        goto err_free_quiet;
    }
    if (memcmp(st.image_digest, m->image_digest, TC_SHA256_LEN) != 0) {
        char hex[2 * TC_SHA256_LEN + 1];

        serve_log(r, TC_PROTO_LOG_WARN,
                  "state file %s is for another image (digest %s): starting a new session "
                  "(it will be replaced)",
                  r->state_path, tc_hex(hex, st.image_digest, TC_SHA256_LEN));
        free(*buf);
        *buf = NULL;
        *len = 0;
        return 0;
    }
    serve_log(r, TC_PROTO_LOG_INFO,
              "resuming session %016" PRIx64 " from %s (epoch %" PRIu32 ", %" PRIu32 " nodes)",
              st.session_id, r->state_path, st.epoch, st.nnodes);
    return 0;

err_free:
    tc_cli_error("serve", "cannot read state file %s: %s", r->state_path, strerror(-rc));
    rc = tc_cli_exit_code(rc, TC_PHASE_OTHER);
err_free_quiet:
    free(*buf);
    *buf = NULL;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Main loop                                                           */

/**
 * Report a finished state write to the core (now, or after the retry delay
 * for a failed one). Returns the core's rc.
 */
static int serve_persisted(struct serve_run *r, uint64_t now)
{
    int rc = 0;

    /* on_persisted may start the next write at once: report that one too */
    while (rc == 0 && r->persist_pending && now >= r->persist_due_ns) {
        r->persist_pending = 0;
        rc = tc_seeder_on_persisted(r->sv.seeder, now, r->persist_cookie, r->persist_rc);
    }
    return rc;
}

/**
 * Drain the socket: up to SERVE_RX_BATCHES_MAX batches into the core.
 * Returns 0 or a negative errno (a broken socket, a fatal core error).
 */
static int serve_drain(struct serve_run *r)
{
    struct tc_udp_rx rx[TC_UDP_RX_BATCH_MAX];
    unsigned b;
    int n, i, rc;

    for (b = 0; b < SERVE_RX_BATCHES_MAX; b++) {
        uint64_t now;

        n = tc_udp_recv(r->sv.udp, rx, TC_UDP_RX_BATCH_MAX);
        if (n <= 0)
            return n;
        now = tc_serve_now_ns();
        for (i = 0; i < n; i++) {
            rc = tc_seeder_on_packet(r->sv.seeder, now, rx[i].from, rx[i].buf, rx[i].len);
            if (rc == 0)
                rc = serve_persisted(r, now);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/**
 * Nodes released so far.
 */
static uint32_t serve_released(const struct serve_run *r)
{
    struct tc_seeder_node_info ni;
    uint32_t i, n = 0;

    for (i = 0; i < r->sv.nodes_max && tc_seeder_node(r->sv.seeder, i, &ni) == 0; i++)
        if (ni.state == TC_SEEDER_NODE_RELEASED)
            n++;
    return n;
}

/**
 * Progress line (TTY) or a periodic status line (otherwise).
 */
static void serve_progress(struct serve_run *r, uint64_t now)
{
    const struct tc_manifest *m = r->sv.img->manifest;
    const struct tc_seeder_stats *st = tc_seeder_stats(r->sv.seeder);
    struct tc_seeder_node_info ni;
    uint64_t chunks = 0;
    uint32_t i, nodes = 0;

    for (i = 0; i < r->sv.nodes_max && tc_seeder_node(r->sv.seeder, i, &ni) == 0; i++) {
        if (ni.state == TC_SEEDER_NODE_FREE)
            continue;
        nodes++;
        chunks += ni.state == TC_SEEDER_NODE_DONE || ni.state == TC_SEEDER_NODE_RELEASED
                      ? m->chunk_count
                      : ni.chunks_done;
    }
    if (r->prog.enabled) {
        snprintf(r->prog.label, sizeof(r->prog.label), "serve %" PRIu32 "/%" PRIu32 " nodes",
                 st->nodes_done, nodes);
        r->prog.total = (uint64_t)nodes * m->chunk_count * m->chunk_size;
        tc_progress_update(&r->prog, chunks * m->chunk_size);
        return;
    }
    if (now < r->status_ns)
        return;
    r->status_ns = now + SERVE_STATUS_NS;
    if (nodes == 0)
        return;
    serve_log(r, TC_PROTO_LOG_INFO,
              "%" PRIu32 " of %" PRIu32 " nodes done, %.1f%% of all chunks; rate %.1f Mbit/s, "
              "%" PRIu64 " MB multicast, %" PRIu64 " MB repaired",
              st->nodes_done, nodes,
              100.0 * (double)chunks / ((double)nodes * (m->chunk_count ? m->chunk_count : 1)),
              (double)st->rate_bps / 1e6, st->mcast_bytes / 1000000, st->repair_bytes / 1000000);
}

/**
 * Run the session until --once completes, a signal, or a fatal error.
 * Returns an exit code.
 */
static int serve_loop(struct serve_run *r, struct tc_serve_http *http, const sigset_t *waitmask)
{
    struct tc_serve *sv = &r->sv;
    uint64_t tick = 0, now, deadline, wake, http_due = TC_PROTO_NEVER;
    struct pollfd pfd[2];
    struct timespec ts;
    int64_t hto;
    nfds_t nfd;
    int rc = 0, prc;

    for (;;) {
        now = tc_serve_now_ns();
        rc = serve_persisted(r, now);
        if (rc == 0 && tc_seeder_next_deadline(sv->seeder) <= now) {
            rc = tc_seeder_on_timer(sv->seeder, now);
            if (rc == 0)
                rc = serve_persisted(r, now);
        }
        if (rc < 0)
            break;
        if (now >= tick) {
            tick = now + SERVE_TICK_NS;
            tc_serve_sample_rates(sv, now);
            serve_progress(r, now);
            if (r->o->once && tc_seeder_finished(sv->seeder) &&
                serve_released(r) >= r->o->min_nodes) {
                if (r->finished_ns == 0) {
                    r->finished_ns = now;
                    serve_log(r, TC_PROTO_LOG_INFO,
                              "every node released; answering retransmissions for %llu s",
                              SERVE_ONCE_LINGER_NS / 1000000000ull);
                }
                if (now - r->finished_ns >= SERVE_ONCE_LINGER_NS)
                    return TC_EXIT_OK;
            } else {
                r->finished_ns = 0; /* a node came back: not finished after all */
            }
        }
        deadline = tc_seeder_next_deadline(sv->seeder);
        wake = tick;
        if (deadline < wake)
            wake = deadline;
        if (r->persist_pending && r->persist_due_ns < wake)
            wake = r->persist_due_ns;
        nfd = 0;
        pfd[nfd].fd = tc_udp_fd(sv->udp);
        pfd[nfd++].events = POLLIN;
        if (http) {
            pfd[nfd].fd = tc_serve_http_fd(http);
            pfd[nfd++].events = POLLIN;
            hto = tc_serve_http_timeout_ms(http);
            http_due = hto >= 0 ? now + (uint64_t)hto * 1000000ull : TC_PROTO_NEVER;
            if (http_due < wake)
                wake = http_due;
        }
        now = tc_serve_now_ns();
        wake = wake > now ? wake - now : 0;
        ts.tv_sec = (time_t)(wake / 1000000000ull);
        ts.tv_nsec = (long)(wake % 1000000000ull);
        prc = ppoll(pfd, nfd, &ts, waitmask);
        if (serve_stop_signal)
            return TC_EXIT_OK;
        if (prc < 0 && errno != EINTR) {
            rc = -errno;
            serve_log(r, TC_PROTO_LOG_ERR, "poll: %s", strerror(errno));
            return TC_EXIT_INTERNAL;
        }
        /* the daemon's epoll descriptor is readable, or its timeout passed */
        if (http && ((prc > 0 && pfd[1].revents) || tc_serve_now_ns() >= http_due))
            tc_serve_http_run(http);
        if (prc > 0 && (pfd[0].revents & (POLLIN | POLLERR))) {
            rc = serve_drain(r);
            if (rc < 0)
                break;
        }
    }
    tc_progress_clear(&r->prog);
    if (rc == -EILSEQ) {
        serve_log(r, TC_PROTO_LOG_ERR, "%s is corrupt: stopped (run `treecast verify` on it)",
                  sv->image_path);
        return TC_EXIT_IMAGE;
    }
    serve_log(r, TC_PROTO_LOG_ERR, "stopped: %s", strerror(-rc));
    return rc == -ENETDOWN || rc == -ENETUNREACH || rc == -ENODEV ? TC_EXIT_NETWORK
                                                                  : TC_EXIT_INTERNAL;
}

/**
 * Open the network side: interface, socket, route, rate and MTU. 0 or an
 * exit code after a message.
 */
static int serve_net(struct serve_run *r, struct serve_opts *o)
{
    struct tc_serve *sv = &r->sv;
    struct tc_udp_opts uo;
    struct tc_err err;
    char pb[32];
    int rc;

    tc_err_clear(&err);
    rc = tc_udp_iface(o->iface, &sv->iface, &err);
    if (rc < 0) {
        if (rc == -ENODEV)
            tc_cli_error("serve", "no interface named %s (see `ip link`)", o->iface);
        else
            tc_cli_fail("serve", rc, TC_PHASE_OTHER, &err);
        return TC_EXIT_NETWORK;
    }
    rc = serve_rate(o, &sv->iface);
    if (rc)
        return rc;
    if (!o->addr && !sv->iface.addr) {
        tc_cli_error("serve", "interface %s has no IPv4 address: give one with --addr", o->iface);
        return TC_EXIT_NETWORK;
    }
    if (!o->mtu) {
        o->mtu = sv->iface.mtu > TC_WIRE_MTU_MAX ? TC_WIRE_MTU_MAX : sv->iface.mtu;
        if (o->mtu < TC_WIRE_MTU_MIN) {
            tc_cli_error("serve", "interface %s has an MTU of %u bytes; treecast needs %u",
                         o->iface, sv->iface.mtu, TC_WIRE_MTU_MIN);
            return TC_EXIT_NETWORK;
        }
    } else if (o->mtu > sv->iface.mtu) {
        return tc_cli_usage("serve", "--mtu %u is more than the MTU of %s (%u)", o->mtu, o->iface,
                            sv->iface.mtu);
    }
    memset(&uo, 0, sizeof(uo));
    uo.iface = o->iface;
    uo.bind_addr = o->addr ? o->addr : sv->iface.addr;
    uo.port = o->port;
    rc = tc_udp_open(&sv->udp, &uo, &err);
    if (rc < 0) {
        tc_cli_fail("serve", rc, TC_PHASE_OTHER, &err);
        return TC_EXIT_NETWORK;
    }
    sv->local.addr = uo.bind_addr;
    sv->local.port = tc_udp_port(sv->udp);
    sv->group.addr = o->group;
    sv->group.port = o->port;
    if (!o->tree_only) {
        rc = tc_udp_check_route(sv->udp, o->group, &err);
        if (rc < 0) {
            tc_cli_error("serve", "%s (use --tree-only on a network without multicast)",
                         err.msg[0] ? err.msg : strerror(-rc));
            return TC_EXIT_NETWORK;
        }
    }
    serve_log(r, TC_PROTO_LOG_DEBUG, "control socket %s on %s, MTU %u",
              tc_udp_peer_str(pb, sizeof(pb), sv->local), o->iface, o->mtu);
    return 0;
}

/**
 * Make the core; 0 or an exit code after a message.
 */
static int serve_core(struct serve_run *r, const struct serve_opts *o)
{
    struct tc_serve *sv = &r->sv;
    struct tc_seeder_cfg cfg;
    struct tc_err err;
    uint8_t *restore = NULL;
    size_t restore_len = 0;
    int rc;

    rc = serve_load_state(r, &restore, &restore_len);
    if (rc)
        return rc;
    memset(&cfg, 0, sizeof(cfg));
    cfg.manifest = sv->img->manifest;
    cfg.sigblock = sv->img->map + sv->img->layout.sigblock_off;
    cfg.sigblock_len = (size_t)sv->img->layout.sigblock_len;
    cfg.group = sv->group;
    cfg.mtu = (uint16_t)o->mtu;
    cfg.rate_bps = o->rate_bps;
    cfg.rate_auto = o->rate_auto;
    cfg.rate_max_bps = o->rate_max_bps;
    cfg.tree_only = o->tree_only;
    cfg.restore = restore;
    cfg.restore_len = restore_len;
    cfg.fanout = o->fanout;
    cfg.nodes_max = o->nodes_max;
    cfg.min_nodes = o->min_nodes;
    cfg.start_wait_ns = (uint64_t)o->wait_s * 1000000000ull;
    tc_proto_limits_default(&cfg.limits);
    tc_err_clear(&err);
    rc = tc_seeder_new(&sv->seeder, &cfg, &serve_ops, r, tc_serve_now_ns(), &err);
    free(restore); /* decoded by tc_seeder_new() */
    if (rc < 0) {
        if (rc == -ENOMEM)
            return tc_cli_fail("serve", rc, TC_PHASE_OTHER, &err);
        tc_cli_error("serve", "%s", err.msg[0] ? err.msg : strerror(-rc));
        return rc == -EILSEQ ? TC_EXIT_IMAGE : TC_EXIT_USAGE;
    }
    sv->nodes_max = o->nodes_max;
    sv->nodes = calloc(o->nodes_max, sizeof(*sv->nodes));
    if (!sv->nodes)
        return tc_cli_fail("serve", -ENOMEM, TC_PHASE_OTHER, NULL);
    return 0;
}

/**
 * Set up signals: SIGPIPE ignored; SIGINT and SIGTERM caught, blocked
 * outside ppoll() (waitmask is the mask to wait with).
 */
static void serve_signals(sigset_t *waitmask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = serve_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, waitmask);
    sigdelset(waitmask, SIGINT);
    sigdelset(waitmask, SIGTERM);
}

/**
 * `treecast serve`.
 */
int tc_cmd_serve(int argc, char **argv)
{
    struct serve_opts o;
    struct serve_run *r;
    struct tc_serve_http *http = NULL;
    struct tc_serve *sv;
    struct tc_verdict v;
    struct tc_err err;
    sigset_t waitmask;
    char pin[TC_CLI_PIN_MAX], pb[32], gb[32], hb[32];
    int rc, ec;

    rc = serve_parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? TC_EXIT_OK : rc;
    r = calloc(1, sizeof(*r));
    if (!r)
        return tc_cli_fail("serve", -ENOMEM, TC_PHASE_OTHER, NULL);
    r->o = &o;
    sv = &r->sv;
    sv->image_path = o.image;
    sv->tree_only = o.tree_only;
    sv->rate_auto = o.rate_auto;
    if ((size_t)snprintf(r->state_path, sizeof(r->state_path), "%s", o.state ? o.state : o.image) >=
            sizeof(r->state_path) ||
        (!o.state && strlen(r->state_path) + strlen(SERVE_STATE_SUFFIX) >= sizeof(r->state_path))) {
        ec = tc_cli_usage("serve", "the state file name is too long");
        goto out;
    }
    if (!o.state)
        strcat(r->state_path, SERVE_STATE_SUFFIX);

    tc_err_clear(&err);
    rc = tc_imgfile_open(&sv->img, o.image, 0, &err);
    if (rc < 0) {
        ec = tc_cli_fail("serve", rc, TC_PHASE_IMAGE, &err);
        goto out;
    }
    ec = tc_cli_policy_check(&o.pol, "serve", sv->img, &v);
    if (ec)
        goto out;
    ec = serve_net(r, &o);
    if (ec)
        goto out;
    if (o.http) {
        rc = tc_serve_http_start(&http, sv, o.http_at.addr, o.http_at.port, &err);
        if (rc < 0) {
            tc_cli_fail("serve", rc, TC_PHASE_OTHER, &err);
            ec = TC_EXIT_NETWORK;
            goto out;
        }
    }
    serve_signals(&waitmask);
    ec = serve_core(r, &o);
    if (ec)
        goto out;

    sv->start_ns = tc_serve_now_ns();
    tc_progress_init(&r->prog, "serve", 0);
    serve_log(r, TC_PROTO_LOG_INFO,
              "serving %s (%s, %" PRIu32 " chunks, %" PRIu64 " bytes stored) on %s %s, %s%s, "
              "%s %.1f Mbit/s, MTU %u; session %016" PRIx64 " epoch %" PRIu32,
              o.image, tc_manifest_pin(sv->img->manifest, pin, sizeof(pin)),
              sv->img->manifest->chunk_count, sv->img->manifest->stored_chunk_bytes, o.iface,
              tc_udp_peer_str(pb, sizeof(pb), sv->local),
              o.tree_only ? "tree-only (no multicast)" : "group ",
              o.tree_only ? "" : tc_udp_peer_str(gb, sizeof(gb), sv->group),
              o.rate_auto ? "rate auto up to" : "rate",
              (double)(o.rate_auto ? o.rate_max_bps : o.rate_bps) / 1e6, o.mtu,
              tc_seeder_session_id(sv->seeder), tc_seeder_epoch(sv->seeder));
    if (http)
        serve_log(r, TC_PROTO_LOG_INFO, "status on http://%s/api/v1/session",
                  tc_udp_peer_str(hb, sizeof(hb), o.http_at));

    ec = serve_loop(r, http, &waitmask);
    if (serve_stop_signal) {
        sv->phase = "stopped";
        tc_progress_clear(&r->prog);
        serve_log(r, TC_PROTO_LOG_INFO,
                  "stopped by %s; the session state is in %s: run the same command to resume",
                  serve_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", r->state_path);
    } else if (ec == TC_EXIT_OK) {
        tc_progress_finish(&r->prog, 1);
        sv->phase = "finished";
        if (unlink(r->state_path) < 0 && errno != ENOENT)
            serve_log(r, TC_PROTO_LOG_WARN, "cannot remove %s: %s", r->state_path, strerror(errno));
        serve_log(r, TC_PROTO_LOG_INFO,
                  "finished: %" PRIu32 " nodes released in %.1f s, %" PRIu64 " wire bytes sent",
                  serve_released(r), (double)(tc_serve_now_ns() - sv->start_ns) / 1e9,
                  tc_udp_stats(sv->udp)->tx_wire_bytes);
    } else {
        sv->phase = "failed";
    }
    if (o.stats) {
        tc_err_clear(&err);
        rc = tc_serve_write_stats(sv, o.stats, &err);
        if (rc < 0) {
            serve_log(r, TC_PROTO_LOG_ERR, "cannot write statistics: %s", err.msg);
            if (ec == TC_EXIT_OK)
                ec = TC_EXIT_INTERNAL;
        }
    }

out:
    tc_serve_http_stop(http);
    tc_seeder_free(sv->seeder);
    tc_udp_close(sv->udp);
    tc_imgfile_close(sv->img);
    free(sv->nodes);
    free(r);
    return ec;
}
