// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the agent core (lib/agent.c) fed a script of events. A fresh
 * agent per input; its JOIN is answered and, if the first byte says so, the
 * genuine manifest objects are multicast, so that the chunk paths are
 * reached. Then each record of the input is one event: an arbitrary
 * datagram from one of four addresses, a datagram body behind a valid
 * header of our session (so the body decoders and the state machine, not
 * the header check, see the bytes), a genuine block or object, a batch
 * through tc_agent_on_blocks(), a timer, or a disk completion (success or
 * error).
 *
 * Oracle: the agent must never crash, and no byte that is not the image's
 * may reach the disk (the write op compares every buffer with the genuine
 * raw image): the core's promise that no unverified byte is written.
 *
 * The seed corpus was made by building this file with
 * -DAGENT_FUZZ_MAKE_CORPUS (a main() that writes tests/fuzz/corpus/agent_fuzz/).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/agent.h"
#include "treecast/be.h"
#include "treecast/chunk.h"
#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"
#include "treecast/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** The image: 4 chunks of 64 KiB (DEFLATE, RAW, ZERO, RAW short). */
#define FZ_CHUNKS 4u
#define FZ_CHUNK (64u * 1024)
#define FZ_RAW ((uint64_t)FZ_CHUNKS * FZ_CHUNK - 3000)
#define FZ_SEG 1432u
#define FZ_MTU 1500u
#define FZ_SIG_LEN 24u
/** Disk operations in flight, at most (the agent has 1 write buffer, syncs, 1 read). */
#define FZ_IO_MAX 64u
/** Largest datagram a record carries, bytes. */
#define FZ_DGRAM_MAX TC_WIRE_DGRAM_MAX

#define FZ_SESSION 0x0123456789abcdefull
#define FZ_EPOCH 1u
#define FZ_TOKEN 0x1111222233334444ull
#define FZ_CHILD_TOKEN 0x5555666677778888ull
/** Every ops->random draw: nonces are predictable, so a corpus WELCOME can echo one. */
#define FZ_RANDOM 0x0101010101010101ull

/** First byte of an input: what is done before its records. */
#define FZ_F_WELCOME 0x01u  /* answer the JOIN with the genuine WELCOME */
#define FZ_F_MANIFEST 0x02u /* then multicast the three manifest objects */

/** Record opcodes (byte % FZ_OPS). */
enum {
    OP_DGRAM = 0,  /* peer, len u16, bytes */
    OP_BODY = 1,   /* peer, type, flags, token sel, len u16, body */
    OP_TIMER = 2,  /* delta u32 (us) */
    OP_IO = 3,     /* rc sel: complete the oldest disk op */
    OP_BLOCK = 4,  /* object, index, block, unicast */
    OP_BLOCKS = 5, /* object, index, offset u32, block_len u16, nblocks u16, total u32, bits, uc */
    OP_OBJECT = 6, /* object, index: every block, multicast */
    FZ_OPS = 7,
};

static const struct tc_proto_peer fz_peers[4] = {
    {0x0a000001u, 7000}, /* the seeder */
    {0x0a000004u, 7004}, /* a parent after REPARENT */
    {0x0a000009u, 7009}, /* a child after CHILDREN */
    {0x0b000001u, 9},    /* a stranger */
};
static const struct tc_proto_peer fz_group = {0xef000001u, 7100};

/** The genuine image, built once. */
static struct {
    int ready;
    uint8_t raw[FZ_CHUNKS * FZ_CHUNK];
    uint8_t stored[FZ_CHUNKS][FZ_CHUNK];
    size_t stored_len[FZ_CHUNKS];
    uint8_t list[FZ_CHUNKS][(FZ_CHUNK / FZ_SEG + 1) * TC_WIRE_SEG_HASH_LEN];
    size_t list_len[FZ_CHUNKS];
    struct tc_manifest *m;
    uint8_t *man_hashes;
    size_t man_hashes_len;
    uint8_t sig[FZ_SIG_LEN];
    uint8_t junk[FZ_CHUNK + TC_WIRE_DATA_PAYLOAD_MAX * 4];
} fz;

