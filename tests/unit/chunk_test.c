// SPDX-License-Identifier: MIT
/* Unit tests for lib/chunk.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <zlib.h>

#include "testutil.h"
#include "treecast/chunk.h"

#define RAW_LEN (64 * 1024)

static void test_is_zero(void **state)
{
    uint8_t *b = calloc(1, 5000);
    size_t pos;

    (void)state;
    assert_true(tc_chunk_is_zero(b, 0));
    assert_true(tc_chunk_is_zero(b, 5000));
    for (pos = 0; pos < 5000; pos += 97) {
        b[pos] = 1;
        assert_false(tc_chunk_is_zero(b, 5000));
        assert_true(tc_chunk_is_zero(b, pos));
        b[pos] = 0;
    }
    b[4999] = 0x80;
    assert_false(tc_chunk_is_zero(b, 5000));
    assert_true(tc_chunk_is_zero(b + 1, 4998));
    free(b);
}

static void roundtrip(const uint8_t *raw, size_t len, enum tc_enc want)
{
    uint8_t *stored = malloc(len), *back = malloc(len);
    struct tc_err e = {0};
    enum tc_enc enc;
    size_t n;

    assert_int_equal(tc_chunk_encode(raw, len, TC_CHUNK_LEVEL_DEFAULT, stored, &enc, &n, &e), 0);
    assert_int_equal(enc, want);
    if (want == TC_ENC_ZERO)
        assert_int_equal(n, 0);
    else if (want == TC_ENC_RAW)
        assert_int_equal(n, len);
    else
        assert_true(n > 0 && n < len);
    memset(back, 0xaa, len);
    assert_int_equal(tc_chunk_decode(enc, stored, n, back, len, &e), 0);
    assert_memory_equal(raw, back, len);
    free(stored);
    free(back);
}

static void test_encode_picks_smallest(void **state)
{
    uint8_t *raw = calloc(1, RAW_LEN);
    struct tu_prng p;
    size_t i;

    (void)state;
    roundtrip(raw, RAW_LEN, TC_ENC_ZERO);
    roundtrip(raw, 1, TC_ENC_ZERO);
    tu_prng_seed(&p, 1);
    tu_prng_fill(&p, raw, RAW_LEN);
    roundtrip(raw, RAW_LEN, TC_ENC_RAW);
    roundtrip(raw, 1, TC_ENC_RAW);
    for (i = 0; i < RAW_LEN; i++)
        raw[i] = (uint8_t)("hello treecast "[i % 15]);
    roundtrip(raw, RAW_LEN, TC_ENC_DEFLATE);
    /* a random chunk with a zero tail still compresses a little */
    tu_prng_fill(&p, raw, RAW_LEN / 2);
    memset(raw + RAW_LEN / 2, 0, RAW_LEN / 2);
    roundtrip(raw, RAW_LEN, TC_ENC_DEFLATE);
    free(raw);
}

static void test_encode_bad_args(void **state)
{
    uint8_t raw[16] = {1}, out[16];
    struct tc_err e = {0};
    enum tc_enc enc;
    size_t n;

    (void)state;
    TU_EXPECT_ERR(tc_chunk_encode(raw, 0, 6, out, &enc, &n, &e), -EINVAL, &e, "raw length 0");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_chunk_encode(raw, 16, 10, out, &enc, &n, &e), -EINVAL, &e, "level 10");
    /* level 0 never makes DEFLATE smaller: RAW */
    assert_int_equal(tc_chunk_encode(raw, 16, 0, out, &enc, &n, NULL), 0);
    assert_int_equal(enc, TC_ENC_RAW);
}

/* zlib-compress src into a malloc'd buffer; returns its length. */
static size_t zcompress(const uint8_t *src, size_t len, uint8_t **out)
{
    uLongf n = compressBound(len);

    *out = malloc(n);
    assert_int_equal(compress2(*out, &n, src, len, 9), Z_OK);
    return n;
}

