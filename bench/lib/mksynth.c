/*
 * mksynth: write a deterministic synthetic disk image for the benchmarks.
 *
 * The image is a sequence of extents of three kinds: random bytes
 * (incompressible), text-like bytes (generated English-like prose and
 * configuration lines, compressible about 3:1 by zlib) and zero runs (left as
 * holes). Extent kinds and lengths come from a seeded PRNG, lengths spread
 * log-uniformly from 4 KiB to 32 MiB and aligned to 4 KiB like filesystem
 * blocks, so that most 1 MiB chunks are of one kind and some mix kinds. The
 * same seed, size and mix give the same bytes on every machine.
 *
 * usage: mksynth [--seed N] [--mix RANDOM,TEXT,ZERO] SIZE_BYTES OUT
 */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** Size of the write buffer, bytes. */
#define MKSYNTH_BUF_BYTES (1024u * 1024u)
/** Extent lengths: [2^s, 2^(s+1)) bytes for s from 12 to 24 (4 KiB to 32 MiB). */
#define MKSYNTH_EXTENT_MIN_SHIFT 12
#define MKSYNTH_EXTENT_MAX_SHIFT 24
/** Extent alignment, bytes (a filesystem block). */
#define MKSYNTH_ALIGN_BYTES 4096u
/** Largest image accepted, bytes (1 TiB). */
#define MKSYNTH_SIZE_MAX_BYTES (1ull << 40)

/** Extent kinds. */
enum mksynth_kind {
    MKSYNTH_RANDOM,
    MKSYNTH_TEXT,
    MKSYNTH_ZERO,
    MKSYNTH_KINDS
};

static const char *const mksynth_kind_name[MKSYNTH_KINDS] = {"random", "text", "zero"};

/** xoshiro256** state: fast, well distributed, fully specified. */
struct mksynth_rng {
    /** The four state words; never all zero. */
    uint64_t s[4];
};

