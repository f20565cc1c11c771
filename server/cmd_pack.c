// SPDX-License-Identifier: MIT
/*
 * `treecast pack`: a raw image (file, sparse file or block device) into a
 * .tcimg: [header][manifest][payload][empty signature block][trailer].
 *
 * The manifest's size depends only on the chunk count and the boot section,
 * so its space is reserved first and the payload is streamed straight into
 * place: worker threads read and encode chunks in parallel (holes, found
 * with SEEK_DATA, become ZERO chunks without being read) and hash the stored
 * bytes by segments for the block-hash section; the calling thread writes
 * them in order. Memory is bounded by the slot pool. Everything goes
 * to OUT.tmp, which is fsynced and renamed to OUT at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "treecast/fileio.h"
#include "treecast/chunk.h"
#include "treecast/manifest.h"
#include "treecast/progress.h"
#include "treecast/proto.h"
#include "treecast/sigblock.h"
#include "treecast/tcimg.h"
#include "treecast/tctime.h"
#include "treecast/wire.h"

/** Slots in flight per worker thread (reading, encoding, waiting to be written). */
#define PACK_SLOTS_PER_THREAD 2
/** Extra slots so that the writer never starves the workers. */
#define PACK_SLOTS_EXTRA 2
/** Copy buffer for boot blobs, bytes. */
#define PACK_COPY_BUF_LEN (1024u * 1024)
/** Default segment size of the block-hash section, bytes: one full DATA block
 * at MTU 1500 (docs/protocol.md section 2). */
#define PACK_SEG_SIZE_DEFAULT TC_WIRE_DATA_PAYLOAD_1500

static const char pack_help[] =
    "Usage: treecast pack [OPTIONS] IN OUT.tcimg\n"
    "\n"
    "Pack the raw image IN (a file, a sparse file or a block device) into OUT.tcimg,\n"
    "unsigned (sign it with `treecast sign`). IN is cut into chunks; each is stored\n"
    "as zero (nothing stored; holes of a sparse file are never read), raw, or\n"
    "deflate (zlib), whichever is smallest. Chunks are compressed on all cores.\n"
    "\n"
    "Options:\n"
    "  --name N          image name (default: IN's file name without extension)\n"
    "  --version V       image version (default 1), compared as in 1.9 < 1.10\n"
    "  --chunk-size S    power of two from 64K to 16M (default 1M; K/M suffixes);\n"
    "                    chunks over 4M cannot be sent over the network\n"
    "  --not-after WHEN  expiry: an RFC 3339 date (2027-01-31, 2027-01-31T12:00:00Z)\n"
    "                    or a duration from now (90d, 12h, 2w); default: none\n"
    "  --level L         zlib level 1..9 (default 6)\n"
    "  --threads T       worker threads (default: one per online CPU)\n"
    "  --seg-size BYTES  block-hash section: segment size from 512 to 8932 (default\n"
    "                    1432, one DATA block at MTU 1500; 8932 needs MTU 9000);\n"
    "                    0 = no block-hash section (the seeder refuses such images)\n"
    "  --kernel FILE     boot section: kernel for kexec\n"
    "  --initrd FILE     boot section: initramfs for kexec\n"
    "  --cmdline STR     boot section: kernel command line\n"
    "  --help            this text\n"
    "\n"
    "Prints the image pin NAME@sha256:HEX, which `verify --pin` and `unpack --pin`\n"
    "accept to name exactly this image.\n";

/** One slot: a raw chunk and its encoding. */
struct pack_slot {
    uint8_t *raw;                       /**< chunk_size bytes read from IN */
    uint8_t *out;                       /**< chunk_size bytes of stored form */
    size_t stored_len;                  /**< bytes of out used */
    enum tc_enc enc;                    /**< chosen encoding */
    uint8_t raw_hash[TC_SHA256_LEN];    /**< SHA-256 of the raw chunk */
    uint8_t stored_hash[TC_SHA256_LEN]; /**< SHA-256 of the stored bytes */
    uint8_t *hlist;                     /**< segment hash list of the stored bytes
                                             (nsegs(chunk_size) x 16 bytes; NULL
                                             without a block-hash section) */
    uint8_t list_hash[TC_SHA256_LEN];   /**< SHA-256 of that list */
    struct tc_err err;                  /**< why the work failed */
};

