/*
 * lwIP's compiler and platform definitions for treecast-agent (glibc or musl,
 * any byte order the compiler reports).  The hooks are implemented in
 * agent/port/lwip/sys_arch.c.
 */
#ifndef TC_LWIP_ARCH_CC_H
#define TC_LWIP_ARCH_CC_H

#include <stdint.h>

/* Byte order as the compiler knows it (lwip/arch.h reads BYTE_ORDER). */
#ifndef BYTE_ORDER
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_ORDER BIG_ENDIAN
#else
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#endif

void tc_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tc_lwip_assert_fail(const char *msg, const char *file, int line) __attribute__((noreturn));
uint32_t tc_lwip_rand(void);

/* lwIP's diagnostics: x is a parenthesised printf argument list. */
#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        tc_lwip_diag x;                                                                            \
    } while (0)

/* lwIP's assertions stay on in release builds, like ours. */
#define LWIP_PLATFORM_ASSERT(x) tc_lwip_assert_fail((x), __FILE__, __LINE__)

/* Random numbers for DHCP transaction ids and IGMP report delays (not secrets). */
#define LWIP_RAND() tc_lwip_rand()

#endif /* TC_LWIP_ARCH_CC_H */