/** Rotate left; the building block of xoshiro. */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/** splitmix64 step: expands the seed into the xoshiro state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/** Seed a generator; distinct streams get distinct stream numbers. */
static void rng_seed(struct mksynth_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    int i;

    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/** Next 64 random bits. */
static uint64_t rng_next(struct mksynth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/** Uniform integer in [0, n), n > 0 (the tiny modulo bias does not matter). */
static uint64_t rng_below(struct mksynth_rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Vocabulary for the text-like extents: common English words and words seen
 * in system files, so that the text compresses like real documentation. */
static const char *const mksynth_words[] = {
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "be",
    "on",
    "not",
    "this",
    "by",
    "are",
    "or",
    "from",
    "at",
    "which",
    "an",
    "but",
    "have",
    "all",
    "can",
    "if",
    "will",
    "one",
    "when",
    "there",
    "use",
    "each",
    "file",
    "system",
    "package",
    "version",
    "was",
    "data",
    "server",
    "client",
    "network",
    "image",
    "disk",
    "block",
    "device",
    "kernel",
    "module",
    "option",
    "value",
    "default",
    "configuration",
    "directory",
    "user",
    "root",
    "group",
    "process",
    "heap",
    "buffer",
    "write",
    "read",
    "error",
    "warning",
    "message",
    "return",
    "function",
    "library",
    "interface",
    "address",
    "packet",
    "session",
    "service",
    "request",
    "response",
    "time",
    "number",
    "size",
    "length",
    "offset",
    "table",
    "entry",
    "list",
    "key",
    "signature",
    "manual",
    "page",
    "section",
    "example",
    "command",
    "line",
    "argument",
    "string",
    "character",
    "output",
    "input",
    "stream",
    "should",
    "must",
    "may",
    "used",
    "using",
    "following",
    "described",
    "below",
    "above",
    "after",
    "before",
    "only",
    "also",
    "other",
    "more",
    "than",
    "such",
    "into",
    "these",
    "then",
    "them",
    "some",
    "would",
    "make",
    "like",
    "first",
    "been",
    "new",
    "set",
    "see",
    "get",
    "specified",
    "program",
    "software",
    "license",
    "copyright",
    "free",
    "without",
    "warranty",
    "distributed",
    "terms",
    "general",
    "public",
    "source",
    "code",
    "binary",
    "build",
    "install",
    "debian",
    "linux",
    "gnu",
    "shell",
    "script",
    "path",
    "name",
    "type",
    "mode",
    "flag",
    "start",
    "stop",
    "run",
    "state",
    "status",
    "check",
    "test",
    "update",
    "change",
    "remove",
    "create",
    "open",
    "close",
    "lock",
    "unlock",
    "thread",
    "queue",
    "timer",
    "clock",
    "signal",
    "handler",
    "callback",
    "pointer",
    "structure",
    "field",
    "header",
    "trailer",
    "chunk",
    "compressed",
    "encrypted",
    "authenticated",
    "trusted",
    "certificate",
    "protocol",
    "multicast",
    "unicast",
    "route",
    "gateway",
    "socket",
    "bridge",
    "partition",
    "volume",
    "mount",
    "filesystem",
    "inode",
    "journal",
    "sector",
    "cache",
    "memory",
    "swap",
};

/** Number of words in the vocabulary. */
#define MKSYNTH_WORDS (sizeof(mksynth_words) / sizeof(mksynth_words[0]))

/** Text generator state: it carries sentences across buffer boundaries. */
struct mksynth_text {
    /** Generator for word choice and layout. */
    struct mksynth_rng rng;
    /** Pending bytes not yet emitted (a word and its separator). */
    char pend[64];
    /** Number of valid bytes in pend. */
    size_t pend_len;
    /** Bytes of pend already emitted. */
    size_t pend_off;
    /** Words left in the current sentence; 0 starts a new one. */
    unsigned sentence_left;
    /** Sentences left in the current paragraph. */
    unsigned paragraph_left;
    /** Nonzero while emitting a "key = value" configuration block. */
    unsigned config_lines_left;
};

/** Pick a word with a skewed (roughly Zipf-like) distribution. */
static const char *text_word(struct mksynth_text *t)
{
    uint64_t u = rng_below(&t->rng, 1u << 20);
    /* u^3 / 2^40 concentrates picks on the first, most common words. */
    uint64_t idx = (u * u / (1u << 20)) * u / (1u << 20);

    return mksynth_words[idx * MKSYNTH_WORDS >> 20];
}

/** Produce the next token (word plus separator) into t->pend. */
static void text_refill(struct mksynth_text *t)
{
    const char *w;
    int n;

    if (t->config_lines_left > 0) {
        t->config_lines_left--;
        n = snprintf(t->pend, sizeof(t->pend), "%s_%s = %" PRIu64 "\n", text_word(t), text_word(t),
                     rng_below(&t->rng, 100000));
        goto done;
    }
    if (t->sentence_left == 0) {
        if (t->paragraph_left == 0) {
            t->paragraph_left = 2 + (unsigned)rng_below(&t->rng, 6);
            /* One paragraph in eight is a configuration block. */
            if (rng_below(&t->rng, 8) == 0)
                t->config_lines_left = 3 + (unsigned)rng_below(&t->rng, 10);
            n = snprintf(t->pend, sizeof(t->pend), "\n");
            goto done;
        }
        t->paragraph_left--;
        t->sentence_left = 4 + (unsigned)rng_below(&t->rng, 18);
        w = text_word(t);
        n = snprintf(t->pend, sizeof(t->pend), "%c%s ", w[0] - 'a' + 'A', w + 1);
        t->sentence_left--;
        goto done;
    }
    t->sentence_left--;
    if (rng_below(&t->rng, 40) == 0)
        n = snprintf(t->pend, sizeof(t->pend), "%" PRIu64 " ", rng_below(&t->rng, 1000000));
    else
        n = snprintf(t->pend, sizeof(t->pend), "%s%s", text_word(t),
                     t->sentence_left == 0         ? ".\n"
                     : rng_below(&t->rng, 12) == 0 ? ", "
                                                   : " ");
done:
    t->pend_len = n > 0 ? (size_t)n : 0;
    t->pend_off = 0;
}

/** Fill buf[0..len) with text. */
static void text_fill(struct mksynth_text *t, unsigned char *buf, size_t len)
{
    size_t off = 0, take;

    while (off < len) {
        if (t->pend_off == t->pend_len)
            text_refill(t);
        take = t->pend_len - t->pend_off;
        if (take > len - off)
            take = len - off;
        memcpy(buf + off, t->pend + t->pend_off, take);
        t->pend_off += take;
        off += take;
    }
}

/** Fill buf[0..len) with random bytes, stored little-endian so that every
 * host writes the same image; len is a multiple of 8. */
static void random_fill(struct mksynth_rng *r, unsigned char *buf, size_t len)
{
    size_t i;
    uint64_t v;
    int b;

    for (i = 0; i + 8 <= len; i += 8) {
        v = rng_next(r);
        for (b = 0; b < 8; b++)
            buf[i + (size_t)b] = (unsigned char)(v >> (8 * b));
    }
}

/** Write all of buf at offset, retrying short writes; 0 or -errno. */
static int write_all(int fd, const unsigned char *buf, size_t len, off_t off)
{
    ssize_t n;

    while (len > 0) {
        n = pwrite(fd, buf, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/** Parse "R,T,Z" percentages; they must sum to 100. 0 or -EINVAL. */
static int parse_mix(const char *s, unsigned mix[MKSYNTH_KINDS])
{
    unsigned a, b, c;
    char tail;

    if (sscanf(s, "%u,%u,%u%c", &a, &b, &c, &tail) != 3)
        return -EINVAL;
    if (a + b + c != 100)
        return -EINVAL;
    mix[MKSYNTH_RANDOM] = a;
    mix[MKSYNTH_TEXT] = b;
    mix[MKSYNTH_ZERO] = c;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mksynth [--seed N] [--mix RANDOM,TEXT,ZERO] "
               "SIZE_BYTES OUT\n"
               "  --mix  share of extents of each kind, percent "
               "(default 35,40,25)\n");
}

int main(int argc, char **argv)
{
    unsigned mix[MKSYNTH_KINDS] = {35, 40, 25};
    uint64_t seed = 1, size, pos = 0, len, kind_bytes[MKSYNTH_KINDS] = {0};
    uint64_t budget[MKSYNTH_KINDS];
    struct mksynth_rng layout, rnd;
    struct mksynth_text text;
    unsigned char *buf;
    const char *out;
    char *end;
    int argi = 1, fd, rc;
    unsigned k, shift, pick, open_mix;

    while (argi < argc && argv[argi][0] == '-' && argv[argi][1] == '-') {
        if (strcmp(argv[argi], "--seed") == 0 && argi + 1 < argc) {
            seed = strtoull(argv[argi + 1], &end, 0);
            if (*end != '\0') {
                fprintf(stderr, "mksynth: bad --seed '%s'\n", argv[argi + 1]);
                return 2;
            }
            argi += 2;
        } else if (strcmp(argv[argi], "--mix") == 0 && argi + 1 < argc) {
            if (parse_mix(argv[argi + 1], mix) != 0) {
                fprintf(stderr,
                        "mksynth: bad --mix '%s' (want three "
                        "percentages summing to 100, e.g. "
                        "35,40,25)\n",
                        argv[argi + 1]);
                return 2;
            }
            argi += 2;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (argc - argi != 2) {
        usage(stderr);
        return 2;
    }
    size = strtoull(argv[argi], &end, 0);
    if (*end != '\0' || size == 0 || size > MKSYNTH_SIZE_MAX_BYTES) {
        fprintf(stderr, "mksynth: bad size '%s' (1 byte to 1 TiB)\n", argv[argi]);
        return 2;
    }
    out = argv[argi + 1];

    buf = malloc(MKSYNTH_BUF_BYTES);
    if (buf == NULL) {
        fprintf(stderr, "mksynth: out of memory\n");
        return 1;
    }
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "mksynth: cannot create %s: %s\n", out, strerror(errno));
        free(buf);
        return 1;
    }

    /* Independent streams: changing the mix does not change the bytes of
     * a kind, only where they go. */
    rng_seed(&layout, seed, 1);
    rng_seed(&rnd, seed, 2);
    memset(&text, 0, sizeof(text));
    rng_seed(&text.rng, seed, 3);

    /* Each kind gets its share of the bytes: the kind of an extent is
     * drawn by the mix among the kinds whose budget is not used up, and
     * the extent is cut to that budget. */
    for (k = 0; k < MKSYNTH_KINDS; k++)
        budget[k] = size / 100 * mix[k] + size % 100 * mix[k] / 100;
    budget[MKSYNTH_TEXT] += size - budget[0] - budget[1] - budget[2];

    rc = 0;
    while (pos < size && rc == 0) {
        open_mix = 0;
        for (k = 0; k < MKSYNTH_KINDS; k++)
            open_mix += kind_bytes[k] < budget[k] ? mix[k] : 0;
        assert(open_mix > 0);
        pick = (unsigned)rng_below(&layout, open_mix);
        for (k = 0; k < MKSYNTH_KINDS; k++) {
            if (kind_bytes[k] >= budget[k])
                continue;
            if (pick < mix[k])
                break;
            pick -= mix[k];
        }
        assert(k < MKSYNTH_KINDS);
        shift =
            MKSYNTH_EXTENT_MIN_SHIFT +
            (unsigned)rng_below(&layout, MKSYNTH_EXTENT_MAX_SHIFT - MKSYNTH_EXTENT_MIN_SHIFT + 1);
        len = (1ull << shift) + rng_below(&layout, 1ull << shift);
        len -= len % MKSYNTH_ALIGN_BYTES;
        if (len > budget[k] - kind_bytes[k])
            len = budget[k] - kind_bytes[k];
        if (len > size - pos)
            len = size - pos;
        kind_bytes[k] += len;
        if (k == MKSYNTH_ZERO) {
            pos += len; /* a hole */
            continue;
        }
        while (len > 0 && rc == 0) {
            size_t n = len > MKSYNTH_BUF_BYTES ? MKSYNTH_BUF_BYTES : len;

            if (k == MKSYNTH_RANDOM)
                random_fill(&rnd, buf, (n + 7) & ~(size_t)7);
            else
                text_fill(&text, buf, n);
            rc = write_all(fd, buf, n, (off_t)pos);
            pos += n;
            len -= n;
        }
    }
    if (rc == 0 && ftruncate(fd, (off_t)size) != 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) != 0 && errno != EINVAL)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "mksynth: writing %s at offset %" PRIu64 " failed: %s\n", out, pos,
                strerror(-rc));
        return 1;
    }
    for (k = 0; k < MKSYNTH_KINDS; k++)
        fprintf(stderr, "mksynth: %-6s %12" PRIu64 " bytes (%.1f%%)\n", mksynth_kind_name[k],
                kind_bytes[k], 100.0 * (double)kind_bytes[k] / (double)size);
    return 0;
}
