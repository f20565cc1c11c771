#!/usr/bin/env bash
# An agent killed mid-transfer and restarted resumes by content: its stats say
# it found chunks already on the target ("chunks_held" > 0), and the seeder's
# counters for it show it was not sent the whole image again.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder and 8 agents"
serve_start --rate "$NET_SLOW_RATE"
agents_start
wait_progress n3 0.5

step "kill n3 at half way, restart it"
lab_kill n3 KILL
cp n3.json n3-first.json 2>/dev/null || true
sleep 1
lab_restart n3
net_wait
net_check

step "n3 resumed by content"
held=$(agent_stat 3 chunks_held)
echo "n3 held $held of $CHUNKS chunks at its restart"
[ "$held" -gt 0 ] || die "n3 found no chunk on its target at its restart (chunks_held $held)"
[ "$held" -lt "$CHUNKS" ] || die "n3 held all $CHUNKS chunks: it was not killed mid-transfer"
node=$(stats_node n3)
[ -n "$node" ] || die "the seeder's stats list no node at $(lab_addr n3)"
covered=$(jq -r .covered_chunks <<<"$node")
repair=$(jq -r .repair_bytes <<<"$node")
echo "seeder: n3 covered for $covered chunks since its re-JOIN, $repair bytes unicast to it"
[ "$covered" -lt "$CHUNKS" ] || die "n3 was covered for $covered chunks after its re-JOIN: the whole image ($CHUNKS) again"
[ "$repair" -lt "$STORED_BYTES" ] || die "the seeder unicast $repair bytes to n3: the whole image ($STORED_BYTES) again"
# Stronger: the multicast rounds after its re-JOIN did not cover it for the
# chunks it said it held.
[ "$covered" -le $((CHUNKS - held)) ] || die "n3 was covered for $covered chunks after its re-JOIN, but held $held of $CHUNKS"
pass
