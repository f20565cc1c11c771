// SPDX-License-Identifier: MIT
/* Unit tests for lib/tcimg.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "treecast/be.h"
#include "treecast/tcimg.h"

static struct tu_image img;
static struct tc_key *key;

static int setup(void **state)
{
    struct tu_image_opts o = {.seed = 9, .boot = 1};

    (void)state;
    tu_image_make(&img, &o);
    key = tu_ec_key(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_image_free(&img);
    tc_key_free(key);
    return 0;
}

static void bad(const uint8_t *buf, size_t len, int rc, const char *s1, const char *s2)
{
    struct tc_tcimg_layout l;
    struct tc_manifest *m = NULL;
    struct tc_sigblock sb;
    struct tc_err e = {0};

    TU_EXPECT_ERR(tc_tcimg_parse(buf, len, &l, &m, &sb, &e), rc, &e, s1, s2);
    assert_null(m);
}

static void test_roundtrip(void **state)
{
    struct tc_sigblock sb = {0}, back;
    struct tc_tcimg_layout l;
    struct tc_manifest *m;
    struct tc_err e = {0};
    uint8_t *f;
    size_t len;

    (void)state;
    /* unsigned */
    f = tu_tcimg(&img, NULL, &len);
    assert_int_equal(tc_tcimg_parse(f, len, &l, &m, &back, &e), 0);
    assert_int_equal(back.count, 0);
    assert_int_equal(l.file_size, len);
    assert_int_equal(l.manifest_off, 64);
    assert_int_equal(l.manifest_len, img.m->len);
    assert_int_equal(l.payload_off, 64 + img.m->len);
    assert_int_equal(l.payload_len, img.payload_len);
    assert_int_equal(l.sigblock_off, l.payload_off + l.payload_len);
    assert_int_equal(l.sigblock_len, 8);
    assert_int_equal(len, l.sigblock_off + 8 + 64);
    assert_memory_equal(m->bytes, img.m->bytes, img.m->len);
    assert_memory_equal(f, "TCIMG\0\r\n", 8);
    assert_memory_equal(f + len - 64, "TCTR", 4);
    tc_manifest_free(m);
    free(f);
    /* signed */
    tu_sign(&sb, key, img.m, 1);
    f = tu_tcimg(&img, &sb, &len);
    assert_int_equal(tc_tcimg_parse(f, len, &l, &m, &back, &e), 0);
    assert_int_equal(back.count, 1);
    assert_int_equal(l.sigblock_len, tc_sigblock_size(&sb));
    tc_manifest_free(m);
    free(f);
}

static void test_header(void **state)
{
    struct tc_tcimg_layout l;
    struct tc_err e = {0};
    uint8_t *f, h[64];
    size_t len;

    (void)state;
    f = tu_tcimg(&img, NULL, &len);
    bad(f, 63, -EBADMSG, "shorter than the 64-byte header", "");
    f[5] = 1;
    bad(f, len, -EBADMSG, "not a .tcimg file", "");
    f[5] = 0;
    f[20] ^= 1; /* manifest_off: the check value catches it */
    bad(f, len, -EBADMSG, "header: check value", "corrupt header");
    f[20] ^= 1;
    /* fields with a valid check value */
    memcpy(&l,
           &(struct tc_tcimg_layout){.manifest_off = 64,
                                     .manifest_len = img.m->len,
                                     .payload_off = 64 + img.m->len,
                                     .payload_len = img.payload_len},
           sizeof(l));
    tc_tcimg_header_put(h, &l);
    assert_memory_equal(h, f, 64);
    tc_put_be16(h + 8, 2);
    memcpy(f, h, 64);
    bad(f, len, -EPROTO, "version 2 not supported", "");
    l.manifest_off = 65;
    tc_tcimg_header_put(f, &l);
    bad(f, len, -EBADMSG, "manifest_off is 65, expected 64", "");
    l.manifest_off = 64;
    l.payload_off++;
    tc_tcimg_header_put(f, &l);
    bad(f, len, -EBADMSG, "payload_off is", "right after the manifest");
    l.payload_off--;
    l.manifest_len = 0;
    l.payload_off = 64;
    tc_tcimg_header_put(f, &l);
    bad(f, len, -EBADMSG, "manifest_len is 0", "");
    l.manifest_len = img.m->len;
    l.payload_off = 64 + img.m->len;
    l.payload_len = len;
    tc_tcimg_header_put(f, &l);
    bad(f, len, -EBADMSG, "truncated file?", "");
    l.payload_len = img.payload_len;
    tc_tcimg_header_put(f, &l);
    assert_int_equal(tc_tcimg_header_parse(f, 64, len, &l, &e), 0);
    assert_int_equal(l.sigblock_off, 64 + img.m->len + img.payload_len);
    free(f);
}

