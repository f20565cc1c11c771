// SPDX-License-Identifier: MIT
/* Unit tests for lib/seedstate.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/seedstate.h"

/** Largest table the tests encode. */
#define NODES_BIG 1000u
/** Room for the largest encoding plus a margin to catch overruns. */
#define BUF_LEN (TC_SEEDSTATE_LEN(NODES_BIG) + 64)

/* Offsets the tests patch (the format in include/treecast/seedstate.h). */
#define OFF_VERSION 4
#define OFF_RESERVED 6
#define OFF_SESSION 8
#define OFF_EPOCH 16
#define OFF_NNODES 20
#define OFF_IMAGE 24
#define REC_INDEX 0
#define REC_MAC 4
#define REC_STATE 10
#define REC_RESERVED1 11
#define REC_TOKEN 12
#define REC_ADDR 20
#define REC_PORT 24
#define REC_RESERVED2 26

static struct tc_seedstate_node in_nodes[NODES_BIG];
static struct tc_seedstate_node out_nodes[NODES_BIG];
static uint8_t buf[BUF_LEN];
static uint8_t buf2[BUF_LEN];

/**
 * make_state - a valid state of n records drawn from seed: indices with
 * gaps, every node state, unicast locally administered MACs.
 */
static void make_state(struct tc_seedstate *st, uint32_t n, uint64_t seed)
{
    struct tu_prng p;
    uint32_t i;

    assert_true(n <= NODES_BIG);
    tu_prng_seed(&p, seed);
    memset(st, 0, sizeof(*st));
    st->session_id = tu_prng_next(&p) | 1;
    st->epoch = 3;
    tu_prng_fill(&p, st->image_digest, sizeof(st->image_digest));
    st->nnodes = n;
    st->nodes = in_nodes;
    for (i = 0; i < n; i++) {
        struct tc_seedstate_node *nd = &in_nodes[i];

        memset(nd, 0, sizeof(*nd));
        nd->index = i * 3 + (uint32_t)(tu_prng_next(&p) % 3);
        tu_prng_fill(&p, nd->mac, sizeof(nd->mac));
        nd->mac[0] = (uint8_t)((nd->mac[0] & 0xfc) | 0x02); /* unicast, local */
        nd->state = (uint8_t)(TC_SEEDSTATE_ACTIVE + i % 3);
        nd->token = tu_prng_next(&p) | 1;
        nd->addr = 0xc6120000u + i + 1; /* 198.18.x.y */
        nd->port = (uint16_t)(7000 + i);
    }
}

/** encode_ok - encode st into buf; the length must be TC_SEEDSTATE_LEN(nnodes). */
static size_t encode_ok(const struct tc_seedstate *st)
{
    long n;

    n = tc_seedstate_encode(st, buf, sizeof(buf));
    assert_int_equal(n, (long)TC_SEEDSTATE_LEN(st->nnodes));
    return (size_t)n;
}

/** reseal - recompute the trailing digest of the len-byte state in b. */
static void reseal(uint8_t *b, size_t len)
{
    tc_sha256(b, len - TC_SHA256_LEN, b + len - TC_SHA256_LEN);
}

/**
 * refused - decode len bytes of b with nodes_cap records of room; it must
 * fail with rc and a message containing what.
 */
static void refused(const uint8_t *b, size_t len, uint32_t nodes_cap, int rc, const char *what)
{
    struct tc_seedstate st;
    struct tc_err err;

    tc_err_clear(&err);
    assert_int_equal(tc_seedstate_decode(b, len, &st, out_nodes, nodes_cap, &err), rc);
    assert_int_equal(err.rc, rc);
    if (!strstr(err.msg, what))
        fail_msg("message \"%s\" does not name \"%s\"", err.msg, what);
    assert_non_null(strstr(err.msg, "seeder state"));
}

/**
 * refused_count - decode len bytes of b whose nnodes was altered: refused as
 * over a limit (-E2BIG) or as the wrong length for it (-EBADMSG), naming nnodes.
 */
static void refused_count(const uint8_t *b, size_t len)
{
    struct tc_seedstate st;
    struct tc_err err;
    int rc;

    tc_err_clear(&err);
    rc = tc_seedstate_decode(b, len, &st, out_nodes, NODES_BIG, &err);
    assert_true(rc == -E2BIG || rc == -EBADMSG);
    assert_int_equal(err.rc, rc);
    if (!strstr(err.msg, "nnodes is") && !strstr(err.msg, "for nnodes"))
        fail_msg("message \"%s\" does not name nnodes", err.msg);
}

/** rec_at - the start of record i in buf. */
static uint8_t *rec_at(uint32_t i)
{
    return buf + TC_SEEDSTATE_HDR_LEN + (size_t)i * TC_SEEDSTATE_REC_LEN;
}

