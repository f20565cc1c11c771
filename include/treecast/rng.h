/* SPDX-License-Identifier: MIT */
/*
 * os/ randomness: a struct tc_rng backed by getrandom(2), for the code that
 * runs on a real system (keygen, sign, revoke, the agent's session ids).
 * lib/ never calls it: it receives a struct tc_rng from its caller.
 */
#ifndef TREECAST_RNG_H
#define TREECAST_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/crypto.h"

/* Fill buf with len bytes from getrandom(2) (ctx unused). 0 or a negative errno. */
int tc_rng_os_fill(void *ctx, uint8_t *buf, size_t len);

/** The system's random source as a struct tc_rng. */
extern const struct tc_rng tc_rng_os;

#endif /* TREECAST_RNG_H */
