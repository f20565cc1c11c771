// SPDX-License-Identifier: MIT
/* Unit tests for lib/wire.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/wire.h"

/** Variants of each sample: the smallest valid body, or every count at its limit. */
enum {
    SMALL = 0,
    LARGE = 1
};

static uint8_t payload[TC_WIRE_DATA_PAYLOAD_MAX];

/**
 * sample - fill m with a valid datagram of this type: SMALL uses the fewest
 * entries, LARGE every count at its named limit.
 */
static void sample(struct tc_wire_msg *m, unsigned type, int large)
{
    unsigned i;

    memset(m, 0, sizeof(*m));
    m->hdr.type = (uint8_t)type;
    m->hdr.session_id = 0x1122334455667788ull;
    m->hdr.epoch = 3;
    m->hdr.token = 0xa1b2c3d4e5f60718ull;
    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    switch (type) {
    case TC_WIRE_JOIN: {
        struct tc_wire_join *j = &m->u.join;
        static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

        m->hdr.session_id = 0;
        m->hdr.epoch = 0;
        m->hdr.token = 0;
        memcpy(j->node_id, mac, 6);
        j->mtu = 1500;
        j->nonce = 42;
        j->disk_size = 20ull << 30;
        j->attempt = 2;
        j->name_len = 6;
        memcpy(j->name, "debian", 6);
        if (large) {
            m->hdr.flags = TC_WIRE_JOIN_F_PIN;
            j->name_len = TC_WIRE_NAME_MAX;
            memset(j->name, 'a', TC_WIRE_NAME_MAX);
            j->min_version_len = TC_WIRE_VERSION_STR_MAX;
            memset(j->min_version, '9', TC_WIRE_VERSION_STR_MAX);
            memset(j->pin, 0xab, sizeof(j->pin));
            j->nruns = TC_WIRE_JOIN_RUNS_MAX;
            for (i = 0; i < j->nruns; i++) {
                j->runs[i].first = i * 10;
                j->runs[i].count = 5;
            }
        } else {
            j->nruns = 1;
            j->runs[0].first = 0;
            j->runs[0].count = 100;
        }
        break;
    }
    case TC_WIRE_WELCOME: {
        struct tc_wire_welcome *w = &m->u.welcome;

        w->nonce = 42;
        w->node_index = 7;
        w->group_addr = 0xef010203u; /* 239.1.2.3 */
        w->group_port = 9999;
        w->mtu = 1500;
        w->parent_addr = 0xc6120005u; /* 198.18.0.5 */
        w->parent_port = 7001;
        w->parent_index = 4;
        w->depth = 2;
        w->seg_size = TC_WIRE_DATA_PAYLOAD_1500;
        w->rate_bps = 900000000ull;
        w->manifest_len = 700000;
        w->sigblock_len = 200;
        w->heartbeat_ms = 1000;
        w->report_ms = 200;
        memset(w->manifest_digest, 1, 32);
        memset(w->manifest_hashes_digest, 2, 32);
        memset(w->sigblock_digest, 3, 32);
        if (!large) {
            m->hdr.flags = TC_WIRE_WELCOME_F_TREE_ONLY;
            w->group_addr = 0;
            w->group_port = 0;
            w->parent_addr = 0;
            w->parent_port = 0;
            w->parent_index = TC_WIRE_INDEX_SEEDER;
            w->depth = 1;
        }
        break;
    }
    case TC_WIRE_REJECT:
        m->u.reject.nonce = 42;
        m->u.reject.reason = TC_WIRE_REJECT_BUSY;
        m->u.reject.retry_after_ms = 1500;
        break;
    case TC_WIRE_DATA:
        m->u.data.object = TC_WIRE_OBJ_CHUNK;
        m->u.data.index = 12;
        m->u.data.offset = 1432 * 3;
        m->u.data.len = large ? TC_WIRE_DATA_PAYLOAD_MAX : 1;
        m->u.data.payload = payload;
        if (large) {
            m->hdr.flags = TC_WIRE_DATA_F_UNICAST;
        } else {
            m->hdr.token = 0;
        }
        break;
    case TC_WIRE_REPAIR_REQ: {
        struct tc_wire_repair_req *r = &m->u.repair_req;

        r->object = TC_WIRE_OBJ_CHUNK;
        r->index = 5;
        r->nranges = large ? TC_WIRE_RANGES_MAX : 1;
        for (i = 0; i < r->nranges; i++) {
            r->ranges[i].offset = i * 4000;
            r->ranges[i].len = 1432;
        }
        break;
    }
    case TC_WIRE_REPORT: {
        struct tc_wire_report *r = &m->u.report;

        r->seq = 9;
        r->subtree_nodes = 30;
        r->subtree_done = 2;
        r->backlog_max = 1 << 20;
        r->loss_hist[0] = 20;
        r->loss_hist[3] = 10;
        r->nentries = large ? TC_WIRE_REPORT_ENTRIES_MAX : 0;
        for (i = 0; i < r->nentries; i++) {
            r->entries[i].object = TC_WIRE_OBJ_CHUNK;
            r->entries[i].index = i * 3;
            r->entries[i].max_missing = (uint16_t)(i + 1);
            r->entries[i].hist[0] = 3;
            if (i + 1 >= 4)
                r->entries[i].hist[1] = 2;
            if (i + 1 >= 32)
                r->entries[i].hist[2] = 1;
        }
        break;
    }
    case TC_WIRE_DONE:
        memset(m->u.done.image_digest, 0x5a, 32);
        m->u.done.chunk_count = 10240;
        break;
    case TC_WIRE_DONE_ACK:
        memset(m->u.done_ack.image_digest, 0x5a, 32);
        break;
    case TC_WIRE_RELEASE:
        m->u.release.reason = TC_WIRE_RELEASE_COMPLETE;
        break;
    case TC_WIRE_HEARTBEAT:
        m->u.heartbeat.seq = 77;
        m->u.heartbeat.state = TC_WIRE_STATE_RECEIVING;
        m->u.heartbeat.chunks_done = 100;
        m->u.heartbeat.time_ns = 123456789012ull;
        m->u.heartbeat.echo_ns = 123456000000ull;
        break;
    case TC_WIRE_REPARENT_REQ:
        m->u.reparent_req.parent_index = 4;
        m->u.reparent_req.reason = TC_WIRE_REPARENT_SILENT;
        m->u.reparent_req.silence_ms = 5000;
        m->u.reparent_req.chunks_done = 99;
        break;
    case TC_WIRE_REPARENT:
        m->u.reparent.generation = 12;
        m->u.reparent.parent_index = 9;
        m->u.reparent.parent_addr = 0xc6120009u;
        m->u.reparent.parent_port = 7001;
        m->u.reparent.depth = 3;
        if (large)
            m->hdr.flags = TC_WIRE_REPARENT_F_LEAF;
        break;
    case TC_WIRE_CHILDREN: {
        struct tc_wire_children *c = &m->u.children;

        c->generation = 12;
        c->count = large ? TC_WIRE_CHILDREN_MAX : 0;
        for (i = 0; i < c->count; i++) {
            c->children[i].node_index = 10 + i;
            c->children[i].addr = 0xc6120100u + i;
            c->children[i].port = 7001;
            c->children[i].token = 0x1000 + i;
        }
        break;
    }
    case TC_WIRE_LOG:
        m->u.log.seq = 5;
        m->u.log.level = 3;
        m->u.log.text_len = large ? TC_WIRE_LOG_TEXT_MAX : 1;
        for (i = 0; i < m->u.log.text_len; i++)
            m->u.log.text[i] = (uint8_t)i; /* every byte value is allowed */
        break;
    case TC_WIRE_ACK: {
        struct tc_wire_ack *a = &m->u.ack;

        a->object = TC_WIRE_OBJ_CHUNK;
        a->index = 3;
        a->cum_offset = 10000;
        a->window = 4u << 20;
        a->nsacks = large ? TC_WIRE_SACK_MAX : 0;
        for (i = 0; i < a->nsacks; i++) {
            a->sacks[i].offset = 20000 + i * 5000;
            a->sacks[i].len = 1432;
        }
        break;
    }
    case TC_WIRE_EPOCH:
        m->hdr.epoch = 4;
        m->hdr.token = 0;
        m->u.epoch.prev_epoch = 3;
        m->u.epoch.rejoin_spread_ms = 2000;
        break;
    default:
        fail();
    }
}

