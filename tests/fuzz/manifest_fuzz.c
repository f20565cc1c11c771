// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_manifest_parse(). A manifest that parses must parse again
 * from its kept bytes to the same result, and every derived value must be
 * consistent (the parser's own invariants).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "treecast/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_manifest *m, *m2;
    struct tc_err err = {0};
    char pin[TC_NAME_MAX + 8 + 64 + 1];
    uint64_t raw = 0;
    uint32_t i;

    if (tc_manifest_parse(data, size, &m, &err) != 0) {
        assert(err.msg[0] != '\0');
        return 0;
    }
    assert(m->len == size && memcmp(m->bytes, data, size) == 0);
    for (i = 0; i < m->chunk_count; i++) {
        uint32_t rl = tc_manifest_chunk_raw_len(m, i);

        assert(rl > 0 && rl <= m->chunk_size);
        assert(m->chunks[i].stored_len <= rl);
        raw += rl;
    }
    assert(raw == m->raw_size);
    /* The block-hash section: both fields or neither, the list inside the bytes. */
    assert((m->seg_size == 0) == (m->list_hash == NULL));
    if (m->list_hash != NULL) {
        assert(m->list_hash >= m->bytes);
        assert((size_t)(m->list_hash - m->bytes) + (size_t)m->chunk_count * 32 <= m->len);
    }
    tc_manifest_pin(m, pin, sizeof(pin));
    assert(tc_manifest_parse(m->bytes, m->len, &m2, NULL) == 0);
    assert(m2->chunk_count == m->chunk_count && m2->payload_len == m->payload_len);
    assert(m2->seg_size == m->seg_size);
    tc_manifest_free(m2);
    tc_manifest_free(m);
    return 0;
}
