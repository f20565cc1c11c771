// SPDX-License-Identifier: MIT
/*
 * Unit tests for lib/agent.c: a real 8-chunk image in memory (ZERO, RAW and
 * DEFLATE chunks, hash lists, a manifest with its block-hash section), a fake
 * seeder in the test that encodes WELCOME, DATA and the rest with
 * tc_wire_encode(), and fake ops that record what the agent sends and
 * writes. Disk completions are delivered by the test, never from an op.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/agent.h"
#include "treecast/chunk.h"
#include "treecast/crypto.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"
#include "treecast/stream.h"
#include "treecast/wire.h"

/** Test image: 8 chunks of 64 KiB, the last 1000 bytes short. */
#define CHUNKS 8u
#define CHUNK_SIZE (64u * 1024)
#define RAW_SIZE ((uint64_t)CHUNKS * CHUNK_SIZE - 1000)
#define SEG 1432u
#define MTU 1500u
#define SIG_LEN 40u
/** Recorded datagrams, writes, I/O in flight. */
#define SENT_MAX 4096u
#define IO_MAX 256u
#define WLOG_MAX 256u

static const struct tc_proto_peer SEEDER = {0x0a000001u, 7000};
static const struct tc_proto_peer SELF = {0x0a000002u, 7001};
static const struct tc_proto_peer CHILD = {0x0a000009u, 7009};
static const struct tc_proto_peer PARENT = {0x0a000004u, 7004};
static const struct tc_proto_peer GROUP = {0xef000001u, 7100};
#define SESSION 0x1122334455667788ull
#define EPOCH 1u
#define TOKEN 0x5555aaaa5555aaaaull
#define CHILD_TOKEN 0x7777000077770000ull

/** The image, built once. */
static struct {
    uint8_t raw[CHUNKS * CHUNK_SIZE];
    uint8_t stored[CHUNKS][CHUNK_SIZE];
    size_t stored_len[CHUNKS];
    uint8_t enc[CHUNKS];
    uint8_t list[CHUNKS][(CHUNK_SIZE / SEG + 1) * TC_WIRE_SEG_HASH_LEN];
    size_t list_len[CHUNKS];
    struct tc_manifest *m;
    uint8_t *man_hashes;
    size_t man_hashes_len;
    uint8_t sig[SIG_LEN];
} img;

/** One datagram the agent sent. */
struct sent {
    struct tc_proto_peer to;
    size_t len;
    uint8_t buf[TC_WIRE_DGRAM_MAX];
};

/** One write or sync in the order the agent issued them. */
struct wlog {
    char kind;      /* 'W' write, 'S' sync */
    uint32_t chunk; /* W */
    int null_buf;   /* W: buf NULL */
};

/** A disk operation waiting for the test to complete it. */
struct io {
    char kind; /* 'W', 'S', 'R' */
    uint64_t cookie;
    uint64_t off;
    size_t len;
    uint8_t *rbuf; /* R */
};

/** The fake environment. */
static struct env {
    struct sent *sent;
    uint32_t nsent;
    struct tc_proto_blocks blocks[64];
    uint32_t nblocks;
    struct wlog wlog[WLOG_MAX];
    uint32_t nwlog;
    uint32_t writes[CHUNKS];
    struct io io[IO_MAX];
    uint32_t nio;
    uint8_t disk[CHUNKS * CHUNK_SIZE];
    int group_joined;
    uint64_t rng;
    int dataless;
    int refuse;
    uint32_t reads;
    int read_rc; /**< op_read returns this when non-zero */
} E;

/* ---- the image ---------------------------------------------------------------- */

/** xorshift64* */
static uint64_t prng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/** Build the image: chunk i zero when i % 3 == 2, random when i % 3 == 1, text otherwise. */
static int image_setup(void **state)
{
    struct tc_manifest_chunk ch[CHUNKS];
    uint8_t lh[CHUNKS * TC_SHA256_LEN];
    struct tc_manifest_params p;
    struct tc_err err;
    uint64_t s = 42;
    uint32_t i;
    size_t k;

    (void)state;
    memset(&img, 0, sizeof(img));
    for (i = 0; i < CHUNKS; i++) {
        uint8_t *r = img.raw + (size_t)i * CHUNK_SIZE;
        size_t raw_len = i == CHUNKS - 1 ? CHUNK_SIZE - 1000 : CHUNK_SIZE;
        enum tc_enc enc;

        for (k = 0; k < raw_len; k++) {
            if (i % 3 == 2)
                r[k] = 0;
            else if (i % 3 == 1)
                r[k] = (uint8_t)prng(&s);
            else
                r[k] = (uint8_t)("treecast chunk text "[k % 20] + (k / 997) % 7);
        }
        assert_int_equal(tc_chunk_encode(r, raw_len, TC_CHUNK_LEVEL_DEFAULT, img.stored[i], &enc,
                                         &img.stored_len[i], NULL),
                         0);
        img.enc[i] = (uint8_t)enc;
        memset(&ch[i], 0, sizeof(ch[i]));
        ch[i].enc = (uint8_t)enc;
        ch[i].stored_len = (uint32_t)img.stored_len[i];
        tc_sha256(img.stored[i], img.stored_len[i], ch[i].stored_hash);
        tc_sha256(r, raw_len, ch[i].raw_hash);
        img.list_len[i] = tc_proto_nsegs(img.stored_len[i], SEG) * TC_WIRE_SEG_HASH_LEN;
        tc_proto_hash_list(NULL, img.stored[i], img.stored_len[i], SEG, img.list[i]);
        tc_manifest_list_hash(img.list[i], img.list_len[i], lh + i * TC_SHA256_LEN);
    }
    assert_int_equal(img.enc[0], TC_ENC_DEFLATE);
    assert_int_equal(img.enc[1], TC_ENC_RAW);
    assert_int_equal(img.enc[2], TC_ENC_ZERO);
    memset(&p, 0, sizeof(p));
    p.name = "demo";
    p.version = "1.0";
    p.raw_size = RAW_SIZE;
    p.chunk_size = CHUNK_SIZE;
    p.created = 1767225600LL;
    p.not_after = TC_TIME_NEVER;
    p.seg_size = SEG;
    p.list_hash = lh;
    tc_err_clear(&err);
    assert_int_equal(tc_manifest_build(&p, ch, CHUNKS, NULL, &img.m, &err), 0);
    img.man_hashes_len = tc_proto_nsegs(img.m->len, SEG) * TC_WIRE_SEG_HASH_LEN;
    img.man_hashes = malloc(img.man_hashes_len);
    assert_non_null(img.man_hashes);
    tc_proto_hash_list(NULL, img.m->bytes, img.m->len, SEG, img.man_hashes);
    for (k = 0; k < SIG_LEN; k++)
        img.sig[k] = (uint8_t)(k * 3 + 1);
    E.sent = calloc(SENT_MAX, sizeof(*E.sent));
    assert_non_null(E.sent);
    return 0;
}

static int image_teardown(void **state)
{
    (void)state;
    tc_manifest_free(img.m);
    free(img.man_hashes);
    free(E.sent);
    return 0;
}

/* ---- fake ops ------------------------------------------------------------------ */

static int op_send(void *ctx, const struct tc_proto_dgram *d, size_t n)
{
    size_t i;

    (void)ctx;
    for (i = 0; i < n; i++) {
        assert_true(d[i].len <= TC_WIRE_DGRAM_MAX);
        assert_true(E.nsent < SENT_MAX);
        E.sent[E.nsent].to = d[i].to;
        E.sent[E.nsent].len = d[i].len;
        memcpy(E.sent[E.nsent].buf, d[i].buf, d[i].len);
        E.nsent++;
    }
    return (int)n;
}

/** send_blocks: encoded as the DATA datagrams they stand for, so tests read one list. */
static int op_send_blocks(void *ctx, const struct tc_proto_blocks *b)
{
    uint32_t j;

    (void)ctx;
    assert_true(E.nblocks < 64);
    E.blocks[E.nblocks++] = *b;
    for (j = 0; j < b->nblocks; j++) {
        struct tc_wire_msg m;
        struct tc_proto_dgram d;
        uint8_t buf[TC_WIRE_DGRAM_MAX];
        uint32_t off = j * b->block_len;
        int n;

        memset(&m, 0, sizeof(m));
        m.hdr.type = TC_WIRE_DATA;
        m.hdr.flags = b->unicast ? TC_WIRE_DATA_F_UNICAST : 0;
        m.hdr.session_id = b->session_id;
        m.hdr.epoch = b->epoch;
        m.hdr.token = b->token;
        m.u.data.object = b->object;
        m.u.data.index = b->index;
        m.u.data.offset = b->offset + off;
        m.u.data.len =
            (uint16_t)(b->total_len - off < b->block_len ? b->total_len - off : b->block_len);
        m.u.data.payload = b->payload + off;
        n = tc_wire_encode(&m, buf, sizeof(buf));
        assert_true(n > 0);
        d.to = b->peer;
        d.buf = buf;
        d.len = (size_t)n;
        op_send(ctx, &d, 1);
    }
    return 0;
}

static int op_group(void *ctx, int join, struct tc_proto_peer g)
{
    (void)ctx;
    assert_int_equal(g.addr, GROUP.addr);
    E.group_joined = join;
    return 0;
}

static int op_write(void *ctx, uint32_t chunk, uint64_t off, const uint8_t *buf, size_t len,
                    uint64_t cookie)
{
    (void)ctx;
    assert_true(chunk < CHUNKS);
    assert_int_equal(off, (uint64_t)chunk * CHUNK_SIZE);
    assert_int_equal(len, tc_manifest_chunk_raw_len(img.m, chunk));
    if (buf)
        memcpy(E.disk + off, buf, len);
    else
        memset(E.disk + off, 0, len);
    E.writes[chunk]++;
    assert_true(E.nwlog < WLOG_MAX && E.nio < IO_MAX);
    E.wlog[E.nwlog++] = (struct wlog){'W', chunk, buf == NULL};
    E.io[E.nio++] = (struct io){'W', cookie, off, len, NULL};
    return 0;
}

static int op_sync(void *ctx, uint64_t cookie)
{
    (void)ctx;
    assert_true(E.nwlog < WLOG_MAX && E.nio < IO_MAX);
    E.wlog[E.nwlog++] = (struct wlog){'S', 0, 0};
    E.io[E.nio++] = (struct io){'S', cookie, 0, 0, NULL};
    return 0;
}

static int op_read(void *ctx, uint64_t off, uint8_t *buf, size_t len, uint64_t cookie)
{
    (void)ctx;
    if (E.read_rc)
        return E.read_rc;
    assert_true(E.nio < IO_MAX);
    E.reads++;
    E.io[E.nio++] = (struct io){'R', cookie, off, len, buf};
    return 0;
}

static int op_manifest_accept(void *ctx, const uint8_t *man, size_t man_len, const uint8_t *sig,
                              size_t sig_len, const struct tc_manifest **out, struct tc_err *err)
{
    (void)ctx;
    if (E.refuse)
        return tc_err_set(err, -EKEYREJECTED, "test: key 0123abcd is revoked");
    if (!E.dataless) {
        assert_non_null(man);
        assert_non_null(sig);
        if (man_len != img.m->len || memcmp(man, img.m->bytes, man_len) != 0 ||
            sig_len != SIG_LEN || memcmp(sig, img.sig, SIG_LEN) != 0)
            return tc_err_set(err, -EKEYREJECTED, "test: manifest or signature not genuine");
    } else {
        assert_null(man);
    }
    *out = img.m;
    return 0;
}

static uint64_t op_random(void *ctx)
{
    (void)ctx;
    return prng(&E.rng);
}

