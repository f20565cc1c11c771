// SPDX-License-Identifier: MIT
/*
 * `treecast`: the operator's command-line tool. main() only dispatches to
 * one tc_cmd_*() per command; --help and --version live here.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "treecast/chunk.h"
#include "treecast/disk.h"
#include "treecast/manifest.h"
#include "treecast/revlist.h"
#include "treecast/sigblock.h"
#include "treecast/tctime.h"
#include "treecast/trust.h"

/** One command. */
struct main_cmd {
    const char *name;                  /**< as typed */
    int (*run)(int argc, char **argv); /**< argv[0] is the name */
    const char *summary;               /**< one line for --help */
};

static const struct main_cmd main_cmds[] = {
    {"keygen", tc_cmd_keygen, "make a signing key pair (BASE.key, BASE.pub)"},
    {"pack", tc_cmd_pack, "pack a raw disk image into a .tcimg"},
    {"sign", tc_cmd_sign, "add a signature to a .tcimg (idempotent)"},
    {"verify", tc_cmd_verify, "check a .tcimg's signatures, policy and every chunk"},
    {"inspect", tc_cmd_inspect, "describe a .tcimg (--json for scripts)"},
    {"unpack", tc_cmd_unpack, "verify a .tcimg and write it to a file or block device"},
    {"revoke", tc_cmd_revoke, "make a signed revocation list (.tcrl)"},
    {"sim", tc_cmd_sim, "simulate a session: N nodes, loss, timings, checks"},
    {"serve", tc_cmd_serve, "serve an image to treecast-agent nodes (multicast + repair tree)"},
};

/**
 * `treecast --help`.
 */
static void main_help(FILE *f)
{
    size_t i;

    fprintf(f, "Usage: treecast COMMAND [OPTIONS] ARGS...\n"
               "       treecast --version | --help\n"
               "\n"
               "Image tools of treecast, which puts one signed disk image onto many machines.\n"
               "\n"
               "Commands:\n");
    for (i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++)
        fprintf(f, "  %-9s %s\n", main_cmds[i].name, main_cmds[i].summary);
    fprintf(f, "\n"
               "'treecast COMMAND --help' describes a command.\n"
               "Exit codes: 0 ok, 1 internal error, 2 usage, 3 network, 4 trust or policy,\n"
               "5 disk or target, 6 malformed or corrupt image.\n");
}

/**
 * `treecast --version`: the release, the backends, the compiled-in limits.
 */
static void main_version(void)
{
    char built[TC_RFC3339_LEN] = "unknown";

    if (TC_BUILD_TIME > 0)
        tc_time_format(TC_BUILD_TIME, built);
    printf("treecast %s\n", TC_VERSION);
    printf("built: %s\n", built);
    printf("crypto: %s (ecdsa-p256, rsa-pss >= %u bits)\n", tc_crypto_backend_version(),
           TC_RSA_BITS_MIN);
    printf("sha256: %s\n", tc_sha256_impl());
    printf("inflate: %s\n", tc_chunk_backend_version());
    printf("config: chunk size %u KiB default, %u KiB..%u MiB; chunks max %u; "
           "manifest max %u MiB\n",
           TC_CHUNK_SIZE_DEFAULT / 1024, TC_CHUNK_SIZE_MIN / 1024,
           TC_CHUNK_SIZE_MAX / (1024 * 1024), TC_MANIFEST_CHUNKS_MAX,
           TC_MANIFEST_LEN_MAX / (1024 * 1024));
    printf("config: signatures max %u; trusted keys max %u; revocation entries max %u\n",
           TC_SIGS_MAX, TC_TRUST_KEYS_MAX, TC_REVLIST_ENTRIES_MAX);
    printf("config: zlib level %d default; threads max %u; disk queue %u requests\n",
           TC_CHUNK_LEVEL_DEFAULT, TC_CLI_THREADS_MAX, TC_DISK_QUEUE_MAX);
#ifdef TC_AUTOCONF_OPTIONS
    printf("build configuration:\n%s", TC_AUTOCONF_OPTIONS);
#endif
}

/**
 * Dispatch.
 */
int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        main_help(stderr);
        return TC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            for (i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++) {
                if (strcmp(argv[2], main_cmds[i].name) == 0) {
                    char *sub[] = {argv[2], "--help", NULL};
                    return main_cmds[i].run(2, sub);
                }
            }
        }
        main_help(stdout);
        return TC_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        main_version();
        return TC_EXIT_OK;
    }
    for (i = 0; i < sizeof(main_cmds) / sizeof(main_cmds[0]); i++)
        if (strcmp(argv[1], main_cmds[i].name) == 0)
            return main_cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "treecast: unknown command '%s'\nTry 'treecast --help'.\n", argv[1]);
    return TC_EXIT_USAGE;
}
