// SPDX-License-Identifier: MIT
/*
 * Unit tests for lib/seeder.c: a small real image built in memory, a fake
 * ops table that records every datagram (decoded here with tc_wire_decode)
 * and encoded datagrams driving the seeder on a virtual clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treecast/chunk.h"
#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"
#include "treecast/seeder.h"
#include "treecast/seedstate.h"
#include "treecast/wire.h"

/** Image geometry: 8 chunks of 64 KiB raw, the last one shorter. */
#define IMG_CHUNKS 8u
#define IMG_CHUNK_SIZE TC_CHUNK_SIZE_MIN
#define IMG_RAW_SIZE (IMG_CHUNKS * IMG_CHUNK_SIZE - 5000u)
/** Segment size: two segments per full block at MTU 1500. */
#define SEG 716u
/** Session MTU and the full block it gives. */
#define MTU 1500u
#define BLOCK 1432u
/** Records kept, datagrams. */
#define REC_MAX 4096u
/** Multicast group. */
#define GROUP_ADDR 0xef000001u
#define GROUP_PORT 7000u
/** Milliseconds in ns. */
#define MS 1000000ull

/** One recorded datagram, or one block of a send_blocks run. */
struct rec {
    uint64_t t;                     /**< virtual time it left */
    struct tc_proto_peer to;        /**< destination */
    size_t len;                     /**< datagram length (0 for a send_blocks block) */
    uint8_t buf[TC_WIRE_DGRAM_MAX]; /**< datagram */
    int from_blocks;                /**< came through send_blocks */
    uint8_t object;                 /**< send_blocks: object */
    uint32_t index, offset, blen;   /**< send_blocks: index, offset, length */
    int unicast;                    /**< send_blocks: unicast */
    uint64_t token;                 /**< send_blocks: token */
    const uint8_t *payload;         /**< send_blocks: payload (borrowed) */
};

/** The test image. */
struct image {
    uint8_t *raw;                /**< raw bytes */
    uint8_t *stored[IMG_CHUNKS]; /**< stored bytes per chunk */
    struct tc_manifest *m;       /**< manifest with a block-hash section */
    uint8_t sig[200];            /**< a stand-in signature block */
};

/** Fake environment. */
struct env {
    uint64_t now;        /**< virtual time */
    struct tu_prng prng; /**< ops->random */
    struct rec *rec;     /**< REC_MAX records */
    uint32_t nrec;       /**< records used */
    uint64_t ndgrams;    /**< datagrams (or blocks) seen, including unrecorded */
    uint64_t wire_bytes; /**< UDP payload + TC_PROTO_WIRE_OVERHEAD of all of them */
    struct image *img;   /**< the image (chunk_bytes) */
    char lastlog[4096];  /**< last log line */
    int nlogs;           /**< log lines */
};

static struct image img;

static void rec_add(struct env *e, struct tc_proto_peer to, const uint8_t *buf, size_t len)
{
    e->ndgrams++;
    e->wire_bytes += len + TC_PROTO_WIRE_OVERHEAD;
    if (e->nrec == REC_MAX)
        return;
    memset(&e->rec[e->nrec], 0, offsetof(struct rec, buf));
    e->rec[e->nrec].t = e->now;
    e->rec[e->nrec].to = to;
    e->rec[e->nrec].len = len;
    memcpy(e->rec[e->nrec].buf, buf, len);
    e->nrec++;
}

static int op_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    struct env *e = ctx;
    size_t i;

    assert_true(n >= 1 && n <= TC_SEEDER_BATCH_MAX);
    for (i = 0; i < n; i++)
        rec_add(e, d[i].to, d[i].buf, d[i].len);
    return (int)n;
}

static int op_send_blocks(void *ctx, const struct tc_proto_blocks *b)
{
    struct env *e = ctx;
    uint32_t j, off = b->offset, len;

    assert_true(b->nblocks >= 1 && b->nblocks <= TC_PROTO_TRAIN_BLOCKS_MAX);
    for (j = 0; j < b->nblocks; j++) {
        len = j + 1 < b->nblocks ? b->block_len : b->offset + b->total_len - off;
        assert_true(len >= 1 && len <= b->block_len);
        e->ndgrams++;
        e->wire_bytes += TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN + len + TC_PROTO_WIRE_OVERHEAD;
        if (e->nrec < REC_MAX) {
            struct rec *r = &e->rec[e->nrec++];

            memset(r, 0, offsetof(struct rec, buf));
            r->t = e->now;
            r->to = b->peer;
            r->from_blocks = 1;
            r->object = b->object;
            r->index = b->index;
            r->offset = off;
            r->blen = len;
            r->unicast = b->unicast;
            r->token = b->token;
            r->payload = b->payload ? b->payload + (off - b->offset) : NULL;
        }
        off += len;
    }
    return 0;
}

static const uint8_t *op_chunk_bytes(void *ctx, uint32_t index)
{
    struct env *e = ctx;

    return index < IMG_CHUNKS ? e->img->stored[index] : NULL;
}

static uint64_t op_random(void *ctx)
{
    return tu_prng_next(&((struct env *)ctx)->prng);
}

static void op_log(void *ctx, int level, const char *msg)
{
    struct env *e = ctx;

    (void)level;
    snprintf(e->lastlog, sizeof(e->lastlog), "%s", msg);
    e->nlogs++;
}

static const struct tc_seeder_ops ops_dgram = {
    .send = op_send,
    .chunk_bytes = op_chunk_bytes,
    .random = op_random,
    .log = op_log,
};

static const struct tc_seeder_ops ops_blocks = {
    .send = op_send,
    .send_blocks = op_send_blocks,
    .chunk_bytes = op_chunk_bytes,
    .random = op_random,
    .log = op_log,
};

static const struct tc_seeder_ops ops_dataless = {
    .send = op_send,
    .random = op_random,
    .log = op_log,
};

/** Build the image once: chunks 1 and 4 ZERO, 0, 3, 6 RAW, the rest DEFLATE. */
static int image_setup(void **state)
{
    struct tc_manifest_chunk chunks[IMG_CHUNKS];
    struct tc_manifest_params p;
    uint8_t list_hash[IMG_CHUNKS * TC_SHA256_LEN];
    struct tu_prng prng;
    struct tc_err err = {0};
    uint32_t i, j;

    (void)state;
    img.raw = calloc(1, IMG_CHUNKS * IMG_CHUNK_SIZE);
    assert_non_null(img.raw);
    tu_prng_seed(&prng, 42);
    for (i = 0; i < IMG_CHUNKS; i++) {
        uint8_t *raw = img.raw + (size_t)i * IMG_CHUNK_SIZE;
        size_t rl = i + 1 < IMG_CHUNKS ? IMG_CHUNK_SIZE : IMG_RAW_SIZE - i * IMG_CHUNK_SIZE;
        enum tc_enc enc;
        size_t sl;
        uint8_t *hl;

        if (i % 3 == 0)
            tu_prng_fill(&prng, raw, rl);
        else if (i != 1 && i != 4)
            for (j = 0; j < rl; j++)
                raw[j] = (uint8_t)("treecast seeder test "[j % 21] + (j / 4096) % 3);
        img.stored[i] = malloc(rl);
        assert_non_null(img.stored[i]);
        assert_int_equal(
            tc_chunk_encode(raw, rl, TC_CHUNK_LEVEL_DEFAULT, img.stored[i], &enc, &sl, &err), 0);
        memset(&chunks[i], 0, sizeof(chunks[i]));
        chunks[i].stored_len = (uint32_t)sl;
        chunks[i].enc = (uint8_t)enc;
        tc_sha256(img.stored[i], sl, chunks[i].stored_hash);
        tc_sha256(raw, rl, chunks[i].raw_hash);
        hl = malloc(tc_proto_nsegs(sl, SEG) * TC_WIRE_SEG_HASH_LEN + 1);
        tc_proto_hash_list(NULL, img.stored[i], sl, SEG, hl);
        tc_manifest_list_hash(hl, tc_proto_nsegs(sl, SEG) * TC_WIRE_SEG_HASH_LEN,
                              list_hash + i * TC_SHA256_LEN);
        free(hl);
    }
    assert_int_equal(chunks[1].enc, TC_ENC_ZERO);
    assert_int_equal(chunks[4].enc, TC_ENC_ZERO);
    assert_int_equal(chunks[0].enc, TC_ENC_RAW);
    assert_int_equal(chunks[2].enc, TC_ENC_DEFLATE);
    memset(&p, 0, sizeof(p));
    p.name = "demo";
    p.version = "1.0";
    p.raw_size = IMG_RAW_SIZE;
    p.chunk_size = IMG_CHUNK_SIZE;
    p.created = TU_CREATED;
    p.not_after = TU_NOT_AFTER;
    p.seg_size = SEG;
    p.list_hash = list_hash;
    assert_int_equal(tc_manifest_build(&p, chunks, IMG_CHUNKS, NULL, &img.m, &err), 0);
    assert_int_equal(img.m->seg_size, SEG);
    for (i = 0; i < sizeof(img.sig); i++)
        img.sig[i] = (uint8_t)(i * 13 + 5);
    return 0;
}

static int image_teardown(void **state)
{
    uint32_t i;

    (void)state;
    for (i = 0; i < IMG_CHUNKS; i++)
        free(img.stored[i]);
    tc_manifest_free(img.m);
    free(img.raw);
    return 0;
}

/** A fixture: environment and seeder. */
struct fx {
    struct env e;             /**< fake environment */
    struct tc_seeder *s;      /**< the seeder */
    struct tc_seeder_cfg cfg; /**< its configuration */
    uint64_t token[64];       /**< node k's token (from its WELCOME) */
    uint32_t index[64];       /**< node k's index */
    uint32_t hb_seq[64];      /**< node k's heartbeat seq */
};

static void cfg_default(struct tc_seeder_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->manifest = img.m;
    c->sigblock = img.sig;
    c->sigblock_len = sizeof(img.sig);
    c->group.addr = GROUP_ADDR;
    c->group.port = GROUP_PORT;
    c->mtu = MTU;
    c->rate_bps = 100000000;
    c->fanout = 2;
    c->nodes_max = 64;
    c->min_nodes = 1;
    c->start_wait_ns = 1000 * MS;
    tc_proto_limits_default(&c->limits);
    /* most tests send no heartbeats: no node times out during them (the
     * liveness tests set their own limit) */
    c->limits.node_timeout_ns = 3600ull * 1000 * MS;
}

static void fx_open(struct fx *f, const struct tc_seeder_cfg *cfg, const struct tc_seeder_ops *ops)
{
    struct tc_err err = {0};
    int rc;

    memset(f, 0, sizeof(*f));
    f->e.rec = calloc(REC_MAX, sizeof(struct rec));
    assert_non_null(f->e.rec);
    f->e.img = &img;
    f->e.now = 1000;
    tu_prng_seed(&f->e.prng, 7);
    f->cfg = *cfg;
    rc = tc_seeder_new(&f->s, &f->cfg, ops, &f->e, f->e.now, &err);
    if (rc)
        fail_msg("tc_seeder_new: %s", err.msg);
}

static void fx_close(struct fx *f)
{
    tc_seeder_free(f->s);
    free(f->e.rec);
}

/** Node k's address. */
static struct tc_proto_peer addr_of(uint32_t k)
{
    struct tc_proto_peer p = {.addr = 0x0a000001u + k, .port = (uint16_t)(9000 + k)};

    return p;
}

/** Encode msg and hand it to the seeder from `from`. */
static void deliver(struct fx *f, const struct tc_wire_msg *msg, struct tc_proto_peer from)
{
    uint8_t buf[TC_WIRE_DGRAM_MAX];
    int n = tc_wire_encode(msg, buf, sizeof(buf));

    assert_true(n > 0);
    assert_int_equal(tc_seeder_on_packet(f->s, f->e.now, from, buf, (size_t)n), 0);
}

/** A JOIN of node k. */
static void join_msg(struct tc_wire_msg *m, uint32_t k)
{
    memset(m, 0, sizeof(*m));
    m->hdr.type = TC_WIRE_JOIN;
    m->u.join.node_id[0] = 0x02;
    m->u.join.node_id[5] = (uint8_t)(k + 1);
    m->u.join.node_id[4] = (uint8_t)((k + 1) >> 8);
    m->u.join.mtu = MTU;
    m->u.join.nonce = 0x1000 + k;
    m->u.join.disk_size = IMG_RAW_SIZE;
    m->u.join.name_len = 4;
    memcpy(m->u.join.name, "demo", 4);
}

/** Decode record i (must be a datagram). */
static void rec_decode(const struct fx *f, uint32_t i, struct tc_wire_msg *m)
{
    assert_true(i < f->e.nrec);
    assert_false(f->e.rec[i].from_blocks);
    assert_int_equal(tc_wire_decode(f->e.rec[i].buf, f->e.rec[i].len, m), 0);
}

/** The last datagram of this type to `to` at or after record `from`; -1 if none. */
static int find_msg(const struct fx *f, uint32_t from, uint8_t type, struct tc_proto_peer to,
                    struct tc_wire_msg *m)
{
    int i, found = -1;

    for (i = (int)from; i < (int)f->e.nrec; i++) {
        const struct rec *r = &f->e.rec[i];

        if (r->from_blocks || r->to.addr != to.addr || r->to.port != to.port)
            continue;
        if (tc_wire_decode(r->buf, r->len, m) == 0 && m->hdr.type == type)
            found = i;
    }
    if (found >= 0)
        rec_decode(f, (uint32_t)found, m);
    return found;
}

