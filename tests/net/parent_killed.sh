#!/usr/bin/env bash
# An interior parent (a node with children in the seeder's tree, fan-out 2)
# is killed with SIGKILL mid-transfer: every other node still completes with
# the right bytes; restarted, the killed node completes too, and the seeder
# exits 0 with all 8 released.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder (fan-out 2) and 8 agents"
serve_start --rate "$NET_SLOW_RATE" --fanout 2
agents_start
victim=$(interior_node)
children=$(api /api/v1/nodes | jq -r --arg v "$(lab_addr "$victim")" '
    (if type == "array" then . else .nodes end) as $n
    | ($n[] | select((.addr | split(":")[0]) == $v) | .index) as $i
    | [$n[] | select(.parent == $i)] | length')
echo "interior parent: $victim with $children children"
[ "$children" -ge 1 ] || die "$victim has no children"
wait_progress "$victim" 0.3

step "kill $victim mid-transfer"
lab_kill "$victim" KILL
others=()
for ((i = 1; i <= NODES; i++)); do
    [ "n$i" = "$victim" ] || others+=("n$i")
done
wait_done "${others[@]}"
# Those already gone (released while the victim was dead) went with exit 0.
for name in "${others[@]}"; do
    if ! lab_running "$name"; then
        lab_wait 1 "$name"
        exit_is "$name" 0
    fi
done

step "restart $victim: it completes too"
lab_restart "$victim"
net_wait
net_check
pass
