#!/usr/bin/env bash
# The seeder is SIGKILLed mid-transfer and restarted with the same --state:
# it logs "resuming session", every node completes with the right bytes,
# every program exits 0, and the state file is gone after the --once exit.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "image and lab"
net_image 32
net_lab 8

step "seeder and 8 agents"
serve_start --rate "$NET_SLOW_RATE"
agents_start
wait_progress n1 0.35
sid=$(api /api/v1/session | jq -r .session_id)
[[ -n $sid && $sid != null ]] || die "GET /api/v1/session gave no session_id"

step "SIGKILL the seeder (session $sid), restart it"
lab_kill seeder KILL
exit_is seeder 137
[ -s img.tcimg.state ] || die "the seeder left no state file img.tcimg.state"
grep -qF "resuming session" seeder.log && die "the first seeder already said 'resuming session'"
sleep 1
lab_restart seeder

step "every node completes"
net_wait
grep -qF "resuming session $sid from $W/img.tcimg.state" seeder.log ||
    grep -qF "resuming session $sid" seeder.log || {
    grep 'treecast serve:' seeder.log | tail -n 20
    die "the restarted seeder did not log 'resuming session $sid'"
}
net_check
[ ! -e img.tcimg.state ] || die "the state file is still there after a --once exit with every node released"
[ "$(jq -r .session_id seeder.json)" = "$sid" ] || die "the restarted seeder ran session $(jq -r .session_id seeder.json), not $sid"
[ "$(jq -r .epoch seeder.json)" -ge 2 ] || die "the restarted seeder's epoch is $(jq -r .epoch seeder.json), expected >= 2"
pass