/** Count datagrams of this type at or after record from. */
static uint32_t count_type(const struct fx *f, uint32_t from, uint8_t type)
{
    struct tc_wire_msg m;
    uint32_t i, n = 0;

    for (i = from; i < f->e.nrec; i++)
        if (!f->e.rec[i].from_blocks && tc_wire_decode(f->e.rec[i].buf, f->e.rec[i].len, &m) == 0 &&
            m.hdr.type == type)
            n++;
    return n;
}

/** Node k joins: JOIN then WELCOME, whose token and index are kept. */
static void node_join(struct fx *f, uint32_t k)
{
    struct tc_wire_msg m, w;
    uint32_t mark = f->e.nrec;

    join_msg(&m, k);
    deliver(f, &m, addr_of(k));
    assert_true(find_msg(f, mark, TC_WIRE_WELCOME, addr_of(k), &w) >= 0);
    f->token[k] = w.hdr.token;
    f->index[k] = w.u.welcome.node_index;
}

/** A message from node k with its header filled. */
static void node_hdr(struct fx *f, struct tc_wire_msg *m, uint32_t k, uint8_t type)
{
    memset(m, 0, sizeof(*m));
    m->hdr.type = type;
    m->hdr.session_id = tc_seeder_session_id(f->s);
    m->hdr.epoch = tc_seeder_epoch(f->s);
    m->hdr.token = f->token[k];
}

/** Node k sends a HEARTBEAT (the first one proves its address). */
static void node_hb(struct fx *f, uint32_t k)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_HEARTBEAT);
    m.u.heartbeat.seq = ++f->hb_seq[k];
    m.u.heartbeat.state = TC_WIRE_STATE_RECEIVING;
    m.u.heartbeat.time_ns = f->e.now;
    deliver(f, &m, addr_of(k));
}

/** Run on_timer at every deadline up to `until`. */
static void run_until(struct fx *f, uint64_t until)
{
    uint64_t d;
    int guard = 0;

    for (;;) {
        d = tc_seeder_next_deadline(f->s);
        if (d == TC_PROTO_NEVER || d > until)
            break;
        if (d > f->e.now)
            f->e.now = d;
        assert_int_equal(tc_seeder_on_timer(f->s, f->e.now), 0);
        assert_true(++guard < 10000000);
    }
    if (f->e.now < until)
        f->e.now = until;
}

/** Let the first round pass (every node is then covered: section 6.2). */
static void fx_cover(struct fx *f)
{
    run_until(f, f->e.now + 5000 * MS);
}

/** One block as sent: (object, index, offset, len, payload, unicast, token, to). */
struct blk {
    uint8_t object;
    uint32_t index, offset, len;
    const uint8_t *payload;
    int unicast;
    uint64_t token;
    struct tc_proto_peer to;
};

/** Record i as a block; 0 if it is not DATA. */
static int rec_block(const struct fx *f, uint32_t i, struct blk *b, struct tc_wire_msg *m)
{
    const struct rec *r = &f->e.rec[i];

    if (r->from_blocks) {
        b->object = r->object;
        b->index = r->index;
        b->offset = r->offset;
        b->len = r->blen;
        b->payload = r->payload;
        b->unicast = r->unicast;
        b->token = r->token;
        b->to = r->to;
        return 1;
    }
    assert_int_equal(tc_wire_decode(r->buf, r->len, m), 0);
    if (m->hdr.type != TC_WIRE_DATA)
        return 0;
    b->object = m->u.data.object;
    b->index = m->u.data.index;
    b->offset = m->u.data.offset;
    b->len = m->u.data.len;
    b->payload = m->u.data.payload;
    b->unicast = (m->hdr.flags & TC_WIRE_DATA_F_UNICAST) != 0;
    b->token = m->hdr.token;
    b->to = r->to;
    return 1;
}

/** The bytes object (object, index) must have. */
static void expected_obj(uint8_t object, uint32_t index, const uint8_t **bytes, uint32_t *len,
                         uint8_t **owned)
{
    *owned = NULL;
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST:
        *bytes = img.m->bytes;
        *len = (uint32_t)img.m->len;
        return;
    case TC_WIRE_OBJ_SIGBLOCK:
        *bytes = img.sig;
        *len = sizeof(img.sig);
        return;
    case TC_WIRE_OBJ_CHUNK:
        *bytes = img.stored[index];
        *len = img.m->chunks[index].stored_len;
        return;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        *len = tc_proto_nsegs(img.m->chunks[index].stored_len, SEG) * TC_WIRE_SEG_HASH_LEN;
        *owned = malloc(*len + 1);
        tc_proto_hash_list(NULL, img.stored[index], img.m->chunks[index].stored_len, SEG, *owned);
        *bytes = *owned;
        return;
    default:
        *len = tc_proto_nsegs(img.m->len, SEG) * TC_WIRE_SEG_HASH_LEN;
        *owned = malloc(*len + 1);
        tc_proto_hash_list(NULL, img.m->bytes, img.m->len, SEG, *owned);
        *bytes = *owned;
        return;
    }
}

/**
 * Check that the multicast DATA from record `from` on is exactly one round:
 * the manifest objects (if with_manifest), then CHUNK_HASHES i and CHUNK i
 * of every non-ZERO chunk i with bit i in `chunks`, each object from offset
 * 0 in full blocks, with the right bytes. Returns the blocks checked.
 */
static uint32_t check_round(const struct fx *f, uint32_t from, int with_manifest, uint32_t chunks,
                            int bytes)
{
    uint8_t want_obj[3 + 2 * IMG_CHUNKS];
    uint32_t want_idx[3 + 2 * IMG_CHUNKS], nobj = 0, o = 0, off = 0, i, nblk = 0;
    struct tc_wire_msg m;
    struct blk b;

    if (with_manifest) {
        want_obj[nobj] = TC_WIRE_OBJ_MANIFEST_HASHES;
        want_idx[nobj++] = 0;
        want_obj[nobj] = TC_WIRE_OBJ_SIGBLOCK;
        want_idx[nobj++] = 0;
        want_obj[nobj] = TC_WIRE_OBJ_MANIFEST;
        want_idx[nobj++] = 0;
    }
    for (i = 0; i < IMG_CHUNKS; i++) {
        if (!(chunks >> i & 1u) || img.m->chunks[i].stored_len == 0)
            continue;
        want_obj[nobj] = TC_WIRE_OBJ_CHUNK_HASHES;
        want_idx[nobj++] = i;
        want_obj[nobj] = TC_WIRE_OBJ_CHUNK;
        want_idx[nobj++] = i;
    }
    for (i = from; i < f->e.nrec; i++) {
        const uint8_t *eb;
        uint32_t elen, want_len;
        uint8_t *owned;

        if (!rec_block(f, i, &b, &m) || b.unicast)
            continue;
        assert_int_equal(b.to.addr, GROUP_ADDR);
        assert_int_equal(b.to.port, GROUP_PORT);
        if (o >= nobj)
            fail_msg("block %u: extra block of object %u index %u offset %u", i, b.object, b.index,
                     b.offset);
        if (b.object != want_obj[o] || b.index != want_idx[o] || b.offset != off)
            fail_msg("block %u: object %u index %u offset %u, expected %u %u %u", i, b.object,
                     b.index, b.offset, want_obj[o], want_idx[o], off);
        expected_obj(b.object, b.index, &eb, &elen, &owned);
        want_len = elen - off < BLOCK ? elen - off : BLOCK;
        assert_int_equal(b.len, want_len);
        if (bytes)
            assert_memory_equal(b.payload, eb + off, b.len);
        else
            assert_true(b.payload == NULL || b.payload[0] == 0);
        free(owned);
        off += b.len;
        nblk++;
        if (off == elen) {
            o++;
            off = 0;
        }
    }
    assert_int_equal(o, nobj);
    assert_int_equal(off, 0);
    return nblk;
}

/* ------------------------------------------------------------------ */

static void test_join_welcome(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg j, w, w2;
    struct fx f;
    uint8_t d[TC_SHA256_LEN], *hl;
    uint32_t hl_len;
    int i;

    (void)state;
    cfg_default(&cfg);
    fx_open(&f, &cfg, &ops_dgram);
    join_msg(&j, 0);
    deliver(&f, &j, addr_of(0));
    assert_int_equal(f.e.nrec, 1);
    i = find_msg(&f, 0, TC_WIRE_WELCOME, addr_of(0), &w);
    assert_int_equal(i, 0);
    /* never larger than the JOIN (256 bytes at least) */
    assert_true(f.e.rec[0].len <= TC_WIRE_JOIN_MIN_LEN);
    assert_int_equal(w.u.welcome.nonce, j.u.join.nonce);
    assert_true(w.hdr.token != 0);
    assert_int_equal(w.hdr.session_id, tc_seeder_session_id(f.s));
    assert_int_equal(w.hdr.epoch, 1);
    assert_int_equal(w.u.welcome.node_index, 0);
    assert_int_equal(w.u.welcome.parent_index, TC_WIRE_INDEX_SEEDER);
    assert_int_equal(w.u.welcome.parent_addr, 0);
    assert_int_equal(w.u.welcome.depth, 1);
    assert_int_equal(w.u.welcome.seg_size, SEG);
    assert_int_equal(w.u.welcome.mtu, MTU);
    assert_int_equal(w.u.welcome.group_addr, GROUP_ADDR);
    assert_int_equal(w.u.welcome.rate_bps, cfg.rate_bps);
    assert_int_equal(w.u.welcome.manifest_len, img.m->len);
    assert_int_equal(w.u.welcome.sigblock_len, sizeof(img.sig));
    tc_sha256(img.m->bytes, img.m->len, d);
    assert_memory_equal(w.u.welcome.manifest_digest, d, TC_SHA256_LEN);
    hl_len = tc_proto_nsegs(img.m->len, SEG) * TC_WIRE_SEG_HASH_LEN;
    hl = malloc(hl_len);
    tc_proto_hash_list(NULL, img.m->bytes, img.m->len, SEG, hl);
    tc_sha256(hl, hl_len, d);
    free(hl);
    assert_memory_equal(w.u.welcome.manifest_hashes_digest, d, TC_SHA256_LEN);
    tc_sha256(img.sig, sizeof(img.sig), d);
    assert_memory_equal(w.u.welcome.sigblock_digest, d, TC_SHA256_LEN);
    assert_int_equal(tc_seeder_stats(f.s)->joins, 1);

    /* retransmission (the node's token in the header): the same WELCOME, new nonce */
    j.hdr.token = w.hdr.token;
    j.u.join.nonce = 0x7777;
    deliver(&f, &j, addr_of(0));
    assert_int_equal(find_msg(&f, 1, TC_WIRE_WELCOME, addr_of(0), &w2), 1);
    assert_int_equal(w2.hdr.token, w.hdr.token);
    assert_int_equal(w2.u.welcome.nonce, 0x7777);
    assert_int_equal(tc_seeder_stats(f.s)->joins, 1);
    assert_int_equal(tc_seeder_stats(f.s)->nodes, 1);

    /* no token while unproven (the WELCOME was lost): a retransmission */
    j.hdr.token = 0;
    j.u.join.nonce = 0x8888;
    deliver(&f, &j, addr_of(0));
    assert_int_equal(find_msg(&f, 2, TC_WIRE_WELCOME, addr_of(0), &w2), 2);
    assert_int_equal(w2.hdr.token, w.hdr.token);
    assert_int_equal(w2.u.welcome.nonce, 0x8888);

    /* restart (another token): a new token, same index */
    j.hdr.token = w.hdr.token ^ 1;
    deliver(&f, &j, addr_of(0));
    assert_int_equal(find_msg(&f, 3, TC_WIRE_WELCOME, addr_of(0), &w2), 3);
    assert_true(w2.hdr.token != w.hdr.token && w2.hdr.token != 0);
    assert_int_equal(w2.u.welcome.node_index, 0);
    assert_int_equal(tc_seeder_stats(f.s)->nodes, 1);

    /* nothing else was sent before an address proof */
    assert_int_equal(f.e.nrec, 4);
    assert_int_equal(tc_seeder_next_deadline(f.s), TC_PROTO_NEVER);
    fx_close(&f);
}

