// SPDX-License-Identifier: MIT
/*
 * `treecast sign`: append a signature over the manifest to a .tcimg.
 *
 * Only the tail is rewritten: the new signature block at sigblock_off,
 * fsync, then the trailer after it, ftruncate to the new end, fsync. A crash
 * in between leaves a file whose trailer does not parse; the next sign
 * repairs it from the header (which never changes). If a signature block
 * still parses at sigblock_off, its signatures but the last are kept: they
 * were already in the durable block before the interrupted sign, whose own
 * signature (the last) may be torn and cannot be checked here without its
 * public key, so it is dropped with a warning naming its key id. Otherwise
 * the tail is rebuilt from nothing and the warning says that the earlier
 * signatures were lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "treecast/fileio.h"
#include "treecast/imgfile.h"
#include "treecast/rng.h"
#include "treecast/sigblock.h"
#include "treecast/tcimg.h"

static const char sign_help[] =
    "Usage: treecast sign --key BASE.key IMAGE.tcimg\n"
    "\n"
    "Sign IMAGE.tcimg's manifest with the private key BASE.key and append the\n"
    "signature to the image's signature block (several signers may sign the same\n"
    "image: endorser, site). Signing twice with the same key changes nothing and\n"
    "exits 0. Only the end of the file is rewritten, crash-safely.\n"
    "\n"
    "Options:\n"
    "  --key FILE   private key made by `treecast keygen`\n"
    "  --help       this text\n";

/**
 * After a torn tail: look for a complete signature block at sigblock_off
 * (written and fsynced before the crash, its trailer not). The parser
 * refuses trailing bytes, so exactly one length can succeed.
 */
static int sign_recover_sigblock(const struct tc_imgfile *f, struct tc_sigblock *sb)
{
    uint64_t avail = f->map_len - f->layout.sigblock_off;
    size_t n;

    if (avail > TC_SIGBLOCK_LEN_MAX)
        avail = TC_SIGBLOCK_LEN_MAX;
    for (n = (size_t)avail; n > 0; n--) {
        if (tc_sigblock_parse(f->map + f->layout.sigblock_off, n, sb, NULL) == 0 && sb->count > 0)
            return 1;
    }
    memset(sb, 0, sizeof(*sb));
    return 0;
}

/**
 * Write the new tail: signature block, fsync, trailer, truncate, fsync.
 */
static int sign_write_tail(const char *path, const struct tc_tcimg_layout *l, const uint8_t *sbuf,
                           size_t sblen, struct tc_err *err)
{
    uint8_t trl[TC_TCIMG_TRAILER_LEN];
    int fd, rc;

    tc_tcimg_trailer_put(trl, l);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return tc_err_set(err, -errno, "cannot open %s for writing: %s", path, strerror(errno));
    /* Signature block, fsync, trailer, truncate, fsync: docs/image-format.md. */
    rc = tc_io_pwrite_full(fd, sbuf, sblen, l->sigblock_off);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (rc == 0)
        rc = tc_io_pwrite_full(fd, trl, sizeof(trl), l->sigblock_off + sblen);
    if (rc == 0 && (ftruncate(fd, (off_t)l->file_size) < 0 || fsync(fd) < 0))
        rc = -errno;
    if (rc < 0)
        tc_err_set(err, rc, "cannot write the signature to %s: %s", path, strerror(-rc));
    if (close(fd) < 0 && rc == 0)
        rc = tc_err_set(err, -errno, "cannot write the signature to %s: %s", path, strerror(errno));
    return rc;
}

/**
 * `treecast sign`.
 */
