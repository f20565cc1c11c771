#!/usr/bin/env bash
# sign is idempotent per key, several keys add several signatures, and a tail
# torn by a crash while signing is repaired by the next sign.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

keypair alice
keypair bob
make_fixture disk.img
ok pack --chunk-size 64K disk.img img.tcimg

step "first signature"
ok sign --key alice.key img.tcimg
has out.txt "signed by $KEYID_alice"
h1=$(sha img.tcimg)

step "signing again with the same key changes nothing"
ok sign --key alice.key img.tcimg
has out.txt "already signed by $KEYID_alice"
[ "$(sha img.tcimg)" = "$h1" ] || die "second sign changed the file"

step "one signature does not satisfy --min-signatures 2"
fails 4 "2 distinct trusted signatures required, 1 found" -- \
    verify --trust trust --min-signatures 2 img.tcimg

step "a second key adds a second signature"
ok sign --key bob.key img.tcimg
has out.txt "signed by $KEYID_bob" "signatures  2"
ok inspect --json img.tcimg
has out.txt "\"key_id\": \"$KEYID_alice\"" "\"key_id\": \"$KEYID_bob\""
[ "$(grep -c '"key_id"' out.txt)" -eq 2 ] || die "expected 2 signatures"
ok verify --trust trust --min-signatures 2 img.tcimg
has out.txt "2 trusted of 2"
h2=$(sha img.tcimg)
ok sign --key bob.key img.tcimg
ok sign --key alice.key img.tcimg
[ "$(sha img.tcimg)" = "$h2" ] || die "re-signing changed the file"

step "the same key twice in the trust store still counts once"
cp alice.pub trust/alice-copy.pem
cp img.tcimg one.tcimg
fails 4 "3 distinct trusted signatures required, 2 found" -- \
    verify --trust trust --min-signatures 3 one.tcimg
rm trust/alice-copy.pem

step "crash after the signature block was written, before the trailer"
ok keygen --out carol
cp carol.pub trust/
cp img.tcimg torn.tcimg
size=$(stat -c %s torn.tcimg)
flip torn.tcimg $((size - 64))
flip torn.tcimg $((size - 1))
fails 6 "torn.tcimg" -- verify --trust trust torn.tcimg
ok sign --key carol.key torn.tcimg
# alice's signature was durable before; bob's (the last) may be torn: dropped.
has err.txt "warning" "torn" "kept 1 signature made before it" \
    "the signature by $KEYID_bob that the interrupted sign was adding" "sign with that key again"
ok verify --trust trust --min-signatures 2 torn.tcimg
fails 4 "3 distinct trusted signatures required, 2 found" -- \
    verify --trust trust --min-signatures 3 torn.tcimg
ok sign --key bob.key torn.tcimg
ok verify --trust trust --min-signatures 3 torn.tcimg
has out.txt "3 trusted of 3"

step "crash that tore the signature block too: rebuilt from the header"
ok inspect --json img.tcimg
sigoff=$((64 + $(json_field out.txt manifest_bytes) + $(json_field out.txt payload_bytes)))
cp img.tcimg lost.tcimg
flip lost.tcimg "$sigoff"
size=$(stat -c %s lost.tcimg)
flip lost.tcimg $((size - 64))
ok sign --key carol.key lost.tcimg
has err.txt "warning" "earlier signatures were lost"
ok verify --trust trust lost.tcimg
has out.txt "1 trusted of 1"
ok inspect --json lost.tcimg
[ "$(grep -c '"key_id"' out.txt)" -eq 1 ] || die "expected only carol's signature"
echo "sign_idempotent: all good"