static void test_reject(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg j, r;
    struct fx f;
    uint32_t mark;

    (void)state;
    cfg_default(&cfg);
    cfg.limits.admit_burst = 2;
    cfg.limits.admit_per_s = 10;
    cfg.nodes_max = 3;
    fx_open(&f, &cfg, &ops_dgram);

    join_msg(&j, 0);
    j.u.join.name_len = 5;
    memcpy(j.u.join.name, "other", 5);
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, 0, TC_WIRE_REJECT, addr_of(0), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_NO_IMAGE);
    assert_int_equal(r.u.reject.nonce, j.u.join.nonce);
    assert_true(f.e.rec[0].len <= TC_WIRE_JOIN_MIN_LEN);

    join_msg(&j, 0);
    j.u.join.min_version_len = 3;
    memcpy(j.u.join.min_version, "1.1", 3);
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(0), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_NO_IMAGE);

    join_msg(&j, 0);
    j.hdr.flags = TC_WIRE_JOIN_F_PIN;
    memset(j.u.join.pin, 0xab, sizeof(j.u.join.pin));
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(0), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_NO_IMAGE);

    join_msg(&j, 0);
    j.u.join.disk_size = IMG_RAW_SIZE - 1;
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(0), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_DISK_SMALL);
    assert_int_equal(tc_seeder_stats(f.s)->rejects, 4);
    assert_int_equal(tc_seeder_stats(f.s)->nodes, 0);

    /* a good JOIN with the pin and a min_version below: admitted */
    join_msg(&j, 0);
    j.hdr.flags = TC_WIRE_JOIN_F_PIN;
    memcpy(j.u.join.pin, img.m->image_digest, TC_SHA256_LEN);
    j.u.join.min_version_len = 3;
    memcpy(j.u.join.min_version, "0.9", 3);
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_WELCOME, addr_of(0), &r) >= 0);
    node_join(&f, 1);
    /* the bucket (2) is empty: BUSY, retry after one token at 10/s = 100 ms */
    join_msg(&j, 2);
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(2));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(2), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_BUSY);
    assert_int_equal(r.u.reject.retry_after_ms, 100);
    /* 60 ms later: 40 ms to go */
    f.e.now += 60 * MS;
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(2));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(2), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_BUSY);
    assert_int_equal(r.u.reject.retry_after_ms, 40);
    f.e.now += 40 * MS;
    node_join(&f, 2);
    /* the table (3) is full */
    f.e.now += 1000 * MS;
    join_msg(&j, 3);
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(3));
    assert_true(find_msg(&f, mark, TC_WIRE_REJECT, addr_of(3), &r) >= 0);
    assert_int_equal(r.u.reject.reason, TC_WIRE_REJECT_FULL);
    assert_int_equal(tc_seeder_stats(f.s)->joins, 3);
    fx_close(&f);
}

/** The CHILDREN list parent k last received, as node indexes. */
static uint32_t children_of(struct fx *f, uint32_t k, uint32_t *out)
{
    struct tc_wire_msg m;
    uint32_t i;

    if (find_msg(f, 0, TC_WIRE_CHILDREN, addr_of(k), &m) < 0)
        return UINT32_MAX;
    for (i = 0; i < m.u.children.count; i++) {
        out[i] = m.u.children.children[i].node_index;
        assert_int_equal(m.u.children.children[i].token, f->token[out[i]]);
        assert_int_equal(m.u.children.children[i].addr, addr_of(out[i]).addr);
        assert_int_equal(m.u.children.children[i].port, addr_of(out[i]).port);
    }
    return m.u.children.count;
}

static void test_tree_messages(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg m;
    struct fx f;
    uint32_t k, kids[8];
    static const uint32_t parent[5] = {TC_WIRE_INDEX_SEEDER, TC_WIRE_INDEX_SEEDER, 0, 0, 1};
    static const uint32_t depth[5] = {1, 1, 2, 2, 2};

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100; /* no round in this test */
    fx_open(&f, &cfg, &ops_dgram);
    for (k = 0; k < 5; k++)
        node_join(&f, k);
    for (k = 0; k < 5; k++) {
        uint32_t mark = f.e.nrec;

        node_hb(&f, k);
        assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(k), &m) >= 0);
        assert_int_equal(m.hdr.token, f.token[k]);
        assert_int_equal(m.hdr.flags, 0);
        assert_int_equal(m.u.reparent.parent_index, parent[k]);
        assert_int_equal(m.u.reparent.depth, depth[k]);
        assert_true(m.u.reparent.generation == k + 1);
        if (parent[k] == TC_WIRE_INDEX_SEEDER) {
            assert_int_equal(m.u.reparent.parent_addr, 0);
            /* a direct child gets our HEARTBEAT back */
            assert_true(find_msg(&f, mark, TC_WIRE_HEARTBEAT, addr_of(k), &m) >= 0);
        } else {
            assert_int_equal(m.u.reparent.parent_addr, addr_of(parent[k]).addr);
            assert_int_equal(m.u.reparent.parent_port, addr_of(parent[k]).port);
            assert_true(find_msg(&f, mark, TC_WIRE_CHILDREN, addr_of(parent[k]), &m) >= 0);
            assert_int_equal(m.u.children.generation, k + 1);
            assert_int_equal(find_msg(&f, mark, TC_WIRE_HEARTBEAT, addr_of(k), &m), -1);
        }
        assert_int_equal(tc_seeder_node(f.s, k, &info), 0);
        assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
        assert_int_equal(info.parent, parent[k]);
        assert_int_equal(info.depth, depth[k]);
    }
    assert_int_equal(children_of(&f, 0, kids), 2);
    assert_int_equal(kids[0], 2);
    assert_int_equal(kids[1], 3);
    assert_int_equal(children_of(&f, 1, kids), 1);
    assert_int_equal(kids[0], 4);
    assert_int_equal(children_of(&f, 2, kids), UINT32_MAX);
    assert_int_equal(tc_seeder_node(f.s, 5, &info), -ENOENT);
    /* after a change, the next TC_SEEDER_TREE_RESEND_HEARTBEATS heartbeats
     * are answered with the tree messages again (a lost one costs one
     * heartbeat interval) */
    for (k = 0; k < TC_SEEDER_TREE_RESEND_HEARTBEATS; k++) {
        uint32_t mark = f.e.nrec;

        node_hb(&f, 0);
        node_hb(&f, 3);
        assert_int_equal(count_type(&f, mark, TC_WIRE_REPARENT), 2);
        assert_int_equal(count_type(&f, mark, TC_WIRE_CHILDREN), 1);
    }
    /* then every TC_SEEDER_REFRESH_HEARTBEATS heartbeats: REPARENT again, and
     * CHILDREN to a parent, with the current generation */
    {
        uint32_t mark = f.e.nrec, last = UINT32_MAX, gap = 0;

        for (k = 0; k < 4 * TC_SEEDER_REFRESH_HEARTBEATS; k++) {
            uint32_t before = f.e.nrec;

            node_hb(&f, 3);
            if (count_type(&f, before, TC_WIRE_REPARENT) == 1) {
                if (last != UINT32_MAX)
                    gap = k - last;
                last = k;
            } else {
                assert_int_equal(count_type(&f, before, TC_WIRE_REPARENT), 0);
            }
        }
        assert_int_equal(count_type(&f, mark, TC_WIRE_REPARENT), 4);
        assert_int_equal(gap, TC_SEEDER_REFRESH_HEARTBEATS);
        assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(3), &m) >= 0);
        assert_int_equal(m.u.reparent.parent_index, 0);
        assert_int_equal(m.u.reparent.generation, 5);
        mark = f.e.nrec;
        for (k = 0; k < TC_SEEDER_REFRESH_HEARTBEATS; k++)
            node_hb(&f, 0);
        assert_true(find_msg(&f, mark, TC_WIRE_CHILDREN, addr_of(0), &m) >= 0);
        assert_int_equal(m.u.children.count, 2);
        assert_int_equal(count_type(&f, mark, TC_WIRE_CHILDREN), 1);
    }
    fx_close(&f);
}

/** Proves nodes 0..n-1 and counts how many REPARENTs name the seeder as the parent. */
static uint32_t seeder_children(struct fx *f, uint32_t n, uint32_t expect_node_parent)
{
    struct tc_seeder_node_info info;
    struct tc_wire_msg m;
    uint32_t k, direct = 0, mark;

    for (k = 0; k < n; k++)
        node_join(f, k);
    for (k = 0; k < n; k++) {
        mark = f->e.nrec;
        node_hb(f, k);
        assert_true(find_msg(f, mark, TC_WIRE_REPARENT, addr_of(k), &m) >= 0);
        assert_int_equal(tc_seeder_node(f->s, k, &info), 0);
        assert_int_equal(info.parent, m.u.reparent.parent_index);
        if (m.u.reparent.parent_index == TC_WIRE_INDEX_SEEDER) {
            direct++;
            assert_int_equal(m.u.reparent.depth, 1);
        } else {
            /* every other node hangs under the seeder's first child, depth 2 */
            assert_int_equal(m.u.reparent.parent_index, expect_node_parent);
            assert_int_equal(m.u.reparent.depth, 2);
        }
    }
    return direct;
}

/** Root fan-out: the seeder keeps root_fanout direct children, the rest go under nodes. */
static void test_root_fanout(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder *s = NULL;
    struct tc_err err = {0};
    struct fx f;
    uint32_t kids[TC_WIRE_CHILDREN_MAX];

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100; /* no round in this test */
    cfg.fanout = 16;
    cfg.root_fanout = 2;
    fx_open(&f, &cfg, &ops_dgram);
    assert_int_equal(seeder_children(&f, 10, 0), 2);
    /* node 0 serves nodes 2..9 (slots 2 + 0*16 ..), node 1 nobody */
    assert_int_equal(children_of(&f, 0, kids), 8);
    assert_int_equal(kids[0], 2);
    assert_int_equal(kids[7], 9);
    assert_int_equal(children_of(&f, 1, kids), UINT32_MAX);
    fx_close(&f);

    /* 0: the default, TC_SEEDER_ROOT_FANOUT_DEFAULT */
    cfg.root_fanout = 0;
    fx_open(&f, &cfg, &ops_dgram);
    assert_int_equal(seeder_children(&f, 10, 0), TC_SEEDER_ROOT_FANOUT_DEFAULT);
    fx_close(&f);

    /* more than the fan-out is refused, naming the field */
    cfg.root_fanout = 17;
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 1000, &err), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "root fan-out 17"));
}

static void test_chain(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_seeder *s = NULL;
    struct tc_err err = {0};
    struct fx f;
    uint32_t k, kids[4];

    (void)state;
    cfg_default(&cfg);
    cfg.fanout = 1;
    cfg.nodes_max = 16;
    /* 16 nodes in a chain: 17 levels with a slow leaf, more than the wire's 16 */
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 0, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "levels deep"));
    cfg.nodes_max = 8;
    cfg.min_nodes = 100;
    fx_open(&f, &cfg, &ops_dgram);
    for (k = 0; k < 8; k++) {
        node_join(&f, k);
        node_hb(&f, k);
    }
    for (k = 0; k < 8; k++) {
        assert_int_equal(tc_seeder_node(f.s, k, &info), 0);
        assert_int_equal(info.depth, k + 1);
        assert_int_equal(info.parent, k == 0 ? TC_WIRE_INDEX_SEEDER : k - 1);
        if (k < 7) {
            assert_int_equal(children_of(&f, k, kids), 1);
            assert_int_equal(kids[0], k + 1);
        }
    }
    fx_close(&f);
}

static void test_config_errors(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder *s = NULL;
    struct tc_err err = {0};
    struct tc_manifest fake;

    (void)state;
    cfg_default(&cfg);
    fake = *img.m;
    fake.seg_size = 0;
    cfg.manifest = &fake;
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 0, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "block-hash"));
    assert_null(s);
    cfg_default(&cfg);
    cfg.mtu = 1280;
    cfg.manifest = &fake;
    fake.seg_size = 1300; /* more than one datagram at MTU 1280 */
    tc_err_clear(&err);
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 0, &err), -EINVAL);
    cfg_default(&cfg);
    cfg.fanout = 2;
    cfg.nodes_max = TC_SEEDER_NODES_MAX; /* 17 levels */
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 0, NULL), -EINVAL);
    cfg_default(&cfg);
    cfg.rate_bps = 0;
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, NULL, 0, NULL), -EINVAL);
    cfg_default(&cfg);
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dataless, NULL, 0, NULL), -EINVAL);
}

/** A seeder with nodes 0..n-1 joined and proven. */
static void fx_nodes(struct fx *f, uint32_t n)
{
    uint32_t k;

    for (k = 0; k < n; k++) {
        node_join(f, k);
        node_hb(f, k);
    }
}

static void test_rounds(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg j, m;
    struct fx f;
    uint32_t mark, nblk;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 2;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 1);
    /* one of two: waits (start_wait 1 s after the first proof) */
    assert_int_equal(tc_seeder_next_deadline(f.s), f.e.now + cfg.start_wait_ns);
    node_join(&f, 1);
    node_hb(&f, 1);
    assert_true(tc_seeder_next_deadline(f.s) <= f.e.now);
    mark = f.e.nrec;
    run_until(&f, f.e.now + 10000 * MS);
    nblk = check_round(&f, mark, 1, 0xff, 1);
    assert_true(nblk > 100);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 1);
    assert_int_equal(tc_seeder_stats(f.s)->mcast_blocks, nblk);
    assert_true(tc_seeder_next_deadline(f.s) >
                f.e.now + 1000 * 1000 * MS); /* only the liveness watch */

    /* a late node holding chunks 0..3 and 6: a round of the rest and the manifest */
    join_msg(&j, 2);
    j.u.join.nruns = 2;
    j.u.join.runs[0].first = 0;
    j.u.join.runs[0].count = 4;
    j.u.join.runs[1].first = 6;
    j.u.join.runs[1].count = 1;
    deliver(&f, &j, addr_of(2));
    assert_true(find_msg(&f, mark, TC_WIRE_WELCOME, addr_of(2), &m) >= 0);
    f.token[2] = m.hdr.token;
    node_hb(&f, 2);
    mark = f.e.nrec;
    run_until(&f, f.e.now + 10000 * MS);
    check_round(&f, mark, 1, (1u << 5) | (1u << 7), 1);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 2);
    fx_close(&f);
}

