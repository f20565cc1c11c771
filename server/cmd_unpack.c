// SPDX-License-Identifier: MIT
/*
 * `treecast unpack`: write a verified image to a file or block device, in
 * the order that keeps a half-written target unbootable:
 *
 *   1. every check before the first write: the policy (the same code as
 *      verify), chunk 0 verified and decoded into memory, then the target's
 *      size and mount state (tc_disk_open);
 *   2. the in-progress marker over the first chunk's range (tc_disk_open);
 *   3. chunks 1..n-1, each verified (stored SHA-256) and inflated on worker
 *      threads, submitted in order; a bad chunk stops the write at that
 *      chunk, leaving the marker in place;
 *   4. sync, wait until durable; then chunk 0 over the marker; sync again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treecast/chunk.h"
#include "treecast/disk.h"
#include "treecast/imgfile.h"
#include "treecast/progress.h"

/** Decode slots per worker thread. */
#define UNPACK_SLOTS_PER_THREAD 2
/** Extra slots, so that buffers waiting in the disk queue do not starve the workers. */
#define UNPACK_SLOTS_EXTRA 4
/** Disk cookies of the two syncs (chunk cookies are chunk indices). */
#define UNPACK_COOKIE_SYNC_BODY (UINT64_MAX - 1)
#define UNPACK_COOKIE_SYNC_FINAL (UINT64_MAX - 2)

static const char unpack_help[] =
    "Usage: treecast unpack --trust DIR [POLICY OPTIONS] IMAGE.tcimg TARGET\n"
    "\n"
    "Verify IMAGE.tcimg and write it to TARGET, a regular file (created, and sized\n"
    "to the image) or a block device (at least as large as the image, not mounted\n"
    "and not in use). The policy is checked exactly as by `treecast verify`, and\n"
    "the target's size and state, before anything is written. Then the first\n"
    "chunk's range is replaced by an in-progress marker, every other chunk is\n"
    "verified, inflated and written, everything is flushed to stable storage, and\n"
    "the first chunk (partition table, boot sector) is written last. A corrupt\n"
    "chunk stops the write at that chunk: the target keeps the marker and is\n"
    "never bootable half-written.\n"
    "\n"
    "Options:\n" TC_CLI_POLICY_HELP
    "  --threads T            worker threads (default: one per online CPU)\n"
    "  --help                 this text\n";

struct unpack_ctx;

/** One decode slot. */
struct unpack_slot {
    uint8_t *raw;                 /**< chunk_size bytes of decoded chunk */
    struct tc_chunk_decoder *dec; /**< reusable inflate state (one worker at a time) */
    struct tc_err err;            /**< why the chunk failed */
    struct unpack_ctx *uc;        /**< back pointer for the release callback */
    unsigned index;               /**< this slot's index */
};

/** Shared by the workers, the main loop and the disk writer's callback. */
struct unpack_ctx {
    const struct tc_imgfile *f; /**< the image */
    struct unpack_slot *slots;  /**< the pool */
    unsigned nslots;            /**< slots */
    struct tc_pipe *pipe;       /**< the pipeline */
    struct tc_disk *disk;       /**< the target */
    int disk_rc;                /**< first failed disk event */
    uint64_t disk_cookie;       /**< its cookie */
    uint64_t data_chunks;       /**< chunks written */
    uint64_t zero_chunks;       /**< chunks zeroed */
};

/**
 * Worker: verify and inflate chunk seq + 1 (chunk 0 was done up front). A
 * ZERO chunk has nothing stored (the manifest parser checked that its stored
 * length is 0 and its stored hash that of nothing): it becomes a zero range.
 */
static int unpack_work(void *ctx, uint64_t seq, unsigned slot)
{
    struct unpack_ctx *uc = ctx;
    struct unpack_slot *s = &uc->slots[slot];
    uint32_t idx = (uint32_t)(seq + 1);
    const uint8_t *stored;
    size_t len;

    if (uc->f->manifest->chunks[idx].enc == TC_ENC_ZERO)
        return 0;
    tc_err_clear(&s->err);
    stored = tc_imgfile_chunk(uc->f, idx, &len);
    return tc_chunk_verify_decode_dec(s->dec, uc->f->manifest, idx, stored, len, s->raw, &s->err);
}

/**
 * Disk writer callback: the buffer is on its way to disk, the slot is free.
 */
static void unpack_release(void *ctx, uint8_t *buf)
{
    struct unpack_slot *s = ctx;

    (void)buf;
    tc_pipe_release(s->uc->pipe, s->index);
}