/** Expected datagram lengths of the SMALL and LARGE samples. */
static const int sample_len[TC_WIRE_TYPE_MAX + 1][2] = {
    [TC_WIRE_JOIN] = {256, 188 + 8 * 128},
    [TC_WIRE_WELCOME] = {184, 184},
    [TC_WIRE_REJECT] = {44, 44},
    [TC_WIRE_DATA] = {41, 40 + 8932},
    [TC_WIRE_REPAIR_REQ] = {44, 36 + 8 * 64},
    [TC_WIRE_REPORT] = {60, 60 + 14 * 64},
    [TC_WIRE_DONE] = {68, 68},
    [TC_WIRE_DONE_ACK] = {60, 60},
    [TC_WIRE_RELEASE] = {32, 32},
    [TC_WIRE_HEARTBEAT] = {56, 56},
    [TC_WIRE_REPARENT_REQ] = {44, 44},
    [TC_WIRE_REPARENT] = {44, 44},
    [TC_WIRE_CHILDREN] = {36, 36 + 20 * 32},
    [TC_WIRE_LOG] = {37, 36 + 512},
    [TC_WIRE_ACK] = {44, 44 + 8 * 8},
    [TC_WIRE_EPOCH] = {36, 36},
};

static uint8_t buf[TC_WIRE_DGRAM_MAX + 16];
static uint8_t buf2[TC_WIRE_DGRAM_MAX + 16];

/** Encode m into buf; assert success and return the length. */
static size_t enc(const struct tc_wire_msg *m)
{
    int n = tc_wire_encode(m, buf, sizeof(buf));

    assert_true(n > 0);
    return (size_t)n;
}

