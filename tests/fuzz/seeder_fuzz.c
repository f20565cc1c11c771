// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_seeder_on_packet() and tc_seeder_on_timer() of one seeder
 * built once (static) with a small real image and six proven nodes, so that
 * inputs reach every state: rounds, repair gathering, reports, DONE,
 * release. Each input is handed in as it is (from node 0's address), then
 * again with its header's session id, epoch and token replaced by valid ones
 * of the node its last token byte selects (from that node's address), so that
 * bodies are judged by the state machine and not only by the codec. Between
 * inputs the virtual clock moves and on_timer runs. Every datagram the
 * seeder sends must decode.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/chunk.h"
#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"
#include "treecast/seeder.h"
#include "treecast/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Image: chunks of 64 KiB raw (chunk 1 ZERO, 2 compressible, 0 and 3 random). */
#define FZ_CHUNKS 4u
#define FZ_CHUNK_SIZE TC_CHUNK_SIZE_MIN
/** Segment size, bytes. */
#define FZ_SEG 716u
/** Proven nodes built at start. */
#define FZ_NODES 6u
/** Inputs after which the seeder is built again from scratch (its state
 * drifts: nodes restart, finish, get released), inputs. */
#define FZ_RESET_INPUTS 20000u
/** Header offsets rewritten in the second pass (docs/protocol.md section 3.2). */
#define FZ_OFF_SESSION 8
#define FZ_OFF_EPOCH 16
#define FZ_OFF_TOKEN 20

/** The static fixture. */
static struct {
    int ready;                       /**< built */
    uint8_t *stored[FZ_CHUNKS];      /**< stored bytes per chunk */
    struct tc_manifest *m;           /**< manifest */
    uint8_t sig[64];                 /**< stand-in signature block */
    struct tc_seeder *s;             /**< the seeder */
    uint64_t now;                    /**< virtual clock, ns */
    uint64_t rng;                    /**< xorshift state */
    uint64_t token[FZ_NODES];        /**< tokens from the WELCOMEs */
    uint8_t buf[TC_WIRE_DGRAM_MAX];  /**< second-pass datagram */
    struct tc_wire_msg last_welcome; /**< the last WELCOME sent (setup) */
    int have_welcome;                /**< last_welcome is valid */
    uint32_t inputs;                 /**< inputs since the seeder was built */
} fz;

/** Every datagram the seeder sends must decode. */
static int fz_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    struct tc_wire_msg m;
    size_t i;

    (void)ctx;
    assert(n >= 1 && n <= TC_SEEDER_BATCH_MAX);
    for (i = 0; i < n; i++) {
        assert(d[i].len <= TC_WIRE_DGRAM_MAX);
        assert(tc_wire_decode(d[i].buf, d[i].len, &m) == 0);
        if (m.hdr.type == TC_WIRE_WELCOME) {
            fz.last_welcome = m;
            fz.have_welcome = 1;
            /* a node that restarted (JOIN with another token): follow its new token */
            if (fz.ready && m.u.welcome.node_index < FZ_NODES)
                fz.token[m.u.welcome.node_index] = m.hdr.token;
        }
    }
    return (int)n;
}

static const uint8_t *fz_chunk_bytes(void *ctx, uint32_t index)
{
    (void)ctx;
    return index < FZ_CHUNKS ? fz.stored[index] : NULL;
}

static uint64_t fz_random(void *ctx)
{
    (void)ctx;
    fz.rng ^= fz.rng << 13;
    fz.rng ^= fz.rng >> 7;
    fz.rng ^= fz.rng << 17;
    return fz.rng;
}

static void fz_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    assert(msg != NULL);
}

static const struct tc_seeder_ops fz_ops = {
    .send = fz_send,
    .chunk_bytes = fz_chunk_bytes,
    .random = fz_random,
    .log = fz_log,
};

/** Node k's address. */
static struct tc_proto_peer fz_addr(uint32_t k)
{
    struct tc_proto_peer p = {.addr = 0x0a000001u + k, .port = (uint16_t)(9000 + k)};

    return p;
}

/** Encode and deliver msg from node k. */
static void fz_deliver(const struct tc_wire_msg *msg, uint32_t k)
{
    int n = tc_wire_encode(msg, fz.buf, sizeof(fz.buf));

    assert(n > 0);
    assert(tc_seeder_on_packet(fz.s, fz.now, fz_addr(k), fz.buf, (size_t)n) == 0);
}

