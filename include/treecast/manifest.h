/* SPDX-License-Identifier: MIT */
/*
 * The image manifest: what an image is, chunk by chunk.
 *
 * A parsed manifest is immutable and shared by pointer (every core in a
 * process reads the same one). Its serialized bytes are kept: signatures
 * cover exactly those bytes. docs/image-format.md is the spec.
 */
#ifndef TREECAST_MANIFEST_H
#define TREECAST_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"
#include "treecast/err.h"

/** Manifest format version written and accepted. */
#define TC_MANIFEST_VERSION 1
/** Chunk sizes: powers of two in [MIN, MAX]; DEFAULT for pack. */
#define TC_CHUNK_SIZE_MIN (64u * 1024)
#define TC_CHUNK_SIZE_MAX (16u * 1024 * 1024)
#define TC_CHUNK_SIZE_DEFAULT (1024u * 1024)
/** Largest chunk the protocol puts on the wire (DESIGN.md section 3). */
#define TC_CHUNK_SIZE_WIRE_MAX (4u * 1024 * 1024)
/** Most chunks in one image (1 TiB at 1 MiB chunks). */
#define TC_MANIFEST_CHUNKS_MAX (1u << 20)
/** Longest serialized manifest accepted. */
#define TC_MANIFEST_LEN_MAX (80u * 1024 * 1024)
/** Image name: 1..64 of [A-Za-z0-9._+-], starting with an alphanumeric. */
#define TC_NAME_MAX 64
/** Image version: 1..32 of [A-Za-z0-9._+~-]; compared by tc_version_cmp(). */
#define TC_VERSION_MAX 32
/** Kernel command line in the boot section, bytes. */
#define TC_BOOT_CMDLINE_MAX 4096
/** Largest kernel or initrd in the boot section, bytes. */
#define TC_BOOT_BLOB_MAX (1024ull * 1024 * 1024)
/** Most sections after the chunk table (docs/image-format.md). */
#define TC_MANIFEST_SECTIONS_MAX 16
/** Block-hash section (type 2): per-chunk list hash length, bytes (SHA-256). */
#define TC_MANIFEST_LIST_HASH_LEN TC_SHA256_LEN
/** "no expiry" for not_after. */
#define TC_TIME_NEVER INT64_MAX

/** One chunk as the manifest describes it. */
struct tc_manifest_chunk {
    uint64_t stored_off;                /**< offset of the stored bytes in the payload area */
    uint32_t stored_len;                /**< bytes stored (0 for ZERO) */
    uint8_t enc;                        /**< enum tc_enc */
    uint8_t stored_hash[TC_SHA256_LEN]; /**< SHA-256 of the stored bytes */
    uint8_t raw_hash[TC_SHA256_LEN];    /**< SHA-256 of the raw chunk as it lands on disk */
};

/** One blob of the optional boot section, stored raw after the chunks. */
struct tc_manifest_blob {
    uint64_t off;                /**< offset in the payload area */
    uint64_t len;                /**< bytes (0 = absent) */
    uint8_t hash[TC_SHA256_LEN]; /**< SHA-256 of the bytes */
};

/** Boot section blobs, by index. */
enum tc_boot_blob {
    TC_BOOT_KERNEL = 0,
    TC_BOOT_INITRD = 1,
    TC_BOOT_CMDLINE = 2,
    TC_BOOT_BLOBS = 3,
};

/** A parsed, immutable manifest. */
struct tc_manifest {
    uint16_t format_version;                     /**< TC_MANIFEST_VERSION */
    char name[TC_NAME_MAX + 1];                  /**< image name, NUL-terminated */
    char version[TC_VERSION_MAX + 1];            /**< image version, NUL-terminated */
    uint64_t raw_size;                           /**< bytes of the raw image */
    uint32_t chunk_size;                         /**< raw bytes per chunk (last may be shorter) */
    uint32_t chunk_count;                        /**< ceil(raw_size / chunk_size) */
    int64_t created;                             /**< seconds since the epoch, UTC */
    int64_t not_after;                           /**< expiry, or TC_TIME_NEVER */
    uint64_t payload_len;                        /**< stored chunk bytes + boot blobs */
    uint64_t stored_chunk_bytes;                 /**< sum of the chunks' stored_len */
    uint8_t image_digest[TC_SHA256_LEN];         /**< tc_manifest_digest() of the raw-hash list */
    struct tc_manifest_chunk *chunks;            /**< chunk_count entries */
    int has_boot;                                /**< boot section present */
    uint32_t seg_size;                           /**< block-hash section (type 2):
                                                      segment size; 0 = section absent */
    const uint8_t *list_hash;                    /**< chunk_count x 32 bytes: SHA-256 of each
                                                      chunk's segment hash list (points
                                                      into bytes), NULL if absent */
    struct tc_manifest_blob boot[TC_BOOT_BLOBS]; /**< kernel, initrd, cmdline */
    uint8_t *bytes;                              /**< the serialized manifest (owned) */
    size_t len;                                  /**< its length */
};