/** Compare two decoded messages of the same type field by field. */
static void assert_msg_equal(const struct tc_wire_msg *a, const struct tc_wire_msg *b)
{
    assert_int_equal(a->hdr.type, b->hdr.type);
    assert_int_equal(a->hdr.flags, b->hdr.flags);
    assert_true(a->hdr.session_id == b->hdr.session_id);
    assert_int_equal(a->hdr.epoch, b->hdr.epoch);
    assert_true(a->hdr.token == b->hdr.token);
    if (a->hdr.type == TC_WIRE_DATA) {
        assert_int_equal(a->u.data.object, b->u.data.object);
        assert_int_equal(a->u.data.index, b->u.data.index);
        assert_int_equal(a->u.data.offset, b->u.data.offset);
        assert_int_equal(a->u.data.len, b->u.data.len);
        assert_memory_equal(a->u.data.payload, b->u.data.payload, a->u.data.len);
        return;
    }
    /* every body struct is plain data; samples start from zeroed structs and the
     * decoders fill every member, so compare the bytes of each member we use */
    switch (a->hdr.type) {
    case TC_WIRE_JOIN:
        assert_memory_equal(a->u.join.node_id, b->u.join.node_id, 6);
        assert_int_equal(a->u.join.mtu, b->u.join.mtu);
        assert_true(a->u.join.nonce == b->u.join.nonce);
        assert_true(a->u.join.disk_size == b->u.join.disk_size);
        assert_int_equal(a->u.join.attempt, b->u.join.attempt);
        assert_int_equal(a->u.join.name_len, b->u.join.name_len);
        assert_memory_equal(a->u.join.name, b->u.join.name, TC_WIRE_NAME_MAX);
        assert_int_equal(a->u.join.min_version_len, b->u.join.min_version_len);
        assert_memory_equal(a->u.join.min_version, b->u.join.min_version, TC_WIRE_VERSION_STR_MAX);
        assert_memory_equal(a->u.join.pin, b->u.join.pin, 32);
        assert_int_equal(a->u.join.nruns, b->u.join.nruns);
        assert_memory_equal(a->u.join.runs, b->u.join.runs,
                            sizeof(a->u.join.runs[0]) * a->u.join.nruns);
        break;
    case TC_WIRE_WELCOME:
        assert_true(a->u.welcome.nonce == b->u.welcome.nonce);
        assert_int_equal(a->u.welcome.node_index, b->u.welcome.node_index);
        assert_int_equal(a->u.welcome.group_addr, b->u.welcome.group_addr);
        assert_int_equal(a->u.welcome.group_port, b->u.welcome.group_port);
        assert_int_equal(a->u.welcome.mtu, b->u.welcome.mtu);
        assert_int_equal(a->u.welcome.parent_addr, b->u.welcome.parent_addr);
        assert_int_equal(a->u.welcome.parent_port, b->u.welcome.parent_port);
        assert_int_equal(a->u.welcome.parent_index, b->u.welcome.parent_index);
        assert_int_equal(a->u.welcome.seg_size, b->u.welcome.seg_size);
        assert_true(a->u.welcome.rate_bps == b->u.welcome.rate_bps);
        assert_int_equal(a->u.welcome.manifest_len, b->u.welcome.manifest_len);
        assert_int_equal(a->u.welcome.sigblock_len, b->u.welcome.sigblock_len);
        assert_int_equal(a->u.welcome.heartbeat_ms, b->u.welcome.heartbeat_ms);
        assert_int_equal(a->u.welcome.report_ms, b->u.welcome.report_ms);
        assert_int_equal(a->u.welcome.depth, b->u.welcome.depth);
        assert_memory_equal(a->u.welcome.manifest_digest, b->u.welcome.manifest_digest, 32);
        assert_memory_equal(a->u.welcome.manifest_hashes_digest,
                            b->u.welcome.manifest_hashes_digest, 32);
        assert_memory_equal(a->u.welcome.sigblock_digest, b->u.welcome.sigblock_digest, 32);
        break;
    case TC_WIRE_REPAIR_REQ:
        assert_int_equal(a->u.repair_req.object, b->u.repair_req.object);
        assert_int_equal(a->u.repair_req.index, b->u.repair_req.index);
        assert_int_equal(a->u.repair_req.nranges, b->u.repair_req.nranges);
        assert_memory_equal(a->u.repair_req.ranges, b->u.repair_req.ranges,
                            sizeof(a->u.repair_req.ranges[0]) * a->u.repair_req.nranges);
        break;
    case TC_WIRE_REPORT: {
        const struct tc_wire_report *x = &a->u.report, *y = &b->u.report;
        unsigned i;

        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->subtree_nodes, y->subtree_nodes);
        assert_int_equal(x->subtree_done, y->subtree_done);
        assert_int_equal(x->backlog_max, y->backlog_max);
        assert_memory_equal(x->loss_hist, y->loss_hist, sizeof(x->loss_hist));
        assert_int_equal(x->nentries, y->nentries);
        for (i = 0; i < x->nentries; i++) {
            assert_int_equal(x->entries[i].object, y->entries[i].object);
            assert_int_equal(x->entries[i].index, y->entries[i].index);
            assert_int_equal(x->entries[i].max_missing, y->entries[i].max_missing);
            assert_memory_equal(x->entries[i].hist, y->entries[i].hist, sizeof(x->entries[i].hist));
        }
        break;
    }
    case TC_WIRE_CHILDREN: {
        unsigned i;

        assert_int_equal(a->u.children.generation, b->u.children.generation);
        assert_int_equal(a->u.children.count, b->u.children.count);
        for (i = 0; i < a->u.children.count; i++) {
            assert_int_equal(a->u.children.children[i].node_index,
                             b->u.children.children[i].node_index);
            assert_int_equal(a->u.children.children[i].addr, b->u.children.children[i].addr);
            assert_int_equal(a->u.children.children[i].port, b->u.children.children[i].port);
            assert_true(a->u.children.children[i].token == b->u.children.children[i].token);
        }
        break;
    }
    case TC_WIRE_LOG:
        assert_int_equal(a->u.log.seq, b->u.log.seq);
        assert_int_equal(a->u.log.level, b->u.log.level);
        assert_int_equal(a->u.log.text_len, b->u.log.text_len);
        assert_memory_equal(a->u.log.text, b->u.log.text, a->u.log.text_len);
        break;
    case TC_WIRE_ACK:
        assert_int_equal(a->u.ack.object, b->u.ack.object);
        assert_int_equal(a->u.ack.index, b->u.ack.index);
        assert_int_equal(a->u.ack.cum_offset, b->u.ack.cum_offset);
        assert_int_equal(a->u.ack.window, b->u.ack.window);
        assert_int_equal(a->u.ack.nsacks, b->u.ack.nsacks);
        assert_memory_equal(a->u.ack.sacks, b->u.ack.sacks,
                            sizeof(a->u.ack.sacks[0]) * a->u.ack.nsacks);
        break;
    case TC_WIRE_REJECT:
        assert_true(a->u.reject.nonce == b->u.reject.nonce);
        assert_int_equal(a->u.reject.reason, b->u.reject.reason);
        assert_int_equal(a->u.reject.retry_after_ms, b->u.reject.retry_after_ms);
        break;
    case TC_WIRE_DONE:
        assert_memory_equal(a->u.done.image_digest, b->u.done.image_digest, 32);
        assert_int_equal(a->u.done.chunk_count, b->u.done.chunk_count);
        break;
    case TC_WIRE_DONE_ACK:
        assert_memory_equal(a->u.done_ack.image_digest, b->u.done_ack.image_digest, 32);
        break;
    case TC_WIRE_RELEASE:
        assert_int_equal(a->u.release.reason, b->u.release.reason);
        break;
    case TC_WIRE_HEARTBEAT:
        assert_int_equal(a->u.heartbeat.seq, b->u.heartbeat.seq);
        assert_int_equal(a->u.heartbeat.state, b->u.heartbeat.state);
        assert_int_equal(a->u.heartbeat.chunks_done, b->u.heartbeat.chunks_done);
        assert_true(a->u.heartbeat.time_ns == b->u.heartbeat.time_ns);
        assert_true(a->u.heartbeat.echo_ns == b->u.heartbeat.echo_ns);
        break;
    case TC_WIRE_REPARENT_REQ:
        assert_int_equal(a->u.reparent_req.parent_index, b->u.reparent_req.parent_index);
        assert_int_equal(a->u.reparent_req.reason, b->u.reparent_req.reason);
        assert_int_equal(a->u.reparent_req.silence_ms, b->u.reparent_req.silence_ms);
        assert_int_equal(a->u.reparent_req.chunks_done, b->u.reparent_req.chunks_done);
        break;
    case TC_WIRE_REPARENT:
        assert_int_equal(a->u.reparent.generation, b->u.reparent.generation);
        assert_int_equal(a->u.reparent.parent_index, b->u.reparent.parent_index);
        assert_int_equal(a->u.reparent.parent_addr, b->u.reparent.parent_addr);
        assert_int_equal(a->u.reparent.parent_port, b->u.reparent.parent_port);
        assert_int_equal(a->u.reparent.depth, b->u.reparent.depth);
        break;
    case TC_WIRE_EPOCH:
        assert_int_equal(a->u.epoch.prev_epoch, b->u.epoch.prev_epoch);
        assert_int_equal(a->u.epoch.rejoin_spread_ms, b->u.epoch.rejoin_spread_ms);
        break;
    default:
        fail();
    }
}