/** Everything one pack run needs. */
struct pack_ctx {
    const char *in_path;                   /**< IN, for messages */
    int in_fd;                             /**< IN, read with pread */
    int in_sparse;                         /**< IN supports SEEK_DATA */
    uint64_t raw_size;                     /**< bytes of IN */
    uint32_t chunk_size;                   /**< raw bytes per chunk */
    uint32_t chunk_count;                  /**< chunks */
    int level;                             /**< zlib level */
    uint32_t seg_size;                     /**< block-hash segment size (0 = no section) */
    struct pack_slot *slots;               /**< the pool */
    unsigned nslots;                       /**< slots */
    uint8_t zero_hash[TC_SHA256_LEN];      /**< SHA-256 of chunk_size zero bytes */
    uint8_t zero_hash_last[TC_SHA256_LEN]; /**< ... of the last chunk's length */
    uint8_t empty_hash[TC_SHA256_LEN];     /**< SHA-256 of nothing (ZERO's stored hash) */
};

/**
 * Raw length of chunk idx.
 */
static uint32_t pack_raw_len(const struct pack_ctx *pc, uint64_t idx)
{
    uint64_t off = idx * pc->chunk_size;
    uint64_t left = pc->raw_size - off;

    return left < pc->chunk_size ? (uint32_t)left : pc->chunk_size;
}

/**
 * True if [off, off+len) of IN is a hole: SEEK_DATA finds no data before its
 * end. Any error (a device, a file system without SEEK_DATA) means "read it".
 */
static int pack_is_hole(const struct pack_ctx *pc, uint64_t off, uint64_t len)
{
    off_t d;

    if (!pc->in_sparse)
        return 0;
    d = lseek(pc->in_fd, (off_t)off, SEEK_DATA);
    if (d < 0)
        return errno == ENXIO; /* no data at or after off */
    return (uint64_t)d >= off + len;
}

/**
 * Read len bytes of IN at off.
 */
static int pack_pread(const struct pack_ctx *pc, uint8_t *buf, size_t len, uint64_t off,
                      struct tc_err *err)
{
    int rc = tc_io_pread_full(pc->in_fd, buf, len, off);

    if (rc == -ENODATA)
        return tc_err_set(err, -EIO, "%s: ends before byte %llu (did it shrink?)", pc->in_path,
                          (unsigned long long)(off + len));
    if (rc < 0)
        return tc_err_set(err, rc, "%s: read error in bytes %llu..%llu: %s", pc->in_path,
                          (unsigned long long)off, (unsigned long long)(off + len), strerror(-rc));
    return 0;
}

/**
 * Worker: read (unless a hole), encode, hash. Runs in parallel.
 */
static int pack_work(void *ctx, uint64_t seq, unsigned slot)
{
    struct pack_ctx *pc = ctx;
    struct pack_slot *s = &pc->slots[slot];
    uint64_t off = seq * pc->chunk_size;
    uint32_t len = pack_raw_len(pc, seq);
    const uint8_t *zh = len == pc->chunk_size ? pc->zero_hash : pc->zero_hash_last;
    int rc;

    tc_err_clear(&s->err);
    if (pack_is_hole(pc, off, len)) {
        s->enc = TC_ENC_ZERO;
        s->stored_len = 0;
    } else {
        rc = pack_pread(pc, s->raw, len, off, &s->err);
        if (rc < 0)
            return rc;
        rc = tc_chunk_encode(s->raw, len, pc->level, s->out, &s->enc, &s->stored_len, &s->err);
        if (rc < 0)
            return tc_err_prefix(&s->err, rc, "chunk %llu: ", (unsigned long long)seq);
    }
    switch (s->enc) {
    case TC_ENC_ZERO:
        memcpy(s->raw_hash, zh, TC_SHA256_LEN);
        memcpy(s->stored_hash, pc->empty_hash, TC_SHA256_LEN);
        break;
    case TC_ENC_RAW:
        tc_sha256(s->raw, len, s->raw_hash);
        memcpy(s->stored_hash, s->raw_hash, TC_SHA256_LEN);
        break;
    default:
        tc_sha256(s->raw, len, s->raw_hash);
        tc_sha256(s->out, s->stored_len, s->stored_hash);
        break;
    }
    if (pc->seg_size) {
        /* The block-hash section's entry, here so that it runs on all cores. */
        const uint8_t *stored = s->enc == TC_ENC_DEFLATE ? s->out : s->raw;
        size_t list_len =
            (size_t)tc_proto_nsegs(s->stored_len, pc->seg_size) * TC_WIRE_SEG_HASH_LEN;

        if (s->stored_len)
            tc_proto_hash_list(NULL, stored, s->stored_len, pc->seg_size, s->hlist);
        tc_manifest_list_hash(s->hlist, list_len, s->list_hash);
    }
    return 0;
}

/**
 * pwrite all of buf to the output.
 */
static int pack_write(int fd, const char *path, const void *buf, size_t len, uint64_t off,
                      struct tc_err *err)
{
    int rc = tc_io_pwrite_full(fd, buf, len, off);

