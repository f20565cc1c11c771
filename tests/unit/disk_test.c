// SPDX-License-Identifier: MIT
/*
 * Unit tests for os/disk.c: events, buffer ownership, the queue bound, the
 * in-progress marker, zeroing (hole punching, BLKZEROOUT), refusals. Files
 * are made in the current directory (the runner gives each program a fresh
 * one); block-device tests attach a loop device and are skipped where that
 * is not allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "treecast/disk.h"

#define KIB 1024u
#define MIB (1024u * 1024)

/** What the release callback saw. */
struct rel_log {
    unsigned calls; /**< buffers released */
    uint8_t *last;  /**< last buffer released */
};

/** Release callback: count and free. */
static void rel_free(void *ctx, uint8_t *buf)
{
    struct rel_log *l = ctx;

    l->calls++;
    l->last = buf;
    free(buf);
}

/** A buffer of len bytes of value v. */
static uint8_t *filled(size_t len, int v)
{
    uint8_t *b = malloc(len);

    assert_non_null(b);
    memset(b, v, len);
    return b;
}

/** Write a file of len bytes of value v. */
static void make_file(const char *path, size_t len, int v)
{
    uint8_t *b = filled(len, v);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
    free(b);
}

/** Read len bytes at off of path. */
static uint8_t *read_at(const char *path, size_t len, off_t off)
{
    uint8_t *b = malloc(len);
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, len, off), (ssize_t)len);
    close(fd);
    return b;
}

/** True if all len bytes at b equal v. */
static int all_are(const uint8_t *b, size_t len, int v)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (b[i] != (uint8_t)v)
            return 0;
    return 1;
}

/** Poll until n events have arrived; store them in ev. */
static void poll_n(struct tc_disk *d, struct tc_disk_event *ev, unsigned n)
{
    unsigned got = 0;

    while (got < n) {
        int r = tc_disk_poll(d, ev + got,
                             n - got > TC_DISK_EVENTS_MAX ? TC_DISK_EVENTS_MAX : n - got, 5000);
        assert_true(r > 0);
        got += (unsigned)r;
    }
}

static void test_write_zero_sync_events(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB, .create = 1};
    struct tc_disk_event ev[4];
    struct rel_log rl = {0};
    struct tc_disk *d;
    struct tc_err err = {0};
    uint8_t *b;
    struct stat st;

    (void)state;
    unlink("events.img");
    assert_int_equal(tc_disk_open(&d, "events.img", &o, &err), 0);
    assert_int_equal(tc_disk_size(d), 1 * MIB);
    assert_false(tc_disk_is_blockdev(d));
    assert_int_equal(
        tc_disk_submit_write(d, 0, filled(64 * KIB, 0x11), 64 * KIB, rel_free, &rl, 10), 0);
    assert_int_equal(
        tc_disk_submit_write(d, 64 * KIB, filled(64 * KIB, 0x22), 64 * KIB, rel_free, &rl, 11), 0);
    assert_int_equal(tc_disk_submit_zero(d, 128 * KIB, 64 * KIB, 12), 0);
    assert_int_equal(tc_disk_submit_sync(d, 13), 0);
    poll_n(d, ev, 4);
    /* One writer thread, in order: completions come back in submission order. */
    assert_int_equal(ev[0].type, TC_DISK_EV_WRITTEN);
    assert_int_equal(ev[0].cookie, 10);
    assert_int_equal(ev[1].cookie, 11);
    assert_int_equal(ev[2].type, TC_DISK_EV_WRITTEN);
    assert_int_equal(ev[2].cookie, 12);
    assert_int_equal(ev[3].type, TC_DISK_EV_DURABLE);
    assert_int_equal(ev[3].cookie, 13);
    assert_int_equal(ev[0].rc | ev[1].rc | ev[2].rc | ev[3].rc, 0);
    assert_int_equal(rl.calls, 2);
    assert_int_equal(tc_disk_pending(d), 0);
    assert_int_equal(tc_disk_close(d), 0);

    assert_int_equal(stat("events.img", &st), 0);
    assert_int_equal(st.st_size, 1 * MIB);
    b = read_at("events.img", 192 * KIB, 0);
    assert_true(all_are(b, 64 * KIB, 0x11));
    assert_true(all_are(b + 64 * KIB, 64 * KIB, 0x22));
    assert_true(all_are(b + 128 * KIB, 64 * KIB, 0));
    free(b);
}

