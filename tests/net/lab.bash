# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lab.bash: a network namespace lab for treecast (sourced, not run).
#
# Used by tests/net/*.sh, `make demo` and bench/net/run. Everything the lab
# makes lives in network namespaces whose names start with LAB_PREFIX: the
# host's own interfaces, routes and nftables are never touched, and several
# labs with different prefixes run side by side without colliding.
#
#   switch namespace  $LAB_PREFIX-sw: bridge "br0" and one port per node
#   node namespaces   $LAB_PREFIX-NAME: interface "eth0" (a veth pair whose
#                     other end is port NAME of br0), loopback up, address
#                     ADDR/15 in 198.18.0.0/15, route 239.0.0.0/8 dev eth0
#
# Inside a node every program uses interface eth0 (treecast serve --iface eth0,
# treecast-agent --iface eth0). Interface names fit IFNAMSIZ (15 bytes): node
# names are at most LAB_NAME_MAX characters.
#
# Variables (set before lab_begin; all optional):
#   LAB_PREFIX       namespace prefix, [a-z0-9] only, 1..8 characters
#                    (default "tl" and the shell's PID)
#   LAB_MTU          link MTU of every veth and of the bridge, bytes (1500)
#   LAB_TBF_LATENCY  tbf queue limit as a delay (default 50ms)
#   LAB_MCAST_ROUTE  multicast route of every node (default 239.0.0.0/8)
#   LAB_QUERY_INTERVAL_CS  querier's interval, centiseconds (1000 = 10 s)
#   LAB_NO_TRAP      1: lab_begin sets no trap; the caller runs lab_cleanup
#
# Functions (each returns non-zero with a message on stderr when it fails):
#   lab_begin                  check the tools, make the switch namespace and
#                              bridge, install the cleanup trap (EXIT, INT,
#                              TERM; ERR prints where a command failed)
#   lab_on_exit CMD            run CMD (eval'd) at cleanup, last registered
#                              first: after the lab's processes were killed,
#                              before the namespaces are deleted
#   lab_node NAME ADDR         add a node namespace joined to the bridge
#   lab_up N                   lab_node seeder 198.18.0.1 and agents n1..nN at
#                              198.18.0.(10+i) (rogue nodes: 198.18.0.250..)
#   lab_ns NAME                print the node's namespace name
#   lab_addr NAME              print the node's address
#   lab_exec NAME CMD...       run CMD in the node's namespace (foreground)
#   lab_rate NAME RATE [BURST] tbf on the node's downlink (the bridge port's
#                              egress); for "seeder" on its uplink (its eth0)
#                              too. RATE as tc takes it (200mbit); BURST in
#                              bytes, default max(4 x MTU, 1 ms at RATE) and
#                              never below 2 x MTU. RATE "off" removes it.
#   lab_loss NAME PERCENT      drop PERCENT % (0.01 steps) of the UDP datagrams
#                              arriving at the node: nftables table
#                              "inet tclab" in its namespace, input hook,
#                              numgen random mod 10000; 0 removes it
#   lab_snooping on|off [2|3]  IGMP snooping of the bridge; with a version, the
#                              bridge is also an IGMPv2 or v3 querier (queries
#                              every LAB_QUERY_INTERVAL_CS centiseconds)
#   lab_block_igmp NAME on|off drop the node's outgoing IGMP (lost joins)
#   lab_mdb                    print the bridge's multicast database
#   lab_loss_count NAME        datagrams lab_loss dropped at NAME so far
#   lab_run NAME LOG CMD...    start CMD in the node's namespace in the
#                              background, stdout and stderr appended to LOG;
#                              sets LAB_PID and records it for NAME (one
#                              process per NAME; the command is kept for
#                              lab_restart)
#   lab_pid NAME               print the recorded PID of NAME's process
#   lab_kill NAME [SIGNAL]     send SIGNAL (default KILL) to NAME's process;
#                              for KILL and TERM, wait for it and record its
#                              exit status
#   lab_stop NAME / lab_cont NAME   SIGSTOP / SIGCONT
#   lab_restart NAME           start NAME's last command again (same LOG,
#                              appended), after it has exited
#   lab_wait SECONDS NAME...   wait for the processes of NAMEs to exit; each
#                              exit status goes to LAB_RC[NAME] (128 + signal
#                              if killed); returns 1 and names the ones still
#                              running when SECONDS pass
#   lab_running NAME           true while NAME's process runs
#   lab_cleanup                kill every recorded process (and any other
#                              process left in the lab's namespaces, by PID),
#                              delete the namespaces (their veths, bridge,
#                              qdiscs and nftables tables go with them)
#
# Example:
#   LAB_PREFIX=tdemo; source tests/net/lab.bash
#   lab_begin; lab_up 2; lab_rate n1 200mbit; lab_loss n2 2
#   lab_run n1 n1.log udp-receiver --interface eth0 --file n1.img
#   lab_wait 30 n1 && echo "n1 exited with ${LAB_RC[n1]}"

