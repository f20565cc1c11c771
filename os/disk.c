// SPDX-License-Identifier: MIT
/*
 * The asynchronous disk writer of include/treecast/disk.h.
 *
 * One writer thread drains a bounded ring of requests in submission order, so
 * a sync covers everything submitted before it without any barrier logic, and
 * contiguous writes are merged into one pwritev(). Writes go through the page
 * cache: the fsync behind every DURABLE event is what makes them count.
 * Completions wait in a second ring until tc_disk_poll() returns them; the two
 * rings together never hold more than TC_DISK_QUEUE_MAX requests, which is
 * the writer's whole memory bound besides the caller's buffers.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "treecast/be.h"
#include "treecast/crypto.h"
#include "treecast/disk.h"
#include "treecast/fileio.h"

/** Zero buffer used where a range must be zeroed by writing, bytes. */
#define DISK_ZERO_BUF_LEN (1024u * 1024)
/** Marker record field offsets (see disk.h). */
#define MARKER_OFF_MAGIC 0
#define MARKER_MAGIC_LEN 20
#define MARKER_OFF_VERSION 20
#define MARKER_OFF_NAME_LEN 22
#define MARKER_OFF_NAME 24
#define MARKER_OFF_HASH 448
#define MARKER_VERSION 1
/** Extra header field offsets (see disk.h). */
#define EXTRA_OFF_MAGIC TC_DISK_MARKER_LEN
#define EXTRA_MAGIC_LEN 16
#define EXTRA_OFF_LEN (EXTRA_OFF_MAGIC + EXTRA_MAGIC_LEN)
#define EXTRA_OFF_HASH (EXTRA_OFF_LEN + 8)
/** Longest line read from /proc/self/mountinfo or /proc/swaps, bytes. */
#define DISK_PROC_LINE_MAX 4096

/** What a queued request does. */
enum disk_req_kind {
    DISK_REQ_WRITE = 1,
    DISK_REQ_ZERO = 2,
    DISK_REQ_SYNC = 3,
};

/** One queued request. */
struct disk_req {
    enum disk_req_kind kind;                  /**< write, zero or sync */
    uint64_t off;                             /**< byte offset (write, zero) */
    uint64_t len;                             /**< byte count (write, zero) */
    uint8_t *buf;                             /**< data (write), owned until released */
    void (*release)(void *ctx, uint8_t *buf); /**< gives buf back, or NULL */
    void *release_ctx;                        /**< passed to release */
    uint64_t cookie;                          /**< returned in the event */
};

/** An open target and its writer thread. */
struct tc_disk {
    char *path;                           /**< for messages */
    int fd;                               /**< read-write descriptor */
    int is_blk;                           /**< block device (else regular file) */
    uint64_t size;                        /**< bytes */
    unsigned lbs;                         /**< logical block size (BLKZEROOUT alignment), bytes */
    uint8_t *zeros;                       /**< DISK_ZERO_BUF_LEN zero bytes */
    int zeroout_ok;                       /**< BLKZEROOUT / punch hole not yet found unsupported */
    pthread_t thread;                     /**< the writer */
    int thread_started;                   /**< thread must be joined */
    pthread_mutex_t lock;                 /**< guards everything below */
    pthread_cond_t work;                  /**< writer waits for requests or stop */
    pthread_cond_t done;                  /**< submitters and pollers wait for completions */
    struct disk_req q[TC_DISK_QUEUE_MAX]; /**< requests not yet taken */
    unsigned q_head;                      /**< oldest request */
    unsigned q_count;                     /**< requests in q */
    struct tc_disk_event ev[TC_DISK_QUEUE_MAX]; /**< completions not yet polled */
    unsigned ev_head;                           /**< oldest completion */
    unsigned ev_count;                          /**< completions in ev */
    unsigned pending;                           /**< submitted and not yet returned by poll */
    int stop;                                   /**< close requested */
    int first_err;                              /**< first failed request's rc, 0 if none */
    int evfd;                                   /**< eventfd: readable while ev_count > 0 */
};

static int disk_write_marker(struct tc_disk *d, const char *name, uint64_t zlen,
                             struct tc_err *err);
static int disk_check_space(int fd, const char *path, const struct stat *st,
                            const struct tc_disk_opts *o, struct tc_err *err);

/**
 * pwritev() an iovec array fully at off, advancing through short writes.
 * iov is modified.
 */
