// SPDX-License-Identifier: MIT
/*
 * The agent's event loop: one ppoll() over the UDP socket(s) and the disk
 * writer's event descriptor, with the core's next deadline (ns) as the
 * timeout and SIGINT/SIGTERM unblocked only while waiting. Completions
 * (written, durable, read) are handed to the core from here, never from
 * inside an op, as include/treecast/agent.h requires.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "treecast/diskpick.h"
#include "treecast/exitcode.h"
#include "treecast/wire.h"
#include "treecast/rng.h"
#include "treecast/trustdir.h"

/** Cookie space is the core's; reads are reported with theirs. */

/**
 * Monotonic clock in ns.
 */
uint64_t tc_ag_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/**
 * A log line, filtered by level.
 */
void tc_ag_log(const struct ag *g, int level, const char *fmt, ...)
{
    va_list ap;

    if (level > g->cfg.log_level)
        return;
    fputs("treecast-agent: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/** ops.send: straight to the socket. */
static int op_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    struct ag *g = ctx;

    return tc_udp_send(g->udp, d, n);
}

/**
 * ops.group: join or leave on the named interface. A group port other than
 * ours needs a socket bound to it.
 */
static int op_group(void *ctx, int join, struct tc_proto_peer group)
{
    struct ag *g = ctx;
    struct tc_udp *u = g->udp;
    struct tc_err err;
    char peer[32];
    int rc;

    tc_err_clear(&err);
    if (group.port != tc_udp_port(g->udp)) {
        if (!g->udp_group && join) {
            struct tc_udp_opts o;

            memset(&o, 0, sizeof(o));
            o.iface = g->cfg.iface;
            o.port = group.port;
            rc = tc_udp_open(&g->udp_group, &o, &err);
            if (rc < 0) {
                tc_ag_log(g, TC_PROTO_LOG_ERR, "group %s: %s",
                          tc_udp_peer_str(peer, sizeof(peer), group), err.msg);
                return rc;
            }
        }
        u = g->udp_group;
        if (!u)
            return 0;
    }
    rc = tc_udp_group(u, join, group.addr, &err);
    if (rc < 0) {
        tc_ag_log(g, TC_PROTO_LOG_ERR, "%s", err.msg);
        return rc;
    }
    if (join) {
        g->group = group;
        g->last_mcast_ns = tc_ag_now_ns();
    } else {
        g->group.addr = 0;
    }
    tc_ag_log(g, TC_PROTO_LOG_DEBUG, "%s group %s on %s", join ? "joined" : "left",
              tc_udp_peer_str(peer, sizeof(peer), group), g->cfg.iface);
    return 0;
}

/**
 * Remember a write's length until its completion.
 */
static void write_track(struct ag *g, uint64_t cookie, uint64_t len)
{
    unsigned i;

    for (i = 0; i < AG_WRITES_TRACKED; i++) {
        if (!g->writes[i].used) {
            g->writes[i].used = 1;
            g->writes[i].cookie = cookie;
            g->writes[i].len = len;
            return;
        }
    }
}

/**
 * A write completed: count its bytes.
 */
static void write_done(struct ag *g, uint64_t cookie, int rc)
{
    unsigned i;

    for (i = 0; i < AG_WRITES_TRACKED; i++) {
        if (g->writes[i].used && g->writes[i].cookie == cookie) {
            g->writes[i].used = 0;
            if (rc == 0)
                g->bytes_written += g->writes[i].len;
            return;
        }
    }
}

/**
 * ops.write: verified bytes (or zeros) to the writer thread. The buffer
 * stays the core's and alive until tc_agent_on_written(), so the writer
 * needs no release callback.
 */
static int op_write(void *ctx, uint32_t chunk, uint64_t off, const uint8_t *buf, size_t len,
                    uint64_t cookie)
{
    struct ag *g = ctx;
    int rc;

    (void)chunk;
    if (buf)
        rc = tc_disk_submit_write(g->disk, off, (uint8_t *)buf, len, NULL, NULL, cookie);
    else
        rc = tc_disk_submit_zero(g->disk, off, len, cookie);
    if (rc < 0) {
        g->fail_exit = TC_EXIT_DISK;
        return rc;
    }
    write_track(g, cookie, buf ? len : 0);
    return 0;
}

/** ops.sync: a barrier behind every write so far. */
static int op_sync(void *ctx, uint64_t cookie)
{
    struct ag *g = ctx;
    int rc = tc_disk_submit_sync(g->disk, cookie);

    if (rc < 0)
        g->fail_exit = TC_EXIT_DISK;
    return rc;
}

/**
 * ops.read: read back now (the page cache usually has it), report from the
 * loop.
 */
static int op_read(void *ctx, uint64_t off, uint8_t *buf, size_t len, uint64_t cookie)
{
    struct ag *g = ctx;

    if (g->nreads >= AG_READS_MAX)
        return -EAGAIN;
    g->reads[g->nreads].cookie = cookie;
    g->reads[g->nreads].rc = tc_disk_read(g->disk, off, buf, len);
    g->nreads++;
    return 0;
}

/** Sum of the raw lengths of the non-zero chunks (what a file must allocate). */
static uint64_t data_bytes(const struct tc_manifest *m)
{
    uint64_t n = 0;
    uint32_t i;

    for (i = 0; i < m->chunk_count; i++)
        if (m->chunks[i].enc != TC_ENC_ZERO)
            n += tc_manifest_chunk_raw_len(m, i);
    return n;
}

/**
 * ops.manifest_accept: trust policy, then the target sized and marked (with
 * a copy of the manifest and signatures for resume) before the core writes
 * anything.
 */
static int op_manifest_accept(void *ctx, const uint8_t *man, size_t man_len, const uint8_t *sig,
                              size_t sig_len, const struct tc_manifest **out, struct tc_err *err)
{
    struct ag *g = ctx;
    struct tc_manifest *m = NULL;
    char pin[TC_NAME_MAX + 8 + 2 * TC_SHA256_LEN + 1];
    uint8_t *extra;
    size_t extra_len;
    uint32_t len0;
    int rc;

    rc = tc_ag_manifest_check(g, man, man_len, sig, sig_len, &m, err);
    if (rc < 0) {
        g->fail_exit = rc == -ENOMEM ? TC_EXIT_INTERNAL : TC_EXIT_TRUST;
        return rc;
    }
    if (m->chunk_size > g->chunk_size_max && m->chunk_size <= TC_CHUNK_SIZE_WIRE_MAX &&
        g->restarts < AG_RESTARTS_MAX) {
        g->restart_chunk_size = m->chunk_size;
        tc_manifest_free(m);
        return tc_err_set(err, -EAGAIN,
                          "image %s has %u-byte chunks, larger than the buffers sized for %u: "
                          "restarting with buffers for them",
                          g->cfg.image, g->restart_chunk_size, g->chunk_size_max);
    }
    rc = tc_disk_set_size(g->disk, m->raw_size, data_bytes(m), err);
    if (rc < 0)
        goto err_disk;
    len0 = tc_manifest_chunk_raw_len(m, 0);
    tc_manifest_pin(m, pin, sizeof(pin));
    extra = tc_ag_extra_pack(man, man_len, sig, sig_len, &extra_len);
    if (!extra) {
        rc = tc_err_set(err, -ENOMEM, "out of memory for the manifest copy");
        goto err_free;
    }
    if (extra_len + TC_DISK_EXTRA_OFF > len0) {
        tc_ag_log(g, TC_PROTO_LOG_INFO,
                  "resume unavailable for this run: the manifest and signatures (%zu bytes) do not "
                  "fit in chunk 0's %u bytes after the marker",
                  extra_len, len0);
        extra_len = 0;
    }
    rc = tc_disk_mark(g->disk, pin, len0, extra, extra_len, err);
    free(extra);
    if (rc < 0)
        goto err_disk;
    tc_ag_log(g, TC_PROTO_LOG_INFO,
              "image %s %s accepted: %llu bytes in %u chunks; %s marked in "
              "progress",
              m->name, m->version, (unsigned long long)m->raw_size, m->chunk_count, g->disk_path);
    tc_manifest_free(g->man);
    g->man = m;
    *out = m;
    return 0;

err_disk:
    g->fail_exit = TC_EXIT_DISK;
err_free:
    tc_manifest_free(m);
    return rc;
}

/** ops.random: xorshift64* seeded from the OS. */
static uint64_t op_random(void *ctx)
{
    struct ag *g = ctx;

    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 0x2545F4914F6CDD1Dull;
}

/** ops.log: the core's lines. */
static void op_log(void *ctx, int level, const char *msg)
{
    tc_ag_log(ctx, level, "%s", msg);
}

static const struct tc_agent_ops ag_ops = {
    .send = op_send,
    .send_blocks = NULL,
    .group = op_group,
    .write = op_write,
    .sync = op_sync,
    .read = op_read,
    .manifest_accept = op_manifest_accept,
    .random = op_random,
    .log = op_log,
};

/**
 * Exit code for an error code (include/treecast/exitcode.h; table in
 * docs/agent.md). An op that failed has already said which class.
 */
static int exit_code(const struct ag *g, int rc)
{
    int c;

    if (g->fail_exit)
        return g->fail_exit;
    c = tc_exit_class(rc);
    if (c != 0)
        return c;
    switch (-rc) {
    case EIO:
    case ENXIO:
        return TC_EXIT_DISK;
    case ETIMEDOUT:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTUNREACH:
    case ECONNREFUSED:
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ENODEV:
        return TC_EXIT_NETWORK;
    case ENOENT:
        return TC_EXIT_USAGE; /* the seeder does not serve what we asked for */
    default:
        return TC_EXIT_INTERNAL;
    }
}

/** Record the error that ends the run and return its exit code. */
static int fail(struct ag *g, int code, const char *msg)
{
    snprintf(g->error, sizeof(g->error), "%s", msg);
    tc_ag_log(g, TC_PROTO_LOG_ERR, "%s", msg);
    return code;
}

/**
 * Pick the cache and write buffers for chunk_size within the budget, and
 * create the core.
 */
static int core_start(struct ag *g, uint32_t chunk_size, struct tc_err *err)
{
    struct tc_agent_cfg *c = &g->core_cfg;
    uint32_t bufs = AG_CHUNK_BUF_BUDGET / chunk_size, writes, slots;

    writes = AG_WRITES_MAX;
    if (bufs < AG_CORE_FIXED_BUFS + writes + 2)
        writes = 2;
    slots = bufs > AG_CORE_FIXED_BUFS + writes + 2 ? bufs - AG_CORE_FIXED_BUFS - writes : 2;
    if (slots > TC_AGENT_CACHE_MAX)
        slots = TC_AGENT_CACHE_MAX;
    g->chunk_size_max = chunk_size;
    memset(c, 0, sizeof(*c));
    memcpy(c->node_id, g->ifc.mac, 6);
    c->image = g->cfg.image;
    c->min_version = g->cfg.min_version[0] ? g->cfg.min_version : NULL;
    c->pin = g->have_pin ? g->pin : NULL;
    c->disk_size = tc_disk_is_blockdev(g->disk) ? tc_disk_size(g->disk) : AG_FILE_SIZE_MAX;
    c->mtu = (uint16_t)(g->ifc.mtu > TC_WIRE_MTU_MAX   ? TC_WIRE_MTU_MAX
                        : g->ifc.mtu < TC_WIRE_MTU_MIN ? TC_WIRE_MTU_MIN
                                                       : g->ifc.mtu);
    c->seeder = g->cfg.seeder;
    c->self.addr = g->ifc.addr;
    c->self.port = tc_udp_port(g->udp);
    c->held = g->held;
    c->held_chunks = g->held ? g->held_chunks : 0;
    c->cache_slots = slots;
    c->writes_max = writes;
    c->chunk_size_max = chunk_size;
    tc_proto_limits_default(&c->limits);
    tc_ag_log(g, TC_PROTO_LOG_DEBUG,
              "buffers for %u-byte chunks: %u cache slots, %u writes in flight (budget %u MiB)",
              chunk_size, slots, writes, AG_CHUNK_BUF_BUDGET >> 20);
    return tc_agent_new(&g->core, c, &ag_ops, g, tc_ag_now_ns(), err);
}

/**
 * Hand the disk's completions to the core.
 */
static int disk_events(struct ag *g, uint64_t now)
{
    struct tc_disk_event ev[TC_DISK_EVENTS_MAX];
    int n, i, rc = 0;

    n = tc_disk_poll(g->disk, ev, TC_DISK_EVENTS_MAX, 0);
    if (n < 0)
        return n;
    for (i = 0; i < n; i++) {
        if (ev[i].rc < 0)
            g->fail_exit = TC_EXIT_DISK;
        if (ev[i].type == TC_DISK_EV_WRITTEN) {
            write_done(g, ev[i].cookie, ev[i].rc);
            rc = tc_agent_on_written(g->core, now, ev[i].cookie, ev[i].rc);
        } else {
            rc = tc_agent_on_durable(g->core, now, ev[i].cookie, ev[i].rc);
        }
    }
    return rc;
}

/**
 * Receive what waits on one socket (bounded per turn) and feed the core.
 */
static int net_rx(struct ag *g, struct tc_udp *u, uint64_t now)
{
    struct tc_udp_rx rx[TC_UDP_RX_BATCH_MAX];
    unsigned b;
    int n, i, rc;

    for (b = 0; b < AG_RX_BATCHES_PER_TURN; b++) {
        n = tc_udp_recv(u, rx, TC_UDP_RX_BATCH_MAX);
        if (n <= 0)
            return n;
        for (i = 0; i < n; i++) {
            if (g->group.addr && rx[i].to_addr == g->group.addr)
                g->last_mcast_ns = now;
            rc = tc_agent_on_packet(g->core, now, rx[i].from, rx[i].buf, rx[i].len);
            if (rc < 0)
                return 0; /* FAILED: the loop sees the state */
        }
    }
    return 0;
}

/**
 * IGMP snooping can lose a join: after a second without multicast while
 * the manifest or chunks are still coming, leave and join again.
 */
static void rejoin_check(struct ag *g, uint64_t now)
{
    enum tc_agent_state st = tc_agent_state(g->core);
    struct tc_proto_peer grp = g->group;

    if (!grp.addr || (st != TC_AGENT_MANIFEST && st != TC_AGENT_RECEIVING))
        return;
    if (now < g->last_mcast_ns + AG_REJOIN_NS || now < g->last_rejoin_ns + AG_REJOIN_NS)
        return;
    g->last_rejoin_ns = now;
    g->rejoins++;
    tc_ag_log(g, TC_PROTO_LOG_DEBUG, "no multicast for 1 s: joining the group again");
    op_group(g, 0, grp);
    op_group(g, 1, grp);
    g->last_mcast_ns = now;
}

/** A progress line every AG_PROGRESS_NS at info level. */
static void progress(struct ag *g, uint64_t now)
{
    const struct tc_agent_stats *s = tc_agent_stats(g->core);

    if (now < g->next_progress_ns)
        return;
    g->next_progress_ns = now + AG_PROGRESS_NS;
    if (s->chunk_count)
        tc_ag_log(g, TC_PROTO_LOG_INFO, "%s: %u of %u chunks, %llu bytes written",
                  tc_agent_state_name(tc_agent_state(g->core)), s->chunks_done, s->chunk_count,
                  (unsigned long long)g->bytes_written);
}

/**
 * Wait until the disk has returned every event (before a core restart or
 * exit, so no old completion reaches a new core).
 */
static void disk_drain(struct ag *g)
{
    struct tc_disk_event ev[TC_DISK_EVENTS_MAX];

    while (g->disk && tc_disk_pending(g->disk) > 0)
        if (tc_disk_poll(g->disk, ev, TC_DISK_EVENTS_MAX, -1) < 0)
            break;
    g->nreads = 0;
}

/**
 * One core's run until it is RELEASED, FAILED or interrupted. Returns 0 when
 * released, 1 when interrupted, or the core's negative error.
 */
static int loop(struct ag *g)
{
    struct pollfd pfd[3];
    sigset_t wait_mask;
    uint64_t now, deadline;
    int rc;

    sigemptyset(&wait_mask);
    for (;;) {
        enum tc_agent_state st = tc_agent_state(g->core);
        struct timespec ts, *tsp = NULL;
        nfds_t n = 0;
        unsigned i;

        g->state = st;
        if (st == TC_AGENT_RELEASED)
            return 0;
        if (st == TC_AGENT_FAILED)
            return tc_agent_error(g->core)->rc < 0 ? tc_agent_error(g->core)->rc : -EIO;
        if (tc_ag_interrupted)
            return 1;
        now = tc_ag_now_ns();
        deadline = tc_agent_next_deadline(g->core);
        if (g->group.addr && (st == TC_AGENT_MANIFEST || st == TC_AGENT_RECEIVING)) {
            uint64_t r = g->last_mcast_ns + AG_REJOIN_NS;
            if (r < g->last_rejoin_ns + AG_REJOIN_NS)
                r = g->last_rejoin_ns + AG_REJOIN_NS;
            if (r < deadline)
                deadline = r;
        }
        if (g->nreads > 0)
            deadline = now;
        if (deadline != TC_PROTO_NEVER) {
            uint64_t d = deadline > now ? deadline - now : 0;
            ts.tv_sec = (time_t)(d / 1000000000ull);
            ts.tv_nsec = (long)(d % 1000000000ull);
            tsp = &ts;
        }
        pfd[n].fd = tc_udp_fd(g->udp);
        pfd[n++].events = POLLIN;
        pfd[n].fd = tc_disk_event_fd(g->disk);
        pfd[n++].events = POLLIN;
        if (g->udp_group) {
            pfd[n].fd = tc_udp_fd(g->udp_group);
            pfd[n++].events = POLLIN;
        }
        rc = ppoll(pfd, n, tsp, &wait_mask);
        if (rc < 0 && errno != EINTR)
            return -errno;
        now = tc_ag_now_ns();
        if (rc > 0) {
            if (pfd[0].revents)
                net_rx(g, g->udp, now);
            if (g->udp_group && n > 2 && pfd[2].revents)
                net_rx(g, g->udp_group, now);
            if (pfd[1].revents)
                disk_events(g, now);
        }
        if (g->nreads > 0) {
            /* A completion may start the next read-back (op_read appends
             * to g->reads): report a copy, and the new ones next turn. */
            struct ag_read_done done[AG_READS_MAX];
            unsigned nd = g->nreads;

            memcpy(done, g->reads, nd * sizeof(done[0]));
            g->nreads = 0;
            for (i = 0; i < nd; i++)
                tc_agent_on_read(g->core, now, done[i].cookie, done[i].rc);
        }
        if (now >= tc_agent_next_deadline(g->core))
            tc_agent_on_timer(g->core, now);
        rejoin_check(g, now);
        progress(g, now);
    }
}

/**
 * Find the target: --target FILE, --disk PATH, or --disk HINTS.
 */
static int pick_target(struct ag *g, struct tc_err *err)
{
    struct tc_diskpick_hints h;
    int rc;

    if (g->cfg.target[0]) {
        snprintf(g->disk_path, sizeof(g->disk_path), "%s", g->cfg.target);
        return 0;
    }
    if (!tc_diskpick_is_hints(g->cfg.disk)) {
        snprintf(g->disk_path, sizeof(g->disk_path), "%s", g->cfg.disk);
        return 0;
    }
    rc = tc_diskpick_parse(g->cfg.disk, &h, err);
    if (rc < 0)
        return rc;
    rc = tc_diskpick_find("", &h, g->disk_path, sizeof(g->disk_path), err);
    if (rc < 0)
        return rc;
    tc_ag_log(g, TC_PROTO_LOG_INFO, "disk hints %s picked %s", g->cfg.disk, g->disk_path);
    return 0;
}

/**
 * Open everything, resume, run the core (restarting it when it must), and
 * say how it ended.
 */
int tc_ag_run(struct ag *g)
{
    struct tc_disk_opts dopts;
    struct tc_udp_opts uo;
    struct tc_err err;
    char peer[32];
    int rc;

    tc_err_clear(&err);
    g->t0_ns = tc_ag_now_ns();
    tc_trust_init(&g->trust);
    if (tc_rng_os_fill(NULL, (uint8_t *)&g->rng, sizeof(g->rng)) < 0 || g->rng == 0)
        g->rng = g->t0_ns | 1;

    rc = tc_trustdir_load(&g->trust, g->cfg.trust, &err);
    if (rc < 0)
        return fail(g, rc == -ENOMEM ? TC_EXIT_INTERNAL : TC_EXIT_TRUST, err.msg);

    rc = tc_udp_iface(g->cfg.iface, &g->ifc, &err);
    if (rc < 0)
        return fail(g, TC_EXIT_NETWORK, err.msg);
    if (g->ifc.addr == 0) {
        snprintf(err.msg, sizeof(err.msg), "interface %s has no IPv4 address", g->cfg.iface);
        return fail(g, TC_EXIT_NETWORK, err.msg);
    }
    if (!g->ifc.up)
        tc_ag_log(g, TC_PROTO_LOG_WARN, "interface %s is not up and running", g->cfg.iface);

    rc = pick_target(g, &err);
    if (rc < 0)
        return fail(g, TC_EXIT_DISK, err.msg);
    memset(&dopts, 0, sizeof(dopts));
    dopts.create = g->cfg.target[0] != '\0';
    rc = tc_disk_open(&g->disk, g->disk_path, &dopts, &err);
    if (rc < 0)
        return fail(g, rc == -ENOMEM ? TC_EXIT_INTERNAL : TC_EXIT_DISK, err.msg);

    tc_ag_resume(g);
    if (tc_ag_interrupted)
        return fail(g, TC_EXIT_INTERNAL, "interrupted");

    memset(&uo, 0, sizeof(uo));
    uo.iface = g->cfg.iface;
    uo.port = g->cfg.seeder.port;
    rc = tc_udp_open(&g->udp, &uo, &err);
    if (rc < 0)
        return fail(g, rc == -ENOMEM ? TC_EXIT_INTERNAL : TC_EXIT_NETWORK, err.msg);

    tc_ag_log(g, TC_PROTO_LOG_INFO,
              "node %02x:%02x:%02x:%02x:%02x:%02x on %s asking %s for image %s%s", g->ifc.mac[0],
              g->ifc.mac[1], g->ifc.mac[2], g->ifc.mac[3], g->ifc.mac[4], g->ifc.mac[5],
              g->cfg.iface, tc_udp_peer_str(peer, sizeof(peer), g->cfg.seeder), g->cfg.image,
              g->have_pin ? " (resuming)" : "");

    /* From here SIGINT/SIGTERM are taken only inside ppoll(), so none is
     * lost between the check and the wait. */
    {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, NULL);
    }
    rc = core_start(g, g->chunk_size_max ? g->chunk_size_max : AG_CHUNK_SIZE_GUESS, &err);
    for (;;) {
        const struct tc_err *e;

        if (rc < 0)
            return fail(g, exit_code(g, rc), err.msg);
        rc = loop(g);
        g->last = *tc_agent_stats(g->core);
        if (rc == 0)
            return TC_EXIT_OK;
        if (rc == 1) {
            disk_drain(g);
            return fail(g, TC_EXIT_INTERNAL,
                        "interrupted: the target keeps its in-progress marker and is not "
                        "bootable");
        }
        e = tc_agent_error(g->core);
        if (g->restart_chunk_size) {
            tc_ag_log(g, TC_PROTO_LOG_INFO, "%s", e->msg);
        } else if (g->have_pin && rc == -ENOENT && g->restarts < AG_RESTARTS_MAX) {
            tc_ag_log(g, TC_PROTO_LOG_INFO,
                      "%s; the seeder does not serve the image found on %s: starting over "
                      "without resume",
                      e->msg, g->disk_path);
            g->have_pin = 0;
            free(g->held);
            g->held = NULL;
            g->chunks_held = 0;
        } else {
            disk_drain(g);
            snprintf(err.msg, sizeof(err.msg), "%s", e->msg[0] ? e->msg : strerror(-rc));
            /* The seeder's REJECT "disk too small" carries no size: name the
             * target and what it holds. */
            if (rc == -ENOSPC && !strstr(err.msg, g->disk_path)) {
                size_t n = strlen(err.msg);
                snprintf(err.msg + n, sizeof(err.msg) - n, "; target %s holds %llu bytes",
                         g->disk_path, (unsigned long long)tc_disk_size(g->disk));
            }
            return fail(g, exit_code(g, rc), err.msg);
        }
        /* Restart: a fresh core, same socket and target. */
        disk_drain(g);
        if (g->group.addr)
            op_group(g, 0, g->group);
        tc_agent_free(g->core);
        g->core = NULL;
        g->restarts++;
        g->fail_exit = 0;
        rc = core_start(g, g->restart_chunk_size ? g->restart_chunk_size : g->chunk_size_max, &err);
        g->restart_chunk_size = 0;
    }
}

/**
 * Close the target (waiting for its queue), socket and core.
 */
void tc_ag_cleanup(struct ag *g)
{
    tc_agent_free(g->core);
    g->core = NULL;
    if (g->disk) {
        int rc = tc_disk_close(g->disk);
        if (rc < 0)
            tc_ag_log(g, TC_PROTO_LOG_WARN, "closing %s: %s", g->disk_path, strerror(-rc));
    }
    g->disk = NULL;
    tc_udp_close(g->udp_group);
    tc_udp_close(g->udp);
    g->udp = g->udp_group = NULL;
    tc_manifest_free(g->man);
    g->man = NULL;
    free(g->held);
    g->held = NULL;
    tc_trust_free(&g->trust);
}