static void test_poll_nothing_pending(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB, .create = 1};
    struct tc_disk_event ev[1];
    struct tc_disk *d;

    (void)state;
    unlink("idle.img");
    assert_int_equal(tc_disk_open(&d, "idle.img", &o, NULL), 0);
    /* Nothing pending: returns at once even with an infinite timeout. */
    assert_int_equal(tc_disk_poll(d, ev, 1, -1), 0);
    assert_int_equal(tc_disk_poll(d, ev, 0, 0), -EINVAL);
    assert_int_equal(tc_disk_close(d), 0);
}

static void test_out_of_range_keeps_ownership(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB, .create = 1};
    struct rel_log rl = {0};
    struct tc_disk *d;
    uint8_t *b = filled(4 * KIB, 1);

    (void)state;
    unlink("range.img");
    assert_int_equal(tc_disk_open(&d, "range.img", &o, NULL), 0);
    assert_int_equal(tc_disk_submit_write(d, 62 * KIB, b, 4 * KIB, rel_free, &rl, 1), -EINVAL);
    assert_int_equal(tc_disk_submit_zero(d, 60 * KIB, 8 * KIB, 2), -EINVAL);
    assert_int_equal(tc_disk_close(d), 0);
    /* A refused submit leaves the buffer with the caller. */
    assert_int_equal(rl.calls, 0);
    free(b);
}

static void test_queue_bound(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB, .create = 1};
    struct tc_disk_event ev[TC_DISK_EVENTS_MAX];
    struct tc_disk *d;
    unsigned i;

    (void)state;
    unlink("queue.img");
    assert_int_equal(tc_disk_open(&d, "queue.img", &o, NULL), 0);
    for (i = 0; i < TC_DISK_QUEUE_MAX; i++)
        assert_int_equal(tc_disk_submit_zero(d, 0, 4 * KIB, i), 0);
    assert_int_equal(tc_disk_pending(d), TC_DISK_QUEUE_MAX);
    /* Full of completions nobody polled: blocking would never end. */
    assert_int_equal(tc_disk_submit_sync(d, 999), -EAGAIN);
    poll_n(d, ev, TC_DISK_QUEUE_MAX);
    for (i = 0; i < TC_DISK_QUEUE_MAX; i++)
        assert_int_equal(ev[i].cookie, i);
    assert_int_equal(tc_disk_submit_sync(d, 999), 0);
    poll_n(d, ev, 1);
    assert_int_equal(ev[0].type, TC_DISK_EV_DURABLE);
    assert_int_equal(tc_disk_close(d), 0);
}

static void test_error_is_sticky(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB, .create = 1};
    struct tc_disk_event ev[3];
    struct rel_log rl = {0};
    struct rlimit old, lim;
    struct tc_disk *d;
    uint8_t *b;

    (void)state;
    unlink("sticky.img");
    assert_int_equal(tc_disk_open(&d, "sticky.img", &o, NULL), 0);
    /* Writes past 256 KiB now fail with EFBIG (SIGXFSZ ignored). */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 256 * KIB;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(
        tc_disk_submit_write(d, 512 * KIB, filled(64 * KIB, 3), 64 * KIB, rel_free, &rl, 1), 0);
    assert_int_equal(tc_disk_submit_write(d, 0, filled(64 * KIB, 4), 64 * KIB, rel_free, &rl, 2),
                     0);
    assert_int_equal(tc_disk_submit_sync(d, 3), 0);
    poll_n(d, ev, 3);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(ev[0].rc, -EFBIG);
    /* Nothing is written after the first failure, and the sync reports it. */
    assert_int_equal(ev[1].rc, -EFBIG);
    assert_int_equal(ev[2].type, TC_DISK_EV_DURABLE);
    assert_int_equal(ev[2].rc, -EFBIG);
    assert_int_equal(rl.calls, 2); /* failed buffers are released too */
    assert_int_equal(tc_disk_close(d), -EFBIG);
    b = read_at("sticky.img", 64 * KIB, 0);
    assert_true(all_are(b, 64 * KIB, 0));
    free(b);
}

