#!/usr/bin/env bash
# An agent killed with SIGKILL at about 50 %: its target's first 512 bytes
# are the in-progress marker ("TREECAST-INPROGRESS\n", include/treecast/disk.h)
# naming the image, never the image's first chunk, although later chunks are
# already written. Restarted, it completes like the others.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder and 8 agents"
serve_start --rate "$NET_SLOW_RATE"
agents_start
wait_progress n5 0.5

step "SIGKILL n5 at half way"
lab_kill n5 KILL
[ -f n5.img ] || die "n5 has no target"
head -c 20 n5.img >marker.bin
printf 'TREECAST-INPROGRESS\n' >want.bin
cmp -s marker.bin want.bin || die "n5's target does not start with the in-progress marker: $(head -c 32 n5.img | od -An -c | head -n 2)"
head -c 512 n5.img | grep -qaF "$IMG_NAME" || die "n5's in-progress marker does not name the image"
chunk=$((256 * 1024))
cmp -s <(head -c $chunk n5.img) <(head -c $chunk expect.img) && die "n5's first chunk is the image's first chunk"
# The test means something only if later chunks were written: count the
# non-zero chunks of the image that n5's target already holds.
same=0 data=0
head -c $chunk /dev/zero >zero.bin
for ((c = 1; c < CHUNKS; c++)); do
    dd if=expect.img bs=$chunk skip=$c count=1 status=none >want.bin
    cmp -s want.bin zero.bin && continue
    data=$((data + 1))
    if dd if=n5.img bs=$chunk skip=$c count=1 status=none | cmp -s - want.bin; then
        same=$((same + 1))
    fi
done
echo "n5: $same of the image's $data later non-zero chunks written when it was killed"
[ "$same" -gt 0 ] || die "n5 had written no data chunk at 50 %"
[ "$same" -lt "$data" ] || die "n5 had written every data chunk: it was not killed half way"

step "restart n5: everyone completes"
lab_restart n5
net_wait
net_check
pass
