// SPDX-License-Identifier: MIT
/*
 * `treecast serve` status: the session and node JSON of /api/v1/session,
 * /api/v1/nodes and the --stats file, and the Prometheus text of /metrics.
 * Everything is read from the seeder core and the socket counters between
 * two core calls (one thread). Field meanings: docs/serve.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "serve.h"
#include "treecast/wire.h"

/** Upper edge of each REPORT.loss_hist bucket, parts per million (the last
 * one has none: 100 %). */
static const uint32_t loss_bucket_ppm[TC_WIRE_LOSS_HIST] = {
    0, 1000, 3000, 10000, 30000, 100000, 300000, 1000000,
};

/** Node counts by what the session reports. */
struct serve_counts {
    uint32_t total;    /**< nodes in the table */
    uint32_t welcomed; /**< WELCOME sent, not proven */
    uint32_t active;   /**< receiving */
    uint32_t done;     /**< DONE (not released yet) or released */
    uint32_t released; /**< released */
    uint32_t dead;     /**< silent past the node timeout */
    uint32_t failed;   /**< shipped an error line and not done */
    uint64_t chunks;   /**< sum of chunks_done */
};

/**
 * Monotonic time in ns.
 */
uint64_t tc_serve_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/**
 * Name of a node state in JSON and metric labels.
 */
static const char *state_name(enum tc_seeder_node_state st)
{
    switch (st) {
    case TC_SEEDER_NODE_WELCOMED:
        return "welcomed";
    case TC_SEEDER_NODE_ACTIVE:
        return "active";
    case TC_SEEDER_NODE_DONE:
        return "done";
    case TC_SEEDER_NODE_RELEASED:
        return "released";
    case TC_SEEDER_NODE_DEAD:
        return "dead";
    case TC_SEEDER_NODE_FREE:
        break;
    }
    return "free";
}

/**
 * A node failed when it shipped an error line and has not finished since
 * (a full disk, a refused image: the agent says why, then goes silent).
 */
static int node_failed(const struct tc_seeder_node_info *ni)
{
    return ni->error_level > 0 && ni->error_level <= TC_PROTO_LOG_ERR &&
           ni->state != TC_SEEDER_NODE_DONE && ni->state != TC_SEEDER_NODE_RELEASED;
}

/**
 * Count the nodes by state.
 */
static void count_nodes(const struct tc_serve *sv, struct serve_counts *c)
{
    struct tc_seeder_node_info ni;
    uint32_t i;

    memset(c, 0, sizeof(*c));
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++) {
        if (ni.state == TC_SEEDER_NODE_FREE)
            continue;
        c->total++;
        c->chunks += ni.chunks_done;
        if (ni.state == TC_SEEDER_NODE_WELCOMED)
            c->welcomed++;
        else if (ni.state == TC_SEEDER_NODE_ACTIVE)
            c->active++;
        else if (ni.state == TC_SEEDER_NODE_DONE)
            c->done++;
        else if (ni.state == TC_SEEDER_NODE_RELEASED) {
            c->released++;
            c->done++;
        } else if (ni.state == TC_SEEDER_NODE_DEAD)
            c->dead++;
        if (node_failed(&ni))
            c->failed++;
    }
}

/**
 * The session's state: "waiting" for nodes (no round yet), "running",
 * "finished" (every proven node released), or the phase set by the command.
 */
static const char *session_state(const struct tc_serve *sv)
{
    if (sv->phase)
        return sv->phase;
    if (tc_seeder_finished(sv->seeder))
        return "finished";
    if (tc_seeder_stats(sv->seeder)->rounds == 0)
        return "waiting";
    return "running";
}

/**
 * Sample every node's chunks_done; its rate is the smoothed raw bytes
 * per second since the previous sample.
 */
void tc_serve_sample_rates(struct tc_serve *sv, uint64_t now)
{
    const struct tc_manifest *m = sv->img->manifest;
    struct tc_seeder_node_info ni;
    uint32_t i;

    if (now < sv->rate_sample_ns)
        return;
    sv->rate_sample_ns = now + TC_SERVE_RATE_SAMPLE_NS;
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++) {
        struct tc_serve_node *n = &sv->nodes[i];
        uint64_t bps = 0;

        if (n->sample_ns != 0 && now > n->sample_ns && ni.chunks_done >= n->sample_chunks) {
            double bytes = (double)(ni.chunks_done - n->sample_chunks) * m->chunk_size;

            bps = (uint64_t)(bytes * 8.0 * 1e9 / (double)(now - n->sample_ns));
            n->rate_bps = (n->rate_bps * (100u - TC_SERVE_RATE_WEIGHT_PERCENT) +
                           bps * TC_SERVE_RATE_WEIGHT_PERCENT) /
                          100u;
        } else {
            n->rate_bps = 0; /* restarted: counts from zero again */
        }
        if (ni.state == TC_SEEDER_NODE_DONE || ni.state == TC_SEEDER_NODE_RELEASED)
            n->rate_bps = 0;
        n->sample_chunks = ni.chunks_done;
        n->sample_ns = now;
    }
}

