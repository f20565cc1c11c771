// SPDX-License-Identifier: MIT
/*
 * Error reporting: one sentence per failure, kept in a caller-supplied
 * struct tc_err. No printing, no allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "treecast/err.h"
#include "treecast/exitcode.h"

/**
 * Record rc and a formatted sentence in err unless a message is already held
 * (the innermost, most precise message wins). Returns rc unchanged.
 */
int tc_err_set(struct tc_err *err, int rc, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->msg[0] != '\0')
        return rc;
    err->rc = rc;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return rc;
}

/** Forget any recorded error. */
void tc_err_clear(struct tc_err *err)
{
    if (!err)
        return;
    err->rc = 0;
    err->msg[0] = '\0';
}

/**
 * Put a formatted prefix in front of the message held in err and record rc as
 * its code. When no message is held the prefix is completed with the error
 * number so that the caller still has a sentence to show. Returns rc.
 */
int tc_err_prefix(struct tc_err *err, int rc, const char *fmt, ...)
{
    char prefix[TC_ERR_MSG_MAX];
    size_t plen, mlen;
    va_list ap;
    int n;

    if (!err)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        return rc;
    plen = strlen(prefix);
    if (err->msg[0] == '\0')
        snprintf(err->msg, sizeof(err->msg), "error %d", rc);
    err->rc = rc; /* the outer layer decides the code */
    /* Shift the old sentence right (truncating its end), then copy the prefix in. */
    mlen = strlen(err->msg);
    if (plen > sizeof(err->msg) - 1)
        plen = sizeof(err->msg) - 1;
    if (mlen > sizeof(err->msg) - 1 - plen)
        mlen = sizeof(err->msg) - 1 - plen;
    memmove(err->msg + plen, err->msg, mlen);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + mlen] = '\0';
    return rc;
}

/** Lower-case hex of len bytes into out, which holds 2 * len + 1 bytes. */
char *tc_hex(char *out, const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[buf[i] >> 4];
        out[2 * i + 1] = digits[buf[i] & 0xf];
    }
    out[2 * len] = '\0';
    return out;
}

int tc_exit_class(int rc)
{
    switch (-rc) {
    case EKEYREJECTED:
    case ENOKEY:
    case EKEYEXPIRED:
    case EKEYREVOKED:
    case ETIME:
        return TC_EXIT_TRUST;
    case ENOSPC:
    case EBUSY:
    case EROFS:
    case ENOTBLK:
    case EFBIG:
    case EDQUOT:
        return TC_EXIT_DISK;
    case EBADMSG:
    case EPROTO:
    case E2BIG:
    case EILSEQ:
        return TC_EXIT_IMAGE;
    case ENOMEM:
        return TC_EXIT_INTERNAL;
    default:
        return 0;
    }
}
