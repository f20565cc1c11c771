#!/usr/bin/env bash
# Every command's --help exits 0 and says how to call it; missing or bad
# arguments exit 2 with a message in the form "treecast: <command>: ...".
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

commands="keygen pack sign verify inspect unpack revoke"

step "treecast --help lists every command; --version names the backends"
ok --help
for c in $commands; do
    grep -q "^  $c " out.txt || die "--help does not list $c"
done
ok --version
has out.txt "treecast " "mbed TLS" "zlib" "config:"
fails 2 "unknown command 'frobnicate'" -- frobnicate
rc=0
"$TREECAST" >out.txt 2>err.txt || rc=$?
[ $rc -eq 2 ] || die "no command: exit $rc, expected 2"
has err.txt "Usage: treecast COMMAND"

step "each command's --help"
for c in $commands; do
    ok "$c" --help
    has out.txt "Usage: treecast $c"
    ok help "$c"
    has out.txt "Usage: treecast $c"
done

step "missing arguments and bad options: exit 2 with a message"
fails 2 "treecast: keygen: --out BASE is required" -- keygen
fails 2 "keygen:" "--type must be ecdsa-p256 or rsa-3072" -- keygen --type dsa --out x
fails 2 "pack:" "expected IN and OUT.tcimg, got 0 arguments" -- pack
fails 2 "pack:" "expected IN and OUT.tcimg, got 1 argument" -- pack in.img
fails 2 "pack:" "--chunk-size '100K' must be a power of two" -- pack --chunk-size 100K a b
fails 2 "pack:" "--chunk-size" -- pack --chunk-size 32M a b
fails 2 "pack:" "--name" -- pack --name "bad name" a b
fails 2 "pack:" "--level" -- pack --level 11 a b
fails 2 "pack:" "--threads" -- pack --threads lots a b
fails 2 "pack:" "--not-after 'soon'" -- pack --not-after soon a b
fails 2 "pack:" "a boot section needs --kernel" -- pack --initrd x a b
fails 2 "sign:" "--key BASE.key is required" -- sign x.tcimg
fails 2 "sign:" "expected one IMAGE.tcimg" -- sign --key k.key
fails 2 "verify:" "--trust DIR is required" -- verify x.tcimg
fails 2 "verify:" "expected one IMAGE.tcimg" -- verify --trust t
fails 2 "verify:" "--min-signatures" -- verify --trust t --min-signatures 0 x.tcimg
fails 2 "verify:" "--min-version" -- verify --trust t --min-version "1 2" x.tcimg
fails 2 "inspect:" "expected one IMAGE.tcimg, got 0" -- inspect
fails 2 "unpack:" "--trust DIR is required" -- unpack x.tcimg t.img
fails 2 "unpack:" "expected IMAGE.tcimg and TARGET, got 1 argument" -- unpack --trust t x.tcimg
fails 2 "revoke:" "--key BASE.key is required" -- revoke --sequence 1 out.tcrl
fails 2 "revoke:" "--sequence N is required" -- revoke --key k.key out.tcrl
fails 2 "revoke:" "--max-age" -- revoke --key k.key --sequence 1 --max-age forever out.tcrl
fails 2 "revoke:" "--revoke-key" -- revoke --key k.key --sequence 1 --revoke-key nosuch.pub o.tcrl

step "unknown options and missing option values"
for c in $commands; do
    fails 2 "treecast: $c: unknown option '--bogus'" "Try 'treecast $c --help'" -- "$c" --bogus
done
fails 2 "option '--out' needs a value" -- keygen --out
fails 2 "unknown option '-z'" -- pack -z a b
echo "usage: all good"
