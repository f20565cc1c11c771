// SPDX-License-Identifier: MIT
/*
 * `treecast revoke`: a signed revocation list (.tcrl) of key ids and image
 * digests, with a sequence number and a maximum age.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treecast/imgfile.h"
#include "treecast/revlist.h"
#include "treecast/rng.h"
#include "treecast/tctime.h"

/** Default --max-age: 30 days. */
#define REVOKE_MAX_AGE_DEFAULT (30 * 24 * 3600)

static const char revoke_help[] =
    "Usage: treecast revoke --key BASE.key --sequence N [--max-age DUR]\n"
    "                       [--revoke-key KEYID|FILE.pub]... [--revoke-image "
    "HEX|PIN|IMAGE.tcimg]...\n"
    "                       OUT.tcrl\n"
    "\n"
    "Write a revocation list signed with BASE.key. Images signed by a revoked key,\n"
    "and revoked images, are refused by `verify --revocations` / `unpack\n"
    "--revocations` and by agents given the list. The list is itself refused once\n"
    "older than its maximum age, so publish a new one (higher sequence) before then.\n"
    "\n"
    "Options:\n"
    "  --key FILE            private key that signs the list (must be trusted by the\n"
    "                        machines that check it)\n"
    "  --sequence N          sequence number; a newer list has a higher one\n"
    "  --max-age DUR         how long the list stays fresh: 90s, 15m, 12h, 30d, 2w\n"
    "                        (default 30d)\n"
    "  --issued DATE         issue time, RFC 3339 (default: now)\n"
    "  --revoke-key K        a key id (64 hex digits) or a public key file; repeatable\n"
    "  --revoke-image I      an image digest (64 hex digits), a pin NAME@sha256:HEX or\n"
    "                        a .tcimg file; repeatable\n"
    "  --help                this text\n";

/**
 * A key id from 64 hex digits or from a public (or private) key file.
 */
static int revoke_key_id(const char *s, uint8_t id[TC_KEY_ID_LEN], struct tc_err *err)
{
    struct tc_key *key = NULL;
    uint8_t *buf;
    size_t len;
    int rc;

    if (tc_opts_hex(s, id, TC_KEY_ID_LEN) == 0)
        return 0;
    rc = tc_cli_read_file(s, TC_PEM_MAX, &buf, &len, err);
    if (rc < 0)
        return tc_err_prefix(err, rc, "--revoke-key is neither a key id nor a key file: ");
    rc = tc_key_parse_public(&key, buf, len, err);
    if (rc < 0) {
        tc_err_clear(err);
        rc = tc_key_parse_private(&key, buf, len, err);
    }
    memset(buf, 0, len);
    free(buf);
    if (rc < 0)
        return tc_err_prefix(err, rc, "--revoke-key %s: ", s);
    tc_key_id(key, id);
    tc_key_free(key);
    return 0;
}

/**
 * An image digest from 64 hex digits, a pin, or a .tcimg file.
 */
static int revoke_image_digest(const char *s, uint8_t digest[TC_SHA256_LEN], struct tc_err *err)
{
    char name[TC_NAME_MAX + 1];
    struct tc_imgfile *f;
    int rc;

    if (tc_opts_hex(s, digest, TC_SHA256_LEN) == 0 || tc_opts_pin(s, name, digest) == 0)
        return 0;
    rc = tc_imgfile_open(&f, s, 0, err);
    if (rc < 0)
        return tc_err_prefix(err, rc, "--revoke-image is neither a digest, a pin nor an image: ");
    memcpy(digest, f->manifest->image_digest, TC_SHA256_LEN);
    tc_imgfile_close(f);
    return 0;
}

/** Command-line options of revoke. */
struct revoke_opts {
    const char *key;   /**< --key */
    uint64_t sequence; /**< --sequence */
    int have_sequence; /**< --sequence given */
    int64_t max_age;   /**< --max-age, seconds */
    int64_t issued;    /**< --issued or now */
    const char *out;   /**< OUT.tcrl */
    uint32_t n_keys;   /**< revoked keys */
    uint8_t (*keys)[TC_KEY_ID_LEN];
    uint32_t n_images; /**< revoked images */
    uint8_t (*images)[TC_SHA256_LEN];
};

/**
 * Parse the command line (resolving key and image arguments as they come);
 * 0, an exit code, or -1 after --help.
 */
