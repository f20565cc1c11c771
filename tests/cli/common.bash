# Sourced by every tests/cli/*.sh (this file is not a test: it does not end
# in .sh). The runner provides TREECAST (the binary), SRC and BUILD.
#
# Each test gets a private work directory, removed on exit (with any loop
# device or mount the test registered through on_exit).

set -euo pipefail

: "${TREECAST:?TREECAST must name the treecast binary}"
TREECAST=$(cd "$(dirname "$TREECAST")" && pwd)/$(basename "$TREECAST")

W=$(mktemp -d "${TMPDIR:-/tmp}/treecast-cli.XXXXXX")
_exit_hooks=()
# on_exit CMD: run CMD (eval'd) when the test ends, last registered first.
on_exit() { _exit_hooks+=("$1"); }
_cleanup() {
    local i
    for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do
        eval "${_exit_hooks[$i]}" >/dev/null 2>&1 || true
    done
    rm -rf "$W"
}
trap _cleanup EXIT
cd "$W"

# die MSG: fail the test.
die() {
    echo "FAIL: $*" >&2
    exit 1
}

# step MSG: say what the test does next (shows in the log of a failed test).
step() { echo "--- $*"; }

# ok ARGS...: run treecast ARGS, which must exit 0; its output is in out.txt
# and err.txt.
ok() {
    local rc=0
    "$TREECAST" "$@" >out.txt 2>err.txt || rc=$?
    if [ $rc -ne 0 ]; then
        cat out.txt err.txt
        die "treecast $*: exit $rc, expected 0"
    fi
}

# fails RC PATTERN... -- ARGS...: run treecast ARGS, which must exit RC with
# every PATTERN (fixed strings) in its stderr.
fails() {
    local want=$1 rc=0 p
    local pats=()
    shift
    while [ "$1" != "--" ]; do
        pats+=("$1")
        shift
    done
    shift
    "$TREECAST" "$@" >out.txt 2>err.txt || rc=$?
    if [ $rc -ne "$want" ]; then
        cat out.txt err.txt
        die "treecast $*: exit $rc, expected $want"
    fi
    for p in "${pats[@]}"; do
        if ! grep -qF -- "$p" err.txt; then
            cat err.txt
            die "treecast $*: stderr lacks '$p'"
        fi
    done
    if ! grep -q "^treecast: " err.txt; then
        cat err.txt
        die "treecast $*: error message not in the form 'treecast: <command>: ...'"
    fi
}

# has FILE PATTERN...: FILE contains every PATTERN (fixed strings).
has() {
    local f=$1 p
    shift
    for p in "$@"; do
        grep -qF -- "$p" "$f" || {
            cat "$f"
            die "$f lacks '$p'"
        }
    done
}

# sha FILE: its SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# flip FILE OFFSET: invert every bit of the byte at OFFSET.
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# make_fixture FILE: a 16 MiB image for 64 KiB chunks mixing random data, text
# and zeros: chunk 0 random (a boot sector stand-in), 1-15 zero, 16-31 random,
# 64-95 text, 160-169 random (unaligned), holes, and "END" as the last bytes.
make_fixture() {
    local f=$1
    rm -f "$f"
    truncate -s 16M "$f"
    head -c 65536 /dev/urandom | dd of="$f" conv=notrunc status=none
    head -c 1M /dev/urandom | dd of="$f" bs=1M seek=1 conv=notrunc status=none
    { yes "treecast fixture: the quick brown fox jumps over the lazy dog 0123456789" || :; } |
        head -c 2M | dd of="$f" bs=1M seek=4 conv=notrunc status=none
    head -c 600000 /dev/urandom | dd of="$f" bs=64K seek=$((10 * 1024 * 1024 + 12345)) \
        oflag=seek_bytes iflag=fullblock conv=notrunc status=none
    printf 'END' | dd of="$f" bs=1 seek=$((16 * 1024 * 1024 - 3)) conv=notrunc status=none
}

# json_field FILE KEY: the scalar value of "KEY": in FILE (a treecast JSON
# object, one key per line).
json_field() {
    sed -n "s/^ *\"$2\": \(\"\([^\"]*\)\"\|\([^,]*\)\),\{0,1\}$/\2\3/p" "$1" | head -n1
}

# json_valid FILE: parse it with python3 when there is one.
json_valid() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" ||
            die "$1 is not valid JSON"
    fi
}

# chunk_offset IMAGE INDEX: file offset of a chunk's stored bytes.
chunk_offset() {
    "$TREECAST" inspect --json --chunks "$1" |
        sed -n "s/.*\"index\": $2, \"enc\": \"[a-z]*\", \"offset\": \([0-9]*\),.*/\1/p"
}

# keypair BASE: make BASE.key/BASE.pub and put BASE.pub into trust store
# directory TRUST (default trust/); prints nothing, sets KEYID_<BASE>.
keypair() {
    local base=$1 dir=${2:-trust} id
    ok keygen --out "$base"
    id=$(sed -n 's/^key id: //p' out.txt)
    [ ${#id} -eq 64 ] || die "keygen printed no key id"
    mkdir -p "$dir"
    cp "$base.pub" "$dir/"
    eval "KEYID_${base//[^A-Za-z0-9_]/_}=$id"
}

# can_loop: losetup works here (root, loop devices present).
can_loop() {
    command -v losetup >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && [ -e /dev/loop-control ] &&
        truncate -s 1M "$W/.probe" && local d && d=$(losetup -f --show "$W/.probe" 2>/dev/null) &&
        losetup -d "$d" && rm -f "$W/.probe"
}

# loop_attach FILE [OPTIONS]: attach FILE to a loop device (detached when the
# test ends) and set LOOPDEV to its name. Not in $(...): the exit hook must be
# registered in the test's own shell.
loop_attach() {
    LOOPDEV=$(losetup -f --show "$@")
    on_exit "losetup -d $LOOPDEV"
}
