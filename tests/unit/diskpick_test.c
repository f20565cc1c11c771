// SPDX-License-Identifier: MIT
/* Unit tests for os/diskpick.c against a fake /sys and /proc tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "treecast/diskpick.h"

/** The fake root of this test run. */
static char root[256];

/** Write text to root/rel, making its directories. */
static void put(const char *rel, const char *text)
{
    char path[512], cmd[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/** A disk: /sys/block/NAME a link into a devices tree, with attributes. */
static void disk(const char *name, const char *sectors, const char *model, const char *serial,
                 const char *removable, const char *dev)
{
    char rel[256], target[512], link[512];

    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/size", name);
    put(rel, sectors);
    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/removable", name);
    put(rel, removable);
    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/dev", name);
    put(rel, dev);
    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/device/model", name);
    put(rel, model);
    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/device/serial", name);
    put(rel, serial);
    snprintf(target, sizeof(target), "%s/sys/devices/pci0000:00/0000:00:1f.2/ata1/%s", root, name);
    snprintf(link, sizeof(link), "%s/sys/block", root);
    mkdir(link, 0755);
    snprintf(link, sizeof(link), "%s/sys/block/%s", root, name);
    assert_int_equal(symlink(target, link), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/diskpick_test.XXXXXX");
    assert_non_null(mkdtemp(root));
    /* sda 500 GB Samsung, sdb 1 TB Samsung (sdb1 mounted), sdc 500 GB WD,
     * sdd removable, loop0 never a candidate. */
    disk("sda", "976773168\n", "Samsung SSD 860  \n", "S3Z9NB0K111\n", "0\n", "8:0\n");
    disk("sdb", "1953525168\n", "Samsung SSD 870\n", "S5Y1NX0R222\n", "0\n", "8:16\n");
    put("sys/devices/pci0000:00/0000:00:1f.2/ata1/sdb/sdb1/partition", "1\n");
    put("sys/devices/pci0000:00/0000:00:1f.2/ata1/sdb/sdb1/dev", "8:17\n");
    disk("sdc", "976773168\n", "WDC WD5000\n", "WD-333\n", "0\n", "8:32\n");
    disk("sdd", "976773168\n", "Samsung SSD 860\n", "USB-444\n", "1\n", "8:48\n");
    disk("loop0", "976773168\n", "Samsung SSD 860\n", "L\n", "0\n", "7:0\n");
    put("proc/self/mountinfo", "22 1 8:17 / /data rw - ext4 /dev/sdb1 rw\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd);
}

/** Pick with hints s; returns rc, dev and the message. */
static int pick(const char *s, char *dev, struct tc_err *e)
{
    struct tc_diskpick_hints h;
    int rc;

    tc_err_clear(e);
    dev[0] = '\0';
    rc = tc_diskpick_parse(s, &h, e);
    if (rc < 0)
        return rc;
    return tc_diskpick_find(root, &h, dev, 64, e);
}

static void test_pick_one(void **state)
{
    struct tc_err e;
    char dev[64];

    (void)state;
    assert_int_equal(pick("model=Samsung,size=500G", dev, &e), 0);
    assert_string_equal(dev, "/dev/sda");
    assert_int_equal(pick("serial=WD-333", dev, &e), 0);
    assert_string_equal(dev, "/dev/sdc");
    assert_int_equal(pick("path=/dev/sdc", dev, &e), 0);
    assert_string_equal(dev, "/dev/sdc");
    assert_int_equal(pick("size=465Gi,model=WDC", dev, &e), 0);
    assert_string_equal(dev, "/dev/sdc");
}

static void test_pick_refused(void **state)
{
    struct tc_err e;
    char dev[64];

    (void)state;
    /* sda and sdc are 500 GB; sdd is removable, loop0 skipped */
    assert_int_equal(pick("size=500G", dev, &e), -EEXIST);
    assert_non_null(strstr(e.msg, "2 disks match"));
    assert_non_null(strstr(e.msg, "sdd (500107862016 bytes, 'Samsung SSD 860', serial 'USB-444', "
                                  "removable)"));
    assert_null(strstr(e.msg, "loop0"));
    /* sdb's partition is mounted */
    assert_int_equal(pick("serial=S5Y1NX0R222", dev, &e), -ENODEV);
    assert_non_null(strstr(e.msg, "sdb (1000204886016 bytes"));
    assert_non_null(strstr(e.msg, "mounted or in use"));
    assert_int_equal(pick("model=Intel", dev, &e), -ENODEV);
    assert_string_equal(dev, "");
}

static void test_parse(void **state)
{
    struct tc_diskpick_hints h;
    struct tc_err e;

    (void)state;
    assert_int_equal(tc_diskpick_parse("size=2T,serial=X", &h, &e), 0);
    assert_true(h.size == 2000000000000ull);
    assert_string_equal(h.serial, "X");
    assert_int_equal(tc_diskpick_parse("size=12Q", &h, &e), -EINVAL);
    tc_err_clear(&e);
    assert_int_equal(tc_diskpick_parse("colour=red", &h, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "unknown disk hint 'colour'"));
    assert_int_equal(tc_diskpick_parse(",,", &h, &e), -EINVAL);
    assert_int_equal(tc_diskpick_parse("model=", &h, &e), -EINVAL);
    assert_true(tc_diskpick_is_hints("size=1G"));
    assert_false(tc_diskpick_is_hints("/dev/sda"));
    assert_false(tc_diskpick_is_hints("/dev/disk/by-id/x=y"));
}

/** A partition PART of disk NAME (made by disk()) with device number dev. */
static void partition(const char *name, const char *part, const char *dev)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/%s/partition", name,
             part);
    put(rel, "1\n");
    snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/0000:00:1f.2/ata1/%s/%s/dev", name, part);
    put(rel, dev);
}

/** The fixture's root while a test runs on a tree of its own, or "". */
static char saved_root[256];

/** Switch root to a fresh fake tree; tree_teardown() goes back. */
static void tree_push(void)
{
    snprintf(saved_root, sizeof(saved_root), "%s", root);
    snprintf(root, sizeof(root), "/tmp/diskpick_test.XXXXXX");
    assert_non_null(mkdtemp(root));
}

/** Teardown of a test that called tree_push(): remove its tree, restore root
 * (also after a failed assertion, so that later tests see the fixture). */
static int tree_teardown(void **state)
{
    char cmd[300];
    int rc;

    (void)state;
    if (saved_root[0] == '\0')
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    rc = system(cmd);
    snprintf(root, sizeof(root), "%s", saved_root);
    saved_root[0] = '\0';
    return rc;
}

static void test_busy_partitions(void **state)
{
    struct tc_err e;
    char dev[64];

    (void)state;
    tree_push();
    /* Five 500 GB disks; only sde is free:
     *   sda  its partition sda2 is an LVM physical volume (held by dm-0)
     *   sdb  its partition sdb1 holds a mounted btrfs (mountinfo shows the
     *        anonymous device 0:45; the source names /dev/sdb1)
     *   sdc  its partition sdc2 is active swap
     *   sdd  the whole disk is a mounted btrfs (0:50, source /dev/sdd)
     *   sde  a partition, nothing on it */
    disk("sda", "976773168\n", "Disk A\n", "SA\n", "0\n", "8:0\n");
    partition("sda", "sda2", "8:2\n");
    put("sys/devices/pci0000:00/0000:00:1f.2/ata1/sda/sda2/holders/dm-0", "");
    disk("sdb", "976773168\n", "Disk B\n", "SB\n", "0\n", "8:16\n");
    partition("sdb", "sdb1", "8:17\n");
    disk("sdc", "976773168\n", "Disk C\n", "SC\n", "0\n", "8:32\n");
    partition("sdc", "sdc2", "8:34\n");
    disk("sdd", "976773168\n", "Disk D\n", "SD\n", "0\n", "8:48\n");
    disk("sde", "976773168\n", "Disk E\n", "SE\n", "0\n", "8:64\n");
    partition("sde", "sde1", "8:65\n");
    put("proc/self/mountinfo", "22 1 254:0 / / rw - ext4 /dev/mapper/vg-root rw\n"
                               "30 22 0:45 /@home /home rw - btrfs /dev/sdb1 rw,space_cache\n"
                               "31 22 0:50 / /srv rw shared:5 - btrfs /dev/sdd rw\n");
    put("proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                      "/dev/sdc2                               partition\t8388604\t\t0\t\t-2\n");

    assert_int_equal(pick("size=500G", dev, &e), 0);
    assert_string_equal(dev, "/dev/sde");
    assert_int_equal(pick("serial=SA", dev, &e), -ENODEV);
    assert_non_null(
        strstr(e.msg, "sda (500107862016 bytes, 'Disk A', serial 'SA', mounted or in use)"));
    assert_int_equal(pick("serial=SB", dev, &e), -ENODEV);
    assert_non_null(
        strstr(e.msg, "sdb (500107862016 bytes, 'Disk B', serial 'SB', mounted or in use)"));
    assert_int_equal(pick("serial=SC", dev, &e), -ENODEV);
    assert_non_null(
        strstr(e.msg, "sdc (500107862016 bytes, 'Disk C', serial 'SC', mounted or in use)"));
    assert_int_equal(pick("serial=SD", dev, &e), -ENODEV);
    assert_non_null(
        strstr(e.msg, "sdd (500107862016 bytes, 'Disk D', serial 'SD', mounted or in use)"));
    assert_string_equal(dev, "");
}

static void test_path_and_size_hints(void **state)
{
    struct tc_err e;
    char dev[64];

    (void)state;
    /* path= as a sysfs path substring: every disk of the fixture is on ata1. */
    assert_int_equal(pick("path=ata1,serial=S3Z9NB0K111", dev, &e), 0);
    assert_string_equal(dev, "/dev/sda");
    assert_int_equal(pick("path=ata9", dev, &e), -ENODEV);
    /* size= within 2 % of the hint: the 500.1 GB disk matches 491G and 510G, not 489G or 511G. */
    assert_int_equal(pick("size=491G,model=WDC", dev, &e), 0);
    assert_int_equal(pick("size=510G,model=WDC", dev, &e), 0);
    assert_int_equal(pick("size=489G,model=WDC", dev, &e), -ENODEV);
    assert_int_equal(pick("size=511G,model=WDC", dev, &e), -ENODEV);
    /* The model is trimmed of its padding, and serial matches exactly. */
    assert_int_equal(pick("model=Samsung SSD 860,size=500G", dev, &e), 0);
    assert_string_equal(dev, "/dev/sda");
    assert_int_equal(pick("serial=S3Z9NB0K11", dev, &e), -ENODEV);
    /* A name that does not fit the caller's buffer. */
    {
        struct tc_diskpick_hints h;
        char small[6];
        assert_int_equal(tc_diskpick_parse("serial=WD-333", &h, &e), 0);
        tc_err_clear(&e);
        assert_int_equal(tc_diskpick_find(root, &h, small, sizeof(small), &e), -E2BIG);
        assert_non_null(strstr(e.msg, "sdc"));
    }
}

static void test_parse_limits(void **state)
{
    struct tc_diskpick_hints h;
    char s[TC_DISKPICK_VALUE_MAX + 32];
    struct tc_err e;

    (void)state;
    /* A value of TC_DISKPICK_VALUE_MAX - 1 bytes fits, one more does not. */
    memset(s, 0, sizeof(s));
    memcpy(s, "model=", 6);
    memset(s + 6, 'm', TC_DISKPICK_VALUE_MAX - 1);
    assert_int_equal(tc_diskpick_parse(s, &h, &e), 0);
    assert_int_equal(strlen(h.model), TC_DISKPICK_VALUE_MAX - 1);
    s[6 + TC_DISKPICK_VALUE_MAX - 1] = 'm';
    tc_err_clear(&e);
    assert_int_equal(tc_diskpick_parse(s, &h, &e), -E2BIG);
    assert_non_null(strstr(e.msg, "127"));
    /* Sizes: binary suffixes, zero and overflow refused, the bad word named. */
    assert_int_equal(tc_diskpick_parse("size=1Ti", &h, &e), 0);
    assert_true(h.size == 1099511627776ull);
    tc_err_clear(&e);
    assert_int_equal(tc_diskpick_parse("size=0", &h, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "size=0"));
    assert_int_equal(tc_diskpick_parse("size=20000000T", &h, &e), -EINVAL);
    assert_int_equal(tc_diskpick_parse("size=99999999999999999999", &h, &e), -EINVAL);
    assert_int_equal(tc_diskpick_parse("size=1G,", &h, &e), 0);
    tc_err_clear(&e);
    assert_int_equal(tc_diskpick_parse("serial", &h, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "'serial' is not KEY=VALUE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_one),
        cmocka_unit_test(test_pick_refused),
        cmocka_unit_test(test_parse),
        cmocka_unit_test_teardown(test_busy_partitions, tree_teardown),
        cmocka_unit_test(test_path_and_size_hints),
        cmocka_unit_test(test_parse_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