static void test_pacing(void **state)
{
    struct tc_seeder_cfg cfg;
    struct fx f;
    uint64_t t0, w0, want, got;
    uint32_t i;

    (void)state;
    cfg_default(&cfg);
    cfg.rate_bps = 1000000; /* a round lasts about 1.7 s */
    cfg.limits.pace_burst_bytes = 4096;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 1);
    run_until(&f, f.e.now + 100 * MS);
    t0 = f.e.now;
    w0 = f.e.wire_bytes;
    run_until(&f, t0 + 1000 * MS);
    want = cfg.rate_bps / 8;
    got = f.e.wire_bytes - w0;
    if (got < want * 98 / 100 || got > want * 102 / 100)
        fail_msg("paced %llu wire bytes in 1 s, expected %llu +- 2%%", (unsigned long long)got,
                 (unsigned long long)want);
    /* and conforming to the bucket: between any two datagrams, no more left
     * than the rate earned in between plus one burst (8 us per wire byte at
     * 1 Mbit/s). Datagrams leave in batches of about half a burst. */
    for (i = 1; i < f.e.nrec; i++) {
        uint64_t sum = 0, allowed;
        uint32_t j;

        if (f.e.rec[i].t <= t0)
            continue;
        for (j = i; j < f.e.nrec; j++) {
            sum += f.e.rec[j].len + TC_PROTO_WIRE_OVERHEAD;
            allowed = (f.e.rec[j].t - f.e.rec[i].t) / 8000ull + cfg.limits.pace_burst_bytes;
            if (sum > allowed)
                fail_msg("datagrams %u..%u: %llu wire bytes in %llu ns, at most %llu allowed", i, j,
                         (unsigned long long)sum, (unsigned long long)(f.e.rec[j].t - f.e.rec[i].t),
                         (unsigned long long)allowed);
        }
        /* never a batch of more than half a burst plus one datagram */
        sum = 0;
        for (j = i; j < f.e.nrec && f.e.rec[j].t == f.e.rec[i].t; j++)
            sum += f.e.rec[j].len + TC_PROTO_WIRE_OVERHEAD;
        assert_true(sum <=
                    cfg.limits.pace_burst_bytes / 2 + TC_WIRE_DGRAM_MAX + TC_PROTO_WIRE_OVERHEAD);
    }
    fx_close(&f);
}

/** Node k asks for `n` ranges of (object, index). */
static void node_repair(struct fx *f, uint32_t k, uint8_t object, uint32_t index,
                        const struct tc_wire_range *r, uint16_t n)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_REPAIR_REQ);
    m.u.repair_req.object = object;
    m.u.repair_req.index = index;
    m.u.repair_req.nranges = n;
    memcpy(m.u.repair_req.ranges, r, n * sizeof(*r));
    deliver(f, &m, addr_of(k));
}

static void test_repair_unicast(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_range r[2] = {{.offset = 100, .len = 50}, {.offset = 3000, .len = 1}};
    struct tc_wire_msg m;
    struct blk b;
    struct fx f;
    uint32_t mark, i, n = 0;
    static const uint32_t want_off[3] = {0, 2864, 3580};
    static const uint32_t want_len[3] = {SEG, SEG, 0};
    int pass;

    (void)state;
    for (pass = 0; pass < 2; pass++) {
        cfg_default(&cfg);
        cfg.min_nodes = 3;
        if (pass == 0)
            cfg.limits.remcast_gather_ns = 0;
        fx_open(&f, &cfg, pass == 0 ? &ops_dgram : &ops_blocks);
        fx_nodes(&f, 3);
        fx_cover(&f); /* the round passes: repairs are served from now on */
        mark = f.e.nrec;
        node_repair(&f, 0, TC_WIRE_OBJ_CHUNK, 3, r, 2);
        if (pass == 1) {
            /* gathered: nothing yet */
            assert_int_equal(f.e.nrec, mark);
            assert_int_equal(tc_seeder_next_deadline(f.s), f.e.now + cfg.limits.remcast_gather_ns);
            run_until(&f, f.e.now + cfg.limits.remcast_gather_ns);
        }
        n = 0;
        (void)want_len;
        for (i = mark; i < f.e.nrec; i++) {
            assert_true(rec_block(&f, i, &b, &m));
            assert_true(n < 2);
            assert_true(b.unicast);
            assert_int_equal(b.token, f.token[0]);
            assert_int_equal(b.to.addr, addr_of(0).addr);
            assert_int_equal(b.to.port, addr_of(0).port);
            assert_int_equal(b.object, TC_WIRE_OBJ_CHUNK);
            assert_int_equal(b.index, 3);
            /* widened to whole segments: [0, 716) and [2864, 3580) */
            assert_int_equal(b.offset, want_off[n]);
            assert_int_equal(b.len, SEG);
            assert_memory_equal(b.payload, img.stored[3] + b.offset, b.len);
            n++;
        }
        assert_int_equal(n, 2);
        assert_int_equal(tc_seeder_stats(f.s)->repair_blocks, 2);
        assert_int_equal(tc_seeder_stats(f.s)->repair_bytes, 2 * SEG);
        assert_int_equal(tc_seeder_stats(f.s)->repair_reqs, 1);
        /* the end of an object: a range past it is clipped; a ZERO chunk is not an object */
        mark = f.e.nrec;
        r[1].offset = img.m->chunks[3].stored_len - 1;
        r[1].len = 1000;
        node_repair(&f, 2, TC_WIRE_OBJ_CHUNK, 3, &r[1], 1);
        node_repair(&f, 2, TC_WIRE_OBJ_CHUNK, 1, &r[0], 1);
        run_until(&f, f.e.now + MS);
        assert_int_equal(f.e.nrec, mark + 1);
        assert_true(rec_block(&f, mark, &b, &m));
        assert_int_equal(b.offset + b.len, img.m->chunks[3].stored_len);
        assert_int_equal(b.offset % SEG, 0);
        r[1].offset = 3000;
        r[1].len = 1;
        fx_close(&f);
    }
}

/** A request for an object the round has not brought yet is left to the round. */
static void test_repair_early(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_range r = {.offset = 0, .len = 100};
    struct fx f;
    uint32_t mark;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100; /* no round: nothing is covered */
    cfg.start_wait_ns = 100000 * MS;
    cfg.limits.remcast_gather_ns = 0;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 2);
    mark = f.e.nrec;
    node_repair(&f, 0, TC_WIRE_OBJ_CHUNK, 3, &r, 1);
    node_repair(&f, 1, TC_WIRE_OBJ_MANIFEST, 0, &r, 1);
    assert_int_equal(f.e.nrec, mark);
    assert_int_equal(tc_seeder_stats(f.s)->repair_early, 2);
    assert_int_equal(tc_seeder_stats(f.s)->repair_blocks, 0);
    fx_close(&f);
}

static void test_remcast(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_range r1 = {.offset = 0, .len = 2000};   /* segments 0-2 */
    struct tc_wire_range r2 = {.offset = 1432, .len = 10};  /* segment 2 */
    struct tc_wire_range r3 = {.offset = 4400, .len = 100}; /* segment 6 */
    struct tc_wire_msg m;
    struct blk b;
    struct fx f;
    uint32_t mark, i, mc = 0, uc[4] = {0}, mcbytes = 0;

    (void)state;
    cfg_default(&cfg);
    cfg.fanout = 4;
    cfg.root_fanout = 4;
    cfg.min_nodes = 1;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 4); /* four direct children: threshold max(2, 4 / 2) = 2 */
    fx_cover(&f);    /* the round passes: repairs are served from now on */
    mark = f.e.nrec;
    node_repair(&f, 0, TC_WIRE_OBJ_CHUNK, 0, &r1, 1);
    node_repair(&f, 1, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    node_repair(&f, 2, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    node_repair(&f, 3, TC_WIRE_OBJ_CHUNK, 0, &r3, 1);
    assert_int_equal(f.e.nrec, mark);
    run_until(&f, f.e.now + cfg.limits.remcast_gather_ns);
    for (i = mark; i < f.e.nrec; i++) {
        assert_true(rec_block(&f, i, &b, &m));
        assert_memory_equal(b.payload, img.stored[0] + b.offset, b.len);
        if (!b.unicast) {
            /* segment 2, asked by three direct children: once, to the group */
            assert_int_equal(b.to.addr, GROUP_ADDR);
            assert_int_equal(b.offset, 2 * SEG);
            assert_int_equal(b.len, SEG);
            mc++;
            mcbytes += b.len;
            continue;
        }
        for (uint32_t k = 0; k < 4; k++)
            if (b.token == f.token[k]) {
                assert_int_equal(b.to.addr, addr_of(k).addr);
                uc[k] += b.len;
            }
    }
    assert_int_equal(mc, 1);
    assert_int_equal(uc[0], 2 * SEG); /* segments 0-1 only: 2 came by multicast */
    assert_int_equal(uc[1], 0);
    assert_int_equal(uc[2], 0);
    assert_int_equal(uc[3], SEG); /* segment 6 alone: unicast */
    assert_int_equal(tc_seeder_stats(f.s)->remcast_blocks, 1);
    /* asked again within remcast_suppress_ns: unicast to each */
    mark = f.e.nrec;
    f.e.now += MS;
    node_repair(&f, 1, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    node_repair(&f, 2, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    run_until(&f, f.e.now + cfg.limits.remcast_gather_ns);
    assert_int_equal(f.e.nrec, mark + 2);
    for (i = mark; i < f.e.nrec; i++) {
        assert_true(rec_block(&f, i, &b, &m));
        assert_true(b.unicast);
    }
    /* after the suppression: multicast again */
    mark = f.e.nrec;
    f.e.now += cfg.limits.remcast_suppress_ns;
    node_repair(&f, 1, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    node_repair(&f, 2, TC_WIRE_OBJ_CHUNK, 0, &r2, 1);
    run_until(&f, f.e.now + cfg.limits.remcast_gather_ns);
    assert_int_equal(f.e.nrec, mark + 1);
    assert_true(rec_block(&f, mark, &b, &m));
    assert_false(b.unicast);
    assert_int_equal(tc_seeder_stats(f.s)->remcast_blocks, 2);
    fx_close(&f);
}

static void test_forged(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg m;
    struct tc_wire_range r = {.offset = 0, .len = 10};
    struct fx f;
    struct tc_proto_peer evil = {.addr = 0x0a0000ffu, .port = 9000};
    uint8_t junk[64];
    uint32_t mark;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 1;
    cfg.limits.remcast_gather_ns = 0;
    fx_open(&f, &cfg, &ops_dgram);
    node_join(&f, 0);
    /* the proof from another address: refused, the node stays WELCOMED */
    node_hdr(&f, &m, 0, TC_WIRE_HEARTBEAT);
    deliver(&f, &m, evil);
    assert_int_equal(tc_seeder_stats(f.s)->rx_forged, 1);
    node_hb(&f, 0);
    fx_cover(&f); /* the round passes: repairs are served from now on */
    mark = f.e.nrec;
    /* wrong token */
    node_hdr(&f, &m, 0, TC_WIRE_REPAIR_REQ);
    m.hdr.token ^= 1;
    m.u.repair_req.object = TC_WIRE_OBJ_CHUNK;
    m.u.repair_req.nranges = 1;
    m.u.repair_req.ranges[0] = r;
    deliver(&f, &m, addr_of(0));
    /* right token, wrong address */
    m.hdr.token ^= 1;
    deliver(&f, &m, evil);
    /* wrong session, wrong epoch */
    m.hdr.session_id ^= 1;
    deliver(&f, &m, addr_of(0));
    m.hdr.session_id ^= 1;
    m.hdr.epoch = 2;
    deliver(&f, &m, addr_of(0));
    /* a type only the seeder sends */
    node_hdr(&f, &m, 0, TC_WIRE_RELEASE);
    m.u.release.reason = TC_WIRE_RELEASE_COMPLETE;
    deliver(&f, &m, addr_of(0));
    assert_int_equal(tc_seeder_stats(f.s)->rx_forged, 6);
    /* garbage */
    memset(junk, 0x5a, sizeof(junk));
    assert_int_equal(tc_seeder_on_packet(f.s, f.e.now, addr_of(0), junk, sizeof(junk)), 0);
    assert_int_equal(tc_seeder_on_packet(f.s, f.e.now, addr_of(0), junk, 0), 0);
    assert_int_equal(tc_seeder_stats(f.s)->rx_bad, 2);
    assert_int_equal(f.e.nrec, mark);
    /* the genuine request is served */
    node_repair(&f, 0, TC_WIRE_OBJ_CHUNK, 0, &r, 1);
    assert_int_equal(f.e.nrec, mark + 1);
    fx_close(&f);
}

/** Node k sends DONE with the image digest. */
static void node_done(struct fx *f, uint32_t k)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_DONE);
    memcpy(m.u.done.image_digest, img.m->image_digest, TC_SHA256_LEN);
    m.u.done.chunk_count = IMG_CHUNKS;
    deliver(f, &m, addr_of(k));
}

static void test_done_release(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg m;
    struct fx f;
    uint32_t mark;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 3); /* 0 and 1 under the seeder, 2 under 0 */
    mark = f.e.nrec;
    node_done(&f, 0);
    assert_true(find_msg(&f, mark, TC_WIRE_DONE_ACK, addr_of(0), &m) >= 0);
    assert_memory_equal(m.u.done_ack.image_digest, img.m->image_digest, TC_SHA256_LEN);
    assert_int_equal(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(0), &m), -1);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_DONE);
    assert_int_equal(info.done_ns, f.e.now);
    /* a wrong digest is not acknowledged */
    mark = f.e.nrec;
    node_hdr(&f, &m, 1, TC_WIRE_DONE);
    m.u.done.chunk_count = IMG_CHUNKS;
    deliver(&f, &m, addr_of(1));
    assert_int_equal(f.e.nrec, mark);
    assert_non_null(strstr(f.e.lastlog, "not acknowledged"));
    /* 2 is done: released, and so is 0, whose last child it was */
    node_done(&f, 2);
    assert_true(find_msg(&f, mark, TC_WIRE_DONE_ACK, addr_of(2), &m) >= 0);
    assert_true(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(2), &m) >= 0);
    assert_int_equal(m.u.release.reason, TC_WIRE_RELEASE_NO_CHILDREN);
    assert_true(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(0), &m) >= 0);
    assert_int_equal(m.u.release.reason, TC_WIRE_RELEASE_NO_CHILDREN);
    assert_false(tc_seeder_finished(f.s));
    assert_int_equal(tc_seeder_stats(f.s)->nodes_done, 2);
    /* the last one: COMPLETE */
    mark = f.e.nrec;
    node_done(&f, 1);
    assert_true(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(1), &m) >= 0);
    assert_int_equal(m.u.release.reason, TC_WIRE_RELEASE_COMPLETE);
    assert_true(tc_seeder_finished(f.s));
    assert_int_equal(tc_seeder_node(f.s, 1, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_RELEASED);
    /* DONE again (our DONE_ACK was lost): acknowledged again */
    mark = f.e.nrec;
    node_done(&f, 1);
    assert_true(find_msg(&f, mark, TC_WIRE_DONE_ACK, addr_of(1), &m) >= 0);
    /* heartbeats of a released node: RELEASE again, once per heartbeat interval */
    mark = f.e.nrec;
    f.e.now += 10 * MS;
    node_hb(&f, 1);
    assert_int_equal(f.e.nrec, mark);
    f.e.now += cfg.limits.heartbeat_ms * MS;
    node_hb(&f, 1);
    assert_int_equal(count_type(&f, mark, TC_WIRE_RELEASE), 1);
    assert_true(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(1), &m) >= 0);
    assert_int_equal(m.u.release.reason, TC_WIRE_RELEASE_COMPLETE);
    fx_close(&f);
}

