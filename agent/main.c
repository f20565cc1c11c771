/*
 * treecast-agent: the static agent that runs in a node's initramfs.
 *
 * This build only describes itself (--version, --help): the transfer is not
 * implemented yet.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/version.h>
#include <zlib.h>

#include "lwip/init.h"
#include "version.h"

/** Exit status for a command line the agent does not accept. */
#define TC_AGENT_EXIT_USAGE 2

/**
 * print_version - the agent's version, link time, compiled-in options and the
 * versions of the libraries linked into it (what an operator reading a serial
 * console needs to identify a build).
 */
static void print_version(void)
{
    printf("treecast-agent %s\n", TC_VERSION);
    printf("built: %s\n", tc_build_time);
    printf("options:\n");
    const char *opt = TC_AUTOCONF_OPTIONS;
    while (*opt != '\0') {
        const char *eol = strchr(opt, '\n');
        size_t len = eol != NULL ? (size_t)(eol - opt) : strlen(opt);
        printf("  %.*s\n", (int)len, opt);
        opt += len + (eol != NULL ? 1 : 0);
    }
    printf("lwIP %s, mbed TLS %s, zlib %s\n", LWIP_VERSION_STRING, MBEDTLS_VERSION_STRING,
           ZLIB_VERSION);
}

/** print_help - usage, and what this build can and cannot do. */
static void print_help(void)
{
    printf("usage: treecast-agent --version | --help\n"
           "\n"
           "treecast-agent receives a signed disk image from a treecast seeder and writes\n"
           "it to local disk.  In this build the transfer is not implemented yet: the\n"
           "agent only prints its version (--version) and this help.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        print_help();
        return 0;
    }
    if (argc < 2)
        fprintf(stderr, "treecast-agent: no option given; the transfer is not implemented "
                        "in this build (see --help)\n");
    else
        fprintf(stderr, "treecast-agent: unsupported argument '%s' (see --help)\n", argv[1]);
    return TC_AGENT_EXIT_USAGE;
}
