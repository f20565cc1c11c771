// SPDX-License-Identifier: MIT
/*
 * The image manifest: serialization and strict parsing. docs/image-format.md
 * is the spec; the offsets below are its byte table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/be.h"
#include "treecast/chunk.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"
#include "treecast/tctime.h"
#include "treecast/wire.h"

/* Fixed header (MH_LEN bytes), big-endian. */
#define MH_MAGIC 0         /* 4  "TCMF" */
#define MH_VERSION 4       /* 2  TC_MANIFEST_VERSION */
#define MH_HEADER_LEN 6    /* 2  MH_LEN */
#define MH_FLAGS 8         /* 4  0 */
#define MH_SECTIONS 12     /* 4  number of sections after the chunk table */
#define MH_RAW_SIZE 16     /* 8 */
#define MH_CHUNK_SIZE 24   /* 4 */
#define MH_CHUNK_COUNT 28  /* 4 */
#define MH_PAYLOAD_LEN 32  /* 8 */
#define MH_STORED_BYTES 40 /* 8  sum of the chunks' stored_len */
#define MH_DIGEST 48       /* 32 image digest */
#define MH_CREATED 80      /* 20 RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" */
#define MH_NOT_AFTER 100   /* 20 RFC 3339, or "never" and 15 NUL bytes */
#define MH_NAME_LEN 120    /* 1 */
#define MH_VERSION_LEN 121 /* 1 */
#define MH_RESERVED1 122   /* 2  0 */
#define MH_NAME 124        /* 64 name, NUL-padded */
#define MH_VERSTR 188      /* 32 version, NUL-padded */
#define MH_RESERVED2 220   /* 36 0 */
#define MH_LEN 256

static const uint8_t manifest_magic[4] = {'T', 'C', 'M', 'F'};

/* Chunk table entry (CE_LEN bytes). */
#define CE_ENC 0         /* 1  enum tc_enc */
#define CE_STORED_LEN 1  /* 4 */
#define CE_STORED_HASH 5 /* 32 */
#define CE_RAW_HASH 37   /* 32 */
#define CE_LEN 69

/* Section header (SH_LEN bytes), then body_len bytes of body. */
#define SH_TYPE 0     /* 2 */
#define SH_FLAGS 2    /* 2  bit 0: critical */
#define SH_BODY_LEN 4 /* 4 */
#define SH_LEN 8
#define SECTION_CRITICAL 0x0001

/** Section types. */
enum {
    SECTION_BOOT = 1,         /**< kernel, initrd, cmdline */
    SECTION_BLOCK_HASHES = 2, /**< per-chunk SHA-256 of the segment hash list */
};

/* Boot section body: TC_BOOT_BLOBS x (u64 len, 32-byte SHA-256). */
#define BOOT_ENTRY_LEN 40
#define BOOT_BODY_LEN (TC_BOOT_BLOBS * BOOT_ENTRY_LEN)

/* Block-hash section body: BH_LEN bytes, then chunk_count list hashes. */
#define BH_SEG_SIZE 0 /* 4  TC_WIRE_SEG_SIZE_MIN..TC_WIRE_SEG_SIZE_MAX */
#define BH_HASH_LEN 4 /* 1  TC_WIRE_SEG_HASH_LEN */
#define BH_RESERVED 5 /* 3  0 */
#define BH_RESERVED_LEN 3
#define BH_LIST 8 /* 32 x chunk_count  list_hash[i] */
#define BH_LEN 8

/** Length of the RFC 3339 text fields. */
#define DATE_LEN 20
static const char never_text[] = "never";

static const char *const boot_names[TC_BOOT_BLOBS] = {"kernel", "initrd", "cmdline"};

/** SHA-256 of the empty string: the stored hash of every ZERO chunk. */
static const uint8_t sha256_empty[TC_SHA256_LEN] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/** ASCII letter or digit (no locale). */
static int is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/** Validate an image name: 1..64 of [A-Za-z0-9._+-], starting alphanumeric. */
int tc_manifest_check_name(const char *name, struct tc_err *err)
{
    size_t i, n = name ? strnlen(name, TC_NAME_MAX + 1) : 0;

    if (n == 0 || n > TC_NAME_MAX)
        return tc_err_set(err, -EINVAL, "image name: %zu%s characters, expected 1..%d", n,
                          n > TC_NAME_MAX ? " or more" : "", TC_NAME_MAX);
    if (!is_alnum((unsigned char)name[0]))
        return tc_err_set(err, -EINVAL, "image name \"%s\": must start with a letter or digit",
                          name);
    for (i = 0; i < n; i++) {
        int c = (unsigned char)name[i];

        if (!is_alnum(c) && c != '.' && c != '_' && c != '+' && c != '-')
            return tc_err_set(err, -EINVAL,
                              "image name \"%s\": character %zu (0x%02x) not in [A-Za-z0-9._+-]",
                              name, i + 1, (unsigned)c);
    }
    return 0;
}

