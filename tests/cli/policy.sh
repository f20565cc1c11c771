#!/usr/bin/env bash
# The policy of verify and unpack (one shared code path): trust store, number
# of signatures, expiry, revocation (of keys and images, and freshness of the
# list), wanted name / minimum version / pin. Every refusal by unpack happens
# before the target is created.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

# both RC PATTERN... -- POLICY-ARGS... IMAGE: verify and unpack both refuse.
both() {
    local want=$1
    local pats=()
    shift
    while [ "$1" != "--" ]; do
        pats+=("$1")
        shift
    done
    shift
    fails "$want" "${pats[@]}" -- verify "$@"
    rm -f target.img
    fails "$want" "${pats[@]}" -- unpack "$@" target.img
    [ ! -e target.img ] || die "unpack created its target although the policy refused the image"
}

keypair site
keypair other otherstore
truncate -s 2M disk.img
head -c 100000 /dev/urandom | dd of=disk.img conv=notrunc status=none
ok pack --name web --version 2.10 --chunk-size 64K disk.img web.tcimg
pin=$(sed -n 's/^  image *//p' out.txt)
ok sign --key site.key web.tcimg
ok verify --trust trust web.tcimg

step "trust store: missing, empty, bad key file, a directory"
both 4 "nosuchdir" -- --trust nosuchdir web.tcimg
mkdir empty
both 4 "trust store empty holds no public key" -- --trust empty web.tcimg
mkdir badstore
cp site.pub badstore/
echo "not a key" >badstore/broken.pub
both 4 "badstore" "broken.pub" -- --trust badstore web.tcimg
mkdir dirstore dirstore/sub.pem
cp site.pub dirstore/
both 4 "sub.pem" "not a regular file" -- --trust dirstore web.tcimg
if [ "$(id -u)" -ne 0 ]; then
    mkdir unreadable
    cp site.pub unreadable/
    chmod 000 unreadable/site.pub
    both 4 "site.pub" -- --trust unreadable web.tcimg
fi

step "signed by a key that is not trusted"
both 4 "none of them trusted" "${KEYID_site:0:16}" -- --trust otherstore web.tcimg

step "too few signatures"
both 4 "2 distinct trusted signatures required, 1 found" -- \
    --trust trust --min-signatures 2 web.tcimg
cp other.pub trust/
ok sign --key other.key web.tcimg
ok verify --trust trust --min-signatures 2 web.tcimg
rm trust/other.pub

step "expired image"
ok pack --name web --not-after 2020-01-01 --chunk-size 64K disk.img old.tcimg
has err.txt "warning" "already expired"
ok sign --key site.key old.tcimg
both 4 "expired at 2020-01-01T00:00:00Z" -- --trust trust old.tcimg
cp disk.img disk2.img
printf 'version 3' | dd of=disk2.img bs=1 seek=300000 conv=notrunc status=none
ok pack --name web --version 3 --not-after 30d --chunk-size 64K disk2.img fresh.tcimg
ok sign --key site.key fresh.tcimg
ok verify --trust trust fresh.tcimg
ok inspect --json fresh.tcimg
[ "$(json_field out.txt not_after)" != null ] || die "--not-after 30d was not recorded"

step "revoked key"
ok revoke --key site.key --sequence 1 --revoke-key other.pub revoke-other.tcrl
has out.txt "revoked key    $KEYID_other"
cp other.pub trust/
both 4 "revoked" "${KEYID_other:0:16}" -- \
    --trust trust --min-signatures 2 --revocations revoke-other.tcrl web.tcimg
ok verify --trust trust --revocations revoke-other.tcrl web.tcimg
ok revoke --key site.key --sequence 7 --revoke-key other.pub revoke-other.tcrl # replaces it
has out.txt "sequence 7"
ok revoke --key site.key --sequence 2 --revoke-key "$KEYID_other" revoke-other2.tcrl
both 4 "revoked" -- --trust trust --min-signatures 2 --revocations revoke-other2.tcrl web.tcimg
rm trust/other.pub

step "revoked image, by file and by pin (the digest names the content)"
ok revoke --key site.key --sequence 3 --revoke-image web.tcimg revoke-web.tcrl
both 4 "revoked by revocation list sequence 3" -- --trust trust --revocations revoke-web.tcrl web.tcimg
ok verify --trust trust --revocations revoke-web.tcrl fresh.tcimg
ok revoke --key site.key --sequence 4 --revoke-image "$pin" revoke-pin.tcrl
both 4 "revoked" -- --trust trust --revocations revoke-pin.tcrl web.tcimg

step "revocation list: stale, untrusted signer, garbage"
ok revoke --key site.key --sequence 5 --issued 2020-01-01T00:00:00Z --max-age 1d stale.tcrl
both 4 "stale.tcrl" -- --trust trust --revocations stale.tcrl web.tcimg
ok revoke --key other.key --sequence 6 --revoke-image web.tcimg foreign.tcrl
both 4 "foreign.tcrl" -- --trust trust --revocations foreign.tcrl web.tcimg
echo garbage >garbage.tcrl
both 4 "garbage.tcrl" -- --trust trust --revocations garbage.tcrl web.tcimg
both 4 "missing.tcrl" -- --trust trust --revocations missing.tcrl web.tcimg

step "wanted name, minimum version, pin"
both 4 "but db was asked for" -- --trust trust --name db web.tcimg
ok verify --trust trust --name web web.tcimg
both 4 "older than the minimum version 2.11" -- --trust trust --min-version 2.11 web.tcimg
ok verify --trust trust --min-version 2.9 web.tcimg # 2.10 > 2.9: numeric, not bytewise
ok verify --trust trust --pin "$pin" web.tcimg
both 4 "the pin asks for" -- --trust trust --pin "web@sha256:$(printf '%064d' 0)" web.tcimg
both 4 "but other was asked for" -- --trust trust --pin "other@${pin#web@}" web.tcimg
fails 2 "contradicts" -- verify --trust trust --name db --pin "$pin" web.tcimg
fails 2 "--pin" -- verify --trust trust --pin "web@md5:00" web.tcimg

step "unpack with every policy option satisfied"
ok unpack --trust trust --name web --min-version 2 --pin "$pin" --revocations revoke-other.tcrl \
    web.tcimg ok.img
cmp disk.img ok.img || die "unpack differs"
echo "policy: all good"