/** roundtrip - n records: encode, check bytes, decode, compare, re-encode. */
static void roundtrip(uint32_t n)
{
    struct tc_seedstate st, got;
    struct tc_err err;
    uint8_t digest[TC_SHA256_LEN];
    size_t len;
    uint32_t i;
    long len2;

    make_state(&st, n, 100 + n);
    len = encode_ok(&st);
    /* header bytes at their offsets */
    assert_memory_equal(buf, "TCSS", 4);
    assert_int_equal(tc_get_be16(buf + OFF_VERSION), TC_SEEDSTATE_VERSION);
    assert_int_equal(tc_get_be16(buf + OFF_RESERVED), 0);
    assert_true(tc_get_be64(buf + OFF_SESSION) == st.session_id);
    assert_int_equal(tc_get_be32(buf + OFF_EPOCH), 3);
    assert_int_equal(tc_get_be32(buf + OFF_NNODES), n);
    assert_memory_equal(buf + OFF_IMAGE, st.image_digest, TC_SHA256_LEN);
    tc_sha256(buf, len - TC_SHA256_LEN, digest);
    assert_memory_equal(buf + len - TC_SHA256_LEN, digest, TC_SHA256_LEN);
    if (n > 0) {
        uint8_t *r = rec_at(n - 1);

        assert_int_equal(tc_get_be32(r + REC_INDEX), in_nodes[n - 1].index);
        assert_memory_equal(r + REC_MAC, in_nodes[n - 1].mac, 6);
        assert_int_equal(r[REC_STATE], in_nodes[n - 1].state);
        assert_int_equal(r[REC_RESERVED1], 0);
        assert_true(tc_get_be64(r + REC_TOKEN) == in_nodes[n - 1].token);
        assert_int_equal(tc_get_be32(r + REC_ADDR), in_nodes[n - 1].addr);
        assert_int_equal(tc_get_be16(r + REC_PORT), in_nodes[n - 1].port);
        assert_int_equal(tc_get_be16(r + REC_RESERVED2), 0);
    }

    tc_err_clear(&err);
    memset(out_nodes, 0xee, sizeof(out_nodes));
    assert_int_equal(tc_seedstate_decode(buf, len, &got, out_nodes, n, &err), 0);
    assert_string_equal(err.msg, "");
    assert_true(got.session_id == st.session_id);
    assert_int_equal(got.epoch, st.epoch);
    assert_int_equal(got.nnodes, n);
    assert_ptr_equal(got.nodes, out_nodes);
    assert_memory_equal(got.image_digest, st.image_digest, TC_SHA256_LEN);
    for (i = 0; i < n; i++) {
        assert_int_equal(out_nodes[i].index, in_nodes[i].index);
        assert_memory_equal(out_nodes[i].mac, in_nodes[i].mac, 6);
        assert_int_equal(out_nodes[i].state, in_nodes[i].state);
        assert_true(out_nodes[i].token == in_nodes[i].token);
        assert_int_equal(out_nodes[i].addr, in_nodes[i].addr);
        assert_int_equal(out_nodes[i].port, in_nodes[i].port);
    }
    len2 = tc_seedstate_encode(&got, buf2, sizeof(buf2));
    assert_int_equal(len2, (long)len);
    assert_memory_equal(buf2, buf, len);
}

static void test_roundtrip(void **state)
{
    (void)state;
    roundtrip(0);
    roundtrip(1);
    roundtrip(NODES_BIG);
}

/** The smallest state is exactly header + digest, and decodes with no node memory. */
static void test_empty_no_memory(void **state)
{
    struct tc_seedstate st, got;
    size_t len;

    (void)state;
    make_state(&st, 0, 7);
    st.nodes = NULL;
    len = encode_ok(&st);
    assert_int_equal(len, TC_SEEDSTATE_HDR_LEN + TC_SHA256_LEN);
    assert_int_equal(tc_seedstate_decode(buf, len, &got, NULL, 0, NULL), 0);
    assert_int_equal(got.nnodes, 0);
}

static void test_magic_version(void **state)
{
    struct tc_seedstate st;
    size_t len;

    (void)state;
    make_state(&st, 2, 1);
    len = encode_ok(&st);
    buf[3] = 'X';
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "magic is 0x54435358");

    len = encode_ok(&st);
    tc_put_be16(buf + OFF_VERSION, 2);
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EPROTO, "version 2");
    tc_put_be16(buf + OFF_VERSION, 0);
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EPROTO, "version 0");
}