static int disk_pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t n = pwritev(fd, iov, cnt, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        off += (uint64_t)n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/**
 * Zero [off, off+len) by writing zeros: the fallback everywhere.
 */
static int disk_write_zeros(struct tc_disk *d, uint64_t off, uint64_t len)
{
    while (len > 0) {
        size_t n = len < DISK_ZERO_BUF_LEN ? (size_t)len : DISK_ZERO_BUF_LEN;
        int rc = tc_io_pwrite_full(d->fd, d->zeros, n, off);
        if (rc < 0)
            return rc;
        off += n;
        len -= n;
    }
    return 0;
}

/**
 * Zero [off, off+len): BLKZEROOUT on the block-aligned middle of a device
 * range (the device zeroes without the data crossing the bus where it can),
 * a punched hole in a file (no blocks allocated at all); writing zeros where
 * neither is supported.
 */
static int disk_zero(struct tc_disk *d, uint64_t off, uint64_t len)
{
    int rc;

    if (len == 0)
        return 0;
    if (off > d->size || len > d->size - off)
        return -EINVAL;
    if (d->zeroout_ok && d->is_blk) {
        uint64_t a = (off + d->lbs - 1) / d->lbs * d->lbs;
        uint64_t b = (off + len) / d->lbs * d->lbs;
        if (a < b) {
            uint64_t range[2] = {a, b - a};
            if (ioctl(d->fd, BLKZEROOUT, range) == 0) {
                rc = disk_write_zeros(d, off, a - off);
                if (rc < 0)
                    return rc;
                return disk_write_zeros(d, b, off + len - b);
            }
            if (errno != EOPNOTSUPP && errno != ENOTTY && errno != EINVAL && errno != EBUSY)
                return -errno;
            d->zeroout_ok = 0;
        }
    } else if (d->zeroout_ok) {
        if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ==
            0)
            return 0;
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return -errno;
        d->zeroout_ok = 0;
    }
    return disk_write_zeros(d, off, len);
}

/**
 * fsync: for a file, punched holes and the size are metadata, so fdatasync
 * is not enough to bring them back after a crash.
 */
static int disk_sync(struct tc_disk *d)
{
    int r = d->is_blk ? fdatasync(d->fd) : fsync(d->fd);

    return r < 0 ? -errno : 0;
}

/**
 * Run a batch taken from the queue: either contiguous writes (merged into
 * pwritev calls), or a single zero or sync request.
 */
static int disk_execute(struct tc_disk *d, struct disk_req *batch, unsigned n)
{
    struct iovec iov[TC_DISK_BATCH_IOV_MAX];
    unsigned i;

    switch (batch[0].kind) {
    case DISK_REQ_WRITE:
        assert(n <= TC_DISK_BATCH_IOV_MAX);
        for (i = 0; i < n; i++) {
            if (batch[i].off > d->size || batch[i].len > d->size - batch[i].off)
                return -EINVAL;
            iov[i].iov_base = batch[i].buf;
            iov[i].iov_len = (size_t)batch[i].len;
        }
        if (n == 1)
            return tc_io_pwrite_full(d->fd, batch[0].buf, (size_t)batch[0].len, batch[0].off);
        return disk_pwritev_full(d->fd, iov, (int)n, batch[0].off);
    case DISK_REQ_ZERO:
        /* Contiguous zero ranges were merged: one ioctl or fallocate for all. */
        return disk_zero(d, batch[0].off, batch[n - 1].off + batch[n - 1].len - batch[0].off);
    case DISK_REQ_SYNC:
        return disk_sync(d);
    }
    return -EINVAL;
}

/**
 * Take the next batch from the queue (lock held): the oldest request, plus
 * the requests of the same kind (write or zero) that continue it on disk,
 * within the batch limits.
 */
static unsigned disk_take_batch(struct tc_disk *d, struct disk_req *batch)
{
    uint64_t bytes, next;
    unsigned n = 1;

    batch[0] = d->q[d->q_head];
    if (batch[0].kind != DISK_REQ_SYNC) {
        bytes = batch[0].len;
        next = batch[0].off + batch[0].len;
        while (n < d->q_count && n < TC_DISK_BATCH_IOV_MAX) {
            const struct disk_req *r = &d->q[(d->q_head + n) % TC_DISK_QUEUE_MAX];
            if (r->kind != batch[0].kind || r->off != next ||
                (r->kind == DISK_REQ_WRITE && bytes + r->len > TC_DISK_BATCH_BYTES_MAX))
                break;
            batch[n++] = *r;
            bytes += r->len;
            next += r->len;
        }
    }
    d->q_head = (d->q_head + n) % TC_DISK_QUEUE_MAX;
    d->q_count -= n;
    return n;
}