/* Every type, small and large: encode, check the length, decode, compare, re-encode. */
static void test_roundtrip_all(void **state)
{
    struct tc_wire_msg m, d;
    unsigned type;
    int v;

    (void)state;
    for (type = 1; type <= TC_WIRE_TYPE_MAX; type++) {
        for (v = SMALL; v <= LARGE; v++) {
            size_t n;

            sample(&m, type, v);
            n = enc(&m);
            assert_int_equal(n, sample_len[type][v]);
            assert_int_equal(tc_wire_decode(buf, n, &d), 0);
            assert_msg_equal(&m, &d);
            memcpy(buf2, buf, n);
            assert_int_equal(tc_wire_encode(&d, buf, sizeof(buf)), (int)n);
            assert_memory_equal(buf, buf2, n);
            assert_string_not_equal(tc_wire_type_name(type), "?");
        }
    }
    assert_string_equal(tc_wire_type_name(0), "?");
    assert_string_equal(tc_wire_type_name(TC_WIRE_TYPE_MAX + 1), "?");
}

/* The header is where the spec says, in big-endian. */
static void test_header_bytes(void **state)
{
    static const uint8_t want[TC_WIRE_HDR_LEN] = {
        'T',  'C',  'W',  'P',  1,    TC_WIRE_HEARTBEAT,
        0,    0,    0x11, 0x22, 0x33, 0x44,
        0x55, 0x66, 0x77, 0x88, 0,    0,
        0,    3,    0xa1, 0xb2, 0xc3, 0xd4,
        0xe5, 0xf6, 0x07, 0x18,
    };
    struct tc_wire_msg m;
    struct tc_wire_hdr h;

    (void)state;
    sample(&m, TC_WIRE_HEARTBEAT, SMALL);
    enc(&m);
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(tc_wire_decode_hdr(buf, sizeof(want), &h), 0);
    assert_int_equal(h.type, TC_WIRE_HEARTBEAT);
    assert_int_equal(tc_get_be32(buf + TC_WIRE_HDR_LEN), 77); /* seq first */
}

/* Every strict prefix, and one trailing byte, of every sample is refused. */
static void test_truncated_and_trailing(void **state)
{
    struct tc_wire_msg m, d;
    unsigned type;
    int v;

    (void)state;
    for (type = 1; type <= TC_WIRE_TYPE_MAX; type++) {
        for (v = SMALL; v <= LARGE; v++) {
            size_t n, len;

            sample(&m, type, v);
            n = enc(&m);
            for (len = 0; len < n; len++)
                assert_int_equal(tc_wire_decode(buf, len, &d), -EBADMSG);
            buf[n] = 0;
            assert_int_equal(tc_wire_decode(buf, n + 1, &d), -EBADMSG);
        }
    }
}