static const struct tc_agent_ops ops = {
    .send = op_send,
    .send_blocks = NULL,
    .group = op_group,
    .write = op_write,
    .sync = op_sync,
    .read = op_read,
    .manifest_accept = op_manifest_accept,
    .random = op_random,
    .log = NULL,
};

static const struct tc_agent_ops ops_blocks = {
    .send = op_send,
    .send_blocks = op_send_blocks,
    .group = op_group,
    .write = op_write,
    .sync = op_sync,
    .read = op_read,
    .manifest_accept = op_manifest_accept,
    .random = op_random,
    .log = NULL,
};

/* ---- helpers ------------------------------------------------------------------------ */

static void env_reset(uint64_t seed)
{
    struct sent *s = E.sent;

    memset(&E, 0, sizeof(E));
    E.sent = s;
    E.rng = seed;
}

static void cfg_default(struct tc_agent_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->node_id[0] = 0x52;
    c->node_id[5] = 0x01;
    c->image = "demo";
    c->disk_size = RAW_SIZE;
    c->mtu = MTU;
    c->seeder = SEEDER;
    c->self = SELF;
    c->chunk_size_max = CHUNK_SIZE;
    tc_proto_limits_default(&c->limits);
}

static struct tc_agent *agent_new(const struct tc_agent_cfg *c, const struct tc_agent_ops *o)
{
    struct tc_agent *a = NULL;
    struct tc_err err;

    tc_err_clear(&err);
    assert_int_equal(tc_agent_new(&a, c, o, NULL, 0, &err), 0);
    return a;
}

/** Decode datagram i of the sent list. */
static void sent_msg(uint32_t i, struct tc_wire_msg *m)
{
    assert_true(i < E.nsent);
    assert_int_equal(tc_wire_decode(E.sent[i].buf, E.sent[i].len, m), 0);
}

/** Index of the last datagram of a type sent at or after `from`, or -1. */
static int sent_find(uint32_t from, uint8_t type)
{
    int found = -1;
    uint32_t i;

    for (i = from; i < E.nsent; i++)
        if (E.sent[i].len > 5 && E.sent[i].buf[5] == type)
            found = (int)i;
    return found;
}

/** Datagrams of a type sent at or after `from`. */
static uint32_t sent_count(uint32_t from, uint8_t type)
{
    uint32_t i, n = 0;

    for (i = from; i < E.nsent; i++)
        if (E.sent[i].len > 5 && E.sent[i].buf[5] == type)
            n++;
    return n;
}

/** Index of the last REPAIR_REQ for (object, index) sent at or after `from`, or -1. */
static int req_find(uint32_t from, uint8_t object, uint32_t index)
{
    struct tc_wire_msg m;
    int found = -1;
    uint32_t i;

    for (i = from; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_REPAIR_REQ)
            continue;
        sent_msg(i, &m);
        if (m.u.repair_req.object == object && m.u.repair_req.index == index)
            found = (int)i;
    }
    return found;
}

/** REPAIR_REQs for (object, index) sent at or after `from`. */
static uint32_t req_count(uint32_t from, uint8_t object, uint32_t index)
{
    struct tc_wire_msg m;
    uint32_t i, n = 0;

    for (i = from; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_REPAIR_REQ)
            continue;
        sent_msg(i, &m);
        n += m.u.repair_req.object == object && m.u.repair_req.index == index;
    }
    return n;
}

/** Encode and deliver a message from `from`. */
static int deliver(struct tc_agent *a, uint64_t now, struct tc_proto_peer from,
                   const struct tc_wire_msg *m)
{
    uint8_t buf[TC_WIRE_DGRAM_MAX];
    int n = tc_wire_encode(m, buf, sizeof(buf));

    assert_true(n > 0);
    return tc_agent_on_packet(a, now, from, buf, (size_t)n);
}

static void hdr(struct tc_wire_msg *m, uint8_t type, uint64_t token)
{
    memset(m, 0, sizeof(*m));
    m->hdr.type = type;
    m->hdr.session_id = SESSION;
    m->hdr.epoch = EPOCH;
    m->hdr.token = token;
}

/** Run timers until the agent sends a JOIN; return its time and decoded message. */
static uint64_t wait_join(struct tc_agent *a, struct tc_wire_msg *join)
{
    uint32_t before = E.nsent;
    uint64_t t = tc_agent_next_deadline(a);
    int i;

    assert_true(t != TC_PROTO_NEVER);
    assert_int_equal(tc_agent_on_timer(a, t), 0);
    assert_int_equal(E.nsent, before + 1);
    i = sent_find(before, TC_WIRE_JOIN);
    assert_int_equal(i, (int)before);
    assert_true(E.sent[i].to.addr == SEEDER.addr && E.sent[i].to.port == SEEDER.port);
    sent_msg((uint32_t)i, join);
    return t;
}

/** A WELCOME answering JOIN j in the given epoch. */
static void welcome_msg(struct tc_wire_msg *w, const struct tc_wire_msg *j, uint32_t epoch)
{
    struct tc_wire_welcome *wl = &w->u.welcome;

    hdr(w, TC_WIRE_WELCOME, TOKEN);
    w->hdr.epoch = epoch;
    wl->nonce = j->u.join.nonce;
    wl->node_index = 3;
    wl->group_addr = GROUP.addr;
    wl->group_port = GROUP.port;
    wl->mtu = MTU;
    wl->seg_size = SEG;
    wl->parent_index = TC_WIRE_INDEX_SEEDER;
    wl->rate_bps = 1000000000ull;
    wl->manifest_len = (uint32_t)img.m->len;
    wl->sigblock_len = SIG_LEN;
    wl->heartbeat_ms = 500;
    wl->report_ms = 100;
    wl->depth = 1;
    tc_sha256(img.m->bytes, img.m->len, wl->manifest_digest);
    tc_sha256(img.man_hashes, img.man_hashes_len, wl->manifest_hashes_digest);
    tc_sha256(img.sig, SIG_LEN, wl->sigblock_digest);
}

/** JOIN, then WELCOME echoing its nonce. Returns the time. */
static uint64_t welcome(struct tc_agent *a)
{
    struct tc_wire_msg join, w;
    uint64_t t = wait_join(a, &join);

    welcome_msg(&w, &join, EPOCH);
    t += 1000;
    assert_int_equal(deliver(a, t, SEEDER, &w), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_MANIFEST);
    return t;
}

/** The genuine bytes of an object. */
static const uint8_t *obj_bytes(uint8_t object, uint32_t index, size_t *len)
{
    switch (object) {
    case TC_WIRE_OBJ_MANIFEST:
        *len = img.m->len;
        return img.m->bytes;
    case TC_WIRE_OBJ_SIGBLOCK:
        *len = SIG_LEN;
        return img.sig;
    case TC_WIRE_OBJ_MANIFEST_HASHES:
        *len = img.man_hashes_len;
        return img.man_hashes;
    case TC_WIRE_OBJ_CHUNK_HASHES:
        *len = img.list_len[index];
        return img.list[index];
    default:
        *len = img.stored_len[index];
        return img.stored[index];
    }
}

/** Blocks of an object (MTU 1500, seg 1432: one segment per block). */
static uint32_t obj_blocks(uint8_t object, uint32_t index)
{
    size_t len;

    obj_bytes(object, index, &len);
    return tc_proto_nsegs(len, SEG);
}

/** Deliver block j of an object as a DATA datagram (token 0 = multicast). */
static int send_block(struct tc_agent *a, uint64_t now, struct tc_proto_peer from, uint8_t object,
                      uint32_t index, uint32_t j, uint64_t token, const uint8_t *forge)
{
    struct tc_wire_msg m;
    size_t len;
    const uint8_t *b = obj_bytes(object, index, &len);
    uint32_t off = j * SEG;

    hdr(&m, TC_WIRE_DATA, token);
    m.hdr.flags = token ? TC_WIRE_DATA_F_UNICAST : 0;
    m.u.data.object = object;
    m.u.data.index = index;
    m.u.data.offset = off;
    m.u.data.len = (uint16_t)(len - off < SEG ? len - off : SEG);
    m.u.data.payload = forge ? forge : b + off;
    return deliver(a, now, from, &m);
}

/** Multicast a whole object, skipping the blocks for which drop(j) is true. */
static void mcast(struct tc_agent *a, uint64_t now, uint8_t object, uint32_t index,
                  const uint32_t *drop, uint32_t ndrop)
{
    uint32_t j, n = obj_blocks(object, index), d;

    for (j = 0; j < n; j++) {
        int skip = 0;

        for (d = 0; d < ndrop; d++)
            skip |= drop[d] == j;
        if (!skip)
            assert_int_equal(send_block(a, now, SEEDER, object, index, j, 0, NULL), 0);
    }
}

/** Complete every disk operation in flight (and any they start), in order. */
static void complete_io(struct tc_agent *a, uint64_t now)
{
    while (E.nio) {
        struct io op = E.io[0];

        memmove(E.io, E.io + 1, (E.nio - 1) * sizeof(E.io[0]));
        E.nio--;
        if (op.kind == 'W')
            assert_int_equal(tc_agent_on_written(a, now, op.cookie, 0), 0);
        else if (op.kind == 'S')
            assert_int_equal(tc_agent_on_durable(a, now, op.cookie, 0), 0);
        else {
            if (op.rbuf)
                memcpy(op.rbuf, E.disk + op.off, op.len);
            assert_int_equal(tc_agent_on_read(a, now, op.cookie, 0), 0);
        }
    }
}

/** Multicast the three manifest objects; the manifest is accepted. */
static void send_manifest(struct tc_agent *a, uint64_t now)
{
    mcast(a, now, TC_WIRE_OBJ_MANIFEST_HASHES, 0, NULL, 0);
    mcast(a, now, TC_WIRE_OBJ_SIGBLOCK, 0, NULL, 0);
    mcast(a, now, TC_WIRE_OBJ_MANIFEST, 0, NULL, 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_RECEIVING);
}

/** Multicast hash list then bytes of every non-ZERO chunk, completing I/O as we go. */
static void send_chunks(struct tc_agent *a, uint64_t now)
{
    uint32_t i;

    for (i = 0; i < CHUNKS; i++) {
        if (img.enc[i] == TC_ENC_ZERO)
            continue;
        mcast(a, now, TC_WIRE_OBJ_CHUNK_HASHES, i, NULL, 0);
        mcast(a, now, TC_WIRE_OBJ_CHUNK, i, NULL, 0);
        complete_io(a, now);
    }
}

/** Every chunk on the fake disk holds the image's raw bytes. */
static void assert_disk_genuine(void)
{
    assert_memory_equal(E.disk, img.raw, RAW_SIZE);
}

/* ---- tests ---------------------------------------------------------------------------- */

