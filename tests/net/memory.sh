#!/usr/bin/env bash
# Memory bound: one agent receives a 256 MiB image of mostly random
# (incompressible) data in 4 MiB chunks, the agent's largest buffers, over an
# unshaped link with the seeder at 1 Gbit/s. The target's SHA-256 must be the
# image's and the agent's peak RSS (--stats max_rss_kib, getrusage) at most
# 64 MiB (docs/agent.md "Memory"); the measured figure is printed.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# Image size, and the random part of it (the rest is a zero tail), MiB.
MEM_IMAGE_MIB=256
MEM_RANDOM_MIB=240
# Chunk size: 4M is the largest the network carries.
MEM_CHUNK=${MEM_CHUNK:-4M}
# The agent's RSS bound, KiB (64 MiB).
MEM_RSS_MAX_KIB=65536
# Seeder rate, bit/s (treecast serve --rate).
MEM_RATE=1G
# zlib level for packing: random data does not compress; level 1 tries fastest.
MEM_LEVEL=1

step "image: $MEM_IMAGE_MIB MiB, $MEM_RANDOM_MIB MiB of it random, $MEM_CHUNK chunks"
truncate -s "${MEM_IMAGE_MIB}M" raw.img
head -c "$((MEM_RANDOM_MIB * 1024 * 1024))" /dev/urandom | dd of=raw.img conv=notrunc status=none
EXPECT_SHA=$(sha raw.img)
tc_ok keygen --out site
mkdir -p trust
cp site.pub trust/
tc_ok pack --name "$IMG_NAME" --version 1 --chunk-size "$MEM_CHUNK" --level "$MEM_LEVEL" raw.img img.tcimg
tc_ok sign --key site.key img.tcimg
rm -f raw.img
IMG=$W/img.tcimg
tc_ok inspect --json img.tcimg
RAW_BYTES=$(jq -r .raw_size tc.out)
STORED_BYTES=$(jq -r .stored_bytes tc.out)
CHUNKS=$(jq -r .chunk_count tc.out)
[ "$RAW_BYTES" -eq $((MEM_IMAGE_MIB * 1024 * 1024)) ] || die "the image holds $RAW_BYTES bytes, expected $MEM_IMAGE_MIB MiB"
# Mostly incompressible: at least 90 % of the random part is stored as is.
[ "$STORED_BYTES" -ge $((MEM_RANDOM_MIB * 1024 * 1024 * 9 / 10)) ] ||
    die "only $STORED_BYTES bytes stored: the image compressed, the test would not load the agent"
echo "image: $RAW_BYTES bytes in $CHUNKS chunks, $STORED_BYTES stored, sha256 $EXPECT_SHA"

step "lab (unshaped links), seeder at $MEM_RATE, one agent"
NODES=1
lab_up 1
serve_start --rate "$MEM_RATE"
agent_start 1
t0=$SECONDS
net_wait
secs=$((SECONDS - t0))

step "target, exit codes, RSS"
net_check
rss=$(agent_stat 1 max_rss_kib)
if ! [[ $rss =~ ^[1-9][0-9]*$ ]]; then
    die "n1's stats give max_rss_kib '$rss'"
fi
echo "agent peak RSS: $rss KiB ($((rss / 1024)) MiB) for a $((RAW_BYTES >> 20)) MiB image in $MEM_CHUNK chunks"
[ "$rss" -le "$MEM_RSS_MAX_KIB" ] || die "n1's peak RSS is $rss KiB, over the $MEM_RSS_MAX_KIB KiB bound"
# Every random chunk went through the agent's buffers to the disk.
written=$(agent_stat 1 bytes_written)
[ "$written" -ge $((MEM_RANDOM_MIB * 1024 * 1024)) ] || die "n1 wrote only $written bytes"
pass
echo "ok: $((RAW_BYTES >> 20)) MiB image ($STORED_BYTES bytes stored, $MEM_CHUNK chunks) received in ${secs} s at --rate $MEM_RATE; agent max_rss_kib $rss <= $MEM_RSS_MAX_KIB; target sha256 ok"