/** Node k reports that `missing` nodes below it miss segments of (object, index). */
static void node_report(struct fx *f, uint32_t k, uint32_t seq, uint8_t object, uint32_t index,
                        uint16_t missing)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_REPORT);
    m.u.report.seq = seq;
    m.u.report.subtree_nodes = missing ? missing : 1;
    if (missing) {
        m.u.report.nentries = 1;
        m.u.report.entries[0].object = object;
        m.u.report.entries[0].index = index;
        m.u.report.entries[0].max_missing = 1;
        m.u.report.entries[0].hist[0] = missing;
    }
    deliver(f, &m, addr_of(k));
}

static void test_reports(void **state)
{
    struct tc_seeder_cfg cfg;
    struct fx f;
    uint32_t mark;
    uint64_t t;

    (void)state;
    cfg_default(&cfg);
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 3); /* 0, 1 direct; 2 under 0 */
    run_until(&f, f.e.now + 1000 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 1);
    assert_true(tc_seeder_next_deadline(f.s) >
                f.e.now + 1000 * 1000 * MS); /* only the liveness watch */
    /* interval counting: two per interval, the grandchild dropped, older seq ignored */
    t = (f.e.now / (cfg.limits.report_ms * MS) + 1) * cfg.limits.report_ms * MS;
    f.e.now = t + MS;
    node_report(&f, 0, 1, 0, 0, 0);
    node_report(&f, 1, 1, 0, 0, 0);
    node_report(&f, 2, 1, 0, 0, 0);
    node_report(&f, 1, 1, 0, 0, 0);
    assert_int_equal(tc_seeder_stats(f.s)->reports_rx, 2);
    assert_int_equal(tc_seeder_stats(f.s)->reports_dropped, 1);
    assert_int_equal(tc_seeder_stats(f.s)->reports_interval_max, 2);
    f.e.now += cfg.limits.report_ms * MS;
    node_report(&f, 0, 2, 0, 0, 0);
    assert_int_equal(tc_seeder_stats(f.s)->reports_interval_max, 2);
    node_report(&f, 1, 2, 0, 0, 0);
    node_report(&f, 1, 3, 0, 0, 0);
    assert_int_equal(tc_seeder_stats(f.s)->reports_interval_max, 3);
    /* the whole subtree of 0 (2 of 3 nodes) misses chunk 5, sent long ago: back in a round */
    mark = f.e.nrec;
    node_report(&f, 0, 3, TC_WIRE_OBJ_CHUNK, 5, 2);
    assert_true(tc_seeder_next_deadline(f.s) <= f.e.now);
    run_until(&f, f.e.now + 50 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 2);
    check_round(&f, mark, 0, 1u << 5, 1);
    /* chunk 5 again right after it was sent: not yet (4 report intervals) */
    mark = f.e.nrec;
    node_report(&f, 0, 4, TC_WIRE_OBJ_CHUNK, 5, 2);
    node_report(&f, 1, 4, TC_WIRE_OBJ_CHUNK, 5, 1);
    run_until(&f, f.e.now + 1000 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 2);
    assert_int_equal(f.e.nrec, mark);
    /* one node of three missing chunk 6: left to local repair */
    node_report(&f, 1, 5, TC_WIRE_OBJ_CHUNK, 6, 1);
    node_report(&f, 0, 5, 0, 0, 0);
    run_until(&f, f.e.now + 1000 * MS);
    assert_int_equal(f.e.nrec, mark);
    fx_close(&f);
}

/** The (object, index, offset, len) sequence of multicast blocks from record 0. */
static uint32_t block_seq(const struct fx *f, struct blk *out, uint32_t max)
{
    struct tc_wire_msg m;
    uint32_t i, n = 0;
    struct blk b;

    for (i = 0; i < f->e.nrec; i++)
        if (rec_block(f, i, &b, &m) && n < max)
            out[n++] = b;
    return n;
}

static void test_dataless_and_blocks(void **state)
{
    struct tc_seeder_cfg cfg;
    struct fx f;
    struct blk *seq[3];
    uint32_t n[3], i, v;
    uint64_t t[3][2];
    static const struct tc_seeder_ops *ops[3] = {&ops_dgram, &ops_dataless, &ops_blocks};

    (void)state;
    for (v = 0; v < 3; v++) {
        cfg_default(&cfg);
        cfg.rate_bps = 50000000;
        cfg.dataless = v == 1;
        fx_open(&f, &cfg, ops[v]);
        fx_nodes(&f, 2);
        run_until(&f, f.e.now + 1000 * MS);
        check_round(&f, 0, 1, 0xff, v != 1);
        seq[v] = calloc(REC_MAX, sizeof(struct blk));
        n[v] = block_seq(&f, seq[v], REC_MAX);
        t[v][0] = f.e.rec[0].t;
        t[v][1] = f.e.rec[f.e.nrec - 1].t;
        if (v == 1) {
            struct tc_wire_msg w;

            /* dataless: the same WELCOME with zero digests */
            assert_true(find_msg(&f, 0, TC_WIRE_WELCOME, addr_of(0), &w) >= 0);
            for (i = 0; i < TC_SHA256_LEN; i++)
                assert_int_equal(w.u.welcome.manifest_digest[i], 0);
        }
        fx_close(&f);
    }
    for (v = 1; v < 3; v++) {
        assert_int_equal(n[v], n[0]);
        for (i = 0; i < n[0]; i++) {
            assert_int_equal(seq[v][i].object, seq[0][i].object);
            assert_int_equal(seq[v][i].index, seq[0][i].index);
            assert_int_equal(seq[v][i].offset, seq[0][i].offset);
            assert_int_equal(seq[v][i].len, seq[0][i].len);
        }
    }
    /* the same pacing whichever way the blocks leave */
    assert_int_equal(t[2][1], t[0][1]);
    assert_int_equal(t[1][1], t[0][1]);
    for (v = 0; v < 3; v++)
        free(seq[v]);
}

static void test_log(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg m;
    struct fx f;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 1);
    node_hdr(&f, &m, 0, TC_WIRE_LOG);
    m.u.log.seq = 1;
    m.u.log.level = 6;
    m.u.log.text_len = 8;
    memcpy(m.u.log.text, "disk\n\"x\x01", 8);
    deliver(&f, &m, addr_of(0));
    assert_non_null(strstr(f.e.lastlog, "node 0 (02:00:00:00:00:01): disk\\x0a\\\"x\\x01"));
    /* a replay is ignored */
    f.e.lastlog[0] = '\0';
    deliver(&f, &m, addr_of(0));
    assert_string_equal(f.e.lastlog, "");
    fx_close(&f);
}

/** chunk_bytes of an image whose chunk 2 was corrupted after packing. */
static uint8_t *bad_chunk2;
static const uint8_t *op_chunk_bytes_bad(void *ctx, uint32_t index)
{
    return index == 2 ? bad_chunk2 : op_chunk_bytes(ctx, index);
}

static void test_broken_image(void **state)
{
    static const struct tc_seeder_ops ops_bad = {
        .send = op_send,
        .chunk_bytes = op_chunk_bytes_bad,
        .random = op_random,
        .log = op_log,
    };
    struct tc_seeder_cfg cfg;
    struct fx f;
    uint64_t d;
    int rc = 0, guard = 0;

    (void)state;
    bad_chunk2 = malloc(img.m->chunks[2].stored_len);
    memcpy(bad_chunk2, img.stored[2], img.m->chunks[2].stored_len);
    bad_chunk2[img.m->chunks[2].stored_len / 2] ^= 0x40;
    cfg_default(&cfg);
    fx_open(&f, &cfg, &ops_bad);
    fx_nodes(&f, 1);
    while (rc == 0 && guard++ < 100000) {
        d = tc_seeder_next_deadline(f.s);
        if (d == TC_PROTO_NEVER)
            break;
        f.e.now = d > f.e.now ? d : f.e.now;
        rc = tc_seeder_on_timer(f.s, f.e.now);
    }
    /* the seeder stops at chunk 2's hash list, before a block of it leaves */
    assert_int_equal(rc, -EILSEQ);
    assert_non_null(strstr(f.e.lastlog, "chunk 2"));
    assert_non_null(strstr(f.e.lastlog, "broken"));
    assert_int_equal(tc_seeder_next_deadline(f.s), TC_PROTO_NEVER);
    assert_int_equal(tc_seeder_on_timer(f.s, f.e.now), -EILSEQ);
    for (uint32_t i = 0; i < f.e.nrec; i++) {
        struct tc_wire_msg m;
        struct blk b;

        if (rec_block(&f, i, &b, &m))
            assert_true(b.object != TC_WIRE_OBJ_CHUNK_HASHES || b.index < 2);
    }
    fx_close(&f);
    free(bad_chunk2);
}

static void test_restart_leaves_tree(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg j, m;
    struct fx f;
    uint32_t mark, kids[4];

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 3); /* 0, 1 under the seeder, 2 under 0 */
    mark = f.e.nrec;
    join_msg(&j, 0); /* node 0 restarted: no token */
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_WELCOME, addr_of(0), &m) >= 0);
    assert_true(m.hdr.token != f.token[0]);
    f.token[0] = m.hdr.token;
    /* node 2 (the last slot) takes node 0's place under the seeder */
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(2), &m) >= 0);
    assert_int_equal(m.u.reparent.parent_index, TC_WIRE_INDEX_SEEDER);
    assert_int_equal(m.u.reparent.depth, 1);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_WELCOMED);
    /* its old token is refused now */
    mark = f.e.nrec;
    node_hdr(&f, &m, 0, TC_WIRE_HEARTBEAT);
    m.hdr.token ^= 0x10;
    deliver(&f, &m, addr_of(0));
    assert_int_equal(f.e.nrec, mark);
    /* proven again: it joins as a new leaf, under node 2 */
    node_hb(&f, 0);
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(0), &m) >= 0);
    assert_int_equal(m.u.reparent.parent_index, 2);
    assert_int_equal(children_of(&f, 2, kids), 1);
    assert_int_equal(kids[0], 0);
    fx_close(&f);
}

static void test_proven_mid_round(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg m;
    struct blk b;
    struct fx f;
    uint32_t mark, i;

    (void)state;
    cfg_default(&cfg);
    cfg.rate_bps = 10000000;
    /* a 64 KiB bucket: the node must join while the first round still runs */
    cfg.limits.pace_burst_bytes = 64 * 1024;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 1);
    while (tc_seeder_stats(f.s)->mcast_blocks < 10) {
        f.e.now = tc_seeder_next_deadline(f.s);
        assert_int_equal(tc_seeder_on_timer(f.s, f.e.now), 0);
    }
    /* now in the middle of chunk 0: node 1 is covered from chunk 2 on */
    node_join(&f, 1);
    node_hb(&f, 1);
    mark = f.e.nrec;
    run_until(&f, f.e.now + 10000 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 2);
    for (i = mark; i < f.e.nrec; i++)
        if (rec_block(&f, i, &b, &m) && b.object == TC_WIRE_OBJ_MANIFEST_HASHES)
            break;
    assert_true(i < f.e.nrec);
    /* the second round: the manifest and chunk 0 only */
    check_round(&f, i, 1, 1u << 0, 1);
    fx_close(&f);
}

/* ------------------------------------------------------------------ */
/* Issue 4: liveness, REPARENT_REQ, stragglers, durable state, restart, */
/* rate control, tree-only (docs/protocol.md sections 6.8 to 6.11)      */