static void test_marker(void **state)
{
    struct tc_disk_opts o = {
        .need_size = 1 * MIB, .marker_name = "demo@sha256:0123abcd", .marker_len = 256 * KIB};
    struct tc_disk_event ev[2];
    char name[128];
    struct tc_disk *d;
    uint8_t *b;

    (void)state;
    make_file("marker.img", 1 * MIB, 0xaa);
    assert_int_equal(tc_disk_open(&d, "marker.img", &o, NULL), 0);
    /* On disk before open returned: the record, then zeros up to marker_len. */
    b = read_at("marker.img", 1 * MIB, 0);
    assert_memory_equal(b, TC_DISK_MARKER_MAGIC, strlen(TC_DISK_MARKER_MAGIC));
    assert_non_null(memmem(b, TC_DISK_MARKER_LEN, "demo@sha256:0123abcd", 20));
    assert_int_equal(b[510], 0);
    assert_int_equal(b[511], 0);
    assert_true(all_are(b + TC_DISK_MARKER_LEN, 256 * KIB - TC_DISK_MARKER_LEN, 0));
    assert_true(all_are(b + 256 * KIB, 768 * KIB, 0xaa));
    free(b);
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 1);
    assert_string_equal(name, "demo@sha256:0123abcd");
    /* A short buffer gets a truncated, terminated name. */
    assert_int_equal(tc_disk_read_marker(d, name, 5), 1);
    assert_string_equal(name, "demo");

    /* Chunk 0 written last replaces the marker. */
    assert_int_equal(tc_disk_submit_write(d, 0, filled(256 * KIB, 0x55), 256 * KIB, rel_free,
                                          &(struct rel_log){0}, 0),
                     0);
    assert_int_equal(tc_disk_submit_sync(d, 1), 0);
    poll_n(d, ev, 2);
    assert_int_equal(ev[1].type, TC_DISK_EV_DURABLE);
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 0);
    assert_string_equal(name, "");
    assert_int_equal(tc_disk_close(d), 0);
}

static void test_marker_corrupt_not_recognised(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB, .marker_name = "x@sha256:00"};
    struct tc_disk *d;
    char name[64];
    int fd;

    (void)state;
    make_file("mcorrupt.img", 64 * KIB, 0);
    assert_int_equal(tc_disk_open(&d, "mcorrupt.img", &o, NULL), 0);
    assert_int_equal(tc_disk_close(d), 0);
    fd = open("mcorrupt.img", O_WRONLY);
    assert_int_equal(pwrite(fd, "y", 1, 24), 1); /* first byte of the name */
    close(fd);
    o.marker_name = NULL;
    assert_int_equal(tc_disk_open(&d, "mcorrupt.img", &o, NULL), 0);
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 0);
    assert_int_equal(tc_disk_close(d), 0);
}

static void test_punch_hole(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB};
    struct tc_disk_event ev[2];
    struct tc_disk *d;
    struct stat before, after;
    uint8_t *b;

    (void)state;
    make_file("hole.img", 1 * MIB, 0xff);
    assert_int_equal(stat("hole.img", &before), 0);
    assert_int_equal(tc_disk_open(&d, "hole.img", &o, NULL), 0);
    assert_int_equal(tc_disk_submit_zero(d, 64 * KIB, 512 * KIB, 1), 0);
    assert_int_equal(tc_disk_submit_sync(d, 2), 0);
    poll_n(d, ev, 2);
    assert_int_equal(ev[0].rc, 0);
    assert_int_equal(ev[1].rc, 0);
    assert_int_equal(tc_disk_close(d), 0);
    b = read_at("hole.img", 1 * MIB, 0);
    assert_true(all_are(b, 64 * KIB, 0xff));
    assert_true(all_are(b + 64 * KIB, 512 * KIB, 0));
    assert_true(all_are(b + 576 * KIB, 448 * KIB, 0xff));
    free(b);
    assert_int_equal(stat("hole.img", &after), 0);
    assert_int_equal(after.st_size, 1 * MIB);
    /* Punched, not written: fewer blocks allocated (where holes exist at all). */
    if (before.st_blocks > 0)
        assert_true(after.st_blocks < before.st_blocks);
}

static void test_contiguous_zeroes_merged(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB};
    struct tc_disk_event ev[5];
    struct tc_disk *d;
    uint8_t *b;
    unsigned i;

    (void)state;
    make_file("merge.img", 1 * MIB, 0xee);
    assert_int_equal(tc_disk_open(&d, "merge.img", &o, NULL), 0);
    /* Three touching ranges and one apart: each still gets its own event. */
    assert_int_equal(tc_disk_submit_zero(d, 64 * KIB, 64 * KIB, 1), 0);
    assert_int_equal(tc_disk_submit_zero(d, 128 * KIB, 64 * KIB, 2), 0);
    assert_int_equal(tc_disk_submit_zero(d, 192 * KIB, 1000, 3), 0);
    assert_int_equal(tc_disk_submit_zero(d, 512 * KIB, 4 * KIB, 4), 0);
    assert_int_equal(tc_disk_submit_sync(d, 5), 0);
    poll_n(d, ev, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(ev[i].cookie, i + 1);
        assert_int_equal(ev[i].rc, 0);
    }
    assert_int_equal(tc_disk_close(d), 0);
    b = read_at("merge.img", 1 * MIB, 0);
    assert_true(all_are(b, 64 * KIB, 0xee));
    assert_true(all_are(b + 64 * KIB, 128 * KIB + 1000, 0));
    assert_true(all_are(b + 192 * KIB + 1000, 320 * KIB - 1000, 0xee));
    assert_true(all_are(b + 512 * KIB, 4 * KIB, 0));
    assert_true(all_are(b + 516 * KIB, 508 * KIB, 0xee));
    free(b);
}