/** Validate an image version: 1..32 of [A-Za-z0-9._+~-]. */
int tc_manifest_check_version(const char *version, struct tc_err *err)
{
    size_t i, n = version ? strnlen(version, TC_VERSION_MAX + 1) : 0;

    if (n == 0 || n > TC_VERSION_MAX)
        return tc_err_set(err, -EINVAL, "image version: %zu%s characters, expected 1..%d", n,
                          n > TC_VERSION_MAX ? " or more" : "", TC_VERSION_MAX);
    for (i = 0; i < n; i++) {
        int c = (unsigned char)version[i];

        if (!is_alnum(c) && c != '.' && c != '_' && c != '+' && c != '~' && c != '-')
            return tc_err_set(
                err, -EINVAL,
                "image version \"%s\": character %zu (0x%02x) not in [A-Za-z0-9._+~-]", version,
                i + 1, (unsigned)c);
    }
    return 0;
}

/** ASCII digit (no locale). */
static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/** Compare version strings run by run; see manifest.h. */
int tc_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        if (is_digit((unsigned char)*a) && is_digit((unsigned char)*b)) {
            size_t na, nb;
            int c;

            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            for (na = 0; is_digit((unsigned char)a[na]); na++)
                ;
            for (nb = 0; is_digit((unsigned char)b[nb]); nb++)
                ;
            if (na != nb)
                return na < nb ? -1 : 1;
            c = memcmp(a, b, na);
            if (c)
                return c < 0 ? -1 : 1;
            a += na;
            b += nb;
        } else {
            size_t na, nb, n;
            int c;

            for (na = 0; a[na] && !is_digit((unsigned char)a[na]); na++)
                ;
            for (nb = 0; b[nb] && !is_digit((unsigned char)b[nb]); nb++)
                ;
            n = na < nb ? na : nb;
            c = memcmp(a, b, n);
            if (c)
                return c < 0 ? -1 : 1;
            if (na != nb) {
                /* A shorter run is a prefix of the longer: the next byte decides.
                 * End of string sorts first, then digits before anything else. */
                return na < nb ? -1 : 1;
            }
            if (na == 0) {
                /* One side at a digit, the other at the end. */
                return *a ? 1 : -1;
            }
            a += na;
            b += nb;
        }
    }
    return 0;
}

/** Raw length of chunk idx: chunk_size, or what is left for the last one (0 out of range). */
uint32_t tc_manifest_chunk_raw_len(const struct tc_manifest *m, uint32_t idx)
{
    uint64_t start = (uint64_t)idx * m->chunk_size;

    if (idx >= m->chunk_count || start >= m->raw_size)
        return 0;
    return m->raw_size - start < m->chunk_size ? (uint32_t)(m->raw_size - start) : m->chunk_size;
}

/** The whole-image digest over the raw chunk hashes; see docs/image-format.md. */
void tc_manifest_digest(uint64_t raw_size, uint32_t chunk_size,
                        const struct tc_manifest_chunk *chunks, uint32_t chunk_count,
                        uint8_t out[TC_SHA256_LEN])
{
    static const char tag[] = "treecast image v1";
    struct tc_sha256 h;
    uint8_t b[12];
    uint32_t i;

    tc_sha256_init(&h);
    tc_sha256_update(&h, tag, sizeof(tag)); /* includes the NUL separator */
    tc_put_be64(b, raw_size);
    tc_put_be32(b + 8, chunk_size);
    tc_sha256_update(&h, b, sizeof(b));
    for (i = 0; i < chunk_count; i++)
        tc_sha256_update(&h, chunks[i].raw_hash, TC_SHA256_LEN);
    tc_sha256_final(&h, out);
}

/** Format the image pin "NAME@sha256:HEX". */
char *tc_manifest_pin(const struct tc_manifest *m, char *buf, size_t cap)
{
    char hex[2 * TC_SHA256_LEN + 1];

    snprintf(buf, cap, "%s@sha256:%s", m->name, tc_hex(hex, m->image_digest, TC_SHA256_LEN));
    return buf;
}

/** Free a manifest (NULL is allowed). */
void tc_manifest_free(struct tc_manifest *m)
{
    if (!m)
        return;
    free(m->chunks);
    free(m->bytes);
    free(m);
}

/** True if n bytes at p are all zero. */
static int all_zero(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++)
            return 0;
    return 1;
}

