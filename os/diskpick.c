// SPDX-License-Identifier: MIT
/*
 * Disk picker of include/treecast/diskpick.h: reads /sys/block/NAME/{size,
 * removable,device/model,device/serial,serial,holders}, its partitions'
 * holders, /proc/self/mountinfo and /proc/swaps under a caller-given root,
 * so that tests can run it against a fake tree.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "treecast/diskpick.h"

/** Longest path built under the root, bytes. */
#define PICK_PATH_MAX 512u
/** Longest sysfs attribute or mountinfo line read, bytes. */
#define PICK_LINE_MAX 512u
/** Partitions of one disk checked for mounts, at most. */
#define PICK_PARTS_MAX 128u
/** Mounted devices remembered from mountinfo and /proc/swaps, at most. */
#define PICK_MOUNTS_MAX 256u
/** Longest mount or swap source remembered ("/dev/NAME"), bytes including the NUL. */
#define PICK_SRC_MAX 64u
/** Room for the candidate list in an error message, bytes. */
#define PICK_LIST_MAX 440u

/** Name prefixes of block devices that are never an install target. */
static const char *const skip_prefixes[] = {"loop", "ram", "zram", "dm-", "md",
                                            "sr",   "fd",  "nbd",  "mtd", "vnd"};

/** What sysfs says about one disk. */
struct pick_disk {
    char name[64];                      /**< NAME in /sys/block */
    uint64_t size;                      /**< bytes */
    char model[TC_DISKPICK_VALUE_MAX];  /**< trimmed, or "" */
    char serial[TC_DISKPICK_VALUE_MAX]; /**< trimmed, or "" */
    char link[PICK_PATH_MAX];           /**< /sys/block/NAME's link target (device path) */
    int removable;                      /**< removable media */
    int busy;                           /**< mounted or held */
};

/**
 * True if s is a hint list.
 */
int tc_diskpick_is_hints(const char *s)
{
    return s[0] != '/' && strchr(s, '=') != NULL;
}

/**
 * Parse a size with an optional decimal or binary suffix.
 */
static int parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix; /**< as written */
        uint64_t mult;      /**< bytes per unit */
    } units[] = {
        {"", 1},
        {"k", 1000ull},
        {"K", 1000ull},
        {"M", 1000000ull},
        {"G", 1000000000ull},
        {"T", 1000000000000ull},
        {"Ki", 1024ull},
        {"Mi", 1024ull * 1024},
        {"Gi", 1024ull * 1024 * 1024},
        {"Ti", 1024ull * 1024 * 1024 * 1024},
    };
    uint64_t v = 0;
    const char *p = s;
    size_t i;

    if (*p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) == 0) {
            if (v == 0 || v > UINT64_MAX / units[i].mult)
                return -EINVAL;
            *out = v * units[i].mult;
            return 0;
        }
    }
    return -EINVAL;
}

/**
 * Parse the hint list.
 */
int tc_diskpick_parse(const char *s, struct tc_diskpick_hints *h, struct tc_err *err)
{
    char word[TC_DISKPICK_VALUE_MAX + 16];
    const char *p = s;
    int n = 0;

    memset(h, 0, sizeof(*h));
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *eq, *dst = NULL;

        if (len >= sizeof(word))
            return tc_err_set(err, -E2BIG, "disk hint '%.40s...' is over the %u-byte limit", p,
                              TC_DISKPICK_VALUE_MAX - 1);
        memcpy(word, p, len);
        word[len] = '\0';
        p += len + (end ? 1 : 0);
        if (len == 0)
            continue;
        eq = strchr(word, '=');
        if (!eq || eq[1] == '\0')
            return tc_err_set(err, -EINVAL, "disk hint '%s' is not KEY=VALUE", word);
        *eq = '\0';
        if (strcmp(word, "serial") == 0)
            dst = h->serial;
        else if (strcmp(word, "model") == 0)
            dst = h->model;
        else if (strcmp(word, "path") == 0)
            dst = h->path;
        else if (strcmp(word, "size") == 0) {
            if (parse_size(eq + 1, &h->size) < 0)
                return tc_err_set(err, -EINVAL,
                                  "disk hint size=%s is not a size (bytes, or a number with k, "
                                  "M, G, T, Ki, Mi, Gi or Ti)",
                                  eq + 1);
        } else {
            return tc_err_set(err, -EINVAL,
                              "unknown disk hint '%s' (known: serial, size, model, path)", word);
        }
        if (dst) {
            if (strlen(eq + 1) >= TC_DISKPICK_VALUE_MAX)
                return tc_err_set(err, -E2BIG, "disk hint %s is over the %u-byte limit", word,
                                  TC_DISKPICK_VALUE_MAX - 1);
            snprintf(dst, TC_DISKPICK_VALUE_MAX, "%s", eq + 1);
        }
        n++;
    }
    if (n == 0)
        return tc_err_set(err, -EINVAL, "disk hints '%s' name no hint", s);
    return 0;
}

/**
 * Read a small sysfs attribute, trimmed of surrounding white space; "" if
 * absent.
 */