static void test_magic_version_type_flags(void **state)
{
    struct tc_wire_msg m, d;
    struct tc_wire_hdr h;
    size_t n;
    unsigned i;

    (void)state;
    sample(&m, TC_WIRE_DONE, SMALL);
    n = enc(&m);
    for (i = 0; i < 4; i++) {
        buf[i] ^= 0x20;
        assert_int_equal(tc_wire_decode(buf, n, &d), -EBADMSG);
        assert_int_equal(tc_wire_decode_hdr(buf, n, &h), -EBADMSG);
        buf[i] ^= 0x20;
    }
    buf[4] = 2;
    assert_int_equal(tc_wire_decode(buf, n, &d), -EPROTO);
    buf[4] = 0;
    assert_int_equal(tc_wire_decode(buf, n, &d), -EPROTO);
    buf[4] = TC_WIRE_VERSION;
    buf[5] = 0;
    assert_int_equal(tc_wire_decode(buf, n, &d), -EBADMSG);
    buf[5] = TC_WIRE_TYPE_MAX + 1;
    assert_int_equal(tc_wire_decode(buf, n, &d), -EBADMSG);
    buf[5] = TC_WIRE_DONE;
    /* DONE has no flags: every bit is refused */
    for (i = 0; i < 16; i++) {
        tc_put_be16(buf + 6, (uint16_t)(1u << i));
        assert_int_equal(tc_wire_decode(buf, n, &d), -EBADMSG);
    }
    tc_put_be16(buf + 6, 0);
    assert_int_equal(tc_wire_decode(buf, n, &d), 0);
    m.hdr.flags = 0x8000;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    /* DATA accepts UNICAST and nothing else */
    sample(&m, TC_WIRE_DATA, LARGE);
    m.hdr.flags |= 0x0002;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
}

/* Session id, epoch and token rules of the header. */
static void test_header_rules(void **state)
{
    struct tc_wire_msg m, d;
    size_t n;

    (void)state;
    sample(&m, TC_WIRE_HEARTBEAT, SMALL);
    m.hdr.session_id = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_HEARTBEAT, SMALL);
    m.hdr.epoch = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_HEARTBEAT, SMALL);
    n = enc(&m);
    memset(buf + 20, 0, 8); /* a node message without its token */
    assert_int_equal(tc_wire_decode(buf, n, &d), -EBADMSG);
    /* multicast DATA carries no token; unicast DATA must */
    sample(&m, TC_WIRE_DATA, SMALL);
    m.hdr.token = 5;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_DATA, LARGE);
    m.hdr.token = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    /* a first JOIN knows no session, epoch or token */
    sample(&m, TC_WIRE_JOIN, SMALL);
    assert_true(tc_wire_encode(&m, buf, sizeof(buf)) > 0);
    sample(&m, TC_WIRE_WELCOME, SMALL);
    m.hdr.token = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
}

/**
 * over_limit - m (a LARGE sample) with its count one over the limit: encode
 * says -E2BIG; and the valid encoding with the count field patched to the
 * same value decodes to -E2BIG (the count is checked before the length).
 */
static void over_limit(unsigned type, size_t count_off, int count_bytes)
{
    struct tc_wire_msg m, d;
    size_t n;
    uint16_t max = 0;

    sample(&m, type, LARGE);
    switch (type) {
    case TC_WIRE_JOIN:
        max = m.u.join.nruns++;
        break;
    case TC_WIRE_DATA:
        max = m.u.data.len++;
        break;
    case TC_WIRE_REPAIR_REQ:
        max = m.u.repair_req.nranges++; /* refused before the entry past the array is read */
        break;
    case TC_WIRE_REPORT:
        max = m.u.report.nentries++;
        break;
    case TC_WIRE_CHILDREN:
        max = m.u.children.count++;
        break;
    case TC_WIRE_LOG:
        max = m.u.log.text_len++;
        break;
    case TC_WIRE_ACK:
        max = m.u.ack.nsacks++;
        break;
    default:
        fail();
    }
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -E2BIG);
    sample(&m, type, LARGE);
    n = enc(&m);
    if (count_bytes == 1)
        buf[TC_WIRE_HDR_LEN + count_off] = (uint8_t)(max + 1);
    else
        tc_put_be16(buf + TC_WIRE_HDR_LEN + count_off, (uint16_t)(max + 1));
    assert_int_equal(tc_wire_decode(buf, n, &d), -E2BIG);
    /* even with room for the extra entry */
    assert_int_equal(tc_wire_decode(buf, n + 64, &d), -E2BIG);
    /* and a huge count in a short datagram */
    if (count_bytes == 2) {
        tc_put_be16(buf + TC_WIRE_HDR_LEN + count_off, 0xffff);
        assert_int_equal(tc_wire_decode(buf, n, &d), -E2BIG);
    }
}

static void test_limits(void **state)
{
    struct tc_wire_msg m;

    (void)state;
    over_limit(TC_WIRE_JOIN, 30, 2);
    over_limit(TC_WIRE_DATA, 2, 2);
    over_limit(TC_WIRE_REPAIR_REQ, 2, 2);
    over_limit(TC_WIRE_REPORT, 28, 2);
    over_limit(TC_WIRE_CHILDREN, 4, 2);
    over_limit(TC_WIRE_LOG, 6, 2);
    over_limit(TC_WIRE_ACK, 1, 1);
    /* name and version lengths */
    sample(&m, TC_WIRE_JOIN, SMALL);
    m.u.join.name_len = TC_WIRE_NAME_MAX + 1;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -E2BIG);
    sample(&m, TC_WIRE_JOIN, SMALL);
    m.u.join.min_version_len = TC_WIRE_VERSION_STR_MAX + 1;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -E2BIG);
}