/** Read a NUL-padded string field of cap bytes holding len characters. */
static int get_string(const uint8_t *buf, const char *field, size_t len, size_t cap, char *out,
                      int (*check)(const char *, struct tc_err *), struct tc_err *err)
{
    int rc;

    if (len == 0 || len > cap)
        return tc_err_set(err, -EBADMSG, "manifest: %s length is %zu, expected 1..%zu", field, len,
                          cap);
    if (!all_zero(buf + len, cap - len))
        return tc_err_set(err, -EBADMSG, "manifest: %s padding after %zu bytes is not zero", field,
                          len);
    memcpy(out, buf, len);
    out[len] = '\0';
    if (strlen(out) != len)
        return tc_err_set(err, -EBADMSG, "manifest: %s contains a NUL byte", field);
    rc = check(out, err);
    return rc ? tc_err_prefix(err, -EBADMSG, "manifest: ") : 0;
}

/** Read a 20-byte RFC 3339 field; allow_never accepts "never" + NULs. */
static int get_date(const uint8_t *buf, const char *field, int allow_never, int64_t *t,
                    struct tc_err *err)
{
    char s[DATE_LEN + 1], canon[TC_RFC3339_LEN];
    size_t i;

    if (allow_never && memcmp(buf, never_text, sizeof(never_text) - 1) == 0 &&
        all_zero(buf + sizeof(never_text) - 1, DATE_LEN - (sizeof(never_text) - 1))) {
        *t = TC_TIME_NEVER;
        return 0;
    }
    for (i = 0; i < DATE_LEN; i++) {
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            return tc_err_set(err, -EBADMSG,
                              "manifest: %s byte %zu is 0x%02x, expected RFC 3339 text "
                              "YYYY-MM-DDTHH:MM:SSZ%s",
                              field, i, buf[i], allow_never ? " or \"never\"" : "");
        s[i] = (char)buf[i];
    }
    s[DATE_LEN] = '\0';
    if (tc_time_parse(s, t, NULL) != 0 || tc_time_format(*t, canon) != 0 || strcmp(canon, s) != 0)
        return tc_err_set(err, -EBADMSG,
                          "manifest: %s is \"%s\", expected a UTC date YYYY-MM-DDTHH:MM:SSZ%s",
                          field, s, allow_never ? " or \"never\"" : "");
    return 0;
}

/** Write a 20-byte date field. */
static void put_date(uint8_t *buf, int64_t t)
{
    char s[TC_RFC3339_LEN];

    memset(buf, 0, DATE_LEN);
    if (t == TC_TIME_NEVER) {
        memcpy(buf, never_text, sizeof(never_text) - 1);
        return;
    }
    tc_time_format(t, s);
    memcpy(buf, s, DATE_LEN);
}

/** Parse the boot section body. */
static int parse_boot(struct tc_manifest *m, const uint8_t *p, uint32_t len, struct tc_err *err)
{
    uint64_t off = m->stored_chunk_bytes;
    unsigned i;

    if (len != BOOT_BODY_LEN)
        return tc_err_set(err, -EBADMSG, "manifest: boot section is %u bytes, expected %d", len,
                          BOOT_BODY_LEN);
    for (i = 0; i < TC_BOOT_BLOBS; i++) {
        struct tc_manifest_blob *b = &m->boot[i];
        uint64_t max = i == TC_BOOT_CMDLINE ? TC_BOOT_CMDLINE_MAX : TC_BOOT_BLOB_MAX;

        b->len = tc_get_be64(p + i * BOOT_ENTRY_LEN);
        memcpy(b->hash, p + i * BOOT_ENTRY_LEN + 8, TC_SHA256_LEN);
        b->off = off;
        if (b->len > max)
            return tc_err_set(err, -E2BIG, "manifest: boot %s is %llu bytes, limit %llu",
                              boot_names[i], (unsigned long long)b->len, (unsigned long long)max);
        if (b->len == 0 && !all_zero(b->hash, TC_SHA256_LEN))
            return tc_err_set(err, -EBADMSG,
                              "manifest: boot %s is absent (length 0) but its hash is not zero",
                              boot_names[i]);
        off += b->len;
    }
    if (m->boot[TC_BOOT_KERNEL].len == 0)
        return tc_err_set(err, -EBADMSG, "manifest: boot section without a kernel");
    m->has_boot = 1;
    return 0;
}

/**
 * Parse the block-hash section body. list_hash is left pointing into the
 * caller's buffer; tc_manifest_parse() moves it into the kept copy.
 */
static int parse_block_hashes(struct tc_manifest *m, const uint8_t *p, uint32_t len, unsigned flags,
                              struct tc_err *err)
{
    uint64_t want = BH_LEN + (uint64_t)m->chunk_count * TC_MANIFEST_LIST_HASH_LEN;
    uint32_t seg_size, i;
    unsigned hash_len;