/**
 * "aa:bb:cc:dd:ee:ff" into buf (18 bytes).
 */
static char *mac_str(char *buf, const uint8_t mac[6])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

/**
 * One node object.
 */
static void json_node(const struct tc_serve *sv, FILE *f, uint32_t i,
                      const struct tc_seeder_node_info *ni)
{
    const struct tc_manifest *m = sv->img->manifest;
    char mac[18], addr[32];
    /* a DONE carries the chunk count: its last HEARTBEAT may be older */
    uint32_t done = ni->state == TC_SEEDER_NODE_DONE || ni->state == TC_SEEDER_NODE_RELEASED
                        ? m->chunk_count
                        : ni->chunks_done;

    fprintf(f, "{\"index\": %" PRIu32 ", \"mac\": \"%s\", \"addr\": \"%s\", ", i,
            mac_str(mac, ni->node_id), tc_udp_peer_str(addr, sizeof(addr), ni->addr));
    if (ni->parent == TC_WIRE_INDEX_SEEDER)
        fputs("\"parent\": -1, ", f);
    else
        fprintf(f, "\"parent\": %" PRIu32 ", ", ni->parent);
    fprintf(f,
            "\"depth\": %" PRIu32 ", \"state\": \"%s\", \"chunks_done\": %" PRIu32
            ", \"progress\": %.4f, \"rate_bps\": %" PRIu64 ", ",
            ni->depth, state_name(ni->state), done,
            m->chunk_count ? (double)done / m->chunk_count : 1.0,
            done == ni->chunks_done ? sv->nodes[i].rate_bps : 0);
    if (ni->loss_known)
        fprintf(f, "\"loss_ppm\": %" PRIu32 ", ",
                loss_bucket_ppm[ni->loss_bucket < TC_WIRE_LOSS_HIST ? ni->loss_bucket
                                                                    : TC_WIRE_LOSS_HIST - 1]);
    else
        fputs("\"loss_ppm\": null, ", f);
    fprintf(f,
            "\"repair_bytes\": %" PRIu64 ", \"covered_chunks\": %" PRIu32
            ", \"slow\": %s, \"last_error\": ",
            ni->unicast_bytes, ni->covered, ni->slow ? "true" : "false");
    if (ni->last_error[0])
        tc_cli_json_string(f, ni->last_error);
    else
        fputs("null", f);
    fputc('}', f);
}

/**
 * The nodes array.
 */
void tc_serve_json_nodes(struct tc_serve *sv, FILE *f)
{
    struct tc_seeder_node_info ni;
    uint32_t i;
    int first = 1;

    fputc('[', f);
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++) {
        if (ni.state == TC_SEEDER_NODE_FREE)
            continue;
        fputs(first ? "\n  " : ",\n  ", f);
        first = 0;
        json_node(sv, f, i, &ni);
    }
    fputs(first ? "]" : "\n]", f);
}

/**
 * The session object.
 */
