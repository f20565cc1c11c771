# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Sourced by every tests/net/*.sh (not a test itself: it does not end in .sh).
# The runner provides TREECAST (the seeder/CLI), AGENT (the static
# treecast-agent), FORGE (tests/net/forge), SRC and BUILD, and runs each test
# as root in a fresh empty directory.
#
# A test: net_image packs and signs a generated image and unpacks it once
# (EXPECT_SHA); net_lab N builds the namespace lab (lab.bash) with the seeder
# and agents n1..nN on shaped links; serve_start and agent_start run the
# programs in their namespaces; net_wait waits for them; net_check asserts
# every target's SHA-256 and every exit code. Work files (image, targets,
# logs, --stats JSON) are in $W; a failed test prints the tail of every log.
#
# Knobs (environment): NET_LINK link rate of every node (default 200mbit),
# NET_KEEP=1 keeps $W.

set -euo pipefail

: "${TREECAST:?TREECAST must name the treecast binary}"
: "${AGENT:?AGENT must name the treecast-agent binary}"
_abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
TREECAST=$(_abs "$TREECAST")
AGENT=$(_abs "$AGENT")
[ -z "${FORGE:-}" ] || FORGE=$(_abs "$FORGE")
NET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NET_TEST=$(basename "$0" .sh)

# Seeder address, HTTP port, session port and group (the contract's defaults).
SEEDER_ADDR=198.18.0.1
HTTP_PORT=8080
PORT=4711
# shellcheck disable=SC2034 # used by the tests
GROUP=239.77.0.1
# Image: name, chunk size, and the share of random (incompressible) data.
IMG_NAME=nettest
IMG_CHUNK=256K
# Seeder --rate of the tests that act mid-transfer (a 32 MiB image then takes
# about 10 s), bit/s.
# shellcheck disable=SC2034 # used by the tests
NET_SLOW_RATE=12M
# Seconds a whole session may take before the test fails (runner: 150 s each).
NET_SESSION_S=100
# Seconds to wait for a node to reach a progress mark.
NET_PROGRESS_S=60
: "${NET_LINK:=200mbit}"
: "${NET_KEEP:=0}"

W=$(mktemp -d "${TMPDIR:-/tmp}/treecast-net-$NET_TEST.XXXXXX")
cd "$W"
NODES=0
_net_failed=1

# die MSG: fail the test.
die() {
    echo "FAIL: $NET_TEST: $*" >&2
    exit 1
}

# step MSG: say what the test does next.
step() { echo "--- $NET_TEST: $*"; }