    if (flags & SECTION_CRITICAL)
        return tc_err_set(err, -EBADMSG,
                          "manifest: block-hash section must not be marked critical (readers "
                          "that do not know it may skip it)");
    if (len < BH_LEN)
        return tc_err_set(err, -EBADMSG,
                          "manifest: block-hash section is %u bytes, shorter than its %d-byte "
                          "header",
                          len, BH_LEN);
    seg_size = tc_get_be32(p + BH_SEG_SIZE);
    hash_len = p[BH_HASH_LEN];
    if (seg_size < TC_WIRE_SEG_SIZE_MIN || seg_size > TC_WIRE_SEG_SIZE_MAX)
        return tc_err_set(err, -EBADMSG, "manifest: block-hash seg_size is %u, expected %d..%d",
                          seg_size, TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX);
    if (hash_len != TC_WIRE_SEG_HASH_LEN)
        return tc_err_set(err, -EBADMSG, "manifest: block-hash hash_len is %u, expected %d",
                          hash_len, TC_WIRE_SEG_HASH_LEN);
    if (!all_zero(p + BH_RESERVED, BH_RESERVED_LEN))
        return tc_err_set(err, -EBADMSG, "manifest: block-hash reserved bytes are not zero");
    if (len != want)
        return tc_err_set(err, -EBADMSG,
                          "manifest: block-hash section is %u bytes, expected %llu (%d + 32 x "
                          "%u chunks)",
                          len, (unsigned long long)want, BH_LEN, m->chunk_count);
    for (i = 0; i < m->chunk_count; i++) {
        /* A ZERO chunk stores nothing: its hash list is empty. */
        if (m->chunks[i].enc == TC_ENC_ZERO &&
            memcmp(p + BH_LIST + (size_t)i * TC_MANIFEST_LIST_HASH_LEN, sha256_empty,
                   TC_SHA256_LEN) != 0)
            return tc_err_set(err, -EBADMSG,
                              "manifest: chunk %u: zero encoding, block-hash list_hash is not "
                              "SHA-256 of the empty string",
                              i);
    }
    m->seg_size = seg_size;
    m->list_hash = p + BH_LIST;
    return 0;
}

/** Parse the sections after the chunk table (p points at the first). */
static int parse_sections(struct tc_manifest *m, const uint8_t *p, size_t left, uint32_t count,
                          struct tc_err *err)
{
    unsigned last_type = 0;
    uint32_t i;
    int rc;

    for (i = 0; i < count; i++) {
        unsigned type, flags;
        uint32_t body;

        if (left < SH_LEN)
            return tc_err_set(err, -EBADMSG,
                              "manifest: section %u of %u: header truncated (%zu bytes left)",
                              i + 1, count, left);
        type = tc_get_be16(p + SH_TYPE);
        flags = tc_get_be16(p + SH_FLAGS);
        body = tc_get_be32(p + SH_BODY_LEN);
        p += SH_LEN;
        left -= SH_LEN;
        if (body > left)
            return tc_err_set(err, -EBADMSG,
                              "manifest: section type %u: body_len %u, only %zu bytes left", type,
                              body, left);
        if (type <= last_type)
            return tc_err_set(err, -EBADMSG,
                              "manifest: section type %u after type %u: sections must be in "
                              "increasing type order, no duplicates",
                              type, last_type);
        if (flags & ~SECTION_CRITICAL)
            return tc_err_set(err, -EBADMSG, "manifest: section type %u: unknown flags 0x%04x",
                              type, flags);
        last_type = type;
        switch (type) {
        case SECTION_BOOT:
            rc = parse_boot(m, p, body, err);
            if (rc)
                return rc;
            if (!(flags & SECTION_CRITICAL))
                return tc_err_set(err, -EBADMSG, "manifest: boot section must be marked critical");
            break;
        case SECTION_BLOCK_HASHES:
            rc = parse_block_hashes(m, p, body, flags, err);
            if (rc)
                return rc;
            break;
        default:
            if (flags & SECTION_CRITICAL)
                return tc_err_set(err, -EPROTO,
                                  "manifest: section type %u is critical and unknown to this "
                                  "treecast (manifest version %d): upgrade treecast",
                                  type, TC_MANIFEST_VERSION);
            break; /* unknown, not critical: covered by the signature, ignored */
        }
        p += body;
        left -= body;
    }
    if (left)
        return tc_err_set(err, -EBADMSG, "manifest: %zu trailing bytes after the last section",
                          left);
    return 0;
}