/** One disk operation waiting for an OP_IO record. */
struct fz_io {
    char kind;
    uint64_t cookie;
    uint64_t off;
    size_t len;
    uint8_t *buf;
};

static struct {
    struct fz_io io[FZ_IO_MAX]; /* waiting for an OP_IO record */
    uint32_t nio;               /* entries */
    int joined;                 /* the agent is in a group */
    struct tc_proto_peer group; /* which */
} env;

/** Build the image (deterministic). */
static void fz_image(void)
{
    struct tc_manifest_chunk ch[FZ_CHUNKS];
    uint8_t lh[FZ_CHUNKS * TC_SHA256_LEN];
    struct tc_manifest_params p;
    uint32_t i;
    size_t k;
    uint64_t s = 99;

    if (fz.ready)
        return;
    for (i = 0; i < FZ_CHUNKS; i++) {
        uint8_t *r = fz.raw + (size_t)i * FZ_CHUNK;
        size_t raw_len = i == FZ_CHUNKS - 1 ? FZ_CHUNK - 3000 : FZ_CHUNK;
        enum tc_enc enc;
        int rc;

        for (k = 0; k < raw_len; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            r[k] = i == 0 ? (uint8_t)("agent fuzz "[k % 11]) : i == 2 ? 0 : (uint8_t)(s >> 56);
        }
        rc = tc_chunk_encode(r, raw_len, TC_CHUNK_LEVEL_DEFAULT, fz.stored[i], &enc,
                             &fz.stored_len[i], NULL);
        assert(rc == 0);
        memset(&ch[i], 0, sizeof(ch[i]));
        ch[i].enc = (uint8_t)enc;
        ch[i].stored_len = (uint32_t)fz.stored_len[i];
        tc_sha256(fz.stored[i], fz.stored_len[i], ch[i].stored_hash);
        tc_sha256(r, raw_len, ch[i].raw_hash);
        fz.list_len[i] = tc_proto_nsegs(fz.stored_len[i], FZ_SEG) * TC_WIRE_SEG_HASH_LEN;
        tc_proto_hash_list(NULL, fz.stored[i], fz.stored_len[i], FZ_SEG, fz.list[i]);
        tc_manifest_list_hash(fz.list[i], fz.list_len[i], lh + i * TC_SHA256_LEN);
    }
    memset(&p, 0, sizeof(p));
    p.name = "fuzz";
    p.version = "1";
    p.raw_size = FZ_RAW;
    p.chunk_size = FZ_CHUNK;
    p.created = 1767225600LL;
    p.not_after = TC_TIME_NEVER;
    p.seg_size = FZ_SEG;
    p.list_hash = lh;
    if (tc_manifest_build(&p, ch, FZ_CHUNKS, NULL, &fz.m, NULL) != 0)
        abort();
    fz.man_hashes_len = tc_proto_nsegs(fz.m->len, FZ_SEG) * TC_WIRE_SEG_HASH_LEN;
    fz.man_hashes = malloc(fz.man_hashes_len);
    if (!fz.man_hashes)
        abort();
    tc_proto_hash_list(NULL, fz.m->bytes, fz.m->len, FZ_SEG, fz.man_hashes);
    for (k = 0; k < FZ_SIG_LEN; k++)
        fz.sig[k] = (uint8_t)(0x40 + k);
    for (k = 0; k < sizeof(fz.junk); k++)
        fz.junk[k] = (uint8_t)(k * 31 + 7);
    fz.ready = 1;
}

/* ---- ops ------------------------------------------------------------------------ */

static int fz_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    size_t i;
    struct tc_wire_msg m;

    (void)ctx;
    for (i = 0; i < n; i++) {
        /* whatever the agent sends must decode */
        assert(d[i].len <= TC_WIRE_DGRAM_MAX);
        assert(tc_wire_decode(d[i].buf, d[i].len, &m) == 0);
    }
    return (int)n;
}

static int fz_send_blocks(void *ctx, const struct tc_proto_blocks *b)
{
    (void)ctx;
    assert(b->nblocks >= 1 && b->nblocks <= TC_PROTO_TRAIN_BLOCKS_MAX);
    assert(b->block_len >= 1 && b->block_len <= TC_WIRE_DATA_PAYLOAD_MAX);
    assert(b->unicast && b->token != 0);
    return 0;
}