    if (rc < 0)
        return tc_err_set(err, rc, "cannot write %s: %s", path, strerror(-rc));
    return 0;
}

/** Command-line options of pack. */
struct pack_opts {
    const char *name;                     /**< --name, or NULL */
    const char *version;                  /**< --version */
    uint32_t chunk_size;                  /**< --chunk-size */
    const char *not_after_arg;            /**< --not-after as given, or NULL */
    int64_t created;                      /**< creation time: now */
    int64_t not_after;                    /**< expiry, or TC_TIME_NEVER */
    int level;                            /**< --level */
    unsigned threads;                     /**< --threads */
    uint32_t seg_size;                    /**< --seg-size (0 = no block-hash section) */
    const char *boot_file[TC_BOOT_BLOBS]; /**< --kernel, --initrd (files) */
    const char *cmdline;                  /**< --cmdline */
    const char *in;                       /**< IN */
    const char *out;                      /**< OUT */
};

/**
 * Default image name: IN's base name up to its first dot, if that is a
 * valid name; else "image".
 */
static void pack_default_name(const char *in, char name[TC_NAME_MAX + 1])
{
    const char *base = strrchr(in, '/');
    size_t n;

    base = base ? base + 1 : in;
    n = strcspn(base, ".");
    if (n > TC_NAME_MAX)
        n = TC_NAME_MAX;
    memcpy(name, base, n);
    name[n] = '\0';
    if (tc_manifest_check_name(name, NULL) < 0)
        snprintf(name, TC_NAME_MAX + 1, "image");
}

/**
 * --not-after: an RFC 3339 date, or a duration from created.
 */
static int pack_not_after(const char *s, int64_t created, int64_t *out)
{
    struct tc_err err;
    int64_t d;

    tc_err_clear(&err);
    if (tc_time_parse(s, out, &err) == 0)
        return 0;
    tc_err_clear(&err);
    if (tc_duration_parse(s, &d, &err) == 0 && d >= 0 && d <= INT64_MAX - created) {
        *out = created + d;
        return 0;
    }
    return -EINVAL;
}

/**
 * Parse pack's command line; returns 0 or an exit code (-1: --help shown).
 */
static int pack_parse(int argc, char **argv, struct pack_opts *o)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, 'n'},
        {"version", required_argument, NULL, 'v'},
        {"chunk-size", required_argument, NULL, 'c'},
        {"not-after", required_argument, NULL, 'a'},
        {"level", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"seg-size", required_argument, NULL, 's'},
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'},
        {"cmdline", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "pack";
    uint64_t v;
    int c;

    memset(o, 0, sizeof(*o));
    o->version = "1";
    o->chunk_size = TC_CHUNK_SIZE_DEFAULT;
    o->level = TC_CHUNK_LEVEL_DEFAULT;
    o->threads = tc_opts_default_threads();
    o->seg_size = PACK_SEG_SIZE_DEFAULT;
    o->created = tc_cli_now();
    o->not_after = TC_TIME_NEVER;
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'n':
            if (tc_manifest_check_name(optarg, NULL) < 0)
                return tc_cli_usage(cmd,
                                    "--name '%s' is not a valid image name (1..%u of "
                                    "A-Z a-z 0-9 . _ + -, starting with a letter or digit)",
                                    optarg, TC_NAME_MAX);
            o->name = optarg;
            break;
        case 'v':
            if (tc_manifest_check_version(optarg, NULL) < 0)
                return tc_cli_usage(cmd,
                                    "--version '%s' is not a valid version (1..%u of "
                                    "A-Z a-z 0-9 . _ + ~ -)",
                                    optarg, TC_VERSION_MAX);
            o->version = optarg;
            break;
        case 'c':
            if (tc_opts_size(optarg, &v) < 0 || v < TC_CHUNK_SIZE_MIN || v > TC_CHUNK_SIZE_MAX ||
                (v & (v - 1)) != 0)
                return tc_cli_usage(cmd, "--chunk-size '%s' must be a power of two from 64K to 16M",
                                    optarg);
            o->chunk_size = (uint32_t)v;
            break;
        case 'a':
            if (pack_not_after(optarg, o->created, &o->not_after) < 0)
                return tc_cli_usage(cmd,
                                    "--not-after '%s' is neither an RFC 3339 date nor a duration "
                                    "such as 90d",
                                    optarg);
            o->not_after_arg = optarg;
            break;
        case 'l':
            if (tc_opts_uint(optarg, 1, 9, &v) < 0)
                return tc_cli_usage(cmd, "--level must be from 1 to 9, not '%s'", optarg);
            o->level = (int)v;
            break;
        case 't':
            if (tc_opts_threads(optarg, &o->threads) < 0)
                return tc_cli_usage(cmd, "--threads must be from 1 to %u, not '%s'",
                                    TC_CLI_THREADS_MAX, optarg);
            break;
        case 's':
            if (tc_opts_uint(optarg, 0, TC_WIRE_SEG_SIZE_MAX, &v) < 0 ||
                (v != 0 && v < TC_WIRE_SEG_SIZE_MIN))
                return tc_cli_usage(cmd,
                                    "--seg-size must be from %u to %u bytes, or 0 for no "
                                    "block-hash section, not '%s'",
                                    TC_WIRE_SEG_SIZE_MIN, TC_WIRE_SEG_SIZE_MAX, optarg);
            o->seg_size = (uint32_t)v;
            break;
        case 'k':
            o->boot_file[TC_BOOT_KERNEL] = optarg;
            break;
        case 'i':
            o->boot_file[TC_BOOT_INITRD] = optarg;
            break;
        case 'm':
            if (strlen(optarg) > TC_BOOT_CMDLINE_MAX)
                return tc_cli_usage(cmd, "--cmdline is longer than %u bytes", TC_BOOT_CMDLINE_MAX);
            o->cmdline = optarg;
            break;
        case 'h':
            fputs(pack_help, stdout);
            return -1;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if ((o->boot_file[TC_BOOT_INITRD] || o->cmdline) && !o->boot_file[TC_BOOT_KERNEL])
        return tc_cli_usage(cmd, "a boot section needs --kernel (--initrd and --cmdline are "
                                 "optional additions to it)");
    if (argc - optind != 2)
        return tc_cli_usage(cmd, "expected IN and OUT.tcimg, got %d argument%s", argc - optind,
                            argc - optind == 1 ? "" : "s");
    o->in = argv[optind];
    o->out = argv[optind + 1];
    return 0;
}

