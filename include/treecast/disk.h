/* SPDX-License-Identifier: MIT */
/*
 * os/ disk writer: the one write path of `treecast unpack` and the agent.
 *
 * Asynchronous: the caller submits verified chunks (taking ownership of the
 * buffer), zero ranges and sync requests; completions and durable-after-fsync
 * events come back through tc_disk_poll(), so that a protocol core can be
 * driven by them. Targets are block devices or regular files. Requests run
 * in submission order on one writer thread (contiguous writes merged into one
 * pwritev()), and their events come back in that order.
 *
 * "Never bootable half-written": tc_disk_open() with a marker zeroes the
 * first chunk's range and writes an in-progress marker naming the image
 * there before any other write; the caller writes chunk 0 last, after every
 * other chunk is durable (a DURABLE event from tc_disk_submit_sync()).
 */
#ifndef TREECAST_DISK_H
#define TREECAST_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

/** Requests queued at once (writes + zeroes + syncs). */
#define TC_DISK_QUEUE_MAX 64
/** Events returned by one tc_disk_poll(). */
#define TC_DISK_EVENTS_MAX 64
/** Contiguous requests merged: writes into one pwritev() (<= IOV_MAX), zeroes into one. */
#define TC_DISK_BATCH_IOV_MAX 64
/** Bytes merged into one pwritev(). */
#define TC_DISK_BATCH_BYTES_MAX (32u * 1024 * 1024)

/*
 * The in-progress marker: a TC_DISK_MARKER_LEN-byte record at offset 0,
 *   0   20  "TREECAST-INPROGRESS\n"
 *   20   2  record version (big-endian, 1)
 *   22   2  length n of the image pin (<= TC_DISK_MARKER_NAME_MAX)
 *   24   n  the image pin "NAME@sha256:HEX" (then zero bytes up to 448)
 *   448 32  SHA-256 of bytes [0, 448)
 *   480 32  zero (so that bytes 510-511 never read as an MBR signature)
 * The rest of the first marker_len bytes is zero, so no partition table, boot
 * sector or file system superblock of an earlier image survives. A target
 * smaller than the record is only zeroed.
 */
#define TC_DISK_MARKER_MAGIC "TREECAST-INPROGRESS\n"
#define TC_DISK_MARKER_LEN 512
#define TC_DISK_MARKER_NAME_MAX 400

/*
 * tc_disk_mark() may follow the marker record with the caller's extra bytes
 * (the agent keeps the manifest and its signature block there, for resume):
 *   512  16  "TREECAST-EXTRA1\n"
 *   528   8  length n of the extra bytes (big-endian)
 *   536  32  SHA-256 of the extra bytes
 *   568   n  the extra bytes
 * all inside the zeroed first range, which chunk 0 overwrites last.
 */
#define TC_DISK_EXTRA_MAGIC "TREECAST-EXTRA1\n"
/** Bytes before the extra bytes themselves (marker record + extra header). */
#define TC_DISK_EXTRA_OFF 568u

struct tc_disk;

/** Open options. */
struct tc_disk_opts {
    uint64_t need_size;      /**< bytes the image needs; a smaller target is refused */
    int create;              /**< create a regular file if missing */
    const char *marker_name; /**< image pin written in the in-progress marker, or NULL */
    uint32_t marker_len;     /**< bytes zeroed at offset 0 (the first chunk's raw length;
                                  at least TC_DISK_MARKER_LEN are) */
    uint64_t data_bytes;     /**< regular files: bytes that will be allocated (the
                                  non-zero chunks); less free space in the file
                                  system is refused before any write (0 = no check) */
    int exact_size;          /**< regular files: set the size to exactly need_size
                                  (a larger file is shrunk), as an image copy must be */
};

/** Kinds of event. */
enum tc_disk_ev {
    TC_DISK_EV_WRITTEN = 1, /**< a write or zero request finished (rc says how) */
    TC_DISK_EV_DURABLE = 2, /**< a sync finished: everything submitted before it is on disk */
};

/** One completion. */
struct tc_disk_event {
    enum tc_disk_ev type; /**< what finished */
    uint64_t cookie;      /**< the caller's cookie from the submit */
    int rc;               /**< 0 or a negative errno */
};

/*
 * Open a target. Refuses (with a message naming the path and the sizes or the
 * mount point) a target smaller than need_size (-ENOSPC) or mounted, or in use
 * by another holder such as LVM, md or swap (-EBUSY); for a whole disk, a
 * mounted partition of it counts. Every check comes before the first write. A
 * regular file is extended to need_size (created first if o->create). With a
 * marker, the marker is written and fsynced before this returns.
 */
