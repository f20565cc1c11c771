// SPDX-License-Identifier: MIT
/* Unit tests for lib/summary.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treecast/summary.h"

static void set_bit(uint8_t *bm, uint32_t i)
{
    bm[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int get_bit(const uint8_t *bm, uint32_t i)
{
    return bm[i / 8] >> (i % 8) & 1;
}

static uint32_t popcount(const uint8_t *bm, uint32_t n)
{
    uint32_t i, k = 0;

    for (i = 0; i < n; i++)
        k += get_bit(bm, i);
    return k;
}

/** Encode with budget, decode, and check: claimed bits are held; exact when it fits. */
static size_t roundtrip(const uint8_t *bm, uint32_t n, size_t budget, int want_exact)
{
    uint8_t out[TC_SUMMARY_BYTES_MAX], *back = malloc(tc_summary_bitmap_len(n) + 1);
    uint32_t claimed, claimed2, i;
    struct tc_err e = {0};
    size_t len;

    assert_int_equal(tc_summary_encode(bm, n, out, budget, &len, &claimed, &e), 0);
    assert_true(len <= budget && len <= TC_SUMMARY_BYTES_MAX);
    assert_int_equal(tc_summary_decode(out, len, n, back, &claimed2, &e), 0);
    assert_int_equal(claimed, claimed2);
    assert_int_equal(popcount(back, n), claimed);
    for (i = 0; i < n; i++)
        if (get_bit(back, i))
            assert_true(get_bit(bm, i)); /* never claims a chunk it does not hold */
    if (want_exact) {
        assert_int_equal(claimed, popcount(bm, n));
        assert_memory_equal(back, bm, n / 8);
    }
    free(back);
    return len;
}