/**
 * Open IN and find its size: a regular file's length or a block device's.
 */
static int pack_open_input(struct pack_ctx *pc, struct tc_err *err)
{
    struct stat st;
    uint64_t size;

    pc->in_fd = open(pc->in_path, O_RDONLY | O_CLOEXEC);
    if (pc->in_fd < 0)
        return tc_err_set(err, -errno, "cannot open %s: %s", pc->in_path, strerror(errno));
    if (fstat(pc->in_fd, &st) < 0)
        return tc_err_set(err, -errno, "cannot stat %s: %s", pc->in_path, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        pc->raw_size = (uint64_t)st.st_size;
        pc->in_sparse = 1;
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(pc->in_fd, BLKGETSIZE64, &size) < 0)
            return tc_err_set(err, -errno, "cannot read the size of %s: %s", pc->in_path,
                              strerror(errno));
        pc->raw_size = size;
    } else {
        return tc_err_set(err, -EINVAL, "%s is neither a regular file nor a block device",
                          pc->in_path);
    }
    if (pc->raw_size == 0)
        return tc_err_set(err, -EINVAL, "%s is empty: nothing to pack", pc->in_path);
    (void)posix_fadvise(pc->in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return 0;
}

/**
 * Bytes of the manifest for this image: build one with the same chunk count,
 * boot section and block-hash section (ZERO chunks, whose list hashes mp
 * holds until the workers replace them) and measure it. Fixed-size records make
 * this exact; the caller still checks.
 */
static int pack_manifest_len(const struct tc_manifest_params *mp, uint32_t count,
                             const struct tc_manifest_blob *boot, const uint8_t *empty_hash,
                             size_t *len, struct tc_err *err)
{
    struct tc_manifest_chunk *chunks;
    struct tc_manifest *m;
    uint32_t i;
    int rc;

    chunks = calloc(count, sizeof(*chunks));
    if (!chunks)
        return tc_err_set(err, -ENOMEM, "out of memory for %u chunks", count);
    for (i = 0; i < count; i++) {
        chunks[i].enc = TC_ENC_ZERO;
        memcpy(chunks[i].stored_hash, empty_hash, TC_SHA256_LEN);
    }
    rc = tc_manifest_build(mp, chunks, count, boot, &m, err);
    free(chunks);
    if (rc < 0)
        return rc;
    *len = m->len;
    tc_manifest_free(m);
    return 0;
}

/**
 * Copy the boot blob file path into the output at off, hashing it; *len
 * receives its length. The length must match what was measured before.
 */
