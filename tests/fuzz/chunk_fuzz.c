// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_chunk_decode() on DEFLATE and RAW input.
 *
 * Input: byte 0 selects the encoding (low bit: RAW or DEFLATE) and whether
 * the reusable decoder is used (bit 1); bytes 1..3 give raw_len - 1 (24 bits,
 * capped at 1 MiB); the rest is the stored data. The output buffer is exactly
 * raw_len bytes, so any write past it is caught by ASan. The same input goes
 * through tc_chunk_decode_no_adler(), which must accept whatever
 * tc_chunk_decode() accepts, with the same bytes. The stored data is also
 * encoded and decoded back as a raw chunk, which must round-trip.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/chunk.h"

/** Largest raw length tried, bytes. */
#define FUZZ_RAW_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_chunk_decoder *d = NULL;
    struct tc_err err = {0};
    enum tc_enc enc;
    uint8_t *raw, *raw2, *stored, *back;
    size_t raw_len, n;
    int rc;

    if (size < 4)
        return 0;
    enc = (data[0] & 1) ? TC_ENC_DEFLATE : TC_ENC_RAW;
    raw_len = ((size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3]) % FUZZ_RAW_MAX + 1;
    raw = malloc(raw_len);
    assert(raw);
    if (data[0] & 2) {
        assert(tc_chunk_decoder_new(&d, NULL) == 0);
        rc = tc_chunk_decoder_decode(d, enc, data + 4, size - 4, raw, raw_len, &err);
        tc_chunk_decoder_free(d);
    } else {
        rc = tc_chunk_decode(enc, data + 4, size - 4, raw, raw_len, &err);
    }
    assert(rc == 0 || err.msg[0] != '\0');
    raw2 = malloc(raw_len);
    assert(raw2);
    tc_err_clear(&err);
    if (tc_chunk_decode_no_adler(enc, data + 4, size - 4, raw2, raw_len, &err) == 0)
        assert(rc != 0 || memcmp(raw, raw2, raw_len) == 0);
    else
        assert(rc != 0 && err.msg[0] != '\0');
    free(raw2);
    free(raw);

    /* encode / decode round trip of the stored bytes taken as a raw chunk */
    if (size > 4) {
        n = size - 4;
        stored = malloc(n);
        back = malloc(n);
        assert(stored && back);
        assert(tc_chunk_encode(data + 4, n, data[0] >> 4 & 7, stored, &enc, &raw_len, NULL) == 0);
        assert(raw_len <= n);
        assert(tc_chunk_decode(enc, stored, raw_len, back, n, NULL) == 0);
        assert(memcmp(back, data + 4, n) == 0);
        free(stored);
        free(back);
    }
    return 0;
}
