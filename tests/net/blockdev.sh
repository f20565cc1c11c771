#!/usr/bin/env bash
# Block-device targets: three agents with --disk /dev/loopN.
#   n1  a loop device over a file full of random bytes (larger than the
#       image): its first RAW_BYTES equal `treecast unpack` of the image, and
#       every zero chunk reads as zeros although garbage was there before.
#   n2  a loop device holding a mounted ext4: refused before any write (exit
#       5, the message names the mount point; the device's first bytes and
#       the file system are untouched).
#   n3  a loop device smaller than the image: refused (exit 5, "too small"),
#       and nothing written to it.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# Bytes of random garbage after the image on n1's device (a sparse tail
# would not show a write past the image), and n3's device size: MiB.
GOOD_TAIL_MIB=4
SMALL_MIB=8
# The mounted file system's size, MiB.
MNT_MIB=32
# Bytes at offset 0 of the mounted device that ext4 never uses (its
# superblock starts at 1024): a canary there shows any write by the agent.
CANARY_LEN=1024

for t in losetup mkfs.ext4 mount umount cmp; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed"
done

# loop_new FILE: attach FILE to a free loop device, set LOOP_DEV to its path,
# and detach it at cleanup (not in a subshell: the hook must be registered).
loop_new() {
    local q
    LOOP_DEV=$(losetup -f --show "$1") || die "losetup -f --show $1 failed"
    printf -v q '%q' "$LOOP_DEV"
    lab_on_exit "losetup -d $q 2>/dev/null || true"
}

# agent_disk I DEV: treecast-agent in node nI writing to DEV (--disk).
agent_disk() {
    local i=$1 dev=$2
    lab_run "n$i" "$W/n$i.log" "$AGENT" --cmdline /dev/null --seeder "$SEEDER_ADDR:$PORT" \
        --image "$IMG_NAME" --disk "$dev" --iface eth0 --handoff none \
        --trust "$W/trust" --stats "$W/n$i.json" --log info
}

# dev_sha DEV BYTES: SHA-256 of the first BYTES of DEV.
dev_sha() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }

step "image and lab"
net_image 32
net_lab 3
CHUNK_BYTES=$(jq -r .chunk_size tc.out)
tc_ok inspect --json --chunks "$IMG"
mapfile -t ZERO_CHUNKS < <(jq -r '.chunk_list[] | select(.enc == "zero") | .index' tc.out)
[ "${#ZERO_CHUNKS[@]}" -gt 0 ] || die "the image has no zero chunk: the test would prove nothing"

step "loop devices"
# n1: random bytes over the whole device, so a zero chunk that were skipped
# instead of zeroed would show.
head -c "$((RAW_BYTES + GOOD_TAIL_MIB * 1024 * 1024))" /dev/urandom >good.bak
loop_new good.bak
GOOD=$LOOP_DEV
GOOD_SIZE=$(blockdev --getsize64 "$GOOD")
TAIL_SHA=$(tail -c "$((GOOD_SIZE - RAW_BYTES))" good.bak | sha256sum | cut -d' ' -f1)
# n2: ext4, mounted, a canary before its superblock.
truncate -s "${MNT_MIB}M" mnt.bak
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 mnt.bak
head -c "$CANARY_LEN" /dev/urandom | dd of=mnt.bak conv=notrunc status=none
loop_new mnt.bak
MNT_DEV=$LOOP_DEV
mkdir mnt
mount "$MNT_DEV" "$W/mnt"
lab_on_exit "umount $(printf %q "$W/mnt") 2>/dev/null || umount -l $(printf %q "$W/mnt") 2>/dev/null || true"
echo "canary file" >mnt/canary
sync
CANARY_SHA=$(dev_sha "$MNT_DEV" "$CANARY_LEN")
# n3: smaller than the image, random bytes.
head -c "$((SMALL_MIB * 1024 * 1024))" /dev/urandom >small.bak
loop_new small.bak
SMALL=$LOOP_DEV
SMALL_SHA=$(dev_sha "$SMALL" "$((SMALL_MIB * 1024 * 1024))")
echo "n1 $GOOD ($GOOD_SIZE bytes), n2 $MNT_DEV (mounted on $W/mnt), n3 $SMALL ($SMALL_MIB MiB)"

step "seeder and 3 agents"
serve_start --rate 100M --min-nodes 1
agent_disk 2 "$MNT_DEV"
agent_disk 3 "$SMALL"
agent_disk 1 "$GOOD"
net_wait

step "n2: mounted device refused"
exit_is n2 5
[ "$(agent_stat 2 exit_code)" = 5 ] || die "n2's stats say exit_code $(agent_stat 2 exit_code)"
grep -q "mounted on $W/mnt" n2.log || die "n2's log does not name the mount point $W/mnt"
agent_stat 2 error | grep -q "$W/mnt" || die "n2's stats error does not name the mount point: $(agent_stat 2 error)"
[ "$(dev_sha "$MNT_DEV" "$CANARY_LEN")" = "$CANARY_SHA" ] || die "n2's device changed before its superblock"
[ "$(cat mnt/canary)" = "canary file" ] || die "the file on n2's mounted file system changed"

step "n3: too small device refused"
exit_is n3 5
[ "$(agent_stat 3 exit_code)" = 5 ] || die "n3's stats say exit_code $(agent_stat 3 exit_code)"
SMALL_BYTES=$((SMALL_MIB * 1024 * 1024))
grep -q "too small.*$SMALL.* $SMALL_BYTES bytes" n3.log ||
    die "n3's log does not say that $SMALL ($SMALL_BYTES bytes) is too small"
[ "$(dev_sha "$SMALL" "$((SMALL_MIB * 1024 * 1024))")" = "$SMALL_SHA" ] || die "n3's device was written to"

step "n1: the image on the device"
exit_is seeder 0
exit_is n1 0
[ "$(agent_stat 1 exit_code)" = 0 ] || die "n1's stats say exit_code $(agent_stat 1 exit_code)"
got=$(dev_sha "$GOOD" "$RAW_BYTES")
[ "$got" = "$EXPECT_SHA" ] || die "n1's device holds SHA-256 $got over the image's $RAW_BYTES bytes, expected $EXPECT_SHA"
[ "$(tail -c "$((GOOD_SIZE - RAW_BYTES))" good.bak | sha256sum | cut -d' ' -f1)" = "$TAIL_SHA" ] ||
    die "n1's device changed after the image's end"
for c in "${ZERO_CHUNKS[@]}"; do
    cmp -s -n "$CHUNK_BYTES" <(dd if="$GOOD" bs="$CHUNK_BYTES" skip="$c" count=1 status=none) /dev/zero ||
        die "zero chunk $c does not read as zeros on $GOOD"
done
written=$(agent_stat 1 bytes_written)
zero_bytes=$((${#ZERO_CHUNKS[@]} * CHUNK_BYTES))
# Zero chunks are zeroed (BLKZEROOUT), not written: bytes_written counts the rest, once.
[ "$written" -eq $((RAW_BYTES - zero_bytes)) ] ||
    die "n1 wrote $written bytes, expected the $((RAW_BYTES - zero_bytes)) bytes of the non-zero chunks"
[ "$(jq -r .nodes_released seeder.json)" -ge 1 ] || die "the seeder released no node"
pass
echo "ok: loop device $GOOD holds the $RAW_BYTES-byte image (${#ZERO_CHUNKS[@]} zero chunks read as zeros over random bytes, $written bytes written, $zero_bytes zeroed); mounted device refused (exit 5, names $W/mnt); $SMALL_MIB MiB device refused (exit 5, untouched)"