static int pack_copy_blob(int out_fd, const char *out_path, const char *path, uint64_t off,
                          uint64_t expect_len, uint8_t hash[TC_SHA256_LEN], struct tc_err *err)
{
    struct tc_sha256 h;
    uint64_t total = 0;
    uint8_t *buf;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tc_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
    buf = malloc(PACK_COPY_BUF_LEN);
    if (!buf) {
        rc = tc_err_set(err, -ENOMEM, "out of memory");
        goto out_close;
    }
    tc_sha256_init(&h);
    for (;;) {
        ssize_t n = read(fd, buf, PACK_COPY_BUF_LEN);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = tc_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
            goto out_free;
        }
        if (n == 0)
            break;
        if (total + (uint64_t)n > expect_len) {
            rc = tc_err_set(err, -EIO, "%s grew while being packed", path);
            goto out_free;
        }
        tc_sha256_update(&h, buf, (size_t)n);
        rc = pack_write(out_fd, out_path, buf, (size_t)n, off + total, err);
        if (rc < 0)
            goto out_free;
        total += (uint64_t)n;
    }
    if (total != expect_len) {
        rc = tc_err_set(err, -EIO, "%s shrank while being packed", path);
        goto out_free;
    }
    tc_sha256_final(&h, hash);
out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}

/**
 * Measure the boot section: lengths from the files, the cmdline's hash.
 * Returns 1 if there is a boot section, 0 if not, or a negative errno.
 */
static int pack_boot_measure(const struct pack_opts *o, struct tc_manifest_blob *boot,
                             struct tc_err *err)
{
    struct stat st;
    unsigned i;
    int any = 0;