int tc_disk_open(struct tc_disk **out, const char *path, const struct tc_disk_opts *o,
                 struct tc_err *err);

/*
 * Queue a write of len bytes at off. On success takes ownership of buf: it is
 * released with release(release_ctx, buf) once written or failed, from the
 * writer's thread (release may be NULL when the caller keeps it alive until
 * the WRITTEN event). On failure (a negative return) the caller keeps buf.
 * Blocks while the queue is full.
 *
 * Submits are bounded by TC_DISK_QUEUE_MAX requests not yet returned by
 * tc_disk_poll(). When every one of them has completed and is only waiting to
 * be polled, blocking would never end: the submit fails with -EAGAIN instead
 * (poll, then submit again). After a failed request every later one fails
 * with the same code without touching the disk, so nothing is written past
 * the first error.
 */
int tc_disk_submit_write(struct tc_disk *d, uint64_t off, uint8_t *buf, size_t len,
                         void (*release)(void *ctx, uint8_t *buf), void *release_ctx,
                         uint64_t cookie);

/* Queue zeroing of [off, off+len): BLKZEROOUT on devices, a punched hole in files. */
int tc_disk_submit_zero(struct tc_disk *d, uint64_t off, uint64_t len, uint64_t cookie);

/* Queue a sync: a DURABLE event follows once all earlier requests are on disk. */
int tc_disk_submit_sync(struct tc_disk *d, uint64_t cookie);

/*
 * Collect up to max events (max <= TC_DISK_EVENTS_MAX), waiting at most
 * timeout_ms (-1 = until at least one). Returns the count, or a negative errno.
 */
int tc_disk_poll(struct tc_disk *d, struct tc_disk_event *ev, unsigned max, int timeout_ms);

/* Requests submitted and not yet returned by tc_disk_poll(). */
unsigned tc_disk_pending(const struct tc_disk *d);

/* Read len bytes at off (synchronous; resume and repairs read back from disk). */
int tc_disk_read(struct tc_disk *d, uint64_t off, uint8_t *buf, size_t len);

/*
 * Read the in-progress marker at offset 0: 1 and the image pin in name (cap
 * bytes) if one is there, 0 if not.
 */
int tc_disk_read_marker(struct tc_disk *d, char *name, size_t cap);

/* Size of the target in bytes. */
uint64_t tc_disk_size(const struct tc_disk *d);

/* True if the target is a block device (else a regular file). */
int tc_disk_is_blockdev(const struct tc_disk *d);

/*
 * A file descriptor that polls readable while events wait for tc_disk_poll()
 * (an eventfd), so that one poll()/ppoll() can wait for both the network and
 * the disk. Owned by the disk; tc_disk_poll() drains it.
 */
int tc_disk_event_fd(const struct tc_disk *d);

/*
 * The in-progress marker for a caller that learns the image after opening
 * the target (the agent): zero [0, zero_len) (at least TC_DISK_MARKER_LEN),
 * write the marker naming pin and, when extra_len > 0, the extra bytes after
 * it (layout above), and fsync; synchronous. Must come before any submit
 * (-EBUSY otherwise). -ENOSPC when the extra bytes do not fit in zero_len or
 * the target; the message names the sizes.
 */
int tc_disk_mark(struct tc_disk *d, const char *pin, uint64_t zero_len, const uint8_t *extra,
                 size_t extra_len, struct tc_err *err);

/*
 * Read the extra bytes tc_disk_mark() stored after a valid marker: 1 with a
 * malloc()ed copy in *out (the caller frees it) and its length in *len when
 * they are there, their length is at most max and their SHA-256 matches; 0
 * when not; a negative errno for a read error.
 */
int tc_disk_read_extra(struct tc_disk *d, size_t max, uint8_t **out, size_t *len);

/*
 * Size the target for an image of size bytes before any write: a regular
 * file is refused if its file system lacks data_bytes (0 = no check), then
 * set to exactly size bytes; a block device smaller than size is refused
 * (-ENOSPC, naming both sizes). Must come before any submit (-EBUSY).
 */
int tc_disk_set_size(struct tc_disk *d, uint64_t size, uint64_t data_bytes, struct tc_err *err);

/* Wait for everything queued, stop the workers, close. Returns the first error seen. */
int tc_disk_close(struct tc_disk *d);

#endif /* TREECAST_DISK_H */
