// SPDX-License-Identifier: MIT
/*
 * Run-length summary of held chunks: encoder with bounded output (coarsened
 * by dropping the shortest held runs) and a strict, canonical-only decoder.
 * See include/treecast/summary.h for the format.
 *
 * Cost: the encoder walks the bitmap's runs once per step of a binary search
 * over the run-length threshold (at most 21 steps for 2^20 chunks), skipping
 * all-zero and all-one bytes; nothing is allocated.
 */
#include <string.h>

#include "treecast/summary.h"

/** Bits per varint byte. */
#define VARINT_BITS 7u
/** Continuation flag of a varint byte. */
#define VARINT_MORE 0x80u

/** Cost model of an encoding: bytes (varints) or runs. */
enum cost {
    COST_BYTES, /**< the byte encoding */
    COST_RUNS,  /**< one unit per run */
};

/** Bytes of a varint holding v. */
static size_t varint_len(uint32_t v)
{
    size_t n = 1;

    while (v >= VARINT_MORE) {
        v >>= VARINT_BITS;
        n++;
    }
    return n;
}

/** Write v as a varint at out (room checked by the caller); returns the bytes written. */
static size_t varint_put(uint8_t *out, uint32_t v)
{
    size_t n = 0;

    while (v >= VARINT_MORE) {
        out[n++] = (uint8_t)(v | VARINT_MORE);
        v >>= VARINT_BITS;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/** Bit i of bitmap. */
static int bit_get(const uint8_t *bm, uint32_t i)
{
    return bm[i / 8] >> (i % 8) & 1;
}

/**
 * The first index >= pos (and < n) whose bit equals want, or n. Whole bytes
 * of the other value are skipped at once.
 */
static uint32_t scan(const uint8_t *bm, uint32_t n, uint32_t pos, int want)
{
    uint8_t skip = want ? 0x00 : 0xff;

    while (pos < n) {
        if (pos % 8 == 0 && n - pos >= 8 && bm[pos / 8] == skip) {
            pos += 8;
            continue;
        }
        if (bit_get(bm, pos) == want)
            return pos;
        pos++;
    }
    return n;
}

/**
 * Walk the held runs of at least min_run chunks. Returns the cost of their
 * encoding; if out (COST_BYTES) or runs (COST_RUNS) is non-NULL, writes them
 * (the caller has checked that the cost fits). *claimed gets the chunks in
 * the runs kept.
 */
static size_t walk(const uint8_t *bm, uint32_t n, uint32_t min_run, enum cost cost, uint8_t *out,
                   struct tc_summary_run *runs, uint32_t *claimed)
{
    uint32_t pos = 0, start, end, prev_end = 0;
    size_t total = 0;

    *claimed = 0;
    while (pos < n) {
        start = scan(bm, n, pos, 1);
        if (start == n)
            break;
        end = scan(bm, n, start, 0);
        pos = end;
        if (end - start < min_run)
            continue;
        if (cost == COST_RUNS) {
            if (runs) {
                runs[total].first = start;
                runs[total].count = end - start;
            }
            total++;
        } else if (out) {
            total += varint_put(out + total, start - prev_end);
            total += varint_put(out + total, end - start);
        } else {
            total += varint_len(start - prev_end) + varint_len(end - start);
        }
        *claimed += end - start;
        prev_end = end;
    }
    return total;
}

/**
 * The least run-length threshold whose cost fits budget. Cost falls as the
 * threshold rises (varint_len(a + b + c) <= varint_len(a) + varint_len(b) +
 * varint_len(c)), and a threshold above every run costs 0, so a binary search
 * finds it.
 */
static uint32_t threshold(const uint8_t *bm, uint32_t n, enum cost cost, size_t budget)
{
    uint32_t lo = 1, hi = n + 1, mid, claimed;

    if (walk(bm, n, 1, cost, NULL, NULL, &claimed) <= budget)
        return 1;
    /* invariant: cost(lo) > budget, cost(hi) <= budget */
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (walk(bm, n, mid, cost, NULL, NULL, &claimed) <= budget)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/** Bytes of a bitmap for chunk_count chunks. */
size_t tc_summary_bitmap_len(uint32_t chunk_count)
{
    return ((size_t)chunk_count + 7) / 8;
}

/**
 * Encode the held chunks of bitmap (chunk_count bits) into out, at most
 * out_max bytes (capped at TC_SUMMARY_BYTES_MAX), coarsening as described in
 * summary.h when the exact summary does not fit. *out_len gets the bytes
 * written, *claimed (may be NULL) the chunks the summary claims, which is
 * less than the chunks held exactly when it was coarsened. Returns 0 or
 * -EINVAL (chunk_count over TC_SUMMARY_CHUNKS_MAX).
 */
int tc_summary_encode(const uint8_t *bitmap, uint32_t chunk_count, uint8_t *out, size_t out_max,
                      size_t *out_len, uint32_t *claimed, struct tc_err *err)
{
    uint32_t t, got;

    *out_len = 0;
    if (claimed)
        *claimed = 0;
    if (chunk_count > TC_SUMMARY_CHUNKS_MAX)
        return tc_err_set(err, -EINVAL, "summary: %u chunks, more than the %u a summary describes",
                          chunk_count, TC_SUMMARY_CHUNKS_MAX);
    if (out_max > TC_SUMMARY_BYTES_MAX)
        out_max = TC_SUMMARY_BYTES_MAX;
    t = threshold(bitmap, chunk_count, COST_BYTES, out_max);
    *out_len = walk(bitmap, chunk_count, t, COST_BYTES, out, NULL, &got);
    if (claimed)
        *claimed = got;
    return 0;
}

/**
 * The same summary as runs (first, count), at most runs_max of them, for a
 * wire format that carries runs; the same coarsening rule with a budget in
 * runs. Returns 0 or -EINVAL.
 */
int tc_summary_runs(const uint8_t *bitmap, uint32_t chunk_count, struct tc_summary_run *runs,
                    uint32_t runs_max, uint32_t *nruns, uint32_t *claimed, struct tc_err *err)
{
    uint32_t t, got;

    *nruns = 0;
    if (claimed)
        *claimed = 0;
    if (chunk_count > TC_SUMMARY_CHUNKS_MAX)
        return tc_err_set(err, -EINVAL, "summary: %u chunks, more than the %u a summary describes",
                          chunk_count, TC_SUMMARY_CHUNKS_MAX);
    t = threshold(bitmap, chunk_count, COST_RUNS, runs_max);
    *nruns = (uint32_t)walk(bitmap, chunk_count, t, COST_RUNS, NULL, runs, &got);
    if (claimed)
        *claimed = got;
    return 0;
}

/**
 * Read one canonical varint from buf[*off..len). Returns 0 and advances *off,
 * or -EBADMSG (truncated, longer than 5 bytes, over 32 bits, not minimal).
 */
static int varint_get(const uint8_t *buf, size_t len, size_t *off, uint32_t *v)
{
    uint64_t acc = 0;
    size_t i;
    uint8_t b;

    for (i = 0; i < TC_SUMMARY_VARINT_MAX; i++) {
        if (*off + i >= len)
            return -EBADMSG;
        b = buf[*off + i];
        acc |= (uint64_t)(b & ~VARINT_MORE) << (VARINT_BITS * i);
        if (!(b & VARINT_MORE)) {
            if (i > 0 && b == 0)
                return -EBADMSG;
            if (acc > UINT32_MAX)
                return -EBADMSG;
            *off += i + 1;
            *v = (uint32_t)acc;
            return 0;
        }
    }
    return -EBADMSG;
}

/** Set bits [start, start + count) of bitmap. */
static void set_range(uint8_t *bm, uint32_t start, uint32_t count)
{
    uint32_t end = start + count;

    while (start < end && start % 8 != 0) {
        bm[start / 8] |= (uint8_t)(1u << (start % 8));
        start++;
    }
    if (end - start >= 8) {
        memset(bm + start / 8, 0xff, (end - start) / 8);
        start += (end - start) / 8 * 8;
    }
    while (start < end) {
        bm[start / 8] |= (uint8_t)(1u << (start % 8));
        start++;
    }
}

/**
 * Decode a summary of len bytes into bitmap (tc_summary_bitmap_len(chunk_count)
 * bytes, all written). *claimed (may be NULL) gets the chunks claimed. Strict:
 * only the canonical form is accepted. Returns 0, -EINVAL (chunk_count over
 * its limit), -E2BIG (len over TC_SUMMARY_BYTES_MAX) or -EBADMSG (malformed,
 * or a run past chunk_count), with the offset and values in err; on error the
 * bitmap claims nothing.
 */
int tc_summary_decode(const uint8_t *buf, size_t len, uint32_t chunk_count, uint8_t *bitmap,
                      uint32_t *claimed, struct tc_err *err)
{
    size_t off = 0, at;
    uint64_t pos = 0;
    uint32_t gap, run, got = 0;

    if (claimed)
        *claimed = 0;
    if (chunk_count > TC_SUMMARY_CHUNKS_MAX)
        return tc_err_set(err, -EINVAL, "summary: %u chunks, more than the %u a summary describes",
                          chunk_count, TC_SUMMARY_CHUNKS_MAX);
    memset(bitmap, 0, tc_summary_bitmap_len(chunk_count));
    if (len > TC_SUMMARY_BYTES_MAX)
        return tc_err_set(err, -E2BIG, "summary: %zu bytes, more than the %u allowed", len,
                          TC_SUMMARY_BYTES_MAX);
    while (off < len) {
        at = off;
        if (varint_get(buf, len, &off, &gap) < 0)
            goto err_varint;
        if (gap == 0 && at > 0) {
            tc_err_set(err, -EBADMSG, "summary: empty gap at byte %zu (runs must not touch)", at);
            goto err_clear;
        }
        at = off;
        if (off >= len) {
            tc_err_set(err, -EBADMSG, "summary: gap at the end without a run (byte %zu)", at);
            goto err_clear;
        }
        if (varint_get(buf, len, &off, &run) < 0)
            goto err_varint;
        if (run == 0) {
            tc_err_set(err, -EBADMSG, "summary: empty run at byte %zu", at);
            goto err_clear;
        }
        if (pos + gap + run > chunk_count) {
            tc_err_set(
                err, -EBADMSG,
                "summary: run of %u chunks at byte %zu ends at chunk %llu, past the %u chunks", run,
                at, (unsigned long long)(pos + gap + run), chunk_count);
            goto err_clear;
        }
        set_range(bitmap, (uint32_t)(pos + gap), run);
        pos += (uint64_t)gap + run;
        got += run;
    }
    if (claimed)
        *claimed = got;
    return 0;

err_varint:
    tc_err_set(err, -EBADMSG,
               "summary: bad varint at byte %zu of %zu (truncated, over 32 bits or not minimal)",
               at, len);
err_clear:
    memset(bitmap, 0, tc_summary_bitmap_len(chunk_count));
    return -EBADMSG;
}