/** The group is the WELCOME's (any multicast address); a leave names the group joined. */
static int fz_group_op(void *ctx, int join, struct tc_proto_peer g)
{
    (void)ctx;
    assert((g.addr >> 28) == 0xe);
    if (join) {
        assert(!env.joined);
        env.joined = 1;
        env.group = g;
    } else {
        assert(env.joined && env.group.addr == g.addr && env.group.port == g.port);
        env.joined = 0;
    }
    return 0;
}

static int fz_push(char kind, uint64_t cookie, uint64_t off, size_t len, uint8_t *buf)
{
    if (env.nio == FZ_IO_MAX)
        return -EAGAIN;
    env.io[env.nio++] = (struct fz_io){kind, cookie, off, len, buf};
    return 0;
}

/** The oracle: only the image's own bytes are ever written. */
static int fz_write(void *ctx, uint32_t chunk, uint64_t off, const uint8_t *buf, size_t len,
                    uint64_t cookie)
{
    (void)ctx;
    assert(chunk < FZ_CHUNKS);
    assert(off == (uint64_t)chunk * FZ_CHUNK);
    assert(len == tc_manifest_chunk_raw_len(fz.m, chunk));
    if (buf)
        assert(memcmp(buf, fz.raw + off, len) == 0);
    else
        assert(tc_chunk_is_zero(fz.raw + off, len));
    return fz_push('W', cookie, off, len, NULL);
}

static int fz_sync(void *ctx, uint64_t cookie)
{
    (void)ctx;
    return fz_push('S', cookie, 0, 0, NULL);
}

static int fz_read(void *ctx, uint64_t off, uint8_t *buf, size_t len, uint64_t cookie)
{
    (void)ctx;
    assert(off + len <= FZ_RAW);
    return fz_push('R', cookie, off, len, buf);
}

static int fz_accept(void *ctx, const uint8_t *man, size_t man_len, const uint8_t *sig,
                     size_t sig_len, const struct tc_manifest **out, struct tc_err *err)
{
    (void)ctx;
    if (man_len != fz.m->len || memcmp(man, fz.m->bytes, man_len) != 0 || sig_len != FZ_SIG_LEN ||
        memcmp(sig, fz.sig, FZ_SIG_LEN) != 0)
        return tc_err_set(err, -EKEYREJECTED, "fuzz: not the genuine manifest");
    *out = fz.m;
    return 0;
}

static uint64_t fz_random(void *ctx)
{
    (void)ctx;
    return FZ_RANDOM;
}

static const struct tc_agent_ops fz_ops = {
    .send = fz_send,
    .send_blocks = NULL,
    .group = fz_group_op,
    .write = fz_write,
    .sync = fz_sync,
    .read = fz_read,
    .manifest_accept = fz_accept,
    .random = fz_random,
    .log = NULL,
};

static const struct tc_agent_ops fz_ops_blocks = {
    .send = fz_send,
    .send_blocks = fz_send_blocks,
    .group = fz_group_op,
    .write = fz_write,
    .sync = fz_sync,
    .read = fz_read,
    .manifest_accept = fz_accept,
    .random = fz_random,
    .log = NULL,
};

/* ---- the seeder's side ------------------------------------------------------------- */

/** The genuine bytes of an object (index taken modulo the chunk count). */
static const uint8_t *fz_obj(uint8_t object, uint32_t index, size_t *len)
{
    index %= FZ_CHUNKS;
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST:
        *len = fz.m->len;
        return fz.m->bytes;
    case TC_WIRE_OBJ_SIGBLOCK:
        *len = FZ_SIG_LEN;
        return fz.sig;
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        *len = fz.man_hashes_len;
        return fz.man_hashes;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        *len = fz.list_len[index];
        return fz.list[index];
    default:
        *len = fz.stored_len[index];
        return fz.stored[index];
    }
}

