/* SPDX-License-Identifier: MIT */
/*
 * os/ trust-store loader: every *.pub and *.pem file of a directory, in name
 * order, added to a struct tc_trust with the file name as its label.
 */
#ifndef TREECAST_TRUSTDIR_H
#define TREECAST_TRUSTDIR_H

#include "treecast/err.h"
#include "treecast/trust.h"

/** Largest key file read, bytes. */
#define TC_TRUSTDIR_FILE_MAX TC_PEM_MAX

/*
 * Load the keys of dir into t (initialised by the caller; keys already in t
 * stay). A key found twice is loaded once. Fails with a message naming the
 * directory and the file: -ENOENT / -ENOTDIR for a missing directory, -ENOKEY
 * when it holds no key file, the parser's code for a bad key, a system error
 * for an unreadable file, -E2BIG past TC_TRUST_KEYS_MAX or TC_TRUSTDIR_FILE_MAX.
 * On failure t holds the keys loaded so far (free it with tc_trust_free()).
 */
int tc_trustdir_load(struct tc_trust *t, const char *dir, struct tc_err *err);

#endif /* TREECAST_TRUSTDIR_H */
