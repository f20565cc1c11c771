/*
 * lwIP platform hooks for treecast-agent (NO_SYS=1): the millisecond clock,
 * random numbers, diagnostics and assertions that lwIP calls.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lwip/opt.h"
#include "lwip/sys.h"

/** xorshift64* state for tc_lwip_rand(); 0 until the first call seeds it. */
static uint64_t tc_lwip_rand_state;

/**
 * sys_now - lwIP's clock: milliseconds from CLOCK_MONOTONIC.
 *
 * lwIP's timers compare these values with wrap-around arithmetic, so the
 * truncation to 32 bits (a wrap every 49.7 days) is expected.  The clock does
 * not jump when the agent sets the wall-clock time.
 */
u32_t sys_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        tc_lwip_assert_fail("clock_gettime(CLOCK_MONOTONIC) failed", __FILE__, __LINE__);
    return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/**
 * tc_lwip_rand - random 32-bit numbers for DHCP transaction ids and IGMP
 * report delays.
 *
 * They need to differ between nodes booting at the same moment, not to be
 * secret: a xorshift64* generator seeded once from getrandom() without
 * blocking (the entropy pool may not be ready this early in boot), else from
 * the clock and the process id.
 */
uint32_t tc_lwip_rand(void)
{
    uint64_t x = tc_lwip_rand_state;

    if (x == 0) {
        if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != (ssize_t)sizeof(x)) {
            struct timespec ts;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            x = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
        }
        if (x == 0)
            x = 0x9e3779b97f4a7c15u;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tc_lwip_rand_state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1du) >> 32);
}

/**
 * tc_lwip_diag - lwIP's diagnostic messages (LWIP_PLATFORM_DIAG), to stderr,
 * which is the console when the agent runs as /init.
 */
void tc_lwip_diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/**
 * tc_lwip_assert_fail - a broken lwIP invariant (LWIP_PLATFORM_ASSERT): say
 * where, then abort.
 */
void tc_lwip_assert_fail(const char *msg, const char *file, int line)
{
    fprintf(stderr, "treecast-agent: lwIP assertion failed: %s (%s:%d)\n", msg, file, line);
    abort();
}
