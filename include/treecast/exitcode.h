/* SPDX-License-Identifier: MIT */
/*
 * Exit codes shared by `treecast` and `treecast-agent`, one per class of
 * outcome so that scripts (and an unattended node's boot logic) can tell a
 * wrong key from a full disk without parsing messages. Documented in
 * docs/tools.md; never renumber.
 */
#ifndef TREECAST_EXITCODE_H
#define TREECAST_EXITCODE_H

enum tc_exit {
    TC_EXIT_OK = 0,       /**< success */
    TC_EXIT_INTERNAL = 1, /**< a bug or an unexpected system error */
    TC_EXIT_USAGE = 2,    /**< bad or missing option, bad configuration */
    TC_EXIT_NETWORK = 3,  /**< seeder unreachable, interface missing, session lost */
    TC_EXIT_TRUST = 4,    /**< signatures, policy, expiry, revocation, clock */
    TC_EXIT_DISK = 5,     /**< target too small, mounted, unreadable or unwritable */
    TC_EXIT_IMAGE = 6,    /**< malformed or corrupt image (format, chunk hash) */
    TC_EXIT_HANDOFF = 7,  /**< the image is written but the handoff failed */
};

#endif /* TREECAST_EXITCODE_H */
