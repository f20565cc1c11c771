/* SPDX-License-Identifier: MIT */
/*
 * treecast-agent's configuration: the treecast.* keys of the kernel command
 * line and the same keys given as options, parsed into one struct. Pure (no
 * system call): the caller reads /proc/cmdline (or --cmdline FILE) and hands
 * the bytes in, then applies its options on top (options override keys).
 *
 * Keys (docs/agent.md): seeder, image, min_version, disk, target, iface,
 * handoff, log, trust. A value may be double-quoted on the kernel command
 * line ("treecast.disk=\"model=Samsung SSD\""), as the kernel itself allows.
 */
#ifndef TREECAST_AGENTCFG_H
#define TREECAST_AGENTCFG_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"
#include "treecast/manifest.h"
#include "treecast/proto.h"

/** Longest value of a key (paths, disk hints), bytes including the NUL. */
#define TC_AGENTCFG_VALUE_MAX 256u
/** Longest interface name, bytes including the NUL (IFNAMSIZ). */
#define TC_AGENTCFG_IFACE_MAX 16u
/** Longest kernel command line parsed, bytes (the kernel's own limit on
 * most architectures is 2048 to 4096; more is refused, not truncated). */
#define TC_AGENTCFG_CMDLINE_MAX 8192u
/** Prefix of the agent's keys on the kernel command line. */
#define TC_AGENTCFG_KEY_PREFIX "treecast."
/** Trust directory when none is configured (the initramfs ships the keys there). */
#define TC_AGENTCFG_TRUST_DEFAULT "/etc/treecast/trust"

/** What the agent does after RELEASE. */
enum tc_agentcfg_handoff {
    TC_HANDOFF_CONTINUE = 0,    /**< exit 0: the initramfs script goes on (default) */
    TC_HANDOFF_NONE = 1,        /**< exit 0 (tests: same as continue, says so in the log) */
    TC_HANDOFF_REBOOT = 2,      /**< sync, reboot(2) */
    TC_HANDOFF_POWEROFF = 3,    /**< sync, power off */
    TC_HANDOFF_KEXEC = 4,       /**< not supported by this build: exit 7 after the image */
    TC_HANDOFF_SWITCH_ROOT = 5, /**< not supported by this build: exit 7 after the image */
};

/** The configuration. Strings are NUL-terminated ("" = not set). */
struct tc_agentcfg {
    struct tc_proto_peer seeder;          /**< seeder control address (port defaults
                                               to TC_PROTO_PORT_DEFAULT) */
    int have_seeder;                      /**< seeder was given */
    char image[TC_NAME_MAX + 1];          /**< wanted image name */
    char min_version[TC_VERSION_MAX + 1]; /**< minimum version, or "" */
    char disk[TC_AGENTCFG_VALUE_MAX];     /**< block device path or hints, or "" */
    char target[TC_AGENTCFG_VALUE_MAX];   /**< regular file target, or "" */
    char iface[TC_AGENTCFG_IFACE_MAX];    /**< network interface */
    enum tc_agentcfg_handoff handoff;     /**< after RELEASE */
    int log_level;                        /**< TC_PROTO_LOG_ERR..DEBUG */
    char trust[TC_AGENTCFG_VALUE_MAX];    /**< directory of trusted keys */
};

/* Defaults: nothing set, handoff continue, log level info, trust
 * TC_AGENTCFG_TRUST_DEFAULT. */
void tc_agentcfg_init(struct tc_agentcfg *c);

/*
 * Set one key (without the "treecast." prefix) to value. Checks the value:
 * -EINVAL with a message naming the key and the value (unknown key, bad
 * address, name, handoff or level), -E2BIG for a value over its limit.
 */
int tc_agentcfg_set(struct tc_agentcfg *c, const char *key, const char *value, struct tc_err *err);

/*
 * Parse a kernel command line (len bytes, need not be NUL-terminated; a
 * trailing newline is fine) and set every treecast.KEY=VALUE found; other
 * words are ignored. A later key overrides an earlier one, as the kernel
 * does. -E2BIG over TC_AGENTCFG_CMDLINE_MAX; a bad key as tc_agentcfg_set();
 * -EINVAL for an unterminated quote.
 */
int tc_agentcfg_parse_cmdline(struct tc_agentcfg *c, const char *buf, size_t len,
                              struct tc_err *err);

/*
 * Everything the agent needs is there and consistent: seeder, image, iface,
 * exactly one of disk and target. -EINVAL naming what is
 * missing and where to set it.
 */
int tc_agentcfg_check(const struct tc_agentcfg *c, struct tc_err *err);

/* "reboot" for TC_HANDOFF_REBOOT. */
const char *tc_agentcfg_handoff_name(enum tc_agentcfg_handoff h);

/* "info" for TC_PROTO_LOG_INFO. */
const char *tc_agentcfg_log_name(int level);

/*
 * Parse "A.B.C.D" or "A.B.C.D:PORT" (port 1..65535; default_port when
 * absent) into *out (host order). -EINVAL if malformed.
 */
int tc_agentcfg_parse_peer(const char *s, uint16_t default_port, struct tc_proto_peer *out);

#endif /* TREECAST_AGENTCFG_H */
