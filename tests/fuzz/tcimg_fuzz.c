// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_tcimg_parse() over a whole .tcimg in memory; when it
 * parses, every chunk also goes through the verified decode path.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "treecast/chunk.h"
#include "treecast/tcimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_tcimg_layout l;
    struct tc_manifest *m;
    struct tc_sigblock sb;
    struct tc_err err = {0};
    uint8_t *raw;
    uint32_t i;

    if (tc_tcimg_parse(data, size, &l, &m, &sb, &err) != 0) {
        assert(err.msg[0] != '\0');
        return 0;
    }
    assert(l.sigblock_off + l.sigblock_len + 64 == size);
    raw = malloc(m->chunk_size);
    assert(raw);
    for (i = 0; i < m->chunk_count; i++) {
        const struct tc_manifest_chunk *c = &m->chunks[i];

        assert(c->stored_off + c->stored_len <= l.payload_len);
        tc_chunk_verify_decode(m, i, data + l.payload_off + c->stored_off, c->stored_len, raw,
                               NULL);
    }
    free(raw);
    tc_manifest_free(m);
    return 0;
}
