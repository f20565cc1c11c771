// SPDX-License-Identifier: MIT
/*
 * Chunk codec: ZERO, RAW or DEFLATE (zlib format, RFC 1950), and the one
 * verified path that turns stored bytes into raw bytes for a disk.
 *
 * The only file that includes zlib.h. Inflation is bounded by the chunk's raw
 * length: output never goes past raw + raw_len, and a stream that would
 * produce more (a decompression bomb) is an error.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "treecast/chunk.h"
#include "treecast/manifest.h"

/** zlib window for both directions: 32 KiB, zlib header and Adler-32 trailer. */
#define ZLIB_WINDOW_BITS 15
/** deflate's memLevel (zlib's default). */
#define ZLIB_MEM_LEVEL 8
/** Hex digits of a hash shown in messages. */
#define HASH_SHOWN_HEX 16

/** A reusable inflate state (one per thread): see tc_chunk_decoder_new(). */
struct tc_chunk_decoder {
    z_stream zs; /**< initialized by inflateInit2, reset per chunk */
};

/** Name of an encoding for messages and inspect. */
const char *tc_enc_name(enum tc_enc enc)
{
    switch (enc) {
    case TC_ENC_ZERO:
        return "zero";
    case TC_ENC_RAW:
        return "raw";
    case TC_ENC_DEFLATE:
        return "deflate";
    }
    return "?";
}

/** The zlib version compiled in, for --version. */
const char *tc_chunk_backend_version(void)
{
    return "zlib " ZLIB_VERSION;
}

/**
 * True if every byte is zero. ORs 256-byte blocks a word at a time (the
 * compiler vectorizes the inner loop) and stops at the first non-zero block.
 */
int tc_chunk_is_zero(const uint8_t *buf, size_t len)
{
    while (len >= 256) {
        uint64_t acc = 0, w;
        size_t i;

        for (i = 0; i < 256; i += 8) {
            memcpy(&w, buf + i, 8);
            acc |= w;
        }
        if (acc)
            return 0;
        buf += 256;
        len -= 256;
    }
    while (len--)
        if (*buf++)
            return 0;
    return 1;
}

/** Encode one raw chunk, choosing the smallest of ZERO, RAW and DEFLATE. */
int tc_chunk_encode(const uint8_t *raw, size_t raw_len, int level, uint8_t *out, enum tc_enc *enc,
                    size_t *stored_len, struct tc_err *err)
{
    z_stream zs;
    int ret;

    if (raw_len == 0 || raw_len > UINT_MAX)
        return tc_err_set(err, -EINVAL, "chunk encode: raw length %zu out of range 1..%u", raw_len,
                          UINT_MAX);
    if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
        return tc_err_set(err, -EINVAL, "chunk encode: zlib level %d out of range -1..9", level);
    if (tc_chunk_is_zero(raw, raw_len)) {
        *enc = TC_ENC_ZERO;
        *stored_len = 0;
        return 0;
    }
    if (raw_len > 1 && level != 0) {
        memset(&zs, 0, sizeof(zs));
        ret = deflateInit2(&zs, level, Z_DEFLATED, ZLIB_WINDOW_BITS, ZLIB_MEM_LEVEL,
                           Z_DEFAULT_STRATEGY);
        if (ret != Z_OK)
            return tc_err_set(err, ret == Z_MEM_ERROR ? -ENOMEM : -EIO,
                              "chunk encode: deflateInit failed (zlib %d)", ret);
        zs.next_in = (Bytef *)raw;
        zs.avail_in = (uInt)raw_len;
        zs.next_out = out;
        zs.avail_out = (uInt)(raw_len - 1); /* DEFLATE only if strictly smaller */
        ret = deflate(&zs, Z_FINISH);
        deflateEnd(&zs);
        if (ret == Z_STREAM_END) {
            *enc = TC_ENC_DEFLATE;
            *stored_len = zs.total_out;
            return 0;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR)
            return tc_err_set(err, -EIO, "chunk encode: deflate failed (zlib %d)", ret);
    }
    memcpy(out, raw, raw_len);
    *enc = TC_ENC_RAW;
    *stored_len = raw_len;
    return 0;
}

/**
 * Inflate stored into exactly raw_len bytes at raw with an initialized (or
 * freshly reset) stream. Output is bounded by avail_out = raw_len.
 */
