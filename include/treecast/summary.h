/* SPDX-License-Identifier: MIT */
/*
 * The compact summary of the chunks a node already holds, sent in JOIN so
 * that a resuming node is not sent what it has (docs/protocol-core.md).
 *
 * Bitmaps: bit i (byte i / 8, bit i % 8, least significant first) is set
 * when chunk i is held; bits at and beyond chunk_count are ignored on input
 * and cleared on output.
 *
 * Encoding: pairs (gap, run) of unsigned LEB128 varints (7 bits per byte,
 * least significant group first, high bit = more follows; at most 5 bytes,
 * minimal: a multi-byte varint does not end in a zero byte). gap = chunks
 * not claimed before the run (the first gap counts from chunk 0 and may be
 * 0; later gaps are >= 1), run = chunks claimed (>= 1); gaps and runs add up
 * to at most chunk_count, the chunks after the last run are not claimed. An
 * empty summary claims nothing. The decoder accepts only this canonical
 * form, so decoding and encoding again gives the same bytes.
 *
 * Bounded size: when the exact summary would not fit (out_max, at most
 * TC_SUMMARY_BYTES_MAX), the encoder claims only the held runs of at least
 * T chunks, for the least T that fits: the shortest runs are dropped first.
 * A node may so claim FEWER chunks than it holds (they are sent again),
 * never more.
 */
#ifndef TREECAST_SUMMARY_H
#define TREECAST_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/manifest.h"

/** Largest encoded summary, bytes (fits a JOIN at MTU 1500 beside its fixed fields). */
#define TC_SUMMARY_BYTES_MAX 1024u
/** Most chunks a summary describes (the manifest's limit), chunks. */
#define TC_SUMMARY_CHUNKS_MAX TC_MANIFEST_CHUNKS_MAX
/** Longest varint, bytes (32-bit values). */
#define TC_SUMMARY_VARINT_MAX 5u

/** One run of claimed chunks, for wire formats that carry runs rather than bytes. */
struct tc_summary_run {
    uint32_t first; /**< first chunk index of the run */
    uint32_t count; /**< chunks in the run, >= 1 */
};

size_t tc_summary_bitmap_len(uint32_t chunk_count);
int tc_summary_encode(const uint8_t *bitmap, uint32_t chunk_count, uint8_t *out, size_t out_max,
                      size_t *out_len, uint32_t *claimed, struct tc_err *err);
int tc_summary_decode(const uint8_t *buf, size_t len, uint32_t chunk_count, uint8_t *bitmap,
                      uint32_t *claimed, struct tc_err *err);
int tc_summary_runs(const uint8_t *bitmap, uint32_t chunk_count, struct tc_summary_run *runs,
                    uint32_t runs_max, uint32_t *nruns, uint32_t *claimed, struct tc_err *err);

#endif /* TREECAST_SUMMARY_H */