# Longest node name: the bridge port is named after the node (IFNAMSIZ 15).
LAB_NAME_MAX=12
# Most nodes of one lab (addresses 198.18.0.11 .. 198.18.0.245 for lab_up).
LAB_NODES_MAX=235
# Seconds lab_cleanup waits for a killed process to go.
LAB_KILL_WAIT_S=5
# The nftables table lab_loss makes inside a node's namespace.
LAB_NFT_TABLE=tclab

: "${LAB_PREFIX:=tl$$}"
: "${LAB_MTU:=1500}"
: "${LAB_TBF_LATENCY:=50ms}"
: "${LAB_NO_TRAP:=0}"
: "${LAB_MCAST_ROUTE:=239.0.0.0/8}"
: "${LAB_QUERY_INTERVAL_CS:=1000}"

declare -A LAB_PIDS=() LAB_CMDS=() LAB_LOGS=() LAB_RC=() LAB_ADDRS=()
LAB_NODES=()
LAB_SW=""
LAB_PID=""
_lab_hooks=()
_lab_cleaned=0

# _lab_err MSG: say what failed, on stderr.
_lab_err() { echo "lab: $*" >&2; }

# lab_ns NAME: the namespace of node NAME.
lab_ns() { echo "$LAB_PREFIX-$1"; }

# lab_addr NAME: the node's address.
lab_addr() { echo "${LAB_ADDRS[$1]}"; }

# lab_exec NAME CMD...: run CMD in the node's namespace.
lab_exec() {
    local ns
    ns=$(lab_ns "$1")
    shift
    ip netns exec "$ns" "$@"
}

# _lab_sw CMD...: run CMD in the switch namespace.
_lab_sw() { ip netns exec "$LAB_SW" "$@"; }

# lab_on_exit CMD: run CMD at cleanup.
lab_on_exit() { _lab_hooks+=("$1"); }

# lab_begin: tools, switch namespace, bridge, trap.
lab_begin() {
    local t
    for t in ip tc nft; do
        command -v "$t" >/dev/null 2>&1 || {
            _lab_err "$t is not installed (iproute2, nftables)"
            return 1
        }
    done
    [ "$(id -u)" -eq 0 ] || {
        _lab_err "network namespaces need root"
        return 1
    }
    [[ $LAB_PREFIX =~ ^[a-z0-9]{1,8}$ ]] || {
        _lab_err "LAB_PREFIX '$LAB_PREFIX' must be 1..8 characters of [a-z0-9]"
        return 1
    }
    if ! { [[ $LAB_MTU =~ ^[0-9]+$ ]] && [ "$LAB_MTU" -ge 1280 ] && [ "$LAB_MTU" -le 9000 ]; }; then
        _lab_err "LAB_MTU '$LAB_MTU' must be from 1280 to 9000"
        return 1
    fi
    if [ "$LAB_NO_TRAP" != 1 ]; then
        trap lab_cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap '_lab_err "command failed (status $?) at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND"' ERR
    fi
    LAB_SW=$(lab_ns sw)
    if ip netns list | grep -q "^$LAB_SW\b"; then
        _lab_err "namespace $LAB_SW exists already: another lab uses prefix $LAB_PREFIX"
        return 1
    fi
    ip netns add "$LAB_SW" || {
        _lab_err "cannot create namespace $LAB_SW"
        return 1
    }
    LAB_NODES+=(sw)
    _lab_sw ip link set lo up
    _lab_sw ip link add br0 type bridge mcast_snooping 0
    _lab_sw ip link set br0 mtu "$LAB_MTU"
    _lab_sw ip link set br0 up
}