/** Node timeout of the liveness tests, ns. */
#define LIVE_TIMEOUT_NS (2000 * MS)
/** Heartbeat period the liveness tests keep, ns. */
#define LIVE_HB_NS (250 * MS)

/** Nodes from..to-1 heartbeat every LIVE_HB_NS for `steps` periods (the others stay silent). */
static void live_steps(struct fx *f, uint32_t from, uint32_t to, uint32_t steps)
{
    uint32_t i, k;

    for (i = 0; i < steps; i++) {
        f->e.now += LIVE_HB_NS;
        for (k = from; k < to; k++)
            node_hb(f, k);
        run_until(f, f->e.now);
    }
}

/** Assert that the last CHILDREN list sent to node p since record `mark` names exactly want[]. */
static void assert_children(struct fx *f, uint32_t mark, uint32_t p, const uint32_t *want,
                            uint32_t n)
{
    struct tc_wire_msg m;
    uint32_t i;

    assert_true(find_msg(f, mark, TC_WIRE_CHILDREN, addr_of(p), &m) >= 0);
    assert_int_equal(m.hdr.token, f->token[p]);
    assert_int_equal(m.u.children.count, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(m.u.children.children[i].node_index, want[i]);
        assert_int_equal(m.u.children.children[i].token, f->token[want[i]]);
        assert_int_equal(m.u.children.children[i].addr, addr_of(want[i]).addr);
        assert_int_equal(m.u.children.children[i].port, addr_of(want[i]).port);
    }
}

/** Assert the last REPARENT to node k since `mark` names parent p (node or seeder) at depth d. */
static void assert_reparent(struct fx *f, uint32_t mark, uint32_t k, uint32_t p, uint32_t d)
{
    struct tc_wire_msg m;
    struct tc_seeder_node_info info;

    assert_true(find_msg(f, mark, TC_WIRE_REPARENT, addr_of(k), &m) >= 0);
    assert_int_equal(m.hdr.token, f->token[k]);
    assert_int_equal(m.u.reparent.parent_index, p);
    assert_int_equal(m.u.reparent.depth, d);
    if (p == TC_WIRE_INDEX_SEEDER) {
        assert_int_equal(m.u.reparent.parent_addr, 0);
    } else {
        assert_int_equal(m.u.reparent.parent_addr, addr_of(p).addr);
        assert_int_equal(m.u.reparent.parent_port, addr_of(p).port);
    }
    assert_int_equal(tc_seeder_node(f->s, k, &info), 0);
    assert_int_equal(info.parent, p);
    assert_int_equal(info.depth, d);
}

/**
 * A node silent past node_timeout_ns is DEAD: out of the tree (the node in
 * the last slot takes its place and adopts its children), counted in
 * nodes_dead; heard again, it is ACTIVE and back in the tree.
 */
static void test_liveness_dead(void **state)
{
    static const uint32_t kids_of_5[2] = {2, 3}, kids_of_1[1] = {4}, kids_of_1b[2] = {0, 4};
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg m;
    struct fx f;
    uint32_t mark;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100; /* no round in this test */
    cfg.start_wait_ns = 100000 * MS;
    cfg.limits.node_timeout_ns = LIVE_TIMEOUT_NS;
    fx_open(&f, &cfg, &ops_dgram);
    /* slots: 0, 1 under the seeder; 2, 3 under 0; 4, 5 under 1 */
    fx_nodes(&f, 6);
    assert_int_equal(tc_seeder_node(f.s, 2, &info), 0);
    assert_int_equal(info.parent, 0);
    /* node 0 goes silent; the others heartbeat: at the timeout it is still alive */
    live_steps(&f, 1, 6, LIVE_TIMEOUT_NS / LIVE_HB_NS);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 0);
    /* one heartbeat interval past it: dead */
    mark = f.e.nrec;
    live_steps(&f, 1, 6, 1);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_DEAD);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 1);
    assert_non_null(strstr(f.e.lastlog, "node 0 silent"));
    /* node 5 (the last slot) takes its place; its children follow */
    assert_reparent(&f, mark, 5, TC_WIRE_INDEX_SEEDER, 1);
    assert_reparent(&f, mark, 2, 5, 2);
    assert_reparent(&f, mark, 3, 5, 2);
    assert_children(&f, mark, 5, kids_of_5, 2);
    assert_children(&f, mark, 1, kids_of_1, 1);
    assert_int_equal(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(0), &m), -1);
    /* heard again (a partition healed): ACTIVE, back into the tree as a new leaf */
    mark = f.e.nrec;
    f.e.now += 10 * MS;
    node_hb(&f, 0);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    assert_reparent(&f, mark, 0, 1, 2);
    assert_children(&f, mark, 1, kids_of_1b, 2);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 1);
    /* and it is watched again: silent once more, dead once more */
    live_steps(&f, 1, 6, LIVE_TIMEOUT_NS / LIVE_HB_NS + 1);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_DEAD);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 2);
    fx_close(&f);
}

/** Node k asks for another parent, naming `parent`, for `reason`. */
static void node_reparent_req(struct fx *f, uint32_t k, uint32_t parent, uint16_t reason)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_REPARENT_REQ);
    m.u.reparent_req.parent_index = parent;
    m.u.reparent_req.reason = reason;
    m.u.reparent_req.silence_ms = 1200;
    m.u.reparent_req.chunks_done = 1;
    deliver(f, &m, addr_of(k));
}

/**
 * REPARENT_REQ(SILENT): a parent the seeder has not heard for more than
 * node_timeout / 2 is declared dead at once; one it heard recently stays,
 * and only the asking child moves. A request naming a parent the node no
 * longer has gets its current REPARENT again.
 */
static void test_reparent_req_silent(void **state)
{
    static const uint32_t kids_of_5[2] = {2, 3};
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg m, m2;
    struct fx f;
    uint32_t mark, p, kids[8], n, i;
    int found;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    cfg.limits.node_timeout_ns = LIVE_TIMEOUT_NS;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 6);
    /* node 0 silent for 1.25 s (> 2 s / 2), but not yet past the node timeout */
    live_steps(&f, 1, 6, 5);
    mark = f.e.nrec;
    node_reparent_req(&f, 2, 0, TC_WIRE_REPARENT_SILENT);
    assert_int_equal(tc_seeder_stats(f.s)->reparent_reqs, 1);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_DEAD);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 1);
    assert_reparent(&f, mark, 2, 5, 2);
    assert_children(&f, mark, 5, kids_of_5, 2);
    /* naming the old parent again: the current REPARENT, same generation */
    found = find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(2), &m);
    assert_true(found >= 0);
    mark = f.e.nrec;
    f.e.now += MS;
    node_reparent_req(&f, 2, 0, TC_WIRE_REPARENT_SILENT);
    assert_int_equal(count_type(&f, mark, TC_WIRE_REPARENT), 1);
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(2), &m2) >= 0);
    assert_int_equal(m2.u.reparent.generation, m.u.reparent.generation);
    assert_int_equal(m2.u.reparent.parent_index, 5);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 1);
    fx_close(&f);

    /* the seeder heard the parent recently: the parent stays, the child moves */
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 6);
    live_steps(&f, 0, 6, 5);
    mark = f.e.nrec;
    node_reparent_req(&f, 2, 0, TC_WIRE_REPARENT_SILENT);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_dead, 0);
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(2), &m) >= 0);
    p = m.u.reparent.parent_index;
    assert_true(p != 0 && p != TC_WIRE_INDEX_SEEDER && p < 6);
    assert_int_equal(m.u.reparent.depth, 2);
    assert_int_equal(m.u.reparent.parent_addr, addr_of(p).addr);
    assert_int_equal(tc_seeder_node(f.s, 2, &info), 0);
    assert_int_equal(info.parent, p);
    /* the new parent's list names it, the old one's does not */
    n = children_of(&f, p, kids);
    assert_true(n != UINT32_MAX);
    for (i = 0; i < n && kids[i] != 2; i++)
        ;
    assert_true(i < n);
    n = children_of(&f, 0, kids);
    assert_true(n != UINT32_MAX);
    for (i = 0; i < n; i++)
        assert_true(kids[i] != 2);
    /* a request naming a parent it does not have: its current REPARENT again */
    mark = f.e.nrec;
    f.e.now += MS;
    node_reparent_req(&f, 2, 0, TC_WIRE_REPARENT_SILENT);
    assert_int_equal(count_type(&f, mark, TC_WIRE_REPARENT), 1);
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(2), &m2) >= 0);
    assert_int_equal(m2.u.reparent.parent_index, p);
    assert_int_equal(m2.u.reparent.generation, m.u.reparent.generation);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    fx_close(&f);
}

/**
 * REPARENT_REQ(BEHIND): the node becomes a slow leaf (a straggler), gets a
 * REPARENT with the LEAF flag, and its parent's CHILDREN entry for it says
 * STREAM; a second BEHIND changes nothing.
 */
static void test_reparent_req_behind(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_wire_msg m;
    struct fx f;
    uint32_t mark, p, i, seen = 0;

    (void)state;
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    fx_open(&f, &cfg, &ops_dgram);
    fx_nodes(&f, 4); /* 0, 1 under the seeder; 2, 3 under 0 */
    assert_int_equal(tc_seeder_node(f.s, 3, &info), 0);
    assert_int_equal(info.slow, 0);
    mark = f.e.nrec;
    node_reparent_req(&f, 3, 0, TC_WIRE_REPARENT_BEHIND);
    assert_int_equal(tc_seeder_node(f.s, 3, &info), 0);
    assert_int_equal(info.slow, 1);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    assert_int_equal(tc_seeder_stats(f.s)->stragglers, 1);
    p = info.parent;
    assert_true(p < 4 && p != 3); /* a leaf under a node (the seeder has no room) */
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(3), &m) >= 0);
    assert_int_equal(m.hdr.flags, TC_WIRE_REPARENT_F_LEAF);
    assert_int_equal(m.hdr.token, f.token[3]);
    assert_int_equal(m.u.reparent.parent_index, p);
    assert_int_equal(m.u.reparent.parent_addr, addr_of(p).addr);
    assert_int_equal(m.u.reparent.parent_port, addr_of(p).port);
    assert_int_equal(m.u.reparent.depth, info.depth);
    /* the parent's list flags it STREAM, and nobody else */
    assert_true(find_msg(&f, mark, TC_WIRE_CHILDREN, addr_of(p), &m) >= 0);
    for (i = 0; i < m.u.children.count; i++) {
        const struct tc_wire_child *c = &m.u.children.children[i];

        if (c->node_index == 3) {
            seen = 1;
            assert_int_equal(c->flags, TC_WIRE_CHILD_F_STREAM);
            assert_int_equal(c->token, f.token[3]);
        } else {
            assert_int_equal(c->flags, 0);
        }
    }
    assert_int_equal(seen, 1);
    /* the old parent 0 no longer lists it (unless it is still the parent) */
    if (p != 0) {
        uint32_t kids[8], n = children_of(&f, 0, kids);

        for (i = 0; i < n && n != UINT32_MAX; i++)
            assert_true(kids[i] != 3);
    }
    /* its refresh REPARENTs keep the LEAF flag */
    mark = f.e.nrec;
    node_hb(&f, 3);
    assert_true(find_msg(&f, mark, TC_WIRE_REPARENT, addr_of(3), &m) >= 0);
    assert_int_equal(m.hdr.flags, TC_WIRE_REPARENT_F_LEAF);
    /* a second BEHIND: nothing changes, nothing is sent */
    mark = f.e.nrec;
    f.e.now += MS;
    node_reparent_req(&f, 3, p, TC_WIRE_REPARENT_BEHIND);
    assert_int_equal(f.e.nrec, mark);
    assert_int_equal(tc_seeder_stats(f.s)->stragglers, 1);
    assert_int_equal(tc_seeder_node(f.s, 3, &info), 0);
    assert_int_equal(info.parent, p);
    assert_int_equal(info.slow, 1);
    fx_close(&f);
}

/** What the persist op was handed: the last state and its cookie. */
static struct {
    uint8_t buf[TC_SEEDSTATE_LEN(64)]; /**< last state */
    size_t len;                        /**< its length */
    uint64_t cookie;                   /**< its cookie */
    uint32_t calls;                    /**< persist calls */
} pst;

/** persist: record, complete later (the test calls tc_seeder_on_persisted). */
static int op_persist(void *ctx, const uint8_t *state, size_t len, uint64_t cookie)
{
    (void)ctx;
    assert_true(len <= sizeof(pst.buf));
    memcpy(pst.buf, state, len);
    pst.len = len;
    pst.cookie = cookie;
    pst.calls++;
    return 0;
}

static const struct tc_seeder_ops ops_persist = {
    .send = op_send,
    .chunk_bytes = op_chunk_bytes,
    .random = op_random,
    .log = op_log,
    .persist = op_persist,
};

/** Complete every pending persist successfully (each may start the next). */
static void persist_drain(struct fx *f)
{
    uint32_t calls = 0;

    while (pst.calls != calls) {
        calls = pst.calls;
        assert_int_equal(tc_seeder_on_persisted(f->s, f->e.now, pst.cookie, 0), 0);
    }
}

/**
 * With a persist op, DONE is acknowledged only once a state that holds it
 * is durable; a failed persist acknowledges nothing and is tried again; the
 * state decodes and holds the node as DONE with its MAC and token.
 */