/** Parse the fixed header into m; on success *count holds the section count. */
static int parse_header(struct tc_manifest *m, const uint8_t *buf, size_t len, uint32_t *sections,
                        struct tc_err *err)
{
    uint64_t want;
    uint32_t flags;
    char hex[9];
    int rc;

    if (len > TC_MANIFEST_LEN_MAX)
        return tc_err_set(err, -E2BIG, "manifest: %zu bytes, limit %u", len, TC_MANIFEST_LEN_MAX);
    if (len < MH_LEN)
        return tc_err_set(err, -EBADMSG, "manifest: %zu bytes, shorter than its %d-byte header",
                          len, MH_LEN);
    if (memcmp(buf + MH_MAGIC, manifest_magic, sizeof(manifest_magic)) != 0)
        return tc_err_set(err, -EBADMSG, "manifest: magic is %s, expected 54434d46 (\"TCMF\")",
                          tc_hex(hex, buf + MH_MAGIC, 4));
    m->format_version = tc_get_be16(buf + MH_VERSION);
    if (m->format_version != TC_MANIFEST_VERSION)
        return tc_err_set(err, -EPROTO,
                          "manifest: format version %u not supported (this treecast reads "
                          "version %d)",
                          m->format_version, TC_MANIFEST_VERSION);
    if (tc_get_be16(buf + MH_HEADER_LEN) != MH_LEN)
        return tc_err_set(err, -EBADMSG, "manifest: header_len is %u, expected %d",
                          tc_get_be16(buf + MH_HEADER_LEN), MH_LEN);
    flags = tc_get_be32(buf + MH_FLAGS);
    if (flags)
        return tc_err_set(err, -EBADMSG, "manifest: flags 0x%08x, expected 0", flags);
    *sections = tc_get_be32(buf + MH_SECTIONS);
    if (*sections > TC_MANIFEST_SECTIONS_MAX)
        return tc_err_set(err, -E2BIG, "manifest: section_count %u, limit %d", *sections,
                          TC_MANIFEST_SECTIONS_MAX);
    if (buf[MH_RESERVED1] || buf[MH_RESERVED1 + 1] || !all_zero(buf + MH_RESERVED2, 36))
        return tc_err_set(err, -EBADMSG, "manifest: reserved header bytes are not zero");

    rc = get_string(buf + MH_NAME, "name", buf[MH_NAME_LEN], TC_NAME_MAX, m->name,
                    tc_manifest_check_name, err);
    if (rc)
        return rc;
    rc = get_string(buf + MH_VERSTR, "version", buf[MH_VERSION_LEN], TC_VERSION_MAX, m->version,
                    tc_manifest_check_version, err);
    if (rc)
        return rc;

    m->raw_size = tc_get_be64(buf + MH_RAW_SIZE);
    m->chunk_size = tc_get_be32(buf + MH_CHUNK_SIZE);
    m->chunk_count = tc_get_be32(buf + MH_CHUNK_COUNT);
    m->payload_len = tc_get_be64(buf + MH_PAYLOAD_LEN);
    m->stored_chunk_bytes = tc_get_be64(buf + MH_STORED_BYTES);
    memcpy(m->image_digest, buf + MH_DIGEST, TC_SHA256_LEN);
    if (m->chunk_size < TC_CHUNK_SIZE_MIN || m->chunk_size > TC_CHUNK_SIZE_MAX ||
        (m->chunk_size & (m->chunk_size - 1)))
        return tc_err_set(err, -EBADMSG, "manifest: chunk_size %u is not a power of two in %u..%u",
                          m->chunk_size, TC_CHUNK_SIZE_MIN, TC_CHUNK_SIZE_MAX);
    if (m->raw_size == 0)
        return tc_err_set(err, -EBADMSG, "manifest: raw_size is 0, an image holds at least 1 byte");
    want = m->raw_size / m->chunk_size + (m->raw_size % m->chunk_size != 0);
    if (want > TC_MANIFEST_CHUNKS_MAX)
        return tc_err_set(err, -E2BIG,
                          "manifest: raw_size %llu needs %llu chunks of %u bytes, limit %u",
                          (unsigned long long)m->raw_size, (unsigned long long)want, m->chunk_size,
                          TC_MANIFEST_CHUNKS_MAX);
    if (m->chunk_count != want)
        return tc_err_set(err, -EBADMSG,
                          "manifest: chunk_count is %u, expected %llu for raw_size %llu and "
                          "chunk_size %u",
                          m->chunk_count, (unsigned long long)want, (unsigned long long)m->raw_size,
                          m->chunk_size);
    if ((uint64_t)(len - MH_LEN) / CE_LEN < m->chunk_count)
        return tc_err_set(err, -EBADMSG,
                          "manifest: %zu bytes, too short for %u chunk entries (needs at least "
                          "%llu)",
                          len, m->chunk_count,
                          (unsigned long long)MH_LEN + (unsigned long long)m->chunk_count * CE_LEN);
    rc = get_date(buf + MH_CREATED, "created", 0, &m->created, err);
    if (rc)
        return rc;
    rc = get_date(buf + MH_NOT_AFTER, "not_after", 1, &m->not_after, err);
    if (rc)
        return rc;
    if (m->not_after < m->created) {
        char a[TC_RFC3339_LEN], c[TC_RFC3339_LEN];

        tc_time_format(m->not_after, a);
        tc_time_format(m->created, c);
        return tc_err_set(err, -EBADMSG, "manifest: not_after %s is before created %s", a, c);
    }
    return 0;
}

