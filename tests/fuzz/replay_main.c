/*
 * A plain main() for a fuzz target, built with gcc (and ASan/UBSan): runs
 * LLVMFuzzerTestOneInput() once on every file named on the command line,
 * recursing into directories, so that a seed corpus or a crash found by
 * libFuzzer replays without clang.
 *
 *   tests/fuzz/NAME-replay FILE|DIR...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/** Largest input replayed, in bytes (libFuzzer's default -max_len is far below). */
#define REPLAY_FILE_MAX_BYTES (64u * 1024 * 1024)
/** Deepest directory nesting followed. */
#define REPLAY_DEPTH_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/** Inputs run so far. */
static unsigned long replay_count;

/**
 * replay_file - read one file into a buffer of exactly its size (so that the
 * sanitizers see any read past the end) and run the target on it.
 * Returns 0, or -1 after printing why the file could not be read.
 */
static int replay_file(const char *path, off_t size)
{
    if (size < 0 || (uint64_t)size > REPLAY_FILE_MAX_BYTES) {
        fprintf(stderr, "replay: %s: %lld bytes, more than the %u-byte limit\n", path,
                (long long)size, REPLAY_FILE_MAX_BYTES);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = (size_t)size;
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        fprintf(stderr, "replay: %s: out of memory for %zu bytes\n", path, len);
        fclose(f);
        return -1;
    }
    size_t got = fread(buf, 1, len, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != len) {
        fprintf(stderr, "replay: %s: short read (%zu of %zu bytes)\n", path, got, len);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    replay_count++;
    return 0;
}

/**
 * replay_path - run the target on a file, or on every file below a directory
 * (entries in name order, so that runs are repeatable).
 * Returns 0, or -1 if some file could not be read.
 */
static int replay_path(const char *path, int depth)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode))
        return replay_file(path, st.st_size);
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "replay: %s: neither a file nor a directory\n", path);
        return -1;
    }
    if (depth >= REPLAY_DEPTH_MAX) {
        fprintf(stderr, "replay: %s: nested deeper than %d directories\n", path, REPLAY_DEPTH_MAX);
        return -1;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            size_t len = strlen(path) + 1 + strlen(name) + 1;
            char *child = malloc(len);
            if (child == NULL) {
                fprintf(stderr, "replay: out of memory\n");
                rc = -1;
            } else {
                snprintf(child, len, "%s/%s", path, name);
                if (replay_path(child, depth + 1) != 0)
                    rc = -1;
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], 0) != 0)
            rc = 1;
    printf("replay: %lu inputs ran\n", replay_count);
    return rc;
}
