// SPDX-License-Identifier: MIT
/*
 * Small option-value parsers for the commands' getopt_long() loops: numbers,
 * sizes with suffixes, hex digests, image pins, thread counts.
 */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "treecast/manifest.h"

/**
 * Strict unsigned decimal in [min, max]: no sign, no spaces, no trailing text.
 */
int tc_opts_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    char *end;

    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/**
 * A byte count: digits then an optional K, M, G or T (KiB, MiB, GiB, TiB),
 * with an optional trailing "iB" or "B" ("64K", "1M", "1MiB", "10G", "4096").
 */
int tc_opts_size(const char *s, uint64_t *out)
{
    unsigned long long v;
    uint64_t mul = 1;
    char *end;

    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        mul = 1024;
        end++;
        break;
    case 'M':
        mul = 1024 * 1024;
        end++;
        break;
    case 'G':
        mul = 1024ull * 1024 * 1024;
        end++;
        break;
    case 'T':
        mul = 1024ull * 1024 * 1024 * 1024;
        end++;
        break;
    default:
        break;
    }
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
        end += strlen(end);
    if (*end || v > UINT64_MAX / mul)
        return -EINVAL;
    *out = v * mul;
    return 0;
}

/**
 * Value of one hex digit, or -1.
 */
static int opts_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/**
 * Exactly 2*len hex digits (either case) into len bytes.
 */
int tc_opts_hex(const char *s, uint8_t *out, size_t len)
{
    size_t i;

    if (strlen(s) != 2 * len)
        return -EINVAL;
    for (i = 0; i < len; i++) {
        int hi = opts_hexval((unsigned char)s[2 * i]);
        int lo = opts_hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/**
 * "NAME@sha256:HEX", as `treecast pack` and `inspect` print it.
 */
int tc_opts_pin(const char *s, char *name, uint8_t digest[TC_SHA256_LEN])
{
    const char *at = strchr(s, '@');
    size_t n;

    if (!at || strncmp(at + 1, "sha256:", 7) != 0)
        return -EINVAL;
    n = (size_t)(at - s);
    if (n == 0 || n > TC_NAME_MAX)
        return -EINVAL;
    memcpy(name, s, n);
    name[n] = '\0';
    if (tc_manifest_check_name(name, NULL) < 0)
        return -EINVAL;
    return tc_opts_hex(at + 8, digest, TC_SHA256_LEN);
}

/**
 * CPUs this process may run on (taskset, cgroups cpusets), else the online
 * CPUs; clamped to [1, TC_CLI_THREADS_MAX].
 */
unsigned tc_opts_default_threads(void)
{
    cpu_set_t set;
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        n = CPU_COUNT(&set);

    if (n < 1)
        return 1;
    if (n > TC_CLI_THREADS_MAX)
        return TC_CLI_THREADS_MAX;
    return (unsigned)n;
}

/**
 * --threads T: 1..TC_CLI_THREADS_MAX, or 0 for the default.
 */
int tc_opts_threads(const char *s, unsigned *out)
{
    uint64_t v;

    if (tc_opts_uint(s, 0, TC_CLI_THREADS_MAX, &v) < 0)
        return -EINVAL;
    *out = v == 0 ? tc_opts_default_threads() : (unsigned)v;
    return 0;
}

/**
 * Human-readable size with binary units ("1.5 GiB"; exact bytes below 1 KiB).
 */
const char *tc_opts_human(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    unsigned u = 0;

    if (bytes < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}