static void test_regular_file_sizes(void **state)
{
    struct tc_disk_opts o = {.need_size = 128 * KIB};
    struct tc_err err = {0};
    struct tc_disk *d;
    struct stat st;

    (void)state;
    /* Missing and no create. */
    unlink("absent.img");
    TU_EXPECT_ERR(tc_disk_open(&d, "absent.img", &o, &err), -ENOENT, &err, "absent.img");
    /* Smaller: extended. */
    make_file("small.img", 4 * KIB, 7);
    assert_int_equal(tc_disk_open(&d, "small.img", &o, NULL), 0);
    assert_int_equal(tc_disk_size(d), 128 * KIB);
    assert_int_equal(tc_disk_close(d), 0);
    assert_int_equal(stat("small.img", &st), 0);
    assert_int_equal(st.st_size, 128 * KIB);
    /* Larger: kept, unless exact_size. */
    make_file("large.img", 256 * KIB, 7);
    assert_int_equal(tc_disk_open(&d, "large.img", &o, NULL), 0);
    assert_int_equal(tc_disk_size(d), 256 * KIB);
    assert_int_equal(tc_disk_close(d), 0);
    o.exact_size = 1;
    assert_int_equal(tc_disk_open(&d, "large.img", &o, NULL), 0);
    assert_int_equal(tc_disk_close(d), 0);
    assert_int_equal(stat("large.img", &st), 0);
    assert_int_equal(st.st_size, 128 * KIB);
    /* Neither a file nor a block device. */
    tc_err_clear(&err);
    TU_EXPECT_ERR(tc_disk_open(&d, "/dev/null", &o, &err), -EINVAL, &err, "/dev/null",
                  "neither a block device nor a regular file");
}

