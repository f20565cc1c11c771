/* SPDX-License-Identifier: MIT */
/*
 * treecast-agent internals: the process around the protocol core
 * (lib/agent.c). main.c reads the configuration and reports; run.c opens the
 * interface, socket and target and drives the core from one ppoll() loop;
 * resume.c finds what an interrupted run left on the target.
 */
#ifndef TREECAST_AGENT_MAIN_H
#define TREECAST_AGENT_MAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "treecast/agent.h"
#include "treecast/agentcfg.h"
#include "treecast/disk.h"
#include "treecast/trust.h"
#include "treecast/udp.h"

/** Memory for the core's chunk-sized buffers (cache slots, write buffers,
 * chunk 0 and two read-back buffers), bytes: with the binary, the manifest
 * and the socket ring this keeps RSS under 64 MiB. */
#define AG_CHUNK_BUF_BUDGET (40u * 1024 * 1024)
/** Chunk-sized buffers the core holds besides cache slots and writes. */
#define AG_CORE_FIXED_BUFS 3u
/** Write buffers in flight to the disk, at most (well below TC_DISK_QUEUE_MAX,
 * so a submit never finds the queue full: the core adds one sync). */
#define AG_WRITES_MAX 8u
/** Chunk size assumed before the manifest is known, bytes; a larger one
 * restarts the core with buffers sized for it. */
#define AG_CHUNK_SIZE_GUESS (1024u * 1024)
/** A regular-file target can grow to this size, bytes (announced as the
 * disk size; the file system's free space is checked once the image is known). */
#define AG_FILE_SIZE_MAX (1ull << 50)
/** Read-back completions waiting for the loop, at most. */
#define AG_READS_MAX 8u
/** Write requests tracked for bytes_written, at most (>= TC_DISK_QUEUE_MAX). */
#define AG_WRITES_TRACKED TC_DISK_QUEUE_MAX
/** Without multicast for this long in MANIFEST/RECEIVING, re-join the group, ns. */
#define AG_REJOIN_NS 1000000000ull
/** Progress line interval at info level, ns. */
#define AG_PROGRESS_NS 5000000000ull
/** Receive batches handled per loop turn before disk events and timers. */
#define AG_RX_BATCHES_PER_TURN 16u
/** Core restarts (bigger chunks, a refused resume) per run, at most. */
#define AG_RESTARTS_MAX 2u
/** Largest manifest + signature block copy kept after the marker, bytes. */
#define AG_EXTRA_MAX TC_CHUNK_SIZE_WIRE_MAX

/** One read-back done synchronously, reported from the loop. */
struct ag_read_done {
    uint64_t cookie; /**< the core's cookie */
    int rc;          /**< 0 or a negative errno */
};

/** One write in flight (for the bytes_written counter). */
struct ag_write {
    uint64_t cookie; /**< the core's cookie */
    uint64_t len;    /**< bytes (0 for zero ranges: nothing is written) */
    int used;        /**< slot in use */
};

/** The agent process. */
struct ag {
    struct tc_agentcfg cfg;     /**< configuration */
    int cmdline_is_proc;        /**< cfg came from /proc/cmdline (reboot allowed) */
    const char *stats_path;     /**< --stats FILE, or NULL */
    struct tc_udp_iface ifc;    /**< the interface */
    struct tc_udp *udp;         /**< socket bound to INADDR_ANY:seeder port */
    struct tc_udp *udp_group;   /**< second socket for a group port that differs, or NULL */
    struct tc_proto_peer group; /**< the joined group (addr 0: none) */
    uint64_t last_mcast_ns;     /**< last multicast datagram (or the join) */
    uint64_t last_rejoin_ns;    /**< last re-join */
    uint64_t rejoins;           /**< re-joins done */
    char disk_path[TC_AGENTCFG_VALUE_MAX]; /**< the target's path */
    struct tc_disk *disk;                  /**< the open target */
    struct tc_trust trust;                 /**< trusted keys */
    struct tc_manifest *man;               /**< accepted manifest (owned), or NULL */
    struct tc_agent *core;                 /**< the protocol core */
    struct tc_agent_cfg core_cfg;          /**< its configuration */
    uint8_t *held;                         /**< resume bitmap, or NULL */
    uint32_t held_chunks;                  /**< chunks it covers */
    uint32_t chunks_held;                  /**< chunks found correct at start */
    uint8_t pin[TC_SHA256_LEN];            /**< resumed image's digest */
    int have_pin;                          /**< pin valid */
    double resume_s;                       /**< seconds spent checking the target */
    uint32_t chunk_size_max;               /**< the core's buffer size */
    uint32_t restart_chunk_size; /**< manifest_accept asks for a restart with these buffers */
    unsigned restarts;           /**< restarts done */
    int fail_exit;               /**< exit code class set by an op that failed (0: none) */
    struct ag_read_done reads[AG_READS_MAX];   /**< read-backs to report */
    unsigned nreads;                           /**< entries in reads */
    struct ag_write writes[AG_WRITES_TRACKED]; /**< writes in flight */
    uint64_t bytes_written;                    /**< bytes the disk reported written */
    uint64_t rng;                              /**< xorshift state */
    uint64_t t0_ns;                            /**< start */
    uint64_t next_progress_ns;                 /**< next progress line */
    struct tc_agent_stats last;                /**< core counters (kept across restarts) */
    enum tc_agent_state state;                 /**< last core state */
    char error[TC_ERR_MSG_MAX];                /**< the error that ended the run, or "" */
};

/** Set by the SIGINT/SIGTERM handler. */
extern volatile sig_atomic_t tc_ag_interrupted;

/* Monotonic clock, ns. */
uint64_t tc_ag_now_ns(void);

/* "treecast-agent: ..." on stderr if level <= the configured level. */
void tc_ag_log(const struct ag *g, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Open interface, trust, target and socket; resume; run until RELEASED or an
 * error; returns an exit code (exitcode.h), g->error says why. */
int tc_ag_run(struct ag *g);

/* Release what tc_ag_run() opened. */
void tc_ag_cleanup(struct ag *g);

/*
 * Resume by content: if the target's marker carries a manifest and signature
 * block that pass the trust policy for the wanted image, check every chunk
 * but chunk 0 on the target and set g->held, g->pin. Never fails the run:
 * anything wrong means "start from scratch" and is logged.
 */
void tc_ag_resume(struct ag *g);

/*
 * The marker's extra bytes: manifest and signature block, each preceded by
 * its length (4 bytes, big-endian). Returns a malloc()ed buffer.
 */
uint8_t *tc_ag_extra_pack(const uint8_t *man, size_t man_len, const uint8_t *sig, size_t sig_len,
                          size_t *len);

/* Split extra bytes back; 0 or -EBADMSG. The pointers point into buf. */
int tc_ag_extra_split(const uint8_t *buf, size_t len, const uint8_t **man, size_t *man_len,
                      const uint8_t **sig, size_t *sig_len);

/* Parse and check a manifest and signature block against the trust policy
 * for the wanted image and the clock; *out on success (caller frees). */
int tc_ag_manifest_check(struct ag *g, const uint8_t *man, size_t man_len, const uint8_t *sig,
                         size_t sig_len, struct tc_manifest **out, struct tc_err *err);

#endif /* TREECAST_AGENT_MAIN_H */