/** JOIN content, the spread of the first JOIN and the jittered doubling backoff. */
static void test_join_backoff(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg j;
    uint64_t t, prev, lo = 100ull * 1000 * 1000;
    uint32_t k;

    (void)state;
    env_reset(7);
    cfg_default(&c);
    c.min_version = "0.9";
    c.pin = img.m->image_digest;
    a = agent_new(&c, &ops);
    assert_int_equal(tc_agent_state(a), TC_AGENT_JOINING);
    t = wait_join(a, &j);
    assert_true(t < c.limits.join_spread_ns);
    assert_int_equal(j.hdr.session_id, 0);
    assert_int_equal(j.hdr.token, 0);
    assert_int_equal(j.u.join.attempt, 0);
    assert_int_equal(j.u.join.mtu, MTU);
    assert_int_equal(j.u.join.disk_size, RAW_SIZE);
    assert_int_equal(j.u.join.name_len, 4);
    assert_memory_equal(j.u.join.name, "demo", 4);
    assert_int_equal(j.u.join.min_version_len, 3);
    assert_memory_equal(j.u.join.min_version, "0.9", 3);
    assert_int_equal(j.u.join.nruns, 0);
    assert_true(j.u.join.nonce != 0);
    assert_int_equal(j.hdr.flags, TC_WIRE_JOIN_F_PIN);
    assert_memory_equal(j.u.join.pin, img.m->image_digest, TC_SHA256_LEN);
    prev = t;
    for (k = 1; k <= 8; k++) {
        uint64_t d = lo << (k - 1), next;
        uint64_t nonce = j.u.join.nonce;

        if (d > c.limits.join_backoff_max_ns)
            d = c.limits.join_backoff_max_ns;
        /* nothing before the deadline */
        assert_int_equal(tc_agent_on_timer(a, prev + d / 2 - 1), 0);
        next = wait_join(a, &j);
        assert_true(next >= prev + d / 2);
        assert_true(next < prev + d + d / 2);
        assert_int_equal(j.u.join.attempt, k);
        assert_true(j.u.join.nonce != nonce);
        prev = next;
    }
    tc_agent_free(a);
}

/** A WELCOME with a nonce we never sent, or from another address, is dropped. */
static void test_welcome_forged(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg j, w;
    uint64_t t;

    (void)state;
    env_reset(9);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = wait_join(a, &j);
    hdr(&w, TC_WIRE_WELCOME, TOKEN);
    w.u.welcome.nonce = j.u.join.nonce + 1;
    w.u.welcome.group_addr = GROUP.addr;
    w.u.welcome.group_port = GROUP.port;
    w.u.welcome.mtu = MTU;
    w.u.welcome.seg_size = SEG;
    w.u.welcome.parent_index = TC_WIRE_INDEX_SEEDER;
    w.u.welcome.rate_bps = 1;
    w.u.welcome.manifest_len = 100;
    w.u.welcome.sigblock_len = SIG_LEN;
    w.u.welcome.heartbeat_ms = 500;
    w.u.welcome.report_ms = 100;
    w.u.welcome.depth = 1;
    assert_int_equal(deliver(a, t + 1, SEEDER, &w), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_JOINING);
    w.u.welcome.nonce = j.u.join.nonce;
    assert_int_equal(deliver(a, t + 1, CHILD, &w), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_JOINING);
    assert_int_equal(tc_agent_stats(a)->rx_forged, 2);
    tc_agent_free(a);
}

/** No loss: every chunk written once with its exact bytes, chunk 0 last between syncs. */
static void test_full_delivery(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint64_t t;
    uint32_t i, mark;
    int k;

    (void)state;
    env_reset(11);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    mark = E.nsent;
    t = welcome(a);
    assert_int_equal(E.group_joined, 1);
    /* address proof: a HEARTBEAT to the seeder at once, with our token */
    k = sent_find(mark, TC_WIRE_HEARTBEAT);
    assert_true(k >= 0);
    sent_msg((uint32_t)k, &m);
    assert_int_equal(m.hdr.token, TOKEN);
    assert_int_equal(m.hdr.session_id, SESSION);
    assert_int_equal(m.u.heartbeat.state, TC_WIRE_STATE_MANIFEST);
    assert_int_equal(E.sent[k].to.addr, SEEDER.addr);
    send_manifest(a, t);
    /* ZERO chunks other than 0 are written at once, with no buffer */
    assert_int_equal(E.writes[2], 1);
    assert_int_equal(E.writes[5], 1);
    assert_int_equal(E.wlog[0].null_buf, 1);
    complete_io(a, t);
    send_chunks(a, t);
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    for (i = 0; i < CHUNKS; i++)
        assert_int_equal(E.writes[i], 1);
    assert_disk_genuine();
    /* ... S W0 S at the end, chunk 0 last */
    assert_true(E.nwlog >= 3);
    assert_int_equal(E.wlog[E.nwlog - 3].kind, 'S');
    assert_int_equal(E.wlog[E.nwlog - 2].kind, 'W');
    assert_int_equal(E.wlog[E.nwlog - 2].chunk, 0);
    assert_int_equal(E.wlog[E.nwlog - 1].kind, 'S');
    assert_int_equal(tc_agent_stats(a)->chunks_done, CHUNKS);
    assert_int_equal(tc_agent_stats(a)->segs_bad, 0);
    assert_int_equal(tc_agent_stats(a)->repair_reqs, 0);
    k = sent_find(0, TC_WIRE_DONE);
    assert_true(k >= 0);
    sent_msg((uint32_t)k, &m);
    assert_memory_equal(m.u.done.image_digest, img.m->image_digest, TC_SHA256_LEN);
    assert_int_equal(m.u.done.chunk_count, CHUNKS);
    /* DONE again until DONE_ACK */
    mark = E.nsent;
    assert_int_equal(tc_agent_on_timer(a, t + c.limits.done_retry_ns), 0);
    assert_int_equal(sent_count(mark, TC_WIRE_DONE), 1);
    hdr(&m, TC_WIRE_DONE_ACK, TOKEN);
    memcpy(m.u.done_ack.image_digest, img.m->image_digest, TC_SHA256_LEN);
    assert_int_equal(deliver(a, t + 5, SEEDER, &m), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_LINGER);
    assert_int_equal(tc_agent_stats(a)->done_ns, t + 5);
    /* a RELEASE with another token is forged */
    hdr(&m, TC_WIRE_RELEASE, TOKEN + 1);
    m.u.release.reason = TC_WIRE_RELEASE_COMPLETE;
    assert_int_equal(deliver(a, t + 6, SEEDER, &m), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_LINGER);
    m.hdr.token = TOKEN;
    assert_int_equal(deliver(a, t + 6, SEEDER, &m), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_RELEASED);
    assert_int_equal(E.group_joined, 0);
    assert_int_equal(tc_agent_next_deadline(a), TC_PROTO_NEVER);
    tc_agent_free(a);
}

/** Dropped blocks: one REPAIR_REQ naming exactly the missing ranges; unicast repair completes. */
static void test_repair(void **state)
{
    static const uint32_t drop[] = {5, 6, 20};
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint32_t mark;
    uint64_t t;
    int k;

    (void)state;
    env_reset(13);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 0, NULL, 0);
    mark = E.nsent;
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 1, drop, 3);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    /* the next object's first block triggers the request at once */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 3, 0, 0, NULL), 0);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 1);
    k = sent_find(mark, TC_WIRE_REPAIR_REQ);
    sent_msg((uint32_t)k, &m);
    assert_int_equal(E.sent[k].to.addr, SEEDER.addr);
    assert_int_equal(m.hdr.token, TOKEN);
    assert_int_equal(m.u.repair_req.object, TC_WIRE_OBJ_CHUNK);
    assert_int_equal(m.u.repair_req.index, 1);
    assert_int_equal(m.u.repair_req.nranges, 2);
    assert_int_equal(m.u.repair_req.ranges[0].offset, 5 * SEG);
    assert_int_equal(m.u.repair_req.ranges[0].len, 2 * SEG);
    assert_int_equal(m.u.repair_req.ranges[1].offset, 20 * SEG);
    assert_int_equal(m.u.repair_req.ranges[1].len, SEG);
    assert_int_equal(E.writes[1], 0);
    /* retry after repair_retry_ns while still missing */
    mark = E.nsent;
    assert_int_equal(tc_agent_on_timer(a, t + c.limits.repair_retry_ns), 0);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 1), 1);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK_HASHES, 1), 0);
    /* unicast repair from the parent (the seeder here) completes the chunk */
    assert_int_equal(send_block(a, t + 10, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 5, TOKEN, NULL), 0);
    assert_int_equal(send_block(a, t + 10, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 6, TOKEN, NULL), 0);
    assert_int_equal(E.writes[1], 0);
    assert_int_equal(send_block(a, t + 10, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 20, TOKEN, NULL), 0);
    assert_int_equal(E.writes[1], 1);
    assert_memory_equal(E.disk + CHUNK_SIZE, img.raw + CHUNK_SIZE, CHUNK_SIZE);
    assert_int_equal(tc_agent_stats(a)->repair_blocks_rx, 3);
    tc_agent_free(a);
}

/** Whole chunks the multicast passed are fetched; after 4 silent tries, from the seeder. */
static void test_fetch_whole_and_fallback(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m, rp;
    uint32_t mark, n, i;
    uint64_t t, now = 0, last, gap;
    int k;

    (void)state;
    env_reset(17);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    /* a parent node instead of the seeder */
    hdr(&rp, TC_WIRE_REPARENT, TOKEN);
    rp.u.reparent.generation = 1;
    rp.u.reparent.parent_index = 4;
    rp.u.reparent.parent_addr = PARENT.addr;
    rp.u.reparent.parent_port = PARENT.port;
    rp.u.reparent.depth = 2;
    assert_int_equal(deliver(a, t, SEEDER, &rp), 0);
    send_manifest(a, t);
    complete_io(a, t);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 0, NULL, 0);
    mark = E.nsent;
    /* chunk 1 lost entirely: chunk 3's hash list shows the multicast moved past it */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 3, 0, 0, NULL), 0);
    n = sent_count(mark, TC_WIRE_REPAIR_REQ);
    assert_true(n >= 2);
    for (i = mark, k = 0; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_REPAIR_REQ)
            continue;
        sent_msg(i, &m);
        assert_int_equal(E.sent[i].to.addr, PARENT.addr);
        if (m.u.repair_req.object == TC_WIRE_OBJ_CHUNK && m.u.repair_req.index == 1) {
            assert_int_equal(m.u.repair_req.nranges, 1);
            assert_int_equal(m.u.repair_req.ranges[0].offset, 0);
            assert_int_equal(m.u.repair_req.ranges[0].len, img.stored_len[1]);
            k |= 1;
        }
        if (m.u.repair_req.object == TC_WIRE_OBJ_CHUNK_HASHES && m.u.repair_req.index == 1) {
            assert_int_equal(m.u.repair_req.ranges[0].len, img.list_len[1]);
            k |= 2;
        }
    }
    assert_int_equal(k, 3);
    /* unanswered tries go to the parent until it has been quiet (asked, not
     * a word since) for TC_AGENT_QUIET_RETRIES retry intervals, then to the
     * seeder; each unanswered try doubles the wait */
    for (i = 1, last = t, gap = c.limits.repair_retry_ns; i <= 4; i++, gap *= 2) {
        uint32_t guard = 0;

        mark = E.nsent;
        while (req_find(mark, TC_WIRE_OBJ_CHUNK, 1) < 0) {
            now = tc_agent_next_deadline(a);
            assert_true(now <= last + gap);
            assert_int_equal(tc_agent_on_timer(a, now), 0);
            assert_true(++guard < 100);
        }
        assert_int_equal(now, last + gap);
        last = now;
        k = req_find(mark, TC_WIRE_OBJ_CHUNK, 1);
        assert_int_equal(E.sent[k].to.addr,
                         now < t + TC_AGENT_QUIET_RETRIES * c.limits.repair_retry_ns ? PARENT.addr
                                                                                     : SEEDER.addr);
    }
    /* a forged unicast (wrong token, or right token from a stranger) is dropped */
    assert_int_equal(send_block(a, t, PARENT, TC_WIRE_OBJ_CHUNK_HASHES, 1, 0, TOKEN + 1, NULL), 0);
    assert_int_equal(send_block(a, t, CHILD, TC_WIRE_OBJ_CHUNK_HASHES, 1, 0, TOKEN, NULL), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, 2);
    /* the seeder answers: both objects, unicast */
    for (i = 0; i < obj_blocks(TC_WIRE_OBJ_CHUNK_HASHES, 1); i++)
        assert_int_equal(send_block(a, t + 1, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 1, i, TOKEN, NULL),
                         0);
    for (i = 0; i < obj_blocks(TC_WIRE_OBJ_CHUNK, 1); i++)
        assert_int_equal(send_block(a, t + 1, SEEDER, TC_WIRE_OBJ_CHUNK, 1, i, TOKEN, NULL), 0);
    assert_int_equal(E.writes[1], 1);
    assert_memory_equal(E.disk + CHUNK_SIZE, img.raw + CHUNK_SIZE, CHUNK_SIZE);
    tc_agent_free(a);
}