static void decode_err(enum tc_enc enc, const uint8_t *s, size_t n, size_t raw_len, int want_rc,
                       const char *sub)
{
    uint8_t *raw = malloc(raw_len ? raw_len : 1); /* exact size: ASan catches overruns */
    struct tc_err e = {0};
    struct tc_chunk_decoder *d;

    TU_EXPECT_ERR(tc_chunk_decode(enc, s, n, raw, raw_len, &e), want_rc, &e, sub);
    /* without the Adler-32 every other fault is still found */
    if (strcmp(sub, "incorrect data check") != 0) {
        tc_err_clear(&e);
        TU_EXPECT_ERR(tc_chunk_decode_no_adler(enc, s, n, raw, raw_len, &e), want_rc, &e, sub);
    }
    /* the reusable decoder says the same, and works again afterwards */
    assert_int_equal(tc_chunk_decoder_new(&d, NULL), 0);
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_chunk_decoder_decode(d, enc, s, n, raw, raw_len, &e), want_rc, &e, sub);
    {
        uint8_t src[100], *z, back[100];
        size_t zn;

        memset(src, 'q', sizeof(src));
        zn = zcompress(src, sizeof(src), &z);
        assert_int_equal(tc_chunk_decoder_decode(d, TC_ENC_DEFLATE, z, zn, back, 100, NULL), 0);
        assert_memory_equal(src, back, 100);
        free(z);
    }
    tc_chunk_decoder_free(d);
    free(raw);
}

static void test_decode_errors(void **state)
{
    uint8_t *src = malloc(2 * RAW_LEN), *z;
    size_t zn, i;

    (void)state;
    for (i = 0; i < 2 * RAW_LEN; i++)
        src[i] = (uint8_t)(i * 7 / 13);

    decode_err(TC_ENC_ZERO, src, 1, RAW_LEN, -EBADMSG, "zero chunk has 1 stored bytes");
    decode_err(TC_ENC_RAW, src, RAW_LEN - 1, RAW_LEN, -EBADMSG,
               "raw chunk has 65535 stored bytes, expected 65536");
    decode_err((enum tc_enc)3, src, 10, RAW_LEN, -EBADMSG, "unknown chunk encoding 3");
    decode_err(TC_ENC_DEFLATE, src, 0, RAW_LEN, -EBADMSG, "stored length 0");

    /* bomb: a stream inflating to twice the chunk */
    zn = zcompress(src, 2 * RAW_LEN, &z);
    decode_err(TC_ENC_DEFLATE, z, zn, RAW_LEN, -EBADMSG, "inflates to more than 65536 bytes");
    free(z);
    /* a zero bomb: 16 MiB of zeros into a 64 KiB chunk */
    {
        uint8_t *zeros = calloc(1, 16u << 20);

        zn = zcompress(zeros, 16u << 20, &z);
        free(zeros);
        assert_true(zn < 64 * 1024);
        decode_err(TC_ENC_DEFLATE, z, zn, RAW_LEN, -EBADMSG, "decompression bomb");
        free(z);
    }
    /* too short */
    zn = zcompress(src, RAW_LEN / 2, &z);
    decode_err(TC_ENC_DEFLATE, z, zn, RAW_LEN, -EBADMSG, "inflates to 32768 bytes, expected 65536");
    free(z);
    /* truncated stream */
    zn = zcompress(src, RAW_LEN, &z);
    decode_err(TC_ENC_DEFLATE, z, zn - 6, RAW_LEN, -EBADMSG, "truncated");
    /* checksum trailer damaged: refused, unless the caller checks the raw
     * hash instead (the agent); the 4 trailer bytes must still be there */
    z[zn - 1] ^= 1;
    decode_err(TC_ENC_DEFLATE, z, zn, RAW_LEN, -EBADMSG, "incorrect data check");
    {
        uint8_t *raw = malloc(RAW_LEN);

        assert_int_equal(tc_chunk_decode_no_adler(TC_ENC_DEFLATE, z, zn, raw, RAW_LEN, NULL), 0);
        assert_memory_equal(raw, src, RAW_LEN);
        assert_int_equal(tc_chunk_ops_no_adler.decode, tc_chunk_decode_no_adler);
        free(raw);
    }
    decode_err(TC_ENC_DEFLATE, z, zn - 1, RAW_LEN, -EBADMSG, "truncated");
    z[zn - 1] ^= 1;
    /* trailing bytes */
    {
        uint8_t *t = malloc(zn + 3);

        memcpy(t, z, zn);
        memset(t + zn, 0, 3);
        decode_err(TC_ENC_DEFLATE, t, zn + 3, RAW_LEN, -EBADMSG, "3 trailing bytes");
        free(t);
    }
    /* corrupt header */
    z[0] ^= 0xff;
    decode_err(TC_ENC_DEFLATE, z, zn, RAW_LEN, -EBADMSG, "corrupt");
    free(z);
    /* preset dictionary */
    {
        z_stream zs = {0};
        uint8_t out[256];

        assert_int_equal(deflateInit(&zs, 6), Z_OK);
        assert_int_equal(deflateSetDictionary(&zs, (const Bytef *)"dict", 4), Z_OK);
        zs.next_in = src;
        zs.avail_in = 100;
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        decode_err(TC_ENC_DEFLATE, out, zs.total_out, 100, -EBADMSG, "preset dictionary");
        deflateEnd(&zs);
    }
    free(src);
}

