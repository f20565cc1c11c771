// SPDX-License-Identifier: MIT
/*
 * Whole-buffer file I/O, shared by the disk writer, pack, sign and the file
 * loaders (include/treecast/fileio.h).
 */
#include <errno.h>
#include <unistd.h>

#include "treecast/fileio.h"

/**
 * pread() until len bytes are in, retrying short reads and EINTR.
 */
int tc_io_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -ENODATA;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/**
 * pwrite() all of buf, retrying short writes and EINTR. A write that makes
 * no progress is an I/O error rather than a loop.
 */
int tc_io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/**
 * read() until end of file or cap bytes, retrying EINTR.
 */
ssize_t tc_io_read_upto(int fd, void *buf, size_t cap)
{
    uint8_t *p = buf;
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(fd, p + got, cap - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}
