#!/usr/bin/env bash
# A modified image is refused, and says where: a chunk payload (verify names the
# chunk; unpack stops at it and the target keeps the in-progress marker), the
# manifest or a signature (the signature check names the key id), a truncated
# file, a wrong magic.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

keypair site
make_fixture disk.img
ok pack --name demo --chunk-size 64K disk.img good.tcimg
ok sign --key site.key good.tcimg
ok verify --trust trust good.tcimg
short=${KEYID_site:0:16}

step "a flipped byte in chunk 16's payload: verify names the chunk"
off=$(chunk_offset good.tcimg 16)
[ -n "$off" ] || die "no offset for chunk 16"
cp good.tcimg chunk.tcimg
flip chunk.tcimg $((off + 100))
fails 6 "chunk.tcimg" "chunk 16" "SHA-256" -- verify --trust trust chunk.tcimg

step "unpack stops at chunk 16; the target still starts with the in-progress marker"
fails 6 "chunk 16" "stopped at chunk 16" "in-progress marker" -- \
    unpack --trust trust --threads 2 chunk.tcimg target.img
[ "$(head -c 20 target.img)" = "TREECAST-INPROGRESS" ] || die "target does not start with the marker"
head -c 512 target.img | grep -qaF "demo@sha256:" || die "the marker does not name the image"
cmp -s -n 65536 disk.img target.img && die "chunk 0 was written although the write stopped"
# Chunks before the bad one were written (1-15 are zero), none after it.
cmp -s -i 1048576:1048576 -n 65536 disk.img target.img && die "chunk 16 was written"
off17=$((17 * 65536))
cmp -s -i $off17:$off17 -n 65536 disk.img target.img && die "chunk 17 was written"

step "a corrupt chunk 0 is found before anything is written"
off0=$(chunk_offset good.tcimg 0)
cp good.tcimg chunk0.tcimg
flip chunk0.tcimg $((off0 + 5))
printf 'previous contents' >keep.img
fails 6 "chunk 0" "nothing was written" -- unpack --trust trust chunk0.tcimg keep.img
[ "$(cat keep.img)" = "previous contents" ] || die "keep.img was modified"
rm -f new.img
fails 6 "chunk 0" -- unpack --trust trust chunk0.tcimg new.img
[ ! -e new.img ] || die "new.img was created"

step "a flipped byte in the manifest: the signature check names the key"
# The manifest starts at 64 (after the header); chunk entries start 256 bytes
# into it, 69 bytes each, stored hash at +5 (docs/image-format.md). Changing the
# stored hash of chunk 16 (raw) keeps the manifest well-formed, so only the
# signature catches it.
cp good.tcimg manifest.tcimg
flip manifest.tcimg $((64 + 256 + 69 * 16 + 5))
fails 4 "manifest.tcimg" "$short" "does not verify" -- verify --trust trust manifest.tcimg
fails 4 "$short" "does not verify" -- unpack --trust trust manifest.tcimg never.img
[ ! -e never.img ] || die "unpack created its target although the signature failed"

step "a flipped byte in the signature itself"
ok inspect --json good.tcimg
sigoff=$((64 + $(json_field out.txt manifest_bytes) + $(json_field out.txt payload_bytes)))
size=$(stat -c %s good.tcimg)
cp good.tcimg sig.tcimg
flip sig.tcimg $((size - 64 - 10))
rc=0
"$TREECAST" verify --trust trust sig.tcimg >out.txt 2>err.txt || rc=$?
case $rc in
4) has err.txt "$short" ;;
6) has err.txt "sig.tcimg" ;; # a DER signature may no longer parse
*) cat err.txt; die "verify of a corrupt signature: exit $rc" ;;
esac
[ "$sigoff" -lt $((size - 64 - 10)) ] || die "the flipped byte is not in the signature block"

step "a truncated file"
head -c 100000 good.tcimg >trunc.tcimg
fails 6 "trunc.tcimg" -- verify --trust trust trunc.tcimg
fails 6 "trunc.tcimg" -- inspect trunc.tcimg
head -c 50 good.tcimg >tiny.tcimg
fails 6 "tiny.tcimg" "truncated" -- inspect tiny.tcimg

step "a wrong magic"
cp good.tcimg magic.tcimg
flip magic.tcimg 0
fails 6 "magic.tcimg" "magic" -- verify --trust trust magic.tcimg
fails 6 "magic.tcimg" -- unpack --trust trust magic.tcimg never.img
[ ! -e never.img ] || die "unpack created its target for a malformed image"

step "not a .tcimg at all"
fails 6 "disk.img" -- inspect disk.img
fails 6 "missing.tcimg" -- inspect missing.tcimg
echo "tamper: all good"
