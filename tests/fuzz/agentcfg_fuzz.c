// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_agentcfg_parse_cmdline() on arbitrary kernel command
 * lines. Whatever parses must leave every string NUL-terminated within its
 * field, and a line that parses must parse the same way twice.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "treecast/agentcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_agentcfg a, b;
    struct tc_err e;
    int rc;

    tc_agentcfg_init(&a);
    rc = tc_agentcfg_parse_cmdline(&a, (const char *)data, size, &e);
    assert(rc == 0 || rc == -EINVAL || rc == -E2BIG);
    if (rc != 0)
        return 0;
    assert(memchr(a.image, '\0', sizeof(a.image)) != NULL);
    assert(memchr(a.min_version, '\0', sizeof(a.min_version)) != NULL);
    assert(memchr(a.disk, '\0', sizeof(a.disk)) != NULL);
    assert(memchr(a.target, '\0', sizeof(a.target)) != NULL);
    assert(memchr(a.iface, '\0', sizeof(a.iface)) != NULL);
    assert(memchr(a.trust, '\0', sizeof(a.trust)) != NULL);
    assert(a.log_level >= TC_PROTO_LOG_ERR && a.log_level <= TC_PROTO_LOG_DEBUG);
    tc_agentcfg_init(&b);
    assert(tc_agentcfg_parse_cmdline(&b, (const char *)data, size, &e) == 0);
    assert(memcmp(&a, &b, sizeof(a)) == 0);
    (void)tc_agentcfg_check(&a, &e);
    return 0;
}
