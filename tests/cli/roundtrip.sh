#!/usr/bin/env bash
# keygen, pack, sign, verify, inspect, unpack: the unpacked target is the input
# byte for byte, for a plain file, a sparse file and (where losetup works) a
# block device.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

step "keygen: private key 0600, public key, key id; no overwrite without --force"
keypair site
[ "$(stat -c %a site.key)" = 600 ] || die "site.key has mode $(stat -c %a site.key)"
has site.key "PRIVATE KEY"
has site.pub "PUBLIC KEY"
cp site.key site.key.orig
fails 2 "site.key already exists" -- keygen --out site
cmp -s site.key site.key.orig || die "keygen overwrote site.key"

step "pack a 16 MiB image in 64 KiB chunks"
make_fixture disk.img
ok pack --name demo --version 1.2 --chunk-size 64K disk.img demo.tcimg
has out.txt "demo@sha256:" "256 chunks" "zero" "deflate"
pin=$(sed -n 's/^  image *//p' out.txt)
[[ $pin =~ ^demo@sha256:[0-9a-f]{64}$ ]] || die "pack printed no pin: '$pin'"
[ ! -e demo.tcimg.tmp ] || die "pack left demo.tcimg.tmp behind"

step "unsigned image: refused"
fails 4 "unsigned" -- verify --trust trust demo.tcimg

step "sign, verify"
ok sign --key site.key demo.tcimg
has out.txt "signed by $KEYID_site"
ok verify --trust trust demo.tcimg
has out.txt "OK" "$pin" "256 verified" "1 trusted"

step "inspect --json"
ok inspect --json demo.tcimg
cp out.txt inspect.json
json_valid inspect.json
[ "$(json_field inspect.json name)" = demo ] || die "json name"
[ "$(json_field inspect.json version)" = 1.2 ] || die "json version"
[ "$(json_field inspect.json pin)" = "$pin" ] || die "json pin"
[ "$(json_field inspect.json raw_size)" = 16777216 ] || die "json raw_size"
[ "$(json_field inspect.json chunk_size)" = 65536 ] || die "json chunk_size"
[ "$(json_field inspect.json chunk_count)" = 256 ] || die "json chunk_count"
[ "$(json_field inspect.json file_size)" = "$(stat -c %s demo.tcimg)" ] || die "json file_size"
[ "$(json_field inspect.json not_after)" = null ] || die "json not_after"
has inspect.json "\"key_id\": \"$KEYID_site\"" "\"alg\": \"ecdsa-p256\"" '"boot": null'
grep -q '"chunks": {"zero": [1-9][0-9]*, "raw": [1-9][0-9]*, "deflate": [1-9][0-9]*}' inspect.json ||
    die "json chunk counts: $(grep '"chunks"' inspect.json)"
ok inspect demo.tcimg
has out.txt "name        demo" "version     1.2" "$KEYID_site  ecdsa-p256" "boot        none"

step "unpack to a new file: identical bytes"
ok unpack --trust trust demo.tcimg copy.img
has out.txt "unpacked demo.tcimg -> copy.img" "$pin"
cmp disk.img copy.img || die "unpacked file differs"

step "unpack over an existing larger file full of junk: identical bytes and size"
head -c 20M /dev/urandom >junk.img
ok unpack --trust trust --threads 1 demo.tcimg junk.img
cmp disk.img junk.img || die "unpack over junk differs"

step "sparse input: holes become zero chunks without being read"
rm -f sparse.img
truncate -s 32M sparse.img
printf 'BOOT' | dd of=sparse.img conv=notrunc status=none
head -c 300000 /dev/urandom | dd of=sparse.img bs=1M seek=20 conv=notrunc status=none
ok pack --chunk-size 1M sparse.img sparse.tcimg
has out.txt "sparse@sha256:" "32 chunks" "30 zero"
ok sign --key site.key sparse.tcimg
ok unpack --trust trust sparse.tcimg sparse-copy.img
cmp sparse.img sparse-copy.img || die "sparse unpack differs"
# The zero chunks were punched, not written: the copy stays sparse.
[ "$(stat -c %b sparse-copy.img)" -lt $((8 * 1024 * 1024 / 512)) ] ||
    die "unpacked sparse file is not sparse: $(stat -c %b sparse-copy.img) blocks"

step "an image smaller than the in-progress marker record"
printf 'tiny image' >tiny.img
ok pack tiny.img tiny.tcimg
has out.txt "10 bytes" "in 1 chunk of"
ok sign --key site.key tiny.tcimg
ok unpack --trust trust tiny.tcimg tiny-copy.img
cmp tiny.img tiny-copy.img || die "tiny unpack differs"

step "boot section"
head -c 100000 /dev/urandom >vmlinuz
head -c 50000 /dev/urandom >initrd.img
ok pack --name bootable --kernel vmlinuz --initrd initrd.img --cmdline 'root=/dev/sda1 quiet "x"' \
    --chunk-size 64K disk.img boot.tcimg
ok sign --key site.key boot.tcimg
ok verify --trust trust boot.tcimg
has out.txt "boot        verified"
ok inspect --json boot.tcimg
cp out.txt boot.json
json_valid boot.json
has boot.json '"kernel": {"len": 100000' '"initrd": {"len": 50000' \
    '"text": "root=/dev/sda1 quiet \"x\""'

step "block device target"
if can_loop; then
    truncate -s 20M dev-backing.img
    loop_attach dev-backing.img
    dev=$LOOPDEV
    ok unpack --trust trust demo.tcimg "$dev"
    cmp -n 16777216 disk.img "$dev" || die "unpacked block device differs"
    cmp -n 16777216 disk.img dev-backing.img || die "loop backing file differs"
    # A block device as pack's input: same content, so the same image digest.
    loop_attach -r disk.img
    ok pack --name demo --chunk-size 64K "$LOOPDEV" fromdev.tcimg
    has out.txt "image     $pin"
else
    echo "SKIP: losetup does not work here, block device target not tested"
fi
echo "roundtrip: all good"