/** Build the image (once). */
static void fz_image(void)
{
    struct tc_manifest_chunk chunks[FZ_CHUNKS];
    uint8_t list_hash[FZ_CHUNKS * TC_SHA256_LEN], raw[FZ_CHUNK_SIZE];
    uint8_t hl[(FZ_CHUNK_SIZE / FZ_SEG + 1) * TC_WIRE_SEG_HASH_LEN];
    struct tc_manifest_params p;
    struct tc_err err = {0};
    uint32_t i, j;

    fz.rng = 0x2545f4914f6cdd1dull;
    for (i = 0; i < FZ_CHUNKS; i++) {
        enum tc_enc enc;
        size_t sl;

        for (j = 0; j < FZ_CHUNK_SIZE; j++)
            raw[j] = i == 1   ? 0
                     : i == 2 ? (uint8_t)("seeder fuzz "[j % 12])
                              : (uint8_t)fz_random(NULL);
        fz.stored[i] = malloc(FZ_CHUNK_SIZE);
        assert(fz.stored[i]);
        assert(tc_chunk_encode(raw, FZ_CHUNK_SIZE, TC_CHUNK_LEVEL_DEFAULT, fz.stored[i], &enc, &sl,
                               &err) == 0);
        memset(&chunks[i], 0, sizeof(chunks[i]));
        chunks[i].stored_len = (uint32_t)sl;
        chunks[i].enc = (uint8_t)enc;
        tc_sha256(fz.stored[i], sl, chunks[i].stored_hash);
        tc_sha256(raw, FZ_CHUNK_SIZE, chunks[i].raw_hash);
        tc_proto_hash_list(NULL, fz.stored[i], sl, FZ_SEG, hl);
        tc_manifest_list_hash(hl, tc_proto_nsegs(sl, FZ_SEG) * TC_WIRE_SEG_HASH_LEN,
                              list_hash + i * TC_SHA256_LEN);
    }
    memset(&p, 0, sizeof(p));
    p.name = "demo";
    p.version = "1.0";
    p.raw_size = FZ_CHUNKS * FZ_CHUNK_SIZE;
    p.chunk_size = FZ_CHUNK_SIZE;
    p.created = 1767225600;
    p.not_after = TC_TIME_NEVER;
    p.seg_size = FZ_SEG;
    p.list_hash = list_hash;
    assert(tc_manifest_build(&p, chunks, FZ_CHUNKS, NULL, &fz.m, &err) == 0);
    memset(fz.sig, 0x5c, sizeof(fz.sig));
}

/** Build the seeder and FZ_NODES proven nodes (the image exists). */
static void fz_seeder(void)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg msg;
    struct tc_err err = {0};
    uint32_t k;

    tc_seeder_free(fz.s);
    fz.s = NULL;
    fz.ready = 0;
    fz.rng = 0x2545f4914f6cdd1dull;
    memset(&cfg, 0, sizeof(cfg));
    cfg.manifest = fz.m;
    cfg.sigblock = fz.sig;
    cfg.sigblock_len = sizeof(fz.sig);
    cfg.group.addr = 0xef000001u;
    cfg.group.port = 7000;
    cfg.mtu = 1500;
    cfg.rate_bps = 1000000000ull;
    cfg.fanout = 2;
    cfg.nodes_max = 16;
    cfg.min_nodes = 2;
    cfg.start_wait_ns = 10000000ull;
    tc_proto_limits_default(&cfg.limits);
    fz.now = 1000;
    assert(tc_seeder_new(&fz.s, &cfg, &fz_ops, NULL, fz.now, &err) == 0);
    for (k = 0; k < FZ_NODES; k++) {
        memset(&msg, 0, sizeof(msg));
        msg.hdr.type = TC_WIRE_JOIN;
        msg.u.join.node_id[0] = 0x02;
        msg.u.join.node_id[5] = (uint8_t)(k + 1);
        msg.u.join.mtu = 1500;
        msg.u.join.nonce = 0x1000 + k;
        msg.u.join.disk_size = (uint64_t)FZ_CHUNKS * FZ_CHUNK_SIZE;
        msg.u.join.name_len = 4;
        memcpy(msg.u.join.name, "demo", 4);
        fz.have_welcome = 0;
        fz_deliver(&msg, k);
        assert(fz.have_welcome && fz.last_welcome.u.welcome.node_index == k);
        fz.token[k] = fz.last_welcome.hdr.token;
        memset(&msg, 0, sizeof(msg));
        msg.hdr.type = TC_WIRE_HEARTBEAT;
        msg.hdr.session_id = tc_seeder_session_id(fz.s);
        msg.hdr.epoch = tc_seeder_epoch(fz.s);
        msg.hdr.token = fz.token[k];
        msg.u.heartbeat.seq = 1;
        fz_deliver(&msg, k);
    }
    fz.ready = 1;
    fz.inputs = 0;
}

/** Advance the clock by step ns and run what is due. */
static void fz_tick(uint64_t step)
{
    uint64_t d;
    int i;

    fz.now += step;
    for (i = 0; i < 64; i++) {
        d = tc_seeder_next_deadline(fz.s);
        if (d == TC_PROTO_NEVER || d > fz.now)
            break;
        assert(tc_seeder_on_timer(fz.s, fz.now) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t k;

    if (!fz.m)
        fz_image();
    if (!fz.ready || ++fz.inputs >= FZ_RESET_INPUTS)
        fz_seeder();
    if (size > TC_WIRE_DGRAM_MAX + 64)
        return 0;
    /* as it is, from node 0 */
    assert(tc_seeder_on_packet(fz.s, fz.now, fz_addr(0), data, size) == 0);
    fz_tick(100000);
    /* with a valid session, epoch and token of node k, from node k */
    if (size >= TC_WIRE_HDR_LEN && size <= TC_WIRE_DGRAM_MAX) {
        k = data[TC_WIRE_HDR_LEN - 1] % FZ_NODES;
        memcpy(fz.buf, data, size);
        tc_put_be64(fz.buf + FZ_OFF_SESSION, tc_seeder_session_id(fz.s));
        tc_put_be32(fz.buf + FZ_OFF_EPOCH, tc_seeder_epoch(fz.s));
        tc_put_be64(fz.buf + FZ_OFF_TOKEN, fz.token[k]);
        assert(tc_seeder_on_packet(fz.s, fz.now, fz_addr(k), fz.buf, size) == 0);
    }
    fz_tick((uint64_t)(size % 8) * 1000000 + 1000);
    assert(tc_seeder_stats(fz.s)->nodes <= 16);
    return 0;
}
