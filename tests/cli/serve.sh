#!/usr/bin/env bash
# treecast serve without a network beyond loopback: --help, usage errors (bad
# --rate, a --group that is not multicast, no rate for a link of unknown
# speed), a missing or corrupt image, an unsigned one, a missing interface, no
# multicast route, a port in use; then a session on loopback (--tree-only):
# the HTTP status endpoint, SIGTERM (exit 0, --stats written, state kept).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# serve_fails RC PATTERN... -- ARGS...: `treecast serve ARGS` must exit RC
# with every PATTERN (fixed strings) in its stderr.
serve_fails() {
    local want=$1 rc=0 p
    local pats=()
    shift
    while [ "$1" != "--" ]; do
        pats+=("$1")
        shift
    done
    shift
    timeout 20 "$TREECAST" serve "$@" >out.txt 2>err.txt || rc=$?
    if [ $rc -ne "$want" ]; then
        cat out.txt err.txt
        die "treecast serve $*: exit $rc, expected $want"
    fi
    for p in "${pats[@]}"; do
        grep -qF -- "$p" err.txt || {
            cat err.txt
            die "treecast serve $*: stderr lacks '$p'"
        }
    done
}

# wait_log FILE PATTERN PID: wait (10 s at most) until FILE has PATTERN while
# PID lives.
wait_log() {
    local i
    for ((i = 0; i < 100; i++)); do
        grep -qF -- "$2" "$1" && return 0
        kill -0 "$3" 2>/dev/null || {
            cat "$1"
            die "treecast serve exited before saying '$2'"
        }
        sleep 0.1
    done
    cat "$1"
    die "treecast serve did not say '$2' within 10 s"
}

# A port unlikely to be taken, and the HTTP one after it.
PORT=$((20000 + RANDOM % 20000))
HTTP_PORT=$((PORT + 1))
LO=(--iface lo --addr 127.0.0.1 --port "$PORT" --trust trust)

step "an image to serve"
keypair site
make_fixture disk.img
ok pack --name demo --version 1 --chunk-size 64K disk.img demo.tcimg
cp demo.tcimg unsigned.tcimg
ok sign --key site.key demo.tcimg

step "--help"
ok serve --help
has out.txt "Usage: treecast serve IMAGE.tcimg --iface IF" "--rate RATE|auto" "--http ADDR:PORT" \
    "--state FILE" "--once" "--stats FILE"

step "usage errors: exit 2, naming the option"
serve_fails 2 "--iface IF is required" -- --trust trust demo.tcimg
serve_fails 2 "--rate 'fast'" -- "${LO[@]}" --rate fast demo.tcimg
serve_fails 2 "--rate '-5M'" -- "${LO[@]}" --rate -5M demo.tcimg
serve_fails 2 "--rate '10X'" -- "${LO[@]}" --rate 10X demo.tcimg
serve_fails 2 "--group 10.1.2.3 is not a multicast address" -- "${LO[@]}" --rate 100M \
    --group 10.1.2.3 demo.tcimg
serve_fails 2 "--group '239.1'" -- "${LO[@]}" --rate 100M --group 239.1 demo.tcimg
serve_fails 2 "--port '70000'" -- --iface lo --trust trust --port 70000 demo.tcimg
serve_fails 2 "--log-level 'loud'" -- "${LO[@]}" --rate 1M --log-level loud demo.tcimg
serve_fails 2 "unknown option '--frobnicate'" -- "${LO[@]}" --frobnicate demo.tcimg
serve_fails 2 "--trust" -- --iface lo --rate 1M demo.tcimg
serve_fails 2 "expected one IMAGE.tcimg, got 0" -- "${LO[@]}" --rate 1M

step "no --rate on a link of unknown speed (lo): exit 2, asking for it"
serve_fails 2 "--rate is required: the speed of lo is unknown" -- "${LO[@]}" --tree-only \
    demo.tcimg
serve_fails 2 "--rate auto needs --rate-max" -- "${LO[@]}" --tree-only --rate auto demo.tcimg

step "missing image, corrupt image: exit 6, naming the file"
serve_fails 6 "nothere.tcimg" -- "${LO[@]}" --rate 1M nothere.tcimg
head -c 100000 /dev/urandom >junk.tcimg
serve_fails 6 "junk.tcimg" -- "${LO[@]}" --rate 1M junk.tcimg
head -c 3000 demo.tcimg >short.tcimg
serve_fails 6 "short.tcimg" -- "${LO[@]}" --rate 1M short.tcimg

