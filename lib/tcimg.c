// SPDX-License-Identifier: MIT
/*
 * The .tcimg container's fixed parts: header, trailer, and a whole-file
 * parser for images held in memory. No I/O.
 */
#include <string.h>

#include "treecast/be.h"
#include "treecast/tcimg.h"

/* Header (TC_TCIMG_HEADER_LEN bytes at offset 0). */
#define IH_MAGIC 0         /* 8  "TCIMG\0\r\n" */
#define IH_VERSION 8       /* 2  TC_TCIMG_VERSION */
#define IH_HEADER_LEN 10   /* 2  64 */
#define IH_FLAGS 12        /* 4  0 */
#define IH_MANIFEST_OFF 16 /* 8  64 */
#define IH_MANIFEST_LEN 24 /* 8 */
#define IH_PAYLOAD_OFF 32  /* 8  manifest_off + manifest_len */
#define IH_PAYLOAD_LEN 40  /* 8 */
#define IH_CHECK 48        /* 16 first 16 bytes of SHA-256(bytes 0..47) */

/* Trailer (TC_TCIMG_TRAILER_LEN bytes, the end of the file). */
#define IT_MAGIC 0         /* 4  "TCTR" */
#define IT_VERSION 4       /* 2  TC_TCIMG_VERSION */
#define IT_RESERVED 6      /* 2  0 */
#define IT_MANIFEST_LEN 8  /* 8  as in the header */
#define IT_PAYLOAD_OFF 16  /* 8  as in the header */
#define IT_PAYLOAD_LEN 24  /* 8  as in the header */
#define IT_SIGBLOCK_OFF 32 /* 8  payload_off + payload_len */
#define IT_SIGBLOCK_LEN 40 /* 8 */
#define IT_CHECK 48        /* 16 first 16 bytes of SHA-256(bytes 0..47) */

#define CHECK_LEN 16
#define CHECKED_LEN 48

static const uint8_t header_magic[8] = {'T', 'C', 'I', 'M', 'G', 0, '\r', '\n'};
static const uint8_t trailer_magic[4] = {'T', 'C', 'T', 'R'};

static const char resign_hint[] = "the file's tail is torn or damaged: re-run treecast sign "
                                  "to rebuild it";

/** Check value over the first 48 bytes of a header or trailer. */
static void check_value(const uint8_t *buf, uint8_t out[CHECK_LEN])
{
    uint8_t h[TC_SHA256_LEN];

    tc_sha256(buf, CHECKED_LEN, h);
    memcpy(out, h, CHECK_LEN);
}

/** Write the 64-byte header for layout l, with its check value. */
void tc_tcimg_header_put(uint8_t buf[TC_TCIMG_HEADER_LEN], const struct tc_tcimg_layout *l)
{
    memset(buf, 0, TC_TCIMG_HEADER_LEN);
    memcpy(buf + IH_MAGIC, header_magic, sizeof(header_magic));
    tc_put_be16(buf + IH_VERSION, TC_TCIMG_VERSION);
    tc_put_be16(buf + IH_HEADER_LEN, TC_TCIMG_HEADER_LEN);
    tc_put_be64(buf + IH_MANIFEST_OFF, l->manifest_off);
    tc_put_be64(buf + IH_MANIFEST_LEN, l->manifest_len);
    tc_put_be64(buf + IH_PAYLOAD_OFF, l->payload_off);
    tc_put_be64(buf + IH_PAYLOAD_LEN, l->payload_len);
    check_value(buf, buf + IH_CHECK);
}