static int revoke_parse(int argc, char **argv, struct revoke_opts *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"sequence", required_argument, NULL, 's'},
        {"max-age", required_argument, NULL, 'a'},
        {"issued", required_argument, NULL, 'i'},
        {"revoke-key", required_argument, NULL, 'K'},
        {"revoke-image", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "revoke";
    struct tc_err err;
    int c, rc;

    o->max_age = REVOKE_MAX_AGE_DEFAULT;
    o->issued = tc_cli_now();
    o->keys = calloc(TC_REVLIST_ENTRIES_MAX, sizeof(*o->keys));
    o->images = calloc(TC_REVLIST_ENTRIES_MAX, sizeof(*o->images));
    if (!o->keys || !o->images)
        return tc_cli_fail(cmd, -ENOMEM, TC_PHASE_OTHER, NULL);
    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        tc_err_clear(&err);
        switch (c) {
        case 'k':
            o->key = optarg;
            break;
        case 's':
            if (tc_opts_uint(optarg, 0, UINT64_MAX, &o->sequence) < 0)
                return tc_cli_usage(cmd, "--sequence must be a number, not '%s'", optarg);
            o->have_sequence = 1;
            break;
        case 'a':
            if (tc_duration_parse(optarg, &o->max_age, &err) < 0 || o->max_age <= 0)
                return tc_cli_usage(cmd, "--max-age '%s' is not a duration such as 30d", optarg);
            break;
        case 'i':
            if (tc_time_parse(optarg, &o->issued, &err) < 0)
                return tc_cli_usage(cmd, "--issued '%s' is not an RFC 3339 date", optarg);
            break;
        case 'K':
            if (o->n_keys + o->n_images >= TC_REVLIST_ENTRIES_MAX)
                return tc_cli_usage(cmd, "more than %u entries", TC_REVLIST_ENTRIES_MAX);
            rc = revoke_key_id(optarg, o->keys[o->n_keys], &err);
            if (rc < 0)
                return tc_cli_usage(cmd, "%s", err.msg);
            o->n_keys++;
            break;
        case 'I':
            if (o->n_keys + o->n_images >= TC_REVLIST_ENTRIES_MAX)
                return tc_cli_usage(cmd, "more than %u entries", TC_REVLIST_ENTRIES_MAX);
            rc = revoke_image_digest(optarg, o->images[o->n_images], &err);
            if (rc < 0)
                return tc_cli_usage(cmd, "%s", err.msg);
            o->n_images++;
            break;
        case 'h':
            fputs(revoke_help, stdout);
            return -1;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (!o->key)
        return tc_cli_usage(cmd, "--key BASE.key is required");
    if (!o->have_sequence)
        return tc_cli_usage(cmd, "--sequence N is required");
    if (argc - optind != 1)
        return tc_cli_usage(cmd, "expected one OUT.tcrl, got %d arguments", argc - optind);
    o->out = argv[optind];
    return 0;
}

/**
 * `treecast revoke`.
 */
int tc_cmd_revoke(int argc, char **argv)
{
    const char *cmd = "revoke";
    struct revoke_opts o;
    struct tc_revlist_params p;
    struct tc_revlist *rl = NULL;
    struct tc_key *key = NULL;
    struct tc_err err;
    char hex[2 * TC_KEY_ID_LEN + 1], date[TC_RFC3339_LEN];
    uint8_t id[TC_KEY_ID_LEN], *buf = NULL;
    size_t len;
    uint32_t i;
    int rc;

    memset(&o, 0, sizeof(o));
    rc = revoke_parse(argc, argv, &o);
    if (rc) {
        rc = rc < 0 ? TC_EXIT_OK : rc;
        goto out;
    }
    tc_err_clear(&err);
    rc = tc_cli_load_private_key(o.key, &key, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TRUST, &err);
        goto out;
    }
    memset(&p, 0, sizeof(p));
    p.sequence = o.sequence;
    p.issued = o.issued;
    p.max_age = o.max_age;
    p.n_keys = o.n_keys;
    p.keys = (const uint8_t(*)[TC_KEY_ID_LEN])o.keys;
    p.n_images = o.n_images;
    p.images = (const uint8_t(*)[TC_SHA256_LEN])o.images;
    rc = tc_revlist_build(&p, &rl, &err);
    if (rc == 0)
        rc = tc_revlist_sign(rl, key, &tc_rng_os, &err);
    if (rc == 0)
        rc = tc_revlist_serialize(rl, &buf, &len, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_OTHER, &err);
        goto out;
    }
    /* A newer list replaces the old one: written aside, then renamed over it. */
    rc = tc_cli_write_file(o.out, buf, len, 0644, 1, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TARGET, &err);
        goto out;
    }
    tc_key_id(key, id);
    tc_time_format(o.issued, date);
    printf("wrote %s: sequence %llu, issued %s, fresh for %lld s\n", o.out,
           (unsigned long long)o.sequence, date, (long long)o.max_age);
    printf("  signed by   %s\n", tc_hex(hex, id, sizeof(id)));
    for (i = 0; i < o.n_keys; i++)
        printf("  revoked key    %s\n", tc_hex(hex, o.keys[i], TC_KEY_ID_LEN));
    for (i = 0; i < o.n_images; i++)
        printf("  revoked image  %s\n", tc_hex(hex, o.images[i], TC_SHA256_LEN));
    rc = TC_EXIT_OK;
out:
    free(buf);
    tc_revlist_free(rl);
    tc_key_free(key);
    free(o.keys);
    free(o.images);
    return rc;
}