static void test_truncated_trailing(void **state)
{
    struct tc_seedstate st;
    size_t len, cut;

    (void)state;
    make_state(&st, 3, 2);
    len = encode_ok(&st);
    for (cut = 0; cut < len; cut++)
        refused(buf, cut, NODES_BIG, -EBADMSG, "truncated");
    buf[len] = 0;
    refused(buf, len + 1, NODES_BIG, -EBADMSG, "1 trailing bytes");
    /* a valid state of fewer records followed by garbage is still refused */
    tc_put_be32(buf + OFF_NNODES, 2);
    reseal(buf, TC_SEEDSTATE_LEN(2));
    refused(buf, len, NODES_BIG, -EBADMSG, "28 trailing bytes");
}

static void test_reserved(void **state)
{
    struct tc_seedstate st;
    size_t len;

    (void)state;
    make_state(&st, 2, 3);
    len = encode_ok(&st);
    buf[OFF_RESERVED + 1] = 1;
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "header reserved bytes are 0x0001");

    len = encode_ok(&st);
    rec_at(1)[REC_RESERVED1] = 0x80;
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "node record 1");
    refused(buf, len, NODES_BIG, -EBADMSG, "reserved bytes 0x80/0x0000");

    len = encode_ok(&st);
    rec_at(0)[REC_RESERVED2] = 0x01;
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "reserved bytes 0x00/0x0100");
}

static void test_header_fields(void **state)
{
    struct tc_seedstate st;
    size_t len;

    (void)state;
    make_state(&st, 1, 4);
    len = encode_ok(&st);
    tc_put_be64(buf + OFF_SESSION, 0);
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "session_id is 0");

    len = encode_ok(&st);
    tc_put_be32(buf + OFF_EPOCH, 0);
    reseal(buf, len);
    refused(buf, len, NODES_BIG, -EBADMSG, "epoch is 0");
}

/** patched - encode the 3-record sample, let fn alter record 1, reseal. */
static size_t patched(void (*fn)(uint8_t *rec))
{
    struct tc_seedstate st;
    size_t len;

    make_state(&st, 3, 5);
    len = encode_ok(&st);
    fn(rec_at(1));
    reseal(buf, len);
    return len;
}

static void set_state0(uint8_t *r)
{
    r[REC_STATE] = 0;
}

static void set_state4(uint8_t *r)
{
    r[REC_STATE] = 4;
}

static void set_token0(uint8_t *r)
{
    tc_put_be64(r + REC_TOKEN, 0);
}

static void set_mac_mcast(uint8_t *r)
{
    static const uint8_t mac[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};

    memcpy(r + REC_MAC, mac, 6);
}

static void set_mac_bcast(uint8_t *r)
{
    memset(r + REC_MAC, 0xff, 6);
}

static void set_mac_zero(uint8_t *r)
{
    memset(r + REC_MAC, 0, 6);
}

static void set_addr0(uint8_t *r)
{
    tc_put_be32(r + REC_ADDR, 0);
}

static void set_port0(uint8_t *r)
{
    tc_put_be16(r + REC_PORT, 0);
}

static void set_index_dup(uint8_t *r)
{
    /* the same index as record 0 */
    tc_put_be32(r + REC_INDEX, tc_get_be32(r - TC_SEEDSTATE_REC_LEN + REC_INDEX));
}

static void set_index_down(uint8_t *r)
{
    tc_put_be32(r + REC_INDEX, tc_get_be32(r - TC_SEEDSTATE_REC_LEN + REC_INDEX) - 1);
}

static void set_index_max(uint8_t *r)
{
    tc_put_be32(r + REC_INDEX, TC_SEEDSTATE_NODES_MAX);
}

static void test_record_fields(void **state)
{
    size_t len;

    (void)state;
    len = patched(set_state0);
    refused(buf, len, NODES_BIG, -EBADMSG, "node record 1");
    refused(buf, len, NODES_BIG, -EBADMSG, "state 0, expected 1");
    len = patched(set_state4);
    refused(buf, len, NODES_BIG, -EBADMSG, "state 4, expected 1");
    len = patched(set_token0);
    refused(buf, len, NODES_BIG, -EBADMSG, "token is 0");
    len = patched(set_mac_mcast);
    refused(buf, len, NODES_BIG, -EBADMSG, "MAC 01:00:5e:01:02:03 is multicast");
    len = patched(set_mac_bcast);
    refused(buf, len, NODES_BIG, -EBADMSG, "MAC ff:ff:ff:ff:ff:ff is multicast");
    len = patched(set_mac_zero);
    refused(buf, len, NODES_BIG, -EBADMSG, "MAC is all zero");
    len = patched(set_addr0);
    refused(buf, len, NODES_BIG, -EBADMSG, "addr is 0.0.0.0");
    len = patched(set_port0);
    refused(buf, len, NODES_BIG, -EBADMSG, "port is 0");
    len = patched(set_index_dup);
    refused(buf, len, NODES_BIG, -EBADMSG, "strictly increasing");
    len = patched(set_index_down);
    refused(buf, len, NODES_BIG, -EBADMSG, "strictly increasing");
    len = patched(set_index_max);
    refused(buf, len, NODES_BIG, -EBADMSG, "index 65535, expected below 65535");
}