# lab_node NAME ADDR: a namespace with eth0 at ADDR/15, joined to br0.
lab_node() {
    local name=$1 addr=$2 ns
    if ! { [[ $name =~ ^[a-z][a-z0-9]*$ ]] && [ ${#name} -le $LAB_NAME_MAX ] && [ "$name" != sw ]; }; then
        _lab_err "node name '$name': 1..$LAB_NAME_MAX characters of [a-z0-9], not 'sw'"
        return 1
    fi
    [[ $addr =~ ^198\.(18|19)\.[0-9]+\.[0-9]+$ ]] || {
        _lab_err "node $name: address '$addr' is not in 198.18.0.0/15"
        return 1
    }
    [ -n "$LAB_SW" ] || {
        _lab_err "lab_node before lab_begin"
        return 1
    }
    ns=$(lab_ns "$name")
    ip netns add "$ns" || {
        _lab_err "cannot create namespace $ns"
        return 1
    }
    LAB_NODES+=("$name")
    LAB_ADDRS[$name]=$addr
    _lab_sw ip link add "$name" mtu "$LAB_MTU" type veth peer name eth0 mtu "$LAB_MTU" netns "$ns"
    _lab_sw ip link set "$name" master br0
    _lab_sw ip link set "$name" up
    lab_exec "$name" ip link set lo up
    lab_exec "$name" ip addr add "$addr/15" dev eth0
    lab_exec "$name" ip link set eth0 up
    lab_exec "$name" ip route add "$LAB_MCAST_ROUTE" dev eth0
}

# lab_up N: the seeder and agents n1..nN.
lab_up() {
    local n=$1 i
    if ! { [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le $LAB_NODES_MAX ]; }; then
        _lab_err "lab_up: '$n' agents: must be 1..$LAB_NODES_MAX"
        return 1
    fi
    lab_node seeder 198.18.0.1
    for ((i = 1; i <= n; i++)); do
        lab_node "n$i" "198.18.0.$((10 + i))"
    done
    lab_settle
}

# lab_settle: wait (at most 5 s) until every node's eth0 is up and its
# address usable (IPv4 needs no DAD, but the veth carrier takes a moment).
lab_settle() {
    local name tries
    for name in "${LAB_NODES[@]}"; do
        [ "$name" = sw ] && continue
        for ((tries = 0; tries < 50; tries++)); do
            lab_exec "$name" ip -br link show eth0 | grep -q LOWER_UP && break
            sleep 0.1
        done
    done
}

# _lab_tbf DEV-RUNNER DEV RATE BURST: replace DEV's root qdisc.
_lab_tbf() {
    local runner=$1 dev=$2 rate=$3 burst=$4
    "$runner" tc qdisc del dev "$dev" root >/dev/null 2>&1 || true
    [ "$rate" = off ] && return 0
    "$runner" tc qdisc add dev "$dev" root tbf rate "$rate" burst "$burst" latency "$LAB_TBF_LATENCY" || {
        _lab_err "tbf rate $rate burst $burst on $dev failed"
        return 1
    }
}

# _lab_rate_bps RATE: tc's rate syntax in bit/s (bit, kbit, mbit, gbit).
_lab_rate_bps() {
    local r=${1,,}
    case "$r" in
    *gbit) echo $((${r%gbit} * 1000000000)) ;;
    *mbit) echo $((${r%mbit} * 1000000)) ;;
    *kbit) echo $((${r%kbit} * 1000)) ;;
    *bit) echo "${r%bit}" ;;
    *) return 1 ;;
    esac
}

# lab_rate NAME RATE [BURST]: tbf on the node's downlink (and the seeder's uplink).
lab_rate() {
    local name=$1 rate=$2 burst=${3:-} bps min
    [ -n "${LAB_ADDRS[$name]:-}" ] || {
        _lab_err "lab_rate: no node '$name'"
        return 1
    }
    if [ "$rate" != off ]; then
        bps=$(_lab_rate_bps "$rate") || {
            _lab_err "lab_rate $name: rate '$rate' is not N[k|m|g]bit"
            return 1
        }
        min=$((2 * LAB_MTU + 28))
        if [ -z "$burst" ]; then
            burst=$((bps / 8 / 1000))
            [ "$burst" -ge $((4 * LAB_MTU)) ] || burst=$((4 * LAB_MTU))
        fi
        [ "$burst" -ge "$min" ] || {
            _lab_err "lab_rate $name: burst $burst bytes is below 2 x MTU ($min)"
            return 1
        }
    fi
    _lab_tbf _lab_sw "$name" "$rate" "$burst"
    if [ "$name" = seeder ]; then
        _lab_tbf "_lab_in_seeder" eth0 "$rate" "$burst"
    fi
}

# _lab_in_seeder CMD...: run CMD in the seeder's namespace.
_lab_in_seeder() { lab_exec seeder "$@"; }

