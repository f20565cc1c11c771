// SPDX-License-Identifier: MIT
/*
 * `treecast keygen`: a new signing key pair, BASE.key (private, 0600) and
 * BASE.pub (public, for trust stores).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "treecast/rng.h"

static const char keygen_help[] =
    "Usage: treecast keygen [--type ecdsa-p256|rsa-3072] [--force] --out BASE\n"
    "\n"
    "Make a signing key pair: BASE.key (the private key, PEM, mode 0600: keep it\n"
    "secret) and BASE.pub (the public key, PEM: copy it into the trust stores of\n"
    "the machines that must accept images signed with it). Prints the key id, the\n"
    "SHA-256 of the public key's DER encoding, which names the key in signatures,\n"
    "messages and revocation lists.\n"
    "\n"
    "Options:\n"
    "  --type T     ecdsa-p256 (default) or rsa-3072 (RSA-PSS signatures)\n"
    "  --out BASE   where to write BASE.key and BASE.pub\n"
    "  --force      replace existing files (otherwise refuse to overwrite)\n"
    "  --help       this text\n";

/**
 * Generate the key, write BASE.key then BASE.pub, print the key id. Both
 * names are checked before anything is written.
 */
int tc_cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"type", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "keygen", *out = NULL, *type_name = "ecdsa-p256";
    char key_path[TC_CLI_PATH_MAX], pub_path[TC_CLI_PATH_MAX];
    char *pem = NULL, hex[2 * TC_KEY_ID_LEN + 1];
    enum tc_key_type type = TC_KEY_ECDSA_P256;
    uint8_t id[TC_KEY_ID_LEN];
    struct tc_key *key = NULL;
    struct tc_err err;
    size_t len;
    int force = 0, c, rc;

    opterr = 0;
    for (;;) {
        c = getopt_long(argc, argv, ":h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 't':
            type_name = optarg;
            if (strcmp(optarg, "ecdsa-p256") == 0)
                type = TC_KEY_ECDSA_P256;
            else if (strcmp(optarg, "rsa-3072") == 0)
                type = TC_KEY_RSA_3072;
            else
                return tc_cli_usage(cmd, "--type must be ecdsa-p256 or rsa-3072, not '%s'", optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'h':
            fputs(keygen_help, stdout);
            return TC_EXIT_OK;
        default:
            return tc_cli_bad_option(cmd, argv, c);
        }
    }
    if (optind != argc)
        return tc_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out || !out[0])
        return tc_cli_usage(cmd, "--out BASE is required");
    if ((size_t)snprintf(key_path, sizeof(key_path), "%s.key", out) >= sizeof(key_path) - 16 ||
        (size_t)snprintf(pub_path, sizeof(pub_path), "%s.pub", out) >= sizeof(pub_path) - 16)
        return tc_cli_usage(cmd, "--out name too long");
    if (!force) {
        if (access(key_path, F_OK) == 0)
            return tc_cli_usage(cmd, "%s already exists: refusing to overwrite a key (use --force)",
                                key_path);
        if (access(pub_path, F_OK) == 0)
            return tc_cli_usage(cmd, "%s already exists: refusing to overwrite it (use --force)",
                                pub_path);
    }

    tc_err_clear(&err);
    rc = tc_key_generate(&key, type, &tc_rng_os, &err);
    if (rc < 0)
        return tc_cli_fail(cmd, rc, TC_PHASE_OTHER, &err);
    pem = malloc(TC_PEM_MAX);
    if (!pem) {
        rc = tc_cli_fail(cmd, -ENOMEM, TC_PHASE_OTHER, NULL);
        goto out_key;
    }
    rc = tc_key_write_private_pem(key, pem, TC_PEM_MAX, &len);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_OTHER, NULL);
        goto out_pem;
    }
    rc = tc_cli_write_file(key_path, pem, len, 0600, force, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TARGET, &err);
        goto out_pem;
    }
    memset(pem, 0, TC_PEM_MAX);
    rc = tc_key_write_public_pem(key, pem, TC_PEM_MAX, &len);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_OTHER, NULL);
        goto out_pem;
    }
    rc = tc_cli_write_file(pub_path, pem, len, 0644, force, &err);
    if (rc < 0) {
        rc = tc_cli_fail(cmd, rc, TC_PHASE_TARGET, &err);
        goto out_pem;
    }
    tc_key_id(key, id);
    printf("wrote %s (private key, %s, mode 0600: keep it secret)\n", key_path, type_name);
    printf("wrote %s (public key: copy it into trust stores)\n", pub_path);
    printf("key id: %s\n", tc_hex(hex, id, sizeof(id)));
    rc = TC_EXIT_OK;

out_pem:
    memset(pem, 0, TC_PEM_MAX);
    free(pem);
out_key:
    tc_key_free(key);
    return rc;
}
