#!/usr/bin/env bash
# One agent starts after the others are half done: it completes with the
# right bytes, like everyone else, and the seeder exits 0 with 8 released.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder and agents n1..n7"
serve_start --rate "$NET_SLOW_RATE"
for i in 1 2 3 4 5 6 7; do
    agent_start "$i"
done
wait_progress n1 0.5

step "n8 joins late"
[ -z "$(node_json n8)" ] || die "n8 is in the session before it started"
agent_start 8
net_wait
net_check
[ "$(jq -r .joins seeder.json)" -ge 8 ] || die "the seeder counted $(jq -r .joins seeder.json) JOINs"
pass