/** A late joiner does not fetch what was multicast before it listened, unless idle. */
static void test_late_join_idle(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint32_t mark;
    uint64_t t, idle;

    (void)state;
    env_reset(59);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    mark = E.nsent;
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 3, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 3, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 4, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 4, NULL, 0);
    complete_io(a, t);
    assert_int_equal(E.writes[3], 1);
    assert_int_equal(E.writes[4], 1);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    /* no multicast for idle_repair_ns: nothing is open, and whole chunks the
     * multicast did not pass wait (delivery may only be stalled) */
    idle = t + c.limits.idle_repair_ns;
    assert_true(tc_agent_next_deadline(a) <= idle);
    assert_int_equal(tc_agent_on_timer(a, idle), 0);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    /* for TC_AGENT_IDLE_FETCH_FACTOR idle periods: fetch everything still missing */
    idle = t + c.limits.idle_repair_ns * TC_AGENT_IDLE_FETCH_FACTOR;
    assert_true(tc_agent_next_deadline(a) <= idle);
    assert_int_equal(tc_agent_on_timer(a, idle - 1), 0);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    assert_int_equal(tc_agent_on_timer(a, idle), 0);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 0), 1);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 1), 1);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 6), 1);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 2), 0); /* ZERO */
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 3), 0); /* written */
    tc_agent_free(a);
}

/** Forged multicast blocks are refused by their segment hash and never written. */
static void test_forged_blocks(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint8_t junk[SEG];
    uint64_t t;
    uint32_t j, n;

    (void)state;
    env_reset(19);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    memset(junk, 0xee, sizeof(junk));
    /* multicast from anyone but the seeder: dropped before any check */
    assert_int_equal(send_block(a, t, CHILD, TC_WIRE_OBJ_CHUNK, 1, 3, 0, junk), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, 1);
    assert_int_equal(tc_agent_stats(a)->segs_bad, 0);
    /* the seeder's address forged, hash list known: refused on arrival */
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, NULL, 0);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 3, 0, junk), 0);
    assert_int_equal(tc_agent_stats(a)->segs_bad, 1);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 1, NULL, 0);
    assert_int_equal(E.writes[1], 1);
    assert_memory_equal(E.disk + CHUNK_SIZE, img.raw + CHUNK_SIZE, CHUNK_SIZE);
    complete_io(a, t);
    /* hash list not yet known: kept unchecked, refused when the list completes */
    n = obj_blocks(TC_WIRE_OBJ_CHUNK, 4);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 4, 7, 0, junk), 0);
    assert_int_equal(tc_agent_stats(a)->segs_bad, 1);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 4, NULL, 0);
    assert_int_equal(tc_agent_stats(a)->segs_bad, 2);
    for (j = 0; j < n; j++)
        if (j != 7)
            assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 4, j, 0, NULL), 0);
    assert_int_equal(E.writes[4], 0);
    /* the genuine block, later */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 4, 7, 0, NULL), 0);
    assert_int_equal(E.writes[4], 1);
    assert_memory_equal(E.disk + 4 * CHUNK_SIZE, img.raw + 4 * CHUNK_SIZE, CHUNK_SIZE);
    /* a forged hash list fails whole: dropped, later multicast copies ignored */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 6, 0, 0, junk), 0);
    assert_int_equal(tc_agent_stats(a)->objects_bad, 1);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 6, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 6, NULL, 0);
    assert_int_equal(E.writes[6], 0);
    /* ... and accepted from the parent */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 6, 0, TOKEN, NULL), 0);
    assert_int_equal(E.writes[6], 1);
    assert_memory_equal(E.disk + 6 * CHUNK_SIZE, img.raw + 6 * CHUNK_SIZE, CHUNK_SIZE);
    tc_agent_free(a);
}

/** Give the agent a child; return the child's token. */
static void add_child(struct tc_agent *a, uint64_t t)
{
    struct tc_wire_msg m;

    hdr(&m, TC_WIRE_CHILDREN, TOKEN);
    m.u.children.generation = 1;
    m.u.children.count = 1;
    m.u.children.children[0].node_index = 9;
    m.u.children.children[0].addr = CHILD.addr;
    m.u.children.children[0].port = CHILD.port;
    m.u.children.children[0].token = CHILD_TOKEN;
    assert_int_equal(deliver(a, t, SEEDER, &m), 0);
}

/** Ask the agent, as the child, for a range of an object; check every DATA it sends. */
static uint32_t child_asks(struct tc_agent *a, uint64_t t, uint8_t object, uint32_t index,
                           uint32_t off, uint32_t len, uint64_t token)
{
    struct tc_wire_msg m;
    uint32_t mark = E.nsent, i, got = 0;
    size_t olen;
    const uint8_t *b = obj_bytes(object, index, &olen);

    hdr(&m, TC_WIRE_REPAIR_REQ, token);
    m.u.repair_req.object = object;
    m.u.repair_req.index = index;
    m.u.repair_req.nranges = 1;
    m.u.repair_req.ranges[0].offset = off;
    m.u.repair_req.ranges[0].len = len;
    assert_int_equal(deliver(a, t, CHILD, &m), 0);
    complete_io(a, t);
    for (i = mark; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_DATA)
            continue;
        sent_msg(i, &m);
        assert_int_equal(E.sent[i].to.addr, CHILD.addr);
        assert_int_equal(E.sent[i].to.port, CHILD.port);
        assert_int_equal(m.hdr.token, CHILD_TOKEN);
        assert_int_equal(m.hdr.flags, TC_WIRE_DATA_F_UNICAST);
        assert_int_equal(m.u.data.object, object);
        assert_int_equal(m.u.data.offset % SEG, 0);
        assert_true(m.u.data.offset + m.u.data.len <= olen);
        assert_memory_equal(m.u.data.payload, b + m.u.data.offset, m.u.data.len);
        got += m.u.data.len;
    }
    return got;
}

/** Serving a child: from the cache, from a read-back (RAW and DEFLATE), hash lists too. */
static void serve_case(const struct tc_agent_ops *o)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint64_t t;

    cfg_default(&c);
    c.cache_slots = 2;
    a = agent_new(&c, o);
    t = welcome(a);
    add_child(a, t);
    send_manifest(a, t);
    complete_io(a, t);
    /* the manifest objects, served once verified */
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_MANIFEST, 0, 0, (uint32_t)img.m->len, CHILD_TOKEN),
        img.m->len);
    assert_int_equal(child_asks(a, t, TC_WIRE_OBJ_SIGBLOCK, 0, 0, SIG_LEN, CHILD_TOKEN), SIG_LEN);
    /* a chunk still being received: only the segments held */
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, NULL, 0);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 2, 0, NULL), 0);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 1, 3, 0, NULL), 0);
    assert_int_equal(child_asks(a, t, TC_WIRE_OBJ_CHUNK, 1, 100, 10 * SEG, CHILD_TOKEN), 2 * SEG);
    /* the child's HEARTBEAT is answered, echoing its time */
    {
        struct tc_wire_msg hb;
        uint32_t mk = E.nsent;
        int h;

        hdr(&hb, TC_WIRE_HEARTBEAT, CHILD_TOKEN);
        hb.u.heartbeat.seq = 1;
        hb.u.heartbeat.state = TC_WIRE_STATE_RECEIVING;
        hb.u.heartbeat.time_ns = 777;
        assert_int_equal(deliver(a, t, CHILD, &hb), 0);
        h = sent_find(mk, TC_WIRE_HEARTBEAT);
        assert_true(h >= 0);
        sent_msg((uint32_t)h, &hb);
        assert_int_equal(E.sent[h].to.addr, CHILD.addr);
        assert_int_equal(hb.hdr.token, CHILD_TOKEN);
        assert_int_equal(hb.u.heartbeat.state, TC_WIRE_STATE_NONE);
        assert_int_equal(hb.u.heartbeat.echo_ns, 777);
    }
    /* a stranger, or the child with a wrong token, gets nothing */
    assert_int_equal(child_asks(a, t, TC_WIRE_OBJ_CHUNK, 1, 0, SEG * 4, CHILD_TOKEN + 1), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, 1);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 1, NULL, 0);
    complete_io(a, t);
    send_chunks(a, t); /* 2 slots: chunks 0 and 1 are evicted on the way */
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    E.reads = 0;
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_CHUNK, 1, 0, (uint32_t)img.stored_len[1], CHILD_TOKEN),
        img.stored_len[1]);
    assert_int_equal(E.reads, 1);
    /* the hash list of the chunk read back: recomputed, no second read */
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, 0, (uint32_t)img.list_len[1], CHILD_TOKEN),
        img.list_len[1]);
    assert_int_equal(E.reads, 1);
    /* DEFLATE chunk 3 read back and encoded again */
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_CHUNK, 3, 0, (uint32_t)img.stored_len[3], CHILD_TOKEN),
        img.stored_len[3]);
    assert_int_equal(E.reads, 2);
    assert_int_equal(tc_agent_stats(a)->readbacks, 2);
    /* a read-back that cannot be submitted (the loop's queue full) drops
     * the child's request; the agent goes on and serves the next one */
    E.read_rc = -EAGAIN;
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_CHUNK, 6, 0, (uint32_t)img.stored_len[6], CHILD_TOKEN), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    assert_int_equal(tc_agent_stats(a)->readbacks, 2); /* not submitted: not counted */
    E.read_rc = 0;
    assert_int_equal(
        child_asks(a, t, TC_WIRE_OBJ_CHUNK, 6, 0, (uint32_t)img.stored_len[6], CHILD_TOKEN),
        img.stored_len[6]);
    /* a target whose bytes changed is not served */
    E.disk[3 * CHUNK_SIZE + 5] ^= 1;
    E.disk[4 * CHUNK_SIZE + 5] ^= 1;
    assert_int_equal(child_asks(a, t, TC_WIRE_OBJ_CHUNK, 4, 0, SEG, CHILD_TOKEN), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    tc_agent_free(a);
}

static void test_serve_child(void **state)
{
    (void)state;
    env_reset(23);
    serve_case(&ops);
}

static void test_serve_child_send_blocks(void **state)
{
    (void)state;
    env_reset(23);
    serve_case(&ops_blocks);
    assert_true(E.nblocks > 0);
    assert_int_equal(E.blocks[0].token, CHILD_TOKEN);
    assert_int_equal(E.blocks[0].unicast, 1);
}

/** What one agent did: its writes and the REPAIR_REQs it sent, for comparison. */
struct trace {
    struct wlog wlog[WLOG_MAX];
    uint32_t nwlog;
    uint8_t reqs[64][TC_WIRE_DGRAM_MAX];
    size_t req_len[64];
    uint32_t nreq;
    struct tc_agent_stats st;
};

