// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tc_revlist_parse(). A list that parses serializes back to the
 * same bytes, and every entry it lists is found by the lookups.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treecast/revlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tc_revlist *rl;
    struct tc_err err = {0};
    uint8_t *out;
    size_t n;
    uint32_t i;

    if (tc_revlist_parse(data, size, &rl, &err) != 0) {
        assert(err.msg[0] != '\0');
        return 0;
    }
    for (i = 0; i < rl->n_keys; i++)
        assert(tc_revlist_has_key(rl, rl->keys[i]));
    for (i = 0; i < rl->n_images; i++)
        assert(tc_revlist_has_image(rl, rl->images[i]));
    assert(tc_revlist_serialize(rl, &out, &n, NULL) == 0);
    assert(n == size && memcmp(out, data, size) == 0);
    free(out);
    tc_revlist_free(rl);
    return 0;
}
