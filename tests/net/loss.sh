#!/usr/bin/env bash
# 8 agents with 2 % random loss of incoming UDP each (nftables numgen): every
# target holds the image and every program exits 0; the loss was real (the
# nft counters dropped datagrams) and repaired (the agents received repair
# blocks).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab, 2 % loss on every agent"
net_image 32
net_lab 8
for i in 1 2 3 4 5 6 7 8; do
    lab_loss "n$i" 2
done

step "seeder and 8 agents"
serve_start --rate 100M
agents_start
net_wait

step "targets, exit codes, loss and repairs"
net_check
repaired=0
for i in 1 2 3 4 5 6 7 8; do
    dropped=$(lab_loss_count "n$i")
    [ "${dropped:-0}" -gt 0 ] || die "n$i: nftables dropped nothing: the loss was not applied"
    repaired=$((repaired + $(agent_stat "$i" repair_blocks_rx)))
done
[ "$repaired" -gt 0 ] || die "no agent received a repair block despite the loss"
echo "repair blocks received: $repaired"
pass