    memset(boot, 0, sizeof(*boot) * TC_BOOT_BLOBS);
    for (i = 0; i < TC_BOOT_BLOBS; i++) {
        if (!o->boot_file[i])
            continue;
        if (stat(o->boot_file[i], &st) < 0)
            return tc_err_set(err, -errno, "cannot open %s: %s", o->boot_file[i], strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
            return tc_err_set(err, -EINVAL, "%s must be a non-empty regular file", o->boot_file[i]);
        if ((uint64_t)st.st_size > TC_BOOT_BLOB_MAX)
            return tc_err_set(err, -E2BIG, "%s is %llu bytes, over the boot blob limit of %llu",
                              o->boot_file[i], (unsigned long long)st.st_size,
                              (unsigned long long)TC_BOOT_BLOB_MAX);
        boot[i].len = (uint64_t)st.st_size;
        any = 1;
    }
    if (o->cmdline && o->cmdline[0]) {
        boot[TC_BOOT_CMDLINE].len = strlen(o->cmdline);
        tc_sha256(o->cmdline, strlen(o->cmdline), boot[TC_BOOT_CMDLINE].hash);
        any = 1;
    }
    return any;
}

/**
 * Everything after the options: the pipeline, the manifest, the tail, the
 * rename. Returns an exit code.
 */
static int pack_run(const struct pack_opts *o)
{
    const char *cmd = "pack";
    struct pack_ctx pc;
    struct tc_manifest_params mp;
    struct tc_manifest_blob boot[TC_BOOT_BLOBS];
    struct tc_manifest_chunk *chunks = NULL;
    struct tc_manifest *m = NULL;
    struct tc_tcimg_layout l;
    struct tc_sigblock sb;
    struct tc_progress prog;
    struct tc_pipe *pipe = NULL;
    struct tc_err err;
    enum tc_cli_phase phase = TC_PHASE_OTHER;
    char name[TC_NAME_MAX + 1], tmp_path[TC_CLI_PATH_MAX], pin[TC_CLI_PIN_MAX];
    char hs[3][32], date[TC_RFC3339_LEN];
    uint8_t hdr[TC_TCIMG_HEADER_LEN], trl[TC_TCIMG_TRAILER_LEN], *sbuf = NULL;
    uint64_t stored = 0, seq, counts[3] = {0, 0, 0}, t0;
    size_t mlen = 0, sblen = 0;
    unsigned slot, i;
    int has_boot, out_fd = -1, rc, prc, ec;
    uint8_t *zeros = NULL, *list_hash = NULL;
    size_t hlist_len = 0;

    tc_err_clear(&err);
    memset(&prog, 0, sizeof(prog));
    memset(&pc, 0, sizeof(pc));
    pc.in_fd = -1;
    pc.in_path = o->in;
    pc.chunk_size = o->chunk_size;
    pc.level = o->level;
    pc.seg_size = o->seg_size;
    t0 = tc_progress_now_ns();

    if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", o->out) >= sizeof(tmp_path))
        return tc_cli_usage(cmd, "output name too long");
    if (o->name)
        snprintf(name, sizeof(name), "%s", o->name);
    else
        pack_default_name(o->in, name);

    phase = TC_PHASE_IMAGE;
    rc = pack_open_input(&pc, &err);
    if (rc < 0)
        goto err_fail;
    if ((pc.raw_size + pc.chunk_size - 1) / pc.chunk_size > TC_MANIFEST_CHUNKS_MAX) {
        rc = tc_err_set(&err, -E2BIG,
                        "%s needs %llu chunks of %u KiB, over the limit of %u: use a larger "
                        "--chunk-size",
                        o->in,
                        (unsigned long long)((pc.raw_size + pc.chunk_size - 1) / pc.chunk_size),
                        pc.chunk_size / 1024, TC_MANIFEST_CHUNKS_MAX);
        goto err_fail;
    }
    pc.chunk_count = (uint32_t)((pc.raw_size + pc.chunk_size - 1) / pc.chunk_size);

    memset(&mp, 0, sizeof(mp));
    mp.name = name;
    mp.version = o->version;
    mp.raw_size = pc.raw_size;
    mp.chunk_size = pc.chunk_size;
    mp.created = o->created;
    mp.not_after = o->not_after;
    if (mp.not_after != TC_TIME_NEVER && mp.not_after <= mp.created) {
        /* An image born expired (tests, or a mistake the warning points out). */
        mp.created = mp.not_after;
        tc_cli_warn(cmd, "--not-after %s is in the past: the image is already expired",
                    o->not_after_arg);
    }
    has_boot = pack_boot_measure(o, boot, &err);
    if (has_boot < 0) {
        rc = has_boot;
        goto err_fail;
    }

    zeros = calloc(1, pc.chunk_size);
    chunks = calloc(pc.chunk_count, sizeof(*chunks));
    if (!zeros || !chunks) {
        rc = tc_err_set(&err, -ENOMEM, "out of memory for %u chunks", pc.chunk_count);
        goto err_fail;
    }
    tc_sha256(zeros, pc.chunk_size, pc.zero_hash);
    tc_sha256(zeros, pack_raw_len(&pc, pc.chunk_count - 1), pc.zero_hash_last);
    tc_sha256(zeros, 0, pc.empty_hash);
    if (pc.seg_size) {
        list_hash = malloc((size_t)pc.chunk_count * TC_MANIFEST_LIST_HASH_LEN);
        if (!list_hash) {
            rc = tc_err_set(&err, -ENOMEM, "out of memory for %u list hashes", pc.chunk_count);
            goto err_fail;
        }
        for (i = 0; i < pc.chunk_count; i++)
            memcpy(list_hash + (size_t)i * TC_MANIFEST_LIST_HASH_LEN, pc.empty_hash,
                   TC_MANIFEST_LIST_HASH_LEN);
        mp.seg_size = pc.seg_size;
        mp.list_hash = list_hash;
        hlist_len = (size_t)tc_proto_nsegs(pc.chunk_size, pc.seg_size) * TC_WIRE_SEG_HASH_LEN;
    }

    phase = TC_PHASE_OTHER;
    rc = pack_manifest_len(&mp, pc.chunk_count, has_boot ? boot : NULL, pc.empty_hash, &mlen, &err);
    if (rc == -E2BIG && pc.seg_size) {
        tc_err_clear(&err); /* replace the library's message with advice */
        rc = tc_err_set(&err, rc,
                        "%s: %u chunks with their block-hash section need a manifest over the "
                        "limit of %u bytes: use a larger --chunk-size",
                        o->in, pc.chunk_count, TC_MANIFEST_LEN_MAX);
        goto err_fail;
    }
    if (rc < 0)
        goto err_fail;
    memset(&l, 0, sizeof(l));
    l.manifest_off = TC_TCIMG_HEADER_LEN;
    l.manifest_len = mlen;
    l.payload_off = l.manifest_off + l.manifest_len;

    phase = TC_PHASE_TARGET;
    out_fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        rc = tc_err_set(&err, -errno, "cannot create %s: %s", tmp_path, strerror(errno));
        goto err_fail;
    }

    pc.nslots = o->threads * PACK_SLOTS_PER_THREAD + PACK_SLOTS_EXTRA;
    pc.slots = calloc(pc.nslots, sizeof(*pc.slots));
    if (!pc.slots) {
        rc = tc_err_set(&err, -ENOMEM, "out of memory");
        goto err_unlink;
    }
    for (i = 0; i < pc.nslots; i++) {
        pc.slots[i].raw = malloc(pc.chunk_size);
        pc.slots[i].out = malloc(pc.chunk_size);
        pc.slots[i].hlist = hlist_len ? malloc(hlist_len) : NULL;
        if (!pc.slots[i].raw || !pc.slots[i].out || (hlist_len && !pc.slots[i].hlist)) {
            rc = tc_err_set(&err, -ENOMEM, "out of memory for %u chunk buffers", pc.nslots);
            goto err_unlink;
        }
    }