/** Parse and check the chunk table; fills chunks and sums stored lengths. */
static int parse_chunks(struct tc_manifest *m, const uint8_t *p, struct tc_err *err)
{
    uint64_t off = 0;
    uint32_t i;

    for (i = 0; i < m->chunk_count; i++, p += CE_LEN) {
        struct tc_manifest_chunk *c = &m->chunks[i];
        uint32_t raw_len = tc_manifest_chunk_raw_len(m, i);

        c->enc = p[CE_ENC];
        c->stored_len = tc_get_be32(p + CE_STORED_LEN);
        memcpy(c->stored_hash, p + CE_STORED_HASH, TC_SHA256_LEN);
        memcpy(c->raw_hash, p + CE_RAW_HASH, TC_SHA256_LEN);
        c->stored_off = off;
        switch (c->enc) {
        case TC_ENC_ZERO:
            if (c->stored_len != 0)
                return tc_err_set(err, -EBADMSG,
                                  "manifest: chunk %u: zero encoding with stored_len %u, "
                                  "expected 0",
                                  i, c->stored_len);
            if (memcmp(c->stored_hash, sha256_empty, TC_SHA256_LEN) != 0)
                return tc_err_set(err, -EBADMSG,
                                  "manifest: chunk %u: zero encoding, stored_hash is not "
                                  "SHA-256 of the empty string",
                                  i);
            break;
        case TC_ENC_RAW:
            if (c->stored_len != raw_len)
                return tc_err_set(err, -EBADMSG,
                                  "manifest: chunk %u: raw encoding with stored_len %u, "
                                  "expected %u",
                                  i, c->stored_len, raw_len);
            break;
        case TC_ENC_DEFLATE:
            if (c->stored_len == 0 || c->stored_len >= raw_len)
                return tc_err_set(err, -EBADMSG,
                                  "manifest: chunk %u: deflate encoding with stored_len %u, "
                                  "expected 1..%u",
                                  i, c->stored_len, raw_len - 1);
            break;
        default:
            return tc_err_set(err, -EBADMSG, "manifest: chunk %u: unknown encoding %u", i, c->enc);
        }
        off += c->stored_len;
    }
    if (off != m->stored_chunk_bytes)
        return tc_err_set(err, -EBADMSG,
                          "manifest: stored_chunk_bytes is %llu, the chunk table sums to %llu",
                          (unsigned long long)m->stored_chunk_bytes, (unsigned long long)off);
    return 0;
}

/** Strict parse of a serialized manifest; see manifest.h and docs/image-format.md. */
int tc_manifest_parse(const uint8_t *buf, size_t len, struct tc_manifest **out, struct tc_err *err)
{
    struct tc_manifest *m;
    uint8_t digest[TC_SHA256_LEN];
    uint64_t payload;
    uint32_t sections = 0;
    size_t table_end;
    unsigned i;
    int rc;

    m = calloc(1, sizeof(*m));
    if (!m)
        return tc_err_set(err, -ENOMEM, "manifest: out of memory");
    rc = parse_header(m, buf, len, &sections, err);
    if (rc)
        goto err_free;
    m->chunks = calloc(m->chunk_count, sizeof(*m->chunks));
    if (!m->chunks) {
        rc = tc_err_set(err, -ENOMEM, "manifest: out of memory for %u chunks", m->chunk_count);
        goto err_free;
    }
    rc = parse_chunks(m, buf + MH_LEN, err);
    if (rc)
        goto err_free;
    table_end = MH_LEN + (size_t)m->chunk_count * CE_LEN;
    rc = parse_sections(m, buf + table_end, len - table_end, sections, err);
    if (rc)
        goto err_free;

    payload = m->stored_chunk_bytes;
    for (i = 0; m->has_boot && i < TC_BOOT_BLOBS; i++)
        payload += m->boot[i].len;
    if (m->payload_len != payload) {
        rc = tc_err_set(
            err, -EBADMSG, "manifest: payload_len is %llu, expected %llu (stored chunks %llu%s)",
            (unsigned long long)m->payload_len, (unsigned long long)payload,
            (unsigned long long)m->stored_chunk_bytes, m->has_boot ? " + boot blobs" : "");
        goto err_free;
    }
    tc_manifest_digest(m->raw_size, m->chunk_size, m->chunks, m->chunk_count, digest);
    if (memcmp(digest, m->image_digest, TC_SHA256_LEN) != 0) {
        char a[2 * TC_SHA256_LEN + 1], b[2 * TC_SHA256_LEN + 1];

        rc = tc_err_set(
            err, -EBADMSG, "manifest: image_digest is %.16s.., the chunk list gives %.16s..",
            tc_hex(a, m->image_digest, TC_SHA256_LEN), tc_hex(b, digest, TC_SHA256_LEN));
        goto err_free;
    }
    m->bytes = malloc(len);
    if (!m->bytes) {
        rc = tc_err_set(err, -ENOMEM, "manifest: out of memory");
        goto err_free;
    }
    memcpy(m->bytes, buf, len);
    m->len = len;
    if (m->list_hash)
        m->list_hash = m->bytes + (m->list_hash - buf);
    *out = m;
    return 0;

err_free:
    tc_manifest_free(m);
    return rc;
}

