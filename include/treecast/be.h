/* SPDX-License-Identifier: MIT */
/*
 * Big-endian get/put helpers for every wire and file format of treecast.
 *
 * Received buffers are never cast to structs (alignment and aliasing are
 * undefined behaviour in C11): every field is read and written through these
 * helpers at a named offset.
 */
#ifndef TREECAST_BE_H
#define TREECAST_BE_H

#include <stdint.h>

static inline uint16_t tc_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t tc_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t tc_get_be64(const uint8_t *p)
{
    return (uint64_t)tc_get_be32(p) << 32 | tc_get_be32(p + 4);
}

static inline void tc_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void tc_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void tc_put_be64(uint8_t *p, uint64_t v)
{
    tc_put_be32(p, (uint32_t)(v >> 32));
    tc_put_be32(p + 4, (uint32_t)v);
}

#endif /* TREECAST_BE_H */