    tc_progress_init(&prog, "pack", pc.raw_size);
    rc = tc_pipe_start(&pipe, pack_work, &pc, o->threads, pc.nslots, pc.chunk_count);
    if (rc < 0) {
        tc_err_set(&err, rc, "cannot start %u worker threads", o->threads);
        goto err_unlink;
    }
    for (;;) {
        struct pack_slot *s;
        prc = tc_pipe_next(pipe, &seq, &slot);
        if (prc == 1)
            break;
        s = &pc.slots[slot];
        if (prc < 0) {
            phase = TC_PHASE_IMAGE;
            rc = tc_err_set(&err, prc, "%s", s->err.msg[0] ? s->err.msg : strerror(-prc));
            tc_pipe_release(pipe, slot);
            goto err_pipe;
        }
        chunks[seq].enc = (uint8_t)s->enc;
        chunks[seq].stored_len = (uint32_t)s->stored_len;
        memcpy(chunks[seq].stored_hash, s->stored_hash, TC_SHA256_LEN);
        memcpy(chunks[seq].raw_hash, s->raw_hash, TC_SHA256_LEN);
        chunks[seq].stored_off = stored;
        if (list_hash)
            memcpy(list_hash + seq * TC_MANIFEST_LIST_HASH_LEN, s->list_hash,
                   TC_MANIFEST_LIST_HASH_LEN);
        counts[s->enc < 3 ? s->enc : 0]++;
        if (s->stored_len > 0) {
            rc = pack_write(out_fd, tmp_path, s->out, s->stored_len, l.payload_off + stored, &err);
            if (rc < 0) {
                tc_pipe_release(pipe, slot);
                goto err_pipe;
            }
        }
        stored += s->stored_len;
        tc_pipe_release(pipe, slot);
        tc_progress_update(&prog, (seq + 1) * pc.chunk_size);
    }
    tc_pipe_stop(pipe);
    tc_pipe_free(pipe);
    pipe = NULL;

    /* Boot blobs follow the chunks, in kernel, initrd, cmdline order. */
    {
        uint64_t off = stored;
        for (i = 0; has_boot && i < TC_BOOT_BLOBS; i++) {
            if (boot[i].len == 0)
                continue;
            boot[i].off = off;
            if (i == TC_BOOT_CMDLINE)
                rc = pack_write(out_fd, tmp_path, o->cmdline, (size_t)boot[i].len,
                                l.payload_off + off, &err);
            else
                rc = pack_copy_blob(out_fd, tmp_path, o->boot_file[i], l.payload_off + off,
                                    boot[i].len, boot[i].hash, &err);
            if (rc < 0)
                goto err_unlink;
            off += boot[i].len;
        }
    }

    phase = TC_PHASE_OTHER;
    rc = tc_manifest_build(&mp, chunks, pc.chunk_count, has_boot ? boot : NULL, &m, &err);
    if (rc < 0)
        goto err_unlink;
    if (m->len != mlen || m->stored_chunk_bytes != stored) {
        rc = tc_err_set(&err, -EPROTO,
                        "internal error: manifest is %zu bytes, %zu were reserved (stored %llu, "
                        "%llu written)",
                        m->len, mlen, (unsigned long long)m->stored_chunk_bytes,
                        (unsigned long long)stored);
        goto err_unlink;
    }
    for (i = 0; has_boot && i < TC_BOOT_BLOBS; i++) {
        if (boot[i].len && m->boot[i].off != boot[i].off) {
            rc = tc_err_set(&err, -EPROTO, "internal error: boot blob %u placed at %llu, not %llu",
                            i, (unsigned long long)m->boot[i].off, (unsigned long long)boot[i].off);
            goto err_unlink;
        }
    }
    l.payload_len = m->payload_len;
    l.sigblock_off = l.payload_off + l.payload_len;
    memset(&sb, 0, sizeof(sb));
    sblen = tc_sigblock_size(&sb);
    sbuf = malloc(sblen ? sblen : 1);
    rc = sbuf ? tc_sigblock_serialize(&sb, sbuf, sblen, &sblen) : -ENOMEM;
    if (rc < 0) {
        tc_err_set(&err, rc, "cannot serialize an empty signature block");
        goto err_unlink;
    }
    l.sigblock_len = sblen;
    l.file_size = l.sigblock_off + l.sigblock_len + TC_TCIMG_TRAILER_LEN;
    tc_tcimg_header_put(hdr, &l);
    tc_tcimg_trailer_put(trl, &l);