static void test_persist_done(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_seedstate st;
    struct tc_seedstate_node nodes[8];
    struct tc_err err = {0};
    struct tc_wire_msg m;
    struct fx f;
    uint64_t cookie;
    uint32_t mark, calls;

    (void)state;
    memset(&pst, 0, sizeof(pst));
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    fx_open(&f, &cfg, &ops_persist);
    fx_nodes(&f, 3); /* 0, 1 under the seeder; 2 under 0 (node 0 stays DONE for it) */
    assert_true(pst.calls >= 1);
    persist_drain(&f);
    /* DONE: a persist of a state holding it starts; no DONE_ACK yet */
    calls = pst.calls;
    mark = f.e.nrec;
    node_done(&f, 0);
    assert_int_equal(pst.calls, calls + 1);
    assert_int_equal(tc_seeder_stats(f.s)->persists, pst.calls);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 0);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_DONE);
    cookie = pst.cookie;
    /* the state handed over decodes, node 0 DONE with its MAC and token */
    assert_int_equal(tc_seedstate_decode(pst.buf, pst.len, &st, nodes, 8, &err), 0);
    assert_int_equal(st.session_id, tc_seeder_session_id(f.s));
    assert_int_equal(st.epoch, 1);
    assert_memory_equal(st.image_digest, img.m->image_digest, TC_SHA256_LEN);
    assert_int_equal(st.nnodes, 3);
    assert_int_equal(nodes[0].index, 0);
    assert_int_equal(nodes[0].state, TC_SEEDSTATE_DONE);
    assert_int_equal(nodes[0].mac[0], 0x02);
    assert_int_equal(nodes[0].mac[5], 1);
    assert_int_equal(nodes[0].token, f.token[0]);
    assert_int_equal(nodes[0].addr, addr_of(0).addr);
    assert_int_equal(nodes[0].port, addr_of(0).port);
    assert_int_equal(nodes[1].index, 1);
    assert_int_equal(nodes[1].state, TC_SEEDSTATE_ACTIVE);
    assert_int_equal(nodes[1].token, f.token[1]);
    /* the DONE again while the persist is in flight: still no ack */
    node_done(&f, 0);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 0);
    /* the persist failed: no ack, a new persist is tried at once */
    assert_int_equal(tc_seeder_on_persisted(f.s, f.e.now, cookie, -EIO), 0);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 0);
    assert_int_equal(pst.calls, calls + 2);
    assert_true(pst.cookie != cookie);
    assert_int_equal(tc_seedstate_decode(pst.buf, pst.len, &st, nodes, 8, &err), 0);
    assert_int_equal(nodes[0].state, TC_SEEDSTATE_DONE);
    /* a stale cookie completes nothing */
    assert_int_equal(tc_seeder_on_persisted(f.s, f.e.now, cookie, 0), 0);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 0);
    /* durable: DONE_ACK with the image digest, once */
    assert_int_equal(tc_seeder_on_persisted(f.s, f.e.now, pst.cookie, 0), 0);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 1);
    assert_true(find_msg(&f, mark, TC_WIRE_DONE_ACK, addr_of(0), &m) >= 0);
    assert_int_equal(m.hdr.token, f.token[0]);
    assert_memory_equal(m.u.done_ack.image_digest, img.m->image_digest, TC_SHA256_LEN);
    /* a retransmitted DONE after that: acknowledged again at once */
    mark = f.e.nrec;
    node_done(&f, 0);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 1);
    persist_drain(&f);
    /* a leaf (no children to serve): its DONE is acknowledged once durable too */
    mark = f.e.nrec;
    calls = pst.calls;
    node_done(&f, 1);
    assert_int_equal(pst.calls, calls + 1);
    assert_int_equal(count_type(&f, mark, TC_WIRE_DONE_ACK), 0);
    assert_int_equal(tc_seeder_on_persisted(f.s, f.e.now, pst.cookie, 0), 0);
    assert_true(find_msg(&f, mark, TC_WIRE_DONE_ACK, addr_of(1), &m) >= 0);
    assert_memory_equal(m.u.done_ack.image_digest, img.m->image_digest, TC_SHA256_LEN);
    fx_close(&f);
}

/** MAC of restored node k (as join_msg gives it). */
static void mac_of(uint32_t k, uint8_t mac[6])
{
    memset(mac, 0, 6);
    mac[0] = 0x02;
    mac[4] = (uint8_t)((k + 1) >> 8);
    mac[5] = (uint8_t)(k + 1);
}

/** Session id, epoch and tokens of the restored state. */
#define RS_SESSION 0x0123456789abcdefull
#define RS_EPOCH 3u
#define RS_TOKEN(k) (0x7100000000000000ull + 0x1111ull * ((k) + 1))

/** Encode a state: nodes 0, 1 ACTIVE, node 2 DONE, for image digest `digest`. */
static long restore_state_build(uint8_t *buf, size_t cap, const uint8_t *digest)
{
    struct tc_seedstate st;
    struct tc_seedstate_node nodes[3];
    uint32_t k;

    memset(&st, 0, sizeof(st));
    st.session_id = RS_SESSION;
    st.epoch = RS_EPOCH;
    memcpy(st.image_digest, digest, TC_SHA256_LEN);
    st.nnodes = 3;
    st.nodes = nodes;
    for (k = 0; k < 3; k++) {
        memset(&nodes[k], 0, sizeof(nodes[k]));
        nodes[k].index = k;
        mac_of(k, nodes[k].mac);
        nodes[k].state = k == 2 ? TC_SEEDSTATE_DONE : TC_SEEDSTATE_ACTIVE;
        nodes[k].token = RS_TOKEN(k);
        nodes[k].addr = addr_of(k).addr;
        nodes[k].port = addr_of(k).port;
    }
    return tc_seedstate_encode(&st, buf, cap);
}

/**
 * A restored seeder keeps the session (same id, epoch + 1), announces the
 * new epoch to the group and to every restored node, welcomes their
 * re-JOINs under their old index and token, answers an old-epoch message
 * with an EPOCH, and refuses a state saved for another image.
 */
static void test_restore(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_seeder_node_info info;
    struct tc_seeder *s = NULL;
    struct tc_err err = {0};
    struct tc_wire_msg m, j;
    struct fx f;
    uint8_t buf[TC_SEEDSTATE_LEN(3)], other[TC_SHA256_LEN];
    uint32_t mark, k, i, group = 0, per_node[3] = {0};
    long len;

    (void)state;
    len = restore_state_build(buf, sizeof(buf), img.m->image_digest);
    assert_int_equal(len, TC_SEEDSTATE_LEN(3));
    cfg_default(&cfg);
    cfg.min_nodes = 100;
    cfg.start_wait_ns = 100000 * MS;
    cfg.restore = buf;
    cfg.restore_len = (size_t)len;
    fx_open(&f, &cfg, &ops_dgram);
    assert_int_equal(tc_seeder_session_id(f.s), RS_SESSION);
    assert_int_equal(tc_seeder_epoch(f.s), RS_EPOCH + 1);
    assert_int_equal(tc_seeder_stats(f.s)->nodes, 3);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_done, 1);
    for (k = 0; k < 3; k++)
        assert_int_equal(tc_seeder_node(f.s, k, &info), 0);
    assert_int_equal(f.e.nrec, 0);
    /* the first timer: EPOCH to the group (token 0) and to each node (its token) */
    assert_true(tc_seeder_next_deadline(f.s) <= f.e.now);
    assert_int_equal(tc_seeder_on_timer(f.s, f.e.now), 0);
    for (i = 0; i < f.e.nrec; i++) {
        const struct rec *r = &f.e.rec[i];

        rec_decode(&f, i, &m);
        if (m.hdr.type != TC_WIRE_EPOCH)
            continue;
        assert_int_equal(m.hdr.session_id, RS_SESSION);
        assert_int_equal(m.hdr.epoch, RS_EPOCH + 1);
        assert_int_equal(m.u.epoch.prev_epoch, RS_EPOCH);
        assert_int_equal(m.u.epoch.rejoin_spread_ms, cfg.limits.rejoin_spread_ms);
        if (r->to.addr == GROUP_ADDR && r->to.port == GROUP_PORT) {
            assert_int_equal(m.hdr.token, 0);
            group++;
            continue;
        }
        for (k = 0; k < 3; k++)
            if (r->to.addr == addr_of(k).addr && r->to.port == addr_of(k).port)
                break;
        assert_true(k < 3);
        assert_int_equal(m.hdr.token, RS_TOKEN(k));
        per_node[k]++;
    }
    assert_int_equal(group, TC_SEEDER_EPOCH_COPIES);
    for (k = 0; k < 3; k++)
        assert_int_equal(per_node[k], TC_SEEDER_EPOCH_COPIES);
    assert_int_equal(tc_seeder_stats(f.s)->epochs_sent, 4 * TC_SEEDER_EPOCH_COPIES);
    /* a re-JOIN of node 0 (its MAC, its token, the old epoch): the same index and token */
    f.e.now += 100 * MS;
    mark = f.e.nrec;
    join_msg(&j, 0);
    j.hdr.session_id = RS_SESSION;
    j.hdr.epoch = RS_EPOCH;
    j.hdr.token = RS_TOKEN(0);
    j.u.join.nruns = 1;
    j.u.join.runs[0].first = 1;
    j.u.join.runs[0].count = 2;
    deliver(&f, &j, addr_of(0));
    assert_true(find_msg(&f, mark, TC_WIRE_WELCOME, addr_of(0), &m) >= 0);
    assert_int_equal(m.u.welcome.node_index, 0);
    assert_int_equal(m.hdr.token, RS_TOKEN(0));
    assert_int_equal(m.hdr.session_id, RS_SESSION);
    assert_int_equal(m.hdr.epoch, RS_EPOCH + 1);
    assert_int_equal(m.u.welcome.nonce, j.u.join.nonce);
    assert_int_equal(tc_seeder_stats(f.s)->nodes, 3);
    /* its proof in the new epoch: ACTIVE, in the tree */
    for (k = 0; k < 3; k++) {
        f.token[k] = RS_TOKEN(k);
        f.index[k] = k;
    }
    node_hb(&f, 0);
    assert_int_equal(tc_seeder_node(f.s, 0, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_ACTIVE);
    /* the DONE node re-joins and comes back done: with no children to serve
     * it is released at once (NO_CHILDREN: node 0 is still receiving) */
    join_msg(&j, 2);
    j.hdr.session_id = RS_SESSION;
    j.hdr.epoch = RS_EPOCH;
    j.hdr.token = RS_TOKEN(2);
    mark = f.e.nrec;
    deliver(&f, &j, addr_of(2));
    assert_true(find_msg(&f, mark, TC_WIRE_WELCOME, addr_of(2), &m) >= 0);
    assert_int_equal(m.u.welcome.node_index, 2);
    assert_int_equal(m.hdr.token, RS_TOKEN(2));
    node_hb(&f, 2);
    assert_int_equal(tc_seeder_node(f.s, 2, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_RELEASED);
    assert_true(find_msg(&f, mark, TC_WIRE_RELEASE, addr_of(2), &m) >= 0);
    assert_int_equal(m.u.release.reason, TC_WIRE_RELEASE_NO_CHILDREN);
    assert_int_equal(tc_seeder_stats(f.s)->nodes_done, 1);
    /* node 1 missed the EPOCH and talks in the old epoch: an EPOCH back, once per
     * heartbeat interval, and the message itself is dropped */
    f.e.now += (uint64_t)cfg.limits.heartbeat_ms * MS;
    mark = f.e.nrec;
    node_hdr(&f, &m, 1, TC_WIRE_HEARTBEAT);
    m.hdr.epoch = RS_EPOCH;
    m.u.heartbeat.seq = 1;
    m.u.heartbeat.state = TC_WIRE_STATE_RECEIVING;
    deliver(&f, &m, addr_of(1));
    assert_int_equal(count_type(&f, mark, TC_WIRE_EPOCH), 1);
    assert_true(find_msg(&f, mark, TC_WIRE_EPOCH, addr_of(1), &j) >= 0);
    assert_int_equal(j.hdr.token, RS_TOKEN(1));
    assert_int_equal(j.hdr.epoch, RS_EPOCH + 1);
    assert_int_equal(j.u.epoch.prev_epoch, RS_EPOCH);
    assert_int_equal(tc_seeder_node(f.s, 1, &info), 0);
    assert_int_equal(info.state, TC_SEEDER_NODE_WELCOMED);
    m.u.heartbeat.seq = 2;
    deliver(&f, &m, addr_of(1));
    assert_int_equal(count_type(&f, mark, TC_WIRE_EPOCH), 1);
    /* ... but not to another address, nor with another token */
    f.e.now += (uint64_t)cfg.limits.heartbeat_ms * MS;
    mark = f.e.nrec;
    deliver(&f, &m, addr_of(5));
    m.hdr.token ^= 1;
    deliver(&f, &m, addr_of(1));
    assert_int_equal(count_type(&f, mark, TC_WIRE_EPOCH), 0);
    fx_close(&f);

    /* a state saved for another image is refused, naming the image */
    memcpy(other, img.m->image_digest, TC_SHA256_LEN);
    other[0] ^= 0xff;
    len = restore_state_build(buf, sizeof(buf), other);
    assert_true(len > 0);
    cfg.restore_len = (size_t)len;
    assert_int_equal(tc_seeder_new(&s, &cfg, &ops_dgram, &f.e, 1000, &err), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "demo"));
    assert_non_null(strstr(err.msg, "image"));
    /* and so is a torn one */
    len = restore_state_build(buf, sizeof(buf), img.m->image_digest);
    cfg.restore_len = (size_t)len - 1;
    tc_err_clear(&err);
    assert_true(tc_seeder_new(&s, &cfg, &ops_dgram, &f.e, 1000, &err) < 0);
    assert_null(s);
    assert_non_null(strstr(err.msg, "state"));
}