static int inflate_bounded(z_stream *zs, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                           size_t raw_len, struct tc_err *err)
{
    int ret;

    zs->next_in = (Bytef *)stored;
    zs->avail_in = (uInt)stored_len;
    zs->next_out = raw;
    zs->avail_out = (uInt)raw_len;
    ret = inflate(zs, Z_FINISH);
    switch (ret) {
    case Z_STREAM_END:
        if (zs->avail_in)
            return tc_err_set(err, -EBADMSG,
                              "deflate stream has %u trailing bytes after its end (stored "
                              "length %zu)",
                              zs->avail_in, stored_len);
        if (zs->total_out != raw_len)
            return tc_err_set(err, -EBADMSG,
                              "deflate stream inflates to %lu bytes, expected %zu (too short)",
                              zs->total_out, raw_len);
        return 0;
    case Z_NEED_DICT:
        return tc_err_set(err, -EBADMSG, "deflate stream asks for a preset dictionary");
    case Z_DATA_ERROR:
        return tc_err_set(err, -EBADMSG, "deflate stream corrupt after %lu input bytes: %s",
                          zs->total_in, zs->msg ? zs->msg : "invalid data");
    case Z_MEM_ERROR:
        return tc_err_set(err, -ENOMEM, "inflate: out of memory");
    default:
        break;
    }
    /* Z_OK / Z_BUF_ERROR: the stream did not end. Why? */
    if (zs->avail_out == 0 && zs->avail_in > 0)
        return tc_err_set(err, -EBADMSG,
                          "deflate stream inflates to more than %zu bytes (decompression "
                          "bomb?)",
                          raw_len);
    return tc_err_set(err, -EBADMSG,
                      "deflate stream truncated: ends after %lu of %zu raw bytes without its "
                      "end marker",
                      zs->total_out, raw_len);
}

/** Checks shared by every decoder; returns 1 when done (ZERO/RAW), 0 to inflate. */
static int decode_simple(enum tc_enc enc, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                         size_t raw_len, struct tc_err *err)
{
    switch (enc) {
    case TC_ENC_ZERO:
        if (stored_len != 0)
            return tc_err_set(err, -EBADMSG, "zero chunk has %zu stored bytes, expected 0",
                              stored_len);
        memset(raw, 0, raw_len);
        return 1;
    case TC_ENC_RAW:
        if (stored_len != raw_len)
            return tc_err_set(err, -EBADMSG, "raw chunk has %zu stored bytes, expected %zu",
                              stored_len, raw_len);
        memcpy(raw, stored, raw_len);
        return 1;
    case TC_ENC_DEFLATE:
        if (stored_len == 0 || stored_len > UINT_MAX || raw_len > UINT_MAX)
            return tc_err_set(err, -EBADMSG,
                              "deflate chunk: stored length %zu / raw length %zu out of range",
                              stored_len, raw_len);
        return 0;
    }
    return tc_err_set(err, -EBADMSG, "unknown chunk encoding %d", (int)enc);
}

/** Decode with a fresh inflate state; adler = 0 skips the Adler-32 check. */
static int decode_fresh(enum tc_enc enc, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                        size_t raw_len, int adler, struct tc_err *err)
{
    z_stream zs;
    int rc;

    rc = decode_simple(enc, stored, stored_len, raw, raw_len, err);
    if (rc)
        return rc < 0 ? rc : 0;
    memset(&zs, 0, sizeof(zs));
    rc = inflateInit2(&zs, ZLIB_WINDOW_BITS);
    if (rc != Z_OK)
        return tc_err_set(err, rc == Z_MEM_ERROR ? -ENOMEM : -EIO, "inflateInit failed (zlib %d)",
                          rc);
    if (!adler && inflateValidate(&zs, 0) != Z_OK) {
        inflateEnd(&zs);
        return tc_err_set(err, -EIO, "inflateValidate failed");
    }
    rc = inflate_bounded(&zs, stored, stored_len, raw, raw_len, err);
    inflateEnd(&zs);
    return rc;
}

/** Decode stored bytes into exactly raw_len bytes at raw; see chunk.h. */
int tc_chunk_decode(enum tc_enc enc, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                    size_t raw_len, struct tc_err *err)
{
    return decode_fresh(enc, stored, stored_len, raw, raw_len, 1, err);
}

/** As tc_chunk_decode() without the Adler-32 check; see chunk.h. */
int tc_chunk_decode_no_adler(enum tc_enc enc, const uint8_t *stored, size_t stored_len,
                             uint8_t *raw, size_t raw_len, struct tc_err *err)
{
    return decode_fresh(enc, stored, stored_len, raw, raw_len, 0, err);
}

/**
 * Make a reusable decoder: one per thread, so that the hot path does not
 * allocate an inflate state per chunk. Free it with tc_chunk_decoder_free().
 */
int tc_chunk_decoder_new(struct tc_chunk_decoder **out, struct tc_err *err)
{
    struct tc_chunk_decoder *d = calloc(1, sizeof(*d));
    int ret;

    if (!d)
        return tc_err_set(err, -ENOMEM, "chunk decoder: out of memory");
    ret = inflateInit2(&d->zs, ZLIB_WINDOW_BITS);
    if (ret != Z_OK) {
        free(d);
        return tc_err_set(err, ret == Z_MEM_ERROR ? -ENOMEM : -EIO, "inflateInit failed (zlib %d)",
                          ret);
    }
    *out = d;
    return 0;
}

