// SPDX-License-Identifier: MIT
/*
 * `treecast verify`: the policy (shared with unpack, server/policy.c), then
 * every chunk through the verified path (stored hash, bounded inflate) plus
 * the raw hash of what it inflates to and, with a block-hash section, the
 * hash of its segment hash list; then every boot blob.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treecast/chunk.h"
#include "treecast/imgfile.h"
#include "treecast/progress.h"
#include "treecast/proto.h"
#include "treecast/tctime.h"
#include "treecast/wire.h"

/** Slots per worker thread. */
#define VERIFY_SLOTS_PER_THREAD 2

static const char verify_help[] =
    "Usage: treecast verify --trust DIR [POLICY OPTIONS] IMAGE.tcimg\n"
    "\n"
    "Check that IMAGE.tcimg would be accepted by `treecast unpack` (and by an agent\n"
    "with the same trust store and policy): signatures, expiry, revocation, name,\n"
    "version, then every chunk (stored SHA-256, inflate, raw SHA-256, and the hash\n"
    "of its segment hash list against the block-hash section) and the boot section.\n"
    "Nothing is written.\n"
    "\n"
    "Options:\n" TC_CLI_POLICY_HELP
    "  --threads T            worker threads (default: one per online CPU)\n"
    "  --help                 this text\n";

/** One verification slot. */
struct verify_slot {
    uint8_t *raw;                 /**< chunk_size bytes */
    struct tc_chunk_decoder *dec; /**< reusable inflate state */
    uint8_t *hlist;               /**< segment hash list of the stored bytes (NULL
                                       without a block-hash section) */
    struct tc_err err;            /**< why the chunk failed */
};

/** Shared by the verify workers. */
struct verify_ctx {
    const struct tc_imgfile *f;            /**< the image */
    struct verify_slot *slots;             /**< the pool */
    uint8_t zero_hash[TC_SHA256_LEN];      /**< SHA-256 of chunk_size zero bytes */
    uint8_t zero_hash_last[TC_SHA256_LEN]; /**< ... of the last chunk's length */
};

/**
 * Worker: the verified path, then the raw hash (the image digest is made of
 * raw hashes, so this checks what pack claimed, not only what was stored).
 */
