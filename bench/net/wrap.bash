#!/bin/bash
# bench/net/wrap.bash CPUFILE CMD...: run CMD (inside a lab node, started by
# lab_run), prefix each line of its output with the time it was read (epoch
# seconds, microseconds), pass TERM and INT on to it, and when it has exited
# write "USER_S SYS_S RC END" to CPUFILE: the CPU seconds of CMD and of the
# children it waited for, its exit status and the time it ended. Exits with
# CMD's status. Used by bench/net/run and bench/demo/run.
set -u

[ $# -ge 2 ] || {
	echo "usage: wrap.bash CPUFILE CMD..." >&2
	exit 2
}
cpu=$1
shift

# stamp: copy stdin to stdout, each line prefixed with the time it was read.
stamp() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s %s\n' "$EPOCHREALTIME" "$line"
	done
}

child=''
trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT
"$@" > >(stamp) 2>&1 &
child=$!
rc=0
wait "$child" || rc=$?
# A trapped signal ends `wait` early: wait again until the command is gone.
while kill -0 "$child" 2>/dev/null; do
	rc=0
	wait "$child" || rc=$?
done
end=$EPOCHREALTIME
# `times` in this shell (a pipeline would run it in a subshell that has no
# children): line 2 is the children's user and system time, "1m2.345s".
times >"$cpu.times"
awk -v rc="$rc" -v end="$end" 'NR == 2 {
	split($1, u, /[ms]/); split($2, s, /[ms]/)
	printf "%.2f %.2f %d %s\n", u[1] * 60 + u[2], s[1] * 60 + s[2], rc, end }' \
	"$cpu.times" >"$cpu.tmp" && mv -f "$cpu.tmp" "$cpu"
rm -f "$cpu.times"
exit "$rc"