static void test_trailer_torn(void **state)
{
    struct tc_sigblock sb = {0};
    struct tc_tcimg_layout l;
    struct tc_err e = {0};
    uint8_t *f, *g;
    size_t len, glen;

    (void)state;
    f = tu_tcimg(&img, NULL, &len);
    f[len - 1] ^= 1;
    bad(f, len, -EBADMSG, "trailer: check value mismatch", "re-run treecast sign");
    f[len - 1] ^= 1;
    f[len - 64] = 'X';
    bad(f, len, -EBADMSG, "no trailer magic", "re-run treecast sign");
    f[len - 64] = 'T';
    /* truncated inside the payload: the header parse itself says so */
    bad(f, len - 100, -EBADMSG, "truncated file?", "");
    /* truncated right after the payload: the tail can be rebuilt from the header */
    assert_int_equal(tc_tcimg_header_parse(f, len, 64 + img.m->len + img.payload_len, &l, &e), 0);
    TU_EXPECT_ERR(tc_tcimg_trailer_parse(f, 64, &l, &e), -EBADMSG, &e, "too short",
                  "re-run treecast sign");
    tc_err_clear(&e);

    /* crash in the middle of signing: new signature block written over the
     * old tail, trailer not yet written */
    tu_sign(&sb, key, img.m, 1);
    g = tu_tcimg(&img, &sb, &glen);
    memcpy(g + glen - 64, f + len - 64, 64); /* old trailer at the end: disagrees */
    bad(g, glen, -EBADMSG, "signature block at", "re-run treecast sign");
    {
        /* a stale trailer that claims the old, shorter block */
        uint8_t *h = malloc(glen);
        size_t old_end = len - 64;

        memcpy(h, g, glen);
        memcpy(h + old_end, f + old_end, 64);
        bad(h, old_end + 64, -EBADMSG, "signature block", "");
        free(h);
    }
    free(g);

    /* a trailer that disagrees with the header */
    assert_int_equal(tc_tcimg_header_parse(f, len, len, &l, &e), 0);
    l.payload_len--;
    tc_tcimg_trailer_put(f + len - 64, &l);
    bad(f, len, -EBADMSG, "trailer: payload_len is", "the header says");
    l.payload_len++;
    l.sigblock_len = 9;
    tc_tcimg_trailer_put(f + len - 64, &l);
    bad(f, len, -EBADMSG, "but the trailer starts at", "re-run treecast sign");
    l.sigblock_len = 7;
    tc_tcimg_trailer_put(f + len - 64, &l);
    bad(f, len, -EBADMSG, "sigblock_len is 7, expected 8..65536", "");
    free(f);
}

static void test_manifest_disagrees(void **state)
{
    struct tc_tcimg_layout l;
    struct tc_err e = {0};
    uint8_t *f, *g;
    size_t len;

    (void)state;
    /* header and trailer consistent, one extra payload byte the manifest does not know */
    f = tu_tcimg(&img, NULL, &len);
    assert_int_equal(tc_tcimg_header_parse(f, len, len, &l, &e), 0);
    g = calloc(1, len + 1);
    memcpy(g, f, l.sigblock_off);
    memcpy(g + l.sigblock_off + 1, f + l.sigblock_off, 8);
    l.payload_len++;
    l.sigblock_off++;
    l.sigblock_len = 8;
    l.file_size = len + 1;
    tc_tcimg_header_put(g, &l);
    tc_tcimg_trailer_put(g + len + 1 - 64, &l);
    bad(g, len + 1, -EBADMSG, "header: payload_len is", "the manifest says");
    /* a broken manifest is reported as such */
    f[64] = 'X';
    bad(f, len, -EBADMSG, "manifest: magic", "");
    f[64] = 'T';
    /* a broken signature block too */
    f[len - 64 - 8] = 'X';
    bad(f, len, -EBADMSG, "signature block: magic", "");
    free(g);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_trailer_torn),
        cmocka_unit_test(test_manifest_disagrees),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
