/* SPDX-License-Identifier: MIT */
/*
 * os/ file I/O helpers: whole-buffer positional reads and writes that retry
 * short transfers and EINTR, so that no caller re-implements the loop (and
 * none forgets a short write).
 */
#ifndef TREECAST_FILEIO_H
#define TREECAST_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Read exactly len bytes at off. 0, a negative errno, or -ENODATA when the
 * file ends before len bytes.
 */
int tc_io_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Write all len bytes at off. 0 or a negative errno. */
int tc_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Read from the current position until end of file or cap bytes, whichever
 * comes first. Returns the bytes read (cap means "cap or more": callers that
 * bound a file's size read cap = limit + 1) or a negative errno.
 */
ssize_t tc_io_read_upto(int fd, void *buf, size_t cap);

#endif /* TREECAST_FILEIO_H */