/** Run delivery with losses, per datagram or as batches with a bitmap. */
static void run_lossy(int batched, struct trace *tr)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint64_t t, bm[4];
    uint32_t i, j, k;

    env_reset(29);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    for (i = 0; i < CHUNKS; i++) {
        uint8_t obj[2] = {TC_WIRE_OBJ_CHUNK_HASHES, TC_WIRE_OBJ_CHUNK};

        if (img.enc[i] == TC_ENC_ZERO)
            continue;
        for (k = 0; k < 2; k++) {
            uint32_t n = obj_blocks(obj[k], i);
            size_t len;
            const uint8_t *b = obj_bytes(obj[k], i, &len);

            memset(bm, 0, sizeof(bm));
            for (j = 0; j < n; j++)
                if (obj[k] != TC_WIRE_OBJ_CHUNK || (j * 7 + i) % 5 != 0)
                    bm[j / 64] |= 1ull << (j % 64);
            if (batched) {
                struct tc_proto_blocks rx;

                memset(&rx, 0, sizeof(rx));
                rx.peer = SEEDER;
                rx.session_id = SESSION;
                rx.epoch = EPOCH;
                rx.object = obj[k];
                rx.index = i;
                rx.block_len = SEG;
                rx.nblocks = n;
                rx.total_len = (uint32_t)len;
                rx.payload = b;
                rx.bitmap = bm;
                assert_int_equal(tc_agent_on_blocks(a, t, &rx), 0);
            } else {
                for (j = 0; j < n; j++)
                    if (bm[j / 64] >> (j % 64) & 1)
                        assert_int_equal(send_block(a, t, SEEDER, obj[k], i, j, 0, NULL), 0);
            }
            t += 1000;
        }
        complete_io(a, t);
    }
    assert_int_equal(tc_agent_on_timer(a, t + c.limits.repair_delay_ns), 0);
    memset(tr, 0, sizeof(*tr));
    memcpy(tr->wlog, E.wlog, sizeof(E.wlog));
    tr->nwlog = E.nwlog;
    for (i = 0; i < E.nsent; i++)
        if (E.sent[i].buf[5] == TC_WIRE_REPAIR_REQ && tr->nreq < 64) {
            memcpy(tr->reqs[tr->nreq], E.sent[i].buf, E.sent[i].len);
            tr->req_len[tr->nreq++] = E.sent[i].len;
        }
    tr->st = *tc_agent_stats(a);
    tc_agent_free(a);
}

/** tc_agent_on_blocks with a bitmap does what the individual datagrams do. */
static void test_on_blocks_same(void **state)
{
    static struct trace one, batch;
    uint32_t i;

    (void)state;
    run_lossy(0, &one);
    run_lossy(1, &batch);
    assert_true(one.nreq > 0);
    assert_int_equal(one.nreq, batch.nreq);
    for (i = 0; i < one.nreq; i++) {
        assert_int_equal(one.req_len[i], batch.req_len[i]);
        assert_memory_equal(one.reqs[i], batch.reqs[i], one.req_len[i]);
    }
    assert_int_equal(one.nwlog, batch.nwlog);
    assert_memory_equal(one.wlog, batch.wlog, one.nwlog * sizeof(one.wlog[0]));
    assert_int_equal(one.st.rx_dgrams, batch.st.rx_dgrams);
    assert_int_equal(one.st.blocks_rx, batch.st.blocks_rx);
    assert_int_equal(one.st.repair_reqs, batch.st.repair_reqs);
}

/** REJECT(NO_IMAGE) stops the agent with a message naming the image; BUSY waits. */
static void test_reject(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg j, r;
    uint64_t t;

    (void)state;
    env_reset(31);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = wait_join(a, &j);
    hdr(&r, TC_WIRE_REJECT, 0);
    r.hdr.session_id = SESSION;
    r.u.reject.nonce = j.u.join.nonce;
    r.u.reject.reason = TC_WIRE_REJECT_BUSY;
    r.u.reject.retry_after_ms = 2000;
    assert_int_equal(deliver(a, t, SEEDER, &r), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_JOINING);
    assert_true(tc_agent_next_deadline(a) >= t + 1000ull * 1000 * 1000);
    assert_true(tc_agent_next_deadline(a) < t + 3000ull * 1000 * 1000);
    t = wait_join(a, &j);
    r.u.reject.nonce = j.u.join.nonce;
    r.u.reject.reason = TC_WIRE_REJECT_NO_IMAGE;
    r.u.reject.retry_after_ms = 0;
    assert_true(deliver(a, t, SEEDER, &r) < 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_non_null(strstr(tc_agent_error(a)->msg, "demo"));
    assert_non_null(strstr(tc_agent_error(a)->msg, "no such image"));
    assert_true(tc_agent_error(a)->rc < 0);
    /* everything is ignored afterwards */
    assert_int_equal(tc_agent_next_deadline(a), TC_PROTO_NEVER);
    assert_true(tc_agent_on_timer(a, t + 1) < 0);
    tc_agent_free(a);
}

/** A manifest the trust check refuses, and a disk too small, fail with clear messages. */
static void test_manifest_fail(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint64_t t;
    uint32_t j, n;

    (void)state;
    env_reset(37);
    cfg_default(&c);
    c.disk_size = RAW_SIZE - 1;
    a = agent_new(&c, &ops);
    t = welcome(a);
    mcast(a, t, TC_WIRE_OBJ_MANIFEST_HASHES, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_SIGBLOCK, 0, NULL, 0);
    n = obj_blocks(TC_WIRE_OBJ_MANIFEST, 0);
    for (j = 0; j + 1 < n; j++)
        assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_MANIFEST, 0, j, 0, NULL), 0);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_MANIFEST, 0, j, 0, NULL), -ENOSPC);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_int_equal(tc_agent_error(a)->rc, -ENOSPC);
    assert_non_null(strstr(tc_agent_error(a)->msg, "demo"));
    assert_non_null(strstr(tc_agent_error(a)->msg, "disk"));
    assert_int_equal(E.nwlog, 0);
    tc_agent_free(a);

    /* the trust check refuses: its message, nothing written */
    env_reset(38);
    E.refuse = 1;
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    mcast(a, t, TC_WIRE_OBJ_MANIFEST_HASHES, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_SIGBLOCK, 0, NULL, 0);
    for (j = 0; j + 1 < n; j++)
        assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_MANIFEST, 0, j, 0, NULL), 0);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_MANIFEST, 0, j, 0, NULL), -EKEYREJECTED);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_string_equal(tc_agent_error(a)->msg, "test: key 0123abcd is revoked");
    assert_int_equal(E.nwlog, 0);
    /* a FAILED agent ignores everything */
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_MANIFEST, 0, 0, 0, NULL), -EKEYREJECTED);
    assert_int_equal(tc_agent_next_deadline(a), TC_PROTO_NEVER);
    tc_agent_free(a);
}

/** A write that fails stops the agent naming the chunk and the error. */
static void test_write_error(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint64_t t;

    (void)state;
    env_reset(41);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    assert_true(E.nio > 0);
    assert_int_equal(E.io[0].kind, 'W');
    assert_int_equal(tc_agent_on_written(a, t, E.io[0].cookie, -EIO), -EIO);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_non_null(strstr(tc_agent_error(a)->msg, "chunk 2"));
    assert_non_null(strstr(tc_agent_error(a)->msg, "Input/output error"));
    tc_agent_free(a);
}

/** Resume: held chunks go in JOIN runs, are never written, and count as done. */
static void test_resume_held(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg j;
    uint8_t held[1] = {(1u << 1) | (1u << 3) | (1u << 4)};
    uint64_t t;

    (void)state;
    env_reset(43);
    cfg_default(&c);
    c.held = held;
    c.held_chunks = CHUNKS;
    a = agent_new(&c, &ops);
    held[0] = 0; /* copied by tc_agent_new */
    t = wait_join(a, &j);
    assert_int_equal(j.u.join.nruns, 2);
    assert_int_equal(j.u.join.runs[0].first, 1);
    assert_int_equal(j.u.join.runs[0].count, 1);
    assert_int_equal(j.u.join.runs[1].first, 3);
    assert_int_equal(j.u.join.runs[1].count, 2);
    tc_agent_free(a);

    held[0] = (1u << 1) | (1u << 3) | (1u << 4);
    env_reset(43);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    assert_int_equal(tc_agent_stats(a)->chunks_done, 3);
    memcpy(E.disk + CHUNK_SIZE, img.raw + CHUNK_SIZE, CHUNK_SIZE);
    memcpy(E.disk + 3 * CHUNK_SIZE, img.raw + 3 * CHUNK_SIZE, 2 * CHUNK_SIZE);
    complete_io(a, t);
    send_chunks(a, t);
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    assert_int_equal(E.writes[1], 0);
    assert_int_equal(E.writes[3], 0);
    assert_int_equal(E.writes[4], 0);
    assert_int_equal(E.writes[0], 1);
    assert_int_equal(E.writes[6], 1);
    assert_disk_genuine();
    assert_int_equal(tc_agent_stats(a)->chunks_done, CHUNKS);
    tc_agent_free(a);
}

/** Dataless: no bytes anywhere, writes carry no buffer, the same messages. */
static void test_dataless(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_proto_blocks rx;
    uint64_t t, bm[4];
    uint32_t i, k;

    (void)state;
    env_reset(47);
    E.dataless = 1;
    cfg_default(&c);
    c.dataless = 1;
    a = agent_new(&c, &ops);
    t = welcome(a);
    for (i = 0; i < 3 + 2 * CHUNKS; i++) {
        uint8_t obj;
        uint32_t idx = 0;
        size_t len;

        if (i < 3) {
            static const uint8_t mo[3] = {TC_WIRE_OBJ_MANIFEST_HASHES, TC_WIRE_OBJ_SIGBLOCK,
                                          TC_WIRE_OBJ_MANIFEST};
            obj = mo[i];
        } else {
            idx = (i - 3) / 2;
            obj = (i - 3) % 2 ? TC_WIRE_OBJ_CHUNK : TC_WIRE_OBJ_CHUNK_HASHES;
            if (img.enc[idx] == TC_ENC_ZERO)
                continue;
        }
        obj_bytes(obj, idx, &len);
        memset(&rx, 0, sizeof(rx));
        memset(bm, 0xff, sizeof(bm));
        rx.peer = SEEDER;
        rx.session_id = SESSION;
        rx.epoch = EPOCH;
        rx.object = obj;
        rx.index = idx;
        rx.block_len = SEG;
        rx.nblocks = tc_proto_nsegs(len, SEG);
        rx.total_len = (uint32_t)len;
        rx.bitmap = bm;
        assert_int_equal(tc_agent_on_blocks(a, t, &rx), 0);
        complete_io(a, t);
    }
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    for (i = 0, k = 0; i < E.nwlog; i++)
        if (E.wlog[i].kind == 'W') {
            assert_int_equal(E.wlog[i].null_buf, 1);
            k++;
        }
    assert_int_equal(k, CHUNKS);
    assert_int_equal(E.wlog[E.nwlog - 2].chunk, 0);
    tc_agent_free(a);
}

