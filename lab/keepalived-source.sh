#!/usr/bin/env bash
# Upstream Keepalived release tarballs for the source-install tests (R2 second branch).
# keepalived.org is not reachable here; Debian's source archive carries upstream's tarballs as
# keepalived_<version>.orig.tar.gz (docs/lab.md). Each is looked up in the Sources index of Debian's
# suites (which gives its SHA-256), downloaded once into build/cache/, verified, and never committed.
# Usage: lab/keepalived-source.sh VERSION   prints "<path> <sha256>".
set -euo pipefail
version=${1:?usage: lab/keepalived-source.sh VERSION}
top=$(cd "$(dirname "$0")/.." && pwd)
cache="$top/build/cache"
name="keepalived_${version}.orig.tar.gz"
mkdir -p "$cache"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
if [ ! -s "$cache/$name.sha256" ]; then
    for suite in bookworm trixie forky sid; do
        sum=$(curl -fsS "$mirror/dists/$suite/main/source/Sources.xz" | xz -dc |
            awk -v n="$name" '/^Package: keepalived$/ {p = 1} /^$/ {p = 0; c = 0}
                p && /^Checksums-Sha256:/ {c = 1; next} p && c && $3 == n && !done {print $1; done = 1}') || true
        if [ -n "$sum" ]; then
            echo "$sum" > "$cache/$name.sha256"
            break
        fi
    done
fi
[ -s "$cache/$name.sha256" ] || { echo "lab/keepalived-source: $name is in no Debian suite's Sources index" >&2; exit 1; }
sum=$(cat "$cache/$name.sha256")
if [ ! -s "$cache/$name" ]; then
    curl -fsS -o "$cache/$name.part" "$mirror/pool/main/k/keepalived/$name"
    echo "$sum  $cache/$name.part" | sha256sum -c --quiet
    mv "$cache/$name.part" "$cache/$name"
fi
echo "$cache/$name $sum"