/** Parse and check the header; fills every layout field but sigblock_len. */
int tc_tcimg_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                          struct tc_tcimg_layout *l, struct tc_err *err)
{
    uint8_t check[CHECK_LEN];
    char hex[17];
    unsigned v;

    memset(l, 0, sizeof(*l));
    if (len < TC_TCIMG_HEADER_LEN || file_size < TC_TCIMG_HEADER_LEN)
        return tc_err_set(err, -EBADMSG,
                          "header: file is %llu bytes, shorter than the %d-byte "
                          "header",
                          (unsigned long long)(file_size < len ? file_size : len),
                          TC_TCIMG_HEADER_LEN);
    if (memcmp(buf + IH_MAGIC, header_magic, sizeof(header_magic)) != 0)
        return tc_err_set(err, -EBADMSG,
                          "header: not a .tcimg file (magic is %s, expected "
                          "5443494d47000d0a \"TCIMG\\0\\r\\n\")",
                          tc_hex(hex, buf + IH_MAGIC, 8));
    v = tc_get_be16(buf + IH_VERSION);
    if (v != TC_TCIMG_VERSION)
        return tc_err_set(err, -EPROTO,
                          "header: .tcimg version %u not supported (this treecast reads "
                          "version %d)",
                          v, TC_TCIMG_VERSION);
    if (tc_get_be16(buf + IH_HEADER_LEN) != TC_TCIMG_HEADER_LEN)
        return tc_err_set(err, -EBADMSG, "header: header_len is %u, expected %d",
                          tc_get_be16(buf + IH_HEADER_LEN), TC_TCIMG_HEADER_LEN);
    if (tc_get_be32(buf + IH_FLAGS))
        return tc_err_set(err, -EBADMSG, "header: flags 0x%08x, expected 0",
                          tc_get_be32(buf + IH_FLAGS));
    check_value(buf, check);
    if (memcmp(check, buf + IH_CHECK, CHECK_LEN) != 0)
        return tc_err_set(err, -EBADMSG,
                          "header: check value is %s, computed %.32s (corrupt header)",
                          tc_hex(hex, buf + IH_CHECK, 8), tc_hex((char[33]){0}, check, 16));
    l->file_size = file_size;
    l->manifest_off = tc_get_be64(buf + IH_MANIFEST_OFF);
    l->manifest_len = tc_get_be64(buf + IH_MANIFEST_LEN);
    l->payload_off = tc_get_be64(buf + IH_PAYLOAD_OFF);
    l->payload_len = tc_get_be64(buf + IH_PAYLOAD_LEN);
    if (l->manifest_off != TC_TCIMG_HEADER_LEN)
        return tc_err_set(err, -EBADMSG, "header: manifest_off is %llu, expected %d",
                          (unsigned long long)l->manifest_off, TC_TCIMG_HEADER_LEN);
    if (l->manifest_len == 0 || l->manifest_len > TC_MANIFEST_LEN_MAX)
        return tc_err_set(err, -EBADMSG, "header: manifest_len is %llu, expected 1..%u",
                          (unsigned long long)l->manifest_len, TC_MANIFEST_LEN_MAX);
    if (l->payload_off != l->manifest_off + l->manifest_len)
        return tc_err_set(err, -EBADMSG,
                          "header: payload_off is %llu, expected %llu (right after the "
                          "manifest)",
                          (unsigned long long)l->payload_off,
                          (unsigned long long)(l->manifest_off + l->manifest_len));
    if (l->payload_off > file_size || l->payload_len > file_size - l->payload_off)
        return tc_err_set(err, -EBADMSG,
                          "header: file is %llu bytes, but manifest and payload end at %llu "
                          "(truncated file?)",
                          (unsigned long long)file_size,
                          (unsigned long long)(l->payload_off + l->payload_len));
    l->sigblock_off = l->payload_off + l->payload_len;
    return 0;
}

/** Write the 64-byte trailer for layout l, with its check value. */
void tc_tcimg_trailer_put(uint8_t buf[TC_TCIMG_TRAILER_LEN], const struct tc_tcimg_layout *l)
{
    memset(buf, 0, TC_TCIMG_TRAILER_LEN);
    memcpy(buf + IT_MAGIC, trailer_magic, sizeof(trailer_magic));
    tc_put_be16(buf + IT_VERSION, TC_TCIMG_VERSION);
    tc_put_be64(buf + IT_MANIFEST_LEN, l->manifest_len);
    tc_put_be64(buf + IT_PAYLOAD_OFF, l->payload_off);
    tc_put_be64(buf + IT_PAYLOAD_LEN, l->payload_len);
    tc_put_be64(buf + IT_SIGBLOCK_OFF, l->sigblock_off);
    tc_put_be64(buf + IT_SIGBLOCK_LEN, l->sigblock_len);
    check_value(buf, buf + IT_CHECK);
}

/** Compare one trailer field with the header's value. */
static int agree(const char *field, uint64_t trailer, uint64_t header, struct tc_err *err)
{
    if (trailer == header)
        return 0;
    return tc_err_set(err, -EBADMSG, "trailer: %s is %llu, the header says %llu: %s", field,
                      (unsigned long long)trailer, (unsigned long long)header, resign_hint);
}

/** Parse the trailer against the header's layout; a torn tail says "re-run treecast sign". */
int tc_tcimg_trailer_parse(const uint8_t *buf, size_t len, struct tc_tcimg_layout *l,
                           struct tc_err *err)
{
    uint8_t check[CHECK_LEN];
    const uint8_t *t;
    uint64_t min_size;
    unsigned v;
    int rc;

