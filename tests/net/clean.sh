#!/usr/bin/env bash
# 8 agents, no loss, links at 200 Mbit/s: every target holds the image, every
# program exits 0, the seeder counts 8 nodes done and released, and the
# session did not need repairs for more than a few percent of the image.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder and 8 agents"
serve_start --rate 100M
agents_start
net_wait

step "targets, exit codes, counters"
net_check
[ "$(jq -r .nodes_done seeder.json)" -eq 8 ] || die "nodes_done is $(jq -r .nodes_done seeder.json), expected 8"
[ "$(jq -r .nodes_failed seeder.json)" -eq 0 ] || die "nodes_failed is $(jq -r .nodes_failed seeder.json)"
[ "$(jq -r '.nodes | length' seeder.json)" -eq 8 ] || die "the stats list $(jq -r '.nodes | length' seeder.json) nodes"
mcast=$(jq -r .mcast_bytes seeder.json)
[ "$mcast" -gt 0 ] || die "mcast_bytes is $mcast: nothing went out by multicast"
# No loss: one multicast copy of the stored image (plus the rounds' slack)
# does it; repairs are a small fraction.
repair=$(jq -r .repair_bytes seeder.json)
[ "$repair" -lt $((STORED_BYTES / 10)) ] || die "repair_bytes $repair on a lossless link (image $STORED_BYTES bytes stored)"
for i in 1 2 3 4 5 6 7 8; do
    [ "$(agent_stat "$i" state)" != null ] || die "n$i's stats have no state"
    [ "$(agent_stat "$i" rx_forged)" -eq 0 ] || die "n$i counted forged datagrams on a clean lab"
done
pass