static void test_exact_bytes(void **state)
{
    uint8_t bm[4] = {0}, out[16], back[4];
    uint32_t claimed, i;
    size_t len;

    (void)state;
    /* chunks 0-9 and 20-24 of 30 */
    for (i = 0; i < 10; i++)
        set_bit(bm, i);
    for (i = 20; i < 25; i++)
        set_bit(bm, i);
    assert_int_equal(tc_summary_encode(bm, 30, out, sizeof(out), &len, &claimed, NULL), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\x00\x0a\x0a\x05", 4);
    assert_int_equal(claimed, 15);
    /* a gap of 200 takes two bytes: 0xc8 0x01 */
    memset(bm, 0, sizeof(bm));
    {
        uint8_t big[32] = {0};

        set_bit(big, 200);
        assert_int_equal(tc_summary_encode(big, 256, out, sizeof(out), &len, &claimed, NULL), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(out, "\xc8\x01\x01", 3);
    }
    /* nothing held: empty; all held: one pair */
    assert_int_equal(tc_summary_encode(bm, 30, out, sizeof(out), &len, &claimed, NULL), 0);
    assert_int_equal(len, 0);
    assert_int_equal(tc_summary_decode(out, 0, 30, back, &claimed, NULL), 0);
    assert_int_equal(claimed, 0);
    memset(bm, 0xff, sizeof(bm));
    assert_int_equal(tc_summary_encode(bm, 30, out, sizeof(out), &len, &claimed, NULL), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "\x00\x1e", 2);
    assert_int_equal(tc_summary_decode(out, len, 30, back, &claimed, NULL), 0);
    assert_int_equal(claimed, 30);
    /* bits past chunk_count are ignored on input and cleared on output */
    assert_int_equal(back[3], 0x3f);
    assert_int_equal(tc_summary_encode(bm, 0, out, sizeof(out), &len, &claimed, NULL), 0);
    assert_int_equal(len, 0);
}

static void test_roundtrip_random(void **state)
{
    static const uint32_t counts[] = {1, 7, 8, 9, 63, 64, 1000, 10240};
    static const uint32_t densities[] = {0, 1, 50, 97, 99, 100};
    uint8_t *bm;
    struct tu_prng p;
    uint32_t ci, di, i, n;
    uint64_t r;

    (void)state;
    tu_prng_seed(&p, 7);
    for (ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
        for (di = 0; di < sizeof(densities) / sizeof(densities[0]); di++) {
            n = counts[ci];
            bm = calloc(1, tc_summary_bitmap_len(n));
            /* clustered: runs whose lengths are random, held with the density */
            for (i = 0; i < n;) {
                uint32_t len = 1 + (uint32_t)(tu_prng_next(&p) % 40), j;

                r = tu_prng_next(&p) % 100;
                for (j = 0; j < len && i < n; j++, i++)
                    if (r < densities[di])
                        set_bit(bm, i);
            }
            roundtrip(bm, n, TC_SUMMARY_BYTES_MAX, n <= 1000);
            roundtrip(bm, n, 16, 0);
            roundtrip(bm, n, 0, 0);
            free(bm);
        }
    }
}

static void test_coarsening_drops_shortest(void **state)
{
    const uint32_t n = 1u << 20;
    uint8_t *bm = calloc(1, n / 8), *back = calloc(1, n / 8), out[TC_SUMMARY_BYTES_MAX];
    uint32_t i, claimed, held, kept_min = UINT32_MAX, dropped_max = 0, start;
    struct tc_summary_run runs[8];
    uint32_t nruns;
    size_t len;

    (void)state;
    /* the worst case: every other chunk held, plus two long runs (101 and 701 chunks) */
    for (i = 0; i < n; i += 2)
        set_bit(bm, i);
    for (i = 1000; i < 1100; i++)
        set_bit(bm, i);
    for (i = 500000; i < 500700; i++)
        set_bit(bm, i);
    held = popcount(bm, n);
    assert_int_equal(tc_summary_encode(bm, n, out, sizeof(out), &len, &claimed, NULL), 0);
    assert_true(len <= TC_SUMMARY_BYTES_MAX);
    assert_true(claimed < held);
    assert_int_equal(claimed, 101 + 701); /* only the two long runs survive */
    assert_int_equal(tc_summary_decode(out, len, n, back, &claimed, NULL), 0);
    /* every kept run is at least as long as every dropped run */
    for (i = 0; i < n;) {
        if (!get_bit(bm, i)) {
            i++;
            continue;
        }
        start = i;
        while (i < n && get_bit(bm, i))
            i++;
        if (get_bit(back, start)) {
            if (i - start < kept_min)
                kept_min = i - start;
        } else if (i - start > dropped_max) {
            dropped_max = i - start;
        }
    }
    assert_true(kept_min >= dropped_max);
    /* runs form, bounded by a run count */
    assert_int_equal(tc_summary_runs(bm, n, runs, 8, &nruns, &claimed, NULL), 0);
    assert_int_equal(nruns, 2);
    assert_int_equal(runs[0].first, 1000);
    assert_int_equal(runs[0].count, 101);
    assert_int_equal(runs[1].first, 500000);
    assert_int_equal(runs[1].count, 701);
    assert_int_equal(claimed, 802);
    assert_int_equal(tc_summary_runs(bm, 64, runs, 8, &nruns, &claimed, NULL), 0);
    assert_int_equal(nruns, 0);
    free(bm);
    free(back);
}

static void expect_bad(const char *bytes, size_t len, uint32_t n, int rc, const char *what)
{
    uint8_t back[16];
    struct tc_err e = {0};
    uint32_t claimed = 99;

    memset(back, 0xaa, sizeof(back));
    assert_int_equal(tc_summary_decode((const uint8_t *)bytes, len, n, back, &claimed, &e), rc);
    assert_non_null(strstr(e.msg, what));
    assert_int_equal(claimed, 0);
    assert_int_equal(popcount(back, n), 0);
}

static void test_decode_strict(void **state)
{
    uint8_t big[TC_SUMMARY_BYTES_MAX + 1] = {0}, bm[8];

    (void)state;
    expect_bad("\x00", 1, 30, -EBADMSG, "without a run");
    expect_bad("\x00\x00", 2, 30, -EBADMSG, "empty run");
    expect_bad("\x00\x01\x00\x01", 4, 30, -EBADMSG, "empty gap");
    expect_bad("\x00\x1f", 2, 30, -EBADMSG, "past the 30 chunks");
    expect_bad("\x0a\x0a\x01\x0a", 4, 30, -EBADMSG, "ends at chunk 31");
    expect_bad("\x80", 1, 30, -EBADMSG, "bad varint");
    expect_bad("\x81\x00\x01", 3, 30, -EBADMSG, "bad varint");             /* not minimal */
    expect_bad("\xff\xff\xff\xff\x1f\x01", 6, 30, -EBADMSG, "bad varint"); /* over 32 bits */
    expect_bad("\xff\xff\xff\xff\xff\x01", 6, 30, -EBADMSG, "bad varint"); /* 6 bytes */
    assert_int_equal(tc_summary_decode(big, sizeof(big), 30, bm, NULL, NULL), -E2BIG);
    assert_int_equal(tc_summary_decode(big, 0, TC_SUMMARY_CHUNKS_MAX + 1, bm, NULL, NULL), -EINVAL);
    /* the largest values that are valid */
    assert_int_equal(tc_summary_decode((const uint8_t *)"\x1d\x01", 2, 30, bm, NULL, NULL), 0);
    assert_int_equal(bm[3], 0x20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_coarsening_drops_shortest),
        cmocka_unit_test(test_decode_strict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