static void test_file_cannot_grow(void **state)
{
    struct tc_disk_opts o = {.need_size = 4 * MIB, .create = 1, .marker_name = "m@sha256:00"};
    struct tc_err err = {0};
    struct rlimit old, lim;
    struct tc_disk *d;
    int rc;

    (void)state;
    unlink("nogrow.img");
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1 * MIB;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = tc_disk_open(&d, "nogrow.img", &o, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    TU_EXPECT_ERR(rc, -ENOSPC, &err, "nogrow.img", "4194304");
    /* A file created by the failed open is removed again. */
    assert_int_equal(access("nogrow.img", F_OK), -1);
}

/** Pattern byte i of an extra: not constant, so a shifted copy shows. */
static uint8_t *extra_bytes(size_t len)
{
    uint8_t *b = malloc(len);
    size_t i;

    assert_non_null(b);
    for (i = 0; i < len; i++)
        b[i] = (uint8_t)(i * 7 + 1);
    return b;
}

/** Overwrite one byte of path at off with its complement. */
static void flip_byte(const char *path, off_t off)
{
    uint8_t c;
    int fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c = (uint8_t)~c;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void test_mark_zeroes_and_extra(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB};
    const size_t xlen = 1000;
    struct tc_err err = {0};
    struct tc_disk *d;
    uint8_t *x = extra_bytes(xlen), *b, *got = NULL;
    size_t got_len = 0;
    char name[128];

    (void)state;
    make_file("mark.img", 1 * MIB, 0xcc);
    assert_int_equal(tc_disk_open(&d, "mark.img", &o, NULL), 0);
    /* No marker on a target full of 0xcc. */
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 0);
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 0);
    assert_null(got);
    assert_int_equal(tc_disk_mark(d, "disk@sha256:00ff", 128 * KIB, x, xlen, &err), 0);

    /* On disk when mark returns: record, extra header, extra, then zeros to
     * zero_len; the rest untouched. */
    b = read_at("mark.img", 1 * MIB, 0);
    assert_memory_equal(b, TC_DISK_MARKER_MAGIC, strlen(TC_DISK_MARKER_MAGIC));
    assert_true(all_are(b + 480, 32, 0));
    assert_memory_equal(b + TC_DISK_MARKER_LEN, TC_DISK_EXTRA_MAGIC, strlen(TC_DISK_EXTRA_MAGIC));
    assert_memory_equal(b + TC_DISK_EXTRA_OFF, x, xlen);
    assert_true(all_are(b + TC_DISK_EXTRA_OFF + xlen, 128 * KIB - TC_DISK_EXTRA_OFF - xlen, 0));
    assert_true(all_are(b + 128 * KIB, 1 * MIB - 128 * KIB, 0xcc));
    free(b);

    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 1);
    assert_string_equal(name, "disk@sha256:00ff");
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 1);
    assert_int_equal(got_len, xlen);
    assert_memory_equal(got, x, xlen);
    free(got);
    got = NULL;
    /* Longer than the caller's max: not returned. */
    assert_int_equal(tc_disk_read_extra(d, xlen - 1, &got, &got_len), 0);
    assert_null(got);
    assert_int_equal(got_len, 0);

    /* One flipped byte of the extra: refused, the marker itself still valid. */
    flip_byte("mark.img", TC_DISK_EXTRA_OFF + 500);
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 0);
    assert_null(got);
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 1);
    flip_byte("mark.img", TC_DISK_EXTRA_OFF + 500);
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 1);
    free(got);
    got = NULL;
    /* A flipped byte of the stored hash, and of the length: refused too. */
    flip_byte("mark.img", TC_DISK_EXTRA_OFF - 1);
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 0);
    flip_byte("mark.img", TC_DISK_EXTRA_OFF - 1);
    flip_byte("mark.img", TC_DISK_EXTRA_OFF - 33);
    assert_int_equal(tc_disk_read_extra(d, 1 * MIB, &got, &got_len), 0);
    assert_null(got);
    flip_byte("mark.img", TC_DISK_EXTRA_OFF - 33);
    /* An invalid marker hides a valid extra. */
    flip_byte("mark.img", 30);
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 0);
    assert_null(got);
    assert_int_equal(tc_disk_close(d), 0);
    free(x);
}

static void test_mark_without_extra(void **state)
{
    struct tc_disk_opts o = {.need_size = 256 * KIB};
    struct tc_disk *d;
    uint8_t *b, *got = NULL;
    size_t got_len = 0;
    char name[64];

    (void)state;
    make_file("mark0.img", 256 * KIB, 0x99);
    assert_int_equal(tc_disk_open(&d, "mark0.img", &o, NULL), 0);
    /* zero_len below the record: the record's 512 bytes are zeroed anyway. */
    assert_int_equal(tc_disk_mark(d, "n@sha256:11", 100, NULL, 0, NULL), 0);
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 1);
    assert_string_equal(name, "n@sha256:11");
    assert_int_equal(tc_disk_read_extra(d, 4096, &got, &got_len), 0);
    assert_null(got);
    assert_int_equal(tc_disk_close(d), 0);
    b = read_at("mark0.img", 256 * KIB, 0);
    assert_true(all_are(b + 24 + strlen("n@sha256:11"), 448 - 24 - strlen("n@sha256:11"), 0));
    assert_true(all_are(b + TC_DISK_MARKER_LEN, 256 * KIB - TC_DISK_MARKER_LEN, 0x99));
    free(b);
}