/**
 * Make the eventfd readable (events wait). A full counter (EAGAIN) is
 * readable already.
 */
static void disk_signal(struct tc_disk *d)
{
    uint64_t one = 1;
    ssize_t n;

    do {
        n = write(d->evfd, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
}

/**
 * The writer thread: take a batch, run it unlocked, release the buffers,
 * post the completions. After the first failure nothing more touches the
 * disk: every later request completes with the same code.
 */
static void *disk_thread(void *arg)
{
    struct tc_disk *d = arg;
    struct disk_req batch[TC_DISK_BATCH_IOV_MAX];
    unsigned n, i;
    int rc;

    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (d->q_count == 0 && !d->stop)
            pthread_cond_wait(&d->work, &d->lock);
        if (d->q_count == 0)
            break;
        n = disk_take_batch(d, batch);
        rc = d->first_err;
        pthread_mutex_unlock(&d->lock);

        if (rc == 0)
            rc = disk_execute(d, batch, n);
        for (i = 0; i < n; i++)
            if (batch[i].kind == DISK_REQ_WRITE && batch[i].release)
                batch[i].release(batch[i].release_ctx, batch[i].buf);

        pthread_mutex_lock(&d->lock);
        if (rc < 0 && d->first_err == 0)
            d->first_err = rc;
        for (i = 0; i < n; i++) {
            struct tc_disk_event *e = &d->ev[(d->ev_head + d->ev_count) % TC_DISK_QUEUE_MAX];
            assert(d->ev_count < TC_DISK_QUEUE_MAX);
            e->type = batch[i].kind == DISK_REQ_SYNC ? TC_DISK_EV_DURABLE : TC_DISK_EV_WRITTEN;
            e->cookie = batch[i].cookie;
            e->rc = rc;
            d->ev_count++;
        }
        disk_signal(d);
        pthread_cond_broadcast(&d->done);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/**
 * Queue one request, waiting while TC_DISK_QUEUE_MAX are pending. -EAGAIN
 * when all pending requests have completed and only wait to be polled.
 */
static int disk_submit(struct tc_disk *d, const struct disk_req *r)
{
    pthread_mutex_lock(&d->lock);
    while (d->pending >= TC_DISK_QUEUE_MAX) {
        if (d->ev_count == d->pending) {
            pthread_mutex_unlock(&d->lock);
            return -EAGAIN;
        }
        pthread_cond_wait(&d->done, &d->lock);
    }
    if (d->stop) {
        pthread_mutex_unlock(&d->lock);
        return -EPIPE;
    }
    d->q[(d->q_head + d->q_count) % TC_DISK_QUEUE_MAX] = *r;
    d->q_count++;
    d->pending++;
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

/**
 * Queue a write; ownership of buf passes to the writer on success.
 */
int tc_disk_submit_write(struct tc_disk *d, uint64_t off, uint8_t *buf, size_t len,
                         void (*release)(void *ctx, uint8_t *buf), void *release_ctx,
                         uint64_t cookie)
{
    struct disk_req r = {
        .kind = DISK_REQ_WRITE,
        .off = off,
        .len = len,
        .buf = buf,
        .release = release,
        .release_ctx = release_ctx,
        .cookie = cookie,
    };

    if (len == 0 || off > d->size || len > d->size - off)
        return -EINVAL;
    return disk_submit(d, &r);
}

/**
 * Queue the zeroing of a range.
 */
int tc_disk_submit_zero(struct tc_disk *d, uint64_t off, uint64_t len, uint64_t cookie)
{
    struct disk_req r = {.kind = DISK_REQ_ZERO, .off = off, .len = len, .cookie = cookie};

    if (off > d->size || len > d->size - off)
        return -EINVAL;
    return disk_submit(d, &r);
}

/**
 * Queue a sync barrier.
 */
int tc_disk_submit_sync(struct tc_disk *d, uint64_t cookie)
{
    struct disk_req r = {.kind = DISK_REQ_SYNC, .cookie = cookie};

    return disk_submit(d, &r);
}

/**
 * Absolute CLOCK_MONOTONIC deadline timeout_ms from now.
 */
static struct timespec disk_deadline(int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/**
 * Hand back completions. With nothing pending there is nothing to wait for,
 * so it returns 0 at once whatever the timeout.
 */
int tc_disk_poll(struct tc_disk *d, struct tc_disk_event *ev, unsigned max, int timeout_ms)
{
    struct timespec deadline;
    unsigned n, i;

    if (max == 0 || max > TC_DISK_EVENTS_MAX)
        return -EINVAL;
    if (timeout_ms > 0)
        deadline = disk_deadline(timeout_ms);
    pthread_mutex_lock(&d->lock);
    while (d->ev_count == 0 && d->pending > 0 && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&d->done, &d->lock);
        } else if (pthread_cond_timedwait(&d->done, &d->lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    /* Drained after the wait and under the lock (the writer signals under
     * it too): a completion posted while this call waited must not leave the
     * descriptor readable once it is returned; signalled again below if
     * events stay behind. */
    {
        uint64_t cnt;
        ssize_t r;
        do {
            r = read(d->evfd, &cnt, sizeof(cnt));
        } while (r < 0 && errno == EINTR);
    }
    n = d->ev_count < max ? d->ev_count : max;
    for (i = 0; i < n; i++)
        ev[i] = d->ev[(d->ev_head + i) % TC_DISK_QUEUE_MAX];
    d->ev_head = (d->ev_head + n) % TC_DISK_QUEUE_MAX;
    d->ev_count -= n;
    d->pending -= n;
    if (d->ev_count > 0)
        disk_signal(d);
    if (n > 0)
        pthread_cond_broadcast(&d->done);
    pthread_mutex_unlock(&d->lock);
    return (int)n;
}

/**
 * Requests not yet returned by tc_disk_poll().
 */
unsigned tc_disk_pending(const struct tc_disk *d)
{
    struct tc_disk *dd = (struct tc_disk *)d; /* the lock is not part of the value */
    unsigned n;

    pthread_mutex_lock(&dd->lock);
    n = dd->pending;
    pthread_mutex_unlock(&dd->lock);
    return n;
}

/**
 * Synchronous read (sees everything written so far through the page cache).
 */
int tc_disk_read(struct tc_disk *d, uint64_t off, uint8_t *buf, size_t len)
{
    int rc;

    if (off > d->size || len > d->size - off)
        return -EINVAL;
    rc = tc_io_pread_full(d->fd, buf, len, off);
    return rc == -ENODATA ? -EIO : rc;
}

/**
 * Serialize the marker record for name into rec (TC_DISK_MARKER_LEN bytes).
 */
static void disk_marker_put(uint8_t rec[TC_DISK_MARKER_LEN], const char *name, size_t name_len)
{
    memset(rec, 0, TC_DISK_MARKER_LEN);
    memcpy(rec + MARKER_OFF_MAGIC, TC_DISK_MARKER_MAGIC, MARKER_MAGIC_LEN);
    tc_put_be16(rec + MARKER_OFF_VERSION, MARKER_VERSION);
    tc_put_be16(rec + MARKER_OFF_NAME_LEN, (uint16_t)name_len);
    memcpy(rec + MARKER_OFF_NAME, name, name_len);
    tc_sha256(rec, MARKER_OFF_HASH, rec + MARKER_OFF_HASH);
}

/**
 * Check for the marker at offset 0 and copy its image pin.
 */
int tc_disk_read_marker(struct tc_disk *d, char *name, size_t cap)
{
    uint8_t rec[TC_DISK_MARKER_LEN];
    uint8_t hash[TC_SHA256_LEN];
    size_t n;
    int rc;

    if (cap > 0)
        name[0] = '\0';
    if (d->size < TC_DISK_MARKER_LEN)
        return 0;
    rc = tc_disk_read(d, 0, rec, sizeof(rec));
    if (rc < 0)
        return rc;
    if (memcmp(rec + MARKER_OFF_MAGIC, TC_DISK_MARKER_MAGIC, MARKER_MAGIC_LEN) != 0 ||
        tc_get_be16(rec + MARKER_OFF_VERSION) != MARKER_VERSION)
        return 0;
    n = tc_get_be16(rec + MARKER_OFF_NAME_LEN);
    if (n > TC_DISK_MARKER_NAME_MAX)
        return 0;
    tc_sha256(rec, MARKER_OFF_HASH, hash);
    if (memcmp(hash, rec + MARKER_OFF_HASH, TC_SHA256_LEN) != 0)
        return 0;
    if (cap == 0)
        return 1;
    if (n >= cap)
        n = cap - 1;
    memcpy(name, rec + MARKER_OFF_NAME, n);
    name[n] = '\0';
    return 1;
}

/**
 * The eventfd that polls readable while completions wait.
 */
int tc_disk_event_fd(const struct tc_disk *d)
{
    return d->evfd;
}

/**
 * True when nothing was ever queued or everything queued has been polled:
 * the synchronous marker and resize calls may touch the target then.
 */
static int disk_idle(struct tc_disk *d)
{
    int idle;

    pthread_mutex_lock(&d->lock);
    idle = d->pending == 0 && d->q_count == 0;
    pthread_mutex_unlock(&d->lock);
    return idle;
}

/**
 * Mark the target in progress for an image learned after the open.
 */
int tc_disk_mark(struct tc_disk *d, const char *pin, uint64_t zero_len, const uint8_t *extra,
                 size_t extra_len, struct tc_err *err)
{
    uint64_t zlen = zero_len > TC_DISK_MARKER_LEN ? zero_len : TC_DISK_MARKER_LEN;
    uint8_t hdr[TC_DISK_EXTRA_OFF - TC_DISK_MARKER_LEN];
    int rc;

    if (!disk_idle(d))
        return tc_err_set(err, -EBUSY, "target %s: the marker must come before any write", d->path);
    if (extra_len > 0 && (extra_len > zlen || zlen - extra_len < TC_DISK_EXTRA_OFF ||
                          TC_DISK_EXTRA_OFF + extra_len > d->size))
        return tc_err_set(err, -ENOSPC,
                          "target %s (%llu bytes): %zu extra bytes do not fit in the first "
                          "%llu bytes after the %u-byte marker",
                          d->path, (unsigned long long)d->size, extra_len, (unsigned long long)zlen,
                          TC_DISK_EXTRA_OFF);
    rc = disk_write_marker(d, pin, zlen, err);
    if (rc < 0 || extra_len == 0)
        return rc;
    memcpy(hdr, TC_DISK_EXTRA_MAGIC, EXTRA_MAGIC_LEN);
    tc_put_be64(hdr + EXTRA_OFF_LEN - TC_DISK_MARKER_LEN, (uint64_t)extra_len);
    tc_sha256(extra, extra_len, hdr + EXTRA_OFF_HASH - TC_DISK_MARKER_LEN);
    rc = tc_io_pwrite_full(d->fd, hdr, sizeof(hdr), TC_DISK_MARKER_LEN);
    if (rc == 0)
        rc = tc_io_pwrite_full(d->fd, extra, extra_len, TC_DISK_EXTRA_OFF);
    if (rc == 0)
        rc = disk_sync(d);
    if (rc < 0)
        return tc_err_set(err, rc, "cannot write the marker's %zu extra bytes to target %s: %s",
                          extra_len, d->path, strerror(-rc));
    return 0;
}

/**
 * Read back the extra bytes of a valid marker.
 */
int tc_disk_read_extra(struct tc_disk *d, size_t max, uint8_t **out, size_t *len)
{
    uint8_t hdr[TC_DISK_EXTRA_OFF - TC_DISK_MARKER_LEN], hash[TC_SHA256_LEN];
    uint64_t n;
    uint8_t *buf;
    int rc;

    *out = NULL;
    *len = 0;
    rc = tc_disk_read_marker(d, NULL, 0);
    if (rc <= 0)
        return rc;
    if (d->size < TC_DISK_EXTRA_OFF)
        return 0;
    rc = tc_disk_read(d, TC_DISK_MARKER_LEN, hdr, sizeof(hdr));
    if (rc < 0)
        return rc;
    if (memcmp(hdr, TC_DISK_EXTRA_MAGIC, EXTRA_MAGIC_LEN) != 0)
        return 0;
    n = tc_get_be64(hdr + EXTRA_OFF_LEN - TC_DISK_MARKER_LEN);
    if (n == 0 || n > max || n > d->size - TC_DISK_EXTRA_OFF)
        return 0;
    buf = malloc((size_t)n);
    if (!buf)
        return -ENOMEM;
    rc = tc_disk_read(d, TC_DISK_EXTRA_OFF, buf, (size_t)n);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    tc_sha256(buf, (size_t)n, hash);
    if (memcmp(hash, hdr + EXTRA_OFF_HASH - TC_DISK_MARKER_LEN, TC_SHA256_LEN) != 0) {
        free(buf);
        return 0;
    }
    *out = buf;
    *len = (size_t)n;
    return 1;
}

/**
 * Size the target for the image once its size is known.
 */
int tc_disk_set_size(struct tc_disk *d, uint64_t size, uint64_t data_bytes, struct tc_err *err)
{
    struct tc_disk_opts o;
    struct stat st;
    int rc;

    if (!disk_idle(d))
        return tc_err_set(err, -EBUSY, "target %s: sized after a write", d->path);
    if (d->is_blk) {
        if (d->size < size)
            return tc_err_set(err, -ENOSPC,
                              "target %s is too small: %llu bytes, the image needs %llu bytes",
                              d->path, (unsigned long long)d->size, (unsigned long long)size);
        return 0;
    }
    if (fstat(d->fd, &st) < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "cannot stat target %s: %s", d->path, strerror(-rc));
    }
    memset(&o, 0, sizeof(o));
    o.data_bytes = data_bytes;
    rc = disk_check_space(d->fd, d->path, &st, &o, err);
    if (rc < 0)
        return rc;
    if ((uint64_t)st.st_size != size && ftruncate(d->fd, (off_t)size) < 0) {
        int e = errno;
        rc = e == EFBIG ? -ENOSPC : -e;
        return tc_err_set(err, rc, "cannot size target %s from %llu to the image's %llu bytes: %s",
                          d->path, (unsigned long long)st.st_size, (unsigned long long)size,
                          strerror(e));
    }
    d->size = size;
    return 0;
}

/**
 * Target size in bytes.
 */
uint64_t tc_disk_size(const struct tc_disk *d)
{
    return d->size;
}

/**
 * True for a block device target.
 */
int tc_disk_is_blockdev(const struct tc_disk *d)
{
    return d->is_blk;
}

/**
 * Read a "MAJ:MIN" sysfs dev file.
 */
static int disk_sysfs_dev(const char *path, dev_t *dev)
{
    unsigned maj, min;
    FILE *f = fopen(path, "re");
    int ok;

    if (!f)
        return -errno;
    ok = fscanf(f, "%u:%u", &maj, &min) == 2;
    fclose(f);
    if (!ok)
        return -EINVAL;
    *dev = makedev(maj, min);
    return 0;
}

/**
 * True if block device part is a partition of the whole disk disk: sysfs
 * puts a partition's directory inside its disk's.
 */
static int disk_is_partition_of(dev_t part, dev_t disk)
{
    char path[128];
    dev_t parent = 0;

    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", major(part), minor(part));
    if (access(path, F_OK) != 0)
        return 0;
    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(part), minor(part));
    if (disk_sysfs_dev(path, &parent) < 0)
        return 0;
    return parent == disk;
}

/**
 * Undo the octal escapes (\040 for a space) of a mountinfo path in place.
 */
static void disk_unescape(char *s)
{
    char *o = s;

    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
}

/**
 * Refuse a block device that is mounted, whose partition is mounted, that is
 * a partition of a mounted disk, that is active swap, or that has holders
 * (device mapper, md). Reads /proc/self/mountinfo, /proc/swaps and sysfs; if
 * they cannot be read, the O_EXCL open that follows still refuses a device in
 * use, with a less precise message.
 */
static int disk_check_in_use(const char *path, dev_t dev, struct tc_err *err)
{
    char line[DISK_PROC_LINE_MAX], mnt[DISK_PROC_LINE_MAX], spath[128];
    unsigned maj, min;
    struct stat st;
    struct dirent *de;
    DIR *dir;
    FILE *f;
    int rc = 0;

    f = fopen("/proc/self/mountinfo", "re");
    while (f && rc == 0 && fgets(line, sizeof(line), f)) {
        dev_t m;
        if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, mnt) != 3)
            continue;
        m = makedev(maj, min);
        disk_unescape(mnt);
        if (m == dev)
            rc = tc_err_set(err, -EBUSY, "target %s is mounted on %s: unmount it first", path, mnt);
        else if (disk_is_partition_of(m, dev))
            rc = tc_err_set(err, -EBUSY,
                            "target %s has a partition (%u:%u) mounted on %s: unmount it first",
                            path, maj, min, mnt);
        else if (disk_is_partition_of(dev, m))
            rc = tc_err_set(err, -EBUSY,
                            "target %s is a partition of disk %u:%u, which is mounted on %s", path,
                            maj, min, mnt);
    }
    if (f)
        fclose(f);
    if (rc < 0)
        return rc;

    f = fopen("/proc/swaps", "re");
    while (f && rc == 0 && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%4095s", mnt) != 1 || mnt[0] != '/')
            continue;
        disk_unescape(mnt);
        if (stat(mnt, &st) == 0 && S_ISBLK(st.st_mode) &&
            (st.st_rdev == dev || disk_is_partition_of(st.st_rdev, dev)))
            rc = tc_err_set(err, -EBUSY, "target %s is in use as swap (%s): swapoff it first", path,
                            mnt);
    }
    if (f)
        fclose(f);
    if (rc < 0)
        return rc;

    snprintf(spath, sizeof(spath), "/sys/dev/block/%u:%u/holders", major(dev), minor(dev));
    dir = opendir(spath);
    while (dir && rc == 0 && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        rc = tc_err_set(err, -EBUSY,
                        "target %s is held by %s (device mapper, LVM or md): release it first",
                        path, de->d_name);
    }
    if (dir)
        closedir(dir);
    return rc;
}

/**
 * Open a block device exclusively and read its geometry.
 */
static int disk_open_blk(struct tc_disk *d, const char *path, dev_t rdev, struct tc_err *err)
{
    uint64_t size;
    int lbs, rc;

    rc = disk_check_in_use(path, rdev, err);
    if (rc < 0)
        return rc;
    d->fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
    if (d->fd < 0) {
        rc = -errno;
        if (rc == -EBUSY)
            return tc_err_set(err, rc,
                              "target %s is in use (mounted, swap, or claimed by another "
                              "program): refusing to write to it",
                              path);
        return tc_err_set(err, rc, "cannot open target %s: %s", path, strerror(-rc));
    }
    if (ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "cannot read the size of target %s: %s", path, strerror(-rc));
    }
    if (ioctl(d->fd, BLKSSZGET, &lbs) < 0 || lbs < 512 || (lbs & (lbs - 1)) != 0)
        lbs = 512;
    d->size = size;
    d->lbs = (unsigned)lbs;
    return 0;
}

/**
 * Zero the first marker bytes, write the marker record over them and fsync,
 * so that a target is unbootable before anything else lands on it.
 */
static int disk_write_marker(struct tc_disk *d, const char *name, uint64_t zlen, struct tc_err *err)
{
    uint8_t rec[TC_DISK_MARKER_LEN];
    size_t n = strlen(name);
    int rc;

    if (n > TC_DISK_MARKER_NAME_MAX)
        return tc_err_set(err, -EINVAL, "marker name of %zu bytes is over the %u-byte limit", n,
                          TC_DISK_MARKER_NAME_MAX);
    if (zlen > d->size)
        zlen = d->size;
    disk_marker_put(rec, name, n);
    rc = disk_zero(d, 0, zlen);
    /* A target too small for the record (a tiny image) is just zeroed. */
    if (rc == 0 && d->size >= TC_DISK_MARKER_LEN)
        rc = tc_io_pwrite_full(d->fd, rec, sizeof(rec), 0);
    if (rc == 0)
        rc = disk_sync(d);
    if (rc < 0)
        return tc_err_set(err, rc, "cannot write the in-progress marker to target %s: %s", d->path,
                          strerror(-rc));
    return 0;
}

/**
 * Refuse a regular-file target whose file system cannot hold the image's
 * data, before anything is written: a full file system found half-way through
 * would leave a half-written copy. Blocks the file already holds count as
 * available (they are overwritten in place).
 */
static int disk_check_space(int fd, const char *path, const struct stat *st,
                            const struct tc_disk_opts *o, struct tc_err *err)
{
    struct statvfs vfs;
    uint64_t avail, held;

    if (o->data_bytes == 0)
        return 0;
    if (fstatvfs(fd, &vfs) < 0)
        return 0; /* no figure to judge by: the writes will tell */
    avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    held = (uint64_t)st->st_blocks * 512u;
    if (avail + held >= o->data_bytes)
        return 0;
    return tc_err_set(err, -ENOSPC,
                      "target %s: its file system has %llu bytes free, the image needs %llu "
                      "bytes of data",
                      path, (unsigned long long)(avail + held), (unsigned long long)o->data_bytes);
}

/**
 * Open (or create) the target, run every check, write the marker, start the
 * writer thread.
 */
int tc_disk_open(struct tc_disk **out, const char *path, const struct tc_disk_opts *o,
                 struct tc_err *err)
{
    pthread_condattr_t ca;
    struct tc_disk *d;
    struct stat st;
    int created = 0, rc;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return tc_err_set(err, -ENOMEM, "out of memory opening target %s", path);
    d->fd = -1;
    d->evfd = -1;
    d->lbs = 512;
    d->zeroout_ok = 1;
    d->path = strdup(path);
    d->zeros = calloc(1, DISK_ZERO_BUF_LEN);
    if (!d->path || !d->zeros) {
        rc = tc_err_set(err, -ENOMEM, "out of memory opening target %s", path);
        goto err_free;
    }

    if (stat(path, &st) < 0) {
        rc = -errno;
        if (rc != -ENOENT || !o->create) {
            tc_err_set(err, rc, "cannot open target %s: %s", path, strerror(-rc));
            goto err_free;
        }
        d->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (d->fd < 0) {
            rc = -errno;
            tc_err_set(err, rc, "cannot create target %s: %s", path, strerror(-rc));
            goto err_free;
        }
        created = 1;
        if (fstat(d->fd, &st) < 0) {
            rc = -errno;
            tc_err_set(err, rc, "cannot stat target %s: %s", path, strerror(-rc));
            goto err_close;
        }
    }

    if (S_ISBLK(st.st_mode)) {
        d->is_blk = 1;
        rc = disk_open_blk(d, path, st.st_rdev, err);
        if (rc < 0)
            goto err_close;
        if (d->size < o->need_size) {
            rc = tc_err_set(err, -ENOSPC,
                            "target %s is too small: %llu bytes, the image needs %llu bytes", path,
                            (unsigned long long)d->size, (unsigned long long)o->need_size);
            goto err_close;
        }
    } else if (S_ISREG(st.st_mode)) {
        if (d->fd < 0) {
            d->fd = open(path, O_RDWR | O_CLOEXEC);
            if (d->fd < 0) {
                rc = -errno;
                tc_err_set(err, rc, "cannot open target %s: %s", path, strerror(-rc));
                goto err_close;
            }
        }
        d->size = (uint64_t)st.st_size;
        rc = disk_check_space(d->fd, path, &st, o, err);
        if (rc < 0)
            goto err_close;
        if (d->size < o->need_size || (o->exact_size && d->size != o->need_size)) {
            if (ftruncate(d->fd, (off_t)o->need_size) < 0) {
                int e = errno;
                rc = e == EFBIG ? -ENOSPC : -e;
                tc_err_set(err, rc,
                           "cannot extend target %s from %llu to the image's %llu bytes: %s", path,
                           (unsigned long long)d->size, (unsigned long long)o->need_size,
                           strerror(e));
                goto err_close;
            }
            d->size = o->need_size;
        }
    } else {
        rc = tc_err_set(err, -EINVAL, "target %s is neither a block device nor a regular file",
                        path);
        goto err_close;
    }

    if (o->marker_name) {
        rc = disk_write_marker(
            d, o->marker_name,
            o->marker_len > TC_DISK_MARKER_LEN ? o->marker_len : TC_DISK_MARKER_LEN, err);
        if (rc < 0)
            goto err_close;
    }

    d->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->evfd < 0) {
        rc = -errno;
        tc_err_set(err, rc, "cannot create the event descriptor for target %s: %s", path,
                   strerror(-rc));
        goto err_close;
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->done, &ca);
    pthread_cond_init(&d->work, NULL);
    pthread_condattr_destroy(&ca);
    rc = -pthread_create(&d->thread, NULL, disk_thread, d);
    if (rc < 0) {
        tc_err_set(err, rc, "cannot start the writer thread for target %s: %s", path,
                   strerror(-rc));
        goto err_sync;
    }
    d->thread_started = 1;
    *out = d;
    return 0;

err_sync:
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->done);
    pthread_mutex_destroy(&d->lock);
err_close:
    if (d->evfd >= 0)
        close(d->evfd);
    if (d->fd >= 0)
        close(d->fd);
    if (created)
        unlink(path);
err_free:
    free(d->zeros);
    free(d->path);
    free(d);
    return rc;
}

/**
 * Drain the queue, stop the writer, close. Completions nobody polled are
 * dropped; the first error of any request (or of close(2)) is returned.
 */
int tc_disk_close(struct tc_disk *d)
{
    int rc;

    if (!d)
        return 0;
    pthread_mutex_lock(&d->lock);
    d->stop = 1;
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->lock);
    if (d->thread_started)
        pthread_join(d->thread, NULL);
    rc = d->first_err;
    if (close(d->fd) < 0 && rc == 0)
        rc = -errno;
    close(d->evfd);
    pthread_cond_destroy(&d->work);
    pthread_cond_destroy(&d->done);
    pthread_mutex_destroy(&d->lock);
    free(d->zeros);
    free(d->path);
    free(d);
    return rc;
}