static uint8_t fake_hash_calls;

static void fake_hash(const void *buf, size_t len, uint8_t out[32])
{
    (void)buf;
    (void)len;
    fake_hash_calls++;
    memset(out, 0x11, 32);
}

static void test_verify_decode(void **state)
{
    struct tu_image img;
    struct tu_image_opts o = {.seed = 3};
    struct tc_chunk_decoder *d;
    const struct tc_manifest *m;
    struct tc_err e = {0};
    uint8_t *raw, *stored;
    uint32_t i;

    (void)state;
    tu_image_make(&img, &o);
    m = img.m;
    assert_int_equal(m->chunk_count, 6);
    raw = malloc(m->chunk_size);
    assert_int_equal(tc_chunk_decoder_new(&d, &e), 0);
    for (i = 0; i < m->chunk_count; i++) {
        const struct tc_manifest_chunk *c = &m->chunks[i];
        uint32_t rl = tc_manifest_chunk_raw_len(m, i);

        assert_int_equal(c->enc, i % 3 == 0   ? TC_ENC_ZERO
                                 : i % 3 == 1 ? TC_ENC_RAW
                                              : TC_ENC_DEFLATE);
        memset(raw, 0x55, m->chunk_size);
        assert_int_equal(
            tc_chunk_verify_decode(m, i, img.payload + c->stored_off, c->stored_len, raw, &e), 0);
        assert_memory_equal(raw, img.raw + (uint64_t)i * m->chunk_size, rl);
        memset(raw, 0x55, m->chunk_size);
        assert_int_equal(tc_chunk_verify_decode_dec(d, m, i, img.payload + c->stored_off,
                                                    c->stored_len, raw, &e),
                         0);
        assert_memory_equal(raw, img.raw + (uint64_t)i * m->chunk_size, rl);
    }
    assert_int_equal(tc_manifest_chunk_raw_len(m, 5), m->chunk_size / 2);

    /* one flipped stored byte in a DEFLATE chunk: refused before inflating */
    stored = malloc(m->chunks[2].stored_len);
    memcpy(stored, img.payload + m->chunks[2].stored_off, m->chunks[2].stored_len);
    stored[10] ^= 4;
    TU_EXPECT_ERR(tc_chunk_verify_decode(m, 2, stored, m->chunks[2].stored_len, raw, &e), -EILSEQ,
                  &e, "chunk 2: stored SHA-256 is ", ".., manifest says ");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_chunk_verify_decode_dec(d, m, 2, stored, m->chunks[2].stored_len, raw, &e),
                  -EILSEQ, &e, "chunk 2: stored SHA-256");
    tc_err_clear(&e);
    /* wrong length */
    TU_EXPECT_ERR(tc_chunk_verify_decode(m, 2, stored, m->chunks[2].stored_len - 1, raw, &e),
                  -EILSEQ, &e, "chunk 2: ", "stored bytes, manifest says");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_chunk_verify_decode(m, 6, stored, 1, raw, &e), -EINVAL, &e,
                  "chunk 6: out of range, image demo has 6 chunks");
    tc_err_clear(&e);
    /* ops: the hash stand-in is what is compared */
    {
        struct tc_chunk_ops ops = {.hash = fake_hash, .decode = tc_chunk_decode};

        TU_EXPECT_ERR(tc_chunk_verify_decode_ops(&ops, m, 1, img.payload + m->chunks[1].stored_off,
                                                 m->chunks[1].stored_len, raw, &e),
                      -EILSEQ, &e, "stored SHA-256 is 1111111111111111..");
        assert_int_equal(fake_hash_calls, 1);
        assert_int_equal(tc_chunk_verify_decode_ops(NULL, m, 1,
                                                    img.payload + m->chunks[1].stored_off,
                                                    m->chunks[1].stored_len, raw, NULL),
                         0);
    }
    free(stored);
    free(raw);
    tc_chunk_decoder_free(d);
    tu_image_free(&img);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(tc_enc_name(TC_ENC_ZERO), "zero");
    assert_string_equal(tc_enc_name(TC_ENC_RAW), "raw");
    assert_string_equal(tc_enc_name(TC_ENC_DEFLATE), "deflate");
    assert_string_equal(tc_enc_name((enum tc_enc)9), "?");
    assert_non_null(strstr(tc_chunk_backend_version(), "zlib 1.2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_zero),         cmocka_unit_test(test_encode_picks_smallest),
        cmocka_unit_test(test_encode_bad_args), cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_verify_decode),   cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