step "unsigned image: exit 4 (agents would refuse it)"
serve_fails 4 "unsigned" -- "${LO[@]}" --rate 1M unsigned.tcimg

step "no such interface: exit 3, naming it"
serve_fails 3 "no interface named tsvnope0" -- --iface tsvnope0 --trust trust --rate 1M demo.tcimg

step "no multicast route (lo has no IFF_MULTICAST): exit 3"
if ! ip link show lo | grep -q MULTICAST; then
    serve_fails 3 "multicast" "lo" "--tree-only" -- "${LO[@]}" --rate 1M demo.tcimg
fi

step "a session on loopback: starts, answers HTTP"
"$TREECAST" serve "${LO[@]}" --rate 10M --tree-only --http "127.0.0.1:$HTTP_PORT" \
    --stats stats.json demo.tcimg >serve.out 2>serve.err &
pid=$!
on_exit "kill $pid"
wait_log serve.err "treecast serve: serving demo.tcimg" "$pid"
has serve.err "treecast serve: status on http://127.0.0.1:$HTTP_PORT/api/v1/session"
[ ! -s serve.out ] || die "serve wrote to stdout: $(cat serve.out)"

if command -v curl >/dev/null 2>&1; then
    base="http://127.0.0.1:$HTTP_PORT"
    curl -sS -o session.json -w '%{http_code} %{content_type}\n' "$base/api/v1/session" >code.txt
    has code.txt "200 application/json"
    json_valid session.json
    [ "$(json_field session.json state)" = waiting ] || die "session state: $(cat session.json)"
    [ "$(json_field session.json nodes_total)" = 0 ] || die "nodes_total: $(cat session.json)"
    [ "$(json_field session.json epoch)" = 1 ] || die "epoch: $(cat session.json)"
    [[ $(json_field session.json session_id) =~ ^[0-9a-f]{16}$ ]] || die "session_id"
    has session.json '"image": {"name": "demo", "version": "1", "digest": "' \
        '"raw_bytes": 16777216' '"chunks": 256}' '"rate_bps": 10000000' '"tx_wire_bytes": 0'
    curl -sS -o nodes.json -w '%{http_code}\n' "$base/api/v1/nodes" >code.txt
    has code.txt 200
    json_valid nodes.json
    [ "$(cat nodes.json)" = "[]" ] || die "nodes: $(cat nodes.json)"
    curl -sS -o metrics.txt -w '%{http_code} %{content_type}\n' "$base/metrics" >code.txt
    has code.txt "200 text/plain; version=0.0.4"
    has metrics.txt "# TYPE treecast_mcast_bytes_total counter" "treecast_mcast_bytes_total 0" \
        "# HELP treecast_rx_forged_total" 'treecast_nodes{state="active"} 0' \
        'treecast_session_info{session_id="' 'image="demo",version="1"} 1' \
        "treecast_image_chunks 256"
    curl -sS -o /dev/null -w '%{http_code}\n' "$base/nothere" >code.txt
    has code.txt 404
    curl -sS -o /dev/null -w '%{http_code}\n' -X POST "$base/metrics" >code.txt
    has code.txt 405
fi

step "port in use: exit 3, naming the address"
serve_fails 3 "127.0.0.1:$PORT is in use" -- "${LO[@]}" --rate 1M --tree-only demo.tcimg
step "HTTP port in use: exit 3"
serve_fails 3 "HTTP 127.0.0.1:$HTTP_PORT is in use" -- --iface lo --addr 127.0.0.1 \
    --port $((PORT + 2)) --trust trust --rate 1M --tree-only --http "127.0.0.1:$HTTP_PORT" \
    demo.tcimg

step "SIGTERM: exit 0, says where the state is, writes --stats"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ $rc -eq 0 ] || {
    cat serve.err
    die "serve exited $rc after SIGTERM, expected 0"
}
has serve.err "treecast serve: stopped by SIGTERM; the session state is in demo.tcimg.state"
json_valid stats.json
[ "$(json_field stats.json state)" = stopped ] || die "stats state: $(cat stats.json)"
has stats.json '"nodes": []' '"nodes_released": 0'
if grep -v '^treecast serve: ' serve.err | grep -q .; then
    cat serve.err
    die "serve printed a line without the 'treecast serve: ' prefix"
fi

echo "PASS serve"