    min_size = l->sigblock_off + TC_SIGBLOCK_EMPTY_LEN + TC_TCIMG_TRAILER_LEN;
    if (l->file_size < min_size)
        return tc_err_set(err, -EBADMSG,
                          "trailer: file is %llu bytes, too short for a signature block and "
                          "trailer after the payload (at least %llu): %s",
                          (unsigned long long)l->file_size, (unsigned long long)min_size,
                          resign_hint);
    if (len < TC_TCIMG_TRAILER_LEN)
        return tc_err_set(err, -EINVAL, "trailer: %zu bytes given, expected %d", len,
                          TC_TCIMG_TRAILER_LEN);
    t = buf + len - TC_TCIMG_TRAILER_LEN;
    if (memcmp(t + IT_MAGIC, trailer_magic, sizeof(trailer_magic)) != 0)
        return tc_err_set(err, -EBADMSG, "trailer: no trailer magic \"TCTR\" at the end: %s",
                          resign_hint);
    check_value(t, check);
    if (memcmp(check, t + IT_CHECK, CHECK_LEN) != 0)
        return tc_err_set(err, -EBADMSG, "trailer: check value mismatch: %s", resign_hint);
    v = tc_get_be16(t + IT_VERSION);
    if (v != TC_TCIMG_VERSION)
        return tc_err_set(err, -EPROTO,
                          "trailer: version %u not supported (this treecast reads version %d)", v,
                          TC_TCIMG_VERSION);
    if (tc_get_be16(t + IT_RESERVED))
        return tc_err_set(err, -EBADMSG, "trailer: reserved bytes are not zero");
    rc = agree("manifest_len", tc_get_be64(t + IT_MANIFEST_LEN), l->manifest_len, err);
    if (!rc)
        rc = agree("payload_off", tc_get_be64(t + IT_PAYLOAD_OFF), l->payload_off, err);
    if (!rc)
        rc = agree("payload_len", tc_get_be64(t + IT_PAYLOAD_LEN), l->payload_len, err);
    if (!rc)
        rc = agree("sigblock_off", tc_get_be64(t + IT_SIGBLOCK_OFF), l->sigblock_off, err);
    if (rc)
        return rc;
    l->sigblock_len = tc_get_be64(t + IT_SIGBLOCK_LEN);
    if (l->sigblock_len < TC_SIGBLOCK_EMPTY_LEN || l->sigblock_len > TC_SIGBLOCK_LEN_MAX)
        return tc_err_set(err, -EBADMSG, "trailer: sigblock_len is %llu, expected %d..%u",
                          (unsigned long long)l->sigblock_len, TC_SIGBLOCK_EMPTY_LEN,
                          TC_SIGBLOCK_LEN_MAX);
    if (l->sigblock_off + l->sigblock_len + TC_TCIMG_TRAILER_LEN != l->file_size)
        return tc_err_set(err, -EBADMSG,
                          "trailer: signature block at %llu of %llu bytes ends at %llu, but the "
                          "trailer starts at %llu: %s",
                          (unsigned long long)l->sigblock_off, (unsigned long long)l->sigblock_len,
                          (unsigned long long)(l->sigblock_off + l->sigblock_len),
                          (unsigned long long)(l->file_size - TC_TCIMG_TRAILER_LEN), resign_hint);
    return 0;
}

/** Parse a whole file in memory: header, trailer, manifest, signature block. */
int tc_tcimg_parse(const uint8_t *buf, size_t len, struct tc_tcimg_layout *l,
                   struct tc_manifest **m, struct tc_sigblock *sb, struct tc_err *err)
{
    struct tc_manifest *man = NULL;
    int rc;

    rc = tc_tcimg_header_parse(buf, len, len, l, err);
    if (rc)
        return rc;
    rc = tc_tcimg_trailer_parse(buf, len, l, err);
    if (rc)
        return rc;
    rc = tc_manifest_parse(buf + l->manifest_off, (size_t)l->manifest_len, &man, err);
    if (rc)
        return rc;
    if (man->payload_len != l->payload_len) {
        rc = tc_err_set(err, -EBADMSG, "header: payload_len is %llu, the manifest says %llu",
                        (unsigned long long)l->payload_len, (unsigned long long)man->payload_len);
        goto err_free;
    }
    rc = tc_sigblock_parse(buf + l->sigblock_off, (size_t)l->sigblock_len, sb, err);
    if (rc) {
        tc_err_prefix(err, rc, "%s; ", resign_hint);
        goto err_free;
    }
    *m = man;
    return 0;

err_free:
    tc_manifest_free(man);
    return rc;
}
