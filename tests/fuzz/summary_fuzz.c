// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_summary_decode() on arbitrary bytes, and tc_summary_encode()
 * on arbitrary bitmaps.
 *
 * Input: bytes 0..2 give chunk_count (24 bits, modulo TC_SUMMARY_CHUNKS_MAX +
 * 1), byte 3 an encoding budget (x 8 bytes); the rest is a summary to decode.
 * A summary that decodes must encode back to exactly the same bytes (the
 * decoder accepts only the canonical form), claiming the same chunks. The
 * rest is also taken as a bitmap and encoded within the budget: the result
 * must fit, decode, and claim only chunks the bitmap holds (never more).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** True if every chunk set in claim is set in held (n chunks). */
static int subset(const uint8_t *claim, const uint8_t *held, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if ((claim[i / 8] >> (i % 8) & 1) && !(held[i / 8] >> (i % 8) & 1))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[TC_SUMMARY_BYTES_MAX], *bm, *back, *held;
    uint32_t n, claimed, claimed2, nbits;
    size_t len, budget, body_len, bm_len;
    struct tc_err err = {0};
    const uint8_t *body;
    int rc;

    if (size < 4)
        return 0;
    n = ((uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2]) % (TC_SUMMARY_CHUNKS_MAX + 1);
    budget = (size_t)data[3] * 8;
    body = data + 4;
    body_len = size - 4;
    bm_len = tc_summary_bitmap_len(n);
    bm = malloc(bm_len + 1);
    back = malloc(bm_len + 1);
    assert(bm && back);

    rc = tc_summary_decode(body, body_len, n, bm, &claimed, &err);
    assert(rc == 0 || (rc < 0 && err.msg[0] != '\0'));
    if (rc == 0) {
        assert(tc_summary_encode(bm, n, out, sizeof(out), &len, &claimed2, NULL) == 0);
        assert(len == body_len && memcmp(out, body, len) == 0);
        assert(claimed2 == claimed);
    }

    /* the body as a bitmap, encoded within the budget */
    nbits = body_len * 8 < n ? (uint32_t)body_len * 8 : n;
    held = calloc(1, tc_summary_bitmap_len(nbits) + 1);
    assert(held);
    memcpy(held, body, tc_summary_bitmap_len(nbits));
    assert(tc_summary_encode(held, nbits, out, budget, &len, &claimed, NULL) == 0);
    assert(len <= budget && len <= TC_SUMMARY_BYTES_MAX);
    assert(tc_summary_decode(out, len, nbits, back, &claimed2, NULL) == 0);
    assert(claimed2 == claimed);
    assert(subset(back, held, nbits));
    free(held);
    free(bm);
    free(back);
    return 0;
}
