#!/usr/bin/env bash
# A rogue namespace runs $FORGE for the whole session: forged DATA blocks for
# every chunk to the group (from the seeder's own source address, as an
# attacker on the LAN can send them) and to the agents, forged control messages to the
# agents (WELCOME, CHILDREN, REPARENT, EPOCH, DONE_ACK, RELEASE, REJECT) and
# to the seeder (JOIN, REPORT, DONE). Nothing wrong is written: every node
# completes with the right bytes; the seeder and the agents counted forged
# datagrams, the agents refused forged blocks, the seeder rejected the forged
# JOINs.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

[[ -n ${FORGE:-} && -x $FORGE ]] || die "FORGE must name the forge program (tests/net/forge.c)"

step "image and lab, plus a rogue node"
net_image 32
net_lab 8
lab_node rogue 198.18.0.250

step "seeder, the rogue, 8 agents"
serve_start --rate 30M
lab_run rogue "$W/rogue.log" "$FORGE" --iface eth0 --group "$GROUP" --port "$PORT" \
    --seeder "$SEEDER_ADDR:$PORT" --agents 198.18.0.11-198.18.0.18 --rate 300 \
    --spoof "$SEEDER_ADDR"
agents_start
net_wait
lab_running rogue || die "the forger exited early (${LAB_RC[rogue]:-?}): $(tail -n 5 rogue.log)"
lab_kill rogue TERM
net_check

step "the forgeries were sent, seen and dropped"
cat rogue.log
grep -q '^forge: sent [1-9][0-9]* datagrams' rogue.log || die "the forger reports nothing sent"
grep -q 'data [1-9]' rogue.log || die "the forger sent no DATA blocks"
seeder_forged=$(jq -r .rx_forged seeder.json)
[ "$seeder_forged" -gt 0 ] || die "the seeder counted no forged datagram"
forged=0 dropped=0 segs=0
for i in 1 2 3 4 5 6 7 8; do
    forged=$((forged + $(agent_stat "$i" rx_forged)))
    segs=$((segs + $(agent_stat "$i" segs_bad)))
    # A forged block is refused by its segment hash (segs_bad) or, outside
    # the object the manifest describes, by its place (rx_bad).
    dropped=$((dropped + $(agent_stat "$i" segs_bad) + $(agent_stat "$i" rx_bad)))
done
echo "seeder rx_forged $seeder_forged; agents rx_forged $forged, segs_bad $segs, segs_bad + rx_bad $dropped"
[ "$forged" -gt 0 ] || die "no agent counted a forged datagram"
[ "$dropped" -gt 0 ] || die "no agent refused a forged block"
[ "$(jq -r .rejects seeder.json)" -gt 0 ] || die "the seeder rejected none of the forged JOINs"
pass