static void test_nnodes_limits(void **state)
{
    struct tc_seedstate st;
    size_t len;

    (void)state;
    make_state(&st, 5, 6);
    len = encode_ok(&st);
    /* one record more than the caller has room for */
    refused(buf, len, 4, -E2BIG, "nnodes is 5, the node table holds 4");
    refused(buf, len, 0, -E2BIG, "nnodes is 5, the node table holds 0");
    /* exactly enough room */
    assert_int_equal(tc_seedstate_decode(buf, len, &st, out_nodes, 5, NULL), 0);
    /* over the format's limit, whatever the room */
    tc_put_be32(buf + OFF_NNODES, TC_SEEDSTATE_NODES_MAX + 1);
    reseal(buf, len);
    refused(buf, len, UINT32_MAX, -E2BIG, "nnodes is 65536, limit 65535");
    tc_put_be32(buf + OFF_NNODES, UINT32_MAX);
    refused(buf, len, UINT32_MAX, -E2BIG, "limit 65535");
}

/** Flipping any bit of any byte is refused; outside the framing fields as a digest mismatch. */
static void test_every_byte_flipped(void **state)
{
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    struct tc_seedstate st;
    size_t len, i, f;

    (void)state;
    make_state(&st, 2, 8);
    len = encode_ok(&st);
    memcpy(buf2, buf, len);
    for (i = 0; i < len; i++) {
        for (f = 0; f < sizeof(flips); f++) {
            memcpy(buf, buf2, len);
            buf[i] ^= flips[f];
            if (i < OFF_VERSION)
                refused(buf, len, NODES_BIG, -EBADMSG, "magic");
            else if (i < OFF_RESERVED)
                refused(buf, len, NODES_BIG, -EPROTO, "version");
            else if (i < OFF_SESSION)
                refused(buf, len, NODES_BIG, -EBADMSG, "header reserved");
            else if (i >= OFF_NNODES && i < OFF_IMAGE)
                refused_count(buf, len);
            else
                refused(buf, len, NODES_BIG, -EBADMSG, "the file is torn or altered");
        }
    }
    /* unchanged, it still decodes */
    assert_int_equal(tc_seedstate_decode(buf2, len, &st, out_nodes, NODES_BIG, NULL), 0);
}

static void test_encode_nobufs(void **state)
{
    struct tc_seedstate st;
    size_t len, i;

    (void)state;
    make_state(&st, 10, 9);
    len = TC_SEEDSTATE_LEN(10);
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(tc_seedstate_encode(&st, buf, len - 1), -ENOBUFS);
    assert_int_equal(tc_seedstate_encode(&st, buf, 0), -ENOBUFS);
    for (i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xaa); /* nothing written */
    assert_int_equal(tc_seedstate_encode(&st, buf, len), (long)len);
}

/** The encoder refuses what the decoder would refuse, with -EINVAL, and writes nothing. */
static void test_encode_invalid(void **state)
{
    struct tc_seedstate st;
    size_t i;
    int k;

    (void)state;
    for (k = 0; k < 12; k++) {
        make_state(&st, 3, 10);
        switch (k) {
        case 0:
            st.session_id = 0;
            break;
        case 1:
            st.epoch = 0;
            break;
        case 2:
            st.nnodes = TC_SEEDSTATE_NODES_MAX + 1;
            break;
        case 3:
            in_nodes[2].state = 0;
            break;
        case 4:
            in_nodes[2].state = 4;
            break;
        case 5:
            in_nodes[1].token = 0;
            break;
        case 6:
            in_nodes[1].mac[0] |= 1;
            break;
        case 7:
            memset(in_nodes[0].mac, 0, 6);
            break;
        case 8:
            in_nodes[0].addr = 0;
            break;
        case 9:
            in_nodes[0].port = 0;
            break;
        case 10:
            in_nodes[2].index = in_nodes[1].index;
            break;
        default:
            st.nodes = NULL;
            break;
        }
        memset(buf, 0xaa, sizeof(buf));
        if (tc_seedstate_encode(&st, buf, sizeof(buf)) != -EINVAL)
            fail_msg("case %d not refused", k);
        for (i = 0; i < TC_SEEDSTATE_LEN(3); i++)
            assert_int_equal(buf[i], 0xaa);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),          cmocka_unit_test(test_empty_no_memory),
        cmocka_unit_test(test_magic_version),      cmocka_unit_test(test_truncated_trailing),
        cmocka_unit_test(test_reserved),           cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_record_fields),      cmocka_unit_test(test_nnodes_limits),
        cmocka_unit_test(test_every_byte_flipped), cmocka_unit_test(test_encode_nobufs),
        cmocka_unit_test(test_encode_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
