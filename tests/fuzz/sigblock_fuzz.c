// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_sigblock_parse(). A block that parses serializes back to
 * exactly the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/sigblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_sigblock sb;
    struct tc_err err = {0};
    uint8_t *out;
    size_t n;
    unsigned i;

    if (tc_sigblock_parse(data, size, &sb, &err) != 0) {
        assert(err.msg[0] != '\0');
        return 0;
    }
    assert(sb.count <= TC_SIGS_MAX);
    for (i = 0; i < sb.count; i++)
        assert(tc_sigblock_find(&sb, sb.sigs[i].key_id) == (int)i);
    n = tc_sigblock_size(&sb);
    assert(n == size);
    out = malloc(n);
    assert(out);
    assert(tc_sigblock_serialize(&sb, out, n, &n) == 0);
    assert(n == size && memcmp(out, data, size) == 0);
    free(out);
    return 0;
}
