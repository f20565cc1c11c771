// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_wire_decode(). Arbitrary bytes are decoded as a datagram,
 * and, since the first byte after the magic and version names the type, also
 * with every type byte in turn (so each body decoder sees every input, not
 * only the few that name its type). Whatever decodes must re-encode to
 * exactly the same bytes: the format has one encoding per message.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Buffers of the largest datagram, allocated once (the sanitizers see overruns). */
static uint8_t in[TC_WIRE_DGRAM_MAX + 64];
static uint8_t out[TC_WIRE_DGRAM_MAX + 64];

/** decode_check - decode len bytes of in; if they decode, re-encode and compare. */
static void decode_check(size_t len)
{
    struct tc_wire_msg m;
    struct tc_wire_hdr h;
    char text[4 * TC_WIRE_LOG_TEXT_MAX + 1];
    int rc, hrc, n;

    hrc = tc_wire_decode_hdr(in, len, &h);
    rc = tc_wire_decode(in, len, &m);
    assert(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -EPROTO);
    /* the header decoder never accepts less than the full decoder */
    assert(rc == -EBADMSG || rc == -E2BIG || rc == hrc);
    if (rc != 0)
        return;
    assert(len <= TC_WIRE_DGRAM_MAX);
    if (m.hdr.type == TC_WIRE_DATA) {
        assert(m.u.data.payload == in + TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN);
        assert(TC_WIRE_HDR_LEN + TC_WIRE_DATA_HDR_LEN + (size_t)m.u.data.len == len);
    }
    if (m.hdr.type == TC_WIRE_LOG) {
        size_t t = tc_wire_escape(text, sizeof(text), m.u.log.text, m.u.log.text_len);
        size_t i;

        assert(t == strlen(text));
        for (i = 0; i < t; i++)
            assert(text[i] >= 0x20 && text[i] < 0x7f);
    }
    n = tc_wire_encode(&m, out, sizeof(out));
    assert(n >= 0 && (size_t)n == len);
    assert(memcmp(out, in, len) == 0);
    /* one byte short of room is refused without writing */
    assert(tc_wire_encode(&m, out, len - 1) == -ENOBUFS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned type;

    if (size > TC_WIRE_DGRAM_MAX + 32)
        size = TC_WIRE_DGRAM_MAX + 32;
    memcpy(in, data, size);
    decode_check(size);
    /* the same bytes as every type, behind a valid magic and version */
    if (size < TC_WIRE_HDR_LEN)
        return 0;
    tc_put_be32(in, TC_WIRE_MAGIC);
    in[4] = TC_WIRE_VERSION;
    for (type = 1; type <= TC_WIRE_TYPE_MAX; type++) {
        in[5] = (uint8_t)type;
        decode_check(size);
    }
    return 0;
}
