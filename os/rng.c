// SPDX-License-Identifier: MIT
/*
 * The system's random source for struct tc_rng: getrandom(2), which blocks
 * only until the kernel's pool is initialised once after boot (an agent
 * running as early /init may wait there; that is the right thing to do for
 * keys and session ids).
 */
#include <errno.h>
#include <sys/random.h>

#include "treecast/rng.h"

/**
 * Fill buf from getrandom(2), looping over short reads and EINTR.
 */
int tc_rng_os_fill(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

const struct tc_rng tc_rng_os = {
    .fill = tc_rng_os_fill,
    .ctx = NULL,
};
