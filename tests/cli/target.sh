#!/usr/bin/env bash
# Targets that must be refused before anything is written: too small (exit 5,
# both sizes in the message), mounted, with a mounted partition, not a file
# or block device.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

keypair site
truncate -s 4M disk.img
head -c 300000 /dev/urandom | dd of=disk.img conv=notrunc status=none
ok pack --name small --chunk-size 64K disk.img img.tcimg
ok sign --key site.key img.tcimg

step "neither a regular file nor a block device"
fails 5 "/dev/null" "neither a block device nor a regular file" -- \
    unpack --trust trust img.tcimg /dev/null
mkdir adir
fails 5 "adir" -- unpack --trust trust img.tcimg adir
fails 5 "nosuchdir/x.img" -- unpack --trust trust img.tcimg nosuchdir/x.img

step "regular file on a file system with too little free space: exit 5, nothing created"
mkdir tiny
if mount -t tmpfs -o size=64k tmpfs tiny 2>/dev/null; then
    on_exit "umount $PWD/tiny"
    fails 5 "tiny/x.img" "bytes free" "the image needs" -- unpack --trust trust img.tcimg tiny/x.img
    [ ! -e tiny/x.img ] || die "a target was left behind on the full file system"
    umount tiny
else
    echo "SKIP: cannot mount a tmpfs here; free-space refusal not tested"
fi

if ! can_loop; then
    echo "SKIP: losetup does not work here; block device refusals not tested"
    exit 0
fi

step "block device too small: exit 5, both sizes, nothing written"
{ yes "old contents " || :; } | head -c 2M >small-backing.img
sum=$(sha small-backing.img)
loop_attach small-backing.img
dev=$LOOPDEV
fails 5 "$dev" "too small" "2097152 bytes" "4194304 bytes" -- unpack --trust trust img.tcimg "$dev"
losetup -d "$dev"
[ "$(sha small-backing.img)" = "$sum" ] || die "the too-small device was written to"

step "mounted block device: refused, nothing written"
if command -v mkfs.ext4 >/dev/null 2>&1 && mkdir -p mnt; then
    truncate -s 8M fs-backing.img
    mkfs.ext4 -q -F fs-backing.img
    loop_attach fs-backing.img
    dev=$LOOPDEV
    if mount "$dev" mnt 2>/dev/null; then
        on_exit "umount $W/mnt"
        fails 5 "$dev" "is mounted on" "mnt" -- unpack --trust trust img.tcimg "$dev"
        umount mnt
        # Not written: no marker at 0, the ext4 superblock magic (0xef53) intact.
        [ "$(head -c 19 fs-backing.img | tr -d '\0')" != "TREECAST-INPROGRESS" ] ||
            die "the mounted device got the in-progress marker"
        [ "$(od -An -tx1 -j 1080 -N2 fs-backing.img | tr -d ' ')" = 53ef ] ||
            die "the mounted device's file system was overwritten"
        ok unpack --trust trust img.tcimg "$dev"
        cmp -n 4194304 disk.img "$dev" || die "unpack to the unmounted device differs"
    else
        echo "SKIP: cannot mount here; mounted-device refusal not tested"
    fi
fi

step "whole disk with a mounted partition: refused"
truncate -s 16M part-backing.img
# An MBR with one Linux partition from sector 2048 to the end.
printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
    dd of=part-backing.img bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of=part-backing.img bs=1 seek=510 conv=notrunc status=none
loop_attach -P part-backing.img
dev=$LOOPDEV
for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -b "${dev}p1" ] && break
    sleep 0.2
done
if [ -b "${dev}p1" ] && mkfs.ext4 -q -F "${dev}p1" && mkdir -p pmnt && mount "${dev}p1" pmnt; then
    on_exit "umount $W/pmnt"
    fails 5 "$dev" "partition" "mounted on" "pmnt" -- unpack --trust trust img.tcimg "$dev"
    umount pmnt
else
    echo "SKIP: no partition device or cannot mount it; partition refusal not tested"
fi
echo "target: all good"
