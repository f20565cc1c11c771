/* SPDX-License-Identifier: MIT */
/*
 * os/ image file reader: a .tcimg opened read-only and mapped into memory,
 * its header, trailer, manifest and signature block parsed through lib/.
 *
 * The mapping is shared and read-only: chunk pointers point straight into it
 * (no copy), so that verify and unpack stream a large image through the page
 * cache. Nothing here checks signatures or chunk hashes: that is the trust
 * and chunk modules' job. Every message is prefixed with the file name.
 */
#ifndef TREECAST_IMGFILE_H
#define TREECAST_IMGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/sigblock.h"
#include "treecast/tcimg.h"

/** Open flags. */
enum tc_imgfile_flags {
    /** The file will be read front to back (verify, unpack): madvise(MADV_SEQUENTIAL). */
    TC_IMGFILE_SEQUENTIAL = 1u << 0,
    /**
     * Accept a torn tail (a crash while signing): when the trailer or the
     * signature block does not parse, open anyway with tail_ok = 0, an empty
     * signature block and tail_msg saying why. Only `treecast sign` uses it.
     */
    TC_IMGFILE_TAIL_OPTIONAL = 1u << 1,
};

/** An open image file. Read-only once opened. */
struct tc_imgfile {
    char *path;                    /**< the name it was opened by (owned) */
    int fd;                        /**< read-only descriptor */
    const uint8_t *map;            /**< the whole file, mapped read-only */
    size_t map_len;                /**< bytes mapped (= layout.file_size) */
    struct tc_tcimg_layout layout; /**< where everything is */
    struct tc_manifest *manifest;  /**< parsed manifest (owned) */
    struct tc_sigblock sigs;       /**< parsed signature block */
    int tail_ok;                   /**< trailer and signature block parsed */
    char tail_msg[TC_ERR_MSG_MAX]; /**< why not, when tail_ok is 0 */
};

/*
 * Open and parse path. *out is a new struct tc_imgfile; close it with
 * tc_imgfile_close(). flags: enum tc_imgfile_flags. -EBADMSG, -EPROTO or
 * -E2BIG for a malformed file, a system error for an unreadable one.
 */
int tc_imgfile_open(struct tc_imgfile **out, const char *path, unsigned flags, struct tc_err *err);

/* Unmap, close and free (f may be NULL). */
void tc_imgfile_close(struct tc_imgfile *f);

/*
 * The stored bytes of chunk idx (< chunk_count) inside the mapping; *len
 * receives the stored length (0 for a ZERO chunk). The manifest's offsets
 * were checked against the payload area when the file was opened.
 */
const uint8_t *tc_imgfile_chunk(const struct tc_imgfile *f, uint32_t idx, size_t *len);

/* The bytes of boot blob which (enum tc_boot_blob), or NULL if absent. */
const uint8_t *tc_imgfile_blob(const struct tc_imgfile *f, unsigned which, size_t *len);

#endif /* TREECAST_IMGFILE_H */
