#!/usr/bin/env bash
# serve --tree-only: no multicast; the data flows down the tree by unicast.
# Every target holds the image, every program exits 0, and the seeder sent
# nothing to the group.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder (--tree-only) and 8 agents"
serve_start --tree-only --rate 100M
agents_start
net_wait

step "targets, exit codes, no multicast"
net_check
mcast=$(jq -r .mcast_bytes seeder.json)
[ "$mcast" -eq 0 ] || die "a tree-only seeder multicast $mcast bytes"
stream=$(jq -r .stream_bytes seeder.json)
[ "$stream" -gt 0 ] || die "a tree-only seeder streamed $stream bytes"
pass
