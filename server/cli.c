// SPDX-License-Identifier: MIT
/*
 * What every `treecast` command shares: messages, the one mapping from rc to
 * exit code, small files written atomically, keys, the clock, JSON strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "treecast/fileio.h"

#include "cli.h"

/**
 * The one place where an rc becomes an exit class. Trust, disk and format
 * codes mean the same thing wherever they come from; a system error (ENOENT,
 * EACCES, EIO) takes the class of what was being done.
 */
int tc_cli_exit_code(int rc, enum tc_cli_phase phase)
{
    int c;

    if (rc >= 0)
        return TC_EXIT_OK;
    c = tc_exit_class(rc);
    /* malformed bytes take the class of what was being read */
    if (c == TC_EXIT_IMAGE && phase == TC_PHASE_TRUST)
        return TC_EXIT_TRUST;
    if (c == TC_EXIT_IMAGE && phase == TC_PHASE_TARGET)
        return TC_EXIT_DISK;
    if (c != 0)
        return c;
    switch (phase) {
    case TC_PHASE_IMAGE:
        return TC_EXIT_IMAGE;
    case TC_PHASE_TRUST:
        return TC_EXIT_TRUST;
    case TC_PHASE_TARGET:
        return TC_EXIT_DISK;
    case TC_PHASE_OTHER:
        break;
    }
    return TC_EXIT_INTERNAL;
}

/**
 * "treecast: cmd: ..." on stderr.
 */
void tc_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "treecast: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/**
 * "treecast: cmd: warning: ..." on stderr.
 */
void tc_cli_warn(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "treecast: %s: warning: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/**
 * Print an error with the most precise message available; return its class.
 */
int tc_cli_fail(const char *cmd, int rc, enum tc_cli_phase phase, const struct tc_err *err)
{
    if (err && err->msg[0])
        tc_cli_error(cmd, "%s", err->msg);
    else
        tc_cli_error(cmd, "%s", strerror(rc < 0 ? -rc : rc));
    return tc_cli_exit_code(rc, phase);
}

/**
 * A usage error: the message and where to look.
 */
int tc_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "treecast: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'treecast %s --help'.\n", cmd);
    return TC_EXIT_USAGE;
}

/**
 * getopt_long() said '?' (unknown option) or ':' (missing value); optind
 * has moved past the offending word.
 */
int tc_cli_bad_option(const char *cmd, char **argv, int c)
{
    const char *word = argv[optind - 1];

    if (c == ':')
        return tc_cli_usage(cmd, "option '%s' needs a value", word);
    if (optopt && word[0] == '-' && word[1] != '-')
        return tc_cli_usage(cmd, "unknown option '-%c'", optopt);
    return tc_cli_usage(cmd, "unknown option '%s'", word);
}

/**
 * Read a whole small file; the size limit is checked on the bytes read, so
 * a file that grows meanwhile cannot overflow the buffer.
 */
int tc_cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct tc_err *err)
{
    uint8_t *b;
    size_t got;
    ssize_t n;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "cannot open %s: %s", path, strerror(-rc));
    }
    b = malloc(max + 1);
    if (!b) {
        rc = tc_err_set(err, -ENOMEM, "out of memory reading %s", path);
        goto err_close;
    }
    n = tc_io_read_upto(fd, b, max + 1);
    if (n < 0) {
        rc = (int)n;
        tc_err_set(err, rc, "cannot read %s: %s", path, strerror(-rc));
        goto err_free;
    }
    got = (size_t)n;
    if (got > max) {
        rc = tc_err_set(err, -E2BIG, "%s is larger than the %zu-byte limit", path, max);
        goto err_free;
    }
    close(fd);
    *buf = b;
    *len = got;
    return 0;

err_free:
    free(b);
err_close:
    close(fd);
    return rc;
}

/**
 * fsync the directory holding path, so that a rename into it survives a
 * crash.
 */
int tc_cli_sync_dir(const char *path)
{
    char dir[TC_CLI_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc = 0;

    if (!slash) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        if ((size_t)(slash - path) >= sizeof(dir))
            return -ENAMETOOLONG;
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/**
 * Write a small file atomically. The temporary file is made by mkstemp()
 * (mode 0600 from its first byte, which matters for private keys) and
 * given mode before it is renamed or linked into place; without force,
 * link() refuses an existing name atomically.
 */
int tc_cli_write_file(const char *path, const void *buf, size_t len, unsigned mode, int force,
                      struct tc_err *err)
{
    char tmp[TC_CLI_PATH_MAX];
    int fd, rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
        return tc_err_set(err, -ENAMETOOLONG, "file name too long: %s", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        return tc_err_set(err, rc, "cannot create %s: %s", tmp, strerror(-rc));
    }
    rc = tc_io_pwrite_full(fd, buf, len, 0);
    if (rc < 0) {
        tc_err_set(err, rc, "cannot write %s: %s", tmp, strerror(-rc));
        goto err_unlink;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        rc = -errno;
        tc_err_set(err, rc, "cannot write %s: %s", tmp, strerror(-rc));
        goto err_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        tc_err_set(err, rc, "cannot write %s: %s", tmp, strerror(-rc));
        goto err_unlink;
    }
    fd = -1;
    if (force) {
        if (rename(tmp, path) < 0) {
            rc = -errno;
            tc_err_set(err, rc, "cannot rename %s to %s: %s", tmp, path, strerror(-rc));
            goto err_unlink;
        }
    } else {
        if (link(tmp, path) < 0) {
            rc = -errno;
            if (rc == -EEXIST)
                tc_err_set(err, rc, "%s already exists (use --force to replace it)", path);
            else
                tc_err_set(err, rc, "cannot create %s: %s", path, strerror(-rc));
            goto err_unlink;
        }
        unlink(tmp);
    }
    (void)tc_cli_sync_dir(path);
    return 0;

err_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

/**
 * Read and parse a private key; the PEM text is wiped before it is freed.
 */
int tc_cli_load_private_key(const char *path, struct tc_key **key, struct tc_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc;

    rc = tc_cli_read_file(path, TC_PEM_MAX, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = tc_key_parse_private(key, buf, len, err);
    memset(buf, 0, len);
    free(buf);
    if (rc < 0)
        return tc_err_prefix(err, rc, "key %s: ", path);
    if (!tc_key_is_private(*key)) {
        tc_key_free(*key);
        *key = NULL;
        return tc_err_set(err, -EINVAL, "key %s is a public key; signing needs the .key file",
                          path);
    }
    return 0;
}

/**
 * Wall-clock time in seconds.
 */
int64_t tc_cli_now(void)
{
    return (int64_t)time(NULL);
}

/**
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid.
 */
static size_t cli_utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/**
 * Write s as a JSON string: quotes and backslashes escaped, control
 * characters as \u00XX, invalid UTF-8 replaced by U+FFFD (JSON text must be
 * UTF-8; a kernel command line need not be).
 */
void tc_cli_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        size_t n = cli_utf8_len(p);
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p++, f);
        } else if (*p == '\n') {
            fputs("\\n", f);
            p++;
        } else if (*p == '\t') {
            fputs("\\t", f);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p++);
        } else if (n == 0) {
            fputs("\\ufffd", f);
            p++;
        } else {
            fwrite(p, 1, n, f);
            p += n;
        }
    }
    fputc('"', f);
}