static void read_attr(const char *path, char *out, size_t cap)
{
    char buf[PICK_LINE_MAX];
    size_t n;
    char *b = buf;
    FILE *f;

    out[0] = '\0';
    f = fopen(path, "re");
    if (!f)
        return;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (*b == ' ' || *b == '\t' || *b == '\n')
        b++;
    n = strlen(b);
    while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t' || b[n - 1] == '\n'))
        b[--n] = '\0';
    snprintf(out, cap, "%s", b);
}

/**
 * Devices in use by a mount or as swap. Both the device number and the
 * source path count: btrfs (and other multi-device file systems) show an
 * anonymous device number ("0:45") in mountinfo, so only the source names
 * the disk; /proc/swaps has only the path.
 */
struct pick_mounts {
    char dev[PICK_MOUNTS_MAX][24];           /**< "MAJ:MIN", or "" (swap) */
    char src[PICK_MOUNTS_MAX][PICK_SRC_MAX]; /**< "/dev/NAME" source, or "" */
    unsigned n;                              /**< entries */
};

/**
 * Load the mounted devices (mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT
 * OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS") and the active swap areas.
 */
static void load_mounts(const char *root, struct pick_mounts *m)
{
    char path[PICK_PATH_MAX], line[PICK_LINE_MAX * 8], dev[24], src[PICK_SRC_MAX];
    const char *sep;
    FILE *f;

    m->n = 0;
    snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
    f = fopen(path, "re");
    while (f && m->n < PICK_MOUNTS_MAX && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%*s %*s %23s", dev) != 1)
            continue;
        src[0] = '\0';
        sep = strstr(line, " - ");
        if (sep && sscanf(sep + 3, "%*s %63s", src) != 1)
            src[0] = '\0';
        snprintf(m->dev[m->n], sizeof(m->dev[0]), "%s", dev);
        snprintf(m->src[m->n], sizeof(m->src[0]), "%s", strncmp(src, "/dev/", 5) == 0 ? src : "");
        m->n++;
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/proc/swaps", root);
    f = fopen(path, "re");
    while (f && m->n < PICK_MOUNTS_MAX && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%63s", src) != 1 || strncmp(src, "/dev/", 5) != 0)
            continue;
        m->dev[m->n][0] = '\0';
        snprintf(m->src[m->n], sizeof(m->src[0]), "%s", src);
        m->n++;
    }
    if (f)
        fclose(f);
}

/**
 * True if block device NAME, number dev ("MAJ:MIN" or ""), is mounted or
 * swap.
 */
static int is_mounted(const struct pick_mounts *m, const char *dev, const char *name)
{
    unsigned i;

    for (i = 0; i < m->n; i++) {
        if (dev[0] && strcmp(m->dev[i], dev) == 0)
            return 1;
        if (m->src[i][0] && strcmp(m->src[i] + 5, name) == 0)
            return 1;
    }
    return 0;
}

/**
 * True if the sysfs directory dir has a holders/ entry (device mapper, md,
 * bcache on top of it).
 */
static int has_holders(const char *dir)
{
    char path[PICK_PATH_MAX];
    struct dirent *de;
    int held = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/holders", dir);
    d = opendir(path);
    while (d && !held && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            held = 1;
    if (d)
        closedir(d);
    return held;
}

/**
 * Mounted or swap (itself or a partition), or held by device mapper / md
 * (itself or a partition: an LVM physical volume is usually a partition).
 */
static int disk_busy(const char *root, const char *name, const struct pick_mounts *m)
{
    char path[PICK_PATH_MAX], dev[32];
    struct dirent *de;
    unsigned parts = 0;
    int busy = 0;
    DIR *dir;

    snprintf(path, sizeof(path), "%s/sys/block/%s/dev", root, name);
    read_attr(path, dev, sizeof(dev));
    if (is_mounted(m, dev, name))
        return 1;
    snprintf(path, sizeof(path), "%s/sys/block/%s", root, name);
    if (has_holders(path))
        return 1;
    dir = opendir(path);
    while (dir && !busy && parts < PICK_PARTS_MAX && (de = readdir(dir)) != NULL) {
        char ppath[PICK_PATH_MAX];
        if (strncmp(de->d_name, name, strlen(name)) != 0)
            continue;
        snprintf(ppath, sizeof(ppath), "%s/sys/block/%s/%.64s/partition", root, name, de->d_name);
        if (access(ppath, F_OK) != 0)
            continue;
        parts++;
        snprintf(ppath, sizeof(ppath), "%s/sys/block/%s/%.64s/dev", root, name, de->d_name);
        read_attr(ppath, dev, sizeof(dev));
        if (is_mounted(m, dev, de->d_name))
            busy = 1;
        snprintf(ppath, sizeof(ppath), "%s/sys/block/%s/%.64s", root, name, de->d_name);
        if (has_holders(ppath))
            busy = 1;
    }
    if (dir)
        closedir(dir);
    return busy;
}

/**
 * Fill d from sysfs; 0, or -1 for a device that is never a target.
 */
static int disk_load(const char *root, const char *name, const struct pick_mounts *m,
                     struct pick_disk *d)
{
    char path[PICK_PATH_MAX], val[PICK_LINE_MAX];
    size_t i;
    ssize_t n;

    for (i = 0; i < sizeof(skip_prefixes) / sizeof(skip_prefixes[0]); i++)
        if (strncmp(name, skip_prefixes[i], strlen(skip_prefixes[i])) == 0)
            return -1;
    if (strlen(name) >= sizeof(d->name))
        return -1;
    memset(d, 0, sizeof(*d));
    memcpy(d->name, name, strlen(name) + 1);
    snprintf(path, sizeof(path), "%s/sys/block/%s/size", root, name);
    read_attr(path, val, sizeof(val));
    d->size = strtoull(val, NULL, 10) * 512u;
    if (d->size == 0)
        return -1;
    snprintf(path, sizeof(path), "%s/sys/block/%s/removable", root, name);
    read_attr(path, val, sizeof(val));
    d->removable = strcmp(val, "1") == 0;
    snprintf(path, sizeof(path), "%s/sys/block/%s/device/model", root, name);
    read_attr(path, d->model, sizeof(d->model));
    snprintf(path, sizeof(path), "%s/sys/block/%s/device/serial", root, name);
    read_attr(path, d->serial, sizeof(d->serial));
    if (d->serial[0] == '\0') {
        snprintf(path, sizeof(path), "%s/sys/block/%s/serial", root, name);
        read_attr(path, d->serial, sizeof(d->serial));
    }
    snprintf(path, sizeof(path), "%s/sys/block/%s", root, name);
    n = readlink(path, d->link, sizeof(d->link) - 1);
    d->link[n > 0 ? n : 0] = '\0';
    d->busy = disk_busy(root, name, m);
    return 0;
}

/**
 * True if disk d matches every hint.
 */
static int disk_matches(const struct pick_disk *d, const struct tc_diskpick_hints *h)
{
    char devpath[80];

    if (h->serial[0] && strcmp(d->serial, h->serial) != 0)
        return 0;
    if (h->model[0] && strstr(d->model, h->model) == NULL)
        return 0;
    if (h->size) {
        uint64_t tol = h->size / 1000u * TC_DISKPICK_SIZE_TOLERANCE_PERMILLE;
        uint64_t diff = d->size > h->size ? d->size - h->size : h->size - d->size;
        if (diff > tol)
            return 0;
    }
    if (h->path[0]) {
        snprintf(devpath, sizeof(devpath), "/dev/%s", d->name);
        if (strcmp(h->path, devpath) != 0 && strstr(d->link, h->path) == NULL)
            return 0;
    }
    return 1;
}

/**
 * Append one candidate's description to the list in buf.
 */
static void list_add(char *buf, size_t cap, const struct pick_disk *d, const char *why)
{
    size_t len = strlen(buf);
    int n;

    if (len + 1 >= cap)
        return;
    /* A long list is cut: the message says what fits. */
    n = snprintf(buf + len, cap - len, "%s%.32s (%llu bytes, '%.32s', serial '%.32s'%s)",
                 len ? "; " : "", d->name, (unsigned long long)d->size, d->model, d->serial, why);
    (void)n;
}

/**
 * Pick the one matching disk.
 */
int tc_diskpick_find(const char *sysroot, const struct tc_diskpick_hints *h, char *dev, size_t cap,
                     struct tc_err *err)
{
    static struct pick_mounts mounts; /* 22 KiB: kept off the stack */
    char path[PICK_PATH_MAX], list[PICK_LIST_MAX] = "", found[64] = "";
    struct pick_disk d;
    struct dirent *de;
    unsigned seen = 0, matches = 0;
    DIR *dir;

    load_mounts(sysroot, &mounts);
    snprintf(path, sizeof(path), "%s/sys/block", sysroot);
    dir = opendir(path);
    if (!dir) {
        int rc = -errno;
        return tc_err_set(err, rc, "cannot list disks in %s: %s", path, strerror(-rc));
    }
    while ((de = readdir(dir)) != NULL && seen < TC_DISKPICK_DISKS_MAX) {
        if (de->d_name[0] == '.' || disk_load(sysroot, de->d_name, &mounts, &d) < 0)
            continue;
        seen++;
        if (d.removable) {
            list_add(list, sizeof(list), &d, ", removable");
            continue;
        }
        if (d.busy) {
            list_add(list, sizeof(list), &d, ", mounted or in use");
            continue;
        }
        if (!disk_matches(&d, h)) {
            list_add(list, sizeof(list), &d, "");
            continue;
        }
        list_add(list, sizeof(list), &d, ", matches");
        if (matches++ == 0)
            snprintf(found, sizeof(found), "%s", d.name);
    }
    closedir(dir);
    if (matches == 0)
        return tc_err_set(err, -ENODEV, "no disk matches the hints; candidates: %s",
                          list[0] ? list : "none");
    if (matches > 1)
        return tc_err_set(err, -EEXIST,
                          "%u disks match the hints, need exactly one (add serial= or path=): %s",
                          matches, list);
    if (strlen(found) + 6 > cap)
        return tc_err_set(err, -E2BIG, "disk name %s is too long", found);
    snprintf(dev, cap, "/dev/%s", found);
    return 0;
}