/** Encode m, apply a patch to byte off of the body, expect decode to give rc. */
static void patched(const struct tc_wire_msg *m, size_t off, uint8_t val, int rc)
{
    struct tc_wire_msg d;
    size_t n = enc(m);

    buf[TC_WIRE_HDR_LEN + off] = val;
    assert_int_equal(tc_wire_decode(buf, n, &d), rc);
}

/* Reserved bytes, padding, and field rules that are not counts. */
static void test_field_rules(void **state)
{
    struct tc_wire_msg m;

    (void)state;
    /* JOIN: padding, reserved name bytes, pin without flag, MAC, runs, name */
    sample(&m, TC_WIRE_JOIN, SMALL);
    patched(&m, 255 - TC_WIRE_HDR_LEN, 1, -EBADMSG); /* padding */
    patched(&m, 32 + 6, 'x', -EBADMSG);              /* name beyond name_len */
    patched(&m, 128, 1, -EBADMSG);                   /* pin without F_PIN */
    patched(&m, 0, 0x01, -EBADMSG);                  /* multicast MAC */
    patched(&m, 32, '-', -EBADMSG);                  /* name starting with '-' */
    patched(&m, 33, '/', -EBADMSG);                  /* name with '/' */
    patched(&m, 167, 0, -EBADMSG);                   /* run of 0 chunks */
    patched(&m, 6, 0x01, -EBADMSG);                  /* mtu 256..: 0x01dc = 476 */
    sample(&m, TC_WIRE_JOIN, LARGE);
    m.u.join.runs[5].first = m.u.join.runs[4].first + m.u.join.runs[4].count; /* adjacent */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_JOIN, LARGE);
    m.u.join.runs[127].first = TC_MANIFEST_CHUNKS_MAX - 1;
    m.u.join.runs[127].count = 2; /* past the last chunk */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_JOIN, SMALL);
    m.u.join.name_len = 0;
    memset(m.u.join.name, 0, sizeof(m.u.join.name));
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);

    /* WELCOME */
    sample(&m, TC_WIRE_WELCOME, LARGE);
    patched(&m, 58, 1, -EBADMSG); /* reserved */
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.seg_size = TC_WIRE_DATA_PAYLOAD_1500 + 1; /* does not fit the MTU */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    m.u.welcome.mtu = 9000;
    assert_true(tc_wire_encode(&m, buf, sizeof(buf)) > 0);
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.group_addr = 0xc6120001u; /* not multicast */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.parent_index = m.u.welcome.node_index; /* its own parent */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.depth = 1; /* a node parent at depth 1 */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_WELCOME, SMALL);
    m.u.welcome.group_port = 9999; /* tree-only with a group */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.manifest_len = TC_MANIFEST_LEN_MAX + 1;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_WELCOME, LARGE);
    m.u.welcome.heartbeat_ms = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);

    /* DATA: reserved, object, index, extent */
    sample(&m, TC_WIRE_DATA, SMALL);
    patched(&m, 1, 1, -EBADMSG);
    patched(&m, 0, 0, -EBADMSG);
    patched(&m, 0, TC_WIRE_OBJ_MAX + 1, -EBADMSG);
    patched(&m, 0, TC_WIRE_OBJ_MANIFEST, -EBADMSG); /* index 12 of the manifest */
    sample(&m, TC_WIRE_DATA, SMALL);
    m.u.data.len = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_DATA, SMALL);
    m.u.data.index = TC_MANIFEST_CHUNKS_MAX;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_DATA, SMALL);
    m.u.data.offset = TC_CHUNK_SIZE_WIRE_MAX; /* the byte after a 4 MiB chunk */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    m.u.data.offset = TC_CHUNK_SIZE_WIRE_MAX - 1;
    assert_true(tc_wire_encode(&m, buf, sizeof(buf)) > 0);
    m.u.data.object = TC_WIRE_OBJ_SIGBLOCK;
    m.u.data.index = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);

    /* REPAIR_REQ and ACK ranges: empty, unsorted, overlapping, adjacent */
    sample(&m, TC_WIRE_REPAIR_REQ, SMALL);
    m.u.repair_req.nranges = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPAIR_REQ, LARGE);
    m.u.repair_req.ranges[3].len = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPAIR_REQ, LARGE);
    m.u.repair_req.ranges[3].offset = m.u.repair_req.ranges[2].offset;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPAIR_REQ, LARGE);
    /* range 2 ends where range 3 starts */
    m.u.repair_req.ranges[2].len =
        m.u.repair_req.ranges[3].offset - m.u.repair_req.ranges[2].offset;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPAIR_REQ, SMALL);
    patched(&m, 1, 1, -EBADMSG);
    sample(&m, TC_WIRE_ACK, LARGE);
    m.u.ack.sacks[0].offset = m.u.ack.cum_offset; /* would just extend cum_offset */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_ACK, SMALL);
    m.u.ack.window = TC_WIRE_WINDOW_MAX + 1;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);

    /* REPORT: counts that do not add up, order, histogram shape */
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.subtree_done = 31;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.loss_hist[7] = 1; /* 31 nodes in a subtree of 30 */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.entries[1].index = m.u.report.entries[0].index;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.entries[0].hist[2] = 1; /* a node missing >= 32 but max is 1 */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.entries[40].hist[2] = 0; /* max 41 but nobody in its bucket */
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.entries[0].max_missing = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    m.u.report.subtree_nodes = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_REPORT, LARGE);
    patched(&m, 32 + 14 * 5 + 1, 1, -EBADMSG); /* an entry's reserved byte */

    /* CHILDREN: order, addresses, tokens */
    sample(&m, TC_WIRE_CHILDREN, LARGE);
    m.u.children.children[4].node_index = m.u.children.children[3].node_index;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_CHILDREN, LARGE);
    m.u.children.children[4].addr = 0xef000001u;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_CHILDREN, LARGE);
    m.u.children.children[4].token = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);

    /* small fixed bodies */
    sample(&m, TC_WIRE_REJECT, SMALL);
    patched(&m, 9, TC_WIRE_REJECT_MAX + 1, -EBADMSG);
    sample(&m, TC_WIRE_DONE, SMALL);
    patched(&m, 39, 1, -EBADMSG);
    sample(&m, TC_WIRE_RELEASE, SMALL);
    patched(&m, 1, 0, -EBADMSG);
    sample(&m, TC_WIRE_HEARTBEAT, SMALL);
    patched(&m, 4, TC_WIRE_STATE_MAX + 1, -EBADMSG);
    patched(&m, 6, 1, -EBADMSG);
    sample(&m, TC_WIRE_REPARENT_REQ, SMALL);
    patched(&m, 5, 0, -EBADMSG);
    sample(&m, TC_WIRE_REPARENT, SMALL);
    patched(&m, 15, 1, -EBADMSG); /* depth 1 under a node parent */
    sample(&m, TC_WIRE_LOG, SMALL);
    patched(&m, 4, TC_WIRE_LOG_LEVEL_MAX + 1, -EBADMSG);
    sample(&m, TC_WIRE_LOG, SMALL);
    m.u.log.text_len = 0;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
    sample(&m, TC_WIRE_EPOCH, SMALL);
    m.u.epoch.prev_epoch = m.hdr.epoch;
    assert_int_equal(tc_wire_encode(&m, buf, sizeof(buf)), -EBADMSG);
}