/** REPORT: at a random phase within report_ms, to the parent, with the objects missing. */
static void test_report(void **state)
{
    static const uint32_t drop[] = {1, 2, 3, 4, 5};
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint64_t t;
    uint32_t mark, i;
    int k;

    (void)state;
    env_reset(53);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 0, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 1, drop, 5);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK_HASHES, 3, 0, 0, NULL), 0);
    /* chunk 3's multicast quiet for a few retry intervals: its tail may still
     * be on its way (a loaded host can stall delivery), nothing is asked */
    for (i = 1; i <= 25; i++)
        assert_int_equal(tc_agent_on_timer(a, t + i * 1000000ull), 0);
    assert_int_equal(req_count(0, TC_WIRE_OBJ_CHUNK, 3), 0);
    /* quiet for idle_repair_ns: the missing tail is requested, once */
    for (; i * 1000000ull <= c.limits.idle_repair_ns + 1000000ull; i++)
        assert_int_equal(tc_agent_on_timer(a, t + i * 1000000ull), 0);
    assert_int_equal(req_count(0, TC_WIRE_OBJ_CHUNK, 3), 1);
    /* the next REPORT, within report_ms */
    mark = E.nsent;
    k = (int)i;
    for (; i <= 400 && sent_count(mark, TC_WIRE_REPORT) == 0; i++)
        assert_int_equal(tc_agent_on_timer(a, t + i * 1000000ull), 0);
    assert_true(i <= (uint32_t)k + c.limits.report_ms + 1);
    k = sent_find(mark, TC_WIRE_REPORT);
    sent_msg((uint32_t)k, &m);
    assert_int_equal(E.sent[k].to.addr, SEEDER.addr);
    assert_int_equal(m.u.report.subtree_nodes, 1);
    assert_int_equal(m.u.report.subtree_done, 0);
    /* chunk 1 misses 5 segments; chunk 3 (its hash list only) all of its own */
    assert_int_equal(m.u.report.nentries, 2);
    assert_int_equal(m.u.report.entries[0].object, TC_WIRE_OBJ_CHUNK);
    assert_int_equal(m.u.report.entries[0].index, 1);
    assert_int_equal(m.u.report.entries[0].max_missing, 5);
    assert_int_equal(m.u.report.entries[0].hist[1], 1);
    assert_int_equal(m.u.report.entries[1].object, TC_WIRE_OBJ_CHUNK);
    assert_int_equal(m.u.report.entries[1].index, 3);
    assert_int_equal(m.u.report.entries[1].max_missing, obj_blocks(TC_WIRE_OBJ_CHUNK, 3));
    /* a child's REPORT is merged into the next one: maxima, sums, subtree counts */
    add_child(a, t);
    hdr(&m, TC_WIRE_REPORT, CHILD_TOKEN);
    m.u.report.seq = 1;
    m.u.report.subtree_nodes = 3;
    m.u.report.subtree_done = 1;
    m.u.report.nentries = 2;
    m.u.report.entries[0].object = TC_WIRE_OBJ_CHUNK;
    m.u.report.entries[0].index = 1;
    m.u.report.entries[0].max_missing = 40;
    m.u.report.entries[0].hist[2] = 1;
    m.u.report.entries[0].hist[0] = 2;
    m.u.report.entries[1].object = TC_WIRE_OBJ_CHUNK;
    m.u.report.entries[1].index = 6;
    m.u.report.entries[1].max_missing = 2;
    m.u.report.entries[1].hist[0] = 1;
    assert_int_equal(deliver(a, t + i * 1000000ull, CHILD, &m), 0);
    mark = E.nsent;
    for (; i <= 400 && sent_count(mark, TC_WIRE_REPORT) == 0; i++)
        assert_int_equal(tc_agent_on_timer(a, t + i * 1000000ull), 0);
    k = sent_find(mark, TC_WIRE_REPORT);
    assert_true(k >= 0);
    sent_msg((uint32_t)k, &m);
    assert_int_equal(m.u.report.subtree_nodes, 4);
    assert_int_equal(m.u.report.subtree_done, 1);
    assert_int_equal(m.u.report.nentries, 3);
    assert_int_equal(m.u.report.entries[0].index, 1);
    assert_int_equal(m.u.report.entries[0].max_missing, 40);
    assert_int_equal(m.u.report.entries[0].hist[0], 2);
    assert_int_equal(m.u.report.entries[0].hist[1], 1);
    assert_int_equal(m.u.report.entries[0].hist[2], 1);
    assert_int_equal(m.u.report.entries[1].index, 3);
    assert_int_equal(m.u.report.entries[2].index, 6);
    assert_int_equal(m.u.report.entries[2].max_missing, 2);
    tc_agent_free(a);
}

/* ---- issue 4: liveness, reparent, seeder restart, stragglers, streams --------------- */

/** Nanoseconds per millisecond. */
#define MS_NS 1000000ull

/** Run every timer due up to `until` (completing disk I/O as it comes); returns `until`. */
static uint64_t run_timers(struct tc_agent *a, uint64_t now, uint64_t until)
{
    uint64_t d;
    uint32_t guard = 0;

    for (;;) {
        d = tc_agent_next_deadline(a);
        if (d == TC_PROTO_NEVER || d > until)
            break;
        now = d > now ? d : now;
        if (tc_agent_on_timer(a, now) < 0)
            break;
        complete_io(a, now);
        assert_true(++guard < 100000);
    }
    return until;
}

/** The seeder's address as dotted text (error messages name it). */
#define SEEDER_TEXT "10.0.0.1:7000"

/**
 * Nothing from the seeder for seeder_timeout_ns before DONE_ACK: FAILED
 * with a message naming the seeder, never RELEASED; a word from the
 * seeder restarts the clock; JOINs never answered end the same way.
 */
static void test_seeder_lost(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    const struct tc_err *e;
    uint64_t t, lim = 2000 * MS_NS;
    uint32_t mark;

    (void)state;
    env_reset(61);
    cfg_default(&c);
    c.limits.seeder_timeout_ns = lim;
    a = agent_new(&c, &ops);
    t = welcome(a);
    /* the seeder speaks once more (a HEARTBEAT) at t + 1.5 s: the clock restarts */
    run_timers(a, t, t + 1500 * MS_NS);
    hdr(&m, TC_WIRE_HEARTBEAT, TOKEN);
    m.u.heartbeat.seq = 1;
    m.u.heartbeat.time_ns = 5;
    assert_int_equal(deliver(a, t + 1500 * MS_NS, SEEDER, &m), 0);
    run_timers(a, t + 1500 * MS_NS, t + 3400 * MS_NS);
    assert_int_equal(tc_agent_state(a), TC_AGENT_MANIFEST);
    /* then silence: FAILED just after the limit */
    assert_int_equal(tc_agent_on_timer(a, t + 1500 * MS_NS + lim), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_MANIFEST);
    assert_true(tc_agent_next_deadline(a) <= t + 1500 * MS_NS + lim + 1);
    assert_int_equal(tc_agent_on_timer(a, t + 1500 * MS_NS + lim + 1), -ETIMEDOUT);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    e = tc_agent_error(a);
    assert_int_equal(e->rc, -ETIMEDOUT);
    assert_non_null(strstr(e->msg, "lost the seeder at " SEEDER_TEXT));
    assert_non_null(strstr(e->msg, "demo"));
    assert_non_null(strstr(e->msg, "not be booted"));
    assert_int_equal(tc_agent_next_deadline(a), TC_PROTO_NEVER);
    /* stopped for good: nothing sent, no RELEASE taken */
    mark = E.nsent;
    hdr(&m, TC_WIRE_RELEASE, TOKEN);
    m.u.release.reason = TC_WIRE_RELEASE_COMPLETE;
    assert_int_equal(deliver(a, t + 4000 * MS_NS, SEEDER, &m), -ETIMEDOUT);
    assert_int_equal(tc_agent_on_timer(a, t + 5000 * MS_NS), -ETIMEDOUT);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_int_equal(E.nsent, mark);
    tc_agent_free(a);

    /* JOINING with no answer at all: JOINs, then FAILED at the same limit */
    env_reset(67);
    a = agent_new(&c, &ops);
    run_timers(a, 0, lim);
    assert_int_equal(tc_agent_state(a), TC_AGENT_JOINING);
    assert_true(sent_count(0, TC_WIRE_JOIN) >= 3);
    run_timers(a, lim, lim + 10 * MS_NS);
    assert_int_equal(tc_agent_state(a), TC_AGENT_FAILED);
    assert_non_null(strstr(tc_agent_error(a)->msg, "lost the seeder at " SEEDER_TEXT));
    assert_int_equal(tc_agent_next_deadline(a), TC_PROTO_NEVER);
    tc_agent_free(a);
}

/** A REPARENT from the seeder: parent node 4 at PARENT, depth 2 (flags: LEAF or 0). */
static void reparent_to_parent(struct tc_agent *a, uint64_t t, uint32_t gen, uint16_t flags)
{
    struct tc_wire_msg rp;

    hdr(&rp, TC_WIRE_REPARENT, TOKEN);
    rp.hdr.flags = flags;
    rp.u.reparent.generation = gen;
    rp.u.reparent.parent_index = 4;
    rp.u.reparent.parent_addr = PARENT.addr;
    rp.u.reparent.parent_port = PARENT.port;
    rp.u.reparent.depth = 2;
    assert_int_equal(deliver(a, t, SEEDER, &rp), 0);
}

/**
 * A node parent silent for parent_timeout_ns: REPARENT_REQ(SILENT, that
 * parent) to the seeder, again every heartbeat; its HEARTBEAT stops them.
 */
static void test_parent_silent(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint64_t t, t0, now, first = 0, last = 0, hb_ns = 500 * MS_NS, heard;
    uint32_t mark, i, n = 0, guard = 0;

    (void)state;
    env_reset(71);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    t0 = t + MS_NS;
    reparent_to_parent(a, t0, 1, 0);
    /* the parent never says a word (the seeder timeout is far away) */
    now = t0;
    while (now < t0 + 3000 * MS_NS) {
        mark = E.nsent;
        now = tc_agent_next_deadline(a);
        assert_true(now != TC_PROTO_NEVER);
        assert_int_equal(tc_agent_on_timer(a, now), 0);
        for (i = mark; i < E.nsent; i++) {
            if (E.sent[i].buf[5] != TC_WIRE_REPARENT_REQ)
                continue;
            sent_msg(i, &m);
            assert_int_equal(E.sent[i].to.addr, SEEDER.addr);
            assert_int_equal(E.sent[i].to.port, SEEDER.port);
            assert_int_equal(m.hdr.token, TOKEN);
            assert_int_equal(m.u.reparent_req.reason, TC_WIRE_REPARENT_SILENT);
            assert_int_equal(m.u.reparent_req.parent_index, 4);
            assert_true(m.u.reparent_req.silence_ms >= 1000);
            if (n == 0) {
                first = now;
            } else {
                /* again each heartbeat, not more often */
                assert_true(now - last >= hb_ns);
                assert_true(now - last <= hb_ns + 100 * MS_NS);
            }
            last = now;
            n++;
        }
        assert_true(++guard < 10000);
    }
    assert_true(first > t0 + c.limits.parent_timeout_ns);
    assert_true(first <= t0 + c.limits.parent_timeout_ns + 100 * MS_NS);
    assert_true(n >= 4);
    assert_int_equal(tc_agent_stats(a)->reparent_reqs, n);
    /* the parent's HEARTBEAT (our token, its address): no more requests */
    hdr(&m, TC_WIRE_HEARTBEAT, TOKEN);
    m.u.heartbeat.seq = 1;
    m.u.heartbeat.time_ns = 9;
    heard = now;
    assert_int_equal(deliver(a, heard, PARENT, &m), 0);
    mark = E.nsent;
    run_timers(a, heard, heard + c.limits.parent_timeout_ns - MS_NS);
    assert_int_equal(sent_count(mark, TC_WIRE_REPARENT_REQ), 0);
    /* silent once more: asked again */
    run_timers(a, heard, heard + c.limits.parent_timeout_ns + 200 * MS_NS);
    assert_int_equal(sent_count(mark, TC_WIRE_REPARENT_REQ), 1);
    tc_agent_free(a);
}

/** An EPOCH (new epoch 2, previous 1) from `from` with this session and token. */
static int send_epoch(struct tc_agent *a, uint64_t t, struct tc_proto_peer from, uint64_t session,
                      uint64_t token)
{
    struct tc_wire_msg m;

    hdr(&m, TC_WIRE_EPOCH, token);
    m.hdr.session_id = session;
    m.hdr.epoch = EPOCH + 1;
    m.u.epoch.prev_epoch = EPOCH;
    m.u.epoch.rejoin_spread_ms = 500;
    return deliver(a, t, from, &m);
}