# lab_loss NAME PERCENT: random loss of incoming UDP in the node.
lab_loss() {
    local name=$1 pct=$2 per10k
    [ -n "${LAB_ADDRS[$name]:-}" ] || {
        _lab_err "lab_loss: no node '$name'"
        return 1
    }
    [[ $pct =~ ^[0-9]+(\.[0-9]{1,2})?$ ]] || {
        _lab_err "lab_loss $name: '$pct' is not a percentage with at most 2 decimals"
        return 1
    }
    # Hundredths of a percent, without floating point.
    local whole=${pct%%.*} frac=0
    [[ $pct == *.* ]] && frac=${pct#*.}
    [ ${#frac} -eq 1 ] && frac=${frac}0
    per10k=$((10#$whole * 100 + 10#$frac))
    [ "$per10k" -le 10000 ] || {
        _lab_err "lab_loss $name: $pct % is above 100 %"
        return 1
    }
    lab_exec "$name" nft delete table inet "$LAB_NFT_TABLE" >/dev/null 2>&1 || true
    [ "$per10k" -eq 0 ] && return 0
    lab_exec "$name" nft -f - <<EOF || {
table inet $LAB_NFT_TABLE {
    chain input {
        type filter hook input priority 0; policy accept;
        meta l4proto udp numgen random mod 10000 < $per10k counter drop
    }
}
EOF
        _lab_err "lab_loss $name: nft table inet $LAB_NFT_TABLE not loaded"
        return 1
    }
}

# lab_loss_count NAME: datagrams lab_loss dropped at the node so far.
lab_loss_count() {
    lab_exec "$1" nft list table inet "$LAB_NFT_TABLE" 2>/dev/null |
        sed -n 's/.*counter packets \([0-9]*\) bytes.*/\1/p' | head -n1
}

# lab_snooping on|off [2|3]: bridge IGMP snooping, and a querier of that version.
lab_snooping() {
    local on=$1 ver=${2:-}
    case "$on" in
    on) on=1 ;;
    off) on=0 ;;
    *)
        _lab_err "lab_snooping: '$on' is not on or off"
        return 1
        ;;
    esac
    if [ -n "$ver" ]; then
        [[ $ver =~ ^[23]$ ]] || {
            _lab_err "lab_snooping: IGMP version '$ver' is not 2 or 3"
            return 1
        }
        # The querier needs an address to send from: the bridge gets one.
        _lab_sw ip addr add 198.19.255.254/15 dev br0 2>/dev/null || true
        _lab_sw ip link set br0 type bridge mcast_snooping "$on" mcast_querier 1 \
            mcast_igmp_version "$ver" mcast_query_interval "$LAB_QUERY_INTERVAL_CS" mcast_query_response_interval 500 \
            mcast_startup_query_interval 250 mcast_query_use_ifaddr 1
    else
        _lab_sw ip link set br0 type bridge mcast_snooping "$on" mcast_querier 0
    fi
}

# lab_block_igmp NAME on|off: drop (or stop dropping) the IGMP reports the
# node sends: its joins are lost until a querier asks again after "off", or
# the program re-joins (nftables table "inet tclabigmp", output hook).
lab_block_igmp() {
    local name=$1 on=$2
    lab_exec "$name" nft delete table inet "${LAB_NFT_TABLE}igmp" >/dev/null 2>&1 || true
    case "$on" in
    off) return 0 ;;
    on) ;;
    *)
        _lab_err "lab_block_igmp: '$on' is not on or off"
        return 1
        ;;
    esac
    lab_exec "$name" nft -f - <<EOF2 || {
table inet ${LAB_NFT_TABLE}igmp {
    chain output {
        type filter hook output priority 0; policy accept;
        meta l4proto igmp counter drop
    }
}
EOF2
        _lab_err "lab_block_igmp $name: nft table not loaded"
        return 1
    }
}

# lab_mdb: the bridge's multicast database (which ports joined which group).
lab_mdb() { _lab_sw bridge mdb show; }

# lab_run NAME LOG CMD...: start CMD in the node, in the background.
lab_run() {
    local name=$1 log=$2 ns q
    shift 2
    [ -n "${LAB_ADDRS[$name]:-}" ] || {
        _lab_err "lab_run: no node '$name'"
        return 1
    }
    if lab_running "$name"; then
        _lab_err "lab_run $name: process ${LAB_PIDS[$name]} still runs"
        return 1
    fi
    ns=$(lab_ns "$name")
    # ip netns exec execs the command: $! is the program's own PID.
    ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
    LAB_PID=$!
    LAB_PIDS[$name]=$LAB_PID
    LAB_LOGS[$name]=$log
    printf -v q '%q ' "$@"
    LAB_CMDS[$name]=$q
    unset "LAB_RC[$name]"
}