/** The genuine WELCOME (nonce FZ_RANDOM, token FZ_TOKEN). */
static void fz_welcome_msg(struct tc_wire_msg *w)
{
    struct tc_wire_welcome *wl = &w->u.welcome;

    memset(w, 0, sizeof(*w));
    w->hdr.type = TC_WIRE_WELCOME;
    w->hdr.session_id = FZ_SESSION;
    w->hdr.epoch = FZ_EPOCH;
    w->hdr.token = FZ_TOKEN;
    wl->nonce = FZ_RANDOM;
    wl->node_index = 2;
    wl->group_addr = fz_group.addr;
    wl->group_port = fz_group.port;
    wl->mtu = FZ_MTU;
    wl->seg_size = FZ_SEG;
    wl->parent_index = TC_WIRE_INDEX_SEEDER;
    wl->rate_bps = 1000000000ull;
    wl->manifest_len = (uint32_t)fz.m->len;
    wl->sigblock_len = FZ_SIG_LEN;
    wl->heartbeat_ms = 500;
    wl->report_ms = 100;
    wl->depth = 1;
    tc_sha256(fz.m->bytes, fz.m->len, wl->manifest_digest);
    tc_sha256(fz.man_hashes, fz.man_hashes_len, wl->manifest_hashes_digest);
    tc_sha256(fz.sig, FZ_SIG_LEN, wl->sigblock_digest);
}

/** Encode m into buf; its length. */
static size_t fz_encode(const struct tc_wire_msg *m, uint8_t *buf)
{
    int n = tc_wire_encode(m, buf, FZ_DGRAM_MAX);

    assert(n > 0);
    return (size_t)n;
}

/** A genuine DATA block j of an object (multicast, or unicast with our token). */
static size_t fz_block(uint8_t object, uint32_t index, uint32_t j, int unicast, uint8_t *buf)
{
    struct tc_wire_msg m;
    size_t len;
    const uint8_t *b = fz_obj(object, index, &len);
    uint32_t n = tc_proto_nsegs(len, FZ_SEG), off;

    if (n == 0) {
        /* a ZERO chunk has no bytes: send one junk byte (the agent must refuse it) */
        b = fz.junk;
        len = 1;
        n = 1;
    }
    j %= n;
    off = j * FZ_SEG;
    memset(&m, 0, sizeof(m));
    m.hdr.type = TC_WIRE_DATA;
    m.hdr.flags = unicast ? TC_WIRE_DATA_F_UNICAST : 0;
    m.hdr.session_id = FZ_SESSION;
    m.hdr.epoch = FZ_EPOCH;
    m.hdr.token = unicast ? FZ_TOKEN : 0;
    m.u.data.object = object;
    m.u.data.index =
        (object == TC_WIRE_OBJ_CHUNK || object == TC_WIRE_OBJ_CHUNK_HASHES) ? index % FZ_CHUNKS : 0;
    m.u.data.offset = off;
    m.u.data.len = (uint16_t)(len - off < FZ_SEG ? len - off : FZ_SEG);
    m.u.data.payload = b + off;
    return fz_encode(&m, buf);
}

/* ---- running a script ----------------------------------------------------------------- */

/** A cursor over the input. */
struct fz_in {
    const uint8_t *p;
    size_t left;
};

static uint8_t in_u8(struct fz_in *in)
{
    uint8_t v = 0;

    if (in->left) {
        v = *in->p++;
        in->left--;
    }
    return v;
}

static uint32_t in_u16(struct fz_in *in)
{
    uint32_t v = in_u8(in);

    return (v << 8) | in_u8(in);
}

static uint32_t in_u32(struct fz_in *in)
{
    uint32_t v = in_u16(in);

    return (v << 16) | in_u16(in);
}

/** Deliver all blocks of an object by multicast. */
static void fz_object(struct tc_agent *a, uint64_t now, uint8_t object, uint32_t index)
{
    static uint8_t buf[FZ_DGRAM_MAX];
    size_t len;
    uint32_t j, n;

    fz_obj(object, index, &len);
    n = tc_proto_nsegs(len, FZ_SEG);
    for (j = 0; j < n; j++) {
        size_t dl = fz_block(object, index, j, 0, buf);

        tc_agent_on_packet(a, now, fz_peers[0], buf, dl);
    }
}

