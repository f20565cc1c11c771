// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_seedstate_decode(). Arbitrary bytes are decoded as a
 * seeder state file, and then again with a correct trailing digest put in
 * (so that the field checks behind the digest see every input, not only the
 * few whose SHA-256 happens to match). Whatever decodes must re-encode to
 * exactly the same bytes, must be refused when the node table is one record
 * too small, and must not fit one byte short of its length.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "treecast/seedstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Longest input looked at: the largest state plus some trailing bytes. */
#define FUZZ_INPUT_MAX (TC_SEEDSTATE_LEN(TC_SEEDSTATE_NODES_MAX) + 64)

/** Buffers allocated once (the sanitizers see overruns of the static arrays). */
static uint8_t in[FUZZ_INPUT_MAX];
static uint8_t out[FUZZ_INPUT_MAX];
static struct tc_seedstate_node nodes[TC_SEEDSTATE_NODES_MAX];

/** decode_check - decode len bytes of in; if they decode, check the encoder against them. */
static void decode_check(size_t len)
{
    struct tc_seedstate st;
    struct tc_err err;
    long n;
    int rc;

    tc_err_clear(&err);
    rc = tc_seedstate_decode(in, len, &st, nodes, TC_SEEDSTATE_NODES_MAX, &err);
    assert(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -EPROTO);
    if (rc != 0) {
        assert(err.rc == rc && err.msg[0] != '\0');
        return;
    }
    assert(err.msg[0] == '\0');
    assert(len == TC_SEEDSTATE_LEN(st.nnodes));
    assert(st.nodes == nodes && st.session_id != 0 && st.epoch >= 1);
    n = tc_seedstate_encode(&st, out, sizeof(out));
    assert(n >= 0 && (size_t)n == len);
    assert(memcmp(out, in, len) == 0);
    /* one byte short of room is refused */
    assert(tc_seedstate_encode(&st, out, len - 1) == -ENOBUFS);
    /* one record short of room is refused */
    if (st.nnodes > 0)
        assert(tc_seedstate_decode(in, len, &st, nodes, st.nnodes - 1, NULL) == -E2BIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_INPUT_MAX)
        size = FUZZ_INPUT_MAX;
    memcpy(in, data, size);
    decode_check(size);
    /* the same bytes with the digest they should carry */
    if (size < TC_SEEDSTATE_LEN(0))
        return 0;
    tc_sha256(in, size - TC_SHA256_LEN, in + size - TC_SHA256_LEN);
    decode_check(size);
    return 0;
}