/** Free a decoder (NULL is allowed). */
void tc_chunk_decoder_free(struct tc_chunk_decoder *d)
{
    if (!d)
        return;
    inflateEnd(&d->zs);
    free(d);
}

/** As tc_chunk_decode(), reusing d's inflate state (d = NULL: a fresh one). */
int tc_chunk_decoder_decode(struct tc_chunk_decoder *d, enum tc_enc enc, const uint8_t *stored,
                            size_t stored_len, uint8_t *raw, size_t raw_len, struct tc_err *err)
{
    int rc;

    if (!d)
        return tc_chunk_decode(enc, stored, stored_len, raw, raw_len, err);
    rc = decode_simple(enc, stored, stored_len, raw, raw_len, err);
    if (rc)
        return rc < 0 ? rc : 0;
    rc = inflateReset(&d->zs);
    if (rc != Z_OK)
        return tc_err_set(err, -EIO, "inflateReset failed (zlib %d)", rc);
    return inflate_bounded(&d->zs, stored, stored_len, raw, raw_len, err);
}

const struct tc_chunk_ops tc_chunk_ops_default = {
    .hash = tc_sha256,
    .decode = tc_chunk_decode,
};

const struct tc_chunk_ops tc_chunk_ops_no_adler = {
    .hash = tc_sha256,
    .decode = tc_chunk_decode_no_adler,
};

/**
 * Check length and hash of the stored bytes of chunk idx against m; the part
 * of the verified path that comes before any inflating.
 */
static int verify_stored(const struct tc_chunk_ops *ops, const struct tc_manifest *m, uint32_t idx,
                         const uint8_t *stored, size_t len, struct tc_err *err)
{
    const struct tc_manifest_chunk *c;
    uint8_t h[TC_SHA256_LEN];
    char got[2 * TC_SHA256_LEN + 1], want[2 * TC_SHA256_LEN + 1];

    if (idx >= m->chunk_count)
        return tc_err_set(err, -EINVAL, "chunk %u: out of range, image %s has %u chunks", idx,
                          m->name, m->chunk_count);
    c = &m->chunks[idx];
    if (len != c->stored_len)
        return tc_err_set(err, -EILSEQ, "chunk %u: %zu stored bytes, manifest says %u", idx, len,
                          c->stored_len);
    ops->hash(stored, len, h);
    if (memcmp(h, c->stored_hash, TC_SHA256_LEN) != 0)
        return tc_err_set(err, -EILSEQ, "chunk %u: stored SHA-256 is %.*s.., manifest says %.*s..",
                          idx, HASH_SHOWN_HEX, tc_hex(got, h, TC_SHA256_LEN), HASH_SHOWN_HEX,
                          tc_hex(want, c->stored_hash, TC_SHA256_LEN));
    return 0;
}

/** The verified path with explicit ops: stored length and hash first, then decode. */
int tc_chunk_verify_decode_ops(const struct tc_chunk_ops *ops, const struct tc_manifest *m,
                               uint32_t idx, const uint8_t *stored, size_t len, uint8_t *raw,
                               struct tc_err *err)
{
    int rc;

    if (!ops)
        ops = &tc_chunk_ops_default;
    rc = verify_stored(ops, m, idx, stored, len, err);
    if (rc)
        return rc;
    rc = ops->decode((enum tc_enc)m->chunks[idx].enc, stored, len, raw,
                     tc_manifest_chunk_raw_len(m, idx), err);
    if (rc)
        return tc_err_prefix(err, rc, "chunk %u: ", idx);
    return 0;
}

/** The verified path with SHA-256 and zlib. */
int tc_chunk_verify_decode(const struct tc_manifest *m, uint32_t idx, const uint8_t *stored,
                           size_t len, uint8_t *raw, struct tc_err *err)
{
    return tc_chunk_verify_decode_ops(NULL, m, idx, stored, len, raw, err);
}

/** The verified path with a reusable decoder (d = NULL: as tc_chunk_verify_decode()). */
int tc_chunk_verify_decode_dec(struct tc_chunk_decoder *d, const struct tc_manifest *m,
                               uint32_t idx, const uint8_t *stored, size_t len, uint8_t *raw,
                               struct tc_err *err)
{
    int rc;

    rc = verify_stored(&tc_chunk_ops_default, m, idx, stored, len, err);
    if (rc)
        return rc;
    rc = tc_chunk_decoder_decode(d, (enum tc_enc)m->chunks[idx].enc, stored, len, raw,
                                 tc_manifest_chunk_raw_len(m, idx), err);
    if (rc)
        return tc_err_prefix(err, rc, "chunk %u: ", idx);
    return 0;
}
