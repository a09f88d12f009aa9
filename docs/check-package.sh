#!/bin/sh
# Check an archiver export package with standard tools only: unzip, sha256sum, openssl, and the
# shell's own sed, awk and grep. docs/evidence.md explains each step.
#
#   sh check-package.sh PACKAGE [TRUSTED_KEY.pub.pem] [TSA_ROOT.pem]
#
# PACKAGE is a .wacz file or a BagIt folder. Without TRUSTED_KEY the key the package carries is
# used (then compare its fingerprint with the one its owner published). Exit 0: every check passed;
# 1: a check failed (the failing file is named); 2: usage.
set -u
package=${1:?usage: check-package.sh PACKAGE [TRUSTED_KEY.pub.pem] [TSA_ROOT.pem]}
trusted=${2:-}
root=${3:-}
failed=0
fail() { echo "FAILED: $*"; failed=1; }
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
[ -n "$trusted" ] && trusted=$(cd "$(dirname "$trusted")" && pwd)/$(basename "$trusted")
[ -n "$root" ] && root=$(cd "$(dirname "$root")" && pwd)/$(basename "$root")

if [ -d "$package" ]; then
    # 1. a bag: every payload and tag file against the bag's own sha256 lists
    cd "$package" || exit 2
    sha256sum --quiet --strict -c manifest-sha256.txt || fail "manifest-sha256.txt"
    sha256sum --quiet --strict -c tagmanifest-sha256.txt || fail "tagmanifest-sha256.txt"
    cd data || exit 2
    seals=manifests proof=.
else
    # 1. a WACZ: unzip it; datapackage.json against its digest, every file against datapackage.json
    unzip -q "$package" -d "$work/wacz" || { echo "FAILED: $package is not a readable ZIP"; exit 1; }
    cd "$work/wacz" || exit 2
    want=$(sed -n 's/.*"hash": *"sha256:\([0-9a-f]*\)".*/\1/p' datapackage-digest.json)
    echo "$want  datapackage.json" | sha256sum --quiet --strict -c - || fail "datapackage.json"
    awk '/"path":/ { p = $2; gsub(/[",]/, "", p) }
         /"hash":/ { h = $2; gsub(/[",]/, "", h); sub(/^sha256:/, "", h); print h "  " p }' datapackage.json \
        > "$work/datapackage.sha256"
    sha256sum --quiet --strict -c "$work/datapackage.sha256" || fail "a file listed in datapackage.json"
    ln -s archiver manifests          # the checksum lists name manifests/<id>.yaml
    seals=archiver proof=archiver
fi
chain=$proof/chain.yaml

# 2. each capture's checksum list: its WARC files and its manifest
for list in "$seals"/*.sha256; do
    sha256sum --quiet --strict -c "$list" || fail "$list"
done

# 3. signatures: each checksum list's, and the segment file's, under the key
for sig in "$seals"/*.sha256.sig "$chain.sig"; do
    [ -f "$sig" ] || continue
    key=$trusted
    if [ -z "$key" ]; then
        if [ "$sig" = "$chain.sig" ]; then
            fingerprint=$(sed -n 's/^signed_by: *sha256:\([0-9a-f]*\).*/\1/p' "$chain")
        else
            fingerprint=$(sed -n 's/^signing_key: *sha256:\([0-9a-f]*\).*/\1/p' "$seals/$(basename "$sig" .sha256.sig).yaml")
        fi
        key=$proof/$fingerprint.pub.pem
    fi
    openssl pkeyutl -verify -pubin -inkey "$key" -rawin -in "${sig%.sig}" -sigfile "$sig" > /dev/null \
        || fail "$sig"
done

# 4. the chain segment: each manifest's sha256, and each 'previous' it names, stated in chain.yaml
for manifest in "$seals"/*.yaml; do
    [ "$manifest" = "$chain" ] && continue
    digest=$(sha256sum "$manifest" | cut -c1-64)
    grep -q "sha256: \"*$digest" "$chain" || fail "$manifest is not the manifest chain.yaml lists"
    previous=$(awk '/^previous:/ { on = 1; next } on && /sha256:/ { gsub(/[" ]/, ""); sub(/sha256:/, ""); print; exit }
                    on && /^[a-z]/ { exit }' "$manifest")
    [ -z "$previous" ] || grep -q "sha256: \"*$previous" "$chain" || fail "$manifest: its previous is not in chain.yaml"
done

# 5. trusted timestamps, when the package has tokens and a root is given
for token in "$seals"/*.tsr; do
    [ -f "$token" ] && [ -n "$root" ] || continue
    data=$(echo "$token" | sed 's/\(\.[0-9]*\)*\.tsr$//')
    openssl ts -verify -data "$data" -in "$token" -CAfile "$root" > /dev/null 2>&1 || fail "$token"
done

if [ "$failed" -eq 0 ]; then echo "package intact"; fi
exit "$failed"