/** Node k reports its subtree's multicast loss: n_lo nodes in bucket 0, n_hi in bucket hi. */
static void node_loss_report(struct fx *f, uint32_t k, uint32_t seq, uint16_t n_lo, uint16_t n_hi,
                             uint32_t hi, uint32_t backlog)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_REPORT);
    m.u.report.seq = seq;
    m.u.report.subtree_nodes = (uint16_t)(n_lo + n_hi);
    m.u.report.backlog_max = backlog;
    m.u.report.loss_hist[0] = n_lo;
    m.u.report.loss_hist[hi] = (uint16_t)(m.u.report.loss_hist[hi] + n_hi);
    deliver(f, &m, addr_of(k));
}

/** Run to the next rate decision (at most one decision interval away) and a little beyond. */
static void rate_step(struct fx *f, const struct tc_seeder_cfg *cfg)
{
    run_until(f, f->e.now + TC_SEEDER_RATE_INTERVAL_REPORTS * cfg->limits.report_ms * MS + MS);
}

/**
 * --rate auto: starts at 80 % of the maximum; when the 90th percentile of
 * the direct children's loss histograms is above bucket 3 the rate drops
 * (steeply from the steep bucket on), at or below the up bucket it rises by
 * a step of the maximum (never above it), in between or with a disk backlog
 * it holds; decisions only while a round runs.
 */
static void test_rate_auto(void **state)
{
    struct tc_seeder_cfg cfg;
    struct fx f;
    uint64_t r, blocks;
    const uint64_t max = 500000;
    uint32_t seq = 0;

    (void)state;
    cfg_default(&cfg);
    cfg.rate_auto = 1;
    cfg.rate_bps = 0;
    cfg.rate_max_bps = max; /* slow enough that one round spans several decisions */
    cfg.limits.pace_burst_bytes = 64 * 1024; /* ... with no deep first burst */
    fx_open(&f, &cfg, &ops_dgram);
    r = max * TC_SEEDER_RATE_START_PERMILLE / 1000;
    assert_int_equal(r, 400000);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    fx_nodes(&f, 3); /* 0, 1 direct children; 2 under 0 */
    run_until(&f, f.e.now + 10 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 1);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 0);
    /* 9 of 10 nodes just above the down bucket: - TC_SEEDER_RATE_DOWN_PERMILLE */
    seq++;
    node_loss_report(&f, 0, seq, 1, 1, TC_SEEDER_RATE_DOWN_BUCKET + 1, 0);
    node_loss_report(&f, 1, seq, 0, 8, TC_SEEDER_RATE_DOWN_BUCKET + 1, 0);
    rate_step(&f, &cfg);
    r -= r * TC_SEEDER_RATE_DOWN_PERMILLE / 1000;
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_min_seen_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 1);
    /* 9 of 10 in the steep bucket: - TC_SEEDER_RATE_STEEP_PERMILLE */
    seq++;
    node_loss_report(&f, 0, seq, 1, 1, TC_SEEDER_RATE_STEEP_BUCKET, 0);
    node_loss_report(&f, 1, seq, 0, 8, TC_SEEDER_RATE_STEEP_BUCKET, 0);
    rate_step(&f, &cfg);
    r -= r * TC_SEEDER_RATE_STEEP_PERMILLE / 1000;
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 2);
    /* 1 of 10 nodes lossy, 9 clean: the percentile is bucket 0 (one node never sets the pace): + a
     * step of the maximum */
    seq++;
    node_loss_report(&f, 0, seq, 1, 1, 7, 0);
    node_loss_report(&f, 1, seq, 8, 0, 7, 0);
    rate_step(&f, &cfg);
    r += max * TC_SEEDER_RATE_STEP_PERMILLE / 1000;
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 3);
    /* everyone at the up bucket: up again */
    seq++;
    node_loss_report(&f, 0, seq, 0, 2, TC_SEEDER_RATE_UP_BUCKET, 0);
    node_loss_report(&f, 1, seq, 0, 1, TC_SEEDER_RATE_UP_BUCKET, 0);
    rate_step(&f, &cfg);
    r += max * TC_SEEDER_RATE_STEP_PERMILLE / 1000;
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 4);
    /* between the up and the down bucket: held */
    seq++;
    node_loss_report(&f, 0, seq, 0, 2, TC_SEEDER_RATE_DOWN_BUCKET, 0);
    node_loss_report(&f, 1, seq, 0, 1, TC_SEEDER_RATE_DOWN_BUCKET, 0);
    rate_step(&f, &cfg);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 4);
    /* no loss, but a disk backlog above the limit somewhere: held */
    seq++;
    node_loss_report(&f, 0, seq, 2, 0, 7, (uint32_t)TC_SEEDER_RATE_BACKLOG_BYTES + 1);
    node_loss_report(&f, 1, seq, 1, 0, 7, 0);
    rate_step(&f, &cfg);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 4);
    /* that was all during the first round: it is still sending */
    blocks = tc_seeder_stats(f.s)->mcast_blocks;
    run_until(&f, f.e.now + 2000 * MS); /* blocks leave in bursts of half the pacing bucket */
    assert_true(tc_seeder_stats(f.s)->mcast_blocks > blocks);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 1);
    /* the round ends; no decision without one, whatever the reports say */
    run_until(&f, f.e.now + 60000 * MS);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 1);
    seq++;
    node_loss_report(&f, 0, seq, 0, 2, 7, 0);
    node_loss_report(&f, 1, seq, 0, 1, 7, 0);
    f.e.now += 1000 * MS;
    assert_int_equal(tc_seeder_on_timer(f.s, f.e.now), 0);
    f.e.now += 1000 * MS;
    assert_int_equal(tc_seeder_on_timer(f.s, f.e.now), 0);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, r);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 4);
    fx_close(&f);

    /* never above the maximum */
    cfg.rate_bps = max - 10000;
    fx_open(&f, &cfg, &ops_dgram);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, max - 10000);
    fx_nodes(&f, 3);
    run_until(&f, f.e.now + 10 * MS);
    node_loss_report(&f, 0, 1, 2, 0, 5, 0);
    node_loss_report(&f, 1, 1, 1, 0, 5, 0);
    rate_step(&f, &cfg);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, max);
    node_loss_report(&f, 0, 2, 2, 0, 5, 0);
    node_loss_report(&f, 1, 2, 1, 0, 5, 0);
    rate_step(&f, &cfg);
    assert_int_equal(tc_seeder_stats(f.s)->rate_bps, max);
    assert_int_equal(tc_seeder_stats(f.s)->rate_changes, 1);
    fx_close(&f);
}

/** Node k acknowledges (object, index) up to cum_offset. */
static void node_ack(struct fx *f, uint32_t k, uint8_t object, uint32_t index, uint32_t cum)
{
    struct tc_wire_msg m;

    node_hdr(f, &m, k, TC_WIRE_ACK);
    m.u.ack.object = object;
    m.u.ack.index = index;
    m.u.ack.cum_offset = cum;
    m.u.ack.window = TC_WIRE_WINDOW_MAX;
    deliver(f, &m, addr_of(k));
}

/**
 * Tree-only: WELCOME says TREE_ONLY with no group; no multicast DATA at
 * all; the seeder's direct children get the manifest objects as a unicast
 * stream in sequence order; their ACKs are accepted, an ACK from a node
 * the seeder does not stream to is forged.
 */
static void test_tree_only(void **state)
{
    struct tc_seeder_cfg cfg;
    struct tc_wire_msg m, w;
    struct blk b;
    struct fx f;
    uint32_t i, k, mark, first[2], n0, n0b, lastpos[2] = {0, 0};
    uint64_t forged;
    int saw[2] = {0, 0};

    (void)state;
    cfg_default(&cfg);
    cfg.tree_only = 1;
    cfg.group.addr = 0;
    cfg.group.port = 0;
    fx_open(&f, &cfg, &ops_dgram);
    join_msg(&m, 0);
    deliver(&f, &m, addr_of(0));
    assert_true(find_msg(&f, 0, TC_WIRE_WELCOME, addr_of(0), &w) >= 0);
    assert_int_equal(w.hdr.flags, TC_WIRE_WELCOME_F_TREE_ONLY);
    assert_int_equal(w.u.welcome.group_addr, 0);
    assert_int_equal(w.u.welcome.group_port, 0);
    f.token[0] = w.hdr.token;
    f.index[0] = w.u.welcome.node_index;
    node_hb(&f, 0);
    node_join(&f, 1);
    node_hb(&f, 1);
    node_join(&f, 2);
    node_hb(&f, 2); /* under node 0 */
    run_until(&f, f.e.now + 50 * MS);
    /* every DATA is unicast to a direct child, in sequence order from position 0 */
    first[0] = first[1] = UINT32_MAX;
    for (i = 0; i < f.e.nrec; i++) {
        uint32_t pos;
        const uint8_t *eb;
        uint32_t elen;
        uint8_t *owned;

        if (!rec_block(&f, i, &b, &m))
            continue;
        assert_true(b.unicast);
        for (k = 0; k < 2; k++)
            if (b.to.addr == addr_of(k).addr && b.to.port == addr_of(k).port)
                break;
        assert_true(k < 2); /* never the group, never node 2 */
        assert_int_equal(b.token, f.token[k]);
        pos = tc_proto_pos_of(b.object, b.index);
        assert_true(pos >= lastpos[k]);
        lastpos[k] = pos;
        if (first[k] == UINT32_MAX)
            first[k] = i;
        expected_obj(b.object, b.index, &eb, &elen, &owned);
        assert_true(b.offset + b.len <= elen);
        assert_memory_equal(b.payload, eb + b.offset, b.len);
        free(owned);
        saw[k] = 1;
    }
    assert_int_equal(saw[0], 1);
    assert_int_equal(saw[1], 1);
    for (k = 0; k < 2; k++) {
        assert_true(rec_block(&f, first[k], &b, &m));
        assert_int_equal(b.object, TC_WIRE_OBJ_MANIFEST_HASHES);
        assert_int_equal(b.offset, 0);
    }
    assert_int_equal(tc_seeder_stats(f.s)->mcast_blocks, 0);
    assert_true(tc_seeder_stats(f.s)->stream_bytes > 0);
    /* node 0 acknowledges the manifest objects: accepted, and the stream goes on */
    forged = tc_seeder_stats(f.s)->rx_forged;
    n0 = 0;
    for (i = 0; i < f.e.nrec; i++)
        if (rec_block(&f, i, &b, &m) && b.to.addr == addr_of(0).addr)
            n0++;
    mark = f.e.nrec;
    node_ack(&f, 0, TC_WIRE_OBJ_MANIFEST_HASHES, 0,
             tc_proto_nsegs(img.m->len, SEG) * TC_WIRE_SEG_HASH_LEN);
    node_ack(&f, 0, TC_WIRE_OBJ_SIGBLOCK, 0, sizeof(img.sig));
    node_ack(&f, 0, TC_WIRE_OBJ_MANIFEST, 0, (uint32_t)img.m->len);
    assert_int_equal(tc_seeder_stats(f.s)->rx_forged, forged);
    run_until(&f, f.e.now + MS);
    n0b = 0;
    for (i = mark; i < f.e.nrec; i++) {
        if (!rec_block(&f, i, &b, &m) || b.to.addr != addr_of(0).addr)
            continue;
        n0b++;
        assert_true(tc_proto_pos_of(b.object, b.index) >= TC_PROTO_POS_CHUNKS);
    }
    assert_true(n0 > 0);
    assert_true(n0b > 0);
    /* an ACK from node 2 (node 0 streams to it, not the seeder): forged */
    node_ack(&f, 2, TC_WIRE_OBJ_MANIFEST_HASHES, 0, 16);
    assert_int_equal(tc_seeder_stats(f.s)->rx_forged, forged + 1);
    /* a long run: still never a multicast block, no round */
    run_until(&f, f.e.now + 3000 * MS);
    for (i = 0; i < f.e.nrec; i++)
        if (rec_block(&f, i, &b, &m))
            assert_true(b.unicast && b.to.addr != GROUP_ADDR && b.to.addr != addr_of(2).addr);
    assert_int_equal(tc_seeder_stats(f.s)->mcast_blocks, 0);
    assert_int_equal(tc_seeder_stats(f.s)->rounds, 0);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_welcome),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_tree_messages),
        cmocka_unit_test(test_root_fanout),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_rounds),
        cmocka_unit_test(test_pacing),
        cmocka_unit_test(test_repair_unicast),
        cmocka_unit_test(test_repair_early),
        cmocka_unit_test(test_remcast),
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_done_release),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_dataless_and_blocks),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_broken_image),
        cmocka_unit_test(test_restart_leaves_tree),
        cmocka_unit_test(test_proven_mid_round),
        cmocka_unit_test(test_liveness_dead),
        cmocka_unit_test(test_reparent_req_silent),
        cmocka_unit_test(test_reparent_req_behind),
        cmocka_unit_test(test_persist_done),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_rate_auto),
        cmocka_unit_test(test_tree_only),
    };

    return cmocka_run_group_tests(tests, image_setup, image_teardown);
}