/* No answer is larger than what it answers: WELCOME and REJECT <= every JOIN. */
static void test_welcome_not_larger_than_join(void **state)
{
    struct tc_wire_msg j, w;
    int wl[4], i;
    unsigned nruns;

    (void)state;
    sample(&w, TC_WIRE_WELCOME, LARGE);
    wl[0] = tc_wire_encode(&w, buf, sizeof(buf));
    sample(&w, TC_WIRE_WELCOME, SMALL);
    wl[1] = tc_wire_encode(&w, buf, sizeof(buf));
    sample(&w, TC_WIRE_REJECT, SMALL);
    wl[2] = tc_wire_encode(&w, buf, sizeof(buf));
    sample(&w, TC_WIRE_REPARENT, SMALL);
    wl[3] = tc_wire_encode(&w, buf, sizeof(buf));
    assert_int_equal(wl[0], TC_WIRE_WELCOME_LEN);
    assert_int_equal(wl[1], TC_WIRE_WELCOME_LEN);
    for (nruns = 0; nruns <= TC_WIRE_JOIN_RUNS_MAX; nruns++) {
        int v, jl;

        for (v = SMALL; v <= LARGE; v++) {
            sample(&j, TC_WIRE_JOIN, v);
            j.u.join.nruns = (uint16_t)nruns;
            for (i = 0; i < (int)nruns; i++) {
                j.u.join.runs[i].first = (uint32_t)i * 3;
                j.u.join.runs[i].count = 1;
            }
            jl = tc_wire_encode(&j, buf, sizeof(buf));
            assert_true(jl >= TC_WIRE_JOIN_MIN_LEN);
            assert_int_equal(jl, nruns <= 8 ? 256 : 188 + 8 * (int)nruns);
            for (i = 0; i < 3; i++)
                assert_true(wl[i] <= jl);
        }
    }
    /* a JOIN cut back to the WELCOME's length is refused, so no short JOIN is answered */
    sample(&j, TC_WIRE_JOIN, SMALL);
    enc(&j);
    assert_int_equal(tc_wire_decode(buf, TC_WIRE_WELCOME_LEN, &w), -EBADMSG);
    /* REPARENT answers REPARENT_REQ, DONE_ACK answers DONE */
    sample(&w, TC_WIRE_REPARENT_REQ, SMALL);
    assert_true(wl[3] <= tc_wire_encode(&w, buf, sizeof(buf)));
    sample(&w, TC_WIRE_DONE, SMALL);
    i = tc_wire_encode(&w, buf, sizeof(buf));
    sample(&w, TC_WIRE_DONE_ACK, SMALL);
    assert_true(tc_wire_encode(&w, buf, sizeof(buf)) <= i);
}

static void test_mtu_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(tc_wire_data_payload_max(1500), 1432);
    assert_int_equal(tc_wire_data_payload_max(9000), 8932);
    assert_int_equal(tc_wire_data_payload_max(1280), 1212);
    assert_int_equal(tc_wire_data_payload_max(1279), 0);
    assert_int_equal(tc_wire_data_payload_max(9001), 0);
    assert_int_equal(tc_wire_block_len(1500, 1432), 1432);
    assert_int_equal(tc_wire_block_len(9000, 1432), 6 * 1432);
    assert_int_equal(tc_wire_block_len(9000, 8932), 8932);
    assert_int_equal(tc_wire_block_len(1500, 8932), 0);
    assert_int_equal(tc_wire_block_len(1500, 512), 1024);
    assert_int_equal(tc_wire_block_len(1500, 511), 0);
    /* a full block at either MTU is exactly one datagram of at most the MTU */
    assert_int_equal(TC_WIRE_IPV4_HDR_LEN + TC_WIRE_UDP_HDR_LEN + TC_WIRE_HDR_LEN +
                         TC_WIRE_DATA_HDR_LEN + TC_WIRE_DATA_PAYLOAD_9000,
                     9000);
}