/** What pack supplies to build a manifest. */
struct tc_manifest_params {
    const char *name;         /**< image name */
    const char *version;      /**< image version */
    uint64_t raw_size;        /**< raw bytes */
    uint32_t chunk_size;      /**< power of two in [MIN, MAX] */
    int64_t created;          /**< seconds since the epoch */
    int64_t not_after;        /**< or TC_TIME_NEVER */
    uint32_t seg_size;        /**< block-hash section: segment size (0 = no section) */
    const uint8_t *list_hash; /**< chunk_count x 32 bytes (with seg_size), copied */
};

/*
 * Parse a serialized manifest. Every length and count is bounded before use;
 * the chunk offsets are computed and checked; the image digest is recomputed
 * from the chunk list and compared. Without a block-hash section seg_size is
 * 0 and list_hash NULL. On success *out is a new manifest owning
 * a copy of buf; free it with tc_manifest_free().
 */
int tc_manifest_parse(const uint8_t *buf, size_t len, struct tc_manifest **out, struct tc_err *err);

/*
 * Serialize a manifest from params and chunk_count chunks (stored_off is
 * ignored and computed), with an optional boot section (boot = NULL for none,
 * else TC_BOOT_BLOBS entries whose off is ignored: blobs follow the chunks)
 * and, when p->seg_size is not 0, a block-hash section holding a copy of
 * p->list_hash (chunk_count x 32 bytes). The result is parsed back, so *out
 * is exactly what a reader will see.
 */
int tc_manifest_build(const struct tc_manifest_params *p, const struct tc_manifest_chunk *chunks,
                      uint32_t chunk_count, const struct tc_manifest_blob *boot,
                      struct tc_manifest **out, struct tc_err *err);

void tc_manifest_free(struct tc_manifest *m);

/*
 * SHA-256 of a segment hash list (tc_proto_hash_list()): the value the
 * block-hash section stores per chunk. len 0 gives SHA-256 of the empty
 * string, which is what a ZERO chunk has.
 */
void tc_manifest_list_hash(const uint8_t *hash_list, size_t len, uint8_t out[TC_SHA256_LEN]);

/*
 * Check chunk idx's segment hash list (len bytes) against the block-hash
 * section: len must be tc_proto_nsegs(stored_len, seg_size) * 16 and its
 * SHA-256 must equal list_hash[idx]. 0; -EILSEQ naming the chunk when it does
 * not match; -ENOENT when the manifest has no block-hash section; -EINVAL for
 * an idx out of range.
 */
int tc_manifest_check_list(const struct tc_manifest *m, uint32_t idx, const uint8_t *hash_list,
                           size_t len, struct tc_err *err);

/* Raw length of chunk idx (chunk_size, or less for the last one). */
uint32_t tc_manifest_chunk_raw_len(const struct tc_manifest *m, uint32_t idx);

/*
 * The whole-image digest: SHA-256 over "treecast image v1", raw_size,
 * chunk_size and the list of raw chunk hashes (no pass over the raw bytes).
 */
void tc_manifest_digest(uint64_t raw_size, uint32_t chunk_size,
                        const struct tc_manifest_chunk *chunks, uint32_t chunk_count,
                        uint8_t out[TC_SHA256_LEN]);

/* "NAME@sha256:HEX" into buf (TC_NAME_MAX + 8 + 64 + 1 bytes suffice). */
char *tc_manifest_pin(const struct tc_manifest *m, char *buf, size_t cap);

/* Validate an image name or version string; 0 or -EINVAL with a message. */
int tc_manifest_check_name(const char *name, struct tc_err *err);
int tc_manifest_check_version(const char *version, struct tc_err *err);

/*
 * Compare two version strings: split into runs of digits and non-digits,
 * digit runs compared numerically, others bytewise ("1.10" > "1.9").
 * Returns <0, 0, >0.
 */
int tc_version_cmp(const char *a, const char *b);

#endif /* TREECAST_MANIFEST_H */