/** Complete the oldest disk op. */
static void fz_io_done(struct tc_agent *a, uint64_t now, uint8_t sel)
{
    struct fz_io op;
    int rc = (sel & 7) == 7 ? -EIO : 0;

    if (env.nio == 0)
        return;
    op = env.io[0];
    memmove(env.io, env.io + 1, (env.nio - 1) * sizeof(env.io[0]));
    env.nio--;
    if (op.kind == 'W') {
        tc_agent_on_written(a, now, op.cookie, rc);
    } else if (op.kind == 'S') {
        tc_agent_on_durable(a, now, op.cookie, rc);
    } else {
        /* sel bit 3: the target holds other bytes than it should */
        memcpy(op.buf, (sel & 8) ? fz.junk : fz.raw + op.off, op.len);
        tc_agent_on_read(a, now, op.cookie, rc);
    }
}

/** An on_blocks batch described by the input. */
static void fz_blocks(struct tc_agent *a, uint64_t now, struct fz_in *in)
{
    struct tc_proto_blocks rx;
    uint64_t bitmap[TC_PROTO_TRAIN_BLOCKS_MAX / 64];
    uint8_t bits, uc;
    size_t glen;
    const uint8_t *g;
    uint32_t i;

    memset(&rx, 0, sizeof(rx));
    rx.object = in_u8(in);
    rx.index = in_u8(in);
    rx.offset = in_u32(in);
    rx.block_len = in_u16(in);
    rx.nblocks = in_u16(in) % (TC_PROTO_TRAIN_BLOCKS_MAX + 1);
    rx.total_len = in_u32(in);
    bits = in_u8(in);
    uc = in_u8(in);
    rx.peer = fz_peers[uc % 4];
    rx.unicast = (uc >> 2) & 1;
    rx.token = rx.unicast ? ((uc & 8) ? FZ_CHILD_TOKEN : FZ_TOKEN) : 0;
    rx.session_id = FZ_SESSION;
    rx.epoch = FZ_EPOCH;
    for (i = 0; i < TC_PROTO_TRAIN_BLOCKS_MAX / 64; i++)
        bitmap[i] = bits & 1 ? ~0ull : 0x5555555555555555ull << (bits >> 1 & 1);
    rx.bitmap = bitmap;
    /* the payload covers total_len: the genuine object when it fits, else junk */
    g = (rx.object >= 1 && rx.object <= TC_WIRE_OBJ_MAX) ? fz_obj(rx.object, rx.index, &glen)
                                                         : NULL;
    if (g && (uint64_t)rx.offset + rx.total_len <= glen)
        rx.payload = g + rx.offset;
    else
        rx.payload = fz.junk;
    if (rx.payload == fz.junk && rx.total_len > sizeof(fz.junk))
        rx.total_len = sizeof(fz.junk);
    tc_agent_on_blocks(a, now, &rx);
}

/** One header-prefixed body: type, flags, token from the input. */
static void fz_body(struct tc_agent *a, uint64_t now, struct fz_in *in)
{
    static uint8_t buf[FZ_DGRAM_MAX];
    struct tc_proto_peer from = fz_peers[in_u8(in) % 4];
    uint8_t type = in_u8(in), flags = in_u8(in), tsel = in_u8(in);
    size_t len = in_u16(in);
    static const uint64_t tokens[4] = {FZ_TOKEN, 0, FZ_CHILD_TOKEN, 1};

    if (len > in->left)
        len = in->left;
    if (len > FZ_DGRAM_MAX - TC_WIRE_HDR_LEN)
        len = FZ_DGRAM_MAX - TC_WIRE_HDR_LEN;
    tc_put_be32(buf, TC_WIRE_MAGIC);
    buf[4] = TC_WIRE_VERSION;
    buf[5] = type;
    tc_put_be16(buf + 6, flags);
    tc_put_be64(buf + 8, FZ_SESSION);
    tc_put_be32(buf + 16, FZ_EPOCH);
    tc_put_be64(buf + 20, tokens[tsel % 4]);
    memcpy(buf + TC_WIRE_HDR_LEN, in->p, len);
    in->p += len;
    in->left -= len;
    tc_agent_on_packet(a, now, from, buf, TC_WIRE_HDR_LEN + len);
}