void tc_serve_json_session(struct tc_serve *sv, FILE *f, int with_nodes)
{
    const struct tc_manifest *m = sv->img->manifest;
    const struct tc_seeder_stats *st = tc_seeder_stats(sv->seeder);
    const struct tc_udp_stats *us = tc_udp_stats(sv->udp);
    struct serve_counts c;
    char hex[2 * TC_SHA256_LEN + 1];

    count_nodes(sv, &c);
    fprintf(f, "{\n  \"session_id\": \"%016" PRIx64 "\",\n  \"epoch\": %" PRIu32 ",\n",
            tc_seeder_session_id(sv->seeder), tc_seeder_epoch(sv->seeder));
    fputs("  \"image\": {\"name\": ", f);
    tc_cli_json_string(f, m->name);
    fputs(", \"version\": ", f);
    tc_cli_json_string(f, m->version);
    fprintf(f,
            ", \"digest\": \"%s\", \"raw_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
            ", \"chunks\": %" PRIu32 "},\n",
            tc_hex(hex, m->image_digest, TC_SHA256_LEN), m->raw_size, m->stored_chunk_bytes,
            m->chunk_count);
    fprintf(f, "  \"state\": \"%s\",\n  \"elapsed_s\": %.3f,\n", session_state(sv),
            (double)(tc_serve_now_ns() - sv->start_ns) / 1e9);
    fprintf(f, "  \"rate_bps\": %" PRIu64 ",\n  \"rate_auto\": %s,\n  \"tree_only\": %s,\n",
            st->rate_bps, sv->rate_auto ? "true" : "false", sv->tree_only ? "true" : "false");
    fprintf(f,
            "  \"nodes_total\": %" PRIu32 ",\n  \"nodes_active\": %" PRIu32
            ",\n  \"nodes_done\": %" PRIu32 ",\n  \"nodes_released\": %" PRIu32
            ",\n  \"nodes_failed\": %" PRIu32 ",\n  \"nodes_dead\": %" PRIu32 ",\n",
            c.total, c.active, c.done, c.released, c.failed, c.dead);
    fprintf(f,
            "  \"mcast_bytes\": %" PRIu64 ",\n  \"remcast_blocks\": %" PRIu64
            ",\n  \"repair_bytes\": %" PRIu64 ",\n  \"stream_bytes\": %" PRIu64
            ",\n  \"tx_wire_bytes\": %" PRIu64 ",\n  \"tx_dgrams\": %" PRIu64
            ",\n  \"tx_again\": %" PRIu64 ",\n  \"rx_dgrams\": %" PRIu64 ",\n",
            st->mcast_bytes, st->remcast_blocks, st->repair_bytes, st->stream_bytes,
            us->tx_wire_bytes, us->tx_dgrams, us->tx_again, us->rx_dgrams);
    fprintf(f,
            "  \"rx_forged\": %" PRIu64 ",\n  \"rx_bad\": %" PRIu64 ",\n  \"rx_drops\": %" PRIu64
            ",\n  \"joins\": %" PRIu64 ",\n  \"rejects\": %" PRIu64 ",\n  \"rounds\": %" PRIu64
            ",\n  \"stragglers\": %" PRIu64 ",\n  \"persists\": %" PRIu64,
            st->rx_forged, st->rx_bad, us->rx_drops, st->joins, st->rejects, st->rounds,
            st->stragglers, st->persists);
    if (with_nodes) {
        fputs(",\n  \"nodes\": ", f);
        tc_serve_json_nodes(sv, f);
    }
    fputs("\n}", f);
}

/**
 * One metric's HELP and TYPE lines.
 */
static void metric_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP treecast_%s %s\n# TYPE treecast_%s %s\n", name, help, name, type);
}

/**
 * A metric without labels.
 */
static void metric(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    metric_head(f, name, type, help);
    fprintf(f, "treecast_%s %" PRIu64 "\n", name, v);
}

/**
 * A label value: backslash, quote and newline escaped (exposition format).
 */
static void label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

/**
 * The Prometheus text exposition.
 */
