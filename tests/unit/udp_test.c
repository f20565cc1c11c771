// SPDX-License-Identifier: MIT
/* Unit tests for os/udp.c: addresses, errors, and batches over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "treecast/udp.h"

/** 127.0.0.1, host order. */
#define LOOPBACK 0x7F000001u

static void test_parse_peer(void **state)
{
    struct tc_proto_peer p = {0, 4711};
    char buf[32];

    (void)state;
    assert_int_equal(tc_udp_parse_peer("198.18.0.1", &p), 0);
    assert_int_equal(p.addr, 0xC6120001u);
    assert_int_equal(p.port, 4711); /* kept */
    assert_int_equal(tc_udp_parse_peer("239.77.0.1:5000", &p), 0);
    assert_int_equal(p.addr, 0xEF4D0001u);
    assert_int_equal(p.port, 5000);
    assert_string_equal(tc_udp_peer_str(buf, sizeof(buf), p), "239.77.0.1:5000");
    assert_int_equal(tc_udp_parse_peer("256.1.1.1", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("1.2.3", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("1.2.3.4:", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("1.2.3.4:0", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("1.2.3.4:65536", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("1.2.3.4x", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("0001.2.3.4", &p), -EINVAL);
    assert_int_equal(tc_udp_parse_peer("", &p), -EINVAL);
}

static void test_missing_iface(void **state)
{
    struct tc_udp_opts o = {.iface = "tcnosuch0"};
    struct tc_udp *u = (struct tc_udp *)1;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_udp_open(&u, &o, &e), -ENODEV);
    assert_null(u);
    assert_string_equal(e.msg, "no interface named tcnosuch0");
}

static void test_port_in_use(void **state)
{
    struct tc_udp_opts o = {.iface = "lo", .bind_addr = LOOPBACK};
    struct tc_udp *a, *b;
    struct tc_err e = {0};
    char want[64];

    (void)state;
    assert_int_equal(tc_udp_open(&a, &o, &e), 0);
    o.port = tc_udp_port(a);
    assert_true(o.port != 0);
    assert_int_equal(tc_udp_open(&b, &o, &e), -EADDRINUSE);
    snprintf(want, sizeof(want), "UDP 127.0.0.1:%u is in use by another program", o.port);
    assert_string_equal(e.msg, want);
    tc_udp_close(a);
}

static void test_no_multicast_on_lo(void **state)
{
    struct tc_udp_opts o = {.iface = "lo", .bind_addr = LOOPBACK};
    struct tc_udp_iface ifc;
    struct tc_udp *u;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_udp_iface("lo", &ifc, &e), 0);
    assert_int_equal(ifc.addr, LOOPBACK);
    assert_int_equal(ifc.prefix, 8);
    assert_int_equal(tc_udp_open(&u, &o, &e), 0);
    assert_int_equal(tc_udp_check_route(u, 0xC6120001u, &e), -EINVAL);
    assert_string_equal(e.msg, "198.18.0.1 is not a multicast address (224.0.0.0/4)");
    if (!ifc.multicast) {
        tc_err_clear(&e);
        assert_int_equal(tc_udp_check_route(u, TC_PROTO_GROUP_DEFAULT, &e), -ENETUNREACH);
        assert_non_null(strstr(e.msg, "interface lo does not do multicast"));
    }
    tc_udp_close(u);
}

/* A batch of 100 datagrams of distinct sizes and contents to ourselves: every
 * one arrives once, intact, with its sender and destination. */
static void test_batch_roundtrip(void **state)
{
    struct tc_udp_opts o = {.iface = "lo", .bind_addr = LOOPBACK};
    struct tc_proto_dgram d[100];
    static uint8_t bufs[100][1500];
    struct tc_udp_rx rx[TC_UDP_RX_BATCH_MAX];
    struct tc_udp *tx, *rcv;
    struct tc_err e = {0};
    struct pollfd pfd;
    unsigned seen[100] = {0}, got = 0, i;
    int n, k;

    (void)state;
    assert_int_equal(tc_udp_open(&rcv, &o, &e), 0);
    assert_int_equal(tc_udp_open(&tx, &o, &e), 0);
    for (i = 0; i < 100; i++) {
        memset(bufs[i], (int)i, sizeof(bufs[i]));
        d[i].to = (struct tc_proto_peer){LOOPBACK, tc_udp_port(rcv)};
        d[i].buf = bufs[i];
        d[i].len = 100 + i * 10;
    }
    assert_int_equal(tc_udp_send(tx, d, 100), 100);
    assert_int_equal(tc_udp_stats(tx)->tx_dgrams, 100);
    assert_int_equal(tc_udp_stats(tx)->tx_wire_bytes,
                     tc_udp_stats(tx)->tx_bytes + 100 * TC_PROTO_WIRE_OVERHEAD);
    while (got < 100) {
        pfd.fd = tc_udp_fd(rcv);
        pfd.events = POLLIN;
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        n = tc_udp_recv(rcv, rx, TC_UDP_RX_BATCH_MAX);
        assert_true(n > 0);
        for (k = 0; k < n; k++) {
            i = rx[k].buf[0];
            assert_true(i < 100);
            assert_int_equal(rx[k].len, 100 + i * 10);
            assert_int_equal(rx[k].buf[rx[k].len - 1], i);
            assert_int_equal(rx[k].from.addr, LOOPBACK);
            assert_int_equal(rx[k].from.port, tc_udp_port(tx));
            assert_int_equal(rx[k].to_addr, LOOPBACK);
            seen[i]++;
            got++;
        }
    }
    for (i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(tc_udp_recv(rcv, rx, TC_UDP_RX_BATCH_MAX), 0);
    assert_int_equal(tc_udp_stats(rcv)->rx_dgrams, 100);
    tc_udp_close(tx);
    tc_udp_close(rcv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_peer),      cmocka_unit_test(test_missing_iface),
        cmocka_unit_test(test_port_in_use),     cmocka_unit_test(test_no_multicast_on_lo),
        cmocka_unit_test(test_batch_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
