/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of `treecast serve` (server/cmd_serve.c): the session
 * context that the main loop owns, and what the status renderers
 * (server/serve_json.c) and the HTTP endpoint (server/serve_http.c) read
 * from it. One thread: the HTTP handlers run inside tc_serve_http_run(),
 * called by the main loop, so they read the seeder core between two of its
 * calls, never concurrently.
 */
#ifndef TREECAST_SERVER_SERVE_H
#define TREECAST_SERVER_SERVE_H

#include <stdint.h>
#include <stdio.h>

#include "treecast/err.h"
#include "treecast/imgfile.h"
#include "treecast/seeder.h"
#include "treecast/udp.h"

/** Time between two samples of the nodes' progress for their rates, ns. */
#define TC_SERVE_RATE_SAMPLE_NS (1000ull * 1000 * 1000)
/** Weight of the newest sample in a node's smoothed rate, percent. */
#define TC_SERVE_RATE_WEIGHT_PERCENT 50u
/** HTTP connections served at once, connections. */
#define TC_SERVE_HTTP_CONNECTIONS_MAX 32u
/** An HTTP connection idle this long is closed, seconds. */
#define TC_SERVE_HTTP_IDLE_S 10u

/** What the serve command knows about one node besides the core's view. */
struct tc_serve_node {
    uint32_t sample_chunks; /**< chunks_done at the last rate sample */
    uint64_t sample_ns;     /**< time of that sample (0: none yet) */
    uint64_t rate_bps;      /**< smoothed raw bytes per second x 8 (bit/s) */
};

/** A running `treecast serve`. */
struct tc_serve {
    const char *image_path;      /**< the .tcimg as given */
    struct tc_imgfile *img;      /**< the image, mapped */
    struct tc_seeder *seeder;    /**< the protocol core */
    struct tc_udp *udp;          /**< the one socket */
    struct tc_udp_iface iface;   /**< the interface served */
    struct tc_proto_peer local;  /**< control address and port */
    struct tc_proto_peer group;  /**< multicast group and port */
    uint64_t start_ns;           /**< CLOCK_MONOTONIC when the session started */
    uint32_t nodes_max;          /**< node table size of the core */
    struct tc_serve_node *nodes; /**< nodes_max entries */
    uint64_t rate_sample_ns;     /**< next rate sample */
    int tree_only;               /**< --tree-only */
    int rate_auto;               /**< --rate auto */
    const char *phase;           /**< overrides the derived session state when set
                                      ("stopped" after a signal, "failed") */
};

/* Monotonic clock, ns. */
uint64_t tc_serve_now_ns(void);

/* Sample the nodes' chunks_done for their rates (every TC_SERVE_RATE_SAMPLE_NS). */
void tc_serve_sample_rates(struct tc_serve *sv, uint64_t now);

/*
 * The session object of GET /api/v1/session ("{...}" without a newline);
 * with_nodes adds "nodes": [the /api/v1/nodes array] (the --stats file).
 */
void tc_serve_json_session(struct tc_serve *sv, FILE *f, int with_nodes);
/* The array of GET /api/v1/nodes. */
void tc_serve_json_nodes(struct tc_serve *sv, FILE *f);
/* The Prometheus text exposition of GET /metrics. */
void tc_serve_metrics(struct tc_serve *sv, FILE *f);
/*
 * Write the session JSON with the nodes to path atomically (temporary file,
 * fsync, rename). 0 or a negative errno with err naming the file.
 */
int tc_serve_write_stats(struct tc_serve *sv, const char *path, struct tc_err *err);

/** The HTTP status endpoint (libmicrohttpd, driven by the main loop). */
struct tc_serve_http;

/*
 * Listen on addr (host order):port and serve sv's status. -EADDRINUSE etc.
 * with err naming the address.
 */
int tc_serve_http_start(struct tc_serve_http **out, struct tc_serve *sv, uint32_t addr,
                        uint16_t port, struct tc_err *err);
/* The descriptor to poll for input (the daemon's epoll descriptor). */
int tc_serve_http_fd(const struct tc_serve_http *h);
/* Milliseconds until the daemon wants tc_serve_http_run() without input (-1: none). */
int64_t tc_serve_http_timeout_ms(const struct tc_serve_http *h);
/* Do what is ready: accept, read, answer, time out idle connections. */
void tc_serve_http_run(struct tc_serve_http *h);
/* Close every connection and the listener (NULL allowed). */
void tc_serve_http_stop(struct tc_serve_http *h);

#endif /* TREECAST_SERVER_SERVE_H */