/** Check what must hold after every event. */
static void fz_check(const struct tc_agent *a, uint64_t now)
{
    enum tc_agent_state st = tc_agent_state(a);
    const struct tc_agent_stats *s = tc_agent_stats(a);

    assert(st >= TC_AGENT_JOINING && st <= TC_AGENT_FAILED);
    assert(tc_agent_state_name(st)[0] != '?');
    assert(s->chunks_done <= FZ_CHUNKS);
    if (st == TC_AGENT_FAILED)
        assert(tc_agent_error(a)->rc < 0 && tc_agent_error(a)->msg[0] != '\0');
    if (st == TC_AGENT_FAILED || st == TC_AGENT_RELEASED)
        assert(tc_agent_next_deadline(a) == TC_PROTO_NEVER);
    (void)now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[FZ_DGRAM_MAX];
    struct tc_agent_cfg cfg;
    struct tc_agent *a = NULL;
    struct tc_wire_msg w;
    struct fz_in in = {data, size};
    uint64_t now = 0, t;
    uint8_t head;
    uint32_t steps = 0;

    fz_image();
    memset(&env, 0, sizeof(env));
    head = in_u8(&in);
    memset(&cfg, 0, sizeof(cfg));
    cfg.node_id[0] = 0x02;
    cfg.node_id[5] = 0x07;
    cfg.image = "fuzz";
    cfg.disk_size = FZ_RAW;
    cfg.mtu = FZ_MTU;
    cfg.seeder = fz_peers[0];
    cfg.self = (struct tc_proto_peer){0x0a000002u, 7002};
    cfg.cache_slots = 2;
    cfg.writes_max = 1;
    cfg.chunk_size_max = FZ_CHUNK;
    tc_proto_limits_default(&cfg.limits);
    if (tc_agent_new(&a, &cfg, (head & 4) ? &fz_ops_blocks : &fz_ops, NULL, now, NULL) != 0)
        abort();
    t = tc_agent_next_deadline(a);
    assert(t != TC_PROTO_NEVER);
    now = t;
    tc_agent_on_timer(a, now); /* the JOIN */
    if (head & FZ_F_WELCOME) {
        fz_welcome_msg(&w);
        tc_agent_on_packet(a, now, fz_peers[0], buf, fz_encode(&w, buf));
        assert(tc_agent_state(a) == TC_AGENT_MANIFEST);
        if (head & FZ_F_MANIFEST) {
            fz_object(a, now, TC_WIRE_OBJ_MANIFEST_HASHES, 0);
            fz_object(a, now, TC_WIRE_OBJ_SIGBLOCK, 0);
            fz_object(a, now, TC_WIRE_OBJ_MANIFEST, 0);
            assert(tc_agent_state(a) == TC_AGENT_RECEIVING);
        }
    }
    while (in.left && steps++ < 4096) {
        uint8_t op = in_u8(&in) % FZ_OPS;

        switch (op) {
        case OP_DGRAM: {
            struct tc_proto_peer from = fz_peers[in_u8(&in) % 4];
            size_t len = in_u16(&in);

            if (len > in.left)
                len = in.left;
            memcpy(buf, in.p, len < sizeof(buf) ? len : sizeof(buf));
            tc_agent_on_packet(a, now, from, buf, len < sizeof(buf) ? len : sizeof(buf));
            in.p += len;
            in.left -= len;
            break;
        }
        case OP_BODY:
            fz_body(a, now, &in);
            break;
        case OP_TIMER:
            now += (uint64_t)in_u32(&in) * 1000;
            tc_agent_on_timer(a, now);
            break;
        case OP_IO:
            fz_io_done(a, now, in_u8(&in));
            break;
        case OP_BLOCK: {
            uint8_t object = in_u8(&in) % TC_WIRE_OBJ_MAX + 1, index = in_u8(&in);
            uint8_t j = in_u8(&in), uc = in_u8(&in);
            size_t dl = fz_block(object, index, j, uc & 1, buf);

            tc_agent_on_packet(a, now, fz_peers[(uc >> 1) % 4], buf, dl);
            break;
        }
        case OP_BLOCKS:
            fz_blocks(a, now, &in);
            break;
        default: {
            uint8_t object = in_u8(&in) % TC_WIRE_OBJ_MAX + 1, index = in_u8(&in);

            fz_object(a, now, object, index);
            break;
        }
        }
        fz_check(a, now);
    }
#ifdef AGENT_FUZZ_MAKE_CORPUS
    fprintf(stderr, "  -> %s, %u chunks done, %llu served blocks, %llu forged, %llu bad\n",
            tc_agent_state_name(tc_agent_state(a)), tc_agent_stats(a)->chunks_done,
            (unsigned long long)tc_agent_stats(a)->served_blocks,
            (unsigned long long)tc_agent_stats(a)->rx_forged,
            (unsigned long long)tc_agent_stats(a)->rx_bad);
#endif
    tc_agent_free(a);
    return 0;
}