/**
 * EPOCH (seeder restarted): a re-JOIN within rejoin_spread_ms carrying the
 * session, token, old epoch and the chunks written; the WELCOME in the new
 * epoch keeps the manifest and the chunks; EPOCHs from elsewhere or for
 * another session are ignored.
 */
static void test_epoch_rejoin(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m, j;
    uint64_t t, t1, tj = 0, forged;
    uint32_t mark, done, i, guard = 0;
    int k;

    (void)state;
    env_reset(73);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 1, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 1, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, 3, NULL, 0);
    mcast(a, t, TC_WIRE_OBJ_CHUNK, 3, NULL, 0);
    complete_io(a, t);
    done = tc_agent_stats(a)->chunks_done;
    assert_int_equal(done, 4); /* 1 and 3, ZERO chunks 2 and 5 */
    /* EPOCHs from another address, for another session, or not newer: ignored */
    forged = tc_agent_stats(a)->rx_forged;
    mark = E.nsent;
    assert_int_equal(send_epoch(a, t + MS_NS, PARENT, SESSION, TOKEN), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, forged + 1);
    assert_int_equal(send_epoch(a, t + MS_NS, SEEDER, SESSION + 1, TOKEN), 0);
    assert_int_equal(send_epoch(a, t + MS_NS, SEEDER, SESSION, TOKEN + 1), 0);
    hdr(&m, TC_WIRE_EPOCH, TOKEN);
    m.u.epoch.prev_epoch = EPOCH + 1;
    m.u.epoch.rejoin_spread_ms = 500;
    assert_int_equal(deliver(a, t + MS_NS, SEEDER, &m), 0);
    run_timers(a, t + MS_NS, t + 1000 * MS_NS);
    assert_int_equal(sent_count(mark, TC_WIRE_JOIN), 0);
    assert_int_equal(tc_agent_stats(a)->rejoins, 0);
    /* the genuine one (to the group: token 0): a re-JOIN within the spread */
    t1 = t + 1000 * MS_NS;
    mark = E.nsent;
    assert_int_equal(send_epoch(a, t1, SEEDER, SESSION, 0), 0);
    while (sent_count(mark, TC_WIRE_JOIN) == 0) {
        tj = tc_agent_next_deadline(a);
        assert_true(tj <= t1 + 500 * MS_NS);
        assert_int_equal(tc_agent_on_timer(a, tj), 0);
        assert_true(++guard < 1000);
    }
    assert_int_equal(sent_count(mark, TC_WIRE_JOIN), 1);
    k = sent_find(mark, TC_WIRE_JOIN);
    sent_msg((uint32_t)k, &j);
    assert_int_equal(E.sent[k].to.addr, SEEDER.addr);
    assert_int_equal(j.hdr.session_id, SESSION);
    assert_int_equal(j.hdr.token, TOKEN);
    assert_int_equal(j.hdr.epoch, EPOCH);
    assert_int_equal(j.u.join.node_id[0], 0x52);
    assert_int_equal(j.u.join.nruns, 2);
    assert_int_equal(j.u.join.runs[0].first, 1);
    assert_int_equal(j.u.join.runs[0].count, 3);
    assert_int_equal(j.u.join.runs[1].first, 5);
    assert_int_equal(j.u.join.runs[1].count, 1);
    assert_int_equal(tc_agent_stats(a)->rejoins, 1);
    /* the WELCOME in the new epoch: the manifest and the chunks are kept */
    mark = E.nsent;
    welcome_msg(&m, &j, EPOCH + 1);
    assert_int_equal(deliver(a, tj + MS_NS, SEEDER, &m), 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_RECEIVING);
    assert_int_equal(tc_agent_stats(a)->chunks_done, done);
    assert_int_equal(tc_agent_stats(a)->chunk_count, CHUNKS);
    k = sent_find(mark, TC_WIRE_HEARTBEAT);
    assert_true(k >= 0);
    sent_msg((uint32_t)k, &m);
    assert_int_equal(m.hdr.epoch, EPOCH + 1);
    assert_int_equal(m.hdr.token, TOKEN);
    assert_int_equal(m.hdr.session_id, SESSION);
    /* and the next ones too */
    mark = E.nsent;
    run_timers(a, tj + MS_NS, tj + 1200 * MS_NS);
    assert_true(sent_count(mark, TC_WIRE_HEARTBEAT) >= 2);
    for (i = mark; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_HEARTBEAT && E.sent[i].buf[5] != TC_WIRE_REPORT)
            continue;
        sent_msg(i, &m);
        assert_int_equal(m.hdr.epoch, EPOCH + 1);
    }
    assert_int_equal(sent_count(mark, TC_WIRE_JOIN), 0);
    /* the rest of the image comes in the new epoch and is written */
    for (i = 0; i < CHUNKS; i++) {
        uint32_t b, n = obj_blocks(TC_WIRE_OBJ_CHUNK, i);

        if (img.enc[i] == TC_ENC_ZERO || i == 1 || i == 3)
            continue;
        for (b = 0; b < obj_blocks(TC_WIRE_OBJ_CHUNK_HASHES, i); b++) {
            hdr(&m, TC_WIRE_DATA, 0);
            m.hdr.epoch = EPOCH + 1;
            m.u.data.object = TC_WIRE_OBJ_CHUNK_HASHES;
            m.u.data.index = i;
            m.u.data.offset = b * SEG;
            m.u.data.len =
                (uint16_t)(img.list_len[i] - b * SEG < SEG ? img.list_len[i] - b * SEG : SEG);
            m.u.data.payload = img.list[i] + b * SEG;
            assert_int_equal(deliver(a, tj + 1300 * MS_NS, SEEDER, &m), 0);
        }
        for (b = 0; b < n; b++) {
            hdr(&m, TC_WIRE_DATA, 0);
            m.hdr.epoch = EPOCH + 1;
            m.u.data.object = TC_WIRE_OBJ_CHUNK;
            m.u.data.index = i;
            m.u.data.offset = b * SEG;
            m.u.data.len =
                (uint16_t)(img.stored_len[i] - b * SEG < SEG ? img.stored_len[i] - b * SEG : SEG);
            m.u.data.payload = img.stored[i] + b * SEG;
            assert_int_equal(deliver(a, tj + 1300 * MS_NS, SEEDER, &m), 0);
        }
        complete_io(a, tj + 1300 * MS_NS);
    }
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    assert_int_equal(E.writes[1], 1);
    assert_int_equal(E.writes[3], 1);
    assert_disk_genuine();
    tc_agent_free(a);
}

/** The last ACK to PARENT for (object, index) at or after `from`; -1 if none. */
static int ack_find(uint32_t from, uint8_t object, uint32_t index, struct tc_wire_msg *out)
{
    struct tc_wire_msg m;
    uint32_t i;
    int found = -1;

    for (i = from; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_ACK)
            continue;
        sent_msg(i, &m);
        assert_int_equal(E.sent[i].to.addr, PARENT.addr);
        assert_int_equal(E.sent[i].to.port, PARENT.port);
        assert_int_equal(m.hdr.token, TOKEN);
        if (m.u.ack.object == object && m.u.ack.index == index) {
            found = (int)i;
            *out = m;
        }
    }
    return found;
}

/**
 * REPARENT with LEAF (a straggler): the agent leaves the group, ACKs the
 * unicast DATA of its parent (cum_offset and sacks of what it holds) and
 * asks for no repairs (the stream retransmits).
 */
static void test_leaf_streamed(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint64_t t;
    uint32_t mark, j;

    (void)state;
    env_reset(79);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    assert_int_equal(E.group_joined, 1);
    reparent_to_parent(a, t, 1, TC_WIRE_REPARENT_F_LEAF);
    assert_int_equal(E.group_joined, 0);
    assert_int_equal(tc_agent_stats(a)->behind, 1);
    mark = E.nsent;
    /* chunk 1's hash list from the parent: ACKed whole */
    assert_int_equal(send_block(a, t, PARENT, TC_WIRE_OBJ_CHUNK_HASHES, 1, 0, TOKEN, NULL), 0);
    assert_true(ack_find(mark, TC_WIRE_OBJ_CHUNK_HASHES, 1, &m) >= 0);
    assert_int_equal(m.u.ack.cum_offset, img.list_len[1]);
    assert_int_equal(m.u.ack.nsacks, 0);
    assert_true(m.u.ack.window > 0);
    /* blocks 0-2 of the chunk: cum_offset 3 segments */
    for (j = 0; j < 3; j++)
        assert_int_equal(send_block(a, t, PARENT, TC_WIRE_OBJ_CHUNK, 1, j, TOKEN, NULL), 0);
    assert_true(ack_find(mark, TC_WIRE_OBJ_CHUNK, 1, &m) >= 0);
    assert_int_equal(m.u.ack.cum_offset, 3 * SEG);
    assert_int_equal(m.u.ack.nsacks, 0);
    /* block 3 lost, block 4 arrives: the same cum_offset and a sack of block 4 */
    assert_int_equal(send_block(a, t, PARENT, TC_WIRE_OBJ_CHUNK, 1, 4, TOKEN, NULL), 0);
    assert_true(ack_find(mark, TC_WIRE_OBJ_CHUNK, 1, &m) >= 0);
    assert_int_equal(m.u.ack.cum_offset, 3 * SEG);
    assert_int_equal(m.u.ack.nsacks, 1);
    assert_int_equal(m.u.ack.sacks[0].offset, 4 * SEG);
    assert_int_equal(m.u.ack.sacks[0].len, SEG);
    assert_true(tc_agent_stats(a)->acks_tx >= 3);
    /* no REPAIR_REQ at all, however long the gap stays */
    run_timers(a, t, t + 900 * MS_NS);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    assert_int_equal(req_count(mark, TC_WIRE_OBJ_CHUNK, 1), 0);
    /* the retransmission completes the chunk: written, ACKed whole */
    for (j = 3; j < obj_blocks(TC_WIRE_OBJ_CHUNK, 1); j++)
        if (j != 4)
            assert_int_equal(
                send_block(a, t + 900 * MS_NS, PARENT, TC_WIRE_OBJ_CHUNK, 1, j, TOKEN, NULL), 0);
    assert_int_equal(E.writes[1], 1);
    assert_true(ack_find(mark, TC_WIRE_OBJ_CHUNK, 1, &m) >= 0);
    assert_int_equal(m.u.ack.cum_offset, img.stored_len[1]);
    assert_int_equal(sent_count(mark, TC_WIRE_REPAIR_REQ), 0);
    tc_agent_free(a);
}

/** DATA datagrams sent to CHILD for object, at or after `from`. */
static uint32_t child_data(uint32_t from, uint8_t object)
{
    struct tc_wire_msg m;
    uint32_t i, n = 0;
    size_t len;
    const uint8_t *b;

    for (i = from; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_DATA || E.sent[i].to.addr != CHILD.addr)
            continue;
        sent_msg(i, &m);
        assert_int_equal(E.sent[i].to.port, CHILD.port);
        assert_int_equal(m.hdr.token, CHILD_TOKEN);
        assert_int_equal(m.hdr.flags, TC_WIRE_DATA_F_UNICAST);
        b = obj_bytes(m.u.data.object, m.u.data.index, &len);
        assert_true(m.u.data.offset + m.u.data.len <= len);
        assert_memory_equal(m.u.data.payload, b + m.u.data.offset, m.u.data.len);
        n += m.u.data.object == object;
    }
    return n;
}

