// SPDX-License-Identifier: MIT
/* Unit tests for lib/manifest.c (offsets are docs/image-format.md's tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/chunk.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"

/* From the spec. */
#define OFF_VERSION 4
#define OFF_HEADER_LEN 6
#define OFF_FLAGS 8
#define OFF_SECTIONS 12
#define OFF_RAW_SIZE 16
#define OFF_CHUNK_SIZE 24
#define OFF_CHUNK_COUNT 28
#define OFF_PAYLOAD_LEN 32
#define OFF_STORED_BYTES 40
#define OFF_DIGEST 48
#define OFF_CREATED 80
#define OFF_NOT_AFTER 100
#define OFF_NAME_LEN 120
#define OFF_VERSION_LEN 121
#define OFF_NAME 124
#define OFF_VERSTR 188
#define OFF_RESERVED2 220
#define HDR 256
#define ENTRY 69
/* Block-hash section (type 2): 8-byte section header, then body. */
#define BH_SEG_SIZE 0
#define BH_HASH_LEN 4
#define BH_RESERVED 5
#define BH_LIST 8
#define SEG 1432

static struct tu_image img;

static int setup(void **state)
{
    struct tu_image_opts o = {.seed = 5};

    (void)state;
    tu_image_make(&img, &o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_image_free(&img);
    return 0;
}

/* A writable copy of the manifest bytes, with room for extra bytes. */
static uint8_t *copy(size_t extra)
{
    uint8_t *b = calloc(1, img.m->len + extra);

    memcpy(b, img.m->bytes, img.m->len);
    return b;
}

static void expect_bad(const uint8_t *b, size_t len, int rc, const char *s1, const char *s2)
{
    struct tc_manifest *m = NULL;
    struct tc_err e = {0};

    TU_EXPECT_ERR(tc_manifest_parse(b, len, &m, &e), rc, &e, s1, s2);
    assert_null(m);
}

static void test_roundtrip(void **state)
{
    const struct tc_manifest *m = img.m;
    struct tc_manifest *m2;
    struct tc_err e = {0};
    uint8_t digest[32];
    uint64_t off = 0;
    uint32_t i;

    (void)state;
    assert_int_equal(m->format_version, TC_MANIFEST_VERSION);
    assert_string_equal(m->name, "demo");
    assert_string_equal(m->version, "1.0");
    assert_int_equal(m->chunk_size, TC_CHUNK_SIZE_MIN);
    assert_int_equal(m->raw_size, 5 * 65536 + 32768);
    assert_int_equal(m->chunk_count, 6);
    assert_true(m->created == TU_CREATED);
    assert_true(m->not_after == TU_NOT_AFTER);
    assert_false(m->has_boot);
    assert_int_equal(m->len, HDR + 6 * ENTRY);
    for (i = 0; i < m->chunk_count; i++) {
        assert_int_equal(m->chunks[i].stored_off, off);
        off += m->chunks[i].stored_len;
    }
    assert_int_equal(m->stored_chunk_bytes, off);
    assert_int_equal(m->payload_len, off);
    assert_int_equal(m->payload_len, img.payload_len);
    tc_manifest_digest(m->raw_size, m->chunk_size, m->chunks, m->chunk_count, digest);
    assert_memory_equal(digest, m->image_digest, 32);
    /* the digest is the spec's formula */
    {
        uint8_t *buf = malloc(18 + 12 + 32 * 6), want[32];

        memcpy(buf, "treecast image v1", 18);
        tc_put_be64(buf + 18, m->raw_size);
        tc_put_be32(buf + 26, m->chunk_size);
        for (i = 0; i < 6; i++)
            memcpy(buf + 30 + 32 * i, m->chunks[i].raw_hash, 32);
        tc_sha256(buf, 30 + 32 * 6, want);
        assert_memory_equal(want, m->image_digest, 32);
        free(buf);
    }
    /* text fields on the wire */
    assert_memory_equal(m->bytes, "TCMF", 4);
    assert_memory_equal(m->bytes + OFF_CREATED, "2026-01-01T00:00:00Z", 20);
    assert_memory_equal(m->bytes + OFF_NOT_AFTER, "2027-01-01T00:00:00Z", 20);
    /* parse(serialize) is the identity */
    assert_int_equal(tc_manifest_parse(m->bytes, m->len, &m2, &e), 0);
    assert_memory_equal(m2->bytes, m->bytes, m->len);
    assert_memory_equal(m2->chunks, m->chunks, sizeof(m->chunks[0]) * m->chunk_count);
    tc_manifest_free(m2);
}

static void test_boot_and_never(void **state)
{
    struct tu_image b;
    struct tu_image_opts o = {.boot = 1,
                              .not_after = TC_TIME_NEVER,
                              .name = "node-os",
                              .version = "2024.11+b3~rc1",
                              .chunk_size = 128 * 1024,
                              .raw_size = 300000};
    const struct tc_manifest *m;
    uint8_t h[32];
    unsigned i;

    (void)state;
    tu_image_make(&b, &o);
    m = b.m;
    assert_true(m->has_boot);
    assert_true(m->not_after == TC_TIME_NEVER);
    assert_memory_equal(m->bytes + OFF_NOT_AFTER, "never\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(m->chunk_count, 3);
    assert_int_equal(m->boot[TC_BOOT_KERNEL].off, m->stored_chunk_bytes);
    assert_int_equal(m->boot[TC_BOOT_INITRD].off, m->stored_chunk_bytes + 3000);
    assert_int_equal(m->boot[TC_BOOT_CMDLINE].off, m->stored_chunk_bytes + 5000);
    assert_int_equal(m->boot[TC_BOOT_CMDLINE].len, 40);
    assert_int_equal(m->payload_len, m->stored_chunk_bytes + 5040);
    assert_int_equal(m->payload_len, b.payload_len);
    for (i = 0; i < TC_BOOT_BLOBS; i++) {
        tc_sha256(b.payload + m->boot[i].off, m->boot[i].len, h);
        assert_memory_equal(h, m->boot[i].hash, 32);
    }
    assert_memory_equal(b.payload + m->boot[TC_BOOT_CMDLINE].off, "root=/dev/sda1", 14);
    /* section header: type 1, critical, 120 bytes */
    assert_int_equal(tc_get_be32(m->bytes + OFF_SECTIONS), 1);
    assert_int_equal(tc_get_be16(m->bytes + HDR + 3 * ENTRY), 1);
    assert_int_equal(tc_get_be16(m->bytes + HDR + 3 * ENTRY + 2), 1);
    assert_int_equal(tc_get_be32(m->bytes + HDR + 3 * ENTRY + 4), 120);
    assert_int_equal(m->len, HDR + 3 * ENTRY + 8 + 120);

    /* boot blob limits and rules */
    {
        uint8_t *c = malloc(m->len);
        size_t sec = HDR + 3 * ENTRY + 8;

        memcpy(c, m->bytes, m->len);
        tc_put_be64(c + sec + 80, TC_BOOT_CMDLINE_MAX + 1);
        expect_bad(c, m->len, -E2BIG, "boot cmdline is 4097 bytes", "limit 4096");
        memcpy(c, m->bytes, m->len);
        tc_put_be64(c + sec, 0);
        expect_bad(c, m->len, -EBADMSG, "boot kernel is absent", "hash is not zero");
        memset(c + sec + 8, 0, 32);
        expect_bad(c, m->len, -EBADMSG, "without a kernel", "");
        memcpy(c, m->bytes, m->len);
        tc_put_be16(c + HDR + 3 * ENTRY + 2, 0);
        expect_bad(c, m->len, -EBADMSG, "boot section must be marked critical", "");
        memcpy(c, m->bytes, m->len);
        tc_put_be32(c + HDR + 3 * ENTRY + 4, 119);
        expect_bad(c, m->len, -EBADMSG, "boot section is 119 bytes, expected 120", "");
        memcpy(c, m->bytes, m->len);
        tc_put_be64(c + OFF_PAYLOAD_LEN, m->stored_chunk_bytes);
        expect_bad(c, m->len, -EBADMSG, "payload_len is", "boot blobs");
        free(c);
    }
    tu_image_free(&b);
}

static void test_header_fields(void **state)
{
    uint8_t *b = copy(0);
    size_t len = img.m->len;

    (void)state;
    expect_bad(b, 100, -EBADMSG, "manifest: 100 bytes, shorter than its 256-byte header", "");
    b[0] = 'X';
    expect_bad(b, len, -EBADMSG, "magic is 58434d46", "TCMF");
    b[0] = 'T';
    tc_put_be16(b + OFF_VERSION, 2);
    expect_bad(b, len, -EPROTO, "format version 2 not supported", "");
    tc_put_be16(b + OFF_VERSION, 1);
    tc_put_be16(b + OFF_HEADER_LEN, 257);
    expect_bad(b, len, -EBADMSG, "header_len is 257, expected 256", "");
    tc_put_be16(b + OFF_HEADER_LEN, 256);
    tc_put_be32(b + OFF_FLAGS, 4);
    expect_bad(b, len, -EBADMSG, "flags 0x00000004, expected 0", "");
    tc_put_be32(b + OFF_FLAGS, 0);
    tc_put_be32(b + OFF_SECTIONS, 17);
    expect_bad(b, len, -E2BIG, "section_count 17, limit 16", "");
    tc_put_be32(b + OFF_SECTIONS, 0);
    b[OFF_RESERVED2 + 35] = 1;
    expect_bad(b, len, -EBADMSG, "reserved header bytes are not zero", "");
    b[OFF_RESERVED2 + 35] = 0;
    {
        struct tc_manifest *m;

        assert_int_equal(tc_manifest_parse(b, len, &m, NULL), 0);
        tc_manifest_free(m);
    }
    free(b);
}

static void test_sizes_and_counts(void **state)
{
    uint8_t *b = copy(ENTRY);
    size_t len = img.m->len;

    (void)state;
    tc_put_be32(b + OFF_CHUNK_SIZE, 100000);
    expect_bad(b, len, -EBADMSG, "chunk_size 100000 is not a power of two in 65536..16777216", "");
    tc_put_be32(b + OFF_CHUNK_SIZE, 32768);
    expect_bad(b, len, -EBADMSG, "chunk_size 32768", "");
    tc_put_be32(b + OFF_CHUNK_SIZE, 32u << 20);
    expect_bad(b, len, -EBADMSG, "chunk_size 33554432", "");
    tc_put_be32(b + OFF_CHUNK_SIZE, 65536);
    tc_put_be64(b + OFF_RAW_SIZE, 0);
    expect_bad(b, len, -EBADMSG, "raw_size is 0", "");
    tc_put_be64(b + OFF_RAW_SIZE, 16777216);
    tc_put_be32(b + OFF_CHUNK_SIZE, 4194304);
    tc_put_be32(b + OFF_CHUNK_COUNT, 5);
    expect_bad(b, len, -EBADMSG,
               "manifest: chunk_count is 5, expected 4 for raw_size 16777216 and chunk_size "
               "4194304",
               "");
    tc_put_be32(b + OFF_CHUNK_SIZE, 65536);
    tc_put_be64(b + OFF_RAW_SIZE, (uint64_t)65536 * (TC_MANIFEST_CHUNKS_MAX + 1));
    tc_put_be32(b + OFF_CHUNK_COUNT, TC_MANIFEST_CHUNKS_MAX + 1);
    expect_bad(b, len, -E2BIG, "needs 1048577 chunks of 65536 bytes, limit 1048576", "");
    /* one chunk more than the table holds */
    memcpy(b, img.m->bytes, len);
    tc_put_be64(b + OFF_RAW_SIZE, 7 * 65536);
    tc_put_be32(b + OFF_CHUNK_COUNT, 7);
    expect_bad(b, len, -EBADMSG, "too short for 7 chunk entries", "needs at least 739");
    /* trailing bytes */
    memcpy(b, img.m->bytes, len);
    expect_bad(b, len + 1, -EBADMSG, "1 trailing bytes after the last section", "");
    expect_bad(b, TC_MANIFEST_LEN_MAX + 1ul, -E2BIG, "limit 83886080", "");
    /* sums */
    tc_put_be64(b + OFF_STORED_BYTES, img.m->stored_chunk_bytes + 1);
    expect_bad(b, len, -EBADMSG, "stored_chunk_bytes is", "the chunk table sums to");
    memcpy(b, img.m->bytes, len);
    tc_put_be64(b + OFF_PAYLOAD_LEN, img.m->payload_len - 1);
    expect_bad(b, len, -EBADMSG, "payload_len is", "expected");
    free(b);
}

static void test_strings_and_dates(void **state)
{
    uint8_t *b = copy(0);
    size_t len = img.m->len;

    (void)state;
    b[OFF_NAME] = '-';
    expect_bad(b, len, -EBADMSG, "manifest: image name \"-emo\"", "start with a letter");
    b[OFF_NAME] = 'd';
    b[OFF_NAME + 1] = '/';
    expect_bad(b, len, -EBADMSG, "name \"d/mo\"", "character 2 (0x2f)");
    b[OFF_NAME + 1] = 'e';
    b[OFF_NAME + 10] = 'x';
    expect_bad(b, len, -EBADMSG, "name padding after 4 bytes is not zero", "");
    b[OFF_NAME + 10] = 0;
    b[OFF_NAME_LEN] = 0;
    expect_bad(b, len, -EBADMSG, "name length is 0, expected 1..64", "");
    b[OFF_NAME_LEN] = 65;
    expect_bad(b, len, -EBADMSG, "name length is 65", "");
    b[OFF_NAME_LEN] = 5;
    expect_bad(b, len, -EBADMSG, "name contains a NUL byte", "");
    b[OFF_NAME_LEN] = 4;
    b[OFF_VERSION_LEN] = 33;
    expect_bad(b, len, -EBADMSG, "version length is 33, expected 1..32", "");
    b[OFF_VERSION_LEN] = 3;
    b[OFF_VERSTR + 1] = ' ';
    expect_bad(b, len, -EBADMSG, "image version \"1 0\"", "character 2 (0x20)");
    b[OFF_VERSTR + 1] = '.';

    memcpy(b + OFF_CREATED, "2026-02-30T00:00:00Z", 20);
    expect_bad(b, len, -EBADMSG, "created is \"2026-02-30T00:00:00Z\"", "UTC date");
    memcpy(b + OFF_CREATED, "2026-01-01T00:00:00+", 20);
    expect_bad(b, len, -EBADMSG, "created is", "");
    memcpy(b + OFF_CREATED, "2026-01-01t00:00:00Z", 20); /* valid RFC 3339, not canonical */
    expect_bad(b, len, -EBADMSG, "created is", "");
    b[OFF_CREATED + 3] = 0;
    expect_bad(b, len, -EBADMSG, "created byte 3 is 0x00", "");
    memcpy(b + OFF_CREATED, "never\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    expect_bad(b, len, -EBADMSG, "created byte 5", "");
    memcpy(b + OFF_CREATED, "2027-06-01T00:00:00Z", 20);
    expect_bad(b, len, -EBADMSG,
               "not_after 2027-01-01T00:00:00Z is before created 2027-06-01T00:00:00Z", "");
    memcpy(b + OFF_CREATED, "2026-01-01T00:00:00Z", 20);
    memcpy(b + OFF_NOT_AFTER, "never\0\0\0\0\0\0\0\0\0\0\0\0\0\0x", 20);
    expect_bad(b, len, -EBADMSG, "not_after byte 5 is 0x00", "or \"never\"");
    memcpy(b + OFF_NOT_AFTER, "nevermore\0\0\0\0\0\0\0\0\0\0\0", 20);
    expect_bad(b, len, -EBADMSG, "not_after", "");
    free(b);
}

static void test_chunk_entries(void **state)
{
    uint8_t *b = copy(0);
    size_t len = img.m->len;
    uint8_t *e0 = b + HDR, *e1 = b + HDR + ENTRY, *e2 = b + HDR + 2 * ENTRY;

    (void)state;
    assert_int_equal(e0[0], TC_ENC_ZERO);
    assert_int_equal(e1[0], TC_ENC_RAW);
    assert_int_equal(e2[0], TC_ENC_DEFLATE);
    e1[0] = 3;
    expect_bad(b, len, -EBADMSG, "chunk 1: unknown encoding 3", "");
    e1[0] = TC_ENC_RAW;
    tc_put_be32(e0 + 1, 5);
    expect_bad(b, len, -EBADMSG, "chunk 0: zero encoding with stored_len 5, expected 0", "");
    tc_put_be32(e0 + 1, 0);
    e0[5] ^= 1;
    expect_bad(b, len, -EBADMSG, "chunk 0: zero encoding, stored_hash", "empty string");
    e0[5] ^= 1;
    tc_put_be32(e1 + 1, 65535);
    expect_bad(b, len, -EBADMSG, "chunk 1: raw encoding with stored_len 65535, expected 65536", "");
    tc_put_be32(e1 + 1, 65536);
    tc_put_be32(e2 + 1, 65536);
    expect_bad(b, len, -EBADMSG,
               "chunk 2: deflate encoding with stored_len 65536, expected "
               "1..65535",
               "");
    tc_put_be32(e2 + 1, 0);
    expect_bad(b, len, -EBADMSG, "chunk 2: deflate encoding with stored_len 0", "");
    memcpy(b, img.m->bytes, len);
    /* the last chunk is half size: DEFLATE must stay below that */
    assert_int_equal(b[HDR + 5 * ENTRY], TC_ENC_DEFLATE);
    tc_put_be32(b + HDR + 5 * ENTRY + 1, 32768);
    expect_bad(b, len, -EBADMSG,
               "chunk 5: deflate encoding with stored_len 32768, expected "
               "1..32767",
               "");
    memcpy(b, img.m->bytes, len);
    /* a changed raw hash breaks the image digest */
    e2[40] ^= 0x80;
    expect_bad(b, len, -EBADMSG, "image_digest is", "the chunk list gives");
    e2[40] ^= 0x80;
    b[OFF_DIGEST] ^= 1;
    expect_bad(b, len, -EBADMSG, "image_digest is", "");
    free(b);
}

/* Append a section (type, flags, body) to the manifest. */
static uint8_t *with_section(size_t *len, uint16_t type, uint16_t flags, uint32_t body_len,
                             uint32_t claimed)
{
    uint8_t *b = copy(8 + body_len);

    tc_put_be32(b + OFF_SECTIONS, tc_get_be32(b + OFF_SECTIONS) + 1);
    tc_put_be16(b + img.m->len, type);
    tc_put_be16(b + img.m->len + 2, flags);
    tc_put_be32(b + img.m->len + 4, claimed);
    memset(b + img.m->len + 8, 0xab, body_len);
    *len = img.m->len + 8 + body_len;
    return b;
}

static void test_sections(void **state)
{
    struct tc_manifest *m;
    struct tc_err e = {0};
    size_t len;
    uint8_t *b;

    (void)state;
    /* unknown, not critical: accepted and covered by the bytes kept */
    b = with_section(&len, 0x7000, 0, 12, 12);
    assert_int_equal(tc_manifest_parse(b, len, &m, &e), 0);
    assert_int_equal(m->len, len);
    assert_memory_equal(m->bytes, b, len);
    tc_manifest_free(m);
    free(b);
    /* unknown and critical: refused with -EPROTO */
    b = with_section(&len, 0x7000, 1, 12, 12);
    expect_bad(b, len, -EPROTO, "section type 28672 is critical and unknown", "upgrade");
    free(b);
    b = with_section(&len, 0x7000, 2, 12, 12);
    expect_bad(b, len, -EBADMSG, "unknown flags 0x0002", "");
    free(b);
    b = with_section(&len, 0x7000, 0, 12, 13);
    expect_bad(b, len, -EBADMSG, "body_len 13, only 12 bytes left", "");
    free(b);
    b = with_section(&len, 0, 0, 0, 0);
    expect_bad(b, len, -EBADMSG, "increasing type order", "");
    free(b);
    b = with_section(&len, 0x7000, 0, 0, 0);
    tc_put_be32(b + OFF_SECTIONS, 2);
    expect_bad(b, len, -EBADMSG, "section 2 of 2: header truncated", "");
    free(b);
}

static void test_build_checks(void **state)
{
    struct tc_manifest_params p = {.name = "demo",
                                   .version = "1",
                                   .raw_size = 100,
                                   .chunk_size = TC_CHUNK_SIZE_MAX,
                                   .created = TU_CREATED,
                                   .not_after = TC_TIME_NEVER};
    struct tc_manifest_chunk c = {.enc = TC_ENC_RAW, .stored_len = 100};
    struct tc_manifest_chunk two[2] = {c, c};
    struct tc_manifest *m = NULL;
    struct tc_err e = {0};

    (void)state;
    assert_int_equal(tc_manifest_build(&p, &c, 1, NULL, &m, &e), 0);
    assert_int_equal(m->chunk_count, 1);
    assert_int_equal(tc_manifest_chunk_raw_len(m, 0), 100);
    assert_int_equal(tc_manifest_chunk_raw_len(m, 1), 0);
    tc_manifest_free(m);
    m = NULL;
    p.name = "bad name";
    TU_EXPECT_ERR(tc_manifest_build(&p, &c, 1, NULL, &m, &e), -EINVAL, &e,
                  "image name \"bad name\"");
    tc_err_clear(&e);
    p.name = "demo";
    p.not_after = TU_CREATED - 1;
    TU_EXPECT_ERR(tc_manifest_build(&p, &c, 1, NULL, &m, &e), -EINVAL, &e, "out of order");
    tc_err_clear(&e);
    p.not_after = TC_TIME_NEVER;
    TU_EXPECT_ERR(tc_manifest_build(&p, two, 2, NULL, &m, &e), -EBADMSG, &e,
                  "chunk_count is 2, expected 1");
    assert_null(m);
}

/* The segment hash list of chunk i's stored bytes in img (malloc'd, *len bytes). */
static uint8_t *hash_list_of(const struct tu_image *im, uint32_t i, uint32_t seg, size_t *len)
{
    const struct tc_manifest_chunk *c = &im->m->chunks[i];
    uint8_t *l;

    *len = (size_t)tc_proto_nsegs(c->stored_len, seg) * 16;
    l = malloc(*len ? *len : 1);
    tc_proto_hash_list(NULL, im->payload + c->stored_off, c->stored_len, seg, l);
    return l;
}

/* Build im's manifest again with a block-hash section of segment size seg. */
static struct tc_manifest *build_with_lists(const struct tu_image *im, uint32_t seg,
                                            uint8_t **lists_out)
{
    const struct tc_manifest *m = im->m;
    struct tc_manifest_params p = {.name = m->name,
                                   .version = m->version,
                                   .raw_size = m->raw_size,
                                   .chunk_size = m->chunk_size,
                                   .created = m->created,
                                   .not_after = m->not_after,
                                   .seg_size = seg};
    uint8_t *lists = malloc((size_t)m->chunk_count * 32);
    struct tc_manifest *out = NULL;
    struct tc_err e = {0};
    uint32_t i;

    for (i = 0; i < m->chunk_count; i++) {
        size_t len;
        uint8_t *l = hash_list_of(im, i, seg, &len);

        tc_manifest_list_hash(l, len, lists + 32 * i);
        free(l);
    }
    p.list_hash = lists;
    assert_int_equal(
        tc_manifest_build(&p, m->chunks, m->chunk_count, m->has_boot ? m->boot : NULL, &out, &e),
        0);
    *lists_out = lists;
    return out;
}

static void test_block_hashes_roundtrip(void **state)
{
    struct tc_manifest *m, *m2;
    struct tc_err e = {0};
    uint8_t *lists, want[32], *sec;
    uint32_t i;

    (void)state;
    /* No section in the default image. */
    assert_int_equal(img.m->seg_size, 0);
    assert_null(img.m->list_hash);

    m = build_with_lists(&img, SEG, &lists);
    assert_int_equal(m->seg_size, SEG);
    assert_non_null(m->list_hash);
    assert_int_equal(m->len, HDR + 6 * ENTRY + 8 + 8 + 6 * 32);
    assert_int_equal(tc_get_be32(m->bytes + OFF_SECTIONS), 1);
    sec = m->bytes + HDR + 6 * ENTRY;
    assert_int_equal(tc_get_be16(sec), 2);     /* type */
    assert_int_equal(tc_get_be16(sec + 2), 0); /* not critical */
    assert_int_equal(tc_get_be32(sec + 4), 8 + 6 * 32);
    assert_int_equal(tc_get_be32(sec + 8 + BH_SEG_SIZE), SEG);
    assert_int_equal(sec[8 + BH_HASH_LEN], 16);
    assert_memory_equal(sec + 8 + BH_RESERVED, "\0\0\0", 3);
    assert_ptr_equal(m->list_hash, sec + 8 + BH_LIST);
    assert_memory_equal(m->list_hash, lists, 6 * 32);
    /* The spec's formula, by hand for chunk 1 (RAW, 65536 bytes: 46 segments). */
    {
        const struct tc_manifest_chunk *c = &m->chunks[1];
        uint8_t hl[46 * 16], h[32];
        unsigned k;

        assert_int_equal(c->enc, TC_ENC_RAW);
        for (k = 0; k < 46; k++) {
            size_t n = k < 45 ? SEG : 65536 - 45 * SEG;

            tc_sha256(img.payload + c->stored_off + (size_t)k * SEG, n, h);
            memcpy(hl + 16 * k, h, 16);
        }
        tc_sha256(hl, sizeof(hl), want);
        assert_memory_equal(m->list_hash + 32, want, 32);
    }
    /* ZERO chunks (0 and 3): SHA-256 of the empty string. */
    tc_sha256("", 0, want);
    assert_memory_equal(m->list_hash, want, 32);
    assert_memory_equal(m->list_hash + 3 * 32, want, 32);
    /* The image digest does not depend on the section. */
    assert_memory_equal(m->image_digest, img.m->image_digest, 32);
    /* parse(serialize) is the identity, list_hash points into the new copy. */
    assert_int_equal(tc_manifest_parse(m->bytes, m->len, &m2, &e), 0);
    assert_int_equal(m2->seg_size, SEG);
    assert_ptr_equal(m2->list_hash, m2->bytes + HDR + 6 * ENTRY + 16);
    assert_memory_equal(m2->bytes, m->bytes, m->len);
    for (i = 0; i < m->chunk_count; i++) {
        size_t len;
        uint8_t *l = hash_list_of(&img, i, SEG, &len);

        assert_int_equal(tc_manifest_check_list(m2, i, l, len, &e), 0);
        free(l);
    }
    tc_manifest_free(m2);
    tc_manifest_free(m);
    free(lists);

    /* The range's ends are accepted. */
    m = build_with_lists(&img, 512, &lists);
    assert_int_equal(m->seg_size, 512);
    tc_manifest_free(m);
    free(lists);
    m = build_with_lists(&img, 8932, &lists);
    assert_int_equal(m->seg_size, 8932);
    tc_manifest_free(m);
    free(lists);
}

static void test_block_hashes_with_boot(void **state)
{
    struct tu_image b;
    struct tu_image_opts o = {.boot = 1, .raw_size = 300000, .chunk_size = 128 * 1024};
    struct tc_manifest *m;
    uint8_t *lists;
    size_t bh;

    (void)state;
    tu_image_make(&b, &o);
    m = build_with_lists(&b, SEG, &lists);
    /* boot (type 1) then block hashes (type 2) */
    assert_true(m->has_boot);
    assert_int_equal(tc_get_be32(m->bytes + OFF_SECTIONS), 2);
    bh = HDR + 3 * ENTRY + 8 + 120;
    assert_int_equal(tc_get_be16(m->bytes + HDR + 3 * ENTRY), 1);
    assert_int_equal(tc_get_be16(m->bytes + bh), 2);
    assert_int_equal(m->len, bh + 16 + 3 * 32);
    assert_ptr_equal(m->list_hash, m->bytes + bh + 16);
    assert_int_equal(m->payload_len, b.m->payload_len);
    tc_manifest_free(m);
    free(lists);
    tu_image_free(&b);
}

static void test_block_hashes_refused(void **state)
{
    struct tc_manifest *m;
    uint8_t *lists, *b, *body;
    size_t sec = HDR + 6 * ENTRY, len;

    (void)state;
    m = build_with_lists(&img, SEG, &lists);
    len = m->len;
    b = malloc(len + 1);
    memcpy(b, m->bytes, len);
    body = b + sec + 8;

    tc_put_be32(body + BH_SEG_SIZE, 511);
    expect_bad(b, len, -EBADMSG, "block-hash seg_size is 511, expected 512..8932", "");
    tc_put_be32(body + BH_SEG_SIZE, 8933);
    expect_bad(b, len, -EBADMSG, "block-hash seg_size is 8933, expected 512..8932", "");
    tc_put_be32(body + BH_SEG_SIZE, 0);
    expect_bad(b, len, -EBADMSG, "block-hash seg_size is 0", "");
    tc_put_be32(body + BH_SEG_SIZE, SEG);
    body[BH_HASH_LEN] = 32;
    expect_bad(b, len, -EBADMSG, "block-hash hash_len is 32, expected 16", "");
    body[BH_HASH_LEN] = 16;
    body[BH_RESERVED + 2] = 1;
    expect_bad(b, len, -EBADMSG, "block-hash reserved bytes are not zero", "");
    body[BH_RESERVED + 2] = 0;
    tc_put_be16(b + sec + 2, 1);
    expect_bad(b, len, -EBADMSG, "block-hash section must not be marked critical", "");
    tc_put_be16(b + sec + 2, 0);
    /* A ZERO chunk's list hash is fixed. */
    body[BH_LIST + 3 * 32 + 7] ^= 1;
    expect_bad(b, len, -EBADMSG, "chunk 3: zero encoding, block-hash list_hash", "empty string");
    body[BH_LIST + 3 * 32 + 7] ^= 1;
    /* Truncated: one list hash byte short (body_len and the manifest agree). */
    tc_put_be32(b + sec + 4, 8 + 6 * 32 - 1);
    expect_bad(b, len - 1, -EBADMSG, "block-hash section is 199 bytes, expected 200", "6 chunks");
    /* Extended: one byte more. */
    tc_put_be32(b + sec + 4, 8 + 6 * 32 + 1);
    b[len] = 0;
    expect_bad(b, len + 1, -EBADMSG, "block-hash section is 201 bytes, expected 200", "");
    /* Shorter than its own header. */
    tc_put_be32(b + sec + 4, 5);
    expect_bad(b, sec + 8 + 5, -EBADMSG, "block-hash section is 5 bytes, shorter than its 8-byte",
               "");
    /* Untouched, it parses. */
    memcpy(b, m->bytes, len);
    {
        struct tc_manifest *m2;

        assert_int_equal(tc_manifest_parse(b, len, &m2, NULL), 0);
        tc_manifest_free(m2);
    }
    free(b);
    tc_manifest_free(m);
    free(lists);
}

static void test_check_list(void **state)
{
    struct tc_manifest_params p = {.name = img.m->name,
                                   .version = img.m->version,
                                   .raw_size = img.m->raw_size,
                                   .chunk_size = img.m->chunk_size,
                                   .created = img.m->created,
                                   .not_after = img.m->not_after,
                                   .seg_size = SEG};
    struct tc_manifest *m, *bad = NULL;
    struct tc_err e = {0};
    uint8_t *lists, *l, empty[32];
    size_t len;

    (void)state;
    m = build_with_lists(&img, SEG, &lists);
    /* good: a RAW, a DEFLATE and a ZERO chunk */
    l = hash_list_of(&img, 1, SEG, &len);
    assert_int_equal(len, 46 * 16);
    assert_int_equal(tc_manifest_check_list(m, 1, l, len, &e), 0);
    /* bad: a flipped byte, one hash short, another chunk's list */
    l[17] ^= 0x40;
    TU_EXPECT_ERR(tc_manifest_check_list(m, 1, l, len, &e), -EILSEQ, &e,
                  "chunk 1: SHA-256 of its hash list is", "block-hash section says");
    tc_err_clear(&e);
    l[17] ^= 0x40;
    TU_EXPECT_ERR(tc_manifest_check_list(m, 1, l, len - 16, &e), -EILSEQ, &e,
                  "chunk 1: hash list is 720 bytes, expected 736", "46 segments of 1432");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_manifest_check_list(m, 4, l, len, &e), -EILSEQ, &e, "chunk 4");
    tc_err_clear(&e);
    free(l);
    l = hash_list_of(&img, 2, SEG, &len);
    assert_int_equal(m->chunks[2].enc, TC_ENC_DEFLATE);
    assert_int_equal(tc_manifest_check_list(m, 2, l, len, &e), 0);
    free(l);
    assert_int_equal(tc_manifest_check_list(m, 0, empty, 0, &e), 0);
    TU_EXPECT_ERR(tc_manifest_check_list(m, 0, empty, 16, &e), -EILSEQ, &e,
                  "chunk 0: hash list is 16 bytes, expected 0");
    tc_err_clear(&e);
    TU_EXPECT_ERR(tc_manifest_check_list(m, 6, empty, 0, &e), -EINVAL, &e, "chunk 6", "6 chunks");
    tc_err_clear(&e);
    /* no section */
    TU_EXPECT_ERR(tc_manifest_check_list(img.m, 1, empty, 0, &e), -ENOENT, &e,
                  "no block-hash section");
    tc_err_clear(&e);

    /* A manifest built with a wrong list hash for chunk 1 is well-formed
     * (nothing in the manifest alone can tell) but refuses the true list. */
    lists[32 + 5] ^= 1;
    p.list_hash = lists;
    assert_int_equal(tc_manifest_build(&p, img.m->chunks, img.m->chunk_count, NULL, &bad, &e), 0);
    l = hash_list_of(&img, 1, SEG, &len);
    TU_EXPECT_ERR(tc_manifest_check_list(bad, 1, l, len, &e), -EILSEQ, &e, "chunk 1");
    tc_err_clear(&e);
    free(l);
    l = hash_list_of(&img, 2, SEG, &len);
    assert_int_equal(tc_manifest_check_list(bad, 2, l, len, &e), 0);
    free(l);
    tc_manifest_free(bad);
    bad = NULL;

    /* build refuses what it would not parse */
    p.seg_size = 100;
    TU_EXPECT_ERR(tc_manifest_build(&p, img.m->chunks, img.m->chunk_count, NULL, &bad, &e), -EINVAL,
                  &e, "seg_size 100, expected 512..8932");
    tc_err_clear(&e);
    p.seg_size = SEG;
    p.list_hash = NULL;
    TU_EXPECT_ERR(tc_manifest_build(&p, img.m->chunks, img.m->chunk_count, NULL, &bad, &e), -EINVAL,
                  &e, "without list hashes");
    tc_err_clear(&e);
    /* a ZERO chunk with a list hash other than SHA-256("") */
    tc_sha256("", 0, empty);
    assert_memory_equal(lists, empty, 32);
    lists[0] ^= 1;
    p.list_hash = lists;
    TU_EXPECT_ERR(tc_manifest_build(&p, img.m->chunks, img.m->chunk_count, NULL, &bad, &e),
                  -EBADMSG, &e, "chunk 0: zero encoding, block-hash list_hash");
    tc_err_clear(&e);
    assert_null(bad);
    tc_manifest_free(m);
    free(lists);
}

static void test_names_versions(void **state)
{
    struct tc_err e = {0};
    char long_name[TC_NAME_MAX + 2];

    (void)state;
    assert_int_equal(tc_manifest_check_name("a", &e), 0);
    assert_int_equal(tc_manifest_check_name("Ubuntu-24.04_base+gpu", &e), 0);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    TU_EXPECT_ERR(tc_manifest_check_name(long_name, &e), -EINVAL, &e, "65 or more characters");
    long_name[TC_NAME_MAX] = '\0';
    assert_int_equal(tc_manifest_check_name(long_name, NULL), 0);
    assert_int_equal(tc_manifest_check_name("", NULL), -EINVAL);
    assert_int_equal(tc_manifest_check_name(".hidden", NULL), -EINVAL);
    assert_int_equal(tc_manifest_check_name("a~b", NULL), -EINVAL);
    assert_int_equal(tc_manifest_check_version("1.0~rc1+b2", NULL), 0);
    assert_int_equal(tc_manifest_check_version("1.0/2", NULL), -EINVAL);
    assert_int_equal(tc_manifest_check_version("", NULL), -EINVAL);
    assert_int_equal(tc_manifest_check_version("123456789012345678901234567890123", NULL), -EINVAL);
}

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(tc_version_cmp("1.10", "1.9") > 0);
    assert_true(tc_version_cmp("1.9", "1.10") < 0);
    assert_true(tc_version_cmp("1.0", "1.0") == 0);
    assert_true(tc_version_cmp("1.01", "1.1") == 0);
    assert_true(tc_version_cmp("1.0", "1.0.1") < 0);
    assert_true(tc_version_cmp("2", "10") < 0);
    assert_true(tc_version_cmp("2024.11", "2024.2") > 0);
    assert_true(tc_version_cmp("1.0a", "1.0b") < 0);
    assert_true(tc_version_cmp("1.0", "1.0a") < 0);
    assert_true(tc_version_cmp("1.a", "1.1") > 0);
    assert_true(tc_version_cmp("v2", "v10") < 0);
    assert_true(tc_version_cmp("", "1") < 0);
    assert_true(tc_version_cmp("99999999999999999999999", "100000000000000000000000") < 0);
}

static void test_pin(void **state)
{
    char buf[TC_NAME_MAX + 8 + 64 + 1], hex[65];

    (void)state;
    tc_manifest_pin(img.m, buf, sizeof(buf));
    assert_memory_equal(buf, "demo@sha256:", 12);
    assert_string_equal(buf + 12, tc_hex(hex, img.m->image_digest, 32));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_boot_and_never),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_sizes_and_counts),
        cmocka_unit_test(test_strings_and_dates),
        cmocka_unit_test(test_chunk_entries),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_build_checks),
        cmocka_unit_test(test_block_hashes_roundtrip),
        cmocka_unit_test(test_block_hashes_with_boot),
        cmocka_unit_test(test_block_hashes_refused),
        cmocka_unit_test(test_check_list),
        cmocka_unit_test(test_names_versions),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_pin),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
