// SPDX-License-Identifier: MIT
/*
 * Trust store from a directory of PEM (or DER) public keys: the *.pub and
 * *.pem files, in name order, each labelled with its file name so that
 * messages say which file a key came from.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treecast/fileio.h"
#include "treecast/trustdir.h"

/**
 * scandir() filter: names ending in .pub or .pem, not hidden.
 */
static int trustdir_is_key_name(const struct dirent *de)
{
    size_t n = strlen(de->d_name);

    if (de->d_name[0] == '.' || n < 5)
        return 0;
    return strcmp(de->d_name + n - 4, ".pub") == 0 || strcmp(de->d_name + n - 4, ".pem") == 0;
}

/**
 * Read a whole key file of at most TC_TRUSTDIR_FILE_MAX bytes into buf
 * (cap = TC_TRUSTDIR_FILE_MAX + 1 so that an oversized file is noticed).
 */
static int trustdir_read(int dfd, const char *name, uint8_t *buf, size_t cap, size_t *len,
                         const char *dir, struct tc_err *err)
{
    struct stat st;
    size_t got;
    ssize_t n;
    int fd, rc;

    fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "trust store %s: cannot read key file %s: %s", dir, name,
                          strerror(-rc));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = tc_err_set(err, -EINVAL, "trust store %s: %s is not a regular file", dir, name);
        goto err_close;
    }
    n = tc_io_read_upto(fd, buf, cap);
    if (n < 0) {
        rc = (int)n;
        tc_err_set(err, rc, "trust store %s: cannot read key file %s: %s", dir, name,
                   strerror(-rc));
        goto err_close;
    }
    got = (size_t)n;
    if (got >= cap) {
        rc = tc_err_set(err, -E2BIG, "trust store %s: key file %s is over %u bytes", dir, name,
                        TC_TRUSTDIR_FILE_MAX);
        goto err_close;
    }
    close(fd);
    *len = got;
    return 0;

err_close:
    close(fd);
    return rc;
}

/**
 * Load every key file of dir. Duplicates (-EEXIST from tc_trust_add) are
 * skipped silently: the same key under two names is still one key, and
 * counting it twice would let one signer satisfy --min-signatures 2.
 */
int tc_trustdir_load(struct tc_trust *t, const char *dir, struct tc_err *err)
{
    struct dirent **names = NULL;
    uint8_t *buf;
    size_t len = 0;
    int dfd, n, i, rc = 0, loaded = 0;

    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "trust store %s: cannot open directory: %s", dir, strerror(-rc));
    }
    buf = malloc(TC_TRUSTDIR_FILE_MAX + 1);
    if (!buf) {
        rc = tc_err_set(err, -ENOMEM, "trust store %s: out of memory", dir);
        goto err_close;
    }
    n = scandir(dir, &names, trustdir_is_key_name, alphasort);
    if (n < 0) {
        rc = -errno;
        tc_err_set(err, rc, "trust store %s: cannot list directory: %s", dir, strerror(-rc));
        goto err_free;
    }
    for (i = 0; i < n && rc == 0; i++) {
        const char *name = names[i]->d_name;
        struct tc_err kerr;

        rc = trustdir_read(dfd, name, buf, TC_TRUSTDIR_FILE_MAX + 1, &len, dir, err);
        if (rc < 0)
            break;
        tc_err_clear(&kerr);
        rc = tc_trust_add(t, buf, len, name, &kerr);
        if (rc == -EEXIST) {
            rc = 0;
            continue;
        }
        if (rc < 0) {
            tc_err_set(err, rc, "trust store %s: key file %s: %s", dir, name,
                       kerr.msg[0] ? kerr.msg : "not a usable public key");
            break;
        }
        loaded++;
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0 && loaded == 0 && t->count == 0)
        rc = tc_err_set(err, -ENOKEY,
                        "trust store %s holds no public key (*.pub or *.pem files): "
                        "copy the signers' .pub files there",
                        dir);

err_free:
    free(buf);
err_close:
    close(dfd);
    return rc;
}
