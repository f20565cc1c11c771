// SPDX-License-Identifier: MIT
/*
 * .tcimg reader: open read-only, map, parse through lib/ (header, trailer,
 * manifest, signature block). See include/treecast/imgfile.h.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treecast/imgfile.h"

/**
 * Parse the trailer and the signature block into f. Kept apart so that sign
 * can open a file whose tail was torn by a crash.
 */
static int imgfile_parse_tail(struct tc_imgfile *f, struct tc_err *err)
{
    const uint8_t *tail = f->map + f->map_len - TC_TCIMG_TRAILER_LEN;
    int rc;

    rc = tc_tcimg_trailer_parse(tail, TC_TCIMG_TRAILER_LEN, &f->layout, err);
    if (rc < 0)
        return rc;
    if (f->layout.sigblock_len > TC_SIGBLOCK_LEN_MAX)
        return tc_err_set(err, -E2BIG, "signature block of %llu bytes is over the %u-byte limit",
                          (unsigned long long)f->layout.sigblock_len, TC_SIGBLOCK_LEN_MAX);
    return tc_sigblock_parse(f->map + f->layout.sigblock_off, (size_t)f->layout.sigblock_len,
                             &f->sigs, err);
}

/**
 * Open, map and parse a .tcimg. All offsets come from lib/'s parsers, which
 * check that every region lies inside the file before anything is read.
 */
int tc_imgfile_open(struct tc_imgfile **out, const char *path, unsigned flags, struct tc_err *err)
{
    struct tc_imgfile *f;
    struct stat st;
    struct tc_err tail_err;
    void *map;
    int rc;

    *out = NULL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return tc_err_set(err, -ENOMEM, "%s: out of memory", path);
    f->fd = -1;
    f->path = strdup(path);
    if (!f->path) {
        rc = tc_err_set(err, -ENOMEM, "%s: out of memory", path);
        goto err_free;
    }

    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        rc = -errno;
        tc_err_set(err, rc, "%s: cannot open: %s", path, strerror(-rc));
        goto err_free;
    }
    if (fstat(f->fd, &st) < 0) {
        rc = -errno;
        tc_err_set(err, rc, "%s: cannot stat: %s", path, strerror(-rc));
        goto err_close;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = tc_err_set(err, -EINVAL, "%s: not a regular file", path);
        goto err_close;
    }
    if ((uint64_t)st.st_size < TC_TCIMG_HEADER_LEN + TC_TCIMG_TRAILER_LEN) {
        rc = tc_err_set(err, -EBADMSG,
                        "%s: truncated: %llu bytes, a .tcimg file has at least %u (header and "
                        "trailer)",
                        path, (unsigned long long)st.st_size,
                        TC_TCIMG_HEADER_LEN + TC_TCIMG_TRAILER_LEN);
        goto err_close;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = tc_err_set(err, -E2BIG, "%s: too large to map", path);
        goto err_close;
    }
    f->map_len = (size_t)st.st_size;
    map = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, f->fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        tc_err_set(err, rc, "%s: cannot map: %s", path, strerror(-rc));
        goto err_close;
    }
    f->map = map;
    if (flags & TC_IMGFILE_SEQUENTIAL)
        (void)madvise(map, f->map_len, MADV_SEQUENTIAL);

    rc = tc_tcimg_header_parse(f->map, f->map_len, (uint64_t)f->map_len, &f->layout, err);
    if (rc < 0)
        goto err_prefix;
    if (f->layout.manifest_len > TC_MANIFEST_LEN_MAX) {
        rc = tc_err_set(err, -E2BIG, "manifest of %llu bytes is over the %u-byte limit",
                        (unsigned long long)f->layout.manifest_len, TC_MANIFEST_LEN_MAX);
        goto err_prefix;
    }
    rc = tc_manifest_parse(f->map + f->layout.manifest_off, (size_t)f->layout.manifest_len,
                           &f->manifest, err);
    if (rc < 0)
        goto err_prefix;
    if (f->manifest->payload_len != f->layout.payload_len) {
        rc = tc_err_set(err, -EBADMSG,
                        "the manifest describes %llu payload bytes but the header %llu",
                        (unsigned long long)f->manifest->payload_len,
                        (unsigned long long)f->layout.payload_len);
        goto err_prefix;
    }

    tc_err_clear(&tail_err);
    rc = imgfile_parse_tail(f, &tail_err);
    if (rc < 0) {
        if (!(flags & TC_IMGFILE_TAIL_OPTIONAL)) {
            tc_err_set(err, rc, "%s", tail_err.msg);
            goto err_prefix;
        }
        memset(&f->sigs, 0, sizeof(f->sigs));
        f->layout.sigblock_len = 0;
        snprintf(f->tail_msg, sizeof(f->tail_msg), "%s", tail_err.msg);
    } else {
        f->tail_ok = 1;
    }
    *out = f;
    return 0;

err_prefix:
    tc_err_prefix(err, rc, "%s: ", path);
    tc_manifest_free(f->manifest);
    munmap(map, f->map_len);
err_close:
    close(f->fd);
err_free:
    free(f->path);
    free(f);
    return rc;
}

/**
 * Release everything tc_imgfile_open() acquired.
 */
void tc_imgfile_close(struct tc_imgfile *f)
{
    if (!f)
        return;
    tc_manifest_free(f->manifest);
    if (f->map)
        munmap((void *)f->map, f->map_len);
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

/**
 * Pointer to chunk idx's stored bytes. Bounds were checked at open: the
 * manifest parser keeps every chunk inside its payload_len, which must equal
 * the header's.
 */
const uint8_t *tc_imgfile_chunk(const struct tc_imgfile *f, uint32_t idx, size_t *len)
{
    const struct tc_manifest_chunk *c;

    assert(idx < f->manifest->chunk_count);
    c = &f->manifest->chunks[idx];
    *len = c->stored_len;
    return f->map + f->layout.payload_off + c->stored_off;
}

/**
 * Pointer to a boot blob, or NULL when the image has no such blob.
 */
const uint8_t *tc_imgfile_blob(const struct tc_imgfile *f, unsigned which, size_t *len)
{
    const struct tc_manifest_blob *b;

    *len = 0;
    if (!f->manifest->has_boot || which >= TC_BOOT_BLOBS)
        return NULL;
    b = &f->manifest->boot[which];
    if (b->len == 0)
        return NULL;
    *len = (size_t)b->len;
    return f->map + f->layout.payload_off + b->off;
}
