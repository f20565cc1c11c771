/* SPDX-License-Identifier: MIT */
/*
 * The .tcimg container: [header][manifest][payload][signature block][trailer].
 *
 * The header (fixed size, at offset 0) locates the manifest and the payload
 * area; the signature block always starts right after the payload; the
 * trailer (fixed size, the last bytes of the file) gives the signature
 * block's length. Signing rewrites only the signature block and the trailer.
 * This module parses and writes the fixed parts; it does no I/O.
 */
#ifndef TREECAST_TCIMG_H
#define TREECAST_TCIMG_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/sigblock.h"

#define TC_TCIMG_VERSION 1
#define TC_TCIMG_HEADER_LEN 64
#define TC_TCIMG_TRAILER_LEN 64

/** Where everything is in a .tcimg file. */
struct tc_tcimg_layout {
    uint64_t file_size;    /**< bytes in the file */
    uint64_t manifest_off; /**< = TC_TCIMG_HEADER_LEN */
    uint64_t manifest_len; /**< bytes of serialized manifest */
    uint64_t payload_off;  /**< first stored chunk byte */
    uint64_t payload_len;  /**< stored chunks + boot blobs */
    uint64_t sigblock_off; /**< = payload_off + payload_len */
    uint64_t sigblock_len; /**< bytes of signature block (from the trailer) */
};

/*
 * Parse the header (buf holds at least TC_TCIMG_HEADER_LEN bytes) of a file
 * of file_size bytes and fill manifest_*, payload_*, sigblock_off. Checks
 * magic, version, and that every region lies inside the file.
 */
int tc_tcimg_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                          struct tc_tcimg_layout *l, struct tc_err *err);
void tc_tcimg_header_put(uint8_t buf[TC_TCIMG_HEADER_LEN], const struct tc_tcimg_layout *l);

/*
 * Parse the trailer (the last TC_TCIMG_TRAILER_LEN bytes of buf; len >= 64) against a layout
 * already filled by tc_tcimg_header_parse(); fills sigblock_len and checks
 * that the trailer agrees with the header and that the signature block ends
 * exactly where the trailer begins.
 */
int tc_tcimg_trailer_parse(const uint8_t *buf, size_t len, struct tc_tcimg_layout *l,
                           struct tc_err *err);
void tc_tcimg_trailer_put(uint8_t buf[TC_TCIMG_TRAILER_LEN], const struct tc_tcimg_layout *l);

/*
 * Parse a whole .tcimg held in memory (tests, fuzzing, small images): header,
 * trailer, manifest (checked against payload_len) and signature block. Does
 * not check signatures or chunk hashes.
 */
int tc_tcimg_parse(const uint8_t *buf, size_t len, struct tc_tcimg_layout *l,
                   struct tc_manifest **m, struct tc_sigblock *sb, struct tc_err *err);

#endif /* TREECAST_TCIMG_H */