/** Serialize a manifest and parse it back, so the result is what readers see. */
int tc_manifest_build(const struct tc_manifest_params *p, const struct tc_manifest_chunk *chunks,
                      uint32_t chunk_count, const struct tc_manifest_blob *boot,
                      struct tc_manifest **out, struct tc_err *err)
{
    uint8_t digest[TC_SHA256_LEN];
    uint64_t stored = 0, payload;
    size_t len, name_len, ver_len;
    uint8_t *buf, *q;
    uint32_t i, nsections;
    size_t bh_len = 0;
    int rc;

    rc = tc_manifest_check_name(p->name, err);
    if (!rc)
        rc = tc_manifest_check_version(p->version, err);
    if (rc)
        return rc;
    if (chunk_count > TC_MANIFEST_CHUNKS_MAX)
        return tc_err_set(err, -E2BIG, "manifest: %u chunks, limit %u", chunk_count,
                          TC_MANIFEST_CHUNKS_MAX);
    if (p->created < 0 || (p->not_after != TC_TIME_NEVER && p->not_after < p->created))
        return tc_err_set(err, -EINVAL, "manifest: created %lld / not_after %lld out of order",
                          (long long)p->created, (long long)p->not_after);
    {
        char tmp[TC_RFC3339_LEN];

        if (tc_time_format(p->created, tmp) ||
            (p->not_after != TC_TIME_NEVER && tc_time_format(p->not_after, tmp)))
            return tc_err_set(err, -EINVAL, "manifest: created / not_after outside 1970..9999");
    }
    if (p->seg_size) {
        if (p->seg_size < TC_WIRE_SEG_SIZE_MIN || p->seg_size > TC_WIRE_SEG_SIZE_MAX)
            return tc_err_set(err, -EINVAL, "manifest: seg_size %u, expected %d..%d", p->seg_size,
                              TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX);
        if (!p->list_hash && chunk_count)
            return tc_err_set(err, -EINVAL, "manifest: seg_size %u without list hashes",
                              p->seg_size);
        bh_len = BH_LEN + (size_t)chunk_count * TC_MANIFEST_LIST_HASH_LEN;
    }
    nsections = (boot ? 1 : 0) + (p->seg_size ? 1 : 0);
    len = MH_LEN + (size_t)chunk_count * CE_LEN + (boot ? SH_LEN + BOOT_BODY_LEN : 0) +
          (p->seg_size ? SH_LEN + bh_len : 0);
    buf = calloc(1, len);
    if (!buf)
        return tc_err_set(err, -ENOMEM, "manifest: out of memory");
    for (i = 0; i < chunk_count; i++)
        stored += chunks[i].stored_len;
    payload = stored;
    for (i = 0; boot && i < TC_BOOT_BLOBS; i++)
        payload += boot[i].len;
    tc_manifest_digest(p->raw_size, p->chunk_size, chunks, chunk_count, digest);