# lab_pid NAME: its process's PID.
lab_pid() { echo "${LAB_PIDS[$1]:-}"; }

# _lab_alive PID: the process exists and is not a zombie.
_lab_alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}

# lab_running NAME: its process runs.
lab_running() {
    local pid=${LAB_PIDS[$1]:-}
    [ -n "$pid" ] && [ -z "${LAB_RC[$1]:-}" ] && _lab_alive "$pid"
}

# _lab_reap NAME: collect the exit status of NAME's (exited) process.
_lab_reap() {
    local rc=0
    wait "${LAB_PIDS[$1]}" 2>/dev/null || rc=$?
    LAB_RC[$1]=$rc
}

# lab_kill NAME [SIGNAL]: signal NAME's process.
lab_kill() {
    local name=$1 sig=${2:-KILL} pid i
    pid=${LAB_PIDS[$name]:-}
    [ -n "$pid" ] || {
        _lab_err "lab_kill: no process for '$name'"
        return 1
    }
    kill -s "$sig" "$pid" 2>/dev/null || true
    case "$sig" in
    KILL | TERM | INT | 9 | 15 | 2)
        # SIGKILL takes a moment; TERM and INT give the program time to exit.
        for ((i = 0; i < LAB_KILL_WAIT_S * 10; i++)); do
            _lab_alive "$pid" || break
            sleep 0.1
        done
        if _lab_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        _lab_reap "$name"
        ;;
    esac
}

# lab_stop NAME, lab_cont NAME: pause and resume.
lab_stop() { lab_kill "$1" STOP; }
lab_cont() { lab_kill "$1" CONT; }

# lab_restart NAME: run NAME's last command again.
lab_restart() {
    local name=$1 ns log
    [ -n "${LAB_CMDS[$name]:-}" ] || {
        _lab_err "lab_restart: '$name' never ran"
        return 1
    }
    if lab_running "$name"; then
        _lab_err "lab_restart $name: process ${LAB_PIDS[$name]} still runs"
        return 1
    fi
    [ -n "${LAB_RC[$name]:-}" ] || _lab_reap "$name"
    ns=$(lab_ns "$name")
    log=${LAB_LOGS[$name]}
    eval "set -- ${LAB_CMDS[$name]}"
    ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
    LAB_PID=$!
    LAB_PIDS[$name]=$LAB_PID
    unset "LAB_RC[$name]"
}

# lab_wait SECONDS NAME...: wait for the processes to exit.
lab_wait() {
    local secs=$1 name left end
    shift
    end=$((SECONDS + secs))
    while :; do
        left=()
        for name in "$@"; do
            [ -n "${LAB_RC[$name]:-}" ] && continue
            [ -n "${LAB_PIDS[$name]:-}" ] || {
                _lab_err "lab_wait: no process for '$name'"
                return 1
            }
            if _lab_alive "${LAB_PIDS[$name]}"; then
                left+=("$name")
            else
                _lab_reap "$name"
            fi
        done
        [ ${#left[@]} -eq 0 ] && return 0
        if [ $SECONDS -ge $end ]; then
            _lab_err "still running after $secs s: ${left[*]}"
            return 1
        fi
        sleep 0.2
    done
}

# lab_cleanup: kill, delete, forget (idempotent).
lab_cleanup() {
    local i name pid ns pids=()
    [ "$_lab_cleaned" = 1 ] && return 0
    _lab_cleaned=1
    trap - ERR
    for name in "${!LAB_PIDS[@]}"; do
        pid=${LAB_PIDS[$name]}
        [ -n "${LAB_RC[$name]:-}" ] && continue
        kill -KILL "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    # Anything else still running in our namespaces (a child a program forked).
    for name in "${LAB_NODES[@]}"; do
        ns=$(lab_ns "$name")
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
            pids+=("$pid")
        done
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < LAB_KILL_WAIT_S * 10; i++)); do
            _lab_alive "$pid" || break
            sleep 0.1
        done
        wait "$pid" 2>/dev/null || true
    done
    for ((i = ${#_lab_hooks[@]} - 1; i >= 0; i--)); do
        eval "${_lab_hooks[$i]}" || true
    done
    # Nodes first: deleting a namespace deletes its veth ends, qdiscs, nft tables.
    for ((i = ${#LAB_NODES[@]} - 1; i >= 0; i--)); do
        ns=$(lab_ns "${LAB_NODES[$i]}")
        ip netns delete "$ns" 2>/dev/null || _lab_err "could not delete namespace $ns"
    done
    LAB_NODES=()
    LAB_PIDS=()
}
