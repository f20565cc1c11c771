/* SPDX-License-Identifier: MIT */
/*
 * Chunk codec: ZERO, RAW or DEFLATE (zlib format, RFC 1950).
 *
 * The only module that includes zlib.h is lib/chunk.c. Decoding is bounded by
 * the chunk's raw size (a decompression bomb stops at that size with an
 * error), and tc_chunk_verify_decode() is the one verified path every writer
 * uses: hash the stored bytes, compare with the manifest, then inflate.
 */
#ifndef TREECAST_CHUNK_H
#define TREECAST_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

struct tc_manifest;

/** Stored encodings (values are in the file format: never renumber). */
enum tc_enc {
    TC_ENC_ZERO = 0,    /**< all-zero raw chunk, nothing stored */
    TC_ENC_RAW = 1,     /**< stored bytes = raw bytes */
    TC_ENC_DEFLATE = 2, /**< zlib stream (RFC 1950) inflating to the raw bytes */
};

/** Default zlib level used by pack (speed/ratio trade-off measured in bench/pack). */
#define TC_CHUNK_LEVEL_DEFAULT 6

/*
 * Encode one raw chunk, picking the smallest of ZERO, RAW, DEFLATE.
 * out must hold at least raw_len bytes; on return *enc and *stored_len say
 * what is in out (0 bytes for ZERO). A DEFLATE result is used only when it is
 * strictly smaller than raw_len.
 */
int tc_chunk_encode(const uint8_t *raw, size_t raw_len, int level, uint8_t *out, enum tc_enc *enc,
                    size_t *stored_len, struct tc_err *err);

/*
 * Decode stored bytes into raw, which must be exactly raw_len bytes long.
 * Fails with -EBADMSG if the stream is corrupt, inflates to more or fewer than
 * raw_len bytes, or has trailing bytes. Never writes past raw + raw_len.
 */
int tc_chunk_decode(enum tc_enc enc, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                    size_t raw_len, struct tc_err *err);

/**
 * The hash and decode steps of the verified path, as an ops table so that the
 * simulator can substitute cheap stand-ins at scale (4,000 nodes x 10 GiB of
 * SHA-256 would dominate its run time). tc_chunk_ops_default is SHA-256 and
 * zlib.
 */
struct tc_chunk_ops {
    /** Hash len bytes at buf into out. */
    void (*hash)(const void *buf, size_t len, uint8_t out[32]);
    /** As tc_chunk_decode(). */
    int (*decode)(enum tc_enc enc, const uint8_t *stored, size_t stored_len, uint8_t *raw,
                  size_t raw_len, struct tc_err *err);
};

extern const struct tc_chunk_ops tc_chunk_ops_default;

/*
 * As tc_chunk_decode(), without zlib's Adler-32 check of the output (the
 * stream's structure, its length, the 4 trailer bytes and trailing bytes are
 * checked as before). Only for callers that check the raw SHA-256 of the
 * result against a trusted manifest, which the Adler-32 cannot add to: the
 * agent. An image whose streams fail Adler-32 is still invalid (treecast
 * verify and unpack use tc_chunk_decode()).
 */
int tc_chunk_decode_no_adler(enum tc_enc enc, const uint8_t *stored, size_t stored_len,
                             uint8_t *raw, size_t raw_len, struct tc_err *err);
/* SHA-256 and tc_chunk_decode_no_adler(): the agent's default. */
extern const struct tc_chunk_ops tc_chunk_ops_no_adler;

/*
 * The verified path: check that stored (len bytes) is exactly chunk idx of m
 * (length and SHA-256 of the stored bytes), then decode into raw (the chunk's
 * raw length, tc_manifest_chunk_raw_len()). On any failure nothing in raw may
 * be used. Error messages name the chunk and the expected and actual values.
 */
int tc_chunk_verify_decode(const struct tc_manifest *m, uint32_t idx, const uint8_t *stored,
                           size_t len, uint8_t *raw, struct tc_err *err);
/* The same with explicit ops (NULL = tc_chunk_ops_default). */
int tc_chunk_verify_decode_ops(const struct tc_chunk_ops *ops, const struct tc_manifest *m,
                               uint32_t idx, const uint8_t *stored, size_t len, uint8_t *raw,
                               struct tc_err *err);

/**
 * A reusable inflate state, so that the hot path does not allocate one per
 * chunk. Not thread-safe: one per thread. (Added by lib/.)
 */
struct tc_chunk_decoder;

int tc_chunk_decoder_new(struct tc_chunk_decoder **out, struct tc_err *err);
void tc_chunk_decoder_free(struct tc_chunk_decoder *d);
/* As tc_chunk_decode(), reusing d (d = NULL: a fresh inflate state). */
int tc_chunk_decoder_decode(struct tc_chunk_decoder *d, enum tc_enc enc, const uint8_t *stored,
                            size_t stored_len, uint8_t *raw, size_t raw_len, struct tc_err *err);
/* As tc_chunk_verify_decode(), reusing d (d = NULL: a fresh inflate state). */
int tc_chunk_verify_decode_dec(struct tc_chunk_decoder *d, const struct tc_manifest *m,
                               uint32_t idx, const uint8_t *stored, size_t len, uint8_t *raw,
                               struct tc_err *err);

/* True if the len bytes at buf are all zero (fast, word at a time). */
int tc_chunk_is_zero(const uint8_t *buf, size_t len);

/* "zero", "raw", "deflate" or "?". */
const char *tc_enc_name(enum tc_enc enc);

/* Version string of the inflate backend ("zlib 1.2.13"). */
const char *tc_chunk_backend_version(void);

#endif /* TREECAST_CHUNK_H */