    phase = TC_PHASE_TARGET;
    rc = pack_write(out_fd, tmp_path, m->bytes, m->len, l.manifest_off, &err);
    if (rc == 0)
        rc = pack_write(out_fd, tmp_path, sbuf, sblen, l.sigblock_off, &err);
    if (rc == 0)
        rc = pack_write(out_fd, tmp_path, trl, sizeof(trl), l.sigblock_off + sblen, &err);
    if (rc == 0)
        rc = pack_write(out_fd, tmp_path, hdr, sizeof(hdr), 0, &err);
    if (rc < 0)
        goto err_unlink;
    if (ftruncate(out_fd, (off_t)l.file_size) < 0 || fsync(out_fd) < 0) {
        rc = tc_err_set(&err, -errno, "cannot write %s: %s", tmp_path, strerror(errno));
        goto err_unlink;
    }
    if (close(out_fd) < 0) {
        out_fd = -1;
        rc = tc_err_set(&err, -errno, "cannot write %s: %s", tmp_path, strerror(errno));
        goto err_unlink;
    }
    out_fd = -1;
    if (rename(tmp_path, o->out) < 0) {
        rc = tc_err_set(&err, -errno, "cannot rename %s to %s: %s", tmp_path, o->out,
                        strerror(errno));
        goto err_unlink;
    }
    (void)tc_cli_sync_dir(o->out);
    tc_progress_finish(&prog, 1);

    {
        double secs = (double)(tc_progress_now_ns() - t0) / 1e9;
        printf("packed %s -> %s\n", o->in, o->out);
        printf("  image     %s\n", tc_manifest_pin(m, pin, sizeof(pin)));
        printf("  name      %s, version %s\n", m->name, m->version);
        printf("  raw       %llu bytes (%s) in %u chunk%s of %s\n", (unsigned long long)m->raw_size,
               tc_opts_human(m->raw_size, hs[0], sizeof(hs[0])), m->chunk_count,
               m->chunk_count == 1 ? "" : "s", tc_opts_human(m->chunk_size, hs[1], sizeof(hs[1])));
        printf("  chunks    %llu zero, %llu raw, %llu deflate\n", (unsigned long long)counts[0],
               (unsigned long long)counts[1], (unsigned long long)counts[2]);
        printf("  stored    %llu bytes (%s), ratio %.2f\n",
               (unsigned long long)m->stored_chunk_bytes,
               tc_opts_human(m->stored_chunk_bytes, hs[2], sizeof(hs[2])),
               m->stored_chunk_bytes ? (double)m->raw_size / (double)m->stored_chunk_bytes : 0.0);
        printf("  file      %llu bytes, unsigned (next: treecast sign --key KEY %s)\n",
               (unsigned long long)l.file_size, o->out);
        if (m->not_after != TC_TIME_NEVER) {
            tc_time_format(m->not_after, date);
            printf("  not after %s\n", date);
        }
        if (m->seg_size)
            printf("  blocks    hashed in segments of %u bytes (block-hash section)\n",
                   m->seg_size);
        else
            printf("  blocks    no block-hash section (--seg-size 0): the seeder will not "
                   "serve it\n");
        printf("  time      %.2f s, %.1f MB/s, %u threads\n", secs,
               secs > 0 ? (double)m->raw_size / secs / 1e6 : 0.0, o->threads);
    }
    rc = TC_EXIT_OK;
    goto out;

err_pipe:
    tc_pipe_stop(pipe);
    tc_pipe_free(pipe);
    pipe = NULL;
err_unlink:
    tc_progress_finish(&prog, 0);
    if (out_fd >= 0)
        close(out_fd);
    out_fd = -1;
    unlink(tmp_path);
err_fail:
    ec = tc_cli_fail(cmd, rc, phase, &err);
    rc = ec;
out:
    if (out_fd >= 0)
        close(out_fd);
    for (i = 0; pc.slots && i < pc.nslots; i++) {
        free(pc.slots[i].raw);
        free(pc.slots[i].out);
        free(pc.slots[i].hlist);
    }
    free(pc.slots);
    tc_manifest_free(m);
    free(chunks);
    free(zeros);
    free(list_hash);
    free(sbuf);
    if (pc.in_fd >= 0)
        close(pc.in_fd);
    return rc;
}

/**
 * `treecast pack`.
 */
int tc_cmd_pack(int argc, char **argv)
{
    struct pack_opts o;
    int rc = pack_parse(argc, argv, &o);

    if (rc < 0)
        return TC_EXIT_OK;
    if (rc > 0)
        return rc;
    return pack_run(&o);
}