# _net_end: on failure show the logs; then remove the work directory.
_net_end() {
    local f
    if [ "$_net_failed" = 1 ]; then
        for f in "$W"/*.log; do
            [ -f "$f" ] || continue
            echo "=== $(basename "$f") (last 25 lines)"
            tail -n 25 "$f"
        done
    fi
    if [ "$NET_KEEP" = 1 ]; then
        echo "work directory kept: $W"
    else
        rm -rf "$W"
    fi
}

# A per-test prefix: several tests (and the demo, the benchmark) may run at once.
# shellcheck disable=SC2034 # read by lab.bash
LAB_PREFIX=${NET_LAB_PREFIX:-tn$(printf %x $(($$ & 0xffffff)))}
# shellcheck source=SCRIPTDIR/lab.bash
source "$NET_DIR/lab.bash"
lab_begin || die "cannot build the lab"
lab_on_exit _net_end

command -v jq >/dev/null 2>&1 || die "jq is not installed (the tests read the JSON with it)"
command -v curl >/dev/null 2>&1 || die "curl is not installed"

# pass: the test's last line.
pass() {
    _net_failed=0
    echo "$NET_TEST: all good"
}

# sha FILE: its SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# tc_ok ARGS...: run treecast ARGS (exit 0 required), output in tc.out.
tc_ok() {
    "$TREECAST" "$@" >tc.out 2>&1 || {
        cat tc.out
        die "treecast $*: exit $?"
    }
}

# net_image MIB: a MIB MiB image (chunk 0 random as a boot sector stand-in,
# then random, text and zero extents), packed, signed and unpacked once.
# Sets IMG (the .tcimg), EXPECT_SHA, RAW_BYTES, CHUNKS, STORED_BYTES.
net_image() {
    local mib=$1 rnd txt
    rnd=$((mib * 45 / 100))
    txt=$((mib * 30 / 100))
    rm -f raw.img
    truncate -s "${mib}M" raw.img
    head -c "$((rnd))M" /dev/urandom | dd of=raw.img conv=notrunc status=none
    { yes "treecast net test $NET_TEST: the quick brown fox jumps over the lazy dog 0123456789" || :; } |
        head -c "$((txt))M" | dd of=raw.img bs=1M seek=$((rnd + 1)) conv=notrunc status=none
    printf 'END' | dd of=raw.img bs=1 seek=$((mib * 1024 * 1024 - 3)) conv=notrunc status=none
    tc_ok keygen --out site
    mkdir -p trust
    cp site.pub trust/
    tc_ok pack --name "$IMG_NAME" --version 1 --chunk-size "$IMG_CHUNK" raw.img img.tcimg
    tc_ok sign --key site.key img.tcimg
    tc_ok unpack --trust trust img.tcimg expect.img
    IMG=$W/img.tcimg
    EXPECT_SHA=$(sha expect.img)
    [ "$EXPECT_SHA" = "$(sha raw.img)" ] || die "treecast unpack does not give the input back"
    rm -f raw.img
    tc_ok inspect --json img.tcimg
    RAW_BYTES=$(jq -r .raw_size tc.out)
    CHUNKS=$(jq -r .chunk_count tc.out)
    STORED_BYTES=$(stat -c %s img.tcimg)
    echo "image: $mib MiB, $CHUNKS chunks, $STORED_BYTES bytes stored, sha256 $EXPECT_SHA"
}

# net_lab N: seeder and N agents, every link at NET_LINK.
net_lab() {
    local i
    NODES=$1
    lab_up "$NODES"
    lab_rate seeder "$NET_LINK"
    for ((i = 1; i <= NODES; i++)); do
        lab_rate "n$i" "$NET_LINK"
    done
}

# serve_start ARGS...: treecast serve in the seeder namespace (--once, the
# status endpoint on $SEEDER_ADDR:$HTTP_PORT, --stats seeder.json, --state in
# $W) with extra ARGS. The log is seeder.log.
serve_start() {
    lab_run seeder "$W/seeder.log" "$TREECAST" serve "$IMG" --iface eth0 --addr "$SEEDER_ADDR" \
        --trust "$W/trust" --http "$SEEDER_ADDR:$HTTP_PORT" --stats "$W/seeder.json" \
        --state "$W/img.tcimg.state" --once --min-nodes "$NODES" --log-level info "$@"
}

# agent_start I ARGS...: treecast-agent in node nI, target nI.img, --stats
# nI.json, log nI.log, extra ARGS.
agent_start() {
    local i=$1
    shift
    lab_run "n$i" "$W/n$i.log" "$AGENT" --cmdline /dev/null --seeder "$SEEDER_ADDR:$PORT" \
        --image "$IMG_NAME" --target "$W/n$i.img" --iface eth0 --handoff none \
        --trust "$W/trust" --stats "$W/n$i.json" --log info "$@"
}

# agents_start: agents n1..nN.
agents_start() {
    local i
    for ((i = 1; i <= NODES; i++)); do
        agent_start "$i"
    done
}

# all_names: seeder n1 .. nN.
all_names() {
    local i
    echo seeder
    for ((i = 1; i <= NODES; i++)); do
        echo "n$i"
    done
}

# net_wait_for NAMES...: wait for them to exit.
net_wait_for() {
    lab_wait "$NET_SESSION_S" "$@" || die "the session did not end within $NET_SESSION_S s"
}

# net_wait: wait for the seeder and every agent to exit.
net_wait() {
    local names
    mapfile -t names < <(all_names)
    net_wait_for "${names[@]}"
}

# exit_is NAME RC: NAME's process exited with RC.
exit_is() {
    [ "${LAB_RC[$1]:-}" = "$2" ] || die "$1 exited with ${LAB_RC[$1]:-?}, expected $2"
}

# target_ok I: node I's target holds exactly the image.
target_ok() {
    local got
    [ -f "$W/n$1.img" ] || die "n$1 wrote no target"
    got=$(sha "$W/n$1.img")
    [ "$got" = "$EXPECT_SHA" ] || die "n$1's target has SHA-256 $got, expected $EXPECT_SHA ($(stat -c %s "$W/n$1.img") bytes, image $RAW_BYTES)"
}

# net_check_except [I...]: every agent (except nodes nI) and the seeder
# exited 0, every agent's target holds the image, its stats say exit_code 0,
# and the seeder's stats count them released.
# shellcheck disable=SC2120 # the tests pass the nodes to skip
net_check_except() {
    local i s skip=" $* "
    exit_is seeder 0
    for ((i = 1; i <= NODES; i++)); do
        [[ $skip == *" $i "* ]] && continue
        exit_is "n$i" 0
        target_ok "$i"
        [ "$(agent_stat "$i" exit_code)" = 0 ] || die "n$i's stats say exit_code $(agent_stat "$i" exit_code)"
    done
    [ -f "$W/seeder.json" ] || die "the seeder wrote no --stats file"
    s=$(jq -r .nodes_released "$W/seeder.json")
    [ "$s" -ge $((NODES - $#)) ] || die "the seeder released $s nodes, expected $((NODES - $#)) at least"
}

# net_check: the same for every agent.
# shellcheck disable=SC2119
net_check() { net_check_except; }

# api PATH: GET the seeder's status endpoint (from inside its namespace).
api() { lab_exec seeder curl -sf --max-time 2 "http://$SEEDER_ADDR:$HTTP_PORT$1"; }

# node_json NAME: the seeder's /api/v1/nodes entry of node NAME (by address;
# the newest if it joined more than once), or nothing.
node_json() {
    local a
    a=$(lab_addr "$1")
    api /api/v1/nodes 2>/dev/null | jq -c --arg a "$a" \
        '[(if type == "array" then . else .nodes end)[] | select((.addr | split(":")[0]) == $a)] | last // empty'
}

# stats_node NAME: the same entry from the seeder's --stats file.
stats_node() {
    jq -c --arg a "$(lab_addr "$1")" \
        '[.nodes[] | select((.addr | split(":")[0]) == $a)] | last // empty' "$W/seeder.json"
}

# progress NAME: the node's progress (0..1) as the seeder sees it, or -1.
progress() {
    local j
    j=$(node_json "$1")
    if [ -n "$j" ]; then
        jq -r '.progress' <<<"$j"
    else
        echo -1
    fi
}

# wait_progress NAME FRACTION: wait until the node's progress passes FRACTION.
wait_progress() {
    local name=$1 frac=$2 end p
    end=$((SECONDS + NET_PROGRESS_S))
    while [ $SECONDS -lt $end ]; do
        p=$(progress "$name")
        if awk -v p="$p" -v f="$frac" 'BEGIN { exit !(p >= f) }'; then
            echo "$name at progress $p"
            return 0
        fi
        if ! lab_running "$name"; then
            # it may have finished between two looks (exit 0 after RELEASE)
            lab_wait 5 "$name" || true
            if [ "${LAB_RC[$name]:-}" = 0 ]; then
                echo "$name finished (exit 0) before we saw progress $frac"
                return 0
            fi
            die "$name exited (${LAB_RC[$name]:-?}) before progress $frac"
        fi
        sleep 0.1
    done
    die "$name did not reach progress $frac within $NET_PROGRESS_S s (last: $p)"
}

# wait_done NAME...: wait until the seeder sees each node at progress 1.
wait_done() {
    local name
    for name in "$@"; do
        wait_progress "$name" 1
    done
}

# node_of_index INDEX: the lab node name whose address the seeder lists for
# node INDEX (from /api/v1/nodes), or nothing.
node_of_index() {
    local a i
    a=$(api /api/v1/nodes 2>/dev/null | jq -r --argjson x "$1" \
        '[(if type == "array" then . else .nodes end)[] | select(.index == $x)] | last | .addr // empty' |
        cut -d: -f1)
    for ((i = 1; i <= NODES; i++)); do
        [ "$(lab_addr "n$i")" = "$a" ] && echo "n$i" && return 0
    done
    return 0
}

# interior_node: wait until the seeder's tree has a node with children and
# print its lab name.
interior_node() {
    local end idx name
    end=$((SECONDS + NET_PROGRESS_S))
    while [ $SECONDS -lt $end ]; do
        idx=$(api /api/v1/nodes 2>/dev/null | jq -r \
            '(if type == "array" then . else .nodes end) | map(.parent) | map(select(. >= 0)) | first // empty')
        if [ -n "$idx" ]; then
            name=$(node_of_index "$idx")
            [ -n "$name" ] && echo "$name" && return 0
        fi
        sleep 0.2
    done
    die "the seeder's /api/v1/nodes never showed a node with children"
}

# agent_stat I KEY: a field of node I's --stats JSON.
agent_stat() {
    [ -f "$W/n$1.json" ] || die "n$1 wrote no --stats file"
    jq -r ".$2" "$W/n$1.json"
}