static void test_mark_refused(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB};
    struct tc_disk_event ev[1];
    struct tc_err err = {0};
    struct tc_disk *d;
    const size_t room = 4096 - TC_DISK_EXTRA_OFF;
    uint8_t *x = extra_bytes(64 * KIB), *b, *got = NULL;
    size_t got_len = 0;

    (void)state;
    make_file("markno.img", 64 * KIB, 0x42);
    assert_int_equal(tc_disk_open(&d, "markno.img", &o, NULL), 0);
    /* One byte more than fits after the marker in zero_len: refused, nothing written. */
    TU_EXPECT_ERR(tc_disk_mark(d, "p@sha256:00", 4096, x, room + 1, &err), -ENOSPC, &err,
                  "markno.img", "3529", "4096");
    b = read_at("markno.img", 64 * KIB, 0);
    assert_true(all_are(b, 64 * KIB, 0x42));
    free(b);
    /* One byte past the end of the target, zero_len larger still. */
    tc_err_clear(&err);
    TU_EXPECT_ERR(
        tc_disk_mark(d, "p@sha256:00", 1 * MIB, x, 64 * KIB - TC_DISK_EXTRA_OFF + 1, &err), -ENOSPC,
        &err, "markno.img", "65536 bytes", "64969", "1048576");
    b = read_at("markno.img", 64 * KIB, 0);
    assert_true(all_are(b, 64 * KIB, 0x42));
    free(b);
    /* A pin over the name limit. */
    {
        char pin[TC_DISK_MARKER_NAME_MAX + 2];
        memset(pin, 'a', sizeof(pin) - 1);
        pin[sizeof(pin) - 1] = '\0';
        tc_err_clear(&err);
        TU_EXPECT_ERR(tc_disk_mark(d, pin, 4096, NULL, 0, &err), -EINVAL, &err, "401", "400");
    }
    /* Exactly fits. */
    assert_int_equal(tc_disk_mark(d, "p@sha256:00", 4096, x, room, &err), 0);
    assert_int_equal(tc_disk_read_extra(d, room, &got, &got_len), 1);
    assert_int_equal(got_len, room);
    assert_memory_equal(got, x, room);
    free(got);
    /* After a submit: too late for a marker. */
    assert_int_equal(tc_disk_submit_sync(d, 1), 0);
    tc_err_clear(&err);
    TU_EXPECT_ERR(tc_disk_mark(d, "p@sha256:00", 4096, NULL, 0, &err), -EBUSY, &err, "markno.img");
    poll_n(d, ev, 1);
    assert_int_equal(tc_disk_close(d), 0);
    free(x);
}

/** poll(2) fd for readability, waiting at most ms; 1 readable, 0 not. */
static int fd_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, ms);

    assert_true(r >= 0);
    return r > 0 && (p.revents & POLLIN);
}

static void test_event_fd(void **state)
{
    struct tc_disk_opts o = {.need_size = 1 * MIB, .create = 1};
    struct tc_disk_event ev[2];
    struct rel_log rl = {0};
    struct tc_disk *d;
    int fd;

    (void)state;
    unlink("evfd.img");
    assert_int_equal(tc_disk_open(&d, "evfd.img", &o, NULL), 0);
    fd = tc_disk_event_fd(d);
    assert_true(fd >= 0);
    assert_false(fd_readable(fd, 0));

    /* One completion: readable until polled, then not. */
    assert_int_equal(tc_disk_submit_sync(d, 1), 0);
    assert_true(fd_readable(fd, 5000));
    assert_int_equal(tc_disk_poll(d, ev, 2, 0), 1);
    assert_int_equal(ev[0].cookie, 1);
    assert_false(fd_readable(fd, 0));

    /* Two completions, taken one at a time: still readable while one waits. */
    assert_int_equal(tc_disk_submit_write(d, 0, filled(64 * KIB, 0x61), 64 * KIB, rel_free, &rl, 2),
                     0);
    assert_int_equal(tc_disk_submit_sync(d, 3), 0);
    assert_int_equal(tc_disk_poll(d, ev, 1, 5000), 1);
    assert_int_equal(ev[0].cookie, 2);
    assert_true(fd_readable(fd, 5000));
    assert_int_equal(tc_disk_poll(d, ev, 1, 0), 1);
    assert_int_equal(ev[0].cookie, 3);
    assert_false(fd_readable(fd, 0));

    /* A poll that waits for the completion drains it as well: no readability
     * is left behind for an event already returned. */
    assert_int_equal(tc_disk_submit_sync(d, 4), 0);
    assert_int_equal(tc_disk_poll(d, ev, 2, 5000), 1);
    assert_int_equal(ev[0].cookie, 4);
    assert_false(fd_readable(fd, 0));
    assert_int_equal(tc_disk_close(d), 0);
}

