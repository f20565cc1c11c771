/* SPDX-License-Identifier: MIT */
/*
 * os/ disk picker: treecast.disk=HINTS ("serial=S,size=500G,model=M,path=P")
 * matched against /sys/block/ when a node's disk has no stable name. Exactly
 * one non-removable, unmounted, unheld whole disk must match every hint given;
 * otherwise the error lists the candidates with their size, model and serial
 * so that the operator can write a better hint.
 *
 *   serial=S  the device's serial number, exactly (device/serial or serial)
 *   model=M   a substring of the device's model (device/model, spaces trimmed)
 *   size=N    the disk's size within TC_DISKPICK_SIZE_TOLERANCE_PERMILLE;
 *             N in bytes with an optional k, M, G, T (powers of 1000) or
 *             Ki, Mi, Gi, Ti (powers of 1024) suffix, as vendors label disks
 *   path=P    /dev/NAME exactly, or a substring of the sysfs device path
 *             (e.g. "pci-0000:00:1f.2" or "ata1" in /sys/block/NAME's link)
 */
#ifndef TREECAST_DISKPICK_H
#define TREECAST_DISKPICK_H

#include <stddef.h>
#include <stdint.h>

#include "treecast/err.h"

/** Longest hint value, bytes including the NUL. */
#define TC_DISKPICK_VALUE_MAX 128u
/** Disks looked at in /sys/block, at most (more are ignored, and said so). */
#define TC_DISKPICK_DISKS_MAX 64u
/** size= matches a disk within this many thousandths of the hint. */
#define TC_DISKPICK_SIZE_TOLERANCE_PERMILLE 20u

/** Parsed hints; empty strings and size 0 are hints not given. */
struct tc_diskpick_hints {
    char serial[TC_DISKPICK_VALUE_MAX]; /**< exact serial, or "" */
    char model[TC_DISKPICK_VALUE_MAX];  /**< model substring, or "" */
    char path[TC_DISKPICK_VALUE_MAX];   /**< /dev path or sysfs path substring, or "" */
    uint64_t size;                      /**< approximate size, bytes, or 0 */
};

/* True if s is a hint list rather than a device path (it has a '=' and does
 * not start with '/'). */
int tc_diskpick_is_hints(const char *s);

/*
 * Parse "key=value,key=value". -EINVAL naming the bad word (unknown key, a
 * malformed size, no hint at all), -E2BIG for a value over its limit.
 */
int tc_diskpick_parse(const char *s, struct tc_diskpick_hints *h, struct tc_err *err);

/*
 * Pick the one disk matching h. sysroot prefixes /sys and /proc ("" on a
 * real system; tests build a fake tree). On success dev holds "/dev/NAME".
 * -ENODEV when none matches, -EEXIST ("more than one") when several do; the
 * message lists the candidates.
 */
int tc_diskpick_find(const char *sysroot, const struct tc_diskpick_hints *h, char *dev, size_t cap,
                     struct tc_err *err);

#endif /* TREECAST_DISKPICK_H */