/**
 * A STREAM child on our CHILDREN list: once we hold the manifest objects
 * they go to it as unicast DATA from position 0 without any REPAIR_REQ;
 * its ACK with cum_offset = length moves the stream past that object (not
 * sent again), while what it did not ACK is retransmitted.
 */
static void test_stream_parent(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    struct tc_wire_msg m;
    uint64_t t, forged;
    uint32_t mark;

    (void)state;
    env_reset(83);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    hdr(&m, TC_WIRE_CHILDREN, TOKEN);
    m.u.children.generation = 1;
    m.u.children.count = 1;
    m.u.children.children[0].node_index = 9;
    m.u.children.children[0].addr = CHILD.addr;
    m.u.children.children[0].port = CHILD.port;
    m.u.children.children[0].flags = TC_WIRE_CHILD_F_STREAM;
    m.u.children.children[0].token = CHILD_TOKEN;
    mark = E.nsent;
    assert_int_equal(deliver(a, t, SEEDER, &m), 0);
    /* nothing held yet: nothing streamed */
    assert_int_equal(child_data(mark, TC_WIRE_OBJ_MANIFEST_HASHES), 0);
    /* the manifest hash list (position 0) arrives and is checked: streamed at once */
    mcast(a, t, TC_WIRE_OBJ_MANIFEST_HASHES, 0, NULL, 0);
    assert_int_equal(child_data(mark, TC_WIRE_OBJ_MANIFEST_HASHES),
                     obj_blocks(TC_WIRE_OBJ_MANIFEST_HASHES, 0));
    {
        int k = sent_find(mark, TC_WIRE_DATA);

        sent_msg((uint32_t)k, &m);
        assert_int_equal(m.u.data.object, TC_WIRE_OBJ_MANIFEST_HASHES);
        assert_int_equal(m.u.data.offset, 0);
        assert_int_equal(m.u.data.len, img.man_hashes_len);
    }
    assert_true(tc_agent_stats(a)->stream_bytes >= img.man_hashes_len);
    /* the child ACKs it whole (accepted; a wrong token is forged) */
    forged = tc_agent_stats(a)->rx_forged;
    hdr(&m, TC_WIRE_ACK, CHILD_TOKEN);
    m.u.ack.object = TC_WIRE_OBJ_MANIFEST_HASHES;
    m.u.ack.cum_offset = (uint32_t)img.man_hashes_len;
    m.u.ack.window = TC_WIRE_WINDOW_MAX;
    assert_int_equal(deliver(a, t + MS_NS, CHILD, &m), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, forged);
    m.hdr.token = CHILD_TOKEN + 1;
    assert_int_equal(deliver(a, t + MS_NS, CHILD, &m), 0);
    assert_int_equal(tc_agent_stats(a)->rx_forged, forged + 1);
    /* the next objects as they become ours */
    mcast(a, t + 2 * MS_NS, TC_WIRE_OBJ_SIGBLOCK, 0, NULL, 0);
    mcast(a, t + 2 * MS_NS, TC_WIRE_OBJ_MANIFEST, 0, NULL, 0);
    assert_int_equal(tc_agent_state(a), TC_AGENT_RECEIVING);
    assert_int_equal(child_data(mark, TC_WIRE_OBJ_SIGBLOCK), 1);
    assert_true(child_data(mark, TC_WIRE_OBJ_MANIFEST) >= 1);
    /* no ACK for those: retransmitted; the ACKed hash list never again */
    run_timers(a, t + 2 * MS_NS, t + 1500 * MS_NS);
    assert_true(child_data(mark, TC_WIRE_OBJ_SIGBLOCK) >= 2);
    assert_int_equal(child_data(mark, TC_WIRE_OBJ_MANIFEST_HASHES),
                     obj_blocks(TC_WIRE_OBJ_MANIFEST_HASHES, 0));
    tc_agent_free(a);
}

/** Stream runs the test's parent sent and not yet delivered, at most. */
#define PQ_MAX 1024u

/**
 * The test's parent: a real stream sender (lib/stream.c) over the genuine
 * image. Its sends are queued and delivered by the test (never from inside
 * a stream call); the first copy of one object can be lost on the way.
 */
static struct {
    struct tc_stream_tx tx;
    struct {
        uint8_t object;
        uint32_t index, off, len;
    } q[PQ_MAX];
    uint32_t nq;
    uint64_t lose; /**< bit p: the first copy of position p (< 64) is lost */
    uint32_t lost; /**< blocks lost */
} P;

static int p_object_at(void *ctx, uint32_t pos, struct tc_stream_obj *o)
{
    size_t len;

    (void)ctx;
    tc_proto_obj_at(pos, &o->object, &o->index);
    if (pos >= TC_PROTO_POS_CHUNKS && o->index >= CHUNKS)
        return -ENOENT;
    obj_bytes(o->object, o->index, &len);
    o->len = (uint32_t)len;
    return 0;
}

static uint32_t p_held(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    (void)ctx;
    return o->len - off < len ? o->len - off : len;
}

static int p_send(void *ctx, const struct tc_stream_obj *o, uint32_t off, uint32_t len)
{
    (void)ctx;
    assert_true(P.nq < PQ_MAX);
    P.q[P.nq].object = o->object;
    P.q[P.nq].index = o->index;
    P.q[P.nq].off = off;
    P.q[P.nq].len = len;
    P.nq++;
    return 0;
}

static const struct tc_stream_ops p_ops = {
    .object_at = p_object_at,
    .held = p_held,
    .send = p_send,
};

/** Deliver the parent's queued runs to the agent as unicast DATA (losing what P says). */
static void p_deliver(struct tc_agent *a, uint64_t t)
{
    uint32_t i, j;

    for (i = 0; i < P.nq; i++) {
        uint32_t pos = tc_proto_pos_of(P.q[i].object, P.q[i].index);
        int lose = pos < 64 && ((P.lose >> pos) & 1u);

        for (j = P.q[i].off / SEG; j < tc_proto_nsegs((uint64_t)P.q[i].off + P.q[i].len, SEG);
             j++) {
            if (lose) {
                P.lost++;
                continue;
            }
            assert_int_equal(send_block(a, t, PARENT, P.q[i].object, P.q[i].index, j, TOKEN, NULL),
                             0);
        }
        if (lose)
            P.lose &= ~(1ull << pos);
    }
    P.nq = 0;
}

/** Feed the ACKs the agent sent to its parent to the stream; forget what it sent. */
static void p_acks(uint64_t t)
{
    struct tc_wire_msg m;
    uint32_t i;

    for (i = 0; i < E.nsent; i++) {
        if (E.sent[i].buf[5] != TC_WIRE_ACK)
            continue;
        sent_msg(i, &m);
        assert_int_equal(E.sent[i].to.addr, PARENT.addr);
        tc_stream_tx_on_ack(&P.tx, t, tc_proto_pos_of(m.u.ack.object, m.u.ack.index), &m.u.ack);
    }
    E.nsent = 0;
}

/**
 * A catching-up leaf near the end of the image while forged blocks keep
 * coming (tests/net/rogue.sh: a forger spoofing the seeder's address sends
 * DATA for every chunk to the group and to the agents' own ports, so
 * leaving the group does not stop them). Chunks 0-4 came by multicast; a
 * forged block of chunk 7 came too and sits unchecked in a slot (its hash
 * list has not come). Then the node is demoted and its parent, a real
 * stream sender, streams the rest while forged blocks of every chunk keep
 * arriving; the first copies of the hash lists of chunks 6 and 7 are lost,
 * so the stream's blocks of those chunks arrive before their lists. The
 * leaf must never describe a forged segment as held in its ACKs (the
 * parent never sends an acknowledged byte again, and a leaf asks for no
 * repairs): it completes with the genuine bytes.
 */
static void test_leaf_forged_stream(void **state)
{
    struct tc_agent_cfg c;
    struct tc_agent *a;
    uint8_t junk[SEG];
    uint64_t t, t0, dropped, forged = 0;
    uint32_t i;

    (void)state;
    env_reset(89);
    cfg_default(&c);
    a = agent_new(&c, &ops);
    t = welcome(a);
    send_manifest(a, t);
    complete_io(a, t);
    for (i = 0; i < 5; i++) {
        if (img.enc[i] == TC_ENC_ZERO)
            continue;
        mcast(a, t, TC_WIRE_OBJ_CHUNK_HASHES, i, NULL, 0);
        mcast(a, t, TC_WIRE_OBJ_CHUNK, i, NULL, 0);
        complete_io(a, t);
    }
    assert_int_equal(E.writes[4], 1);
    memset(junk, 0xee, sizeof(junk));
    assert_true(obj_blocks(TC_WIRE_OBJ_CHUNK, 7) > 2);
    assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, 7, 2, 0, junk), 0);
    reparent_to_parent(a, t, 1, TC_WIRE_REPARENT_F_LEAF);
    assert_int_equal(E.group_joined, 0);
    memset(&P, 0, sizeof(P));
    P.lose = 1ull << tc_proto_pos_of(TC_WIRE_OBJ_CHUNK_HASHES, 6) |
             1ull << tc_proto_pos_of(TC_WIRE_OBJ_CHUNK_HASHES, 7);
    assert_int_equal(tc_stream_tx_init(&P.tx, &p_ops, NULL, SEG, tc_proto_block_len(MTU, SEG),
                                       TC_STREAM_CWND_MAX_BYTES, 0, 0),
                     0);
    dropped = tc_agent_stats(a)->blocks_dropped;
    E.nsent = 0;
    /* 1 ms steps: forged blocks for every chunk, the parent's stream, the
     * leaf's ACKs back to it, the leaf's timers and disk */
    tc_stream_tx_wake(&P.tx, t);
    for (t0 = t; t < t0 + 3000 * MS_NS && tc_agent_state(a) == TC_AGENT_RECEIVING; t += MS_NS) {
        for (i = 0; i < CHUNKS; i++) {
            if (img.enc[i] == TC_ENC_ZERO)
                continue;
            assert_int_equal(send_block(a, t, SEEDER, TC_WIRE_OBJ_CHUNK, i, 0, 0, junk), 0);
            forged++;
        }
        if (tc_stream_tx_deadline(&P.tx) <= t)
            tc_stream_tx_on_timer(&P.tx, t);
        p_deliver(a, t);
        p_acks(t);
        run_timers(a, t, t);
        complete_io(a, t);
        p_acks(t);
    }
    assert_int_equal(P.lost, 2);
    assert_int_equal(tc_agent_state(a), TC_AGENT_DONE);
    assert_true(tc_stream_tx_complete(&P.tx));
    for (i = 0; i < CHUNKS; i++)
        assert_int_equal(E.writes[i], 1);
    assert_disk_genuine();
    /* the forged blocks reached the leaf and were refused */
    assert_int_equal(tc_agent_stats(a)->blocks_dropped - dropped, forged);
    tc_agent_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_backoff),
        cmocka_unit_test(test_welcome_forged),
        cmocka_unit_test(test_full_delivery),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_fetch_whole_and_fallback),
        cmocka_unit_test(test_late_join_idle),
        cmocka_unit_test(test_forged_blocks),
        cmocka_unit_test(test_serve_child),
        cmocka_unit_test(test_serve_child_send_blocks),
        cmocka_unit_test(test_on_blocks_same),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_manifest_fail),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_resume_held),
        cmocka_unit_test(test_dataless),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_seeder_lost),
        cmocka_unit_test(test_parent_silent),
        cmocka_unit_test(test_epoch_rejoin),
        cmocka_unit_test(test_leaf_streamed),
        cmocka_unit_test(test_stream_parent),
        cmocka_unit_test(test_leaf_forged_stream),
    };

    return cmocka_run_group_tests(tests, image_setup, image_teardown);
}