    name_len = strlen(p->name);
    ver_len = strlen(p->version);
    memcpy(buf + MH_MAGIC, manifest_magic, sizeof(manifest_magic));
    tc_put_be16(buf + MH_VERSION, TC_MANIFEST_VERSION);
    tc_put_be16(buf + MH_HEADER_LEN, MH_LEN);
    tc_put_be32(buf + MH_SECTIONS, nsections);
    tc_put_be64(buf + MH_RAW_SIZE, p->raw_size);
    tc_put_be32(buf + MH_CHUNK_SIZE, p->chunk_size);
    tc_put_be32(buf + MH_CHUNK_COUNT, chunk_count);
    tc_put_be64(buf + MH_PAYLOAD_LEN, payload);
    tc_put_be64(buf + MH_STORED_BYTES, stored);
    memcpy(buf + MH_DIGEST, digest, TC_SHA256_LEN);
    put_date(buf + MH_CREATED, p->created);
    put_date(buf + MH_NOT_AFTER, p->not_after);
    buf[MH_NAME_LEN] = (uint8_t)name_len;
    buf[MH_VERSION_LEN] = (uint8_t)ver_len;
    memcpy(buf + MH_NAME, p->name, name_len);
    memcpy(buf + MH_VERSTR, p->version, ver_len);
    q = buf + MH_LEN;
    for (i = 0; i < chunk_count; i++, q += CE_LEN) {
        q[CE_ENC] = chunks[i].enc;
        tc_put_be32(q + CE_STORED_LEN, chunks[i].stored_len);
        memcpy(q + CE_STORED_HASH, chunks[i].stored_hash, TC_SHA256_LEN);
        memcpy(q + CE_RAW_HASH, chunks[i].raw_hash, TC_SHA256_LEN);
    }
    if (boot) {
        tc_put_be16(q + SH_TYPE, SECTION_BOOT);
        tc_put_be16(q + SH_FLAGS, SECTION_CRITICAL);
        tc_put_be32(q + SH_BODY_LEN, BOOT_BODY_LEN);
        q += SH_LEN;
        for (i = 0; i < TC_BOOT_BLOBS; i++, q += BOOT_ENTRY_LEN) {
            tc_put_be64(q, boot[i].len);
            memcpy(q + 8, boot[i].hash, TC_SHA256_LEN);
        }
    }
    if (p->seg_size) {
        /* Not critical: an older reader skips it and still unpacks. */
        tc_put_be16(q + SH_TYPE, SECTION_BLOCK_HASHES);
        tc_put_be16(q + SH_FLAGS, 0);
        tc_put_be32(q + SH_BODY_LEN, (uint32_t)bh_len);
        q += SH_LEN;
        tc_put_be32(q + BH_SEG_SIZE, p->seg_size);
        q[BH_HASH_LEN] = TC_WIRE_SEG_HASH_LEN;
        if (chunk_count)
            memcpy(q + BH_LIST, p->list_hash, (size_t)chunk_count * TC_MANIFEST_LIST_HASH_LEN);
        q += bh_len;
    }
    rc = tc_manifest_parse(buf, len, out, err);
    free(buf);
    return rc;
}

/** SHA-256 of a segment hash list; see manifest.h. */
void tc_manifest_list_hash(const uint8_t *hash_list, size_t len, uint8_t out[TC_SHA256_LEN])
{
    tc_sha256(hash_list, len, out);
}

/** Check a chunk's segment hash list against the block-hash section; see manifest.h. */
int tc_manifest_check_list(const struct tc_manifest *m, uint32_t idx, const uint8_t *hash_list,
                           size_t len, struct tc_err *err)
{
    char a[2 * TC_SHA256_LEN + 1], b[2 * TC_SHA256_LEN + 1];
    const uint8_t *want;
    uint8_t h[TC_SHA256_LEN];
    uint64_t want_len;
    uint32_t nsegs;

    if (!m->list_hash)
        return tc_err_set(err, -ENOENT, "manifest of %s: no block-hash section", m->name);
    if (idx >= m->chunk_count)
        return tc_err_set(err, -EINVAL, "chunk %u: out of range, the image has %u chunks", idx,
                          m->chunk_count);
    nsegs = tc_proto_nsegs(m->chunks[idx].stored_len, m->seg_size);
    want_len = (uint64_t)nsegs * TC_WIRE_SEG_HASH_LEN;
    if (len != want_len)
        return tc_err_set(err, -EILSEQ,
                          "chunk %u: hash list is %zu bytes, expected %llu (%u segments of %u "
                          "bytes in %u stored bytes)",
                          idx, len, (unsigned long long)want_len, nsegs, m->seg_size,
                          m->chunks[idx].stored_len);
    want = m->list_hash + (size_t)idx * TC_MANIFEST_LIST_HASH_LEN;
    tc_manifest_list_hash(hash_list, len, h);
    if (memcmp(h, want, TC_SHA256_LEN) != 0)
        return tc_err_set(err, -EILSEQ,
                          "chunk %u: SHA-256 of its hash list is %s, the manifest's block-hash "
                          "section says %s",
                          idx, tc_hex(a, h, TC_SHA256_LEN), tc_hex(b, want, TC_SHA256_LEN));
    return 0;
}