#ifdef AGENT_FUZZ_MAKE_CORPUS
/* ---- seed corpus ------------------------------------------------------------------------ */

/** A corpus file being written. */
struct fz_out {
    uint8_t b[1u << 20];
    size_t n;
};

static void out_u8(struct fz_out *o, uint8_t v)
{
    o->b[o->n++] = v;
}

static void out_u16(struct fz_out *o, uint32_t v)
{
    out_u8(o, (uint8_t)(v >> 8));
    out_u8(o, (uint8_t)v);
}

/** An OP_DGRAM record carrying msg from peer p. */
static void out_msg(struct fz_out *o, uint8_t p, const struct tc_wire_msg *m)
{
    uint8_t buf[FZ_DGRAM_MAX];
    size_t n = fz_encode(m, buf);

    out_u8(o, OP_DGRAM);
    out_u8(o, p);
    out_u16(o, (uint32_t)n);
    memcpy(o->b + o->n, buf, n);
    o->n += n;
}

static void out_hdr(struct tc_wire_msg *m, uint8_t type, uint64_t token)
{
    memset(m, 0, sizeof(*m));
    m->hdr.type = type;
    m->hdr.session_id = FZ_SESSION;
    m->hdr.epoch = FZ_EPOCH;
    m->hdr.token = token;
}

/** Every object multicast and every disk op completed: the agent reaches DONE. */
static void out_all(struct fz_out *o)
{
    uint32_t i, k;

    for (i = 0; i < FZ_CHUNKS; i++) {
        if (fz.stored_len[i] == 0)
            continue;
        out_u8(o, OP_OBJECT);
        out_u8(o, TC_WIRE_OBJ_CHUNK_HASHES - 1);
        out_u8(o, (uint8_t)i);
        out_u8(o, OP_OBJECT);
        out_u8(o, TC_WIRE_OBJ_CHUNK - 1);
        out_u8(o, (uint8_t)i);
        for (k = 0; k < 4; k++) {
            out_u8(o, OP_IO);
            out_u8(o, 0);
        }
    }
    for (k = 0; k < 8; k++) {
        out_u8(o, OP_IO);
        out_u8(o, 0);
    }
}

