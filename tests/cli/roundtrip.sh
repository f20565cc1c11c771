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
has out.txt "demo@sha256:" "256 chunks" "zero" "deflate" "segments of 1432 bytes"
pin=$(sed -n 's/^  image *//p' out.txt)
[[ $pin =~ ^demo@sha256:[0-9a-f]{64}$ ]] || die "pack printed no pin: '$pin'"
[ ! -e demo.tcimg.tmp ] || die "pack left demo.tcimg.tmp behind"

step "unsigned image: refused"
fails 4 "unsigned" -- verify --trust trust demo.tcimg

step "sign, verify"
ok sign --key site.key demo.tcimg
has out.txt "signed by $KEYID_site"
ok verify --trust trust demo.tcimg
has out.txt "OK" "$pin" "256 verified" "1 trusted" "block hashes verified, seg_size 1432"

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
[ "$(json_field inspect.json seg_size)" = 1432 ] || die "json seg_size: $(json_field inspect.json seg_size)"
[ "$(json_field inspect.json file_size)" = "$(stat -c %s demo.tcimg)" ] || die "json file_size"
[ "$(json_field inspect.json not_after)" = null ] || die "json not_after"
has inspect.json "\"key_id\": \"$KEYID_site\"" "\"alg\": \"ecdsa-p256\"" '"boot": null'
grep -q '"chunks": {"zero": [1-9][0-9]*, "raw": [1-9][0-9]*, "deflate": [1-9][0-9]*}' inspect.json ||
    die "json chunk counts: $(grep '"chunks"' inspect.json)"
ok inspect demo.tcimg
has out.txt "name        demo" "version     1.2" "$KEYID_site  ecdsa-p256" "boot        none" \
    "block hashes seg_size 1432"

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

step "block-hash section: --seg-size 0 packs without it; verify and unpack still work"
ok pack --name demo --version 1.2 --chunk-size 64K --seg-size 0 disk.img nobh.tcimg
has out.txt "no block-hash section"
ok inspect --json nobh.tcimg
[ "$(json_field out.txt seg_size)" = 0 ] || die "json seg_size without the section: $(json_field out.txt seg_size)"
[ "$(json_field out.txt pin)" = "$pin" ] || die "the section changed the image digest"
# 32 bytes per chunk and the 16 bytes of section header and body header.
[ "$(json_field out.txt manifest_bytes)" -eq $(($(json_field inspect.json manifest_bytes) - 16 - 32 * 256)) ] ||
    die "manifest without the section is $(json_field out.txt manifest_bytes) bytes"
ok inspect nobh.tcimg
has out.txt "block hashes none"
ok sign --key site.key nobh.tcimg
ok verify --trust trust nobh.tcimg
has out.txt "OK" "256 verified" "block hashes none"
ok unpack --trust trust nobh.tcimg nobh-copy.img
cmp disk.img nobh-copy.img || die "unpack of an image without block hashes differs"
ok pack --chunk-size 64K --seg-size 8932 disk.img jumbo.tcimg
ok inspect --json jumbo.tcimg
[ "$(json_field out.txt seg_size)" = 8932 ] || die "json seg_size 8932"
ok pack --chunk-size 64K --seg-size 512 disk.img small.tcimg
ok inspect small.tcimg
has out.txt "block hashes seg_size 512"
for bad in 511 8933 1k -1; do
    fails 2 "--seg-size must be from 512 to 8932" "'$bad'" -- pack --seg-size "$bad" disk.img bad.tcimg
done
[ ! -e bad.tcimg ] || die "pack wrote bad.tcimg after a usage error"
# 983,040 chunks: with 32 bytes each the manifest would pass its limit.
truncate -s 60G huge.img
fails 6 "983040 chunks with their block-hash section" "use a larger --chunk-size" -- \
    pack --chunk-size 64K huge.img huge.tcimg
rm -f huge.img
[ ! -e huge.tcimg ] && [ ! -e huge.tcimg.tmp ] || die "pack left huge.tcimg behind"

step "a wrong list hash: verify names the chunk"
# The section is the manifest's last: list_hash[i] is at 64 + manifest_bytes
# - 32 x (chunk_count - i). Chunk 0 is random data (raw).
lh0=$((64 + $(json_field inspect.json manifest_bytes) - 32 * 256))
cp demo.tcimg signed-bad.tcimg
flip signed-bad.tcimg $((lh0 + 7))
# Signed: the flip breaks the signature first.
rc=0
"$TREECAST" verify --trust trust signed-bad.tcimg >out.txt 2>err.txt || rc=$?
[ $rc -ne 0 ] || die "verify accepted a signed image with a flipped list hash"
# Flipped before signing (what a buggy packer would produce): the signature is
# good, the list hash is not.
ok pack --name demo --version 1.2 --chunk-size 64K disk.img listbad.tcimg
flip listbad.tcimg $((lh0 + 7))
ok sign --key site.key listbad.tcimg
fails 6 "listbad.tcimg" "chunk 0" "hash list" "block-hash section" -- verify --trust trust listbad.tcimg
# A ZERO chunk's list hash is fixed: the manifest itself is refused.
cp demo.tcimg zerobad.tcimg
flip zerobad.tcimg $((lh0 + 32 * 2))
fails 6 "chunk 2: zero encoding, block-hash list_hash" -- inspect zerobad.tcimg

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
