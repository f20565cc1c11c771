/* SPDX-License-Identifier: MIT */
/*
 * Error reporting.
 *
 * Functions return int rc: 0 on success, a negative errno-style code on
 * failure, propagated unchanged. Where the caller needs to tell a user what
 * failed, the function also takes an optional struct tc_err into which it
 * writes one human-readable sentence naming the object (file, chunk, field,
 * key id) and the expected and actual values. lib/ never prints: the caller
 * decides where the sentence goes.
 *
 * Codes used across treecast (from <errno.h>):
 *   -EINVAL      bad argument or option
 *   -EBADMSG     malformed input (format, field out of bounds, bad magic)
 *   -EPROTO      unsupported format or protocol version
 *   -E2BIG       a count or length over its named limit
 *   -EILSEQ      a hash mismatch (stored or raw bytes differ from the manifest)
 *   -EKEYREJECTED a signature that does not verify, or too few trusted ones
 *   -ENOKEY      no trusted key for a signature / empty trust store
 *   -EKEYEXPIRED an expired image or a stale revocation list
 *   -EKEYREVOKED a revoked key or image
 *   -ETIME       the clock cannot be trusted (earlier than the build time)
 *   -ENOSPC      target too small
 *   -EBUSY       target mounted or in use
 *   -ENOMEM, -EIO and other system errors from os/
 */
#ifndef TREECAST_ERR_H
#define TREECAST_ERR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/** Longest message kept, including the terminating NUL. */
#define TC_ERR_MSG_MAX 512

/** One error: the code and a sentence naming what failed. */
struct tc_err {
    int rc;                   /**< negative errno-style code, 0 if none */
    char msg[TC_ERR_MSG_MAX]; /**< NUL-terminated sentence, "" if none */
};

/*
 * Record an error in err (which may be NULL) and return rc unchanged, so that
 * callers can write `return tc_err_set(err, -EBADMSG, "...", ...);`.
 * A later tc_err_set does not overwrite an earlier message unless the earlier
 * one was cleared: the innermost, most precise message wins.
 */
int tc_err_set(struct tc_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear err (may be NULL). */
void tc_err_clear(struct tc_err *err);

/*
 * Prefix the message already in err with context ("image.tcimg: ") and return
 * rc. Used when an outer layer knows the file name the inner one did not.
 */
int tc_err_prefix(struct tc_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format a byte string as lower-case hex into out (2*len+1 bytes). */
char *tc_hex(char *out, const uint8_t *buf, size_t len);

/*
 * The exit class (include/treecast/exitcode.h) of the error codes that mean
 * the same wherever they come from: trust (EKEYREJECTED, ENOKEY, EKEYEXPIRED,
 * EKEYREVOKED, ETIME), disk (ENOSPC, EBUSY, EROFS, ENOTBLK, EFBIG, EDQUOT),
 * malformed data (EBADMSG, EPROTO, E2BIG, EILSEQ: TC_EXIT_IMAGE), ENOMEM
 * (TC_EXIT_INTERNAL); 0 for any other rc (the caller decides by what it was
 * doing). Shared by `treecast` and `treecast-agent`.
 */
int tc_exit_class(int rc);

#endif /* TREECAST_ERR_H */