int tc_cmd_sign(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "sign", *key_path = NULL, *path;
    char hex[2 * TC_KEY_ID_LEN + 1], pin[TC_CLI_PIN_MAX];
    uint8_t id[TC_KEY_ID_LEN], digest[TC_SHA256_LEN];
    struct tc_imgfile *f = NULL;
    struct tc_key *key = NULL;
    struct tc_sigblock sb;
    struct tc_tcimg_layout l;
    struct tc_err err;
    uint8_t *sbuf = NULL;
    size_t sblen;
    int c, rc, recovered = 0;

    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'h':
            fputs(sign_help, stdout);
            return TC_EXIT_OK;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (!key_path)
        return tc_cli_usage(cmd, "--key BASE.key is required");
    if (argc - optind != 1)
        return tc_cli_usage(cmd, "expected one IMAGE.tcimg, got %d arguments", argc - optind);
    path = argv[optind];

    tc_err_clear(&err);
    rc = tc_cli_load_private_key(key_path, &key, &err);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_TRUST, &err);
    tc_key_id(key, id);
    tc_hex(hex, id, sizeof(id));

    rc = tc_imgfile_open(&f, path, TC_IMGFILE_TAIL_OPTIONAL, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_IMAGE, &err);
        goto out;
    }
    sb = f->sigs;
    if (!f->tail_ok) {
        recovered = sign_recover_sigblock(f, &sb);
        if (recovered) {
            char last[2 * TC_KEY_ID_LEN + 1];
            tc_hex(last, sb.sigs[sb.count - 1].key_id, TC_KEY_ID_LEN);
            sb.count--;
            tc_cli_warn(cmd,
                        "%s: the trailer was torn (%s), probably by a crash while signing; "
                        "kept %u signature%s made before it and rebuilding the tail",
                        path, f->tail_msg, sb.count, sb.count == 1 ? "" : "s");
            if (strcmp(last, hex) != 0)
                tc_cli_warn(cmd,
                            "%s: the signature by %s that the interrupted sign was adding may "
                            "be incomplete and was dropped: sign with that key again",
                            path, last);
        } else {
            tc_cli_warn(cmd,
                        "%s: the trailer was torn (%s), probably by a crash while signing; "
                        "rebuilding the tail from the header: earlier signatures were lost and "
                        "must be added again",
                        path, f->tail_msg);
        }
    } else if (tc_sigblock_find(&sb, id) >= 0) {
        printf("%s: already signed by %s\n", path, hex);
        rc = TC_EXIT_OK;
        goto out;
    }

    tc_sig_digest(TC_DOMAIN_MANIFEST, f->manifest->bytes, f->manifest->len, digest);
    rc = tc_sigblock_add(&sb, key, &tc_rng_os, digest, &err);
    if (rc < 0) {
        tc_err_prefix(&err, rc, "%s: ", path);
        rc = tc_cli_fail(cmd, rc, rc == -E2BIG ? TC_PHASE_IMAGE : TC_PHASE_TRUST, &err);
        goto out;
    }
    sblen = tc_sigblock_size(&sb);
    sbuf = malloc(sblen);
    if (!sbuf) {
        rc = tc_cli_fail(cmd, -ENOMEM, TC_PHASE_OTHER, NULL);
        goto out;
    }
    rc = tc_sigblock_serialize(&sb, sbuf, sblen, &sblen);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_OTHER, NULL);
        goto out;
    }
    l = f->layout;
    l.sigblock_len = sblen;
    l.file_size = l.sigblock_off + sblen + TC_TCIMG_TRAILER_LEN;
    tc_manifest_pin(f->manifest, pin, sizeof(pin));
    tc_imgfile_close(f); /* unmap before the file changes size */
    f = NULL;

    rc = sign_write_tail(path, &l, sbuf, sblen, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TARGET, &err);
        goto out;
    }
    printf("%s: signed by %s (%s)\n", path, hex, tc_sig_alg_name(tc_key_alg(key)));
    printf("  image       %s\n", pin);
    printf("  signatures  %u\n", sb.count);
    rc = TC_EXIT_OK;

out:
    free(sbuf);
    tc_imgfile_close(f);
    tc_key_free(key);
    return rc;
}