static int verify_work(void *ctx, uint64_t seq, unsigned slot)
{
    struct verify_ctx *vc = ctx;
    struct verify_slot *s = &vc->slots[slot];
    const struct tc_manifest *m = vc->f->manifest;
    uint32_t idx = (uint32_t)seq, raw_len = tc_manifest_chunk_raw_len(m, idx);
    char a[2 * TC_SHA256_LEN + 1], b[2 * TC_SHA256_LEN + 1];
    uint8_t h[TC_SHA256_LEN];
    const uint8_t *stored;
    size_t len;
    int rc;

    tc_err_clear(&s->err);
    stored = tc_imgfile_chunk(vc->f, idx, &len);
    rc = tc_chunk_verify_decode_dec(s->dec, m, idx, stored, len, s->raw, &s->err);
    if (rc < 0)
        return rc;
    if (m->chunks[idx].enc == TC_ENC_ZERO)
        memcpy(h, raw_len == m->chunk_size ? vc->zero_hash : vc->zero_hash_last, sizeof(h));
    else
        tc_sha256(s->raw, raw_len, h);
    if (memcmp(h, m->chunks[idx].raw_hash, TC_SHA256_LEN) != 0)
        return tc_err_set(&s->err, -EILSEQ,
                          "chunk %u: raw SHA-256 after decoding is %s, the manifest says %s", idx,
                          tc_hex(a, h, sizeof(h)), tc_hex(b, m->chunks[idx].raw_hash, sizeof(h)));
    if (m->seg_size) {
        /* What an agent checks each block against: the list must match the
         * signed section, or no node could ever accept this chunk. */
        size_t list_len = (size_t)tc_proto_nsegs(len, m->seg_size) * TC_WIRE_SEG_HASH_LEN;

        if (len)
            tc_proto_hash_list(NULL, stored, len, m->seg_size, s->hlist);
        rc = tc_manifest_check_list(m, idx, s->hlist, list_len, &s->err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/**
 * Check every chunk in parallel, in order of report; stops at the first bad
 * one. Returns 0 or an rc with err naming the chunk.
 */
static int verify_chunks(const struct tc_imgfile *f, unsigned threads, struct tc_err *err)
{
    const struct tc_manifest *m = f->manifest;
    struct verify_ctx vc;
    struct tc_progress prog;
    struct tc_pipe *pipe = NULL;
    unsigned nslots = threads * VERIFY_SLOTS_PER_THREAD, slot, i;
    uint64_t seq;
    uint8_t *zeros;
    size_t hlist_len = (size_t)tc_proto_nsegs(m->chunk_size, m->seg_size) * TC_WIRE_SEG_HASH_LEN;
    int rc = 0, prc;

    memset(&vc, 0, sizeof(vc));
    vc.f = f;
    zeros = calloc(1, m->chunk_size);
    vc.slots = calloc(nslots, sizeof(*vc.slots));
    if (!zeros || !vc.slots) {
        rc = tc_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    tc_sha256(zeros, m->chunk_size, vc.zero_hash);
    tc_sha256(zeros, tc_manifest_chunk_raw_len(m, m->chunk_count - 1), vc.zero_hash_last);
    for (i = 0; i < nslots; i++) {
        vc.slots[i].raw = malloc(m->chunk_size);
        vc.slots[i].hlist = hlist_len ? malloc(hlist_len) : NULL;
        if (!vc.slots[i].raw || (hlist_len && !vc.slots[i].hlist) ||
            tc_chunk_decoder_new(&vc.slots[i].dec, NULL) < 0) {
            rc = tc_err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
    }
    tc_progress_init(&prog, "verify", m->raw_size);
    rc = tc_pipe_start(&pipe, verify_work, &vc, threads, nslots, m->chunk_count);
    if (rc < 0) {
        tc_err_set(err, rc, "cannot start %u threads", threads);
        goto out;
    }
    for (;;) {
        prc = tc_pipe_next(pipe, &seq, &slot);
        if (prc == 1)
            break;
        if (prc < 0) {
            rc = tc_err_set(err, prc, "%s", vc.slots[slot].err.msg);
            tc_pipe_release(pipe, slot);
            break;
        }
        tc_pipe_release(pipe, slot);
        tc_progress_update(&prog, (seq + 1) * m->chunk_size);
    }
    tc_pipe_stop(pipe);
    tc_pipe_free(pipe);
    tc_progress_finish(&prog, rc == 0);

out:
    for (i = 0; vc.slots && i < nslots; i++) {
        free(vc.slots[i].raw);
        free(vc.slots[i].hlist);
        tc_chunk_decoder_free(vc.slots[i].dec);
    }
    free(vc.slots);
    free(zeros);
    return rc;
}

/**
 * Hash each boot blob against the manifest.
 */
static int verify_boot(const struct tc_imgfile *f, struct tc_err *err)
{
    static const char *const names[TC_BOOT_BLOBS] = {"kernel", "initrd", "cmdline"};
    char a[2 * TC_SHA256_LEN + 1], b[2 * TC_SHA256_LEN + 1];
    uint8_t h[TC_SHA256_LEN];
    const uint8_t *p;
    size_t len;
    unsigned i;

    for (i = 0; f->manifest->has_boot && i < TC_BOOT_BLOBS; i++) {
        p = tc_imgfile_blob(f, i, &len);
        if (!p)
            continue;
        tc_sha256(p, len, h);
        if (memcmp(h, f->manifest->boot[i].hash, TC_SHA256_LEN) != 0)
            return tc_err_set(err, -EILSEQ, "boot %s: SHA-256 is %s, the manifest says %s",
                              names[i], tc_hex(a, h, sizeof(h)),
                              tc_hex(b, f->manifest->boot[i].hash, sizeof(h)));
    }
    return 0;
}

/**
 * `treecast verify`.
 */
int tc_cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        TC_CLI_POLICY_LONGOPTS,
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "verify", *path;
    struct tc_cli_policy pol;
    struct tc_imgfile *f = NULL;
    struct tc_verdict v;
    struct tc_err err;
    char pin[TC_CLI_PIN_MAX], hs[32];
    unsigned threads = tc_opts_default_threads(), counts[3] = {0, 0, 0}, i;
    int c, rc;

    tc_cli_policy_init(&pol);
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        rc = tc_cli_policy_option(&pol, cmd, c, optarg);
        if (rc < 0)
            return -rc;
        if (rc > 0)
            continue;
        switch (c) {
        case 't':
            if (tc_opts_threads(optarg, &threads) < 0)
                return tc_cli_usage(cmd, "--threads must be from 1 to %u, not '%s'",
                                    TC_CLI_THREADS_MAX, optarg);
            break;
        case 'h':
            fputs(verify_help, stdout);
            return TC_EXIT_OK;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    rc = tc_cli_policy_ready(&pol, cmd);
    if (rc)
        return rc;
    if (argc - optind != 1)
        return tc_cli_usage(cmd, "expected one IMAGE.tcimg, got %d arguments", argc - optind);
    path = argv[optind];

    tc_err_clear(&err);
    rc = tc_imgfile_open(&f, path, TC_IMGFILE_SEQUENTIAL, &err);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
    rc = tc_cli_policy_check(&pol, cmd, f, &v);
    if (rc)
        goto out;
    rc = verify_chunks(f, threads, &err);
    if (rc == 0)
        rc = verify_boot(f, &err);
    if (rc < 0) {
        tc_err_prefix(&err, rc, "%s: ", path);
        rc = tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
        goto out;
    }
    for (i = 0; i < f->manifest->chunk_count; i++)
        counts[f->manifest->chunks[i].enc < 3 ? f->manifest->chunks[i].enc : 0]++;
    printf("%s: OK\n", path);
    printf("  image       %s\n", tc_manifest_pin(f->manifest, pin, sizeof(pin)));
    printf("  version     %s\n", f->manifest->version);
    printf("  signatures  %u trusted of %u (%u by unknown keys); policy requires %u\n",
           v.trusted_valid, v.total, v.untrusted, pol.min_signatures);
    printf("  chunks      %u verified: %u zero, %u raw, %u deflate; %s raw\n",
           f->manifest->chunk_count, counts[0], counts[1], counts[2],
           tc_opts_human(f->manifest->raw_size, hs, sizeof(hs)));
    if (f->manifest->seg_size)
        printf("  block hashes verified, seg_size %u\n", f->manifest->seg_size);
    else
        printf("  block hashes none\n");
    printf("  boot        %s\n", f->manifest->has_boot ? "verified" : "none");
    rc = TC_EXIT_OK;
out:
    tc_imgfile_close(f);
    return rc;
}