/** Write a corpus file and say what the seed reaches. */
static void out_file(const char *dir, const char *name, const struct fz_out *o)
{
    char path[512];
    FILE *f;

    fprintf(stderr, "%s:\n", name);
    LLVMFuzzerTestOneInput(o->b, o->n);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(o->b, 1, o->n, f) != o->n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static struct fz_out o;
    const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus/agent_fuzz";
    struct tc_wire_msg m;
    uint8_t buf[FZ_DGRAM_MAX];
    size_t n;

    fz_image();
    /* WELCOME by datagram, then the manifest */
    o.n = 0;
    out_u8(&o, 0);
    fz_welcome_msg(&m);
    out_msg(&o, 0, &m);
    out_u8(&o, OP_OBJECT);
    out_u8(&o, TC_WIRE_OBJ_MANIFEST_HASHES - 1);
    out_u8(&o, 0);
    out_file(dir, "welcome", &o);
    /* DATA: a genuine multicast and a unicast block of chunk 1 */
    o.n = 0;
    out_u8(&o, FZ_F_WELCOME | FZ_F_MANIFEST);
    n = fz_block(TC_WIRE_OBJ_CHUNK_HASHES, 1, 0, 0, buf);
    out_u8(&o, OP_DGRAM);
    out_u8(&o, 0);
    out_u16(&o, (uint32_t)n);
    memcpy(o.b + o.n, buf, n);
    o.n += n;
    n = fz_block(TC_WIRE_OBJ_CHUNK, 1, 3, 1, buf);
    out_u8(&o, OP_DGRAM);
    out_u8(&o, 0);
    out_u16(&o, (uint32_t)n);
    memcpy(o.b + o.n, buf, n);
    o.n += n;
    out_file(dir, "data", &o);
    /* CHILDREN, then the child's REPAIR_REQ and REPORT and HEARTBEAT */
    o.n = 0;
    out_u8(&o, FZ_F_WELCOME | FZ_F_MANIFEST);
    out_hdr(&m, TC_WIRE_CHILDREN, FZ_TOKEN);
    m.u.children.generation = 1;
    m.u.children.count = 1;
    m.u.children.children[0].node_index = 9;
    m.u.children.children[0].addr = fz_peers[2].addr;
    m.u.children.children[0].port = fz_peers[2].port;
    m.u.children.children[0].token = FZ_CHILD_TOKEN;
    out_msg(&o, 0, &m);
    out_file(dir, "children", &o);
    out_hdr(&m, TC_WIRE_REPAIR_REQ, FZ_CHILD_TOKEN);
    m.u.repair_req.object = TC_WIRE_OBJ_MANIFEST;
    m.u.repair_req.nranges = 1;
    m.u.repair_req.ranges[0].offset = 0;
    m.u.repair_req.ranges[0].len = (uint32_t)fz.m->len;
    out_msg(&o, 2, &m);
    out_file(dir, "repair_req", &o);
    /* the whole session, then the chunk read back for the child */
    out_all(&o);
    out_hdr(&m, TC_WIRE_REPAIR_REQ, FZ_CHILD_TOKEN);
    m.u.repair_req.object = TC_WIRE_OBJ_CHUNK;
    m.u.repair_req.index = 1;
    m.u.repair_req.nranges = 1;
    m.u.repair_req.ranges[0].offset = 0;
    m.u.repair_req.ranges[0].len = 5000;
    out_msg(&o, 2, &m);
    out_u8(&o, OP_IO);
    out_u8(&o, 0);
    out_hdr(&m, TC_WIRE_DONE_ACK, FZ_TOKEN);
    memcpy(m.u.done_ack.image_digest, fz.m->image_digest, TC_SHA256_LEN);
    out_msg(&o, 0, &m);
    out_file(dir, "done_ack", &o);
    out_hdr(&m, TC_WIRE_RELEASE, FZ_TOKEN);
    m.u.release.reason = TC_WIRE_RELEASE_COMPLETE;
    out_msg(&o, 0, &m);
    out_file(dir, "release", &o);
    /* REPARENT to a node parent, then a unicast block from it */
    o.n = 0;
    out_u8(&o, FZ_F_WELCOME | FZ_F_MANIFEST | 4);
    out_hdr(&m, TC_WIRE_REPARENT, FZ_TOKEN);
    m.u.reparent.generation = 2;
    m.u.reparent.parent_index = 4;
    m.u.reparent.parent_addr = fz_peers[1].addr;
    m.u.reparent.parent_port = fz_peers[1].port;
    m.u.reparent.depth = 2;
    out_msg(&o, 0, &m);
    out_u8(&o, OP_BLOCK);
    out_u8(&o, TC_WIRE_OBJ_CHUNK - 1);
    out_u8(&o, 3);
    out_u8(&o, 1);
    out_u8(&o, 1 | (1 << 1));
    out_u8(&o, OP_TIMER);
    out_u16(&o, 0);
    out_u16(&o, 50000);
    out_file(dir, "reparent", &o);
    return 0;
}
#endif