void tc_serve_metrics(struct tc_serve *sv, FILE *f)
{
    static const enum tc_seeder_node_state states[] = {
        TC_SEEDER_NODE_WELCOMED, TC_SEEDER_NODE_ACTIVE, TC_SEEDER_NODE_DONE,
        TC_SEEDER_NODE_RELEASED, TC_SEEDER_NODE_DEAD,
    };
    const struct tc_manifest *m = sv->img->manifest;
    const struct tc_seeder_stats *st = tc_seeder_stats(sv->seeder);
    const struct tc_udp_stats *us = tc_udp_stats(sv->udp);
    struct tc_seeder_node_info ni;
    struct serve_counts c;
    uint32_t counts[sizeof(states) / sizeof(states[0])], i, k;
    char mac[18];

    count_nodes(sv, &c);
    metric_head(f, "session_info", "gauge", "The session and the image served (value 1).");
    fprintf(f, "treecast_session_info{session_id=\"%016" PRIx64 "\",image=\"",
            tc_seeder_session_id(sv->seeder));
    label_value(f, m->name);
    fputs("\",version=\"", f);
    label_value(f, m->version);
    fputs("\"} 1\n", f);
    metric(f, "epoch", "gauge", "Session epoch (restarts of the seeder + 1).",
           tc_seeder_epoch(sv->seeder));
    metric(f, "image_chunks", "gauge", "Chunks in the image.", m->chunk_count);
    metric(f, "image_raw_bytes", "gauge", "Raw bytes of the image.", m->raw_size);
    metric(f, "image_stored_bytes", "gauge", "Stored chunk bytes of the image.",
           m->stored_chunk_bytes);
    metric_head(f, "elapsed_seconds", "gauge", "Seconds since the session started.");
    fprintf(f, "treecast_elapsed_seconds %.3f\n", (double)(tc_serve_now_ns() - sv->start_ns) / 1e9);
    metric(f, "rate_bps", "gauge", "Current multicast rate, bit/s of wire bytes.", st->rate_bps);
    memset(counts, 0, sizeof(counts));
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++)
        for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
            if (ni.state == states[k])
                counts[k]++;
    metric_head(f, "nodes", "gauge", "Nodes by state.");
    for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
        fprintf(f, "treecast_nodes{state=\"%s\"} %" PRIu32 "\n", state_name(states[k]), counts[k]);
    metric(f, "nodes_failed", "gauge", "Nodes that reported an error and did not finish.",
           c.failed);
    metric(f, "nodes_done_chunks", "gauge", "Sum of the nodes' verified chunks.", c.chunks);
    metric(f, "mcast_bytes_total", "counter", "DATA payload bytes multicast.", st->mcast_bytes);
    metric(f, "remcast_blocks_total", "counter", "DATA blocks re-multicast for correlated loss.",
           st->remcast_blocks);
    metric(f, "repair_bytes_total", "counter", "DATA payload bytes unicast (repairs, streams).",
           st->repair_bytes);
    metric(f, "repair_capped_blocks_total", "counter",
           "Repair blocks not sent: repair budget spent.", st->repair_capped_blocks);
    metric(f, "stream_bytes_total", "counter",
           "Payload bytes streamed to tree-only or catching-up children.", st->stream_bytes);
    metric(f, "tx_dgrams_total", "counter", "Datagrams the kernel accepted.", us->tx_dgrams);
    metric(f, "tx_wire_bytes_total", "counter",
           "Bytes sent on the wire (UDP payload + IP, UDP and Ethernet framing).",
           us->tx_wire_bytes);
    metric(f, "tx_again_total", "counter", "Datagrams not sent: socket buffer full.", us->tx_again);
    metric(f, "tx_errors_total", "counter", "Datagrams not sent: other errors.", us->tx_errors);
    metric(f, "rx_dgrams_total", "counter", "Datagrams received.", us->rx_dgrams);
    metric(f, "rx_drops_total", "counter", "Datagrams the kernel dropped: receive buffer full.",
           us->rx_drops);
    metric(f, "rx_bad_total", "counter", "Datagrams refused by the codec.", st->rx_bad);
    metric(f, "rx_forged_total", "counter",
           "Datagrams with a wrong session, epoch, token or address.", st->rx_forged);
    metric(f, "joins_total", "counter", "JOINs accepted.", st->joins);
    metric(f, "rejects_total", "counter", "REJECTs sent.", st->rejects);
    metric(f, "rounds_total", "counter", "Multicast rounds started.", st->rounds);
    metric(f, "repair_reqs_total", "counter", "REPAIR_REQs accepted.", st->repair_reqs);
    metric(f, "stragglers_total", "counter", "Nodes demoted to catching-up leaves.",
           st->stragglers);
    metric(f, "nodes_dead_total", "counter", "Nodes declared dead.", st->nodes_dead);
    metric(f, "rate_changes_total", "counter", "Rate decisions that changed the rate.",
           st->rate_changes);
    metric(f, "persists_total", "counter", "Session states written.", st->persists);
    metric_head(f, "node_chunks_done", "gauge", "Chunks a node has verified.");
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++)
        if (ni.state != TC_SEEDER_NODE_FREE)
            fprintf(f, "treecast_node_chunks_done{index=\"%" PRIu32 "\",mac=\"%s\"} %" PRIu32 "\n",
                    i, mac_str(mac, ni.node_id), ni.chunks_done);
    metric_head(f, "node_repair_bytes_total", "counter", "DATA payload bytes unicast to a node.");
    for (i = 0; i < sv->nodes_max && tc_seeder_node(sv->seeder, i, &ni) == 0; i++)
        if (ni.state != TC_SEEDER_NODE_FREE)
            fprintf(f,
                    "treecast_node_repair_bytes_total{index=\"%" PRIu32 "\",mac=\"%s\"} %" PRIu64
                    "\n",
                    i, mac_str(mac, ni.node_id), ni.unicast_bytes);
}

/**
 * The --stats file: the session with its nodes, written atomically.
 */
int tc_serve_write_stats(struct tc_serve *sv, const char *path, struct tc_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    f = open_memstream(&buf, &len);
    if (!f)
        return tc_err_set(err, -ENOMEM, "out of memory for the statistics of %s", path);
    tc_serve_json_session(sv, f, 1);
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(buf);
        return tc_err_set(err, -ENOMEM, "out of memory for the statistics of %s", path);
    }
    rc = tc_cli_write_file(path, buf, len, 0644, 1, err);
    free(buf);
    return rc;
}