/**
 * Collect disk events (waiting up to timeout_ms); remember the first failure.
 * Returns 1 once the event with cookie `until` was seen, else 0.
 */
static int unpack_events(struct unpack_ctx *uc, int timeout_ms, uint64_t until)
{
    struct tc_disk_event ev[TC_DISK_EVENTS_MAX];
    int n, i, seen = 0;

    n = tc_disk_poll(uc->disk, ev, TC_DISK_EVENTS_MAX, timeout_ms);
    if (n < 0 && uc->disk_rc == 0) {
        uc->disk_rc = n;
        uc->disk_cookie = until;
    }
    for (i = 0; i < n; i++) {
        if (ev[i].rc < 0 && uc->disk_rc == 0) {
            uc->disk_rc = ev[i].rc;
            uc->disk_cookie = ev[i].cookie;
        }
        if (ev[i].cookie == until)
            seen = 1;
    }
    return seen;
}

/**
 * Wait until the disk queue has room for one more request: a submit with
 * TC_DISK_QUEUE_MAX completions unpolled would fail with -EAGAIN.
 */
static int unpack_wait_space(struct unpack_ctx *uc)
{
    while (tc_disk_pending(uc->disk) >= TC_DISK_QUEUE_MAX && uc->disk_rc == 0)
        unpack_events(uc, -1, UINT64_MAX);
    return uc->disk_rc;
}

/**
 * Record a failed submit as the disk's first error.
 */
static int unpack_submit_failed(struct unpack_ctx *uc, int rc, uint64_t cookie)
{
    if (rc < 0 && uc->disk_rc == 0) {
        uc->disk_rc = rc;
        uc->disk_cookie = cookie;
    }
    return uc->disk_rc;
}

/**
 * Submit a sync and wait for its DURABLE event.
 */
static int unpack_sync(struct unpack_ctx *uc, uint64_t cookie)
{
    int rc = unpack_wait_space(uc);

    if (rc < 0)
        return rc;
    rc = tc_disk_submit_sync(uc->disk, cookie);
    if (rc < 0)
        return unpack_submit_failed(uc, rc, cookie);
    while (!unpack_events(uc, -1, cookie) && uc->disk_rc == 0)
        ;
    return uc->disk_rc;
}

/**
 * Say which disk request failed.
 */
static int unpack_disk_fail(const char *cmd, const struct unpack_ctx *uc, const char *target)
{
    if (uc->disk_cookie == UNPACK_COOKIE_SYNC_BODY || uc->disk_cookie == UNPACK_COOKIE_SYNC_FINAL)
        tc_cli_error(cmd, "flushing target %s to stable storage failed: %s", target,
                     strerror(-uc->disk_rc));
    else
        tc_cli_error(cmd, "writing chunk %llu to target %s failed: %s",
                     (unsigned long long)uc->disk_cookie, target, strerror(-uc->disk_rc));
    tc_cli_error(cmd, "%s keeps its in-progress marker and is not bootable", target);
    return tc_cli_exit_code(uc->disk_rc, TC_PHASE_TARGET);
}

/**
 * Submit one chunk (decoded in slot, or a zero range), waiting for queue
 * space first. On failure the slot is released here.
 */
static int unpack_submit(struct unpack_ctx *uc, uint32_t idx, unsigned slot)
{
    const struct tc_manifest *m = uc->f->manifest;
    uint64_t off = (uint64_t)idx * m->chunk_size;
    uint32_t len = tc_manifest_chunk_raw_len(m, idx);
    int rc;

    if (unpack_wait_space(uc) < 0) {
        tc_pipe_release(uc->pipe, slot);
        return uc->disk_rc;
    }
    if (m->chunks[idx].enc == TC_ENC_ZERO) {
        tc_pipe_release(uc->pipe, slot);
        rc = tc_disk_submit_zero(uc->disk, off, len, idx);
        uc->zero_chunks++;
    } else {
        rc = tc_disk_submit_write(uc->disk, off, uc->slots[slot].raw, len, unpack_release,
                                  &uc->slots[slot], idx);
        if (rc < 0)
            tc_pipe_release(uc->pipe, slot);
        uc->data_chunks++;
    }
    unpack_submit_failed(uc, rc, idx);
    unpack_events(uc, 0, UINT64_MAX);
    return uc->disk_rc;
}

/** Command-line options of unpack. */
struct unpack_opts {
    struct tc_cli_policy pol; /**< shared with verify */
    unsigned threads;         /**< --threads */
    const char *image;        /**< IMAGE.tcimg */
    const char *target;       /**< TARGET */
};

/**
 * Parse unpack's command line; 0, an exit code, or -1 after --help.
 */
