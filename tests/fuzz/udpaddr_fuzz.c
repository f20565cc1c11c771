// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_udp_parse_peer() (os/udp.c) on arbitrary strings, the
 * parser of every "A.B.C.D[:PORT]" an operator or a kernel command line
 * gives. An accepted string must print back (tc_udp_peer_str()) to a string
 * that parses to the same address and port.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Longest input tried, bytes. */
#define INPUT_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_proto_peer p = {0, 4711}, q = {0, 1};
    char s[INPUT_MAX + 1], back[32];

    if (size > INPUT_MAX)
        size = INPUT_MAX;
    memcpy(s, data, size);
    s[size] = '\0';
    if (tc_udp_parse_peer(s, &p) != 0)
        return 0;
    assert(p.port != 0);
    tc_udp_peer_str(back, sizeof(back), p);
    assert(tc_udp_parse_peer(back, &q) == 0);
    assert(q.addr == p.addr && q.port == p.port);
    return 0;
}