static void test_set_size_file(void **state)
{
    struct tc_disk_opts o = {.need_size = 64 * KIB, .create = 1};
    struct tc_disk_event ev[1];
    struct tc_err err = {0};
    struct rlimit old, lim;
    struct tc_disk *d;
    struct stat st;
    int rc;

    (void)state;
    unlink("sized.img");
    assert_int_equal(tc_disk_open(&d, "sized.img", &o, NULL), 0);
    /* Grows to exactly the size, odd sizes included. */
    assert_int_equal(tc_disk_set_size(d, 1 * MIB + 3, 4096, &err), 0);
    assert_int_equal(tc_disk_size(d), 1 * MIB + 3);
    assert_int_equal(stat("sized.img", &st), 0);
    assert_int_equal(st.st_size, 1 * MIB + 3);
    /* Shrinks to exactly the size. */
    assert_int_equal(tc_disk_set_size(d, 100 * KIB + 1, 0, &err), 0);
    assert_int_equal(tc_disk_size(d), 100 * KIB + 1);
    assert_int_equal(stat("sized.img", &st), 0);
    assert_int_equal(st.st_size, 100 * KIB + 1);
    /* The new size bounds the writes. */
    assert_int_equal(tc_disk_submit_zero(d, 100 * KIB, 2, 9), -EINVAL);

    /* More data than the file system holds: refused, size unchanged. */
    TU_EXPECT_ERR(tc_disk_set_size(d, 2 * MIB, UINT64_C(1) << 62, &err), -ENOSPC, &err, "sized.img",
                  "4611686018427387904", "free");
    assert_int_equal(stat("sized.img", &st), 0);
    assert_int_equal(st.st_size, 100 * KIB + 1);
    assert_int_equal(tc_disk_size(d), 100 * KIB + 1);

    /* A file that cannot grow: -ENOSPC naming both sizes. */
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1 * MIB;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    tc_err_clear(&err);
    rc = tc_disk_set_size(d, 4 * MIB, 0, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    TU_EXPECT_ERR(rc, -ENOSPC, &err, "sized.img", "102401", "4194304");
    assert_int_equal(tc_disk_size(d), 100 * KIB + 1);

    /* After a submit: refused. */
    assert_int_equal(tc_disk_submit_sync(d, 1), 0);
    tc_err_clear(&err);
    TU_EXPECT_ERR(tc_disk_set_size(d, 1 * MIB, 0, &err), -EBUSY, &err, "sized.img");
    poll_n(d, ev, 1);
    assert_int_equal(tc_disk_close(d), 0);
    assert_int_equal(stat("sized.img", &st), 0);
    assert_int_equal(st.st_size, 100 * KIB + 1);
}

/** A loop device over a file, or -1 when this process may not make one. */
struct loopdev {
    int fd;        /**< /dev/loopN */
    char path[64]; /**< its name */
};

/** Attach backing to a free loop device (auto-cleared on last close). */
static int loop_attach(struct loopdev *l, const char *backing)
{
    struct loop_info64 info;
    int ctl, n, bfd;

    l->fd = -1;
    ctl = open("/dev/loop-control", O_RDWR);
    if (ctl < 0)
        return -1;
    n = ioctl(ctl, LOOP_CTL_GET_FREE);
    close(ctl);
    if (n < 0)
        return -1;
    snprintf(l->path, sizeof(l->path), "/dev/loop%d", n);
    l->fd = open(l->path, O_RDWR);
    bfd = open(backing, O_RDWR);
    if (l->fd < 0 || bfd < 0 || ioctl(l->fd, LOOP_SET_FD, bfd) < 0) {
        if (bfd >= 0)
            close(bfd);
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
        return -1;
    }
    close(bfd);
    memset(&info, 0, sizeof(info));
    info.lo_flags = LO_FLAGS_AUTOCLEAR;
    (void)ioctl(l->fd, LOOP_SET_STATUS64, &info);
    return 0;
}

/** Detach. */
static void loop_detach(struct loopdev *l)
{
    if (l->fd < 0)
        return;
    (void)ioctl(l->fd, LOOP_CLR_FD, 0);
    close(l->fd);
    l->fd = -1;
}

static void test_blockdev_too_small(void **state)
{
    struct tc_disk_opts o = {.need_size = 2 * MIB, .marker_name = "big@sha256:00"};
    struct tc_err err = {0};
    struct loopdev l;
    struct tc_disk *d = NULL;
    uint8_t *b;
    int rc;

    (void)state;
    make_file("small-backing.img", 1 * MIB, 0x5a);
    if (loop_attach(&l, "small-backing.img") < 0) {
        skip();
        return;
    }
    rc = tc_disk_open(&d, l.path, &o, &err);
    loop_detach(&l);
    TU_EXPECT_ERR(rc, -ENOSPC, &err, l.path, "too small", "1048576", "2097152");
    /* Refused before the first write: the marker is not there. */
    b = read_at("small-backing.img", 1 * MIB, 0);
    assert_true(all_are(b, 1 * MIB, 0x5a));
    free(b);
}

static void test_blockdev_write_and_zeroout(void **state)
{
    struct tc_disk_opts o = {
        .need_size = 1 * MIB, .marker_name = "dev@sha256:00", .marker_len = 64 * KIB};
    struct tc_disk_event ev[3];
    struct rel_log rl = {0};
    struct tc_err err = {0};
    struct loopdev l;
    struct tc_disk *d = NULL;
    char name[64];
    uint8_t *b;
    int rc;

    (void)state;
    make_file("dev-backing.img", 2 * MIB, 0x77);
    if (loop_attach(&l, "dev-backing.img") < 0) {
        skip();
        return;
    }
    rc = tc_disk_open(&d, l.path, &o, &err);
    if (rc < 0)
        loop_detach(&l);
    assert_int_equal(rc, 0);
    assert_true(tc_disk_is_blockdev(d));
    assert_int_equal(tc_disk_size(d), 2 * MIB); /* a device keeps its size */
    assert_int_equal(tc_disk_read_marker(d, name, sizeof(name)), 1);
    assert_string_equal(name, "dev@sha256:00");
    assert_int_equal(
        tc_disk_submit_write(d, 64 * KIB, filled(64 * KIB, 0x31), 64 * KIB, rel_free, &rl, 1), 0);
    /* Unaligned at both ends: BLKZEROOUT in the middle, written zeros around it. */
    assert_int_equal(tc_disk_submit_zero(d, 128 * KIB + 100, 256 * KIB, 2), 0);
    assert_int_equal(tc_disk_submit_sync(d, 3), 0);
    poll_n(d, ev, 3);
    assert_int_equal(ev[0].rc | ev[1].rc | ev[2].rc, 0);
    assert_int_equal(tc_disk_close(d), 0);
    loop_detach(&l);
    b = read_at("dev-backing.img", 2 * MIB, 0);
    assert_true(all_are(b + TC_DISK_MARKER_LEN, 64 * KIB - TC_DISK_MARKER_LEN, 0));
    assert_true(all_are(b + 64 * KIB, 64 * KIB, 0x31));
    assert_true(all_are(b + 128 * KIB, 100, 0x77));
    assert_true(all_are(b + 128 * KIB + 100, 256 * KIB, 0));
    assert_true(all_are(b + 384 * KIB + 100, 2 * MIB - 384 * KIB - 100, 0x77));
    free(b);
}

static void test_set_size_blockdev(void **state)
{
    struct tc_disk_opts o = {.need_size = 0};
    struct tc_err err = {0};
    struct loopdev l;
    struct tc_disk *d = NULL;
    uint8_t *b;
    int rc, rc2;

    (void)state;
    make_file("sized-backing.img", 1 * MIB, 0x3c);
    if (loop_attach(&l, "sized-backing.img") < 0) {
        skip();
        return;
    }
    rc = tc_disk_open(&d, l.path, &o, &err);
    if (rc < 0)
        loop_detach(&l);
    assert_int_equal(rc, 0);
    /* Too small: refused, naming the device and both sizes; size kept. */
    rc = tc_disk_set_size(d, 1 * MIB + 512, 0, &err);
    /* Fits: a device keeps its size. */
    rc2 = tc_disk_set_size(d, 512 * KIB, 512 * KIB, NULL);
    assert_int_equal(tc_disk_size(d), 1 * MIB);
    assert_int_equal(tc_disk_close(d), 0);
    loop_detach(&l);
    TU_EXPECT_ERR(rc, -ENOSPC, &err, l.path, "too small", "1048576", "1049088");
    assert_int_equal(rc2, 0);
    b = read_at("sized-backing.img", 1 * MIB, 0);
    assert_true(all_are(b, 1 * MIB, 0x3c));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_zero_sync_events),
        cmocka_unit_test(test_poll_nothing_pending),
        cmocka_unit_test(test_out_of_range_keeps_ownership),
        cmocka_unit_test(test_queue_bound),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_marker),
        cmocka_unit_test(test_marker_corrupt_not_recognised),
        cmocka_unit_test(test_punch_hole),
        cmocka_unit_test(test_contiguous_zeroes_merged),
        cmocka_unit_test(test_regular_file_sizes),
        cmocka_unit_test(test_file_cannot_grow),
        cmocka_unit_test(test_blockdev_too_small),
        cmocka_unit_test(test_blockdev_write_and_zeroout),
        cmocka_unit_test(test_mark_zeroes_and_extra),
        cmocka_unit_test(test_mark_without_extra),
        cmocka_unit_test(test_mark_refused),
        cmocka_unit_test(test_event_fd),
        cmocka_unit_test(test_set_size_file),
        cmocka_unit_test(test_set_size_blockdev),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