static int unpack_parse(int argc, char **argv, struct unpack_opts *o)
{
    static const struct option longopts[] = {
        TC_CLI_POLICY_LONGOPTS,
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "unpack";
    int c, rc;

    memset(o, 0, sizeof(*o));
    tc_cli_policy_init(&o->pol);
    o->threads = tc_opts_default_threads();
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        rc = tc_cli_policy_option(&o->pol, cmd, c, optarg);
        if (rc < 0)
            return -rc;
        if (rc > 0)
            continue;
        switch (c) {
        case 't':
            if (tc_opts_threads(optarg, &o->threads) < 0)
                return tc_cli_usage(cmd, "--threads must be from 1 to %u, not '%s'",
                                    TC_CLI_THREADS_MAX, optarg);
            break;
        case 'h':
            fputs(unpack_help, stdout);
            return -1;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    rc = tc_cli_policy_ready(&o->pol, cmd);
    if (rc)
        return rc;
    if (argc - optind != 2)
        return tc_cli_usage(cmd, "expected IMAGE.tcimg and TARGET, got %d argument%s",
                            argc - optind, argc - optind == 1 ? "" : "s");
    o->image = argv[optind];
    o->target = argv[optind + 1];
    return 0;
}

/**
 * Allocate the decode slots.
 */
static int unpack_alloc(struct unpack_ctx *uc, unsigned threads)
{
    unsigned i;

    uc->nslots = threads * UNPACK_SLOTS_PER_THREAD + UNPACK_SLOTS_EXTRA;
    uc->slots = calloc(uc->nslots, sizeof(*uc->slots));
    if (!uc->slots)
        return -ENOMEM;
    for (i = 0; i < uc->nslots; i++) {
        uc->slots[i].raw = malloc(uc->f->manifest->chunk_size);
        uc->slots[i].uc = uc;
        uc->slots[i].index = i;
        if (!uc->slots[i].raw || tc_chunk_decoder_new(&uc->slots[i].dec, NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

/**
 * The write phase (steps 2-4), after every check passed. Returns an exit code.
 */
static int unpack_write(const struct unpack_opts *o, struct unpack_ctx *uc, uint8_t *chunk0)
{
    const char *cmd = "unpack";
    const struct tc_manifest *m = uc->f->manifest;
    struct tc_progress prog;
    struct tc_err err;
    uint64_t seq;
    unsigned slot;
    int rc, prc;

    tc_err_clear(&err);
    rc = tc_pipe_start(&uc->pipe, unpack_work, uc, o->threads, uc->nslots, m->chunk_count - 1);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_OTHER, NULL);
    tc_progress_init(&prog, "unpack", m->raw_size);
    for (;;) {
        prc = tc_pipe_next(uc->pipe, &seq, &slot);
        if (prc == 1)
            break;
        if (prc < 0) {
            tc_progress_clear(&prog);
            tc_cli_error(cmd, "%s: %s", uc->f->path, uc->slots[slot].err.msg);
            tc_cli_error(cmd,
                         "stopped at chunk %llu of %u: %s keeps its in-progress marker and is "
                         "not bootable",
                         (unsigned long long)seq + 1, m->chunk_count, o->target);
            tc_pipe_release(uc->pipe, slot);
            tc_progress_finish(&prog, 0);
            return tc_cli_exit_code(prc, TC_PHASE_IMAGE);
        }
        rc = unpack_submit(uc, (uint32_t)(seq + 1), slot);
        if (rc < 0) {
            tc_progress_finish(&prog, 0);
            return unpack_disk_fail(cmd, uc, o->target);
        }
        tc_progress_update(&prog, (seq + 2) * m->chunk_size);
    }
    tc_pipe_stop(uc->pipe);

    /* Everything but chunk 0 must be on stable storage before chunk 0 replaces the marker. */
    rc = unpack_sync(uc, UNPACK_COOKIE_SYNC_BODY);
    if (rc == 0) {
        uint32_t len0 = tc_manifest_chunk_raw_len(m, 0);
        rc = unpack_wait_space(uc);
        if (rc == 0 && m->chunks[0].enc == TC_ENC_ZERO)
            rc = unpack_submit_failed(uc, tc_disk_submit_zero(uc->disk, 0, len0, 0), 0);
        else if (rc == 0)
            rc = unpack_submit_failed(
                uc, tc_disk_submit_write(uc->disk, 0, chunk0, len0, NULL, NULL, 0), 0);
    }
    if (rc == 0)
        rc = unpack_sync(uc, UNPACK_COOKIE_SYNC_FINAL);
    if (rc < 0) {
        tc_progress_finish(&prog, 0);
        return unpack_disk_fail(cmd, uc, o->target);
    }
    tc_progress_finish(&prog, 1);
    return TC_EXIT_OK;
}

/**
 * `treecast unpack`.
 */
int tc_cmd_unpack(int argc, char **argv)
{
    const char *cmd = "unpack";
    struct unpack_opts o;
    struct unpack_ctx uc;
    struct tc_imgfile *f = NULL;
    struct tc_disk_opts dopts;
    struct tc_verdict v;
    struct tc_err err;
    char pin[TC_CLI_PIN_MAX], hs[32];
    uint8_t *chunk0 = NULL;
    const uint8_t *stored;
    uint64_t t0 = tc_progress_now_ns();
    size_t len;
    int rc, crc;
    unsigned i;

    rc = unpack_parse(argc, argv, &o);
    if (rc < 0)
        return TC_EXIT_OK;
    if (rc > 0)
        return rc;
    memset(&uc, 0, sizeof(uc));
    tc_err_clear(&err);

    /* 1. Every check before the first write. */
    rc = tc_imgfile_open(&f, o.image, TC_IMGFILE_SEQUENTIAL, &err);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
    uc.f = f;
    rc = tc_cli_policy_check(&o.pol, cmd, f, &v);
    if (rc)
        goto out;
    chunk0 = malloc(f->manifest->chunk_size);
    if (!chunk0 || unpack_alloc(&uc, o.threads) < 0) {
        rc = tc_cli_fail(cmd, -ENOMEM, TC_PHASE_OTHER, NULL);
        goto out;
    }
    stored = tc_imgfile_chunk(f, 0, &len);
    rc = tc_chunk_verify_decode(f->manifest, 0, stored, len, chunk0, &err);
    if (rc < 0) {
        tc_err_prefix(&err, rc, "%s: ", o.image);
        rc = tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
        tc_cli_error(cmd, "nothing was written to %s", o.target);
        goto out;
    }
    tc_manifest_pin(f->manifest, pin, sizeof(pin));

    /* 2. Target checks, then the marker (tc_disk_open does both, in that order). */
    memset(&dopts, 0, sizeof(dopts));
    dopts.need_size = f->manifest->raw_size;
    for (i = 0; i < f->manifest->chunk_count; i++)
        if (f->manifest->chunks[i].enc != TC_ENC_ZERO)
            dopts.data_bytes += tc_manifest_chunk_raw_len(f->manifest, i);
    dopts.create = 1;
    dopts.exact_size = 1;
    dopts.marker_name = pin;
    dopts.marker_len = tc_manifest_chunk_raw_len(f->manifest, 0);
    rc = tc_disk_open(&uc.disk, o.target, &dopts, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TARGET, &err);
        goto out;
    }

    /* 3 and 4. */
    rc = unpack_write(&o, &uc, chunk0);

out:
    if (uc.pipe)
        tc_pipe_stop(uc.pipe);
    if (uc.disk) {
        crc = tc_disk_close(uc.disk);
        if (crc < 0 && rc == TC_EXIT_OK) {
            tc_cli_error(cmd, "closing target %s failed: %s", o.target, strerror(-crc));
            rc = tc_cli_exit_code(crc, TC_PHASE_TARGET);
        }
    }
    tc_pipe_free(uc.pipe);
    if (rc == TC_EXIT_OK) {
        double secs = (double)(tc_progress_now_ns() - t0) / 1e9;
        printf("unpacked %s -> %s\n", o.image, o.target);
        printf("  image       %s\n", pin);
        printf("  signatures  %u trusted of %u; policy requires %u\n", v.trusted_valid, v.total,
               o.pol.min_signatures);
        printf("  written     %llu bytes (%s): %llu chunks with data, %llu zero\n",
               (unsigned long long)f->manifest->raw_size,
               tc_opts_human(f->manifest->raw_size, hs, sizeof(hs)),
               (unsigned long long)uc.data_chunks + (f->manifest->chunks[0].enc != TC_ENC_ZERO),
               (unsigned long long)uc.zero_chunks + (f->manifest->chunks[0].enc == TC_ENC_ZERO));
        printf("  time        %.2f s, %.1f MB/s, %u threads\n", secs,
               secs > 0 ? (double)f->manifest->raw_size / secs / 1e6 : 0.0, o.threads);
    }
    for (i = 0; uc.slots && i < uc.nslots; i++) {
        free(uc.slots[i].raw);
        tc_chunk_decoder_free(uc.slots[i].dec);
    }
    free(uc.slots);
    free(chunk0);
    tc_imgfile_close(f);
    return rc;
}
