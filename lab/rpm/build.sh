#!/usr/bin/env bash
# The EL-like lab node's package repositories (molecule/el): Keepalived RPMs built offline with
# rpmbuild from upstream's verified tarballs (lab/keepalived-source.sh) and the spec file those
# tarballs carry, then indexed with createrepo_c:
#   baseos/   keepalived 2.2.7      updates/  keepalived 2.3.4
# The build runs in a throwaway container of the EL-like image (its dnf/rpm/createrepo_c and the
# same Debian libraries the nodes run), without network. The result lands in build/rpm/<hash>,
# the hash of this recipe, the image and the tarballs' SHA-256: built once, then reused.
# Usage: lab/rpm/build.sh EL_IMAGE   prints the repository directory.
set -euo pipefail
image=${1:?usage: lab/rpm/build.sh EL_IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
versions=("2.2.7:baseos" "2.3.4:updates")
sums=()
for entry in "${versions[@]}"; do
    read -r _ sum <<<"$("$top/lab/keepalived-source.sh" "${entry%%:*}")"
    sums+=("$sum")
done
hash=$( (echo "$image" "${versions[@]}" "${sums[@]}"; cat "$here"/*.sh) | sha256sum | cut -c1-12)
out="$top/build/rpm/$hash"
if [ -s "$out/baseos/repodata/repomd.xml" ] && [ -s "$out/updates/repodata/repomd.xml" ]; then
    echo "$out"
    exit 0
fi
echo "lab/rpm: building Keepalived RPMs (${versions[*]}) in $image" >&2
rm -rf "$out.part"
mkdir -p "$out.part"
start=$SECONDS
docker run --rm --network none \
    -v "$top/build/cache:/src:ro" -v "$here:/recipe:ro" -v "$out.part:/out" \
    "$image" bash /recipe/rpmbuild-keepalived.sh "${versions[@]}" >"$out.part.log" 2>&1 ||
    { tail -40 "$out.part.log" >&2; exit 1; }
rm -rf "$out"
mv "$out.part" "$out"
mv "$out.part.log" "$out/build.log"
echo "lab/rpm: built in $((SECONDS - start)) s: $(cd "$out" && echo */*.rpm)" >&2
echo "$out"