/* A block read straight into the datagram buffer is encoded in place. */
static void test_data_in_place(void **state)
{
    struct tc_wire_msg m, d;
    uint8_t guard[8];
    int n;

    (void)state;
    sample(&m, TC_WIRE_DATA, LARGE);
    memcpy(buf + 40, payload, TC_WIRE_DATA_PAYLOAD_MAX);
    m.u.data.payload = buf + 40;
    n = tc_wire_encode(&m, buf, sizeof(buf));
    assert_int_equal(n, 40 + TC_WIRE_DATA_PAYLOAD_MAX);
    assert_int_equal(tc_wire_decode(buf, (size_t)n, &d), 0);
    assert_true(d.u.data.payload == buf + 40);
    assert_memory_equal(d.u.data.payload, payload, TC_WIRE_DATA_PAYLOAD_MAX);
    /* too small a buffer: -ENOBUFS and nothing written */
    memset(buf2, 0xee, sizeof(guard) + 100);
    memset(guard, 0xee, sizeof(guard));
    sample(&m, TC_WIRE_DATA, SMALL);
    assert_int_equal(tc_wire_encode(&m, buf2, 40), -ENOBUFS);
    assert_memory_equal(buf2, guard, sizeof(guard));
    sample(&m, TC_WIRE_JOIN, LARGE);
    assert_int_equal(tc_wire_encode(&m, buf2, 1211), -ENOBUFS);
    assert_int_equal(tc_wire_encode(&m, buf2, 1212), 1212);
    sample(&m, TC_WIRE_DATA, SMALL);
    m.u.data.payload = NULL;
    assert_int_equal(tc_wire_encode(&m, buf2, sizeof(buf2)), -EINVAL);
}

/* Flipping any one bit of a valid datagram either is refused or decodes to a
 * message that re-encodes to exactly the flipped bytes (nothing is ignored). */
static void test_bit_flips(void **state)
{
    struct tc_wire_msg m, d;
    unsigned type;
    int v;

    (void)state;
    for (type = 1; type <= TC_WIRE_TYPE_MAX; type++) {
        for (v = SMALL; v <= LARGE; v++) {
            size_t n, bit;

            sample(&m, type, v);
            n = enc(&m);
            if (n > 1300)
                n = 1300; /* DATA's payload bits are all equally uninteresting */
            for (bit = 0; bit < n * 8; bit++) {
                size_t len;
                int rc;

                sample(&m, type, v);
                len = enc(&m);
                buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                rc = tc_wire_decode(buf, len, &d);
                if (rc != 0) {
                    assert_true(rc == -EBADMSG || rc == -E2BIG || rc == -EPROTO);
                    continue;
                }
                memcpy(buf2, buf, len);
                assert_int_equal(tc_wire_encode(&d, buf2, sizeof(buf2)), (int)len);
                /* DATA payload points into buf; encoding into buf2 copies it */
                assert_memory_equal(buf2, buf, len);
            }
        }
    }
}

static void test_report_merge(void **state)
{
    struct tc_wire_report_entry a = {
        .object = TC_WIRE_OBJ_CHUNK, .index = 3, .max_missing = 2, .hist = {5, 0, 0}};
    struct tc_wire_report_entry b = {
        .object = TC_WIRE_OBJ_CHUNK, .index = 3, .max_missing = 40, .hist = {65000, 1, 1}};

    (void)state;
    assert_int_equal(tc_wire_report_bucket(1), 0);
    assert_int_equal(tc_wire_report_bucket(3), 0);
    assert_int_equal(tc_wire_report_bucket(4), 1);
    assert_int_equal(tc_wire_report_bucket(31), 1);
    assert_int_equal(tc_wire_report_bucket(32), 2);
    assert_int_equal(tc_wire_report_bucket(65535), 2);
    tc_wire_report_merge(&a, &b);
    assert_int_equal(a.max_missing, 40);
    assert_int_equal(a.hist[0], 65005);
    assert_int_equal(a.hist[1], 1);
    tc_wire_report_merge(&a, &b);
    assert_int_equal(a.hist[0], 65535); /* saturates */
    assert_int_equal(a.hist[2], 2);
}

static void test_escape(void **state)
{
    static const uint8_t evil[] = "ok \"q\" \\ \x1b[2J\n\x7f\xff";
    char out[64];
    size_t n;

    (void)state;
    n = tc_wire_escape(out, sizeof(out), evil, sizeof(evil) - 1);
    assert_string_equal(out, "ok \\\"q\\\" \\\\ \\x1b[2J\\x0a\\x7f\\xff");
    assert_int_equal(n, strlen(out));
    /* never cuts an escape in half, always terminates */
    n = tc_wire_escape(out, 6, (const uint8_t *)"ab\x01", 3);
    assert_string_equal(out, "ab");
    assert_int_equal(n, 2);
    n = tc_wire_escape(out, 1, (const uint8_t *)"ab", 2);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all),
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_magic_version_type_flags),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_field_rules),
        cmocka_unit_test(test_welcome_not_larger_than_join),
        cmocka_unit_test(test_mtu_arithmetic),
        cmocka_unit_test(test_data_in_place),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_report_merge),
        cmocka_unit_test(test_escape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
